"""Download and verification of the public OSSL v1.2 files (pooch, sha256 registry ``data/registry.txt``)."""
from __future__ import annotations

from pathlib import Path

import pooch

from soilnb.core import cache, paths
from soilnb.data.ossl.format import OSSLFormatError

OSSL_BASE_URL = "https://storage.googleapis.com/soilspec4gg-public/"
#: Public OSSL v1.2 files used by the project, name -> URL.
OSSL_FILES: dict[str, str] = {name: OSSL_BASE_URL + name for name in (
    "ossl_mir_L0_v1.2.csv.gz",
    "ossl_soillab_L0_v1.2.csv.gz",
    "ossl_soillab_L1_v1.2.csv.gz",
    "ossl_soilsite_L0_v1.2.csv.gz",
    "neospectra_nir_v1.2.csv.gz",
    "neospectra_mir_v1.2.csv.gz",
    "neospectra_soillab_v1.2.csv.gz",
    "neospectra_soilsite_v1.2.csv.gz",
)}
#: Download registry (``name url sha256``; ``unknown`` until the first download records it).
REGISTRY = paths.ROOT / "data" / "registry.txt"


# ------------------------------------------------------------------------------------ registry
def read_registry(path=REGISTRY) -> dict[str, dict]:
    """``{name: {"url": ..., "sha256": ... or "unknown"}}`` from a registry text file."""
    out = {}
    for i, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 3:
            raise OSSLFormatError(f"{path}:{i}: expected 'name url sha256', got {line!r}")
        out[parts[0]] = {"url": parts[1], "sha256": parts[2]}
    return out


def record_hash(name: str, sha256: str, path=REGISTRY) -> None:
    """Replace ``unknown`` by ``sha256`` for ``name`` in the registry (atomic rewrite)."""
    path = Path(path)
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        parts = line.split()
        if parts and parts[0] == name and len(parts) == 3:
            lines[i] = f"{parts[0]} {parts[1]} {sha256}"
            break
    else:
        raise KeyError(f"{name} is not in the registry {path}")
    with cache.atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def download(data_dir, names=None, registry=REGISTRY, progressbar: bool = True) -> dict[str, Path]:
    """Fetch OSSL files into ``data_dir`` with :func:`pooch.retrieve` (atomic, with a progress bar).

    A file whose sha256 is known in ``registry`` is verified (and fetched again if it differs);
    for an ``unknown`` one the sha256 of the first download is written into the registry, so every
    later download is verified against it. Not called by the tests (no network there).

    Parameters
    ----------
    data_dir : path
    names : list of str, optional
        Keys of :data:`OSSL_FILES` (default: all eight files, about 1 GB).
    """

    reg = read_registry(registry)
    names = list(OSSL_FILES) if names is None else list(names)
    unknown = [n for n in names if n not in reg]
    if unknown:
        raise KeyError(f"not in the registry {registry}: {unknown}; known: {sorted(reg)}")
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    out = {}
    for name in names:
        sha = reg[name]["sha256"]
        known = None if sha == "unknown" else f"sha256:{sha}"
        fname = pooch.retrieve(reg[name]["url"], known_hash=known, fname=name, path=str(data_dir),
                               progressbar=progressbar)
        out[name] = Path(fname)
        if known is None:
            record_hash(name, cache.file_sha256(fname), registry)
    return out


def verify_files(data_dir, names=None, registry=REGISTRY) -> dict[str, str]:
    """Check local files against the registry; raise naming the first file whose sha256 differs.

    Returns ``{name: "ok" | "unknown" | "missing"}``.
    """
    reg = read_registry(registry)
    status = {}
    for name in (names or list(OSSL_FILES)):
        path = Path(data_dir) / name
        sha = reg.get(name, {}).get("sha256", "unknown")
        if not path.exists():
            status[name] = "missing"
        elif sha == "unknown":
            status[name] = "unknown"
        elif cache.file_sha256(path) != sha:
            raise OSSLFormatError(f"{path}: sha256 differs from the registry {registry}; "
                                  "the file is damaged or changed upstream; delete it and download again")
        else:
            status[name] = "ok"
    return status
