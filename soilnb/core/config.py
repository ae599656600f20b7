"""The run context: one flat set of typed, validated keys, three profiles, explicit overrides.

Each notebook's ``parameters`` cell holds ``profile`` plus ``None`` placeholders; papermill
(``run_all.sh -p NAME VALUE``) injects overrides, and :func:`from_notebook` builds the
:class:`Config`, rejecting unknown keys, wrong types, values out of range and contradictory
combinations (nanoGPT's configurator rule, without exec). ``run_all.sh`` runs the same checks
before the first notebook starts (``python -m soilnb.core``).

Every field declares the cached stages whose results it changes (``stages`` in its metadata), so
a stage's cache key is :meth:`Config.keys` of its stages, never a hand-kept list; and where the
run's outputs go follows from the config (:attr:`Config.figures_dir`), never from module state.
"""
from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path

from soilnb.core import paths

#: The cached stages, in pipeline order; a stage's key includes the keys of the stages before it
#: (:data:`STAGE_DEPENDS`).
STAGES = ("data", "vae", "nir", "regress", "cv", "fno")
STAGE_DEPENDS = {"data": ("data",), "vae": ("data", "vae"), "nir": ("data", "vae", "nir"),
                 "regress": ("data", "vae", "nir", "regress"), "cv": ("data", "cv"), "fno": ("data", "fno")}
CHOICES = {"source": ("simulated", "ossl", "files"), "vae_repeats": ("independent", "cross", "mean"),
           "vae_lr_schedule": ("constant", "cosine")}


def key(default, *stages: str, low=None, high=None, low_open: bool = False, note: str = ""):
    """A configuration field: its default, the stages it keys, and its valid range."""
    return field(default=default, metadata={"stages": stages, "low": low, "high": high, "low_open": low_open,
                                            "note": note})


@dataclass(frozen=True)
class Config:
    # --- run
    profile: str = key("smoke")
    source: str = key("simulated", "data", note='"simulated" (embedded default), "ossl" (the OSSL v1.2 files in '
                      'data_dir) or "files" (any spectra with properties that read_spectra takes, in data_dir)')
    data_dir: str = key("", "data", note="folder with the OSSL v1.2 files (source='ossl'), or the spectra file(s) "
                        "or folder (source='files')")
    test_dir: str = key("", "data", note="independent test set: a folder (source='ossl'; soilnb.data.ossl."
                        "load_test_set) or spectra file(s)/folder (source='files')")
    test_fraction: float = key(0.2, "data", low=0.0, high=0.9, low_open=True,
                               note="source='files' without test_dir: share of samples held out as the test set")
    properties: str = key("", "data", note="comma-separated properties to model; '' = every property the data has "
                          "(e.g. 'OC,clay,CEC')")
    seed: int = key(0, "data", "cv", "fno", low=0, high=2**32 - 1)
    device: str = key("auto", note='"auto", "cpu", "cuda" or "cuda:N" (its type keys the trained stages)')
    # --- simulated world sizes
    n_kssl: int = key(500, "data", low=10, note="KSSL-like samples (each with n_scans repeats)")
    n_scans: int = key(4, "data", low=1)
    n_paired: int = key(160, "data", low=10)
    n_test: int = key(60, "data", low=5)
    nir_repeats: int = key(6, "data", low=1)
    # --- stage 1: MIR VAE
    latent_dim: int = key(32, "vae", low=1)
    vae_hidden: int = key(256, "vae", low=1)
    vae_depth: int = key(2, "vae", low=1)
    vae_beta: float = key(1e-6, "vae", low=0.0, note="KL weight vs per-element MSE; larger values collapse dimensions")
    vae_epochs: int = key(4, "vae", low=1)
    vae_batch: int = key(256, "vae", low=1, note="capped at an eighth of the training scans (with a warning)")
    vae_lr: float = key(1e-3, "vae", low=0.0, low_open=True)
    vae_patience: int = key(10, "vae", low=1)
    vae_repeats: str = key("independent", "vae", note='"independent", "cross" or "mean"')
    vae_lr_schedule: str = key("constant", "vae", note='"constant" or "cosine" (cosine under-trained the default '
                                                       'VAE at 30 epochs: best val rec 0.00167 vs 0.00092)')
    compile: bool = key(False, "vae")
    latent_sizes: str = key("16,32", note="latent sizes compared in notebook 02 (comma-separated)")
    # --- stage 2: NIR -> MIR
    nir_hidden: int = key(256, "nir", low=1)
    nir_epochs: int = key(20, "nir", low=1)
    nir_batch: int = key(64, "nir", "fno", low=1)
    nir_lr: float = key(1e-3, "nir", "fno", low=0.0, low_open=True)
    nir_latent_prior: float = key(0.0, "nir", low=0.0, note="0 = the paper's loss; > 0 adds a latent prior")
    # --- stage 3: regressions
    mlp_hidden: int = key(128, "regress", low=1)
    mlp_epochs: int = key(30, "regress", low=1)
    mlp_batch: int = key(128, "regress", low=1)
    mlp_lr: float = key(1e-3, "regress", low=0.0, low_open=True)
    mlp_dropout: float = key(0.1, "regress", low=0.0, high=0.95)
    mlp_weight_decay: float = key(1e-4, "regress", low=0.0)
    mlp_patience: int = key(10, "regress", low=1)
    pls_max_components: int = key(15, "regress", "cv", low=1)
    # --- reliability and ablations
    cv_folds: int = key(3, "cv", low=2)
    cv_repeats: int = key(2, "cv", low=1)
    alpha: float = key(0.05, low=0.0, high=1.0, low_open=True, note="significance level of the Pomerantsev limit")
    fno_modes: int = key(16, "fno", low=1)
    fno_width: int = key(16, "fno", low=1)
    fno_epochs: int = key(10, "fno", low=1)

    def subset(self, *names: str) -> dict:
        """The values of ``names``."""
        return {n: getattr(self, n) for n in names}

    def keys(self, stage: str) -> dict:
        """The values of every field that changes the result of ``stage`` or of a stage before it
        (:data:`STAGE_DEPENDS`): the parameter part of that stage's cache key."""
        wanted = set(STAGE_DEPENDS[stage])
        return {f.name: getattr(self, f.name) for f in fields(self) if wanted & set(f.metadata["stages"])}

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def overrides(self) -> dict:
        """The fields that differ from the profile's values (e.g. ``-p vae_epochs 5``)."""
        base = get_config(self.profile)
        return {k: v for k, v in self.as_dict().items() if v != getattr(base, k)}

    @property
    def figures_dir(self) -> Path:
        """Where this run's figures and tables go. The simulated world: ``figures/`` for the ``default`` profile,
        ``figures/<profile>/`` for the others, so a smoke or paper run never overwrites default outputs. Real data
        (``source="ossl"`` or ``"files"``): ``figures/<source>-<data name>/<profile>/`` (:func:`data_name`), so
        a run on your own spectra never writes over the simulated paper run's figures, tables or bundle."""
        if self.source != "simulated":
            return paths.FIGURES / f"{self.source}-{data_name(self.data_dir)}" / self.profile
        return paths.FIGURES if self.profile == "default" else paths.FIGURES / self.profile

    def run_record(self) -> dict:
        """What the outputs' manifest records about the run that wrote them."""
        return {**self.subset("profile", "source", "seed", "n_kssl", "n_paired", "n_test"),
                "overrides": self.overrides()}


def data_name(data_dir: str) -> str:
    """A folder-name-safe name of a run's data: the last part of ``data_dir``, for a file without its suffix (and
    a compression suffix before it: ``my_spectra.csv.gz`` -> ``my_spectra``; a folder keeps its name,
    ``~/ossl/`` -> ``ossl``), characters other than letters, digits, ``-``, ``_`` and ``.`` replaced by ``_``.

    >>> data_name("no/such/folder/toy_kssl_mir.csv.gz")
    'toy_kssl_mir'
    >>> data_name("/no/such/My Scans 2024/")
    'My_Scans_2024'
    """
    path = Path(str(data_dir).rstrip("/\\"))
    name = path.name
    if not path.is_dir():
        for _ in range(2 if path.suffix.lower() in COMPRESSED else 1):
            name = Path(name).stem if Path(name).suffix else name
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "data"


#: Compression suffixes :func:`data_name` drops with the suffix before them.
COMPRESSED = (".gz", ".bz2", ".xz", ".zip", ".zst")


PROFILES: dict[str, dict] = {
    # fast enough for tests and nbval on 2 CPU cores (the Config defaults)
    "smoke": {},
    # the embedded default: the whole pipeline in minutes on a 2-core CPU
    "default": dict(
        n_kssl=6000, n_paired=600, n_test=206,
        vae_hidden=512, vae_epochs=60, vae_batch=512, vae_patience=5, latent_sizes="32",
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


def _type(name: str) -> type:
    t = _FIELDS[name].type
    return _TYPES[t] if isinstance(t, str) else t


def _coerce(name: str, value):
    """``value`` as the type of field ``name`` (strings from the command line are parsed)."""
    typ = _type(name)
    bad = TypeError(f"parameter {name!r} must be {typ.__name__}, got {value!r} ({type(value).__name__})")
    if isinstance(value, str) and typ is not str:
        text = value.strip()
        if typ is bool:
            if text.lower() in ("true", "1", "yes"):
                return True
            if text.lower() in ("false", "0", "no"):
                return False
            raise bad
        try:
            value = int(text) if typ is int else float(text)
        except ValueError:
            raise bad from None
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if typ is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if typ is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
        raise bad
    return value


def _check_range(name: str, value) -> None:
    md = _FIELDS[name].metadata
    low, high = md["low"], md["high"]
    if low is not None and (value < low or (md["low_open"] and value == low)):
        raise ValueError(f"parameter {name!r} must be {'>' if md['low_open'] else '>='} {low}, got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"parameter {name!r} must be <= {high}, got {value!r}")
    if name in CHOICES and value not in CHOICES[name]:
        raise ValueError(f"parameter {name!r} must be one of {CHOICES[name]}, got {value!r}")


def validate(cfg: Config) -> Config:
    """Check every field's range and the combinations of fields; return ``cfg`` or raise ValueError."""
    for name in _FIELDS:
        _check_range(name, getattr(cfg, name))
    if cfg.device not in ("auto", "cpu", "cuda") and not (cfg.device.startswith("cuda:")
                                                           and cfg.device[5:].isdigit()):
        raise ValueError(f"parameter 'device' must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {cfg.device!r}")
    if cfg.source == "ossl" and not cfg.data_dir:
        raise ValueError("source='ossl' needs data_dir: the folder with the OSSL v1.2 files "
                         "(download them with soilnb.data.ossl.download)")
    if cfg.source == "files" and not cfg.data_dir:
        raise ValueError("source='files' needs data_dir: the spectra (a file or a folder) with their properties")
    for name in ("data_dir", "test_dir"):
        if getattr(cfg, name) and cfg.source == "ossl" and not Path(getattr(cfg, name)).is_dir():
            raise ValueError(f"parameter {name!r}: no folder {getattr(cfg, name)}")
        if getattr(cfg, name) and cfg.source == "files" and not Path(getattr(cfg, name)).exists():
            raise ValueError(f"parameter {name!r}: no file or folder {getattr(cfg, name)}")
    if cfg.source == "simulated":
        for name in ("data_dir", "test_dir"):
            if getattr(cfg, name):
                raise ValueError(f"parameter {name!r} is only read with source='ossl' or 'files' (the simulated "
                                 f"world ignores it); add -p source ossl (or files) or drop it")
    sizes = cfg.latent_sizes.split(",")
    if not all(s.strip().isdigit() and int(s) > 0 for s in sizes):
        raise ValueError(f"parameter 'latent_sizes' must be positive integers separated by commas, got {cfg.latent_sizes!r}")
    if cfg.n_scans < 2 and cfg.vae_repeats == "cross":
        raise ValueError("vae_repeats='cross' needs n_scans >= 2 (it reconstructs another repeat of the same sample)")
    return cfg


def get_config(profile: str = "smoke", /, **overrides) -> Config:
    """The validated :class:`Config` of ``profile`` with ``overrides`` applied (``None`` values are ignored)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
    unknown = sorted(set(overrides) - set(_FIELDS))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown}; known: {sorted(_FIELDS)}")
    if overrides.get("profile") not in (None, profile):
        raise ValueError(f"profile is chosen once (--profile), not again as a parameter "
                         f"({profile!r} vs {overrides['profile']!r})")
    values = {"profile": profile, **PROFILES[profile]}
    values.update({k: _coerce(k, v) for k, v in overrides.items() if v is not None and k != "profile"})
    for name in ("data_dir", "test_dir"):      # relative to the repository root, wherever the caller runs
        if values.get(name):
            values[name] = str(paths.absolute(values[name]))
    return validate(Config(**values))


def from_notebook(namespace: dict) -> Config:
    """Build the run's config from a notebook's globals: ``profile`` plus any global named like a key."""
    overrides = {k: namespace[k] for k in _FIELDS if k != "profile" and k in namespace}
    return get_config(namespace.get("profile", "smoke"), **overrides)


def main(argv=None) -> int:
    """``python -m soilnb.core --profile P [NAME VALUE]...``: validate a run before it starts
    and print the folder its figures and tables go to (``run_all.sh`` calls this)."""
    parser = argparse.ArgumentParser(prog="python -m soilnb.core", description=main.__doc__)
    parser.add_argument("--profile", default="default")
    parser.add_argument("pairs", nargs="*", help="NAME VALUE pairs (the -p options of run_all.sh)")
    args = parser.parse_args(argv)
    if len(args.pairs) % 2:
        print(f"config: parameter {args.pairs[-1]!r} has no value (use -p NAME VALUE)", file=sys.stderr)
        return 2
    pairs = dict(zip(args.pairs[::2], args.pairs[1::2]))
    try:
        cfg = get_config(args.profile, **pairs)
    except (TypeError, ValueError) as exc:
        print(f"config: {exc}", file=sys.stderr)
        return 2
    print(cfg.figures_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
