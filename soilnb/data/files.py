"""Spectra with properties from any files :func:`~soilnb.data.readers.read_spectra` takes, as one model-ready
library (``source="files"``): the properties mapped to their names, every problem named, on the model's grid.

* Properties: the table's property columns (the paper's nine by name or OSSL name) and every other numeric
  column, OSSL names of the extras mapped (``oc_usda.c729_w.pct`` -> ``OC``,
  :data:`~soilnb.core.vocab.EXTRA_OSSL_COLUMNS`); a column with no value at all is reported and dropped.
* Rows: a spectrum with a quality flag (:func:`~soilnb.spectra.quality.spectrum_quality`) or a property value
  no laboratory reports (:func:`~soilnb.data.properties.property_quality`) is left out with a warning that
  counts them and names the reasons; a row is never silently changed.
* Grid: MIR onto 600-4000 cm-1 at 2 cm-1 (:data:`~soilnb.core.vocab.MIR_AXIS_CM1`), NIR onto 1400-2500 nm at
  2 nm (the paper's trimmed range), by :meth:`~soilnb.data.library.SpectralLibrary.on_grid`: a file that does
  not cover the range (within 5 units) is refused with the gap named, never extrapolated.
"""
from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import replace

import numpy as np
import pandas as pd

from soilnb.core.vocab import EXTRA_OSSL_COLUMNS, MODEL_GRIDS
from soilnb.data.library import SpectralLibrary, property_frame
from soilnb.data.properties import property_quality
from soilnb.data.readers import read_spectra

#: Columns of a spectra table that are never properties.
NOT_PROPERTIES = ("id", "sample_id", "scan_id", "file", "instrument")


def library_with_properties(lib: SpectralLibrary, name: str) -> SpectralLibrary:
    """``lib`` with its numeric extra table columns as properties too (OSSL extras renamed), empty ones dropped."""
    props = lib.properties.copy()
    if "extra" in lib.meta:
        extra = pd.DataFrame(lib.meta["extra"])
        rename = {v: k for k, v in EXTRA_OSSL_COLUMNS.items()}
        for c in extra.columns:
            v = pd.to_numeric(extra[c], errors="coerce")
            if str(c).lower() in NOT_PROPERTIES or v.notna().sum() < extra[c].notna().sum():
                continue                                           # identifiers and text are not properties
            props[rename.get(str(c), str(c))] = v.to_numpy(dtype=float)
    empty = [c for c in props.columns if props[c].isna().all()]
    if empty and len(empty) < props.shape[1]:
        warnings.warn(f"{name}: column(s) {empty} have no value in any of the {len(props)} rows: dropped",
                      stacklevel=3)
    props = props.drop(columns=empty)
    return replace(lib, properties=property_frame(props, name))


def id_conflicts(lib: SpectralLibrary, limit: int = 3) -> str:
    """"" when the rows sharing a sample id (scan repeats, averaged later) agree on every property value they
    hold; else a message naming the ids whose rows disagree (two soils under one id) and the fix."""
    props = lib.properties.assign(_id=np.asarray(lib.sample_id).astype(str))
    if props["_id"].is_unique or props.shape[1] == 1:
        return ""
    g = props.groupby("_id", sort=False)
    spread = (g.max(numeric_only=True) - g.min(numeric_only=True)).fillna(0.0)
    tol = 1e-9 * np.maximum(1.0, g.max(numeric_only=True).abs().fillna(0.0))
    bad = spread > tol
    ids = bad.index[bad.any(axis=1)]
    if not len(ids):
        return ""
    shown = ", ".join(f"{i} ({', '.join(c for c in bad.columns if bad.at[i, c])})" for i in ids[:limit])
    return (f"{len(ids)} sample id(s) whose rows carry different property values ({shown}"
            f"{', ...' if len(ids) > limit else ''}): rows of one id are scan repeats of one soil and are averaged; "
            "give each soil its own id")


def _reasons(text) -> str:
    counts = Counter(r.strip() for t in text for r in str(t).split(";") if r.strip())
    return "; ".join(f"{r} ({n})" for r, n in counts.most_common(5))


def load_files_library(path, name: str = "training") -> SpectralLibrary:
    """One library (one range) from ``path`` (a file, a folder or a list of files): read, properties
    mapped, flagged rows left out with a warning, resampled onto the model grid of its range."""
    res = read_spectra(path, progress=False)
    for p in res.problems:
        warnings.warn(f"{name}: {p.file}{f' row {p.row}' if p.row is not None else ''}: {p.message}", stacklevel=2)
    if not res.libraries:
        raise ValueError(f"{name} spectra {path}: nothing could be read ({len(res.problems)} problem(s) above)")
    if len(res.libraries) > 1:
        raise ValueError(f"{name} spectra {path}: {len(res.libraries)} kinds of spectra ({list(res.libraries)}); "
                         "give one range on one grid per data_dir / test_dir")
    lib = library_with_properties(res.library, f"{name} spectra {path}")
    conflicts = id_conflicts(lib)
    if conflicts:
        raise ValueError(f"{name} spectra {path}: {conflicts}")
    return clean_library(lib, f"{name} spectra {path}", name)


def clean_library(lib: SpectralLibrary, what: str, name: str = "training") -> SpectralLibrary:
    """``lib`` ready to train on: spectra with a quality flag and rows with an implausible property value left out
    (a warning counts them and names the reasons), resampled onto the model grid of its range (refused with the
    gap named when it does not cover it); a ValueError naming ``what`` when every row is flagged."""
    bad_spec = ~np.asarray(lib.meta.get("quality_ok", np.ones(lib.n_scans, bool)), bool)
    pq = property_quality(lib.properties)
    bad_prop = ~pq["ok"].to_numpy()
    if bad_spec.any():
        warnings.warn(f"{name}: left out {int(bad_spec.sum())} of {lib.n_scans} spectra with quality flags: "
                      f"{_reasons(np.asarray(lib.meta['quality'])[bad_spec])}", stacklevel=3)
    if bad_prop.any():
        warnings.warn(f"{name}: left out {int(bad_prop.sum())} of {lib.n_scans} rows with implausible property "
                      f"values: {_reasons(pq['reason'][bad_prop])}", stacklevel=3)
    keep = ~(bad_spec | bad_prop)
    if not keep.any():
        raise ValueError(f"{what}: every row is flagged (see the warnings)")
    lib = lib.subset(keep)
    grid = MODEL_GRIDS[lib.unit]
    if not (lib.axis.size == grid.size and np.allclose(lib.axis, grid)):
        lib = lib.on_grid(grid)
    return lib
