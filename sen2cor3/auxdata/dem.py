"""Copernicus DEM: find the 1-degree tiles under ``DEM_Directory``, mosaic, warp to the tile grid, derive terrain.

Naming (Sen2Cor 3 ``L2A_AuxImport_Landsat.gdalDEM_copernicus`` / ``gdalDEM_aws``): a tile is named by the
integer degrees of its south-west corner, ``Copernicus_DSM_COG_10_<N|S>dd_00_<E|W>ddd_00_DEM.tif`` (GLO-30,
AWS/CDSE COG names) or ``..._COG_30_...`` (GLO-90); the names without ``COG_`` (DGED tar contents) are accepted
too. GLO-30 is looked for first when ``DEM_Reference`` names it (``CDSE-GLO-30``, ``GLO-30``, ``dem-30m``),
GLO-90 otherwise, and the other family is the fallback. Tiles listed in ``<aux_data>/CopernicusDEM_<30|90>_
TIFF_missing_tiles.list`` (sea tiles that do not exist) are not required; like Sen2Cor, pixels no tile covers
are sea level (0 m).

Heights are warped bilinearly (Sen2Cor uses cubic spline); slope and aspect come from the processor's one Horn
implementation, ``sen2cor3.sc.terrain.slope_aspect`` (what Sen2Cor's ``gdaldem slope|aspect -compute_edges``
computes, equal to GDAL's DEMProcessing to float32 rounding): degrees, aspect clockwise from north (downslope
direction, 0 on flat ground). The scene classification and the atmospheric correction use that same function,
so on this grid (the base resolution) they may take these layers instead of recomputing them. The sky-view
factor is the AC's ``ac.terrain.sky_view``, the isotropic-sky approximation ``(1 + cos slope) / 2`` (the share
of the sky hemisphere a tilted plane sees; it ignores horizon occlusion by distant terrain, which Sen2Cor's
ATCOR code also only estimates).

Failures (folder missing or empty, no tile for the footprint, a corrupt tile, a DEM of zeros as Sen2Cor
checks) give None and a reason, or a one-line :class:`AuxDataError` naming the folder when
``Force_Exit_On_DEM_Error`` is TRUE.
"""
from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from osgeo import gdal

from sen2cor3.ac.terrain import sky_view
from sen2cor3.sc.terrain import slope_aspect

from .grid import AuxDataError, TileGrid, gdal_call, warp_to_grid

__all__ = ["DemFields", "copernicus_tile_names", "find_dem_tiles", "flat_dem", "load_dem",
           "resolve_dem_directory", "terrain_from_height"]

_FAMILIES = {"COPERNICUS_30": "10", "COPERNICUS_90": "30"}   # DEM_TYPE -> arc-second code in the name


@dataclass
class DemFields:
    """DEM-derived layers on one tile grid (float32); :meth:`release_pixels` drops them once no step reads them."""
    height_m: np.ndarray | None
    slope_deg: np.ndarray | None
    aspect_deg: np.ndarray | None
    sky_view: np.ndarray | None
    dem_type: str                   # COPERNICUS_30 | COPERNICUS_90 | NONE (flat)
    files: tuple[Path, ...] = ()
    _means: tuple[float, float] | None = field(default=None, repr=False)

    @property
    def is_flat(self) -> bool:
        return self.dem_type == "NONE"

    @property
    def mean_height_m(self) -> float:
        return self._means[0] if self._means is not None else float(np.nanmean(self.height_m))

    @property
    def mean_slope_deg(self) -> float:
        return self._means[1] if self._means is not None else float(np.nanmean(self.slope_deg))

    def release_pixels(self) -> None:
        """Keep the type, files and means (the metadata's), drop the four layers: the 10 m run of a Sentinel-2
        tile derives its own from the base elevation, and the base grid's held 0.5 GB through it on a full tile."""
        self._means = (self.mean_height_m, self.mean_slope_deg)
        self.height_m = self.slope_deg = self.aspect_deg = self.sky_view = None


def resolve_dem_directory(dem_directory: str, aux_root: Path) -> Path | None:
    """``DEM_Directory`` as a folder: None for NONE; absolute as is; relative to ``aux_data/`` first, then to
    its parent (Sen2Cor resolves it against its home, which holds both ``aux_data/`` and ``dem/``)."""
    d = (dem_directory or "").strip()
    if not d or d.upper() == "NONE":
        return None
    p = Path(d).expanduser()
    if p.is_absolute():
        return p
    aux_root = Path(aux_root)
    for base in (aux_root, aux_root.parent):
        if (base / p).is_dir():
            return base / p
    return aux_root / p


def _tile_range(lo: float, hi: float) -> list[int]:
    return list(range(math.floor(lo), math.floor(hi - 1e-9) + 1)) if hi > lo else [math.floor(lo)]


def copernicus_tile_names(lonlat_bounds: tuple[float, float, float, float], dem_type: str = "COPERNICUS_90",
                          cog: bool = True) -> list[str]:
    """Names of the 1-degree tiles covering (lon_min, lat_min, lon_max, lat_max); lon_min > lon_max means
    the footprint crosses the antimeridian."""
    code = _FAMILIES[dem_type]
    lon0, lat0, lon1, lat1 = lonlat_bounds
    lons = _tile_range(lon0, lon1) if lon0 <= lon1 else _tile_range(lon0, 180.0) + _tile_range(-180.0, lon1)
    prefix = f"Copernicus_DSM_{'COG_' if cog else ''}{code}"
    names = []
    for lat in _tile_range(lat0, lat1):
        for lon in lons:
            names.append(f"{prefix}_{'N' if lat >= 0 else 'S'}{abs(lat):02d}_00_"
                         f"{'E' if lon >= 0 else 'W'}{abs(lon):03d}_00_DEM.tif")
    return names


def _missing_list(aux_root: Path, dem_type: str) -> set[str]:
    f = Path(aux_root) / f"CopernicusDEM_{dem_type[-2:]}_TIFF_missing_tiles.list"
    if not f.is_file():
        return set()
    return {line.strip()[: line.find(".tif") + 4] for line in f.read_text(errors="replace").splitlines()
            if ".tif" in line}


def find_dem_tiles(folder: Path, lonlat_bounds, dem_reference: str, aux_root: Path
                   ) -> tuple[str, list[Path], list[str]]:
    """(DEM_TYPE, tiles found, tiles absent and not known as sea) for the family that has tiles here."""
    ref = (dem_reference or "").upper()
    first = "COPERNICUS_30" if ("GLO-30" in ref or "DEM-30M" in ref) else "COPERNICUS_90"
    best: tuple[str, list[Path], list[str]] | None = None
    for dem_type in (first, ({"COPERNICUS_30", "COPERNICUS_90"} - {first}).pop()):
        sea = _missing_list(aux_root, dem_type)
        found, absent = [], []
        for cog, plain in zip(copernicus_tile_names(lonlat_bounds, dem_type, True),
                              copernicus_tile_names(lonlat_bounds, dem_type, False)):
            hit = next((folder / n for n in (cog, plain) if (folder / n).is_file()), None)
            if hit is not None:
                found.append(hit)
            elif plain not in sea and cog not in sea:
                absent.append(cog)
        if found:
            return dem_type, found, absent
        best = best or (first, [], absent)
    return best


def terrain_from_height(height: np.ndarray, grid: TileGrid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(slope deg, aspect deg clockwise from north, sky-view factor) of a height field on ``grid``."""
    _, dx, _, _, _, dy = grid.geotransform
    slope, aspect = slope_aspect(height, (abs(dx), abs(dy)))
    return slope, aspect, sky_view(np.radians(slope))


def flat_dem(grid: TileGrid, elevation_m: float = 0.0) -> DemFields:
    """Flat terrain at one height: what the processor uses without a DEM."""
    h = np.full(grid.shape, float(elevation_m), np.float32)
    z = np.zeros(grid.shape, np.float32)
    return DemFields(h, z, z.copy(), np.ones(grid.shape, np.float32), "NONE")


def _mosaic_and_warp(tiles: list[Path], grid: TileGrid) -> np.ndarray:
    for t in tiles:                                   # a corrupt tile is an error, not a silent hole
        gdal_call(lambda t=t: gdal.OpenEx(str(t), gdal.OF_RASTER | gdal.OF_READONLY), f"{t}: cannot open")
    vrt = f"/vsimem/dem_{uuid.uuid4().hex}.vrt"
    ds = None
    try:
        ds = gdal_call(lambda: gdal.BuildVRT(vrt, [str(t) for t in tiles]), "DEM mosaic")
        try:
            height = warp_to_grid(ds, grid, "bilinear")
        except AuxDataError as exc:                    # name the tile that cannot be read, not the mosaic
            bad = _unreadable_tile(tiles)
            if bad is None:
                raise
            raise AuxDataError(f"{bad[0]}: cannot be read ({bad[1]})") from exc
    finally:
        ds = None
        try:
            gdal.Unlink(vrt)
        except RuntimeError:                          # exceptions on (gdal.UseExceptions) and nothing to unlink
            pass
    return height


def _unreadable_tile(tiles: list[Path]) -> tuple[Path, str] | None:
    """The first tile whose pixels cannot be decoded (a truncated download opens but fails to read)."""
    def read(t: Path):
        ds = gdal.Open(str(t))                        # kept alive while its band is read (GDAL's Python rule)
        return None if ds is None else ds.GetRasterBand(1).ReadAsArray()

    for t in tiles:
        try:
            gdal_call(lambda t=t: read(t), f"{t}: cannot read")
        except AuxDataError as exc:
            msg = str(exc).split(": ", 2)[-1] if str(exc).count(": ") >= 2 else str(exc)
            return t, msg
    return None


def load_dem(grid: TileGrid, aux_root: Path, dem_directory: str, dem_reference: str,
             force_exit_on_dem_error: bool = False, mean_elevation_m: float = 0.0
             ) -> tuple[DemFields | None, str]:
    """The DEM layers on ``grid``, or (None, reason) when the processor must go on with flat terrain.

    ``DEM_Reference`` NONE gives flat terrain at ``mean_elevation_m`` (the L1C's mean height, from the
    caller) without looking for tiles; ``DEM_Directory`` NONE gives None (Sen2Cor: flat, no DEM output).
    """
    folder = resolve_dem_directory(dem_directory, aux_root)
    if folder is None:
        return None, "DEM_Directory is NONE: flat terrain"
    if (dem_reference or "").strip().upper() == "NONE":
        return flat_dem(grid, mean_elevation_m), (f"DEM_Reference is NONE: flat terrain at {mean_elevation_m:.0f} m")

    def fail(reason: str) -> tuple[None, str]:
        if force_exit_on_dem_error:
            raise AuxDataError(f"{folder}: {reason} (Force_Exit_On_DEM_Error is TRUE)")
        return None, f"{folder}: {reason}; flat terrain"

    if not folder.is_dir():
        return fail("DEM folder not found")
    if not any(folder.iterdir()):
        return fail("DEM folder is empty")
    bounds = grid.lonlat_bounds()
    dem_type, tiles, absent = find_dem_tiles(folder, bounds, dem_reference, aux_root)
    if not tiles:
        return fail(f"no Copernicus DEM tile for the footprint (e.g. {absent[0] if absent else '?'})")
    try:
        height = _mosaic_and_warp(tiles, grid)
    except AuxDataError as exc:
        return fail(str(exc))
    if not np.isfinite(height).any():
        return fail("the DEM tiles do not cover the tile")
    height = np.where(np.isfinite(height), height, np.float32(0.0)).astype(np.float32)   # sea, as Sen2Cor
    if float(height.max()) == 0.0:
        return fail("DEM contains no values (all 0)")
    slope, aspect, sky = terrain_from_height(height, grid)
    note = f"{dem_type} from {len(tiles)} tile(s) in {folder}"
    if absent:
        note += f"; {len(absent)} tile(s) absent, taken as sea level: {', '.join(absent[:4])}"
    return DemFields(height, slope, aspect, sky, dem_type, tuple(tiles)), note
