"""The public page a Smart QR payload opens: whom the customer is paying (no personal data
beyond the name the organisation chose to print)."""

from django.http import Http404
from django.shortcuts import render

from payouts.models import QrCode


def qr_landing(request, code: str):
    qr = (
        QrCode.objects.select_related("recipient__branch", "organization").filter(code=code).first()
    )
    if qr is None:
        raise Http404
    recipient = qr.recipient
    return render(
        request,
        "payouts/qr_landing.html",
        {
            "recipient_label": recipient.name,
            "scope": recipient.get_scope_display().lower(),
            "organization": qr.organization,
            "branch": recipient.branch,
            "active": qr.is_active and recipient.is_active,
        },
    )
