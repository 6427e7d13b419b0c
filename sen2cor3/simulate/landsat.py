"""Landsat 8/9 Collection-2 L1TP products from the simulator's scene (``--spacecraft L8`` / ``L9``).

Same scene, same 6S forward model as the Sentinel-2 and Hyper MS products (``cli.band_toa``), on a Landsat
geometry and written as USGS delivers a C2 L1TP scene::

    OUT_DIR/LC0n_L1TP_PPPRRR_YYYYMMDD_YYYYMMDD_02_T1/
        <id>_B1.TIF .. <id>_B11.TIF        uint16; B8 (pan) on the 15 m grid, all others 30 m
        <id>_QA_PIXEL.TIF <id>_QA_RADSAT.TIF   uint16 bit flags (30 m)
        <id>_SAA.TIF <id>_SZA.TIF <id>_VAA.TIF <id>_VZA.TIF   int16, 0.01 deg, band 4 geometry (30 m)
        <id>_ANG.txt <id>_MTL.txt <id>_MTL.xml
    OUT_DIR/truth/                       BOA_B1_30m.tif .. BOA_B9_30m.tif (no B8), SCL/AOT/WVP/DEM/ILLUM_*_30m.tif,
                                         dem/, truth.json

Geometry. The MGRS tile (``--tile``) gives the place; the image is a north-up UTM grid (EPSG:326xx, also south
of the equator, as USGS does: negative northings) of ``size / 3`` 30 m pixels whose upper-left pixel centre lies
on a multiple of 300 m about 1 km inside the tile's corner (real C2 corners are on such multiples). The
sensing time is the descending node's 10:12 local mean solar time (OLI/TIRS: ~10:11) moved along the orbit to
the scene's latitude (``node_offset_deg``: ~10:40 at 42 N, ~09:53 at 30 S, as real scene centre times show).
The orbit: 705 km, inclination 98.2 deg, descending; the ground-track heading and speed come from the latitude
(inclination and the Earth's rotation); the scene centre lies ``NADIR_OFFSET_M`` to the left (east) of the
nadir track, so the view zenith is ~2.5 deg, the view azimuth points west-north-west; each band looks slightly
along track (``ALONG_DEG``: OLI -0.09 deg, TIRS +0.7..1 deg, as the mean satellite vectors of a real ANG file
show). WRS-2 path/row: from the nadir point of the scene centre (row 60 at the descending equator crossing, 248 rows per
orbit; path 1's descending node at 64.6 W, 233 paths westwards). No-data: the scene's slanted swath edge, tilted
the way a descending Landsat footprint's east edge is (running south-south-west).

Radiometry. The OLI bands take the scene spectra of the MSI bands at the same wavelengths (``SCENE_BAND``) and
the 6S runs use the OLI responses of the spacecraft (``rt`` tables ``L8``/``L9``). As for Hyper MS, each band's
TOA reflectance is computed on the 10 m grid and averaged over 3x3 pixels to 30 m. C2 L1 DN encode the
reflectance *without* the sun-angle correction: rho' = rho_toa * cos(SZA) = REFLECTANCE_MULT * DN +
REFLECTANCE_ADD (2.0E-05, -0.1; USGS: rho_toa = rho' / sin(SUN_ELEVATION), or / cos of the per-pixel SZA band),
with SZA the value the product's SZA band states at that pixel, so a reader of the SZA band gets rho_toa back
exactly; DN clipped to 1..65535 (above: saturated, flagged in QA_RADSAT), 0 = fill. Radiance rescaling
follows (MULT = 2e-5 * ESUN / (pi d^2)) with ESUN per band derived from real MTLs of each spacecraft. B8 is
the area mean of the 10 m TOA of B2, B3, B4 on the 15 m grid (whose pixel centres start at the 30 m UL centre).
B10/B11: DN from a brightness temperature (class temperature, lapse rate, sunlit slopes warmer, cloud tops
and cirrus colder, water vapour cooling) with the MTL's K1/K2 and radiance rescaling.

QA_PIXEL from the true classes at 30 m (the truth SCL, and the surface class under thin cirrus or shadows): fill
1; cloud (SCL 9) bit 3 + confidence high, SCL 8 confidence medium; dilated cloud (bit 1) 3 pixels around cloud;
cirrus (SCL 10) bit 2 + confidence high; cloud shadow (SCL 3) bit 4 + confidence high; snow (SCL 11, or a snow
surface under cirrus/cloud shadow/terrain shadow) bit 5 + confidence high; water (SCL 6, or a water surface
under those) bit 7; clear (bit 6) where neither cloud nor dilated cloud; other confidences low. E.g. 21824
clear land, 21952 clear water, 22280 cloud, 54596 cirrus, 23888 cloud shadow, 30048 snow. QA_RADSAT: bit n-1
for band n (B1-B7, B9) where the DN saturated (none in plausible scenes). Angle bands: band 4's per-pixel sun
and view angles of this geometry, 0 at fill, azimuths in [-180, 180).

ANG: the nadir-track ephemeris (ECEF, 55 s around the scene centre time), the Sun's ECEF direction, and per band
the L1T->L1R model of its SCAs (OLI 14 SCAs of 494 samples overlapping by 44, pan 988/88, TIRS 3 of 640 counted
the other way; affine in line/sample, height parallax in the sample) with quadratic fits of the satellite and
sun vectors; evaluated as USGS' ``l8_angles`` does, it gives the angle bands within their 0.01 deg steps.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from osgeo import gdal, osr

from sen2cor3.rt import sixs

from . import _landsat_meta as M
from . import forward as fw
from .engine import (Geometry, Simulation, _to_lonlat, _zone_centres, band_toa, block_mean64, cast_at,
                  circular_mean_deg, illumination, meridian_convergence, sensing_time)
from .l1c_writer import earth_sun_u
from .scene import (CIRRUS_B10_MAX, CIRRUS_VIS_RATIO, CLASS_NAMES, CLOUD_B10_TOP, SNOW, SPECTRA, WATER,
                    build_scene)

gdal.UseExceptions()

LANDSAT_SPACECRAFT = ("L8", "L9")
#: OLI bands computed by the forward model (6S, OLI responses), and the scene spectrum each one takes: the MSI
#: band at the same centre wavelength (443, 482/490, 561/560, 655/665, 865, 1609/1610, 2201/2190, 1373/1375 nm).
OLI_BANDS: tuple[str, ...] = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B9")
SCENE_BAND = {"B1": "B01", "B2": "B02", "B3": "B03", "B4": "B04", "B5": "B8A", "B6": "B11", "B7": "B12",
              "B9": "B10"}
ALL_BANDS: tuple[str, ...] = tuple(f"B{i}" for i in range(1, 12))
PAN_FROM = ("B2", "B3", "B4")
RES_M = 30
PAN_RES_M = 15
ORBIT_ALT_M = 705_000.0
INCLINATION_DEG = 98.2
EARTH_RADIUS_M = 6_371_000.0
ORBIT_SPEED_M_S = 7_500.0
NADIR_OFFSET_M = -30_000.0            # scene centre's across-track distance, positive right of the track
LOCAL_TIME_H = 10.2
#: Along-track look angle of each band (deg, positive ahead of the spacecraft).
ALONG_DEG = {"B1": -0.093, "B2": -0.094, "B3": -0.095, "B4": -0.094, "B5": -0.096, "B6": -0.097, "B7": -0.096,
             "B8": -0.095, "B9": -0.097, "B10": 1.0, "B11": 0.68}
#: Band exo-atmospheric irradiance (W m-2 um-1) as implied by real C2 MTLs (RADIANCE_ADD * -10 * pi * d^2):
#: LC08 090/084 2016-01-21 and LC09 112/081 2022-02-09.
ESUN = {"L8": dict(zip([f"B{i}" for i in range(1, 10)],
                       (1972.25, 2019.61, 1861.05, 1569.35, 960.36, 238.83, 80.50, 1776.07, 375.33))),
        "L9": dict(zip([f"B{i}" for i in range(1, 10)],
                       (1969.76, 2023.10, 1858.96, 1575.62, 966.66, 241.49, 81.54, 1783.55, 401.01)))}
#: TIRS (RADIANCE_MULT, RADIANCE_ADD, K1, K2) per band, from the same real MTLs.
THERMAL = {"L8": {"B10": (3.3420e-4, 0.1, 774.8853, 1321.0789), "B11": (3.3420e-4, 0.1, 480.8883, 1201.1442)},
           "L9": {"B10": (3.8000e-4, 0.1, 799.0284, 1329.2405), "B11": (3.4900e-4, 0.1, 475.6581, 1198.3494)}}
REFLECTANCE_MULT = M.REFLECTANCE_MULT
REFLECTANCE_ADD = M.REFLECTANCE_ADD
#: Surface temperature (K) per scene class (CLASS_NAMES order) and of an opaque cloud top.
T_CLASS = np.array([297.0, 300.0, 296.0, 295.0, 306.0, 302.0, 292.0, 271.0, 262.0])
T_CLOUD_TOP = 262.0
#: Brightness-temperature deficit per g/cm2 of water vapour in B10 / B11 (K).
WV_COOLING = {"B10": 0.9, "B11": 1.6}
#: Instrument layout per band kind: SCAs, L1R samples per SCA, SCA spacing across track (samples: neighbouring
#: SCAs overlap by the difference), L1R line time (s), detector pitch on ground (m), SCA numbering direction (+1:
#: SCA 1 on the right of the track, as OLI; -1: on the left, as TIRS). Values as in real ANG files.
INSTRUMENT = {"OLI": (14, 494, 450, 0.004235996, 30.0, 1), "PAN": (14, 988, 900, 0.002117998, 15.0, 1),
              "TIRS": (3, 640, 610, 0.014280001, 100.0, -1)}
EPHEMERIS_POINTS = 55
DILATION_PX = 3
PROCESSING_DELAY_DAYS = 4


# ------------------------------------------------------------------------------------------------ geometry
def ground_track(lat_deg: float) -> tuple[float, float]:
    """(heading deg from true north, ground speed m/s) of the descending ground track at ``lat_deg``: the
    inertial azimuth of the orbit plane (sin a = cos i / cos lat) with the Earth's rotation taken away."""
    lat = math.radians(lat_deg)
    i = math.radians(INCLINATION_DEG)
    alpha = math.pi - math.asin(max(-1.0, min(1.0, math.cos(i) / math.cos(lat))))
    v = ORBIT_SPEED_M_S * EARTH_RADIUS_M / (EARTH_RADIUS_M + ORBIT_ALT_M)
    ve = v * math.sin(alpha) - 7.2921159e-5 * EARTH_RADIUS_M * math.cos(lat)
    vn = v * math.cos(alpha)
    return math.degrees(math.atan2(ve, vn)) % 360.0, math.hypot(ve, vn)


def _past_node(lat_deg: float) -> float:
    """Argument of latitude past the descending node (rad) of the orbit point at ``lat_deg``."""
    i = math.radians(INCLINATION_DEG)
    return math.asin(max(-1.0, min(1.0, -math.sin(math.radians(lat_deg)) / math.sin(i))))


def node_offset_deg(lat_deg: float) -> float:
    """Inertial longitude of the orbit point at ``lat_deg`` relative to the descending node (deg): local mean
    solar time there = node time + this / 15 h (the pass is later north of the equator: ~10:40 at 42 N,
    ~09:53 at 30 S, as real scene centre times show)."""
    v = _past_node(lat_deg)
    i = math.radians(INCLINATION_DEG)
    return math.degrees(math.atan2(math.cos(i) * math.sin(v), math.cos(v)))


def wrs2_path_row(lat_deg: float, lon_deg: float) -> tuple[int, int]:
    """WRS-2 path/row of a nadir point on a descending pass (rows 1.4516 deg of orbit apart, row 60 at the
    equator; path 1's descending node at 64.60 W, paths 360/233 deg apart westwards)."""
    v = _past_node(lat_deg)
    row = int(round(60 + math.degrees(v) / (360.0 / 248.0)))
    d_lon = node_offset_deg(lat_deg) - math.degrees(v) * 98.9 / 1436.07     # Earth turns 98.9 min per orbit
    node = lon_deg - d_lon
    path = int(round(1 + ((-64.60 - node) % 360.0) / (360.0 / 233.0)))
    return (path - 1) % 233 + 1, min(max(row, 1), 248)


@dataclass
class LandsatGeometry(Geometry):
    """Where and when, for a Landsat scene: the 30 m grid (``ulx``/``uly`` = its upper-left corner), the
    descending ground track (heading, speed), the across-track offset of the scene centre, WRS-2 path/row."""
    heading_deg: float = 192.0
    ground_speed: float = 6750.0
    alt_m: float = ORBIT_ALT_M
    path: int = 0
    row: int = 0

    @property
    def n30(self) -> int:
        return self.size // 3

    @property
    def half(self) -> float:
        return self.size * 5.0

    def _h(self) -> float:
        """Ground-track heading relative to grid north (rad)."""
        return math.radians(self.heading_deg + self.north_grid_az)

    def track(self, row_m, col_m) -> tuple[np.ndarray, np.ndarray]:
        """(along, across) metres of grid positions: along from the scene centre in the flight direction,
        across from the nadir track, positive to the right of the flight direction."""
        h = self._h()
        dx = np.asarray(col_m, float) - self.half
        dy = self.half - np.asarray(row_m, float)
        return dx * math.sin(h) + dy * math.cos(h), self.nadir_offset_m + dx * math.cos(h) - dy * math.sin(h)

    def grid_offset(self, along, across) -> tuple[np.ndarray, np.ndarray]:
        """Inverse of :meth:`track`: (dx, dy) metres east/north (grid) of the scene centre."""
        h = self._h()
        a, c = np.asarray(along, float), np.asarray(across, float) - self.nadir_offset_m
        return a * math.sin(h) + c * math.cos(h), a * math.cos(h) - c * math.sin(h)

    def view(self, band: str, row_m, col_m) -> tuple[np.ndarray, np.ndarray]:
        """View zenith/azimuth (true north, pixel -> satellite) of an OLI/TIRS band (flat Earth at 705 km)."""
        _, c = self.track(row_m, col_m)
        h = self._h()
        t_al = math.tan(math.radians(ALONG_DEG[band]))
        ve = -c * math.cos(h) + self.alt_m * t_al * math.sin(h)     # towards the sub-satellite point
        vn = c * math.sin(h) + self.alt_m * t_al * math.cos(h)
        vza = np.degrees(np.arctan(np.hypot(ve, vn) / self.alt_m))
        vaa = (np.degrees(np.arctan2(ve, vn)) - self.north_grid_az) % 360.0
        return vza, vaa


def make_landsat_geometry(tile: str, size: int, date: str, sun_zenith: float | None) -> LandsatGeometry:
    """The Landsat grid near the MGRS tile's corner, the sensing time (the orbit's local time at the scene
    centre unless ``date`` is a full time), the ground track, the WRS-2 path/row."""
    from sen2cor3.products.mgrs import tile_epsg, tile_ul
    epsg = tile_epsg(tile)
    tx, ty = tile_ul(tile)
    if 32701 <= epsg <= 32760:                       # USGS keeps the northern zone: negative northings
        epsg, ty = epsg - 100, ty - 10_000_000.0
    cx = 300.0 * math.ceil((tx + 1000.0) / 300.0)    # upper-left pixel centre
    cy = 300.0 * math.floor((ty - 1000.0) / 300.0)
    ulx, uly = cx - RES_M / 2, cy + RES_M / 2
    half = size * 5.0
    lon_c, lat_c = (float(v) for v in _to_lonlat(epsg, ulx + half, uly - half))
    sensing = sensing_time(date, LOCAL_TIME_H + node_offset_deg(lat_c) / 15.0, lon_c, 0.396429)
    heading, speed = ground_track(lat_c)
    g = LandsatGeometry(tile=tile.upper().lstrip("T"), epsg=epsg, ulx=ulx, uly=uly, size=size, sensing=sensing,
                        lat=lat_c, lon=lon_c, north_grid_az=meridian_convergence(epsg, lon_c, lat_c), sun_shift=0.0,
                        nadir_offset_m=NADIR_OFFSET_M, grid_n=0, heading_deg=heading, ground_speed=speed)
    if sun_zenith is not None:
        z0, _ = g.sun(half, half)
        g.sun_shift = float(sun_zenith) - float(z0)
    dx, dy = g.grid_offset(0.0, 0.0)
    nlon, nlat = (float(v) for v in _to_lonlat(epsg, ulx + half + dx, uly - half + dy))
    g.path, g.row = wrs2_path_row(nlat, nlon)
    return g


def centres_m(n: int, res: float) -> np.ndarray:
    """Pixel-centre positions (m from the grid's upper-left corner) of a Landsat band grid: the 15 m grid's
    first centre is the 30 m grid's first centre."""
    return RES_M / 2 + res * np.arange(n)


def sun_on_grid(g: LandsatGeometry, axis_m: np.ndarray, nodes: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Sun zenith/azimuth (true north) at every (row, col) of a square grid whose centres are ``axis_m``:
    exact on a lattice of ~``nodes`` per side, bilinear in between (sin/cos for the azimuth)."""
    from scipy.ndimage import map_coordinates
    n = len(axis_m)
    idx = np.unique(np.r_[np.arange(0, n, max(1, n // nodes)), n - 1])
    rr, cc = np.meshgrid(axis_m[idx], axis_m[idx], indexing="ij")
    z, a = g.sun(rr, cc)
    f = np.interp(np.arange(n), idx, np.arange(len(idx)))
    gi, gj = np.meshgrid(f, f, indexing="ij")
    zz = map_coordinates(z, [gi, gj], order=1)
    ar = np.radians(a)
    s = map_coordinates(np.sin(ar), [gi, gj], order=1)
    c = map_coordinates(np.cos(ar), [gi, gj], order=1)
    return zz, np.degrees(np.arctan2(s, c)) % 360.0


def hundredths(deg: np.ndarray, azimuth: bool = False) -> np.ndarray:
    """Angle raster value (int16, 0.01 deg) as USGS writes them; azimuths in [-180, 180)."""
    d = np.asarray(deg, np.float64)
    if azimuth:
        d = (d + 180.0) % 360.0 - 180.0
    return np.rint(d * 100.0).astype(np.int16)


def nodata_at(g: LandsatGeometry, edge: tuple[float, float], axis_m: np.ndarray) -> np.ndarray:
    """Fill mask of a grid with pixel centres ``axis_m``: east of the slanted edge col = a + b * row."""
    a, b = edge
    return axis_m[None, :] > a + b * axis_m[:, None]


# ------------------------------------------------------------------------------------------------ simulation
@dataclass
class LandsatSimulation(Simulation):
    """A Landsat simulation: ``dn`` of B1..B11 (B8 on the 15 m grid), ``toa``/``boa`` of the OLI bands at 30 m,
    plus the QA, angle rasters, brightness temperatures and the cosine of the SZA band used in the DN."""
    scl30: np.ndarray | None = None
    qa_pixel: np.ndarray | None = None
    qa_radsat: np.ndarray | None = None
    angles: dict[str, np.ndarray] = field(default_factory=dict)       # SZA, SAA, VZA, VAA (int16)
    saturated: dict[str, bool] = field(default_factory=dict)
    bt: dict[str, np.ndarray] = field(default_factory=dict)            # B10/B11 brightness temperature (K)
    cos_sza30: np.ndarray | None = None

    @property
    def band_res(self) -> dict[str, int]:
        return {b: (PAN_RES_M if b == "B8" else RES_M) for b in ALL_BANDS}


def simulate_landsat(*, size: int = 1098, seed: int = 0, tile: str = "32TQM", date: str = "2023-07-15",
                     spacecraft: str = "L8", aot: float = 0.15, wv: float = 1.5, ozone: float = 330.0,
                     aerosol: str = "rural", relief: str = "hills", sun_zenith: float | None = None,
                     zones: int | None = None, processes: int = 2, log=fw.stderr_log) -> LandsatSimulation:
    """Build the scene and compute the DN of B1..B11, QA and angle rasters (no files written)."""
    if spacecraft not in LANDSAT_SPACECRAFT:
        raise ValueError(f"spacecraft must be one of {LANDSAT_SPACECRAFT}, got {spacecraft!r}")
    t0 = time.time()
    g = make_landsat_geometry(tile, size, date, sun_zenith)
    half = g.half
    sza_c, saa_c = (float(v) for v in g.sun(half, half))
    log(f"{spacecraft} WRS-2 {g.path:03d}/{g.row:03d} EPSG:{g.epsg} centre {g.lat:.4f}N {g.lon:.4f}E, sensing "
        f"{g.sensing:%Y-%m-%dT%H:%M:%S}, sun zenith {sza_c:.2f} azimuth {saa_c:.2f}, heading {g.heading_deg:.2f}")
    scene = build_scene(size, seed, relief, aot, wv, sza_c, saa_c + g.north_grid_az, zones)
    a, b = scene.nodata_edge                    # same mean cut, tilted like a descending footprint's east edge
    scene.nodata_edge = (a + b * size * 10.0, -b)
    season = fw.season_for(g.sensing, g.lat)
    cz = _zone_centres(scene)
    zone_sun = np.round(np.column_stack([np.asarray(v, float) for v in g.sun(cz[:, 0], cz[:, 1])]), 4)
    ax = centres_m(g.n30, RES_M)
    rr, cc = np.meshgrid(ax, ax, indexing="ij")
    view_mean = {}
    for ob in OLI_BANDS:
        vza, vaa = g.view(ob, rr, cc)
        view_mean[ob] = (round(float(vza.mean()), 4), round(circular_mean_deg(vaa), 4))
    specs: dict[tuple[str, int], list[fw.RunSpec]] = {}
    for z in range(len(scene.zone_aot)):
        d = scene.dem10[scene.zones(10) == z]
        wv_in = round(float(sixs.wv_input_for_column(scene.zone_wv[z], float(d.mean()) / 1000.0)), 4)
        for ob in OLI_BANDS:
            sb = SCENE_BAND[ob]
            nodes = fw.elevation_nodes_km(float(d.min()), float(d.max()), curved=sb in fw.CURVED_BANDS)
            raa = round((zone_sun[z, 1] - view_mean[ob][1]) % 360.0, 4)
            specs[(sb, z)] = [fw.RunSpec(ob, aerosol, season, float(ozone), wv_in, float(scene.zone_aot[z]),
                                         float(e), float(zone_sun[z, 0]), view_mean[ob][0], raa) for e in nodes]
    log(f"scene {size}x{size} @10 m ({g.n30}x{g.n30} @30 m), relief {relief}, {len(scene.zone_aot)} zones, "
        f"{sum(len(v) for v in specs.values())} 6S runs needed ({time.time() - t0:.1f} s)")
    atm = fw.build_atmosphere(specs, spacecraft, processes=processes, log=log)
    log(f"6S done ({time.time() - t0:.1f} s)")
    sim = LandsatSimulation(g, scene, spacecraft, aerosol, season, float(ozone), zone_sun, view_mean, specs, atm)
    if relief != "flat":
        sim.cast20 = fw.cast_shadow(scene.dem(20), 20.0, sza_c, saa_c + g.north_grid_az)
    _landsat_bands(sim)
    log(f"TOA (10 m -> 30 m) and DN of 11 bands, QA and angles done ({time.time() - t0:.1f} s)")
    return sim


def reflective_dn(rho_prime: np.ndarray, fill: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """C2 L1 DN of rho' (reflectance without sun-angle correction) and the saturation mask (DN > 65535)."""
    dn = np.rint((np.asarray(rho_prime, np.float64) - REFLECTANCE_ADD) / REFLECTANCE_MULT)
    sat = (dn > M.QCAL_MAX) & ~fill
    dn = np.clip(dn, M.QCAL_MIN, M.QCAL_MAX).astype(np.uint16)
    dn[fill] = 0
    return dn, sat


def thermal_dn(bt_k: np.ndarray, spacecraft: str, band: str, fill: np.ndarray) -> np.ndarray:
    """DN of a brightness temperature: L = K1 / (exp(K2 / T) - 1), DN = (L - ADD) / MULT."""
    mult, add, k1, k2 = THERMAL[spacecraft][band]
    rad = k1 / np.expm1(k2 / np.asarray(bt_k, np.float64))
    dn = np.clip(np.rint((rad - add) / mult), M.QCAL_MIN, M.QCAL_MAX).astype(np.uint16)
    dn[fill] = 0
    return dn


def brightness_temperatures(sim: LandsatSimulation) -> dict[str, np.ndarray]:
    """Plausible B10/B11 brightness temperatures at 30 m (see the module docstring)."""
    sc = sim.scene
    t = T_CLASS[sc.classes_at(RES_M)]
    dem = sc.dem(RES_M).astype(np.float64)
    t = t - 0.0065 * (dem - dem.mean())
    t = t + 3.0 * (np.clip(sim.illum30[0], 0.0, 2.0) - 1.0)
    cf = sc.block_mean(sc.cloud10, RES_M)
    t = (1.0 - cf) * t + cf * T_CLOUD_TOP
    t = t - 10.0 * sc.block_mean(sc.cirrus10, RES_M) / CIRRUS_B10_MAX
    wv = sc.zone_wv[sc.zones(RES_M)]
    return {b: (t - k * wv).astype(np.float32) for b, k in WV_COOLING.items()}


def qa_pixel(scl: np.ndarray, surface: np.ndarray) -> np.ndarray:
    """C2 QA_PIXEL from the true classes at 30 m: ``scl`` (SCL codes) and ``surface`` (scene class index, for
    snow or water seen through thin cirrus, cloud shadow or terrain shadow); see the module docstring."""
    from scipy.ndimage import binary_dilation
    fill = scl == 0
    cloud = scl == 9
    dilated = binary_dilation(cloud, np.ones((3, 3), bool), iterations=DILATION_PX) & ~cloud & ~fill
    cirrus, shadow = scl == 10, scl == 3
    seen = np.isin(scl, (2, 3, 10))                 # the surface is still recognisable under these
    snow = (scl == 11) | (seen & (surface == SNOW))
    water = (scl == 6) | (seen & (surface == WATER))

    def u(m: np.ndarray) -> np.ndarray:
        return m.astype(np.uint16)

    def conf(high: np.ndarray, medium: np.ndarray | None = None) -> np.ndarray:
        c = np.where(high, 3, 1)
        if medium is not None:
            c = np.where(~high & medium, 2, c)
        return c.astype(np.uint16)

    qa = (u(dilated) << 1) | (u(cirrus) << 2) | (u(cloud) << 3) | (u(shadow) << 4) | (u(snow) << 5)
    qa |= u(~cloud & ~dilated) << 6
    qa |= u(water) << 7
    qa |= conf(cloud, scl == 8) << 8
    qa |= conf(shadow) << 10
    qa |= conf(snow) << 12
    qa |= conf(cirrus) << 14
    qa[fill] = 1
    return qa.astype(np.uint16)


def _area_weights(n_out: int, start_m: float, step_m: float, n_in: int, in_step_m: float = 10.0):
    """Sparse (n_out, n_in) weights of the area mean of a ``in_step_m`` grid over cells [start + i step, + step]."""
    from scipy.sparse import csr_matrix
    rows, cols, vals = [], [], []
    for i in range(n_out):
        lo, hi = start_m + i * step_m, start_m + (i + 1) * step_m
        for j in range(int(lo // in_step_m), min(n_in, int(math.ceil(hi / in_step_m)))):
            ov = min(hi, (j + 1) * in_step_m) - max(lo, j * in_step_m)
            if ov > 0:
                rows.append(i)
                cols.append(j)
                vals.append(ov / step_m)
    return csr_matrix((vals, (rows, cols)), shape=(n_out, n_in))


def _landsat_bands(sim: LandsatSimulation) -> None:
    g, sc = sim.geometry, sim.scene
    n = g.n30
    ax30 = centres_m(n, RES_M)
    fill30 = nodata_at(g, sc.nodata_edge, ax30)
    # angle rasters (band 4 geometry) and the SZA they state, which the DN encoding uses
    sza, saa = sun_on_grid(g, ax30)
    rr, cc = np.meshgrid(ax30, ax30, indexing="ij")
    vza, vaa = g.view("B4", rr, cc)
    ang = {"SZA": hundredths(sza), "SAA": hundredths(saa, True), "VZA": hundredths(vza), "VAA": hundredths(vaa, True)}
    for a in ang.values():
        a[fill30] = 0
    sim.angles = ang
    sim.cos_sza30 = np.cos(np.radians(ang["SZA"].astype(np.float64) / 100.0))
    pan10 = np.zeros((sc.size, sc.size))
    sat = {}
    for ob in OLI_BANDS:
        _, t10 = band_toa(sim, SCENE_BAND[ob], 10)
        if ob in PAN_FROM:
            pan10 += t10 / len(PAN_FROM)
        sim.toa[ob] = block_mean64(t10, RES_M // 10)
        sim.boa[ob] = sc.surface(SCENE_BAND[ob], RES_M)
        sim.dn[ob], sat[ob] = reflective_dn(sim.toa[ob] * sim.cos_sza30, fill30)
    # pan: area mean of the 10 m TOA of B2-B4 on the 15 m grid, with the SZA of its own pixel centres
    npan = 2 * n - 1
    w = _area_weights(npan, RES_M / 2 - PAN_RES_M / 2, PAN_RES_M, sc.size)
    pan = np.asarray((w @ (w @ pan10).T).T)
    del pan10
    axp = centres_m(npan, PAN_RES_M)
    szap, _ = sun_on_grid(g, axp)
    cos_p = np.cos(np.radians(np.rint(szap * 100.0) / 100.0))
    sim.dn["B8"], sat["B8"] = reflective_dn(pan * cos_p, nodata_at(g, sc.nodata_edge, axp))
    f_dir, sky = illumination(sim, 10)
    sim.illum30 = tuple(block_mean64(x, RES_M // 10).astype(np.float32) for x in (f_dir, sky))
    sim.bt = brightness_temperatures(sim)
    for b in ("B10", "B11"):
        sim.dn[b] = thermal_dn(sim.bt[b], sim.sensor, b, fill30)
    sim.dn = {b: sim.dn[b] for b in ALL_BANDS}
    sim.saturated = {b: bool(m.any()) for b, m in sat.items()}
    radsat = np.zeros((n, n), np.uint16)
    for ob in OLI_BANDS:
        radsat |= sat[ob].astype(np.uint16) << (int(ob[1:]) - 1)
    sim.qa_radsat = radsat
    sim.scl30 = sc.scl(RES_M, cast_at(sim, RES_M))
    sim.qa_pixel = qa_pixel(sim.scl30, sc.classes_at(RES_M))


# ------------------------------------------------------------------------------------------------ product
def product_id(sim: LandsatSimulation) -> str:
    g = sim.geometry
    proc = g.sensing + timedelta(days=PROCESSING_DELAY_DAYS)
    return f"LC0{sim.sensor[1]}_L1TP_{g.path:03d}{g.row:03d}_{g.sensing:%Y%m%d}_{proc:%Y%m%d}_02_T1"


def scene_id(sim: LandsatSimulation) -> str:
    g = sim.geometry
    return f"LC{sim.sensor[1]}{g.path:03d}{g.row:03d}{g.sensing:%Y}{g.sensing.timetuple().tm_yday:03d}LGN00"


def earth_sun_distance(when: datetime) -> float:
    """Earth-Sun distance (AU) from the day of year: the d of the S2 writer's U = 1/d^2."""
    return 1.0 / math.sqrt(earth_sun_u(when))


def _srs_wkt(epsg: int) -> str:
    s = osr.SpatialReference()
    s.ImportFromEPSG(int(epsg))
    return s.ExportToWkt()


def write_landsat_tif(path: Path, arr: np.ndarray, geotransform: tuple, epsg: int) -> Path:
    """One band as USGS delivers C2 L1 bands: Cloud Optimized GeoTIFF, DEFLATE + predictor, 256 px blocks,
    ``AREA_OR_POINT=Point``, no NoData tag (fill is 0, or 1 in QA_PIXEL, by convention)."""
    gdt = {np.dtype("uint16"): gdal.GDT_UInt16, np.dtype("int16"): gdal.GDT_Int16}[arr.dtype]
    mem = gdal.GetDriverByName("MEM").Create("", arr.shape[1], arr.shape[0], 1, gdt)
    mem.SetGeoTransform(tuple(float(v) for v in geotransform))
    mem.SetProjection(_srs_wkt(epsg))
    mem.SetMetadataItem("AREA_OR_POINT", "Point")
    mem.GetRasterBand(1).WriteArray(np.ascontiguousarray(arr))
    gdal.GetDriverByName("COG").CreateCopy(str(path), mem, options=[
        "COMPRESS=DEFLATE", "PREDICTOR=YES", "BLOCKSIZE=256", "RESAMPLING=NEAREST", "NUM_THREADS=2"])
    return path


def geotransform(sim: LandsatSimulation, res: int) -> tuple:
    """GeoTIFF geotransform of the 30 m (``res`` 30) or 15 m pan grid: both start at the UL pixel centre."""
    g = sim.geometry
    off = RES_M / 2 - res / 2
    return (g.ulx + off, float(res), 0.0, g.uly - off, 0.0, -float(res))


def _cover(sim: LandsatSimulation) -> tuple[float, float]:
    scl = sim.scl30
    valid = scl > 0
    land = valid & (sim.scene.classes_at(RES_M) != WATER)
    cloud = np.isin(scl, (8, 9))

    def pct(m):
        return round(float(cloud[m].mean() * 100.0), 2) if m.any() else 0.0
    return pct(valid), pct(land)


def mtl_facts(sim: LandsatSimulation) -> M.MtlFacts:
    g = sim.geometry
    n = g.n30
    x0, y0 = g.ulx + RES_M / 2, g.uly - RES_M / 2
    x1, y1 = x0 + (n - 1) * RES_M, y0 - (n - 1) * RES_M
    xy = {"UL": (x0, y0), "UR": (x1, y0), "LL": (x0, y1), "LR": (x1, y1)}
    lon, lat = _to_lonlat(g.epsg, [p[0] for p in xy.values()], [p[1] for p in xy.values()])
    ll = {k: (float(lat[i]), float(lon[i])) for i, k in enumerate(xy)}
    sza, saa = (float(v) for v in g.sun(g.half, g.half))
    d = earth_sun_distance(g.sensing)
    k = {b: ESUN[sim.sensor][b] / (math.pi * d * d) for b in ESUN[sim.sensor]}
    radiance = {int(b[1:]): (REFLECTANCE_MULT * v, REFLECTANCE_ADD * v) for b, v in k.items()}
    radiance |= {int(b[1:]): (v[0], v[1]) for b, v in THERMAL[sim.sensor].items()}
    cloud, cloud_land = _cover(sim)
    proc = g.sensing + timedelta(days=PROCESSING_DELAY_DAYS)
    generated = datetime(proc.year, proc.month, proc.day) + timedelta(
        seconds=(g.sensing.hour * 3600 + g.sensing.minute * 60 + g.sensing.second + 7_451) % 86_400)
    return M.MtlFacts(
        spacecraft=sim.sensor, product_id=product_id(sim), scene_id=scene_id(sim),
        request_id=f"SEN2COR3_SIMULATE_{sim.scene.seed:05d}", path=g.path, row=g.row, sensing=g.sensing,
        generated=generated, cloud_cover=cloud, cloud_cover_land=cloud_land,
        sun_azimuth=(saa + 180.0) % 360.0 - 180.0, sun_elevation=90.0 - sza, earth_sun_distance=d,
        utm_zone=g.epsg % 100, lines=n, samples=n, corners_xy=xy, corners_latlon=ll, radiance=radiance,
        thermal_k={int(b[1:]): (v[2], v[3]) for b, v in THERMAL[sim.sensor].items()},
        saturated={int(b[1:]): v for b, v in sim.saturated.items()})


# --------------------------------------------------------------------------------------------------- ANG
def _ecef(lat_deg, lon_deg, h_m) -> np.ndarray:
    a, e2 = 6378137.0, 6.69437999014e-3
    la, lo = np.radians(lat_deg), np.radians(lon_deg)
    nn = a / np.sqrt(1.0 - e2 * np.sin(la) ** 2)
    return np.stack([(nn + h_m) * np.cos(la) * np.cos(lo), (nn + h_m) * np.cos(la) * np.sin(lo),
                     (nn * (1.0 - e2) + h_m) * np.sin(la)], axis=-1)


def _enu_to_ecef(lat_deg: float, lon_deg: float, e, n, u) -> np.ndarray:
    la, lo = math.radians(lat_deg), math.radians(lon_deg)
    ev = np.array([-math.sin(lo), math.cos(lo), 0.0])
    nv = np.array([-math.sin(la) * math.cos(lo), -math.sin(la) * math.sin(lo), math.cos(la)])
    uv = np.array([math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)])
    return np.outer(e, ev) + np.outer(n, nv) + np.outer(u, uv)


def _unit(zen_deg, az_deg) -> np.ndarray:
    z, a = np.radians(zen_deg), np.radians(az_deg)
    return np.stack([np.sin(z) * np.sin(a), np.sin(z) * np.cos(a), np.cos(z)], axis=-1)


def _fit_vectors(vec: np.ndarray, dl: np.ndarray, ds: np.ndarray) -> tuple[tuple, dict, dict]:
    """Mean vector and RPC numerators (10 terms, only 1, line, samp, line^2, line*samp, samp^2 used) of a
    quadratic least-squares fit in the L1T line/sample offsets; denominators zero."""
    x = np.column_stack([np.ones_like(dl), dl, ds, dl * dl, dl * ds, ds * ds])
    mean = vec.mean(axis=0)
    num, den = {}, {}
    for k, axis in enumerate("XYZ"):
        c, *_ = np.linalg.lstsq(x, vec[:, k] - mean[k], rcond=None)
        num[axis] = (c[0], c[1], c[2], 0.0, 0.0, c[3], c[4], c[5], 0.0, 0.0)
        den[axis] = (0.0,) * 9
    return tuple(float(v) for v in mean), num, den


def _band_rpc(sim: LandsatSimulation, band: str, mean_height: float) -> M.BandRpc:
    g = sim.geometry
    kind = "PAN" if band == "B8" else "TIRS" if band in ("B10", "B11") else "OLI"
    nsca, nsamp, spacing, line_time, det, sign = INSTRUMENT[kind]
    p = PAN_RES_M if kind == "PAN" else RES_M
    n = 2 * g.n30 - 1 if kind == "PAN" else g.n30
    ax = centres_m(n, p)
    h = g._h()
    step = g.ground_speed * line_time                         # along-track metres per L1R line
    k_mid = ((nsca - 1) * spacing + nsamp) / 2.0              # across-track sample of the nadir track
    corners_rc = [(ax[0], ax[0]), (ax[0], ax[-1]), (ax[-1], ax[0]), (ax[-1], ax[-1])]
    along = [float(g.track(r, c)[0]) for r, c in corners_rc]
    a0 = min(along) - 8 * step
    l1r_lines = int(math.ceil((max(along) - a0) / step)) + 8
    start_time = (EPHEMERIS_POINTS - 1) / 2.0 + a0 / g.ground_speed
    mid = (n - 1) / 2.0
    u_c = k_mid - sign * g.nadir_offset_m / det               # across-track sample of the scene centre
    k_c = min(nsca - 1, max(0, int((u_c - (nsamp - spacing) / 2.0) // spacing)))
    mean_l1r = (-a0 / step, u_c - k_c * spacing + k_c * nsamp)   # l8_angles' "SCA * samples + sample" form
    # footprint corners (top, right, bottom, left) in this band's pixel coordinates
    ea, eb = sim.scene.nodata_edge
    right = [min(n - 1.0, max(0.0, (ea + eb * r - RES_M / 2) / p)) for r in (ax[0], ax[-1])]
    corner_lines = (0.0, 0.0, n - 1.0, n - 1.0)
    corner_samps = (0.0, right[0], right[1], 0.0)
    scas = []
    for k in range(nsca):
        across = sign * (k_mid - (k * spacing + (nsamp - 1) / 2.0)) * det
        dx, dy = g.grid_offset(0.0, across)
        l1t = ((g.half - float(dy) - RES_M / 2) / p, (g.half + float(dx) - RES_M / 2) / p)
        scas.append(M.ScaRpc(
            mean_height=mean_height, mean_l1r=(mean_l1r[0], (nsamp - 1) / 2.0), mean_l1t=l1t,
            line_num=(0.0, -p * math.cos(h) / step, p * math.sin(h) / step, 0.0, 0.0), line_den=(0.0,) * 4,
            samp_num=(0.0, -sign * p * math.sin(h) / det, -sign * p * math.cos(h) / det,
                      -sign * across / (g.alt_m * det), 0.0),
            samp_den=(0.0,) * 4))
    li = np.linspace(0, n - 1, 9)
    ll, ss = (v.ravel() for v in np.meshgrid(li, li, indexing="ij"))
    rows_m, cols_m = RES_M / 2 + ll * p, RES_M / 2 + ss * p
    sat_mean, sat_num, sat_den = _fit_vectors(_unit(*g.view(band, rows_m, cols_m)), ll - mid, ss - mid)
    sun_mean, sun_num, sun_den = _fit_vectors(_unit(*g.sun(rows_m, cols_m)), ll - mid, ss - mid)
    return M.BandRpc(band=int(band[1:]), l1t_lines=n, l1t_samps=n, corner_lines=corner_lines,
                     corner_samps=tuple(corner_samps), l1r_lines=l1r_lines, l1r_samps=nsamp, pixel_size=float(p),
                     start_time=start_time, line_time=line_time, mean_height=mean_height, mean_l1r=mean_l1r,
                     mean_l1t=(mid, mid), sat_mean=sat_mean, sat_num=sat_num, sat_den=sat_den, sun_mean=sun_mean,
                     sun_num=sun_num, sun_den=sun_den, scas=scas)


def ang_facts(sim: LandsatSimulation, facts: M.MtlFacts) -> M.AngFacts:
    """The ANG content: ephemeris of the nadir track at 705 km, 1 s apart, centred on the scene centre time;
    the Sun's ECEF direction over the same seconds (topocentric at the scene centre, with ``--sun-zenith``'s
    shift); per band the RPC fits of the satellite/sun vectors of this geometry and the SCA layout."""
    g = sim.geometry
    half_n = (EPHEMERIS_POINTS - 1) // 2
    epoch = g.sensing - timedelta(seconds=half_n)
    t_rel = np.arange(EPHEMERIS_POINTS) - half_n
    dx, dy = g.grid_offset(g.ground_speed * t_rel, 0.0)
    lon, lat = _to_lonlat(g.epsg, g.ulx + g.half + dx, g.uly - g.half + dy)
    eph = _ecef(lat, lon, g.alt_m)
    solar = []
    for t in t_rel:
        z, a = fw.solar_position(g.sensing + timedelta(seconds=float(t)), g.lat, g.lon)
        e, nn, u = _unit(float(z) + g.sun_shift, float(a))
        solar.append(_enu_to_ecef(g.lat, g.lon, [e], [nn], [u])[0])
    dem = sim.scene.dem(RES_M)
    valid = sim.scl30 > 0
    mean_h = round(float(dem[valid].mean() if valid.any() else dem.mean()), 3)
    bands = [_band_rpc(sim, b, mean_h) for b in ALL_BANDS]
    return M.AngFacts(scene_id=facts.scene_id, spacecraft_id=facts.spacecraft_id, utm_zone=facts.utm_zone,
                      corners_xy=facts.corners_xy, epoch=epoch, ephemeris=[tuple(p) for p in eph],
                      solar=[tuple(v) for v in solar], earth_sun_distance=facts.earth_sun_distance, bands=bands)


def write_landsat_product(sim: LandsatSimulation, out_dir: Path) -> Path:
    """``out_dir/<product id>/`` with every file of a C2 L1TP delivery; returns that folder."""
    g = sim.geometry
    facts = mtl_facts(sim)
    pid = facts.product_id
    d = Path(out_dir) / pid
    d.mkdir(parents=True, exist_ok=True)
    for b in ALL_BANDS:
        write_landsat_tif(d / f"{pid}_{b}.TIF", sim.dn[b], geotransform(sim, sim.band_res[b]), g.epsg)
    gt = geotransform(sim, RES_M)
    write_landsat_tif(d / f"{pid}_QA_PIXEL.TIF", sim.qa_pixel, gt, g.epsg)
    write_landsat_tif(d / f"{pid}_QA_RADSAT.TIF", sim.qa_radsat, gt, g.epsg)
    for k, a in sim.angles.items():
        write_landsat_tif(d / f"{pid}_{k}.TIF", a, gt, g.epsg)
    groups = M.mtl_groups(facts)
    (d / f"{pid}_MTL.txt").write_text(M.mtl_txt(groups))
    (d / f"{pid}_MTL.xml").write_text(M.mtl_xml(groups))
    (d / f"{pid}_ANG.txt").write_text(M.ang_text(ang_facts(sim, facts)))
    return d


# ------------------------------------------------------------------------------------------------- truth
def landsat_truth_meta(sim: LandsatSimulation, args: dict) -> dict:
    """truth.json of a Landsat simulation."""
    sc, g = sim.scene, sim.geometry
    first = SCENE_BAND[OLI_BANDS[0]]
    return {
        "arguments": args, "spacecraft": sim.sensor, "sensor": sim.sensor, "srf_sensor": sim.sensor,
        "spacecraft_id": {"L8": "LANDSAT_8", "L9": "LANDSAT_9"}[sim.sensor], "sensor_id": "OLI_TIRS",
        "product_id": product_id(sim), "landsat_scene_id": scene_id(sim), "wrs_path": g.path, "wrs_row": g.row,
        "tile": g.tile, "epsg": g.epsg, "grid_ul_corner": [g.ulx, g.uly], "truth_resolution_m": RES_M,
        "band_resolution_m": sim.band_res, "sensing_time": g.sensing.isoformat(), "aerosol": sim.aerosol,
        "season": sim.season, "ozone_du": sim.ozone_du, "zones_aot550": sc.zone_aot, "zones_wv_gcm2": sc.zone_wv,
        "zones_wv_6s_input_gcm2": [sim.specs[(first, z)][0].wv_gcm2 for z in range(len(sc.zone_wv))],
        "zones_sun_zenith_azimuth_deg": sim.zone_sun, "view_mean_zenith_azimuth_deg": sim.view_mean,
        "relative_azimuth": "raa = (sun_azimuth - view_azimuth) mod 360, passed to rt.sixs as raa",
        "elevation_nodes_km": {f"{ob}/{z}": [s.elevation_km for s in sim.specs[(SCENE_BAND[ob], z)]]
                               for ob in OLI_BANDS for z in range(len(sc.zone_aot))},
        "meridian_convergence_deg": g.north_grid_az, "sun_zenith_shift_deg": g.sun_shift,
        "ground_track_heading_deg": g.heading_deg, "ground_speed_m_s": g.ground_speed, "orbit_altitude_m": g.alt_m,
        "nadir_offset_m": g.nadir_offset_m, "along_track_view_deg": ALONG_DEG,
        "cloud_heights_m": sc.cloud_heights_m, "cirrus_b10_max": CIRRUS_B10_MAX,
        "cirrus_other_band_ratio": CIRRUS_VIS_RATIO, "cloud_top_b10": CLOUD_B10_TOP,
        "classes": CLASS_NAMES, "spectra_b01_b12": SPECTRA, "band_scene_spectrum": SCENE_BAND,
        "saturated_bands": [b for b, v in sim.saturated.items() if v],
        "model": ("rho_toa = path + tg*E*(t_up_dir*rho_s + t_up_dif*rho_env)/(1 - s_alb*rho_env) + cirrus; "
                  "E = t_down_dir*F_dir + t_down_dif*F_dif + t_down*(1-V)*rho_ter (as for Sentinel-2, see "
                  "simulate.forward), 6S with the OLI responses of the spacecraft, rho_s of each OLI band = the "
                  "scene spectrum of band_scene_spectrum's MSI band; rho_toa computed on the 10 m grid and "
                  "averaged over 3x3 pixels to 30 m. DN = rint((rho_toa*cos(SZA) + 0.1)/2e-5) clipped to "
                  "1..65535, 0 = fill, SZA = the product's SZA band (0.01 deg) at that pixel; B8 = area mean of "
                  "the 10 m TOA of B2, B3, B4 on the 15 m grid; B10/B11 from brightness temperatures (class "
                  "temperature, lapse rate, sunlit slopes, clouds, cirrus, water vapour) with K1/K2. Truth on the "
                  "30 m grid: BOA_Bn_30m.tif = 3x3 mean of the 10 m surface (OLI bands B1-B7, B9), SCL_30m.tif, "
                  "AOT/WVP_30m.tif = zone values, DEM_30m.tif, ILLUM_DIR/DIF_30m.tif = 3x3 means of the 10 m "
                  "F_dir / V. QA_PIXEL from SCL_30m (cloud 9 high, 8 medium, cirrus 10, shadow 3, snow 11, water "
                  "6, fill 0; dilated cloud 3 px)"),
    }


def write_landsat_truth(sim: LandsatSimulation, out_dir: Path, args: dict) -> Path:
    """``out_dir/truth`` on the 30 m grid (``truth.write_truth_grid``)."""
    from .truth import write_truth_grid
    sc, g = sim.scene, sim.geometry
    z = sc.zones(RES_M)
    return write_truth_grid(out_dir, epsg=g.epsg, res=RES_M, ulx=g.ulx, uly=g.uly, boa=sim.boa, scl=sim.scl30,
                            aot=sc.zone_aot[z].astype(np.float32), wvp=sc.zone_wv[z].astype(np.float32),
                            dem=sc.dem(RES_M), dem10=sc.dem10, illum=sim.illum30,
                            meta=landsat_truth_meta(sim, args))
