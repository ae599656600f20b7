"""Which latent dimensions of the MIR VAE carry information? (posterior-collapse diagnostics)

A VAE may leave some latent dimensions unused: their posterior stays at the prior (KL ~ 0) and the
decoder ignores them. Stage two of the paper relies on the frozen decoder to pull the NIR embeddings
onto the MIR ones ("implicitly minimizing the discrepancy between z_NIR and z_MIR", Sect. 2.3); in a
dimension the decoder ignores nothing pulls, so z_NIR may drift there freely and the NIRtoMIR-SSL
strategy, which reads z directly, suffers. :func:`latent_activity` measures, per dimension:

- ``sd``: standard deviation of the embeddings (posterior means) over the given spectra;
- ``active_au``: Burda et al.'s (2016, arXiv:1509.00519) "active unit" rule ``var(mu) > 0.01``;
- ``kl``: mean ``KL(q(z_j | x) || N(0, 1))`` in nats (Kingma & Welling 2014, Appendix B);
- ``decoder_sensitivity``: RMS change of the reconstruction (SNV units) when the dimension is moved
  by one ``sd`` with the others held at each spectrum's embedding;
- ``in_use``: ``decoder_sensitivity >= threshold * max(decoder_sensitivity)``: a dimension far less
  sensitive than the most sensitive one is (nearly) ignored by the decoder, i.e. collapsed or weakly used.
  The relative rule does not depend on the scale of the embeddings or of the spectra.

:func:`latent_alignment` checks that claim on paired spectra: how close the NIR embeddings come to the
MIR embeddings of the same samples, per dimension.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from soilnb.stats.metrics import ccc, r2


def latent_activity(vae, X, threshold: float = 0.05, max_rows: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per-dimension activity of ``vae``'s latent space on spectra ``X``.

    Parameters
    ----------
    vae : soilnb.models.nets.VAE
        A trained VAE (used in eval mode on the CPU, without gradients; its mode and device are restored).
    X : ndarray of shape (n_spectra, vae.cfg.n_in)
        SNV spectra.
    threshold : float, default=0.05
        Fraction of the largest decoder sensitivity a dimension needs to count as in use.
    max_rows : int, default=2000
        At most this many spectra (a seeded random subset) are used.
    seed : int, default=0

    Returns
    -------
    DataFrame
        One row per dimension: ``feature`` (1-based), ``sd``, ``active_au``, ``kl``,
        ``decoder_sensitivity``, ``in_use``.
    """
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2 or X.shape[1] != vae.cfg.n_in:
        raise ValueError(f"X must have shape (n_spectra, {vae.cfg.n_in}), got {X.shape}")
    if len(X) < 2:
        raise ValueError("need at least 2 spectra to measure latent activity")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or inf")
    if len(X) > max_rows:
        X = X[np.sort(np.random.default_rng(seed).choice(len(X), max_rows, replace=False))]
    was_training = vae.training
    device = next(vae.parameters()).device
    vae.eval()
    try:
        with torch.no_grad():
            mu, logvar = (t.double() for t in vae.cpu().encode(torch.from_numpy(X)))
            kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).mean(0).numpy()
            sd = mu.std(0).numpy()
            base = vae.decode(mu.float()).double()
            sens = np.empty(mu.shape[1])
            for j in range(mu.shape[1]):
                z = mu.clone()
                z[:, j] += sd[j]
                sens[j] = (vae.decode(z.float()).double() - base).pow(2).mean().sqrt().item()
    finally:
        vae.to(device).train(was_training)
    return pd.DataFrame({"feature": np.arange(1, mu.shape[1] + 1), "sd": sd, "active_au": sd ** 2 > 0.01,
                         "kl": kl, "decoder_sensitivity": sens, "in_use": sens >= threshold * sens.max()})


def latent_alignment(z_nir, z_mir, reference=None) -> pd.DataFrame:
    """Per-dimension agreement of NIR embeddings with the MIR embeddings of the same samples.

    Parameters
    ----------
    z_nir, z_mir : ndarray of shape (n_samples, latent_dim)
        Row ``i`` of both belongs to the same sample (NIR encoder output, VAE posterior mean).
    reference : ndarray of shape (n_ref, latent_dim), optional
        Embeddings that set the scale (e.g. the KSSL training embeddings); default ``z_mir``.

    Returns
    -------
    DataFrame
        One row per dimension: ``feature`` (1-based); ``rmse_sd`` = RMSE(z_nir - z_mir) / sd(reference)
        (0 = perfect, about 1.4 for two independent draws from the reference distribution); ``r2`` =
        1 - SSE / SS(z_mir about its mean) (1 = perfect, 0 = no better than the mean); ``ccc``, Lin's
        concordance of ``z_nir`` with ``z_mir``.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.array([[0.0, 1.0], [1.0, 3.0], [2.0, 5.0]])
    >>> latent_alignment(z, z)[["rmse_sd", "r2", "ccc"]].to_numpy().tolist()
    [[0.0, 1.0, 1.0], [0.0, 1.0, 1.0]]
    """

    z_nir, z_mir = np.asarray(z_nir, dtype=np.float64), np.asarray(z_mir, dtype=np.float64)
    if z_nir.ndim != 2 or z_nir.shape != z_mir.shape:
        raise ValueError(f"z_nir and z_mir must be 2-D arrays of the same shape, got {z_nir.shape} and {z_mir.shape}")
    if len(z_nir) < 2:
        raise ValueError("need at least 2 paired embeddings")
    ref = z_mir if reference is None else np.asarray(reference, dtype=np.float64)
    if ref.ndim != 2 or ref.shape[1] != z_mir.shape[1]:
        raise ValueError(f"reference must have {z_mir.shape[1]} columns, got shape {ref.shape}")
    flat = np.flatnonzero(ref.std(0, ddof=1) == 0)
    if flat.size:
        raise ValueError(f"reference embeddings are constant in dimension(s) {[int(i) + 1 for i in flat]}: "
                         "no scale to measure in")
    flat = np.flatnonzero(np.ptp(z_mir, axis=0) == 0)
    if flat.size:
        raise ValueError(f"z_mir is constant in dimension(s) {[int(i) + 1 for i in flat]}: R2 and CCC are undefined")
    err = z_nir - z_mir
    cols = range(z_mir.shape[1])
    return pd.DataFrame({"feature": np.arange(1, z_mir.shape[1] + 1),
                         "rmse_sd": np.sqrt((err ** 2).mean(0)) / ref.std(0, ddof=1),
                         "r2": [r2(z_mir[:, j], z_nir[:, j]) for j in cols],
                         "ccc": [ccc(z_mir[:, j], z_nir[:, j]) for j in cols]})
