"""The Landsat 8/9 Collection-2 L1TP reader: MTL, band GeoTIFFs, QA_PIXEL/QA_RADSAT, angles, the ROI window.

What Sen2Cor 3 does (03.03.01 source, ``L2A_Config_Landsat`` / ``L2A_BandIO_Landsat``) and what we keep:

* the folder is named as the product id and holds ``<id>_MTL.txt`` (we also take ``_MTL.xml`` or ``_MTL.json``
  when the text form is absent), the band files ``<id>_B1.TIF`` .. ``_B11.TIF``; B1-B7 and B9 are processed,
  B8 (pan), B10/B11 (thermal) only carried into the L2 folder;
* TOA reflectance = (REFLECTANCE_MULT_BAND_n x DN + REFLECTANCE_ADD_BAND_n) / sin(SUN_ELEVATION), the MTL
  scene-centre sun elevation (USGS's L1 recipe and Sen2Cor 3's ``dn2refl``); DN 0 is no data;
* the sun position of the classification and the correction is the MTL scene centre (consistent with that
  TOA); the view angles come from the per-pixel ``_VZA``/``_VAA`` rasters (hundredths of a degree) where
  present. Sen2Cor 3 never reads those rasters and uses a dummy view (1 deg zenith, 90 deg azimuth): that is
  our fallback when they are absent, with a warning naming it;
* no data from the QA_PIXEL fill bit (and DN 0); saturation from QA_RADSAT (any processed band) -> SCL 1 with
  Handle_L1C_QLT_Mask. Sen2Cor 3 reads neither file; the QA_PIXEL cloud bits are not used for the SCL (they
  are the L1 cloud mask, as MSK_CLASSI_B00 is for Sentinel-2).

Only L1TP Collection-2 (and Collection-1) products of Landsat 8/9 OLI are accepted; L1GT (not terrain
corrected) and L2 products are refused with one line (Sen2Cor 3 takes L1GT silently and fails on L2SP later).
"""
from __future__ import annotations

import logging
import math
import re
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from osgeo import gdal

from sen2cor3.errors import InputError, RasterError
from sen2cor3.io.raster import Window, open_dataset, read_window
from sen2cor3.products.model import AngleGrids, BandInfo, Geoposition, L1CProduct
from sen2cor3.sensors import BoaEncoding, sensor_for

from .mtl import Mtl, read_ang, read_mtl

log = logging.getLogger("sen2cor3.readers.landsat")

KIND = "landsat_c2"
#: Landsat product id: sensor, level, path/row, acquisition and processing dates, collection, tier.
PRODUCT_ID = re.compile(r"^(L[COTEM]0[1-9])_(L1TP|L1GT|L1GS|L2SP|L2SR)_(\d{3})(\d{3})_(\d{8})_(\d{8})_(\d{2})_"
                        r"(T1|T2|RT)$")
#: QA_PIXEL bits (Collection 2): fill, dilated cloud, cirrus, cloud, cloud shadow, snow.
QA_FILL, QA_DILATED_CLOUD, QA_CIRRUS, QA_CLOUD, QA_CLOUD_SHADOW, QA_SNOW = 0, 1, 2, 3, 4, 5
#: Angle rasters: int16 hundredths of a degree (USGS Landsat angle products).
ANGLE_SCALE = 0.01
#: Sen2Cor 3's view geometry when it has no angle rasters (``L2A_Config_Landsat``): zenith 1 deg, azimuth 90.
FALLBACK_VZA_DEG, FALLBACK_VAA_DEG = 1.0, 90.0
#: Node spacing of the angle grids handed to the correction (the Sentinel-2 grids' 5 km).
ANGLE_GRID_STEP_M = 5000.0
_MISSIONS = {"LC08": "L8", "LC09": "L9"}


def is_landsat_folder(path: Path) -> bool:
    """A folder named as a Landsat product id, or holding ``<name>_MTL.txt``."""
    p = Path(path)
    return bool(PRODUCT_ID.match(p.name)) or (p.is_dir() and (p / f"{p.name}_MTL.txt").is_file())


def find_mtl(folder: Path) -> Path:
    """``<id>_MTL.txt``, else ``_MTL.xml``, else ``_MTL.json`` (InputError naming the folder)."""
    for suffix in (".txt", ".xml", ".json"):
        p = folder / f"{folder.name}_MTL{suffix}"
        if p.is_file():
            return p
    found = sorted(folder.glob("*_MTL.txt")) + sorted(folder.glob("*_MTL.xml")) + sorted(folder.glob("*_MTL.json"))
    if len(found) >= 1:
        return found[0]
    raise InputError(f"{folder}: no {folder.name}_MTL.txt (nor .xml/.json): not a Landsat L1 product folder")


def _group(mtl: Mtl, *names: str) -> str:
    """The first of ``names`` present (Collection 2 vs 1 group names)."""
    for n in names:
        if n in mtl.groups:
            return n
    raise InputError(f"{mtl.path}: missing group {names[0]}")


def _time(mtl: Mtl, g_img: str) -> datetime:
    date = mtl.text(g_img, "DATE_ACQUIRED")
    t = mtl.text(g_img, "SCENE_CENTER_TIME", "00:00:00.0Z").rstrip("Z")
    m = re.match(r"^(\d{4}-\d{2}-\d{2})$", date)
    mt = re.match(r"^(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?$", t)
    if not m or not mt:
        raise InputError(f"{mtl.path}: DATE_ACQUIRED/SCENE_CENTER_TIME not understood ({date!r}, {t!r})")
    frac = (mt.group(4) or "0")[:6].ljust(6, "0")
    return datetime.fromisoformat(f"{date}T{mt.group(1)}:{mt.group(2)}:{mt.group(3)}.{frac}").replace(
        tzinfo=timezone.utc)


def _generation(mtl: Mtl, g_rec: str, fallback: datetime) -> datetime:
    txt = mtl.text(g_rec, "DATE_PRODUCT_GENERATED", mtl.text(g_rec, "FILE_DATE", ""))
    m = re.match(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})", txt)
    return (datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}").replace(tzinfo=timezone.utc) if m else fallback)


def _band_file(folder: Path, mtl: Mtl, g_content: str, n: int, product_id: str) -> Path:
    name = mtl.text(g_content, f"FILE_NAME_BAND_{n}", f"{product_id}_B{n}.TIF")
    return folder / name


def _epsg(ds: gdal.Dataset, path: Path) -> int:
    srs = ds.GetSpatialRef()
    code = srs.GetAuthorityCode(None) if srs is not None else None
    if not code:
        raise InputError(f"{path}: no EPSG code in the GeoTIFF's CRS")
    return int(code)


def _angle_step_m(shape: tuple[int, int], res_m: float) -> float:
    """Node spacing: ANGLE_GRID_STEP_M, finer on small scenes so that a scene spans at least 4 steps."""
    return min(ANGLE_GRID_STEP_M, max(res_m, (max(shape) - 1) * res_m / 4.0))


def _angle_grid(path: Path, shape: tuple[int, int], res_m: float) -> np.ndarray | None:
    """An angle raster sampled at the correction's grid nodes (every :func:`_angle_step_m` from the UL corner),
    degrees; None if the file cannot be read (the caller warns)."""
    try:
        ds = open_dataset(path)
        if (ds.RasterYSize, ds.RasterXSize) != shape:
            return None
        step_px = _angle_step_m(shape, res_m) / res_m
        n_r = int(math.floor((shape[0] - 1) / step_px)) + 1
        n_c = int(math.floor((shape[1] - 1) / step_px)) + 1
        rows = np.minimum((np.arange(n_r) * step_px).round().astype(int), shape[0] - 1)
        cols = np.minimum((np.arange(n_c) * step_px).round().astype(int), shape[1] - 1)
        # only the node rows are read (a whole 7700^2 raster would be 0.5 GB of float64 for ~2000 values)
        a = np.stack([read_window(ds, 1, Window(int(r), 0, 1, shape[1]))[0, cols] for r in rows]).astype(np.float64)
    except (RasterError, OSError, RuntimeError):
        return None
    g = a * ANGLE_SCALE
    g[a == 0] = np.nan                              # outside the footprint the rasters hold 0
    return g if np.isfinite(g).any() else None


def _angles(folder: Path, mtl: Mtl, g_content: str, g_img: str, product_id: str, shape, res_m: float,
            band_names: tuple[str, ...]) -> tuple[AngleGrids, list[str]]:
    """Sun: the MTL scene centre (as the TOA conversion). View: the VZA/VAA rasters, else Sen2Cor's dummy."""
    sza = 90.0 - mtl.number(g_img, "SUN_ELEVATION")
    saa = mtl.number(g_img, "SUN_AZIMUTH")
    notes = []
    files = {k: folder / mtl.text(g_content, f"FILE_NAME_ANGLE_SENSOR_{k}_BAND_4", f"{product_id}_{v}.TIF")
             for k, v in (("ZENITH", "VZA"), ("AZIMUTH", "VAA"))}
    vza = _angle_grid(files["ZENITH"], shape, res_m) if files["ZENITH"].is_file() else None
    vaa = _angle_grid(files["AZIMUTH"], shape, res_m) if files["AZIMUTH"].is_file() else None
    if vza is None or vaa is None:
        notes.append(f"{files['ZENITH'].name}/{files['AZIMUTH'].name} absent or unreadable: view zenith "
                     f"{FALLBACK_VZA_DEG} deg, azimuth {FALLBACK_VAA_DEG} deg (Sen2Cor 3's fixed view) used instead")
        vza = np.full((2, 2), FALLBACK_VZA_DEG)
        vaa = np.full((2, 2), FALLBACK_VAA_DEG)
    vz_mean, va_mean = float(np.nanmean(vza)), float(np.nanmean(vaa))
    grid = np.full(vza.shape, sza), np.full(vza.shape, saa)
    step = _angle_step_m(shape, res_m)
    return AngleGrids(
        col_step_m=step, row_step_m=step, sun_zenith=grid[0], sun_azimuth=grid[1],
        view_zenith={b: vza for b in band_names}, view_azimuth={b: vaa for b in band_names},
        mean_sun_zenith=sza, mean_sun_azimuth=saa, mean_view_zenith={b: vz_mean for b in band_names},
        mean_view_azimuth={b: va_mean for b in band_names}), notes


def open_landsat(path: str | Path) -> L1CProduct:
    """Metadata, grid and file lists of a Landsat 8/9 C2 (or C1) L1TP folder; InputError with one line naming the
    file and the fault otherwise. No pixels are read but the angle rasters' grid nodes."""
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(f"{folder}: input product does not exist or is not a folder")
    mtl_path = find_mtl(folder)
    mtl = Mtl(read_mtl(mtl_path), mtl_path)
    g_content = _group(mtl, "PRODUCT_CONTENTS", "METADATA_FILE_INFO")
    g_img = _group(mtl, "IMAGE_ATTRIBUTES")
    g_proj = _group(mtl, "PROJECTION_ATTRIBUTES", "PRODUCT_METADATA")
    g_resc = _group(mtl, "LEVEL1_RADIOMETRIC_RESCALING", "RADIOMETRIC_RESCALING")
    g_rec = next((g for g in ("LEVEL1_PROCESSING_RECORD", "METADATA_FILE_INFO") if g in mtl.groups), g_content)
    product_id = mtl.text(g_content, "LANDSAT_PRODUCT_ID", folder.name)
    m = PRODUCT_ID.match(product_id)
    if not m:
        raise InputError(f"{mtl_path}: LANDSAT_PRODUCT_ID {product_id!r} is not a Landsat product id")
    level = mtl.text(g_content, "PROCESSING_LEVEL", mtl.text("PRODUCT_METADATA", "DATA_TYPE", m.group(2))
                     if "PRODUCT_METADATA" in mtl.groups else m.group(2))
    if level != "L1TP":
        raise InputError(f"{mtl_path}: processing level {level}: only Landsat L1TP (terrain-corrected Level-1) "
                         "products can be processed to L2A")
    if m.group(1) not in _MISSIONS:
        raise InputError(f"{mtl_path}: {m.group(1)} is not Landsat 8/9 OLI(-TIRS); only LC08/LC09 are supported")
    sensor = sensor_for(_MISSIONS[m.group(1)])
    spacecraft = mtl.text(g_img, "SPACECRAFT_ID", f"LANDSAT_{m.group(1)[-1]}")

    images, bands, rescaling = {}, {}, {}
    for n in range(1, 12):
        p = _band_file(folder, mtl, g_content, n, product_id)
        name = f"B{n}"
        if not p.is_file():
            if name in sensor.band_names:
                raise InputError(f"{p}: band image {name} missing")
            continue
        images[name] = p
    for info in sensor.bands:
        n = int(info.name[1:])
        mult = mtl.number(g_resc, f"REFLECTANCE_MULT_BAND_{n}")
        add = mtl.number(g_resc, f"REFLECTANCE_ADD_BAND_{n}")
        bands[info.name] = BandInfo(name=info.name, band_id=info.band_id, resolution_m=info.resolution_m,
                                    solar_irradiance=float("nan"), radio_add_offset=0.0,
                                    wavelength_central_nm=info.wavelength_nm)
        rescaling[info.name] = (mult, add)
    ref = images[sensor.roles.red]
    try:
        ds = open_dataset(ref)
    except RasterError as exc:
        raise InputError(str(exc)) from None
    gt = ds.GetGeoTransform()
    nrows, ncols = ds.RasterYSize, ds.RasterXSize
    res = float(gt[1])
    lines = int(mtl.number(g_proj, "REFLECTIVE_LINES", nrows))
    samples = int(mtl.number(g_proj, "REFLECTIVE_SAMPLES", ncols))
    if (lines, samples) != (nrows, ncols):
        raise InputError(f"{ref}: {nrows}x{ncols} pixels, the MTL says {lines}x{samples} (REFLECTIVE_LINES/SAMPLES)")
    for name, p in images.items():
        if name in sensor.band_names:
            d = open_dataset(p)
            if (d.RasterYSize, d.RasterXSize) != (nrows, ncols):
                raise InputError(f"{p}: {d.RasterYSize}x{d.RasterXSize} pixels, {nrows}x{ncols} expected "
                                 "(the reflective grid)")
    epsg = _epsg(ds, ref)
    geo = Geoposition(int(round(res)), gt[0], gt[3], gt[1], gt[5], nrows, ncols)
    sensing = _time(mtl, g_img)
    angles, notes = _angles(folder, mtl, g_content, g_img, product_id, (nrows, ncols), res, sensor.band_names)
    qi = {}
    for key, tag in (("QA_PIXEL", "FILE_NAME_QUALITY_L1_PIXEL"), ("QA_RADSAT",
                                                                   "FILE_NAME_QUALITY_L1_RADIOMETRIC_SATURATION")):
        p = folder / mtl.text(g_content, tag, f"{product_id}_{key}.TIF")
        if p.is_file():
            qi[key] = p
    ang = folder / mtl.text(g_content, "FILE_NAME_ANGLE_COEFFICIENT", f"{product_id}_ANG.txt")
    if ang.is_file():
        header = read_ang(ang)["FILE_HEADER"]            # checked (Sen2Cor 3 reads it), carried into the L2
        if header.get("SPACECRAFT_ID", spacecraft) != spacecraft:
            raise InputError(f"{ang}: SPACECRAFT_ID {header.get('SPACECRAFT_ID')} does not match the MTL's "
                             f"{spacecraft}")
    elev = mtl.number(g_img, "SUN_ELEVATION")
    if elev <= 0:
        raise InputError(f"{mtl_path}: SUN_ELEVATION {elev} <= 0 (night scene)")
    # Sen2Cor 3 (export_msi_bands): DN = (rho - ADD_n) / MULT_n with the L1 rescaling of each band, truncated
    encoding = {b: BoaEncoding(quantification=1.0 / mult, offset_dn=-add / mult, always_offset=True,
                               max_dn=65535, round_half_up=False) for b, (mult, add) in rescaling.items()}
    return L1CProduct(
        safe_path=folder, product_name=product_id, product_uri=product_id, product_type=level,
        mission_id=sensor.mission_id, spacecraft_name=spacecraft, sensing_start=sensing,
        datatake_sensing=sensing.strftime("%Y%m%dT%H%M%S"), generation_time=_generation(mtl, g_rec, sensing),
        processing_baseline="00.00", relative_orbit=int(m.group(3)), absolute_orbit=0,
        sensing_orbit_direction="DESCENDING", datatake_identifier=mtl.text(g_rec, "LANDSAT_SCENE_ID", product_id),
        tile_id=f"{m.group(3)}{m.group(4)}", quantification_value=1.0,
        u=1.0 / mtl.number(g_img, "EARTH_SUN_DISTANCE", 1.0) ** 2, bands=bands, nodata_value=0,
        saturated_value=65535, epsg=epsg, crs_name=f"WGS 84 / UTM zone {epsg % 100}{'N' if epsg < 32700 else 'S'}",
        geopositions={geo.resolution_m: geo}, angles=angles, mtd_product_path=mtl_path, mtd_tile_path=mtl_path,
        mtd_datastrip_path=None, granule_name=product_id, datastrip_name=None, tile_long_id=product_id,
        datastrip_long_id="", image_paths=images, qi_mask_paths=qi, aux_paths={},
        cloud_coverage_percent=mtl.number(g_img, "CLOUD_COVER", float("nan")), reader=KIND,
        boa_encoding=encoding, warnings=tuple(notes),
        extra={"rescaling": rescaling, "sin_sun_elevation": math.sin(math.radians(elev)),
               "full_grid": geo, "window": Window(0, 0, nrows, ncols),
               "mtl": mtl, "level": level})


# ---------------------------------------------------------------------------------------------- ROI
def roi_window(product: L1CProduct, roi) -> Window:
    """The processing window of the GIPP ``Region_Of_Interest`` on the L1 reflective grid (Sen2Cor 3,
    ``L2A_BandIO_Landsat``): ``row0`` OFF -> the whole grid; AUTO -> the bounding box of valid pixels (any band
    > 0); else ``row0``/``col0`` is the window centre in 30 m pixels and ``nrow_win``/``ncol_win`` its size,
    clipped to the grid. A window with no pixel inside the grid is an InputError (Sen2Cor 3 crashes)."""
    full = product.extra["full_grid"]
    if roi is None or str(roi.row0).upper() == "OFF":
        return Window(0, 0, full.nrows, full.ncols)
    if str(roi.row0).upper() == "AUTO":
        return _valid_box(product)
    try:
        r0, c0, nr, nc = (int(float(v)) for v in (roi.row0, roi.col0, roi.nrow_win, roi.ncol_win))
    except (TypeError, ValueError):
        raise InputError(f"Region_Of_Interest: row0/col0/nrow_win/ncol_win must be integers, OFF or AUTO "
                         f"(got {roi.row0}, {roi.col0}, {roi.nrow_win}, {roi.ncol_win})") from None
    top, left = max(r0 - nr // 2, 0), max(c0 - nc // 2, 0)
    bottom, right = min(r0 + nr // 2, full.nrows), min(c0 + nc // 2, full.ncols)
    if bottom <= top or right <= left:
        raise InputError(f"{product.mtd_product_path}: Region_Of_Interest centre ({r0}, {c0}) with "
                         f"{nr}x{nc} pixels lies outside the {full.nrows}x{full.ncols} reflective grid")
    return Window(top, left, bottom - top, right - left)


def _valid_box(product: L1CProduct) -> Window:
    full = product.extra["full_grid"]
    any_valid_rows = np.zeros(full.nrows, bool)
    any_valid_cols = np.zeros(full.ncols, bool)
    for b in product.sensor.band_names:
        a = read_window(open_dataset(product.image_paths[b]), 1, Window(0, 0, full.nrows, full.ncols)) > 0
        any_valid_rows |= a.any(axis=1)
        any_valid_cols |= a.any(axis=0)
    if not any_valid_rows.any():
        raise InputError(f"{product.safe_path}: no valid pixel in any band (Region_Of_Interest AUTO)")
    r = np.nonzero(any_valid_rows)[0]
    c = np.nonzero(any_valid_cols)[0]
    return Window(int(r[0]), int(c[0]), int(r[-1] - r[0] + 1), int(c[-1] - c[0] + 1))


def with_window(product: L1CProduct, win: Window) -> L1CProduct:
    """The product seen through ``win``: its grid is the window (so DEM, CAMS and ESA CCI are warped to it and
    the science sees only it); reads are offset into the full L1 files, writers put results back."""
    full = product.extra["full_grid"]
    geo = Geoposition(full.resolution_m, full.ulx + win.col_off * full.xdim, full.uly + win.row_off * full.ydim,
                      full.xdim, full.ydim, win.nrows, win.ncols)
    a = product.angles
    return replace(product, geopositions={geo.resolution_m: geo}, extra={**product.extra, "window": win},
                   angles=_crop_angles(a, win, full))


def _crop_angles(a: AngleGrids, win: Window, full: Geoposition) -> AngleGrids:
    """Angle node grids re-based on the window's UL corner (nodes keep their ground positions: the grid is
    interpolated at node spacing from the new origin)."""
    from scipy.ndimage import map_coordinates
    step = a.row_step_m
    dy, dx = win.row_off * abs(full.ydim) / step, win.col_off * full.xdim / step
    n_r = int(math.floor(win.nrows * abs(full.ydim) / step)) + 1
    n_c = int(math.floor(win.ncols * full.xdim / step)) + 1

    def shift(g):
        g = np.asarray(g, np.float64)
        if g.ndim == 0 or g.size == 1 or np.all(g == g.flat[0]):
            return np.full((n_r, n_c), float(np.ravel(g)[0]))
        filled = np.where(np.isfinite(g), g, np.nanmean(g))
        rr, cc = np.meshgrid(np.arange(n_r) + dy, np.arange(n_c) + dx, indexing="ij")
        return map_coordinates(filled, [rr, cc], order=1, mode="nearest")
    return replace(a, sun_zenith=shift(a.sun_zenith), sun_azimuth=shift(a.sun_azimuth),
                   view_zenith={b: shift(v) for b, v in a.view_zenith.items()},
                   view_azimuth={b: shift(v) for b, v in a.view_azimuth.items()})


# ---------------------------------------------------------------------------------------------- pixels
def _window(product: L1CProduct, resolution_m: int, window: Window | None) -> Window:
    if resolution_m != product.extra["full_grid"].resolution_m:
        raise InputError(f"{product.safe_path}: Landsat bands are read at "
                         f"{product.extra['full_grid'].resolution_m} m only, not {resolution_m} m")
    roi = product.extra["window"]
    if window is None:
        return roi
    return Window(roi.row_off + window.row_off, roi.col_off + window.col_off, window.nrows, window.ncols)


def read_band(product: L1CProduct, band_name: str, resolution_m: int, window: Window | None = None,
              native_sink=None, resample: str = "nearest") -> np.ndarray:
    """DN (uint16) of one band on the processing window (or a window inside it)."""
    path = product.image_paths.get(band_name)
    if path is None:
        raise InputError(f"{product.mtd_product_path}: no image for band {band_name!r}")
    try:
        return read_window(open_dataset(path), 1, _window(product, resolution_m, window))
    except RasterError as exc:
        raise InputError(str(exc)) from None


def read_qi_masks(product: L1CProduct, resolution_m: int, window: Window | None = None,
                  bands: tuple[str, ...] | None = None, layers: tuple[str, ...] | None = None,
                  native_cache: dict | None = None) -> dict[str, np.ndarray]:
    """``nodata`` (QA_PIXEL fill), ``saturated_defective`` (QA_RADSAT of the processed bands) and the L1 cloud
    layers (``cloud``, ``dilated_cloud``, ``cloud_shadow``, ``cirrus``, ``snow``) on the processing window."""
    win = _window(product, resolution_m, window)
    wanted = layers or ("nodata", "saturated_defective", "cloud", "dilated_cloud", "cloud_shadow", "cirrus", "snow")
    out = {k: np.zeros((win.nrows, win.ncols), bool) for k in wanted}
    try:
        if "QA_PIXEL" in product.qi_mask_paths and set(wanted) - {"saturated_defective"}:
            qa = read_window(open_dataset(product.qi_mask_paths["QA_PIXEL"]), 1, win)
            for key, bit in (("nodata", QA_FILL), ("dilated_cloud", QA_DILATED_CLOUD), ("cirrus", QA_CIRRUS),
                             ("cloud", QA_CLOUD), ("cloud_shadow", QA_CLOUD_SHADOW), ("snow", QA_SNOW)):
                if key in out:
                    out[key] = (qa >> bit) & 1 == 1
        if "saturated_defective" in out and "QA_RADSAT" in product.qi_mask_paths:
            sat = read_window(open_dataset(product.qi_mask_paths["QA_RADSAT"]), 1, win)
            bits = 0
            for b in bands or product.sensor.band_names:
                bits |= 1 << (int(b[1:]) - 1)
            out["saturated_defective"] = (sat & bits) != 0
    except RasterError as exc:
        raise InputError(str(exc)) from None
    return out


def toa(product: L1CProduct, band: str, dn: np.ndarray) -> np.ndarray:
    """TOA reflectance (float32): (MULT x DN + ADD) / sin(SUN_ELEVATION) with the MTL scene-centre elevation; DN 0
    (no data) gives 0."""
    mult, add = product.extra["rescaling"][band]
    dn = np.asarray(dn)
    out = dn.astype(np.float32)
    out *= np.float32(mult)
    out += np.float32(add)
    out /= np.float32(product.extra["sin_sun_elevation"])
    out[dn == 0] = 0.0
    return out
