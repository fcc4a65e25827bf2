"""`python -m lathe_trainer`: the container's entry point."""

import sys

from lathe_trainer.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
