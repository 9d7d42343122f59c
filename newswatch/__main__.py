"""`python -m newswatch` is the `newswatch` command."""

import sys

from newswatch.cli import main

if __name__ == "__main__":
    sys.exit(main())
