"""ASD (Malvern Panalytical / Analytical Spectral Devices) binary files, ``*.asd``: a small reader.

Why our own: the PyPI readers were tried. ``pyASDReader`` 1.2.3 (MIT) writes a log file into the
working directory and reconfigures the root logger when imported, returns no reflectance for files
saved as raw DN (as the OSSL samples are) and fails on their audit log; ``specdal`` (MIT) was last
released in 2018. The part of the format we need is small and fixed (ASD "File Format version 8",
the same fields ``specdal`` and ``pyASDReader`` read):

====== ======= =============================================================================
offset type    field
====== ======= =============================================================================
0      3 chars version: ``ASD`` (v1), ``as2`` ... ``as8``
3      157 ch  comments
160    9 x i16 when saved (C ``struct tm``: sec, min, hour, day, month-1, year-1900, ...)
181    u8      dark-current corrected (bool)
186    u8      data type: 0 raw DN, 1 reflectance, 2 radiance, 3 no units, 4 irradiance, 5 QI,
               6 transmittance, 7 unknown, 8 absorbance
191    f32     wavelength of the first channel (nm)
195    f32     wavelength step (nm)
199    u8      data format: 0 float32, 1 int32, 2 float64
204    u16     number of channels
390    u32     integration time (ms)
400    u16     instrument serial number
431    u8      instrument type (4: FieldSpec FR, ...)
436    4 x u16 SWIR1/SWIR2 gains and offsets
444    2 x f32 splice wavelengths (detector joins, e.g. 1000 and 1830 nm)
484    ...     the target spectrum: ``channels`` values of the data format
====== ======= =============================================================================

From ``as2`` on, the spectrum is followed by the white-reference header: a 2-byte flag (reference
taken), two 8-byte OLE dates (reference, spectrum), a description (2-byte length + characters), then
the white-reference spectrum in the same format. Reflectance is target / white reference, channel by
channel, for files saved as raw DN or as reflectance (both store the raw target; ViewSpec Pro divides
the same way). Gain and integration time cancel in the ratio as both were taken with the same
settings; the small steps at the splice wavelengths are left as measured (no splice correction).
"""
from __future__ import annotations

import struct
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from soilnb.data.readers.base import FileSpectra, SpectraReadError, file_stem

HEADER_SIZE = 484
DATA_TYPES = {0: "raw", 1: "reflectance", 2: "radiance", 3: "no units", 4: "irradiance", 5: "QI",
              6: "transmittance", 7: "unknown", 8: "absorbance"}
DATA_FORMATS = {0: "<f4", 1: "<i4", 2: "<f8"}
INSTRUMENTS = {0: "unknown", 1: "PSII", 2: "LSVNIR", 3: "FieldSpec VNIR", 4: "FieldSpec FR", 5: "FieldSpec NIR",
               6: "CHEM", 7: "FieldSpec FR unattended"}
VERSIONS = {b"ASD": 1} | {f"as{v}".encode(): v for v in range(2, 9)}


def read_asd_header(buf: bytes) -> dict:
    """The fields of the 484-byte header that the reader uses (see the module table).

    Parameters
    ----------
    buf : bytes
        The file's content (at least the header).

    Returns
    -------
    dict
        ``version``, ``comments``, ``saved``, ``dark_corrected``, ``data_type``, ``start_nm``, ``step_nm``,
        ``data_format``, ``channels``, ``integration_ms``, ``serial``, ``instrument``, ``swir_gains``,
        ``splice_nm``.
    """
    if len(buf) < HEADER_SIZE or buf[:3] not in VERSIONS:
        raise SpectraReadError("not an ASD file (no ASD/as2..as8 signature or shorter than its header)")
    tm = struct.unpack_from("<9h", buf, 160)
    try:   # struct tm: year since 1900, month from 0
        saved = datetime(tm[5] + 1900, tm[4] + 1, tm[3], tm[2], tm[1], tm[0]).isoformat()
    except ValueError:
        saved = ""
    dtype_code, fmt_code = buf[186], buf[199]
    if fmt_code not in DATA_FORMATS:
        raise SpectraReadError(f"unknown ASD data format code {fmt_code} (expected 0 float, 1 integer, 2 double)")
    return {
        "version": VERSIONS[buf[:3]],
        "comments": buf[3:160].split(b"\0")[0].decode("latin-1").strip(),
        "saved": saved,
        "dark_corrected": bool(buf[181]),
        "data_type": DATA_TYPES.get(dtype_code, f"code {dtype_code}"),
        "start_nm": struct.unpack_from("<f", buf, 191)[0],
        "step_nm": struct.unpack_from("<f", buf, 195)[0],
        "data_format": DATA_FORMATS[fmt_code],
        "channels": struct.unpack_from("<H", buf, 204)[0],
        "integration_ms": struct.unpack_from("<I", buf, 390)[0],
        "serial": struct.unpack_from("<H", buf, 400)[0],
        "instrument": INSTRUMENTS.get(buf[431], f"type {buf[431]}"),
        "swir_gains": struct.unpack_from("<2H", buf, 436),
        "splice_nm": struct.unpack_from("<2f", buf, 444),
    }


def read_asd_arrays(path):
    """``(header, wavelengths, target, white_reference or None)`` of an ASD file, values as stored.

    The white reference is ``None`` for v1 files and when the file says none was taken.
    """
    buf = Path(path).read_bytes()
    h = read_asd_header(buf)
    n, fmt = h["channels"], np.dtype(h["data_format"])
    if n < 2 or h["step_nm"] <= 0:
        raise SpectraReadError(f"implausible ASD header: {n} channels, step {h['step_nm']:g} nm")
    end = HEADER_SIZE + n * fmt.itemsize
    if len(buf) < end:
        raise SpectraReadError(f"truncated: {len(buf)} bytes, the spectrum alone needs {end}")
    target = np.frombuffer(buf, fmt, n, HEADER_SIZE).astype(np.float64)
    wavelengths = h["start_nm"] + h["step_nm"] * np.arange(n)
    reference = None
    if h["version"] >= 2 and len(buf) >= end + 20:
        flag = struct.unpack_from("<h", buf, end)[0]         # a 2-byte BOOL: nonzero when a reference was taken
        ref_time, spec_time = struct.unpack_from("<2d", buf, end + 2)
        desc_len = struct.unpack_from("<H", buf, end + 18)[0]
        start = end + 20 + desc_len
        h["reference_taken"] = _ole_date(ref_time)
        h["reference_description"] = buf[end + 20:start].decode("latin-1").strip()
        if flag and len(buf) >= start + n * fmt.itemsize:
            reference = np.frombuffer(buf, fmt, n, start).astype(np.float64)
    return h, wavelengths, target, reference


def read_asd(path) -> list[FileSpectra]:
    """Read one ASD file as reflectance (fraction) on its native grid (350-2500 nm, 1 nm for a FieldSpec).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    list of FileSpectra
        One block, ``unit="nm"``, ``quantity="reflectance"`` (``"absorbance"`` for files saved as
        absorbance), ``sample_id`` the file's stem (``235157MD01.asd`` -> ``235157MD01``).

    Raises
    ------
    SpectraReadError
        Not an ASD file, truncated, a data type that is not reflectance (radiance, irradiance...), raw DN
        without a white reference, or a white reference with values <= 0.
    """
    path = Path(path)
    h, wl, target, reference = read_asd_arrays(path)
    notes = []
    if h["data_type"] in ("raw", "reflectance") and reference is not None:
        bad = int((reference <= 0).sum())
        if bad:
            raise SpectraReadError(f"the white reference has {bad} channel(s) <= 0: reflectance undefined there")
        X, quantity, source = target / reference, "reflectance", "ASD target / white reference"
    elif h["data_type"] == "reflectance":      # v1 files saved as reflectance hold the ratio itself
        X, quantity, source = target, "reflectance", "ASD reflectance as stored (no white reference in file)"
        notes.append("no white reference in the file: the stored spectrum is taken as reflectance")
    elif h["data_type"] == "absorbance":
        X, quantity, source = target, "absorbance", "ASD absorbance as stored"
    elif h["data_type"] == "raw":
        raise SpectraReadError("raw DN without a white reference: reflectance cannot be computed")
    else:
        raise SpectraReadError(f"ASD data type {h['data_type']!r} is not reflectance or absorbance")
    meta = {"reader": "soilnb.data.readers.asd", "block": source} | {
        k: (list(v) if isinstance(v, tuple) else v) for k, v in h.items()}
    return [FileSpectra(X=X[None, :], axis=wl, unit="nm", quantity=quantity, sample_id=[file_stem(path)],
                        instrument=f"ASD {h['instrument']} #{h['serial']}", source=source, notes=notes, meta=meta)]


def _ole_date(days: float) -> str:
    """An OLE automation date (days since 1899-12-30) as ISO text ("" when implausible)."""
    try:
        return (datetime(1899, 12, 30) + timedelta(days=float(days))).isoformat(timespec="seconds")
    except (OverflowError, ValueError):
        return ""
