"""Spectral tests of Sen2Cor's scene classification, one function per test.

Each test is a pure function of TOA reflectances (float32, 0..1) and the GIPP thresholds
object (``thresholds.t1_b04`` ... as in ``L2A_CAL_SC_GIPP.xml``, lower-cased).  They return
confidences in 0..1 or boolean candidate masks; the order in which they are applied, and the
class bookkeeping, live in :mod:`sen2cor3.sc.classify`.

Constants named below in capitals are hard-coded in Sen2Cor's source, not GIPP values.
"""
from __future__ import annotations

from typing import Any

import numpy as np

F32 = np.float32

# Smallest denominator for band ratios and normalised differences (hard-coded in Sen2Cor).
LOWEST = F32(1e-6)
# Dark-feature test of step 1: B04 below, B8A between (hard-coded in Sen2Cor).
DARK_B04_MAX = F32(0.10)
DARK_B8A_MIN = F32(0.04)
DARK_B8A_MAX = F32(0.15)
# Snow: B05/B8A below this is not snow, frozen ground spares (hard-coded in Sen2Cor).
SNOW_R_B05_B8A_MIN = F32(0.85)
# Vegetation class needs B02 below this (hard-coded in Sen2Cor).
VEG_B02_MAX = F32(0.15)
# Soil: clip range of the B02 threshold line (hard-coded in Sen2Cor).
SOIL_B02_THR_MIN, SOIL_B02_THR_MAX = F32(0.15), F32(0.32)
# Water: clip range of the B12 threshold line, B02 ceiling, B02-B04 test (hard-coded in Sen2Cor).
WATER_B12_THR_MIN, WATER_B12_THR_MAX = F32(0.07), F32(0.21)
WATER_B02_MAX = F32(0.20)
WATER_B02_MINUS_B04 = F32(0.034)
# Rocks/sand: B02 threshold line slope/offset and clip, B02/B11 cap (hard-coded in Sen2Cor).
ROCK_B02_SLOPE, ROCK_B02_OFFSET = F32(-0.25), F32(0.475)
ROCK_B02_THR_MIN, ROCK_B02_THR_MAX = F32(0.16), F32(0.35)
ROCK_R_B02_B11_MAX = F32(0.8)
# B04/B11 ratio test bounds (hard-coded in Sen2Cor, the GIPP has no element for them).
T1_R_B04_B11, T2_R_B04_B11 = F32(3.0), F32(6.0)
# Cirrus: B02 ceiling and the altitude above which cirrus is not flagged (hard-coded in Sen2Cor).
CIRRUS_B02_MAX = F32(0.50)
CIRRUS_DEM_MAX_M = 1500.0


def _t(thresholds: Any, name: str) -> np.float32:
    """One GIPP threshold as float32 (Sen2Cor reads them as float32 too)."""
    return F32(getattr(thresholds, name))


def clip01(x: np.ndarray, t1: float, t2: float) -> np.ndarray:
    """Soft threshold: 0 up to t1, 1 from t2, linear between (decreasing if t1 > t2)."""
    t1, t2 = F32(t1), F32(t2)
    lo, hi = (t1, t2) if t1 <= t2 else (t2, t1)
    return ((np.clip(x, lo, hi) - t1) / (t2 - t1)).astype(F32, copy=False)


def ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / max(b, LOWEST) in float32."""
    return (a / np.maximum(b, LOWEST)).astype(F32, copy=False)


def norm_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(a - b) / max(a + b, LOWEST)."""
    return ((a - b) / np.maximum(a + b, LOWEST)).astype(F32, copy=False)


def ndsi(b03: np.ndarray, b11: np.ndarray) -> np.ndarray:
    return norm_diff(b03, b11)


def ndvi(b8a: np.ndarray, b04: np.ndarray) -> np.ndarray:
    return norm_diff(b8a, b04)


# ----------------------------------------------------------------------------- step 1: clouds
def brightness_confidence(b04: np.ndarray, th: Any) -> np.ndarray:
    """Cloud confidence from red brightness, squared (clouds are bright in B04)."""
    return clip01(b04, _t(th, "t1_b04"), _t(th, "t2_b04")) ** 2


def dark_feature_candidates(b04: np.ndarray, b8a: np.ndarray) -> np.ndarray:
    """Very dark red with low-moderate NIR: shadows, dark surfaces."""
    return (b04 < DARK_B04_MAX) & (b8a > DARK_B8A_MIN) & (b8a < DARK_B8A_MAX)


def ndsi_cloud_confidence(ndsi_: np.ndarray, th: Any) -> np.ndarray:
    """Clouds have NDSI near 0 or above; strongly negative NDSI (bright SWIR) is not cloud."""
    return clip01(ndsi_, _t(th, "t1_ndsi_cld"), _t(th, "t2_ndsi_cld"))


# ----------------------------------------------------------------------------- step 2: snow
def snow_ndsi_confidence(ndsi_: np.ndarray, th: Any) -> np.ndarray:
    """Snow has a high NDSI (bright green, dark SWIR)."""
    return clip01(ndsi_, _t(th, "t1_ndsi_snw"), _t(th, "t2_ndsi_snw"))


def snow_red_edge_excluded(b05: np.ndarray, b8a: np.ndarray) -> np.ndarray:
    """B05/B8A below the bound: vegetation-like red edge, so not snow."""
    return ratio(b05, b8a) < SNOW_R_B05_B8A_MIN


def snow_b8a_confidence(b8a: np.ndarray, th: Any) -> np.ndarray:
    """Snow is bright in the NIR."""
    return clip01(b8a, _t(th, "t1_b8a"), _t(th, "t2_b8a"))


def snow_b02_confidence(b02: np.ndarray, th: Any) -> np.ndarray:
    """Snow is bright in the blue."""
    return clip01(b02, _t(th, "t1_b02"), _t(th, "t2_b02"))


def snow_b02_b04_confidence(b02: np.ndarray, b04: np.ndarray, th: Any) -> np.ndarray:
    """Snow is spectrally flat or bluish: B02/B04 near or above 1."""
    return clip01(ratio(b02, b04), _t(th, "t1_r_b02_b04"), _t(th, "t2_r_b02_b04"))


def snow_ring_not_cloud(b12: np.ndarray, th: Any) -> np.ndarray:
    """Around snow, a dark B12 means snow/ground mix rather than cloud."""
    return b12 < _t(th, "t2_snow")


# ----------------------------------------------------------------------------- step 3: vegetation
def ndvi_confidence(ndvi_: np.ndarray, th: Any) -> np.ndarray:
    return clip01(ndvi_, _t(th, "t1_ndvi"), _t(th, "t2_ndvi"))


def vegetation_candidates(ndvi_conf: np.ndarray, b02: np.ndarray) -> np.ndarray:
    """Full NDVI confidence and a not-too-bright blue: vegetation."""
    return (ndvi_conf == 1) & (b02 < VEG_B02_MAX)


def senescent_ratio(b8a: np.ndarray, b03: np.ndarray) -> np.ndarray:
    return ratio(b8a, b03)


# ----------------------------------------------------------------------------- step 4: soil
def soil_test(b02: np.ndarray, b11: np.ndarray, th: Any):
    """Bright soils: B02/B11 low and B02 under a threshold that falls with the ratio.

    Returns (soil candidates, ambiguous pixels, cloud factor for the ambiguous pixels).
    """
    r = np.clip(ratio(b02, b11), F32(0), F32(100))
    b02_thr = np.clip(r * _t(th, "t11_b02") + _t(th, "t12_b02"), SOIL_B02_THR_MIN, SOIL_B02_THR_MAX)
    t1, t2 = _t(th, "t11_r_b02_b11"), _t(th, "t12_r_b02_b11")
    dark_enough = b02 < b02_thr
    soil = dark_enough & (r < t1)
    amb = (r > t1) & (r < t2) & dark_enough
    return soil, amb, clip01(r, t1, t2)


# ----------------------------------------------------------------------------- step 5: water
def water_test(b02, b04, b8a, b11, b12, th: Any):
    """Water: very high B02/B11, dark B12, NIR below red, blue not bright.

    Returns (water candidates, ambiguous pixels, cloud factor for the ambiguous pixels:
    1 at T21_R_B02_B11 falling linearly to 0 at T22_R_B02_B11).
    """
    r = ratio(b02, b11)
    b12_thr = np.clip(r * _t(th, "t21_b12") + _t(th, "t22_b12"), WATER_B12_THR_MIN, WATER_B12_THR_MAX)
    t21, t22 = _t(th, "t21_r_b02_b11"), _t(th, "t22_r_b02_b11")
    common = (b12 < b12_thr) & (b8a < b04) & (b02 < WATER_B02_MAX)
    water = (r > t22) & common
    amb = (r < t22) & (r >= t21) & common
    a = F32(-1.0) / (t22 - t21)
    factor = (a * r + (F32(1.0) - t21 * a)).astype(F32, copy=False)
    return water, amb, factor


def water_blue_red_test(b02, b04, b8a) -> np.ndarray:
    """Second water test: blue well above red, NIR below red, blue not bright."""
    return ((b02 - b04) > WATER_B02_MINUS_B04) & (b8a < b04) & (b02 < WATER_B02_MAX)


# ----------------------------------------------------------------------------- step 6: rocks / sand
def rocks_sand_test(b02, b8a, b11, th: Any):
    """Rocks and sands: B8A/B11 low, B02 under a falling threshold and below 0.8*B11.

    Returns (candidates, ambiguous pixels, cloud factor for the ambiguous pixels).
    """
    r = ratio(b8a, b11)
    b02_thr = np.clip(r * ROCK_B02_SLOPE + ROCK_B02_OFFSET, ROCK_B02_THR_MIN, ROCK_B02_THR_MAX)
    t1, t2 = _t(th, "t1_r_b8a_b11"), _t(th, "t2_r_b8a_b11")
    dark_enough = b02 < b02_thr
    rock = dark_enough & (r < t1) & (b02 < ROCK_R_B02_B11_MAX * b11)
    amb = (r > t1) & (r < t2) & dark_enough
    return rock, amb, clip01(r, t1, t2)


def b04_b11_confidence(b04: np.ndarray, b11: np.ndarray) -> np.ndarray:
    """Very high B04/B11 is not cloud (clouds are bright in SWIR too): 1 = surely not cloud."""
    return clip01(ratio(b04, b11), T1_R_B04_B11, T2_R_B04_B11)


# ----------------------------------------------------------------------------- cirrus
def thin_cirrus_candidates(b10: np.ndarray, b02: np.ndarray, th: Any) -> np.ndarray:
    """B10 in the thin-cirrus window and the surface still visible in the blue."""
    return (b10 > _t(th, "t1_b10")) & (b10 < _t(th, "t2_b10")) & (b02 < CIRRUS_B02_MAX)


def thick_cirrus(b10: np.ndarray, th: Any) -> np.ndarray:
    return b10 >= _t(th, "t2_b10")


def below_cirrus_altitude(dem: np.ndarray | None, shape) -> np.ndarray | bool:
    """Cirrus flags are switched off above 1500 m, where B10 sees the ground through dry air."""
    if dem is None:
        return True
    return dem < CIRRUS_DEM_MAX_M
