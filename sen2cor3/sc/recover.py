"""Post-classification recoveries shared by the classic and the 3.x chains.

They operate in place on a :class:`State` (class map + cloud/snow probabilities) and use the
ESA CCI maps when the caller provides them (land cover: 190 urban, 200-202 bare, 210 water;
water bodies: 2 = water).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from . import masks
from .spectral_tests import F32, ratio

# Internal working codes (hard-coded in Sen2Cor).
NOT_CLASSIFIED = 100
NOT_SNOW = 50
DARK_NOT_SHADOW = 13

# CCI land-cover codes used by Sen2Cor (hard-coded in Sen2Cor).
LCM_URBAN = 190
LCM_BARE_MIN, LCM_BARE_MAX = 200, 202
LCM_WATER = 210
WBI_WATER = 2
# Land recovery with B10 and B09/B8A (hard-coded in Sen2Cor 2.8/2.9).
LAND_B10_MIN = 0.0015
LAND_MIN_PERCENT = 5.0
LAND_MIN_AREA_M2 = 121e6
HPC_HIGH_PERCENT, HPC_LOW_PERCENT = 20.0, 2.0
LARGE_CLOUD_SIDE_M = 300.0
# Cirrus recovery floors (hard-coded in Sen2Cor).
CIRRUS_LAND_FLOOR, CIRRUS_WATER_FLOOR = 0.0030, 0.0020
# Urban / bare fine-morphology: blobs whose ring is more cloudy than this stay cloud (percent).
RING_CLOUDY_MAX_CLASSIC = 35.0
RING_CLOUDY_MAX_URBAN_V3 = 20.0
# Water-recovery NIR ceiling and soil-recovery B02/B11 bound (hard-coded in Sen2Cor).
WATER_RECOVERY_B8A_MAX = F32(0.3)
SOIL_RECOVERY_R_B02_B11 = F32(0.65)


@dataclass
class State:
    """Mutable working state of one classification."""

    scl: np.ndarray      # uint8, internal codes allowed
    p: np.ndarray        # float32 cloud probability
    s: np.ndarray        # float32 snow probability
    valid: np.ndarray    # bool, neither no-data nor saturated/defective
    c: Any               # classificators

    def is_(self, *codes: int) -> np.ndarray:
        out = self.scl == codes[0]
        for k in codes[1:]:
            out |= self.scl == k
        return out

    def set(self, where: np.ndarray, code: int, p: float | None = None, s: float | None = None) -> None:
        where = where & self.valid
        self.scl[where] = code
        if p is not None:
            self.p[where] = p
        if s is not None:
            self.s[where] = s


def fine_morpho_keep(mask: np.ndarray, cloudy: np.ndarray, ring_cloudy_max: float) -> np.ndarray:
    """Blobs of ``mask`` whose one-pixel ring is at most ``ring_cloudy_max`` % cloudy.

    A bright blob surrounded by clear land is surface, one surrounded by clouds is cloud.
    """
    labels, n = ndimage.label(mask)
    if n == 0:
        return np.zeros(mask.shape, dtype=bool)
    ring = ndimage.grey_dilation(labels, size=(3, 3)) - labels
    total = np.bincount(ring.ravel(), minlength=n + 1)
    cloudy_ring = np.bincount(ring[cloudy], minlength=n + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = cloudy_ring / total * 100.0
    drop = pct > ring_cloudy_max
    drop[0] = True
    return ~drop[labels]


def cloudy_for_ring(st: State) -> np.ndarray:
    c = st.c
    return st.is_(c.unclassified, c.medium_proba_clouds, c.high_proba_clouds, c.thin_cirrus, c.cloud_shadows)


def dark_vegetation(st: State, ndvi_: np.ndarray, r_b8a_b03: np.ndarray, th: Any, zero_probs: bool) -> None:
    """Dark or unclassified pixels with a clear vegetation signal become vegetation."""
    c = st.c
    for test in (ndvi_ > F32(th.t2_ndvi), r_b8a_b03 > F32(th.t2_r_b8a_b03)):
        sub = test & st.is_(c.dark_features, NOT_CLASSIFIED)
        st.set(sub, c.vegetation, *( (0.0, 0.0) if zero_probs else (None, None)))


def water_recovery(st: State, b02, b04, b8a, b11, th: Any) -> None:
    """Dark features or unclassified pixels with a water spectrum become water."""
    c = st.c
    f = (ratio(b02, b11) > F32(th.t22_r_b02_b11)) & (b8a < b04)
    st.set(f & st.is_(c.dark_features), c.water)
    st.set(f & (b8a < WATER_RECOVERY_B8A_MAX) & st.is_(NOT_CLASSIFIED), c.water)


def water_recovery_cci(st: State, wbi: np.ndarray | None, zero_probs: bool) -> None:
    """CCI water bodies turn dark, shadow, unclassified and low-probability pixels to water."""
    if wbi is None:
        return
    c = st.c
    sub = (wbi == WBI_WATER) & st.is_(c.dark_features, c.cloud_shadows, NOT_CLASSIFIED, c.unclassified)
    st.set(sub, c.water, *((0.0, 0.0) if zero_probs else (None, None)))


def soil_recovery_dark(st: State, b02, b11, zero_probs: bool) -> None:
    """Dark features with a soil-like B02/B11 become not-vegetated."""
    sub = (ratio(b02, b11) < SOIL_RECOVERY_R_B02_B11) & st.is_(st.c.dark_features)
    st.set(sub, st.c.not_vegetated, *((0.0, 0.0) if zero_probs else (None, None)))


def land_recovery_b10_b09(st: State, b10, b09, b8a, lcm: np.ndarray | None, resolution_m: float) -> None:
    """Classic: clouds with a ground-level B10 and a land-like B09/B8A become not-vegetated."""
    if lcm is None or b09 is None:
        return
    c = st.c
    land = st.is_(c.not_vegetated, c.vegetation)
    n_valid = float(st.valid.sum())
    n_land = float(land.sum())
    if n_valid == 0 or n_land / n_valid * 100.0 < LAND_MIN_PERCENT or n_land < LAND_MIN_AREA_M2 / resolution_m ** 2:
        return
    hpc = st.is_(c.high_proba_clouds)
    hpc_pct = hpc.sum() / n_valid * 100.0
    land_mean = float(b10[land].mean())
    if hpc_pct > HPC_HIGH_PERCENT:
        t = max(LAND_B10_MIN, min(land_mean, float(b10[hpc].mean() - 2 * b10[hpc].std())))
    elif hpc_pct < HPC_LOW_PERCENT:
        t = land_mean
    else:
        # Sen2Cor takes min(floor, ...) inside max(floor, ...) here, so this is the floor
        # whenever the large-blob statistics are defined.
        keep = masks.remove_small_blobs(hpc, int((LARGE_CLOUD_SIDE_M / resolution_m) ** 2),
                                        masks.CROSS)
        vals = b10[keep]
        stat = float(vals.mean() - 2 * vals.std()) if vals.size else np.nan
        t = max(LAND_B10_MIN, min(LAND_B10_MIN, land_mean, stat)) if np.isfinite(stat) else LAND_B10_MIN
    t = min(t, land_mean)
    r = np.zeros(b10.shape, F32)
    r[st.valid] = b09[st.valid] / b8a[st.valid]
    t_r = float(r[land].mean() + r[land].std())
    sub = (lcm != LCM_WATER) & st.is_(c.medium_proba_clouds, c.high_proba_clouds) & (b10 < t) & (r < t_r)
    st.set(sub, c.not_vegetated)


def cirrus_recovery_classic(st: State, b10, lcm, dem) -> None:
    """Classic: land/water pixels whose B10 stands out of their class statistics become cirrus."""
    if lcm is None:
        return
    c = st.c
    soil, water = st.is_(c.not_vegetated), st.is_(c.water)
    t_land = max(float(b10[soil].mean() + 3 * b10[soil].std()), CIRRUS_LAND_FLOOR) if soil.any() else np.inf
    t_water = max(float(b10[water].mean() + b10[water].std()), CIRRUS_WATER_FLOOR) if water.any() else np.inf
    land = st.is_(c.not_vegetated, c.vegetation)
    low = True if dem is None else dem < 1500.0
    st.scl[land & (b10 > t_land) & low] = c.thin_cirrus
    st.set(st.is_(c.water) & (b10 > t_water) & low, c.thin_cirrus)


def urban_bare_recovery(st: State, lcm, *, urban: np.ndarray, ring_urban: float, zero_probs: bool) -> None:
    """CCI urban and bare areas: unclassified -> not-vegetated; bright blobs not ringed by cloud too."""
    if lcm is None:
        return
    c = st.c
    zp = (0.0, 0.0) if zero_probs else (None, None)
    st.set(urban & st.is_(NOT_CLASSIFIED), c.not_vegetated)
    blobs = urban & st.is_(c.unclassified, c.medium_proba_clouds) & st.valid
    st.set(fine_morpho_keep(blobs, cloudy_for_ring(st), ring_urban), c.not_vegetated, *zp)
    bare = (lcm >= LCM_BARE_MIN) & (lcm <= LCM_BARE_MAX)
    st.set(bare & st.is_(NOT_CLASSIFIED), c.not_vegetated, *zp)
    blobs = bare & st.is_(c.unclassified, c.medium_proba_clouds) & st.valid
    st.set(fine_morpho_keep(blobs, cloudy_for_ring(st), RING_CLOUDY_MAX_CLASSIC), c.not_vegetated, *zp)
