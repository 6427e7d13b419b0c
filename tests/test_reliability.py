"""Bad input, full disks and interruptions never lose data (issue 7, items 4-7).

Every failure case asserts the same four properties, because scripts (sen2like, batch wrappers) rely on them:
a non-zero exit status, exactly one clear line naming the file and the fault (and no traceback), nothing
left in the output directory (no L2A product, no ``.sen2cor3-staging-*`` folder), and the L1C input
byte-for-byte unchanged. Runs are ``--cr_only`` (metadata faults) or ``--sc_only`` (pixel faults: a
``--cr_only`` run never decodes a band). Most cases run ``L2A_Process.py`` as a child process, as users do;
the disk-full injection and the name clash run ``sen2cor3.cli.main`` in-process so they can patch it.
"""
from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import pytest

from fixtures_l1c import make_small_l1c
from sen2cor3.products.staging import STAGING_PREFIX

ROOT = Path(__file__).resolve().parents[1]
#: Size (10 m pixels) of the product that is interrupted: big enough that a run lasts a few seconds.
BIG_SIZE = 1200


# ----------------------------------------------------------------------------------------------- helpers

def l2a_process(*args, home: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``L2A_Process.py`` as a user would; the report/log goes to ``home`` (never the output dir)."""
    return subprocess.run([sys.executable, str(ROOT / "L2A_Process.py"), *map(str, args)],
                          capture_output=True, text=True, cwd="/", env=_env(home), timeout=timeout)


def _env(home: Path) -> dict[str, str]:
    return dict(os.environ, SEN2COR_HOME=str(home), PYTHONUNBUFFERED="1")


def tree_hash(folder: Path) -> str:
    """Hash of every path and file content under ``folder`` (the input must stay byte-for-byte the same)."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        h.update(str(p.relative_to(folder)).encode() + b"\0")
        if p.is_file() and not p.is_symlink():
            h.update(p.read_bytes())
    return h.hexdigest()


def leftovers(out: Path) -> list[str]:
    """What a run left in the output directory (must be nothing after a failure)."""
    return sorted(p.name for p in out.iterdir()) if out.exists() else []


def lines_with(text: str, *fragments: str) -> list[str]:
    """Output lines that contain every fragment."""
    return [ln for ln in text.splitlines() if all(f in ln for f in fragments)]


def assert_clean_failure(status: int, output: str, out: Path, l1c: Path, before: str, file_part: str,
                         faults: tuple[str, ...], expected_status: int | None = None) -> str:
    """The four properties of a failed run; returns the error line."""
    assert status != 0 if expected_status is None else status == expected_status, output
    assert "Traceback" not in output, output
    matching = [ln for ln in lines_with(output, file_part) if any(f in ln for f in faults)]
    assert len(matching) == 1, f"expected one line naming {file_part!r} and one of {faults}:\n{output}"
    assert leftovers(out) == [], f"left in the output directory: {leftovers(out)}"
    assert tree_hash(l1c) == before, "the input product was modified"
    return matching[0]


def image_pixels(product: Path) -> dict[str, str]:
    """Hash of the decoded pixels of every image of the granule, keyed by path below the granule folder."""
    from osgeo import gdal
    hashes = {}
    for p in sorted(product.glob("GRANULE/*/**/*.jp2")):
        ds = gdal.Open(str(p))
        arr = ds.ReadAsArray()
        hashes["/".join(p.relative_to(product).parts[2:])] = hashlib.sha256(
            f"{arr.dtype}{arr.shape}".encode() + arr.tobytes()).hexdigest()
        ds = None
    return hashes


def image_bytes(product: Path) -> dict[str, str]:
    return {"/".join(p.relative_to(product).parts[2:]): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(product.glob("GRANULE/*/**/*.jp2"))}


def only_product(out: Path) -> Path:
    """The one L2A product of ``out``; fails if anything else (a staging folder, a log) is there."""
    entries = list(out.iterdir())
    assert len(entries) == 1 and entries[0].suffix == ".SAFE", [e.name for e in entries]
    return entries[0]


def _run(cmd: list[str]) -> bool:
    return subprocess.run(cmd, capture_output=True).returncode == 0


@contextmanager
def read_only_dir(path: Path) -> Iterator[None]:
    """Make ``path`` read-only even for root: a read-only bind mount, else ``chattr +i``, else skip."""
    path.mkdir(parents=True, exist_ok=True)
    if _run(["mount", "--bind", str(path), str(path)]):
        if _run(["mount", "-o", "remount,bind,ro", str(path)]):
            try:
                yield
            finally:
                _run(["umount", str(path)]) or _run(["umount", "-l", str(path)])
            return
        _run(["umount", str(path)])
    if shutil.which("chattr") and _run(["chattr", "+i", str(path)]):
        try:
            yield
        finally:
            _run(["chattr", "-i", str(path)])
        return
    pytest.skip("cannot make a directory read-only for this user (no bind mount, no chattr +i)")


@contextmanager
def small_tmpfs(path: Path, size: str) -> Iterator[None]:
    """A size-limited tmpfs at ``path`` (a real "disk full"); skip when mounting is not permitted."""
    path.mkdir(parents=True, exist_ok=True)
    if not _run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)]):
        pytest.skip("mounting a tmpfs is not permitted here (the in-process ENOSPC case covers disk full)")
    try:
        yield
    finally:
        _run(["umount", str(path)]) or _run(["umount", "-l", str(path)])


# ---------------------------------------------------------------------------------------------- fixtures

@pytest.fixture()
def home(tmp_path) -> Path:
    return tmp_path / "home"


@pytest.fixture()
def l1c(small_l1c_safe, tmp_path) -> Path:
    """A private copy of the small L1C that a case may damage."""
    dst = tmp_path / "in" / Path(small_l1c_safe).name
    shutil.copytree(small_l1c_safe, dst)
    return dst


@pytest.fixture(scope="module")
def big_l1c(tmp_path_factory) -> Path:
    """A 1200 px L1C: an ``--sc_only`` run lasts long enough to be interrupted mid-way."""
    return make_small_l1c(tmp_path_factory.mktemp("l1c_big"), size=BIG_SIZE)


@pytest.fixture(scope="module")
def big_reference(big_l1c, tmp_path_factory) -> dict[str, str]:
    """Pixel hashes of an uninterrupted ``--sc_only`` run on :func:`big_l1c`."""
    base = tmp_path_factory.mktemp("reference")
    res = l2a_process("--sc_only", "--output_dir", base / "out", big_l1c, home=base / "home")
    assert res.returncode == 0, res.stdout + res.stderr
    hashes = image_pixels(only_product(base / "out"))
    assert any(k.endswith("SCL_20m.jp2") for k in hashes) and any("MSK_CLDPRB_20m" in k for k in hashes)
    return hashes


def _band(l1c: Path, band: str) -> Path:
    return next(l1c.glob(f"GRANULE/*/IMG_DATA/*_{band}.jp2"))


def _mtd_tl(l1c: Path) -> Path:
    return next(l1c.glob("GRANULE/*/MTD_TL.xml"))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _drop_element(path: Path, name: str) -> None:
    text = path.read_text(encoding="utf-8")
    new = re.sub(rf"\s*<{name}(\s[^>]*)?>[^<]*</{name}>", "", text, count=1)
    assert new != text, f"<{name}> not in {path.name}"
    path.write_text(new, encoding="utf-8")


# ------------------------------------------------------------------------------------ item 4: bad input
# (id, run mode, damage(l1c) -> file part expected in the error line, accepted fault wordings)

def _missing_band(l1c: Path) -> str:
    band = _band(l1c, "B03")
    band.unlink()
    return band.name


def _truncate(fraction: float, band_name: str = "B11"):
    def damage(l1c: Path) -> str:
        band = _band(l1c, band_name)
        data = band.read_bytes()
        band.write_bytes(data[: int(len(data) * fraction)])
        return band.name
    return damage


def _garbage_header(l1c: Path) -> str:
    band = _band(l1c, "B8A")
    data = bytearray(band.read_bytes())
    data[:256] = bytes((i * 37 + 11) % 256 for i in range(256))
    band.write_bytes(bytes(data))
    return band.name


def _mtd_malformed(l1c: Path) -> str:
    _edit(l1c / "MTD_MSIL1C.xml", "</n1:General_Info>", "")
    return "MTD_MSIL1C.xml"


def _mtd_truncated(l1c: Path) -> str:
    mtd = l1c / "MTD_MSIL1C.xml"
    mtd.write_text(mtd.read_text()[:500])
    return "MTD_MSIL1C.xml"


def _mtd_missing_element(l1c: Path) -> str:
    _drop_element(l1c / "MTD_MSIL1C.xml", "QUANTIFICATION_VALUE")
    return "MTD_MSIL1C.xml"


def _mtd_not_a_number(l1c: Path) -> str:
    _edit(l1c / "MTD_MSIL1C.xml", '<RADIO_ADD_OFFSET band_id="3">-1000<', '<RADIO_ADD_OFFSET band_id="3">-1e3x<')
    return "MTD_MSIL1C.xml"


def _tl_malformed(l1c: Path) -> str:
    _edit(_mtd_tl(l1c), "<NROWS>", "<NROWS><")
    return "MTD_TL.xml"


def _tl_missing_element(l1c: Path) -> str:
    _drop_element(_mtd_tl(l1c), "HORIZONTAL_CS_CODE")
    return "MTD_TL.xml"


def _tl_not_a_number(l1c: Path) -> str:
    text = _mtd_tl(l1c).read_text()
    ulx = re.search(r"<ULX>([^<]*)</ULX>", text).group(1)
    _edit(_mtd_tl(l1c), f"<ULX>{ulx}</ULX>", "<ULX>69996O</ULX>")
    return "MTD_TL.xml"


def _tl_missing(l1c: Path) -> str:
    _mtd_tl(l1c).unlink()
    return "MTD_TL.xml"


def _unknown_product_type(l1c: Path) -> str:
    _edit(l1c / "MTD_MSIL1C.xml", "<PRODUCT_TYPE>S2MSI1C</PRODUCT_TYPE>", "<PRODUCT_TYPE>S2MSI9Z</PRODUCT_TYPE>")
    return "MTD_MSIL1C.xml"


BAD_INPUT = [
    ("missing_band_jp2", "--cr_only", _missing_band, ("missing",)),
    ("missing_band_jp2_sc", "--sc_only", _missing_band, ("missing",)),
    ("jp2_truncated_half", "--sc_only", _truncate(0.5), ("cannot open", "cannot decode", "corrupt", "truncated")),
    ("jp2_truncated_codestream", "--sc_only", _truncate(0.9, "B02"),
     ("cannot open", "cannot decode", "corrupt", "truncated")),
    ("jp2_garbage_header", "--sc_only", _garbage_header, ("cannot open", "cannot decode", "not a JPEG")),
    ("mtd_msil1c_malformed", "--cr_only", _mtd_malformed, ("malformed XML",)),
    ("mtd_msil1c_truncated", "--cr_only", _mtd_truncated, ("malformed XML",)),
    ("mtd_msil1c_required_element_removed", "--cr_only", _mtd_missing_element,
     ("missing element <QUANTIFICATION_VALUE>",)),
    ("mtd_msil1c_not_a_number", "--cr_only", _mtd_not_a_number, ("not a number",)),
    ("mtd_tl_malformed", "--cr_only", _tl_malformed, ("malformed XML",)),
    ("mtd_tl_required_element_removed", "--cr_only", _tl_missing_element, ("missing element <HORIZONTAL_CS_CODE>",)),
    ("mtd_tl_not_a_number", "--cr_only", _tl_not_a_number, ("not a number",)),
    ("mtd_tl_missing", "--cr_only", _tl_missing, ("missing",)),
    ("unknown_product_type", "--cr_only", _unknown_product_type, ("unknown product type",)),
]


@pytest.mark.parametrize("mode,damage,faults", [c[1:] for c in BAD_INPUT], ids=[c[0] for c in BAD_INPUT])
def test_bad_input_fails_cleanly(l1c, tmp_path, home, mode, damage, faults):
    file_part = damage(l1c)
    before = tree_hash(l1c)
    out = tmp_path / "out"
    res = l2a_process(mode, "--output_dir", out, l1c, home=home)
    assert_clean_failure(res.returncode, res.stdout + res.stderr, out, l1c, before, file_part, faults)


def test_l2a_product_as_input_fails_cleanly(l1c, tmp_path, home):
    made = l2a_process("--cr_only", "--output_dir", tmp_path / "l2a", l1c, home=home)
    assert made.returncode == 0, made.stdout + made.stderr
    l2a = only_product(tmp_path / "l2a")
    before = tree_hash(l2a)
    out = tmp_path / "out"
    for given in (l2a, l2a / "MTD_MSIL2A.xml"):
        res = l2a_process("--cr_only", "--output_dir", out, given, home=home)
        assert_clean_failure(res.returncode, res.stdout + res.stderr, out, l2a, before, l2a.name, ("Level-2A",))


def test_unknown_folder_as_input_fails_cleanly(tmp_path, home):
    folder = tmp_path / "in" / "LC08_L1TP_192026_20240809_20240809_02_T1"
    folder.mkdir(parents=True)
    (folder / "README.txt").write_text("not a Sentinel-2 product")
    before = tree_hash(folder)
    out = tmp_path / "out"
    res = l2a_process("--cr_only", "--output_dir", out, folder, home=home)
    assert_clean_failure(res.returncode, res.stdout + res.stderr, out, folder, before, str(folder),
                         ("not an L1C", "unknown product", "not supported", "not a Landsat L1 product"))


@pytest.mark.parametrize("case", ["not_an_integer", "malformed", "missing_file"])
def test_invalid_user_gipp_fails_cleanly(l1c, tmp_path, home, case):
    gipp = tmp_path / "bad_gipp.xml"
    text = (ROOT / "cfg" / "L2A_GIPP.xml").read_text()
    if case == "not_an_integer":
        assert "<Median_Filter>0</Median_Filter>" in text
        gipp.write_text(text.replace("<Median_Filter>0</Median_Filter>", "<Median_Filter>abc</Median_Filter>"))
        faults = ("not an integer",)
    elif case == "malformed":
        gipp.write_text(text[: len(text) // 2])
        faults = ("malformed XML",)
    else:
        faults = ("does not exist", "not found")
    before = tree_hash(l1c)
    out = tmp_path / "out"
    res = l2a_process("--cr_only", "--output_dir", out, "--GIP_L2A", gipp, l1c, home=home)
    assert_clean_failure(res.returncode, res.stdout + res.stderr, out, l1c, before, "bad_gipp.xml", faults)


@pytest.mark.parametrize("flag,value", [("--processing_centre", "sgs_"), ("--processing_centre", "SGS__"),
                                        ("--archiving_centre", "S1"), ("--processing_baseline", "4.1"),
                                        ("--processing_baseline", "04.001"), ("--processing_baseline", "ab.cd")])
def test_invalid_centre_or_baseline_fails_cleanly(l1c, tmp_path, home, flag, value):
    before = tree_hash(l1c)
    out = tmp_path / "out"
    res = l2a_process("--cr_only", flag, value, "--output_dir", out, l1c, home=home)
    # The fault is in a flag, so the line names the flag and its value rather than a file.
    assert_clean_failure(res.returncode, res.stdout + res.stderr, out, l1c, before, flag, (f"'{value}'",))
    assert not out.exists(), "flags are checked before anything is created"


# ------------------------------------------------------------------------- item 4: output-side faults

def test_read_only_output_dir_fails_cleanly(l1c, tmp_path, home):
    out = tmp_path / "ro"
    before = tree_hash(l1c)
    with read_only_dir(out):
        res = l2a_process("--cr_only", "--output_dir", out, l1c, home=home)
        assert_clean_failure(res.returncode, res.stdout + res.stderr, out, l1c, before, str(out),
                             ("not writable", "Read-only", "read-only"))


def test_output_dir_under_read_only_parent_fails_cleanly(l1c, tmp_path, home):
    parent = tmp_path / "ro"
    out = parent / "new_out"
    before = tree_hash(l1c)
    with read_only_dir(parent):
        res = l2a_process("--cr_only", "--output_dir", out, l1c, home=home)
        assert_clean_failure(res.returncode, res.stdout + res.stderr, out, l1c, before, str(out),
                             ("cannot create", "Read-only"))
        assert not out.exists()


@pytest.mark.parametrize("mode", ["--cr_only", "--sc_only"])
def test_disk_full_on_real_filesystem_fails_cleanly(l1c, tmp_path, home, mode):
    """A 64 KiB tmpfs fills up while the product is written (where exactly depends on sizes)."""
    out = tmp_path / "full"
    before = tree_hash(l1c)
    with small_tmpfs(out, "64k"):
        res = l2a_process(mode, "--output_dir", out, l1c, home=home)
        assert_clean_failure(res.returncode, res.stdout + res.stderr, out, l1c, before, str(out),
                             ("No space left on device", "write failed"))


def _main_in_process(argv: list[str], capsys) -> tuple[int, str]:
    """``L2A_Process.py argv`` in this process; an exception escaping it is a failure of the case."""
    from sen2cor3 import cli
    try:
        status = cli.main([str(a) for a in argv])
    except SystemExit as exc:
        status = exc.code
    except BaseException as exc:
        captured = capsys.readouterr()
        pytest.fail(f"{type(exc).__name__} escaped L2A_Process instead of a clean error: {exc}\n"
                    f"{captured.out}{captured.err}")
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def test_disk_full_while_writing_images_fails_cleanly(l1c, tmp_path, home, monkeypatch, capsys):
    """ENOSPC injected after the first image (a failing write(2) carries no file name, as here)."""
    import sen2cor3.processing as processing
    real_write = processing.write_raster
    written: list[Path] = []

    def filling_disk(path, data, **kw):
        if written:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written.append(real_write(path, data, **kw))
        return written[-1]

    monkeypatch.setattr(processing, "write_raster", filling_disk)
    monkeypatch.setenv("SEN2COR_HOME", str(home))
    out = tmp_path / "out"
    before = tree_hash(l1c)
    status, output = _main_in_process(["--sc_only", "--output_dir", out, l1c], capsys)
    assert written, "the run never reached the image writing"
    assert_clean_failure(status, output, out, l1c, before, str(out), ("No space left on device",))


# -------------------------------------------------------------------------------- item 5: interruptions

def _start_and_interrupt(cmd_args: list, home: Path, out: Path, sig: int) -> tuple[int, str, list[str]]:
    """Start an ``--sc_only`` run, wait until it reads L1C pixels inside its staging folder, send ``sig``.

    Returns (exit status, output, staging folders present when the signal was sent)."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "L2A_Process.py"), *map(str, cmd_args)], cwd="/",
                            env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen, staging = [], []
    try:
        deadline = time.monotonic() + 60
        for line in proc.stdout:                        # console lines are flushed one by one
            seen.append(line)
            if "Progress[%]" in line and "Reading L1C bands" in line:
                staging = [p.name for p in out.glob(STAGING_PREFIX + "*")]
                proc.send_signal(sig)
                break
            assert time.monotonic() < deadline, "".join(seen)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, "".join(seen) + rest, staging


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_interrupted_run_then_rerun_gives_the_uninterrupted_result(big_l1c, big_reference, tmp_path, home, sig):
    out = tmp_path / "out"
    before = tree_hash(big_l1c)
    args = ["--sc_only", "--output_dir", out, big_l1c]
    status, output, staging = _start_and_interrupt(args, home, out, sig)
    assert staging, "the signal must arrive while the product is being built in its staging folder"
    assert status != 0, output
    assert not [p for p in out.glob("*.SAFE") if not p.name.startswith(STAGING_PREFIX)], \
        "an interrupted run must not leave a product"
    if sig == signal.SIGTERM:                           # catchable: cleans up itself, one clear line
        assert leftovers(out) == [], leftovers(out)
        assert "Traceback" not in output, output
        assert len(lines_with(output, "terminated by signal")) == 1, output
    else:                                               # SIGKILL: cannot clean; the next run must
        assert [p.name for p in out.iterdir()] == staging
    assert tree_hash(big_l1c) == before

    res = l2a_process(*args, home=home)
    assert res.returncode == 0, res.stdout + res.stderr
    assert not list(out.glob(STAGING_PREFIX + "*")), "the rerun must remove the killed run's staging folder"
    assert image_pixels(only_product(out)) == big_reference
    assert tree_hash(big_l1c) == before


def test_ctrl_c_cleans_up_and_exits_130(big_l1c, tmp_path, home):
    out = tmp_path / "out"
    before = tree_hash(big_l1c)
    status, output, staging = _start_and_interrupt(["--sc_only", "--output_dir", out, big_l1c], home, out,
                                                   signal.SIGINT)
    assert staging, "SIGINT must arrive while the product is being built"
    assert status == 130, output
    assert "Traceback" not in output, output
    assert len(lines_with(output, "interrupted")) == 1, output
    assert leftovers(out) == []
    assert tree_hash(big_l1c) == before


# --------------------------------------------------------------------------------- item 6: determinism

@pytest.fixture(scope="module")
def two_runs(small_l1c_safe, tmp_path_factory) -> list[Path]:
    """Two ``--sc_only`` runs of the same input, in two output directories (a few seconds apart)."""
    base = tmp_path_factory.mktemp("determinism")
    products = []
    for i in (1, 2):
        res = l2a_process("--sc_only", "--output_dir", base / f"out{i}", small_l1c_safe, home=base / "home")
        assert res.returncode == 0, res.stdout + res.stderr
        products.append(only_product(base / f"out{i}"))
    return products


def test_two_runs_give_identical_images(two_runs):
    pixels = [image_pixels(p) for p in two_runs]
    assert pixels[0] and any(k.endswith("SCL_20m.jp2") for k in pixels[0])
    assert any(k.endswith("MSK_CLDPRB_20m.jp2") for k in pixels[0])
    assert pixels[0] == pixels[1]
    assert image_bytes(two_runs[0]) == image_bytes(two_runs[1]), "JP2 files must be byte-identical too"


_TIMES = re.compile(r"\d{8}T\d{6}|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?")
_CHECKSUM = re.compile(r"(<checksum[^>]*>)[0-9a-fA-F]+(</checksum>)")


def test_metadata_differs_only_by_generation_time(two_runs):
    """Apart from time stamps (and the manifest checksums of the files holding them) two runs write the same
    metadata: in particular no process id or staging path leaks into the product. The run report is left
    out: it is a log (times, process ids) by nature."""
    texts = []
    for product in two_runs:
        out = product.parent
        texts.append({_TIMES.sub("T", str(p.relative_to(product))):
                      _CHECKSUM.sub(r"\1MD5\2", _TIMES.sub("T", p.read_text(encoding="utf-8")))
                      .replace(str(out), "OUT")
                      for p in sorted(product.rglob("*"))
                      if p.suffix in (".xml", ".safe") and not p.name.endswith("_report.xml")})
    assert len(texts[0]) >= 5 and texts[0].keys() == texts[1].keys()
    differing = [k for k in texts[0] if texts[0][k] != texts[1][k]]
    assert not differing, differing


def test_product_never_references_its_staging_folder(two_runs):
    product = two_runs[0]
    leaks = [str(p.relative_to(product)) for p in product.rglob("*")
             if p.is_file() and STAGING_PREFIX.encode() in p.read_bytes()]
    assert not leaks, f"files pointing into the deleted staging folder: {leaks}"


# ----------------------------------------------------------------------- item 7: existing product name

class _FrozenClock(datetime):
    """``datetime`` whose ``now`` is fixed: two runs then want the same product name."""
    frozen = datetime(2031, 2, 3, 4, 5, 6, tzinfo=timezone.utc)

    @classmethod
    def now(cls, tz=None):
        return cls.frozen if tz is not None else cls.frozen.replace(tzinfo=None)


def test_existing_product_of_the_same_name_is_never_touched(l1c, tmp_path, home, monkeypatch, capsys):
    import sen2cor3.pipeline as pipeline
    monkeypatch.setattr(pipeline, "datetime", _FrozenClock)
    monkeypatch.setenv("SEN2COR_HOME", str(home))
    out = tmp_path / "out"
    status, output = _main_in_process(["--sc_only", "--output_dir", out, l1c], capsys)
    assert status == 0, output
    existing = only_product(out)
    assert "20310203T040506" in existing.name
    (existing / "user_notes.txt").write_text("added by the user after the first run")
    product_hash, input_hash = tree_hash(existing), tree_hash(l1c)

    status, output = _main_in_process(["--sc_only", "--output_dir", out, l1c], capsys)
    assert status != 0, output
    assert "Traceback" not in output
    assert len([ln for ln in lines_with(output, existing.name) if "already exists" in ln]) == 1, output
    assert [p.name for p in out.iterdir()] == [existing.name], "no staging folder or second product"
    assert tree_hash(existing) == product_hash
    assert tree_hash(l1c) == input_hash


def test_product_appearing_during_the_run_is_never_touched(l1c, tmp_path, home, monkeypatch, capsys):
    """Another process creates the same name while we run: our commit must refuse, not overwrite or nest."""
    import sen2cor3.pipeline as pipeline
    import sen2cor3.processing as processing
    monkeypatch.setattr(pipeline, "datetime", _FrozenClock)
    monkeypatch.setenv("SEN2COR_HOME", str(home))
    out = tmp_path / "out"
    real_process = processing.process_tile
    rival: list[Path] = []

    def process_then_rival_appears(product, l2a, *a, **kw):
        results = real_process(product, l2a, *a, **kw)
        final = out / l2a.product_dir.name
        final.mkdir()
        (final / "MTD_MSIL2A.xml").write_text("<rival/>")
        rival.append(final)
        return results

    monkeypatch.setattr(processing, "process_tile", process_then_rival_appears)
    before = tree_hash(l1c)
    status, output = _main_in_process(["--sc_only", "--output_dir", out, l1c], capsys)
    assert rival, "the run never reached processing"
    assert status != 0, output
    assert len([ln for ln in lines_with(output, rival[0].name) if "already exists" in ln
                or "appeared" in ln]) == 1, output
    assert [p.name for p in out.iterdir()] == [rival[0].name]
    assert [p.name for p in rival[0].iterdir()] == ["MTD_MSIL2A.xml"]
    assert (rival[0] / "MTD_MSIL2A.xml").read_text() == "<rival/>"
    assert tree_hash(l1c) == before
