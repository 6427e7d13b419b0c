"""Write a complete, valid Sentinel-2 L1C SAFE from arrays the caller computed.

Used by the test fixtures (tiny products) and by the 6S-driven scene simulator. This module only lays out
files and metadata exactly as ESA structures an L1C product (compact naming, PSD 14): it computes no scene
content. The grid is the real tile's upper-left corner (``mgrs.tile_ul``) with a reduced size, so products
can be placed on any real MGRS tile.

Layout written::

    <S2A_MSIL1C_<sensing>_N<bbbb>_R<ooo>_T<tile>_<gen>>.SAFE/
      manifest.safe  MTD_MSIL1C.xml  INSPIRE.xml  AUX_DATA/  HTML/  rep_info/
      DATASTRIP/DS_<centre>_<gen>_S<ds start>/MTD_DS.xml  QI_DATA/
      GRANULE/L1C_T<tile>_A<abs orbit>_<ds start>/
         MTD_TL.xml
         IMG_DATA/T<tile>_<sensing>_B01.jp2 .. B12.jp2, B8A.jp2, TCI.jp2
         QI_DATA/ PB >= 04.00: MSK_DETFOO_Bxx.jp2, MSK_QUALIT_Bxx.jp2 (8 layers), MSK_CLASSI_B00.jp2 (3 layers)
                  PB <  04.00: MSK_{DEFECT,DETFOO,NODATA,SATURA,TECQUA}_Bxx.gml, MSK_CLOUDS_B00.gml (empty)
                  T<tile>_<sensing>_PVI.jp2
         AUX_DATA/ (AUX_ECMWFT, AUX_CAMSFO when given)

:func:`write_s2p_safe` writes a Hyper MS ("S2P") L1C instead, as prisma4sen2like (senbox-org/sen2like) makes
one from a PRISMA product for Sen2Cor 3's ``--Hyper_MS --resolution 30``::

    <S2P_MSIL1C_<sensing>_N0000_R099_T<tile>_<gen>>.SAFE/
      MTD_MSIL1C.xml  AUX_DATA/  HTML/  rep_info/          (no manifest.safe, no INSPIRE.xml)
      DATASTRIP/<DS id[17:56]>/MTD_DS.xml  QI_DATA/
      GRANULE/L1C_T<tile>_A028524_<ds start>/
         MTD_TL.xml                                         (Size/Geoposition 10, 20, 30, 60 m)
         IMG_DATA/T<tile>_<sensing>_B01.TIF .. B12.TIF, B8A.TIF   GeoTIFF uint16, 30 m, B01 60 m
                  T<tile>_<sensing>_TCI.TIF                        GeoTIFF 3 x uint8, 30 m
         QI_DATA/ MSK_CLASSI_B00.tif (3 x Byte, 60 m: cloud, snow, cirrus), T<tile>_<sensing>_PVI.tif
         AUX_DATA/

Both writers lay out the same SAFE tree with the same tile grid, angle grids and footprint, so that work is
done once (``_check_dn``, ``_common_facts``, ``_tree``, ``_write_bands``, ``_classi_layers``, ``_write_mtd``)
and each writer keeps what really differs: the image format (JPEG 2000 / GeoTIFF), the band resolutions, the
names and template constants, the TCI/PVI (ESA's 0..0.2 reflectance stretch / prisma4sen2like's quicklook)
and the QI masks.
"""
from __future__ import annotations

import math
import shutil
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from osgeo import osr

from sen2cor3.io.writers import write_raster
from sen2cor3.products import mgrs
from sen2cor3.products.model import S2_BAND_RESOLUTION_M, S2_BANDS

from . import _l1c_xml as X

__all__ = ["write_l1c_safe", "write_s2p_safe", "SOLAR_IRRADIANCE", "earth_sun_u", "angle_grid_size",
           "QUALIT_LAYER_NAMES", "S2P_RESOLUTION_M"]

#: MTD_MSIL1C SOLAR_IRRADIANCE (W m-2 um-1) per spacecraft, copied from real products (S2A T46RER N03.01,
#: S2B T32UPC N04.00). S2C/S2P use the S2A values unless the caller passes its own.
SOLAR_IRRADIANCE: dict[str, dict[str, float]] = {
    "S2A": dict(zip(S2_BANDS, (1884.69, 1959.66, 1823.24, 1512.06, 1424.64, 1287.61, 1162.08, 1041.63,
                               955.32, 812.92, 367.15, 245.59, 85.25))),
    "S2B": dict(zip(S2_BANDS, (1874.3, 1959.75, 1824.93, 1512.79, 1425.78, 1291.13, 1175.57, 1041.28,
                               953.93, 817.58, 365.41, 247.08, 87.75))),
}
#: Layer order of MSK_QUALIT_Bxx.jp2 (same as sen2cor3.products.l1c.QUALIT_LAYERS).
QUALIT_LAYER_NAMES = ("anc_lost", "anc_deg", "msi_lost", "msi_deg", "defective", "nodata",
                      "partially_corrected", "saturated")
_CLASSI_LAYERS = ("opaque", "cirrus", "snow")
_GML_KINDS = ("MSK_DEFECT", "MSK_DETFOO", "MSK_NODATA", "MSK_SATURA", "MSK_TECQUA")
_ORBIT_EPOCH = {"S2A": datetime(2015, 6, 23, 1, 0, tzinfo=timezone.utc),
                "S2B": datetime(2017, 3, 7, 2, 0, tzinfo=timezone.utc),
                "S2C": datetime(2024, 9, 5, 2, 0, tzinfo=timezone.utc)}


def earth_sun_u(when: datetime) -> float:
    """Reflectance_Conversion/U: the (d0/d)^2 factor ESA derives from the day of year."""
    doy = when.timetuple().tm_yday
    return 1.0 / (1.0 - 0.01673 * math.cos(0.0172 * (doy - 4))) ** 2


def angle_grid_size(size_10m: int, step_m: float = 5000.0) -> int:
    """Nodes per side of the MTD_TL angle grid covering a tile of ``size_10m`` 10 m pixels (23 for 10980)."""
    return int(math.ceil(size_10m * 10 / step_m)) + 1


def _grid(value: float | np.ndarray, n: int, what: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return np.full((n, n), float(arr))
    if arr.ndim != 2:
        raise ValueError(f"{what}: expected a scalar or a 2-D grid, got shape {arr.shape}")
    return arr


def _per_band(value, n: int, what: str) -> dict[str, np.ndarray]:
    if isinstance(value, Mapping):
        missing = [b for b in S2_BANDS if b not in value]
        if missing:
            raise ValueError(f"{what}: no grid for {missing}")
        return {b: _grid(value[b], n, f"{what}[{b}]") for b in S2_BANDS}
    return {b: _grid(value, n, what) for b in S2_BANDS}


def _footprint(epsg: int, ulx: float, uly: float, extent: float) -> list[tuple[float, float]]:
    src, dst = osr.SpatialReference(), osr.SpatialReference()
    src.ImportFromEPSG(epsg)
    dst.ImportFromEPSG(4326)
    for s in (src, dst):
        s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    ct = osr.CoordinateTransformation(src, dst)
    ring = [(ulx, uly), (ulx + extent, uly), (ulx + extent, uly - extent), (ulx, uly - extent), (ulx, uly)]
    return [(round(lat, 10), round(lon, 10)) for lon, lat, _ in (ct.TransformPoint(x, y) for x, y in ring)]


def _tci(dn: Mapping[str, np.ndarray], offset: float, q: float) -> np.ndarray:
    """True-colour image as ESA makes it: B04/B03/B02 reflectance 0..0.2 -> 1..255, 0 for no-data."""
    out = []
    for b in ("B04", "B03", "B02"):
        d = dn[b]
        refl = (d.astype(np.float32) + offset) / q
        v = np.clip(np.rint(refl / 0.2 * 255.0), 1, 255).astype(np.uint8)
        v[d == 0] = 0
        out.append(v)
    return np.stack(out)


def _utc(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)


def _check_dn(dn_bands: Mapping[str, np.ndarray], size_10m: int | None, res_m: Mapping[str, int],
              grids: str) -> int:
    """The tile side in 10 m pixels (``size_10m`` or from B02) once every band has its shape at ``res_m``."""
    missing = [b for b in S2_BANDS if b not in dn_bands]
    if missing:
        raise ValueError(f"dn_bands lacks {missing}")
    size = size_10m or dn_bands["B02"].shape[0] * res_m["B02"] // 10
    if size % 6:
        raise ValueError(f"size_10m={size} must be a multiple of 6 ({grids} m grids)")
    for b in S2_BANDS:
        n = size * 10 // res_m[b]
        if dn_bands[b].shape != (n, n):
            raise ValueError(f"dn_bands[{b}] has shape {dn_bands[b].shape}, expected {(n, n)}")
    return size


def _common_facts(tile_id: str, sensing_time: datetime, generation_time: datetime | None, u: float | None,
                  size: int, angle_step_m: float, angles: tuple) -> dict:
    """The :class:`~._l1c_xml.TileFacts` fields both writers fill alike: tile (without 'T'), sensing and
    generation times (UTC, generation 1 h 17 min after sensing unless given), grid, footprint, U, angle grids
    (``angles``: the writers' sun zenith, sun azimuth, view zenith, view azimuth arguments)."""
    sun_zenith_grid, sun_azimuth_grid, view_zenith, view_azimuth = angles
    epsg = mgrs.tile_epsg(tile_id)
    ulx, uly = mgrs.tile_ul(tile_id)
    gen = _utc((generation_time or sensing_time + timedelta(hours=1, minutes=17)).replace(microsecond=0))
    n = angle_grid_size(size, angle_step_m)
    return dict(
        tile_id=tile_id.upper().lstrip("T"), sensing=sensing_time, generation=gen, epsg=epsg, ulx=ulx, uly=uly,
        size_10m=size, footprint=_footprint(epsg, ulx, uly, size * 10.0),
        u=u if u is not None else earth_sun_u(sensing_time), angle_step=angle_step_m,
        sun_zen=_grid(sun_zenith_grid, n, "sun_zenith_grid"), sun_az=_grid(sun_azimuth_grid, n, "sun_azimuth_grid"),
        view_zen=_per_band(view_zenith, n, "view_zenith"), view_az=_per_band(view_azimuth, n, "view_azimuth"))


def _tree(out_dir: str | Path, product_name: str, granule: str, ds_dir: str) -> tuple[Path, Path]:
    """Create the (new) SAFE's folders; return the .SAFE and granule paths."""
    safe = Path(out_dir) / f"{product_name}.SAFE"
    if safe.exists():
        raise FileExistsError(f"{safe}: already exists")
    gdir = safe / "GRANULE" / granule
    for folder in (gdir / "IMG_DATA", gdir / "QI_DATA", gdir / "AUX_DATA", safe / "AUX_DATA", safe / "HTML",
                   safe / "rep_info", safe / "DATASTRIP" / ds_dir / "QI_DATA"):
        folder.mkdir(parents=True, exist_ok=True)
    return safe, gdir


def _write_bands(facts: X.TileFacts, img: Path, prefix: str, dn_bands: Mapping[str, np.ndarray],
                 res_m: Mapping[str, int], write: Callable[[Path, np.ndarray, int], object]) -> None:
    """The 13 band images ``<prefix>_<band>`` (uint16 DN at ``res_m``) by ``write(path without extension,
    dn, res)``, and MTD_MSIL1C's IMAGE_FILE list (the bands, then the TCI)."""
    for b in S2_BANDS:
        write(img / f"{prefix}_{b}", np.asarray(dn_bands[b], dtype=np.uint16), res_m[b])
    facts.image_files += [f"GRANULE/{facts.granule_name}/IMG_DATA/{prefix}_{b}" for b in (*S2_BANDS, "TCI")]


def _classi_layers(classi_masks: Mapping[str, np.ndarray] | None, layers: tuple[str, ...],
                   n60: int) -> list[np.ndarray]:
    """MSK_CLASSI_B00 bands in ``layers`` order (uint8 0/1 at 60 m; a layer not given is all 0)."""
    unknown = set(classi_masks or {}) - set(layers)
    if unknown:
        raise ValueError(f"classi_masks: unknown layers {sorted(unknown)}")
    return [np.asarray((classi_masks or {}).get(k, np.zeros((n60, n60), bool)), dtype=np.uint8) for k in layers]


def _write_mtd(xml, facts: X.TileFacts, safe: Path, gdir: Path, ds_dir: str) -> None:
    """MTD_TL, MTD_DS and MTD_MSIL1C by the document module ``xml`` (``_l1c_xml`` or ``_s2p_xml``)."""
    X.write_xml(xml.mtd_tl(facts), gdir / "MTD_TL.xml")
    X.write_xml(xml.mtd_ds(facts), safe / "DATASTRIP" / ds_dir / "MTD_DS.xml")
    X.write_xml(xml.mtd_msil1c(facts), safe / "MTD_MSIL1C.xml")


def write_l1c_safe(out_dir: str | Path, *, tile_id: str, sensing_time: datetime, dn_bands: Mapping[str, np.ndarray],
                   sun_zenith_grid: float | np.ndarray, sun_azimuth_grid: float | np.ndarray,
                   view_zenith: float | np.ndarray | Mapping[str, float | np.ndarray] = 5.0,
                   view_azimuth: float | np.ndarray | Mapping[str, float | np.ndarray] = 100.0,
                   spacecraft: str = "S2A", baseline: str = "05.11", relative_orbit: int = 108,
                   absolute_orbit: int | None = None, generation_time: datetime | None = None,
                   solar_irradiances: Mapping[str, float] | None = None, u: float | None = None,
                   quantification_value: float = 10000.0, radio_add_offset: float = -1000.0,
                   qi_masks: Mapping[str, Mapping[str, np.ndarray]] | None = None,
                   classi_masks: Mapping[str, np.ndarray] | None = None,
                   detector_footprints: Mapping[str, np.ndarray] | None = None, detector_id: int = 7,
                   size_10m: int | None = None, angle_step_m: float = 5000.0, orbit_direction: str = "DESCENDING",
                   processing_centre: str = "2APS", cloud_coverage: float = 0.0,
                   aux_files: Mapping[str, str | Path | bytes] | None = None, threads: int | None = 1) -> Path:
    """Write an L1C SAFE under ``out_dir`` and return the .SAFE path.

    ``dn_bands``: all 13 bands, uint16 DN at native resolution (10 m bands ``size_10m`` square, 20 m half,
    60 m a sixth). DN already include the radiometric offset for baseline >= 04.00 (DN = refl * Q - offset);
    ``radio_add_offset`` is written as RADIO_ADD_OFFSET only for baseline >= 04.00 (before: no offset element).
    Angle grids (deg) are 2-D arrays on ``angle_step_m`` nodes from the UL corner (see
    :func:`angle_grid_size`) or scalars (constant grid); view angles may be per band (mapping).
    ``qi_masks``: band -> {layer: bool array at the band's resolution} for MSK_QUALIT (layers as
    :data:`QUALIT_LAYER_NAMES`; ``nodata`` defaults to DN == 0). ``classi_masks``: {'opaque'|'cirrus'|'snow':
    bool array at 60 m}. ``detector_footprints``: band -> uint8 detector index (default ``detector_id`` where
    DN > 0). ``aux_files``: {'AUX_ECMWFT': path or bytes, ...} copied to the granule's AUX_DATA.
    """
    sc = spacecraft.upper()
    if sc not in ("S2A", "S2B", "S2C", "S2D", "S2P"):
        raise ValueError(f"unknown spacecraft {spacecraft!r}")
    sensing_time = _utc(sensing_time)
    pb = float(baseline)
    size = _check_dn(dn_bands, size_10m, S2_BAND_RESOLUTION_M, "10/20/60")
    common = _common_facts(tile_id, sensing_time, generation_time, u, size, angle_step_m,
                           (sun_zenith_grid, sun_azimuth_grid, view_zenith, view_azimuth))
    tile, gen, epsg, ulx, uly = (common[k] for k in ("tile_id", "generation", "epsg", "ulx", "uly"))
    ds_start = sensing_time + timedelta(seconds=3, microseconds=435000)
    if absolute_orbit is None:
        epoch = _ORBIT_EPOCH.get(sc, _ORBIT_EPOCH["S2A"])
        absolute_orbit = 1 + int((sensing_time - epoch).total_seconds() / 86400 * 14.3)
    s, g, d = (f"{t:%Y%m%dT%H%M%S}" for t in (sensing_time, gen, ds_start))
    nb = f"N{baseline.replace('.', '')}"
    product_name = f"{sc}_MSIL1C_{s}_{nb}_R{relative_orbit:03d}_T{tile}_{g}"
    granule = f"L1C_T{tile}_A{absolute_orbit:06d}_{d}"
    ds_dir = f"DS_{processing_centre}_{g}_S{d}"
    offset = radio_add_offset if pb >= 4.0 else 0.0
    facts = X.Facts(
        **common, spacecraft=sc, baseline=baseline, product_name=product_name, granule_name=granule,
        datastrip_dir=ds_dir, tile_long_id=f"{sc}_OPER_MSI_L1C_TL_{processing_centre}_{g}_A{absolute_orbit:06d}_T{tile}_N{baseline}",
        datastrip_long_id=f"{sc}_OPER_MSI_L1C_DS_{processing_centre}_{g}_S{d}_N{baseline}",
        datatake_id=f"G{sc}_{s}_{absolute_orbit:06d}_N{baseline}", ds_start=ds_start,
        relative_orbit=relative_orbit, absolute_orbit=absolute_orbit, orbit_direction=orbit_direction,
        centre=processing_centre, quantification=quantification_value,
        irradiance=dict(solar_irradiances or SOLAR_IRRADIANCE.get(sc, SOLAR_IRRADIANCE["S2A"])), offset=offset,
        detector_id=detector_id, cloud_cover=cloud_coverage)

    safe, gdir = _tree(out_dir, product_name, granule, ds_dir)
    img, qi = gdir / "IMG_DATA", gdir / "QI_DATA"

    def _jp2(path: Path, data: np.ndarray, res: int) -> None:
        write_raster(path, data, geotransform=(ulx, res, 0.0, uly, 0.0, -res), epsg=epsg, fmt="JP2",
                     threads=threads)

    prefix = f"T{tile}_{s}"
    rel_qi = f"GRANULE/{granule}/QI_DATA"
    _write_bands(facts, img, prefix, dn_bands, S2_BAND_RESOLUTION_M, _jp2)
    tci = _tci(dn_bands, offset, quantification_value)
    _jp2(img / f"{prefix}_TCI", tci, 10)
    step = max(1, size // 343)
    _jp2(qi / f"{prefix}_PVI", np.ascontiguousarray(tci[:, ::step, ::step]), 10 * step)
    facts.pvi_file = f"{rel_qi}/{prefix}_PVI.jp2"

    if pb >= 4.0:
        for i, b in enumerate(S2_BANDS):
            res, dn = S2_BAND_RESOLUTION_M[b], dn_bands[b]
            det = (detector_footprints or {}).get(b)
            det = np.where(dn > 0, detector_id, 0).astype(np.uint8) if det is None else np.asarray(det, np.uint8)
            _jp2(qi / f"MSK_DETFOO_{b}", det, res)
            given = (qi_masks or {}).get(b, {})
            unknown = set(given) - set(QUALIT_LAYER_NAMES)
            if unknown:
                raise ValueError(f"qi_masks[{b}]: unknown layers {sorted(unknown)}")
            layers = [np.asarray(given[k], dtype=bool) if k in given else (dn == 0 if k == "nodata" else
                      np.zeros(dn.shape, dtype=bool)) for k in QUALIT_LAYER_NAMES]
            _jp2(qi / f"MSK_QUALIT_{b}", np.stack(layers).astype(np.uint8), res)
            facts.mask_files += [(i, "MSK_DETFOO", f"{rel_qi}/MSK_DETFOO_{b}.jp2"),
                                 (i, "MSK_QUALIT", f"{rel_qi}/MSK_QUALIT_{b}.jp2")]
        _jp2(qi / "MSK_CLASSI_B00", np.stack(_classi_layers(classi_masks, _CLASSI_LAYERS, size // 6)), 60)
        facts.mask_files.append((None, "MSK_CLASSI", f"{rel_qi}/MSK_CLASSI_B00.jp2"))
    else:
        for i, b in enumerate(S2_BANDS):
            for kind in _GML_KINDS:
                name = f"{kind}_{b}"
                X.write_xml(X.gml_mask(kind, name, epsg), qi / f"{name}.gml")
                facts.mask_files.append((i, kind, f"{rel_qi}/{name}.gml"))
        X.write_xml(X.gml_mask("MSK_CLOUDS", "MSK_CLOUDS_B00", epsg), qi / "MSK_CLOUDS_B00.gml")
        facts.mask_files.append((None, "MSK_CLOUDS", f"{rel_qi}/MSK_CLOUDS_B00.gml"))

    for name, src in (aux_files or {}).items():
        dst = gdir / "AUX_DATA" / name
        if isinstance(src, bytes):
            dst.write_bytes(src)
        else:
            shutil.copyfile(src, dst)

    _write_mtd(X, facts, safe, gdir, ds_dir)
    X.write_xml(X.inspire(facts), safe / "INSPIRE.xml")
    X.write_xml(X.manifest(facts, safe), safe / "manifest.safe")
    return safe


# ---------------------------------------------------------------------------------------------- Hyper MS
#: Resolution (m) of each band in an S2P L1C (prisma4sen2like ``adapter.IMAGES_RES``): 30 m, B01 60 m.
S2P_RESOLUTION_M: dict[str, int] = {b: (60 if b == "B01" else 30) for b in S2_BANDS}
#: What prisma4sen2like hard-codes: relative orbit 99, absolute orbit 28524, baseline 00.00, TL "station".
S2P_RELATIVE_ORBIT = 99
S2P_ABSOLUTE_ORBIT = 28524
S2P_BASELINE = "00.00"
S2P_STATION = "XXXX"
#: MSK_CLASSI_B00.tif band order in an S2P product (prisma4sen2like adapter): cloud, snow, cirrus.
S2P_CLASSI_LAYERS = ("opaque", "snow", "cirrus")
_PVI_RES = 320.0


def _gtiff(path: Path, bands: list[np.ndarray], geotransform: tuple, epsg: int, options: list[str],
           nodata: float | None = None, scale: float | None = None, offset: float | None = None) -> Path:
    """A GeoTIFF of 1..n bands of one dtype (what prisma4sen2like's GDAL calls leave: band scale/offset
    metadata, no-data value)."""
    from osgeo import gdal
    from sen2cor3.simulate.truth import _GDT, _srs
    arr = [np.ascontiguousarray(b) for b in bands]
    ds = gdal.GetDriverByName("GTiff").Create(str(path), arr[0].shape[1], arr[0].shape[0], len(arr),
                                              _GDT[arr[0].dtype], options=options)
    ds.SetGeoTransform(tuple(float(v) for v in geotransform))
    ds.SetProjection(_srs(epsg).ExportToWkt())
    for i, a in enumerate(arr, 1):
        band = ds.GetRasterBand(i)
        band.WriteArray(a)
        if scale is not None:
            band.SetScale(scale)
        if offset is not None:
            band.SetOffset(offset)
        if nodata is not None:
            band.SetNoDataValue(nodata)
    ds.FlushCache()
    ds = None
    return path


def _quicklook(path: Path, rgb: list[np.ndarray], geotransform: tuple, epsg: int, res: float) -> Path:
    """TCI / PVI as prisma4sen2like's ``quicklook``: B04/B03/B02 DN stretched 1000..3500 -> 0..255 by
    ``gdal.Translate`` (bilinear, Byte, LZW) at ``res``, band scale 2500/10000/255 and offset 0, no no-data."""
    from osgeo import gdal
    from sen2cor3.simulate.truth import _srs
    n = rgb[0].shape[0]
    mem = gdal.GetDriverByName("MEM").Create("", n, n, 3, gdal.GDT_UInt16)
    mem.SetGeoTransform(tuple(float(v) for v in geotransform))
    mem.SetProjection(_srs(epsg).ExportToWkt())
    for i, a in enumerate(rgb, 1):
        mem.GetRasterBand(i).WriteArray(np.ascontiguousarray(a))
    extent = n * geotransform[1]
    size = {"xRes": res, "yRes": res} if extent / res >= 0.5 else {"width": 1, "height": 1}
    out = gdal.Translate(str(path), mem, **size, resampleAlg="bilinear", outputType=gdal.GDT_Byte, format="GTiff",
                         creationOptions=["COMPRESS=LZW"], scaleParams=[[1000, 3500, 0, 255]])
    for i in (1, 2, 3):
        b = out.GetRasterBand(i)
        b.SetScale(2500 / 10000.0 / 255)
        b.SetOffset(0)
        b.DeleteNoDataValue()
    out = None
    return path


def write_s2p_safe(out_dir: str | Path, *, tile_id: str, sensing_time: datetime,
                   dn_bands: Mapping[str, np.ndarray], sun_zenith_grid: float | np.ndarray,
                   sun_azimuth_grid: float | np.ndarray,
                   view_zenith: float | np.ndarray | Mapping[str, float | np.ndarray] = 5.0,
                   view_azimuth: float | np.ndarray | Mapping[str, float | np.ndarray] = 100.0,
                   size_10m: int | None = None, u: float | None = None,
                   classi_masks: Mapping[str, np.ndarray] | None = None, generation_time: datetime | None = None,
                   angle_step_m: float = 5000.0, processing_centre: str = S2P_STATION,
                   cloud_coverage: float = 0.0, snow_coverage: float = 0.0) -> Path:
    """Write a Hyper MS ("S2P") L1C SAFE under ``out_dir`` and return the .SAFE path.

    ``dn_bands``: the 13 bands as uint16 DN = rho * 10000 + 1000 (0 = no data) on the MGRS tile grid, 30 m
    (``size_10m / 3`` square) except B01 at 60 m (``size_10m / 6``); see :data:`S2P_RESOLUTION_M`.
    ``classi_masks``: {'opaque'|'snow'|'cirrus': bool array at 60 m}. Angle grids as :func:`write_l1c_safe`.
    Times: the product start/stop, datatake, datastrip and tile sensing times are all ``sensing_time`` (a
    simulated scene is instantaneous), so the granule's <ds start> equals the image files' <sensing>.
    """
    from . import _s2p_xml as P
    sensing_time = _utc(sensing_time)
    size = _check_dn(dn_bands, size_10m, S2P_RESOLUTION_M, "10/20/30/60")
    common = _common_facts(tile_id, sensing_time, generation_time, u, size, angle_step_m,
                           (sun_zenith_grid, sun_azimuth_grid, view_zenith, view_azimuth))
    tile, gen, epsg, ulx, uly = (common[k] for k in ("tile_id", "generation", "epsg", "ulx", "uly"))
    s, g = (f"{t:%Y%m%dT%H%M%S}" for t in (sensing_time, gen))
    orbit = f"{S2P_ABSOLUTE_ORBIT:06d}"
    product_name = f"S2P_MSIL1C_{s}_N{S2P_BASELINE.replace('.', '')}_R{S2P_RELATIVE_ORBIT:03d}_T{tile}_{g}"
    granule = f"L1C_T{tile}_A{orbit}_{s}"
    ds_long = f"S2P_OPER_MSI_L1C_DS_{processing_centre}_{g}_S{s}_N{S2P_BASELINE}"
    ds_dir = ds_long[17:56]          # prisma4sen2like's slice: DS_<centre>_<gen>_S<start> less its last digit
    facts = P.S2PFacts(
        **common, baseline=S2P_BASELINE, product_name=product_name, granule_name=granule,
        tile_long_id=f"S2P_OPER_MSI_L1C_TL_{S2P_STATION}_{g}_A{orbit}_T{tile}_N{S2P_BASELINE}",
        datastrip_long_id=ds_long, datatake_id=f"GS2P_{s}_{orbit}_N{S2P_BASELINE}", ds_start=sensing_time,
        relative_orbit=S2P_RELATIVE_ORBIT, orbit_direction="DESCENDING", centre=processing_centre,
        offset=-1000.0, quantification=10000.0, cloud_cover=cloud_coverage, snow_cover=snow_coverage)

    safe, gdir = _tree(out_dir, product_name, granule, ds_dir)
    img, qi = gdir / "IMG_DATA", gdir / "QI_DATA"

    def gt(res: float) -> tuple:
        return (ulx, float(res), 0.0, uly, 0.0, -float(res))

    def _band_tif(path: Path, dn: np.ndarray, res: int) -> None:
        _gtiff(path.with_name(path.name + ".TIF"), [dn], gt(res), epsg, [], nodata=0, scale=1e-4, offset=-0.1)

    prefix = f"T{tile}_{s}"
    rel_qi = f"GRANULE/{granule}/QI_DATA"
    _write_bands(facts, img, prefix, dn_bands, S2P_RESOLUTION_M, _band_tif)
    rgb = [np.asarray(dn_bands[b], dtype=np.uint16) for b in ("B04", "B03", "B02")]
    _quicklook(img / f"{prefix}_TCI.TIF", rgb, gt(30), epsg, 30.0)
    _quicklook(qi / f"{prefix}_PVI.tif", rgb, gt(30), epsg, _PVI_RES)
    facts.pvi_file = f"{rel_qi}/{prefix}_PVI.tif"
    _gtiff(qi / "MSK_CLASSI_B00.tif", _classi_layers(classi_masks, S2P_CLASSI_LAYERS, size // 6), gt(60), epsg,
           ["COMPRESS=LZW"])
    facts.mask_files.append((None, "MSK_CLASSI", f"{rel_qi}/MSK_CLASSI_B00.tif"))

    _write_mtd(P, facts, safe, gdir, ds_dir)
    return safe
