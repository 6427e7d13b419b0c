"""The atmospheric-correction stage of a tile: the base run, the grids derived from it, the refined run.

Glue between the product (angles, grids, encodings, writers) and the science in ``sen2cor3.ac``; the science
never sees files. What is run comes from the resolution plan (:mod:`sen2cor3.plan`), which bands and roles
from the sensor description (:mod:`sen2cor3.sensors`). Sen2Cor's rules kept here: the refined (10 m) run
reuses the base (20 m) AOT/WV and SCL (nearest up-sampling); downsampled (60 m) images are block means of the
base results (uint16, mean of the valid pixels, +0.5); the cirrus band has no BOA output; the BOA encoding
(offset +1000 when the L1 carries a radiometric offset) is the sensor's.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

from sen2cor3.ac import encode
from sen2cor3.ac import grids as _grids
from sen2cor3.ac import correct as _correct
from sen2cor3.ac.correct import (AcResult, Geometry, choose_luts, correct_resolution, terrain_fields,
                                 terrain_fields_by_rows)
from sen2cor3.ac.settings import ac_settings
from sen2cor3.ac.terrain import peak_to_peak_m, refined_cast_shadow
from sen2cor3.blocks import block_mean_dn
from sen2cor3.io import report
from sen2cor3.plan import ResolutionPlan
from sen2cor3.products import l2a_optional
from sen2cor3.products.l2a import L2AProduct
from sen2cor3.products.model import L1CProduct
from sen2cor3.products.naming import DDV_MASK_KIND
from sen2cor3.sensors import BoaEncoding
from sen2cor3.readers import reader_for
from sen2cor3.readers.toa_store import ToaBands
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
    image to the (background) writer, keeps the TCI channel, the preview channel and the block mean of the
    downsampled grid, and lets the float band go. Same encodings as encoding the finished result, without ever
    holding all bands of a full tile. ``encoding(band)``: the band's BOA encoding rule (``L1CProduct.boa``).
    ``pvi_bands`` / ``pvi_shape``: the preview's red, green, blue bands and size (Sen2Cor 3 makes the preview
    from the BOA DN of the product's first run, ``L2A_Tables.createRgbImages``)."""

    def __init__(self, writer, res_m: int, nodata: np.ndarray, scl: np.ndarray, offset: bool,
                 write_bands: tuple[str, ...], bands_down: tuple[str, ...] = (), tci_bands: tuple[str, ...] = (),
                 down_factor: int = 3, encoding=None, pvi_bands: tuple[str, ...] = (),
                 pvi_shape: tuple[int, int] | None = None) -> None:
        self.writer, self.res_m, self.nodata, self.scl, self.offset = writer, res_m, nodata, scl, offset
        self.write_bands, self.bands_down, self.down_factor = write_bands, bands_down, down_factor
        self.tci_bands, self.encoding = tci_bands, encoding
        self.tci: np.ndarray | None = None       # allocated with the first TCI band (not through the retrieval)
        self.tci_seen: set[str] = set()
        self.pvi_bands, self.pvi_shape = pvi_bands, pvi_shape
        self.pvi = np.empty((3,) + pvi_shape, np.uint8) if pvi_bands and pvi_shape else None
        self.pvi_seen: set[str] = set()
        self.dn_down: dict[str, np.ndarray] = {}
        self._dn: dict[str, np.ndarray] = {}         # bands being encoded, block by block

    def _encoding_of(self, band: str) -> BoaEncoding | None:
        """The band's BOA encoding rule (None: the default)."""
        return self.encoding(band) if self.encoding is not None else None

    def __call__(self, band: str, boa: np.ndarray) -> None:
        """A whole band's BOA at once (the same as its rows, then :meth:`finish`)."""
        self.rows(band, 0, boa.shape[0], boa)
        self.finish(band)

    def rows(self, band: str, r0: int, r1: int, boa: np.ndarray) -> None:
        """Rows r0:r1 of a band's BOA (NaN = no data), encoded at once: the correction streams its blocks here
        and never holds a float32 band (``correct._BandTarget``); every encoding is per pixel, so the DN are
        those of the whole band encoded at once."""
        nodata, scl = self.nodata[r0:r1], self.scl[r0:r1]
        if band in self.write_bands or band in self.bands_down:
            if band not in self._dn:
                self._dn[band] = np.empty(self.scl.shape, np.uint16)
            self._dn[band][r0:r1] = encode.boa_dn(boa, nodata=nodata, scl=scl, offset=self.offset,
                                                  encoding=self._encoding_of(band))
        if band in self.tci_bands and band not in self.tci_seen:
            if self.tci is None:
                self.tci = np.empty((3,) + self.scl.shape, np.uint8)
            encode.tci_channel(boa, nodata=nodata, scl=scl, out=self.tci[self.tci_bands.index(band), r0:r1])

    def finish(self, band: str) -> None:
        """The band is complete: hand its image to the writer, keep its block means and preview channel."""
        dn = self._dn.pop(band, None)
        if dn is not None:
            enc = self._encoding_of(band)
            if band in self.bands_down:
                self.dn_down[band] = block_mean_dn(dn, self.down_factor, nodata="ignore")
            if band in self.write_bands:
                self.writer.image(band, self.res_m, dn)
            if self.pvi is not None and band in self.pvi_bands:
                enc_b = enc if enc is not None else BoaEncoding()
                off = enc_b.offset_dn if self.offset else 0
                self.pvi[self.pvi_bands.index(band)] = l2a_optional.preview_channel(
                    l2a_optional.dn_rows(dn, off), dn.shape, self.pvi_shape, enc_b.quantification)
                self.pvi_seen.add(band)
                if self.pvi_seen == set(self.pvi_bands):
                    self.writer.pvi(self.res_m, self.pvi)
                    self.pvi = None
        if band in self.tci_bands and band not in self.tci_seen:
            self.tci_seen.add(band)
            if self.tci_seen == set(self.tci_bands):  # encode it now, overlapping the remaining bands
                self.writer.image("TCI", self.res_m, self.tci)
                self.tci = None


def _write_maps(writer, res_m: int, aot: np.ndarray, wvp: np.ndarray, downsampled: dict[int, int]) -> None:
    """Encoded AOT and WVP images of one resolution (and their block means on the downsampled grids,
    ``{resolution: factor}``)."""
    writer.image("AOT", res_m, aot)
    writer.image("WVP", res_m, wvp)
    for res, f in downsampled.items():
        writer.image("AOT", res, block_mean_dn(aot, f, nodata="ignore"))
        writer.image("WVP", res, block_mean_dn(wvp, f, nodata="ignore"))


def _tci_from_dn(dn: dict[str, np.ndarray], offset: bool, tci_bands: tuple[str, ...], encoding=None) -> np.ndarray:
    """TCI from encoded bands; ``encoding(band)`` gives each band's BOA rule."""
    return encode.tci(*(encode.boa_rho(dn[b], offset, encoding(b) if encoding else None) for b in tci_bands))


def start_refined_reads(product: L1CProduct, prefetch, qi_cache: dict | None = None, scratch=None,
                        resolution_m: int = 10) -> None:
    """Queue the refined run's L1C decodes on ``prefetch``: the no-data mask and the fine bands that the base
    run did not park in ``scratch`` (:class:`~sen2cor3.io.scratch.ScratchArrays`; B08 in a normal run)."""
    rd = reader_for(product)
    prefetch.start(("qi", resolution_m), rd.read_qi_masks, product, resolution_m, layers=("nodata",),
                   native_cache=qi_cache)
    for b in product.sensor.fine_bands:
        if scratch is None or f"{b}_{resolution_m}m" not in scratch:
            prefetch.start(("dn", b, resolution_m), rd.read_band, product, b, resolution_m)


def _refined_dn(prefetch, scratch, band: str, resolution_m: int = 10) -> np.ndarray:
    """A fine band's DN: from the prefetcher when it decoded it, else from the base run's scratch."""
    key = ("dn", band, resolution_m)
    return prefetch.get(key) if key in prefetch else scratch.take(f"{band}_{resolution_m}m")


def correct_tile(product: L1CProduct, l2a, config, *, toa: dict, nodata: np.ndarray, sc, plan: ResolutionPlan,
                 writer, results, options, aux=None, prefetch=None, qi_cache: dict | None = None,
                 scratch=None) -> None:
    """Correct the plan's base grid, write the grids downsampled from it, then the refined (10 m) run.

    ``toa`` is consumed: emptied once the base resolution is corrected (a full tile cannot keep it through
    the 10 m run). Bands are encoded and handed to ``writer`` one by one as the correction produces them;
    the refined run corrects one band at a time with the retrieval of the base run (``prior``), which gives
    the same result as correcting the bands together. ``prefetch``: the :class:`~sen2cor3.io.background.
    Prefetcher` on which :func:`start_refined_reads` queues the refined run's decodes (None: they run when
    collected).
    """
    rd = reader_for(product)
    sensor = product.sensor
    base = plan.base_m
    ac_cfg = ac_settings(config.l2a.atmospheric_correction, config.ac)     # the GIPP values, read once
    lat = tile_centre_latitude(product, base)
    aerosol, season, ozone = choose_luts(ac_cfg, product.sensing_start.month, lat,
                                         aux.ozone_du if aux is not None else None)
    table = sensor.table_sensor
    ac_options = _correct.AcOptions(work_res_m=plan.work_res_m)
    geom = geometry_of(product)
    elevation_km, dem_fields = _terrain(aux, ac_cfg, product, base)
    if np.ndim(elevation_km) == 0:
        # without a DEM the ground height is not known: say which one the pressure, the Rayleigh path and the
        # water column of the correction assume everywhere (issue 13: 1.9 km ground at the 0.1 km default
        # darkens the blue BOA of a lake by ~0.01)
        log.warning("%s: no DEM: the atmospheric correction assumes flat ground at %.3f km everywhere (%s); "
                    "set DEM_Directory, or the Altitude of the scene, in the L2A_GIPP", product.safe_path,
                    *_flat_ground(ac_cfg))
    offset = product.boa().offset_for(product.has_radiometric_offset) > 0
    report.progress(35.0, f"Atmospheric correction at {base} m")
    log.info("AC: sensor %s (tables %s), aerosol %s, %s, ozone %.0f DU", sensor.mission_id, table, aerosol,
             season, ozone)
    down = {res: plan.factor(res) for res in plan.downsampled}
    bands_down = tuple(dict.fromkeys(b for res in down for b in sensor.output_bands(res)))
    # = the correction's ~valid; made in the caller's no-data mask, which nothing reads after this (the refined
    # run reads its own): one full-size mask less through the correction
    ac_nodata = np.logical_or(nodata, np.asarray(sc.scl) == 0, out=nodata) if isinstance(nodata, np.ndarray) \
        and nodata.dtype == bool else np.asarray(nodata, bool) | (np.asarray(sc.scl) == 0)
    tci_bands = sensor.tci_bands if options.tci and all(b in toa for b in sensor.tci_bands) else ()
    # the preview: from the base run, in every SAFE product (Sen2Cor 3 only with Generate_TCI_Output, but it
    # lists PVI_FILENAME either way; see products.l2a_optional)
    pvi_bands = sensor.tci_bands if isinstance(l2a, L2AProduct) and all(b in toa for b in sensor.tci_bands) else ()
    g = product.geopositions[base]
    sink = _BandSink(writer, base, ac_nodata, sc.scl, offset, sensor.output_bands(base), bands_down,
                     tci_bands=tci_bands, down_factor=next(iter(down.values()), 1), encoding=product.boa,
                     pvi_bands=pvi_bands, pvi_shape=l2a_optional.pvi_shape(g.nrows, g.ncols, base))
    fine = sensor.fine_bands if plan.refined else ()
    ac = correct_resolution(toa, ac_nodata, sc.scl, geom, elevation_km, ac_cfg, config.ac, table, base,
                            cams=_cams_inputs(aux), dem_fields=dem_fields, aerosol=aerosol, season=season,
                            ozone_du=ozone, sink=sink, maps="dn", inplace=True, keep_linear=fine,
                            options=ac_options,
                            roles=sensor.roles, wavelength_um=sensor.wavelength_um)
    toa.clear()                                   # the caller's dict too: frees the base-resolution TOA
    for res in plan.refined:
        # decoded while the base images are written (started during the classification or halfway
        # through the 20 m correction, the decoder's buffers raised the full-tile peak by 0.1-0.9 GB and the
        # two cores were busy anyway: no gain in wall time); without a prefetcher they run when collected
        if prefetch is None:
            from sen2cor3.io.background import Prefetcher
            prefetch = Prefetcher(enabled=False)
        start_refined_reads(product, prefetch, qi_cache, scratch, resolution_m=res)
    report.progress(55.0, f"Writing {base} m images")
    _write_maps(writer, base, ac.aot, ac.wv, down)      # maps="dn": encoded
    if options.ddv:
        _write_ddv(writer, sc.scl, ac.work, base, down)
    results.qi.update(_qi_values(ac, aux, aerosol, season, ozone, table))
    if plan.refined and aux is not None and aux.dem is not None and not aux.dem.is_flat:
        aux.dem.release_pixels()         # the refined run derives its terrain from ``elevation_km``
    if ac.metadata.get("AOT_RETRIEVAL_METHOD") == "DEFAULT":
        log.warning("%s: no dark dense vegetation pixel and no CAMS AOT: AOT %.3f from the GIPP visibility "
                    "(%.0f km, raised by the negative-reflectance check if needed)", product.safe_path,
                    ac.metadata.get("GRANULE_MEAN_AOT", float("nan")), ac.metadata.get("FINAL_VISIBILITY_KM", 0.0))

    for res in down:
        report.progress(65.0, f"Downsampling {base} m results to {res} m")
        for b in sensor.output_bands(res):
            writer.image(b, res, sink.dn_down[b])
        if tci_bands:
            writer.image("TCI", res, _tci_from_dn({b: sink.dn_down[b] for b in tci_bands}, offset, tci_bands,
                                                     product.boa))
    # the refined run needs only the retrieval (working-grid maps) and the metadata of the base run
    maps_base = (ac.aot, ac.wv)                   # encoded; the refined maps are their nearest up-sampling
    ac = AcResult({}, None, None, None, ac.metadata, ac.work)
    # the base grid's terrain fields (slope, aspect, sky view, cast shadow: ~0.5 GB on a 20 m tile) are not used by
    # the refined run, which derives its own from the up-sampled elevation
    # ... but its cast shadows: Sen2Cor 3 casts a 10 m run's shadows at 20 m (``terrain.refined_cast_shadow``)
    cast_base = dem_fields.get("cast_shadow") if dem_fields is not None else None
    del sink, ac_nodata, dem_fields

    for res in plan.refined:
        report.progress(70.0, f"Reading L1C bands at {res} m")
        dn_f = {b: _refined_dn(prefetch, scratch, b, res) for b in fine}
        nodata_f = prefetch.get(("qi", res))["nodata"]
        for b in fine:
            nodata_f |= dn_f[b] == product.nodata_value
        factor = plan.factor(res)
        scl_f = upsample_nearest(sc.scl, factor)[: nodata_f.shape[0], : nodata_f.shape[1]]
        elev_f, dem_f = _terrain(aux, ac_cfg, product, res, upsample_from=(elevation_km, factor, cast_base))
        if dem_f is not None:
            # one sun and grid for the band-by-band calls: cos i, F_dir and the sky view once, not per band (the
            # first call keeps them in two files of the staging area: ~30 s CPU on a full tile)
            dem_f[_correct.SHARE_ILLUMINATION] = True
            if scratch is not None and scratch.folder is not None:
                dem_f[_correct.SPILL_DIR] = scratch.folder / f"illumination_{res}m"
        report.progress(75.0, f"Atmospheric correction at {res} m")
        tci_f = sensor.tci_bands if options.tci and all(b in fine for b in sensor.tci_bands) else ()
        sink_f = _BandSink(writer, res, nodata_f | (scl_f == 0), scl_f, offset, sensor.output_bands(res),
                           tci_bands=tci_f, encoding=product.boa)
        model = _correct.AtmosphereModel(table, aerosol, season, ozone)   # one for the per-band calls
        for i, b in enumerate(fine):
            # the band as DN, converted block by block where the correction reads it (its BOA streams to the
            # sink): no float32 10 m band (0.5 GB) beside its DN
            toa_b = ToaBands(lambda name, dn: rd.toa(product, name, dn))
            toa_b.put_dn(b, dn_f.pop(b))
            ac_f = correct_resolution(toa_b, nodata_f, scl_f, geom, elev_f, ac_cfg, config.ac, table, res,
                                      cams=_cams_inputs(aux), dem_fields=dem_f, model=model, aerosol=aerosol,
                                      season=season, ozone_du=ozone, prior=ac, sink=sink_f,
                                      options=ac_options,
                                      maps=False, inplace=True, roles=sensor.roles, wavelength_um=sensor.wavelength_um)
            del toa_b, ac_f
            if i == 0:                  # Sen2Cor: the 20 m AOT/WVP up-sampled by nearest neighbour
                for name, dn in zip(("AOT", "WVP"), maps_base):
                    writer.image(name, res, _upsampled_dn(dn, factor, sink_f.nodata, scl_f))
        _correct.release_shared_illumination(dem_f)
        report.progress(85.0, f"Writing {res} m images")
    del maps_base


def _write_ddv(writer, scl: np.ndarray, work: dict, res_m: int, downsampled: dict[int, int]) -> None:
    """``Generate_DDV_Output``: Sen2Cor 3's MSK_DDVPXL class map (``L2A_AtmCorr.write_ddv_map``) of the base
    run, the DDV reference cells of the working grid on the base grid; the downsampled grids get the plain
    3 x 3 mean of the codes + 0.5 (``downsampleBandList_20to60_andExport``). See products.l2a_optional."""
    k = max(1, int(round(float(work.get("res_m", res_m)) / res_m)))
    ddv = l2a_optional.ddv_on_grid(work.get("ddv"), k, scl.shape)
    cls = l2a_optional.ddv_class_map(scl, ddv)
    writer.qi(DDV_MASK_KIND, res_m, cls)
    for res, f in downsampled.items():
        writer.qi(DDV_MASK_KIND, res, block_mean_dn(cls, f, nodata="none"))


def _upsampled_dn(dn: np.ndarray, factor: int, nodata: np.ndarray, scl: np.ndarray) -> np.ndarray:
    """A coarser encoded map on the finer grid (nearest), 0 where the finer grid has no data or SCL <= 1."""
    out = np.ascontiguousarray(upsample_nearest(dn, factor)[: nodata.shape[0], : nodata.shape[1]])
    out[nodata | (scl <= 1)] = 0
    return out


def _flat_ground(settings) -> tuple[float, str]:
    """(height km, its source) of the flat ground assumed without DEM terrain: the L2A_GIPP
    Calibration/Altitude (also the height ``load_tile_aux`` hands the aux data for their flat DEM)."""
    return float(settings.altitude_km), "L2A_GIPP Calibration/Altitude"


def _terrain(aux, settings, product: L1CProduct, res_m: int, upsample_from=None):
    """Elevation (km, array or the GIPP Altitude) and terrain fields when DEM_Terrain_Correction is on.

    ``upsample_from``: (the base run's elevation, the factor to this grid, the base run's cast shadows or None)
    for a refined run, whose cast shadows are the base run's up-sampled as Sen2Cor 3 makes them."""
    if aux is None or aux.dem is None or aux.dem.is_flat:
        return _flat_ground(settings)[0], None
    if upsample_from is not None:
        z, factor, cast_base = upsample_from
        shape = product.geopositions[res_m].nrows, product.geopositions[res_m].ncols
        # the elevation handed to the correction is made by row blocks where it reads it (NearestRows: no
        # full-size float32 copy through the 10 m run, 0.5 GB on a full tile); the terrain fields read its rows
        # too, in metres (a DEM with no-data: the whole grid once, for the NaN-safe slopes)
        z10 = _grids.NearestRows(z, factor, shape)
        if not settings.dem_terrain_correction:
            return z10, None
        cast = None if cast_base is None else refined_cast_shadow(cast_base, factor, shape)
        if np.isfinite(z10.coarse).all():
            # slope and aspect block by block where the correction reads them, from the heights' rows (the same
            # float32 metres as z10 * 1000 of the whole grid): no 10 m slope/aspect images
            m = np.float32(1000.0)
            p2p = peak_to_peak_m(z10.coarse * m)
            return z10, terrain_fields_by_rows(lambda h0, h1: z10.rows(h0, h1) * m, shape[0], res_m, p2p, cast)
        z10_m = z10.full()
        z10_m *= np.float32(1000.0)
        return z10, terrain_fields(z10_m, res_m, product.angles.mean_sun_zenith,
                                   product.angles.mean_sun_azimuth, cast_shadows=cast_base is not None,
                                   cast_shadow=cast)
    z_km = (aux.dem.height_m / 1000.0).astype(np.float32)
    if not settings.dem_terrain_correction:
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
