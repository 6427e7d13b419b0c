"""The SAFE reader: Sentinel-2 L1C (S2A/B/C/D) and Hyper MS (S2P) products.

The format code lives in :mod:`sen2cor3.products.l1c` (metadata, file lists) and
:mod:`sen2cor3.products._l1c_pixels` (windowed band and mask reads, TOA); this module is the reader interface
the pipeline uses. Hyper MS differs only by data: its sensor description (30 m bands, B01 at 60 m), GeoTIFF
images (``imageFormat="GEOTIFF"``, ``.TIF``), no DETFOO/QUALIT masks, and a radiometric offset at baseline 00.00.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from sen2cor3.products.l1c import open_l1c, open_l1c_granule, read_band, read_qi_masks, toa_reflectance
from sen2cor3.products.model import L1CProduct

#: ``L1CProduct.reader`` of the products this module opens.
KIND = "s2_safe"


def open_s2_safe(path: str | Path, check_images: bool = True) -> L1CProduct:
    """Metadata and file lists of an L1C SAFE (no pixels); L1CError with one line naming the file otherwise."""
    return open_l1c(path, check_images=check_images)


def open_s2_granule(granule: str | Path, datastrip: str | Path, check_images: bool = True) -> L1CProduct:
    """One L1C granule folder without its SAFE (``--mode process_tile``): the product facts MTD_MSIL1C.xml would
    give come from the datastrip's MTD_DS.xml and the tile's MTD_TL.xml (see
    :func:`sen2cor3.products.l1c.open_l1c_granule`); pixels are then read as for a SAFE."""
    return open_l1c_granule(granule, datastrip, check_images=check_images)


def toa(product: L1CProduct, band: str, dn: np.ndarray) -> np.ndarray:
    """TOA reflectance (float32, in place of a copy of ``dn``): (DN + RADIO_ADD_OFFSET) / QUANTIFICATION_VALUE;
    DN 0 (no data) becomes 0."""
    return toa_reflectance(dn, product.bands[band], product.quantification_value, nodata=0.0)


__all__ = ["KIND", "open_s2_safe", "open_s2_granule", "read_band", "read_qi_masks", "toa", "toa_reflectance"]
