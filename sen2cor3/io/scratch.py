"""Arrays parked outside memory between the 20 m and the 10 m run.

Why: the 20 m run decodes the 10 m JPEG 2000 bands B02, B03, B04 at full resolution to average them; the 10 m
run needs exactly those pixels again. Decoding a full 10 m band costs ~7.5 s (~15 s of CPU with two codec
threads); writing its 241 MB of uint16 to a local file and reading it back costs well under a second, and
keeping the three bands in memory would add ~0.7 GB to the run's peak. The folder lives inside the staging
area, so a failed or interrupted run removes it with everything else.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["ScratchArrays"]


class ScratchArrays:
    """``put(name, array)`` parks an array (a file under ``folder``, or memory when ``folder`` is None);
    ``take(name)`` returns it once and forgets it; ``names`` lists what is parked."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = None if folder is None else Path(folder)
        self._memory: dict[str, np.ndarray] = {}
        self._files: dict[str, Path] = {}

    @property
    def names(self) -> set[str]:
        return set(self._memory) | set(self._files)

    def __contains__(self, name: str) -> bool:
        return name in self._memory or name in self._files

    def put(self, name: str, array: np.ndarray) -> None:
        if self.folder is None:
            self._memory[name] = array
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{name}.npy"
        np.save(path, np.ascontiguousarray(array), allow_pickle=False)
        self._files[name] = path

    def take(self, name: str) -> np.ndarray:
        if name in self._memory:
            return self._memory.pop(name)
        path = self._files.pop(name)
        try:
            return np.load(path, allow_pickle=False)
        finally:
            path.unlink(missing_ok=True)

    def clear(self) -> None:
        self._memory.clear()
        for path in self._files.values():
            path.unlink(missing_ok=True)
        self._files.clear()
