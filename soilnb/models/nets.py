"""Neural network modules (no training code): the MIR VAE, the NIR->MIR aligner, an MLP and a 1-D FNO.

Architectures are fully connected, as in the paper (Sun et al., Sects. 2.2-2.4; Fig. 2); the
paper does not give layer sizes or activations, so :class:`VAEConfig` holds ours.
"""
from __future__ import annotations

import functools
import math
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


@functools.lru_cache(maxsize=8)
def _dft_bases(n: int, modes: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Truncated real DFT matrices, float32 ``(2 * modes, n)`` each (computed in float64).

    ``fwd @ x`` gives the real parts then the imaginary parts of ``torch.fft.rfft(x)[:modes]``; ``inv.T @ z``
    is ``torch.fft.irfft`` (length ``n``) of the spectrum whose first ``modes`` bins are ``z`` (real parts, then
    imaginary parts) and whose other bins are 0 (bin 0 and a Nyquist bin count once, their imaginary parts
    drop out; the others twice).
    """
    k = torch.arange(modes, dtype=torch.float64)[:, None]
    angle = 2 * math.pi * k * torch.arange(n, dtype=torch.float64)[None, :] / n
    weight = (2.0 - ((k == 0) | (2 * k == n)).double()) / n
    fwd = torch.cat([torch.cos(angle), -torch.sin(angle)])
    inv = torch.cat([weight * torch.cos(angle), -weight * torch.sin(angle)])
    return fwd.float().to(device), inv.float().to(device)


class SpectralConv1d(nn.Module):
    """Fourier layer of Li et al. (2020, arXiv:2010.08895): keep ``modes`` lowest frequencies, mix channels.

    ``(batch, in_channels, n) -> (batch, out_channels, n)``; the complex weights are stored as a
    real tensor ``(in, out, modes, 2)`` so that optimisers and checkpoints see plain floats.
    Computed as ``irfft(rfft(x)[:modes] * weight)``, with the two transforms as products with the
    truncated DFT matrices (:func:`_dft_bases`): only ``modes`` of the ``n // 2 + 1`` bins are kept, and
    two matrix products cost less than a full FFT and its inverse (CPU, n = 1,701, 16 modes).
    """

    def __init__(self, in_channels: int, out_channels: int, modes: int):
        super().__init__()
        self.modes = modes
        scale = 1.0 / (in_channels * out_channels)
        self.weight = nn.Parameter(scale * torch.rand(in_channels, out_channels, modes, 2))

    def forward(self, x):
        return self.forward_channels_last(x.transpose(1, 2)).transpose(1, 2)

    def forward_channels_last(self, v, skip=None):
        """``(batch, n, in_channels) -> (batch, n, out_channels)``, plus ``skip`` (same shape) if given."""
        b, n, c_in = v.shape
        m, c_out = self.modes, self.weight.shape[1]
        if m > n // 2 + 1:
            raise ValueError(f"modes={m} exceeds n//2+1={n // 2 + 1} for a grid of {n} points")
        fwd, inv = _dft_bases(n, m, v.device)
        spectrum = torch.matmul(fwd, v.float())                            # (b, 2m, c_in): real rows, imag rows
        spectrum = spectrum.view(b, 2, m, c_in).permute(2, 0, 1, 3).reshape(m, b, 2 * c_in)
        wr, wi = self.weight[..., 0].permute(2, 0, 1), self.weight[..., 1].permute(2, 0, 1)   # (m, c_in, c_out)
        w = torch.cat([torch.cat([wr, wi], 2), torch.cat([-wi, wr], 2)], 1)   # complex product as a real one
        out = torch.bmm(spectrum, w).view(m, b, 2, c_out).permute(1, 2, 0, 3).reshape(b, 2 * m, c_out)
        if skip is None:
            return torch.matmul(inv.t(), out)
        return torch.baddbmm(skip, inv.t().expand(b, -1, -1), out)


class FNO1d(nn.Module):
    """Small 1-D Fourier neural operator (Li et al. 2020, arXiv:2010.08895) for the Appendix C ablation.

    ``(batch, in_channels, n) -> (batch, out_channels, n)``: pointwise lift to ``width``
    channels, ``n_layers`` blocks ``GELU(SpectralConv1d(v) + Conv1d_1x1(v))`` (no activation after
    the last), pointwise projection. Used with the NIR spectrum resampled onto the MIR grid plus a
    coordinate channel (``in_channels=2``, ``out_channels=1``). The 1x1 convolutions run as matrix
    products on channels-last activations (the same weights; about three times faster than
    ``Conv1d`` with FFTs on 2 CPU cores).
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
        v = _pointwise(self.lift, x.transpose(1, 2))                        # (batch, n, width)
        for i, (spec, point) in enumerate(zip(self.spectral, self.pointwise)):
            v = spec.forward_channels_last(v, skip=_pointwise(point, v))
            if i < len(self.spectral) - 1:
                v = F.gelu(v)
        first, act, last = self.project
        return _pointwise(last, act(_pointwise(first, v))).transpose(1, 2).contiguous()


def _pointwise(conv: nn.Conv1d, v):
    """A kernel-size-1 ``Conv1d`` applied to channels-last ``v`` (batch, n, channels)."""
    return F.linear(v, conv.weight.squeeze(-1), conv.bias)
