"""Races over HTTP against gunicorn (2 worker processes) on PostgreSQL: one effect each.

- refunds racing drift decisions: a processing payout is held by a refund of one of its
  payments; then, at once, its drift decision (``recalculate`` or ``carry``) and two more refunds
  of the same payment arrive. Every answer is a success or a clean refusal, each refund is
  counted once, the payout ends consistent (held again exactly when a refund came after the
  decision), and once decided and completed the money self-check (verified - refunded = paid out
  + in flight + carried adjustments, per recipient) holds;
- due-work runs racing each other: ``POST sandbox/clock/`` (which runs the due work) several
  times at once, with ``manage.py run_due_work`` and beat's ``core.tasks.run_due_work`` in
  processes of their own, while subscription periods and appointment payment requests are due:
  one attempt (one payment, one gateway order) per period, each request expired once, one
  nightly reconciliation run; and what the runs report adds up to that (none counts another's).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import pytest
from django.utils import timezone

from conftest import make_api
from core.actors import system_actor
from core.models import Branch, Organization
from tests.reliability.live import ROOT, gunicorn, server_env

pytestmark = [pytest.mark.postgres, pytest.mark.long]
ROUNDS = 8


def _org(slug: str):
    organization = Organization.objects.create(slug=slug, name=slug.title())
    branch = Branch.objects.create(organization=organization, code="main", name="Main")
    return organization, branch


def _ok(response: httpx.Response, *codes: int) -> dict:
    assert response.status_code in codes, (response.status_code, response.text)
    return response.json()


def test_refunds_racing_drift_decisions(transactional_db):
    from exceptionqueue.models import ExceptionCase
    from payments.models import Payment, Refund
    from payouts import services
    from payouts.models import Payout
    from payouts.tests.factories import today
    from reconciliation.services.figures import money_self_check
    from reconciliation.services.runs import local_bounds

    organization, branch = _org("drift-race")
    actor = system_actor("reliability")
    headers = {"Authorization": f"Token {make_api(organization, name='race').token}"}
    day = today(organization)
    answers: Counter = Counter()
    held_again = 0
    with gunicorn() as base, httpx.Client(base_url=base, timeout=60, headers=headers) as http:
        for round_ in range(ROUNDS):
            recipient = services.recipient_create(
                organization=organization,
                scope="employee",
                name=f"Waiter {round_}",
                branch=branch,
                actor=actor,
            )
            qr = services.qr_code_create(recipient=recipient, actor=actor)
            payment = _ok(
                http.post(
                    "/api/v1/sandbox/qr-payments/",
                    json={
                        "qr_code": qr.code,
                        "amount": "3000.00",
                        "currency": "AMD",
                        "outcome": "approved",
                    },
                ),
                201,
            )
            payment_id = payment["id"]
            payout = _ok(
                http.post(
                    "/api/v1/payouts/",
                    json={
                        "recipient": recipient.pk,
                        "currency": "AMD",
                        "period_start": str(day),
                        "period_end": str(day),
                    },
                ),
                201,
            )
            _ok(
                http.post(
                    f"/api/v1/payouts/{payout['id']}/transitions/", json={"to": "processing"}
                ),
                200,
            )

            def refund(amount: str, payment_id=payment_id) -> httpx.Response:
                return http.post(
                    f"/api/v1/payments/{payment_id}/refunds/",
                    json={"amount": amount, "reason": "customer asked"},
                )

            _ok(refund("500.00"), 201)
            decision = "recalculate" if round_ % 2 == 0 else "carry"
            calls = [
                lambda payout_id=payout["id"], decision=decision: http.post(
                    f"/api/v1/payouts/{payout_id}/drift-decisions/",
                    json={"decision": decision, "comment": "race"},
                ),
                lambda: refund("700.00"),
                lambda: refund("300.00"),
            ]
            with ThreadPoolExecutor(len(calls)) as pool:
                results = list(pool.map(lambda call: call(), calls))
            decided, *refunds = results
            answers[("decision", decided.status_code)] += 1
            for response in refunds:
                answers[("refund", response.status_code)] += 1
            assert decided.status_code in (200, 409), decided.text
            assert all(r.status_code in (201, 409) for r in refunds), [r.text for r in refunds]

            # Each refund counted once, on the payment and at the payout.
            paid = Payment.objects.get(pk=payment_id)
            made = Refund.objects.filter(payment=paid, status="succeeded")
            expected = Decimal("500.00") + sum(
                Decimal(r.json()["amount"]) for r in refunds if r.status_code == 201
            )
            assert paid.refunded_amount == expected == sum(r.amount for r in made)
            row = Payout.objects.get(pk=payout["id"])
            case_open = ExceptionCase.objects.filter(
                kind="refund_drift", subject_id=str(row.pk), status__in=["open", "acknowledged"]
            ).exists()
            assert row.drift_hold == case_open
            if row.drift_hold:  # a refund came after the decision: decided again, once
                held_again += 1
                _ok(
                    http.post(
                        f"/api/v1/payouts/{row.pk}/drift-decisions/",
                        json={"decision": decision, "comment": "after the race"},
                    ),
                    200,
                )
            _ok(
                http.post(
                    f"/api/v1/payouts/{row.pk}/transitions/",
                    json={"to": "completed", "method": "cash", "reference": f"R{round_}"},
                ),
                200,
            )
            row.refresh_from_db()
            assert row.gross == row.fee + row.net
    lo, hi = local_bounds(organization, day, day)
    checks = money_self_check(organization_id=organization.pk, lo=lo, hi=hi)
    assert len(checks) == ROUNDS
    assert [c for c in checks if c["drift"] != 0] == [], checks
    print(f"drift race: {ROUNDS} rounds, answers {dict(answers)}, held again {held_again}")


def test_due_work_runs_racing_each_other(transactional_db):
    from appointments import services as appointments
    from appointments.models import AppointmentEvent, PaymentRequest
    from billing import services as billing
    from billing.models import Attempt, BillingPeriod
    from core.clock import test_clock_advance
    from payments.models import Payment, SandboxOrder
    from reconciliation.models import ReconciliationRun

    organization, branch = _org("due-race")
    actor = system_actor("reliability")
    token = make_api(organization, name="clock").token
    tomorrow = timezone.localtime(timezone.now(), organization.tz).date() + dt.timedelta(days=1)
    plan = billing.plan_create(
        organization=organization,
        code="monthly",
        name="Monthly",
        amount=Decimal("15000.00"),
        currency="AMD",
        interval="month",
        actor=actor,
    )
    subscriptions = 12
    for number in range(subscriptions):
        customer = billing.customer_create(
            organization=organization,
            external_ref=f"m{number}",
            name=f"Member {number}",
            language="hy",
            actor=actor,
        )
        billing.subscription_create(
            organization=organization,
            customer=customer,
            plan=plan,
            branch=branch,
            start_date=tomorrow,
            collection="payment_link",
            actor=actor,
        )
    policy = appointments.policy_create(
        organization=organization,
        code="standard",
        window_hours=24,
        refund_percent_before=Decimal("100"),
        refund_percent_after=Decimal("50"),
        no_show_refund_percent=Decimal("0"),
        actor=actor,
    )
    starts_at = (timezone.now() + dt.timedelta(days=3)).replace(microsecond=0)
    requests = 12
    for number in range(requests):
        appointment = appointments.appointment_book(
            organization=organization,
            branch=branch,
            external_ref=f"crm-{number}",
            service_id="svc-cleaning",
            specialist_id="dr-7",
            starts_at=starts_at + dt.timedelta(hours=number),
            ends_at=starts_at + dt.timedelta(hours=number, minutes=30),
            policy_code=policy.code,
            customer=None,
            actor=actor,
        )
        appointments.payment_request_create(
            appointment=appointment,
            kind="deposit",
            amount=Decimal("10000.00"),
            currency="AMD",
            expires_in_minutes=60,
            actor=actor,
        )
    # The clock stands where everything is due; every run below runs the due work at it.
    when = dt.datetime.combine(tomorrow, dt.time(10), tzinfo=organization.tz)
    test_clock_advance(organization=organization, now=when, actor=actor)

    env = server_env()
    scripts = [
        [sys.executable, "manage.py", "run_due_work"],
        [sys.executable, "manage.py", "run_due_work"],
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "import json; from core.tasks import run_due_work; print(json.dumps(run_due_work()))",
        ],
    ]
    with gunicorn() as base, httpx.Client(base_url=base, timeout=120) as http:
        processes = [
            subprocess.Popen(  # noqa: S603
                script, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for script in scripts
        ]

        def clock_post(_) -> httpx.Response:
            return http.post(
                "/api/v1/sandbox/clock/",
                json={"now": when.isoformat()},
                headers={"Authorization": f"Token {token}"},
            )

        # The clock's due-work runs go on until the command and the beat task have all run.
        posts: list[httpx.Response] = []
        with ThreadPoolExecutor(4) as pool:
            while any(process.poll() is None for process in processes) or len(posts) < 8:
                posts += list(pool.map(clock_post, range(4)))
        outputs = [process.communicate() for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], outputs
    assert {r.status_code for r in posts} == {200}, [r.text for r in posts if r.status_code != 200]
    assert not [r.json()["ran"] for r in posts if r.json()["ran"].get("errors")]

    periods = BillingPeriod.objects.filter(organization=organization)
    assert periods.count() == subscriptions
    attempts = Attempt.objects.filter(organization=organization)
    assert attempts.count() == subscriptions  # one attempt per period
    assert set(attempts.values_list("number", flat=True)) == {1}
    assert set(periods.values_list("status", flat=True)) == {"pending"}
    payments = Payment.objects.filter(organization=organization, purpose="subscription")
    assert payments.count() == subscriptions
    orders = SandboxOrder.objects.filter(order_number__in=attempts.values("order_number"))
    assert orders.count() == subscriptions  # one gateway order per attempt
    assert set(
        PaymentRequest.objects.filter(organization=organization).values_list("status", flat=True)
    ) == {"expired"}
    expired = AppointmentEvent.objects.filter(kind=AppointmentEvent.Kind.REQUEST_EXPIRED)
    assert expired.count() == requests  # each once
    # What each run says it did adds up to what was done: no run counts another's work.
    said = [r.json()["ran"] for r in posts]
    prefix = f"{organization.slug}: "
    for out, _ in outputs[:2]:  # the command prints "<slug>: <counts>"
        said += [json.loads(line[len(prefix) :]) for line in out.decode().splitlines()]
    said.append(json.loads(outputs[2][0].decode().splitlines()[-1])[organization.slug])
    made = Counter()
    for counts in said:
        made.update(counts)
    assert made["billing_attempts_created"] == subscriptions, said
    assert made["appointment_requests_expired"] == requests, said
    # The clock is past the nightly hour: yesterday reconciled once, and said once.
    assert ReconciliationRun.objects.filter(organization=organization).count() == 1
    assert made["reconciliation_runs"] == 1, said
    print(f"due-work race: {len(posts)} clock POSTs, 2 commands, 1 beat task: {dict(made)}")
