"""Read a Sentinel-2 (or Hyper MS "S2P") L1C SAFE product into :class:`~sen2cor3.products.model.L1CProduct`.

What Sen2Cor reads (sen2cor_reference.md §2.1): MTD_MSIL1C.xml (product facts, radiometry), the granule's
MTD_TL.xml (geocoding, 5 km angle grids), the image, QI-mask and AUX file lists. Element lookups are
namespace-agnostic (``{*}`` wildcards) because the namespaces change with every PSD version. Every fault
raises :class:`L1CError` with one line naming the file and the fault, which the CLI prints as is.

Supported: compact naming ``S2[ABCD]_MSIL1C_*`` (PSD 14+, from Dec 2016, all baselines 02.xx .. 05.xx) and
``S2P_MSIL1C_*`` (Hyper MS, 30 m). The old long naming ``S2?_OPER_PRD_MSIL1C_*`` (PSD < 14, multi-tile) is
rejected with a clear error, as Sen2Cor 2.8+ no longer processes it.

Pixel access (:func:`read_band`, :func:`read_qi_masks`, :func:`toa_reflectance`) lives in
``_l1c_pixels.py`` and angle interpolation in ``angles.py``; both are re-exported here.
"""
from __future__ import annotations

import copy
import re
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from lxml import etree

from .angles import merge_detector_grids
from sen2cor3.sensors import Sensor, sensor_for

from .model import AngleGrids, BandInfo, Geoposition, L1CProduct

__all__ = ["L1CError", "open_l1c", "open_l1c_granule", "datastrip_mtd_file", "parse_product_name", "toa_reflectance", "read_band", "read_qi_masks",
           "has_raster_qi_masks", "angle_fields", "QUALIT_LAYERS"]


from sen2cor3.errors import L1CError  # noqa: E402  (one line naming the file and the fault)


_NAME_RE = re.compile(r"^(S2[A-DP])_MSIL1C_(\d{8}T\d{6})(?:_N(\d{4}))?_R(\d{3})_T(\d{2}[A-Z]{3})_(\d{8}T\d{6})$")
_L2A_RE = re.compile(r"^S2[A-DP]_(MSIL2A|OPER_PRD_MSIL2A)")
_OLD_RE = re.compile(r"^S2[A-D]_OPER_PRD_MSIL1C")
_BAND_FROM_FILE = re.compile(r"_(B\d[\dA]|TCI)(?:_\d+m)?$")
_MASK_KEY = re.compile(r"MSK_([A-Z]{6})_(?:.*_)?(B\d[\dA])(?:_MSIL1C)?$")
_AUX_KEY = re.compile(r"AUX_([A-Z]{6})")


def parse_product_name(name: str) -> dict[str, str] | None:
    """Fields of a compact L1C name (with or without .SAFE), or None when it is not one.

    Keys: mission, datatake_sensing, baseline ('dddd' or '' for cloud-archive names without N field),
    relative_orbit, tile_id, discriminator.
    """
    m = _NAME_RE.match(name[:-5] if name.upper().endswith(".SAFE") else name)
    if not m:
        return None
    keys = ("mission", "datatake_sensing", "baseline", "relative_orbit", "tile_id", "discriminator")
    return {k: (v or "") for k, v in zip(keys, m.groups())}


# ------------------------------------------------------------------------------------------- XML helpers
def _parse_xml(path: Path) -> etree._Element:
    if not path.is_file():
        raise L1CError(f"{path}: metadata file missing")
    try:
        return etree.parse(str(path), etree.XMLParser(huge_tree=True, resolve_entities=False)).getroot()
    except etree.XMLSyntaxError as exc:
        msg = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise L1CError(f"{path}: malformed XML ({msg})") from None
    except OSError as exc:
        raise L1CError(f"{path}: cannot read ({exc})") from None


def _find(root: etree._Element, name: str, path: Path, required: bool = True) -> etree._Element | None:
    el = root.find(f".//{{*}}{name}")                 # {*} also matches elements without a namespace
    if el is None and required:
        raise L1CError(f"{path}: missing element <{name}>")
    return el


def _findall(root: etree._Element, name: str) -> list[etree._Element]:
    return root.findall(f".//{{*}}{name}")


def _text(root: etree._Element, name: str, path: Path, default: str | None = None) -> str:
    el = _find(root, name, path, required=default is None)
    if el is None or el.text is None or not el.text.strip():
        if default is not None:
            return default
        raise L1CError(f"{path}: element <{name}> is empty")
    return el.text.strip()


def _number(root: etree._Element, name: str, path: Path, default: float | None = None) -> float:
    txt = _text(root, name, path, None if default is None else str(default))
    try:
        return float(txt)
    except ValueError:
        raise L1CError(f"{path}: <{name}> is not a number ({txt!r})") from None


def _float(el: etree._Element, path: Path) -> float:
    try:
        return float((el.text or "").strip())
    except ValueError:
        raise L1CError(f"{path}: <{etree.QName(el).localname}> is not a number ({el.text!r})") from None


def _time(txt: str, path: Path, what: str) -> datetime:
    """ISO UTC time with any number of fraction digits ('2021-09-08T04:27:01.024Z')."""
    m = re.match(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z?$", txt.strip())
    if not m:
        raise L1CError(f"{path}: <{what}> is not a UTC time ({txt!r})")
    frac = (m.group(2) or "0")[:6].ljust(6, "0")
    return datetime.fromisoformat(f"{m.group(1)}.{frac}").replace(tzinfo=timezone.utc)


def _grid(el: etree._Element, path: Path) -> np.ndarray:
    rows = [v.text.split() for v in el.iter("{*}VALUES") if v.text]
    try:
        arr = np.array(rows, dtype=np.float64)
    except ValueError:
        raise L1CError(f"{path}: ragged or non-numeric angle grid <Values_List>") from None
    if arr.ndim != 2:
        raise L1CError(f"{path}: empty angle grid <Values_List>")
    return arr


# ------------------------------------------------------------------------------------------- locating
def _locate(path: str | Path) -> tuple[Path, Path]:
    """(SAFE folder, MTD_MSIL1C.xml) from the folder, the MTD file or a path inside GRANULE."""
    p = Path(path).expanduser()
    if not p.exists():
        raise L1CError(f"{p}: input product does not exist")
    p = p.resolve()
    if p.is_file():
        up = p.name.upper()
        if up.startswith("MTD_MSIL2A"):
            raise L1CError(f"{p}: this is a Level-2A product; a Level-1C product is required")
        if not (up.startswith("MTD_MSIL1C") and up.endswith(".XML")):
            raise L1CError(f"{p}: not an L1C product folder nor its MTD_MSIL1C.xml")
        return p.parent, p
    if "GRANULE" in p.parts:
        p = Path(*p.parts[: p.parts.index("GRANULE")])
    mtd = p / "MTD_MSIL1C.xml"
    if mtd.is_file():
        return p, mtd
    if _L2A_RE.match(p.name) or (p / "MTD_MSIL2A.xml").exists():
        raise L1CError(f"{p}: this is a Level-2A product; a Level-1C product is required")
    if _OLD_RE.match(p.name) or list(p.glob("S2?_OPER_MTD_SAFL1C*.xml")):
        raise L1CError(f"{p}: old-format L1C (PSD < 14, 'OPER' long naming, before Dec 2016) is not supported")
    raise L1CError(f"{mtd}: product metadata missing (not an L1C SAFE product)")


def _band_key(stem: str) -> str | None:
    m = _BAND_FROM_FILE.search(stem)
    return m.group(1) if m else None


def _with_extension(p: Path, ext: str) -> Path:
    """An IMAGE_FILE path (listed without extension) with the one the file really has: ``imageFormat`` gives
    JPEG 2000 or GeoTIFF; prisma4sen2like writes upper-case ``.TIF``, so both cases are tried."""
    if p.suffix.lower() in (".jp2", ".tif"):
        return p
    for e in (ext, ext.upper()):
        cand = p.with_name(p.name + e)
        if cand.is_file():
            return cand
    return p.with_name(p.name + ext)


def _image_paths(safe: Path, granule_el: etree._Element | None, mtd: Path, check: bool,
                 band_names: tuple[str, ...], granule_only: bool = False) -> dict[str, Path]:
    """Band -> image file, from IMAGE_FILE (extension added from imageFormat), else by globbing IMG_DATA
    (``granule_only``: ``safe`` is the granule folder itself)."""
    paths: dict[str, Path] = {}
    if granule_el is not None:
        ext = ".tif" if "TIFF" in granule_el.get("imageFormat", "").upper() else ".jp2"
        for f in granule_el.iter("{*}IMAGE_FILE"):
            rel = (f.text or "").strip()
            key = _band_key(Path(rel).name.removesuffix(".jp2"))
            if key:
                paths[key] = _with_extension(safe / rel, ext)
    if not paths:
        pattern = "IMG_DATA/*" if granule_only else "GRANULE/*/IMG_DATA/*"
        for p in sorted(q for q in safe.glob(pattern) if q.suffix.lower() in (".jp2", ".tif")):
            key = _band_key(p.stem)
            if key:
                paths.setdefault(key, p)
    missing = [b for b in band_names if b not in paths]
    if missing:
        raise L1CError(f"{mtd}: no image file listed for band(s) {', '.join(missing)}")
    if check:
        for b in (*band_names, "TCI"):
            if b in paths and not paths[b].is_file():
                raise L1CError(f"{paths[b]}: band image {b} missing")
    return paths


def _granule_dir(safe: Path, images: dict[str, Path], mtd: Path) -> Path:
    gdirs = {p.parent.parent for p in images.values()}
    if len(gdirs) == 1:
        return gdirs.pop()
    found = sorted(d for d in safe.glob("GRANULE/*") if (d / "MTD_TL.xml").is_file())
    if len(found) != 1:
        raise L1CError(f"{mtd}: expected exactly one granule under GRANULE/, found {len(found)}")
    return found[0]


# ------------------------------------------------------------------------------------------- sections
def _bands(root: etree._Element, mtd: Path, sensor: Sensor) -> dict[str, BandInfo]:
    """Band facts from MTD_MSIL1C; the native resolution is the sensor description's (Hyper MS products keep
    the S2 nominal RESOLUTION values in Spectral_Information while their files are 30 m, B01 60 m)."""
    irr = {int(e.get("bandId")): _float(e, mtd) for e in _findall(root, "SOLAR_IRRADIANCE")}
    off = {int(e.get("band_id", e.get("bandId", -1))): _float(e, mtd) for e in _findall(root, "RADIO_ADD_OFFSET")}
    wl: dict[int, tuple[float, float, float]] = {}
    for si in _findall(root, "Spectral_Information"):
        vals = []
        for tag in ("MIN", "MAX", "CENTRAL"):
            e = si.find(f".//{{*}}Wavelength/{{*}}{tag}")
            vals.append(_float(e, mtd) if e is not None else float("nan"))
        wl[int(si.get("bandId"))] = tuple(vals)  # type: ignore[assignment]
    bands = {}
    for info in sensor.bands:
        i, name = info.band_id, info.name
        if i not in irr:
            raise L1CError(f"{mtd}: no <SOLAR_IRRADIANCE bandId=\"{i}\"> for {name}")
        wmin, wmax, wc = wl.get(i, (float("nan"),) * 3)
        bands[name] = BandInfo(name=name, band_id=i, resolution_m=info.resolution_m,
                               solar_irradiance=irr[i], radio_add_offset=off.get(i, 0.0),
                               wavelength_central_nm=wc, wavelength_min_nm=wmin, wavelength_max_nm=wmax)
    return bands


def _geopositions(tl: etree._Element, mtd_tl: Path) -> dict[int, Geoposition]:
    sizes = {}
    for s in _findall(tl, "Size"):
        sizes[int(s.get("resolution"))] = (int(_number(s, "NROWS", mtd_tl)), int(_number(s, "NCOLS", mtd_tl)))
    out = {}
    for g in _findall(tl, "Geoposition"):
        res = int(g.get("resolution"))
        if res not in sizes:
            continue
        out[res] = Geoposition(res, _number(g, "ULX", mtd_tl), _number(g, "ULY", mtd_tl), _number(g, "XDIM", mtd_tl),
                               _number(g, "YDIM", mtd_tl), *sizes[res])
    if not out:
        raise L1CError(f"{mtd_tl}: no <Geoposition> with a matching <Size>")
    return out


def _angles(tl: etree._Element, mtd_tl: Path, band_names: tuple[str, ...]) -> AngleGrids:
    sun = _find(tl, "Sun_Angles_Grid", mtd_tl)
    zen, azi = _find(sun, "Zenith", mtd_tl), _find(sun, "Azimuth", mtd_tl)
    per_det: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    for vg in _findall(tl, "Viewing_Incidence_Angles_Grids"):
        name = band_names[int(vg.get("bandId"))]
        z, a = per_det.setdefault(name, ([], []))
        z.append(_grid(_find(vg, "Zenith", mtd_tl), mtd_tl))
        a.append(_grid(_find(vg, "Azimuth", mtd_tl), mtd_tl))
    mean_vz, mean_va = {}, {}
    for m in _findall(tl, "Mean_Viewing_Incidence_Angle"):
        name = band_names[int(m.get("bandId"))]
        mean_vz[name] = _number(m, "ZENITH_ANGLE", mtd_tl)
        mean_va[name] = _number(m, "AZIMUTH_ANGLE", mtd_tl)
    msa = _find(tl, "Mean_Sun_Angle", mtd_tl)
    return AngleGrids(
        col_step_m=_number(zen, "COL_STEP", mtd_tl), row_step_m=_number(zen, "ROW_STEP", mtd_tl),
        sun_zenith=_grid(zen, mtd_tl), sun_azimuth=_grid(azi, mtd_tl),
        view_zenith={b: merge_detector_grids(v[0]) for b, v in per_det.items()},
        view_azimuth={b: merge_detector_grids(v[1]) for b, v in per_det.items()},
        mean_sun_zenith=_number(msa, "ZENITH_ANGLE", mtd_tl), mean_sun_azimuth=_number(msa, "AZIMUTH_ANGLE", mtd_tl),
        mean_view_zenith=mean_vz, mean_view_azimuth=mean_va)


def _qi_paths(tl: etree._Element, safe: Path, granule: Path, granule_only: bool = False) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for e in _findall(tl, "MASK_FILENAME"):
        rel = (e.text or "").strip()
        if not rel:
            continue
        parts = Path(rel).parts
        if granule_only and len(parts) > 2 and parts[0] == "GRANULE":   # 'GRANULE/<g>/QI_DATA/x' in the folder
            p = granule.joinpath(*parts[2:])
        else:
            p = safe / rel
        stem = p.name.rsplit(".", 1)[0]
        m = _MASK_KEY.search(stem)                   # long PSD-13 names -> MSK_NODATA_B12
        key = stem if stem.startswith("MSK_") or not m else f"MSK_{m.group(1)}_{m.group(2)}"
        out[key] = p
    for p in sorted((granule / "QI_DATA").glob("MSK_*")):
        if p.suffix.lower() in (".jp2", ".gml", ".tif"):
            out.setdefault(p.name.rsplit(".", 1)[0], p)
    return out


def _aux_paths(safe: Path, granule: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for folder in (granule / "AUX_DATA", safe / "AUX_DATA"):
        for p in sorted(folder.glob("*")) if folder.is_dir() else []:
            m = _AUX_KEY.search(p.name)
            if p.is_file() and m:
                out.setdefault(f"AUX_{m.group(1)}", p)
    return out


def _check_image_sizes(images: dict[str, Path], sensor: Sensor, geopositions: dict[int, Geoposition],
                       mtd_tl: Path) -> None:
    """Every band image has the size MTD_TL gives its native resolution (a mismatch would only show as a
    broadcasting error deep in the processing). Files GDAL cannot open are left to the pixel reader, which names
    the decoding fault."""
    from sen2cor3.io.raster import RasterError, open_dataset
    for band in sensor.bands:
        path, geo = images.get(band.name), geopositions.get(band.resolution_m)
        if path is None or geo is None or not path.is_file():
            continue
        try:
            ds = open_dataset(path)
        except RasterError:
            continue
        if (ds.RasterYSize, ds.RasterXSize) != (geo.nrows, geo.ncols):
            raise L1CError(f"{path}: {ds.RasterYSize}x{ds.RasterXSize} pixels, but {mtd_tl.name} gives "
                           f"{geo.nrows}x{geo.ncols} for the {band.resolution_m} m grid of {band.name}")


# ------------------------------------------------------------------------------------------- main entry
def open_l1c(path: str | Path, check_images: bool = True) -> L1CProduct:
    """Read an L1C product's metadata and file lists (no pixels).

    ``path``: the .SAFE folder (any name if it holds MTD_MSIL1C.xml), its MTD_MSIL1C.xml, or a path inside
    its GRANULE folder. ``check_images=False`` tolerates absent band files (metadata-only test sets);
    a normal open fails on any missing band image.
    """
    safe, mtd = _locate(path)
    root = _parse_xml(mtd)
    level = etree.QName(root).localname
    if "Level-2A" in level:
        raise L1CError(f"{mtd}: this is a Level-2A product; a Level-1C product is required")
    ptype = _text(root, "PRODUCT_TYPE", mtd)
    if ptype not in ("S2MSI1C",) or "Level-1C" not in level:
        raise L1CError(f"{mtd}: unknown product type {ptype!r} (root <{level}>); S2MSI1C expected")
    uri = _text(root, "PRODUCT_URI", mtd)
    fields = parse_product_name(safe.name) or parse_product_name(uri)
    if fields is None:
        if _OLD_RE.match(uri) or _OLD_RE.match(safe.name):
            raise L1CError(f"{safe}: old-format L1C (PSD < 14, 'OPER' long naming) is not supported")
        raise L1CError(f"{safe}: product name {uri!r} is not a Sentinel-2 L1C name (S2?_MSIL1C_...)")
    product_name = safe.name[:-5] if safe.name.upper().endswith(".SAFE") else safe.name
    if parse_product_name(safe.name) is None:
        product_name = uri[:-5] if uri.upper().endswith(".SAFE") else uri
    sensor = sensor_for(fields["mission"])
    granule_el = _find(root, "Granule", mtd, required=False)
    images = _image_paths(safe, granule_el, mtd, check_images, sensor.band_names)
    gdir = _granule_dir(safe, images, mtd)
    mtd_tl = gdir / "MTD_TL.xml"
    tl = _parse_xml(mtd_tl)
    if "Level-1C" not in etree.QName(tl).localname:
        raise L1CError(f"{mtd_tl}: not a Level-1C tile metadata (root <{etree.QName(tl).localname}>)")
    ds_files = sorted(safe.glob("DATASTRIP/*/MTD_DS.xml"))
    ds_dirs = sorted(d for d in safe.glob("DATASTRIP/DS_*") if d.is_dir())
    return _assemble(root, mtd, tl, mtd_tl, safe=safe, gdir=gdir, product_name=product_name, uri=uri,
                     ptype=ptype, fields=fields, images=images, check_images=check_images,
                     mtd_datastrip=ds_files[0] if ds_files else None,
                     datastrip_name=ds_dirs[0].name if ds_dirs else None)


def _assemble(root: etree._Element, mtd: Path, tl: etree._Element, mtd_tl: Path, *, safe: Path, gdir: Path,
              product_name: str, uri: str, ptype: str, fields: dict[str, str], images: dict[str, Path],
              check_images: bool, mtd_datastrip: Path | None, datastrip_name: str | None,
              granule_only: bool = False) -> L1CProduct:
    """The L1CProduct from the product-level facts (``root``: MTD_MSIL1C.xml, or the document
    :func:`open_l1c_granule` builds from the datastrip) and the tile metadata."""
    mission = fields["mission"]
    hyper = mission == "S2P"
    sensor = sensor_for(mission)

    specials = {}
    for sv in _findall(root, "Special_Values"):
        specials[_text(sv, "SPECIAL_VALUE_TEXT", mtd)] = int(_number(sv, "SPECIAL_VALUE_INDEX", mtd))
    datatake = _find(root, "Datatake", mtd)
    tile_long = _text(tl, "TILE_ID", mtd_tl)
    m_orbit = re.search(r"_A(\d{6})_", gdir.name + "_") or re.search(r"_A(\d{6})_", tile_long)
    cs_code = _text(tl, "HORIZONTAL_CS_CODE", mtd_tl)
    try:
        epsg = int(cs_code.split(":")[-1])
    except ValueError:
        raise L1CError(f"{mtd_tl}: <HORIZONTAL_CS_CODE> is not an EPSG code ({cs_code!r})") from None
    start = _time(_text(root, "PRODUCT_START_TIME", mtd), mtd, "PRODUCT_START_TIME")
    cloud = _number(root, "Cloud_Coverage_Assessment", mtd, default=float("nan"))

    geopositions = _geopositions(tl, mtd_tl)
    if check_images:
        _check_image_sizes(images, sensor, geopositions, mtd_tl)
    return L1CProduct(
        safe_path=safe, product_name=product_name, product_uri=uri, product_type=ptype, mission_id=mission,
        spacecraft_name=_text(root, "SPACECRAFT_NAME", mtd), sensing_start=start,
        datatake_sensing=fields["datatake_sensing"] or start.strftime("%Y%m%dT%H%M%S"),
        generation_time=_time(_text(root, "GENERATION_TIME", mtd), mtd, "GENERATION_TIME"),
        processing_baseline=_text(root, "PROCESSING_BASELINE", mtd),
        relative_orbit=int(_number(root, "SENSING_ORBIT_NUMBER", mtd)),
        absolute_orbit=int(m_orbit.group(1)) if m_orbit else 0,
        sensing_orbit_direction=_text(root, "SENSING_ORBIT_DIRECTION", mtd, default=""),
        datatake_identifier=datatake.get("datatakeIdentifier", ""), tile_id=fields["tile_id"],
        quantification_value=_number(root, "QUANTIFICATION_VALUE", mtd), u=_number(root, "U", mtd),
        bands=_bands(root, mtd, sensor), nodata_value=specials.get("NODATA", 0),
        saturated_value=specials.get("SATURATED", 65535), epsg=epsg,
        crs_name=_text(tl, "HORIZONTAL_CS_NAME", mtd_tl), geopositions=geopositions,
        angles=_angles(tl, mtd_tl, sensor.band_names), mtd_product_path=mtd, mtd_tile_path=mtd_tl,
        mtd_datastrip_path=mtd_datastrip, granule_name=gdir.name,
        datastrip_name=datastrip_name, tile_long_id=tile_long,
        datastrip_long_id=_text(tl, "DATASTRIP_ID", mtd_tl, default=""), image_paths=images,
        qi_mask_paths=_qi_paths(tl, safe, gdir, granule_only), aux_paths=_aux_paths(safe, gdir),
        cloud_coverage_percent=cloud, is_hyper_ms=hyper)



# ------------------------------------------------------------------------------- ground segment: a bare granule
_TILE_LONG = re.compile(r"^(S2[A-DP])_OPER_MSI_L1C_TL_(?P<centre>.{4})_(?P<created>\d{8}T\d{6})_A(?P<orbit>\d{6})_"
                        r"T(?P<tile>\d{2}[A-Z]{3})_N(?P<pb>\d{2}\.\d{2})$")
_IMAGE_PREFIX = re.compile(r"^T(\d{2}[A-Z]{3})_(\d{8}T\d{6})_B\d[\dA]$")


def datastrip_mtd_file(ds_dir: Path) -> Path | None:
    """The metadata file of a datastrip folder: ``MTD_DS.xml`` (compact naming) or, in the ground-segment
    ("standard") naming, ``S2x_OPER_MTD_L1C_DS_....xml`` (Sen2Cor 3 ``L2A_Config.readPreferences``: masks
    ``MTD_DS.xml`` / ``S2?_*.xml``)."""
    mtd = ds_dir / "MTD_DS.xml"
    if mtd.is_file():
        return mtd
    found = sorted(p for p in ds_dir.glob("S2?_*.xml") if p.is_file())
    return found[0] if found else None


def open_l1c_granule(granule_dir: str | Path, datastrip_dir: str | Path, check_images: bool = True) -> L1CProduct:
    """Open one L1C granule folder without its product (the ground-segment ``--mode process_tile`` input).

    Sen2Cor 3 (03.03.01 ``L2A_Process.parseCommandLine``, ``L2A_Config.getEntriesFromDatastrip``) processes a
    tile from its folder and the *L2A* datastrip that ``generate_datastrip`` made: spacecraft, quantification,
    offsets and solar irradiance come from that datastrip, the geometry from the tile's MTD_TL. We do the same:
    the facts the SAFE reader takes from MTD_MSIL1C.xml are gathered into an equivalent document, then the
    granule is read as in a SAFE, so a tile gives the same :class:`L1CProduct` values in both modes:

    ============================= ==========================================================================
    MTD_MSIL1C element            taken from
    ============================= ==========================================================================
    SPACECRAFT_NAME               MTD_DS Datatake_Info/SPACECRAFT_NAME
    PRODUCT_START_TIME            MTD_DS DATATAKE_SENSING_START
    SENSING_ORBIT_NUMBER/DIRECTION MTD_DS Datatake_Info
    Datatake@datatakeIdentifier   MTD_DS Datatake_Info@datatakeIdentifier with the L1C '_Ndd.dd'
    QUANTIFICATION_VALUE          MTD_DS QUANTIFICATION_VALUE (L1C DS) or BOA_QUANTIFICATION_VALUE (L2A DS,
                                  Sen2Cor's ``_dnScale``: 10000 in both)
    RADIO_ADD_OFFSET              MTD_DS RADIO_ADD_OFFSET (L1C DS) or BOA_ADD_OFFSET (L2A DS, Sen2Cor's
                                  ``radio_add_offset_list``); none before baseline 04.00
    U, SOLAR_IRRADIANCE,          MTD_DS Radiometric_Info (Reflectance_Conversion, Spectral_Information_List)
    Spectral_Information
    PROCESSING_BASELINE (L1C)     MTD_TL TILE_ID '_Ndd.dd'
    GENERATION_TIME (L1C)         MTD_TL TILE_ID creation field
    tile, absolute orbit          MTD_TL TILE_ID
    datatake sensing (file names) the L1C image names T<tile>_<sensing>_Bxx, else DATATAKE_SENSING_START
    Cloud_Coverage_Assessment     MTD_TL CLOUDY_PIXEL_PERCENTAGE
    Special_Values                not in MTD_DS: the PSD values NODATA 0, SATURATED 65535
    ============================= ==========================================================================

    The product name (``S2x_MSIL1C_<sensing>_N<pb>_R<orbit>_T<tile>_<generation>``) is rebuilt from these
    fields. ``safe_path`` is the granule folder; ``mtd_product_path`` the datastrip metadata.
    """
    gdir = Path(granule_dir).expanduser()
    if not gdir.is_dir():
        raise L1CError(f"{gdir}: input tile does not exist")
    gdir = gdir.resolve()
    ds_dir = Path(datastrip_dir).expanduser().resolve()
    mtd_ds = datastrip_mtd_file(ds_dir) if ds_dir.is_dir() else None
    if mtd_ds is None:
        raise L1CError(f"{ds_dir}: no datastrip metadata (MTD_DS.xml) in the datastrip folder")
    ds = _parse_xml(mtd_ds)
    mtd_tl = gdir / "MTD_TL.xml"
    if not mtd_tl.is_file():
        found = sorted(gdir.glob("S2?_OPER_MTD_L1C_TL_*.xml"))
        mtd_tl = found[0] if found else mtd_tl
    tl = _parse_xml(mtd_tl)
    if "Level-1C" not in etree.QName(tl).localname:
        raise L1CError(f"{mtd_tl}: not a Level-1C tile metadata (root <{etree.QName(tl).localname}>)")
    tile_long = _text(tl, "TILE_ID", mtd_tl)
    m = _TILE_LONG.match(tile_long)
    if not m:
        raise L1CError(f"{mtd_tl}: TILE_ID {tile_long!r} is not an L1C tile id (S2x_OPER_MSI_L1C_TL_...)")
    mission = m.group(1)
    if mission == "S2P":
        raise L1CError(f"{gdir}: Hyper MS tiles are not processed in the ground-segment mode")
    dt = _find(ds, "Datatake_Info", mtd_ds)
    dt_start = _time(_text(dt, "DATATAKE_SENSING_START", mtd_ds), mtd_ds, "DATATAKE_SENSING_START")
    sensing = dt_start.strftime("%Y%m%dT%H%M%S")
    for p in sorted(gdir.glob("IMG_DATA/*")):
        mi = _IMAGE_PREFIX.match(p.name.rsplit(".", 1)[0])
        if mi and mi.group(1) == m.group("tile"):
            sensing = mi.group(2)
            break
    orbit = int(_number(dt, "SENSING_ORBIT_NUMBER", mtd_ds))
    generation = datetime.strptime(m.group("created"), "%Y%m%dT%H%M%S").replace(tzinfo=timezone.utc)
    name = (f"{mission}_MSIL1C_{sensing}_N{m.group('pb').replace('.', '')}_R{orbit:03d}_T{m.group('tile')}_"
            f"{m.group('created')}")

    # the MTD_MSIL1C-equivalent document (element names as in MTD_MSIL1C, looked up namespace-agnostically)
    root = etree.Element("Level-1C_User_Product")
    pi = etree.SubElement(root, "Product_Info")

    def put(parent: etree._Element, tag: str, text: str) -> etree._Element:
        el = etree.SubElement(parent, tag)
        el.text = text
        return el

    put(pi, "PRODUCT_START_TIME", _text(dt, "DATATAKE_SENSING_START", mtd_ds))
    put(pi, "PRODUCT_URI", name + ".SAFE")
    put(pi, "PRODUCT_TYPE", "S2MSI1C")
    put(pi, "PROCESSING_BASELINE", m.group("pb"))
    put(pi, "GENERATION_TIME", generation.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
    # an L2A datastrip carries the L2A baseline in the datatake id: the L1C one is the tile's
    datatake_id = re.sub(r"_N\d{2}\.\d{2}$", f"_N{m.group('pb')}", dt.get("datatakeIdentifier", ""))
    datatake = etree.SubElement(pi, "Datatake", datatakeIdentifier=datatake_id)
    put(datatake, "SPACECRAFT_NAME", _text(dt, "SPACECRAFT_NAME", mtd_ds))
    put(datatake, "SENSING_ORBIT_NUMBER", str(orbit))
    put(datatake, "SENSING_ORBIT_DIRECTION", _text(dt, "SENSING_ORBIT_DIRECTION", mtd_ds, default=""))
    pic = etree.SubElement(root, "Product_Image_Characteristics")
    quant = _find(ds, "QUANTIFICATION_VALUE", mtd_ds, required=False)
    if quant is None:
        quant = _find(ds, "BOA_QUANTIFICATION_VALUE", mtd_ds)
    put(pic, "QUANTIFICATION_VALUE", (quant.text or "").strip())
    offsets = _findall(ds, "RADIO_ADD_OFFSET") or _findall(ds, "BOA_ADD_OFFSET")
    for o in offsets:
        put(pic, "RADIO_ADD_OFFSET", (o.text or "").strip()).set(
            "band_id", o.get("band_id", o.get("bandId", "-1")))
    put(pic, "U", _text(ds, "U", mtd_ds))
    for e in _findall(ds, "SOLAR_IRRADIANCE"):
        put(pic, "SOLAR_IRRADIANCE", (e.text or "").strip()).set("bandId", e.get("bandId", "-1"))
    for e in _findall(ds, "Spectral_Information"):
        pic.append(copy.deepcopy(e))
    put(root, "Cloud_Coverage_Assessment",
        _text(tl, "CLOUDY_PIXEL_PERCENTAGE", mtd_tl, default="nan"))

    fields = {"mission": mission, "datatake_sensing": sensing, "baseline": m.group("pb").replace(".", ""),
              "relative_orbit": f"{orbit:03d}", "tile_id": m.group("tile"), "discriminator": m.group("created")}
    sensor = sensor_for(mission)
    images = _image_paths(gdir, None, mtd_tl, check_images, sensor.band_names, granule_only=True)
    return _assemble(root, mtd_ds, tl, mtd_tl, safe=gdir, gdir=gdir, product_name=name, uri=name + ".SAFE",
                     ptype="S2MSI1C", fields=fields, images=images, check_images=check_images,
                     mtd_datastrip=mtd_ds, datastrip_name=ds_dir.name, granule_only=True)

from .angles import angle_fields  # noqa: E402  (re-export)
from ._l1c_pixels import QUALIT_LAYERS, has_raster_qi_masks, read_band, read_qi_masks, toa_reflectance  # noqa: E402
