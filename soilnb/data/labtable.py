"""Lab values meet spectra: a laboratory table (CSV or Excel) read into the model's names and units, and joined
to a :class:`~soilnb.data.library.SpectralLibrary` by sample id, with everything that did not join reported.

:func:`read_lab_table` gives a :class:`LabTable`:

* the file: CSV with any delimiter ``csv.Sniffer`` recognises (``,``, ``;``, tab, ``|``); a decimal comma is
  accepted when it is unambiguous (no cell of the table uses a decimal point and not every comma number has
  exactly three digits after the comma, which would read as a thousands separator); otherwise ``decimal=``.
  Excel (``.xlsx``, ``.xlsm``) through ``openpyxl``, which this project does not install: without it the error
  says ``pip install openpyxl``. Every cell is read as text, so ids keep their leading zeros.
* the id column: ``id_column=``, else the one column named like :data:`ID_NAMES` (case, spaces, dots ignored);
  several such columns or none is an error naming the candidates and the option.
* property names: mapped to the model's names (:data:`NAME_ALIASES`: ``SOC``, ``organic carbon``, ``C_org``
  -> ``OC``; ``Clay`` -> ``clay``; OSSL column names -> their property); any other column is kept under its
  own name (its unit, if written, recorded, nothing converted).
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

:func:`join_lab` attaches the values to the spectra (one row per spectrum, several scans of one sample all get
its values) by one of three rules and returns a :class:`JoinResult` whose report lists spectra without a lab
row, lab rows without spectra and anything else worth a line (:meth:`JoinResult.summary`). Ids are compared as
text, stripped, optionally case-insensitively; leading zeros are kept (``007`` is not ``7``; the report points
out ids that would match without them).

Why hand-written: ``pint`` is not installed (see :mod:`soilnb.data.units` for the unit table), and the header
conventions of soil labs (``clay_pct``, ``CEC (cmol(+)/kg)``) are not something a general parser knows.
"""
from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from soilnb.core.vocab import EXTRA_OSSL_COLUMNS, OSSL_COLUMNS, PAPER_NAMES, PROPERTIES, TEXTURE, UNITS, EXTRA_UNITS
from soilnb.data.library import SpectralLibrary
from soilnb.data.properties import TEXTURE_TOLERANCE
from soilnb.data.units import MODEL_UNITS, UNIT_TABLE, conversion, parse_unit

#: Id column names (compared after :func:`_name_key`), any one of which is taken as the id column.
ID_NAMES = ("sample_id", "sampleid", "id", "sample", "lab_id", "labid", "lab_no", "lab_nr", "lab_number",
            "sample_no", "sample_nr", "sample_number", "sample_name", "sample_code", "sample_key", "id_sample",
            "id_sample_local_c", "id_layer_local_c", "id_layer_uuid_txt", "id_scan_local_c")
#: Written property names (after :func:`_name_key`) -> the model's name. The model names themselves, their paper
#: spellings and the OSSL column names are added below.
NAME_ALIASES: dict[str, str] = {
    "oc": "OC", "soc": "OC", "organic_carbon": "OC", "soil_organic_carbon": "OC", "org_c": "OC", "c_org": "OC",
    "corg": "OC", "organic_c": "OC", "toc": "OC",
    "tc": "TC", "total_carbon": "TC", "c_tot": "TC", "ctot": "TC", "total_c": "TC", "c_total": "TC",
    "tn": "TN", "n": "TN", "total_nitrogen": "TN", "nitrogen": "TN", "n_tot": "TN", "ntot": "TN", "total_n": "TN",
    "n_total": "TN",
    "ic": "IC", "caco3": "IC", "caco3_eq": "IC", "carbonate": "IC", "carbonates": "IC", "calcium_carbonate": "IC",
    "eoc": "EOC",
    "ph": "pH", "ph_h2o": "pH", "ph_water": "pH", "ph_1_1_h2o": "pH", "ph_h20": "pH",
    "cec": "CEC", "cation_exchange_capacity": "CEC", "cec_nh4oac": "CEC",
    "clay": "clay", "silt": "silt", "sand": "sand", "clay_content": "clay", "silt_content": "silt",
    "sand_content": "sand",
    "som": "SOM", "organic_matter": "SOM", "soil_organic_matter": "SOM", "om": "SOM",
    "k": "K", "potassium": "K", "exch_k": "K", "k_exch": "K", "exchangeable_k": "K", "k_ex": "K", "k_ext": "K",
    "exchangeable_potassium": "K",
}
#: Cells read as plain missing values (not reported).
BLANK = {"", "na", "nan", "n/a", "#n/a", "null", "none"}
#: Model properties whose name or unit is ambiguous enough to say so in a note (IC: CaCO3 equivalent, not C).
NOTES_BY_PROPERTY = {"IC": "IC is read as % CaCO3 equivalent (as the model's IC); inorganic C as C would be "
                           "12 % of it"}


def _name_key(text) -> str:
    return re.sub(r"[^a-z0-9%]+", "_", str(text).strip().lower()).strip("_")


def _build_aliases() -> dict[str, str]:
    out = dict(NAME_ALIASES)
    for p in (*PROPERTIES, *EXTRA_UNITS):
        out.setdefault(_name_key(p), "OC" if p == "SOC" else p)
    for p, name in PAPER_NAMES.items():
        out.setdefault(_name_key(name), p)
    return out


_ALIASES = _build_aliases()
#: OSSL soillab columns -> (model name, unit written in the column name).
_OSSL = {c: (p, parse_unit(c.rsplit("_", 1)[-1].replace(".", "/"))) for p, c in (OSSL_COLUMNS | EXTRA_OSSL_COLUMNS).items()}


class LabTableError(ValueError):
    """A lab table that cannot be read as it is: the message names the column(s), the values seen and the fix."""


# --------------------------------------------------------------------------------------------- headers
def parse_header(header) -> tuple[str, str | None, str | None]:
    """``(name, unit written, model name or None)`` of a column header.

    The unit is taken from brackets at the end (``OC [g/kg]``, ``OC (%)``, ``CEC (cmol(+)/kg)``), a trailing
    ``%`` (``clay%``) or a suffix after a separator (``OC_g_kg``, ``clay_pct``, ``K ppm``); brackets holding
    something else (``pH (H2O)``) stay part of the name. OSSL column names give their property and unit.

    >>> parse_header("CEC (cmol(+)/kg)"), parse_header("OC_g_kg"), parse_header("pH (H2O)")
    (('CEC', 'cmol(+)/kg', 'CEC'), ('OC', 'g_kg', 'OC'), ('pH (H2O)', None, 'pH'))
    """
    h = str(header).strip()
    if h in _OSSL:
        prop, unit = _OSSL[h]
        return h, unit, prop
    name, unit = h, None
    closing = {"(": ")", "[": "]", "{": "}"}
    for i, ch in enumerate(h):
        if ch in closing and i > 0 and h.endswith(closing[ch]) and parse_unit(h[i + 1:-1]) is not None:
            name, unit = h[:i].strip(), h[i + 1:-1].strip()
            break
    else:
        if h.endswith("%") and len(h) > 1:
            name, unit = h[:-1].rstrip(" _.-"), "%"
        else:
            for m in re.finditer(r"[^A-Za-z0-9%]+", h):
                tail = h[m.end():]
                if m.start() > 0 and tail and parse_unit(tail) not in (None, "pH"):
                    name, unit = h[:m.start()], tail
                    break
    return name, unit, _ALIASES.get(_name_key(name))


# --------------------------------------------------------------------------------------------- cells
@dataclass
class CellReport:
    """The cells of one column that are not numbers: ``limit`` (``<0.1``, ``>50``) and ``other`` (``n.d.``,
    text), each a count and up to five examples."""

    limit: int = 0
    limit_examples: list = field(default_factory=list)
    other: int = 0
    other_examples: list = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.limit or self.other)

    def describe(self) -> str:
        parts = []
        if self.other:
            parts.append(f"{self.other} non-numeric cell(s) left missing, e.g. {self.other_examples}")
        if self.limit:
            parts.append(f"{self.limit} value(s) beyond a detection limit left missing (not replaced by the "
                         f"limit), e.g. {self.limit_examples}")
        return "; ".join(parts)


_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_LIMIT = re.compile(r"^[<>]=?\s*[+-]?(\d+\.?\d*|\.\d+)$")


def parse_cells(cells) -> tuple[np.ndarray, CellReport]:
    """Text cells as floats (NaN where missing) and what was not a number. No cell is coerced: ``<0.1`` is NaN."""
    out = np.full(len(cells), np.nan)
    rep = CellReport()
    for i, c in enumerate(cells):
        s = "" if c is None or (isinstance(c, float) and np.isnan(c)) else str(c).strip()
        if s.lower() in BLANK:
            continue
        if _NUMBER.match(s):
            out[i] = float(s)
        elif _LIMIT.match(s):
            rep.limit += 1
            if s not in rep.limit_examples and len(rep.limit_examples) < 5:
                rep.limit_examples.append(s)
        else:
            rep.other += 1
            if s not in rep.other_examples and len(rep.other_examples) < 5:
                rep.other_examples.append(s)
    return out, rep


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
        if unit is None:
            errors.append(f"column {columns[key]!r} ({key}): no unit in the header and none declared; declare it, "
                          f"e.g. units={{{key!r}: {_example_unit(target)!r}}} (command line --unit "
                          f"{key}={_example_unit(target)})")
            continue
        canon = parse_unit(unit)
        if canon is None:
            errors.append(f"column {columns[key]!r} ({key}): unit {unit!r} is not one this reader knows "
                          f"({', '.join(UNIT_TABLE)}); declare one, e.g. units={{{key!r}: {_example_unit(target)!r}}}")
            continue
        try:
            f = conversion(key, canon, target)
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


def _vocab_unit(prop: str) -> str:
    return (UNITS | EXTRA_UNITS)[prop]


def _example_unit(target: str) -> str:
    return {"%": "g/kg", "cmol/kg": "cmol/kg", "pH": "pH"}[target]


def _read_raw(path: Path, sheet) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(f"lab table {path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
        engine = {".xls": "xlrd", ".ods": "odf"}.get(suffix, "openpyxl")
        package = {"xlrd": "xlrd", "odf": "odfpy"}.get(engine, "openpyxl")
        if importlib.util.find_spec(engine) is None:
            raise ImportError(f"reading {path.name} needs the {package} package, which is not installed: "
                              f"pip install {package} (or save the sheet as CSV)")
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


def _guess_texture(values, declared, written) -> dict:
    """Units of clay, silt and sand without one: % when complete rows sum to about 100, g/kg to about 1000."""
    if not all(t in values for t in TEXTURE) or any(declared.get(t) or written.get(t) for t in TEXTURE):
        return {}
    total = sum(values[t] for t in TEXTURE)
    total = total[np.isfinite(total)]
    if total.size == 0:
        return {}
    med = float(np.median(total))
    for unit, scale in (("%", 100.0), ("g/kg", 1000.0)):
        if abs(med - scale) <= TEXTURE_TOLERANCE * scale / 100:
            return {t: (unit, f"guessed: clay + silt + sand median {med:.4g}") for t in TEXTURE}
    return {}


def _impossible(key, column, raw, converted, unit) -> str | None:
    """The error for a column whose values cannot be in its unit, or None."""
    v = converted[np.isfinite(converted)]
    r = raw[np.isfinite(raw)]
    if v.size == 0:
        return None
    target = MODEL_UNITS[key]
    seen = f"values {np.min(r):g} to {np.max(r):g}"
    if target == "%" and np.max(v) > 100:
        n = int((v > 100).sum())
        hint = ("g/kg" if np.max(v) <= 1000 else "mg/kg")
        return (f"column {column!r} ({key}) in {unit}: {seen}, {n} of {v.size} above 100 % -- impossible; the "
                f"values look like {hint}: declare units={{{key!r}: {hint!r}}} (command line --unit {key}={hint}); "
                "the whole column is refused, none of its values kept")
    if target == "pH" and (np.min(v) < 0 or np.max(v) > 14):
        return (f"column {column!r} ({key}): {seen}, outside 0-14 -- not a pH; check the column "
                "(the whole column is refused)")
    return None


def _texture_sums(values, columns, source_units, errors) -> list:
    """An error when a complete texture, converted to %, sums to about 10 (g/kg declared, % given) or 1."""
    if not all(t in values and t in source_units for t in TEXTURE):
        return []
    total = sum(values[t] for t in TEXTURE)
    total = total[np.isfinite(total)]
    if total.size == 0:
        return []
    med = float(np.median(total))
    cols = [columns[t] for t in TEXTURE]
    for scale, what, fix in ((10.0, "%", "%"), (1.0, "fractions (0-1)", None), (0.1, "%", "%")):
        if abs(med - scale) <= TEXTURE_TOLERANCE * scale / 100:
            units = {t: source_units[t] for t in TEXTURE}
            how = (f"declare units={{'clay': {fix!r}, 'silt': {fix!r}, 'sand': {fix!r}}}" if fix
                   else "give them in % (x 100)")
            return [f"columns {cols} in {units}: clay + silt + sand sums to {med:.3g} % (median of {total.size} "
                    f"rows), not 100 -- the values look like {what}; {how}; the columns are refused, none kept"]
    return []


# --------------------------------------------------------------------------------------------- the join
RULES = ("stem", "pattern", "column")


def _keys(ids, case_insensitive: bool) -> np.ndarray:
    out = np.asarray([str(i).strip() for i in ids], dtype=object)
    if case_insensitive:
        out = np.asarray([s.casefold() for s in out], dtype=object)
    return out.astype(str)


@dataclass
class JoinResult:
    """Spectra with their lab values, and what did not join.

    Attributes
    ----------
    library : SpectralLibrary
        Every spectrum of the input (one row per spectrum, same order), the lab properties added (NaN for a
        spectrum without lab row); ``sample_id`` is the lab id for joined spectra (so the scans of one sample
        are grouped), the spectrum's own id otherwise; ``meta["spectrum_id"]`` keeps the ids as read and
        ``meta["lab_joined"]`` says which rows joined.
    rule : str
        ``stem``, ``pattern`` or ``column``, with ``how`` describing it (the pattern or the column).
    keys : ndarray of str
        The key each spectrum was joined on ("" where a pattern did not match).
    joined : ndarray of bool
    spectra_without_lab : DataFrame
        ``spectrum_id``, ``file``, ``key``, ``reason`` of each spectrum without a lab row.
    lab_without_spectra : list of str
        Lab ids no spectrum has.
    notes : list of str
    """

    library: SpectralLibrary
    rule: str
    how: str
    keys: np.ndarray
    joined: np.ndarray
    spectra_without_lab: pd.DataFrame
    lab_without_spectra: list
    notes: list = field(default_factory=list)
    lab: LabTable | None = None

    def matched(self) -> SpectralLibrary:
        """The spectra that have lab values."""
        return self.library.subset(self.joined)

    @property
    def n_samples(self) -> int:
        return int(np.unique(self.keys[self.joined]).size)

    def summary(self) -> str:
        """One line for the join, then one line per issue (spectra without lab row, lab rows without spectra,
        notes)."""
        lines = [f"joined {int(self.joined.sum())} of {self.joined.size} spectra to {self.n_samples} lab samples "
                 f"(rule {self.rule}: {self.how})"]
        n = len(self.spectra_without_lab)
        if n:
            ids = self.spectra_without_lab["spectrum_id"].tolist()
            lines.append(f"{n} spectr{'um' if n == 1 else 'a'} without a lab row: {_listed(ids)}")
        m = len(self.lab_without_spectra)
        if m:
            lines.append(f"{m} lab row(s) without spectra: {_listed(self.lab_without_spectra)}")
        lines += self.notes
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"JoinResult({self.summary()})"


def _listed(ids, k: int = 20) -> str:
    ids = [str(i) for i in ids]
    return ", ".join(ids[:k]) + (f", ... ({len(ids) - k} more)" if len(ids) > k else "")


def join_lab(lib: SpectralLibrary, lab: LabTable, rule: str = "stem", pattern=None, column=None, *,
             case_insensitive: bool = False) -> JoinResult:
    """Attach ``lab``'s values to the spectra of ``lib`` (one row per spectrum; every scan of a sample gets its
    values) and report what did not join.

    Parameters
    ----------
    rule : {"stem", "pattern", "column"}
        ``stem``: the spectrum's sample id as read (the file stem for OPUS and ASD files, the id column of a
        spectra table). ``pattern``: ``pattern``, a regular expression with one group or a group named ``id``,
        searched in each spectrum's file name (``meta["source_file"]``; the sample id where there is none),
        e.g. ``r"^(\\d+)XS"`` takes ``235157`` from ``235157XS01.0``. ``column``: ``column``, another column
        of a spectra table (``meta["extra"]``), or ``sample_id``.
    case_insensitive : bool
        Compare ids case-insensitively (always as text, stripped; leading zeros are kept).

    Raises
    ------
    ValueError
        Duplicated lab ids (naming them and their rows), a pattern without one group, an unknown column or rule.
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    dup = lab.duplicates(case_insensitive)
    if dup:
        listed = "; ".join(f"{k!r} rows {v}" for k, v in list(dup.items())[:10])
        raise ValueError(f"{lab.source or 'lab table'}: {len(dup)} sample id(s) appear more than once: {listed}"
                         f"{' ...' if len(dup) > 10 else ''}; keep one row per sample (average repeats first)")
    files = lib.meta.get("source_file")
    names = (np.asarray([Path(str(f)).name for f in files]) if files is not None else lib.sample_id)
    if rule == "stem":
        raw, how = lib.sample_id, "the spectra's sample ids as read (file stems for OPUS/ASD)"
    elif rule == "pattern":
        if pattern is None:
            raise ValueError("rule='pattern' needs pattern=, e.g. r'^(\\d+)XS'")
        rx = re.compile(pattern)
        if "id" not in rx.groupindex and rx.groups != 1:
            raise ValueError(f"pattern {pattern!r} must have one group or a group named 'id' (it has {rx.groups})")
        raw = np.asarray([_match(rx, str(n)) for n in names], dtype=object)
        how = f"pattern {pattern!r} on the file names"
    else:
        raw, how = _column_ids(lib, column), f"column {column!r} of the spectra table"
    keys = _keys(raw, case_insensitive)
    lab_keys = _keys(lab.ids, case_insensitive)
    pos = pd.Index(lab_keys).get_indexer(keys)
    pos[keys == ""] = -1
    joined = pos >= 0
    notes = []
    props = lib.properties.copy()
    clash = [p for p in lab.properties if p in props.columns and props[p].notna().any()]
    if clash:
        notes.append(f"the spectra already carried {clash}: replaced by the lab values")
    values = lab.values.reindex(index=np.where(joined, pos, -1)).reset_index(drop=True)
    values.loc[~joined] = np.nan
    for p in lab.properties:
        props[p] = values[p].to_numpy(float)
    reason = np.where(np.asarray(raw, dtype=object) == "", "the pattern did not match the file name",
                      "no lab row with this id")
    miss = np.flatnonzero(~joined)
    without = pd.DataFrame({"spectrum_id": lib.sample_id[miss], "file": names[miss], "key": keys[miss],
                            "reason": reason[miss]})
    used = set(keys[joined])
    lab_only = [i for i, k in zip(lab.ids, lab_keys) if k not in used]
    notes += _near_misses(keys[miss], lab_keys, lab_only)
    if (reason[miss] != "no lab row with this id").any():
        notes.append(f"{int((reason[miss] != 'no lab row with this id').sum())} file name(s) not matched by "
                     f"the pattern: {_listed(names[miss][reason[miss] != 'no lab row with this id'], 5)}")
    sample_id = np.where(joined, np.asarray(lab.ids, dtype=object)[np.maximum(pos, 0)], lib.sample_id).astype(str)
    meta = dict(lib.meta) | {"spectrum_id": lib.sample_id.copy(), "lab_joined": joined}
    out = replace(lib, sample_id=sample_id, properties=props, meta=meta)
    return JoinResult(library=out, rule=rule, how=how + (", case-insensitive" if case_insensitive else ""),
                      keys=keys, joined=joined, spectra_without_lab=without, lab_without_spectra=lab_only,
                      notes=notes, lab=lab)


def _match(rx: re.Pattern, name: str) -> str:
    m = rx.search(name)
    if m is None:
        return ""
    return m.group("id") if "id" in rx.groupindex else m.group(1)


def _column_ids(lib: SpectralLibrary, column) -> np.ndarray:
    if column is None:
        raise ValueError("rule='column' needs column=, the id column of the spectra table")
    extra = pd.DataFrame(lib.meta["extra"]) if "extra" in lib.meta else pd.DataFrame()
    if column in extra.columns:
        return extra[column].astype(str).to_numpy()
    if column == "sample_id":
        return lib.sample_id
    raise ValueError(f"the spectra have no column {column!r} (their table columns besides the spectra: "
                     f"{['sample_id', *map(str, extra.columns)]})")


def _near_misses(keys, lab_keys, lab_only) -> list:
    """Notes for unjoined spectrum ids that equal a lab id but for case or leading zeros."""
    if not len(keys) or not lab_only:
        return []
    folded = {k.casefold().lstrip("0"): k for k in lab_keys}
    pairs = [(k, folded[k.casefold().lstrip("0")]) for k in dict.fromkeys(keys)
             if k and k.casefold().lstrip("0") in folded]
    if not pairs:
        return []
    shown = ", ".join(f"{a!r} ~ {b!r}" for a, b in pairs[:5])
    return [f"{len(pairs)} unjoined id(s) equal a lab id but for case or leading zeros ({shown}); ids are "
            "compared exactly (leading zeros kept): fix the ids, or pass case_insensitive=True for case"]
