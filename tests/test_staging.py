"""Staging: a product appears whole or not at all; dead runs' leftovers are swept."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sen2cor3.products.staging import STAGING_PREFIX, StagingArea, remove_stale_staging


def test_commit_moves_product_and_leaves_no_other_folder(tmp_path):
    with StagingArea(tmp_path, "P.SAFE") as stage:
        (stage.product_dir / "MTD_MSIL2A.xml").write_text("<x/>")
        final = stage.commit()
    assert final == tmp_path / "P.SAFE" and (final / "MTD_MSIL2A.xml").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["P.SAFE"]


def test_error_inside_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with StagingArea(tmp_path, "P.SAFE") as stage:
            (stage.product_dir / "half.jp2").write_bytes(b"x")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_existing_product_is_never_touched(tmp_path):
    existing = tmp_path / "P.SAFE"
    existing.mkdir()
    (existing / "keep").write_text("data")
    with pytest.raises(FileExistsError):
        with StagingArea(tmp_path, "P.SAFE"):
            pass
    assert (existing / "keep").read_text() == "data"
    assert [p.name for p in tmp_path.iterdir()] == ["P.SAFE"]


def test_stale_staging_of_dead_process_is_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f"{STAGING_PREFIX}{dead}-P.SAFE"
    (stale / "P.SAFE").mkdir(parents=True)
    alive = tmp_path / f"{STAGING_PREFIX}{os.getppid()}-Q.SAFE"
    alive.mkdir()
    assert remove_stale_staging(tmp_path) == [stale]
    assert not stale.exists() and alive.exists()
