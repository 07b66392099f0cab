"""A Celery worker for the fault tests: ``python -m tests.reliability.fault_worker``.

The worker is the real one (``config.celery``, solo pool: the task runs in this process, so a
SIGKILL of it kills the task mid-way). ``PAYOPS_FAULT_STOP=module:function[@n]`` makes the n-th
call (default the first) of that function first wait on a PostgreSQL advisory lock the test
holds (``live.FAULT_LOCK``), on the worker's own database connection, so inside the task's
transaction if one is open: the test sees the worker's backend waiting on it in
``pg_stat_activity`` (it is exactly there, mid-task), kills the worker, then lets go of the lock.
``PAYOPS_FAULT_SET=module:name=integer`` sets a module constant first (a small build batch).
Nothing of this is in the application: it only wraps functions the application calls.
"""

from __future__ import annotations

import functools
import importlib
import itertools
import os


def _stop_point(spec: str) -> None:
    from django.db import connection

    from tests.reliability.live import FAULT_LOCK

    target, _, nth = spec.partition("@")
    module_name, _, name = target.partition(":")
    module = importlib.import_module(module_name)
    real = getattr(module, name)
    calls = itertools.count(1)
    stop_on = int(nth or 1)

    @functools.wraps(real)
    def stopping(*args, **kwargs):
        if next(calls) == stop_on:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [FAULT_LOCK])
                cursor.execute("SELECT pg_advisory_unlock(%s)", [FAULT_LOCK])
        return real(*args, **kwargs)

    setattr(module, name, stopping)


def _set(spec: str) -> None:
    target, _, value = spec.partition("=")
    module_name, _, name = target.partition(":")
    setattr(importlib.import_module(module_name), name, int(value))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    if os.environ.get("PAYOPS_FAULT_SET"):
        _set(os.environ["PAYOPS_FAULT_SET"])
    if os.environ.get("PAYOPS_FAULT_STOP"):
        _stop_point(os.environ["PAYOPS_FAULT_STOP"])
    from config.celery import app

    app.worker_main(
        [
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
        ]
    )


if __name__ == "__main__":
    main()
