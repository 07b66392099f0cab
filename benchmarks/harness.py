"""The benchmark harness: a scratch PostgreSQL database per size, filled by COPY
(``benchmarks.data``), then each registered workload (``benchmarks/workloads/<name>.py``) run
several times next to its floor measured in the same run; medians, spreads and ratios printed and
written to ``var/bench/<size>.json``.

    python -m benchmarks --sizes 10k,100k,1m [--only payout_build,api] [--repeat 3]

A workload module defines ``NAME``, ``TITLE``, ``ORDER`` and ``run(ctx) -> list[Result]``; it
times the application path and its floor itself (``ctx.timed`` and ``ctx.psql``).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib
import json
import logging
import os
import pkgutil
import platform
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"10k": 10_000, "30k": 30_000, "100k": 100_000, "300k": 300_000, "1m": 1_000_000}
PRESETS = {"small": ["10k"], "large": ["10k", "100k", "1m"]}


@dataclasses.dataclass
class Result:
    """One measured thing of a workload: the application's samples and its floor's."""

    workload: str
    name: str
    unit: str  # "s" (wall time per run) or "ms" (latency percentiles) or "req/s"
    samples: list[float]
    floor: list[float] | None = None
    extra: dict = dataclasses.field(default_factory=dict)
    higher_is_better: bool = False

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def floor_median(self) -> float | None:
        return statistics.median(self.floor) if self.floor else None

    @property
    def ratio(self) -> float | None:
        if not self.floor:
            return None
        if self.higher_is_better:  # throughput: floor / app (how many times slower)
            return self.floor_median / self.median if self.median else None
        return self.median / self.floor_median if self.floor_median else None

    def line(self) -> str:
        spread = f"{min(self.samples):.3g}-{max(self.samples):.3g}"
        floor = (
            f"  floor {self.floor_median:.3g} {self.unit}  ratio {self.ratio:.2f}x"
            if self.floor
            else ""
        )
        extra = "  " + " ".join(f"{k}={v}" for k, v in self.extra.items()) if self.extra else ""
        head = f"  {self.name:<40} median {self.median:.3g} {self.unit}"
        return f"{head} ({spread}, n={len(self.samples)}){floor}{extra}"


@dataclasses.dataclass
class Context:
    """What a workload gets: the size, the data's handles (``benchmarks.data.Dataset``), the
    repeat count, and helpers."""

    size: int
    repeat: int
    data: object
    database_url: str

    def psql(self, sql: str) -> float:
        """Run ``sql`` through psql (one session, ON_ERROR_STOP); returns its wall time."""
        started = time.perf_counter()
        sh(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", self.database_url],
            input=sql,
            text=True,
            check=True,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"},
        )
        return time.perf_counter() - started


def sh(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run one of the harness's own commands (psql, free)."""
    return subprocess.run(cmd, **kwargs)  # noqa: S603 - fixed argument lists


def load() -> float:
    """The 1-minute load average (the machine is shared: every figure carries it)."""
    return os.getloadavg()[0]


def workloads(only: list[str] | None = None) -> list:
    from benchmarks import workloads as package

    modules = [
        importlib.import_module(f"benchmarks.workloads.{info.name}")
        for info in pkgutil.iter_modules(package.__path__)
        if not info.name.startswith("_")
    ]
    modules = [m for m in modules if only is None or m.NAME in only]
    return sorted(modules, key=lambda m: m.ORDER)


def scratch_url(name: str) -> str:
    base = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
    return f"{base}/{name}"


def scratch_create(name: str) -> None:
    admin = scratch_url("postgres")
    for sql in (f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'):
        sh(["psql", "-X", "-q", admin, "-c", sql], check=True)


def machine() -> dict:
    def out(*cmd):
        try:
            return sh(list(cmd), capture_output=True, text=True, check=True).stdout.strip()
        except Exception:  # a tool missing on this machine
            return "?"

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": out("sh", "-c", "free -h | awk '/Mem:/ {print $2}'"),
        "python": platform.python_version(),
        "postgresql": out(
            "psql", "-X", "-At", scratch_url("postgres"), "-c", "SHOW server_version"
        ),
        "os": platform.platform(),
    }


def run_size(label: str, args) -> list[Result]:
    size = SIZES[label]
    name = args.database
    url = scratch_url(name)
    os.environ["DATABASE_URL"] = url
    import django
    from django.db import connections

    connections.close_all()
    scratch_create(name)
    if not getattr(run_size, "setup", False):
        django.setup()
        run_size.setup = True
    from django.conf import settings

    settings.DATABASES["default"]["NAME"] = name  # the same process, a new scratch database
    connections.close_all()
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrated = time.perf_counter() - started
    from benchmarks import data

    started = time.perf_counter()
    dataset = data.populate(size)
    print(
        f"\n== {label}: {dataset.describe()} (migrate {migrated:.1f} s, data by COPY "
        f"{time.perf_counter() - started:.1f} s, load {load():.2f})",
        flush=True,
    )
    ctx = Context(size=size, repeat=args.repeat, data=dataset, database_url=url)
    results = []
    for module in workloads(args.only):
        print(f"-- {module.TITLE} (load {load():.2f})", flush=True)
        for result in module.run(ctx):
            result.extra.setdefault("load", f"{load():.2f}")
            print(result.line(), flush=True)
            results.append(result)
    connections.close_all()
    if not args.keep:
        drop = f'DROP DATABASE "{name}" WITH (FORCE)'
        sh(["psql", "-X", "-q", scratch_url("postgres"), "-c", drop], check=False)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description="payops benchmarks (BENCHMARKS.md)")
    parser.add_argument("--sizes", default="small", help="small, large, or e.g. 10k,100k,1m")
    parser.add_argument("--only", default=None, help="workload names, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database", default=os.environ.get("BENCH_DB", "payops_bench_scratch"))
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--port",
        default=os.environ.get("BENCH_PORT", "8914"),
        help="the port of the gunicorn the HTTP workloads start (BENCH_PORT)",
    )
    args = parser.parse_args()
    os.environ["BENCH_PORT"] = str(int(args.port))  # read by benchmarks.workloads.api
    args.only = args.only.split(",") if args.only else None
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    # The production settings (no query log); a throwaway key for the run.
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_urlsafe(50))
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("PAYOPS_DOTENV", "/dev/null")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not os.environ.get("REDIS_URL"):
        sys.exit("Set REDIS_URL (the API's rate limit and the broker, as in production).")
    labels = PRESETS.get(args.sizes, args.sizes.split(","))
    info = machine()
    print(f"machine: {info}", flush=True)
    everything = {}
    for label in labels:
        started = time.perf_counter()
        results = run_size(label, args)
        everything[label] = [dataclasses.asdict(r) | {"ratio": r.ratio} for r in results]
        print(f"== {label} done in {time.perf_counter() - started:.0f} s", flush=True)
        out = ROOT / "var" / "bench"
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{label}.json").write_text(
            json.dumps(
                {
                    "machine": info,
                    "at": dt.datetime.now(dt.UTC).isoformat(),
                    "results": everything[label],
                },
                indent=1,
                default=str,
            )
        )
    _growth(everything)


def _growth(everything: dict) -> None:
    """Per measured thing, its median at each size; for times, also the time per row relative to
    the smallest size (1.00 everywhere = linear; less = better than linear)."""
    if len(everything) < 2:
        return
    print("\n== growth (median at each size; for times, per-row time relative to the smallest)")
    names: dict = {}
    for label, rows in everything.items():
        for row in rows:
            names.setdefault((row["workload"], row["name"].split(" (")[0], row["unit"]), {})[
                label
            ] = row
    for (workload, name, unit), by_label in names.items():
        cells, base = [], None
        for label, row in by_label.items():
            median = statistics.median(row["samples"])
            if unit == "s":
                per_row = median / SIZES[label]
                base = base or per_row
                cells.append(f"{label} {median:.3g} s ({per_row / base:.2f})")
            else:
                cells.append(f"{label} {median:.3g} {unit}")
        print(f"  {workload}/{name}: " + "  ".join(cells))
