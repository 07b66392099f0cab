from rest_framework.routers import SimpleRouter

from exceptionqueue.api.views import ExceptionCaseViewSet

router = SimpleRouter()
router.register("exceptions", ExceptionCaseViewSet, basename="exception")

urlpatterns = router.urls
