"""Between the working grid and the pixels: resampling, gap filling, and the per-pixel application of
working-grid fields (the linear inversion, encoded maps), all in row blocks with bounded temporaries."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .atmos import Upsampler, _lin_index

F32 = np.float32


def resample(a: np.ndarray, out_shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resampling between two grids covering the same extent (pixel centres aligned)."""
    ri0, ri1, rw = _lin_index(out_shape[0], a.shape[0], out_shape[0] / a.shape[0])
    ci0, ci1, cw = _lin_index(out_shape[1], a.shape[1], out_shape[1] / a.shape[1])
    c = a[:, ci0] * (1 - cw) + a[:, ci1] * cw
    return (c[ri0] * (1 - rw[:, None]) + c[ri1] * rw[:, None]).astype(F32)


def sample_centres(a: np.ndarray, k: int, wshape: tuple[int, int]) -> np.ndarray:
    """The pixel at the centre of each k x k block (class maps: a block mean would mix codes)."""
    r = np.minimum(np.arange(wshape[0]) * k + k // 2, a.shape[0] - 1)
    c = np.minimum(np.arange(wshape[1]) * k + k // 2, a.shape[1] - 1)
    return a[np.ix_(r, c)]


def fill_mean(a: np.ndarray, default: float) -> np.ndarray:
    """NaN cells -> the mean of the finite ones (``default`` when there is none)."""
    m = np.isfinite(a)
    return np.where(m, a, float(np.mean(a[m])) if m.any() else default)


def nearest_fill(a: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``a`` with every invalid cell set to the value of the nearest valid cell."""
    if valid.all() or not valid.any():
        return a
    from scipy.ndimage import distance_transform_edt
    idx = distance_transform_edt(~valid, return_distances=False, return_indices=True)
    return a[tuple(idx)]


def linear_band(toa_rows: Callable[[int, int], np.ndarray], n_rows: int, coef_w: tuple[np.ndarray, np.ndarray],
                up: Upsampler, valid: np.ndarray, cutoff: float, emit: Callable[[int, int, np.ndarray], None],
                block_rows: int) -> int:
    """rho = A toa - C block by block (``surface.linear_coefficients``, A and C on the working grid
    interpolated by ``up``); each block's reflectance goes to ``emit(r0, r1, rho)`` (NaN not yet set); returns
    the number of negative values. ``toa_rows(r0, r1)``: the band's TOA rows."""
    cols = [up.lazy(c) for c in coef_w]
    n_neg = 0
    for r0 in range(0, n_rows, block_rows):
        r1 = min(n_rows, r0 + block_rows)
        rho = up.rows(cols[0], r0, r1)
        rho *= toa_rows(r0, r1)
        rho -= up.rows(cols[1], r0, r1)
        np.minimum(rho, cutoff, out=rho)
        n_neg += int(np.count_nonzero((rho < 0) & valid[r0:r1]))
        emit(r0, r1, rho)
    return n_neg


def store_rows(out: np.ndarray, rho: np.ndarray, valid: np.ndarray, r0: int, r1: int) -> None:
    """Rows r0:r1 of a band: the block's reflectance, NaN where there is no valid pixel."""
    out[r0:r1] = rho
    np.copyto(out[r0:r1], np.float32(np.nan), where=~valid[r0:r1])


def encoded_map(work: np.ndarray, up: Upsampler, valid: np.ndarray, scl: np.ndarray, scale: float,
                 rows: int) -> np.ndarray:
    """uint16 AOT/WVP image (``encode.scaled_u16``) of a working-grid map, interpolated strip by strip."""
    from .encode import scaled_u16
    cols = up.lazy(work)
    out = np.empty(valid.shape, np.uint16)
    for r0 in range(0, valid.shape[0], rows):
        r1 = min(valid.shape[0], r0 + rows)
        out[r0:r1] = scaled_u16(up.rows(cols, r0, r1), scale, ~valid[r0:r1], scl[r0:r1])
    return out


__all__ = ["encoded_map", "fill_mean", "linear_band", "nearest_fill", "resample", "sample_centres", "store_rows"]


class NearestRows:
    """A coarse field up-sampled by nearest neighbour (each value repeated ``factor`` x ``factor`` times, cut
    to ``shape``), made row block by row block where it is read (``rows``) instead of held whole.

    Why: the 10 m run's elevation is the 20 m one up-sampled; ``correct_resolution`` reads it by row blocks
    only (its working-grid mean and each block's terms), so the full-size float32 copy (0.5 GB on a full tile,
    alive through the whole 10 m correction) is not needed. ``rows`` returns the values of ``full()``."""

    ndim = 2

    def __init__(self, coarse: np.ndarray, factor: int, shape: tuple[int, int], dtype=F32) -> None:
        self.coarse, self.factor = np.asarray(coarse, dtype), int(factor)
        self.shape, self.dtype = (int(shape[0]), int(shape[1])), np.dtype(dtype)

    def rows(self, r0: int, r1: int) -> np.ndarray:
        f = self.factor
        src = self.coarse[r0 // f: (r1 - 1) // f + 1]
        rep = np.repeat(np.repeat(src, f, axis=0), f, axis=1)
        return rep[r0 - (r0 // f) * f:][: r1 - r0, : self.shape[1]]

    def full(self) -> np.ndarray:
        """The whole field (a new array)."""
        return self.rows(0, self.shape[0])

    def __array__(self, dtype=None, copy=None):
        a = self.full()
        return a if dtype is None else a.astype(dtype, copy=False)


def field_rows(field, r0: int, r1: int) -> np.ndarray:
    """Rows r0:r1 of a full-size array or of anything that makes its rows (:class:`NearestRows`,
    :class:`sen2cor3.io.scratch.RowFile`)."""
    rows = getattr(field, "rows", None)
    return rows(r0, r1) if rows is not None else field[r0:r1]
