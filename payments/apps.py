from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Provider payments"

    def ready(self) -> None:
        from exceptionqueue.kinds import register_exception_kinds
        from payments.exception_kinds import KINDS
        from webhooks.registry import register_event_types

        register_exception_kinds(*KINDS)
        register_event_types(
            "payment.verified", "payment.declined", "payment.expired", "payment.refunded"
        )

    def seed_demo(self, stdout) -> None:
        """Idempotent demo data: a few sandbox payments per demo organisation, through services."""
        from decimal import Decimal

        from core.actors import system_actor
        from core.models import Branch
        from payments import services
        from payments.models import Payment

        actor = system_actor("seed-demo")
        plan = [
            ("yerevan-cafe", "northern-avenue", "2500.00", "approved"),
            ("yerevan-cafe", "cascade", "1800.00", "declined"),
            ("yerevan-cafe", "cascade", "3200.00", None),
        ]
        created = 0
        for slug, code, amount, outcome in plan:
            branch = (
                Branch.objects.select_related("organization")
                .filter(organization__slug=slug, code=code)
                .first()
            )
            if branch is None:
                continue
            description = f"demo {slug}/{code} {amount}"
            if Payment.objects.filter(organization=branch.organization, description=description):
                continue
            payment = services.payment_create(
                organization=branch.organization,
                branch=branch,
                provider=Payment.Provider.SANDBOX,
                purpose=Payment.Purpose.QR,
                amount=Decimal(amount),
                currency="AMD",
                actor=actor,
                description=description,
            )
            if outcome:
                from django.conf import settings

                if settings.PAYOPS_SANDBOX:
                    services.sandbox_pay(payment=payment, outcome=outcome, actor=actor)
            created += 1
        stdout.write(f"payments: {created} demo payments created\n")
