"""Loaders for the public Open Soil Spectral Library (OSSL) v1.2 files -> :mod:`soilnb.data.library` objects.

Files (bucket ``soilspec4gg-public``, Safanelli et al. 2025, PLOS ONE 20:e0296545,
doi:10.1371/journal.pone.0296545; Neospectra: Sanderman et al. 2023, doi:10.5281/zenodo.7586622):

* ``ossl_mir_L0_v1.2.csv.gz``: averaged MIR scans, ``scan_mir.600_abs``..``scan_mir.4000_abs``
  (absorbance), keys ``dataset.code_ascii_txt`` + ``id.layer_uuid_txt``; KSSL rows are ``KSSL.SSL``.
* ``ossl_soillab_L0/L1_v1.2.csv.gz``, ``ossl_soilsite_L0_v1.2.csv.gz``: lab and site tables, same keys.
* ``neospectra_{nir,mir,soillab,soilsite}_v1.2.csv.gz``: the paper's Paired set, key
  ``id.sample_local_c`` (the KSSL lab sample id). The NIR table has one row per sample per scanner
  (``id.scan_local_c`` like ``NEO1_030747``), ``scan_nir.1350_ref``..``scan_nir.2550_ref``
  (reflectance fraction); ``neospectra_mir`` holds the same samples' KSSL MIR spectra.

Join between the Neospectra and KSSL tables (used to keep test samples out of the KSSL library):
OSSL builds ``id.layer_uuid_txt = md5(dataset code + KSSL layer id)`` and the Neospectra site table
carries the KSSL layer id as ``id.layer_local_c``; so a Neospectra sample's KSSL row has uuid
``md5("KSSL.SSL" + id.layer_local_c)`` (:func:`kssl_layer_uuid`; 19 of the 500 real KSSL spectra
in ``data/real/kssl_mir_toy`` (the KSSL toy set) match Neospectra samples this way).

This module holds the dataset loaders (:func:`load_kssl`, :func:`load_neospectra`, :func:`load_world`);
the rest of the subpackage holds the file format and its checks (:mod:`soilnb.data.ossl.format`), download and
verification (:mod:`soilnb.data.ossl.files`), the table readers (:mod:`soilnb.data.ossl.tables`) and the
independent test set (:mod:`soilnb.data.ossl.testset`).
"""
from __future__ import annotations

import time

import numpy as np

from soilnb.data.library import SpectralLibrary, World
from soilnb.data.ossl.format import (
    DATASET_COL,
    KSSL_CODE,
    LAYER_COL,
    SAMPLE_COL,
    OSSLFormatError,
    _file,
    _header,
    _require,
    kssl_layer_uuid,
)
from soilnb.data.ossl.tables import (
    _attach,
    _read_site,
    read_mir_table,
    read_nir_table,
    read_soillab,
)
from soilnb.data.ossl.testset import (
    load_test_set,
)


# ------------------------------------------------------------------------------------ KSSL
def load_kssl(data_dir, soillab: str = "L0", use_cache: bool = True, cache_dir=None,
              verbose: bool = True) -> SpectralLibrary:
    """The KSSL MIR library: MIR L0 + soillab (L0 or L1) + soilsite, ``KSSL.SSL`` rows only.

    Rows are joined on ``dataset.code_ascii_txt`` + ``id.layer_uuid_txt``; every KSSL spectrum is
    kept (properties NaN where the lab table has none, as for the paper's 83,971 pretraining
    samples; :meth:`SpectralLibrary.complete` gives the regression rows). OSSL holds averaged
    scans, so ``scan_id`` is 0 everywhere (the paper's 334,665 repeats come from KSSL directly).
    """
    if soillab not in ("L0", "L1"):
        raise ValueError(f"soillab must be 'L0' or 'L1', got {soillab!r}")
    t0 = time.perf_counter()
    lib = read_mir_table(_file(data_dir, "ossl_mir_L0_v1.2.csv.gz"), dataset=KSSL_CODE, use_cache=use_cache,
                         cache_dir=cache_dir, name="kssl", verbose=verbose)
    lab_path = _file(data_dir, f"ossl_soillab_{soillab}_v1.2.csv.gz")
    site_path = _file(data_dir, "ossl_soilsite_L0_v1.2.csv.gz")
    columns = _header(lab_path)
    _require(columns, [DATASET_COL, LAYER_COL], lab_path)
    lab = read_soillab(lab_path, id_col=LAYER_COL)
    lab = lab[lab["kssl"]]
    site = _read_site(site_path, LAYER_COL)
    _require(site.columns, [DATASET_COL], site_path)
    site_ids = set(site.loc[site[DATASET_COL] == KSSL_CODE, LAYER_COL])
    lab = lab[lab.index.isin(site_ids)]
    lib = _attach(lib, lab)
    if verbose:
        print(f"[ossl] KSSL: {lib.n_scans} MIR spectra, {int(lib.properties.notna().all(axis=1).sum())} "
              f"with all nine properties ({time.perf_counter() - t0:.1f} s)")
    return lib


# ------------------------------------------------------------------------------ Neospectra
def load_neospectra(data_dir, use_cache: bool = True, cache_dir=None,
                    verbose: bool = True) -> tuple[SpectralLibrary, SpectralLibrary]:
    """The Paired set: NIR (averaged over scanners) and KSSL MIR of the same samples, row-aligned.

    Only samples with both spectra are kept (the paper counts 1,976), in the order of the NIR
    table; properties from ``neospectra_soillab`` (+ ``neospectra_soilsite`` for the KSSL rows, see
    :func:`read_soillab`). ``meta["kssl_uuid"]`` of both libraries holds each sample's KSSL
    ``id.layer_uuid_txt`` (:func:`kssl_layer_uuid`), for leakage control (not saved by ``save``).
    """
    nir = read_nir_table(_file(data_dir, "neospectra_nir_v1.2.csv.gz"), name="paired_nir")
    mir = read_mir_table(_file(data_dir, "neospectra_mir_v1.2.csv.gz"), id_col=SAMPLE_COL, use_cache=use_cache,
                         cache_dir=cache_dir, name="paired_mir", verbose=verbose)
    site_path = _file(data_dir, "neospectra_soilsite_v1.2.csv.gz")
    site = _read_site(site_path, SAMPLE_COL)
    lab = read_soillab(_file(data_dir, "neospectra_soillab_v1.2.csv.gz"), site=site, id_col=SAMPLE_COL)
    both = [s for s in nir.sample_id if s in set(mir.sample_id)]
    if not both:
        raise OSSLFormatError(f"{data_dir}: no sample has both NIR and MIR spectra")
    nir, mir = nir.align_to(both), mir.align_to(both)
    nir.name, mir.name = "paired_nir", "paired_mir"
    nir, mir = _attach(nir, lab), _attach(mir, lab)
    uuid_of = {}
    if "id.layer_local_c" in site.columns:
        uuid_of = {str(s): kssl_layer_uuid(l) for s, l in zip(site[SAMPLE_COL], site["id.layer_local_c"])
                   if isinstance(l, str) and l}
    for lib in (nir, mir):
        lib.meta["kssl_uuid"] = np.array([uuid_of.get(s, "") for s in lib.sample_id])
    if verbose:
        print(f"[ossl] Paired: {nir.n_scans} samples with NIR and MIR, "
              f"{int(nir.properties.notna().all(axis=1).sum())} with all nine properties")
    return nir, mir


# ----------------------------------------------------------------------------------- the world
def load_world(data_dir, test_dir: str = "", seed: int = 0, holdout: float = 0.1, soillab: str = "L0",
               use_cache: bool = True, cache_dir=None, verbose: bool = True) -> World:
    """The paper's three datasets from the real OSSL files, as a :class:`World` (``source="ossl"``).

    * ``kssl``: :func:`load_kssl`, minus every KSSL layer of a test sample (no leakage; Neospectra
      samples map to KSSL rows by :func:`kssl_layer_uuid`).
    * ``paired_nir`` / ``paired_mir``: :func:`load_neospectra`, minus the test samples.
    * ``test_nir`` / ``test_mir``: :func:`load_test_set` of ``test_dir``; when ``test_dir`` is
      empty, a stand-in for NAPT: a seeded random ``holdout`` fraction of the Paired samples that
      have all nine properties (``np.random.default_rng(seed)``).
    """
    if not 0 < holdout < 1:
        raise ValueError(f"holdout must be in (0, 1), got {holdout}")
    kssl = load_kssl(data_dir, soillab=soillab, use_cache=use_cache, cache_dir=cache_dir, verbose=verbose)
    nir, mir = load_neospectra(data_dir, use_cache=use_cache, cache_dir=cache_dir, verbose=verbose)
    uuid = nir.meta.get("kssl_uuid", np.full(nir.n_scans, ""))
    if test_dir:
        test_nir, test_mir = load_test_set(test_dir)
        test_ids = (test_nir if test_nir is not None else test_mir).sample_id
        is_test = np.isin(nir.sample_id, test_ids)   # a test sample also in Paired leaves Paired
    else:
        pool = np.flatnonzero(nir.properties.notna().all(axis=1).to_numpy())
        n_test = max(1, int(round(holdout * pool.size)))
        rng = np.random.default_rng(seed)
        test_idx = np.sort(rng.choice(pool, size=n_test, replace=False))
        is_test = np.zeros(nir.n_scans, bool)
        is_test[test_idx] = True
        test_nir, test_mir = nir.subset(is_test), mir.subset(is_test)
        test_nir.name, test_mir.name = "test_nir", "test_mir"
    test_uuid = set(uuid[is_test]) - {""}
    leak = np.isin(kssl.sample_id, list(test_uuid))
    if leak.any():
        kssl = kssl.subset(~leak)
    paired_nir, paired_mir = nir.subset(~is_test), mir.subset(~is_test)
    paired_nir.name, paired_mir.name, kssl.name = "paired_nir", "paired_mir", "kssl"
    if verbose:
        print(f"[ossl] test: {test_ids.size if test_dir else test_nir.n_scans} samples ({'from ' + str(test_dir) if test_dir else 'held out'}); "
              f"removed {int(leak.sum())} KSSL rows of test samples")
    world = World(kssl=kssl, paired_nir=paired_nir, paired_mir=paired_mir, test_nir=test_nir, test_mir=test_mir,
                  source="ossl")
    return world
