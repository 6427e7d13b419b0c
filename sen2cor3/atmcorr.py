"""The atmospheric-correction stage of a tile: the 20 m (or 60 m) run, the 10 m run, the 60 m downsampling.

Glue between the product (angles, grids, encodings, writers) and the science in ``sen2cor3.ac``; the science
never sees files. Sen2Cor's rules kept here: the 10 m run reuses the 20 m AOT/WV and SCL (nearest
up-sampling); 60 m images are 3x3 block means of the 20 m results (uint16, +0.5); B10 has no BOA output; BOA
offset +1000 when the L1C carries RADIO_ADD_OFFSET (PB >= 04.00).
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

from sen2cor3.ac import encode
from sen2cor3.ac import correct as _correct
from sen2cor3.ac.correct import AcResult, Geometry, choose_luts, correct_resolution, terrain_fields
from sen2cor3.io import report
from sen2cor3.products import naming
from sen2cor3.processing import TABLE_SENSOR
from sen2cor3.products.model import L1CProduct
from sen2cor3.sc.masks import upsample_nearest

log = logging.getLogger("sen2cor3.atmcorr")



def geometry_of(product: L1CProduct) -> Geometry:
    """The 5 km MTD_TL angle grids (per band for the view angles) as the AC wants them."""
    a = product.angles
    return Geometry(sza=a.sun_zenith, saa=a.sun_azimuth, vza=dict(a.view_zenith) or 0.0,
                    vaa=dict(a.view_azimuth) or 0.0, step_m=a.row_step_m)


def tile_centre_latitude(product: L1CProduct, resolution_m: int) -> float:
    """Latitude of the tile centre (for the AUTO season rule)."""
    from osgeo import osr
    g = product.geopositions[resolution_m]
    x = g.ulx + g.xdim * g.ncols / 2.0
    y = g.uly + g.ydim * g.nrows / 2.0
    src = osr.SpatialReference()
    src.ImportFromEPSG(product.epsg)
    dst = osr.SpatialReference()
    dst.ImportFromEPSG(4326)
    dst.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    src.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    lon, lat, _ = osr.CoordinateTransformation(src, dst).TransformPoint(x, y)
    return float(lat)


def _cams_inputs(aux) -> dict | None:
    if aux is None:
        return None
    out = {}
    if aux.aot550 is not None:
        out["aot550"] = aux.aot550
    if aux.tcwv_gcm2 is not None:
        out["wv"] = aux.tcwv_gcm2
    return out or None


class _BandSink:
    """Receives each band's BOA from ``correct_resolution`` as soon as it is inverted: encodes it, hands the
    image to the (background) writer, keeps the TCI channel and the 60 m block mean, and lets the float band
    go. Same encodings as encoding the finished result, without ever holding all bands of a full tile."""

    def __init__(self, writer, res_m: int, nodata: np.ndarray, scl: np.ndarray, offset: bool,
                 write_bands: tuple[str, ...], bands60: tuple[str, ...] = (), tci: bool = True) -> None:
        self.writer, self.res_m, self.nodata, self.scl, self.offset = writer, res_m, nodata, scl, offset
        self.write_bands, self.bands60 = write_bands, bands60
        self.tci = np.empty((3,) + scl.shape, np.uint8) if tci else None
        self.tci_seen: set[str] = set()
        self.dn60: dict[str, np.ndarray] = {}

    def __call__(self, band: str, boa: np.ndarray) -> None:
        if band in self.write_bands or band in self.bands60:
            dn = encode.boa_dn(boa, nodata=self.nodata, scl=self.scl, offset=self.offset)
            if band in self.bands60:
                self.dn60[band] = _block_mean_dn(dn)
            if band in self.write_bands:
                self.writer.image(band, self.res_m, dn)
        if self.tci is not None and band in TCI_BANDS:
            self.tci[TCI_BANDS.index(band)] = encode.tci_channel(boa, nodata=self.nodata, scl=self.scl)
            self.tci_seen.add(band)
            if self.tci_seen == set(TCI_BANDS):       # encode it now, overlapping the remaining bands
                self.writer.image("TCI", self.res_m, self.tci)
                self.tci = None


#: TCI channel order (red, green, blue).
TCI_BANDS = ("B04", "B03", "B02")


def _write_maps(writer, res_m: int, aot: np.ndarray, wvp: np.ndarray, also_60: bool = False) -> None:
    """Encoded AOT and WVP images of one resolution (and their 60 m block means)."""
    writer.image("AOT", res_m, aot)
    writer.image("WVP", res_m, wvp)
    if also_60:
        writer.image("AOT", 60, _block_mean_dn(aot))
        writer.image("WVP", 60, _block_mean_dn(wvp))


def _tci_from_dn(dn: dict[str, np.ndarray], offset: bool) -> np.ndarray:
    return encode.tci(*(encode.boa_rho(dn[b], offset) for b in ("B04", "B03", "B02")))


def start_10m_reads(product: L1CProduct, prefetch, qi_cache: dict | None = None, scratch=None) -> None:
    """Queue the 10 m run's L1C decodes on ``prefetch``: the no-data mask and the 10 m bands that the 20 m run
    did not park in ``scratch`` (:class:`~sen2cor3.io.scratch.ScratchArrays`; B08 in a normal run)."""
    from sen2cor3.processing import BANDS_10M
    from sen2cor3.products import l1c as l1c_io
    prefetch.start(("qi", 10), l1c_io.read_qi_masks, product, 10, layers=("nodata",), native_cache=qi_cache)
    for b in BANDS_10M:
        if scratch is None or f"{b}_10m" not in scratch:
            prefetch.start(("dn", b, 10), l1c_io.read_band, product, b, 10)


def _dn_10m(prefetch, scratch, band: str) -> np.ndarray:
    """A 10 m band's DN: from the prefetcher when it decoded it, else from the 20 m run's scratch."""
    key = ("dn", band, 10)
    return prefetch.get(key) if key in prefetch else scratch.take(f"{band}_10m")


def correct_tile(product: L1CProduct, l2a, config, *, toa: dict, nodata: np.ndarray, sc, base_resolution: int,
                 resolutions: tuple[int, ...], writer, results, options, aux=None, prefetch=None,
                 qi_cache: dict | None = None, scratch=None) -> None:
    """Correct the base resolution (20 or 60 m), then 60 m by downsampling and 10 m, writing every layer.

    ``toa`` is consumed: emptied once the base resolution is corrected (a full tile cannot keep it through
    the 10 m run). Bands are encoded and handed to ``writer`` one by one as the correction produces them;
    the 10 m run corrects one band at a time with the retrieval of the base run (``prior``), which gives the
    same result as correcting the four bands together. ``prefetch``: the :class:`~sen2cor3.io.background.
    Prefetcher` on which :func:`start_10m_reads` queues the 10 m decodes (None: they run when collected).
    """
    from sen2cor3.processing import BANDS_10M  # shared constants of the tile stage
    from sen2cor3.products import l1c as l1c_io

    ac_cfg = config.l2a.atmospheric_correction
    lat = tile_centre_latitude(product, base_resolution)
    aerosol, season, ozone = choose_luts(ac_cfg.look_up_tables, product.sensing_start.month, lat,
                                         aux.ozone_du if aux is not None else None)
    sensor = TABLE_SENSOR.get(product.mission_id, "S2A")
    geom = geometry_of(product)
    elevation_km, dem_fields = _terrain(aux, config, product, base_resolution)
    offset = product.has_radiometric_offset
    report.progress(35.0, f"Atmospheric correction at {base_resolution} m")
    log.info("AC: sensor %s, aerosol %s, %s, ozone %.0f DU", sensor, aerosol, season, ozone)
    out_bands = tuple(b for b in naming.L2A_BANDS[base_resolution] if b.startswith("B"))
    down60 = base_resolution == 20 and 60 in resolutions
    bands60 = tuple(b for b in naming.L2A_BANDS[60] if b.startswith("B")) if down60 else ()
    ac_nodata = np.asarray(nodata, bool) | (np.asarray(sc.scl) == 0)      # = the correction's ~valid
    sink = _BandSink(writer, base_resolution, ac_nodata, sc.scl, offset, out_bands, bands60,
                     tci=options.tci and all(b in toa for b in TCI_BANDS))
    ac = correct_resolution(toa, nodata, sc.scl, geom, elevation_km, ac_cfg, config.ac, sensor, base_resolution,
                            cams=_cams_inputs(aux), dem_fields=dem_fields, aerosol=aerosol, season=season,
                            ozone_du=ozone, sink=sink, maps="dn", inplace=True,
                            keep_linear=BANDS_10M if 10 in resolutions else ())
    toa.clear()                                   # the caller's dict too: frees the base-resolution TOA
    if 10 in resolutions:
        # decoded while the 20/60 m images are written (started during the classification or halfway
        # through the 20 m correction, the decoder's buffers raised the full-tile peak by 0.1-0.9 GB and the
        # two cores were busy anyway: no gain in wall time); without a prefetcher they run when collected
        if prefetch is None:
            from sen2cor3.io.background import Prefetcher
            prefetch = Prefetcher(enabled=False)
        start_10m_reads(product, prefetch, qi_cache, scratch)
    report.progress(55.0, f"Writing {base_resolution} m images")
    _write_maps(writer, base_resolution, ac.aot, ac.wv, also_60=down60)      # maps="dn": encoded
    results.qi.update(_qi_values(ac, aux, aerosol, season, ozone, sensor))

    if down60:
        report.progress(65.0, "Downsampling 20 m results to 60 m")
        for b in bands60:
            writer.image(b, 60, sink.dn60[b])
        if options.tci:
            writer.image("TCI", 60, _tci_from_dn({b: sink.dn60[b] for b in TCI_BANDS}, offset))
    # the 10 m run needs only the retrieval (working-grid maps) and the metadata of the base run
    maps_base = (ac.aot, ac.wv)                   # encoded; the 10 m maps are their nearest up-sampling
    ac = AcResult({}, None, None, None, ac.metadata, ac.work)
    del sink, ac_nodata

    if 10 in resolutions:
        report.progress(70.0, "Reading L1C bands at 10 m")
        dn10 = {b: _dn_10m(prefetch, scratch, b) for b in BANDS_10M}
        nodata10 = prefetch.get(("qi", 10))["nodata"]
        for b in BANDS_10M:
            nodata10 |= dn10[b] == product.nodata_value
        factor = base_resolution // 10
        scl10 = upsample_nearest(sc.scl, factor)[: nodata10.shape[0], : nodata10.shape[1]]
        elev10, dem10 = _terrain(aux, config, product, 10, upsample_from=(elevation_km, factor), dem_base=dem_fields)
        report.progress(75.0, "Atmospheric correction at 10 m")
        sink10 = _BandSink(writer, 10, nodata10 | (scl10 == 0), scl10, offset,
                           tuple(b for b in naming.L2A_BANDS[10] if b.startswith("B")),
                           tci=options.tci and all(b in BANDS_10M for b in TCI_BANDS))
        model = _correct.AtmosphereModel(sensor, aerosol, season, ozone)   # one for the four calls
        for i, b in enumerate(BANDS_10M):
            toa_b = {b: l1c_io.toa_reflectance(dn10.pop(b), product.bands[b], product.quantification_value,
                                               nodata=0.0)}
            ac10 = correct_resolution(toa_b, nodata10, scl10, geom, elev10, ac_cfg, config.ac, sensor, 10,
                                      cams=_cams_inputs(aux), dem_fields=dem10, model=model, aerosol=aerosol,
                                      season=season, ozone_du=ozone, prior=ac, sink=sink10,
                                      maps=False, inplace=True)
            del toa_b, ac10
            if i == 0:                  # Sen2Cor: the 20 m AOT/WVP up-sampled by nearest neighbour
                for name, dn in zip(("AOT", "WVP"), maps_base):
                    writer.image(name, 10, _upsampled_dn(dn, factor, sink10.nodata, scl10))
        del maps_base
        report.progress(85.0, "Writing 10 m images")


def _upsampled_dn(dn: np.ndarray, factor: int, nodata: np.ndarray, scl: np.ndarray) -> np.ndarray:
    """A coarser encoded map on the finer grid (nearest), 0 where the finer grid has no data or SCL <= 1."""
    out = np.ascontiguousarray(upsample_nearest(dn, factor)[: nodata.shape[0], : nodata.shape[1]])
    out[nodata | (scl <= 1)] = 0
    return out


def _block_mean_dn(a: np.ndarray) -> np.ndarray:
    """Sen2Cor's 20 -> 60 m block mean on encoded uint16 images; a block with any no-data pixel keeps the mean
    of its valid pixels, an all-no-data block stays 0."""
    r, c = a.shape[0] // 3 * 3, a.shape[1] // 3 * 3
    blocks = a[:r, :c].reshape(r // 3, 3, c // 3, 3)
    s = np.zeros((r // 3, c // 3), np.uint32)              # exact sums (no data adds 0)
    n = np.zeros((r // 3, c // 3), np.int64)
    for i in range(3):                                     # nine strided passes, no float copy of the band
        for j in range(3):
            v = blocks[:, i, :, j]
            s += v
            n += v > 0
    out = np.where(n > 0, s / np.maximum(n, 1) + 0.5, 0)
    return out.astype(a.dtype)


def _terrain(aux, config, product: L1CProduct, res_m: int, upsample_from=None, dem_base=None):
    """Elevation (km, array or the GIPP Altitude) and terrain fields when DEM_Terrain_Correction is on."""
    calib_alt = float(config.l2a.atmospheric_correction.calibration.altitude)
    if aux is None or aux.dem is None or aux.dem.is_flat:
        return (aux.mean_elevation_m / 1000.0 if aux is not None and aux.dem is None and aux.mean_elevation_m
                else calib_alt), None
    if upsample_from is not None:
        z, factor = upsample_from
        z10 = np.repeat(np.repeat(np.asarray(z, np.float32), factor, 0), factor, 1)
        shape = product.geopositions[res_m].nrows, product.geopositions[res_m].ncols
        z10 = z10[: shape[0], : shape[1]]
        if not config.l2a.atmospheric_correction.flags.dem_terrain_correction:
            return z10, None
        return z10, terrain_fields(z10 * 1000.0, res_m, product.angles.mean_sun_zenith,
                                   product.angles.mean_sun_azimuth)
    z_km = (aux.dem.height_m / 1000.0).astype(np.float32)
    if not config.l2a.atmospheric_correction.flags.dem_terrain_correction:
        return z_km, None
    return z_km, terrain_fields(aux.dem.height_m, res_m, product.angles.mean_sun_zenith,
                                product.angles.mean_sun_azimuth,
                                slope_aspect_deg=(aux.dem.slope_deg, aux.dem.aspect_deg))   # same grid, same Horn


def _qi_values(ac: AcResult, aux, aerosol: str, season: str, ozone: float, sensor: str) -> dict[str, Any]:
    """L2A_QUALITY / Image_Content_QI values of the correction."""
    m = ac.metadata
    out = {k: m[k] for k in ("AC_ENABLED", "AOT_RETRIEVAL_METHOD", "GRANULE_MEAN_AOT", "GRANULE_MEAN_WV",
                             "WV_RETRIEVAL_METHOD", "START_VISIBILITY_KM", "VISIBILITY_FROM_DDV_KM",
                             "FINAL_VISIBILITY_KM", "DDV_PIXEL_PERCENTAGE", "AVERAGE_SOLAR_ZENITH_ANGLE",
                             "BLUE_PATH_RADIANCE_RESCALING_FACTOR", "VISIBILITY_LESS_THAN_5_KM", "AOT_ABOVE_1",
                             "GRANULE_WV_ABOVE_5_CM", "NEGATIVE_BOA_PERCENTAGE") if k in m}
    for flag in ("AC_ENABLED", "VISIBILITY_LESS_THAN_5_KM", "AOT_ABOVE_1", "GRANULE_WV_ABOVE_5_CM"):
        if flag in out:
            out[flag] = "TRUE" if out[flag] else "FALSE"
    out["OZONE_VALUE"] = ozone
    out["LUT_DATA_FILES"] = [f"sen2cor3_6S_{sensor}_{aerosol}_{season}.npz"]
    if aux is not None:
        meta = aux.metadata()
        out["OZONE_SOURCE"] = meta.get("OZONE_SOURCE", "OTHER")
        out["AUX_DATA_FILES"] = list(aux.files)
        for k in ("DEM_TYPE", "DEM_MEAN_ALTITUDE_KM", "DEM_MEAN_SLOPE"):
            if k in meta:
                out[k] = meta[k]
    return out
