"""Lab values joined to spectra: :func:`join_lab` attaches a :class:`~soilnb.data.labtable.LabTable` to a
:class:`~soilnb.data.library.SpectralLibrary` by one of three rules (``stem``, ``pattern``, ``column``) and
returns a :class:`JoinResult` whose report lists whatever did not join (see :mod:`soilnb.data.labtable`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from soilnb.data.labtable import LabTable, _keys
from soilnb.data.library import SpectralLibrary

# --------------------------------------------------------------------------------------------- the join
RULES = ("stem", "pattern", "column")


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
    lab_only = [str(i) for i, k in zip(lab.ids, lab_keys) if k not in used]
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
    return (m.group("id") if "id" in rx.groupindex else m.group(1)) or ""


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
    pairs = [(str(k), str(folded[k.casefold().lstrip("0")])) for k in dict.fromkeys(keys)
             if k and k.casefold().lstrip("0") in folded]
    if not pairs:
        return []
    shown = ", ".join(f"{a!r} ~ {b!r}" for a, b in pairs[:5])
    return [f"{len(pairs)} unjoined id(s) equal a lab id but for case or leading zeros ({shown}); ids are "
            "compared exactly (leading zeros kept): fix the ids, or pass case_insensitive=True for case"]
