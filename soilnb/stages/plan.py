"""Which numbered notebooks a world can run, and the models it can train.

A world may hold MIR only, NIR only, or both (:class:`soilnb.data.library.World`). Each notebook needs some of
its libraries (:data:`NOTEBOOK_NEEDS`); ``run_all.sh`` asks :func:`main` before the first notebook and skips the
others, saying why. Notebooks 01, 04, 07 and 08 run on any world and show what ran.
"""
from __future__ import annotations

import argparse
import contextlib
import sys

from soilnb.core.config import Config, get_config
from soilnb.core.vocab import TEXTURE
from soilnb.stages.features import Features, get_world, modelled_properties
from soilnb.stages.training import get_nir_to_mir, get_vae

#: The libraries each notebook needs (the rest run on any world).
NOTEBOOK_NEEDS = {
    "02": ("kssl",),                                              # the MIR VAE
    "03": ("kssl", "paired_nir", "paired_mir"),                   # NIR -> MIR into the frozen decoder
    "05": ("kssl", "paired_nir", "paired_mir", "test_nir", "test_mir"),   # Fig. 7 and the latent shift
    "06": ("kssl", "paired_nir", "paired_mir", "test_nir", "test_mir"),   # ILR and FNO ablations
}
NAMES = {"kssl": "a MIR library (KSSL)", "paired_nir": "Paired NIR", "paired_mir": "Paired MIR",
         "test_nir": "test NIR", "test_mir": "test MIR"}


def notebook_plan(cfg: Config) -> dict[str, str]:
    """``{notebook number: why it is skipped}`` for the notebooks this run's world cannot run (empty: all run)."""
    if cfg.source == "simulated" and not cfg.properties:
        return {}                                   # the simulated world holds every library and property
    world = get_world(cfg)
    have = [k for k, _ in world.items()]
    skip = {}
    for nb, needs in NOTEBOOK_NEEDS.items():
        missing = [NAMES[n] for n in needs if n not in have]
        if missing:
            skip[nb] = f"needs {', '.join(missing)} spectra; this world holds {', '.join(NAMES[k] for k in have)}"
    if "06" not in skip and not set(TEXTURE) <= set(modelled_properties(world, cfg.properties.split(","))):
        skip["06"] = "the ILR ablation needs clay, silt and sand among the modelled properties"
    if cfg.source != "simulated":
        for nb, what in (("07", "the LimeSoDa benchmark"), ("09", "the transfer benchmark")):
            skip[nb] = (f"{what} does not depend on this run's data (it runs with the simulated default: "
                        f"./run_all.sh --only {nb})")
    return dict(sorted(skip.items()))


def get_models(cfg: Config, F: Features, progress: bool = True):
    """``(vae, n2m)``: the stage-1 and stage-2 models this world can train (None where it cannot: no MIR
    library for the VAE, no Paired NIR + MIR set for the NIR encoder), cached like :func:`get_vae`."""
    vae = get_vae(cfg, F, progress=progress)[0] if F.kssl is not None else None
    can_convert = vae is not None and F.paired_nir is not None and F.paired_mir is not None
    n2m = get_nir_to_mir(cfg, F, vae, progress=progress)[0] if can_convert else None
    return vae, n2m


def main(argv=None) -> int:
    """``python -m soilnb.stages --profile P [NAME VALUE]...``: one line ``NN<TAB>reason`` per notebook
    the run's world cannot run (``run_all.sh`` skips them)."""
    parser = argparse.ArgumentParser(prog="python -m soilnb.stages", description=main.__doc__)
    parser.add_argument("--profile", default="default")
    parser.add_argument("pairs", nargs="*")
    args = parser.parse_args(argv)
    try:
        cfg = get_config(args.profile, **dict(zip(args.pairs[::2], args.pairs[1::2])))
        with contextlib.redirect_stdout(sys.stderr):     # cache messages are not plan lines
            plan = notebook_plan(cfg)
    except (TypeError, ValueError, OSError) as exc:
        print(f"plan: {exc}", file=sys.stderr)
        return 2
    for nb, why in plan.items():
        print(f"{nb}\t{why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
