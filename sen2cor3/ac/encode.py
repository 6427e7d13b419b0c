"""Encoding of the L2A rasters (reference section 3.2): BOA, AOT, WVP, TCI.

BOA, baseline >= 04.00: DN = trunc(rho * 10000 + 1000 + 0.5), DN < 1 -> 1 (Sen2Cor writes DN < 0 -> 1,
which leaves -0.10015 < rho <= -0.10005 at 0 = no data; we avoid that collision), clipped to [0, 32767]; no data
(SCL <= 1, or the given mask) -> 0; an exact 0 reflectance also gives 0 as in Sen2Cor. Older baselines:
rho clipped at >= 0.0001, DN = trunc(rho * 10000 + 0.5). TCI: clip(rho, 0, 0.25) * 254 / 0.25 + 1, 0 = no data.
"""
from __future__ import annotations

import numpy as np

BOA_QUANTIFICATION = 10000.0
BOA_ADD_OFFSET = 1000.0          # added to DN; the metadata writes BOA_ADD_OFFSET = -1000
AOT_QUANTIFICATION = 1000.0
WVP_QUANTIFICATION = 1000.0
BOA_MAX_DN = 32767


def baseline_has_offset(baseline: str | float) -> bool:
    """Radiometric offset from processing baseline 04.00 on."""
    return float(baseline) >= 4.0 - 1e-9


def _nodata(shape, nodata, scl) -> np.ndarray:
    m = np.zeros(shape, bool) if nodata is None else np.asarray(nodata, bool)
    if scl is not None:
        m = m | (np.asarray(scl) <= 1)
    return m


def boa_dn(rho: np.ndarray, nodata=None, scl=None, offset: bool = True) -> np.ndarray:
    """uint16 BOA band from float reflectance (NaN -> no data)."""
    r = np.asarray(rho, np.float64)
    bad = _nodata(r.shape, nodata, scl) | ~np.isfinite(r)
    r = np.where(np.isfinite(r), r, 0.0)
    if offset:
        dn = np.trunc(r * BOA_QUANTIFICATION + BOA_ADD_OFFSET + 0.5)
        dn = np.where(dn < 1, 1.0, dn)      # Sen2Cor: DN < 0 -> 1; a 0 here would read as no data
    else:
        dn = np.trunc(np.maximum(r, 0.0001) * BOA_QUANTIFICATION + 0.5)
    dn = np.clip(dn, 0, BOA_MAX_DN)
    dn[bad | (r == 0.0)] = 0
    return dn.astype(np.uint16)


def boa_rho(dn: np.ndarray, offset: bool = True) -> np.ndarray:
    """Reflectance from BOA DN (no data -> NaN): rho = (DN - 1000) / 10000 from baseline 04.00."""
    d = np.asarray(dn, np.float64)
    r = (d - (BOA_ADD_OFFSET if offset else 0.0)) / BOA_QUANTIFICATION
    return np.where(d == 0, np.nan, r).astype(np.float32)


def scaled_u16(value: np.ndarray, scale: float, nodata=None, scl=None) -> np.ndarray:
    """AOT (x1000) or WVP (cm x1000) as uint16 with rounding; 0 where no data."""
    v = np.asarray(value, np.float64)
    bad = _nodata(v.shape, nodata, scl) | ~np.isfinite(v)
    dn = np.clip(np.trunc(np.where(np.isfinite(v), v, 0.0) * scale + 0.5), 0, 65535)
    dn[bad] = 0
    return dn.astype(np.uint16)


def aot_dn(aot: np.ndarray, nodata=None, scl=None) -> np.ndarray:
    return scaled_u16(aot, AOT_QUANTIFICATION, nodata, scl)


def wvp_dn(wv_cm: np.ndarray, nodata=None, scl=None) -> np.ndarray:
    return scaled_u16(wv_cm, WVP_QUANTIFICATION, nodata, scl)


def tci(red: np.ndarray, green: np.ndarray, blue: np.ndarray, nodata=None, scl=None) -> np.ndarray:
    """(3, ny, nx) uint8 true colour from BOA reflectance: clip(rho, 0, 0.25) * 254 / 0.25 + 1; 0 = no data."""
    out = np.empty((3,) + np.shape(red), np.uint8)
    bad = _nodata(np.shape(red), nodata, scl)
    for i, b in enumerate((red, green, blue)):
        r = np.asarray(b, np.float64)
        bi = bad | ~np.isfinite(r)
        v = np.trunc(np.clip(np.where(np.isfinite(r), r, 0.0), 0.0, 0.25) * (254.0 / 0.25) + 1.0)
        v[bi] = 0
        out[i] = v.astype(np.uint8)
    return out
