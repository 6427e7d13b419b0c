"""The L2A images beside the bands: the preview (PVI), the optional DEM and the optional DDV masks.

Every rule below is Sen2Cor 3's (03.03.01 source, ``SEN2COR_3/`` in github stienheremans/sen2like), read in
``L2A_Tables.py`` (``BandIO.__init__`` names, ``exportBandList``, ``downsampleBandList_20to60_andExport``,
``createRgbImages``, ``scalePreview``, ``glymurWrapper``, ``exportTifImage``), ``L2A_AtmCorr.py``
(``write_ddv_map``, ``postprocess``), ``L2A_BandIO_Landsat.py`` (``export_bands``, ``export_dem``,
``export_quality_bands``), ``L2A_ProcessTileToolbox.py`` (order of the runs) and ``L2A_Manifest.py``:

Preview ``QI_DATA/T<tile>_<datatake sensing>_PVI`` (``createRgbImages``, ``scalePreview``)
    Written once, by the first resolution run of the product (``_firstInit``: the 20 m run by default, the
    60 m run with ``--resolution 60``, the 30 m run for Hyper MS), from that run's B04/B03/B02 BOA DN
    (``--sc_only``: the TOA DN): DN <= 1000 (and not 0) -> 1001, the radiometric offset (-1000) added, i.e.
    10000 x rho with rho <= 0 -> 1; each band ``cv2.resize``d to 343 x 343 (INTER_LINEAR, the default), then
    ``uint8(clip(v, 0, 2500) * 254 / 2500 + 1)``, 0 where the resized value is 0: the TCI scaling. Three
    bands R, G, B (uint8). Georeferenced at 320 m from the tile's upper-left corner (``exportTifImage`` /
    ``exportJp2Image``: the 60 m geotransform with the pixel set to 320 m; the JP2 gets the L1C PVI's GML box,
    "fix wrong resolution in preview image"). JP2 with LRCP progression only (``glymurWrapper``), ``.tif``
    (LZW) with ``--tif``, ``.rawl`` with ``--raw``. 343 = 109800 m / 320 m: the full tile at 320 m. Our tiles
    can be smaller (simulated scenes): the preview covers the tile grid at 320 m, ``round(extent / 320)``
    pixels a side (343 for a full tile, as Sen2Cor and the real T29UNU/T01UBT previews). MTD_TL
    ``PVI_FILENAME`` lists it (already written by ``build_tile_mtd``); manifest.safe lists it as ``S2_Level-1C_Preview_Tile1_Data`` (``L2A_Manifest``'s
    ``QI_DATA/T.*_PVI`` pattern, the id real L2A manifests carry). Sen2Cor 3 skips ``createRgbImages`` when
    ``Generate_TCI_Output`` is FALSE but still lists ``PVI_FILENAME``: we write the preview in every processed
    product, so that the listed file exists (a deviation).

DEM ``AUX_DATA/L2A_T<tile>_<datatake sensing>_DEM_<res>m`` (``Generate_DEM_Output``)
    The name carries Sen2Cor 3's ``L2A_`` prefix (``self._L2A_Tile_DEM_File = ... 'L2A_' + L2A_TILE_ID +
    '_DEM_' ...``; Sen2Cor 2.8 wrote it without). One per output resolution (the 10, 20 and 60 m band lists
    of ``exportBandList`` and the 20 -> 60 m list all hold DIGITAL_ELEVATION_MAP; Hyper MS: 30 m). uint16:
    the DEM on the grid (int16 metres) + 10000 where SCL is not 0, and 0 where SCL is 0 ("fix for
    SIIMPC-551, to avoid negative values where OpenJPEG cannot cope with"). 60 m from 20 m: 3 x 3 block mean
    + 0.5 (we take the mean of the valid pixels, as for every other downsampled image of this project; Sen2Cor
    averages the 0 no-data pixels in too). Nothing is written when no DEM was used (``DEM_Directory`` NONE,
    or the DEM could not be read: Sen2Cor then sets ``demDirectory = 'NONE'`` and skips the export), whatever
    ``DEM_Terrain_Correction`` says. Listed as ``IMAGE_FILE`` ``GRANULE/<granule>/AUX_DATA/<name>`` in
    MTD_MSIL2A, after the resolution's spectral bands (its place in Sen2Cor's band lists); not in MTD_TL nor in
    manifest.safe (no ``L2A_Manifest`` pattern matches it). ``--tif``: Sen2Cor's generic GeoTIFF branch would
    tag it with the BOA scale/offset; we store no scale/offset (the values are metres + 10000), no data 0.

DDV ``QI_DATA/MSK_DDVPXL_<res>m`` (``Generate_DDV_Output``)
    ``write_ddv_map`` (called by ``postprocess`` of every run above 10 m): the classification map with its
    classes 1, 3, 4, 5, 7, 8, 9, 10, 11 set to 5 ("background"), 0 (no data), 2 (dark features) and 6 (water)
    kept, and the DDV reference pixels of the AOT retrieval set to 4. uint8 (GeoTIFF: Byte with no data 0).
    20 m (or the single 60/30 m run), and 60 m from 20 m by ``downsampleBandList_20to60_andExport``:
    ``uint16(block_reduce(ddv20, (3, 3), mean) + 0.5)``, the plain mean of the codes (written as uint16 JP2 by
    glymur there; we keep uint8, the values fit). No 10 m DDV (not in the 10 m band list). With ``--sc_only``
    no retrieval runs and Sen2Cor exports the DDV band as zeros (``exportBandList``: ``setBand(DDV, zeros)``).
    Not listed anywhere: ``exportBandList`` skips DDV (with CLD/SNW) when it adds ``IMAGE_FILE`` entries, adds
    only MSK_CLDPRB/MSK_SNWPRB to ``Pixel_Level_QI``, and ``L2A_Manifest`` has no pattern for it.
    A Sen2Cor-made L2A run with the flag TRUE (``../shared/data/real_safe_metadata``, T01UBT, PB 04.00, GeoTIFF)
    shows the same: MSK_DDVPXL_20m Byte with classes 0/5/6 (a cloudy CAMS scene: no 4), MSK_DDVPXL_60m UInt16
    with averaged codes 1..4 at class borders, neither listed in MTD_MSIL2A, MTD_TL nor manifest.safe.
    Our retrieval runs on a 60 m working grid (90 m for 30 m inputs): a working cell it used as a DDV
    reference marks its vegetation pixels (SCL 4) with 4 on the output grid (Sen2Cor's DDV pixels are
    vegetation pixels); the cell's other pixels keep their own class.

Landsat (``L2A_BandIO_Landsat``): ``<L2 id>_DDV.TIF`` (Byte, LZW, no no-data tag) and ``<L2 id>_DEM.TIF``
    (uint16, LZW, no tag: DEM + 10000 where the red band has data), on the full L1 grid (0 outside the
    window). Sen2Cor 3 leaves the raw height (not 0) on the window's no-data pixels; we write 0 there, as for
    Sentinel-2 (SCL 0).
"""
from __future__ import annotations

import numpy as np

#: Preview pixel (m) and side of a full 109.8 km tile (Sen2Cor ``scalePreview``: 343 x 343).
PVI_PIXEL_M = 320.0
PVI_FULL_TILE_PX = 343
#: TCI/PVI stretch: reflectance 0..0.25 -> 1..255, 0 = no data (``scalePreview``/``scaleTci``: 0..2500 DN).
PVI_RHO_MAX = 0.25
PVI_DN_SPAN = 254.0
#: DEM output: metres + 10000 (SIIMPC-551), 0 = no data.
DEM_OFFSET_M = 10000
#: DDV map codes (``write_ddv_map``).
DDV_REFERENCE = 4
DDV_BACKGROUND = 5
#: SCL classes the DDV map keeps as they are: no data, dark features, water.
DDV_KEPT_CLASSES = (0, 2, 6)
SCL_VEGETATION = 4


# ------------------------------------------------------------------------------------------------ preview
def pvi_shape(nrows: int, ncols: int, resolution_m: float) -> tuple[int, int]:
    """Preview size of a grid: its extent at 320 m, at least 1 pixel (343 x 343 for a full tile)."""
    return (max(1, int(round(nrows * resolution_m / PVI_PIXEL_M))),
            max(1, int(round(ncols * resolution_m / PVI_PIXEL_M))))


def pvi_geotransform(geotransform) -> tuple[float, ...]:
    """The tile's geotransform with 320 m pixels (Sen2Cor: the 60 m one with the pixel size replaced)."""
    g = tuple(float(v) for v in geotransform)
    return (g[0], PVI_PIXEL_M, g[2], g[3], g[4], -PVI_PIXEL_M)


def _linear_axis(n_src: int, n_dst: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OpenCV INTER_LINEAR sampling along one axis: (i0, i1, weight of i1). Pixel centres are aligned
    (x_src = (x_dst + 0.5) * n_src / n_dst - 0.5), samples clamped to the edge (weight 0 outside)."""
    x = (np.arange(n_dst, dtype=np.float64) + 0.5) * (n_src / n_dst) - 0.5
    i0 = np.floor(x).astype(np.int64)
    w = x - i0
    w[i0 < 0] = 0.0
    i0 = np.clip(i0, 0, n_src - 1)
    w[i0 >= n_src - 1] = 0.0
    i1 = np.minimum(i0 + 1, n_src - 1)
    return i0, i1, w


def resize_linear(src_shape: tuple[int, int], shape: tuple[int, int], rows_of) -> np.ndarray:
    """``cv2.resize(band, (shape[1], shape[0]))`` (bilinear, no anti-aliasing) in float64, without OpenCV.

    ``rows_of(index_array)`` returns the band's rows at those indices as float64: only the rows and columns
    the result samples are read, so a 10980 x 10980 band costs a few MB."""
    r0, r1, wr = _linear_axis(src_shape[0], shape[0])
    c0, c1, wc = _linear_axis(src_shape[1], shape[1])
    rows = np.unique(np.concatenate([r0, r1]))
    g = np.asarray(rows_of(rows), np.float64)
    top, bottom = g[np.searchsorted(rows, r0)], g[np.searchsorted(rows, r1)]
    v = top * (1.0 - wr)[:, None] + bottom * wr[:, None]
    return v[:, c0] * (1.0 - wc)[None, :] + v[:, c1] * wc[None, :]


def preview_channel(rows_of, src_shape: tuple[int, int], shape: tuple[int, int],
                    quantification: float = 10000.0) -> np.ndarray:
    """One uint8 preview band of a band given as ``rows_of`` (:func:`dn_rows`, :func:`rho_rows`: units of
    1/quantification reflectance, 0 = no data, valid >= 1): resized as OpenCV resizes the uint16 band
    (rounded), then Sen2Cor's TCI stretch, 0 where the resized value is 0."""
    v = np.rint(resize_linear(src_shape, shape, rows_of))
    top = np.float32(PVI_RHO_MAX * quantification)
    scaled = (np.clip(v, 0.0, top).astype(np.float32) * np.float32(PVI_DN_SPAN) / top
              + np.float32(1.0)).astype(np.uint8)
    scaled[v == 0] = 0
    return scaled


def dn_rows(dn: np.ndarray, offset_dn: float):
    """``rows_of`` of encoded BOA DN: DN - offset, at least 1, 0 stays 0 (Sen2Cor: DN <= 1000 -> 1001, then
    the offset -1000 added; no offset before baseline 04.00)."""
    def rows_of(idx: np.ndarray) -> np.ndarray:
        d = np.asarray(dn[idx], np.float64)
        return np.where(d == 0, 0.0, np.maximum(d - float(offset_dn), 1.0))
    return rows_of


def rho_rows(rho: np.ndarray, nodata: np.ndarray, quantification: float = 10000.0):
    """``rows_of`` of a reflectance band (TOA with ``--sc_only``): round(rho x quantification), at least 1,
    0 where ``nodata`` or not finite (Sen2Cor: the L1C DN minus the offset, <= 0 -> 1)."""
    def rows_of(idx: np.ndarray) -> np.ndarray:
        r = np.asarray(rho[idx], np.float64)
        bad = np.asarray(nodata[idx], bool) | ~np.isfinite(r)
        v = np.clip(np.rint(np.where(bad, 0.0, r) * quantification), 1.0, 65535.0)
        v[bad] = 0.0
        return v
    return rows_of


# ------------------------------------------------------------------------------------------------ DEM
def dem_dn(height_m: np.ndarray, scl: np.ndarray) -> np.ndarray:
    """DEM output: uint16 round(height) + 10000 where SCL is not 0 (no data), 0 there."""
    h = np.rint(np.asarray(height_m, np.float64)) + DEM_OFFSET_M
    out = np.clip(np.where(np.isfinite(h), h, 0.0), 0, 65535).astype(np.uint16)
    out[np.asarray(scl) == 0] = 0
    return out


# ------------------------------------------------------------------------------------------------ DDV
def ddv_on_grid(work_mask: np.ndarray | None, factor: int, shape: tuple[int, int]) -> np.ndarray:
    """The working grid's DDV reference cells on the output grid (nearest; all False without a mask)."""
    if work_mask is None:
        return np.zeros(shape, bool)
    m = np.asarray(work_mask, bool)
    if factor > 1:
        m = np.repeat(np.repeat(m, factor, axis=0), factor, axis=1)
    out = np.zeros(shape, bool)
    r, c = min(shape[0], m.shape[0]), min(shape[1], m.shape[1])
    out[:r, :c] = m[:r, :c]
    return out


def ddv_class_map(scl: np.ndarray, ddv: np.ndarray | None) -> np.ndarray:
    """Sen2Cor's MSK_DDVPXL map: SCL 0/2/6 kept, DDV reference vegetation pixels 4, every other class 5."""
    s = np.asarray(scl)
    out = np.where(np.isin(s, DDV_KEPT_CLASSES), s, DDV_BACKGROUND).astype(np.uint8)
    if ddv is not None:
        out[np.asarray(ddv, bool) & (s == SCL_VEGETATION)] = DDV_REFERENCE
    return out


__all__ = ["DDV_BACKGROUND", "DDV_REFERENCE", "DEM_OFFSET_M", "PVI_FULL_TILE_PX", "PVI_PIXEL_M", "ddv_class_map",
           "ddv_on_grid", "dem_dn", "dn_rows", "preview_channel", "pvi_geotransform", "pvi_shape", "resize_linear",
           "rho_rows"]
