"""``python -m patchwatch``: the same as the ``patchwatch`` command."""

from .cli import main

main()
