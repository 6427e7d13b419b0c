"""Input readers behind one interface: find out what an input folder is and open it.

Every reader returns the same in-memory description (:class:`~sen2cor3.products.model.L1CProduct`: grids per
resolution, angles, band facts, image/mask/aux paths, ids) whose ``sensor`` drives the rest of the pipeline;
pixels are read later through the product's reader (:func:`reader_for`): ``read_band(product, band, res,
window=None, native_sink=None)`` (DN on any grid of the product, windowed), ``read_qi_masks(product, res,
layers=, native_cache=)`` (no data, saturated/defective), ``toa(product, band, dn)`` (TOA reflectance). Kinds:

* ``s2_safe``: Sentinel-2 L1C SAFE (S2A/B/C/D) and Hyper MS (S2P, GeoTIFF images) — :mod:`.s2_safe`;
* ``landsat_c2``: Landsat 8/9 Collection-2 L1TP folders — :mod:`.landsat_c2` (its processing window, the
  GIPP's Region_Of_Interest, is applied by :func:`apply_region_of_interest`).
"""
from __future__ import annotations

from pathlib import Path

from sen2cor3.errors import InputError
from sen2cor3.products.model import L1CProduct

from types import ModuleType

from . import landsat_c2, s2_safe
from .landsat_c2 import PRODUCT_ID as LANDSAT_ID
from .s2_safe import open_s2_safe, read_band, read_qi_masks, toa_reflectance


def input_kind(path: Path) -> str:
    """'landsat_c2' for a Landsat folder (its name is a Landsat product id, or it holds ``<name>_MTL.txt``),
    otherwise 's2_safe' (the SAFE reader gives the precise error for anything else)."""
    return landsat_c2.KIND if landsat_c2.is_landsat_folder(Path(path)) else s2_safe.KIND


def open_input(path: Path, *, hyper_ms: bool = False) -> L1CProduct:
    """Open an input product with its reader; ``hyper_ms``: the ``--Hyper_MS`` flag, which must agree with
    the product (InputError, one line, otherwise)."""
    kind = input_kind(path)
    if kind == landsat_c2.KIND:
        if hyper_ms:
            raise InputError(f"{path}: --Hyper_MS was given but this is a Landsat product; run without --Hyper_MS")
        return landsat_c2.open_landsat(path)
    product = open_s2_safe(path)
    is_hyper = product.mission_id == "S2P"
    if is_hyper and not hyper_ms:
        # Sen2Cor 3 without --Hyper_MS reads the offset-less way and fails on the GeoTIFF bands: refuse clearly
        raise InputError(f"{path}: this is a Hyper MS (S2P) product; run with --Hyper_MS --resolution 30")
    if hyper_ms and not is_hyper:
        raise InputError(f"{path}: --Hyper_MS was given but this is a {product.mission_id} product, not a "
                         "Hyper MS (S2P) one; run without --Hyper_MS")
    return product


def reader_for(product: L1CProduct) -> ModuleType:
    """The reader module of an opened product (its ``read_band``, ``read_qi_masks``, ``toa``)."""
    readers = {s2_safe.KIND: s2_safe, landsat_c2.KIND: landsat_c2}
    if product.reader not in readers:
        raise InputError(f"{product.safe_path}: no reader for input kind {product.reader!r}")
    return readers[product.reader]


def apply_region_of_interest(product: L1CProduct, roi) -> L1CProduct:
    """The product restricted to the GIPP's ``Region_Of_Interest`` (Landsat; Sentinel-2 and Hyper MS inputs
    are processed whole, as Sen2Cor 3's toolbox mode does and sen2like asks with row0 OFF)."""
    if product.reader != landsat_c2.KIND:
        return product
    return landsat_c2.with_window(product, landsat_c2.roi_window(product, roi))


__all__ = ["LANDSAT_ID", "apply_region_of_interest", "input_kind", "open_input", "read_band", "read_qi_masks",
           "reader_for", "toa_reflectance"]
