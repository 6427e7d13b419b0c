"""Terrain: local illumination, sky view, cast shadows and the empirical BRDF damping (Sen2Cor 5.2/5.5/5.7).

Sloped ground receives the direct beam with cos(i) instead of cos(sza), sees only the sky-view fraction
V = (1 + cos slope) / 2 of the diffuse sky, and gets light reflected by the opposite terrain. Sen2Cor's
diffuse model is Hay's: the circumsolar part b * Tsun follows the direct beam (cos i / cos sza), the rest is
isotropic (x V); ``diffuse="isotropic"`` drops the circumsolar part (then F_dif = V).

Slope and aspect are in radians here (aspect: downslope azimuth clockwise from grid north, 0 when flat); they
come from the processor's one Horn implementation, ``sen2cor3.sc.terrain.slope_aspect(..., degrees=False)``
(see ``ac.correct.terrain_fields``), which the scene classification and the DEM reader use too.
"""
from __future__ import annotations

import math

import numpy as np

from .settings import DEFAULTS

F32 = np.float32
COS_I_MIN = 26.0 / 255.0      # Sen2Cor clamps cos(beta) at 26/255 outside shadow (beta <= 84.1 deg)
# Empirical BRDF damping (Sen2Cor section 5.7, from ATCOR): threshold angle beta_T = sza + step (deg)
# for sza below each bound (deg), else + the last step, at most 70 deg; exponent b of G = (cos beta /
# cos beta_T)^b per code (1, 11, 12: 1; 2, 21, 22: 1/2), for vegetation (rho_NIR > 0.1, NIR/red >
# AC_Vegetation_Index_Th) 3/4 below 720 nm and 1/3 (codes x1) or 1 (x2) above.
BRDF_BETA_T_STEPS_DEG = ((35, 25), (45, 20), (50, 15), (60, 10))
BRDF_BETA_T_LAST_STEP_DEG = 5
BRDF_BETA_T_MAX_DEG = 70.0
BRDF_CODES_B1 = (1, 11, 12)                   # codes with b = 1 (the others: 1/2)
BRDF_CODES_VEGETATION = (11, 12, 21, 22)      # codes with the vegetation exponents
BRDF_B1, BRDF_B2 = 1.0, 0.5
BRDF_B_VEG_VIS = 0.75
BRDF_B_VEG_NIR_X1, BRDF_B_VEG_NIR_X2 = 1.0 / 3.0, 1.0
BRDF_VIS_NIR_SPLIT_UM = 0.72
BRDF_VEG_NIR_MIN = 0.1
#: Numerical floors of the damping: red reflectance in the NIR/red ratio, cos-ratio before the power (ours).
BRDF_RED_MIN, BRDF_RATIO_MIN = 1e-4, 1e-6


def cos_illumination(slope: np.ndarray, aspect: np.ndarray, sza_deg, saa_deg) -> np.ndarray:
    """cos(i) = cos s cos sza + sin s sin sza cos(saa - aspect), slope/aspect in radians: the scene
    classification's ``cos_incidence`` (one implementation)."""
    from sen2cor3.sc.terrain import cos_incidence
    return cos_incidence(slope, aspect, sza_deg, saa_deg, degrees=False)


def sky_view(slope: np.ndarray) -> np.ndarray:
    """Isotropic sky-view factor of a tilted plane (Sen2Cor's V)."""
    return ((1.0 + np.cos(slope)) / 2.0).astype(F32)


def cast_shadow(dem_m: np.ndarray, res_m: float, sza_deg: float, saa_deg: float) -> np.ndarray:
    """True where terrain towards the sun rises above the sun ray: the scene classification's horizon test
    (one implementation for SC class 2 and the AC's shadowed direct irradiance)."""
    from sen2cor3.sc.terrain import cast_shadows
    return cast_shadows(np.asarray(dem_m), sza_deg, saa_deg, res_m)


#: Window of the median filter Sen2Cor runs over its cast-shadow map (L2A_Tables.gdalDEM_Shade_Cast: "to remove
#: some horizontal stripes"), before it merges the map into the SDW file the correction reads.
CAST_SHADOW_MEDIAN = 3


def sdw_cast_shadow(dem_m: np.ndarray, res_m: float, sza_deg: float, saa_deg: float) -> np.ndarray:
    """The cast shadows of the correction as Sen2Cor 3's SDW file holds them: the horizon test
    (``cast_shadow``) median-filtered 3 x 3 on its grid (L2A_Tables.gdalDEM_Shade_Cast)."""
    from sen2cor3.sc.masks import median_bool
    return median_bool(cast_shadow(dem_m, res_m, sza_deg, saa_deg), CAST_SHADOW_MEDIAN)


def refined_cast_shadow(coarse: np.ndarray, factor: int, shape: tuple[int, int]) -> np.ndarray:
    """The cast shadows of a finer grid from those of the coarse one, as Sen2Cor 3 makes them for a 10 m run.

    L2A_Tables.gdalDEM_Shade_Cast casts the shadows at 20 m when it processes at 10 m (the 10 m DEM resized to
    20 m), median-filters them there, resizes them to 10 m by nearest neighbour and median-filters again: so
    ``coarse`` is the coarse grid's ``sdw_cast_shadow``, repeated ``factor`` times and filtered once more. No
    shadow is cast on the fine grid (whose heights, here, are the coarse ones repeated anyway)."""
    from sen2cor3.sc.masks import median_bool, upsample_nearest
    fine = upsample_nearest(np.asarray(coarse, bool), factor)[: shape[0], : shape[1]]
    if fine.shape != tuple(shape):
        raise ValueError(f"cast shadows {np.shape(coarse)} x {factor} do not cover the {shape} grid")
    return median_bool(fine, CAST_SHADOW_MEDIAN)


def peak_to_peak_m(dem_m: np.ndarray) -> float:
    """Height range of a DEM (NaN: no data), as ``is_flat`` compares it."""
    d = np.asarray(dem_m)
    return float(np.nanmax(d) - np.nanmin(d))


def is_flat(dem_m: np.ndarray | None, slope: np.ndarray, p2p_m: float = DEFAULTS.dem_p2p_val_m,
            slope_th_deg: float = DEFAULTS.slope_th_deg, frac_th: float = DEFAULTS.topo_corr_th,
            p2p_dem_m: float | None = None) -> bool:
    """Sen2Cor's switch to flat terrain: peak-to-peak < AC_Dem_P2p_Val and < AC_Topo_Corr_Th steep pixels.
    ``p2p_dem_m``: ``peak_to_peak_m(dem_m)`` when already known (then ``dem_m`` is not read)."""
    p2p = peak_to_peak_m(dem_m) if p2p_dem_m is None else float(p2p_dem_m)
    steep = float(np.mean(slope > math.radians(slope_th_deg))) if slope.size else 0.0
    return p2p < p2p_m and steep < frac_th


def illumination_factors(cos_i: np.ndarray, sza_deg, sky: np.ndarray, shadow: np.ndarray | None = None,
                         t_sun: np.ndarray | float | None = None, diffuse: str = "hay"
                         ) -> tuple[np.ndarray, np.ndarray]:
    """(F_dir, F_dif): multipliers of the flat direct / diffuse irradiance.

    F_dir = cos i / cos sza (0 in self or cast shadow; cos i >= 26/255 elsewhere, as Sen2Cor).
    Hay: F_dif = b Tsun cos i / cos sza + (1 - b Tsun) V, b = 0 in shadow, Tsun = direct downward
    transmittance (the anisotropy index). Isotropic: F_dif = V.
    """
    f_dir, lit = direct_factor(cos_i, sza_deg, shadow)
    return f_dir, diffuse_factor(f_dir, lit, sky, t_sun, diffuse)


def direct_factor(cos_i: np.ndarray, sza_deg, shadow: np.ndarray | None = None, shadow_floor: bool = False
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(F_dir, lit) of ``illumination_factors``: the part that does not depend on the band.

    ``shadow_floor``: Sen2Cor 3's reflectance steps. Its SDW file marks self and cast shadows with the value 1,
    which its correction reads as cos(beta) = 1/255 > 0: the floor then lifts them to 26/255 like any faint
    slope, and its b (0 only where cos(beta) <= 0, i.e. on background pixels) stays 1 (L2A_AtmCorr
    ``prepare_rho_retrieval``: ``ravel(b)[where(cbeta <= 0)] = 0`` before ``cbeta = maximum(cbeta, 26)``;
    L2A_Tables ``gdalDEM_Shade_Cast``: ``cbeta_sdw[sdw == T_Shadow] = 1``). Every pixel is then "lit" for the
    diffuse split. Without it (the AOT retrieval's cell means), F_dir = 0 in shadow."""
    mu0 = np.cos(np.radians(sza_deg)).astype(F32) if np.ndim(sza_deg) else F32(math.cos(math.radians(sza_deg)))
    lit = cos_i > 0
    if shadow is not None:
        lit = lit & ~shadow
    if shadow_floor:
        ci = np.where(lit, np.maximum(cos_i, COS_I_MIN), COS_I_MIN).astype(F32)
        return ci / mu0, np.ones(np.shape(ci), bool)
    ci = np.where(lit, np.maximum(cos_i, COS_I_MIN), 0.0).astype(F32)
    return ci / mu0, lit


def diffuse_factor(f_dir: np.ndarray, lit: np.ndarray, sky: np.ndarray,
                   t_sun: np.ndarray | float | None = None, diffuse: str = "hay") -> np.ndarray:
    """F_dif of ``illumination_factors`` from its ``direct_factor`` (F_dir, lit) and the sky view."""
    if diffuse == "isotropic" or t_sun is None:
        return np.asarray(sky, F32)
    bt = np.where(lit, t_sun, 0.0).astype(F32)
    return (bt * f_dir + (1.0 - bt) * sky).astype(F32)


def brdf_factor(cos_i: np.ndarray, sza_deg: float, code: int, lower_bound: float, wavelength_um: float,
                rho_nir: np.ndarray | None = None, rho_red: np.ndarray | None = None,
                veg_index_th: float = DEFAULTS.vegetation_index_th) -> np.ndarray | None:
    """Sen2Cor's empirical damping G of faintly lit slopes (rho *= G), None when off (code 0).

    beta_T = sza + 25/20/15/10/5 deg (sza < 35/45/50/60/else), at most 70 deg; where the illumination angle
    beta > beta_T: G = (cos beta / cos beta_T)^b, b = 1 (codes 1, 1x) or 1/2 (2, 2x); codes 11/12/21/22 use
    b = 3/4 for vegetation below 720 nm and b = 1/3 (x1) or 1 (x2) in the NIR (vegetation: rho_NIR > 0.1,
    NIR/red > AC_Vegetation_Index_Th). G is bounded by [BRDF_Lower_Bound, 1].
    """
    if not code:
        return None
    s = float(sza_deg)
    add = next((step for below, step in BRDF_BETA_T_STEPS_DEG if s < below), BRDF_BETA_T_LAST_STEP_DEG)
    beta_t = min(s + add, BRDF_BETA_T_MAX_DEG)
    ratio = np.asarray(cos_i, np.float64) / math.cos(math.radians(beta_t))
    base_b = BRDF_B1 if code in BRDF_CODES_B1 else BRDF_B2
    b = np.full(np.shape(cos_i), base_b)
    if code in BRDF_CODES_VEGETATION and rho_nir is not None and rho_red is not None:
        veg = (rho_nir > BRDF_VEG_NIR_MIN) & (rho_nir > veg_index_th * np.maximum(rho_red, BRDF_RED_MIN))
        if wavelength_um < BRDF_VIS_NIR_SPLIT_UM:
            b = np.where(veg, BRDF_B_VEG_VIS, b)
        elif wavelength_um > BRDF_VIS_NIR_SPLIT_UM:
            b = np.where(veg, BRDF_B_VEG_NIR_X1 if code % 10 == 1 else BRDF_B_VEG_NIR_X2, b)
    g = np.where(ratio < 1.0, np.power(np.clip(ratio, BRDF_RATIO_MIN, 1.0), b), 1.0)
    return np.clip(g, lower_bound, 1.0).astype(F32)
