from django.apps import AppConfig

# What a payout's page shows beside its fields: its lines, its audit trail, the adjustments it
# carries or applies and its reversal (without them the page hid its lines and events from the
# roles that decide and check payouts).
TRAIL = [
    "view_payoutline",
    "view_payoutevent",
    "view_payoutadjustment",
    "view_payoutadjustmentvoid",
    "view_payoutreversal",
]

# Role -> permissions of this app, granted after every migrate by core.roles.
ROLE_PERMISSIONS = {
    "Operator": [
        "view_recipient",
        "view_qrcode",
        "view_payout",
        *TRAIL,
        "view_payoutperiod",
        "view_feepolicy",
        "process_payout",
        "complete_payout",
        "cancel_payout",
        "decide_payout_drift",
    ],
    "Accountant": [
        "view_recipient",
        "add_recipient",
        "change_recipient",
        "view_qrcode",
        "view_payout",
        *TRAIL,
        "view_payoutperiod",
        "add_payoutperiod",
        "close_payoutperiod",
        "view_feepolicy",
        "change_feepolicy",
        "add_feepolicy",
        "reverse_payout",
    ],
}


def filter_payments_by_recipient(queryset, value: str):
    """``GET /api/v1/payments/?recipient=<id>``: the payments made through that recipient's QRs.
    An id that is no whole number in bigint's range is ValueError (400 on ``recipient``)."""
    from core.api.filters import whole_number

    return queryset.filter(qr_payment__recipient_id=whole_number(value))


class PayoutsConfig(AppConfig):
    name = "payouts"
    verbose_name = "Smart QR payouts"
    role_permissions = ROLE_PERMISSIONS

    def ready(self) -> None:
        from exceptionqueue.kinds import register_close_guard, register_exception_kinds
        from payments import hooks
        from payouts import services
        from payouts.exception_kinds import KINDS, REFUND_DRIFT
        from webhooks.registry import register_event_types

        register_exception_kinds(*KINDS)
        register_close_guard(REFUND_DRIFT, services.drift_case_close_guard)
        hooks.subscribe(services.on_payment_change)
        register_event_types(
            "payout.requested",
            "payout.processing",
            "payout.completed",
            "payout.cancelled",
            "payout.reversed",
        )
        hooks.register_payment_filter(
            "recipient",
            filter_payments_by_recipient,
            "Payments made through the Smart QR codes of this payout recipient (id).",
            schema_type="integer",
        )

    def seed_demo(self, stdout) -> None:
        from payouts.demo import seed_demo

        seed_demo(stdout=stdout)
