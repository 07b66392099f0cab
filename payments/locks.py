"""Row locks for payments and refunds, and the order they are taken in.

Lock order (to stay free of deadlocks), everywhere in payops: accounting period → recipients (by
id) → payments (by id) → adjustments → payouts (docs/payouts.md). A refund's reservation, a manual
verification and a reinstatement take the accounting period of today ``FOR SHARE`` first
(``core.accounting.accounting_period_guard`` in their transaction; ``core.locks``), then the
payment: the period's close, which takes that row ``FOR UPDATE``, and the change serialise.
Inside payments: a refund row, then its payment (``refund_complete``, ``refund_resolve``); a
payment change then, through the payment hooks (``payments.hooks``, same transaction), the
domain rows that hold it (a payout).

Only our own rows are locked (``OF self``): a ``select_related`` under ``select_for_update``
would otherwise also lock the organisation and branch rows and serialise every payment change
of an organisation.

Payments and refunds are locked ``FOR NO KEY UPDATE`` (their keys never change): it serialises
every change of the row as ``FOR UPDATE`` does (and waits for the payouts' ``FOR UPDATE`` of
included payments), but not a ``KEY SHARE`` lock, the one PostgreSQL takes on a payment when a
row referencing it is inserted. The payout drift decision locks its payout and then inserts
lines and adjustments referencing the payment, while a refund holds the payment and then, through
the payments hook, locks that payout: with ``FOR UPDATE`` on the payment that was a deadlock
(issue 9 #4; ``tests/test_refund_drift_race.py``), with ``FOR NO KEY UPDATE`` the insert does
not wait and the refund takes the payout after the decision commits.

Services take these locks only through the helpers below.
"""

from __future__ import annotations

from payments.models import Payment, Refund


def payment_lock(payment: Payment | int) -> Payment:
    """The payment, re-read under its row lock, with its organisation and branch."""
    pk = payment.pk if isinstance(payment, Payment) else payment
    return (
        Payment.objects.select_for_update(of=("self",), no_key=True)
        .select_related("organization", "branch")
        .get(pk=pk)
    )


def refund_lock(refund: Refund | int) -> Refund:
    """The refund, re-read under its row lock (taken before its payment's)."""
    pk = refund.pk if isinstance(refund, Refund) else refund
    return Refund.objects.select_for_update(of=("self",), no_key=True).get(pk=pk)
