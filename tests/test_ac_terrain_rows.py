"""The 10 m run's terrain fields by rows (``ac.correct.terrain_fields_by_rows``): slope and aspect made block by
block from the heights' rows are the whole field's, and so is Sen2Cor's flat-terrain switch."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from sen2cor3.ac import correct, terrain
from sen2cor3.ac.grids import NearestRows
from sen2cor3.sc.terrain import slope_aspect, slope_aspect_rows


def _hills(n: int, seed: int, amplitude_m: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:n, 0:n] / n
    z = amplitude_m * (np.sin(6 * x + rng.uniform(0, 3)) * np.cos(4 * y) + 0.3 * rng.random((n, n)))
    return z.astype(np.float32)


@pytest.mark.parametrize("cuts", [(0, 7, 40, 41, 80), (0, 1, 2, 79, 80), (0, 80)])
@pytest.mark.parametrize("degrees", [True, False])
def test_slope_aspect_rows_equal_the_whole_field(cuts, degrees):
    z = _hills(80, 1, 300.0)
    slope, aspect = slope_aspect(z, 10.0, degrees=degrees)
    for r0, r1 in zip(cuts, cuts[1:]):
        s, a = slope_aspect_rows(lambda h0, h1: z[h0:h1], z.shape[0], r0, r1, 10.0, degrees)
        assert np.array_equal(s, slope[r0:r1]) and np.array_equal(a, aspect[r0:r1]), (r0, r1)


def test_block_illumination_by_rows_equals_the_arrays():
    """The 10 m run's F_dir, lit and sky view from height rows are those of the slope/aspect images."""
    from sen2cor3.ac.atmos import Upsampler
    z_km = NearestRows(_hills(40, 2, 0.4), 2, (80, 80))
    m = np.float32(1000.0)
    full = z_km.full() * m
    cast = np.zeros((80, 80), bool)
    cast[10:14, 20:30] = True
    arrays = correct.terrain_fields(full, 10.0, 40.0, 150.0, cast_shadow=cast)
    rows = correct.terrain_fields_by_rows(lambda h0, h1: z_km.rows(h0, h1) * m, 80, 10.0,
                                          terrain.peak_to_peak_m(full), cast)
    sza, saa = np.full((2, 2), 40.0), np.full((2, 2), 150.0)
    up = Upsampler((2, 2), 40, (80, 80))
    opt = correct.AcOptions()
    a = correct._BlockIllumination(arrays, sza, saa, up, opt, keep=False, with_cos_i=True)
    b = correct._BlockIllumination(rows, sza, saa, up, opt, keep=False, with_cos_i=True)
    for r0, r1 in ((0, 33), (33, 79), (79, 80)):
        for x, y in zip(a.block(r0, r1), b.block(r0, r1)):
            assert np.array_equal(x, y)


@pytest.mark.parametrize("amplitude_m", [0.0, 20.0, 30.0, 400.0])
def test_flat_switch_by_rows_equals_the_arrays(amplitude_m):
    z = _hills(60, 3, amplitude_m) if amplitude_m else np.zeros((60, 60), np.float32)
    arrays = correct.terrain_fields(z, 10.0, 40.0, 150.0, cast_shadows=False)
    rows = correct.terrain_fields_by_rows(lambda h0, h1: z[h0:h1], 60, 10.0, terrain.peak_to_peak_m(z), None)
    for th in (50.0, 1e4):                    # Sen2Cor's 50 m range, and one that leaves only the slope test
        gipp = dataclasses.replace(correct.ac_settings(None, None), dem_p2p_val_m=th)
        expected = terrain.is_flat(z, arrays["slope"], th, gipp.slope_th_deg, gipp.topo_corr_th)
        arrays.pop("_is_flat", None)
        rows.pop("_is_flat", None)
        assert correct._terrain_is_flat(arrays, gipp) == correct._terrain_is_flat(rows, gipp) == expected
    assert math.isfinite(rows["dem_p2p_m"])


def test_shared_illumination_through_files_equals_recomputing(tmp_path):
    """The 10 m run's band calls share F_dir and the sky view through two files of the staging area: a second
    call reads exactly what the first computed, and the files go with ``release_shared_illumination``."""
    from sen2cor3.ac.atmos import Upsampler
    z_km = NearestRows(_hills(40, 4, 0.4), 2, (80, 80))
    m = np.float32(1000.0)
    fields = correct.terrain_fields_by_rows(lambda h0, h1: z_km.rows(h0, h1) * m, 80, 10.0, 900.0, None)
    fresh = dict(fields)
    fields[correct.SHARE_ILLUMINATION] = True
    fields[correct.SPILL_DIR] = tmp_path / "illumination"
    sza, saa = np.full((2, 2), 40.0), np.full((2, 2), 150.0)
    up, opt = Upsampler((2, 2), 40, (80, 80)), correct.AcOptions()
    cuts = (0, 33, 66, 80)
    first = correct._BlockIllumination(fields, sza, saa, up, opt, keep=False, with_cos_i=False)
    made = [first.block(r0, r1) for r0, r1 in zip(cuts, cuts[1:])]
    first.finish()
    assert sorted(p.name for p in (tmp_path / "illumination").iterdir()) == ["f_dir.f32", "sky.f32"]
    second = correct._BlockIllumination(fields, sza, saa, up, opt, keep=False, with_cos_i=False)
    assert second.shared
    again = correct._BlockIllumination(fresh, sza, saa, up, opt, keep=False, with_cos_i=False)
    for (r0, r1), m1 in zip(zip(cuts, cuts[1:]), made):
        for x, y, z in zip(second.block(r0, r1), m1, again.block(r0, r1)):
            assert (x is None and y is None) or (np.array_equal(x, y) and np.array_equal(x, z))
    correct.release_shared_illumination(fields)
    assert not any((tmp_path / "illumination").iterdir())
