import hashlib
import json

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
    meta = json.loads(cache.artifact_path("step", {"p": 1}, root=tmp_path).with_suffix(".pkl.json").read_text())
    assert meta["params"] == {"p": 1}


def test_corrupt_cache_is_reported(tmp_path):
    cache.cached("step", {"p": 1}, lambda: [1, 2, 3], root=tmp_path, verbose=False)
    path = cache.artifact_path("step", {"p": 1}, root=tmp_path)
    path.write_bytes(path.read_bytes()[:-3] + b"xyz")
    with pytest.raises(cache.CacheError, match="corrupt"):
        cache.cached("step", {"p": 1}, lambda: [1, 2, 3], root=tmp_path, verbose=False)


def test_interrupted_write_leaves_nothing(tmp_path):
    def boom():
        raise KeyboardInterrupt

    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError):
        with cache.atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("interrupted")
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_artifact_without_sidecar_is_recomputed(tmp_path, capsys):
    # a run killed between writing the artifact and its sidecar must restart cleanly (issue 4)
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
