"""Real spectra in: Bruker OPUS, ASD, CSV/Parquet and OSSL files read into :class:`~soilnb.data.library.SpectralLibrary`.

:func:`read_spectra` takes files or folders of any mix of these and returns a :class:`ReadResult`: one
library per (unit, quantity, grid) on the files' native grids, plus the problems (file, and row for
tables) and notes (conversions, assumptions). One bad file never loses the others.

Modules: :mod:`.opus` (brukeropus; AB block or converted), :mod:`.asd` (own reader of the ASD binary
format; reflectance = target / white reference), :mod:`.table` (wide tables: unit, orientation,
quantity, id and properties detected; full OSSL tables through :mod:`soilnb.data.ossl`),
:mod:`.base` (the per-block record), :mod:`.result` (grouping), :mod:`.collect` (:func:`read_spectra`),
:mod:`.tableio` (header and file reading) and :mod:`.batch` (small tables sharing a header, parsed together).
The per-spectrum rules they apply live in :mod:`soilnb.spectra`: percent or fraction
(:func:`soilnb.spectra.units.reflectance_rows`) and band shape (:func:`soilnb.spectra.orientation.orientation_rows`).
"""
from .asd import read_asd, read_asd_header  # noqa: F401
from .base import FileSpectra, ReadIssue, SpectraReadError  # noqa: F401
from .collect import file_kind, list_files, read_spectra  # noqa: F401
from .opus import read_opus  # noqa: F401
from .result import GRID_TOL, ReadResult  # noqa: F401
from .table import detect_quantity, detect_unit, find_id_column, read_table  # noqa: F401
