from django.urls import path
from rest_framework.routers import SimpleRouter

from core.api.branches import BranchViewSet
from core.api.clock import TestClockView

router = SimpleRouter()
router.register("branches", BranchViewSet, basename="branch")

urlpatterns = [
    path("sandbox/clock/", TestClockView.as_view(), name="sandbox-clock"),
    *router.urls,
]
