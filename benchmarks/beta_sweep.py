"""Why ``vae_beta`` defaults to 1e-6: latent dimensions in use and stage-2/3 results across β.

Usage::

    python benchmarks/beta_sweep.py [--profile default] [--betas 1e-4 1e-5 1e-6 1e-7] [--seed 0]

For each β, the whole pipeline of the profile (VAE, NIR -> MIR, the seven strategies) is run through
the cached stages of :mod:`soilnb.stages` (so a repeat, or a β already used by ``run_all.sh``,
loads from ``data/cache``), and one line is printed: best validation reconstruction MSE, latent
dimensions in use (:func:`soilnb.models.latent.latent_activity`: decoder sensitivity >= 5 % of the largest;
Burda's variance rule in brackets), and the mean test CCC of the strategies that read the latent
space or the decoder. About 2 minutes per new β on the default profile (2 CPU cores).
"""
from __future__ import annotations

import argparse

from soilnb import stages as pipeline
from soilnb.core.config import get_config
from soilnb.models.latent import latent_activity
from soilnb.stages.strategies import strategy_means
from soilnb.stats.metrics import paper_metrics_table

SHOWN = ("MIR-SSL-MLP", "NIRtoMIR-MLP", "NIRtoMIR-SSL-MLP")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="default")
    ap.add_argument("--betas", type=float, nargs="+", default=[1e-4, 1e-5, 1e-6, 1e-7])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    print(f"profile {args.profile}, seed {args.seed}; mean test CCC over the nine properties")
    print(f"{'beta':>8} {'val MSE':>9} {'in use (AU)':>12} " + " ".join(f"{s:>17}" for s in SHOWN))
    for beta in args.betas:
        cfg = get_config(args.profile, vae_beta=beta, seed=args.seed)
        F = pipeline.get_features(cfg)
        vae, hist = pipeline.get_vae(cfg, F, progress=False)
        n2m, _ = pipeline.get_nir_to_mir(cfg, F, vae, progress=False)
        res = pipeline.get_regressions(cfg, F, vae, n2m)
        means = strategy_means(paper_metrics_table(res.observed["test"], res.predictions["test"])).set_index("strategy")
        act = latent_activity(vae, F.kssl, seed=args.seed)
        used = f"{int(act['in_use'].sum())} ({int(act['active_au'].sum())})"
        print(f"{beta:8.0e} {min(hist['val_rec']):9.5f} {used:>12} "
              + " ".join(f"{means.loc[s, 'ccc']:17.2f}" for s in SHOWN))


if __name__ == "__main__":
    main()
