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
import weakref
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from sen2cor3.heap import release_free_memory
from sen2cor3.strips import run_strips

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


def slope_aspect(dem: np.ndarray, resolution_m, degrees: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Slope and aspect of a height field by Horn's method: the one implementation of the processor.

    The scene classification (``terrain_maps``), the atmospheric correction (``ac.correct.terrain_fields``,
    in radians) and the aux reader (``auxdata.dem.terrain_from_height``) all call this. It is what GDAL's
    DEMProcessing computes, i.e. Sen2Cor's ``gdaldem slope|aspect -compute_edges`` (equal to float32
    rounding). Convention:

    * grid: north-up, rows run north to south, columns west to east; ``resolution_m``: the pixel size (m),
      or (x size, y size);
    * Horn: on the 3x3 window ``a b c / d e f / g h i``, dz/dEast = ((c + 2f + i) - (a + 2d + g)) / (8 dx),
      dz/dNorth = ((a + 2b + c) - (g + 2h + i)) / (8 dy);
    * slope: angle of the surface from the horizontal, [0, 90] deg. Aspect: azimuth of the downslope
      direction (the way the slope faces), clockwise from grid north, [0, 360) deg, 0 on flat ground
      (GDAL's ``-zero_for_flat``). Radians for both with ``degrees=False``;
    * edges (GDAL's ``-compute_edges``): a missing row or column of the window is extrapolated linearly
      (2 x edge - next inner line); at the four corner pixels GDAL repeats the edge column instead
      (a quirk kept for equality). No data (NaN): a NaN neighbour takes the centre's height, a NaN centre
      gives NaN.

    Float32 throughout (one tile at 10 m is 120 M pixels); no padded copy of the DEM. A DEM taller than
    2 x SLOPE_STRIP_ROWS without no-data is computed in strips of rows, each with one DEM row above and below
    it (Horn's window), keeping only its own rows: the same values, without the ~5 DEM-sized temporaries of a
    whole-grid pass (2.4 GB at 10 m). With no-data the whole grid is done at once (the NaN-safe path rounds
    differently from the fast one).
    """
    z = np.asarray(dem, F32)
    ny = z.shape[0]
    if ny <= 2 * SLOPE_STRIP_ROWS or not np.isfinite(z).all():
        return _slope_aspect_grid(z, resolution_m, degrees)
    slope, aspect = np.empty(z.shape, F32), np.empty(z.shape, F32)
    starts = list(range(0, ny, SLOPE_STRIP_ROWS))
    if ny - starts[-1] < 2:                      # every strip with its halo keeps >= 3 rows (Horn's fast path)
        starts.pop()

    def strip(r0: int, r1: int) -> None:
        slope[r0:r1], aspect[r0:r1] = slope_aspect_rows(lambda h0, h1: z[h0:h1], ny, r0, r1, resolution_m, degrees)
    run_strips(strip, zip(starts, starts[1:] + [ny]))     # disjoint rows: on the two cores
    release_free_memory()     # the strips' temporaries, kept by the threads' heaps otherwise (+0.1 GB at 10 m)
    return slope, aspect


#: Rows per strip of :func:`slope_aspect` (two strips at a time: ~0.1 GB of temporaries on a 10 m tile).
SLOPE_STRIP_ROWS = 256


def slope_aspect_rows(rows_of, ny: int, r0: int, r1: int, resolution_m, degrees: bool = True
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Rows r0:r1 of :func:`slope_aspect` of a NaN-free height field of ``ny`` rows given by its rows
    (``rows_of(h0, h1)``): the rows with Horn's one-row halo above and below, cropped. The values of the whole
    field's (its strips are these), for a field that is never held whole (the 10 m run's heights)."""
    h0, h1 = max(r0 - 1, 0), min(r1 + 1, ny)
    s, a = _slope_aspect_grid(np.asarray(rows_of(h0, h1), F32), resolution_m, degrees)
    return s[r0 - h0:r1 - h0], a[r0 - h0:r1 - h0]


def _slope_aspect_grid(z: np.ndarray, resolution_m, degrees: bool) -> tuple[np.ndarray, np.ndarray]:
    """:func:`slope_aspect` of one float32 grid at once (edges as the grid's own)."""
    rx, ry = (resolution_m, resolution_m) if np.ndim(resolution_m) == 0 else resolution_m
    gx, gy = _horn_sums(z)
    gx *= F32(1.0 / (8.0 * abs(float(rx))))     # dz/dEast
    gy *= F32(1.0 / (8.0 * abs(float(ry))))     # dz/dNorth
    flat = (gx == 0) & (gy == 0)
    aspect = np.arctan2(-gx, -gy)               # downslope azimuth, (-pi, pi]
    if degrees:
        np.degrees(aspect, out=aspect)
    full = F32(360.0 if degrees else 2 * math.pi)
    aspect[aspect < 0] += full
    aspect[(aspect >= full) | flat] = 0.0
    slope = np.hypot(gx, gy, out=gx)
    np.arctan(slope, out=slope)
    if degrees:
        np.degrees(slope, out=slope)
    return slope, aspect


def _horn_sums(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Horn's unscaled sums (east minus west, north minus south) with the edge rules of ``slope_aspect``."""
    ny, nx = z.shape
    if ny < 3 or nx < 3 or not np.isfinite(z).all():
        return _horn_sums_padded(z)
    gx = np.empty(z.shape, F32)
    gy = np.empty(z.shape, F32)
    d = z[:, 2:] - z[:, :-2]                    # east - west, then [1 2 1] across the rows
    c = gx[1:-1, 1:-1]
    np.add(d[:-2], d[2:], out=c)
    c += d[1:-1]
    c += d[1:-1]
    d = z[:-2, :] - z[2:, :]                    # north - south, then [1 2 1] along the rows
    c = gy[1:-1, 1:-1]
    np.add(d[:, :-2], d[:, 2:], out=c)
    c += d[:, 1:-1]
    c += d[:, 1:-1]
    del d, c
    edge = slice(None)
    for line, strip in (((0, edge), (slice(0, 2), edge)), ((-1, edge), (slice(-2, None), edge)),
                        ((edge, 0), (edge, slice(0, 2))), ((edge, -1), (edge, slice(-2, None)))):
        sx, sy = _horn_sums_padded(z[strip])    # a border line needs only the next inner line
        gx[line], gy[line] = sx[line], sy[line]
    return gx, gy


def _horn_sums_padded(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Horn's sums on any grid (NaN-safe): linearly extrapolated border lines, GDAL's corners."""
    ny, nx = z.shape
    p = z
    for axis, n in ((0, ny), (1, nx)):
        width = [(0, 0), (0, 0)]
        width[axis] = (1, 1)
        p = np.pad(p, width, mode="reflect", reflect_type="odd") if n >= 2 else np.pad(p, width, mode="edge")
    holes = np.isnan(p).any()

    def sums(w: list[list[np.ndarray]], centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if holes:
            w = [[np.where(np.isnan(v), centre, v) for v in row] for row in w]
        (a, b, c), (d, _, f), (g, h, i) = w
        return (c + 2 * f + i) - (a + 2 * d + g), (a + 2 * b + c) - (g + 2 * h + i)

    gx, gy = sums([[p[r:r + ny, q:q + nx] for q in range(3)] for r in range(3)], z)
    gx, gy = np.asarray(gx, F32), np.asarray(gy, F32)
    for r in {0, ny - 1}:
        for q in {0, nx - 1}:
            cols = (max(q, 1), q + 1, min(q + 2, nx))   # edge column repeated, rows extrapolated
            gx[r, q], gy[r, q] = sums([[p[r + k, j] for j in cols] for k in range(3)], z[r, q])
    gx[np.isnan(z)] = np.nan
    gy[np.isnan(z)] = np.nan
    return gx, gy


def cos_incidence(slope, aspect, sza_deg, saa_deg, degrees: bool = True) -> np.ndarray:
    """Cosine of the angle between the sun and the local surface normal (SC and AC):
    cos i = cos s cos sza + sin s sin sza cos(saa - aspect).

    ``slope``/``aspect`` as from ``slope_aspect`` (degrees, or radians with ``degrees=False``); sun zenith and
    azimuth (clockwise from north) in degrees, scalars or arrays broadcasting with the slope."""
    if np.ndim(sza_deg) == 0 and np.ndim(saa_deg) == 0 and np.ndim(slope) == 2 \
            and np.shape(slope) == np.shape(aspect):
        # one sun (the classification's): strips of rows, whose float64 temporaries stay small (the whole-grid
        # expression made five DEM-sized float64 arrays, 3 s on a quarter tile at 20 m, most of it page
        # faults); the same element-wise operations
        out = np.empty(np.shape(slope), F32)
        for r0 in range(0, out.shape[0], COS_INCIDENCE_STRIP_ROWS):
            r1 = r0 + COS_INCIDENCE_STRIP_ROWS
            out[r0:r1] = _cos_incidence(slope[r0:r1], aspect[r0:r1], sza_deg, saa_deg, degrees)
        return out
    return _cos_incidence(slope, aspect, sza_deg, saa_deg, degrees)


#: Rows per strip of :func:`cos_incidence` with a scalar sun.
COS_INCIDENCE_STRIP_ROWS = 64


def _cos_incidence(slope, aspect, sza_deg, saa_deg, degrees: bool) -> np.ndarray:
    s, a = (np.radians(slope), np.radians(aspect)) if degrees else (slope, aspect)
    th, ph = np.radians(sza_deg), np.radians(saa_deg)
    return (np.cos(s) * np.cos(th) + np.sin(s) * np.sin(th) * np.cos(ph - a)).astype(F32)


#: Rows of the rotated grid per strip of the horizon scan in ``cast_shadows``.
CAST_SHADOW_STRIP_ROWS = 1024


def cast_shadows(dem: np.ndarray, sza_deg: float, saa_deg: float, resolution_m: float,
                 strip_rows: int = CAST_SHADOW_STRIP_ROWS) -> np.ndarray:
    """:func:`_cast_shadows`, remembered for the last DEM array asked (the result is read-only to callers).

    Why: the classification (``terrain_maps``) and the correction's base-grid terrain fields
    (``ac.correct.terrain_fields``) ask for the shadows of the same DEM array with the same tile-mean sun:
    three rotations of the grid once instead of twice (1.1 s CPU on a quarter tile at 20 m). The memo holds
    one entry and forgets it when its DEM array is freed (the 10 m run's heights are a temporary)."""
    key = (id(dem), np.shape(dem), float(sza_deg), float(saa_deg), float(resolution_m), int(strip_rows))
    hit = _SHADOW_MEMO.get("entry")
    if hit is not None and hit[0] == key and hit[1]() is dem:
        return hit[2]
    _SHADOW_MEMO.clear()
    out = _cast_shadows(dem, sza_deg, saa_deg, resolution_m, strip_rows)
    if isinstance(dem, np.ndarray):
        out.flags.writeable = False
        _SHADOW_MEMO["entry"] = (key, weakref.ref(dem, lambda _ref: _SHADOW_MEMO.clear()), out)
    return out


#: The one entry of :func:`cast_shadows`'s memo: (key, weak reference to the DEM array, shadows).
_SHADOW_MEMO: dict = {}


def _cast_shadows(dem: np.ndarray, sza_deg: float, saa_deg: float, resolution_m: float,
                  strip_rows: int = CAST_SHADOW_STRIP_ROWS) -> np.ndarray:
    """True where the terrain between the pixel and the sun hides the sun (SC class 2 and the AC's shadowed
    direct irradiance, ``ac.terrain.cast_shadow``).

    The steps (DEM rotated so that the sun lies towards increasing columns, running maximum of the
    heights minus the sun ray's rise, rotated back) with the memory of a 10 m tile in mind: the rotated heights
    are lowered in place and scanned in strips of ``strip_rows`` rows (every row is independent), the
    inside-mask is rotated as uint8, and no full-size copy of the running maximum or of its shifted version is
    made, nor a copy of a DEM without no-data (about 3 DEM-sized float32 arrays at the peak; the whole-grid
    version, kept in tests/test_sc_shadows.py as the reference, held about 10)."""
    dem = np.asarray(dem)
    if sza_deg >= 90.0:
        return np.ones(dem.shape, dtype=bool)
    tan_e = math.tan(math.radians(90.0 - sza_deg))
    z = np.asarray(dem, F32)                     # read only: copied below only to fill no-data
    shape = z.shape
    finite = np.isfinite(z)
    lowest = F32(np.nanmin(z)) if finite.any() else F32(0)
    if not finite.all():
        z = z.copy()
        z[~finite] = lowest
    del finite
    angle = saa_deg - 90.0                       # rotate the sun direction to increasing column index
    pad = F32(lowest - 1e6)
    zr = ndimage.rotate(z, angle, reshape=True, order=1, mode="constant", cval=pad)
    del z
    # nearest-neighbour rotation of ones: 1 inside the rotated tile, 0 (cval) outside, as a bool view
    inside = ndimage.rotate(np.ones(shape, np.uint8), angle, reshape=True, order=0, cval=0).view(bool)
    t = np.arange(zr.shape[1], dtype=F32) * F32(resolution_m * tan_e)
    shadow_r = np.empty(zr.shape, bool)
    for r0 in range(0, zr.shape[0], strip_rows):
        r1 = min(zr.shape[0], r0 + strip_rows)
        g = zr[r0:r1]
        np.subtract(g, t[None, :], out=g)        # height above the sun ray through column 0
        g[~inside[r0:r1]] = pad
        run = np.maximum.accumulate(g[:, ::-1], axis=1)[:, ::-1]
        s = shadow_r[r0:r1]                      # a higher point strictly closer to the sun (larger column)
        np.greater(run[:, 1:], g[:, :-1], out=s[:, :-1])
        np.greater(pad, g[:, -1], out=s[:, -1])
        s &= inside[r0:r1]
        del run, g, s
    del zr, inside
    back = ndimage.rotate(shadow_r.view(np.uint8), -angle, reshape=True, order=0, cval=0)
    del shadow_r
    r0 = (back.shape[0] - shape[0]) // 2
    c0 = (back.shape[1] - shape[1]) // 2
    return back[r0:r0 + shape[0], c0:c0 + shape[1]].astype(bool)


def terrain_maps(dem: np.ndarray, sza_deg: float, saa_deg: float, resolution_m: float,
                 slope_aspect_deg: tuple[np.ndarray, np.ndarray] | None = None) -> TerrainMaps:
    """Slope, incidence and Sen2Cor-3-style shadow map (cast shadows 3x3-median filtered).

    ``slope_aspect_deg``: ``slope_aspect(dem, resolution_m)`` when already at hand on this grid (the DEM
    reader's ``slope_deg``/``aspect_deg``), used instead of recomputing it."""
    slope, aspect = slope_aspect(dem, resolution_m) if slope_aspect_deg is None else slope_aspect_deg
    cosi = cos_incidence(slope, aspect, sza_deg, saa_deg)
    cast = cast_shadows(dem, sza_deg, saa_deg, resolution_m) | (cosi <= 0)
    cast = masks.median_bool(cast, 3)
    shade = np.rint(np.clip(cosi, 0, 1) * 255).astype(np.uint8)
    shade[shade < 2] = 2        # keep 1 for shadows only, 0 for no data
    shade[cast] = SHADOW_VALUE
    return TerrainMaps(slope, cosi, shade, cast)
