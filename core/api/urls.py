from rest_framework.routers import SimpleRouter

from core.api.branches import BranchViewSet

router = SimpleRouter()
router.register("branches", BranchViewSet, basename="branch")

urlpatterns = router.urls
