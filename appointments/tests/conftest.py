from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from appointments import services
from core.models import Branch


@pytest.fixture
def actor(system_user):
    return system_user


@pytest.fixture
def clinic_branch(organization):
    return Branch.objects.create(organization=organization, code="arabkir", name="Arabkir")


@pytest.fixture
def policy(organization, actor):
    return services.policy_create(
        organization=organization,
        code="standard",
        window_hours=24,
        refund_percent_before=Decimal("100"),
        refund_percent_after=Decimal("50"),
        no_show_refund_percent=Decimal("0"),
        actor=actor,
    )


def slot(days: float = 3, hours: float = 1) -> tuple[dt.datetime, dt.datetime]:
    start = (timezone.now() + dt.timedelta(days=days)).replace(microsecond=0)
    return start, start + dt.timedelta(hours=hours)


@pytest.fixture
def book(organization, clinic_branch, policy, actor):
    def make(days: float = 3, customer=None, external_ref="crm-1"):
        starts_at, ends_at = slot(days)
        return services.appointment_book(
            organization=organization,
            branch=clinic_branch,
            external_ref=external_ref,
            service_id="svc-cleaning",
            specialist_id="dr-7",
            starts_at=starts_at,
            ends_at=ends_at,
            policy_code=policy.code,
            customer=customer,
            actor=actor,
        )

    return make


@pytest.fixture
def paid_request(book, actor):
    """An appointment (3 days ahead) with a 10 000 AMD deposit paid through the sandbox."""
    from payments.services import sandbox_pay

    def make(days: float = 3, amount: str = "10000.00", **kwargs):
        appointment = book(days=days, **kwargs)
        request = services.payment_request_create(
            appointment=appointment,
            kind="deposit",
            amount=Decimal(amount),
            currency="AMD",
            expires_in_minutes=60,
            actor=actor,
        )
        sandbox_pay(payment=request.payment, outcome="approved", actor=actor)
        request.refresh_from_db()
        return appointment, request

    return make
