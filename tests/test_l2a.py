"""L2A naming, tree and metadata against real Sentinel-2 products (../shared/data/real_safe_metadata)."""
from __future__ import annotations

import re
import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from lxml import etree

from sen2cor3.products import naming
from sen2cor3.products.l2a import create_l2a_tree, finalize_l2a_metadata, read_image_files
from sen2cor3.products.l2a_metadata import PRODUCT_QI_FIELDS, SC_LEGEND, TILE_QI_FIELDS
from sen2cor3.products.l2a_quality import read_quality_values
from sen2cor3.products.model import S2_BANDS, S2_BAND_RESOLUTION_M, AngleGrids, BandInfo, Geoposition, L1CProduct

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real_safe_metadata"
KAB = REAL / "S2A_MSIL2A_20230821T221941_N0509_R029_T01KAB_20230822T021825.SAFE"
UBT = REAL / "S2B_MSIL2A_20230122T231849_N0400_R087_T01UBT_20230124T042703.SAFE"
LAC = REAL / "S2A_MSIL1C_20200717T221941_R029_T01LAC_20200717T234135.SAFE"
PB04_MTD = (REAL.parent / "ukis-pysat-s2-landsat-microcrops-toa"
            / "S2B_MSIL1C_20220615T101559_N0400_R065_T32UPC_20220615T122549_MTD.xml")
needs_real = pytest.mark.skipif(not (KAB.is_dir() and LAC.is_dir() and UBT.is_dir()),
                                reason="real SAFE metadata not available")
GEN = datetime(2025, 1, 2, 3, 4, 5, 678901)


# ------------------------------------------------------------------------------------------------ naming
def test_product_name_from_l1c() -> None:
    l1c = "S2A_MSIL1C_20230821T221941_N0509_R029_T01KAB_20230822T005958.SAFE"
    assert (naming.l2a_product_uri(l1c, "05.09", "20230822T021825")
            == "S2A_MSIL2A_20230821T221941_N0509_R029_T01KAB_20230822T021825.SAFE")
    assert naming.l2a_product_name(l1c, "99.33", GEN).endswith("_N9933_R029_T01KAB_20250102T030405")
    # an old name without N field still gets one
    assert (naming.l2a_product_name("S2A_MSIL1C_20200717T221941_R029_T01LAC_20200717T234135", "99.33", GEN)
            == "S2A_MSIL2A_20200717T221941_N9933_R029_T01LAC_20250102T030405")
    with pytest.raises(ValueError):
        naming.l2a_product_name("LC08_L1TP_192026_20240809_20240809_02_T1", "99.33", GEN)
    with pytest.raises(ValueError):
        naming.baseline_field("9.33")


def test_long_ids_and_folders_match_real_product() -> None:
    # real PB 05.09 pair: L1C tile id ..._L1C_TL_2APS_20230822T005958_A042640_T01KAB_N05.09
    assert (naming.tile_long_id("S2A", "2APS", "20230822T021825", 42640, "01KAB", "05.09")
            == "S2A_OPER_MSI_L2A_TL_2APS_20230822T021825_A042640_T01KAB_N05.09")
    assert (naming.datastrip_long_id("S2A", "2APS", "20230822T021825", "20230821T221944", "05.09")
            == "S2A_OPER_MSI_L2A_DS_2APS_20230822T021825_S20230821T221944_N05.09")
    assert (naming.datastrip_folder("ESRI", "20230124T042703", "20230122T231921")
            == "DS_ESRI_20230124T042703_S20230122T231921")
    assert naming.granule_name("01KAB", 42640, "20230821T221944") == "L2A_T01KAB_A042640_20230821T221944"
    assert (naming.granule_name_from_l1c("L1C_T01LAC_A026481_20200717T221944")
            == "L2A_T01LAC_A026481_20200717T221944")
    assert naming.datastrip_sensing("S2A_OPER_MSI_L1C_DS_SGS__20200717T234135_S20200717T221944_N02.09") \
        == "20200717T221944"
    assert (naming.datatake_identifier("GS2A_20230821T221941_042640_N05.09", "99.33")
            == "GS2A_20230821T221941_042640_N99.33")
    assert naming.qi_mask_name("MSK_CLDPRB", 20) == "MSK_CLDPRB_20m"
    assert naming.pvi_name("T01KAB_20230821T221941") == "T01KAB_20230821T221941_PVI"
    with pytest.raises(ValueError):
        naming.datastrip_folder("TOOLONG", "20230124T042703", "20230122T231921")


@needs_real
def test_report_name_matches_real() -> None:
    real = [p.name for p in (UBT / "rep_info").glob("*_report.xml")]
    assert naming.report_name(UBT.name, "20230124T042702") in real


@needs_real
@pytest.mark.parametrize("product", ["KAB", "UBT"])
def test_image_file_list_equals_real(product: str) -> None:
    """Our 36 IMAGE_FILEs equal the real PB 05.09 / Sen2Cor-made lists (the latter also in order)."""
    root = {"KAB": KAB, "UBT": UBT}[product]
    real = read_image_files(root / "MTD_MSIL2A.xml")
    g = real[0].split("/")[1]
    prefix = real[0].rsplit("/", 1)[1].rsplit("_", 2)[0]
    ours = naming.image_file_entries(g, prefix, (10, 20, 60))
    assert len(ours) == 36 and sorted(ours) == sorted(real)
    if product == "UBT":  # made by Sen2Cor's toolbox mode: same order too
        assert ours == real


# ----------------------------------------------------------------------------------- a real L1C, by hand
def _band_infos(offset: float) -> dict[str, BandInfo]:
    return {b: BandInfo(b, i, S2_BAND_RESOLUTION_M[b], 1000.0, offset) for i, b in enumerate(S2_BANDS)}


def _make_l1c(tmp: Path, *, pb04: bool) -> L1CProduct:
    """A SAFE made of the real T01LAC L1C metadata (PB 02.09), or with a real PB 04.00 MTD_MSIL1C."""
    name = "S2A_MSIL1C_20200717T221941_N0209_R029_T01LAC_20200717T234135"
    safe = tmp / (name + ".SAFE")
    shutil.copytree(LAC, safe)
    gran = "L1C_T01LAC_A026481_20200717T221944"
    gdir = safe / "GRANULE" / gran
    if pb04:
        shutil.copy(PB04_MTD, safe / "MTD_MSIL1C.xml")
    (gdir / "QI_DATA").mkdir(exist_ok=True)
    masks = {}
    for stem in ("MSK_DETFOO_B01", "MSK_QUALIT_B01", "MSK_CLASSI_B00"):
        p = gdir / "QI_DATA" / f"{stem}.jp2"
        p.write_bytes(b"jp2")
        masks[stem] = p
    (gdir / "AUX_DATA").mkdir(exist_ok=True)
    aux = {}
    for a in ("AUX_ECMWFT", "AUX_CAMSFO"):
        (gdir / "AUX_DATA" / a).write_bytes(b"GRIB")
        aux[a] = gdir / "AUX_DATA" / a
    z = np.zeros((23, 23))
    ang = AngleGrids(5000, 5000, z, z, {}, {}, 30.0, 40.0, {}, {})
    geo = {r: Geoposition(r, 99960.0, 8300020.0, r, -r, 10980 * 10 // r, 10980 * 10 // r) for r in (10, 20, 60)}
    return L1CProduct(
        safe_path=safe, product_name=name, product_uri=name + ".SAFE", product_type="S2MSI1C", mission_id="S2A",
        spacecraft_name="Sentinel-2A", sensing_start=datetime(2020, 7, 17, 22, 19, 41, 24000),
        datatake_sensing="20200717T221941", generation_time=datetime(2020, 7, 17, 23, 41, 35),
        processing_baseline="04.00" if pb04 else "02.09", relative_orbit=29, absolute_orbit=26481,
        sensing_orbit_direction="DESCENDING", datatake_identifier="GS2A_20200717T221941_026481_N02.09",
        tile_id="01LAC", quantification_value=10000.0, u=0.9678, bands=_band_infos(-1000.0 if pb04 else 0.0),
        nodata_value=0, saturated_value=65535, epsg=32701, crs_name="WGS84 / UTM zone 01S", geopositions=geo,
        angles=ang, mtd_product_path=safe / "MTD_MSIL1C.xml", mtd_tile_path=gdir / "MTD_TL.xml",
        mtd_datastrip_path=None, granule_name=gran, datastrip_name="DS_SGS__20200717T234135_S20200717T221944",
        tile_long_id="S2A_OPER_MSI_L1C_TL_SGS__20200717T234135_A026481_T01LAC_N02.09",
        datastrip_long_id="S2A_OPER_MSI_L1C_DS_SGS__20200717T234135_S20200717T221944_N02.09",
        image_paths={}, qi_mask_paths=masks, aux_paths=aux)


@pytest.fixture(params=[False, True], ids=["pb0209", "pb0400"])
def built(request: pytest.FixtureRequest, tmp_path: Path):
    if not (LAC.is_dir() and PB04_MTD.is_file()):
        pytest.skip("real SAFE metadata not available")
    l1c = _make_l1c(tmp_path, pb04=request.param)
    gipp = tmp_path / "sen2cor_gipp_01LAC.xml"
    gipp.write_text("<Level-2A_Ground_Image_Processing_Parameter/>")
    out = tmp_path / "out" / ".tmp_build"
    l2a = create_l2a_tree(l1c, out, generation_time=GEN, baseline="99.33", processing_centre="SGS_",
                          archiving_centre="SGS_", config_paths={"L2A_GIPP": gipp, "L2A_PB_GIPP": gipp},
                          resolutions=(20, 60, 10), image_ext=".jp2")
    return l1c, l2a


def _root(path: Path) -> etree._Element:
    return etree.parse(str(path)).getroot()


def test_tree_has_every_folder_and_file(built) -> None:
    l1c, l2a = built
    p = l2a.product_dir
    assert l2a.product_uri == "S2A_MSIL2A_20200717T221941_N9933_R029_T01LAC_20250102T030405.SAFE"
    assert l2a.granule_name == "L2A_T01LAC_A026481_20200717T221944"
    assert l2a.datastrip_name == "DS_SGS__20250102T030405_S20200717T221944"
    for rel in ("MTD_MSIL2A.xml", "manifest.safe", "INSPIRE.xml", "HTML", "AUX_DATA", "rep_info/L2A_GIPP.xml",
                "rep_info/S2_User_Product_Level-2A_Metadata.xsd", f"DATASTRIP/{l2a.datastrip_name}/MTD_DS.xml",
                f"DATASTRIP/{l2a.datastrip_name}/QI_DATA/GENERAL_QUALITY.xml",
                f"GRANULE/{l2a.granule_name}/MTD_TL.xml", f"GRANULE/{l2a.granule_name}/QI_DATA/L2A_QUALITY.xml",
                f"GRANULE/{l2a.granule_name}/QI_DATA/MSK_CLASSI_B00.jp2",
                f"GRANULE/{l2a.granule_name}/AUX_DATA/AUX_ECMWFT", f"GRANULE/{l2a.granule_name}/AUX_DATA/AUX_CAMSFO",
                *[f"GRANULE/{l2a.granule_name}/IMG_DATA/R{r}m" for r in (10, 20, 60)]):
        assert (p / rel).exists(), rel
    assert not (p / "rep_info" / "L2A_PB_GIPP.xml").exists()  # as in the real rep_info
    assert [x.name for x in (p / "GRANULE").iterdir()] == [l2a.granule_name]  # sen2like reads the first entry
    img = p / "GRANULE" / l2a.granule_name / "IMG_DATA"
    assert l2a.image_path("SCL", 20) == img / "R20m" / "T01LAC_20200717T221941_SCL_20m"
    with pytest.raises(KeyError):
        l2a.image_path("B10", 60)
    final = p.parent / l2a.product_uri
    assert l2a.relocated(final).mtd_tile_path == final / "GRANULE" / l2a.granule_name / "MTD_TL.xml"


def test_product_mtd_content(built) -> None:
    l1c, l2a = built
    r = _root(l2a.mtd_product_path)
    assert etree.QName(r).localname == "Level-2A_User_Product"
    assert r.nsmap["n1"] == "https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd"
    assert r.findtext(".//PRODUCT_TYPE") == "S2MSI2A"
    assert r.findtext(".//PROCESSING_LEVEL") == "Level-2A"
    assert r.findtext(".//PROCESSING_BASELINE") == "99.33"
    assert r.findtext(".//PRODUCT_URI") == l2a.product_uri
    assert r.findtext(".//PRODUCT_DOI") == "https://doi.org/10.5270/S2_-znk9xsj"
    datetime.strptime(r.findtext(".//GENERATION_TIME"), "%Y-%m-%dT%H:%M:%S.%fZ")
    assert r.find(".//Datatake").get("datatakeIdentifier").endswith("_N99.33")
    gr = r.find(".//Granule")
    assert gr.get("granuleIdentifier") == l2a.tile_long_id and gr.get("imageFormat") == "JPEG2000"
    assert len(gr.findall("IMAGE_FILE")) == 36
    assert r.findtext(".//BOA_QUANTIFICATION_VALUE") == "10000"
    assert r.findtext(".//AOT_QUANTIFICATION_VALUE") == "1000.0"
    assert r.find(".//WVP_QUANTIFICATION_VALUE").get("unit") == "cm"
    offs = r.findall(".//BOA_ADD_OFFSET")
    if l1c.has_radiometric_offset:
        assert [o.get("band_id") for o in offs] == [str(i) for i in range(13)]
        assert {o.text for o in offs} == {"-1000"}
    else:
        assert offs == []
    assert r.find(".//QUANTIFICATION_VALUE") is None and r.find(".//RADIO_ADD_OFFSET") is None
    assert [e.text for e in r.iter("SCENE_CLASSIFICATION_TEXT")] == list(SC_LEGEND)
    assert [e.text for e in r.iter("SCENE_CLASSIFICATION_INDEX")] == [str(i) for i in range(12)]
    types = [g.get("type") for g in r.iter("GIPP_FILENAME")][-3:]
    assert types == ["GIP_L2ACSC", "GIP_L2ACAC", "GIP_PROBA2"]


@needs_real
def test_element_order_matches_real_pb0509(built) -> None:
    _, l2a = built
    ours, real = _root(l2a.mtd_product_path), _root(KAB / "MTD_MSIL2A.xml")
    assert [e.tag for e in ours.find(".//Image_Content_QI")] == [e.tag for e in real.find(".//Image_Content_QI")]
    assert [e.tag for e in ours.find(".//Image_Content_QI")] == list(PRODUCT_QI_FIELDS)
    pic = lambda x: [e.tag for e in x.find(".//Product_Image_Characteristics") if e.tag != "PHYSICAL_GAINS"]  # noqa: E731
    has_off = ours.find(".//BOA_ADD_OFFSET") is not None
    expect = [t for t in pic(real) if t != "BOA_ADD_OFFSET_VALUES_LIST" or has_off]
    assert [t for t in pic(ours) if t != "REFERENCE_BAND"] == [t for t in expect if t != "REFERENCE_BAND"]
    has_gri = ours.find(".//GRI_List") is not None
    assert [e.tag for e in ours.find("{*}Auxiliary_Data_Info")] == [
        e.tag for e in real.find("{*}Auxiliary_Data_Info") if e.tag != "GRI_List" or has_gri]
    tags = lambda x, sec: [e.tag for e in x.find(sec)]  # noqa: E731
    assert tags(ours, "{*}Quality_Indicators_Info") == tags(real, "{*}Quality_Indicators_Info")
    rt = _root(next((KAB / "GRANULE").glob("*/MTD_TL.xml")))
    ot = _root(l2a.mtd_tile_path)
    assert [e.tag for e in ot.find(".//Image_Content_QI")] == [e.tag for e in rt.find(".//Image_Content_QI")]
    assert [e.tag for e in ot.find(".//Image_Content_QI")] == list(TILE_QI_FIELDS)
    assert [e.tag for e in ot.find("{*}General_Info")] == [e.tag for e in rt.find("{*}General_Info")]
    assert tags(ot, "{*}Quality_Indicators_Info") == tags(rt, "{*}Quality_Indicators_Info")


def _write_fake_outputs(l2a) -> list[Path]:
    written = []
    for res in (20, 60, 10):
        for band in naming.L2A_BANDS[res]:
            p = l2a.image_path(band, res).with_suffix(".jp2")
            p.write_bytes(b"x" * 10)
            written.append(p)
    for kind in naming.QI_MASK_KINDS:
        for res in (20, 60):
            l2a.qi_path(kind, res).with_suffix(".jp2").write_bytes(b"m")
    l2a.pvi_path().with_suffix(".jp2").write_bytes(b"p")
    return written


QI = {"CLOUDY_PIXEL_PERCENTAGE": 12.5, "CLOUDY_PIXEL_OVER_LAND_PERCENTAGE": 10.0, "NODATA_PIXEL_PERCENTAGE": 1.0,
      "DARK_FEATURES_PERCENTAGE": 0.5, "VEGETATION_PERCENTAGE": 40.0, "GRANULE_MEAN_AOT": 0.083432,
      "GRANULE_MEAN_WV": 3.4, "AOT_RETRIEVAL_METHOD": "CAMS", "OZONE_SOURCE": "AUX_ECMWFT", "OZONE_VALUE": 273.9,
      "DEM_TYPE": "COPERNICUS_90", "NEGATIVE_BOA_PERCENTAGE": {"B01": 0.002},
      "LUT_DATA_FILES": ["h99000_wv20_rura.atm"],
      "AUX_DATA_FILES": ["Copernicus_DSM_COG_30_S16_00_W180_00_DEM.tif"]}


def test_finalize_and_sen2like_contract(built) -> None:
    """Every field sen2like's Sentinel2MTL reads (research/sen2like_contract.md 2.2) is there, numeric where needed."""
    l1c, l2a = built
    written = _write_fake_outputs(l2a)
    written.remove(l2a.image_path("TCI", 60).with_suffix(".jp2"))  # e.g. a layer not produced
    finalize_l2a_metadata(l2a, image_files_written=written, qi_values=QI,
                          aux_info={"PRODUCTION_DEM_TYPE": "CopernicusDEM90"})
    p = l2a.product_dir
    mtds = list(p.glob("*MTD*.xml"))
    assert mtds == [l2a.mtd_product_path]
    r = _root(mtds[0])
    assert r.findtext(".//PROCESSING_LEVEL") == "Level-2A"
    assert r.findtext(".//PRODUCT_URI")[:3] == "S2A"
    datetime.strptime(r.findtext(".//GENERATION_TIME"), "%Y-%m-%dT%H:%M:%S.%fZ")
    pb = r.findtext(".//PROCESSING_BASELINE")
    assert re.fullmatch(r"\d{2}\.\d{2}", pb) and pb >= "04.00"
    for tag in ("PRODUCT_TYPE", "SPACECRAFT_NAME", "SENSING_ORBIT_NUMBER", "PRODUCT_START_TIME", "U", "EXT_POS_LIST",
                "PRODUCT_STOP_TIME", "Query_Options", "Coordinate_Reference_System",
                "PRODUCTION_DEM_TYPE", "IERS_BULLETIN_FILENAME", "ECMWF_DATA_REF", "SNOW_CLIMATOLOGY_MAP",
                "ESACCI_WaterBodies_Map", "ESACCI_LandCover_Map", "ESACCI_SnowCondition_Map_Dir"):
        assert r.find(f".//{tag}") is not None, tag
    int(r.findtext(".//SENSING_ORBIT_NUMBER"))
    float(r.findtext(".//U"))
    assert len(r.findall(".//Spectral_Information")) == 13 and len(r.findall(".//SOLAR_IRRADIANCE")) == 13
    assert float(r.findtext(".//Cloud_Coverage_Assessment")) == 12.5
    files = [e.text for e in r.iter("IMAGE_FILE")]
    assert len(files) == 35 and not any(f.endswith("TCI_60m") for f in files)
    keys = {f[-7:] for f in files}
    assert {"SCL_20m", "B01_60m", "B02_10m", "B03_10m", "B04_10m", "B08_10m", "B05_20m", "B06_20m", "B07_20m",
            "B8A_20m", "B11_20m", "B12_20m"} <= keys
    assert len(Path(files[-1]).parts) == 5 and Path(files[-1]).parts[2] == "IMG_DATA"
    for f in files:  # band globs sen2like uses
        assert (p / (f + ".jp2")).is_file()
    assert r.findtext(".//LUT_FILENAME") == "h99000_wv20_rura.atm"
    assert r.findtext(".//PRODUCTION_DEM_TYPE") == "CopernicusDEM90"
    assert r.findtext(".//Image_Content_QI/DARK_FEATURES_PERCENTAGE") == "0.500000"

    # tile metadata
    t = _root(next((p / "GRANULE").glob("*/*MTD*_TL*.xml")))
    for tag in ("TILE_ID", "DATASTRIP_ID", "DOWNLINK_PRIORITY", "Archiving_Info", "L1C_TILE_ID", "Image_Content_QI",
                "HORIZONTAL_CS_NAME", "HORIZONTAL_CS_CODE", "Sun_Angles_Grid", "Mean_Sun_Angle",
                "Mean_Viewing_Incidence_Angle_List", "Viewing_Incidence_Angles_Grids"):
        assert t.find(f".//{tag}") is not None, tag
    assert re.search(r"\.\d+Z$", t.findtext(".//SENSING_TIME"))
    for tag in ("ULX", "ULY", "XDIM", "YDIM", "NROWS", "NCOLS"):
        float(t.findtext(f".//{tag}"))
    assert t.findtext(".//L1C_TILE_ID") == l1c.tile_long_id and t.findtext(".//TILE_ID") == l2a.tile_long_id
    assert float(t.findtext(".//CLOUDY_PIXEL_PERCENTAGE")) == 12.5
    mask_texts = [m.text for m in t.iter("MASK_FILENAME")]
    assert mask_texts and all(f"GRANULE/{l2a.granule_name}/QI_DATA" in m for m in mask_texts)
    assert all((p / m).is_file() for m in mask_texts)  # L1C GML masks not copied were dropped
    assert {m.get("type") for m in t.iter("MASK_FILENAME")} >= {"MSK_CLDPRB", "MSK_SNWPRB"}
    assert (p / t.findtext(".//PVI_FILENAME")).is_file()

    # datastrip
    ds = _root(next((p / "DATASTRIP").glob("*/*MTD*.xml")))
    for tag in ("DATATAKE_SENSING_START", "DATASTRIP_SENSING_START"):
        datetime.strptime(ds.findtext(f".//{tag}"), "%Y-%m-%dT%H:%M:%S.%fZ")

    # L2A_QUALITY.xml
    q = _root(l2a.quality_path)
    assert etree.QName(q).namespace == "http://gs2.esa.int/DATA_STRUCTURE/l2aqiReport"
    assert etree.QName(q).localname == "L2A_Quality_File"
    cc = q.find("./Data_Block/report/checkList/check/extraValues/value[@name='CLOUDY_PIXEL_PERCENTAGE']", q.nsmap)
    assert float(cc.text) == 12.5
    names = [c.findtext("{*}name") for c in q.iter("{*}checkList")]
    assert names == ["SCENE_CLASS_QUALITY", "ATMOSPHERIC_CORRECTION_QUALITY", "AUX_DATA_QUALITY"]
    vals = read_quality_values(l2a.quality_path)
    real = read_quality_values(next(UBT.glob("GRANULE/*/QI_DATA/L2A_QUALITY.xml")))
    assert set(real) - set(vals) == set()  # every real value name (PSD 14: DARK_FEATURES_) is present
    assert {"AC_ENABLED", "B05"} <= set(vals)
    numeric = [n for n in vals if n.endswith(("_PERCENTAGE", "_KM", "_ACCURACY", "_ANGLE", "_RANGE", "_FACTOR"))
               or n.startswith(("GRANULE_MEAN", "OZONE_VALUE", "DEM_MEAN")) or re.fullmatch(r"B\d\w", n)]
    numeric = [n for n in numeric if "_THAN_" not in n and "_ABOVE_" not in n]  # True/False flags
    assert len(numeric) >= 35
    for n in numeric:
        float(vals[n])
    assert vals["B01"] == "0.002000" and vals["AOT_RETRIEVAL_METHOD"] == "CAMS"
    assert vals["LUT_DATA_FILES"] == "['h99000_wv20_rura.atm']"


def test_manifest_lists_present_files(built) -> None:
    _, l2a = built
    written = _write_fake_outputs(l2a)
    finalize_l2a_metadata(l2a, image_files_written=written, qi_values=QI)
    m = _root(l2a.product_dir / "manifest.safe")
    assert m.get("version") == "esa/safe/sentinel/1.1/sentinel-2/msi/archive_l2a_user_product"
    hrefs = {e.get("href") for e in m.iter("fileLocation")}
    assert "./MTD_MSIL2A.xml" in hrefs and "./INSPIRE.xml" in hrefs
    for h in hrefs:
        assert (l2a.product_dir / h).is_file(), h
    ids = {d.get("ID"): d.find("byteStream/fileLocation").get("href") for d in m.iter("dataObject")}
    real_ids = {d.get("ID") for d in _root(UBT / "manifest.safe").iter("dataObject")}
    assert real_ids <= set(ids)  # the same ids as the real Sen2Cor-made manifest (its 42 objects)
    assert ids["IMG_DATA_20m_Band10_Tile1_Data"].endswith("_B8A_20m.jp2")
    for d in m.iter("dataObject"):
        bs = d.find("byteStream")
        assert int(bs.get("size")) == (l2a.product_dir / bs.find("fileLocation").get("href")).stat().st_size
        assert len(bs.findtext("checksum")) == 32
    mids = [o.get("ID") for o in m.iter("metadataObject")]
    assert mids[:5] == ["acquisitionPeriod", "measurementOrbitReference", "platform", "processing",
                        "measurementFrameSet"]
    assert {"S2_Level-2A_Product_Metadata_Information", "S2_Level-2A_Datastrip1_Metadata_Information"} <= set(mids)
    proc = next(m.iter("{http://www.esa.int/safe/sentinel/1.1}processing"))
    assert proc.get("name") == "Generation of Level-2A User Product"


@pytest.fixture
def small(request: pytest.FixtureRequest):
    try:
        return request.getfixturevalue("small_l1c")
    except pytest.FixtureLookupError:
        pytest.skip("small_l1c fixture not available yet")


def test_small_l1c_fixture(small, tmp_path: Path) -> None:
    """The simulated L1C of tests/conftest.py also goes through (when that fixture exists)."""
    l2a = create_l2a_tree(small, tmp_path / ".build", generation_time=GEN, baseline="99.33",
                          processing_centre="SGS_", archiving_centre="SGS_", resolutions=(20, 60, 10))
    finalize_l2a_metadata(l2a, image_files_written=[], qi_values={})
    r = _root(l2a.mtd_product_path)
    assert r.findtext(".//PRODUCT_TYPE") == "S2MSI2A"
    float(r.findtext(".//Cloud_Coverage_Assessment"))
