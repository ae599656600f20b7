"""Figures and tables of the paper: one style, one way to save, one function per figure or table."""
import matplotlib

matplotlib.use("Agg")  # headless: figures are files (notebooks display them)

from .figures_data import spectra_overlay, spectra_examples, fig_mir_repeats, fig_nir_examples, fig_realism, fig1, fig1_bands, fig2_strategies  # noqa: F401
from .figures_apply import CONDITION_COLORS, fig_coverage  # noqa: F401
from .figures_limesoda import RANGE_COLORS, TARGET_MARKERS, fig_limesoda_r2  # noqa: F401
from .figures_models import training_curves, fig3_latent, fig4_conversion, error_by_wavenumber, fig_reconstruction, fig_conversion_errors  # noqa: F401
from .figures_results import fig5_ccc, fig6_rpiq, fig_metric_bars, fig_variant_bars, fig7_reliability, fig_shift, fig8, figC9  # noqa: F401
from .output import savefig, save_table, record_skip, read_manifest  # noqa: F401
from .style import CM, STYLE, use_style  # noqa: F401
from .tables import APPENDIX_A_COLUMNS, APPENDIX_B_COLUMNS, summary_statistics, appendix_a, read_reference, beside_paper, appendix_a_vs_paper, appendix_b_vs_paper  # noqa: F401
from .figures_transfer import METHOD_COLORS, fig_transfer  # noqa: F401
