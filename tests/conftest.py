import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Notebooks run by nbval write their figures here, not over the ones run_all.sh made.
os.environ.setdefault("SOILNB_FIGURES", str(ROOT / "build" / "test-figures"))
os.environ.setdefault("MPLBACKEND", "Agg")
FAIL_MARK = "missing_data_fails"


class RealDir(type(Path())):
    """``data/real`` (the project's verified copies); ``real_dir / "sub/file"`` (or a folder) skips the test with
    the one-line message of each file there that could not be got, instead of failing on a missing file."""

    missing: dict[str, str] = {}
    root: Path | None = None

    def __truediv__(self, key):
        child = super().__truediv__(key)
        try:
            rel = Path(child).relative_to(RealDir.root).as_posix()
        except (TypeError, ValueError):
            return child
        lines = [line for path, line in RealDir.missing.items() if path == rel or path.startswith(rel + "/")]
        if lines:
            pytest.skip("\n".join(lines))
        return child


@pytest.fixture(scope="session")
def real_files():
    """Every registered real file fetched once per session into ``data/real`` (from the local mirror, else the
    origin); what could not be got is in ``.missing`` (one line per file)."""
    from soilnb.data import fetch_real

    return fetch_real(["all"], progressbar=False)


@pytest.fixture(scope="session")
def real_dir(real_files):
    """The folder of the real sample files (``data/real``, same layout as the shared mirror); a test skips with the
    file's one-line message (naming the command that gets it) when a file it asks for cannot be got."""
    from soilnb.data.realdata import local_root

    got = [p for p in real_files.got if "/" in p]
    if not got:
        pytest.skip("no real sample file could be got:\n" + "\n".join(real_files.missing.values()))
    RealDir.root, RealDir.missing = local_root(), dict(real_files.missing)
    return RealDir(local_root())


@pytest.fixture(scope="session")
def real_file(real_files):
    """``real_file("nirsoil/NIRsoil.RData")``: the verified local copy of one registered file, or a skip with its
    one-line message."""
    from soilnb.data import MissingDataError, real_path

    def get(name):
        try:
            return real_path(name)
        except MissingDataError as e:
            pytest.skip(str(e))
    return get


def pytest_configure(config):
    config.addinivalue_line("markers", f"{FAIL_MARK}: a MissingDataError fails the test instead of skipping it")


def _skip_missing_real_data(item):
    """A test skips (not fails), with the file's one-line message, when a real file it needs cannot be got: a
    loader or ``real_path`` raised MissingDataError (tests marked ``missing_data_fails`` are not converted)."""
    try:
        return (yield)
    except FileNotFoundError as e:
        if type(e).__name__ == "MissingDataError" and item.get_closest_marker(FAIL_MARK) is None:
            pytest.skip(str(e))
        raise


pytest_runtest_setup = pytest.hookimpl(wrapper=True)(_skip_missing_real_data)
pytest_runtest_call = pytest.hookimpl(wrapper=True)(_skip_missing_real_data)
