from django.apps import AppConfig
from django.db.models.signals import post_migrate

# Role -> permissions of this app (granted after every migrate; see core.roles).
ROLE_PERMISSIONS = {
    "Operator": [
        "view_recipient",
        "view_qrcode",
        "view_payout",
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
        "view_payoutperiod",
        "add_payoutperiod",
        "close_payoutperiod",
        "view_feepolicy",
        "change_feepolicy",
        "add_feepolicy",
        "reverse_payout",
    ],
}


def grant_role_permissions(sender, **kwargs) -> None:
    from django.contrib.auth.models import Group, Permission

    for role, codenames in ROLE_PERMISSIONS.items():
        group = Group.objects.filter(name=role).first()
        if group is None:
            continue
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="payouts", codename__in=codenames)
        )


def filter_payments_by_recipient(queryset, value: str):
    """``GET /api/v1/payments/?recipient=<id>``: the payments made through that recipient's QRs."""
    if not value.isdigit():
        from django.core.exceptions import ValidationError

        raise ValidationError("A recipient is given by its id, a whole number.")
    return queryset.filter(qr_payment__recipient_id=int(value))


class PayoutsConfig(AppConfig):
    name = "payouts"
    verbose_name = "Smart QR payouts"

    def ready(self) -> None:
        from payments import hooks
        from payouts import services
        from webhooks.registry import register_event_types

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
        )
        post_migrate.connect(grant_role_permissions, sender=self)

    def seed_demo(self, stdout) -> None:
        from payouts.demo import seed_demo

        seed_demo(stdout=stdout)
