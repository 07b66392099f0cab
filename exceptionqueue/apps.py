from django.apps import AppConfig


class ExceptionqueueConfig(AppConfig):
    name = "exceptionqueue"
    verbose_name = "Exception queue"

    def seed_demo(self, stdout) -> None:
        """One open case per demo organisation, so the queue is not empty on first look."""
        from decimal import Decimal

        from core.actors import system_actor
        from core.models import Organization
        from exceptionqueue.models import ExceptionCase
        from exceptionqueue.services import exception_raise

        actor = system_actor("seed-demo")
        organization = Organization.objects.filter(slug="yerevan-cafe").first()
        if organization is None:
            return
        branch = organization.branches.filter(code="cascade").first()
        case = exception_raise(
            organization=organization,
            kind=ExceptionCase.Kind.REFUND_DRIFT,
            dedup_key="demo:refund_drift:cascade",
            message="Demo: a 1500.00 AMD refund was made after the payout of the Cascade team "
            "was requested; decide whether to deduct it from the next payout.",
            actor=actor,
            branch=branch,
            amount=Decimal("1500.00"),
            currency="AMD",
            details={"demo": True},
        )
        stdout.write(f"exception queue: demo case #{case.pk} ({case.status})")
