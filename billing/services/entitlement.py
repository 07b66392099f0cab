"""Entitlement: is the customer entitled now, until when, and why.

It changes only after a verified payment (``source: payment``), a trial (``trial``) or an
explicit override by a person with a reason (``override``), never from the schedule alone. The
schedule only decides when a granted entitlement runs out: it stays active through ``until``
plus the organisation's grace days (the block date), while the subscription is live (trialing,
active, past due). Every change of (active, until, source) writes an ``entitlement.changed``
webhook and an audit event.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from billing import events
from billing.locks import subscription_lock
from billing.models import Subscription
from billing.services.settings import billing_settings_get
from core.audit import save_audited
from core.clock import clock_now
from core.errors import CoreError


def entitlement_block_date(subscription: Subscription, *, grace_days: int) -> dt.date | None:
    """The first day without entitlement when nothing more is paid."""
    if subscription.entitlement_until is None:
        return None
    return subscription.entitlement_until + dt.timedelta(days=grace_days + 1)


def entitlement_compute(subscription: Subscription, *, today: dt.date, grace_days: int) -> bool:
    if subscription.status not in Subscription.LIVE:
        return False
    block = entitlement_block_date(subscription, grace_days=grace_days)
    return block is not None and today < block


def entitlement_refresh(
    subscription: Subscription, *, actor, now=None, comment: str = "", force_event=False
) -> bool:
    """Recompute ``entitlement_active`` of a locked subscription; announce a change. Returns
    True when something was announced. Callers hold the subscription lock."""
    organization = subscription.organization
    now = now or clock_now(organization)
    today = dt.datetime.fromtimestamp(now.timestamp(), organization.tz).date()
    grace = billing_settings_get(organization=organization).grace_days
    active = entitlement_compute(subscription, today=today, grace_days=grace)
    if active == subscription.entitlement_active and not force_event:
        return False
    subscription.entitlement_active = active
    save_audited(
        subscription,
        actor=actor,
        reason=comment or f"entitlement {'active' if active else 'inactive'}",
    )
    events.entitlement_changed(subscription, actor=actor, now=now, comment=comment)
    return True


def entitlement_grant(
    subscription: Subscription, *, until: dt.date, source: str, actor, now, comment: str
) -> None:
    """Extend a locked subscription's entitlement (payment or trial): ``until`` never moves
    back here (only an override may shorten it)."""
    if subscription.entitlement_until is not None and subscription.entitlement_until >= until:
        if subscription.entitlement_source == source:
            entitlement_refresh(subscription, actor=actor, now=now, comment=comment)
            return
        until = subscription.entitlement_until
    subscription.entitlement_until = until
    subscription.entitlement_source = source
    save_audited(subscription, actor=actor, reason=comment)
    entitlement_refresh(subscription, actor=actor, now=now, comment=comment, force_event=True)


@transaction.atomic
def entitlement_override(
    *, subscription: Subscription, until: dt.date, reason: str, actor
) -> Subscription:
    """A person sets the entitlement's end date, with a reason (audited, webhook)."""
    if not reason or not reason.strip():
        raise CoreError.REASON_REQUIRED.error(
            "An entitlement override needs a reason.",
            fields={"reason": ["This field is required."]},
        )
    subscription = subscription_lock(subscription)
    from billing.services.subscriptions import ensure_not_cancelled

    ensure_not_cancelled(subscription)
    now = clock_now(subscription.organization)
    previous = subscription.entitlement_until
    subscription.entitlement_until = until
    subscription.entitlement_source = Subscription.EntitlementSource.OVERRIDE
    save_audited(subscription, actor=actor, reason=f"entitlement override: {reason.strip()}")
    events.noted(
        subscription,
        kind="entitlement_override",
        actor=actor,
        now=now,
        comment=reason.strip(),
        data={"until": until.isoformat(), "previous": previous.isoformat() if previous else None},
    )
    entitlement_refresh(
        subscription, actor=actor, now=now, comment=f"override: {reason.strip()}", force_event=True
    )
    return subscription
