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
#: Processing baseline from which BOA carries the offset (Sen2Cor, reference section 3.2: baseline 04.00).
OFFSET_FROM_BASELINE = 4.0
#: Smallest reflectance written by baselines without the offset (Sen2Cor, reference section 3.2).
BOA_MIN_RHO_NO_OFFSET = 0.0001
#: SCL codes up to this one are no data in every raster (0 no data, 1 saturated/defective; Sen2Cor).
SCL_NODATA_MAX = 1
#: uint16 ceiling of the AOT / WVP rasters (format).
U16_MAX_DN = 65535
#: TCI: reflectance 0..0.25 -> DN 1..255 (Sen2Cor, reference section 3.2).
TCI_RHO_MAX = 0.25
TCI_DN_SPAN = 254.0


def baseline_has_offset(baseline: str | float) -> bool:
    """Radiometric offset from processing baseline 04.00 on."""
    return float(baseline) >= OFFSET_FROM_BASELINE - 1e-9


def _nodata(shape, nodata, scl) -> np.ndarray:
    m = np.zeros(shape, bool) if nodata is None else np.asarray(nodata, bool)
    if scl is not None:
        m = m | (np.asarray(scl) <= SCL_NODATA_MAX)
    return m


def _rule(encoding) -> tuple[float, float, float, float]:
    """(quantification, DN offset, rounding half, largest DN) of a sensor's
    :class:`~sen2cor3.sensors.BoaEncoding` (None: Sentinel-2's 10000, 1000, 0.5, 32767)."""
    if encoding is None:
        return BOA_QUANTIFICATION, BOA_ADD_OFFSET, 0.5, BOA_MAX_DN
    return (float(encoding.quantification), float(encoding.offset_dn), 0.5 if encoding.round_half_up else 0.0,
            float(encoding.max_dn))


def boa_dn(rho: np.ndarray, nodata=None, scl=None, offset: bool = True, encoding=None) -> np.ndarray:
    """uint16 BOA band from float reflectance (NaN -> no data); ``encoding``: the sensor's BOA encoding rule
    (quantification and DN offset; None: Sentinel-2's 10000 and 1000), ``offset``: whether the product has it.

    Row strips with in-place float64 steps: the same operations as one whole-array expression (same values),
    without ~5 full-size float64 temporaries (4 GB for a 10 m band)."""
    q, add, half, top = _rule(encoding)
    return _by_rows(_boa_dn_rows, np.uint16, rho, nodata, scl, offset=offset, q=q, add=add, half=half, top=top)


def _boa_dn_rows(rho: np.ndarray, nodata, scl, offset: bool, q: float = BOA_QUANTIFICATION,
                 add: float = BOA_ADD_OFFSET, half: float = 0.5, top: float = BOA_MAX_DN) -> np.ndarray:
    """``half``: 0.5 rounds half up (Sentinel-2), 0 truncates (Sen2Cor 3's Landsat export)."""
    r = np.asarray(rho)
    finite = np.isfinite(r)
    bad = _nodata(r.shape, nodata, scl) | ~finite
    bad |= r == 0.0
    if offset:
        # float64 x = rho * 10000 + 1000.5 is exact for float32 rho (<= 47 significant bits), so one fused
        # pass gives the same values as the three steps
        x = np.multiply(r, q, dtype=np.float64)
        x += add + half
        # trunc, then DN < 1 -> 1 (Sen2Cor: DN < 0 -> 1; a 0 here would read as no data), then <= 32767: for
        # x >= 1 the cast truncates, so clipping x to [1, 32767] first gives the same DN
        np.clip(x, 1.0, top, out=x)
    else:
        x = np.trunc(np.maximum(np.where(finite, r, 0.0).astype(np.float64), BOA_MIN_RHO_NO_OFFSET)
                     * q + half)
        np.clip(x, 0, top, out=x)
    with np.errstate(invalid="ignore"):              # NaN/inf rows are no data (set below)
        dn = x.astype(np.uint16)
    dn[bad] = 0
    return dn


#: Rows per strip of the encoders (bounded temporaries for full 10980^2 bands).
_STRIP_ROWS = 512


def _by_rows(fn, dtype, a: np.ndarray, nodata, scl, out: np.ndarray | None = None, **kw) -> np.ndarray:
    """Apply ``fn(a_rows, nodata_rows, scl_rows, **kw)`` per strip of rows of a 2-D image (others whole), into
    ``out`` when given (e.g. a channel of a multi-band image)."""
    a = np.asarray(a)
    if a.ndim != 2 or a.shape[0] <= _STRIP_ROWS:
        if out is None:
            return fn(a, nodata, scl, **kw)
        out[...] = fn(a, nodata, scl, **kw)
        return out
    if out is None:
        out = np.empty(a.shape, dtype)

    def rows(m, sl):
        return m[sl] if m is not None and np.ndim(m) == 2 and np.shape(m) == a.shape else m
    for r0 in range(0, a.shape[0], _STRIP_ROWS):
        sl = slice(r0, r0 + _STRIP_ROWS)
        out[sl] = fn(a[sl], rows(nodata, sl), rows(scl, sl), **kw)
    return out


def boa_rho(dn: np.ndarray, offset: bool = True, encoding=None) -> np.ndarray:
    """Reflectance from BOA DN (no data -> NaN): rho = (DN - 1000) / 10000 from baseline 04.00 (``encoding``: the
    sensor's rule, as for :func:`boa_dn`)."""
    q, add, _, _ = _rule(encoding)
    d = np.asarray(dn, np.float64)
    r = (d - (add if offset else 0.0)) / q
    return np.where(d == 0, np.nan, r).astype(np.float32)


def scaled_u16(value: np.ndarray, scale: float, nodata=None, scl=None) -> np.ndarray:
    """AOT (x1000) or WVP (cm x1000) as uint16 with rounding; 0 where no data (row strips, as boa_dn)."""
    return _by_rows(_scaled_u16_rows, np.uint16, value, nodata, scl, scale=scale)


def _scaled_u16_rows(value: np.ndarray, nodata, scl, scale: float) -> np.ndarray:
    v = np.asarray(value, np.float64)
    bad = _nodata(v.shape, nodata, scl) | ~np.isfinite(v)
    dn = np.clip(np.trunc(np.where(np.isfinite(v), v, 0.0) * scale + 0.5), 0, U16_MAX_DN)
    dn[bad] = 0
    return dn.astype(np.uint16)


def aot_dn(aot: np.ndarray, nodata=None, scl=None) -> np.ndarray:
    return scaled_u16(aot, AOT_QUANTIFICATION, nodata, scl)


def wvp_dn(wv_cm: np.ndarray, nodata=None, scl=None) -> np.ndarray:
    return scaled_u16(wv_cm, WVP_QUANTIFICATION, nodata, scl)


def tci(red: np.ndarray, green: np.ndarray, blue: np.ndarray, nodata=None, scl=None) -> np.ndarray:
    """(3, ny, nx) uint8 true colour from BOA reflectance: clip(rho, 0, 0.25) * 254 / 0.25 + 1; 0 = no data."""
    out = np.empty((3,) + np.shape(red), np.uint8)
    for i, b in enumerate((red, green, blue)):
        tci_channel(b, nodata, scl, out=out[i])
    return out


def tci_channel(rho: np.ndarray, nodata=None, scl=None, out: np.ndarray | None = None) -> np.ndarray:
    """One uint8 channel of :func:`tci`, so that a caller can build the TCI one band at a time (``out``: the
    channel of the caller's TCI to fill)."""
    return _by_rows(_tci_rows, np.uint8, rho, nodata, scl, out=out)


def _tci_rows(rho: np.ndarray, nodata, scl) -> np.ndarray:
    r = np.asarray(rho, np.float64)
    bi = _nodata(np.shape(r), nodata, scl) | ~np.isfinite(r)
    v = np.trunc(np.clip(np.where(np.isfinite(r), r, 0.0), 0.0, TCI_RHO_MAX) * (TCI_DN_SPAN / TCI_RHO_MAX) + 1.0)
    v[bi] = 0
    return v.astype(np.uint8)
