"""A bundle described in words (``soilnb info``, :meth:`soilnb.apply.bundle.Bundle.describe`)."""
from __future__ import annotations

import numpy as np

from soilnb.apply.inference import GRID_UNITS


def describe(b, format_version) -> str:
    """What the bundle ``b`` holds and was trained on, as text; ``format_version`` its format's version."""
    i = b.info
    lines = [f"soilnb model bundle (format {format_version}, soilnb {i.get('soilnb_version')}, "
             f"created {i.get('created')})",
             f"trained on: {i.get('source')} data, profile {i.get('profile')}, seed {i.get('seed')}; "
             f"fingerprint {i['fingerprint']['sha256'][:16]}",
             "properties: " + ", ".join(f"{p} [{i['units'].get(p, '?')}]" for p in b.properties)]
    for r, g in b.grids.items():
        own = [s for s, v in b.strategies.items() if v[0] == r]
        lines.append(f"{r}: grid {g[0]:g}-{g[-1]:g} {GRID_UNITS[r]} ({g.size} channels), input covering it "
                     f"within 5 {GRID_UNITS[r]} is resampled; strategies {', '.join(own)} "
                     f"(default {b.default_strategy.get(r)})")
        if r in b.shift:
            d = b.shift[r]
            lines.append(f"  shift flag: robust Mahalanobis distance of the latent embedding (shift_distance) "
                         f"above {b.shift_limit(r):.4g} (Pomerantsev limit {d.limit_:.4g} on Fd*d/d0, d0 "
                         f"{d.d0_:.3g}, Fd {d.Fd_}, alpha {d.alpha})")
        if r in b.novelty:
            ref = b.novelty[r]
            lines.append(f"  novelty flag: reconstruction error above {ref.limit:.4g} (conformal limit at alpha "
                         f"{ref.alpha}, {ref.scores.size} held-out spectra)" if np.isfinite(ref.limit) else
                         f"  novelty flag: never raised: {ref.scores.size} held-out spectra are too few for a limit "
                         f"at alpha {ref.alpha} (p-values are still given)")
    lines.append("intervals: split-conformal (crepes' rule), calibrated on held-out samples: " +
                 ", ".join(f"{s} n={c.n}" for s, c in b.calibration.items()))
    sup = {s: v for r in b.limits().values() for s, v in r.get("interval_support_distance_limit", {}).items()}
    if sup:
        lines.append("interval supported (interval_supported): shift_distance up to the calibration samples' "
                     "limit (" + ", ".join(f"{s} {v:.4g}" if v is not None else f"{s} none" for s, v in
                                           sup.items()) + ") and no novelty flag")
    for k, v in i.get("training", {}).items():
        lines.append(f"training set {k}: {v}")
    return "\n".join(lines)
