"""The real sample files: a verified local copy under ``data/real/``, got from a local mirror or from the origin.

The rule, for each file of the registry (:mod:`soilnb.data.real_registry`):

1. ``data/real/<path>`` (``$SOILNB_DATA/real``, read when called) with the registered sha256 is used as it is;
2. else the local mirror, ``$SOILNB_SHARED/data/real/<path>`` when ``SOILNB_SHARED`` is set, otherwise
   ``../shared/data/real/<path>`` beside the repository: its sha256 is checked *before* it is copied, and a
   mirror file with another hash is refused with a message naming it;
3. else the public origin (short timeouts, :data:`TIMEOUT`): a plain file, a gzip to decompress, or a member of
   a zip/wheel; the final file is checked against the registered sha256 before it is moved into place;
4. else :class:`MissingDataError`, whose message is one line: the file, why, and the command that gets it
   (``python -m soilnb.data fetch GROUP``) or the URL to download by hand.

Why this is hand-written around :func:`pooch.retrieve` instead of a ``pooch.Pooch`` registry: pooch's
``known_hash`` is the hash of the downloaded file, while the registry holds the hash of the *final* file, which
for the KSSL toy set is a member of a wheel and for the Neospectra tables the content of a gzip (pooch's
``Unzip``/``Decompress`` processors write beside the archive under their own names and check nothing they
extract); pooch has no local mirror checked against the same hashes before the origin; and pooch stops at the
first failure, whereas here each file not got is reported on its own line. Each download itself is still
``pooch.retrieve`` (atomic, hash-checked where the archive's hash is known, tqdm progress bar).
"""
from __future__ import annotations

import gzip
import importlib.util
import os
import shutil
import sys
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pooch
import requests

from soilnb.core import cache, paths
from soilnb.data.real_registry import Entry, read_registry, resolve

#: (connect, read) timeouts in seconds of one download: an unreachable origin costs a few seconds per file.
TIMEOUT = (5, 30)
#: The command that fetches a group (the one-line messages end with it).
FETCH_COMMAND = "python -m soilnb.data fetch"
#: Hosts that failed to connect in this process: the other files from them are not tried again.
UNREACHABLE: set[str] = set()
_VERIFIED: dict[tuple[str, str], tuple[int, int]] = {}


class MissingDataError(FileNotFoundError):
    """A registered real file that neither ``data/real``, the mirror nor the origin gave; the message has one line
    per file: its path, why, and the command (or the URL) that gets it."""


@dataclass
class Fetched:
    """What :func:`fetch_real` got (``{path: local file}``, ``{path: how}``) and what it did not (``{path: line}``)."""

    got: dict[str, Path] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.missing


# ----------------------------------------------------------------------------------------------- places
def local_root() -> Path:
    """``$SOILNB_DATA/real`` (read when called), else :data:`soilnb.core.paths.REAL`."""
    env = os.environ.get("SOILNB_DATA")
    return paths.absolute(env) / "real" if env else paths.REAL


def mirror_root() -> Path:
    """``$SOILNB_SHARED/data/real`` when ``SOILNB_SHARED`` is set (read when called), else ``../shared/data/real``."""
    env = os.environ.get("SOILNB_SHARED")
    return (paths.absolute(env) if env else paths.ROOT.parent / "shared") / "data" / "real"


def _root(root) -> Path:
    return local_root() if root is None else Path(root)


def _mirror(mirror) -> Path | None:
    """``None`` (the default mirror), ``False`` (no mirror) or a folder."""
    if mirror is False:
        return None
    return mirror_root() if mirror is None else Path(mirror)


# ----------------------------------------------------------------------------------------------- hashes
def verified(path, sha256: str) -> bool | None:
    """``True`` when ``path`` has ``sha256``, ``False`` when it differs, ``None`` when it is absent (a file whose
    size and mtime were verified before in this process is not read again)."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError:
        return None
    if not path.is_file():
        return None
    key, sig = (str(path.resolve()), sha256), (st.st_size, st.st_mtime_ns)
    if _VERIFIED.get(key) == sig:
        return True
    ok = cache.file_sha256(path) == sha256
    if ok:
        _VERIFIED[key] = sig
    return ok


def _require(path: Path, entry: Entry, what: str) -> None:
    got = cache.file_sha256(path)
    if got != entry.sha256:
        raise ValueError(f"{what} has sha256 {got[:12]}..., the registry says {entry.sha256[:12]}...")


def _one_line(text) -> str:
    return " ".join(str(text).split())


def pip_name(entry: Entry) -> str:
    """The pip name of a ``pip`` entry (the last part of its PyPI project URL)."""
    return urlsplit(entry.url).path.rstrip("/").rsplit("/", 1)[-1] or entry.name


# ----------------------------------------------------------------------------------------------- states
def entry_state(entry: Entry, root=None) -> str:
    """``present``, ``missing`` or ``bad-hash`` (a pip entry: ``present`` when its import name is found)."""
    if entry.is_package:
        return "present" if importlib.util.find_spec(entry.member) is not None else "missing"
    ok = verified(_root(root) / entry.path, entry.sha256)
    return "missing" if ok is None else "present" if ok else "bad-hash"


def real_status(names=("all",), root=None) -> dict[str, str]:
    """``{path (or package name): state}`` of the registered files, see :func:`entry_state`."""
    return {e.path or e.name: entry_state(e, root) for e in resolve(names)}


def missing_line(entry: Entry, reason: str, root=None) -> str:
    """The one line naming a file not got, why, and how to get it."""
    if entry.is_package:
        return f"{entry.name}: {_one_line(reason)}; get it with `pip install {pip_name(entry)}`"
    target = _root(root) / entry.path
    how = {"file": f"download {entry.url} into {target}",
           "gzip": f"download {entry.url} and gunzip it into {target}",
           "zip-member": f"download {entry.url} and save its member {entry.member} as {target}"}[entry.unpack]
    return f"{entry.path}: {_one_line(reason)}; get it with `{FETCH_COMMAND} {entry.group}` or by hand: {how}"


# ----------------------------------------------------------------------------------------------- getting
def download(url: str, known_hash: str | None, folder: Path, fname: str, progressbar: bool) -> Path:
    """One download with :func:`pooch.retrieve` and :data:`TIMEOUT` (the tests replace this function)."""
    downloader = pooch.HTTPDownloader(progressbar=progressbar, timeout=TIMEOUT)
    return Path(pooch.retrieve(url, known_hash=known_hash, fname=fname, path=folder, downloader=downloader))


def _from_origin(entry: Entry, root: Path, progressbar: bool) -> Path:
    target = root / entry.path
    store = root / ".downloads"
    if entry.unpack == "file":
        got = download(entry.url, f"sha256:{entry.sha256}", store, Path(entry.path).name, progressbar)
        _require(got, entry, entry.url)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(got, target)
        return target
    known = f"sha256:{entry.archive_sha256}" if entry.archive_sha256 else None
    archive = Path(download(entry.url, known, store, Path(urlsplit(entry.url).path).name, progressbar))
    try:
        with cache.atomic_path(target) as tmp:
            if entry.unpack == "gzip":
                with gzip.open(archive, "rb") as src, open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                _require(tmp, entry, f"the gunzipped {entry.url}")
            else:
                with zipfile.ZipFile(archive) as z, z.open(entry.member) as src, open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                _require(tmp, entry, f"member {entry.member} of {entry.url}")
    except Exception:
        if not entry.archive_sha256:      # an archive of unknown hash that gave a wrong file is not kept for reuse
            archive.unlink(missing_ok=True)
        raise
    return target


def _get(entry: Entry, root=None, mirror=None, network=True, progressbar=False) -> tuple[Path, str]:
    """``(local file, how)``, how in ``present``, ``mirror``, ``origin``; raises :class:`MissingDataError`."""
    if entry.is_package:
        spec = importlib.util.find_spec(entry.member)
        if spec is None:
            raise MissingDataError(missing_line(entry, f"the pip package {pip_name(entry)} is not installed"))
        return Path(spec.origin).parent, "present"
    root, mirror = _root(root), _mirror(mirror)
    target = root / entry.path
    state = verified(target, entry.sha256)
    if state:
        return target, "present"
    reasons = [f"the copy in {root} has a wrong sha256"] if state is False else []
    if mirror is not None:
        src = mirror / entry.path
        ok = verified(src, entry.sha256)
        if ok:
            with cache.atomic_path(target) as tmp:
                shutil.copyfile(src, tmp)
                _require(tmp, entry, f"the copy of {src}")
            return target, "mirror"
        if ok is False:
            refused = f"refused the mirror file {src}: its sha256 differs from the registry's"
            print(refused, file=sys.stderr)
            reasons.append(refused)
        else:
            reasons.append(f"not in the mirror {mirror}" if mirror.is_dir() else f"no mirror at {mirror}")
    host = urlsplit(entry.url).hostname or entry.url
    if not network:
        reasons.append("the origin was not tried (offline)")
    elif host in UNREACHABLE:
        reasons.append(f"the origin {host} is unreachable (earlier in this run)")
    else:
        try:
            return _from_origin(entry, root, progressbar), "origin"
        except (requests.ConnectionError, requests.Timeout) as e:
            UNREACHABLE.add(host)
            reasons.append(f"the origin {host} is unreachable ({type(e).__name__})")
        except Exception as e:  # any failure of the origin becomes the reason in the one line
            reasons.append(f"the origin failed ({type(e).__name__}: {_one_line(e)[:160]})")
    raise MissingDataError(missing_line(entry, "; ".join(reasons), root))


def get_entry(entry: Entry, root=None, mirror=None, network: bool = True, progressbar: bool = False) -> Path:
    """The verified local copy of one registry entry (``root``: default ``data/real``; ``mirror``: default the
    local mirror, ``False`` none); raises :class:`MissingDataError`."""
    return _get(entry, root, mirror, network, progressbar)[0]


def fetch_real(names=("all",), *, root=None, mirror=None, network=True, progressbar=True, log=None) -> Fetched:
    """Get the registered files meant by ``names`` (``all``, groups, names, paths) into ``data/real``.

    Never raises for a file it cannot get: that file's one line is in ``Fetched.missing`` (and passed to
    ``log``, with one line per file got). ``mirror=False`` skips the mirror, ``network=False`` the origin.
    """
    out = Fetched()
    for entry in resolve(names):
        key = entry.path or entry.name
        try:
            out.got[key], out.how[key] = _get(entry, root, mirror, network, progressbar)
        except MissingDataError as e:
            out.missing[key] = str(e)
            if log:
                log(f"MISSING {e}")
            continue
        if log:
            log(f"ok      {key} ({out.how[key]})")
    return out


def real_path(name, fetch: bool = True, **kwargs) -> Path:
    """The verified local copy of one registered file (a relative path such as ``nirsoil/NIRsoil.RData``, a file
    name or an entry name), fetched from the mirror or the origin when missing and ``fetch``.

    Raises :class:`MissingDataError` (one line) when it cannot be got; ``KeyError`` for an unknown name.
    """
    entries = [e for e in resolve([name]) if not e.is_package]
    if len(entries) != 1:
        raise KeyError(f"{name!r} names {len(entries)} registered files, not one: use real_dir for a group")
    entry = entries[0]
    if not fetch:
        target = _root(kwargs.get("root")) / entry.path
        state = verified(target, entry.sha256)
        if not state:
            why = "absent" if state is None else "has a wrong sha256"
            raise MissingDataError(missing_line(entry, f"{target} {why} (fetch=False)", kwargs.get("root")))
        return target
    return _get(entry, **kwargs)[0]


def real_dir(group=None, fetch: bool = True, **kwargs) -> Path:
    """The local folder of a group (``ossl_samples`` -> ``data/real/ossl_sample_inputs``; ``None``: ``data/real``)
    with every file of it verified (fetched when missing and ``fetch``); raises :class:`MissingDataError`, one
    line per file not got."""
    entries = [e for e in resolve([group or "all"]) if not e.is_package]
    root = _root(kwargs.get("root"))
    lines = []
    for e in entries:
        try:
            real_path(e.path, fetch=fetch, **kwargs)
        except MissingDataError as err:
            lines.append(str(err))
    if lines:
        raise MissingDataError("\n".join(lines))
    if group is None or group == "all":
        return root
    return root / os.path.commonpath([str(Path(e.path).parent) for e in entries])


def registry_table() -> list[dict]:
    """The registry as rows (for the command line and the documents)."""
    return [asdict(e) | {"state": entry_state(e)} for e in read_registry().values()]
