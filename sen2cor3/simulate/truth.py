"""Write the simulator's truth next to the product: GeoTIFFs on the product grid and Copernicus-style DEM tiles.

``OUT_DIR/truth/``: ``BOA_Bxx.tif`` (float32 surface reflectance at each band's native resolution, the
exact rho_s of the forward model), ``AOT.tif``, ``WVP.tif`` (g/cm2, column above the ground: the
zone's column above its mean elevation; 6S got ``rt.sixs.wv_input_for_column`` of it), ``DEM.tif`` (m),
``SCL.tif`` (uint8 Sen2Cor codes) at 20 m, ``CLOUD_FRACTION.tif``/``CLOUD_SHADOW_FRACTION.tif``/``CIRRUS_B10.tif``
(20 m: the cloud cover, the share of the direct sun its shadows block, the cirrus B10 reflectance; the SCL truth
takes clouds where Sen2Cor's red-brightness confidence of the clouds' own B04 reflectance reaches T_CLOUD_MP 0.20 /
T_CLOUD_HP 0.80, shadows from 0.5, thin cirrus from 0.012 and thick cirrus, class 8, from 0.035: ``scene.Scene.scl``), ``ILLUM_DIR.tif``/``ILLUM_DIF.tif`` (20 m terrain/shadow factors
of the forward model), ``truth.json`` (every scene and atmosphere parameter), and ``dem/`` with GLO-30 style
1x1 degree tiles that a processor can use as its DEM directory.

A Hyper MS (S2P) simulation writes the same content on its one 30 m grid (:func:`write_truth_grid`), each name
tagged with the resolution: ``BOA_Bxx_30m.tif`` (all 13 bands), ``SCL_30m.tif``, ``AOT_30m.tif``,
``WVP_30m.tif``, ``DEM_30m.tif``, ``ILLUM_DIR_30m.tif``, ``ILLUM_DIF_30m.tif``, plus ``dem/`` and
``truth.json`` (whose ``truth_files`` maps each image to its resolution). :func:`truth_file` finds a truth
image by kind and resolution in either layout.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from osgeo import gdal, osr
from scipy import ndimage

gdal.UseExceptions()

_GDT = {np.dtype("float32"): gdal.GDT_Float32, np.dtype("uint8"): gdal.GDT_Byte,
        np.dtype("uint16"): gdal.GDT_UInt16, np.dtype("int16"): gdal.GDT_Int16}


def _srs(epsg: int) -> osr.SpatialReference:
    s = osr.SpatialReference()
    s.ImportFromEPSG(int(epsg))
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)   # x = easting/lon, y = northing/lat
    return s


def write_geotiff(path: Path, arr: np.ndarray, geotransform: tuple, epsg: int, nodata: float | None = None,
                  driver: str = "GTiff") -> Path:
    """Single-band, DEFLATE-compressed GeoTIFF (or COG) with the given grid."""
    arr = np.ascontiguousarray(arr)
    mem = gdal.GetDriverByName("MEM").Create("", arr.shape[1], arr.shape[0], 1, _GDT[arr.dtype])
    mem.SetGeoTransform(tuple(float(v) for v in geotransform))
    mem.SetProjection(_srs(epsg).ExportToWkt())
    band = mem.GetRasterBand(1)
    if nodata is not None:
        band.SetNoDataValue(float(nodata))
    band.WriteArray(arr)
    pred = "3" if arr.dtype.kind == "f" else "2"
    opts = ["COMPRESS=DEFLATE", f"PREDICTOR={pred}"]
    if driver == "GTiff":
        opts += ["TILED=YES"] if max(arr.shape) > 512 else []
    path.parent.mkdir(parents=True, exist_ok=True)
    gdal.GetDriverByName(driver).CreateCopy(str(path), mem, options=opts)
    return path


# ---------------------------------------------------------------- DEM tiles
def glo30_width(lat_floor: int) -> int:
    """Columns of a GLO-30 tile: 1 arc-second in longitude below 50 deg, coarser towards the poles."""
    a = abs(lat_floor + 0.5)
    for lim, w in ((50, 3600), (60, 2400), (70, 1800), (80, 1200), (85, 720)):
        if a < lim:
            return w
    return 360


def glo30_name(lat_floor: int, lon_floor: int) -> str:
    """Copernicus DEM GLO-30 COG file name of the tile whose south-west corner is (lat_floor, lon_floor)."""
    ns = "N" if lat_floor >= 0 else "S"
    ew = "E" if lon_floor >= 0 else "W"
    return f"Copernicus_DSM_COG_10_{ns}{abs(lat_floor):02d}_00_{ew}{abs(lon_floor):03d}_00_DEM.tif"


def scene_lonlat_bounds(geotransform: tuple, shape: tuple[int, int], epsg: int) -> tuple[float, float, float, float]:
    """(lon_min, lat_min, lon_max, lat_max) of the scene, from points along its border."""
    ulx, px, _, uly, _, py = geotransform
    n0, n1 = shape
    t = np.linspace(0.0, 1.0, 21)
    xs = np.concatenate([ulx + t * n1 * px, ulx + t * n1 * px, np.full(21, ulx), np.full(21, ulx + n1 * px)])
    ys = np.concatenate([np.full(21, uly), np.full(21, uly + n0 * py), uly + t * n0 * py, uly + t * n0 * py])
    tr = osr.CoordinateTransformation(_srs(epsg), _srs(4326))
    pts = np.array(tr.TransformPoints(np.column_stack([xs, ys]).tolist()))
    return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())


def write_dem_tiles(out_dir: Path, dem: np.ndarray, geotransform: tuple, epsg: int, coarse: int = 60
                    ) -> list[Path]:
    """GLO-30 style 1x1 degree tiles (EPSG:4326, COG, pixel centres on whole arc-seconds) covering the scene.

    Heights are sampled bilinearly from the scene DEM; outside the scene the edge values are continued
    (coordinates clamped), so a processor warping these tiles sees no artificial step at the scene border.
    The UTM position of each tile pixel is computed exactly on a coarse lattice and interpolated between.
    """
    lon0, lat0, lon1, lat1 = scene_lonlat_bounds(geotransform, dem.shape, epsg)
    tr = osr.CoordinateTransformation(_srs(4326), _srs(epsg))
    ulx, px, _, uly, _, py = geotransform
    paths = []
    for la in range(math.floor(lat0), math.floor(lat1) + 1):
        for lo in range(math.floor(lon0), math.floor(lon1) + 1):
            h, w = 3600, glo30_width(la)
            dlat, dlon = 1.0 / h, 1.0 / w
            gt = (lo - 0.5 * dlon, dlon, 0.0, la + 1 + 0.5 * dlat, 0.0, -dlat)
            ci = np.unique(np.r_[np.arange(0, h, coarse), h - 1])
            cj = np.unique(np.r_[np.arange(0, w, coarse), w - 1])
            glon, glat = np.meshgrid(lo + cj * dlon, la + 1 - ci * dlat)
            pts = np.array(tr.TransformPoints(np.column_stack([glon.ravel(), glat.ravel()]).tolist()))
            ex = pts[:, 0].reshape(glon.shape)
            ny = pts[:, 1].reshape(glon.shape)
            # fractional coarse-lattice index of every tile pixel, then bilinear on the lattice
            fi = np.interp(np.arange(h), ci, np.arange(len(ci)))
            fj = np.interp(np.arange(w), cj, np.arange(len(cj)))
            out = np.empty((h, w), np.float32)
            for r0 in range(0, h, 600):
                rows = fi[r0:r0 + 600]
                gi, gj = np.meshgrid(rows, fj, indexing="ij")
                x = ndimage.map_coordinates(ex, [gi, gj], order=1)
                y = ndimage.map_coordinates(ny, [gi, gj], order=1)
                pr = (y - uly) / py - 0.5              # fractional pixel (centre-based) in the scene grid
                pc = (x - ulx) / px - 0.5
                out[r0:r0 + 600] = ndimage.map_coordinates(dem, [pr, pc], order=1, mode="nearest")
            paths.append(write_geotiff(out_dir / glo30_name(la, lo), out, gt, 4326, driver="COG"))
    return paths


# ---------------------------------------------------------------- the truth folder
def write_truth(out_dir: Path, *, epsg: int, geotransforms: dict[int, tuple], boa: dict[str, np.ndarray],
                scl20: np.ndarray, aot20: np.ndarray, wvp20: np.ndarray, dem20: np.ndarray, dem10: np.ndarray,
                illum20: tuple[np.ndarray, np.ndarray] | None, meta: dict,
                fractions20: dict[str, np.ndarray] | None = None) -> Path:
    """Write everything under ``out_dir/truth``; returns that folder. ``fractions20``: 20 m float images by
    name (CLOUD_FRACTION, CLOUD_SHADOW_FRACTION, CIRRUS_B10: what the SCL truth thresholds, so that an
    evaluation can keep pixels away from any cloud, shadow or cirrus, also below the class thresholds)."""
    t = Path(out_dir) / "truth"
    t.mkdir(parents=True, exist_ok=True)
    for band, arr in boa.items():
        res = 10 * (len(dem10) // len(arr))          # native resolution from the array size
        write_geotiff(t / f"BOA_{band}.tif", arr.astype(np.float32), geotransforms[res], epsg)
    write_geotiff(t / "SCL.tif", scl20.astype(np.uint8), geotransforms[20], epsg)
    write_geotiff(t / "AOT.tif", aot20.astype(np.float32), geotransforms[20], epsg)
    write_geotiff(t / "WVP.tif", wvp20.astype(np.float32), geotransforms[20], epsg)
    write_geotiff(t / "DEM.tif", dem20.astype(np.float32), geotransforms[20], epsg)
    if illum20 is not None:
        write_geotiff(t / "ILLUM_DIR.tif", illum20[0].astype(np.float32), geotransforms[20], epsg)
        write_geotiff(t / "ILLUM_DIF.tif", illum20[1].astype(np.float32), geotransforms[20], epsg)
    for name, arr in (fractions20 or {}).items():
        write_geotiff(t / f"{name}.tif", arr.astype(np.float32), geotransforms[20], epsg)
    write_dem_tiles(t / "dem", dem10, geotransforms[10], epsg)
    (t / "truth.json").write_text(json.dumps(meta, indent=1, default=_jsonable))
    return t


#: Kinds of truth image (besides ``BOA_<band>``) and their S2 names' resolution (the S2 names carry none).
TRUTH_KINDS = ("SCL", "AOT", "WVP", "DEM", "ILLUM_DIR", "ILLUM_DIF")


def truth_name(kind: str, res: int) -> str:
    """File name of a resolution-tagged truth image: ``truth_name('SCL', 30) == 'SCL_30m.tif'``."""
    return f"{kind}_{int(res)}m.tif"


def write_truth_grid(out_dir: Path, *, epsg: int, res: int, ulx: float, uly: float, boa: dict[str, np.ndarray],
                     scl: np.ndarray, aot: np.ndarray, wvp: np.ndarray, dem: np.ndarray, dem10: np.ndarray,
                     illum: tuple[np.ndarray, np.ndarray] | None, meta: dict) -> Path:
    """The truth of a product on one grid of ``res`` m (Hyper MS: 30 m), every image named
    :func:`truth_name` ``(kind, res)``; ``meta['truth_files']`` lists them with their resolution."""
    t = Path(out_dir) / "truth"
    t.mkdir(parents=True, exist_ok=True)
    gt = (ulx, float(res), 0.0, uly, 0.0, -float(res))
    images: dict[str, np.ndarray] = {f"BOA_{b}": a.astype(np.float32) for b, a in boa.items()}
    images |= {"SCL": scl.astype(np.uint8), "AOT": aot.astype(np.float32), "WVP": wvp.astype(np.float32),
               "DEM": dem.astype(np.float32)}
    if illum is not None:
        images |= {"ILLUM_DIR": illum[0].astype(np.float32), "ILLUM_DIF": illum[1].astype(np.float32)}
    files = {}
    for kind, arr in images.items():
        if arr.shape != images["SCL"].shape:
            raise ValueError(f"truth {kind}: shape {arr.shape}, expected {images['SCL'].shape} ({res} m)")
        write_geotiff(t / truth_name(kind, res), arr, gt, epsg)
        files[truth_name(kind, res)] = int(res)
    write_dem_tiles(t / "dem", dem10, (ulx, 10.0, 0.0, uly, 0.0, -10.0), epsg)
    (t / "truth.json").write_text(json.dumps(meta | {"truth_files": files}, indent=1, default=_jsonable))
    return t


def truth_file(truth_dir: Path, kind: str, res: int | None = None) -> Path:
    """The truth image of ``kind`` ('BOA_B04', 'SCL', 'AOT', 'WVP', 'DEM', 'ILLUM_DIR', 'ILLUM_DIF') on the
    ``res`` m grid: ``<kind>_<res>m.tif`` (Hyper MS layout) or the untagged S2 file ``<kind>.tif`` when its
    grid is ``res``; with ``res`` None, whichever exists (the S2 name first). FileNotFoundError otherwise."""
    truth_dir = Path(truth_dir)
    plain = truth_dir / f"{kind}.tif"
    if res is None:
        if plain.exists():
            return plain
        tagged = sorted(truth_dir.glob(f"{kind}_*m.tif"))
        if len(tagged) == 1:
            return tagged[0]
        raise FileNotFoundError(f"{truth_dir}: no single truth image {kind} ({[p.name for p in tagged]})")
    tagged = truth_dir / truth_name(kind, res)
    if tagged.exists():
        return tagged
    if plain.exists():
        ds = gdal.Open(str(plain))
        if abs(ds.GetGeoTransform()[1] - float(res)) < 1e-9:
            return plain
    raise FileNotFoundError(f"{truth_dir}: no truth image {kind} at {res} m")


def _jsonable(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    return str(o)
