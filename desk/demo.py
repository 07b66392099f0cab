"""Demo for the desk (idempotent): the demo month the accountant closes, and (in development) an
accountant login.

The demo month is last calendar month of Yerevan Cafe (a period closes only once it has ended,
so whatever the day, the 1st included, last month is the one an accountant can close), made to
look like a month an accountant really closes, through the services:

- QR tips on every day of the month (the payouts demo covers the last 30 days; the days before
  are added here), one of them refunded in part (a sandbox payment and a real refund);
- each recipient's payout of the month (a payout request for its dates), most paid out
  (completed) and two still processing (in flight), dated at the month's end;
- the bank statement (camt.053, imported through the reconciliation service) whose debits show
  the completed payouts, so the nightly bank check finds each one paid;
- exactly one blocking case (a payment missing from the ArCa report) that the accountant resolves
  on the desk before closing; raised directly (no ArCa report is imported, and its message says
  so, as the page's "Provider reports" does).

The services stamp rows with the time they run; the seeder then moves those stamps into the
month (``created_at``, ``verified_at``, ``completed_at``), as the payouts demo does for its
payments. This month is opened too; it holds the payouts demo's refund drift, which an operator
decides on the payout. Subscriptions and appointment payments belong to the gym and the clinic:
the accountant is a member of both (the organisation switcher) and their months are opened.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import secrets
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.actors import system_actor
from core.models import Organization
from core.services import staff_user_ensure
from exceptionqueue.models import ExceptionCase
from exceptionqueue.services import exception_raise
from reconciliation.exception_kinds import MISSING_IN_PROVIDER_REPORT
from reconciliation.services import accounting_period_month

ORG = "yerevan-cafe"
OTHERS = ("arabkir-dental", "ararat-fitness")
LOGIN_FILE = settings.VAR_DIR / "demo-accountant.txt"
TIPS = [Decimal(v) for v in ("500", "1000", "1000", "1500", "2000", "3000", "5000")]
IN_FLIGHT = 2  # payouts of the month left processing


def seed_demo(*, stdout) -> None:
    organization = Organization.objects.filter(slug=ORG).first()
    if organization is None:
        return
    actor = system_actor("seed-demo")
    today = timezone.localtime(timezone.now(), organization.tz).date()
    period = accounting_period_month(
        organization=organization, day=today.replace(day=1) - dt.timedelta(days=1), actor=actor
    )
    accounting_period_month(organization=organization, day=today, actor=actor)
    for slug in OTHERS:
        other = Organization.objects.filter(slug=slug).first()
        if other is not None:
            accounting_period_month(organization=other, day=today, actor=actor)
    stdout.write(f"desk: demo accounting period {period.start}..{period.end} ({period.status})")
    if settings.DEBUG:
        _login(organization, actor, stdout)
    # A refund never runs inside a transaction (the gateway is called between two), and the
    # payouts demo's rows must be committed: the month is seeded after the seeder's commit.
    transaction.on_commit(lambda: seed_month(period=period, actor=actor, stdout=stdout))


def seed_month(*, period, actor, stdout) -> None:
    """The demo month's money and its one blocker; nothing again once its payouts exist."""
    if period.is_closed:
        return
    if not _demo_payouts(period).exists():
        with transaction.atomic():
            count = _tips(period, actor)
        refunded = _refund(period, actor) if settings.PAYOPS_SANDBOX else None
        with transaction.atomic():
            payouts = _payouts(period, actor)
            _bank_statement(period, payouts, actor)
        stdout.write(
            f"desk: demo month {period.start:%Y-%m}: {count} tips added, "
            f"{'a refund of ' + str(refunded) + ' AMD, ' if refunded else ''}"
            f"{len(payouts)} payouts ({IN_FLIGHT} in flight)"
        )
    _blocker(period, actor)


def _at(period, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=period.organization.tz)


def _tips(period, actor) -> int:
    """QR tips on each day of the month that has none yet (verified, dated that day)."""
    from payments.models import Payment
    from payments.services import sandbox_payment_deposited
    from payouts import services
    from payouts.demo import demo_checkout_time
    from payouts.models import QrCode, QrPayment

    organization = period.organization
    codes = list(
        QrCode.objects.filter(recipient__organization=organization)
        .select_related("recipient")
        .order_by("recipient__external_ref")
    )
    if not codes:
        return 0
    tz = organization.tz
    seen = {
        timezone.localtime(at, tz).date()
        for at in QrPayment.objects.filter(
            organization=organization,
            payment__verified_at__date__gte=period.start - dt.timedelta(days=1),
            payment__verified_at__date__lte=period.end + dt.timedelta(days=1),
        ).values_list("payment__verified_at", flat=True)
    }
    seen |= _closed_days(period)  # never a payment into a closed payout period (a late case)
    rng = random.Random(period.start.toordinal())
    count, day = 0, period.start
    while day <= period.end:
        if day not in seen:
            for qr in codes:
                for _ in range(rng.randint(0, 2)):
                    payment = services.qr_payment_create(
                        qr_code=qr, amount=rng.choice(TIPS), currency="AMD", actor=actor
                    )
                    at = _at(period, day, rng.randint(9, 22), rng.randint(0, 59))
                    # Paid at the sandbox gateway (its order id as the reference), the order
                    # opened a couple of minutes before, as the payouts demo's payments.
                    sandbox_payment_deposited(payment=payment, at=at, actor=actor)
                    Payment.objects.filter(pk=payment.pk).update(
                        created_at=at - demo_checkout_time(payment), verified_at=at
                    )
                    count += 1
        day += dt.timedelta(days=1)
    return count


def _refund(period, actor) -> Decimal | None:
    """A 3,000.00 AMD tip paid through the sandbox on the 10th, 1,000.00 of it refunded."""
    from payments.models import Payment, Refund
    from payments.services import payment_refund
    from payouts import services
    from payouts.models import QrCode

    qr = QrCode.objects.filter(recipient__organization=period.organization).order_by("pk").first()
    if qr is None:
        return None
    payment = services.sandbox_qr_payment(
        qr_code=qr, amount=Decimal("3000.00"), currency="AMD", outcome="approved", actor=actor
    )
    if payment.status != payment.Status.VERIFIED:
        return None
    day = min(period.start + dt.timedelta(days=9), period.end)
    paid_at = _at(period, day, 13, 20)
    Payment.objects.filter(pk=payment.pk).update(created_at=paid_at, verified_at=paid_at)
    refund = payment_refund(
        payment=payment,
        amount=Decimal("1000.00"),
        reason="demo: the guest was charged for a dessert they did not get",
        actor=actor,
    )
    if refund.status != Refund.Status.SUCCEEDED:
        return None
    refunded_at = _at(period, day, 15, 5)
    Refund.objects.filter(pk=refund.pk).update(created_at=refunded_at, completed_at=refunded_at)
    return refund.amount


def _closed_days(period) -> set[dt.date]:
    """The month's days inside a payout period (the payouts demo's week may reach into it)."""
    from payouts.models import PayoutPeriod

    days = set()
    for p in PayoutPeriod.objects.filter(
        organization=period.organization, end_date__gte=period.start, start_date__lte=period.end
    ):
        day = max(p.start_date, period.start)
        while day <= min(p.end_date, period.end):
            days.add(day)
            day += dt.timedelta(days=1)
    return days


def _free_range(period) -> tuple[dt.date | None, dt.date | None]:
    """The longest run of the month's days outside every payout period."""
    closed = _closed_days(period)
    best, run, day = (None, None), None, period.start
    while day <= period.end:
        if day in closed:
            run = None
        else:
            run = (run[0], day) if run else (day, day)
            if best[0] is None or (run[1] - run[0]) > (best[1] - best[0]):
                best = run
        day += dt.timedelta(days=1)
    return best


def _demo_payouts(period):
    from payouts.models import Payout

    return Payout.objects.filter(
        organization=period.organization,
        accounting_period__isnull=True,
        period_start__gte=period.start,
        period_end__lte=period.end,
    )


def _payouts(period, actor) -> list:
    """Each recipient's payout of the month (a payout request for its dates, up to the first
    payout period inside the month, if any), dated at the month's end: all paid out but
    ``IN_FLIGHT`` still processing. No payout period is made, so the payouts guide's own periods
    never overlap this one."""
    from payments.models import Payment
    from payouts import services
    from payouts.models import Payout, Recipient

    organization = period.organization
    start, end = _free_range(period)
    if start is None:
        return []
    lo = _at(period, start, 0)
    hi = _at(period, end, 0) + dt.timedelta(days=1)
    payouts = []
    for recipient in Recipient.objects.filter(organization=organization).order_by("pk"):
        paid = Payment.objects.filter(
            qr_payment__recipient=recipient,
            status__in=("verified", "partially_refunded"),
            verified_at__gte=lo,
            verified_at__lt=hi,
        )
        if not paid.exists():
            continue
        payouts.append(
            services.payout_request(
                recipient=recipient,
                currency="AMD",
                period_start=start,
                period_end=end,
                actor=actor,
                comment=f"demo: {period.start:%B %Y}",
            )
        )
    requested = _at(period, period.end, 10)
    paid_at = _at(period, period.end, 16, 30)
    for i, payout in enumerate(payouts):
        services.payout_process(payout=payout, actor=actor, method="bank_transfer")
        if i < len(payouts) - IN_FLIGHT:
            services.payout_complete(
                payout=payout,
                actor=actor,
                method="bank_transfer",
                reference=f"DEMO-{period.start:%Y%m}-{i + 1:03d}",
            )
            Payout.objects.filter(pk=payout.pk).update(created_at=requested, completed_at=paid_at)
        else:
            Payout.objects.filter(pk=payout.pk).update(created_at=requested)
    return payouts


def _bank_statement(period, payouts, actor) -> None:
    """The bank's camt.053 statement of the month's last day: one debit per completed payout
    (its reference and net amount), as the bank shows a transfer out."""
    from payouts.models import Payout
    from reconciliation.services import bank_statement_import

    paid = list(
        Payout.objects.filter(
            pk__in=[p.pk for p in payouts], status=Payout.Status.COMPLETED
        ).order_by("pk")
    )
    if not paid:
        return
    day = period.end.isoformat()
    entries = "".join(
        f"""<Ntry><Amt Ccy="{p.currency}">{p.net}</Amt><CdtDbtInd>DBIT</CdtDbtInd>
<Sts>BOOK</Sts><BookgDt><Dt>{day}</Dt></BookgDt><AcctSvcrRef>DEMO-BANK-{p.pk}</AcctSvcrRef>
<NtryDtls><TxDtls><Refs><EndToEndId>{p.reference}</EndToEndId></Refs>
<RmtInf><Ustrd>Payout {p.reference}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"""
        for p in paid
    )
    document = f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>DEMO-{period.start:%Y%m}</MsgId><CreDtTm>{day}T23:00:00+04:00</CreDtTm></GrpHdr>
<Stmt><Id>DEMO-{period.start:%Y%m}</Id><CreDtTm>{day}T23:00:00+04:00</CreDtTm>
<Acct><Id><IBAN>AM00123456789012345678</IBAN></Id><Ccy>AMD</Ccy></Acct>{entries}</Stmt>
</BkToCstmrStmt></Document>"""
    bank_statement_import(
        organization=period.organization,
        data=document.encode(),
        actor=actor,
        file_name=f"demo-statement-{period.start:%Y-%m}.xml",
    )


def _blocker(period, actor) -> None:
    """Exactly one case keeps the demo month from closing until the accountant resolves it."""
    organization = period.organization
    key = f"demo:desk:{period.start.isoformat()}"
    if ExceptionCase.objects.filter(organization=organization, dedup_key=key).exists():
        return
    exception_raise(
        organization=organization,
        kind=MISSING_IN_PROVIDER_REPORT,
        dedup_key=key,
        message=(
            "Demo (no provider report is imported in the demo): this case stands for what the "
            "nightly reconciliation raises when a verified payment, here a 5,000.00 AMD payment "
            "of the month's last day, is missing from the ArCa report. The bank confirmed it by "
            "phone: resolve the case with a note saying so."
        ),
        actor=actor,
        currency="AMD",
        amount=Decimal("5000.00"),
        period_start=period.end,
        period_end=period.end,
        details={"demo": True},
    )


def _login(organization, actor, stdout) -> None:
    """An accountant of the cafe (and of the clinic and the gym, for the organisation switcher)."""
    from django.contrib.auth import get_user_model

    # Keyed on the login, not on the file (as the admin's): a database made afresh beside an
    # old var/demo-accountant.txt gets a new password, and the file says it.
    password = None
    if not get_user_model().objects.filter(username="accountant").exists():
        password = os.environ.get("PAYOPS_DEMO_ACCOUNTANT_PASSWORD") or secrets.token_urlsafe(12)
    staff_user_ensure(
        username="accountant",
        organization=organization,
        role="accountant",
        password=password,
        actor=actor,
    )
    for slug in OTHERS:
        other = Organization.objects.filter(slug=slug).first()
        if other is not None:
            staff_user_ensure(
                username="accountant",
                organization=other,
                role="accountant",
                password=None,
                actor=actor,
            )
    if password:
        LOGIN_FILE.write_text(f"accountant {password}\n")
        LOGIN_FILE.chmod(0o600)
    if LOGIN_FILE.exists():
        username, saved = LOGIN_FILE.read_text().split()
        url = f"{settings.PAYOPS_BASE_URL.rstrip('/')}/desk/"
        stdout.write(f"Accountants' desk: {url} login {username} / {saved}")
