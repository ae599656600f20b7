"""The real-data registry and its fetch: hashes, the mirror rule, the one-line messages, the unpack routes."""
import gzip
import hashlib
import zipfile

import pytest
import requests

from soilnb.data import MissingDataError, fetch_real, real_dir, real_path, real_status
from soilnb.data import __main__ as cli
from soilnb.data import realdata
from soilnb.data.real_registry import Entry, groups, read_registry, resolve

MIRROR = realdata.mirror_root()
NIRSOIL_URL = "https://raw.githubusercontent.com/cran/prospectr/0.2.8/data/NIRsoil.RData"
pytestmark = pytest.mark.missing_data_fails     # here a MissingDataError is a result, never a skip
WHEEL_SHA = "61d4749194986bdf336d49fb96029491663a283c752e5e4379993bdf1db44639"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _entry(tmp_path, content: bytes, unpack="file", member="", url="https://example.invalid/x.bin") -> Entry:
    return Entry(name="x", group="testgroup", path="testgroup/x.bin", unpack=unpack, url=url, member=member,
                 archive_sha256="", sha256=_sha(content), licence="", source="")


@pytest.fixture
def offline(monkeypatch):
    """No network: every download raises a connection error (and no host is remembered from other tests)."""
    calls = []

    def refuse(url, *args, **kwargs):
        calls.append(url)
        raise requests.ConnectionError(f"no network for {url}")
    monkeypatch.setattr(realdata, "download", refuse)
    monkeypatch.setattr(realdata, "UNREACHABLE", set())
    return calls


def _needs_mirror(*rel):
    for r in rel:
        if not (MIRROR / r).is_file():
            pytest.skip(f"the local mirror has no {r} (at {MIRROR})")


# ------------------------------------------------------------------------------------------------ registry
def test_registry_lists_every_real_file_the_project_reads():
    reg = read_registry()
    files = {e.path for e in reg.values() if not e.is_package}
    assert files == {"kssl_mir_toy/toy_kssl_mir.csv.gz", "neospectra_tables/neospectra_soillab_v1.2.csv",
                     "neospectra_tables/neospectra_soilsite_v1.2.csv", "nirsoil/NIRsoil.RData"} | {
        f"ossl_sample_inputs/{f}" for f in ("101453MD01.asd", "235157MD01.asd", "235157XS01.0", "icr056141.0",
                                            "sample_mir_data.csv", "sample_neospectra_data.csv",
                                            "sample_visnir_data.csv")}
    assert set(groups(reg)) == {"kssl_toy", "ossl_samples", "nirsoil", "neospectra_tables", "limesoda"}
    for e in reg.values():
        assert e.url.startswith("https://") and e.licence and e.source
    toy = reg["toy_kssl_mir"]
    assert (toy.unpack, toy.member, toy.archive_sha256) == ("zip-member", "soilspecdl/data/toy_kssl_mir.csv.gz",
                                                            WHEEL_SHA)
    assert toy.url.endswith("/soilspecdl-0.2.0-py3-none-any.whl")
    assert {e.unpack for e in groups(reg)["neospectra_tables"]} == {"gzip"}
    assert [e.path for e in resolve(["nirsoil", "NIRsoil.RData", "nirsoil/NIRsoil.RData"])] == ["nirsoil/NIRsoil.RData"]
    assert len(resolve("ossl_sample_inputs")) == 7 and len(resolve("all")) == len(reg)
    with pytest.raises(KeyError, match="'nope' is not in the real-data registry"):
        resolve(["nope"])


def test_registry_hashes_match_the_mirror():
    present = [e for e in read_registry().values() if not e.is_package and (MIRROR / e.path).is_file()]
    if not present:
        pytest.skip(f"no local mirror at {MIRROR}")
    bad = [e.path for e in present if realdata.verified(MIRROR / e.path, e.sha256) is not True]
    assert not bad, f"registry sha256 differs from the mirror for {bad}"


def test_limesoda_is_reported_by_import():
    assert real_status(["limesoda"]) == {"limesoda": "present"}    # LimeSoDa is a dependency


# ------------------------------------------------------------------------------------------------ the mirror
def test_mirror_file_is_checked_then_copied(tmp_path, offline):
    content = b"real spectra\n" * 100
    e = _entry(tmp_path, content)
    (tmp_path / "mirror" / "testgroup").mkdir(parents=True)
    (tmp_path / "mirror" / e.path).write_bytes(content)
    got = realdata.get_entry(e, root=tmp_path / "real", mirror=tmp_path / "mirror")
    assert got == tmp_path / "real" / e.path and got.read_bytes() == content and not offline


def test_mirror_file_with_a_flipped_byte_is_refused_by_name(tmp_path, offline, capsys):
    content = bytearray(b"real spectra\n" * 100)
    e = _entry(tmp_path, bytes(content))
    content[17] ^= 0x01
    bad = tmp_path / "mirror" / e.path
    bad.parent.mkdir(parents=True)
    bad.write_bytes(bytes(content))
    with pytest.raises(MissingDataError) as err:
        realdata.get_entry(e, root=tmp_path / "real", mirror=tmp_path / "mirror")
    refused = f"refused the mirror file {bad}: its sha256 differs from the registry's"
    assert refused in capsys.readouterr().err                     # said at once ...
    assert refused in str(err.value) and "\n" not in str(err.value)   # ... and in the file's one line
    assert offline == [e.url]                                         # then the origin was tried
    assert not (tmp_path / "real" / e.path).exists()


def test_fetch_copies_the_real_files_from_the_mirror(tmp_path, monkeypatch, offline, capsys):
    _needs_mirror("nirsoil/NIRsoil.RData", "ossl_sample_inputs/icr056141.0")
    monkeypatch.setenv("SOILNB_DATA", str(tmp_path / "d"))
    monkeypatch.setenv("SOILNB_SHARED", str(MIRROR.parents[1]))
    assert cli.main(["fetch", "nirsoil", "ossl_samples", "--strict", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "ok      nirsoil/NIRsoil.RData (mirror)" in out and "8 present, 0 missing" in out
    for e in resolve(["nirsoil", "ossl_samples"]):
        assert realdata.verified(tmp_path / "d" / "real" / e.path, e.sha256)
    assert real_dir("ossl_samples") == tmp_path / "d" / "real" / "ossl_sample_inputs"
    res = fetch_real(["nirsoil"])                                      # second time: already there
    assert res.how == {"nirsoil/NIRsoil.RData": "present"} and not offline
    cli.main(["status", "nirsoil", "kssl_toy"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("present   nirsoil") and lines[2].startswith("missing   kssl_toy")
    (tmp_path / "d" / "real" / "nirsoil" / "NIRsoil.RData").write_bytes(b"damaged")
    assert real_status(["nirsoil"]) == {"nirsoil/NIRsoil.RData": "bad-hash"}
    assert cli.main(["status", "nirsoil", "--strict"]) == 1
    assert real_path("nirsoil").read_bytes() == (MIRROR / "nirsoil" / "NIRsoil.RData").read_bytes()   # repaired


# ------------------------------------------------------------------------------------------------ nothing gets it
def test_missing_file_gives_the_exact_one_line_with_the_command(tmp_path, offline):
    with pytest.raises(MissingDataError) as err:
        real_path("nirsoil", root=tmp_path / "real", mirror=tmp_path / "nomirror")
    assert str(err.value) == (
        f"nirsoil/NIRsoil.RData: no mirror at {tmp_path / 'nomirror'}; the origin raw.githubusercontent.com is "
        f"unreachable (ConnectionError); get it with `python -m soilnb.data fetch nirsoil` or by hand: download "
        f"{NIRSOIL_URL} into {tmp_path / 'real' / 'nirsoil' / 'NIRsoil.RData'}")
    assert isinstance(err.value, FileNotFoundError)
    with pytest.raises(MissingDataError, match=r"absent \(fetch=False\); get it with `python -m soilnb.data fetch"):
        real_path("nirsoil", fetch=False, root=tmp_path / "real")


def test_fetch_command_reports_one_line_per_file_and_is_strict_only_when_asked(tmp_path, monkeypatch, offline,
                                                                                capsys):
    monkeypatch.setenv("SOILNB_DATA", str(tmp_path / "d"))
    monkeypatch.setenv("SOILNB_SHARED", str(tmp_path / "noshared"))
    assert cli.main(["fetch", "ossl_samples", "nirsoil", "--no-progress"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 8 and all(line.startswith("MISSING ") for line in err)
    assert "raw.githubusercontent.com is unreachable (earlier in this run)" in err[-1]   # one try per host
    assert len(offline) == 1
    assert err[0].endswith("`python -m soilnb.data fetch ossl_samples` or by hand: download https://raw."
                           "githubusercontent.com/soilspectroscopy/ossl-models/main/sample-data/101453MD01.asd into "
                           f"{tmp_path / 'd' / 'real' / 'ossl_sample_inputs' / '101453MD01.asd'}")
    assert cli.main(["fetch", "nirsoil", "--strict", "--offline"]) == 1
    assert "the origin was not tried (offline)" in capsys.readouterr().err
    assert cli.main(["fetch", "nope"]) == 2
    with pytest.raises(MissingDataError) as many:
        real_dir("ossl_samples")
    assert len(str(many.value).splitlines()) == 7


# ------------------------------------------------------------------------------------------------ unpack routes
def _zip(path, member, data):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(member, data)
    return path


def test_zip_member_and_gzip_routes(tmp_path, monkeypatch):
    content = b"a,b\n1,2\n" * 50
    archives = {"https://example.invalid/pkg.whl": _zip(tmp_path / "pkg.whl", "pkg/data/x.bin", content),
                "https://example.invalid/x.bin.gz": tmp_path / "x.bin.gz",
                "https://example.invalid/bad.whl": _zip(tmp_path / "bad.whl", "pkg/data/x.bin", content + b"!")}
    archives["https://example.invalid/x.bin.gz"].write_bytes(gzip.compress(content))
    monkeypatch.setattr(realdata, "download", lambda url, *a, **k: archives[url])
    root = tmp_path / "real"
    member = _entry(tmp_path, content, "zip-member", "pkg/data/x.bin", "https://example.invalid/pkg.whl")
    assert realdata.get_entry(member, root=root, mirror=False).read_bytes() == content
    (root / member.path).unlink()
    gz = _entry(tmp_path, content, "gzip", url="https://example.invalid/x.bin.gz")
    assert realdata.get_entry(gz, root=root, mirror=False).read_bytes() == content
    (root / member.path).unlink()
    bad = _entry(tmp_path, content, "zip-member", "pkg/data/x.bin", "https://example.invalid/bad.whl")
    with pytest.raises(MissingDataError, match=r"the origin failed \(ValueError: member pkg/data/x.bin of "
                                               r"https://example.invalid/bad.whl has sha256"):
        realdata.get_entry(bad, root=root, mirror=False)
    assert not (root / bad.path).exists() and not list((root / "testgroup").iterdir())


def test_the_wheel_member_route_gives_the_registered_toy_file(tmp_path, monkeypatch):
    try:                                          # the real toy file: from data/real, the mirror or PyPI
        toy = real_path("toy_kssl_mir").read_bytes()
    except MissingDataError as e:
        pytest.skip(str(e))
    asked = []

    def fake_wheel(url, known_hash, folder, fname, progressbar):
        asked.append((url, known_hash, fname))
        return _zip(tmp_path / fname, "soilspecdl/data/toy_kssl_mir.csv.gz", toy)
    monkeypatch.setattr(realdata, "download", fake_wheel)
    got = real_path("toy_kssl_mir", root=tmp_path / "real", mirror=False)
    assert realdata.verified(got, read_registry()["toy_kssl_mir"].sha256)
    assert asked == [(read_registry()["toy_kssl_mir"].url, f"sha256:{WHEEL_SHA}", "soilspecdl-0.2.0-py3-none-any.whl")]


def test_the_toy_set_downloads_from_pypi(tmp_path, monkeypatch):
    """The one test that uses the network: skipped cleanly where PyPI cannot be reached."""
    monkeypatch.setattr(realdata, "UNREACHABLE", set())
    try:
        got = real_path("toy_kssl_mir", root=tmp_path / "real", mirror=False)
    except MissingDataError as e:
        if "unreachable" in str(e) or "origin failed" in str(e):
            pytest.skip(f"PyPI not reachable: {e}")
        raise
    assert realdata.verified(got, read_registry()["toy_kssl_mir"].sha256)
    assert realdata.verified(tmp_path / "real" / ".downloads" / "soilspecdl-0.2.0-py3-none-any.whl", WHEEL_SHA)
