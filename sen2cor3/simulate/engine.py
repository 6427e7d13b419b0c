"""The simulator's engine: tile geometry, sun/view angles, the 6S forward model of each band on the scene.

Shared by the product writers of every format (Sentinel-2, Hyper MS in ``cli``; Landsat in ``landsat``), which
only import from here (no import circle with the command line).
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from osgeo import osr

from . import forward as fw
from .l1c_writer import S2P_RESOLUTION_M, angle_grid_size
from .scene import BANDS, Scene, repeat_rows, row_strips


RES = {"B01": 60, "B02": 10, "B03": 10, "B04": 10, "B05": 20, "B06": 20, "B07": 20, "B08": 10, "B8A": 20,
       "B09": 60, "B10": 60, "B11": 20, "B12": 20}
ORBIT_ALT_M = 786_000.0
GRID_STEP_M = 5000.0
GRID_N = 23
#: Band resolution (m) of a Hyper MS (S2P) product: 30 m, B01 60 m; its truth grid.
RES_S2P = dict(S2P_RESOLUTION_M)
HYPER_RES = 30
#: 6S spectral responses used for a spacecraft when not its own: prisma4sen2like aggregates PRISMA spectra
#: with the S2A MSI responses (and Sen2Cor's Hyper MS LUTs are S2A's).
SRF_SENSOR = {"S2P": "S2A"}
#: Landsat spacecraft (``landsat.py`` simulates and writes their C2 L1TP products).
LANDSAT = ("L8", "L9")
#: Along-track view-angle offset of each band (deg): the MSI focal plane staggers bands along track.
BAND_ALONG_DEG = dict(zip(BANDS, (-0.9, -0.3, 0.0, 0.3, 0.45, 0.6, 0.75, -0.15, 0.9, -1.05, 1.2, -0.6, -0.75)))


@dataclass
class Geometry:
    """Where and when: tile grid, sensing time, sun and view angles."""
    tile: str
    epsg: int
    ulx: float
    uly: float
    size: int
    sensing: datetime
    lat: float
    lon: float
    north_grid_az: float                      # grid azimuth of true north (meridian convergence), deg
    sun_shift: float                          # added to every computed sun zenith (--sun-zenith)
    nadir_offset_m: float                     # across-track distance of the tile UL from the nadir track
    grid_n: int = GRID_N                      # nodes per side of the 5 km angle grids
    sun_zenith_grid: np.ndarray = field(default=None)
    sun_azimuth_grid: np.ndarray = field(default=None)
    view_zenith_grid: dict = field(default_factory=dict)
    view_azimuth_grid: dict = field(default_factory=dict)

    def xy(self, row_m: np.ndarray, col_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.ulx + col_m, self.uly - row_m

    def sun(self, row_m, col_m) -> tuple[np.ndarray, np.ndarray]:
        """Sun zenith/azimuth (true north) at tile positions (metres from the UL corner)."""
        x, y = self.xy(np.asarray(row_m, float), np.asarray(col_m, float))
        lon, lat = _to_lonlat(self.epsg, x, y)
        z, a = fw.solar_position(self.sensing, lat, lon)
        return z + self.sun_shift, a

    def view(self, band: str, row_m, col_m) -> tuple[np.ndarray, np.ndarray]:
        """View zenith/azimuth of ``band``: across-track tilt towards a descending nadir track + band stagger."""
        row_m, col_m = np.asarray(row_m, float), np.asarray(col_m, float)
        head = math.radians(192.0)                       # descending ground track heading (true)
        east = head - math.pi / 2                        # across-track axis pointing away from the track (ESE)
        across = self.nadir_offset_m + col_m * math.sin(east) - row_m * math.cos(east)
        t_across = across / ORBIT_ALT_M                  # tan of the across-track view angle
        t_along = math.tan(math.radians(BAND_ALONG_DEG[band]))
        ve = -t_across * math.sin(east) + t_along * math.sin(head)   # pixel -> satellite, horizontal
        vn = -t_across * math.cos(east) + t_along * math.cos(head)
        vza = np.degrees(np.arctan(np.hypot(ve, vn)))
        vaa = np.degrees(np.arctan2(ve, vn)) % 360.0
        return vza, vaa


def _to_lonlat(epsg: int, x, y) -> tuple[np.ndarray, np.ndarray]:
    src, dst = osr.SpatialReference(), osr.SpatialReference()
    src.ImportFromEPSG(epsg)
    dst.ImportFromEPSG(4326)
    for s in (src, dst):
        s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
    pts = np.array(osr.CoordinateTransformation(src, dst).TransformPoints(
        np.column_stack([x.ravel(), y.ravel()]).tolist()))
    return pts[:, 0].reshape(x.shape), pts[:, 1].reshape(x.shape)


def sensing_time(date: str, local_solar_h: float, lon: float, frac_s: float) -> datetime:
    """``date`` when it is a full time, else that day at ``local_solar_h`` hours local solar time at ``lon``
    (deg), to the whole second, plus ``frac_s`` seconds (the simulators' fixed sub-second part)."""
    if "T" in date:
        return datetime.fromisoformat(date.replace("Z", ""))
    utc_h = local_solar_h - lon / 15.0
    return datetime.fromisoformat(date) + timedelta(seconds=round(utc_h * 3600.0) + frac_s)


def meridian_convergence(epsg: int, lon: float, lat: float) -> float:
    """Azimuth of true north on the ``epsg`` grid at (lon, lat), degrees clockwise from grid north (a 0.01 deg
    step to the north, projected)."""
    src, dst = osr.SpatialReference(), osr.SpatialReference()
    src.ImportFromEPSG(4326)
    dst.ImportFromEPSG(epsg)
    for s in (src, dst):
        s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    p = np.array(osr.CoordinateTransformation(src, dst).TransformPoints([[lon, lat], [lon, lat + 0.01]]))
    return math.degrees(math.atan2(p[1, 0] - p[0, 0], p[1, 1] - p[0, 1]))


def make_geometry(tile: str, size: int, date: str, sun_zenith: float | None) -> Geometry:
    """Tile grid from the MGRS id; sensing at ~10:30 local solar time; sun grids on the 5 km MTD_TL lattice."""
    from sen2cor3.products.mgrs import tile_epsg, tile_ul
    epsg = tile_epsg(tile)
    ulx, uly = tile_ul(tile)
    half = size * 5.0
    lon_c, lat_c = (float(v) for v in _to_lonlat(epsg, ulx + half, uly - half))
    sensing = sensing_time(date, 10.5, lon_c, 0.024)
    conv = meridian_convergence(epsg, lon_c, lat_c)
    g = Geometry(tile=tile.upper().lstrip("T"), epsg=epsg, ulx=ulx, uly=uly, size=size, sensing=sensing,
                 lat=lat_c, lon=lon_c, north_grid_az=conv, sun_shift=0.0, nadir_offset_m=70_000.0,
                 grid_n=angle_grid_size(size, GRID_STEP_M))
    if sun_zenith is not None:
        z0, _ = g.sun(half, half)
        g.sun_shift = float(sun_zenith) - float(z0)
    ii, jj = np.mgrid[0:g.grid_n, 0:g.grid_n] * GRID_STEP_M
    g.sun_zenith_grid, g.sun_azimuth_grid = g.sun(ii, jj)
    for b in BANDS:
        g.view_zenith_grid[b], g.view_azimuth_grid[b] = g.view(b, ii, jj)
    return g


def circular_mean_deg(a: np.ndarray) -> float:
    """Mean azimuth as MTD_TL states it (mean of unit vectors)."""
    r = np.radians(np.asarray(a, float).ravel())
    return float(np.degrees(np.arctan2(np.sin(r).mean(), np.cos(r).mean())) % 360.0)


def grid_sample(g: Geometry, grid: np.ndarray, row_m: np.ndarray, col_m: np.ndarray, azimuth: bool = False
                ) -> np.ndarray:
    """Bilinear value of an MTD_TL angle grid at tile positions: what a reader of the product sees there."""
    from scipy.ndimage import map_coordinates
    coords = [np.asarray(row_m, float) / GRID_STEP_M, np.asarray(col_m, float) / GRID_STEP_M]
    if not azimuth:
        return map_coordinates(grid, coords, order=1, mode="nearest")
    r = np.radians(grid)
    s = map_coordinates(np.sin(r), coords, order=1, mode="nearest")
    c = map_coordinates(np.cos(r), coords, order=1, mode="nearest")
    return np.degrees(np.arctan2(s, c)) % 360.0


@dataclass
class Simulation:
    """Everything computed for one product (DN per band, truth arrays, parameters)."""
    geometry: Geometry
    scene: Scene
    sensor: str
    aerosol: str
    season: str
    ozone_du: float
    zone_sun: np.ndarray                     # (nzones, 2) sun zenith, azimuth (true) at zone centres
    view_mean: dict[str, tuple[float, float]]
    specs: dict[tuple[str, int], list[fw.RunSpec]]
    atmosphere: dict
    dn: dict[str, np.ndarray] = field(default_factory=dict)
    toa: dict[str, np.ndarray] = field(default_factory=dict)     # Hyper MS, Landsat (S2: DN only)
    boa: dict[str, np.ndarray] = field(default_factory=dict)
    cast20: np.ndarray | None = None
    illum20: tuple[np.ndarray, np.ndarray] | None = None
    illum30: tuple[np.ndarray, np.ndarray] | None = None      # Hyper MS: 3x3 means of the 10 m factors

    @property
    def hyper_ms(self) -> bool:
        """A Hyper MS (S2P) simulation: bands at 30 m (B01 60 m), ``boa`` on the 30 m truth grid."""
        return self.sensor == "S2P"

    @property
    def band_res(self) -> dict[str, int]:
        """Resolution (m) of each band in the product."""
        return RES_S2P if self.hyper_ms else RES


def _zone_centres(scene: Scene) -> np.ndarray:
    """(row_m, col_m) of each zone's centre (from the 60 m zone map)."""
    z = scene.zones60
    out = []
    for k in range(int(z.max()) + 1):
        r, c = np.nonzero(z == k)
        out.append(((r.min() + r.max() + 1) * 30.0, (c.min() + c.max() + 1) * 30.0))
    return np.array(out)


def _zones_rows(sc: Scene, res: int, r0: int, r1: int) -> np.ndarray:
    """Rows ``[r0, r1)`` of ``sc.zones(res)``."""
    return repeat_rows(sc.zones60, 60 // res, r0, r1)


def _cast_rows(sim: Simulation, res: int, r0: int, r1: int) -> np.ndarray | None:
    """Rows ``[r0, r1)`` of the cast-shadow fraction at ``res`` (float32) that the direct factor takes: the 20 m
    ray marching repeated to 10 m or block-averaged to 60 m; None without relief."""
    if sim.cast20 is None:
        return None
    if res == 10:
        return repeat_rows(sim.cast20, 2, r0, r1).astype(np.float32)
    if res == 20:
        return sim.cast20[r0:r1].astype(np.float32)
    if res == 60:                      # the strip's own 3 x 3 blocks (each block's mean is the whole grid's)
        part = sim.cast20[3 * r0:3 * r1].astype(np.float32)
        return part.reshape(r1 - r0, 3, part.shape[1] // 3, 3).mean(axis=(1, 3))
    raise ValueError(f"cast shadows at {res} m: 10, 20 or 60 m only")


def _illumination_rows(sim: Simulation, res: int, dem: np.ndarray, r0: int, r1: int
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows ``[r0, r1)`` of :func:`illumination_parts` (``dem`` = ``sim.scene.dem(res)``): the slopes from the
    strip and one neighbour row on each side, so the central differences are those of the whole DEM."""
    sc = sim.scene
    h0, h1 = max(r0 - 1, 0), min(r1 + 1, dem.shape[0])
    zones = _zones_rows(sc, res, h0, h1)
    sza = sim.zone_sun[:, 0][zones]
    saa_g = (sim.zone_sun[:, 1] + sim.geometry.north_grid_az)[zones]
    cos_i, sky = fw.slope_cos_i(dem[h0:h1], float(res), sza, saa_g)
    inner = slice(r0 - h0, r1 - h0)
    f_dir = np.maximum(cos_i[inner], 0.0) / np.cos(np.radians(sza[inner]))
    cast = _cast_rows(sim, res, r0, r1)
    if cast is not None:
        f_dir *= 1.0 - cast
    return f_dir, sc.cloud_shadow(res, (r0, r1)).astype(np.float64), sky[inner]


def illumination_parts(sim: Simulation, res: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(F_dir of the terrain alone: incidence and cast shadows, the cloud-shadow fraction, the sky-view factor V)
    at ``res``. The direct factor of the forward model is F_dir x (1 - cloud shadow); its diffuse factor is Hay's
    of the terrain alone (``forward.hay_diffuse``): a cloud blocks the direct beam only."""
    dem = sim.scene.dem(res)
    out = tuple(np.empty(dem.shape, np.float64) for _ in range(3))
    for r0, r1 in row_strips(dem.shape[0], res):
        for o, part in zip(out, _illumination_rows(sim, res, dem, r0, r1)):
            o[r0:r1] = part
    return out


def illumination(sim: Simulation, res: int) -> tuple[np.ndarray, np.ndarray]:
    """F_dir and the sky-view factor V of the forward model at ``res`` (terrain incidence, cloud and cast
    shadows); the diffuse factor is per band (``forward.hay_diffuse`` of the terrain alone, see
    :func:`illumination_parts`)."""
    f_dir, cloud_shadow, sky = illumination_parts(sim, res)
    return f_dir * (1.0 - cloud_shadow), sky


def relative_irradiance(sim: Simulation, band: str, res: int) -> np.ndarray:
    """Irradiance of each pixel relative to flat, unshadowed ground, E / (t_dir + t_dif) at the pixel's
    elevation: the direct beam (terrain, cast and cloud shadows), Hay's diffuse of the terrain, the light of
    the surrounding slopes (``terrain_reflectance``). 1 on flat ground in the sun. Made by row strips."""
    sc = sim.scene
    dem = sc.dem(res)
    rho_ter = _terrain_term(sim, band, res, sc.surface(band, res), dem) if sc.relief != "flat" else None
    rel = np.empty(dem.shape, np.float64)
    for r0, r1 in row_strips(dem.shape[0], res):
        f_t, cs, sky = _illumination_rows(sim, res, dem, r0, r1)
        f_dir = f_t * (1.0 - cs)
        zones, dem_s, out = _zones_rows(sc, res, r0, r1), dem[r0:r1], rel[r0:r1]
        ter = None if rho_ter is None else rho_ter[r0:r1]
        for z in range(len(sc.zone_aot)):
            m = zones == z
            if not m.any():
                continue
            t = sim.atmosphere[(band, z)].at(dem_s[m])
            e_flat = t["t_down_dir"] + t["t_down_dif"]
            e = t["t_down_dir"] * f_dir[m] + t["t_down_dif"] * fw.hay_diffuse(f_t[m], sky[m], t["t_down_dir"])
            if ter is not None:
                e = e + e_flat * (1.0 - sky[m]) * ter[m]
            out[m] = e / e_flat
    return rel


def _environment20(sim: Simulation, band: str) -> tuple[np.ndarray, np.ndarray]:
    """(Rayleigh, aerosol) environment reflectance of ``band`` on the 20 m grid (see :func:`environment_at`)."""
    sc = sim.scene
    return fw.environment(sc.surface(band, 20) * relative_irradiance(sim, band, 20), 20.0)


def environment_at(sim: Simulation, band: str, res: int) -> tuple[np.ndarray, np.ndarray]:
    """(Rayleigh, aerosol) environment reflectance of ``band`` at ``res``: the surface reflectance times its
    irradiance relative to flat sunlit ground (:func:`relative_irradiance`: the environment sends up the light it
    receives, a shadowed neighbour less), averaged by 6S' environment functions on the 20 m grid
    (``forward.environment``), repeated to 10 m or block-averaged to 60 m."""
    env = _environment20(sim, band)
    if res == 10:
        return tuple(np.repeat(np.repeat(e, 2, axis=0), 2, axis=1) for e in env)
    return _env_coarse(env, res)


def _env_coarse(env: tuple[np.ndarray, np.ndarray], res: int) -> tuple[np.ndarray, np.ndarray]:
    """The 20 m environment at 20 m or block-averaged to 60 m."""
    if res == 60:
        n = env[0].shape[0] // 3
        return tuple(e.reshape(n, 3, n, 3).mean(axis=(1, 3)) for e in env)
    return env


def _terrain_weights(sim: Simulation, band: str) -> tuple[np.ndarray, np.ndarray]:
    """Per zone: Hay's anisotropy index k = t_down_dir and the direct share w of the flat irradiance (6S, lowest
    elevation node)."""
    nz = len(sim.scene.zone_aot)
    k, w = np.zeros(nz), np.zeros(nz)
    for z in range(nz):
        t = sim.atmosphere[(band, z)].terms
        k[z] = t["t_down_dir"][0]
        w[z] = t["t_down_dir"][0] / (t["t_down_dir"][0] + t["t_down_dif"][0])
    return k, w


def _terrain_source(rho: np.ndarray, f_dir: np.ndarray, sky: np.ndarray, f_t: np.ndarray, kk: np.ndarray,
                    ww: np.ndarray) -> np.ndarray:
    """What each pixel sends to the opposite slopes: its reflectance times its irradiance relative to flat
    ground (pixel by pixel)."""
    rel = ww * f_dir + (1.0 - ww) * fw.hay_diffuse(f_t, sky, kk)
    return rho.astype(np.float64) * rel


def _box_1km(a: np.ndarray, res: int) -> np.ndarray:
    """1 km box mean (mirrored at the borders), in place."""
    from scipy.ndimage import uniform_filter
    n = max(1, int(round(1000.0 / res)) | 1)
    return uniform_filter(a, size=n, mode="mirror", output=a)


def terrain_reflectance(sim: Simulation, rho: np.ndarray, f_dir: np.ndarray, sky: np.ndarray, res: int,
                        band: str, f_dir_terrain: np.ndarray | None = None) -> np.ndarray:
    """rho_ter: 1 km box mean of the neighbours' reflectance times their irradiance relative to flat ground
    (direct share w per zone from 6S; Hay diffuse of the terrain alone, ``f_dir_terrain``, default ``f_dir``),
    i.e. the radiance the opposite slopes send."""
    zones = sim.scene.zones(res)
    k, w = _terrain_weights(sim, band)
    f_t = f_dir if f_dir_terrain is None else f_dir_terrain
    return _box_1km(_terrain_source(rho, f_dir, sky, f_t, k[zones], w[zones]), res)


def _terrain_term(sim: Simulation, band: str, res: int, rho: np.ndarray, dem: np.ndarray) -> np.ndarray:
    """:func:`terrain_reflectance` with the scene's own illumination, its source made by row strips (only the
    box mean needs the whole grid)."""
    sc = sim.scene
    k, w = _terrain_weights(sim, band)
    src = np.empty(dem.shape, np.float64)
    for r0, r1 in row_strips(dem.shape[0], res):
        f_t, cs, sky = _illumination_rows(sim, res, dem, r0, r1)
        zones = _zones_rows(sc, res, r0, r1)
        src[r0:r1] = _terrain_source(rho[r0:r1], f_t * (1.0 - cs), sky, f_t, k[zones], w[zones])
    return _box_1km(src, res)


def _toa_strips(sim: Simulation, band: str, res: int, rho: np.ndarray
                ) -> Iterator[tuple[int, int, np.ndarray]]:
    """(r0, r1, TOA reflectance of rows [r0, r1)) of one band at ``res`` whose surface is ``rho``: the whole-grid
    terms first (environment, terrain light), then the per-pixel model strip by strip."""
    sc = sim.scene
    dem = sc.dem(res)
    env = _environment20(sim, band)
    if res != 10:
        env = _env_coarse(env, res)
    rho_ter = _terrain_term(sim, band, res, rho, dem) if sc.relief != "flat" else None
    for r0, r1 in row_strips(rho.shape[0], res):
        f_t, cs, sky = _illumination_rows(sim, res, dem, r0, r1)
        f_dir = f_t * (1.0 - cs)
        env_r, env_a = (repeat_rows(e, 2, r0, r1) if res == 10 else e[r0:r1] for e in env)
        zones, dem_s, rho_s = _zones_rows(sc, res, r0, r1), dem[r0:r1], rho[r0:r1]
        ter = None if rho_ter is None else rho_ter[r0:r1]
        toa = np.empty(rho_s.shape, np.float64)
        for z in range(len(sc.zone_aot)):
            m = zones == z
            if not m.any():
                continue
            t = sim.atmosphere[(band, z)].at(dem_s[m])
            env_m = t["f_ray"] * env_r[m] + (1.0 - t["f_ray"]) * env_a[m]
            f_dif = fw.hay_diffuse(f_t[m], sky[m], t["t_down_dir"])
            toa[m] = fw.toa_from_terms(rho_s[m].astype(np.float64), t, f_dir[m], f_dif, env_m, sky[m],
                                       0.0 if ter is None else ter[m])
        toa += sc.cirrus_toa(band, res, (r0, r1))
        yield r0, r1, toa


def band_toa(sim: Simulation, band: str, res: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(BOA truth, TOA reflectance) of one band at ``res`` (default: its S2 native resolution)."""
    res = RES[band] if res is None else res
    rho = sim.scene.surface(band, res)
    toa = np.empty(rho.shape, np.float64)
    for r0, r1, part in _toa_strips(sim, band, res, rho):
        toa[r0:r1] = part
    return rho, toa


def band_dn(sim: Simulation, band: str, radio_add_offset: float) -> tuple[np.ndarray, np.ndarray]:
    """(BOA truth, L1C DN) of one band at its S2 native resolution: the DN made strip by strip, so that no
    whole-band float64 TOA is held (a full tile's 10 m TOA is 1 GB)."""
    res = RES[band]
    rho = sim.scene.surface(band, res)
    nodata = sim.scene.nodata(res)
    dn = np.empty(rho.shape, np.uint16)
    for r0, r1, toa in _toa_strips(sim, band, res, rho):
        dn[r0:r1] = fw.to_dn(toa, nodata[r0:r1], radio_add_offset)
    return rho, dn


def block_mean64(a: np.ndarray, f: int) -> np.ndarray:
    """Mean over f x f blocks, in float64 (how 10 m reflectance becomes 30 m / 60 m for Hyper MS)."""
    if f == 1:
        return np.asarray(a, np.float64)
    n = a.shape[0] // f
    return np.asarray(a, np.float64).reshape(n, f, n, f).mean(axis=(1, 3))


def cast_at(sim: Simulation, res: int) -> np.ndarray | None:
    """Cast-shadow fraction at ``res`` from the 20 m ray marching (10 m repetition averaged to ``res``)."""
    if sim.cast20 is None:
        return None
    if res == 20:
        return sim.cast20
    cast10 = np.repeat(np.repeat(sim.cast20.astype(np.float32), 2, axis=0), 2, axis=1)
    return block_mean64(cast10, res // 10).astype(np.float32)
