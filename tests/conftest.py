"""Fixtures of the cross-app flows: the webhook receiver on loopback and inline Celery."""

from webhooks.tests.conftest import eager_celery, receiver

__all__ = ["eager_celery", "receiver"]
