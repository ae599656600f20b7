"""What every reader returns (:class:`FileSpectra`) and how problems are named (:class:`ReadIssue`).

A reader turns one file into one or more :class:`FileSpectra` blocks (spectra on the file's own grid, in
the file's own channel order) or raises :class:`SpectraReadError` with a message naming what is wrong.
:func:`soilnb.data.readers.read_spectra` then checks the rows, sorts the axis and groups the blocks into
:class:`~soilnb.data.library.SpectralLibrary` objects.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from soilnb.data.library import QUANTITIES, UNITS_AXIS, SpectralLibrary


class SpectraReadError(ValueError):
    """A file cannot be read as spectra (the message says why, naming the file).

    ``rows`` holds ``(row, message)`` pairs when the reason is the file's rows themselves (every spectrum
    of a table has a bad cell): :func:`~soilnb.data.readers.read_spectra` then reports each row once, as
    it does for the bad rows of a file that is otherwise read, instead of one vaguer line for the file.
    """

    def __init__(self, message: str, rows=()):
        super().__init__(message)
        self.rows = list(rows)


@dataclass(frozen=True)
class ReadIssue:
    """A problem (something not read) or a note (an assumption or conversion) about one file.

    Attributes
    ----------
    file : str
        The file's path as given (or found in the folder).
    message : str
    row : int or None
        1-based data row of a table (the header is not counted), ``None`` for the whole file.
    """

    file: str
    message: str
    row: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}" + (f", row {self.row}" if self.row is not None else "")
        return f"{where}: {self.message}"


@dataclass
class FileSpectra:
    """One block of spectra read from one file, before checks and grouping.

    Parameters
    ----------
    X : ndarray of shape (n_spectra, n_channels)
        Values as in the file (reflectance may be percent or fraction, decided per spectrum later by
        :func:`soilnb.spectra.units.reflectance_rows`).
    axis : ndarray of shape (n_channels,)
        Channel positions in the file's order (increasing or decreasing).
    unit : {"cm-1", "nm"}
    quantity : {"absorbance", "reflectance"}
    sample_id : ndarray of shape (n_spectra,)
    rows : ndarray of int, optional
        1-based data row of each spectrum in its table (``None`` for one-spectrum binary files).
    instrument : str or ndarray
    properties : DataFrame, optional
        Soil properties under :data:`soilnb.core.vocab.PROPERTIES` names (missing columns are NaN).
    extra : DataFrame, optional
        Every other non-spectral column of a table, one row per spectrum.
    source : str
        How the values were obtained (e.g. ``"OPUS AB block"``, ``"ASD target / white reference"``),
        recorded per spectrum in the library's ``meta["source"]``.
    notes : list of str
        Messages about conversions or assumptions, reported as notes.
    meta : dict
        Facts about the file (instrument settings, dates), kept in the library's ``meta["files"]``.
    bad_cells : dict of int -> str
        For rows holding a missing, non-numeric or infinite value: where the first one is and what it was
        (``"'n.d.' in column 1400"``), so that the problem naming the dropped row also says why.
    problems : list of (int or None, str)
        Rows the reader itself dropped (``(row, message)``), reported as problems.
    """

    X: np.ndarray
    axis: np.ndarray
    unit: str
    quantity: str
    sample_id: np.ndarray
    rows: np.ndarray | None = None
    instrument: object = "unknown"
    properties: pd.DataFrame | None = None
    extra: pd.DataFrame | None = None
    source: str = ""
    notes: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    bad_cells: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)

    def __post_init__(self):
        self.X = np.array(self.X, dtype=np.float64, ndmin=2)     # own, writable copy (checks edit it)
        self.axis = np.asarray(self.axis, dtype=np.float64)
        self.sample_id = np.asarray(self.sample_id).astype(str)
        n = self.X.shape[0]
        if self.axis.shape != (self.X.shape[1],):
            raise SpectraReadError(f"axis has {self.axis.size} positions but the spectra {self.X.shape[1]} channels")
        if self.unit not in UNITS_AXIS or self.quantity not in QUANTITIES:
            raise SpectraReadError(f"unsupported unit/quantity {self.unit!r}/{self.quantity!r}")
        if self.sample_id.shape != (n,):
            raise SpectraReadError(f"{self.sample_id.size} sample ids for {n} spectra")
        if self.rows is None:
            self.rows = np.zeros(n, np.int64)          # 0: not a table row
        self.instrument = np.broadcast_to(np.asarray(self.instrument).astype(str), (n,)).copy()

    def take(self, keep) -> "FileSpectra":
        """The spectra selected by the boolean mask ``keep`` (tables re-indexed from 0)."""
        idx = np.flatnonzero(keep)

        def sub(df):
            return None if df is None else df.iloc[idx].reset_index(drop=True)

        return FileSpectra(X=self.X[idx], axis=self.axis, unit=self.unit, quantity=self.quantity,
                           sample_id=self.sample_id[idx], rows=self.rows[idx], instrument=self.instrument[idx],
                           properties=sub(self.properties), extra=sub(self.extra), source=self.source,
                           notes=list(self.notes), meta=dict(self.meta))


def bad_row_message(sample_id, n_bad: int, first: str) -> str:
    """The one line that reports a spectrum dropped for its missing, non-numeric or infinite values."""
    return f"id {sample_id}: {n_bad} missing, non-numeric or infinite value(s), first {first}: spectrum dropped"


def library_to_block(lib: SpectralLibrary, source: str) -> FileSpectra:
    """A block holding the spectra of a library read by one of the existing OSSL readers."""
    return FileSpectra(X=lib.X, axis=lib.axis, unit=lib.unit, quantity=lib.quantity, sample_id=lib.sample_id,
                       instrument=lib.instrument, properties=lib.properties, source=source,
                       meta={k: v for k, v in lib.meta.items() if np.isscalar(v)})


def file_stem(path) -> str:
    """A file's name without its extension(s): ``235157XS01.0`` -> ``235157XS01``, ``a.csv.gz`` -> ``a``.

    Used as the sample id of one-spectrum binary files (KSSL names them ``<sample><kind><repeat>``).
    """
    name = Path(path).name
    name = name[:-3] if name.lower().endswith(".gz") else name
    return Path(name).stem
