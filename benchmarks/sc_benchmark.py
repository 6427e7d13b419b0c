"""Time the scene classification on a synthetic 5490 x 5490 (20 m) tile.

The scene: a patchwork of crop fields (vegetation and bare soil), a lake and a river, cumulus
clouds with their shadows cast along the sun geometry, and a band of thin cirrus.  Spectra
are typical TOA reflectances.  Run:  .venv/bin/python benchmarks/sc_benchmark.py [size]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sen2cor3.sc import classify, scl_percentages  # noqa: E402
from sen2cor3.sc.shadows import shadow_offset_pixels  # noqa: E402

BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")
# TOA spectra, order as BANDS
SPECTRA = {
    "vegetation": (0.09, 0.06, 0.08, 0.045, 0.10, 0.25, 0.31, 0.33, 0.35, 0.10, 0.002, 0.17, 0.08),
    "soil":       (0.12, 0.11, 0.14, 0.17, 0.20, 0.23, 0.25, 0.26, 0.27, 0.08, 0.003, 0.33, 0.26),
    "water":      (0.12, 0.09, 0.07, 0.045, 0.035, 0.025, 0.022, 0.02, 0.018, 0.005, 0.001, 0.008, 0.006),
    "cloud":      (0.48, 0.46, 0.44, 0.43, 0.44, 0.45, 0.46, 0.47, 0.47, 0.16, 0.025, 0.33, 0.22),
}
SHADOW_FACTOR = np.array([0.35, 0.32, 0.3, 0.28, 0.28, 0.25, 0.25, 0.25, 0.25, 0.3, 1.0, 0.25, 0.25], np.float32)
TRUTH = {"vegetation": 4, "soil": 5, "water": 6, "cloud": 9, "shadow": 3}


def synthetic_scene(n: int = 5490, seed: int = 0, *, res: float = 20.0, sza: float = 35.0,
                    saa: float = 150.0, cloud_height: float = 1500.0):
    """(toa dict, truth class map) for an n x n tile."""
    rng = np.random.default_rng(seed)
    truth = np.full((n, n), TRUTH["vegetation"], np.uint8)
    # fields: blocks of ~1 km, 40 % bare
    f = max(n // 50, 1)
    blocks = rng.random(((n + f - 1) // f, (n + f - 1) // f)) < 0.4
    truth[np.kron(blocks, np.ones((f, f), bool))[:n, :n]] = TRUTH["soil"]
    yy, xx = np.ogrid[:n, :n]
    truth[((yy - 0.3 * n) ** 2 + (xx - 0.7 * n) ** 2) < (0.08 * n) ** 2] = TRUTH["water"]
    truth[np.abs(xx - (0.2 * n + 0.1 * yy)) < max(n // 200, 2)] = TRUTH["water"]
    # clouds: smoothed noise blobs covering ~15 %
    noise = ndimage.gaussian_filter(rng.standard_normal((n // 8 + 1, n // 8 + 1)).astype(np.float32), 3)
    noise = ndimage.zoom(noise, 8, order=1)[:n, :n]
    cloud = noise > np.quantile(noise, 0.85)
    dr, dc = shadow_offset_pixels(cloud_height, sza, saa, res)
    shadow = ndimage.shift(cloud.astype(np.uint8), (dr, dc), order=0) > 0
    shadow &= ~cloud
    toa = {b: np.empty((n, n), np.float32) for b in BANDS}
    for name, code in (("vegetation", 4), ("soil", 5), ("water", 6)):
        m = truth == code
        for i, b in enumerate(BANDS):
            toa[b][m] = SPECTRA[name][i]
    sh = shadow & (truth != TRUTH["water"])
    for i, b in enumerate(BANDS):
        toa[b][sh] *= SHADOW_FACTOR[i]
        toa[b][cloud] = SPECTRA["cloud"][i]
        toa[b] *= (1 + 0.03 * rng.standard_normal((n, n), dtype=np.float32))
        np.clip(toa[b], 1e-4, None, out=toa[b])
    truth[sh] = TRUTH["shadow"]
    truth[cloud] = TRUTH["cloud"]
    return toa, truth


def reference_config():
    """Thresholds and classificators from the reference GIPP (or the project config once present)."""
    try:
        from sen2cor3.config.gipp import load_config  # type: ignore
        cfg = load_config()
        return cfg.sc.thresholds, cfg.sc.classificators
    except Exception:
        from lxml import etree
        p = Path(__file__).resolve().parents[2] / "shared/data/gipp_reference/sen2cor_2.11_s2tbx_rendered/L2A_CAL_SC_GIPP.xml"
        root = etree.parse(str(p)).getroot()
        def ns(tag):
            el = root.find(f"Scene_Classification/{tag}")
            return SimpleNamespace(**{e.tag.lower(): (int(e.text) if tag == "Classificators" else float(e.text))
                                      for e in el if isinstance(e.tag, str)})
        return ns("Thresholds"), ns("Classificators")


def main(n: int = 5490) -> None:
    th, cl = reference_config()
    sza, saa = 35.0, 150.0
    t0 = time.perf_counter()
    toa, truth = synthetic_scene(n, sza=sza, saa=saa)
    print(f"scene {n}x{n} built in {time.perf_counter() - t0:.1f} s")
    nodata = np.zeros((n, n), bool)
    for classic in (True, False):
        t0 = time.perf_counter()
        out = classify(toa, nodata, None, sun_zenith_deg=sza, sun_azimuth_deg=saa, view_zenith_deg=5.0,
                       view_azimuth_deg=100.0, resolution_m=20.0, thresholds=th, classificators=cl,
                       median_filter=0, classic=classic)
        dt = time.perf_counter() - t0
        agree = float((out.scl == truth).mean())
        rec = {k: float((out.scl[truth == v] == v).mean()) for k, v in TRUTH.items()}
        print(f"classic={classic}: classify {dt:.1f} s, agreement with truth {agree:.3f}, recall "
              + ", ".join(f"{k} {v:.3f}" for k, v in rec.items()))
        print("  CLOUDY_PIXEL_PERCENTAGE", round(scl_percentages(out.scl, cl)["CLOUDY_PIXEL_PERCENTAGE"], 2))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5490)
