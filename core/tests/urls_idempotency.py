"""Test-only views for the idempotency modes a real view can choose."""

from django.urls import path
from rest_framework.response import Response

from core.api.views import PayopsAPIView
from core.models import Branch

calls: list[str | None] = []


class _Base(PayopsAPIView):
    def post(self, request):
        calls.append(request.idempotency_key)
        branch = Branch.objects.create(
            organization=request.organization, code=f"b{len(calls)}", name="x"
        )
        status = int(request.data.get("status", 201))
        return Response({"id": branch.pk, "secret": "whsec_shown_once"}, status=status)


class Atomic(_Base):
    pass


class NotAtomic(_Base):
    idempotency_atomic = False


class NotReplayable(_Base):
    idempotency_replayable = False


urlpatterns = [
    path("atomic/", Atomic.as_view()),
    path("not-atomic/", NotAtomic.as_view()),
    path("not-replayable/", NotReplayable.as_view()),
]
