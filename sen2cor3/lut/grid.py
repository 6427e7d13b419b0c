"""Table axes and the 6S run plan (what to run; ``build.py`` runs and assembles).

Design (see ``sen2cor3/rt/tables.py`` for the model; costs: ~0.25 s per 6S run with aerosols,
~0.03 s without, whatever the spectral mode, so runs are shared by all sensors):
* scattering runs (gas-free outputs of 6S): monochromatic at ``WL_NODES`` (a subset of 6S' internal
  wavelengths) per aerosol x AOT x elevation x geometry; band values = power-law interpolation in
  wavelength, integrated over SRF x 6S' solar spectrum, then scaled per band/aerosol/AOT by the ratio
  of a band-integrated 6S run to that integral at one reference geometry (``build.REF_GEOM``);
* aerosol phase function and single-scattering albedo per node (``PHASE_SZA`` runs): the tables store
  the path minus its single-scattering part, which the interpolator recomputes for the exact geometry
  (the aerosol back-scatter peak is not linear on any coarse angular grid);
* gas runs: band-integrated 6S with gases, no aerosol, per band x elevation x (water vapour, ozone,
  airmass); transmittances are tabulated against absorber path (column x airmass; verified: 6S water
  transmittance depends on wv * airmass only).
Sun zenith nodes are denser near nadir, AOT nodes denser at low AOT; VZA covers S2 (<= 12 deg) and OLI.
"""
from __future__ import annotations

import numpy as np

WL_NODES = (0.412, 0.443, 0.488, 0.55, 0.67, 0.76, 0.86, 1.65, 2.25)
AEROSOL_NAMES = ("rural", "maritime")
AOT = (0.0, 0.1, 0.25, 0.375, 0.5, 1.0)
ELEV = (0.0, 3.0)                            # km; interpolated in pressure
SZA = (0.0, 18.0, 35.0, 50.0, 60.0, 68.0, 76.0)   # interpolated in airmass 1/cos
VZA = (0.0, 6.0, 12.0)
RAA = (0.0, 90.0, 180.0)                     # interpolated in cos(raa)

# gas runs: water vapour (g/cm2, 6S input column), ozone (cm-atm), sun zenith (view zenith 0)
GAS_WV = (0.05, 0.3, 1.0, 2.5, 5.0, 8.0)
GAS_O3 = (0.2, 0.3, 0.4, 0.5, 0.25, 0.45)
GAS_SZA = (0.0, 60.0, 76.0)
GAS_ELEV = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)   # km; 6S scales water with the target elevation
SCAT_COLUMNS = dict(wv_gcm2=1.0, ozone_cmatm=0.3)   # irrelevant to the gas-free outputs we read

# aerosol phase-function runs (view zenith 0: scattering angle = 180 - sun zenith), AOT 0.12, sea level
PHASE_SZA = tuple(float(x) for x in range(0, 90, 2))

# quick mode (smoke test of the pipeline)
QUICK = dict(WL_NODES=(0.443, 0.55, 0.67, 0.86, 1.65, 2.25), AOT=(0.0, 0.2, 0.6), ELEV=(0.0, 3.0),
             SZA=(0.0, 35.0, 60.0, 76.0), VZA=(0.0, 6.0, 12.0), RAA=(0.0, 90.0, 180.0))


def axes(quick: bool = False) -> dict:
    g = dict(WL_NODES=WL_NODES, AOT=AOT, ELEV=ELEV, SZA=SZA, VZA=VZA, RAA=RAA)
    if quick:
        g.update(QUICK)
    return {k: tuple(float(x) for x in v) for k, v in g.items()}


def geometries(ax: dict):
    """(sza, vza, raa) triples; vza = 0 is run once (azimuth meaningless there)."""
    for s in ax["SZA"]:
        for v in ax["VZA"]:
            for r in (ax["RAA"][:1] if v == 0 else ax["RAA"]):
                yield s, v, r


def rayleigh_phase(cos_theta):
    """6S Rayleigh phase function (depolarisation 0.0279)."""
    d = 0.0279
    return 2.0 * (1.0 - d) / (2.0 + d) * 0.75 * (1.0 + cos_theta ** 2) + 3.0 * d / (2.0 + d)


def cos_scattering_angle(sza, vza, raa):
    """6S convention: cos(Theta) = -mu_s mu_v - sin(sza) sin(vza) cos(raa)."""
    s, v, r = np.radians(sza), np.radians(vza), np.radians(raa)
    return -np.cos(s) * np.cos(v) - np.sin(s) * np.sin(v) * np.cos(r)


def pressure_mb(z_km: np.ndarray | float) -> np.ndarray:
    """US62 pressure (6S' profile, log-linear between levels) -- the elevation coordinate."""
    zl = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8], float)
    pl = np.array([1013.0, 898.6, 795.0, 701.2, 616.6, 540.5, 472.2, 411.1, 356.5])
    return np.exp(np.interp(np.asarray(z_km, float), zl, np.log(pl)))
