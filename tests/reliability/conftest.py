"""Fixtures of the reliability suite: payouts and billing data, the webhook receiver."""

from billing.tests.conftest import clock, gym, plan
from payouts.tests.conftest import actor, qr, recipient
from webhooks.tests.conftest import eager_celery, receiver

__all__ = ["actor", "clock", "eager_celery", "gym", "plan", "qr", "receiver", "recipient"]


def pytest_runtest_setup(item):
    """The long checks (``long``: real servers, storms, faults) run under ``make reliability``
    (PAYOPS_RELIABILITY=1), which CI runs after ``make test``."""
    import os

    import pytest

    if item.get_closest_marker("long") and os.environ.get("PAYOPS_RELIABILITY") != "1":
        pytest.skip("long reliability check: make reliability runs it")
