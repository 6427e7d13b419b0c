"""DEM (Copernicus tiles), ESA CCI maps and the whole load_aux bundle: selection, warping, fallbacks."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from test_auxdata_helpers import EPSG_BE, GEO_BE, SHARED, lonlat_of, write_cams_nc, write_ecmwft_grib2, write_geotiff
from sen2cor3.auxdata import AuxDataError, aux_root_default, load_aux
from sen2cor3.auxdata.dem import copernicus_tile_names, flat_dem, load_dem, resolve_dem_directory
from sen2cor3.auxdata.esacci import SNOW_CONDITION_PATTERN, load_landcover, load_snow_condition, snow_condition_file
from sen2cor3.auxdata.grid import TileGrid

UTC = timezone.utc
WHEN = datetime(2023, 6, 6, 10, 30, tzinfo=UTC)
GRID = TileGrid.from_geoposition(GEO_BE, EPSG_BE)          # ~4.4-5.3 E, 50.9-51.4 N
CCI = {"esacci_landcover_map": "ESACCI-LC-L4-LCCS-Map-300m-P1Y-2015-v2.0.7.tif",
       "esacci_waterbodies_map": "ESACCI-LC-L4-WB-Map-150m-P13Y-2000-v4.0.tif",
       "esacci_snowcondition_map_dir": "ESACCI-LC-L4-Snow-Cond-500m-MONTHLY-2000-2012-v2.4"}


def _dem_tiles(folder: Path, code: str = "30", n: int = 120) -> list[Path]:
    """GLO-90-like tiles N50/N51 x E004/E005, height = 100 + 2000 * (lat - 50): rises northwards."""
    out = []
    for lat in (50, 51):
        for lon in (4, 5):
            px = 1.0 / n
            lat_c = lat + 1 - (np.arange(n) + 0.5) * px
            z = np.repeat((100.0 + 2000.0 * (lat_c - 50.0))[:, None], n, axis=1).astype(np.float32)
            name = f"Copernicus_DSM_COG_{code}_N{lat:02d}_00_E{lon:03d}_00_DEM.tif"
            out.append(write_geotiff(folder / name, z, (lon, px, 0, lat + 1, 0, -px)))
    return out


# ------------------------------------------------------------------------------------------------ DEM
def test_tile_names_from_footprint():
    assert copernicus_tile_names((4.4, 50.9, 5.3, 51.4)) == [
        "Copernicus_DSM_COG_30_N50_00_E004_00_DEM.tif", "Copernicus_DSM_COG_30_N50_00_E005_00_DEM.tif",
        "Copernicus_DSM_COG_30_N51_00_E004_00_DEM.tif", "Copernicus_DSM_COG_30_N51_00_E005_00_DEM.tif"]
    assert copernicus_tile_names((-0.5, -1.5, -0.2, -1.2), "COPERNICUS_30", cog=False) == [
        "Copernicus_DSM_10_S02_00_W001_00_DEM.tif"]
    across = copernicus_tile_names((179.5, 65.2, -179.6, 65.8))            # antimeridian
    assert [n[22:34] for n in across] == ["N65_00_E179_", "N65_00_W180_"]


def test_dem_warp_slope_aspect_and_type(tmp_path):
    folder = tmp_path / "dem" / "CopernicusDEM90"
    _dem_tiles(folder)
    dem, note = load_dem(GRID, tmp_path, "dem/CopernicusDEM90", "CDSE-GLO-90")
    assert dem is not None and dem.dem_type == "COPERNICUS_90" and len(dem.files) == 4, note
    _, lat = lonlat_of(GRID)
    inner = (slice(2, -2), slice(2, -2))
    np.testing.assert_allclose(dem.height_m[inner], (100.0 + 2000.0 * (lat - 50.0))[inner], atol=3.0)
    # 2000 m per degree of latitude (111.2 km) -> slope atan(0.018) = 1.03 deg, facing south (downslope 180)
    assert np.median(dem.slope_deg) == pytest.approx(1.03, abs=0.05)
    assert np.median(dem.aspect_deg) == pytest.approx(180.0, abs=3.0)
    np.testing.assert_allclose(dem.sky_view, (1 + np.cos(np.radians(dem.slope_deg))) / 2, rtol=1e-6)
    assert 1900 < dem.mean_height_m < 2900 and dem.mean_slope_deg > 0.9


def test_dem_directory_rules(tmp_path):
    assert resolve_dem_directory("NONE", tmp_path) is None
    assert resolve_dem_directory("/abs/dem", tmp_path) == Path("/abs/dem")
    (tmp_path / "home" / "dem" / "x").mkdir(parents=True)            # Sen2Cor home layout: <home>/dem/x
    assert resolve_dem_directory("dem/x", tmp_path / "home" / "aux_data") == tmp_path / "home" / "dem" / "x"
    dem, why = load_dem(GRID, tmp_path, "NONE", "CDSE-GLO-90")
    assert dem is None and "NONE" in why
    dem, why = load_dem(GRID, tmp_path, "dem/x", "NONE", mean_elevation_m=250.0)
    assert dem.is_flat and float(dem.height_m.mean()) == 250.0 and dem.slope_deg.max() == 0.0


@pytest.mark.parametrize("case", ["missing", "empty", "no_tile", "corrupt", "zeros"])
def test_dem_failures_fallback_or_force_exit(tmp_path, case):
    folder = tmp_path / "dem90"
    if case != "missing":
        folder.mkdir()
    if case == "no_tile":
        write_geotiff(folder / "Copernicus_DSM_COG_30_N10_00_E010_00_DEM.tif", np.ones((4, 4), np.float32),
                      (10, 0.25, 0, 11, 0, -0.25))
    if case == "corrupt":
        (folder / "Copernicus_DSM_COG_30_N50_00_E004_00_DEM.tif").write_bytes(b"II*\x00broken")
    if case == "zeros":
        write_geotiff(folder / "Copernicus_DSM_COG_30_N50_00_E004_00_DEM.tif", np.zeros((8, 8), np.float32),
                      (4, 0.125, 0, 51, 0, -0.125))
    dem, why = load_dem(GRID, tmp_path, "dem90", "CDSE-GLO-90")
    assert dem is None and str(folder) in why and "\n" not in why
    with pytest.raises(AuxDataError) as exc:
        load_dem(GRID, tmp_path, "dem90", "CDSE-GLO-90", force_exit_on_dem_error=True)
    assert str(folder) in str(exc.value) and "\n" not in str(exc.value)


def test_truncated_dem_tile_named_and_flat(tmp_path):
    """Issue 18: a tile cut short (a broken download opens but cannot be decoded) falls back to flat terrain with
    one line naming that tile, or stops with that line under Force_Exit_On_DEM_Error; never an internal error."""
    tiles = _dem_tiles(tmp_path / "dem90")
    for t in tiles:                                   # as a broken download leaves them
        t.write_bytes(t.read_bytes()[: int(t.stat().st_size * 0.3)])
    dem, why = load_dem(GRID, tmp_path, "dem90", "CDSE-GLO-90")
    bad = next(t for t in tiles if t.name in why)
    assert dem is None and "flat terrain" in why and "cannot" in why and "\n" not in why
    with pytest.raises(AuxDataError, match=bad.name):
        load_dem(GRID, tmp_path, "dem90", "CDSE-GLO-90", force_exit_on_dem_error=True)


def test_glo30_preferred_and_missing_tiles_are_sea(tmp_path):
    folder = tmp_path / "dem"
    _dem_tiles(folder, code="30")
    _dem_tiles(folder, code="10", n=60)
    for p in folder.glob("Copernicus_DSM_COG_10_N5*_E005_*"):
        p.unlink()                                            # two GLO-30 tiles absent
    dem, note = load_dem(GRID, tmp_path, "dem", "CDSE-GLO-30")
    assert dem.dem_type == "COPERNICUS_30" and len(dem.files) == 2 and "absent" in note
    assert (dem.height_m == 0.0).any() and dem.height_m.max() > 1000.0


@pytest.mark.skipif(not (SHARED / "openeo-icor-smac-ac-reference" / "srtm" / "N51E005.SRTMGL1.hgt.zip").is_file(),
                    reason="real SRTM tile not in ../shared/data")
def test_real_srtm_tile_through_the_same_warp():
    from sen2cor3.auxdata.dem import terrain_from_height
    from sen2cor3.auxdata.grid import warp_to_grid
    zipped = SHARED / "openeo-icor-smac-ac-reference" / "srtm" / "N51E005.SRTMGL1.hgt.zip"
    src = f"/vsizip/{zipped}/N51E005.hgt"
    grid = TileGrid(32631, (650000.0, 300.0, 0.0, 5740000.0, 0.0, -300.0), (60, 60))   # inside N51 E005
    h = warp_to_grid(src, grid, "bilinear")
    assert np.isfinite(h).all() and 0.0 < np.median(h) < 200.0          # Campine / Limburg lowlands
    slope, aspect, _ = terrain_from_height(h, grid)
    assert 0.0 <= float(np.median(slope)) < 5.0 and 0.0 <= aspect.min() and aspect.max() <= 360.0


# ------------------------------------------------------------------------------------------------ ESA CCI
def _cci_tree(root: Path) -> None:
    lc = np.full((240, 240), 10, np.uint8)
    lc[:, 120:] = 190                                         # urban east of 5.0 E
    write_geotiff(root / CCI["esacci_landcover_map"], lc, (4.0, 1 / 120, 0, 52.0, 0, -1 / 120), nodata=0)
    wb = np.ones((480, 480), np.uint8)
    wb[240:, :] = 2                                           # water south of 51.0 N
    write_geotiff(root / CCI["esacci_waterbodies_map"], wb, (4.0, 1 / 240, 0, 52.0, 0, -1 / 240))
    for m in range(1, 13):
        write_geotiff(root / CCI["esacci_snowcondition_map_dir"] / SNOW_CONDITION_PATTERN.format(month=m),
                      np.full((20, 20), m, np.uint8), (0.0, 0.5, 0, 60.0, 0, -0.5))


def test_cci_maps_nearest_and_month(tmp_path):
    _cci_tree(tmp_path)
    lon, lat = lonlat_of(GRID)
    lc, _ = load_landcover(tmp_path, CCI["esacci_landcover_map"], GRID)
    assert set(np.unique(lc.data)) == {10, 190} and lc.coverage == 1.0
    far = np.abs(lon - 5.0) > 0.02
    assert ((lc.data[far] == 190) == (lon[far] > 5.0)).all()
    from sen2cor3.auxdata.esacci import load_water_bodies
    wb, _ = load_water_bodies(tmp_path, CCI["esacci_waterbodies_map"], GRID)
    far = np.abs(lat - 51.0) > 0.01
    assert ((wb.data[far] == 2) == (lat[far] < 51.0)).all()
    assert snow_condition_file(tmp_path, CCI["esacci_snowcondition_map_dir"], 6).name.endswith("200006-2.4.tif")
    snc, _ = load_snow_condition(tmp_path, CCI["esacci_snowcondition_map_dir"], 6, GRID)
    assert (snc.data == 6).all()


@pytest.mark.parametrize("case", ["absent", "corrupt", "outside"])
def test_cci_fallbacks(tmp_path, case):
    p = tmp_path / CCI["esacci_landcover_map"]
    if case == "corrupt":
        p.write_bytes(b"II*\x00nope")
    if case == "outside":
        write_geotiff(p, np.full((10, 10), 50, np.uint8), (100.0, 0.1, 0, 10.0, 0, -0.1), nodata=0)
    m, why = load_landcover(tmp_path, p.name, GRID)
    assert m is None and p.name in why and "\n" not in why


_C3S = SHARED / "c3s-esacci-lc-300m-sample" / "C3S-LC-L4-LCCS-Map-300m-P1Y-2018-v2.1.1-N79W180-lccs_class.tif"


@pytest.mark.skipif(not _C3S.is_file(), reason="real C3S/CCI LC tile not in ../shared/data")
def test_real_cci_tile():
    # N79W180 covers 68.75-90 N, 180-168.75 W (4050 px of 1/360 deg): 110 km east of UTM 1N CM at 79 N is inside
    grid = TileGrid(32601, (500000.0, 1830.0, 0.0, 8900040.0, 0.0, -1830.0), (60, 60))
    m, why = load_landcover(_C3S.parent, _C3S.name, grid)
    assert m is not None, why
    assert (m.data == 210).all() and m.coverage == 1.0


# ------------------------------------------------------------------------------------------------ bundle
def _full_tree(root: Path) -> Path:
    write_cams_nc(root / "ECMWF" / "daily" / "20230606" /
                  "CAMS_archive_aod550_tcwv_msl_gtco3_analysis_0H_6H_12H_18H_2023-06-06.nc",
                  datetime(2023, 6, 6, tzinfo=UTC), lat_slope=0.0)
    _dem_tiles(root / "dem" / "CopernicusDEM90")
    _cci_tree(root)
    return root


def _load(root, **kw):
    args = dict(dem_directory="dem/CopernicusDEM90", dem_reference="CDSE-GLO-90", force_exit_on_dem_error=False,
                l1c_aux_paths={}, cci_names=CCI)
    args.update(kw)
    return load_aux(root, EPSG_BE, GEO_BE, WHEN, **args)


def test_load_aux_everything_present(tmp_path, caplog):
    root = _full_tree(tmp_path)
    ecmwft = write_ecmwft_grib2(tmp_path / "AUX_ECMWFT", (4.0, 0.2, 0.0, 52.0, 0.0, -0.125), ozone_du=290.0)
    with caplog.at_level(logging.INFO, logger="sen2cor3.auxdata"):
        b = _load(root, l1c_aux_paths={"AUX_ECMWFT": ecmwft}, cams_factor=5)
    assert b.warnings == () and not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert b.cams_grid.shape == (10, 10) and b.aot550.shape == (10, 10)
    np.testing.assert_allclose(b.aot550, 0.275, atol=1e-4)               # 10:30 between 0.2 (6h) and 0.3 (12h)
    md = b.metadata()
    assert md["AOT_SOURCE"] == "CAMS_DAILY" and md["WV_SOURCE"] == "CAMS_DAILY"
    assert md["OZONE_SOURCE"] == "AUX_ECMWFT" and md["OZONE_VALUE"] == "290.0"
    assert md["DEM_TYPE"] == "COPERNICUS_90" and float(md["DEM_MEAN_ALTITUDE_KM"]) > 1.9
    assert b.water_bodies is not None and b.landcover is not None and (b.snow_condition.data == 6).all()
    assert "CAMS_archive_aod550_tcwv_msl_gtco3_analysis_0H_6H_12H_18H_2023-06-06.nc" in md["AUX_DATA_FILES"]
    # ozone order for Hyper MS / Landsat, and a configured value
    assert _load(root, ozone_order=("CAMS",)).ozone_source == "CAMS"
    cfg = _load(root, ozone_content=370)
    assert (cfg.ozone_source, cfg.ozone_du) == ("CONFIG", 370.0)


def test_load_aux_nothing_present(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="sen2cor3.auxdata"):
        b = _load(tmp_path, mean_elevation_m=120.0)
    assert b.aot550 is None and b.aot_source == "NONE" and b.tcwv_gcm2 is None
    assert (b.ozone_du, b.ozone_source) == (331.0, "OTHER")
    assert b.dem is None and b.terrain.is_flat and float(b.terrain.height_m.mean()) == 120.0
    assert b.landcover is None and b.metadata()["DEM_TYPE"] == "NA"
    items = [w.split(":")[0] for w in b.warnings]
    assert items == ["CAMS", "AOT", "OZONE", "DEM"]                      # one line per fallback
    assert len(caplog.records) == 4 and all("\n" not in r.getMessage() for r in caplog.records)
    with pytest.raises(AuxDataError):
        _load(tmp_path, force_exit_on_dem_error=True)


def test_load_aux_corrupt_and_outside(tmp_path, caplog):
    root = _full_tree(tmp_path)
    (root / CCI["esacci_landcover_map"]).write_bytes(b"II*\x00broken")
    write_geotiff(root / CCI["esacci_waterbodies_map"], np.full((8, 8), 2, np.uint8), (100, 0.1, 0, 10, 0, -0.1),
                  nodata=0)
    daily = next((root / "ECMWF" / "daily").rglob("*.nc"))
    daily.write_bytes(b"CDF\x01corrupt")
    bad_grib = tmp_path / "AUX_CAMSFO"
    bad_grib.write_bytes(b"GRIBxx")
    with caplog.at_level(logging.WARNING, logger="sen2cor3.auxdata"):
        b = _load(root, l1c_aux_paths={"AUX_CAMSFO": bad_grib})
    items = [w.split(":")[0] for w in b.warnings]
    assert items == ["AUX_CAMSFO", "CAMS", "AOT", "OZONE", "ESACCI_LANDCOVER_MAP", "ESACCI_WATERBODIES_MAP"]
    assert b.dem is not None and b.snow_condition is not None          # the rest still used
    assert len(caplog.records) == len(items)


def test_aux_root_default(monkeypatch, tmp_path):
    monkeypatch.delenv("SEN2COR_AUX_DATA", raising=False)
    assert aux_root_default() == Path(__file__).resolve().parents[1] / "aux_data"
    monkeypatch.setenv("SEN2COR_AUX_DATA", str(tmp_path))
    assert aux_root_default() == tmp_path


def test_flat_dem_shape():
    f = flat_dem(GRID, 42.0)
    assert f.height_m.shape == GRID.shape and (f.sky_view == 1.0).all() and f.is_flat


@pytest.mark.parametrize("shape, res", [((40, 55), 20.0), ((2, 9), 60.0), ((9, 2), 10.0), ((3, 3), 20.0)])
def test_horn_equals_gdal_dem_processing(shape, res):
    """The one slope/aspect implementation (SC, AC, this reader) is GDAL's DEMProcessing with -compute_edges
    (what Sen2Cor runs), edges and corners included, aspect 0 on flat ground (-zero_for_flat)."""
    from osgeo import gdal
    from sen2cor3.auxdata.dem import terrain_from_height
    from sen2cor3.auxdata.grid import mem_dataset
    rng = np.random.default_rng(7)
    h = (800 + 150 * rng.random(shape)).astype(np.float32)
    h[: shape[0] // 2, : shape[1] // 2] = 800.0                 # a flat patch
    grid = TileGrid(32631, (600000.0, res, 0.0, 5700000.0, 0.0, -res), shape)
    src = mem_dataset(h, grid.geotransform, grid.epsg, nodata=None)
    ref = {m: gdal.DEMProcessing("", src, m, format="MEM", computeEdges=True, **kw).ReadAsArray()
           for m, kw in (("slope", {}), ("aspect", {"zeroForFlat": True}))}
    slope, aspect, sky = terrain_from_height(h, grid)
    np.testing.assert_allclose(slope, ref["slope"], atol=2e-3)
    steep = ref["slope"] > 0.5
    np.testing.assert_allclose(((aspect - ref["aspect"] + 180.0) % 360.0 - 180.0)[steep], 0.0, atol=2e-2)
    assert (aspect[ref["slope"] == 0] == 0).all() and (ref["aspect"][ref["slope"] == 0] == 0).all()
    np.testing.assert_allclose(sky, (1 + np.cos(np.radians(slope))) / 2, rtol=1e-6)
