"""Reflectance values without scikit-learn: nm <-> cm-1, the per-spectrum percent/fraction rule
(:func:`reflectance_rows`, :func:`reflectance_fraction`) and pseudo-absorbance (:func:`absorbance`).

The readers and the ``soilnb predict`` path use these functions directly (the command does not import
scikit-learn at start-up); :class:`soilnb.spectra.units.ReflectanceToAbsorbance`, the scikit-learn transformer,
calls the same ones.
"""
from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

#: Thresholds of the per-spectrum reflectance rule (:func:`reflectance_rows`): a row's maximum up to
#: FRACTION_MAX is a fraction, above it percent; percent rows up to ABSORBANCE_MAX are named (the usual
#: log10(1/R) range); PERCENT_LIMIT is the largest percentage kept.
FRACTION_MAX = 1.5
ABSORBANCE_MAX = 5.0
PERCENT_MAX = 100.0
#: Real scanners exceed their white reference a little (specular glints, an aged panel): 100-150 % is kept
#: above 1, not clipped or refused; a row above 150 is neither a fraction nor a percentage.
PERCENT_LIMIT = 1.5 * PERCENT_MAX


# ---------------------------------------------------------------------------------- unit helpers
def nm_to_cm1(x):
    """Wavelength (nm) to wavenumber (cm-1): ``1e7 / nm`` (2500 nm -> 4000 cm-1)."""
    x = np.asarray(x, dtype=np.float64)
    if np.any(x <= 0):
        raise ValueError("wavelengths must be > 0 nm")
    return 1e7 / x


def cm1_to_nm(x):
    """Wavenumber (cm-1) to wavelength (nm): ``1e7 / cm-1`` (4000 cm-1 -> 2500 nm)."""
    x = np.asarray(x, dtype=np.float64)
    if np.any(x <= 0):
        raise ValueError("wavenumbers must be > 0 cm-1")
    return 1e7 / x


# --------------------------------------------------------------------------- reflectance -> A
class ReflectanceRows(NamedTuple):
    """What :func:`reflectance_rows` decided, spectrum by spectrum (``n`` spectra)."""

    X: np.ndarray           #: (n, n_channels) fractions; rejected rows and rows without finite values unchanged
    percent: np.ndarray     #: (n,) bool: rows divided by 100
    rejected: dict          #: row index -> why it is not reflectance (callers drop it or raise)
    minority: np.ndarray    #: (n,) bool: rows of the smaller kind (fraction or percent) in a mixed set
    dark: np.ndarray        #: (n,) bool: percent rows with a maximum <= ABSORBANCE_MAX (the log10(1/R) range)
    named: dict             #: row index -> why a kept row should be checked (``minority`` or ``dark``)
    over_100: np.ndarray    #: (n,) bool: percent rows above 100 %, kept above 1


def reflectance_rows(X, percent="auto") -> ReflectanceRows:
    """Decide per spectrum whether reflectance is a fraction or a percentage, and return fractions.

    The one percent/fraction rule of soilnb (read_spectra's readers, the OSSL readers and
    :class:`~soilnb.spectra.units.ReflectanceToAbsorbance` use it). Per row, on its finite values (NaN/inf are left
    alone, a row without finite values is not judged):

    * min <= 0: rejected, not reflectance (log10(1/R) is undefined; negative values mean absorbance).
    * max > :data:`PERCENT_LIMIT` (150): rejected, neither a fraction nor a percentage.
    * max <= :data:`FRACTION_MAX` (1.5): a fraction, kept as is (a little above 1 is real: the sample
      outshone the white reference).
    * else percent, divided by 100; 100-150 % is kept above 1 (``over_100``), never clipped or refused.

    Rows are never converted with the majority: in a set mixing both, the rows of the smaller kind are
    ``named`` (a fraction among percent rows may be a very dark spectrum in percent), and so are percent
    rows whose maximum is at most :data:`ABSORBANCE_MAX` (5 %: the usual range of log10(1/R)).
    ``percent=True`` rejects rows that look like fractions, ``percent=False`` rows that look like percent
    (nothing is named then).

    Parameters
    ----------
    X : array-like of shape (n_spectra, n_channels)
    percent : {"auto", True, False}

    Returns
    -------
    ReflectanceRows

    Examples
    --------
    >>> r = reflectance_rows([[0.2, 0.5], [20.0, 50.0], [-1.0, 0.3]])
    >>> r.X[:2].tolist(), r.percent.tolist(), sorted(r.rejected), sorted(r.named)
    ([[0.2, 0.5], [0.2, 0.5]], [False, True, False], [2], [0, 1])
    """
    if percent not in ("auto", True, False):
        raise ValueError(f"percent must be 'auto', True or False, got {percent!r}")
    X = np.array(X, dtype=np.float64, ndmin=2)
    finite = np.isfinite(X)
    judged = finite.any(axis=1)
    lo = np.where(finite, X, np.inf).min(axis=1)
    hi = np.where(finite, X, -np.inf).max(axis=1)
    rejected, named = {}, {}
    minority, dark = np.zeros(X.shape[0], bool), np.zeros(X.shape[0], bool)
    for i in np.flatnonzero(judged & (lo <= 0)):
        rejected[int(i)] = f"reflectance must be > 0, min {lo[i]:.4g} (looks like absorbance, or a dead channel)"
    for i in np.flatnonzero(judged & (lo > 0) & (hi > PERCENT_LIMIT)):
        rejected[int(i)] = (f"reflectance up to {hi[i]:.4g} is neither a fraction (<= {FRACTION_MAX}) "
                            f"nor a percentage (<= {PERCENT_LIMIT:g})")
    ok = judged & (lo > 0) & (hi <= PERCENT_LIMIT)
    pct, frac = ok & (hi > FRACTION_MAX), ok & (hi <= FRACTION_MAX)
    if percent is True:
        for i in np.flatnonzero(frac):
            rejected[int(i)] = (f"percent=True but the maximum is {hi[i]:.4g}: this looks like a reflectance "
                                "fraction; use percent=False")
    elif percent is False:
        for i in np.flatnonzero(pct):
            rejected[int(i)] = (f"reflectance up to {hi[i]:.4g} looks like percent, not a fraction; pass "
                                "percent=True (or 'auto') or divide by 100")
        pct[:] = False
    else:
        n_pct, n_frac = int(pct.sum()), int(frac.sum())
        if n_pct and n_frac:                  # the smaller kind (both on a tie)
            minority = (frac & (n_frac <= n_pct)) | (pct & (n_pct <= n_frac))
        dark = pct & (hi <= ABSORBANCE_MAX)
        for i in np.flatnonzero(minority | dark):
            why = []
            if minority[i] and frac[i]:
                why.append(f"read as a fraction (maximum {hi[i]:.3g}) among {n_pct} spectra in percent: if it is "
                           "a very dark spectrum in percent it is 100 times too bright")
            if minority[i] and pct[i]:
                why.append(f"read as percent (maximum {hi[i]:.3g} > {FRACTION_MAX}) among {n_frac} spectra read "
                           "as fractions: divided by 100")
            if dark[i]:
                why.append(f"read as percent but its maximum {hi[i]:.3g} lies in the usual log10(1/R) range "
                           f"(<= {ABSORBANCE_MAX:g}): check that it is reflectance")
            named[int(i)] = "; ".join(why)
    X[pct] /= 100.0
    return ReflectanceRows(X, pct, dict(sorted(rejected.items())), minority, dark, named, pct & (hi > PERCENT_MAX))


def reflectance_fraction(X, percent="auto", name: str = "", labels=None) -> np.ndarray:
    """Check that ``X`` holds reflectance and return it as fractions (the rule of :func:`reflectance_rows`).

    Strict form for whole arrays: any rejected row raises ``ValueError``, and so does a set in which
    every judged row is percent with a maximum <= :data:`ABSORBANCE_MAX` (it looks like absorbance).
    With ``percent="auto"``, rows divided by 100 give one ``UserWarning`` that names the ``named`` rows.

    Parameters
    ----------
    X : array-like of shape (n_spectra, n_channels)
    percent : {"auto", True, False}
    name : str
        Prefix of messages (a file or library name).
    labels : sequence, optional
        How messages name each row (e.g. file rows); default its 0-based index.

    Returns
    -------
    ndarray of shape (n_spectra, n_channels), float64
    """
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))      # left unchanged: reflectance_rows copies
    r = reflectance_rows(X, percent)
    where = f"{name}: " if name else ""
    labels = np.arange(X.shape[0]) if labels is None else np.asarray(labels)
    finite = np.isfinite(X)
    if (np.where(finite, X, 1.0) <= 0).any():
        raise ValueError(where + nonpositive_reason(X, finite, labels))
    if r.rejected:
        raise ValueError(f"{where}{next(iter(r.rejected.values()))} ({_rows(list(r.rejected), labels)})")
    judged = finite.any(axis=1)
    if percent == "auto" and r.percent.any():
        hi = np.where(finite, X, -np.inf).max(axis=1)
        if (r.percent == judged).all() and (hi[judged] <= ABSORBANCE_MAX).all():
            raise ValueError(
                f"{where}input looks like absorbance, not reflectance: values {X[finite].min():.4g}.."
                f"{X[finite].max():.4g} exceed a reflectance fraction (<= {FRACTION_MAX}) but lie in the usual "
                f"log10(1/R) range (<= {ABSORBANCE_MAX:g}); absorbance needs no conversion")
        named = "".join(f"; row {labels[i]} {why}" for i, why in list(r.named.items())[:5])
        named += f"; {len(r.named) - 5} more rows named" if len(r.named) > 5 else ""
        warnings.warn(f"{where}reflectance up to {hi[r.percent].max():.4g} looks like percent; dividing by 100 "
                      f"({_rows(np.flatnonzero(r.percent), labels)}, decided per spectrum; pass percent=True "
                      f"to silence){named}", UserWarning, stacklevel=3)
    return r.X


def _rows(idx, labels) -> str:
    """``"2 of 5 spectra, e.g. row 1, 3"`` (``labels`` names every row)."""
    shown = ", ".join(str(labels[i]) for i in idx[:5]) + (" ..." if len(idx) > 5 else "")
    return f"{len(idx)} of {len(labels)} spectra, e.g. row {shown}"


def nonpositive_reason(X, finite, labels=None) -> str:
    """Why ``X`` (with finite values <= 0) cannot be reflectance, naming the first rows."""
    bad = np.flatnonzero((np.where(finite, X, 1.0) <= 0).any(axis=1))
    labels = np.arange(X.shape[0]) if labels is None else labels
    vmin = float(X[finite].min())
    rows = ", ".join(str(labels[i]) for i in bad[:5]) + (" ..." if bad.size > 5 else "")
    hint = "; these data look like absorbance, not reflectance" if vmin < 0 else " (log10(1/0) is infinite)"
    return (f"reflectance must be > 0, found values <= 0 (min {vmin:.4g}) in "
            f"{bad.size} row(s), e.g. row {rows}{hint}")


def absorbance(fraction) -> np.ndarray:
    """Pseudo-absorbance ``A = log10(1 / R)`` of reflectance fractions (paper Sect. 2.3)."""
    return np.log10(1.0 / fraction)
