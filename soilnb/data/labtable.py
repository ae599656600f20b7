"""Lab values meet spectra: a laboratory table (CSV or Excel) read into the model's names and units, and joined
to a :class:`~soilnb.data.library.SpectralLibrary` by sample id, with everything that did not join reported.

:func:`read_lab_table` gives a :class:`LabTable`:

* the file: CSV with any delimiter ``csv.Sniffer`` recognises (``,``, ``;``, tab, ``|``); a decimal comma is
  accepted when it is unambiguous (no cell of the table uses a decimal point and not every comma number has
  exactly three digits after the comma, which would read as a thousands separator); otherwise ``decimal=``.
  Excel (``.xlsx``, ``.xlsm``) through ``openpyxl``; ``.xls`` and ``.ods`` need ``xlrd`` / ``odfpy``, which are
  not dependencies: without them the error names the file and the fix (save it as .xlsx or CSV). Every cell is
  read as text, so ids keep their leading zeros.
* the id column: ``id_column=``, else the one column named like :data:`ID_NAMES` (case, spaces, dots ignored);
  several such columns or none is an error naming the candidates and the option.
* property names: mapped to the model's names (:data:`NAME_ALIASES`: ``SOC``, ``organic carbon``, ``C_org``
  -> ``OC``; ``Clay`` -> ``clay``; OSSL column names -> their property); any other column is kept under its
  own name (its unit, if written, recorded, nothing converted). The model's IC is CaCO3 equivalent: a header
  naming CaCO3 or carbonate is read so; a bare ``IC`` / ``inorganic carbon`` needs a unit saying which
  (``--unit IC=%CaCO3``, or ``--unit IC=%C``: inorganic C, converted x 100.09/12.01), else it is an error.
* units: declared (``units={"OC": "g/kg"}``, keyed by the model name or the column header) or written in the
  header (``OC [g/kg]``, ``OC (%)``, ``OC_g_kg``, ``clay_pct``, ``CEC (cmol(+)/kg)``, ``K (ppm)``,
  ``CEC meq/100g``; see :mod:`soilnb.data.units`), and converted to the model's units (% for carbon, nitrogen
  and texture, cmol(+)/kg for CEC and K, pH unitless). Without a unit, pH is unitless and a complete texture
  (clay, silt and sand) is % when its rows sum to about 100 and g/kg when they sum to about 1000; any other
  model property without a unit is an error naming the column and the fix (``units={"OC": "g/kg"}``, on the
  command line ``--unit OC=g/kg``).
* impossible units are refused whole, never half kept: a percentage above 100 (clay declared % with values up
  to 450), a pH outside 0-14, a texture declared g/kg whose rows sum to about 100 / 10 (the values are %); the
  error names the column, the values seen and the fix. Single values that are implausible but not a unit
  problem (a negative content) are left to :func:`soilnb.data.properties.property_quality`.
* cells that are not numbers are left missing and reported per column (count and examples): ``<0.1`` /
  ``>50`` (beyond a detection limit, counted apart, not replaced by the limit or half of it), ``n.d.``,
  ``bdl``, text. Blank cells and ``NA`` / ``NaN`` / ``N/A`` are just missing. A column that is mostly text
  (``site``, ``horizon``) is kept in :attr:`LabTable.text`, not a property.

:func:`~soilnb.data.labjoin.join_lab` attaches the values to the spectra (one row per spectrum, several scans of one sample all get
its values) by one of three rules and returns a :class:`~soilnb.data.labjoin.JoinResult` whose report lists spectra without a lab
row, lab rows without spectra and anything else worth a line (its ``summary()``). Ids are compared as
text, stripped, optionally case-insensitively; leading zeros are kept (``007`` is not ``7``; the report points
out ids that would match without them).

Why hand-written: ``pint`` is not installed (see :mod:`soilnb.data.units` for the unit table, the header parser and the checks), and the header
conventions of soil labs (``clay_pct``, ``CEC (cmol(+)/kg)``) are not something a general parser knows.
"""
from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from soilnb.data.units import (BLANK, MODEL_UNITS, NOTES_BY_PROPERTY, UNIT_TABLE, _example_unit, _guess_texture,
                                _impossible, _name_key, _texture_sums, _vocab_unit, conversion, ic_unit,
                                parse_cells, parse_header, parse_unit)

#: Id column names (compared after :func:`_name_key`), any one of which is taken as the id column.
ID_NAMES = ("sample_id", "sampleid", "id", "sample", "lab_id", "labid", "lab_no", "lab_nr", "lab_number",
            "sample_no", "sample_nr", "sample_number", "sample_name", "sample_code", "sample_key", "id_sample",
            "id_sample_local_c", "id_layer_local_c", "id_layer_uuid_txt", "id_scan_local_c")
class LabTableError(ValueError):
    """A lab table that cannot be read as it is: the message names the column(s), the values seen and the fix."""


# --------------------------------------------------------------------------------------------- the table
@dataclass
class LabTable:
    """A lab table in the model's names and units, one row per lab sample.

    Attributes
    ----------
    ids : ndarray of str
        The sample ids as written (stripped; leading zeros kept).
    values : DataFrame
        One float column per property (model names and units for the model's properties; other numeric
        columns under their own names, unconverted), row-aligned with ``ids``.
    units : dict
        Property -> unit of ``values`` (the model's unit as :mod:`soilnb.core.vocab` writes it, or the unit
        written for another column, or None).
    source_units : dict
        Property -> the unit the table gave (and how it was known: "declared", "header", "guessed: ...").
    columns : dict
        Property -> the column header it came from.
    cells : dict
        Property -> :class:`CellReport` for columns with cells that are not numbers.
    text : DataFrame
        Columns that are mostly text (kept, not properties).
    notes : list of str
        Conversions, guesses and anything dropped (blank rows).
    id_column, source : str
    """

    ids: np.ndarray
    values: pd.DataFrame
    units: dict = field(default_factory=dict)
    source_units: dict = field(default_factory=dict)
    columns: dict = field(default_factory=dict)
    cells: dict = field(default_factory=dict)
    text: pd.DataFrame | None = None
    notes: list = field(default_factory=list)
    id_column: str = "sample_id"
    source: str = ""

    def __post_init__(self):
        self.ids = np.asarray([str(i).strip() for i in self.ids], dtype=object).astype(str)
        self.values = self.values.reset_index(drop=True)
        if len(self.values) != self.ids.size:
            raise ValueError(f"values has {len(self.values)} rows, ids {self.ids.size}")

    @property
    def properties(self) -> list[str]:
        return list(self.values.columns)

    def __len__(self) -> int:
        return self.ids.size

    def frame(self) -> pd.DataFrame:
        """The table as a DataFrame: ``sample_id`` then the properties."""
        return pd.concat([pd.DataFrame({"sample_id": self.ids}), self.values], axis=1)

    def duplicates(self, case_insensitive: bool = False) -> dict:
        """Id -> the 1-based data rows holding it, for ids held by more than one row."""
        keys = pd.Series(_keys(self.ids, case_insensitive))
        rows = keys.groupby(keys).groups
        return {k: [int(i) + 1 for i in v] for k, v in rows.items() if len(v) > 1}

    def summary(self) -> str:
        """One line per property (column, unit given -> model unit, cells not read) and per note."""
        lines = [f"{self.source or 'lab table'}: {len(self)} samples, id column {self.id_column!r}"]
        for p in self.properties:
            line = f"  {p}: from {self.columns.get(p, p)!r}, {self.source_units.get(p) or 'no unit'}"
            if self.units.get(p) and self.units.get(p) != self.source_units.get(p):
                line += f" -> {self.units[p]}"
            line += f", {int(self.values[p].notna().sum())} values"
            if p in self.cells:
                line += f"; {self.cells[p].describe()}"
            lines.append(line)
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"LabTable({self.source or 'lab table'!r}: {len(self)} samples, properties {self.properties})"


def read_lab_table(path, id_column=None, units=None, sheet=None, *, decimal=None, properties=None) -> LabTable:
    """Read a lab table (CSV or Excel) into the model's names and units (see the module docstring).

    Parameters
    ----------
    path : str or Path
        ``.csv`` / ``.txt`` / ``.tsv`` (delimiter sniffed), ``.xlsx`` / ``.xlsm`` (needs ``openpyxl``).
    id_column : str, optional
        The column of sample ids; detected from :data:`ID_NAMES` when not given.
    units : dict, optional
        Unit per property (model name, e.g. ``"OC"``, or column header), e.g. ``{"OC": "g/kg", "K": "ppm"}``;
        overrides a unit in the header (with a note).
    sheet : str or int, optional
        Excel sheet (default the first).
    decimal : {".", ","}, optional
        The decimal mark, when the table's numbers do not tell it.
    properties : list of str, optional
        Keep only these properties (model names or headers); a name not in the table is an error.

    Raises
    ------
    LabTableError
        One message naming every column with an ambiguous or impossible unit, and the fix.
    """
    path = Path(path)
    raw = _read_raw(path, sheet)
    notes = []
    raw.columns = [str(c).strip() for c in raw.columns]
    empty_rows = raw.apply(lambda r: all(str(v).strip().lower() in BLANK for v in r), axis=1).to_numpy()
    if empty_rows.any():
        notes.append(f"{int(empty_rows.sum())} empty row(s) ignored")
        raw = raw.loc[~empty_rows].reset_index(drop=True)
    unnamed = [c for c in raw.columns if c.startswith("Unnamed:") and all(str(v).strip().lower() in BLANK
                                                                         for v in raw[c])]
    raw = raw.drop(columns=unnamed)
    idc = _id_column(raw.columns, id_column, path)
    ids = raw[idc].fillna("").astype(str).str.strip()
    no_id = (ids == "").to_numpy()
    if no_id.any():
        rows = (np.flatnonzero(no_id) + 1).tolist()
        notes.append(f"{int(no_id.sum())} row(s) without a sample id left out (data rows {rows[:10]})")
        raw, ids = raw.loc[~no_id].reset_index(drop=True), ids[~no_id].reset_index(drop=True)
    data = raw.drop(columns=[idc])
    data = _decimal(data, decimal, path, notes)
    units = dict(units or {})
    values, cells, text, columns, written = {}, {}, {}, {}, {}
    for c in data.columns:
        name, unit, prop = parse_header(c)
        v, rep = parse_cells(data[c].tolist())
        n_num, n_filled = int(np.isfinite(v).sum()), _filled(data[c])
        if n_filled == 0:
            notes.append(f"column {c!r} is empty: ignored")
            continue
        if n_num == 0 or (rep.other > n_filled / 2 and not (prop or unit or c in units)):
            text[c] = data[c].tolist()
            continue
        key = prop or name
        if key in values:
            raise LabTableError(f"{path.name}: columns {columns[key]!r} and {c!r} both give {key}; keep one "
                                f"(drop the other column or pass properties=[...])")
        values[key], columns[key], written[key] = v, c, unit
        if rep:
            cells[key] = rep
    if text:
        notes.append(f"text column(s) {list(text)} kept in .text, not properties")
    unknown = [k for k in units if k not in columns and k not in columns.values()]
    if unknown:
        raise LabTableError(f"{path.name}: units given for {unknown}, which the table does not have "
                            f"(its properties: {list(columns)})")
    if properties is not None:
        want = [next((k for k, c in columns.items() if c == p), p) for p in properties]
        missing = [p for p in want if p not in values]
        if missing:
            raise LabTableError(f"{path.name}: properties {missing} not in the table (it has {list(values)})")
        values = {k: values[k] for k in want}
    out_units, source_units, errors = {}, {}, []
    declared = {next((k for k, c in columns.items() if c == u), u): v for u, v in units.items()}
    guessed = _guess_texture(values, declared, written)
    for key in list(values):
        unit, how = _unit_of(key, written[key], declared.get(key), guessed.get(key), notes, columns[key])
        if key not in MODEL_UNITS:
            out_units[key] = source_units[key] = unit
            if unit is None:
                notes.append(f"{columns[key]!r} is not a model property: kept as {key!r} without a unit")
            continue
        target = MODEL_UNITS[key]
        canon, to_caco3, bad = ic_unit(columns[key], unit) if key == "IC" else (parse_unit(unit), 1.0, None)
        if bad:
            errors.append(bad)
            continue
        if unit is None:
            errors.append(f"column {columns[key]!r} ({key}): no unit in the header and none declared; declare it, "
                          f"e.g. units={{{key!r}: {_example_unit(target)!r}}} (command line --unit "
                          f"{key}={_example_unit(target)})")
            continue
        if canon is None:
            errors.append(f"column {columns[key]!r} ({key}): unit {unit!r} is not one this reader knows "
                          f"({', '.join(UNIT_TABLE)}); declare one, e.g. units={{{key!r}: {_example_unit(target)!r}}}")
            continue
        try:
            f = conversion(key, canon, target) * to_caco3
        except ValueError:
            errors.append(f"column {columns[key]!r} ({key}): unit {unit!r} cannot be converted to the model's "
                          f"{_vocab_unit(key)}; declare the right one, e.g. units={{{key!r}: {_example_unit(target)!r}}}")
            continue
        converted = values[key] * f
        bad = _impossible(key, columns[key], values[key], converted, canon)
        if bad:
            errors.append(bad)
            continue
        values[key] = converted
        out_units[key], source_units[key] = _vocab_unit(key), f"{unit} ({how})"
        if f != 1.0:
            notes.append(f"{key}: {unit} -> {_vocab_unit(key)} (x {f:.6g})")
        if key in NOTES_BY_PROPERTY:
            notes.append(NOTES_BY_PROPERTY[key])
    errors += _texture_sums(values, columns, source_units, errors)
    if errors:
        raise LabTableError(f"{path.name}: " + "\n".join(errors))
    return LabTable(ids=ids.to_numpy(), values=pd.DataFrame(values, index=range(len(ids))), units=out_units,
                    source_units=source_units, columns=columns, cells=cells,
                    text=pd.DataFrame(text) if text else None, notes=notes, id_column=idc, source=str(path))


def _filled(cells) -> int:
    """The number of cells that are not blank."""
    return int(sum(str(c).strip().lower() not in BLANK for c in cells))


def _read_raw(path: Path, sheet) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(f"lab table {path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
        engine = {".xls": "xlrd", ".ods": "odf"}.get(suffix, "openpyxl")
        package = {"xlrd": "xlrd", "odf": "odfpy"}.get(engine, "openpyxl")
        if importlib.util.find_spec(engine) is None:
            raise LabTableError(f"lab table {path.name}: reading {suffix} files needs the {package} package, which "
                                f"soilnb does not install; save the sheet as .xlsx or CSV (or pip install {package})")
        return pd.read_excel(path, sheet_name=0 if sheet is None else sheet, dtype=str, keep_default_na=False,
                             engine=engine)
    try:
        return pd.read_csv(path, sep=None, engine="python", dtype=str, keep_default_na=False,
                           skipinitialspace=True, encoding_errors="replace")
    except pd.errors.ParserError as exc:
        raise LabTableError(f"lab table {path.name}: cannot tell its delimiter or columns ({exc})") from exc


def _id_column(columns, given, path: Path) -> str:
    cols = list(columns)
    if given is not None:
        if given not in cols:
            raise LabTableError(f"{path.name}: no id column {given!r} (columns: {cols})")
        return given
    found = [c for c in cols if _name_key(c) in ID_NAMES]
    if len(found) == 1:
        return found[0]
    if found:
        raise LabTableError(f"{path.name}: several columns could be the sample id: {found}; pick one with "
                            f"id_column={found[0]!r} (command line --id-column {found[0]!r})")
    raise LabTableError(f"{path.name}: no sample-id column found (looked for {list(ID_NAMES[:6])}...; columns: "
                        f"{cols}); name it with id_column=... (command line --id-column NAME)")


_COMMA_NUMBER = re.compile(r"^([<>]=?\s*)?[+-]?\d+,\d+$")
_DOT_NUMBER = re.compile(r"^[+-]?\d*\.\d+$")


def _decimal(data: pd.DataFrame, decimal, path: Path, notes) -> pd.DataFrame:
    """``data`` with decimal commas turned into points when the table uses them (see the module docstring)."""
    cells = [str(v).strip() for c in data.columns for v in data[c]]
    comma = [s for s in cells if _COMMA_NUMBER.match(s)]
    if decimal == "." or not comma:
        return data
    if decimal is None:
        dots = [s for s in cells if _DOT_NUMBER.match(s)]
        if dots:
            raise LabTableError(f"{path.name}: numbers with a decimal point ({dots[:3]}) and with a comma "
                                f"({comma[:3]}); pass decimal='.' or decimal=','")
        if all(len(s.split(",")[1]) == 3 for s in comma):
            raise LabTableError(f"{path.name}: {comma[:3]} may be decimal commas or thousands separators; "
                                "pass decimal=',' or decimal='.'")
        notes.append(f"decimal comma read as a decimal point ({len(comma)} cells, e.g. {comma[0]!r})")
    return data.apply(lambda col: col.map(lambda s: s.replace(",", ".") if _COMMA_NUMBER.match(str(s).strip())
                                          else s))


def _unit_of(key, written, declared, guessed, notes, column):
    """``(unit, how)`` of one property: declared over written in the header over guessed."""
    if declared is not None:
        if written is not None and parse_unit(written) != parse_unit(declared):
            notes.append(f"{column!r}: declared unit {declared!r} used, not {written!r} of the header")
        return declared, "declared"
    if written is not None:
        return written, "header"
    if guessed is not None:
        return guessed
    if MODEL_UNITS.get(key) == "pH":
        return "pH", "pH is unitless"
    return None, ""


def _keys(ids, case_insensitive: bool) -> np.ndarray:
    out = np.asarray([str(i).strip() for i in ids], dtype=object)
    if case_insensitive:
        out = np.asarray([s.casefold() for s in out], dtype=object)
    return out.astype(str)
