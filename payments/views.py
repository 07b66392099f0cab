"""Non-API pages: provider callbacks, the sandbox gateway (REST + checkout), the return page."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from payments import sandbox
from payments.callbacks import Refused, callback_receive
from payments.models import Payment, SandboxOrder
from payments.providers.base import CallbackRequest

logger = logging.getLogger("payops.callbacks")

_MAX_CALLBACK_BYTES = 64 * 1024


def _flat(querydict) -> dict[str, str]:
    return {key: querydict.get(key, "") for key in querydict}


@csrf_exempt
@require_http_methods(["GET", "POST"])
def provider_callback(request, provider: str):
    """``/callbacks/<provider>/``: one per gateway (arca, ameria, idram, telcell, sandbox)."""
    if provider not in Payment.Provider.values:
        raise Http404
    if provider == Payment.Provider.SANDBOX and not settings.PAYOPS_SANDBOX:
        raise Http404
    body = request.body
    if len(body) > _MAX_CALLBACK_BYTES:
        return HttpResponse("Too large.", status=413, content_type="text/plain")
    incoming = CallbackRequest(
        method=request.method,
        query=_flat(request.GET),
        form=_flat(request.POST) if request.method == "POST" else {},
        body=body,
        headers=dict(request.headers),
    )
    try:
        outcome = callback_receive(
            provider=provider, request=incoming, remote_addr=request.META.get("REMOTE_ADDR")
        )
    except Refused as exc:
        return HttpResponse(exc.message, status=exc.status_code, content_type="text/plain")
    answer = outcome.answer
    return HttpResponse(answer.body, status=answer.status_code, content_type=answer.content_type)


def payment_return(request, order_number: str):
    """Where the gateway sends the customer back: a plain page (the callback is the proof)."""
    payment = get_object_or_404(Payment, order_number=order_number)
    return render(request, "payments/return.html", {"payment": payment})


# -- the sandbox gateway ----------------------------------------------------------------------


def _sandbox_on() -> None:
    if not settings.PAYOPS_SANDBOX:
        raise Http404


_REST_METHODS = {
    "register.do": "register",
    "getOrderStatusExtended.do": "order_status",
    "refund.do": "refund",
    "reverse.do": "reverse",
    "paymentOrderBinding.do": "payment_order_binding",
}


@csrf_exempt
@require_http_methods(["GET", "POST"])
def sandbox_rest(request, method: str):
    """``/sandbox/bpc/payment/rest/<method>.do``: the BPC REST protocol."""
    _sandbox_on()
    if method not in _REST_METHODS:
        raise Http404
    params = _flat(request.POST) if request.method == "POST" else _flat(request.GET)
    try:
        if method == "register.do":
            answer = sandbox.register(params, checkout_base=request.build_absolute_uri("/"))
        else:
            answer = getattr(sandbox, _REST_METHODS[method])(params)
    except sandbox.GatewayError as exc:
        answer = {"errorCode": str(exc.code), "errorMessage": exc.message}
    return JsonResponse(answer)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def sandbox_checkout(request, order_id):
    """The customer's payment page at the sandbox gateway: pay or decline."""
    _sandbox_on()
    order = get_object_or_404(SandboxOrder, order_id=order_id)
    if request.method == "POST":
        decision = request.POST.get("decision", "")
        if decision not in ("approved", "declined"):
            return HttpResponse("decision is approved or declined.", status=400)
        sandbox.decide(order, approved=decision == "approved")
        order.refresh_from_db()
        return HttpResponseRedirect(sandbox.redirect_url(order))
    sandbox._expire_if_due(order)
    return render(
        request,
        "payments/sandbox_checkout.html",
        {"order": order, "amount": _display_amount(order), "decided": order.order_status != 0},
    )


def _display_amount(order) -> str:
    from core.money import alpha_code, from_minor

    try:
        currency = alpha_code(order.currency_numeric)
    except ValueError:
        return str(order.amount_minor)
    return f"{from_minor(order.amount_minor, currency)} {currency}"
