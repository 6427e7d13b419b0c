"""ESA CCI a-priori maps consistent with a simulated scene, in the ``aux_data/`` layout of a Sen2Cor 3 installation.

A Sen2Cor 3 installation holds three ESA CCI products in ``aux_data/`` (names from ``L2A_CAL_SC_GIPP.xml``
``References``) and loads them only when ``DEM_Directory`` names a usable DEM (``L2A_BandIO``: the CCI imports sit
under ``if self.config.demDirectory != 'NONE'``, which a failed DEM import resets); the default scene
classification (``L2A_SceneClass_evolution``) then runs its CCI steps. :func:`write_esacci_aux` writes, for a
simulation, the same three items from the scene's truth (``python -m sen2cor3.simulate ... --esacci``):

* ``ESACCI-LC-L4-WB-Map-150m-P13Y-2000-v4.0.tif``: water bodies, Byte, 1 land / 2 water, on the product's global
  grid (EPSG:4326, 1/720 deg, pixel edges on whole multiples from -180 / 90 deg); a pixel is water when at least
  half of the scene's 20 m parcels that fall in it are the true water class;
* ``ESACCI-LC-L4-LCCS-Map-300m-P1Y-2015-v2.0.7.tif``: land cover, Byte LCCS codes, 1/360 deg; each pixel the most
  frequent code of its 20 m parcels, with the surface classes mapped by :data:`LCCS_OF_CLASS` (field parcels,
  whatever their state on the date, are rainfed cropland 10; grassland 130; broadleaved deciduous 60 and needleleaved
  evergreen 70 trees; water 210; snow 220, permanent snow and ice). The simulator has no urban (190) or bare-area
  (200-202) surface, so Sen2Cor's urban / bare recoveries find nothing, as over a rural scene;
* folder ``ESACCI-LC-L4-Snow-Cond-500m-MONTHLY-2000-2012-v2.4`` with the 12 monthly files
  ``ESACCI-LC-L4-Snow-Cond-AggOcc-500m-MONTHLY-2000-2012-2000MM-2.4.tif`` (Byte, 1/240 deg): snow occurrence in
  percent, here ceil(100 x the share of true snow parcels in the pixel) (the scene's snow is taken as the
  climatology's: any true snow makes the occurrence positive, so Sen2Cor's "never snow" rule does not revert it),
  254 on water (water-bodies rule above). The simulation has one date: all twelve months hold that map, so that
  both Sen2Cor's pick (the sorted folder's entry month-1) and ours (the file named with the month) find it.

The maps cover the scene's longitude/latitude box plus two pixels; map pixels that no 20 m parcel centre falls in
take the value of the nearest one that does. The maps are a-priori products made without clouds: the true surface
classes under the clouds are used. Everything is computed from ``Scene.classes20`` (no random draw), so a scene
is the same with or without the maps.

A normal installation also has a DEM; the simulator's truth already holds GLO-30 style tiles in ``truth/dem``:
with ``SEN2COR_AUX_DATA=OUT_DIR/aux_data`` a ``DEM_Directory`` of ``truth/dem`` (resolved against
``aux_data``'s parent, as Sen2Cor's home holds both) and ``DEM_Reference`` ``CDSE-GLO-30`` complete it.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from osgeo import osr
from scipy import ndimage

from sen2cor3.auxdata.esacci import SNOW_CONDITION_PATTERN

from .scene import CLASS_NAMES, SNOW, WATER
from .truth import _srs, write_geotiff

#: LCCS code of each surface class (ESA CCI Land Cover legend), in ``scene.CLASS_NAMES`` order.
LCCS_OF_CLASS: tuple[int, ...] = (10, 130, 60, 70, 10, 10, 210, 220, 10)
#: Pixel size (degrees) of each product: 150 m water bodies, 300 m land cover, 500 m snow condition.
WB_DEG, LC_DEG, SNC_DEG = 1.0 / 720.0, 1.0 / 360.0, 1.0 / 240.0
WB_LAND, WB_WATER = 1, 2
SNC_WATER = 254
MARGIN_PX = 2

assert len(LCCS_OF_CLASS) == len(CLASS_NAMES)


def _lonlat_20m(ulx: float, uly: float, n20: int, epsg: int, step: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude of every 20 m pixel centre: exact on a lattice every ``step`` pixels, bilinear
    between (sub-millimetre on a 600 m lattice)."""
    idx = np.unique(np.r_[np.arange(0, n20, step), n20 - 1])
    cx = ulx + (idx + 0.5) * 20.0
    cy = uly - (idx + 0.5) * 20.0
    gx, gy = np.meshgrid(cx, cy)
    tr = osr.CoordinateTransformation(_srs(epsg), _srs(4326))
    pts = np.array(tr.TransformPoints(np.column_stack([gx.ravel(), gy.ravel()]).tolist()))
    lon_l, lat_l = pts[:, 0].reshape(gx.shape), pts[:, 1].reshape(gx.shape)
    f = np.interp(np.arange(n20), idx, np.arange(idx.size))
    fr, fc = np.meshgrid(f, f, indexing="ij")
    lon = ndimage.map_coordinates(lon_l, [fr, fc], order=1)
    lat = ndimage.map_coordinates(lat_l, [fr, fc], order=1)
    return lon, lat


class _MapGrid:
    """A window of a global EPSG:4326 product grid of ``deg`` pixels around the scene, and the map pixel of each
    20 m parcel."""

    def __init__(self, lon: np.ndarray, lat: np.ndarray, deg: float):
        self.deg = deg
        self.col0 = math.floor((float(lon.min()) + 180.0) / deg) - MARGIN_PX
        self.row0 = math.floor((90.0 - float(lat.max())) / deg) - MARGIN_PX
        col1 = math.floor((float(lon.max()) + 180.0) / deg) + MARGIN_PX
        row1 = math.floor((90.0 - float(lat.min())) / deg) + MARGIN_PX
        self.shape = (row1 - self.row0 + 1, col1 - self.col0 + 1)
        cols = np.floor((lon + 180.0) / deg).astype(np.int64) - self.col0
        rows = np.floor((90.0 - lat) / deg).astype(np.int64) - self.row0
        self.index = (rows * self.shape[1] + cols).ravel()

    @property
    def geotransform(self) -> tuple:
        return (-180.0 + self.col0 * self.deg, self.deg, 0.0, 90.0 - self.row0 * self.deg, 0.0, -self.deg)

    def counts(self, codes: np.ndarray, n_codes: int) -> np.ndarray:
        """(n_codes, rows, cols) number of 20 m parcels of each code in each map pixel."""
        n = self.shape[0] * self.shape[1]
        c = np.bincount(self.index * n_codes + codes.ravel().astype(np.int64), minlength=n * n_codes)
        return c.reshape(self.shape[0], self.shape[1], n_codes).transpose(2, 0, 1)

    @staticmethod
    def fill_uncovered(values: np.ndarray, covered: np.ndarray) -> np.ndarray:
        """Map pixels without a parcel centre take the value of the nearest covered pixel."""
        if covered.all():
            return values
        _, (ri, ci) = ndimage.distance_transform_edt(~covered, return_indices=True)
        return values[ri, ci]


def esacci_maps(classes20: np.ndarray, ulx: float, uly: float, epsg: int
                ) -> dict[str, tuple[np.ndarray, tuple]]:
    """{'water_bodies' | 'land_cover' | 'snow_condition': (uint8 map, EPSG:4326 geotransform)} from the true
    surface classes at 20 m (see the module docstring)."""
    n20 = classes20.shape[0]
    lon, lat = _lonlat_20m(ulx, uly, n20, epsg)
    water = (classes20 == WATER).astype(np.int64)
    snow = (classes20 == SNOW).astype(np.int64)
    out = {}

    g = _MapGrid(lon, lat, WB_DEG)
    c = g.counts(water, 2)
    total = c.sum(axis=0)
    wb = np.where(c[1] * 2 >= total, WB_WATER, WB_LAND).astype(np.uint8)
    out["water_bodies"] = (g.fill_uncovered(wb, total > 0), g.geotransform)

    g = _MapGrid(lon, lat, LC_DEG)
    codes = np.unique(LCCS_OF_CLASS)
    code_idx = np.searchsorted(codes, np.asarray(LCCS_OF_CLASS))[classes20]
    c = g.counts(code_idx, codes.size)
    lc = codes[np.argmax(c, axis=0)].astype(np.uint8)      # ties: the lower code
    out["land_cover"] = (g.fill_uncovered(lc, c.sum(axis=0) > 0), g.geotransform)

    g = _MapGrid(lon, lat, SNC_DEG)
    cw, cs = g.counts(water, 2), g.counts(snow, 2)
    total = cw.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        occ = np.ceil(100.0 * cs[1] / np.maximum(total, 1) - 1e-9)
    snc = np.where(cw[1] * 2 >= total, SNC_WATER, np.clip(occ, 0, 100)).astype(np.uint8)
    out["snow_condition"] = (g.fill_uncovered(snc, total > 0), g.geotransform)
    return out


def write_esacci_aux(out_dir: Path, classes20: np.ndarray, ulx: float, uly: float, epsg: int,
                     names=None) -> Path:
    """Write the three CCI items under ``out_dir/aux_data`` with the names of ``names`` (an object or mapping with
    ``esacci_waterbodies_map``, ``esacci_landcover_map``, ``esacci_snowcondition_map_dir``; default: the shipped
    ``L2A_CAL_SC_GIPP.xml`` References); returns the ``aux_data`` folder."""
    if names is None:
        from sen2cor3.config.gipp import load_config
        names = load_config().sc.references

    def name(key: str) -> str:
        return names[key] if isinstance(names, dict) else getattr(names, key)

    aux = Path(out_dir) / "aux_data"
    maps = esacci_maps(classes20, ulx, uly, epsg)
    write_geotiff(aux / name("esacci_waterbodies_map"), *maps["water_bodies"], 4326)
    write_geotiff(aux / name("esacci_landcover_map"), *maps["land_cover"], 4326)
    snc_dir = aux / name("esacci_snowcondition_map_dir")
    for month in range(1, 13):
        write_geotiff(snc_dir / SNOW_CONDITION_PATTERN.format(month=month), *maps["snow_condition"], 4326)
    return aux


__all__ = ["LCCS_OF_CLASS", "esacci_maps", "write_esacci_aux"]
