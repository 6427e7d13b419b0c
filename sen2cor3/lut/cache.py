"""Resumable on-disk cache of finished 6S runs (sqlite, keyed by a hash of the deck)."""
from __future__ import annotations

import json
import sqlite3
import time
from multiprocessing import Pool
from pathlib import Path

from sen2cor3.rt.sixs import SixsResult, deck_key, run_sixs

CACHE_DIR = Path(__file__).resolve().parents[2] / ".lut_cache"


class RunCache:
    def __init__(self, path: Path | None = None):
        self.path = path or CACHE_DIR / "runs.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path)
        self.db.execute("CREATE TABLE IF NOT EXISTS runs (key TEXT PRIMARY KEY, result TEXT)")

    def get_many(self, keys: list[str]) -> dict[str, SixsResult]:
        out = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            q = "SELECT key, result FROM runs WHERE key IN (%s)" % ",".join("?" * len(chunk))
            for k, r in self.db.execute(q, chunk):
                out[k] = SixsResult.from_dict(json.loads(r))
        return out

    def put_many(self, items: list[tuple[str, SixsResult]]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO runs VALUES (?, ?)",
                            [(k, json.dumps(r.to_dict())) for k, r in items])
        self.db.commit()


def _work(args):
    key, deck = args
    return key, run_sixs(deck, timeout=120)


def run_cached(decks: list[str], cache: RunCache, processes: int = 2, log=print) -> dict[str, SixsResult]:
    """Results for all decks (keyed by deck_key); missing ones are run in ``processes`` workers."""
    keys = [deck_key(d) for d in decks]
    have = cache.get_many(sorted(set(keys)))
    todo = {}
    for k, d in zip(keys, decks):
        if k not in have:
            todo[k] = d
    log(f"{len(decks)} runs: {len(have)} cached, {len(todo)} to run")
    if todo:
        t0, buf, done = time.time(), [], 0
        with Pool(processes) as pool:
            for k, res in pool.imap_unordered(_work, list(todo.items()), chunksize=4):
                have[k] = res
                buf.append((k, res))
                done += 1
                if len(buf) >= 100:
                    cache.put_many(buf)
                    buf = []
                    el = time.time() - t0
                    log(f"  {done}/{len(todo)} done, {el:.0f} s, eta {el / done * (len(todo) - done):.0f} s")
        cache.put_many(buf)
    return have
