"""Demo data for appointment payments (idempotent): Arabkir Dental Clinic with an appointment in
every state and a payment request in every state.

Payments are verified by hand (``payment_verify_manually``), so the demo needs no gateway (the
cafe's QR tips are paid at the sandbox gateway instead, ``sandbox_payment_deposited``); the two
refunds go through the payments core after the seeding transaction commits (a refund never runs
inside a transaction).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from appointments import services
from appointments.locks import appointment_lock, request_lock
from appointments.models import Appointment
from appointments.services.payment_requests import _request_write, request_expire_locked
from core.actors import system_actor
from core.models import Branch, Organization

ORG = "arabkir-dental"
BRANCH = "arabkir"


def _slot(days: float, hour: int = 10) -> tuple[dt.datetime, dt.datetime]:
    day = timezone.localdate() + dt.timedelta(days=int(days))
    start = dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_current_timezone())
    if days != int(days):
        start = timezone.now().replace(microsecond=0, second=0) + dt.timedelta(days=days)
    return start, start + dt.timedelta(minutes=45)


def seed_demo(*, stdout) -> None:
    from payments.services import payment_verify_manually, sandbox_pay

    if not settings.PAYOPS_SANDBOX:
        stdout.write("appointments: no demo data (the sandbox gateway is off)")
        return
    organization = Organization.objects.filter(slug=ORG).first()
    branch = Branch.objects.filter(organization=organization, code=BRANCH).first()
    if organization is None or branch is None:
        return
    if Appointment.objects.filter(organization=organization).exists():
        stdout.write("appointments: demo data kept")
        return
    actor = system_actor("seed-demo")
    services.policy_create(
        organization=organization,
        code="standard",
        window_hours=24,
        refund_percent_before=Decimal("100"),
        refund_percent_after=Decimal("50"),
        no_show_refund_percent=Decimal("0"),
        actor=actor,
    )

    def book(ref: str, days: float, service: str, specialist: str, hour: int = 10):
        starts_at, ends_at = _slot(days, hour)
        return services.appointment_book(
            organization=organization,
            branch=branch,
            external_ref=ref,
            service_id=service,
            specialist_id=specialist,
            starts_at=starts_at,
            ends_at=ends_at,
            policy_code="standard",
            actor=actor,
        )

    def ask(appointment, kind="deposit", amount="10000.00", minutes=24 * 60):
        return _request_write(
            appointment=appointment,
            kind=kind,
            amount=Decimal(amount),
            currency="AMD",
            expires_at=None,
            expires_in_minutes=minutes,
            provider=None,
            actor=actor,
            idempotency_key=None,
        )

    def pay(request):
        payment_verify_manually(
            payment=request.payment,
            actor=actor,
            comment="demo payment",
            reference=f"DEMO-{request.payment.order_number}",
        )
        request.refresh_from_db()
        return request

    def expire(request):
        appointment_lock(request.appointment_id)
        return request_expire_locked(request_lock(request), actor=actor, reason="not paid in time")

    # booked, deposit pending
    ask(book("ARB-1001", 2, "svc-checkup", "dr-hakobyan"))
    # rescheduled, deposit paid, moved to the next week
    moved = book("ARB-1002", 3, "svc-filling", "dr-hakobyan", hour=12)
    pay(ask(moved))
    start, end = _slot(8, 15)
    services.appointment_transfer(
        appointment=moved,
        starts_at=start,
        ends_at=end,
        specialist_id="dr-sargsyan",
        comment="customer asked for a later day",
        actor=actor,
    )
    # completed today, full payment paid
    done = book("ARB-1003", 0, "svc-cleaning", "dr-sargsyan", hour=9)
    pay(ask(done, kind="full", amount="25000.00"))
    services.appointment_complete(appointment=done, comment="treatment done", actor=actor)
    # no-show, deposit forfeited
    missed = book("ARB-1004", 0, "svc-checkup", "dr-hakobyan", hour=8)
    forfeited = pay(ask(missed))
    services.appointment_no_show(appointment=missed, comment="did not come", actor=actor)
    services.payment_request_forfeit(request=forfeited, reason="no-show policy", actor=actor)
    # cancelled early by the customer: refunded in full; cancelled inside the window: half
    # refunded. Paid through the sandbox and refunded after the seeding transaction commits.
    early = book("ARB-1005", 5, "svc-implant-consult", "dr-petrosyan")
    early_request = ask(early, amount="15000.00")
    late = book("ARB-1006", 0.5, "svc-filling", "dr-petrosyan", hour=17)
    late_request = ask(late)
    # cancelled, paid, nothing decided yet: the reconciliation lists it
    undecided = book("ARB-1007", 4, "svc-whitening", "dr-sargsyan")
    pay(ask(undecided, amount="20000.00"))
    services.appointment_cancel(
        appointment=undecided, reason="changed plans", by="customer", actor=actor
    )
    # a deposit never paid: expired
    expire(ask(book("ARB-1008", 6, "svc-checkup", "dr-hakobyan", hour=11), minutes=30))
    # a deposit paid after it expired: manual review (and a late_appointment_payment case)
    paid_late = expire(ask(book("ARB-1009", 7, "svc-filling", "dr-petrosyan"), minutes=30))
    payment_verify_manually(
        payment=paid_late.payment,
        actor=actor,
        comment="demo: paid at the gateway after the request expired",
        reference=f"DEMO-{paid_late.payment.order_number}",
    )
    policy_v2 = services.policy_create(
        organization=organization,
        code="standard",
        window_hours=48,
        refund_percent_before=Decimal("100"),
        refund_percent_after=Decimal("30"),
        no_show_refund_percent=Decimal("0"),
        actor=actor,
    )

    def refunds() -> None:
        for request in (early_request, late_request):
            sandbox_pay(payment=request.payment, outcome="approved", actor=actor)
        services.appointment_cancel(
            appointment=early, reason="travelling", by="customer", actor=actor
        )
        services.appointment_cancel(
            appointment=late, reason="feels ill", by="customer", actor=actor
        )
        services.appointment_refund(
            appointment=early, amount=Decimal("15000.00"), reason="cancelled in time", actor=actor
        )
        services.appointment_refund(
            appointment=late, amount=Decimal("5000.00"), reason="policy: 50 %", actor=actor
        )

    transaction.on_commit(refunds)
    stdout.write(
        f"appointments: Arabkir Dental Clinic, 9 appointments, policy standard "
        f"v{policy_v2.version} (old requests keep v1)"
    )
