"""``python -m soilnb``: the ``soilnb`` command (:mod:`soilnb.apply.cli`)."""
import sys

from soilnb.apply.cli import main

sys.exit(main())
