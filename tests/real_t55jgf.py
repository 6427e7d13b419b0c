"""A real Sentinel-2 L1C product as a SAFE: S2B T55JGF 2018-06-17 (N02.06), built from ../shared/data (issue 17).

Source: ``../shared/data/eodatasets-s2b-l1c-T55JGF-aws`` (see its MANIFEST.md): the real tile of
S2B_MSIL1C_20180617T001109_N0206_R073_T55JGF_20180617T013729 in the AWS layout, every band decimated x25
(10 m bands 439 px of ~250 m, 20 m bands 219 px of ~500 m, 60 m bands 73 px of ~1500 m; lossy JPEG 2000), with
its real tile metadata (``metadata.xml`` = MTD_TL.xml with the 5 km angle grids), the real datastrip metadata
(MTD_DS.xml: spectral responses, solar irradiance, U, GIPP list), the pre-04.00 GML QI masks (MSK_CLOUDS_B00
among them), the QI reports and AUX_ECMWFT. Nothing of it is copied into the project: :func:`build_safe` writes
the SAFE into a folder the caller gives (a pytest temporary folder).

What the SAFE holds (compact naming, PSD 14, the layout of a real N02.09 product, ``eodatasets-s2-l1c-safe-
metadata``'s S2A T53JQJ):

* ``GRANULE/L1C_T55JGF_A006677_20180617T001107/``: ``MTD_TL.xml`` = the real tile metadata unchanged (its
  MASK_FILENAME and PVI_FILENAME entries already use these SAFE paths); ``IMG_DATA/T55JGF_20180617T001109_Bxx.jp2``
  (and TCI) on the band's native 10/20/60 m grid of MTD_TL: each native pixel takes the decimated pixel that
  contains its centre (nearest neighbour at pixel centres), and DN 0 (no data) outside the tile's data footprint
  (``tileInfo.json`` tileDataGeometry: the decimated images carry lossy-coding ringing, DN ~38, in the no-data
  wedge) or where the decimated pixel is 0; ``QI_DATA/``: the real GML masks and QI reports, the PVI (343 px
  from the TCI, as real PVIs); ``AUX_DATA/AUX_ECMWFT``: the real GRIB.
* ``DATASTRIP/DS_EPAE_20180617T013729_S20180617T001107/``: the real MTD_DS.xml and its QI reports.
* ``MTD_MSIL1C.xml``: the template's document with this product's values: names, times, spacecraft, orbit,
  baseline 02.06 (no RADIO_ADD_OFFSET, as every product before 04.00), the granule and image list, U, solar
  irradiance and spectral responses (S2B) from the real MTD_DS, GIPP list and auxiliary references from the
  MTD_DS, cloud cover from MTD_TL, the footprint from tileDataGeometry.
* ``manifest.safe``, ``INSPIRE.xml``: the template's, with this product's identifiers, times, platform,
  footprint, and the template's file list mapped onto this product's files (sizes and MD5 recomputed);
  ``HTML/`` and ``rep_info/`` the template's.

Cost (2 cores): ~35 s, ~170 MB (four 10980^2 JPEG 2000 bands of ~28 MB and the TCI dominate).
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import zipfile
from copy import deepcopy
from pathlib import Path

import numpy as np
from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
SOURCE = (SHARED_DATA / "eodatasets-s2b-l1c-T55JGF-aws"
          / "S2B_OPER_MSI_L1C_TL_EPAE_20180617T013729_A006677_T55JGF_N02.06")
TEMPLATE_ZIP = (SHARED_DATA / "eodatasets-s2-l1c-safe-metadata"
                / "S2A_MSIL1C_20201031T004711_N0209_R102_T53JQJ_20201031T022859.zip")

#: Native resolution (m) of each band (MTD_MSIL1C Spectral_Information order = band id).
BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")
RESOLUTION = {"B01": 60, "B02": 10, "B03": 10, "B04": 10, "B05": 20, "B06": 20, "B07": 20, "B08": 10,
              "B8A": 20, "B09": 60, "B10": 60, "B11": 20, "B12": 20}
#: S2B's NSSDC identifier (the template carries S2A's placeholder).
NSSDC_S2B = "2017-013A"
#: Side of a real L1C PVI (px).
PVI_SIZE = 343


def missing_reason() -> str | None:
    """Why the fixture cannot be built here (None: it can)."""
    for p in (SOURCE / "metadata.xml", SOURCE / "datastrip" / "metadata.xml", SOURCE / "B02.jp2", TEMPLATE_ZIP):
        if not p.exists():
            return f"real T55JGF data not available ({p} missing; ../shared/data is absent)"
    return None


# ------------------------------------------------------------------------------------------------ facts
def _xml(path: Path) -> etree._Element:
    return etree.parse(str(path), etree.XMLParser(huge_tree=True, remove_blank_text=False)).getroot()


def _first(root: etree._Element, name: str) -> etree._Element:
    el = root.find(f".//{{*}}{name}")
    if el is None:
        raise ValueError(f"<{name}> not found")
    return el


def facts() -> dict:
    """Names and values of the product, read from the real tile, datastrip and product files."""
    tl = _xml(SOURCE / "metadata.xml")
    info = json.loads((SOURCE / "productInfo.json").read_text())
    tile = json.loads((SOURCE / "tileInfo.json").read_text())
    pvi = _first(tl, "PVI_FILENAME").text.strip()                     # GRANULE/<granule>/QI_DATA/<prefix>_PVI.jp2
    granule = pvi.split("/")[1]
    prefix = Path(pvi).name.removesuffix("_PVI.jp2")
    ds_id = _first(tl, "DATASTRIP_ID").text.strip()                    # S2B_OPER_MSI_L1C_DS_EPAE_<gen>_S<sens>_N02.06
    m = re.search(r"_DS_(\w{4}_\d{8}T\d{6}_S\d{8}T\d{6})_N", ds_id)
    geo = {}
    for g in tl.iter("{*}Geoposition"):
        res = int(g.get("resolution"))
        geo[res] = (float(_first(g, "ULX").text), float(_first(g, "ULY").text), float(_first(g, "XDIM").text))
    size = {int(s.get("resolution")): int(_first(s, "NROWS").text) for s in tl.iter("{*}Size")}
    return {
        "product": info["name"], "granule": granule, "prefix": prefix, "datastrip_dir": f"DS_{m.group(1)}",
        "tile_long_id": _first(tl, "TILE_ID").text.strip(), "datastrip_long_id": ds_id,
        "epsg": int(_first(tl, "HORIZONTAL_CS_CODE").text.split(":")[-1]), "geo": geo, "size": size,
        "cloud": float(_first(tl, "CLOUDY_PIXEL_PERCENTAGE").text),
        "footprint_utm": tile["tileDataGeometry"]["coordinates"][0],
        "datatake_id": info["datatakeIdentifier"], "generation": "2018-06-17T01:37:29.000000Z",
    }


# ------------------------------------------------------------------------------------------------ pixels
def footprint_mask(f: dict, res: int) -> np.ndarray:
    """True inside the tile's data footprint (tileDataGeometry) on the ``res`` m grid (pixel centres)."""
    from osgeo import gdal, ogr, osr
    ulx, uly, _ = f["geo"][res]
    n = f["size"][res]
    drv = gdal.GetDriverByName("MEM")
    ds = drv.Create("", n, n, 1, gdal.GDT_Byte)
    ds.SetGeoTransform((ulx, res, 0.0, uly, 0.0, -res))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(f["epsg"])
    ds.SetProjection(srs.ExportToWkt())
    mem = ogr.GetDriverByName("Memory").CreateDataSource("fp")
    layer = mem.CreateLayer("fp", srs, ogr.wkbPolygon)
    feat = ogr.Feature(layer.GetLayerDefn())
    feat.SetGeometry(ogr.CreateGeometryFromJson(json.dumps({"type": "Polygon",
                                                            "coordinates": [f["footprint_utm"]]})))
    layer.CreateFeature(feat)
    gdal.RasterizeLayer(ds, [1], layer, burn_values=[1])
    return ds.ReadAsArray().astype(bool)


def _sample(src: Path, f: dict, res: int) -> np.ndarray:
    """The decimated image on the native ``res`` m grid: the decimated pixel holding each pixel centre."""
    from osgeo import gdal
    ds = gdal.Open(str(src))
    gt = ds.GetGeoTransform()
    data = ds.ReadAsArray()
    ulx, uly, _ = f["geo"][res]
    n = f["size"][res]
    centres = (np.arange(n) + 0.5) * res
    ci = np.clip(((ulx + centres - gt[0]) / gt[1]).astype(np.intp), 0, ds.RasterXSize - 1)
    ri = np.clip(((uly - centres - gt[3]) / gt[5]).astype(np.intp), 0, ds.RasterYSize - 1)
    if data.ndim == 2:
        return np.ascontiguousarray(data[ri][:, ci])
    return np.ascontiguousarray(data[:, ri][:, :, ci])


def _write_images(safe: Path, f: dict) -> None:
    from sen2cor3.io.writers import write_raster
    img = safe / "GRANULE" / f["granule"] / "IMG_DATA"
    qi = safe / "GRANULE" / f["granule"] / "QI_DATA"
    masks: dict[int, np.ndarray] = {}
    for b in BANDS:
        res = RESOLUTION[b]
        if res not in masks:
            masks[res] = footprint_mask(f, res)
        dn = _sample(SOURCE / f"{b}.jp2", f, res)
        dn[~masks[res]] = 0
        ulx, uly, _ = f["geo"][res]
        write_raster(img / f"{f['prefix']}_{b}", dn, geotransform=(ulx, res, 0.0, uly, 0.0, -res), epsg=f["epsg"])
    tci = _sample(SOURCE / "TCI.jp2", f, 10)
    tci[:, ~masks[10]] = 0
    ulx, uly, _ = f["geo"][10]
    write_raster(img / f"{f['prefix']}_TCI", tci, geotransform=(ulx, 10.0, 0.0, uly, 0.0, -10.0), epsg=f["epsg"])
    step = f["size"][10] // PVI_SIZE
    pvi = np.ascontiguousarray(tci[:, step // 2::step, step // 2::step][:, :PVI_SIZE, :PVI_SIZE])
    write_raster(qi / f"{f['prefix']}_PVI", pvi, geotransform=(ulx, 10.0 * step, 0.0, uly, 0.0, -10.0 * step),
                 epsg=f["epsg"])


# ------------------------------------------------------------------------------------------------ metadata
def _lonlat_footprint(f: dict) -> list[tuple[float, float]]:
    """(lat, lon) of the footprint vertices (the order of EXT_POS_LIST)."""
    from osgeo import osr
    src, dst = osr.SpatialReference(), osr.SpatialReference()
    src.ImportFromEPSG(f["epsg"])
    dst.ImportFromEPSG(4326)
    for s in (src, dst):
        s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    tr = osr.CoordinateTransformation(src, dst)
    out = []
    for x, y in f["footprint_utm"]:
        lon, lat, _ = tr.TransformPoint(float(x), float(y))
        out.append((lat, lon))
    return out


def _pos_list(latlon: list[tuple[float, float]]) -> str:
    return " ".join(f"{lat!r} {lon!r}" for lat, lon in latlon) + " "


def _replace_children(dst: etree._Element, src: etree._Element) -> None:
    """Make ``dst`` hold deep copies of ``src``'s children and text (same tag, the template's place)."""
    for c in list(dst):
        dst.remove(c)
    dst.text = src.text
    for c in src:
        dst.append(deepcopy(c))


def _set(root: etree._Element, name: str, value: str) -> None:
    _first(root, name).text = value


def _mtd_msil1c(template: Path, f: dict, ds: etree._Element) -> etree._ElementTree:
    tree = etree.parse(str(template))
    root = tree.getroot()
    start = _first(ds, "DATATAKE_SENSING_START").text.strip()
    _set(root, "PRODUCT_START_TIME", start)
    _set(root, "PRODUCT_STOP_TIME", _first(ds, "DATASTRIP_SENSING_STOP").text.strip())
    _set(root, "PRODUCT_URI", f["product"] + ".SAFE")
    _set(root, "PROCESSING_BASELINE", _first(ds, "PROCESSING_BASELINE").text.strip())
    _set(root, "GENERATION_TIME", f["generation"])
    dt = _first(root, "Datatake")
    dt.set("datatakeIdentifier", f["datatake_id"])
    for tag in ("SPACECRAFT_NAME", "DATATAKE_TYPE", "DATATAKE_SENSING_START", "SENSING_ORBIT_NUMBER",
                "SENSING_ORBIT_DIRECTION"):
        _set(dt, tag, _first(ds, tag).text.strip())
    gran = _first(root, "Granule")
    gran.set("datastripIdentifier", f["datastrip_long_id"])
    gran.set("granuleIdentifier", f["tile_long_id"])
    names = [Path(e.text.strip()).name.rsplit("_", 1)[-1] for e in gran.iter("{*}IMAGE_FILE")]
    for e, band in zip(gran.iter("{*}IMAGE_FILE"), names):
        e.text = f"GRANULE/{f['granule']}/IMG_DATA/{f['prefix']}_{band}"
    _replace_children(_first(root, "Reflectance_Conversion"), _first(ds, "Reflectance_Conversion"))
    _replace_children(_first(root, "Spectral_Information_List"), _first(ds, "Spectral_Information_List"))
    _replace_children(_first(root, "GIPP_List"), _first(ds, "GIPP_List"))
    for tag in ("PRODUCTION_DEM_TYPE", "IERS_BULLETIN_FILENAME", "ECMWF_DATA_REF"):
        _set(root, tag, _first(ds, tag).text.strip())
    _set(root, "EXT_POS_LIST", _pos_list(_lonlat_footprint(f)))
    _set(root, "Cloud_Coverage_Assessment", f"{f['cloud']:.1f}")
    return tree


def _template_facts(root: etree._Element) -> dict:
    gran = _first(root, "Granule")
    first = next(gran.iter("{*}IMAGE_FILE")).text.strip()              # GRANULE/<g>/IMG_DATA/<prefix>_B01
    pos = _first(root, "EXT_POS_LIST").text.split()
    return {"product": _first(root, "PRODUCT_URI").text.strip().removesuffix(".SAFE"), "granule": first.split("/")[1],
            "prefix": Path(first).name.rsplit("_", 1)[0], "pos_list": _first(root, "EXT_POS_LIST").text,
            "latlon": [(float(pos[i]), float(pos[i + 1])) for i in range(0, len(pos), 2)],
            "start": _first(root, "PRODUCT_START_TIME").text.strip(),
            "generation": _first(root, "GENERATION_TIME").text.strip()}


def _mapping(t: dict, f: dict, t_ds_dir: str) -> list[tuple[str, str]]:
    return [(t["product"], f["product"]), (t_ds_dir, f["datastrip_dir"]), (t["granule"], f["granule"]),
            (t["prefix"], f["prefix"])]


def _inspire(text: str, t: dict, f: dict, date: str) -> str:
    ours = _lonlat_footprint(f)
    text = text.replace(t["product"], f["product"]).replace(t["pos_list"].strip(), _pos_list(ours).strip())
    lat_t, lon_t = [p[0] for p in t["latlon"]], [p[1] for p in t["latlon"]]
    lat_o, lon_o = [p[0] for p in ours], [p[1] for p in ours]
    for old, new in ((min(lon_t), min(lon_o)), (max(lon_t), max(lon_o)), (min(lat_t), min(lat_o)),
                     (max(lat_t), max(lat_o))):
        text = text.replace(f"<gco:Decimal>{old!r}</gco:Decimal>", f"<gco:Decimal>{new!r}</gco:Decimal>")
    return text.replace(t["start"][:10], date)


def _manifest(text: str, t: dict, f: dict, t_ds_dir: str, safe: Path, ds: etree._Element) -> bytes:
    for old, new in _mapping(t, f, t_ds_dir):
        text = text.replace(old, new)
    text = text.replace(t["pos_list"].strip(), _pos_list(_lonlat_footprint(f)).strip())
    root = etree.fromstring(text.encode())
    ns = {"safe": "http://www.esa.int/safe/sentinel/1.1", "xfdu": "urn:ccsds:schema:xfdu:1"}
    root.find(".//safe:startTime", ns).text = _first(ds, "DATATAKE_SENSING_START").text.strip()
    orbit = root.find(".//safe:orbitNumber", ns)
    orbit.text = f"{int(_first(ds, 'DOWNLINK_ORBIT_NUMBER').text):06d}"
    orbit.set("groundTrackDirection", _first(ds, "SENSING_ORBIT_DIRECTION").text.strip().lower())
    root.find(".//safe:relativeOrbitNumber", ns).text = str(int(_first(ds, "SENSING_ORBIT_NUMBER").text))
    root.find(".//safe:nssdcIdentifier", ns).text = NSSDC_S2B
    root.find(".//safe:number", ns).text = _first(ds, "SPACECRAFT_NAME").text.strip().split("-")[-1]
    root.find(".//safe:processing", ns).set("start", f["generation"])
    dropped = set()
    for obj in list(root.iter("dataObject")):
        loc = obj.find(".//fileLocation")
        path = safe / loc.get("href")
        if not path.is_file():
            dropped.add(obj.get("ID"))
            obj.getparent().remove(obj)
            continue
        stream = obj.find("byteStream")
        stream.set("size", str(path.stat().st_size))
        obj.find(".//checksum").text = hashlib.md5(path.read_bytes()).hexdigest()
    for ptr in list(root.iter("dataObjectPointer")):
        if ptr.get("dataObjectID") in dropped:
            unit = ptr.getparent()
            unit.getparent().remove(unit)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=False)


# ------------------------------------------------------------------------------------------------ main
def build_safe(out_dir: str | Path) -> Path:
    """Write the L1C SAFE of the real T55JGF product into ``out_dir`` and return its path (module docstring)."""
    reason = missing_reason()
    if reason:
        raise FileNotFoundError(reason)
    f = facts()
    out_dir = Path(out_dir)
    safe = out_dir / f"{f['product']}.SAFE"
    if safe.exists():
        shutil.rmtree(safe)
    gdir = safe / "GRANULE" / f["granule"]
    ddir = safe / "DATASTRIP" / f["datastrip_dir"]
    for d in (gdir / "IMG_DATA", gdir / "QI_DATA", gdir / "AUX_DATA", ddir / "QI_DATA"):
        d.mkdir(parents=True)
    shutil.copyfile(SOURCE / "metadata.xml", gdir / "MTD_TL.xml")
    shutil.copyfile(SOURCE / "datastrip" / "metadata.xml", ddir / "MTD_DS.xml")
    shutil.copyfile(SOURCE / "auxiliary" / "ECMWFT", gdir / "AUX_DATA" / "AUX_ECMWFT")
    for p in sorted((SOURCE / "qi").iterdir()):
        if p.suffix in (".gml", ".xml"):
            shutil.copyfile(p, gdir / "QI_DATA" / p.name)
    for p in sorted((SOURCE / "datastrip" / "qi").glob("*_report.xml")):
        shutil.copyfile(p, ddir / "QI_DATA" / p.name.replace("_report", ""))
    _write_images(safe, f)

    ds = _xml(ddir / "MTD_DS.xml")
    with zipfile.ZipFile(TEMPLATE_ZIP) as z:
        names = z.namelist()
        top = names[0].split("/")[0]

        def member(rel: str) -> bytes:
            return z.read(f"{top}/{rel}")
        tmpl_root = etree.fromstring(member("MTD_MSIL1C.xml"))
        t = _template_facts(tmpl_root)
        t_ds_dir = next(n.split("/")[2] for n in names if "/DATASTRIP/" in n and n.count("/") >= 3)
        for n in names:
            rel = n[len(top) + 1:]
            if rel.startswith(("HTML/", "rep_info/")) and not n.endswith("/"):
                (safe / rel).parent.mkdir(parents=True, exist_ok=True)
                (safe / rel).write_bytes(z.read(n))
        tmp_mtd = out_dir / ".template_MTD_MSIL1C.xml"
        tmp_mtd.write_bytes(member("MTD_MSIL1C.xml"))
        _mtd_msil1c(tmp_mtd, f, ds).write(str(safe / "MTD_MSIL1C.xml"), xml_declaration=True, encoding="UTF-8",
                                           standalone=False)
        tmp_mtd.unlink()
        (safe / "INSPIRE.xml").write_text(_inspire(member("INSPIRE.xml").decode(), t, f,
                                                            _first(ds, "DATATAKE_SENSING_START").text.strip()[:10]), encoding="utf-8")
        (safe / "manifest.safe").write_bytes(_manifest(member("manifest.safe").decode(), t, f, t_ds_dir, safe, ds))
    return safe


# ------------------------------------------------------------------------------------------------ references
def l1c_cloud_mask(safe: Path, res: int) -> np.ndarray:
    """The L1C's own cloud mask (MSK_CLOUDS_B00.gml, OPAQUE and CIRRUS polygons) on the ``res`` m grid."""
    from osgeo import gdal, ogr, osr
    f = facts()
    gml = next(safe.glob("GRANULE/*/QI_DATA/MSK_CLOUDS_B00.gml"))
    ulx, uly, _ = f["geo"][res]
    n = f["size"][res]
    ds = gdal.GetDriverByName("MEM").Create("", n, n, 1, gdal.GDT_Byte)
    ds.SetGeoTransform((ulx, res, 0.0, uly, 0.0, -res))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(f["epsg"])
    ds.SetProjection(srs.ExportToWkt())
    src = ogr.Open(str(gml))          # in the built SAFE: the .gfs OGR may write stays out of ../shared
    for i in range(src.GetLayerCount()):
        gdal.RasterizeLayer(ds, [1], src.GetLayer(i), burn_values=[1])
    return ds.ReadAsArray().astype(bool)


# ------------------------------------------------------------------------------------------------ measures
#: SCL classes (product format).
SCL_NAMES = {1: "saturated", 2: "dark", 3: "shadow", 4: "vegetation", 5: "not_vegetated", 6: "water",
             7: "unclassified", 8: "cloud_medium", 9: "cloud_high", 10: "thin_cirrus", 11: "snow"}
#: L2A classes counted as cloud against the L1C cloud mask (medium/high probability clouds, thin cirrus).
CLOUD_CLASSES = (8, 9, 10)


def read_image(l2a: Path, name: str, res: int) -> np.ndarray:
    """An L2A image of the granule (``name``: SCL, AOT, WVP, B02 ... or MSK_CLDPRB), JPEG 2000 or GeoTIFF."""
    from osgeo import gdal
    g = next(l2a.glob("GRANULE/*"))
    pats = [f"IMG_DATA/R{res}m/*_{name}_{res}m.*", f"QI_DATA/{name}_{res}m.*"]
    for pat in pats:
        hits = sorted(p for p in g.glob(pat) if p.suffix.lower() in (".jp2", ".tif"))
        if hits:
            return gdal.Open(str(hits[0])).ReadAsArray()
    raise FileNotFoundError(f"{l2a}: no {name} image at {res} m")


def quality(l2a: Path) -> dict[str, str]:
    """Every ``<value name=...>`` of the granule's L2A_QUALITY.xml (NEGATIVE_BOA per band under its band)."""
    q = next(l2a.glob("GRANULE/*/QI_DATA/L2A_QUALITY.xml"))
    return {e.get("name"): (e.text or "").strip() for e in _xml(q).iter("{*}value")}


def ecmwf_tcwv(l1c: Path, res: int) -> np.ndarray:
    """AUX_ECMWFT total column water vapour (g/cm2 = cm) on the ``res`` m grid, through the project's GRIB reader."""
    from sen2cor3.auxdata.cams import read_l1c_grib
    from sen2cor3.auxdata.grid import TileGrid
    from sen2cor3.products.l1c import open_l1c
    p = open_l1c(l1c, check_images=False)
    grid = TileGrid.from_geoposition(p.geopositions[res], p.epsg)
    return np.asarray(read_l1c_grib(p.aux_paths["AUX_ECMWFT"], p.sensing_start, grid, "AUX_ECMWFT").tcwv_gcm2)


def wv_table_bounds_cm(z_km: float) -> tuple[float, float]:
    """WVP (column above a surface at ``z_km``) of the first and last water-vapour node of the shipped S2B
    summer tables: the values a retrieval clamped at a table bound takes."""
    from sen2cor3.ac.atmos import AtmosphereModel
    from sen2cor3.ac.wv import column_fraction
    m = AtmosphereModel("S2B", "rural", "summer", 331.0)
    frac = float(column_fraction(m, z_km))
    return float(m.wv_axis[0]) * frac, float(m.wv_axis[-1]) * frac


def measure(l2a: Path, l1c: Path, res: int) -> dict:
    """The figures issue 17 asks for, from one L2A product at ``res`` m: class fractions (% of valid pixels),
    agreement with the L1C cloud mask, AOT and WV statistics, WV against AUX_ECMWFT, negative BOA (%)."""
    from scipy.ndimage import binary_dilation
    scl = read_image(l2a, "SCL", res)
    valid = scl > 0
    n = int(valid.sum())
    out: dict = {"valid_px": n, "classes": {SCL_NAMES[c]: 100.0 * float((scl == c).sum()) / n for c in SCL_NAMES}}
    ref = l1c_cloud_mask(l1c, res) & valid
    ours = np.isin(scl, CLOUD_CLASSES) & valid
    inter = float((ref & ours).sum())
    out["l1c_cloud_pct"] = 100.0 * float(ref.sum()) / n
    out["cloud_recall"] = 100.0 * inter / max(float(ref.sum()), 1.0)
    out["clear_recall"] = 100.0 * float((~ref & ~ours & valid).sum()) / max(float((~ref & valid).sum()), 1.0)
    out["cloud_iou"] = 100.0 * inter / max(float((ref | ours).sum()), 1.0)
    aot = read_image(l2a, "AOT", res).astype(np.float64) / 1000.0
    wv = read_image(l2a, "WVP", res).astype(np.float64) / 1000.0
    q = quality(l2a)
    z = float(q.get("DEM_MEAN_ALTITUDE_KM", 0.1) or 0.1)
    lo, hi = wv_table_bounds_cm(z)
    a, w = aot[valid], wv[valid]
    out["aot"] = {"mean": float(a.mean()), "min": float(a.min()), "max": float(a.max())}
    out["wv"] = {"mean": float(w.mean()), "min": float(w.min()), "max": float(w.max()),
                 "at_floor_pct": 100.0 * float((np.abs(w - lo) < 0.0015).mean()),
                 "at_cap_pct": 100.0 * float((np.abs(w - hi) < 0.0015).mean()),
                 "thin_cirrus_mean": float(wv[scl == 10].mean()) if (scl == 10).any() else float("nan")}
    cloudy = np.isin(scl, (3, 8, 9, 10))
    far = ~binary_dilation(cloudy, iterations=max(1, int(round(2000.0 / res)))) & np.isin(scl, (4, 5)) & valid
    out["wv"]["clear_land_far_median"] = float(np.median(wv[far])) if far.any() else float("nan")
    tcwv = ecmwf_tcwv(l1c, res)
    t = tcwv[valid & np.isfinite(tcwv)]
    out["ecmwf_tcwv"] = {"mean": float(t.mean()), "min": float(t.min()), "max": float(t.max())}
    out["quality"] = {k: q.get(k) for k in ("GRANULE_MEAN_AOT", "GRANULE_MEAN_WV", "VISIBILITY_FROM_DDV_KM",
                                            "FINAL_VISIBILITY_KM", "AOT_RETRIEVAL_METHOD", "WV_RETRIEVAL_METHOD",
                                            "DDV_PIXEL_PERCENTAGE", "CLOUDY_PIXEL_PERCENTAGE")}
    out["negative_boa_pct"] = {b: float(q[b]) for b in BANDS if b in q}
    return out


def b09_b8a_block_ratios(l2a: Path) -> np.ndarray:
    """The source's B09 / B8A TOA ratio on the cloud-free B09 blocks (issue 17, GRANULE_MEAN_WV): each ~1.5 km B09
    pixel of the decimated image against the mean of the 3 x 3 ~500 m B8A pixels it covers (B8A's area average
    over the same ground), for the blocks where no 60 m pixel of ``l2a``'s SCL is cloud (8-10)."""
    from osgeo import gdal
    b09 = gdal.Open(str(SOURCE / "B09.jp2")).ReadAsArray().astype(np.float64)
    b8a = gdal.Open(str(SOURCE / "B8A.jp2")).ReadAsArray().astype(np.float64)
    n = b09.shape[0]
    b8a_blocks = sum(b8a[i::3, j::3][:n, :n] for i in range(3) for j in range(3)) / 9.0
    scl = read_image(l2a, "SCL", 60)
    gt = gdal.Open(str(SOURCE / "B09.jp2")).GetGeoTransform()
    block = np.minimum(((np.arange(scl.shape[0]) + 0.5) * 60.0 / gt[1]).astype(np.intp), n - 1)
    cloud = np.zeros((n, n))
    np.add.at(cloud, (block[:, None], block[None, :]), np.isin(scl, (8, 9, 10)))
    clear = (cloud == 0) & (b09 > 0) & (b8a_blocks > 0)
    return b09[clear] / b8a_blocks[clear]

