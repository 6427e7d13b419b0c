"""The tile grid every aux reader warps to, and the one GDAL warp they all share.

Aux data come in geographic grids of every size (0.4 deg CAMS, 1 arcsec DEM tiles, 1/360 deg ESA CCI); the
processor wants them on the tile's UTM grid at one resolution. One function does that with ``gdal.Warp`` to
an in-memory raster, so resampling, no-data handling and error messages are the same for every reader.
Pixels the source does not cover come back as NaN, which is how the readers tell "outside the tile".
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from osgeo import gdal, osr

from ..products.model import Geoposition

__all__ = ["AuxDataError", "TileGrid", "gdal_call", "mem_dataset", "warp_to_grid"]

T = TypeVar("T")
_RESAMPLING = {"nearest": "near", "near": "near", "bilinear": "bilinear", "cubic": "cubic",
               "cubicspline": "cubicspline", "average": "average", "mode": "mode"}


from sen2cor3.errors import AuxDataError  # noqa: E402,F401  (also a reader's internal failure, turned into a
#                                           fallback by the loaders)


def gdal_call(fn: Callable[[], T], what: str) -> T:
    """Run a GDAL call quietly; turn a None result or an exception into a one-line AuxDataError.

    Works whether or not someone enabled ``gdal.UseExceptions()``.
    """
    gdal.PushErrorHandler("CPLQuietErrorHandler")
    try:
        gdal.ErrorReset()
        try:
            out = fn()
        except RuntimeError as exc:
            raise AuxDataError(f"{what}: {str(exc).strip().splitlines()[0] if str(exc).strip() else 'GDAL error'}"
                               ) from None
        if out is None:
            msg = gdal.GetLastErrorMsg().strip().splitlines()
            raise AuxDataError(f"{what}: {msg[0] if msg else 'GDAL failed'}")
        return out
    finally:
        gdal.PopErrorHandler()


def _srs(epsg_or_wkt: int | str) -> osr.SpatialReference:
    s = osr.SpatialReference()
    if isinstance(epsg_or_wkt, int):
        s.ImportFromEPSG(epsg_or_wkt)
    else:
        s.SetFromUserInput(epsg_or_wkt)
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return s


@dataclass(frozen=True)
class TileGrid:
    """A north-up grid in a projected CRS: EPSG code, GDAL geotransform, (rows, cols)."""
    epsg: int
    geotransform: tuple[float, float, float, float, float, float]
    shape: tuple[int, int]

    @classmethod
    def from_geoposition(cls, geo: Geoposition, epsg: int) -> TileGrid:
        """The grid of one MTD_TL Geoposition (one resolution of the tile)."""
        return cls(int(epsg), tuple(float(v) for v in geo.geotransform), (int(geo.nrows), int(geo.ncols)))

    def coarsened(self, factor: int) -> TileGrid:
        """Same upper-left corner, pixels ``factor`` times larger; the last row/column may overhang.

        CAMS fields are 40 km wide: warping them to a 60 m grid then smoothing wastes time, so the caller
        warps to e.g. a 1.2 km grid and interpolates further itself.
        """
        if factor < 1:
            raise ValueError(f"factor must be >= 1, got {factor}")
        x0, dx, rx, y0, ry, dy = self.geotransform
        rows, cols = self.shape
        return TileGrid(self.epsg, (x0, dx * factor, rx, y0, ry, dy * factor),
                        (math.ceil(rows / factor), math.ceil(cols / factor)))

    @property
    def resolution(self) -> float:
        """Pixel width (m)."""
        return abs(self.geotransform[1])

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) in the grid CRS."""
        x0, dx, _, y0, _, dy = self.geotransform
        rows, cols = self.shape
        xs, ys = (x0, x0 + cols * dx), (y0, y0 + rows * dy)
        return min(xs), min(ys), max(xs), max(ys)

    def lonlat_bounds(self, densify: int = 20) -> tuple[float, float, float, float]:
        """(lon_min, lat_min, lon_max, lat_max) of the footprint, edges sampled so curved borders count.

        For a footprint across the antimeridian lon_min > lon_max (as GDAL's TransformBounds reports).
        """
        xmin, ymin, xmax, ymax = self.bounds
        ct = osr.CoordinateTransformation(_srs(self.epsg), _srs(4326))
        t = np.linspace(0.0, 1.0, densify + 1)
        xs = np.concatenate([xmin + (xmax - xmin) * t, np.full_like(t, xmax), xmax - (xmax - xmin) * t,
                             np.full_like(t, xmin)])
        ys = np.concatenate([np.full_like(t, ymax), ymax - (ymax - ymin) * t, np.full_like(t, ymin),
                             ymin + (ymax - ymin) * t])
        pts = np.array(ct.TransformPoints(np.column_stack([xs, ys]).tolist()))
        lon, lat = pts[:, 0], pts[:, 1]
        if lon.max() - lon.min() > 180.0:                 # across the antimeridian
            east = lon[lon >= 0]
            west = lon[lon < 0]
            return float(east.min()), float(lat.min()), float(west.max()), float(lat.max())
        return float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())


def mem_dataset(arr: np.ndarray, geotransform, srs: int | str = 4326,
                nodata: float | None = float("nan")) -> gdal.Dataset:
    """A one-band float32 in-memory dataset (for fields computed in numpy, e.g. time-interpolated CAMS)."""
    a = np.asarray(arr, dtype=np.float32)
    ds = gdal.GetDriverByName("MEM").Create("", a.shape[1], a.shape[0], 1, gdal.GDT_Float32)
    ds.SetGeoTransform(tuple(float(v) for v in geotransform))
    ds.SetProjection(_srs(srs).ExportToWkt())
    b = ds.GetRasterBand(1)
    if nodata is not None:
        b.SetNoDataValue(nodata)
    b.WriteArray(a)
    return ds


def _open(src: str | os.PathLike | gdal.Dataset) -> gdal.Dataset:
    if isinstance(src, gdal.Dataset):
        return src
    return gdal_call(lambda: gdal.OpenEx(str(src), gdal.OF_RASTER | gdal.OF_READONLY), f"{src}: cannot open")


def warp_to_grid(src: str | os.PathLike | gdal.Dataset, grid: TileGrid, resampling: str = "bilinear",
                 band: int = 1, src_nodata: float | None = None) -> np.ndarray:
    """Warp one band of ``src`` onto ``grid``; float32, NaN where the source has no data or no coverage.

    A source without a CRS is taken as WGS84 lon/lat (CAMS netCDF files carry none). Raises
    :class:`AuxDataError` naming the source when GDAL fails.
    """
    try:
        alg = _RESAMPLING[resampling.lower()]
    except KeyError:
        raise ValueError(f"unknown resampling {resampling!r}; use one of {sorted(_RESAMPLING)}") from None
    ds = _open(src)
    name = ds.GetDescription() or str(src)
    if not 1 <= band <= ds.RasterCount:
        raise AuxDataError(f"{name}: band {band} requested, it has {ds.RasterCount}")
    if ds.RasterCount > 1 or band != 1:               # GDAL 3.6 WarpOptions has no srcBands: pick it first
        ds = gdal_call(lambda: gdal.Translate("", ds, format="VRT", bandList=[band]), f"{name}: band {band}")
    if src_nodata is None:
        src_nodata = ds.GetRasterBand(1).GetNoDataValue()
    has_srs = bool(ds.GetProjection())
    xmin, ymin, xmax, ymax = grid.bounds
    opts = gdal.WarpOptions(
        format="MEM", outputBounds=(xmin, ymin, xmax, ymax), width=grid.shape[1], height=grid.shape[0],
        dstSRS=f"EPSG:{grid.epsg}", srcSRS=None if has_srs else "EPSG:4326", resampleAlg=alg,
        outputType=gdal.GDT_Float32, srcNodata=src_nodata, dstNodata=float("nan"),
        warpOptions=["INIT_DEST=NO_DATA"], multithread=False)
    out = gdal_call(lambda: gdal.Warp("", ds, options=opts), f"{name}: cannot warp to the tile grid")
    arr = out.GetRasterBand(1).ReadAsArray().astype(np.float32, copy=False)
    if src_nodata is not None and not math.isnan(src_nodata):
        arr[arr == np.float32(src_nodata)] = np.nan
    return arr
