"""The version means something: semantic, the newest CHANGELOG release, and the one bundles are checked against."""
import re
from pathlib import Path

import soilnb
from soilnb import apply

ROOT = Path(__file__).resolve().parents[1]


def test_version_is_semantic_and_the_newest_changelog_release():
    assert re.fullmatch(r"\d+\.\d+\.\d+", soilnb.__version__)
    releases = re.findall(r"^## (\d+\.\d+\.\d+)", (ROOT / "CHANGELOG.md").read_text(), flags=re.M)
    assert releases and releases[0] == soilnb.__version__, "bump soilnb.__version__ with a CHANGELOG entry"
    key = [tuple(int(x) for x in r.split(".")) for r in releases]
    assert key == sorted(key, reverse=True) and len(set(key)) == len(key)


def test_citation_names_the_same_version():
    cff = ROOT / "CITATION.cff"
    assert re.search(rf"^version: \"?{re.escape(soilnb.__version__)}\"?$", cff.read_text(), flags=re.M)


def test_bundles_are_checked_against_this_version():
    major, minor, _ = (int(x) for x in soilnb.__version__.split("."))
    assert apply.compatible(soilnb.__version__) and apply.compatible(f"{major}.{minor}.{99}")
    assert not apply.compatible(f"{major}.{minor + 1}.0") and not apply.compatible(f"{major + 1}.{minor}.0")
