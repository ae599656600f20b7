"""Neural network modules (no training code): the MIR VAE, the NIR->MIR aligner, an MLP and a 1-D FNO.

Architectures are fully connected, as in the paper (Sun et al., Sects. 2.2-2.4; Fig. 2); the
paper does not give layer sizes or activations, so :class:`VAEConfig` holds ours.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def _stack(n_in: int, n_out: int, hidden: int, depth: int, dropout: float = 0.0) -> nn.Sequential:
    """``depth`` hidden layers ``Linear -> SiLU [-> Dropout]`` of width ``hidden``, then ``Linear(n_out)``."""
    if depth < 0 or hidden < 1 or n_in < 1 or n_out < 1:
        raise ValueError(f"bad layer sizes: n_in={n_in}, n_out={n_out}, hidden={hidden}, depth={depth}")
    layers, width = [], n_in
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.SiLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = hidden
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


class MLP(nn.Module):
    """Multilayer perceptron ``(batch, n_in) -> (batch, n_out)`` with ``depth`` hidden SiLU layers.

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths.
    hidden : int
        Width of each hidden layer.
    depth : int
        Number of hidden layers (0 gives a linear model).
    dropout : float
        Dropout after each hidden activation.
    """

    def __init__(self, n_in: int, n_out: int, hidden: int = 256, depth: int = 2, dropout: float = 0.0):
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.net = _stack(n_in, n_out, hidden, depth, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@dataclass
class VAEConfig:
    """Size of the MIR VAE: ``n_in`` channels -> ``latent_dim`` (paper: 1,701 -> 32; Sect. 3.1).

    ``hidden``/``depth`` set the encoder and (mirrored) decoder MLPs; ``beta`` weighs the KL term.
    """
    n_in: int = 1701
    latent_dim: int = 32
    hidden: int = 512
    depth: int = 2
    beta: float = 1e-6


class VAE(nn.Module):
    """Variational autoencoder (Kingma & Welling 2014, arXiv:1312.6114) with MLP encoder and decoder.

    ``encode``: ``(batch, n_in) -> (mu, logvar)`` each ``(batch, latent_dim)``; ``decode``:
    ``(batch, latent_dim) -> (batch, n_in)``. In eval mode ``reparameterize`` returns ``mu`` so
    that validation losses and embeddings are deterministic.
    """

    def __init__(self, cfg: VAEConfig | None = None):
        super().__init__()
        self.cfg = cfg or VAEConfig()
        c = self.cfg
        self.encoder = _stack(c.n_in, 2 * c.latent_dim, c.hidden, c.depth)
        self.decoder = _stack(c.latent_dim, c.n_in, c.hidden, c.depth)

    def encode(self, x):
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def reparameterize(self, mu, logvar):
        if not self.training:
            return mu
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar

    def embed(self, x):
        """Latent mean ``mu`` (the embedding used downstream, Eq. 2)."""
        return self.encode(x)[0]


def vae_loss(recon, target, mu, logvar, beta: float):
    """VAE objective ``rec + beta * kl``; returns ``(total, rec, kl)`` as scalar tensors.

    ``rec`` is the per-element mean squared error; ``kl`` is ``KL(N(mu, exp(logvar)) || N(0, I))``
    summed over latent dimensions and averaged over samples, in closed form from Kingma & Welling
    (2014), Appendix B: ``-0.5 * sum(1 + logvar - mu^2 - exp(logvar))``. Computed in float32.
    """
    recon, target, mu, logvar = recon.float(), target.float(), mu.float(), logvar.float()
    rec = F.mse_loss(recon, target)
    # see Appendix B from VAE paper: Kingma and Welling. Auto-Encoding Variational Bayes. ICLR, 2014
    kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=-1)).mean()
    return rec + beta * kl, rec, kl


class NIRtoMIR(nn.Module):
    """NIR encoder aligned to the frozen MIR decoder (paper Eqs. 4-6, Fig. 2 stage two).

    Parameters
    ----------
    nir_encoder : nn.Module
        ``(batch, n_nir) -> (batch, latent_dim)``: the latent mean ``z_NIR`` (Eq. 4).
    mir_decoder : nn.Module
        The VAE's decoder ``(batch, latent_dim) -> (batch, n_mir)``. Frozen here: its parameters
        get ``requires_grad=False`` and it stays in eval mode even after ``.train()``.
    nir_decoder : nn.Module
        Auxiliary ``(batch, latent_dim) -> (batch, n_nir)``, only a regulariser (Eq. 6).
    """

    def __init__(self, nir_encoder: nn.Module, mir_decoder: nn.Module, nir_decoder: nn.Module):
        super().__init__()
        self.nir_encoder = nir_encoder
        self.mir_decoder = mir_decoder
        self.nir_decoder = nir_decoder
        for p in self.mir_decoder.parameters():
            p.requires_grad_(False)
        self.mir_decoder.eval()

    def train(self, mode: bool = True):
        super().train(mode)
        self.mir_decoder.eval()
        return self

    def forward(self, x_nir):
        z = self.nir_encoder(x_nir)
        return self.mir_decoder(z), self.nir_decoder(z), z


class SpectralConv1d(nn.Module):
    """Fourier layer of Li et al. (2020, arXiv:2010.08895): keep ``modes`` lowest frequencies, mix channels.

    ``(batch, in_channels, n) -> (batch, out_channels, n)``; the complex weights are stored as a
    real tensor ``(in, out, modes, 2)`` so that optimisers and checkpoints see plain floats.
    """

    def __init__(self, in_channels: int, out_channels: int, modes: int):
        super().__init__()
        self.modes = modes
        scale = 1.0 / (in_channels * out_channels)
        self.weight = nn.Parameter(scale * torch.rand(in_channels, out_channels, modes, 2))

    def forward(self, x):
        n = x.shape[-1]
        if self.modes > n // 2 + 1:
            raise ValueError(f"modes={self.modes} exceeds n//2+1={n // 2 + 1} for a grid of {n} points")
        x_ft = torch.fft.rfft(x.float(), dim=-1)
        w = torch.view_as_complex(self.weight)
        out_ft = torch.zeros(x.shape[0], w.shape[1], n // 2 + 1, dtype=x_ft.dtype, device=x.device)
        out_ft[:, :, :self.modes] = torch.einsum("bim,iom->bom", x_ft[:, :, :self.modes], w)
        return torch.fft.irfft(out_ft, n=n, dim=-1)


class FNO1d(nn.Module):
    """Small 1-D Fourier neural operator (Li et al. 2020, arXiv:2010.08895) for the Appendix C ablation.

    ``(batch, in_channels, n) -> (batch, out_channels, n)``: pointwise lift to ``width``
    channels, ``n_layers`` blocks ``GELU(SpectralConv1d(v) + Conv1d_1x1(v))`` (no activation after
    the last), pointwise projection. Used with the NIR spectrum resampled onto the MIR grid plus a
    coordinate channel (``in_channels=2``, ``out_channels=1``).
    """

    def __init__(self, modes: int = 16, width: int = 32, n_layers: int = 4, in_channels: int = 2,
                 out_channels: int = 1):
        super().__init__()
        if min(modes, width, n_layers, in_channels, out_channels) < 1:
            raise ValueError("modes, width, n_layers, in_channels and out_channels must all be >= 1")
        self.lift = nn.Conv1d(in_channels, width, 1)
        self.spectral = nn.ModuleList(SpectralConv1d(width, width, modes) for _ in range(n_layers))
        self.pointwise = nn.ModuleList(nn.Conv1d(width, width, 1) for _ in range(n_layers))
        self.project = nn.Sequential(nn.Conv1d(width, 2 * width, 1), nn.GELU(), nn.Conv1d(2 * width, out_channels, 1))

    def forward(self, x):
        v = self.lift(x)
        for i, (spec, point) in enumerate(zip(self.spectral, self.pointwise)):
            v = spec(v) + point(v)
            if i < len(self.spectral) - 1:
                v = F.gelu(v)
        return self.project(v)
