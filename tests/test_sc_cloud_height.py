"""Sen2Cor 3's cloud-height tracker (sen2cor3.sc.cloud_height) and the simulator's band parallax it measures.

* the tracker returns a known sub-pixel shift of a real-looking scene (the simulator's B8A surface) to 0.05 px;
* on simulated scenes (surface truth only, no 6S: fast) whose B08 sees each cloud moved by the simulator's band
  geometry, the mean tracked height is within 500 m of the clouds' true mean height (issue 14), for ten seeds;
* the height distribution of the shadow projection follows Sen2Cor 3's rules (Gaussian while mean + std < 5 km,
  else the generic one) and our fall-backs (too few points, no spread);
* the simulator's B08 parallax is its own view geometry (engine.BAND_ALONG_DEG), close to the 0.017 of real
  MSI angle grids.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2", reason="OpenCV (opencv-python-headless) is a runtime dependency: pip install -r requirements.txt")

from sen2cor3.sc import cloud_height as ch  # noqa: E402
from sen2cor3.simulate import engine  # noqa: E402
from sen2cor3.simulate.scene import PARALLAX_PER_M, build_scene  # noqa: E402


def _scene(seed: int):
    return build_scene(720, seed, "flat", 0.15, 1.5, 30.0, 150.0)


def _cloud_prob(sc) -> np.ndarray:
    cl = sc.block_mean(sc.cloud10, 20)
    return np.where(cl >= 0.6, 1.0, np.where(cl >= 0.25, 0.5, 0.0)).astype(np.float32)


@pytest.mark.parametrize("shift_px", [0.3, 0.7, 1.5])
def test_tracker_returns_a_known_shift(shift_px):
    from scipy import ndimage
    sc = _scene(21)
    ref = sc.surface("B8A", 20)
    moved = ndimage.shift(ref, (shift_px, 0.0), order=3, mode="nearest")
    mask = ch.stats_mask(_cloud_prob(sc))
    found = ch.track_shifts(ch.laplacian_u8(ch._counts(ref)), ch.laplacian_u8(ch._counts(moved)), mask)
    assert found is not None and found[2].size >= 10
    assert abs(float(np.median(found[2])) - shift_px) < 0.05


def test_mean_height_within_500_m_of_truth():
    errors = []
    for seed in range(30, 40):
        sc = _scene(seed)
        st = ch.height_stats(sc.surface("B08", 20), sc.surface("B8A", 20), _cloud_prob(sc), 20.0)
        assert st is not None and st.points >= ch.MIN_POINTS, seed
        errors.append(st.mean_m - float(np.mean(sc.cloud_heights_m)))
    print("tracked - true mean height (m):", [round(e) for e in errors])
    assert max(abs(e) for e in errors) < 500.0


def test_no_parallax_means_no_height():
    """A scene whose B08 equals its B8A: every tracked shift is ~0 (the tracker does not invent heights)."""
    sc = _scene(33)
    a = sc.surface("B8A", 20)
    st = ch.height_stats(a.copy(), a, _cloud_prob(sc), 20.0)
    assert st is not None and st.mean_m < 50.0


def test_shadow_height_distribution_rules():
    st = ch.HeightStats(mean_m=1500.0, std_m=400.0, min_m=300.0, max_m=3000.0, points=50)
    h, w = ch.shadow_height_distribution(st)
    assert h[0] == 0 and h[-1] == int(1500 + 4 * 400)
    assert h[int(np.argmax(w))] == 1500 and float(w.max()) == 1.0
    assert abs(float(np.interp(1100.0, h, w)) - math.exp(-0.5)) < 1e-3
    assert ch.shadow_height_distribution(None) is None
    assert ch.shadow_height_distribution(ch.HeightStats(4000.0, 1200.0, 0, 9000, 50)) is None      # >= 5 km
    assert ch.shadow_height_distribution(ch.HeightStats(1500.0, 0.0, 1500, 1500, 50)) is None      # no spread
    assert ch.shadow_height_distribution(ch.HeightStats(1500.0, 300.0, 0, 3000, ch.MIN_POINTS - 1)) is None


def test_no_clouds_no_heights():
    sc = _scene(21)
    assert ch.height_stats(sc.surface("B08", 20), sc.surface("B8A", 20),
                           np.zeros(sc.shape(20), np.float32), 20.0) is None


def test_simulator_parallax_is_its_band_geometry():
    along = engine.BAND_ALONG_DEG
    geometric = math.tan(math.radians(along["B8A"])) - math.tan(math.radians(along["B08"]))
    assert PARALLAX_PER_M == pytest.approx(geometric, rel=1e-12)
    assert 0.015 < PARALLAX_PER_M < 0.02          # real MSI angle grids: 0.0168-0.0174
    sc = _scene(30)
    yy, xx = np.mgrid[0:sc.size, 0:sc.size]

    def centroid(c):
        return float((c * yy).sum() / c.sum()), float((c * xx).sum() / c.sum())
    (y0, x0), (y1, x1) = centroid(sc.cloud10), centroid(sc.cloud_parallax10)
    shift_m = 10.0 * math.hypot(y1 - y0, x1 - x0)
    h = sc.cloud_heights_m
    assert PARALLAX_PER_M * min(h) - 2.0 < shift_m < PARALLAX_PER_M * max(h) + 2.0


def test_height_recoveries_give_low_clouds_back_to_the_ground_and_high_snow_to_the_clouds():
    """Sen2Cor 3's height-image step: a bright patch of ground labelled cloud (no parallax, low B10) becomes not
    vegetated with cloud probability 0; a real cloud (its parallax, high B10) stays a cloud; 'snow' on a real
    cloud becomes a medium-probability cloud (probability 0.5, snow 0)."""
    from sen2cor3.config.gipp import load_config
    from sen2cor3.sc import v3
    from sen2cor3.sc.recover import State
    cfg = load_config()
    c, th = cfg.sc.classificators, cfg.sc.thresholds
    sc = _scene(33)
    nir, nir_broad = sc.surface("B8A", 20), sc.surface("B08", 20)
    cloud = sc.block_mean(sc.cloud10, 20)
    n = nir.shape[0]
    scl = np.full((n, n), c.vegetation, np.uint8)
    p = np.zeros((n, n), np.float32)
    core = cloud >= 0.6
    scl[cloud >= 0.25], p[cloud >= 0.25] = c.high_proba_clouds, 1.0
    # a 'cloud' of bright ground far from the clouds, and 'snow' on part of the first cloud
    far = ~masks_dilate(cloud > 0, 40)
    rows, cols = np.nonzero(far)
    r0, c0 = int(rows[len(rows) // 2]), int(cols[len(cols) // 2])
    fake = np.zeros((n, n), bool)
    fake[max(r0 - 15, 0):r0 + 15, max(c0 - 15, 0):c0 + 15] = True
    fake &= far
    scl[fake], p[fake] = c.high_proba_clouds, 1.0
    ys, xs = np.nonzero(core)
    snow = core & (np.arange(n)[:, None] < np.median(ys))
    scl[snow] = c.snow_ice
    b10 = np.where(cloud > 0, np.float32(0.08), np.float32(0.002)).astype(np.float32)
    st = State(scl, p, np.zeros((n, n), np.float32), np.ones((n, n), bool), c)
    v3._height_recoveries(st, {"nir_broad": nir_broad, "nir": nir}, th, lambda: (b10, float(th.t1_b10)), None,
                         20.0)
    assert fake.sum() > 200 and snow.sum() > 20
    assert np.mean(st.scl[fake] == c.not_vegetated) > 0.9 and np.all(st.p[fake & (st.scl == c.not_vegetated)] == 0)
    real = core & ~snow
    assert np.mean(st.scl[real] == c.high_proba_clouds) > 0.95
    assert np.mean(st.scl[snow] == c.medium_proba_clouds) > 0.9
    assert np.all(st.p[snow & (st.scl == c.medium_proba_clouds)] == 0.5)


def masks_dilate(mask: np.ndarray, r: int) -> np.ndarray:
    from sen2cor3.sc import masks
    return masks.dilate(mask, np.ones((2 * r + 1, 2 * r + 1), bool))
