"""Cloud-shadow detection: geometric projection of the cloud mask and a radiometric test.

Geometry (map frame: x east, y north; array frame: rows go south, columns go east).  A cloud
at height ``h`` casts its shadow ``h * tan(sza)`` metres away from the sun, i.e. along the
azimuth ``saa + 180``.  In pixels of the array::

    d_row = +h * tan(sza) * cos(saa) / res      d_col = -h * tan(sza) * sin(saa) / res

Seen from an oblique view, the cloud itself appears displaced by ``h * tan(vza)`` away from the
satellite (the view azimuth points from the ground to the satellite); adding that parallax
gives the shadow position relative to the *apparent* cloud.  Sen2Cor does not model the
parallax (its kernel follows the sun only); here it is an option, off by default.

Sen2Cor does not know the cloud height.  It convolves the cloud mask with a line kernel laid
out in the anti-solar direction whose weights follow a generic cloud-height distribution
(about 0.6 to 4.2 km at half weight), via FFT.  We do the same with ``scipy.signal``
overlap-add convolution in float32.

Sizes in metres (issue 17).  Sen2Cor writes the other kernels of this step in pixels: the 3x3 medians and
the cross dilation of the cloud mask, the Gaussian of sigma 3 px, the 3x3 medians of the radiometric test,
the 5x5 erosion and 25x25 dilation that select the border of the shadow-free land for the adaptive
threshold.  They were chosen at 20 m, the resolution Sen2Cor classifies at (its cloud-height kernel alone is
converted, ``zoom(..., 30 / resolution)``; its post-processing comments give the 20 m pixel counts in metres,
"buffer size 9: + 80 m").  Here each keeps its 20 m size in metres (``DESIGN_RESOLUTION_M``): identical to
Sen2Cor at 20 m, while a native 60 m run smooths and samples the same ground distances instead of three times
larger ones.  Kept in pixels, the 60 m run of the real T55JGF product took its threshold statistics from a
720 m border instead of 240 m (threshold 0.961 instead of 0.984) and called 7.5 % of the valid pixels cloud
shadow against 2.2 % at 20 m; in metres the thresholds agree (0.986 / 0.984) and 1.2 % is shadow (shadow IoU
with the 20 m run 0.28 -> 0.53, tests/test_real_t55jgf.py).  The radiometric functions take the resolution as
``resolution_m`` (default: DESIGN_RESOLUTION_M, Sen2Cor's pixel sizes); both classification chains pass it.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import ndimage, signal

from . import masks
from .spectral_tests import F32, norm_diff

# Sen2Cor's reference cloud-shadow spectrum for B02 B03 B04 B8A B11 B12, which it uses
# instead of the GIPP RV_B* values (hard-coded in Sen2Cor).
SHADOW_REFERENCE = np.array([0.12, 0.08, 0.06, 0.10, 0.0545, 0.0255], dtype=F32)
# Classic water exclusion in the radiometric test: B02/B11 above this (hard-coded in Sen2Cor).
SHADOW_WATER_R_B02_B11 = F32(6.0)
# 3.x water exclusion: (B03-B8A)/(B03+B8A) above this (hard-coded in Sen2Cor 3).
SHADOW_WATER_NDWI = F32(0.35)
# Cloud mask for the projection: 3x3 median of the cloud probability above this (hard-coded).
SHADOW_CLOUD_PROB = F32(0.33)
# Gaussian smoothing of the geometric shadow probability, pixels at DESIGN_RESOLUTION_M (hard-coded in Sen2Cor).
SHADOW_GAUSS_SIGMA = 3.0
#: The resolution (m) at which Sen2Cor's pixel sizes of this step hold; other resolutions keep them in metres.
DESIGN_RESOLUTION_M = 20.0
# Median windows (Sen2Cor 3x3), the cross dilation reach (1 px) and the adaptive-threshold erosion / dilation
# (5x5, 25x25), all in pixels at DESIGN_RESOLUTION_M (hard-coded in Sen2Cor).
SHADOW_MEDIAN_PX = 3
CLOUD_DILATION_REACH_PX = 1
ADAPTIVE_ERODE_PX, ADAPTIVE_DILATE_PX = 5, 25
# Shadow when radiometric x geometric probability exceeds this (hard-coded in Sen2Cor).
SHADOW_PRODUCT_MIN = F32(0.05)
# Generic cloud-height distribution, sampled every 30 m of height (hard-coded in Sen2Cor):
# a rising flank over 51 samples (half weight 30 samples before the top) then a plateau
# falling off at 90 samples, both as 1 / (1 + (k / k0) ** 10).
HEIGHT_STEP_M = 30.0
_RISE_N, _RISE_K0, _FALL_N, _FALL_K0 = 51, 30.0, 150, 90.0
# 3.x adaptive radiometric threshold: clip range and statistics (hard-coded in Sen2Cor 3).
ADAPTIVE_T0_MIN, ADAPTIVE_T0_MAX = 0.90, 0.9999
ADAPTIVE_LAND_MIN_FRACTION, ADAPTIVE_SNOW_MIN_FRACTION = 0.02, 0.05
ADAPTIVE_FREE_GEOM_MAX = 0.01
ADAPTIVE_SNOW_OVER_LAND = 10.0
# 3.x: dark features join the shadow candidates when the local incidence is within 5 deg
# of the flat-terrain one and the sun is higher than 45 deg (hard-coded in Sen2Cor 3).
DARK_LOCAL_SZA_MARGIN_DEG = 5.0
DARK_SZA_MAX_DEG = 45.0


# ----------------------------------------------------------------------------- sizes
def window_px(design_px: int, resolution_m: float) -> int:
    """Odd window (pixels) covering the ground of ``design_px`` pixels at DESIGN_RESOLUTION_M: round(metres /
    pixel), forced odd (the rule of ``ac.wv.smooth_size``). 3 px -> 1 at 60 m, 3 at 20/30 m; 5 -> 3 at 60 m."""
    n = int(design_px * DESIGN_RESOLUTION_M / resolution_m + 0.5)
    return max(1, n + 1 if n % 2 == 0 else n)


def reach_px(design_px: int, resolution_m: float) -> int:
    """Dilation reach (pixels) of ``design_px`` pixels at DESIGN_RESOLUTION_M: 1 -> 0 at 60 m, 1 at 20/30 m."""
    return int(design_px * DESIGN_RESOLUTION_M / resolution_m + 0.5)


def _median(a: np.ndarray, size: int) -> np.ndarray:
    if size <= 1:
        return a
    return masks.median3(a) if size == 3 else ndimage.median_filter(a, size=size)


def _median_above(a: np.ndarray, size: int, threshold: float) -> np.ndarray:
    """``_median(a, size) > threshold`` (the 3x3 case without a full-size float median)."""
    return masks.median3(a, above=threshold) if size == 3 else _median(a, size) > threshold


# ----------------------------------------------------------------------------- geometry
def height_distribution() -> tuple[np.ndarray, np.ndarray]:
    """Sen2Cor's generic cloud-height weights: (heights in m, weights 0..1)."""
    rise = 1.0 / (1.0 + (np.arange(_RISE_N) / _RISE_K0) ** 10)
    fall = 1.0 / (1.0 + (np.arange(_FALL_N) / _FALL_K0) ** 10)
    w = np.concatenate([rise[::-1], fall])
    return np.arange(w.size) * HEIGHT_STEP_M, w


def shadow_vector(sza_deg: float, saa_deg: float, vza_deg: float = 0.0,
                  vaa_deg: float = 0.0) -> tuple[float, float]:
    """Shadow displacement per metre of cloud height, in metres along (rows, cols).

    Relative to the apparent cloud: the anti-solar cast minus the cloud's own view parallax.
    """
    ts, tv = math.tan(math.radians(sza_deg)), math.tan(math.radians(vza_deg))
    sa, va = math.radians(saa_deg), math.radians(vaa_deg)
    east = -ts * math.sin(sa) + tv * math.sin(va)
    north = -ts * math.cos(sa) + tv * math.cos(va)
    return -north, east


def shadow_offset_pixels(height_m: float, sza_deg: float, saa_deg: float, resolution_m: float,
                         vza_deg: float = 0.0, vaa_deg: float = 0.0) -> tuple[float, float]:
    """(d_row, d_col) in pixels from a cloud at ``height_m`` to its shadow."""
    vr, vc = shadow_vector(sza_deg, saa_deg, vza_deg, vaa_deg)
    return height_m * vr / resolution_m, height_m * vc / resolution_m


def projection_kernel(sza_deg: float, saa_deg: float, resolution_m: float,
                      vza_deg: float = 0.0, vaa_deg: float = 0.0,
                      heights_m: np.ndarray | None = None,
                      weights: np.ndarray | None = None) -> np.ndarray:
    """Line kernel (odd square, origin at the centre) holding the height weights.

    Pixel ``j`` along the shadow direction receives the weight of the height that casts a
    shadow ``j`` pixels away; a pixel hit twice keeps the larger weight.
    """
    if heights_m is None or weights is None:
        heights_m, weights = height_distribution()
    vr, vc = shadow_vector(sza_deg, saa_deg, vza_deg, vaa_deg)
    per_m = math.hypot(vr, vc) / resolution_m          # pixels of shadow per metre of height
    n = max(int(math.ceil(heights_m[-1] * per_m)) + 1, 1)
    half = n
    k = np.zeros((2 * half + 1, 2 * half + 1), dtype=F32)
    if per_m == 0.0:
        k[half, half] = weights.max()
        return k
    j = np.arange(n, dtype=np.float64)
    w = np.interp(j / per_m, heights_m, weights, right=0.0).astype(F32)
    ur, uc = vr / math.hypot(vr, vc), vc / math.hypot(vr, vc)
    rows = np.rint(half + j * ur).astype(np.intp)
    cols = np.rint(half + j * uc).astype(np.intp)
    np.maximum.at(k, (rows, cols), w)
    return k


#: Rows of the cloud-mask strips convolved at a time: the overlap-add FFT of a whole 7686 x 7686 Landsat scene
#: held ~2 GB of padded and complex blocks; a strip of 1024 rows (+ the kernel's reach on each side) a tenth.
PROJECTION_STRIP_ROWS = 1024


def project_clouds(cloud_mask: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve the (0/1) cloud mask with the line kernel; linear, no wrap-around.

    Grids taller than PROJECTION_STRIP_ROWS are convolved in strips, each with the rows the kernel reaches
    beyond it (the same sums up to the float32 FFT rounding, ~1e-6 of the summed weights) and strips without a cloud within reach are
    left 0 without an FFT."""
    if not cloud_mask.any():
        return np.zeros(cloud_mask.shape, dtype=F32)
    n, reach = cloud_mask.shape[0], kernel.shape[0] // 2
    if n <= PROJECTION_STRIP_ROWS + 2 * reach:
        return signal.oaconvolve(cloud_mask.astype(F32, copy=False), kernel, mode="same").astype(F32, copy=False)
    out = np.zeros(cloud_mask.shape, dtype=F32)
    for r0 in range(0, n, PROJECTION_STRIP_ROWS):
        r1 = min(n, r0 + PROJECTION_STRIP_ROWS)
        h0, h1 = max(0, r0 - reach), min(n, r1 + reach)
        part = cloud_mask[h0:h1]
        if part.any():                            # the strip as float32 (not the whole mask: 4 bytes a pixel)
            out[r0:r1] = signal.oaconvolve(part.astype(F32, copy=False), kernel, mode="same")[r0 - h0: r1 - h0]
    return out


def solar_angles_sen2cor(sza_deg: float, saa_deg: float) -> tuple[float, float]:
    """Sen2Cor rounds the sun to whole degrees: azimuth int(saa+0.5), elevation >= 1 deg."""
    az = float(int(saa_deg + 0.5))
    elev = max(int(90.0 - sza_deg + 0.5), 1)
    return 90.0 - float(elev), az


def geometric_shadow_probability(cloud_prob: np.ndarray, invalid: np.ndarray, *,
                                 sza_deg: float, saa_deg: float, resolution_m: float,
                                 vza_deg: float = 0.0, vaa_deg: float = 0.0,
                                 view_parallax: bool = False,
                                 heights: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Probability that a pixel lies in the projected shadow of the cloud mask (0..1).

    ``heights``: (heights m, weights) of the cloud tops (Sen2Cor 3's tracker, ``cloud_height``); None: the
    generic height distribution.

    Cloud mask = cross-dilated (3x3-median cloud probability > 0.33); projection; clip to
    [0, 1]; minus the cloud mask; Gaussian sigma 3 px; 0 on invalid pixels. Windows, reach and sigma are
    those sizes at 20 m kept in metres (module docstring).
    """
    sza_r, saa_r = solar_angles_sen2cor(sza_deg, saa_deg)
    cloud = _median_above(cloud_prob, window_px(SHADOW_MEDIAN_PX, resolution_m), SHADOW_CLOUD_PROB)
    reach = reach_px(CLOUD_DILATION_REACH_PX, resolution_m)
    if reach:
        cloud = masks.dilate(cloud, masks.diamond(reach))
    h_m, w = heights if heights is not None else (None, None)
    if view_parallax:
        kern = projection_kernel(sza_r, saa_r, resolution_m, vza_deg, vaa_deg, heights_m=h_m, weights=w)
    else:
        kern = projection_kernel(sza_r, saa_r, resolution_m, heights_m=h_m, weights=w)
    # in place (one full-size float32 array besides the mask: a 7686^2 Landsat scene held five); same values
    prob = project_clouds(cloud, kern)
    np.clip(prob, F32(0), F32(1), out=prob)
    prob -= cloud
    np.maximum(prob, F32(0), out=prob)
    del cloud
    sigma = SHADOW_GAUSS_SIGMA * DESIGN_RESOLUTION_M / resolution_m
    ndimage.gaussian_filter(prob, sigma, output=prob)
    prob[invalid] = 0
    return prob


# ----------------------------------------------------------------------------- radiometry
def _spectral_distance(bands6: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(mean |rho - ref| over the six bands, fraction of bands darker than the reference)."""
    mad = np.zeros(bands6[0].shape, dtype=F32)
    dark = np.zeros(bands6[0].shape, dtype=F32)
    for b, ref in zip(bands6, SHADOW_REFERENCE):
        d = b - ref
        mad += np.abs(d)
        dark += d < 0
    mad /= F32(6)
    dark /= F32(6)
    return mad, dark


def radiometric_shadow_classic(b02, b03, b04, b8a, b11, b12, thresholds: Any,
                               cirrus: np.ndarray, resolution_m: float = DESIGN_RESOLUTION_M) -> np.ndarray:
    """Sen2Cor 2.8/2.9 radiometric shadow likelihood (0..1).

    Spectra close to the reference shadow spectrum (1 - median3 of the mean absolute
    distance above 1 - T_B02_B12) keep their closeness; spectra below the reference in all
    six bands count fully; water (B02/B11 > 6) and thin cirrus do not count. The 3x3 medians are
    their 20 m window in metres at ``resolution_m`` (module docstring).
    """
    med = window_px(SHADOW_MEDIAN_PX, resolution_m)
    mad, dark = _spectral_distance([b02, b03, b04, b8a, b11, b12])
    dark = _median(dark, med)
    msd = F32(1) - _median(mad, med)
    msd[msd < F32(1) - F32(thresholds.t_b02_b12)] = 0
    msd[dark == 1] = 1
    water = (b02 / np.clip(b11, F32(1e-4), F32(2.0))) > SHADOW_WATER_R_B02_B11
    msd[water] = 0
    msd[cirrus] = 0
    return msd


def radiometric_shadow_v3(b02, b03, b04, b8a, b11, b12, *, land: np.ndarray, snow: np.ndarray,
                          valid: np.ndarray, geometric: np.ndarray, exclude: np.ndarray,
                          water_bodies: np.ndarray | None = None,
                          dark_features_lit: np.ndarray | None = None,
                          resolution_m: float = DESIGN_RESOLUTION_M) -> np.ndarray:
    """Sen2Cor 3 radiometric shadow likelihood with a scene-adaptive closeness threshold.

    The threshold is mean + k*std of the closeness on the inner border (12 px at 20 m: 240 m) of clear land
    (or snow, in snowy scenes) far from any projected shadow, clipped to [0.90, 0.9999]. Medians, erosion and
    dilation are their 20 m sizes in metres at ``resolution_m`` (module docstring).
    """
    med = window_px(SHADOW_MEDIAN_PX, resolution_m)
    mad, dark = _spectral_distance([b02, b03, b04, b8a, b11, b12])
    dark = _median(dark, med)
    msd = F32(1) - _median(mad, med)
    n_valid = int(valid.sum())
    n_land, n_snow = int(land.sum()), int(snow.sum())
    if n_land > ADAPTIVE_LAND_MIN_FRACTION * n_valid or n_snow > ADAPTIVE_SNOW_MIN_FRACTION * n_valid:
        use_land = n_snow < ADAPTIVE_SNOW_OVER_LAND * n_land
        base, k = (land, 2.0) if use_land else (snow, 3.0)
        ne, nd = window_px(ADAPTIVE_ERODE_PX, resolution_m), window_px(ADAPTIVE_DILATE_PX, resolution_m)
        free = masks.erode(base & (geometric < ADAPTIVE_FREE_GEOM_MAX), np.ones((ne, ne), bool))
        region = masks.dilate(~free, np.ones((nd, nd), bool)) & free
        if region.any():
            vals = msd[region]
            t0 = float(np.clip(vals.mean() + k * vals.std(), ADAPTIVE_T0_MIN, ADAPTIVE_T0_MAX))
        else:
            # Deviation (issue 14): no clear land lies far from the projected shadows (a small scene inside a
            # cloud frame). Sen2Cor 3's L2A_CSHD_1 takes the mean of the empty region (NaN) and
            # ``msd[msd < NaN] = 0`` cuts nothing, so every lit pixel under the projection becomes shadow
            # (81-88 % of the clear land of 120 px scenes). Without statistics we take the strictest threshold
            # of its own clip: only spectra as close to the shadow reference as the upper bound allows stay.
            t0 = ADAPTIVE_T0_MAX
        msd[msd < t0] = 0
    msd[dark == 1] = 1
    if dark_features_lit is not None:
        msd[dark_features_lit] = 1
    water = norm_diff(b03, b8a) > SHADOW_WATER_NDWI
    if water_bodies is not None:
        water &= water_bodies == 2
    msd[water] = 0
    msd[exclude] = 0
    return msd


def local_incidence_ok(cos_incidence: np.ndarray, sza_deg: float) -> np.ndarray:
    """Local incidence within 5 deg of the flat one: terrain does not explain the darkness."""
    lim = min(sza_deg + DARK_LOCAL_SZA_MARGIN_DEG, 90.0)
    return cos_incidence > math.cos(math.radians(lim))


__all__ = [
    "window_px", "reach_px", "height_distribution", "shadow_vector", "shadow_offset_pixels", "projection_kernel",
    "project_clouds", "geometric_shadow_probability", "radiometric_shadow_classic",
    "radiometric_shadow_v3", "local_incidence_ok", "solar_angles_sen2cor",
]
