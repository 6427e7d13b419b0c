"""XML documents of a Hyper MS ("S2P") L1C product as prisma4sen2like writes them (MTD_MSIL1C, MTD_TL, MTD_DS).

prisma4sen2like (senbox-org/sen2like, ``prisma4sen2like/prisma/product_template``) fills Jinja templates of a
PSD-14 S2 L1C; these builders follow those templates element by element (names, order, attributes and the
values the templates hard-code), with the facts of the simulation. What the templates hard-code and is kept:
spacecraft name ``Prisma``, baseline 00.00, PRODUCT_DOI, the datatake identifier
``GS2B_20220822T175909_028524_N04.00``, orbit 99 DESCENDING, RADIO_ADD_OFFSET -1000 for all 13 bands, S2B
solar irradiances, wavelengths and physical gains, nominal S2 RESOLUTION per band, ARCHIVING_CENTRE 2BPS and
its ARCHIVING_TIME, the 30 m Size/Geoposition between 20 m and 60 m, 3 detectors per band in the viewing-angle
grids. What is ours: footprint, angle grids (the simulator's, per band), cloud/snow percentages and times.
Left out (as in our S2 writer): the Spectral_Response values and the GIPP list contents. The MTD_DS template is
not public; ``mtd_ds`` states what Sen2Cor reads from it (datatake, datastrip times, processing baseline and
centre, quantification, offsets, irradiances).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from lxml import etree
from osgeo import osr

from ._l1c_xml import _fmt, _mean_az, _n1, _root, _sub, _t

#: The 13 MSI bands in bandId order.
BANDS: tuple[str, ...] = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11",
                          "B12")
#: Spectral_Information RESOLUTION: prisma4sen2like's template keeps the S2 nominal values.
NOMINAL_RESOLUTION = dict(zip(BANDS, (60, 10, 10, 10, 20, 20, 20, 10, 20, 60, 60, 20, 20)))
#: (MIN, MAX, CENTRAL) nm per band, as in prisma4sen2like's MTD_MSIL1C template (S2B values).
WAVELENGTHS = dict(zip(BANDS, (
    ("411", "456", "442.3"), ("456", "532", "492.3"), ("536", "582", "559"), ("646", "685", "665"),
    ("694", "714", "703.8"), ("730", "748", "739.1"), ("766", "794", "779.7"), ("774", "907", "833"),
    ("848", "880", "864"), ("930", "957", "943.2"), ("1339", "1415", "1376.9"), ("1538", "1679", "1610.4"),
    ("2065", "2303", "2185.7"))))
#: PHYSICAL_GAINS per bandId, as in the template.
PHYSICAL_GAINS = ("3.96515095", "3.81279474", "4.22421133", "4.76101771", "5.17030253", "5.07116701",
                  "4.74793863", "6.79682394", "5.73983087", "9.33758894", "56.34903357", "37.16164691",
                  "108.6881641")
#: SOLAR_IRRADIANCE per bandId (W m-2 um-1): the template's S2B values.
SOLAR_IRRADIANCE = ("1874.3", "1959.75", "1824.93", "1512.79", "1425.78", "1291.13", "1175.57", "1041.28",
                    "953.93", "817.58", "365.41", "247.08", "87.75")
TEMPLATE_DATATAKE_ID = "GS2B_20220822T175909_028524_N04.00"
ARCHIVING_CENTRE = "2BPS"
ARCHIVING_TIME = "2022-08-22T21:22:12.232788Z"
DETECTORS = (1, 2, 3)


@dataclass
class S2PFacts:
    """Everything the S2P documents state."""
    tile_id: str
    product_name: str               # with .SAFE (the template's PRODUCT_URI is the SAFE name)
    granule_name: str               # L1C_T<tile>_A028524_<start>
    tile_long_id: str               # S2P_OPER_MSI_L1C_TL_XXXX_<gen>_A028524_T<tile>_N00.00
    datastrip_long_id: str          # S2P_OPER_MSI_L1C_DS_<centre>_<gen>_S<start>_N00.00
    datatake_id_ds: str             # GS2P_<sensing>_028524_N00.00 (MTD_DS)
    sensing: datetime               # product start = stop = datatake = datastrip = tile sensing time
    generation: datetime
    relative_orbit: int
    orbit_direction: str
    centre: str
    epsg: int
    ulx: float
    uly: float
    size_10m: int
    u: float
    offset: float                   # RADIO_ADD_OFFSET (-1000)
    quantification: float
    angle_step: float
    sun_zen: np.ndarray
    sun_az: np.ndarray
    view_zen: dict[str, np.ndarray]
    view_az: dict[str, np.ndarray]
    cloud_cover: float
    snow_cover: float
    footprint: list[tuple[float, float]]       # (lat, lon) closed ring
    image_names: list[str] = field(default_factory=list)   # IMG_DATA names without extension, TCI last
    mask_files: list[tuple[str, str]] = field(default_factory=list)  # (type, file name in QI_DATA)
    pvi_name: str = ""
    baseline: str = "00.00"
    spacecraft_name: str = "Prisma"


def _num(v: float) -> str:
    return f"{v:g}"


def _radiometry(parent: etree._Element, f: S2PFacts, gains: bool) -> None:
    _sub(parent, "QUANTIFICATION_VALUE", _num(f.quantification), unit="none")
    ro = _sub(parent, "Radiometric_Offset_List")
    for i, _ in enumerate(BANDS):
        _sub(ro, "RADIO_ADD_OFFSET", _num(f.offset), band_id=i)
    rc = _sub(parent, "Reflectance_Conversion")
    _sub(rc, "U", repr(float(f.u)))
    sil = _sub(rc, "Solar_Irradiance_List")
    for i, e0 in enumerate(SOLAR_IRRADIANCE):
        _sub(sil, "SOLAR_IRRADIANCE", e0, bandId=i, unit="W/m²/µm")
    spl = _sub(parent, "Spectral_Information_List")
    for i, b in enumerate(BANDS):
        si = _sub(spl, "Spectral_Information", bandId=i, physicalBand=b.replace("B0", "B"))
        _sub(si, "RESOLUTION", NOMINAL_RESOLUTION[b])
        wl = _sub(si, "Wavelength")
        lo, hi, c = WAVELENGTHS[b]
        _sub(wl, "MIN", lo, unit="nm")
        _sub(wl, "MAX", hi, unit="nm")
        _sub(wl, "CENTRAL", c, unit="nm")
    if gains:
        for i, g in enumerate(PHYSICAL_GAINS):
            _sub(parent, "PHYSICAL_GAINS", g, bandId=i)
        _sub(parent, "REFERENCE_BAND", 3)


def _datatake(parent: etree._Element, f: S2PFacts, tag: str, ident: str) -> etree._Element:
    dt = _sub(parent, tag, datatakeIdentifier=ident)
    _sub(dt, "SPACECRAFT_NAME", f.spacecraft_name)
    _sub(dt, "DATATAKE_TYPE", "INS-NOBS")
    _sub(dt, "DATATAKE_SENSING_START", _t(f.sensing))
    _sub(dt, "SENSING_ORBIT_NUMBER", f.relative_orbit)
    _sub(dt, "SENSING_ORBIT_DIRECTION", f.orbit_direction)
    return dt


def mtd_msil1c(f: S2PFacts) -> etree._Element:
    """MTD_MSIL1C.xml in the element order of prisma4sen2like's template."""
    root = _root("Level-1C_User_Product", "User_Product_Level-1C.xsd")
    gi = _n1(root, "General_Info")
    pi = _sub(gi, "Product_Info")
    _sub(pi, "PRODUCT_START_TIME", _t(f.sensing))
    _sub(pi, "PRODUCT_STOP_TIME", _t(f.sensing))
    _sub(pi, "PRODUCT_URI", f.product_name)
    _sub(pi, "PROCESSING_LEVEL", "Level-1C")
    _sub(pi, "PRODUCT_TYPE", "S2MSI1C")
    _sub(pi, "PROCESSING_BASELINE", f.baseline)
    _sub(pi, "PRODUCT_DOI", "https://doi.org/10.5270/S2_-742ikth")
    _sub(pi, "GENERATION_TIME", _t(f.generation, 6))
    _sub(pi, "PREVIEW_IMAGE_URL", "Not applicable")
    _sub(pi, "PREVIEW_GEO_INFO", "Not applicable")
    _datatake(pi, f, "Datatake", TEMPLATE_DATATAKE_ID)
    qo = _sub(pi, "Query_Options", completeSingleTile="true")
    _sub(qo, "PRODUCT_FORMAT", "SAFE_COMPACT")
    gl = _sub(_sub(pi, "Product_Organisation"), "Granule_List")
    gr = _sub(gl, "Granule", datastripIdentifier=f.datastrip_long_id, granuleIdentifier=f.tile_long_id,
              imageFormat="GEOTIFF")
    for name in f.image_names:
        _sub(gr, "IMAGE_FILE", f"GRANULE/{f.granule_name}/IMG_DATA/{name}")
    pic = _sub(gi, "Product_Image_Characteristics")
    for text, idx in (("NODATA", 0), ("SATURATED", 65535)):
        sv = _sub(pic, "Special_Values")
        _sub(sv, "SPECIAL_VALUE_TEXT", text)
        _sub(sv, "SPECIAL_VALUE_INDEX", idx)
    ido = _sub(pic, "Image_Display_Order")
    for ch, v in (("RED_CHANNEL", 3), ("GREEN_CHANNEL", 2), ("BLUE_CHANNEL", 1)):
        _sub(ido, ch, v)
    _radiometry(pic, f, gains=True)
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
    _sub(qi, "Cloud_Coverage_Assessment", _num(f.cloud_cover))
    _sub(qi, "Snow_Coverage_Assessment", _num(f.snow_cover))
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


def _values(parent: etree._Element, grid: np.ndarray, step: float) -> None:
    _sub(parent, "COL_STEP", f"{step:g}", unit="m")
    _sub(parent, "ROW_STEP", f"{step:g}", unit="m")
    vl = _sub(parent, "Values_List")
    for row in np.asarray(grid, dtype=float):
        _sub(vl, "VALUES", " ".join(_fmt(v) for v in row))


def cs_name(epsg: int) -> str:
    """HORIZONTAL_CS_NAME as prisma4sen2like writes it: GDAL's PROJCS name ('WGS 84 / UTM zone 31N')."""
    s = osr.SpatialReference()
    s.ImportFromEPSG(int(epsg))
    return s.GetAttrValue("projcs")


#: Resolutions of MTD_TL Size/Geoposition, in the template's order (Sen2Cor picks the 30 m one by index 2).
TILE_RESOLUTIONS = (10, 20, 30, 60)


def mtd_tl(f: S2PFacts) -> etree._Element:
    """MTD_TL.xml in the element order of prisma4sen2like's template."""
    root = _root("Level-1C_Tile_ID", "S2_PDI_Level-1C_Tile_Metadata.xsd")
    gi = _n1(root, "General_Info")
    _sub(gi, "TILE_ID", f.tile_long_id, metadataLevel="Brief")
    _sub(gi, "DATASTRIP_ID", f.datastrip_long_id, metadataLevel="Standard")
    _sub(gi, "DOWNLINK_PRIORITY", "NOMINAL", metadataLevel="Standard")
    _sub(gi, "SENSING_TIME", _t(f.sensing, 6), metadataLevel="Standard")
    ai = _sub(gi, "Archiving_Info", metadataLevel="Expertise")
    _sub(ai, "ARCHIVING_CENTRE", ARCHIVING_CENTRE)
    _sub(ai, "ARCHIVING_TIME", ARCHIVING_TIME)
    geo = _n1(root, "Geometric_Info")
    tg = _sub(geo, "Tile_Geocoding", metadataLevel="Brief")
    _sub(tg, "HORIZONTAL_CS_NAME", cs_name(f.epsg))
    _sub(tg, "HORIZONTAL_CS_CODE", f"EPSG:{f.epsg}")
    for res in TILE_RESOLUTIONS:
        s = _sub(tg, "Size", resolution=res)
        _sub(s, "NROWS", f.size_10m * 10 // res)
        _sub(s, "NCOLS", f.size_10m * 10 // res)
    for res in TILE_RESOLUTIONS:
        g = _sub(tg, "Geoposition", resolution=res)
        _sub(g, "ULX", int(f.ulx))
        _sub(g, "ULY", int(f.uly))
        _sub(g, "XDIM", res)
        _sub(g, "YDIM", -res)
    ta = _sub(geo, "Tile_Angles", metadataLevel="Standard")
    sun = _sub(ta, "Sun_Angles_Grid")
    _values(_sub(sun, "Zenith"), f.sun_zen, f.angle_step)
    _values(_sub(sun, "Azimuth"), f.sun_az, f.angle_step)
    msa = _sub(ta, "Mean_Sun_Angle")
    _sub(msa, "ZENITH_ANGLE", repr(float(np.nanmean(f.sun_zen))), unit="deg")
    _sub(msa, "AZIMUTH_ANGLE", repr(_mean_az(f.sun_az)), unit="deg")
    for i, b in enumerate(BANDS):
        for det in DETECTORS:
            vg = _sub(ta, "Viewing_Incidence_Angles_Grids", bandId=i, detectorId=det)
            _values(_sub(vg, "Zenith"), f.view_zen[b], f.angle_step)
            _values(_sub(vg, "Azimuth"), f.view_az[b], f.angle_step)
    ml = _sub(ta, "Mean_Viewing_Incidence_Angle_List")
    for i, b in enumerate(BANDS):
        m = _sub(ml, "Mean_Viewing_Incidence_Angle", bandId=i)
        _sub(m, "ZENITH_ANGLE", repr(float(np.nanmean(f.view_zen[b]))), unit="deg")
        _sub(m, "AZIMUTH_ANGLE", repr(_mean_az(f.view_az[b])), unit="deg")
    qi = _n1(root, "Quality_Indicators_Info", metadataLevel="Standard")
    ic = _sub(qi, "Image_Content_QI")
    _sub(ic, "CLOUDY_PIXEL_PERCENTAGE", _num(f.cloud_cover))
    _sub(ic, "DEGRADED_MSI_DATA_PERCENTAGE", 0)
    _sub(ic, "SNOW_PIXEL_PERCENTAGE", _num(f.snow_cover))
    pl = _sub(qi, "Pixel_Level_QI", geometry="FULL_RESOLUTION")
    qi_path = f"GRANULE/{f.granule_name}/QI_DATA"
    for kind, name in f.mask_files:
        _sub(pl, "MASK_FILENAME", f"{qi_path}/{name}", type=kind)
    _sub(qi, "PVI_FILENAME", f"{qi_path}/{f.pvi_name}")
    return root


def mtd_ds(f: S2PFacts) -> etree._Element:
    """A compact MTD_DS.xml (the template is not public): the facts Sen2Cor reads from the datastrip."""
    root = _root("Level-1C_DataStrip_ID", "S2_PDI_Level-1C_Datastrip_Metadata.xsd")
    gi = _n1(root, "General_Info")
    _datatake(gi, f, "Datatake_Info", f.datatake_id_ds).set("metadataLevel", "Brief")
    dti = _sub(gi, "Datastrip_Time_Info", metadataLevel="Brief")
    _sub(dti, "DATASTRIP_SENSING_START", _t(f.sensing))
    _sub(dti, "DATASTRIP_SENSING_STOP", _t(f.sensing))
    pi = _sub(gi, "Processing_Info", metadataLevel="Expertise")
    _sub(pi, "PROCESSING_BASELINE", f.baseline)
    _sub(pi, "PROCESSING_CENTER", f.centre)
    _sub(pi, "UTC_DATE_TIME", _t(f.generation, 0))
    idi = _n1(root, "Image_Data_Info")
    tl = _sub(_sub(idi, "Tiles_Information", metadataLevel="Standard"), "Tile_List")
    _sub(tl, "Tile", tileId=f.tile_long_id)
    ri = _sub(idi, "Radiometric_Info", metadataLevel="Standard")
    _radiometry(ri, f, gains=False)
    qi = _n1(root, "Quality_Indicators_Info", metadataLevel="Brief")
    _sub(qi, "DEGRADED_ANC_DATA_PERCENTAGE", 0)
    return root
