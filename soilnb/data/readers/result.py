"""The result of :func:`~soilnb.data.readers.read_spectra` and the grouping rule behind it.

Grouping rule: spectra go into the same :class:`~soilnb.data.library.SpectralLibrary` when they have
the same unit, the same quantity and the same grid (same number of channels, positions equal within
:data:`GRID_TOL` of a channel step). Anything else gets its own library: spectra on different grids
cannot share one ``X`` without resampling, and resampling is a choice this reader leaves to its caller
(:class:`soilnb.spectra.grid.Resample`). Each library's axis is increasing, whatever the file order.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from soilnb.core.vocab import PROPERTIES
from soilnb.data.library import SpectralLibrary
from soilnb.data.readers.base import FileSpectra, ReadIssue
from soilnb.spectra.quality import spectrum_quality

#: Two grids are the same when every position differs by less than this fraction of the smallest step.
GRID_TOL = 1e-3


@dataclass
class ReadResult:
    """Libraries read from many files, and what went wrong or was assumed on the way.

    Attributes
    ----------
    libraries : dict of str -> SpectralLibrary
        One library per (unit, quantity, grid), keyed by a readable description such as
        ``"absorbance 599.766-7498.04 cm-1 (3578 channels)"``. Row-aligned ``meta`` entries (kept by
        ``subset`` and ``average_scans``): ``source_file``, ``source_row`` (1-based table row, 0 for
        binary files), ``source`` (how the values were obtained, e.g. the OPUS block), ``percent``
        (reflectance divided by 100), ``quality`` / ``quality_ok`` (the reasons of
        :func:`soilnb.spectra.quality.spectrum_quality`, band shape against the quantity included; "" when
        fine) and, when tables had other columns, ``extra`` (a record array:
        ``pandas.DataFrame(lib.meta["extra"])``). ``meta["files"]`` holds each file's details.
    problems : list of ReadIssue
        What was not read: a whole file (``row`` is None) or one row of a table.
    notes : list of ReadIssue
        Conversions and assumptions (block used, percent divided, unit detected, warnings).
    files : list of str
        Files that gave at least one spectrum.
    """

    libraries: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    files: list = field(default_factory=list)

    @property
    def library(self) -> SpectralLibrary:
        """The only library (``ValueError`` naming the groups when there are none or several)."""
        if len(self.libraries) != 1:
            raise ValueError(f"{len(self.libraries)} libraries were read ({list(self.libraries)}), not one; "
                             "pick one from .libraries")
        return next(iter(self.libraries.values()))

    def issues(self) -> pd.DataFrame:
        """Problems and notes as one table: ``kind`` ("problem"/"note"), ``file``, ``row``, ``message``."""
        rows = [{"kind": kind, "file": i.file, "row": i.row, "message": i.message}
                for kind, items in (("problem", self.problems), ("note", self.notes)) for i in items]
        return pd.DataFrame(rows, columns=["kind", "file", "row", "message"])

    def __repr__(self) -> str:
        libs = "".join(f"\n  {k}: {lib.n_scans} spectra" for k, lib in self.libraries.items())
        probs = "".join(f"\n  ! {p}" for p in self.problems[:10])
        more = f"\n  ... {len(self.problems) - 10} more" if len(self.problems) > 10 else ""
        return (f"ReadResult({len(self.files)} files read, {len(self.libraries)} libraries, "
                f"{len(self.problems)} problems, {len(self.notes)} notes){libs}{probs}{more}")


def same_grid(a, b) -> bool:
    """Whether two increasing axes are the same grid (see :data:`GRID_TOL`)."""
    if a.shape != b.shape:
        return False
    step = np.min(np.diff(a)) if a.size > 1 else 1.0
    return bool(np.allclose(a, b, rtol=0.0, atol=GRID_TOL * step))


def group_blocks(items) -> list[list]:
    """Group ``(file, block, percent)`` items (axes increasing) by unit, quantity and grid, in order."""
    groups = []
    for item in items:
        _, b, _ = item
        for g in groups:
            g0 = g[0][1]
            if g0.unit == b.unit and g0.quantity == b.quantity and same_grid(g0.axis, b.axis):
                g.append(item)
                break
        else:
            groups.append([item])
    return groups


def build_library(group) -> SpectralLibrary:
    """One library from a group of ``(file, block, percent)`` items sharing a grid."""
    blocks: list[FileSpectra] = [b for _, b, _ in group]
    first = blocks[0]
    counts = [b.X.shape[0] for b in blocks]
    files = np.concatenate([np.full(n, f) for (f, _, _), n in zip(group, counts)])
    ids = np.concatenate([b.sample_id for b in blocks])
    scan_id = pd.Series(ids).groupby(ids).cumcount().to_numpy()       # repeat number within a sample
    if all(b.properties is None for b in blocks):          # one frame, not one per file of a folder
        props = pd.DataFrame(np.nan, index=range(sum(counts)), columns=list(PROPERTIES))
    else:
        props = pd.concat([b.properties if b.properties is not None
                           else pd.DataFrame(np.nan, index=range(n), columns=list(PROPERTIES))
                           for b, n in zip(blocks, counts)], ignore_index=True)
    meta = {"source_file": files, "source_row": np.concatenate([b.rows for b in blocks]),
            "source": np.concatenate([np.full(n, b.source) for b, n in zip(blocks, counts)]),
            "percent": np.concatenate([p for _, _, p in group]), "files": {}}
    if any(b.extra is not None for b in blocks):
        extra = pd.concat([b.extra if b.extra is not None else pd.DataFrame(index=range(n))
                           for b, n in zip(blocks, counts)], ignore_index=True)
        meta["extra"] = extra.to_records(index=False)
    for (f, b, _) in group:
        key = f if f not in meta["files"] else f"{f} [{b.source}]"
        meta["files"][key] = dict(b.meta)
    X = np.concatenate([b.X for b in blocks])
    # per-spectrum quality travels with the library: "" when the spectrum is fine, else the reasons
    quality = spectrum_quality(X, first.quantity, axis=first.axis, unit=first.unit)   # incl. the band shape
    meta["quality"] = quality["reason"].to_numpy(dtype=object)
    meta["quality_ok"] = quality["ok"].to_numpy()
    lo, hi = first.axis[0], first.axis[-1]
    name = f"{first.quantity} {lo:g}-{hi:g} {first.unit} ({first.axis.size} channels)"
    return SpectralLibrary(X=X, axis=first.axis, unit=first.unit,
                           quantity=first.quantity, sample_id=ids, scan_id=scan_id,
                           instrument=np.concatenate([b.instrument for b in blocks]), properties=props,
                           name=name, meta=meta)


def shared_id_notes(lib: SpectralLibrary) -> list[ReadIssue]:
    """Notes for sample ids found in more than one file of a library (they become repeats of one sample).

    Ids are kept as the files give them, since they are what lab data join on; ids such as ``1``, ``2``
    in two unrelated tables would however be taken for the same samples, hence the note.
    """
    df = pd.DataFrame({"id": lib.sample_id, "file": lib.meta["source_file"]})
    n_files = df.groupby("id", sort=False)["file"].nunique()
    shared = n_files[n_files > 1].index
    if not len(shared):
        return []
    files = sorted(df.loc[df["id"].isin(shared), "file"].unique())
    return [ReadIssue(", ".join(files), f"{len(shared)} sample id(s) appear in several files of library "
                                        f"'{lib.name}', e.g. {[str(s) for s in shared[:3]]}: counted as scan "
                                        "repeats of the same samples (scan_id)")]
