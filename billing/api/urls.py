from django.urls import path
from rest_framework.routers import SimpleRouter

from billing.api import views

router = SimpleRouter()
router.register("plans", views.PlanViewSet, basename="billing-plan")
router.register("customers", views.CustomerViewSet, basename="billing-customer")
router.register("subscriptions", views.SubscriptionViewSet, basename="subscription")
router.register("billing-periods", views.BillingPeriodViewSet, basename="billing-period")
router.register("billing-attempts", views.AttemptViewSet, basename="billing-attempt")
router.register("notifications", views.NotificationViewSet, basename="billing-notification")

urlpatterns = [
    path("billing-settings/", views.BillingSettingsView.as_view(), name="billing-settings"),
    *router.urls,
]
