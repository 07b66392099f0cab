from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.serializers import StrictSerializer
from exceptionqueue.models import ExceptionCase, ExceptionCaseEvent


class ExceptionEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", read_only=True)

    class Meta:
        model = ExceptionCaseEvent
        fields = ["action", "from_status", "to_status", "actor", "occurred_at", "comment"]
        read_only_fields = fields


class ExceptionSubjectSerializer(serializers.Serializer):
    type = serializers.CharField()
    id = serializers.CharField()


class ExceptionCaseSerializer(serializers.ModelSerializer):
    branch = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    subject = serializers.SerializerMethodField()

    class Meta:
        model = ExceptionCase
        fields = [
            "id",
            "kind",
            "severity",
            "status",
            "blocking",
            "message",
            "branch",
            "subject",
            "amount",
            "currency",
            "details",
            "period_start",
            "period_end",
            "dedup_key",
            "occurrences",
            "created_at",
            "last_seen_at",
            "acknowledged_at",
            "closed_at",
            "resolution_note",
            "auto_resolved",
        ]
        read_only_fields = fields

    @extend_schema_field(ExceptionSubjectSerializer(allow_null=True))
    def get_subject(self, obj: ExceptionCase) -> dict | None:
        if obj.subject_type_id is None:
            return None
        return {"type": obj.subject_type.model, "id": obj.subject_id}


# The list's lean path (``core.api.lean``): the ``.values()`` keys of the fields that differ
# (``subject`` reads two, see ``subject_of_row``).
EXCEPTION_LIST_SOURCES = {
    "branch": "branch__code",
    "subject": ("subject_type__model", "subject_id"),
}


def subject_of_row(row: dict) -> dict | None:
    """``ExceptionCaseSerializer.get_subject`` for a ``.values()`` row."""
    if row["subject_type__model"] is None:  # no subject type (the join found nothing)
        return None
    return {"type": row["subject_type__model"], "id": row["subject_id"]}


class ExceptionCaseDetailSerializer(ExceptionCaseSerializer):
    events = ExceptionEventSerializer(many=True, read_only=True)

    class Meta(ExceptionCaseSerializer.Meta):
        fields = [*ExceptionCaseSerializer.Meta.fields, "events"]
        read_only_fields = fields


class ResolveSerializer(StrictSerializer):
    note = serializers.CharField(max_length=5000)


class AcknowledgeSerializer(StrictSerializer):
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
