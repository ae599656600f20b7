"""Loaders for the public Open Soil Spectral Library (OSSL) v1.2 files -> :mod:`soilnb.library` objects.

Files (bucket ``soilspec4gg-public``, Safanelli et al. 2025, PLOS ONE 20:e0296545,
doi:10.1371/journal.pone.0296545; Neospectra: Sanderman et al. 2023, doi:10.5281/zenodo.7586622):

* ``ossl_mir_L0_v1.2.csv.gz``: averaged MIR scans, ``scan_mir.600_abs``..``scan_mir.4000_abs``
  (absorbance), keys ``dataset.code_ascii_txt`` + ``id.layer_uuid_txt``; KSSL rows are ``KSSL.SSL``.
* ``ossl_soillab_L0/L1_v1.2.csv.gz``, ``ossl_soilsite_L0_v1.2.csv.gz``: lab and site tables, same keys.
* ``neospectra_{nir,mir,soillab,soilsite}_v1.2.csv.gz``: the paper's Paired set, key
  ``id.sample_local_c`` (the KSSL lab sample id). The NIR table has one row per sample per scanner
  (``id.scan_local_c`` like ``NEO1_030747``), ``scan_nir.1350_ref``..``scan_nir.2550_ref``
  (reflectance fraction); ``neospectra_mir`` holds the same samples' KSSL MIR spectra.

Join between the Neospectra and KSSL tables (used to keep test samples out of the KSSL library):
OSSL builds ``id.layer_uuid_txt = md5(dataset code + KSSL layer id)`` and the Neospectra site table
carries the KSSL layer id as ``id.layer_local_c``; so a Neospectra sample's KSSL row has uuid
``md5("KSSL.SSL" + id.layer_local_c)`` (:func:`kssl_layer_uuid`; 19 of the 500 real KSSL spectra
in ``shared/data/real/kssl_mir_toy`` match Neospectra samples this way).
"""
from __future__ import annotations

import gzip
import hashlib
import re
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from . import cache, paths
from .library import OSSL_COLUMNS, PROPERTIES, SpectralLibrary, World, estimated_organic_carbon
from .preprocess import ABSORBANCE_MAX, MIR_AXIS_CM1, NIR_AXIS_NM, Resample, drop_nonfinite, reflectance_fraction

OSSL_BASE_URL = "https://storage.googleapis.com/soilspec4gg-public/"
#: Public OSSL v1.2 files used by the project, name -> URL.
OSSL_FILES: dict[str, str] = {name: OSSL_BASE_URL + name for name in (
    "ossl_mir_L0_v1.2.csv.gz",
    "ossl_soillab_L0_v1.2.csv.gz",
    "ossl_soillab_L1_v1.2.csv.gz",
    "ossl_soilsite_L0_v1.2.csv.gz",
    "neospectra_nir_v1.2.csv.gz",
    "neospectra_mir_v1.2.csv.gz",
    "neospectra_soillab_v1.2.csv.gz",
    "neospectra_soilsite_v1.2.csv.gz",
)}
#: Download registry (``name url sha256``; ``unknown`` until the first download records it).
REGISTRY = paths.ROOT / "data" / "registry.txt"

DATASET_COL = "dataset.code_ascii_txt"
LAYER_COL = "id.layer_uuid_txt"
SAMPLE_COL = "id.sample_local_c"
SCAN_COL = "id.scan_local_c"
COUNTRY_COL = "location.country_iso.3166_txt"
KSSL_CODE = "KSSL.SSL"
NEOSPECTRA_CODE = "NEOSPECTRA.SSL"
MIR_RE = re.compile(r"^scan_mir\.(\d+(?:\.\d+)?)_abs$")
NIR_RE = re.compile(r"^scan_nir\.(\d+(?:\.\d+)?)_ref$")
#: Reading errors that mean "this file is not a readable CSV" (reported naming the file).
_READ_ERRORS = (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, EOFError, OSError,
                gzip.BadGzipFile, zlib.error)


class OSSLFormatError(ValueError):
    """A file is unreadable or does not have the expected OSSL layout."""


# ------------------------------------------------------------------------------------ registry
def read_registry(path=REGISTRY) -> dict[str, dict]:
    """``{name: {"url": ..., "sha256": ... or "unknown"}}`` from a registry text file."""
    out = {}
    for i, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 3:
            raise OSSLFormatError(f"{path}:{i}: expected 'name url sha256', got {line!r}")
        out[parts[0]] = {"url": parts[1], "sha256": parts[2]}
    return out


def record_hash(name: str, sha256: str, path=REGISTRY) -> None:
    """Replace ``unknown`` by ``sha256`` for ``name`` in the registry (atomic rewrite)."""
    path = Path(path)
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        parts = line.split()
        if parts and parts[0] == name and len(parts) == 3:
            lines[i] = f"{parts[0]} {parts[1]} {sha256}"
            break
    else:
        raise KeyError(f"{name} is not in the registry {path}")
    with cache.atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def download(data_dir, names=None, registry=REGISTRY, progressbar: bool = True) -> dict[str, Path]:
    """Fetch OSSL files into ``data_dir`` with :func:`pooch.retrieve` (atomic, with a progress bar).

    A file whose sha256 is known in ``registry`` is verified (and fetched again if it differs);
    for an ``unknown`` one the sha256 of the first download is written into the registry, so every
    later download is verified against it. Not called by the tests (no network there).

    Parameters
    ----------
    data_dir : path
    names : list of str, optional
        Keys of :data:`OSSL_FILES` (default: all eight files, about 1 GB).
    """
    import pooch

    reg = read_registry(registry)
    names = list(OSSL_FILES) if names is None else list(names)
    unknown = [n for n in names if n not in reg]
    if unknown:
        raise KeyError(f"not in the registry {registry}: {unknown}; known: {sorted(reg)}")
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    out = {}
    for name in names:
        sha = reg[name]["sha256"]
        known = None if sha == "unknown" else f"sha256:{sha}"
        fname = pooch.retrieve(reg[name]["url"], known_hash=known, fname=name, path=str(data_dir),
                               progressbar=progressbar)
        out[name] = Path(fname)
        if known is None:
            record_hash(name, cache.file_sha256(fname), registry)
    return out


def verify_files(data_dir, names=None, registry=REGISTRY) -> dict[str, str]:
    """Check local files against the registry; raise naming the first file whose sha256 differs.

    Returns ``{name: "ok" | "unknown" | "missing"}``.
    """
    reg = read_registry(registry)
    status = {}
    for name in (names or list(OSSL_FILES)):
        path = Path(data_dir) / name
        sha = reg.get(name, {}).get("sha256", "unknown")
        if not path.exists():
            status[name] = "missing"
        elif sha == "unknown":
            status[name] = "unknown"
        elif cache.file_sha256(path) != sha:
            raise OSSLFormatError(f"{path}: sha256 differs from the registry {registry}; "
                                  "the file is damaged or changed upstream; delete it and download again")
        else:
            status[name] = "ok"
    return status


# ------------------------------------------------------------------------------- small helpers
def kssl_layer_uuid(layer_local_id) -> str:
    """OSSL ``id.layer_uuid_txt`` of a KSSL layer: ``md5("KSSL.SSL" + str(layer id))``."""
    return hashlib.md5(f"{KSSL_CODE}{layer_local_id}".encode()).hexdigest()


def _file(data_dir, name) -> Path:
    path = Path(data_dir) / name
    if not path.exists():
        raise FileNotFoundError(f"{path} not found; fetch the OSSL files with "
                                f"soilnb.ossl.download({str(data_dir)!r}) (see data/README.md)")
    return path


def _header(path) -> list[str]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} not found")
    try:
        return list(pd.read_csv(path, nrows=0).columns)
    except _READ_ERRORS as exc:
        raise OSSLFormatError(f"cannot read {path}: {type(exc).__name__}: {exc}") from exc


def _require(columns, required, path) -> None:
    missing = [c for c in required if c not in columns]
    if missing:
        more = f" (+{len(missing) - 5} more)" if len(missing) > 5 else ""
        raise OSSLFormatError(f"{Path(path).name}: missing required column(s) {missing[:5]}{more}")


def _no_duplicates(ids, what, path) -> None:
    ids = pd.Series(np.asarray(ids))
    dup = ids[ids.duplicated()].unique()
    if dup.size:
        raise OSSLFormatError(f"{Path(path).name}: {dup.size} duplicate {what}(s), e.g. {[str(x) for x in dup[:5]]}")


def _spectral_columns(columns, pattern, path=None, kind="", bare_numbers=False):
    """Spectral column names and their positions (as in the file, any order).

    Columns match ``pattern`` (e.g. ``scan_mir.600_abs``); with ``bare_numbers`` a header that is
    just a number (``"1350"``, ``"4001.656"``) counts too. Without ``path`` nothing is raised when
    no column matches (the caller checks).
    """
    names, pos = [], []
    for c in columns:
        m = pattern.match(str(c))
        if m:
            names.append(c)
            pos.append(float(m.group(1)))
        elif bare_numbers:
            try:
                pos.append(float(c))
                names.append(c)
            except (TypeError, ValueError):
                pass
    if not names and path is not None:
        raise OSSLFormatError(f"{Path(path).name}: no {kind} spectral columns (like {pattern.pattern})")
    return names, np.asarray(pos)


def _plan_grid(positions, axis, path, unit):
    """Columns to read and how: ``("exact", index)`` or ``("resample", None)``."""
    lo, hi = float(np.min(axis)), float(np.max(axis))
    have = {round(p, 6): i for i, p in enumerate(positions)}
    idx = [have.get(round(float(a), 6)) for a in axis]
    if all(i is not None for i in idx):
        return "exact", np.asarray(idx)
    if positions.min() > lo or positions.max() < hi:
        raise OSSLFormatError(f"{Path(path).name}: spectral grid {positions.min():g}..{positions.max():g} {unit} "
                              f"does not cover the requested range {lo:g}..{hi:g} {unit}")
    return "resample", None


def _wrap_read(path, fn):
    try:
        return fn()
    except OSSLFormatError:
        raise
    except _READ_ERRORS as exc:
        raise OSSLFormatError(f"cannot read {path}: {type(exc).__name__}: {exc}") from exc
    except ValueError as exc:   # e.g. text where numbers are expected
        raise OSSLFormatError(f"cannot parse {path}: {exc}") from exc


def _reflectance(X, path, percent):
    try:
        return reflectance_fraction(X, percent=percent, name=Path(path).name)
    except ValueError as exc:
        raise OSSLFormatError(str(exc)) from None


# ----------------------------------------------------------------------------------- MIR table
def read_mir_table(path, *, axis=MIR_AXIS_CM1, id_col: str = LAYER_COL, dataset: str | None = None,
                   chunksize: int = 4000, use_cache: bool = True, cache_dir=None, name: str = "",
                   verbose: bool = False) -> SpectralLibrary:
    """Read an OSSL-format MIR table (``scan_mir.<cm-1>_abs`` columns) into a :class:`SpectralLibrary`.

    Memory-frugal: only the id columns and the spectral columns are read (``usecols``), in chunks
    of ``chunksize`` rows parsed as float32, so the full KSSL table (about 85,000 x 1,701) peaks
    near 2 x its float32 size (about 1.2 GB). The result is cached once as an uncompressed ``.npz``
    (:meth:`SpectralLibrary.save`) keyed by the file's path, size and mtime plus the arguments
    (:func:`soilnb.cache.cached`), so the next call loads in seconds.

    Parameters
    ----------
    path : path to a ``.csv`` or ``.csv.gz`` file
    axis : array-like, default :data:`MIR_AXIS_CM1`
        Output grid in cm-1. Columns are picked directly when the file has them, otherwise the
        file's grid is linearly resampled (it must cover ``axis``, else "does not cover").
    id_col : str
        Sample id column (``id.layer_uuid_txt`` in OSSL, ``id.sample_local_c`` in Neospectra).
    dataset : str, optional
        Keep only rows whose ``dataset.code_ascii_txt`` equals it (e.g. ``"KSSL.SSL"``).
    use_cache, cache_dir
        Use the binary cache (in ``cache_dir``, default :data:`soilnb.paths.CACHE`).

    Returns
    -------
    SpectralLibrary
        ``unit="cm-1"``, ``quantity="absorbance"``, properties all NaN, one row per file row
        (rows with NaN/inf are dropped with a warning giving the count; duplicate ids raise).
    """
    path = Path(path)
    axis = np.asarray(axis, dtype=np.float64)
    columns = _header(path)
    _require(columns, [id_col] + ([DATASET_COL] if dataset else []), path)
    spec_names, positions = _spectral_columns(columns, MIR_RE, path, "MIR")
    st = path.stat()
    params = {"file": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "id_col": id_col,
              "dataset": dataset, "axis": [float(axis[0]), float(axis[-1]), int(axis.size),
                                           hashlib.sha256(axis.tobytes()).hexdigest()[:16]]}

    def compute():
        return _mir_compute(path, columns, spec_names, positions, axis, id_col, dataset, chunksize,
                            name or path.name)

    if not use_cache:
        return compute()
    lib = cache.cached("ossl_mir_table", params, compute, save=lambda obj, p: obj.save(p),
                       load=SpectralLibrary.load, ext="npz", root=cache_dir, verbose=verbose)
    lib.name = name or path.name
    return lib


def _read_spectra(path, columns, spec_names, positions, axis, id_col, dataset, chunksize, *, unit, quantity,
                  name, extra=(), percent="auto"):
    """Chunked reader shared by the MIR and NIR tables: ``(ids, X float32, extra columns, n_dropped)``."""
    mode, idx = _plan_grid(positions, axis, path, unit)
    read_names = [spec_names[i] for i in idx] if mode == "exact" else spec_names
    id_cols = [id_col] + ([DATASET_COL] if dataset else []) + [c for c in extra if c in columns]
    usecols = id_cols + read_names
    dtypes = {c: str for c in id_cols} | {c: np.float32 for c in read_names}

    def read():
        ids, blocks, extras = [], [], {c: [] for c in id_cols[1:]}
        for chunk in pd.read_csv(path, usecols=usecols, dtype=dtypes, chunksize=chunksize, engine="c"):
            if dataset:
                chunk = chunk[chunk[DATASET_COL] == dataset]
            ids.append(chunk[id_col].to_numpy(dtype=str))
            for c in extras:
                extras[c].append(chunk[c].to_numpy(dtype=str))
            blocks.append(chunk[read_names].to_numpy(dtype=np.float32))
            del chunk
        X = np.concatenate(blocks) if blocks else np.empty((0, len(read_names)), np.float32)
        del blocks
        return (np.concatenate(ids) if ids else np.empty(0, str), X,
                {c: (np.concatenate(v) if v else np.empty(0, str)) for c, v in extras.items()})

    ids, X, extras = _wrap_read(path, read)
    if X.shape[0] == 0:
        raise OSSLFormatError(f"{path.name}: no rows" + (f" with {DATASET_COL} == {dataset!r}" if dataset else ""))
    if mode == "resample":
        X = _resample_rows(X, positions, axis)
    X, (ids, *ext), n_drop = drop_nonfinite(X, ids, *extras.values(), name=path.name)
    extras = dict(zip(extras, ext))
    if quantity == "reflectance":
        X = _reflectance(X, path, percent).astype(np.float32)
    return ids, X, extras, n_drop


def _resample_rows(X, positions, axis, tol=0.0, chunk=8192):
    order = np.argsort(positions)
    pos = positions[order]
    rs = Resample(pos, axis, tol=tol).fit(X[:1, order])
    out = np.empty((X.shape[0], axis.size), np.float32)
    for s in range(0, X.shape[0], chunk):    # bounded float64 temporaries
        out[s:s + chunk] = rs.transform(X[s:s + chunk][:, order])
    return out


def _library_from(ids, X, axis, unit, quantity, name, instrument=None, path="", check_dups=True):
    if check_dups:
        _no_duplicates(ids, "id", path or name)
    return SpectralLibrary(X=X, axis=axis, unit=unit, quantity=quantity, sample_id=ids, instrument=instrument,
                           name=name)


def _mir_compute(path, columns, spec_names, positions, axis, id_col, dataset, chunksize, name):
    ids, X, _, n_drop = _read_spectra(path, columns, spec_names, positions, axis, id_col, dataset, chunksize,
                                      unit="cm-1", quantity="absorbance", name=name)
    lib = _library_from(ids, X, axis, "cm-1", "absorbance", name, path=path)
    lib.meta["n_dropped_nonfinite"] = n_drop
    return lib


# ------------------------------------------------------------------------------------ lab table
def read_soillab(path, site=None, id_col: str | None = None) -> pd.DataFrame:
    """Read an OSSL soillab table into the paper's nine properties.

    Parameters
    ----------
    path : path
        ``ossl_soillab_L0/L1_v1.2.csv.gz`` or ``neospectra_soillab_v1.2.csv`` (an unnamed index
        column is ignored).
    site : path or DataFrame, optional
        The matching soilsite table, joined on the id to learn which rows were measured by KSSL
        (``dataset.code_ascii_txt == "KSSL.SSL"``, or for Neospectra the US samples,
        ``location.country_iso.3166_txt == "USA"``, which come from the KSSL archive).
    id_col : str, optional
        Default ``id.layer_uuid_txt`` if present, else ``id.sample_local_c``.

    Returns
    -------
    DataFrame indexed by the id (str), columns :data:`soilnb.library.PROPERTIES` plus ``kssl``
    (bool). IC is CaCO3 (``caco3_usda.a54_w.pct``); for KSSL rows an empty or negative CaCO3 is
    0 (KSSL measures carbonate only where effervescence shows it; OSSL maps negative KSSL values to
    empty). EOC = TC - 0.12 IC (:func:`soilnb.library.estimated_organic_carbon`, floored at 0).
    """
    path = Path(path)
    columns = _header(path)
    if id_col is None:
        id_col = LAYER_COL if LAYER_COL in columns else SAMPLE_COL
    need = [id_col] + list(OSSL_COLUMNS.values())
    _require(columns, need, path)
    extra = [c for c in (DATASET_COL, COUNTRY_COL) if c in columns]
    df = _wrap_read(path, lambda: pd.read_csv(path, usecols=need + extra, dtype={id_col: str}))
    _no_duplicates(df[id_col], id_col, path)
    non_numeric = [c for c in OSSL_COLUMNS.values() if not pd.api.types.is_numeric_dtype(df[c])]
    if non_numeric:
        raise OSSLFormatError(f"{path.name}: non-numeric values in {non_numeric}")
    df = df.set_index(id_col)
    df.index = df.index.astype(str)
    if site is not None:
        s = site if isinstance(site, pd.DataFrame) else _read_site(site, id_col)
        s = s.drop_duplicates(id_col).set_index(id_col) if id_col in s.columns else s
        s.index = s.index.astype(str)
        for c in (DATASET_COL, COUNTRY_COL):
            if c in s.columns and c not in df.columns:
                df[c] = s[c].reindex(df.index).to_numpy()
    dataset = df[DATASET_COL] if DATASET_COL in df else pd.Series("", index=df.index)
    country = df[COUNTRY_COL] if COUNTRY_COL in df else pd.Series("", index=df.index)
    kssl = (dataset == KSSL_CODE) | ((dataset == NEOSPECTRA_CODE) & (country == "USA"))
    if DATASET_COL not in df and COUNTRY_COL not in df:
        warnings.warn(f"{path.name}: no dataset code or country (pass site=...); empty CaCO3 stays missing",
                      UserWarning, stacklevel=2)
    out = pd.DataFrame({p: df[c].astype(float) for p, c in OSSL_COLUMNS.items()}, index=df.index)
    ic = out["IC"].to_numpy()
    fill = kssl.to_numpy() & (np.isnan(ic) | (ic < 0))
    out.loc[fill, "IC"] = 0.0
    out["EOC"] = estimated_organic_carbon(out["TC"], out["IC"])
    out.loc[out[["TC", "IC"]].isna().any(axis=1), "EOC"] = np.nan
    out = out[list(PROPERTIES)]
    out["kssl"] = kssl.to_numpy()
    out.index.name = id_col
    return out


def _read_site(path, id_col):
    path = Path(path)
    columns = _header(path)
    _require(columns, [id_col], path)
    use = [c for c in (id_col, DATASET_COL, COUNTRY_COL, "id.layer_local_c") if c in columns]
    return _wrap_read(path, lambda: pd.read_csv(path, usecols=use, dtype={c: str for c in use
                                                                          if c != COUNTRY_COL}))


def _attach(lib: SpectralLibrary, lab: pd.DataFrame) -> SpectralLibrary:
    lib.properties = lab[list(PROPERTIES)].reindex(lib.sample_id).reset_index(drop=True).astype(float)
    return lib


# ------------------------------------------------------------------------------------ KSSL
def load_kssl(data_dir, soillab: str = "L0", use_cache: bool = True, cache_dir=None,
              verbose: bool = True) -> SpectralLibrary:
    """The KSSL MIR library: MIR L0 + soillab (L0 or L1) + soilsite, ``KSSL.SSL`` rows only.

    Rows are joined on ``dataset.code_ascii_txt`` + ``id.layer_uuid_txt``; every KSSL spectrum is
    kept (properties NaN where the lab table has none, as for the paper's 83,971 pretraining
    samples; :meth:`SpectralLibrary.complete` gives the regression rows). OSSL holds averaged
    scans, so ``scan_id`` is 0 everywhere (the paper's 334,665 repeats come from KSSL directly).
    """
    if soillab not in ("L0", "L1"):
        raise ValueError(f"soillab must be 'L0' or 'L1', got {soillab!r}")
    t0 = time.perf_counter()
    lib = read_mir_table(_file(data_dir, "ossl_mir_L0_v1.2.csv.gz"), dataset=KSSL_CODE, use_cache=use_cache,
                         cache_dir=cache_dir, name="kssl", verbose=verbose)
    lab_path = _file(data_dir, f"ossl_soillab_{soillab}_v1.2.csv.gz")
    site_path = _file(data_dir, "ossl_soilsite_L0_v1.2.csv.gz")
    columns = _header(lab_path)
    _require(columns, [DATASET_COL, LAYER_COL], lab_path)
    lab = read_soillab(lab_path, id_col=LAYER_COL)
    lab = lab[lab["kssl"]]
    site = _read_site(site_path, LAYER_COL)
    _require(site.columns, [DATASET_COL], site_path)
    site_ids = set(site.loc[site[DATASET_COL] == KSSL_CODE, LAYER_COL])
    lab = lab[lab.index.isin(site_ids)]
    lib = _attach(lib, lab)
    if verbose:
        print(f"[ossl] KSSL: {lib.n_scans} MIR spectra, {int(lib.properties.notna().all(axis=1).sum())} "
              f"with all nine properties ({time.perf_counter() - t0:.1f} s)")
    return lib


# ------------------------------------------------------------------------------ Neospectra
def read_nir_table(path, *, axis=NIR_AXIS_NM, id_col: str = SAMPLE_COL, average: bool = True,
                   percent="auto", chunksize: int = 4000, name: str = "") -> SpectralLibrary:
    """Read an OSSL Neospectra NIR table (``scan_nir.<nm>_ref``, reflectance fraction).

    With ``average=True`` the rows (one per sample per scanner) are averaged per ``id_col``
    (paper Sect. 2.1: "averaged across all available repeats"); ``scan_id`` then counts nothing
    and ``instrument`` says how many scans went into each mean.
    """
    path = Path(path)
    axis = np.asarray(axis, dtype=np.float64)
    columns = _header(path)
    _require(columns, [id_col], path)
    spec_names, positions = _spectral_columns(columns, NIR_RE, path, "NIR")
    ids, X, extras, n_drop = _read_spectra(path, columns, spec_names, positions, axis, id_col, None, chunksize,
                                           unit="nm", quantity="reflectance", name=name or path.name,
                                           extra=(SCAN_COL,), percent=percent)
    if not average:
        return SpectralLibrary(X=X, axis=axis, unit="nm", quantity="reflectance", sample_id=ids,
                               name=name or path.name)
    lib = SpectralLibrary(X=X, axis=axis, unit="nm", quantity="reflectance", sample_id=ids, name=name or path.name)
    counts = pd.Series(ids).value_counts()
    avg = lib.average_scans()
    avg.instrument = np.array([f"NeoSpectra mean of {counts[s]} scans" for s in avg.sample_id])
    avg.meta["n_dropped_nonfinite"] = n_drop
    return avg


def load_neospectra(data_dir, use_cache: bool = True, cache_dir=None,
                    verbose: bool = True) -> tuple[SpectralLibrary, SpectralLibrary]:
    """The Paired set: NIR (averaged over scanners) and KSSL MIR of the same samples, row-aligned.

    Only samples with both spectra are kept (the paper counts 1,976), in the order of the NIR
    table; properties from ``neospectra_soillab`` (+ ``neospectra_soilsite`` for the KSSL rows, see
    :func:`read_soillab`). ``meta["kssl_uuid"]`` of both libraries holds each sample's KSSL
    ``id.layer_uuid_txt`` (:func:`kssl_layer_uuid`), for leakage control (not saved by ``save``).
    """
    nir = read_nir_table(_file(data_dir, "neospectra_nir_v1.2.csv.gz"), name="paired_nir")
    mir = read_mir_table(_file(data_dir, "neospectra_mir_v1.2.csv.gz"), id_col=SAMPLE_COL, use_cache=use_cache,
                         cache_dir=cache_dir, name="paired_mir", verbose=verbose)
    site_path = _file(data_dir, "neospectra_soilsite_v1.2.csv.gz")
    site = _read_site(site_path, SAMPLE_COL)
    lab = read_soillab(_file(data_dir, "neospectra_soillab_v1.2.csv.gz"), site=site, id_col=SAMPLE_COL)
    both = [s for s in nir.sample_id if s in set(mir.sample_id)]
    if not both:
        raise OSSLFormatError(f"{data_dir}: no sample has both NIR and MIR spectra")
    nir, mir = nir.align_to(both), mir.align_to(both)
    nir.name, mir.name = "paired_nir", "paired_mir"
    nir, mir = _attach(nir, lab), _attach(mir, lab)
    uuid_of = {}
    if "id.layer_local_c" in site.columns:
        uuid_of = {str(s): kssl_layer_uuid(l) for s, l in zip(site[SAMPLE_COL], site["id.layer_local_c"])
                   if isinstance(l, str) and l}
    for lib in (nir, mir):
        lib.meta["kssl_uuid"] = np.array([uuid_of.get(s, "") for s in lib.sample_id])
    if verbose:
        print(f"[ossl] Paired: {nir.n_scans} samples with NIR and MIR, "
              f"{int(nir.properties.notna().all(axis=1).sum())} with all nine properties")
    return nir, mir


# --------------------------------------------------------------------------- independent test set
#: Canonical names accepted in a test folder's ``lab.csv`` besides the OSSL column names.
TEST_ID_COLUMNS = ("sample_id", SAMPLE_COL)


def _read_wide(path, pattern, axis, unit, quantity, percent="auto", tol=0.0):
    """A small wide CSV (id column + spectral columns, any grid covering ``axis``) -> (ids, X)."""
    path = Path(path)
    columns = _header(path)
    id_col = next((c for c in TEST_ID_COLUMNS if c in columns), None)
    if id_col is None:
        raise OSSLFormatError(f"{path.name}: missing required id column (one of {list(TEST_ID_COLUMNS)})")
    names, pos = _spectral_columns([c for c in columns if c != id_col], pattern, bare_numbers=True)
    if len(names) < 2:
        raise OSSLFormatError(f"{path.name}: no spectral columns (named like {pattern.pattern} or by their "
                              f"position in {unit})")
    lo, hi = float(axis.min()), float(axis.max())
    if pos.min() > lo + tol or pos.max() < hi - tol:
        raise OSSLFormatError(f"{path.name}: spectral grid {pos.min():g}..{pos.max():g} {unit} does not cover "
                              f"the requested range {lo:g}..{hi:g} {unit}")
    df = _wrap_read(path, lambda: pd.read_csv(path, usecols=[id_col] + names, dtype={id_col: str}))
    non_numeric = [c for c in names if not pd.api.types.is_numeric_dtype(df[c])]
    if non_numeric:
        raise OSSLFormatError(f"{path.name}: non-numeric values in spectral column(s) {non_numeric[:5]}")
    X = df[names].to_numpy(np.float64)
    ids = df[id_col].to_numpy(dtype=str)
    X, (ids,), _ = drop_nonfinite(X, ids, name=path.name)
    if quantity == "reflectance":
        X = _reflectance(X, path, percent)
    elif (X > ABSORBANCE_MAX).mean() > 0.5:
        raise OSSLFormatError(f"{path.name}: values up to {X.max():.4g} look like reflectance in percent, "
                              "not absorbance")
    order = np.argsort(pos)
    X = Resample(pos[order], axis, tol=tol).fit_transform(X[:, order]).astype(np.float32)
    return ids, X


def _read_test_lab(path) -> pd.DataFrame:
    path = Path(path)
    columns = _header(path)
    id_col = next((c for c in TEST_ID_COLUMNS if c in columns), None)
    if id_col is None:
        raise OSSLFormatError(f"{path.name}: missing required id column (one of {list(TEST_ID_COLUMNS)})")
    names = {}
    missing = []
    for p, ossl in OSSL_COLUMNS.items():
        if p in columns:
            names[p] = p
        elif ossl in columns:
            names[p] = ossl
        else:
            missing.append(f"{p} (or {ossl})")
    if missing:
        raise OSSLFormatError(f"{path.name}: missing required column(s) {missing}")
    use = [id_col] + list(names.values()) + (["EOC"] if "EOC" in columns else [])
    df = _wrap_read(path, lambda: pd.read_csv(path, usecols=use, dtype={id_col: str}))
    _no_duplicates(df[id_col], "sample id", path)
    out = pd.DataFrame(index=df[id_col].astype(str))
    for p, c in names.items():
        if not pd.api.types.is_numeric_dtype(df[c]):
            raise OSSLFormatError(f"{path.name}: non-numeric values in column {c}")
        out[p] = df[c].to_numpy(float)
    out["EOC"] = (df["EOC"].to_numpy(float) if "EOC" in df
                  else np.where(out[["TC", "IC"]].isna().any(axis=1), np.nan,
                                estimated_organic_carbon(out["TC"], out["IC"])))
    return out[list(PROPERTIES)]


def load_test_set(test_dir, percent="auto") -> tuple[SpectralLibrary, SpectralLibrary]:
    """The pluggable independent test set (the paper's NAPT spectra are not public).

    Folder format (CSV, ``.csv`` or ``.csv.gz``; documented in ``data/README.md``):

    * ``nir.csv``: ``sample_id`` (or ``id.sample_local_c``) + NIR reflectance columns named
      ``scan_nir.<nm>_ref`` or just ``<nm>``; any grid covering 1350-2550 nm (resampled linearly
      onto :data:`NIR_AXIS_NM`); fraction (percent is divided by 100 with a warning); several rows
      per sample (scan repeats) are averaged.
    * ``mir.csv``: same id column + MIR absorbance columns ``scan_mir.<cm-1>_abs`` or ``<cm-1>``,
      any grid covering 600-4000 cm-1 (resampled onto :data:`MIR_AXIS_CM1`); repeats averaged.
    * ``lab.csv``: same id column + the properties under our names (``TC TN IC pH CEC clay silt
      sand``, optional ``EOC``) or the OSSL column names; one row per sample.

    Every sample must appear in all three files (else an error names a few); rows with NaN/inf
    spectra are dropped with a warning. Returns ``(test_nir, test_mir)`` aligned row by row.
    """
    test_dir = Path(test_dir)
    if not test_dir.is_dir():
        raise FileNotFoundError(f"test set folder {test_dir} not found")

    def find(stem):
        for ext in (".csv", ".csv.gz"):
            if (test_dir / f"{stem}{ext}").exists():
                return test_dir / f"{stem}{ext}"
        raise FileNotFoundError(f"{test_dir}: missing {stem}.csv (needs nir.csv, mir.csv and lab.csv)")

    nir_path, mir_path, lab_path = find("nir"), find("mir"), find("lab")
    nid, Xn = _read_wide(nir_path, NIR_RE, NIR_AXIS_NM, "nm", "reflectance", percent=percent)
    mid, Xm = _read_wide(mir_path, MIR_RE, MIR_AXIS_CM1, "cm-1", "absorbance")
    lab = _read_test_lab(lab_path)
    nir = SpectralLibrary(X=Xn, axis=NIR_AXIS_NM, unit="nm", quantity="reflectance", sample_id=nid,
                          name="test_nir").average_scans()
    mir = SpectralLibrary(X=Xm, axis=MIR_AXIS_CM1, unit="cm-1", quantity="absorbance", sample_id=mid,
                          name="test_mir").average_scans()
    sets = {"nir.csv": set(nir.sample_id), "mir.csv": set(mir.sample_id), "lab.csv": set(lab.index)}
    union = set().union(*sets.values())
    for fname, have in sets.items():
        lack = sorted(str(x) for x in union - have)
        if lack:
            raise OSSLFormatError(f"{test_dir}: {len(lack)} sample(s) missing from {fname}, e.g. {lack[:5]}")
    ids = list(nir.sample_id)
    nir, mir = _attach(nir.align_to(ids), lab), _attach(mir.align_to(ids), lab)
    nir.name, mir.name = "test_nir", "test_mir"
    return nir, mir


# ----------------------------------------------------------------------------------- the world
def load_world(data_dir, test_dir: str = "", seed: int = 0, holdout: float = 0.1, soillab: str = "L0",
               use_cache: bool = True, cache_dir=None, verbose: bool = True) -> World:
    """The paper's three datasets from the real OSSL files, as a :class:`World` (``source="ossl"``).

    * ``kssl``: :func:`load_kssl`, minus every KSSL layer of a test sample (no leakage; Neospectra
      samples map to KSSL rows by :func:`kssl_layer_uuid`).
    * ``paired_nir`` / ``paired_mir``: :func:`load_neospectra`, minus the test samples.
    * ``test_nir`` / ``test_mir``: :func:`load_test_set` of ``test_dir``; when ``test_dir`` is
      empty, a stand-in for NAPT: a seeded random ``holdout`` fraction of the Paired samples that
      have all nine properties (``np.random.default_rng(seed)``).
    """
    if not 0 < holdout < 1:
        raise ValueError(f"holdout must be in (0, 1), got {holdout}")
    kssl = load_kssl(data_dir, soillab=soillab, use_cache=use_cache, cache_dir=cache_dir, verbose=verbose)
    nir, mir = load_neospectra(data_dir, use_cache=use_cache, cache_dir=cache_dir, verbose=verbose)
    uuid = nir.meta.get("kssl_uuid", np.full(nir.n_scans, ""))
    if test_dir:
        test_nir, test_mir = load_test_set(test_dir)
        is_test = np.isin(nir.sample_id, test_nir.sample_id)   # a test sample also in Paired leaves Paired
    else:
        pool = np.flatnonzero(nir.properties.notna().all(axis=1).to_numpy())
        n_test = max(1, int(round(holdout * pool.size)))
        rng = np.random.default_rng(seed)
        test_idx = np.sort(rng.choice(pool, size=n_test, replace=False))
        is_test = np.zeros(nir.n_scans, bool)
        is_test[test_idx] = True
        test_nir, test_mir = nir.subset(is_test), mir.subset(is_test)
        test_nir.name, test_mir.name = "test_nir", "test_mir"
    test_uuid = set(uuid[is_test]) - {""}
    leak = np.isin(kssl.sample_id, list(test_uuid))
    if leak.any():
        kssl = kssl.subset(~leak)
    paired_nir, paired_mir = nir.subset(~is_test), mir.subset(~is_test)
    paired_nir.name, paired_mir.name, kssl.name = "paired_nir", "paired_mir", "kssl"
    if verbose:
        print(f"[ossl] test: {test_nir.n_scans} samples ({'from ' + str(test_dir) if test_dir else 'held out'}); "
              f"removed {int(leak.sum())} KSSL rows of test samples")
    world = World(kssl=kssl, paired_nir=paired_nir, paired_mir=paired_mir, test_nir=test_nir, test_mir=test_mir,
                  source="ossl")
    return world


# ------------------------------------------------------------------------ official sample inputs
def read_ossl_sample_neospectra(path) -> SpectralLibrary:
    """``sample_neospectra_data.csv`` of soilspectroscopy/ossl-models: 257 native NeoSpectra channels.

    Columns ``sample_id`` + wavelengths 2549.99998..1350.0003 nm (decreasing), reflectance in
    percent; returned as fractions resampled linearly onto :data:`NIR_AXIS_NM` (the native end
    points fall within 0.001 nm of 1350/2550, hence ``tol=0.01``).
    """
    ids, X = _read_wide(path, NIR_RE, NIR_AXIS_NM, "nm", "reflectance", percent=True, tol=0.01)
    return _library_from(ids, X, NIR_AXIS_NM, "nm", "reflectance", Path(path).name, path=path)


def read_ossl_sample_mir(path) -> SpectralLibrary:
    """``sample_mir_data.csv`` of soilspectroscopy/ossl-models: 1,765 native channels 4001.7..599.8 cm-1
    (absorbance), resampled linearly onto :data:`MIR_AXIS_CM1`."""
    ids, X = _read_wide(path, MIR_RE, MIR_AXIS_CM1, "cm-1", "absorbance")
    return _library_from(ids, X, MIR_AXIS_CM1, "cm-1", "absorbance", Path(path).name, path=path)
