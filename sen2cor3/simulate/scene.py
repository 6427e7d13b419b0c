"""A synthetic but plausible surface on a Sentinel-2 tile grid: the ground truth of the simulator.

Everything is drawn from one seeded ``numpy.random.Generator`` in a fixed order, so the same seed and size
give the same scene bit for bit. The scene is defined at 10 m (surface texture, elevation, clouds, cirrus)
with the land-cover parcels at 20 m (so that the 20 m truth classes are unambiguous); coarser grids are exact
block means of the 10 m fields. Illumination (sun, terrain) is not applied here: see ``forward.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import math

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

#: MSI bands in bandId order and their nominal centre wavelengths (nm, S2A SRF centroids rounded).
BANDS: tuple[str, ...] = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10",
                          "B11", "B12")
BAND_CENTRE_NM: tuple[int, ...] = (443, 490, 560, 665, 705, 740, 783, 842, 865, 945, 1375, 1610, 2190)

#: Surface classes (index into SPECTRA) and the Sen2Cor SCL code each one is truly.
CLASS_NAMES: tuple[str, ...] = ("crop_green", "grassland", "forest_deciduous", "forest_conifer",
                                "soil_bright", "soil_dark", "water", "snow", "cloud")
CLASS_SCL: tuple[int, ...] = (4, 4, 4, 4, 5, 5, 6, 11, 9)
WATER, SNOW, CLOUD = 6, 7, 8

#: Lambertian surface reflectance at the 13 band centres (B01..B12 incl. B8A), one row per class.
#: Source: typical shapes of the USGS Spectral Library v7 (Kokaly et al. 2017) and the ASTER/ECOSTRESS
#: library (Baldridge et al. 2009; Meerdink et al. 2019) read at the MSI band centres and rounded to
#: 2-3 digits: green crop (alfalfa/maize canopy), dry-ish grass, deciduous and coniferous canopies
#: (red-edge rise, NIR plateau, SWIR liquid-water dips), a bright sandy soil and a moist dark loam,
#: a mesotrophic lake (green peak, NIR ~0), medium-grain old snow (ice absorption at 1.6/2.2 um) and
#: an optically thick water cloud (flat VNIR, droplet absorption in the SWIR). Values are representative
#: curves, not single library samples; B10 values only matter through the (tiny) ground signal there.
#: The three dense green canopies (crop, deciduous, conifer) follow the dark-dense-vegetation relations
#: measured by Kaufman et al. (1997, IEEE TGRS 35(5):1286-1298, "The MODIS 2.1-um channel - correlation
#: with visible reflectance..."; also Kaufman et al. 1997, JGR 102(D14):17051): rho_0.66 = 0.5 rho_2.1 and
#: rho_0.47 = 0.25 rho_2.1 (+-0.006), which is what Sen2Cor's DDV step assumes (AC GIPP
#: AC_Swir_22um_Red_Refl_Ratio 0.5, AC_Red_Blue_Refl_Ratio 0.5): B04 = 0.5 B12, B02 = 0.25 B12, with B12
#: 0.08 (crop), 0.07 (deciduous), 0.05 (conifer), inside the ranges of green canopies. Other classes keep
#: their library shapes (grass, soils, water, snow, cloud are not DDV candidates: B12 > 0.12 or not SCL 4).
SPECTRA = np.array([
    #  B01    B02    B03    B04    B05    B06    B07    B08    B8A    B09    B10    B11    B12
    [0.030, 0.020, 0.075, 0.040, 0.105, 0.300, 0.400, 0.440, 0.455, 0.450, 0.380, 0.230, 0.080],  # crop
    [0.040, 0.050, 0.085, 0.070, 0.130, 0.240, 0.280, 0.300, 0.310, 0.305, 0.290, 0.280, 0.170],  # grass
    [0.025, 0.0175, 0.060, 0.035, 0.090, 0.250, 0.330, 0.360, 0.370, 0.365, 0.300, 0.200, 0.070],  # decid.
    [0.020, 0.0125, 0.040, 0.025, 0.060, 0.150, 0.190, 0.210, 0.220, 0.215, 0.180, 0.110, 0.050],  # conif.
    [0.100, 0.120, 0.170, 0.230, 0.260, 0.280, 0.300, 0.310, 0.320, 0.330, 0.360, 0.400, 0.350],  # sand
    [0.050, 0.060, 0.080, 0.100, 0.120, 0.130, 0.140, 0.150, 0.155, 0.160, 0.180, 0.220, 0.180],  # loam
    [0.030, 0.030, 0.035, 0.015, 0.010, 0.005, 0.004, 0.003, 0.003, 0.002, 0.001, 0.001, 0.001],  # lake
    [0.900, 0.900, 0.890, 0.870, 0.860, 0.840, 0.810, 0.770, 0.750, 0.680, 0.350, 0.080, 0.050],  # snow
    [0.720, 0.720, 0.720, 0.720, 0.720, 0.715, 0.710, 0.700, 0.700, 0.690, 0.600, 0.500, 0.350],  # cloud
], dtype=np.float32)

#: Relief presets: (base elevation m, target RMS slope deg, shortest terrain wavelength m).
RELIEF = {"flat": (150.0, 0.0, 300.0), "hills": (300.0, 7.0, 300.0), "mountains": (1600.0, 24.0, 250.0)}

#: Extra B10 (1375 nm) reflectance of a fully cirrus-covered pixel; other bands get CIRRUS_VIS_RATIO of it.
CIRRUS_B10_MAX = 0.035
CIRRUS_VIS_RATIO = 0.5
#: Band-to-band parallax of a cloud top: B08 sees a cloud at height h displaced by PARALLAX_PER_M x h metres
#: from where B8A sees it (and every other band: the simulator puts only this pair apart), along the track. The
#: value is the simulator's own band geometry, tan(BAND_ALONG_DEG B8A) - tan(BAND_ALONG_DEG B08) =
#: tan(0.90 deg) - tan(-0.15 deg) (engine.py; a test holds them equal); the per-detector viewing-angle grids of
#: six real L1C/L2A MTD_TL files in shared/data give 0.0168-0.0174. Sen2Cor 3's tracker inverts its measured
#: shifts with an effective 0.012 instead (``sen2cor3.sc.cloud_height``).
PARALLAX_BAND, PARALLAX_REFERENCE = "B08", "B8A"
PARALLAX_PER_M = math.tan(math.radians(0.90)) - math.tan(math.radians(-0.15))
#: Along-track azimuth (deg clockwise from grid north) of a descending Sentinel-2 pass (inclination 98.6 deg).
TRACK_AZIMUTH_DEG = 192.0
#: Cloud-top texture: the cloud reflectance is multiplied by 1 + CLOUD_TEXTURE_AMPLITUDE x (unit noise of
#: CLOUD_TEXTURE_SCALE_PX 10 m pixels): cumulus tops are lumpy, and the parallax tracker follows that texture
#: (ours; drawn from its own random stream so that the rest of a seeded scene does not change).
CLOUD_TEXTURE_AMPLITUDE = 0.15
CLOUD_TEXTURE_SCALE_PX = 4.0
#: Extra B10 reflectance of an opaque cloud top (cloud tops sit above most water vapour).
CLOUD_B10_TOP = 0.15
#: The truth's cloud and cirrus classes follow Sen2Cor's own rules on the clouds' own signal (issue 14 item 5), with
#: the values of Sen2Cor's L2A_CAL_SC_GIPP.xml (a test holds them equal to ``sen2cor3/cfg``): the cloud probability
#: is its red-brightness confidence of the clouds' own B04 reflectance (:meth:`Scene.cloud_probability`),
#: medium-probability cloud (8) from T_CLOUD_MP, high (9) from T_CLOUD_HP (a cloud fraction of about 0.20 and 0.32
#: of the 0.72-reflectance cloud, no texture); thin cirrus (10) where the cirrus' own B10 reflectance reaches
#: T1_B10, and, as Sen2Cor's L2A_CSND_7 calls B10 >= T2_B10 ("thick cirrus"), medium-probability cloud from T2_B10.
#: Until then the truth cut the cloud fraction at 0.25 / 0.6, where Sen2Cor's confidence of an opaque cloud over
#: vegetation is already 0.8 (high) at 0.25, and called every cirrus thin.
TRUTH_T1_B04, TRUTH_T2_B04 = 0.06, 0.25
TRUTH_T_CLOUD_MP, TRUTH_T_CLOUD_HP = 0.20, 0.80
TRUTH_T1_B10, TRUTH_T2_B10 = 0.012, 0.035


@dataclass
class Scene:
    """The true surface and atmosphere of one simulated tile (10 m arrays unless named otherwise)."""
    size: int                           # side in 10 m pixels (multiple of 6)
    seed: int
    relief: str
    classes20: np.ndarray               # uint8 (size/2)^2 surface class before clouds
    texture10: np.ndarray               # float32 multiplicative brightness texture
    dem10: np.ndarray                   # float32 elevation (m)
    cloud10: np.ndarray                 # float32 cloud fraction 0..1
    cloud_shadow10: np.ndarray          # float32 fraction of the direct sun blocked by clouds 0..1
    cirrus10: np.ndarray                # float32 cirrus B10 reflectance
    zones60: np.ndarray                 # int16 (size/6)^2 atmosphere zone index
    zone_aot: np.ndarray                # AOT550 per zone
    zone_wv: np.ndarray                 # water vapour column above the ground per zone (g/cm2)
    nodata_edge: tuple[float, float]    # swath edge: no data where col_m > a + b * row_m (metres from UL)
    cloud_heights_m: list[float] = field(default_factory=list)
    cloud_parallax10: np.ndarray | None = None   # cloud fraction as PARALLAX_BAND sees it (None: as cloud10)
    cloud_texture10: np.ndarray | None = None    # cloud-top brightness factor (None: 1)
    cloud_texture_parallax10: np.ndarray | None = None   # the same as PARALLAX_BAND sees it

    # ------------------------------------------------------------------ grids
    def shape(self, res: int) -> tuple[int, int]:
        """Array shape at resolution ``res`` (10, 20, 30 or 60 m)."""
        n = self.size * 10 // res
        return n, n

    def block_mean(self, a10: np.ndarray, res: int) -> np.ndarray:
        """Exact block mean of a 10 m field to ``res`` (how the truth is defined at coarser bands); also of a
        strip of whole blocks (the same values as those rows of the whole field's mean)."""
        f = res // 10
        if f == 1:
            return a10.astype(np.float32, copy=False)
        n0, n1 = a10.shape[0] // f, a10.shape[1] // f
        return a10.reshape(n0, f, n1, f).mean(axis=(1, 3), dtype=np.float64).astype(np.float32)

    def rows10(self, a10: np.ndarray, res: int, rows: tuple[int, int] | None) -> np.ndarray:
        """The 10 m rows under rows ``[r0, r1)`` of the ``res`` grid (all of ``a10`` when ``rows`` is None)."""
        if rows is None:
            return a10
        f = res // 10
        return a10[rows[0] * f:rows[1] * f]

    def nodata(self, res: int) -> np.ndarray:
        """No-data (outside the swath) mask at ``res``, from the pixel centres and the slanted edge."""
        n = self.shape(res)[0]
        centres = (np.arange(n) + 0.5) * res
        a, b = self.nodata_edge
        return centres[None, :] > a + b * centres[:, None]

    def zones(self, res: int) -> np.ndarray:
        """Atmosphere zone index at ``res`` (zones are aligned on the 60 m grid)."""
        f = 60 // res
        return np.repeat(np.repeat(self.zones60, f, axis=0), f, axis=1)

    def dem(self, res: int) -> np.ndarray:
        """Elevation (m) at ``res``."""
        return self.block_mean(self.dem10, res)

    def classes10(self, rows: tuple[int, int] | None = None) -> np.ndarray:
        """Surface class at 10 m (parcels are 20 m aligned); rows ``[r0, r1)`` only when given."""
        if rows is None:
            return np.repeat(np.repeat(self.classes20, 2, axis=0), 2, axis=1)
        return repeat_rows(self.classes20, 2, *rows)

    def classes_at(self, res: int) -> np.ndarray:
        """Surface class at ``res``: the 20 m parcels themselves at 20 m, at 10 m their repetition; on other
        grids (30 m for Hyper MS, 60 m) the class covering the largest area of the pixel (counted on the 10 m
        grid; a tie goes to the class at the pixel's centre)."""
        if res == 20:
            return self.classes20
        c10 = self.classes10()
        f = res // 10
        if f == 1:
            return c10
        n = c10.shape[0] // f
        blocks = c10.reshape(n, f, n, f)
        counts = np.stack([(blocks == k).sum(axis=(1, 3)) for k in range(len(CLASS_NAMES))]).astype(np.float32)
        centre = c10[f // 2::f, f // 2::f]
        counts += 0.5 * (np.arange(len(CLASS_NAMES))[:, None, None] == centre[None])
        return np.argmax(counts, axis=0).astype(np.uint8)

    # ------------------------------------------------------------ reflectance
    def surface10(self, band: str, rows: tuple[int, int] | None = None) -> np.ndarray:
        """True Lambertian reflectance of one band at 10 m, cloud tops included (the BOA truth); rows
        ``[r0, r1)`` only when given (pixel by pixel, so the same values as those rows of the whole field: where
        a strip has no cloud, the skipped blend would add 0 x (...) to a positive reflectance)."""
        k = BANDS.index(band)
        cls = self.classes10(rows)
        rho = SPECTRA[cls, k] * self.rows10(self.texture10, 10, rows)
        par = band == PARALLAX_BAND and self.cloud_parallax10 is not None
        cloud = self.cloud_parallax10 if par else self.cloud10
        tex = self.cloud_texture_parallax10 if par else self.cloud_texture10
        cloud = self.rows10(cloud, 10, rows)
        tex = None if tex is None else self.rows10(tex, 10, rows)
        if cloud.any():
            rho = rho + cloud * (SPECTRA[CLOUD, k] * (1.0 if tex is None else tex) - rho)
        return np.clip(rho, 0.0, 1.0).astype(np.float32)

    def surface(self, band: str, res: int) -> np.ndarray:
        """BOA truth of ``band`` at ``res``: block mean of the 10 m surface, made by row strips (a full tile's
        10 m temporaries would take several GB)."""
        out = np.empty(self.shape(res), np.float32)
        for r0, r1 in row_strips(out.shape[0], res):
            out[r0:r1] = self.block_mean(self.surface10(band, (r0 * res // 10, r1 * res // 10)), res)
        return out

    def cirrus_toa(self, band: str, res: int, rows: tuple[int, int] | None = None) -> np.ndarray:
        """Additive TOA reflectance of thin cirrus (and of opaque cloud tops in B10) at ``res`` (rows ``[r0, r1)``
        of that grid only when given)."""
        c = self.block_mean(self.rows10(self.cirrus10, res, rows), res)
        if band == "B10":
            return c + CLOUD_B10_TOP * self.block_mean(self.rows10(self.cloud10, res, rows), res)
        return c * np.float32(CIRRUS_VIS_RATIO)

    def cloud_shadow(self, res: int, rows: tuple[int, int] | None = None) -> np.ndarray:
        """Cloud-shadow fraction at ``res`` (rows ``[r0, r1)`` of that grid only when given)."""
        return self.block_mean(self.rows10(self.cloud_shadow10, res, rows), res)

    # --------------------------------------------------------------- classes
    def scl20(self, terrain_shadow20: np.ndarray | None = None) -> np.ndarray:
        """True Sen2Cor scene class at 20 m (codes 0-11), in Sen2Cor's order of precedence."""
        return self.scl(20, terrain_shadow20)

    def scl(self, res: int, terrain_shadow: np.ndarray | None = None) -> np.ndarray:
        """True Sen2Cor scene class at ``res`` (20 m for S2, 30 m for Hyper MS), in Sen2Cor's order of
        precedence; ``terrain_shadow`` is the cast-shadow fraction on that grid (shadow where >= 0.5)."""
        cls = self.classes_at(res)
        scl = np.asarray(CLASS_SCL, dtype=np.uint8)[cls]
        if terrain_shadow is not None:
            scl[(terrain_shadow >= 0.5) & (cls != WATER)] = 2
        # a cloud shadow on water stays water, as in Sen2Cor (3: the radiometric shadow test drops water pixels,
        # (B03-B8A)/(B03+B8A) > 0.35 on the CCI water bodies, and the CCI water recovery after the shadow step
        # gives shadowed water bodies back to class 6; 2.8/2.9: B02/B11 > 6 and the same recovery), like the
        # terrain shadow above
        scl[(self.cloud_shadow(res) >= 0.5) & (cls != WATER)] = 3
        cirrus = self.block_mean(self.cirrus10, res)
        scl[cirrus >= TRUTH_T1_B10] = 10
        scl[cirrus >= TRUTH_T2_B10] = 8          # thick cirrus: Sen2Cor's medium-probability cloud
        p = self.cloud_probability(res)
        scl[p >= TRUTH_T_CLOUD_MP] = 8
        scl[p >= TRUTH_T_CLOUD_HP] = 9
        scl[self.nodata(res)] = 0
        return scl

    def cloud_brightness(self, res: int) -> np.ndarray:
        """Red (B04) reflectance of the opaque clouds themselves at ``res``: fraction x cloud spectrum x cloud-top
        texture, block-averaged (the surface and the atmosphere below and above not included)."""
        k = BANDS.index("B04")
        c = self.cloud10 * SPECTRA[CLOUD, k]
        if self.cloud_texture10 is not None:
            c = c * self.cloud_texture10
        return self.block_mean(c, res)

    def cloud_probability(self, res: int) -> np.ndarray:
        """True cloud probability: Sen2Cor's brightness confidence ((B04 - T1_B04) / (T2_B04 - T1_B04))^2, clipped
        to 0..1, of the clouds' own red reflectance (:meth:`cloud_brightness`)."""
        x = (np.clip(self.cloud_brightness(res), TRUTH_T1_B04, TRUTH_T2_B04) - TRUTH_T1_B04) / (TRUTH_T2_B04 - TRUTH_T1_B04)
        return (x * x).astype(np.float32)


# ---------------------------------------------------------------------- strips
#: Pixels of one row strip of the forward model's per-pixel work: a full tile's 10 m fields (0.5-1 GB each)
#: are computed strip by strip and never held whole as temporaries. Every step done by strips works pixel by
#: pixel (or on whole blocks, or with the neighbour rows it needs), so the values do not depend on this size.
STRIP_PIXELS = 1 << 21


def row_strips(n: int, res: int) -> list[tuple[int, int]]:
    """Row ranges ``[r0, r1)`` covering the ``n`` rows of the ``res`` grid, of about STRIP_PIXELS pixels each,
    cut on 60 m rows (whole zone rows and 60 m blocks; any cut gives the same values)."""
    f = max(1, 60 // res)
    step = max(f, STRIP_PIXELS // max(n, 1) // f * f)
    return [(r0, min(n, r0 + step)) for r0 in range(0, n, step)]


def repeat_rows(a: np.ndarray, f: int, r0: int, r1: int) -> np.ndarray:
    """Rows ``[r0, r1)`` of ``a`` with each pixel repeated f x f, without repeating the whole of ``a``."""
    part = a[r0 // f:(r1 + f - 1) // f]
    part = np.repeat(np.repeat(part, f, axis=0), f, axis=1)
    return part[r0 % f:r0 % f + r1 - r0]


# ---------------------------------------------------------------------- noise
def _fourier_field(rng: np.random.Generator, n: int, filt) -> np.ndarray:
    """Zero-mean, unit-std random field of side ``n`` with amplitude spectrum ``filt(k_cycles_per_px)``."""
    white = rng.standard_normal((n, n))
    ky = np.fft.fftfreq(n)[:, None]
    kx = np.fft.rfftfreq(n)[None, :]
    k = np.hypot(ky, kx)
    f = np.fft.irfft2(np.fft.rfft2(white) * filt(k), s=(n, n))
    f -= f.mean()
    sd = f.std()
    return (f / sd if sd > 0 else f).astype(np.float32)


def smooth_noise(rng: np.random.Generator, n: int, scale_px: float) -> np.ndarray:
    """Gaussian-correlated noise with correlation length ``scale_px`` (FFT: cheap at any scale)."""
    return _fourier_field(rng, n, lambda k: np.exp(-2.0 * (np.pi * scale_px * k) ** 2))


def fractal_dem(rng: np.random.Generator, n: int, relief: str, pixel_m: float = 10.0) -> np.ndarray:
    """Smooth fractal terrain (power-law spectrum, beta = 3.2, tapered below a few hundred metres).

    Heights are scaled to a target RMS slope, which is what makes hills or mountains look like themselves at
    any scene size (a small scene then simply spans a smaller height range).
    """
    base, slope_deg, lam_min = RELIEF[relief]
    if slope_deg == 0.0:
        rng.standard_normal((n, n))            # keep the draw order independent of the relief
        return np.full((n, n), base, np.float32)
    kc = pixel_m / lam_min

    def filt(k: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            a = np.where(k > 0, np.maximum(k, 1.0 / n) ** (-1.6), 0.0)
        return a * np.exp(-(k / kc) ** 2)

    f = _fourier_field(rng, n, filt).astype(np.float64)
    gy, gx = np.gradient(f, pixel_m)
    rms = np.sqrt(np.mean(gx ** 2 + gy ** 2))
    h = f * (np.tan(np.radians(slope_deg)) / rms)
    return np.maximum(base + h, 0.0).astype(np.float32)


# ---------------------------------------------------------------- land cover
def _parcels(rng: np.random.Generator, n20: int, mean_parcel_m: float = 350.0) -> tuple[np.ndarray, int]:
    """Field parcels as Voronoi cells of jittered seeds on the 20 m grid; returns (cell id, cell count)."""
    step = mean_parcel_m / 20.0
    m = max(2, int(np.ceil(n20 / step)) + 1)
    g = (np.arange(m) - 0.5) * step
    sy, sx = np.meshgrid(g, g, indexing="ij")
    seeds = np.column_stack([sy.ravel(), sx.ravel()]) + rng.uniform(-0.45, 0.45, (m * m, 2)) * step
    yy, xx = np.mgrid[0:n20, 0:n20]
    _, idx = cKDTree(seeds).query(np.column_stack([yy.ravel() + 0.5, xx.ravel() + 0.5]))
    return idx.reshape(n20, n20), m * m


def build_land_cover(rng: np.random.Generator, n10: int, dem10: np.ndarray, relief: str
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Classes at 20 m, 10 m texture and the DEM with flat lake surfaces.

    Fields of crops/grass/soils, forest blobs (more on slopes and heights), lakes filling the lowest ground
    (so their surface is flat in the DEM), snow above a snowline in mountains or else one small patch.
    """
    n20 = n10 // 2
    cells, ncell = _parcels(rng, n20)
    field_cls = rng.choice([0, 1, 4, 5], size=ncell, p=[0.40, 0.25, 0.17, 0.18]).astype(np.uint8)
    cell_gain = rng.uniform(0.85, 1.15, ncell).astype(np.float32)
    cls = field_cls[cells]
    gain20 = cell_gain[cells]

    dem20 = dem10.reshape(n20, 2, n20, 2).mean(axis=(1, 3))
    span = float(dem20.max() - dem20.min())
    dem_n = (dem20 - dem20.mean()) / span if span > 0 else np.zeros_like(dem20)
    forest = smooth_noise(rng, n20, 30.0)[:] + 1.5 * dem_n
    forest_cut = np.quantile(forest, 0.78)
    conifer = smooth_noise(rng, n20, 40.0) + 2.0 * dem_n > 0.3
    isf = forest > forest_cut
    cls[isf] = np.where(conifer[isf], 3, 2)

    wet = smooth_noise(rng, n20, 25.0)
    dem10 = dem10.copy()
    if span > 0:                               # lakes fill the lowest ground up to a level: flat, no cliffs
        level = float(np.quantile(dem20, 0.045))
        water = dem20 <= level
        w10 = np.repeat(np.repeat(water, 2, axis=0), 2, axis=1)
        dem10[w10] = np.float32(level)
    else:
        water = wet > np.quantile(wet, 0.955)
    cls[water] = WATER

    sn = smooth_noise(rng, n20, 15.0)
    if relief == "mountains" and span > 400:
        snow = (dem20 + 60.0 * sn) > np.quantile(dem20, 0.86)
    else:
        cy, cx = rng.uniform(0.2, 0.8, 2) * n20
        r = max(3.0, 0.06 * n20)
        yy, xx = np.mgrid[0:n20, 0:n20]
        snow = np.hypot((yy - cy) / r, (xx - cx) / (1.6 * r)) + 0.15 * sn < 1.0
    cls[snow & ~water] = SNOW

    tex = 1.0 + 0.035 * smooth_noise(rng, n10, 1.2)
    tex *= np.repeat(np.repeat(gain20, 2, axis=0), 2, axis=1)
    c10 = np.repeat(np.repeat(cls, 2, axis=0), 2, axis=1)
    tex[c10 == WATER] = 1.0
    tex[c10 == SNOW] = 1.0 + 0.01 * (tex[c10 == SNOW] - 1.0)
    return cls.astype(np.uint8), tex.astype(np.float32), dem10


# -------------------------------------------------------------------- clouds
def _shift(a: np.ndarray, drow: int, dcol: int) -> np.ndarray:
    """``a`` moved by (drow, dcol) pixels, zero-filled (no wrap-around)."""
    out = np.zeros_like(a)
    n0, n1 = a.shape
    if abs(drow) >= n0 or abs(dcol) >= n1:
        return out
    src = a[max(0, -drow):n0 - max(0, drow), max(0, -dcol):n1 - max(0, dcol)]
    out[max(0, drow):max(0, drow) + src.shape[0], max(0, dcol):max(0, dcol) + src.shape[1]] = src
    return out


def build_clouds(rng: np.random.Generator, n10: int, sun_zenith: float, sun_azimuth_grid: float,
                 texture: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[float], np.ndarray, np.ndarray | None]:
    """Opaque clouds, their shadows along the sun direction, thin cirrus, and the clouds (fraction, and the
    cloud-top ``texture`` when given) as the parallax band sees them: each cloud moved by PARALLAX_PER_M x its
    height along the track, sub-pixel (all at 10 m).

    A cloud of top height h casts its shadow h*tan(sza) away from the sun, i.e. towards the anti-solar
    azimuth (``sun_azimuth_grid`` is the sun azimuth relative to grid north, clockwise). Each cloud is a
    noisy blob with a soft edge (fraction 0..1).
    """
    ncl = int(np.clip(round(n10 / 300), 2, 7))
    yy, xx = np.mgrid[0:n10, 0:n10].astype(np.float32)
    rough = smooth_noise(rng, n10, max(2.0, 0.015 * n10))
    cloud = np.zeros((n10, n10), np.float32)
    shadow = np.zeros((n10, n10), np.float32)
    seen = np.zeros((n10, n10), np.float32)
    tex_seen = None if texture is None else np.ones((n10, n10), np.float32)
    track = np.radians(TRACK_AZIMUTH_DEG)
    heights: list[float] = []
    anti = np.radians(sun_azimuth_grid + 180.0)
    for _ in range(ncl):
        h = float(rng.uniform(800.0, 2500.0))
        r = float(rng.uniform(0.035, 0.07)) * n10
        d_px = h * np.tan(np.radians(sun_zenith)) / 10.0
        dcol, drow = d_px * np.sin(anti), -d_px * np.cos(anti)
        # centre so that the shadow tends to fall inside the scene too
        cy, cx = rng.uniform(0.15, 0.85, 2) * n10 - 0.5 * np.array([drow, dcol])
        aspect = rng.uniform(0.6, 1.0)
        d = np.hypot((yy - cy) / (r * aspect), (xx - cx) / r) + 0.35 * rough
        c = np.clip((1.15 - d) / 0.35, 0.0, 1.0).astype(np.float32)
        c = c * c * (3 - 2 * c)                                     # smoothstep edge
        cloud = np.maximum(cloud, c)
        shadow = np.maximum(shadow, _shift(c, int(np.rint(drow)), int(np.rint(dcol))))
        p_px = PARALLAX_PER_M * h / 10.0
        move = (-p_px * np.cos(track), p_px * np.sin(track))
        moved = ndimage.shift(c, move, order=1, mode="constant", cval=0.0)
        if texture is not None:      # where this cloud is the one seen, its own texture, moved with it
            tex_seen = np.where(moved > seen, ndimage.shift(texture, move, order=1, mode="nearest"), tex_seen)
        seen = np.maximum(seen, moved)
        heights.append(h)
    shadow *= 1.0 - cloud                     # a shadow under a cloud is the cloud
    ang = rng.uniform(0, np.pi)
    streak = smooth_noise(rng, n10, max(3.0, 0.04 * n10))
    u = (xx * np.cos(ang) + yy * np.sin(ang)) / n10
    band = np.exp(-((u - rng.uniform(0.3, 0.7)) / 0.12) ** 2)
    ci = np.clip(band * (0.8 + 0.5 * streak) - 0.15, 0.0, 1.0) * CIRRUS_B10_MAX
    ci[cloud >= 0.6] = 0.0
    return cloud, shadow.astype(np.float32), ci.astype(np.float32), heights, seen, tex_seen


# --------------------------------------------------------------- atmosphere
def build_zones(rng: np.random.Generator, n60: int, nz: int, aot: float, wv: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``nz`` x ``nz`` piecewise-constant atmosphere zones whose mean AOT/WV equal the requested ones."""
    edges = [len(a) for a in np.array_split(np.arange(n60), nz)]
    rows = np.repeat(np.arange(nz), edges)
    zones = (rows[:, None] * nz + rows[None, :]).astype(np.int16)
    m = nz * nz
    fa = np.linspace(0.6, 1.4, m) if m > 1 else np.ones(1)
    fw = np.linspace(0.75, 1.25, m) if m > 1 else np.ones(1)
    zone_aot = np.round(aot * rng.permutation(fa), 4)
    zone_wv = np.round(wv * rng.permutation(fw), 4)
    return zones, zone_aot, zone_wv


def build_scene(size: int, seed: int, relief: str, aot: float, wv: float, sun_zenith: float,
                sun_azimuth_grid: float, zones: int | None = None) -> Scene:
    """Draw the whole scene; the draw order is fixed so that a seed reproduces the scene."""
    if size % 6 or size < 12:
        raise ValueError(f"size must be a positive multiple of 6 (>= 12), got {size}")
    if relief not in RELIEF:
        raise ValueError(f"relief must be one of {sorted(RELIEF)}, got {relief!r}")
    rng = np.random.default_rng(seed)
    dem10 = fractal_dem(rng, size, relief)
    classes20, tex10, dem10 = build_land_cover(rng, size, dem10, relief)
    tex = (1.0 + CLOUD_TEXTURE_AMPLITUDE * smooth_noise(np.random.default_rng([seed, 7]), size,
                                                        CLOUD_TEXTURE_SCALE_PX)).astype(np.float32)
    cloud, shadow, cirrus, heights, cloud_b08, tex_b08 = build_clouds(rng, size, sun_zenith, sun_azimuth_grid, tex)
    nz = zones if zones is not None else (3 if size >= 600 else 2)
    zones60, zone_aot, zone_wv = build_zones(rng, size // 6, nz, aot, wv)
    frac = rng.uniform(0.05, 0.09)                 # no-data share of the scene east of a slanted edge
    b = np.tan(np.radians(rng.uniform(8.0, 16.0)))
    side = size * 10.0
    a = side * (1.0 - frac) - 0.5 * b * side       # mean width of the cut = frac * side
    return Scene(size=size, seed=seed, relief=relief, classes20=classes20, texture10=tex10, dem10=dem10,
                 cloud10=cloud, cloud_shadow10=shadow, cirrus10=cirrus, zones60=zones60,
                 zone_aot=zone_aot, zone_wv=zone_wv, nodata_edge=(float(a), float(b)),
                 cloud_heights_m=heights, cloud_parallax10=cloud_b08, cloud_texture10=tex,
                 cloud_texture_parallax10=tex_b08)
