"""``python -m flask_dbtestcase [labels…] [options]``: run the tests."""

import sys

from .runner.command import main

__all__: list[str] = []

if __name__ == "__main__":
    sys.exit(main())
