"""The tile loop: read TOA, classify, correct, write the L2A images, driven by the sensor and the plan.

The sensor description (:mod:`sen2cor3.sensors`) says which bands are read and which role each plays; the
resolution plan (:mod:`sen2cor3.plan`) says which grid is classified and corrected (the base run) and what is
derived from it (Sentinel-2: 60 m by block means, 10 m re-using the 20 m retrieval; Hyper MS and Landsat: a
single 30 m pass). This module hands pixels to the science packages (``sc``, ``ac``), which never see files.
"""
from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from sen2cor3.blocks import block_mean_dn
from sen2cor3.heap import release_free_memory
from sen2cor3.io import report
from sen2cor3.io.writers import extension, image_format, write_raster
from sen2cor3.readers import reader_for
from sen2cor3.readers.toa_store import ToaBands
from sen2cor3.products import l2a_optional
from sen2cor3.products.l2a import L2AProduct
from sen2cor3.products.naming import DDV_MASK_KIND
from sen2cor3.plan import ResolutionPlan
from sen2cor3.products.model import L1CProduct
from sen2cor3.sc import classify, scl_percentages
from sen2cor3.sc.masks import downsample_scl_20_to_60, upsample_nearest

log = logging.getLogger("sen2cor3.processing")


@dataclass
class OutputOptions:
    """How images are written (the --tif / --raw / --sc_cog flags) and which optional layers (L2A_GIPP
    ``Generate_TCI_Output``, ``Generate_DEM_Output``, ``Generate_DDV_Output``)."""
    tif: bool = False
    raw: bool = False
    sc_cog: bool = False
    sc_only: bool = False
    tci: bool = True
    dem: bool = False
    ddv: bool = False


@dataclass
class TileResults:
    """What the runs produce and the finaliser records: files written and the QI values."""
    files: list[Path] = field(default_factory=list)
    qi: dict = field(default_factory=dict)
    aux_info: dict = field(default_factory=dict)


def read_toa(product: L1CProduct, bands: tuple[str, ...], resolution_m: int,
             qi_cache: dict | None = None, keep_native=None, prefetch=None,
             spill_dir: Path | None = None) -> tuple[ToaBands, np.ndarray, np.ndarray]:
    """TOA reflectance (float32) of ``bands`` on the ``resolution_m`` grid, the no-data and saturated masks.

    The bands come as a :class:`~sen2cor3.readers.toa_store.ToaBands`: held as DN, converted by the reader where
    a step reads them (half the memory of float32 bands; the values are the same); with ``spill_dir`` (a staging
    folder) the DN wait in files there, read back by rows.

    No-data: DN 0 in any band (Sen2Cor) or the L1C NODATA layer; saturated: DN 65535 or the L1C quality
    layers (lost/degraded/defective/saturated). ``qi_cache`` keeps the coarse quality masks between the
    20 m and 10 m runs (:func:`~sen2cor3.products.l1c.read_qi_masks`). ``keep_native``: a
    :class:`~sen2cor3.io.scratch.ScratchArrays` that receives, under ``"<band>_<res>m"``, the native DN of
    the bands averaged from a finer grid (the 10 m run reuses them instead of decoding them again).
    ``prefetch``: a :class:`~sen2cor3.io.background.Prefetcher` that decodes the quality masks (one core,
    glymur) while the bands are decoded here."""
    rd = reader_for(product)
    toa, nodata, saturated = ToaBands(lambda name, dn: rd.toa(product, name, dn), spill_dir), None, None
    qi_layers = ("nodata", "saturated_defective")
    if prefetch is not None:
        prefetch.start(("qi", resolution_m), rd.read_qi_masks, product, resolution_m, layers=qi_layers,
                       native_cache=qi_cache)
    for name in bands:
        sink = None
        if keep_native is not None and product.bands[name].resolution_m < resolution_m:
            def sink(dn_native, key=f"{name}_{product.bands[name].resolution_m}m"):
                keep_native.put(key, dn_native)
        dn = rd.read_band(product, name, resolution_m, native_sink=sink)
        zero = dn == product.nodata_value
        sat = dn == product.saturated_value
        nodata = zero if nodata is None else (nodata | zero)
        saturated = sat if saturated is None else (saturated | sat)
        toa.put_dn(name, dn)                     # converted where a step reads it (readers.toa_store)
        del dn
    masks = (prefetch.get(("qi", resolution_m)) if prefetch is not None
             else rd.read_qi_masks(product, resolution_m, layers=qi_layers, native_cache=qi_cache))
    if masks:
        nodata |= masks.get("nodata", False)
        saturated |= masks.get("saturated_defective", False)
    return toa, nodata, saturated


def geometry(product: L1CProduct, resolution_m: int) -> dict[str, float]:
    """Tile-mean angles (degrees): Sen2Cor's classification uses one sun position per tile; the view angle of
    the NIR band (else red, else blue)."""
    roles = product.sensor.roles
    view_bands = [b for b in (roles.nir, roles.red, roles.blue) if b in product.angles.mean_view_zenith]
    vb = view_bands[0] if view_bands else next(iter(product.angles.mean_view_zenith), None)
    return {
        "sun_zenith_deg": product.angles.mean_sun_zenith,
        "sun_azimuth_deg": product.angles.mean_sun_azimuth,
        "view_zenith_deg": product.angles.mean_view_zenith.get(vb, 0.0) if vb else 0.0,
        "view_azimuth_deg": product.angles.mean_view_azimuth.get(vb, 0.0) if vb else 0.0,
    }


class TileWriter:
    """Writes L2A layers with the product's grid and the chosen formats, and records every file.

    With a :class:`~sen2cor3.io.background.BackgroundWriter` the encoding runs on its thread (overlapping
    the next band's correction); the caller must not modify an array after handing it over, and must
    ``close()`` (wait, raising a failed write) or ``abort()`` the background writer before the product is
    finished or removed."""

    def __init__(self, product: L1CProduct, l2a: L2AProduct, options: OutputOptions, results: TileResults,
                 background=None):
        self.product, self.l2a, self.options, self.results = product, l2a, options, results
        self.background = background

    def _fmt(self, is_scl: bool = False) -> str:
        o = self.options
        return image_format(tif=o.tif, raw=o.raw, sc_cog=o.sc_cog, is_scl=is_scl)

    def _geo(self, resolution_m: int):
        return self.product.geopositions[resolution_m].geotransform

    def _write(self, base: Path, data: np.ndarray, resolution_m: int, fmt: str, categorical: bool = False,
               layer: str = "", geotransform=None, nodata: float | None = None) -> Path:
        kwargs = dict(geotransform=geotransform or self._geo(resolution_m), epsg=self.product.epsg, fmt=fmt,
                      categorical=categorical)
        if nodata is not None:
            kwargs["nodata"] = nodata
        # the output format's own rules (Landsat: the full L1 grid around the processed window, GeoTIFF/LZW,
        # scale and offset); the Sentinel-2 SAFE keeps the arguments as they are
        data, kwargs = self.l2a.prepare_image(layer, data, kwargs)
        if self.background is None:
            return _write_logged(base, data, kwargs)
        self.background.submit(_write_logged, base, data, kwargs)
        return base.with_name(base.name + extension(kwargs["fmt"]))    # write_raster's final name

    def image(self, band: str, resolution_m: int, data: np.ndarray) -> Path:
        """One IMG_DATA layer (B.., AOT, WVP, SCL, TCI)."""
        path = self._write(self.l2a.image_path(band, resolution_m), data, resolution_m,
                           self._fmt(is_scl=band == "SCL"), categorical=band == "SCL", layer=band)
        self.results.files.append(path)
        return path

    def qi(self, kind: str, resolution_m: int, data: np.ndarray) -> Path:
        """A QI_DATA mask (MSK_CLDPRB / MSK_SNWPRB uint8 percent, MSK_DDVPXL uint8 classes); not an IMAGE_FILE."""
        fmt = self._fmt()
        return self._write(self.l2a.qi_path(kind, resolution_m), data, resolution_m, fmt, layer=kind,
                           nodata=self._optional_nodata(fmt) if kind == DDV_MASK_KIND else None)

    def dem(self, resolution_m: int, data: np.ndarray) -> Path:
        """The optional DEM output (AUX_DATA, uint16 metres + 10000), listed as an IMAGE_FILE as Sen2Cor does."""
        fmt = self._fmt()
        path = self._write(self.l2a.dem_path(resolution_m), data, resolution_m, fmt, layer="DEM",
                           nodata=self._optional_nodata(fmt))
        self.results.files.append(path)
        return path

    def _optional_nodata(self, fmt: str) -> int | None:
        """No-data tag of the SAFE's DEM/DDV GeoTIFFs: 0 (Sen2Cor 3 ``exportTifImage`` tags both; its JP2 and raw
        files carry none, nor do the Landsat ``_DEM``/``_DDV`` files of ``L2A_BandIO_Landsat``)."""
        return 0 if fmt == "GTiff" and isinstance(self.l2a, L2AProduct) else None

    def pvi(self, resolution_m: int, data: np.ndarray) -> Path | None:
        """The preview (QI_DATA, 3 x uint8 at 320 m) made from the ``resolution_m`` run; None for formats
        without one (Landsat: Sen2Cor 3 writes no preview)."""
        if not isinstance(self.l2a, L2AProduct):
            return None
        return self._write(self.l2a.pvi_path(), data, resolution_m, self._fmt(), layer="PVI",
                           geotransform=l2a_optional.pvi_geotransform(self._geo(resolution_m)))


def _write_logged(base: Path, data: np.ndarray, kwargs: dict) -> Path:
    path = write_raster(base, data, **kwargs)
    log.debug("written %s", path.name)
    return path


def classify_tile(product: L1CProduct, toa: dict, nodata: np.ndarray, saturated: np.ndarray, config,
                  resolution_m: int, classic: bool, aux=None):
    """Run the scene classification with the GIPP's thresholds on one resolution grid (DEM and ESA CCI maps
    from the aux data when present), with the roles of the product's sensor."""
    sensor = product.sensor
    cirrus = sensor.roles.cirrus
    dem = dem_sa = None
    esacci = {}
    if aux is not None:
        if aux.dem is not None and not aux.dem.is_flat:
            dem = aux.dem.height_m
            # the reader's slope/aspect: the same function on the same grid (as the correction's terrain fields)
            if aux.dem.slope_deg is not None and np.shape(aux.dem.slope_deg) == np.shape(dem):
                dem_sa = (aux.dem.slope_deg, aux.dem.aspect_deg)
        for key, cci in (("water_bodies", aux.water_bodies), ("land_cover", aux.landcover),
                         ("snow_condition", aux.snow_condition)):
            if cci is not None:
                esacci[key] = cci.data
    return classify(toa, nodata, saturated, **geometry(product, resolution_m), resolution_m=resolution_m,
                    thresholds=config.sc.thresholds, classificators=config.sc.classificators,
                    median_filter=config.l2a.scene_classification.median_filter, classic=classic,
                    dem=dem, esacci=esacci or None, qlt_mask_handling=config.l2a.common.handle_l1c_qlt_mask,
                    sensor=sensor.table_sensor, roles=sensor.roles, cirrus_native_m=_native_m(product, cirrus),
                    wv_column_gcm2=None if sensor.roles.wv_absorption else _wv_column(aux, config, product),
                    dem_slope_aspect_deg=dem_sa)


def _wv_column(aux, config, product: L1CProduct) -> float:
    """The water column (g/cm2 above the surface) the correction will use without a water-vapour band: the
    scene mean of CAMS tcwv, else the GIPP start value of the season (AC_Wv_Iter_Start_Summer/Winter)."""
    if aux is not None and aux.tcwv_gcm2 is not None and np.isfinite(aux.tcwv_gcm2).any():
        return float(np.nanmean(aux.tcwv_gcm2))
    from sen2cor3.ac.correct import choose_luts
    from sen2cor3.ac.settings import ac_settings
    from sen2cor3.atmcorr import tile_centre_latitude
    settings = ac_settings(config.l2a.atmospheric_correction, config.ac)
    lat = tile_centre_latitude(product, min(product.geopositions))
    season = choose_luts(settings, product.sensing_start.month, lat, None)[1]
    return float(settings.wv_iter_start_cm(season))


def _native_m(product: L1CProduct, band: str | None) -> float:
    """Native pixel of a band in this product (60 m for MSI B10, 30 m for Hyper MS); 60 when absent."""
    info = product.bands.get(band) if band else None
    return float(info.resolution_m) if info is not None else 60.0


#: GDAL block cache for the run (bytes) unless GDAL_CACHEMAX is set: whole-band JPEG 2000 reads never
#: revisit a tile, and GDAL's default (5 % of RAM) would add ~1 GB of resident cache on this machine.
GDAL_CACHE_BYTES = 256 * 1024 * 1024


def process_tile(product: L1CProduct, l2a: L2AProduct, config, *, plan: ResolutionPlan,
                 options: OutputOptions, classic: bool, scratch_dir: Path | None = None) -> TileResults:
    """Run the plan in Sen2Cor's order and write the layers; returns files and QI values.

    Images are encoded on a background thread, so JPEG 2000 encoding overlaps the numpy work. The 10 m
    B02/B03/B04 that the 20 m run decodes to average them are parked in ``scratch_dir`` (a folder of the
    staging area; None: in memory) for the 10 m run instead of being decoded twice; what the 10 m run still
    needs (B08, the 10 m no-data mask) is decoded on the reader thread once the 20 m TOA is released
    (during the classification it raised the full-tile peak from 3.5 to 4.4 GB). The base run's input bands
    wait as DN files in ``scratch_dir/toa`` between the steps that read them (:mod:`sen2cor3.readers.toa_store`).
    """
    import os
    from osgeo import gdal
    from sen2cor3.io.background import BackgroundWriter, Prefetcher
    if not os.environ.get("GDAL_CACHEMAX"):
        gdal.SetCacheMax(GDAL_CACHE_BYTES)
    results = TileResults()
    # one image waiting for the encoder: with the faster relief terms two 10 m bands stayed queued (+0.06 GB
    # on a 1/2 tile with a DEM), for no wall time (the encoder paces a 10 m run either way)
    background = BackgroundWriter(max_pending=1)
    prefetch = Prefetcher()
    writer = TileWriter(product, l2a, options, results, background)
    from sen2cor3.io.scratch import ScratchArrays
    scratch = ScratchArrays(scratch_dir) if (plan.refined and not options.sc_only) else None
    try:
        _process(product, config, plan, options, classic, results, writer, prefetch, l2a, scratch,
                 None if scratch_dir is None else scratch_dir / "toa")
        background.close()                       # every image on disk (a failed write raises here)
    except BaseException:
        prefetch.discard()
        background.abort()
        raise
    finally:
        prefetch.close()
        if scratch is not None:
            scratch.clear()
        if scratch_dir is not None:
            shutil.rmtree(scratch_dir / "toa", ignore_errors=True)
    return results


def _process(product, config, plan: ResolutionPlan, options, classic, results, writer, prefetch, l2a,
             scratch, toa_spill_dir: Path | None = None) -> None:
    base = plan.base_m
    qi_cache: dict = {}
    report.progress(5.0, f"Reading L1C bands at {base} m")
    toa, nodata, saturated = read_toa(product, classification_bands(product, classic), base, qi_cache=qi_cache,
                                      keep_native=scratch, prefetch=prefetch, spill_dir=toa_spill_dir)
    for layers in qi_cache.values():             # the 10 m run needs only the coarse no-data masks
        for name in [n for n in layers if n != "nodata"]:
            del layers[name]
    aux = load_tile_aux(product, config, base)
    report.progress(20.0, f"Scene classification at {base} m")
    sc = classify_tile(product, toa, nodata, saturated, config, base, classic, aux)
    del saturated
    release_free_memory()                        # the classification's temporaries
    for name in set(toa) - set(product.sensor.base_bands):    # read for the classification only
        del toa[name]
    results.qi.update(scl_percentages(sc.scl, config.sc.classificators))
    writer.image("SCL", base, sc.scl)
    writer.qi("MSK_CLDPRB", base, sc.cloud_prob)
    writer.qi("MSK_SNWPRB", base, sc.snow_prob)
    for res in plan.downsampled:                 # Sentinel-2: 60 m from the 20 m classification
        writer.image("SCL", res, downsample_scl_20_to_60(sc.scl))
        writer.qi("MSK_CLDPRB", res, block_mean_dn(sc.cloud_prob, plan.factor(res), nodata="none"))
        writer.qi("MSK_SNWPRB", res, block_mean_dn(sc.snow_prob, plan.factor(res), nodata="none"))
    # written (the writer holds them until encoded); the correction needs only the SCL: 2 bytes a pixel less
    sc = replace(sc, cloud_prob=None, snow_prob=None)
    if options.dem:
        write_dem(writer, product, aux, sc.scl, plan)
    if options.sc_only:
        results.qi.update(AC_ENABLED="FALSE", AOT_RETRIEVAL_METHOD="DEFAULT", WV_RETRIEVAL_METHOD="NA")
        # Sen2Cor 3 --sc_only: the preview from the TOA bands, and (Generate_DDV_Output) the DDV band as zeros:
        # no AOT retrieval ran (L2A_Tables.exportBandList sets it to zeros and exports it)
        write_toa_preview(writer, product, base, toa, nodata)
        if options.ddv and isinstance(l2a, L2AProduct):     # Landsat (BandIO_Landsat): only a DDV band made
            zeros = np.zeros(sc.scl.shape, np.uint8)
            writer.qi(DDV_MASK_KIND, base, zeros)
            for res in plan.downsampled:
                writer.qi(DDV_MASK_KIND, res, block_mean_dn(zeros, plan.factor(res), nodata="none"))
        return
    from sen2cor3 import atmcorr
    atmcorr.correct_tile(product, l2a, config, toa=toa, nodata=nodata, sc=sc, plan=plan, writer=writer,
                         results=results, options=options, aux=aux, prefetch=prefetch, qi_cache=qi_cache,
                         scratch=scratch)


def write_dem(writer: TileWriter, product: L1CProduct, aux, scl: np.ndarray, plan: ResolutionPlan) -> None:
    """``Generate_DEM_Output``: the DEM used by the run (``aux.dem``, on the base grid), uint16 metres + 10000
    (0 where SCL is 0), on every output grid: the base grid, its block means (60 m from 20 m, mean of the valid
    pixels + 0.5) and its nearest up-sampling (10 m, the DEM the 10 m correction uses). Nothing without a DEM
    (``DEM_Directory`` NONE or no tile read: Sen2Cor 3 skips the export; see :mod:`~sen2cor3.products.l2a_optional`)."""
    if aux is None or aux.dem is None or aux.dem.is_flat:
        log.info("Generate_DEM_Output is TRUE but no DEM was used (flat terrain): no DEM output")
        return
    base = plan.base_m
    dn = l2a_optional.dem_dn(aux.dem.height_m, scl)
    writer.dem(base, dn)
    for res in plan.downsampled:
        writer.dem(res, block_mean_dn(dn, plan.factor(res), nodata="ignore"))
    for res in plan.refined:
        g = product.geopositions[res]
        writer.dem(res, np.ascontiguousarray(upsample_nearest(dn, plan.factor(res))[: g.nrows, : g.ncols]))


def preview_shape(product: L1CProduct, resolution_m: int) -> tuple[int, int]:
    """Preview size: the ``resolution_m`` grid's extent at 320 m (343 x 343 for a full tile)."""
    g = product.geopositions[resolution_m]
    return l2a_optional.pvi_shape(g.nrows, g.ncols, resolution_m)


def write_toa_preview(writer: TileWriter, product: L1CProduct, resolution_m: int, toa: dict,
                      nodata: np.ndarray) -> None:
    """``--sc_only``: the preview from the TOA red, green and blue bands (Sen2Cor 3 makes it from the bands the
    run exports, TOA with --sc_only)."""
    order = product.sensor.tci_bands
    if not all(b in toa for b in order):
        return
    q = product.boa().quantification
    shape = preview_shape(product, resolution_m)
    rgb = np.empty((3,) + shape, np.uint8)
    for i, b in enumerate(order):
        t = toa[b]
        rgb[i] = l2a_optional.preview_channel(l2a_optional.rho_rows(t, nodata, q), t.shape, shape, q)
    writer.pvi(resolution_m, rgb)


def classification_bands(product: L1CProduct, classic: bool) -> tuple[str, ...]:
    """The bands of the base run: the sensor's, plus its broad NIR for the default (Sen2Cor 3) chain, whose
    cloud-height tracker compares it with the NIR (Sentinel-2: B08 averaged to 20/60 m, as Sen2Cor 3 reads it;
    the 10 m run re-uses the decoded B08)."""
    bands = product.sensor.base_bands
    extra = product.sensor.roles.nir_broad
    if not classic and extra and extra in product.bands and extra not in bands:
        return bands + (extra,)
    return bands


def load_tile_aux(product: L1CProduct, config, resolution_m: int):
    """CAMS, DEM and ESA CCI on the tile grid (never fails but for Force_Exit_On_DEM_Error)."""
    from sen2cor3.auxdata import AuxDataError, load_aux
    common = config.l2a.common
    try:
        return load_aux(None, product.epsg, product.geopositions[resolution_m], product.sensing_start,
                        dem_directory=common.dem_directory, dem_reference=common.dem_reference,
                        force_exit_on_dem_error=common.force_exit_on_dem_error, l1c_aux_paths=product.aux_paths,
                        cci_names=config.sc.references,
                        mean_elevation_m=1000.0 * config.l2a.atmospheric_correction.calibration.altitude,
                        ozone_content=config.l2a.atmospheric_correction.look_up_tables.ozone_content,
                        cams_factor=max(1, 1200 // resolution_m))
    except AuxDataError as exc:
        from sen2cor3.errors import ProcessingError
        raise ProcessingError(str(exc)) from exc


__all__ = ["OutputOptions", "TileResults", "TileWriter", "classify_tile", "preview_shape", "process_tile",
           "read_toa", "upsample_nearest", "write_dem", "write_toa_preview"]
