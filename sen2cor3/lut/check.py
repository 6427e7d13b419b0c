"""Accuracy check of the shipped tables against direct band-integrated 6S runs (gases on, not cached).

Random off-node parameter sets (AOT <= 0.5, sun zenith <= 70, the other axes over their table range);
per band the TOA reflectance of Lambertian surfaces 0.05, 0.2, 0.5 predicted by the tables
(``surface_to_toa``) is compared with 6S (6S' own Lambertian formula on the terms of a rho_s = 0 run,
identical to 6S' apparent reflectance, see tests).  Target: p95 <= 0.001, max <= 0.003.
"""
from __future__ import annotations

from multiprocessing import Pool

import numpy as np

from sen2cor3.rt import tables
from sen2cor3.rt.sixs import band_atmosphere_6s, band_names, load_srf, toa_reflectance

RHO = (0.05, 0.2, 0.5)


def draw(n: int, seed: int) -> list[dict]:
    import json
    rng = np.random.default_rng(seed)
    man = json.loads((tables.DATA_DIR / "manifest.json").read_text())["axes"]   # table ranges
    out = []
    for _ in range(n):
        out.append(dict(aerosol=str(rng.choice(["rural", "maritime"])), season=str(rng.choice(["summer", "winter"])),
                        ozone_du=float(rng.uniform(250, 460)), wv_gcm2=float(np.exp(rng.uniform(np.log(0.2), np.log(5.0)))),
                        aot550=float(rng.uniform(0.0, 0.5)),
                        elevation_km=float(rng.uniform(min(man["elevation_km"]), max(man["elevation_km"]))),
                        sza=float(rng.uniform(0, 70)), vza=float(rng.uniform(0, max(man["vza_deg"]))),
                        raa=float(rng.uniform(0, 180))))
    return out


def _direct(args):
    sensor, band, p = args
    wl, r = load_srf(sensor, band)
    return band_atmosphere_6s(wl, r, p["aerosol"], p["season"], p["ozone_du"], p["wv_gcm2"], p["aot550"],
                              p["elevation_km"], p["sza"], p["vza"], p["raa"])


def check(sensor: str, n: int = 20, seed: int = 1, processes: int = 2, log=print) -> dict:
    params = draw(n, seed)
    bands = band_names(sensor)
    jobs = [(sensor, b, p) for p in params for b in bands]
    log(f"{sensor}: {len(jobs)} direct 6S runs ({n} parameter sets x {len(bands)} bands)")
    with Pool(processes) as pool:
        direct = pool.map(_direct, jobs, chunksize=2)
    rows = {}
    print(f"\n{sensor}  |dTOA| over {n} random sets x rho_s {RHO}   (target p95 <= 0.001, max <= 0.003)")
    print(f"{'band':5s} {'max':>8s} {'p95':>8s} {'mean':>8s}  {'worst: dpath':>12s} {'dTg%':>7s} {'dTdTu%':>7s}")
    for b in bands:
        errs, worst = [], None
        for (sen, bb, p), d in zip(jobs, direct):
            if bb != b:
                continue
            atm = tables.atmosphere(sensor, b, p["aerosol"], p["season"], p["ozone_du"], p["wv_gcm2"], p["aot550"],
                                    p["elevation_km"], p["sza"], p["vza"], p["raa"])
            for rho in RHO:
                e = float(tables.surface_to_toa(rho, atm) - toa_reflectance(d, rho))
                errs.append(e)
                if worst is None or abs(e) > abs(worst[0]):
                    worst = (e, float(atm["path_toa"] - d["path"]), float(atm["tg"] / d["tg"] - 1) * 100,
                             float(atm["t_down"] * atm["t_up"] / (d["t_down"] * d["t_up"]) - 1) * 100)
        a = np.abs(errs)
        rows[b] = (float(a.max()), float(np.percentile(a, 95)), float(a.mean()))
        flag = "" if rows[b][0] <= 0.003 and rows[b][1] <= 0.001 else "  <-- above target"
        print(f"{b:5s} {a.max():8.5f} {np.percentile(a, 95):8.5f} {a.mean():8.5f}  {worst[1]:12.5f} "
              f"{worst[2]:7.3f} {worst[3]:7.3f}{flag}")
    return rows
