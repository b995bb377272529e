"""``python -m services.cli``: the ``chb`` command."""

from services.cli import main

main()
