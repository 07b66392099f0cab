from __future__ import annotations

from rest_framework import serializers

from core.api.serializers import StrictSerializer
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent


class EndpointSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "event_types",
            "description",
            "enabled",
            "disabled_reason",
            "disabled_at",
            "secret_rotated_at",
            "previous_secret_expires_at",
            "created_at",
        ]
        read_only_fields = fields


class EndpointWithSecretSerializer(EndpointSerializer):
    """Only in the answer that creates or rotates the secret: it is not shown again."""

    secret = serializers.CharField(read_only=True)

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class EventTypesSerializer(serializers.Serializer):
    event_types = serializers.ListField(
        child=serializers.CharField(), help_text="Exact types, e.g. payout.completed."
    )
    resources = serializers.ListField(
        child=serializers.CharField(), help_text="Resources for <resource>.* subscriptions."
    )


class EndpointCreateSerializer(StrictSerializer):
    url = serializers.URLField(max_length=2000)
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=100), min_length=1, max_length=100
    )
    description = serializers.CharField(max_length=200, required=False, default="")


class EndpointUpdateSerializer(StrictSerializer):
    url = serializers.URLField(max_length=2000, required=False)
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=100), min_length=1, max_length=100, required=False
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)


class RotateSecretSerializer(StrictSerializer):
    overlap_hours = serializers.IntegerField(
        min_value=0,
        max_value=24 * 7,
        required=False,
        default=24,
        help_text="How long the previous secret keeps signing (a second v1 signature).",
    )


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = [
            "attempt",
            "started_at",
            "status_code",
            "duration_ms",
            "error",
            "retry_after_seconds",
            "next_attempt_at",
        ]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    event_type = serializers.CharField(source="event.event_type", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "event_type",
            "endpoint",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "succeeded_at",
            "failed_at",
            "replays",
            "created_at",
        ]
        read_only_fields = fields


class DeliveryDetailSerializer(DeliverySerializer):
    attempt_log = AttemptSerializer(many=True, read_only=True)

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "attempt_log"]
        read_only_fields = fields


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEvent
        fields = ["id", "event_type", "subject_type", "subject_id", "data", "created_at"]
        read_only_fields = fields


class EventDetailSerializer(EventSerializer):
    deliveries = DeliverySerializer(many=True, read_only=True)

    class Meta(EventSerializer.Meta):
        fields = [*EventSerializer.Meta.fields, "deliveries"]
        read_only_fields = fields


class EventReplaySerializer(StrictSerializer):
    endpoint = serializers.IntegerField(required=False, help_text="Only to this endpoint.")


class ReplayFailedSerializer(StrictSerializer):
    start = serializers.DateTimeField(help_text="Events from (inclusive).")
    end = serializers.DateTimeField(help_text="Events before (exclusive).")
    endpoint = serializers.IntegerField(required=False, help_text="Only to this endpoint.")

    def validate(self, attrs):
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": ["Must be after start."]})
        return attrs


class ReplayAnswerSerializer(serializers.Serializer):
    replayed = serializers.IntegerField()
    deliveries = DeliverySerializer(many=True)
