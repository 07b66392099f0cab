"""``/api/v1/sandbox/clock/``: the organisation's test clock (sandbox only), as Stripe's."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from core import clock
from core.api.serializers import StrictSerializer
from core.api.views import PayopsAPIView
from core.duework import due_work_run
from core.errors import CoreError


class ClockSerializer(StrictSerializer):
    now = serializers.DateTimeField(
        help_text=(
            "ISO 8601 with its UTC offset; never before the clock's current time (409 "
            "clock_backwards), and at most `furthest` ahead of it in one move (400 "
            "clock_too_far): two intervals of the shortest plan among the organisation's "
            "subscriptions that are live or suspended, as Stripe's test clocks."
        )
    )

    def validate_now(self, value):
        raw = parse_datetime(str(self.initial_data.get("now", "")).replace("Z", "+00:00"))
        if raw is None or raw.tzinfo is None:
            raise serializers.ValidationError(clock.NEEDS_OFFSET)
        return value


_ClockAnswer = inline_serializer(
    name="TestClock",
    fields={
        "now": serializers.DateTimeField(),
        "frozen": serializers.BooleanField(help_text="True while a test clock is set."),
        "furthest": serializers.DateTimeField(
            allow_null=True,
            required=False,
            help_text="GET: the furthest moment one POST may move the clock to; null: no limit.",
        ),
        "ran": serializers.DictField(child=serializers.IntegerField(), required=False),
    },
)


class TestClockView(PayopsAPIView):
    """GET: the clock; POST ``{now}``: move it forward and run the due work as of ``now``;
    DELETE: back to real time. 404 when the sandbox is off.

    One POST moves the clock at most two intervals of the shortest subscription plan ahead
    (``core.clock.test_clock_advance``; GET answers that moment as ``furthest``): further is
    400 ``clock_too_far`` with a field error on ``now`` naming the furthest allowed moment,
    and neither the clock nor any due work has moved."""

    __test__ = False
    error_codes = [CoreError.CLOCK_BACKWARDS, CoreError.CLOCK_TOO_FAR]

    def initial(self, request, *args, **kwargs):
        if not settings.PAYOPS_SANDBOX:
            raise Http404
        super().initial(request, *args, **kwargs)

    @extend_schema(responses={200: _ClockAnswer})
    def get(self, request):
        now = clock.clock_now(request.organization)
        horizon = clock.clock_furthest(organization=request.organization, now=now)
        return Response(
            {
                "now": now,
                "frozen": clock.test_clock_get(organization=request.organization) is not None,
                "furthest": horizon.until if horizon else None,
            }
        )

    @extend_schema(request=ClockSerializer, responses={200: _ClockAnswer})
    def post(self, request):
        serializer = ClockSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        moved = clock.test_clock_advance(
            organization=request.organization,
            now=serializer.validated_data["now"],
            actor=request.user,
        )
        ran = due_work_run(organization=request.organization, now=moved.now, actor=request.user)
        return Response({"now": moved.now, "frozen": True, "ran": ran})

    @extend_schema(responses={204: None})
    def delete(self, request):
        clock.test_clock_delete(organization=request.organization, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
