"""A bundle's parts checked against one another on loading, its id in every prediction, the one-rename swap."""
import hashlib
import io
import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
import safetensors.numpy
from apply_world import make_tiny

from soilnb import apply
from soilnb.apply import BundleError
from soilnb.apply.bundle_io import swap_in
from soilnb.core.cache import file_sha256


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    yield from make_tiny(tmp_path_factory)


def _edited(tiny, tmp_path, edit_arrays=None, edit_heads=None, edit_models=None):
    """A copy of the tiny bundle with arrays.npz / heads.safetensors / bundle.json's models edited and the manifest
    re-hashed."""
    folder = shutil.copytree(tiny["folder"], tmp_path / "edited")
    if edit_models:
        doc = json.loads((folder / "bundle.json").read_text())
        edit_models(doc["models"])
        (folder / "bundle.json").write_text(json.dumps(doc, indent=1))
    if edit_arrays:
        with np.load(folder / "arrays.npz") as z:
            arrays = {k: z[k] for k in z.files}
        edit_arrays(arrays)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        (folder / "arrays.npz").write_bytes(buf.getvalue())
    if edit_heads:
        tensors = safetensors.numpy.load_file(str(folder / "heads.safetensors"))
        edit_heads(tensors)
        safetensors.numpy.save_file(tensors, str(folder / "heads.safetensors"))
    man = json.loads((folder / "manifest.json").read_text())
    for name in man["files"]:
        man["files"][name]["sha256"] = file_sha256(folder / name)
    (folder / "manifest.json").write_text(json.dumps(man))
    return folder


def test_rehashed_bundle_with_inconsistent_shapes_is_refused_naming_the_part(tiny, tmp_path):
    def short_grid(a):
        a["grid/MIR"] = a["grid/MIR"][:-1]

    with pytest.raises(BundleError, match=r"head MIR-PLSR reads \d+ features, but strategy MIR-PLSR gives it \d+ "
                                          r"\(spectra of the MIR range\)|the VAE reads \d+ MIR channels"):
        apply.load_bundle(_edited(tiny, tmp_path / "a", edit_arrays=short_grid))

    def one_coef_row_less(t):
        t["MIR-PLSR/coef"] = np.ascontiguousarray(t["MIR-PLSR/coef"][:-1])

    with pytest.raises(BundleError, match=r"head MIR-PLSR: coef \(\d+, \d+\) and intercept \(\d+,\) do not fit"):
        apply.load_bundle(_edited(tiny, tmp_path / "b", edit_heads=one_coef_row_less))

    def narrow_layer(t):
        t["MIR-MLP/bias0"] = np.ascontiguousarray(t["MIR-MLP/bias0"][:-2])

    with pytest.raises(BundleError, match=r"head MIR-MLP: layer 0 has weight \(\d+, \d+\) and bias \(\d+,\)"):
        apply.load_bundle(_edited(tiny, tmp_path / "c", edit_heads=narrow_layer))

    def shift_of_other_size(a):
        a["shift/MIR/median_"] = np.append(a["shift/MIR/median_"], 0.0)

    with pytest.raises(BundleError, match=r"the MIR shift reference has arrays of shapes"):
        apply.load_bundle(_edited(tiny, tmp_path / "d", edit_arrays=shift_of_other_size))
    assert apply.load_bundle(_edited(tiny, tmp_path / "e")).strategies == tiny["loaded"].strategies   # untouched


MODEL_EDITS = {   # an entry of bundle.json's models that VAEConfig / build_nir_to_mir refuse, and the message
    "activation": (lambda m: m["vae"].update(activation="gelu"), r"models\.vae: unexpected 'activation'"),
    "negative depth": (lambda m: m["vae"].update(depth=-1), r"models\.vae: depth is -1, not a whole number >= 0"),
    "float width": (lambda m: m["vae"].update(hidden=64.0), r"models\.vae: hidden is 64\.0, not a whole number"),
    "no beta": (lambda m: m["vae"].pop("beta"), r"models\.vae: no beta \(the entry holds exactly"),
    "other kind": (lambda m: m["vae"].update(kind="nir_to_mir"), r"models\.vae: model kind 'nir_to_mir', not 'vae'"),
    "zero width": (lambda m: m["nir_to_mir"].update(hidden=0),
                   r"models\.nir_to_mir: hidden is 0, not a whole number >= 1"),
    "NIR extra": (lambda m: m["nir_to_mir"].update(dropout=0.1), r"models\.nir_to_mir: unexpected 'dropout'"),
    "vae_cfg kind": (lambda m: m["nir_to_mir"]["vae_cfg"].update(kind="vae"),
                     r"models\.nir_to_mir\.vae_cfg: unexpected 'kind'"),
    "vae_cfg size": (lambda m: m["nir_to_mir"]["vae_cfg"].update(latent_dim=0),
                     r"models\.nir_to_mir\.vae_cfg: latent_dim is 0"),
}


@pytest.mark.parametrize("edit", MODEL_EDITS)
def test_a_model_entry_the_modules_refuse_is_refused_by_both_engines(tiny, tmp_path, edit):
    """A models entry of bundle.json edited (and the manifest re-hashed) so that torch's VAEConfig or
    build_nir_to_mir would refuse it: both engines refuse the bundle with one BundleError naming bundle.json and
    the entry, never a TypeError from deep inside torch, and the NumPy engine does not load it regardless."""
    change, match = MODEL_EDITS[edit]
    folder = _edited(tiny, tmp_path, edit_models=change)
    for engine in ("numpy", "torch"):
        with pytest.raises(BundleError, match=re.escape(str(folder / "bundle.json")) + ": " + match):
            apply.load_bundle(folder, engine=engine)


def test_on_torch_names_the_entry_its_modules_refuse(tiny):
    """A NumPy model whose configuration the torch modules refuse (past the loader's checks) gives a BundleError
    naming bundle.json and the entry from on_torch, not the TypeError or ValueError of VAEConfig or _stack."""
    from soilnb.apply.torch_encoders import on_torch

    b = apply.load_bundle(tiny["folder"], engine="numpy")
    b.vae.config["activation"] = "gelu"
    b.n2m.config["depth"] = -1
    for model, entry, error in ((b.vae, "vae", "TypeError"), (b.n2m, "nir_to_mir", "ValueError")):
        where = tiny["folder"] / f"{entry}.safetensors"
        with pytest.raises(BundleError, match=re.escape(f"{tiny['folder'] / 'bundle.json'}: models.{entry}: "
                                                        f"incomplete or inconsistent ({error}")):
            on_torch(model, str(where))


def test_predictions_record_the_bundle_id(tiny, real_dir):
    b = apply.load_bundle(tiny["folder"])
    want = hashlib.sha256((tiny["folder"] / "manifest.json").read_bytes()).hexdigest()
    pred = b.predict(real_dir / "ossl_sample_inputs" / "icr056141.0")
    assert pred.attrs["bundle_id"] == want and set(pred["bundle_id"]) == {want}
    assert "bundle_id" not in json.loads((tiny["folder"] / "bundle.json").read_text())["info"]


def test_save_swaps_with_one_rename(tiny, tmp_path):
    """Over an existing bundle the new one is exchanged in atomically (renameat2 RENAME_EXCHANGE on Linux) and the
    old one removed; nothing is left beside the folder; the saved bundle knows its id."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("new")
    (b / "x").write_text("old")
    assert swap_in(a, b) == "exchange" and (b / "x").read_text() == "new" and (a / "x").read_text() == "old"
    assert swap_in(b, tmp_path / "c") == "rename" and (tmp_path / "c" / "x").read_text() == "new"
    folder = tmp_path / "bundle"
    tiny["bundle"].save(folder)
    tiny["bundle"].save(folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "bundle", "c"]
    assert tiny["bundle"].info["bundle_id"] == hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()
    X = tiny["F"].test_mir
    _, flags_saved = apply.predict_arrays(apply.load_bundle(folder), "MIR", X, ["MIR-PLSR"])
    _, flags_mem = apply.predict_arrays(tiny["bundle"], "MIR", X, ["MIR-PLSR"])
    pd.testing.assert_frame_equal(flags_saved, flags_mem, check_exact=True)


def test_save_beside_a_fifo_does_not_block(tiny, tmp_path):
    """Saving flushes the parent folder's entry, never opens the parent's other files (a FIFO there would block)."""
    import os

    os.mkfifo(tmp_path / "pipe")
    folder = tiny["bundle"].save(tmp_path / "b")
    assert apply.read_manifest(folder)["format"] == "soilnb-bundle"
