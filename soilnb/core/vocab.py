"""The paper's vocabulary in one place: property and strategy names, dataset labels, spectral grids,
colours, the thresholds drawn in the figures and the values the paper quotes in its text.

Everything else imports these names; nothing here imports from soilnb.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

#: The nine properties of the paper, in the paper's order (Appendix A/B).
PROPERTIES: tuple[str, ...] = ("TC", "TN", "IC", "EOC", "pH", "CEC", "clay", "silt", "sand")
#: Names used in the paper's tables (Appendix A/B capitalise the texture fractions).
PAPER_NAMES: dict[str, str] = {p: p for p in PROPERTIES} | {"clay": "Clay", "silt": "Silt", "sand": "Sand"}
#: Units of each property.
UNITS: dict[str, str] = {
    "TC": "wt%", "TN": "wt%", "IC": "wt% CaCO3 eq.", "EOC": "wt%", "pH": "pH (1:1 H2O)",
    "CEC": "cmolc/kg", "clay": "wt%", "silt": "wt%", "sand": "wt%",
}
#: OSSL v1.2 level-0 soillab columns of the KSSL methods the paper uses. EOC is derived
#: (EOC = TC - 0.12 IC, paper Sect. 2.1) and has no column of its own.
OSSL_COLUMNS: dict[str, str] = {
    "TC": "c.tot_usda.a622_w.pct",
    "TN": "n.tot_usda.a623_w.pct",
    "IC": "caco3_usda.a54_w.pct",
    "pH": "ph.h2o_usda.a268_index",
    "CEC": "cec_usda.a723_cmolc.kg",
    "clay": "clay.tot_usda.a334_w.pct",
    "silt": "silt.tot_usda.c62_w.pct",
    "sand": "sand.tot_usda.c60_w.pct",
}
#: The id columns and spectral column names of the OSSL v1.2 MIR and NIR tables (:mod:`soilnb.data.ossl.format`
#: takes them from here): the generic readers recognise an OSSL table by them without importing the OSSL stack.
OSSL_LAYER_COL = "id.layer_uuid_txt"
OSSL_SAMPLE_COL = "id.sample_local_c"
OSSL_MIR_RE = re.compile(r"^scan_mir\.(\d+(?:\.\d+)?)_abs$")
OSSL_NIR_RE = re.compile(r"^scan_nir\.(\d+(?:\.\d+)?)_ref$")
#: Other properties a library may carry, under these names, with their OSSL v1.2 columns (any other name is
#: allowed too and kept as given; the nine above stay the canonical set of the paper).
EXTRA_OSSL_COLUMNS: dict[str, str] = {
    "OC": "oc_usda.c729_w.pct",
    "K": "k.ext_usda.a725_cmolc.kg",
}
EXTRA_UNITS: dict[str, str] = {"OC": "wt%", "SOC": "wt%", "SOM": "wt%", "K": "cmolc/kg"}
#: Properties modelled on the log1p scale (skewed, non-negative contents): the paper's five (Sect. 2.3) and the
#: common extras. A property of another name is log-transformed when its training values are non-negative and
#: skewed (see :class:`soilnb.stats.targets.TargetTransformer`).
LOG_PROPERTIES: tuple[str, ...] = ("TC", "TN", "IC", "EOC", "CEC", "OC", "SOC", "SOM", "K", "N")
#: Carbon fraction of CaCO3 (12.011 / 100.09), used for EOC = TC - 0.12 IC.
CARBONATE_C_FRACTION = 0.12

#: Native OSSL NeoSpectra NIR grid: 1350..2550 nm, 2 nm step (601 channels, ``scan_nir.*_ref``).
NIR_AXIS_NM = np.arange(1350.0, 2550.0 + 1.0, 2.0)
#: NIR range kept by the paper (Sect. 2.1: "trimmed to the 1400-2500 nm range").
NIR_TRIM_NM = (1400.0, 2500.0)
#: Native OSSL MIR grid: 600..4000 cm-1, 2 cm-1 step (1,701 channels, ``scan_mir.*_abs``).
MIR_AXIS_CM1 = np.arange(600.0, 4000.0 + 1.0, 2.0)
#: The grid a model of each range reads (``unit`` -> axis): MIR 600-4000 cm-1, NIR trimmed to 1400-2500 nm, both at
#: 2 units; an input must cover it (within 5 units) to be predicted.
MODEL_GRIDS = {"cm-1": MIR_AXIS_CM1, "nm": np.arange(NIR_TRIM_NM[0], NIR_TRIM_NM[1] + 1.0, 2.0)}

#: The seven prediction strategies of Figs 5-6 and Appendix B, in the paper's order.
STRATEGIES = ("MIR-PLSR", "MIR-MLP", "MIR-SSL-MLP", "NIR-PLSR", "NIR-MLP", "NIRtoMIR-MLP", "NIRtoMIR-SSL-MLP")


#: Averages the paper quotes in Sect. 3.3 (mean CCC; mean RPIQ where quoted).
PAPER_TEXT_MEANS = pd.DataFrame({
    "strategy": list(STRATEGIES),
    "ccc_paper_text": [0.82, 0.81, 0.91, 0.51, 0.51, 0.61, 0.60],
    "rpiq_paper_text": [2.02, np.nan, 3.29, np.nan, 1.20, 1.41, np.nan],
})
#: Strategy order and colour by the input the final regressor sees (paper Figs 5-6: blue MIR
#: spectra, cyan latent embeddings, yellow NIR); conversions are hatched to mark NIR-derived inputs.
COLORS = {"MIR-PLSR": "#1f4e9c", "MIR-MLP": "#3b75d0", "MIR-SSL-MLP": "#17becf", "NIR-PLSR": "#d4a017",
          "NIR-MLP": "#f2c12e", "NIRtoMIR-MLP": "#6f9be0", "NIRtoMIR-SSL-MLP": "#7fdbe6"}
SHORT_INPUT = {"MIR-PLSR": "MIR", "MIR-MLP": "MIR", "MIR-SSL-MLP": "MIR latent", "NIR-PLSR": "NIR", "NIR-MLP": "NIR",
               "NIRtoMIR-MLP": "NIR->MIR", "NIRtoMIR-SSL-MLP": "NIR->latent"}
HATCH = {s: ("//" if s.startswith("NIRtoMIR") else "") for s in STRATEGIES}

#: The compositional texture parts (clay + silt + sand = 100 %), ILR-transformed together (Sect. 2.5, Eqs. 8-9).
TEXTURE: tuple[str, ...] = ("clay", "silt", "sand")
#: Green for the ILR variants, as in the paper's Fig. 8.
ILR_COLORS = {"MIR-MLP": "#3b75d0", "MIR-ILR-MLP": "#2ca02c", "NIRtoMIR-MLP": "#6f9be0", "NIRtoMIR-ILR-MLP": "#98df8a"}

#: Names of the evaluation sets in Fig. 7 (the paper's names).
DATASET_NAMES = {"validation": "Paired", "test": "NAPT"}
#: Names of the three datasets of Appendix A (Sect. 2.1).
DATASETS = ("KSSL", "Paired", "NAPT")

#: Horizontal reference lines of Figs 5 and 6 (Sect. 3.3): CCC = 0.7 and RPIQ = 2.
THRESHOLDS = {"ccc": 0.7, "rpiq": 2.0}
#: The share of KSSL samples with all nine properties (Sect. 2.5: 51,508 of 83,971).
PAPER_COMPLETE_SHARE = 51508 / 83971
