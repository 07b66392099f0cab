"""The application's URLs plus the floors of the API workload: bare Django views returning the
same rows with ``.values()`` (no authentication, no throttle, no DRF), on the same server."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse, JsonResponse
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from exceptionqueue.models import ExceptionCase
from payments.models import Payment, ProviderCallback
from payouts.models import Payout, PayoutEvent, PayoutLine

PAYMENT_FIELDS = [
    "id", "status", "provider", "provider_reference", "order_number", "purpose",
    "branch__code", "amount", "currency", "refunded_amount", "verified_at",
    "verification_method", "masked_pan", "approval_code", "description", "payment_url",
    "created_at",
]  # fmt: skip
PAYOUT_FIELDS = [
    "id", "status", "recipient_id", "branch__code", "currency", "period_start", "period_end",
    "gross", "fee", "net", "payment_count", "method", "reference", "drift_hold",
    "accounting_period_id", "created_at", "completed_at",
]  # fmt: skip
CASE_FIELDS = [
    "id", "kind", "severity", "status", "blocking", "message", "branch__code", "subject_id",
    "amount", "currency", "details", "period_start", "period_end", "dedup_key", "occurrences",
    "created_at", "last_seen_at", "acknowledged_at", "closed_at",
]  # fmt: skip


def _page(request, queryset, fields, *, by_organization_index: bool = False):
    """100 rows newest first, after ``?before=<id>``; filters as the API's (exact values).
    ``by_organization_index``: the query the payments API sends (the organisation's
    ``(organization_id, id)`` index, ``core.api.pagination.OrganizationCursorPagination``)."""
    params = request.GET
    ordering = ["-id"]
    if by_organization_index:
        queryset = queryset.filter(organization_id__any_of=[int(params["org"])])
        ordering = ["-organization_id", "-id"]
    else:
        queryset = queryset.filter(organization_id=int(params["org"]))
    if "before" in params:
        queryset = queryset.filter(id__lt=int(params["before"]))
    for name in ("status", "branch__code"):
        if name in params:
            queryset = queryset.filter(**{name: params[name]})
    rows = list(queryset.order_by(*ordering).values(*fields)[: int(params.get("page_size", 100))])
    return JsonResponse({"results": rows}, encoder=DjangoJSONEncoder)


def payments(request):
    return _page(request, Payment.objects.all(), PAYMENT_FIELDS, by_organization_index=True)


def payouts(request):
    return _page(request, Payout.objects.all(), PAYOUT_FIELDS)


def exceptions(request):
    return _page(request, ExceptionCase.objects.all(), CASE_FIELDS)


def payout_detail(request, pk: int):
    """The payout, its first 100 payment lines with their payments, its events."""
    payout = (
        Payout.objects.filter(pk=pk, organization_id=int(request.GET["org"]))
        .values(*PAYOUT_FIELDS)
        .get()
    )
    payout["payments"] = list(
        PayoutLine.objects.filter(payout_id=pk, kind="payment")
        .order_by("id")
        .values(
            "id", "payment_id", "amount", "active", "payment__amount", "payment__currency",
            "payment__status", "payment__verified_at", "payment__refunded_amount",
        )[:100]
    )  # fmt: skip
    payout["events"] = list(PayoutEvent.objects.filter(payout_id=pk).values())
    return JsonResponse(payout, encoder=DjangoJSONEncoder)


@csrf_exempt
def callback(request, provider: str):
    """Store the callback, mark its payment verified: one INSERT, one UPDATE."""
    params = request.GET
    payment = (
        Payment.objects.filter(provider=provider, provider_reference=params.get("mdOrder", ""))
        .values("pk", "organization_id", "status")
        .first()
    )
    now = timezone.now()
    ProviderCallback.objects.create(
        provider=provider,
        event_id=params.get("mdOrder", ""),
        order_number=params.get("orderNumber", ""),
        organization_id=payment and payment["organization_id"],
        payment_id=payment and payment["pk"],
        status="processed",
        http_status=200,
        method=request.method,
        query=dict(params.items()),
        remote_addr=request.META.get("REMOTE_ADDR"),
        processed_at=now,
    )
    if payment and payment["status"] == "pending":
        Payment.objects.filter(pk=payment["pk"], status="pending").update(
            status="verified", verified_at=now, verification_method="callback"
        )
    return HttpResponse("OK", content_type="text/plain")


floors = [
    path("callbacks/<str:provider>/", callback),
    path("payments/", payments),
    path("payouts/", payouts),
    path("payouts/<int:pk>/", payout_detail),
    path("exceptions/", exceptions),
]

urlpatterns = [path("bench/floor/", include(floors)), path("", include("config.urls"))]
