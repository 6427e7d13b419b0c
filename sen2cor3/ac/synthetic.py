"""A small analytic atmosphere with the ``rt.tables.atmosphere`` signature, for tests and dry runs.

Not a radiative-transfer model: single-scattering-like Rayleigh + aerosol optical depths, Beer-Lambert
direct transmittances, a water-vapour band absorption exp(-k sqrt(u) m). It is internally consistent and
has the right monotonic behaviour (path up with AOT, B09 down with WV, Rayleigh down with elevation),
which is all the AC tests need when the real tables are absent.
"""
from __future__ import annotations

import numpy as np

from sen2cor3.sensors import S2A

#: Centre wavelengths (um) of the MSI bands (the sensor description's).
WL = S2A.wavelength_um
#: Made-up water-vapour and ozone absorption strengths per MSI band (an analytic test atmosphere).
K_WV = {"B05": 0.01, "B06": 0.005, "B07": 0.005, "B08": 0.012, "B8A": 0.006, "B09": 0.45, "B10": 2.0,
        "B11": 0.012, "B12": 0.03}
TG_O3 = {"B02": 0.99, "B03": 0.965, "B04": 0.975, "B05": 0.99}
AOT_AXIS = np.array([0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0, 1.5])
WV_AXIS = np.array([0.2, 0.4, 0.7, 1.0, 1.5, 2.0, 2.9, 4.0, 5.0])


def atmosphere(sensor, band, aerosol, season, ozone_du, wv_gcm2, aot550, elevation_km, sza_deg, vza_deg,
               raa_deg) -> dict:
    lam = WL[band]
    mus, muv = np.cos(np.radians(sza_deg)), np.cos(np.radians(vza_deg))
    tr = 0.0088 * lam ** -4.05 * np.exp(-np.asarray(elevation_km) / 8.0)
    ta = np.asarray(aot550) * (lam / 0.55) ** -1.3
    tau = tr + ta
    phase = 1.0 + 0.2 * np.cos(np.radians(raa_deg))
    path0 = (0.75 * tr + 0.35 * ta * phase) / (4.0 * mus * muv) * np.exp(-0.5 * tau)
    m = 1.0 / mus + 1.0 / muv
    tg = np.exp(-K_WV.get(band, 0.0) * np.sqrt(np.asarray(wv_gcm2)) * m) * TG_O3.get(band, 1.0) ** m
    tdd, tud = np.exp(-tau / mus), np.exp(-tau / muv)
    tdf = (1 - tdd) * (0.5 * tr + 0.8 * ta) / tau.clip(1e-9) * 0.95
    tuf = (1 - tud) * (0.5 * tr + 0.8 * ta) / tau.clip(1e-9) * 0.95
    s = 0.92 * tau / (2.0 + tau)
    return {"path": path0 * np.sqrt(tg), "tg": tg, "t_down_dir": tdd, "t_down_dif": tdf, "t_up_dir": tud,
            "t_up_dif": tuf, "s_alb": s}


def model(aerosol: str = "rural", season: str = "summer", ozone: float = 331.0):
    """An ``AtmosphereModel`` on this atmosphere."""
    from .atmos import AtmosphereModel
    return AtmosphereModel("S2A", aerosol, season, ozone, fn=atmosphere, aot_axis=AOT_AXIS)
