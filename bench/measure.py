"""Measuring helpers shared by the benchmark: durations, percentiles, resident memory, folder sizes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

RSS_POLL_S = 0.01


def percentiles_ms(seconds: Sequence[float]) -> dict[str, float]:
    """Return p50/p95/p99 (milliseconds) of a list of durations in seconds."""
    values = np.asarray(seconds, dtype=np.float64) * 1000.0
    return {f"p{p}": float(np.percentile(values, p)) for p in (50, 95, 99)}


def latencies(run: Callable[[int], Any], count: int, *, warmup: int = 1) -> dict[str, float]:
    """Call `run(i)` for i in range(count) after `warmup` calls; return p50/p95/p99 in ms."""
    for i in range(warmup):
        run(i % max(count, 1))
    durations = []
    for i in range(count):
        started = time.perf_counter()
        run(i)
        durations.append(time.perf_counter() - started)
    return percentiles_ms(durations)


def rss_bytes(pid: int | None = None) -> int:
    """Return the resident set size of a process (this one by default)."""
    import psutil

    return int(psutil.Process(pid).memory_info().rss)


@contextmanager
def peak_rss_delta() -> Iterator[dict[str, int]]:
    """Yield a dict that holds, on exit, `peak`: the highest RSS above the starting RSS (bytes)."""
    result = {"peak": 0}
    start = rss_bytes()
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            result["peak"] = max(result["peak"], rss_bytes() - start)
            time.sleep(RSS_POLL_S)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join()
        result["peak"] = max(result["peak"], rss_bytes() - start)


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    """Return (seconds, result) of one call."""
    started = time.perf_counter()
    value = run()
    return time.perf_counter() - started, value


def files_bytes(paths: Sequence[Path]) -> int:
    """Return the total size of files (folders counted through every file inside them)."""
    total = 0
    for path in paths:
        path = Path(path)
        if path.is_dir():
            total += sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        else:
            total += path.stat().st_size
    return total


def load_average() -> tuple[float, float, float]:
    """Return the 1-, 5- and 15-minute load averages."""
    import os

    return os.getloadavg()
