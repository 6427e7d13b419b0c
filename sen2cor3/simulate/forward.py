"""Forward model of the simulator: surface truth + 6S atmosphere + sun/terrain -> TOA reflectance -> DN.

The atmosphere comes from 6S runs made directly for this scene (band-integrated with the sensor's response,
gases on: ``rt.sixs``), never from the shipped look-up tables, so that round-trip tests of the atmospheric
correction are honest. One run per (band, atmosphere zone, elevation node); each zone has its own AOT550,
water vapour and sun angles (those at the zone centre); the terms are interpolated in elevation between the
nodes with a spline (cubic from 4 nodes, quadratic with 3, linear with 2).

TOA model (per band, per pixel): 6S' Lambertian model with a non-uniform environment (6S manual, Vermote
et al. 1997, part 1 ch. "Coupling": target reflectance seen through the direct upward transmittance, the
environment reflectance through the diffuse one), extended with local illumination on slopes and in shadows::

    rho_toa = path + tg * (E_pix * t_up_dir * rho_s + t_up_dif * E0 * rho_env / (1 - S * rho_env)) + rho_cirrus
    E0      = t_dir + t_dif                                  (flat ground in the sun)
    E_pix   = t_dir * F_dir + t_dif * F_dif + E0 * (1 - V) * rho_ter + V * E0 * S * rho_env / (1 - S * rho_env)
    F_dir   = max(cos i, 0) / cos(sza) * (1 - cloud_shadow) * (1 - cast_shadow)
    F_dif   = k * F_t + (1 - k) * V  (Hay 1979 anisotropic sky, k = t_dir the anisotropy index, F_t = F_dir
                                      without the cloud shadow)
    V       = (1 + cos(slope)) / 2              (isotropic sky-view factor)
    cos i   = (cos(sza) - p sin(sza) sin(saa_g) - q sin(sza) cos(saa_g)) / sqrt(1 + p^2 + q^2)

A cloud blocks the direct beam only: a cloud shadow keeps the diffuse skylight (the convention of ATCOR's
de-shadowing, Richter & Mueller 2005, Int. J. Remote Sens. 26(15):3137; the few degrees of sky a cumulus covers
are offset by the light its sides scatter). ``rho_env`` is the environment's reflectance times its irradiance
relative to flat sunlit ground (``engine.relative_irradiance``): the surroundings send up (adjacency) and back
down (the S term) the light they receive, not the light of the pixel. A shadowed pixel therefore keeps the
adjacency signal of its sunlit neighbourhood and its skylight, as real ones do (Sen2Cor's reference shadow
spectrum, ``sc.shadows.SHADOW_REFERENCE``, has B8A 0.10 > B04 0.06; the cloud shadows of the ESA L2A T29UNU in
shared/data keep B8A > B04 on every pixel, BOA B8A about 0.3 of the sunlit vegetation's). Until issue 14 the
diffuse light followed Hay's circumsolar share into the cloud shadow and the environment term was scaled by the
shadow's own irradiance: shadowed vegetation came out at TOA B8A 0.015 < B04 0.025 and B11 0.003, water to
Sen2Cor's spectral tests.

``path`` = 6S apparent reflectance of a black surface (gas-attenuated), ``tg`` total two-way gas transmittance,
``t_dir``/``t_dif`` = 6S total downward scattering transmittance split by 6S' direct/diffuse ground
irradiance, ``t_up_dir`` = exp(-tau/mu_v), ``t_up_dif`` = the rest of 6S' upward scattering transmittance,
``S`` spherical albedo. ``rho_env``: weighted by 6S' environment functions (its
ENVIRO routine, satellite altitude): F_R(r) = 1 - 0.930 e^(-0.08 r) - 0.070 e^(-1.10 r) for Rayleigh,
F_a(r) = 1 - 0.448 e^(-0.27 r) - 0.552 e^(-2.83 r) for aerosols (r in km; F = share of the diffuse upward
signal coming from within r), mixed as 6S does by the Rayleigh / aerosol diffuse upward transmittances
(``f_ray`` = t_dif_R / (t_dif_R + t_dif_a)). The kernels are applied on the 20 m grid out to 5 km (scene
mirrored at its borders); the weight beyond 5 km goes to the scene mean. ``rho_ter``: light reflected by
the surrounding terrain onto a tilted pixel (Sen2Cor/ATCOR's (1 - V) rho_ter term, Proy et al. 1989):
the mean over a 1 km box of the neighbours' reflectance times their own relative irradiance.

p, q = dz/dEast, dz/dNorth by central differences (np.gradient, one-sided at the edges) of the DEM at the
band's own resolution; saa_g = sun azimuth relative to grid north; cast shadows by ray marching at 20 m
(repeated to 10 m, block-averaged to 60 m); cloud shadow = fraction of the 10 m cloud mask moved by
h*tan(sza) towards the anti-solar azimuth, block-averaged.

On flat, unshadowed, uniform ground (F_dir = F_dif = V = 1, rho_env = rho_s) this is exactly the 6S
Lambertian formula of ``rt.sixs.toa_reflectance``. Clouds are a bright Lambertian "surface" at the ground
(part of rho_s and so of the environment).
"""
from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from scipy.interpolate import make_interp_spline

QUANTIFICATION = 10000.0
ELEV_NODE_SPACING_M = 400.0


# ------------------------------------------------------------------ sun
def solar_position(when: datetime, lat_deg: np.ndarray, lon_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sun zenith and azimuth (deg, azimuth clockwise from true north) by the NOAA algorithm (~0.01 deg).

    No refraction (as in S2 metadata, which gives geometric angles).
    """
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc).replace(tzinfo=None)
    jd = (when - datetime(2000, 1, 1, 12)).total_seconds() / 86400.0 + 2451545.0
    t = (jd - 2451545.0) / 36525.0
    l0 = (280.46646 + t * (36000.76983 + 0.0003032 * t)) % 360.0
    m = 357.52911 + t * (35999.05029 - 0.0001537 * t)
    e = 0.016708634 - t * (0.000042037 + 0.0000001267 * t)
    mr = math.radians(m)
    c = (math.sin(mr) * (1.914602 - t * (0.004817 + 0.000014 * t)) + math.sin(2 * mr) * (0.019993 - 0.000101 * t)
         + math.sin(3 * mr) * 0.000289)
    true_long = l0 + c
    omega = 125.04 - 1934.136 * t
    lam = math.radians(true_long - 0.00569 - 0.00478 * math.sin(math.radians(omega)))
    eps0 = 23.0 + (26.0 + (21.448 - t * (46.815 + t * (0.00059 - t * 0.001813))) / 60.0) / 60.0
    eps = math.radians(eps0 + 0.00256 * math.cos(math.radians(omega)))
    decl = math.asin(math.sin(eps) * math.sin(lam))
    y = math.tan(eps / 2) ** 2
    l0r = math.radians(l0)
    eqt = 4 * math.degrees(y * math.sin(2 * l0r) - 2 * e * math.sin(mr) + 4 * e * y * math.sin(mr) * math.cos(2 * l0r)
                           - 0.5 * y * y * math.sin(4 * l0r) - 1.25 * e * e * math.sin(2 * mr))  # minutes
    minutes = when.hour * 60 + when.minute + when.second / 60 + when.microsecond / 6e7
    tst = minutes + eqt + 4.0 * np.asarray(lon_deg, float)
    ha = np.radians(tst / 4.0 - 180.0)
    lat = np.radians(np.asarray(lat_deg, float))
    cosz = np.sin(lat) * math.sin(decl) + np.cos(lat) * math.cos(decl) * np.cos(ha)
    zen = np.arccos(np.clip(cosz, -1, 1))
    az = np.degrees(np.arctan2(np.sin(ha), np.cos(ha) * np.sin(lat) - np.tan(decl) * np.cos(lat))) + 180.0
    return np.degrees(zen), az % 360.0


def season_for(when: datetime, lat_deg: float) -> str:
    """Mid-latitude 'summer' (Apr-Sep north, Oct-Mar south) or 'winter' (what Sen2Cor's AUTO picks)."""
    north_summer = 4 <= when.month <= 9
    return "summer" if north_summer == (lat_deg >= 0) else "winter"


# ------------------------------------------------------------------ 6S runs
@dataclass(frozen=True)
class RunSpec:
    """One band-integrated 6S run (the ``band_atmosphere_6s`` arguments, band by name)."""
    band: str
    aerosol: str
    season: str
    ozone_du: float
    wv_gcm2: float
    aot550: float
    elevation_km: float
    sza: float
    vza: float
    raa: float


def cache_dir() -> Path:
    """Where finished 6S runs are kept (``SEN2COR3_CACHE`` or ~/.cache/sen2cor3), so reruns are quick."""
    root = os.environ.get("SEN2COR3_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "sen2cor3")
    return Path(root) / "simulate_6s"


def _deck(spec: RunSpec, sensor: str) -> str:
    """The same deck ``rt.sixs.band_atmosphere_6s`` writes for these arguments."""
    from sen2cor3.rt import sixs
    wl, r = sixs.load_srf(sensor, spec.band)
    if not sixs._on_grid(wl):
        wl, r = sixs.grid_srf(wl, r, floor=0.0)
    return sixs.make_deck(sza=spec.sza, vza=spec.vza, raa=spec.raa, season=spec.season, wv_gcm2=spec.wv_gcm2,
                          ozone_cmatm=spec.ozone_du / 1000.0, aerosol=spec.aerosol, aot550=spec.aot550,
                          elevation_km=spec.elevation_km, srf_start_um=float(wl[0]), srf_values=r,
                          rho_surface=0.0)


def _terms(res, vza: float) -> dict:
    """``rt.sixs.result_terms`` plus ``f_ray``: the Rayleigh share of the diffuse upward transmittance, with
    which 6S mixes its Rayleigh and aerosol environment functions."""
    from sen2cor3.rt import sixs
    t = sixs.result_terms(res, vza)
    mu = math.cos(math.radians(vza))
    t_r = max(res.scat_rayleigh[1] - math.exp(-res.optical_depth[0] / mu), 0.0)
    t_a = max(res.scat_aerosol[1] - math.exp(-res.optical_depth[1] / mu), 0.0)
    t["f_ray"] = t_r / (t_r + t_a) if t_r + t_a > 0 else 1.0
    return t


def run_6s(specs: list[RunSpec], sensor: str, processes: int = 2, log=None) -> list[dict]:
    """Terms of ``band_atmosphere_6s`` for each spec; cached on disk by deck hash, new runs in parallel."""
    from sen2cor3.rt import sixs
    decks = [_deck(s, sensor) for s in specs]
    keys = [sixs.deck_key(d) for d in decks]
    root = cache_dir()
    out: list[dict | None] = [None] * len(specs)
    todo: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        p = root / k[:2] / f"{k}.json"
        if p.exists():
            try:
                out[i] = _terms(sixs.SixsResult.from_dict(json.loads(p.read_text())), specs[i].vza)
                continue
            except (ValueError, TypeError, KeyError):
                pass
        todo.setdefault(k, []).append(i)
    if todo:
        order = list(todo)
        if log:
            log(f"6S: {len(order)} new runs ({len(specs) - sum(len(v) for v in todo.values())} cached), "
                f"{processes} processes")
        for j, res in sixs.run_many([decks[todo[k][0]] for k in order], processes=max(1, processes)):
            k = order[j]
            p = root / k[:2] / f"{k}.json"
            p.parent.mkdir(parents=True, exist_ok=True)
            tmp = p.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(res.to_dict()))
            os.replace(tmp, p)
            for i in todo[k]:
                out[i] = _terms(res, specs[i].vza)
    return out  # type: ignore[return-value]


#: Bands whose TOA bends more with elevation (water vapour absorption): at least 3 nodes beyond 100 m.
CURVED_BANDS = ("B09", "B10")


def elevation_nodes_km(lo_m: float, hi_m: float, spacing_m: float = ELEV_NODE_SPACING_M,
                       curved: bool = True) -> np.ndarray:
    """Elevation nodes (km) spanning [lo, hi]: one if flat, else evenly spaced <= ``spacing_m`` (>= 3 when
    ``curved`` and the span exceeds 100 m).

    Measured spline error of the TOA (rho 0.05-0.8): 2 nodes over 300 m: B09 1.3e-4, B10 9e-5, B12 2.7e-5,
    visible < 1e-5; 3 nodes over 300-750 m <= 4e-5; 4 nodes over 1000 m <= 1.4e-5 (all bands).
    """
    lo = max(0.0, math.floor(lo_m / 10.0) * 10.0)
    hi = max(lo, math.ceil(hi_m / 10.0) * 10.0)
    if hi - lo < 1.0:
        return np.array([round(lo / 1000.0, 4)])
    n = max(3 if curved and hi - lo > 100.0 else 2, math.ceil((hi - lo) / spacing_m) + 1)
    return np.round(np.linspace(lo, hi, n) / 1000.0, 4)


TERMS = ("path", "tg", "t_down_dir", "t_down_dif", "t_up", "t_up_dir", "s_alb", "f_ray")


@dataclass
class ZoneAtmosphere:
    """6S terms of one band in one zone, tabulated on elevation nodes (km)."""
    nodes_km: np.ndarray
    terms: dict[str, np.ndarray]            # term -> values at nodes

    def at(self, elev_m: np.ndarray) -> dict[str, np.ndarray]:
        """Terms at the given elevations (spline in elevation; constant with one node)."""
        z = np.asarray(elev_m, float) / 1000.0
        if len(self.nodes_km) == 1:
            return {k: np.full(z.shape, v[0]) for k, v in self.terms.items()}
        k = min(3, len(self.nodes_km) - 1)
        zc = np.clip(z, self.nodes_km[0], self.nodes_km[-1])
        return {name: make_interp_spline(self.nodes_km, v, k=k)(zc) for name, v in self.terms.items()}


def build_atmosphere(specs_by_key: dict[tuple[str, int], list[RunSpec]], sensor: str, processes: int = 2,
                     log=None) -> dict[tuple[str, int], ZoneAtmosphere]:
    """Run (or load) all runs and group them per (band, zone) on their elevation nodes."""
    flat = [s for v in specs_by_key.values() for s in v]
    res = run_6s(flat, sensor, processes=processes, log=log)
    out: dict[tuple[str, int], ZoneAtmosphere] = {}
    i = 0
    for key, specs in specs_by_key.items():
        chunk = res[i:i + len(specs)]
        i += len(specs)
        out[key] = ZoneAtmosphere(np.array([s.elevation_km for s in specs]),
                                  {t: np.array([c[t] for c in chunk]) for t in TERMS})
    return out


# ------------------------------------------------------------------ terrain
def slope_cos_i(dem: np.ndarray, res_m: float, sza: np.ndarray, saa_grid: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """cos(local incidence) and sky-view factor from a DEM (central differences, one-sided at edges).

    ``saa_grid``: sun azimuth clockwise from grid north. cos i = n . s with n the unit surface normal.
    """
    d = dem.astype(np.float64)
    dz_drow, dz_dcol = np.gradient(d, res_m)
    p, q = dz_dcol, -dz_drow                   # dz/dEast, dz/dNorth
    norm = np.sqrt(1.0 + p * p + q * q)
    th, ph = np.radians(sza), np.radians(saa_grid)
    cos_i = (-p * np.sin(th) * np.sin(ph) - q * np.sin(th) * np.cos(ph) + np.cos(th)) / norm
    sky = 0.5 * (1.0 + 1.0 / norm)
    return cos_i, sky


def cast_shadow(dem: np.ndarray, res_m: float, sza: float, saa_grid: float) -> np.ndarray:
    """Terrain cast shadows (bool): a pixel is shadowed if terrain along the ray towards the sun rises above it.

    Ray marching in one-pixel steps with nearest-pixel sampling; stops once the ray clears the highest point.
    """
    n0, n1 = dem.shape
    tan_e = 1.0 / max(math.tan(math.radians(sza)), 1e-6)
    ph = math.radians(saa_grid)
    dcol, drow = math.sin(ph), -math.cos(ph)
    top = float(dem.max())
    rows, cols = np.mgrid[0:n0, 0:n1]
    shadow = np.zeros(dem.shape, bool)
    base = dem.astype(np.float64)
    step = 1
    while True:
        rise = step * res_m * tan_e
        if float(base.min()) + rise > top:
            break
        r = np.rint(rows + step * drow).astype(np.int64)
        c = np.rint(cols + step * dcol).astype(np.int64)
        inside = (r >= 0) & (r < n0) & (c >= 0) & (c < n1)
        if not inside.any():
            break
        h = np.where(inside, dem[np.clip(r, 0, n0 - 1), np.clip(c, 0, n1 - 1)], -np.inf)
        shadow |= h > base + rise
        step += 1
    return shadow


# ------------------------------------------------------------------ TOA and DN
def toa_from_terms(rho_s: np.ndarray, t: dict[str, np.ndarray], f_dir: np.ndarray | float = 1.0,
                   f_dif: np.ndarray | float = 1.0, rho_env: np.ndarray | None = None,
                   sky: np.ndarray | float = 1.0, rho_ter: np.ndarray | float = 0.0) -> np.ndarray:
    """The TOA model of this module (see its docstring), without the cirrus term.

    ``f_dif`` is the full diffuse factor (Hay's, see ``hay_diffuse``); ``rho_env`` the environment reflectance
    weighted by the environment's irradiance relative to flat sunlit ground (None: uniform, sunlit surface).
    The pixel's own irradiance E (direct, diffuse, terrain-reflected) lights its direct upward path; the
    environment, lit as flat sunlit ground E0 = t_dir + t_dif times its relative irradiance, sends the diffuse
    upward path and, backscattered by the atmosphere, the skylight E0 S rho_env / (1 - S rho_env) that reaches
    the pixel through its sky view. On flat sunlit ground this is 6S' Lambertian formula with environment; in a
    shadow the light of the sunlit surroundings is not the shadow's own irradiance (6S' non-uniform ground)."""
    re = rho_s if rho_env is None else rho_env
    e_flat = t["t_down_dir"] + t["t_down_dif"]
    irr = t["t_down_dir"] * f_dir + t["t_down_dif"] * f_dif + e_flat * (1.0 - np.asarray(sky)) * rho_ter
    denom = 1.0 - t["s_alb"] * re
    irr = irr + np.asarray(sky) * e_flat * t["s_alb"] * re / denom
    t_dir_up = np.minimum(t["t_up_dir"], t["t_up"])
    return t["path"] + t["tg"] * (irr * t_dir_up * rho_s + (t["t_up"] - t_dir_up) * e_flat * re / denom)


def hay_diffuse(f_dir: np.ndarray | float, sky: np.ndarray | float, t_dir: np.ndarray | float) -> np.ndarray:
    """Hay (1979) diffuse factor: circumsolar share k = t_dir follows the direct beam, the rest is isotropic."""
    return t_dir * np.asarray(f_dir) + (1.0 - t_dir) * np.asarray(sky)


# ------------------------------------------------------------------ environment (adjacency)
ENV_GRID_M = 20.0
ENV_RMAX_KM = 5.0
ENV_FUNCTIONS = {"rayleigh": ((0.930, 0.08), (0.070, 1.10)), "aerosol": ((0.448, 0.27), (0.552, 2.83))}


def env_cumulative(kind: str, r_km: np.ndarray) -> np.ndarray:
    """6S environment function F(r): share of the diffuse upward signal from within radius r (km)."""
    r = np.asarray(r_km, np.float64)
    return 1.0 - sum(a * np.exp(-b * r) for a, b in ENV_FUNCTIONS[kind])


def env_kernel(kind: str, res_m: float, rmax_km: float = ENV_RMAX_KM) -> np.ndarray:
    """Pixel weights of ``env_cumulative`` out to ``rmax_km`` (sum = F(rmax)).

    Weight of a pixel at distance r: dF/dr / (2 pi r) x pixel area; the centre pixel gets F(r0), r0 the
    radius of a disk of one pixel's area; the ring weights are rescaled so that the total is F(rmax)."""
    n = int(round(rmax_km * 1000.0 / res_m))
    g = res_m / 1000.0
    yy, xx = np.mgrid[-n:n + 1, -n:n + 1] * g
    r = np.hypot(yy, xx)
    dfdr = sum(a * b * np.exp(-b * r) for a, b in ENV_FUNCTIONS[kind])
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(r > 0, dfdr / (2.0 * np.pi * np.maximum(r, 1e-9)) * g * g, 0.0)
    w[r > rmax_km] = 0.0
    f0 = float(env_cumulative(kind, g / math.sqrt(math.pi)))
    w *= (float(env_cumulative(kind, rmax_km)) - f0) / w.sum()
    w[n, n] = f0
    return w


def environment(rho: np.ndarray, res_m: float = ENV_GRID_M, rmax_km: float = ENV_RMAX_KM
                ) -> tuple[np.ndarray, np.ndarray]:
    """(Rayleigh, aerosol) environment reflectance of a surface on a ``res_m`` grid.

    FFT convolution with ``env_kernel`` on the scene mirrored at its borders (what lies beyond a simulated
    scene is unknown: its mirror image keeps the local statistics); the weight beyond ``rmax_km`` goes to
    the scene mean."""
    from scipy.signal import fftconvolve
    a = np.asarray(rho, np.float64)
    mean = float(a.mean())
    out = []
    for kind in ("rayleigh", "aerosol"):
        k = env_kernel(kind, res_m, rmax_km)
        n = k.shape[0] // 2
        pad = np.pad(a, n, mode="symmetric")       # any n: numpy repeats the reflection (2-scene periodic)
        conv = fftconvolve(pad, k, mode="valid")
        out.append((conv + (1.0 - k.sum()) * mean).astype(np.float32))
    return out[0], out[1]


def to_dn(rho_toa: np.ndarray, nodata: np.ndarray, radio_add_offset: float) -> np.ndarray:
    """L1C DN = rint(rho * 10000) - RADIO_ADD_OFFSET, clipped to 1..65535; 0 where no data."""
    dn = np.rint(rho_toa.astype(np.float64) * QUANTIFICATION) - radio_add_offset
    dn = np.clip(dn, 1, 65535).astype(np.uint16)
    dn[nodata] = 0
    return dn


def stderr_log(msg: str) -> None:
    """Progress line on stderr (stdout carries only the product path)."""
    print(f"[simulate] {msg}", file=sys.stderr, flush=True)
