"""Units of soil laboratory values: the few a soil lab reports, parsed from how they are written, and converted to
the units the models use (:data:`soilnb.core.vocab.UNITS`, :data:`~soilnb.core.vocab.EXTRA_UNITS`).

Why a hand-written table and not a units library (``pint``): ``pint`` is not a dependency of this project, and
the conversions soil labs need are few and not all dimensional: ``meq/100g`` equals ``cmol(+)/kg`` only by the
charge convention of exchange chemistry, and ``mg/kg`` of potassium becomes ``cmol(+)/kg`` only through the
ion's molar mass and charge (1 cmol(+)/kg K = 0.01 mol x 39.10 g/mol / 1 = 391 mg/kg). An explicit table of
these conversions, each with its factor written out, is easier to check than a general library configured to
do the same.

Three kinds of unit:

* mass fraction: ``%`` (also ``wt%``, ``pct``, ``g/100g``), ``g/kg`` (= % x 10), ``mg/kg`` (= ``ppm``, % x 10,000);
* charge per mass: ``cmol/kg`` (also ``cmolc/kg``, ``cmol(+)/kg``), ``meq/100g`` (= cmol/kg), ``mmolc/kg``
  (= cmol/kg x 10);
* pH: unitless (``-``, ``pH units``, ``index``).

A mass fraction of an ion (K, Ca, Mg, Na) converts to charge per mass with :data:`IONS`.

Also here, for :mod:`soilnb.data.labtable`: how lab columns are written (:func:`parse_header`: names mapped to
the model's, units in brackets or suffixes), their cells (:func:`parse_cells`: numbers, detection limits,
text) and the checks that refuse a unit the values cannot be in.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from soilnb.core.vocab import EXTRA_OSSL_COLUMNS, EXTRA_UNITS, OSSL_COLUMNS, PAPER_NAMES, PROPERTIES, TEXTURE, UNITS
from soilnb.data.properties import TEXTURE_TOLERANCE

#: Canonical unit -> (kind, factor to the kind's base unit: % for mass, cmol/kg for charge, pH for pH).
UNIT_TABLE: dict[str, tuple[str, float]] = {
    "%": ("mass", 1.0),
    "g/kg": ("mass", 0.1),
    "mg/kg": ("mass", 1e-4),
    "cmol/kg": ("charge", 1.0),
    "meq/100g": ("charge", 1.0),
    "mmolc/kg": ("charge", 0.1),
    "pH": ("pH", 1.0),
}
#: How each canonical unit may be written (compared after :func:`unit_key`).
UNIT_ALIASES: dict[str, tuple[str, ...]] = {
    "%": ("%", "pct", "percent", "perc", "wt%", "wt_%", "wt_pct", "w_%", "w_pct", "mass_%", "g_100g", "g_100_g",
          "dag_kg", "dag_kg_1"),
    "g/kg": ("g_kg", "g_kg_1", "gkg", "g_per_kg", "mg_g", "mg_g_1"),
    "mg/kg": ("mg_kg", "mg_kg_1", "mgkg", "ppm", "ug_g", "ug_g_1", "mg_per_kg"),
    "cmol/kg": ("cmol_kg", "cmolc_kg", "cmol_kg_1", "cmolc_kg_1", "cmol_c_kg", "cmol", "cmolc", "cmol_per_kg"),
    "meq/100g": ("meq_100g", "meq_100_g", "meq_100gr", "me_100g", "me_100_g", "meq"),
    "mmolc/kg": ("mmolc_kg", "mmolc_kg_1", "mmol_c_kg"),
    "pH": ("", "ph", "unitless", "index", "ph_units", "ph_unit", "none", "dimensionless"),
}
_BY_KEY = {a: u for u, aliases in UNIT_ALIASES.items() for a in aliases}
#: Ion -> (molar mass in g/mol, charge): 1 cmol(+)/kg = 10 x molar mass / charge mg/kg (K: 391 mg/kg).
IONS: dict[str, tuple[float, int]] = {"K": (39.10, 1), "Ca": (40.08, 2), "Mg": (24.305, 2), "Na": (22.99, 1)}


def unit_key(text) -> str:
    """A written unit reduced for lookup: lower case, ``(+)`` and ``+`` removed, any run of other characters
    than letters, digits and ``%`` as one ``_`` (``"cmol(+)/kg"`` -> ``"cmol_kg"``, ``"g kg-1"`` -> ``"g_kg_1"``)."""
    s = str(text).strip().lower().replace("(+)", "").replace("+", "").replace("µ", "u").replace("μ", "u")
    return re.sub(r"[^a-z0-9%]+", "_", s).strip("_")


def parse_unit(text) -> str | None:
    """The canonical unit (a key of :data:`UNIT_TABLE`) of a written unit, or None when it is not one.

    >>> [parse_unit(u) for u in ("g/kg", "cmol(+)/kg", "ppm", "meq/100 g", "wt.%", "furlong")]
    ['g/kg', 'cmol/kg', 'mg/kg', 'meq/100g', '%', None]
    """
    return _BY_KEY.get(unit_key(text))


def model_unit(vocab_unit: str) -> str:
    """The canonical unit of a unit as :mod:`soilnb.core.vocab` writes it (``"wt%"`` -> ``%``,
    ``"cmolc/kg"`` -> ``cmol/kg``, ``"pH (1:1 H2O)"`` -> ``pH``)."""
    if vocab_unit.startswith("pH"):
        return "pH"
    if "%" in vocab_unit:
        return "%"
    if "cmol" in vocab_unit:
        return "cmol/kg"
    raise ValueError(f"unknown model unit {vocab_unit!r}")


#: The model's unit of each property it knows (canonical units of :data:`UNIT_TABLE`).
MODEL_UNITS: dict[str, str] = {p: model_unit(u) for p, u in (UNITS | EXTRA_UNITS).items()}


def conversion(prop: str, unit: str, target: str) -> float:
    """The factor that turns values of ``prop`` in ``unit`` into ``target`` (canonical units); a ValueError
    when the two are of different kinds and no ion rule joins them.

    >>> conversion("OC", "g/kg", "%"), conversion("CEC", "meq/100g", "cmol/kg"), round(conversion("K", "mg/kg", "cmol/kg"), 6)
    (0.1, 1.0, 0.002558)
    """
    kind, f = UNIT_TABLE[unit]
    tkind, tf = UNIT_TABLE[target]
    if kind == tkind:
        return f / tf
    if kind == "mass" and tkind == "charge" and prop in IONS:
        mass, charge = IONS[prop]
        mg_per_kg = f * 1e4                                  # 1 unit of ``unit`` in mg/kg
        return mg_per_kg / (10.0 * mass / charge) / tf       # 1 cmol(+)/kg = 10 M / z mg/kg
    raise ValueError(f"{prop}: {unit} cannot be converted to {target}")


# --------------------------------------------------------------------------------------------- names
#: Written property names (after :func:`_name_key`) -> the model's name. The model names themselves, their paper
#: spellings and the OSSL column names are added below.
NAME_ALIASES: dict[str, str] = {
    "oc": "OC", "soc": "OC", "organic_carbon": "OC", "soil_organic_carbon": "OC", "org_c": "OC", "c_org": "OC",
    "corg": "OC", "organic_c": "OC", "toc": "OC",
    "tc": "TC", "total_carbon": "TC", "c_tot": "TC", "ctot": "TC", "total_c": "TC", "c_total": "TC",
    "tn": "TN", "n": "TN", "total_nitrogen": "TN", "nitrogen": "TN", "n_tot": "TN", "ntot": "TN", "total_n": "TN",
    "n_total": "TN",
    "ic": "IC", "caco3": "IC", "caco3_eq": "IC", "carbonate": "IC", "carbonates": "IC", "calcium_carbonate": "IC",
    "inorganic_carbon": "IC", "inorganic_c": "IC", "c_inorg": "IC", "tic": "IC",
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
NOTES_BY_PROPERTY = {"IC": "IC is the model's CaCO3 equivalent (%); inorganic carbon given as C is converted "
                           "(x 100.09 / 12.01)"}
#: Inorganic carbon as C -> as CaCO3 equivalent (the model's IC): molar mass of CaCO3 over that of C.
IC_C_TO_CACO3 = 100.09 / 12.01


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


# --------------------------------------------------------------------------------------------- headers
def parse_header(header) -> tuple[str, str | None, str | None]:
    """``(name, unit written, model name or None)`` of a column header.

    The unit is taken from brackets at the end (``OC [g/kg]``, ``OC (%)``, ``CEC (cmol(+)/kg)``), a trailing
    ``%`` (``clay%``) or a suffix after a separator (``OC_g_kg``, ``clay_pct``, ``K ppm``); brackets holding
    something else stay part of the name for pH (``pH (H2O)``, ``pH (CaCl2)``: the latter is not the model's
    pH and is kept under its own name) and are an unknown unit for the other model properties. OSSL column names give their property and unit.

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
    prop = _ALIASES.get(_name_key(name))
    m = re.match(r"^(.*?)\s*[\[(](.+)[\])]$", h)
    if unit is None and prop is None and m and _ALIASES.get(_name_key(m.group(1))) not in (None, "pH"):
        return m.group(1), m.group(2).strip(), _ALIASES[_name_key(m.group(1))]   # a unit this reader does not know
    return name, unit, prop


def ic_basis(unit) -> tuple[str | None, str | None]:
    """``(mass unit, basis)`` of a unit written for inorganic carbon: basis ``"CaCO3"`` (``%CaCO3``,
    ``g/kg CaCO3``, ``wt% CaCO3 eq.``), ``"C"`` (``%C``, ``g/kg C``) or None (the unit alone).

    >>> ic_basis("%CaCO3"), ic_basis("g/kg C"), ic_basis("%")
    (('%', 'CaCO3'), ('g/kg', 'C'), ('%', None))
    """
    k = unit_key(unit)
    for basis, tail in (("CaCO3", "caco3_eq"), ("CaCO3", "caco3"), ("C", "c")):
        head = _BY_KEY.get(k[:-len(tail)].rstrip("_")) if k.endswith(tail) else None
        if head is not None and UNIT_TABLE[head][0] == "mass":
            return head, basis
    return parse_unit(unit), None


def ic_unit(header, unit) -> tuple[str | None, float, str | None]:
    """``(mass unit, extra factor, error)`` of an IC column: a header naming CaCO3 or carbonate is CaCO3
    equivalent as it is; a bare one (``IC``, ``inorganic carbon``) needs a unit saying CaCO3 (``%CaCO3``) or C
    (``%C``, converted x :data:`IC_C_TO_CACO3` to CaCO3 equivalent), else the error says so."""
    canon, basis = ic_basis(unit) if unit is not None else (None, None)
    if basis is None and any(w in _name_key(header) for w in ("caco3", "carbonat")):
        basis = "CaCO3"
    if basis is None:
        return None, 1.0, (f"column {header!r} (IC): inorganic carbon without its basis -- the model's IC is CaCO3 "
                           f"equivalent (%), and labs also report it as C (x {IC_C_TO_CACO3:.3g} between the two); "
                           "declare which, e.g. units={'IC': '%CaCO3'} or units={'IC': '%C'} (command line "
                           "--unit IC=%CaCO3 or --unit IC=%C)")
    return canon, IC_C_TO_CACO3 if basis == "C" else 1.0, None


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


def _vocab_unit(prop: str) -> str:
    return (UNITS | EXTRA_UNITS)[prop]


def _example_unit(target: str) -> str:
    return {"%": "g/kg", "cmol/kg": "cmol/kg", "pH": "pH"}[target]


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
    declared = {parse_unit(str(source_units[t]).rsplit(" (", 1)[0]) for t in TEXTURE}
    small = ("g/kg", "g/kg") if declared == {"mg/kg"} else ("fractions (0-1)", None) if declared == {"g/kg"} else \
        ("1000 times smaller than their declared unit (g/kg declared as mg/kg, or fractions as g/kg)", None)
    for scale, what, fix in ((10.0, "%", "%"), (1.0, "fractions (0-1)", None), (0.1, *small)):
        if abs(med - scale) <= TEXTURE_TOLERANCE * scale / 100:
            units = {t: source_units[t] for t in TEXTURE}
            how = (f"declare units={{'clay': {fix!r}, 'silt': {fix!r}, 'sand': {fix!r}}}" if fix
                   else "give them in % (x 100)")
            return [f"columns {cols} in {units}: clay + silt + sand sums to {med:.3g} % (median of {total.size} "
                    f"rows), not 100 -- the values look like {what}; {how}; the columns are refused, none kept"]
    return []
