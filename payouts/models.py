"""Smart QR payouts: who is paid (recipients, QR codes), for what (payout periods), and how much.

Rows:
- ``Recipient``: an employee, a team pool, the company or a donation project, at one branch.
- ``QrCode``: a Smart QR bound to a recipient; the payments made through it are the recipient's.
- ``QrPayment``: the link between a provider payment and the QR code / recipient it was made for.
- ``FeePolicy``: the organisation's payout fee per currency (percentage and fixed part).
- ``PayoutPeriod``: an accounting period an accountant defines (shift, week, month).
- ``Payout``: a payout request for one scope (recipient, branch, currency) and a date range.
- ``PayoutLine``: what a payout contains: payments, refund deductions, carried adjustments.
- ``PayoutAdjustment``: a refund after completion, carried as a negative line to the next payout.
- ``PayoutAdjustmentVoid``: the audited voiding of a not-yet-applied adjustment whose source payout
  was cancelled or reversed (its payments came back already net of the refund).
- ``PayoutEvent``: the append-only audit trail of a payout (transitions, recalculations...).
- ``PayoutReversal``: the correction of a completed payout.

Only ``payouts.services`` changes these rows.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django_fsm import FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

from core.audit import AuditEvent
from core.models import Branch, Organization
from core.money import AmountField, CurrencyField


class Recipient(models.Model):
    class Scope(models.TextChoices):
        EMPLOYEE = "employee", "Employee"
        TEAM = "team", "Team pool"
        COMPANY = "company", "Company"
        DONATION = "donation", "Donation project"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="payout_recipients"
    )
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="payout_recipients")
    scope = models.CharField(max_length=16, choices=Scope.choices)
    name = models.CharField(max_length=200)
    external_ref = models.CharField(
        max_length=128, blank=True, help_text="The organisation's own id (staff number, project)."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["organization", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_ref"],
                condition=~Q(external_ref=""),
                name="payout_recipient_external_ref_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_scope_display()}, {self.branch.code})"


def new_qr_code() -> str:
    return "qr_" + secrets.token_urlsafe(12)


class QrCode(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    recipient = models.ForeignKey(Recipient, on_delete=models.PROTECT, related_name="qr_codes")
    code = models.CharField(max_length=40, unique=True, default=new_qr_code)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        verbose_name = "Smart QR code"

    def __str__(self) -> str:
        return self.code

    @property
    def payload(self) -> str:
        """What the printed QR encodes: the public page where a customer pays this recipient."""
        return f"{settings.PAYOPS_BASE_URL.rstrip('/')}/q/{self.code}"


class QrPayment(models.Model):
    """A provider payment made through a Smart QR: the payment belongs to that recipient."""

    payment = models.OneToOneField(
        "payments.Payment", on_delete=models.PROTECT, related_name="qr_payment"
    )
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    qr_code = models.ForeignKey(QrCode, on_delete=models.PROTECT, related_name="payments")
    recipient = models.ForeignKey(Recipient, on_delete=models.PROTECT, related_name="payments")
    # "<api client id>:<Idempotency-Key>" of the request that started it: a retry of that
    # request finds this payment instead of starting a second order at the gateway.
    idempotency_key = models.CharField(max_length=300, null=True, blank=True)
    # What that request asked for (QR code, amount, currency, provider), hashed: the same key
    # with other parameters is refused (422 ``idempotency_key_reused``), even after the API's
    # 24 h Idempotency-Key rows are purged. Empty on rows from before it was kept.
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="qr_payment_idempotency_key_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.payment_id} -> {self.recipient_id}"


class FeePolicy(models.Model):
    """Payout fee of an organisation in one currency.

    Rounding rule: ``fee = round_half_up(gross * percentage / 100, minor unit) + fixed``, then
    capped to ``[0, gross]``; ``net = gross - fee``. So ``gross == fee + net`` exactly.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="payout_fee_policies"
    )
    currency = CurrencyField()
    percentage = models.DecimalField(
        max_digits=7, decimal_places=4, default=Decimal("0"), help_text="Percent of gross, 0-100."
    )
    fixed = AmountField(default=Decimal("0.00"), help_text="Per payout, in the currency.")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "fee policies"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "currency"], name="payout_fee_policy_unique"
            ),
            models.CheckConstraint(
                condition=Q(percentage__gte=0) & Q(percentage__lte=100),
                name="payout_fee_percentage_range",
            ),
            models.CheckConstraint(condition=Q(fixed__gte=0), name="payout_fee_fixed_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.organization.slug} {self.currency}: {self.percentage}% + {self.fixed}"


class PayoutPeriod(FSMModelMixin, models.Model):
    """An accounting period (inclusive dates, organisation time zone): open -> closing -> closed.

    While closing, the accountant checks; a closed period is final: payout requests inside it are
    refused (``period_closed``), and its payouts are built by ``payout_period_build``.
    """

    class Kind(models.TextChoices):
        SHIFT = "shift", "Shift"
        WEEK = "week", "Week"
        MONTH = "month", "Month"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSING = "closing", "Closing"
        CLOSED = "closed", "Closed"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="payout_periods"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    name = models.CharField(max_length=100, blank=True)
    start_date = models.DateField()
    end_date = models.DateField()
    status = FSMField(max_length=8, choices=Status.choices, default=Status.OPEN, protected=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    built_at = models.DateTimeField(
        null=True, blank=True, help_text="When the payout requests of the period were built."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["organization", "-start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")),
                name="payout_accounting_period_not_inverted",
            )
        ]
        permissions = [("close_payoutperiod", "Can close payout periods")]

    def __str__(self) -> str:
        return self.name or f"{self.get_kind_display()} {self.start_date}..{self.end_date}"

    @transition(field=status, source=Status.OPEN, target=Status.CLOSING)
    def start_closing(self) -> None:
        pass

    @transition(field=status, source=Status.CLOSING, target=Status.OPEN)
    def reopen(self) -> None:
        pass

    @transition(field=status, source=[Status.OPEN, Status.CLOSING], target=Status.CLOSED)
    def close(self) -> None:
        pass


class Payout(FSMModelMixin, models.Model):
    """A payout request for one scope (recipient, branch, currency) over inclusive dates.

    requested -> processing -> completed; requested | processing -> cancelled;
    completed -> reversed only through a ``PayoutReversal`` (a separate correction).
    ``gross = fee + net`` always (a CHECK constraint); ``gross`` is the sum of the active lines.
    """

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        PROCESSING = "processing", "Processing"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        REVERSED = "reversed", "Reversed (corrected)"

    class Method(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", "Bank transfer"
        CASH = "cash", "Cash"
        CARD = "card", "Card"
        WALLET = "wallet", "Wallet (Idram, Telcell)"

    ACTIVE_STATUSES = (Status.REQUESTED, Status.PROCESSING)
    # Statuses whose lines hold their payments (a payment is in at most one of these).
    HOLDING_STATUSES = (Status.REQUESTED, Status.PROCESSING, Status.COMPLETED)

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    recipient = models.ForeignKey(Recipient, on_delete=models.PROTECT, related_name="payouts")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    currency = CurrencyField()
    period_start = models.DateField()
    period_end = models.DateField()
    accounting_period = models.ForeignKey(
        PayoutPeriod, on_delete=models.PROTECT, null=True, blank=True, related_name="payouts"
    )
    status = FSMField(
        max_length=12, choices=Status.choices, default=Status.REQUESTED, protected=True
    )
    gross = AmountField()
    fee = AmountField()
    net = AmountField()
    payment_count = models.PositiveIntegerField(default=0)
    fee_percentage = models.DecimalField(max_digits=7, decimal_places=4, default=Decimal("0"))
    fee_fixed = AmountField(default=Decimal("0.00"))
    method = models.CharField(max_length=50, blank=True, choices=Method.choices)
    reference = models.CharField(max_length=200, blank=True)
    drift_hold = models.BooleanField(
        default=False,
        help_text="A refund hit an included payment while processing: an operator must decide.",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        # The API lists newest first (``-id``) within one organisation, with or without status.
        indexes = [
            models.Index(fields=["organization", "id"], name="payout_org_id"),
            models.Index(fields=["organization", "status", "id"], name="payout_org_status_id"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="payout_period_not_inverted"
            ),
            models.CheckConstraint(
                condition=Q(gross=F("fee") + F("net")), name="payout_gross_is_fee_plus_net"
            ),
            models.CheckConstraint(
                condition=Q(fee__gte=0) & Q(net__gte=0), name="payout_amounts_nonneg"
            ),
            models.CheckConstraint(
                condition=~Q(status="completed") | (~Q(method="") & ~Q(reference="")),
                name="payout_completed_has_reference",
            ),
        ]
        # The exclusion constraint (no overlapping active payout for one scope) is PostgreSQL
        # only: migration 0002.
        permissions = [
            ("process_payout", "Can start processing payouts"),
            ("complete_payout", "Can complete payouts"),
            ("cancel_payout", "Can cancel payouts"),
            ("reverse_payout", "Can reverse completed payouts"),
            ("decide_payout_drift", "Can decide on refund drift"),
        ]

    def __str__(self) -> str:
        return f"Payout #{self.pk} {self.net} {self.currency} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    # Transitions: only payouts.services calls them, under select_for_update.
    @transition(
        field=status,
        source=Status.REQUESTED,
        target=Status.PROCESSING,
        permission="payouts.process_payout",
    )
    def start_processing(self) -> None:
        pass

    @transition(
        field=status,
        source=Status.PROCESSING,
        target=Status.COMPLETED,
        permission="payouts.complete_payout",
        conditions=[lambda self: not self.drift_hold],
    )
    def complete(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.REQUESTED, Status.PROCESSING],
        target=Status.CANCELLED,
        permission="payouts.cancel_payout",
    )
    def cancel(self) -> None:
        pass

    @transition(
        field=status,
        source=Status.COMPLETED,
        target=Status.REVERSED,
        permission="payouts.reverse_payout",
    )
    def reverse(self) -> None:
        pass


class PayoutAdjustment(AuditEvent):
    """A refund on a payment of a completed payout: carried as a negative line to a later payout.

    Pending while no holding payout line points at it and it has no ``void``; applied when a
    holding line points at it; voided (a ``PayoutAdjustmentVoid`` row, never an edit) when its
    source payout is cancelled or reversed before it was applied.
    """

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    recipient = models.ForeignKey(Recipient, on_delete=models.PROTECT, related_name="adjustments")
    currency = CurrencyField()
    amount = AmountField(help_text="Negative: what the recipient owes back.")
    source_payout = models.ForeignKey(
        Payout, on_delete=models.PROTECT, related_name="carried_adjustments"
    )
    payment = models.ForeignKey("payments.Payment", on_delete=models.PROTECT, related_name="+")
    refund = models.ForeignKey(
        "payments.Refund", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__lt=0), name="payout_adjustment_negative")
        ]

    def __str__(self) -> str:
        return f"Adjustment {self.amount} {self.currency} for {self.recipient_id}"


class PayoutAdjustmentVoid(AuditEvent):
    """Append-only: a pending adjustment voided because its source payout was cancelled or
    reversed. The source payout's payments come back with ``amount - refunded_amount`` (already
    net of the refund), so deducting the adjustment too would take the refund twice."""

    adjustment = models.OneToOneField(
        PayoutAdjustment, on_delete=models.PROTECT, related_name="void"
    )
    payout = models.ForeignKey(
        Payout,
        on_delete=models.PROTECT,
        related_name="voided_adjustments",
        help_text="The cancelled or reversed source payout.",
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Void of adjustment {self.adjustment_id}"


class PayoutLine(models.Model):
    """One line of a payout. Lines are never edited, except ``active``, which mirrors whether the
    payout holds them (requested, processing, completed); cancel and reversal release them.
    The payout's event rows record every release."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", "Payment"
        REFUND = "refund", "Refund deduction (recalculated)"
        ADJUSTMENT = "adjustment", "Carried adjustment"

    # Indexes (see Meta): a period's build writes a line per payment, so each index costs.
    payout = models.ForeignKey(
        Payout, on_delete=models.PROTECT, related_name="lines", db_index=False
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    payment = models.ForeignKey(
        "payments.Payment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    adjustment = models.ForeignKey(
        PayoutAdjustment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lines",
        db_index=False,
    )
    amount = AmountField()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # Each payment in at most one holding payout.
            models.UniqueConstraint(
                fields=["payment"],
                condition=Q(active=True, kind="payment"),
                name="payout_line_payment_once",
            ),
            models.UniqueConstraint(
                fields=["adjustment"],
                condition=Q(active=True, kind="adjustment"),
                name="payout_line_adjustment_once",
            ),
            models.CheckConstraint(
                condition=(Q(kind="payment") & Q(payment__isnull=False) & Q(amount__gt=0))
                | (Q(kind="refund") & Q(payment__isnull=False) & Q(amount__lt=0))
                | (Q(kind="adjustment") & Q(adjustment__isnull=False) & Q(amount__lt=0)),
                name="payout_line_kind_shape",
            ),
        ]
        # A payout's lines page by id (``GET payouts/{id}/lines/``). By payment: active payment
        # lines through ``payout_line_payment_once``, the others (released, refund deductions:
        # few) through ``payout_line_payment_other``; lookups name the two arms (see
        # ``payouts.selectors.payment_lines``). Adjustment ids are NULL on every payment line:
        # only the adjustment lines are indexed.
        indexes = [
            models.Index(fields=["payout", "id"], name="payout_line_payout_id"),
            models.Index(
                fields=["payment"],
                condition=Q(active=False) | ~Q(kind="payment"),
                name="payout_line_payment_other",
            ),
            models.Index(
                fields=["adjustment"],
                condition=Q(adjustment__isnull=False),
                name="payout_line_adjustment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"


class PayoutEvent(AuditEvent):
    """Append-only: every transition and every change of a payout's amounts, with who and why."""

    class Kind(models.TextChoices):
        REQUESTED = "requested", "Requested"
        PROCESSING = "processing", "Processing"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        REVERSED = "reversed", "Reversed"
        RECALCULATED = "recalculated", "Recalculated after a refund"
        DRIFT_HOLD = "drift_hold", "Completion held: refund drift"
        DRIFT_DECIDED = "drift_decided", "Refund drift decided"
        ADJUSTMENT_CARRIED = "adjustment_carried", "Refund carried to a later payout"
        ADJUSTMENTS_VOIDED = "adjustments_voided", "Carried refunds voided (source released)"

    TRANSITION_KINDS = (
        Kind.REQUESTED,
        Kind.PROCESSING,
        Kind.COMPLETED,
        Kind.CANCELLED,
        Kind.REVERSED,
    )

    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    method = models.CharField(max_length=50, blank=True)
    reference = models.CharField(max_length=200, blank=True)
    gross = AmountField()
    fee = AmountField()
    net = AmountField()
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.payout_id}"


class PayoutReversal(AuditEvent):
    """The correction of a completed payout (the money came back, or it was paid by mistake)."""

    payout = models.OneToOneField(Payout, on_delete=models.PROTECT, related_name="reversal")
    amount = AmountField()
    reference = models.CharField(max_length=200)

    def __str__(self) -> str:
        return f"Reversal of #{self.payout_id}"
