"""``python -m nakano_xl`` runs the ``nakano-xl`` command."""

from .cli import main

main()
