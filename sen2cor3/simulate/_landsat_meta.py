"""Text of a Landsat 8/9 Collection-2 L1TP product's metadata: ``_MTL.txt`` (ODL), ``_MTL.xml`` and ``_ANG.txt``.

Format reference: real USGS C2 files (``/work/shared/data/landsat-c2-mtl-ang-collection``: LC09 L1TP
112/081 2022-02-09 MTL txt/xml + ANG, LC08 L1TP 090/084 MTL, LC08 L1GT 089/074 MTL txt/xml + ANG). What is
copied from them: group and key names and their order, which values are quoted in the ODL text, the number
formats (``2.0000E-05``, ``-0.100000``, ``%.8f`` sun angles, ``%.3f`` projection corners ...), the keys only
one spacecraft has (L8: ``TRUNCATION_OLI``, ``TIRS_SSM_*``, ``DATA_SOURCE_TIRS_STRAY_LIGHT_CORRECTION``; L9:
``GROUND_CONTROL_POINTS_VERIFY``, ``GEOMETRIC_RMSE_VERIFY``), the XML layout (same tree, two-space indent,
values unquoted) and the ANG layout (groups FILE_HEADER, PROJECTION, EPHEMERIS, SOLAR_VECTOR, RPC_BAND01..11;
arrays of five values per line, continuation lines aligned after the opening parenthesis, ``, `` at line
ends). The values are the caller's (``landsat.py``): this module only formats.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from xml.sax.saxutils import escape

#: Reflective bands (the ones with reflectance rescaling) and all bands of an OLI/TIRS product.
REFLECTIVE = tuple(range(1, 10))
ALL_BANDS = tuple(range(1, 12))
ORIGIN = "Image courtesy of the U.S. Geological Survey"
DOI = "https://doi.org/10.5066/P975CC9B"
REFLECTANCE_MULT = 2.0e-5
REFLECTANCE_ADD = -0.1
QCAL_MIN, QCAL_MAX = 1, 65535
#: Radiometric look-up table named in LEVEL1_PROCESSING_RECORD (as in the real files of each spacecraft).
RLUT = {"L8": "LC08RLUT_20150303_20431231_02_01.h5", "L9": "LC09RLUT_20210927_20531231_02_07.h5"}


@dataclass
class MtlFacts:
    """Everything an MTL states (angles in degrees, times UTC without tzinfo)."""
    spacecraft: str                                   # 'L8' or 'L9'
    product_id: str                                   # LC08_L1TP_PPPRRR_YYYYMMDD_YYYYMMDD_02_T1
    scene_id: str                                     # LC8PPPRRRYYYYDDDLGN00
    request_id: str
    path: int
    row: int
    sensing: datetime                                 # scene centre time
    generated: datetime                               # DATE_PRODUCT_GENERATED
    cloud_cover: float
    cloud_cover_land: float
    sun_azimuth: float
    sun_elevation: float
    earth_sun_distance: float
    utm_zone: int
    lines: int                                        # reflective/thermal grid (30 m)
    samples: int
    corners_xy: dict[str, tuple[float, float]]        # 'UL','UR','LL','LR' -> pixel-centre x, y (m)
    corners_latlon: dict[str, tuple[float, float]]    # same corners -> lat, lon
    radiance: dict[int, tuple[float, float]]          # band -> (RADIANCE_MULT, RADIANCE_ADD), bands 1..11
    thermal_k: dict[int, tuple[float, float]]         # 10/11 -> (K1, K2)
    saturated: dict[int, bool] = field(default_factory=dict)   # bands 1..9 -> any saturated pixel

    @property
    def spacecraft_id(self) -> str:
        return {"L8": "LANDSAT_8", "L9": "LANDSAT_9"}[self.spacecraft]

    @property
    def mission_digit(self) -> str:
        return self.spacecraft[1]


# ------------------------------------------------------------------------------------------------ MTL
Entry = tuple[str, str, bool]          # key, value text, quoted in ODL


def _q(key: str, value: str) -> Entry:
    return key, value, True


def _r(key: str, value) -> Entry:
    return key, str(value), False


def _quarter(t: datetime) -> tuple[datetime, datetime]:
    q0 = 3 * ((t.month - 1) // 3) + 1
    start = datetime(t.year, q0, 1)
    end = datetime(t.year + (q0 == 10), 1 if q0 == 10 else q0 + 3, 1)
    return start, datetime.fromordinal(end.toordinal() - 1)


def _file_names(f: MtlFacts) -> list[Entry]:
    p = f.product_id
    out = [_q(f"FILE_NAME_BAND_{b}", f"{p}_B{b}.TIF") for b in ALL_BANDS]
    out += [_q("FILE_NAME_QUALITY_L1_PIXEL", f"{p}_QA_PIXEL.TIF"),
            _q("FILE_NAME_QUALITY_L1_RADIOMETRIC_SATURATION", f"{p}_QA_RADSAT.TIF"),
            _q("FILE_NAME_ANGLE_COEFFICIENT", f"{p}_ANG.txt"),
            _q("FILE_NAME_ANGLE_SENSOR_AZIMUTH_BAND_4", f"{p}_VAA.TIF"),
            _q("FILE_NAME_ANGLE_SENSOR_ZENITH_BAND_4", f"{p}_VZA.TIF"),
            _q("FILE_NAME_ANGLE_SOLAR_AZIMUTH_BAND_4", f"{p}_SAA.TIF"),
            _q("FILE_NAME_ANGLE_SOLAR_ZENITH_BAND_4", f"{p}_SZA.TIF"),
            _q("FILE_NAME_METADATA_ODL", f"{p}_MTL.txt"),
            _q("FILE_NAME_METADATA_XML", f"{p}_MTL.xml")]
    return out


def _projection(f: MtlFacts, level1: bool) -> list[Entry]:
    out = [_q("MAP_PROJECTION", "UTM"), _q("DATUM", "WGS84"), _q("ELLIPSOID", "WGS84"), _r("UTM_ZONE", f.utm_zone),
           _r("GRID_CELL_SIZE_PANCHROMATIC", "15.00"), _r("GRID_CELL_SIZE_REFLECTIVE", "30.00"),
           _r("GRID_CELL_SIZE_THERMAL", "30.00")]
    if level1:
        return out + [_q("ORIENTATION", "NORTH_UP"), _q("RESAMPLING_OPTION", "CUBIC_CONVOLUTION")]
    out += [_r("PANCHROMATIC_LINES", 2 * f.lines - 1), _r("PANCHROMATIC_SAMPLES", 2 * f.samples - 1),
            _r("REFLECTIVE_LINES", f.lines), _r("REFLECTIVE_SAMPLES", f.samples),
            _r("THERMAL_LINES", f.lines), _r("THERMAL_SAMPLES", f.samples), _q("ORIENTATION", "NORTH_UP")]
    for c in ("UL", "UR", "LL", "LR"):
        lat, lon = f.corners_latlon[c]
        out += [_r(f"CORNER_{c}_LAT_PRODUCT", f"{lat:.5f}"), _r(f"CORNER_{c}_LON_PRODUCT", f"{lon:.5f}")]
    for c in ("UL", "UR", "LL", "LR"):
        x, y = f.corners_xy[c]
        out += [_r(f"CORNER_{c}_PROJECTION_X_PRODUCT", f"{x:.3f}"), _r(f"CORNER_{c}_PROJECTION_Y_PRODUCT", f"{y:.3f}")]
    return out


def mtl_groups(f: MtlFacts) -> list[tuple[str, list[Entry]]]:
    """The groups of LANDSAT_METADATA_FILE in the real order, each a list of (key, text, quoted)."""
    l8 = f.spacecraft == "L8"
    d = f.mission_digit
    date = f"{f.sensing:%Y-%m-%d}"
    centre = f"{f.sensing:%H:%M:%S}.{f.sensing.microsecond:06d}0Z"
    generated = f"{f.generated:%Y-%m-%dT%H:%M:%S}Z"
    contents = [_q("ORIGIN", ORIGIN), _q("DIGITAL_OBJECT_IDENTIFIER", DOI), _q("LANDSAT_PRODUCT_ID", f.product_id),
                _q("PROCESSING_LEVEL", "L1TP"), _r("COLLECTION_NUMBER", "02"), _q("COLLECTION_CATEGORY", "T1"),
                _q("OUTPUT_FORMAT", "GEOTIFF"), *_file_names(f)]
    contents += [_q(f"DATA_TYPE_BAND_{b}", "UINT16") for b in ALL_BANDS]
    contents += [_q("DATA_TYPE_QUALITY_L1_PIXEL", "UINT16"),
                 _q("DATA_TYPE_QUALITY_L1_RADIOMETRIC_SATURATION", "UINT16")]
    contents += [_q(f"DATA_TYPE_ANGLE_{k}_BAND_4", "INT16")
                 for k in ("SENSOR_AZIMUTH", "SENSOR_ZENITH", "SOLAR_AZIMUTH", "SOLAR_ZENITH")]
    image = [_q("SPACECRAFT_ID", f.spacecraft_id), _q("SENSOR_ID", "OLI_TIRS"), _r("WRS_TYPE", 2),
             _r("WRS_PATH", f.path), _r("WRS_ROW", f.row), _q("NADIR_OFFNADIR", "NADIR"),
             _r("TARGET_WRS_PATH", f.path), _r("TARGET_WRS_ROW", f.row), _r("DATE_ACQUIRED", date),
             _q("SCENE_CENTER_TIME", centre), _q("STATION_ID", "LGN"), _r("CLOUD_COVER", f"{f.cloud_cover:.2f}"),
             _r("CLOUD_COVER_LAND", f"{f.cloud_cover_land:.2f}"), _r("IMAGE_QUALITY_OLI", 9),
             _r("IMAGE_QUALITY_TIRS", 9)]
    image += [_q(f"SATURATION_BAND_{b}", "Y" if f.saturated.get(b) else "N") for b in REFLECTIVE]
    image += [_r("ROLL_ANGLE", "0.000"), _r("SUN_AZIMUTH", f"{f.sun_azimuth:.8f}"),
              _r("SUN_ELEVATION", f"{f.sun_elevation:.8f}"), _r("EARTH_SUN_DISTANCE", f"{f.earth_sun_distance:.7f}")]
    if l8:
        image += [_q("TRUNCATION_OLI", "UPPER"), _q("TIRS_SSM_MODEL", "FINAL"),
                  _q("TIRS_SSM_POSITION_STATUS", "ESTIMATED")]
    cpf0, cpf1 = _quarter(f.sensing)
    t = f.sensing.replace(microsecond=0)

    def bpf(inst: str, before: timedelta, after: timedelta) -> str:
        return f"L{inst}{d}BPF{t - before:%Y%m%d%H%M%S}_{t + after:%Y%m%d%H%M%S}.01"
    record = [_q("ORIGIN", ORIGIN), _q("DIGITAL_OBJECT_IDENTIFIER", DOI), _q("REQUEST_ID", f.request_id),
              _q("LANDSAT_SCENE_ID", f.scene_id), _q("LANDSAT_PRODUCT_ID", f.product_id),
              _q("PROCESSING_LEVEL", "L1TP"), _q("COLLECTION_CATEGORY", "T1"), _q("OUTPUT_FORMAT", "GEOTIFF"),
              _r("DATE_PRODUCT_GENERATED", generated), _q("PROCESSING_SOFTWARE_VERSION", "LPGS_16.3.0"),
              *_file_names(f), _q("FILE_NAME_CPF", f"LC0{d}CPF_{cpf0:%Y%m%d}_{cpf1:%Y%m%d}_02.03"),
              _q("FILE_NAME_BPF_OLI", bpf("O", timedelta(minutes=21, seconds=17), timedelta(minutes=27, seconds=4))),
              _q("FILE_NAME_BPF_TIRS", bpf("T", timedelta(minutes=26, seconds=38), timedelta(minutes=28, seconds=16))),
              _q("FILE_NAME_RLUT", RLUT[f.spacecraft])]
    if l8:
        record.append(_q("DATA_SOURCE_TIRS_STRAY_LIGHT_CORRECTION", "TIRS"))
    record += [_q("DATA_SOURCE_ELEVATION", "GLS2000"), _r("GROUND_CONTROL_POINTS_VERSION", 5),
               _r("GROUND_CONTROL_POINTS_MODEL", 612), _r("GEOMETRIC_RMSE_MODEL", "6.118"),
               _r("GEOMETRIC_RMSE_MODEL_Y", "4.392"), _r("GEOMETRIC_RMSE_MODEL_X", "4.259")]
    if not l8:
        record += [_r("GROUND_CONTROL_POINTS_VERIFY", 171), _r("GEOMETRIC_RMSE_VERIFY", "2.317")]
    rad_minmax = []
    for b in ALL_BANDS:
        m, a = f.radiance[b]
        rad_minmax += [_r(f"RADIANCE_MAXIMUM_BAND_{b}", f"{m * QCAL_MAX + a:.5f}"),
                       _r(f"RADIANCE_MINIMUM_BAND_{b}", f"{m * QCAL_MIN + a:.5f}")]
    refl_minmax = []
    for b in REFLECTIVE:
        refl_minmax += [_r(f"REFLECTANCE_MAXIMUM_BAND_{b}", f"{REFLECTANCE_MULT * QCAL_MAX + REFLECTANCE_ADD:.6f}"),
                        _r(f"REFLECTANCE_MINIMUM_BAND_{b}", f"{REFLECTANCE_MULT * QCAL_MIN + REFLECTANCE_ADD:.6f}")]
    pix = []
    for b in ALL_BANDS:
        pix += [_r(f"QUANTIZE_CAL_MAX_BAND_{b}", QCAL_MAX), _r(f"QUANTIZE_CAL_MIN_BAND_{b}", QCAL_MIN)]
    rescale = [_r(f"RADIANCE_MULT_BAND_{b}", f"{f.radiance[b][0]:.4E}") for b in ALL_BANDS]
    rescale += [_r(f"RADIANCE_ADD_BAND_{b}", f"{f.radiance[b][1]:.5f}") for b in ALL_BANDS]
    rescale += [_r(f"REFLECTANCE_MULT_BAND_{b}", f"{REFLECTANCE_MULT:.4E}") for b in REFLECTIVE]
    rescale += [_r(f"REFLECTANCE_ADD_BAND_{b}", f"{REFLECTANCE_ADD:.6f}") for b in REFLECTIVE]
    thermal = []
    for b in (10, 11):
        k1, k2 = f.thermal_k[b]
        thermal += [_r(f"K1_CONSTANT_BAND_{b}", f"{k1:.4f}"), _r(f"K2_CONSTANT_BAND_{b}", f"{k2:.4f}")]
    return [("PRODUCT_CONTENTS", contents), ("IMAGE_ATTRIBUTES", image),
            ("PROJECTION_ATTRIBUTES", _projection(f, level1=False)), ("LEVEL1_PROCESSING_RECORD", record),
            ("LEVEL1_MIN_MAX_RADIANCE", rad_minmax), ("LEVEL1_MIN_MAX_REFLECTANCE", refl_minmax),
            ("LEVEL1_MIN_MAX_PIXEL_VALUE", pix), ("LEVEL1_RADIOMETRIC_RESCALING", rescale),
            ("LEVEL1_THERMAL_CONSTANTS", thermal), ("LEVEL1_PROJECTION_PARAMETERS", _projection(f, level1=True))]


def mtl_txt(groups: list[tuple[str, list[Entry]]]) -> str:
    """ODL text (``_MTL.txt``): ``GROUP = LANDSAT_METADATA_FILE`` ... ``END``, strings quoted."""
    lines = ["GROUP = LANDSAT_METADATA_FILE"]
    for name, entries in groups:
        lines.append(f"  GROUP = {name}")
        lines += [f'    {k} = "{v}"' if quoted else f"    {k} = {v}" for k, v, quoted in entries]
        lines.append(f"  END_GROUP = {name}")
    lines += ["END_GROUP = LANDSAT_METADATA_FILE", "END"]
    return "\n".join(lines) + "\n"


def mtl_xml(groups: list[tuple[str, list[Entry]]]) -> str:
    """``_MTL.xml``: the same tree as elements, values unquoted."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<LANDSAT_METADATA_FILE>"]
    for name, entries in groups:
        lines.append(f"  <{name}>")
        lines += [f"    <{k}>{escape(v)}</{k}>" for k, v, _ in entries]
        lines.append(f"  </{name}>")
    lines.append("</LANDSAT_METADATA_FILE>")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------ ANG
@dataclass
class ScaRpc:
    """L1T -> L1R model of one SCA (sensor chip assembly)."""
    mean_height: float
    mean_l1r: tuple[float, float]                 # line, sample (within the SCA)
    mean_l1t: tuple[float, float]                 # line, sample
    line_num: tuple[float, ...]                   # 5 coefficients
    line_den: tuple[float, ...]                   # 4
    samp_num: tuple[float, ...]
    samp_den: tuple[float, ...]


@dataclass
class BandRpc:
    """One RPC_BANDnn group: image size, L1R timing, mean satellite/sun vectors and their polynomials."""
    band: int
    l1t_lines: int
    l1t_samps: int
    corner_lines: tuple[float, float, float, float]
    corner_samps: tuple[float, float, float, float]
    l1r_lines: int
    l1r_samps: int
    pixel_size: float
    start_time: float
    line_time: float
    mean_height: float
    mean_l1r: tuple[float, float]
    mean_l1t: tuple[float, float]
    sat_mean: tuple[float, float, float]
    sat_num: dict[str, tuple[float, ...]]         # 'X','Y','Z' -> 10 coefficients
    sat_den: dict[str, tuple[float, ...]]         # 9
    sun_mean: tuple[float, float, float]
    sun_num: dict[str, tuple[float, ...]]
    sun_den: dict[str, tuple[float, ...]]
    scas: list[ScaRpc]


@dataclass
class AngFacts:
    scene_id: str
    spacecraft_id: str
    utm_zone: int
    corners_xy: dict[str, tuple[float, float]]
    epoch: datetime                               # first ephemeris/solar sample
    ephemeris: list[tuple[float, float, float]]   # ECEF (m), one per second
    solar: list[tuple[float, float, float]]       # unit ECEF vectors towards the Sun
    earth_sun_distance: float
    bands: list[BandRpc]


def _array(key: str, values, fmt: str, indent: int = 2, per_line: int = 5) -> str:
    head = " " * indent + f"{key} = ("
    items = [fmt % v for v in values]
    rows = [items[i:i + per_line] for i in range(0, len(items), per_line)]
    parts = [", ".join(r) + (")" if i == len(rows) - 1 else ", ") for i, r in enumerate(rows)]
    return ("\n" + " " * len(head)).join([head + parts[0], *parts[1:]])


def _ints(key: str, values) -> str:
    return f"  {key} = (" + ", ".join(str(v) for v in values) + ")"


def _band_block(b: BandRpc) -> list[str]:
    p = f"BAND{b.band:02d}"
    out = [f"GROUP = RPC_{p}",
           f"  {p}_NUMBER_OF_SCAS = {len(b.scas)}",
           f"  {p}_NUM_L1T_LINES = {b.l1t_lines}",
           f"  {p}_NUM_L1T_SAMPS = {b.l1t_samps}",
           _array(f"{p}_L1T_IMAGE_CORNER_LINES", b.corner_lines, "%12.6f"),
           _array(f"{p}_L1T_IMAGE_CORNER_SAMPS", b.corner_samps, "%12.6f"),
           f"  {p}_NUM_L1R_LINES = {b.l1r_lines}",
           f"  {p}_NUM_L1R_SAMPS = {b.l1r_samps}",
           f"  {p}_PIXEL_SIZE = {b.pixel_size:.3f}",
           f"  {p}_START_TIME = {b.start_time:10.6f}",
           f"  {p}_LINE_TIME = {b.line_time:.9f}",
           f"  {p}_MEAN_HEIGHT = {b.mean_height:.3f}",
           _array(f"{p}_MEAN_L1R_LINE_SAMP", b.mean_l1r, "%8.3f"),
           _array(f"{p}_MEAN_L1T_LINE_SAMP", b.mean_l1t, "%8.3f")]
    for kind, mean, num, den in (("SAT", b.sat_mean, b.sat_num, b.sat_den), ("SUN", b.sun_mean, b.sun_num, b.sun_den)):
        out.append(_array(f"{p}_MEAN_{kind}_VECTOR", mean, "%12.9f"))
        for ax in ("X", "Y", "Z"):
            out.append(_array(f"{p}_{kind}_{ax}_NUM_COEF", num[ax], "%13.6e"))
            out.append(_array(f"{p}_{kind}_{ax}_DEN_COEF", den[ax], "%13.6e"))
    out.append(_ints(f"{p}_SCA_LIST", range(1, len(b.scas) + 1)))
    for k, s in enumerate(b.scas, 1):
        q = f"{p}_SCA{k:02d}"
        out += [f"  {q}_MEAN_HEIGHT = {s.mean_height:.3f}",
                _array(f"{q}_MEAN_L1R_LINE_SAMP", s.mean_l1r, "%8.3f"),
                _array(f"{q}_MEAN_L1T_LINE_SAMP", s.mean_l1t, "%8.3f"),
                _array(f"{q}_LINE_NUM_COEF", s.line_num, "%13.6e"),
                _array(f"{q}_LINE_DEN_COEF", s.line_den, "%13.6e"),
                _array(f"{q}_SAMP_NUM_COEF", s.samp_num, "%13.6e"),
                _array(f"{q}_SAMP_DEN_COEF", s.samp_den, "%13.6e")]
    out.append(f"END_GROUP = RPC_{p}")
    return out


def ang_text(f: AngFacts) -> str:
    """``_ANG.txt``: the angle coefficient file USGS' ``l8_angles`` tool reads."""
    n = len(f.ephemeris)
    times = [float(i) for i in range(n)]
    doy = f.epoch.timetuple().tm_yday
    secs = f.epoch.hour * 3600 + f.epoch.minute * 60 + f.epoch.second + f.epoch.microsecond / 1e6
    out = ["GROUP = FILE_HEADER",
           f'  LANDSAT_SCENE_ID = "{f.scene_id}"',
           f'  SPACECRAFT_ID = "{f.spacecraft_id}"',
           f"  NUMBER_OF_BANDS = {len(f.bands)}",
           _ints("BAND_LIST", [b.band for b in f.bands]),
           "END_GROUP = FILE_HEADER",
           "GROUP = PROJECTION",
           _array("ELLIPSOID_AXES", (6378137.0, 6356752.3142), "%.6f"),
           '  MAP_PROJECTION = "UTM"',
           '  PROJECTION_UNITS = "METERS"',
           '  DATUM = "WGS84"',
           '  ELLIPSOID = "WGS84"',
           f"  UTM_ZONE = {f.utm_zone}",
           _array("PROJECTION_PARAMETERS", [0.0] * 15, "%.6f")]
    out += [_array(f"{c}_CORNER", f.corners_xy[c], "%11.3f") for c in ("UL", "UR", "LL", "LR")]
    out += ["END_GROUP = PROJECTION",
            "GROUP = EPHEMERIS",
            f"  EPHEMERIS_EPOCH_YEAR = {f.epoch.year}",
            f"  EPHEMERIS_EPOCH_DAY = {doy:03d}",
            f"  EPHEMERIS_EPOCH_SECONDS = {secs:12.6f}",
            f"  NUMBER_OF_POINTS = {n}",
            _array("EPHEMERIS_TIME", times, "%10.6f")]
    out += [_array(f"EPHEMERIS_ECEF_{ax}", [p[i] for p in f.ephemeris], "%15.6f") for i, ax in enumerate("XYZ")]
    out += ["END_GROUP = EPHEMERIS",
            "GROUP = SOLAR_VECTOR",
            f"  SOLAR_EPOCH_YEAR = {f.epoch.year}",
            f"  SOLAR_EPOCH_DAY = {doy:03d}",
            f"  SOLAR_EPOCH_SECONDS = {secs:12.6f}",
            f"  EARTH_SUN_DISTANCE = {f.earth_sun_distance:.8f}",
            f"  NUMBER_OF_POINTS = {n}",
            _array("SAMPLE_TIME", times, "%10.6f")]
    out += [_array(f"SOLAR_ECEF_{ax}", [p[i] for p in f.solar], "%15.8e") for i, ax in enumerate("XYZ")]
    out.append("END_GROUP = SOLAR_VECTOR")
    for b in f.bands:
        out += _band_block(b)
    out.append("END")
    return "\n".join(out) + "\n"
