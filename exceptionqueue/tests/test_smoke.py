from decimal import Decimal

from exceptionqueue.models import ExceptionCase
from exceptionqueue.selectors import exception_blocking_exists
from exceptionqueue.services import exception_clear, exception_raise


def test_raise_dedup_clear(organization, branch, system_user):
    a = exception_raise(
        organization=organization,
        kind=ExceptionCase.Kind.REFUND_DRIFT,
        dedup_key="k1",
        message="m",
        actor=system_user,
        branch=branch,
        amount=Decimal("10.00"),
        currency="AMD",
        subject=branch,
    )
    b = exception_raise(
        organization=organization,
        kind="refund_drift",
        dedup_key="k1",
        message="m2",
        actor=system_user,
    )
    assert a.pk == b.pk
    assert b.occurrences == 2
    assert exception_blocking_exists(
        organization=organization, start=a.period_start, end=a.period_end
    )
    c = exception_clear(organization=organization, dedup_key="k1", actor=system_user, note="ok")
    assert c.status == ExceptionCase.Status.RESOLVED
    assert not exception_blocking_exists(
        organization=organization, start=a.period_start, end=a.period_end
    )
