"""Training loops of soilnb.models.train on small synthetic spectra (CPU, seconds)."""
import numpy as np
import pytest
import torch

from soilnb.models.checkpoints import (
    build_nir_to_mir,
    load_checkpoint,
    load_nir_to_mir,
    load_result,
    load_vae,
    save_model,
    save_result,
)
from soilnb.models.inference import convert, embed, fno_inputs, predict_in_batches
from soilnb.models.loop import fit_loop
from soilnb.models.nets import VAEConfig
from soilnb.models.torchutil import seeded
from soilnb.models.train import (
    _repeat_groups,
    alpha_schedule,
    train_fno,
    train_nir_to_mir,
    train_vae,
)
from soilnb.stats.splits import grouped_split


def snv(A):
    return ((A - A.mean(1, keepdims=True)) / A.std(1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def world():
    """120 samples x 4 scan repeats: 3 latent factors -> fixed random linear maps (MIR 48, NIR 24) -> SNV."""
    rng = np.random.default_rng(0)
    n_samples, reps = 120, 4
    Z = rng.normal(size=(n_samples, 3))
    mir = np.repeat(Z @ rng.normal(size=(3, 48)) + 3.0, reps, 0) + 0.05 * rng.normal(size=(n_samples * reps, 48))
    nir = np.repeat(np.tanh(Z) @ rng.normal(size=(3, 24)), reps, 0) + 0.05 * rng.normal(size=(n_samples * reps, 24))
    return {"mir": snv(mir), "nir": snv(nir), "sid": np.repeat(np.arange(n_samples) + 1000, reps)}


VAE_KW = dict(epochs=25, batch_size=32, lr=3e-3, progress=False, device="cpu")
CFG = VAEConfig(n_in=48, latent_dim=4, hidden=32, depth=2, beta=1e-3)


@pytest.fixture(scope="module")
def vae(world):
    return train_vae(world["mir"], world["sid"], CFG, seed=0, **VAE_KW)


# ---------------------------------------------------------------- pure helpers
def test_grouped_split_keeps_samples_whole_and_is_reproducible():
    sid = np.repeat(np.arange(50), np.arange(50) % 3 + 1)
    tr, va = grouped_split(sid, 0.2, seed=1)
    assert np.intersect1d(tr, va).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([tr, va])), np.arange(len(sid)))
    assert np.intersect1d(sid[tr], sid[va]).size == 0
    assert len(np.unique(sid[va])) == 10  # round(0.2 * 50)
    tr2, va2 = grouped_split(sid, 0.2, seed=1)
    np.testing.assert_array_equal(va, va2)
    assert not np.array_equal(va, grouped_split(sid, 0.2, seed=2)[1])


@pytest.mark.parametrize("sid, frac, msg", [(np.zeros(5), 0.2, "at least 2 distinct"),
                                            (np.arange(5), 1.0, "val_fraction"),
                                            (np.zeros((2, 2)), 0.2, "1-D")])
def test_grouped_split_errors(sid, frac, msg):
    with pytest.raises(ValueError, match=msg):
        grouped_split(sid, frac)


def test_alpha_schedule_is_linear_from_one_to_zero():
    np.testing.assert_allclose([alpha_schedule(e, 5) for e in range(5)], [1.0, 0.75, 0.5, 0.25, 0.0], atol=1e-15)
    assert alpha_schedule(0, 1) == 1.0
    with pytest.raises(ValueError, match="0 <= epoch < n_epochs"):
        alpha_schedule(5, 5)


def test_repeat_groups_index_the_same_sample():
    sid = np.array([7, 3, 7, 9, 3, 7])
    gid, order, start, size, pos = _repeat_groups(sid)
    np.testing.assert_array_equal(order[start + pos], np.arange(6))  # each row finds itself
    np.testing.assert_array_equal(size, [3, 2, 3, 1, 2, 3])
    for i in range(6):  # every position within the group points at a row of the same sample
        assert set(sid[order[start[i] + np.arange(size[i])]]) == {sid[i]}


def test_fit_loop_stops_early_and_restores_best_weights():
    lin = torch.nn.Linear(2, 1)
    X, y = torch.randn(16, 2), torch.randn(16, 1)
    snapshots, scores = [], iter([3.0, 1.0, 2.0, 2.5, 0.5])

    def evaluate(epoch):
        snapshots.append(lin.weight.detach().clone())
        return {"val": next(scores)}

    hist = fit_loop(lin, train_rows=torch.arange(16), step=lambda r, e: ((lin(X[r]) - y[r]) ** 2).mean(),
                    evaluate=evaluate, monitor="val", epochs=5, batch_size=4, lr=0.1, weight_decay=0.0,
                    patience=2, seed=0, device=torch.device("cpu"), progress=False, desc="t")
    assert hist["epoch"] == [0, 1, 2, 3] and hist["best_epoch"] == 1 and hist["best_val"] == 1.0
    torch.testing.assert_close(lin.weight, snapshots[1], rtol=0, atol=0)



@pytest.mark.parametrize("reference", ["fused", "per-parameter"])
def test_fit_loop_adamw_equals_torch_adamw(reference):
    """The loop's AdamW on the CPU (torch's fused kernel, for speed) against torch.optim.AdamW, driven by a loop
    written out here with the same batches, dropout included: the fused torch optimiser gives the same weights to
    the last bit, torch's default per-parameter update the same weights within float32 rounding (not bit for bit:
    the fused kernel orders its arithmetic differently)."""
    from soilnb.models.adamw import make_adamw
    from soilnb.models.nets import MLP
    from soilnb.models.torchutil import batch_slices, permutation

    from soilnb.models.adamw import LeanAdamW

    assert isinstance(make_adamw([torch.nn.Parameter(torch.zeros(1))], lr=1e-3, weight_decay=0.0,
                                 device=torch.device("cpu")), LeanAdamW)
    rng = np.random.default_rng(1)
    X = torch.from_numpy(rng.normal(size=(96, 40)).astype(np.float32))
    Y = torch.from_numpy(rng.normal(size=(96, 3)).astype(np.float32))

    def net():
        with seeded(5, torch.device("cpu")):
            return MLP(40, 3, 32, 2, 0.1)

    def step_of(m):
        return lambda r, e: torch.nn.functional.mse_loss(m(X[r]), Y[r])

    ours, ref = net(), net()
    with seeded(11, torch.device("cpu")):          # the same dropout masks in both runs
        fit_loop(ours, train_rows=torch.arange(96), step=step_of(ours), evaluate=lambda e: {}, monitor=None, epochs=4,
                 batch_size=16, lr=3e-3, weight_decay=1e-2, patience=None, seed=7, device=torch.device("cpu"),
                 progress=False, desc="t")
    opt = torch.optim.AdamW(ref.parameters(), lr=3e-3, weight_decay=1e-2,
                            **({"fused": True} if reference == "fused" else {"foreach": False}))
    gen = torch.Generator().manual_seed(7)
    ref.train()
    step = step_of(ref)
    with seeded(11, torch.device("cpu")):
        for _ in range(4):
            perm = permutation(96, gen, torch.device("cpu"))
            for sl in batch_slices(96, 16, drop_last=True):
                loss = step(perm[sl], 0)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
    for (name, a), b in zip(ours.state_dict().items(), ref.state_dict().values()):
        if reference == "fused":
            assert torch.equal(a, b), name
        else:
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=name)
    assert not torch.equal(ours.state_dict()["net.0.weight"], net().state_dict()["net.0.weight"])   # it trained


def test_lean_adamw_equals_torch_adamw_with_idle_parameters_and_rate_changes():
    """LeanAdamW against torch.optim.AdamW (fused) step by step, and against AdamW's equations written out here in
    float64: a parameter without a gradient in some steps is left alone and its moments and step count wait (as
    torch's), a new rate applies from the next step; the weights stay identical bit for bit to torch's and within
    float32 rounding of the hand computation."""
    from soilnb.models.adamw import LeanAdamW

    def params():
        g = torch.Generator().manual_seed(2)
        return [torch.nn.Parameter(torch.randn(5, 3, generator=g)), torch.nn.Parameter(torch.randn(3, generator=g))]

    ours, ref = params(), params()
    hand = [p.detach().double().clone() for p in params()]
    moments = [[torch.zeros_like(h), torch.zeros_like(h), 0] for h in hand]    # m, v, steps taken
    lean = LeanAdamW(ours, lr=1e-2, weight_decay=0.1)
    torch_opt = torch.optim.AdamW(ref, lr=1e-2, weight_decay=0.1, fused=True)
    x = torch.randn(7, 5, generator=torch.Generator().manual_seed(3))
    lr = 1e-2
    for i in range(12):
        if i == 6:
            lean.param_groups[0]["lr"] = torch_opt.param_groups[0]["lr"] = lr = 3e-3
        grads = None
        for opt, (w, b) in ((lean, ours), (torch_opt, ref)):
            opt.zero_grad(set_to_none=True)
            loss = (x @ w).pow(2).mean() + ((b ** 3).sum() if i % 3 else 0.0)   # b idle every third step
            loss.backward()
            grads = grads or [None if p.grad is None else p.grad.double() for p in (w, b)]
            opt.step()
        for h, mom, g in zip(hand, moments, grads):       # Loshchilov & Hutter's Algorithm 2, torch's defaults
            if g is None:
                continue
            mom[2] += 1
            h.mul_(1 - lr * 0.1)
            mom[0] = 0.9 * mom[0] + 0.1 * g
            mom[1] = 0.999 * mom[1] + 0.001 * g * g
            m_hat, v_hat = mom[0] / (1 - 0.9 ** mom[2]), mom[1] / (1 - 0.999 ** mom[2])
            h.sub_(lr * m_hat / (v_hat.sqrt() + 1e-8))
        assert torch.equal(ours[0], ref[0]) and torch.equal(ours[1], ref[1]), i
        for o, h in zip(ours, hand):
            torch.testing.assert_close(o.detach().double(), h, rtol=1e-5, atol=1e-6)
    assert float(lean.state[ours[1]][0]) == 8.0 == float(torch_opt.state[ref[1]]["step"])   # 12 steps, 4 idle
    assert not torch.equal(ours[1].detach().double(), params()[1].detach().double())         # it moved


def test_cosine_learning_rate_by_hand():
    from soilnb.models.loop import epoch_lr

    assert [epoch_lr(0.1, e, 3, "constant") for e in range(3)] == [0.1, 0.1, 0.1]
    # lr * (0.05 + 0.95 * (1 + cos(pi * e / 2)) / 2): 0.1, 0.0525, 0.005
    np.testing.assert_allclose([epoch_lr(0.1, e, 3, "cosine") for e in range(3)], [0.1, 0.0525, 0.005], rtol=1e-12)
    # the optimiser really runs at these rates: one plain SGD-like step of AdamW moves each weight by ~lr
    lin = torch.nn.Linear(1, 1, bias=False)
    moves = []

    def evaluate(epoch):
        moves.append(float(lin.weight))
        return {}

    with torch.no_grad():
        lin.weight.fill_(0.0)
    hist = fit_loop(lin, train_rows=torch.arange(4), step=lambda r, e: -lin.weight.sum(), evaluate=evaluate,
                    monitor=None, epochs=3, batch_size=4, lr=0.1, weight_decay=0.0, patience=None, seed=0,
                    device=torch.device("cpu"), progress=False, desc="t", lr_schedule="cosine")
    np.testing.assert_allclose(hist["lr"], [0.1, 0.0525, 0.005], rtol=1e-12)
    np.testing.assert_allclose(np.diff([0.0] + moves), [0.1, 0.0525, 0.005], rtol=1e-4)   # Adam's first steps ~ lr
    with pytest.raises(ValueError, match="lr_schedule must be 'constant' or 'cosine'"):
        fit_loop(lin, train_rows=torch.arange(4), step=lambda r, e: lin.weight.sum(), evaluate=evaluate,
                 monitor=None, epochs=1, batch_size=4, lr=0.1, weight_decay=0.0, patience=None, seed=0,
                 device=torch.device("cpu"), progress=False, desc="t", lr_schedule="step")


# ---------------------------------------------------------------- stage 1: VAE
def test_vae_loss_falls_well_below_the_mean_spectrum(world, vae):
    model, hist = vae
    assert set(hist) >= {"epoch", "train_loss", "val_loss", "val_rec", "val_kl", "seconds", "best_epoch"}
    _, va = grouped_split(world["sid"], 0.2, 0)
    X = world["mir"]
    baseline = np.mean((X[va] - X[np.setdiff1d(np.arange(len(X)), va)].mean(0)) ** 2)
    assert hist["val_rec"][hist["best_epoch"]] < 0.1 * baseline
    assert hist["val_loss"][hist["best_epoch"]] < 0.2 * hist["val_loss"][0]
    assert hist["n_val"] == len(va)


def test_vae_is_deterministic_and_leaves_global_rng_alone(world, vae):
    state = torch.get_rng_state()
    model2, hist2 = train_vae(world["mir"], world["sid"], CFG, seed=0, **VAE_KW)
    assert torch.equal(state, torch.get_rng_state())
    assert hist2["val_loss"] == vae[1]["val_loss"]
    for (k, a), b in zip(vae[0].state_dict().items(), model2.state_dict().values()):
        assert torch.equal(a, b), k
    _, hist3 = train_vae(world["mir"], world["sid"], CFG, seed=1, **{**VAE_KW, "epochs": 2})
    assert hist3["val_loss"][0] != vae[1]["val_loss"][0]


@pytest.mark.parametrize("repeats", ["cross", "mean"])
def test_vae_repeat_modes_train(world, repeats):
    _, hist = train_vae(world["mir"], world["sid"], CFG, seed=0, repeats=repeats, **{**VAE_KW, "epochs": 8})
    assert hist["repeats"] == repeats
    assert hist["val_loss"][-1] < 0.5 * hist["val_loss"][0]


def test_vae_input_errors(world):
    with pytest.raises(ValueError, match="repeats must be one of"):
        train_vae(world["mir"], world["sid"], CFG, repeats="pairs", **VAE_KW)
    with pytest.raises(ValueError, match=r"cfg.n_in=1701"):
        train_vae(world["mir"], world["sid"], VAEConfig(), **VAE_KW)
    with pytest.raises(ValueError, match="X has 480 rows but sample_id has 3"):
        train_vae(world["mir"], world["sid"][:3], CFG, **VAE_KW)


def test_vae_save_load_round_trip(tmp_path, world, vae):
    model, hist = vae
    path = save_model(model, tmp_path / "vae.pt", history=hist)
    loaded = load_vae(path)
    np.testing.assert_array_equal(embed(loaded, world["mir"]), embed(model, world["mir"]))
    assert load_checkpoint(path)["history"]["best_epoch"] == hist["best_epoch"]
    assert [p.name for p in tmp_path.iterdir()] == ["vae.pt"]  # no temp file left behind
    with pytest.raises(ValueError, match="holds a 'vae' model, not 'nir_to_mir'"):
        load_nir_to_mir(path)
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(Exception):
        load_vae(tmp_path / "junk.pt")


def test_predict_in_batches_matches_full_batch_and_restores_mode(world, vae):
    model = vae[0]
    model.train()
    out = predict_in_batches(model.encode, world["mir"], batch_size=7)  # tuple -> mu
    assert model.training
    model.eval()
    with torch.no_grad():
        ref = model.embed(torch.from_numpy(world["mir"])).numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- stage 2: NIR -> MIR
NIR_KW = dict(hidden=32, epochs=40, batch_size=32, lr=3e-3, seed=0, device="cpu", progress=False)


@pytest.fixture(scope="module")
def nir(world, vae):
    return train_nir_to_mir(vae[0], world["nir"], world["mir"], world["sid"], **NIR_KW)


def test_nir_training_keeps_the_decoder_bit_identical(world, vae, nir):
    model, _ = nir
    for (k, a), b in zip(vae[0].decoder.state_dict().items(), model.mir_decoder.state_dict().values()):
        assert torch.equal(a, b), k
    assert all(p.requires_grad for p in vae[0].parameters())  # the caller's VAE is untouched
    with seeded(0):
        init = build_nir_to_mir(CFG, world["nir"].shape[1], 32, vae=vae[0])
    assert not torch.equal(init.nir_encoder.net[0].weight, model.nir_encoder.net[0].weight)


def test_nir_to_mir_beats_the_training_mean(world, nir):
    model, hist = nir
    tr, va = grouped_split(world["sid"], 0.2, 0)
    np.testing.assert_array_equal(hist["val_idx"], va)
    mir_hat, z = convert(model, world["nir"][va]), embed(model, world["nir"][va])
    mse = np.mean((mir_hat - world["mir"][va]) ** 2)
    mean_mse = np.mean((world["mir"][tr].mean(0) - world["mir"][va]) ** 2)
    assert mse < 0.3 * mean_mse
    assert mse == pytest.approx(hist["val_mir_mse"][hist["best_epoch"]], rel=1e-4)
    assert z.shape == (len(va), CFG.latent_dim)
    np.testing.assert_allclose(hist["alpha"], [alpha_schedule(e, 40) for e in hist["epoch"]], atol=1e-15)


def test_nir_to_mir_save_load_round_trip(tmp_path, world, nir):
    path = save_model(nir[0], tmp_path / "n2m.pt")
    loaded = load_nir_to_mir(path)
    assert all(not p.requires_grad for p in loaded.mir_decoder.parameters())
    for op in (convert, embed):
        np.testing.assert_array_equal(op(loaded, world["nir"]), op(nir[0], world["nir"]))


def test_result_round_trip_for_the_cache(tmp_path, world, nir):
    path = save_result(nir, tmp_path / "n2m.pt")
    model, hist = load_result(path)
    np.testing.assert_array_equal(hist["val_idx"], nir[1]["val_idx"])
    assert hist["val_mir_mse"] == nir[1]["val_mir_mse"]
    np.testing.assert_array_equal(convert(model, world["nir"]), convert(nir[0], world["nir"]))


def test_nir_to_mir_shape_error(world, vae):
    with pytest.raises(ValueError, match=r"vae.cfg.n_in=48"):
        train_nir_to_mir(vae[0], world["nir"], world["nir"], world["sid"], **NIR_KW)


# ---------------------------------------------------------------- Appendix C: FNO
def test_fno_inputs_match_numpy_interp():
    X = np.random.default_rng(1).normal(size=(3, 11)).astype(np.float32)
    inp = fno_inputs(X, 40).numpy()
    grid = np.linspace(0, 1, 40)
    ref = np.stack([np.interp(grid, np.linspace(0, 1, 11), x) for x in X])
    np.testing.assert_allclose(inp[:, 0], ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(inp[:, 1], np.broadcast_to(grid, (3, 40)), atol=1e-6)


def test_fno_trains_and_predicts(world):
    model, hist = train_fno(world["nir"], world["mir"], world["sid"], modes=12, width=16, epochs=15, batch_size=32,
                            lr=1e-2, seed=0, device="cpu", progress=False)
    tr, va = grouped_split(world["sid"], 0.2, 0)
    pred = convert(model, world["nir"][va], n_out=48)
    assert pred.shape == (len(va), 48)
    mse = np.mean((pred - world["mir"][va]) ** 2)
    assert mse == pytest.approx(hist["val_mse"][hist["best_epoch"]], rel=1e-4)
    assert mse < 0.1 * np.mean((world["mir"][tr].mean(0) - world["mir"][va]) ** 2)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("compile", [False, True])
def test_cuda_bf16_path_trains(world, compile):
    model, hist = train_vae(world["mir"], world["sid"], CFG, seed=0, compile=compile,
                            **{**VAE_KW, "device": "cuda", "epochs": 15})
    assert hist["device"].startswith("cuda") and next(model.parameters()).is_cuda
    assert hist["val_loss"][hist["best_epoch"]] < 0.3 * hist["val_loss"][0]
    emb = embed(model, world["mir"])
    assert emb.shape == (len(world["mir"]), CFG.latent_dim) and np.isfinite(emb).all()


def test_compiled_vae_matches_eager_on_cpu(world, monkeypatch):
    # the torch.compile path (the paper profile's default) against the eager loop, same seed: same losses up to
    # kernel-fusion rounding. Inductor draws the reparameterisation noise from its own generator unless told to
    # fall back to eager's. Compilation takes ~15 s on 2 cores.
    import torch._inductor.config as inductor_config

    monkeypatch.setattr(inductor_config, "fallback_random", True)
    kw = {**VAE_KW, "epochs": 3}
    _, eager = train_vae(world["mir"], world["sid"], CFG, seed=0, compile=False, **kw)
    model, comp = train_vae(world["mir"], world["sid"], CFG, seed=0, compile=True, **kw)
    np.testing.assert_allclose(comp["val_loss"], eager["val_loss"], rtol=1e-3)
    assert comp["val_loss"][-1] < comp["val_loss"][0]
    assert embed(model, world["mir"][:5]).shape == (5, CFG.latent_dim)


def test_vae_batch_fits_the_data_size():
    from soilnb.models.train import vae_batch_size

    assert vae_batch_size(512, 19200) == 512            # the default profile's VAE keeps its batch
    assert vae_batch_size(512, 320) == 40               # 400 spectra: 8 steps per epoch, not 1
    assert vae_batch_size(512, 50) == 16


def test_fit_loop_warns_when_still_improving_or_under_trained():
    import torch

    from soilnb.models.loop import fit_loop

    model = torch.nn.Linear(3, 1)
    X, y = torch.randn(64, 3), torch.randn(64, 1)
    val = iter(range(100, 0, -1))                       # a validation loss that keeps falling

    with pytest.warns(UserWarning) as rec:
        h = fit_loop(model, train_rows=torch.arange(64), step=lambda rows, e: ((model(X[rows]) - y[rows]) ** 2).mean(),
                     evaluate=lambda e: {"val": float(next(val))}, monitor="val", epochs=3, batch_size=16, lr=1e-3,
                     weight_decay=0.0, patience=None, seed=0, device=torch.device("cpu"), progress=False, desc="toy")
    messages = [str(w.message) for w in rec]
    assert h["still_improving"] and h["steps"] == 12 and h["best_epoch"] == 2
    assert any("still falling at the last of 3 epochs (12 optimiser steps)" in m for m in messages)
    assert any("only 12 optimiser steps (4 batches of 16 x 3 epochs)" in m for m in messages)


def test_fit_loop_early_stopping_waits_for_min_steps():
    lin = torch.nn.Linear(2, 1)
    X, y = torch.randn(16, 2), torch.randn(16, 1)
    common = dict(train_rows=torch.arange(16), step=lambda r, e: ((lin(X[r]) - y[r]) ** 2).mean(), monitor="val",
                  epochs=50, batch_size=4, lr=0.1, weight_decay=0.0, patience=2, seed=0, device=torch.device("cpu"),
                  progress=False, desc="t")
    worse = lambda e: {"val": float(e)}                        # noqa: E731  (best at epoch 0, then worse)
    assert fit_loop(lin, evaluate=worse, **common)["steps"] == 3 * 4          # patience 2: stops after epoch 2
    h = fit_loop(lin, evaluate=worse, min_steps=30, **common)
    assert h["steps"] == 8 * 4 and h["best_epoch"] == 0        # 4 steps per epoch: the first epoch end at >= 30 steps


def _spectral_by_fft(conv, x):
    """The Fourier layer as Li et al. write it: irfft(rfft(x)[:modes] * weight), zeros above ``modes``."""
    x_ft = torch.fft.rfft(x, dim=-1)
    w = torch.view_as_complex(conv.weight)
    out = torch.zeros(x.shape[0], w.shape[1], x.shape[-1] // 2 + 1, dtype=x_ft.dtype)
    out[:, :, :conv.modes] = torch.einsum("bim,iom->bom", x_ft[:, :, :conv.modes], w)
    return torch.fft.irfft(out, n=x.shape[-1], dim=-1)


@pytest.mark.parametrize("n, modes", [(1701, 16), (64, 33), (17, 9), (50, 1)])   # odd, even with Nyquist bin, ...
def test_spectral_conv_by_dft_matrices_equals_the_fft(n, modes):
    from soilnb.models.nets import FNO1d, SpectralConv1d

    torch.manual_seed(0)
    conv = SpectralConv1d(3, 4, modes)
    with torch.no_grad():
        conv.weight.normal_()
    x = torch.randn(5, 3, n)
    torch.testing.assert_close(conv(x), _spectral_by_fft(conv, x), rtol=1e-4, atol=1e-4 * x.abs().max().item())
    # the whole FNO equals its Conv1d + FFT form (the same parameters)
    fno = FNO1d(modes=modes, width=6, n_layers=3, in_channels=2, out_channels=1)
    xin = torch.randn(4, 2, n)
    v = fno.lift(xin)
    for i, (spec, point) in enumerate(zip(fno.spectral, fno.pointwise)):
        v = _spectral_by_fft(spec, v) + point(v)
        v = torch.nn.functional.gelu(v) if i < 2 else v
    with torch.no_grad():
        torch.testing.assert_close(fno(xin), fno.project(v), rtol=1e-4, atol=1e-5)


def test_get_vaes_in_worker_processes_equals_training_one_after_the_other(monkeypatch):
    """Two latent sizes trained at once in worker processes give the weights of in-process runs on as many threads."""
    from soilnb import stages
    from soilnb.core.config import get_config
    from soilnb.stages import training

    monkeypatch.setenv("SOILNB_CACHE", "off")                      # compute everything, store nothing
    monkeypatch.setattr(training, "PARALLEL_MIN_STEPS", 0)          # the smoke VAEs are too short to be sent out
    monkeypatch.setattr(training, "available_cpus", lambda: 2)      # two workers of one thread each
    cfg = get_config("smoke", device="cpu", n_kssl=60, vae_epochs=3)
    F = stages.get_features(cfg)
    with pytest.warns(UserWarning, match="latent 8: VAE: only"):         # the workers' warnings reach this process
        together = training.get_vaes(cfg, F, [8, 4], workers=2, progress=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for d in (8, 4):
            model, hist = training.get_vae(cfg, F, latent_dim=d, progress=False)
            other, other_hist = together[d]
            assert other.cfg.latent_dim == d and hist["best_epoch"] == other_hist["best_epoch"]
            for (k, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
                assert torch.equal(a, b), k
    finally:
        torch.set_num_threads(threads)
