"""End-to-end scene classification: validity, modes, QI percentages, resampling, scenes."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from sen2cor3.sc import downsample_scl_20_to_60, scl_percentages, upsample_nearest
from test_sc_common import BANDS, SHARED, SPECTRA, run, sc_config, uniform_toa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

BETSIBOKA = SHARED / "data/s2cloudless-betsiboka-l1c-13band/input_arrays.npz"


def _spectrum(**bands) -> dict[str, float]:
    base = dict(zip(BANDS, SPECTRA["vegetation"]))
    base.update(bands)
    return base


def _uniform(spec: dict, shape=(24, 24)):
    return {b: np.full(shape, v, np.float32) for b, v in spec.items()}


# ----------------------------------------------------------------------------- validity
def test_nodata_and_saturated():
    toa = uniform_toa("vegetation")
    toa["B11"][0, :5] = 0.0                       # any band 0 -> no data
    nodata = np.zeros((24, 24), bool)
    nodata[-1, :] = True
    sat = np.zeros((24, 24), bool)
    sat[5, 5:8] = True
    on = run(toa, nodata=nodata, saturated=sat, qlt_mask_handling=True)
    off = run(toa, nodata=nodata, saturated=sat, qlt_mask_handling=False)
    assert np.all(on.scl[0, :5] == 0) and np.all(on.scl[-1] == 0)
    assert np.all(on.scl[5, 5:8] == 1) and np.all(off.scl[5, 5:8] == 4)
    assert on.cloud_prob[0, :5].max() == 0 and on.snow_prob[-1].max() == 0


def test_all_invalid_tile():
    toa = uniform_toa("vegetation")
    out = run(toa, nodata=np.ones((24, 24), bool))
    assert np.all(out.scl == 0) and out.cloud_prob.max() == 0


# ----------------------------------------------------------------------------- classic vs default
def test_leftovers_unclassified_classic_not_vegetated_default():
    """Bright, SWIR-bright surface no test claims: 2.9 leaves it UNCLASSIFIED, 3.x NOT_VEGETATED."""
    spec = _spectrum(B02=0.36, B03=0.28, B04=0.27, B05=0.28, B8A=0.30, B11=0.50, B12=0.35, B10=0.003)
    assert np.all(run(_uniform(spec), classic=True).scl == 7)
    assert np.all(run(_uniform(spec), classic=False).scl == 5)


def test_thick_cirrus_probability():
    """B10 >= T2_B10 gives MEDIUM_PROBA_CLOUDS in both; 3.x also sets the cloud probability to 65 %."""
    spec = _spectrum(B10=0.05)
    c, d = run(_uniform(spec), classic=True), run(_uniform(spec), classic=False)
    assert np.all(c.scl == 8) and np.all(d.scl == 8)
    assert np.all(c.cloud_prob == 0) and np.all(d.cloud_prob == 65)


def test_classic_and_default_agree_on_plain_surfaces():
    for name in ("vegetation", "clear_water", "bright_soil", "thick_cloud"):
        toa = uniform_toa(name)
        a, b = run(toa, classic=True), run(toa, classic=False)
        assert np.array_equal(a.scl, b.scl), name


DARK = _spectrum(B02=0.06, B03=0.06, B04=0.05, B05=0.07, B8A=0.10, B11=0.05, B12=0.03, B10=0.001)


def test_dem_cast_shadow_is_dark_features_in_default_mode():
    n = 80
    toa = _uniform(DARK, (n, n))
    dem = np.zeros((n, n), np.float32)
    dem[50:53, :] = 200.0                          # wall; sun 40 deg from the zenith in the south
    out = run(toa, classic=False, dem=dem, sza=40.0, saa=180.0)
    assert np.all(out.scl[43:50, 10:70] == 2)      # cast shadow (about 8 px) behind the wall
    assert np.all(out.scl[5:30, 10:70] == 7)       # lit dark pixels: unclassified (SZA < 45)
    no_dem = run(toa, classic=False, sza=40.0, saa=180.0)
    assert np.all(no_dem.scl == 2)                 # no DEM: the radiometric dark-feature class stays


def test_cci_water_bodies_recover_dark_features():
    toa = _uniform(DARK)
    wbi = np.zeros((24, 24), np.uint8)
    wbi[:, :12] = 2
    for classic in (True, False):
        out = run(toa, classic=classic, esacci={"water_bodies": wbi})
        # 3.x finally grows class 2 by one pixel (cross dilation + 3x3 median) over its neighbours
        edge = 12 if classic else 11
        assert np.all(out.scl[:, :edge] == 6) and not np.any(out.scl[:, 12:] == 6)


def test_cci_snow_condition_reverts_snow():
    """3.x: snow where the CCI climatology never sees snow becomes medium-probability cloud."""
    snc = np.zeros((24, 24), np.uint8)
    snc[:, :12] = 50
    # sun in the west: the reverted "cloud" half casts its projected shadow off the image
    c = run(uniform_toa("snow"), classic=True, esacci={"snow_condition": snc}, saa=270.0)
    d = run(uniform_toa("snow"), classic=False, esacci={"snow_condition": snc}, saa=270.0)
    assert np.all(c.scl == 11)
    assert np.all(d.scl[:, 12:] == 8) and np.all(d.scl[:, :12] == 11) and np.all(d.cloud_prob[:, 12:] == 50)


def test_median_filter_option():
    toa = uniform_toa("vegetation")
    toa["B10"][10, 10] = 0.05                      # one thick-cirrus pixel
    assert run(toa).scl[10, 10] == 8
    assert run(toa, median_filter=3).scl[10, 10] == 4


# ----------------------------------------------------------------------------- QI and resampling
def test_scl_percentages():
    _, cl = sc_config()
    scl = np.full((10, 10), 4, np.uint8)
    scl[0, :] = 0             # 10 no data
    scl[1, :5] = 1            # 5 saturated
    scl[2, :] = 9             # 10 high proba
    scl[3, :5] = 8            # 5 medium
    scl[3, 5:] = 10           # 5 cirrus
    scl[4, :5] = 6            # 5 water
    scl[4, 5:] = 11           # 5 snow
    scl[5, :5] = 3            # 5 shadow
    q = scl_percentages(scl, cl)
    valid = 85.0
    assert q["NODATA_PIXEL_PERCENTAGE"] == pytest.approx(10.0)
    assert q["SATURATED_DEFECTIVE_PIXEL_PERCENTAGE"] == pytest.approx(5 / 90 * 100)
    assert q["HIGH_PROBA_CLOUDS_PERCENTAGE"] == pytest.approx(10 / valid * 100)
    assert q["CLOUDY_PIXEL_PERCENTAGE"] == pytest.approx(20 / valid * 100)
    assert q["VEGETATION_PERCENTAGE"] == pytest.approx(50 / valid * 100)
    assert q["CLOUDY_PIXEL_OVER_LAND_PERCENTAGE"] == pytest.approx(20 / (20 + 50 + 5) * 100)
    assert q["CAST_SHADOW_PERCENTAGE"] == q["DARK_FEATURES_PERCENTAGE"] == 0.0
    assert q["DEGRADED_MSI_DATA_PERCENTAGE"] == 0.0
    classes = [k for k in q if k.endswith("_PERCENTAGE") and k not in (
        "NODATA_PIXEL_PERCENTAGE", "SATURATED_DEFECTIVE_PIXEL_PERCENTAGE", "CLOUDY_PIXEL_PERCENTAGE",
        "CLOUDY_PIXEL_OVER_LAND_PERCENTAGE", "DEGRADED_MSI_DATA_PERCENTAGE", "CAST_SHADOW_PERCENTAGE")]
    assert sum(q[k] for k in classes) == pytest.approx(100.0)


def test_resampling():
    scl = np.full((9, 9), 4, np.uint8)
    scl[0:3, 0:3] = 9
    scl[4, 4] = 6                                  # isolated pixel: removed by the 3x3 median
    s60 = downsample_scl_20_to_60(scl)
    assert s60.shape == (3, 3) and s60[0, 0] == 9 and s60[1, 1] == 4
    up = upsample_nearest(s60, 2)
    assert up.shape == (6, 6) and np.all(up[:2, :2] == 9)


# ----------------------------------------------------------------------------- scenes
@pytest.mark.parametrize("classic", [True, False])
def test_synthetic_scene_agreement(classic):
    from sc_benchmark import TRUTH, synthetic_scene
    toa, truth = synthetic_scene(400, seed=1, sza=35.0, saa=150.0)
    out = run(toa, classic=classic, sza=35.0, saa=150.0)
    assert (out.scl == truth).mean() >= 0.9
    for name, code in TRUTH.items():
        recall = (out.scl[truth == code] == code).mean()
        # classic Sen2Cor misses shadows over bright soil (its reference-spectrum test is strict)
        floor = 0.4 if (classic and name == "shadow") else 0.9
        assert recall >= floor, (name, recall)


def _sun(doy: int, hour_utc: float, lat: float, lon: float) -> tuple[float, float]:
    """Approximate solar zenith/azimuth (NOAA low-precision formulas)."""
    g = 2 * math.pi / 365 * (doy - 1 + (hour_utc - 12) / 24)
    eqt = 229.18 * (0.000075 + 0.001868 * math.cos(g) - 0.032077 * math.sin(g)
                    - 0.014615 * math.cos(2 * g) - 0.040849 * math.sin(2 * g))
    dec = (0.006918 - 0.399912 * math.cos(g) + 0.070257 * math.sin(g) - 0.006758 * math.cos(2 * g)
           + 0.000907 * math.sin(2 * g) - 0.002697 * math.cos(3 * g) + 0.00148 * math.sin(3 * g))
    ha = math.radians((hour_utc * 60 + eqt + 4 * lon) / 4 - 180)
    la = math.radians(lat)
    z = math.acos(math.sin(la) * math.sin(dec) + math.cos(la) * math.cos(dec) * math.cos(ha))
    az = math.degrees(math.atan2(math.sin(ha), math.cos(ha) * math.sin(la) - math.tan(dec) * math.cos(la))) + 180
    return math.degrees(z), az % 360


# Overall agreement reached with the s2cloudless mask (cloud = SCL 8, 9, 10): 0.905 classic,
# 0.902 default.  The floors below fail on any regression.
BETSIBOKA_FLOOR = {True: 0.90, False: 0.90}


@pytest.mark.parametrize("classic", [True, False])
def test_betsiboka_cloud_mask_vs_s2cloudless(classic):
    if not BETSIBOKA.exists():
        pytest.skip(f"real L1C sample absent ({BETSIBOKA}): /work/shared not mounted")
    d = np.load(BETSIBOKA)
    im, ref = d["s2_im"][0], d["cl_mask"][0].astype(bool)
    toa = {b: np.ascontiguousarray(im[..., i]) for i, b in enumerate(BANDS)}
    # 2017-12-15 07:12 UTC, scene centre; the grid is about 70 m, classified as 60 m
    sza, saa = _sun(349, 7.2, -15.87, 46.33)
    out = run(toa, classic=classic, sza=sza, saa=saa, res=60.0)
    ours = np.isin(out.scl, (8, 9, 10))
    assert (ours == ref).mean() >= BETSIBOKA_FLOOR[classic]


def test_no_official_scl_pair():
    pytest.skip("no real L1C with an official Sen2Cor SCL of the same scene in /work/shared/data "
                "(INDEX.md: the L2A products there have no L1C pair)")
