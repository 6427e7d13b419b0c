"""Each spectral test of the scene classification on hand-made TOA spectra."""
from __future__ import annotations

import numpy as np
import pytest

from sen2cor3.sc import spectral_tests as T
from test_sc_common import EXPECTED, SPECTRA, band, run, sc_config, uniform_toa


def test_clip01_soft_threshold():
    x = np.array([0.0, 0.06, 0.155, 0.25, 1.0], np.float32)
    np.testing.assert_allclose(T.clip01(x, 0.06, 0.25), [0, 0, 0.5, 1, 1], atol=1e-6)
    # decreasing form (t1 > t2)
    np.testing.assert_allclose(T.clip01(np.float32([0.3, 0.185, 0.1]), 0.25, 0.12), [0, 0.5, 1], atol=1e-6)


def test_brightness_is_squared():
    th, _ = sc_config()
    mid = np.float32([(th.t1_b04 + th.t2_b04) / 2])
    np.testing.assert_allclose(T.brightness_confidence(mid, th), [0.25], atol=1e-6)
    assert T.brightness_confidence(band("thick_cloud", "B04"), th)[0] == 1
    assert T.brightness_confidence(band("vegetation", "B04"), th)[0] == 0


def test_ndsi_cloud_test_rejects_bright_swir():
    th, _ = sc_config()
    cloud = T.ndsi(band("thick_cloud", "B03"), band("thick_cloud", "B11"))
    soil = T.ndsi(band("bright_soil", "B03"), band("bright_soil", "B11"))
    assert T.ndsi_cloud_confidence(cloud, th)[0] == 1
    assert T.ndsi_cloud_confidence(soil, th)[0] == 0


def test_snow_chain_on_snow_and_cloud():
    th, _ = sc_config()
    g = lambda n, b: band(n, b)  # noqa: E731
    snow = (T.snow_ndsi_confidence(T.ndsi(g("snow", "B03"), g("snow", "B11")), th)
            * T.snow_b8a_confidence(g("snow", "B8A"), th) * T.snow_b02_confidence(g("snow", "B02"), th)
            * T.snow_b02_b04_confidence(g("snow", "B02"), g("snow", "B04"), th))
    assert snow[0] == 1 and not T.snow_red_edge_excluded(g("snow", "B05"), g("snow", "B8A"))[0]
    cloud = T.snow_ndsi_confidence(T.ndsi(g("thick_cloud", "B03"), g("thick_cloud", "B11")), th)
    assert cloud[0] == 0
    assert T.snow_red_edge_excluded(g("vegetation", "B05"), g("vegetation", "B8A"))[0]


def test_ndvi_vegetation():
    th, _ = sc_config()
    f = T.ndvi_confidence(T.ndvi(band("vegetation", "B8A"), band("vegetation", "B04")), th)
    assert T.vegetation_candidates(f, band("vegetation", "B02"))[0]
    f = T.ndvi_confidence(T.ndvi(band("bright_soil", "B8A"), band("bright_soil", "B04")), th)
    assert f[0] == 0


@pytest.mark.parametrize("name", ["bright_soil", "dark_soil"])
def test_soil_test(name):
    th, _ = sc_config()
    soil, amb, _ = T.soil_test(band(name, "B02"), band(name, "B11"), th)
    assert soil[0] and not amb[0]
    soil, _, _ = T.soil_test(band("thick_cloud", "B02"), band("thick_cloud", "B11"), th)
    assert not soil[0]


def test_water_tests():
    th, _ = sc_config()
    a = {b: band("clear_water", b) for b in ("B02", "B04", "B8A", "B11", "B12")}
    water, amb, _ = T.water_test(a["B02"], a["B04"], a["B8A"], a["B11"], a["B12"], th)
    assert water[0] and not amb[0]
    assert T.water_blue_red_test(a["B02"], a["B04"], a["B8A"])[0]
    v = {b: band("vegetation", b) for b in ("B02", "B04", "B8A", "B11", "B12")}
    assert not T.water_test(v["B02"], v["B04"], v["B8A"], v["B11"], v["B12"], th)[0][0]
    # ambiguous factor: 1 at T21, 0 at T22
    r = np.float32([th.t21_r_b02_b11, th.t22_r_b02_b11])
    _, _, fac = T.water_test(r * 0.01, np.float32([0.05, 0.05]), np.float32([0.01, 0.01]),
                             np.float32([0.01, 0.01]), np.float32([0.0, 0.0]), th)
    np.testing.assert_allclose(fac, [1, 0], atol=1e-5)


def test_rocks_and_b04_b11():
    th, _ = sc_config()
    rock, _, _ = T.rocks_sand_test(band("bright_soil", "B02"), band("bright_soil", "B8A"),
                                   band("bright_soil", "B11"), th)
    assert rock[0]
    assert T.b04_b11_confidence(np.float32([0.3]), np.float32([0.05]))[0] == 1
    assert T.b04_b11_confidence(np.float32([0.3]), np.float32([0.3]))[0] == 0


def test_cirrus_window():
    th, _ = sc_config()
    assert T.thin_cirrus_candidates(band("cirrus_land", "B10"), band("cirrus_land", "B02"), th)[0]
    assert not T.thin_cirrus_candidates(band("vegetation", "B10"), band("vegetation", "B02"), th)[0]
    assert T.thick_cirrus(np.float32([th.t2_b10]), th)[0]


@pytest.mark.parametrize("classic", [True, False])
@pytest.mark.parametrize("name", sorted(SPECTRA))
def test_classify_hand_made_spectra(name, classic):
    out = run(uniform_toa(name), classic=classic)
    assert np.all(out.scl == EXPECTED[name]), (name, np.unique(out.scl))
    if name == "thick_cloud":
        assert np.all(out.cloud_prob == 100)
    if name == "snow":
        assert np.all(out.snow_prob == 100) and np.all(out.cloud_prob == 0)


def test_snow_branch_off_without_climatology():
    out = run(uniform_toa("snow"), could_have_snow=False)
    assert not np.any(out.scl == 11)


def test_snow_climatology_gate_as_sen2cor():
    """Sen2Cor's sceneCouldHaveSnow: no global snow map -> the snow tests run; a map with no snow anywhere over
    the tile -> they are skipped (issue 17 item 5; the gate feeds ``could_have_snow`` above)."""
    from types import SimpleNamespace as NS
    from sen2cor3.sc.snow_climatology import could_have_snow
    assert could_have_snow(None)
    assert not could_have_snow(np.zeros((4, 4), np.uint8))
    assert could_have_snow(NS(data=np.array([[0, 0], [0, 3]], np.uint8), fill=0))
    out = run(uniform_toa("snow"), could_have_snow=could_have_snow(np.zeros((4, 4), np.uint8)))
    assert not np.any(out.scl == 11)
