"""The spectral-library container shared by the simulated world and the real OSSL loaders.

A :class:`SpectralLibrary` holds one row per *scan*: the spectra, their axis (wavenumber in
cm-1 or wavelength in nm), the sample each scan belongs to, the repeat number, the instrument,
and and the soil properties measured on it: any set, the paper's nine under their canonical names
(:data:`soilnb.core.vocab.PROPERTIES`, first and in the paper's order) and any others (OC, SOM, K, ...) after them.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from soilnb.core.cache import atomic_path
from soilnb.core.vocab import CARBONATE_C_FRACTION, PROPERTIES
from soilnb.spectra.coverage import TOLERANCE, in_unit, to_grid

UNITS_AXIS = ("cm-1", "nm")
QUANTITIES = ("absorbance", "reflectance")


def estimated_organic_carbon(tc, ic):
    """EOC = TC - 0.12 IC (paper Sect. 2.1), floored at 0 as in Appendix A (min 0.00)."""
    return np.maximum(np.asarray(tc, float) - CARBONATE_C_FRACTION * np.asarray(ic, float), 0.0)


@dataclass
class SpectralLibrary:
    """Spectra of one instrument range, one row per scan.

    Parameters
    ----------
    X : ndarray of shape (n_scans, n_channels)
        Spectra (stored as float32).
    axis : ndarray of shape (n_channels,)
        Channel positions, increasing, in ``unit``.
    unit : {"cm-1", "nm"}
    quantity : {"absorbance", "reflectance"}
        ``absorbance`` means log10(1/R); ``reflectance`` is a fraction in [0, 1].
    sample_id : ndarray of shape (n_scans,)
        Physical soil sample each scan belongs to (splits are grouped by it).
    scan_id : ndarray of shape (n_scans,), optional
        Repeat number within the sample (0 for averaged spectra).
    instrument : ndarray of shape (n_scans,), optional
    properties : DataFrame, optional
        One row per scan, one numeric column per property (NaN where not measured): the paper's nine
        (:data:`PROPERTIES`) in the paper's order first, any others after them in their given order.
        None: no properties (a library of spectra only).
    name : str
    """

    X: np.ndarray
    axis: np.ndarray
    unit: str
    quantity: str
    sample_id: np.ndarray
    scan_id: np.ndarray | None = None
    instrument: np.ndarray | None = None
    properties: pd.DataFrame | None = None
    name: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.X = np.ascontiguousarray(self.X, dtype=np.float32)
        self.axis = np.asarray(self.axis, dtype=np.float64)
        n = self.X.shape[0]
        if self.X.ndim != 2:
            raise ValueError(f"{self.name or 'library'}: X must be 2-D (n_scans, n_channels), got shape {self.X.shape}")
        if self.axis.shape != (self.X.shape[1],):
            raise ValueError(
                f"{self.name or 'library'}: axis has {self.axis.size} values but X has {self.X.shape[1]} channels")
        if self.axis.size > 1 and not np.all(np.diff(self.axis) > 0):
            raise ValueError(f"{self.name or 'library'}: axis must be strictly increasing")
        if self.unit not in UNITS_AXIS:
            raise ValueError(f"unit must be one of {UNITS_AXIS}, got {self.unit!r}")
        if self.quantity not in QUANTITIES:
            raise ValueError(f"quantity must be one of {QUANTITIES}, got {self.quantity!r}")
        self.sample_id = np.asarray(self.sample_id).astype(str)
        if self.sample_id.shape != (n,):
            raise ValueError(f"sample_id must have one entry per scan ({n}), got {self.sample_id.shape}")
        self.scan_id = np.zeros(n, np.int32) if self.scan_id is None else np.asarray(self.scan_id, np.int32)
        self.instrument = (np.full(n, "unknown") if self.instrument is None
                           else np.asarray(self.instrument).astype(str))
        if self.properties is None:
            self.properties = pd.DataFrame(index=range(n))
        else:
            if len(self.properties) != n:
                raise ValueError(f"properties has {len(self.properties)} rows, X has {n}")
            self.properties = property_frame(self.properties, self.name or "library")
        # a float64 sum of float32 values is finite exactly when every value is (it cannot overflow), and needs no
        # X-sized temporary: the check of a full KSSL table costs no memory
        with np.errstate(invalid="ignore"):          # inf + -inf is NaN: still caught
            finite = np.isfinite(np.sum(self.X, dtype=np.float64))
        if not finite:
            bad = int((~np.isfinite(self.X)).any(axis=1).sum())
            raise ValueError(f"{self.name or 'library'}: {bad} spectra contain NaN or inf; "
                             "drop them (see soilnb.spectra.grid.drop_nonfinite) before building a library")

    # ------------------------------------------------------------------ basic views
    @property
    def n_scans(self) -> int:
        return self.X.shape[0]

    @property
    def n_samples(self) -> int:
        return np.unique(self.sample_id).size

    @property
    def property_names(self) -> list[str]:
        """The properties this library carries (columns of ``properties``), canonical ones first."""
        return list(self.properties.columns)

    @property
    def Y(self) -> np.ndarray:
        """Properties as an array of shape (n_scans, n_properties) in :attr:`property_names` order."""
        return self.properties.to_numpy(dtype=np.float64)

    def subset(self, index) -> "SpectralLibrary":
        """Rows selected by a boolean mask or integer index."""
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        return replace(self, X=self.X[index], sample_id=self.sample_id[index], scan_id=self.scan_id[index],
                       instrument=self.instrument[index],
                       properties=self.properties.iloc[index].reset_index(drop=True), meta=self._meta_rows(index))

    def _meta_rows(self, index) -> dict:
        """``meta`` with its row-aligned arrays (one entry per scan) reduced to ``index``."""
        return {k: (v[index] if isinstance(v, np.ndarray) and v.shape[:1] == (self.n_scans,) else v)
                for k, v in self.meta.items()}

    def with_spectra(self, X, axis=None, unit=None, quantity=None) -> "SpectralLibrary":
        """A copy with new spectra (e.g. after preprocessing), same rows."""
        return replace(self, X=X, axis=self.axis if axis is None else axis, unit=unit or self.unit,
                       quantity=quantity or self.quantity, meta=dict(self.meta))

    def on_grid(self, axis, unit: str | None = None, tolerance: float = TOLERANCE) -> "SpectralLibrary":
        """This library resampled onto ``axis`` (in ``unit``, default this library's), never extrapolated:
        a grid that does not reach both ends of ``axis`` within ``tolerance`` is a ValueError naming the gap
        (see :mod:`soilnb.spectra.coverage`)."""
        unit = unit or self.unit
        own = in_unit(self.axis, self.unit, unit)
        X = to_grid(self.X, own, axis, name=self.name or "library", tolerance=tolerance)
        return self.with_spectra(X, axis=np.asarray(axis, dtype=np.float64), unit=unit)

    def complete(self, properties=None) -> "SpectralLibrary":
        """Rows where every one of ``properties`` (default: all this library carries) is measured (paper Sect. 2.5)."""
        properties = self.property_names if properties is None else list(properties)
        missing = [p for p in properties if p not in self.properties.columns]
        if missing:
            raise ValueError(f"{self.name or 'library'}: no property column(s) {missing} (has {self.property_names})")
        return self.subset(self.properties[properties].notna().all(axis=1).to_numpy())

    def average_scans(self) -> "SpectralLibrary":
        """One row per sample: the mean of its scan repeats (used for regression, paper Sect. 2.1).

        Samples keep their order of first appearance; properties are taken from the first scan.
        """
        codes, first = _group_codes(self.sample_id)
        counts = np.bincount(codes).astype(np.float64)
        X = (group_sums(self.X, codes, counts.size) / counts[:, None]).astype(np.float32)
        return replace(self, X=X, sample_id=self.sample_id[first], scan_id=np.zeros(first.size, np.int32),
                       instrument=self.instrument[first],
                       properties=self.properties.iloc[first].reset_index(drop=True), meta=self._meta_rows(first))

    def align_to(self, sample_ids) -> "SpectralLibrary":
        """Rows reordered to follow ``sample_ids`` (one row per sample required)."""
        sample_ids = np.asarray(sample_ids).astype(str)
        if np.unique(self.sample_id).size != self.n_scans:
            raise ValueError("align_to needs one row per sample; call average_scans() first")
        pos = pd.Index(self.sample_id).get_indexer(sample_ids)
        if (pos < 0).any():
            raise ValueError(f"{int((pos < 0).sum())} requested sample ids are not in {self.name or 'library'}")
        return self.subset(pos)

    # ------------------------------------------------------------------ persistence
    def save(self, path) -> Path:
        """Write to a compressed-free ``.npz`` (fast to reload; written atomically)."""

        path = Path(path)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, X=self.X, axis=self.axis, unit=self.unit, quantity=self.quantity,
                         sample_id=self.sample_id, scan_id=self.scan_id, instrument=self.instrument,
                         properties=self.properties.to_numpy(np.float64),
                         property_names=np.asarray(self.property_names, dtype=str), name=self.name)
        return path

    @classmethod
    def load(cls, path) -> "SpectralLibrary":
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                names = [str(c) for c in z["property_names"]] if "property_names" in z else list(PROPERTIES)
                return cls(X=z["X"], axis=z["axis"], unit=str(z["unit"]), quantity=str(z["quantity"]),
                           sample_id=z["sample_id"], scan_id=z["scan_id"], instrument=z["instrument"],
                           properties=pd.DataFrame(z["properties"], columns=names), name=str(z["name"]))
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
            raise ValueError(f"cannot read spectral library {path}: {exc}") from exc

    def __repr__(self) -> str:
        return (f"SpectralLibrary({self.name!r}: {self.n_scans} scans of {self.n_samples} samples x "
                f"{self.X.shape[1]} channels, {self.axis[0]:g}-{self.axis[-1]:g} {self.unit}, {self.quantity})")


def property_frame(df: pd.DataFrame, name: str = "library") -> pd.DataFrame:
    """``df`` as the properties of a library: float columns named as strings, the paper's nine first (in the
    paper's order), any others after them; a non-numeric value is a ValueError naming column and row."""
    df = df.reset_index(drop=True)
    cols = [str(c) for c in df.columns]
    if len(set(cols)) != len(cols):
        raise ValueError(f"{name}: property columns repeat: {sorted({c for c in cols if cols.count(c) > 1})}")
    df.columns = cols
    out = {}
    for c in [p for p in PROPERTIES if p in cols] + [c for c in cols if c not in PROPERTIES]:
        v = pd.to_numeric(df[c], errors="coerce")
        bad = v.isna() & df[c].notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(f"{name}: property {c!r} has {int(bad.sum())} non-numeric value(s), e.g. row {i}: "
                             f"{df[c].iloc[i]!r}")
        out[c] = v.astype(float)
    return pd.DataFrame(out, index=df.index)


def group_sums(X, codes, n_groups: int) -> np.ndarray:
    """Per group, the float64 sum of the rows of ``X`` whose ``codes`` name it (every group 0..n_groups-1 must
    have a row): the numbers of ``np.add.at(zeros, codes, X)``, each group's rows added one after another in
    their order, computed rank by rank (every group's first row, then every group's second, ...) with one
    vectorised addition per rank instead of ``np.add.at``'s row-by-row loop, some ten times faster for scan
    repeats (a handful of ranks). ``tests/test_library.py`` compares the two bit for bit, on float64 rows of
    widely different magnitude where the order of the additions shows."""
    X, codes = np.asarray(X), np.asarray(codes)
    counts = np.bincount(codes, minlength=n_groups) if codes.size else np.zeros(n_groups, np.intp)
    if codes.size != len(X) or counts.size != n_groups or (counts == 0).any():
        raise ValueError(f"group_sums: codes must give each of the {n_groups} groups at least one of the "
                         f"{len(X)} rows, got {int((counts > 0).sum())} groups with rows among {counts.size}")
    order = np.argsort(codes, kind="stable")                 # rows of a group together, in their order
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(codes.size) - np.repeat(first, counts)  # position of each sorted row within its group
    sums = np.zeros((n_groups,) + X.shape[1:], np.float64)
    for r in range(int(counts.max()) if codes.size else 0):
        rows = order[rank == r]                              # at most one row per group: no repeated index
        sums[codes[rows]] += X[rows]
    return sums


def _group_codes(ids):
    """Integer code per row (in order of first appearance) and the first row of each group."""
    uniq, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    order = np.argsort(first)                 # groups in order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[inverse], first[order]


#: The five libraries of a world, in the paper's order.
WORLD_LIBRARIES = ("kssl", "paired_nir", "paired_mir", "test_nir", "test_mir")


@dataclass
class World:
    """The three datasets of the paper behind one interface (simulated or real), any of them optional.

    kssl : MIR library with scan repeats (pretraining + MIR regressions)
    paired_nir, paired_mir : the Paired set, one averaged row per sample, aligned row by row
    test_nir, test_mir : the independent (NAPT-like) test set, aligned row by row

    A world may hold MIR only (``kssl``, optionally ``test_mir``), NIR only (``paired_nir``, optionally
    ``test_nir``) or both; the strategies that need a missing library are skipped with a message
    (:func:`soilnb.stages.strategies.available_strategies`).
    """

    kssl: SpectralLibrary | None = None
    paired_nir: SpectralLibrary | None = None
    paired_mir: SpectralLibrary | None = None
    test_nir: SpectralLibrary | None = None
    test_mir: SpectralLibrary | None = None
    source: str = "simulated"

    def __post_init__(self):
        if not self.items():
            raise ValueError("a world needs at least one library (kssl, paired_nir, paired_mir, test_nir, test_mir)")
        if self.kssl is None and self.paired_nir is None:
            raise ValueError("a world needs a training library: kssl (MIR) or paired_nir (NIR)")
        for a, b in (("paired_nir", "paired_mir"), ("test_nir", "test_mir")):
            la, lb = getattr(self, a), getattr(self, b)
            if la is not None and lb is not None and not np.array_equal(la.sample_id, lb.sample_id):
                raise ValueError(f"{a} and {b} must hold the same samples in the same order")
        for k, lib in self.items():
            want = "nm" if k.endswith("nir") else "cm-1"
            if lib.unit != want:
                raise ValueError(f"{k} must be on a {'wavelength (nm)' if want == 'nm' else 'wavenumber (cm-1)'} "
                                 f"axis, got {lib.unit} ({lib.name or 'library'})")

    def items(self):
        """``(name, library)`` of the libraries present, in :data:`WORLD_LIBRARIES` order."""
        return [(k, getattr(self, k)) for k in WORLD_LIBRARIES if getattr(self, k) is not None]

    @property
    def ranges(self) -> tuple[str, ...]:
        """The spectral ranges this world holds: ``("MIR", "NIR")``, ``("MIR",)`` or ``("NIR",)``."""
        names = {k for k, _ in self.items()}
        return tuple(r for r in ("MIR", "NIR") if any(n.endswith(r.lower()) or (r == "MIR" and n == "kssl")
                                                      for n in names))

    def summary(self) -> pd.DataFrame:
        """One row per library: scans, samples, channels, axis range and unit, quantity, instruments, properties."""
        return pd.DataFrame([{"library": k, "scans": lib.X.shape[0], "samples": len(np.unique(lib.sample_id)),
                              "channels": lib.X.shape[1], "axis": f"{lib.axis.min():g}-{lib.axis.max():g} {lib.unit}",
                              "quantity": lib.quantity, "instruments": ", ".join(sorted(set(lib.instrument))),
                              "properties": ", ".join(c for c in lib.property_names if lib.properties[c].notna().any())}
                             for k, lib in self.items()])

    def save(self, folder) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for k in WORLD_LIBRARIES:
            (folder / f"{k}.npz").unlink(missing_ok=True)
        for k, lib in self.items():
            lib.save(folder / f"{k}.npz")
        (folder / "source.txt").write_text(self.source)
        return folder

    @classmethod
    def load(cls, folder) -> "World":
        folder = Path(folder)
        libs = {k: SpectralLibrary.load(folder / f"{k}.npz") for k in WORLD_LIBRARIES if (folder / f"{k}.npz").is_file()}
        return cls(**libs, source=(folder / "source.txt").read_text().strip())
