"""Request serializers are strict (unknown fields -> 400 ``unknown_field``, before anything is
read); responses are plain and never carry the customer context."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentReconciliation,
    AppointmentSlot,
    CancellationPolicy,
    PaymentRequest,
)
from core.actors import actor_label
from core.api.serializers import AmountField, CurrencyField, StrictSerializer

PERCENT = {
    "max_digits": 5,
    "decimal_places": 2,
    "min_value": Decimal("0"),
    "max_value": Decimal("100"),
}


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 time with its UTC offset: a slot without one is ambiguous."""

    def to_internal_value(self, value):
        if isinstance(value, str) and ("T" in value or " " in value):
            tail = value.replace(" ", "T").split("T", 1)[1]
            if not (tail.endswith("Z") or "+" in tail or "-" in tail):
                raise serializers.ValidationError("Give the UTC offset (e.g. +04:00).")
        return super().to_internal_value(value)


# --- requests ------------------------------------------------------------------------------------


class CancellationPolicyCreateSerializer(StrictSerializer):
    code = serializers.SlugField(max_length=64)
    window_hours = serializers.IntegerField(min_value=0, max_value=24 * 365)
    refund_percent_before = serializers.DecimalField(**PERCENT)
    refund_percent_after = serializers.DecimalField(**PERCENT)
    no_show_refund_percent = serializers.DecimalField(**PERCENT)


class AppointmentCustomerSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    phone = serializers.RegexField(
        r"^\+?[0-9 ()-]{4,32}$", max_length=32, required=False, allow_blank=True, default=""
    )


class AppointmentCreateSerializer(StrictSerializer):
    external_ref = serializers.CharField(max_length=128)
    service_id = serializers.CharField(max_length=64)
    specialist_id = serializers.CharField(max_length=64)
    branch = serializers.CharField(max_length=64, help_text="The branch code.")
    starts_at = AwareDateTimeField()
    ends_at = AwareDateTimeField()
    policy = serializers.CharField(max_length=64, help_text="The cancellation policy's code.")
    customer = AppointmentCustomerSerializer(required=False)


class AppointmentPaymentRequestCreateSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=PaymentRequest.Kind.choices)
    amount = AmountField()
    currency = CurrencyField()
    expires_in_minutes = serializers.IntegerField(required=False, max_value=60 * 24 * 90)
    expires_at = AwareDateTimeField(required=False)
    provider = serializers.CharField(max_length=16, required=False)
    return_url = serializers.URLField(max_length=500, required=False, default="")

    def validate(self, attrs):
        if ("expires_in_minutes" in attrs) == ("expires_at" in attrs):
            raise serializers.ValidationError(
                {"expires_in_minutes": ["Give expires_in_minutes or expires_at (one of them)."]}
            )
        return attrs


class AppointmentTransferSerializer(StrictSerializer):
    starts_at = AwareDateTimeField()
    ends_at = AwareDateTimeField()
    specialist_id = serializers.CharField(max_length=64, required=False, default="")
    comment = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class AppointmentCancelSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500)
    by = serializers.ChoiceField(choices=Appointment.CancelledBy.choices)


class AppointmentCommentSerializer(StrictSerializer):
    comment = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class AppointmentRefundCreateSerializer(StrictSerializer):
    amount = AmountField()
    reason = serializers.CharField(max_length=500)
    override_reason = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )
    payment_request = serializers.IntegerField(required=False)


class AppointmentReasonSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500)


class AppointmentReconciliationCreateSerializer(StrictSerializer):
    date = serializers.DateField()


# --- responses -----------------------------------------------------------------------------------


class CancellationPolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = CancellationPolicy
        fields = [
            "id",
            "code",
            "version",
            "window_hours",
            "refund_percent_before",
            "refund_percent_after",
            "no_show_refund_percent",
            "created_at",
        ]
        read_only_fields = fields


class AppointmentPaymentRequestSerializer(serializers.ModelSerializer):
    payment_url = serializers.CharField(source="payment.payment_url", read_only=True)
    order_number = serializers.CharField(source="payment.order_number", read_only=True)
    provider = serializers.CharField(source="payment.provider", read_only=True)
    payment_status = serializers.CharField(source="payment.status", read_only=True)
    refunded_amount = serializers.DecimalField(
        source="payment.refunded_amount", max_digits=20, decimal_places=2, read_only=True
    )
    policy_version = serializers.IntegerField(source="policy.version", read_only=True)
    policy = serializers.CharField(source="policy.code", read_only=True)

    class Meta:
        model = PaymentRequest
        fields = [
            "id",
            "appointment",
            "kind",
            "status",
            "amount",
            "currency",
            "refunded_amount",
            "expires_at",
            "paid_at",
            "policy",
            "policy_version",
            "payment",
            "payment_status",
            "provider",
            "order_number",
            "payment_url",
            "created_at",
        ]
        read_only_fields = fields


class AppointmentSlotSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = AppointmentSlot
        fields = ["starts_at", "ends_at", "specialist_id", "occurred_at", "actor", "comment"]
        read_only_fields = fields

    def get_actor(self, obj) -> str:
        return actor_label(obj.actor)


class AppointmentEventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = AppointmentEvent
        fields = [
            "id",
            "kind",
            "payment_request",
            "from_status",
            "to_status",
            "reason",
            "amount",
            "currency",
            "data",
            "actor",
            "occurred_at",
            "request_id",
        ]
        read_only_fields = fields

    def get_actor(self, obj) -> str:
        return actor_label(obj.actor)


class AppointmentSerializer(serializers.ModelSerializer):
    branch = serializers.CharField(source="branch.code", read_only=True)
    policy = serializers.CharField(source="policy.code", read_only=True)
    policy_version = serializers.IntegerField(source="policy.version", read_only=True)

    class Meta:
        model = Appointment
        fields = [
            "id",
            "external_ref",
            "service_id",
            "specialist_id",
            "branch",
            "starts_at",
            "ends_at",
            "status",
            "policy",
            "policy_version",
            "cancelled_by",
            "cancelled_at",
            "cancelled_within_window",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AppointmentDetailSerializer(AppointmentSerializer):
    slots = AppointmentSlotSerializer(many=True, read_only=True)
    payment_requests = AppointmentPaymentRequestSerializer(many=True, read_only=True)
    events = AppointmentEventSerializer(many=True, read_only=True)
    refund_path = serializers.SerializerMethodField()

    class Meta(AppointmentSerializer.Meta):
        fields = [
            *AppointmentSerializer.Meta.fields,
            "slots",
            "payment_requests",
            "events",
            "refund_path",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField())
    def get_refund_path(self, obj) -> dict:
        from appointments.services import refund_path

        return refund_path(obj)


class AppointmentRefundSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    payment = serializers.IntegerField(source="payment_id")
    payment_request = serializers.IntegerField(source="payment.appointment_request.pk")
    amount = serializers.DecimalField(max_digits=20, decimal_places=2)
    currency = serializers.CharField()
    status = serializers.CharField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class AppointmentReconciliationSerializer(serializers.ModelSerializer):
    class Meta:
        model = AppointmentReconciliation
        fields = ["id", "date", "counts", "totals", "findings", "ran_at"]
        read_only_fields = fields
