"""Provider payments: the one fact every domain consumes, a payment the provider verified.

Rows:
- ``ProviderAccount``: an organisation's credentials and settings at one gateway.
- ``Payment``: one order at one gateway, with its state machine (see ``Payment.Status``).
- ``Refund``: a refund of part or all of a payment, as its own event with its own state.
- ``ProviderCallback``: every callback a gateway sent us, as received, with what we did with it.
- ``PaymentEvent``: the append-only money audit trail (created, verified, declined, refunds ...).
- ``SandboxOrder``: the state of the built-in sandbox gateway (see ``payments.sandbox``).

Only services (``payments.services``) change these rows; transitions run under a row lock.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django_fsm import FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

from core.audit import AuditEvent
from core.models import Branch, Organization
from core.money import AmountField, CurrencyField


class Provider(models.TextChoices):
    ARCA = "arca", "ArCa (BPC gateway)"
    AMERIA = "ameria", "Ameriabank vPOS"
    IDRAM = "idram", "Idram"
    TELCELL = "telcell", "Telcell Money"
    SANDBOX = "sandbox", "payops sandbox"


def new_order_number() -> str:
    """Our order number, sent to the gateway: unique, short enough for every gateway (<= 32)."""
    return "PO" + uuid.uuid4().hex[:24].upper()


class ProviderAccount(models.Model):
    """An organisation's merchant account at one gateway.

    ``username``/``password`` are the API credentials (BPC ``userName``/``password``, Ameria
    ``Username``/``Password``); ``merchant_id`` is the gateway's merchant/account/client id
    (Ameria ``ClientID``, Idram ``EDP_REC_ACCOUNT``, Telcell issuer); ``secret_key`` signs or
    checks callbacks (BPC callback checksum key, Idram/Telcell secret). ``config`` holds anything
    else an adapter needs.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="provider_accounts"
    )
    provider = models.CharField(max_length=16, choices=Provider.choices)
    is_active = models.BooleanField(default=True)
    base_url = models.URLField(
        blank=True, help_text="The gateway's API root, e.g. https://ipay.arca.am/payment/rest/"
    )
    merchant_id = models.CharField(max_length=128, blank=True)
    username = models.CharField(max_length=128, blank=True)
    password = models.CharField(max_length=256, blank=True)
    secret_key = models.CharField(max_length=256, blank=True)
    config = models.JSONField(default=dict, blank=True)
    # How long a customer may take to pay before the order expires.
    payment_window_seconds = models.PositiveIntegerField(default=1200)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(excluded_fields=["password", "secret_key"])

    class Meta:
        ordering = ["organization", "provider"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "provider"], name="provider_account_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization.slug}/{self.provider}"

    def clean(self) -> None:
        """No host in ``config`` (``payments.services.provider_account_check_config``): the
        admin form runs this too."""
        from core.errors import DomainError
        from payments.services.accounts import provider_account_check_config

        super().clean()
        try:
            provider_account_check_config(config=self.config)
        except DomainError as exc:
            raise ValidationError({"config": exc.message}) from None


class Payment(FSMModelMixin, models.Model):
    """One order at one gateway.

    States only move forward::

        pending -> verified | declined | expired
        verified -> partially_refunded -> refunded
        verified -> refunded
        partially_refunded -> partially_refunded (another partial refund)

    "Verified" for the domains is any of ``SETTLED_STATUSES``.
    """

    Provider = Provider

    class Purpose(models.TextChoices):
        QR = "qr", "QR payment"
        SUBSCRIPTION = "subscription", "Subscription attempt"
        APPOINTMENT = "appointment", "Appointment request"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        VERIFIED = "verified", "Verified"
        DECLINED = "declined", "Declined"
        EXPIRED = "expired", "Expired"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
        REFUNDED = "refunded", "Refunded"

    class VerificationMethod(models.TextChoices):
        CALLBACK_LOOKUP = "callback_lookup", "Callback confirmed by status lookup"
        LOOKUP = "lookup", "Status lookup (janitor or operator)"
        CALLBACK = "callback", "Signed callback (gateway has no lookup)"
        REPORT = "report", "Provider report"
        MANUAL = "manual", "Manual, with audit"

    SETTLED_STATUSES = (Status.VERIFIED, Status.PARTIALLY_REFUNDED, Status.REFUNDED)
    FINAL_UNPAID_STATUSES = (Status.DECLINED, Status.EXPIRED)

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    order_number = models.CharField(max_length=32, unique=True, default=new_order_number)
    provider_reference = models.CharField(max_length=128, null=True, blank=True)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    description = models.CharField(max_length=255, blank=True)
    amount = AmountField()
    currency = CurrencyField()
    status = FSMField(max_length=24, choices=Status.choices, default=Status.PENDING, protected=True)
    refunded_amount = AmountField(default=Decimal("0.00"))
    verified_at = models.DateTimeField(null=True, blank=True)
    verification_method = models.CharField(
        max_length=16, choices=VerificationMethod.choices, blank=True
    )
    # Only masked card data: the first six and last four digits at most, never a card number.
    masked_pan = models.CharField(max_length=32, blank=True)
    approval_code = models.CharField(max_length=16, blank=True)
    rrn = models.CharField(max_length=32, blank=True)
    action_code = models.CharField(max_length=32, blank=True)
    action_description = models.CharField(max_length=255, blank=True)
    binding_id = models.CharField(max_length=128, blank=True)
    payment_url = models.URLField(max_length=500, blank=True)
    # The janitor: pending payments are looked up again at next_check_at (backoff), and
    # expire after expires_at.
    expires_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True, db_index=True)
    check_attempts = models.PositiveIntegerField(default=0)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_check_error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The janitor's bookkeeping changes on every lookup: kept out of the history.
    history = HistoricalRecords(
        excluded_fields=["next_check_at", "check_attempts", "last_checked_at", "last_check_error"]
    )

    class Meta:
        ordering = ["-id"]
        permissions = [
            ("lookup_payment", "Can look a payment up at the gateway now"),
            ("verify_payment_manually", "Can verify a payment manually"),
            ("refund_payment", "Can refund a payment"),
        ]
        indexes = [
            models.Index(fields=["organization", "status"]),
            models.Index(fields=["organization", "verified_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_reference"],
                condition=Q(provider_reference__isnull=False),
                name="payment_provider_reference_unique",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=F("amount")),
                name="payment_refunded_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(verified_at__isnull=True)
                | Q(status__in=["verified", "partially_refunded", "refunded"]),
                name="payment_verified_at_only_when_settled",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_number} {self.amount} {self.currency} ({self.status})"

    @property
    def is_settled(self) -> bool:
        return self.status in self.SETTLED_STATUSES

    @property
    def refundable_amount(self) -> Decimal:
        return self.amount - self.refunded_amount

    # Transitions: called only by payments.services, under select_for_update.
    @transition(field=status, source=Status.PENDING, target=Status.VERIFIED)
    def mark_verified(self) -> None:
        pass

    @transition(field=status, source=Status.PENDING, target=Status.DECLINED)
    def mark_declined(self) -> None:
        pass

    @transition(field=status, source=Status.PENDING, target=Status.EXPIRED)
    def mark_expired(self) -> None:
        pass

    @transition(field=status, source=[Status.DECLINED, Status.EXPIRED], target=Status.VERIFIED)
    def mark_reinstated(self) -> None:
        """Only for a payment the gateway reports paid after it expired or was declined."""

    @transition(
        field=status,
        source=[Status.VERIFIED, Status.PARTIALLY_REFUNDED],
        target=Status.PARTIALLY_REFUNDED,
    )
    def mark_partially_refunded(self) -> None:
        pass

    @transition(
        field=status, source=[Status.VERIFIED, Status.PARTIALLY_REFUNDED], target=Status.REFUNDED
    )
    def mark_refunded(self) -> None:
        pass


class Refund(FSMModelMixin, models.Model):
    """A refund of a payment: its own event with amount, reason, actor and gateway reference.

    The sum of pending and succeeded refunds never exceeds the payment (``payment_refund``
    reserves the amount under the payment's row lock before calling the gateway).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    amount = AmountField()
    currency = CurrencyField()
    reason = models.CharField(max_length=500)
    status = FSMField(max_length=16, choices=Status.choices, default=Status.PENDING, protected=True)
    provider_reference = models.CharField(max_length=128, blank=True)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    # The caller's idempotency key (the API passes its Idempotency-Key): a retried request
    # finds this refund instead of refunding again. Unique per payment when set.
    idempotency_key = models.CharField(max_length=300, null=True, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # When the gateway answered the refund call (a result or an error). NULL while the call is
    # in flight, after a timeout, or when its worker died mid-call: such a refund is not
    # resolved by a lookup until it is older than REFUND_STUCK_AFTER (the lookup would not
    # show it yet).
    call_ended_at = models.DateTimeField(null=True, blank=True)
    # When the outcome was unknown (gateway timeout, crash after the call): the last lookup.
    last_checked_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.UniqueConstraint(
                fields=["payment", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="refund_idempotency_key_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"refund {self.amount} {self.currency} of {self.payment_id} ({self.status})"

    @transition(field=status, source=Status.PENDING, target=Status.SUCCEEDED)
    def mark_succeeded(self) -> None:
        pass

    @transition(field=status, source=Status.PENDING, target=Status.FAILED)
    def mark_failed(self) -> None:
        pass

    @transition(field=status, source=Status.FAILED, target=Status.SUCCEEDED)
    def correct_to_succeeded(self) -> None:
        """Only for a refund recorded failed that the gateway later reports refunded (audited
        as a ``refund_corrected`` event by ``payments.services.refund_complete``)."""


class ProviderCallback(models.Model):
    """Every callback a gateway sent, as received, and what came of it.

    ``dedup_key`` holds the provider's event id while the callback counts (processing or
    processed); it is unique per provider, so the same event is handled once even when it
    arrives concurrently. Duplicates, rejected and failed callbacks are stored with no key.
    """

    class Status(models.TextChoices):
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        DUPLICATE = "duplicate", "Duplicate"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed"

    provider = models.CharField(max_length=16, choices=Provider.choices)
    event_id = models.CharField(max_length=255, blank=True)
    dedup_key = models.CharField(max_length=255, null=True, blank=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="callbacks"
    )
    order_number = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    handler_error = models.TextField(blank=True)
    method = models.CharField(max_length=8)
    query = models.JSONField(default=dict, blank=True)
    form = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["body", "query", "form", "headers"])

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "dedup_key"],
                condition=Q(dedup_key__isnull=False),
                name="provider_callback_dedup_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} callback {self.event_id or self.pk} ({self.status})"


class PaymentEvent(AuditEvent):
    """Append-only money audit row: one per change of a payment or refund."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        ORDER_REGISTERED = "order_registered", "Order registered at the gateway"
        VERIFIED = "verified", "Verified"
        DECLINED = "declined", "Declined"
        EXPIRED = "expired", "Expired"
        REFUND_REQUESTED = "refund_requested", "Refund requested"
        REFUND_SUCCEEDED = "refund_succeeded", "Refund succeeded"
        REFUND_FAILED = "refund_failed", "Refund failed"
        REFUND_CORRECTED = "refund_corrected", "Refund recorded failed, then succeeded"
        LATE_PAYMENT = "late_payment", "Paid after expiry or decline"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="events")
    refund = models.ForeignKey(
        Refund, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    from_status = models.CharField(max_length=24, blank=True)
    to_status = models.CharField(max_length=24, blank=True)
    amount = AmountField(null=True, blank=True)
    currency = CurrencyField(blank=True)
    method = models.CharField(max_length=32, blank=True)
    reference = models.CharField(max_length=128, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # A payment is verified once, whatever arrives twice.
            models.UniqueConstraint(
                fields=["payment"],
                condition=Q(kind="verified"),
                name="payment_event_verified_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.payment_id} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"


class SandboxOrder(models.Model):
    """An order registered at the built-in sandbox gateway (BPC protocol; see payments.sandbox).

    Amounts are kept as the gateway keeps them: integer minor units and numeric currency codes.
    """

    order_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    order_number = models.CharField(max_length=64)
    merchant = models.CharField(max_length=128)
    amount_minor = models.BigIntegerField()
    currency_numeric = models.CharField(max_length=3)
    description = models.CharField(max_length=255, blank=True)
    return_url = models.URLField(max_length=500, blank=True)
    fail_url = models.URLField(max_length=500, blank=True)
    callback_url = models.URLField(max_length=500, blank=True)
    client_id = models.CharField(max_length=128, blank=True)
    # BPC orderStatus: 0 registered, 2 deposited, 3 reversed, 4 refunded, 6 declined.
    order_status = models.PositiveSmallIntegerField(default=0)
    action_code = models.IntegerField(default=-100)
    approval_code = models.CharField(max_length=6, blank=True)
    masked_pan = models.CharField(max_length=32, blank=True)
    rrn = models.CharField(max_length=12, blank=True)
    binding_id = models.CharField(max_length=64, blank=True)
    refunded_minor = models.BigIntegerField(default=0)
    expires_at = models.DateTimeField()
    auth_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    callback_log = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "order_number"], name="sandbox_order_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"sandbox {self.order_number} ({self.order_status})"
