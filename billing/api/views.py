"""Billing API: plans, customers, subscriptions, billing-periods, attempts, billing-settings,
notifications. Views check the shape of the input and call one service or selector."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from billing import selectors, services
from billing.api import serializers as s
from billing.errors import BillingError
from billing.models import Plan
from core.api.views import PayopsAPIView, PayopsViewSet
from core.errors import CoreError
from core.selectors import branch_get_by_code
from payments.errors import PaymentError


def _client_key(request) -> str | None:
    if not getattr(request, "idempotency_key", None):
        return None
    return f"{request.api_client.pk}:{request.idempotency_key}"


class PlanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PayopsViewSet):
    serializer_class = s.PlanSerializer
    queryset = Plan.objects.all()
    filterset_fields = ["code", "currency", "interval", "is_active"]
    error_codes = [BillingError.DUPLICATE_PLAN]

    @extend_schema(request=s.PlanCreateSerializer, responses={201: s.PlanSerializer})
    def create(self, request):
        data = s.PlanCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        plan = services.plan_create(
            organization=request.organization, actor=request.user, **data.validated_data
        )
        return Response(s.PlanSerializer(plan).data, status=status.HTTP_201_CREATED)


class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PayopsViewSet):
    serializer_class = s.CustomerSerializer
    filterset_fields = ["external_ref", "language", "dunning_paused"]
    error_codes = [BillingError.DUPLICATE_CUSTOMER, CoreError.REASON_REQUIRED]

    def get_queryset(self):
        from billing.models import Customer

        return self.scope(Customer.objects.all())

    @extend_schema(request=s.CustomerCreateSerializer, responses={201: s.CustomerSerializer})
    def create(self, request):
        data = s.CustomerCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = services.customer_create(
            organization=request.organization, actor=request.user, **data.validated_data
        )
        return Response(s.CustomerSerializer(customer).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.DunningSerializer, responses={200: s.CustomerSerializer})
    @action(detail=True, methods=["post"], url_path="dunning")
    def dunning(self, request, pk=None):
        """Pause (``paused: true``) or resume the customer's reminders, with a reason."""
        customer = self.get_object()
        data = s.DunningSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = services.customer_dunning_set(
            customer=customer,
            paused=data.validated_data["paused"],
            reason=data.validated_data["reason"],
            actor=request.user,
        )
        return Response(s.CustomerSerializer(customer).data)


class SubscriptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PayopsViewSet):
    serializer_class = s.SubscriptionSerializer
    filterset_fields = ["status", "customer", "collection"]
    error_codes = {
        "create": [
            BillingError.CUSTOMER_NOT_FOUND,
            BillingError.PLAN_NOT_FOUND,
            PaymentError.BRANCH_NOT_FOUND,
            PaymentError.CURRENCY_MISMATCH,
            BillingError.TOKENS_NOT_SUPPORTED,
            BillingError.PLAN_INACTIVE,
            PaymentError.UNKNOWN_PROVIDER,
            BillingError.START_DATE_OUT_OF_RANGE,
        ],
        "pause": [CoreError.TRANSITION_NOT_ALLOWED, BillingError.SUBSCRIPTION_CANCELLED],
        "resume": [CoreError.TRANSITION_NOT_ALLOWED, BillingError.SUBSCRIPTION_CANCELLED],
        "cancel": [CoreError.TRANSITION_NOT_ALLOWED, BillingError.SUBSCRIPTION_CANCELLED],
        "plan_changes": [
            BillingError.PLAN_NOT_FOUND,
            BillingError.SAME_PLAN,
            PaymentError.CURRENCY_MISMATCH,
            BillingError.DOWNGRADE_NOT_NOW,
            BillingError.INTERVAL_MISMATCH,
            BillingError.SUBSCRIPTION_CANCELLED,
        ],
        "entitlement_overrides": [CoreError.REASON_REQUIRED, BillingError.SUBSCRIPTION_CANCELLED],
    }

    @property
    def idempotency_atomic(self) -> bool:
        # An upgrade bills its proration at once through the gateway: no open transaction.
        return self.action != "plan_changes"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            from billing.models import Subscription

            return Subscription.objects.none()
        if self.action == "retrieve":
            return selectors.subscription_detail(organization=self.request.organization)
        return selectors.subscription_list(organization=self.request.organization)

    def get_serializer_class(self):
        return (
            s.SubscriptionDetailSerializer
            if self.action == "retrieve"
            else s.SubscriptionSerializer
        )

    def _detail(self, subscription, code=status.HTTP_200_OK) -> Response:
        fresh = selectors.subscription_detail(organization=self.request.organization).get(
            pk=subscription.pk
        )
        return Response(s.SubscriptionDetailSerializer(fresh).data, status=code)

    @extend_schema(
        request=s.SubscriptionCreateSerializer, responses={201: s.SubscriptionDetailSerializer}
    )
    def create(self, request):
        data = s.SubscriptionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        organization = request.organization
        customer = selectors.customer_get(organization=organization, pk=values["customer"])
        if customer is None:
            raise BillingError.CUSTOMER_NOT_FOUND.error(fields={"customer": ["No such customer."]})
        plan = selectors.plan_get(organization=organization, code_or_id=values["plan"])
        if plan is None:
            raise BillingError.PLAN_NOT_FOUND.error(fields={"plan": ["No such plan."]})
        branch = branch_get_by_code(organization=organization, code=values["branch"])
        if branch is None:
            raise PaymentError.BRANCH_NOT_FOUND.error(
                "No such branch in this organisation.", fields={"branch": ["No such branch."]}
            )
        subscription = services.subscription_create(
            organization=organization,
            customer=customer,
            plan=plan,
            branch=branch,
            start_date=values["start_date"],
            collection=values["collection"],
            provider=values.get("provider"),
            currency=values.get("currency"),
            actor=request.user,
        )
        return self._detail(subscription, status.HTTP_201_CREATED)

    @extend_schema(request=s.CommentSerializer, responses={200: s.SubscriptionDetailSerializer})
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        data = s.CommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = services.subscription_pause(
            subscription=self.get_object(), actor=request.user, **data.validated_data
        )
        return self._detail(subscription)

    @extend_schema(request=s.CommentSerializer, responses={200: s.SubscriptionDetailSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        data = s.CommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = services.subscription_resume(
            subscription=self.get_object(), actor=request.user, **data.validated_data
        )
        return self._detail(subscription)

    @extend_schema(request=s.CancelSerializer, responses={200: s.SubscriptionDetailSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        data = s.CancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = services.subscription_cancel(
            subscription=self.get_object(), actor=request.user, **data.validated_data
        )
        return self._detail(subscription)

    @extend_schema(request=s.PlanChangeSerializer, responses={201: s.PlanChangeResultSerializer})
    @action(detail=True, methods=["post"], url_path="plan-changes")
    def plan_changes(self, request, pk=None):
        """``now``: an upgrade, its prorated difference billed at once (``proration_period``);
        ``period_end``: the plan of the next period (a downgrade)."""
        subscription = self.get_object()
        data = s.PlanChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        plan = selectors.plan_get(
            organization=request.organization, code_or_id=data.validated_data["plan"]
        )
        if plan is None:
            raise BillingError.PLAN_NOT_FOUND.error(fields={"plan": ["No such plan."]})
        subscription, proration = services.subscription_change_plan(
            subscription=subscription,
            plan=plan,
            effective=data.validated_data["effective"],
            actor=request.user,
        )
        subscription = selectors.subscription_list(organization=request.organization).get(
            pk=subscription.pk
        )
        body = {
            "subscription": s.SubscriptionSerializer(subscription).data,
            "proration_period": s.PeriodSerializer(proration).data if proration else None,
        }
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.OverrideSerializer, responses={201: s.SubscriptionDetailSerializer})
    @action(detail=True, methods=["post"], url_path="entitlement-overrides")
    def entitlement_overrides(self, request, pk=None):
        subscription = self.get_object()
        data = s.OverrideSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = services.entitlement_override(
            subscription=subscription, actor=request.user, **data.validated_data
        )
        return self._detail(subscription, status.HTTP_201_CREATED)


class BillingPeriodViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PayopsViewSet):
    serializer_class = s.PeriodSerializer
    filterset_fields = ["subscription", "status"]
    idempotency_atomic = False  # decisions and refunds call the gateway
    error_codes = {
        "decision": [BillingError.PERIOD_NOT_IN_REVIEW, CoreError.REASON_REQUIRED],
        "refunds": [BillingError.PERIOD_NOT_PAID, BillingError.REFUND_EXCEEDS_PERIOD],
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            from billing.models import BillingPeriod

            return BillingPeriod.objects.none()
        return selectors.period_list(organization=self.request.organization)

    @extend_schema(request=s.PeriodDecisionSerializer, responses={200: s.PeriodSerializer})
    @action(detail=True, methods=["post"])
    def decision(self, request, pk=None):
        """Decide a period in manual review: ``retry`` (a new attempt now) or ``waive``."""
        period = self.get_object()
        data = s.PeriodDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        period = services.period_decide(period=period, actor=request.user, **data.validated_data)
        return Response(s.PeriodSerializer(self.get_queryset().get(pk=period.pk)).data)

    @extend_schema(request=s.PeriodRefundSerializer, responses={201: None})
    @action(detail=True, methods=["post"])
    def refunds(self, request, pk=None):
        """Refund part of the period's verified payment (a payments refund, its own event)."""
        from payments.api.serializers import RefundSerializer

        period = self.get_object()
        data = s.PeriodRefundSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        refund = services.period_refund(
            period=period,
            amount=data.validated_data["amount"],
            reason=data.validated_data["reason"],
            actor=request.user,
            idempotency_key=_client_key(request),
        )
        return Response(RefundSerializer(refund).data, status=status.HTTP_201_CREATED)


class AttemptViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PayopsViewSet):
    serializer_class = s.BillingAttemptSerializer
    filterset_fields = ["period", "subscription", "status"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            from billing.models import Attempt

            return Attempt.objects.none()
        return selectors.attempt_list(organization=self.request.organization)


class NotificationViewSet(mixins.ListModelMixin, PayopsViewSet):
    serializer_class = s.NotificationSerializer
    filterset_fields = ["customer", "period", "channel", "status"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            from billing.models import Notification

            return Notification.objects.none()
        return selectors.notification_list(organization=self.request.organization)


class BillingSettingsView(PayopsAPIView):
    serializer_class = s.BillingSettingsOutSerializer
    error_codes = [BillingError.RETRY_DELAYS_TOO_LONG]

    @extend_schema(responses={200: s.BillingSettingsOutSerializer})
    def get(self, request):
        settings = services.billing_settings_get(organization=request.organization)
        return Response(s.BillingSettingsOutSerializer(settings).data)

    @extend_schema(
        request=s.BillingSettingsSerializer, responses={200: s.BillingSettingsOutSerializer}
    )
    def patch(self, request):
        data = s.BillingSettingsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        settings = services.billing_settings_update(
            organization=request.organization, actor=request.user, **data.validated_data
        )
        return Response(s.BillingSettingsOutSerializer(settings).data)
