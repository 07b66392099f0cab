"""Demo for the desk (idempotent): the demo month as an accounting period, one case that blocks
its close until someone resolves it, and (in development) an accountant login.

The demo month is last calendar month (the month an accountant closes while this one runs); this
month is opened too. The demo payments cover the 30 days before today, so last month holds some
of them; this month also holds the payouts demo's refund drift (dated today), which an operator
decides on the payout, so it is not the month an accountant closes alone.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from core.actors import system_actor
from core.models import Organization
from core.services import staff_user_ensure
from exceptionqueue.models import ExceptionCase
from exceptionqueue.services import exception_raise
from reconciliation.exception_kinds import MISSING_IN_PROVIDER_REPORT
from reconciliation.services import accounting_period_month

ORG = "yerevan-cafe"
OTHER = "arabkir-dental"
LOGIN_FILE = settings.VAR_DIR / "demo-accountant.txt"


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
    key = f"demo:desk:{period.start.isoformat()}"
    if (
        not period.is_closed
        and not ExceptionCase.objects.filter(organization=organization, dedup_key=key).exists()
    ):
        day = period.end
        exception_raise(
            organization=organization,
            kind=MISSING_IN_PROVIDER_REPORT,
            dedup_key=key,
            message=(
                f"Demo: a 5,000.00 AMD payment of {day:%d.%m.%Y} is verified in payops but is "
                "not in the ArCa report. The bank confirmed it by phone: resolve the case with a "
                "note saying so."
            ),
            actor=actor,
            currency="AMD",
            amount=Decimal("5000.00"),
            period_start=day,
            period_end=day,
            details={"demo": True},
        )
    stdout.write(f"desk: demo accounting period {period.start}..{period.end} ({period.status})")
    if settings.DEBUG:
        _login(organization, actor, stdout)


def _login(organization, actor, stdout) -> None:
    """An accountant of the cafe (and of the clinic, for the organisation switcher)."""
    password = None
    if not LOGIN_FILE.exists():
        password = os.environ.get("PAYOPS_DEMO_ACCOUNTANT_PASSWORD") or secrets.token_urlsafe(12)
    staff_user_ensure(
        username="accountant",
        organization=organization,
        role="accountant",
        password=password,
        actor=actor,
    )
    other = Organization.objects.filter(slug=OTHER).first()
    if other is not None:
        staff_user_ensure(
            username="accountant", organization=other, role="accountant", password=None, actor=actor
        )
    if password:
        LOGIN_FILE.write_text(f"accountant {password}\n")
        LOGIN_FILE.chmod(0o600)
    if LOGIN_FILE.exists():
        username, saved = LOGIN_FILE.read_text().split()
        url = f"{settings.PAYOPS_BASE_URL.rstrip('/')}/desk/"
        stdout.write(f"Accountants' desk: {url} login {username} / {saved}")
