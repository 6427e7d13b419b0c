"""CAMS / ECMWF readers: file selection, time interpolation, units, warping, fallbacks, real GRIB samples."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from test_auxdata_helpers import (EPSG_BE, EPSG_IE, GEO_BE, GEO_IE, SHARED, lonlat_of as _lonlat, write_cams_nc,
                                  write_ecmwft_grib2)
from sen2cor3.auxdata.cams import (OZONE_KGM2_TO_DU, find_cams_daily, find_cams_monthly, find_cams_nrt, load_cams,
                                   read_cams_netcdf, read_l1c_grib)
from sen2cor3.auxdata.grid import AuxDataError, TileGrid, mem_dataset, warp_to_grid

UTC = timezone.utc
DAY = datetime(2023, 6, 6, tzinfo=UTC)
T0900 = datetime(2023, 6, 6, 9, 0, tzinfo=UTC)


def _daily(root: Path, day=DAY, **kw) -> Path:
    return write_cams_nc(root / "ECMWF" / "daily" / f"{day:%Y%m%d}" /
                         f"CAMS_archive_aod550_tcwv_msl_gtco3_analysis_0H_6H_12H_18H_{day:%Y-%m-%d}.nc", day, **kw)


# ------------------------------------------------------------------------------------------------ grid
def test_tile_grid_and_linear_warp():
    grid = TileGrid.from_geoposition(GEO_BE, EPSG_BE)
    assert grid.shape == (50, 50) and grid.geotransform == (600000.0, 1200.0, 0.0, 5700000.0, 0.0, -1200.0)
    coarse = grid.coarsened(7)
    assert coarse.shape == (8, 8) and coarse.geotransform[1] == 8400.0
    lon0, lat0, lon1, lat1 = grid.lonlat_bounds()
    assert 4.3 < lon0 < lon1 < 5.4 and 50.8 < lat0 < lat1 < 51.5
    # a field linear in lon and lat, on a 0.05 deg lon/lat grid, warps bilinearly to the same linear values
    gt = (3.0, 0.05, 0.0, 53.0, 0.0, -0.05)
    lon_c = 3.0 + (np.arange(80) + 0.5) * 0.05
    lat_c = 53.0 - (np.arange(80) + 0.5) * 0.05
    field = 2.0 * lon_c[None, :] - 3.0 * lat_c[:, None]
    out = warp_to_grid(mem_dataset(field, gt), grid, "bilinear")
    lon, lat = _lonlat(grid)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, 2.0 * lon - 3.0 * lat, atol=5e-3)   # GDAL approximate transformer


def test_warp_outside_is_nan_and_errors_are_one_line(tmp_path):
    grid = TileGrid.from_geoposition(GEO_BE, EPSG_BE)
    far = warp_to_grid(mem_dataset(np.ones((10, 10)), (100.0, 0.1, 0, 10.0, 0, -0.1)), grid, "nearest")
    assert np.isnan(far).all()
    bad = tmp_path / "broken.tif"
    bad.write_bytes(b"II*\x00garbage")
    with pytest.raises(AuxDataError) as exc:
        warp_to_grid(bad, grid)
    assert "broken.tif" in str(exc.value) and "\n" not in str(exc.value)


# ------------------------------------------------------------------------------------------------ selection
def test_file_selection(tmp_path):
    assert find_cams_daily(tmp_path, T0900) is None and find_cams_monthly(tmp_path, T0900) is None
    daily = _daily(tmp_path)
    assert find_cams_daily(tmp_path, T0900) == daily
    assert find_cams_daily(tmp_path, datetime(2023, 6, 7, 0, 30, tzinfo=UTC)) is None
    m = tmp_path / "ECMWF" / "monthly" / "202306"
    m.mkdir(parents=True)
    for n in ("b.nc", "a.nc", "c.txt"):
        (m / n).write_bytes(b"")
    assert find_cams_monthly(tmp_path, T0900) == m / "a.nc"
    # NRT: 09:30 -> steps 9 and 10 of the 00 UTC run; 00:30 -> step 12 of the previous day's 12 UTC run
    nrt = tmp_path / "ECMWF" / "CAMS_NREALTIME"
    for run, step in (("2023060600", 9), ("2023060600", 10), ("2023060512", 12), ("2023060600", 1)):
        (nrt / run).mkdir(parents=True, exist_ok=True)
        (nrt / run / f"z_cams_c_ecmf_{run}0000_prod_fc_sfc_{step:03d}_aod550.nc").write_bytes(b"")
    a, b = find_cams_nrt(tmp_path, datetime(2023, 6, 6, 9, 30, tzinfo=UTC))
    assert a.name.endswith("_009_aod550.nc") and b.name.endswith("_010_aod550.nc")
    a, b = find_cams_nrt(tmp_path, datetime(2023, 6, 6, 0, 30, tzinfo=UTC))
    assert "2023060512" in a.name and a.name.endswith("_012_aod550.nc") and b.name.endswith("_001_aod550.nc")
    assert find_cams_nrt(tmp_path, datetime(2023, 6, 6, 20, tzinfo=UTC)) is None


# ------------------------------------------------------------------------------------------------ reading
@pytest.mark.parametrize("geo,epsg", [(GEO_BE, EPSG_BE), (GEO_IE, EPSG_IE)])   # east and west of Greenwich
def test_daily_time_interpolation_units_and_space(tmp_path, geo, epsg):
    grid = TileGrid.from_geoposition(geo, epsg)
    path = _daily(tmp_path, lat_slope=0.002, lon_slope=0.001)
    f = read_cams_netcdf(path, T0900, grid)
    lon, lat = _lonlat(grid)
    assert f.source == "CAMS_DAILY" and f.files == (path,)
    assert f.times == (datetime(2023, 6, 6, 6, tzinfo=UTC), datetime(2023, 6, 6, 12, tzinfo=UTC))
    np.testing.assert_allclose(f.aot550, 0.25 + 0.002 * lat + 0.001 * lon, atol=1e-4)   # halfway 0.2 -> 0.3
    np.testing.assert_allclose(f.tcwv_gcm2, 2.0, atol=1e-4)                            # 20 kg m-2 -> 2 g cm-2
    np.testing.assert_allclose(f.ozone_du, 0.0068 * OZONE_KGM2_TO_DU, rtol=1e-4)        # ~317.4 DU
    np.testing.assert_allclose(f.msl_hpa, 1013.0, atol=1e-3)
    assert abs(f.mean("ozone_du") - 317.36) < 0.05
    # outside the analysis times: the end value, no extrapolation
    late = read_cams_netcdf(path, datetime(2023, 6, 6, 22, tzinfo=UTC), grid)
    np.testing.assert_allclose(late.aot550, 0.4 + 0.002 * lat + 0.001 * lon, atol=1e-4)


def test_fallback_order_and_reasons(tmp_path):
    grid = TileGrid.from_geoposition(GEO_BE, EPSG_BE).coarsened(10)
    f, notes = load_cams(tmp_path, T0900, grid)
    assert f is None and len(notes) == 3
    write_cams_nc(tmp_path / "ECMWF" / "monthly" / "202306" / "cams_monthly_202306.nc",
                  datetime(2023, 6, 1, tzinfo=UTC), aod=(0.5,), hours=(0,))
    f, notes = load_cams(tmp_path, T0900, grid)
    assert f.source == "CAMS_MONTHLY" and np.nanmean(f.aot550) == pytest.approx(0.5 + 0.002 * 51.25, abs=2e-3)
    corrupt = _daily(tmp_path)
    corrupt.write_bytes(b"CDF\x01 not really")                   # corrupt daily -> monthly, with the reason
    f, notes = load_cams(tmp_path, T0900, grid)
    assert f.source == "CAMS_MONTHLY" and any("CAMS_DAILY" in n and corrupt.name in n for n in notes)


def test_outside_and_missing_variables(tmp_path):
    grid = TileGrid.from_geoposition(GEO_BE, EPSG_BE).coarsened(10)
    p = write_cams_nc(tmp_path / "asia.nc", DAY, region=(100.0, 10.0, 120.0, 30.0), step_deg=1.0)
    with pytest.raises(AuxDataError, match="does not cover"):
        read_cams_netcdf(p, T0900, grid)
    only_aod = write_cams_nc(tmp_path / "aod.nc", DAY, variables={"aod550"})
    f = read_cams_netcdf(only_aod, T0900, grid)
    assert f.aot550 is not None and f.tcwv_gcm2 is None and f.ozone_du is None


def test_nrt_pair_interpolated(tmp_path):
    grid = TileGrid.from_geoposition(GEO_BE, EPSG_BE).coarsened(10)
    run = tmp_path / "ECMWF" / "CAMS_NREALTIME" / "2023060600"
    for step, aod in ((9, 0.2), (10, 0.4)):
        t = datetime(2023, 6, 6, step, tzinfo=UTC)
        write_cams_nc(run / f"z_cams_c_ecmf_2023060600000000_prod_fc_sfc_{step:03d}_aod550.nc".replace(
            "2023060600000000", "20230606000000"), t, aod=(aod,), hours=(0,), lat_slope=0.0, variables={"aod550"})
    f, _ = load_cams(tmp_path, datetime(2023, 6, 6, 9, 15, tzinfo=UTC), grid)
    assert f.source == "CAMS_NRT" and len(f.files) == 2
    np.testing.assert_allclose(f.aot550, 0.25, atol=1e-4)


def test_l1c_grib2_ecmwft(tmp_path):
    grid = TileGrid.from_geoposition(GEO_BE, EPSG_BE).coarsened(5)
    p = write_ecmwft_grib2(tmp_path / "AUX_ECMWFT", (4.0, 0.2, 0.0, 52.0, 0.0, -0.125), shape=(9, 9))
    f = read_l1c_grib(p, T0900, grid, "AUX_ECMWFT")
    assert f.source == "AUX_ECMWFT" and f.aot550 is None
    np.testing.assert_allclose(f.tcwv_gcm2, 1.4, atol=1e-5)
    np.testing.assert_allclose(f.ozone_du, 300.0, atol=1e-3)         # GRIB2 TCIOZ is already in DU
    np.testing.assert_allclose(f.msl_hpa, 1010.0, atol=1e-3)
    nc = tmp_path / "not_grib"
    nc.write_bytes(b"GRIB but not really")
    with pytest.raises(AuxDataError):
        read_l1c_grib(nc, T0900, grid, "AUX_ECMWFT")


# ------------------------------------------------------------------------------------------------ real samples
_T29UNU = SHARED / "stactools-s2-l2a-T29UNU" / "S2A_MSIL2A_20221005T115411_N0400_R023_T29UNU_20221005T164454.SAFE" \
    / "GRANULE" / "L2A_T29UNU_A038058_20221005T115407" / "AUX_DATA"


@pytest.mark.skipif(not (_T29UNU / "AUX_ECMWFT").is_file(), reason="real T29UNU AUX_DATA not in ../shared/data")
def test_real_t29unu_ecmwft_and_camsfo():
    # tile T29UNU (MTD_TL): UL 499980 / 5900040, EPSG 32629; a 1.83 km grid here
    from sen2cor3.products.model import Geoposition
    grid = TileGrid.from_geoposition(Geoposition(60, 499980.0, 5900040.0, 1830.0, -1830.0, 60, 60), 32629)
    when = datetime(2022, 10, 5, 11, 54, 11, tzinfo=UTC)
    e = read_l1c_grib(_T29UNU / "AUX_ECMWFT", when, grid, "AUX_ECMWFT")
    assert 300.0 < e.mean("ozone_du") < 335.0                 # TCO3 0.0066-0.0071 kg m-2 -> 308-329 DU
    assert 1.2 < np.nanmean(e.tcwv_gcm2) < 1.6 and 1000.0 < np.nanmean(e.msl_hpa) < 1010.0
    c = read_l1c_grib(_T29UNU / "AUX_CAMSFO", when, grid, "AUX_CAMSFO")
    assert c.aot550 is not None and 0.07 < np.nanmin(c.aot550) <= np.nanmax(c.aot550) < 0.17
    assert np.isfinite(c.aot550).all() and np.isfinite(e.ozone_du).all()    # the subsets cover the tile


_T55JGF = next(iter(sorted((SHARED / "eodatasets-s2b-l1c-T55JGF-aws").glob("*/auxiliary/ECMWFT"))), None) \
    if (SHARED / "eodatasets-s2b-l1c-T55JGF-aws").is_dir() else None


@pytest.mark.skipif(_T55JGF is None, reason="real T55JGF ECMWFT not in ../shared/data")
def test_real_t55jgf_ecmwft():
    from sen2cor3.products.model import Geoposition
    grid = TileGrid.from_geoposition(Geoposition(60, 699960.0, 6600040.0, 1830.0, -1830.0, 60, 60), 32755)
    e = read_l1c_grib(_T55JGF, datetime(2018, 6, 17, 0, 17, tzinfo=UTC), grid, "AUX_ECMWFT")
    assert 320.0 < e.mean("ozone_du") < 345.0                 # 0.00704-0.00735 kg m-2
    assert 0.6 < np.nanmean(e.tcwv_gcm2) < 0.95


_CAMS_TIF = SHARED / "openeo-icor-smac-ac-reference" / "cams" / "CAMS_NRT_aod550_20170126T210000Z.tif"


@pytest.mark.skipif(not _CAMS_TIF.is_file(), reason="real CAMS NRT AOD grid not in ../shared/data")
def test_real_cams_nrt_grid_warps():
    # global 0.4 deg UInt16 (x 1e-4, nodata 65535) on -180.2..179.8: nearest is a 1:1 pick
    grid = TileGrid.from_geoposition(GEO_BE, EPSG_BE).coarsened(10)
    a = warp_to_grid(_CAMS_TIF, grid, "bilinear")
    assert np.isfinite(a).all() and 0.0 < a.mean() * 1e-4 < 2.0
