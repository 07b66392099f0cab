"""Outgoing webhooks: endpoints, the outbox of events, deliveries and their attempt log.

``WebhookEvent`` rows are the outbox: written by ``webhooks.services.event_emit`` inside the
transaction of the change that caused them, together with one ``WebhookDelivery`` per matching
endpoint. Delivery state (``next_attempt_at``) lives in the database and is swept by beat, so no
task waits in the broker longer than a few seconds.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django_fsm import FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

from core.models import Organization


class WebhookEndpoint(models.Model):
    """An integrator's receiver. The secret signs every delivery; during a rotation the previous
    secret keeps signing too (two signatures in the header) until ``previous_secret_expires_at``."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(
        default=list,
        help_text='Event types delivered: exact ("payout.completed"), a resource ("payout.*") '
        'or everything ("*").',
    )
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    history = HistoricalRecords(excluded_fields=["secret", "previous_secret"])

    class Meta:
        ordering = ["organization", "id"]

    def __str__(self) -> str:
        return f"{self.url} ({self.organization.slug})"

    def accepts(self, event_type: str) -> bool:
        resource = event_type.split(".", 1)[0]
        return any(
            pattern in ("*", event_type, f"{resource}.*") for pattern in self.event_types or []
        )

    def signing_secrets(self, now) -> list[str]:
        secrets = [self.secret]
        if (
            self.previous_secret
            and self.previous_secret_expires_at is not None
            and now < self.previous_secret_expires_at
        ):
            secrets.append(self.previous_secret)
        return secrets


class WebhookEvent(models.Model):
    """One outbox row per state transition. The id (``msg_…``) is derived from the transition, so
    emitting it twice writes one row; it is the ``webhook-id`` header of every delivery."""

    id = models.CharField(primary_key=True, max_length=40)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="webhook_events"
    )
    event_type = models.CharField(max_length=100, db_index=True)
    subject_type = models.CharField(max_length=100)
    subject_id = models.CharField(max_length=64)
    dedup = models.CharField(max_length=255, blank=True)
    data = models.JSONField()
    body = models.TextField(help_text="The exact JSON sent (and signed) on every attempt.")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "created_at"])]

    def __str__(self) -> str:
        return f"{self.event_type} {self.id}"


class WebhookDelivery(FSMModelMixin, models.Model):
    """One event to one endpoint: the retry state machine, its schedule in database columns."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    event = models.ForeignKey(WebhookEvent, on_delete=models.PROTECT, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries"
    )
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    status = FSMField(max_length=16, choices=Status.choices, default=Status.PENDING, protected=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Attempts made, all rounds.")
    round_attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Attempts in the current schedule (reset by a replay)."
    )
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    replays = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    history = HistoricalRecords(excluded_fields=["queued_at"])

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhookdelivery_unique"),
            models.CheckConstraint(
                condition=~Q(status="pending") | Q(next_attempt_at__isnull=False),
                name="webhookdelivery_pending_has_next_attempt",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhookdelivery_due",
            ),
            models.Index(fields=["organization", "status", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} -> endpoint {self.endpoint_id} ({self.status})"

    @classmethod
    def first_of(cls, event: WebhookEvent, endpoint: WebhookEndpoint, *, now) -> WebhookDelivery:
        """The (unsaved) first delivery of ``event`` to ``endpoint``, due ``now``."""
        return cls(
            event=event,
            endpoint=endpoint,
            organization=event.organization,
            next_attempt_at=now,
            created_at=now,
        )

    # Transitions: called by webhooks.services only, under a row lock.
    @transition(field=status, source=Status.PENDING, target=Status.SUCCEEDED)
    def succeed(self) -> None:
        pass

    @transition(field=status, source=Status.PENDING, target=Status.FAILED)
    def fail(self) -> None:
        pass

    @transition(field=status, source=[Status.FAILED, Status.SUCCEEDED], target=Status.PENDING)
    def replay(self) -> None:
        pass


class WebhookAttempt(models.Model):
    """The delivery log: one append-only row per HTTP attempt."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.PROTECT, related_name="attempt_log"
    )
    attempt = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    retry_after_seconds = models.PositiveIntegerField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["delivery", "attempt", "id"]

    def __str__(self) -> str:
        return f"attempt {self.attempt} of delivery {self.delivery_id}: {self.status_code}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise RuntimeError("WebhookAttempt rows are append-only.")
        super().save(*args, **kwargs)

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
