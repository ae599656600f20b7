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
"""
from __future__ import annotations

import re

from soilnb.core.vocab import EXTRA_UNITS, UNITS

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
