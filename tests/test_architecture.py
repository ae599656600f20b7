"""The architecture rules, checked on every test run so that a change that breaks them fails CI.

- import-linter contracts (``[tool.importlinter]`` in pyproject.toml): the layers
  core < spectra < data < stats < models < stages < report, imports flowing downwards only, no cycle
  between layers, the two data worlds independent;
- ruff's small rule set (``[tool.ruff]``) over the package, tests, benchmarks and notebooks;
- no ``_private`` name imported from another subpackage, and module size.
"""
import ast
import shutil
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "soilnb"


def test_import_contracts_hold():
    out = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
                          "sys.exit(lint_imports_command())"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "4 kept, 0 broken" in out.stdout


def test_ruff_is_clean():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff is not None, "ruff is not installed: pip install -e .[test] (the rules must run, not be skipped)"
    out = subprocess.run([ruff, "check", "soilnb", "tests", "benchmarks", "scripts", "notebooks",
                          "--output-format", "concise"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:]


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if ".venv" not in p.parts)


def _subpackage(path: Path) -> str:
    return ".".join(path.parent.relative_to(ROOT).parts)


def test_no_private_name_crosses_a_subpackage():
    crossings = []
    for path in _modules():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("soilnb"):
                source = node.module.rsplit(".", 1)[0] if (ROOT / node.module.replace(".", "/")).with_suffix(".py").exists() \
                    else node.module
                private = [a.name for a in node.names if a.name.startswith("_") and a.name != "__version__"]
                if private and not source.startswith(_subpackage(path)):
                    crossings.append(f"{path.relative_to(ROOT)} imports {private} from {node.module}")
    assert not crossings, "\n".join(crossings)


def test_no_import_cycle_between_modules():
    import grimp   # installed with import-linter ([test] extra): a missing one fails, never skips
    graph = grimp.build_graph("soilnb")
    cycles = [(a, b) for a in graph.modules for b in graph.find_modules_directly_imported_by(a)
              if graph.chain_exists(importer=b, imported=a)]
    # a package's __init__ (its public face) imports its own modules; those are not cycles of logic
    cycles = [(a, b) for a, b in cycles if not (a.startswith(b + ".") or b.startswith(a + "."))]
    assert not cycles, cycles[:10]


def test_modules_fit_in_the_head():
    long = [f"{p.relative_to(ROOT)}: {n} lines" for p in _modules()
            if (n := len(p.read_text().splitlines())) > 400 and "too long on purpose" not in p.read_text()[:2000]]
    assert not long, long


def test_no_lazy_export_shares_a_submodule_name():
    """A package's exported function named like one of its submodules would become that module as soon as the
    submodule is imported (Python sets the attribute after the import): ``soilnb.apply.adapt(...)`` broke so."""
    import importlib
    import pkgutil

    for pkg in ("soilnb.core", "soilnb.data", "soilnb.apply", "soilnb.spectra", "soilnb.stats"):
        m = importlib.import_module(pkg)
        subs = {s.name for s in pkgutil.iter_modules(m.__path__)}
        where = m.__getattr__.exports
        clashes = {n for n in subs if where.get(n, ".") != "."}
        assert not clashes, f"{pkg}: {sorted(clashes)} name both a submodule and an exported object"
    import soilnb.apply.adaptation  # noqa: F401
    from soilnb import apply
    assert callable(apply.adapt) and apply.adapt.__module__ == "soilnb.apply.adaptation"
