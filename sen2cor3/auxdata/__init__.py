"""Aux data for one tile at one resolution: CAMS/ECMWF atmosphere, Copernicus DEM, ESA CCI maps.

:func:`load_aux` gathers everything Sen2Cor 3 takes from ``aux_data/`` and from the L1C's ``AUX_DATA`` onto
the tile grid, never stops on missing, corrupt or non-overlapping files (only ``Force_Exit_On_DEM_Error``
may stop the run), and records what it used and each fallback, with one warning line per fallback on the
``sen2cor3.auxdata`` logger, so the report and the metadata can say it.

Source order (Sen2Cor 3 ``L2A_BandIO_Landsat.import_aux_band_list`` and ``L2A_ProcessTileToolbox``):
* AOT 550: CAMS daily -> CAMS monthly -> CAMS NRT forecasts -> the L1C's AUX_CAMSFO (ours) -> none (the AC
  then uses DDV or the ``Visibility`` default).
* water vapour: CAMS daily -> monthly -> the L1C's AUX_ECMWFT -> none (S2 retrieves it from B09 anyway).
* ozone (``Ozone_Content`` 0): ``ozone_order`` sources, default AUX_ECMWFT (S2, as Sen2Cor) then CAMS
  (Sen2Cor uses CAMS for Hyper MS and Landsat), the mean of the positive values; else 331 DU, source OTHER.
  ``Ozone_Content`` > 0: that value, source CONFIG.
* DEM: see :mod:`.dem`. ESA CCI maps: see :mod:`.esacci`; like Sen2Cor 3 they are loaded only with a usable
  DEM directory (``cci_requires_dem``).
"""
from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from ..products.model import Geoposition
from .cams import CamsFields, load_cams, read_l1c_grib
from .dem import DemFields, flat_dem, load_dem
from .esacci import CciMap, load_cci_map, load_landcover, load_snow_condition, load_water_bodies
from .grid import AuxDataError, TileGrid, warp_to_grid

__all__ = ["AuxBundle", "AuxDataError", "AuxRecord", "CamsFields", "CciMap", "DEFAULT_OZONE_DU", "DemFields",
           "TileGrid", "aux_root_default", "load_aux", "warp_to_grid"]

log = logging.getLogger("sen2cor3.auxdata")
DEFAULT_OZONE_DU = 331.0               # Sen2Cor's fallback when no ozone source answers
_CCI_KEYS = ("esacci_landcover_map", "esacci_waterbodies_map", "esacci_snowcondition_map_dir", "snow_map")


def aux_root_default() -> Path:
    """``$SEN2COR_AUX_DATA`` if set, else the repository's top-level ``aux_data/``."""
    env = os.environ.get("SEN2COR_AUX_DATA")
    return Path(env).expanduser() if env else Path(__file__).resolve().parents[2] / "aux_data"


@dataclass(frozen=True)
class AuxRecord:
    """One line of the aux-data account: what, from where, which files, and whether it is a fallback."""
    item: str                          # AOT | WV | OZONE | DEM | CCI_LANDCOVER | ...
    source: str
    files: tuple[str, ...] = ()
    note: str = ""
    fallback: bool = False


@dataclass(frozen=True)
class AuxBundle:
    """Everything from aux data on one tile grid (CAMS fields on ``cams_grid``, possibly coarser)."""
    grid: TileGrid
    cams_grid: TileGrid
    aot550: np.ndarray | None
    aot_source: str                    # CAMS_DAILY | CAMS_MONTHLY | CAMS_NRT | AUX_CAMSFO | NONE
    tcwv_gcm2: np.ndarray | None
    wv_source: str                     # CAMS_DAILY | CAMS_MONTHLY | AUX_ECMWFT | NONE
    ozone_du: float
    ozone_source: str                  # AUX_ECMWFT | CAMS | CONFIG | OTHER
    dem: DemFields | None              # None: flat terrain (see ``terrain``)
    mean_elevation_m: float
    landcover: CciMap | None = None
    water_bodies: CciMap | None = None
    snow_condition: CciMap | None = None
    snow_map: CciMap | None = None
    msl_hpa: np.ndarray | None = None
    records: tuple[AuxRecord, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def dem_type(self) -> str:
        return self.dem.dem_type if self.dem is not None else "NONE"

    @property
    def terrain(self) -> DemFields:
        """The DEM layers, or flat terrain at the mean elevation when there is no DEM."""
        return self.dem if self.dem is not None else flat_dem(self.grid, self.mean_elevation_m)

    @property
    def files(self) -> tuple[str, ...]:
        """Every aux file used (base names, as Sen2Cor's AUX_DATA_FILES list)."""
        return tuple(dict.fromkeys(Path(f).name for r in self.records if not r.fallback for f in r.files))

    def metadata(self) -> dict[str, str]:
        """Values for MTD/L2A_QUALITY aux fields (DEM_TYPE 'NA' without DEM, as Sen2Cor's quality report)."""
        if self.dem is not None:
            height_m, slope_deg = self.dem.mean_height_m, self.dem.mean_slope_deg
        else:             # flat terrain at the mean elevation: no full-size flat DEM for two numbers
            height_m, slope_deg = float(np.float32(self.mean_elevation_m)), 0.0
        return {
            "DEM_TYPE": "NA" if self.dem is None or self.dem.is_flat else self.dem.dem_type,
            "DEM_MEAN_ALTITUDE_KM": f"{height_m / 1000.0:.4f}",
            "DEM_MEAN_SLOPE": f"{slope_deg:.4f}",
            "OZONE_SOURCE": self.ozone_source,
            "OZONE_VALUE": f"{self.ozone_du:.1f}",
            "AOT_SOURCE": self.aot_source,
            "WV_SOURCE": self.wv_source,
            "AUX_DATA_FILES": " ".join(self.files),
            "ESACCI_LandCover_Map": self.landcover.path.name if self.landcover else "NONE",
            "ESACCI_WaterBodies_Map": self.water_bodies.path.name if self.water_bodies else "NONE",
            "ESACCI_SnowCondition_Map": self.snow_condition.path.name if self.snow_condition else "NONE",
        }


def _name(cci_names, key: str) -> str | None:
    v = cci_names.get(key) if isinstance(cci_names, Mapping) else getattr(cci_names, key, None)
    v = (v or "").strip()
    return v if v and v.upper() != "NONE" else None


class _Log:
    """Collects records and warnings and logs each line once."""

    def __init__(self) -> None:
        self.records: list[AuxRecord] = []
        self.warnings: list[str] = []

    def used(self, item: str, source: str, files=(), note: str = "") -> None:
        self.records.append(AuxRecord(item, source, tuple(str(f) for f in files), note))
        log.info("%s: %s%s", item, source, f" ({note})" if note else "")

    def fallback(self, item: str, source: str, note: str) -> None:
        self.records.append(AuxRecord(item, source, (), note, fallback=True))
        line = f"{item}: {note}; using {source}"
        self.warnings.append(line)
        log.warning(line)


def _l1c_grib(paths: Mapping[str, Path], key: str, when: datetime, grid: TileGrid, lg: _Log
              ) -> CamsFields | None:
    p = paths.get(key) if paths else None
    if p is None:
        return None
    try:
        return read_l1c_grib(Path(p), when, grid, key)
    except AuxDataError as exc:
        lg.fallback(key, "nothing from it", str(exc))
        return None


def load_aux(aux_root: Path | None, epsg: int, geoposition: Geoposition, sensing_time: datetime, *,
             dem_directory: str, dem_reference: str, force_exit_on_dem_error: bool,
             l1c_aux_paths: Mapping[str, Path] | None, cci_names: Mapping[str, str] | object | None,
             mean_elevation_m: float = 0.0, ozone_content: float = 0.0,
             ozone_order: tuple[str, ...] = ("AUX_ECMWFT", "CAMS"), cams_factor: int = 1,
             cci_requires_dem: bool = True) -> AuxBundle:
    """All aux data on the grid of ``geoposition``; see the module docstring for the order of sources.

    ``cams_factor`` > 1 puts the (40 km) CAMS fields on a coarser grid (``AuxBundle.cams_grid``).
    Raises AuxDataError only for a missing/broken DEM with ``force_exit_on_dem_error``.
    """
    aux_root = Path(aux_root) if aux_root is not None else aux_root_default()
    grid = TileGrid.from_geoposition(geoposition, epsg)
    cams_grid = grid.coarsened(cams_factor) if cams_factor > 1 else grid
    lg = _Log()
    l1c_aux_paths = l1c_aux_paths or {}

    # ---- atmosphere
    try:
        cams, notes = load_cams(aux_root, sensing_time, cams_grid)
    except AuxDataError as exc:                       # defensive: readers should not raise here
        cams, notes = None, [str(exc)]
    ecmwft = _l1c_grib(l1c_aux_paths, "AUX_ECMWFT", sensing_time, cams_grid, lg)
    camsfo = _l1c_grib(l1c_aux_paths, "AUX_CAMSFO", sensing_time, cams_grid, lg)
    if cams is None:
        lg.fallback("CAMS", "the L1C AUX_DATA or defaults", "; ".join(notes))

    def first(attr: str, sources) -> tuple[np.ndarray | None, CamsFields | None]:
        for f in sources:
            if f is not None and getattr(f, attr) is not None and np.isfinite(getattr(f, attr)).any():
                return getattr(f, attr), f
        return None, None

    def missing(var: str, sources) -> str:
        """Why a variable is absent: name the files that were read without it (a CAMS file missing a variable)."""
        read = [p.name for f in sources if f is not None for p in f.files]
        return f"no {var} in {', '.join(read)}" if read else f"no CAMS {var}"

    aot, src = first("aot550", (cams, camsfo))
    if aot is not None:
        lg.used("AOT", src.source, src.files, f"{len(src.times)} time step(s) interpolated")
    else:
        lg.fallback("AOT", "DDV / Visibility default", missing("aod550", (cams, camsfo)))
    wv, wsrc = first("tcwv_gcm2", (cams, ecmwft))
    if wv is not None:
        lg.used("WV", wsrc.source, wsrc.files)
    msl, _ = first("msl_hpa", (cams, ecmwft))

    if ozone_content and ozone_content > 0:
        ozone, ozone_source = float(ozone_content), "CONFIG"
        lg.used("OZONE", "CONFIG", (), f"Ozone_Content {ozone:.0f} DU")
    else:
        ozone, ozone_source = None, "OTHER"
        for name in ozone_order:
            f = ecmwft if name == "AUX_ECMWFT" else cams if name == "CAMS" else None
            value = f.mean("ozone_du") if f is not None else None
            if value is not None:
                ozone, ozone_source = value, name
                lg.used("OZONE", name, f.files, f"{value:.1f} DU")
                break
        if ozone is None:
            ozone = DEFAULT_OZONE_DU
            read = [p.name for f in (ecmwft, cams) if f is not None for p in f.files]
            lg.fallback("OZONE", f"{DEFAULT_OZONE_DU:.0f} DU (OTHER)", f"no ozone from {'/'.join(ozone_order)}"
                        + (f" (none in {', '.join(read)})" if read else ""))

    # ---- terrain
    dem, note = load_dem(grid, aux_root, dem_directory, dem_reference, force_exit_on_dem_error,
                         mean_elevation_m)
    dem_is_none = (dem_directory or "").strip().upper() in ("", "NONE")
    if dem is not None and not dem.is_flat:
        lg.used("DEM", dem.dem_type, dem.files, note)
    elif dem is not None or dem_is_none:
        lg.used("DEM", "NONE", (), note)               # flat by configuration, not a fallback
    else:
        lg.fallback("DEM", f"flat terrain at {mean_elevation_m:.0f} m", note)

    # ---- ESA CCI maps
    maps: dict[str, CciMap | None] = dict.fromkeys(_CCI_KEYS)
    if cci_requires_dem and (dem_is_none or dem is None):
        lg.used("ESA_CCI", "NONE", (), "not loaded without a DEM (as Sen2Cor 3)")
    elif cci_names is not None:
        month = sensing_time.month
        jobs = {
            "esacci_landcover_map": lambda n: load_landcover(aux_root, n, grid),
            "esacci_waterbodies_map": lambda n: load_water_bodies(aux_root, n, grid),
            "esacci_snowcondition_map_dir": lambda n: load_snow_condition(aux_root, n, month, grid),
            "snow_map": lambda n: load_cci_map(aux_root / n, grid, 0, "snow climatology map"),
        }
        for key, job in jobs.items():
            n = _name(cci_names, key)
            if n is None:
                continue
            m, why = job(n)
            maps[key] = m
            if m is not None:
                lg.used(key.upper(), m.path.name, (m.path,), f"coverage {m.coverage:.0%}")
            else:
                lg.fallback(key.upper(), "no a-priori map", why)

    return AuxBundle(
        grid=grid, cams_grid=cams_grid, aot550=aot, aot_source=src.source if src else "NONE",
        tcwv_gcm2=wv, wv_source=wsrc.source if wsrc else "NONE", ozone_du=float(ozone), ozone_source=ozone_source,
        dem=dem, mean_elevation_m=float(mean_elevation_m), landcover=maps["esacci_landcover_map"],
        water_bodies=maps["esacci_waterbodies_map"], snow_condition=maps["esacci_snowcondition_map_dir"],
        snow_map=maps["snow_map"], msl_hpa=msl, records=tuple(lg.records), warnings=tuple(lg.warnings))


