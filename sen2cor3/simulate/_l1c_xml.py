"""XML documents of a synthetic L1C SAFE (MTD_MSIL1C, MTD_TL, MTD_DS, INSPIRE, manifest, GML masks).

Element names, nesting and attributes follow real PSD-14 products (data/real_safe_metadata T46RER N03.01,
data/ukis-pysat... N04.00, data/eodatasets-s2-l1c-safe-metadata); only the facts are ours. Optional
expert-level blocks (GIPP lists, ephemerides, attitudes, spectral responses) are left out.

The Hyper MS ("S2P") documents of ``_s2p_xml`` are the same PSD-14 documents filled from prisma4sen2like's
templates, so the builders of MTD_MSIL1C, MTD_TL and MTD_DS live here once (:func:`build_msil1c`,
:func:`build_tl`, :func:`build_ds`, over the facts both kinds share, :class:`TileFacts`); each product kind's
``mtd_*`` only states what differs: the radiometry tables (:class:`Radiometry`), the image format, the DOI and
offsets of old baselines, the archiving centre, the CS name, the Size/Geoposition resolutions, the detectors of
the viewing-angle grids and the snow cover.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from lxml import etree

from sen2cor3.products.model import S2_BAND_RESOLUTION_M, S2_BANDS

_NS_PSD = "https://psd-14.sentinel2.eo.esa.int/PSD/"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
#: (MIN, MAX, CENTRAL) nm per band, as in S2A PSD-14 MTD_MSIL1C.
WAVELENGTHS = {
    "B01": (412, 456, 442.7), "B02": (456, 533, 492.7), "B03": (538, 583, 559.8), "B04": (646, 684, 664.6),
    "B05": (695, 714, 704.1), "B06": (731, 749, 740.5), "B07": (769, 797, 782.8), "B08": (760, 907, 832.8),
    "B8A": (837, 881, 864.7), "B09": (932, 958, 945.1), "B10": (1337, 1412, 1373.5),
    "B11": (1539, 1682, 1613.7), "B12": (2078, 2320, 2202.4),
}


@dataclass(frozen=True)
class Radiometry:
    """What MTD_MSIL1C (Product_Image_Characteristics) and MTD_DS (Radiometric_Info) say of the DN."""
    quantification: float
    offset: float | None                              # RADIO_ADD_OFFSET of every band; None: no offset list
    u: float
    irradiance: Mapping[str, float]                   # band -> SOLAR_IRRADIANCE (W m-2 um-1)
    wavelengths: Mapping[str, tuple[float, float, float]]    # band -> (MIN, MAX, CENTRAL) nm
    resolutions: Mapping[str, int]                    # band -> Spectral_Information RESOLUTION (m)
    gains: Sequence[str] = ()                         # PHYSICAL_GAINS per bandId (MTD_MSIL1C only)


@dataclass(kw_only=True)
class TileFacts:
    """The facts both product kinds state (S2 :class:`Facts`, Hyper MS ``_s2p_xml.S2PFacts``); each kind
    also gives ``spacecraft_name`` and its :class:`Radiometry`."""
    tile_id: str
    baseline: str                   # '05.11'
    product_name: str               # without .SAFE
    granule_name: str
    tile_long_id: str
    datastrip_long_id: str
    datatake_id: str                # the datastrip's datatake (MTD_DS; MTD_MSIL1C unless overridden)
    sensing: datetime               # datatake sensing start
    ds_start: datetime              # datastrip sensing start = tile SENSING_TIME
    generation: datetime
    relative_orbit: int
    orbit_direction: str
    centre: str
    epsg: int
    ulx: float
    uly: float
    size_10m: int
    quantification: float
    u: float
    offset: float                   # RADIO_ADD_OFFSET
    angle_step: float
    sun_zen: np.ndarray
    sun_az: np.ndarray
    view_zen: dict[str, np.ndarray]
    view_az: dict[str, np.ndarray]
    cloud_cover: float
    footprint: list[tuple[float, float]]        # (lat, lon) closed ring
    snow_cover: float | None = None             # None: no snow percentage stated (S2)
    image_files: list[str] = field(default_factory=list)   # IMAGE_FILE entries (no extension)
    mask_files: list[tuple[int | None, str, str]] = field(default_factory=list)  # (bandId, type, rel path)
    pvi_file: str = ""

    @property
    def radiometry(self) -> Radiometry:
        raise NotImplementedError


@dataclass(kw_only=True)
class Facts(TileFacts):
    """Everything the S2 documents state; built once by the writer."""
    spacecraft: str                 # S2A
    datastrip_dir: str
    absolute_orbit: int
    irradiance: dict[str, float]
    detector_id: int

    @property
    def spacecraft_name(self) -> str:
        return {"S2P": "Sentinel-2P"}.get(self.spacecraft, f"Sentinel-2{self.spacecraft[-1]}")

    @property
    def pb(self) -> float:
        return float(self.baseline)

    @property
    def radiometry(self) -> Radiometry:
        return Radiometry(self.quantification, self.offset if self.pb >= 4.0 else None, self.u, self.irradiance,
                          WAVELENGTHS, S2_BAND_RESOLUTION_M)


def _t(dt: datetime, digits: int = 3) -> str:
    frac = f"{dt.microsecond:06d}"[:digits]
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if digits else "") + "Z"


def _sub(parent: etree._Element, tag: str, text: object = None, **attrib: object) -> etree._Element:
    el = etree.SubElement(parent, tag, {k: str(v) for k, v in attrib.items()})
    if text is not None:
        el.text = str(text)
    return el


def _root(kind: str, xsd: str) -> etree._Element:
    ns = _NS_PSD + xsd
    root = etree.Element(f"{{{ns}}}{kind}", nsmap={"n1": ns, "xsi": _XSI})
    root.set(f"{{{_XSI}}}schemaLocation", ns)
    return root


def _n1(root: etree._Element, tag: str, **attrib: object) -> etree._Element:
    return _sub(root, f"{{{root.nsmap['n1']}}}{tag}", **attrib)


def _fmt(v: float) -> str:
    return "NaN" if not np.isfinite(v) else f"{v:.6g}"


def _values(parent: etree._Element, grid: np.ndarray, step: float) -> None:
    _sub(parent, "COL_STEP", f"{step:g}", unit="m")
    _sub(parent, "ROW_STEP", f"{step:g}", unit="m")
    vl = _sub(parent, "Values_List")
    for row in np.asarray(grid, dtype=float):
        _sub(vl, "VALUES", " ".join(_fmt(v) for v in row))


def _datatake(parent: etree._Element, f, tag: str, ident: str) -> etree._Element:
    dt = _sub(parent, tag, datatakeIdentifier=ident)
    _sub(dt, "SPACECRAFT_NAME", f.spacecraft_name)
    _sub(dt, "DATATAKE_TYPE", "INS-NOBS")
    _sub(dt, "DATATAKE_SENSING_START", _t(f.sensing))
    _sub(dt, "SENSING_ORBIT_NUMBER", f.relative_orbit)
    _sub(dt, "SENSING_ORBIT_DIRECTION", f.orbit_direction)
    return dt


def _radiometry(parent: etree._Element, r: Radiometry) -> None:
    _sub(parent, "QUANTIFICATION_VALUE", f"{r.quantification:g}", unit="none")
    if r.offset is not None:
        ro = _sub(parent, "Radiometric_Offset_List")
        for i, _ in enumerate(S2_BANDS):
            _sub(ro, "RADIO_ADD_OFFSET", f"{r.offset:g}", band_id=i)
    rc = _sub(parent, "Reflectance_Conversion")
    _sub(rc, "U", repr(float(r.u)))
    sil = _sub(rc, "Solar_Irradiance_List")
    for i, b in enumerate(S2_BANDS):
        _sub(sil, "SOLAR_IRRADIANCE", f"{r.irradiance[b]:g}", bandId=i, unit="W/m²/µm")
    spl = _sub(parent, "Spectral_Information_List")
    for i, b in enumerate(S2_BANDS):
        si = _sub(spl, "Spectral_Information", bandId=i, physicalBand=b.replace("B0", "B"))
        _sub(si, "RESOLUTION", r.resolutions[b])
        wl = _sub(si, "Wavelength")
        lo, hi, c = r.wavelengths[b]
        _sub(wl, "MIN", f"{lo:g}", unit="nm")
        _sub(wl, "MAX", f"{hi:g}", unit="nm")
        _sub(wl, "CENTRAL", f"{c:g}", unit="nm")


def build_msil1c(f: TileFacts, *, doi: bool, image_format: str, datatake_id: str | None = None) -> etree._Element:
    """The user-product metadata MTD_MSIL1C.xml; ``datatake_id`` defaults to ``f.datatake_id``."""
    root = _root("Level-1C_User_Product", "User_Product_Level-1C.xsd")
    gi = _n1(root, "General_Info")
    pi = _sub(gi, "Product_Info")
    _sub(pi, "PRODUCT_START_TIME", _t(f.sensing))
    _sub(pi, "PRODUCT_STOP_TIME", _t(f.sensing))
    _sub(pi, "PRODUCT_URI", f.product_name + ".SAFE")
    _sub(pi, "PROCESSING_LEVEL", "Level-1C")
    _sub(pi, "PRODUCT_TYPE", "S2MSI1C")
    _sub(pi, "PROCESSING_BASELINE", f.baseline)
    if doi:
        _sub(pi, "PRODUCT_DOI", "https://doi.org/10.5270/S2_-742ikth")
    _sub(pi, "GENERATION_TIME", _t(f.generation, 6))
    _sub(pi, "PREVIEW_IMAGE_URL", "Not applicable")
    _sub(pi, "PREVIEW_GEO_INFO", "Not applicable")
    _datatake(pi, f, "Datatake", datatake_id or f.datatake_id)
    qo = _sub(pi, "Query_Options", completeSingleTile="true")
    _sub(qo, "PRODUCT_FORMAT", "SAFE_COMPACT")
    gl = _sub(_sub(pi, "Product_Organisation"), "Granule_List")
    gr = _sub(gl, "Granule", datastripIdentifier=f.datastrip_long_id, granuleIdentifier=f.tile_long_id,
              imageFormat=image_format)
    for rel in f.image_files:
        _sub(gr, "IMAGE_FILE", rel)
    pic = _sub(gi, "Product_Image_Characteristics")
    for text, idx in (("NODATA", 0), ("SATURATED", 65535)):
        sv = _sub(pic, "Special_Values")
        _sub(sv, "SPECIAL_VALUE_TEXT", text)
        _sub(sv, "SPECIAL_VALUE_INDEX", idx)
    ido = _sub(pic, "Image_Display_Order")
    for ch, v in (("RED_CHANNEL", 3), ("GREEN_CHANNEL", 2), ("BLUE_CHANNEL", 1)):
        _sub(ido, ch, v)
    _radiometry(pic, f.radiometry)
    for i, g in enumerate(f.radiometry.gains):
        _sub(pic, "PHYSICAL_GAINS", g, bandId=i)
    _sub(pic, "REFERENCE_BAND", 3)
    geo = _n1(root, "Geometric_Info")
    pf = _sub(geo, "Product_Footprint")
    gf = _sub(_sub(pf, "Product_Footprint"), "Global_Footprint")
    _sub(gf, "EXT_POS_LIST", " ".join(f"{la!r} {lo!r}" for la, lo in f.footprint) + " ")
    _sub(pf, "RASTER_CS_TYPE", "POINT")
    _sub(pf, "PIXEL_ORIGIN", 1)
    crs = _sub(geo, "Coordinate_Reference_System")
    _sub(crs, "GEO_TABLES", "EPSG", version=1)
    _sub(crs, "HORIZONTAL_CS_TYPE", "GEOGRAPHIC")
    aux = _n1(root, "Auxiliary_Data_Info")
    _sub(aux, "GIPP_List")
    _sub(aux, "PRODUCTION_DEM_TYPE", "S2__OPER_DEM_GLOBEF_PDMC_19800101T000000_S19800101T000000")
    _sub(aux, "IERS_BULLETIN_FILENAME", "None")
    _sub(aux, "GRI_List")
    _sub(aux, "ECMWF_DATA_REF", "None")
    qi = _n1(root, "Quality_Indicators_Info")
    _sub(qi, "Cloud_Coverage_Assessment", f"{f.cloud_cover:g}")
    if f.snow_cover is not None:
        _sub(qi, "Snow_Coverage_Assessment", f"{f.snow_cover:g}")
    tqa = _sub(qi, "Technical_Quality_Assessment")
    _sub(tqa, "DEGRADED_ANC_DATA_PERCENTAGE", "0.0")
    _sub(tqa, "DEGRADED_MSI_DATA_PERCENTAGE", 0)
    qcc = _sub(qi, "Quality_Control_Checks")
    ins = _sub(qcc, "Quality_Inspections")
    for check in ("FORMAT_CORRECTNESS", "GENERAL_QUALITY", "GEOMETRIC_QUALITY", "RADIOMETRIC_QUALITY",
                  "SENSOR_QUALITY"):
        _sub(ins, "quality_check", "PASSED", checkType=check)
    _sub(qcc, "Failed_Inspections")
    return root


def _mean_az(a: np.ndarray) -> float:
    r = np.deg2rad(a[np.isfinite(a)])
    return float(np.mod(np.rad2deg(np.arctan2(np.sin(r).mean(), np.cos(r).mean())), 360.0)) if r.size else float("nan")


def build_tl(f: TileFacts, *, archiving: tuple[str, str], cs_name: str, resolutions: Sequence[int],
             detectors: Sequence[int]) -> etree._Element:
    """The tile metadata MTD_TL.xml: geocoding (``resolutions``' Size/Geoposition), angle grids (one per band
    and detector), pixel-level QI list. ``archiving``: (ARCHIVING_CENTRE, ARCHIVING_TIME)."""
    root = _root("Level-1C_Tile_ID", "S2_PDI_Level-1C_Tile_Metadata.xsd")
    gi = _n1(root, "General_Info")
    _sub(gi, "TILE_ID", f.tile_long_id, metadataLevel="Brief")
    _sub(gi, "DATASTRIP_ID", f.datastrip_long_id, metadataLevel="Standard")
    _sub(gi, "DOWNLINK_PRIORITY", "NOMINAL", metadataLevel="Standard")
    _sub(gi, "SENSING_TIME", _t(f.ds_start, 6), metadataLevel="Standard")
    ai = _sub(gi, "Archiving_Info", metadataLevel="Expertise")
    _sub(ai, "ARCHIVING_CENTRE", archiving[0])
    _sub(ai, "ARCHIVING_TIME", archiving[1])
    geo = _n1(root, "Geometric_Info")
    tg = _sub(geo, "Tile_Geocoding", metadataLevel="Brief")
    _sub(tg, "HORIZONTAL_CS_NAME", cs_name)
    _sub(tg, "HORIZONTAL_CS_CODE", f"EPSG:{f.epsg}")
    for res in resolutions:
        s = _sub(tg, "Size", resolution=res)
        _sub(s, "NROWS", f.size_10m * 10 // res)
        _sub(s, "NCOLS", f.size_10m * 10 // res)
    for res in resolutions:
        g = _sub(tg, "Geoposition", resolution=res)
        _sub(g, "ULX", f"{f.ulx:.0f}")
        _sub(g, "ULY", f"{f.uly:.0f}")
        _sub(g, "XDIM", res)
        _sub(g, "YDIM", -res)
    ta = _sub(geo, "Tile_Angles", metadataLevel="Standard")
    sun = _sub(ta, "Sun_Angles_Grid")
    _values(_sub(sun, "Zenith"), f.sun_zen, f.angle_step)
    _values(_sub(sun, "Azimuth"), f.sun_az, f.angle_step)
    msa = _sub(ta, "Mean_Sun_Angle")
    _sub(msa, "ZENITH_ANGLE", repr(float(np.nanmean(f.sun_zen))), unit="deg")
    _sub(msa, "AZIMUTH_ANGLE", repr(_mean_az(f.sun_az)), unit="deg")
    for i, b in enumerate(S2_BANDS):
        for det in detectors:
            vg = _sub(ta, "Viewing_Incidence_Angles_Grids", bandId=i, detectorId=det)
            _values(_sub(vg, "Zenith"), f.view_zen[b], f.angle_step)
            _values(_sub(vg, "Azimuth"), f.view_az[b], f.angle_step)
    ml = _sub(ta, "Mean_Viewing_Incidence_Angle_List")
    for i, b in enumerate(S2_BANDS):
        m = _sub(ml, "Mean_Viewing_Incidence_Angle", bandId=i)
        _sub(m, "ZENITH_ANGLE", repr(float(np.nanmean(f.view_zen[b]))), unit="deg")
        _sub(m, "AZIMUTH_ANGLE", repr(_mean_az(f.view_az[b])), unit="deg")
    qi = _n1(root, "Quality_Indicators_Info", metadataLevel="Standard")
    ic = _sub(qi, "Image_Content_QI")
    _sub(ic, "CLOUDY_PIXEL_PERCENTAGE", f"{f.cloud_cover:g}")
    _sub(ic, "DEGRADED_MSI_DATA_PERCENTAGE", 0)
    if f.snow_cover is not None:
        _sub(ic, "SNOW_PIXEL_PERCENTAGE", f"{f.snow_cover:g}")
    pl = _sub(qi, "Pixel_Level_QI", geometry="FULL_RESOLUTION")
    for band_id, kind, rel in f.mask_files:
        attrs = {"bandId": band_id} if band_id is not None else {}
        _sub(pl, "MASK_FILENAME", rel, **attrs, type=kind)
    _sub(qi, "PVI_FILENAME", f.pvi_file)
    return root


def build_ds(f: TileFacts) -> etree._Element:
    """A compact datastrip metadata MTD_DS.xml (general info and radiometric info only)."""
    root = _root("Level-1C_DataStrip_ID", "S2_PDI_Level-1C_Datastrip_Metadata.xsd")
    gi = _n1(root, "General_Info")
    _datatake(gi, f, "Datatake_Info", f.datatake_id).set("metadataLevel", "Brief")
    dti = _sub(gi, "Datastrip_Time_Info", metadataLevel="Brief")
    _sub(dti, "DATASTRIP_SENSING_START", _t(f.ds_start))
    _sub(dti, "DATASTRIP_SENSING_STOP", _t(f.ds_start))
    pi = _sub(gi, "Processing_Info", metadataLevel="Expertise")
    _sub(pi, "PROCESSING_BASELINE", f.baseline)
    _sub(pi, "PROCESSING_CENTER", f.centre)
    _sub(pi, "UTC_DATE_TIME", _t(f.generation, 0))
    idi = _n1(root, "Image_Data_Info")
    tl = _sub(_sub(idi, "Tiles_Information", metadataLevel="Standard"), "Tile_List")
    _sub(tl, "Tile", tileId=f.tile_long_id)
    ri = _sub(idi, "Radiometric_Info", metadataLevel="Standard")
    _radiometry(ri, f.radiometry)
    qi = _n1(root, "Quality_Indicators_Info", metadataLevel="Brief")
    _sub(qi, "DEGRADED_ANC_DATA_PERCENTAGE", 0)
    return root


def mtd_msil1c(f: Facts) -> etree._Element:
    """MTD_MSIL1C.xml of an S2 product (JPEG 2000 images; DOI from baseline 04.00)."""
    return build_msil1c(f, doi=f.pb >= 4.0, image_format="JPEG2000")


def mtd_tl(f: Facts) -> etree._Element:
    """MTD_TL.xml of an S2 product (10/20/60 m geocoding, one detector per band)."""
    zone = f.epsg % 100
    cs = f"WGS84 / UTM zone {zone:02d}{'N' if f.epsg // 100 == 326 else 'S'}"
    return build_tl(f, archiving=(f.centre, _t(f.generation, 6)), cs_name=cs, resolutions=(10, 20, 60),
                    detectors=(f.detector_id,))


def mtd_ds(f: Facts) -> etree._Element:
    """MTD_DS.xml of an S2 product."""
    return build_ds(f)


def inspire(f: Facts) -> etree._Element:
    """A minimal ISO 19139 INSPIRE.xml (identifier, date, bounding box)."""
    gmd, gco = "http://www.isotc211.org/2005/gmd", "http://www.isotc211.org/2005/gco"
    root = etree.Element(f"{{{gmd}}}MD_Metadata", nsmap={"gmd": gmd, "gco": gco})
    _sub(_sub(root, f"{{{gmd}}}fileIdentifier"), f"{{{gco}}}CharacterString", f.product_name)
    _sub(_sub(root, f"{{{gmd}}}dateStamp"), f"{{{gco}}}Date", f.generation.strftime("%Y-%m-%d"))
    bbox = _sub(_sub(_sub(root, f"{{{gmd}}}identificationInfo"), f"{{{gmd}}}extent"),
                f"{{{gmd}}}EX_GeographicBoundingBox")
    lats, lons = [p[0] for p in f.footprint], [p[1] for p in f.footprint]
    for tag, v in (("westBoundLongitude", min(lons)), ("eastBoundLongitude", max(lons)),
                   ("southBoundLatitude", min(lats)), ("northBoundLatitude", max(lats))):
        _sub(_sub(bbox, f"{{{gmd}}}{tag}"), f"{{{gco}}}Decimal", repr(v))
    return root


def gml_mask(kind: str, name: str, epsg: int) -> etree._Element:
    """An empty pre-04.00 vector QI mask (no feature of that kind in the tile)."""
    eop, gml = "http://www.opengis.net/eop/2.0", "http://www.opengis.net/gml/3.2"
    root = etree.Element(f"{{{eop}}}Mask", nsmap={"eop": eop, "gml": gml})
    root.set(f"{{{gml}}}id", name)
    _sub(root, f"{{{gml}}}name", f"{kind} mask from data-strip {name}")
    env = _sub(_sub(root, f"{{{gml}}}boundedBy"), f"{{{gml}}}Envelope", srsName=f"urn:ogc:def:crs:EPSG:8.7:{epsg}")
    _sub(env, f"{{{gml}}}lowerCorner", "0 0")
    _sub(env, f"{{{gml}}}upperCorner", "0 0")
    _sub(root, f"{{{eop}}}maskMembers")
    return root


def manifest(f: Facts, safe: Path) -> etree._Element:
    """manifest.safe (XFDU): metadata section and every file with its size and SHA3-256."""
    xfdu, safe_ns, gml = "urn:ccsds:schema:xfdu:1", "http://www.esa.int/safe/sentinel/1.1", "http://www.opengis.net/gml"
    root = etree.Element(f"{{{xfdu}}}XFDU", nsmap={"gml": gml, "safe": safe_ns, "xfdu": xfdu},
                         version="esa/safe/sentinel/1.1/sentinel-2/msi/archive_l1c_user_product")
    files = sorted(p for p in safe.rglob("*") if p.is_file() and p.name != "manifest.safe")
    ipm = _sub(root, "informationPackageMap")
    top = _sub(ipm, f"{{{xfdu}}}contentUnit", dmdID="acquisitionPeriod platform", pdiID="processing",
               textInfo="SENTINEL-2 MSI Level-1C User Product", unitType="Product_Level-1C")
    ids = [f"DataObject_{i:04d}" for i in range(len(files))]
    for oid in ids:
        cu = _sub(top, f"{{{xfdu}}}contentUnit", ID=oid + "_Unit", unitType="Data Unit")
        _sub(cu, "dataObjectPointer", dataObjectID=oid)
    ms = _sub(root, "metadataSection")

    def _wrapped(oid: str, text: str, category: str = "DMD", classification: str = "DESCRIPTION"):
        mo = _sub(ms, "metadataObject", ID=oid, category=category, classification=classification)
        return _sub(_sub(mo, "metadataWrap", mimeType="text/xml", textInfo=text, vocabularyName="Sentinel-SAFE"),
                    "xmlData")

    _sub(_sub(_wrapped("acquisitionPeriod", "Acquisition Period"), f"{{{safe_ns}}}acquisitionPeriod"),
         f"{{{safe_ns}}}startTime", _t(f.sensing))
    orb = _sub(_wrapped("measurementOrbitReference", "Orbit Reference"), f"{{{safe_ns}}}orbitReference")
    _sub(orb, f"{{{safe_ns}}}orbitNumber", f"{f.absolute_orbit:06d}", groundTrackDirection=f.orbit_direction.lower(),
         type="start")
    _sub(orb, f"{{{safe_ns}}}relativeOrbitNumber", f"{f.relative_orbit:03d}", type="start")
    plat = _sub(_wrapped("platform", "Platform Description"), f"{{{safe_ns}}}platform")
    _sub(plat, f"{{{safe_ns}}}familyName", "SENTINEL")
    _sub(plat, f"{{{safe_ns}}}number", f.spacecraft[1:])
    _sub(_sub(plat, f"{{{safe_ns}}}instrument"), f"{{{safe_ns}}}familyName", "Multi-Spectral Instrument",
         abbreviation="MSI")
    _sub(_wrapped("processing", "Processing", "PDI", "PROVENANCE"), f"{{{safe_ns}}}processing",
         name="Generation of Level-1C User Product", start=_t(f.generation, 6))
    fp = _sub(_sub(_wrapped("measurementFrameSet", "Frame Set"), f"{{{safe_ns}}}frameSet"), f"{{{safe_ns}}}footPrint",
              srsName="http://www.opengis.net/gml/srs/epsg.xml#4326")
    _sub(fp, f"{{{gml}}}coordinates", " ".join(f"{la!r} {lo!r}" for la, lo in f.footprint) + " ")
    dos = _sub(root, "dataObjectSection")
    for oid, p in zip(ids, files):
        data = p.read_bytes()
        bs = _sub(_sub(dos, "dataObject", ID=oid), "byteStream",
                  mimeType="text/xml" if p.suffix == ".xml" else "application/octet-stream", size=len(data))
        _sub(bs, "fileLocation", href="./" + p.relative_to(safe).as_posix(), locatorType="URL")
        _sub(bs, "checksum", hashlib.sha3_256(data).hexdigest(), checksumName="SHA3-256")
    return root


def write_xml(root: etree._Element, path: Path) -> None:
    """UTF-8, pretty-printed, with the XML declaration ESA files carry."""
    path.parent.mkdir(parents=True, exist_ok=True)
    etree.ElementTree(root).write(str(path), encoding="UTF-8", xml_declaration=True, pretty_print=True,
                                  standalone=False)
