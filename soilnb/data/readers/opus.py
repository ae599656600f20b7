"""Bruker OPUS binary files (``*.0``, ``*.1``, ...), read with the PyPI package ``brukeropus`` (MIT).

An OPUS file holds several data blocks: single-channel spectra of the sample (``ScSm``, brukeropus key
``sm``) and of the reference (``ScRf``, ``rf``), interferograms, and usually one computed block such as
absorbance (``AB``, ``a``), reflectance (``R``, ``r``) or transmittance (``TR``, ``t``). The OSSL and the
KSSL work in absorbance log10(1/R), so this reader returns absorbance:

1. the ``AB`` block when present (the instrument software computed it: taken as is);
2. else ``R`` or ``TR`` converted with A = log10(1/R) (percent or fraction decided per spectrum by
   :func:`soilnb.spectra.units.reflectance_rows`);
3. else the ratio of the single channels, A = log10(ScRf / ScSm), after interpolating the reference onto
   the sample's grid (the two are often a few points apart). This is exactly how OPUS computes ``AB``:
   on the KSSL file ``235157XS01.0`` it matches the stored ``AB`` block to 1e-7.

Cases 2 and 3 add a note; the block used is recorded per spectrum (``meta["source"]``) and per file.
"""
from __future__ import annotations

from importlib import metadata
from pathlib import Path

import numpy as np

from soilnb.data.readers.base import FileSpectra, SpectraReadError, file_stem
from soilnb.spectra.reflectance import reflectance_rows

try:   # optional: only needed for OPUS files
    import brukeropus
except ImportError:   # pragma: no cover - exercised only without the package
    brukeropus = None

#: First four bytes of every OPUS file.
OPUS_MAGIC = b"\n\n\xfe\xfe"
#: Instrument parameters copied into the file's meta (brukeropus lower-case keys -> our names).
OPUS_PARAMS = {"snm": "sample_name", "sfm": "sample_form", "ins": "instrument", "src": "light_source",
               "bms": "beamsplitter", "dtc": "detector", "lwn": "laser_wavenumber", "res": "resolution_cm1"}


def is_opus(path) -> bool:
    """Whether ``path`` starts with the OPUS magic bytes."""
    with open(path, "rb") as fh:
        return fh.read(4) == OPUS_MAGIC


def read_opus(path) -> list[FileSpectra]:
    """Read one Bruker OPUS file as absorbance on its native grid (see the module docstring).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    list of FileSpectra
        One block: ``unit="cm-1"`` (``"nm"`` for files stored in micrometres), ``quantity="absorbance"``,
        the axis in the file's order (OPUS stores wavenumbers decreasing), ``sample_id`` the file's
        stem (``235157XS01.0`` -> ``235157XS01``).

    Raises
    ------
    SpectraReadError
        Not an OPUS file, or no block from which absorbance can be computed.
    ImportError
        ``brukeropus`` is not installed.
    """
    path = Path(path)
    if not is_opus(path):
        raise SpectraReadError("not an OPUS file (its first bytes are not the OPUS signature)")
    if brukeropus is None:
        raise ImportError("reading Bruker OPUS files needs the package brukeropus: pip install brukeropus")
    try:
        opus = brukeropus.read_opus(str(path))
    except Exception as exc:  # brukeropus raises many kinds on damaged files; name it, keep the others
        raise SpectraReadError(f"brukeropus cannot parse it: {type(exc).__name__}: {exc}") from exc
    keys = set(opus.data_keys) | set(getattr(opus, "series_keys", []))
    notes = []
    if "a" in keys:
        block = opus.a
        x, A = _xy(block)
        source = "OPUS AB block (absorbance)"
    elif "r" in keys or "t" in keys:
        key, name = ("r", "R (reflectance)") if "r" in keys else ("t", "TR (transmittance)")
        block = getattr(opus, key)
        x, V = _xy(block)
        A = _log_inverse(V, f"OPUS {name} block")
        source = f"log10(1/{key.upper()}) of the OPUS {name} block"
        notes.append(f"no AB block: absorbance computed as {source}")
    elif "sm" in keys and "rf" in keys:
        block = opus.sm
        x, sm = _xy(block)
        xr, rf = _xy(opus.rf)
        rf = np.stack([_interp(x, xr, r) for r in rf])     # reference onto the sample's grid
        # a ratio of single channels is a fraction by construction: no percent rule, only R > 0
        A = _log_inverse(sm / rf, "ScSm / ScRf ratio", percent_rule=False)
        source = "log10(ScRf/ScSm) of the OPUS single-channel blocks"
        notes.append(f"no AB, R or TR block: absorbance computed as {source}")
    else:
        raise SpectraReadError(f"no absorbance, reflectance, transmittance or single-channel block "
                               f"(blocks: {sorted(keys) or 'none'})")
    unit, x = _unit(block, x)
    meta = {"reader": f"brukeropus {metadata.version('brukeropus')}", "block": source,
            "blocks": sorted(keys)}
    for key, ours in OPUS_PARAMS.items():
        if (value := _param(opus, key)) is not None:
            meta[ours] = value
    try:
        meta["measured"] = str(block.datetime)
    except (AttributeError, KeyError, ValueError, TypeError):   # no date/time parameters in this block
        pass
    n = A.shape[0]
    ids = [file_stem(path)] if n == 1 else [f"{file_stem(path)}#{i}" for i in range(n)]   # a 3-D series: n rows
    return [FileSpectra(X=A, axis=x, unit=unit, quantity="absorbance", sample_id=ids,
                        instrument=f"Bruker {meta.get('instrument', 'OPUS')}", source=source, notes=notes,
                        meta=meta)]


def _xy(data):
    """(x, y as 2-D) of a brukeropus data block (a 3-D series block gives several rows)."""
    y = np.atleast_2d(np.asarray(data.y, dtype=np.float64))
    return np.asarray(data.x, dtype=np.float64), y


def _interp(x_to, x_from, y):
    """``np.interp`` for axes in either order (np.interp needs increasing positions)."""
    order = np.argsort(x_from)
    return np.interp(x_to, x_from[order], y[order])


def _log_inverse(V, what, percent_rule=True):
    """A = log10(1/V) of reflectance or transmittance rows (percent or fraction decided per row)."""
    if percent_rule:
        rows = reflectance_rows(V)
        if rows.rejected:
            raise SpectraReadError(f"{what}: {next(iter(rows.rejected.values()))}")
        V = rows.X
    elif not (V > 0).all():
        raise SpectraReadError(f"{what}: values <= 0 (min {np.min(V):.4g}), log10(1/V) is undefined")
    return np.log10(1.0 / V)


def _unit(block, x):
    """Our unit for a block's x axis (brukeropus ``dxu``: WN wavenumber, MI micrometre)."""
    dxu = str(getattr(block.params, "dxu", "WN")).upper()
    if dxu == "WN":
        return "cm-1", x
    if dxu == "MI":
        return "nm", x * 1000.0
    raise SpectraReadError(f"unsupported x unit {dxu!r} (expected WN or MI)")


def _param(opus, key):
    """A sample parameter of the file, or None (brukeropus raises or returns None when absent)."""
    try:
        value = getattr(opus.params, key)
    except (AttributeError, KeyError):
        return None
    return None if value in (None, "") else (value if np.isscalar(value) else str(value))
