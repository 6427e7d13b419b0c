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

__all__ = ["RowFile", "ScratchArrays"]


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


class RowFile:
    """A 2-D array parked in a raw file (C order) block of rows by block of rows as it is made (``append``, in
    row order), read back by rows (``rows``) once ``close``d.

    Why: an image that several steps read block by block (the 10 m run's illumination, the base run's DN bands)
    need not stay in memory between them: the file's pages sit in the page cache, outside the process's
    resident memory, and a block read back costs a copy."""

    def __init__(self, path: Path, ncols: int, dtype) -> None:
        self.path, self.ncols, self.dtype = Path(path), int(ncols), np.dtype(dtype)
        self.nrows = 0
        self._out = open(self.path, "wb")

    @classmethod
    def of(cls, path: Path, array: np.ndarray) -> "RowFile":
        """A whole array parked at once."""
        f = cls(path, array.shape[1], array.dtype)
        f.append(array)
        f.close()
        return f

    @property
    def shape(self) -> tuple[int, int]:
        return self.nrows, self.ncols

    def append(self, rows: np.ndarray) -> None:
        a = np.ascontiguousarray(rows, self.dtype)
        if a.ndim != 2 or a.shape[1] != self.ncols:
            raise ValueError(f"{self.path}: rows of shape {a.shape}, {self.ncols} columns expected")
        a.tofile(self._out)
        self.nrows += a.shape[0]

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def rows(self, r0: int, r1: int) -> np.ndarray:
        out = np.empty((r1 - r0, self.ncols), self.dtype)
        with open(self.path, "rb") as f:
            f.seek(r0 * self.ncols * self.dtype.itemsize)
            if f.readinto(out) != out.nbytes:
                raise OSError(f"{self.path}: scratch file truncated")
        return out

    def remove(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)
