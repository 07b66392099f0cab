"""The exception kinds webhooks raises (registered in ``WebhooksConfig.ready``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from exceptionqueue.kinds import ExceptionKind

WEBHOOK_DELIVERY_FAILED = ExceptionKind("webhook_delivery_failed", _("Webhook delivery failed"))

KINDS = (WEBHOOK_DELIVERY_FAILED,)
