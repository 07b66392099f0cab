"""Dunning: reminders after failed attempts, in the customer's language and channel.

A reminder is written (queued) in the transaction that recorded the failure and sent after
commit (a task, and the due work's sweep): e-mail through Django's mail framework, SMS through
``billing.sms``. Never more than ``max_reminders`` per period (a unique sequence number per
period), none while an operator paused dunning for the customer. Texts are translated by
Django's translation machinery (``billing/locale``, hy / ru / en).
"""

from __future__ import annotations

import logging

from django.core.mail import send_mail
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from billing import events, sms
from billing.exception_kinds import REMINDER_FAILED
from billing.models import BillingPeriod, Notification, Subscription
from billing.services.settings import billing_settings_get
from core.clock import clock_now
from core.queueing import enqueue_on_commit

logger = logging.getLogger("payops.billing")


def _texts(period: BillingPeriod, subscription: Subscription, language: str) -> tuple[str, str]:
    with translation.override(language):
        subject = _("Payment for %(plan)s did not go through") % {"plan": subscription.plan.name}
        lines = [
            _("We could not collect %(amount)s %(currency)s for %(start)s to %(end)s.")
            % {
                "amount": period.expected_amount - period.verified_amount,
                "currency": period.currency,
                "start": period.start.isoformat(),
                "end": period.end.isoformat(),
            }
        ]
        if period.next_retry_at:
            lines.append(
                _("We will try again on %(date)s.")
                % {"date": period.next_retry_at.astimezone(subscription.organization.tz).date()}
            )
        if period.block_date:
            lines.append(
                _("Without payment, access ends on %(date)s.")
                % {"date": period.block_date.isoformat()}
            )
        return subject, "\n".join(lines)


def reminder_queue(
    period: BillingPeriod, *, subscription: Subscription, actor, now
) -> Notification | None:
    """Queue the period's next reminder, if the policy allows one. Callers hold the locks."""
    customer = subscription.customer
    settings = billing_settings_get(organization=subscription.organization)
    if customer.dunning_paused or period.reminders_sent >= settings.max_reminders:
        return None
    if customer.email:
        channel, recipient = Notification.Channel.EMAIL, customer.email
    elif customer.phone:
        channel, recipient = Notification.Channel.SMS, customer.phone
    else:
        return None
    subject, body = _texts(period, subscription, customer.language)
    period.reminders_sent += 1
    BillingPeriod.objects.filter(pk=period.pk).update(reminders_sent=period.reminders_sent)
    notification = Notification.objects.create(
        organization_id=subscription.organization_id,
        customer=customer,
        period=period,
        sequence=period.reminders_sent,
        channel=channel,
        language=customer.language,
        recipient=recipient,
        subject=subject,
        body=body,
        created_at=now,
    )
    events.noted(
        subscription,
        kind="reminder_queued",
        actor=actor,
        now=now,
        period=period,
        data={
            "notification": notification.pk,
            "channel": channel,
            "sequence": notification.sequence,
        },
    )
    enqueue_on_commit("billing.tasks.notification_send", notification.pk)
    return notification


def notification_send(*, notification_id: int) -> Notification | None:
    """Send one queued reminder (claimed by a conditional update, so it goes once)."""
    notification = (
        Notification.objects.select_related("organization")
        .filter(pk=notification_id, status=Notification.Status.QUEUED)
        .first()
    )
    if notification is None:
        return None
    now = clock_now(notification.organization)
    claimed = Notification.objects.filter(
        pk=notification.pk, status=Notification.Status.QUEUED
    ).update(status=Notification.Status.SENT, sent_at=now)
    if not claimed:
        return None
    try:
        if notification.channel == Notification.Channel.EMAIL:
            send_mail(notification.subject, notification.body, None, [notification.recipient])
        else:
            sms.get_backend().send(notification.recipient, notification.body)
    except Exception as exc:  # a mail or SMS failure is listed, never raised into the caller
        logger.warning("reminder %s not sent: %s", notification.pk, exc)
        _failed(notification, error=f"{type(exc).__name__}: {exc}")
    notification.refresh_from_db()
    return notification


@transaction.atomic
def _failed(notification: Notification, *, error: str) -> None:
    from core.actors import system_actor
    from exceptionqueue.services import exception_raise

    Notification.objects.filter(pk=notification.pk).update(
        status=Notification.Status.FAILED, sent_at=None, error=error[:255]
    )
    exception_raise(
        organization=notification.organization,
        kind=REMINDER_FAILED,
        dedup_key=f"{REMINDER_FAILED}:notification:{notification.pk}",
        message=f"Reminder {notification.sequence} of period {notification.period_id} "
        f"({notification.channel}) was not sent: {error}",
        actor=system_actor("billing"),
        subject=notification,
    )


def notifications_send_queued(*, organization) -> int:
    sent = 0
    for pk in Notification.objects.filter(
        organization=organization, status=Notification.Status.QUEUED
    ).values_list("pk", flat=True):
        done = notification_send(notification_id=pk)
        sent += int(done is not None and done.status == Notification.Status.SENT)
    return sent
