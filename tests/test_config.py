import pytest

from soilnb.core import config, paths
from soilnb.core.config import PROFILES, Config, from_notebook, get_config


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
    assert config.main(["--profile", "smoke", "sede", "1"]) == 2


def test_ossl_source_needs_data_dir():
    with pytest.raises(ValueError, match="data_dir"):
        get_config("smoke", source="ossl")


def test_from_notebook_reads_globals():
    cfg = from_notebook({"profile": "default", "seed": 7, "vae_epochs": None, "unrelated": 1})
    assert cfg.seed == 7 and cfg.n_kssl == PROFILES["default"]["n_kssl"]


@pytest.mark.parametrize("overrides, error, message", [
    ({"seed": -1}, ValueError, "'seed' must be >= 0"),
    ({"vae_epochs": "abc"}, TypeError, "'vae_epochs' must be int"),
    ({"vae_epochs": 0}, ValueError, "'vae_epochs' must be >= 1"),
    ({"vae_lr": 0}, ValueError, "'vae_lr' must be > 0"),
    ({"alpha": 1.5}, ValueError, "'alpha' must be <= 1"),
    ({"cv_folds": 1}, ValueError, "'cv_folds' must be >= 2"),
    ({"vae_repeats": "all"}, ValueError, "'vae_repeats' must be one of"),
    ({"device": "gpu"}, ValueError, "'device' must be"),
    ({"latent_sizes": "16,x"}, ValueError, "latent_sizes"),
    ({"test_dir": "/x"}, ValueError, "only read with source='ossl'"),
    ({"profile": "default"}, ValueError, "profile is chosen once"),
    ({"compile": "maybe"}, TypeError, "'compile' must be bool"),
])
def test_every_parameter_is_validated(overrides, error, message):
    with pytest.raises(error, match=message):
        get_config("smoke", **overrides)


def test_strings_from_the_command_line_are_parsed():
    cfg = get_config("smoke", seed="3", vae_beta="1e-5", compile="false", latent_sizes="8,16")
    assert (cfg.seed, cfg.vae_beta, cfg.compile, cfg.latent_sizes) == (3, 1e-5, False, "8,16")


def test_stage_keys_follow_the_field_metadata():
    cfg = get_config("smoke")
    data, vae, regress = cfg.keys("data"), cfg.keys("vae"), cfg.keys("regress")
    assert set(data) == {"source", "data_dir", "test_dir", "test_fraction", "properties", "seed", "n_kssl",
                         "n_scans", "n_paired", "n_test", "nir_repeats"}
    assert set(data) < set(vae) and "vae_beta" in vae and "nir_hidden" not in vae and "mlp_epochs" not in vae
    assert {"nir_hidden", "mlp_epochs", "pls_max_components"} <= set(regress) and "cv_folds" not in regress
    assert set(cfg.keys("cv")) == set(data) | {"cv_folds", "cv_repeats", "pls_max_components"}
    # a change of a regression key changes the regression key but not the VAE's
    other = get_config("smoke", mlp_epochs=99)
    assert other.keys("vae") == vae and other.keys("regress") != regress


def test_command_line_check_prints_the_output_folder(capsys):


    assert config.main(["--profile", "smoke", "seed", "2"]) == 0
    assert capsys.readouterr().out.strip() == str(paths.FIGURES / "smoke")
    assert config.main(["--profile", "default"]) == 0
    assert capsys.readouterr().out.strip() == str(paths.FIGURES)
    assert config.main(["--profile", "smoke", "seed", "-1"]) == 2
    assert "'seed' must be >= 0" in capsys.readouterr().err
    assert config.main(["--profile", "smoke", "seed"]) == 2
    assert "has no value" in capsys.readouterr().err


def test_every_field_names_known_stages():
    from dataclasses import fields

    from soilnb.core.config import STAGES

    unknown = {f.name: f.metadata["stages"] for f in fields(Config) if not set(f.metadata["stages"]) <= set(STAGES)}
    assert not unknown, unknown                       # a typo would drop the field from every cache key


def test_relative_folders_are_taken_from_the_repository_root(tmp_path):
    cfg = get_config("smoke", source="ossl", data_dir="notebooks")
    assert cfg.data_dir == str(paths.ROOT / "notebooks")
    with pytest.raises(ValueError, match="'data_dir': no folder"):
        get_config("smoke", source="ossl", data_dir=str(tmp_path / "absent"))


def test_own_data_runs_write_into_their_own_folder(tmp_path, capsys):
    """A run on real data (source files or ossl) never writes into the simulated run's figures folders: its
    folder names the source and the data, then the profile; the bundle goes beside its tables."""
    from soilnb.apply import bundle_dir
    from soilnb.core.config import data_name

    table = tmp_path / "my scans.csv.gz"
    table.write_bytes(b"")
    simulated = {get_config(p).figures_dir for p in ("smoke", "default", "paper")}
    for profile in ("smoke", "default"):
        cfg = get_config(profile, source="files", data_dir=str(table))
        assert cfg.figures_dir == paths.FIGURES / "files-my_scans" / profile
        assert cfg.figures_dir not in simulated and bundle_dir(cfg) == cfg.figures_dir / "bundle"
    ossl = get_config("smoke", source="ossl", data_dir=str(tmp_path))
    assert ossl.figures_dir == paths.FIGURES / f"ossl-{data_name(tmp_path)}" / "smoke"
    (tmp_path / "run.2024").mkdir()                                 # a folder keeps its whole name
    assert data_name(tmp_path / "run.2024") == "run.2024" and data_name("x/scans.parquet") == "scans"
    assert config.main(["--profile", "default", "source", "files", "data_dir", str(table)]) == 0
    assert capsys.readouterr().out.strip() == str(paths.FIGURES / "files-my_scans" / "default")
