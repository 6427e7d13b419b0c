"""Fingerprint Sentinel-2 (and Landsat) L2A outputs, to prove a restructuring did not move a pixel or a metadata value.

    python benchmarks/s2_fingerprint.py WORK_DIR [--json OUT.json] [--compare BEFORE.json]

Simulates (once, cached in WORK_DIR) the embedded sample scene and a hilly scene with its DEM in a user GIPP,
runs ``L2A_Process.py`` on them with several flag sets (default resolutions, ``--resolution 60 --tif``,
``--sc_only``, ``--raw``, DEM + terrain correction at 20 m; a mountain scene under a low sun, with cast shadows,
DEM + terrain correction at 10 m; a simulated Landsat 8 scene with and without its DEM)
and hashes every file of each product: images by
their pixels, data type, geotransform and CRS; XML with time stamps and the generation-time field of names
blanked; anything else byte for byte. Two fingerprints are equal exactly when the products are the same but
for the time of the run.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: (run name, scene name, extra flags)
RUNS = (
    ("sample_default", "sample", []),
    ("sample_r60_tif", "sample", ["--resolution", "60", "--tif"]),
    ("sample_sc_only", "sample", ["--sc_only"]),
    ("hills_dem_r20_raw", "hills", ["--resolution", "20", "--raw", "--DEM"]),
    ("hills_dem_r10_classic", "hills", ["--sc_classic", "--DEM"]),
    ("mountains_dem_r10", "mountains", ["--DEM"]),
    ("landsat_default", "l8", []),
    ("landsat_dem_sc_only", "l8", ["--DEM", "--sc_only"]),
    ("landsat_dem", "l8", ["--DEM"]),
)
SCENES = {"sample": ["--size", "366", "--seed", "0"],
          "hills": ["--size", "360", "--seed", "4", "--aot", "0.15", "--wv", "2.0", "--relief", "hills"],
          # low winter sun on steep relief: cast shadows for the DEM path's shadow maps at 20 and 10 m
          "mountains": ["--size", "360", "--seed", "127", "--aot", "0.1", "--wv", "0.6", "--sun-zenith", "62",
                        "--relief", "mountains", "--date", "2023-12-01"],
          "l8": ["--spacecraft", "L8", "--size", "1098", "--seed", "2", "--aot", "0.2", "--relief", "hills"]}

_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z?")
#: INSPIRE.xml's metadata date (gmd:dateStamp): the day of the run
_DATE_STAMP = re.compile(r"(<gco:Date>)\d{4}-\d{2}-\d{2}(</gco:Date>)")


def _normalise_name(rel: str, generation: str) -> str:
    return rel.replace(generation, "<GEN>")


def _image_hash(path: Path) -> str:
    from osgeo import gdal
    ds = gdal.Open(str(path))
    h = hashlib.sha256()
    h.update(repr(ds.GetGeoTransform()).encode())
    srs = ds.GetSpatialRef()
    h.update((srs.GetAuthorityCode(None) or srs.ExportToWkt() if srs else "").encode())
    for i in range(1, ds.RasterCount + 1):
        a = ds.GetRasterBand(i).ReadAsArray()
        h.update(str(a.dtype).encode() + repr(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _xml_hash(path: Path, generation: str, work: str = "") -> str:
    text = path.read_text(errors="replace").replace(generation, "<GEN>")
    if work:
        text = text.replace(work, "<WORK>")       # the run's own folders (GIPP DEM path, granule URL)
    text = _TIME.sub("<TIME>", text)
    text = _DATE_STAMP.sub(r"\1<DATE>\2", text)
    if path.suffix.lower() == ".safe":      # manifest: checksums/sizes of files that hold time stamps
        text = re.sub(r'size="\d+"', 'size="<N>"', text)
        text = re.sub(r"(<checksum[^>]*>)[0-9a-fA-F]+(</checksum>)", r"\1<MD5>\2", text)
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprint(product: Path, work: Path | None = None) -> dict[str, str]:
    """{relative path with the generation time blanked: hash} of every file of an L2A product (``work``: the
    folder of the runs, blanked in the XML)."""
    if product.name.endswith(".SAFE"):
        generation = product.name.removesuffix(".SAFE").rsplit("_", 1)[-1]
    else:                                             # Landsat L2: the 5th field is the run date
        generation = product.name.split("_")[4]
    out = {}
    for p in sorted(product.rglob("*")):
        if not p.is_file():
            continue
        rel = _normalise_name(str(p.relative_to(product)), generation)
        if ("rep_info" in rel and "report" in rel) or rel.endswith("_report.xml"):
            continue                                  # the run report (Landsat: at the root): times, durations
        suffix = p.suffix.lower()
        if suffix in (".jp2", ".tif", ".rawl", ".img"):
            out[rel] = _image_hash(p)
        elif suffix == ".hdr" or p.name.endswith(".aux.xml"):
            continue                                  # described by the image hash
        elif suffix in (".xml", ".safe", ".html", ".gml"):
            out[rel] = _xml_hash(p, generation, str(work) if work else "")
        else:
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _simulate(work: Path, scene: str) -> tuple[Path, Path]:
    from sen2cor3.simulate import cli as sim_cli
    sim_dir = work / "scenes" / scene
    done = sim_dir / ".safe_path"
    if not done.exists():
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert sim_cli.main([str(sim_dir), *SCENES[scene]]) == 0
        done.write_text(buf.getvalue().strip().splitlines()[-1])
    return Path(done.read_text()), sim_dir / "truth"


def _dem_gipp(dem_dir: Path, out: Path) -> Path:
    text = (ROOT / "sen2cor3" / "cfg" / "L2A_GIPP.xml").read_text()
    text = text.replace("<DEM_Directory>NONE</DEM_Directory>", f"<DEM_Directory>{dem_dir}</DEM_Directory>")
    text = text.replace("<DEM_Reference>NONE</DEM_Reference>", "<DEM_Reference>CDSE-GLO-30</DEM_Reference>")
    text = text.replace("<DEM_Terrain_Correction>FALSE</DEM_Terrain_Correction>",
                        "<DEM_Terrain_Correction>TRUE</DEM_Terrain_Correction>")
    out.write_text(text)
    return out


def run_all(work: Path) -> dict[str, dict[str, str]]:
    result = {}
    for name, scene, flags in RUNS:
        safe, truth = _simulate(work, scene)
        out = work / "runs" / name
        if out.exists():
            subprocess.run(["rm", "-rf", str(out)], check=True)
        out.mkdir(parents=True)
        flags = list(flags)
        if "--DEM" in flags:
            flags.remove("--DEM")
            flags += ["--GIP_L2A", str(_dem_gipp(truth / "dem", work / f"{scene}_gipp.xml"))]
        cmd = [sys.executable, str(ROOT / "L2A_Process.py"), str(safe), "--output_dir", str(out),
               "--work_dir", str(work / "logs"), *flags]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"{name}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
        products = [p for p in out.iterdir() if p.is_dir()]
        result[name] = fingerprint(products[0], work)
        print(f"{name}: {len(result[name])} files", file=sys.stderr)
    return result


def compare(before: dict, after: dict) -> list[str]:
    """Differences as lines (empty: identical)."""
    lines = []
    for run in sorted(set(before) | set(after)):
        b, a = before.get(run, {}), after.get(run, {})
        for f in sorted(set(b) | set(a)):
            if b.get(f) != a.get(f):
                what = "missing after" if f not in a else ("new" if f not in b else "changed")
                lines.append(f"{run}: {f}: {what}")
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("work_dir", type=Path)
    p.add_argument("--json", type=Path, help="write the fingerprint here")
    p.add_argument("--compare", type=Path, help="a fingerprint JSON from before the change")
    a = p.parse_args(argv)
    a.work_dir.mkdir(parents=True, exist_ok=True)
    fp = run_all(a.work_dir.resolve())
    if a.json:
        a.json.write_text(json.dumps(fp, indent=1, sort_keys=True))
    if a.compare:
        diff = compare(json.loads(a.compare.read_text()), fp)
        print("\n".join(diff) if diff else f"identical: {sum(len(v) for v in fp.values())} files in {len(fp)} runs")
        return 1 if diff else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
