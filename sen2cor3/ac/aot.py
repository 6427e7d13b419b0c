"""Aerosol optical thickness (550 nm) by dark dense vegetation, with Sen2Cor's fall-backs.

Reference pixels: vegetation (SCL 4) whose B12 surface reflectance lies in (AC_Swir_Refl_Lower_Th, thr),
TOA red <= AC_Ddv_16um_Refl_Th1, TOA NDVI(B8A, B04) > AC_Swir_Refl_Ndvi_Th, TOA B8A < 0.38, sun < 75 deg,
>= ~1 km from clouds, not cloud shadow; thr = AC_Ddv_Swir_Refl_Th1..3 in turn until the reference pixels
cover AC_Min_Ddv_Area % of the land. Their red surface reflectance is AC_Swir_22um_Red_Refl_Ratio x B12 (and
blue = AC_Red_Blue_Refl_Ratio x red). Per pixel, the AOT is where the predicted TOA red crosses the observed
one along the AOT nodes. Then a map, and Sen2Cor's negative-reflectance and green/red checks (visibility
steps). Without reference pixels: CAMS (if given and VIS_Update_Mode > 0), else the GIPP Visibility (DEFAULT).

The checks test the AOT that is applied: each pixel's own value of the smoothed map (Sen2Cor tests its
scene-mean visibility). Our map keeps a hazier or clearer part of the tile at its own AOT (``fill_map``), so
a scene-uniform test would lend the haze of one part to another: a clear part at the scene-mean AOT goes
negative in the red and the check then lowers the AOT of the hazy parts (flat_hazy_wet round trip: DDV
mean 0.418, 13 % of the 0.24 zone's vegetation below red 0.01 -> visibility 16.7 -> 23 km, every DDV AOT
above 0.318 shifted down by 0.10, the 0.56 zone's map mean 0.41).

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

from sen2cor3.sensors import MSI_ROLES, Roles

from .atmos import koschmieder_aot, visibility_from_aot
from .settings import DEFAULTS
from .smooth import gaussian_nearest
from .surface import forward, invert

F32 = np.float32
TermsAt = Callable[[str, float], dict]          # (band, aot550) -> derived terms on the working grid
EnvAt = Callable[[str, float], np.ndarray]      # (band, aot550) -> environment reflectance on the working grid

#: Metres per kilometre.
M_PER_KM = 1000.0
# Visibility range (km) of the retrieval (Sen2Cor L2A_AtmCorr.py; also the GIPP Visibility range).
VISIBILITY_MIN_KM = 5.0
VISIBILITY_MAX_KM = 120.0
# Visibility steps of the checks (Sen2Cor L2A_AtmCorr.py): below 23 km -> 23 km, then + step (km) while
# below each bound (km), then the maximum.
VISIBILITY_FIRST_STEP_KM = 23.0
VISIBILITY_STEPS_KM = ((26, 3), (30, 4), (40, 5), (100, 10))
#: Visibilities closer than this (km) count as equal (ours).
VISIBILITY_TOLERANCE_KM = 1e-6
# The checks after the DDV retrieval (Sen2Cor L2A_AtmCorr.py): at most 12 negative-reflectance and 6
# green/red steps; a step is taken while more than 1 % of the tested pixels are below the cut-offs, or
# while the green surface reflectance of the DDV pixels sums to less than 1.08 x their red one.
NEGATIVE_CHECK_MAX_STEPS = 12
GREEN_RED_CHECK_MAX_STEPS = 6
CHECK_MAX_BAD_FRACTION = 0.01
GREEN_RED_MIN_RATIO = 1.08
#: SCL classes of the negative-reflectance check: vegetation, not-vegetated (Sen2Cor L2A_AtmCorr.py).
CHECK_CLASSES = (4, 5)
# DDV reference pixels (Sen2Cor L2A_AtmCorr.py): SCL classes, TOA B8A ceiling, sun zenith limit (deg); a
# scene of more than 99 % water has none (ours).
SCL_SHADOW, SCL_VEGETATION, SCL_WATER = 3, 4, 6
CLOUD_CLASSES = (8, 9, 10)                   # medium / high probability clouds, thin cirrus
DDV_NIR_TOA_MAX = 0.38
DDV_SZA_MAX_DEG = 75.0
DDV_WATER_SCENE_FRACTION = 0.99
#: Smallest NDVI denominator (TOA reflectance; ours).
NDVI_DEN_MIN = 1e-4
# Cloud buffer of the DDV pixels (Sen2Cor L2A_AtmCorr.py): a box of ~1000 m (at least 3 px, odd) over the
# cloud mask, buffered where its mean exceeds 5/255 (Sen2Cor filters a byte mask).
DDV_CLOUD_BUFFER_M = 1000.0
CLOUD_BUFFER_MIN_PX = 3
CLOUD_BUFFER_MIN_SHARE = 5.0 / 255.0
#: Passes of the DDV retrieval, the 2nd with the B12 surface re-derived at the retrieved AOT (ours).
DDV_PASSES = 2
#: Smallest AOT550 whose visibility bounds the range (``vis_range`` info; ours).
AOT_VIS_RANGE_MIN = 1e-3
# AOT map of the DDV values (``fill_map``): Gaussian sigma = max(AC_Ddv_Smooting_Window / pixel, 3 px)
# (Sen2Cor L2A_AtmCorr.py); where the kernel finds no DDV pixel (weight below 1e-3) it widens x4, x16 (ours).
AOT_SMOOTH_MIN_SIGMA_PX = 3.0
AOT_FILL_SIGMA_FACTORS = (1.0, 4.0, 16.0)
AOT_FILL_MIN_WEIGHT = 1e-3


@dataclass
class DdvParams:
    """AC GIPP values used here (defaults = the shipped L2A_CAL_AC_GIPP, ``settings.DEFAULTS``)."""
    min_ddv_area: float = DEFAULTS.min_ddv_area_pct                       # %
    swir_refl_lower_th: float = DEFAULTS.swir_refl_lower_th
    swir_22um_red_refl_ratio: float = DEFAULTS.swir_22um_red_refl_ratio
    red_blue_refl_ratio: float = DEFAULTS.red_blue_refl_ratio
    cut_off_aot_iter_vegetation: float = DEFAULTS.cut_off_aot_iter_vegetation
    cut_off_aot_iter_water: float = DEFAULTS.cut_off_aot_iter_water
    swir_refl_ndvi_th: float = DEFAULTS.swir_refl_ndvi_th
    ddv_swir_refl_th: tuple[float, float, float] = DEFAULTS.ddv_swir_refl_th
    ddv_16um_refl_th1: float = DEFAULTS.ddv_16um_refl_th1
    ddv_smoothing_window_km: float = DEFAULTS.ddv_smoothing_window_km


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


def cloud_buffer(cloud: np.ndarray, res_m: float, dist_m: float = DDV_CLOUD_BUFFER_M) -> np.ndarray:
    """Pixels within ~dist of a cloud (box-filtered cloud mask > 5/255, as Sen2Cor)."""
    n = max(CLOUD_BUFFER_MIN_PX, int(round(dist_m / res_m)) | 1)
    return uniform_filter(cloud.astype(F32), size=n, mode="nearest") > CLOUD_BUFFER_MIN_SHARE


def ddv_mask(b12_surf, red_toa, nir_toa, scl, valid, sza, res_m: float, p: DdvParams
             ) -> tuple[np.ndarray, float, float]:
    """(mask, B12 threshold used, DDV % of non-background non-water pixels)."""
    land = valid & (scl != SCL_WATER)
    n_land = max(int(land.sum()), 1)
    if float(np.mean(scl[valid] == SCL_WATER)) > DDV_WATER_SCENE_FRACTION if valid.any() else True:
        return np.zeros(valid.shape, bool), 0.0, 0.0
    ndvi = (nir_toa - red_toa) / np.maximum(nir_toa + red_toa, NDVI_DEN_MIN)
    cloud = np.isin(scl, CLOUD_CLASSES)
    base = (valid & (scl == SCL_VEGETATION) & (red_toa <= p.ddv_16um_refl_th1) & (ndvi > p.swir_refl_ndvi_th)
            & (nir_toa < DDV_NIR_TOA_MAX) & (np.cos(np.radians(sza)) > math.cos(math.radians(DDV_SZA_MAX_DEG)))
            & ~cloud_buffer(cloud, res_m) & (scl != SCL_SHADOW) & (b12_surf > p.swir_refl_lower_th))
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
    if vis < VISIBILITY_FIRST_STEP_KM:
        v = VISIBILITY_FIRST_STEP_KM
    else:
        v = VISIBILITY_MAX_KM
        for below, step in VISIBILITY_STEPS_KM:
            if vis < below:
                v = vis + step
                break
    if int(round(v)) % 10 == 9:
        v = round(v) + 1                        # 29 -> 30
    return min(v, VISIBILITY_MAX_KM)


def negative_check(vis: float, z_km: float, terms: TermsAt, toa: dict, sel: np.ndarray, p: DdvParams,
                   max_iter: int = NEGATIVE_CHECK_MAX_STEPS, env: EnvAt | None = None, roles: Roles = MSI_ROLES
                   ) -> float:
    """Raise visibility while > 1 % of SCL 4/5 pixels have red < cut-off (veg.) or B8A < cut-off (water)."""
    if not sel.any():
        return vis
    red, nir = toa[roles.red][sel], toa[roles.nir][sel]
    for _ in range(max_iter):
        a = float(koschmieder_aot(vis, z_km))
        tr, tn = ({k: _pick(v, sel) for k, v in terms(b, a).items()} for b in (roles.red, roles.nir))
        e_red, e_nir = (None, None) if env is None else (env(roles.red, a)[sel], env(roles.nir, a)[sel])
        r_red, r_nir = invert(red, tr, rho_env=e_red, cutoff=None), invert(nir, tn, rho_env=e_nir, cutoff=None)
        bad = max(np.mean(r_red < p.cut_off_aot_iter_vegetation), np.mean(r_nir < p.cut_off_aot_iter_water))
        if bad <= CHECK_MAX_BAD_FRACTION or vis >= VISIBILITY_MAX_KM:
            break
        vis = raise_visibility(vis)
    return vis


def _pick(v, sel):
    return v[sel] if np.ndim(v) and np.shape(v) == sel.shape else v


def rho_at_aot(band: str, toa_sel: np.ndarray, a_sel: np.ndarray, sel: np.ndarray, terms: TermsAt,
               nodes: np.ndarray, env: EnvAt | None = None) -> np.ndarray:
    """Surface reflectance of the ``sel`` pixels, each at its own AOT (inversions at the bracketing AOT nodes,
    linear in between, as ``aot_per_pixel``); only the nodes in use are evaluated."""
    nd = np.asarray(nodes, np.float64)
    a = np.clip(np.asarray(a_sel, np.float64), nd[0], nd[-1])
    i0 = np.clip(np.searchsorted(nd, a, side="right") - 1, 0, len(nd) - 2)
    w = (a - nd[i0]) / (nd[i0 + 1] - nd[i0])
    out = np.zeros(a.shape)
    for k in np.unique(np.r_[i0, i0 + 1]):
        ak = float(nd[k])
        rk = invert(toa_sel, {n: _pick(v, sel) for n, v in terms(band, ak).items()},
                    rho_env=None if env is None else env(band, ak)[sel], cutoff=None)
        out += np.where(i0 == k, 1.0 - w, 0.0) * rk + np.where(i0 + 1 == k, w, 0.0) * rk
    return out


def checked_map(a_px: np.ndarray, ddv: np.ndarray, known: np.ndarray, vis_ddv: float, z_km: float,
                terms: TermsAt, nodes: np.ndarray, toa: dict, sel45: np.ndarray, valid: np.ndarray, res_m: float,
                p: DdvParams, env: EnvAt | None = None, roles: Roles = MSI_ROLES
                ) -> tuple[np.ndarray, float, dict]:
    """(AOT map, final visibility, info): the map of the DDV values, then Sen2Cor's negative-reflectance check
    (<= 12 steps) and green/red check (<= 6 steps) on that map (module docstring). Each step raises the
    visibility (``raise_visibility``) from the DDV mean and pulls the DDV values above its AOT down by the
    difference, as Sen2Cor shifts its DDV indices, and rebuilds the map."""
    a_mean = float(np.mean(a_px))
    vals = np.zeros(valid.shape, F32)

    def build(vis):
        a_fin = float(koschmieder_aot(vis, z_km)) if vis > vis_ddv + VISIBILITY_TOLERANCE_KM else a_mean
        ap = np.where(a_px > a_fin, np.maximum(a_px - (a_mean - a_fin), a_fin), a_px) if a_fin < a_mean else a_px
        vals[ddv] = ap
        return fill_map(vals, known, valid, res_m, p.ddv_smoothing_window_km, a_fin), a_fin

    vis, steps = vis_ddv, {"negative": 0, "green_red": 0}
    amap, a_fin = build(vis)
    if sel45.any():
        red, nir = toa[roles.red][sel45], toa[roles.nir][sel45]
        for _ in range(NEGATIVE_CHECK_MAX_STEPS):
            a_sel = amap[sel45]
            r_red = rho_at_aot(roles.red, red, a_sel, sel45, terms, nodes, env)
            r_nir = rho_at_aot(roles.nir, nir, a_sel, sel45, terms, nodes, env)
            bad = max(np.mean(r_red < p.cut_off_aot_iter_vegetation), np.mean(r_nir < p.cut_off_aot_iter_water))
            if bad <= CHECK_MAX_BAD_FRACTION or vis >= VISIBILITY_MAX_KM:
                break
            vis = raise_visibility(vis)
            steps["negative"] += 1
            amap, a_fin = build(vis)
    if ddv.any() and roles.green in toa:
        for _ in range(GREEN_RED_CHECK_MAX_STEPS):
            a_sel = amap[ddv]
            g = rho_at_aot(roles.green, toa[roles.green][ddv], a_sel, ddv, terms, nodes, env)
            r = rho_at_aot(roles.red, toa[roles.red][ddv], a_sel, ddv, terms, nodes, env)
            if g.sum() >= GREEN_RED_MIN_RATIO * r.sum() or vis >= VISIBILITY_MAX_KM:
                break
            vis = raise_visibility(vis)
            steps["green_red"] += 1
            amap, a_fin = build(vis)
    return amap, vis, {"check_steps": steps, "aot_after_checks": a_fin}


def fill_map(values: np.ndarray, known: np.ndarray, valid: np.ndarray, res_m: float, window_km: float,
             fallback: float) -> np.ndarray:
    """Smooth, gap-filled map from scattered values (normalised Gaussian convolution, widening sigma).

    Sen2Cor sets non-reference pixels to the scene mean before its Gaussian (sigma = max(window/pixel, 3)
    px, odd); we spread each reference value over its neighbourhood instead, so a hazier or clearer part of
    the tile keeps its own AOT, and fall back to wider kernels (x4, x16) and then to the mean.
    """
    sigma = max(window_km * M_PER_KM / res_m, AOT_SMOOTH_MIN_SIGMA_PX)
    out = np.full(values.shape, np.nan, np.float64)
    v = np.where(known, values, 0.0).astype(np.float64)
    w = known.astype(np.float64)
    for f in AOT_FILL_SIGMA_FACTORS:
        s = min(sigma * f, max(values.shape) / 2.0)
        num, den = gaussian_nearest(v, s), gaussian_nearest(w, s)   # = gaussian_filter(mode="nearest"), FFT
        fill = np.isnan(out) & (den > AOT_FILL_MIN_WEIGHT)
        out[fill] = num[fill] / den[fill]
    out[np.isnan(out)] = fallback
    return np.where(valid, out, 0.0).astype(F32)


def aot_from_cams(cams_aot: np.ndarray, valid: np.ndarray, z_mean: float, terms: TermsAt, toa: dict,
                  sel45: np.ndarray, p: DdvParams, nodes: np.ndarray, start_vis_km: float,
                  env: EnvAt | None = None, roles: Roles = MSI_ROLES) -> AotResult:
    """Sen2Cor's CAMS fallback (no DDV pixels): the CAMS map, shifted down when the negative-reflectance
    check (run when B04 and B8A are there) asks for clearer air."""
    c_mean = float(np.mean(cams_aot[valid])) if valid.any() else float(np.mean(cams_aot))
    vis = vis_c = float(np.clip(visibility_from_aot(c_mean, z_mean), VISIBILITY_MIN_KM, VISIBILITY_MAX_KM))
    if roles.red in toa and roles.nir in toa:
        vis = negative_check(vis_c, z_mean, terms, toa, sel45, p, env=env, roles=roles)
    shift = c_mean - float(koschmieder_aot(vis, z_mean)) if vis > vis_c + VISIBILITY_TOLERANCE_KM else 0.0
    amap = np.where(valid, np.maximum(cams_aot - shift, float(nodes[0])), 0.0).astype(F32)
    final = map_visibility(bounded_aot(amap, z_mean, valid), valid, z_mean)      # the map as the caller bounds it
    return AotResult(amap, "CAMS", 0.0, start_vis_km, 0.0, final, np.zeros(valid.shape, bool), 0.0,
                     {"cams_mean": c_mean, "vis_after_check": vis})


def retrieve_aot(toa: dict, scl: np.ndarray, valid: np.ndarray, sza: np.ndarray, z_km: np.ndarray,
                 res_m: float, terms: TermsAt, nodes: np.ndarray, p: DdvParams, start_vis_km: float,
                 vis_update_mode: int = 1, cams_aot: np.ndarray | None = None, env: EnvAt | None = None,
                 roles: Roles = MSI_ROLES) -> AotResult:
    """AOT map and metadata on the working grid (``toa``: B03 B04 B8A B12 TOA reflectance there);
    ``env``: environment reflectance when adjacency is corrected (module docstring), None: uniform surface."""
    z_mean = float(np.mean(z_km[valid])) if np.ndim(z_km) and valid.any() else float(np.mean(z_km))
    a_start = float(koschmieder_aot(start_vis_km, z_mean))
    a12 = a_start if cams_aot is None else float(np.mean(cams_aot[valid]))
    b12 = invert(toa[roles.swir2], terms(roles.swir2, a12), rho_env=None if env is None else env(roles.swir2, a12),
                 cutoff=None)
    ddv, thr, pct = ddv_mask(b12, toa[roles.red], toa[roles.nir], scl, valid, sza, res_m, p)
    sel45 = valid & np.isin(scl, CHECK_CLASSES)
    lo = float(visibility_from_aot(float(nodes[-1]), z_mean))
    hi = float(visibility_from_aot(max(float(nodes[0]), AOT_VIS_RANGE_MIN), z_mean))
    if ddv.any():
        def t_red(a):
            return {k: _pick(v, ddv) for k, v in terms(roles.red, a).items()}

        def e_red(a):
            return None if env is None else env(roles.red, a)[ddv]
        b12_ddv = b12[ddv]
        for _ in range(DDV_PASSES):   # 2nd pass: B12 surface re-derived with the retrieved AOT (Sen2Cor keeps 23 km)
            target = (p.swir_22um_red_refl_ratio * b12_ddv).astype(F32)
            a_px = aot_per_pixel(toa[roles.red][ddv], target, t_red, nodes, e_red)
            a_mean = float(np.mean(a_px))
            a_near = float(nodes[np.argmin(np.abs(nodes - a_mean))])
            b12_ddv = invert(toa[roles.swir2][ddv],
                             {k: _pick(v, ddv) for k, v in terms(roles.swir2, a_near).items()},
                             rho_env=None if env is None else env(roles.swir2, a_near)[ddv], cutoff=None)
        vis_ddv = float(np.clip(visibility_from_aot(a_mean, z_mean), VISIBILITY_MIN_KM, VISIBILITY_MAX_KM))
        known = ddv if vis_update_mode > 0 else np.zeros_like(ddv)
        amap, _, chk = checked_map(a_px, ddv, known, vis_ddv, z_mean, terms, nodes, toa, sel45, valid, res_m, p, env,
                                    roles=roles)
        amap = bounded_aot(amap, z_km, valid)
        return AotResult(amap, "SEN2COR_DDV", pct, start_vis_km, vis_ddv, map_visibility(amap, valid, z_mean), ddv,
                         thr, {"aot_ddv_mean": a_mean, "vis_range": (lo, hi), **chk})
    if cams_aot is not None and vis_update_mode > 0:
        return aot_from_cams(cams_aot, valid, z_mean, terms, toa, sel45, p, nodes, start_vis_km, env, roles=roles)
    vis = start_vis_km
    if vis_update_mode > 0:
        vis = negative_check(vis, z_mean, terms, toa, sel45, p, env=env, roles=roles)
    amap = np.where(valid, koschmieder_aot(vis, z_km), 0.0).astype(F32)   # per-pixel elevation, as Sen2Cor
    return AotResult(amap, "DEFAULT", 0.0, start_vis_km, 0.0, vis, ddv, 0.0, {})


def map_visibility(aot: np.ndarray, valid: np.ndarray, z_km: float) -> float:
    """The scene visibility of an AOT map (km): that of its mean over the valid pixels, within Sen2Cor's 5-120 km.

    Sen2Cor reports the visibility of its mean visibility index (``visext[meanvi]``, capped at 120 km); its index
    steps are equal steps of AOT, so that is the visibility of the mean AOT. Taken from the map as written (after
    ``bounded_aot``), FINAL_VISIBILITY_KM and GRANULE_MEAN_AOT describe the same atmosphere."""
    if not valid.any():
        return VISIBILITY_MAX_KM
    vis = float(visibility_from_aot(float(np.mean(aot[valid])), z_km))
    return float(np.clip(vis, VISIBILITY_MIN_KM, VISIBILITY_MAX_KM))


def bounded_aot(aot: np.ndarray, z_km, valid: np.ndarray) -> np.ndarray:
    """The AOT map with every valid pixel inside the AOT of Sen2Cor's visibility limits at its elevation
    (VISIBILITY_MAX_KM .. VISIBILITY_MIN_KM: Sen2Cor keeps visibility within its 5-120 km table range, so a
    smoothed DDV map can neither reach 0 - the no-data DN of the AOT image - nor exceed the 5 km haze), 0 elsewhere."""
    lo = koschmieder_aot(VISIBILITY_MAX_KM, z_km)
    hi = koschmieder_aot(VISIBILITY_MIN_KM, z_km)
    return np.where(valid, np.clip(aot, lo, hi), 0.0).astype(F32)
