"""Run configuration: one flat set of typed keys, three profiles, explicit overrides.

Each notebook's ``parameters`` cell holds ``profile`` plus ``None`` placeholders; papermill
(``run_all.sh -p NAME VALUE``) injects overrides, and :func:`from_notebook` builds the
:class:`Config`, rejecting unknown keys and wrong types (nanoGPT's configurator rule, without exec).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Config:
    # --- run
    profile: str = "smoke"
    source: str = "simulated"          # "simulated" (embedded default) or "ossl" (real files in data_dir)
    data_dir: str = ""                  # folder with the OSSL v1.2 files (source="ossl")
    test_dir: str = ""                  # pluggable independent test set (see soilnb.ossl.load_test_set)
    seed: int = 0
    device: str = "auto"                # "auto", "cpu" or "cuda"
    # --- simulated world sizes
    n_kssl: int = 500                   # KSSL-like samples (each with n_scans repeats)
    n_scans: int = 4
    n_paired: int = 160
    n_test: int = 60
    nir_repeats: int = 6
    # --- stage 1: MIR VAE
    latent_dim: int = 32
    vae_hidden: int = 256
    vae_depth: int = 2
    vae_beta: float = 1e-6               # KL weight vs per-element MSE; larger values collapse dimensions (notebook 02)
    vae_epochs: int = 4
    vae_batch: int = 256
    vae_lr: float = 1e-3
    vae_patience: int = 10
    vae_repeats: str = "independent"    # "independent", "cross" or "mean"
    vae_lr_schedule: str = "constant"   # or "cosine" (lr -> lr/20 over vae_epochs); cosine left the default VAE
                                        # under-trained at 30 epochs (best val rec 0.00167 vs 0.00092 constant)
    compile: bool = False
    latent_sizes: str = "16,32"         # latent sizes compared in notebook 02
    # --- stage 2: NIR -> MIR
    nir_hidden: int = 256
    nir_epochs: int = 20
    nir_batch: int = 64
    nir_lr: float = 1e-3
    nir_latent_prior: float = 0.0       # 0 = the paper's loss; > 0 adds a latent prior (ablation in notebook 06)
    # --- stage 3: regressions
    mlp_hidden: int = 128
    mlp_epochs: int = 30
    mlp_batch: int = 128
    mlp_lr: float = 1e-3
    mlp_dropout: float = 0.1
    mlp_weight_decay: float = 1e-4
    mlp_patience: int = 10
    pls_max_components: int = 15
    # --- reliability and ablations
    cv_folds: int = 3
    cv_repeats: int = 2
    alpha: float = 0.05
    fno_modes: int = 16
    fno_width: int = 16
    fno_epochs: int = 10

    def subset(self, *names: str) -> dict:
        """The values of ``names`` (for cache keys of the steps that depend on them)."""
        return {n: getattr(self, n) for n in names}

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


#: Keys that define the data a step sees (part of every downstream cache key).
DATA_KEYS = ("source", "data_dir", "test_dir", "seed", "n_kssl", "n_scans", "n_paired", "n_test", "nir_repeats")

PROFILES: dict[str, dict] = {
    # fast enough for tests and nbval on 2 CPU cores (the Config defaults)
    "smoke": {},
    # the embedded default: the whole pipeline in minutes on a 2-core CPU
    "default": dict(
        n_kssl=6000, n_paired=600, n_test=206,
        vae_hidden=512, vae_epochs=60, vae_batch=512, vae_patience=5, latent_sizes="16,32,64",
        nir_epochs=150, nir_hidden=256,
        mlp_hidden=256, mlp_epochs=150, mlp_patience=15, pls_max_components=25,
        cv_folds=10, cv_repeats=10, fno_epochs=60, fno_width=32,
    ),
    # the paper's sizes (83,971 samples x 4 scans = 335,884; the paper has 334,665 scans; 2,016 paired; 206 test), one GPU
    "paper": dict(
        n_kssl=83971, n_paired=2016, n_test=206,
        vae_hidden=1024, vae_depth=3, vae_epochs=100, vae_batch=4096, vae_lr=2e-3, vae_patience=8,
        latent_sizes="16,32,64", compile=True,
        nir_epochs=400, nir_hidden=512, nir_batch=128,
        mlp_hidden=512, mlp_epochs=300, mlp_batch=512, mlp_patience=25, pls_max_components=30,
        cv_folds=10, cv_repeats=10, fno_epochs=200, fno_width=64,
    ),
}

_FIELDS = {f.name: f for f in fields(Config)}
_TYPES = {"int": int, "float": float, "str": str, "bool": bool}


def _coerce(name: str, value):
    typ = _TYPES[_FIELDS[name].type] if isinstance(_FIELDS[name].type, str) else _FIELDS[name].type
    if typ is bool and isinstance(value, str):
        if value.lower() in ("true", "1", "yes"):
            return True
        if value.lower() in ("false", "0", "no"):
            return False
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if typ is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if typ is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
        raise TypeError(f"parameter {name!r} must be {typ.__name__}, got {value!r} ({type(value).__name__})")
    return value


def get_config(profile: str = "smoke", **overrides) -> Config:
    """The :class:`Config` of ``profile`` with ``overrides`` applied (``None`` values are ignored)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
    unknown = sorted(set(overrides) - set(_FIELDS))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown}; known: {sorted(_FIELDS)}")
    values = {"profile": profile, **PROFILES[profile]}
    values.update({k: _coerce(k, v) for k, v in overrides.items() if v is not None})
    cfg = Config(**values)
    if cfg.source not in ("simulated", "ossl"):
        raise ValueError(f"source must be 'simulated' or 'ossl', got {cfg.source!r}")
    if cfg.source == "ossl" and not cfg.data_dir:
        raise ValueError("source='ossl' needs data_dir: the folder with the OSSL v1.2 files "
                         "(download them with soilnb.ossl.download)")
    if cfg.device not in ("auto", "cpu", "cuda") and not cfg.device.startswith("cuda:"):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {cfg.device!r}")
    if cfg.vae_lr_schedule not in ("constant", "cosine"):
        raise ValueError(f"vae_lr_schedule must be 'constant' or 'cosine', got {cfg.vae_lr_schedule!r}")
    if cfg.vae_repeats not in ("independent", "cross", "mean"):
        raise ValueError(f"vae_repeats must be 'independent', 'cross' or 'mean', got {cfg.vae_repeats!r}")
    return cfg


def from_notebook(namespace: dict) -> Config:
    """Build the config from a notebook's globals: ``profile`` plus any global named like a key."""
    from . import paths

    overrides = {k: namespace[k] for k in _FIELDS if k != "profile" and k in namespace}
    cfg = get_config(namespace.get("profile", "smoke"), **overrides)
    base = get_config(cfg.profile)
    changed = {k: v for k, v in cfg.as_dict().items() if v != getattr(base, k)}   # e.g. -p vae_epochs 5
    paths.set_active_run(**cfg.subset("profile", "source", "seed", "n_kssl", "n_paired", "n_test"),
                         overrides=changed)
    return cfg


def check_keys(names) -> None:
    """Raise if any of ``names`` is not a configuration key (used by run_all.sh before running)."""
    unknown = sorted(set(names) - set(_FIELDS))
    if unknown:
        raise SystemExit(f"unknown parameter(s) {unknown}; known: {', '.join(sorted(_FIELDS))}")
