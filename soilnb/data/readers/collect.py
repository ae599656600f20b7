""":func:`read_spectra`: many spectrum files of any supported kind into libraries, one bad file losing no other."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from soilnb.data.library import QUANTITIES, UNITS_AXIS
from soilnb.data.readers.asd import VERSIONS as ASD_VERSIONS
from soilnb.data.readers.asd import read_asd
from soilnb.data.readers.base import FileSpectra, ReadIssue, SpectraReadError, bad_row_message
from soilnb.data.readers.batch import plan_batches, read_batch
from soilnb.data.readers.opus import OPUS_MAGIC, read_opus
from soilnb.data.readers.result import ReadResult, build_library, group_blocks, shared_id_notes
from soilnb.data.readers.table import read_table
from soilnb.spectra.bands import orientation_reason, orientation_rows, orientation_verdict
from soilnb.spectra.reflectance import ABSORBANCE_MAX, FRACTION_MAX, reflectance_rows

#: File-name endings read as tables (CSV, optionally gzipped, and Parquet).
TABLE_SUFFIXES = (".csv", ".csv.gz", ".txt", ".tsv", ".parquet", ".pq")
#: OPUS files carry a numeric extension (``.0``, ``.1``, ``.1001``).
OPUS_NAME_RE = re.compile(r".+\.\d+$")


def file_kind(path) -> str | None:
    """``"opus"``, ``"asd"``, ``"table"``, ``"unreadable"`` or None, from the name and the first bytes.

    The signature wins over the name (an OPUS file renamed ``.dat`` is still read); a numeric extension
    without the OPUS signature is still called ``"opus"`` so that the reader says what is wrong.
    """
    path = Path(path)
    name = path.name.lower()
    if name.endswith(TABLE_SUFFIXES):
        return "table"
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return "unreadable"
    if head == OPUS_MAGIC:
        return "opus"
    if name.endswith(".asd") or head[:3] in ASD_VERSIONS:
        return "asd"
    if OPUS_NAME_RE.match(name):
        return "opus"
    return None


def list_files(paths_or_folder, recursive: bool = False):
    """``(files, problems, notes)``: the files to read, missing paths, and folder entries skipped."""
    items = [paths_or_folder] if isinstance(paths_or_folder, (str, Path)) else list(paths_or_folder)
    files, problems, notes = [], [], []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(p.rglob("*") if recursive else p.iterdir())
            for f in found:
                if not f.is_file() or f.name.startswith("."):
                    continue
                if file_kind(f) is None:   # e.g. a README in the folder: not ours, say so quietly
                    notes.append(ReadIssue(str(f), "skipped: not a spectrum file type (OPUS, ASD, CSV, Parquet)"))
                else:
                    files.append(f)
        elif p.is_file():
            files.append(p)
        else:
            problems.append(ReadIssue(str(p), "no such file or folder"))
    return files, problems, notes


def read_spectra(paths_or_folder, *, unit=None, quantity=None, progress=True, recursive=False,
                 use_cache=True) -> ReadResult:
    """Read spectrum files (Bruker OPUS, ASD, CSV/Parquet tables, OSSL tables) into spectral libraries.

    Parameters
    ----------
    paths_or_folder : path, folder, or iterable of them
        A folder is read file by file (hidden files skipped; files of no supported kind are noted).
    unit : {"cm-1", "nm"}, optional
        The unit of table column positions when names and values do not tell it (binary files describe
        themselves and ignore it).
    quantity : {"absorbance", "reflectance"}, optional
        What table values are, when names and values do not tell it (ignored by binary files).
    progress : bool
        Show a tqdm progress bar over the files.
    recursive : bool
        Also read the files in subfolders of a folder.
    use_cache : bool
        Let :func:`soilnb.data.ossl.read_mir_table` cache full OSSL MIR tables.

    Returns
    -------
    ReadResult
        ``.libraries``: one :class:`~soilnb.data.library.SpectralLibrary` per (unit, quantity, grid)
        (see :mod:`soilnb.data.readers.result`), ``.library`` when there is exactly one,
        ``.problems`` (each naming the file, and the row for a table row) and ``.notes``.

    Notes
    -----
    Per file: OPUS files give absorbance (the AB block, else converted; see
    :mod:`~soilnb.data.readers.opus`), ASD files reflectance = target / white reference
    (:mod:`~soilnb.data.readers.asd`), tables as described in :mod:`~soilnb.data.readers.table`.
    Then per spectrum: rows with NaN, inf or text are dropped (a problem naming the row); reflectance
    is a fraction or a percentage decided per spectrum (:func:`~soilnb.spectra.units.reflectance_rows`:
    maximum above 1.5 means percent; 100-150 % is kept above 1; above 150 % or <= 0 is dropped; rows of
    the smaller kind in a mixed file are named in a note, never converted with the majority). The
    water/O-H band shape is judged per spectrum (:func:`~soilnb.spectra.orientation.orientation_rows`):
    rows with the other quantity's shape are kept, named in a note and flagged in ``meta["quality"]``;
    a file where every judged row disagrees is reported whole.
    Any error while reading a file is reported with the file's name and the others are still read; a bad row
    is reported once (its row, id and first bad cell), not again by the file's summary.
    Small tables sharing a header (a folder of one-spectrum CSV files) are parsed together
    (:mod:`~soilnb.data.readers.batch`), with the result each gives alone.

    Examples
    --------
    >>> res = read_spectra(REAL / "ossl_sample_inputs", progress=False)   # doctest: +SKIP
    >>> res.libraries["absorbance 599.766-7498.04 cm-1 (3578 channels)"]  # doctest: +SKIP
    """
    if unit is not None and unit not in UNITS_AXIS:
        raise ValueError(f"unit must be one of {UNITS_AXIS}, got {unit!r}")
    if quantity is not None and quantity not in QUANTITIES:
        raise ValueError(f"quantity must be one of {QUANTITIES}, got {quantity!r}")
    files, problems, notes = list_files(paths_or_folder, recursive)
    result = ReadResult(problems=problems, notes=notes)
    items = []
    batches = plan_batches(files)              # small tables sharing a header: parsed together (see .batch)
    batch_of = {p: i for i, group in enumerate(batches) for p in group}
    parsed = {}
    bar = tqdm(files, desc="reading spectra", unit="file", disable=not progress)
    for path in bar:
        name = str(path)
        if (i := batch_of.get(path)) is not None and i not in parsed:
            try:
                parsed[i] = read_batch(batches[i], unit, quantity)
            except Exception:  # noqa: BLE001 - a speed-up only: whatever goes wrong, each file is read alone
                parsed[i] = {}
        done = parsed[i].pop(path, None) if i is not None else None
        blocks = _read_one(path, name, unit, quantity, use_cache, result, done)
        kept = [item for b in blocks if (item := _check_block(name, b, result)) is not None]
        items += kept
        if kept:
            result.files.append(name)
        bar.set_postfix(problems=len(result.problems), refresh=False)
    result.libraries = {}
    for group in group_blocks(items):
        lib = build_library(group)
        key = lib.name if lib.name not in result.libraries else f"{lib.name} #{len(result.libraries) + 1}"
        result.libraries[key] = lib
        result.notes += shared_id_notes(lib)
    return result


def _read_one(path: Path, name: str, unit, quantity, use_cache, result: ReadResult, done=None) -> list[FileSpectra]:
    """The blocks of one file; any failure becomes a problem naming the file (and its warnings notes).

    ``done``: what :func:`~soilnb.data.readers.batch.read_batch` gave for the file (its blocks or error, and
    its warnings), reported here exactly as if the file were read now.
    """
    kind = file_kind(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if done is not None:
                for w in done[1]:
                    warnings.warn(w.message, stacklevel=2)
                if isinstance(done[0], Exception):
                    raise done[0]
                blocks = done[0]
            elif kind == "opus":
                blocks = read_opus(path)
            elif kind == "asd":
                blocks = read_asd(path)
            elif kind == "table":
                blocks = read_table(path, unit=unit, quantity=quantity, use_cache=use_cache)
            elif kind == "unreadable":
                path.read_bytes()              # raises the operating system's reason (permissions, ...)
                raise OSError("cannot open the file")
            else:
                raise ValueError("unknown file type (expected OPUS, ASD, CSV or Parquet)")
        except SpectraReadError as exc:
            _problems(result, name, exc)
            blocks = []
        except Exception as exc:  # noqa: BLE001 - a damaged file can make any parser raise anything
            result.problems.append(ReadIssue(name, f"not read: {type(exc).__name__}: {exc}"))
            blocks = []
    result.notes += [ReadIssue(name, f"{w.category.__name__}: {w.message}") for w in caught]
    for b in blocks:
        result.notes += [ReadIssue(name, n) for n in b.notes]
        result.problems += [ReadIssue(name, m, row) for row, m in b.problems]
    return blocks


def _problems(result: ReadResult, name: str, exc: SpectraReadError) -> None:
    """A reader's refusal as problems: each of its bad rows once, else the file once."""
    if not exc.rows:
        result.problems.append(ReadIssue(name, f"not read: {type(exc).__name__}: {exc}"))
        return
    result.problems += [ReadIssue(name, m, row) for row, m in exc.rows]
    if len(exc.rows) > 1:                      # one row: its line says it all
        result.problems.append(ReadIssue(name, str(exc)))


def _check_block(name: str, b: FileSpectra, result: ReadResult):
    """Per-spectrum checks, the orientation check and an increasing axis: ``(name, block, percent)`` or None."""
    def row_of(i):
        return int(b.rows[i]) if b.rows[i] > 0 else None

    def rows_text(idx):
        shown = ", ".join(str(row_of(i) or i + 1) for i in idx[:10])
        return f"rows {shown}" + (f" (+{len(idx) - 10} more)" if len(idx) > 10 else "")

    keep = np.isfinite(b.X).all(axis=1)
    for i in np.flatnonzero(~keep):
        bad = ~np.isfinite(b.X[i])
        first = b.bad_cells.get(i) or f"at {b.axis[np.argmax(bad)]:g} {b.unit}"
        result.problems.append(ReadIssue(name, bad_row_message(b.sample_id[i], int(bad.sum()), first), row_of(i)))
    percent = np.zeros(b.X.shape[0], bool)
    if b.quantity == "reflectance" and keep.any():
        idx = np.flatnonzero(keep)
        r = reflectance_rows(b.X[idx])
        b.X[idx] = r.X
        percent[idx] = r.percent
        for j, why in r.rejected.items():
            keep[idx[j]] = False
            result.problems.append(ReadIssue(name, f"{why}: spectrum dropped", row_of(idx[j])))
        n_pct, n_frac = int(r.percent.sum()), int((~r.percent).sum()) - len(r.rejected)
        if n_pct:
            result.notes.append(ReadIssue(name, f"{n_pct} of {r.percent.size} spectra in percent (maximum above "
                                                f"{FRACTION_MAX}): divided by 100, decided per spectrum"))
        if (few := idx[r.minority & ~r.percent]).size:   # a very dark spectrum in percent would read as a fraction
            result.notes.append(ReadIssue(name, f"{few.size} spectra read as fractions among {n_pct} in percent "
                                                f"({rows_text(few)}): check that they are not very dark spectra "
                                                "in percent"))
        if (few := idx[r.minority & r.percent]).size:
            result.notes.append(ReadIssue(name, f"{few.size} spectra read as percent among {n_frac} read as "
                                                f"fractions ({rows_text(few)}): only these divided by 100"))
        if (few := idx[r.dark]).size:
            result.notes.append(ReadIssue(name, f"{few.size} spectra read as percent have a maximum <= "
                                                f"{ABSORBANCE_MAX:g} % ({rows_text(few)}), the usual log10(1/R) "
                                                "range: check that they are reflectance"))
        if r.over_100.any():
            result.notes.append(ReadIssue(name, f"{int(r.over_100.sum())} spectra exceed 100 % reflectance: kept "
                                                "above 1 (real samples can outshine the white reference)"))
    if not keep.any():
        if b.X.shape[0] > 1:                  # one spectrum: the line naming its row says it all
            result.problems.append(ReadIssue(name, "no usable spectrum left"))
        return None
    if not keep.all():
        b, percent = b.take(keep), percent[keep]
    agree = orientation_rows(b.X, b.axis, b.unit, b.quantity)
    if (agree < 0).any() and not (agree > 0).any():
        try:       # a whole file of the other shape is refused; single rows are flagged in meta["quality"]
            orientation_verdict(agree, b.unit, b.quantity, name=Path(name).name, every_row=True)
        except ValueError as exc:
            result.problems.append(ReadIssue(name, f"not read: {exc}"))
            return None
    if (wrong := np.flatnonzero(agree < 0)).size:
        result.notes.append(ReadIssue(name, f"{wrong.size} of {b.X.shape[0]} spectra: "
                                            f"{orientation_reason(b.unit, b.quantity)} ({rows_text(wrong)}): "
                                            "kept, flagged in meta['quality']"))
    if b.axis.size > 1 and b.axis[0] > b.axis[-1]:       # libraries need an increasing axis
        b.axis, b.X = b.axis[::-1].copy(), b.X[:, ::-1].copy()
    if b.axis.size > 1 and not np.all(np.diff(b.axis) > 0):
        order = np.argsort(b.axis)                        # a table with shuffled columns
        b.axis, b.X = b.axis[order], b.X[:, order]
    return name, b, percent
