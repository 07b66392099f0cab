"""Demo data for Smart QR payouts (idempotent): a cafe with waiters, a team pool, the company, a
donation project, a month of QR payments, a closed week with its payouts built (one completed)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

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
    from payments.services import payment_verify_manually

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
                    payment = payment_verify_manually(
                        payment=payment,
                        actor=actor,
                        comment="demo payment",
                        reference=f"DEMO-{payment.pk}",
                    )
                    at = dt.datetime.combine(
                        day,
                        dt.time(rng.randint(10, 22), rng.randint(0, 59)),
                        tzinfo=organization.tz,
                    )
                    Payment.objects.filter(pk=payment.pk).update(verified_at=at)
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
