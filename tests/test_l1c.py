"""L1C reader, MGRS geometry and L1C writer: synthetic fixtures and real ESA metadata."""
from __future__ import annotations

import shutil
import zipfile
from datetime import timezone

import numpy as np
import pytest
from lxml import etree
from osgeo import gdal

from fixtures_l1c import SENSING, TOA, make_small_l1c
from sen2cor3.io.raster import Window
from sen2cor3.products import mgrs
from sen2cor3.products.angles import interpolate_angle_grid
from sen2cor3.products.l1c import (L1CError, angle_fields, has_raster_qi_masks, open_l1c, read_band,
                                   read_qi_masks, toa_reflectance)
from sen2cor3.products.model import S2_BANDS, BandInfo, Geoposition
from sen2cor3.simulate.l1c_writer import earth_sun_u

REAL = "real_safe_metadata"
T46RER = "S2A_MSIL1C_20210908T042701_N0301_R133_T46RER_20210908T070248.SAFE"
T01LAC = "S2A_MSIL1C_20200717T221941_R029_T01LAC_20200717T234135.SAFE"
UKIS = "ukis-pysat-s2-landsat-microcrops-toa"


# ----------------------------------------------------------------------------------------- fixture product
def test_fixture_product_fields(small_l1c_safe):
    p = open_l1c(small_l1c_safe)
    assert p.product_name == small_l1c_safe.name[:-5] and p.product_uri == small_l1c_safe.name
    assert (p.mission_id, p.spacecraft_name, p.product_type) == ("S2B", "Sentinel-2B", "S2MSI1C")
    assert p.processing_baseline == "05.11" and p.relative_orbit == 22 and p.absolute_orbit == 33123
    assert p.tile_id == "32TQM" and p.epsg == 32632 and p.crs_name == "WGS84 / UTM zone 32N"
    assert p.sensing_start == SENSING.replace(microsecond=24000) and p.sensing_start.tzinfo == timezone.utc
    assert p.datatake_sensing == "20230715T102031" and p.file_prefix == "T32TQM_20230715T102031"
    assert p.datatake_identifier == "GS2B_20230715T102031_033123_N05.11"
    assert p.granule_name.startswith("L1C_T32TQM_A033123_") and p.tile_long_id.endswith("_T32TQM_N05.11")
    assert p.quantification_value == 10000 and p.u == pytest.approx(earth_sun_u(SENSING))
    assert (p.nodata_value, p.saturated_value) == (0, 65535) and p.sensing_orbit_direction == "DESCENDING"
    assert set(p.bands) == set(S2_BANDS) and p.has_radiometric_offset
    b = p.bands["B8A"]
    assert (b.band_id, b.resolution_m, b.radio_add_offset, b.solar_irradiance) == (8, 20, -1000.0, 953.93)
    assert b.wavelength_central_nm == 864.7 and b.wavelength_min_nm == 837
    ulx, uly = mgrs.tile_ul("32TQM")
    for res, n in ((10, 120), (20, 60), (60, 20)):
        g = p.geopositions[res]
        assert (g.ulx, g.uly, g.xdim, g.ydim, g.nrows, g.ncols) == (ulx, uly, res, -res, n, n)
    assert set(p.image_paths) == {*S2_BANDS, "TCI"} and all(f.is_file() for f in p.image_paths.values())
    assert {f"MSK_QUALIT_{b}" for b in S2_BANDS} | {"MSK_CLASSI_B00"} <= set(p.qi_mask_paths)
    assert set(p.aux_paths) == {"AUX_ECMWFT", "AUX_CAMSFO"}
    assert p.mtd_datastrip_path.is_file() and p.datastrip_name.startswith("DS_2APS_")
    assert p.mtd_tile_path.parent.name == p.granule_name and not p.is_hyper_ms


def test_fixture_angles(small_l1c_safe):
    a = open_l1c(small_l1c_safe).angles
    assert (a.col_step_m, a.row_step_m) == (5000, 5000) and a.sun_zenith.shape == (2, 2)
    np.testing.assert_allclose(a.sun_zenith, [[30.0, 30.05], [30.2, 30.25]])
    assert a.mean_sun_zenith == pytest.approx(30.125) and a.mean_view_azimuth["B04"] == pytest.approx(105.0)
    np.testing.assert_allclose(a.view_zenith["B04"], [[4.03, 4.53], [4.03, 4.53]])


def test_fixture_qi_masks(small_l1c_safe):
    p = open_l1c(small_l1c_safe)
    assert has_raster_qi_masks(p)
    m = read_qi_masks(p, 20, bands=("B05",))
    np.testing.assert_array_equal(m["nodata"], read_band(p, "B05", 20) == 0)
    assert not m["saturated_defective"].any()
    allb = read_qi_masks(p, 20)["nodata"]                         # OR over bands: 60 m no-data is coarser
    assert (allb >= m["nodata"]).all() and allb.sum() > m["nodata"].sum()
    ds = gdal.Open(str(p.qi_mask_paths["MSK_QUALIT_B02"]))
    assert ds.RasterCount == 8 and ds.RasterXSize == 120


def test_qi_saturated_layer(tmp_path):
    sat = np.zeros((60, 60), bool)
    sat[10:12, 40:44] = True
    p = open_l1c(make_small_l1c(tmp_path, qi_masks={"B11": {"saturated": sat}}))
    m = read_qi_masks(p, 20)
    np.testing.assert_array_equal(m["saturated"], sat)
    np.testing.assert_array_equal(m["saturated_defective"], sat)
    assert read_qi_masks(p, 60)["saturated"].sum() > 0            # survives nearest downsampling
    assert not read_qi_masks(p, 20, bands=("B02",))["saturated"].any()


# ----------------------------------------------------------------------------------------- pixels and TOA
def test_toa_with_offset(small_l1c_safe):
    p = open_l1c(small_l1c_safe)
    dn = read_band(p, "B08", 10)
    assert dn.dtype == np.uint16 and dn.shape == (120, 120)
    toa = toa_reflectance(dn, p.bands["B08"], p.quantification_value)
    assert toa.dtype == np.float32
    assert toa[60, 60] == pytest.approx(TOA["vegetation"][7]) and toa[60, 119] == pytest.approx(TOA["soil"][7])
    assert np.isnan(toa[0, 0]) and (np.isnan(toa) == (dn == 0)).all()
    assert dn[60, 60] == round(TOA["vegetation"][7] * 10000) + 1000


def test_toa_without_offset_pb0301(small_l1c_pb0301_safe):
    p = open_l1c(small_l1c_pb0301_safe)
    assert p.processing_baseline == "03.01" and not p.has_radiometric_offset
    dn = read_band(p, "B08", 10)
    assert dn[60, 60] == round(TOA["vegetation"][7] * 10000)
    assert toa_reflectance(dn, p.bands["B08"], 10000)[60, 60] == pytest.approx(TOA["vegetation"][7])
    assert not has_raster_qi_masks(p) and "MSK_NODATA_B08" in p.qi_mask_paths
    assert p.qi_mask_paths["MSK_NODATA_B08"].suffix == ".gml"
    assert not any(m.any() for m in read_qi_masks(p, 60).values())
    root = etree.parse(str(p.mtd_product_path)).getroot()
    assert not root.findall(".//{*}RADIO_ADD_OFFSET")


def test_toa_nodata_zero_option():
    band = BandInfo("B02", 1, 10, 1959.0, radio_add_offset=-1000.0)
    out = toa_reflectance(np.array([[0, 1000, 2500]], np.uint16), band, 10000.0, nodata=0.0)
    np.testing.assert_allclose(out, [[0.0, 0.0, 0.15]])


def test_read_band_resampling_and_windows(small_l1c_safe):
    p = open_l1c(small_l1c_safe)
    full10 = read_band(p, "B02", 10).astype(float)
    b60 = read_band(p, "B02", 60)
    assert b60.shape == (20, 20)
    np.testing.assert_allclose(b60[5:, 5:], full10.reshape(20, 6, 20, 6).mean(axis=(1, 3))[5:, 5:], atol=1)
    up = read_band(p, "B05", 10)
    assert up.shape == (120, 120) and up.dtype == np.uint16 and up[60, 60] == read_band(p, "B05", 20)[30, 30]
    win = Window(13, 7, 30, 41)
    for band, res in (("B05", 10), ("B02", 20), ("B01", 20), ("B12", 60), ("B04", 10)):
        np.testing.assert_array_equal(read_band(p, band, res, window=win if res != 60 else Window(2, 3, 5, 6)),
                                      read_band(p, band, res)[(slice(13, 43), slice(7, 48)) if res != 60
                                                              else (slice(2, 7), slice(3, 9))])
    assert read_band(p, "TCI", 10).shape == (3, 120, 120)
    with pytest.raises(L1CError):
        read_band(p, "B04", 10, window=Window(100, 0, 30, 10))


def test_written_jp2_georeferencing(small_l1c_safe):
    p = open_l1c(small_l1c_safe)
    ds = gdal.Open(str(p.image_paths["B11"]))
    assert ds.GetGeoTransform() == p.geopositions[20].geotransform
    assert ds.GetSpatialRef().GetAuthorityCode(None) == "32632" and ds.GetRasterBand(1).DataType == gdal.GDT_UInt16


def test_manifest_lists_every_file(small_l1c_safe):
    root = etree.parse(str(small_l1c_safe / "manifest.safe")).getroot()
    listed = {e.get("href")[2:]: int(e.getparent().get("size")) for e in root.iter("fileLocation")}
    files = {f.relative_to(small_l1c_safe).as_posix(): f.stat().st_size for f in small_l1c_safe.rglob("*")
             if f.is_file() and f.name != "manifest.safe"}
    assert listed == files and len(files) > 40


# ----------------------------------------------------------------------------------------- angles
def test_interpolation_is_exact_on_linear_grids():
    geo = Geoposition(60, 0.0, 0.0, 60.0, -60.0, 1830, 1830)
    rows, cols = np.indices((23, 23))
    grid = 20.0 + 0.1 * rows + 0.03 * cols
    out = interpolate_angle_grid(grid, 5000, 5000, geo, shape=(183, 183))
    r = (np.arange(183) + 0.5) * 600 / 5000
    np.testing.assert_allclose(out, 20.0 + 0.1 * r[:, None] + 0.03 * r[None, :], atol=1e-4)
    az = interpolate_angle_grid(np.where(cols < 11, 359.0, 1.0), 5000, 5000, geo, shape=(10, 10), azimuth=True)
    assert ((az > 358.9) | (az < 1.1)).all()                      # no 180 deg average across north
    nan = grid.copy()
    nan[:, 15:] = np.nan
    assert not np.isnan(interpolate_angle_grid(nan, 5000, 5000, geo, shape=(50, 50))).any()


# ----------------------------------------------------------------------------------------- errors
def _one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_error_non_existent_path(tmp_path):
    with pytest.raises(L1CError) as e:
        open_l1c(tmp_path / "nothing.SAFE")
    assert "nothing.SAFE" in _one_line(e) and "does not exist" in str(e.value)


def test_error_missing_band_and_malformed_mtd(small_l1c_safe, tmp_path):
    copy = tmp_path / small_l1c_safe.name
    shutil.copytree(small_l1c_safe, copy)
    victim = next((copy / "GRANULE").glob("*/IMG_DATA/*_B03.jp2"))
    victim.unlink()
    with pytest.raises(L1CError) as e:
        open_l1c(copy)
    assert victim.name in _one_line(e) and "B03" in str(e.value)
    (copy / "MTD_MSIL1C.xml").write_text("<n1:Level-1C_User_Product><General_Info>", encoding="utf-8")
    with pytest.raises(L1CError) as e:
        open_l1c(copy / "MTD_MSIL1C.xml")
    assert "MTD_MSIL1C.xml" in _one_line(e) and "malformed XML" in str(e.value)


def test_error_not_a_product(tmp_path):
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(L1CError) as e:
        open_l1c(tmp_path)
    assert "MTD_MSIL1C.xml" in _one_line(e)
    old = tmp_path / "S2A_OPER_PRD_MSIL1C_PDMC_20160905T104813_R002_V20160905T005712_20160905T010424.SAFE"
    old.mkdir()
    with pytest.raises(L1CError, match="old-format"):
        open_l1c(old)


def test_error_l2a_input(shared_data):
    l2a = shared_data / REAL / "S2A_MSIL2A_20190212T192651_N0212_R013_T07HFE_20201007T160857.SAFE"
    if not l2a.is_dir():
        pytest.skip(f"{l2a} absent")
    with pytest.raises(L1CError) as e:
        open_l1c(l2a)
    assert "Level-2A" in _one_line(e) and l2a.name in str(e.value)


# ----------------------------------------------------------------------------------------- real metadata
def test_real_n0301_t46rer(shared_data):
    safe = shared_data / REAL / T46RER
    with pytest.raises(L1CError, match="band image B01 missing"):
        open_l1c(safe)                                            # metadata-only set: images absent
    p = open_l1c(safe / "MTD_MSIL1C.xml", check_images=False)
    assert (p.tile_id, p.mission_id, p.processing_baseline, p.relative_orbit, p.absolute_orbit) == \
        ("46RER", "S2A", "03.01", 133, 32448)
    assert p.u == 0.983841990384341 and p.bands["B01"].solar_irradiance == 1884.69 and not p.has_radiometric_offset
    assert p.epsg == 32646 and p.geopositions[10] == Geoposition(10, 499980, 3100020, 10, -10, 10980, 10980)
    assert p.cloud_coverage_percent == 88.2972 and p.datastrip_long_id.endswith("_N03.01")
    a = p.angles
    assert a.sun_zenith.shape == (23, 23) and a.sun_zenith[0, 0] == 27.2006 and a.sun_azimuth[22, 22] == 143.483
    assert a.mean_sun_zenith == 26.4931642669439 and a.mean_view_zenith["B01"] == 10.6680596147062
    assert set(a.view_zenith) == set(S2_BANDS)
    assert a.view_zenith["B01"][0, 0] == 8.69696                  # detector 11 (first listed)
    nan_merged = np.isnan(a.view_zenith["B04"]).sum()            # swath edge: detectors 11, 12 only
    assert 0 < nan_merged < 23 * 23 and nan_merged == np.isnan(a.view_azimuth["B04"]).sum()
    f = angle_fields(a, p.geopositions[60], shape=(183, 183), per_band=True)
    assert f["sun_zenith"].shape == (183, 183) and not np.isnan(f["view_zenith"]).any()
    assert abs(f["sun_zenith"][0, 0] - 27.2006) < 0.01 and 8 < f["view_zenith_B01"][0, 0] < 9
    assert p.qi_mask_paths["MSK_CLOUDS_B00"].suffix == ".gml"


def test_real_cloud_archive_name_without_n_field(shared_data):
    p = open_l1c(shared_data / REAL / T01LAC, check_images=False)
    assert p.tile_id == "01LAC" and p.epsg == 32701 and p.datatake_sensing == "20200717T221941"
    assert (p.geopositions[60].ulx, p.geopositions[60].uly) == mgrs.tile_ul("01LAC")
    assert p.datastrip_name == "DS_SGS__20200717T234135_S20200717T221944" and p.mtd_datastrip_path is None


@pytest.mark.parametrize("zip_name, tile, pb", [
    ("S2A_MSIL1C_20201031T004711_N0209_R102_T53JQJ_20201031T022859.zip", "53JQJ", "02.09"),
    ("S2A_MSIL1C_20210713T032051_N0301_R032_T48LWP_20210713T054224.zip", "48LWP", "03.01")])
def test_real_complete_safe_sets(shared_data, tmp_path, zip_name, tile, pb):
    with zipfile.ZipFile(shared_data / "eodatasets-s2-l1c-safe-metadata" / zip_name) as z:
        z.extractall(tmp_path)
    safe = next(tmp_path.glob("*.SAFE"))
    with pytest.raises(L1CError, match="20x20 pixels"):            # eodatasets' placeholder images are 20x20
        open_l1c(safe)
    p = open_l1c(safe, check_images=False)                         # the metadata alone
    assert (p.tile_id, p.processing_baseline) == (tile, pb) and p.mtd_datastrip_path.is_file()
    assert "AUX_ECMWFT" in p.aux_paths and (p.geopositions[10].ulx, p.geopositions[10].uly) == mgrs.tile_ul(tile)
    assert len([k for k in p.qi_mask_paths if k.startswith("MSK_DETFOO_")]) == 13


def test_toa_against_ukis_n0400_and_n0209(shared_data):
    d = shared_data / UKIS
    for stem, offset in (("S2B_MSIL1C_20220615T101559_N0400_R065_T32UPC_20220615T122549", -1000.0),
                         ("S2B_MSIL1C_20200406T101559_N0209_R065_T32UPC_20200406T130159", 0.0)):
        root = etree.parse(str(d / f"{stem}_MTD.xml")).getroot()
        q = float(root.find(".//{*}QUANTIFICATION_VALUE").text)
        offs = {int(e.get("band_id")): float(e.text) for e in root.iter("{*}RADIO_ADD_OFFSET")}
        dn = gdal.Open(str(d / f"{stem}.tif")).ReadAsArray()
        expected = gdal.Open(str(d / f"{stem}_toa.tif")).ReadAsArray()
        for i, b in enumerate(S2_BANDS):
            band = BandInfo(b, i, 10, 1.0, radio_add_offset=offs.get(i, 0.0))
            assert band.radio_add_offset == offset
            toa = toa_reflectance(dn[i], band, q)
            valid = dn[i] != 0                                    # ukis writes 0 where we write NaN
            np.testing.assert_allclose(toa[valid], expected[i][valid], atol=1e-6)
            assert np.isnan(toa[~valid]).all()


# ----------------------------------------------------------------------------------------- MGRS
# (tile, EPSG, ULX, ULY) from real MTD_TL Geoposition in /work/shared/data (L1C and L2A tile metadata).
REAL_TILES = [
    ("01CCV", 32701, 300000, 2000020), ("01KAB", 32701, 99960, 8200000), ("01LAC", 32701, 99960, 8300020),
    ("01UBT", 32601, 199980, 5800020), ("01VCG", 32601, 300000, 6700020), ("01WCP", 32601, 300000, 7400040),
    ("01WCS", 32601, 300000, 7700040), ("07HFE", 32707, 600000, 6500020), ("10SDG", 32610, 399960, 4200000),
    ("11SLT", 32611, 300000, 3800040), ("22HBD", 32722, 199980, 5900020), ("29UNU", 32629, 499980, 5900040),
    ("31UEQ", 32631, 499980, 5500020), ("33XWJ", 32633, 499980, 8900040), ("34LBP", 32734, 199980, 8900020),
    ("34VEL", 32634, 499980, 6600000), ("37MGS", 32737, 699960, 9700000), ("46RER", 32646, 499980, 3100020),
    ("48LWP", 32748, 499980, 8900020), ("53JQJ", 32753, 699960, 6900040), ("55HFA", 32755, 600000, 6100000),
    ("55JGF", 32755, 699960, 6600040), ("60CWS", 32760, 499980, 1200040),
]


@pytest.mark.parametrize("tile, epsg, ulx, uly", REAL_TILES)
def test_mgrs_matches_real_geoposition(tile, epsg, ulx, uly):
    assert mgrs.tile_epsg(tile) == epsg
    assert mgrs.tile_ul(tile) == (ulx, uly)
    assert mgrs.tile_ul("T" + tile.lower()) == (ulx, uly)


def test_mgrs_real_files_agree(shared_data):
    tl = next((shared_data / "eodatasets-s2b-l1c-T55JGF-aws").glob("*/metadata.xml"))
    root = etree.parse(str(tl)).getroot()
    g = root.find(".//{*}Geoposition[@resolution='10']")
    assert mgrs.tile_ul("55JGF") == (float(g.find("ULX").text), float(g.find("ULY").text))


@pytest.mark.parametrize("bad", ["32IQM", "61TQM", "32TAM", "32TQW", "TQM", "32TQMX", "32AQM"])
def test_mgrs_rejects_invalid_ids(bad):
    with pytest.raises(mgrs.MgrsError):
        mgrs.tile_ul(bad)


def test_band_image_of_the_wrong_size_is_named(small_l1c_safe, tmp_path):
    """Issue 17 item 1: an image whose size does not match its MTD_TL grid stops the open with one line naming it
    (before, a broadcasting error deep in the processing)."""
    import shutil
    import numpy as np
    from sen2cor3.io.writers import write_raster
    from sen2cor3.products.l1c import L1CError, open_l1c
    safe = tmp_path / small_l1c_safe.name
    shutil.copytree(small_l1c_safe, safe)
    b02 = next(safe.glob("GRANULE/*/IMG_DATA/*_B02.jp2"))
    b02.unlink()
    write_raster(b02.with_suffix(""), np.ones((60, 60), np.uint16), geotransform=(0, 10, 0, 0, 0, -10), epsg=32632)
    with pytest.raises(L1CError) as exc:
        open_l1c(safe)
    msg = str(exc.value)
    assert b02.name in msg and "60x60" in msg and "120x120" in msg and "\n" not in msg
