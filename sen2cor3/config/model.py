"""Typed, immutable views of the four GIPP files.

Every field is named after its GIPP element, lower-cased (``T1_B04`` -> ``t1_b04``), so a reader can
go from the XML to the code with a text search. Field metadata tells the builder in ``gipp.py`` where
an element sits when it is not a direct child of the section element (``xml``: a relative path, with
``/@name`` for an attribute), whether it repeats (``many``) and how repeated groups merge (``key``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path


# ----------------------------------------------------------------------------------- L2A_GIPP.xml
@dataclass(frozen=True)
class RegionOfInterest:
    """Window to process: ``row0`` ``'OFF'`` = whole image, ``'AUTO'`` = valid-pixel box (Landsat),
    else the window centre in pixels (10 m for Sentinel-2, the 30 m grid for Landsat)."""

    row0: int | str
    col0: int | str
    nrow_win: int | str
    ncol_win: int | str

    @property
    def enabled(self) -> bool:
        return self.row0 != "OFF"


@dataclass(frozen=True)
class PsdScheme:
    """Metadata schema names for one product format (PSD) version."""

    psd_version: str = field(metadata={"xml": "@PSD_Version"})
    psd_reference: str = field(metadata={"xml": "@PSD_Reference"})
    up_scheme_1c: str = field(metadata={"xml": "UP_Scheme_1C"})
    up_scheme_2a: str = field(metadata={"xml": "UP_Scheme_2A"})
    tile_scheme_1c: str = field(metadata={"xml": "Tile_Scheme_1C"})
    tile_scheme_2a: str = field(metadata={"xml": "Tile_Scheme_2A"})
    ds_scheme_1c: str = field(metadata={"xml": "DS_Scheme_1C"})
    ds_scheme_2a: str = field(metadata={"xml": "DS_Scheme_2A"})


@dataclass(frozen=True)
class CommonSection:
    log_level: str
    region_of_interest: RegionOfInterest
    product_doi: str
    nr_threads: int | str  # 'AUTO' or a count
    product_generator: str
    dem_directory: str  # 'NONE' or a folder that may not exist yet
    dem_reference: str
    generate_dem_output: bool
    force_exit_on_dem_error: bool
    generate_tci_output: bool
    generate_ddv_output: bool
    handle_l1c_qlt_mask: bool
    downsample_20_to_60: bool
    psd_version: str  # 'DEFAULT' or e.g. '15.0'
    # user and default lists merge by version, so an old GIPP still knows the newest formats
    psd_scheme: tuple[PsdScheme, ...] = field(metadata={"xml": "PSD_Scheme", "many": True, "key": "psd_version"})
    gipp_scheme: str = field(metadata={"xml": "GIPP_Scheme"})
    sc_scheme: str = field(metadata={"xml": "SC_Scheme"})
    ac_scheme: str = field(metadata={"xml": "AC_Scheme"})
    pb_scheme: str = field(metadata={"xml": "PB_Scheme"})
    qi_scheme: str = field(metadata={"xml": "QI_Scheme"})

    @property
    def uses_dem(self) -> bool:
        return self.dem_directory.strip().upper() != "NONE"


@dataclass(frozen=True)
class SceneClassification:
    median_filter: int = field(metadata={"xml": "Filters/Median_Filter"})


@dataclass(frozen=True)
class LookUpTables:
    aerosol_type: str  # RURAL | MARITIME | AUTO
    mid_latitude: str  # SUMMER | WINTER | AUTO
    ozone_content: int  # Dobson units; 0 = from the L1C auxiliary data


@dataclass(frozen=True)
class Flags:
    wv_correction: int
    vis_update_mode: int
    wv_watermask: int
    cirrus_correction: bool
    dem_terrain_correction: bool
    brdf_correction: int
    brdf_lower_bound: float


@dataclass(frozen=True)
class Calibration:
    adj_km: float
    visibility: float  # km
    altitude: float  # km
    smooth_wv_map: float  # m
    wv_threshold_cirrus: float  # cm
    database_compression_level: int


@dataclass(frozen=True)
class AtmosphericCorrection:
    look_up_tables: LookUpTables
    flags: Flags
    calibration: Calibration


@dataclass(frozen=True)
class L2AGipp:
    common: CommonSection = field(metadata={"xml": "Common_Section"})
    scene_classification: SceneClassification = field(metadata={"xml": "Scene_Classification"})
    atmospheric_correction: AtmosphericCorrection = field(metadata={"xml": "Atmospheric_Correction"})


# ---------------------------------------------------------------------------- L2A_CAL_SC_GIPP.xml
@dataclass(frozen=True)
class ScReferences:
    snow_map: str
    esacci_waterbodies_map: str
    esacci_landcover_map: str
    esacci_snowcondition_map_dir: str


@dataclass(frozen=True)
class Classificators:
    """SCL class codes (fixed by the product format, checked by the schema)."""

    no_data: int
    saturated_defective: int
    dark_features: int
    cloud_shadows: int
    vegetation: int
    not_vegetated: int
    water: int
    unclassified: int
    medium_proba_clouds: int
    high_proba_clouds: int
    thin_cirrus: int
    snow_ice: int

    def as_dict(self) -> dict[str, int]:
        """GIPP element name -> code, in code order (the SCL legend of the metadata)."""
        return {f.name.upper(): getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Thresholds:
    t1_b02: float
    t2_b02: float
    t1_b04: float
    t2_b04: float
    t1_b8a: float
    t2_b8a: float
    t1_b10: float
    t2_b10: float
    t1_b12: float
    t2_b12: float
    t_b02_b12: float
    t_cloud_lp: float
    t_cloud_mp: float
    t_cloud_hp: float
    t1_ndsi_cld: float
    t2_ndsi_cld: float
    t1_ndsi_snw: float
    t2_ndsi_snw: float
    t1_ndvi: float
    t2_ndvi: float
    t1_snow: float
    t2_snow: float
    t1_r_b02_b04: float
    t2_r_b02_b04: float
    t1_r_b8a_b03: float
    t2_r_b8a_b03: float
    t1_r_b8a_b11: float
    t2_r_b8a_b11: float
    t11_b02: float
    t12_b02: float
    t11_r_b02_b11: float
    t12_r_b02_b11: float
    t21_r_b02_b11: float
    t22_r_b02_b11: float
    t21_b12: float
    t22_b12: float
    rv_b2: float
    rv_b3: float
    rv_b4: float
    rv_b8: float
    rv_b11: float
    rv_b12: float
    t_sdw: float


@dataclass(frozen=True)
class ScGipp:
    references: ScReferences = field(metadata={"xml": "Scene_Classification/References"})
    classificators: Classificators = field(metadata={"xml": "Scene_Classification/Classificators"})
    thresholds: Thresholds = field(metadata={"xml": "Scene_Classification/Thresholds"})


# ---------------------------------------------------------------------------- L2A_CAL_AC_GIPP.xml
@dataclass(frozen=True)
class AcFlags:
    scaling_limiter: bool
    scaling_disabler: bool
    rho_retrieval_step2: bool


@dataclass(frozen=True)
class AcReferences:
    lib_dir: str


@dataclass(frozen=True)
class SensorResolution:
    """Band widths in micrometres, B01..B12 with B8A after B08 (13 values)."""

    fwhm: tuple[float, ...] = field(metadata={"xml": "Band_List/fwhm", "many": True})


@dataclass(frozen=True)
class SensorCalibration:
    """Blue path-radiance scale bounds; centre wavelengths [um] and radiance gains per band."""

    min_sc_blu: float
    max_sc_blu: float
    wavelength: tuple[float, ...] = field(metadata={"xml": "Band_List/wavelength", "many": True})
    c0: tuple[float, ...] = field(metadata={"xml": "Band_List/wavelength/@c0", "many": True})
    c1: tuple[float, ...] = field(metadata={"xml": "Band_List/wavelength/@c1", "many": True})


@dataclass(frozen=True)
class Sensor:
    resolution: SensorResolution
    calibration: SensorCalibration


@dataclass(frozen=True)
class AclPrio1:
    ac_min_ddv_area: float
    ac_swir_refl_lower_th: float
    ac_swir_22um_red_refl_ratio: float
    ac_red_blue_refl_ratio: float
    ac_cut_off_aot_iter_vegetation: float
    ac_cut_off_aot_iter_water: float
    ac_aerosol_type_ratio_th: float
    ac_topo_corr_th: float
    ac_slope_th: float
    ac_dem_p2p_val: float


@dataclass(frozen=True)
class AclPrio2:
    ac_swir_refl_ndvi_th: float
    ac_ddv_swir_refl_th1: float
    ac_ddv_swir_refl_th2: float
    ac_ddv_swir_refl_th3: float
    ac_ddv_16um_refl_th1: float
    ac_ddv_16um_refl_th2: float
    ac_ddv_16um_refl_th3: float
    ac_dbv_nir_refl_th: float
    ac_dbv_ndvi_th: float
    ac_red_ref_refl_th: float
    ac_dbv_red_veget_tst_ndvi_th: float
    ac_dbv_red_veget_refl_th: float
    ac_wv_iter_start_summer: float
    ac_wv_iter_start_winter: float
    ac_rng_nbhd_terrain_corr: float
    ac_max_nr_topo_iter: int
    ac_topo_corr_cutoff: float
    ac_vegetation_index_th: float


@dataclass(frozen=True)
class AclPrio3:
    ac_limit_area_path_rad_scale: float
    ac_ddv_smooting_window: float  # sic: Sen2Cor's spelling
    ac_terrain_refl_start: float
    ac_spr_refl_percentage: float
    ac_spr_refl_promille: float


@dataclass(frozen=True)
class AcGipp:
    flags: AcFlags
    references: AcReferences
    sensor: Sensor
    acl_prio_1: AclPrio1
    acl_prio_2: AclPrio2
    acl_prio_3: AclPrio3


# -------------------------------------------------------------------------------- L2A_PB_GIPP.xml
def _baseline(text: str) -> str:
    """Baseline as the 'dd.dd' string used in metadata and product names (2.11 -> '02.11')."""
    return f"{float(text):05.2f}"


@dataclass(frozen=True)
class PbGipp:
    idp_sc_name: str = field(metadata={"xml": "DATA/Idp_Sc_List/Idp_Sc_Name"})
    idp_sc_version: str = field(metadata={"xml": "DATA/Idp_Sc_List/Idp_Sc_Version"})
    workflow: str = field(metadata={"xml": "DATA/Idp_Sc_List/@workflow"})
    baseline_version: str = field(metadata={"xml": "DATA/Baseline_Version", "convert": _baseline})


# ----------------------------------------------------------------------------------------- Config
_PATH_KEYS = {"L2A_GIPP": "l2a", "L2A_CAL_SC_GIPP": "sc", "L2A_CAL_AC_GIPP": "ac", "L2A_PB_GIPP": "pb"}


@dataclass(frozen=True)
class GippPaths(Mapping[str, Path]):
    """The four files actually used (copied into rep_info and named in the report).

    Also a read-only mapping keyed by the canonical file stems ('L2A_GIPP', 'L2A_CAL_SC_GIPP', ...), the
    names the copies take in rep_info/, whatever the user's files were called.
    """

    l2a: Path
    sc: Path
    ac: Path
    pb: Path

    def __getitem__(self, key: str) -> Path:
        return getattr(self, _PATH_KEYS[key])

    def __iter__(self) -> Iterator[str]:
        return iter(_PATH_KEYS)

    def __len__(self) -> int:
        return len(_PATH_KEYS)


@dataclass(frozen=True)
class Config:
    l2a: L2AGipp
    sc: ScGipp
    ac: AcGipp
    pb: PbGipp
    paths: GippPaths
