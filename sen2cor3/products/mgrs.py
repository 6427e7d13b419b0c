"""MGRS tile id -> UTM EPSG code and Sentinel-2 tile upper-left corner, computed from the MGRS grid.

Why: the scene simulator must place a product on any real tile without a tile database, and the reader can
check a product's MTD_TL geocoding against it.

Convention (checked against 25 real MTD_TL ``Geoposition`` values, north and south, zones 1..60, see
tests/test_l1c.py): a Sentinel-2 tile is the 100 km MGRS square extended 9.8 km to the EAST and to the SOUTH
(109.8 km = 1830 x 60 m). Its upper-left corner is the square's north-west corner snapped onto the 60 m grid:

* ULX = floor(E_west / 60) * 60 with E_west the easting (false easting included) of the square's west edge;
* ULY = ceil(N_north / 60) * 60 + FN with N_north the TRUE northing (southern hemisphere: minus 10 000 km)
  of the square's north edge and FN the false northing (0 north, 10 000 000 m south).

So ULX is 0/20/40 m west of the square edge and ULY 0/20/40 m north of it (e.g. 46RER: 499980, 3100020;
01KAB: 99960, 8200000; 55JGF: 699960, 6600040).
"""
from __future__ import annotations

import math
import re

__all__ = ["MgrsError", "parse_tile_id", "tile_epsg", "tile_ul", "tile_geotransform", "S2_TILE_EXTENT_M"]

#: Side of a Sentinel-2 tile (m).
S2_TILE_EXTENT_M = 109800
_BANDS = "CDEFGHJKLMNPQRSTUVWX"                       # latitude bands, 8 deg each from -80 (X: 72..84)
_ROW_LETTERS = "ABCDEFGHJKLMNPQRSTUV"                  # 20-letter row cycle (I and O skipped)
_COL_SETS = ("ABCDEFGH", "JKLMNPQR", "STUVWXYZ")       # column letters, set = (zone - 1) % 3
#: Minimum UTM northing (m, false northing included in the south) of each latitude band (NGA GEOTRANS table).
_BAND_MIN_NORTHING = {
    "C": 1100000, "D": 2000000, "E": 2800000, "F": 3700000, "G": 4600000, "H": 5500000, "J": 6400000,
    "K": 7300000, "L": 8200000, "M": 9100000, "N": 0, "P": 800000, "Q": 1700000, "R": 2600000,
    "S": 3500000, "T": 4400000, "U": 5300000, "V": 6200000, "W": 7000000, "X": 7900000,
}
_FALSE_NORTHING_SOUTH = 10_000_000
_PIXEL_GRID = 60
_TILE_RE = re.compile(r"^T?(\d{1,2})([C-HJ-NP-X])([A-HJ-NP-Z])([A-HJ-NP-V])$")


class MgrsError(ValueError):
    """A string that is not a valid MGRS 100 km square / Sentinel-2 tile id."""


def parse_tile_id(tile_id: str) -> tuple[int, str, str, str]:
    """Split '32TQM' (or 'T32TQM') into (zone, band, column letter, row letter), validating each part."""
    m = _TILE_RE.match(tile_id.strip().upper())
    if not m:
        raise MgrsError(f"{tile_id!r}: not an MGRS tile id like '32TQM'")
    zone = int(m.group(1))
    if not 1 <= zone <= 60:
        raise MgrsError(f"{tile_id!r}: UTM zone {zone} outside 1..60")
    band, col, row = m.group(2), m.group(3), m.group(4)
    if col not in _COL_SETS[(zone - 1) % 3]:
        raise MgrsError(f"{tile_id!r}: column letter {col} does not exist in zone {zone}")
    return zone, band, col, row


def tile_epsg(tile_id: str) -> int:
    """WGS 84 / UTM EPSG code of a tile: 326zz north of the equator (bands N..X), 327zz south."""
    zone, band, _, _ = parse_tile_id(tile_id)
    return (32600 if band >= "N" else 32700) + zone


def _square_sw(zone: int, band: str, col: str, row: str) -> tuple[int, int]:
    """Easting and UTM northing (false northing included) of the 100 km square's south-west corner."""
    easting = (_COL_SETS[(zone - 1) % 3].index(col) + 1) * 100_000
    row_idx = _ROW_LETTERS.index(row)
    if zone % 2 == 0:                                  # even zones start the row cycle at 'F'
        row_idx = (row_idx - 5) % 20
    base = row_idx * 100_000                           # northing modulo 2000 km
    min_n = _BAND_MIN_NORTHING[band]
    northing = base + 2_000_000 * math.ceil((min_n - base) / 2_000_000)
    return easting, northing


def tile_ul(tile_id: str) -> tuple[float, float]:
    """Upper-left corner (ULX, ULY) in metres of the Sentinel-2 tile, as in MTD_TL ``Geoposition``."""
    zone, band, col, row = parse_tile_id(tile_id)
    east_w, north_s = _square_sw(zone, band, col, row)
    false_n = 0 if band >= "N" else _FALSE_NORTHING_SOUTH
    true_north = north_s + 100_000 - false_n
    ulx = math.floor(east_w / _PIXEL_GRID) * _PIXEL_GRID
    uly = math.ceil(true_north / _PIXEL_GRID) * _PIXEL_GRID + false_n
    return float(ulx), float(uly)


def tile_geotransform(tile_id: str, resolution_m: float) -> tuple[float, float, float, float, float, float]:
    """GDAL geotransform of the tile grid at one resolution."""
    ulx, uly = tile_ul(tile_id)
    return (ulx, float(resolution_m), 0.0, uly, 0.0, -float(resolution_m))
