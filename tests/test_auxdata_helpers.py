"""Builders of tiny but format-true aux files for the aux-data tests (netCDF, GRIB2, GeoTIFF); no tests here."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
from osgeo import gdal, osr
from scipy.io import netcdf_file

from sen2cor3.auxdata.grid import TileGrid
from sen2cor3.products.model import Geoposition

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
# A 60 km tile in UTM 31N (Belgium, ~4.4-5.3 E, 51.0-51.5 N) and one west of Greenwich (UTM 29N, Ireland).
GEO_BE = Geoposition(60, 600000.0, 5700000.0, 1200.0, -1200.0, 50, 50)
EPSG_BE = 32631
GEO_IE = Geoposition(60, 499980.0, 5900040.0, 1200.0, -1200.0, 50, 50)
EPSG_IE = 32629


def write_cams_nc(path: Path, day: datetime, aod=(0.1, 0.2, 0.3, 0.4), tcwv=20.0, gtco3=0.0068, msl=101300.0,
                  step_deg=2.0, lat_slope=0.002, lon_slope=0.0, hours=(0, 6, 12, 18),
                  region: tuple[float, float, float, float] | None = None, variables=None) -> Path:
    """A CAMS-like netCDF (CF-1.6: ``time`` hours since 1900, int16 packed with scale/offset).

    Global 0..360 grid by default (as CAMS), or ``region`` (lon0, lat0, lon1, lat1) in -180..180.
    aod550(t) = aod[t] + lat_slope * lat + lon_slope * lon(-180..180).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if region is None:
        lons = np.arange(0.0, 360.0, step_deg)
        lats = np.arange(90.0, -90.0 - 1e-9, -step_deg)
    else:
        lons = np.arange(region[0], region[2] + 1e-9, step_deg)
        lats = np.arange(region[3], region[1] - 1e-9, -step_deg)
    lon180 = np.where(lons >= 180.0, lons - 360.0, lons)
    base = (day - datetime(1900, 1, 1, tzinfo=day.tzinfo)).total_seconds() / 3600.0
    f = netcdf_file(str(path), "w")
    f.Conventions = "CF-1.6"
    f.createDimension("longitude", lons.size)
    f.createDimension("latitude", lats.size)
    f.createDimension("time", len(hours))
    v = f.createVariable("longitude", "f4", ("longitude",))
    v[:], v.units = lons, "degrees_east"
    v = f.createVariable("latitude", "f4", ("latitude",))
    v[:], v.units = lats, "degrees_north"
    v = f.createVariable("time", "i4", ("time",))
    v[:], v.units = [int(base + h) for h in hours], "hours since 1900-01-01 00:00:00.0"
    shape = (len(hours), lats.size, lons.size)
    fields = {
        "aod550": (np.array(aod)[:, None, None] + lat_slope * lats[None, :, None] + lon_slope * lon180[None, None, :],
                   "~", 1e-5, 0.3),
        "tcwv": (np.full(shape, tcwv), "kg m**-2", 1e-3, 30.0),
        "gtco3": (np.full(shape, gtco3), "kg m**-2", 1e-7, 0.0065),
        "msl": (np.full(shape, msl), "Pa", 1.0, 100000.0),
    }
    for name, (values, units, scale, offset) in fields.items():
        if variables is not None and name not in variables:
            continue
        v = f.createVariable(name, "i2", ("time", "latitude", "longitude"))
        v.scale_factor, v.add_offset, v.units = scale, offset, units
        v._FillValue = np.int16(-32767)
        v[:] = np.rint((np.broadcast_to(values, shape) - offset) / scale).astype(np.int16)
    f.close()
    return path


def write_geotiff(path: Path, arr: np.ndarray, geotransform, epsg: int = 4326, nodata=None) -> Path:
    """A one-band GeoTIFF (DEM tiles, ESA CCI maps)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    dtype = {np.dtype("uint8"): gdal.GDT_Byte, np.dtype("int16"): gdal.GDT_Int16,
             np.dtype("float32"): gdal.GDT_Float32}[arr.dtype]
    ds = gdal.GetDriverByName("GTiff").Create(str(path), arr.shape[1], arr.shape[0], 1, dtype)
    ds.SetGeoTransform(geotransform)
    s = osr.SpatialReference()
    s.ImportFromEPSG(epsg)
    ds.SetProjection(s.ExportToWkt())
    if nodata is not None:
        ds.GetRasterBand(1).SetNoDataValue(nodata)
    ds.GetRasterBand(1).WriteArray(arr)
    ds = None
    return path


def write_ecmwft_grib2(path: Path, geotransform, shape=(9, 9), tcwv=14.0, msl=101000.0, ozone_du=300.0,
                       ref_time="2023-06-06T12:00:00Z") -> Path:
    """An AUX_ECMWFT-like GRIB2: total column water vapour, MSL pressure, total ozone (DU)."""
    mem = gdal.GetDriverByName("MEM").Create("", shape[1], shape[0], 3, gdal.GDT_Float32)
    mem.SetGeoTransform(geotransform)
    s = osr.SpatialReference()
    s.ImportFromEPSG(4326)
    mem.SetProjection(s.ExportToWkt())
    for i, v in enumerate((tcwv, msl, ozone_du)):
        mem.GetRasterBand(i + 1).WriteArray(np.full(shape, v, np.float32))
    pds = "{} {} 2 0 0 0 0 1 0 1 0 0 255 0 0"
    opts = ["DISCIPLINE=0", f"IDS=CENTER=98(ECMWF) REF_TIME={ref_time} PROD_STATUS=0 TYPE=1", "PDS_PDTN=0",
            "BAND_1_PDS_TEMPLATE_ASSEMBLED_VALUES=" + pds.format(1, 64),      # TCIWV kg m-2
            "BAND_2_PDS_TEMPLATE_ASSEMBLED_VALUES=" + pds.format(3, 1),       # PRMSL Pa
            "BAND_3_PDS_TEMPLATE_ASSEMBLED_VALUES=" + pds.format(14, 2)]      # TCIOZ DU
    gdal.GetDriverByName("GRIB").CreateCopy(str(path), mem, options=opts)
    return path


def lonlat_of(grid: TileGrid) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat of every pixel centre of ``grid``."""
    x0, dx, _, y0, _, dy = grid.geotransform
    rows, cols = grid.shape
    xx, yy = np.meshgrid(x0 + (np.arange(cols) + 0.5) * dx, y0 + (np.arange(rows) + 0.5) * dy)
    s, t = osr.SpatialReference(), osr.SpatialReference()
    s.ImportFromEPSG(grid.epsg)
    t.ImportFromEPSG(4326)
    for r in (s, t):
        r.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    pts = np.array(osr.CoordinateTransformation(s, t).TransformPoints(np.column_stack([xx.ravel(), yy.ravel()])))
    return pts[:, 0].reshape(xx.shape), pts[:, 1].reshape(xx.shape)
