"""Copy the outputs of ``# NBVAL_CHECK_OUTPUT`` cells from executed notebooks into the committed ones,
and strip every other output, so that nbval checks the key numbers and nothing bulky is committed.

    python scripts/sync_checked_outputs.py build/notebooks/smoke   # after ./run_all.sh --profile smoke
    python scripts/sync_checked_outputs.py --strip-only              # just strip outputs
"""
import argparse
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def sync(src_nb: Path, executed: Path | None):
    nb = nbformat.read(src_nb, as_version=4)
    done = nbformat.read(executed, as_version=4) if executed else None
    by_id = {c.get("id"): c for c in done.cells} if done else {}
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        count += 1
        keep = "NBVAL_CHECK_OUTPUT" in cell.source and cell.get("id") in by_id
        cell.outputs = [o for o in by_id[cell.id].outputs if o.get("output_type") == "stream"] if keep else []
        # nbval refuses reference outputs of a cell that has no execution count ("unrun")
        cell.execution_count = count if cell.outputs else None
        for o in cell.outputs:
            o.pop("execution_count", None)
    nb.metadata.pop("widgets", None)          # saved progress-bar widget state: bulky, and stale once saved
    nbformat.write(nb, src_nb)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("executed_dir", nargs="?")
    ap.add_argument("--strip-only", action="store_true")
    a = ap.parse_args()
    for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        ex = None if a.strip_only else Path(a.executed_dir) / nb.name
        sync(nb, ex if ex and ex.exists() else None)
        print("synced" if ex else "stripped", nb.name)


if __name__ == "__main__":
    main()
