"""Hand work to Celery without ever failing the change that asked for it.

Work that must happen is written to the database first (an outbox row, a due column); the
broker only carries the fast path. So publishing gives up quickly (one retry, ~0.2 s) instead of
blocking a committed request for seconds while the broker is down, and never raises: the rows
stay due and the app's beat-driven sweeper queues them once the broker is back.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence

from django.db import transaction

logger = logging.getLogger(__name__)


def _task(task):
    """A task object, or its registered name (``"payments.tasks.payment_check"``): services queue
    tasks by name, so they never import ``tasks`` modules (which import services)."""
    if not isinstance(task, str):
        return task
    from config.celery import app

    if task not in app.tasks:
        # Outside a worker nothing imports the apps' tasks modules (autodiscovery runs when a
        # worker starts): import them now, once, so a name queued before its module was
        # imported is found.
        app.loader.import_default_modules()
    return app.tasks[task]


def enqueue(task, calls: Iterable[Sequence], *, countdown: float | None = None) -> int:
    """Publish ``task`` (or its name) once per argument tuple in ``calls``; returns how many
    were queued."""
    task = _task(task)
    calls = [tuple(args) for args in calls]
    queued = 0
    try:
        if task.app.conf.task_always_eager:
            for args in calls:
                task.apply_async(args, countdown=countdown)
                queued += 1
            return queued
        with task.app.connection_for_write() as connection:
            connection.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0.2, interval_max=0.2
            )
            for args in calls:
                task.apply_async(args, countdown=countdown, retry=False, connection=connection)
                queued += 1
    except Exception as exc:  # any broker failure: the sweeper catches up from the database
        logger.warning(
            "%s: %d of %d not queued, its sweeper will: %s: %s",
            task.name,
            len(calls) - queued,
            len(calls),
            type(exc).__name__,
            exc,
        )
    return queued


def enqueue_on_commit(task, *args, countdown: float | None = None) -> None:
    """``enqueue`` one call after the current transaction commits (nothing if it rolls back)."""
    transaction.on_commit(
        functools.partial(enqueue, task, [args], countdown=countdown), robust=True
    )
