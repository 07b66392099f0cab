"""Dunning: reminders after failed attempts, in the customer's language and channel.

A reminder is written (queued) in the transaction that recorded the failure and sent after
commit (a task, and the due work's sweep): e-mail through Django's mail framework, SMS through
``billing.sms``. Never more than ``max_reminders`` per period (a unique sequence number per
period), none while an operator paused dunning for the customer. Texts are translated by
Django's translation machinery (``billing/locale``, hy / ru / en).
"""

from __future__ import annotations

import logging

from django.core.mail import get_connection, send_mail
from django.db import connection, transaction
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
    _deliver(
        notification.pk,
        notification.channel,
        notification.recipient,
        notification.subject,
        notification.body,
    )
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


# The sweep claims queued reminders in batches of at most this many, one UPDATE each.
SEND_BATCH = 500


def notifications_send_queued(*, organization) -> int:
    """Send the organisation's queued reminders; returns how many were sent. On PostgreSQL a
    batch is claimed by one ``UPDATE … RETURNING`` (queued -> sent, rows another sweep holds
    skipped) and committed before any is sent, so of two sweeps running at once each reminder
    goes out once; the batch's e-mails share one mail connection; a mail or SMS failure marks
    that one failed and lists it. Elsewhere one conditional update per reminder
    (``notification_send``)."""
    if connection.vendor != "postgresql":
        sent = 0
        for pk in Notification.objects.filter(
            organization=organization, status=Notification.Status.QUEUED
        ).values_list("pk", flat=True):
            done = notification_send(notification_id=pk)
            sent += int(done is not None and done.status == Notification.Status.SENT)
        return sent
    sent = 0
    while claimed := _claim(organization):
        mail = get_connection()
        for pk, channel, recipient, subject, body in claimed:
            sent += int(_deliver(pk, channel, recipient, subject, body, mail=mail))
        if len(claimed) < SEND_BATCH:
            break
    return sent


def _claim(organization) -> list[tuple]:
    """Mark up to ``SEND_BATCH`` queued reminders sent, committed before they are sent (its own
    transaction, or the caller's), and return what sending needs: id, channel, recipient,
    subject and body."""
    table = connection.ops.quote_name(Notification._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, sent_at = %s WHERE id IN ("  # noqa: S608
            f" SELECT id FROM {table} WHERE organization_id = %s AND status = %s"
            " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) AND status = %s"
            " RETURNING id, channel, recipient, subject, body",
            [
                Notification.Status.SENT,
                clock_now(organization),
                organization.pk,
                Notification.Status.QUEUED,
                SEND_BATCH,
                Notification.Status.QUEUED,
            ],
        )
        return sorted(cursor.fetchall())


def _deliver(pk: int, channel: str, recipient: str, subject: str, body: str, *, mail=None) -> bool:
    """Send one claimed reminder; a failure is recorded (failed, listed), never raised."""
    try:
        if channel == Notification.Channel.EMAIL:
            send_mail(subject, body, None, [recipient], connection=mail)
        else:
            sms.get_backend().send(recipient, body)
    except Exception as exc:  # a mail or SMS failure is listed, never raised into the caller
        logger.warning("reminder %s not sent: %s", pk, exc)
        _failed(
            Notification.objects.select_related("organization").get(pk=pk),
            error=f"{type(exc).__name__}: {exc}",
        )
        return False
    return True
