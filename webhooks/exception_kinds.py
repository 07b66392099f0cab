"""The exception kinds webhooks raises (registered in ``WebhooksConfig.ready``)."""

from __future__ import annotations

from exceptionqueue.kinds import ExceptionKind

WEBHOOK_DELIVERY_FAILED = ExceptionKind("webhook_delivery_failed", "Webhook delivery failed")

KINDS = (WEBHOOK_DELIVERY_FAILED,)
