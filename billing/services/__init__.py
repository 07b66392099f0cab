"""Billing writes, one module per concept; the public names are re-exported here."""

from billing.services.attempts import attempt_make, attempt_send
from billing.services.customers import customer_create, customer_dunning_set, plan_create
from billing.services.due import billing_due_work
from billing.services.dunning import notification_send, notifications_send_queued
from billing.services.entitlement import entitlement_override, entitlement_refresh
from billing.services.outcomes import on_payment_change
from billing.services.periods import periods_extend
from billing.services.plan_changes import proration_amount, subscription_change_plan
from billing.services.refunds import period_refund
from billing.services.review import period_decide
from billing.services.settings import billing_settings_get, billing_settings_update
from billing.services.subscriptions import (
    subscription_cancel,
    subscription_create,
    subscription_pause,
    subscription_resume,
)

__all__ = [
    "attempt_make",
    "attempt_send",
    "billing_due_work",
    "billing_settings_get",
    "billing_settings_update",
    "customer_create",
    "customer_dunning_set",
    "entitlement_override",
    "entitlement_refresh",
    "notification_send",
    "notifications_send_queued",
    "on_payment_change",
    "period_decide",
    "period_refund",
    "periods_extend",
    "plan_create",
    "proration_amount",
    "subscription_cancel",
    "subscription_change_plan",
    "subscription_create",
    "subscription_pause",
    "subscription_resume",
]
