from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from soilnb.core.vocab import PAPER_NAMES, PAPER_TEXT_MEANS, PROPERTIES
from soilnb.report import tables
from soilnb.stages.strategies import qualitative_findings, strategy_means


def test_summary_statistics_by_hand():
    v = [1.0, 2.0, 3.0, 10.0]
    s = tables.summary_statistics(v + [np.nan])           # NaN ignored
    m = 4.0
    sd = np.sqrt(((1 - m) ** 2 + (2 - m) ** 2 + (3 - m) ** 2 + (10 - m) ** 2) / 3)
    m2 = np.mean((np.array(v) - m) ** 2)
    m3 = np.mean((np.array(v) - m) ** 3)
    m4 = np.mean((np.array(v) - m) ** 4)
    assert s["n"] == 4 and s["min"] == 1 and s["max"] == 10
    np.testing.assert_allclose([s["mean"], s["sd"], s["skewness"], s["kurtosis"]],
                               [m, sd, m3 / m2 ** 1.5, m4 / m2 ** 2], rtol=1e-12)
    np.testing.assert_allclose(s["kurtosis"], stats.kurtosis(v, fisher=True) + 3, rtol=1e-12)


def test_paper_text_means_follow_from_paper_appendix_b():
    """The averages the paper quotes in Sect. 3.3 are reproduced from its own Appendix B (a published reference)."""
    paper_b = tables.read_reference("appendix_b")
    means = strategy_means(paper_b).merge(PAPER_TEXT_MEANS, on="strategy")
    np.testing.assert_allclose(means["ccc"], means["ccc_paper_text"], atol=0.011)
    rp = means.dropna(subset=["rpiq_paper_text"])
    np.testing.assert_allclose(rp["rpiq"], rp["rpiq_paper_text"], atol=0.011)
    findings = qualitative_findings(paper_b).set_index("finding")["holds"]
    assert findings.iloc[0] and findings.iloc[1] and findings.iloc[3]   # the paper's own claims hold on its table


def test_paired_appendix_a_from_real_neospectra_tables(real_dir):
    """Appendix A 'Paired' from the real OSSL Neospectra lab table equals the paper's published row values."""
    from soilnb.data.ossl.tables import read_soillab

    folder = real_dir / "neospectra_tables"
    lab = read_soillab(folder / "neospectra_soillab_v1.2.csv", site=folder / "neospectra_soilsite_v1.2.csv")
    paired = lab[lab["kssl"]][list(PROPERTIES)].dropna()
    paper = tables.read_reference("appendix_a")
    paper = paper[paper["dataset"] == "Paired"].set_index("property")
    for p in PROPERTIES:
        s = tables.summary_statistics(paired[p])
        ref = paper.loc[PAPER_NAMES[p]]
        assert s["n"] == ref["n"] == 2016
        np.testing.assert_allclose([s[k] for k in ("min", "mean", "sd", "max")],
                                   ref[["min", "mean", "sd", "max"]].to_numpy(float), atol=0.0051, err_msg=p)
        np.testing.assert_allclose([s["skewness"], s["kurtosis"]], ref[["skewness", "kurtosis"]].to_numpy(float),
                                   atol=0.05, err_msg=p)


def test_beside_paper_differences():
    ours = pd.DataFrame({"property": ["TC"], "strategy": ["A"], "ccc": [0.5]})
    ref = pd.DataFrame({"property": ["TC"], "strategy": ["A"], "ccc": [0.75]})
    out = tables.beside_paper(ours, ref, ["property", "strategy"], ["ccc"], source="simulated")
    assert out.loc[0, "source"] == "simulated" and out.loc[0, "ccc_diff"] == -0.25


def test_beside_paper_names_rows_without_a_paper_value_and_refuses_no_paper():
    ours = pd.DataFrame({"property": ["TC", "OC"], "strategy": ["A", "A"], "ccc": [0.5, 0.6]})
    ref = pd.DataFrame({"property": ["TC"], "strategy": ["A"], "ccc": [0.75]})
    with pytest.warns(UserWarning, match=r"1 of 2 rows have no value in the paper \(files\): OC / A"):
        out = tables.beside_paper(ours, ref, ["property", "strategy"], ["ccc"], source="files")
    assert out["ccc_paper"].isna().tolist() == [False, True]
    with pytest.raises(ValueError, match="needs the paper's table"):
        tables.beside_paper(ours, None, ["property", "strategy"], ["ccc"], source="files")


def test_paper_tables_ship_with_the_package_and_match_the_paper_text():
    """Appendix A and B are package data (no folder beside the repository), with the values printed in the paper."""
    from soilnb.core import references

    a, b = tables.read_reference("appendix_a"), tables.read_reference("appendix_b")
    assert len(a) == 27 and len(b) == 63
    assert references.REFERENCE.is_relative_to(Path(tables.__file__).resolve().parents[1])
    # two values copied by hand from the paper: Appendix A, TC in Paired (mean 2.29, max 53.88); Appendix B,
    # CEC with MIR-MLP (CCC 0.96, RPIQ 4.44)
    tc = a.set_index(["property", "dataset"]).loc[("TC", "Paired")]
    assert (tc["n"], tc["mean"], tc["max"]) == (2016, 2.29, 53.88)
    cec = b.set_index(["property", "strategy"]).loc[("CEC", "MIR-MLP")]
    assert (cec["ccc"], cec["rpiq"]) == (0.96, 4.44)
    assert set(b["property"]) == {PAPER_NAMES[p] for p in PROPERTIES}


def test_a_damaged_reference_table_is_refused_by_name(tmp_path, monkeypatch):
    from soilnb.core import references

    (tmp_path / "paper_appendix_b.csv").write_text("property,strategy,ccc\nTC,MIR-PLSR,0.9\n")
    monkeypatch.setattr(references, "REFERENCE", tmp_path)
    with pytest.raises(references.ReferenceError, match=r"paper_appendix_b.csv: not the published table 'appendix_b'"):
        references.read_reference("appendix_b")
    with pytest.raises(references.ReferenceError, match="missing from the installed soilnb"):
        references.read_reference("appendix_a")
