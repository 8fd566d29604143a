"""``python -m mpt`` is the ``mpt`` command."""

from mpt.cli import main

if __name__ == "__main__":
    main()
