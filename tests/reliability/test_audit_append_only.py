"""Audit can't be rewritten: raw UPDATE and DELETE on every audit and history table are refused
by PostgreSQL itself (core.audit_guard), not only by the model's ``save``."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from core.audit_guard import FUNCTION, TRIGGER, audit_tables
from payouts.tests.factories import paid, refund, request, today

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _guarded_tables() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE t.tgname = %s AND p.proname = %s AND t.tgenabled = 'O'",
            [TRIGGER, FUNCTION],
        )
        return {row[0] for row in cursor.fetchall()}


def test_every_audit_and_history_table_carries_the_trigger():
    tables = audit_tables()
    # Every Historical* table and every AuditEvent subclass of every installed app.
    assert any(t.endswith("_historicalpayment") for t in tables)
    assert "payments_paymentevent" in tables
    assert "payouts_payoutevent" in tables
    assert "exceptionqueue_exceptioncaseevent" in tables
    assert not set(tables) - _guarded_tables()


def _refused(sql: str) -> bool:
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    return True


def test_raw_update_and_delete_are_refused_on_every_table_with_rows(
    organization, recipient, qr, system_user
):
    payment = paid(qr, "5000.00")
    refund(payment, "1000.00")
    request(recipient, system_user, today(organization))

    tried = []
    with connection.cursor() as cursor:
        for table in audit_tables():
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT count(*) FROM {quoted}")  # noqa: S608
            if not cursor.fetchone()[0]:
                continue
            column = "history_change_reason" if "historical" in table else "comment"
            assert _refused(f"UPDATE {quoted} SET {column} = 'rewritten'"), table  # noqa: S608
            assert _refused(f"DELETE FROM {quoted}"), table  # noqa: S608
            tried.append(table)
    # The flow above writes history and events in core, payments and payouts at least.
    assert len(tried) >= 8, tried
    assert {"payments_paymentevent", "payouts_payoutevent", "payments_historicalrefund"} <= set(
        tried
    )


def test_an_administrators_purge_can_say_so(organization):
    """The documented escape hatch: a transaction that sets payops.audit_maintenance."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL payops.audit_maintenance = 'on'")
        cursor.execute("DELETE FROM core_historicalorganization")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM core_historicalorganization")
        assert cursor.fetchone()[0] == 0
