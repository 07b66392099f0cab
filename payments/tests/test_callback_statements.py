"""What one sandbox callback sends to the database (BENCHMARKS.md (5)): every rule still runs
(the claim, the lookup, the lock, the audit rows, the webhook outbox, the domains' hooks), and
nothing is read twice or asked when what is loaded already answers it."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import actors
from payments.models import Payment, PaymentEvent
from payments.tests.conftest import callback_params, decide, registered
from payments.tests.factories import make_payment
from webhooks.models import WebhookEvent

URL = "/callbacks/sandbox/"


def _statements(captured) -> list[str]:
    """The statements sent, without the savepoints of the test's own transaction."""
    return [
        q["sql"]
        for q in captured.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]


def _callback(client, payment, system_user) -> list[str]:
    payment, order = registered(payment, system_user)
    decide(order)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(URL, callback_params(order)).status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.VERIFIED
    assert payment.events.filter(kind=PaymentEvent.Kind.VERIFIED).count() == 1
    assert WebhookEvent.objects.filter(subject_id=str(payment.pk)).count() == 1
    return _statements(captured)


def test_a_callback_reads_no_row_twice_and_writes_its_outbox_row_in_one_statement(
    client, organization, branch, system_user
):
    # An earlier callback of this process read its system user outside a transaction (here,
    # inside the test's transaction, nothing is remembered by itself).
    key = (connection.settings_dict["NAME"], "system.callback.sandbox")
    actors._remembered[key] = actors.system_actor("callback.sandbox")
    payment = make_payment(organization=organization, branch=branch, amount="1500.00")
    sql = _callback(client, payment, system_user)
    # The system actor is remembered by the process.
    assert not [s for s in sql if '"auth_user"' in s]
    # The outbox row: one INSERT … ON CONFLICT that also asks for the organisation's enabled
    # endpoints (it has none: no delivery, no further read); no read of the event id first.
    outbox = [s for s in sql if "webhooks_" in s]
    assert len(outbox) == 1
    assert outbox[0].startswith('INSERT INTO "webhooks_webhookevent"')
    assert "ON CONFLICT" in outbox[0]
    # A QR payment: payouts asks whether it is linked to a QR code.
    assert len([s for s in sql if "payouts_qrpayment" in s]) == 1
    # The claim (callback, its history row), the payment, the gateway's order, then under the
    # payment's lock: the lock, the test clock, the payment's update, history and event, the
    # payouts hook, reconciliation's period read (share lock, creation lock, read again), the
    # outbox row; the callback's end. Before: 22 (the user, the event id read, the endpoints).
    assert len(sql) == 15, "\n".join(sql)


def test_payouts_asks_nothing_about_a_payment_that_is_not_a_qr_payment(
    client, organization, branch, system_user
):
    payment = make_payment(
        organization=organization,
        branch=branch,
        amount="1500.00",
        purpose=Payment.Purpose.APPOINTMENT,
    )
    sql = _callback(client, payment, system_user)
    assert not [s for s in sql if "payouts_qrpayment" in s]
