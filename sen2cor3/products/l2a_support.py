"""Side files of the L2A SAFE: copied L1C masks/QI reports/aux data, GIPPs and schema stubs in rep_info,
and INSPIRE.xml.

They carry no science but users and archives expect them where Sen2Cor puts them (real product
S2B_MSIL2A_20230122T231849_N0400_R087_T01UBT: rep_info/ holds L2A_GIPP.xml, L2A_CAL_SC_GIPP.xml,
L2A_CAL_AC_GIPP.xml, three top-level XSDs and the run report; QI_DATA/ the L1C masks and QI reports).
"""
from __future__ import annotations

import shutil
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from lxml import etree

from .model import L1CProduct

#: rep_info copies of the GIPPs; the PB GIPP is not copied (absent from the real product's rep_info).
GIPP_KEYS: tuple[str, ...] = ("L2A_GIPP", "L2A_CAL_SC_GIPP", "L2A_CAL_AC_GIPP")
_XSD_ROOTS = {
    "S2_User_Product_Level-2A_Metadata.xsd": ("User_Product_Level-2A.xsd", "Level-2A_User_Product"),
    "S2_PDI_Level-2A_Tile_Metadata.xsd": ("S2_PDI_Level-2A_Tile_Metadata.xsd", "Level-2A_Tile_ID"),
    "S2_PDI_Level-2A_Datastrip_Metadata.xsd": ("S2_PDI_Level-2A_Datastrip_Metadata.xsd", "Level-2A_DataStrip_ID"),
}
_MASK_PREFIXES = ("MSK_",)


def copy_l1c_qi(l1c: L1CProduct, l1c_qi_dir: Path, dest: Path) -> list[Path]:
    """Carry the L1C masks (MSK_DETFOO/QUALIT/CLASSI, or the old GML ones) and tile QI reports over."""
    sources: list[Path] = [Path(p) for p in l1c.qi_mask_paths.values()]
    if l1c_qi_dir.is_dir():
        known = {p.name for p in sources}
        for p in sorted(l1c_qi_dir.iterdir()):
            if p.is_file() and p.name not in known and (p.name.startswith(_MASK_PREFIXES) or p.suffix == ".xml"
                                                        or p.suffix == ".gfs"):
                sources.append(p)
    out = []
    for p in sources:
        if p.is_file():
            out.append(Path(shutil.copy2(p, dest / p.name)))
    return out


def _aux_name(name: str) -> str:
    """Old long aux names (S2A_OPER_AUX_ECMWFT_...) become the compact ones Sen2Cor writes."""
    for key in ("AUX_ECMWFT", "AUX_CAMSFO", "AUX_CAMSAN", "AUX_CAMSRE"):
        if key[4:] in name:
            return key
    return name


def copy_aux_data(l1c: L1CProduct, l1c_aux_dir: Path, dest: Path) -> list[Path]:
    """Copy the L1C ECMWF/CAMS aux files into the L2A granule's AUX_DATA."""
    sources = [Path(p) for p in l1c.aux_paths.values()]
    if not sources and l1c_aux_dir.is_dir():
        sources = [p for p in sorted(l1c_aux_dir.iterdir()) if p.is_file()]
    out = []
    for p in sources:
        if p.is_file():
            out.append(Path(shutil.copy2(p, dest / _aux_name(p.name))))
    return out


def copy_gipps(config_paths: Mapping[str, Path | None], rep_info: Path) -> list[Path]:
    """Copy the GIPPs used into rep_info/ under their canonical names (e.g. sen2like's gipp -> L2A_GIPP.xml)."""
    out = []
    for key in GIPP_KEYS:
        src = config_paths.get(key)
        if src is not None and Path(src).is_file():
            out.append(Path(shutil.copy2(src, rep_info / f"{key}.xml")))
    return out


def write_xsd_stubs(rep_info: Path) -> None:
    """Small top-level schemas naming the L2A root elements (the full PSD schemas are not shipped)."""
    xs = "http://www.w3.org/2001/XMLSchema"
    for fname, (target, root_name) in _XSD_ROOTS.items():
        tns = f"https://psd-14.sentinel2.eo.esa.int/PSD/{target}"
        schema = etree.Element(f"{{{xs}}}schema", nsmap={"xs": xs, None: tns}, targetNamespace=tns,
                               elementFormDefault="unqualified")
        etree.SubElement(schema, f"{{{xs}}}annotation").append(etree.Element(f"{{{xs}}}documentation"))
        schema[0][0].text = "sen2cor3 stub: root element only; see the ESA S2 PSD for the full schema."
        el = etree.SubElement(schema, f"{{{xs}}}element", name=root_name)
        ct = etree.SubElement(el, f"{{{xs}}}complexType")
        seq = etree.SubElement(ct, f"{{{xs}}}sequence")
        etree.SubElement(seq, f"{{{xs}}}any", processContents="lax", minOccurs="0", maxOccurs="unbounded")
        etree.SubElement(ct, f"{{{xs}}}anyAttribute", processContents="lax")
        (rep_info / fname).write_bytes(etree.tostring(schema, xml_declaration=True, encoding="UTF-8",
                                                      pretty_print=True))


def _footprint_bbox(mtd: etree._ElementTree) -> tuple[float, float, float, float] | None:
    """(west, east, south, north) of the product footprint (EXT_POS_LIST lat/lon pairs)."""
    txt = mtd.getroot().findtext(".//Global_Footprint/EXT_POS_LIST")
    if not txt:
        return None
    vals = [float(v) for v in txt.split()]
    lats, lons = vals[0::2], vals[1::2]
    return min(lons), max(lons), min(lats), max(lats)


def write_inspire(path: Path, product_mtd: etree._ElementTree, product_uri: str, generation: datetime) -> Path:
    """INSPIRE.xml: ISO 19139 discovery metadata (identifier, date, title, bounding box)."""
    gmd, gco = "http://www.isotc211.org/2005/gmd", "http://www.isotc211.org/2005/gco"
    nsmap = {"gco": gco, "gmd": gmd, "gml": "http://www.opengis.net/gml",
             "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
    root = etree.Element(f"{{{gmd}}}MD_Metadata", nsmap=nsmap)
    root.set(f"{{{nsmap['xsi']}}}schemaLocation",
             "http://www.isotc211.org/2005/gmd http://schemas.opengis.net/iso/19139/20060504/gmd/gmd.xsd")

    def el(parent: etree._Element, tag: str) -> etree._Element:
        return etree.SubElement(parent, f"{{{gmd}}}{tag}")

    def cs(parent: etree._Element, tag: str, text: str) -> None:
        etree.SubElement(el(parent, tag), f"{{{gco}}}CharacterString").text = text

    cs(root, "fileIdentifier", product_uri.removesuffix(".SAFE"))
    lang = etree.SubElement(el(root, "language"), f"{{{gmd}}}LanguageCode",
                            codeList="http://www.loc.gov/standards/iso639-2/", codeListValue="eng")
    lang.text = "eng"
    etree.SubElement(el(root, "hierarchyLevel"), f"{{{gmd}}}MD_ScopeCode",
                     codeList="http://standards.iso.org/ittf/PubliclyAvailableStandards/ISO_19139_Schemas/"
                              "resources/Codelist/ML_gmxCodelists.xml#MD_ScopeCode",
                     codeListValue="dataset").text = "dataset"
    etree.SubElement(el(root, "dateStamp"), f"{{{gco}}}Date").text = generation.strftime("%Y-%m-%d")
    di = el(el(root, "identificationInfo"), "MD_DataIdentification")
    cit = el(el(di, "citation"), "CI_Citation")
    cs(cit, "title", "Sentinel-2 MSI Level-2A " + product_uri.removesuffix(".SAFE"))
    cs(di, "abstract", "Bottom-of-atmosphere reflectance, aerosol optical thickness, water vapour and scene "
                       "classification (Sen2Cor-compatible Level-2A processing).")
    bbox = _footprint_bbox(product_mtd)
    if bbox is not None:
        gb = el(el(el(di, "extent"), "EX_Extent"), "geographicElement")
        box = el(gb, "EX_GeographicBoundingBox")
        for tag, v in zip(("westBoundLongitude", "eastBoundLongitude", "southBoundLatitude",
                           "northBoundLatitude"), bbox):
            etree.SubElement(el(box, tag), f"{{{gco}}}Decimal").text = repr(v)
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
    return path
