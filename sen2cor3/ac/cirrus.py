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

F32 = np.float32
GAMMAS = np.round(np.arange(0.6, 1.0001, 0.05), 2)
#: Roles whose cirrus-free level fixes gamma (coastal, blue, green).
VIS_ROLES = ("coastal", "blue", "green")


def estimate_gamma(toa: dict, rho_c: np.ndarray, ok: np.ndarray, min_cirrus: int = 100, min_clear: int = 50,
                   roles: Roles = MSI_ROLES) -> float | None:
    """gamma whose removal best matches cirrus and clear means of coastal/blue/green; None if too few."""
    cir = ok & (rho_c > 0.02)
    if cir.sum() < min_cirrus:
        cir = ok & (rho_c > 0.014)
    clear = ok & (rho_c > 0.001) & (rho_c < 0.008)
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
            wavelengths_um: dict[str, float], wv_threshold: float = 0.25, gamma: float | None = None,
            roles: Roles = MSI_ROLES) -> tuple[dict, dict]:
    """Cirrus-corrected TOA dict (the cirrus band dropped) and info {'applied', 'gamma', 'cirrus_pct'}."""
    wv_thr = float(np.clip(wv_threshold, 0.1, 1.0))
    if not valid.any() or float(np.mean(wv[valid])) < wv_thr:
        return dict(toa), {"applied": False, "gamma": None, "reason": "mean WV below threshold"}
    rho_c = median_filter(np.asarray(b10, F32), size=3, mode="nearest")
    ok = valid & (wv >= wv_thr)
    rho_c = np.where(ok, np.clip(rho_c, 0.0, None), 0.0).astype(F32)
    if gamma is None:
        n = valid.size
        gamma = estimate_gamma(toa, rho_c, ok & clear_land, max(50, int(3.3e-4 * n)), max(20, int(6.6e-5 * n)),
                               roles=roles)
    if gamma is None:
        return dict(toa), {"applied": False, "gamma": None, "reason": "too few cirrus/clear pixels"}
    out = {}
    for b, v in toa.items():
        if b == roles.cirrus:
            continue
        g = gamma * (2.0 if wavelengths_um.get(b, 0.0) >= 1.5 else 1.0)
        out[b] = (v - rho_c / g).astype(F32)
    return out, {"applied": True, "gamma": gamma, "cirrus_pct": 100.0 * float(np.mean(rho_c[valid] > 0.01))}
