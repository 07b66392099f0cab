"""Fixtures of the reliability suite: the payouts data fixtures and the webhook receiver."""

from payouts.tests.conftest import actor, qr, recipient
from webhooks.tests.conftest import eager_celery, receiver

__all__ = ["actor", "eager_celery", "qr", "receiver", "recipient"]
