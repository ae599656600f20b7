"""How realistic are simulated spectra? A classifier two-sample test against real spectra.

:func:`realism_auc` is a classifier two-sample test (Lopez-Paz & Oquab 2017, arXiv:1610.06545):
after SNV (Barnes et al. 1989, doi:10.1366/0003702894202201) and a PCA fitted on the pooled spectra,
a logistic regression tries to tell real from simulated rows; its cross-validated ROC AUC is 0.5 when
the two sets are indistinguishable (in that representation) and 1.0 when they are perfectly separable.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

try:                                   # optional: only the NIRsoil realism check needs it (the [test] extra)
    import rdata
    from rdata.conversion import DEFAULT_CLASS_MAP
except ImportError:
    rdata = DEFAULT_CLASS_MAP = None
from soilnb.data.realdata import MissingDataError, local_root, missing_line, real_path
from soilnb.data.real_registry import resolve
from soilnb.data.simulate.bands import (
    gaussian_blur_matrix,
    neospectra_fwhm_nm,
)
from soilnb.spectra.grid import check_grid
from soilnb.spectra.scatter import snv


def _check(X, name):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_spectra, n_channels), got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or inf")
    return X


def realism_auc(real_X, sim_X, n_components=10, cv=5, seed=0) -> float:
    """Cross-validated ROC AUC of a logistic regression telling real from simulated spectra.

    Parameters
    ----------
    real_X, sim_X : ndarray of shape (n_real, n_channels), (n_sim, n_channels)
        Spectra on the same axis (e.g. averaged KSSL MIR absorbance).
    n_components : int
        PCA components fitted on the pooled SNV spectra (all of them are used by the classifier).
    cv : int
        Stratified folds.
    seed : int
        Subsampling of the larger set to the size of the smaller, and fold assignment.

    Returns
    -------
    float
        AUC in [0, 1]; 0.5 = indistinguishable.
    """
    real_X, sim_X = _check(real_X, "real_X"), _check(sim_X, "sim_X")
    if real_X.shape[1] != sim_X.shape[1]:
        raise ValueError(f"real_X has {real_X.shape[1]} channels but sim_X has {sim_X.shape[1]}")
    n = min(len(real_X), len(sim_X))
    if n < 2 * cv:
        raise ValueError(f"need at least {2 * cv} spectra in each set for {cv}-fold CV, got {n}")
    rng = np.random.default_rng(seed)
    real_X = real_X[np.sort(rng.choice(len(real_X), n, replace=False))]
    sim_X = sim_X[np.sort(rng.choice(len(sim_X), n, replace=False))]
    Z = PCA(n_components=n_components, random_state=seed).fit_transform(snv(np.vstack([real_X, sim_X])))
    y = np.r_[np.ones(n), np.zeros(n)]
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed)
    p = cross_val_predict(clf, Z, y, cv=folds, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, p))


def mean_sd_spectra(X) -> tuple[np.ndarray, np.ndarray]:
    """Channel-wise mean and standard deviation (ddof=1) of a set of spectra, for overlay plots.

    Parameters
    ----------
    X : ndarray of shape (n_spectra, n_channels)

    Returns
    -------
    mean, sd : ndarrays of shape (n_channels,)
    """
    X = _check(X, "X")
    if len(X) < 2:
        raise ValueError("mean_sd_spectra needs at least 2 spectra")
    return X.mean(axis=0), X.std(axis=0, ddof=1)


KSSL_TOY_FILE = "kssl_mir_toy/toy_kssl_mir.csv.gz"
NIRSOIL_FILE = "nirsoil/NIRsoil.RData"


def _real_file(folder, rel: str, what: str) -> Path:
    """``rel`` under ``folder``; without a folder (or with ``data/real`` itself) the project's verified copy
    (:func:`soilnb.data.real_path`: ``data/real``, else the mirror, else the origin). A file not there raises :class:`MissingDataError` (a
    ``FileNotFoundError``) naming it and the command that gets it."""
    if folder is None or Path(folder).resolve() == local_root().resolve():
        return real_path(rel)
    path = Path(folder) / rel
    if not path.is_file():
        raise MissingDataError(missing_line(resolve([rel])[0], f"real {what} file not found: {path}"))
    return path


def load_real_kssl_toy(folder=None) -> tuple[np.ndarray, np.ndarray]:
    """The 500 real averaged KSSL MIR spectra of the toy file of soilspecdl 0.2.0 (never copied into the repo).

    Parameters
    ----------
    folder : path, optional
        Folder holding ``kssl_mir_toy/toy_kssl_mir.csv.gz``; default: the project's verified copy in
        ``data/real`` (fetched from the mirror or PyPI when missing, see :mod:`soilnb.data.realdata`).

    Returns
    -------
    X : ndarray of shape (500, 1701), absorbance; axis : ndarray of shape (1701,), cm-1 increasing
    """
    path = _real_file(folder, KSSL_TOY_FILE, "KSSL toy")
    d = pd.read_csv(path)
    cols = [c for c in d.columns if c.isdigit()]
    axis = np.array(cols, float)
    order = np.argsort(axis)
    return d[cols].to_numpy(float)[:, order], axis[order]


# --------------------------------------------------------------------------------------------- NIR
#: NIRsoil grid (prospectr): 1100..2498 nm, 2 nm step, 700 channels.
NIRSOIL_AXIS = np.arange(1100.0, 2498.0 + 1e-9, 2.0)
#: Range shared by the Neospectra (1350-2550 nm, trimmed by the paper to 1400-2500) and NIRsoil grids.
NIR_COMMON_NM = (1400.0, 2498.0)
#: Spectral bandpass (FWHM, nm) of the FOSS NIRSystems scanning-grating monochromators with which the
#: Chimiometrie 2006 spectra were recorded (Fernandez Pierna & Dardenne 2008, doi:10.1016/j.chemolab.2007.11.005);
#: constant in wavelength.
NIRSOIL_BANDPASS_NM = 10.0
def load_real_nirsoil(folder=None, properties=False):
    """The 825 real NIR soil spectra of prospectr's ``NIRsoil`` (Chimiometrie 2006; never copied into the repo).

    Dried, sieved agricultural soils of Wallonia (Belgium), absorbance log10(1/R) at 1100-2498 nm, 2 nm
    (Fernandez Pierna & Dardenne 2008). Needs the PyPI package ``rdata`` (``pip install rdata``).

    Parameters
    ----------
    folder : path, optional
        Folder holding ``nirsoil/NIRsoil.RData``; default: the project's verified copy in ``data/real`` (fetched
        from the mirror or the origin when missing, see :mod:`soilnb.data.realdata`).
    properties : bool
        Also return the table of ``Nt`` (g/kg), ``Ciso`` (%), ``CEC`` (meq/100 g) and ``train`` (NaN where
        not measured).

    Returns
    -------
    X : ndarray of shape (825, 700), absorbance; axis : ndarray of shape (700,), nm increasing;
    and, with ``properties=True``, a DataFrame of shape (825, 4).

    Raises
    ------
    ImportError
        Without ``rdata``.
    MissingDataError (a FileNotFoundError), ValueError
        A missing file (the message names the command that gets it); a file without a ``NIRsoil`` data.frame holding an ``spc`` matrix on the expected
        grid, or with non-finite spectra.
    """
    path = _real_file(folder, NIRSOIL_FILE, "NIRsoil")
    obj = _read_rdata_frame(path, "NIRsoil")
    if "spc" not in obj:
        raise ValueError(f"{path}: NIRsoil has no 'spc' matrix column (columns: {sorted(map(str, obj))})")
    spc = obj["spc"]
    X = np.asarray(getattr(spc, "values", spc), dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"{path}: 'spc' must be a matrix, got shape {X.shape}")
    try:
        axis = np.array(spc.coords[spc.dims[1]].values, dtype=np.float64)
    except (AttributeError, IndexError, KeyError, ValueError, TypeError) as e:
        raise ValueError(f"{path}: 'spc' has no numeric wavelength column names") from e
    check_grid(axis, NIRSOIL_AXIS, name=str(path))
    if not np.isfinite(X).all():
        raise ValueError(f"{path}: 'spc' contains {int((~np.isfinite(X)).sum())} NaN or inf values")
    if not properties:
        return X, axis
    props = pd.DataFrame({k: np.asarray(obj[k], dtype=np.float64) for k in ("Nt", "Ciso", "CEC", "train") if k in obj})
    return X, axis, props


def _read_rdata_frame(path, name):
    """The columns of the data.frame ``name`` in an .RData file, as a dict (matrix columns kept whole)."""
    if rdata is None:
        raise ImportError("reading NIRsoil.RData needs the PyPI package 'rdata' (pip install rdata, or "
                          "pip install -e '.[test]')")
    class_map = dict(DEFAULT_CLASS_MAP)
    # the default data.frame conversion cannot hold a matrix column: keep the raw columns instead
    class_map["data.frame"] = lambda obj, attrs: (obj, attrs)
    class_map["AsIs"] = lambda obj, attrs: obj
    try:
        converted = rdata.conversion.convert(rdata.parser.parse_file(path), class_map)
    except Exception as e:      # noqa: BLE001  (rdata raises many kinds on a corrupt file)
        raise ValueError(f"{path}: not a readable R data file ({type(e).__name__}: {e})") from e
    if name not in converted:
        raise ValueError(f"{path}: no object {name!r} (found {sorted(map(str, converted))})")
    value = converted[name]
    obj = value[0] if isinstance(value, tuple) else value
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: {name!r} is not a data.frame")
    return {str(k): v for k, v in obj.items()}


def nir_common_footing(real_A, real_axis, sim_R, sim_axis, real_fwhm=NIRSOIL_BANDPASS_NM, sim_fwhm=None,
                       lo_hi=NIR_COMMON_NM):
    """Real NIR absorbance and simulated NeoSpectra reflectance on one axis, unit and resolution.

    Both sets go to the coarser of the two instruments, the NeoSpectra FT-NIR (66.6 cm-1, i.e. 13-42 nm
    over 1400-2498 nm, :func:`neospectra_fwhm_nm`): the sharper real spectra (a grating of ``real_fwhm``
    nm bandpass) are convolved with a Gaussian of FWHM ``sqrt(neo**2 - real_fwhm**2)`` (Gaussian widths add
    in quadrature). Sharpening the simulated set instead would amplify noise. The simulated reflectance
    becomes ``log10(1/R)``; both are cut to ``lo_hi`` after the blur. Near the end of the real data
    (2498 nm) the blur kernel is truncated and renormalised, a small bias there (about -0.003 absorbance
    at 2498 nm, -0.001 at 2480 nm).

    Parameters
    ----------
    real_A : ndarray (n_real, n_real_channels), absorbance; real_axis : its wavelengths (nm)
    sim_R : ndarray (n_sim, n_sim_channels), reflectance fraction; sim_axis : its wavelengths (nm)
    real_fwhm : float
        Line width (nm) already in the real spectra (default :data:`NIRSOIL_BANDPASS_NM`).
    sim_fwhm : float or ndarray, optional
        Line width already in the simulated spectra; default: the NeoSpectra's, i.e. no blur (the
        simulator draws its NIR bands at that resolution, :func:`soilnb.data.simulate.spectra.nir_spectra`).
    lo_hi : (float, float)
        Common range (nm), inclusive.

    Returns
    -------
    real, sim : ndarrays (n, n_common) of absorbance; axis : ndarray (n_common,)
    """
    real_A, sim_R = _check(real_A, "real_A"), _check(sim_R, "sim_R")
    if (sim_R <= 0).any():
        raise ValueError("sim_R must be a reflectance fraction > 0 (got values <= 0)")
    out = []
    for X, axis, have in ((real_A, real_axis, real_fwhm), (-np.log10(sim_R), sim_axis, sim_fwhm)):
        axis = np.asarray(axis, dtype=np.float64)
        if axis.shape != (X.shape[1],):
            raise ValueError(f"axis of {axis.size} channels for spectra of {X.shape[1]}")
        target = neospectra_fwhm_nm(axis)
        if have is not None:
            X = X @ gaussian_blur_matrix(axis, np.sqrt(np.clip(target**2 - np.asarray(have, float) ** 2, 0, None))).T
        keep = (axis >= lo_hi[0] - 1e-9) & (axis <= lo_hi[1] + 1e-9)
        out.append((X[:, keep], axis[keep]))
    (real, ra), (sim, sa) = out
    if not np.array_equal(ra, sa):
        raise ValueError(f"real and simulated axes differ in {lo_hi} nm; put them on one 2 nm grid first")
    return real, sim, ra


def nir_realism_auc(real_A, real_axis, sim_R, sim_axis, n_components=10, cv=5, seed=0, **footing) -> float:
    """:func:`realism_auc` of real NIR absorbance against simulated NeoSpectra reflectance.

    The two sets are first put on a common footing by :func:`nir_common_footing` (1400-2498 nm,
    log10(1/R), NeoSpectra resolution); SNV and PCA happen inside :func:`realism_auc`.

    Parameters
    ----------
    real_A, real_axis, sim_R, sim_axis
        See :func:`nir_common_footing` (e.g. :func:`load_real_nirsoil` and :func:`soilnb.data.simulate.spectra.nir_spectra`
        on :data:`soilnb.core.vocab.NIR_AXIS_NM`).
    n_components, cv, seed
        See :func:`realism_auc`.
    **footing
        Passed to :func:`nir_common_footing` (``real_fwhm``, ``sim_fwhm``, ``lo_hi``).

    Returns
    -------
    float
        AUC in [0, 1]; 0.5 = indistinguishable.
    """
    real, sim, _ = nir_common_footing(real_A, real_axis, sim_R, sim_axis, **footing)
    return realism_auc(real, sim, n_components=n_components, cv=cv, seed=seed)
