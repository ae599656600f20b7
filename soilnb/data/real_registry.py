"""The registry of the real files the runs and tests read (``real_registry.csv``, package data).

One row per file: ``name``, ``group`` (``kssl_toy``, ``ossl_samples``, ``nirsoil``, ``neospectra_tables``,
``limesoda``), ``path`` (relative to ``data/real/``, the same layout as the shared mirror), ``unpack``
(``file``, ``gzip``, ``zip-member``, ``pip``), ``url`` (the public origin), ``member`` (the file inside a zip
or wheel; for ``pip`` the import name), ``archive_sha256`` (of the downloaded zip/wheel or gzip; empty when
unknown), ``sha256`` (of the final file), ``licence`` and ``source`` (the citation line). Fetching lives in
:mod:`soilnb.data.realdata`.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

REGISTRY_FILE = Path(__file__).with_name("real_registry.csv")
UNPACK = ("file", "gzip", "zip-member", "pip")
COLUMNS = ("name", "group", "path", "unpack", "url", "member", "archive_sha256", "sha256", "licence", "source")


@dataclass(frozen=True)
class Entry:
    """One registered real file (or, for ``unpack == "pip"``, one pip package)."""

    name: str
    group: str
    path: str
    unpack: str
    url: str
    member: str
    archive_sha256: str
    sha256: str
    licence: str
    source: str

    @property
    def is_package(self) -> bool:
        return self.unpack == "pip"


def read_registry(path=REGISTRY_FILE) -> dict[str, Entry]:
    """``{name: Entry}`` in file order; raises ``ValueError`` naming the line of a malformed row."""
    path = Path(path)
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    reader = csv.DictReader(lines)
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise ValueError(f"{path}: header must be {','.join(COLUMNS)}, got {reader.fieldnames}")
    out: dict[str, Entry] = {}
    for i, row in enumerate(reader, 2):
        entry = Entry(**{k: (row[k] or "").strip() for k in COLUMNS})
        if entry.unpack not in UNPACK:
            raise ValueError(f"{path}: row {i} ({entry.name}): unpack must be one of {UNPACK}, got {entry.unpack!r}")
        if not entry.is_package and (len(entry.sha256) != 64 or not entry.path):
            raise ValueError(f"{path}: row {i} ({entry.name}): a file needs a path and a 64-hex sha256")
        if entry.unpack == "zip-member" and not entry.member:
            raise ValueError(f"{path}: row {i} ({entry.name}): a zip-member needs its member")
        if entry.name in out:
            raise ValueError(f"{path}: row {i}: duplicate name {entry.name!r}")
        out[entry.name] = entry
    return out


def groups(registry: dict[str, Entry] | None = None) -> dict[str, list[Entry]]:
    """``{group: [entries]}``."""
    registry = read_registry() if registry is None else registry
    out: dict[str, list[Entry]] = {}
    for e in registry.values():
        out.setdefault(e.group, []).append(e)
    return out


def resolve(names=("all",), registry: dict[str, Entry] | None = None) -> list[Entry]:
    """The entries meant by ``names``: ``all``, a group, an entry name, a relative path or a file name.

    Raises ``KeyError`` listing what is known when a name matches nothing.
    """
    registry = read_registry() if registry is None else registry
    by_group = groups(registry)
    names = [names] if isinstance(names, str) else list(names) or ["all"]
    out: list[Entry] = []
    for name in names:
        key = str(name).strip().strip("/")
        if key == "all":
            found = list(registry.values())
        elif key in by_group:
            found = by_group[key]
        else:
            found = [e for e in registry.values()
                     if key == e.name or (e.path and key in (e.path, Path(e.path).name))]
            if not found:             # a folder: every file below it
                found = [e for e in registry.values() if e.path.startswith(key + "/")]
        if not found:
            raise KeyError(f"{name!r} is not in the real-data registry; known groups: {sorted(by_group)}, "
                           f"names: {sorted(registry)}")
        out += [e for e in found if e not in out]
    return out
