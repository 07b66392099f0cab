"""Subscriptions: customers, plans, subscriptions, billing periods, attempts, reminders.

A schedule says when to try; only a verified payment says money arrived. So a billing period
has its own state, apart from the state of the payments made for it, and the three facts
"invoiced", "payment pending" and "payment verified" each keep their own time.

Rows change only through ``billing.services`` under the locks of ``billing.locks``; the state
machines are django-fsm transitions (own row only), with history (``HistoricalRecords``) and the
append-only ``BillingEvent`` rows for every audited event.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django_fsm import FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

from core.audit import AuditEvent
from core.models import Branch, Organization
from core.money import AmountField, CurrencyField
from payments.models import Payment


class Language(models.TextChoices):
    HY = "hy", "Armenian"
    RU = "ru", "Russian"
    EN = "en", "English"


def default_retry_delays() -> list[int]:
    return [24, 72]


def default_retry_reasons() -> list[str]:
    return ["insufficient_funds", "technical_error", "link_expired"]


class BillingSettings(models.Model):
    """An organisation's retry and dunning policy (``billing-settings/``)."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="billing_settings"
    )
    max_attempts = models.PositiveSmallIntegerField(default=3)
    retry_delays_hours = models.JSONField(default=default_retry_delays)
    grace_days = models.PositiveSmallIntegerField(default=7)
    max_reminders = models.PositiveSmallIntegerField(default=3)
    retry_reasons = models.JSONField(default=default_retry_reasons)
    # How long a payment link of an attempt stays payable (by the organisation's clock).
    link_valid_hours = models.PositiveSmallIntegerField(default=72)
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "billing settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(max_attempts__gte=1) & Q(max_attempts__lte=20),
                name="billing_settings_attempts_range",
            )
        ]

    def __str__(self) -> str:
        return f"billing settings of {self.organization_id}"


class Customer(models.Model):
    """Who pays. Never card data: a gateway ``binding_id`` is the only trace of a saved card."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    external_ref = models.CharField(max_length=128)
    name = models.CharField(max_length=200)
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.HY)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    binding_id = models.CharField(max_length=128, blank=True)
    binding_provider = models.CharField(max_length=16, blank=True)
    dunning_paused = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        permissions = [("pause_dunning", "Can pause or resume dunning for a customer")]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_ref"], name="billing_customer_ref_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_ref})"


class Plan(models.Model):
    class Interval(models.TextChoices):
        DAY = "day", "Day"
        WEEK = "week", "Week"
        MONTH = "month", "Month"
        YEAR = "year", "Year"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    code = models.SlugField(max_length=64)
    name = models.CharField(max_length=200)
    amount = AmountField()
    currency = CurrencyField()
    interval = models.CharField(max_length=8, choices=Interval.choices)
    interval_count = models.PositiveSmallIntegerField(default=1)
    trial_days = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="billing_plan_code"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="billing_plan_amount_positive"),
            models.CheckConstraint(
                condition=Q(interval_count__gte=1), name="billing_plan_interval_count"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.amount} {self.currency}/{self.interval_count} {self.interval}"


class Subscription(FSMModelMixin, models.Model):
    """A customer's subscription to a plan, with its state machine::

    trialing -> active | past_due | suspended | paused | cancelled
    active -> past_due | paused | cancelled;  past_due -> active | suspended | paused | cancelled
    suspended -> active | paused | cancelled;  paused -> active | cancelled
    """

    class Status(models.TextChoices):
        TRIALING = "trialing", "Trialing"
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Past due"
        SUSPENDED = "suspended", "Suspended"
        PAUSED = "paused", "Paused"
        CANCELLED = "cancelled", "Cancelled"

    class Collection(models.TextChoices):
        PAYMENT_LINK = "payment_link", "A payment link each period"
        SAVED_CARD = "saved_card", "A saved card (tokenized recurring)"

    class EntitlementSource(models.TextChoices):
        NONE = "", "None"
        PAYMENT = "payment", "Verified payment"
        TRIAL = "trial", "Trial"
        OVERRIDE = "override", "Override"

    LIVE = (Status.TRIALING, Status.ACTIVE, Status.PAST_DUE)

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    provider = models.CharField(max_length=16, choices=Payment.Provider.choices)
    collection = models.CharField(max_length=16, choices=Collection.choices)
    status = FSMField(max_length=16, choices=Status.choices, protected=True)
    start_date = models.DateField()
    # The first day of the first paid period (start_date + trial days): the calendar anchor.
    billing_anchor = models.DateField()
    pending_plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    cancel_at_period_end = models.BooleanField(default=False)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    # Entitlement: paid (or trial, or overridden) through ``entitlement_until`` (inclusive);
    # ``entitlement_active`` is the last value announced (webhook on each change).
    entitlement_until = models.DateField(null=True, blank=True)
    entitlement_source = models.CharField(
        max_length=16, choices=EntitlementSource.choices, blank=True
    )
    entitlement_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        permissions = [("override_entitlement", "Can override a subscription's entitlement")]
        indexes = [models.Index(fields=["organization", "status"])]

    def __str__(self) -> str:
        return f"subscription {self.pk} ({self.status})"

    @transition(
        field=status,
        source=[Status.TRIALING, Status.PAST_DUE, Status.SUSPENDED],
        target=Status.ACTIVE,
    )
    def mark_recovered(self) -> None:
        """A verified payment: past due or suspended (or a paid trial) is active again."""

    @transition(field=status, source=[Status.TRIALING, Status.ACTIVE], target=Status.PAST_DUE)
    def mark_past_due(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.TRIALING, Status.ACTIVE, Status.PAST_DUE],
        target=Status.SUSPENDED,
    )
    def mark_suspended(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.TRIALING, Status.ACTIVE, Status.PAST_DUE, Status.SUSPENDED],
        target=Status.PAUSED,
    )
    def pause(self) -> None:
        pass

    @transition(field=status, source=Status.PAUSED, target=Status.ACTIVE)
    def resume(self) -> None:
        pass

    @transition(
        field=status,
        source=[
            Status.TRIALING,
            Status.ACTIVE,
            Status.PAST_DUE,
            Status.SUSPENDED,
            Status.PAUSED,
        ],
        target=Status.CANCELLED,
    )
    def cancel(self) -> None:
        pass


class BillingPeriod(FSMModelMixin, models.Model):
    """One period of a subscription, with the plan in force and its own state::

    scheduled -> invoiced -> pending -> paid
    pending -> retrying -> pending (next attempt) | manual_review
    pending | retrying -> manual_review -> pending (a person retries) | paid | waived

    ``start``/``end`` are inclusive dates in the organisation's time zone; ``due_at`` is the
    start of ``due_date`` there. ``kind`` is ``regular`` or ``proration`` (an upgrade's
    difference, billed at once as its own period and attempt).
    """

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        INVOICED = "invoiced", "Invoiced"
        PENDING = "pending", "Payment pending"
        PAID = "paid", "Paid"
        RETRYING = "retrying", "Retrying"
        MANUAL_REVIEW = "manual_review", "Manual review"
        WAIVED = "waived", "Waived"

    class Kind(models.TextChoices):
        REGULAR = "regular", "Regular"
        PRORATION = "proration", "Proration"

    UNPAID = (Status.INVOICED, Status.PENDING, Status.RETRYING, Status.MANUAL_REVIEW)

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="periods")
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.REGULAR)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    start = models.DateField()
    end = models.DateField()
    due_date = models.DateField()
    due_at = models.DateTimeField(db_index=True)
    # The calendar moved the payment day (31 Jan + 1 month = 28 Feb): the day it was meant for.
    shifted_from_day = models.PositiveSmallIntegerField(null=True, blank=True)
    expected_amount = AmountField()
    currency = CurrencyField()
    verified_amount = AmountField(default=Decimal("0.00"))
    refunded_amount = AmountField(default=Decimal("0.00"))
    status = FSMField(
        max_length=16, choices=Status.choices, default=Status.SCHEDULED, protected=True
    )
    invoiced_at = models.DateTimeField(null=True, blank=True)
    pending_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    next_retry_at = models.DateTimeField(null=True, blank=True, db_index=True)
    block_date = models.DateField(null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    last_failure_code = models.CharField(max_length=32, blank=True)
    last_failure_action_code = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-due_at", "-id"]
        permissions = [("decide_billing_period", "Can decide a billing period in manual review")]
        indexes = [models.Index(fields=["organization", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "number"], name="billing_period_number_unique"
            ),
            models.CheckConstraint(
                condition=Q(expected_amount__gt=0), name="billing_period_expected_positive"
            ),
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="period_order"),
        ]

    def __str__(self) -> str:
        return f"period {self.number} of subscription {self.subscription_id} ({self.status})"

    @transition(field=status, source=Status.SCHEDULED, target=Status.INVOICED)
    def mark_invoiced(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.INVOICED, Status.RETRYING, Status.MANUAL_REVIEW],
        target=Status.PENDING,
    )
    def mark_pending(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.INVOICED, Status.PENDING, Status.RETRYING, Status.MANUAL_REVIEW],
        target=Status.PAID,
    )
    def mark_paid(self) -> None:
        pass

    @transition(field=status, source=[Status.PENDING, Status.INVOICED], target=Status.RETRYING)
    def mark_retrying(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.INVOICED, Status.PENDING, Status.RETRYING],
        target=Status.MANUAL_REVIEW,
    )
    def mark_manual_review(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.SCHEDULED, Status.INVOICED, Status.RETRYING, Status.MANUAL_REVIEW],
        target=Status.WAIVED,
    )
    def mark_waived(self) -> None:
        pass


class Attempt(models.Model):
    """One try to collect a period. (subscription, period, number) is unique in the database,
    so a re-run, a second worker or a killed one never makes a second attempt; the attempt's
    ``order_number`` is its payment's, the order number the gateway sees, so a re-run finds the
    gateway order instead of charging again."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"
        SUPERSEDED = "superseded", "Superseded by a newer attempt"

    class Method(models.TextChoices):
        PAYMENT_LINK = "payment_link", "Payment link"
        SAVED_CARD = "saved_card", "Saved card"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="+")
    period = models.ForeignKey(BillingPeriod, on_delete=models.PROTECT, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    method = models.CharField(max_length=16, choices=Method.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    payment = models.OneToOneField(
        Payment, on_delete=models.PROTECT, related_name="billing_attempt"
    )
    order_number = models.CharField(max_length=32, unique=True)
    payment_url = models.URLField(max_length=500, blank=True)
    link_expires_at = models.DateTimeField(null=True, blank=True)
    # Set (and committed) just before a saved-card charge is sent: a re-run looks the order up
    # at the gateway instead of charging again.
    charge_started_at = models.DateTimeField(null=True, blank=True)
    # A safe failure reason: our code and the gateway's action code, never card data.
    failure_code = models.CharField(max_length=32, blank=True)
    failure_action_code = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["period", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period", "number"], name="billing_attempt_unique"
            ),
            models.UniqueConstraint(
                fields=["period"],
                condition=Q(status="pending"),
                name="billing_one_active_attempt_per_period",
            ),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of period {self.period_id} ({self.status})"


class Notification(models.Model):
    """A dunning reminder: written in the transaction that decided it, sent after commit."""

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        SMS = "sms", "SMS"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="notifications")
    period = models.ForeignKey(BillingPeriod, on_delete=models.PROTECT, related_name="reminders")
    sequence = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=8, choices=Channel.choices)
    language = models.CharField(max_length=2, choices=Language.choices)
    recipient = models.CharField(max_length=254)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["period", "sequence"], name="billing_reminder_sequence_unique"
            )
        ]

    def __str__(self) -> str:
        return f"reminder {self.sequence} of period {self.period_id} ({self.status})"


class BillingEvent(AuditEvent):
    """Append-only audit of every billing event (plan change, pause, override, refund ...)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="events")
    period = models.ForeignKey(
        BillingPeriod, on_delete=models.PROTECT, related_name="events", null=True, blank=True
    )
    kind = models.CharField(max_length=48)
    amount = AmountField(null=True, blank=True)
    currency = CurrencyField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["organization", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind} on subscription {self.subscription_id}"


class ManualReviewPeriod(BillingPeriod):
    """The manual review queue in the admin: periods in manual review (a proxy)."""

    class Meta:
        proxy = True
        verbose_name = "period in manual review"
        verbose_name_plural = "manual review queue"
