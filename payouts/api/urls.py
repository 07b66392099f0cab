from django.urls import path
from rest_framework.routers import SimpleRouter

from payouts.api import views

router = SimpleRouter()
router.register("recipients", views.RecipientViewSet, basename="payout-recipient")
router.register("qr-codes", views.QrCodeViewSet, basename="qr-code")
router.register("payouts", views.PayoutViewSet, basename="payout")
router.register("payout-periods", views.PayoutPeriodViewSet, basename="payout-period")

urlpatterns = [
    path("sandbox/qr-payments/", views.SandboxQrPaymentView.as_view(), name="sandbox-qr-payment"),
    *router.urls,
]
