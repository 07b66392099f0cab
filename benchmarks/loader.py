"""A small bounded HTTP load generator (no load tool installs cleanly here: oha is neither in
Debian 12 nor on PyPI, locust brings gevent): ``concurrency`` threads, each with its own
keep-alive ``httpx.Client``, send GETs back to back for ``seconds``; every answer must be 200.
Latencies are wall times per request as the client sees them (queueing in gunicorn included)."""

from __future__ import annotations

import statistics
import threading
import time

import httpx


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def hammer(url: str, *, headers: dict, concurrency: int, seconds: float) -> dict:
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors: list[str] = []
    deadline = time.perf_counter() + seconds

    def worker(i: int) -> None:
        with httpx.Client(headers=headers, timeout=60) as client:
            mine = latencies[i]
            while True:  # at least one request, however slow the machine (a loaded CI)
                started = time.perf_counter()
                response = client.get(url)
                mine.append(time.perf_counter() - started)
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {response.text[:200]}")
                    return
                if time.perf_counter() >= deadline:
                    return

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{url}: {errors[0]}")
    every = [x * 1000 for sub in latencies for x in sub]
    return {
        "p50": percentile(every, 50),
        "p95": percentile(every, 95),
        "p99": percentile(every, 99),
        "mean": statistics.fmean(every),
        "rps": len(every) / wall,
        "n": len(every),
    }
