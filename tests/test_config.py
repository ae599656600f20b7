import pytest

from soilnb.core.config import PROFILES, Config, check_keys, from_notebook, get_config


def test_profiles_override_defaults():
    cfg = get_config("paper")
    assert (cfg.n_kssl, cfg.n_paired, cfg.n_test, cfg.n_scans) == (83971, 2016, 206, 4)
    assert cfg.latent_dim == 32 and cfg.profile == "paper"
    assert get_config("smoke") == Config()


def test_overrides_are_coerced_and_none_ignored():
    cfg = get_config("smoke", seed="3" if False else 3, vae_beta=1, compile="true", vae_epochs=None)
    assert cfg.seed == 3 and cfg.vae_beta == 1.0 and isinstance(cfg.vae_beta, float) and cfg.compile is True
    assert cfg.vae_epochs == Config().vae_epochs


def test_unknown_and_mistyped_keys_are_rejected():
    with pytest.raises(ValueError, match="unknown parameter"):
        get_config("smoke", vae_epoch=3)
    with pytest.raises(TypeError, match="'n_kssl' must be int"):
        get_config("smoke", n_kssl="many")
    with pytest.raises(ValueError, match="unknown profile"):
        get_config("huge")
    with pytest.raises(SystemExit, match="unknown parameter"):
        check_keys(["seed", "sede"])


def test_ossl_source_needs_data_dir():
    with pytest.raises(ValueError, match="data_dir"):
        get_config("smoke", source="ossl")


def test_from_notebook_reads_globals():
    cfg = from_notebook({"profile": "default", "seed": 7, "vae_epochs": None, "unrelated": 1})
    assert cfg.seed == 7 and cfg.n_kssl == PROFILES["default"]["n_kssl"]
