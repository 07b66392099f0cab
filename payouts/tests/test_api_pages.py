"""Bounded payout details and lean list pages (issue 14): a payout's payments and lines page by
cursor, list pages are the serializers' JSON read with ``.values()``, in a constant number of
queries whatever the page's size."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from payouts.api import serializers as s
from payouts.api import views
from payouts.models import Payout, PayoutLine
from payouts.tests.factories import paid, refund, request, today


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(views.LineCursorPagination, "page_size", 2)


def follow(api, url):
    """Every result of a cursor-paginated URL, and the number of pages."""
    results, pages = [], 0
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        results += body["results"]
        url, pages = body["next"], pages + 1
    return results, pages


def test_detail_carries_a_bounded_page_of_payments_and_links_the_rest(
    api, recipient, qr, actor, small_pages
):
    day = today(recipient.organization)
    payments = [paid(qr, f"{100 + i}.00") for i in range(5)]
    refund(payments[1], "40.00")
    payout = request(recipient, actor, day)
    detail = api.get(f"/api/v1/payouts/{payout.pk}/").json()
    assert "lines" not in detail  # every line was there twice: now a link
    assert [p["id"] for p in detail["payments"]] == [payments[0].pk, payments[1].pk]
    assert detail["payments"][1]["included_amount"] == "61.00"  # 101.00 - 40.00 refunded
    assert detail["payments_next"].startswith(f"http://testserver/api/v1/payouts/{payout.pk}/")
    rest, pages = follow(api, detail["payments_next"])
    assert [p["id"] for p in rest] == [p.pk for p in payments[2:]]
    assert pages == 2
    lines, _ = follow(api, detail["lines_url"])
    assert [(row["kind"], row["payment"]) for row in lines] == [("payment", p.pk) for p in payments]
    assert all(
        row["payment_status"] == "verified" for row in lines if row["payment"] != payments[1].pk
    )


def test_payments_and_lines_of_another_organisations_payout_do_not_exist(
    api, other_api, recipient, qr, actor
):
    paid(qr, "100.00")
    payout = request(recipient, actor, today(recipient.organization))
    for tail in ("payments/", "lines/", ""):
        assert other_api.get(f"/api/v1/payouts/{payout.pk}/{tail}").status_code == 404


def test_detail_queries_do_not_grow_with_the_payout(api, recipient, qr, actor):
    day = today(recipient.organization)
    paid(qr, "100.00")
    small = request(recipient, actor, day)

    def count(payout_id):
        with CaptureQueriesContext(connection) as queries:
            assert api.get(f"/api/v1/payouts/{payout_id}/").status_code == 200
        return len(queries)

    count(small.pk)  # the first request of the client records its use
    baseline = count(small.pk)
    Payout.objects.filter(pk=small.pk).update(status="cancelled")
    PayoutLine.objects.filter(payout=small).update(active=False)
    for i in range(6):
        paid(qr, f"{10 + i}.00")
    big = request(recipient, actor, day)
    assert big.payment_count == 7
    assert count(big.pk) == baseline


def test_payout_list_is_the_serializers_json_in_constant_queries(api, recipient, qr, actor):
    day = today(recipient.organization)
    paid(qr, "100.00")
    first = request(recipient, actor, day)

    def page():
        with CaptureQueriesContext(connection) as queries:
            response = api.get("/api/v1/payouts/")
        assert response.status_code == 200
        return response.json()["results"], len(queries)

    page()  # the first request of the client records its use
    rows, one = page()
    assert rows == s.PayoutSerializer(Payout.objects.filter(pk=first.pk), many=True).data
    Payout.objects.filter(pk=first.pk).update(status="cancelled")
    PayoutLine.objects.filter(payout=first).update(active=False)
    request(recipient, actor, day)
    rows, two = page()
    assert len(rows) == 2
    assert rows == s.PayoutSerializer(Payout.objects.order_by("-id"), many=True).data
    assert two == one
