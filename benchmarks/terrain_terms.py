#!/usr/bin/env python3
"""The rugged-terrain forward model term by term: the simulator's against the processor's, on one grid scene.

    .venv/bin/python benchmarks/terrain_terms.py benchmarks/cache/grid/mountains_haze_autumn B07,B8A

Rebuilds the simulation of an ``accuracy_grid.py`` scene from its ``truth/truth.json`` (6S runs from the cache)
and, per band at 20 m over true clear land cut at the sextiles of ``ILLUM_DIR`` (as the grid measures), prints the
mean of each TOA term of the simulator (``simulate.forward``: D direct, F diffuse, T terrain-reflected, B skylight
backscattered by the environment, A adjacency) and the B and A the processor's model gives the same pixel with the
same 6S terms and the same illumination: lit by the pixel's own irradiance (Sen2Cor 3's step 2,
``AcOptions.env_illumination = "pixel"``) and lit by their own (``"own"``, the default). The environment is what
the processor would see, the 6S-weighted environment of the apparent reflectance (here from the truth). Then the
bias of an oracle inversion of the simulator's TOA with each model (no retrieval error: what the model alone
costs), and with the own-lit model plus Sen2Cor's faint-light rule: cos i clamped at 26/255 on every pixel, self and
cast shadows included, and Hay's circumsolar part kept there (``ac.terrain.direct_factor(shadow_floor=True)``).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from osgeo import gdal

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from sen2cor3.ac.terrain import COS_I_MIN  # noqa: E402
from sen2cor3.simulate import engine, forward as fw  # noqa: E402
from sen2cor3.simulate.cli import simulate  # noqa: E402

RES = 20
CLEAR_LAND = (4, 5)


def rebuild(scene_dir: Path):
    """The grid scene's Simulation, from its truth.json arguments."""
    a = json.loads((scene_dir / "truth" / "truth.json").read_text())["arguments"]
    return simulate(size=int(a["size"]), seed=int(a["seed"]), date=a["date"], aot=float(a["aot"]), wv=float(a["wv"]),
                    aerosol=a["aerosol"], relief=a["relief"], sun_zenith=float(a["sun_zenith"]),
                    zones=None if a["zones"] == "None" else int(a["zones"]), log=lambda m: None)


def sextiles(scene_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """(true clear land, sextile index 0..5 of ILLUM_DIR over it), as accuracy_grid.measure cuts them."""
    illum = gdal.Open(str(scene_dir / "truth" / "ILLUM_DIR.tif")).ReadAsArray()
    clear = np.isin(gdal.Open(str(scene_dir / "truth" / "SCL.tif")).ReadAsArray(), CLEAR_LAND)
    edges = np.quantile(illum[clear], np.linspace(0.0, 1.0, 7))
    return clear, np.clip(np.searchsorted(edges[1:-1], illum, side="right"), 0, 5)


def band_terms(sim, band: str) -> dict[str, np.ndarray]:
    """Per-pixel TOA terms of the simulator and of the processor's two environment models, and the oracle
    inversions of the simulator's TOA (see the module docstring)."""
    sc = sim.scene
    rho = sc.surface(band, RES).astype(np.float64)
    f_t, cs, sky = engine.illumination_parts(sim, RES)
    f_dir = f_t * (1.0 - cs)
    env_r, env_a = engine.environment_at(sim, band, RES)
    rho_ter = engine.terrain_reflectance(sim, rho, f_dir, sky, RES, band, f_t)
    dem, zones = sc.dem(RES), sc.zones(RES)
    names = ("D", "F", "T", "B", "A", "B_pixel", "A_pixel", "rho_pixel", "rho_own", "rho_own_rules")
    out = {k: np.zeros(rho.shape) for k in names}
    for z in range(len(sc.zone_aot)):
        m = zones == z
        t = sim.atmosphere[(band, z)].at(dem[m])
        td, tf, s_alb = t["t_down_dir"], t["t_down_dif"], t["s_alb"]
        t_ud = np.minimum(t["t_up_dir"], t["t_up"])
        g, q, e0 = t["tg"] * t["t_up"], 1.0 - t_ud / t["t_up"], td + tf
        re = t["f_ray"] * env_r[m] + (1.0 - t["f_ray"]) * env_a[m]
        v, r, fd, ft = sky[m], rho[m], f_dir[m], f_t[m]
        fdif = fw.hay_diffuse(ft, v, td)
        e_pix = td * fd + tf * fdif + e0 * (1.0 - v) * rho_ter[m]
        a_env = e0 * re / (1.0 - s_alb * re)
        out["D"][m], out["F"][m] = g * (1 - q) * r * td * fd, g * (1 - q) * r * tf * fdif
        out["T"][m] = g * (1 - q) * r * e0 * (1.0 - v) * rho_ter[m]
        out["B"][m], out["A"][m] = g * (1 - q) * r * v * s_alb * a_env, g * q * a_env
        out["B_pixel"][m] = g * (1 - q) * r * e_pix * s_alb * re / (1.0 - s_alb * re)
        out["A_pixel"][m] = g * q * e_pix * re / (1.0 - s_alb * re)
        y = out["D"][m] + out["F"][m] + out["T"][m] + out["B"][m] + out["A"][m]      # TOA - path
        out["rho_pixel"][m] = (y * (1.0 - s_alb * re) / (g * e_pix) - q * re) / (1.0 - q)

        def own(e):
            return (y - q * g * a_env) / ((1.0 - q) * g * (e + v * s_alb * a_env))
        out["rho_own"][m] = own(e_pix)
        mu0 = np.cos(np.radians(sim.zone_sun[z, 0]))
        # the floor on every pixel, shadows included, and b = 1 everywhere (Sen2Cor's SDW shadows read as 1/255)
        fd_r = np.maximum(fd, COS_I_MIN / mu0)
        fdif_r = fw.hay_diffuse(fd_r, v, td)
        out["rho_own_rules"][m] = own(td * fd_r + tf * fdif_r + e0 * (1.0 - v) * rho_ter[m])
    for k in ("rho_pixel", "rho_own", "rho_own_rules"):
        out[k] -= rho
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    scene_dir, bands = Path(args[0]), args[1].split(",")
    sim = rebuild(scene_dir)
    clear, idx = sextiles(scene_dir)
    for band in bands:
        out = band_terms(sim, band)
        print(f"{scene_dir.name} {band}: TOA terms (sextile means, darkest first) and oracle inversion bias")
        print("sext |     D      F      T      B      A | B_pixel A_pixel | bias: pixel-lit   own-lit   own-lit+rules")
        for k in range(6):
            s = clear & (idx == k)
            mean = {n: float(v[s].mean()) for n, v in out.items()}
            print(f"  {k}  | {mean['D']:.4f} {mean['F']:.4f} {mean['T']:.4f} {mean['B']:.4f} {mean['A']:.4f} | "
                  f"{mean['B_pixel']:.4f}  {mean['A_pixel']:.4f} |       {mean['rho_pixel']:+.4f}   "
                  f"{mean['rho_own']:+.4f}   {mean['rho_own_rules']:+.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
