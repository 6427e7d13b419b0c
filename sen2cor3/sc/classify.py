"""Sen2Cor scene classification: public entry point and the shared first half of the chain.

``classify(..., classic=True)`` is the Sen2Cor 2.8/2.9 chain as kept in Sen2Cor 3
(``L2A_SceneClass``); ``classic=False`` is the Sen2Cor 3 default chain
(``L2A_SceneClass_evolution``), see :mod:`sen2cor3.sc.v3`.  Both start with the same spectral
tests (steps 1 to 6); they differ from the cloud-class step on.
"""
from __future__ import annotations

import math
from collections.abc import MutableMapping
from typing import Any

import numpy as np

from sen2cor3.readers.toa_store import ToaBands, band_rows
from sen2cor3.sensors import MSI_ROLES, Roles
from sen2cor3.sensors.model import ROLE_NAMES
from sen2cor3.strips import row_strips, run_strips

from . import cirrus_ground, masks, recover, shadows, terrain
from . import spectral_tests as T
from .qi import scl_percentages  # noqa: F401  (re-export)
from .common import (B10_CIRRUS, STRIP_ROWS, SceneClassification, cloud_classes, finish as _finish,  # noqa: F401
                     per_pixel_strips, to_percent)
from .recover import NOT_CLASSIFIED, NOT_SNOW, State

F32 = np.float32
# ESA CCI snow condition codes and rule (hard-coded in Sen2Cor): 254 = water, 0 = never snow,
# 255 = no data; the water rule applies when the mean non-water snow occurrence is below 10.
SNC_WATER, SNC_NO_SNOW, SNC_NODATA = 254, 0, 255
SNC_RARE_SNOW_MEAN = 10.0
# Classic DEM clean-ups on Sen2Cor's 0..255 shadow map and slope (hard-coded in Sen2Cor).
DEM_WATER_SHADOW_MAX, DEM_WATER_SLOPE_MIN = 128, 15.0
DEM_CLOUD_SHADOW_MAX = 32

#: Roles the chain cannot run without. The red edge (snow exclusion: red instead, Hollstein branch: skipped), the
#: cirrus band (cirrus classes and recoveries) and the water-vapour band (B10/B09 land recovery, cirrus ground
#: guard) are optional: a sensor without them (Landsat OLI has no red edge and no 945 nm band) skips or adapts
#: those steps as Sen2Cor 3 does for its Landsat input.
REQUIRED_ROLES = ("blue", "green", "red", "nir", "swir1", "swir2")



def _scalar(angle: float | np.ndarray) -> float:
    """Sen2Cor works with one tile-mean sun angle for the shadow geometry."""
    a = np.asarray(angle, dtype=np.float64)
    return float(np.nanmean(a)) if a.ndim else float(a)


def classify(toa: dict[str, np.ndarray], nodata: np.ndarray, saturated: np.ndarray | None, *,
             sun_zenith_deg: float | np.ndarray, sun_azimuth_deg: float | np.ndarray,
             view_zenith_deg: float | np.ndarray, view_azimuth_deg: float | np.ndarray,
             resolution_m: float, thresholds: Any, classificators: Any, median_filter: int,
             classic: bool, dem: np.ndarray | None = None, esacci: dict | None = None,
             qlt_mask_handling: bool = False, could_have_snow: bool = True,
             shadow_view_parallax: bool = False, cirrus_ground_guard: bool = True,
             sensor: str | None = None, roles: Roles = MSI_ROLES,
             cirrus_native_m: float = 60.0, wv_column_gcm2: float | None = None,
             dem_slope_aspect_deg: tuple[np.ndarray, np.ndarray] | None = None) -> SceneClassification:
    """Classify one tile (or window) of TOA reflectance at 20 m or 60 m.

    ``nodata``: L1C no-data (the caller may OR it with :func:`masks.nodata_from_bands`; here
    any band == 0 is added as Sen2Cor does).  ``saturated``: L1C quality-mask defects, used
    only when ``qlt_mask_handling`` (GIPP ``Handle_L1C_QLT_Mask``).  ``could_have_snow``: the
    global snow climatology says snow is possible in the tile (else the snow branch is
    skipped).  ``esacci``: optional 'water_bodies', 'land_cover', 'snow_condition' maps on the
    same grid.  ``shadow_view_parallax`` adds the view parallax to the shadow projection
    (physically right, not what Sen2Cor does; off by default).  ``cirrus_ground_guard``: compare
    the B10 excess over the surface's own dry-air signal with the cirrus thresholds instead of the
    raw B10 (a deviation from Sen2Cor, on by default, see :mod:`sen2cor3.sc.cirrus_ground`;
    ``sensor`` picks the atmosphere tables it reads, default S2A; ``cirrus_native_m`` is the native pixel
    of the cirrus band, whose footprint the guard averages to). ``roles``: which band of ``toa`` plays each
    role (the sensor description's; default Sentinel-2 MSI). ``wv_column_gcm2``: the water column the
    correction will use, for the cirrus guard of sensors without a 945 nm band (Landsat).
    ``dem_slope_aspect_deg``: ``slope_aspect(dem, resolution_m)`` when the caller has it (the DEM reader's), not
    recomputed.
    """
    missing = [r for r in REQUIRED_ROLES if roles.band(r) not in toa]
    if missing:
        raise KeyError(f"scene classification needs bands {[roles.band(r) or r for r in missing]}")
    esacci = esacci or {}
    c, th = classificators, thresholds
    b = RoleBands(toa, roles)
    shape = b.shape
    sza, saa = _scalar(sun_zenith_deg), _scalar(sun_azimuth_deg)

    scl = np.full(shape, NOT_CLASSIFIED, dtype=np.uint8)
    if qlt_mask_handling and saturated is not None:
        scl[saturated] = c.saturated_defective
    scl[nodata | _zero_in_any_band(toa)] = c.no_data
    valid = (scl != c.no_data) & (scl != c.saturated_defective)
    st = State(scl, np.zeros(shape, F32), np.zeros(shape, F32), valid, c)
    if not valid.any():
        return _finish(st, median_filter, classic)

    topo = terrain.terrain_maps(dem, sza, saa, resolution_m, dem_slope_aspect_deg) if dem is not None else None
    _spectral_tests(st, b, th, esacci.get("snow_condition"), could_have_snow, classic)
    if cirrus_ground_guard and "cirrus" in b:
        airmass = 1.0 / math.cos(math.radians(sza)) + 1.0 / math.cos(math.radians(_scalar(view_zenith_deg)))
        _cirrus_signal(st, b, dem, sensor, resolution_m, cirrus_native_m, wv_column_gcm2, airmass,
                       (roles.wv_absorption or "B09", roles.cirrus))
    if classic:
        _classic_tail(st, b, th, topo, dem, esacci, sza, saa, resolution_m,
                      _scalar(view_zenith_deg), _scalar(view_azimuth_deg), shadow_view_parallax)
    else:
        from . import v3
        v3.tail(st, b, th, topo, dem, esacci, sza, saa, resolution_m,
                _scalar(view_zenith_deg), _scalar(view_azimuth_deg), shadow_view_parallax)
        return v3.finish(st, b, esacci, median_filter, resolution_m)
    return _finish(st, median_filter, classic)


class RoleBands(MutableMapping):
    """{role: float32 TOA} read from the band-keyed ``toa`` where a step asks for it (a DN-backed
    :class:`~sen2cor3.readers.toa_store.ToaBands` converts on each read, so no step keeps bands it is not using);
    arrays a step derives (the ground-guarded cirrus ``B10_CIRRUS``) are kept under their own key."""

    def __init__(self, toa, roles: Roles):
        self._toa = toa
        self._names = {r: roles.band(r) for r in ROLE_NAMES if roles.band(r) is not None and roles.band(r) in toa}
        self._own: dict[str, np.ndarray] = {}

    @property
    def shape(self) -> tuple[int, ...]:
        t = self._toa
        return t.shape if isinstance(t, ToaBands) else np.shape(t[next(iter(self._names.values()))])

    def __getitem__(self, role: str) -> np.ndarray:
        if role in self._own:
            return self._own[role]
        return np.asarray(self._toa[self._names[role]], dtype=F32)

    def rows(self, r0: int, r1: int, roles: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
        """A plain {role: rows r0:r1} dict of ``roles`` (default: all) for the strip-wise steps."""
        out = {r: np.asarray(band_rows(self._toa, n, r0, r1), dtype=F32) for r, n in self._names.items()
               if roles is None or r in roles}
        out.update({k: v[r0:r1] for k, v in self._own.items() if roles is None or k in roles})
        return out

    def __setitem__(self, role: str, value: np.ndarray) -> None:
        self._own[role] = value

    def __delitem__(self, role: str) -> None:
        del self._own[role]

    def __contains__(self, role: object) -> bool:
        return role in self._own or role in self._names

    def __iter__(self):
        return iter(list(self._names) + [k for k in self._own if k not in self._names])

    def __len__(self) -> int:
        return len(set(self._names) | set(self._own))


def _zero_in_any_band(toa) -> np.ndarray:
    """Sen2Cor's no-data rule (any band exactly 0), one band at a time."""
    if isinstance(toa, ToaBands):
        names = list(toa)
        out = toa.is_zero(names[0])
        for n in names[1:]:
            out |= toa.is_zero(n)
        return out
    return masks.nodata_from_bands({k: np.asarray(v) for k, v in toa.items()})


# ----------------------------------------------------------------------------- steps 1-6
#: Rows per strip of the spectral tests (a few MB per float32 band of a 7700 px wide scene), and the halo of
#: rows read around each strip: the snow ring (a 3 px diamond around snow) is the only step that looks at
#: neighbours; every other test is per pixel.
SPECTRAL_STRIP_ROWS, SPECTRAL_HALO_ROWS = STRIP_ROWS, 3
SPECTRAL_ROLES = ("blue", "green", "red", "red_edge", "nir", "swir1", "swir2")


def _spectral_tests(st: State, b: RoleBands, th: Any, snc: np.ndarray | None, could_have_snow: bool,
                    classic: bool) -> None:
    """Steps 1 to 6, strip by strip: the same classes and probabilities as over the whole grid at once (each
    strip is classified with a halo that holds every neighbour the snow ring reads, from a pristine copy of the
    state, and only its own rows are kept), without a full-size float32 array per band and per test."""
    flags = _snc_flags(snc)

    def strip(r0: int, r1: int, h0: int, h1: int) -> None:
        sub = State(st.scl[h0:h1].copy(), st.p[h0:h1].copy(), st.s[h0:h1].copy(), st.valid[h0:h1], st.c)
        _spectral_tests_rows(sub, b.rows(h0, h1, SPECTRAL_ROLES), th, None if snc is None else snc[h0:h1], flags,
                             could_have_snow, classic)
        keep = slice(r0 - h0, r1 - h0)
        st.scl[r0:r1], st.p[r0:r1], st.s[r0:r1] = sub.scl[keep], sub.p[keep], sub.s[keep]
    run_strips(strip, _strips(st.scl.shape[0], SPECTRAL_HALO_ROWS))


def _snc_flags(snc: np.ndarray | None) -> dict[str, bool]:
    """The whole-tile ESA CCI snow-condition statistics of the snow step (the strips must not re-derive them
    from their own rows): ``rarely_snowy`` (classic rule) and ``rare`` (3.x rule, see :func:`_snow`)."""
    if snc is None:
        return {"rarely_snowy": False, "rare": False}
    land = snc != SNC_WATER
    return {"rarely_snowy": _snc_rarely_snowy(snc),
            "rare": bool(land.any()) and float(snc[land].mean()) < SNC_RARE_SNOW_MEAN}


def _spectral_tests_rows(st: State, b: dict, th: Any, snc: np.ndarray | None, snc_flags: dict,
                         could_have_snow: bool, classic: bool) -> None:
    """Steps 1 to 6 on one strip: cloud probability, snow, vegetation, soil, water, rocks, B04/B11."""
    c, v = st.c, st.valid
    b02, b03, b04, b8a, b11 = b["blue"], b["green"], b["red"], b["nir"], b["swir1"]
    # 1. brightness and dark features
    st.p = T.brightness_confidence(b04, th)
    st.set(T.dark_feature_candidates(b04, b8a) & st.is_(NOT_CLASSIFIED), c.dark_features)
    st.p[st.is_(c.dark_features)] = 0
    # 1b. NDSI cloud test (a zero confidence releases any earlier class)
    ndsi_ = T.ndsi(b03, b11)
    f = T.ndsi_cloud_confidence(ndsi_, th)
    st.set(f == 0, NOT_CLASSIFIED)
    st.p *= f
    # 2. snow
    if could_have_snow:
        _snow(st, b, th, ndsi_, snc, snc_flags, classic)
    # 3. vegetation
    ndvi_ = T.ndvi(b8a, b04)
    f = T.ndvi_confidence(ndvi_, th)
    st.set(T.vegetation_candidates(f, b02) & st.is_(NOT_CLASSIFIED), c.vegetation)
    f[st.is_(c.vegetation)] = 0
    flt = (f > 0) & (f < 1)
    st.p[flt] *= 1 - f[flt]
    # 4. soils
    soil, amb, fac = T.soil_test(b02, b11, th)
    st.set(soil & st.is_(NOT_CLASSIFIED), c.not_vegetated)
    st.p[st.is_(c.not_vegetated)] = 0
    amb &= st.is_(NOT_CLASSIFIED)
    st.p[amb] *= fac[amb]
    # 5. water (ambiguous factor applies whatever the class, as in Sen2Cor)
    water, amb, fac = T.water_test(b02, b04, b8a, b11, b["swir2"], th)
    st.set(water & st.is_(NOT_CLASSIFIED), c.water)
    st.p[st.is_(c.water)] = 0
    st.p[amb] *= fac[amb]
    f1 = T.water_blue_red_test(b02, b04, b8a)
    st.set(f1 & st.is_(NOT_CLASSIFIED), c.water)
    st.p[f1 & st.is_(c.water) & v] = 0
    # 6. rocks and sands
    rock, amb, fac = T.rocks_sand_test(b02, b8a, b11, th)
    st.set(rock & st.is_(NOT_CLASSIFIED), c.not_vegetated)
    st.p[st.is_(c.not_vegetated)] = 0
    amb &= st.is_(NOT_CLASSIFIED) & v
    st.p[amb] *= fac[amb]
    # 6bis. B04/B11
    f = T.b04_b11_confidence(b04, b11)
    st.p[(f == 1) & st.is_(NOT_CLASSIFIED) & v] = 0
    flt = (f > 0) & (f < 1)
    st.p[flt] *= 1 - f[flt]


def _snc_rarely_snowy(snc: np.ndarray) -> bool:
    """The tile is mostly snow-free in the CCI climatology (mean occurrence off water < 10)."""
    land = snc[snc != SNC_WATER]
    return land.size > 0 and land.sum() > 0 and float(land.mean()) < SNC_RARE_SNOW_MEAN


def _snow(st: State, b: dict, th: Any, ndsi_: np.ndarray, snc, snc_flags: dict, classic: bool) -> None:
    """Snow probability: NDSI x B8A x B02 x B02/B04, limited to cloud-like pixels (``snc_flags``: the
    whole tile's snow-condition statistics, :func:`_snc_flags`)."""
    c, v = st.c, st.valid
    s = T.snow_ndsi_confidence(ndsi_, th)
    s[(st.p == 0) & v] = 0
    if snc is not None and snc_flags["rarely_snowy"]:
        s[(snc == SNC_WATER) & v] = 0
    st.s = s
    st.set((s == 0) & st.is_(NOT_CLASSIFIED), NOT_SNOW)
    # no red edge (Landsat OLI): Sen2Cor 3 runs this test (L2A_CSND_2_1bis) on the red band instead
    st.s[T.snow_red_edge_excluded(b.get("red_edge", b["red"]), b["nir"])] = 0
    st.set((st.s == 0) & st.is_(NOT_CLASSIFIED), NOT_SNOW)
    for f in (T.snow_b8a_confidence(b["nir"], th), T.snow_b02_confidence(b["blue"], th),
              T.snow_b02_b04_confidence(b["blue"], b["red"], th)):
        st.set((f == 0) & st.is_(NOT_CLASSIFIED), NOT_SNOW)
        st.s *= f
    snow = (st.s > F32(th.t1_snow)) & v
    st.scl[snow] = c.snow_ice
    ring = masks.dilate(snow, masks.diamond(3)) ^ snow
    st.p[(ring & T.snow_ring_not_cloud(b["swir2"], th)) | st.is_(c.snow_ice)] = 0
    st.set(st.is_(NOT_SNOW), NOT_CLASSIFIED)
    if snc is None:
        return
    if not classic:   # 3.x: CCI "never snow" / no-data pixels revert to medium-probability cloud
        sub = ((snc == SNC_NO_SNOW) | (snc == SNC_NODATA)) & st.is_(c.snow_ice)
        st.set(sub, c.medium_proba_clouds, p=0.5, s=0.0)
        rare = snc_flags["rare"]
    else:
        rare = snc_flags["rarely_snowy"]
    if rare:
        st.set((snc == SNC_WATER) & st.is_(c.snow_ice), c.medium_proba_clouds)


def _cirrus_signal(st: State, b: dict, dem: np.ndarray | None, sensor: str | None, res: float,
                   cirrus_native_m: float = 60.0, wv_column_gcm2: float | None = None, airmass: float | None = None,
                   bands: tuple[str, str] = ("B09", "B10")) -> None:
    """Deviation from Sen2Cor (see :mod:`cirrus_ground`): on pixels the spectral tests recognised as a
    surface (vegetation, not vegetated, water, or still unclassified with cloud probability 0; not snow,
    whose 1375 nm reflectance the ice absorption keeps far below the bound), the cirrus tests see B10
    minus the upper estimate of what the surface sends through its own water column."""
    c = st.c
    elev = float(np.nanmean(dem[st.valid])) if dem is not None and st.valid.any() else 0.0
    if "wv_absorption" not in b and wv_column_gcm2 is not None and airmass is not None:
        # no 945 nm band (Landsat): the ground term is per pixel (at the band's own pixel), row strips suffice
        tw10 = cirrus_ground.column_b10_transmittance(wv_column_gcm2, airmass, elev, sensor, bands[1])
        if tw10 is None:
            return
        if cirrus_ground.footprint_px(cirrus_native_m, res) == 1:
            _guarded_cirrus_strips(st, b, tw10)
            return
    land = st.is_(c.vegetation, c.not_vegetated) & st.valid
    g = cirrus_ground.ground_b10(b["nir"], b.get("wv_absorption"), b["swir1"], land, resolution_m=res,
                                 elevation_m=elev, sensor=sensor, native_m=cirrus_native_m,
                                 wv_column_gcm2=wv_column_gcm2, airmass=airmass, bands=bands)
    if g is None:
        return
    b[B10_CIRRUS] = _guarded_cirrus(st, b["cirrus"], g)


def _guarded_cirrus(st: State, cirrus: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The cirrus band the cirrus tests see: minus the ground term's excess on surface pixels."""
    c = st.c
    surface = (st.is_(c.vegetation, c.not_vegetated, c.water) | (st.is_(NOT_CLASSIFIED) & (st.p == 0))) & st.valid
    # Sen2Cor's thresholds already tolerate the ground signal of ordinary (moist) scenes: its cirrus
    # recovery never puts the clear-land B10 threshold below 0.003 (CIRRUS_LAND_FLOOR). Only the estimated
    # ground signal beyond that allowance is taken off, so moist scenes keep Sen2Cor's classes.
    excess = np.maximum(g - F32(recover.CIRRUS_LAND_FLOOR), F32(0))
    return np.where(surface, cirrus - excess, cirrus).astype(F32)


def _guarded_cirrus_strips(st: State, b: RoleBands, tw10: np.float32) -> None:
    """:func:`_guarded_cirrus` with a per-pixel ground term, strip by strip (the same values without five
    full-size float32 temporaries: 1.2 GB on a whole Landsat scene)."""
    out = np.empty(b.shape, F32)

    def one(sub: State, r0: int, r1: int) -> None:
        rows = b.rows(r0, r1, ("nir", "swir1", "cirrus"))
        g = cirrus_ground.ground_from_surface(rows["nir"], rows["swir1"], tw10, 1)
        out[r0:r1] = _guarded_cirrus(sub, rows["cirrus"], g)
    per_pixel_strips(st, one)
    b[B10_CIRRUS] = out


# ----------------------------------------------------------------------------- classic tail
def _strips(n_rows: int, halo: int = 0):
    """(r0, r1, h0, h1): strips of SPECTRAL_STRIP_ROWS rows and the rows read around them (``halo``)."""
    return row_strips(n_rows, SPECTRAL_STRIP_ROWS, halo)


def _radiometric_shadow_classic(b: RoleBands, th: Any, cirrus: np.ndarray, res: float, geom: np.ndarray
                                ) -> np.ndarray:
    """Where :func:`shadows.radiometric_shadow_classic` times the geometric probability ``geom`` passes Sen2Cor's
    product threshold, strip by strip (the radiometric test's only neighbourhood is its median window, read from
    a halo of half a window): the same pixels without six full-size float32 bands or the radiometric map."""
    n = cirrus.shape[0]
    out = np.empty(cirrus.shape, bool)
    halo = shadows.window_px(shadows.SHADOW_MEDIAN_PX, res) // 2
    def strip(r0: int, r1: int, h0: int, h1: int) -> None:
        rows = b.rows(h0, h1, ("blue", "green", "red", "nir", "swir1", "swir2"))
        msd = shadows.radiometric_shadow_classic(rows["blue"], rows["green"], rows["red"], rows["nir"],
                                                 rows["swir1"], rows["swir2"], th, cirrus[h0:h1], resolution_m=res)
        out[r0:r1] = msd[r0 - h0: r1 - h0] * geom[r0:r1] > shadows.SHADOW_PRODUCT_MIN
    run_strips(strip, _strips(n, halo))
    return out


def _classic_tail(st, b, th, topo, dem, esacci, sza, saa, res, vza, vaa, parallax) -> None:
    c = st.c
    wbi, lcm = esacci.get("water_bodies"), esacci.get("land_cover")
    cloud_classes(st, b, th, dem, classic=True)
    b.pop(B10_CIRRUS, None)                       # read by the cirrus tests only
    # cloud shadows
    geom = shadows.geometric_shadow_probability(st.p, ~st.valid, sza_deg=sza, saa_deg=saa,
                                                resolution_m=res, vza_deg=vza, vaa_deg=vaa,
                                                view_parallax=parallax)
    st.scl[_radiometric_shadow_classic(b, th, st.is_(c.thin_cirrus), res, geom)] = c.cloud_shadows
    del geom

    # recoveries: per pixel, strip by strip (bands converted per strip)
    def recoveries(sub: State, r0: int, r1: int) -> None:
        r = b.rows(r0, r1, ("blue", "green", "red", "nir", "swir1"))
        recover.dark_vegetation(sub, T.ndvi(r["nir"], r["red"]), T.senescent_ratio(r["nir"], r["green"]), th,
                                zero_probs=False)
        recover.water_recovery(sub, r["blue"], r["red"], r["nir"], r["swir1"], th)
        recover.water_recovery_cci(sub, None if wbi is None else wbi[r0:r1], zero_probs=False)
        if topo is not None:
            sm, slope = topo.shadow_map[r0:r1], topo.slope_deg[r0:r1]
            sub.set((sm < DEM_WATER_SHADOW_MAX) & (slope > DEM_WATER_SLOPE_MIN) & sub.is_(c.water),
                    c.dark_features)
            sub.set((sm < DEM_CLOUD_SHADOW_MAX) & (sm != 0) & sub.is_(c.cloud_shadows), c.dark_features)
            if wbi is not None:
                b02, b04 = r["blue"], r["red"]
                f2 = ((b02 - b04) > T.WATER_B02_MINUS_B04) & (r["nir"] < b04) & (b02 > T.WATER_B02_MAX)
                pot = sub.is_(NOT_CLASSIFIED, c.unclassified, c.medium_proba_clouds)
                sub.set((sm < DEM_WATER_SHADOW_MAX) & (wbi[r0:r1] != recover.WBI_WATER) & f2 & pot,
                        c.dark_features)
    per_pixel_strips(st, recoveries)
    grow = masks.dilate(st.is_(c.snow_ice), masks.diamond(3))

    def snow_growth_and_soil(sub: State, r0: int, r1: int) -> None:
        r = b.rows(r0, r1, ("blue", "green", "swir1"))
        sub.set(grow[r0:r1] & (r["swir1"] < r["green"]) & sub.is_(NOT_CLASSIFIED), c.snow_ice)
        recover.soil_recovery_dark(sub, r["blue"], r["swir1"], zero_probs=False)
    per_pixel_strips(st, snow_growth_and_soil)
    if "cirrus" in b and lcm is not None:        # both recoveries need the CCI land cover (else no bands read)
        b10 = b["cirrus"]
        if "wv_absorption" in b:
            recover.land_recovery_b10_b09(st, b10, b["wv_absorption"], b["nir"], lcm, res)
        recover.cirrus_recovery_classic(st, b10, lcm, dem)
        del b10
    if lcm is not None:
        recover.urban_bare_recovery(st, lcm, urban=lcm == recover.LCM_URBAN,
                                    ring_urban=recover.RING_CLOUDY_MAX_CLASSIC, zero_probs=False)
