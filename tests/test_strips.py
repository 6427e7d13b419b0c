"""Strip-wise and threaded steps give exactly what one pass over the whole grid gives (issue 12: the memory and
the second core of a full Landsat scene must not move a pixel).

The real Betsiboka L1C pixels (clouds, snow-free land, water) are classified with strips of a few rows against
one strip holding the whole grid, from float32 bands and from DN held in a ToaBands store, on two threads."""
from __future__ import annotations

import numpy as np
import pytest

import sen2cor3.strips as strips
from sen2cor3.readers.toa_store import ToaBands
from test_sc_classify import BETSIBOKA, _sun
from test_sc_common import BANDS, run


def test_run_strips_keeps_order_on_two_threads():
    items = [(i,) for i in range(37)]
    assert strips.run_strips(lambda i: i * i, items, threads=2) == [i * i for i in range(37)]
    assert list(strips.row_strips(10, 4, halo=1)) == [(0, 4, 0, 5), (4, 8, 3, 9), (8, 10, 7, 10)]


def _betsiboka():
    if not BETSIBOKA.exists():
        pytest.skip(f"real L1C sample absent ({BETSIBOKA}): /work/shared not mounted")
    im = np.load(BETSIBOKA)["s2_im"][0]
    return {b: np.ascontiguousarray(im[..., i]) for i, b in enumerate(BANDS)}


def _as_dn_store(toa: dict) -> ToaBands:
    """The same TOA held as DN (x10000, Sentinel-2's quantification) and converted on read."""
    dn = {b: np.round(np.clip(v, 0, 6) * 10000).astype(np.uint16) for b, v in toa.items()}
    store = ToaBands(lambda name, d: (d.astype(np.float32) / np.float32(10000)))
    for b, d in dn.items():
        store.put_dn(b, d)
    return store, {b: d.astype(np.float32) / np.float32(10000) for b, d in dn.items()}


@pytest.mark.parametrize("classic", [True, False])
def test_classification_strips_equal_whole_grid(classic, monkeypatch):
    import importlib
    C = importlib.import_module("sen2cor3.sc.classify")      # the module (the package re-exports the function)
    store, toa = _as_dn_store(_betsiboka())
    sza, saa = _sun(349, 7.2, -15.87, 46.33)
    monkeypatch.setattr(C, "SPECTRAL_STRIP_ROWS", 10 ** 6)
    whole = run(toa, classic=classic, sza=sza, saa=saa, res=20.0)
    monkeypatch.setattr(C, "SPECTRAL_STRIP_ROWS", 7)          # many strips, odd size, halos crossing clouds
    for bands in (toa, store):
        parts = run(bands, classic=classic, sza=sza, saa=saa, res=20.0)
        assert np.array_equal(parts.scl, whole.scl)
        assert np.array_equal(parts.cloud_prob, whole.cloud_prob)
        assert np.array_equal(parts.snow_prob, whole.snow_prob)
    assert len(np.unique(whole.scl)) >= 4                     # a scene with several classes, not a trivial one
