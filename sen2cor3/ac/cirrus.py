"""Thin-cirrus removal with B10 (1375 nm), Sen2Cor section 5.6.

Below cirrus, water vapour absorbs the 1375 nm band completely, so B10 TOA is the cirrus reflectance rho_c.
Cirrus is nearly grey from the visible to the NIR: each band loses rho_c / gamma (2 gamma at >= 1.5 um,
where ice absorbs), gamma in 0.6..1.0 chosen so that the mean blue/green (and coastal) TOA of cirrus pixels
after removal matches the cirrus-free pixels. Where the air is dry (WV < WV_Threshold_Cirrus) B10 sees the
ground, so those pixels are left alone, and the whole step is off when the scene mean WV is below it.
Deviation: no T945 (WV above the cirrus) factor; pixel counts scale with the image (Sen2Cor: >= 10000
cirrus and 2000 clear pixels at 20 m, i.e. 0.033 % / 0.0066 % of a tile).
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter

from sen2cor3.sensors import MSI_ROLES, Roles

from .settings import DEFAULTS

F32 = np.float32
#: Candidate gammas 0.6, 0.65, ..., 1.0 (Sen2Cor section 5.6: gamma in 0.6..1.0).
GAMMAS = np.round(np.arange(0.6, 1.0001, 0.05), 2)
#: Roles whose cirrus-free level fixes gamma (coastal, blue, green).
VIS_ROLES = ("coastal", "blue", "green")
# Pixels of the gamma estimate by B10 reflectance (ours, after Sen2Cor section 5.6): cirrus above 0.02
# (0.014 when too few), clear between 0.001 and 0.008.
CIRRUS_RHO_MIN, CIRRUS_RHO_MIN_RELAXED = 0.02, 0.014
CLEAR_RHO_MIN, CLEAR_RHO_MAX = 0.001, 0.008
# Least cirrus / clear pixels: Sen2Cor's 10000 / 2000 at 20 m as shares of the image (3.3e-4, 6.6e-5 of a
# 5490^2 tile), at least 50 / 20 pixels (ours); ``estimate_gamma``'s own defaults 100 / 50 (ours).
MIN_CIRRUS_SHARE, MIN_CLEAR_SHARE = 3.3e-4, 6.6e-5
MIN_CIRRUS_PX, MIN_CLEAR_PX = 50, 20
GAMMA_FIT_MIN_CIRRUS_PX, GAMMA_FIT_MIN_CLEAR_PX = 100, 50
#: Range (cm) WV_Threshold_Cirrus is clipped to (the GIPP's documented range).
WV_THRESHOLD_RANGE_CM = (0.1, 1.0)
#: Median filter of B10 (px; ours).
B10_MEDIAN_PX = 3
#: From this wavelength (um) ice absorbs: the band loses rho_c / (2 gamma) (Sen2Cor section 5.6).
ICE_FROM_UM, ICE_GAMMA_FACTOR = 1.5, 2.0
#: B10 reflectance above which a pixel counts in ``cirrus_pct`` (ours).
CIRRUS_PCT_RHO = 0.01


def estimate_gamma(toa: dict, rho_c: np.ndarray, ok: np.ndarray, min_cirrus: int = GAMMA_FIT_MIN_CIRRUS_PX,
                   min_clear: int = GAMMA_FIT_MIN_CLEAR_PX, roles: Roles = MSI_ROLES) -> float | None:
    """gamma whose removal best matches cirrus and clear means of coastal/blue/green; None if too few."""
    cir = ok & (rho_c > CIRRUS_RHO_MIN)
    if cir.sum() < min_cirrus:
        cir = ok & (rho_c > CIRRUS_RHO_MIN_RELAXED)
    clear = ok & (rho_c > CLEAR_RHO_MIN) & (rho_c < CLEAR_RHO_MAX)
    if cir.sum() < min_cirrus or clear.sum() < min_clear:
        return None
    bands = [b for b in (roles.band(r) for r in VIS_ROLES) if b is not None and b in toa]
    if not bands:
        return None
    cost = []
    for g in GAMMAS:
        cost.append(sum(abs(float(np.mean(toa[b][cir] - rho_c[cir] / g)) - float(np.mean(toa[b][clear])))
                        for b in bands))
    return float(GAMMAS[int(np.argmin(cost))])


def correct(toa: dict, b10: np.ndarray, wv: np.ndarray, valid: np.ndarray, clear_land: np.ndarray,
            wavelengths_um: dict[str, float], wv_threshold: float = DEFAULTS.wv_threshold_cirrus_cm,
            gamma: float | None = None,
            roles: Roles = MSI_ROLES) -> tuple[dict, dict]:
    """Cirrus-corrected TOA dict (the cirrus band dropped) and info {'applied', 'gamma', 'cirrus_pct'}."""
    wv_thr = float(np.clip(wv_threshold, *WV_THRESHOLD_RANGE_CM))
    if not valid.any() or float(np.mean(wv[valid])) < wv_thr:
        return dict(toa), {"applied": False, "gamma": None, "reason": "mean WV below threshold"}
    rho_c = median_filter(np.asarray(b10, F32), size=B10_MEDIAN_PX, mode="nearest")
    ok = valid & (wv >= wv_thr)
    rho_c = np.where(ok, np.clip(rho_c, 0.0, None), 0.0).astype(F32)
    if gamma is None:
        n = valid.size
        gamma = estimate_gamma(toa, rho_c, ok & clear_land, max(MIN_CIRRUS_PX, int(MIN_CIRRUS_SHARE * n)),
                               max(MIN_CLEAR_PX, int(MIN_CLEAR_SHARE * n)), roles=roles)
    if gamma is None:
        return dict(toa), {"applied": False, "gamma": None, "reason": "too few cirrus/clear pixels"}
    out = {}
    for b, v in toa.items():
        if b == roles.cirrus:
            continue
        g = gamma * (ICE_GAMMA_FACTOR if wavelengths_um.get(b, 0.0) >= ICE_FROM_UM else 1.0)
        out[b] = (v - rho_c / g).astype(F32)
    return out, {"applied": True, "gamma": gamma, "cirrus_pct": 100.0 * float(np.mean(rho_c[valid] > CIRRUS_PCT_RHO))}
