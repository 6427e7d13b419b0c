"""Hyper MS ("S2P", PRISMA aggregated to MSI bands by prisma4sen2like) end to end (issue 11).

A simulated S2P L1C (``python -m sen2cor3.simulate --spacecraft S2P``: GeoTIFF bands at 30 m, B01 at 60 m, baseline
00.00 with RADIO_ADD_OFFSET -1000, MSK_CLASSI_B00.tif only) goes through sen2like's exact PRISMA call
(research/sen2like_contract.md section 2.4: ``--sc_classic --Hyper_MS --resolution 30`` with its GIPP and the
output folder as work dir). Checked: the product Sen2Cor 3 writes for Hyper MS (``S2P_MSIL2A``, ``R30m`` with
B01-B07, B8A, B11, B12, SCL, AOT, WVP, TCI; MSK_CLDPRB/SNWPRB at 30 m; no manifest.safe, no INSPIRE.xml), the
round trip against the simulator's 6S truth with the Sentinel-2 bounds, and the flag/product combinations
Sen2Cor 3 refuses, each with one line, a non-zero exit and nothing left behind.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from lxml import etree

from sen2cor3.rt import tables
from test_landsat import simulate

ROOT = Path(__file__).resolve().parents[1]
#: 3.6 km scene: 120 x 120 px at 30 m; flat terrain, AOT 0.2, WV 1.5 (the S2 round trip's flat_mid atmosphere).
SIZE, SEED, AOT, WV = 360, 5, 0.2, 1.5
#: The Sentinel-2 round-trip bounds (tests/test_ac_roundtrip.py): every written band but B01.
MEAN_MAX, RMSE_MAX, SCL_MIN = 0.005, 0.01, 0.90
BOUNDED = ("B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12")
R30M_LAYERS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12", "SCL", "AOT", "WVP", "TCI")

pytestmark = pytest.mark.skipif(not tables.tables_available(),
                                reason="radiative-transfer tables not built (python -m sen2cor3.lut build)")


def _run(*args, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEN2COR")}
    if cwd is not None:
        env["HOME"] = str(cwd)
    return subprocess.run([sys.executable, str(ROOT / "L2A_Process.py"), *map(str, args)], capture_output=True,
                          text=True, cwd=cwd or ROOT, env=env, timeout=900)


def _read(path: Path) -> np.ndarray:
    from osgeo import gdal
    return gdal.Open(str(path)).ReadAsArray().astype(np.float64)


@pytest.fixture(scope="module")
def s2p_l1c(tmp_path_factory) -> Path:
    return simulate(tmp_path_factory.mktemp("s2p_sim"), "--spacecraft", "S2P", "--size", str(SIZE), "--seed",
                     str(SEED), "--aot", str(AOT), "--wv", str(WV), "--relief", "flat")


@pytest.fixture(scope="module")
def sen2like_call(tmp_path_factory, s2p_l1c):
    """sen2like's PRISMA call: output dir = work dir = sen2cor/<L1 name>, its GIPP inside, unrelated cwd."""
    from test_sen2like_contract import sen2like_gipp
    d = tmp_path_factory.mktemp("sen2cor") / s2p_l1c.name
    d.mkdir()
    gipp = sen2like_gipp(d / "sen2cor_gipp_32TQM.xml", terrain=False)
    res = _run(s2p_l1c, "--output_dir", d, "--GIP_L2A", gipp, "--work_dir", d, "--sc_classic", "--Hyper_MS",
               "--resolution", "30", cwd=tmp_path_factory.mktemp("cwd"))
    return res, d


@pytest.fixture(scope="module")
def product(sen2like_call) -> Path:
    res, d = sen2like_call
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return next(p for p in d.iterdir() if p.is_dir())


def test_sen2like_call_leaves_exactly_one_s2p_product(sen2like_call):
    res, d = sen2like_call
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    folders = [p for p in d.iterdir() if p.is_dir()]
    assert len(folders) == 1 and folders[0].name.startswith("S2P_MSIL2A_") and folders[0].name.endswith(".SAFE")
    assert len(list(folders[0].glob("GRANULE/*/IMG_DATA/R30m/*_SCL_30m.jp2"))) == 1


def test_product_layout(product):
    img = next(product.glob("GRANULE/*/IMG_DATA"))
    assert sorted(p.name for p in img.iterdir()) == ["R30m"]
    stems = sorted(p.name.rsplit("_", 2)[-2] for p in (img / "R30m").iterdir())
    assert stems == sorted(R30M_LAYERS)
    qi = next(product.glob("GRANULE/*/QI_DATA"))
    assert (qi / "MSK_CLDPRB_30m.jp2").is_file() and (qi / "MSK_SNWPRB_30m.jp2").is_file()
    assert not list(qi.glob("MSK_*PRB_20m*")) and not list(qi.glob("MSK_*PRB_60m*"))
    assert not (product / "manifest.safe").exists() and not (product / "INSPIRE.xml").exists()
    from osgeo import gdal
    scl = gdal.Open(str(next((img / "R30m").glob("*_SCL_30m.jp2"))))
    assert (scl.RasterXSize, scl.RasterYSize) == (SIZE // 3, SIZE // 3)
    assert scl.GetGeoTransform()[1] == 30.0 and scl.GetGeoTransform()[5] == -30.0


def test_metadata(product):
    root = etree.parse(str(product / "MTD_MSIL2A.xml")).getroot()
    files = [e.text for e in root.iter("IMAGE_FILE")]
    assert files and all("/IMG_DATA/R30m/" in f and f.endswith("_30m") for f in files)
    assert {f.rsplit("_", 2)[-2] for f in files} == set(R30M_LAYERS)
    offsets = [float(e.text) for e in root.iter("BOA_ADD_OFFSET")]
    assert offsets and set(offsets) == {-1000.0}
    assert root.findtext(".//PRODUCT_URI") == product.name
    q = next(product.glob("GRANULE/*/QI_DATA/L2A_QUALITY.xml"))
    values = {v.get("name"): v.text for v in etree.parse(str(q)).getroot().iter("{*}value")}
    for name in ("CLOUDY_PIXEL_PERCENTAGE", "GRANULE_MEAN_AOT", "GRANULE_MEAN_WV", "B02", "B12"):
        float(values[name])                            # numeric, filled by the run
    assert "B08" not in values                         # no B08 output for Hyper MS (Sen2Cor 3 skips it)
    assert values["WV_RETRIEVAL_METHOD"] == "SEN2COR_APDA"


def test_round_trip_against_truth(product, s2p_l1c):
    """BOA - truth over true clear land (SCL 4/5) within the Sentinel-2 bounds; SCL agreement >= 0.90."""
    truth = s2p_l1c.parent / "truth"
    img = next(product.glob("GRANULE/*/IMG_DATA/R30m"))
    scl_true = _read(truth / "SCL_30m.tif")
    clear = np.isin(scl_true, (4, 5))
    lines, bad = [], []
    for b in BOUNDED:
        v = _read(next(img.glob(f"*_{b}_30m.jp2")))
        ok = clear & (v > 0)
        d = (v[ok] - 1000.0) / 10000.0 - _read(truth / f"BOA_{b}_30m.tif")[ok]
        mean, rmse = float(d.mean()), float(np.sqrt(np.mean(d * d)))
        lines.append(f"{b}: mean {mean:+.4f} rmse {rmse:.4f} n {d.size}")
        if abs(mean) > MEAN_MAX or rmse > RMSE_MAX:
            bad.append(b)
    agreement = float(np.mean(_read(next(img.glob("*_SCL_30m.jp2"))) == scl_true))
    lines.append(f"SCL agreement {agreement:.3f}")
    assert not bad and agreement >= SCL_MIN, "\n".join(lines)


def test_aot_and_wv_within_bounds_of_truth(product, s2p_l1c):
    truth = s2p_l1c.parent / "truth"
    img = next(product.glob("GRANULE/*/IMG_DATA/R30m"))
    clear = np.isin(_read(truth / "SCL_30m.tif"), (4, 5))
    aot = _read(next(img.glob("*_AOT_30m.jp2")))[clear] / 1000.0
    wv = _read(next(img.glob("*_WVP_30m.jp2")))[clear] / 1000.0
    t_aot, t_wv = _read(truth / "AOT_30m.tif")[clear], _read(truth / "WVP_30m.tif")[clear]
    assert abs(aot.mean() - t_aot.mean()) <= 0.05 + 0.15 * t_aot.mean(), (aot.mean(), t_aot.mean())
    assert abs(wv.mean() - t_wv.mean()) <= 0.10 * t_wv.mean(), (wv.mean(), t_wv.mean())


def _assert_refused(res: subprocess.CompletedProcess, out: Path, fragment: str) -> None:
    assert res.returncode != 0
    errors = [ln for ln in (res.stderr + res.stdout).splitlines() if "ERROR" in ln or "error" in ln.lower()]
    assert errors and any(fragment in ln for ln in errors), res.stderr[-2000:] + res.stdout[-2000:]
    assert "Traceback" not in res.stderr
    assert not out.exists() or list(out.iterdir()) == []


@pytest.mark.parametrize("flags, fragment", [
    (["--Hyper_MS", "--resolution", "20"], "30 m"),
    (["--Hyper_MS"], "30 m"),
    ([], "--Hyper_MS"),
    (["--resolution", "30"], "--Hyper_MS"),
])
def test_bad_combinations_with_a_hyper_product(s2p_l1c, tmp_path, flags, fragment):
    out = tmp_path / "out"
    _assert_refused(_run(s2p_l1c, "--output_dir", out, "--work_dir", tmp_path / "log", *flags), out, fragment)


@pytest.mark.parametrize("flags, fragment", [
    (["--Hyper_MS", "--resolution", "30"], "not a Hyper MS"),
    (["--resolution", "30"], "--resolution 30"),
])
def test_bad_combinations_with_a_sentinel2_product(small_l1c_safe, tmp_path, flags, fragment):
    out = tmp_path / "out"
    _assert_refused(_run(small_l1c_safe, "--output_dir", out, "--work_dir", tmp_path / "log", *flags), out,
                    fragment)


def test_reader_sees_the_s2p_product(s2p_l1c):
    from sen2cor3.readers import open_input
    p = open_input(s2p_l1c, hyper_ms=True)
    assert p.mission_id == "S2P" and p.sensor.mission_id == "S2P" and p.has_radiometric_offset
    assert p.bands["B01"].resolution_m == 60 and {p.bands[b].resolution_m for b in p.bands if b != "B01"} == {30}
    assert all(f.suffix == ".TIF" for f in p.image_paths.values())
    assert p.geopositions[30].nrows == SIZE // 3


def test_sc_only_classifies_at_30m(s2p_l1c, tmp_path):
    """``--sc_only`` for Hyper MS: the SCL and probability masks at 30 m only (Sen2Cor: "30m for Hyper")."""
    out = tmp_path / "out"
    res = _run(s2p_l1c, "--output_dir", out, "--work_dir", tmp_path / "log", "--Hyper_MS", "--resolution", "30",
               "--sc_only")
    assert res.returncode == 0, res.stderr[-2000:]
    (prod,) = list(out.iterdir())
    assert [p.name.rsplit("_", 2)[-2] for p in prod.glob("GRANULE/*/IMG_DATA/*/*")] == ["SCL"]
    assert [p.parent.name for p in prod.glob("GRANULE/*/IMG_DATA/*/*")] == ["R30m"]
    assert sorted(p.name for p in prod.glob("GRANULE/*/QI_DATA/MSK_*PRB*")) == ["MSK_CLDPRB_30m.jp2",
                                                                               "MSK_SNWPRB_30m.jp2"]
