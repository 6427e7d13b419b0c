"""GRANULE/<g>/QI_DATA/L2A_QUALITY.xml: Sen2Cor's quality report of one L2A tile.

sen2like inherits every ``value[@name]`` of this file and reads CLOUDY_PIXEL_PERCENTAGE as a number, so the
element set and names follow Sen2Cor 3's template (cfg/L2A_QUALITY.xml, 03.03.01) and the real file of
S2B_MSIL2A_20230122T231849_N0400_R087_T01UBT; numeric values are always written as numbers ('%f'),
never 'NA', even before the processing fills them.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

from lxml import etree

from sen2cor3.sensors import S2A

from . import naming
from .l2a_metadata import XSI, fmt_number, write_xml

NS = "http://gs2.esa.int/DATA_STRUCTURE/l2aqiReport"
ITEM_CLASS = "http://www.esa.int/s2#pdi_level_2a_tile_container"
#: The template's version strings; Sen2Cor 3 leaves them at 2.10 (only gippVersion/date are updated).
TEMPLATE_VERSION = "2.10"

SC_VALUES: tuple[str, ...] = (
    "CLOUDY_PIXEL_PERCENTAGE", "CLOUDY_PIXEL_OVER_LAND_PERCENTAGE", "DEGRADED_MSI_DATA_PERCENTAGE",
    "NODATA_PIXEL_PERCENTAGE", "SATURATED_DEFECTIVE_PIXEL_PERCENTAGE", "CAST_SHADOW_PERCENTAGE",
    "CLOUD_SHADOW_PERCENTAGE", "VEGETATION_PERCENTAGE", "NOT_VEGETATED_PERCENTAGE", "WATER_PERCENTAGE",
    "UNCLASSIFIED_PERCENTAGE", "MEDIUM_PROBA_CLOUDS_PERCENTAGE", "HIGH_PROBA_CLOUDS_PERCENTAGE",
    "THIN_CIRRUS_PERCENTAGE", "SNOW_ICE_PERCENTAGE")
AC_VALUES: tuple[str, ...] = (
    "AOT_RETRIEVAL_ACCURACY", "GRANULE_MEAN_AOT", "WV_RETRIEVAL_ACCURACY", "GRANULE_MEAN_WV", "OZONE_VALUE",
    "START_VISIBILITY_KM", "VISIBILITY_FROM_DDV_KM", "FINAL_VISIBILITY_KM", "AVERAGE_SOLAR_ZENITH_ANGLE",
    "DDV_PIXEL_PERCENTAGE", "DDV_REFLECTANCE_RANGE", "BLUE_PATH_RADIANCE_RESCALING_FACTOR")
#: Text values of the AC control check with their defaults before the run fills them.
AC_CONTROL: tuple[tuple[str, str], ...] = (
    ("AC_ENABLED", "True"), ("WV_RETRIEVAL_METHOD", "SEN2COR_APDA"), ("AOT_RETRIEVAL_METHOD", "NA"),
    ("VISIBILITY_LESS_THAN_5_KM", "False"), ("AOT_ABOVE_1", "False"), ("GRANULE_WV_ABOVE_5_CM", "False"))
#: Bands of the negative-BOA check: every MSI band but the water-vapour and cirrus ones (Sen2Cor's template).
NEGATIVE_BOA_BANDS: tuple[str, ...] = tuple(
    b for b in S2A.band_names if b not in (S2A.roles.wv_absorption, S2A.roles.cirrus))
AUX_NUMERIC: tuple[str, ...] = ("DEM_MEAN_ALTITUDE_KM", "DEM_MEAN_SLOPE")
_COMMENTS = {
    "WV_RETRIEVAL_METHOD": " WV_RETRIEVAL_METHOD: SEN2COR_APDA | NA ",
    "AOT_RETRIEVAL_METHOD": " AOT_RETRIEVAL_METHOD: SEN2COR_DDV | CAMS | DEFAULT | NA ",
    "DEM_TYPE": " DEM_TYPE: SRTM_90 | DTED_90 | DTED_30 | COPERNICUS_90 | COPERNICUS_30 | NA ",
    "OZONE_SOURCE": " OZONE_SOURCE: AUX_ECMWFT | CONFIG | CAMS | OTHER ",
}


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _el(parent: etree._Element, tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    e = etree.SubElement(parent, _q(tag), **attrib)
    if text is not None:
        e.text = text
    return e


def _list_text(v: object) -> str:
    """File lists as Sen2Cor prints them (a Python list literal)."""
    if isinstance(v, str):
        return v
    return str([str(x) for x in v]) if isinstance(v, Sequence) else str(v)


def _check(checklist: etree._Element, message: str, values: list[tuple[str, str]]) -> None:
    chk = _el(checklist, "check")
    _el(chk, "message", message, contentType="text/plain")
    ev = _el(chk, "extraValues")
    for name, text in values:
        if name in _COMMENTS:
            ev.append(etree.Comment(_COMMENTS[name]))
        _el(ev, "value", text, name=name)


def build_quality(values: Mapping[str, object], *, mission: str, granule_name: str, granule_url: str,
                  psd: int = 14, hyper: bool = False, creation: datetime | None = None,
                  landsat: bool = False) -> etree._ElementTree:
    """The L2A_QUALITY document; ``values`` holds any of the value names (missing numbers -> 0.0).

    ``landsat``: Sen2Cor 3's Landsat template (``cfg/L2A_QUALITY_Landsat.xml``): items named after the L2 product
    with url ``N/A``, negative-BOA values B01..B07 from the OLI bands B1..B7 (B08-B11, 'NA' there, left out).
    ``granule_url``: the granule path of the final product (Sen2Cor writes ``<granule>/AUX_DATA`` into every
    checklist item, because its last update, the AUX one, rewrites them all).
    """
    creation = creation or datetime.now(timezone.utc)
    root = etree.Element(_q("L2A_Quality_File"), nsmap={"xsi": XSI, None: NS})
    root.set(f"{{{XSI}}}schemaLocation", f"{NS} L2A_QUALITY.xsd")
    fh = _el(_el(root, "L2A_Quality_Header"), "Fixed_Header")
    _el(fh, "File_Name", "L2A_QUALITY")
    _el(fh, "File_Description", "Quality information obtained from Sen2Cor")
    _el(fh, "Notes")
    _el(fh, "Mission", mission)
    fh.append(etree.Comment(" This can be set to OPER or USER dependent on PDGS or Toolbox mode "))
    _el(fh, "File_Class", "USER")
    _el(fh, "File_Type", "L2A_QLINFO")
    vp = _el(fh, "Validity_Period")
    _el(vp, "Validity_Start", "UTC=2015-06-22T00:00:00")
    _el(vp, "Validity_Stop", "UTC=2100-01-01T00:00:00")
    _el(fh, "File_Version", "1")
    src = _el(fh, "Source")
    _el(src, "System", "Sen2Cor")
    _el(src, "Creator", "Sen2Cor")
    _el(src, "Creator_Version", TEMPLATE_VERSION)
    _el(src, "Creation_Date", "UTC=" + creation.strftime("%Y-%m-%dT%H:%M:%S"))

    db = _el(root, "Data_Block", type="xml")
    date = naming.SEN2COR_DATE.replace(".", "-") + "T00:00:00Z"
    rep = _el(db, "report", gippVersion=naming.SEN2COR_VERSION, globalStatus="PASSED", date=date)

    def checklist(parent_id: str, name: str) -> etree._Element:
        cl = _el(rep, "checkList")
        _el(cl, "parentID", parent_id)
        _el(cl, "name", name)
        _el(cl, "version", TEMPLATE_VERSION)
        _el(cl, "item", **{"class": ITEM_CLASS, "className": "PDI Level 2A Tile Folder", "name": granule_name,
                           "url": granule_url if landsat else f"{granule_url}/AUX_DATA"})
        return cl

    def num(name: str, *aliases: str) -> str:
        for key in (name, *aliases):
            if key in values:
                return fmt_number(values[key])
        return fmt_number(0.0)

    def txt(name: str, default: str) -> str:
        return str(values.get(name, default))

    dark = "CAST_SHADOW_PERCENTAGE" if psd >= 15 else "DARK_FEATURES_PERCENTAGE"
    sc = checklist("L2A_SC", "SCENE_CLASS_QUALITY")
    _check(sc, '"Percentage of classified pixels"',
           [(dark if n == "CAST_SHADOW_PERCENTAGE" else n,
             num(n, "DARK_FEATURES_PERCENTAGE") if n == "CAST_SHADOW_PERCENTAGE" else num(n)) for n in SC_VALUES])

    ac = checklist("L2A_AC", "ATMOSPHERIC_CORRECTION_QUALITY")
    _check(ac, "Atmospheric correction quality values",
           [(n, num(n, "WATER_VAPOUR_RETRIEVAL_ACCURACY") if n == "WV_RETRIEVAL_ACCURACY" else num(n))
            for n in AC_VALUES])
    _check(ac, "Atmospheric correction quality control", [(n, txt(n, d)) for n, d in AC_CONTROL])
    neg = values.get("NEGATIVE_BOA_PERCENTAGE", {})
    # Hyper MS: Sen2Cor 3 (L2A_Quality.update_qi) skips B08, which has no L2A output and would keep the
    # template's "NA"; we leave the entry out rather than write a non-numeric value
    bands = [b for b in NEGATIVE_BOA_BANDS if not (hyper and b == S2A.roles.nir_broad)]
    source = {b: b for b in bands}
    if landsat:
        source = {f"B{n:02d}": f"B{n}" for n in range(1, 8)}
        bands = list(source)
    _check(ac, "Percentage of negative BOA pixels",
           [(b, fmt_number(neg.get(source[b], values.get(b, 0.0)) if isinstance(neg, Mapping)
                           else values.get(b, 0.0))) for b in bands])
    _check(ac, "Look up table file list", [("LUT_DATA_FILES", _list_text(values.get("LUT_DATA_FILES", "NA")))])

    aux = checklist("L2A_AUX", "AUX_DATA_QUALITY")
    _check(aux, "AUX related parameters",
           [("DEM_TYPE", txt("DEM_TYPE", "NA")), ("DEM_MEAN_ALTITUDE_KM", num("DEM_MEAN_ALTITUDE_KM")),
            ("DEM_MEAN_SLOPE", num("DEM_MEAN_SLOPE")),
            ("GROUND_ELEVATION_ABOVE_3_KM", txt("GROUND_ELEVATION_ABOVE_3_KM", "False")),
            ("SOLAR_ZENITH_ANGLE_ABOVE_70_DEG", txt("SOLAR_ZENITH_ANGLE_ABOVE_70_DEG", "False")),
            ("OZONE_SOURCE", txt("OZONE_SOURCE", "NA"))])
    _check(aux, "AUX data file list", [("AUX_DATA_FILES", _list_text(values.get("AUX_DATA_FILES", "Available")))])
    return etree.ElementTree(root)


def write_quality(path: Path, values: Mapping[str, object], **kw: object) -> Path:
    """Build and write L2A_QUALITY.xml (see :func:`build_quality`)."""
    return write_xml(build_quality(values, **kw), path)  # type: ignore[arg-type]


def read_quality_values(path: Path) -> dict[str, str]:
    """All ``value[@name]`` texts of an L2A_QUALITY.xml (what sen2like inherits)."""
    root = etree.parse(str(path)).getroot()
    return {v.get("name"): (v.text or "") for v in root.iter(_q("value"))}
