"""GET /api/v1/payments/ (filters, scoping), GET payments/{id}/, POST payments/{id}/refunds/."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from core.models import Branch
from payments import hooks, services
from payments.models import Payment
from payments.tests.conftest import decide, registered
from payments.tests.factories import make_payment


def verify(payment, user, when: datetime | None = None):
    payment = services.payment_verify_manually(
        payment=payment, actor=user, comment="test", reference="T"
    )
    if when is not None:
        Payment.objects.filter(pk=payment.pk).update(verified_at=when)
    return payment


@pytest.fixture
def cascade(organization):
    return Branch.objects.create(organization=organization, code="cascade", name="Cascade")


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_list_and_filters(api, organization, branch, cascade, system_user):
    tz = organization.tz
    a = verify(
        make_payment(organization=organization, branch=branch),
        system_user,
        datetime(2026, 3, 1, 10, tzinfo=tz),
    )
    b = verify(
        make_payment(organization=organization, branch=cascade, currency="USD", amount="20.00"),
        system_user,
        datetime(2026, 3, 2, 23, 30, tzinfo=tz),
    )
    c = make_payment(organization=organization, branch=branch)
    assert ids(api.get("/api/v1/payments/")) == [c.pk, b.pk, a.pk]
    assert ids(api.get("/api/v1/payments/", {"status": "verified"})) == [b.pk, a.pk]
    assert ids(api.get("/api/v1/payments/", {"status": "pending,declined"})) == [c.pk]
    assert ids(api.get("/api/v1/payments/", {"branch": "cascade"})) == [b.pk]
    assert ids(api.get("/api/v1/payments/", {"currency": "USD"})) == [b.pk]
    assert ids(api.get("/api/v1/payments/", {"verified_from": "2026-03-02"})) == [b.pk]
    assert ids(api.get("/api/v1/payments/", {"verified_to": "2026-03-01"})) == [a.pk]
    # dates are whole days in the organisation's time zone (23:30 Yerevan is still 2 March)
    assert ids(
        api.get("/api/v1/payments/", {"verified_from": "2026-03-02", "verified_to": "2026-03-02"})
    ) == [b.pk]
    assert ids(api.get("/api/v1/payments/", {"verified_from": "2026-03-01T11:00:00+04:00"})) == [
        b.pk
    ]
    row = api.get(f"/api/v1/payments/{b.pk}/").json()
    assert row["amount"] == "20.00"
    assert row["currency"] == "USD"
    assert row["branch"] == "cascade"
    assert row["status"] == "verified"
    assert row["provider"] == "sandbox"


def test_bad_filter_values_are_400(api):
    for params in ({"status": "paid"}, {"currency": "XXX"}, {"verified_from": "yesterday"}):
        response = api.get("/api/v1/payments/", params)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid"


def test_registered_domain_filter(api, organization, branch):
    small = make_payment(organization=organization, branch=branch, amount="5.00")
    make_payment(organization=organization, branch=branch, amount="5000.00")

    def below(queryset, value):
        return queryset.filter(amount__lt=Decimal(value))

    hooks.register_payment_filter("amount_below", below, "Amount below this.")
    try:
        assert ids(api.get("/api/v1/payments/", {"amount_below": "10"})) == [small.pk]
    finally:
        hooks._filters.pop("amount_below", None)


def test_other_organisations_payments_do_not_exist(api, other_api, organization, branch):
    payment = make_payment(organization=organization, branch=branch)
    assert other_api.get(f"/api/v1/payments/{payment.pk}/").status_code == 404
    assert ids(other_api.get("/api/v1/payments/")) == []
    response = other_api.post(
        f"/api/v1/payments/{payment.pk}/refunds/", {"amount": "1.00", "reason": "x"}, format="json"
    )
    assert response.status_code == 404
    assert api.get("/api/v1/payments/abc/").status_code == 404


def test_payment_detail_has_refunds_and_audit_trail(api, payment, system_user):
    payment, order = registered(payment, system_user)
    decide(order)
    services.payment_check_status(payment=payment, actor=system_user)
    response = api.post(
        f"/api/v1/payments/{payment.pk}/refunds/",
        {"amount": "100.00", "reason": "wrong order"},
        format="json",
    )
    assert response.status_code == 201, response.content
    refund = response.json()
    assert refund["amount"] == "100.00"
    assert refund["currency"] == "AMD"
    assert refund["status"] == "succeeded"
    assert refund["payment"] == payment.pk
    detail = api.get(f"/api/v1/payments/{payment.pk}/").json()
    assert detail["status"] == "partially_refunded"
    assert detail["refunded_amount"] == "100.00"
    assert [r["id"] for r in detail["refunds"]] == [refund["id"]]
    assert [e["kind"] for e in detail["events"]] == [
        "created",
        "order_registered",
        "verified",
        "refund_requested",
        "refund_succeeded",
    ]
    assert detail["events"][-1]["actor"].startswith("api:")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"amount": "1500.01", "reason": "x"}, 422, "refund_exceeds_payment"),
        ({"amount": "0", "reason": "x"}, 400, "invalid"),
        ({"amount": "-5", "reason": "x"}, 400, "invalid"),
        ({"amount": "1.001", "reason": "x"}, 400, "invalid"),
        ({"amount": "10.00"}, 400, "invalid"),
        ({"amount": "10.00", "reason": "x", "currency": "AMD"}, 400, "unknown_field"),
    ],
)
def test_refund_validation(api, payment, system_user, body, status, code):
    verify(payment, system_user)
    response = api.post(f"/api/v1/payments/{payment.pk}/refunds/", body, format="json")
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code


def test_refund_of_a_pending_payment_is_409(api, payment):
    response = api.post(
        f"/api/v1/payments/{payment.pk}/refunds/", {"amount": "1.00", "reason": "x"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "payment_not_refundable"


def test_schema_documents_the_filters(client, db):
    schema = client.get("/api/schema/?format=json").json()
    params = {p["name"] for p in schema["paths"]["/api/v1/payments/"]["get"]["parameters"]}
    assert {"status", "branch", "currency", "verified_from", "verified_to"} <= params


def test_list_needs_a_token(client, db):
    assert client.get("/api/v1/payments/").status_code == 401


def test_a_registered_filter_can_refuse_a_bad_value_with_400(api):
    from django.core.exceptions import ValidationError

    def only_digits(queryset, value):
        if not value.isdigit():
            raise ValidationError("Must be a number.")
        return queryset

    def raises_value_error(queryset, value):
        raise ValueError("Not a known thing.")

    hooks.register_payment_filter("digits", only_digits, "test")
    hooks.register_payment_filter("thing", raises_value_error, "test")
    try:
        bad = api.get("/api/v1/payments/", {"digits": "x"})
        assert bad.status_code == 400
        body = bad.json()
        assert body["error"]["code"] == "invalid"
        assert "digits" in str(body)
        assert api.get("/api/v1/payments/", {"digits": "12"}).status_code == 200
        other = api.get("/api/v1/payments/", {"thing": "y"})
        assert other.status_code == 400
        assert "Not a known thing." in str(other.json())
    finally:
        hooks._filters.pop("digits", None)
        hooks._filters.pop("thing", None)
