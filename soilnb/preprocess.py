"""Spectral preprocessing of the paper (Sect. 2.3) as scikit-learn transformers.

MIR (absorbance, 600-4000 cm-1)  ->  SNV
NIR (reflectance, 1350-2550 nm)  ->  trim to 1400-2500 nm  ->  A = log10(1/R)  ->  SNV

Every transformer follows the chemotools / scikit-learn skeleton: ``__init__`` only stores its
arguments; ``fit`` checks them and calls :func:`sklearn.utils.validation.validate_data` with
``reset=True``; ``transform`` calls :func:`~sklearn.utils.validation.check_is_fitted` and then
``validate_data(..., reset=False)``; fitted attributes end in ``_``.
"""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted, validate_data

#: Native OSSL NeoSpectra NIR grid: 1350..2550 nm, 2 nm step (601 channels, ``scan_nir.*_ref``).
NIR_AXIS_NM = np.arange(1350.0, 2550.0 + 1.0, 2.0)
#: NIR range kept by the paper (Sect. 2.1: "trimmed to the 1400-2500 nm range").
NIR_TRIM_NM = (1400.0, 2500.0)
#: Native OSSL MIR grid: 600..4000 cm-1, 2 cm-1 step (1,701 channels, ``scan_mir.*_abs``).
MIR_AXIS_CM1 = np.arange(600.0, 4000.0 + 1.0, 2.0)

#: Thresholds of the reflectance / percent / absorbance heuristic (see ReflectanceToAbsorbance).
FRACTION_MAX = 1.5
ABSORBANCE_MAX = 5.0
PERCENT_MAX = 100.0


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


def _describe(axis) -> str:
    axis = np.asarray(axis, dtype=np.float64)
    if axis.size == 0:
        return "0 channels"
    step = np.diff(axis)
    step_txt = f", step {step[0]:g}" if step.size and np.allclose(step, step[0]) else ""
    return f"{axis.size} channels {axis[0]:g}..{axis[-1]:g}{step_txt}"


def check_grid(axis, expected, name: str = "spectra", atol: float = 1e-6) -> None:
    """Raise ``ValueError("...wrong grid...")`` unless ``axis`` equals ``expected``.

    Parameters
    ----------
    axis, expected : array-like of shape (n_channels,)
    name : str
        What the axis belongs to (a file or library name), used in the message.
    atol : float
        Absolute tolerance per channel.
    """
    axis = np.asarray(axis, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if axis.shape != expected.shape or not np.allclose(axis, expected, rtol=0, atol=atol):
        raise ValueError(f"{name}: wrong grid: expected {_describe(expected)}, got {_describe(axis)}")


def _as_monotonic_axis(axis, name: str) -> np.ndarray:
    axis = np.asarray(axis, dtype=np.float64)
    if axis.ndim != 1 or axis.size < 2:
        raise ValueError(f"{name} must be a 1-D array of at least 2 channel positions, got shape {axis.shape}")
    if not np.isfinite(axis).all():
        raise ValueError(f"{name} contains NaN or inf")
    d = np.diff(axis)
    if not (np.all(d > 0) or np.all(d < 0)):
        raise ValueError(f"{name} must be strictly increasing or strictly decreasing")
    return axis


def _check_width(n_features: int, axis: np.ndarray, name: str, who: str) -> None:
    if n_features != axis.size:
        raise ValueError(f"{who}: X has {n_features} feature(s) but {name} has {axis.size} channels")


# ------------------------------------------------------------------------------------------- SNV
def snv(X, ddof: int = 0) -> np.ndarray:
    """Standard normal variate: each spectrum centred on its mean and scaled by its std.

    ``SNV(x) = (x - mean(x)) / std(x, ddof)`` row by row (Barnes, Dhanoa & Lister 1989,
    Applied Spectroscopy 43:772, doi:10.1366/0003702894202201).

    Parameters
    ----------
    X : array-like of shape (n_spectra, n_channels)
    ddof : {0, 1}, default 0
        0 divides the squared deviations by ``p`` (chemotools, numpy); 1 by ``p - 1``
        (Barnes et al.'s sample standard deviation, prospectr). With 1,701 MIR channels the two
        differ by a factor sqrt(1700/1701) = 0.99971.

    Returns
    -------
    ndarray of shape (n_spectra, n_channels), float64

    Raises
    ------
    ValueError
        If a spectrum is constant (std 0), naming its row.

    Examples
    --------
    >>> snv([[1.0, 2.0, 3.0]]).round(4)
    array([[-1.2247,  0.    ,  1.2247]])
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"snv expects a 2-D array (n_spectra, n_channels), got shape {X.shape}")
    if X.shape[1] < 2:
        raise ValueError(f"SNV needs at least 2 channels, got {X.shape[1]} feature(s)")
    const = np.flatnonzero(np.ptp(X, axis=1) == 0)
    if const.size:
        rows = ", ".join(map(str, const[:5])) + (" ..." if const.size > 5 else "")
        raise ValueError(f"SNV undefined for constant spectra (std 0): {const.size} row(s), e.g. row {rows}")
    mean = X.mean(axis=1, keepdims=True)
    std = X.std(axis=1, ddof=ddof, keepdims=True)
    return (X - mean) / std


class SNV(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Standard normal variate transformer (row-wise centring and scaling).

    Stateless: each spectrum is scaled by its own mean and standard deviation (Barnes et al. 1989,
    doi:10.1366/0003702894202201), see :func:`snv`.

    Parameters
    ----------
    ddof : {0, 1}, default 0
        Delta degrees of freedom of the per-spectrum standard deviation.

    Attributes
    ----------
    n_features_in_ : int

    Examples
    --------
    >>> SNV().fit_transform([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]]).round(4)
    array([[-1.2247,  0.    ,  1.2247],
           [-1.2247,  0.    ,  1.2247]])
    """

    def __init__(self, ddof: int = 0):
        self.ddof = ddof

    def fit(self, X, y=None):
        if self.ddof not in (0, 1):
            raise ValueError(f"ddof must be 0 or 1, got {self.ddof!r}")
        validate_data(self, X, reset=True, dtype=np.float64)
        return self

    def transform(self, X):
        check_is_fitted(self, "n_features_in_")
        # reset=False: keep n_features_in_ from fit and check X against it
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return snv(X, ddof=self.ddof)


# --------------------------------------------------------------------------- reflectance -> A
def reflectance_fraction(X, percent="auto", name: str = "") -> np.ndarray:
    """Check that ``X`` holds reflectance and return it as a fraction in (0, ~1].

    The heuristic (on all finite values; NaN/inf are left for :func:`drop_nonfinite`):

    * a value <= 0: rejected. Reflectance is positive; negative values mean the data are already
      absorbance (baseline-corrected log units often dip below 0), zeros would give ``inf``.
    * ``max > PERCENT_MAX`` (100): rejected, neither fraction nor percent.
    * ``max <= FRACTION_MAX`` (1.5): a fraction. Values slightly above 1 occur on real scanners
      (19 OSSL NeoSpectra scans exceed the white reference) and give slightly negative A.
    * ``FRACTION_MAX < max <= ABSORBANCE_MAX`` (5): too large for a fraction and too small for
      soil reflectance in percent, but the usual range of log10(1/R) (soil MIR absorbance spans
      about 0.1-3): rejected as "looks like absorbance, not reflectance" (unless ``percent=True``).
    * ``ABSORBANCE_MAX < max <= 100``: percent. ``percent="auto"`` divides by 100 with a warning,
      ``percent=True`` divides silently, ``percent=False`` raises.

    It cannot tell NIR *absorbance* in 0.1-1.5 from a reflectance fraction; the loaders know the
    quantity from the OSSL column suffix (``_ref`` / ``_abs``).

    Parameters
    ----------
    X : array-like of shape (n_spectra, n_channels)
    percent : {"auto", True, False}
        ``True`` with data whose maximum is <= 1.5 raises (they look like fractions).
    name : str
        Prefix of error messages (a file or library name).

    Returns
    -------
    ndarray of shape (n_spectra, n_channels), float64
    """
    if percent not in ("auto", True, False):
        raise ValueError(f"percent must be 'auto', True or False, got {percent!r}")
    X = np.asarray(X, dtype=np.float64)
    where = f"{name}: " if name else ""
    finite = np.isfinite(X)
    if not finite.any():
        return X
    bad = np.flatnonzero((np.where(finite, X, 1.0) <= 0).any(axis=1))
    vmin, vmax = float(X[finite].min()), float(X[finite].max())
    if bad.size:
        rows = ", ".join(map(str, bad[:5])) + (" ..." if bad.size > 5 else "")
        hint = "; these data look like absorbance, not reflectance" if vmin < 0 else " (log10(1/0) is infinite)"
        raise ValueError(f"{where}reflectance must be > 0, found values <= 0 (min {vmin:.4g}) in "
                         f"{bad.size} row(s), e.g. row {rows}{hint}")
    if vmax > PERCENT_MAX:
        raise ValueError(f"{where}reflectance up to {vmax:.4g} is neither a fraction (<= {FRACTION_MAX}) "
                         f"nor a percentage (<= {PERCENT_MAX:g})")
    if percent is True:
        if vmax <= FRACTION_MAX:
            raise ValueError(f"{where}percent=True but the maximum is {vmax:.4g}: these look like "
                             "reflectance fractions; use percent=False")
        return X / 100.0
    if vmax <= FRACTION_MAX:
        return X
    if vmax <= ABSORBANCE_MAX:
        raise ValueError(
            f"{where}input looks like absorbance, not reflectance: values {vmin:.4g}..{vmax:.4g} exceed a "
            f"reflectance fraction (<= {FRACTION_MAX}) but lie in the usual log10(1/R) range "
            f"(<= {ABSORBANCE_MAX:g}); absorbance needs no conversion")
    if percent is False:
        raise ValueError(f"{where}reflectance up to {vmax:.4g} looks like percent, not a fraction; "
                         "pass percent=True (or 'auto') or divide by 100")
    warnings.warn(f"{where}reflectance up to {vmax:.4g} looks like percent; dividing by 100 "
                  "(pass percent=True to silence)", UserWarning, stacklevel=3)
    return X / 100.0


class ReflectanceToAbsorbance(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Pseudo-absorbance ``A = log10(1 / R)`` of reflectance spectra (paper Sect. 2.3).

    ``R`` must be a reflectance *fraction*; percent is detected and absorbance rejected by the
    heuristic of :func:`reflectance_fraction` (thresholds :data:`FRACTION_MAX` = 1.5,
    :data:`ABSORBANCE_MAX` = 5, :data:`PERCENT_MAX` = 100).

    Parameters
    ----------
    percent : {"auto", True, False}, default "auto"
        Whether the input is reflectance in percent (see above). ``True`` with data whose
        maximum is <= 1.5 raises (they look like fractions).

    Attributes
    ----------
    n_features_in_ : int

    Examples
    --------
    >>> ReflectanceToAbsorbance().fit_transform([[0.1, 1.0]])
    array([[1., 0.]])
    """

    def __init__(self, percent="auto"):
        self.percent = percent

    def fit(self, X, y=None):
        if self.percent not in ("auto", True, False):
            raise ValueError(f"percent must be 'auto', True or False, got {self.percent!r}")
        validate_data(self, X, reset=True, dtype=np.float64)
        return self

    def transform(self, X):
        check_is_fitted(self, "n_features_in_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return np.log10(1.0 / reflectance_fraction(X, self.percent))   # A = log10(1/R), paper Sect. 2.3


# ------------------------------------------------------------------------------------------ Trim
class Trim(TransformerMixin, BaseEstimator):
    """Keep the channels whose position lies within ``[low, high]``.

    Parameters
    ----------
    low, high : float
        Inclusive range, in the unit of ``axis``.
    axis : array-like of shape (n_channels,)
        Channel positions of the input (increasing or decreasing).

    Attributes
    ----------
    mask_ : ndarray of bool, shape (n_channels,)
    axis_out_ : ndarray of shape (n_kept,)
        Positions of the kept channels (same order as ``axis``).
    n_features_in_ : int

    Examples
    --------
    >>> Trim(2, 3, axis=[1, 2, 3, 4]).fit_transform([[10.0, 20.0, 30.0, 40.0]])
    array([[20., 30.]])
    """

    def __init__(self, low=None, high=None, axis=None):
        self.low = low
        self.high = high
        self.axis = axis

    def fit(self, X, y=None):
        if self.axis is None or self.low is None or self.high is None:
            raise ValueError("Trim needs low, high and axis")
        axis = _as_monotonic_axis(self.axis, "Trim axis")
        low, high = float(self.low), float(self.high)
        if not low < high:
            raise ValueError(f"Trim needs low < high, got low={low:g}, high={high:g}")
        a_min, a_max = axis.min(), axis.max()
        if low < a_min or high > a_max:
            raise ValueError(f"Trim range {low:g}..{high:g} is not covered by the axis ({a_min:g}..{a_max:g})")
        X = validate_data(self, X, reset=True, dtype=np.float64)
        _check_width(X.shape[1], axis, "axis", "Trim")
        self.mask_ = (axis >= low) & (axis <= high)
        self.axis_out_ = axis[self.mask_]
        return self

    def transform(self, X):
        check_is_fitted(self, "mask_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X[:, self.mask_]


# -------------------------------------------------------------------------------------- Resample
class Resample(TransformerMixin, BaseEstimator):
    """Linear interpolation of each spectrum from ``axis_in`` onto ``axis_out``.

    Equivalent to ``np.interp(axis_out, axis_in, x)`` row by row (decreasing axes, e.g. MIR
    files stored 4000 -> 600 cm-1, are handled), computed as one gather and weighted sum.
    No extrapolation: every ``axis_out`` position must lie inside ``axis_in`` (within ``tol``;
    positions within ``tol`` outside take the end value).

    Parameters
    ----------
    axis_in : array-like of shape (n_channels_in,)
        Channel positions of the input, strictly monotonic.
    axis_out : array-like of shape (n_channels_out,)
        Target positions, same unit.
    tol : float, default 0.0
        Allowed overhang of ``axis_out`` beyond ``axis_in`` (e.g. 0.01 nm for native grids whose
        end points are 1350.0003 and 2549.99998 nm).

    Attributes
    ----------
    index_ : ndarray of int, shape (n_channels_out,)
        Left neighbour of each output position in the (sorted) input.
    weight_ : ndarray of shape (n_channels_out,)
        Weight of the right neighbour.
    order_ : ndarray of int
        Permutation sorting ``axis_in`` increasingly.
    n_features_in_ : int

    Examples
    --------
    >>> Resample([0.0, 1.0, 2.0], [0.5, 1.5]).fit_transform([[0.0, 10.0, 40.0]])
    array([[ 5., 25.]])
    """

    def __init__(self, axis_in=None, axis_out=None, tol: float = 0.0):
        self.axis_in = axis_in
        self.axis_out = axis_out
        self.tol = tol

    def fit(self, X, y=None):
        if self.axis_in is None or self.axis_out is None:
            raise ValueError("Resample needs axis_in and axis_out")
        axis_in = _as_monotonic_axis(self.axis_in, "Resample axis_in")
        axis_out = np.asarray(self.axis_out, dtype=np.float64)
        if axis_out.ndim != 1 or axis_out.size == 0 or not np.isfinite(axis_out).all():
            raise ValueError("Resample axis_out must be a non-empty 1-D array of finite positions")
        tol = float(self.tol)
        if tol < 0:
            raise ValueError(f"tol must be >= 0, got {tol}")
        lo, hi = axis_in.min(), axis_in.max()
        if axis_out.min() < lo - tol or axis_out.max() > hi + tol:
            raise ValueError(f"Resample: axis_out {axis_out.min():g}..{axis_out.max():g} is not inside "
                             f"axis_in {lo:g}..{hi:g} (no extrapolation)")
        X = validate_data(self, X, reset=True, dtype=np.float64)
        _check_width(X.shape[1], axis_in, "axis_in", "Resample")
        self.order_ = np.argsort(axis_in)
        xs = axis_in[self.order_]
        pos = np.clip(axis_out, lo, hi)
        idx = np.clip(np.searchsorted(xs, pos, side="right") - 1, 0, xs.size - 2)
        self.index_ = idx
        self.weight_ = (pos - xs[idx]) / (xs[idx + 1] - xs[idx])
        return self

    def transform(self, X):
        check_is_fitted(self, "index_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        Xs = X[:, self.order_]
        w = self.weight_
        return Xs[:, self.index_] * (1.0 - w) + Xs[:, self.index_ + 1] * w


# ------------------------------------------------------------------------------ NaN / inf rows
def drop_nonfinite(X, *others, name: str = "spectra"):
    """Drop the rows of ``X`` holding NaN or inf, and the same rows of every array in ``others``.

    Parameters
    ----------
    X : array-like of shape (n_rows, n_channels)
    *others : arrays, lists or DataFrames of length n_rows (ids, properties, ...)
    name : str
        Used in the warning.

    Returns
    -------
    X : ndarray of shape (n_kept, n_channels)
    others : tuple
        Each of ``others`` restricted to the kept rows (DataFrames re-indexed from 0).
    n_dropped : int
        Number of dropped rows; a ``UserWarning`` gives it when it is > 0.
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{name}: X must be 2-D, got shape {X.shape}")
    keep = np.isfinite(X).all(axis=1)
    n_dropped = int((~keep).sum())
    out = []
    for o in others:
        if len(o) != X.shape[0]:
            raise ValueError(f"{name}: an array to filter has {len(o)} rows, X has {X.shape[0]}")
        if hasattr(o, "iloc"):
            out.append(o.iloc[np.flatnonzero(keep)].reset_index(drop=True))
        else:
            out.append(np.asarray(o)[keep])
    if n_dropped:
        warnings.warn(f"{name}: dropped {n_dropped} of {X.shape[0]} rows holding NaN or inf",
                      UserWarning, stacklevel=2)
        X = X[keep]
    return X, tuple(out), n_dropped


# ------------------------------------------------------------------------------------- pipelines
def spectral_pipeline(kind: str, axis=None) -> Pipeline:
    """The paper's preprocessing (Sect. 2.3) as an unfitted :class:`~sklearn.pipeline.Pipeline`.

    Parameters
    ----------
    kind : {"mir", "nir"}
        ``"mir"``: absorbance -> SNV. ``"nir"``: reflectance -> trim to :data:`NIR_TRIM_NM`
        -> log10(1/R) -> SNV.
    axis : array-like, optional
        NIR channel positions in nm (default :data:`NIR_AXIS_NM`); ignored for MIR.
    """
    if kind == "mir":
        return Pipeline([("snv", SNV())])
    if kind == "nir":
        axis = NIR_AXIS_NM if axis is None else axis
        return Pipeline([("trim", Trim(*NIR_TRIM_NM, axis=axis)),
                         ("absorbance", ReflectanceToAbsorbance(percent="auto")),
                         ("snv", SNV())])
    raise ValueError(f"kind must be 'mir' or 'nir', got {kind!r}")


#: Water/O-H bands that every soil spectrum shows, used to tell absorbance from reflectance by shape:
#: (unit, band window, shoulder windows). Absorbance has a maximum in the band, reflectance a minimum.
#: NIR: the 1.9 um combination band of H2O (hygroscopic water is in every air-dry soil; Bishop et al. 1994,
#: Clays Clay Miner. 42:702); MIR: the broad O-H stretch near 3400 cm-1 against the 3850-3950 cm-1 baseline.
ORIENTATION_BANDS = {"nm": ((1900.0, 1950.0), ((1800.0, 1850.0), (2050.0, 2100.0))),
                     "cm-1": ((3300.0, 3500.0), ((3850.0, 3950.0),))}


def check_orientation(X, axis, unit: str, quantity: str, name: str = "spectra") -> None:
    """Raise ``ValueError`` when spectra labelled ``quantity`` have the other one's shape.

    In more than half of the rows, the water/O-H band of :data:`ORIENTATION_BANDS` must be a maximum
    against its shoulders for ``"absorbance"`` and a minimum for ``"reflectance"``. Axes that do not
    cover the band and its shoulders are not checked. This catches reflectance passed as absorbance
    (and the reverse) when the value ranges alone cannot: e.g. MIR reflectance fractions 0.05-0.6 look
    like small absorbances, NIR absorbance 0.2-0.9 like reflectance fractions.
    """
    if unit not in ORIENTATION_BANDS or quantity not in ("absorbance", "reflectance"):
        return
    band, shoulders = ORIENTATION_BANDS[unit]
    axis = np.asarray(axis, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    windows = [band, *shoulders]
    masks = [(axis >= lo) & (axis <= hi) for lo, hi in windows]
    if len(X) == 0 or not all(m.any() for m in masks):
        return
    with warnings.catch_warnings():               # rows that are all NaN in a window give NaN, judged below
        warnings.simplefilter("ignore", RuntimeWarning)
        depth = np.nanmean(X[:, masks[0]], 1) - np.mean([np.nanmean(X[:, m], 1) for m in masks[1:]], 0)
    depth = depth[np.isfinite(depth)]
    if depth.size == 0:
        return
    share_max = float(np.mean(depth > 0))
    lo, hi = band
    if quantity == "absorbance" and share_max < 0.5:
        raise ValueError(f"{name}: these look like reflectance, not absorbance: the water/O-H band at {lo:g}-{hi:g} "
                         f"{unit} is a minimum in {1 - share_max:.0%} of the spectra (absorbance has a maximum "
                         f"there); convert with log10(1/R) or declare them as reflectance")
    if quantity == "reflectance" and share_max > 0.5:
        raise ValueError(f"{name}: these look like absorbance, not reflectance: the water/O-H band at {lo:g}-{hi:g} "
                         f"{unit} is a maximum in {share_max:.0%} of the spectra (reflectance has a minimum "
                         f"there); declare them as absorbance")


def preprocess_library(lib):
    """Apply the paper's preprocessing to a :class:`soilnb.library.SpectralLibrary`.

    Wavelength libraries (``unit="nm"``, NIR) are trimmed to 1400-2500 nm; reflectance is turned
    into absorbance with :class:`ReflectanceToAbsorbance`; every spectrum then gets :func:`snv`.

    Returns
    -------
    X : ndarray of shape (n_scans, n_channels_out), float32
    axis : ndarray of shape (n_channels_out,)
    """
    X = lib.X
    axis = lib.axis
    check_orientation(X, axis, lib.unit, lib.quantity, name=lib.name or "library")
    steps = []
    if lib.unit == "nm":
        steps.append(("trim", Trim(*NIR_TRIM_NM, axis=axis)))
        axis = axis[(axis >= NIR_TRIM_NM[0]) & (axis <= NIR_TRIM_NM[1])]
    if lib.quantity == "reflectance":
        steps.append(("absorbance", ReflectanceToAbsorbance(percent="auto")))
    steps.append(("snv", SNV()))
    try:
        Xt = Pipeline(steps).fit_transform(X)
    except ValueError as exc:
        raise ValueError(f"{lib.name or 'library'}: {exc}") from exc
    return Xt.astype(np.float32), axis
