"""Background threads for image encoding and L1C prefetching.

Why: on a full tile the JPEG 2000 codec work (decode ~7 s, encode ~8 s per 10 m band) is most of the run,
while the numpy science runs on one core. GDAL releases the GIL while it decodes/encodes, so one writer
thread and one reader thread keep the second core busy during scene classification and correction.
Jobs run one at a time per thread, in submission order; ``max_pending`` bounds the arrays waiting in memory.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

__all__ = ["BackgroundWriter", "Prefetcher"]


class BackgroundWriter:
    """Run write jobs on one worker thread, at most ``max_pending`` queued or running at a time.

    A failed job's exception is raised again by the next :meth:`submit` or by :meth:`drain`, so an error
    (disk full, read-only folder) stops the run as a synchronous write would. ``enabled=False`` runs every
    job at once in the caller's thread (same results, for debugging and small images).
    """

    def __init__(self, max_pending: int = 2, enabled: bool = True, name: str = "l2a-writer") -> None:
        self.enabled = enabled
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name) if enabled else None
        self._slots = threading.BoundedSemaphore(max(1, max_pending))
        self._futures: list[Future] = []

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Queue ``fn(*args, **kwargs)``; blocks while ``max_pending`` jobs are unfinished."""
        self._raise_failed()
        if self._pool is None:
            fn(*args, **kwargs)
            return
        self._slots.acquire()
        try:
            fut = self._pool.submit(fn, *args, **kwargs)
        except BaseException:
            self._slots.release()
            raise
        fut.add_done_callback(lambda _f: self._slots.release())
        self._futures.append(fut)

    def _raise_failed(self) -> None:
        for f in self._futures:
            if f.done() and not f.cancelled() and f.exception() is not None:
                raise f.exception()
        self._futures = [f for f in self._futures if not f.done()]

    def drain(self) -> None:
        """Wait for every queued job; raise the first failure."""
        for f in list(self._futures):
            f.result()
        self._futures.clear()

    def abort(self) -> None:
        """Drop queued jobs and wait for the running one (its file is a hidden temporary until renamed), so
        that nothing writes into the staging folder after the caller removes it."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._futures.clear()

    def close(self) -> None:
        """Finish every job (raising a failure) and stop the thread."""
        try:
            self.drain()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class Prefetcher:
    """Start reads on one background thread now, collect their results later (in any order).

    ``get(key)`` returns the result (raising the read's exception); ``discard()`` drops everything not yet
    collected and waits for the running read.
    """

    def __init__(self, enabled: bool = True, name: str = "l1c-reader") -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name) if enabled else None
        self._jobs: dict[Any, Future | tuple[Callable[..., Any], tuple, dict]] = {}

    def start(self, key: Any, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        if self._pool is None:
            self._jobs[key] = (fn, args, kwargs)          # run lazily in get()
        else:
            self._jobs[key] = self._pool.submit(fn, *args, **kwargs)

    def __contains__(self, key: Any) -> bool:
        return key in self._jobs

    def get(self, key: Any) -> Any:
        job = self._jobs.pop(key)
        if isinstance(job, Future):
            return job.result()
        fn, args, kwargs = job
        return fn(*args, **kwargs)

    def discard(self) -> None:
        self._jobs.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        self.discard()
