"""Request serializers are strict (unknown fields -> 400 ``unknown_field``); responses are plain."""

from __future__ import annotations

from decimal import Decimal

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


class PayoutLineSerializer(serializers.ModelSerializer):
    payment_status = serializers.SerializerMethodField()
    verified_at = serializers.SerializerMethodField()

    class Meta:
        model = PayoutLine
        fields = [
            "id",
            "kind",
            "payment",
            "adjustment",
            "amount",
            "active",
            "payment_status",
            "verified_at",
        ]
        read_only_fields = fields

    def get_payment_status(self, line) -> str | None:
        return line.payment.status if line.payment_id else None

    def get_verified_at(self, line) -> str | None:
        if not line.payment_id or line.payment.verified_at is None:
            return None
        return serializers.DateTimeField().to_representation(line.payment.verified_at)


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


class PayoutDetailSerializer(PayoutSerializer):
    """The payout with its payments (every line, released ones marked inactive) and audit trail."""

    payments = serializers.SerializerMethodField()
    lines = PayoutLineSerializer(many=True, read_only=True)
    events = PayoutEventSerializer(many=True, read_only=True)

    class Meta(PayoutSerializer.Meta):
        fields = [*PayoutSerializer.Meta.fields, "payments", "lines", "events"]
        read_only_fields = fields

    @extend_schema_field(PayoutPaymentSerializer(many=True))
    def get_payments(self, payout) -> list[dict]:
        """Each payment of the payout once: what it carries here after refund deductions."""
        lines = list(payout.lines.all())
        deducted: dict[int, Decimal] = {}
        for line in lines:
            if line.kind == PayoutLine.Kind.REFUND:
                deducted[line.payment_id] = deducted.get(line.payment_id, Decimal(0)) + line.amount
        return [
            PayoutPaymentSerializer(
                {
                    "id": line.payment_id,
                    "amount": line.payment.amount,
                    "currency": line.payment.currency,
                    "status": line.payment.status,
                    "verified_at": line.payment.verified_at,
                    "refunded_amount": line.payment.refunded_amount,
                    "included_amount": line.amount + deducted.get(line.payment_id, Decimal(0)),
                    "active": line.active,
                }
            ).data
            for line in lines
            if line.kind == PayoutLine.Kind.PAYMENT
        ]


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
