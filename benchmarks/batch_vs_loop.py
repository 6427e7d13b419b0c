#!/usr/bin/env python3
"""Issue 15 benchmark: ``python -m sen2cor3.batch`` versus a plain sequential shell loop over L2A_Process.py.

Inputs: one simulated L1C of ``--size`` px (cached by ``full_tile.cached_l1c`` in ``benchmarks/cache``) and
``--products - 1`` copies of it under other relative-orbit numbers (hard links: same pixels, same cost, distinct
L2A names). Then, on the same inputs and options (``--l2a-args``, default none: 20 + 10 m, JPEG 2000):

1. the loop: ``bash -c 'for p in ...; do python L2A_Process.py "$p" --output_dir D1; done'``;
2. the batch: ``python -m sen2cor3.batch INPUTS --output_dir D2`` (its default local cluster, sized by itself,
   or ``--workers``).

``--repeat`` alternates the order (loop first, then batch first, ...) and reports medians of the walls.
Each is one process tree; the script samples its summed RSS from /proc every 0.2 s (``full_tile``'s sampler)
and measures the makespan (wall). Reported: both makespans, their ratio (loop / batch: > 1 means the batch is
faster), both trees' peak RSS, the batch's own sizing (workers, available RAM, per-product GB) and whether the
batch tree stayed within the RAM it sized itself for, and the per-product wall / peak RSS from
``batch_summary.json``.

    .venv/bin/python benchmarks/batch_vs_loop.py --size 1098 --products 3       # quick (~ minutes)
    .venv/bin/python benchmarks/batch_vs_loop.py --size 5490 --products 6       # the issue's 6 quarter tiles
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from full_tile import DEFAULT_CACHE, _tree_rss_bytes, cached_l1c  # noqa: E402

GB = 1024 ** 3


def log(msg: str) -> None:
    print(f"[batch_vs_loop] {msg}", file=sys.stderr, flush=True)


def make_inputs(size: int, seed: int, n: int, cache: Path) -> list[Path]:
    """The simulated L1C plus n - 1 hard-linked copies named with other relative orbits (R201, R202, ...)."""
    safe, _ = cached_l1c(size, cache, seed)
    folder = cache / f"batch_inputs_{size}_seed{seed}_n{n}"
    folder.mkdir(parents=True, exist_ok=True)
    orbit = re.search(r"_R\d{3}_", safe.name).group(0)
    inputs = []
    for i in range(n):
        name = safe.name if i == 0 else safe.name.replace(orbit, f"_R{200 + i:03d}_")
        dest = folder / name
        if not (dest / "MTD_MSIL1C.xml").is_file():
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(safe, dest, copy_function=os.link)
        inputs.append(dest)
    return inputs


def run_tree(cmd: list[str], stderr_path: Path) -> dict:
    """Run ``cmd`` (one process tree); wall time, exit status and the peak summed RSS of the tree."""
    peak = 0
    t0 = time.perf_counter()
    with open(stderr_path, "w") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True)
        stop = threading.Event()

        def sample():
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, _tree_rss_bytes(proc.pid))
                stop.wait(0.2)
        t = threading.Thread(target=sample, daemon=True)
        t.start()
        stdout, _ = proc.communicate()
        stop.set()
        t.join()
    return {"wall_s": round(time.perf_counter() - t0, 2), "status": proc.returncode,
            "peak_rss_tree_gb": round(peak / GB, 3), "stdout": stdout}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=1098, help="10 m pixels per side of each product (default 1098)")
    ap.add_argument("--products", type=int, default=3, help="number of products (default 3)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, help="passed to the batch (default: its own sizing)")
    ap.add_argument("--memory-per-product", type=float, help="passed to the batch")
    ap.add_argument("--l2a-args", default="", help='L2A_Process options for both, e.g. "--resolution 20"')
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--keep", action="store_true", help="keep the output products")
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds (loop then batch, then batch then loop, ...); medians are reported")
    ap.add_argument("--json", type=Path, help="also write the result here")
    args = ap.parse_args(argv)

    args.cache.mkdir(parents=True, exist_ok=True)
    inputs = make_inputs(args.size, args.seed, args.products, args.cache)
    l2a = shlex.split(args.l2a_args)
    work = args.cache / f"batch_vs_loop_{args.size}_n{args.products}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    load = os.getloadavg()
    log(f"{len(inputs)} products of {args.size} px, load average {load[0]:.2f} before the runs")

    py = sys.executable
    loop_out = work / "loop"
    script = (f"for p in {' '.join(shlex.quote(str(p)) for p in inputs)}; do "
              f"{shlex.quote(py)} L2A_Process.py \"$p\" --output_dir {shlex.quote(str(loop_out))} "
              f"{' '.join(shlex.quote(a) for a in l2a)} > /dev/null || echo FAILED \"$p\" >&2; done")
    batch_out = work / "batch"
    cmd = [py, "-m", "sen2cor3.batch", *map(str, inputs), "--output_dir", str(batch_out), *l2a]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    if args.memory_per_product:
        cmd += ["--memory-per-product", str(args.memory_per_product)]

    rounds: list[dict] = []
    for r in range(max(1, args.repeat)):
        order = ("loop", "batch") if r % 2 == 0 else ("batch", "loop")
        got = {}
        for which in order:
            shutil.rmtree(loop_out if which == "loop" else batch_out, ignore_errors=True)
            load1 = os.getloadavg()[0]
            log(f"round {r + 1}: {which} (load average {load1:.2f}) ...")
            if which == "loop":
                got["loop"] = run_tree(["bash", "-c", script], work / "loop.stderr")
            else:
                got["batch"] = run_tree(cmd, work / "batch.stderr")
            got[which]["load_before"] = round(load1, 2)
            log(f"{which}: {got[which]['wall_s']} s, tree peak {got[which]['peak_rss_tree_gb']} GB")
        rounds.append(got)

    def median(values):
        v = sorted(values)
        return v[len(v) // 2] if len(v) % 2 else round((v[len(v) // 2 - 1] + v[len(v) // 2]) / 2, 2)
    loop = {"wall_s": median([g["loop"]["wall_s"] for g in rounds]),
            "peak_rss_tree_gb": max(g["loop"]["peak_rss_tree_gb"] for g in rounds)}
    batch = {"wall_s": median([g["batch"]["wall_s"] for g in rounds]),
             "peak_rss_tree_gb": max(g["batch"]["peak_rss_tree_gb"] for g in rounds),
             "status": max(g["batch"]["status"] for g in rounds)}

    sizing = re.search(r"local Dask cluster: (\d+) workers .*?, ([\d.]+) GB available, ([\d.]+) GB per product",
                       (work / "batch.stderr").read_text())
    rows = json.loads((batch_out / "batch_summary.json").read_text()) if (batch_out / "batch_summary.json").exists() \
        else []
    loop_products = sorted(p.name for p in loop_out.iterdir() if p.is_dir()) if loop_out.is_dir() else []
    result = {
        "size": args.size, "products": len(inputs), "l2a_args": l2a, "load_before": round(load[0], 2),
        "rounds": [{k: {"wall_s": v["wall_s"], "peak_rss_tree_gb": v["peak_rss_tree_gb"],
                        "load_before": v["load_before"]} for k, v in g.items()} for g in rounds],
        "loop_wall_s": loop["wall_s"], "loop_peak_rss_tree_gb": loop["peak_rss_tree_gb"],
        "loop_products_ok": len(loop_products),
        "batch_wall_s": batch["wall_s"], "batch_peak_rss_tree_gb": batch["peak_rss_tree_gb"],
        "batch_exit": batch["status"],
        "batch_products_ok": sum(r["status"] == "done" for r in rows),
        "makespan_ratio_loop_over_batch": round(loop["wall_s"] / batch["wall_s"], 3) if batch["wall_s"] else None,
        "batch_workers": int(sizing.group(1)) if sizing else args.workers,
        "batch_ram_available_gb": float(sizing.group(2)) if sizing else None,
        "batch_memory_per_product_gb": float(sizing.group(3)) if sizing else None,
        "per_product": [{"input": Path(r["input"]).name, "wall_s": r["wall_s"], "peak_rss_gb": r["peak_rss_gb"]}
                        for r in rows],
    }
    if sizing:
        budget = min(result["batch_ram_available_gb"],
                     result["batch_workers"] * result["batch_memory_per_product_gb"])
        result["batch_ram_budget_gb"] = round(budget, 2)
        result["batch_within_budget"] = result["batch_peak_rss_tree_gb"] <= budget
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    if not args.keep:
        shutil.rmtree(loop_out, ignore_errors=True)
        shutil.rmtree(batch_out, ignore_errors=True)
    ok = batch["status"] == 0 and result["batch_products_ok"] == len(inputs) == len(loop_products)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
