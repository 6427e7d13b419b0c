"""Wide Gaussian smoothing by FFT, for kernels that ``scipy.ndimage.gaussian_filter`` makes slow.

``gaussian_filter`` correlates directly: its cost per pixel grows with the kernel (8 sigma + 1 taps), and the
AOT gap filling of a full tile uses sigma up to ~270 px on the 60 m grid (~2100 taps per axis, tens of
seconds). This gives the same result (same truncated kernel, same ``mode="nearest"`` edges, same axis
order) up to float64 rounding (relative ~1e-15), at a cost that does not depend on sigma.
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter
from scipy.ndimage._filters import _gaussian_kernel1d
from scipy import fft as sfft

__all__ = ["gaussian_nearest"]

#: Below this kernel radius the direct filter is as fast and exact.
_DIRECT_MAX_RADIUS = 24
#: Values per FFT batch (lines x transform length): the padded lines and their complex spectra of a whole 90 m
#: Landsat working grid took ~0.5 GB at once; batches of 4 M values take ~100 MB, with the same per-line sums.
_CHUNK_VALUES = 1 << 22


def gaussian_nearest(a: np.ndarray, sigma: float, truncate: float = 4.0) -> np.ndarray:
    """``gaussian_filter(a, sigma, mode="nearest")`` (2-D, float64 result) through FFT for wide kernels."""
    a = np.asarray(a, np.float64)
    radius = int(truncate * float(sigma) + 0.5)
    if radius <= _DIRECT_MAX_RADIUS or a.ndim != 2:
        return gaussian_filter(a, sigma, mode="nearest", truncate=truncate)
    k = _gaussian_kernel1d(float(sigma), 0, radius)[::-1]   # symmetric: correlation == convolution
    out = a
    for axis in (0, 1):                                     # the axis order of gaussian_filter
        x = np.moveaxis(out, axis, -1)
        n = sfft.next_fast_len(x.shape[-1] + 2 * radius + k.size - 1, real=True)
        k_f = sfft.rfft(k, n)
        y = np.empty(x.shape, np.float64)
        step = max(1, _CHUNK_VALUES // n)                   # lines per FFT batch: each line is its own transform
        for i0 in range(0, x.shape[0], step):
            padded = np.pad(x[i0:i0 + step], [(0, 0), (radius, radius)], mode="edge")
            y[i0:i0 + step] = sfft.irfft(sfft.rfft(padded, n, axis=-1) * k_f, n, axis=-1)[:, 2 * radius:
                                                                                          2 * radius + x.shape[-1]]
        out = np.moveaxis(y, -1, axis)
    return np.ascontiguousarray(out)
