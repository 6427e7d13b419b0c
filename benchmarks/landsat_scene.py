#!/usr/bin/env python3
"""Full-scene benchmark of the Landsat path (issue 12): wall, CPU and peak RSS of ``L2A_Process.py`` on a C2 L1TP
scene of about 7700 x 7700 px at 30 m.

The 6S-driven simulator cannot hold a 185 km scene at its internal 10 m grid, so the input is a simulated C2 L1TP
product (``python -m sen2cor3.simulate --spacecraft L8``, ``--size`` 10 m pixels) repeated ``--repeat`` times in
each direction: every band, QA and angle raster is tiled, the MTL's line/sample counts and corners follow. The
pixels repeat, the work per pixel is that of a real scene (no shortcut sees the repetition). Both the whole scene
(Region_Of_Interest OFF) and sen2like's 4000 x 4000 window are run by default.

    .venv/bin/python benchmarks/landsat_scene.py [--size 1098] [--repeat 21] [--runs full,roi4000] [--json]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CACHE = ROOT / "benchmarks" / "cache"


def simulate(size: int, seed: int) -> Path:
    out = CACHE / f"landsat_{size}_seed{seed}"
    done = out / ".product"
    if not done.exists():
        from sen2cor3.simulate import cli as sim_cli
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert sim_cli.main([str(out), "--spacecraft", "L8", "--size", str(size), "--seed", str(seed),
                                 "--relief", "hills"]) == 0
        done.write_text(buf.getvalue().strip().splitlines()[-1])
    return Path(done.read_text())


def tile_product(src: Path, repeat: int) -> Path:
    """``src`` repeated ``repeat`` x ``repeat`` times (cached)."""
    from osgeo import gdal
    dst = CACHE / f"{src.name}_x{repeat}" / src.name
    if (dst / ".complete").exists():
        return dst
    if dst.parent.exists():
        shutil.rmtree(dst.parent)
    dst.mkdir(parents=True)
    lines = samples = None
    for p in sorted(src.iterdir()):
        if p.suffix.upper() != ".TIF":
            continue
        ds = gdal.Open(str(p))
        a = ds.ReadAsArray()
        big = np.tile(a, (repeat, repeat))
        drv = gdal.GetDriverByName("GTiff")
        out = drv.Create(str(dst / p.name), big.shape[1], big.shape[0], 1,
                         ds.GetRasterBand(1).DataType, ["COMPRESS=DEFLATE", "TILED=YES", "BIGTIFF=YES"])
        out.SetGeoTransform(ds.GetGeoTransform())
        out.SetProjection(ds.GetProjection())
        out.GetRasterBand(1).WriteArray(big)
        out = None
        if p.name.endswith("_B4.TIF"):
            lines, samples = big.shape
    gt = gdal.Open(str(src / f"{src.name}_B4.TIF")).GetGeoTransform()
    text = (src / f"{src.name}_MTL.txt").read_text()
    pan = (2 * lines - 1, 2 * samples - 1)
    for key, value in (("REFLECTIVE_LINES", lines), ("REFLECTIVE_SAMPLES", samples), ("THERMAL_LINES", lines),
                       ("THERMAL_SAMPLES", samples), ("PANCHROMATIC_LINES", pan[0]),
                       ("PANCHROMATIC_SAMPLES", pan[1])):
        text = re.sub(rf"(\b{key} = )\d+", rf"\g<1>{value}", text)
    x0, y0 = gt[0] + gt[1] / 2, gt[3] + gt[5] / 2           # MTL corners are pixel centres
    x1, y1 = x0 + (samples - 1) * gt[1], y0 + (lines - 1) * gt[5]
    for corner, (x, y) in (("UL", (x0, y0)), ("UR", (x1, y0)), ("LL", (x0, y1)), ("LR", (x1, y1))):
        text = re.sub(rf"(CORNER_{corner}_PROJECTION_X_PRODUCT = )[-\d.]+", rf"\g<1>{x:.3f}", text)
        text = re.sub(rf"(CORNER_{corner}_PROJECTION_Y_PRODUCT = )[-\d.]+", rf"\g<1>{y:.3f}", text)
    (dst / f"{src.name}_MTL.txt").write_text(text)
    shutil.copy(src / f"{src.name}_ANG.txt", dst)
    (dst / ".complete").write_text("")
    return dst


def measure(cmd: list[str], env: dict) -> dict:
    """Wall, CPU and peak RSS (the child's ru_maxrss and the sampled tree sum) of one run."""
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    peak = [0]

    def sample():
        while proc.poll() is None:
            try:
                with open(f"/proc/{proc.pid}/status") as f:
                    rss = next(int(ln.split()[1]) for ln in f if ln.startswith("VmRSS"))
                peak[0] = max(peak[0], rss)
            except (OSError, StopIteration):
                pass
            time.sleep(0.2)
    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out = proc.stdout.read()
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    th.join(1)
    return {"status": proc.returncode, "wall_s": round(time.time() - t0, 1),
            "cpu_s": round(ru.ru_utime + ru.ru_stime, 1), "peak_rss_gb": round(ru.ru_maxrss / 1024 ** 2, 2),
            "tail": out.strip().splitlines()[-2:]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=1098, help="10 m pixels of the simulated piece (default 1098)")
    p.add_argument("--repeat", type=int, default=21, help="repetitions per direction (default 21: 7686 px)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--runs", default="full,roi4000")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    CACHE.mkdir(parents=True, exist_ok=True)
    scene = tile_product(simulate(a.size, a.seed), a.repeat)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEN2COR")}
    results = {}
    for run in a.runs.split(","):
        work = CACHE / f"landsat_run_{run}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        cmd = [sys.executable, str(ROOT / "L2A_Process.py"), str(scene), "--output_dir", str(work / "out"),
               "--work_dir", str(work / "log")]
        if run.startswith("roi"):
            n = int(run[3:])
            text = (ROOT / "sen2cor3" / "cfg" / "L2A_GIPP.xml").read_text()
            half = int(re.search(r"REFLECTIVE_LINES = (\d+)", (scene / f"{scene.name}_MTL.txt").read_text())
                       .group(1)) // 2
            for key, value in (("row0", half), ("col0", half), ("nrow_win", n), ("ncol_win", n)):
                text = re.sub(rf"<{key}>\w+</{key}>", f"<{key}>{value}</{key}>", text)
            (work / "gipp.xml").write_text(text)
            cmd += ["--GIP_L2A", str(work / "gipp.xml")]
        results[run] = measure(cmd, env)
        shutil.rmtree(work / "out", ignore_errors=True)
        print(f"[landsat_scene] {run}: {results[run]}", file=sys.stderr)
    lines = int(re.search(r"REFLECTIVE_LINES = (\d+)", (scene / f"{scene.name}_MTL.txt").read_text()).group(1))
    summary = {"scene_px": lines, "runs": results}
    print(json.dumps(summary) if a.json else summary)
    return 0 if all(r["status"] == 0 for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
