"""``python -m sqlmite``: the same as the ``sqlmite`` command."""

from sqlmite.cli import main

main()
