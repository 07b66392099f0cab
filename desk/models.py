"""The desk's one model: an import asked for from the browser, run by a Celery worker.

An ``ImportJob`` holds the uploaded file (the default storage, ``MEDIA_ROOT``) until a worker has
handed it to reconciliation's import service; the page polls the job (htmx) for its progress and
its result: the ``ProviderReport`` or ``BankStatement`` written, or the service's refusal.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from core.models import Organization


class ImportJob(models.Model):
    class Kind(models.TextChoices):
        REPORT = "report", "Provider report"
        STATEMENT = "statement", "Bank statement"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Refused"

    FINISHED = (Status.DONE, Status.FAILED)

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    provider = models.CharField(max_length=16, blank=True)
    file = models.FileField(upload_to="desk-imports/%Y/%m/", max_length=255, blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done (0-100).")
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    error_fields = models.JSONField(default=dict, blank=True)
    report = models.ForeignKey(
        "reconciliation.ProviderReport",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    statement = models.ForeignKey(
        "reconciliation.BankStatement",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["organization", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="desk_import_progress_percent"
            )
        ]

    def __str__(self) -> str:
        return f"import #{self.pk} {self.file_name} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED
