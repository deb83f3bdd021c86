"""``python -m nakano_xl`` runs the ``nakano-xl`` command."""

from .cli import cli

cli(prog_name="nakano-xl")
