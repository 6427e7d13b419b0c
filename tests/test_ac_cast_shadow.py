"""The correction's cast shadows as Sen2Cor 3's SDW file holds them (L2A_Tables.gdalDEM_Shade_Cast): the horizon
test median-filtered 3 x 3 on its grid, and for a 10 m run cast at 20 m, repeated to 10 m and filtered again."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from sen2cor3.ac import terrain
from sen2cor3.sc import terrain as sc_terrain
from sen2cor3.sc.masks import median_bool, upsample_nearest


@pytest.mark.parametrize("size", [1, 3, 5, 9])
@pytest.mark.parametrize("shape", [(1, 1), (4, 3), (61, 47)])
def test_median_bool_is_scipy_median(size, shape):
    rng = np.random.default_rng(size * 100 + shape[0])
    for p in (0.2, 0.5, 0.8):
        m = rng.random(shape) < p
        ref = ndimage.median_filter(m.astype(np.uint8), size=size, mode="reflect") > 0
        assert np.array_equal(median_bool(m, size), ref)


def test_median_bool_rejects_even_window():
    with pytest.raises(ValueError, match="odd"):
        median_bool(np.zeros((5, 5), bool), 4)


def _wall_dem(res_m: float, n: int = 80) -> np.ndarray:
    """A 200 m wall across the grid (rows 50-52 at 20 m) and one 1-pixel spike of 60 m far from it."""
    f = int(round(20.0 / res_m))
    dem = np.zeros((n, 60), np.float32)
    dem[50:53, :] = 200.0
    dem[20, 20] = 60.0
    return np.repeat(np.repeat(dem, f, axis=0), f, axis=1)


def test_sdw_cast_shadow_drops_single_pixel_slivers():
    """Sen2Cor filters its cast-shadow map "to remove some horizontal stripes": the spike's one-pixel-wide shadow
    goes, the wall's 10-pixel band stays (its ends are the edge of the grid, mirrored by the filter)."""
    dem = _wall_dem(20.0)
    raw = sc_terrain.cast_shadows(dem, 45.0, 180.0, 20.0)
    sdw = terrain.sdw_cast_shadow(dem, 20.0, 45.0, 180.0)
    assert raw[17:20, 20].any() and not sdw[10:22, 15:26].any()
    assert np.array_equal(sdw[35:60], raw[35:60])


def test_refined_cast_shadow_is_the_20m_one_on_the_10m_grid():
    """A 10 m run's shadows are the 20 m run's (Sen2Cor casts at 20 m when it processes at 10 m): the wall's band
    repeated, one 20 m pixel either way of a horizon test on the 10 m heights (the same heights, repeated)."""
    s20 = terrain.sdw_cast_shadow(_wall_dem(20.0), 20.0, 45.0, 180.0)
    fine = terrain.refined_cast_shadow(s20, 2, (160, 120))
    assert np.array_equal(fine, upsample_nearest(s20, 2))
    direct10 = sc_terrain.cast_shadows(_wall_dem(10.0), 45.0, 180.0, 10.0)
    band = np.flatnonzero(direct10[:, 60])
    band_fine = np.flatnonzero(fine[:, 60])
    assert abs(band[0] - band_fine[0]) <= 2 and abs(band[-1] - band_fine[-1]) <= 2


def test_refined_cast_shadow_checks_the_grid():
    with pytest.raises(ValueError, match="do not cover"):
        terrain.refined_cast_shadow(np.zeros((10, 10), bool), 2, (21, 20))
    assert terrain.refined_cast_shadow(np.zeros((10, 10), bool), 2, (19, 20)).shape == (19, 20)
