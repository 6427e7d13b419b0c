"""The Sen2Cor 3 default (non-classic) tail of the scene classification.

Follows Sen2Cor 3's ``L2A_SceneClass_evolution``: the same spectral tests as the classic
chain, then recoveries that also reset the probabilities, DEM topographic shadows as class 2,
a bright-pixel (Hollstein / Fmask) recovery, the cloud shadows with a scene-adaptive
radiometric threshold, and, when both CCI maps are present, dilation of clouds, shadows and
snow.  Leftover pixels end as NOT_VEGETATED (classic: UNCLASSIFIED).

The cloud shadows are projected with the cloud-top heights of Sen2Cor 3's B08/B8A parallax tracker
(:mod:`cloud_height`) when the classification has B08 and the tracker measures heights, else with the generic
height distribution; before it, Sen2Cor 3's height-image recoveries (low "clouds" under 350 m -> soil/water, "snow"
above 700 m -> cloud).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import ndimage

from . import cloud_height, masks, recover, shadows
from . import spectral_tests as T
from .common import B10_CIRRUS, SceneClassification, cloud_classes, finish as _finish, to_percent
from .recover import DARK_NOT_SHADOW, NOT_CLASSIFIED, State

F32 = np.float32
# Hard-coded in Sen2Cor 3 (L2A_SceneClass_evolution):
TOPO_DILATE = 9                      # 9x9 dilation + 9x9 median of the cast-shadow mask
# Height-image recoveries (hard-coded in Sen2Cor 3): "clouds" below this height (m) are ground, "snow" above
# this one is cloud, both unless clouds cover this share of the valid pixels.
HEIGHT_GROUND_MAX_M = 350.0
HEIGHT_SNOW_CLOUD_MIN_M = 700.0
HEIGHT_CLOUD_SHARE_MAX = 0.95
WATER_SLOPE_MIN = 15.0               # water on steeper slopes is terrain shadow
TOPO_SZA_MAX = 45.0                  # dark pixels lit within 5 deg -> unclassified below this SZA
SNOW_SOIL_RADIUS = 5                 # disk radius of the snow/soil border test
SOIL_LOW_PROB_MAX = F32(0.10)        # 0 < p < 0.10 leftovers are soil
CIRRUS_FLOOR_WATER, CIRRUS_FLOOR_LAND = 0.0020, 0.0030
B10_H2O_A, B10_H2O_B = -0.49, -0.011  # B10 water-vapour altitude correction exp((a + b z) z), z in km
URBAN_DISK = 9
HOLLSTEIN_B03, HOLLSTEIN_R_B05_B11, HOLLSTEIN_B11_B10, HOLLSTEIN_B01 = 0.319, 4.330, 0.255, 0.30
BRIGHT_WATER_NDWI = 0.35
BRIGHT_ERODE, BRIGHT_DILATE = 3, 9
# post-processing dilations (pixels, at 20 m): clouds 9 (+80 m), shadows 5, snow 3
DIL_CLOUD, DIL_SHADOW, DIL_SNOW = 9, 5, 3
DIL_CLOUD_PROB_MIN = F32(0.65)
DIL_WATER_EDGE, DIL_WBI_EDGE = 13, 15
DIL_URBAN_LARGE_CLOUD = 1000
DIL_SNOW_SOIL_RADIUS = 7
ISOLATED_MAX = 3


def _enhance_lines(x: np.ndarray) -> np.ndarray:
    """Max response of four 3x3 line templates (vertical, horizontal, two diagonals)."""
    v = np.array([[-1, 2, -1]] * 3, dtype=F32) / F32(6)
    d = (np.full((3, 3), -1, F32) + 3 * np.eye(3, dtype=F32)) / F32(6)
    out = None
    for k in (v, v.T, d, d[:, ::-1]):
        r = ndimage.correlate(x, k, mode="constant", cval=0.0)
        out = r if out is None else np.maximum(out, r)
    return out


def tail(st: State, b: dict, th: Any, topo, dem, esacci: dict, sza: float, saa: float,
         res: float, vza: float, vaa: float, parallax: bool) -> None:
    c = st.c
    b02, b03, b04, b8a, b10, b11 = b["blue"], b["green"], b["red"], b["nir"], b.get("cirrus"), b["swir1"]
    wbi, lcm = esacci.get("water_bodies"), esacci.get("land_cover")
    cloud_classes(st, b, th, dem, classic=False)
    b.pop(B10_CIRRUS, None)                       # read by the cirrus tests only
    recover.dark_vegetation(st, T.ndvi(b8a, b04), T.senescent_ratio(b8a, b03), th, zero_probs=True)
    recover.water_recovery(st, b02, b04, b8a, b11, th)
    recover.water_recovery_cci(st, wbi, zero_probs=True)
    if topo is not None:
        cast = topo.shadow_map == 1
        steep = topo.slope_deg > WATER_SLOPE_MIN
        st.set((cast | steep) & st.is_(c.water), c.dark_features, 0.0, 0.0)
        _topographic_shadows(st, b, topo, sza)
    # snow recovery (Sen2Cor 3 compares B11 with the red band here)
    grow = masks.dilate(st.is_(c.snow_ice), masks.diamond(3))
    st.set(grow & (b11 < b04) & st.is_(NOT_CLASSIFIED), c.snow_ice, 0.0, 1.0)
    # snow / soil borders: clouds where snow and soil meet are mixed pixels
    both = (masks.dilate_disk(st.is_(c.snow_ice), SNOW_SOIL_RADIUS)
            & masks.dilate_disk(st.is_(c.not_vegetated), SNOW_SOIL_RADIUS))
    st.set(both & st.is_(c.medium_proba_clouds, c.high_proba_clouds), c.not_vegetated, 0.0, 0.0)
    # soil recovery
    st.set((st.p > 0) & (st.p < SOIL_LOW_PROB_MAX) & st.is_(NOT_CLASSIFIED), c.not_vegetated, 0.0, 0.0)
    recover.soil_recovery_dark(st, b02, b11, zero_probs=True)
    land_b10 = None             # (B10 as the cirrus recovery saw it, its land threshold) when it runs
    if lcm is not None:
        if b10 is not None:
            land_b10 = _cirrus_recovery(st, b10, th, topo, dem, sza)
        urban = masks.dilate_disk(lcm == recover.LCM_URBAN, URBAN_DISK)
        recover.urban_bare_recovery(st, lcm, urban=urban, ring_urban=recover.RING_CLOUDY_MAX_URBAN_V3,
                                    zero_probs=True)
    _bright_pixels(st, b, wbi)
    # cloud shadows: Sen2Cor 3 projects the clouds with a Gaussian of the cloud-top heights its tracker measures
    # on the B08/B8A parallax (the generic height distribution when it measures none); a sensor without the
    # band pair keeps the generic one
    heights = None
    if "nir_broad" in b:
        # B10 and its land threshold for the height recovery: Sen2Cor's B10_correct / T_B10_Land, which its cirrus
        # recovery recomputes with the land cover map (else T1_B10 and B10, corrected for incidence and altitude
        # with a DEM); built only when the recovery needs it
        b10_ref = None if b10 is None else (lambda: land_b10 if land_b10 is not None else
                                            (_corrected_b10(b10, topo, dem, sza), float(th.t1_b10)))
        laps = cloud_height.laplacians(b["nir_broad"], b8a)        # the bands do not change in between
        _height_recoveries(st, b, th, b10_ref, wbi, res, laps)
        heights = cloud_height.shadow_height_distribution(
            cloud_height.height_stats(b["nir_broad"], b8a, st.p, res, laps=laps))
    geom = shadows.geometric_shadow_probability(st.p, ~st.valid, sza_deg=sza, saa_deg=saa,
                                                resolution_m=res, vza_deg=vza, vaa_deg=vaa,
                                                view_parallax=parallax, heights=heights)
    lit = None
    if topo is not None and sza < TOPO_SZA_MAX:
        lit = st.is_(c.dark_features) & shadows.local_incidence_ok(topo.shadow_map / F32(255), sza)
    radio = shadows.radiometric_shadow_v3(
        b02, b03, b04, b8a, b11, b["swir2"], land=st.is_(c.not_vegetated, c.vegetation),
        snow=st.is_(c.snow_ice), valid=st.valid, geometric=geom,
        exclude=st.is_(c.thin_cirrus, c.medium_proba_clouds, c.high_proba_clouds),
        water_bodies=wbi, dark_features_lit=lit, resolution_m=res)
    st.scl[radio * geom > shadows.SHADOW_PRODUCT_MIN] = c.cloud_shadows
    del radio, geom
    recover.water_recovery_cci(st, wbi, zero_probs=True)
    if topo is not None:
        st.set((topo.shadow_map == 1) & st.is_(c.cloud_shadows), c.dark_features, 0.0, 0.0)
    # dark pixels outside topographic shadow -> not vegetated; close the class-2 mask
    st.set(st.is_(DARK_NOT_SHADOW), c.not_vegetated, 0.0, 0.0)
    cast = masks.median_bool(masks.dilate(st.is_(c.dark_features), masks.CROSS), 3)
    st.set(cast, c.dark_features, 0.0, 0.0)


def _topographic_shadows(st: State, b: dict, topo, sza: float) -> None:
    """DEM cast shadows -> class 2; dark pixels elsewhere are re-examined."""
    c = st.c
    b02, b04, b8a = b["blue"], b["red"], b["nir"]
    cast = topo.shadow_map == 1
    near = masks.median_bool(masks.dilate(cast, np.ones((TOPO_DILATE, TOPO_DILATE), bool)), TOPO_DILATE)
    dark_not_shadow = st.is_(c.dark_features) & ~near
    f2 = ((b02 - b04) > T.WATER_B02_MINUS_B04) & (b8a < b04) & (b02 > T.WATER_B02_MAX)
    pot = f2 & st.is_(NOT_CLASSIFIED, c.unclassified, c.medium_proba_clouds)
    st.set((st.is_(c.dark_features) | pot) & cast, c.dark_features, 0.0, 0.0)
    st.set(st.is_(c.water) & cast, c.dark_features, 0.0, 0.0)
    if sza < TOPO_SZA_MAX:
        lit = shadows.local_incidence_ok(topo.shadow_map / F32(255), sza)
        st.set(dark_not_shadow & lit, c.unclassified, 0.0, 0.0)
    else:
        st.set(dark_not_shadow, DARK_NOT_SHADOW, 0.0, 0.0)


def _b10_threshold(b10: np.ndarray, where: np.ndarray, floor: float, t1_b10: float) -> float:
    """2*mean - 1st percentile of B10 over a class, floored, capped at T1_B10."""
    vals = b10[where]
    return min(max(2 * float(vals.mean()) - float(np.percentile(vals, 1)), floor), t1_b10)


def _corrected_b10(b10, topo, dem, sza: float):
    """B10 corrected for the local incidence and the water column above the ground (Sen2Cor 3's B10_correct),
    the plain B10 without a DEM."""
    if dem is None or topo is None:
        return b10
    cos_sza = F32(math.cos(math.radians(sza)))
    cbeta = topo.shadow_map.astype(F32) / F32(255)
    z = dem.astype(F32) / F32(1000)
    return b10 * cos_sza / np.clip(cbeta, cos_sza, F32(1)) * np.exp((B10_H2O_A + B10_H2O_B * z) * z)


def _height_recoveries(st: State, b: dict, th, b10_ref, wbi, res: float, laps=None) -> None:
    """Sen2Cor 3's use of the height image (``L2A_CSHD_2_KLT_GAUSSIAN_BIS``): unless clouds cover 95 % of the
    valid pixels, cloud-probable pixels (not thin cirrus, not vegetation) lower than 350 m whose B10 stays under
    the land threshold are ground - not vegetated, water on CCI water bodies - with cloud probability 0; snow
    higher than 700 m is a medium-probability cloud (cloud probability 0.5, snow 0). ``b10_ref``: None (no B10) or
    a callable giving (B10, land threshold); ``laps``: ``cloud_height.laplacians`` of the two bands, if made."""
    c = st.c
    decide = ((st.p > 0) & ~st.is_(c.thin_cirrus, c.vegetation)) | st.is_(c.snow_ice)
    if not (decide & st.valid).any():
        return
    reach = max(1, int(round(cloud_height.TRACK_REACH_M / res)))
    track = masks.dilate(decide, np.ones((2 * reach + 1, 2 * reach + 1), bool))     # separable max filter
    h = cloud_height.height_image(b["nir_broad"], b["nir"], st.valid, res, track=track, laps=laps)
    if h is None:
        return
    cloudy = st.is_(c.medium_proba_clouds, c.high_proba_clouds, c.thin_cirrus)
    if b10_ref is not None and cloudy.sum() < HEIGHT_CLOUD_SHARE_MAX * max(int(st.valid.sum()), 1):
        b10c, t_land = b10_ref()
        low = ((h < HEIGHT_GROUND_MAX_M) & (b10c < F32(t_land)) & (st.p > 0)
               & ~st.is_(c.thin_cirrus, c.vegetation))
        water = low & (wbi == recover.WBI_WATER) if wbi is not None else np.zeros_like(low)
        st.set(low & ~water, c.not_vegetated, p=0.0)
        st.set(water, c.water, p=0.0)
    st.set(st.is_(c.snow_ice) & (h > HEIGHT_SNOW_CLOUD_MIN_M), c.medium_proba_clouds, p=0.5, s=0.0)


def _cirrus_recovery(st: State, b10, th, topo, dem, sza: float) -> tuple[np.ndarray, float]:
    """Thin cirrus over land/water from B10 thresholds derived from the clear pixels; returns (B10 as the
    thresholds saw it, the land threshold) for the height recovery."""
    c = st.c
    t1 = float(th.t1_b10)
    water = st.is_(c.water)
    t_water = _b10_threshold(b10, water, CIRRUS_FLOOR_WATER, t1) if water.any() else t1
    veg, soil = st.is_(c.vegetation), st.is_(c.not_vegetated)
    nv, ns = int(veg.sum()), int(soil.sum())
    if nv + ns:
        t_veg = _b10_threshold(b10, veg, CIRRUS_FLOOR_LAND, t1) if nv else 0.0
        t_soil = _b10_threshold(b10, soil, CIRRUS_FLOOR_LAND, t1) if ns else 0.0
        t_land = (nv * t_veg + ns * t_soil) / (nv + ns)
    else:
        t_land = t1
    land = veg | soil
    not_cloud = ~st.is_(c.medium_proba_clouds, c.high_proba_clouds)
    if dem is not None and topo is not None:
        b10c = _corrected_b10(b10, topo, dem, sza)
        low = dem < T.CIRRUS_DEM_MAX_M
        st.set((b10c >= t_land) & (b10c < F32(th.t2_b10)) & low & not_cloud, c.thin_cirrus)
        st.set(st.is_(c.water) & (b10 > t_water) & low & not_cloud, c.thin_cirrus)
        return b10c, t_land
    st.scl[land & (b10 > t_land)] = c.thin_cirrus
    st.set(st.is_(c.water) & (b10 > t_water) & not_cloud, c.thin_cirrus)
    return b10, t_land


def _bright_pixels(st: State, b: dict, wbi) -> None:
    """Small bright 'clouds' that look like bright surfaces (Hollstein branch or Fmask NDBI)."""
    if "coastal" not in b:
        return
    c = st.c
    b03, b11, b04, b8a = b["green"], b["swir1"], b["red"], b["nir"]
    if "red_edge" in b and "cirrus" in b:         # the Hollstein branch needs the red edge and B10
        b05, b10 = b["red_edge"], b["cirrus"]
        holl = ((b03 > F32(HOLLSTEIN_B03)) & (T.ratio(b05, b11) < F32(HOLLSTEIN_R_B05_B11))
                & ((b11 - b10) > F32(HOLLSTEIN_B11_B10)) & (b["coastal"] < F32(HOLLSTEIN_B01)))
    else:
        holl = np.zeros(b03.shape, bool)
    ndbi = _enhance_lines(T.norm_diff(b11, b8a))
    fm = (ndbi > 0) & (ndbi > T.ndvi(b8a, b04))
    water = (wbi == recover.WBI_WATER) if wbi is not None else T.norm_diff(b03, b8a) > F32(BRIGHT_WATER_NDWI)
    clouds = st.is_(c.unclassified, c.medium_proba_clouds, c.high_proba_clouds)
    core = ndimage.binary_erosion(clouds, masks.disk(BRIGHT_ERODE))
    opened = masks.dilate_disk(core, BRIGHT_DILATE)
    sub = (holl | fm) & clouds & ~opened & ~water & ~st.is_(c.thin_cirrus)
    st.set(sub, c.not_vegetated, 0.0, 0.0)


def _sobel_edges(a: np.ndarray) -> np.ndarray:
    """Sen2Cor 3's shoreline edges (``L2A_SceneClass_evolution.postprocessnew``): ``sx = sobel(a, axis=0,
    mode='constant')``, ``sy = sobel(a, axis=1, mode='constant')``, edges where ``sx + sy > 0``, computed in the
    dtype of ``a`` as Sen2Cor does (scipy's sobel writes into an array of the input's dtype, the smoothing pass
    included). For its boolean water mask that is: the two neighbours across the pixel differ along one axis,
    spread by one pixel along the other (a one-pixel water line is not its own edge); for the uint8 water-bodies
    map (1 land, 2 water) the negative derivatives wrap and ``sx + sy`` adds modulo 256, and the zero padding makes
    the tile border an edge. Until issue 14 this was any non-uniform 3x3 neighbourhood, which differed on
    5-25 % of the edge pixels."""
    sx = ndimage.sobel(a, axis=0, mode="constant")
    sy = ndimage.sobel(a, axis=1, mode="constant")
    return (sx + sy) > 0


def finish(st: State, b: dict, esacci: dict, median_filter: int, res: float) -> SceneClassification:
    """Leftovers -> not vegetated; with both CCI maps, dilate clouds, shadows and snow."""
    wbi, lcm = esacci.get("water_bodies"), esacci.get("land_cover")
    if wbi is None or lcm is None:
        return _finish(st, median_filter, classic=False)
    out = _finish(st, median_filter, classic=False)
    c = st.c
    scl = out.scl.copy()
    valid = (scl != c.no_data) & (scl != c.saturated_defective)
    sq = lambda n: np.ones((n, n), bool)  # noqa: E731
    clouds = (scl == c.medium_proba_clouds) | (scl == c.high_proba_clouds)
    # shoreline zone: Sen2Cor's Sobel edges of the SCL water (bool) and of the WBI band as it reads it (a Byte
    # GeoTIFF warped from the CCI map: uint8), dilated 13x13 (+120 m) and 15x15 (+140 m)
    shore = (masks.dilate(_sobel_edges(scl == c.water), sq(DIL_WATER_EDGE))
             & masks.dilate(_sobel_edges(np.asarray(wbi).astype(np.uint8, copy=False)), sq(DIL_WBI_EDGE)))
    urban = masks.dilate_disk(lcm == recover.LCM_URBAN, URBAN_DISK)
    big_urban = masks.remove_small_blobs(clouds & urban, DIL_URBAN_LARGE_CLOUD, masks.CROSS)
    snow_soil = (masks.dilate_disk(scl == c.snow_ice, DIL_SNOW_SOIL_RADIUS)
                 & masks.dilate_disk(scl == c.not_vegetated, DIL_SNOW_SOIL_RADIUS))
    p = st.p
    sel = big_urban | (clouds & ~shore & ~urban & ~snow_soil & (p > DIL_CLOUD_PROB_MIN))
    sel = masks.remove_small_blobs(sel, ISOLATED_MAX, sq(3))
    grown = masks.median_bool(masks.dilate(sel, sq(DIL_CLOUD)), DIL_CLOUD)
    scl[((grown | clouds) ^ clouds) & valid] = c.medium_proba_clouds
    # (Sen2Cor 3's thin-cirrus dilation re-uses the cloud mask and changes nothing: omitted.)
    cloudy = (scl == c.medium_proba_clouds) | (scl == c.high_proba_clouds) | (scl == c.thin_cirrus)
    shd = scl == c.cloud_shadows
    grown = masks.median_bool(masks.dilate(masks.remove_small_blobs(shd, ISOLATED_MAX, sq(3)),
                                           sq(DIL_SHADOW)), DIL_SHADOW)
    scl[(grown ^ shd) & ~cloudy & valid] = c.cloud_shadows
    snow = (scl == c.snow_ice) & ~shore
    grown = masks.median_bool(masks.dilate(masks.remove_small_blobs(snow, ISOLATED_MAX, sq(3)),
                                           sq(DIL_SNOW)), DIL_SNOW)
    cloudy |= scl == c.cloud_shadows
    scl[(grown ^ snow) & ~cloudy & valid] = c.snow_ice
    return SceneClassification(scl, out.cloud_prob, out.snow_prob)


__all__ = ["tail", "finish", "to_percent"]
