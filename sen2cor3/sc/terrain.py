"""Terrain inputs of the scene classification: slope, illumination and cast shadows.

Sen2Cor 3 builds a "shadow map" from the DEM: the hill-shade as 0..255 (255 * cosine of the
local incidence angle, computed with the real, un-clipped solar zenith) with every self- or
cast-shadowed pixel set to 1.  The SC reads ``shadow == 1`` as topographic shadow and
``shadow / 255`` as the cosine of the local incidence angle.

Cast shadows use a horizon test along the sun direction: rotate the DEM so the sun lies
along the rows, then a pixel is shadowed when any pixel closer to the sun rises above the
sun ray through it, i.e. a reversed running maximum of ``z - t * tan(elevation)``
(``t`` = distance toward the sun).  That is O(N) per azimuth, whatever the relief.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from . import masks

F32 = np.float32
# Value of shadowed pixels in Sen2Cor 3's shadow map (hard-coded in Sen2Cor 3).
SHADOW_VALUE = 1


@dataclass(frozen=True)
class TerrainMaps:
    """DEM-derived layers at the classification grid."""

    slope_deg: np.ndarray      # float32
    cos_incidence: np.ndarray  # float32, cosine of the local solar incidence angle
    shadow_map: np.ndarray     # uint8: 1 = topographic shadow, else round(255 * cos_incidence)
    cast_shadow: np.ndarray    # bool


def slope_aspect(dem: np.ndarray, resolution_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Slope (deg) and aspect (deg clockwise from north, downslope direction), Horn's method."""
    z = dem.astype(F32, copy=False)
    dzdx = ndimage.sobel(z, axis=1, mode="nearest") / F32(8 * resolution_m)   # east
    dzdy = -ndimage.sobel(z, axis=0, mode="nearest") / F32(8 * resolution_m)  # north
    slope = np.degrees(np.arctan(np.hypot(dzdx, dzdy))).astype(F32)
    aspect = (np.degrees(np.arctan2(-dzdx, -dzdy)) % 360.0).astype(F32)
    return slope, aspect


def cos_incidence(slope_deg, aspect_deg, sza_deg: float, saa_deg: float) -> np.ndarray:
    """Cosine of the angle between the sun and the local surface normal."""
    s, a = np.radians(slope_deg), np.radians(aspect_deg)
    z, az = math.radians(sza_deg), math.radians(saa_deg)
    c = math.cos(z) * np.cos(s) + math.sin(z) * np.sin(s) * np.cos(az - a)
    return c.astype(F32)


def cast_shadows(dem: np.ndarray, sza_deg: float, saa_deg: float, resolution_m: float) -> np.ndarray:
    """True where the terrain between the pixel and the sun hides the sun."""
    if sza_deg >= 90.0:
        return np.ones(dem.shape, dtype=bool)
    tan_e = math.tan(math.radians(90.0 - sza_deg))
    z = dem.astype(F32, copy=True)
    lowest = F32(np.nanmin(z)) if np.isfinite(z).any() else F32(0)
    z[~np.isfinite(z)] = lowest
    # Rotate so that the sun direction points to increasing column index.
    angle = saa_deg - 90.0
    pad = F32(lowest - 1e6)
    zr = ndimage.rotate(z, angle, reshape=True, order=1, mode="constant", cval=pad)
    inside = ndimage.rotate(np.ones(z.shape, F32), angle, reshape=True, order=0, cval=0) > 0.5
    t = np.arange(zr.shape[1], dtype=F32) * F32(resolution_m * tan_e)
    g = zr - t[None, :]
    g[~inside] = pad
    # max over pixels strictly closer to the sun (larger column index)
    run = np.maximum.accumulate(g[:, ::-1], axis=1)[:, ::-1]
    ahead = np.full_like(run, pad)
    ahead[:, :-1] = run[:, 1:]
    shadow_r = (ahead > g) & inside
    back = ndimage.rotate(shadow_r.astype(np.uint8), -angle, reshape=True, order=0, cval=0)
    r0 = (back.shape[0] - z.shape[0]) // 2
    c0 = (back.shape[1] - z.shape[1]) // 2
    return back[r0:r0 + z.shape[0], c0:c0 + z.shape[1]].astype(bool)


def terrain_maps(dem: np.ndarray, sza_deg: float, saa_deg: float, resolution_m: float) -> TerrainMaps:
    """Slope, incidence and Sen2Cor-3-style shadow map (cast shadows 3x3-median filtered)."""
    slope, aspect = slope_aspect(dem, resolution_m)
    cosi = cos_incidence(slope, aspect, sza_deg, saa_deg)
    cast = cast_shadows(dem, sza_deg, saa_deg, resolution_m) | (cosi <= 0)
    cast = masks.median_bool(cast, 3)
    shade = np.rint(np.clip(cosi, 0, 1) * 255).astype(np.uint8)
    shade[shade < 2] = 2        # keep 1 for shadows only, 0 for no data
    shade[cast] = SHADOW_VALUE
    return TerrainMaps(slope, cosi, shade, cast)
