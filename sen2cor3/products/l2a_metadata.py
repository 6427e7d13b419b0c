"""MTD_MSIL2A.xml, MTD_TL.xml and MTD_DS.xml of the L2A product, derived from the L1C metadata.

Sen2Cor does not write these from scratch: it takes the L1C documents and turns them into L2A ones (new root
and namespace, new ids, L2A quantification/offsets/SC legend, L2A aux and QI fields), so every L1C field a
client may read (angles, footprint, spectral information, GIPP list...) survives. We do the same with lxml;
element names and order follow real PB 04.00/05.09 L2A files (stactools test products) and the Sen2Cor-made
product S2B_MSIL2A_20230122T231849_N0400_R087_T01UBT.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from lxml import etree

from . import naming

XSI = "http://www.w3.org/2001/XMLSchema-instance"

#: Scene classification legend (MTD Scene_Classification_List), code order 0..11.
SC_LEGEND: tuple[str, ...] = (
    "SC_NODATA", "SC_SATURATED_DEFECTIVE", "SC_DARK_FEATURE_SHADOW", "SC_CLOUD_SHADOW", "SC_VEGETATION",
    "SC_NOT_VEGETATED", "SC_WATER", "SC_UNCLASSIFIED", "SC_CLOUD_MEDIUM_PROBA", "SC_CLOUD_HIGH_PROBA",
    "SC_THIN_CIRRUS", "SC_SNOW_ICE")

#: Tile-level Image_Content_QI, in the order of real PB 05.09 MTD_TL.xml. 'DARK_FEATURES_PERCENTAGE' is
#: renamed CAST_SHADOW_PERCENTAGE for PSD 15 inputs (Sen2Cor 3 L2A_Quality).
TILE_QI_FIELDS: tuple[str, ...] = (
    "CLOUDY_PIXEL_PERCENTAGE", "CLOUDY_PIXEL_OVER_LAND_PERCENTAGE", "DEGRADED_MSI_DATA_PERCENTAGE",
    "NODATA_PIXEL_PERCENTAGE", "SATURATED_DEFECTIVE_PIXEL_PERCENTAGE", "DARK_FEATURES_PERCENTAGE",
    "CLOUD_SHADOW_PERCENTAGE", "VEGETATION_PERCENTAGE", "NOT_VEGETATED_PERCENTAGE", "WATER_PERCENTAGE",
    "UNCLASSIFIED_PERCENTAGE", "MEDIUM_PROBA_CLOUDS_PERCENTAGE", "HIGH_PROBA_CLOUDS_PERCENTAGE",
    "THIN_CIRRUS_PERCENTAGE", "SNOW_ICE_PERCENTAGE", "RADIATIVE_TRANSFER_ACCURACY",
    "WATER_VAPOUR_RETRIEVAL_ACCURACY", "AOT_RETRIEVAL_ACCURACY", "AOT_RETRIEVAL_METHOD", "GRANULE_MEAN_AOT",
    "GRANULE_MEAN_WV", "OZONE_SOURCE", "OZONE_VALUE")
#: Product level: the same without CLOUDY_PIXEL_PERCENTAGE (it is Cloud_Coverage_Assessment) and
#: DEGRADED_MSI_DATA_PERCENTAGE (it is in Technical_Quality_Assessment), as in real MTD_MSIL2A.xml.
PRODUCT_QI_FIELDS: tuple[str, ...] = tuple(
    f for f in TILE_QI_FIELDS if f not in ("CLOUDY_PIXEL_PERCENTAGE", "DEGRADED_MSI_DATA_PERCENTAGE"))
QI_TEXT_FIELDS = frozenset({"AOT_RETRIEVAL_METHOD", "OZONE_SOURCE"})
#: Written as '0.0' by Sen2Cor whatever the run (no accuracy model).
QI_CONSTANT_ZERO = frozenset({"RADIATIVE_TRANSFER_ACCURACY", "WATER_VAPOUR_RETRIEVAL_ACCURACY",
                              "AOT_RETRIEVAL_ACCURACY"})

#: Auxiliary_Data_Info elements Sen2Cor appends after the L1C ones, with their defaults.
AUX_DEFAULTS: dict[str, str] = {
    "LUT_FILENAME": "None",
    "SNOW_CLIMATOLOGY_MAP": "GlobalSnowMap.tiff",
    "ESACCI_WaterBodies_Map": "ESACCI-LC-L4-WB-Map-150m-P13Y-2000-v4.0.tif",
    "ESACCI_LandCover_Map": "ESACCI-LC-L4-LCCS-Map-300m-P1Y-2015-v2.0.7.tif",
    "ESACCI_SnowCondition_Map_Dir": "ESACCI-LC-L4-Snow-Cond-500m-MONTHLY-2000-2012-v2.4",
}


# ----------------------------------------------------------------------------------------------- helpers
def iso_safe(t: datetime) -> str:
    """SAFE time stamp with milliseconds ('2023-08-21T22:19:41.024Z'), as sensing times are written."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def read_xml(path: Path) -> etree._ElementTree:
    """Parse an XML file, dropping ignorable whitespace so that pretty printing re-indents cleanly."""
    return etree.parse(str(path), etree.XMLParser(remove_blank_text=True))


def write_xml(tree: etree._ElementTree | etree._Element, path: Path) -> Path:
    """Write as Sen2Cor does (lxml: single-quoted UTF-8 declaration, indented)."""
    root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    etree.indent(root, space="  ")
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
    return path


def fmt_number(value: object) -> str:
    """Numbers the way Sen2Cor formats QI values ('%f'); text passes through."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)) or hasattr(value, "dtype"):
        return "%f" % float(value)  # noqa: UP031 - the exact Sen2Cor format
    return str(value)


def psd_major(root: etree._Element) -> int:
    """PSD generation of a metadata document from its namespace ('https://psd-14....' -> 14)."""
    ns = etree.QName(root).namespace or ""
    for token in ns.replace("/", ".").split("."):
        if token.startswith("psd-") and token[4:].isdigit():
            return int(token[4:])
    return 14


def dark_feature_field(psd: int) -> str:
    """Element name of SC class 2 percentage: DARK_FEATURES_PERCENTAGE before PSD 15, CAST_SHADOW_ after."""
    return "CAST_SHADOW_PERCENTAGE" if psd >= 15 else "DARK_FEATURES_PERCENTAGE"


def _new_root(src: etree._Element, old: str, new: str) -> tuple[etree._Element, str]:
    """A fresh root named/namespaced as the L2A twin of ``src`` (``old`` -> ``new`` in tag, ns, schema)."""
    q = etree.QName(src)
    ns = (q.namespace or "").replace(old, new)
    root = etree.Element(f"{{{ns}}}{q.localname.replace('Level-1C', 'Level-2A')}", nsmap={"n1": ns, "xsi": XSI})
    loc = src.get(f"{{{XSI}}}schemaLocation")
    root.set(f"{{{XSI}}}schemaLocation", loc.replace(old, new) if loc else ns)
    return root, ns


def _section(root: etree._Element, ns: str, src_section: etree._Element | None, name: str) -> etree._Element:
    """Copy a top-level n1: section of the L1C document into the L2A root (children unchanged)."""
    sec = etree.SubElement(root, f"{{{ns}}}{name}")
    if src_section is not None:
        for k, v in src_section.attrib.items():
            sec.set(k, v)
        for child in src_section:
            sec.append(copy.deepcopy(child))
    return sec


def _child(parent: etree._Element, tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    el = etree.SubElement(parent, tag, **attrib)
    if text is not None:
        el.text = text
    return el


def _top(root: etree._Element, name: str) -> etree._Element | None:
    for el in root:
        if isinstance(el.tag, str) and etree.QName(el).localname == name:
            return el
    return None


def _set_text(parent: etree._Element, tag: str, text: str) -> None:
    el = parent.find(tag)
    if el is None:
        el = etree.SubElement(parent, tag)
    el.text = text


def image_format(image_ext: str) -> str:
    """Granule@imageFormat: 'JPEG2000', 'GeoTIFF' (as the real Sen2Cor --tif product) or 'BINARY' (raw)."""
    ext = image_ext.lower().lstrip(".")
    return {"jp2": "JPEG2000", "tif": "GeoTIFF", "tiff": "GeoTIFF"}.get(ext, "BINARY")


def image_content_qi(fields: Iterable[str], values: Mapping[str, object], dark_name: str) -> etree._Element:
    """An Image_Content_QI element: numbers '%f' (0 until filled), text 'NA' until filled."""
    qi = etree.Element("Image_Content_QI")
    for f in fields:
        name = dark_name if f == "DARK_FEATURES_PERCENTAGE" else f
        if f in QI_CONSTANT_ZERO:
            text = fmt_number(values[f]) if f in values else "0.0"
        elif f in QI_TEXT_FIELDS:
            text = str(values.get(f, "NA"))
        else:
            if f == "DARK_FEATURES_PERCENTAGE":  # accept either spelling from the caller
                v = values.get(name, values.get(f, values.get("CAST_SHADOW_PERCENTAGE", 0.0)))
            else:
                v = values.get(f, 0.0)
            text = fmt_number(v)
        _child(qi, name, text)
    return qi


# ----------------------------------------------------------------------------------------- MTD_MSIL2A.xml
def build_product_mtd(l1c_mtd: Path, *, product_uri: str, baseline: str, product_doi: str,
                      generation_time_iso: str, datastrip_id: str, tile_id: str, image_files: list[str],
                      image_ext: str, with_offset: bool, boa_quantification: int = 10000,
                      l2a_gipp_version: str = "", boa_offset_dn: int = 1000,
                      band_ids: tuple[int, ...] = tuple(range(13))) -> etree._ElementTree:
    """MTD_MSIL2A.xml from MTD_MSIL1C.xml (structure of real PB 04.00/05.09 L2A files); the BOA quantification,
    offset and band ids are the sensor description's encoding rule."""
    src = read_xml(l1c_mtd).getroot()
    root, ns = _new_root(src, "Level-1C", "Level-2A")
    psd = psd_major(src)

    # General_Info ------------------------------------------------------------------------------------
    s_gi = _top(src, "General_Info")
    gi = etree.SubElement(root, f"{{{ns}}}General_Info")
    s_pi = s_gi.find("Product_Info") if s_gi is not None else None
    pi = _child(gi, "Product_Info")
    get = (lambda t, d="": (s_pi.findtext(t) or d) if s_pi is not None else d)  # noqa: E731
    _child(pi, "PRODUCT_START_TIME", get("PRODUCT_START_TIME"))
    _child(pi, "PRODUCT_STOP_TIME", get("PRODUCT_STOP_TIME"))
    _child(pi, "PRODUCT_URI", product_uri)
    _child(pi, "PROCESSING_LEVEL", "Level-2A")
    _child(pi, "PRODUCT_TYPE", "S2MSI2A")
    _child(pi, "PROCESSING_BASELINE", baseline)
    _child(pi, "PRODUCT_DOI", product_doi)
    _child(pi, "GENERATION_TIME", generation_time_iso)
    _child(pi, "PREVIEW_IMAGE_URL", get("PREVIEW_IMAGE_URL", "Not applicable"))
    _child(pi, "PREVIEW_GEO_INFO", get("PREVIEW_GEO_INFO", "Not applicable"))
    s_dt = s_pi.find("Datatake") if s_pi is not None else None
    if s_dt is not None:
        dt = copy.deepcopy(s_dt)
        dt.set("datatakeIdentifier", naming.datatake_identifier(dt.get("datatakeIdentifier", ""), baseline))
        pi.append(dt)
    s_qo = s_pi.find("Query_Options") if s_pi is not None else None
    if s_qo is not None:
        pi.append(copy.deepcopy(s_qo))
    org = _child(pi, "Product_Organisation")
    gl = _child(org, "Granule_List")
    gr = _child(gl, "Granule", datastripIdentifier=datastrip_id, granuleIdentifier=tile_id,
                imageFormat=image_format(image_ext))
    for f in image_files:
        _child(gr, "IMAGE_FILE", f)

    # Product_Image_Characteristics: L1C content with L1C quantification/offsets swapped for L2A ones.
    s_pic = s_gi.find("Product_Image_Characteristics") if s_gi is not None else None
    pic = _child(gi, "Product_Image_Characteristics")
    inserted = False

    def insert_l2a_quantification() -> None:
        ql = _child(pic, "QUANTIFICATION_VALUES_LIST")
        _child(ql, "BOA_QUANTIFICATION_VALUE", str(boa_quantification), unit="none")
        _child(ql, "AOT_QUANTIFICATION_VALUE", "1000.0", unit="none")
        _child(ql, "WVP_QUANTIFICATION_VALUE", "1000.0", unit="cm")
        if with_offset:
            ol = _child(pic, "BOA_ADD_OFFSET_VALUES_LIST")
            for band_id in band_ids:
                _child(ol, "BOA_ADD_OFFSET", str(-int(boa_offset_dn)), band_id=str(band_id))

    for el in (list(s_pic) if s_pic is not None else []):
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in ("QUANTIFICATION_VALUE", "Radiometric_Offset_List"):
            if not inserted:
                insert_l2a_quantification()
                inserted = True
            continue
        if not tag:
            continue
        pic.append(copy.deepcopy(el))
    if not inserted:
        insert_l2a_quantification()
    scl = _child(pic, "Scene_Classification_List")
    for code, text in enumerate(SC_LEGEND):
        sid = _child(scl, "Scene_Classification_ID")
        _child(sid, "SCENE_CLASSIFICATION_TEXT", text)
        _child(sid, "SCENE_CLASSIFICATION_INDEX", str(code))

    # Geometric_Info: unchanged ------------------------------------------------------------------------
    _section(root, ns, _top(src, "Geometric_Info"), "Geometric_Info")

    # Auxiliary_Data_Info: L1C entries + the three L2A GIPPs + the L2A aux references ---------------------
    adi = _section(root, ns, _top(src, "Auxiliary_Data_Info"), "Auxiliary_Data_Info")
    gipp_list = adi.find("GIPP_List")
    if gipp_list is None:
        gipp_list = etree.Element("GIPP_List")
        adi.insert(0, gipp_list)
    version = l2a_gipp_version or naming.SEN2COR_VERSION.replace(".", "").zfill(7)
    for typ, ver, text in (("GIP_L2ACSC", version, "L2A_CAL_SC_GIPP"), ("GIP_L2ACAC", version, "L2A_CAL_AC_GIPP"),
                           ("GIP_PROBA2", baseline.replace(".", ""), "L2A_PB_GIPP")):
        _child(gipp_list, "GIPP_FILENAME", text, type=typ, version=ver)
    if adi.find("PRODUCTION_DEM_TYPE") is None:
        gipp_list.addnext(etree.Element("PRODUCTION_DEM_TYPE"))
    adi.find("PRODUCTION_DEM_TYPE").text = "None"
    lut = _child(adi, "LUT_List")
    _child(lut, "LUT_FILENAME", AUX_DEFAULTS["LUT_FILENAME"])
    for tag in ("SNOW_CLIMATOLOGY_MAP", "ESACCI_WaterBodies_Map", "ESACCI_LandCover_Map",
                "ESACCI_SnowCondition_Map_Dir"):
        _child(adi, tag, AUX_DEFAULTS[tag])

    # Quality_Indicators_Info ------------------------------------------------------------------------
    s_qii = _top(src, "Quality_Indicators_Info")
    qii = etree.SubElement(root, f"{{{ns}}}Quality_Indicators_Info")
    _child(qii, "Cloud_Coverage_Assessment", fmt_number(0.0))
    for el in (list(s_qii) if s_qii is not None else []):
        if not isinstance(el.tag, str) or el.tag in ("Cloud_Coverage_Assessment", "Snow_Coverage_Assessment",
                                                     "Image_Content_QI"):
            continue
        c = copy.deepcopy(el)
        if c.tag == "Quality_Control_Checks":  # toolbox mode drops datastrip reports of failed inspections
            fi = c.find("Failed_Inspections")
            if fi is not None:
                for r in list(fi):
                    fi.remove(r)
        qii.append(c)
    qii.append(image_content_qi(PRODUCT_QI_FIELDS, {}, dark_feature_field(psd)))
    return etree.ElementTree(root)


# -------------------------------------------------------------------------------------------- MTD_TL.xml
def build_tile_mtd(l1c_tile_mtd: Path, *, l1c_granule: str, l2a_granule: str, tile_id: str, datastrip_id: str,
                   archiving_centre: str, archiving_time_iso: str, qi_masks: list[tuple[str, str]],
                   pvi_file: str, degraded_msi: float | None = None) -> etree._ElementTree:
    """MTD_TL.xml of the L2A granule from the L1C one.

    ``qi_masks``: extra (type, file name) entries for Pixel_Level_QI (MSK_CLDPRB/MSK_SNWPRB); the L1C masks are
    kept with their paths moved to the L2A granule.
    """
    src = read_xml(l1c_tile_mtd).getroot()
    root, ns = _new_root(src, "Level-1C", "Level-2A")
    psd = psd_major(src)

    s_gi = _top(src, "General_Info")
    gi = etree.SubElement(root, f"{{{ns}}}General_Info")
    sget = (lambda t: s_gi.find(t) if s_gi is not None else None)  # noqa: E731
    old = sget("TILE_ID")
    _child(gi, "L1C_TILE_ID", old.text if old is not None else "", metadataLevel="Brief")
    _child(gi, "TILE_ID", tile_id, metadataLevel="Brief")
    _child(gi, "DATASTRIP_ID", datastrip_id, metadataLevel="Standard")
    for tag in ("DOWNLINK_PRIORITY", "SENSING_TIME"):
        el = sget(tag)
        if el is not None:
            gi.append(copy.deepcopy(el))
    ai = _child(gi, "Archiving_Info", metadataLevel="Expertise")
    _child(ai, "ARCHIVING_CENTRE", archiving_centre)
    _child(ai, "ARCHIVING_TIME", archiving_time_iso)

    _section(root, ns, _top(src, "Geometric_Info"), "Geometric_Info")

    s_qii = _top(src, "Quality_Indicators_Info")
    qii = etree.SubElement(root, f"{{{ns}}}Quality_Indicators_Info",
                           metadataLevel=(s_qii.get("metadataLevel", "Standard") if s_qii is not None
                                          else "Standard"))
    if degraded_msi is None:
        txt = s_qii.findtext("Image_Content_QI/DEGRADED_MSI_DATA_PERCENTAGE") if s_qii is not None else None
        degraded_msi = float(txt) if txt else 0.0
    qii.append(image_content_qi(TILE_QI_FIELDS, {"DEGRADED_MSI_DATA_PERCENTAGE": degraded_msi},
                                dark_feature_field(psd)))
    plq = _child(qii, "Pixel_Level_QI", geometry="FULL_RESOLUTION")
    s_plq = s_qii.find("Pixel_Level_QI") if s_qii is not None else None
    for m in (list(s_plq) if s_plq is not None else []):
        if not isinstance(m.tag, str):
            continue
        c = copy.deepcopy(m)
        c.text = (c.text or "").replace(f"GRANULE/{l1c_granule}/", f"GRANULE/{l2a_granule}/")
        plq.append(c)
    for typ, fname in qi_masks:
        _child(plq, "MASK_FILENAME", f"GRANULE/{l2a_granule}/QI_DATA/{fname}", type=typ)
    _child(qii, "PVI_FILENAME", f"GRANULE/{l2a_granule}/QI_DATA/{pvi_file}")
    return etree.ElementTree(root)


# -------------------------------------------------------------------------------------------- MTD_DS.xml
@dataclass(frozen=True)
class GroundSegmentDatastrip:
    """What ``--mode generate_datastrip`` adds to the L2A MTD_DS.xml beyond the toolbox conversion.

    Sen2Cor 3 (03.03.01 ``L2A_ProcessDataStrip.add_new_features``, run on the L1C datastrip copied as
    MTD_DS.xml): every ``Tile_List/Tile@tileId`` becomes the L2A tile id (``L1C`` -> ``L2A``, processing centre,
    creation time of the datastrip, ``N<baseline>``); Processing_Info UTC_DATE_TIME (no fraction),
    PROCESSING_CENTER, PROCESSING_BASELINE and, for PSD > 14.6, PRODUCT_DOI; the three L2A GIPPs appended to
    GIPP_List (``GIP_L2ACSC``/``GIP_L2ACAC`` version ``'%04d'`` of the processor version digits,
    ``GIP_PROBA2`` version = baseline digits, each named by its file name without extension); the datatake
    identifier gets the L2A ``_N<baseline>``; Radiometric_Info QUANTIFICATION_VALUE becomes
    QUANTIFICATION_VALUES_LIST (BOA, AOT, WVP); GRI_FILENAME is wrapped in GRI_List; LUT_List/LUT_FILENAME
    ``None``, SNOW_CLIMATOLOGY_MAP and the three ESACCI_* references ('None' when the file is absent),
    PRODUCTION_DEM_TYPE (``None`` without DEM_Directory); Archiving_Info ARCHIVING_TIME (microseconds) and
    ARCHIVING_CENTRE. Before that, Sen2Cor's text converter (``L2A_XmlParser.convert``, product 'DS2A') renames
    Radiometric_Offset_List/RADIO_ADD_OFFSET to BOA_ADD_OFFSET_VALUES_LIST/BOA_ADD_OFFSET (where its
    ``process_tile`` reads the L1C offsets back, ``L2A_Config.getEntriesFromDatastrip``) and the old
    ``<X_QUALITY_FLAG>`` elements to ``<quality_check checkType="X_QUALITY">``; we do the same.
    """
    creation: datetime
    processor_version: str                      # '03.02.00'
    gipp_names: Mapping[str, str]               # {'GIP_L2ACSC': 'L2A_CAL_SC_GIPP', 'GIP_L2ACAC': ..., 'GIP_PROBA2': ...}
    product_doi: str
    dem_type: str = "None"
    aux_names: Mapping[str, str] = field(default_factory=dict)   # SNOW_CLIMATOLOGY_MAP, ESACCI_* -> name or 'None'
    boa_quantification: int = 10000


def build_datastrip_mtd(l1c_ds_mtd: Path | None, *, datastrip_id: str, baseline: str, processing_centre: str,
                        archiving_centre: str, generation_time_iso: str, sensing_start_iso: str,
                        datatake_start_iso: str,
                        ground_segment: GroundSegmentDatastrip | None = None) -> etree._ElementTree:
    """L2A MTD_DS.xml: the L1C datastrip document with L2A ids, or a minimal one when the L1C has none.

    ``ground_segment``: also apply what Sen2Cor's ``generate_datastrip`` adds (:class:`GroundSegmentDatastrip`);
    the toolbox product's datastrip is written without it, as before."""
    if l1c_ds_mtd is not None and Path(l1c_ds_mtd).is_file():
        src = read_xml(Path(l1c_ds_mtd)).getroot()
        root, ns = _new_root(src, "Level-1C", "Level-2A")
        for sec in src:
            if isinstance(sec.tag, str):
                _section(root, ns, sec, etree.QName(sec).localname)
    else:
        ns = "https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-2A_Datastrip_Metadata.xsd"
        root = etree.Element(f"{{{ns}}}Level-2A_DataStrip_ID", nsmap={"n1": ns, "xsi": XSI})
        root.set(f"{{{XSI}}}schemaLocation", ns)
        gi = etree.SubElement(root, f"{{{ns}}}General_Info")
        _child(gi, "Datastrip_Time_Info")
    gi = _top(root, "General_Info")
    for el in gi.iter("DATASTRIP_ID"):
        el.text = datastrip_id
    for el in gi.iter("PROCESSING_BASELINE"):
        el.text = baseline
    for el in gi.iter("PROCESSING_CENTER"):
        el.text = processing_centre
    for el in gi.iter("ARCHIVING_CENTRE"):
        el.text = archiving_centre
    for el in gi.iter("UTC_DATE_TIME"):
        el.text = generation_time_iso
    for el in gi.iter("ARCHIVING_TIME"):
        el.text = generation_time_iso
    ti = gi.find("Datastrip_Time_Info")
    # (the ground-segment datastrip keeps the L1C Datastrip_Time_Info as Sen2Cor does: the PSD's
    # Datastrip_Time_Info has no DATATAKE_SENSING_START, which is in Datatake_Info)
    if ti is not None and ground_segment is None:
        if ti.find("DATATAKE_SENSING_START") is None:
            _child(ti, "DATATAKE_SENSING_START", datatake_start_iso)
        if ti.find("DATASTRIP_SENSING_START") is None:
            _child(ti, "DATASTRIP_SENSING_START", sensing_start_iso)
    tree = etree.ElementTree(root)
    if ground_segment is not None:
        _add_ground_segment_features(tree, ground_segment, baseline=baseline, processing_centre=processing_centre,
                                     archiving_centre=archiving_centre)
    return tree


_L1C_TILE_ID = re.compile(r"^(?P<mission>S2[A-DP])_OPER_MSI_L1C_TL_.{4}_\d{8}T\d{6}_A(?P<orbit>\d{6})_"
                          r"T(?P<tile>\d{2}[A-Z]{3})_N\d{2}\.\d{2}$")


def _add_ground_segment_features(tree: etree._ElementTree, gs: GroundSegmentDatastrip, *, baseline: str,
                                 processing_centre: str, archiving_centre: str) -> None:
    root = tree.getroot()
    psd = psd_major(root)
    creation = gs.creation
    gi = _top(root, "General_Info")
    # Tile_List: the L2A tile ids of the datastrip's tiles
    idi = _top(root, "Image_Data_Info")
    for tile in (idi.iter("Tile") if idi is not None else ()):
        m = _L1C_TILE_ID.match(tile.get("tileId", ""))
        if m:
            new = etree.Element("Tile", tileId=naming.tile_long_id(m["mission"], processing_centre, creation,
                                                                   int(m["orbit"]), m["tile"], baseline))
            tile.addprevious(new)
            tile.getparent().remove(tile)
    # Processing_Info
    pi = gi.find("Processing_Info") if gi is not None else None
    if pi is not None:
        _set_text(pi, "UTC_DATE_TIME", creation.strftime("%Y-%m-%dT%H:%M:%SZ"))
        _set_text(pi, "PROCESSING_CENTER", processing_centre)
        _set_text(pi, "PROCESSING_BASELINE", baseline)
        if psd > 14:                                   # Sen2Cor: productVersion > 14.6
            _set_text(pi, "PRODUCT_DOI", gs.product_doi)
    dt = gi.find("Datatake_Info") if gi is not None else None
    if dt is not None and dt.get("datatakeIdentifier"):
        dt.set("datatakeIdentifier", naming.datatake_identifier(dt.get("datatakeIdentifier"), baseline))
    ai = gi.find("Archiving_Info") if gi is not None else None
    if ai is None and gi is not None:      # Sen2Cor's L2A schema has it; a minimal L1C datastrip may not
        ai = etree.Element("Archiving_Info", metadataLevel="Expertise")
        after = gi.find("Downlink_Info")
        after = after if after is not None else pi
        if after is not None:
            after.addnext(ai)
        else:
            gi.append(ai)
    if ai is not None:
        _set_text(ai, "ARCHIVING_TIME", creation.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if creation.microsecond
                  else creation.strftime("%Y-%m-%dT%H:%M:%SZ"))
        _set_text(ai, "ARCHIVING_CENTRE", archiving_centre)
    # Radiometric_Info: the L2A quantification values (and the offsets under their L2A name)
    ri = idi.find("Radiometric_Info") if idi is not None else None
    if ri is not None:
        qv = ri.find("QUANTIFICATION_VALUE")
        ql = etree.Element("QUANTIFICATION_VALUES_LIST")
        _child(ql, "BOA_QUANTIFICATION_VALUE", str(int(gs.boa_quantification)), unit="none")
        _child(ql, "AOT_QUANTIFICATION_VALUE", "1000.0", unit="none")
        _child(ql, "WVP_QUANTIFICATION_VALUE", "1000.0", unit="cm")
        if qv is not None:
            qv.addprevious(ql)
            ri.remove(qv)
        else:
            ri.insert(0, ql)
        rol = ri.find("Radiometric_Offset_List")
        if rol is not None:
            bol = etree.Element("BOA_ADD_OFFSET_VALUES_LIST")
            for o in rol.iter("RADIO_ADD_OFFSET"):
                _child(bol, "BOA_ADD_OFFSET", (o.text or "").strip(),
                       band_id=o.get("band_id", o.get("bandId", "")))
            rol.addprevious(bol)
            ri.remove(rol)
    for flag in ("SENSOR", "GEOMETRIC", "GENERAL", "FORMAT_CORRECTNESS", "RADIOMETRIC"):
        for el in list(root.iter(f"{flag}_QUALITY_FLAG" if flag != "FORMAT_CORRECTNESS" else "FORMAT_CORRECTNESS_FLAG")):
            el.tag = "quality_check"
            el.set("checkType", flag if flag == "FORMAT_CORRECTNESS" else f"{flag}_QUALITY")
    # Auxiliary_Data_Info
    adi = _top(root, "Auxiliary_Data_Info")
    if adi is None:
        adi = etree.SubElement(root, f"{{{etree.QName(root).namespace}}}Auxiliary_Data_Info")
    gl = adi.find("GIPP_List")
    if gl is None:
        gl = _child(adi, "GIPP_List")
    version = "%04d" % int(gs.processor_version.replace(".", ""))
    for typ in ("GIP_L2ACSC", "GIP_L2ACAC", "GIP_PROBA2"):
        if typ in gs.gipp_names:
            ver = baseline.replace(".", "") if typ == "GIP_PROBA2" else version
            _child(gl, "GIPP_FILENAME", gs.gipp_names[typ], type=typ, version=ver)
    gri = adi.find("GRI_FILENAME")
    if adi.find("GRI_List") is None and gri is not None:
        lst = etree.Element("GRI_List")
        gri.addprevious(lst)
        lst.append(gri)
    lut = adi.find("LUT_List")
    if lut is None:
        lut = _child(adi, "LUT_List")
    _child(lut, "LUT_FILENAME", "None")
    for tag in ("SNOW_CLIMATOLOGY_MAP", "ESACCI_WaterBodies_Map", "ESACCI_LandCover_Map",
                "ESACCI_SnowCondition_Map_Dir"):
        _set_text(adi, tag, str(gs.aux_names.get(tag, AUX_DEFAULTS[tag])))
    _set_text(adi, "PRODUCTION_DEM_TYPE", gs.dem_type)


# ------------------------------------------------------------------------------------------- updates
def set_image_files(tree: etree._ElementTree, image_files: list[str]) -> None:
    """Replace the Granule's IMAGE_FILE list (after the run: only the files actually written)."""
    gr = tree.getroot().find(".//Product_Organisation/Granule_List/Granule")
    for el in gr.findall("IMAGE_FILE"):
        gr.remove(el)
    for f in image_files:
        _child(gr, "IMAGE_FILE", f)


def set_image_content_qi(tree: etree._ElementTree, values: Mapping[str, object], *, tile_level: bool) -> None:
    """Fill Image_Content_QI (and Cloud_Coverage_Assessment at product level) from the QI values."""
    root = tree.getroot()
    qii = _top(root, "Quality_Indicators_Info")
    old = qii.find("Image_Content_QI")
    dark = dark_feature_field(psd_major(root))
    vals = dict(values)
    if tile_level and "DEGRADED_MSI_DATA_PERCENTAGE" not in vals and old is not None:
        txt = old.findtext("DEGRADED_MSI_DATA_PERCENTAGE")
        vals["DEGRADED_MSI_DATA_PERCENTAGE"] = float(txt) if txt else 0.0
    new = image_content_qi(TILE_QI_FIELDS if tile_level else PRODUCT_QI_FIELDS, vals, dark)
    if old is not None:
        old.addprevious(new)
        qii.remove(old)
    else:
        qii.insert(0 if tile_level else 1, new)
    if not tile_level:
        _set_text(qii, "Cloud_Coverage_Assessment", fmt_number(vals.get("CLOUDY_PIXEL_PERCENTAGE", 0.0)))


def set_aux_info(tree: etree._ElementTree, aux_info: Mapping[str, object]) -> None:
    """Fill Auxiliary_Data_Info: PRODUCTION_DEM_TYPE, LUT_FILENAME(s), snow/ESA CCI map names, ECMWF ref."""
    adi = _top(tree.getroot(), "Auxiliary_Data_Info")
    if "PRODUCTION_DEM_TYPE" in aux_info:
        _set_text(adi, "PRODUCTION_DEM_TYPE", str(aux_info["PRODUCTION_DEM_TYPE"]))
    luts = aux_info.get("LUT_FILENAME", aux_info.get("LUT_DATA_FILES"))
    if luts is not None:
        lut_list = adi.find("LUT_List")
        for el in list(lut_list):
            lut_list.remove(el)
        for name in ([luts] if isinstance(luts, str) else list(luts)) or ["None"]:
            _child(lut_list, "LUT_FILENAME", str(name))
    for tag in ("ECMWF_DATA_REF", "SNOW_CLIMATOLOGY_MAP", "ESACCI_WaterBodies_Map", "ESACCI_LandCover_Map",
                "ESACCI_SnowCondition_Map_Dir"):
        if tag in aux_info:
            _set_text(adi, tag, str(aux_info[tag]))


def prune_pixel_level_qi(tree: etree._ElementTree, product_dir: Path, granule_dir: Path | None = None) -> None:
    """Keep only MASK_FILENAME/PVI entries whose file exists (matching by stem, fixing the extension).

    ``granule_dir``: the entries' ``GRANULE/<g>/`` part is this folder (a bare tile of the ground-segment mode).
    """
    qii = _top(tree.getroot(), "Quality_Indicators_Info")
    for el in list(qii.iter("MASK_FILENAME")) + list(qii.iter("PVI_FILENAME")):
        rel = Path(el.text or "")
        folder = product_dir / rel.parent
        if granule_dir is not None and len(rel.parts) > 2 and rel.parts[0] == "GRANULE":
            folder = granule_dir.joinpath(*rel.parts[2:-1])
        found = sorted(folder.glob(rel.stem + ".*")) if el.text else []
        found = [p for p in found if p.suffix.lower() not in (".aux", ".xml", ".gfs", ".hdr", ".ovr")] or found
        if found:
            el.text = str(rel.parent / found[0].name)
        elif el.tag == "MASK_FILENAME":
            el.getparent().remove(el)
