"""Build a product in a hidden staging folder of the output directory and move it into place only when complete.

Why: scripts (sen2like, batch wrappers) take the only folder in the output directory as the product, so a
failed, interrupted or killed run must leave no folder behind, and a finished product must appear atomically
(``os.rename`` within one file system). A killed run (SIGKILL) cannot clean up; the next run removes staging
folders whose owning process is gone.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

STAGING_PREFIX = ".sen2cor3-staging-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_staging(output_dir: Path) -> list[Path]:
    """Remove staging folders left by runs that died (their pid no longer exists); return what was removed."""
    removed = []
    if not output_dir.is_dir():
        return removed
    for entry in output_dir.iterdir():
        if not (entry.name.startswith(STAGING_PREFIX) and entry.is_dir()):
            continue
        try:
            pid = int(entry.name[len(STAGING_PREFIX):].split("-")[0])
        except ValueError:
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


class StagingArea:
    """Context manager: ``with StagingArea(out, name) as stage: ...build stage.product_dir...; stage.commit()``.

    Leaving the block without ``commit()`` (an exception, Ctrl-C, SIGTERM turned into an exception) removes
    everything that was written.
    """

    def __init__(self, output_dir: Path, product_dir_name: str, replace: bool = False) -> None:
        """``replace``: a product of the same name already in ``output_dir`` is replaced at :meth:`commit` (the
        old one stays until the new one is complete), instead of stopping the run."""
        self.replace = replace
        self.output_dir = Path(output_dir)
        self.final_path = self.output_dir / product_dir_name
        self.root = self.output_dir / f"{STAGING_PREFIX}{os.getpid()}-{product_dir_name}"
        self.product_dir = self.root / product_dir_name
        self.committed = False

    def __enter__(self) -> "StagingArea":
        if self.final_path.exists() and not self.replace:
            raise FileExistsError(f"{self.final_path}: an L2A product of this name already exists; "
                                  "it is left untouched")
        self.root.mkdir()
        self.product_dir.mkdir()
        return self

    def commit(self) -> Path:
        """Move the finished product into the output directory (atomic rename) and drop the staging folder."""
        if self.final_path.exists():
            if not self.replace:
                raise FileExistsError(f"{self.final_path}: an L2A product of this name appeared during the run; "
                                      "it is left untouched")
            # the old product moves into the staging folder (removed below) and the new one takes its name
            os.rename(self.final_path, self.root / (".previous-" + self.final_path.name))
        os.rename(self.product_dir, self.final_path)
        self.committed = True
        shutil.rmtree(self.root, ignore_errors=True)
        return self.final_path

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.root.exists():
            shutil.rmtree(self.root, ignore_errors=True)
