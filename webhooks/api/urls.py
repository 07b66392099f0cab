from rest_framework.routers import SimpleRouter

from webhooks.api.views import DeliveryViewSet, EndpointViewSet, EventViewSet

router = SimpleRouter()
router.register("webhook-endpoints", EndpointViewSet, basename="webhook-endpoint")
router.register("webhook-events", EventViewSet, basename="webhook-event")
router.register("webhook-deliveries", DeliveryViewSet, basename="webhook-delivery")

urlpatterns = router.urls
