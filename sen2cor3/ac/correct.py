"""Atmospheric correction of one resolution: retrieval on a coarse working grid, inversion in float32 blocks.

Order (Sen2Cor section 9, step 5): WV (APDA) at the start AOT -> cirrus (optional) -> AOT (DDV / CAMS /
DEFAULT) -> WV again with the AOT map -> terms on ~1.2 km cells -> per band: first inversion on the
working grid (for adjacency and terrain-reflected light) -> block-wise inversion at the output resolution.
Retrieval runs on a 60 m working grid (block means of the input), not at 20 m as Sen2Cor does: the maps are
smoothed over >= 1 km anyway, and it keeps a full tile cheap. The 10 m run reuses a previous result
(``prior``), as Sen2Cor reuses the 20 m visibility and WV maps.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from scipy.ndimage import map_coordinates

from sen2cor3.blocks import block_mean_rows
from sen2cor3.heap import release_free_memory
from sen2cor3.readers.toa_store import ToaBands, band_rows
from sen2cor3.sensors import MSI_ROLES, S2A, Roles

from . import adjacency, cirrus, grids, terrain
from .aot import (CHECK_CLASSES, VISIBILITY_MAX_KM, VISIBILITY_MIN_KM, DdvParams, aot_from_cams, bounded_aot,
                  retrieve_aot)
from .atmos import AtmosphereModel, TermGrid, Upsampler, block_mean, relative_azimuth
from .settings import AcSettings, ac_settings, lut_settings
from .surface import apparent_reflectance, invert, linear_coefficients
from .wv import column_fraction, retrieve_wv

log = logging.getLogger("sen2cor3.ac")
F32 = np.float32
#: Centre wavelengths (um) of the default sensor (Sentinel-2 MSI); callers pass their sensor's.
WAVELENGTH_UM = S2A.wavelength_um
#: Wavelength (um) assumed for a band the sensor description does not list: visible (ours).
DEFAULT_WAVELENGTH_UM = 0.5

# SCL codes the retrieval groups pixels by (product format; the classes Sen2Cor L2A_AtmCorr.py uses).
SCL_NO_DATA = 0
SCL_SATURATED = 1
SCL_ASSUMED = 4                                   # vegetation: every pixel when no SCL is given ("all land")
SCL_THIN_CIRRUS = 10
#: APDA water vapour is trusted on vegetation, not-vegetated and snow (Sen2Cor L2A_AtmCorr.py, WV_Watermask).
WV_LAND_CLASSES = (4, 5, 11)
#: Clear surface for the scene cloud fraction: dark, shadows, vegetation, not-vegetated, water, snow (ours).
CLEAR_CLASSES = (2, 3, 4, 5, 6, 11)
#: Pixels whose own reflectance enters the adjacency environment: the clear ones and thin cirrus (ours).
ENV_CLASSES = (2, 3, 4, 5, 6, 10, 11)
#: No adjacency correction above this cloud fraction of the scene (Sen2Cor L2A_AtmCorr.py: 95 %).
ADJ_MAX_CLOUD_FRACTION = 0.95
#: Peak-to-peak working-grid elevation (km) above which terms vary with elevation (ours).
RELIEF_MIN_PTP_KM = 0.01
#: Peak-to-peak WV (tables' WV unit, g/cm2) above which terms vary with WV (ours).
WV_VARIES_MIN_PTP = 1e-3
#: Floor of the total diffuse upward transmittance in the Rayleigh share of the environment (ours).
T_UP_DIF_MIN = 1e-6
#: Terrain-reflected light: box half-width at least this many working-grid pixels (ours).
TERRAIN_NBHD_MIN_HALF_PX = 3
#: Roles whose bands the WV and AOT retrievals read on the working grid (``correct_resolution``).
RETRIEVAL_ROLES = ("red", "nir", "swir2", "green", "wv_reference", "wv_absorption")
#: Environment fields the AOT retrieval keeps (see ``correct_resolution``; 26 MB each on a Landsat scene).
ENV_MEMO_ENTRIES = 8
#: Metres per kilometre.
M_PER_KM = 1000.0
# Quality flags of the metadata (Sen2Cor's L2A quality report: VISIBILITY_LESS_THAN_5_KM, AOT_ABOVE_1,
# GRANULE_WV_ABOVE_5_CM).
QI_LOW_VISIBILITY_KM = 5.0
QI_HIGH_AOT = 1.0
QI_HIGH_WV_CM = 5.0
#: BLUE_PATH_RADIANCE_RESCALING_FACTOR: always 1 (Scaling_Disabler TRUE in Sen2Cor's L2A_CAL_AC_GIPP).
BLUE_PATH_RADIANCE_RESCALING = 1.0
# Look-up tables: tabulated ozone columns (DU) of Sen2Cor's tables (L2A_GIPP Look_Up_Tables comment), the
# value used without auxiliary ozone; the AUTO season rule (ours).
OZONE_NODES_SUMMER_DU = (250, 290, 331, 370, 410, 450)
OZONE_NODES_WINTER_DU = (250, 290, 330, 377, 420, 460)
OZONE_DEFAULT_SUMMER_DU, OZONE_DEFAULT_WINTER_DU = 331, 377
TROPICS_MAX_LAT_DEG = 30                          # |latitude| below: summer all year
NORTH_SUMMER_MONTHS = (4, 9)                      # April..September (the south: the other months)


@dataclass
class Geometry:
    """Sun/view angles (deg): scalars or 2-D node grids spanning the tile, node (i, j) at (i, j) * step_m
    from the upper-left corner (the L1C 5 km angle grids, NaN allowed). vza/vaa may be a dict per band."""
    sza: Any
    saa: Any
    vza: Any = 0.0
    vaa: Any = 0.0
    step_m: float = 5000.0

    def at(self, name: str, y_m: np.ndarray, x_m: np.ndarray, band: str | None = None) -> np.ndarray:
        v = getattr(self, name)
        if isinstance(v, dict):
            v = v.get(band, next(iter(v.values()))) if band is not None else np.nanmean(
                [np.nanmean(x) for x in v.values()])
        a = np.asarray(v, np.float64)
        if a.ndim == 0 or a.size == 1:
            return np.full(np.shape(y_m), float(a.ravel()[0]))
        a = np.where(np.isfinite(a), a, np.nanmean(a))
        return map_coordinates(a, [y_m / self.step_m, x_m / self.step_m], order=1, mode="nearest")


@dataclass
class AcOptions:
    """Choices outside the GIPPs (defaults: Sen2Cor's behaviour)."""
    work_res_m: float = 60.0          # retrieval grid
    cell_m: float = 1200.0            # atmosphere cells
    block_rows: int = 512
    diffuse: str = "hay"              # 'hay' (Sen2Cor) or 'isotropic'
    terrain_reflected: bool = True    # light reflected by opposite slopes (Sen2Cor)
    adjacency: bool | None = None     # None: on (Sen2Cor: Adj_Km > 0, Rho_Retrieval_Step2)
    adjacency_kernel: str = "6s"      # '6s' environment functions (default, see adjacency) or 'box' (Sen2Cor)
    env_clouds: str = "clear_mean"    # environment: clouds -> clear mean (Sen2Cor) or 'measured' (as seen)
    # rugged terrain: the environment (adjacency, backscattered skylight) lit by its own irradiance ('own',
    # the physics, see surface) or by the pixel's as Sen2Cor's step 2 ('pixel')
    env_illumination: str = "own"
    cast_shadows: bool = True
    linear_inversion: bool = True     # flat scenes with adjacency: interpolate A, C of rho = A toa - C


@dataclass
class AcResult:
    boa: dict[str, np.ndarray]        # float32 surface reflectance, NaN = no data
    aot: np.ndarray                   # AOT550 at the output resolution (0 = no data)
    wv: np.ndarray                    # water vapour cm at the output resolution (0 = no data)
    nodata: np.ndarray
    metadata: dict
    work: dict = field(default_factory=dict)   # working-grid maps for reuse (``prior``)


def ddv_params(ac_gipp: Any) -> DdvParams:
    """The DDV retrieval's parameters from the L2A_CAL_AC_GIPP (None: the shipped values) or an AcSettings."""
    s = ac_gipp if isinstance(ac_gipp, AcSettings) else ac_settings(None, ac_gipp)
    return DdvParams(s.min_ddv_area_pct, s.swir_refl_lower_th, s.swir_22um_red_refl_ratio, s.red_blue_refl_ratio,
                     s.cut_off_aot_iter_vegetation, s.cut_off_aot_iter_water, s.swir_refl_ndvi_th,
                     s.ddv_swir_refl_th, s.ddv_16um_refl_th1, s.ddv_smoothing_window_km)


def choose_luts(look_up_tables: Any, month: int, lat_deg: float, ozone_du_aux: float | None
                ) -> tuple[str, str, float]:
    """(aerosol, season, ozone DU) from Look_Up_Tables: AUTO season by date/latitude (|lat| < 30 -> summer;
    north: Apr-Sep summer; south the reverse), AUTO aerosol -> rural (Sen2Cor's AUTO is inert while
    Scaling_Disabler is TRUE), ozone 0 -> nearest tabulated value to the aux value (331 / 377 without).
    ``look_up_tables``: the L2A_GIPP section (None or partial: defaults) or an ``AcSettings``."""
    s = lut_settings(look_up_tables)
    aerosol = "maritime" if s.aerosol_type == "MARITIME" else "rural"
    sea = s.mid_latitude
    if sea == "AUTO":
        north_summer = NORTH_SUMMER_MONTHS[0] <= month <= NORTH_SUMMER_MONTHS[1]
        sea = "SUMMER" if abs(lat_deg) < TROPICS_MAX_LAT_DEG or north_summer == (lat_deg >= 0) else "WINTER"
    season = sea.lower()
    oz = s.ozone_content_du
    summer = season == "summer"
    grid = OZONE_NODES_SUMMER_DU if summer else OZONE_NODES_WINTER_DU
    if oz <= 0:
        oz = float(min(grid, key=lambda g: abs(g - ozone_du_aux))) if ozone_du_aux else \
            float(OZONE_DEFAULT_SUMMER_DU if summer else OZONE_DEFAULT_WINTER_DU)
    return aerosol, season, oz


class _Lru:
    """A small least-recently-used memo: ``get(key, make)`` returns the cached value or stores ``make()``. The
    oldest entry goes before ``make()`` runs, so the memo never holds more than ``size`` values (working-grid
    terms: 130 MB an entry on a Landsat scene)."""

    def __init__(self, size: int) -> None:
        from collections import OrderedDict
        self.size, self.store = size, OrderedDict()

    def get(self, key, make):
        if key in self.store:
            self.store.move_to_end(key)
            return self.store[key]
        while len(self.store) >= self.size:
            self.store.popitem(last=False)
        value = self.store[key] = make()
        return value


def terrain_fields(dem_m: np.ndarray, res_m: float, sza: float, saa: float, cast_shadows: bool = True,
                   slope_aspect_deg: tuple[np.ndarray, np.ndarray] | None = None,
                   cast_shadow: np.ndarray | None = None) -> dict:
    """What ``dem_fields`` wants, from a DEM on the output grid (helper for the pipeline).

    Slope and aspect (radians) come from the processor's one Horn implementation,
    ``sen2cor3.sc.terrain.slope_aspect`` (GDAL's / Sen2Cor's, see there for the convention). When the DEM reader
    has already derived them on this very grid (``aux.dem.slope_deg``, ``aux.dem.aspect_deg``: the same function
    in degrees), pass them as ``slope_aspect_deg`` to convert instead of recompute. The cast shadows are
    Sen2Cor's SDW ones (``terrain.sdw_cast_shadow``: median-filtered), or ``cast_shadow`` when given (a 10 m
    run's, from the 20 m ones: ``terrain.refined_cast_shadow``)."""
    # the cast shadows first: their rotated grids are the largest temporaries, slope and aspect not yet there
    shadow = None
    if cast_shadows:
        shadow = terrain.sdw_cast_shadow(dem_m, res_m, sza, saa) if cast_shadow is None else cast_shadow
        if shadow.shape != np.shape(dem_m):
            raise ValueError(f"cast shadows {shadow.shape} not on the DEM grid {np.shape(dem_m)}")
    if slope_aspect_deg is None:
        from sen2cor3.sc.terrain import slope_aspect
        slope, aspect = slope_aspect(dem_m, res_m, degrees=False)
    else:
        slope, aspect = (np.radians(np.asarray(v, F32)).astype(F32, copy=False) for v in slope_aspect_deg)
        if slope.shape != np.shape(dem_m) or aspect.shape != np.shape(dem_m):
            raise ValueError(f"slope/aspect {slope.shape} not on the DEM grid {np.shape(dem_m)}")
    # the DEM itself only enters Sen2Cor's flat-terrain switch, through its peak-to-peak: keep that, not a
    # full-size copy (0.5 GB for a 10 m tile)
    out = {"slope": slope, "aspect": aspect, "dem_p2p_m": terrain.peak_to_peak_m(np.asarray(dem_m, F32))}
    if cast_shadows:
        out["cast_shadow"] = shadow
    return out


def terrain_fields_by_rows(heights_m, n_rows: int, res_m: float, dem_p2p_m: float,
                           cast_shadow: np.ndarray | None) -> dict:
    """``terrain_fields`` of a NaN-free height field given by its rows (``heights_m(h0, h1)``, metres), for
    a grid whose slope and aspect are never held whole: ``_BlockIllumination`` derives them block by block
    (``sc.terrain.slope_aspect_rows``: the values of the whole field's).

    Why: the 10 m run's slope and aspect (or the F_dir and sky view written over them) are two float32 images
    of 0.5 GB each on a full tile, alive through its four band calls: the largest part of its peak (4.25 GB
    with them). The first band call keeps F_dir and the sky view in files for the others (``SPILL_DIR``);
    without a folder for them each call makes its own (~30 s more CPU on a full tile)."""
    return {"height_rows": heights_m, "n_rows": int(n_rows), "res_m": float(res_m), "dem_p2p_m": float(dem_p2p_m),
            "cast_shadow": cast_shadow}


def _slope_aspect_block(dem_fields: dict, r0: int, r1: int) -> tuple[np.ndarray, np.ndarray]:
    """Slope and aspect (radians) of rows r0:r1: the fields' own arrays, or made from their height rows."""
    if "height_rows" in dem_fields:
        from sen2cor3.sc.terrain import slope_aspect_rows
        return slope_aspect_rows(dem_fields["height_rows"], dem_fields["n_rows"], r0, r1, dem_fields["res_m"],
                                 degrees=False)
    return dem_fields["slope"][r0:r1], dem_fields["aspect"][r0:r1]


#: Derived terms of the working-grid retrieval; with terrain also the direct transmittance (Hay's index).
DERIVED_TERMS = ("path", "g_dir", "g_dif", "s_alb", "q")
TERMS_WITH_SUN = DERIVED_TERMS + ("t_sun",)


def terrain_on_work_grid(dem_fields: dict, sza_c: np.ndarray, saa_c: np.ndarray, up_o: Upsampler,
                         valid: np.ndarray, k: int, opt: "AcOptions") -> dict[str, np.ndarray]:
    """Working-grid means of the pixels' illumination: ``f_dir`` (cos i / cos sza, 0 in self or cast shadow),
    ``sky`` (sky view V) and ``lit_sky`` (V where lit). The TOA of a k x k block is linear in these, so a
    block-mean TOA inverts with them as one pixel with the block's mean illumination (``rugged_terms``).
    Computed in row strips of whole blocks (no full-size angle arrays)."""
    shape = valid.shape
    cs = dem_fields.get("cast_shadow") if opt.cast_shadows else None
    step = k * max(1, opt.block_rows // k)
    parts: dict[str, list] = {"f_dir": [], "sky": [], "lit_sky": []}
    sza_cols, saa_cols = up_o.cols(sza_c), up_o.cols(saa_c)
    for r0 in range(0, shape[0], step):
        r1 = min(shape[0], r0 + step)
        sza_b = up_o.rows(sza_cols, r0, r1)
        cos_i = terrain.cos_illumination(dem_fields["slope"][r0:r1], dem_fields["aspect"][r0:r1], sza_b,
                                         up_o.rows(saa_cols, r0, r1))
        sky = terrain.sky_view(dem_fields["slope"][r0:r1])
        f_dir, _ = terrain.illumination_factors(cos_i, sza_b, sky, None if cs is None else cs[r0:r1])
        m = valid[r0:r1]
        for key, v in (("f_dir", f_dir), ("sky", sky), ("lit_sky", np.where(f_dir > 0, sky, F32(0)))):
            parts[key].append(block_mean(v, k, m))
    return {key: np.nan_to_num(np.vstack(v), nan=1.0).astype(F32) for key, v in parts.items()}


class _BlockIllumination:
    """The band-independent part of the terrain illumination of output rows r0:r1: F_dir (cos i / cos sza, with
    Sen2Cor's 26/255 floor in self and cast shadow too: ``terrain.direct_factor(shadow_floor=True)``), the lit
    mask (every pixel, as Sen2Cor's b) and, for the BRDF damping, cos i. ``keep``: the
    blocks are kept for the next band of the same call (a 20 m run corrects 12 bands with the same sun and
    slopes: cos i once instead of 12 times, for a float32 and a bool image)."""

    def __init__(self, dem_fields: dict, sza_c: np.ndarray, saa_c: np.ndarray, up_o: Upsampler,
                 opt: "AcOptions", keep: bool, with_cos_i: bool) -> None:
        self.f, self.up, self.keep, self.with_cos_i = dem_fields, up_o, keep, with_cos_i
        self.sza_cols, self.saa_cols = up_o.cols(sza_c), up_o.cols(saa_c)
        self.shadow = dem_fields.get("cast_shadow") if opt.cast_shadows else None
        self.blocks: dict[tuple[int, int], tuple] = {}
        # SHARE_ILLUMINATION (the 10 m run's band-by-band calls): the first call appends each block's F_dir and
        # sky view to two files in the fields' SPILL_DIR (``io.scratch.RowFile``: 1 GB at full tile out of
        # memory), the next calls read them (cos i, F_dir and V once instead of once per band)
        key = (sza_c.tobytes(), saa_c.tobytes(), up_o.out_shape, self.shadow is not None)
        self.shared = "f_dir" in dem_fields
        if self.shared and dem_fields["_illumination_key"] != key:
            raise ValueError("shared terrain illumination of another sun or grid")
        self.share = not self.shared and bool(dem_fields.get(SHARE_ILLUMINATION)) and not with_cos_i \
            and dem_fields.get(SPILL_DIR) is not None
        self.files: tuple | None = None
        self.key = key

    def block(self, r0: int, r1: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
        """(F_dir, lit, cos i or None, sky view) of rows r0:r1."""
        if self.shared:
            f_dir = grids.field_rows(self.f["f_dir"], r0, r1)
            # lit <=> F_dir != 0, i.e. every pixel: the floor (26/255 over cos sza > 0) holds in shadow too
            return f_dir, f_dir != 0, None, grids.field_rows(self.f["sky"], r0, r1)
        if (r0, r1) in self.blocks:
            return self.blocks[(r0, r1)]
        sza_b = self.up.rows(self.sza_cols, r0, r1)
        slope, aspect = _slope_aspect_block(self.f, r0, r1)
        cos_i = terrain.cos_illumination(slope, aspect, sza_b, self.up.rows(self.saa_cols, r0, r1))
        f_dir, lit = terrain.direct_factor(cos_i, sza_b, None if self.shadow is None else self.shadow[r0:r1],
                                           shadow_floor=True)
        sky = terrain.sky_view(slope)
        del aspect
        out = (f_dir, lit, cos_i if self.with_cos_i else None, sky)
        if self.share:
            self._keep_shared(r0, r1, f_dir, sky)
        if self.keep:
            self.blocks[(r0, r1)] = out
        return out

    def _keep_shared(self, r0: int, r1: int, f_dir: np.ndarray, sky: np.ndarray) -> None:
        if self.files is None:
            from sen2cor3.io.scratch import RowFile
            folder = Path(self.f[SPILL_DIR])
            folder.mkdir(parents=True, exist_ok=True)
            self.files = tuple(RowFile(folder / f"{name}.f32", f_dir.shape[1], F32) for name in ("f_dir", "sky"))
        if r0 != self.files[0].nrows:                 # blocks out of row order: nothing to share
            self.drop_files()
            self.share = False
            return
        self.files[0].append(f_dir)
        self.files[1].append(sky)

    def drop_files(self) -> None:
        for f in self.files or ():
            f.remove()
        self.files = None

    def finish(self) -> None:
        """After the call's block loop: a sharing call hands its closed files on as ``f_dir`` and ``sky``."""
        if not self.share:
            return
        if self.files is not None and self.files[0].nrows == self.up.out_shape[0]:
            for f in self.files:
                f.close()
            self.f["f_dir"], self.f["sky"] = self.files
            self.files = None
        else:
            self.drop_files()
            self.share = False
            return
        self.f["_illumination_key"] = self.key
        self.share, self.shared = False, True


#: ``dem_fields`` key: True when the fields serve several ``correct_resolution`` calls with one sun and grid
#: (``atmcorr``'s 10 m run, band by band): see ``_BlockIllumination`` (with a ``SPILL_DIR``).
SHARE_ILLUMINATION = "share_illumination"
#: ``dem_fields`` key: a folder (of the staging area) for the shared illumination of fields without slope and
#: aspect images (``terrain_fields_by_rows``); the caller removes it (``release_shared_illumination``).
SPILL_DIR = "spill_dir"


def release_shared_illumination(dem_fields: dict | None) -> None:
    """Remove the files of an illumination shared through ``SPILL_DIR`` (after the last band call)."""
    for name in ("f_dir", "sky"):
        f = (dem_fields or {}).get(name)
        if hasattr(f, "remove"):
            f.remove()


def _terrain_is_flat(dem_fields: dict, gipp: Any) -> bool:
    """Sen2Cor's switch to flat terrain (``terrain.is_flat``) for ``terrain_fields`` output; remembered in the
    dict per thresholds (a 10 m run corrects band by band with the same fields)."""
    key = (gipp.dem_p2p_val_m, gipp.slope_th_deg, gipp.topo_corr_th)
    memo = dem_fields.setdefault("_is_flat", {})
    if key not in memo:
        if "height_rows" in dem_fields:
            memo[key] = _is_flat_by_rows(dem_fields, *key)
        elif "dem_p2p_m" in dem_fields:
            memo[key] = terrain.is_flat(None, dem_fields["slope"], *key, p2p_dem_m=dem_fields["dem_p2p_m"])
        elif "dem_m" in dem_fields:                  # a hand-made dict with the DEM itself
            memo[key] = terrain.is_flat(dem_fields["dem_m"], dem_fields["slope"], *key)
        else:
            memo[key] = False
    return memo[key]


def _is_flat_by_rows(dem_fields: dict, p2p_m: float, slope_th_deg: float, frac_th: float) -> bool:
    """``terrain.is_flat`` of ``terrain_fields_by_rows`` output: the height range first (a range of
    ``p2p_m`` or more is terrain whatever the slopes), else the steep share counted block by block."""
    if not dem_fields["dem_p2p_m"] < p2p_m:
        return False
    ny, steep, size = dem_fields["n_rows"], 0, 0
    for r0 in range(0, ny, SLOPE_COUNT_ROWS):
        slope, _ = _slope_aspect_block(dem_fields, r0, min(ny, r0 + SLOPE_COUNT_ROWS))
        steep += int(np.count_nonzero(slope > math.radians(slope_th_deg)))
        size += slope.size
    return (steep / size if size else 0.0) < frac_th


#: Rows per block of the steep-pixel count of ``_is_flat_by_rows``.
SLOPE_COUNT_ROWS = 512


def rugged_terms(t: dict[str, np.ndarray], ter_w: dict | None, own_env: bool = True) -> dict[str, np.ndarray]:
    """Working-grid terms whose direct and diffuse gains carry the mean illumination of each pixel
    (``terrain_on_work_grid``): g_dir x F_dir and g_dif x F_dif with Hay's F_dif = Tsun F_dir + V - Tsun V_lit
    (the mean over the block of ``terrain.illumination_factors``). ``own_env``: also the flat gain ``g_env``
    and the mean sky view ``sky``, with which ``surface.invert`` lights the environment by its own irradiance
    (``AcOptions.env_illumination``). Flat (None): ``t`` unchanged."""
    if ter_w is None:
        return t
    t_sun = t["t_sun"]
    f_dif = t_sun * (ter_w["f_dir"] - ter_w["lit_sky"]) + ter_w["sky"]
    out = {**t, "g_dir": (t["g_dir"] * ter_w["f_dir"]).astype(F32), "g_dif": (t["g_dif"] * f_dif).astype(F32)}
    if own_env:
        out["g_env"] = (t["g_dir"] + t["g_dif"]).astype(F32)
        out["sky"] = ter_w["sky"]
    return out



def correct_resolution(toa: dict[str, np.ndarray], nodata: np.ndarray, scl: np.ndarray | None,
                       geometry: Geometry, elevation_km: Any, l2a_ac: Any, ac_gipp: Any, sensor: str,
                       resolution_m: float, cams: dict | None = None, dem_fields: dict | None = None, *,
                       model: AtmosphereModel | None = None, aerosol: str = "rural", season: str = "summer",
                       ozone_du: float = 331.0, prior: AcResult | None = None,
                       options: AcOptions | None = None, sink: Callable[[str, np.ndarray], None] | None = None,
                       maps: bool = True, inplace: bool = False, keep_linear: tuple[str, ...] = (),
                       roles: Roles = MSI_ROLES, wavelength_um: dict[str, float] | None = None) -> AcResult:
    """Surface reflectance of every band in ``toa`` (B10 only feeds the cirrus step), AOT/WV maps, metadata.

    ``toa``: TOA reflectance (float32) on one grid; ``nodata``: True where no data; ``scl``: SCL codes on the
    same grid (None: all land); ``elevation_km``: scalar or array on the grid; ``l2a_ac``: L2A_GIPP
    Atmospheric_Correction section, ``ac_gipp``: L2A_CAL_AC_GIPP (read once by ``settings.ac_settings``; None
    or partial objects: the shipped values), or ``l2a_ac`` an ``AcSettings`` (``ac_gipp`` ignored);
    ``cams``: optional {'aot550', 'wv'} (arrays on the grid or scalars); ``dem_fields``: ``terrain_fields(...)``
    output on the grid.
    ``sink(band, boa)``: called with each band's BOA as soon as it is inverted, instead of keeping it in
    ``boa`` (a full tile never holds all bands); ``maps=False`` skips the output-resolution AOT/WV maps
    (``aot``/``wv`` None), e.g. for the 2nd..nth single-band call of a 10 m run with ``prior``;
    ``maps="dn"`` gives them already encoded (uint16, ``encode.aot_dn``/``wvp_dn``), built strip by strip.
    ``inplace=True``: the caller gives up ``toa``; each band's float32 array is overwritten by its BOA (no
    second full-size array per band) and, with a ``sink``, removed from ``toa`` once sunk. ``keep_linear``: bands whose working-grid linear coefficients
    (flat scenes with adjacency) go into ``work["linear"]``, so that a finer run with this result as
    ``prior`` applies them directly (Sen2Cor's 10 m run re-uses the 20 m atmosphere) instead of
    re-deriving the same working-grid atmosphere and environment from block means of its pixels.
    ``roles`` / ``wavelength_um``: the sensor description's (default Sentinel-2 MSI): the water-vapour pair,
    the DDV bands, the cirrus band (no BOA output) and the spectral position of each band.
    """
    opt = options or AcOptions()
    wl_um = WAVELENGTH_UM if wavelength_um is None else wavelength_um
    bands = [b for b in toa if b != roles.cirrus]
    shape = _shape_of(toa)
    scl = np.full(shape, SCL_ASSUMED, np.uint8) if scl is None else np.asarray(scl)
    valid = ~np.asarray(nodata, bool) & (scl != SCL_NO_DATA)
    gipp = ac_settings(l2a_ac, ac_gipp)
    cutoff = gipp.topo_corr_cutoff
    reused = _apply_prior_linear(toa, bands, valid, prior, resolution_m, opt, cutoff, sink, inplace, maps)
    if reused is not None:
        return reused
    model = model or AtmosphereModel(sensor, aerosol, season, ozone_du)

    # ---------------------------------------------------------------- working grid and cells
    k = max(1, int(round(opt.work_res_m / resolution_m)))
    wres = k * resolution_m
    names_all = list(toa)
    # the working grid of the bands the retrieval reads now (all of them when the cirrus correction changes
    # every band there); the others' when their turn comes in the inversion: the same values, and a Landsat
    # scene holds three 26 MB fields less through the retrieval
    early = {bands[0]} | {getattr(roles, r, None) for r in RETRIEVAL_ROLES}
    if gipp.cirrus_correction:
        early |= set(names_all)
    toa_w = {b: _band_block_mean(toa, b, k, valid).astype(F32) for b in names_all if b in early}
    if inplace and roles.cirrus in toa:          # the cirrus band is used on the working grid only
        del toa[roles.cirrus]
    wshape = toa_w[bands[0]].shape
    valid_w = np.isfinite(toa_w[bands[0]])

    def on_work_grid(mean_w: np.ndarray) -> np.ndarray:
        """A band's working-grid mean, 0 where the grid has no valid pixel."""
        return np.where(valid_w, mean_w, 0.0).astype(F32)
    toa_w = {b: on_work_grid(v) for b, v in toa_w.items()}

    def work_toa(b: str) -> np.ndarray:
        """Band b on the working grid (0 where no valid pixel), made now if the retrieval did not need it."""
        v = toa_w.pop(b, None)
        return v if v is not None else on_work_grid(_band_block_mean(toa, b, k, valid).astype(F32))
    scl_w = np.where(valid_w, grids.sample_centres(scl, k, wshape), 0)
    alt = gipp.altitude_km
    z_arr = np.ndim(elevation_km) > 0
    # a grids.NearestRows elevation (the 10 m run's) is read by row blocks, never made whole
    z_o = (elevation_km if hasattr(elevation_km, "rows") else np.asarray(elevation_km, F32)) if z_arr else None
    z_w = grids.fill_mean(block_mean_rows(lambda r0, r1: grids.field_rows(z_o, r0, r1), shape, k, valid), alt
                          ).astype(F32) if z_arr else np.full(wshape, float(elevation_km), F32)
    relief = bool(z_arr and float(np.ptp(z_w[valid_w])) > RELIEF_MIN_PTP_KM) if valid_w.any() else False
    cw = max(1, int(round(opt.cell_m / wres)))
    z_c = grids.fill_mean(block_mean(z_w, cw, valid_w), alt)
    cshape = z_c.shape
    yc = (np.arange(cshape[0]) + 0.5) * cw * wres
    xc = (np.arange(cshape[1]) + 0.5) * cw * wres
    yy, xx = np.meshgrid(np.minimum(yc, wshape[0] * wres), np.minimum(xc, wshape[1] * wres), indexing="ij")
    sza_c, saa_c = geometry.at("sza", yy, xx), geometry.at("saa", yy, xx)
    vza_c = {b: geometry.at("vza", yy, xx, b) for b in names_all}
    raa_c = {b: relative_azimuth(saa_c, geometry.at("vaa", yy, xx, b)) for b in names_all}
    up_w, up_o = Upsampler(cshape, cw, wshape), Upsampler(cshape, cw * k, shape)
    sza_w = up_w.full(sza_c)

    def grid(bs, aot_c, wv_c, wv_var):
        return TermGrid(model, bs, aot_c, wv_c, z_c, sza_c, vza_c, raa_c, relief, wv_var)

    def cells(a_w, default):
        return grids.fill_mean(block_mean(a_w, cw, valid_w), default)

    dem_on = gipp.dem_terrain_correction and dem_fields is not None and not _terrain_is_flat(dem_fields, gipp)
    own_env = dem_on and opt.env_illumination == "own"
    # the retrieval inverts with the rugged-terrain equation too (Sen2Cor's DDV and negative-reflectance checks
    # do): each working-grid pixel's direct and diffuse irradiance follow its mean illumination, so a shaded
    # slope is not read as a surface darker than the DDV rule or the cut-offs allow (with a ``prior`` there
    # is no retrieval: not needed)
    ter_w = terrain_on_work_grid(dem_fields, sza_c, saa_c, up_o, valid, k, opt) if dem_on and prior is None \
        else None

    # ---------------------------------------------------------------- WV, cirrus, AOT, WV
    start_vis = gipp.visibility_km
    from .atmos import koschmieder_aot
    a_start = float(koschmieder_aot(start_vis, float(np.mean(z_c))))
    wv_start = gipp.wv_iter_start_cm(season)
    land = valid_w & np.isin(scl_w, WV_LAND_CLASSES)
    # APDA's own retrieval is kept on thin cirrus too (a deviation: Sen2Cor's WV_Watermask replaces every
    # class but 4/5/11 by the land mean). Thin cirrus shows the surface (the correction treats it as surface)
    # and adds a nearly flat signal to B8A and B09, so the ratio still measures the column; the tile mean
    # would erase the WV gradient under every cirrus veil (measured: a 1.12 cm zone, 21 % thin cirrus,
    # 1.26 with the mean)
    wv_land = land | (valid_w & (scl_w == SCL_THIN_CIRRUS))
    clear_w = valid_w & np.isin(scl_w, CLEAR_CLASSES)
    # pixels whose own (first-inversion) reflectance enters the environment: every surface pixel, thin cirrus
    # (10) included (it is corrected as the surface it shows); only opaque clouds may be replaced
    env_w = None if opt.env_clouds == "measured" else valid_w & np.isin(scl_w, ENV_CLASSES)
    cloud_frac = 1.0 - float(clear_w.sum()) / max(int((valid_w & (scl_w != SCL_SATURATED)).sum()), 1)
    adj_km = gipp.adj_km
    use_adj = (opt.adjacency if opt.adjacency is not None else True) and adj_km > 0 \
        and cloud_frac <= ADJ_MAX_CLOUD_FRACTION and gipp.rho_retrieval_step2
    adj_px = adjacency.box_size(adj_km, wres) if use_adj else 0

    def f_ray_w(b, aot_c, wv_c):
        """Rayleigh share of the diffuse upward transmittance on the working grid: the AOT-0 (pure Rayleigh)
        diffuse transmittance over the total one (6S mixes its environment functions with this share)."""
        t = model.terms(b, aot_c, wv_c, z_c, sza_c, vza_c[b], raa_c[b])
        t0 = model.terms(b, np.zeros(cshape), wv_c, z_c, sza_c, vza_c[b], raa_c[b])
        return up_w.full(np.clip(t0.t_up_dif / np.maximum(t.t_up_dif, T_UP_DIF_MIN), 0.0, 1.0))

    def env_of(b, rho1, aot_c, wv_c):
        """Environment reflectance of a first (uniform) inversion on the working grid."""
        if opt.adjacency_kernel == "box":
            return adjacency.environment(rho1, valid_w, env_w, adj_px)
        if "conv" not in env_conv:              # kernel spectra and no-data weights: once per grid
            env_conv["conv"] = adjacency.EnvConvolver(valid_w, wres)
        return env_conv["conv"](rho1, env_w, f_ray_w(b, aot_c, wv_c))
    env_conv: dict = {}
    wv_mode = gipp.wv_correction
    info: dict[str, Any] = {}
    # wv_w is in the tables' WV unit (6S: the sea-level-referenced input column); the column above the
    # surface (WVP, CAMS tcwv, AC_Wv_Iter_Start, WV_Threshold_Cirrus) is wv_w * wv_frac_w
    wv_frac_w = column_fraction(model, z_w).astype(F32)

    def do_wv(aot_c, src):
        nodes = model.wv_axis
        memo = _Lru(2)        # the node loop asks each (band, node) once; a full tile cannot keep them all

        def t_at(b):
            def f(u):
                return memo.get((b, u), lambda: grid([b], aot_c, np.full(cshape, u), False).block(
                    b, up_w, 0, wshape[0], z_w, None))
            return f
        return retrieve_wv(src[roles.wv_reference], src[roles.wv_absorption], t_at(roles.wv_reference),
                           t_at(roles.wv_absorption), nodes, valid_w, wv_land, wres,
                           gipp.smooth_wv_map_m, gipp.wv_watermask,
                           wv_start / float(np.mean(wv_frac_w)))

    cams = cams or {}

    def as_w(v):
        return None if v is None else (grids.resample(np.asarray(v, F32), wshape) if np.ndim(v) else np.full(wshape, float(v), F32))

    if prior is not None:
        aot_w, wv_w = grids.resample(prior.work["aot"], wshape), grids.resample(prior.work["wv"], wshape)
        meta_prior = dict(prior.metadata)
        ddv_w = prior.work.get("ddv")
    else:
        meta_prior = None
        can_wv = (wv_mode > 0 and roles.has("wv_reference", "wv_absorption")
                  and roles.wv_absorption in toa_w and roles.wv_reference in toa_w)
        if can_wv:
            wv_w, info["wv"] = do_wv(np.full(cshape, a_start), toa_w)
            wv_method = "SEN2COR_APDA"
        elif cams.get("wv") is not None:
            wv_w, wv_method = (as_w(cams["wv"]) / wv_frac_w).astype(F32), "CAMS"
        else:
            wv_w, wv_method = (np.full(wshape, wv_start, F32) / wv_frac_w).astype(F32), "DEFAULT"
        if gipp.cirrus_correction and roles.cirrus in toa_w:
            toa_w, info["cirrus"] = cirrus.correct(toa_w, toa_w[roles.cirrus], wv_w * wv_frac_w, valid_w,
                                                   land & (scl_w != SCL_THIN_CIRRUS), wl_um,
                                                   gipp.wv_threshold_cirrus_cm, roles=roles)
        wv_c = cells(wv_w, wv_start)
        # working-grid terms (5 fields each): the retrieval asks each (band, AOT) two or three times in a row (its
        # environment, then its reflectance), so one entry makes exactly the terms eight did (Landsat scene: 31
        # of 47 asked)
        memo_a = _Lru(1)

        def terms_a(b, a):
            return memo_a.get((b, a), lambda: rugged_terms(grid([b], np.full(cshape, a), wv_c, True).block(
                b, up_w, 0, wshape[0], z_w, np.sqrt(wv_w), TERMS_WITH_SUN if ter_w else DERIVED_TERMS), ter_w,
                own_env))
        # environments (one working-grid field each, an FFT convolution to make): the DDV passes come back to the
        # red band's AOT nodes, the checks to the red/NIR/green nodes around the map's AOT; eight entries hold
        # the red nodes through the passes (Landsat scene: 20 made of 36 asked, 16 with no bound, 31 with six)
        memo_e = _Lru(ENV_MEMO_ENTRIES)

        def env_a(b, a):
            """Adjacency environment of band b at AOT a: the final step's model (``env_of`` a uniform
            inversion), so that the DDV AOT does not take the neighbours' light for path radiance."""
            def make():
                t = terms_a(b, a)
                if adjacency.band_skipped(wl_um.get(b, DEFAULT_WAVELENGTH_UM)):
                    return invert(toa_w[b], t, cutoff=None)
                # lit by its own irradiance, the environment is that of the apparent reflectance (as in the final
                # inversion below); lit by the pixel's, that of the terrain-corrected one
                rho1 = apparent_reflectance(toa_w[b], t) if "g_env" in t else invert(toa_w[b], t, cutoff=None)
                return env_of(b, rho1, np.full(cshape, a), wv_c)
            return memo_e.get((b, a), make)
        if all(b is not None and b in toa_w for b in (roles.red, roles.nir, roles.swir2)):
            res = retrieve_aot(toa_w, scl_w, valid_w, sza_w, z_w, wres, terms_a, model.aot_axis,
                               ddv_params(gipp), start_vis, gipp.vis_update_mode,
                               as_w(cams.get("aot550")), env=env_a if use_adj else None, roles=roles)
        elif cams.get("aot550") is not None and gipp.vis_update_mode > 0:
            # no DDV without B04/B8A/B12: CAMS before DEFAULT (Sen2Cor's order DDV -> CAMS -> DEFAULT)
            z_mean = float(np.mean(z_w[valid_w])) if valid_w.any() else float(np.mean(z_w))
            res = aot_from_cams(as_w(cams["aot550"]), valid_w, z_mean, terms_a, toa_w,
                                valid_w & np.isin(scl_w, CHECK_CLASSES), ddv_params(gipp), model.aot_axis, start_vis,
                                env=env_a if use_adj else None, roles=roles)
        else:
            res = None
        if res is not None:
            log.debug("AOT retrieval %s: DDV %.2f %% (B12 < %s), visibility DDV %.1f km, final %.1f km, %s",
                      res.method, res.ddv_pct, res.ddv_threshold, res.ddv_vis_km, res.final_vis_km, res.info)
        aot_w = res.aot if res is not None else np.where(valid_w, koschmieder_aot(start_vis, z_w), 0).astype(F32)
        aot_w = bounded_aot(aot_w, z_w, valid_w)
        ddv_w = res.ddv_mask if res is not None else None     # the DDV reference cells (MSK_DDVPXL output)
        if can_wv:
            wv_w, info["wv"] = do_wv(cells(aot_w, a_start), toa_w)
        memo_a.store.clear()                      # the retrieval's terms and environments: not used below
        memo_e.store.clear()
        release_free_memory()
    aot_c, wv_c = cells(aot_w, a_start), cells(wv_w, wv_start)
    wv_varies = bool(valid_w.any() and float(np.ptp(wv_w[valid_w])) > WV_VARIES_MIN_PTP)

    # ---------------------------------------------------------------- inversion per band
    tg = grid(bands, aot_c, wv_c, wv_varies)
    up_px = Upsampler(wshape, k, shape)
    # terms near no data: the WV of the nearest valid cell, not the map's 0 (interpolated into valid pixels)
    wv_terms = grids.nearest_fill(wv_w, valid_w)
    wv_cols = up_px.lazy(wv_terms)    # pixel rows per block (as up_px.full, without a full-size array)
    sq_w = np.sqrt(np.maximum(wv_terms, 0)).astype(F32)
    ter_n = None
    if dem_on:
        ter_n = 2 * max(int(round(gipp.rng_nbhd_terrain_corr_km * M_PER_KM / wres)), TERRAIN_NBHD_MIN_HALF_PX) + 1
    brdf_code = gipp.brdf_correction if dem_on else 0
    boa: dict[str, np.ndarray] = {}
    neg: dict[str, float] = {}
    linear_w: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    n_valid = int(np.count_nonzero(valid))
    names = ("path", "g_dir", "g_dif", "s_alb", "q") + (("t_sun",) if dem_on else ())
    illum = _BlockIllumination(dem_fields, sza_c, saa_c, up_o, opt, keep=len(bands) > 1,
                               with_cos_i=bool(brdf_code)) if dem_on else None
    toa_w.pop(roles.cirrus, None)                   # the retrieval's only (the cirrus band has no BOA)
    for b in bands:
        t_w = tg.block(b, up_w, 0, wshape[0], z_w, sq_w if wv_varies else None)
        release_free_memory()                     # the previous band's temporaries
        rho1 = invert(work_toa(b), t_w, cutoff=cutoff)        # the band's last use of its working grid
        env_o = ter_o = None
        env_w_b = None
        if use_adj and not adjacency.band_skipped(wl_um.get(b, DEFAULT_WAVELENGTH_UM)):
            env_w_b = env_of(b, rho1, aot_c, wv_c)
            env_o = up_px.lazy(env_w_b)
        if dem_on and opt.terrain_reflected:
            ter_o = up_px.lazy(adjacency.environment(rho1, valid_w, None, ter_n))
        target = _BandTarget(b, toa, shape, valid, sink, inplace)
        n_neg = 0
        rows = range(0, shape[0], opt.block_rows)
        if env_o is not None and opt.linear_inversion and not dem_on and not relief:
            # no pixel-scale input but the TOA itself: with a known environment the inversion is linear in
            # the TOA (surface.linear_coefficients), so two working-grid fields replace the per-pixel terms
            coef = linear_coefficients(t_w, env_w_b)
            if b in keep_linear:
                linear_w[b] = coef
            n_neg = grids.linear_band(target.toa_rows, shape[0], coef, up_px, valid, cutoff, target.emit,
                                      opt.block_rows)
            rows = ()
        for r0 in rows:
            r1 = min(shape[0], r0 + opt.block_rows)
            t = tg.block(b, up_o, r0, r1, grids.field_rows(z_o, r0, r1) if relief else None,
                         np.sqrt(up_px.rows(wv_cols, r0, r1)) if wv_varies else None, names)
            f_dir = f_dif = sky = rho_ter = cos_i = None
            if own_env and env_o is not None:
                # the environment lit as flat sunlit ground: rho1 (its working-grid source) is a flat first
                # inversion, i.e. each neighbour's reflectance times its relative irradiance (surface docstring)
                t["g_env"] = t["g_dir"] + t["g_dif"]
            if dem_on:
                f_dir, lit, cos_i, sky = illum.block(r0, r1)
                f_dif = terrain.diffuse_factor(f_dir, lit, sky, t["t_sun"], opt.diffuse)
                rho_ter = None if ter_o is None else up_px.rows(ter_o, r0, r1)
            rho = invert(target.toa_rows(r0, r1), t, f_dir, f_dif, sky, rho_ter,
                         None if env_o is None else up_px.rows(env_o, r0, r1), cutoff)
            if brdf_code:
                g = terrain.brdf_factor(cos_i, float(np.mean(sza_c)), brdf_code, gipp.brdf_lower_bound,
                                        wl_um.get(b, DEFAULT_WAVELENGTH_UM), veg_index_th=gipp.vegetation_index_th)
                rho *= g
            n_neg += int(np.count_nonzero((rho < 0) & valid[r0:r1]))
            target.emit(r0, r1, rho)
        neg[b] = 100.0 * n_neg / n_valid if n_valid else 0.0
        target.finish(boa)
        del target
        if illum is not None:
            illum.finish()
    del illum

    # ---------------------------------------------------------------- metadata
    wv_col_w = (wv_w * wv_frac_w).astype(F32)          # WVP: the column above the surface
    aot_o = wv_o = None
    # the output maps interpolate the working grid: its no-data cells take their nearest valid value first, so
    # pixels next to a no-data border are not pulled towards 0 (the AOT/WVP no-data DN)
    aot_map_w, wv_map_w = (grids.nearest_fill(m, valid_w) for m in (aot_w, wv_col_w)) if maps else (None, None)
    if maps == "dn":                    # encoded strip by strip: no float32 full-size maps (10 m tiles)
        from .encode import AOT_QUANTIFICATION, WVP_QUANTIFICATION
        aot_o = grids.encoded_map(aot_map_w, up_px, valid, scl, AOT_QUANTIFICATION, opt.block_rows)
        wv_o = grids.encoded_map(wv_map_w, up_px, valid, scl, WVP_QUANTIFICATION, opt.block_rows)
    elif maps:
        aot_o = np.where(valid, up_px.full(aot_map_w), 0.0).astype(F32)
        wv_o = np.where(valid, up_px.full(wv_map_w), 0.0).astype(F32)
    if meta_prior is not None:
        meta = meta_prior
    else:
        mean_aot = float(np.mean(aot_w[valid_w])) if valid_w.any() else 0.0
        # Sen2Cor 3 L2A_Quality: the mean of the WVP image as written, over WVP > 0 (x 0.001 cm)
        mean_wv = (_written_mean_wv(wv_o, maps, valid, scl, opt.block_rows) if wv_o is not None
                   else float(np.mean(wv_col_w[valid_w])) if valid_w.any() else 0.0)
        from .atmos import visibility_from_aot
        # inside Sen2Cor's 5-120 km table range, as the AOT map is (bounded_aot)
        final_vis = float(np.clip(res.final_vis_km if res is not None else start_vis, VISIBILITY_MIN_KM,
                                  VISIBILITY_MAX_KM))
        meta = {"AC_ENABLED": True, "AOT_RETRIEVAL_METHOD": res.method if res is not None else "DEFAULT",
                "GRANULE_MEAN_AOT": round(mean_aot, 6), "GRANULE_MEAN_WV": round(mean_wv, 6),
                "WV_RETRIEVAL_METHOD": wv_method, "START_VISIBILITY_KM": start_vis,
                "VISIBILITY_FROM_DDV_KM": round(res.ddv_vis_km, 3) if res is not None else 0.0,
                "FINAL_VISIBILITY_KM": round(float(final_vis), 3),
                "DDV_PIXEL_PERCENTAGE": round(res.ddv_pct, 4) if res is not None else 0.0,
                "DDV_SWIR_THRESHOLD": res.ddv_threshold if res is not None else 0.0,
                "AVERAGE_SOLAR_ZENITH_ANGLE": round(float(np.mean(sza_c)), 4),
                "BLUE_PATH_RADIANCE_RESCALING_FACTOR": BLUE_PATH_RADIANCE_RESCALING,
                "VISIBILITY_LESS_THAN_5_KM": bool(visibility_from_aot(mean_aot, float(np.mean(z_c)))
                                                  < QI_LOW_VISIBILITY_KM),
                "AOT_ABOVE_1": bool(mean_aot > QI_HIGH_AOT), "GRANULE_WV_ABOVE_5_CM": bool(mean_wv > QI_HIGH_WV_CM),
                "AEROSOL_TYPE": model.aerosol.upper(), "MID_LATITUDE": model.season.upper(),
                "OZONE_VALUE": model.ozone_du, "TERRAIN_CORRECTION": dem_on, "ADJACENCY_CORRECTION": use_adj,
                "CIRRUS": info.get("cirrus"), "WV_INFO": info.get("wv")}
    meta = dict(meta)
    meta["NEGATIVE_BOA_PERCENTAGE"] = neg
    return AcResult(boa, aot_o, wv_o, ~valid, meta, {"aot": aot_w, "wv": wv_w, "res_m": wres, "linear": linear_w,
                                                     "ddv": ddv_w})


def _band_block_mean(toa, band: str, k: int, valid: np.ndarray) -> np.ndarray:
    """``block_mean(toa[band], k, valid)``; a DN-backed band (:class:`~sen2cor3.readers.toa_store.ToaBands`) is
    converted strip by strip as the mean reads it, not whole (each 10 m band call of the DEM path made a
    float32 copy of its band here: 0.5 GB on a full tile, at the run's memory peak)."""
    if not isinstance(toa, ToaBands):
        return block_mean(toa[band], k, valid)
    return block_mean_rows(lambda r0, r1: band_rows(toa, band, r0, r1), _shape_of(toa), k, valid)


def _shape_of(toa) -> tuple[int, int]:
    """Grid shape of a {band: array} dict or a :class:`~sen2cor3.readers.toa_store.ToaBands` (without a read)."""
    return toa.shape if hasattr(toa, "shape") else next(iter(toa.values())).shape


def _band_output(t: np.ndarray, shape: tuple[int, int], inplace: bool) -> np.ndarray:
    """Where a band's BOA goes: its own TOA array ``t`` when the caller gives it up (each block's TOA rows are
    read before they are overwritten), else a new float32 array."""
    return t if inplace and t.dtype == F32 and t.flags.c_contiguous else np.empty(shape, F32)


class _BandTarget:
    """Where one band's BOA goes, block by block. A sink with ``rows``/``finish`` (the writer's encoders,
    ``atmcorr._BandSink``) takes each block as it is inverted, the TOA rows converted per block: no full-size
    float32 band exists (TOA or BOA: 240 MB on a Landsat scene, 480 MB at 10 m). Otherwise the blocks fill a
    float32 band (the TOA array itself with ``inplace``) that is kept in ``boa`` or handed whole to ``sink``."""

    def __init__(self, band: str, toa, shape: tuple[int, int], valid: np.ndarray, sink, inplace: bool) -> None:
        self.band, self.toa, self.valid, self.sink, self.inplace = band, toa, valid, sink, inplace
        self.stream = sink is not None and hasattr(sink, "rows") and hasattr(sink, "finish")
        self.src = None if self.stream else toa[band]        # read once (a DN-backed band converts on each read)
        self.out = None if self.stream else _band_output(self.src, shape, inplace)

    def toa_rows(self, r0: int, r1: int) -> np.ndarray:
        if self.src is not None:
            return self.src[r0:r1]
        return band_rows(self.toa, self.band, r0, r1)        # a DN-backed store converts just these rows

    def emit(self, r0: int, r1: int, rho: np.ndarray) -> None:
        """The block's reflectance (NaN where not valid)."""
        if self.stream:
            np.copyto(rho, np.float32(np.nan), where=~self.valid[r0:r1])
            self.sink.rows(self.band, r0, r1, rho)
        else:
            grids.store_rows(self.out, rho, self.valid, r0, r1)

    def finish(self, boa: dict) -> None:
        if self.stream:
            self.sink.finish(self.band)
            if self.inplace:
                del self.toa[self.band]
        else:
            _deliver(self.band, self.out, boa, self.sink, self.toa, self.inplace)
        self.src = self.out = None


def _deliver(b: str, out: np.ndarray, boa: dict, sink, toa: dict, inplace: bool) -> None:
    """Keep band b's BOA in ``boa``, or hand it to ``sink`` (the caller encodes/writes it now, full tiles) and,
    in place, drop the TOA entry that held it: memory falls band by band."""
    if sink is None:
        boa[b] = out
        return
    sink(b, out)
    if inplace:
        del toa[b]


def _written_mean_wv(wv_o: np.ndarray, maps: Any, valid: np.ndarray, scl: Any, rows: int) -> float:
    """GRANULE_MEAN_WV as Sen2Cor 3's L2A_Quality computes it: ``wvp[wvp > 0].mean() * 0.001`` of the WVP image
    (``wv_o``: already uint16 DN when ``maps == "dn"``, else cm, encoded here as the writer does), by row strips."""
    from .encode import WVP_QUANTIFICATION, scaled_u16
    total, count = 0.0, 0
    for r0 in range(0, wv_o.shape[0], rows):
        r1 = min(wv_o.shape[0], r0 + rows)
        dn = wv_o[r0:r1] if maps == "dn" else scaled_u16(wv_o[r0:r1], WVP_QUANTIFICATION, ~valid[r0:r1],
                                                          None if scl is None else scl[r0:r1])
        pos = dn > 0
        total += float(dn[pos].sum(dtype=np.float64))
        count += int(pos.sum())
    return total / count / WVP_QUANTIFICATION if count else 0.0


def _apply_prior_linear(toa, bands, valid, prior, resolution_m, opt, cutoff, sink, inplace, maps):
    """The AcResult of ``correct_resolution`` when ``prior`` holds the working-grid linear coefficients of
    every band (``keep_linear``) on this grid's working grid; None when it cannot be used."""
    linear = (prior.work.get("linear") or {}) if prior is not None else {}
    if maps or not bands or any(b not in linear for b in bands):
        return None
    k = max(1, int(round(opt.work_res_m / resolution_m)))
    shape = _shape_of(toa)
    wshape = (-(-shape[0] // k), -(-shape[1] // k))
    if any(linear[b][0].shape != wshape for b in bands):
        return None
    up_px = Upsampler(wshape, k, shape)
    boa, neg = {}, {}
    n_valid = int(np.count_nonzero(valid))
    for b in bands:
        target = _BandTarget(b, toa, shape, valid, sink, inplace)
        n_neg = grids.linear_band(target.toa_rows, shape[0], linear[b], up_px, valid, cutoff, target.emit,
                                  opt.block_rows)
        neg[b] = 100.0 * n_neg / n_valid if n_valid else 0.0
        target.finish(boa)
        del target
    meta = dict(prior.metadata)
    meta["NEGATIVE_BOA_PERCENTAGE"] = neg
    return AcResult(boa, None, None, ~valid, meta, prior.work)


def stats_vs_truth(boa: dict[str, np.ndarray], truth: dict[str, np.ndarray], mask: np.ndarray,
                   skip: tuple[str, ...] | None = None) -> dict[str, dict[str, float]]:
    """Per band mean difference and RMSE of BOA minus true surface reflectance over ``mask`` (issue 6 check);
    ``skip`` defaults to the MSI coastal, water-vapour and cirrus bands (not bounded)."""
    if skip is None:
        skip = tuple(MSI_ROLES.band(r) for r in ("coastal", "wv_absorption", "cirrus"))
    out = {}
    for b, v in boa.items():
        if b in skip or b not in truth:
            continue
        m = mask & np.isfinite(v)
        d = (v[m].astype(np.float64) - truth[b][m])
        out[b] = {"mean": float(d.mean()) if d.size else math.nan,
                  "rmse": float(np.sqrt(np.mean(d * d))) if d.size else math.nan, "n": int(d.size)}
    return out


__all__ = ["AcOptions", "AcResult", "AcSettings", "Geometry", "ac_settings", "choose_luts", "correct_resolution",
           "ddv_params", "stats_vs_truth", "terrain_fields"]
