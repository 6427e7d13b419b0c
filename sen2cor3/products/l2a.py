"""The L2A SAFE product: create its tree and metadata from the L1C, then finalise them after processing.

Two steps, as in Sen2Cor's toolbox mode: :func:`create_l2a_tree` lays out the product (folders, metadata derived
from the L1C, copied L1C masks/aux/QI reports, GIPPs in rep_info) so that writers only have to drop images into
the paths :class:`L2AProduct` gives; :func:`finalize_l2a_metadata` then records what was really written (IMAGE_FILE
list, QI percentages, aux references), writes QI_DATA/L2A_QUALITY.xml and regenerates manifest.safe.
The tree is built inside ``out_root`` (a temporary folder the caller later renames to ``product_uri``).
"""
from __future__ import annotations

import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from lxml import etree

from . import naming
from .staging import STAGING_PREFIX
from .l2a_metadata import (GroundSegmentDatastrip, build_datastrip_mtd, build_product_mtd, build_tile_mtd,
                           image_format, iso_safe, prune_pixel_level_qi, psd_major, read_xml, set_aux_info,
                           set_image_content_qi, set_image_files, write_xml)
from .l2a_quality import write_quality
from .l2a_support import copy_aux_data, copy_gipps, copy_l1c_qi, write_inspire, write_xsd_stubs
from .manifest import write_manifest
from .model import L1CProduct

DEFAULT_DOI = "https://doi.org/10.5270/S2_-znk9xsj"


@dataclass
class L2AProduct:
    """Where everything of one L2A product lives (paths are inside the build folder until relocated)."""
    product_dir: Path
    product_uri: str                  # final folder name, with .SAFE
    granule_name: str                 # L2A_T01KAB_A042640_20230821T221944
    datastrip_name: str               # DS_2APS_20230822T021825_S20230821T221944
    tile_long_id: str
    datastrip_long_id: str
    file_prefix: str                  # T01KAB_20230821T221941
    resolutions: tuple[int, ...]
    image_ext: str                    # '.jp2', '.tif', ...
    baseline: str
    generation_time: datetime
    mission: str
    l1c_manifest: Path | None = None
    hyper: bool = False
    extra: dict[str, str] = field(default_factory=dict)
    #: IMG_DATA layers per resolution (the sensor description's ``l2a_layers``).
    layers: Mapping[int, tuple[str, ...]] = field(default_factory=lambda: dict(naming.L2A_BANDS))

    @property
    def product_name(self) -> str:
        """The product name without '.SAFE'."""
        return self.product_uri.removesuffix(".SAFE")

    @property
    def granule_dir(self) -> Path:
        return self.product_dir / "GRANULE" / self.granule_name

    @property
    def datastrip_dir(self) -> Path:
        return self.product_dir / "DATASTRIP" / self.datastrip_name

    @property
    def img_dirs(self) -> dict[int, Path]:
        return {r: self.granule_dir / "IMG_DATA" / naming.resolution_folder(r) for r in self.resolutions}

    @property
    def qi_dir(self) -> Path:
        return self.granule_dir / "QI_DATA"

    @property
    def aux_dir(self) -> Path:
        return self.granule_dir / "AUX_DATA"

    @property
    def rep_info_dir(self) -> Path:
        return self.product_dir / "rep_info"

    @property
    def mtd_product_path(self) -> Path:
        return self.product_dir / "MTD_MSIL2A.xml"

    @property
    def mtd_tile_path(self) -> Path:
        return self.granule_dir / "MTD_TL.xml"

    @property
    def mtd_datastrip_path(self) -> Path:
        return self.datastrip_dir / "MTD_DS.xml"

    @property
    def quality_path(self) -> Path:
        return self.qi_dir / "L2A_QUALITY.xml"

    def image_path(self, band: str, resolution: int) -> Path:
        """IMG_DATA path of a layer (B02, SCL, AOT, WVP, TCI...) WITHOUT extension (the writer adds it)."""
        if resolution not in self.layers or band not in self.layers[resolution]:
            raise KeyError(f"{band} is not an L2A layer at {resolution} m")
        return self.img_dirs[resolution] / naming.image_stem(self.file_prefix, band, resolution)

    def prepare_image(self, layer: str, data, kwargs: dict) -> tuple:
        """(data, write_raster arguments) of one image: the SAFE writes the tile grid as processed."""
        return data, kwargs

    def qi_path(self, kind: str, resolution: int) -> Path:
        """QI_DATA path of MSK_CLDPRB / MSK_SNWPRB / MSK_DDVPXL at 20 or 60 m, without extension."""
        return self.qi_dir / naming.qi_mask_name(kind, resolution)

    def pvi_path(self) -> Path:
        """QI_DATA path of the preview image, without extension."""
        return self.qi_dir / naming.pvi_name(self.file_prefix)

    def dem_path(self, resolution: int) -> Path:
        """AUX_DATA path of the optional DEM output (``L2A_T<tile>_<sensing>_DEM_<res>m``), without extension."""
        return self.aux_dir / naming.dem_name(self.file_prefix, resolution)

    def report_path(self, start_time: datetime) -> Path:
        """rep_info path of the run report."""
        return self.rep_info_dir / naming.report_name(self.product_uri, start_time)

    def image_entries(self) -> list[str]:
        """Every IMAGE_FILE the product would list for its resolutions (before the run)."""
        return naming.image_file_entries(self.granule_name, self.file_prefix, self.resolutions,
                                         layers=dict(self.layers))

    def relocated(self, new_dir: Path) -> L2AProduct:
        """The same product after the caller moved the build folder (e.g. to output_dir/product_uri)."""
        return replace(self, product_dir=Path(new_dir))


def _utc(t: datetime) -> datetime:
    return t if t.tzinfo is None else t.astimezone(timezone.utc).replace(tzinfo=None)


def create_l2a_tree(l1c: L1CProduct, out_root: Path, *, generation_time: datetime, baseline: str,
                    processing_centre: str, archiving_centre: str,
                    config_paths: Mapping[str, Path | None] | None = None,
                    resolutions: Iterable[int] = (20, 60, 10), image_ext: str = ".jp2",
                    product_doi: str = DEFAULT_DOI, checksums: bool = False) -> L2AProduct:
    """Build the full L2A SAFE tree and its initial metadata inside ``out_root`` (created if missing).

    ``config_paths``: GIPP files used, keyed 'L2A_GIPP', 'L2A_CAL_SC_GIPP', 'L2A_CAL_AC_GIPP', 'L2A_PB_GIPP'
    (copied into rep_info/ under those names, except the PB GIPP, as in the real Sen2Cor product).
    ``resolutions``: every resolution the run will write (e.g. (20, 60, 10) for the default run).
    """
    gen = _utc(generation_time)
    naming.check_baseline(baseline)
    ext = image_ext if image_ext.startswith(".") else "." + image_ext
    res = tuple(sorted(set(int(r) for r in resolutions), key=naming.RESOLUTION_ORDER.index))
    ds_sensing = _datastrip_sensing(l1c)
    product_uri = naming.l2a_product_uri(l1c.product_name, baseline, gen)
    l2a = L2AProduct(
        product_dir=Path(out_root), product_uri=product_uri,
        granule_name=naming.granule_name(l1c.tile_id, l1c.absolute_orbit, ds_sensing),
        datastrip_name=naming.datastrip_folder(processing_centre, gen, ds_sensing),
        tile_long_id=naming.tile_long_id(l1c.mission_id, processing_centre, gen, l1c.absolute_orbit, l1c.tile_id,
                                         baseline),
        datastrip_long_id=naming.datastrip_long_id(l1c.mission_id, processing_centre, gen, ds_sensing, baseline),
        file_prefix=naming.file_prefix(l1c.tile_id, l1c.datatake_sensing), resolutions=res, image_ext=ext,
        baseline=baseline, generation_time=gen, mission=l1c.mission_id,
        l1c_manifest=(l1c.safe_path / "manifest.safe") if (l1c.safe_path / "manifest.safe").is_file() else None,
        hyper=l1c.is_hyper_ms, layers=dict(l1c.sensor.l2a_layers))

    # folders ----------------------------------------------------------------------------------------------
    for d in (l2a.product_dir / "AUX_DATA", l2a.product_dir / "HTML", l2a.rep_info_dir, l2a.datastrip_dir / "QI_DATA",
              l2a.qi_dir, l2a.aux_dir, *l2a.img_dirs.values()):
        d.mkdir(parents=True, exist_ok=True)

    # copies from the L1C ----------------------------------------------------------------------------------
    l1c_html = l1c.safe_path / "HTML"
    if l1c_html.is_dir():
        shutil.copytree(l1c_html, l2a.product_dir / "HTML", dirs_exist_ok=True)
    l1c_granule_dir = l1c.mtd_tile_path.parent
    copy_l1c_qi(l1c, l1c_granule_dir / "QI_DATA", l2a.qi_dir)
    if l1c.datastrip_name:
        src_ds_qi = l1c.safe_path / "DATASTRIP" / l1c.datastrip_name / "QI_DATA"
        if src_ds_qi.is_dir():
            shutil.copytree(src_ds_qi, l2a.datastrip_dir / "QI_DATA", dirs_exist_ok=True)
    copy_aux_data(l1c, l1c_granule_dir / "AUX_DATA", l2a.aux_dir)
    copy_gipps(config_paths or {}, l2a.rep_info_dir)
    write_xsd_stubs(l2a.rep_info_dir)

    # metadata ---------------------------------------------------------------------------------------------
    gen_iso = naming.iso_time(gen)
    enc = l1c.sensor.boa
    prod = build_product_mtd(l1c.mtd_product_path, product_uri=product_uri, baseline=baseline,
                             product_doi=product_doi, generation_time_iso=gen_iso,
                             datastrip_id=l2a.datastrip_long_id, tile_id=l2a.tile_long_id,
                             image_files=l2a.image_entries(), image_ext=ext,
                             with_offset=enc.offset_for(l1c.has_radiometric_offset) > 0,
                             boa_quantification=int(enc.quantification), boa_offset_dn=enc.offset_dn,
                             band_ids=tuple(b.band_id for b in l1c.sensor.bands))
    write_xml(prod, l2a.mtd_product_path)
    masks = [(kind, naming.qi_mask_name(kind, r) + ext) for r in naming.QI_MASK_RESOLUTIONS
             for kind in naming.QI_MASK_KINDS if r in res]
    if l1c.is_hyper_ms:
        masks = [(kind, naming.qi_mask_name(kind, 30) + ext) for kind in naming.QI_MASK_KINDS]
    tile = build_tile_mtd(l1c.mtd_tile_path, l1c_granule=l1c.granule_name, l2a_granule=l2a.granule_name,
                          tile_id=l2a.tile_long_id, datastrip_id=l2a.datastrip_long_id,
                          archiving_centre=archiving_centre, archiving_time_iso=gen_iso, qi_masks=masks,
                          pvi_file=naming.pvi_name(l2a.file_prefix) + ext)
    write_xml(tile, l2a.mtd_tile_path)
    start = l1c.sensing_start
    ds = build_datastrip_mtd(l1c.mtd_datastrip_path, datastrip_id=l2a.datastrip_long_id, baseline=baseline,
                             processing_centre=processing_centre, archiving_centre=archiving_centre,
                             generation_time_iso=gen_iso, sensing_start_iso=iso_safe(start),
                             datatake_start_iso=iso_safe(start))
    write_xml(ds, l2a.mtd_datastrip_path)
    if not l2a.hyper:               # Sen2Cor 3 writes neither INSPIRE.xml nor manifest.safe for Hyper MS
        write_inspire(l2a.product_dir / "INSPIRE.xml", prod, product_uri, gen)
    write_quality(l2a.quality_path, {}, mission=l1c.mission_id, granule_name=l2a.granule_name,
                  granule_url=_final_granule_url(l2a), psd=psd_major(prod.getroot()), hyper=l1c.is_hyper_ms)
    if not l2a.hyper:
        write_manifest(l2a.product_dir, l2a.l1c_manifest, checksums=checksums,
                       fallback={"start": iso_safe(start)})
    return l2a


def _datastrip_sensing(l1c: L1CProduct) -> str:
    """The datastrip sensing start: from the DS folder name, else the MTD_TL DATASTRIP_ID (prisma4sen2like cuts
    the last digit off its DS folder names), else the product's start time."""
    for name in (l1c.datastrip_name, l1c.datastrip_long_id):
        try:
            return naming.datastrip_sensing(name or "")
        except ValueError:
            continue
    return naming.compact_time(l1c.sensing_start)


def _final_granule_url(l2a: L2AProduct) -> str:
    """Granule path of the product once moved to its final name beside the build folder."""
    parent = l2a.product_dir.parent
    if parent.name.startswith(STAGING_PREFIX):          # built in <output>/.sen2cor3-staging-<pid>-<name>/
        parent = parent.parent
    return str(parent / l2a.product_uri / "GRANULE" / l2a.granule_name)


def _entry(l2a: L2AProduct, f: Path | str) -> str:
    """IMAGE_FILE text of a written file: path relative to the product root, no extension."""
    p = Path(f)
    if p.is_absolute():
        p = p.relative_to(l2a.product_dir)
    return p.with_suffix("").as_posix() if p.suffix else p.as_posix()


def _sort_key(entry: str, layers: Mapping[int, tuple[str, ...]] | None = None) -> tuple[int, float, str]:
    """Sen2Cor's toolbox order: resolution 20, 60, 10; inside, the order of the sensor's layers. The optional
    DEM (AUX_DATA) follows the resolution's spectral bands, its place in Sen2Cor 3's band lists
    (``L2A_Tables.exportBandList``: ... B11, B12, DEM, SCL, ...; 10 m: B02, B03, B04, B08, DEM, AOT, ...)."""
    stem = entry.rsplit("/", 1)[-1]
    band, res_txt = stem.split("_")[-2:]
    res = int(res_txt.rstrip("m"))
    order = (naming.L2A_BANDS if layers is None else layers).get(res, ())
    if band == "DEM":
        first_map = next((i for i, b in enumerate(order) if b in naming.NON_BOA_LAYERS), len(order))
        pos = first_map - 0.5
    else:
        pos = order.index(band) if band in order else 99
    return (naming.RESOLUTION_ORDER.index(res) if res in naming.RESOLUTION_ORDER else 99, pos, stem)


def finalize_l2a_metadata(l2a: L2AProduct, *, image_files_written: Iterable[Path | str],
                          qi_values: Mapping[str, object], aux_info: Mapping[str, object] | None = None,
                          checksums: bool = True) -> None:
    """Record the run in the metadata: IMAGE_FILE list, QI values, aux references, L2A_QUALITY, manifest.

    ``image_files_written``: the image files actually written (paths, absolute or relative to the product).
    ``qi_values``: value names of L2A_QUALITY.xml / Image_Content_QI (CLOUDY_PIXEL_PERCENTAGE,
    DARK_FEATURES_PERCENTAGE or CAST_SHADOW_PERCENTAGE, GRANULE_MEAN_AOT, AOT_RETRIEVAL_METHOD, DEM_TYPE,
    NEGATIVE_BOA_PERCENTAGE={'B01': ..}, LUT_DATA_FILES=[...], AUX_DATA_FILES=[...], ...); missing -> 0 / 'NA'.
    ``aux_info``: MTD Auxiliary_Data_Info (PRODUCTION_DEM_TYPE, LUT_FILENAME, SNOW_CLIMATOLOGY_MAP, ESACCI_*).
    """
    aux_info = dict(aux_info or {})
    if "LUT_FILENAME" not in aux_info and "LUT_DATA_FILES" in qi_values:
        aux_info["LUT_FILENAME"] = qi_values["LUT_DATA_FILES"]
    entries = sorted({_entry(l2a, f) for f in image_files_written}, key=lambda e: _sort_key(e, l2a.layers))
    # sen2like derives the granule from the LAST IMAGE_FILE: it must sit in GRANULE/<g>/IMG_DATA/R..m/.
    prod = read_xml(l2a.mtd_product_path)
    set_image_files(prod, entries)
    gr = prod.getroot().find(".//Granule_List/Granule")
    gr.set("imageFormat", image_format(l2a.image_ext))
    set_image_content_qi(prod, qi_values, tile_level=False)
    set_aux_info(prod, aux_info)
    write_xml(prod, l2a.mtd_product_path)

    tile = read_xml(l2a.mtd_tile_path)
    set_image_content_qi(tile, qi_values, tile_level=True)
    prune_pixel_level_qi(tile, l2a.product_dir)
    write_xml(tile, l2a.mtd_tile_path)

    values = dict(qi_values)
    values.setdefault("DEGRADED_MSI_DATA_PERCENTAGE",
                      float(tile.getroot().findtext(".//Image_Content_QI/DEGRADED_MSI_DATA_PERCENTAGE") or 0.0))
    write_quality(l2a.quality_path, values, mission=l2a.mission, granule_name=l2a.granule_name,
                  granule_url=_final_granule_url(l2a), psd=psd_major(prod.getroot()), hyper=l2a.hyper)
    if not l2a.hyper:
        write_manifest(l2a.product_dir, l2a.l1c_manifest, checksums=checksums)


def read_image_files(mtd_product: Path) -> list[str]:
    """IMAGE_FILE entries of an MTD_MSIL2A.xml (ours or a real one)."""
    return [e.text or "" for e in etree.parse(str(mtd_product)).getroot().iter("IMAGE_FILE")]


# ------------------------------------------------------------------------------------------------------------
# Ground-segment mode: the bare L2A datastrip and tile folders (``--mode generate_datastrip`` / ``process_tile``)
# ------------------------------------------------------------------------------------------------------------
_L2A_DS_ID = re.compile(r"^(?P<mission>S2[A-DP])_OPER_MSI_L2A_DS_(?P<centre>.{4})_(?P<creation>\d{8}T\d{6})_"
                        r"S(?P<sensing>\d{8}T\d{6})_N(?P<pb>\d{2}\.\d{2})$")


def mission_from_spacecraft(name: str) -> str:
    """'Sentinel-2B' -> 'S2B' (Sen2Cor: ``'S' + SPACECRAFT_NAME.split('-')[-1]``)."""
    return "S" + name.strip().split("-")[-1]


@dataclass(frozen=True)
class L2ADatastripInfo:
    """What ``process_tile`` takes from the L2A datastrip that ``generate_datastrip`` wrote."""
    path: Path
    datastrip_id: str                 # the folder name = DATASTRIP_ID of the tiles
    mission: str
    processing_centre: str            # MTD_DS PROCESSING_CENTER (Sen2Cor ``getEntriesFromDatastrip``)
    archiving_centre: str             # MTD_DS ARCHIVING_CENTRE
    creation: str                     # the id's creation field: the creation field of the tile ids
    sensing: str                      # the id's S field
    baseline: str                     # MTD_DS PROCESSING_BASELINE (= the id's N field)


def parse_l2a_datastrip_id(name: str) -> dict[str, str] | None:
    """Fields of ``S2x_OPER_MSI_L2A_DS_<centre>_<creation>_S<sensing>_N<pb>``, or None."""
    m = _L2A_DS_ID.match(name)
    return m.groupdict() if m else None


def read_l2a_datastrip(ds_dir: Path) -> L2ADatastripInfo:
    """The L2A datastrip folder of ``--mode process_tile``; ValueError with one line when it is not one."""
    ds_dir = Path(ds_dir)
    f = parse_l2a_datastrip_id(ds_dir.name)
    mtd = ds_dir / "MTD_DS.xml"
    if f is None:
        raise ValueError(f"{ds_dir}: not a Level-2A datastrip folder (S2x_OPER_MSI_L2A_DS_<centre>_<creation>_"
                         "S<sensing>_N<baseline>, made by --mode generate_datastrip)")
    if not mtd.is_file():
        raise ValueError(f"{mtd}: L2A datastrip metadata missing")
    root = read_xml(mtd).getroot()
    if "Level-2A" not in etree.QName(root).localname:
        raise ValueError(f"{mtd}: not a Level-2A datastrip metadata (root <{etree.QName(root).localname}>)")

    def text(tag: str, default: str) -> str:
        el = root.find(f".//{{*}}{tag}")
        return (el.text or "").strip() if el is not None and (el.text or "").strip() else default

    return L2ADatastripInfo(path=ds_dir, datastrip_id=ds_dir.name, mission=f["mission"],
                            processing_centre=text("PROCESSING_CENTER", f["centre"]),
                            archiving_centre=text("ARCHIVING_CENTRE", f["centre"]), creation=f["creation"],
                            sensing=f["sensing"], baseline=text("PROCESSING_BASELINE", f["pb"]))


def _l1c_datastrip_facts(l1c_ds_mtd: Path) -> tuple[etree._Element, str, str, datetime]:
    """(root, DATASTRIP_SENSING_START text, mission, sensing start) of an L1C MTD_DS.xml; ValueError if absent."""
    src = read_xml(Path(l1c_ds_mtd)).getroot()

    def text(tag: str) -> str:
        el = src.find(f".//{{*}}{tag}")
        if el is None or not (el.text or "").strip():
            raise ValueError(f"{l1c_ds_mtd}: missing element <{tag}>")
        return el.text.strip()

    start = text("DATASTRIP_SENSING_START")
    try:
        sensing = datetime.strptime(start.rstrip("Z").split(".")[0], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise ValueError(f"{l1c_ds_mtd}: <DATASTRIP_SENSING_START> is not a UTC time ({start!r})") from None
    return src, start, mission_from_spacecraft(text("SPACECRAFT_NAME")), sensing


def l2a_datastrip_id(l1c_ds_mtd: Path, *, generation_time: datetime, baseline: str, processing_centre: str) -> str:
    """``S2x_OPER_MSI_L2A_DS_<centre>_<creation>_S<sensing>_N<pb>`` (Sen2Cor 3 ``L2A_ProcessDataStrip.generate``,
    GENERATE_DATASTRIP: ``'S' + SPACECRAFT_NAME[-2:]``, the processing centre, the creation (now), the L1C
    DATASTRIP_SENSING_START, ``N%05.2f`` of the baseline)."""
    _, _, mission, sensing = _l1c_datastrip_facts(l1c_ds_mtd)
    return naming.datastrip_long_id(mission, processing_centre, _utc(generation_time), naming.compact_time(sensing),
                                    baseline)


def create_l2a_datastrip(l1c_ds_mtd: Path, folder: Path, *, generation_time: datetime, baseline: str,
                         processing_centre: str, archiving_centre: str,
                         ground_segment: GroundSegmentDatastrip) -> Path:
    """``--mode generate_datastrip``: fill ``folder`` (to be named :func:`l2a_datastrip_id`) with ``MTD_DS.xml``
    and an empty ``QI_DATA/``; returns the folder.

    As Sen2Cor 3 (03.03.01 ``L2A_ProcessDataStrip.generate``, operation mode GENERATE_DATASTRIP): the folder is
    made directly in the output directory under the long id; the L1C MTD is copied as MTD_DS.xml and converted
    (here: the toolbox conversion, :func:`build_datastrip_mtd`, plus :class:`GroundSegmentDatastrip`); the L1C
    QI_DATA reports are not carried over (QI_DATA is created empty).
    """
    gen = _utc(generation_time)
    src, start, _, _ = _l1c_datastrip_facts(l1c_ds_mtd)
    ds_id = l2a_datastrip_id(l1c_ds_mtd, generation_time=gen, baseline=baseline, processing_centre=processing_centre)
    folder = Path(folder)
    (folder / "QI_DATA").mkdir(parents=True, exist_ok=True)
    dt_start = src.find(".//{*}DATATAKE_SENSING_START")
    tree = build_datastrip_mtd(Path(l1c_ds_mtd), datastrip_id=ds_id, baseline=baseline,
                               processing_centre=processing_centre, archiving_centre=archiving_centre,
                               generation_time_iso=naming.iso_time(gen), sensing_start_iso=start,
                               datatake_start_iso=(dt_start.text or start) if dt_start is not None else start,
                               ground_segment=replace(ground_segment, creation=gen))
    write_xml(tree, folder / "MTD_DS.xml")
    return folder


@dataclass
class L2ATile(L2AProduct):
    """A bare L2A tile folder (``process_tile``): the granule is the folder itself, no product around it."""

    @property
    def granule_dir(self) -> Path:
        return self.product_dir


def l2a_tile_name(l1c: L1CProduct, ds: L2ADatastripInfo) -> str:
    """``S2x_OPER_MSI_L2A_TL_<centre>_<creation>_A<orbit>_T<tile>_N<pb>`` (Sen2Cor 3 ``L2A_Config.create_L2A_Tile``,
    PROCESS_TILE: the processing centre of the L2A datastrip, the creation field of the L2A datastrip id, the
    absolute orbit and tile of the L1C granule, the baseline)."""
    return naming.tile_long_id(l1c.mission_id, ds.processing_centre, ds.creation, l1c.absolute_orbit, l1c.tile_id,
                               ds.baseline)


def _mtd_granule_name(mtd_tl: Path, default: str) -> str:
    """The granule folder name the L1C MTD_TL paths use (``GRANULE/<name>/QI_DATA/...``)."""
    for el in read_xml(mtd_tl).getroot().iter("MASK_FILENAME", "PVI_FILENAME"):
        parts = Path((el.text or "").strip()).parts
        if len(parts) > 2 and parts[0] == "GRANULE":
            return parts[1]
    return default


def create_l2a_tile(l1c: L1CProduct, ds: L2ADatastripInfo, out_root: Path, *, generation_time: datetime,
                    resolutions: Iterable[int] = (20, 60, 10), image_ext: str = ".jp2",
                    final_dir: Path | None = None) -> L2ATile:
    """``--mode process_tile``: the bare tile folder ``out_root`` (IMG_DATA/R..m, QI_DATA with the L1C masks
    and L2A_QUALITY.xml, AUX_DATA with the L1C aux files, MTD_TL.xml); images are then written by the same
    processing as in the toolbox mode, under the same file names (``T<tile>_<sensing>_<band>_<res>m``).

    MTD_TL.xml: TILE_ID = the folder name, DATASTRIP_ID = the L2A datastrip id, L1C_TILE_ID kept, ARCHIVING_CENTRE
    of the L2A datastrip (Sen2Cor ``getEntriesFromDatastrip``, ``set_L2A_DS_and_Tile_metadata``); the QI file
    paths keep the compact granule form ``GRANULE/L2A_T<tile>_A<orbit>_<datastrip sensing>/QI_DATA/...`` that the
    user product will have: Sen2Cor converts the L1C MTD_TL with the same text rule in both modes
    (``L2A_XmlParser.convert``: ``GRANULE/L1C`` -> ``GRANULE/L2A``), and real ground-segment tile metadata lists
    compact paths too (the PDI tile T55JGF in ../shared/data: ``GRANULE/L1C_T55JGF_...``).
    ``final_dir``: where the folder will be once committed (for L2A_QUALITY's granule URL).
    """
    gen = _utc(generation_time)
    ext = image_ext if image_ext.startswith(".") else "." + image_ext
    res = tuple(sorted(set(int(r) for r in resolutions), key=naming.RESOLUTION_ORDER.index))
    tile_id = l2a_tile_name(l1c, ds)
    granule = naming.granule_name(l1c.tile_id, l1c.absolute_orbit, ds.sensing)
    tile = L2ATile(product_dir=Path(out_root), product_uri=tile_id, granule_name=granule,
                   datastrip_name=ds.datastrip_id, tile_long_id=tile_id, datastrip_long_id=ds.datastrip_id,
                   file_prefix=naming.file_prefix(l1c.tile_id, l1c.datatake_sensing), resolutions=res,
                   image_ext=ext, baseline=ds.baseline, generation_time=gen, mission=l1c.mission_id,
                   hyper=False, layers=dict(l1c.sensor.l2a_layers))
    for d in (tile.qi_dir, tile.aux_dir, *tile.img_dirs.values()):
        d.mkdir(parents=True, exist_ok=True)
    l1c_granule_dir = l1c.mtd_tile_path.parent
    copy_l1c_qi(l1c, l1c_granule_dir / "QI_DATA", tile.qi_dir)
    copy_aux_data(l1c, l1c_granule_dir / "AUX_DATA", tile.aux_dir)
    masks = [(kind, naming.qi_mask_name(kind, r) + ext) for r in naming.QI_MASK_RESOLUTIONS
             for kind in naming.QI_MASK_KINDS if r in res]
    mtd = build_tile_mtd(l1c.mtd_tile_path, l1c_granule=_mtd_granule_name(l1c.mtd_tile_path, l1c.granule_name),
                         l2a_granule=granule, tile_id=tile_id, datastrip_id=ds.datastrip_id,
                         archiving_centre=ds.archiving_centre, archiving_time_iso=naming.iso_time(gen),
                         qi_masks=masks, pvi_file=naming.pvi_name(tile.file_prefix) + ext)
    write_xml(mtd, tile.mtd_tile_path)
    tile.extra["final_dir"] = str(final_dir or out_root)
    write_quality(tile.quality_path, {}, mission=l1c.mission_id, granule_name=tile_id,
                  granule_url=tile.extra["final_dir"], psd=psd_major(mtd.getroot()), hyper=False)
    return tile


def finalize_l2a_tile(tile: L2ATile, *, qi_values: Mapping[str, object]) -> None:
    """Record the run in the tile's MTD_TL.xml (Image_Content_QI, the QI files really written) and
    QI_DATA/L2A_QUALITY.xml, as :func:`finalize_l2a_metadata` does for the tile of a user product."""
    mtd = read_xml(tile.mtd_tile_path)
    set_image_content_qi(mtd, qi_values, tile_level=True)
    prune_pixel_level_qi(mtd, tile.product_dir, granule_dir=tile.granule_dir)
    write_xml(mtd, tile.mtd_tile_path)
    values = dict(qi_values)
    values.setdefault("DEGRADED_MSI_DATA_PERCENTAGE",
                      float(mtd.getroot().findtext(".//Image_Content_QI/DEGRADED_MSI_DATA_PERCENTAGE") or 0.0))
    write_quality(tile.quality_path, values, mission=tile.mission, granule_name=tile.tile_long_id,
                  granule_url=tile.extra.get("final_dir", str(tile.product_dir)), psd=psd_major(mtd.getroot()),
                  hyper=False)
