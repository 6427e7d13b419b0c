"""Give the memory a finished step freed back to the system (glibc ``malloc_trim``).

Why: glibc keeps freed blocks in its heaps for reuse, one heap per thread that allocated (the strip threads,
the image writer). Arrays below its mmap threshold (adaptive, up to 32 MB: a working-grid field, a strip of a
band) live there, so after a step the resident size stays up to ~0.5 GB above what is still in use on a whole
Landsat scene, and the next step's arrays come on top. ``malloc_trim(0)`` returns every free page at once (a
few ms); elsewhere than glibc it is a no-op.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools


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


__all__ = ["release_free_memory"]
