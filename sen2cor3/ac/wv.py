"""Water vapour by APDA: the 945 nm band (B09) against its 865 nm window (B8A), inverted through the tables.

Per pixel: for every node u of the tables' WV axis, invert B8A to a surface reflectance with the atmosphere
at u, predict B09 TOA for the same surface reflectance (APDA assumes a flat spectrum 865-945 nm), and form
the model band ratio R(u) = B09_pred / B8A. R falls with u; the observed ratio is located between nodes and
u interpolated linearly (in sqrt(u), along which the absorption is nearly linear). Because the path
reflectance of each band is recomputed at every node, this is Sen2Cor's ratio (L - Lp(u)) iterated to
convergence rather than its 2 iterations, and it uses each pixel's own brightness instead of albedo 0.3.
Then Sen2Cor's post-processing (Sen2Cor 3 L2A_AtmCorr.py ``wv_retrieval_apda1``, then the WV map smoothing of
``rho_retrieval_step1``): the land mean over SCL 4/5/11, every other class replaced by it when ``WV_Watermask`` > 0
(Sen2Cor 3 tests ``iwv_watermask > 0``: its GIPP's "2: line-average" is never implemented, 2 acts as 1), columns
below 0.01 cm replaced by it, no data 0, then a 3x3 median (whatever the width ``Smooth_WV_Map`` gives, only that
width > 1 pixel switches it on). GRANULE_MEAN_WV is the mean of the written WVP where > 0 (``L2A_Quality``).

Failed retrievals (Sen2Cor L2A_AtmCorr.py ``apda_iter`` / ``wv_retrieval_apda1``): Sen2Cor inverts a fitted
R(u) analytically, calls a ratio outside (0, 1] an outlier (column 0) and replaces every column below 0.01 cm by
the land mean. Our inversion is bounded by the table's WV axis, so its outliers are the ratios the tables cannot
reach: an observed ratio at or above the model ratio of the first node (no column absorbs that little: bright
high clouds above the vapour, thin cirrus) or at or below that of the last node (more absorption than any
column: dark or shadowed pixels, noise). Clamped, they would read as the table floor / cap; they are failures
instead, take the land mean like the other failures, and are left out of that mean (Sen2Cor's mean includes its
outliers' zeros; a mean over successful retrievals only is the one a fill value should be).

Units: the retrieval works in the tables' WV unit, which for 6S tables is the *input* column (sea-level
referenced: at elevation z only ``wv * wv_column_fraction(z)`` lies above the surface, rt.sixs). The WVP
product is the column above the surface: ``column_fraction`` converts, per pixel elevation.
"""
from __future__ import annotations

import sys
from typing import Any, Callable

import numpy as np
from scipy.ndimage import median_filter

from .settings import DEFAULTS
from .surface import forward, invert

F32 = np.float32
MIN_SIGNAL = 0.01        # B8A TOA minus path below this: ratio meaningless (water, deep shadow; ours)
#: A column below this (cm) is replaced by the land mean (Sen2Cor 3 L2A_AtmCorr.py ``wv_retrieval_apda1``:
#: ``wv < 10`` on its cm x 1000 map, "avoid numerical difficulties").
WV_MIN_CM = 0.01
#: Smoothing kernel of the WV map (Sen2Cor 3 L2A_AtmCorr.py ``rho_retrieval_step1``: ``median_filter(wv, (3, 3))``).
MEDIAN_SIZE = 3
#: Largest smoothing width (pixels) Sen2Cor 3 computes from Smooth_WV_Map (``rho_retrieval_step1``: min(..., 51)).
SMOOTH_MAX_PX = 51
#: Smallest B8A TOA reflectance as a ratio denominator (ours).
RATIO_DEN_MIN = 1e-4


def column_fraction(model: Any, z_km: Any) -> np.ndarray:
    """Fraction of the model's WV value that lies above a surface at ``z_km``: ``wv_column_fraction`` of the
    model (attribute) or of its tables function's module (rt.tables: 6S convention); 1 when the model does
    not declare one (its WV is then the column above the target, e.g. ``ac.synthetic``)."""
    f = getattr(model, "wv_column_fraction", None)
    if f is None:
        fn = getattr(model, "fn", None)
        f = getattr(fn, "wv_column_fraction", None) or getattr(
            sys.modules.get(getattr(fn, "__module__", "") or ""), "wv_column_fraction", None)
    z = np.asarray(z_km, np.float64)
    return np.ones(z.shape) if f is None else np.asarray(f(z), np.float64)


def model_ratios(b8a: np.ndarray, terms_b8a: Callable[[float], dict], terms_b09: Callable[[float], dict],
                 nodes: np.ndarray) -> np.ndarray:
    """(n_nodes, ...) predicted B09/B8A TOA ratio of each pixel at each WV node."""
    out = np.empty((len(nodes),) + b8a.shape, F32)
    for k, u in enumerate(nodes):
        t8, t9 = terms_b8a(float(u)), terms_b09(float(u))
        rho = invert(b8a, t8, cutoff=None)
        out[k] = forward(rho, t9) / np.maximum(b8a, RATIO_DEN_MIN)
    return out


def invert_ratio(ratio_obs: np.ndarray, ratios: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """WV per pixel where the model ratio equals the observed one (clamped to the node range)."""
    s = np.sqrt(np.asarray(nodes, np.float64))
    d = ratios - ratio_obs[None]                      # decreasing in u
    n = len(nodes)
    below = d < 0
    k = np.where(below.any(axis=0), np.argmax(below, axis=0), n)  # first node with model < observed
    k1 = np.clip(k, 1, n - 1)
    k0 = k1 - 1
    d0 = np.take_along_axis(d, k0[None], 0)[0]
    d1 = np.take_along_axis(d, k1[None], 0)[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(np.abs(d0 - d1) > 1e-9, d0 / (d0 - d1), 0.0)
    w = np.clip(w, 0.0, 1.0)
    sq = s[k0] + w * (s[k1] - s[k0])
    return (sq * sq).astype(F32)


def smooth_size(smooth_m: float, res_m: float, shape: tuple[int, ...] | None = None) -> int:
    """Smoothing width Sen2Cor 3 derives from Smooth_WV_Map (L2A_AtmCorr.py ``rho_retrieval_step1``): round(metres /
    pixel) within 1..51, at most half the image side, forced odd (100 m: 3 px at 60 m, 5 px at 20 m); 0 when
    Smooth_WV_Map is 0. It only gates the smoothing: Sen2Cor 3 then applies a 3x3 median (``MEDIAN_SIZE``)."""
    if smooth_m <= 0:
        return 0
    n = int(min(max(smooth_m / res_m, 1.0), SMOOTH_MAX_PX) + 0.5)
    if shape is not None:
        n = int(min(n, min(shape) / 2))
    return n + 1 if n % 2 == 0 else n


def retrieve_wv(b8a: np.ndarray, b09: np.ndarray, terms_b8a: Callable[[float], dict],
                terms_b09: Callable[[float], dict], nodes: np.ndarray, valid: np.ndarray, land: np.ndarray,
                res_m: float, smooth_m: float = DEFAULTS.smooth_wv_map_m, watermask: int = DEFAULTS.wv_watermask,
                default_wv: float = DEFAULTS.wv_iter_start_summer_cm) -> tuple[np.ndarray, dict]:
    """WV map (g/cm2 = cm) on the working grid and {'mean_land': ..., 'retrieved_pct': ...}.

    ``land``: pixels where APDA is trusted (SCL 4, 5, 11 as Sen2Cor). Failed pixels (too little signal, a ratio
    outside the tables' range: module docstring, a column below ``WV_MIN_CM``) and, when ``watermask`` > 0, the
    non-land pixels take the mean of the successful land retrievals (Sen2Cor 3 ``wv_retrieval_apda1``; 0: non-land
    pixels keep their own retrieval); no data -> 0; then the 3x3 median (``smooth_size``).
    ``mean``: mean of the map's valid pixels; ``retrieved_pct``: successful land retrievals, % of valid pixels.
    """
    b8a = np.asarray(b8a, F32)
    ratios = model_ratios(b8a, terms_b8a, terms_b09, nodes)
    path8 = terms_b8a(float(nodes[len(nodes) // 2]))["path"]
    ok = valid & (b8a - path8 > MIN_SIGNAL) & (b09 > 0)
    ratio = np.where(ok, np.asarray(b09, F32) / np.maximum(b8a, RATIO_DEN_MIN), 0.0)
    wv = invert_ratio(ratio, ratios, nodes)
    # a ratio the tables cannot produce (module docstring): a failed retrieval, not the floor or cap column
    ok &= (ratio < ratios[0]) & (ratio > ratios[-1])
    ok &= wv >= WV_MIN_CM                              # Sen2Cor 3: wv < 10 (cm x 1000) -> land mean
    good = ok & land
    mean_land = float(np.mean(wv[good])) if good.any() else float(default_wv)
    wv = np.where(ok, wv, np.nan)
    if watermask > 0:                                  # Sen2Cor 3 wv_retrieval_apda1: iwv_watermask > 0
        wv = np.where(land, wv, mean_land)
    wv = np.where(np.isfinite(wv), wv, mean_land).astype(F32)
    if smooth_size(smooth_m, res_m, wv.shape) > 1:
        # Sen2Cor 3 rho_retrieval_step1: median_filter(wv, (3, 3)) of the whole map. Its no-data pixels are 0
        # there (scipy's default 'reflect' edges), which pulls valid pixels along the footprint border towards 0,
        # down to a WVP of 0 (no data) in corners; here no data holds the land mean ('nearest' edges) instead.
        wv = median_filter(wv, size=MEDIAN_SIZE, mode="nearest")
    wv = np.where(valid, wv, 0.0).astype(F32)
    info = {"mean_land": mean_land, "mean": float(np.mean(wv[valid])) if valid.any() else 0.0,
            "retrieved_pct": 100.0 * float(good.sum()) / max(int(valid.sum()), 1)}
    return wv, info
