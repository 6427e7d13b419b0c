"""Every name rule of a Sentinel-2 L2A product, in one place.

Sen2Cor derives all L2A names from the L1C ones: the product, the granule, the datastrip, the long ids written
into the metadata and the file names inside the granule. Keeping them here (pure functions, no I/O) lets the
tree builder, the writers and the tests agree on one spelling, checked against real products.
"""
from __future__ import annotations

import re
from datetime import datetime

from sen2cor3.sensors import S2A, S2P

#: The Sen2Cor release we re-implement (written into L2A_QUALITY.xml ``gippVersion`` and the report).
from sen2cor3.version import PROCESSOR_DATE as SEN2COR_DATE  # noqa: E402
from sen2cor3.version import PROCESSOR_VERSION as SEN2COR_VERSION  # noqa: E402

#: Image layers per output resolution of the SAFE products (Sentinel-2 10/20/60 m, Hyper MS 30 m), from the
#: sensor descriptions (:mod:`sen2cor3.sensors`), in the order Sen2Cor lists them in MTD_MSIL2A.xml.
L2A_BANDS: dict[int, tuple[str, ...]] = {**S2A.l2a_layers, **S2P.l2a_layers}
#: Order in which Sen2Cor's toolbox writes the resolutions (20 m, then 60 m downsampled, then 10 m).
RESOLUTION_ORDER: tuple[int, ...] = (20, 60, 10, 30)
#: Layers that are not surface reflectance.
NON_BOA_LAYERS = frozenset({"AOT", "WVP", "SCL", "TCI"})
#: QI masks Sen2Cor adds to QI_DATA (probabilities in %), per resolution (no 10 m masks).
QI_MASK_KINDS: tuple[str, ...] = ("MSK_CLDPRB", "MSK_SNWPRB")
QI_MASK_RESOLUTIONS: tuple[int, ...] = (20, 60)
#: Optional DDV masks (``Generate_DDV_Output``): QI_DATA/MSK_DDVPXL_<res>m, at 20 and 60 m (or the single run's).
DDV_MASK_KIND = "MSK_DDVPXL"

_TIME_FMT = "%Y%m%dT%H%M%S"
_L1C_NAME = re.compile(
    r"^(?P<mission>S2[A-DP])_MSIL1C_(?P<sensing>\d{8}T\d{6})_(?:N(?P<pb>\d{4})_)?R(?P<orbit>\d{3})_"
    r"T(?P<tile>\d{2}[A-Z]{3})_(?P<gen>\d{8}T\d{6})(?:\.SAFE)?$")
_BASELINE = re.compile(r"^\d{2}\.\d{2}$")


def compact_time(t: datetime | str) -> str:
    """'YYYYMMDDTHHMMSS' of a datetime (strings already in that form pass through)."""
    if isinstance(t, str):
        if not re.fullmatch(r"\d{8}T\d{6}", t):
            raise ValueError(f"not a compact time: {t!r}")
        return t
    return t.strftime(_TIME_FMT)


def iso_time(t: datetime, *, fraction: bool = True) -> str:
    """Metadata time stamp as Sen2Cor writes it ('2023-01-24T04:27:03.281494Z')."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if fraction else "%Y-%m-%dT%H:%M:%SZ")


def check_baseline(baseline: str) -> str:
    """Validate a 'dd.dd' processing baseline (sen2like compares it as a string)."""
    if not _BASELINE.match(baseline):
        raise ValueError(f"processing baseline must be 'dd.dd', got {baseline!r}")
    return baseline


def baseline_field(baseline: str) -> str:
    """'99.33' -> 'N9933' (the product-name field)."""
    return "N" + check_baseline(baseline).replace(".", "")


def parse_l1c_name(name: str) -> dict[str, str]:
    """Fields of a compact L1C product name (with or without .SAFE); ValueError if it is not one."""
    m = _L1C_NAME.match(name)
    if not m:
        raise ValueError(f"not a compact S2 L1C product name: {name!r}")
    return {k: (v or "") for k, v in m.groupdict().items()}


def l2a_product_name(l1c_name: str, baseline: str, generation_time: datetime | str) -> str:
    """L2A product name (no .SAFE): MSIL1C -> MSIL2A, N from the L2A baseline, last field = generation time.

    Old L1C names without the N field (e.g. ``S2A_MSIL1C_20200717T221941_R029_T01LAC_...``) still get one.
    """
    f = parse_l1c_name(l1c_name)
    return (f"{f['mission']}_MSIL2A_{f['sensing']}_{baseline_field(baseline)}_R{f['orbit']}_T{f['tile']}_"
            f"{compact_time(generation_time)}")


def l2a_product_uri(l1c_name: str, baseline: str, generation_time: datetime | str) -> str:
    """PRODUCT_URI / folder name: the product name plus '.SAFE'."""
    return l2a_product_name(l1c_name, baseline, generation_time) + ".SAFE"


def granule_name(tile_id: str, absolute_orbit: int, datastrip_sensing: str) -> str:
    """'L2A_T01KAB_A042640_20230821T221944' (tile without 'T', datastrip sensing start)."""
    return f"L2A_T{tile_id.lstrip('T')}_A{int(absolute_orbit):06d}_{compact_time(datastrip_sensing)}"


def granule_name_from_l1c(l1c_granule_name: str) -> str:
    """The L1C granule folder with its level changed (the other fields are the same in real pairs)."""
    if not l1c_granule_name.startswith("L1C_"):
        raise ValueError(f"not a compact L1C granule name: {l1c_granule_name!r}")
    return "L2A_" + l1c_granule_name[4:]


def datastrip_sensing(name_or_id: str) -> str:
    """Datastrip sensing start 'YYYYMMDDTHHMMSS' from a DS folder name or long DS id (the '_S...' field)."""
    m = re.search(r"_S(\d{8}T\d{6})", name_or_id)
    if not m:
        raise ValueError(f"no datastrip sensing field in {name_or_id!r}")
    return m.group(1)


def datastrip_folder(centre: str, creation: datetime | str, sensing: str) -> str:
    """'DS_2APS_20230822T021825_S20230821T221944' (centre: 4 characters, '_'-padded as in 'SGS_')."""
    return f"DS_{_centre(centre)}_{compact_time(creation)}_S{compact_time(sensing)}"


def tile_long_id(mission: str, centre: str, creation: datetime | str, absolute_orbit: int, tile_id: str,
                 baseline: str) -> str:
    """'S2A_OPER_MSI_L2A_TL_2APS_20230822T021825_A042640_T01KAB_N05.09' (MTD_TL TILE_ID)."""
    return (f"{mission}_OPER_MSI_L2A_TL_{_centre(centre)}_{compact_time(creation)}_A{int(absolute_orbit):06d}_"
            f"T{tile_id.lstrip('T')}_N{check_baseline(baseline)}")


def datastrip_long_id(mission: str, centre: str, creation: datetime | str, sensing: str, baseline: str) -> str:
    """'S2A_OPER_MSI_L2A_DS_2APS_20230822T021825_S20230821T221944_N05.09' (DATASTRIP_ID)."""
    return (f"{mission}_OPER_MSI_L2A_DS_{_centre(centre)}_{compact_time(creation)}_S{compact_time(sensing)}_"
            f"N{check_baseline(baseline)}")


def datatake_identifier(l1c_identifier: str, baseline: str) -> str:
    """'GS2A_20230821T221941_042640_N05.09': the L1C datatake id with the L2A baseline."""
    return re.sub(r"_N\d{2}\.\d{2}$", "", l1c_identifier) + f"_N{check_baseline(baseline)}"


def file_prefix(tile_id: str, datatake_sensing: str) -> str:
    """'T01KAB_20230821T221941': prefix of every image inside the granule."""
    return f"T{tile_id.lstrip('T')}_{compact_time(datatake_sensing)}"


def resolution_folder(resolution: int) -> str:
    """'R10m' / 'R20m' / 'R60m' (and 'R30m' for Hyper MS: Sen2Cor 3 ``L2A_ProcessTileToolbox``)."""
    return f"R{int(resolution)}m"


def image_stem(prefix: str, band: str, resolution: int) -> str:
    """'T01KAB_20230821T221941_B02_10m' (no extension, as IMAGE_FILE lists it)."""
    return f"{prefix}_{band}_{int(resolution)}m"


def image_file_entry(granule: str, prefix: str, band: str, resolution: int) -> str:
    """IMAGE_FILE text: 'GRANULE/<g>/IMG_DATA/R10m/<stem>' relative to the product root, no extension."""
    return f"GRANULE/{granule}/IMG_DATA/{resolution_folder(resolution)}/{image_stem(prefix, band, resolution)}"


def image_file_entries(granule: str, prefix: str, resolutions: tuple[int, ...] | list[int],
                       with_tci: bool = True, layers: dict[int, tuple[str, ...]] | None = None) -> list[str]:
    """Every IMAGE_FILE of the product for these resolutions, in Sen2Cor's toolbox order (``layers``: the
    sensor's layers per resolution, default :data:`L2A_BANDS`)."""
    layers = L2A_BANDS if layers is None else layers
    out: list[str] = []
    for res in sorted(set(resolutions), key=RESOLUTION_ORDER.index):
        out += [image_file_entry(granule, prefix, b, res) for b in layers[res] if with_tci or b != "TCI"]
    return out


def qi_mask_name(kind: str, resolution: int) -> str:
    """'MSK_CLDPRB_20m' (no extension)."""
    return f"{kind}_{int(resolution)}m"


def pvi_name(prefix: str) -> str:
    """'T01KAB_20230821T221941_PVI' (no extension)."""
    return f"{prefix}_PVI"


def dem_name(prefix: str, resolution: int) -> str:
    """'L2A_T01KAB_20230821T221941_DEM_20m' in AUX_DATA (only with Generate_DEM_Output).

    Sen2Cor 3 (03.03.01 ``L2A_Tables.BandIO.__init__``): ``'L2A_' + L2A_TILE_ID + '_DEM_' + res + 'm'`` with
    ``L2A_TILE_ID`` the file prefix ``T<tile>_<datatake sensing>``; Sen2Cor 2.8 had no ``L2A_``."""
    return f"L2A_{prefix}_DEM_{int(resolution)}m"


def report_name(product_uri: str, start_time: datetime | str) -> str:
    """Run report in rep_info: '<PRODUCT_URI>_<start>_report.xml'.

    The real Sen2Cor report keeps '.SAFE' inside the name
    (``S2B_MSIL2A_..._20230124T042703.SAFE_20230124T042702_report.xml``) and stamps the run start time.
    """
    return f"{product_uri}_{compact_time(start_time)}_report.xml"


def mission_of(product_name: str) -> str:
    """'S2A' from any product, tile or datastrip name."""
    return product_name[:3]


def _centre(centre: str) -> str:
    if not re.fullmatch(r"[A-Z0-9_]{4}", centre):
        raise ValueError(f"processing/archiving centre must be 4 characters [A-Z0-9_], got {centre!r}")
    return centre
