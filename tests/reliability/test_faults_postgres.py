"""PostgreSQL backends terminated under load (``pg_terminate_backend`` on this test database's
connections only): every API answer is a success or a clean 503 ``database_unavailable`` in the
error format (never a 500, never a half-write), and once the terminations stop every request
succeeds again.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.db import connection

from conftest import make_api
from core.actors import system_actor
from core.models import Branch, Organization
from payments.models import Payment
from tests.reliability.live import ROOT, gunicorn

pytestmark = [pytest.mark.postgres, pytest.mark.long]
SECONDS = 12


def _terminator(stop: threading.Event, kills: list) -> None:
    import psycopg

    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname="postgres",
        autocommit=True,
    ) as admin:
        while not stop.is_set():
            rows = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                " AND application_name <> 'pytest-own'",
                [db["NAME"]],
            ).fetchall()
            kills.append(sum(1 for (ok,) in rows if ok))
            time.sleep(0.15)


def test_terminated_backends_answer_503_and_recover(transactional_db):
    from payouts import services as payouts

    with connection.cursor() as cursor:  # never terminate the test's own connection
        cursor.execute("SET application_name = 'pytest-own'")
    actor = system_actor("reliability")
    organization = Organization.objects.create(slug="pg-fault-org", name="PG Fault Org")
    branch = Branch.objects.create(organization=organization, code="main", name="Main")
    recipient = payouts.recipient_create(
        organization=organization, scope="employee", name="Anna", branch=branch, actor=actor
    )
    qr = payouts.qr_code_create(recipient=recipient, actor=actor)
    headers = {"Authorization": f"Token {make_api(organization, name='pg').token}"}
    body = {"qr_code": qr.code, "amount": "1000.00", "currency": "AMD", "outcome": "approved"}
    answers: list[tuple[str, int, str]] = []
    kills: list[int] = []
    with gunicorn() as base, httpx.Client(base_url=base, timeout=30) as http:

        def load(_):
            end = time.monotonic() + SECONDS
            while time.monotonic() < end:
                for method, path in (
                    ("POST", "/api/v1/sandbox/qr-payments/"),
                    ("GET", "/api/v1/payments/"),
                ):
                    r = http.request(
                        method, path, json=body if method == "POST" else None, headers=headers
                    )
                    code = r.json().get("error", {}).get("code", "") if r.status_code >= 400 else ""
                    answers.append((method, r.status_code, code))

        stop = threading.Event()
        killer = threading.Thread(target=_terminator, args=(stop, kills))
        killer.start()
        try:
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(load, range(4)))
        finally:
            stop.set()
            killer.join(10)
        after = [http.get("/api/v1/payments/", headers=headers).status_code for _ in range(20)]
        after += [
            http.post("/api/v1/sandbox/qr-payments/", json=body, headers=headers).status_code
            for _ in range(5)
        ]
    statuses = Counter((method, status, code) for method, status, code in answers)
    assert sum(kills) >= 5, f"the terminator killed too little to matter: {sum(kills)}"
    allowed = {
        ("POST", 201, ""),
        ("GET", 200, ""),
        ("POST", 503, "database_unavailable"),
        ("GET", 503, "database_unavailable"),
    }
    # Never a 502: the in-process sandbox gateway shares this database, so its lost connection
    # is payops' own 503, not a gateway failure (payments.sandbox re-raises it).
    assert not [key for key in statuses if key[1] == 502], statuses
    assert set(statuses) <= allowed, statuses
    assert after == [200] * 20 + [201] * 5, after
    created = sum(
        n for (method, status, _), n in statuses.items() if (method, status) == ("POST", 201)
    )
    # No half-write: every payment is whole (verified, or pending for the janitor to settle with
    # the gateway), at most one per request. A view that calls the gateway commits in steps
    # (``idempotency_atomic = False``): its 503 may follow a committed payment, which is
    # why the answer asks for a retry with the Idempotency-Key (docs/reliability.md).
    payments = Payment.objects.filter(organization=organization)
    failed = sum(
        n for (method, status, _), n in statuses.items() if method == "POST" and status >= 500
    )
    verified = payments.filter(status=Payment.Status.VERIFIED).count()
    assert created + 5 <= verified <= created + 5 + failed
    assert payments.count() <= created + 5 + failed
    assert set(payments.values_list("status", flat=True)) <= {"verified", "pending"}
    figures = ROOT / "var" / "reliability"
    figures.mkdir(parents=True, exist_ok=True)
    (figures / "faults-postgres.txt").write_text(
        f"requests={len(answers)} backends_killed={sum(kills)} statuses={dict(statuses)} "
        f"verified={verified} created_201={created}\n"
    )
