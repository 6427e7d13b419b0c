"""Issue 18: the fault matrix of the aux inputs. Every broken aux file either falls back with one warning line that
names the file and what is used instead, or (Force_Exit_On_DEM_Error) stops with one line naming it; never an
internal error. Checked where the processor meets the files (``load_aux``, the same call for every sensor) on a
complete, format-true aux tree with one file damaged per case, and end to end for each input kind (Sentinel-2,
Hyper MS, Landsat) with a truncated DEM tile and a broken CAMS file.
"""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from test_auxdata_helpers import write_cams_nc, write_ecmwft_grib2, write_geotiff
from test_auxdata_terrain import CCI, WHEN, _dem_tiles, _full_tree, _load
from sen2cor3.auxdata import AuxDataError

ROOT = Path(__file__).resolve().parents[1]
DAILY = Path("ECMWF/daily/20230606/CAMS_archive_aod550_tcwv_msl_gtco3_analysis_0H_6H_12H_18H_2023-06-06.nc")


def _truncate(p: Path, keep: float = 0.3) -> None:
    p.write_bytes(p.read_bytes()[: max(16, int(p.stat().st_size * keep))])


def _garbage(p: Path) -> None:
    p.write_bytes(os.urandom(4096))


def _wrong_crs(p: Path) -> None:
    """The same file name holding a raster in Web Mercator far from the tile."""
    p.unlink()
    write_geotiff(p, np.full((16, 16), 7, np.uint8), (1.0e7, 1000.0, 0, 1.0e6, 0, -1000.0), epsg=3857)


def _dem(root: Path) -> list[Path]:
    return sorted((root / "dem" / "CopernicusDEM90").glob("*.tif"))


DEM_CASES = {
    "truncated": lambda root: [_truncate(p) for p in _dem(root)],
    "garbage": lambda root: [_garbage(p) for p in _dem(root)],
    "wrong_crs": lambda root: [_wrong_crs(p) for p in _dem(root)],
    "wrong_size": lambda root: [(p.unlink(), write_geotiff(p, np.full((3, 2), 300, np.float32),
                                                           (4.0, 0.5, 0, 51.0, 0, -0.5))) for p in _dem(root)[:1]],
    "directory_is_a_file": lambda root: [__import__("shutil").rmtree(root / "dem" / "CopernicusDEM90"),
                                         (root / "dem" / "CopernicusDEM90").write_text("not a folder")],
    "tile_is_a_directory": lambda root: [(p.unlink(), p.mkdir()) for p in _dem(root)],
}


@pytest.mark.parametrize("case", sorted(DEM_CASES))
def test_dem_faults(tmp_path, case):
    root = _full_tree(tmp_path)
    DEM_CASES[case](root)
    b = _load(root)
    dem_lines = [w for w in b.warnings if w.startswith("DEM")]
    if case == "wrong_size":           # a smaller tile still covers part of the footprint: used, the rest sea
        assert b.dem is not None or dem_lines
        return
    assert b.dem is None and b.terrain.is_flat, case
    assert len(dem_lines) == 1 and "\n" not in dem_lines[0] and "flat terrain" in dem_lines[0]
    assert "CopernicusDEM90" in dem_lines[0]
    with pytest.raises(AuxDataError) as exc:
        _load(root, force_exit_on_dem_error=True)
    assert "CopernicusDEM90" in str(exc.value) and "\n" not in str(exc.value)


CAMS_CASES = {
    "truncated": lambda root: _truncate(root / DAILY, 0.5),
    "garbage": lambda root: _garbage(root / DAILY),
    "missing_variables": lambda root: write_cams_nc(root / DAILY, datetime(2023, 6, 6, tzinfo=timezone.utc),
                                                    variables=("msl",)),
    "wrong_date": lambda root: write_cams_nc(root / DAILY, datetime(2021, 1, 2, tzinfo=timezone.utc)),
    "monthly_garbage": lambda root: ((root / DAILY).unlink(),
                                     _garbage(root / "ECMWF" / "monthly" / "202306" / "cams_monthly.nc")
                                     if (root / "ECMWF" / "monthly" / "202306").mkdir(parents=True) is None else None),
}


@pytest.mark.parametrize("case", sorted(CAMS_CASES))
def test_cams_faults(tmp_path, case):
    root = _full_tree(tmp_path)
    CAMS_CASES[case](root)
    b = _load(root)
    lines = [w for w in b.warnings if w.startswith(("CAMS", "AOT", "OZONE"))]
    assert lines and all("\n" not in w for w in lines)
    name = "cams_monthly.nc" if case == "monthly_garbage" else DAILY.name
    assert any(name in w for w in lines), lines
    assert b.aot_source in ("NONE", "AUX_CAMSFO")          # nothing silently read from a broken file
    assert b.dem is not None                               # the other aux data are still used


@pytest.mark.parametrize("case", ["truncated", "garbage"])
def test_cams_nrt_faults(tmp_path, case):
    """NRT forecasts (AOT only): a broken file of the bracketing pair is named and no AOT comes from them."""
    root = _full_tree(tmp_path)
    (root / DAILY).unlink()
    run = root / "ECMWF" / "CAMS_NREALTIME" / "2023060600"
    files = []
    for step, aod in ((10, 0.2), (11, 0.4)):
        t = datetime(2023, 6, 6, step, tzinfo=timezone.utc)
        files.append(write_cams_nc(run / f"z_cams_c_ecmf_20230606000000_prod_fc_sfc_{step:03d}_aod550.nc", t,
                                   aod=(aod,), hours=(0,), lat_slope=0.0, variables={"aod550"}))
    (_truncate if case == "truncated" else _garbage)(files[1])
    b = _load(root)
    lines = [w for w in b.warnings if files[1].name in w]
    assert lines and all("\n" not in w for w in b.warnings), b.warnings
    assert b.aot_source == "NONE"


@pytest.mark.parametrize("case", ["truncated", "garbage"])
@pytest.mark.parametrize("kind", ["AUX_ECMWFT", "AUX_CAMSFO"])
def test_l1c_grib_faults(tmp_path, kind, case):
    root = _full_tree(tmp_path)
    (root / DAILY).unlink()                                 # the GRIB would be the only atmosphere source
    grib = write_ecmwft_grib2(tmp_path / kind, (4.0, 0.2, 0.0, 52.0, 0.0, -0.125), ozone_du=290.0)
    (_truncate if case == "truncated" else _garbage)(grib)
    b = _load(root, l1c_aux_paths={kind: grib})
    lines = [w for w in b.warnings if kind in w]
    assert len(lines) >= 1 and all("\n" not in w for w in b.warnings), b.warnings
    assert b.ozone_source != "AUX_ECMWFT"


CCI_CASES = {"truncated": _truncate, "garbage": _garbage, "wrong_crs": _wrong_crs}


@pytest.mark.parametrize("case", sorted(CCI_CASES))
@pytest.mark.parametrize("which", ["esacci_landcover_map", "esacci_waterbodies_map"])
def test_cci_faults(tmp_path, which, case):
    root = _full_tree(tmp_path)
    CCI_CASES[case](root / CCI[which])
    b = _load(root)
    lines = [w for w in b.warnings if CCI[which] in w]
    assert len(lines) == 1 and "\n" not in lines[0], b.warnings
    layer = b.landcover if which == "esacci_landcover_map" else b.water_bodies
    assert layer is None


def test_snow_condition_fault(tmp_path):
    root = _full_tree(tmp_path)
    folder = root / CCI["esacci_snowcondition_map_dir"]
    for p in folder.rglob("*.tif"):
        _garbage(p)
    b = _load(root)
    assert b.snow_condition is None
    assert any(CCI["esacci_snowcondition_map_dir"] in w or "snow" in w.lower() for w in b.warnings), b.warnings


# ------------------------------------------------------------------------------------------- end to end
def _run(product: Path, out: Path, aux: Path, gipp: Path, *flags: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEN2COR")}
    env["SEN2COR_AUX_DATA"] = str(aux)
    return subprocess.run([sys.executable, str(ROOT / "L2A_Process.py"), str(product), "--output_dir", str(out),
                           "--work_dir", str(out.parent / "log"), "--GIP_L2A", str(gipp), *flags],
                          capture_output=True, text=True, env=env, timeout=600)


def _broken_aux(tmp_path: Path, dem_tiles: Path, day: datetime) -> tuple[Path, Path]:
    """An aux tree with a garbage CAMS daily file of ``day`` and the product's DEM tiles truncated; its GIPP."""
    import shutil
    aux = tmp_path / "aux"
    daily = aux / "ECMWF" / "daily" / f"{day:%Y%m%d}" / (
        f"CAMS_archive_aod550_tcwv_msl_gtco3_analysis_0H_6H_12H_18H_{day:%Y-%m-%d}.nc")
    daily.parent.mkdir(parents=True)
    _garbage(daily)
    dem = aux / "dem"
    shutil.copytree(dem_tiles, dem)
    for p in dem.glob("*.tif"):
        _truncate(p)
    text = (ROOT / "sen2cor3" / "cfg" / "L2A_GIPP.xml").read_text()
    text = text.replace("<DEM_Directory>NONE</DEM_Directory>", f"<DEM_Directory>{dem}</DEM_Directory>")
    text = text.replace("<DEM_Reference>NONE</DEM_Reference>", "<DEM_Reference>CDSE-GLO-30</DEM_Reference>")
    gipp = tmp_path / "gipp.xml"
    gipp.write_text(text)
    return aux, gipp


@pytest.mark.parametrize("kind", ["S2B", "S2P", "L8"])
def test_broken_aux_end_to_end(tmp_path, kind):
    """Each input kind: exit 0, the product, one warning line naming the CAMS file and one naming a DEM tile,
    flat terrain recorded in L2A_QUALITY; with Force_Exit_On_DEM_Error one line, exit 1, nothing left."""
    from sen2cor3.rt import tables
    if not tables.tables_available():
        pytest.skip("6S tables not built")
    from test_landsat import simulate
    l1 = simulate(tmp_path / "sim", "--spacecraft", kind, "--size", "120", "--seed", "3", "--relief", "hills")
    day = datetime(2023, 7, 15, tzinfo=timezone.utc)
    aux, gipp = _broken_aux(tmp_path, tmp_path / "sim" / "truth" / "dem", day)
    flags = ("--Hyper_MS", "--resolution", "30") if kind == "S2P" else ()
    out = tmp_path / "out"
    res = _run(l1, out, aux, gipp, *flags)
    text = res.stdout + res.stderr
    assert res.returncode == 0 and "internal error" not in text, text[-3000:]
    assert any("CAMS" in ln and "CAMS_archive" in ln for ln in text.splitlines()), text[-3000:]
    assert any(ln.startswith("DEM") and "Copernicus_DSM" in ln and "flat terrain" in ln for ln in text.splitlines())
    (product,) = [p for p in out.iterdir() if p.is_dir()]
    quality = next(product.rglob("L2A_QUALITY.xml")).read_text()
    assert "DEM_TYPE\">NA<" in quality or "DEM_TYPE\">NONE<" in quality
    gipp.write_text(gipp.read_text().replace("<Force_Exit_On_DEM_Error>FALSE</Force_Exit_On_DEM_Error>",
                                             "<Force_Exit_On_DEM_Error>TRUE</Force_Exit_On_DEM_Error>"))
    out2 = tmp_path / "out2"
    res = _run(l1, out2, aux, gipp, *flags)
    text = res.stdout + res.stderr
    assert res.returncode == 1 and "internal error" not in text and "Traceback" not in text, text[-3000:]
    assert any("Copernicus_DSM" in ln and "Force_Exit_On_DEM_Error" in ln for ln in text.splitlines()), text[-2000:]
    assert not out2.exists() or list(out2.iterdir()) == []
