"""Demo data for Smart QR payouts (idempotent): a cafe with waiters, a team pool, the company, a
donation project, a month of QR payments, a closed week with its payouts built (one completed),
and (with the sandbox gateway) one real refund drift: a payout of this week in processing whose
payment was then partly refunded, so the queue holds a ``refund_drift`` case about that payout,
decided on the payout's drift form."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.actors import system_actor
from core.models import Branch, Organization
from payouts import services
from payouts.models import Payout, PayoutPeriod, QrCode, QrPayment, Recipient

ORG = "yerevan-cafe"
RECIPIENTS = [
    # external_ref, scope, name, branch code, payments per day (max)
    ("cafe-w-anna", "employee", "Anna Petrosyan", "northern-avenue", 3),
    ("cafe-w-davit", "employee", "Davit Sargsyan", "northern-avenue", 3),
    ("cafe-w-mariam", "employee", "Mariam Hakobyan", "cascade", 2),
    ("cafe-team-kitchen", "team", "Kitchen team pool", "cascade", 2),
    ("cafe-company", "company", "Yerevan Cafe", "northern-avenue", 1),
    ("cafe-donation-library", "donation", "Children's library project", "cascade", 1),
]
TIPS = [Decimal(v) for v in ("500", "1000", "1000", "1500", "2000", "3000", "5000")]


def seed_demo(*, stdout) -> None:
    from payments.models import Payment
    from payments.services import sandbox_payment_deposited

    organization = Organization.objects.filter(slug=ORG).first()
    if organization is None:
        return
    actor = system_actor("seed-demo")
    branches = {b.code: b for b in Branch.objects.filter(organization=organization)}
    services.fee_policy_set(
        organization=organization,
        currency="AMD",
        percentage=Decimal("2"),
        fixed=Decimal("0"),
        actor=actor,
    )
    codes = {}
    for ref, scope, name, branch_code, _ in RECIPIENTS:
        recipient = Recipient.objects.filter(organization=organization, external_ref=ref).first()
        if recipient is None:
            recipient = services.recipient_create(
                organization=organization,
                scope=scope,
                name=name,
                branch=branches[branch_code],
                external_ref=ref,
                actor=actor,
            )
        qr = QrCode.objects.filter(recipient=recipient).first() or services.qr_code_create(
            recipient=recipient, actor=actor
        )
        codes[ref] = qr

    today = timezone.localtime(timezone.now(), organization.tz).date()
    if not QrPayment.objects.filter(organization=organization).exists():
        rng = random.Random(2024)
        count = 0
        for days_ago in range(30, 0, -1):
            day = today - dt.timedelta(days=days_ago)
            for ref, *_rest, per_day in RECIPIENTS:
                for _ in range(rng.randint(0, per_day)):
                    payment = services.qr_payment_create(
                        qr_code=codes[ref], amount=rng.choice(TIPS), currency="AMD", actor=actor
                    )
                    at = dt.datetime.combine(
                        day,
                        dt.time(rng.randint(10, 22), rng.randint(0, 59)),
                        tzinfo=organization.tz,
                    )
                    # Paid at the sandbox gateway with its test card (its order id as the
                    # reference), the order opened a couple of minutes before.
                    payment = sandbox_payment_deposited(payment=payment, at=at, actor=actor)
                    Payment.objects.filter(pk=payment.pk).update(
                        created_at=at - demo_checkout_time(payment), verified_at=at
                    )
                    count += 1
        stdout.write(f"payouts: {count} demo QR payments over 30 days")

    # The last full week (Monday to Sunday) is closed and its payouts built.
    last_monday = today - dt.timedelta(days=today.weekday() + 7)
    period = PayoutPeriod.objects.filter(
        organization=organization, start_date=last_monday
    ).first() or services.period_create(
        organization=organization,
        kind=PayoutPeriod.Kind.WEEK,
        name=f"Week of {last_monday:%d %b %Y}",
        start_date=last_monday,
        end_date=last_monday + dt.timedelta(days=6),
        actor=actor,
    )
    if period.status != PayoutPeriod.Status.CLOSED:
        period = services.period_transition(period=period, to="closed", actor=actor)
    if period.built_at is None:
        built = services.payout_period_build(period=period, actor=actor)
        stdout.write(f"payouts: built {len(built)} payouts for {period}")
        first = Payout.objects.filter(accounting_period=period).order_by("pk").first()
        if first is not None:
            services.payout_process(payout=first, actor=actor, method="bank_transfer")
            services.payout_complete(
                payout=first, actor=actor, method="bank_transfer", reference="DEMO-TRX-0001"
            )
    stdout.write(f"payouts: {len(codes)} recipients with Smart QR codes in {ORG}")
    if settings.PAYOPS_SANDBOX:
        # A refund never runs inside a transaction (the gateway is called between two): after
        # the seeder's transaction commits.
        start = drift_start(today)
        transaction.on_commit(
            lambda: seed_drift(
                organization=organization,
                qr=codes[DRIFT_RECIPIENT],
                start=start,
                actor=actor,
                stdout=stdout,
            )
        )


DRIFT_RECIPIENT = "cafe-w-mariam"


def drift_start(today: dt.date) -> dt.date:
    """The drift payout's first day: this week's Monday, or the 1st of the month when the week
    began in the previous month. Its blocking case then stays in this month, and last month (the
    desk's demo month, which must have exactly one blocker) is left to the desk's demo."""
    return max(today - dt.timedelta(days=today.weekday()), today.replace(day=1))


def seed_drift(*, organization, qr: QrCode, start: dt.date, actor, stdout) -> None:
    """A real refund drift, through the services: Mariam is paid 3000.00 AMD through the sandbox
    today, her payout of this week (``start`` .. today) starts processing, then 1500.00 of the
    payment is refunded. The payout is held (``drift_hold``) and the ``refund_drift`` case names
    it; deciding the drift on the payout resolves the case. Skipped once her payout exists."""
    from payments.services import payment_refund

    recipient = qr.recipient
    if Payout.objects.filter(recipient=recipient, period_start=start).exists():
        return
    payment = services.sandbox_qr_payment(
        qr_code=qr, amount=Decimal("3000.00"), currency="AMD", outcome="approved", actor=actor
    )
    if payment.status != payment.Status.VERIFIED:
        stdout.write(f"payouts: demo drift skipped (sandbox payment {payment.status})")
        return
    today = timezone.localtime(payment.verified_at, organization.tz).date()
    payout = services.payout_request(
        recipient=recipient,
        currency="AMD",
        period_start=start,
        period_end=today,
        actor=actor,
        comment="demo: this week's payout",
    )
    services.payout_process(payout=payout, actor=actor, method="bank_transfer")
    payment_refund(
        payment=payment,
        amount=Decimal("1500.00"),
        reason="demo: the customer was charged twice",
        actor=actor,
    )
    payout.refresh_from_db()
    stdout.write(
        f"payouts: demo refund drift on payout #{payout.pk} "
        f"({'held' if payout.drift_hold else 'not held'})"
    )


def demo_checkout_time(payment) -> dt.timedelta:
    """How long the demo's customer took from the order to the payment: one to four minutes,
    fixed by the payment (a second seed writes the same)."""
    return dt.timedelta(seconds=60 + (payment.pk * 37) % 180)
