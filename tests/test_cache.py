import hashlib
import json
import multiprocessing
import os
import random
import threading

import pytest

from soilnb.core import cache


def test_key_is_sha256_of_canonical_params():
    k1 = cache.cache_key("vae", {"a": 1, "b": [1, 2]})
    k2 = cache.cache_key("vae", {"b": [1, 2], "a": 1})
    assert k1 == k2 and len(k1) == 64
    assert cache.cache_key("vae", {"a": 2, "b": [1, 2]}) != k1
    blob = json.dumps({"step": "vae", "params": {"a": 1, "b": [1, 2]}, "version": cache.__version__},
                      sort_keys=True, separators=(",", ":"))
    assert k1 == hashlib.sha256(blob.encode()).hexdigest()


def test_cached_reuses_and_invalidates(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"x": len(calls)}

    a = cache.cached("step", {"p": 1}, compute, root=tmp_path, verbose=False)
    b = cache.cached("step", {"p": 1}, compute, root=tmp_path, verbose=False)
    c = cache.cached("step", {"p": 2}, compute, root=tmp_path, verbose=False)
    assert a == b == {"x": 1} and c == {"x": 2} and len(calls) == 2
    path = cache.artifact_path("step", {"p": 1}, root=tmp_path)
    meta = json.loads(path.with_suffix(".pkl.json").read_text())
    # the sidecar holds the full key, what it was made from, and the artifact's sha256
    assert meta["key"] == cache.cache_key("step", {"p": 1}) and meta["step"] == "step"
    assert meta["params"] == {"p": 1} and meta["version"] == cache.__version__
    assert meta["sha256"] == cache.file_sha256(path)


def test_corrupt_cache_is_recomputed_with_a_warning(tmp_path, capsys):
    cache.cached("step", {"p": 1}, lambda: [1, 2, 3], root=tmp_path, verbose=False)
    path = cache.artifact_path("step", {"p": 1}, root=tmp_path)
    path.write_bytes(path.read_bytes()[:-3] + b"xyz")
    with pytest.raises(cache.CacheError, match="corrupt"):
        cache.verify(path)
    assert cache.cached("step", {"p": 1}, lambda: [7], root=tmp_path, verbose=False) == [7]
    out = capsys.readouterr().out
    assert "WARNING" in out and "corrupt" in out and str(path) in out
    assert cache.verify(path, cache.cache_key("step", {"p": 1}))["params"] == {"p": 1}
    assert cache.cached("step", {"p": 1}, lambda: [0], root=tmp_path, verbose=False) == [7]


def test_swapped_entries_are_stale_and_recomputed(tmp_path, capsys):
    # each entry records its own key: moving entry A (artifact + sidecar) to B's name must not make
    # B's request return A's result, although the bytes match the sidecar
    pa = cache.artifact_path("step", {"p": "a"}, root=tmp_path)
    pb = cache.artifact_path("step", {"p": "b"}, root=tmp_path)
    cache.cached("step", {"p": "a"}, lambda: "A", root=tmp_path, verbose=False)
    cache.cached("step", {"p": "b"}, lambda: "B", root=tmp_path, verbose=False)
    for suffix in ("", ".json"):
        a, b = pa.with_name(pa.name + suffix), pb.with_name(pb.name + suffix)
        a.rename(tmp_path / "swap")
        b.rename(a)
        (tmp_path / "swap").rename(b)
    cache.verify(pa)                                                  # the bytes alone still match
    with pytest.raises(cache.CacheError, match="stale"):
        cache.verify(pa, cache.cache_key("step", {"p": "a"}))
    calls = []
    got = {p: cache.cached("step", {"p": p}, lambda p=p: calls.append(p) or p.upper(), root=tmp_path,
                           verbose=False) for p in "ab"}
    assert got == {"a": "A", "b": "B"} and calls == ["a", "b"]
    out = capsys.readouterr().out
    assert out.count("is stale") == 2 and str(pa) in out and str(pb) in out
    # overwritten: both now load without computing
    assert [cache.cached("step", {"p": p}, lambda: 0, root=tmp_path, verbose=False) for p in "ab"] == ["A", "B"]


def test_interrupted_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError):
        with cache.atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("interrupted")
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_artifact_without_sidecar_is_recomputed(tmp_path, capsys):
    # a run killed between writing the artifact and its sidecar must restart cleanly
    path = cache.artifact_path("step", {"p": 1}, root=tmp_path)
    path.write_bytes(b"half-written garbage")
    assert cache.cached("step", {"p": 1}, lambda: [4, 5], root=tmp_path) == [4, 5]
    assert "interrupted write" in capsys.readouterr().out
    assert cache.verify(path)["params"] == {"p": 1}
    assert cache.cached("step", {"p": 1}, lambda: [0], root=tmp_path, verbose=False) == [4, 5]


def test_refresh_killed_before_its_sidecar_is_recomputed(tmp_path, monkeypatch):
    # a refresh replaces an artifact that has a sidecar and dies before writing the new one: the next run must
    # recompute, not report a sha256 mismatch against the old sidecar
    cache.cached("step", {"p": 1}, lambda: [1], root=tmp_path, verbose=False)
    monkeypatch.setattr(cache, "_write_sidecar", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        cache.cached("step", {"p": 1}, lambda: [2], root=tmp_path, verbose=False, refresh=True)
    monkeypatch.undo()
    assert cache.cached("step", {"p": 1}, lambda: [3], root=tmp_path, verbose=False) == [3]


N_KEYS = 50


def _race_writer(root, seed, start, results):
    """One of the racing processes: ask for every key, in its own order, as soon as all have started."""
    computed = []

    def compute(i):
        computed.append(i)
        # a result that differs between processes, so that mixing two writers' files cannot go unseen
        return {"i": i, "pid": os.getpid(), "pad": os.urandom(4096)}

    start.wait()
    order = random.Random(seed).sample(range(N_KEYS), N_KEYS)
    try:
        winners = {i: cache.cached("race", {"i": i}, lambda i=i: compute(i), root=root, verbose=False)["pid"]
                   for i in order}
    except Exception as exc:        # reported to the test, which would otherwise only see a silent exit
        winners = repr(exc)
    results.put((computed, winners))


def test_concurrent_writers_of_the_same_keys(tmp_path):
    # 4 processes ask for the same 50 keys at once: each key must be computed once, every process must
    # get that one result, and every entry must verify afterwards (before, 8 of 200 were left corrupt)
    ctx = multiprocessing.get_context("fork")      # fork: the children need not import the test module
    n_proc = 4
    start, results = ctx.Barrier(n_proc), ctx.Queue()
    procs = [ctx.Process(target=_race_writer, args=(tmp_path, seed, start, results)) for seed in range(n_proc)]
    for p in procs:
        p.start()
    got = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0] * n_proc
    assert [w for _, w in got if isinstance(w, str)] == []                                 # no process failed
    assert sorted(i for computed, _ in got for i in computed) == list(range(N_KEYS))      # once per key
    for i in range(N_KEYS):
        assert len({winners[i] for _, winners in got}) == 1                                  # one winner
        path = cache.artifact_path("race", {"i": i}, root=tmp_path)
        cache.verify(path, cache.cache_key("race", {"i": i}))
        obj = cache.cached("race", {"i": i}, lambda: pytest.fail("a verified entry was recomputed"),
                           root=tmp_path, verbose=False)
        assert obj["i"] == i and obj["pid"] == got[0][1][i]
    assert not list(tmp_path.glob("*.tmp"))                                                  # no debris



def _slow_writer(root, computing, release):
    def compute():
        computing.set()
        release.wait(60)
        return "theirs"
    cache.cached("step", {"p": 1}, compute, root=root, verbose=False)


def test_a_key_being_computed_elsewhere_is_waited_for_then_loaded(tmp_path, capsys):
    # another process holds the key's lock (filelock: flock on POSIX, msvcrt on Windows) while it computes:
    # this one says it waits, then loads that process's entry instead of computing it again
    ctx = multiprocessing.get_context("fork")
    computing, release = ctx.Event(), ctx.Event()
    writer = ctx.Process(target=_slow_writer, args=(tmp_path, computing, release))
    writer.start()
    assert computing.wait(60)
    timer = threading.Timer(0.5, release.set)
    timer.start()
    got = cache.cached("step", {"p": 1}, lambda: pytest.fail("computed while another process held the key"),
                       root=tmp_path, verbose=False)
    writer.join(60)
    assert got == "theirs" and writer.exitcode == 0
    assert "waiting for another process" in capsys.readouterr().out
    path = cache.artifact_path("step", {"p": 1}, root=tmp_path)
    assert path.with_name(f".{path.name}.lock").exists()                        # lock files stay in place


@pytest.mark.parametrize("value, mode", [("", "on"), ("on", "on"), ("OFF", "off"), (" Off ", "off"),
                                         ("REFRESH", "refresh")])
def test_cache_mode_any_case(monkeypatch, value, mode):
    monkeypatch.setenv("SOILNB_CACHE", value)
    assert cache.cache_mode() == mode


def test_cache_mode_misspelt_is_an_error_naming_the_choices(monkeypatch, tmp_path):
    monkeypatch.setenv("SOILNB_CACHE", "of")
    with pytest.raises(ValueError, match=r"SOILNB_CACHE='of': use one of on, off, refresh"):
        cache.cached("step", {"a": 1}, lambda: 1, root=tmp_path)


def test_refresh_recomputes_once_per_run(tmp_path, monkeypatch):
    """SOILNB_CACHE=refresh within one run_all.sh run (one SOILNB_RUN_ID): the first use of an entry recomputes it,
    later uses (other notebooks of the run) load it; a new run recomputes again; without a run id, every call does."""
    calls = []

    def compute():
        calls.append(1)
        return [len(calls)]

    monkeypatch.setenv("SOILNB_CACHE", "refresh")
    monkeypatch.setenv("SOILNB_RUN_ID", "run-a")
    got = [cache.cached("vae", {"p": 1}, compute, root=tmp_path, verbose=False) for _ in range(3)]
    assert got == [[1], [1], [1]] and len(calls) == 1
    monkeypatch.setenv("SOILNB_RUN_ID", "run-b")
    assert cache.cached("vae", {"p": 1}, compute, root=tmp_path, verbose=False) == [2]
    assert cache.cached("vae", {"p": 1}, compute, root=tmp_path, verbose=False) == [2]
    monkeypatch.delenv("SOILNB_RUN_ID")
    assert [cache.cached("vae", {"p": 1}, compute, root=tmp_path, verbose=False) for _ in range(2)] == [[3], [4]]
    assert cache.cached("vae", {"p": 1}, compute, root=tmp_path, verbose=False, refresh=True) == [5]


def test_a_save_that_returns_its_digest_is_not_hashed_again(tmp_path, monkeypatch):
    hashed = []
    real = cache.file_sha256
    monkeypatch.setattr(cache, "file_sha256", lambda p, *a: hashed.append(p) or real(p, *a))

    def save_digest(obj, path):
        path.write_bytes(obj)
        return cache.Digest(hashlib.sha256(obj).hexdigest())

    def save_plain(obj, path):
        path.write_bytes(obj)
        return hashlib.sha256(obj).hexdigest()          # a str, not a Digest: hashed from the file all the same

    for step, save in (("digest", save_digest), ("plain", save_plain)):
        cache.cached(step, {}, lambda: b"spectra", save=save, load=lambda p: p.read_bytes(), ext="bin",
                     root=tmp_path, verbose=False)
    assert len(hashed) == 1                                     # the plain save's file only
    for step in ("digest", "plain"):
        path = cache.artifact_path(step, {}, "bin", tmp_path)
        assert cache.verify(path)["sha256"] == hashlib.sha256(b"spectra").hexdigest()


def test_a_wrong_digest_makes_the_entry_fail_its_check_and_be_recomputed(tmp_path, capsys):
    def save_wrong(obj, path):
        path.write_bytes(obj)
        return cache.Digest("0" * 64)
    calls = []

    def compute():
        calls.append(1)
        return b"spectra"
    for _ in range(2):
        assert cache.cached("wrong", {}, compute, save=save_wrong, load=lambda p: p.read_bytes(), ext="bin",
                            root=tmp_path, verbose=False) == b"spectra"
    assert len(calls) == 2 and "recomputing" in capsys.readouterr().out
