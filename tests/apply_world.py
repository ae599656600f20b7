"""A tiny simulated run and its bundle, shared by tests/test_bundle.py and tests/test_cli.py.

Both modules cache under one folder of the pytest session, so the second loads what the first computed.
"""
import pytest

from soilnb import apply, stages
from soilnb.core import paths
from soilnb.core.config import get_config

TINY = dict(n_kssl=150, n_paired=70, n_test=30, vae_hidden=64, vae_epochs=2, nir_epochs=3, nir_hidden=64,
            mlp_hidden=32, mlp_epochs=3, pls_max_components=4, cv_folds=3, cv_repeats=2, fno_epochs=2, fno_width=8,
            fno_modes=8, latent_dim=8)


def make_tiny(tmp_path_factory):
    """(A generator for a module fixture.) The tiny run's stages, its bundle and the bundle written to a folder (``folder``) and read back (``loaded``)."""
    mp = pytest.MonkeyPatch()
    mp.setattr(paths, "CACHE", tmp_path_factory.getbasetemp() / "apply-cache")
    cfg = get_config("smoke", **TINY)
    F = stages.get_features(cfg)
    vae, vh = stages.get_vae(cfg, F, progress=False)
    n2m, _ = stages.get_nir_to_mir(cfg, F, vae, progress=False)
    res = stages.get_regressions(cfg, F, vae, n2m)
    bundle = apply.build_bundle(cfg, F, vae, n2m, res, vh)
    folder = bundle.save(tmp_path_factory.mktemp("bundle") / "bundle")
    yield dict(cfg=cfg, F=F, vae=vae, vh=vh, n2m=n2m, res=res, bundle=bundle, folder=folder,
               loaded=apply.load_bundle(folder))
    mp.undo()
