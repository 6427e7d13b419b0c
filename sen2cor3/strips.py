"""Row strips of a grid, run on the machine's two cores.

Why: the per-pixel steps of the classification (spectral tests, radiometric shadow test, recoveries) are numpy
operations on a few rows at a time, and numpy releases the GIL inside them, so two strips run on two cores. The
correction uses them for its relief terms (``ac.atmos.TermGrid.block``) and the slope/aspect strips; its
inversion stays on one thread (the second core encodes the images there, and faster inversions only filled the
writer's queue, +0.16 GB on a quarter tile). Every caller's strips
write disjoint rows of their outputs and read nothing another strip writes: the result does not depend on the
order the strips run in (bit-identical to a plain loop).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:                    # not Linux
        return os.cpu_count() or 1


#: Threads for the strip-wise steps: two (Sen2Cor runs on two cores or more; more threads only add memory).
THREADS = min(2, _cores())


def row_strips(n_rows: int, rows: int, halo: int = 0) -> Iterator[tuple[int, int, int, int]]:
    """(r0, r1, h0, h1): strips of ``rows`` rows and the rows read around each (``halo`` on each side)."""
    for r0 in range(0, n_rows, rows):
        r1 = min(n_rows, r0 + rows)
        yield r0, r1, max(0, r0 - halo), min(n_rows, r1 + halo)


def run_strips(fn: Callable[..., Any], items: Iterable[tuple], threads: int | None = None) -> list:
    """``[fn(*item) for item in items]``, on ``threads`` (default THREADS) threads when there are several items."""
    items = list(items)
    n = THREADS if threads is None else threads
    if len(items) < 2 or n < 2:
        return [fn(*it) for it in items]
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="strips") as pool:
        return [f.result() for f in [pool.submit(fn, *it) for it in items]]


__all__ = ["THREADS", "row_strips", "run_strips"]
