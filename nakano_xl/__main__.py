"""``python -m nakano_xl`` runs the ``nakano-xl`` command."""

from .cli import main

# Guarded: a worker process started with "spawn" (Windows, macOS) imports this module again
# and must not run the command a second time.
if __name__ == "__main__":
    main()
