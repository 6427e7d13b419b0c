"""One way to write every L2A image, in the four formats Sen2Cor 3 can produce.

Formats and their command-line switches (``L2A_Process.py``, sen2cor_reference.md §1.1/§3.1):

* ``JP2`` (default): lossless JPEG 2000 (GDAL JP2OpenJPEG, REVERSIBLE=YES, QUALITY=100) with GMLJP2 *and* GeoJP2
  boxes, so GDAL and other readers get CRS and geotransform exactly as from ESA's L2A files. Tiles per
  resolution as Sen2Cor's JP2 writer: 10 m 1024, 20 m 640, 60 m 192 (sen2cor_reference.md §3.2; a real PB 04.00
  L2A in data/stactools-s2-l2a-T29UNU has 1024/640/192 blocks at 10/20/60 m) and 5 resolution levels like
  those files (GDAL alone would give only 2 at 60 m). Code-blocks stay at GDAL's 64x64 (Sen2Cor 2.8's
  4x4/8x8 code-blocks at 60/20 m only cost speed and size), coded with the selective arithmetic-coding
  bypass (``CODEBLOCK_STYLE=BYPASS``, JPEG 2000 Part 1 "lazy" mode, read by every decoder): measured on a
  5490^2 band, -32 % encoding CPU for +8 % file size, pixels identical (lossless either way); it is
  roughly a quarter of a full tile's encoding time.
* ``GTiff`` (``--tif``): tiled 512x512 GeoTIFF, DEFLATE + horizontal predictor, multi-threaded.
* ``COG`` (``--sc_cog``, SCL only): GDAL COG driver, DEFLATE + predictor, 512 blocks, internal overviews
  resampled with MODE for class maps (as Sen2Cor 3's CogConverter does for SCL) and AVERAGE otherwise.
* ``LandsatTIF`` (every Landsat L2 image, whatever the switches, as Sen2Cor 3's ``L2A_BandIO_Landsat``):
  striped GeoTIFF with LZW compression and the upper-case ``.TIF`` extension of USGS products; band scale and
  offset set where given (the BOA bands carry the L1 rescaling, AOT/WVP 0.001).
* ``ENVI`` (``--raw``): raw band-sequential data with extension ``.rawl`` and an ENVI ``.hdr``
  (Sen2Cor's L2A_Tables sets ``.rawl`` for ``config.raw``; sen2cor_reference.md §1.1). GDAL's ENVI driver
  accepts the ``.rawl`` name and writes the header as ``<stem>.hdr`` (the extension is replaced, checked with
  GDAL 3.6.2), with map info, CRS, band names and "data ignore value". SPEC.md's ``.img`` is the summary's
  wording; the detailed reference wins. Sen2Cor also puts a ``.gml`` geo header copied from the L1C JP2's
  GMLJP2 box next to the file: pass it as ``gml=jp2_gml(l1c_band_jp2)``.

Every file is written under a hidden temporary name in the destination folder and renamed with
:func:`os.replace` only when GDAL has closed it, so a crash never leaves a truncated image under the final
name. The numpy array is handed to GDAL through a MEM dataset that points at its buffer (no copy).
"""
from __future__ import annotations

import logging
import math
import os
import uuid
from pathlib import Path
from collections.abc import Sequence

import numpy as np
from osgeo import gdal, gdal_array, osr

from .raster import RasterError, gdal_config, gdal_threads, open_dataset

__all__ = ["FORMATS", "JP2_TILE_SIZE", "cog_problems", "extension", "image_format", "is_valid_cog",
           "jp2_gml", "jp2_tile_size", "write_raster"]

log = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = ("JP2", "GTiff", "COG", "ENVI", "LandsatTIF")
_EXTENSION = {"JP2": ".jp2", "GTiff": ".tif", "COG": ".tif", "ENVI": ".rawl", "LandsatTIF": ".TIF"}
#: JPEG 2000 tile side per resolution (m), as Sen2Cor writes them.
JP2_TILE_SIZE: dict[int, int] = {10: 1024, 20: 640, 60: 192}
#: JPEG 2000 resolution levels: real PB 04.00 L2A JP2s (data/stactools-s2-l2a-T29UNU) have 5 at 10/20/60 m.
JP2_RESOLUTIONS = 5
_TIFF_BLOCK = 512


def _check_format(fmt: str) -> str:
    if fmt not in _EXTENSION:
        raise ValueError(f"unknown image format {fmt!r}; use one of {FORMATS}")
    return fmt


def extension(fmt: str) -> str:
    """File extension (with the dot) of an image format: .jp2, .tif or .rawl."""
    return _EXTENSION[_check_format(fmt)]


def image_format(tif: bool = False, raw: bool = False, sc_cog: bool = False, is_scl: bool = False) -> str:
    """Format of one image from the CLI switches.

    ``--tif`` / ``--raw`` change every image, ``--sc_cog`` only the SCL (and wins for it, being the more
    specific request). ``--raw`` wins over ``--tif`` when both are given.
    """
    if sc_cog and is_scl:
        return "COG"
    if raw:
        return "ENVI"
    if tif:
        return "GTiff"
    return "JP2"


def jp2_tile_size(resolution_m: float) -> int:
    """Sen2Cor's JP2 tile side for a pixel size (1024 for resolutions it does not list, e.g. 30 m)."""
    return JP2_TILE_SIZE.get(int(round(abs(resolution_m))), 1024)


def jp2_gml(path: str | os.PathLike) -> str | None:
    """The GMLJP2 box (``xml:gml.root-instance``) of a JP2, for the ``--raw`` ``.gml`` side file."""
    md = open_dataset(path).GetMetadata("xml:gml.root-instance")
    return md[0] if md else None


def _as_bands(data: np.ndarray) -> np.ndarray:
    """View the array as (bands, rows, cols) in a dtype GDAL knows, copying only when GDAL would need it."""
    if data.dtype == np.bool_:
        data = data.view(np.uint8)
    if not data.dtype.isnative:
        data = data.astype(data.dtype.newbyteorder("="))
    if data.ndim == 2:
        data = data[np.newaxis]
    if data.ndim != 3 or 0 in data.shape:
        raise ValueError(f"expected a 2-D or (bands, rows, cols) array, got shape {data.shape}")
    if any(s < 0 for s in data.strides):
        data = np.ascontiguousarray(data)
    if gdal_array.NumericTypeCodeToGDALTypeCode(data.dtype) is None:
        raise ValueError(f"GDAL cannot store dtype {data.dtype}")
    return data


def _mem_dataset(data: np.ndarray, geotransform: Sequence[float], epsg: int, nodata: float | None,
                 band_names: Sequence[str] | None, scale: float | None = None,
                 offset: float | None = None) -> gdal.Dataset:
    """A GDAL MEM dataset over ``data``'s own buffer, georeferenced (the array must outlive it)."""
    src = gdal_array.OpenArray(data)
    if src is None:
        raise RasterError(f"GDAL cannot wrap the array ({gdal.GetLastErrorMsg()})")
    src.SetGeoTransform(tuple(float(v) for v in geotransform))
    srs = osr.SpatialReference()
    if srs.ImportFromEPSG(int(epsg)) != 0:
        raise ValueError(f"unknown EPSG code {epsg}")
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    src.SetSpatialRef(srs)
    nbands = data.shape[0]
    if band_names is not None and len(band_names) != nbands:
        raise ValueError(f"{len(band_names)} band names for {nbands} bands")
    rgb = nbands == 3 and data.dtype == np.uint8
    for i in range(nbands):
        band = src.GetRasterBand(i + 1)
        if nodata is not None:
            band.SetNoDataValue(float(nodata))
        if scale is not None:
            band.SetScale(float(scale))
        if offset is not None:
            band.SetOffset(float(offset))
        if band_names is not None:
            band.SetDescription(str(band_names[i]))
        if rgb:
            band.SetColorInterpretation(gdal.GCI_RedBand + i)
    return src


def _creation(fmt: str, data: np.ndarray, geotransform: Sequence[float], threads: str,
              categorical: bool, block: int | None) -> tuple[str, list[str], dict[str, str]]:
    """GDAL driver, creation options and thread-local config options for one format."""
    nbands, nrows, ncols = data.shape
    if fmt == "JP2":
        tile = max(32, block or jp2_tile_size(geotransform[1]))   # GDAL refuses tiles < 32, clamps to the image
        # 5 resolution levels like ESA's L2A JP2s (4 overviews); GDAL lowers it itself for tiny images.
        opts = ["CODEC=JP2", "REVERSIBLE=YES", "QUALITY=100", "GMLJP2=YES", "GeoJP2=YES", "CODEBLOCK_STYLE=BYPASS",
                f"BLOCKXSIZE={tile}", f"BLOCKYSIZE={tile}", f"RESOLUTIONS={JP2_RESOLUTIONS}"]
        return "JP2OpenJPEG", opts, {"GDAL_NUM_THREADS": threads, "GDAL_PAM_ENABLED": "NO"}
    tiff_common = ["COMPRESS=DEFLATE", f"NUM_THREADS={threads}", "BIGTIFF=IF_SAFER"]
    if fmt == "GTiff":
        opts = ["TILED=YES", f"BLOCKXSIZE={block or _TIFF_BLOCK}", f"BLOCKYSIZE={block or _TIFF_BLOCK}",
                "PREDICTOR=2", *tiff_common]
        if nbands == 3 and data.dtype == np.uint8:
            opts.append("PHOTOMETRIC=RGB")
        return "GTiff", opts, {"GDAL_PAM_ENABLED": "NO"}
    if fmt == "LandsatTIF":
        opts = ["COMPRESS=LZW", f"NUM_THREADS={threads}", "BIGTIFF=IF_SAFER"]
        if nbands == 3 and data.dtype == np.uint8:
            opts.append("PHOTOMETRIC=RGB")
        return "GTiff", opts, {"GDAL_PAM_ENABLED": "NO"}
    if fmt == "COG":
        opts = [f"BLOCKSIZE={block or _TIFF_BLOCK}", "PREDICTOR=YES",
                f"RESAMPLING={'MODE' if categorical else 'AVERAGE'}", *tiff_common]
        return "COG", opts, {"GDAL_PAM_ENABLED": "NO"}
    return "ENVI", ["INTERLEAVE=BSQ"], {"GDAL_PAM_ENABLED": "NO"}


def _cleanup(folder: Path, prefix: str) -> None:
    for p in folder.glob(prefix + "*"):
        try:
            p.unlink()
        except OSError:
            pass


def write_raster(path_without_ext: str | os.PathLike, data: np.ndarray, *,
                 geotransform: Sequence[float], epsg: int, fmt: str = "JP2", nodata: float | None = None,
                 band_names: Sequence[str] | None = None, threads: int | None = None,
                 categorical: bool = False, block: int | None = None, gml: str | None = None,
                 scale: float | None = None, offset: float | None = None) -> Path:
    """Write ``data`` (2-D, or bands x rows x cols) as one georeferenced image and return its final path.

    The extension is appended from ``fmt`` (:func:`extension`). ``nodata`` is stored where the format can
    (GeoTIFF/COG tag, ENVI "data ignore value"; ESA's JP2s carry none, the metadata states NODATA=0).
    ``categorical`` marks class maps such as SCL (COG overviews by MODE). ``block`` overrides the tile size.
    ``gml`` (ENVI only) is written as the ``.gml`` side file. ``threads``: None = all CPUs. ``scale``/``offset``:
    the band metadata that turns DN into physical values (GeoTIFF).
    """
    fmt = _check_format(fmt)
    bands = _as_bands(np.asarray(data))
    if len(geotransform) != 6 or not all(math.isfinite(float(v)) for v in geotransform):
        raise ValueError(f"bad geotransform {geotransform!r}")
    base = Path(path_without_ext)
    final = base.with_name(base.name + extension(fmt))
    folder = final.parent
    folder.mkdir(parents=True, exist_ok=True)
    prefix = f".{base.name}.{uuid.uuid4().hex[:8]}.part"
    tmp = folder / (prefix + extension(fmt))
    driver_name, options, config = _creation(fmt, bands, geotransform, gdal_threads(threads), categorical, block)
    errors: list[str] = []

    def _handler(err_class: int, err_no: int, msg: str) -> None:
        if err_class >= gdal.CE_Failure:
            errors.append(msg.strip())
        else:
            log.debug("GDAL warning writing %s: %s", final.name, msg.strip())

    src = _mem_dataset(bands, geotransform, epsg, nodata, band_names, scale, offset)
    try:
        gdal.PushErrorHandler(_handler)
        try:
            with gdal_config(**config):
                try:
                    out = gdal.GetDriverByName(driver_name).CreateCopy(str(tmp), src, 0, options)
                except RuntimeError as exc:       # gdal.UseExceptions() set by someone else
                    out = None
                    errors.append(str(exc).strip())
                if out is not None:
                    out.FlushCache()
                    out = None                    # closing finishes the file (JP2 codestream, COG layout)
        finally:
            gdal.PopErrorHandler()
        if errors or not tmp.exists():
            raise RasterError(f"{final}: {driver_name} write failed ({errors[0] if errors else 'no file'})")
        if fmt == "ENVI":
            _finish_envi(folder, prefix, tmp.name, final, gml)
        os.replace(tmp, final)                    # data file last: its presence means the set is complete
    except BaseException:
        _cleanup(folder, prefix)
        raise
    finally:
        src = None
    log.debug("wrote %s (%s, %s, %s)", final, fmt, bands.dtype, "x".join(map(str, bands.shape)))
    return final


def _finish_envi(folder: Path, prefix: str, tmp_name: str, final: Path, gml: str | None) -> None:
    """Move the ENVI header (and optional .gml) to their final names before the data file."""
    tmp_hdr = folder / (prefix + ".hdr")
    if not tmp_hdr.exists():
        raise RasterError(f"{final}: GDAL wrote no ENVI header")
    text = tmp_hdr.read_text(encoding="latin-1")
    # GDAL writes the file name as the header's "description"; give it the final name, not the temp one.
    tmp_hdr.write_text(text.replace(tmp_name, final.name), encoding="latin-1")
    os.replace(tmp_hdr, final.with_suffix(".hdr"))
    if gml is not None:
        tmp_gml = folder / (prefix + ".gml")
        tmp_gml.write_text(gml, encoding="utf-8")
        os.replace(tmp_gml, final.with_suffix(".gml"))


def cog_problems(path: str | os.PathLike) -> list[str]:
    """Why a file is not a Cloud-Optimised GeoTIFF (empty list: it is one).

    Rules: GDAL's own validate_cloud_optimized_geotiff (IFDs before data, overview IFD and data order,
    internal overviews) when osgeo_utils is installed, else GDAL's structural ``LAYOUT=COG`` marker; plus
    tiling, and overviews whenever the image is larger than one block.
    """
    try:
        ds = open_dataset(path)
    except RasterError as exc:
        return [str(exc)]
    if ds.GetDriver().ShortName != "GTiff":
        return [f"not a GeoTIFF (GDAL driver {ds.GetDriver().ShortName})"]
    problems: list[str] = []
    try:
        from osgeo_utils.samples.validate_cloud_optimized_geotiff import validate
    except ImportError:
        if ds.GetMetadataItem("LAYOUT", "IMAGE_STRUCTURE") != "COG":
            problems.append("no GDAL LAYOUT=COG structural metadata")
    else:
        gdal.PushErrorHandler("CPLQuietErrorHandler")
        try:
            _warnings, errors, _details = validate(ds, check_tiled=True, full_check=False)
            problems += errors
        except Exception as exc:                  # the validator raises its own exception class
            problems.append(str(exc))
        finally:
            gdal.PopErrorHandler()
    band = ds.GetRasterBand(1)
    bx, by = band.GetBlockSize()
    if bx == ds.RasterXSize and by != bx:        # strips: full-width blocks of a few rows
        problems.append(f"not tiled (strips of {bx}x{by})")
    elif (ds.RasterXSize > bx or ds.RasterYSize > by) and band.GetOverviewCount() == 0:
        problems.append(f"no internal overviews although larger than one {bx}x{by} block")
    return problems


def is_valid_cog(path: str | os.PathLike) -> bool:
    """True when ``path`` is a valid Cloud-Optimised GeoTIFF (see :func:`cog_problems`)."""
    return not cog_problems(path)
