"""The B10 ground-signal guard of the cirrus tests (a documented deviation from Sen2Cor, see
``sen2cor3/sc/cirrus_ground.py``): dry air lets the ground show in B10; only the B10 excess over what
the surface sends through its own water column (from B09/B8A) is compared with T1_B10/T2_B10."""
from __future__ import annotations

import numpy as np
import pytest

from sen2cor3.sc import cirrus_ground
from test_sc_common import BANDS, SPECTRA, run

pytestmark = pytest.mark.skipif(cirrus_ground._curves("S2A", 0.0) is None,
                                reason="atmosphere tables not built (python -m sen2cor3.lut build)")


def _scene(b09_over_b8a: float, b10: float, shape=(60, 60)) -> dict[str, np.ndarray]:
    """Uniform green vegetation with the given water column (B09/B8A) and B10."""
    spec = dict(zip(BANDS, SPECTRA["vegetation"]))
    spec["B09"] = b09_over_b8a * spec["B8A"]
    spec["B10"] = b10
    return {b: np.full(shape, v, np.float32) for b, v in spec.items()}


def _tw(band: str, path: float) -> float:
    xw, t9, t10 = cirrus_ground._curves("S2A", 0.0)
    return float(np.interp(np.log(path), xw, t9 if band == "B09" else t10))


@pytest.mark.parametrize("classic", [True, False])
def test_dry_ground_is_not_cirrus(classic):
    """0.5 g/cm2 at a 2.1 airmass: the vegetation (max(B8A, B11) = 0.40) sends ~0.02 in B10."""
    path = 0.5 * 2.1
    g = _tw("B10", path) * 0.40
    assert 0.015 < g < 0.03                                   # above T1_B10 = 0.012: Sen2Cor says cirrus
    toa = _scene(_tw("B09", path), b10=0.9 * g)
    assert np.all(run(toa, classic=classic, cirrus_ground_guard=False).scl == 10)
    assert np.all(run(toa, classic=classic).scl == 4)


@pytest.mark.parametrize("classic", [True, False])
def test_cirrus_over_dry_ground_still_flagged(classic):
    path = 0.5 * 2.1
    g = _tw("B10", path) * 0.40
    toa = _scene(_tw("B09", path), b10=g + 0.02)              # a cirrus signal of 0.02 on top
    assert np.all(run(toa, classic=classic).scl == 10)


def test_moist_scene_unchanged():
    """Moist air (B09/B8A 0.3): the ground estimate is below Sen2Cor's own clear-land allowance."""
    toa = _scene(0.3, b10=0.0125)
    g = cirrus_ground.ground_b10(toa["B8A"], toa["B09"], toa["B11"], np.ones((60, 60), bool))
    assert float(g.max()) < 0.003
    for guard in (False, True):
        assert np.all(run(toa, classic=False, cirrus_ground_guard=guard).scl == 10)


def test_no_b09_or_no_reference_keeps_sen2cor():
    toa = _scene(0.3, b10=0.02)
    ref = np.ones((60, 60), bool)
    assert cirrus_ground.ground_b10(toa["B8A"], None, toa["B11"], ref) is None
    assert cirrus_ground.ground_b10(toa["B8A"], toa["B09"], toa["B11"], ~ref) is None


def test_cell_median_uses_only_reference_pixels():
    """A cirrus-bright (dry-looking) minority does not set the column of its cell."""
    r = np.full((40, 40), 0.3, np.float32)
    ok = np.ones((40, 40), bool)
    r[:6] = 0.9                                              # 30 % of the top cells
    cells = cirrus_ground._cell_median(r, ok, 20)
    assert cells.shape == (2, 2) and np.allclose(cells, 0.3)
    ok[:, 20:] = False                                       # right cells empty: scene median
    assert np.allclose(cirrus_ground._cell_median(r, ok, 20)[:, 1], 0.3)
