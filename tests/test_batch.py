"""Issue 15: ``python -m sen2cor3.batch`` on real Dask components.

One simulated L1C (``sen2cor3.simulate --size 366``, made once per session) gives three inputs: the product
itself and a copy under another orbit number (two good products with different L2A names), and a copy whose
B02 image is truncated (broken). The batch runs them on a ``LocalCluster`` (the default engine) and on a
separate ``dask scheduler`` + two ``dask worker`` processes on 127.0.0.1, one of which is killed mid-batch.
The good products must come out byte-identical (images) to single ``L2A_Process.py`` runs, exactly one folder
each, the broken one reported with its one-line error, exit 1; a second run skips everything and exits 0.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
DASK = str(Path(PY).with_name("dask"))
STAGING = ".sen2cor3-staging-"
IMAGE_SUFFIXES = (".jp2", ".tif", ".TIF", ".img")


def _run(cmd, timeout=300, **kw):
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, **kw)


@pytest.fixture(scope="session")
def batch_inputs(tmp_path_factory):
    """{'good': folder with 2 good L1C, 'bad': folder with the broken one, 'names': {orbit: L1C path}}."""
    base = tmp_path_factory.mktemp("batch_inputs")
    sim = _run([PY, "-m", "sen2cor3.simulate", str(base / "sim"), "--size", "366", "--seed", "15"], timeout=600)
    assert sim.returncode == 0, sim.stderr[-2000:]
    safe = Path(sim.stdout.strip().splitlines()[-1])
    assert safe.is_dir() and "_R108_" in safe.name
    good, bad = base / "good", base / "bad"
    good.mkdir()
    bad.mkdir()
    a = good / safe.name
    shutil.copytree(safe, a)
    b = good / safe.name.replace("_R108_", "_R109_")
    shutil.copytree(safe, b)
    c = bad / safe.name.replace("_R108_", "_R110_")
    shutil.copytree(safe, c)
    b02 = next(c.glob("GRANULE/*/IMG_DATA/*_B02.jp2"))
    os.truncate(b02, 2000)
    return {"good": good, "bad": bad, "a": a, "b": b, "c": c, "b02": b02}


@pytest.fixture(scope="session")
def references(batch_inputs, tmp_path_factory):
    """Single L2A_Process.py runs of the two good products: {L1C path: L2A folder}."""
    out = {}
    for key in ("a", "b"):
        d = tmp_path_factory.mktemp(f"single_{key}")
        r = _run([PY, "L2A_Process.py", str(batch_inputs[key]), "--output_dir", str(d)])
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        (product,) = [p for p in d.iterdir()]
        out[str(batch_inputs[key])] = product
    return out


def _images(product: Path) -> dict[str, Path]:
    return {str(p.relative_to(product)): p for p in product.rglob("*")
            if p.is_file() and p.suffix in IMAGE_SUFFIXES}


def _assert_same_images(product: Path, reference: Path) -> None:
    mine, ref = _images(product), _images(reference)
    assert len(ref) > 20 and sorted(mine) == sorted(ref)
    differing = [k for k in ref if mine[k].read_bytes() != ref[k].read_bytes()]
    assert not differing, f"{product.name}: images differ from the single run: {differing[:5]}"


def _summary(out: Path) -> dict[str, dict]:
    rows = json.loads((out / "batch_summary.json").read_text())
    csv_lines = (out / "batch_summary.csv").read_text().splitlines()
    assert csv_lines[0] == "input,output,status,exit_code,wall_s,peak_rss_gb,error,attempts"
    assert len(csv_lines) == len(rows) + 1
    return {r["input"]: r for r in rows}


def _check_outcome(out: Path, batch_inputs, references) -> None:
    """One complete L2A per good product (images as the single runs), the broken one failed in one line, and
    nothing else in the output directory (no second folder, no staging folder)."""
    rows = _summary(out)
    assert set(rows) == {str(batch_inputs[k]) for k in ("a", "b", "c")}
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert not [f for f in folders if f.startswith(".")], f"hidden folders left: {folders}"
    assert len(folders) == 2, folders
    for key in ("a", "b"):
        row = rows[str(batch_inputs[key])]
        assert row["status"] == "done" and row["exit_code"] == 0, row
        product = Path(row["output"])
        assert product.parent == out and product.name in folders
        assert product.name.startswith("S2B_MSIL2A_") and ("_R108_" if key == "a" else "_R109_") in product.name
        assert row["wall_s"] > 0 and 0 < row["peak_rss_gb"] < 4
        _assert_same_images(product, references[str(batch_inputs[key])])
    broken = rows[str(batch_inputs["c"])]
    assert broken["status"] == "failed" and broken["exit_code"] == 1 and broken["output"] == ""
    assert str(batch_inputs["b02"]) in broken["error"] and "\n" not in broken["error"]


def _check_rerun_skips(cmd_tail: list[str], out: Path) -> None:
    before = sorted(p.name for p in out.iterdir())
    r = _run([PY, "-m", "sen2cor3.batch", *cmd_tail, "--output_dir", str(out)])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    rows = list(_summary(out).values())
    assert len(rows) == 2 and all(row["status"] == "skipped" for row in rows), rows
    assert all(Path(row["output"]).is_dir() for row in rows)
    assert sorted(p.name for p in out.iterdir()) == before


def test_local_cluster_batch(batch_inputs, references, tmp_path):
    out = tmp_path / "L2A"
    r = _run([PY, "-m", "sen2cor3.batch", str(batch_inputs["good"]), str(batch_inputs["bad"]),
              "--output_dir", str(out), "--workers", "2"])
    assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-3000:]
    assert "local Dask cluster: 2 workers" in r.stderr
    assert "2 done, 1 failed" in r.stdout
    _check_outcome(out, batch_inputs, references)
    assert all(row["attempts"] == 1 for row in _summary(out).values())
    _check_rerun_skips([str(batch_inputs["good"])], out)
    before = {p.name for p in out.iterdir() if p.is_dir()}
    time.sleep(1.1)                                  # a new generation time, so a new product name
    r = _run([PY, "-m", "sen2cor3.batch", str(batch_inputs["good"]), "--output_dir", str(out), "--workers", "2",
              "--force"])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    rows = list(_summary(out).values())
    after = {p.name for p in out.iterdir() if p.is_dir()}
    assert all(row["status"] == "done" for row in rows) and after == {Path(row["output"]).name for row in rows}
    assert len(after) == 2 and not after & before, "--force: each product redone, the old one removed"


def _wait_for(predicate, timeout: float, what: str, step: float = 0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


def _start_batch(*args: str) -> subprocess.Popen:
    """``python -m sen2cor3.batch ARGS`` in its own session (so a test can signal its whole process group)."""
    return subprocess.Popen([PY, "-m", "sen2cor3.batch", *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _staging(out: Path, accept=lambda p: True) -> Path | None:
    """A processor's staging folder in ``out`` (the first ``accept`` takes), None while there is none."""
    if not out.is_dir():
        return None
    return next((p for p in out.iterdir() if p.name.startswith(STAGING) and accept(p)), None)


def _staging_pid(staging: Path) -> int:
    """The pid of the processor that owns a staging folder (``<STAGING><pid>-...``)."""
    return int(staging.name[len(STAGING):].split("-")[0])


def _stop(procs) -> None:
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def test_scheduler_and_workers_with_a_worker_killed(batch_inputs, references, tmp_path):
    """A separate scheduler and two workers (each its own session, so the test can kill one worker with the
    processor it runs); one is killed while it writes a good product: Dask reschedules the product on the other
    worker, which completes it; the killed run's staging folder does not survive."""
    sched_file = tmp_path / "scheduler.json"
    procs: list[subprocess.Popen] = []
    logs = tmp_path / "logs"
    logs.mkdir()

    def start(name, cmd):
        fh = open(logs / f"{name}.log", "w")
        p = subprocess.Popen(cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(p)
        return p

    try:
        start("scheduler", [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                            "--scheduler-file", str(sched_file)])
        address = _wait_for(lambda: sched_file.is_file() and json.loads(sched_file.read_text() or "{}")
                            .get("address"), 60, "the scheduler file")
        assert address.startswith("tcp://127.0.0.1:")
        workers = [start(f"worker{i}", [DASK, "worker", address, "--nthreads", "1", "--nworkers", "1",
                                        "--host", "127.0.0.1", "--no-dashboard", "--memory-limit", "0"])
                   for i in range(2)]
        from distributed import Client
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=90)

        out = tmp_path / "L2A"
        batch = _start_batch(batch_inputs["good"], batch_inputs["bad"], "--output_dir", out, "--scheduler", address)
        procs.append(batch)
        staging = _wait_for(lambda: _staging(out, lambda p: "_R108_" in p.name or "_R109_" in p.name), 120,
                            "a good product being written")
        pid = _staging_pid(staging)
        owner = [w for w in workers if os.getpgid(pid) == w.pid]
        assert len(owner) == 1, "the processor runs in one of the two worker sessions"
        os.killpg(owner[0].pid, signal.SIGKILL)              # the worker, its nanny and the processor it ran
        owner[0].wait(timeout=10)
        stdout, stderr = batch.communicate(timeout=240)
        assert batch.returncode == 1, stdout[-3000:] + stderr[-3000:]
        assert not staging.exists()
        _check_outcome(out, batch_inputs, references)
        killed = batch_inputs["a" if "_R108_" in staging.name else "b"]
        assert _summary(out)[str(killed)]["attempts"] >= 2, "the killed product was run again elsewhere"
        _check_rerun_skips([str(batch_inputs["good"]), "--scheduler", address], out)
    finally:
        _stop(procs)


def test_ctrl_c_cancels_and_leaves_no_partial_product(batch_inputs, tmp_path):
    """SIGINT to the batch's process group (what Ctrl-C in a terminal does) while products are being written:
    exit 130, the products reported cancelled, and the output directory holds no partial product."""
    out = tmp_path / "L2A"
    batch = _start_batch(batch_inputs["good"], "--output_dir", out, "--workers", "2")
    try:
        _wait_for(lambda: _staging(out), 120, "a product being written")
        os.killpg(batch.pid, signal.SIGINT)
        stdout, stderr = batch.communicate(timeout=120)
    finally:
        _stop([batch])
    assert batch.returncode == 130, stdout[-3000:] + stderr[-3000:]
    rows = list(_summary(out).values())
    assert len(rows) == 2 and all(r["status"] in ("cancelled", "done") for r in rows), rows
    _wait_for(lambda: not any(p.name.startswith(STAGING) for p in out.iterdir()), 30, "staging folders to go")
    done = {Path(r["output"]).name for r in rows if r["status"] == "done"}
    assert {p.name for p in out.iterdir() if p.is_dir()} == done


def test_killed_processor_is_retried_by_dask(batch_inputs, references, tmp_path):
    """SIGKILL to one product's processor process only (as the OOM killer does): the task raises, Dask's
    ``retries`` runs it again, the product ends complete (one folder, images as the single run), exit 0."""
    out = tmp_path / "L2A"
    batch = _start_batch(batch_inputs["good"], "--output_dir", out, "--workers", "1")
    try:
        staging = _wait_for(lambda: _staging(out), 120, "a product being written")
        os.kill(_staging_pid(staging), signal.SIGKILL)
        stdout, stderr = batch.communicate(timeout=180)
    finally:
        _stop([batch])
    assert batch.returncode == 0, stdout[-3000:] + stderr[-3000:]
    rows = _summary(out)
    killed = batch_inputs["a" if "_R108_" in staging.name else "b"]
    assert rows[str(killed)]["attempts"] == 2 and rows[str(killed)]["status"] == "done"
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert len(folders) == 2 and not [f for f in folders if f.startswith(".")], folders
    for key in ("a", "b"):
        _assert_same_images(Path(rows[str(batch_inputs[key])]["output"]), references[str(batch_inputs[key])])


def test_discovery_and_per_kind_options(tmp_path):
    """What the batch takes as input products (not outputs, not inside products or hidden folders) and the
    options each kind gets (Hyper MS: --Hyper_MS --resolution 30; Landsat: 30 m; S2: never --Hyper_MS)."""
    from sen2cor3 import batch
    s2 = tmp_path / "a" / "S2B_MSIL1C_20230715T094411_N0511_R108_T32TQM_20230715T110111.SAFE"
    hyper = tmp_path / "a" / "b" / "S2P_MSIL1C_20230715T094411_N0000_R108_T32TQM_20230715T110111.SAFE"
    landsat = tmp_path / "LC09_L1TP_192026_20240809_20240809_02_T1"
    for p in (s2, hyper):
        p.mkdir(parents=True)
        (p / "MTD_MSIL1C.xml").write_text("<x/>")
    landsat.mkdir()
    (landsat / f"{landsat.name}_MTL.txt").write_text("")
    ignored = [tmp_path / "out" / "S2B_MSIL2A_20230715T094411_N9933_R108_T32TQM_20261206T140443.SAFE",
               tmp_path / "out" / "LC09_L2TP_192026_20240809_20261206_02_T1",
               tmp_path / ".hidden" / "S2A_MSIL1C_20230715T094411_N0511_R108_T32TQM_20230715T110111.SAFE",
               s2 / "GRANULE" / "S2A_MSIL1C_20230715T094411_N0511_R108_T32TQM_20230715T110111.SAFE"]
    for p in ignored:
        p.mkdir(parents=True)
        (p / ("MTD_MSIL2A.xml" if "MSIL2A" in p.name else "MTD_MSIL1C.xml")).write_text("<x/>")
    (ignored[1] / f"{ignored[1].name}_MTL.txt").write_text("")
    found, missing = batch.find_inputs([str(tmp_path), str(s2 / "MTD_MSIL1C.xml")])
    assert sorted(found) == sorted([s2, hyper, landsat]) and missing == []
    assert batch.find_inputs([str(tmp_path / "nope")])[1] == [f"{tmp_path / 'nope'}: no such file or directory"]

    args = batch.build_parser().parse_args([str(tmp_path), "--output_dir", "D", "--resolution", "20", "--tif",
                                            "--Hyper_MS"])
    argv, _ = batch.product_options(args, batch.Item(str(s2), kind="s2_safe"))
    assert argv == ["--resolution", "20", "--output_dir", os.path.abspath("D"), "--tif"]
    argv, ns = batch.product_options(args, batch.Item(str(hyper), kind="s2_safe", hyper=True))
    assert ns.Hyper_MS and ns.resolution == 30 and argv[-1] == "--Hyper_MS"
    argv, ns = batch.product_options(args, batch.Item(str(landsat), kind="landsat_c2"))
    assert ns.resolution == 30 and "--Hyper_MS" not in argv


def test_task_environment_and_interruption(monkeypatch):
    """The processor gets the user's environment, not the Dask nanny's (OMP_NUM_THREADS=1, malloc trimming);
    a processor killed by a signal makes the task raise (so that Dask retries it); a failure gives its line."""
    from sen2cor3 import batch
    env = batch.user_environment()
    assert {"OMP_NUM_THREADS", "MALLOC_TRIM_THRESHOLD_"} <= set(env)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    code = ("import os, sys; print('Progress[%]: 0.00 : x'); "
            "print('L2A product written: ' + os.environ.get('OMP_NUM_THREADS', 'unset')); "
            "sys.argv[1] == 'kill' and os.kill(os.getpid(), 9); "
            "sys.argv[1] == 'fail' and (print('/x/B02.jp2: broken'), print('Progress[%]: 100.00 : end'), sys.exit(1))")
    monkeypatch.setattr(batch, "_processor_command", lambda: [sys.executable, "-c", code])
    res = batch.run_product("ok", [], environ={"OMP_NUM_THREADS": None})
    assert res["exit_code"] == 0 and res["output"] == "unset" and res["error"] == "" and res["peak_rss_gb"] > 0
    assert batch.run_product("ok", [], environ={"OMP_NUM_THREADS": "3"})["output"] == "3"
    res = batch.run_product("fail", [])
    assert res["exit_code"] == 1 and res["error"] == "/x/B02.jp2: broken"
    with pytest.raises(batch.ProductInterrupted, match="killed by signal 9"):
        batch.run_product("kill", [])


def test_mixed_kinds_in_one_batch(batch_inputs, tmp_path_factory):
    """Sentinel-2, Landsat 8 and Hyper MS inputs in one folder, one option set (--resolution 20): each kind runs
    with the options it accepts (Landsat and Hyper MS at 30 m, Hyper MS with --Hyper_MS), all complete; a rerun
    skips the three (Landsat's name carries the run date, S2's the generation time)."""
    base = tmp_path_factory.mktemp("mixed")
    (base / "in").mkdir()
    for spacecraft in ("L8", "S2P"):
        r = _run([PY, "-m", "sen2cor3.simulate", str(base / spacecraft), "--size", "366", "--seed", "4",
                  "--spacecraft", spacecraft], timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]
        product = Path(r.stdout.strip().splitlines()[-1])
        shutil.move(product, base / "in" / product.name)
    shutil.copytree(batch_inputs["a"], base / "in" / batch_inputs["a"].name)
    out = base / "L2A"
    r = _run([PY, "-m", "sen2cor3.batch", str(base / "in"), "--output_dir", str(out), "--resolution", "20",
              "--workers", "2"])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    rows = list(_summary(out).values())
    assert sorted(Path(row["input"]).name[:4] for row in rows) == ["LC08", "S2B_", "S2P_"]
    assert all(row["status"] == "done" for row in rows), rows
    names = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert [n[:10] for n in names] == ["LC08_L2TP_", "S2B_MSIL2A", "S2P_MSIL2A"]
    assert (out / names[2] / "GRANULE").is_dir() and list((out / names[2]).glob("GRANULE/*/IMG_DATA/R30m/*SCL*"))
    assert list((out / names[1]).glob("GRANULE/*/IMG_DATA/R20m/*SCL_20m*"))
    assert not list((out / names[1]).glob("GRANULE/*/IMG_DATA/R10m/*"))
    r = _run([PY, "-m", "sen2cor3.batch", str(base / "in"), "--output_dir", str(out), "--resolution", "20"])
    assert r.returncode == 0 and "3 skipped" in r.stdout, r.stdout[-3000:] + r.stderr[-3000:]


def test_killed_worker_process_aborts_its_processor(batch_inputs, references, tmp_path):
    """SIGKILL to the worker process only (its nanny lives on): the kernel sends the processor SIGTERM
    (PR_SET_PDEATHSIG), which aborts the run and removes its own staging folder at once; the scheduler
    reschedules the product, which ends complete; exit 0."""
    out = tmp_path / "L2A"
    batch = _start_batch(batch_inputs["good"], "--output_dir", out, "--workers", "2")
    try:
        staging = _wait_for(lambda: _staging(out), 120, "a product being written")
        pid = _staging_pid(staging)
        with open(f"/proc/{pid}/stat") as fh:
            worker = int(fh.read().rsplit(")", 1)[1].split()[1])
        assert worker != batch.pid
        os.kill(worker, signal.SIGKILL)
        _wait_for(lambda: not staging.exists(), 10, "the aborted processor to remove its staging folder")
        stdout, stderr = batch.communicate(timeout=180)
    finally:
        _stop([batch])
    assert batch.returncode == 0, stdout[-3000:] + stderr[-3000:]
    rows = _summary(out)
    killed = batch_inputs["a" if "_R108_" in staging.name else "b"]
    assert rows[str(killed)]["status"] == "done" and rows[str(killed)]["attempts"] >= 2
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert len(folders) == 2 and not [f for f in folders if f.startswith(".")], folders
    _assert_same_images(Path(rows[str(killed)]["output"]), references[str(killed)])
