"""The SAFE reader: Sentinel-2 L1C (S2A/B/C/D) and Hyper MS (S2P) products.

The format code lives in :mod:`sen2cor3.products.l1c` (metadata, file lists) and
:mod:`sen2cor3.products._l1c_pixels` (windowed band and mask reads, TOA); this module is the reader interface
the pipeline uses. Hyper MS differs only by data: its sensor description (30 m bands, B01 at 60 m), GeoTIFF
images (``imageFormat="GEOTIFF"``, ``.TIF``), no DETFOO/QUALIT masks, and a radiometric offset at baseline 00.00.
"""
from __future__ import annotations

from pathlib import Path

from sen2cor3.products.l1c import open_l1c, read_band, read_qi_masks, toa_reflectance
from sen2cor3.products.model import L1CProduct


def open_s2_safe(path: str | Path, check_images: bool = True) -> L1CProduct:
    """Metadata and file lists of an L1C SAFE (no pixels); L1CError with one line naming the file otherwise."""
    return open_l1c(path, check_images=check_images)


__all__ = ["open_s2_safe", "read_band", "read_qi_masks", "toa_reflectance"]
