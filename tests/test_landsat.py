"""Landsat 8/9 Collection-2 L1TP to L2 (issue 12): sen2like's call with a ROI, the flat L2 folder as sen2like
reads it, round trips against the simulator's 6S truth, and the bad inputs.

Products come from ``python -m sen2cor3.simulate --spacecraft L8|L9`` (C2 L1TP folders: MTL txt/xml, ANG, band
GeoTIFFs with the C2 rescaling, QA_PIXEL, QA_RADSAT, angle rasters; OLI/OLI-2 6S responses). Water vapour has
no Landsat band: the runs get it from a CAMS-like daily file (tcwv only) written into a private aux-data tree,
or from the GIPP default where the scene says so.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from lxml import etree

from sen2cor3.rt import tables
from test_ac_roundtrip import user_gipp as dem_gipp
from test_pipeline import tree_hash as _tree_hash

ROOT = Path(__file__).resolve().parents[1]
SIZE = 360                               # 10 m pixels: 120 x 120 px at 30 m
MEAN_MAX, RMSE_MAX, SCL_MIN = 0.005, 0.01, 0.90
BOUNDED = ("B2", "B3", "B4", "B5", "B6", "B7")
#: name, spacecraft, seed, AOT, WV, relief, WV source ('cams' or 'default')
SCENES = [("l8_flat_cams", "L8", 5, 0.2, 1.5, "flat", "cams"),
          ("l9_hills_dem_cams", "L9", 4, 0.15, 3.0, "hills", "cams"),
          ("l8_flat_dry_cams", "L8", 1, 0.05, 0.5, "flat", "cams"),
          ("l9_flat_hazy_default", "L9", 2, 0.4, 1.0, "flat", "default")]
LANDSAT_TIF = re.compile(r"L[OMTC]0[1-9]_L.*_(RT|T1|LT|T2).*B\d{1,2}\.TIF")

pytestmark = pytest.mark.skipif(not tables.tables_available(),
                                reason="radiative-transfer tables not built (python -m sen2cor3.lut build)")


def simulate(out: Path, *args: str) -> Path:
    from sen2cor3.simulate import cli as sim_cli
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert sim_cli.main([str(out), *args]) == 0
    return Path(buf.getvalue().strip().splitlines()[-1])


def run(*args, cwd: Path | None = None, aux: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEN2COR")}
    if aux is not None:
        env["SEN2COR_AUX_DATA"] = str(aux)
    return subprocess.run([sys.executable, str(ROOT / "L2A_Process.py"), *map(str, args)], capture_output=True,
                          text=True, cwd=cwd or ROOT, env=env, timeout=900)


def read(path: Path, scaled: bool = False) -> np.ndarray:
    from osgeo import gdal
    ds = gdal.Open(str(path))
    a = ds.ReadAsArray().astype(np.float64)
    if scaled:
        b = ds.GetRasterBand(1)
        a = a * b.GetScale() + b.GetOffset()
    return a


def cams_root(root: Path, l1: Path, wv_gcm2: float) -> Path:
    """A private aux-data tree with a CAMS-like daily file of the sensing day holding only tcwv."""
    from test_auxdata_helpers import write_cams_nc
    day = datetime.strptime(l1.name.split("_")[3], "%Y%m%d").replace(tzinfo=timezone.utc)
    write_cams_nc(root / "ECMWF" / "daily" / f"{day:%Y%m%d}" /
                  f"CAMS_archive_aod550_tcwv_msl_gtco3_analysis_0H_6H_12H_18H_{day:%Y-%m-%d}.nc", day,
                  tcwv=10.0 * wv_gcm2, variables=("tcwv",))
    return root


def stats(product: Path, truth: Path) -> dict:
    scl_true = read(truth / "SCL_30m.tif")
    clear = np.isin(scl_true, (4, 5))
    out: dict = {"bands": {}}
    for b in BOUNDED:
        f = next(product.glob(f"*_{b}.TIF"))
        ok = clear & (read(f) > 0)
        d = read(f, scaled=True)[ok] - read(truth / f"BOA_{b}_30m.tif")[ok]
        out["bands"][b] = (float(d.mean()), float(np.sqrt(np.mean(d * d))), int(d.size))
    aot = read(next(product.glob("*_AOT.TIF"))) / 1000.0
    t_aot = read(truth / "AOT_30m.tif")
    out["aot"] = [(float(z), float(aot[clear & (t_aot == z)].mean())) for z in np.unique(t_aot[clear])]
    out["scl"] = float(np.mean(read(next(product.glob("*_SCL.TIF"))) == scl_true))
    return out


def table(name: str, st: dict) -> str:
    rows = [f"{name}: SCL agreement {st['scl']:.3f}"]
    rows += [f"  {b}: mean {m:+.4f} rmse {r:.4f} (n {n})" for b, (m, r, n) in st["bands"].items()]
    rows.append("  AOT zones (truth -> retrieved): " + ", ".join(f"{t:.3f}->{r:.3f}" for t, r in st["aot"]))
    return "\n".join(rows)


@pytest.fixture(scope="module")
def round_trips(tmp_path_factory) -> dict:
    out = {}
    for name, sc, seed, aot, wv, relief, wv_source in SCENES:
        work = tmp_path_factory.mktemp(name)
        l1 = simulate(work / "sim", "--spacecraft", sc, "--size", str(SIZE), "--seed", str(seed), "--aot", str(aot),
                      "--wv", str(wv), "--relief", relief)
        aux = cams_root(work / "aux", l1, wv) if wv_source == "cams" else work / "empty_aux"
        args = [l1, "--output_dir", work / "out", "--work_dir", work / "log"]
        if relief != "flat":
            args += ["--GIP_L2A", dem_gipp(work / "sim" / "truth" / "dem", work / "gipp.xml")]
        res = run(*args, aux=aux)
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
        (product,) = [p for p in (work / "out").iterdir() if p.is_dir()]
        out[name] = stats(product, work / "sim" / "truth") | {"product": product, "l1": l1, "stdout": res.stdout}
        print("\n" + table(name, out[name]))           # pytest -s: the figures of the issue note
    return out


@pytest.mark.parametrize("name", [s[0] for s in SCENES])
def test_boa_round_trip(round_trips, name):
    st = round_trips[name]
    bad = [b for b, (m, r, _) in st["bands"].items() if abs(m) > MEAN_MAX or r > RMSE_MAX]
    assert not bad, table(name, st)


@pytest.mark.parametrize("name", [s[0] for s in SCENES])
def test_aot_round_trip(round_trips, name):
    st = round_trips[name]
    for t, r in st["aot"]:
        assert abs(r - t) <= 0.05 + 0.15 * t, table(name, st)


#: Known gaps of the SCL round trip (name -> reason; strict xfail). The former l9_flat_hazy_default gap (0.870:
#: true thin cirrus past T2_B10 called class 8) closed when the simulator's truth took Sen2Cor's own rule
#: for it, thick cirrus (B10 >= T2_B10) = medium-probability cloud (issue 14 item 5, simulate/scene.py).
SCL_GAPS: dict[str, str] = {}


@pytest.mark.parametrize("name", [pytest.param(s[0], marks=pytest.mark.xfail(strict=True, reason=SCL_GAPS[s[0]]))
                                  if s[0] in SCL_GAPS else s[0] for s in SCENES])
def test_scl_round_trip(round_trips, name):
    st = round_trips[name]
    assert st["scl"] >= SCL_MIN, table(name, st)


def test_aot_image_has_no_nodata_on_valid_pixels(round_trips):
    """Issue 13 item 3 on the clearest scene (truth AOT 0.03-0.07): the AOT image holds no 0 (no-data DN) where the
    SCL is valid, and stays at or above the AOT of Sen2Cor's 120 km visibility limit."""
    from sen2cor3.ac.atmos import koschmieder_aot
    product = round_trips["l8_flat_dry_cams"]["product"]
    aot = read(next(product.glob("*_AOT.TIF")))
    valid = read(next(product.glob("*_SCL.TIF"))) > 1
    assert (aot[valid] > 0).all()
    assert aot[valid].min() / 1000.0 >= koschmieder_aot(120.0, 0.2) - 0.001


def test_wvp_is_the_value_used(round_trips):
    """No water-vapour band: WVP is the CAMS column (or the GIPP start value) the correction used."""
    q = {}
    for name in ("l8_flat_cams", "l9_flat_hazy_default"):
        product = round_trips[name]["product"]
        values = {v.get("name"): v.text for v in etree.parse(str(product / "L2A_QUALITY.xml")).iter("{*}value")}
        wvp = read(next(product.glob("*_WVP.TIF")))
        q[name] = (values["WV_RETRIEVAL_METHOD"], float(values["GRANULE_MEAN_WV"]), float(wvp[wvp > 0].mean()) / 1000)
    assert q["l8_flat_cams"][0] == "CAMS" and q["l8_flat_cams"][1] == pytest.approx(1.5, abs=0.1)
    assert q["l9_flat_hazy_default"][0] == "DEFAULT" and q["l9_flat_hazy_default"][1] == pytest.approx(1.0, abs=0.01)
    for method, mean, raster in q.values():
        assert raster == pytest.approx(mean, abs=0.01)


# ----------------------------------------------------------------------------------------------- sen2like
@pytest.fixture(scope="module")
def sen2like_run(tmp_path_factory):
    """sen2like's Landsat call: a GIPP with Region_Of_Interest row0/col0 (the window centre) and 4000 x 4000."""
    work = tmp_path_factory.mktemp("sen2like_landsat")
    l1 = simulate(work / "sim", "--spacecraft", "L9", "--size", "240", "--seed", "3", "--relief", "flat")
    d = work / "sen2cor" / l1.name
    d.mkdir(parents=True)
    text = (ROOT / "sen2cor3" / "cfg" / "L2A_GIPP.xml").read_text()
    text = re.sub(r"<row0>\w+</row0>", "<row0>40</row0>", text)
    text = re.sub(r"<col0>\w+</col0>", "<col0>20</col0>", text)
    text = re.sub(r"<nrow_win>\w+</nrow_win>", "<nrow_win>60</nrow_win>", text)
    text = re.sub(r"<ncol_win>\w+</ncol_win>", "<ncol_win>4000</ncol_win>", text)
    text = re.sub(r"^<\?xml[^>]*\?>", "<?xml version='1.0' encoding='UTF-8'?>", text).rstrip("\n")
    gipp = d / "sen2cor_gipp_32TQM.xml"
    gipp.write_text(text)
    before = _tree_hash(l1)
    res = run(l1, "--output_dir", d, "--GIP_L2A", gipp, "--work_dir", d, "--sc_classic",
              cwd=tmp_path_factory.mktemp("cwd"), aux=work / "no_aux")
    return res, d, l1, before


def test_sen2like_call_exactly_one_folder(sen2like_run):
    res, d, l1, before = sen2like_run
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    folders = [p for p in d.iterdir() if p.is_dir()]
    assert len(folders) == 1
    run_day = datetime.now(timezone.utc).strftime("%Y%m%d")
    expected = l1.name.replace("_L1TP_", "_L2TP_").split("_")
    expected[4] = run_day
    assert folders[0].name == "_".join(expected)
    assert _tree_hash(l1) == before                    # the input is never written to


def test_output_read_as_sen2like_does(sen2like_run):
    """Contract 2.3: one MTL (L2TP) naming the QA_PIXEL present; band files by glob with Landsat names;
    rho = DN x MULT + ADD; numeric CLOUDY_PIXEL_PERCENTAGE; the B10 copy."""
    from sen2cor3.readers.mtl import Mtl, read_mtl
    res, d, l1, _ = sen2like_run
    (product,) = [p for p in d.iterdir() if p.is_dir()]
    mtls = list(product.glob("L*_MTL.txt"))
    assert len(mtls) == 1
    mtl = Mtl(read_mtl(mtls[0]), mtls[0])
    assert mtl.text("PRODUCT_CONTENTS", "PROCESSING_LEVEL") == "L2TP"
    assert mtl.text("LEVEL1_PROCESSING_RECORD", "PROCESSING_LEVEL") == "L2TP"
    l1_text = (l1 / f"{l1.name}_MTL.txt").read_text()
    assert mtls[0].read_text() == l1_text.replace('PROCESSING_LEVEL = "L1TP"', 'PROCESSING_LEVEL = "L2TP"')
    assert (product / mtl.text("PRODUCT_CONTENTS", "FILE_NAME_QUALITY_L1_PIXEL")).is_file()
    assert (product / f"{l1.name}_B10.TIF").is_file() and (product / f"{l1.name}_ANG.txt").is_file()
    b4 = list(product.glob("*_B4.TIF"))
    assert len(b4) == 1 and LANDSAT_TIF.match(b4[0].name)
    assert all(LANDSAT_TIF.match(p.name) for p in product.glob("*_B*.TIF"))
    from osgeo import gdal
    for n in range(1, 8):
        ds = gdal.Open(str(next(product.glob(f"*_L2TP_*_B{n}.TIF"))))
        band = ds.GetRasterBand(1)
        mult = mtl.number("LEVEL1_RADIOMETRIC_RESCALING", f"REFLECTANCE_MULT_BAND_{n}")
        add = mtl.number("LEVEL1_RADIOMETRIC_RESCALING", f"REFLECTANCE_ADD_BAND_{n}")
        assert band.GetScale() == pytest.approx(mult) and band.GetOffset() == pytest.approx(add)
        assert band.DataType == gdal.GDT_UInt16 and band.GetNoDataValue() == 0
        assert ds.GetMetadata("IMAGE_STRUCTURE").get("COMPRESSION") == "LZW"
        l1ds = gdal.Open(str(l1 / f"{l1.name}_B{n}.TIF"))
        assert ds.GetGeoTransform() == l1ds.GetGeoTransform()
        assert (ds.RasterXSize, ds.RasterYSize) == (l1ds.RasterXSize, l1ds.RasterYSize)
    q = etree.parse(str(product / "L2A_QUALITY.xml")).getroot()
    value = q.find("./Data_Block/report/checkList/check/extraValues/value[@name='CLOUDY_PIXEL_PERCENTAGE']",
                   q.nsmap)
    assert 0.0 <= float(value.text) <= 100.0


def test_roi_window_only(sen2like_run):
    """row0 40, col0 20, 60 x 4000: rows 10..69 and columns 0..79 (clipped) hold data, the rest is 0."""
    res, d, l1, _ = sen2like_run
    (product,) = [p for p in d.iterdir() if p.is_dir()]
    b4 = read(next(product.glob("*_L2TP_*_B4.TIF")))
    l1_valid = read(l1 / f"{l1.name}_B4.TIF") > 0
    inside = np.zeros(b4.shape, bool)
    inside[10:70, 0:80] = True
    assert not (b4[~inside] != 0).any()
    assert (b4[inside & l1_valid] > 0).mean() > 0.99
    assert (read(next(product.glob("*_SCL.TIF")))[~inside] == 0).all()


# ----------------------------------------------------------------------------------------------- flags
@pytest.fixture(scope="module")
def small_landsat(tmp_path_factory) -> Path:
    return simulate(tmp_path_factory.mktemp("small_ls"), "--spacecraft", "L8", "--size", "180", "--seed", "2",
                    "--relief", "flat")


def _assert_refused(res, out: Path, fragment: str) -> None:
    assert res.returncode != 0
    lines = [ln for ln in (res.stderr + res.stdout).splitlines() if fragment in ln and "Progress[%]" not in ln]
    assert lines, res.stderr[-2000:] + res.stdout[-2000:]
    assert "Traceback" not in res.stderr
    assert not out.exists() or [p for p in out.iterdir()] == []


@pytest.mark.parametrize("flags, fragment", [(["--resolution", "20"], "30 m only"),
                                             (["--resolution", "10"], "30 m only"),
                                             (["--Hyper_MS", "--resolution", "30"], "Landsat")])
def test_wrong_flags_refused(small_landsat, tmp_path, flags, fragment):
    out = tmp_path / "out"
    _assert_refused(run(small_landsat, "--output_dir", out, "--work_dir", tmp_path / "log", *flags), out, fragment)


def test_resolution_30_sc_only_and_rerun_replaces(small_landsat, tmp_path):
    out = tmp_path / "out"
    res = run(small_landsat, "--output_dir", out, "--work_dir", tmp_path / "log", "--resolution", "30",
              "--sc_only")
    assert res.returncode == 0, res.stderr[-2000:]
    (product,) = list(out.iterdir())
    assert (product / f"{product.name}_SCL.TIF").is_file() and not list(product.glob("*_L2TP_*_B4.TIF"))
    res = run(small_landsat, "--output_dir", out, "--work_dir", tmp_path / "log", "--tif")  # same name today
    assert res.returncode == 0, res.stderr[-2000:]
    assert [p.name for p in out.iterdir()] == [product.name]
    assert (product / f"{product.name}_B4.TIF").is_file()        # --tif changes nothing for Landsat


# ----------------------------------------------------------------------------------------------- bad inputs
def _copy(src: Path, dst_parent: Path, name: str | None = None) -> Path:
    dst = dst_parent / (name or src.name)
    shutil.copytree(src, dst)
    return dst


def _rename_product(folder: Path, new_id: str) -> Path:
    """The same product under another id (files and MTL text renamed), e.g. an L1GT or L2SP name."""
    old = folder.name
    new = folder.with_name(new_id)
    folder.rename(new)
    for p in list(new.iterdir()):
        p.rename(new / p.name.replace(old, new_id))
    mtl = new / f"{new_id}_MTL.txt"
    level = new_id.split("_")[1]
    mtl.write_text(mtl.read_text().replace(old, new_id).replace('"L1TP"', f'"{level}"'))
    (new / f"{new_id}_MTL.xml").unlink()
    return new


BAD = {
    "missing_band": (lambda d: (d / f"{d.name}_B5.TIF").unlink(), "B5"),
    "missing_mtl": (lambda d: [(d / f"{d.name}_MTL{s}").unlink() for s in (".txt", ".xml")], "MTL"),
    "malformed_mtl": (lambda d: (d / f"{d.name}_MTL.txt").write_text("GROUP = LANDSAT_METADATA_FILE\n  X\n"),
                      "MTL.txt"),
    "truncated_band": (lambda d: (d / f"{d.name}_B3.TIF").write_bytes((d / f"{d.name}_B3.TIF").read_bytes()[:3000]),
                       "B3.TIF"),
    "l1gt": (lambda d: _rename_product(d, d.name.replace("_L1TP_", "_L1GT_")), "L1GT"),
    "l2sp": (lambda d: _rename_product(d, d.name.replace("_L1TP_", "_L2SP_")), "L2SP"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_inputs_one_line(small_landsat, tmp_path, case):
    damage, fragment = BAD[case]
    l1 = _copy(small_landsat, tmp_path)
    renamed = damage(l1)
    if isinstance(renamed, Path):
        l1 = renamed
    before = _tree_hash(l1)
    out = tmp_path / "out"
    _assert_refused(run(l1, "--output_dir", out, "--work_dir", tmp_path / "log"), out, fragment)
    assert _tree_hash(l1) == before


def test_roi_outside_the_grid(small_landsat, tmp_path):
    text = (ROOT / "sen2cor3" / "cfg" / "L2A_GIPP.xml").read_text()
    text = re.sub(r"<row0>\w+</row0>", "<row0>5000</row0>", text)
    text = re.sub(r"<col0>\w+</col0>", "<col0>5000</col0>", text)
    gipp = tmp_path / "gipp.xml"
    gipp.write_text(text)
    out = tmp_path / "out"
    _assert_refused(run(small_landsat, "--output_dir", out, "--work_dir", tmp_path / "log", "--GIP_L2A", gipp), out,
                    "Region_Of_Interest")


# ----------------------------------------------------------------------------------------------- real files
def test_every_real_mtl_and_ang_parses(shared_data):
    from sen2cor3.readers.mtl import Mtl, read_ang, read_mtl
    folder = shared_data / "landsat-c2-mtl-ang-collection"
    mtls = sorted(folder.rglob("*_MTL.*"))
    angs = sorted(folder.rglob("*_ANG.txt"))
    assert len(mtls) >= 10 and len(angs) >= 5
    for p in mtls:
        m = Mtl(read_mtl(p), p)
        assert 0 < m.number("IMAGE_ATTRIBUTES", "SUN_ELEVATION") < 90
    for p in angs:
        assert read_ang(p)["FILE_HEADER"]["SPACECRAFT_ID"].startswith("LANDSAT_")
    txt = folder / "eodatasets" / "LC08_L1GT_089074_20220506_20220512_02_T2_MTL"
    forms = [read_mtl(txt.with_suffix(s)) for s in (".txt", ".xml", ".json")]
    assert forms[0] == forms[1] == forms[2]
