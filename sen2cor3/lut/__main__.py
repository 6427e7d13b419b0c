"""CLI: ``python -m sen2cor3.lut {runs,build,check} ...``."""
from __future__ import annotations

import argparse
import sys
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sen2cor3.lut")
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("runs", "build"):
        p = sub.add_parser(name, help="run 6S (cached)" + (" and write the tables" if name == "build" else ""))
        p.add_argument("--sensors", default="S2A,S2B,S2C,L8,L9")
        p.add_argument("--quick", action="store_true", help="coarse grid (pipeline smoke test)")
        p.add_argument("--processes", type=int, default=2)
    c = sub.add_parser("check", help="compare tables with direct band-integrated 6S runs")
    c.add_argument("--n", type=int, default=20)
    c.add_argument("--sensor", default="S2A")
    c.add_argument("--seed", type=int, default=1)
    c.add_argument("--processes", type=int, default=2)
    a = ap.parse_args(argv)
    t0 = time.time()
    log = lambda m: print(f"[{time.time() - t0:7.1f} s] {m}", flush=True)  # noqa: E731
    if a.cmd in ("runs", "build"):
        from .build import run_all
        sensors = [s.strip().upper() for s in a.sensors.split(",") if s.strip()]
        run_all(sensors, a.quick, a.processes, log)
        if a.cmd == "build":
            from .build import build
            build(sensors, a.quick, log)
    else:
        from .check import check
        check(a.sensor.upper(), a.n, a.seed, a.processes, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
