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
from sen2cor3.ac.correct import AcResult, Geometry, choose_luts, correct_resolution, terrain_fields
from sen2cor3.io import report
from sen2cor3.products import naming
from sen2cor3.products.model import L1CProduct
from sen2cor3.sc.masks import upsample_nearest

log = logging.getLogger("sen2cor3.atmcorr")

#: Sensor key of the radiative-transfer tables for each mission id (Hyper MS bands are MSI bands).
TABLE_SENSOR = {"S2A": "S2A", "S2B": "S2B", "S2C": "S2C", "S2D": "S2C", "S2P": "S2A"}


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


def _write_resolution(writer, product: L1CProduct, res_m: int, ac: AcResult, scl: np.ndarray,
                      bands: tuple[str, ...], tci: bool) -> dict[str, np.ndarray]:
    """Encode and write one resolution's BOA bands, AOT, WVP and TCI; return the encoded BOA DN."""
    offset = product.has_radiometric_offset
    dn = {}
    for b in bands:
        dn[b] = encode.boa_dn(ac.boa[b], nodata=ac.nodata, scl=scl, offset=offset)
        writer.image(b, res_m, dn[b])
    writer.image("AOT", res_m, encode.aot_dn(ac.aot, nodata=ac.nodata, scl=scl))
    writer.image("WVP", res_m, encode.wvp_dn(ac.wv, nodata=ac.nodata, scl=scl))
    if tci and all(b in ac.boa for b in ("B04", "B03", "B02")):
        writer.image("TCI", res_m, encode.tci(ac.boa["B04"], ac.boa["B03"], ac.boa["B02"], nodata=ac.nodata, scl=scl))
    return dn


def _tci_from_dn(dn: dict[str, np.ndarray], offset: bool) -> np.ndarray:
    return encode.tci(*(encode.boa_rho(dn[b], offset) for b in ("B04", "B03", "B02")))


def correct_tile(product: L1CProduct, l2a, config, *, toa: dict, nodata: np.ndarray, sc, base_resolution: int,
                 resolutions: tuple[int, ...], writer, results, options, aux=None) -> None:
    """Correct the base resolution (20 or 60 m), then 60 m by downsampling and 10 m, writing every layer."""
    from sen2cor3.processing import BANDS_10M, read_toa  # shared helpers of the tile stage

    ac_cfg = config.l2a.atmospheric_correction
    lat = tile_centre_latitude(product, base_resolution)
    aerosol, season, ozone = choose_luts(ac_cfg.look_up_tables, product.sensing_start.month, lat,
                                         aux.ozone_du if aux is not None else None)
    sensor = TABLE_SENSOR.get(product.mission_id, "S2A")
    geom = geometry_of(product)
    elevation_km, dem_fields = _terrain(aux, config, product, base_resolution)
    report.progress(35.0, f"Atmospheric correction at {base_resolution} m")
    log.info("AC: sensor %s, aerosol %s, %s, ozone %.0f DU", sensor, aerosol, season, ozone)
    ac = correct_resolution(toa, nodata, sc.scl, geom, elevation_km, ac_cfg, config.ac, sensor, base_resolution,
                            cams=_cams_inputs(aux), dem_fields=dem_fields, aerosol=aerosol, season=season,
                            ozone_du=ozone)
    out_bands = tuple(b for b in naming.L2A_BANDS[base_resolution] if b.startswith("B"))
    report.progress(55.0, f"Writing {base_resolution} m images")
    dn = _write_resolution(writer, product, base_resolution, ac, sc.scl, out_bands, options.tci)
    offset = product.has_radiometric_offset
    results.qi.update(_qi_values(ac, aux, aerosol, season, ozone, sensor))

    if base_resolution == 20 and 60 in resolutions:
        report.progress(65.0, "Downsampling 20 m results to 60 m")
        bands60 = tuple(b for b in naming.L2A_BANDS[60] if b.startswith("B"))
        for b in bands60:
            src = dn[b] if b in dn else encode.boa_dn(ac.boa[b], nodata=ac.nodata, scl=sc.scl, offset=offset)
            writer.image(b, 60, _block_mean_dn(src))
        writer.image("AOT", 60, _block_mean_dn(encode.aot_dn(ac.aot, nodata=ac.nodata, scl=sc.scl)))
        writer.image("WVP", 60, _block_mean_dn(encode.wvp_dn(ac.wv, nodata=ac.nodata, scl=sc.scl)))
        if options.tci:
            writer.image("TCI", 60, _tci_from_dn({b: _block_mean_dn(dn[b]) for b in ("B04", "B03", "B02")}, offset))
    del dn

    if 10 in resolutions:
        report.progress(70.0, "Reading L1C bands at 10 m")
        toa10, nodata10, _ = read_toa(product, BANDS_10M, 10)
        factor = base_resolution // 10
        scl10 = upsample_nearest(sc.scl, factor)[: nodata10.shape[0], : nodata10.shape[1]]
        elev10, dem10 = _terrain(aux, config, product, 10, upsample_from=(elevation_km, factor), dem_base=dem_fields)
        report.progress(75.0, "Atmospheric correction at 10 m")
        ac10 = correct_resolution(toa10, nodata10, scl10, geom, elev10, ac_cfg, config.ac, sensor, 10,
                                  cams=_cams_inputs(aux), dem_fields=dem10, aerosol=aerosol, season=season,
                                  ozone_du=ozone, prior=ac)
        del toa10
        report.progress(85.0, "Writing 10 m images")
        _write_resolution(writer, product, 10, ac10, scl10, tuple(b for b in naming.L2A_BANDS[10] if b.startswith("B")),
                          options.tci)


def _block_mean_dn(a: np.ndarray) -> np.ndarray:
    """Sen2Cor's 20 -> 60 m block mean on encoded uint16 images; a block with any no-data pixel keeps the mean
    of its valid pixels, an all-no-data block stays 0."""
    r, c = a.shape[0] // 3 * 3, a.shape[1] // 3 * 3
    blocks = a[:r, :c].reshape(r // 3, 3, c // 3, 3).astype(np.float32)
    valid = blocks > 0
    n = valid.sum(axis=(1, 3))
    s = np.where(valid, blocks, 0).sum(axis=(1, 3))
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
                                product.angles.mean_sun_azimuth)


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
