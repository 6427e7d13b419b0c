"""End-to-end runs of L2A_Process.py on the small fixture: product tree, --sc_only, and bad input."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parents[1]


def l2a_process(*args, cwd="/") -> subprocess.CompletedProcess:
    env = dict(os.environ, SEN2COR_HOME=str(Path(args[-1]).parent / ".home") if args else "")
    return subprocess.run([sys.executable, str(ROOT / "L2A_Process.py"), *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=env)


def tree_hash(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        h.update(str(p.relative_to(folder)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def error_lines(res: subprocess.CompletedProcess) -> list[str]:
    return [ln for ln in (res.stdout + res.stderr).splitlines() if "ERROR" in ln or "rror" in ln.split(":")[0]]


@pytest.fixture()
def l1c_copy(small_l1c_safe, tmp_path) -> Path:
    dst = tmp_path / "in" / Path(small_l1c_safe).name
    shutil.copytree(small_l1c_safe, dst)
    return dst


def test_cr_only_creates_tree_and_leaves_one_folder(l1c_copy, tmp_path):
    out = tmp_path / "out"
    before = tree_hash(l1c_copy)
    res = l2a_process("--cr_only", "--output_dir", out, l1c_copy)
    assert res.returncode == 0, res.stdout + res.stderr
    entries = list(out.iterdir())
    assert len(entries) == 1 and entries[0].name.startswith("S2B_MSIL2A_") and entries[0].suffix == ".SAFE"
    product = entries[0]
    for rel in ("MTD_MSIL2A.xml", "manifest.safe", "INSPIRE.xml", "rep_info", "HTML", "AUX_DATA", "DATASTRIP"):
        assert (product / rel).exists(), rel
    granule = next((product / "GRANULE").iterdir())
    assert granule.name.startswith("L2A_T32TQM_")
    for sub in ("IMG_DATA/R10m", "IMG_DATA/R20m", "IMG_DATA/R60m", "QI_DATA", "AUX_DATA", "MTD_TL.xml"):
        assert (granule / sub).exists(), sub
    mtd = etree.parse(str(product / "MTD_MSIL2A.xml")).getroot()
    assert mtd.findtext(".//PRODUCT_TYPE") == "S2MSI2A"
    assert mtd.findtext(".//PROCESSING_LEVEL") == "Level-2A"
    assert list((product / "rep_info").glob("*_report.xml"))
    assert tree_hash(l1c_copy) == before  # the input is never written to


def test_work_dir_equal_output_dir_leaves_only_product_folder(l1c_copy, tmp_path):
    d = tmp_path / "D"
    d.mkdir()
    res = l2a_process("--cr_only", "--output_dir", d, "--work_dir", d, l1c_copy)
    assert res.returncode == 0, res.stdout + res.stderr
    assert len([p for p in d.iterdir() if p.is_dir()]) == 1


def test_sc_only_writes_classification(l1c_copy, tmp_path):
    out = tmp_path / "out"
    res = l2a_process("--sc_only", "--output_dir", out, l1c_copy)
    assert res.returncode == 0, res.stdout + res.stderr
    product = next(out.iterdir())
    assert list(product.rglob("*_SCL_20m.jp2")) and list(product.rglob("*_SCL_60m.jp2"))
    assert list(product.rglob("MSK_CLDPRB_20m.jp2")) and list(product.rglob("MSK_SNWPRB_60m.jp2"))
    mtd = etree.parse(str(product / "MTD_MSIL2A.xml")).getroot()
    entries = [e.text for e in mtd.iter("IMAGE_FILE")]
    assert any(e.endswith("SCL_20m") for e in entries)
    quality = next(product.rglob("L2A_QUALITY.xml"))
    values = {v.get("name"): v.text for v in etree.parse(str(quality)).getroot().iter("{*}value")}
    float(values["CLOUDY_PIXEL_PERCENTAGE"])
    assert float(mtd.findtext(".//Cloud_Coverage_Assessment")) >= 0


def _assert_clean_failure(res, out: Path, fragment: str):
    assert res.returncode != 0
    assert fragment in res.stdout + res.stderr, res.stdout + res.stderr
    assert not out.exists() or list(out.iterdir()) == []
    assert "Traceback" not in res.stderr


def test_missing_band_fails_cleanly(l1c_copy, tmp_path):
    band = next(l1c_copy.glob("GRANULE/*/IMG_DATA/*_B03.jp2"))
    band.unlink()
    out = tmp_path / "out"
    _assert_clean_failure(l2a_process("--cr_only", "--output_dir", out, l1c_copy), out, band.name)


def test_malformed_mtd_fails_cleanly(l1c_copy, tmp_path):
    mtd = l1c_copy / "MTD_MSIL1C.xml"
    mtd.write_text(mtd.read_text()[:500])
    out = tmp_path / "out"
    _assert_clean_failure(l2a_process("--cr_only", "--output_dir", out, l1c_copy), out, "MTD_MSIL1C.xml")


def test_nonexistent_input_fails_cleanly(tmp_path):
    out = tmp_path / "out"
    missing = tmp_path / "S2A_MSIL1C_20230101T000000_N0511_R001_T32TQM_20230101T000000.SAFE"
    _assert_clean_failure(l2a_process("--cr_only", "--output_dir", out, missing), out, "does not exist")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_unwritable_output_dir_fails_cleanly(l1c_copy, tmp_path):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        _assert_clean_failure(l2a_process("--cr_only", "--output_dir", out, l1c_copy), out, "not writable")
    finally:
        out.chmod(0o755)


def test_invalid_user_gipp_fails_cleanly(l1c_copy, tmp_path):
    gipp = tmp_path / "bad_gipp.xml"
    gipp.write_text((ROOT / "cfg" / "L2A_GIPP.xml").read_text().replace(
        "<Median_Filter>0</Median_Filter>", "<Median_Filter>abc</Median_Filter>"))
    out = tmp_path / "out"
    _assert_clean_failure(l2a_process("--cr_only", "--output_dir", out, "--GIP_L2A", gipp, l1c_copy), out,
                          "bad_gipp.xml")


@pytest.mark.parametrize("extra, fragment", [
    (["--mode", "generate_datastrip", "--datastrip", "DS", "--work_dir", "W"], "No argument for processing centre"),
    (["--mode", "process_tile", "--datastrip", "DS", "--work_dir", "W"], "No argument for tile"),
])
def test_ground_segment_modes_without_their_flags_fail_clearly(tmp_path, extra, fragment):
    out = tmp_path / "out"
    _assert_clean_failure(l2a_process(*extra, "--output_dir", out, cwd=tmp_path), out, fragment)
    assert not (tmp_path / "W").exists()        # nothing created before the flags are complete


def test_landsat_input_fails_clearly(tmp_path):
    product = tmp_path / "LC08_L1TP_196030_20230801_20230812_02_T1"
    product.mkdir()
    out = tmp_path / "out"
    _assert_clean_failure(l2a_process("--output_dir", out, product), out, "Landsat")
