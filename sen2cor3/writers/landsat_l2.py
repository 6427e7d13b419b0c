"""The Landsat L2 writer: the flat folder Sen2Cor 3 makes from a Landsat 8/9 C2 L1TP product for sen2like.

Layout (Sen2Cor 3.3.1 ``L2A_BandIO_Landsat`` / ``L2A_Process_Landsat``; sen2like_contract.md section 2.3):

* folder ``<L2 id>``: the L1 id with ``L1`` -> ``L2`` and the 5th field (processing date) the UTC run date, no
  ``.SAFE``;
* ``<L2 id>_B1.TIF`` .. ``_B7.TIF``: BOA, uint16, LZW, no data 0, on the full L1 reflective grid (zeros outside
  the processed window), DN = (rho - REFLECTANCE_ADD_BAND_n) / REFLECTANCE_MULT_BAND_n truncated, below 0 -> 1,
  band scale/offset = MULT/ADD (so GDAL users and sen2like get rho = DN x MULT + ADD back);
* ``_SCL``, ``_CLD``, ``_SNW`` Byte; ``_AOT``, ``_WVP`` uint16 scale 0.001, no data 0; ``_TCI`` 3 x Byte
  (Sen2Cor 3 writes it whatever ``Generate_TCI_Output`` says); all GeoTIFF/LZW, ``.TIF``;
* with ``Generate_DDV_Output``: ``_DDV`` (Byte, no no-data tag: ``export_quality_bands``), Sen2Cor's DDV class
  map (4 DDV reference, 2 dark features, 6 water, 5 the rest, 0 no data); with ``Generate_DEM_Output`` and a
  DEM: ``_DEM`` (uint16, no tag: ``export_dem``), metres + 10000, 0 where there is no data (Sen2Cor 3 leaves
  the raw height on the window's no-data pixels; see :mod:`sen2cor3.products.l2a_optional`);
* ``<L2 id>_MTL.txt``: the L1 MTL text with its PROCESSING_LEVEL lines set to ``"L2TP"`` and nothing else
  changed; the L1 ``_ANG.txt``, ``_B8``, ``_B10``, ``_B11``, ``_QA_PIXEL`` and angle rasters copied under their
  L1 names; ``L2A_QUALITY.xml`` (Sen2Cor 3's Landsat template) with numeric values; the GIPPs used and the
  run report (``<L2 id>_report.xml``).
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from sen2cor3.products.l2a_quality import write_quality
from sen2cor3.products.model import L1CProduct
from sen2cor3.readers.mtl import set_processing_level

#: Layers the tile loop writes -> file suffix.
_SUFFIX = {"MSK_CLDPRB": "CLD", "MSK_SNWPRB": "SNW", "MSK_DDVPXL": "DDV"}
#: AOT and WVP are stored x1000 (band scale 0.001).
MAP_SCALE = 0.001
#: L1 files copied under their own names (besides the MTL, which is rewritten): Sen2Cor 3's export list.
COPIED_SUFFIXES = ("_ANG.txt", "_B8.TIF", "_B10.TIF", "_B11.TIF", "_QA_PIXEL.TIF", "_SAA.TIF", "_SZA.TIF",
                   "_VAA.TIF", "_VZA.TIF")


def l2_product_id(l1_id: str, run_time: datetime) -> str:
    """``LC09_L1TP_192026_20240809_20240809_02_T1`` -> ``LC09_L2TP_192026_20240809_<run date>_02_T1``."""
    fields = l1_id.split("_")
    if len(fields) != 7:
        raise ValueError(f"not a Landsat product id: {l1_id!r}")
    fields[1] = fields[1].replace("L1", "L2", 1)
    fields[4] = run_time.astimezone(timezone.utc).strftime("%Y%m%d")
    return "_".join(fields)


@dataclass
class LandsatL2Product:
    """Where the images of one Landsat L2 product go (``product_dir`` is inside the staging folder until commit)."""
    product_dir: Path
    product_id: str
    l1: L1CProduct
    resolutions: tuple[int, ...] = (30,)
    image_ext: str = ".TIF"
    hyper: bool = False
    config_paths: dict = field(default_factory=dict)

    @property
    def product_name(self) -> str:
        return self.product_id

    def image_path(self, layer: str, resolution: int) -> Path:
        """``<L2 id>_<layer>`` without extension (B1..B7, SCL, AOT, WVP, TCI, DEM)."""
        return self.product_dir / f"{self.product_id}_{layer}"

    def qi_path(self, kind: str, resolution: int) -> Path:
        """CLD/SNW/DDV beside the bands (the Landsat folder has no QI_DATA)."""
        return self.product_dir / f"{self.product_id}_{_SUFFIX.get(kind, kind)}"

    def dem_path(self, resolution: int) -> Path:
        """``<L2 id>_DEM`` (``Generate_DEM_Output``; Sen2Cor 3 ``L2A_BandIO_Landsat.export_dem``)."""
        return self.product_dir / f"{self.product_id}_DEM"

    def prepare_image(self, layer: str, data: np.ndarray, kwargs: dict) -> tuple[np.ndarray, dict]:
        """The image on the full L1 reflective grid (zeros outside the processed window), GeoTIFF/LZW, with the
        nodata/scale/offset tags of its kind."""
        full, win = self.l1.extra["full_grid"], self.l1.extra["window"]
        data = np.asarray(data)
        if data.shape[-2:] != (full.nrows, full.ncols):
            out = np.zeros(data.shape[:-2] + (full.nrows, full.ncols), data.dtype)
            out[..., win.row_off:win.row_off + win.nrows, win.col_off:win.col_off + win.ncols] = data
            data = out
        kw = dict(kwargs, geotransform=full.geotransform, fmt="LandsatTIF", categorical=False)
        if layer in self.l1.extra.get("rescaling", {}):
            mult, add = self.l1.extra["rescaling"][layer]
            kw.update(nodata=0, scale=mult, offset=add)
        elif layer in ("AOT", "WVP"):
            kw.update(nodata=0, scale=MAP_SCALE, offset=0.0)
        elif layer == "TCI":
            kw.update(nodata=0)
        return data, kw


class LandsatL2Writer:
    """Writes the Landsat L2 folder (see the module doc)."""

    #: the name holds only the run date: a product of the same name is replaced once the new one is complete
    replace_existing = True
    #: Sen2Cor 3 writes the Landsat TCI whatever Generate_TCI_Output says
    always_tci = True
    #: Sen2Cor 3's Landsat path never reads --cr_only
    ignores_cr_only = True

    def product_folder_name(self, l1: L1CProduct, baseline: str, generation_time: datetime) -> str:
        return l2_product_id(l1.product_name, generation_time)

    def report_destination(self, handle: LandsatL2Product) -> tuple[Path, str]:
        """``<L2 id>_report.xml`` at the product root (Sen2Cor 3's Landsat report name)."""
        return handle.product_dir, f"{handle.product_id}_report.xml"

    def create(self, l1: L1CProduct, out_root: Path, *, generation_time: datetime, config_paths=None,
               **_unused) -> LandsatL2Product:
        """The (empty) product folder; images go in through :meth:`LandsatL2Product.image_path`."""
        out_root = Path(out_root)
        out_root.mkdir(parents=True, exist_ok=True)
        return LandsatL2Product(out_root, l2_product_id(l1.product_name, generation_time), l1,
                                config_paths=dict(config_paths or {}))

    def finalize(self, handle: LandsatL2Product, *, image_files_written, qi_values, aux_info) -> None:
        """MTL (L2TP), the L1 files Sen2Cor 3 carries, L2A_QUALITY.xml, the GIPPs used."""
        l1 = handle.l1
        mtl_txt = l1.mtd_product_path
        dst = handle.product_dir / f"{handle.product_id}_MTL.txt"
        if mtl_txt.suffix.lower() == ".txt":
            dst.write_text(set_processing_level(mtl_txt.read_text()))
        else:                                       # no text MTL in the input: write one from the parsed groups
            dst.write_text(set_processing_level(_odl_text(l1.extra["mtl"].groups)))
        for suffix in COPIED_SUFFIXES:
            src = l1.safe_path / f"{l1.product_name}{suffix}"
            if src.is_file():
                shutil.copy2(src, handle.product_dir / src.name)
        write_quality(handle.product_dir / "L2A_QUALITY.xml", dict(qi_values), mission="LANDSAT",
                      granule_name=handle.product_id, granule_url="N/A", psd=14, hyper=False, landsat=True)
        for key, path in handle.config_paths.items():
            if path is not None and Path(path).is_file() and key != "L2A_PB_GIPP":
                shutil.copyfile(path, handle.product_dir / Path(path).name)


def _odl_text(groups: dict) -> str:
    """An ODL text MTL from parsed groups (only used when the input had the XML/JSON form only)."""
    lines = ["GROUP = LANDSAT_METADATA_FILE"]

    def emit(d: dict, depth: int) -> None:
        pad = "  " * depth
        for k, v in d.items():
            if isinstance(v, dict):
                lines.append(f"{pad}GROUP = {k}")
                emit(v, depth + 1)
                lines.append(f"{pad}END_GROUP = {k}")
            else:
                quoted = not _is_number(v) and not _is_date(v)
                lines.append(f'{pad}{k} = "{v}"' if quoted else f"{pad}{k} = {v}")
    emit(groups, 1)
    lines += ["END_GROUP = LANDSAT_METADATA_FILE", "END"]
    return "\n".join(lines) + "\n"


def _is_number(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False


def _is_date(v: str) -> bool:
    return len(v) >= 10 and v[4] == "-" and v[7] == "-" and v[:4].isdigit()
