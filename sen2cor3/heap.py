"""Give the memory a finished step freed back to the system (glibc ``malloc_trim``).

Why: glibc keeps freed blocks in its heaps for reuse, one heap per thread that allocated (the strip threads,
the image writer). Arrays below its mmap threshold (adaptive, up to 32 MB: a working-grid field, a strip of a
band) live there, so after a step the resident size stays up to ~0.5 GB above what is still in use on a whole
Landsat scene, and the next step's arrays come on top. ``malloc_trim(0)`` returns every free page at once (a
few ms); elsewhere than glibc it is a no-op. ``no_huge_pages``: a processing run's arrays in ordinary pages.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os


@functools.lru_cache(maxsize=1)
def _trim():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None


def release_free_memory() -> None:
    """Return the heaps' free pages to the system (after a step that freed large arrays)."""
    trim = _trim()
    if trim is not None:
        trim(0)


def no_huge_pages() -> None:
    """Stop numpy asking the kernel for transparent huge pages (its ``madvise(MADV_HUGEPAGE)`` on each new array
    of 4 MB or more), unless ``NUMPY_MADVISE_HUGEPAGE`` is set in the environment (numpy then follows it).

    Why: the processor makes and frees large arrays all the time (row blocks, strips, 10 m fields), and with the
    kernel's THP ``defrag`` at ``madvise`` (a common default, this machine's) a fault in such an array may
    compact memory synchronously to find a 2 MB page. On the 2-core benchmark VM that was most of the system
    time of a 1/4 tile with a DEM (sys 25 -> 10 s of ~112 s CPU, the same user time and peak RSS)."""
    if os.environ.get("NUMPY_MADVISE_HUGEPAGE") is not None:
        return
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:                          # numpy < 2
        try:
            from numpy.core.multiarray import _set_madvise_hugepage
        except ImportError:
            return
    _set_madvise_hugepage(False)


__all__ = ["no_huge_pages", "release_free_memory"]
