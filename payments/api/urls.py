from django.urls import path
from rest_framework.routers import SimpleRouter

from payments.api.sandbox import SandboxPaymentOutcomeView
from payments.api.views import PaymentViewSet

router = SimpleRouter()
router.register("payments", PaymentViewSet, basename="payment")

urlpatterns = [
    path(
        "sandbox/payments/<int:pk>/outcome/",
        SandboxPaymentOutcomeView.as_view(),
        name="sandbox-payment-outcome",
    ),
    *router.urls,
]
