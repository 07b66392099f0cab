"""Issue 9 #5: two first-time ``fee_policy_set`` calls at once (PostgreSQL, real threads)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import transaction

from conftest import run_together
from payouts import services
from payouts.models import FeePolicy
from payouts.tests.test_races import in_thread, wait_for_a_lock_waiter

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_first_fee_policy_set_waiting_on_another_updates_the_winners_row(organization, actor):
    """Forced: the first call has inserted the policy and not committed; the second finds no row
    and waits on the unique index. Once the first commits, the second updates that row (it
    raised IntegrityError, a 500 in the admin)."""
    held, release, results = threading.Event(), threading.Event(), {}

    def first():
        with transaction.atomic():
            services.fee_policy_set(
                organization=organization,
                currency="AMD",
                percentage=Decimal("1"),
                fixed=Decimal("10"),
                actor=actor,
            )
            held.set()
            assert release.wait(30)

    def second():
        return services.fee_policy_set(
            organization=organization,
            currency="AMD",
            percentage=Decimal("2"),
            fixed=Decimal("20"),
            actor=actor,
        )

    one = in_thread(first, results, "first")
    assert held.wait(30)
    two = in_thread(second, results, "second")
    wait_for_a_lock_waiter()
    release.set()
    one.join(30)
    two.join(30)
    assert not any(isinstance(r, Exception) for r in results.values()), results
    policy = FeePolicy.objects.get()
    assert (policy.percentage, policy.fixed) == (Decimal("2"), Decimal("20.00"))
    assert list(policy.history.order_by("history_id").values_list("history_type", flat=True)) == [
        "+",
        "~",
    ]


def test_first_fee_policy_calls_at_once_leave_one_row(organization, actor):
    def setter(percentage):
        return lambda: services.fee_policy_set(
            organization=organization,
            currency="USD",
            percentage=Decimal(percentage),
            fixed=Decimal("0"),
            actor=actor,
        )

    outcomes = run_together(*(setter(p) for p in ("1", "2", "3", "4")))
    assert not any(isinstance(o, BaseException) for o in outcomes), outcomes
    policy = FeePolicy.objects.get()
    assert policy.percentage in {Decimal(p) for p in ("1", "2", "3", "4")}
    assert {o.pk for o in outcomes} == {policy.pk}
