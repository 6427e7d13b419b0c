"""Adjacency: the environment reflectance seen through the upward diffuse transmittance.

Light scattered into the view path comes from a neighbourhood (``Adj_Km``), not from the pixel, so dark
pixels next to bright ones look too bright. Sen2Cor takes the box mean of a first (uniform) inversion over
2 n + 1 pixels, n = Adj_Km / pixel, forced odd, with clouds replaced by the clear-pixel mean and no data left
out, and skips bands in strong absorption (1.35-1.45, 1.80-1.95 um, > 2.46 um) and scenes > 95 % cloud.
The correction itself is ``surface.invert(..., rho_env=...)`` with q = t_up_dif / t_up.
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter

F32 = np.float32


def box_size(adj_km: float, res_m: float) -> int:
    """Box width in pixels: round(Adj_Km / pixel) forced odd (1 km: 51 px at 20 m, 17 at 60 m)."""
    n = int(round(adj_km * 1000.0 / res_m))
    return max(1, n + 1 if n % 2 == 0 else n)


def band_skipped(wavelength_um: float) -> bool:
    """Sen2Cor's bands without adjacency correction (absorption regions; B10 for S2)."""
    w = wavelength_um
    return w > 2.46 or 1.35 <= w <= 1.45 or 1.80 <= w <= 1.95


def environment(rho1: np.ndarray, valid: np.ndarray, clear: np.ndarray, size: int) -> np.ndarray:
    """Box mean of ``rho1`` over ``size`` px, no data excluded (normalised), non-clear -> clear mean."""
    r = np.where(valid, rho1, 0.0).astype(F32)
    if clear is not None:
        cm = clear & valid
        fill = float(np.mean(rho1[cm])) if cm.any() else float(np.mean(rho1[valid])) if valid.any() else 0.0
        r = np.where(valid & ~cm, F32(fill), r)
    w = uniform_filter(valid.astype(F32), size=size, mode="nearest")
    m = uniform_filter(r, size=size, mode="nearest")
    out = np.where(w > 1e-3, m / np.maximum(w, 1e-3), 0.0).astype(F32)
    return np.where(valid, out, rho1).astype(F32)


def first_order(rho: np.ndarray, rho_env: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Sen2Cor's form rho + q (rho - rho_env) (documentation and cross-check of the exact inversion)."""
    return (rho + q * (rho - rho_env)).astype(F32)
