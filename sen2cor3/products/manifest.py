"""manifest.safe of the L2A product, generated the way Sen2Cor's toolbox mode does it.

Sen2Cor walks the finished product, gives every file it recognises a SAFE data-object id (numbering bands per
resolution in sorted file order), builds the informationPackageMap from the folder of each file, and copies the
acquisition/orbit/platform/processing/footprint metadata objects from the L1C manifest. The result here matches
the real Sen2Cor-made manifest of S2B_MSIL2A_20230122T231849_N0400_R087_T01UBT, except that ``size`` is the
real file size (Sen2Cor writes the in-memory size of the path string) and any image extension is accepted.
"""
from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from pathlib import Path

from lxml import etree

from .l2a_metadata import write_xml

XFDU = "urn:ccsds:schema:xfdu:1"
SAFE = "http://www.esa.int/safe/sentinel/1.1"
GML = "http://www.opengis.net/gml"
NSMAP = {"gml": GML, "safe": SAFE, "xfdu": XFDU}
VERSION = "esa/safe/sentinel/1.1/sentinel-2/msi/archive_l2a_user_product"
_IMG = r"\.(jp2|tif|TIF|img)$"

#: (id pattern, file-path regex) in the order Sen2Cor numbers them; '{n}' = band number, '{t}' = tile number.
ID_RULES: tuple[tuple[str, str], ...] = (
    ("S2_Level-2A_Product_Metadata", r"^MTD_MSIL2A\.xml$"),
    ("INSPIRE_Metadata", r"^INSPIRE\.xml$"),
    ("HTML_Presentation", r"^HTML/UserProduct_index\.html$"),
    ("HTML_Presentation_Stylesheet", r"^HTML/UserProduct_index\.xsl$"),
    ("S2_Level-2A_Datastrip{t}_Metadata", r"^DATASTRIP/[^/]+/MTD_DS\.xml$"),
    ("S2_Level-2A_Tile{t}_Data", r"^GRANULE/[^/]+/MTD_TL\.xml$"),
    ("IMG_DATA_10m_Band{n}_Tile{t}_Data", r"/IMG_DATA/R10m/[^/]*_B\d\w_10m" + _IMG),
    ("IMG_DATA_20m_Band{n}_Tile{t}_Data", r"/IMG_DATA/R20m/[^/]*_B\d\w_20m" + _IMG),
    ("IMG_DATA_60m_Band{n}_Tile{t}_Data", r"/IMG_DATA/R60m/[^/]*_B\d\w_60m" + _IMG),
    ("IMG_DATA_30m_Band{n}_Tile{t}_Data", r"/IMG_DATA/R30m/[^/]*_B\d\w_30m" + _IMG),
    *[(f"{k}_DATA_{r}m_Tile{{t}}_Data", rf"/IMG_DATA/R{r}m/[^/]*_{k}_{r}m" + _IMG)
      for k in ("AOT", "TCI", "WVP", "SCL") for r in (10, 20, 60, 30)],
    ("S2_Level-1C_Preview_Tile{t}_Data", r"/QI_DATA/T[^/]*_PVI" + _IMG),
)
_MIME = {".xml": "text/xml", ".gml": "application/xml"}


def data_object_ids(relpaths: list[str]) -> dict[str, str]:
    """Sen2Cor's data-object id of every recognised file (sorted relative paths in, {path: id} out)."""
    ids: dict[str, str] = {}
    for pattern, regex in ID_RULES:
        prog = re.compile(regex)
        tiles: dict[str, int] = {}
        band: dict[str, int] = {}
        for rel in sorted(p for p in relpaths if prog.search(p)):
            parts = rel.split("/")
            container = parts[1] if parts[0] in ("GRANULE", "DATASTRIP") and len(parts) > 2 else ""
            t = tiles.setdefault(container, len(tiles) + 1)
            band[container] = band.get(container, 0) + 1
            ids[rel] = pattern.format(n=band[container], t=t)
    return ids


def _md5(path: Path) -> str:
    h = hashlib.md5()  # noqa: S324 - the SAFE format's checksum
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _unit(parent: etree._Element, ID: str | None = None, unitType: str | None = None,  # noqa: N803
          textInfo: str | None = None, pdiID: str | None = None, pointer: str | None = None) -> etree._Element:
    cu = etree.SubElement(parent, f"{{{XFDU}}}contentUnit")
    for k, v in (("ID", ID), ("unitType", unitType), ("textInfo", textInfo), ("pdiID", pdiID)):
        if v is not None:
            cu.set(k, v)
    if pointer:
        etree.SubElement(cu, "dataObjectPointer", dataObjectID=pointer)
    return cu


def _l1c_metadata_objects(l1c_manifest: Path | None, fallback: dict[str, str]) -> list[etree._Element]:
    """The five metadata objects Sen2Cor keeps from the L1C manifest (processing renamed to Level-2A)."""
    keep = ("acquisitionPeriod", "measurementOrbitReference", "platform", "processing", "measurementFrameSet")
    out: list[etree._Element] = []
    if l1c_manifest is not None and Path(l1c_manifest).is_file():
        src = etree.parse(str(l1c_manifest), etree.XMLParser(remove_blank_text=True)).getroot()
        for mo in src.iter("metadataObject"):
            if mo.get("ID") in keep:
                out.append(etree.fromstring(etree.tostring(mo)))
    if not out:  # no L1C manifest: the minimum a SAFE reader looks for
        mo = etree.Element("metadataObject", ID="acquisitionPeriod", category="DMD", classification="DESCRIPTION")
        wrap = etree.SubElement(mo, "metadataWrap", mimeType="text/xml", textInfo="Acquisition Period",
                                vocabularyName="Sentinel-SAFE")
        ap = etree.SubElement(etree.SubElement(wrap, "xmlData"), f"{{{SAFE}}}acquisitionPeriod")
        etree.SubElement(ap, f"{{{SAFE}}}startTime").text = fallback.get("start", "")
        mo2 = etree.Element("metadataObject", ID="processing", category="PDI", classification="PROVENANCE")
        wrap2 = etree.SubElement(mo2, "metadataWrap", mimeType="text/xml", textInfo="Processing",
                                 vocabularyName="Sentinel-SAFE")
        etree.SubElement(etree.SubElement(wrap2, "xmlData"), f"{{{SAFE}}}processing",
                         name="Generation of Level-1C User Product")
        out = [mo, mo2]
    for mo in out:
        for proc in mo.iter(f"{{{SAFE}}}processing"):
            proc.set("name", proc.get("name", "").replace("1C", "2A"))
            proc.set("start", datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    return out


def write_manifest(product_dir: Path, l1c_manifest: Path | None = None, *, checksums: bool = True,
                   fallback: dict[str, str] | None = None) -> Path:
    """Scan ``product_dir`` and write its manifest.safe (rep_info and the manifest itself are not listed)."""
    rels = sorted(p.relative_to(product_dir).as_posix() for p in product_dir.rglob("*")
                  if p.is_file() and p.name != "manifest.safe"
                  and p.relative_to(product_dir).parts[0] != "rep_info")
    ids = data_object_ids(rels)
    listed = [r for r in rels if r in ids]

    root = etree.Element(f"{{{XFDU}}}XFDU", nsmap=NSMAP, version=VERSION)
    ipm = etree.SubElement(root, "informationPackageMap")
    mds = etree.SubElement(root, "metadataSection")
    dos = etree.SubElement(root, "dataObjectSection")

    prod = _unit(ipm, unitType="Product_Level-2A", textInfo="SENTINEL-2 MSI Level-2A User Product", pdiID="processing")
    tiles_el = _unit(prod, ID="Tiles", textInfo="Tiles Container")
    strips_el = _unit(prod, ID="Datastrips", textInfo="Datastrips Container")
    tiles: dict[str, list[etree._Element]] = {}
    strips: dict[str, list[etree._Element]] = {}
    for rel in listed:
        parts = rel.split("/")
        if parts[0] == "GRANULE" and parts[1] not in tiles:
            n = len(tiles) + 1
            t = _unit(tiles_el, ID=f"Tile{n}", textInfo="Granule Container")
            tiles[parts[1]] = [t, _unit(t, ID=f"QI_DATA_Tile{n}", textInfo="Quality Control Container"),
                               _unit(t, ID=f"IMG_DATA_Tile{n}", textInfo="Image Data Container"),
                               _unit(t, ID=f"AUX_DATA_Tile{n}", textInfo="Auxiliary Data container")]
        elif parts[0] == "DATASTRIP" and parts[1] not in strips:
            n = len(strips) + 1
            s = _unit(strips_el, ID=f"Datastrip{n}", textInfo="Granule Container")
            strips[parts[1]] = [s, _unit(s, ID=f"QI_DATA_Datastrip{n}", textInfo="Quality Control Container")]
    sub = {"QI_DATA": (1, "Quality Control Container"), "IMG_DATA": (2, "Image Data Container"),
           "AUX_DATA": (3, "Auxiliary Data Container")}
    for rel in listed:
        oid, parts = ids[rel], rel.split("/")
        if parts[0] == "GRANULE":
            if len(parts) == 3:
                _unit(tiles[parts[1]][0], ID=oid + "_Unit", unitType="Metadata Unit", pointer=oid)
            elif parts[2] in sub:
                i, info = sub[parts[2]]
                _unit(tiles[parts[1]][i], ID=oid + "_Unit", unitType="Measurement Data Unit", textInfo=info,
                      pointer=oid)
        elif parts[0] == "DATASTRIP":
            _unit(strips[parts[1]][0 if len(parts) == 3 else 1], ID=oid + "_Unit", unitType="Metadata Unit",
                  pointer=oid)
        else:
            _unit(prod, ID=oid + "_Unit", unitType="Metadata Unit", pointer=oid)

    for mo in _l1c_metadata_objects(l1c_manifest, fallback or {}):
        mds.append(mo)
    for rel in listed:
        if "Metadata" in ids[rel]:
            mo = etree.SubElement(mds, "metadataObject", ID=ids[rel] + "_Information", classification="DESCRIPTION",
                                  category="DMD")
            etree.SubElement(mo, "dataObjectPointer", dataObjectID=ids[rel])

    for rel in listed:
        path = product_dir / rel
        do = etree.SubElement(dos, "dataObject", ID=ids[rel])
        bs = etree.SubElement(do, "byteStream", mimeType=_MIME.get(path.suffix.lower(), "application/octet-stream"),
                              size=str(path.stat().st_size))
        href = rel if "/" in rel else "./" + rel
        etree.SubElement(bs, "fileLocation", locatorType="URL", href=href)
        if checksums:
            etree.SubElement(bs, "checksum", checksumName="MD5").text = _md5(path)
    return write_xml(root, product_dir / "manifest.safe")
