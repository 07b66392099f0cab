"""The desk's tasks: take ids, load, return early if done, call one service."""

from __future__ import annotations

from celery import shared_task

from desk.models import ImportJob
from desk.services import import_job_run as import_job_run_service
from desk.services import import_jobs_requeue


@shared_task(acks_late=True)
def import_job_run(job_id: int) -> str | None:
    job = ImportJob.objects.select_related("organization", "created_by").filter(pk=job_id).first()
    if job is None or job.finished:
        return None
    return import_job_run_service(job=job).status


@shared_task
def requeue_import_jobs() -> int:
    """Beat: queue again the imports whose task was lost or whose worker died."""
    return import_jobs_requeue()
