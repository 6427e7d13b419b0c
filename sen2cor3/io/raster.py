"""Small GDAL helpers shared by the readers and writers.

Everything goes through GDAL so that JPEG 2000, GeoTIFF/COG and ENVI inputs are read the same way; a read at
reduced resolution (``out_shape`` smaller than the window) lets GDAL pick the JP2 codestream level or the COG
overview instead of decoding full resolution first. Errors come back as one-line :class:`RasterError`s that
name the file, because a GDAL message alone ("opj_decode() failed") does not say which band was broken.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
from osgeo import gdal

__all__ = ["RasterError", "Window", "block_windows", "gdal_config", "gdal_threads", "open_dataset",
           "read_window"]

_RESAMPLE = {
    "nearest": gdal.GRIORA_NearestNeighbour,
    "average": gdal.GRIORA_Average,
    "bilinear": gdal.GRIORA_Bilinear,
    "cubic": gdal.GRIORA_Cubic,
    "mode": gdal.GRIORA_Mode,
}


from sen2cor3.errors import RasterError  # noqa: E402,F401  (a raster cannot be opened, decoded or written)


class Window(NamedTuple):
    """A pixel window: offsets and size, rows first (numpy order, not GDAL's x/y order)."""
    row_off: int
    col_off: int
    nrows: int
    ncols: int


def block_windows(nrows: int, ncols: int, block: int | tuple[int, int]) -> Iterator[Window]:
    """Row-major windows of at most ``block`` pixels covering a ``nrows`` x ``ncols`` image.

    Used to process or write a 10980^2 tile in bounded memory; the last row/column of blocks is clipped.
    """
    brows, bcols = (block, block) if isinstance(block, int) else block
    if brows <= 0 or bcols <= 0:
        raise ValueError(f"block size must be positive, got {block!r}")
    for r in range(0, nrows, brows):
        for c in range(0, ncols, bcols):
            yield Window(r, c, min(brows, nrows - r), min(bcols, ncols - c))


def gdal_threads(threads: int | None) -> str:
    """GDAL thread-count string: ``None`` -> ``ALL_CPUS`` (GDAL itself honours cgroup CPU limits)."""
    return "ALL_CPUS" if threads is None else str(max(1, int(threads)))


@contextlib.contextmanager
def gdal_config(**options: str | None) -> Iterator[None]:
    """Set GDAL config options for this thread only, restoring the previous values afterwards.

    Thread-local so that parallel readers/writers in other threads keep their own settings
    (``gdal.config_options`` only exists from GDAL 3.7 on).
    """
    old = {k: gdal.GetThreadLocalConfigOption(k, None) for k in options}
    try:
        for k, v in options.items():
            gdal.SetThreadLocalConfigOption(k, v)
        yield
    finally:
        for k, v in old.items():
            gdal.SetThreadLocalConfigOption(k, v)


def _last_error(default: str) -> str:
    msg = gdal.GetLastErrorMsg().strip().splitlines()
    return msg[0] if msg else default


def open_dataset(path: str | os.PathLike, update: bool = False) -> gdal.Dataset:
    """Open a raster with GDAL or raise a one-line :class:`RasterError` naming the file."""
    path = Path(path)
    if not path.exists():
        raise RasterError(f"{path}: file not found")
    flags = gdal.OF_RASTER | (gdal.OF_UPDATE if update else gdal.OF_READONLY)
    gdal.PushErrorHandler("CPLQuietErrorHandler")
    try:
        gdal.ErrorReset()
        try:
            ds = gdal.OpenEx(str(path), flags)
        except RuntimeError as exc:          # the caller may have enabled gdal.UseExceptions()
            raise RasterError(f"{path}: GDAL cannot open it ({str(exc).strip()})") from None
        if ds is None:
            raise RasterError(f"{path}: GDAL cannot open it ({_last_error('unknown format')})")
        return ds
    finally:
        gdal.PopErrorHandler()


def read_window(path: str | os.PathLike | gdal.Dataset, band: int = 1, window: Window | None = None,
                out_shape: tuple[int, int] | None = None, resample: str = "average",
                threads: int | None = None) -> np.ndarray:
    """Read one band (or a window of it) into a 2-D array, optionally resampled to ``out_shape``.

    ``out_shape`` (rows, cols) smaller than the window makes GDAL read from the JP2 resolution level or
    overview closest to it (much faster than full decoding). ``resample``: average | nearest | bilinear |
    cubic | mode. ``threads`` sets GDAL_NUM_THREADS for the JP2 decoder (None: all CPUs).
    """
    try:
        alg = _RESAMPLE[resample.lower()]
    except KeyError:
        raise ValueError(f"unknown resampling {resample!r}; use one of {sorted(_RESAMPLE)}") from None
    ds = path if isinstance(path, gdal.Dataset) else open_dataset(path)
    name = ds.GetDescription()
    if not 1 <= band <= ds.RasterCount:
        raise RasterError(f"{name}: band {band} requested, file has {ds.RasterCount}")
    if window is None:
        window = Window(0, 0, ds.RasterYSize, ds.RasterXSize)
    if (window.row_off < 0 or window.col_off < 0 or window.row_off + window.nrows > ds.RasterYSize
            or window.col_off + window.ncols > ds.RasterXSize):
        raise RasterError(f"{name}: window {tuple(window)} outside the {ds.RasterYSize}x{ds.RasterXSize} image")
    buf_rows, buf_cols = out_shape if out_shape is not None else (window.nrows, window.ncols)
    gdal.PushErrorHandler("CPLQuietErrorHandler")
    try:
        with gdal_config(GDAL_NUM_THREADS=gdal_threads(threads)):
            gdal.ErrorReset()
            try:
                arr = ds.GetRasterBand(band).ReadAsArray(
                    window.col_off, window.row_off, window.ncols, window.nrows,
                    buf_xsize=buf_cols, buf_ysize=buf_rows, resample_alg=alg)
            except RuntimeError as exc:
                raise RasterError(f"{name}: cannot decode band {band} ({str(exc).strip()})") from None
            if arr is None or gdal.GetLastErrorType() >= gdal.CE_Failure:
                raise RasterError(f"{name}: cannot decode band {band} ({_last_error('read failed')})")
    finally:
        gdal.PopErrorHandler()
    return arr
