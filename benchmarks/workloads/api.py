"""Workload 4: the API over HTTP against gunicorn (``DEBUG=0``, 2 sync workers) on the scratch
database, next to its floor: bare Django views returning the same rows with ``.values()``
(``benchmarks.urls``) on the same server and settings.

Pages of 100 rows: payments (first page, filtered by status and branch, a deep cursor page 90 %
down), payouts (first page, filtered by status), the biggest payout's detail (its first page of
payments) and a deep page of its lines, exceptions. Each target runs ``repeat`` rounds of
``seconds`` with ``CONCURRENCY`` clients (``benchmarks.loader``), alternating with its floor;
reported: p95 latency (median of the rounds' p95, with p50 and p99 of the last round) and
throughput, each with its ratio to the floor, and the SQL statements per page (counted in process
with Django's test client on the same database, after a warm-up request).

The API's rate limit is raised for the run (``PAYOPS_API_RATE=1000000/second``: a per-second
window keeps DRF's throttle history short; a per-minute rate at this volume would grow it to
thousands of timestamps read and written per request).
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from benchmarks.harness import ROOT, Result, load
from benchmarks.loader import hammer

NAME = "api"
TITLE = "(4) the API over HTTP (gunicorn, DEBUG=0, 2 workers)"
ORDER = 4
PORT = int(os.environ.get("BENCH_PORT", "8914"))
CONCURRENCY = 2


def cursor(position: int) -> str:
    """DRF's cursor for "the page after ``position``" (newest first or line order)."""
    return base64.b64encode(urlencode({"p": position}).encode()).decode()


def targets(ctx) -> list[tuple[str, str, str | None]]:
    """(name, API path, floor path)."""
    from payouts.models import Payout, PayoutLine

    data = ctx.data
    org = f"org={data.organization_id}"
    deep = data.first_id + data.size // 10  # 90 % of the merchant's payments are newer
    big = (
        Payout.objects.filter(recipient_id=data.big_recipient_id, accounting_period=data.period_id)
        .order_by("-payment_count")
        .values_list("pk", "payment_count")
        .first()
    )
    out = [
        ("payments page 1", "/api/v1/payments/?page_size=100", f"/bench/floor/payments/?{org}"),
        (
            "payments status+branch",
            "/api/v1/payments/?status=verified&branch=b03&page_size=100",
            f"/bench/floor/payments/?{org}&status=verified&branch__code=b03",
        ),
        (
            "payments deep cursor",
            f"/api/v1/payments/?page_size=100&cursor={cursor(deep)}",
            f"/bench/floor/payments/?{org}&before={deep}",
        ),
        ("payouts page 1", "/api/v1/payouts/?page_size=100", f"/bench/floor/payouts/?{org}"),
        (
            "payouts status",
            "/api/v1/payouts/?status=requested&page_size=100",
            f"/bench/floor/payouts/?{org}&status=requested",
        ),
        (
            "exceptions page 1",
            "/api/v1/exceptions/?page_size=100",
            f"/bench/floor/exceptions/?{org}",
        ),
    ]
    if big:
        pk, lines = big
        middle = (
            PayoutLine.objects.filter(payout_id=pk).order_by("id").values_list("id", flat=True)
        )[lines // 2]
        out += [
            (
                f"payout detail ({lines:,} lines)",
                f"/api/v1/payouts/{pk}/",
                f"/bench/floor/payouts/{pk}/?{org}",
            ),
            (
                "payout lines, middle page",
                f"/api/v1/payouts/{pk}/lines/?cursor={cursor(middle)}",
                None,
            ),
        ]
    return out


def _server(ctx):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
        "DEBUG": "0",
        "DATABASE_URL": ctx.database_url,
        "PAYOPS_API_RATE": "1000000/second",
        "PAYOPS_DOTENV": "/dev/null",
        "SECURE_SSL_REDIRECT": "0",
        # The sandbox gateway (workload 5) answers its lookups in process, as in development.
        "PAYOPS_SANDBOX": "1",
        "PAYOPS_BASE_URL": f"http://127.0.0.1:{PORT}",
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), "config.wsgi", "--bind", f"127.0.0.1:{PORT}", "--workers", "2"]
    command += ["--timeout", "120", "--log-level", "warning"]
    log = ROOT / "var" / "bench" / "gunicorn.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as sink:  # the server's own log lines (INFO in production settings)
        process = subprocess.Popen(  # noqa: S603 - our own server
            command, cwd=ROOT, env=env, stdout=sink, stderr=sink
        )
    for _ in range(120):
        try:
            if httpx.get(f"http://127.0.0.1:{PORT}/healthz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.terminate()
    raise RuntimeError("gunicorn did not answer /healthz")


def _queries(token: str, path: str) -> int | None:
    """SQL statements of one request (after a warm-up one); None when the path does not answer
    200 (an older checkout without that endpoint: the target is skipped)."""
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    if client.get(path, SERVER_NAME="127.0.0.1").status_code != 200:
        return None
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, SERVER_NAME="127.0.0.1")
    assert response.status_code == 200, response.content[:300]
    return len(queries)


def _ensure_built(ctx) -> None:
    from core.actors import system_actor
    from payouts import services
    from payouts.models import Payout, PayoutPeriod

    if not Payout.objects.filter(accounting_period=ctx.data.period_id).exists():
        period = PayoutPeriod.objects.get(pk=ctx.data.period_id)
        services.payout_period_build(period=period, actor=system_actor("benchmark"))


def run(ctx) -> list[Result]:
    _ensure_built(ctx)
    from benchmarks.data import analyze

    analyze()
    seconds = 0.75 if ctx.size <= 30_000 else 3.0
    headers = {"Authorization": f"Token {ctx.data.token}"}
    server = _server(ctx)
    results = []
    try:
        base = f"http://127.0.0.1:{PORT}"
        for name, path, floor_path in targets(ctx):
            queries = _queries(ctx.data.token, path)
            if queries is None:
                print(f"  {name}: {path} does not answer 200 here, skipped", flush=True)
                continue
            for url in (path, floor_path):  # warm both workers' caches and connections
                if url:
                    hammer(base + url, headers=headers, concurrency=CONCURRENCY, seconds=0.3)
            app, floor = [], []
            for _ in range(ctx.repeat):
                app.append(
                    hammer(base + path, headers=headers, concurrency=CONCURRENCY, seconds=seconds)
                )
                if floor_path:
                    floor.append(
                        hammer(
                            base + floor_path, headers={}, concurrency=CONCURRENCY, seconds=seconds
                        )
                    )
            last = app[-1]
            results.append(
                Result(
                    NAME,
                    f"{name} p95",
                    "ms",
                    [r["p95"] for r in app],
                    [r["p95"] for r in floor] or None,
                    extra={
                        "p50": f"{last['p50']:.1f}",
                        "p99": f"{last['p99']:.1f}",
                        "queries": queries,
                        "load": f"{load():.2f}",
                    },
                )
            )
            results.append(
                Result(
                    NAME,
                    f"{name} throughput",
                    "req/s",
                    [r["rps"] for r in app],
                    [r["rps"] for r in floor] or None,
                    higher_is_better=True,
                )
            )
    finally:
        server.terminate()
        server.wait(30)
    return results
