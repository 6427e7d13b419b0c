"""Shipped 6S look-up tables: loading, vectorised interpolation, Lambertian inversion.

Reflectance convention (6S): rho = pi * L / (mu_s * E0), E0 the band solar irradiance at the actual
Earth-Sun distance, mu_s = cos(sun zenith).  Model of the TOA reflectance of a uniform Lambertian
surface rho_s (the 6SV1.1 model, band-averaged):

    rho_toa = Tg * (rho_path + T_down * T_up * rho_s / (1 - S * rho_s))

* ``tg``: two-way gaseous transmittance (H2O, O3, O2, CO2, CH4, N2O, CO) of the surface term;
* ``path``: path reflectance *divided by Tg*.  6S attenuates the Rayleigh path by the non-water gases
  only and the aerosol part by half the water column (6S' "wv mixed with aerosol" case); we tabulate
  the gas-free Rayleigh and total paths and rebuild 6S' gas-attenuated path ``path_toa`` =
  T_nowv * (rho_R + (rho_mix - rho_R) * T_wv(half column)), then ``path = path_toa / tg`` so the
  simple formula above (and its inverse) is exact with respect to the tables;
* gas-free paths: the tables hold the total path minus its single-scattering part (homogeneous layer,
  6S aerosol phase function / single-scattering albedo, exact for the query geometry) and the Rayleigh
  path divided by the Rayleigh phase function; the smooth remainders are interpolated;
* ``t_down = t_down_dir + t_down_dif`` (depends on sun zenith only), ``t_up`` (view zenith only),
  ``s_alb`` spherical albedo: scattering only (no gas).

Inversion: y = (rho_toa / Tg - rho_path) / (T_down * T_up);  rho_s = y / (1 + S * y).

Axes and their interpolation variables (manifest.json): AOT550 (linear), elevation (linear in
pressure), sun zenith (linear in 1/cos), view zenith (linear), relative azimuth (linear in cos; 6S
convention: 0 = sun behind the sensor, backscattering), water vapour and ozone through the absorber
path column x airmass.  ``wv_gcm2``/``ozone_du``: 6S user columns (see ``rt/sixs.py``).  Inputs are
clamped to the table ranges.

Water vapour at elevation: the WV axis is 6S' input column, referenced to sea level (the gas tables are
6S runs with ``wv_gcm2`` at each target elevation).  Above a surface at z km lies only
``wv_gcm2 * wv_column_fraction(z)`` (0.81 at 0.5 km, 0.51 at 1.5 km): a column above the surface (APDA's
WVP, CAMS tcwv) is looked up as ``wv_input_for_column(column, z)``.  The AC finds these two functions here
(``sen2cor3.ac.wv.column_fraction``).  The AC should evaluate on a coarse grid (60 m or coarser) and interpolate.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from .sixs import DATA_DIR, band_names, normalize_band, wv_column_fraction, wv_input_for_column

__all__ = ["atmosphere", "toa_to_surface", "surface_to_toa", "load_tables", "band_names", "tables_available",
           "wv_column_fraction", "wv_input_for_column"]


_LOG_TABLES = ("t_down", "t_down_dir", "t_up", "t_up_dir", "tg_o3", "tg_oth")


def tables_available(data_dir: Path | None = None) -> bool:
    """True when the shipped tables (manifest.json) are present."""
    return ((data_dir or DATA_DIR) / "manifest.json").exists()


def load_tables(sensor: str, data_dir: Path | None = None) -> dict:
    """Arrays of one sensor + axes (cached per directory)."""
    return _load_tables(sensor.upper(), Path(data_dir or DATA_DIR))


@lru_cache(maxsize=None)
def _load_tables(sensor: str, data_dir: Path) -> dict:
    man_path = data_dir / "manifest.json"
    if not man_path.exists():
        raise FileNotFoundError(f"no atmospheric tables in {data_dir}: run `python -m sen2cor3.lut build`")
    man = json.loads(man_path.read_text())
    sensor = sensor.upper()
    if sensor not in man["sensors"]:
        raise KeyError(f"sensor {sensor} not in the shipped tables ({list(man['sensors'])})")
    with np.load(data_dir / man["sensors"][sensor]["file"]) as z:
        arr = {k: np.ascontiguousarray(z[k], np.float32) for k in z.files}
    for k in _LOG_TABLES:    # transmittances ~ exp(-tau m): interpolate their logarithm
        arr[k] = np.log(np.maximum(arr[k], 1e-30)).astype(np.float32)
    ax = man["axes"]
    from sen2cor3.lut.grid import pressure_mb
    arr["_axes"] = {
        "aot": np.array(ax["aot550"], float),
        "p": -pressure_mb(np.array(ax["elevation_km"], float)),       # ascending
        "ms": 1.0 / np.cos(np.radians(ax["sza_deg"])),
        "vza": np.array(ax["vza_deg"], float),
        "craa": -np.cos(np.radians(ax["raa_deg"])),                     # ascending
        "xw": np.log(np.maximum(np.array(ax["gas_wv_path"], float), 1e-4)), "xo": np.array(ax["gas_o3_path"], float),
        "mg": np.array(ax["gas_airmass"], float), "gz": np.array(ax["gas_elevation_km"], float), "pcos": np.array(ax["phase_cos"], float),
    }
    arr["_bands"] = list(man["sensors"][sensor]["bands"])
    arr["_aerosols"] = list(ax["aerosol"])
    return arr


def _locate(nodes: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower node index and fraction, clamped to the axis range (np.interp on node numbers: one C pass)."""
    if len(nodes) == 1:
        return np.zeros(np.shape(x), np.intp), np.zeros(np.shape(x), np.float32)
    fi = np.interp(x, nodes, np.arange(len(nodes), dtype=np.float64))
    i = np.minimum(fi.astype(np.intp), len(nodes) - 2)
    return i, (fi - i).astype(np.float32)


def _multilinear(table: np.ndarray, locs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Multilinear interpolation: one base offset, 2**ndim gathers, then 2**ndim - 1 lerps.

    No per-point Python loop; axes of length 1 are skipped; scalar inputs broadcast for free."""
    flat = table.reshape(-1)
    strides = [st // table.itemsize for st in table.strides]
    dims = [d for d in range(table.ndim) if table.shape[d] > 1]
    base = 0
    for d in dims:
        base = base + locs[d][0] * strides[d]
    consts = [0]
    for d in dims:
        consts = [c + k * strides[d] for c in consts for k in (0, 1)]
    vals = [flat[base + c] for c in consts]
    for d in reversed(dims):              # reduce the fastest axis first
        f = locs[d][1]
        vals = [v0 + f * (v1 - v0) for v0, v1 in zip(vals[0::2], vals[1::2])]
    return vals[0]


def atmosphere(sensor: str, band: str, aerosol: str, season: str, ozone_du, wv_gcm2, aot550, elevation_km,
               sza_deg, vza_deg, raa_deg) -> dict[str, np.ndarray]:
    """Band atmospheric terms from the tables, broadcast over array inputs.

    Returns float32-able arrays: ``path`` (rho_path, see module doc), ``path_toa``, ``tg``, ``t_down``,
    ``t_down_dir``, ``t_down_dif``, ``t_up``, ``t_up_dir``, ``t_up_dif``, ``s_alb``.
    ``season`` is accepted for API symmetry: with user water-vapour/ozone columns 6SV1.1 uses one profile
    shape (US62), so it does not change the tabulated quantities.
    """
    t = load_tables(sensor)
    ax = t["_axes"]
    b = t["_bands"].index(normalize_band(sensor, band))
    a = t["_aerosols"].index({"continental": "rural"}.get(aerosol.lower(), aerosol.lower()))
    from sen2cor3.lut.grid import pressure_mb
    f64 = lambda v: np.asarray(v, np.float64)  # noqa: E731
    aot, z, sza, vza, raa, wv, o3 = (f64(v) for v in (aot550, elevation_km, sza_deg, vza_deg, raa_deg,
                                                       wv_gcm2, ozone_du))
    shape = np.broadcast_shapes(aot.shape, z.shape, sza.shape, vza.shape, raa.shape, wv.shape, o3.shape)
    la = _locate(ax["aot"], aot)
    lp = _locate(ax["p"], -pressure_mb(z))
    rs, rv, rr = np.radians(np.clip(sza, 0.0, 89.0)), np.radians(np.clip(vza, 0.0, 89.0)), np.radians(raa)
    mu_s, mu_v, cos_r = np.cos(rs), np.cos(rv), np.cos(rr)
    ms, mv = 1.0 / mu_s, 1.0 / mu_v
    ls = _locate(ax["ms"], ms)
    lv = _locate(ax["vza"], vza)
    lr = _locate(ax["craa"], -cos_r)
    # tabulated: total path minus its single-scattering part (computed here exactly for the query
    # geometry from phase functions and optical depths), and the Rayleigh path / Rayleigh phase function
    cth = -mu_s * mu_v - np.sin(rs) * np.sin(rv) * cos_r
    d = 0.0279
    p_ray = 2.0 * (1.0 - d) / (2.0 + d) * 0.75 * (1.0 + cth ** 2) + 3.0 * d / (2.0 + d)
    p_aer = np.interp(cth, ax["pcos"], t["phase_aer"][b, a])
    tau_r = _multilinear(t["tau_ray"][b], [lp])
    tau_a = _multilinear(t["tau_aer"][b, a], [la])
    tau = tau_r + tau_a
    wp = (tau_r * p_ray + t["ssa_aer"][b, a] * tau_a * p_aer) / tau
    single = wp * (1.0 - np.exp(-tau * (ms + mv))) / (4.0 * (mu_s + mu_v))
    mix = _multilinear(t["path_mix"][b, a], [la, lp, ls, lv, lr]) + single
    ray = _multilinear(t["path_ray"][b], [lp, ls, lv, lr]) * p_ray
    t_down = np.exp(_multilinear(t["t_down"][b, a], [la, lp, ls]))
    t_down_dir = np.exp(_multilinear(t["t_down_dir"][b, a], [la, lp, ls]))
    t_up = np.exp(_multilinear(t["t_up"][b, a], [la, lp, lv]))
    t_up_dir = np.exp(_multilinear(t["t_up_dir"][b, a], [la, lp, lv]))
    s_alb = _multilinear(t["s_alb"][b, a], [la, lp])
    m2 = ms + mv
    lz = _locate(ax["gz"], z)                         # gas tables: own, denser elevation axis
    xw = np.log(np.maximum(wv * m2, 1e-4))          # water path, interpolated in log
    tw = _multilinear(t["tg_wv"][b], [lz, _locate(ax["xw"], xw)])
    tw_half = _multilinear(t["tg_wv"][b], [lz, _locate(ax["xw"], xw - np.log(2.0))])
    to3 = np.exp(_multilinear(t["tg_o3"][b], [lz, _locate(ax["xo"], o3 / 1000.0 * m2)]))
    toth = np.exp(_multilinear(t["tg_oth"][b], [lz, _locate(ax["mg"], m2)]))
    tg = tw * to3 * toth
    path_toa = to3 * toth * (ray + (mix - ray) * tw_half)
    out = {"path": path_toa / tg, "path_toa": path_toa, "tg": tg, "t_down": t_down,
           "t_down_dir": np.minimum(t_down_dir, t_down), "t_down_dif": np.maximum(t_down - t_down_dir, 0.0),
           "t_up": t_up, "t_up_dir": np.minimum(t_up_dir, t_up), "t_up_dif": np.maximum(t_up - t_up_dir, 0.0),
           "s_alb": s_alb}
    return {k: np.broadcast_to(np.asarray(v, np.float32), shape) for k, v in out.items()}


def surface_to_toa(rho_surf, atm: dict) -> np.ndarray:
    """rho_toa = Tg * (rho_path + T_down T_up rho_s / (1 - S rho_s))."""
    rho_s = np.asarray(rho_surf, np.float64)
    return atm["tg"] * (atm["path"] + atm["t_down"] * atm["t_up"] * rho_s / (1.0 - atm["s_alb"] * rho_s))


def toa_to_surface(rho_toa, atm: dict) -> np.ndarray:
    """Lambertian inversion: y = (rho_toa/Tg - rho_path)/(T_down T_up); rho_s = y / (1 + S y)."""
    y = (np.asarray(rho_toa, np.float64) / atm["tg"] - atm["path"]) / (atm["t_down"] * atm["t_up"])
    return y / (1.0 + atm["s_alb"] * y)
