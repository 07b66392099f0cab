"""The payments list's lean path (issue 14): the serializer's JSON from ``.values()`` rows, in a
constant number of queries whatever the page's size."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from payments.api.serializers import PaymentSerializer
from payments.models import Payment
from payments.tests.factories import make_payment


def page(api, url="/api/v1/payments/", **params):
    with CaptureQueriesContext(connection) as queries:
        response = api.get(url, params)
    assert response.status_code == 200, response.content
    return response.json(), len(queries)


def test_list_rows_are_the_serializers_json(api, organization, branch):
    make_payment(organization=organization, branch=branch, amount="12.30")
    make_payment(organization=organization, branch=branch, amount="99.99", verified=True)
    body, _ = page(api)
    expected = PaymentSerializer(Payment.objects.order_by("-id"), many=True).data
    assert body["results"] == expected
    assert body["results"][0]["verified_at"]  # a date-time formatted as DRF does


def test_list_queries_do_not_grow_with_the_page(api, organization, branch):
    make_payment(organization=organization, branch=branch)
    page(api)  # the first request of the client records its use
    _, one = page(api)
    for _ in range(12):
        make_payment(organization=organization, branch=branch)
    body, many = page(api, page_size=10)
    assert len(body["results"]) == 10
    assert body["next"]
    _, deep = page(api, body["next"])
    assert one == many == deep
