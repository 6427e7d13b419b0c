"""APDA post-processing as Sen2Cor 3 does it (L2A_AtmCorr.py ``wv_retrieval_apda1`` and ``rho_retrieval_step1``,
L2A_Quality's GRANULE_MEAN_WV), issue 17."""
from __future__ import annotations

import numpy as np
import pytest

from sen2cor3.ac import synthetic
from sen2cor3.ac.atmos import derived, normalise
from sen2cor3.ac.correct import _written_mean_wv
from sen2cor3.ac.surface import forward, invert
from sen2cor3.ac.wv import retrieve_wv, smooth_size

NODES = synthetic.WV_AXIS


def _terms(band):
    return lambda u: derived(normalise(synthetic.atmosphere("S2A", band, "rural", "summer", 331, u, 0.1, 0.1,
                                                            35.0, 5.0, 120.0)))


def _scene(wv_cm: np.ndarray):
    b8a = np.full(wv_cm.shape, 0.30, np.float32)
    b09 = np.empty_like(b8a)
    for u in np.unique(wv_cm):
        m = wv_cm == u
        b09[m] = forward(invert(b8a[m], _terms("B8A")(float(u))), _terms("B09")(float(u)))
    return b8a, b09


def test_smoothing_width_only_gates_a_3x3_median():
    """Smooth_WV_Map 100 m gives 5 px at 20 m, yet Sen2Cor 3 smooths with median_filter(wv, (3, 3)): a 3x3 wet
    patch survives (a 5x5 median would erase it); Smooth_WV_Map 0 switches the median off."""
    assert smooth_size(100.0, 20.0) == 5 and smooth_size(100.0, 60.0) == 3 and smooth_size(0.0, 60.0) == 0
    wv = np.full((15, 15), 1.0)
    wv[6:9, 6:9] = 2.0
    b8a, b09 = _scene(wv)
    ones = np.ones(wv.shape, bool)
    out, _ = retrieve_wv(b8a, b09, _terms("B8A"), _terms("B09"), NODES, ones, ones, 20.0, smooth_m=100.0)
    assert out[7, 7] == pytest.approx(2.0, rel=0.02)
    assert out[6, 6] == pytest.approx(1.0, rel=0.02)      # 4 of 9 wet: the 3x3 median is dry


@pytest.mark.parametrize("watermask", [1, 2])
def test_watermask_2_is_the_land_mean(watermask):
    """Sen2Cor 3 tests ``iwv_watermask > 0``: its GIPP's "2: line-average" is the land mean too."""
    wv = np.full((12, 12), 1.0)
    wv[:, 6:] = 2.0                                           # rows: half dry, half wet land
    b8a, b09 = _scene(wv)
    valid = np.ones(wv.shape, bool)
    land = valid.copy()
    land[:6, :6] = False                                      # a water block on the dry side
    out, info = retrieve_wv(b8a, b09, _terms("B8A"), _terms("B09"), NODES, valid, land, 60.0, smooth_m=0.0,
                            watermask=watermask)
    assert np.allclose(out[:6, :6], info["mean_land"])
    assert info["mean_land"] == pytest.approx((36 * 1.0 + 72 * 2.0) / 108, rel=0.02)


def test_granule_mean_wv_is_the_mean_of_the_written_wvp_above_0():
    """L2A_Quality: ``wvp[wvp > 0].mean() * 0.001`` of the image as written (DN rounded, no data 0)."""
    wv = np.array([[1.0004, 2.0], [0.5, 3.0]], np.float32)
    valid = np.array([[True, True], [True, False]])
    scl = np.where(valid, 4, 0).astype(np.uint8)
    dn = np.array([[1000, 2000], [500, 0]], np.uint16)
    assert _written_mean_wv(wv, True, valid, scl, 1) == pytest.approx(3.5 / 3)
    assert _written_mean_wv(dn, "dn", valid, scl, 1) == pytest.approx(3.5 / 3)
