"""Prometheus metrics for the people who run payops: is the money machinery keeping up?

``GET /metrics`` (text exposition format), allowed to a request carrying
``Authorization: Bearer <PAYOPS_METRICS_TOKEN>`` (the token from the environment; unset: no
token works) or to a signed-in superuser. Everything is read at scrape time from the database
(the truth), except task failures, which the workers count in the cache (Redis) and which read
as absent when Redis is down: a scrape never fails because Redis does.

- ``payops_outbox_lag_seconds``: age of the oldest webhook delivery due and not sent;
- ``payops_webhook_deliveries_due``: deliveries due now;
- ``payops_webhook_deliveries_failed``: deliveries that gave up (needing a replay);
- ``payops_janitor_backlog{janitor=...}``: payments due a status check, refunds pending;
- ``payops_exception_cases_open_blocking``: open blocking cases (period closes wait on them);
- ``payops_celery_task_failures_total{task=...}``: task failures since the counter began.
"""

from __future__ import annotations

import hmac
import logging

from django.conf import settings
from django.core.cache import cache
from django.db.models import Min
from django.http import HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

logger = logging.getLogger(__name__)
FAILURES_KEY = "payops:metrics:task-failures"
FAILURES_TASKS_KEY = "payops:metrics:task-failures:names"


def record_task_failure(sender=None, **kwargs) -> None:
    """Celery ``task_failure`` receiver: count it by task name (never raising)."""
    name = getattr(sender, "name", None) or "unknown"
    try:
        names = set(cache.get(FAILURES_TASKS_KEY) or ())
        if name not in names:
            cache.set(FAILURES_TASKS_KEY, sorted(names | {name}), timeout=None)
        key = f"{FAILURES_KEY}:{name}"
        cache.add(key, 0, timeout=None)
        cache.incr(key)
    except Exception:  # a metric is never worth a failure of its own
        logger.warning("task failure not counted (cache unavailable)", exc_info=True)


def _task_failures() -> dict[str, int] | None:
    try:
        names = cache.get(FAILURES_TASKS_KEY) or []
        return {name: int(cache.get(f"{FAILURES_KEY}:{name}") or 0) for name in names}
    except Exception:
        logger.warning("task failures unreadable (cache unavailable)", exc_info=True)
        return None


class PayopsCollector:
    def collect(self):
        from exceptionqueue.models import ExceptionCase
        from payments.models import Payment, Refund
        from webhooks.models import WebhookDelivery

        now = timezone.now()
        due = WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        )
        oldest = due.aggregate(oldest=Min("next_attempt_at"))["oldest"]
        yield GaugeMetricFamily(
            "payops_outbox_lag_seconds",
            "Age of the oldest webhook delivery due and not sent (0: none).",
            value=(now - oldest).total_seconds() if oldest else 0.0,
        )
        yield GaugeMetricFamily(
            "payops_webhook_deliveries_due", "Webhook deliveries due now.", value=due.count()
        )
        yield GaugeMetricFamily(
            "payops_webhook_deliveries_failed",
            "Webhook deliveries that gave up (a replay is needed).",
            value=WebhookDelivery.objects.filter(status=WebhookDelivery.Status.FAILED).count(),
        )
        backlog = GaugeMetricFamily(
            "payops_janitor_backlog", "Work due to the janitors.", labels=["janitor"]
        )
        backlog.add_metric(
            ["payments"],
            Payment.objects.filter(
                status__in=[Payment.Status.PENDING, Payment.Status.EXPIRED],
                next_check_at__lte=now,
            ).count(),
        )
        backlog.add_metric(["refunds"], Refund.objects.filter(status=Refund.Status.PENDING).count())
        yield backlog
        yield GaugeMetricFamily(
            "payops_exception_cases_open_blocking",
            "Open (or acknowledged) blocking exception cases.",
            value=ExceptionCase.objects.filter(
                blocking=True, status__in=ExceptionCase.ACTIVE_STATUSES
            ).count(),
        )
        failures = _task_failures()
        if failures is not None:
            counter = CounterMetricFamily(
                "payops_celery_task_failures", "Celery task failures.", labels=["task"]
            )
            for name, count in sorted(failures.items()):
                counter.add_metric([name], count)
            yield counter


def _allowed(request) -> bool:
    token = getattr(settings, "PAYOPS_METRICS_TOKEN", "")
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header.removeprefix("Bearer ").encode(), token.encode())
    from ops.admin_site import otp_required_for

    user = getattr(request, "user", None)
    if user is None or not user.is_active or not user.is_superuser:
        return False
    # The same second factor as the admin's, where the admin asks for one.
    return not otp_required_for(user) or bool(getattr(user, "is_verified", lambda: False)())


def metrics_view(request):
    if not _allowed(request):
        response = HttpResponse(
            "Metrics need a bearer token or a superuser's session.\n", status=401
        )
        response["WWW-Authenticate"] = 'Bearer realm="payops-metrics"'
        return response
    registry = CollectorRegistry(auto_describe=True)
    registry.register(PayopsCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
