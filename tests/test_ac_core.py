"""Atmospheric correction core: exact round trips, DDV AOT, APDA WV, terrain, encodings (issue 6)."""
from __future__ import annotations

from types import SimpleNamespace as NS

import numpy as np
import pytest

from sen2cor3.ac import encode, synthetic
from sen2cor3.ac.atmos import derived, koschmieder_aot, normalise, visibility_from_aot
from sen2cor3.ac.correct import AcOptions, Geometry, choose_luts, correct_resolution, terrain_fields
from sen2cor3.ac.surface import forward, invert
from sen2cor3.ac import terrain

BANDS = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B09", "B11", "B12"]
VEG = {"B01": .02, "B02": .025, "B03": .05, "B04": .025, "B05": .08, "B06": .25, "B07": .32, "B8A": .36,
       "B09": .36, "B11": .18, "B12": .05}
SOIL = {"B01": .08, "B02": .10, "B03": .14, "B04": .18, "B05": .20, "B06": .22, "B07": .24, "B8A": .26,
        "B09": .26, "B11": .32, "B12": .28}


def _terms(band, aot, wv, z=0.1, sza=35.0, vza=5.0, raa=120.0):
    return derived(normalise(synthetic.atmosphere("S2A", band, "rural", "summer", 331, wv, aot, z, sza, vza, raa)))


def _scene(aot, wv, n=240, seed=1, sza=35.0):
    """Vegetation (red = 0.5 B12, blue = 0.5 red: the DDV relations) and soil parcels, flat, uniform air."""
    rng = np.random.default_rng(seed)
    cls = (rng.random((n // 12, n // 12)) < 0.6).repeat(12, 0).repeat(12, 1)
    tex = np.clip(1 + 0.15 * rng.standard_normal((n, n)), 0.6, 1.4).astype(np.float32)
    surf = {b: (np.where(cls, VEG[b], SOIL[b]) * tex).astype(np.float32) for b in BANDS}
    surf["B04"] = np.where(cls, 0.5 * surf["B12"], surf["B04"]).astype(np.float32)
    surf["B02"] = np.where(cls, 0.5 * surf["B04"], surf["B02"]).astype(np.float32)
    toa = {b: forward(surf[b], _terms(b, aot, wv, sza=sza)) for b in BANDS}
    return surf, toa, np.where(cls, 4, 5).astype(np.uint8)


def _run(toa, scl, sza=35.0, **kw):
    n = scl.shape[0]
    return correct_resolution(toa, np.zeros((n, n), bool), scl, Geometry(sza, 0.0, 5.0, -120.0), 0.1, kw.pop("l2a", None),
                              None, "S2A", 20, model=synthetic.model(), options=AcOptions(adjacency=False), **kw)


@pytest.mark.parametrize("env", [False, True])
def test_round_trip_exact(env):
    rng = np.random.default_rng(0)
    rho = rng.uniform(0.0, 0.8, (50, 50)).astype(np.float32)
    f_dir = rng.uniform(0, 1.6, rho.shape).astype(np.float32)
    f_dif, sky = rng.uniform(0.7, 1, rho.shape).astype(np.float32), rng.uniform(0.7, 1, rho.shape).astype(np.float32)
    rho_env = rng.uniform(0.05, 0.4, rho.shape).astype(np.float32) if env else None
    for b in ("B02", "B8A", "B12"):
        t = {k: v.astype(np.float32) for k, v in _terms(b, 0.3, 2.0).items()}
        toa = forward(rho, t, f_dir, f_dif, sky, 0.15, rho_env)
        back = invert(toa, t, f_dir, f_dif, sky, 0.15, rho_env, cutoff=None)
        assert np.max(np.abs(back - rho)) < 2e-5


def test_round_trip_exact_environment_own_light():
    """Rugged terrain, the environment lit by its own irradiance (``g_env``): invert is forward's inverse."""
    rng = np.random.default_rng(1)
    rho = rng.uniform(0.0, 0.8, (50, 50)).astype(np.float32)
    f_dir = rng.uniform(0, 1.6, rho.shape).astype(np.float32)
    f_dif, sky = rng.uniform(0.7, 1, rho.shape).astype(np.float32), rng.uniform(0.7, 1, rho.shape).astype(np.float32)
    rho_env = rng.uniform(0.05, 0.4, rho.shape).astype(np.float32)
    for b in ("B02", "B8A", "B12"):
        t = {k: v.astype(np.float32) for k, v in _terms(b, 0.3, 2.0).items()}
        t["g_env"] = t["g_dir"] + t["g_dif"]
        toa = forward(rho, t, f_dir, f_dif, sky, 0.15, rho_env)
        back = invert(toa, t, f_dir, f_dif, sky, 0.15, rho_env, cutoff=None)
        assert np.max(np.abs(back - rho)) < 2e-5


def test_environment_own_light_is_the_simulators_model():
    """The processor's rugged-terrain model with the environment lit by its own irradiance is the simulator's
    forward model term for term (6S non-uniform ground, ``simulate.forward.toa_from_terms``), and on flat
    ground it is the pixel-lit model (so flat scenes cannot change); the pixel-lit one is not the simulator's
    on slopes (issue 13's illumination sextiles)."""
    from sen2cor3.simulate import forward as fw
    rng = np.random.default_rng(2)
    rho = rng.uniform(0.0, 0.6, 400)
    f_dir, sky = rng.uniform(0.0, 1.6, 400), rng.uniform(0.75, 1.0, 400)
    rho_ter, env = rng.uniform(0.05, 0.4, 400), rng.uniform(0.05, 0.4, 400)
    for b in ("B02", "B8A", "B12"):
        raw = synthetic.atmosphere("S2A", b, "rural", "summer", 331, 2.0, 0.4, 0.6, 50.0, 5.0, 120.0)
        sim_t = dict(raw, t_up=raw["t_up_dir"] + raw["t_up_dif"], t_up_dir=raw["t_up_dir"])
        f_dif = fw.hay_diffuse(f_dir, sky, raw["t_down_dir"])
        want = fw.toa_from_terms(rho, sim_t, f_dir, f_dif, env, sky, rho_ter)
        t = derived(normalise(raw))
        pixel_lit = forward(rho, t, f_dir, f_dif, sky, rho_ter, env)
        t["g_env"] = t["g_dir"] + t["g_dif"]
        assert np.allclose(forward(rho, t, f_dir, f_dif, sky, rho_ter, env), want, atol=2e-6)
        assert np.max(np.abs(pixel_lit - want)) > 1e-3
        flat = forward(rho, t, rho_env=env)
        del t["g_env"]
        assert np.allclose(flat, forward(rho, t, rho_env=env), atol=2e-6)


def test_tables_convention_matches():
    """rt.tables returns path / Tg plus path_toa: our normalised forward model must equal its formula."""
    from sen2cor3.rt import tables
    raw = synthetic.atmosphere("S2A", "B04", "rural", "summer", 331, 1.5, 0.2, 0.3, 40.0, 7.0, 60.0)
    tabl = dict(raw, path=raw["path"] / raw["tg"], path_toa=raw["path"],
                t_down=raw["t_down_dir"] + raw["t_down_dif"], t_up=raw["t_up_dir"] + raw["t_up_dif"])
    rho = np.linspace(0, 0.6, 7)
    ours = forward(rho, derived(normalise(tabl)))
    assert np.allclose(ours, tables.surface_to_toa(rho, tabl), atol=1e-6)
    if tables.tables_available():
        a = normalise(tables.atmosphere("S2A", "B04", "rural", "summer", 331, 1.5, 0.2, 0.3, 40.0, 7.0, 60.0))
        t = tables.atmosphere("S2A", "B04", "rural", "summer", 331, 1.5, 0.2, 0.3, 40.0, 7.0, 60.0)
        assert np.allclose(forward(rho, derived(a)), tables.surface_to_toa(rho, t), atol=1e-5)


@pytest.mark.parametrize("aot,wv", [(0.1, 0.6), (0.4, 3.5)])
def test_ddv_and_apda_recover_truth(aot, wv):
    surf, toa, scl = _scene(aot, wv)
    res = _run(toa, scl)
    m = res.metadata
    assert m["AOT_RETRIEVAL_METHOD"] == "SEN2COR_DDV" and m["DDV_PIXEL_PERCENTAGE"] > 2.0
    assert abs(m["GRANULE_MEAN_AOT"] - aot) <= 0.05 + 0.15 * aot
    assert np.all(np.abs(res.aot - aot) <= 0.05 + 0.15 * aot)
    assert abs(m["GRANULE_MEAN_WV"] - wv) <= 0.10 * wv
    for b in BANDS:
        if b not in ("B01", "B09"):
            d = res.boa[b] - surf[b]
            assert abs(float(d.mean())) <= 0.005 and float(np.sqrt((d * d).mean())) <= 0.01, b


def test_ddv_checks_test_the_applied_map():
    """The negative-reflectance check must test the AOT each pixel gets (issue 6, flat_hazy_wet round trip).

    12 km strip at 60 m: dark vegetation (red 0.015) under AOT 0.1 on the left, DDV vegetation under AOT 0.5
    on the right, bright soil between. The DDV mean (0.37) applied everywhere makes the dark left
    vegetation negative, so a scene-uniform check raises the visibility and pulls the hazy DDV values down;
    the map keeps 0.1 on the left, nothing goes negative, and both parts keep their AOT."""
    from sen2cor3.ac import aot as aotm
    from sen2cor3.ac.aot import DdvParams, checked_map, negative_check
    ny, nx = 40, 200
    cols = np.arange(nx)[None, :] * np.ones((ny, 1), int)
    left, right = cols < 50, cols >= 100
    a_true = np.where(cols < 100, 0.1, 0.5)
    surf = {"B03": np.where(left, 0.04, np.where(right, 0.06, 0.16)),
            "B04": np.where(left, 0.015, np.where(right, 0.03, 0.15)), "B8A": np.where(right | left, 0.30, 0.25)}
    toa = {b: forward(v.astype(np.float32), _terms(b, a_true, 1.5)) for b, v in surf.items()}
    ddv, valid = left | right, np.ones((ny, nx), bool)
    terms = lambda b, a: _terms(b, a, 1.5)                                      # noqa: E731
    p, nodes = DdvParams(), synthetic.AOT_AXIS
    a_px = a_true[ddv].astype(np.float32)
    vis_ddv = float(visibility_from_aot(a_px.mean(), 0.1))
    assert negative_check(vis_ddv, 0.1, terms, toa, valid, p) > vis_ddv + 5      # the scene-uniform test trips
    amap, vis, info = checked_map(a_px, ddv, ddv, vis_ddv, 0.1, terms, nodes, toa, valid, valid, 60.0, p)
    assert info["check_steps"] == {"negative": 0, "green_red": 0} and vis == vis_ddv
    assert abs(float(amap[left].mean()) - 0.1) < 0.03 and abs(float(amap[right].mean()) - 0.5) < 0.03
    assert float(aotm.rho_at_aot("B04", toa["B04"][left], amap[left], left, terms, nodes).min()) > 0.005


def _tables_model():
    from sen2cor3.rt import tables
    if not tables.tables_available():
        pytest.skip("6S look-up tables not built")
    from sen2cor3.ac.atmos import AtmosphereModel
    return AtmosphereModel("S2A", "rural", "summer", 331.0)


@pytest.mark.parametrize("source", ["apda", "cams"])
def test_wv_is_the_column_above_an_elevated_surface(source):
    """6S tables take a sea-level-referenced WV input and keep only its part above the target (0.51 of it at
    1.5 km): the WVP must be the column above the surface, and a column (CAMS) must reach the tables as the
    matching input. Scene at 1.5 km with 1.2 g/cm2 above the ground, forward model = the tables themselves."""
    from sen2cor3.rt import sixs
    model = _tables_model()
    z, col, aot, sza = 1.5, 1.2, 0.15, 35.0
    wv_in = float(sixs.wv_input_for_column(col, z))
    assert 2.2 < wv_in < 2.5
    rng = np.random.default_rng(3)
    n = 120
    cls = (rng.random((n // 12, n // 12)) < 0.6).repeat(12, 0).repeat(12, 1)
    surf = {b: (np.where(cls, VEG[b], SOIL[b]) * np.clip(1 + 0.1 * rng.standard_normal((n, n)), 0.7, 1.3))
            .astype(np.float32) for b in BANDS}
    surf["B04"] = np.where(cls, 0.5 * surf["B12"], surf["B04"]).astype(np.float32)
    toa = {b: forward(surf[b], derived(model.terms(b, aot, wv_in, z, sza, 5.0, 120.0))) for b in BANDS}
    scl = np.where(cls, 4, 5).astype(np.uint8)
    l2a = NS(flags=NS(wv_correction=1 if source == "apda" else 0, vis_update_mode=0, wv_watermask=1),
             calibration=NS(visibility=float(visibility_from_aot(aot, z)), altitude=0.1))
    res = correct_resolution(toa, np.zeros((n, n), bool), scl, Geometry(sza, 0.0, 5.0, -120.0), z, l2a, None,
                             "S2A", 20, cams={"wv": col}, model=model, options=AcOptions(adjacency=False))
    assert res.metadata["WV_RETRIEVAL_METHOD"] == ("SEN2COR_APDA" if source == "apda" else "CAMS")
    assert abs(res.metadata["GRANULE_MEAN_WV"] - col) <= 0.03 * col
    assert abs(float(res.wv.mean()) - col) <= 0.03 * col
    d = res.boa["B09"] - surf["B09"]                 # the look-ups got the matching 6S input
    assert abs(float(d.mean())) <= 0.003


def test_wv_column_fraction_is_6s_us62():
    """The column above z per unit of 6S input (US62 shape, as 6S' PRESSURE/ABSTRA) and the conversions."""
    from sen2cor3.ac.wv import column_fraction
    from sen2cor3.rt import sixs, tables
    f = sixs.wv_column_fraction(np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0]))
    assert np.allclose(f, [1.0, 0.809, 0.648, 0.513, 0.401, 0.2375], atol=2e-3)
    assert np.all(sixs.wv_absorption_fraction([0.5, 1.0, 2.0]) < f[[1, 2, 4]])   # absorption falls faster
    assert float(sixs.wv_column_above(sixs.wv_input_for_column(1.7, 0.8), 0.8)) == pytest.approx(1.7)
    assert column_fraction(NS(fn=tables.atmosphere), 1.5) == pytest.approx(f[3])
    assert column_fraction(synthetic.model(), 1.5) == 1.0          # synthetic WV: the column above the target


def test_default_visibility_without_ddv():
    surf, toa, _ = _scene(0.2, 1.0)
    scl = np.full(toa["B04"].shape, 5, np.uint8)                     # no vegetation: no reference pixels
    l2a = NS(flags=NS(vis_update_mode=0, wv_correction=1, wv_watermask=1), calibration=NS(visibility=40.0))
    res = _run(toa, scl, l2a=l2a)
    assert res.metadata["AOT_RETRIEVAL_METHOD"] == "DEFAULT"
    assert res.metadata["FINAL_VISIBILITY_KM"] == 40.0
    assert abs(res.metadata["GRANULE_MEAN_AOT"] - float(koschmieder_aot(40.0, 0.1))) < 1e-3


def test_koschmieder():
    assert abs(float(koschmieder_aot(23.0)) - 0.3226) < 1e-3
    assert abs(float(visibility_from_aot(koschmieder_aot(40.0, 1.2), 1.2)) - 40.0) < 1e-6


def test_terrain_halves_slope_difference():
    n, res, sza, saa = 180, 20.0, 40.0, 150.0
    x = np.arange(n) * res
    dem = (300 * np.sin(2 * np.pi * x / 1800.0))[None, :].repeat(n, 0).astype(np.float32) + 500
    f = terrain_fields(dem, res, sza, saa, cast_shadows=False)
    cos_i = terrain.cos_illumination(f["slope"], f["aspect"], sza, saa)
    sky = terrain.sky_view(f["slope"])
    rho = np.full((n, n), 0.2, np.float32)
    toa = {}
    for b in ("B02", "B04", "B8A", "B12"):
        t = _terms(b, 0.2, 1.5, z=0.5, sza=sza)
        toa[b] = forward(rho, t, np.maximum(cos_i, 0) / np.cos(np.radians(sza)), sky)   # simulator's model
    scl = np.full((n, n), 5, np.uint8)
    l2a = NS(flags=NS(dem_terrain_correction=True, wv_correction=0, vis_update_mode=0, brdf_correction=0),
             calibration=NS(visibility=40.0, adj_km=1.0, altitude=0.1))
    geo = Geometry(sza, saa, 5.0, 0.0)
    lit, shade = cos_i > np.percentile(cos_i, 80), cos_i < np.percentile(cos_i, 20)
    out = {}
    for dem_on in (False, True):
        r = correct_resolution(toa, np.zeros((n, n), bool), scl, geo, dem / 1000.0, l2a, None, "S2A", res,
                               dem_fields=f if dem_on else None, model=synthetic.model(),
                               options=AcOptions(adjacency=False, diffuse="isotropic", terrain_reflected=False))
        out[dem_on] = r.boa["B04"]
    d0 = abs(out[False][lit].mean() - out[False][shade].mean())
    d1 = abs(out[True][lit].mean() - out[True][shade].mean())
    assert d1 <= 0.5 * d0 and d0 > 0.02


def test_boa_encoding_rules():
    rho = np.array([0.0, 0.12345, -0.05, -0.2, 3.5, np.nan, 0.5, -0.10004], np.float32)
    scl = np.array([4, 4, 4, 4, 4, 4, 1, 4], np.uint8)
    dn = encode.boa_dn(rho, scl=scl)
    assert dn.dtype == np.uint16
    assert dn.tolist() == [0, 2235, 500, 1, 32767, 0, 0, 1]
    assert encode.boa_dn(np.array([0.00001, 0.2]), offset=False).tolist() == [1, 2000]
    assert np.allclose(encode.boa_rho(np.array([0, 1000, 2235])), [np.nan, 0.0, 0.1235], equal_nan=True)


def test_aot_wvp_tci_encoding():
    assert encode.aot_dn(np.array([0.2345, 0.1]), scl=np.array([4, 0])).tolist() == [235, 0]
    assert encode.wvp_dn(np.array([1.8765])).tolist() == [1877]
    r = np.array([[0.0, 0.125, 0.25, 0.9, np.nan]], np.float32)
    t = encode.tci(r, r, r)
    assert t.shape == (3, 1, 5) and t[0].tolist() == [[1, 128, 255, 255, 0]]
    assert encode.tci(r, r, r, nodata=np.ones(r.shape, bool)).max() == 0


def test_choose_luts():
    lut = NS(aerosol_type="AUTO", mid_latitude="AUTO", ozone_content=0)
    assert choose_luts(lut, 7, 48.0, 300.0) == ("rural", "summer", 290.0)
    assert choose_luts(lut, 1, 48.0, None) == ("rural", "winter", 377.0)
    assert choose_luts(NS(aerosol_type="MARITIME", mid_latitude="SUMMER", ozone_content=410), 1, -40, 300)[::2] == \
        ("maritime", 410.0)


def test_adjacency_and_cirrus_paths():
    """With an adjacency effect in the forward model, the adjacency step lowers the error; cirrus runs.

    Known limit (kept visible): the DDV step ignores adjacency, so on this high-contrast scene the AOT comes
    out ~0.45 instead of 0.30 and the gain is modest (RMSE B02 0.0146 -> 0.0123)."""
    from sen2cor3.ac import adjacency
    surf, _, scl = _scene(0.3, 1.5, n=300)
    n = scl.shape[0]
    ones = np.ones((n, n), bool)
    toa = {}
    for b in BANDS:
        env = adjacency.environment(surf[b], ones, None, adjacency.box_size(1.0, 20))
        toa[b] = forward(surf[b], _terms(b, 0.3, 1.5), rho_env=env)
    err = {}
    for adj in (False, True):
        r = correct_resolution(toa, ~ones, scl, Geometry(35.0, 0.0, 5.0, -120.0), 0.1, None, None, "S2A", 20,
                               model=synthetic.model(), options=AcOptions(adjacency=adj))
        err[adj] = float(np.sqrt(np.mean((r.boa["B02"] - surf["B02"]) ** 2)))
    assert err[True] < 0.9 * err[False]
    toa["B10"] = np.where(np.arange(n)[None, :] < n // 2, 0.03, 0.003).astype(np.float32) * ones
    for b in ("B01", "B02", "B03"):
        toa[b] = toa[b] + toa["B10"] / 0.8
    l2a = NS(flags=NS(cirrus_correction=True), calibration=NS(wv_threshold_cirrus=0.25))
    r = correct_resolution(toa, ~ones, scl, Geometry(35.0, 0.0, 5.0, -120.0), 0.1, l2a, None, "S2A", 20,
                           model=synthetic.model(), options=AcOptions(adjacency=False))
    assert "B10" not in r.boa and r.metadata["CIRRUS"]["applied"]


def test_aot_map_bounded_by_the_visibility_limits():
    """Issue 13 item 3: every valid pixel's AOT lies within the AOT of Sen2Cor's 5-120 km visibility range at its
    elevation (a DDV map must never reach 0, the no-data DN of the AOT image); invalid pixels are 0."""
    from sen2cor3.ac.aot import VISIBILITY_MAX_KM, VISIBILITY_MIN_KM, bounded_aot
    from sen2cor3.ac.atmos import koschmieder_aot
    z = np.array([[0.0, 1.9], [0.0, 1.9]])
    aot = np.array([[0.0, 0.0], [5.0, 0.3]], np.float32)
    valid = np.array([[True, True], [True, False]])
    out = bounded_aot(aot, z, valid)
    assert out[0, 0] == pytest.approx(koschmieder_aot(VISIBILITY_MAX_KM, 0.0), rel=1e-6)
    assert out[0, 1] == pytest.approx(koschmieder_aot(VISIBILITY_MAX_KM, 1.9), rel=1e-6) and out[0, 1] < out[0, 0]
    assert out[1, 0] == pytest.approx(koschmieder_aot(VISIBILITY_MIN_KM, 0.0), rel=1e-6)
    assert out[1, 1] == 0 and out.dtype == np.float32
    assert 0.07 < out[0, 0] < 0.09                    # 120 km at sea level: AOT ~0.08 (Sen2Cor's Koschmieder fit)


def test_apda_ratio_beyond_the_tables_is_a_failed_retrieval():
    """Issue 17 item 3: a B09/B8A ratio the tables cannot reach (cloud above the vapour: too little absorption; a
    dark pixel: too much) is a failure, filled with the mean of the successful land retrievals, never the floor or
    cap column, and kept out of that mean."""
    from sen2cor3.ac.wv import retrieve_wv
    nodes = synthetic.WV_AXIS

    def terms(b):
        return lambda u: _terms(b, 0.1, u)
    n = 12
    b8a = np.full((n, n), 0.30, np.float32)
    b09 = forward(invert(b8a, terms("B8A")(1.0)), terms("B09")(1.0))     # 1.0 cm everywhere
    b09[:2] = b8a[:2] * 1.05            # rows 0-1: above any model ratio (no absorption at all)
    b09[2:4] = b8a[2:4] * 0.05          # rows 2-3: more absorption than the wettest node
    valid, land = np.ones((n, n), bool), np.ones((n, n), bool)
    wv, info = retrieve_wv(b8a, b09, terms("B8A"), terms("B09"), nodes, valid, land, 60.0, smooth_m=0.0)
    assert info["mean_land"] == pytest.approx(1.0, rel=0.02)
    assert np.allclose(wv[:4], info["mean_land"]) and np.allclose(wv[4:], 1.0, rtol=0.02)
    assert not np.isclose(wv, nodes[0]).any() and not np.isclose(wv, nodes[-1]).any()
    assert info["retrieved_pct"] == pytest.approx(100.0 * (n - 4) / n)


def test_final_visibility_is_that_of_the_aot_written():
    """Issue 17 item 2: FINAL_VISIBILITY_KM is the visibility of the mean of the bounded AOT map (the map that is
    written and averaged into GRANULE_MEAN_AOT), within 5-120 km; a DDV map partly beyond 120 km no longer reports
    120 km while its bounded mean says ~115 km."""
    from sen2cor3.ac.aot import VISIBILITY_MAX_KM, bounded_aot, map_visibility
    valid = np.ones((4, 4), bool)
    a120 = float(koschmieder_aot(VISIBILITY_MAX_KM, 0.1))
    amap = np.full((4, 4), 0.01, np.float32)            # far clearer than 120 km ...
    amap[:2] = 0.2                                      # ... beside a hazy half
    b = bounded_aot(amap, 0.1, valid)
    vis = map_visibility(b, valid, 0.1)
    assert float(koschmieder_aot(vis, 0.1)) == pytest.approx(float(b.mean()), rel=1e-4)
    assert vis < VISIBILITY_MAX_KM and b.min() == pytest.approx(a120, rel=1e-6)
    assert map_visibility(np.full((4, 4), 0.001, np.float32), valid, 0.1) == VISIBILITY_MAX_KM
    assert map_visibility(np.full((4, 4), 5.0, np.float32), valid, 0.1) == 5.0
