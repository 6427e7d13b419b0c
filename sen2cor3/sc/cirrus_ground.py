"""Ground signal in the cirrus band B10 under a dry atmosphere (a documented deviation from Sen2Cor).

Sen2Cor's cirrus tests compare the TOA reflectance of B10 (1375 nm) with fixed thresholds (GIPP
T1_B10 = 0.012, T2_B10 = 0.035), on the premise that the water-vapour column absorbs everything the
ground sends in this band, so that any B10 signal comes from a scatterer above the vapour (cirrus).
Its only guard is altitude: no cirrus flags above 1500 m, where the air above the ground is dry
(``L2A_SceneClass_evolution.L2A_CSND_7`` in Sen2Cor 3; the adaptive thresholds of
``L2A_CirrusPixelRecoveryB10`` need the CCI land cover and are capped at T1_B10, so they only ever
lower the threshold).  The premise fails in dry air at any altitude: the two-way water transmittance
of B10 is ~5-7 % for a 0.4-0.5 g/cm2 column at a 2.1 airmass (6S, our tables), so a vegetated or
soil surface of 0.3-0.4 reflectance at 1375 nm sends 0.015-0.03 to the sensor, above T1_B10: Sen2Cor
then calls most clear land thin cirrus (and its AC finds no DDV reference pixel).

The deviation: the B10 reflectance compared with Sen2Cor's thresholds is the excess over what the
surface itself can send through the pixel's own water column,

    B10_cirrus = B10 - Tw_B10(x) * max(B8A, B11),

* x = water-vapour path (column x airmass) from the B09/B8A ratio of clear land (median per 1.2 km
  cell, see CELL_M), read as the two-way water
  transmittance of B09, Tw_B09(x) (the APDA assumption of a flat surface spectrum 865-945 nm, the one
  Sen2Cor's own WV retrieval makes); Tw_B09 and Tw_B10 are the band-averaged 6S water transmittances
  of our atmosphere tables (``sen2cor3/rt``) as functions of that same path, at the scene elevation.
  Both bands see the same airmass, so no geometry is needed;
* B09 and B10 are 60 m bands: at 20 m the ratio's denominator B8A and the surface term are averaged
  over the 3x3 (60 m) footprint (B09/B10 arrive bilinearly up-sampled), else parcel edges show the
  footprint mismatch as spurious cirrus;
* max(B8A, B11): an upper bound of the surface reflectance at 1375 nm, which lies between the NIR
  plateau (865 nm) and SWIR-1 (1610 nm) for soils and, for vegetation, on the leaf-water shoulder
  below the plateau; scattering transmittances (<= 1) are left out, again an upper bound.

Only the part of the estimate above 0.003 is taken off (``classify._cirrus_signal``): Sen2Cor's own
cirrus recovery never sets a clear-land B10 threshold below that floor, i.e. its thresholds already
tolerate that much ground signal.  In moist air (Sen2Cor's design case) the estimate stays below it and
the classes are exactly Sen2Cor's (measured: 0 of 32400 pixels changed on the simulator's WV 2-4
scenes, 5 of 438272 on the real Betsiboka sample); in dry air it removes the ground signal.  It is applied
only to pixels that the spectral tests recognised as a surface (vegetation, not-vegetated, water, or cloud probability 0), because the
B09/B8A ratio of an elevated cloud measures the vapour above the cloud, not below it.  Thin cirrus
over dry ground is still flagged when its own B10 signal exceeds T1_B10.  Without a 945 nm band
(Landsat OLI: B9 is the cirrus band, no water-vapour band) the water path is the column the correction
will use (CAMS, else the GIPP start value) times the two-way airmass of the scene geometry; the same 6S
curve then gives Tw at 1375 nm.  Without the tables, or without any water column, the estimate is None
and Sen2Cor's tests run unchanged; ``classify(..., cirrus_ground_guard=False)`` restores Sen2Cor's
behaviour.
"""
from __future__ import annotations

import math
import warnings
from functools import lru_cache

import numpy as np
from scipy import ndimage

from sen2cor3.blocks import block_mean

F32 = np.float32
#: Sensor whose tables give the band water transmittances when the caller does not say (S2A/S2B/S2C
#: B09/B10 spectral responses differ by a few nm; the effect on the estimate is far below its bounds).
DEFAULT_SENSOR = "S2A"
#: Native resolution of B09 and B10 (m).
SIXTY_M = 60.0
#: The water column is taken as the median over cells of this side (m) of the B09/B8A ratio of clear
#: land pixels whose NIR is at least REF_B8A_MIN (the surface dominates B8A and B09 there; over water or
#: dark ground a cirrus layer's own, unabsorbed, B8A/B09 signal would read as a dry column). Cells with
#: fewer than CELL_MIN_FRACTION such pixels take the scene median.
CELL_M = 1200.0
REF_B8A_MIN = 0.15
CELL_MIN_FRACTION = 0.05


@lru_cache(maxsize=16)
def _curves(sensor: str, elevation_km: float, wv_band: str | None = "B09",
            cirrus_band: str = "B10") -> tuple[np.ndarray, np.ndarray | None, np.ndarray] | None:
    """(log water path nodes, Tw of the WV band, Tw of the cirrus band) at ``elevation_km`` from the 6S tables,
    or None (the WV curve None when ``wv_band`` is None)."""
    try:
        from sen2cor3.rt import tables
        if not tables.tables_available():
            return None
        t = tables.load_tables(sensor)
    except (ImportError, FileNotFoundError, KeyError, OSError, ValueError):
        return None
    bands = list(t["_bands"])
    if cirrus_band not in bands or (wv_band is not None and wv_band not in bands):
        return None
    gz, xw = np.asarray(t["_axes"]["gz"], np.float64), np.asarray(t["_axes"]["xw"], np.float64)
    z = float(np.clip(elevation_km, gz[0], gz[-1]))
    k = int(np.clip(np.searchsorted(gz, z) - 1, 0, len(gz) - 2))
    w = (z - gz[k]) / (gz[k + 1] - gz[k])

    def curve(band: str) -> np.ndarray:
        tw = np.asarray(t["tg_wv"][bands.index(band)], np.float64)
        return (1.0 - w) * tw[k] + w * tw[k + 1]

    return xw, (curve(wv_band) if wv_band is not None else None), curve(cirrus_band)


def _block_mean(a: np.ndarray, n: int) -> np.ndarray:
    """Mean over n x n blocks (edge blocks over their valid part), float32."""
    return a if n == 1 else block_mean(a, n).astype(F32)


def _cell_median(r: np.ndarray, ok: np.ndarray, n: int) -> np.ndarray:
    """Median of ``r`` over the ``ok`` pixels of each n x n cell (one value per cell); cells with fewer
    than CELL_MIN_FRACTION reference pixels take the scene median. Needs ok.any()."""
    h, w = r.shape
    ph, pw = -h % n, -w % n
    a = np.pad(np.where(ok, r, np.nan), ((0, ph), (0, pw)), constant_values=np.nan)
    ch, cw = a.shape[0] // n, a.shape[1] // n
    blocks = a.reshape(ch, n, cw, n).transpose(0, 2, 1, 3).reshape(ch, cw, n * n)
    count = np.isfinite(blocks).sum(axis=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)          # all-NaN cells: replaced below
        med = np.nanmedian(blocks, axis=2)
    return np.where(count >= CELL_MIN_FRACTION * n * n, med, float(np.median(r[ok])))


def ground_b10(b8a: np.ndarray, b09: np.ndarray | None, b11: np.ndarray, reference: np.ndarray, *,
               resolution_m: float = 20.0, elevation_m: float = 0.0,
               sensor: str | None = None, native_m: float = SIXTY_M,
               wv_column_gcm2: float | None = None, airmass: float | None = None,
               bands: tuple[str, str] = ("B09", "B10")) -> np.ndarray | None:
    """Upper estimate of the clear-sky TOA B10 reflectance sent by the surface (see module doc).

    ``reference``: clear land pixels (vegetation, not vegetated) whose B09/B8A ratio measures the water
    column. None when B09, the atmosphere tables or reference pixels are missing (the caller then keeps
    Sen2Cor's tests). Without B09: ``wv_column_gcm2`` (the column above the surface) and ``airmass`` (two-way)
    give the water path instead; ``bands``: the table bands of the water-vapour and cirrus roles."""
    if b09 is None:
        if wv_column_gcm2 is None or airmass is None:
            return None
        return _ground_from_column(b8a, b11, wv_column_gcm2, airmass, resolution_m, elevation_m, sensor,
                                   native_m, bands[1])
    cur = _curves((sensor or DEFAULT_SENSOR).upper(), round(float(elevation_m) / 1000.0, 2), *bands)
    if cur is None:
        return None
    xw, t9, t10 = cur
    b8a = np.asarray(b8a, F32)
    h, w = b8a.shape
    n = max(1, int(round(float(native_m) / float(resolution_m))))   # B09/B10 native pixels
    # the water column: B09/B8A on the 60 m grid (B09's own), median per cell over reference pixels
    b8a60, b0960 = _block_mean(b8a, n), _block_mean(np.asarray(b09, F32), n)
    ok60 = (_block_mean(reference.astype(F32), n) >= 0.5) & (b8a60 >= REF_B8A_MIN)
    if not ok60.any():
        return None
    m = max(1, int(round(CELL_M / (n * float(resolution_m)))))
    r = _cell_median(b0960 / np.maximum(b8a60, F32(1e-4)), ok60, m)
    # Tw_B09 falls with the path: invert on the reversed (increasing) curve, then Tw_B10 at that path
    tw10 = np.interp(np.interp(np.clip(r, t9.min(), 1.0), t9[::-1], xw[::-1]), xw, t10).astype(F32)
    tw10 = np.repeat(np.repeat(tw10, m * n, axis=0), m * n, axis=1)[:h, :w]
    surf = np.maximum(b8a, np.asarray(b11, F32))
    if n > 1:                                      # the 60 m footprint of B10
        surf = ndimage.uniform_filter(surf, n, mode="nearest")
    return (tw10 * surf).astype(F32, copy=False)


def column_b10_transmittance(wv_column_gcm2: float, airmass: float, elevation_m: float, sensor: str | None,
                             cirrus_band: str) -> np.float32 | None:
    """The cirrus band's water transmittance of the two-way path through a given water column (sensors without
    a 945 nm band): one value for the scene; None without the tables or a usable column."""
    from sen2cor3.rt.sixs import wv_input_for_column
    z_km = round(float(elevation_m) / 1000.0, 2)
    cur = _curves((sensor or DEFAULT_SENSOR).upper(), z_km, None, cirrus_band)
    if cur is None or not np.isfinite(wv_column_gcm2) or wv_column_gcm2 <= 0:
        return None
    xw, _, t10 = cur
    x = math.log(max(float(wv_input_for_column(wv_column_gcm2, z_km)) * float(airmass), 1e-4))
    return F32(np.interp(x, xw, t10))


def footprint_px(native_m: float, resolution_m: float) -> int:
    """Pixels of the grid per native pixel of the cirrus band (its footprint the ground term averages over)."""
    return max(1, int(round(float(native_m) / float(resolution_m))))


def ground_from_surface(nir, swir1, tw10: np.float32, n: int) -> np.ndarray:
    """The ground term: the brighter of NIR and SWIR1 (over the band's ``n`` x ``n`` footprint) times the cirrus
    band's water transmittance. Per pixel when ``n`` is 1 (rows of a grid give the rows of the result)."""
    surf = np.maximum(np.asarray(nir, F32), np.asarray(swir1, F32))
    if n > 1:
        surf = ndimage.uniform_filter(surf, n, mode="nearest")
    return (tw10 * surf).astype(F32, copy=False)


def _ground_from_column(nir, swir1, wv_column_gcm2: float, airmass: float, resolution_m: float,
                        elevation_m: float, sensor: str | None, native_m: float, cirrus_band: str):
    """The ground term with a given water column (sensors without a 945 nm band)."""
    tw10 = column_b10_transmittance(wv_column_gcm2, airmass, elevation_m, sensor, cirrus_band)
    if tw10 is None:
        return None
    return ground_from_surface(nir, swir1, tw10, footprint_px(native_m, resolution_m))
