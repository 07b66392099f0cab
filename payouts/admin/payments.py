"""What payouts adds to the payments admin (the kernel names no domain)."""

from __future__ import annotations

from django.urls import reverse

from payments.admin import register_payment_admin
from payouts import selectors
from payouts.admin.common import MemberRowFilter
from payouts.models import QrPayment, Recipient

# --- what payouts adds to the payments admin (the kernel names no domain) ------------------------


class RecipientPaymentFilter(MemberRowFilter):
    """Payments made through one recipient's Smart QR codes."""

    title = "payout recipient"
    parameter_name = "recipient"
    lookup = "qr_payment__recipient_id"

    def lookups(self, request, model_admin):
        recipients = self.member_rows(
            request, Recipient.objects.select_related("branch").order_by("name", "pk")
        )
        return [(str(r.pk), f"{r.name} \u00b7 {r.branch.code}") for r in recipients[:100]]


def describe_payment(payment) -> list[tuple[str, str, str | None]]:
    """The payment page names the recipient the payment was made for and the payout holding it."""
    link = QrPayment.objects.filter(payment=payment).select_related("recipient__branch").first()
    if link is None:
        return []
    rows = [
        (
            "Recipient",
            str(link.recipient),
            reverse("admin:payouts_recipient_change", args=[link.recipient_id]),
        )
    ]
    lines = selectors.payment_lines(payment)
    for line in lines:
        payout = line.payout
        rows.append(
            (
                "Payout" if line.active else "Earlier payout",
                f"#{payout.pk} ({payout.get_status_display()}, net {payout.net} {payout.currency})",
                reverse("admin:payouts_payout_change", args=[payout.pk]),
            )
        )
    if len(rows) == 1:
        rows.append(("Payout", "not in a payout yet", None))
    return rows


register_payment_admin(list_filter=RecipientPaymentFilter, describe=describe_payment)
