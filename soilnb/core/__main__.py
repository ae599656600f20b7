"""``python -m soilnb.core --profile P [NAME VALUE]...``: validate a run's parameters before it starts
and print where its outputs go (:func:`soilnb.core.config.main`; ``run_all.sh`` calls this)."""
import sys

from soilnb.core.config import main

sys.exit(main())
