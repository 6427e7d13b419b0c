"""ESA CCI a-priori maps for the scene classification: land cover, water bodies, monthly snow condition.

Names come from ``L2A_CAL_SC_GIPP.xml`` ``References`` and are relative to ``aux_data/`` (Sen2Cor 3
``L2A_AuxImport_Landsat.gdalCCI_*``):

* land cover ``ESACCI-LC-L4-LCCS-Map-300m-P1Y-2015-v2.0.7.tif`` (LCCS codes; 190 urban, 200-202 bare, 210 water);
* water bodies ``ESACCI-LC-L4-WB-Map-150m-P13Y-2000-v4.0.tif`` (1 land, 2 water);
* snow condition: folder ``ESACCI-LC-L4-Snow-Cond-500m-MONTHLY-2000-2012-v2.4`` with 12 files
  ``ESACCI-LC-L4-Snow-Cond-AggOcc-500m-MONTHLY-2000-2012-2000<MM>-2.4.tif``; the file of the acquisition
  month is used (Sen2Cor sorts the folder's matches and takes index month-1; we take the file named with that
  month, and Sen2Cor's rule only when it is absent).

All are warped with nearest neighbour (classes must stay classes; Sen2Cor 3 uses cubic spline for the water
bodies map, which creates in-between values on the 1/2 borders). Pixels the map does not cover get the
``fill`` value (0 = no data for land cover and water bodies, 255 for snow condition, where 0 is a valid
"never snow"). Each loader returns (CciMap, "") or (None, reason).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .grid import AuxDataError, TileGrid, warp_to_grid

__all__ = ["CciMap", "SNOW_CONDITION_PATTERN", "load_cci_map", "load_landcover", "load_snow_condition",
           "load_water_bodies", "snow_condition_file", "WATER"]

SNOW_CONDITION_PATTERN = "ESACCI-LC-L4-Snow-Cond-AggOcc-500m-MONTHLY-2000-2012-2000{month:02d}-2.4.tif"
WATER = 2                              # water bodies map: water class
_GLOB = "ESACCI-LC-L4-Snow-Cond-AggOcc-500m-MONTHLY-2000-2012-2000*-2.4.tif"


@dataclass(frozen=True)
class CciMap:
    """One class map on the tile grid (uint8) and where it came from."""
    data: np.ndarray
    path: Path
    coverage: float                    # share of tile pixels the map covers (0..1)
    fill: int                          # value of the pixels it does not cover


def load_cci_map(path: Path, grid: TileGrid, fill: int = 0, what: str = "ESA CCI map"
                 ) -> tuple[CciMap | None, str]:
    """Warp one class map (nearest) to ``grid``; None + reason when absent, unreadable or outside the tile."""
    path = Path(path)
    if not path.is_file():
        return None, f"{what} not found: {path}"
    try:
        arr = warp_to_grid(path, grid, "nearest")
    except AuxDataError as exc:
        return None, f"{what} unreadable: {exc}"
    valid = np.isfinite(arr)
    coverage = float(valid.mean()) if arr.size else 0.0
    if coverage == 0.0:
        return None, f"{what} does not cover the tile: {path}"
    data = np.where(valid, arr, fill)
    return CciMap(np.clip(data, 0, 255).astype(np.uint8), path, coverage, fill), ""


def load_landcover(aux_root: Path, name: str, grid: TileGrid) -> tuple[CciMap | None, str]:
    """ESA CCI land cover (300 m LCCS classes)."""
    return load_cci_map(Path(aux_root) / name, grid, 0, "ESA CCI land cover")


def load_water_bodies(aux_root: Path, name: str, grid: TileGrid) -> tuple[CciMap | None, str]:
    """ESA CCI water bodies (150 m; 2 = water)."""
    return load_cci_map(Path(aux_root) / name, grid, 0, "ESA CCI water bodies")


def snow_condition_file(aux_root: Path, dir_name: str, month: int) -> Path | None:
    """The monthly snow-condition file for ``month`` (1..12) in ``aux_data/<dir_name>``, or None."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1..12, got {month}")
    folder = Path(aux_root) / dir_name
    exact = folder / SNOW_CONDITION_PATTERN.format(month=month)
    if exact.is_file():
        return exact
    files = sorted(folder.glob(_GLOB)) if folder.is_dir() else []
    return files[month - 1] if len(files) >= month else None


def load_snow_condition(aux_root: Path, dir_name: str, month: int, grid: TileGrid) -> tuple[CciMap | None, str]:
    """ESA CCI snow-condition climatology of the acquisition month (500 m; % occurrence, 254 water)."""
    f = snow_condition_file(aux_root, dir_name, month)
    if f is None:
        return None, f"ESA CCI snow condition for month {month:02d} not found in {Path(aux_root) / dir_name}"
    return load_cci_map(f, grid, 255, "ESA CCI snow condition")
