"""Appointment payments: deposits and prepayments tied to bookings, known by ids only.

Rows:
- ``CancellationPolicy``: one version of an organisation's cancellation rules (window before the
  slot, refund shares before and after it, no-show share). Versions are never edited: posting a
  code again writes its next version.
- ``Appointment``: a booking known by ids (CRM reference, service, specialist, branch, slot) and
  its status. There is deliberately no column for a diagnosis, complaint or note.
- ``AppointmentSlot``: the slot history (the first slot and every transfer), append-only.
- ``CustomerContext``: the customer's name and phone, when the booking system sends them. Kept
  apart: no history table, never in events, logs, webhooks or API answers; erased after
  ``APPOINTMENTS_CUSTOMER_CONTEXT_RETENTION_DAYS``.
- ``PaymentRequest``: a deposit, prepayment or full payment asked for an appointment, with its
  provider payment and the policy version in force when it was made.
- ``AppointmentEvent``: the append-only audit trail (booking, transfer, cancellation, no-show,
  completion, request transitions, refunds), each with actor, time, reason and request id.
- ``AppointmentReconciliation``: the daily reconciliation of one organisation and day.

Only ``appointments.services`` changes these rows.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django_fsm import FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

from core.audit import AuditEvent
from core.models import Branch, Organization
from core.money import AmountField, CurrencyField

PERCENT = {"max_digits": 5, "decimal_places": 2}


class CancellationPolicy(models.Model):
    """One version of a cancellation policy. Append-only: a change is a new version."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="cancellation_policies"
    )
    code = models.CharField(max_length=64)
    version = models.PositiveIntegerField()
    window_hours = models.PositiveIntegerField(
        help_text="Cancelling less than this many hours before the slot is inside the window."
    )
    refund_percent_before = models.DecimalField(
        **PERCENT, help_text="Share refunded when the customer cancels before the window."
    )
    refund_percent_after = models.DecimalField(
        **PERCENT, help_text="Share refunded when the customer cancels inside the window."
    )
    no_show_refund_percent = models.DecimalField(
        **PERCENT, help_text="Share refunded when the customer does not come."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["organization", "code", "-version"]
        verbose_name_plural = "cancellation policies"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "code", "version"], name="cancellation_policy_version"
            ),
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{name}__gte": 0}) & Q(**{f"{name}__lte": 100}),
                    name=f"cancellation_policy_{name}_0_100",
                )
                for name in (
                    "refund_percent_before",
                    "refund_percent_after",
                    "no_show_refund_percent",
                )
            ],
        ]

    def __str__(self) -> str:
        return f"{self.code} v{self.version}"


class Appointment(FSMModelMixin, models.Model):
    """A booking, known by ids. No diagnosis, complaint or note column exists, by design.

    booked -> rescheduled (transfer, again and again) -> cancelled | no_show | completed
    """

    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        RESCHEDULED = "rescheduled", "Rescheduled"
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "No-show"
        COMPLETED = "completed", "Completed"

    class CancelledBy(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        CLINIC = "clinic", "Clinic"

    OPEN_STATUSES = (Status.BOOKED, Status.RESCHEDULED)

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="appointments"
    )
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="appointments")
    external_ref = models.CharField(max_length=128, help_text="The booking system's (CRM) id.")
    service_id = models.CharField(max_length=64)
    specialist_id = models.CharField(max_length=64)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    policy = models.ForeignKey(
        CancellationPolicy,
        on_delete=models.PROTECT,
        related_name="appointments",
        help_text="The policy version in force when the appointment was booked.",
    )
    status = FSMField(max_length=16, choices=Status.choices, default=Status.BOOKED, protected=True)
    cancelled_by = models.CharField(max_length=16, choices=CancelledBy.choices, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_within_window = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-starts_at", "-id"]
        permissions = [
            ("view_customer_context", "Can see the customer's name and phone"),
            ("override_refund_policy", "Can refund above the cancellation policy's share"),
            ("transfer_appointment", "Can transfer (reschedule) an appointment"),
            ("cancel_appointment", "Can cancel an appointment"),
            ("mark_appointment_no_show", "Can mark an appointment as a no-show"),
            ("complete_appointment", "Can mark an appointment as completed"),
            ("refund_appointment", "Can refund an appointment's payment"),
        ]
        indexes = [
            models.Index(fields=["organization", "status"]),
            models.Index(fields=["organization", "starts_at"]),
            models.Index(fields=["organization", "external_ref"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="appointment_slot_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"Appointment #{self.pk} {self.external_ref} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    # Transitions: called only by appointments.services, under the appointment's row lock.
    @transition(field=status, source=[Status.BOOKED, Status.RESCHEDULED], target=Status.RESCHEDULED)
    def transfer(self) -> None:
        pass

    @transition(field=status, source=[Status.BOOKED, Status.RESCHEDULED], target=Status.CANCELLED)
    def cancel(self) -> None:
        pass

    @transition(field=status, source=[Status.BOOKED, Status.RESCHEDULED], target=Status.NO_SHOW)
    def mark_no_show(self) -> None:
        pass

    @transition(field=status, source=[Status.BOOKED, Status.RESCHEDULED], target=Status.COMPLETED)
    def complete(self) -> None:
        pass


class AppointmentSlot(AuditEvent):
    """One slot an appointment held: the first one, then one per transfer. Append-only."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="slots")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    specialist_id = models.CharField(max_length=64)

    class Meta:
        ordering = ["appointment", "occurred_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="appointment_slot_row_ends_after_start",
            )
        ]


class CustomerContext(models.Model):
    """The customer's name and phone, stored apart and erased after the retention period.

    No ``HistoricalRecords`` on purpose: an erased context must leave no copy behind. Never
    serialised by the API, never copied into events, logs or webhooks; the admin shows it only
    to holders of ``appointments.view_customer_context``.
    """

    appointment = models.OneToOneField(
        Appointment, on_delete=models.CASCADE, related_name="customer_context"
    )
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        default_permissions = ()  # seen only through appointments.view_customer_context

    def __str__(self) -> str:
        return f"Customer context of appointment #{self.appointment_id}"


class PaymentRequest(FSMModelMixin, models.Model):
    """A payment asked for an appointment: a deposit, a prepayment or the full price.

    pending -> paid | expired
    expired -> manual_review (a payment arrived after the expiry: never silently paid)
    manual_review -> paid (an operator accepts the late payment)
    paid | partially_refunded | manual_review -> partially_refunded | refunded
    paid | partially_refunded -> forfeited (the clinic keeps the money, a decision with a reason)
    """

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", "Deposit"
        PREPAYMENT = "prepayment", "Prepayment"
        FULL = "full", "Full payment"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PAID = "paid", "Paid"
        EXPIRED = "expired", "Expired"
        MANUAL_REVIEW = "manual_review", "Manual review"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
        REFUNDED = "refunded", "Refunded"
        FORFEITED = "forfeited", "Forfeited"

    ACTIVE_STATUSES = (
        Status.PENDING,
        Status.PAID,
        Status.PARTIALLY_REFUNDED,
        Status.MANUAL_REVIEW,
    )
    HOLDING_STATUSES = (Status.PAID, Status.PARTIALLY_REFUNDED, Status.MANUAL_REVIEW)

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, related_name="payment_requests"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = AmountField()
    currency = CurrencyField()
    expires_at = models.DateTimeField(db_index=True)
    policy = models.ForeignKey(
        CancellationPolicy,
        on_delete=models.PROTECT,
        related_name="payment_requests",
        help_text="The policy version in force when the request was made.",
    )
    payment = models.OneToOneField(
        "payments.Payment", on_delete=models.PROTECT, related_name="appointment_request"
    )
    status = FSMField(max_length=24, choices=Status.choices, default=Status.PENDING, protected=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # "<api client id>:<Idempotency-Key>": a retry of the request finds this row.
    idempotency_key = models.CharField(max_length=300, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        permissions = [
            ("forfeit_paymentrequest", "Can forfeit a paid request (the clinic keeps it)"),
            ("accept_paymentrequest", "Can accept a late payment under manual review"),
        ]
        indexes = [models.Index(fields=["organization", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "kind"],
                condition=Q(status__in=["pending", "paid", "partially_refunded", "manual_review"]),
                name="payment_request_one_active_per_kind",
            ),
            models.UniqueConstraint(
                fields=["organization", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="payment_request_idempotency_key_unique",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="payment_request_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} {self.amount} {self.currency} ({self.status})"

    @transition(field=status, source=Status.PENDING, target=Status.PAID)
    def mark_paid(self) -> None:
        pass

    @transition(field=status, source=Status.PENDING, target=Status.EXPIRED)
    def expire(self) -> None:
        pass

    @transition(field=status, source=Status.EXPIRED, target=Status.MANUAL_REVIEW)
    def hold_for_review(self) -> None:
        """A payment arrived after the request expired: an operator decides."""

    @transition(field=status, source=Status.MANUAL_REVIEW, target=Status.PAID)
    def accept(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.PAID, Status.PARTIALLY_REFUNDED, Status.MANUAL_REVIEW],
        target=Status.PARTIALLY_REFUNDED,
    )
    def mark_partially_refunded(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.PAID, Status.PARTIALLY_REFUNDED, Status.MANUAL_REVIEW],
        target=Status.REFUNDED,
    )
    def mark_refunded(self) -> None:
        pass

    @transition(
        field=status, source=[Status.PAID, Status.PARTIALLY_REFUNDED], target=Status.FORFEITED
    )
    def forfeit(self) -> None:
        pass


class AppointmentEvent(AuditEvent):
    """The append-only audit trail of an appointment. ``data`` holds ids and amounts only."""

    class Kind(models.TextChoices):
        BOOKED = "booked", "Booked"
        TRANSFERRED = "transferred", "Transferred"
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "No-show"
        COMPLETED = "completed", "Completed"
        REQUEST_CREATED = "request_created", "Payment request created"
        REQUEST_PAID = "request_paid", "Payment request paid"
        REQUEST_EXPIRED = "request_expired", "Payment request expired"
        REQUEST_MANUAL_REVIEW = "request_manual_review", "Late payment held for review"
        REQUEST_ACCEPTED = "request_accepted", "Late payment accepted"
        REQUEST_REFUNDED = "request_refunded", "Payment request refunded"
        REQUEST_PARTIALLY_REFUNDED = "request_partially_refunded", "Partially refunded"
        REQUEST_FORFEITED = "request_forfeited", "Payment request forfeited"
        REFUND = "refund", "Refund decided"
        CUSTOMER_CONTEXT_ERASED = "customer_context_erased", "Customer context erased"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="events")
    payment_request = models.ForeignKey(
        PaymentRequest, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    from_status = models.CharField(max_length=24, blank=True)
    to_status = models.CharField(max_length=24, blank=True)
    reason = models.TextField(blank=True)
    amount = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["organization", "kind", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.kind} of appointment #{self.appointment_id}"


class AppointmentReconciliation(models.Model):
    """The daily reconciliation of one organisation's appointments, payments and refunds.

    ``counts`` and ``findings`` hold ids, statuses and amounts only. A rerun of a day replaces
    its row (the exception cases it raised are deduplicated and cleared when solved).
    """

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    date = models.DateField()
    counts = models.JSONField(default=dict)
    totals = models.JSONField(default=dict)
    findings = models.JSONField(default=list)
    ran_at = models.DateTimeField()

    class Meta:
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "date"], name="appointment_reconciliation_day"
            )
        ]

    def __str__(self) -> str:
        return f"Appointment reconciliation {self.organization_id} {self.date}"


ZERO = Decimal("0.00")
