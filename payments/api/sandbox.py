"""``POST /api/v1/sandbox/payments/{id}/outcome/``: the sandbox gateway decides a payment."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from core.api.serializers import StrictSerializer
from core.api.views import PayopsAPIView
from payments import sandbox
from payments.api.serializers import PaymentSerializer
from payments.errors import PaymentError
from payments.models import Payment


class OutcomeSerializer(StrictSerializer):
    outcome = serializers.ChoiceField(
        choices=list(sandbox.OUTCOMES),
        help_text="approved; declined (a hard decline, actionCode 100); insufficient_funds "
        "(116); technical_error (909, a processing fault).",
    )


class SandboxPaymentOutcomeView(PayopsAPIView):
    error_codes = [PaymentError.NOT_A_SANDBOX_PAYMENT, PaymentError.SANDBOX_DISABLED]
    """Take the payment's order through the sandbox gateway with this outcome (any purpose);
    an order payops already expired can still be paid this way. 404 when the sandbox is off."""

    serializer_class = OutcomeSerializer
    # The round trip goes through the gateway: no transaction may stay open across it.
    idempotency_atomic = False

    def initial(self, request, *args, **kwargs):
        if not settings.PAYOPS_SANDBOX:
            raise Http404
        super().initial(request, *args, **kwargs)

    @extend_schema(
        request=OutcomeSerializer,
        responses={200: PaymentSerializer},
    )
    def post(self, request, pk: int):
        payment = (
            Payment.objects.filter(organization=request.organization, pk=pk)
            .select_related("organization", "branch")
            .first()
        )
        if payment is None:
            raise Http404
        data = OutcomeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if payment.provider != Payment.Provider.SANDBOX:
            raise PaymentError.NOT_A_SANDBOX_PAYMENT.error(
                "Only payments at the sandbox gateway can be decided here."
            )
        decided = sandbox.outcome_apply(
            payment=payment, outcome=data.validated_data["outcome"], actor=request.user
        )
        return Response(PaymentSerializer(decided or payment).data)
