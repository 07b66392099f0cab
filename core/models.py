from __future__ import annotations

import hashlib
import secrets
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django_fsm import FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

from core.money import CurrencyField


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone.")


class Organization(models.Model):
    """A business using payops. Every row of every domain belongs to exactly one organisation."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    timezone = models.CharField(
        max_length=64, default="Asia/Yerevan", validators=[validate_timezone]
    )
    default_currency = CurrencyField(default="AMD")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Branch(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="branches"
    )
    code = models.SlugField(max_length=64)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["organization", "code"]
        verbose_name_plural = "branches"
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="branch_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Membership(models.Model):
    """A staff user's access to an organisation; the role comes from the user's groups."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="members")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization}"


class ApiClient(models.Model):
    """An integrator: one token, one organisation.

    The token is shown once; only its SHA-256 is stored. Each client acts through its own
    service-account user, so the audit trail names it like any other actor.
    """

    TOKEN_PREFIX = "pk_"  # noqa: S105  (a prefix, not a secret)

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="api_clients"
    )
    name = models.CharField(max_length=200)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_client"
    )
    key_prefix = models.CharField(max_length=16, help_text="First characters, to recognise a key.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["last_used_at"])

    class Meta:
        ordering = ["organization", "name"]
        verbose_name = "API client"
        verbose_name_plural = "API clients"

    def __str__(self) -> str:
        return f"{self.name} ({self.organization.slug})"

    @classmethod
    def new_key(cls) -> str:
        return cls.TOKEN_PREFIX + secrets.token_urlsafe(32)

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()


class IdempotencyKey(models.Model):
    """Stripe-style idempotency: one row per (client, key), kept at least 24 hours."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"

    api_client = models.ForeignKey(ApiClient, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the canonical request.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(null=True, blank=True, help_text="The answer, as JSON text.")
    replayable = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_client", "key"], name="idempotency_key_unique")
        ]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"


class Heartbeat(models.Model):
    """Written by a beat-scheduled task, so /healthz can tell that a worker consumes tasks."""

    name = models.CharField(max_length=64, primary_key=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"


class TestClock(models.Model):
    """An organisation's sandbox test clock, as Stripe's test clocks: while a row exists, that
    organisation's time-driven work (billing attempts, retries, dunning, expiries, grace) runs as
    of ``now`` (``core.clock.clock_now``). It only moves forward; deleting it returns to real time.
    """

    __test__ = False  # not a pytest class

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="test_clock"
    )
    now = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"test clock of {self.organization_id} at {self.now.isoformat()}"


class AccountingPeriod(FSMModelMixin, models.Model):
    """One accounting period of an organisation (inclusive local dates; a month by default).

    open -> closing -> closed; closed -> open again only by a reopen with a permission and a
    reason. The kernel consults it (``core.accounting.accounting_period_guard``) before a change
    dated in it; the close flow, blockers and figures live in the ``reconciliation`` app, which
    owns the services, API and admin. The model sits in the kernel so that payments and every
    domain can ask "is this date closed?" without importing a domain.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSING = "closing", "Closing"
        CLOSED = "closed", "Closed"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="accounting_periods"
    )
    start = models.DateField()
    end = models.DateField()
    status = FSMField(max_length=8, choices=Status.choices, default=Status.OPEN, protected=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["organization", "start"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gte=models.F("start")),
                name="accounting_period_not_inverted",
            ),
            models.UniqueConstraint(
                fields=["organization", "start"], name="accounting_period_start_unique"
            ),
        ]
        indexes = [models.Index(fields=["organization", "start", "end"])]
        permissions = [
            ("close_accountingperiod", "Can close accounting periods"),
            ("reopen_accountingperiod", "Can reopen closed accounting periods"),
        ]

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()} ({self.status})"

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED

    # Transitions: called only by the close services, under a row lock.
    @transition(field=status, source=Status.OPEN, target=Status.CLOSING)
    def start_closing(self) -> None:
        pass

    @transition(field=status, source=[Status.OPEN, Status.CLOSING], target=Status.CLOSED)
    def close(self) -> None:
        pass

    @transition(field=status, source=Status.CLOSING, target=Status.OPEN)
    def cancel_closing(self) -> None:
        pass

    @transition(field=status, source=Status.CLOSED, target=Status.OPEN)
    def reopen(self) -> None:
        pass
