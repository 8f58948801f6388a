"""``python -m data_helpers``: the ``data-helpers`` command line (`data_helpers.cli`)."""

import sys

from data_helpers.cli import main

if __name__ == "__main__":
    sys.exit(main())
