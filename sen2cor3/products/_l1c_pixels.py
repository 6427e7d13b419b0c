"""Pixel access for an opened L1C product: DN bands at any resolution, QI masks, DN -> TOA reflectance.

Private module: import these names from :mod:`sen2cor3.products.l1c` (which re-exports them).
Reads go through GDAL (``sen2cor3.io.raster``) window by window, so a full 10980^2 tile never needs to be in
memory. Downsampling is GDAL's block average (Sen2Cor: 10 -> 20/60 m by block mean); upsampling resamples at
the exact target pixel centres with scipy (bilinear by default; Sen2Cor uses bilinear for B09/B10 60 -> 20 m
and bicubic for the others, pass ``resample="cubic"`` for that).
"""
from __future__ import annotations

import math
import os

import numpy as np
from osgeo import gdal
from scipy import ndimage

from sen2cor3.io.raster import RasterError, Window, gdal_config, gdal_threads, open_dataset, read_window

from sen2cor3.errors import L1CError
from sen2cor3.blocks import block_mean_dn as _block_mean_dn

from .model import BandInfo, L1CProduct

__all__ = ["QUALIT_LAYERS", "toa_reflectance", "read_band", "read_qi_masks", "has_raster_qi_masks",
           "target_shape"]

#: The 8 one-bit layers (JP2 bands 1..8) of MSK_QUALIT_Bxx.jp2 (PB >= 04.00), in file order. Checked against
#: ESA's data-quality-report description as quoted by NASA HLS (hls-sentinel2 quality-mask tooling).
QUALIT_LAYERS: tuple[str, ...] = ("anc_lost", "anc_deg", "msi_lost", "msi_deg", "defective", "nodata",
                                  "partially_corrected", "saturated")
#: Layers that make a pixel unusable for Sen2Cor's SCL 1 (SATURATED_OR_DEFECTIVE).
_SAT_DEF = ("anc_lost", "msi_lost", "defective", "saturated")
_ORDER = {"nearest": 0, "bilinear": 1, "cubic": 3}


def toa_reflectance(dn: np.ndarray, band: BandInfo, quantification_value: float,
                    nodata: float = np.nan) -> np.ndarray:
    """TOA reflectance (float32) = (DN + RADIO_ADD_OFFSET) / QUANTIFICATION_VALUE.

    DN 0 is L1C no-data and becomes ``nodata`` (NaN by default) so it can never pass for a dark pixel
    after the -1000 offset; callers that need the mask should take it from ``dn == 0`` before converting.
    Saturated DN (65535) is converted like any other value.
    """
    dn = np.asarray(dn)
    out = dn.astype(np.float32)                   # in place from here: one full-size float32 array
    out += np.float32(band.radio_add_offset)
    out /= np.float32(quantification_value)
    np.copyto(out, np.float32(nodata), where=dn == 0)
    return out


def _native_res(product: L1CProduct, name: str) -> int:
    if name == "TCI":
        return 30 if product.is_hyper_ms else 10
    if name not in product.bands:
        raise L1CError(f"{product.mtd_product_path}: unknown band {name!r}")
    return product.bands[name].resolution_m


def target_shape(product: L1CProduct, resolution_m: int) -> tuple[int, int]:
    """(rows, cols) of the tile grid at ``resolution_m`` (from MTD_TL, else scaled from the finest grid)."""
    if resolution_m in product.geopositions:
        g = product.geopositions[resolution_m]
        return g.nrows, g.ncols
    res0 = min(product.geopositions)
    g = product.geopositions[res0]
    rows, cols = g.nrows * res0 / resolution_m, g.ncols * res0 / resolution_m
    if rows != int(rows) or cols != int(cols):
        raise L1CError(f"{product.mtd_tile_path}: {resolution_m} m does not divide the tile grid")
    return int(rows), int(cols)


def _read_multi(ds: gdal.Dataset, win: Window, out_shape: tuple[int, int], resample: str) -> np.ndarray:
    """All bands of a window as (bands, rows, cols); one decode per file instead of one per band."""
    alg = {"average": gdal.GRIORA_Average, "nearest": gdal.GRIORA_NearestNeighbour}[resample]
    gdal.PushErrorHandler("CPLQuietErrorHandler")
    try:
        with gdal_config(GDAL_NUM_THREADS=gdal_threads(None)):
            arr = ds.ReadAsArray(win.col_off, win.row_off, win.ncols, win.nrows, buf_xsize=out_shape[1],
                                 buf_ysize=out_shape[0], resample_alg=alg)
    except RuntimeError as exc:
        raise RasterError(f"{ds.GetDescription()}: cannot decode ({str(exc).strip()})") from None
    finally:
        gdal.PopErrorHandler()
    if arr is None:
        raise RasterError(f"{ds.GetDescription()}: cannot decode ({gdal.GetLastErrorMsg().strip()})")
    return arr.reshape((-1, *out_shape))


def block_mean_dn(full_res: np.ndarray, f: int) -> np.ndarray:
    """f x f block means of native pixels (integers: rounded half to even, a block touching DN 0 is no data)."""
    return _block_mean_dn(full_res, f, nodata="any")


def _resampled(path, native_m: float, target_m: float, window: Window | None, down: str, up: str,
               all_bands: bool = False, native_sink=None) -> np.ndarray:
    """Read band 1 (or all bands) of ``path`` on the tile grid at ``target_m`` (window in target pixels);
    ``native_sink(dn)`` receives the decoded native pixels of a block-averaged read (to keep them)."""
    ds = open_dataset(path)
    nrows, ncols = ds.RasterYSize, ds.RasterXSize
    scale = native_m / target_m                       # >1: upsampling
    full = (round(nrows * scale), round(ncols * scale))
    win = window or Window(0, 0, *full)
    if (win.row_off < 0 or win.col_off < 0 or win.row_off + win.nrows > full[0]
            or win.col_off + win.ncols > full[1]):
        raise RasterError(f"{path}: window {tuple(win)} outside the {full[0]}x{full[1]} grid at {target_m} m")
    if scale <= 1:
        f = target_m / native_m
        if f != int(f):
            raise RasterError(f"{path}: cannot average {native_m} m pixels to {target_m} m")
        f = int(f)
        src = Window(win.row_off * f, win.col_off * f, win.nrows * f, win.ncols * f)
        if all_bands:
            return _read_multi(ds, src, (win.nrows, win.ncols), "nearest" if down == "nearest" else "average")
        if down == "average" and f > 1:
            # A true f x f block mean of the decoded native pixels. GDAL asked for a smaller buffer reads the
            # JPEG 2000 resolution level instead: the wavelet low-pass (5/3 or 9/7 taps), not a block mean;
            # over 10 m field edges it differs from the 2x2 mean by ~110 DN RMS (0.011 in reflectance).
            full_res = read_window(ds, 1, src)
            if native_sink is not None:
                native_sink(full_res)
            return block_mean_dn(full_res, f)
        return read_window(ds, 1, src, out_shape=(win.nrows, win.ncols), resample=down)
    # upsampling: sample the native grid at the target pixel centres (native pixel coordinates)
    yy = (np.arange(win.row_off, win.row_off + win.nrows) + 0.5) / scale - 0.5
    xx = (np.arange(win.col_off, win.col_off + win.ncols) + 0.5) / scale - 0.5
    pad = 2
    r0, r1 = max(0, math.floor(yy[0]) - pad), min(nrows, math.ceil(yy[-1]) + pad + 1)
    c0, c1 = max(0, math.floor(xx[0]) - pad), min(ncols, math.ceil(xx[-1]) + pad + 1)
    src_win = Window(r0, c0, r1 - r0, c1 - c0)
    data = (_read_multi(ds, src_win, (r1 - r0, c1 - c0), "nearest") if all_bands
            else read_window(ds, 1, src_win)[np.newaxis])
    if up == "nearest" and scale == int(scale):
        # Integer factor: the nearest native pixel of target pixel i is i // factor (the centre offsets never
        # tie), so an index gather gives map_coordinates' result without its per-pixel spline machinery.
        f = int(scale)
        ri = np.arange(win.row_off, win.row_off + win.nrows) // f - r0
        ci = np.arange(win.col_off, win.col_off + win.ncols) // f - c0
        out = data[:, ri][:, :, ci]
        return out if all_bands else out[0]
    dtype = data.dtype
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    if up == "bilinear":
        # separable: map_coordinates' order-1 weights are products of row and column weights, so two 1-D
        # passes in float64 give its values, ~8x faster (no coordinate grids, no per-pixel spline code)
        out = np.empty((data.shape[0], win.nrows, win.ncols), dtype=dtype)
        for i, layer in enumerate(data):
            res = _linear_1d(_linear_1d(layer.astype(np.float64), yy - r0, 0), xx - c0, 1)
            out[i] = np.clip(np.rint(res), info.min, info.max) if info else res
        return out if all_bands else out[0]
    rr, cc = np.meshgrid(yy - r0, xx - c0, indexing="ij")
    order = _ORDER[up]
    out = np.empty((data.shape[0], win.nrows, win.ncols), dtype=dtype)
    for i, layer in enumerate(data):
        res = ndimage.map_coordinates(layer.astype(np.float32), [rr, cc], order=order, mode="nearest",
                                      prefilter=order > 1)
        info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
        out[i] = np.clip(np.rint(res), info.min, info.max) if info else res
    return out if all_bands else out[0]


def _linear_1d(a: np.ndarray, pos: np.ndarray, axis: int) -> np.ndarray:
    """Linear interpolation of ``a`` along ``axis`` at fractional indices ``pos``, edges held (the order-1,
    ``mode="nearest"`` rule of ``map_coordinates``)."""
    n = a.shape[axis]
    p = np.clip(np.asarray(pos, np.float64), 0.0, n - 1.0)
    i0 = np.minimum(np.floor(p).astype(np.int64), max(n - 2, 0))
    shape = [1] * a.ndim
    shape[axis] = -1
    w = (p - i0).reshape(shape)
    lo = np.take(a, i0, axis=axis)
    hi = np.take(a, np.minimum(i0 + 1, n - 1), axis=axis)
    hi -= lo
    hi *= w
    lo += hi
    return lo


def read_band(product: L1CProduct, band_name: str, resolution_m: int, window: Window | None = None,
              resample: str = "bilinear", native_sink=None) -> np.ndarray:
    """DN of one band (uint16; 'TCI' gives (3, rows, cols) uint8) on the tile grid at ``resolution_m``.

    ``window`` is in pixels of the target grid. Coarser targets are block averages (GDAL reads the JP2
    resolution level, fast); finer targets use ``resample`` (bilinear | cubic | nearest). ``native_sink``:
    called with the native-resolution DN when a coarser target is averaged from them (read once, use twice).
    """
    if resample not in _ORDER:
        raise ValueError(f"unknown resampling {resample!r}; use one of {sorted(_ORDER)}")
    path = product.image_paths.get(band_name)
    if path is None:
        raise L1CError(f"{product.mtd_product_path}: no image for band {band_name!r}")
    try:
        return _resampled(path, _native_res(product, band_name), resolution_m, window, "average", resample,
                          all_bands=band_name == "TCI", native_sink=native_sink)
    except RasterError as exc:
        raise L1CError(str(exc)) from None


def has_raster_qi_masks(product: L1CProduct) -> bool:
    """True when the product carries JP2 MSK_QUALIT masks (PB >= 04.00); older ones only have GML."""
    return any(k.startswith("MSK_QUALIT_") and p.suffix.lower() in (".jp2", ".tif") and p.is_file()
               for k, p in product.qi_mask_paths.items())


def read_qi_masks(product: L1CProduct, resolution_m: int, window: Window | None = None,
                  bands: tuple[str, ...] | None = None, layers: tuple[str, ...] | None = None,
                  native_cache: dict | None = None) -> dict[str, np.ndarray]:
    """Boolean L1C quality masks on the tile grid at ``resolution_m``, OR-ed over ``bands`` (default all).

    Keys: the 8 :data:`QUALIT_LAYERS` plus ``saturated_defective`` (ANC/MSI lost, defective or saturated:
    Sen2Cor's SCL 1 input with Handle_L1C_QLT_Mask) . Masks are resampled by nearest neighbour. Products
    before PB 04.00 have vector (GML) masks only, which are not rasterised: every mask is then all False
    (check :func:`has_raster_qi_masks`); no-data must then come from DN == 0. ``layers`` limits the work
    (and the keys) to the named layers; a full 10 m tile has 13 files x 8 layers of 10980^2 otherwise.

    Masks as coarse as the target or coarser are OR-ed at their native resolution first and up-sampled once
    per resolution (nearest up-sampling commutes with OR), instead of once per band and layer. Pass the same
    ``native_cache`` dict to several calls (the 20 m and 10 m runs) to decode those files only once.
    """
    shape = target_shape(product, resolution_m)
    if window is not None:
        shape = (window.nrows, window.ncols)
    wanted = tuple(layers) if layers is not None else (*QUALIT_LAYERS, "saturated_defective")
    unknown = set(wanted) - {*QUALIT_LAYERS, "saturated_defective"}
    if unknown:
        raise ValueError(f"unknown quality layer(s) {sorted(unknown)}")
    need = {n for n in wanted if n in QUALIT_LAYERS}
    if "saturated_defective" in wanted:
        need |= set(_SAT_DEF)
    need_idx = [i for i, n in enumerate(QUALIT_LAYERS) if n in need]
    out = {k: np.zeros(shape, dtype=bool) for k in wanted}
    if not has_raster_qi_masks(product):
        return out
    acc: dict[str, np.ndarray] = {n: np.zeros(shape, dtype=bool) for n in need}
    coarse: dict[int, list[str]] = {}                # native resolution -> bands to OR before up-sampling
    for b in bands or product.sensor.band_names:
        path = product.qi_mask_paths.get(f"MSK_QUALIT_{b}")
        if path is None or not path.is_file():
            continue
        native = _native_res(product, b)
        if native >= resolution_m and window is None and float(native / resolution_m).is_integer():
            coarse.setdefault(native, []).append(b)
            continue
        _or_layers(acc, _qualit_layers(product, b, resolution_m, window, need_idx), need_idx)
    for native, group in coarse.items():
        key = (str(product.mtd_tile_path), native, tuple(group))
        nat = native_cache.get(key, {}) if native_cache is not None else {}
        missing = [n for n in need if n not in nat]
        if missing:
            new: dict[str, np.ndarray | None] = {n: None for n in missing}
            new_idx = [i for i, n in enumerate(QUALIT_LAYERS) if n in new]
            for b in group:
                _or_layers(new, _qualit_layers(product, b, native, None, new_idx), new_idx)
            nat.update(new)
            if native_cache is not None and native > 10:     # 10 m masks are read once anyway
                native_cache[key] = nat
        f = native // resolution_m
        ri, ci = np.arange(shape[0]) // f, np.arange(shape[1]) // f
        for n in need:
            m = nat[n]
            if m is not None:
                acc[n] |= m if f == 1 else m[ri][:, ci]
    for n in wanted:
        if n in acc:
            out[n] = acc[n]
    if "saturated_defective" in wanted:
        for name in _SAT_DEF:
            out["saturated_defective"] |= acc[name]
    return out


def _qualit_layers(product: L1CProduct, band: str, resolution_m: int, window: Window | None,
                   idx: list[int]) -> list[np.ndarray | None]:
    """MSK_QUALIT layers ``idx`` of ``band`` on the ``resolution_m`` grid (nearest resampling); the others None.

    Whole-file reads at the native resolution or at half of it go through OpenJPEG's component selection
    (glymur), which decodes only the wanted layers: GDAL decodes all 8 for any band subset (a 10 m file
    costs ~8x the decoding). Same pixels as GDAL (same codec; half resolution = codestream level 1). One
    decode per layer, so GDAL's single pass stays cheaper when more than 5 layers are wanted."""
    path = product.qi_mask_paths[f"MSK_QUALIT_{band}"]
    native = _native_res(product, band)
    factor = resolution_m / native
    if window is None and factor in (1.0, 2.0) and len(idx) <= 5 and path.suffix.lower() == ".jp2":
        picked = _jp2_components(path, idx, reduce=int(factor) - 1)
        if picked is not None:
            return picked
    try:
        layers = _resampled(path, native, resolution_m, window, "nearest", "nearest", all_bands=True)
    except RasterError as exc:
        raise L1CError(str(exc)) from None
    if layers.shape[0] != len(QUALIT_LAYERS):
        raise L1CError(f"{path}: {layers.shape[0]} layers, {len(QUALIT_LAYERS)} expected in MSK_QUALIT")
    return [layers[i] if i in idx else None for i in range(len(QUALIT_LAYERS))]


def _jp2_components(path, idx: list[int], reduce: int) -> list[np.ndarray | None] | None:
    """Components ``idx`` of an 8-component JP2 at resolution level ``reduce``; None when glymur/OpenJPEG
    cannot select components (the caller then reads through GDAL)."""
    try:
        import glymur
        jp2 = glymur.Jp2k(str(path))
        ncomp = jp2.codestream.segment[1].Csiz
        if ncomp != len(QUALIT_LAYERS):
            raise L1CError(f"{path}: {ncomp} layers, {len(QUALIT_LAYERS)} expected in MSK_QUALIT")
        size = jp2.shape[:2]
        if reduce and (size[0] % 2 or size[1] % 2):
            return None                               # odd sides: leave GDAL's rounding to GDAL
        jp2.decoded_components = [idx[0]]             # raises where OpenJPEG lacks component selection
    except L1CError:
        raise
    except Exception:  # noqa: BLE001 - no glymur, old OpenJPEG, or a file GDAL may still read
        return None
    out: list[np.ndarray | None] = [None] * len(QUALIT_LAYERS)
    step = 2 ** reduce
    try:
        glymur.set_option("lib.num_threads", max(1, os.cpu_count() or 1))
        for i in idx:
            jp2 = glymur.Jp2k(str(path))
            jp2.decoded_components = [i]
            a = jp2[::step, ::step] if step > 1 else jp2[:]
            out[i] = a if a.ndim == 2 else a[..., 0]
    except Exception as exc:  # noqa: BLE001 - glymur/OpenJPEG raise several exception types
        raise L1CError(f"{path}: cannot decode ({str(exc).strip() or type(exc).__name__})") from None
    return out


def _or_layers(acc: dict[str, np.ndarray | None], layers: list[np.ndarray | None], idx: list[int]) -> None:
    """OR the wanted layers into ``acc`` (None entries take the first array)."""
    for i in idx:
        name = QUALIT_LAYERS[i]
        m = layers[i].astype(bool)
        acc[name] = m if acc[name] is None else (acc[name] | m)
