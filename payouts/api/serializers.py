"""Request serializers are strict (unknown fields -> 400 ``unknown_field``); responses are plain."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.actors import actor_label
from core.api.serializers import AmountField, CurrencyField, StrictSerializer
from payouts.models import Payout, PayoutEvent, PayoutLine, PayoutPeriod, QrCode, Recipient

# --- responses -----------------------------------------------------------------------------------


class RecipientSerializer(serializers.ModelSerializer):
    branch = serializers.CharField(source="branch.code", read_only=True)

    class Meta:
        model = Recipient
        fields = ["id", "scope", "name", "branch", "external_ref", "is_active", "created_at"]
        read_only_fields = fields


class QrCodeSerializer(serializers.ModelSerializer):
    payload = serializers.CharField(read_only=True)

    class Meta:
        model = QrCode
        fields = ["id", "code", "payload", "recipient", "is_active", "created_at"]
        read_only_fields = fields


class QrPaymentResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    provider = serializers.CharField()
    provider_reference = serializers.CharField(allow_null=True)
    order_number = serializers.CharField()
    amount = serializers.DecimalField(max_digits=20, decimal_places=2)
    currency = serializers.CharField()
    verified_at = serializers.DateTimeField(allow_null=True)
    recipient = serializers.IntegerField(source="qr_payment.recipient_id")
    qr_code = serializers.CharField(source="qr_payment.qr_code.code")


class PayoutSerializer(serializers.ModelSerializer):
    branch = serializers.CharField(source="branch.code", read_only=True)

    class Meta:
        model = Payout
        fields = [
            "id",
            "status",
            "recipient",
            "branch",
            "currency",
            "period_start",
            "period_end",
            "gross",
            "fee",
            "net",
            "payment_count",
            "method",
            "reference",
            "drift_hold",
            "accounting_period",
            "created_at",
            "completed_at",
        ]
        read_only_fields = fields


class PayoutLineSerializer(serializers.Serializer):
    """A line of ``GET payouts/{id}/lines/`` (formatted from ``.values()`` rows)."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=PayoutLine.Kind.choices)
    payment = serializers.IntegerField(allow_null=True)
    adjustment = serializers.IntegerField(allow_null=True)
    amount = serializers.DecimalField(max_digits=20, decimal_places=2)
    active = serializers.BooleanField()
    payment_status = serializers.CharField(allow_null=True)
    verified_at = serializers.DateTimeField(allow_null=True)


# ``PayoutLineSerializer`` field -> ``.values()`` key (``core.api.lean``).
PAYOUT_LINE_SOURCES = {
    "payment": "payment_id",
    "adjustment": "adjustment_id",
    "payment_status": "payment__status",
    "verified_at": "payment__verified_at",
}
# The list's lean path: the ``.values()`` key of each ``PayoutSerializer`` field that differs.
PAYOUT_LIST_SOURCES = {
    "recipient": "recipient_id",
    "branch": "branch__code",
    "accounting_period": "accounting_period_id",
}


class PayoutEventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = PayoutEvent
        fields = [
            "id",
            "kind",
            "from_status",
            "to_status",
            "actor",
            "occurred_at",
            "method",
            "reference",
            "comment",
            "request_id",
            "gross",
            "fee",
            "net",
            "details",
        ]
        read_only_fields = fields

    def get_actor(self, event) -> str:
        return actor_label(event.actor)


class PayoutPaymentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=20, decimal_places=2)
    currency = serializers.CharField()
    status = serializers.CharField()
    verified_at = serializers.DateTimeField(allow_null=True)
    refunded_amount = serializers.DecimalField(max_digits=20, decimal_places=2)
    included_amount = serializers.DecimalField(max_digits=20, decimal_places=2)
    active = serializers.BooleanField()


# ``PayoutPaymentSerializer`` field -> ``.values()`` key of the payment line it is read from.
PAYOUT_PAYMENT_SOURCES = {
    "id": "payment_id",
    "amount": "payment__amount",
    "currency": "payment__currency",
    "status": "payment__status",
    "verified_at": "payment__verified_at",
    "refunded_amount": "payment__refunded_amount",
    "included_amount": "included_amount",
}


class PayoutDetailSerializer(PayoutSerializer):
    """The payout with its payments and its audit trail. The payments are bounded: the first
    page (``PAYOUT_PAYMENTS_PAGE`` by line order, each payment once, released ones marked
    inactive) and ``payments_next``, the link to the next page of ``GET payouts/{id}/payments/``
    (null when there is none); every line (refund deductions and carried adjustments included)
    pages at ``GET payouts/{id}/lines/``. The view puts the page in the context."""

    payments = serializers.SerializerMethodField()
    payments_next = serializers.SerializerMethodField()
    lines_url = serializers.SerializerMethodField()
    events = PayoutEventSerializer(many=True, read_only=True)

    class Meta(PayoutSerializer.Meta):
        fields = [
            *PayoutSerializer.Meta.fields,
            "payments",
            "payments_next",
            "lines_url",
            "events",
        ]
        read_only_fields = fields

    @extend_schema_field(PayoutPaymentSerializer(many=True))
    def get_payments(self, payout) -> list[dict]:
        return self.context["payments"]

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_payments_next(self, payout) -> str | None:
        return self.context["payments_next"]

    @extend_schema_field(serializers.URLField())
    def get_lines_url(self, payout) -> str:
        return self.context["lines_url"]


class PayoutPeriodSerializer(serializers.ModelSerializer):
    class Meta:
        model = PayoutPeriod
        fields = [
            "id",
            "kind",
            "name",
            "start_date",
            "end_date",
            "status",
            "closed_at",
            "built_at",
            "created_at",
        ]
        read_only_fields = fields


# --- requests ------------------------------------------------------------------------------------


class RecipientCreateSerializer(StrictSerializer):
    scope = serializers.ChoiceField(choices=Recipient.Scope.choices)
    name = serializers.CharField(max_length=200)
    branch = serializers.SlugField(max_length=64, help_text="The branch code.")
    external_ref = serializers.CharField(
        max_length=128, required=False, allow_blank=True, default=""
    )


class QrCodeCreateSerializer(StrictSerializer):
    recipient = serializers.IntegerField(min_value=1)


class SandboxQrPaymentSerializer(StrictSerializer):
    qr_code = serializers.CharField(max_length=40)
    amount = AmountField()
    currency = CurrencyField()
    outcome = serializers.ChoiceField(choices=["approved", "declined"])


def _provider_choices():
    from payments.models import Payment

    return Payment.Provider.choices


class QrCheckoutSerializer(StrictSerializer):
    amount = AmountField()
    currency = CurrencyField()
    provider = serializers.ChoiceField(
        choices=_provider_choices(),
        required=False,
        help_text="Default: the organisation's only active gateway.",
    )
    return_url = serializers.URLField(required=False, default="", allow_blank=True)
    fail_url = serializers.URLField(required=False, default="", allow_blank=True)


class QrCheckoutResultSerializer(QrPaymentResultSerializer):
    payment_url = serializers.CharField()


class PayoutRequestSerializer(StrictSerializer):
    recipient = serializers.IntegerField(min_value=1)
    currency = CurrencyField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class PayoutTransitionSerializer(StrictSerializer):
    to = serializers.ChoiceField(choices=["processing", "completed", "cancelled", "reversed"])
    method = serializers.CharField(required=False, allow_blank=True, default="", max_length=50)
    reference = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class DriftDecisionSerializer(StrictSerializer):
    decision = serializers.ChoiceField(choices=["recalculate", "carry"])
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class PayoutPeriodCreateSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=PayoutPeriod.Kind.choices)
    name = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    start_date = serializers.DateField()
    end_date = serializers.DateField()


class PayoutPeriodTransitionSerializer(StrictSerializer):
    to = serializers.ChoiceField(choices=PayoutPeriod.Status.choices)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)
