"""Aerosol optical thickness (550 nm) by dark dense vegetation, with Sen2Cor's fall-backs.

Reference pixels: vegetation (SCL 4) whose B12 surface reflectance lies in (AC_Swir_Refl_Lower_Th, thr),
TOA red <= AC_Ddv_16um_Refl_Th1, TOA NDVI(B8A, B04) > AC_Swir_Refl_Ndvi_Th, TOA B8A < 0.38, sun < 75 deg,
>= ~1 km from clouds, not cloud shadow; thr = AC_Ddv_Swir_Refl_Th1..3 in turn until the reference pixels
cover AC_Min_Ddv_Area % of the land. Their red surface reflectance is AC_Swir_22um_Red_Refl_Ratio x B12 (and
blue = AC_Red_Blue_Refl_Ratio x red). Per pixel, the AOT is where the predicted TOA red crosses the observed
one along the AOT nodes. Then Sen2Cor's negative-reflectance and green/red checks (visibility steps), and a
map. Without reference pixels: CAMS (if given and VIS_Update_Mode > 0), else the GIPP Visibility (DEFAULT).

Adjacency (``env``): a dark DDV pixel among brighter fields receives, through the diffuse upward transmittance,
light from its ~1 km surroundings; ignoring it would read that light as aerosol path radiance and
over-estimate the AOT. When the correction applies adjacency, the DDV prediction, the B12 reference and the
checks use the same model as the final inversion: rho_env = the Adj_Km box mean of a uniform inversion at the
current AOT (``env(band, aot)``), q = t_up_dif / t_up (``surface.forward/invert`` with ``rho_env``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.ndimage import uniform_filter

from .atmos import koschmieder_aot, visibility_from_aot
from .smooth import gaussian_nearest
from .surface import forward, invert

F32 = np.float32
TermsAt = Callable[[str, float], dict]          # (band, aot550) -> derived terms on the working grid
EnvAt = Callable[[str, float], np.ndarray]      # (band, aot550) -> environment reflectance on the working grid


@dataclass
class DdvParams:
    """AC GIPP values used here (defaults = the shipped L2A_CAL_AC_GIPP)."""
    min_ddv_area: float = 2.0
    swir_refl_lower_th: float = 0.01
    swir_22um_red_refl_ratio: float = 0.5
    red_blue_refl_ratio: float = 0.5
    cut_off_aot_iter_vegetation: float = 0.01
    cut_off_aot_iter_water: float = -0.005
    swir_refl_ndvi_th: float = 0.10
    ddv_swir_refl_th: tuple[float, float, float] = (0.05, 0.10, 0.12)
    ddv_16um_refl_th1: float = 0.10
    ddv_smoothing_window_km: float = 1.0


@dataclass
class AotResult:
    aot: np.ndarray                 # AOT550 on the working grid (0 where no data)
    method: str                     # SEN2COR_DDV | CAMS | DEFAULT
    ddv_pct: float
    start_vis_km: float
    ddv_vis_km: float
    final_vis_km: float
    ddv_mask: np.ndarray
    ddv_threshold: float = 0.0
    info: dict = field(default_factory=dict)


def cloud_buffer(cloud: np.ndarray, res_m: float, dist_m: float = 1000.0) -> np.ndarray:
    """Pixels within ~dist of a cloud (box-filtered cloud mask > 5/255, as Sen2Cor)."""
    n = max(3, int(round(dist_m / res_m)) | 1)
    return uniform_filter(cloud.astype(F32), size=n, mode="nearest") > 5.0 / 255.0


def ddv_mask(b12_surf, red_toa, nir_toa, scl, valid, sza, res_m: float, p: DdvParams
             ) -> tuple[np.ndarray, float, float]:
    """(mask, B12 threshold used, DDV % of non-background non-water pixels)."""
    land = valid & (scl != 6)
    n_land = max(int(land.sum()), 1)
    if float(np.mean(scl[valid] == 6)) > 0.99 if valid.any() else True:
        return np.zeros(valid.shape, bool), 0.0, 0.0
    ndvi = (nir_toa - red_toa) / np.maximum(nir_toa + red_toa, 1e-4)
    cloud = np.isin(scl, (8, 9, 10))
    base = (valid & (scl == 4) & (red_toa <= p.ddv_16um_refl_th1) & (ndvi > p.swir_refl_ndvi_th)
            & (nir_toa < 0.38) & (np.cos(np.radians(sza)) > math.cos(math.radians(75.0)))
            & ~cloud_buffer(cloud, res_m) & (scl != 3) & (b12_surf > p.swir_refl_lower_th))
    mask, thr = np.zeros(valid.shape, bool), 0.0
    for thr in p.ddv_swir_refl_th:
        mask = base & (b12_surf < thr)
        if 100.0 * mask.sum() / n_land >= p.min_ddv_area:
            break
    return mask, thr, 100.0 * float(mask.sum()) / n_land


def aot_per_pixel(toa: np.ndarray, rho_target: np.ndarray, t_at: Callable[[float], dict],
                  nodes: np.ndarray, env_at: Callable[[float], np.ndarray | None] | None = None) -> np.ndarray:
    """AOT where forward(rho_target, atm(aot), rho_env) == toa, linear between nodes; beyond -> clamped."""
    pred = np.stack([forward(rho_target, t_at(float(a)), rho_env=None if env_at is None else env_at(float(a)))
                     for a in nodes])   # increasing with AOT
    d = pred - toa[None]
    n = len(nodes)
    above = d > 0
    k = np.where(above.any(axis=0), np.argmax(above, axis=0), n)
    k1 = np.clip(k, 1, n - 1)
    k0 = k1 - 1
    d0 = np.take_along_axis(d, k0[None], 0)[0]
    d1 = np.take_along_axis(d, k1[None], 0)[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.clip(np.where(np.abs(d1 - d0) > 1e-9, -d0 / (d1 - d0), 0.0), 0.0, 1.0)
    nd = np.asarray(nodes, np.float64)
    return (nd[k0] + w * (nd[k1] - nd[k0])).astype(F32)


def raise_visibility(vis: float) -> float:
    """Sen2Cor's visibility step (<23 -> 23; +3 < 26; +4 < 30; +5 < 40; +10 < 100; then 120)."""
    if vis < 23:
        v = 23.0
    elif vis < 26:
        v = vis + 3
    elif vis < 30:
        v = vis + 4
    elif vis < 40:
        v = vis + 5
    elif vis < 100:
        v = vis + 10
    else:
        v = 120.0
    if int(round(v)) % 10 == 9:
        v = round(v) + 1                        # 29 -> 30
    return min(v, 120.0)


def negative_check(vis: float, z_km: float, terms: TermsAt, toa: dict, sel: np.ndarray, p: DdvParams,
                   max_iter: int = 12, env: EnvAt | None = None) -> float:
    """Raise visibility while > 1 % of SCL 4/5 pixels have red < cut-off (veg.) or B8A < cut-off (water)."""
    if not sel.any():
        return vis
    red, nir = toa["B04"][sel], toa["B8A"][sel]
    for _ in range(max_iter):
        a = float(koschmieder_aot(vis, z_km))
        tr, tn = ({k: _pick(v, sel) for k, v in terms(b, a).items()} for b in ("B04", "B8A"))
        e_red, e_nir = (None, None) if env is None else (env("B04", a)[sel], env("B8A", a)[sel])
        r_red, r_nir = invert(red, tr, rho_env=e_red, cutoff=None), invert(nir, tn, rho_env=e_nir, cutoff=None)
        bad = max(np.mean(r_red < p.cut_off_aot_iter_vegetation), np.mean(r_nir < p.cut_off_aot_iter_water))
        if bad <= 0.01 or vis >= 120.0:
            break
        vis = raise_visibility(vis)
    return vis


def green_red_check(vis: float, z_km: float, terms: TermsAt, toa: dict, ddv: np.ndarray, max_iter: int = 6,
                    env: EnvAt | None = None) -> float:
    """Raise visibility while the DDV green sum < 1.08 x red sum (too much aerosol removed)."""
    if not ddv.any() or "B03" not in toa:
        return vis
    for _ in range(max_iter):
        a = float(koschmieder_aot(vis, z_km))
        eg, er = (None, None) if env is None else (env("B03", a)[ddv], env("B04", a)[ddv])
        g = invert(toa["B03"][ddv], {k: _pick(v, ddv) for k, v in terms("B03", a).items()}, rho_env=eg, cutoff=None)
        r = invert(toa["B04"][ddv], {k: _pick(v, ddv) for k, v in terms("B04", a).items()}, rho_env=er, cutoff=None)
        if g.sum() >= 1.08 * r.sum() or vis >= 120.0:
            break
        vis = raise_visibility(vis)
    return vis


def _pick(v, sel):
    return v[sel] if np.ndim(v) and np.shape(v) == sel.shape else v


def fill_map(values: np.ndarray, known: np.ndarray, valid: np.ndarray, res_m: float, window_km: float,
             fallback: float) -> np.ndarray:
    """Smooth, gap-filled map from scattered values (normalised Gaussian convolution, widening sigma).

    Sen2Cor sets non-reference pixels to the scene mean before its Gaussian (sigma = max(window/pixel, 3)
    px, odd); we spread each reference value over its neighbourhood instead, so a hazier or clearer part of
    the tile keeps its own AOT, and fall back to wider kernels (x4, x16) and then to the mean.
    """
    sigma = max(window_km * 1000.0 / res_m, 3.0)
    out = np.full(values.shape, np.nan, np.float64)
    v = np.where(known, values, 0.0).astype(np.float64)
    w = known.astype(np.float64)
    for f in (1.0, 4.0, 16.0):
        s = min(sigma * f, max(values.shape) / 2.0)
        num, den = gaussian_nearest(v, s), gaussian_nearest(w, s)   # = gaussian_filter(mode="nearest"), FFT
        fill = np.isnan(out) & (den > 1e-3)
        out[fill] = num[fill] / den[fill]
    out[np.isnan(out)] = fallback
    return np.where(valid, out, 0.0).astype(F32)


def retrieve_aot(toa: dict, scl: np.ndarray, valid: np.ndarray, sza: np.ndarray, z_km: np.ndarray,
                 res_m: float, terms: TermsAt, nodes: np.ndarray, p: DdvParams, start_vis_km: float,
                 vis_update_mode: int = 1, cams_aot: np.ndarray | None = None, env: EnvAt | None = None
                 ) -> AotResult:
    """AOT map and metadata on the working grid (``toa``: B03 B04 B8A B12 TOA reflectance there);
    ``env``: environment reflectance when adjacency is corrected (module docstring), None: uniform surface."""
    z_mean = float(np.mean(z_km[valid])) if np.ndim(z_km) and valid.any() else float(np.mean(z_km))
    a_start = float(koschmieder_aot(start_vis_km, z_mean))
    a12 = a_start if cams_aot is None else float(np.mean(cams_aot[valid]))
    b12 = invert(toa["B12"], terms("B12", a12), rho_env=None if env is None else env("B12", a12), cutoff=None)
    ddv, thr, pct = ddv_mask(b12, toa["B04"], toa["B8A"], scl, valid, sza, res_m, p)
    sel45 = valid & np.isin(scl, (4, 5))
    lo, hi = float(visibility_from_aot(float(nodes[-1]), z_mean)), float(visibility_from_aot(max(float(nodes[0]), 1e-3), z_mean))
    if ddv.any():
        def t_red(a):
            return {k: _pick(v, ddv) for k, v in terms("B04", a).items()}

        def e_red(a):
            return None if env is None else env("B04", a)[ddv]
        b12_ddv = b12[ddv]
        for _ in range(2):   # 2nd pass: B12 surface re-derived with the retrieved AOT (Sen2Cor keeps 23 km)
            target = (p.swir_22um_red_refl_ratio * b12_ddv).astype(F32)
            a_px = aot_per_pixel(toa["B04"][ddv], target, t_red, nodes, e_red)
            a_mean = float(np.mean(a_px))
            a_near = float(nodes[np.argmin(np.abs(nodes - a_mean))])
            b12_ddv = invert(toa["B12"][ddv], {k: _pick(v, ddv) for k, v in terms("B12", a_near).items()},
                             rho_env=None if env is None else env("B12", a_near)[ddv], cutoff=None)
        vis_ddv = float(np.clip(visibility_from_aot(a_mean, z_mean), 5.0, 120.0))
        vis = negative_check(vis_ddv, z_mean, terms, toa, sel45, p, env=env)
        vis = green_red_check(vis, z_mean, terms, toa, ddv, env=env)
        a_final = float(koschmieder_aot(vis, z_mean)) if vis > vis_ddv + 1e-6 else a_mean
        if a_final < a_mean:                    # checks asked for clearer air: pull hazier DDV values down
            a_px = np.where(a_px > a_final, np.maximum(a_px - (a_mean - a_final), a_final), a_px)
        vals = np.zeros(valid.shape, F32)
        vals[ddv] = a_px
        known = ddv if vis_update_mode > 0 else np.zeros_like(ddv)
        amap = fill_map(vals, known, valid, res_m, p.ddv_smoothing_window_km, a_final)
        return AotResult(amap, "SEN2COR_DDV", pct, start_vis_km, vis_ddv,
                         float(visibility_from_aot(float(np.mean(amap[valid])), z_mean)), ddv, thr,
                         {"aot_ddv_mean": a_mean, "vis_range": (lo, hi)})
    if cams_aot is not None and vis_update_mode > 0:
        c_mean = float(np.mean(cams_aot[valid])) if valid.any() else float(np.mean(cams_aot))
        vis_c = float(np.clip(visibility_from_aot(c_mean, z_mean), 5.0, 120.0))
        vis = negative_check(vis_c, z_mean, terms, toa, sel45, p, env=env)
        shift = c_mean - float(koschmieder_aot(vis, z_mean)) if vis > vis_c + 1e-6 else 0.0
        amap = np.where(valid, np.maximum(cams_aot - shift, float(nodes[0])), 0.0).astype(F32)
        return AotResult(amap, "CAMS", 0.0, start_vis_km, 0.0, vis, ddv, 0.0, {"cams_mean": c_mean})
    vis = start_vis_km
    if vis_update_mode > 0:
        vis = negative_check(vis, z_mean, terms, toa, sel45, p, env=env)
    amap = np.where(valid, koschmieder_aot(vis, z_km), 0.0).astype(F32)   # per-pixel elevation, as Sen2Cor
    return AotResult(amap, "DEFAULT", 0.0, start_vis_km, 0.0, vis, ddv, 0.0, {})
