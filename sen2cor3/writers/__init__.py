"""Output writers behind one interface: lay out the product, then record what the run wrote.

A writer has two calls, ``create(l1, out_root, ...)`` (folders and the metadata derived from the input;
returns the handle whose ``image_path(layer, resolution)`` / ``qi_path(kind, resolution)`` tell the tile loop
where each image goes) and ``finalize(handle, image_files_written=, qi_values=, aux_info=)`` (IMAGE_FILE
lists, QI values, quality report, manifest). The BOA encoding and the layers per resolution come from the
input's sensor description (Landsat: the L1 rescaling of each band). Writers: :mod:`.l2a_safe` (Sentinel-2
and Hyper MS L2A SAFE), :mod:`.landsat_l2` (the flat Landsat L2 folder). Each also says its product folder name,
where the run report goes, and whether a product of the same name is replaced.
"""
from __future__ import annotations

from typing import Protocol

from sen2cor3.products.model import L1CProduct

from .l2a_safe import L2ASafeWriter
from .landsat_l2 import LandsatL2Writer


class ProductWriter(Protocol):
    """What the pipeline asks of an output format."""

    def create(self, l1: L1CProduct, out_root, **kwargs): ...

    def finalize(self, handle, *, image_files_written, qi_values, aux_info) -> None: ...


def writer_for(product: L1CProduct) -> ProductWriter:
    """The writer of the L2A format that Sen2Cor 3 makes from this input."""
    return LandsatL2Writer() if product.reader == "landsat_c2" else L2ASafeWriter()


__all__ = ["L2ASafeWriter", "LandsatL2Writer", "ProductWriter", "writer_for"]
