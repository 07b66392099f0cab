"""How far one move of the sandbox test clock may go (``core.clock`` horizon ``billing.plans``).

Stripe's rule for its test clocks: a move reaches at most two intervals of the shortest plan
among the organisation's subscriptions that are live or suspended (their current plan, and a
downgrade waiting for the period's end): a monthly plan, two months; a yearly plan, two years;
a daily plan, two days; ``interval_count`` multiplies. Without such a subscription billing sets
no limit: a cancelled one adds no period, nor does a paused one (its schedule restarts on
resume, ``subscription_resume``).

Why: the due work a move runs adds a subscription's missing periods one at a time up to the new
time (``periods_extend``), each with its audit row, event and webhook, and then makes an attempt
(a payment and a gateway order) for every period already due. That costs about 30 ms per period
on the demo data, so a move of 8,000 years on monthly plans (96,000 periods a subscription) ran
for hours in one request. Two intervals bound it to a few periods per subscription, each with
its dunning, whatever the distance asked, and still let an integrator walk a whole period and
its dunning (retries, grace, suspension, reminders) in one step, or a yearly plan's renewal.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from billing.models import Plan, Subscription
from billing.services.calendar import next_start
from core.clock import ClockHorizon

INTERVALS_PER_MOVE = 2


def billing_clock_horizon(*, organization, now: dt.datetime) -> ClockHorizon | None:
    """The furthest moment one move of ``organization``'s test clock may reach from ``now``."""
    live = Subscription.objects.filter(
        organization=organization,
        status__in=(*Subscription.LIVE, Subscription.Status.SUSPENDED),
    )
    plans = Plan.objects.filter(
        Q(pk__in=live.values("plan_id")) | Q(pk__in=live.values("pending_plan_id"))
    ).values_list("interval", "interval_count")
    local = timezone.localtime(now, organization.tz)
    best: ClockHorizon | None = None
    for interval, count in set(plans):
        try:
            day = next_start(
                local.date(),
                interval=interval,
                count=INTERVALS_PER_MOVE * count,
                anchor_day=local.day,
            )
        except (OverflowError, ValueError):  # beyond Python's dates: no nearer limit from it
            continue
        until = dt.datetime.combine(day, local.time(), tzinfo=organization.tz)
        if best is None or until < best.until:
            every = f"{count} {interval}" + ("s" if count > 1 else "")
            best = ClockHorizon(
                until=until, why=f"two intervals of the shortest subscription plan, {every}"
            )
    return best
