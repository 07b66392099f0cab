"""GET /healthz: 200 when the database and the broker answer, 503 (that one "down") when one
does not; never a 500."""

from __future__ import annotations

import logging
import os
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from config.celery import app as celery_app
from core.models import Heartbeat

logger = logging.getLogger("payops.health")
WORKER_STALE_AFTER = timedelta(minutes=2)


def check_database() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception as exc:
        logger.warning("healthz: database check failed: %s: %s", type(exc).__name__, exc)
        return False


def check_broker() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            # One attempt, no back-off: a refused connection answers at once, a silent host
            # within the timeout, and a load balancer polling /healthz never waits seconds.
            conn.ensure_connection(max_retries=0, timeout=1)
            client = getattr(conn.default_channel, "client", None)
            if client is not None:  # Redis: a real round trip
                return bool(client.ping())
        # Embedded filesystem broker: the queue folder must be there and writable.
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
        return os.access(folder, os.W_OK)
    except Exception as exc:  # one line per poll while the broker is down, not a traceback
        logger.warning("healthz: broker check failed: %s: %s", type(exc).__name__, exc)
        return False


def worker_state() -> str:
    """Informational: "ok" when the worker ran the heartbeat task recently."""
    try:
        beat = Heartbeat.objects.filter(name="worker").first()
    except Exception:
        return "unknown"
    if beat is None:
        return "unknown"
    return "ok" if timezone.now() - beat.beat_at < WORKER_STALE_AFTER else "stale"


@require_safe
def healthz(request):
    database = check_database()
    broker = check_broker()
    healthy = database and broker
    body = {
        "status": "ok" if healthy else "error",
        "database": "ok" if database else "down",
        "broker": "ok" if broker else "down",
        "worker": worker_state() if database else "unknown",
    }
    return JsonResponse(body, status=200 if healthy else 503)
