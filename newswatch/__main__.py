"""`python -m newswatch` is the `newswatch` command."""

from newswatch.cli import entry

if __name__ == "__main__":
    entry()
