"""Audit helpers: history rows with user and reason, and the append-only event row base."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.context import get_request_id


def with_history(instance: models.Model, *, actor, reason: str) -> models.Model:
    """Make the next ``save()`` of ``instance`` write a history row naming actor and reason."""
    instance._history_user = actor
    instance._change_reason = reason
    return instance


def save_audited(instance: models.Model, *, actor, reason: str, **save_kwargs) -> models.Model:
    with_history(instance, actor=actor, reason=reason).save(**save_kwargs)
    return instance


class AppendOnlyError(RuntimeError):
    pass


class AuditEvent(models.Model):
    """Base for money events (transitions, refunds, adjustments): written once, never edited.

    Mistakes are corrected by a new reversing event, never by changing an old one.
    """

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    comment = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True, default=get_request_id)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only.")
