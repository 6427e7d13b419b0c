"""``python -m sen2cor3.simulate OUT_DIR ...``: a complete L1C SAFE from a synthetic scene, plus its truth.

Order of work: tile geometry and sensing time -> sun/view angle grids -> scene -> 6S runs (cached, 2
processes) -> TOA and DN per band at its native resolution -> L1C SAFE (``l1c_writer``) -> ``truth/``.

``--spacecraft S2P`` makes a Hyper MS L1C instead (PRISMA spectra aggregated to the MSI bands by
prisma4sen2like, which Sen2Cor 3 processes with ``--Hyper_MS --resolution 30``): the 6S runs use the S2A
responses, every band's TOA is computed on the 10 m grid and averaged over 3x3 pixels to 30 m (6x6 to 60 m for
B01), DN = rint(rho * 10000) + 1000, and the truth is written on the 30 m grid (``*_30m.tif``).

``--esacci`` (S2 only, off by default) also writes ``OUT_DIR/aux_data/`` with ESA CCI water bodies, land cover and
monthly snow condition maps made from the truth, in Sen2Cor 3's aux_data names and formats (``esacci.py``); the
scene and the product are the same with or without it.

``--spacecraft L8`` / ``L9`` makes a Landsat 8/9 Collection-2 L1TP product instead (``landsat.py``: OLI
responses in 6S, 30 m grid, C2 DN scaling, MTL txt/xml, ANG, QA_PIXEL/QA_RADSAT, angle bands; truth at 30 m).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from sen2cor3.rt import sixs

from . import forward as fw
from .l1c_writer import earth_sun_u, write_l1c_safe, write_s2p_safe
from .scene import (BANDS, CIRRUS_B10_MAX, CIRRUS_VIS_RATIO, CLASS_NAMES, CLOUD_B10_TOP, PARALLAX_BAND, PARALLAX_PER_M,
                    PARALLAX_REFERENCE, SPECTRA, TRACK_AZIMUTH_DEG, build_scene)
from .engine import (  # noqa: F401  (re-export: the historical home of the engine)
    RES, ORBIT_ALT_M, GRID_STEP_M, GRID_N, RES_S2P, HYPER_RES, SRF_SENSOR, LANDSAT, BAND_ALONG_DEG, Geometry,
    _to_lonlat, make_geometry, circular_mean_deg, grid_sample, Simulation, _zone_centres, illumination,
    environment_at, terrain_reflectance, band_toa, band_dn, block_mean64, cast_at)

def simulate(*, size: int = 1098, seed: int = 0, tile: str = "32TQM", date: str = "2023-07-15",
             spacecraft: str = "S2B", aot: float = 0.15, wv: float = 1.5, ozone: float = 330.0,
             aerosol: str = "rural", relief: str = "hills", sun_zenith: float | None = None,
             zones: int | None = None, baseline: str = "05.11", processes: int = 2, log=fw.stderr_log
             ) -> Simulation:
    """Build the scene and compute DN of all 13 bands (no files written); L8/L9: ``landsat.simulate_landsat``.
    Sentinel-2 keeps no TOA reflectance (``sim.toa`` stays empty): each band's DN is made strip by strip from it
    (``engine.band_dn``), which is what lets a full 10980 px tile fit in memory."""
    if spacecraft in LANDSAT:
        from .landsat import simulate_landsat
        return simulate_landsat(size=size, seed=seed, tile=tile, date=date, spacecraft=spacecraft, aot=aot, wv=wv,
                                ozone=ozone, aerosol=aerosol, relief=relief, sun_zenith=sun_zenith, zones=zones,
                                processes=processes, log=log)
    t0 = time.time()
    g = make_geometry(tile, size, date, sun_zenith)
    half = size * 5.0
    sza_c, saa_c = (float(v) for v in g.sun(half, half))
    log(f"tile {g.tile} EPSG:{g.epsg} centre {g.lat:.4f}N {g.lon:.4f}E, sensing {g.sensing:%Y-%m-%dT%H:%M:%S}, "
        f"sun zenith {sza_c:.2f} azimuth {saa_c:.2f}")
    scene = build_scene(size, seed, relief, aot, wv, sza_c, saa_c + g.north_grid_az, zones)
    season = fw.season_for(g.sensing, g.lat)
    centres = _zone_centres(scene)
    zone_sun = np.column_stack([grid_sample(g, g.sun_zenith_grid, centres[:, 0], centres[:, 1]),
                                grid_sample(g, g.sun_azimuth_grid, centres[:, 0], centres[:, 1], True)])
    zone_sun = np.round(zone_sun, 4)
    view_mean = {b: (round(float(np.nanmean(g.view_zenith_grid[b])), 4),
                     round(circular_mean_deg(g.view_azimuth_grid[b]), 4)) for b in BANDS}
    specs: dict[tuple[str, int], list[fw.RunSpec]] = {}
    for z in range(len(scene.zone_aot)):
        m10 = scene.zones(10) == z
        d = scene.dem10[m10]
        # zone_wv is the column above the ground; 6S takes a sea-level-referenced column and keeps only the
        # part above the target (rt.sixs): one atmosphere per zone, its column above the zone's mean ground
        wv_in = round(float(sixs.wv_input_for_column(scene.zone_wv[z], float(d.mean()) / 1000.0)), 4)
        for b in BANDS:
            nodes = fw.elevation_nodes_km(float(d.min()), float(d.max()), curved=b in fw.CURVED_BANDS)
            raa = round((zone_sun[z, 1] - view_mean[b][1]) % 360.0, 4)
            specs[(b, z)] = [fw.RunSpec(b, aerosol, season, float(ozone), wv_in,
                                        float(scene.zone_aot[z]), float(e), float(zone_sun[z, 0]),
                                        view_mean[b][0], raa) for e in nodes]
    log(f"scene {size}x{size} @10 m, relief {relief}, {len(scene.zone_aot)} zones, "
        f"{sum(len(v) for v in specs.values())} 6S runs needed ({time.time() - t0:.1f} s)")
    atm = fw.build_atmosphere(specs, SRF_SENSOR.get(spacecraft, spacecraft), processes=processes, log=log)
    log(f"6S done ({time.time() - t0:.1f} s)")
    sim = Simulation(g, scene, spacecraft, aerosol, season, float(ozone), zone_sun, view_mean, specs, atm)
    if relief != "flat":
        sim.cast20 = fw.cast_shadow(scene.dem(20), 20.0, sza_c, saa_c + g.north_grid_az)
    if sim.hyper_ms:
        _hyper_ms_bands(sim)
        log(f"TOA (10 m -> 30/60 m) and DN of 13 bands done ({time.time() - t0:.1f} s)")
        return sim
    offset = -1000.0 if float(baseline) >= 4.0 else 0.0
    for b in BANDS:
        sim.boa[b], sim.dn[b] = band_dn(sim, b, offset)
    sim.illum20 = tuple(a.astype(np.float32) for a in illumination(sim, 20))
    log(f"TOA and DN of 13 bands done ({time.time() - t0:.1f} s)")
    return sim


def _hyper_ms_bands(sim: Simulation) -> None:
    """S2P: TOA of every band on the 10 m grid, 3x3 means to 30 m (6x6 to 60 m for B01), DN = rint(rho *
    10000) + 1000 (RADIO_ADD_OFFSET -1000 whatever the baseline); BOA truth and illumination on the 30 m grid."""
    sc = sim.scene
    for b in BANDS:
        _, toa10 = band_toa(sim, b, 10)
        res = RES_S2P[b]
        sim.toa[b] = block_mean64(toa10, res // 10)
        sim.boa[b] = sc.surface(b, HYPER_RES)
        sim.dn[b] = fw.to_dn(sim.toa[b], sc.nodata(res), -1000.0)
    f_dir, sky = illumination(sim, 10)
    sim.illum30 = tuple(block_mean64(a, HYPER_RES // 10).astype(np.float32) for a in (f_dir, sky))


def truth_meta(sim: Simulation, args: dict) -> dict:
    """Everything a consumer of the truth needs to reproduce the forward model."""
    sc = sim.scene
    return {
        "arguments": args, "sensor": sim.sensor, "tile": sim.geometry.tile, "epsg": sim.geometry.epsg,
        "sensing_time": sim.geometry.sensing.isoformat(), "aerosol": sim.aerosol, "season": sim.season,
        "ozone_du": sim.ozone_du, "zones_aot550": sc.zone_aot, "zones_wv_gcm2": sc.zone_wv,
        "zones_wv_6s_input_gcm2": [sim.specs[("B09", z)][0].wv_gcm2 for z in range(len(sc.zone_wv))],
        "zones_sun_zenith_azimuth_deg": sim.zone_sun, "view_mean_zenith_azimuth_deg": sim.view_mean,
        "relative_azimuth": "raa = (sun_azimuth - view_azimuth) mod 360, passed to rt.sixs as raa",
        "elevation_nodes_km": {f"{b}/{z}": [s.elevation_km for s in v] for (b, z), v in sim.specs.items()},
        "meridian_convergence_deg": sim.geometry.north_grid_az, "sun_zenith_shift_deg": sim.geometry.sun_shift,
        "cloud_heights_m": sc.cloud_heights_m, "cirrus_b10_max": CIRRUS_B10_MAX,
        "cloud_parallax": {"band": PARALLAX_BAND, "reference": PARALLAX_REFERENCE, "shift_per_height_m": PARALLAX_PER_M,
                           "track_azimuth_grid_deg": TRACK_AZIMUTH_DEG},
        "cirrus_other_band_ratio": CIRRUS_VIS_RATIO, "cloud_top_b10": CLOUD_B10_TOP,
        "classes": CLASS_NAMES, "spectra_b01_b12": SPECTRA,
        "model": ("rho_toa = path + tg*(E_pix*t_up_dir*rho_s + t_up_dif*E0*rho_env/(1 - s_alb*rho_env)) + cirrus; "
                  "E0 = t_down_dir + t_down_dif; E_pix = t_down_dir*F_dir + t_down_dif*F_dif + E0*(1-V)*rho_ter "
                  "+ V*E0*s_alb*rho_env/(1 - s_alb*rho_env); "
                  "F_dir = max(cos i,0)/cos(sza)*(1-cloud_shadow)*(1-cast_shadow); F_dif = k*F_t + (1-k)*V "
                  "(Hay, k = t_down_dir, F_t = F_dir without the cloud shadow: clouds block the direct beam only); "
                  "V = (1+cos slope)/2; rho_env = 6S environment functions of rho x relative irradiance E/E0 "
                  "(f_ray*env_rayleigh + (1-f_ray)*env_aerosol, 20 m grid, 5 km, scene mirrored); rho_ter = 1 km "
                  "box mean of rho x relative irradiance; DN = rint(rho_toa*10000) - RADIO_ADD_OFFSET. "
                  "ILLUM_DIF.tif = V (sky-view factor) at 20 m"),
    } | (_hyper_meta(sim) if sim.hyper_ms else {})


def _hyper_meta(sim: Simulation) -> dict:
    """Extra truth.json entries of a Hyper MS (S2P) simulation."""
    return {
        "spacecraft": "S2P", "srf_sensor": SRF_SENSOR["S2P"], "truth_resolution_m": HYPER_RES,
        "band_resolution_m": RES_S2P,
        "hyper_ms": ("Hyper MS (S2P, PRISMA aggregated to MSI bands by prisma4sen2like): the 6S runs use the S2A "
                     "responses; rho_toa of every band is computed with the model above on the 10 m grid "
                     "(10 m DEM, illumination, cast shadow repeated from 20 m, environment repeated from 20 m) "
                     "and averaged over 3x3 pixels to 30 m (6x6 to 60 m for B01); DN = rint(rho_toa*10000) + 1000 "
                     "(RADIO_ADD_OFFSET -1000 at baseline 00.00), 0 = no data. Truth on the 30 m grid: "
                     "BOA_Bxx_30m.tif = 3x3 mean of the 10 m surface (all 13 bands), SCL_30m.tif = class covering "
                     "the largest area of the pixel with the 20 m rules on 30 m fractions, AOT/WVP_30m.tif = "
                     "zone values, DEM_30m.tif = 3x3 mean of the 10 m DEM, ILLUM_DIR_30m.tif / "
                     "ILLUM_DIF_30m.tif = 3x3 means of the 10 m F_dir / V"),
    }


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring); prints the product path on stdout."""
    p = argparse.ArgumentParser(prog="python -m sen2cor3.simulate",
                                description="Simulate a Sentinel-2 (or Hyper MS S2P) L1C SAFE, or a Landsat 8/9 "
                                            "C2 L1TP product (6S forward model), and its truth.")
    p.add_argument("out_dir", type=Path)
    p.add_argument("--size", type=int, default=1098, help="side in 10 m pixels, a multiple of 6 (default 1098)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--baseline", default=None,
                   help="processing baseline dd.dd (default 05.11; S2P products are always 00.00)")
    p.add_argument("--aot", type=float, default=0.15, help="mean AOT at 550 nm")
    p.add_argument("--wv", type=float, default=1.5, help="mean water vapour column (g/cm2)")
    p.add_argument("--ozone", type=float, default=330.0, help="ozone column (DU)")
    p.add_argument("--aerosol", choices=("rural", "maritime"), default="rural")
    p.add_argument("--relief", choices=("flat", "hills", "mountains"), default="hills")
    p.add_argument("--sun-zenith", type=float, default=None, help="force the sun zenith at the scene centre")
    p.add_argument("--date", default="2023-07-15", help="YYYY-MM-DD (or full ISO time, UTC)")
    p.add_argument("--tile", default="32TQM", help="MGRS tile id")
    p.add_argument("--spacecraft", choices=("S2A", "S2B", "S2C", "S2P", *LANDSAT), default="S2B",
                   help="S2A/S2B/S2C: Sentinel-2 L1C (10/20/60 m, JPEG 2000); S2P = Hyper MS (PRISMA aggregated "
                        "to MSI bands, 30 m; GeoTIFF as prisma4sen2like writes it, for Sen2Cor's --Hyper_MS "
                        "--resolution 30); L8/L9 = Landsat 8/9 Collection-2 L1TP (30 m, size/3 pixels; the MGRS "
                        "--tile only places the scene). Default S2B")
    p.add_argument("--zones", type=int, default=None, help="atmosphere zones per side (default 3, 2 if small)")
    p.add_argument("--processes", type=int, default=2, help="parallel 6S processes")
    p.add_argument("--esacci", action="store_true",
                   help="also write OUT_DIR/aux_data with ESA CCI water bodies, land cover and monthly snow condition "
                        "maps made from the truth, named and laid out as in a Sen2Cor 3 installation (S2A/S2B/S2C "
                        "only; see sen2cor3.simulate.esacci). Off by default")
    a = p.parse_args(argv)
    if a.esacci and a.spacecraft not in ("S2A", "S2B", "S2C"):
        p.error("--esacci: ESA CCI maps are written for Sentinel-2 (S2A/S2B/S2C) simulations only")
    if a.spacecraft == "S2P":
        if a.baseline not in (None, "00.00"):
            p.error("--baseline: a Hyper MS (S2P) product always has processing baseline 00.00")
        a.baseline = "00.00"
    elif a.spacecraft in LANDSAT:
        if a.baseline is not None:
            p.error("--baseline: Landsat products have no processing baseline")
    elif a.baseline is None:
        a.baseline = "05.11"
    if a.size % 6 or a.size < 12 or a.size > 10980:
        p.error("--size must be a multiple of 6 between 12 and 10980")
    if not (0 <= a.aot <= 3 and 0 <= a.wv <= 8 and 100 <= a.ozone <= 700):
        p.error("--aot/--wv/--ozone out of range")
    t0 = time.time()
    sim = simulate(size=a.size, seed=a.seed, tile=a.tile, date=a.date, spacecraft=a.spacecraft, aot=a.aot,
                   wv=a.wv, ozone=a.ozone, aerosol=a.aerosol, relief=a.relief, sun_zenith=a.sun_zenith,
                   zones=a.zones, baseline=a.baseline, processes=a.processes)
    path = write_product(sim, a.out_dir, a.baseline)
    fw.stderr_log(f"product written ({time.time() - t0:.1f} s)")
    write_simulation_truth(sim, a.out_dir, {k: str(v) for k, v in vars(a).items()})
    fw.stderr_log(f"truth written ({time.time() - t0:.1f} s)")
    if a.esacci:
        from .esacci import write_esacci_aux
        g = sim.geometry
        aux = write_esacci_aux(a.out_dir, sim.scene.classes20, g.ulx, g.uly, g.epsg)
        fw.stderr_log(f"ESA CCI maps written to {aux} ({time.time() - t0:.1f} s)")
    print(path)
    return 0


def write_simulation_truth(sim: Simulation, out_dir: Path, args: dict) -> Path:
    """``out_dir/truth`` for this simulation."""
    from .truth import write_truth, write_truth_grid
    if sim.sensor in LANDSAT:
        from .landsat import write_landsat_truth
        return write_landsat_truth(sim, out_dir, args)
    sc, g = sim.scene, sim.geometry
    if sim.hyper_ms:
        r = HYPER_RES
        z = sc.zones(r)
        return write_truth_grid(out_dir, epsg=g.epsg, res=r, ulx=g.ulx, uly=g.uly, boa=sim.boa,
                                scl=sc.scl(r, cast_at(sim, r)), aot=sc.zone_aot[z].astype(np.float32),
                                wvp=sc.zone_wv[z].astype(np.float32), dem=sc.dem(r), dem10=sc.dem10,
                                illum=sim.illum30, meta=truth_meta(sim, args))
    gts = {r: (g.ulx, float(r), 0.0, g.uly, 0.0, -float(r)) for r in (10, 20, 60)}
    z20 = sc.zones(20)
    return write_truth(out_dir, epsg=g.epsg, geotransforms=gts, boa=sim.boa, scl20=sc.scl20(sim.cast20),
                       aot20=sc.zone_aot[z20].astype(np.float32), wvp20=sc.zone_wv[z20].astype(np.float32),
                       dem20=sc.dem(20), dem10=sc.dem10, illum20=sim.illum20, meta=truth_meta(sim, args),
                       fractions20={"CLOUD_FRACTION": sc.block_mean(sc.cloud10, 20),
                                    "CLOUD_SHADOW_FRACTION": sc.block_mean(sc.cloud_shadow10, 20),
                                    "CIRRUS_B10": sc.block_mean(sc.cirrus10, 20)})


def _classi_and_cover(scl: np.ndarray, n60: int) -> tuple[dict[str, np.ndarray], float, float]:
    """MSK_CLASSI layers at 60 m from the true classes ``scl`` (20 m for S2, 30 m for S2P): a 60 m pixel is
    flagged when at least half of its true pixels are of that kind; and the cloud and snow cover (% of valid)."""
    f = scl.shape[0] // n60

    def to60(mask: np.ndarray) -> np.ndarray:
        return mask.reshape(n60, f, n60, f).mean(axis=(1, 3)) >= 0.5

    def pct(mask: np.ndarray) -> float:
        return round(float(mask[valid].mean() * 100.0), 4) if valid.any() else 0.0

    valid = scl > 0
    classi = {"opaque": to60(np.isin(scl, (8, 9))), "cirrus": to60(scl == 10), "snow": to60(scl == 11)}
    return classi, pct(np.isin(scl, (8, 9, 10))), pct(scl == 11)


def write_product(sim: Simulation, out_dir: Path, baseline: str) -> Path:
    """The L1C SAFE of this simulation (angle grids, DN, L1C class masks from the truth): S2 (``write_l1c_safe``,
    classes at 20 m) or Hyper MS (``write_s2p_safe``: 30 m bands, B01 60 m; classes at 30 m, snow cover); for
    L8/L9 the C2 L1TP folder (``landsat.write_landsat_product``)."""
    if sim.sensor in LANDSAT:
        from .landsat import write_landsat_product
        return write_landsat_product(sim, out_dir)
    g, sc = sim.geometry, sim.scene
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    res = HYPER_RES if sim.hyper_ms else 20
    classi, cloud_pct, snow_pct = _classi_and_cover(sc.scl(res, cast_at(sim, res)), sc.size // 6)
    common = dict(tile_id=g.tile, sensing_time=g.sensing, dn_bands=sim.dn, sun_zenith_grid=g.sun_zenith_grid,
                  sun_azimuth_grid=g.sun_azimuth_grid, view_zenith=g.view_zenith_grid,
                  view_azimuth=g.view_azimuth_grid, u=earth_sun_u(g.sensing), classi_masks=classi, size_10m=sc.size,
                  angle_step_m=GRID_STEP_M, cloud_coverage=cloud_pct)
    if sim.hyper_ms:
        return write_s2p_safe(out_dir, **common, snow_coverage=snow_pct)
    return write_l1c_safe(out_dir, **common, spacecraft=sim.sensor, baseline=baseline, threads=2)
