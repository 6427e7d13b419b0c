"""The fast paths of the per-band inversion give the result of the per-pixel terms (issue 7 speed/memory)."""
from __future__ import annotations

import numpy as np

from sen2cor3.ac import synthetic
from sen2cor3.ac.atmos import derived, normalise
from sen2cor3.ac.correct import AcOptions, Geometry, correct_resolution
from sen2cor3.ac.surface import forward, invert, linear_coefficients

BANDS = ("B02", "B03", "B04", "B8A", "B09", "B11", "B12")


def _scene(n=180, seed=3):
    """Parcels of vegetation/soil with texture, WV-sensitive bands included, TOA by the synthetic atmosphere
    with a spatially varying environment (so the adjacency term matters)."""
    rng = np.random.default_rng(seed)
    cls = (rng.random((n // 9, n // 9)) < 0.5).repeat(9, 0).repeat(9, 1)
    toa = {}
    for i, b in enumerate(BANDS):
        rho = np.where(cls, 0.03 + 0.04 * i, 0.25 - 0.01 * i) * rng.uniform(0.8, 1.2, (n, n))
        t = derived(normalise(synthetic.atmosphere("S2A", b, "rural", "summer", 331, 1.5, 0.25, 0.2, 40, 6, 100)))
        toa[b] = forward(rho.astype(np.float32), {k: np.float32(v) for k, v in t.items()}).astype(np.float32)
    return toa, np.where(cls, 4, 5).astype(np.uint8)


def _correct(toa, scl, **opt):
    n = scl.shape[0]
    nodata = np.zeros((n, n), bool)
    nodata[:3, :7] = True
    inplace = opt.pop("inplace", False)
    return correct_resolution(toa, nodata, scl, Geometry(40.0, 150.0, 6.0, 50.0), 0.2, None, None, "S2A", 20,
                              model=synthetic.model(), options=AcOptions(adjacency=True, **opt), inplace=inplace)


def test_linear_coefficients_equal_the_inversion():
    rng = np.random.default_rng(0)
    t = {k: np.float32(v) for k, v in derived(normalise(
        synthetic.atmosphere("S2A", "B04", "rural", "summer", 331, 2.0, 0.3, 0.1, 35, 5, 120))).items()}
    toa = rng.uniform(0.02, 0.6, (40, 40)).astype(np.float32)
    env = rng.uniform(0.02, 0.4, (40, 40)).astype(np.float32)
    a, c = linear_coefficients(t, env)
    np.testing.assert_allclose(a * toa - c, invert(toa, t, rho_env=env, cutoff=None), atol=2e-6)


def test_linear_path_matches_per_pixel_terms():
    toa, scl = _scene()
    ref = _correct({b: v.copy() for b, v in toa.items()}, scl, linear_inversion=False)
    fast = _correct({b: v.copy() for b, v in toa.items()}, scl)
    assert fast.metadata["ADJACENCY_CORRECTION"]
    for b in ref.boa:
        r, f = ref.boa[b], fast.boa[b]
        assert np.array_equal(np.isnan(r), np.isnan(f)), b
        ok = np.isfinite(r)
        # interpolating A, C instead of the terms differs at second order; most in B09, whose transmittance
        # follows the (60 m) WV map steeply; elsewhere < 2 DN of the 10000 quantification
        tol = 1e-3 if b == "B09" else 2e-4
        assert np.max(np.abs(r[ok] - f[ok])) < tol, (b, float(np.max(np.abs(r[ok] - f[ok]))))
        assert abs(ref.metadata["NEGATIVE_BOA_PERCENTAGE"][b] - fast.metadata["NEGATIVE_BOA_PERCENTAGE"][b]) < 0.05


def test_inplace_gives_the_same_bands():
    toa, scl = _scene()
    ref = _correct({b: v.copy() for b, v in toa.items()}, scl)
    given = {b: v.copy() for b, v in toa.items()}
    res = _correct(given, scl, inplace=True)
    for b in ref.boa:
        np.testing.assert_array_equal(ref.boa[b], res.boa[b])
        assert res.boa[b] is given[b]            # the TOA array now holds the BOA


def test_finer_run_reuses_the_coarser_runs_linear_coefficients():
    """The 10 m run of a flat scene applies the 20 m run's working-grid A, C (Sen2Cor reuses the 20 m
    atmosphere at 10 m): same result as deriving them again from the finer pixels' block means."""
    toa20, scl20 = _scene(n=126)
    toa10 = {b: np.repeat(np.repeat(v, 2, 0), 2, 1) for b, v in toa20.items()}
    scl10 = np.repeat(np.repeat(scl20, 2, 0), 2, 1)
    geom = Geometry(40.0, 150.0, 6.0, 50.0)
    common = dict(model=synthetic.model(), options=AcOptions(adjacency=True))
    base = correct_resolution({b: v.copy() for b, v in toa20.items()}, np.zeros(scl20.shape, bool), scl20, geom,
                              0.2, None, None, "S2A", 20, keep_linear=("B02", "B04"), **common)
    assert set(base.work["linear"]) == {"B02", "B04"}
    one = {"B04": toa10["B04"].copy()}
    fast = correct_resolution(one, np.zeros(scl10.shape, bool), scl10, geom, 0.2, None, None, "S2A", 10,
                              prior=base, maps=False, **common)
    slow = correct_resolution({"B04": toa10["B04"].copy()}, np.zeros(scl10.shape, bool), scl10, geom, 0.2, None,
                              None, "S2A", 10, prior=base, maps=True, **common)      # maps=True: no reuse
    assert fast.work is base.work and fast.aot is None
    np.testing.assert_allclose(fast.boa["B04"], slow.boa["B04"], atol=2e-4)
    assert not np.array_equal(fast.boa["B04"], toa10["B04"])
