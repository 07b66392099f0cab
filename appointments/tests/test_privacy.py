"""Privacy by design, proven on PostgreSQL: a diagnosis sent in a refused body is stored nowhere,
and the customer context lives only in its own table.

The test plants unique markers, runs the whole path (refused bodies, booking with a customer,
request, sandbox payment, transfer, cancellation, refund, no-show, late payment, reconciliation,
retention), then scans every text and JSON column of every table (``information_schema``), the
captured logs and the webhook bodies.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets

import pytest
from django.db import connection
from django.utils import timezone

from appointments.models import CustomerContext
from appointments.tests.test_api import book_body, iso, pay, request_deposit
from webhooks.models import WebhookEvent

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb", "ARRAY")


def tables_containing(marker: str) -> set[str]:
    """Every ``table.column`` (public schema) whose text holds ``marker``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type = ANY(%s)",
            [list(TEXT_TYPES)],
        )
        columns = cursor.fetchall()
        found = set()
        for table, column in columns:
            cursor.execute(
                f'SELECT 1 FROM "{table}" WHERE "{column}"::text LIKE %s LIMIT 1',  # noqa: S608
                [f"%{marker}%"],
            )
            if cursor.fetchone():
                found.add(f"{table}.{column}")
    assert len(columns) > 100  # the scan really covers the schema
    return found


@pytest.fixture
def all_logs(caplog):
    """Every log record, also of loggers that do not propagate to the root ("django")."""
    caplog.set_level(logging.DEBUG)
    quiet = [logging.getLogger(name) for name in ("django", "django.request", "django.server")]
    for logger in quiet:
        logger.addHandler(caplog.handler)
    yield caplog
    for logger in quiet:
        logger.removeHandler(caplog.handler)


def test_markers_never_leave_their_place(api, clinic_branch, policy, all_logs, capfd):
    caplog = all_logs
    diagnosis = f"DIAG-{secrets.token_hex(8)}"
    name = f"Name-{secrets.token_hex(8)}"
    phone = f"+374 ({secrets.randbelow(90) + 10}) {secrets.randbelow(900000) + 100000}"

    # Refused: a diagnosis at the top and inside the customer, with and without a key.
    for body, key in (
        (book_body(diagnosis=diagnosis), "refused-1"),
        (book_body(customer={"name": name, "phone": phone, "complaint": diagnosis}), None),
        (book_body(notes=diagnosis, customer={"name": name, "phone": phone}), "refused-2"),
    ):
        headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
        refused = api.post("/api/v1/appointments/", body, format="json", **headers)
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "unknown_field"
        assert diagnosis not in refused.content.decode()
    assert tables_containing(name) == set()

    # The whole path, with the customer context sent once.
    created = api.post(
        "/api/v1/appointments/",
        book_body(days=0.5, customer={"name": name, "phone": phone}),
        format="json",
        HTTP_IDEMPOTENCY_KEY="booking-1",
    )
    assert created.status_code == 201
    assert name not in created.content.decode()
    assert phone not in created.content.decode()
    appointment = created.json()["id"]
    request = request_deposit(api, appointment)
    pay(api, request["payment"])
    start = timezone.now().replace(microsecond=0) + dt.timedelta(hours=20)
    moved = api.post(
        f"/api/v1/appointments/{appointment}/transfer/",
        {"starts_at": iso(start), "ends_at": iso(start + dt.timedelta(hours=1))},
        format="json",
    )
    assert moved.status_code == 200
    detail = api.get(f"/api/v1/appointments/{appointment}/").content.decode()
    assert name not in detail
    assert phone not in detail
    cancelled = api.post(
        f"/api/v1/appointments/{appointment}/cancel/",
        {"reason": "customer ill", "by": "customer"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="cancel-1",
    )
    refunded = api.post(
        f"/api/v1/appointments/{appointment}/refunds/",
        {"amount": "5000.00", "reason": "inside the window"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="refund-1",
    )
    assert (cancelled.status_code, refunded.status_code) == (200, 201)
    other = api.post(
        "/api/v1/appointments/",
        book_body(days=2, external_ref="crm-2", customer={"name": name, "phone": phone}),
        format="json",
    ).json()["id"]
    late = request_deposit(api, other, minutes=10)
    api.post(
        "/api/v1/sandbox/clock/",
        {"now": iso(timezone.now() + dt.timedelta(minutes=11))},
        format="json",
    )
    pay(api, late["payment"])
    no_show = api.post(
        f"/api/v1/appointments/{other}/no-show/", {"comment": "did not come"}, format="json"
    )
    assert no_show.status_code == 200
    assert no_show.json()["payment_requests"][0]["status"] == "manual_review"
    reconciled = api.post(
        "/api/v1/appointment-reconciliations/",
        {"date": timezone.localdate().isoformat()},
        format="json",
    )
    assert reconciled.status_code == 201

    # The database: the diagnosis nowhere; the customer context in its own table only.
    assert tables_containing(diagnosis) == set()
    assert tables_containing(name) == {"appointments_customercontext.name"}
    assert tables_containing(phone) == {"appointments_customercontext.phone"}
    assert CustomerContext.objects.count() == 2

    # Webhook bodies and logs.
    bodies = json.dumps([event.data for event in WebhookEvent.objects.all()])
    assert WebhookEvent.objects.filter(event_type__startswith="appointment").count() >= 8
    assert any(r.name == "django.request" for r in caplog.records)  # the 400s were logged
    out, err = capfd.readouterr()  # what the JSON console handler wrote
    for marker in (diagnosis, name, phone):
        assert marker not in bodies
        assert marker not in out
        assert marker not in err
        assert marker not in caplog.text
        for record in caplog.records:
            assert marker not in record.getMessage()
            assert marker not in repr(record.__dict__)
