"""The API, end to end: request, pay through the sandbox, transfer, cancel inside and outside
the window, no-show, refund, late payment after expiry; each step's audit rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from appointments.models import Appointment, AppointmentEvent, CustomerContext, PaymentRequest
from exceptionqueue.models import ExceptionCase
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


def iso(value: dt.datetime) -> str:
    return value.isoformat()


def book_body(days: float = 3, **extra) -> dict:
    start = (timezone.now() + dt.timedelta(days=days)).replace(microsecond=0)
    return {
        "external_ref": "crm-100",
        "service_id": "svc-filling",
        "specialist_id": "dr-1",
        "branch": "arabkir",
        "starts_at": iso(start),
        "ends_at": iso(start + dt.timedelta(hours=1)),
        "policy": "standard",
        **extra,
    }


@pytest.fixture
def booked(api, clinic_branch, policy):
    def make(days: float = 3, **extra):
        response = api.post("/api/v1/appointments/", book_body(days, **extra), format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    return make


def request_deposit(api, appointment_id, amount="10000.00", minutes=60):
    response = api.post(
        f"/api/v1/appointments/{appointment_id}/payment-requests/",
        {"kind": "deposit", "amount": amount, "currency": "AMD", "expires_in_minutes": minutes},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def pay(api, payment_id, outcome="approved"):
    """The customer pays at the link: the whole sandbox round trip (order, checkout, signed
    callback, status lookup)."""
    from core.actors import system_actor
    from payments.models import Payment
    from payments.services import sandbox_pay

    payment = Payment.objects.get(pk=payment_id)
    return sandbox_pay(payment=payment, outcome=outcome, actor=system_actor("customer"))


def kinds(appointment_id) -> list[str]:
    return list(
        AppointmentEvent.objects.filter(appointment_id=appointment_id)
        .order_by("occurred_at", "pk")
        .values_list("kind", flat=True)
    )


def test_book_request_pay_transfer_keeps_the_request(api, booked):
    appointment = booked(customer={"name": "Ani", "phone": "+37491000000"})
    assert appointment["status"] == "booked"
    assert "customer" not in appointment
    request = request_deposit(api, appointment["id"])
    assert request["status"] == "pending"
    assert request["payment_url"]
    assert request["policy_version"] == 1
    pay(api, request["payment"])
    detail = api.get(f"/api/v1/appointments/{appointment['id']}/").json()
    assert detail["payment_requests"][0]["status"] == "paid"

    start = timezone.now().replace(microsecond=0) + dt.timedelta(days=5)
    response = api.post(
        f"/api/v1/appointments/{appointment['id']}/transfer/",
        {
            "starts_at": iso(start),
            "ends_at": iso(start + dt.timedelta(hours=1)),
            "specialist_id": "dr-2",
            "comment": "customer asked",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "rescheduled"
    assert body["specialist_id"] == "dr-2"
    assert len(body["slots"]) == 2
    assert body["payment_requests"][0]["id"] == request["id"]
    assert body["payment_requests"][0]["order_number"] == request["order_number"]
    assert body["payment_requests"][0]["status"] == "paid"
    assert kinds(appointment["id"]) == ["booked", "request_created", "request_paid", "transferred"]
    transfer = AppointmentEvent.objects.get(appointment_id=appointment["id"], kind="transferred")
    assert transfer.reason == "customer asked"
    assert transfer.actor.api_client is not None
    assert transfer.request_id
    assert transfer.data["from"]["specialist_id"] == "dr-1"
    history = Appointment.history.filter(id=appointment["id"]).order_by("history_id")
    assert [h.history_change_reason for h in history] == ["booked", "customer asked"]
    request_history = PaymentRequest.history.filter(id=request["id"]).order_by("history_id")
    assert [h.history_change_reason for h in request_history] == ["deposit requested", "paid"]
    assert [h.status for h in request_history] == ["pending", "paid"]
    assert WebhookEvent.objects.filter(event_type="appointment.rescheduled").count() == 1
    assert WebhookEvent.objects.filter(event_type="appointment_payment_request.paid").count() == 1


def test_cancel_outside_window_shows_full_refund_path_and_refunds_nothing(api, booked):
    appointment = booked(days=3)
    request = request_deposit(api, appointment["id"])
    pay(api, request["payment"])
    response = api.post(
        f"/api/v1/appointments/{appointment['id']}/cancel/",
        {"reason": "customer is travelling", "by": "customer"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["refund_path"]["within_window"] is False
    assert body["refund_path"]["refundable_amount"] == "10000.00"
    assert body["refund_path"]["policy_version"] == 1
    assert body["payment_requests"][0]["status"] == "paid"  # nothing refunded by itself
    event = AppointmentEvent.objects.get(appointment_id=appointment["id"], kind="cancelled")
    assert (event.reason, event.from_status, event.to_status) == (
        "customer is travelling",
        "booked",
        "cancelled",
    )
    assert event.data["refund_path"]["refundable_amount"] == "10000.00"

    refund = api.post(
        f"/api/v1/appointments/{appointment['id']}/refunds/",
        {"amount": "10000.00", "reason": "cancelled in time"},
        format="json",
    )
    assert refund.status_code == 201, refund.json()
    assert refund.json()["status"] == "succeeded"
    assert PaymentRequest.objects.get(pk=request["id"]).status == "refunded"
    assert kinds(appointment["id"])[-3:] == ["cancelled", "request_refunded", "refund"]
    refund_event = AppointmentEvent.objects.get(appointment_id=appointment["id"], kind="refund")
    assert refund_event.reason == "cancelled in time"
    assert refund_event.actor == api.api_client.user
    assert refund_event.amount == Decimal("10000.00")
    from payments.models import Refund

    assert Refund.objects.get(pk=refund.json()["id"]).reason == "cancelled in time"
    history = Appointment.history.filter(id=appointment["id"]).order_by("history_id")
    assert history.last().history_change_reason == "cancelled by customer: customer is travelling"
    assert history.last().history_user == api.api_client.user
    assert refund_event.data["outside_policy"] is False


def test_cancel_inside_window_allows_half_and_refuses_more_without_override(api, booked):
    appointment = booked(days=0.5)  # 12 hours ahead, window 24 h
    request = request_deposit(api, appointment["id"])
    pay(api, request["payment"])
    body = api.post(
        f"/api/v1/appointments/{appointment['id']}/cancel/",
        {"reason": "late cancel", "by": "customer"},
        format="json",
    ).json()
    assert body["refund_path"]["within_window"] is True
    assert body["refund_path"]["refundable_amount"] == "5000.00"

    url = f"/api/v1/appointments/{appointment['id']}/refunds/"
    above = api.post(url, {"amount": "6000.00", "reason": "goodwill"}, format="json")
    assert above.status_code == 422
    assert above.json()["error"]["code"] == "refund_outside_policy"
    not_allowed = api.post(
        url,
        {"amount": "6000.00", "reason": "goodwill", "override_reason": "regular customer"},
        format="json",
    )
    assert not_allowed.status_code == 422
    assert not_allowed.json()["error"]["code"] == "refund_outside_policy"
    too_much = api.post(url, {"amount": "10000.01", "reason": "x"}, format="json")
    assert too_much.status_code == 422
    assert too_much.json()["error"]["code"] == "refund_exceeds_payment"
    assert not AppointmentEvent.objects.filter(kind="refund").exists()
    assert PaymentRequest.objects.get(pk=request["id"]).status == "paid"

    from django.contrib.auth.models import Permission

    api.api_client.user.user_permissions.add(
        Permission.objects.get(codename="override_refund_policy")
    )
    allowed = api.post(
        url,
        {"amount": "6000.00", "reason": "goodwill", "override_reason": "regular customer"},
        format="json",
    )
    assert allowed.status_code == 201, allowed.json()
    assert PaymentRequest.objects.get(pk=request["id"]).status == "partially_refunded"
    event = AppointmentEvent.objects.get(kind="refund")
    assert event.data["override_reason"] == "regular customer"
    assert event.data["outside_policy"] is True


def test_no_show_then_forfeit(api, booked):
    appointment = booked()
    request = request_deposit(api, appointment["id"])
    pay(api, request["payment"])
    response = api.post(
        f"/api/v1/appointments/{appointment['id']}/no-show/",
        {"comment": "did not come"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["status"] == "no_show"
    assert response.json()["refund_path"]["refundable_amount"] == "0.00"
    event = AppointmentEvent.objects.get(appointment_id=appointment["id"], kind="no_show")
    assert event.reason == "did not come"
    forfeit = api.post(
        f"/api/v1/appointment-payment-requests/{request['id']}/forfeit/",
        {"reason": "no-show policy"},
        format="json",
    )
    assert forfeit.status_code == 200, forfeit.json()
    assert forfeit.json()["status"] == "forfeited"
    assert kinds(appointment["id"])[-2:] == ["no_show", "request_forfeited"]


def test_late_payment_after_expiry_goes_to_manual_review(api, booked):
    appointment = booked()
    request = request_deposit(api, appointment["id"], minutes=30)
    later = timezone.now() + dt.timedelta(minutes=31)
    clock = api.post("/api/v1/sandbox/clock/", {"now": iso(later)}, format="json")
    assert clock.status_code == 200, clock.json()
    assert clock.json()["ran"]["appointment_requests_expired"] == 1
    assert PaymentRequest.objects.get(pk=request["id"]).status == "expired"

    pay(api, request["payment"])  # the customer pays the link late
    late = PaymentRequest.objects.get(pk=request["id"])
    assert late.status == "manual_review"
    case = ExceptionCase.objects.get(kind="late_appointment_payment")
    assert case.dedup_key == f"late_appointment_payment:request:{late.pk}"
    assert kinds(appointment["id"])[-2:] == ["request_expired", "request_manual_review"]
    expired = AppointmentEvent.objects.get(kind="request_expired")
    assert expired.actor == api.api_client.user  # the clock's POST ran the due work
    assert expired.reason == "not paid in time"

    # Decided on the request (accept or refund), never closed with a bare note: a resolve left
    # the money undecided and the accounting period closable.
    for verb in ("resolve", "dismiss"):
        bare = api.post(f"/api/v1/exceptions/{case.pk}/{verb}/", {"note": "ok"}, format="json")
        assert bare.status_code == 409, bare.json()
        assert bare.json()["error"]["code"] == "decided_by_payment_decision"
        assert f"Payment request #{late.pk}" in bare.json()["error"]["message"]
    case.refresh_from_db()
    assert case.status == "open"
    # The desk and the queue's admin link to the decision instead of offering a note.
    from desk.views.pages import case_decision

    label, url = case_decision(None, case)
    assert label == f"Accept or refund payment request #{late.pk}"
    assert url == f"/admin/appointments/paymentrequest/{late.pk}/change/"

    accept = api.post(
        f"/api/v1/appointment-payment-requests/{late.pk}/accept/",
        {"reason": "customer confirmed"},
        format="json",
    )
    assert accept.status_code == 200, accept.json()
    assert accept.json()["status"] == "paid"
    case.refresh_from_db()
    assert case.status == "resolved"


def test_bad_input_has_stable_codes_and_changes_nothing(api, other_api, booked, other_organization):
    diag = api.post(
        "/api/v1/appointments/",
        book_body(diagnosis="caries"),
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-diag",
    )
    assert diag.status_code == 400
    assert diag.json()["error"]["code"] == "unknown_field"
    nested = api.post(
        "/api/v1/appointments/",
        book_body(customer={"name": "A", "notes": "x"}),
        format="json",
    )
    assert nested.json()["error"]["code"] == "unknown_field"
    assert not Appointment.objects.exists()
    assert not CustomerContext.objects.exists()

    start = timezone.now() + dt.timedelta(days=2)
    backwards = api.post(
        "/api/v1/appointments/",
        book_body(starts_at=iso(start), ends_at=iso(start - dt.timedelta(hours=1))),
        format="json",
    )
    assert backwards.status_code == 400
    assert backwards.json()["error"]["code"] == "slot_ends_before_start"

    appointment = booked()
    past = api.post(
        f"/api/v1/appointments/{appointment['id']}/payment-requests/",
        {
            "kind": "deposit",
            "amount": "100.00",
            "currency": "AMD",
            "expires_at": iso(timezone.now() - dt.timedelta(minutes=5)),
        },
        format="json",
    )
    assert past.status_code == 400
    assert past.json()["error"]["code"] == "expiry_in_past"
    assert list(past.json()["error"]["fields"]) == ["expires_at"]
    assert not PaymentRequest.objects.exists()

    foreign = other_api.get(f"/api/v1/appointments/{appointment['id']}/")
    assert foreign.status_code == 404
    foreign_cancel = other_api.post(
        f"/api/v1/appointments/{appointment['id']}/cancel/",
        {"reason": "x", "by": "clinic"},
        format="json",
    )
    assert foreign_cancel.status_code == 404
    foreign_refund = other_api.post(
        f"/api/v1/appointments/{appointment['id']}/refunds/",
        {"amount": "1.00", "reason": "x"},
        format="json",
    )
    assert foreign_refund.status_code == 404
    assert foreign_refund.json()["error"]["code"] == "not_found"
    own_request = request_deposit(api, appointment["id"])
    foreign_forfeit = other_api.post(
        f"/api/v1/appointment-payment-requests/{own_request['id']}/forfeit/",
        {"reason": "x"},
        format="json",
    )
    assert foreign_forfeit.status_code == 404
    assert other_api.get("/api/v1/appointments/").json()["results"] == []

    api.post(
        f"/api/v1/appointments/{appointment['id']}/cancel/",
        {"reason": "clinic closed", "by": "clinic"},
        format="json",
    )
    events_before = AppointmentEvent.objects.count()
    transfer = api.post(
        f"/api/v1/appointments/{appointment['id']}/transfer/",
        {"starts_at": iso(start), "ends_at": iso(start + dt.timedelta(hours=1))},
        format="json",
    )
    assert transfer.status_code == 409
    assert transfer.json()["error"]["code"] == "transition_not_allowed"
    assert AppointmentEvent.objects.count() == events_before
    assert Appointment.objects.get(pk=appointment["id"]).status == "cancelled"


def test_an_unknown_branch_answers_as_everywhere_404_branch_not_found(api):
    response = api.post(
        "/api/v1/appointments/",
        {
            "external_ref": "CRM-X",
            "service_id": "s1",
            "specialist_id": "d1",
            "branch": "nowhere",
            "starts_at": "2031-01-10T10:00:00+04:00",
            "ends_at": "2031-01-10T10:30:00+04:00",
            "policy": "standard",
        },
        format="json",
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "branch_not_found"
