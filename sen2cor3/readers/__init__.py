"""Input readers behind one interface: find out what an input folder is and open it.

Every reader returns the same in-memory description (:class:`~sen2cor3.products.model.L1CProduct`: grids per
resolution, angles, band facts, image/mask/aux paths, ids) whose ``sensor`` drives the rest of the pipeline;
pixels are read later through the product's reader (:func:`reader_for`): ``read_band(product, band, res,
window=None, native_sink=None)`` (DN on any grid of the product, windowed), ``read_qi_masks(product, res,
layers=, native_cache=)`` (no data, saturated/defective), ``toa(product, band, dn)`` (TOA reflectance). Kinds:

* ``s2_safe``: Sentinel-2 L1C SAFE (S2A/B/C/D) and Hyper MS (S2P, GeoTIFF images) — :mod:`.s2_safe`;
* ``landsat_c2``: Landsat 8/9 Collection-2 L1TP folders — recognised here, reader to come.
"""
from __future__ import annotations

import re
from pathlib import Path

from sen2cor3.errors import InputError
from sen2cor3.products.model import L1CProduct

from types import ModuleType

from . import s2_safe
from .s2_safe import open_s2_safe, read_band, read_qi_masks, toa_reflectance

#: Landsat Collection-1/2 product id: sensor, level, path/row, acquisition and processing dates, collection.
LANDSAT_ID = re.compile(r"^L[COTEM]0[1-9]_L1(TP|GT|GS)_\d{6}_\d{8}_\d{8}_\d{2}_(T1|T2|RT)$")


def input_kind(path: Path) -> str:
    """'landsat_c2' for a Landsat L1 folder (its name is the product id, or it holds ``<name>_MTL.txt``),
    otherwise 's2_safe' (the SAFE reader gives the precise error for anything else)."""
    p = Path(path)
    if LANDSAT_ID.match(p.name) or (p.is_dir() and (p / f"{p.name}_MTL.txt").is_file()):
        return "landsat_c2"
    return "s2_safe"


def open_input(path: Path, *, hyper_ms: bool = False) -> L1CProduct:
    """Open an input product with its reader; ``hyper_ms``: the ``--Hyper_MS`` flag, which must agree with
    the product (InputError, one line, otherwise)."""
    kind = input_kind(path)
    if kind == "landsat_c2":
        raise InputError(f"{path}: Landsat 8/9 L1TP input is not supported yet (not implemented in this version)")
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
    readers = {s2_safe.KIND: s2_safe}
    if product.reader not in readers:
        raise InputError(f"{product.safe_path}: no reader for input kind {product.reader!r}")
    return readers[product.reader]


__all__ = ["LANDSAT_ID", "input_kind", "open_input", "read_band", "read_qi_masks", "reader_for",
           "toa_reflectance"]
