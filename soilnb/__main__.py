"""``python -m soilnb``: the ``soilnb`` command (:mod:`soilnb.apply.cli`)."""
import sys

from soilnb.apply.cli import main

if __name__ == "__main__":
    sys.exit(main())
