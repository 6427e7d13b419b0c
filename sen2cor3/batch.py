"""Many products at once: ``python -m sen2cor3.batch PATH [PATH ...] --output_dir D [L2A_Process options]``.

Every input product found under the paths (Sentinel-2 L1C SAFE, Hyper MS SAFE, Landsat 8/9 C2 L1TP folders;
detected by the readers' own ``input_kind`` and reader entry points) is one Dask task; the task runs
``L2A_Process.py <product> <options>`` as a child process, so each product has its own OS process (a crash, a
memory blow-up or a signal in one never touches another) and its outputs are exactly those of a single run
(the processor stages each product in a hidden folder of D and renames it into place when complete).

Engine: ``dask.distributed``. By default a ``LocalCluster`` of single-threaded worker processes sized to the
machine (``min(cores, available RAM / per-product peak)``, the peak from ``benchmarks/README.md``), or an
existing cluster (``--scheduler tcp://HOST:PORT``). Scheduling, queueing, retries and worker-loss recovery
are Dask's: the tasks are submitted with ``retries=``, a product whose processor was killed by a signal
raises so that Dask retries it, and a lost worker's task is rescheduled by the scheduler.

Resumable: a product whose L2A (the processor's name for it, any generation time) is already a folder of D
is skipped (``--force`` redoes it and removes the older product once the new one is complete).
Results: ``D/batch_summary.json`` and ``.csv``; exit 0 only when every product succeeded or was skipped.
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

#: Peak RSS of one full Sentinel-2 tile at 10 m (benchmarks/README.md, full_tile.py: 3.8 GB), rounded up.
DEFAULT_MEMORY_PER_PRODUCT_GB = 4.0
#: Dask retries of a product whose processor process was killed (lost worker, OOM killer, SIGTERM).
DEFAULT_RETRIES = 2
SUMMARY_NAME = "batch_summary"
EVENT_TOPIC = "sen2cor3-batch-started"
#: The processor's own lines that the batch reads back from the child's console output.
WRITTEN_PREFIX = "L2A product written: "
_PROGRESS_LINE = re.compile(r"^Progress\[%\]:")
#: A generation time no real run has: the processor's name for it shows where its time field is.
_PROBE_TIME = datetime(1111, 11, 11, 11, 11, 11, tzinfo=timezone.utc)
_L2_LANDSAT_NAME = re.compile(r"^L[COTEM]0\d_L2")
_S2_L1C_NAME = re.compile(r"^S2.?_MSIL1.*\.SAFE$", re.IGNORECASE)
#: The batch's own options; every other option is one of L2A_Process.py's and is forwarded.
_BATCH_DESTS = ("paths", "output_dir", "workers", "scheduler", "memory_per_product", "force", "retries")

log = logging.getLogger("sen2cor3.batch")


class ProductInterrupted(RuntimeError):
    """The processor process of one product was killed or terminated: raised so that Dask retries it."""


# ----------------------------------------------------------------------------------------- the Dask task
def _pdeathsig_preexec():
    """A child-side hook making the kernel send SIGTERM to the processor if the worker thread that started it
    dies (a killed worker): the processor then aborts its run and removes its staging folder. Linux only."""
    try:
        import ctypes
        prctl = ctypes.CDLL(None, use_errno=True).prctl      # resolved before the fork: nothing to import after
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def hook():
        prctl(1, signal.SIGTERM)                             # PR_SET_PDEATHSIG
        if os.getppid() != parent:                           # the parent died before the call
            os.kill(os.getpid(), signal.SIGTERM)
    return hook


def _processor_command() -> list[str]:
    """``L2A_Process.py`` beside the package (a clone), else the same entry point as a module (installed)."""
    script = Path(__file__).resolve().parents[1] / "L2A_Process.py"
    if script.is_file():
        return [sys.executable, str(script)]
    return [sys.executable, "-m", "sen2cor3.cli"]


def _tail_lines(fh, limit: int = 65536) -> list[str]:
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    fh.seek(max(0, size - limit))
    text = fh.read().decode("utf-8", "replace")
    return [ln.split("\r")[-1].strip() for ln in text.splitlines() if ln.strip()]


def error_line(stdout_lines: list[str], stderr_lines: list[str]) -> str:
    """The processor's one-line reason for a failure: the last stderr line (``ERROR: ...`` before logging is
    set up, or a Python traceback's last line), else the last console line that is not a progress line."""
    if stderr_lines:
        return stderr_lines[-1]
    for line in reversed(stdout_lines):
        if not _PROGRESS_LINE.match(line):
            return line
    return ""


def user_environment() -> dict[str, str | None]:
    """The batch user's own values (None: unset) of the variables a Dask nanny sets in its worker processes
    (``distributed.nanny.pre-spawn-environ`` / ``environ``: OMP_NUM_THREADS=1, MALLOC_TRIM_THRESHOLD_, ...).
    The processor must run with the user's environment, as a single run does: with the nanny's values it is
    ~30 % slower (one thread for OpenCV/BLAS, malloc trimming at 64 kB)."""
    import importlib

    import dask
    importlib.import_module("distributed")          # registers the distributed.* config defaults
    keys = set()
    for name in ("distributed.nanny.pre-spawn-environ", "distributed.nanny.environ"):
        keys |= set(dask.config.get(name, None) or {})
    return {k: os.environ.get(k) for k in sorted(keys)}


def run_product(product: str, options: list[str], key: str = "", environ: dict | None = None) -> dict:
    """Run ``L2A_Process.py <product> <options>`` in a child process (the Dask task); ``environ``: variables to
    set (None: remove) in the child's environment (:func:`user_environment`).

    Returns ``exit_code``, ``wall_s``, ``peak_rss_gb`` (``ru_maxrss`` of the child from ``os.wait4``),
    ``output`` (the product the run wrote) and ``error`` (its one-line reason on failure). A child killed by a
    signal or reporting that it was terminated raises :class:`ProductInterrupted` (Dask's ``retries``).
    """
    try:
        from distributed import get_worker
        get_worker().log_event(EVENT_TOPIC, {"key": key, "product": product})
    except Exception:  # noqa: BLE001 - not inside a worker (direct call): no progress event
        pass
    cmd = _processor_command() + [product] + list(options)
    env = dict(os.environ)
    for name, value in (environ or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
                                preexec_fn=_pdeathsig_preexec())
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()                                      # never leave a processor without its parent
            proc.wait()
            raise
        code = os.waitstatus_to_exitcode(status)
        proc.returncode = code
        wall = time.monotonic() - start
        stdout_lines, stderr_lines = _tail_lines(out), _tail_lines(err)
    output = ""
    for line in reversed(stdout_lines):
        if line.startswith(WRITTEN_PREFIX):
            output = line[len(WRITTEN_PREFIX):].strip()
            break
    error = "" if code == 0 else error_line(stdout_lines, stderr_lines)
    if code < 0 or code == 130 or (code != 0 and "terminated by signal" in error):
        what = f"killed by signal {-code}" if code < 0 else error
        raise ProductInterrupted(f"{product}: processor process {what}")
    return {"exit_code": code, "wall_s": round(wall, 2), "peak_rss_gb": round(usage.ru_maxrss / 1024 ** 2, 3),
            "output": output, "error": error}


# ----------------------------------------------------------------------------------------- inputs
@dataclass
class Item:
    """One input product and what became of it (a row of the summary)."""
    input: str
    output: str = ""
    status: str = "pending"          # pending / done / failed / skipped / cancelled
    exit_code: int | None = None
    wall_s: float | None = None
    peak_rss_gb: float | None = None
    error: str = ""
    attempts: int | None = None      # processor runs Dask started for it (> 1: retried / rescheduled)
    kind: str = field(default="", repr=False)
    hyper: bool = field(default=False, repr=False)
    pattern: re.Pattern | None = field(default=None, repr=False)
    previous: list[str] = field(default_factory=list, repr=False)

    def row(self) -> dict:
        d = asdict(self)
        for k in ("kind", "hyper", "pattern", "previous"):
            d.pop(k)
        return d


def is_input_product(path: Path) -> bool:
    """A folder L2A_Process takes as input: a Landsat Level-1 folder (the reader's ``is_landsat_folder``, not
    an L2 output), or an S2/Hyper MS L1C SAFE (``MTD_MSIL1C.xml`` inside, or named ``S2?_MSIL1?*.SAFE``)."""
    from sen2cor3.readers import input_kind, landsat_c2
    if not path.is_dir():
        return False
    if input_kind(path) == landsat_c2.KIND:
        return not _L2_LANDSAT_NAME.match(path.name)
    return (path / "MTD_MSIL1C.xml").is_file() or bool(_S2_L1C_NAME.match(path.name))


def find_inputs(paths: Sequence[str]) -> tuple[list[Path], list[str]]:
    """Every input product at or under the paths (not below a product, not in hidden folders), in a stable
    order, each once; and one line per path that does not exist."""
    found: dict[Path, None] = {}
    missing = []
    for raw in paths:
        p = Path(os.path.normpath(os.path.abspath(raw)))
        if p.is_file() and p.name.upper().startswith("MTD_MSIL1C"):
            p = p.parent
        if not p.exists():
            missing.append(f"{p}: no such file or directory")
            continue
        if is_input_product(p):
            found.setdefault(p.resolve())
            continue
        for root, dirs, _files in os.walk(p):
            keep = []
            for name in sorted(dirs):
                d = Path(root) / name
                if name.startswith("."):
                    continue
                if is_input_product(d):
                    found.setdefault(d.resolve())
                elif not name.upper().endswith(".SAFE"):
                    keep.append(name)
            dirs[:] = keep
    return list(found), missing


def describe(path: Path, baseline: str) -> Item:
    """The item of one input: its kind, Hyper MS or not, and the pattern of the L2A folder the processor
    names for it (its writer's ``product_folder_name`` with the generation time left free). An input whose
    metadata cannot be read gets no pattern (never skipped: the processor reports why)."""
    from sen2cor3.readers import input_kind, landsat_c2, s2_safe
    from sen2cor3.writers import writer_for
    item = Item(input=str(path), kind=input_kind(path))
    try:
        if item.kind == landsat_c2.KIND:
            product = landsat_c2.open_landsat(path)
        else:
            product = s2_safe.open_s2_safe(path, check_images=False)
            item.hyper = product.mission_id == "S2P"
        name = writer_for(product).product_folder_name(product, baseline, _PROBE_TIME)
    except Exception:  # noqa: BLE001 - any metadata fault: the processor's run gives the one-line reason
        item.hyper = path.name.upper().startswith("S2P_")
        return item
    probe_long, probe_day = _PROBE_TIME.strftime("%Y%m%dT%H%M%S"), _PROBE_TIME.strftime("%Y%m%d")
    regex = re.escape(name).replace(probe_long, r"\d{8}T\d{6}").replace(probe_day, r"\d{8}")
    if regex != re.escape(name):                     # the name has a time field: any run's product matches
        item.pattern = re.compile("^" + regex + "$")
    return item


def existing_products(item: Item, output_dir: Path) -> list[Path]:
    """The complete L2A products of this input in D: folders named as the processor names them (the processor
    builds a product in a hidden staging folder and renames it into place only when complete)."""
    if item.pattern is None or not output_dir.is_dir():
        return []
    return sorted(p for p in output_dir.iterdir() if p.is_dir() and item.pattern.match(p.name))


# ----------------------------------------------------------------------------------------- options
def build_parser() -> argparse.ArgumentParser:
    """The batch's options plus every L2A_Process.py option (taken from ``sen2cor3.cli``'s parser)."""
    from sen2cor3 import cli
    p = argparse.ArgumentParser(
        prog="python -m sen2cor3.batch",
        description="Run L2A_Process on every L1C product (S2 / Landsat 8-9 C2 L1TP / Hyper MS) found under the "
                    "paths, in parallel on Dask distributed, one process per product.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="input products or folders holding them")
    p.add_argument("--output_dir", required=True, help="where every L2A product and the batch summary go")
    g = p.add_argument_group("batch")
    g.add_argument("--workers", type=int, help="local worker processes (default: min(cores, RAM / memory per "
                                               "product))")
    g.add_argument("--memory-per-product", dest="memory_per_product", type=float,
                   default=DEFAULT_MEMORY_PER_PRODUCT_GB,
                   help="peak RAM of one product in GB, for sizing the local cluster (default %(default)s: a "
                        "full S2 tile at 10 m)")
    g.add_argument("--scheduler", help="address of an existing Dask scheduler (tcp://HOST:PORT) instead of a "
                                       "local cluster")
    g.add_argument("--force", action="store_true", help="redo products whose L2A already exists in the output "
                                                       "directory (the old one is removed once the new is "
                                                       "complete)")
    g.add_argument("--retries", type=int, default=DEFAULT_RETRIES,
                   help="Dask retries of a product whose processor was killed (default %(default)s)")
    l2a = p.add_argument_group("L2A_Process options (forwarded to every run)")
    for action in cli.build_parser()._actions:
        if not action.option_strings or action.dest in ("help", "output_dir"):
            continue
        if isinstance(action, argparse._StoreTrueAction):
            l2a.add_argument(*action.option_strings, dest=action.dest, action="store_true", help=action.help)
        else:
            l2a.add_argument(*action.option_strings, dest=action.dest, type=action.type, choices=action.choices,
                             help=action.help)
    return p


def _l2a_actions() -> list[argparse.Action]:
    from sen2cor3 import cli
    return [a for a in cli.build_parser()._actions if a.option_strings and a.dest not in ("help",)]


def product_options(args: argparse.Namespace, item: Item) -> tuple[list[str], argparse.Namespace]:
    """The L2A_Process.py options of one product: the user's, with ``--output_dir`` absolute; Hyper MS products
    get ``--Hyper_MS --resolution 30`` and Landsat products ``--resolution 30`` (their only resolution), other
    products never ``--Hyper_MS``. Returns the argv and the namespace the processor will parse from it."""
    from sen2cor3.readers import landsat_c2
    ns = argparse.Namespace(**{a.dest: getattr(args, a.dest, None) for a in _l2a_actions()})
    ns.input_dir = item.input
    ns.output_dir = str(Path(os.path.abspath(args.output_dir)))
    if ns.work_dir:
        ns.work_dir = os.path.abspath(ns.work_dir)
    for gip in ("GIP_L2A", "GIP_L2A_SC", "GIP_L2A_AC", "GIP_L2A_PB"):
        value = getattr(ns, gip)
        if value and os.path.exists(value):          # else a file name looked up in cfg/ by the processor
            setattr(ns, gip, os.path.abspath(value))
    ns.Hyper_MS = item.hyper
    if item.hyper or (item.kind == landsat_c2.KIND and ns.resolution is not None):
        ns.resolution = 30
    argv: list[str] = []
    for a in _l2a_actions():
        value = getattr(ns, a.dest)
        if isinstance(a, argparse._StoreTrueAction):
            if value:
                argv.append(a.option_strings[0])
        elif value is not None:
            argv += [a.option_strings[0], str(value)]
    return argv, ns


# ----------------------------------------------------------------------------------------- the cluster
def local_cluster_size(workers: int | None, memory_per_product_gb: float) -> tuple[int, float, int]:
    """(workers, available RAM GB, cores): ``--workers`` or min(cores, available RAM / per-product peak)."""
    import psutil
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:                           # not Linux
        cores = os.cpu_count() or 1
    ram_gb = psutil.virtual_memory().available / 1024 ** 3
    if workers is None:
        workers = max(1, min(cores, int(ram_gb // max(memory_per_product_gb, 0.01))))
    return workers, ram_gb, cores


def _fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    return f"{h}:{rem // 60:02d}:{rem % 60:02d}" if h else f"{rem // 60:02d}:{rem % 60:02d}"


class Progress:
    """A one-line bar on a terminal (done / failed / running, elapsed, ETA), plain log lines otherwise."""

    def __init__(self, total: int, tty: bool) -> None:
        self.total, self.tty = total, tty
        self.start = time.monotonic()
        self.done = self.failed = self.running = 0
        self._last = ""

    def eta(self) -> float | None:
        finished = self.done + self.failed
        if not finished:
            return None
        elapsed = time.monotonic() - self.start
        return elapsed / finished * (self.total - finished)

    def line(self) -> str:
        finished = self.done + self.failed
        width = 24
        filled = int(width * finished / self.total) if self.total else width
        return f"[{'#' * filled}{'.' * (width - filled)}] {self.counts()}"

    def counts(self) -> str:
        return (f"{self.done + self.failed}/{self.total}  done {self.done}  failed {self.failed}  running "
                f"{self.running}  elapsed {_fmt_s(time.monotonic() - self.start)}  ETA {_fmt_s(self.eta())}")

    def draw(self) -> None:
        if self.tty:
            text = self.line()
            if text != self._last:
                sys.stderr.write("\r\x1b[K" + text)
                sys.stderr.flush()
                self._last = text

    def note(self, message: str) -> None:
        if self.tty:
            sys.stderr.write("\r\x1b[K")
            print(message, file=sys.stderr, flush=True)
            self._last = ""
            self.draw()
        else:
            stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            print(f"{stamp} {message}  ({self.counts()})", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.tty and self._last:
            sys.stderr.write("\r\x1b[K" + self.line() + "\n")
            sys.stderr.flush()


# ----------------------------------------------------------------------------------------- results
def write_summary(items: list[Item], output_dir: Path) -> tuple[Path, Path]:
    """``batch_summary.json`` and ``.csv`` in D (each written aside and renamed into place)."""
    rows = [it.row() for it in items]
    jpath, cpath = output_dir / f"{SUMMARY_NAME}.json", output_dir / f"{SUMMARY_NAME}.csv"
    tmp = output_dir / f".{SUMMARY_NAME}.json.tmp"
    tmp.write_text(json.dumps(rows, indent=1) + "\n")
    os.replace(tmp, jpath)
    tmp = output_dir / f".{SUMMARY_NAME}.csv.tmp"
    with open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(Item("").row()))
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, cpath)
    return jpath, cpath


def summary_table(items: list[Item]) -> str:
    head = f"{'status':<9} {'exit':>4} {'wall s':>8} {'RSS GB':>7}  input -> output / error"
    lines = [head, "-" * len(head)]
    for it in items:
        code = "" if it.exit_code is None else str(it.exit_code)
        wall = "" if it.wall_s is None else f"{it.wall_s:.1f}"
        rss = "" if it.peak_rss_gb is None else f"{it.peak_rss_gb:.2f}"
        tail = Path(it.output).name if it.output else ""
        if it.error:
            tail = (tail + "  " if tail else "") + it.error
        lines.append(f"{it.status:<9} {code:>4} {wall:>8} {rss:>7}  {Path(it.input).name} -> {tail}")
    counts = {s: sum(it.status == s for it in items) for s in ("done", "skipped", "failed", "cancelled")}
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items() if n) or "nothing")
    return "\n".join(lines)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


# ----------------------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m sen2cor3.batch`` and of the ``sen2cor3-batch`` console command."""
    from sen2cor3 import cli
    args = build_parser().parse_args(argv)
    output_dir = Path(os.path.normpath(os.path.abspath(args.output_dir)))

    if args.mode or args.datastrip or args.tile:
        print("ERROR: --mode/--datastrip/--tile: the batch runs user products (toolbox mode); run the ground-segment "
              "mode with L2A_Process.py", file=sys.stderr)
        return cli.EXIT_FAILURE
    inputs, missing = find_inputs(args.paths)
    for line in missing:
        print(f"ERROR: {line}", file=sys.stderr)
    if missing:
        return cli.EXIT_FAILURE
    if not inputs:
        print(f"ERROR: no input product (S2 / Hyper MS L1C SAFE, Landsat C2 L1 folder) under {' '.join(args.paths)}",
              file=sys.stderr)
        return cli.EXIT_FAILURE
    try:
        from sen2cor3.config import load_config
        config = load_config(args.GIP_L2A, args.GIP_L2A_SC, args.GIP_L2A_AC, args.GIP_L2A_PB)
    except Exception as exc:  # noqa: BLE001 - a GIPP fault would fail every product: say it once
        print(f"ERROR: {exc}", file=sys.stderr)
        return cli.EXIT_FAILURE
    baseline = args.processing_baseline or config.pb.baseline_version
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"ERROR: {output_dir}: cannot create the output directory ({exc.strerror})", file=sys.stderr)
        return cli.EXIT_FAILURE

    items: list[Item] = []
    todo: list[tuple[Item, list[str]]] = []
    claimed: dict[str, str] = {}
    for path in inputs:
        item = describe(path, baseline)
        items.append(item)
        opts, ns = product_options(args, item)
        reason = cli.validate_args(ns)
        if reason:
            item.status, item.exit_code, item.error = "failed", cli.EXIT_FAILURE, reason
            continue
        if item.pattern is not None:
            if item.pattern.pattern in claimed:
                item.status = "skipped"
                item.error = f"same L2A product as {claimed[item.pattern.pattern]}"
                continue
            claimed[item.pattern.pattern] = item.input
        existing = existing_products(item, output_dir)
        if existing and not args.force:
            item.status, item.output = "skipped", str(existing[-1])
            continue
        item.previous = [str(p) for p in existing]
        todo.append((item, opts))

    tty = sys.stderr.isatty()
    progress = Progress(len(items), tty)
    progress.done = sum(it.status == "skipped" for it in items)
    progress.failed = sum(it.status == "failed" for it in items)
    progress.note(f"{len(items)} input products: {len(todo)} to process, {progress.done} skipped, "
                  f"{progress.failed} refused")
    interrupted = False
    previous_term = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        if todo:
            interrupted = _run_on_dask(args, todo, progress)
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        progress.close()
        write_summary(items, output_dir)
    print(summary_table(items))
    print(f"summary: {output_dir / (SUMMARY_NAME + '.json')}, {output_dir / (SUMMARY_NAME + '.csv')}")
    if interrupted:
        return cli.EXIT_INTERRUPTED
    return cli.EXIT_SUCCESS if all(it.status in ("done", "skipped") for it in items) else cli.EXIT_FAILURE


def _run_on_dask(args: argparse.Namespace, todo: list[tuple[Item, list[str]]], progress: Progress) -> bool:
    """Submit every product to Dask and collect the results as they come; True when interrupted."""
    import dask
    from distributed import Client, LocalCluster, as_completed

    for name in ("distributed", "tornado", "asyncio"):
        logging.getLogger(name).setLevel(logging.ERROR)
    environ = user_environment()                     # read before a LocalCluster (its nannies set them here)
    cluster = None
    if args.scheduler:
        try:
            client = Client(args.scheduler, timeout="30s")
            client.wait_for_workers(1, timeout=120)
        except Exception as exc:  # noqa: BLE001 - unreachable scheduler, no worker: one line, every product failed
            reason = f"Dask scheduler {args.scheduler}: {(str(exc).strip().splitlines() or [type(exc).__name__])[0]}"
            print(f"ERROR: {reason}", file=sys.stderr)
            for item, _opts in todo:
                item.status, item.error = "failed", reason
            return False
        progress.note(f"Dask scheduler {args.scheduler}: {len(client.scheduler_info()['workers'])} workers")
    else:
        n, ram_gb, cores = local_cluster_size(args.workers, args.memory_per_product)
        # one product per worker at a time: no queueing of extra tasks on a busy single-threaded worker
        with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, memory_limit=0,
                                   dashboard_address=None, host="127.0.0.1")
        client = Client(cluster)
        progress.note(f"local Dask cluster: {n} workers x 1 thread ({cores} cores, {ram_gb:.1f} GB available, "
                      f"{args.memory_per_product:g} GB per product)")
    by_key: dict[str, Item] = {}
    futures = []
    interrupted = False
    run_id = uuid.uuid4().hex[:8]                    # keys unique to this batch on a shared scheduler
    try:
        for i, (item, opts) in enumerate(todo):
            key = f"sen2cor3-l2a-{run_id}-{i:05d}-{Path(item.input).name}"
            by_key[key] = item
            futures.append(client.submit(run_product, item.input, opts, key, environ, key=key, pure=False,
                                         retries=args.retries))
        pending = set(by_key)
        seq = as_completed(futures, with_results=False)
        while pending:
            starts = _start_events(client, by_key)
            batch = seq.next_batch(block=False) if seq.has_ready() else []
            for fut in batch:
                by_key[fut.key].attempts = starts.get(fut.key)
                _collect(fut, by_key[fut.key], progress)
                pending.discard(fut.key)
            if not batch:
                time.sleep(0.5)
            progress.running = len(set(starts) & pending)
            progress.draw()
        for key, n in _start_events(client, by_key).items():
            by_key[key].attempts = n
    except KeyboardInterrupt:
        interrupted = True
        progress.note("interrupted: cancelling the products not finished")
        client.cancel([f for f in futures if not f.done()])
        for item in by_key.values():
            if item.status == "pending":
                item.status, item.error = "cancelled", "cancelled by the user (Ctrl-C / SIGTERM)"
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    if interrupted:                                  # a run that was past its last step may still have committed
        for item in by_key.values():
            new = [p for p in existing_products(item, Path(os.path.abspath(args.output_dir)))
                   if str(p) not in item.previous]
            if item.status == "cancelled" and new:
                item.status, item.output = "done", str(new[-1])
                item.error = "completed while the batch was cancelling (result not collected)"
    return interrupted


def _start_events(client, by_key: dict[str, Item]) -> dict[str, int]:
    """How many times each product's task has started (the events the tasks log; cosmetic: {} on trouble)."""
    counts: dict[str, int] = {}
    try:
        for _t, msg in client.get_events(EVENT_TOPIC):
            if isinstance(msg, dict) and msg.get("key") in by_key:
                counts[msg["key"]] = counts.get(msg["key"], 0) + 1
    except Exception:  # noqa: BLE001
        pass
    return counts


def _collect(fut, item: Item, progress: Progress) -> None:
    """Record one finished future on its item."""
    try:
        res = fut.result()
    except Exception as exc:  # noqa: BLE001 - retries exhausted (ProductInterrupted), KilledWorker, ...
        item.status = "failed"
        item.error = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        if not str(exc).strip() or "KilledWorker" in type(exc).__name__:
            item.error = f"{type(exc).__name__}: {item.error}"
        progress.failed += 1
        progress.note(f"FAILED {Path(item.input).name}: {item.error}")
        return
    item.exit_code, item.wall_s, item.peak_rss_gb = res["exit_code"], res["wall_s"], res["peak_rss_gb"]
    item.output, item.error = res["output"], res["error"]
    if res["exit_code"] == 0:
        item.status = "done"
        progress.done += 1
        for old in item.previous:                        # --force: the old product goes once the new is there
            if old != item.output and os.path.isdir(old):
                aside = Path(old).with_name(f".sen2cor3-batch-replaced-{os.getpid()}-{Path(old).name}")
                os.rename(old, aside)                    # atomic: D never shows a half-removed product
                shutil.rmtree(aside, ignore_errors=True)
        progress.note(f"done {Path(item.input).name} -> {Path(item.output).name} ({item.wall_s:.1f} s, "
                      f"{item.peak_rss_gb:.2f} GB)")
    else:
        item.status = "failed"
        progress.failed += 1
        progress.note(f"FAILED {Path(item.input).name} (exit {item.exit_code}): {item.error}")


if __name__ == "__main__":
    # import the module under its package name, so that Dask pickles ``sen2cor3.batch.run_product`` by reference
    from sen2cor3.batch import main as _main
    sys.exit(_main())
