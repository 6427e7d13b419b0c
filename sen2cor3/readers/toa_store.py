"""TOA bands kept as their L1 digital numbers and turned into float32 reflectance where a step reads them.

Why: a float32 TOA band takes twice the memory of its uint16 DN, and a run holds every band of its grid from
the classification to the correction. A full Landsat scene (7686 x 7686 px, eight reflective bands) needed
1.9 GB for float32 TOA alone; as DN it needs 0.95 GB, and each step converts only the band (or the rows of it)
it is working on. The conversion is the reader's own (``reader.toa``), applied to the same DN, so every value
is bit-identical to converting once up front; it costs one multiply-add pass per read (about 0.3 s for a full
Landsat band), far less than the page faults of the full-size arrays it saves.

A band given as float32 (e.g. Sentinel-2 20 m bands averaged from 10 m DN, or a band a step replaced) is kept
as it is and returned as the same array on every read, like a dict entry.

With a ``spill_dir`` (a folder of the staging area) the DN go to a raw file there instead of memory, and each
read takes the rows it needs from it (the page cache serves them: a memory copy, no decoding). The run then
holds none of its input bands between the steps that read them: the classification and the correction of a
full Landsat scene peaked ~0.9 GB lower. Sen2Cor keeps its intermediate bands in files too (its image database).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path

import numpy as np

from sen2cor3.io.scratch import RowFile

Converter = Callable[[str, np.ndarray], np.ndarray]


class ToaBands(MutableMapping):
    """{band: TOA reflectance float32}, stored as DN where the reader gave integers.

    ``toa[name]`` converts the whole band (a new array on each read of a DN band); ``toa.rows(name, r0, r1)``
    converts only those rows; ``toa.is_zero(name)`` is ``toa[name] == 0`` without a float32 copy of the band
    staying alive. Assigning a float32 array replaces the band (its DN are dropped)."""

    def __init__(self, convert: Converter, spill_dir: Path | None = None):
        self._convert = convert
        self._spill_dir = None if spill_dir is None else Path(spill_dir)
        # name -> (is_dn, array or RowFile); insertion order kept
        self._bands: dict[str, tuple[bool, np.ndarray | RowFile]] = {}

    def put_dn(self, name: str, dn: np.ndarray) -> None:
        """Keep band ``name`` as DN (integers); float arrays are converted now (their values are not DN)."""
        if not np.issubdtype(dn.dtype, np.integer):
            self._bands[name] = (False, self._convert(name, dn))
        elif self._spill_dir is not None and dn.ndim == 2:
            self._spill_dir.mkdir(parents=True, exist_ok=True)
            self._bands[name] = (True, RowFile.of(self._spill_dir / f"{name}.dn", dn))
        else:
            self._bands[name] = (True, dn)

    def __getitem__(self, name: str) -> np.ndarray:
        is_dn, a = self._bands[name]
        return self._convert(name, _dn_rows(a, 0, a.shape[0])) if is_dn else a

    def rows(self, name: str, r0: int, r1: int) -> np.ndarray:
        """TOA of rows r0:r1 of band ``name`` (a view for float bands, a small new array for DN bands)."""
        is_dn, a = self._bands[name]
        return self._convert(name, _dn_rows(a, r0, r1)) if is_dn else a[r0:r1]

    def is_zero(self, name: str) -> np.ndarray:
        """True where the band's TOA is exactly 0 (Sen2Cor's no-data rule), converted strip by strip."""
        is_dn, a = self._bands[name]
        if not is_dn:
            return a == 0
        out = np.empty(a.shape, bool)
        step = max(1, (1 << 22) // max(a.shape[-1], 1))
        for r0 in range(0, a.shape[0], step):
            r1 = min(a.shape[0], r0 + step)
            out[r0:r1] = self._convert(name, _dn_rows(a, r0, r1)) == 0
        return out

    @property
    def shape(self) -> tuple[int, ...]:
        return next(iter(self._bands.values()))[1].shape

    def __setitem__(self, name: str, value: np.ndarray) -> None:
        self._drop(name)
        self._bands[name] = (False, value)

    def __delitem__(self, name: str) -> None:
        self._drop(name)
        del self._bands[name]

    def _drop(self, name: str) -> None:
        entry = self._bands.get(name)
        if entry is not None and isinstance(entry[1], RowFile):
            entry[1].remove()

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._bands))

    def __len__(self) -> int:
        return len(self._bands)

    def __contains__(self, name: object) -> bool:
        return name in self._bands

    def clear(self) -> None:
        for name in list(self._bands):  # MutableMapping.clear would convert every band through popitem
            self._drop(name)
        self._bands.clear()


def _dn_rows(a, r0: int, r1: int) -> np.ndarray:
    return a.rows(r0, r1) if isinstance(a, RowFile) else a[r0:r1]


def band_rows(toa, name: str, r0: int, r1: int) -> np.ndarray:
    """Rows r0:r1 of band ``name`` of a :class:`ToaBands` or of a plain {band: array} dict."""
    return toa.rows(name, r0, r1) if isinstance(toa, ToaBands) else toa[name][r0:r1]


__all__ = ["ToaBands", "band_rows"]
