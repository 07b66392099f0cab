from rest_framework.routers import SimpleRouter

from appointments.api import views

router = SimpleRouter()
router.register("cancellation-policies", views.PolicyViewSet, basename="cancellation-policy")
router.register("appointments", views.AppointmentViewSet, basename="appointment")
router.register(
    "appointment-payment-requests", views.PaymentRequestViewSet, basename="appointment-request"
)
router.register(
    "appointment-reconciliations",
    views.ReconciliationViewSet,
    basename="appointment-reconciliation",
)

urlpatterns = router.urls
