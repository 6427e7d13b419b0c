"""XML documents of a Hyper MS ("S2P") L1C product as prisma4sen2like writes them (MTD_MSIL1C, MTD_TL, MTD_DS).

prisma4sen2like (senbox-org/sen2like, ``prisma4sen2like/prisma/product_template``) fills Jinja templates of a
PSD-14 S2 L1C; these documents follow those templates element by element (names, order, attributes and the
values the templates hard-code), with the facts of the simulation. What the templates hard-code and is kept:
spacecraft name ``Prisma``, baseline 00.00, PRODUCT_DOI, the datatake identifier
``GS2B_20220822T175909_028524_N04.00``, orbit 99 DESCENDING, RADIO_ADD_OFFSET -1000 for all 13 bands, S2B
solar irradiances, wavelengths and physical gains, nominal S2 RESOLUTION per band, ARCHIVING_CENTRE 2BPS and
its ARCHIVING_TIME, the 30 m Size/Geoposition between 20 m and 60 m, 3 detectors per band in the viewing-angle
grids. What is ours: footprint, angle grids (the simulator's, per band), cloud/snow percentages and times.
Left out (as in our S2 writer): the Spectral_Response values and the GIPP list contents. The MTD_DS template is
not public; ``mtd_ds`` states what Sen2Cor reads from it (datatake, datastrip times, processing baseline and
centre, quantification, offsets, irradiances).

The templates are our S2 writer's PSD-14 documents with other values, so the elements are built by the shared
builders of ``_l1c_xml`` (:func:`~._l1c_xml.build_msil1c`, ``build_tl``, ``build_ds``); this module only holds
the template's constants (:class:`S2PFacts`' radiometry, the keyword arguments of the ``mtd_*`` functions).
"""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree
from osgeo import osr

from sen2cor3.products.model import S2_BANDS

from ._l1c_xml import Radiometry, TileFacts, build_ds, build_msil1c, build_tl

#: The 13 MSI bands in bandId order.
BANDS: tuple[str, ...] = S2_BANDS
#: Spectral_Information RESOLUTION: prisma4sen2like's template keeps the S2 nominal values.
NOMINAL_RESOLUTION = dict(zip(BANDS, (60, 10, 10, 10, 20, 20, 20, 10, 20, 60, 60, 20, 20)))
#: (MIN, MAX, CENTRAL) nm per band, as in prisma4sen2like's MTD_MSIL1C template (S2B values).
WAVELENGTHS = dict(zip(BANDS, (
    (411, 456, 442.3), (456, 532, 492.3), (536, 582, 559), (646, 685, 665), (694, 714, 703.8),
    (730, 748, 739.1), (766, 794, 779.7), (774, 907, 833), (848, 880, 864), (930, 957, 943.2),
    (1339, 1415, 1376.9), (1538, 1679, 1610.4), (2065, 2303, 2185.7))))
#: PHYSICAL_GAINS per bandId, as in the template (written as they stand there).
PHYSICAL_GAINS = ("3.96515095", "3.81279474", "4.22421133", "4.76101771", "5.17030253", "5.07116701",
                  "4.74793863", "6.79682394", "5.73983087", "9.33758894", "56.34903357", "37.16164691",
                  "108.6881641")
#: SOLAR_IRRADIANCE per band (W m-2 um-1): the template's S2B values.
SOLAR_IRRADIANCE = dict(zip(BANDS, (1874.3, 1959.75, 1824.93, 1512.79, 1425.78, 1291.13, 1175.57, 1041.28,
                                    953.93, 817.58, 365.41, 247.08, 87.75)))
TEMPLATE_DATATAKE_ID = "GS2B_20220822T175909_028524_N04.00"
ARCHIVING_CENTRE = "2BPS"
ARCHIVING_TIME = "2022-08-22T21:22:12.232788Z"
DETECTORS = (1, 2, 3)
#: Resolutions of MTD_TL Size/Geoposition, in the template's order (Sen2Cor picks the 30 m one by index 2).
TILE_RESOLUTIONS = (10, 20, 30, 60)


@dataclass(kw_only=True)
class S2PFacts(TileFacts):
    """Everything the S2P documents state. ``datatake_id`` is MTD_DS's (GS2P_<sensing>_028524_N00.00);
    MTD_MSIL1C states the template's :data:`TEMPLATE_DATATAKE_ID`. Product start = stop = datatake =
    datastrip (``ds_start``) = tile sensing time."""
    spacecraft_name: str = "Prisma"

    @property
    def radiometry(self) -> Radiometry:
        return Radiometry(self.quantification, self.offset, self.u, SOLAR_IRRADIANCE, WAVELENGTHS,
                          NOMINAL_RESOLUTION, PHYSICAL_GAINS)


def cs_name(epsg: int) -> str:
    """HORIZONTAL_CS_NAME as prisma4sen2like writes it: GDAL's PROJCS name ('WGS 84 / UTM zone 31N')."""
    s = osr.SpatialReference()
    s.ImportFromEPSG(int(epsg))
    return s.GetAttrValue("projcs")


def mtd_msil1c(f: S2PFacts) -> etree._Element:
    """MTD_MSIL1C.xml in the element order of prisma4sen2like's template."""
    return build_msil1c(f, doi=True, image_format="GEOTIFF", datatake_id=TEMPLATE_DATATAKE_ID)


def mtd_tl(f: S2PFacts) -> etree._Element:
    """MTD_TL.xml in the element order of prisma4sen2like's template."""
    return build_tl(f, archiving=(ARCHIVING_CENTRE, ARCHIVING_TIME), cs_name=cs_name(f.epsg),
                    resolutions=TILE_RESOLUTIONS, detectors=DETECTORS)


def mtd_ds(f: S2PFacts) -> etree._Element:
    """A compact MTD_DS.xml (the template is not public): the facts Sen2Cor reads from the datastrip."""
    return build_ds(f)
