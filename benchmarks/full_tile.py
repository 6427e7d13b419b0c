#!/usr/bin/env python3
"""Full-tile benchmark of ``L2A_Process.py`` (issue 7): wall, CPU, peak RSS, per-stage time and the I/O floor.

Why: Sen2Cor is known for 30-45 min and GBs per tile; our target is <= 3 min and <= 4 GB on a 2-core machine
at 10 m, within 2x of the unavoidable JPEG 2000 work. This script makes those numbers reproducible:

1. Simulates a Sentinel-2 L1C (``python -m sen2cor3.simulate``, 6S forward model, all 13 bands) of
   ``--size`` 10 m pixels per side (10980 = a full tile) with ``--relief`` (default hills, the simulator's
   default this script always used) and caches it under ``benchmarks/cache/`` (reused when present, so only
   the first call pays for it). ``--dem`` runs with an L2A_GIPP whose ``DEM_Directory`` is the simulator's
   ``truth/dem`` (Copernicus tiles) and ``DEM_Terrain_Correction`` TRUE: the terrain per-pixel path of the
   atmospheric correction instead of the flat fast path; the product's L2A_QUALITY ``DEM_TYPE`` is reported.
2. Runs ``L2A_Process.py`` as a child process for each configuration: ``--resolution 10`` with JPEG 2000
   output (the headline), the same with ``--tif``, ``--resolution 20`` and ``--resolution 60``.
   ``--sc-only`` passes ``--sc_only`` through (then the 10 m runs are done at 20 m: Sen2Cor classifies at
   20/60 m only); use it while the atmospheric correction is not wired.
3. Measures the child from the OS: wall time, user+system CPU and peak RSS from ``os.wait4`` (``ru_maxrss`` of
   the child and any descendant it reaped), plus the peak summed RSS of the whole process tree sampled from
   ``/proc`` (catches worker processes alive at the same time, which ``ru_maxrss`` cannot add up).
4. Per stage: the ``Progress[%]`` lines of the run report (``<SEN2COR_HOME>/log/*_report.xml``, the same file
   copied into the product's ``rep_info``) with their millisecond time stamps; each step lasts until the next
   line. Steps are grouped into read / sc / ac / write / tree / metadata by their wording; start-up (imports,
   GIPPs, opening the L1C) is the time from the spawn to the first report record.
5. The I/O floor in the same invocation: decode every L1C band with GDAL (2 threads, as the processor;
   10 m bands read at reduced resolution from the codestream when the run's finest resolution is coarser)
   plus encode every image the run wrote (IMG_DATA and MSK_CLDPRB/SNWPRB) with
   ``sen2cor3.io.writers.write_raster`` and the same format/settings. The processor cannot be faster than this
   without changing codecs; the target is ``wall_s <= 2 x io_floor_s``.

Usage (from the project root)::

    .venv/bin/python benchmarks/full_tile.py                      # full tile, all four runs
    .venv/bin/python benchmarks/full_tile.py --size 5490,7764,10980 --runs r10_jp2   # 1/4, 1/2, full pixels
    .venv/bin/python benchmarks/full_tile.py --size 1098 --sc-only --json           # quick check
    .venv/bin/python benchmarks/full_tile.py --runs r10_jp2 --dem                   # full tile, terrain path

With ``--json`` the last stdout line is one JSON object: ``wall_s``, ``cpu_s``, ``peak_rss_gb``,
``io_floor_s``, ``stages`` (seconds) of the headline run (10 m JP2, or the first run made), ``relief``,
``dem``, and ``runs`` with every run's figures (``by_size`` too when several sizes are given). Exit status 1 if
a run failed, or if a ``--dem`` run's L2A_QUALITY says no DEM was used.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_CACHE = ROOT / "benchmarks" / "cache"
FULL_TILE = 10980
RELIEFS = ("flat", "hills", "mountains")
#: The simulator's default relief, which this script simulated before ``--relief`` existed: its cache keeps
#: the old name ``l1c_<size>_seed<seed>``; the others get a ``_<relief>`` suffix.
DEFAULT_RELIEF = "hills"

#: Runs: ``r<finest resolution>_<jp2|tif>``; the default set of issue 7.
RUNS = ("r10_jp2", "r10_tif", "r20_jp2", "r60_jp2")
HEADLINE = "r10_jp2"


def run_flags(name: str, sc_only: bool) -> tuple[str, list[str], int]:
    """(effective run name, L2A_Process.py flags, finest resolution); --sc_only turns 10 m into 20 m runs."""
    m = re.fullmatch(r"r(10|20|60)_(jp2|tif)", name)
    if not m:
        raise ValueError(name)
    res = int(m.group(1))
    if sc_only and res == 10:                      # Sen2Cor classifies at 20/60 m only
        res = 20
    flags = ["--resolution", str(res)] + (["--tif"] if m.group(2) == "tif" else []) + \
            (["--sc_only"] if sc_only else [])
    return f"r{res}_{m.group(2)}", flags, res
BAND_RES = {"B01": 60, "B02": 10, "B03": 10, "B04": 10, "B05": 20, "B06": 20, "B07": 20, "B08": 10,
            "B8A": 20, "B09": 60, "B10": 60, "B11": 20, "B12": 20}
#: Progress-step wording -> stage (first match wins; lower-case substring tests).
STAGE_WORDS = (("read", "read"), ("import", "read"), ("scene class", "sc"), ("classif", "sc"),
               ("atmospher", "ac"), ("aot", "ac"), ("water vapour", "ac"), ("correct", "ac"),
               ("metadata", "metadata"), ("product tree", "tree"), ("writ", "write"), ("export", "write"))


def log(msg: str) -> None:
    print(f"[full_tile] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------ the input

def cached_l1c(size: int, cache: Path, seed: int, relief: str = DEFAULT_RELIEF) -> tuple[Path, float | None]:
    """The simulated L1C SAFE of ``size`` px (simulated on first use); returns (path, simulation seconds).
    The simulator's truth (with ``truth/dem`` when there is relief) is next to the SAFE.

    The simulation goes to a private ``.partial`` folder that is renamed into place complete (with its
    ``COMPLETE`` marker inside), so an interrupted or concurrent benchmark never sees half a product."""
    tag = f"l1c_{size}_seed{seed}" + ("" if relief == DEFAULT_RELIEF else f"_{relief}")
    folder = cache / tag
    done = folder / "COMPLETE"
    if done.exists():
        safe = folder / done.read_text().strip()
        if (safe / "MTD_MSIL1C.xml").exists():
            return safe, None
    if size % 6:
        raise SystemExit(f"--size {size}: the simulator needs a multiple of 6 (e.g. 1098, 2196, 5490, 7764, 10980)")
    partial = Path(tempfile.mkdtemp(prefix=f".{tag}.", suffix=".partial", dir=cache))
    log(f"simulating a {size} x {size} px L1C, relief {relief} (first use; cached in {folder}) ...")
    t0 = time.perf_counter()
    try:
        res = subprocess.run([sys.executable, "-m", "sen2cor3.simulate", str(partial), "--size", str(size),
                              "--seed", str(seed), "--relief", relief], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        if res.returncode != 0:
            raise SystemExit(f"simulation failed (exit {res.returncode})")
        seconds = time.perf_counter() - t0
        safe_name = Path(res.stdout.strip().splitlines()[-1]).name
        (partial / "COMPLETE").write_text(safe_name + "\n")
        if folder.exists() and not done.exists():
            shutil.rmtree(folder)                    # a broken entry from an older version of this script
        try:
            os.rename(partial, folder)
        except OSError:                              # a concurrent benchmark finished first: use its copy
            if not done.exists():
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    log(f"simulated in {seconds:.1f} s")
    return folder / done.read_text().strip(), seconds


def dem_gipp(l1c: Path, out: Path) -> Path:
    """An L2A_GIPP (the shipped one) whose DEM is the simulator's ``truth/dem`` next to ``l1c``, with terrain
    correction on (as ``benchmarks/s2_fingerprint.py`` and ``accuracy_grid.py`` do)."""
    dem_dir = l1c.parent / "truth" / "dem"
    if not any(dem_dir.glob("*.tif")):
        raise SystemExit(f"--dem: no DEM tiles in {dem_dir} (a flat simulation has none; use --relief hills)")
    text = (ROOT / "sen2cor3" / "cfg" / "L2A_GIPP.xml").read_text()
    for old, new in (("<DEM_Directory>NONE</DEM_Directory>", f"<DEM_Directory>{dem_dir}</DEM_Directory>"),
                     ("<DEM_Reference>NONE</DEM_Reference>", "<DEM_Reference>CDSE-GLO-30</DEM_Reference>"),
                     ("<DEM_Terrain_Correction>FALSE</DEM_Terrain_Correction>",
                      "<DEM_Terrain_Correction>TRUE</DEM_Terrain_Correction>")):
        if old not in text:
            raise SystemExit(f"--dem: {old} not in the shipped L2A_GIPP.xml")
        text = text.replace(old, new)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return out


# ------------------------------------------------------------------------------------- measuring a run

@dataclass
class RunResult:
    """What one ``L2A_Process.py`` run cost."""
    name: str
    flags: list[str]
    status: int
    wall_s: float
    cpu_s: float
    user_s: float
    sys_s: float
    peak_rss_gb: float
    peak_rss_tree_gb: float
    startup_s: float | None = None
    steps: list[dict] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)
    io_floor_s: float | None = None
    io_decode_s: float | None = None
    io_encode_s: float | None = None
    outputs: int = 0
    output_mb: float = 0.0
    product: str | None = None
    error: str | None = None
    dem_type: str | None = None                   # L2A_QUALITY DEM_TYPE (NA: no DEM used)
    load_start: float | None = None               # 1-min load average at the spawn / highest sampled / at exit
    load_max: float | None = None
    load_end: float | None = None


def _tree_rss_bytes(root_pid: int) -> int:
    """Summed RSS of ``root_pid`` and its descendants (from /proc; 0 once gone)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        rss[pid] = int(fields[21]) * page
    total, todo = 0, [root_pid]
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


#: ``--stand-in-atmosphere``: L2A_Process.py with the synthetic atmosphere of ``sen2cor3.ac.synthetic`` instead
#: of the 6S tables (same code path and cost; for profiling before the tables exist, not for results).
STAND_IN = ("import sys, sen2cor3.ac.correct as c; from sen2cor3.ac import synthetic; "
            "c.AtmosphereModel = lambda sensor, aerosol, season, ozone: synthetic.model(aerosol, season, ozone); "
            "from sen2cor3.cli import main; sys.exit(main(sys.argv[1:]))")


def run_l2a(name: str, flags: list[str], l1c: Path, out_dir: Path, home: Path,
            stand_in: bool = False) -> RunResult:
    """Run ``L2A_Process.py flags --output_dir out_dir l1c`` and measure it from the OS."""
    out_dir.mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    entry = ["-c", STAND_IN] if stand_in else [str(ROOT / "L2A_Process.py")]
    cmd = [sys.executable, *entry, *flags, "--output_dir", str(out_dir), str(l1c)]
    env = dict(os.environ, SEN2COR_HOME=str(home))
    console = open(home / "console.txt", "w")
    t_spawn = time.time()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=console, stderr=subprocess.STDOUT)
    peak_tree = 0
    load_start = load_max = os.getloadavg()[0]
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak_tree, load_max
        while not stop.wait(0.2):
            peak_tree = max(peak_tree, _tree_rss_bytes(proc.pid))
            load_max = max(load_max, os.getloadavg()[0])

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, wait_status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    stop.set()
    sampler.join()
    console.close()
    proc.returncode = os.waitstatus_to_exitcode(wait_status)   # reaped here: keep Popen consistent
    gb = 1024.0 ** 3
    result = RunResult(name=name, flags=flags, status=proc.returncode, wall_s=round(wall, 3),
                       cpu_s=round(usage.ru_utime + usage.ru_stime, 3), user_s=round(usage.ru_utime, 3),
                       sys_s=round(usage.ru_stime, 3), peak_rss_gb=round(usage.ru_maxrss * 1024 / gb, 3),
                       peak_rss_tree_gb=round(max(peak_tree, usage.ru_maxrss * 1024) / gb, 3),
                       load_start=round(load_start, 2), load_max=round(load_max, 2),
                       load_end=round(os.getloadavg()[0], 2))
    products = [p for p in out_dir.glob("*.SAFE") if not p.name.startswith(".")]
    if proc.returncode != 0 or len(products) != 1:
        lines = (home / "console.txt").read_text(errors="replace").strip().splitlines()
        result.error = next((ln for ln in reversed(lines) if "rror" in ln and "Progress" not in ln),
                            lines[-1] if lines else "no output")
    if products:
        result.product = str(products[0])
        result.dem_type = quality_dem_type(products[0])
    reports = sorted((home / "log").glob("*_report.xml"), key=lambda p: p.stat().st_mtime)
    if reports:
        result.startup_s, result.steps, result.stages = parse_report(reports[-1], t_spawn, t_spawn + wall)
    return result


def quality_dem_type(product: Path) -> str | None:
    """DEM_TYPE of the product's L2A_QUALITY report (``NA`` when the run used no DEM), None if absent."""
    for path in product.glob("GRANULE/*/QI_DATA/L2A_QUALITY.xml"):
        m = re.search(r'<value name="DEM_TYPE">\s*([^<]*?)\s*</value>', path.read_text(errors="replace"))
        if m:
            return m.group(1)
    return None


_PROGRESS = re.compile(r"Progress\[%\]:\s*([\d.]+)\s*:\s*(.*)")


def parse_report(report: Path, t_spawn: float, t_end: float) -> tuple[float | None, list[dict], dict]:
    """(start-up seconds, progress steps with durations, seconds per stage) from a Sen2Cor run report."""
    from lxml import etree
    root = etree.parse(str(report)).getroot()
    records = []
    for check in root.iter("check"):
        insp = check.find("inspection")
        msg = check.findtext("message") or ""
        if insp is None:
            continue
        when = datetime.strptime(insp.get("execution"), "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=timezone.utc)
        records.append((when.timestamp(), msg))
    if not records:
        return None, [], {}
    startup = records[0][0] - t_spawn
    marks = [(t, m.group(2).strip()) for t, msg in records if (m := _PROGRESS.search(msg))]
    steps, stages = [], {}
    for i, (t, step) in enumerate(marks):
        if step.startswith("Application terminated"):
            break
        t_next = marks[i + 1][0] if i + 1 < len(marks) else records[-1][0]
        seconds = max(0.0, t_next - t)
        stage = next((s for word, s in STAGE_WORDS if word in step.lower()), "other")
        steps.append({"step": step, "stage": stage, "s": round(seconds, 3)})
        stages[stage] = round(stages.get(stage, 0.0) + seconds, 3)
    stages["startup"] = round(max(0.0, startup), 3)
    stages["shutdown"] = round(max(0.0, t_end - records[-1][0]), 3)
    return round(startup, 3), steps, stages


# ------------------------------------------------------------------------------------------ I/O floor

def decode_floor(l1c: Path, finest_m: int, sc_only: bool) -> float:
    """Seconds to decode every L1C band as a run at ``finest_m`` needs it (GDAL threads as the L1C reader)."""
    from osgeo import gdal
    from sen2cor3.io.raster import gdal_config, gdal_threads
    coarsest_needed = 20 if sc_only and finest_m < 20 else finest_m
    total = 0.0
    for band, native in BAND_RES.items():
        path = next(l1c.glob(f"GRANULE/*/IMG_DATA/*_{band}.jp2"))
        ds = gdal.Open(str(path))
        factor = max(1, coarsest_needed // native)
        bx, by = ds.RasterXSize // factor, ds.RasterYSize // factor
        with gdal_config(GDAL_NUM_THREADS=gdal_threads(None)):
            t0 = time.perf_counter()
            arr = ds.GetRasterBand(1).ReadAsArray(buf_xsize=bx, buf_ysize=by)
            total += time.perf_counter() - t0
        assert arr is not None and arr.shape == (by, bx), path
        del arr
        ds = None
    return total


def produced_images(product: Path) -> list[Path]:
    """Images the run encoded itself (not the L1C masks it copies)."""
    granule = product / "GRANULE"
    images = [p for p in granule.glob("*/IMG_DATA/**/*") if p.suffix in (".jp2", ".tif", ".rawl")]
    images += [p for p in granule.glob("*/QI_DATA/*") if p.suffix in (".jp2", ".tif")
               and re.match(r"MSK_(CLDPRB|SNWPRB)_", p.name)]
    return sorted(images)


def encode_floor(product: Path, scratch: Path, tif: bool) -> tuple[float, int, float]:
    """Seconds to re-encode every produced image with ``write_raster`` and the same settings; (s, n, MB)."""
    from osgeo import gdal
    from sen2cor3.io.writers import write_raster
    scratch.mkdir(parents=True, exist_ok=True)
    total, count, mb = 0.0, 0, 0.0
    for path in produced_images(product):
        ds = gdal.Open(str(path))
        arr = ds.ReadAsArray()
        gt = ds.GetGeoTransform()
        srs = ds.GetSpatialRef()
        epsg = int(srs.GetAuthorityCode(None)) if srs is not None and srs.GetAuthorityCode(None) else 32632
        ds = None
        is_scl = "_SCL_" in path.name
        fmt = "JP2" if path.suffix == ".jp2" else ("ENVI" if path.suffix == ".rawl" else "GTiff")
        if is_scl and path.suffix == ".tif" and not tif:
            fmt = "COG"
        t0 = time.perf_counter()
        written = write_raster(scratch / path.stem, arr, geotransform=gt, epsg=epsg, fmt=fmt, categorical=is_scl)
        total += time.perf_counter() - t0
        count += 1
        mb += path.stat().st_size / 1e6
        written.unlink()
        del arr
    shutil.rmtree(scratch, ignore_errors=True)
    return total, count, round(mb, 1)


# ----------------------------------------------------------------------------------------------- main

def drop_caches() -> None:
    """Cold-cache runs (root only): what a fresh L1C from disk costs."""
    subprocess.run(["sync"], check=False)
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError as exc:
        log(f"cannot drop the page cache ({exc.strerror}); measuring warm")


def bench_size(size: int, args: argparse.Namespace) -> dict:
    l1c, sim_s = cached_l1c(size, args.cache, args.seed, args.relief)
    work = Path(tempfile.mkdtemp(prefix=f"run_{size}_", dir=args.cache))
    results: list[RunResult] = []
    try:
        gipp = ["--GIP_L2A", str(dem_gipp(l1c, work / "L2A_GIPP_dem.xml"))] if args.dem else []
        plan = {}
        for requested in args.runs:                # dict: --sc-only may map two names to one run
            name, flags, finest = run_flags(requested, args.sc_only)
            plan.setdefault(name, (flags + gipp, finest))
        for name, (flags, finest) in plan.items():
            if args.drop_caches:
                drop_caches()
            log(f"{size} px {name} (relief {args.relief}{', DEM' if args.dem else ''}): "
                f"L2A_Process.py {' '.join(flags)}")
            res = run_l2a(name, flags, l1c, work / name / "out", work / name / "home",
                          stand_in=args.stand_in_atmosphere)
            if args.dem and res.status == 0 and res.dem_type in (None, "NA"):
                res.status, res.error = 1, f"--dem run, but L2A_QUALITY DEM_TYPE is {res.dem_type}"
            if res.status == 0 and res.product and not args.no_io_floor:
                if args.drop_caches:
                    drop_caches()
                res.io_decode_s = round(decode_floor(l1c, finest, args.sc_only), 3)
                enc, res.outputs, res.output_mb = encode_floor(Path(res.product), work / name / "floor",
                                                               tif="--tif" in flags)
                res.io_encode_s = round(enc, 3)
                res.io_floor_s = round(res.io_decode_s + res.io_encode_s, 3)
            log(summary_line(res))
            results.append(res)
            if not args.keep:
                shutil.rmtree(work / name, ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"run folders kept in {work}")
    return {"size": size, "megapixels_10m": round(size * size / 1e6, 3), "simulation_s": sim_s,
            "relief": args.relief, "dem": args.dem, "l1c": str(l1c), "runs": {r.name: asdict(r) for r in results}}


def summary_line(r: RunResult) -> str:
    if r.status != 0:
        return f"{r.name}: FAILED (exit {r.status}): {r.error}"
    floor = f", I/O floor {r.io_floor_s:.1f} s (decode {r.io_decode_s:.1f} + encode {r.io_encode_s:.1f}), " \
            f"ratio {r.wall_s / r.io_floor_s:.2f}" if r.io_floor_s else ""
    stages = " ".join(f"{k}={v:.1f}" for k, v in r.stages.items())
    return (f"{r.name}: wall {r.wall_s:.1f} s, CPU {r.cpu_s:.1f} s, peak RSS {r.peak_rss_gb:.2f} GB "
            f"(tree {r.peak_rss_tree_gb:.2f}){floor}; DEM_TYPE {r.dem_type}; load {r.load_start:.2f} "
            f"(max {r.load_max:.2f}, end {r.load_end:.2f}); stages: {stages}")


def print_table(by_size: list[dict]) -> None:
    print(f"{'size':>6} {'run':8} {'dem':>4} {'wall s':>8} {'cpu s':>8} {'RSS GB':>7} {'floor s':>8} {'x floor':>7} "
          f"{'s/Mpx':>7}  stages (s)")
    for entry in by_size:
        for name, r in entry["runs"].items():
            if r["status"] != 0:
                print(f"{entry['size']:>6} {name:8} {'':>4} FAILED: {r['error']}")
                continue
            floor = r["io_floor_s"]
            ratio = f"{r['wall_s'] / floor:7.2f}" if floor else f"{'-':>7}"
            stages = " ".join(f"{k}={v:.1f}" for k, v in r["stages"].items())
            dem = "-" if r["dem_type"] in (None, "NA") else "yes"
            print(f"{entry['size']:>6} {name:8} {dem:>4} {r['wall_s']:8.1f} {r['cpu_s']:8.1f} {r['peak_rss_gb']:7.2f} "
                  f"{floor if floor is not None else float('nan'):8.1f} {ratio} "
                  f"{r['wall_s'] / entry['megapixels_10m']:7.2f}  {stages}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", default=str(FULL_TILE),
                   help="tile side in 10 m pixels, multiple of 6; comma list for a linearity series "
                        "(5490 = 1/4 and 7764 = 1/2 of the pixels of 10980)")
    p.add_argument("--runs", default=",".join(RUNS),
                   help=f"comma list of r<10|20|60>_<jp2|tif> (default {','.join(RUNS)})")
    p.add_argument("--sc-only", action="store_true", help="pass --sc_only (10 m runs become 20 m runs)")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="simulated L1C cache and run scratch")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--relief", choices=RELIEFS, default=DEFAULT_RELIEF,
                   help=f"simulated relief (default {DEFAULT_RELIEF}, cached as l1c_<size>_seed<seed>; "
                        "others get a _<relief> suffix)")
    p.add_argument("--dem", action="store_true",
                   help="run with a GIPP pointing DEM_Directory at the simulated DEM, terrain correction on")
    p.add_argument("--no-io-floor", action="store_true", help="skip the decode/encode floor measurement")
    p.add_argument("--drop-caches", action="store_true", help="drop the page cache before each run (root)")
    p.add_argument("--keep", action="store_true", help="keep the L2A products and logs")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.add_argument("--stand-in-atmosphere", action="store_true",
                   help="use sen2cor3.ac.synthetic instead of the 6S tables (profiling only; flagged in --json)")
    args = p.parse_args(argv)
    args.runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    unknown = [r for r in args.runs if not re.fullmatch(r"r(10|20|60)_(jp2|tif)", r)]
    if unknown:
        p.error(f"unknown run(s) {unknown}; use r<10|20|60>_<jp2|tif>")
    if args.dem and args.relief == "flat":
        p.error("--dem needs relief (the simulator writes no DEM for --relief flat)")
    sizes = [int(s) for s in args.size.split(",")]
    args.cache.mkdir(parents=True, exist_ok=True)

    by_size = [bench_size(size, args) for size in sizes]
    print_table(by_size)
    last = by_size[-1]
    headline_name = run_flags(HEADLINE, args.sc_only)[0]
    if headline_name not in last["runs"]:
        headline_name = next(iter(last["runs"]))
    head = last["runs"][headline_name]
    failed = any(r["status"] != 0 for e in by_size for r in e["runs"].values())
    if args.json:
        summary = {"size": last["size"], "headline": headline_name, "sc_only": args.sc_only,
                   "wall_s": head["wall_s"], "cpu_s": head["cpu_s"], "peak_rss_gb": head["peak_rss_gb"],
                   "peak_rss_tree_gb": head["peak_rss_tree_gb"], "io_floor_s": head["io_floor_s"],
                   "io_decode_s": head["io_decode_s"], "io_encode_s": head["io_encode_s"],
                   "stages": head["stages"], "status": head["status"], "runs": last["runs"],
                   "relief": args.relief, "dem": args.dem, "dem_type": head["dem_type"],
                   "load": [head["load_start"], head["load_max"], head["load_end"]],
                   "cpus": os.cpu_count(), "stand_in_atmosphere": args.stand_in_atmosphere}
        if len(by_size) > 1:
            summary["by_size"] = by_size
        print(json.dumps(summary, separators=(",", ":")))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
