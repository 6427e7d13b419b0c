"""The L2A SAFE writer (Sentinel-2 and Hyper MS): tree, metadata and the final records.

The format code lives in :mod:`sen2cor3.products.l2a` (tree and metadata from the L1C) with its helpers
(naming, l2a_metadata, l2a_quality, manifest); this is the writer interface the pipeline uses. Hyper MS
differs by data only: the sensor's 30 m layers in ``R30m``, no manifest.safe and no INSPIRE.xml (Sen2Cor 3
skips both for Hyper MS).
"""
from __future__ import annotations

from pathlib import Path

from sen2cor3.products import naming
from sen2cor3.products.l2a import L2AProduct, create_l2a_tree, finalize_l2a_metadata
from sen2cor3.products.model import L1CProduct


class L2ASafeWriter:
    """Writes ``S2x_MSIL2A_....SAFE`` products."""

    #: a product of the same name is never overwritten (its name holds the generation time)
    replace_existing = False
    #: the TCI follows ``Generate_TCI_Output``
    always_tci = False
    ignores_cr_only = False

    def product_folder_name(self, l1: L1CProduct, baseline: str, generation_time) -> str:
        """``S2x_MSIL2A_<sensing>_N<baseline>_R<orbit>_T<tile>_<generation>.SAFE``."""
        return naming.l2a_product_name(l1.product_name, baseline, generation_time) + ".SAFE"

    def report_destination(self, handle: L2AProduct) -> tuple[Path]:
        """The run report goes into ``rep_info/`` under its own name."""
        return (handle.product_dir / "rep_info",)

    def create(self, l1: L1CProduct, out_root: Path, **kwargs) -> L2AProduct:
        """The product tree and its initial metadata in ``out_root`` (see :func:`create_l2a_tree`)."""
        return create_l2a_tree(l1, out_root, **kwargs)

    def finalize(self, handle: L2AProduct, *, image_files_written, qi_values, aux_info) -> None:
        """Record the written images and QI values (see :func:`finalize_l2a_metadata`)."""
        finalize_l2a_metadata(handle, image_files_written=image_files_written, qi_values=qi_values,
                              aux_info=aux_info)
