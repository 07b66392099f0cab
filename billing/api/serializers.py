"""Billing API shapes: strict inputs (unknown fields -> 400 ``unknown_field``), plain outputs."""

from __future__ import annotations

import datetime as dt

from rest_framework import serializers

from billing.models import (
    Attempt,
    BillingPeriod,
    BillingSettings,
    Customer,
    Language,
    Notification,
    Plan,
    Subscription,
)
from billing.services.entitlement import entitlement_block_date
from billing.services.settings import RETRY_REASONS, billing_settings_get
from core import money
from core.api.serializers import AmountField, CurrencyField, StrictSerializer


def _bounded(amount, currency):
    if amount > money.max_amount(currency):
        raise serializers.ValidationError(
            {"amount": [f"{currency} amounts are at most {money.max_amount(currency)}."]}
        )


# -- plans and customers -------------------------------------------------------------------------


class PlanCreateSerializer(StrictSerializer):
    code = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=200)
    amount = AmountField()
    currency = CurrencyField()
    interval = serializers.ChoiceField(choices=Plan.Interval.values)
    interval_count = serializers.IntegerField(min_value=1, max_value=366, default=1)
    trial_days = serializers.IntegerField(min_value=0, max_value=366, default=0)

    def validate(self, attrs):
        _bounded(attrs["amount"], attrs["currency"])
        return attrs


class PlanSerializer(serializers.ModelSerializer):
    class Meta:
        model = Plan
        fields = [
            "id",
            "code",
            "name",
            "amount",
            "currency",
            "interval",
            "interval_count",
            "trial_days",
            "is_active",
            "created_at",
        ]
        read_only_fields = fields


class CustomerCreateSerializer(StrictSerializer):
    """Contact data only: a card number, CVV or expiry is an unknown field (never stored)."""

    external_ref = serializers.CharField(max_length=128)
    name = serializers.CharField(max_length=200)
    language = serializers.ChoiceField(choices=Language.values, default=Language.HY)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    phone = serializers.RegexField(
        r"^\+?[0-9 ()-]{6,32}$", required=False, allow_blank=True, default=""
    )


class CustomerSerializer(serializers.ModelSerializer):
    saved_card = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = [
            "id",
            "external_ref",
            "name",
            "language",
            "email",
            "phone",
            "saved_card",
            "dunning_paused",
            "created_at",
        ]
        read_only_fields = fields

    def get_saved_card(self, customer) -> bool:
        return bool(customer.binding_id)


class DunningSerializer(StrictSerializer):
    paused = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True, required=False, default="")


# -- periods and attempts ------------------------------------------------------------------------


class BillingAttemptSerializer(serializers.ModelSerializer):
    # A plain string in the schema: an enum named "method" would collide with payout methods.
    method = serializers.CharField(read_only=True, help_text="`payment_link` or `saved_card`.")
    payment = serializers.IntegerField(source="payment_id", read_only=True)
    failure_reason = serializers.SerializerMethodField()
    payment_status = serializers.CharField(source="payment.status", read_only=True)

    class Meta:
        model = Attempt
        fields = [
            "id",
            "number",
            "status",
            "method",
            "order_number",
            "payment",
            "payment_status",
            "payment_url",
            "link_expires_at",
            "failure_reason",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_failure_reason(self, attempt) -> dict | None:
        if not attempt.failure_code:
            return None
        return {"code": attempt.failure_code, "action_code": attempt.failure_action_code}


class PeriodSerializer(serializers.ModelSerializer):
    attempts = BillingAttemptSerializer(many=True, read_only=True)
    # A plain string in the schema: an enum named "kind" would collide with the exception kinds.
    kind = serializers.CharField(read_only=True, help_text="`regular` or `proration`.")
    plan = serializers.SlugRelatedField(slug_field="code", read_only=True)
    subscription = serializers.IntegerField(source="subscription_id", read_only=True)
    last_failure_reason = serializers.SerializerMethodField()

    class Meta:
        model = BillingPeriod
        fields = [
            "id",
            "subscription",
            "number",
            "kind",
            "plan",
            "start",
            "end",
            "due_date",
            "shifted_from_day",
            "expected_amount",
            "verified_amount",
            "refunded_amount",
            "currency",
            "status",
            "invoiced_at",
            "pending_at",
            "verified_at",
            "next_retry_at",
            "block_date",
            "reminders_sent",
            "last_failure_reason",
            "attempts",
        ]
        read_only_fields = fields

    def get_last_failure_reason(self, period) -> dict | None:
        if not period.last_failure_code:
            return None
        return {"code": period.last_failure_code, "action_code": period.last_failure_action_code}


class PeriodDecisionSerializer(StrictSerializer):
    decision = serializers.ChoiceField(choices=["retry", "waive"])
    comment = serializers.CharField(allow_blank=True, required=False, default="")


class PeriodRefundSerializer(StrictSerializer):
    amount = AmountField()
    reason = serializers.CharField(max_length=500, allow_blank=True, required=False, default="")


# -- subscriptions -------------------------------------------------------------------------------


class SubscriptionCreateSerializer(StrictSerializer):
    customer = serializers.IntegerField(min_value=1)
    plan = serializers.CharField(max_length=64, help_text="The plan's code (or id).")
    branch = serializers.SlugField(max_length=64)
    start_date = serializers.DateField()
    collection = serializers.ChoiceField(choices=Subscription.Collection.values)
    provider = serializers.CharField(max_length=16, required=False)
    currency = CurrencyField(required=False, help_text="Optional: must be the plan's currency.")


def _entitlement(subscription) -> dict:
    grace = billing_settings_get(organization=subscription.organization).grace_days
    until = subscription.entitlement_until
    block = entitlement_block_date(subscription, grace_days=grace)
    return {
        "active": subscription.entitlement_active,
        "until": until.isoformat() if until else None,
        "source": subscription.entitlement_source or None,
        "block_date": block.isoformat() if block else None,
    }


class EntitlementSerializer(serializers.Serializer):
    active = serializers.BooleanField()
    until = serializers.DateField(allow_null=True)
    source = serializers.ChoiceField(choices=["payment", "trial", "override"], allow_null=True)
    block_date = serializers.DateField(allow_null=True)


class SubscriptionSerializer(serializers.ModelSerializer):
    plan = serializers.SlugRelatedField(slug_field="code", read_only=True)
    pending_plan = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    branch = serializers.SlugRelatedField(slug_field="code", read_only=True)
    customer = serializers.IntegerField(source="customer_id", read_only=True)
    entitlement = serializers.SerializerMethodField()

    class Meta:
        model = Subscription
        fields = [
            "id",
            "status",
            "customer",
            "plan",
            "pending_plan",
            "branch",
            "provider",
            "collection",
            "start_date",
            "billing_anchor",
            "cancel_at_period_end",
            "cancelled_at",
            "paused_at",
            "entitlement",
            "created_at",
        ]
        read_only_fields = fields

    def get_entitlement(self, subscription) -> EntitlementSerializer:
        return _entitlement(subscription)


class SubscriptionDetailSerializer(SubscriptionSerializer):
    periods = PeriodSerializer(many=True, read_only=True)

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "periods"]
        read_only_fields = fields


class CommentSerializer(StrictSerializer):
    comment = serializers.CharField(allow_blank=True, required=False, default="")


class CancelSerializer(CommentSerializer):
    at = serializers.ChoiceField(choices=["now", "period_end"], default="now")


class PlanChangeSerializer(StrictSerializer):
    plan = serializers.CharField(max_length=64)
    effective = serializers.ChoiceField(choices=["now", "period_end"])


class PlanChangeResultSerializer(serializers.Serializer):
    subscription = SubscriptionSerializer()
    proration_period = PeriodSerializer(allow_null=True)


class OverrideSerializer(StrictSerializer):
    until = serializers.DateField()
    reason = serializers.CharField(allow_blank=True, required=False, default="")

    def validate_until(self, value: dt.date) -> dt.date:
        if value.year > 2200:
            raise serializers.ValidationError("Too far in the future.")
        return value


# -- settings and notifications ------------------------------------------------------------------


class BillingSettingsSerializer(StrictSerializer):
    max_attempts = serializers.IntegerField(min_value=1, max_value=20, required=False)
    retry_delays_hours = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=24 * 60),
        required=False,
        max_length=20,
    )
    grace_days = serializers.IntegerField(min_value=0, max_value=365, required=False)
    max_reminders = serializers.IntegerField(min_value=0, max_value=20, required=False)
    retry_reasons = serializers.ListField(
        child=serializers.ChoiceField(choices=list(RETRY_REASONS)), required=False
    )
    link_valid_hours = serializers.IntegerField(min_value=1, max_value=24 * 30, required=False)


class BillingSettingsOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = BillingSettings
        fields = [
            "max_attempts",
            "retry_delays_hours",
            "grace_days",
            "max_reminders",
            "retry_reasons",
            "link_valid_hours",
        ]
        read_only_fields = fields


class NotificationSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id", read_only=True)
    period = serializers.IntegerField(source="period_id", read_only=True)

    class Meta:
        model = Notification
        fields = [
            "id",
            "customer",
            "period",
            "sequence",
            "channel",
            "language",
            "status",
            "subject",
            "created_at",
            "sent_at",
        ]
        read_only_fields = fields
