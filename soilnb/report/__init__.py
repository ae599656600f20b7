"""Figures and tables of the paper: one style, one way to save, one function per figure or table."""
import matplotlib

matplotlib.use("Agg")  # headless: figures are files (notebooks display them)

from .figures_data import (  # noqa: F401
    fig1,
    fig1_bands,
    fig2_strategies,
    fig_mir_repeats,
    fig_nir_examples,
    fig_realism,
    spectra_examples,
    spectra_overlay,
)
from .figures_models import (  # noqa: F401
    error_by_wavenumber,
    fig3_latent,
    fig4_conversion,
    fig_conversion_errors,
    fig_reconstruction,
    training_curves,
)
from .figures_results import (  # noqa: F401
    fig5_ccc,
    fig6_rpiq,
    fig7_reliability,
    fig8,
    fig_metric_bars,
    fig_shift,
    fig_variant_bars,
    figC9,
)
from .output import save_table, savefig  # noqa: F401
from .style import CM, STYLE, use_style  # noqa: F401
from .tables import (  # noqa: F401
    APPENDIX_A_COLUMNS,
    APPENDIX_B_COLUMNS,
    appendix_a,
    appendix_a_vs_paper,
    appendix_b_vs_paper,
    beside_paper,
    read_reference,
    summary_statistics,
)
