"""Concurrency and crashes on PostgreSQL: attempts are made once, cards charged once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from billing import services
from billing.models import Attempt, BillingPeriod, Customer
from billing.tests.conftest import at
from conftest import run_together
from core.duework import due_work_run
from payments import sandbox
from payments.models import Payment, SandboxOrder

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_ten_concurrent_due_work_runs_create_each_attempt_once(
    organization, gym, plan, system_user, clock
):
    clock("2026-12-01", 8)
    for number in range(3):
        customer = services.customer_create(
            organization=organization,
            external_ref=f"m{number}",
            name=f"M{number}",
            language="en",
            actor=system_user,
        )
        services.subscription_create(
            organization=organization,
            customer=customer,
            plan=plan,
            branch=gym,
            start_date=at("2026-12-01").date(),
            collection="payment_link",
            actor=system_user,
        )
    now = clock("2026-12-01", 10)

    outcomes = run_together(
        *[lambda: due_work_run(organization=organization, now=now) for _ in range(10)]
    )

    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    assert not [o for o in outcomes if o.get("errors")], outcomes
    assert Attempt.objects.count() == 3
    assert Payment.objects.count() == 3
    assert SandboxOrder.objects.count() == 3  # one gateway order per attempt
    assert set(BillingPeriod.objects.values_list("status", flat=True)) == {"pending"}
    assert set(Attempt.objects.values_list("number", flat=True)) == {1}
    # and running again changes nothing
    assert due_work_run(organization=organization, now=now)["billing_attempts_created"] == 0
    assert SandboxOrder.objects.count() == 3


CHILD = textwrap.dedent(
    """
    import os, sys, time
    import django
    django.setup()
    from billing.services import attempts

    def stop(name):
        if name == os.environ["KILL_AT"]:
            print("AT " + name, flush=True)
            time.sleep(600)

    attempts.checkpoint = stop
    # The gateway's callback is lost: only a lookup can tell payops the card was charged.
    from payments import sandbox
    sandbox._notify = lambda *args, **kwargs: None
    from core.duework import due_work_run
    from core.models import Organization

    due_work_run(organization=Organization.objects.get(slug=os.environ["ORG"]))
    print("DONE", flush=True)
    """
)


def _saved_card_customer(organization, system_user) -> Customer:
    """A customer whose card the sandbox gateway holds (a binding from an earlier order)."""
    customer = services.customer_create(
        organization=organization,
        external_ref="card-1",
        name="Card",
        language="en",
        actor=system_user,
    )
    source = SandboxOrder.objects.create(
        merchant=sandbox.SANDBOX_USERNAME,
        order_number="EARLIER-1",
        amount_minor=100,
        currency_numeric="051",
        order_status=2,
        binding_id="bind-card-1",
        client_id=f"billing-customer-{customer.pk}",
        masked_pan="408397**0021",
        expires_at=at("2026-12-01"),
    )
    Customer.objects.filter(pk=customer.pk).update(
        binding_id=source.binding_id, binding_provider="sandbox"
    )
    customer.refresh_from_db()
    return customer


@pytest.mark.parametrize("kill_at", ["before_charge", "after_charge"])
def test_worker_killed_during_a_saved_card_attempt_never_charges_twice(
    organization, gym, plan, system_user, clock, kill_at
):
    clock("2026-12-01", 8)
    customer = _saved_card_customer(organization, system_user)
    subscription = services.subscription_create(
        organization=organization,
        customer=customer,
        plan=plan,
        branch=gym,
        start_date=at("2026-12-01").date(),
        collection="saved_card",
        actor=system_user,
    )
    clock("2026-12-01", 10)
    database = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
        f"{database['NAME']}",
        "SECRET_KEY": settings.SECRET_KEY,
        "KILL_AT": kill_at,
        "ORG": organization.slug,
    }
    child = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", CHILD],
        cwd=Path(settings.BASE_DIR),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = child.stdout.readline().strip()
        assert line == f"AT {kill_at}", (line, child.stderr.read() if child.poll() else "")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    assert child.returncode == -signal.SIGKILL

    attempt = Attempt.objects.get()
    assert attempt.charge_started_at is not None
    charged_before = SandboxOrder.objects.filter(order_number=attempt.order_number).count()
    assert charged_before == (1 if kill_at == "after_charge" else 0)
    assert Payment.objects.get().status == Payment.Status.PENDING  # payops knows nothing yet

    # The task runs again: the attempt is found, the gateway asked, nothing charged twice.
    due_work_run(organization=organization)
    due_work_run(organization=organization)

    assert Attempt.objects.count() == 1
    assert Payment.objects.count() == 1
    orders = SandboxOrder.objects.filter(order_number=attempt.order_number)
    assert orders.count() == 1
    assert orders.get().order_status == 2
    assert Payment.objects.get().status == Payment.Status.VERIFIED
    period = subscription.periods.get()
    assert period.status == BillingPeriod.Status.PAID
    assert period.verified_amount == plan.amount
