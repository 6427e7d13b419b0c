"""Issue 16: the ground-segment modes ``--mode generate_datastrip`` and ``--mode process_tile``.

A simulated L1C SAFE is laid out as the ground segment hands it over (its DATASTRIP folder and its GRANULE
folder, no product around them); ``generate_datastrip`` then ``process_tile`` must give a datastrip and a tile
whose images are the toolbox-mode product's, byte for byte, with metadata valid against the L2A schemas we ship
(``rep_info`` stubs). Two tiles of one datastrip run at the same time without interfering; every missing or
wrong argument is one line, exit 1, nothing created. The datastrip conversion is also driven by the real
T55JGF MTD_DS (../shared/data; skipped without it).
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
T55JGF = SHARED / "eodatasets-s2b-l1c-T55JGF-aws" / "S2B_OPER_MSI_L1C_TL_EPAE_20180617T013729_A006677_T55JGF_N02.06"
DS_RE = re.compile(r"^S2B_OPER_MSI_L2A_DS_SGS__(\d{8}T\d{6})_S\d{8}T\d{6}_N99\.33$")
SECOND_TILE = "32TQN"


# ------------------------------------------------------------------------------------------------ helpers
def l2a_process(*args, cwd: Path | str = "/", home: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if home is not None:
        env["SEN2COR_HOME"] = str(home)
    return subprocess.run([sys.executable, str(ROOT / "L2A_Process.py"), *map(str, args)],
                          capture_output=True, text=True, cwd=str(cwd), env=env)


def start(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "L2A_Process.py"), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def simulate(out: Path, *args: str) -> Path:
    from sen2cor3.simulate import cli as sim_cli
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert sim_cli.main([str(out), *args]) == 0
    return Path(buf.getvalue().strip().splitlines()[-1])


def ground_segment_layout(safe: Path, dest: Path) -> tuple[Path, Path]:
    """The L1C as the ground segment delivers it: ``dest/<DS folder>`` and ``dest/<granule folder>``, copied out
    of the SAFE (no MTD_MSIL1C.xml, manifest or DATASTRIP/GRANULE parents)."""
    dest.mkdir(parents=True, exist_ok=True)
    ds = next(safe.glob("DATASTRIP/DS_*"))
    granule = next(safe.glob("GRANULE/L1C_*"))
    return Path(shutil.copytree(ds, dest / ds.name)), Path(shutil.copytree(granule, dest / granule.name))


def renamed_tile_copy(granule: Path, tile: str) -> Path:
    """A second granule of the datastrip: a copy of ``granule`` under another MGRS tile id (names, TILE_ID and
    the MTD_TL file paths changed; same pixels and geometry -- the simulator makes one tile per product)."""
    old = re.search(r"_T(\d{2}[A-Z]{3})_", granule.name).group(1)
    new_dir = granule.with_name(granule.name.replace(f"_T{old}_", f"_T{tile}_"))
    shutil.copytree(granule, new_dir)
    for p in sorted(new_dir.rglob(f"T{old}_*")):
        p.rename(p.with_name(p.name.replace(f"T{old}_", f"T{tile}_")))
    mtd = new_dir / "MTD_TL.xml"
    text = mtd.read_text().replace(granule.name, new_dir.name).replace(f"_T{old}_", f"_T{tile}_")
    mtd.write_text(text.replace(f"T{old}_", f"T{tile}_"))
    return new_dir


def image_arrays(path: Path) -> tuple:
    from osgeo import gdal
    ds = gdal.Open(str(path))
    return ds.GetGeoTransform(), [ds.GetRasterBand(i).ReadAsArray() for i in range(1, ds.RasterCount + 1)]


def schema(tmp: Path, name: str) -> etree.XMLSchema:
    """The L2A schema the project ships in every product's rep_info (``write_xsd_stubs``)."""
    from sen2cor3.products.l2a_support import write_xsd_stubs
    tmp.mkdir(parents=True, exist_ok=True)
    write_xsd_stubs(tmp)
    return etree.XMLSchema(etree.parse(str(tmp / name)))


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


# ------------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> dict:
    """The simulated L1C, its toolbox-mode L2A and its ground-segment layout."""
    work = tmp_path_factory.mktemp("gs")
    safe = simulate(work / "sim", "--size", "366", "--seed", "0")
    res = l2a_process(safe, "--output_dir", work / "toolbox", "--work_dir", work / "toolbox_logs")
    assert res.returncode == 0, res.stdout + res.stderr
    toolbox = next((work / "toolbox").glob("*.SAFE"))
    l1c_ds, granule = ground_segment_layout(safe, work / "l1c")
    return {"work": work, "safe": safe, "toolbox": toolbox, "l1c_ds": l1c_ds, "granule": granule}


@pytest.fixture(scope="module")
def l2a_datastrip(scene) -> Path:
    work = scene["work"]
    res = l2a_process("--mode", "generate_datastrip", "--datastrip", scene["l1c_ds"], "--work_dir", work / "ds_work",
                      "--output_dir", work / "ds_out", "--processing_centre", "SGS_", "--archiving_centre", "ABC_")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Progress[%]:  0.00 : Generating datastrip metadata" in res.stdout
    assert "L2A datastrip successfully generated" in res.stdout
    folders = list((work / "ds_out").iterdir())
    assert len(folders) == 1 and DS_RE.match(folders[0].name), folders      # the datastrip and nothing else
    return folders[0]


# ------------------------------------------------------------------------------------------------ reader
def test_granule_reader_gives_the_safe_readers_values(scene, l2a_datastrip):
    """What the SAFE reader takes from MTD_MSIL1C comes from the datastrip (L1C or L2A) and MTD_TL instead."""
    import dataclasses

    from sen2cor3.products.l1c import open_l1c
    from sen2cor3.readers.s2_safe import open_s2_granule
    ref = open_l1c(scene["safe"])
    for ds in (scene["l1c_ds"], l2a_datastrip):
        got = open_s2_granule(scene["granule"], ds)
        for f in dataclasses.fields(ref):
            if f.name in ("safe_path", "mtd_product_path", "mtd_datastrip_path", "datastrip_name", "image_paths",
                          "qi_mask_paths", "aux_paths", "mtd_tile_path", "angles"):
                continue
            assert getattr(got, f.name) == getattr(ref, f.name), f.name
        assert {k: p.name for k, p in got.image_paths.items()} == {k: p.name for k, p in ref.image_paths.items()}
        assert {k: p.name for k, p in got.qi_mask_paths.items()} == {k: p.name for k, p in ref.qi_mask_paths.items()}
        assert np.array_equal(got.angles.sun_zenith, ref.angles.sun_zenith)
        assert got.safe_path == scene["granule"]


# ------------------------------------------------------------------------------------------------ end to end
def test_datastrip_metadata(scene, l2a_datastrip):
    mtd = l2a_datastrip / "MTD_DS.xml"
    assert files_under(l2a_datastrip) == {"MTD_DS.xml"} and (l2a_datastrip / "QI_DATA").is_dir()
    doc = etree.parse(str(mtd))
    schema(scene["work"] / "xsd", "S2_PDI_Level-2A_Datastrip_Metadata.xsd").assertValid(doc)
    root = doc.getroot()
    assert etree.QName(root).localname == "Level-2A_DataStrip_ID"
    creation = DS_RE.match(l2a_datastrip.name).group(1)
    assert [t.get("tileId") for t in root.iter("Tile")] == [
        f"S2B_OPER_MSI_L2A_TL_SGS__{creation}_A033195_T32TQM_N99.33"]
    assert root.findtext(".//PROCESSING_CENTER") == "SGS_"
    assert root.findtext(".//ARCHIVING_CENTRE") == "ABC_"
    assert root.findtext(".//PROCESSING_BASELINE") == "99.33"
    assert root.find(".//Datatake_Info").get("datatakeIdentifier").endswith("_N99.33")
    assert root.findtext(".//BOA_QUANTIFICATION_VALUE") == "10000"
    assert [e.text for e in root.iter("BOA_ADD_OFFSET")] == ["-1000"] * 13
    assert {e.get("type") for e in root.iter("GIPP_FILENAME")} >= {"GIP_L2ACSC", "GIP_L2ACAC", "GIP_PROBA2"}
    reports = list((scene["work"] / "ds_work").glob(f"{scene['l1c_ds'].name}_*_report.xml"))
    assert len(reports) == 1
    text = reports[0].read_text()
    assert 'module="L2A_ProcessDataStrip"' in text and "Operation mode: GENERATE_DATASTRIP" in text


def test_process_tile_matches_the_toolbox_product(scene, l2a_datastrip):
    work = scene["work"]
    res = l2a_process("--mode", "process_tile", "--datastrip", l2a_datastrip, "--tile", scene["granule"],
                      "--work_dir", work / "tile_work", "--output_dir", work / "tile_out",
                      "--img_database_dir", work / "imgdb", "--res_database_dir", work / "resdb")
    assert res.returncode == 0, res.stdout + res.stderr
    creation = DS_RE.match(l2a_datastrip.name).group(1)
    name = f"S2B_OPER_MSI_L2A_TL_SGS__{creation}_A033195_T32TQM_N99.33"
    assert [p.name for p in (work / "tile_out").iterdir()] == [name]
    tile = work / "tile_out" / name
    toolbox_granule = next((scene["toolbox"] / "GRANULE").iterdir())
    assert files_under(tile) == files_under(toolbox_granule)
    images = [f for f in files_under(tile) if f.endswith(".jp2")]
    assert len(images) > 40
    for rel in images:
        gt_a, a = image_arrays(tile / rel)
        gt_b, b = image_arrays(toolbox_granule / rel)
        assert gt_a == gt_b and all(np.array_equal(x, y) for x, y in zip(a, b)), rel
        assert (tile / rel).read_bytes() == (toolbox_granule / rel).read_bytes(), rel
    # metadata: valid, ground-segment ids, QI values as in the toolbox product
    doc = etree.parse(str(tile / "MTD_TL.xml"))
    schema(work / "xsd", "S2_PDI_Level-2A_Tile_Metadata.xsd").assertValid(doc)
    root = doc.getroot()
    assert root.findtext(".//TILE_ID") == name
    assert root.findtext(".//DATASTRIP_ID") == l2a_datastrip.name
    assert root.findtext(".//ARCHIVING_CENTRE") == "ABC_"
    ref = etree.parse(str(toolbox_granule / "MTD_TL.xml")).getroot()
    assert etree.tostring(root.find(".//Image_Content_QI")) == etree.tostring(ref.find(".//Image_Content_QI"))
    assert [e.text for e in root.iter("MASK_FILENAME")] == [e.text for e in ref.iter("MASK_FILENAME")]
    # report in the work dir; databases left as they were (not there before: removed again)
    reports = list((work / "tile_work").glob(f"{name}_*_report.xml"))
    assert len(reports) == 1
    text = reports[0].read_text()
    assert "Operation mode: PROCESS_TILE" in text and 'module="L2A_ProcessTilePdgs"' in text
    assert "Application terminated successfully." in text
    assert not (work / "imgdb").exists() and not (work / "resdb").exists()
    # a second run on the same tile: Sen2Cor's "already processed", the tile left untouched
    before = (tile / "MTD_TL.xml").read_bytes()
    again = l2a_process("--mode", "process_tile", "--datastrip", l2a_datastrip, "--tile", scene["granule"],
                        "--work_dir", work / "tile_work", "--output_dir", work / "tile_out")
    assert again.returncode == 0 and "Product already processed." in again.stdout
    assert (tile / "MTD_TL.xml").read_bytes() == before


def test_two_tiles_of_one_datastrip_at_the_same_time(scene, l2a_datastrip):
    work = scene["work"]
    second = renamed_tile_copy(scene["granule"], SECOND_TILE)
    out, logs, resdb = work / "parallel_out", work / "parallel_work", work / "parallel_resdb"
    resdb.mkdir()
    runs = [start("--mode", "process_tile", "--datastrip", l2a_datastrip, "--tile", g, "--work_dir", logs,
                  "--output_dir", out, "--res_database_dir", resdb, "--resolution", "20")
            for g in (scene["granule"], second)]
    results = [(*p.communicate(timeout=600), p.returncode) for p in runs]
    for stdout, stderr, rc in results:
        assert rc == 0, stdout + stderr
    tiles = sorted(p.name for p in out.iterdir())
    assert len(tiles) == 2 and [t.split("_")[-2] for t in tiles] == ["T32TQM", f"T{SECOND_TILE}"]
    a, b = (out / t for t in tiles)
    assert len(files_under(a)) == len(files_under(b)) > 20
    for rel in sorted(files_under(a)):
        if rel.endswith(".jp2"):
            other = rel.replace("T32TQM_", f"T{SECOND_TILE}_")
            ga, xa = image_arrays(a / rel)
            gb, xb = image_arrays(b / other)
            assert ga == gb and all(np.array_equal(x, y) for x, y in zip(xa, xb)), rel
    assert list(resdb.iterdir()) == []                          # the private intermediates are gone
    assert len(list(logs.glob("*_report.xml"))) == 2


# ------------------------------------------------------------------------------------------------ argument errors
@pytest.fixture()
def ds_and_tile(scene, l2a_datastrip):
    return {"l1c_ds": scene["l1c_ds"], "l2a_ds": l2a_datastrip, "tile": scene["granule"]}


ARG_CASES = [
    (["--mode", "make_tiles"], "wrong operation mode: make_tiles"),
    (["--mode", "generate_datastrip", "--datastrip", "{l1c_ds}", "--output_dir", "{out}",
      "--processing_centre", "SGS_", "--archiving_centre", "SGS_"], "No argument for work directory present"),
    (["--mode", "generate_datastrip", "--work_dir", "{work}", "--output_dir", "{out}",
      "--processing_centre", "SGS_", "--archiving_centre", "SGS_"], "No argument for datastrip present"),
    (["--mode", "generate_datastrip", "--datastrip", "{l1c_ds}", "--work_dir", "{work}", "--output_dir", "{out}",
      "--archiving_centre", "SGS_"], "No argument for processing centre present"),
    (["--mode", "generate_datastrip", "--datastrip", "{l1c_ds}", "--work_dir", "{work}", "--output_dir", "{out}",
      "--processing_centre", "SGS_"], "No argument for archiving centre present"),
    (["--mode", "generate_datastrip", "--datastrip", "{missing}", "--work_dir", "{work}", "--output_dir", "{out}",
      "--processing_centre", "SGS_", "--archiving_centre", "SGS_"], "Input datastrip does not exist"),
    (["--mode", "generate_datastrip", "--datastrip", "{l1c_ds}", "--work_dir", "{work}",
      "--processing_centre", "SGS_", "--archiving_centre", "SGS_"], "No argument for output directory present"),
    (["--mode", "generate_datastrip", "--datastrip", "{l1c_ds}", "--work_dir", "{work}", "--output_dir", "{out}",
      "--processing_centre", "sgs", "--archiving_centre", "SGS_"], "--processing_centre"),
    (["--mode", "generate_datastrip", "--datastrip", "{l2a_ds}", "--work_dir", "{work}", "--output_dir", "{out}",
      "--processing_centre", "SGS_", "--archiving_centre", "SGS_"], "not a Level-1C datastrip"),
    (["--mode", "process_tile", "--tile", "{tile}", "--work_dir", "{work}", "--output_dir", "{out}"],
     "No argument for datastrip present"),
    (["--mode", "process_tile", "--datastrip", "{l2a_ds}", "--work_dir", "{work}", "--output_dir", "{out}"],
     "No argument for tile present"),
    (["--mode", "process_tile", "--datastrip", "{l2a_ds}", "--tile", "{tile}", "--output_dir", "{out}"],
     "No argument for work directory present"),
    (["--mode", "process_tile", "--datastrip", "{missing}", "--tile", "{tile}", "--work_dir", "{work}",
      "--output_dir", "{out}"], "Input datastrip does not exist"),
    (["--mode", "process_tile", "--datastrip", "{l2a_ds}", "--tile", "{missing}", "--work_dir", "{work}",
      "--output_dir", "{out}"], "Input tile does not exist"),
    (["--mode", "process_tile", "--datastrip", "{l2a_ds}", "--tile", "{tile}", "--work_dir", "{work}"],
     "No argument for output directory present"),
    (["--mode", "process_tile", "--datastrip", "{l1c_ds}", "--tile", "{tile}", "--work_dir", "{work}",
      "--output_dir", "{out}"], "not a Level-2A datastrip"),
    (["--mode", "process_tile", "--datastrip", "{l2a_ds}", "--tile", "{l1c_ds}", "--work_dir", "{work}",
      "--output_dir", "{out}"], "MTD_TL.xml"),
    (["--mode", "process_tile", "--datastrip", "{l2a_ds}", "--tile", "{tile}", "--work_dir", "{work}",
      "--output_dir", "{out}", "--Hyper_MS"], "Hyper MS"),
]


@pytest.mark.parametrize("argv, fragment", ARG_CASES, ids=[c[1][:40] for c in ARG_CASES])
def test_argument_errors_one_line_nothing_created(ds_and_tile, tmp_path, capsys, argv, fragment):
    from sen2cor3.cli import main
    values = {**ds_and_tile, "out": tmp_path / "out", "work": tmp_path / "work", "missing": tmp_path / "nope"}
    assert main([a.format(**values) for a in argv]) == 1
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0], captured.err
    assert "Traceback" not in captured.out + captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == []        # no output, work or database folder


def test_input_dir_is_not_an_argument_of_the_ground_segment_modes(ds_and_tile, tmp_path):
    """Sen2Cor 3 builds its parser without input_dir when --mode is given: a positional is refused (exit 2)."""
    res = l2a_process("--mode", "process_tile", "--datastrip", ds_and_tile["l2a_ds"], "--tile", ds_and_tile["tile"],
                      "--work_dir", tmp_path / "w", "--output_dir", tmp_path / "o", "X.SAFE")
    assert res.returncode == 2 and "unrecognized arguments: X.SAFE" in res.stderr
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------------ real metadata
@pytest.mark.skipif(not (T55JGF / "datastrip" / "metadata.xml").is_file(),
                    reason=f"real T55JGF datastrip metadata not available ({T55JGF} missing; ../shared is absent)")
def test_datastrip_metadata_of_the_real_t55jgf_datastrip(tmp_path, capsys):
    """generate_datastrip on the real MTD_DS (PSD 14, baseline 02.06, 133 tiles) in the ground-segment naming
    (folder S2B_OPER_MSI_L1C_DS_..., file S2B_OPER_MTD_L1C_DS_....xml, as Sen2Cor looks for it)."""
    from sen2cor3.cli import main
    src = T55JGF / "datastrip" / "metadata.xml"
    ds = tmp_path / "S2B_OPER_MSI_L1C_DS_EPAE_20180617T013729_S20180617T001107_N02.06"
    ds.mkdir()
    (ds / "S2B_OPER_MTD_L1C_DS_EPAE_20180617T013729_S20180617T001107.xml").symlink_to(src)
    out = tmp_path / "out"
    assert main(["--mode", "generate_datastrip", "--datastrip", str(ds), "--work_dir", str(tmp_path / "w"),
                 "--output_dir", str(out), "--processing_centre", "SGS_", "--archiving_centre", "SGS_",
                 "--processing_baseline", "05.11"]) == 0, capsys.readouterr()
    (folder,) = list(out.iterdir())
    m = re.match(r"^S2B_OPER_MSI_L2A_DS_SGS__(\d{8}T\d{6})_S20180617T001107_N05\.11$", folder.name)
    assert m, folder.name
    creation = m.group(1)
    parser = etree.XMLParser(huge_tree=True)
    l1c = etree.parse(str(src), parser).getroot()
    doc = etree.parse(str(folder / "MTD_DS.xml"), parser)
    schema(tmp_path / "xsd", "S2_PDI_Level-2A_Datastrip_Metadata.xsd").assertValid(doc)
    l2a = doc.getroot()
    assert [etree.QName(e).localname for e in l2a] == [etree.QName(e).localname for e in l1c]
    l1c_tiles = [t.get("tileId") for t in l1c.iter("Tile")]
    l2a_tiles = [t.get("tileId") for t in l2a.iter("Tile")]
    assert len(l1c_tiles) == len(l2a_tiles) > 100
    assert l2a_tiles == [re.sub(r"L1C_TL_EPAE_\d{8}T\d{6}_(.*)_N02\.06$", rf"L2A_TL_SGS__{creation}_\1_N05.11", t)
                         for t in l1c_tiles]
    assert l2a.findtext(".//PROCESSING_BASELINE") == "05.11"
    assert ([(e.tag, e.text) for e in l2a.find(".//Datastrip_Time_Info")]
            == [(e.tag, e.text) for e in l1c.find(".//Datastrip_Time_Info")])
    assert l2a.findtext(".//PROCESSING_CENTER") == "SGS_"
    assert l2a.findtext(".//ARCHIVING_CENTRE") == "SGS_"
    assert l2a.findtext(".//UTC_DATE_TIME") == (f"{creation[:4]}-{creation[4:6]}-{creation[6:8]}T"
                                                f"{creation[9:11]}:{creation[11:13]}:{creation[13:15]}Z")
    assert l2a.find(".//Datatake_Info").get("datatakeIdentifier") == "GS2B_20180617T001109_006677_N05.11"
    assert l2a.find(".//PRODUCT_DOI") is None                              # PSD 14: Sen2Cor adds it from 14.7 on
    ri = l2a.find(".//Radiometric_Info")
    assert ri.find("QUANTIFICATION_VALUE") is None and ri.findtext(".//BOA_QUANTIFICATION_VALUE") == "10000"
    assert ri.find("BOA_ADD_OFFSET_VALUES_LIST") is None                   # baseline 02.06: no offsets
    assert [e.text for e in l2a.iter("SOLAR_IRRADIANCE")] == [e.text for e in l1c.iter("SOLAR_IRRADIANCE")]
    gipps = list(l2a.iter("GIPP_FILENAME"))
    assert len(gipps) == len(list(l1c.iter("GIPP_FILENAME"))) + 3
    assert [(g.get("type"), g.get("version")) for g in gipps[-3:]] == [
        ("GIP_L2ACSC", "30200"), ("GIP_L2ACAC", "30200"), ("GIP_PROBA2", "0511")]
    adi = l2a.find("{*}Auxiliary_Data_Info")
    assert adi.findtext("ECMWF_DATA_REF") == l1c.find("{*}Auxiliary_Data_Info").findtext("ECMWF_DATA_REF")
    assert adi.find("GRI_List") is not None and adi.findtext("LUT_List/LUT_FILENAME") == "None"
    assert adi.findtext("PRODUCTION_DEM_TYPE") == "None"
    # the ancillary data (orbit, attitude, ...) pass through unchanged
    sad = "{*}Satellite_Ancillary_Data_Info"
    assert len(list(l2a.find(sad).iter())) == len(list(l1c.find(sad).iter()))


def test_a_tile_that_fails_leaves_only_its_report(scene, l2a_datastrip, tmp_path):
    """A band that cannot be decoded: exit 1 with one line, no tile folder, no staging, no database folders; the
    report (in the work dir) ends with the fault."""
    granule = Path(shutil.copytree(scene["granule"], tmp_path / "l1c" / scene["granule"].name))
    band = next(granule.glob("IMG_DATA/*_B11.jp2"))
    band.write_bytes(band.read_bytes()[:300])
    out, work, resdb = tmp_path / "out", tmp_path / "work", tmp_path / "resdb"
    res = l2a_process("--mode", "process_tile", "--datastrip", l2a_datastrip, "--tile", granule, "--work_dir", work,
                      "--output_dir", out, "--res_database_dir", resdb, "--resolution", "20")
    assert res.returncode == 1, res.stdout + res.stderr
    assert "Traceback" not in res.stdout + res.stderr
    assert "Application terminated with at least one error." in res.stdout
    assert list(out.iterdir()) == [] and not resdb.exists()
    (report,) = list(work.glob("S2B_OPER_MSI_L2A_TL_*_report.xml"))
    last = etree.parse(str(report)).getroot()[-1]
    assert band.name in last.findtext("message") and last.find("inspection").get("level") in ("ERROR", "FATAL")
