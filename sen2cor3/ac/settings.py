"""Every GIPP value the atmospheric correction uses, read once into one typed, frozen object.

``ac_settings(l2a_ac, ac_gipp)`` reads them from the typed configuration (``sen2cor3.config.model``):
``l2a_ac`` is the L2A_GIPP ``Atmospheric_Correction`` section (``AtmosphericCorrection``: Look_Up_Tables,
Flags, Calibration), ``ac_gipp`` the L2A_CAL_AC_GIPP (``AcGipp``: Flags, ACL_Prio_1/2/3). The AC modules
then read attributes of the result instead of looking values up by name.

Each field names its GIPP element (``metadata["gipp"]``) and carries its unit in the name or comment. The
defaults are the values of the shipped ``cfg/L2A_GIPP.xml`` and ``cfg/L2A_CAL_AC_GIPP.xml`` (Sen2Cor's); they
apply wherever a section, an object or an attribute is missing (unit tests pass None or partial objects,
e.g. ``SimpleNamespace(flags=SimpleNamespace(wv_correction=0))``).

Elements of L2A_CAL_AC_GIPP that this AC does not use (so not here): Scaling_Limiter, Scaling_Disabler
(blue path-radiance rescaling: the factor stays 1), AC_Aerosol_Type_Ratio_Th (AUTO aerosol -> rural),
AC_Ddv_16um_Refl_Th2/3, AC_Dbv_*, AC_Red_Ref_Refl_Th, AC_Max_Nr_Topo_Iter, AC_Limit_Area_Path_Rad_Scale,
AC_Terrain_Refl_Start, AC_Spr_Refl_*; of L2A_GIPP Calibration: Database_Compression_Level.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from types import SimpleNamespace
from typing import Any, Callable

__all__ = ["AcSettings", "DEFAULTS", "ac_settings", "lut_settings"]

_L2A = "L2A_GIPP.xml Atmospheric_Correction/"
_CAL = "L2A_CAL_AC_GIPP.xml "


def _upper(v: Any) -> str:
    return str(v).upper()


def _ozone(v: Any) -> float:
    return float(v or 0)          # None / '' / 0: from the L1C auxiliary data


def _l2a(default: Any, element: str, convert: Callable[[Any], Any]) -> Any:
    """A field read from L2A_GIPP Atmospheric_Correction/``element`` ('Section/Name'; typed config:
    ``l2a_ac.<section lower>.<name lower>``)."""
    section, name = element.lower().split("/")
    return field(default=default, metadata={"source": "l2a", "section": section, "name": name,
                                            "convert": convert, "gipp": _L2A + element})


def _cal(default: Any, element: str, convert: Callable[[Any], Any]) -> Any:
    """A field read from L2A_CAL_AC_GIPP ``element`` ('Section/Name'; typed config: ``ac_gipp.<section
    lower>.<name lower>``)."""
    section, name = element.lower().split("/")
    return field(default=default, metadata={"source": "ac", "section": section, "name": name,
                                            "convert": convert, "gipp": _CAL + element})


@dataclass(frozen=True)
class AcSettings:
    """The AC's GIPP values (defaults: the shipped GIPPs). Reflectances are unitless (0..1)."""

    # ------------------------------------------------ L2A_GIPP.xml Atmospheric_Correction/Look_Up_Tables
    aerosol_type: str = _l2a("RURAL", "Look_Up_Tables/Aerosol_Type", _upper)     # RURAL | MARITIME | AUTO
    mid_latitude: str = _l2a("SUMMER", "Look_Up_Tables/Mid_Latitude", _upper)    # SUMMER | WINTER | AUTO
    ozone_content_du: float = _l2a(0.0, "Look_Up_Tables/Ozone_Content", _ozone)  # DU; 0: from the L1C aux
    # ------------------------------------------------ L2A_GIPP.xml Atmospheric_Correction/Flags
    wv_correction: int = _l2a(1, "Flags/WV_Correction", int)            # 0 off, 1 APDA (B8A/B09)
    vis_update_mode: int = _l2a(1, "Flags/VIS_Update_Mode", int)        # 0 one visibility, 1 a map
    wv_watermask: int = _l2a(1, "Flags/WV_Watermask", int)              # WV over water: 0 kept, 1 and 2 land mean (Sen2Cor 3: iwv_watermask > 0)
    cirrus_correction: bool = _l2a(False, "Flags/Cirrus_Correction", bool)
    dem_terrain_correction: bool = _l2a(False, "Flags/DEM_Terrain_Correction", bool)
    brdf_correction: int = _l2a(0, "Flags/BRDF_Correction", int)        # 0 off; 1, 2, 11, 12, 21, 22
    brdf_lower_bound: float = _l2a(0.22, "Flags/BRDF_Lower_Bound", float)  # lower bound of the damping G
    # ------------------------------------------------ L2A_GIPP.xml Atmospheric_Correction/Calibration
    adj_km: float = _l2a(1.0, "Calibration/Adj_Km", float)              # km, adjacency range; 0: off
    visibility_km: float = _l2a(40.0, "Calibration/Visibility", float)  # km, start visibility
    altitude_km: float = _l2a(0.1, "Calibration/Altitude", float)       # km, ground without a DEM
    smooth_wv_map_m: float = _l2a(100.0, "Calibration/Smooth_WV_Map", float)           # m
    wv_threshold_cirrus_cm: float = _l2a(0.25, "Calibration/WV_Threshold_Cirrus", float)  # cm
    # ------------------------------------------------ L2A_CAL_AC_GIPP.xml Flags
    rho_retrieval_step2: bool = _cal(True, "Flags/Rho_Retrieval_Step2", bool)   # adjacency step
    # ------------------------------------------------ L2A_CAL_AC_GIPP.xml ACL_Prio_1
    min_ddv_area_pct: float = _cal(2.0, "ACL_Prio_1/AC_Min_Ddv_Area", float)     # % of the land
    swir_refl_lower_th: float = _cal(0.01, "ACL_Prio_1/AC_Swir_Refl_Lower_Th", float)       # B12 refl.
    swir_22um_red_refl_ratio: float = _cal(0.5, "ACL_Prio_1/AC_Swir_22um_Red_Refl_Ratio", float)  # red / B12
    red_blue_refl_ratio: float = _cal(0.5, "ACL_Prio_1/AC_Red_Blue_Refl_Ratio", float)      # blue / red
    cut_off_aot_iter_vegetation: float = _cal(0.01, "ACL_Prio_1/AC_Cut_Off_Aot_Iter_Vegetation", float)  # red refl.
    cut_off_aot_iter_water: float = _cal(-0.005, "ACL_Prio_1/AC_Cut_Off_Aot_Iter_Water", float)      # B8A refl.
    topo_corr_th: float = _cal(0.01, "ACL_Prio_1/AC_Topo_Corr_Th", float)   # fraction of steep pixels
    slope_th_deg: float = _cal(6.0, "ACL_Prio_1/AC_Slope_Th", float)        # deg, "steep"
    dem_p2p_val_m: float = _cal(50.0, "ACL_Prio_1/AC_Dem_P2p_Val", float)   # m, DEM peak-to-peak
    # ------------------------------------------------ L2A_CAL_AC_GIPP.xml ACL_Prio_2
    swir_refl_ndvi_th: float = _cal(0.10, "ACL_Prio_2/AC_Swir_Refl_Ndvi_Th", float)        # TOA NDVI
    ddv_swir_refl_th1: float = _cal(0.05, "ACL_Prio_2/AC_Ddv_Swir_Refl_Th1", float)        # B12 refl.
    ddv_swir_refl_th2: float = _cal(0.10, "ACL_Prio_2/AC_Ddv_Swir_Refl_Th2", float)        # B12 refl.
    ddv_swir_refl_th3: float = _cal(0.12, "ACL_Prio_2/AC_Ddv_Swir_Refl_Th3", float)        # B12 refl.
    ddv_16um_refl_th1: float = _cal(0.10, "ACL_Prio_2/AC_Ddv_16um_Refl_Th1", float)        # TOA red refl.
    wv_iter_start_summer_cm: float = _cal(1.0, "ACL_Prio_2/AC_Wv_Iter_Start_Summer", float)  # cm
    wv_iter_start_winter_cm: float = _cal(0.4, "ACL_Prio_2/AC_Wv_Iter_Start_Winter", float)  # cm
    rng_nbhd_terrain_corr_km: float = _cal(0.5, "ACL_Prio_2/AC_Rng_Nbhd_Terrain_Corr", float)  # km
    topo_corr_cutoff: float = _cal(1.5, "ACL_Prio_2/AC_Topo_Corr_Cutoff", float)           # max surface refl.
    vegetation_index_th: float = _cal(3.0, "ACL_Prio_2/AC_Vegetation_Index_Th", float)     # NIR / red (BRDF)
    # ------------------------------------------------ L2A_CAL_AC_GIPP.xml ACL_Prio_3
    ddv_smoothing_window_km: float = _cal(1.0, "ACL_Prio_3/AC_Ddv_Smooting_Window", float)  # km (sic)

    @property
    def ddv_swir_refl_th(self) -> tuple[float, float, float]:
        """AC_Ddv_Swir_Refl_Th1..3: the B12 thresholds tried in turn."""
        return (self.ddv_swir_refl_th1, self.ddv_swir_refl_th2, self.ddv_swir_refl_th3)

    def wv_iter_start_cm(self, season: str) -> float:
        """AC_Wv_Iter_Start_Summer for ``season == 'summer'``, else AC_Wv_Iter_Start_Winter (cm)."""
        return self.wv_iter_start_summer_cm if season == "summer" else self.wv_iter_start_winter_cm

    @classmethod
    def from_sections(cls, look_up_tables: Any = None, flags: Any = None, calibration: Any = None,
                      ac_gipp: Any = None) -> "AcSettings":
        """From the three L2A_GIPP Atmospheric_Correction sections and the L2A_CAL_AC_GIPP (each may be None
        or lack attributes: defaults then)."""
        l2a = {"look_up_tables": look_up_tables, "flags": flags, "calibration": calibration}
        values = {}
        for f in fields(cls):
            m = f.metadata
            if m["source"] == "l2a":
                sec = l2a[m["section"]]
                v = getattr(sec, m["name"]) if sec is not None and hasattr(sec, m["name"]) else f.default
            else:
                v = _cal_value(ac_gipp, m["name"], f.default)
            values[f.name] = m["convert"](v)
        return cls(**values)


#: The shipped GIPP values (function defaults of the AC modules point here).
DEFAULTS = AcSettings()

#: Where an L2A_CAL_AC_GIPP element is looked for, in this order (then on the object itself).
_CAL_SECTIONS = ("acl_prio_1", "acl_prio_2", "acl_prio_3", "flags")


def _cal_value(ac_gipp: Any, name: str, default: Any) -> Any:
    """An L2A_CAL_AC_GIPP value by element name (lower case), searched in its sections, then on the object
    itself (a flat stand-in); ``default`` when absent."""
    if ac_gipp is None:
        return default
    for sec in _CAL_SECTIONS:
        s = getattr(ac_gipp, sec, None)
        if s is not None and hasattr(s, name):
            return getattr(s, name)
    return getattr(ac_gipp, name, default)


def ac_settings(l2a_ac: Any = None, ac_gipp: Any = None) -> AcSettings:
    """The AC's settings from the L2A_GIPP ``Atmospheric_Correction`` section (``config.l2a.
    atmospheric_correction``) and the L2A_CAL_AC_GIPP (``config.ac``); None or missing parts -> defaults.
    An ``AcSettings`` given as ``l2a_ac`` is returned as it is (``ac_gipp`` is then ignored)."""
    if isinstance(l2a_ac, AcSettings):
        return l2a_ac
    return AcSettings.from_sections(*(getattr(l2a_ac, s, None) if l2a_ac is not None else None
                                      for s in ("look_up_tables", "flags", "calibration")), ac_gipp=ac_gipp)


def lut_settings(look_up_tables: Any) -> AcSettings:
    """Settings from a Look_Up_Tables section alone (the rest default); an ``AcSettings`` passes through."""
    if isinstance(look_up_tables, AcSettings):
        return look_up_tables
    return ac_settings(SimpleNamespace(look_up_tables=look_up_tables))
