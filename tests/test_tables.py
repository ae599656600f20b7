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
    if paper_b is None:
        pytest.skip("../shared/reference not found")
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
    if paper is None:
        pytest.skip("../shared/reference not found")
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
