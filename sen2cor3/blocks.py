"""Block means: the one implementation of k x k aggregation, with the rules Sen2Cor applies to each kind of image.

* :func:`block_mean`: float mean over k x k blocks (partial edge blocks over their part), optionally over the
  ``valid`` pixels only (NaN where a block has none): the AC's working grids, the cirrus guard's B10 footprint.
* :func:`block_mean_dn`: integer images on whole blocks, with the no-data rule of the image:
  ``"any"`` (L1C DN read at a coarser grid: a block touching DN 0 is no data, rounding half to even),
  ``"ignore"`` (encoded L2A images 20 m -> 60 m: the mean of the block's non-zero pixels, half up; an all-zero
  block stays 0), ``"none"`` (probability masks: the plain mean, half up).

Both sum the k x k phases of strips of rows (exact integer or float64 sums, no float copy of a 10 m band).
"""
from __future__ import annotations

import numpy as np

_BLOCK_MEAN_STRIP_PX = 1 << 22        # input pixels per strip (32 MB of float64)


def block_mean(a: np.ndarray, k: int, valid: np.ndarray | None = None) -> np.ndarray:
    """Mean over k x k blocks (partial edge blocks included); with ``valid``, NaN where a block has none.

    Works in strips of whole block rows and sums the k x k phases of each strip into float64 (one read of
    the input, no float64 copy of it): a 10980^2 band needs a few MB of temporaries. Sums of float32
    reflectances in float64 are exact, so the values do not depend on the summation order."""
    a = np.asarray(a)
    return block_mean_rows(lambda r0, r1: a[r0:r1], a.shape, k, valid)


def block_mean_rows(rows_of, shape: tuple[int, int], k: int, valid: np.ndarray | None = None) -> np.ndarray:
    """:func:`block_mean` of an image given by its rows: ``rows_of(r0, r1)`` returns rows r0:r1 (e.g. a band
    kept as DN and converted to TOA by rows, ``ToaBands.rows``). Each strip is read once, so no full-size
    copy of the image is made (a 10 m band converted whole for its working grid: 0.5 GB on a full tile);
    the strips are :func:`block_mean`'s, so the values are the same."""
    ny, nx = shape
    cy, cx = -(-ny // k), -(-nx // k)
    s = np.empty((cy, cx))
    n = np.empty((cy, cx))
    step = max(1, _BLOCK_MEAN_STRIP_PX // (k * k * cx))          # block rows per strip
    for i0 in range(0, cy, step):
        i1 = min(cy, i0 + step)
        r0, r1 = i0 * k, min(ny, i1 * k)
        rows = rows_of(r0, r1)
        m = None if valid is None else valid[r0:r1]
        if m is not None and not m.all():
            rows = np.where(m, rows, rows.dtype.type(0))
        if (r1 - r0, nx) != ((i1 - i0) * k, cx * k):            # partial edge blocks: zero-pad the strip
            pad = np.zeros(((i1 - i0) * k, cx * k), rows.dtype)
            pad[: r1 - r0, :nx] = rows
            rows = pad
            w = np.zeros(pad.shape, bool)
            w[: r1 - r0, :nx] = True if m is None else m
            m = w
        blk = rows.reshape(i1 - i0, k, cx, k)
        acc = np.zeros((i1 - i0, cx))
        for i in range(k):
            for j in range(k):
                acc += blk[:, i, :, j]
        s[i0:i1] = acc
        if m is None or m.all():
            n[i0:i1] = k * k
        else:
            n[i0:i1] = m.reshape(i1 - i0, k, cx, k).sum(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def block_mean_dn(a: np.ndarray, k: int, nodata: str = "any") -> np.ndarray:
    """k x k block means of an image on whole blocks (see the module doc for the ``nodata`` rules); float
    images get the plain float64 mean."""
    if nodata not in ("any", "ignore", "none"):
        raise ValueError(f"nodata rule must be 'any', 'ignore' or 'none', got {nodata!r}")
    nr, nc = a.shape[0] // k, a.shape[1] // k
    integer = np.issubdtype(a.dtype, np.integer)
    out = np.empty((nr, nc), a.dtype)
    step = max(1, _BLOCK_MEAN_STRIP_PX // max(1, nc * k * k))
    for r0 in range(0, nr, step):
        r1 = min(nr, r0 + step)
        blk = a[r0 * k: r1 * k, : nc * k].reshape(r1 - r0, k, nc, k)
        if not integer:
            out[r0:r1] = blk.astype(np.float64).mean(axis=(1, 3))
            continue
        s = np.zeros((r1 - r0, nc), np.uint64)
        zero = np.zeros((r1 - r0, nc), bool)
        count = np.zeros((r1 - r0, nc), np.int64)
        for i in range(k):
            for j in range(k):
                v = blk[:, i, :, j]
                s += v
                if nodata == "any":
                    zero |= v == 0
                elif nodata == "ignore":
                    count += v > 0
        info = np.iinfo(a.dtype)
        if nodata == "any":
            m = np.rint(s / float(k * k))             # exact quotient in float64
            o = np.clip(m, info.min, info.max).astype(a.dtype)
            o[zero] = 0
        elif nodata == "ignore":
            o = np.where(count > 0, s / np.maximum(count, 1) + 0.5, 0).astype(a.dtype)
        else:
            o = np.clip(s / float(k * k) + 0.5, info.min, info.max).astype(a.dtype)
        out[r0:r1] = o
    return out
