"""Cloud-shadow geometry and the shadow classes."""
from __future__ import annotations

import math

import numpy as np
import pytest

from sen2cor3.sc import shadows, terrain
from test_sc_common import BANDS, SPECTRA, run


@pytest.mark.parametrize("saa", [0.0, 45.0, 135.0, 150.0, 225.0, 300.0])
@pytest.mark.parametrize("sza", [25.0, 50.0])
def test_offset_is_anti_solar(sza, saa):
    h, res = 2000.0, 20.0
    dr, dc = shadows.shadow_offset_pixels(h, sza, saa, res)
    d = h * math.tan(math.radians(sza)) / res
    # map frame: shadow moves away from the sun; rows grow southwards
    east, north = dc, -dr
    np.testing.assert_allclose([east, north], [-d * math.sin(math.radians(saa)), -d * math.cos(math.radians(saa))],
                               atol=1e-9)


def test_view_parallax():
    # satellite exactly in the sun's direction: the shadow hides behind the cloud
    assert np.allclose(shadows.shadow_offset_pixels(1000, 30, 120, 20, vza_deg=30, vaa_deg=120), 0, atol=1e-9)
    assert shadows.shadow_offset_pixels(1000, 30, 120, 20, vza_deg=0) == shadows.shadow_offset_pixels(1000, 30, 120, 20)


@pytest.mark.parametrize("sza,saa", [(30.0, 150.0), (55.0, 40.0), (40.0, 250.0), (20.0, 320.0)])
def test_square_cloud_projects_to_offset(sza, saa):
    """A square cloud at one known height casts its projected mask at the computed offset."""
    n, res, h = 300, 20.0, 1800.0
    cloud = np.zeros((n, n), bool)
    cloud[140:160, 140:160] = True
    heights = np.array([0.0, h - 150, h, h + 150, 2 * h])   # narrow triangle around h
    weights = np.array([0.0, 0.0, 1.0, 0.0, 0.0])
    k = shadows.projection_kernel(sza, saa, res, heights_m=heights, weights=weights)
    proj = shadows.project_clouds(cloud, k)
    rows, cols = np.indices(proj.shape)
    r0, c0 = (proj * rows).sum() / proj.sum(), (proj * cols).sum() / proj.sum()
    dr, dc = shadows.shadow_offset_pixels(h, sza, saa, res)
    assert abs(r0 - 149.5 - dr) <= 1.0 and abs(c0 - 149.5 - dc) <= 1.0
    # the projected square keeps its size: its support spans 20 px plus the triangle's length
    assert (proj > 0.5).sum() >= 300


def test_generic_height_kernel_direction():
    k = shadows.projection_kernel(30.0, 90.0, 20.0)      # sun in the east: shadow to the west
    c = k.shape[0] // 2
    rr, cc = np.nonzero(k)
    assert np.all(cc <= c) and np.all(np.abs(rr - c) <= 1)
    h, w = shadows.height_distribution()
    assert w.max() == 1.0 and h[np.argmax(w > 0.5)] == pytest.approx(600, abs=31)


def _scene_with_cloud_and_shadow(sza, saa, h=2000.0, n=160, res=20.0):
    toa = {b: np.full((n, n), v, np.float32) for b, v in zip(BANDS, SPECTRA["vegetation"])}
    cloud = np.zeros((n, n), bool)
    cloud[60:85, 60:85] = True
    dr, dc = (int(round(x)) for x in shadows.shadow_offset_pixels(h, sza, saa, res))
    shadow = np.roll(np.roll(cloud, dr, 0), dc, 1) & ~cloud
    mirror = np.roll(np.roll(cloud, -dr, 0), -dc, 1) & ~cloud
    for i, b in enumerate(BANDS):
        toa[b][shadow] *= 0.2 if b != "B10" else 1.0   # deep shadow: darker than the reference
        toa[b][mirror] *= 0.2 if b != "B10" else 1.0   # equally dark, but on the sun side
        toa[b][cloud] = SPECTRA["thick_cloud"][i]
    return toa, shadow, mirror


@pytest.mark.parametrize("classic", [True, False])
def test_classify_finds_shadow_on_anti_solar_side(classic):
    sza, saa = 35.0, 150.0
    toa, shadow, mirror = _scene_with_cloud_and_shadow(sza, saa)
    out = run(toa, classic=classic, sza=sza, saa=saa)
    assert (out.scl[shadow] == 3).mean() > 0.8
    assert (out.scl[mirror] == 3).mean() < 0.05


def test_cast_shadow_behind_wall():
    """A 200 m wall with the sun 45 deg high in the south shades 10 pixels (20 m) to its north."""
    dem = np.zeros((80, 60), np.float32)
    dem[50:53, :] = 200.0
    cast = terrain.cast_shadows(dem, 45.0, 180.0, 20.0)
    col = cast[:, 30]
    assert col[41:50].all() and not col[:38].any() and not col[53:].any()


@pytest.mark.parametrize("facing, tilt_east, tilt_north", [(90.0, -1, 0), (180.0, 0, 1), (270.0, 1, 0), (0.0, 0, -1),
                                                         (135.0, -1, 1)])
def test_slope_aspect_convention(facing, tilt_east, tilt_north):
    """Horn on planes: slope from the horizontal, aspect = downslope azimuth clockwise from north, also along
    the edges (GDAL's linear extrapolation keeps a plane a plane; its four corner pixels repeat the edge
    column instead, so they are left out); radians on request; 0 when flat."""
    res, grad = 20.0, 0.1                                      # 10 % per axis
    r, c = np.mgrid[0:7, 0:9].astype(np.float32)
    dem = 500 + grad * res * (tilt_east * c - tilt_north * r)  # rows run south
    keep = np.ones(dem.shape, bool)
    keep[[0, 0, -1, -1], [0, -1, 0, -1]] = False
    slope, aspect = terrain.slope_aspect(dem, res)
    want = math.degrees(math.atan(grad * math.hypot(tilt_east, tilt_north)))
    np.testing.assert_allclose(slope[keep], want, atol=1e-3)
    np.testing.assert_allclose(aspect[keep], facing, atol=1e-3)
    s_rad, a_rad = terrain.slope_aspect(dem, res, degrees=False)
    np.testing.assert_allclose(s_rad[keep], math.radians(want), atol=1e-5)
    np.testing.assert_allclose(a_rad[keep], math.radians(facing), atol=1e-5)
    assert slope.dtype == aspect.dtype == np.float32
    flat_s, flat_a = terrain.slope_aspect(np.full((5, 5), 300.0, np.float32), res)
    assert not flat_s.any() and not flat_a.any()


def test_slope_aspect_no_data():
    """A NaN height: NaN there; its neighbours use the centre's height in its place (GDAL's rule)."""
    dem = np.add.outer(np.arange(6.0), np.arange(7.0)).astype(np.float32) * 5
    dem[2, 3] = np.nan
    slope, aspect = terrain.slope_aspect(dem, 10.0)
    assert np.isnan(slope[2, 3]) and np.isnan(aspect[2, 3])
    assert np.isfinite(np.delete(slope.ravel(), 2 * 7 + 3)).all()


def test_cos_incidence_degrees_and_radians():
    s, a = np.array([0.0, 30.0, 30.0], np.float32), np.array([0.0, 180.0, 0.0], np.float32)
    ci = terrain.cos_incidence(s, a, 40.0, 180.0)
    np.testing.assert_allclose(ci, [math.cos(math.radians(40)), math.cos(math.radians(10)),
                                    math.cos(math.radians(70))], atol=1e-6)
    np.testing.assert_allclose(terrain.cos_incidence(np.radians(s), np.radians(a), 40.0, 180.0, degrees=False),
                               ci, atol=1e-6)


def test_shadow_windows_keep_their_20m_size_in_metres():
    """Issue 17 item 4: Sen2Cor's pixel windows of the shadow step hold at 20 m; elsewhere the same ground size."""
    assert [shadows.window_px(n, 20) for n in (3, 5, 25)] == [3, 5, 25]
    assert [shadows.window_px(n, 60) for n in (3, 5, 25)] == [1, 3, 9]
    assert [shadows.window_px(n, 30) for n in (3, 5, 25)] == [3, 3, 17]
    assert shadows.reach_px(1, 20) == 1 and shadows.reach_px(1, 60) == 0 and shadows.reach_px(1, 10) == 2


def test_geometric_probability_is_resolution_consistent():
    """The same cloud on a 20 m and a 60 m grid casts its shadow probability over the same ground: the area above
    0.05 within 10 % [-7 %; +19 % with the windows in pixels: sigma 180 m at 60 m] and a mean absolute difference
    to the 20 m map's block means below 0.009 [0.0068; 0.0118 in pixels]."""
    n = 540
    prob = np.zeros((n, n), np.float32)
    prob[240:300, 240:300] = 1.0
    kw = dict(sza_deg=40.0, saa_deg=140.0)
    p20 = shadows.geometric_shadow_probability(prob, np.zeros((n, n), bool), resolution_m=20.0, **kw)
    prob60 = prob.reshape(n // 3, 3, n // 3, 3).mean(axis=(1, 3))
    p60 = shadows.geometric_shadow_probability(prob60, np.zeros((n // 3, n // 3), bool), resolution_m=60.0, **kw)
    m20 = p20.reshape(n // 3, 3, n // 3, 3).mean(axis=(1, 3))
    area60, area20 = float((p60 > 0.05).sum()), float((p20 > 0.05).sum()) / 9.0
    assert p60.max() > 0.5 and abs(area60 / area20 - 1.0) < 0.10, (area60, area20)
    assert float(np.abs(p60 - m20).mean()) < 0.009


def _cast_shadows_whole_grid(dem, sza_deg, saa_deg, resolution_m):
    """The horizon test over the whole rotated grid at once (the implementation before the lean one): the
    reference the strip-wise, in-place version must reproduce bit for bit."""
    from scipy import ndimage
    f32 = np.float32
    if sza_deg >= 90.0:
        return np.ones(dem.shape, dtype=bool)
    tan_e = math.tan(math.radians(90.0 - sza_deg))
    z = dem.astype(f32, copy=True)
    lowest = f32(np.nanmin(z)) if np.isfinite(z).any() else f32(0)
    z[~np.isfinite(z)] = lowest
    angle = saa_deg - 90.0
    pad = f32(lowest - 1e6)
    zr = ndimage.rotate(z, angle, reshape=True, order=1, mode="constant", cval=pad)
    inside = ndimage.rotate(np.ones(z.shape, f32), angle, reshape=True, order=0, cval=0) > 0.5
    t = np.arange(zr.shape[1], dtype=f32) * f32(resolution_m * tan_e)
    g = zr - t[None, :]
    g[~inside] = pad
    run = np.maximum.accumulate(g[:, ::-1], axis=1)[:, ::-1]
    ahead = np.full_like(run, pad)
    ahead[:, :-1] = run[:, 1:]
    shadow_r = (ahead > g) & inside
    back = ndimage.rotate(shadow_r.astype(np.uint8), -angle, reshape=True, order=0, cval=0)
    r0 = (back.shape[0] - z.shape[0]) // 2
    c0 = (back.shape[1] - z.shape[1]) // 2
    return back[r0:r0 + z.shape[0], c0:c0 + z.shape[1]].astype(bool)


@pytest.mark.parametrize("sza,saa", [(30.0, 135.0), (62.0, 160.0), (75.0, 200.0), (45.0, 90.0), (50.0, 313.0)])
def test_cast_shadows_strips_equal_whole_grid(sza, saa):
    """Rough terrain with no-data holes, several strips (strip_rows 37): the lean horizon test is the whole-grid
    one, bit for bit, and it finds shadows (a test of something)."""
    from scipy import ndimage
    rng = np.random.default_rng(int(sza * 10 + saa))
    dem = (ndimage.gaussian_filter(rng.normal(0, 1, (301, 277)), 6) * 4000 + 800).astype(np.float32)
    dem[40:44, 100:130] = np.nan
    ref = _cast_shadows_whole_grid(dem, sza, saa, 20.0)
    assert 0.01 < ref.mean() < 0.9
    assert np.array_equal(terrain.cast_shadows(dem, sza, saa, 20.0, strip_rows=37), ref)
    assert np.array_equal(terrain.cast_shadows(dem, sza, saa, 20.0), ref)


@pytest.mark.parametrize("ny", [50, 57, 64])            # 57: a last strip of one row joins the one before
@pytest.mark.parametrize("degrees", [True, False])
def test_slope_aspect_strips_equal_whole_grid(monkeypatch, ny, degrees):
    """Horn's slope and aspect computed in strips of 7 rows (one DEM row of halo on each side) are the whole-grid
    values bit for bit, edges and corners included."""
    from scipy import ndimage
    rng = np.random.default_rng(ny)
    dem = (ndimage.gaussian_filter(rng.normal(0, 1, (ny, 83)), 3) * 900 + 500).astype(np.float32)
    whole = terrain._slope_aspect_grid(dem, 20.0, degrees)
    monkeypatch.setattr(terrain, "SLOPE_STRIP_ROWS", 7)
    parts = terrain.slope_aspect(dem, 20.0, degrees=degrees)
    assert np.array_equal(parts[0], whole[0]) and np.array_equal(parts[1], whole[1])
    assert float(whole[0].max()) > 0
