"""``python -m soilnb.data fetch [NAME ...|all]`` and ``python -m soilnb.data status [NAME ...]``.

NAME is a registry entry, a relative path, a file name or a group (``kssl_toy``, ``ossl_samples``, ``nirsoil``,
``neospectra_tables``, ``limesoda``); the rule (local copy, mirror, origin) is in :mod:`soilnb.data.realdata`.
Both exit 0 when something is missing unless ``--strict`` is given (then 1); an unknown NAME exits 2.
"""
from __future__ import annotations

import argparse
import sys

from soilnb.data.real_registry import resolve
from soilnb.data.realdata import entry_state, fetch_real, local_root, mirror_root


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m soilnb.data", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fetch", help="get registered real files into data/real (mirror first, then the origin)")
    f.add_argument("names", nargs="*", default=["all"], metavar="NAME")
    f.add_argument("--strict", action="store_true", help="exit 1 when a file could not be got")
    f.add_argument("--offline", action="store_true", help="do not try the origins (mirror only)")
    f.add_argument("--no-mirror", action="store_true", help="do not use the local mirror")
    f.add_argument("--no-progress", action="store_true", help="no download progress bar")
    s = sub.add_parser("status", help="each registered file: present, missing or bad-hash")
    s.add_argument("names", nargs="*", default=["all"], metavar="NAME")
    s.add_argument("--strict", action="store_true", help="exit 1 when a file is missing or has a wrong hash")
    return p


def _status(names) -> int:
    bad = 0
    print(f"data/real: {local_root()}   mirror: {mirror_root()}")
    for e in resolve(names):
        state = entry_state(e)
        bad += state != "present"
        print(f"{state:9s} {e.group:18s} {e.path or e.name + ' (pip package ' + e.member + ')'}")
    return bad


def _log(line: str) -> None:
    print(line, file=sys.stderr if line.startswith("MISSING") else sys.stdout, flush=True)


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        resolve(args.names)
    except KeyError as e:
        print(f"error: {e.args[0]}", file=sys.stderr)
        return 2
    if args.command == "status":
        bad = _status(args.names)
        return 1 if bad and args.strict else 0
    res = fetch_real(args.names, mirror=False if args.no_mirror else None, network=not args.offline,
                     progressbar=not args.no_progress, log=_log)
    print(f"{len(res.got)} present, {len(res.missing)} missing (in {local_root()})")
    return 1 if res.missing and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
