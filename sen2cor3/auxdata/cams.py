"""CAMS / ECMWF atmosphere fields: AOT at 550 nm, total column water vapour, total ozone (and MSL pressure).

File selection follows Sen2Cor 3 (``L2A_AuxImport_Landsat``/``L2A_BandIO_Landsat`` 03.03.01, the only public
3.x source) under ``<aux_data>/ECMWF``:

1. daily   ``daily/<YYYYMMDD>/CAMS_archive_aod550_tcwv_msl_gtco3_analysis_0H_6H_12H_18H_<YYYY-MM-DD>.nc``
2. monthly ``monthly/<YYYYMM>/*.nc`` (Sen2Cor takes the first ``*.nc`` its glob returns; we take the first
   in sorted order so the choice is reproducible)
3. NRT     ``CAMS_NREALTIME/<YYYYMMDD><00|12>/z_cams_c_ecmf_<YYYYMMDD><00|12>0000_prod_fc_sfc_<step:03d>_aod550.nc``
   (aod550 only; one valid time per file: hour 0 is step 12 of the previous day's 12 UTC run, hours 1-12
   steps of the 00 UTC run, 13-23 steps of the 12 UTC run; the bracketing files are searched up to 3 h away.
   ``_aod5500.nc``, as in Sen2Cor 3's sample tree, is accepted too.)

Besides these, the L1C product carries its own ``AUX_DATA/AUX_ECMWFT`` (GRIB: tcwv, msl, total ozone) and
``AUX_CAMSFO`` (GRIB: aerosol optical depths; GRIB1 table 210 parameter 207 = total AOD 550 nm), read by
:func:`read_l1c_grib`.

Time: each variable is interpolated linearly between the two analysis times that bracket the sensing time
(Sen2Cor takes the two nearest steps, which extrapolates after 18 UTC; we hold the end value instead).
Units (as Sen2Cor 3 converts them): tcwv kg m-2 -> g cm-2 (/10); ozone kg m-2 -> DU (x 300 x 155.5694,
i.e. 300 DU = 6.428e-3 kg m-2); aod550 dimensionless; msl Pa -> hPa.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from osgeo import gdal

from .grid import AuxDataError, TileGrid, gdal_call, mem_dataset, warp_to_grid

__all__ = ["CamsFields", "OZONE_KGM2_TO_DU", "find_cams_daily", "find_cams_monthly", "find_cams_nrt",
           "load_cams", "read_cams_netcdf", "read_cams_nrt", "read_l1c_grib"]

#: kg m-2 -> Dobson units, Sen2Cor's 300 * 155.5694 (R. Richter: 300 DU = 6.428e-3 kg m-2).
OZONE_KGM2_TO_DU = 300.0 * 155.5694
DAILY_NAME = "CAMS_archive_aod550_tcwv_msl_gtco3_analysis_0H_6H_12H_18H_{d:%Y-%m-%d}.nc"
_NC_VARS = {"aot550": "aod550", "tcwv_gcm2": "tcwv", "ozone_du": "gtco3", "msl_hpa": "msl"}
_TIME_DIMS = ("time", "valid_time", "forecast_reference_time")
_STEP_DIMS = ("forecast_period", "step", "leadtime")
# GRIB element names per field (GRIB1 ECMWF names as GDAL prints them, and GRIB2 names).
_GRIB_ELEMENTS = {"tcwv_gcm2": {"PWC", "TCWV", "TCIWV", "PWAT"}, "msl_hpa": {"MSL", "PRMSL"},
                  "ozone_du": {"TCO3", "TOZNE", "TCIOZ", "GTCO3"}, "aot550": {"AOD550"}}
_GRIB_AOD550 = re.compile(r"\bvar207 of table 210\b")   # GRIB1 MACC table 210, parameter 207


@dataclass(frozen=True)
class CamsFields:
    """CAMS/ECMWF fields on a tile grid (float32, NaN where unknown); a field the source lacks is None."""
    aot550: np.ndarray | None
    tcwv_gcm2: np.ndarray | None
    ozone_du: np.ndarray | None
    source: str                     # CAMS_DAILY | CAMS_MONTHLY | CAMS_NRT | AUX_CAMSFO | AUX_ECMWFT | a+b
    files: tuple[Path, ...]
    msl_hpa: np.ndarray | None = None
    times: tuple[datetime, ...] = ()   # analysis/forecast times used for the interpolation

    def mean(self, name: str) -> float | None:
        """Mean of the positive finite values of one field (how Sen2Cor reduces ozone to one number)."""
        a = getattr(self, name)
        if a is None:
            return None
        v = a[np.isfinite(a) & (a > 0)]
        return float(v.mean()) if v.size else None


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


# ----------------------------------------------------------------------------------------- file selection
def find_cams_daily(aux_root: Path, when: datetime) -> Path | None:
    """The daily CAMS file of the sensing date (UTC), or None."""
    d = _utc(when)
    p = Path(aux_root) / "ECMWF" / "daily" / f"{d:%Y%m%d}" / DAILY_NAME.format(d=d)
    return p if p.is_file() else None


def find_cams_monthly(aux_root: Path, when: datetime) -> Path | None:
    """The first ``*.nc`` (sorted) of ``ECMWF/monthly/<YYYYMM>/``, or None."""
    d = _utc(when)
    folder = Path(aux_root) / "ECMWF" / "monthly" / f"{d:%Y%m}"
    files = sorted(p for p in folder.glob("*.nc") if p.is_file()) if folder.is_dir() else []
    return files[0] if files else None


def _nrt_file(root: Path, hour: datetime) -> Path | None:
    if hour.hour == 0:
        run, step = (hour - timedelta(days=1)).replace(hour=12), 12
    elif hour.hour <= 12:
        run, step = hour.replace(hour=0), hour.hour
    else:
        run, step = hour.replace(hour=12), hour.hour - 12
    folder = root / f"{run:%Y%m%d%H}"
    for suffix in ("aod550", "aod5500"):
        p = folder / f"z_cams_c_ecmf_{run:%Y%m%d%H}0000_prod_fc_sfc_{step:03d}_{suffix}.nc"
        if p.is_file():
            return p
    return None


def _nrt_valid_time(path: Path) -> datetime | None:
    """Valid time from an NRT file name (run + step), for files without a time coordinate."""
    m = re.search(r"_(\d{10})0000_prod_fc_sfc_(\d{3})_", path.name)
    if not m:
        return None
    run = datetime.strptime(m.group(1), "%Y%m%d%H").replace(tzinfo=timezone.utc)
    return run + timedelta(hours=int(m.group(2)))


def find_cams_nrt(aux_root: Path, when: datetime) -> tuple[Path, Path] | None:
    """The NRT forecast files of the hours bracketing ``when`` (searched up to 3 h away), or None."""
    root = Path(aux_root) / "ECMWF" / "CAMS_NREALTIME"
    if not root.is_dir():
        return None
    t = _utc(when)
    h0 = t.replace(minute=0, second=0, microsecond=0)
    h1 = h0 if t == h0 else h0 + timedelta(hours=1)
    before = next((f for k in range(4) if (f := _nrt_file(root, h0 - timedelta(hours=k)))), None)
    after = next((f for k in range(4) if (f := _nrt_file(root, h1 + timedelta(hours=k)))), None)
    return (before, after) if before and after else None


# ----------------------------------------------------------------------------------------- reading
_UNIT_RE = re.compile(r"^\s*(seconds|second|secs|s|minutes|minute|mins|hours|hour|hrs|h|days|day|d)\s+since\s+"
                      r"(\d{4}-\d{1,2}-\d{1,2})(?:[ T](\d{1,2}:\d{1,2}(?::\d{1,2}(?:\.\d*)?)?))?", re.I)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _cf_time(value: float, units: str) -> datetime:
    """CF ``<unit> since <date>`` value -> aware UTC datetime (the two CAMS conventions and the new CDS one)."""
    m = _UNIT_RE.match(units or "")
    if not m:
        raise AuxDataError(f"time units {units!r} not understood")
    unit = m.group(1).lower()
    scale = _UNIT_SECONDS["m" if unit.startswith("min") else unit[0]]
    y, mo, d = (int(v) for v in m.group(2).split("-"))
    hms = (m.group(3) or "0:0:0").split(":") + ["0", "0"]
    base = datetime(y, mo, d, int(hms[0]), int(hms[1]), int(float(hms[2])), tzinfo=timezone.utc)
    return base + timedelta(seconds=float(value) * scale)


def _scaled(band: gdal.Band) -> np.ndarray:
    a = band.ReadAsArray().astype(np.float64)
    nd = band.GetNoDataValue()
    bad = ~np.isfinite(a) if nd is None else (a == nd) | ~np.isfinite(a)
    a = a * (band.GetScale() or 1.0) + (band.GetOffset() or 0.0)
    a[bad] = np.nan
    return a


def _read_nc_var(path: Path, var: str) -> tuple[list[datetime], list[np.ndarray], tuple, str] | None:
    """All time steps of one netCDF variable: (times, arrays, geotransform, units); None if absent."""
    try:
        ds = gdal.OpenEx(f'NETCDF:"{path}":{var}', gdal.OF_RASTER | gdal.OF_READONLY)
    except RuntimeError:                             # gdal.UseExceptions() set elsewhere
        ds = None
    if ds is None:
        return None
    md = ds.GetMetadata()
    times, arrays = [], []
    for i in range(1, ds.RasterCount + 1):
        b = ds.GetRasterBand(i)
        bmd = b.GetMetadata()
        t = None
        for dim in _TIME_DIMS:
            if f"NETCDF_DIM_{dim}" in bmd:
                t = _cf_time(float(bmd[f"NETCDF_DIM_{dim}"]), md.get(f"{dim}#units", ""))
                break
        for dim in _STEP_DIMS:                       # forecast files: valid time = reference + lead time
            if t is not None and f"NETCDF_DIM_{dim}" in bmd:
                units = md.get(f"{dim}#units", "hours")
                t += timedelta(seconds=float(bmd[f"NETCDF_DIM_{dim}"]) * _UNIT_SECONDS[units.strip()[0].lower()])
        times.append(t)
        arrays.append(_scaled(b))
    units = md.get(f"{var}#units", "")
    return times, arrays, ds.GetGeoTransform(), units


#: How far the sensing time may lie outside a file's time steps (a daily file covers its day, a monthly its month):
#: beyond that the file is for another date and is not used.
MAX_TIME_GAP = {"CAMS_DAILY": timedelta(days=1), "CAMS_MONTHLY": timedelta(days=32)}


def _interp_time(times: list[datetime | None], arrays: list[np.ndarray], when: datetime,
                 max_gap: timedelta | None = None) -> tuple[np.ndarray, tuple[datetime, ...]]:
    """Linear interpolation between the two steps bracketing ``when``; the end value outside the range, unless
    ``when`` lies more than ``max_gap`` outside it (AuxDataError: a file for another date)."""
    if len(arrays) == 1 or any(t is None for t in times):
        if len(arrays) > 1:
            raise AuxDataError("several time steps but no time coordinate")
        return arrays[0], tuple(t for t in times if t is not None)
    order = sorted(range(len(times)), key=lambda k: times[k])
    ts = [times[k] for k in order]
    if max_gap is not None and (when < ts[0] - max_gap or when > ts[-1] + max_gap):
        raise AuxDataError(f"time steps {ts[0]:%Y-%m-%d %H:%M} .. {ts[-1]:%Y-%m-%d %H:%M} do not cover the sensing "
                           f"time {when:%Y-%m-%d %H:%M} (a file for another date)")
    if when <= ts[0]:
        return arrays[order[0]], (ts[0],)
    if when >= ts[-1]:
        return arrays[order[-1]], (ts[-1],)
    j = next(k for k in range(1, len(ts)) if ts[k] >= when)
    t0, t1 = ts[j - 1], ts[j]
    w = (when - t0).total_seconds() / (t1 - t0).total_seconds()
    return (1.0 - w) * arrays[order[j - 1]] + w * arrays[order[j]], (t0, t1)


def _convert(field: str, a: np.ndarray, units: str) -> np.ndarray:
    u = units.replace(" ", "").lower()
    if field == "tcwv_gcm2" and "kg" in u:
        return a / 10.0
    if field == "ozone_du" and ("kg" in u or not u or u in ("~", "-", "[-]")):
        return a * OZONE_KGM2_TO_DU                   # CAMS/ECMWF store kg m-2 (units sometimes empty)
    if field == "msl_hpa" and "hpa" not in u:
        return a / 100.0
    return a


def _global_wrapped(a: np.ndarray, gt: tuple) -> tuple[np.ndarray, tuple]:
    """Put a 0..360 deg global grid into -180..180 and pad two wrapped columns on each side.

    CAMS grids start at 0 deg (``-0.2, 0.4, ...``); a tile west of Greenwich or across the antimeridian
    would otherwise fall outside the source (Sen2Cor re-centres with CENTER_LONG for the same reason).
    """
    x0, dx = gt[0], gt[1]
    ncols = a.shape[1]
    if dx <= 0 or ncols * dx < 359.0:                 # regional grid (the L1C GRIB subsets): leave it
        return a, gt
    if x0 + ncols * dx > 181.0:                       # 0..360 layout
        shift = int(round((180.0 + x0) / dx)) if x0 < 0 else int(round(180.0 / dx))
        a = np.roll(a, -shift, axis=1)
        x0 = x0 + shift * dx - 360.0
    pad = 2
    a = np.concatenate([a[:, -pad:], a, a[:, :pad]], axis=1)
    return a, (x0 - pad * dx, dx, 0.0, gt[3], 0.0, gt[5])


def _to_grid(a: np.ndarray, gt: tuple, grid: TileGrid, srs: int | str = 4326) -> np.ndarray:
    a, gt = _global_wrapped(a, gt)
    return warp_to_grid(mem_dataset(a, gt, srs), grid, "bilinear")


def read_cams_netcdf(path: Path, when: datetime, grid: TileGrid, source: str = "CAMS_DAILY") -> CamsFields:
    """Read aod550/tcwv/gtco3/msl from one CAMS netCDF, interpolate to ``when``, warp to ``grid``.

    Raises AuxDataError when the file is unreadable, holds none of the variables, or misses the tile.
    """
    path = Path(path)
    when = _utc(when)
    gdal_call(lambda: gdal.OpenEx(str(path), gdal.OF_RASTER | gdal.OF_READONLY), f"{path}: not a netCDF file")
    _check_classic_netcdf(path)
    out: dict[str, np.ndarray | None] = dict.fromkeys(_NC_VARS)
    used: tuple[datetime, ...] = ()
    gdal.PushErrorHandler("CPLQuietErrorHandler")
    try:
        for field, var in _NC_VARS.items():
            got = _read_nc_var(path, var)
            if got is None:
                continue
            times, arrays, gt, units = got
            try:
                a, used_t = _interp_time(times, arrays, when, MAX_TIME_GAP.get(source))
            except AuxDataError as exc:
                raise AuxDataError(f"{path}: {exc}") from None
            used = used or used_t
            out[field] = _to_grid(_convert(field, a, units), gt, grid)
    finally:
        gdal.PopErrorHandler()
    return _finish(out, source, (path,), used, path)


def _check_classic_netcdf(path: Path) -> None:
    """A classic (CDF-1/2) netCDF cut short still opens and GDAL reads its missing bytes as values: read it fully
    with scipy's reader, which fails on a truncated file. netCDF-4 (HDF5) files are checked by HDF5 itself."""
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic[:3] != b"CDF":
        return
    from scipy.io import netcdf_file
    try:
        with netcdf_file(str(path), "r", mmap=False) as nc:
            for v in nc.variables.values():
                np.asarray(v.data).sum()
    except Exception as exc:  # noqa: BLE001 - scipy raises several types for a broken file
        raise AuxDataError(f"{path}: truncated or corrupt netCDF ({type(exc).__name__}: {exc})".splitlines()[0]
                           ) from None


def read_cams_nrt(files: tuple[Path, Path], when: datetime, grid: TileGrid) -> CamsFields:
    """AOD 550 from the two bracketing NRT forecast files, interpolated to ``when``."""
    when = _utc(when)
    times, arrays, gt = [], [], None
    gdal.PushErrorHandler("CPLQuietErrorHandler")
    try:
        for f in dict.fromkeys(files):                # one file when both hours are the same
            _check_classic_netcdf(Path(f))
            got = _read_nc_var(Path(f), "aod550")
            if got is None:
                raise AuxDataError(f"{f}: no aod550 variable")
            times += [t or _nrt_valid_time(Path(f)) for t in got[0]]
            arrays += got[1]
            gt = got[2]
    finally:
        gdal.PopErrorHandler()
    a, used = _interp_time(times, arrays, when)
    return _finish({"aot550": _to_grid(a, gt, grid)}, "CAMS_NRT", tuple(dict.fromkeys(files)), used, files[0])


def _grib_field(md: dict[str, str]) -> str | None:
    el = md.get("GRIB_ELEMENT", "").upper()
    for field, names in _GRIB_ELEMENTS.items():
        if el in names:
            return field
    text = f"{md.get('GRIB_ELEMENT', '')} {md.get('GRIB_COMMENT', '')}"
    return "aot550" if _GRIB_AOD550.search(text) else None


def read_l1c_grib(path: Path, when: datetime, grid: TileGrid, source: str) -> CamsFields:
    """The L1C's own AUX_ECMWFT / AUX_CAMSFO GRIB: the fields it holds, time-interpolated if several steps."""
    path = Path(path)
    when = _utc(when)
    ds = gdal_call(lambda: gdal.OpenEx(str(path), gdal.OF_RASTER | gdal.OF_READONLY), f"{path}: not a GRIB file")
    if ds.GetDriver().ShortName != "GRIB":
        raise AuxDataError(f"{path}: not a GRIB file ({ds.GetDriver().ShortName})")
    steps: dict[str, tuple[list, list, str]] = {}
    gdal.PushErrorHandler("CPLQuietErrorHandler")
    try:
        for i in range(1, ds.RasterCount + 1):
            b = ds.GetRasterBand(i)
            md = b.GetMetadata()
            field = _grib_field(md)
            if field is None:
                continue
            vt = re.match(r"\s*(-?\d+)", md.get("GRIB_VALID_TIME", ""))
            t = datetime.fromtimestamp(int(vt.group(1)), timezone.utc) if vt else None
            ts, arrs, _ = steps.setdefault(field, ([], [], md.get("GRIB_UNIT", "")))
            ts.append(t)
            arrs.append(_scaled(b))
    finally:
        gdal.PopErrorHandler()
    out: dict[str, np.ndarray | None] = {}
    used: tuple[datetime, ...] = ()
    srs = ds.GetProjection() or 4326
    for field, (ts, arrs, units) in steps.items():
        a, used_t = _interp_time(ts, arrs, when)
        used = used or used_t
        out[field] = _to_grid(_convert(field, a, units), ds.GetGeoTransform(), grid, srs)
    return _finish(out, source, (path,), used, path)


def _finish(out: dict, source: str, files: tuple, used: tuple, name) -> CamsFields:
    fields = {k: v for k, v in out.items() if v is not None}
    if not fields:
        raise AuxDataError(f"{name}: none of aod550/tcwv/gtco3/msl found")
    if all(not np.isfinite(v).any() for v in fields.values()):
        raise AuxDataError(f"{name}: does not cover the tile")
    return CamsFields(aot550=out.get("aot550"), tcwv_gcm2=out.get("tcwv_gcm2"), ozone_du=out.get("ozone_du"),
                      msl_hpa=out.get("msl_hpa"), source=source, files=tuple(Path(f) for f in files), times=used)


def load_cams(aux_root: Path, when: datetime, grid: TileGrid) -> tuple[CamsFields | None, list[str]]:
    """CAMS from aux_data: daily, else monthly, else NRT (AOD only). Returns the fields (or None) and one
    line per source that was tried and failed or was absent, for the report."""
    notes: list[str] = []
    for source, find in (("CAMS_DAILY", find_cams_daily), ("CAMS_MONTHLY", find_cams_monthly)):
        f = find(aux_root, when)
        if f is None:
            notes.append(f"{source}: no file for {_utc(when):%Y-%m-%d} under {Path(aux_root) / 'ECMWF'}")
            continue
        try:
            return read_cams_netcdf(f, when, grid, source), notes
        except AuxDataError as exc:
            notes.append(f"{source}: {exc}")
    pair = find_cams_nrt(aux_root, when)
    if pair is None:
        notes.append("CAMS_NRT: no bracketing forecast files")
    else:
        try:
            return read_cams_nrt(pair, when, grid), notes
        except AuxDataError as exc:
            notes.append(f"CAMS_NRT: {exc}")
    return None, notes

