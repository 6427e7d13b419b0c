"""Shared helpers for the scene-classification tests (GIPP values, hand-made spectra)."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
GIPP_SC = SHARED / "data/gipp_reference/sen2cor_2.11_s2tbx_rendered/L2A_CAL_SC_GIPP.xml"
BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")

# Hand-made TOA spectra (order as BANDS), typical of each surface.
SPECTRA = {
    "thick_cloud":  (0.45, 0.45, 0.43, 0.42, 0.43, 0.44, 0.45, 0.46, 0.45, 0.15, 0.020, 0.32, 0.22),
    "snow":         (0.80, 0.80, 0.78, 0.75, 0.74, 0.72, 0.71, 0.70, 0.70, 0.30, 0.005, 0.08, 0.06),
    "clear_water":  (0.12, 0.10, 0.08, 0.05, 0.04, 0.03, 0.028, 0.026, 0.025, 0.01, 0.001, 0.010, 0.008),
    "vegetation":   (0.08, 0.05, 0.08, 0.04, 0.10, 0.28, 0.35, 0.38, 0.40, 0.12, 0.002, 0.18, 0.08),
    "bright_soil":  (0.14, 0.15, 0.20, 0.25, 0.28, 0.30, 0.31, 0.31, 0.32, 0.10, 0.003, 0.40, 0.33),
    "dark_soil":    (0.09, 0.08, 0.10, 0.12, 0.14, 0.16, 0.17, 0.17, 0.18, 0.06, 0.002, 0.25, 0.20),
    "cirrus_land":  (0.10, 0.09, 0.10, 0.09, 0.13, 0.24, 0.28, 0.29, 0.30, 0.10, 0.020, 0.17, 0.09),
}
EXPECTED = {"thick_cloud": 9, "snow": 11, "clear_water": 6, "vegetation": 4, "bright_soil": 5,
            "dark_soil": 5, "cirrus_land": 10}


def _from_gipp():
    if not GIPP_SC.exists():
        pytest.skip(f"reference GIPP absent ({GIPP_SC}): /work/shared not mounted")
    from lxml import etree
    root = etree.parse(str(GIPP_SC)).getroot()

    def section(tag, cast):
        el = root.find(f"Scene_Classification/{tag}")
        return SimpleNamespace(**{e.tag.lower(): cast(e.text) for e in el if isinstance(e.tag, str)})

    return section("Thresholds", float), section("Classificators", int)


def sc_config():
    """(thresholds, classificators): the project config when it exists, else the reference GIPP."""
    try:
        from sen2cor3.config.gipp import load_config  # type: ignore
    except ImportError:
        return _from_gipp()
    cfg = load_config()
    return cfg.sc.thresholds, cfg.sc.classificators


def uniform_toa(name: str, shape=(24, 24)) -> dict[str, np.ndarray]:
    return {b: np.full(shape, v, np.float32) for b, v in zip(BANDS, SPECTRA[name])}


def band(name: str, b: str) -> np.ndarray:
    return np.array([SPECTRA[name][BANDS.index(b)]], np.float32)


def run(toa, *, classic=True, nodata=None, saturated=None, sza=30.0, saa=150.0, res=20.0, **kw):
    from sen2cor3.sc import classify
    th, cl = sc_config()
    shape = next(iter(toa.values())).shape
    nodata = np.zeros(shape, bool) if nodata is None else nodata
    kw.setdefault("median_filter", 0)
    return classify(toa, nodata, saturated, sun_zenith_deg=sza, sun_azimuth_deg=saa, view_zenith_deg=5.0,
                    view_azimuth_deg=100.0, resolution_m=res, thresholds=th, classificators=cl,
                    classic=classic, **kw)


def test_fast_morphology_equals_scipy():
    """median3 (sorting network) and dilate_disk (row spans) give scipy's results exactly."""
    from scipy import ndimage
    from sen2cor3.sc.masks import dilate_disk, median3
    rng = np.random.default_rng(7)
    for shape in [(2, 3), (31, 47), (160, 120)]:
        for a in ((rng.random(shape) * 9).astype(np.float32), rng.integers(0, 12, shape).astype(np.uint8),
                  rng.random(shape) > 0.6):
            assert np.array_equal(median3(a), ndimage.median_filter(a, size=3))
        m = rng.random(shape) < 0.03
        m[0, -1] = True                      # the distance transform needs one set pixel
        for r in (1, 3, 5, 9):
            assert np.array_equal(dilate_disk(m, r), ndimage.distance_transform_edt(~m) <= r)
