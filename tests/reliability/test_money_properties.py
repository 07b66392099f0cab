"""Money properties: a Hypothesis rule-based state machine over the real services on PostgreSQL.

Three organisations, one per money flow, driven through the services exactly as the API calls
them (with an actor), payments through the built-in sandbox gateway (register, checkout, signed
callback, lookup) and refunds through the payments core and the sandbox's ``refund.do``:

- **payouts** (Smart QR): QR payments verified or declined, refunds (partial, full, too much)
  before and after a payout request, payout requests for a recipient and a range of days,
  processing, completion, cancellation, reversal, drift decisions (recalculate, carry) and the
  build of a closed period;
- **billing**: a subscription whose periods fall due as its test clock moves, attempts approved
  or declined at the sandbox, period refunds;
- **appointments**: deposits paid, appointments cancelled by the customer or the clinic, refunds
  at, below and above the policy's path.

The machine keeps its own record of the money (what it verified and what it refunded, held drift)
and checks after every step, to the luma:

- for every recipient and day: verified - refunded = paid out + in flight + carried adjustments
  + not yet requested, and for every recipient the same with the payouts' gross;
- every payout: gross = fee + net, 0 ≤ fee ≤ gross, the fee rule, gross = its active lines;
- no two active payouts for one scope (recipient, branch, currency) and overlapping range; a
  payment held by one payout at most; a carried adjustment applied by one payout at most;
- billing: each period's verified and refunded figures are the money of its payments;
- appointments: each request's status and the payment's refunded amount are the refunds made;
  a refund within the policy's path never exceeds the policy's share.

A refusal (``DomainError``) must leave the money unchanged (payments, refunds, payouts, lines,
adjustments, periods, requests). Each example runs in a savepoint rolled back at its end.
``PAYOPS_MONEY_EXAMPLES`` sets the examples (200 in ``make test``, the same ones each run so CI is
reproducible; 400 new ones in ``make reliability``, which CI runs), ``PAYOPS_MONEY_STEPS`` the
steps of each (12), ``PAYOPS_MONEY_SHRINK=0`` reports a failure as found, without shrinking it
(minutes).
"""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from core.actors import system_actor
from core.errors import DomainError
from core.models import Branch, Organization, TestClock

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

EXAMPLES = int(os.environ.get("PAYOPS_MONEY_EXAMPLES", "200"))
STEPS = int(os.environ.get("PAYOPS_MONEY_STEPS", "12"))
D = Decimal
CENT = D("0.01")
ZERO = D("0.00")

# Amounts in luma: small and round ones, odd ones, and now and then a large one.
AMOUNTS = st.one_of(
    st.integers(min_value=1, max_value=2_000_000),
    st.sampled_from([1, 99, 100, 10_000, 1_000_000, 999_999_999]),
).map(lambda luma: (D(luma) / 100).quantize(CENT))


# How a payment is verified: mostly by an operator (fast), a quarter through the sandbox's round
# trip, now and then declined at the sandbox.
VIA = st.sampled_from(["manual", "manual", "manual", "manual", "sandbox", "declined"])


def _fee(gross: Decimal, percentage: Decimal, fixed: Decimal) -> Decimal:
    """The fee rule, written here again on purpose (``payouts.fees`` is what is checked)."""
    if gross == 0:
        return ZERO
    fee = (gross * percentage / 100).quantize(CENT, ROUND_HALF_UP) + fixed.quantize(CENT)
    return min(max(fee, ZERO), gross)


class MoneyMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        # One savepoint per example, marked as the test case's own (as Django's TestCase marks
        # its atomic blocks) so the services' durable transactions and their "not inside a
        # transaction" checks behave as in production; rolled back in ``teardown``.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        connection.atomic_blocks[-1]._from_testcase = True
        self.actor = system_actor("money-properties")
        self.today = timezone.localdate()
        # payouts
        self.payments: dict[int, dict] = {}  # pk -> recipient, amount, refunded, day
        self.held: dict[int, Decimal] = defaultdict(Decimal)  # payment -> undecided drift
        self.closed_days: set[dt.date] = set()
        # billing
        self.billing_periods: dict[int, dict] = defaultdict(
            lambda: {"verified": ZERO, "refunded": ZERO}
        )
        # appointments
        self.requests: dict[int, dict] = {}  # request pk -> appointment, amount, refunded

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # -- set-up ---------------------------------------------------------------------------------

    @initialize(
        percentage=st.sampled_from([D("0"), D("2.5"), D("10"), D("33.3333")]),
        fixed=st.sampled_from([D("0"), D("0.01"), D("100.00"), D("5000.00")]),
        plan_amount=st.sampled_from([D("15000.00"), D("0.01"), D("9999.99")]),
        deposit_policy=st.tuples(
            st.sampled_from([24, 72]),
            st.sampled_from([D("100"), D("80")]),
            st.sampled_from([D("50"), D("0"), D("33.33")]),
        ),
    )
    def setup(self, percentage, fixed, plan_amount, deposit_policy):
        from appointments import services as appointments
        from billing import services as billing
        from payouts import services as payouts

        actor = self.actor
        self.org = Organization.objects.create(slug="money-qr", name="Money QR")
        self.branch = Branch.objects.create(organization=self.org, code="main", name="Main")
        self.recipients = [
            payouts.recipient_create(
                organization=self.org,
                scope="employee",
                name=f"Waiter {n}",
                branch=self.branch,
                external_ref=f"W-{n}",
                actor=actor,
            )
            for n in range(2)
        ]
        self.qrs = [payouts.qr_code_create(recipient=r, actor=actor) for r in self.recipients]
        self.percentage, self.fixed = percentage, fixed
        payouts.fee_policy_set(
            organization=self.org, currency="AMD", percentage=percentage, fixed=fixed, actor=actor
        )
        self.days = [self.today - dt.timedelta(days=n) for n in (3, 2, 1, 0)]

        # billing: a monthly plan, a customer paying by link, the test clock at the start
        self.borg = Organization.objects.create(slug="money-gym", name="Money Gym")
        self.gym = Branch.objects.create(organization=self.borg, code="gym", name="Gym")
        plan = billing.plan_create(
            organization=self.borg,
            code="monthly",
            name="Monthly",
            amount=plan_amount,
            currency="AMD",
            interval="month",
            actor=actor,
        )
        customer = billing.customer_create(
            organization=self.borg,
            external_ref="member-1",
            name="Anahit",
            language="hy",
            email="anahit@example.am",
            actor=actor,
        )
        start = dt.datetime(2026, 12, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=4)))
        # Set directly: the sandbox refuses to start a clock before real time, which passes 2026.
        self.bnow = TestClock.objects.create(organization=self.borg, now=start).now
        self.subscription = billing.subscription_create(
            organization=self.borg,
            customer=customer,
            plan=plan,
            branch=self.gym,
            start_date=start.date(),
            collection="payment_link",
            actor=actor,
        )

        # appointments: one policy
        self.aorg = Organization.objects.create(slug="money-clinic", name="Money Clinic")
        self.clinic = Branch.objects.create(organization=self.aorg, code="clinic", name="Clinic")
        window, before, after = deposit_policy
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Permission

        self.operator = get_user_model().objects.create_user("money-operator")
        self.operator.user_permissions.add(
            Permission.objects.get(codename="override_refund_policy")
        )
        self.policy = appointments.policy_create(
            organization=self.aorg,
            code="standard",
            window_hours=window,
            refund_percent_before=before,
            refund_percent_after=after,
            no_show_refund_percent=D("0"),
            actor=actor,
        )

    # -- helpers --------------------------------------------------------------------------------

    def money_snapshot(self) -> tuple:
        """Everything that is money, as values: a refusal must leave it as it was."""
        from appointments.models import PaymentRequest
        from billing.models import BillingPeriod
        from payments.models import Payment, Refund
        from payouts.models import Payout, PayoutAdjustment, PayoutAdjustmentVoid, PayoutLine

        return (
            list(Payment.objects.order_by("pk").values_list("pk", "status", "refunded_amount")),
            list(Refund.objects.order_by("pk").values_list("pk", "status", "amount")),
            list(
                Payout.objects.order_by("pk").values_list(
                    "pk", "status", "gross", "fee", "net", "drift_hold"
                )
            ),
            list(PayoutLine.objects.order_by("pk").values_list("pk", "active", "amount")),
            list(PayoutAdjustment.objects.order_by("pk").values_list("pk", "amount")),
            list(PayoutAdjustmentVoid.objects.order_by("pk").values_list("pk")),
            list(
                BillingPeriod.objects.order_by("pk").values_list(
                    "pk", "status", "verified_amount", "refunded_amount"
                )
            ),
            list(PaymentRequest.objects.order_by("pk").values_list("pk", "status")),
        )

    def refused(self, call, *codes: str):
        """Run ``call``; a ``DomainError`` must leave the money unchanged. Returns the result, or
        the error's code. With ``codes``, the call must be refused with one of them."""
        before = self.money_snapshot()
        error = None
        try:
            result = call()
        except DomainError as exc:
            error = exc
        if error is not None:
            event(f"refused: {error.code}")
            assert self.money_snapshot() == before, f"refused ({error.code}) but money moved"
            if codes:
                assert error.code in codes, f"refused with {error.code}, expected one of {codes}"
            return error.code
        assert not codes, f"accepted, expected a refusal: {codes}"
        return result

    def holder(self, payment_id: int):
        """The payout whose active payment line holds ``payment_id`` (or None)."""
        from payouts.models import Payout, PayoutLine

        line = (
            PayoutLine.objects.filter(
                payment_id=payment_id,
                kind=PayoutLine.Kind.PAYMENT,
                active=True,
                payout__status__in=Payout.HOLDING_STATUSES,
            )
            .select_related("payout")
            .first()
        )
        return line.payout if line else None

    def payouts(self, *statuses):
        from payouts.models import Payout

        rows = Payout.objects.filter(organization=self.org).order_by("pk")
        return list(rows.filter(status__in=statuses) if statuses else rows)

    # -- payouts: payments and refunds ----------------------------------------------------------

    def verify(self, payment, via: str):
        """A pending payment verified ``via`` the sandbox's whole round trip (register, checkout,
        signed callback, lookup) or by an operator (``payment_verify_manually``: cheaper, so
        most examples use it); ``declined`` at the sandbox's checkout."""
        from payments.services import payment_verify_manually, sandbox_pay

        if via == "manual":
            return payment_verify_manually(
                payment=payment, actor=self.actor, comment="seen in the bank", reference="B-1"
            )
        return sandbox_pay(
            payment=payment,
            outcome="declined" if via == "declined" else "approved",
            actor=self.actor,
        )

    def refund_adapter(self, via: str):
        """The sandbox refunds what it took; a manually verified payment has no order there,
        so its refund goes to a gateway that approves (as ``payouts.tests.factories``)."""
        from payouts.tests.factories import ApprovingRefundAdapter

        return ApprovingRefundAdapter() if via == "manual" else None

    @rule(who=st.integers(0, 1), amount=AMOUNTS, day=st.integers(0, 3), via=VIA)
    def qr_pay(self, who, amount, day, via):
        from payments.models import Payment
        from payouts import services

        payment = services.qr_payment_create(
            qr_code=self.qrs[who], amount=amount, currency="AMD", actor=self.actor
        )
        payment = self.verify(payment, via)
        if via == "declined":
            assert payment.status == Payment.Status.DECLINED
            return
        assert payment.status == Payment.Status.VERIFIED
        assert payment.amount == amount
        when = self.days[day]
        if when in self.closed_days:  # a payment verified now falls today
            when = self.today
        if when != self.today:  # as ``payouts.tests.factories.paid(day=...)``
            noon = dt.datetime.combine(when, dt.time(12), tzinfo=self.org.tz)
            Payment.objects.filter(pk=payment.pk).update(verified_at=noon)
        self.payments[payment.pk] = {
            "recipient": self.recipients[who].pk,
            "amount": amount,
            "refunded": ZERO,
            "day": when,
            "via": via,
        }

    @precondition(lambda self: self.payments)
    @rule(data=st.data(), how=st.sampled_from(["full", "part", "part", "too_much", "luma"]))
    def qr_refund(self, data, how):
        from payments.models import Payment, Refund
        from payments.services import payment_refund
        from payouts.models import Payout

        pk = data.draw(st.sampled_from(sorted(self.payments)), label="payment")
        shadow = self.payments[pk]
        left = shadow["amount"] - shadow["refunded"]
        if how == "full":
            amount = left
        elif how == "luma":
            amount = CENT
        elif how == "too_much":
            amount = left + CENT
        else:
            amount = (left * data.draw(st.sampled_from([D("0.5"), D("0.1"), D("0.99")]))).quantize(
                CENT
            )
        payment = Payment.objects.get(pk=pk)
        holder = self.holder(pk)
        if amount <= 0 or amount > left:
            self.refused(
                lambda: payment_refund(
                    payment=payment,
                    amount=amount,
                    reason="asked",
                    actor=self.actor,
                    adapter=self.refund_adapter(shadow["via"]),
                ),
                "refund_exceeds_payment",
                "payment_not_refundable",
                "invalid_amount",
            )
            return
        refund = payment_refund(
            payment=payment,
            amount=amount,
            reason="asked",
            actor=self.actor,
            adapter=self.refund_adapter(shadow["via"]),
        )
        assert refund.status == Refund.Status.SUCCEEDED, refund.failure_message
        shadow["refunded"] += amount
        event(f"refund with the payment in a {holder.status if holder else 'no'} payout")
        if holder is not None and holder.status == Payout.Status.PROCESSING:
            self.held[pk] += amount

    # -- payouts: requests, transitions, drift, the build of a closed period --------------------

    @rule(who=st.integers(0, 1), first=st.integers(0, 3), span=st.integers(0, 3))
    def payout_request(self, who, first, span):
        from payouts import services
        from payouts.models import Payout

        start = self.days[first]
        end = min(start + dt.timedelta(days=span), self.today)
        recipient = self.recipients[who]
        active = [
            p
            for p in self.payouts(*Payout.ACTIVE_STATUSES)
            if p.recipient_id == recipient.pk and p.period_start <= end and p.period_end >= start
        ]
        eligible = [
            pk
            for pk, s in self.payments.items()
            if s["recipient"] == recipient.pk
            and start <= s["day"] <= end
            and s["amount"] > s["refunded"]
            and self.holder(pk) is None
        ]
        closed = any(start <= d <= end for d in self.closed_days)
        result = self.refused(
            lambda: services.payout_request(
                recipient=recipient,
                currency="AMD",
                period_start=start,
                period_end=end,
                actor=self.actor,
            )
        )
        if isinstance(result, str):
            if closed:
                assert result == "period_closed"
            elif active:
                assert result == "duplicate_active_payout"
            else:
                assert not eligible, result
                assert result == "no_verified_payments", result
            return
        assert not closed, "a payout request in a closed period was accepted"
        assert not active, "a duplicate active payout was accepted"
        assert eligible, "a payout request without payments was accepted"
        base = sum(self.payments[pk]["amount"] - self.payments[pk]["refunded"] for pk in eligible)
        assert sorted(result.lines.filter(kind="payment").values_list("payment_id", flat=True)) == (
            sorted(eligible)
        )
        assert 0 <= result.gross <= base

    @precondition(lambda self: self.payouts())
    @rule(data=st.data(), to=st.sampled_from(["processing", "completed", "cancelled", "reversed"]))
    def payout_move(self, data, to):
        from payouts import services
        from payouts.models import Payout

        payout = data.draw(st.sampled_from(self.payouts()), label="payout")
        status, hold = payout.status, payout.drift_hold
        call = {
            "processing": lambda: services.payout_process(payout=payout, actor=self.actor),
            "completed": lambda: services.payout_complete(
                payout=payout, actor=self.actor, method="bank_transfer", reference="T-1"
            ),
            "cancelled": lambda: services.payout_cancel(
                payout=payout, actor=self.actor, comment="mistake"
            ),
            "reversed": lambda: services.payout_reverse(
                payout=payout, actor=self.actor, reference="RET-1", comment="came back"
            ),
        }[to]
        allowed = {
            "processing": status == Payout.Status.REQUESTED,
            "completed": status == Payout.Status.PROCESSING and not hold,
            "cancelled": status in Payout.ACTIVE_STATUSES,
            "reversed": status == Payout.Status.COMPLETED,
        }[to]
        held_payments = list(payout.lines.filter(active=True).values_list("payment_id", flat=True))
        result = self.refused(call)
        if isinstance(result, str):
            if allowed:  # the only other refusal: its carried refund is deducted elsewhere
                assert result == "carried_adjustment_applied", result
            return
        assert allowed, f"a {status} payout (hold {hold}) became {to}"
        event(f"payout {status} -> {to}")
        assert result.status == to
        if to == "cancelled":  # undecided drift goes with the released payments
            for pk in held_payments:
                self.held.pop(pk, None)

    @precondition(lambda self: self.payouts("processing"))
    @rule(data=st.data(), decision=st.sampled_from(["recalculate", "carry"]))
    def drift_decide(self, data, decision):
        from payouts import services

        payout = data.draw(st.sampled_from(self.payouts("processing")), label="payout")
        hold = payout.drift_hold
        payments = list(payout.lines.filter(active=True).values_list("payment_id", flat=True))
        result = self.refused(
            lambda: services.payout_drift_decide(
                payout=payout, decision=decision, actor=self.actor, comment="decided"
            ),
            *(() if hold else ("no_drift_to_decide",)),
        )
        if hold:
            event(f"drift decided: {decision}")
            assert not result.drift_hold
            for pk in payments:
                self.held.pop(pk, None)

    @precondition(lambda self: not self.closed_days)
    @rule(first=st.integers(0, 1), span=st.integers(0, 1))
    def period_close_and_build(self, first, span):
        """Close a payout period over past days and build it (today stays open)."""
        from payouts import services
        from payouts.models import Payout, PayoutPeriod

        start = self.days[first]
        end = start + dt.timedelta(days=span)
        # A period whose close was refused (a blocker) stays open: the same dates close it again
        # once the blocker is gone; other dates overlapping it are refused.
        period = PayoutPeriod.objects.filter(
            organization=self.org, start_date=start, end_date=end
        ).first() or self.refused(
            lambda: services.period_create(
                organization=self.org, kind="week", start_date=start, end_date=end, actor=self.actor
            )
        )
        if isinstance(period, str):
            assert period == "period_overlap", period
            return
        before = {p.pk for p in self.payouts()}
        closed = self.refused(
            lambda: services.period_transition(period=period, to="closed", actor=self.actor)
        )
        if isinstance(closed, str):
            assert closed == "period_blocked", closed
            return
        self.closed_days |= {start + dt.timedelta(days=n) for n in range(span + 1)}
        built = services.payout_period_build(period=closed, actor=self.actor)
        assert {p.pk for p in built} == {p.pk for p in self.payouts()} - before
        for payout in built:
            assert payout.status == Payout.Status.REQUESTED

    # -- billing --------------------------------------------------------------------------------

    @rule(hours=st.sampled_from([6, 25, 24 * 3, 24 * 10, 24 * 31]))
    def billing_advance(self, hours):
        """Move the gym's test clock and run billing's due work (``billing.due``, as the beat
        and ``run_due_work`` do; the other apps' due work is not this machine's and costs the
        most)."""
        from billing.services import billing_due_work
        from core.clock import test_clock_advance

        self.bnow = test_clock_advance(
            organization=self.borg, now=self.bnow + dt.timedelta(hours=hours), actor=self.actor
        ).now
        billing_due_work(organization=self.borg, now=self.bnow, actor=self.actor)

    def _pending_attempts(self):
        from billing.models import Attempt

        return list(
            Attempt.objects.filter(
                period__subscription=self.subscription,
                status=Attempt.Status.PENDING,
                payment__isnull=False,
                payment__status="pending",
            ).order_by("pk")
        )

    @precondition(lambda self: self._pending_attempts())
    @rule(data=st.data(), outcome=st.sampled_from(["approved", "approved", "declined"]))
    def billing_pay(self, data, outcome):
        from payments import sandbox
        from payments.models import Payment

        attempt = data.draw(st.sampled_from(self._pending_attempts()), label="attempt")
        payment = sandbox.outcome_apply(payment=attempt.payment, outcome=outcome, actor=self.actor)
        if payment is not None and payment.status == Payment.Status.VERIFIED:
            self.billing_periods[attempt.period_id]["verified"] += payment.amount

    def _refundable_periods(self):
        return sorted(pk for pk, s in self.billing_periods.items() if s["verified"] > s["refunded"])

    @precondition(lambda self: self._refundable_periods())
    @rule(data=st.data(), how=st.sampled_from(["full", "part", "too_much"]))
    def billing_refund(self, data, how):
        from billing import services
        from billing.models import BillingPeriod
        from payments.models import Refund

        pk = data.draw(st.sampled_from(self._refundable_periods()), label="period")
        shadow = self.billing_periods[pk]
        left = shadow["verified"] - shadow["refunded"]
        amount = {"full": left, "too_much": left + CENT}.get(how) or max(
            (left / 3).quantize(CENT), CENT
        )
        period = BillingPeriod.objects.get(pk=pk)
        result = self.refused(
            lambda: services.period_refund(
                period=period, amount=amount, reason="gym closed", actor=self.actor
            )
        )
        if isinstance(result, str):
            # Over what is left, or more than one payment holds (refunded in parts).
            assert how == "too_much" or result == "refund_exceeds_period", result
            return
        assert how != "too_much", "a refund above the period's money was accepted"
        assert result.status == Refund.Status.SUCCEEDED, result.failure_message
        shadow["refunded"] += amount

    # -- appointments ---------------------------------------------------------------------------

    @rule(
        days=st.sampled_from([0.5, 2, 5]),
        amount=AMOUNTS,
        via=st.sampled_from(["manual", "manual", "sandbox"]),
    )
    def appointment_deposit(self, days, amount, via):
        from appointments import services

        starts_at = (timezone.now() + dt.timedelta(days=days)).replace(microsecond=0)
        appointment = services.appointment_book(
            organization=self.aorg,
            branch=self.clinic,
            external_ref=f"crm-{len(self.requests)}",
            service_id="svc",
            specialist_id="dr",
            starts_at=starts_at,
            ends_at=starts_at + dt.timedelta(hours=1),
            policy_code=self.policy.code,
            actor=self.actor,
        )
        request = services.payment_request_create(
            appointment=appointment,
            kind="deposit",
            amount=amount,
            currency="AMD",
            expires_in_minutes=60,
            actor=self.actor,
        )
        payment = self.verify(request.payment, via)
        assert payment.status == "verified"
        self.requests[request.pk] = {
            "appointment": appointment.pk,
            "amount": amount,
            "refunded": ZERO,
            "cancelled": False,
            "via": via,
        }

    def _open_appointments(self):
        return sorted(pk for pk, s in self.requests.items() if not s["cancelled"])

    @precondition(lambda self: self._open_appointments())
    @rule(data=st.data(), by=st.sampled_from(["customer", "clinic"]))
    def appointment_cancel(self, data, by):
        from appointments import services
        from appointments.models import Appointment

        pk = data.draw(st.sampled_from(self._open_appointments()), label="request")
        appointment = Appointment.objects.get(pk=self.requests[pk]["appointment"])
        _, path = services.appointment_cancel(
            appointment=appointment, reason="cannot come", by=by, actor=self.actor
        )
        self.requests[pk]["cancelled"] = True
        left = self.requests[pk]["amount"] - self.requests[pk]["refunded"]
        assert D(path["refundable_amount"]) <= left

    @precondition(lambda self: self.requests)
    @rule(
        data=st.data(),
        how=st.sampled_from(["path", "path", "half", "above", "override", "not_permitted"]),
    )
    def appointment_refund(self, data, how):
        from appointments import services
        from appointments.models import Appointment
        from payments.models import Refund

        pk = data.draw(st.sampled_from(sorted(self.requests)), label="request")
        shadow = self.requests[pk]
        appointment = Appointment.objects.get(pk=shadow["appointment"])
        allowed = D(services.refund_path(appointment)["refundable_amount"])
        left = shadow["amount"] - shadow["refunded"]
        assert allowed <= left
        amount = {
            "path": allowed,
            "half": (allowed / 2).quantize(CENT),
            "above": allowed + CENT,
            "override": left,
            "not_permitted": left,
        }[how]
        override = "manager agreed" if how in ("override", "not_permitted") else ""
        permitted = how == "override"
        call = lambda: services.appointment_refund(  # noqa: E731
            appointment=appointment,
            amount=amount,
            reason="cancelled",
            actor=self.operator if permitted else self.actor,
            override_reason=override,
            adapter=self.refund_adapter(shadow["via"]),
        )
        result = self.refused(call)
        if isinstance(result, str):
            outside = amount > allowed and not (override and permitted)
            expected = amount <= 0 or amount > left or outside
            assert expected, f"{how} refund of {amount} (allowed {allowed}) refused: {result}"
            return
        assert 0 < amount <= left
        assert amount <= allowed or permitted
        assert result.status == Refund.Status.SUCCEEDED, result.failure_message
        shadow["refunded"] += amount

    # -- invariants -----------------------------------------------------------------------------

    @invariant()
    def payouts_keep_the_money(self):
        from payments.models import Payment
        from payouts.models import Payout, PayoutAdjustment, PayoutLine

        if not hasattr(self, "org"):
            return
        payments = {p.pk: p for p in Payment.objects.filter(pk__in=list(self.payments))}
        for pk, shadow in self.payments.items():
            row = payments[pk]
            assert (row.amount, row.refunded_amount) == (shadow["amount"], shadow["refunded"])
            expected = (
                "verified"
                if shadow["refunded"] == 0
                else "refunded"
                if shadow["refunded"] == shadow["amount"]
                else "partially_refunded"
            )
            assert row.status == expected, (pk, row.status, expected)

        payouts = {p.pk: p for p in self.payouts()}
        lines = list(
            PayoutLine.objects.filter(payout__organization=self.org, active=True).values_list(
                "payout_id", "kind", "payment_id", "adjustment_id", "amount"
            )
        )
        adjustments = {a.pk: a for a in PayoutAdjustment.objects.filter(organization=self.org)}
        voided = {a.pk for a in adjustments.values() if hasattr(a, "void")}
        applied: dict[int, list[int]] = defaultdict(list)
        held_by: dict[int, set[int]] = defaultdict(set)
        line_sum: dict[int, Decimal] = defaultdict(Decimal)  # payment -> its lines in holders
        lines_of: dict[int, Decimal] = defaultdict(Decimal)  # payout -> its active lines
        for payout_id, kind, payment_id, adjustment_id, amount in lines:
            payout = payouts[payout_id]
            assert payout.status in Payout.HOLDING_STATUSES, "a released payout keeps lines"
            lines_of[payout_id] += amount
            if kind == PayoutLine.Kind.ADJUSTMENT:
                applied[adjustment_id].append(payout_id)
            else:
                line_sum[payment_id] += amount
                if kind == PayoutLine.Kind.PAYMENT:
                    held_by[payment_id].add(payout_id)

        # every payout: gross = fee + net, the fee rule, gross = its active lines
        for payout in payouts.values():
            assert payout.gross == payout.fee + payout.net, payout
            assert ZERO <= payout.fee <= payout.gross, payout
            assert payout.fee == _fee(payout.gross, self.percentage, self.fixed), payout
            if payout.status in Payout.HOLDING_STATUSES:
                assert payout.gross == lines_of[payout.pk], (payout, lines_of[payout.pk])
            assert payout.drift_hold == (
                payout.status == Payout.Status.PROCESSING
                and any(self.held.get(pk) for pk, ids in held_by.items() if payout.pk in ids)
            ), payout

        # no two active payouts for one scope and overlapping range
        active = [p for p in payouts.values() if p.status in Payout.ACTIVE_STATUSES]
        for a in active:
            for b in active:
                if a.pk < b.pk and (a.recipient_id, a.branch_id, a.currency) == (
                    b.recipient_id,
                    b.branch_id,
                    b.currency,
                ):
                    assert a.period_end < b.period_start or b.period_end < a.period_start, (a, b)
        for pk, holders in held_by.items():
            assert len(holders) == 1, f"payment {pk} held by payouts {holders}"
        for pk, appliers in applied.items():
            assert len(appliers) == 1, f"adjustment {pk} applied by {appliers}"
            assert pk not in voided, f"voided adjustment {pk} applied"

        # carried adjustments: from a holding payout, voided when it was released
        carried: dict[int, Decimal] = defaultdict(Decimal)  # payment -> live carried refunds
        for adjustment in adjustments.values():
            source = payouts[adjustment.source_payout_id]
            if source.status in Payout.HOLDING_STATUSES:
                assert adjustment.pk not in voided
                carried[adjustment.payment_id] += adjustment.amount
            else:
                assert adjustment.pk in voided, f"adjustment of released {source} not voided"

        # per payment, summed per recipient and day:
        # verified - refunded = paid out + in flight + carried adjustments + not yet requested
        figures = defaultdict(lambda: defaultdict(Decimal))
        for pk, shadow in self.payments.items():
            left = shadow["amount"] - shadow["refunded"]
            key = (shadow["recipient"], shadow["day"])
            row = figures[key]
            row["verified_minus_refunded"] += left
            if held_by.get(pk):
                (holder,) = held_by[pk]
                status = payouts[holder].status
                term = "paid_out" if status == Payout.Status.COMPLETED else "in_flight"
                row[term] += line_sum[pk] - self.held.get(pk, ZERO)
                row["carried"] += carried[pk]
            else:
                assert carried[pk] == 0, pk
                assert not self.held.get(pk), pk
                row["not_requested"] += left
        for key, row in figures.items():
            assert row["verified_minus_refunded"] == (
                row["paid_out"] + row["in_flight"] + row["carried"] + row["not_requested"]
            ), (key, dict(row))

        # per recipient, with the payouts' gross and the carried adjustments still pending
        for recipient in self.recipients:
            mine = [p for p in payouts.values() if p.recipient_id == recipient.pk]
            left = sum(
                (s["amount"] - s["refunded"])
                for s in self.payments.values()
                if s["recipient"] == recipient.pk
            )
            paid_out = sum(p.gross for p in mine if p.status == Payout.Status.COMPLETED)
            in_flight = sum(p.gross for p in mine if p.status in Payout.ACTIVE_STATUSES)
            held = sum(
                self.held.get(pk, ZERO)
                for pk, s in self.payments.items()
                if s["recipient"] == recipient.pk
            )
            pending = sum(
                a.amount
                for a in adjustments.values()
                if a.recipient_id == recipient.pk and a.pk not in voided and a.pk not in applied
            )
            not_requested = sum(
                (s["amount"] - s["refunded"])
                for pk, s in self.payments.items()
                if s["recipient"] == recipient.pk and not held_by.get(pk)
            )
            assert left == paid_out + in_flight - held + pending + not_requested, (
                recipient.pk,
                left,
                paid_out,
                in_flight,
                held,
                pending,
                not_requested,
            )

    @invariant()
    def billing_figures_are_its_money(self):
        from billing.models import BillingPeriod
        from payments.models import Payment

        if not hasattr(self, "subscription"):
            return
        for period in BillingPeriod.objects.filter(subscription=self.subscription):
            shadow = self.billing_periods.get(period.pk, {"verified": ZERO, "refunded": ZERO})
            assert (period.verified_amount, period.refunded_amount) == (
                shadow["verified"],
                shadow["refunded"],
            ), period
            money = sum(
                (p.amount - p.refunded_amount)
                for p in Payment.objects.filter(
                    billing_attempt__period=period, status__in=Payment.SETTLED_STATUSES
                )
            )
            assert period.verified_amount - period.refunded_amount == money, period
            if period.status == BillingPeriod.Status.PAID:
                assert period.verified_amount >= period.expected_amount, period

    @invariant()
    def appointment_refunds_are_their_money(self):
        from appointments.models import PaymentRequest

        for request in PaymentRequest.objects.filter(pk__in=list(self.requests)).select_related(
            "payment"
        ):
            shadow = self.requests[request.pk]
            payment = request.payment
            assert payment.refunded_amount == shadow["refunded"], request
            expected = (
                "paid"
                if shadow["refunded"] == 0
                else "refunded"
                if shadow["refunded"] == shadow["amount"]
                else "partially_refunded"
            )
            assert request.status == expected, (request, expected)


def test_money_properties(db):
    run_state_machine_as_test(
        MoneyMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            derandomize=os.environ.get("PAYOPS_RELIABILITY") != "1",
            database=None,
            # PAYOPS_MONEY_SHRINK=0: report the first failure as found (fast while debugging)
            phases=[Phase.explicit, Phase.reuse, Phase.generate]
            + ([Phase.shrink] if os.environ.get("PAYOPS_MONEY_SHRINK") != "0" else []),
        ),
    )
