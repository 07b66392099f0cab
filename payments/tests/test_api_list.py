"""The payments list's lean path (issue 14): the serializer's JSON from ``.values()`` rows, in a
constant number of queries whatever the page's size."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import Branch
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


def _other_organizations_payments(other_organization, n: int) -> None:
    other_branch = Branch.objects.create(organization=other_organization, code="o", name="O")
    for _ in range(n):
        make_payment(organization=other_organization, branch=other_branch)


def test_cursor_pages_forward_and_back_skip_nothing_and_show_no_other_organisation(
    api, organization, branch, other_organization
):
    other_branch = Branch.objects.create(organization=other_organization, code="o", name="O")
    ours = []
    for _ in range(4):  # the organisations' payments interleave
        ours += [make_payment(organization=organization, branch=branch).pk for _ in range(3)]
        make_payment(organization=other_organization, branch=other_branch)
    expected = sorted(ours, reverse=True)
    seen, pages, url = [], [], "/api/v1/payments/?page_size=5"
    while url:
        body = api.get(url).json()
        pages.append([row["id"] for row in body["results"]])
        seen += pages[-1]
        url = body["next"]
    assert seen == expected
    assert [len(p) for p in pages] == [5, 5, 2]
    # Back from the last page with the previous links: the same pages.
    back, url = [], body["previous"]
    while url:
        body = api.get(url).json()
        back.insert(0, [row["id"] for row in body["results"]])
        url = body["previous"]
    assert back == pages[:-1]


def _plan_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


def test_a_page_is_read_from_the_organisations_index_not_past_other_rows(
    api, organization, branch, other_organization
):
    """BENCHMARKS.md (4): the other organisations' newest rows were read and removed before
    the first of this one (100,000 at 1M). The page orders by (organization_id, id), which only
    the organisation's index gives: no row of another organisation is read."""
    for _ in range(30):
        make_payment(organization=organization, branch=branch)
    _other_organizations_payments(other_organization, 30)  # newer: ahead in id order
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/v1/payments/", {"page_size": 10})
    assert response.status_code == 200
    sql = next(q["sql"] for q in queries.captured_queries if 'FROM "payments_payment"' in q["sql"])
    assert 'ORDER BY "payments_payment"."organization_id" DESC, ' in sql  # then the id
    assert '"payments_payment"."organization_id" = ANY(' in sql
    with connection.cursor() as cursor:
        # A few rows would be read whole, or read by any index and sorted (as cheap, for 60
        # rows); plan them as a big table's are, where neither is.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_incremental_sort = off")
        cursor.execute("ANALYZE payments_payment")
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
        (plan,) = cursor.fetchone()[0]
    nodes = list(_plan_nodes(plan["Plan"]))
    scans = [n for n in nodes if n.get("Relation Name") == "payments_payment"]
    assert [n.get("Index Name") for n in scans] == ["payment_org_id"], plan
    assert not [n for n in nodes if "Sort" in n["Node Type"]], plan
    assert sum(n.get("Rows Removed by Filter", 0) for n in scans) == 0
    assert scans[0]["Actual Rows"] == 11  # the page and the one after it
