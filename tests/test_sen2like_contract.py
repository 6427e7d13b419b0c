"""sen2like's exact call on a small product, and every file glob and metadata field its readers need.

The call and the checks follow research/sen2like_contract.md section 2 (sen2like 4.4.x, `Sen2corClient` and its
`Sentinel2MTL` reader); this is our own code, written from that description.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from lxml import etree

from sen2cor3.rt import tables

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "gipp_reference" / "sen2cor3_era_sen2like"

pytestmark = pytest.mark.skipif(not tables.tables_available(),
                                reason="radiative-transfer tables not built (python -m sen2cor3.lut build)")


def sen2like_gipp(dest: Path, terrain: bool) -> Path:
    """The GIPP sen2like writes: its template with DEM_Terrain_Correction set, single-quoted declaration."""
    template = SHARED / f"sen2cor_L2A_GIPP_DEM_{'ON' if terrain else 'OFF'}.xml"
    text = template.read_text() if template.exists() else (ROOT / "cfg" / "L2A_GIPP.xml").read_text()
    text = re.sub(r"^<\?xml[^>]*\?>", "<?xml version='1.0' encoding='UTF-8'?>", text)
    text = re.sub(r"<DEM_Terrain_Correction>\w+</DEM_Terrain_Correction>",
                  f"<DEM_Terrain_Correction>{'TRUE' if terrain else 'FALSE'}</DEM_Terrain_Correction>", text)
    dest.write_text(text)
    return dest


@pytest.fixture(scope="module")
def sen2like_run(tmp_path_factory, small_l1c_safe):
    d = tmp_path_factory.mktemp("sen2cor") / Path(small_l1c_safe).name
    d.mkdir()
    gipp = sen2like_gipp(d / "sen2cor_gipp_32TQM.xml", terrain=False)
    cwd = tmp_path_factory.mktemp("unrelated_cwd")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEN2COR")}
    env["HOME"] = str(cwd)
    res = subprocess.run([sys.executable, str(ROOT / "L2A_Process.py"), str(small_l1c_safe), "--output_dir", str(d),
                          "--GIP_L2A", str(gipp), "--work_dir", str(d), "--sc_classic"],
                         capture_output=True, text=True, cwd=cwd, env=env)
    return res, d


def test_exit_zero_and_exactly_one_folder(sen2like_run):
    res, d = sen2like_run
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    folders = [p for p in d.iterdir() if p.is_dir()]
    assert len(folders) == 1 and folders[0].name.startswith("S2B_MSIL2A_")
    assert not any("CRITICAL" in ln for ln in res.stdout.splitlines())


@pytest.fixture(scope="module")
def product(sen2like_run) -> Path:
    res, d = sen2like_run
    assert res.returncode == 0, res.stdout[-3000:]
    return next(p for p in d.iterdir() if p.is_dir())


def test_product_metadata_fields(product):
    mtds = list(product.glob("*MTD*.xml"))
    assert [m.name for m in mtds] == ["MTD_MSIL2A.xml"]
    root = etree.parse(str(mtds[0])).getroot()

    def text(tag):
        el = root.find(f".//{tag}")
        assert el is not None, tag
        return el.text

    assert text("PROCESSING_LEVEL") == "Level-2A"
    assert text("PRODUCT_URI")[:3] in ("S2A", "S2B", "S2C")
    datetime.strptime(text("GENERATION_TIME").rstrip("Z").split(".")[0], "%Y-%m-%dT%H:%M:%S")
    baseline = text("PROCESSING_BASELINE")
    assert re.fullmatch(r"\d\d\.\d\d", baseline) and baseline >= "04.00"
    for tag in ("SPACECRAFT_NAME", "SENSING_ORBIT_NUMBER", "PRODUCT_START_TIME", "U"):
        text(tag)
    float(text("Cloud_Coverage_Assessment"))
    assert root.find(".//BOA_QUANTIFICATION_VALUE") is not None
    offsets = root.findall(".//BOA_ADD_OFFSET")
    assert sorted(int(o.get("band_id")) for o in offsets) == list(range(13))
    assert len(root.findall(".//SOLAR_IRRADIANCE")) == 13
    entries = [e.text for e in root.iter("IMAGE_FILE")]
    keys = {e[-7:] for e in entries}
    assert "SCL_20m" in keys
    assert re.match(r"GRANULE/[^/]+/IMG_DATA/R\d\dm/[^/]+$", entries[-1])


def test_band_files_sen2like_globs(product):
    granules = list((product / "GRANULE").iterdir())
    assert len(granules) == 1
    g = granules[0]
    wanted = {"B01": 60, "B02": 10, "B03": 10, "B04": 10, "B08": 10, "B05": 20, "B06": 20, "B07": 20,
              "B8A": 20, "B11": 20, "B12": 20, "SCL": 20}
    from osgeo import gdal
    for band, res in wanted.items():
        hits = list(g.glob(f"IMG_DATA/R{res}m/*_{band}_{res}m.jp2"))
        assert len(hits) == 1, band
        ds = gdal.Open(str(hits[0]))
        assert ds is not None and ds.GetProjection() and ds.GetGeoTransform()[1] == res
        assert ds.GetRasterBand(1).DataType == (gdal.GDT_Byte if band == "SCL" else gdal.GDT_UInt16)


def test_tile_metadata_fields(product):
    g = next((product / "GRANULE").iterdir())
    root = etree.parse(str(next(g.glob("*MTD*TL*.xml")))).getroot()
    for tag in ("Mean_Sun_Angle", "Mean_Viewing_Incidence_Angle_List", "HORIZONTAL_CS_NAME", "HORIZONTAL_CS_CODE",
                "Geoposition", "Size", "Sun_Angles_Grid", "Viewing_Incidence_Angles_Grids", "TILE_ID",
                "DATASTRIP_ID", "L1C_TILE_ID", "Image_Content_QI"):
        assert root.find(f".//{tag}") is not None, tag
    assert "." in root.findtext(".//SENSING_TIME")
    for mask in root.iter("MASK_FILENAME"):
        assert f"GRANULE/{g.name}/QI_DATA" in mask.text


def test_quality_file_numeric(product):
    q = next(product.glob("GRANULE/*/QI_DATA/L2A_QUALITY.xml"))
    root = etree.parse(str(q)).getroot()
    values = {v.get("name"): v.text for v in root.iter("{*}value")}
    assert 0.0 <= float(values["CLOUDY_PIXEL_PERCENTAGE"]) <= 100.0
    assert values["AC_ENABLED"] in ("TRUE", "True", "true")
