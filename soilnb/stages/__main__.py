"""``python -m soilnb.stages --profile P [NAME VALUE]...``: the notebooks the run's world cannot run
(:func:`soilnb.stages.plan.main`; ``run_all.sh`` calls it)."""
import sys

from soilnb.stages.plan import main

sys.exit(main())
