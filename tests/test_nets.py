"""Modules of soilnb.models.nets and helpers of soilnb.models.torchutil: shapes, closed forms, freezing."""
import math

import numpy as np
import pytest
import torch
from torch.distributions import Normal, kl_divergence

from soilnb.models.nets import (
    MLP,
    VAE,
    FNO1d,
    NIRtoMIR,
    SpectralConv1d,
    VAEConfig,
    vae_loss,
)
from soilnb.models.torchutil import (
    batch_slices,
    count_parameters,
    resolve_device,
    seed_everything,
)


def test_vae_shapes_and_eval_mode_is_deterministic():
    torch.manual_seed(0)
    vae = VAE(VAEConfig(n_in=20, latent_dim=3, hidden=8, depth=2))
    x = torch.randn(5, 20)
    mu, logvar = vae.encode(x)
    recon, mu2, _ = vae(x)
    assert mu.shape == logvar.shape == (5, 3)
    assert recon.shape == (5, 20)
    assert vae.decode(mu).shape == (5, 20)
    vae.eval()
    torch.testing.assert_close(vae(x)[0], vae.decode(vae.embed(x)), rtol=0, atol=0)
    vae.train()
    assert not torch.equal(vae(x)[0], vae(x)[0])  # sampling noise in train mode


def test_vae_loss_matches_hand_values_and_torch_kl():
    mu = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    logvar = torch.tensor([[0.0, math.log(2.0)], [math.log(0.5), 0.0]])
    recon = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    total, rec, kl = vae_loss(recon, torch.zeros(2, 2), mu, logvar, beta=0.1)
    # per sample 0.5*sum(exp(lv) + mu^2 - 1 - lv): 0.5*(1) + 0.5*(1 - ln2) and 0.5*(ln2 - 0.5) + 0.5*4
    assert rec.item() == pytest.approx(7.5, abs=1e-6)
    assert kl.item() == pytest.approx(1.375, abs=1e-6)
    assert total.item() == pytest.approx(7.5 + 0.1 * 1.375, abs=1e-6)
    ref = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(1).mean()
    assert kl.item() == pytest.approx(ref.item(), rel=1e-6)


def test_nir_to_mir_freezes_decoder_even_in_train_mode():
    dec = MLP(3, 12, 8, 1)
    model = NIRtoMIR(MLP(7, 3, 8, 1), dec, MLP(3, 7, 8, 1))
    model.train()
    assert not model.mir_decoder.training and model.nir_encoder.training and model.nir_decoder.training
    assert all(not p.requires_grad for p in model.mir_decoder.parameters())
    assert count_parameters(model, trainable_only=True) == count_parameters(model) - count_parameters(dec)
    mir_hat, nir_hat, z = model(torch.randn(4, 7))
    assert mir_hat.shape == (4, 12) and nir_hat.shape == (4, 7) and z.shape == (4, 3)


def test_mlp_shapes_parameter_count_and_bad_dropout():
    m = MLP(3, 2, hidden=4, depth=1)
    assert count_parameters(m) == 3 * 4 + 4 + 4 * 2 + 2
    assert m(torch.zeros(6, 3)).shape == (6, 2)
    assert count_parameters(MLP(3, 2, hidden=4, depth=0)) == 3 * 2 + 2
    with pytest.raises(ValueError, match="dropout"):
        MLP(3, 2, dropout=1.0)


def test_spectral_conv_single_mode_is_the_mean():
    # keeping only frequency 0 with weight 1 returns the signal's mean everywhere
    conv = SpectralConv1d(1, 1, modes=1)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([1.0, 0.0]).view(1, 1, 1, 2))
    x = torch.randn(3, 1, 17)
    torch.testing.assert_close(conv(x), x.mean(-1, keepdim=True).expand_as(x), rtol=1e-5, atol=1e-6)
    # all modes with weight 1 is the identity (rfft/irfft round trip)
    full = SpectralConv1d(1, 1, modes=9)
    with torch.no_grad():
        full.weight.zero_()
        full.weight[..., 0] = 1.0
    torch.testing.assert_close(full(x), x, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="modes=10 exceeds"):
        SpectralConv1d(1, 1, modes=10)(x)


def test_fno_shapes():
    fno = FNO1d(modes=4, width=6, n_layers=2, in_channels=2, out_channels=1)
    assert fno(torch.randn(3, 2, 50)).shape == (3, 1, 50)
    with pytest.raises(ValueError, match=">= 1"):
        FNO1d(modes=0)


def test_resolve_device_and_seed_checks():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda")
    with pytest.raises(ValueError, match="device must be"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(TypeError, match="seed must be an int"):
        seed_everything(1.5)


def test_seed_everything_repeats_draws():
    seed_everything(3)
    a = (np.random.rand(), torch.rand(1).item())
    seed_everything(3)
    assert (np.random.rand(), torch.rand(1).item()) == a


def test_batch_slices():
    assert batch_slices(10, 4) == [slice(0, 4), slice(4, 8), slice(8, 10)]
    assert batch_slices(10, 4, drop_last=True) == [slice(0, 4), slice(4, 8)]
    assert batch_slices(3, 4, drop_last=True) == [slice(0, 3)]
    with pytest.raises(ValueError, match="batch_size"):
        batch_slices(3, 0)
