import numpy as np
import pytest
import torch

from soilnb.models.latent import latent_activity
from soilnb.models.nets import VAE, VAEConfig


@pytest.fixture
def linear_vae():
    """depth 0: encoder and decoder are single Linear layers, so every quantity has a closed form."""
    torch.manual_seed(0)
    vae = VAE(VAEConfig(n_in=12, latent_dim=3, hidden=4, depth=0))
    with torch.no_grad():
        vae.decoder[0].weight[:, 2] = 0.0        # the decoder ignores dimension 3
    return vae


def test_activity_matches_closed_form(linear_vae):
    X = np.random.default_rng(1).normal(size=(50, 12)).astype(np.float32)
    act = latent_activity(linear_vae, X)
    We, be = (p.detach().double().numpy() for p in (linear_vae.encoder[0].weight, linear_vae.encoder[0].bias))
    Wd = linear_vae.decoder[0].weight.detach().double().numpy()
    out = X.astype(np.float64) @ We.T + be
    mu, logvar = out[:, :3], out[:, 3:]
    sd = mu.std(0, ddof=1)
    np.testing.assert_allclose(act["sd"], sd, rtol=1e-5)
    np.testing.assert_allclose(act["kl"], (-0.5 * (1 + logvar - mu ** 2 - np.exp(logvar))).mean(0), rtol=1e-5)
    # a linear decoder moves every spectrum by sd_j * W[:, j]: RMS = sd_j * sqrt(mean(W[:, j]^2))
    np.testing.assert_allclose(act["decoder_sensitivity"], sd * np.sqrt((Wd ** 2).mean(0)), rtol=1e-4, atol=1e-7)
    assert act["decoder_sensitivity"].iloc[2] == 0.0
    assert list(act["in_use"]) == [True, True, False]
    assert list(act["active_au"]) == list(sd ** 2 > 0.01)
    assert list(act["feature"]) == [1, 2, 3]


def test_activity_rejects_bad_input(linear_vae):
    with pytest.raises(ValueError, match="shape"):
        latent_activity(linear_vae, np.zeros((5, 11)))
    with pytest.raises(ValueError, match="NaN"):
        latent_activity(linear_vae, np.full((5, 12), np.nan))
    with pytest.raises(ValueError, match="at least 2"):
        latent_activity(linear_vae, np.zeros((1, 12)))


def test_activity_subsamples_and_keeps_mode(linear_vae):
    X = np.random.default_rng(2).normal(size=(300, 12)).astype(np.float32)
    linear_vae.train()
    a = latent_activity(linear_vae, X, max_rows=100, seed=3)
    assert linear_vae.training                      # mode restored
    b = latent_activity(linear_vae, X, max_rows=100, seed=3)
    np.testing.assert_array_equal(a["sd"], b["sd"])
    assert not np.allclose(a["sd"], latent_activity(linear_vae, X)["sd"])


def test_alignment_against_hand_values():
    from soilnb.models.latent import latent_alignment

    z_mir = np.array([[0.0, 10.0], [1.0, 10.0], [2.0, 13.0], [3.0, 11.0]])
    z_nir = z_mir + np.array([[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [-1.0, 2.0]])
    ref = np.array([[0.0, 0.0], [2.0, 4.0]])                       # sd (ddof=1): sqrt(2), sqrt(8)
    a = latent_alignment(z_nir, z_mir, reference=ref)
    # dim 1: errors +-1 -> RMSE 1; SSE 4, SST of 0..3 = 5 -> R2 = 0.2
    # dim 2: errors 0,0,0,2 -> RMSE 1; SSE 4, SST of (10,10,13,11) = 6 -> R2 = 1/3
    np.testing.assert_allclose(a["rmse_sd"], [1 / np.sqrt(2), 1 / np.sqrt(8)])
    np.testing.assert_allclose(a["r2"], [0.2, 1 / 3])
    # Lin's CCC by hand for dim 1: y = 0..3, x = 1,2,1,2: s_xy = 0.25, s_y^2 = 1.25, s_x^2 = 0.25, means 1.5 and 1.5
    np.testing.assert_allclose(a["ccc"].iloc[0], 2 * 0.25 / (1.25 + 0.25))
    with pytest.raises(ValueError, match="same shape"):
        latent_alignment(z_nir[:, :1], z_mir)
    with pytest.raises(ValueError, match="reference"):
        latent_alignment(z_nir, z_mir, reference=ref[:, :1])


def test_alignment_rejects_constant_dimensions():
    from soilnb.models.latent import latent_alignment

    z = np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match=r"z_mir is constant in dimension\(s\) \[2\]"):
        latent_alignment(z + 0.1, z, reference=np.array([[0.0, 0.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match=r"reference embeddings are constant in dimension\(s\) \[2\]"):
        latent_alignment(z + 0.1, z)


def test_relative_in_use_threshold(linear_vae):
    X = np.random.default_rng(1).normal(size=(50, 12)).astype(np.float32)
    act = latent_activity(linear_vae, X, threshold=0.0)
    s = act["decoder_sensitivity"].to_numpy()
    # threshold just above the smaller non-zero sensitivity's share of the largest: only the largest stays in use
    share = np.sort(s[:2])[0] / s.max()
    assert latent_activity(linear_vae, X, threshold=share * 1.001)["in_use"].sum() == 1
    assert latent_activity(linear_vae, X, threshold=share * 0.999)["in_use"].sum() == 2
