"""Lab tables read into the model's names and units, and joined to spectra (soilnb.data.labtable)."""
import numpy as np
import pandas as pd
import pytest

from soilnb.data import SpectralLibrary, join_lab, parse_header, read_lab_table
from soilnb.data.labtable import LabTableError
from soilnb.data.units import conversion, parse_unit


def write(tmp_path, text, name="lab.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


# ----------------------------------------------------------------------------------------------- units
def test_conversions_match_hand_computations():
    assert conversion("OC", "g/kg", "%") == pytest.approx(12.5 / 10 / 12.5)        # 12.5 g/kg = 1.25 %
    assert conversion("TC", "mg/kg", "%") == pytest.approx(1e-4)                   # 10,000 mg/kg = 1 %
    assert conversion("CEC", "meq/100g", "cmol/kg") == 1.0
    assert conversion("CEC", "mmolc/kg", "cmol/kg") == pytest.approx(0.1)
    # 1 cmol(+)/kg K = 0.01 mol/kg x 39.10 g/mol / charge 1 = 0.391 g/kg = 391 mg/kg
    assert 391.0 * conversion("K", "mg/kg", "cmol/kg") == pytest.approx(1.0)
    assert 0.0391 * conversion("K", "%", "cmol/kg") == pytest.approx(1.0)
    with pytest.raises(ValueError, match="cannot be converted"):
        conversion("CEC", "mg/kg", "cmol/kg")                                       # CEC is no single ion


def test_table_values_converted(tmp_path):
    p = write(tmp_path, "sample_id,OC [g/kg],K (ppm),CEC (meq/100g),TN_mg_kg,clay_pct\n"
                        "a,12.5,782,15,1500,20\nb,3,195.5,8.5,400,35\n")
    lab = read_lab_table(p)
    v = lab.values
    np.testing.assert_allclose(v["OC"], [1.25, 0.3])
    np.testing.assert_allclose(v["K"], [2.0, 0.5])
    np.testing.assert_allclose(v["CEC"], [15, 8.5])
    np.testing.assert_allclose(v["TN"], [0.15, 0.04])
    np.testing.assert_allclose(v["clay"], [20, 35])
    assert lab.units["OC"] == "wt%" and lab.units["K"] == "cmolc/kg"


@pytest.mark.parametrize("header, name, unit, prop", [
    ("OC [g/kg]", "OC", "g/kg", "OC"),
    ("OC (%)", "OC", "%", "OC"),
    ("OC_g_kg", "OC", "g_kg", "OC"),
    ("clay_pct", "clay", "pct", "clay"),
    ("Clay", "Clay", None, "clay"),
    ("clay%", "clay", "%", "clay"),
    ("CEC (cmol(+)/kg)", "CEC", "cmol(+)/kg", "CEC"),
    ("CEC meq/100g", "CEC", "meq/100g", "CEC"),
    ("K (ppm)", "K", "ppm", "K"),
    ("K [mg/kg]", "K", "mg/kg", "K"),
    ("organic carbon (g kg-1)", "organic carbon", "g kg-1", "OC"),
    ("SOC", "SOC", None, "OC"),
    ("Total N (%)", "Total N", "%", "TN"),
    ("pH (H2O)", "pH (H2O)", None, "pH"),
    ("pH_CaCl2", "pH_CaCl2", None, None),
    ("soil_pH", "soil_pH", None, None),
    ("Fe_ox_mg_kg", "Fe_ox", "mg_kg", None),
    ("oc_usda.c729_w.pct", "oc_usda.c729_w.pct", "%", "OC"),
    ("cec_usda.a723_cmolc.kg", "cec_usda.a723_cmolc.kg", "cmol/kg", "CEC"),
])
def test_header_parsing(header, name, unit, prop):
    got = parse_header(header)
    assert got[0] == name and got[2] == prop
    assert (got[1] is None) if unit is None else parse_unit(got[1]) == parse_unit(unit)


# ----------------------------------------------------------------------------------------------- errors
def test_ambiguous_unit_is_an_error_naming_column_and_fix(tmp_path):
    p = write(tmp_path, "id,OC,pH\na,12,6.5\nb,3,7\n")
    with pytest.raises(LabTableError, match=r"column 'OC' \(OC\): no unit.*units=\{'OC': 'g/kg'\}.*--unit OC=g/kg"):
        read_lab_table(p)
    lab = read_lab_table(p, units={"OC": "g/kg"})                      # declared: fine, pH unitless
    np.testing.assert_allclose(lab.values["OC"], [1.2, 0.3])
    np.testing.assert_allclose(lab.values["pH"], [6.5, 7])


def test_impossible_percent_refused_whole(tmp_path):
    # a clay column declared % holding g/kg: up to 450 -- refused, not the rows above 100 dropped
    p = write(tmp_path, "id,clay (%),OC (%)\na,450,1\nb,80,2\nc,120,1.5\n")
    with pytest.raises(LabTableError, match=r"'clay \(%\)'.*values 80 to 450.*above 100 %.*'clay': 'g/kg'.*"
                                            r"none of its values kept"):
        read_lab_table(p)
    lab = read_lab_table(p, units={"clay": "g/kg"})
    np.testing.assert_allclose(lab.values["clay"], [45, 8, 12])


def test_gkg_declared_but_values_are_percent(tmp_path):
    p = write(tmp_path, "id,clay,silt,sand\na,20,30,50\nb,10,40,50\n")
    with pytest.raises(LabTableError, match=r"sums to 10 %.*look like %.*'clay': '%'"):
        read_lab_table(p, units={"clay": "g/kg", "silt": "g/kg", "sand": "g/kg"})
    lab = read_lab_table(p)                                            # no unit: rows sum to 100 -> %
    np.testing.assert_allclose(lab.values["clay"], [20, 10])
    assert "guessed" in lab.source_units["clay"]
    lab = read_lab_table(write(tmp_path, "id,clay,silt,sand\na,200,300,500\n", "gkg.csv"))
    np.testing.assert_allclose(lab.values[["clay", "silt", "sand"]].to_numpy(), [[20, 30, 50]])


def test_texture_a_thousand_times_too_small_has_its_own_message(tmp_path):
    # g/kg values declared mg/kg, and fractions declared g/kg: both sum to 0.1 % -- never "declare %"
    p = write(tmp_path, "id,clay,silt,sand\na,200,300,500\nb,100,400,500\n")
    with pytest.raises(LabTableError, match=r"sums to 0.1 %.*look like g/kg; declare .*'clay': 'g/kg'") as exc:
        read_lab_table(p, units={"clay": "mg/kg", "silt": "mg/kg", "sand": "mg/kg"})
    assert "'%'" not in str(exc.value)
    p = write(tmp_path, "id,clay,silt,sand\na,0.2,0.3,0.5\nb,0.1,0.4,0.5\n", "fractions.csv")
    with pytest.raises(LabTableError, match=r"sums to 0.1 %.*look like fractions \(0-1\); give them in % \(x 100\)"):
        read_lab_table(p, units={"clay": "g/kg", "silt": "g/kg", "sand": "g/kg"})


def test_bare_inorganic_carbon_needs_its_basis(tmp_path):
    # the model's IC is CaCO3 equivalent (%); labs also report inorganic carbon as C (x 100.09 / 12.01 apart)
    for header in ("IC (%)", "IC", "inorganic carbon (%)"):
        p = write(tmp_path, f"id,{header}\na,1.2\nb,0\n")
        with pytest.raises(LabTableError, match=r"IC\).*without its basis.*--unit IC=%CaCO3 or --unit IC=%C"):
            read_lab_table(p)
    p = write(tmp_path, "id,IC\na,1.2\nb,0\n")
    np.testing.assert_allclose(read_lab_table(p, units={"IC": "%CaCO3"}).values["IC"], [1.2, 0])
    lab = read_lab_table(p, units={"IC": "%C"})
    np.testing.assert_allclose(lab.values["IC"], [1.2 * 100.09 / 12.01, 0])          # 1.2 % C = 10.0 % CaCO3
    assert lab.units["IC"] == "wt% CaCO3 eq." and any("x 8.33" in n for n in lab.notes)
    np.testing.assert_allclose(read_lab_table(p, units={"IC": "g/kg C"}).values["IC"], [0.12 * 100.09 / 12.01, 0])
    lab = read_lab_table(write(tmp_path, "id,IC [%C]\na,1.2\n", "written.csv"))        # the unit in the header
    np.testing.assert_allclose(lab.values["IC"], [1.2 * 100.09 / 12.01])
    for header in ("CaCO3 (%)", "carbonate (%)", "IC (% CaCO3)", "caco3_usda.a54_w.pct"):  # as today
        lab = read_lab_table(write(tmp_path, f"id,{header}\na,10\n", "caco3.csv"))
        np.testing.assert_allclose(lab.values["IC"], [10.0])


def test_pH_outside_range_refused(tmp_path):
    with pytest.raises(LabTableError, match="not a pH"):
        read_lab_table(write(tmp_path, "id,pH\na,65\nb,7\n"))


def test_unknown_units_key_and_unit(tmp_path):
    p = write(tmp_path, "id,OC [furlongs]\na,1\n")
    with pytest.raises(LabTableError, match="no unit"):
        read_lab_table(write(tmp_path, "id,OC\na,1\n", "b.csv"))
    with pytest.raises(LabTableError, match=r"units given for \['TOC_typo'\]"):
        read_lab_table(write(tmp_path, "id,OC (%)\na,1\n", "c.csv"), units={"TOC_typo": "%"})
    with pytest.raises(LabTableError, match=r"'OC \[furlongs\]' \(OC\): unit 'furlongs' is not one"):
        read_lab_table(p)
    lab = read_lab_table(write(tmp_path, "id,pH (CaCl2),depth\na,5.5,10\n", "d.csv"))
    assert lab.properties == ["pH (CaCl2)", "depth"] and lab.units["depth"] is None   # not the model's pH


# ----------------------------------------------------------------------------------------------- cells and files
def test_non_numeric_cells_reported_not_coerced(tmp_path):
    p = write(tmp_path, "sample;OC (%);CEC (cmol/kg);site\n1;<0,1;n.d.;x\n2;1,5;12,3;y\n3;bdl;;z\n")
    lab = read_lab_table(p)
    assert np.isnan(lab.values["OC"][0]) and lab.values["OC"][1] == 1.5
    assert lab.cells["OC"].limit == 1 and lab.cells["OC"].limit_examples == ["<0.1"]
    assert lab.cells["OC"].other == 1 and lab.cells["OC"].other_examples == ["bdl"]
    assert lab.cells["CEC"].other == 1 and "CEC" in lab.summary() and "n.d." in lab.summary()
    assert list(lab.text.columns) == ["site"]
    assert any("decimal comma" in n for n in lab.notes)


def test_decimal_comma_ambiguity(tmp_path):
    with pytest.raises(LabTableError, match="decimal commas or thousands"):
        read_lab_table(write(tmp_path, "id;CEC (cmol/kg)\na;1,500\nb;2,250\n"))
    with pytest.raises(LabTableError, match="decimal point.*and with a comma"):
        read_lab_table(write(tmp_path, "id;OC (%);TN (%)\na;1,5;0.1\n", "m.csv"))
    lab = read_lab_table(write(tmp_path, "id;CEC (cmol/kg)\na;1,500\n", "d.csv"), decimal=",")
    assert lab.values["CEC"][0] == 1.5


def test_id_column_detection_and_leading_zeros(tmp_path):
    lab = read_lab_table(write(tmp_path, "Lab ID\tOC (%)\n007\t1\n010\t2\n"))
    assert lab.id_column == "Lab ID" and lab.ids.tolist() == ["007", "010"]
    p = write(tmp_path, "sample_id,lab_id,OC (%)\na,1,1\n", "two.csv")
    with pytest.raises(LabTableError, match=r"several columns.*\['sample_id', 'lab_id'\].*id_column="):
        read_lab_table(p)
    assert read_lab_table(p, id_column="lab_id").ids.tolist() == ["1"]
    with pytest.raises(LabTableError, match="no sample-id column"):
        read_lab_table(write(tmp_path, "code,OC (%)\na,1\n", "none.csv"))


def test_excel_tables(tmp_path):
    df = pd.DataFrame({"sample_id": ["007", "8"], "OC [g/kg]": [12.5, 3.0]})
    df.to_excel(tmp_path / "lab.xlsx", index=False)                  # openpyxl is a dependency
    lab = read_lab_table(tmp_path / "lab.xlsx")
    assert lab.ids.tolist() == ["007", "8"]
    np.testing.assert_allclose(lab.values["OC"], [1.25, 0.3])
    import importlib.util
    for suffix, engine in ((".xls", "xlrd"), (".ods", "odf")):      # not dependencies: a LabTableError, no ImportError
        if importlib.util.find_spec(engine) is None:
            (tmp_path / f"lab{suffix}").write_bytes(b"\xd0\xcf")
            with pytest.raises(LabTableError, match=rf"lab{suffix}.*save the sheet as .xlsx or CSV"):
                read_lab_table(tmp_path / f"lab{suffix}")


# ----------------------------------------------------------------------------------------------- joins
def tiny_library(ids, files=None, extra=None):
    n = len(ids)
    meta = {}
    if files is not None:
        meta["source_file"] = np.asarray([f"/scans/{f}" for f in files])
    if extra is not None:
        meta["extra"] = pd.DataFrame(extra).to_records(index=False)
    return SpectralLibrary(X=np.random.default_rng(0).random((n, 20)), axis=np.arange(600.0, 640.0, 2.0),
                           unit="cm-1", quantity="absorbance", sample_id=np.asarray(ids), meta=meta)


@pytest.fixture
def lab(tmp_path):
    return read_lab_table(write(tmp_path, "sample_id,OC [g/kg],clay (%)\n235157,12,20\n235158,30,40\n999,5,10\n"))


def test_join_by_pattern_gives_every_scan_its_sample(lab):
    files = ["235157XS01.0", "235157XS02.0", "235158XS01.0", "111111XS01.0", "readme.0"]
    lib = tiny_library([f.split(".")[0] for f in files], files)
    res = join_lab(lib, lab, rule="pattern", pattern=r"^(\d+)XS")
    out = res.library
    assert out.n_scans == 5                                             # one row per spectrum, nothing dropped
    np.testing.assert_allclose(out.properties["OC"].to_numpy()[:3], [1.2, 1.2, 3.0])
    assert out.properties["OC"].isna().tolist() == [False, False, False, True, True]
    assert out.sample_id[:3].tolist() == ["235157", "235157", "235158"]  # scans of one sample grouped
    assert res.spectra_without_lab["spectrum_id"].tolist() == ["111111XS01", "readme"]
    assert res.lab_without_spectra == ["999"]
    s = res.summary()
    assert "joined 3 of 5 spectra to 2 lab samples" in s and "2 spectra without a lab row: 111111XS01, readme" in s
    assert "1 lab row(s) without spectra: 999" in s and "not matched by the pattern: readme.0" in s
    assert res.matched().n_scans == 3
    named = join_lab(lib, lab, rule="pattern", pattern=r"(?P<id>\d{6})XS(?P<rep>\d+)")
    assert named.joined.sum() == 3
    with pytest.raises(ValueError, match="one group or a group named 'id'"):
        join_lab(lib, lab, rule="pattern", pattern=r"(\d+)XS(\d+)")


def test_join_by_stem_case_and_leading_zeros(tmp_path):
    lab = read_lab_table(write(tmp_path, "id,OC (%)\nS01,1\n007,2\n"))
    lib = tiny_library(["s01", "7", "S01"])
    res = join_lab(lib, lab)
    assert res.joined.tolist() == [False, False, True]
    assert "but for case or leading zeros" in res.summary() and "'7' ~ '007'" in res.summary()
    res = join_lab(lib, lab, case_insensitive=True)
    assert res.joined.tolist() == [True, False, True]
    assert res.library.sample_id.tolist() == ["S01", "7", "S01"]


def test_join_by_column(lab):
    lib = tiny_library(["scan1", "scan2"], extra={"lab_no": ["235158", " 235157 "], "depth": [0, 10]})
    res = join_lab(lib, lab, rule="column", column="lab_no")
    np.testing.assert_allclose(res.library.properties["clay"], [40, 20])
    assert res.library.meta["spectrum_id"].tolist() == ["scan1", "scan2"]
    with pytest.raises(ValueError, match=r"no column 'lab'.*lab_no"):
        join_lab(lib, lab, rule="column", column="lab")


def test_duplicates_refused(tmp_path):
    lab = read_lab_table(write(tmp_path, "id,OC (%)\na,1\nb,2\na,3\nB,4\n"))
    assert lab.duplicates() == {"a": [1, 3]}
    with pytest.raises(ValueError, match=r"1 sample id\(s\) appear more than once: 'a' rows \[1, 3\]"):
        join_lab(tiny_library(["a"]), lab)
    with pytest.raises(ValueError, match=r"2 sample id\(s\).*'b' rows \[2, 4\]"):
        join_lab(tiny_library(["a"]), lab, case_insensitive=True)


def test_join_real_opus_files(tmp_path):
    from soilnb.data import MissingDataError, read_spectra, real_dir
    try:
        folder = real_dir("ossl_samples")
    except MissingDataError as e:
        pytest.skip(f"real sample files not available: {e}")
    files = sorted(folder.glob("*.0"))
    assert [f.name for f in files] == ["235157XS01.0", "icr056141.0"]
    lab = read_lab_table(write(tmp_path, "sample_id,OC [g/kg],clay (%)\n235157,12.5,20\nicr056141,3,35\n"))
    res = read_spectra(files, progress=False)
    joined = {}
    for lib in res.libraries.values():                              # the two files are on different grids
        r = join_lab(lib, lab, rule="pattern", pattern=r"^(\d+(?=XS)|icr\d+)")
        joined.update(dict(zip(r.library.sample_id, r.library.properties["OC"])))
        assert not len(r.spectra_without_lab)
    assert joined == {"235157": pytest.approx(1.25), "icr056141": pytest.approx(0.3)}
    stem = [join_lab(lib, lab) for lib in res.libraries.values()]
    assert sorted(s for r in stem for s in r.spectra_without_lab["spectrum_id"]) == ["235157XS01"]
