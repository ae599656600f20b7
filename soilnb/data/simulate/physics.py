"""The physical parameters of the simulated spectra: DRIFT presentation, NIR band depths and the instruments."""
from __future__ import annotations

from dataclasses import dataclass

from soilnb.data.simulate.bands import (
    NEOSPECTRA_RESOLUTION_CM1,
)


@dataclass(frozen=True)
class Instrument:
    """Acquisition characteristics of one simulated spectrometer.

    shift : axis calibration offset added to band centres (cm-1 or nm)
    broaden : multiplies band widths (sample presentation, optics; the NIR MEMS units use it as a
        stand-in for their unit-to-unit differences in optical resolution, which are a sizeable
        fraction of the NIR band widths)
    resolution : instrument line width (FWHM, cm-1 or nm) added in quadrature to band widths (exact
        for Gaussian bands, approximate for pseudo-Voigt ones)
    gain, offset, tilt : reference-material response: ``A -> gain * A + offset + tilt * t`` with
        ``t`` in [0, 1] along the axis (MIR) or ``R -> R * (gain + tilt * t) + offset`` (NIR)
    noise : per-channel noise sd (absorbance for MIR, reflectance for NIR)
    """

    name: str
    kind: str
    shift: float = 0.0
    broaden: float = 1.0
    resolution: float = 0.0
    gain: float = 1.0
    offset: float = 0.0
    tilt: float = 0.0
    noise: float = 0.002


@dataclass(frozen=True)
class DriftPhysics:
    """Sample-presentation physics of the MIR DRIFT forward model (see the module docstring).

    scale : per-constituent multipliers of the :data:`soilnb.data.simulate.bands.MIR_BANDS` strengths (order of
        :data:`soilnb.data.simulate.bands.CONSTITUENTS`)
    path, path_coarse : mean optical path factor, and its decrease with the sand share (coarser
        particles: shorter mean path before escape)
    amax : DRIFT saturation level (log units) of strong bands in neat samples
    restrahlen : depth of the quartz Si-O reflection window per unit quartz x coarseness
    restrahlen_sd : log-sd of that depth between aliquots (packing, surface orientation)
    restrahlen_bend : depth of the quartz Si-O-Si bending reflection (doublet 800/780 cm-1), relative
        to the stretching window
    restrahlen_carb : depth of the calcite/dolomite v3 reflection (1550-1380 cm-1) per unit carbonate
    b0, b0_dark, b0_sd : baseline level, its increase with soil darkness (OM, Fe oxides), its scatter
    b1, b1_fine : scattering slope towards low wavenumbers, and its increase with fine fractions
    b2, b2_sd : baseline curvature (mean, sd)
    gain_sd : per-scan multiplicative (packing density) scatter
    jitter : per-aliquot log-sd of the composition (subsample heterogeneity)
    restrahlen_hi, restrahlen_soft : upper edge (cm-1) of the quartz reflection window and its logistic width
    restrahlen_clay, restrahlen_clay_centre, restrahlen_clay_width : depth (per unit kaolinite + smectite +
        illite), centre and sd of the clay-mineral Si-O stretch reflection: in neat DRIFT the strongest
        fundamental of fine clays is also partly specular, which flattens the Si-O absorbance maximum of
        clayey soils at 1000-1060 cm-1 (Nguyen et al. 1991)
    b1_sd : log-sd of the scatter slope between aliquots
    co2_mean, co2_sd : mean and sd of the atmospheric CO2 doublet amplitude per scan
    overtone_coarse : extra strength of the weak quartz combination/overtone bands (2000-1280 cm-1) per
        unit sand share minus 0.5: weak bands gain path inside coarse grains (volume scattering), so
        sandy soils show them far more than silty ones of the same quartz content
    """

    # Global scalars below were first chosen by a random search minimising the real-vs-simulated realism AUC
    # (soilnb.data.realism) within the physically plausible range given in each comment. Then (branch realism2)
    # a coordinate descent over ~35 physical parameters (these scalars, the constituent scales, a few band
    # strengths/positions in soilnb.data.simulate.bands, WATER_SD), each kept inside its plausible range, minimised the
    # Mahalanobis distance between the real toy KSSL and simulated SNV spectra in their pooled 10-PC space
    # (sim seeds 0 and 1; seed 2 held out). No real spectrum, mean or loading enters the simulator. The main
    # gains: a shallower, more variable quartz reflection window reaching 1258 cm-1 (the LO edge of the
    # quartz Si-O band in powders), a weak clay Si-O reflection, a stronger kaolinite 3695 band, weaker
    # smectite and feldspar bands (both at the low end of their range: smectite x0.5 and feldspar x0.5 are
    # the calibration's choice, not a measured value) and Gaussian broad O-H stretching bands.
    scale: tuple = (1.0, 1.60, 0.51, 1.50) + (1.0,) * 7 + (0.85, 0.50)   # kaolinite, smectite, illite, water,
    #   feldspar multipliers, 0.5-1.6 (mineral band strengths in soils are uncertain by x1.5-2: crystallinity,
    #   particle size, Fe substitution)
    path: float = 1.58               # optical path factor, plausible 1-2.5
    path_coarse: float = 0.69        # decrease with sand share, 0-0.8
    amax: float = 1.50               # DRIFT saturation of neat soil (log units), 1.5-3.5
    restrahlen: float = 0.45         # quartz Si-O reflection depth, 0.3-2.5
    restrahlen_sd: float = 0.50      # its aliquot-to-aliquot log-sd (normal clipped at +-2 sd), 0.1-0.5
    restrahlen_bend: float = 0.63    # relative depth at the 800/780 doublet, 0-1
    restrahlen_carb: float = 0.0     # carbonate v3 reflection per unit carbonate, 0-3 (negligible at soil
    #   carbonate contents: the v3 band of a few % calcite is diluted and diffuse, not specular)
    restrahlen_hi: float = 1258.0    # upper (LO-side) edge of the quartz reflection window, 1220-1260 cm-1
    restrahlen_soft: float = 6.0     # logistic width (cm-1) of that edge (particle-size spread), 4-15
    restrahlen_clay: float = 0.36    # clay-mineral Si-O stretch reflection per unit clay mineral, 0-3
    restrahlen_clay_centre: float = 1040.0   # clay Si-O stretch maximum (kaolinite 1030, smectite 1035)
    restrahlen_clay_width: float = 45.0      # Gaussian sd (cm-1) of that reflection band
    b0: float = 0.28                 # baseline level, -0.1-0.3 (removed by SNV)
    b0_dark: float = 0.11            # its increase with darkness, 0-0.5
    b0_sd: float = 0.02              # per-scan offset sd, 0.02-0.12 (SNV-invariant; kept low so repeats of one
    #   sample stay closer than different samples: ratio ~0.47 of the between-sample distance)
    b1: float = 0.251                # scatter slope, 0-0.5
    b1_fine: float = 0.08            # 0-0.3
    b1_sd: float = 0.2               # log-sd of the slope between aliquots, 0.1-0.8
    b2: float = 0.075                # curvature, -0.2-0.7
    b2_sd: float = 0.10              # 0.02-0.3
    gain_sd: float = 0.01            # packing-density gain scatter, 0.01-0.1
    jitter: float = 0.02             # subsample heterogeneity, 0.02-0.1
    overtone_coarse: float = 0.80    # 0-2 (keeps the overtone strength >= 0)
    co2_mean: float = -0.058         # mean CO2 doublet amplitude (negative: background taken with more CO2
    #   in the beam than the sample scan, as in an unpurged compartment), -0.1-0.05
    co2_sd: float = 0.02             # its scan-to-scan sd, 0.01-0.1


#: Default presentation physics of the simulated KSSL-like DRIFT spectra.
DRIFT = DriftPhysics()


@dataclass(frozen=True)
class NirPhysics:
    """Diffuse-reflectance physics of the simulated NeoSpectra NIR spectra (see :func:`nir_spectra`).

    scale : per-constituent multipliers of the :data:`soilnb.data.simulate.bands.NIR_BANDS` strengths (order of
        :data:`soilnb.data.simulate.bands.CONSTITUENTS`)
    water_wing, water_wing_nm : the long-wavelength wing of the O-H stretching fundamental of water
        (~2.9-3.0 um): per unit water, ``water_wing x A(1940) x exp((nm - 2500) / water_wing_nm)`` with
        ``A(1940)`` the water bands' absorbance at 1940 nm, so that ``water_wing`` is the ratio
        alpha(2500 nm) / alpha(1940 nm) of liquid water
    clay_wing, clay_wing_nm : the same for the structural O-H of the clay minerals (~2.7-2.8 um), per unit
        clay mineral: ``clay_wing x exp((nm - 2500) / clay_wing_nm)``
    electronic, electronic_nm, electronic_sd : the NIR tail of the electronic (charge-transfer, crystal
        field) absorption of organic matter and Fe oxides: ``electronic x darkness x exp(-(nm - 1350) /
        electronic_nm)``, with a between-sample log-sd
    b0, b0_dark : absorbance level and its increase with darkness (flat part)
    resolution_cm1 : instrument line (FWHM, cm-1, constant in wavenumber as in any FT instrument)
    """

    # Before the NIR realism check (soilnb.data.realism.nir_realism_auc) the NIR bands were 3-9x deeper than in
    # real soil NIR spectra (NIRsoil; the OSSL NeoSpectra sample scans) and the spectra had no baseline
    # shape. Scales now follow band depths of pure minerals in diffuse reflectance: kaolinite 2206 nm depth
    # ~35-45 % (dA ~0.2 per unit kaolinite; USGS splib06a, Clark et al. 2007 doi:10.3133/ds231; Clark et al.
    # 1990 doi:10.1029/JB095iB08p12653), calcite 2340 nm ~20-30 % (dA 0.1-0.15; Gaffey 1986 Am. Mineral.
    # 71:151), soil C-H bands at 1725/2310 nm of a few % per % OC (Stenberg et al. 2010 doi:10.1016/S0065-
    # 2113(10)07005-7; Ben-Dor et al. 1997 doi:10.1016/S0034-4257(96)00120-4). None was fitted to real spectra.
    scale: tuple = (1.0, 0.37, 0.37, 0.37, 1.0, 0.25, 0.25, 0.3, 0.3, 0.3, 0.3, 0.5, 1.0)   # minerals 0.25-0.5,
    #   OM 0.2-0.5, water 0.4-0.8 (air-dry soils: 1.9 um band depth 5-15 % at 1-3 % water, Lobell & Asner 2002
    #   doi:10.2136/sssaj2002.7220)
    water_wing: float = 0.8          # alpha(2500 nm) / alpha(1940 nm) of liquid water, 0.6-0.9 (Hale & Querry
    #   1973 doi:10.1364/AO.12.000555: alpha ~90 vs ~115 cm-1; ~20 cm-1 at 2200 nm)
    water_wing_nm: float = 200.0     # e-folding of that wing: alpha(2500)/alpha(2200) ~ 4.4 -> 300 / ln 4.4
    clay_wing: float = 0.3           # absorbance at 2500 nm per unit clay mineral, 0.1-0.5: the wing of the
    #   structural O-H stretching fundamental (kaolinite 2.71/2.76 um, smectite/illite ~2.76 um) that makes the
    #   reflectance of clay minerals fall beyond ~2.4 um (Clark et al. 1990; Bishop, Pieters & Edwards 1994
    #   doi:10.1346/CCMN.1994.0420606)
    clay_wing_nm: float = 150.0      # its e-folding length, 100-250 nm (the fundamental is closer than water's)
    electronic: float = 0.25         # absorbance at 1350 nm per unit darkness, 0.1-0.5 (OM and Fe oxides lower
    #   reflectance most at short wavelengths: Baumgardner et al. 1985 doi:10.1016/S0065-2113(08)60677-6;
    #   Fe3+ crystal-field bands at 850-940 nm, Sherman & Waite 1985 Am. Mineral. 70:1262)
    electronic_nm: float = 400.0     # its decay length, 250-600 nm
    electronic_sd: float = 0.3       # between-sample log-sd (OM quality, Fe oxide mineralogy), 0.1-0.5
    b0: float = 0.18                 # flat absorbance level (SNV-invariant), 0.1-0.3
    b0_dark: float = 0.25            # its increase with darkness, 0.1-0.5
    resolution_cm1: float = NEOSPECTRA_RESOLUTION_CM1   # 16 nm at 1550 nm (Si-Ware datasheet), 66.6 cm-1


#: Default physics of the simulated NeoSpectra NIR spectra.
NIR = NirPhysics()

#: The four simulated instruments (training: Vertex 70 / Neospectra 2022; test: Invenio-R / Neospectra 2024).
INSTRUMENTS: dict[str, Instrument] = {
    "vertex70": Instrument("vertex70", "mir", noise=0.0015),
    # two laser-referenced Bruker FT-IR benches: a sub-wavenumber axis offset (J-stop / laser differences),
    # an extra instrument line width (about 6 instead of 4 cm-1 effective resolution), a gold instead of a
    # KBr reference (gain, offset, tilt). Soil band widths (mostly 20-300 cm-1) are set by the sample, not the bench.
    "invenio": Instrument("invenio", "mir", shift=0.5, resolution=4.0, gain=0.95, offset=-0.06, tilt=0.05,
                          noise=0.0012),
    "neospectra2022": Instrument("neospectra2022", "nir", noise=0.004),
    "neospectra2024": Instrument("neospectra2024", "nir", shift=4.0, broaden=1.15, gain=1.04, offset=0.015,
                                 tilt=-0.06, noise=0.003),
}
