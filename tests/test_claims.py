"""The claims table: verdicts against the paper's own table, hand-made tables on both sides of each rule."""
import math
import time

import numpy as np
import pandas as pd
import pytest

from soilnb.core.references import read_reference
from soilnb.report import claims


def _verdicts(tables):
    return claims.claims_table(tables, only_decided=True).set_index("claim_id")["verdict"].to_dict()


def test_the_papers_claims_hold_on_its_own_appendix_b():
    """A published reference: every claim the paper makes on Appendix B holds when the rule is applied to it."""
    v = _verdicts({"table_appendix_b": read_reference("appendix_b")})
    assert v == {"mir_beats_nir": "holds", "ssl_beats_mir_ccc": "holds", "ssl_beats_mir_rpiq": "holds",
                 "conversion_beats_nir": "holds", "conversion_helps_properties": "holds"}
    row = claims.claims_table({"table_appendix_b": read_reference("appendix_b")}).set_index("claim_id")
    # the paper's quoted means (Sect. 3.3): MIR-SSL-MLP 0.91 vs MIR-PLSR 0.82 and MIR-MLP 0.81
    assert row.loc["ssl_beats_mir_ccc", "paper"] == "mean CCC MIR-SSL-MLP 0.91 vs MIR-PLSR/MIR-MLP 0.82/0.81"
    assert row.loc["conversion_helps_properties", "paper"].endswith("(4 of the paper's 4)")


def test_claims_fail_when_the_table_says_otherwise():
    paper = read_reference("appendix_b")
    swapped = paper.copy()
    swap = {"MIR-PLSR": "NIR-PLSR", "NIR-PLSR": "MIR-PLSR", "MIR-MLP": "NIR-MLP", "NIR-MLP": "MIR-MLP"}
    swapped["strategy"] = swapped["strategy"].replace(swap)
    v = _verdicts({"table_appendix_b": swapped})
    assert v["mir_beats_nir"] == "does not hold"
    # NIR baselines now carry the MIR scores: conversion no longer beats them
    assert v["conversion_beats_nir"] == "does not hold" and v["conversion_helps_properties"] == "does not hold"


def test_a_world_without_nir_leaves_nir_claims_undetermined():
    paper = read_reference("appendix_b")
    mir_only = paper[paper["strategy"].str.startswith("MIR")]
    v = _verdicts({"table_appendix_b": mir_only})
    assert v["mir_beats_nir"] == "undetermined" and v["ssl_beats_mir_ccc"] == "holds"


def test_fig7_rules_by_hand():
    fig7 = pd.DataFrame({"dataset": ["NAPT"] * 4 + ["Paired"] * 2,
                         "ccc_percentile_in_cv": [0.0, 10.0, 40.0, 60.0, 50.0, 99.0]})
    v = _verdicts({"table_fig7_summary": fig7})
    assert v["independent_below_internal"] == "holds"          # 3 of 4 below the median: 0.75
    assert v["validation_within_internal"] == "holds"          # 1 of 2 within 5-95: 0.5
    fig7.loc[2, "ccc_percentile_in_cv"] = 55.0
    fig7.loc[4, "ccc_percentile_in_cv"] = 3.0
    v = _verdicts({"table_fig7_summary": fig7})
    assert v["independent_below_internal"] == "does not hold" and v["validation_within_internal"] == "does not hold"


def test_coverage_rule_uses_the_binomial_tolerance_computed_by_hand():
    m, k = 100, 2
    tol = 3 * math.sqrt(0.9 * 0.1 / (m * k) + 0.9 * 0.1 / (m + 2))       # test count + calibration (Beta) sd
    assert claims.binomial_tolerance(0.9, m * k, m) == pytest.approx(tol)
    def table(cov):
        return pd.DataFrame({"condition": "exchangeable", "interval": "plain", "range": "MIR", "n": m,
                             "coverage": cov})
    assert _verdicts({"table_coverage": table([0.9 - tol + 0.001] * k)})["exchangeable_coverage"] == "holds"
    assert _verdicts({"table_coverage": table([0.9 - tol - 0.001] * k)})["exchangeable_coverage"] == "does not hold"


def test_ablation_and_conversion_rules():
    ilr = pd.DataFrame({"variant": ["MIR-MLP"] * 3 + ["MIR-ILR-MLP"] * 3 + ["NIRtoMIR-MLP"] * 3
                        + ["NIRtoMIR-ILR-MLP"] * 3, "property": ["Clay", "Silt", "Sand"] * 4,
                        "ccc": [0.5, 0.5, 0.5, 0.6, 0.6, 0.6, 0.5, 0.5, 0.5, 0.6, 0.4, 0.6]})
    v = _verdicts({"table_ilr_ablation": ilr})
    assert v["ilr_helps_mir"] == "holds" and v["ilr_hurts_conversion"] == "does not hold"   # 0.533 > 0.5
    fno = pd.DataFrame({"variant": ["NIRtoMIR-MLP (MLP conversion)"] * 2 + ["NIRtoMIR-MLP (FNO conversion)"] * 2,
                        "property": ["TC", "pH"] * 2, "ccc": [0.6, 0.4, 0.7, 0.2]})
    row = claims.claims_table({"table_fno_ablation": fno}, only_decided=True).set_index("claim_id").loc["fno_inferior"]
    # lower on average (0.45 < 0.5) but for only 1 of 2 properties: not "inferior in all" nor in most
    assert row["verdict"] == "does not hold" and "FNO lower for 1 of 2 properties" in row["ours"]
    fno.loc[2, "ccc"] = 0.55
    assert _verdicts({"table_fno_ablation": fno})["fno_inferior"] == "holds"
    conv = pd.DataFrame({"method": ["frozen-decoder", "PLS2 baseline", "training-mean spectrum"] * 2,
                         "dataset": ["validation"] * 3 + ["test"] * 3, "rmse": [0.1, 0.2, 0.3, 0.25, 0.2, 0.3]})
    v = _verdicts({"table_conversion": conv})
    assert v["decoder_beats_pls2"] == "does not hold" and v["decoder_beats_mean"] == "holds"


def test_folder_run_writes_every_claim_and_names_missing_tables(tmp_path, capsys):
    from soilnb.core import config
    from soilnb.report import read_manifest, save_table

    save_table(read_reference("appendix_b"), "table_appendix_b", config.from_notebook({"profile": "smoke"}),
               folder=tmp_path)
    assert claims.main([str(tmp_path)]) == 0
    # the claims' manifest entry names the run of the tables it was computed from
    assert read_manifest(tmp_path)["table_claims.csv"]["profile"] == "smoke"
    table = pd.read_csv(tmp_path / "table_claims.csv")
    assert list(table.columns) == claims.COLUMNS and len(table) == len(claims.CLAIMS)
    assert (table["verdict"] == "holds").sum() == 5
    fno = table.set_index("claim_id").loc["fno_inferior"]
    assert fno["verdict"] == "not run" and fno["ours"] == "(table_fno_ablation not written)"
    assert "5 hold, 0 do not, 10 not run" in capsys.readouterr().out
    assert claims.main([str(tmp_path / "absent")]) == 2
    assert set(table["verdict"]) <= set(claims.VERDICTS) and np.all(table["rule"].str.len() > 0)


def test_tables_of_a_run_with_other_parameters_do_not_decide(tmp_path):
    """A table left in the folder by a run with another seed counts as not written (no verdict on stale tables)."""
    from soilnb.core import config
    from soilnb.report import save_table

    save_table(read_reference("appendix_b"), "table_appendix_b", config.from_notebook({"profile": "smoke", "seed": 1}),
               folder=tmp_path)
    time.sleep(1.1)                                            # the manifest records the second a table was written
    shift = pd.DataFrame({"set": ["KSSL (training)"], "flagged_share": [0.05]})
    save_table(shift, "table_shift", config.from_notebook({"profile": "smoke", "seed": 2}), folder=tmp_path)
    table = claims.write_claims(tmp_path).set_index("claim_id")
    assert table.loc["training_share_flagged", "verdict"] == "holds"          # the newest run's table
    assert table.loc["mir_beats_nir", "verdict"] == "not run"                   # another seed's table
    from soilnb.report import read_manifest
    assert read_manifest(tmp_path)["table_claims.csv"]["seed"] == 2


def test_pomerantsev_share_and_cv_plus_rules_on_both_sides_of_their_bounds():
    def share(v):
        return _verdicts({"table_shift": pd.DataFrame({"set": ["KSSL (training)"], "flagged_share": [v]})})
    assert share(0.02)["training_share_flagged"] == "holds" and share(0.10)["training_share_flagged"] == "holds"
    assert share(0.019)["training_share_flagged"] == "does not hold"
    assert share(0.11)["training_share_flagged"] == "does not hold"
    # pooled CV+ coverage weighs each case by its n: (0.7 * 10 + 0.9 * 30) / 40 = 0.85 >= 0.80
    lim = pd.DataFrame({"coverage": [0.7, 0.9], "n": [10, 30]})
    assert _verdicts({"table_coverage_limesoda": lim})["limesoda_cv_plus"] == "holds"
    lim["n"] = [30, 10]                                                      # 0.75 < 0.80
    assert _verdicts({"table_coverage_limesoda": lim})["limesoda_cv_plus"] == "does not hold"
