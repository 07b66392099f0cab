from __future__ import annotations

from rest_framework import serializers

from core.api.serializers import AmountField, StrictSerializer
from payments.models import Payment, PaymentEvent, Refund


class RefundSerializer(serializers.ModelSerializer):
    payment = serializers.IntegerField(source="payment_id", read_only=True)

    class Meta:
        model = Refund
        fields = [
            "id",
            "payment",
            "amount",
            "currency",
            "reason",
            "status",
            "provider_reference",
            "failure_code",
            "failure_message",
            "created_at",
            "completed_at",
        ]
        read_only_fields = fields


class PaymentSerializer(serializers.ModelSerializer):
    branch = serializers.SlugRelatedField(slug_field="code", read_only=True)
    # Empty until the gateway gives a payment page (a manual or QR payment has none): not a URI
    # format in the schema, which "" would break.
    payment_url = serializers.CharField(read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "status",
            "provider",
            "provider_reference",
            "order_number",
            "purpose",
            "branch",
            "amount",
            "currency",
            "refunded_amount",
            "verified_at",
            "verification_method",
            "masked_pan",
            "approval_code",
            "description",
            "payment_url",
            "created_at",
        ]
        read_only_fields = fields


# The list's lean path (``core.api.lean``): the ``.values()`` key of each field that differs.
PAYMENT_LIST_SOURCES = {"branch": "branch__code"}


class PaymentEventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    refund = serializers.IntegerField(source="refund_id", read_only=True, allow_null=True)

    class Meta:
        model = PaymentEvent
        fields = [
            "id",
            "kind",
            "from_status",
            "to_status",
            "amount",
            "currency",
            "method",
            "reference",
            "refund",
            "comment",
            "actor",
            "occurred_at",
        ]
        read_only_fields = fields

    def get_actor(self, event) -> str:
        from core.actors import actor_label

        return actor_label(event.actor)


class PaymentDetailSerializer(PaymentSerializer):
    refunds = RefundSerializer(many=True, read_only=True)
    events = PaymentEventSerializer(many=True, read_only=True)

    class Meta(PaymentSerializer.Meta):
        fields = [*PaymentSerializer.Meta.fields, "refunds", "events"]
        read_only_fields = fields


class RefundCreateSerializer(StrictSerializer):
    amount = AmountField()
    reason = serializers.CharField(max_length=500, trim_whitespace=True)
