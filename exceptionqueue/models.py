"""The exception queue: one row for every case that needs a person.

A case is raised through ``exceptionqueue.services.exception_raise`` with a deduplication key; the
database guarantees that one organisation never has two open (or acknowledged) cases with the
same key. Kinds are registered by the apps that raise them (``exceptionqueue.kinds``). Its
state moves only through services (FSM, row lock), and every move writes an
append-only ``ExceptionCaseEvent`` besides the simple-history row.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django_fsm import FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

from core.audit import AuditEvent
from core.models import Branch, Organization
from core.money import AmountField, CurrencyField
from exceptionqueue.kinds import kind_choices


class ExceptionCase(FSMModelMixin, models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"

    class Severity(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"
        CRITICAL = "critical", "Critical"

    ACTIVE_STATUSES = (Status.OPEN, Status.ACKNOWLEDGED)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="exception_cases"
    )
    branch = models.ForeignKey(
        Branch, on_delete=models.PROTECT, null=True, blank=True, related_name="exception_cases"
    )
    kind = models.CharField(max_length=64, choices=kind_choices, db_index=True)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MEDIUM)
    status = FSMField(
        max_length=16, choices=Status.choices, default=Status.OPEN, protected=True, db_index=True
    )
    dedup_key = models.CharField(
        max_length=255, help_text="Same organisation and key: the same problem, listed once."
    )
    message = models.TextField()
    blocking = models.BooleanField(
        default=False, help_text="Blocks the close of the accounting period it falls in."
    )
    # The subject the case is about (a payout, a payment, a webhook endpoint...).
    subject_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    subject_id = models.CharField(max_length=64, blank=True, default="")
    subject = GenericForeignKey("subject_type", "subject_id")
    amount = AmountField(null=True, blank=True)
    currency = CurrencyField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    # The business dates the case concerns (inclusive), for period-close blocking.
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)

    occurrences = models.PositiveIntegerField(
        default=1, help_text="How many times the problem was raised while this case was active."
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(db_index=True)
    last_seen_at = models.DateTimeField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    auto_resolved = models.BooleanField(default=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dedup_key"],
                condition=Q(status__in=["open", "acknowledged"]),
                name="exceptioncase_one_active_per_dedup_key",
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(currency__isnull=False),
                name="exceptioncase_amount_has_currency",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["open", "acknowledged", "resolved", "dismissed"]),
                name="exceptioncase_status_valid",
            ),
        ]
        indexes = [
            # The API lists newest first (``-id``) within one organisation.
            models.Index(fields=["organization", "id"], name="exceptioncase_org_id"),
            models.Index(fields=["organization", "status", "kind"]),
            models.Index(fields=["organization", "blocking", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    # Transitions: called by exceptionqueue.services only, under a row lock.
    @transition(field=status, source=Status.OPEN, target=Status.ACKNOWLEDGED)
    def acknowledge(self) -> None:
        pass

    @transition(field=status, source=[Status.OPEN, Status.ACKNOWLEDGED], target=Status.RESOLVED)
    def resolve(self) -> None:
        pass

    @transition(field=status, source=[Status.OPEN, Status.ACKNOWLEDGED], target=Status.DISMISSED)
    def dismiss(self) -> None:
        pass


class ExceptionCaseEvent(AuditEvent):
    """Append-only: one row per thing that happened to a case (raised, repeated, transitions)."""

    class Action(models.TextChoices):
        RAISED = "raised", "Raised"
        REPEATED = "repeated", "Raised again while active"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"
        AUTO_RESOLVED = "auto_resolved", "Resolved automatically (condition cleared)"
        DISMISSED = "dismissed", "Dismissed"

    case = models.ForeignKey(ExceptionCase, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=16, choices=Action.choices)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.action} on case #{self.case_id}"
