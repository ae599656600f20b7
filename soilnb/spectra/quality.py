"""Quality of each spectrum, with a reason: NaN, saturation, flat (dead) spectra, noise, values out of range.

:func:`spectrum_quality` flags spectra one by one, so that one bad scan is named and kept out, never a
reason to refuse a whole set or to accept it silently. The thresholds are stated with the real spectra
they were checked on (never fitted to any benchmark):

========================  =====================================================================================
flag                      rule
========================  =====================================================================================
``nonfinite``             any NaN or inf channel
``saturated``             a plateau of at least :data:`SATURATION_RUN` equal channels at the spectrum's maximum
                          absorbance, with that maximum at least :data:`SATURATION_MIN_ABSORBANCE` (a detector
                          cap, e.g. 6.0), or any absorbance above :data:`soilnb.spectra.units.ABSORBANCE_MAX`; for reflectance, the
                          same plateau at a minimum at most 10**-SATURATION_MIN_ABSORBANCE
``flat``                  the spectrum's sd is below :data:`FLAT_SD` (a dead detector or a constant row)
``noisy``                 median |second difference| / sd above :data:`NOISE_MAX`: real spectra give at most
                          0.0021 (500 KSSL MIR), 0.0047 (825 NIRsoil NIR) and 0.0073 (NeoSpectra at its native
                          257 channels); KSSL MIR plus Gaussian noise of sd 0.01 gives 0.031-0.060
``out_of_range``          reflectance (as a fraction) <= 0 or above :data:`REFLECTANCE_MAX`
``dead_channels``         a run of at least :data:`DEAD_RUN` consecutive channels of one exact value, not a
                          saturation plateau (zeroed or frozen channels): the 500 KSSL MIR spectra, stored to 4
                          decimals, hold runs of up to 21 equal channels (median 5), the 825 NIRsoil ones 2
``orientation``           (given the axis) the water/O-H band has the other quantity's shape
                          (:func:`soilnb.spectra.orientation.orientation_rows`; flat rows are not judged)
========================  =====================================================================================
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from soilnb.spectra.bands import FLAT_SD, orientation_reason, orientation_rows
from soilnb.spectra.reflectance import ABSORBANCE_MAX

#: Plateau length (channels) that counts as a detector cap.
SATURATION_RUN = 5
#: Smallest absorbance at which a plateau counts as saturation (real KSSL MIR peaks near 2.5-3).
SATURATION_MIN_ABSORBANCE = 2.5
#: Largest plausible noise ratio (see the module table).
NOISE_MAX = 0.025
#: Largest plausible reflectance fraction (real samples can outshine the white reference a little).
REFLECTANCE_MAX = 1.5

#: Consecutive channels of one exact value that count as dead (zeroed or frozen) channels.
DEAD_RUN = 50

FLAGS = ("nonfinite", "saturated", "flat", "noisy", "out_of_range", "orientation", "dead_channels")


def _longest_run_at(x: np.ndarray, value: float, atol: float = 1e-9) -> int:
    """Length of the longest run of consecutive channels equal to ``value``."""
    hit = np.abs(x - value) <= atol
    best = run = 0
    for h in hit:
        run = run + 1 if h else 0
        best = max(best, run)
    return best


def _longest_equal_run(x: np.ndarray) -> tuple[int, int]:
    """``(length, start)`` of the longest run of consecutive channels with one exact (finite) value."""
    same = np.r_[False, (np.diff(x) == 0) & np.isfinite(x[1:])]
    best, start, run = 1, 0, 1
    for i in range(1, x.size):
        run = run + 1 if same[i] else 1
        if run > best:
            best, start = run, i - run + 1
    return (best, start) if x.size else (0, 0)


def spectrum_quality(X, quantity: str = "absorbance", axis=None, unit: str | None = None) -> pd.DataFrame:
    """One row per spectrum: a boolean column per flag of :data:`FLAGS`, ``ok`` and a ``reason`` text.

    Parameters
    ----------
    X : array of shape (n_spectra, n_channels)
    quantity : {"absorbance", "reflectance"}
        Reflectance as a fraction (see :func:`soilnb.spectra.units.reflectance_rows`).
    axis, unit : optional
        Channel positions and their unit ("nm" or "cm-1"): with them the ``orientation`` flag is judged.

    Examples
    --------
    >>> X = np.vstack([np.linspace(0.2, 1.0, 50), np.full(50, 0.5), np.r_[np.linspace(1, 6, 40), np.full(10, 6.0)]])
    >>> spectrum_quality(X)["reason"].tolist()
    ['', 'flat: sd 0 (a dead detector or a constant row)', 'saturated: 11 channels at the cap 6']
    """
    if quantity not in ("absorbance", "reflectance"):
        raise ValueError(f"quantity must be 'absorbance' or 'reflectance', got {quantity!r}")
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    wrong = (orientation_rows(X, axis, unit, quantity) < 0 if axis is not None and unit is not None
             else np.zeros(X.shape[0], bool))
    rows = []
    for x, turned in zip(X, wrong):
        finite = np.isfinite(x)
        flags, reasons = dict.fromkeys(FLAGS, False), []
        if not finite.all():
            flags["nonfinite"] = True
            reasons.append(f"{int((~finite).sum())} NaN or inf channel(s)")
        v = x[finite]
        if v.size:
            sd = v.std()
            if sd < FLAT_SD:
                flags["flat"] = True
                reasons.append(f"flat: sd {sd:.3g} (a dead detector or a constant row)")
            if quantity == "absorbance":
                top = v.max()
                run = _longest_run_at(v, top)
                if top > ABSORBANCE_MAX or (run >= SATURATION_RUN and top >= SATURATION_MIN_ABSORBANCE):
                    flags["saturated"] = True
                    reasons.append(f"saturated: {run} channels at the cap {top:.6g}" if run >= SATURATION_RUN
                                   else f"saturated: absorbance {top:.3g} above {ABSORBANCE_MAX:g}")
            else:
                low, high = v.min(), v.max()
                run = _longest_run_at(v, low)
                if low <= 0 or high > REFLECTANCE_MAX:
                    flags["out_of_range"] = True
                    reasons.append(f"reflectance {low:.3g}..{high:.3g} outside (0, {REFLECTANCE_MAX:g}]")
                elif run >= SATURATION_RUN and low <= 10 ** -SATURATION_MIN_ABSORBANCE:
                    flags["saturated"] = True
                    reasons.append(f"saturated: {run} channels at the floor {low:.3g}")
            run, start = _longest_equal_run(x)
            if not flags["flat"] and not flags["saturated"] and run >= DEAD_RUN:
                flags["dead_channels"] = True
                where = (f" at {axis[start]:g}-{axis[start + run - 1]:g} {unit}" if axis is not None and unit
                         else f" from channel {start}")
                reasons.append(f"dead channels: {run} consecutive channels at {x[start]:.6g}{where}")
            if not flags["flat"] and v.size > 2:
                ratio = np.median(np.abs(np.diff(v, 2))) / sd
                if ratio > NOISE_MAX:
                    flags["noisy"] = True
                    reasons.append(f"noisy: noise ratio {ratio:.3g} above {NOISE_MAX:g}")
        if turned:
            flags["orientation"] = True
            reasons.append(orientation_reason(unit, quantity))
        rows.append({**flags, "ok": not any(flags.values()), "reason": "; ".join(reasons)})
    return pd.DataFrame(rows, columns=[*FLAGS, "ok", "reason"])
