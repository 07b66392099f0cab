"""``/api/v1/branches/``: the organisation's branches."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from core import services
from core.api.serializers import StrictModelSerializer
from core.api.views import PayopsViewSet
from core.errors import CoreError
from core.models import Branch


class BranchSerializer(StrictModelSerializer):
    code = serializers.SlugField(max_length=64)

    class Meta:
        model = Branch
        fields = ["id", "code", "name", "created_at"]
        read_only_fields = ["id", "created_at"]


class BranchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PayopsViewSet):
    queryset = Branch.objects.all()
    serializer_class = BranchSerializer
    filterset_fields = ["code"]
    error_codes = {"create": [CoreError.DUPLICATE_BRANCH]}

    @extend_schema(responses={201: BranchSerializer})
    def create(self, request):
        serializer = BranchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        branch = services.branch_create(
            organization=request.organization, actor=request.user, **serializer.validated_data
        )
        return Response(BranchSerializer(branch).data, status=status.HTTP_201_CREATED)
