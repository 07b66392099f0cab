"""Workload 5: provider callback ingest over HTTP (gunicorn, ``DEBUG=0``, 2 workers): signed
``deposited`` callbacks of the sandbox gateway (BPC protocol) for pending payments whose orders
the gateway holds as paid; payops verifies the checksum, stores and claims the callback, looks
the order up (in process) and verifies the payment with its audit rows. Each callback is sent
twice: the second copy must be answered as a duplicate with no second effect (checked after the
run: each payment verified once, one ``processed`` row per payment).

Floor: a bare Django view on the same server that stores the callback row and marks the payment
verified in one ``UPDATE`` (no checksum, no lookup, no audit).

Data (``prepare``): per round, ``n`` pending sandbox payments and their deposited sandbox orders
by COPY, for the application and for the floor each.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from decimal import Decimal

import httpx
from django.utils import timezone

from benchmarks.harness import Result, load

NAME = "callbacks"
TITLE = "(5) provider callback ingest over HTTP (gunicorn, DEBUG=0, 2 workers)"
ORDER = 5
CONCURRENCY = 4


def prepare(ctx, n: int, tag: str) -> list[dict]:
    """``n`` pending sandbox payments of the merchant with deposited orders; their callbacks."""
    from benchmarks.data import copy_rows
    from payments import sandbox
    from payments.models import Payment, SandboxOrder
    from payments.providers.bpc import callback_checksum

    now = timezone.now()
    key = sandbox.sandbox_callback_key()
    rows, orders, params = [], [], []
    for i in range(n):
        order_id = uuid.uuid4()
        number = f"CB{tag}{i:07d}"
        amount = Decimal(1000 + i % 5000)
        rows.append(
            (ctx.data.organization_id, ctx.data.first_branch_id, "sandbox", number, str(order_id),
             "appointment", amount, "AMD", "pending", now + dt.timedelta(days=1))
        )  # fmt: skip
        orders.append(
            (order_id, number, sandbox.SANDBOX_USERNAME, int(amount * 100), "051", 2, 0, "123456",
             "411111**1111", "123456789012", now + dt.timedelta(days=1), now)
        )  # fmt: skip
        query = {
            "mdOrder": str(order_id),
            "orderNumber": number,
            "operation": "deposited",
            "status": "1",
            "amount": str(int(amount * 100)),
            "currency": "051",
        }
        query["checksum"] = callback_checksum(query, key)
        params.append(query)
    copy_rows(
        Payment,
        ["organization", "branch", "provider", "order_number", "provider_reference", "purpose",
         "amount", "currency", "status", "expires_at"],
        rows,
    )  # fmt: skip
    copy_rows(
        SandboxOrder,
        ["order_id", "order_number", "merchant", "amount_minor", "currency_numeric",
         "order_status", "action_code", "approval_code", "masked_pan", "rrn", "expires_at",
         "auth_at"],
        orders,
    )  # fmt: skip
    return params


def send(base: str, path: str, queries: list[dict], *, copies: int = 2) -> dict:
    """Each callback ``copies`` times (the copies in a later pass), ``CONCURRENCY`` clients."""
    work = [q for _ in range(copies) for q in queries]
    lock, position, statuses, latencies = threading.Lock(), [0], {}, []

    def worker():
        with httpx.Client(base_url=base, timeout=60) as client:
            while True:
                with lock:
                    if position[0] >= len(work):
                        return
                    query = work[position[0]]
                    position[0] += 1
                started = time.perf_counter()
                response = client.get(path, params=query)
                with lock:
                    latencies.append(time.perf_counter() - started)
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {"rps": len(work) / wall, "statuses": statuses}


def _check(queries: list[dict]) -> None:
    from payments.models import Payment, ProviderCallback

    numbers = [q["orderNumber"] for q in queries]
    verified = Payment.objects.filter(order_number__in=numbers, status="verified").count()
    processed = ProviderCallback.objects.filter(order_number__in=numbers, status="processed")
    assert verified == len(numbers), (verified, len(numbers))
    assert processed.count() == len(numbers), (processed.count(), len(numbers))


def run(ctx) -> list[Result]:
    from benchmarks.workloads import api

    n = 150 if ctx.size <= 30_000 else 1_000
    rounds = [(prepare(ctx, n, f"a{r}"), prepare(ctx, n, f"f{r}")) for r in range(ctx.repeat)]
    server = api._server(ctx)
    base = f"http://127.0.0.1:{api.PORT}"
    app, floor, statuses = [], [], {}
    try:
        for ours, bare in rounds:
            outcome = send(base, "/callbacks/sandbox/", ours)
            app.append(outcome["rps"])
            statuses = outcome["statuses"]
            floor.append(send(base, "/bench/floor/callbacks/sandbox/", bare)["rps"])
            _check(ours)
    finally:
        server.terminate()
        server.wait(30)
    return [
        Result(
            NAME,
            f"callbacks ({n:,} x 2 copies per round)",
            "req/s",
            app,
            floor,
            higher_is_better=True,
            extra={"statuses": statuses, "load": f"{load():.2f}"},
        )
    ]
