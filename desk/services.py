"""The desk's writes: imports asked for from the browser, run in a Celery worker.

``import_job_create`` stores the upload and queues ``desk.tasks.import_job_run`` after commit;
``import_job_run`` (the task's one service) hands the file to reconciliation's import service
(``provider_report_import`` / ``bank_statement_import``, which write everything or nothing) and
records the result or the refusal on the job. Progress: the job row moves 0 (queued) -> 5
(started) -> 100 (finished); while a report's rows are read, the percent of its bytes goes to the
cache (``import_job_progress``), which a shared cache (Redis) shows between the two.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.audit import save_audited
from core.errors import DomainError
from core.queueing import enqueue, enqueue_on_commit
from desk.models import ImportJob
from reconciliation.services import bank_statement_import, provider_report_import

logger = logging.getLogger(__name__)
STARTED = 5
# How long a started import holds its job (a 1,000,000-row report imports in about a minute);
# after it, a run that died with its worker is taken over (the import rolled back whole).
# ``PAYOPS_DESK_IMPORT_LEASE_SECONDS`` (15 minutes by default; the fault test shortens it).
LEASE = dt.timedelta(seconds=settings.PAYOPS_DESK_IMPORT_LEASE_SECONDS)
# A job still queued this long after its upload lost its task (a broker outage): queued again.
REQUEUE_AFTER = dt.timedelta(minutes=2)


def _progress_key(job_id: int) -> str:
    return f"desk:import-progress:{job_id}"


def import_job_progress(job: ImportJob) -> int:
    """The job's percent: its row's, or the running import's reading progress (cache)."""
    if job.finished or job.status == ImportJob.Status.QUEUED:
        return job.progress
    try:
        live = cache.get(_progress_key(job.pk))
    except Exception:  # the cache fails open: the row's figure is shown
        live = None
    return max(job.progress, min(int(live or 0), 99))


@transaction.atomic
def import_job_create(
    *, organization, kind: str, provider: str, upload: UploadedFile, actor
) -> ImportJob:
    """Store the upload and queue its import (after commit). Returns the queued job."""
    job = ImportJob(
        organization=organization,
        kind=kind,
        provider=provider if kind == ImportJob.Kind.REPORT else "",
        file_name=(upload.name or "")[:255],
        size_bytes=upload.size or 0,
        created_by=actor,
    )
    job.file.save(upload.name or "upload", upload, save=False)
    save_audited(job, actor=actor, reason=f"import of {job.file_name} queued")
    enqueue_on_commit("desk.tasks.import_job_run", job.pk)
    return job


def _claim(job: ImportJob) -> ImportJob | None:
    """The job, now ``running`` for this run; None when another run holds it (started less than
    ``LEASE`` ago) or it is finished. A task delivered twice, or re-queued by the sweeper while
    its first copy still runs, imports once; a run killed mid-import (its import rolled back
    whole) is taken over once its lease has run out."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        now = timezone.now()
        if job.finished:
            return None
        if (
            job.status == ImportJob.Status.RUNNING
            and job.started_at
            and (now - job.started_at < LEASE)
        ):
            return None
        job.status, job.progress, job.started_at = ImportJob.Status.RUNNING, STARTED, now
        save_audited(job, actor=job.created_by, reason="import started")
    return job


def import_job_run(*, job: ImportJob) -> ImportJob:
    """Run a queued (or interrupted) job once; a finished or held job is returned as it is."""
    claimed = _claim(job)
    if claimed is None:
        job.refresh_from_db()
        return job
    job = claimed
    actor = job.created_by
    try:
        with job.file.open("rb") as handle:
            if job.kind == ImportJob.Kind.STATEMENT:
                job.statement = bank_statement_import(
                    organization=job.organization,
                    data=handle.read(),
                    actor=actor,
                    file_name=job.file_name,
                )
            else:
                job.report = provider_report_import(
                    organization=job.organization,
                    provider=job.provider,
                    file=handle,
                    actor=actor,
                    file_name=job.file_name,
                    progress=_reading(job),
                )
    except DomainError as exc:
        job.status, job.error_code, job.error_message = (
            ImportJob.Status.FAILED,
            exc.code,
            exc.message,
        )
        job.error_fields = {k: [str(r) for r in v] for k, v in (exc.fields or {}).items()}
    except Exception as exc:
        logger.exception("desk import #%s failed", job.pk)
        job.status, job.error_code = ImportJob.Status.FAILED, "internal_error"
        job.error_message = (
            f"The import stopped on an unexpected error ({type(exc).__name__}); "
            "nothing was written."
        )
    else:
        job.status = ImportJob.Status.DONE
    _discard(job)
    job.progress, job.finished_at = 100, timezone.now()
    save_audited(job, actor=actor, reason=f"import {job.status}")
    return job


def _reading(job: ImportJob):
    """A progress callback: bytes read so far, as a percent of the file, into the cache."""
    state = {"read": 0, "shown": -1}
    size = max(job.size_bytes, 1)

    def step(n: int) -> None:
        state["read"] += n
        percent = STARTED + (state["read"] * 90 // size)
        if percent != state["shown"]:
            state["shown"] = percent
            try:
                cache.set(_progress_key(job.pk), percent, 3600)
            except Exception:  # fail open: progress is a courtesy, the import is not
                logger.warning("desk import #%s: progress not cached", job.pk)

    return step


def _discard(job: ImportJob) -> None:
    """The stored upload is gone once imported or refused (the report and statement keep their
    own rows and raw text)."""
    try:
        job.file.delete(save=False)
        cache.delete(_progress_key(job.pk))
    except Exception:
        logger.warning("desk import #%s: upload not removed", job.pk)
    job.file = ""


def import_jobs_requeue(*, now: dt.datetime | None = None) -> int:
    """The sweeper (beat, every minute): queue again each job whose task was lost (still
    queued ``REQUEUE_AFTER`` after its upload) or whose run died (running past ``LEASE``).
    Queuing twice is harmless: ``import_job_run`` claims the job before it imports."""
    now = now or timezone.now()
    stalled = ImportJob.objects.filter(
        Q(status=ImportJob.Status.QUEUED, created_at__lt=now - REQUEUE_AFTER)
        | Q(status=ImportJob.Status.RUNNING, started_at__lt=now - LEASE)
    )
    ids = list(stalled.order_by("pk").values_list("pk", flat=True)[:100])
    enqueue("desk.tasks.import_job_run", [(job_id,) for job_id in ids])
    return len(ids)
