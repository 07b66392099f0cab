"""Every list endpoint refuses a malformed integer or boolean query value with 400 ``invalid``
naming the parameter: never a 500, never a filter silently dropped (``maybe`` read as "no
filter", ``1.5`` read as 1, an id beyond bigint read as "no row").

The endpoints and their parameters are read from the published OpenAPI schema, so a new list or
a new filter is in this matrix at once: each integer parameter (ids, foreign keys, versions,
``page_size``) and each boolean one gets the values below.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import django_filters
import pytest
from django.http import QueryDict
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.plumbing import _load_enum_name_overrides
from rest_framework.exceptions import ValidationError

from core.actors import system_actor
from core.api.filters import checked_values
from payouts.models import Payout
from reconciliation import services as reconciliation_services
from reconciliation.tests.factories import completed_payout

pytestmark = pytest.mark.postgres

BAD_INTEGERS = [
    "abc",
    "1.5",
    "1e3",
    "0x10",
    "½",
    "99999999999999999999",
    "-99999999999999999999",
    "9223372036854775808",
]
BAD_BOOLEANS = ["maybe", "yes", "2", "truth", "nul"]
BAD_PAGE_SIZES = ["0", "-1", "-50"]
MAX_PAGE_SIZE = 200  # documented on every list's page_size


def _document() -> dict:
    """The schema, built at collection. drf-spectacular caches its enum names' choices per
    language on first use; built here, before a test module registers its sample exception
    kinds, that cache made the whole-schema test (core) see the kinds' enum as unknown and warn.
    So the cache is dropped again."""
    try:
        return SchemaGenerator().get_schema(request=None, public=True)
    finally:
        _load_enum_name_overrides.cache_clear()


DOCUMENT = _document()


def _kind(schema: dict) -> str | None:
    kind = schema.get("type")
    if kind == "array":
        kind = _kind(schema.get("items", {}))
    return kind if kind in {"integer", "number", "boolean"} else None


def _list_parameters() -> list[tuple[str, dict]]:
    found = []
    for path, operations in sorted(DOCUMENT["paths"].items()):
        get = operations.get("get")
        if not get or not get["operationId"].endswith("_list"):
            continue
        for parameter in get.get("parameters", []):
            if parameter["in"] == "query" and _kind(parameter["schema"]):
                found.append((path, parameter))
    return found


LIST_PARAMETERS = _list_parameters()


def _cases():
    for path, parameter in LIST_PARAMETERS:
        name, schema = parameter["name"], parameter["schema"]
        kind = _kind(schema)
        values = BAD_BOOLEANS if kind == "boolean" else list(BAD_INTEGERS)
        if name == "page_size":
            values += [*BAD_PAGE_SIZES, str(MAX_PAGE_SIZE + 1)]
        for value in values:
            yield pytest.param(path, name, value, id=f"{path}?{name}={value}")


@pytest.fixture
def path_ids(organization, branch):
    """The row each list under a resource is read for (a new one fails here until named)."""
    actor = system_actor("tests")

    def make(template: str) -> str:
        if "{" not in template:
            return template
        if template.startswith("/api/v1/payouts/{id}/"):
            pk = completed_payout(organization, branch, "100.00", reference="BANK-1").pk
        elif template.startswith("/api/v1/reconciliation-runs/{id}/"):
            day = dt.date(2026, 10, 15)
            pk = reconciliation_services.reconciliation_run(
                organization=organization, start=day, end=day, actor=actor
            ).pk
        else:
            pytest.fail(f"name the row {template} is read for in path_ids")
        return template.replace("{id}", str(pk))

    return make


def test_the_matrix_covers_the_lists_and_their_filters():
    """The walk finds what it is meant to: integer, boolean and page size parameters."""
    names = {(path, p["name"]) for path, p in LIST_PARAMETERS}
    assert ("/api/v1/payouts/", "recipient") in names
    assert ("/api/v1/payouts/", "accounting_period") in names
    assert ("/api/v1/qr-codes/", "is_active") in names
    assert ("/api/v1/exceptions/", "blocking") in names
    assert ("/api/v1/payments/", "recipient") in names
    assert ("/api/v1/webhook-deliveries/", "endpoint") in names
    assert ("/api/v1/cancellation-policies/", "version") in names
    lists = {path for path, _ in LIST_PARAMETERS}
    assert len(lists) >= 25
    assert all((path, "page_size") in names for path in lists)


def test_integer_filters_and_page_size_are_documented_as_integers():
    for path, parameter in LIST_PARAMETERS:
        schema = parameter["schema"]
        if _kind(schema) == "number":
            pytest.fail(f"{path}?{parameter['name']} is a whole number: document it as integer")
        if parameter["name"] == "page_size":
            assert schema["minimum"] == 1, path
            assert schema["maximum"] == MAX_PAGE_SIZE, path
            assert str(MAX_PAGE_SIZE) in parameter["description"], path


@pytest.mark.parametrize(("path", "name", "value"), list(_cases()))
def test_a_malformed_value_is_400_naming_the_parameter(api, path_ids, path, name, value):
    response = api.get(path_ids(path), {name: value})
    assert response.status_code == 400, (response.status_code, response.content[:300])
    error = response.json()["error"]
    assert error["code"] == "invalid", error
    assert name in error["fields"], error


@pytest.mark.parametrize(
    ("path", "name"),
    [
        (path, p["name"])
        for path, p in LIST_PARAMETERS
        if _kind(p["schema"]) == "integer" and p["name"] != "page_size"
    ],
)
def test_a_bad_value_among_good_ones_is_refused_too(api, path_ids, path, name):
    """A repeated parameter is checked in every value, not only the one the filter reads."""
    response = api.get(f"{path_ids(path)}?{name}=abc&{name}=1")
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert name in response.json()["error"]["fields"]


@pytest.mark.parametrize(("path", "name"), [(p, q["name"]) for p, q in LIST_PARAMETERS])
@pytest.mark.parametrize("good", ["valid", "empty"])
def test_well_formed_values_still_filter(api, path_ids, path, name, good):
    """The checks refuse only what is malformed: whole numbers in range, true/false, an empty
    value (no filter) are answered 200; a foreign key's id of no row of the organisation is the
    one well-formed value refused (django-filter's "Select a valid choice")."""
    kind = _kind(next(p["schema"] for q, p in LIST_PARAMETERS if q == path and p["name"] == name))
    if good == "empty":
        value = ""
    elif kind == "boolean":
        value = "true"
    elif name == "page_size":
        value = str(MAX_PAGE_SIZE)
    else:
        value = "9223372036854775807"
    response = api.get(path_ids(path), {name: value})
    if response.status_code == 400 and good == "valid" and kind == "integer":
        assert "valid choice" in response.json()["error"]["fields"][name][0], response.content
    else:
        assert response.status_code == 200, (response.status_code, response.content[:300])


def test_another_organisations_id_is_refused_as_one_that_does_not_exist(
    api, organization, branch, other_organization
):
    """Before: another organisation's recipient id was a valid choice (200, no rows) while an
    unknown id was 400, so a token could tell which ids other organisations had."""
    from core.models import Branch
    from payouts import services as payout_services

    actor = system_actor("tests")
    other_branch = Branch.objects.create(organization=other_organization, code="o", name="O")
    theirs = payout_services.recipient_create(
        organization=other_organization,
        scope="employee",
        name="Their Waiter",
        branch=other_branch,
        external_ref="T-1",
        actor=actor,
    )
    ours = payout_services.recipient_create(
        organization=organization,
        scope="employee",
        name="Anna Waiter",
        branch=branch,
        external_ref="W-1",
        actor=actor,
    )
    for path in ("/api/v1/payouts/", "/api/v1/qr-codes/"):
        assert api.get(path, {"recipient": ours.pk}).status_code == 200
        refused = api.get(path, {"recipient": theirs.pk})
        unknown = api.get(path, {"recipient": theirs.pk + ours.pk + 1000})
        assert refused.status_code == unknown.status_code == 400, refused.content
        assert refused.json() == unknown.json()


@pytest.mark.parametrize(
    ("query", "count"),
    [("is_active=true", 1), ("is_active=false", 0), ("is_active=False", 0), ("is_active=1", 1)],
)
def test_booleans_filter_by_their_value(api, organization, branch, query, count):
    from payouts import services as payout_services

    actor = system_actor("tests")
    recipient = payout_services.recipient_create(
        organization=organization,
        scope="employee",
        name="Anna Waiter",
        branch=branch,
        external_ref="W-1",
        actor=actor,
    )
    payout_services.qr_code_create(recipient=recipient, actor=actor)
    response = api.get(f"/api/v1/qr-codes/?{query}")
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == count


def test_page_size_pages_by_it(api, organization):
    from core.models import Branch

    for number in range(3):
        Branch.objects.create(organization=organization, code=f"b{number}", name=f"B {number}")
    body = api.get("/api/v1/branches/?page_size=2").json()
    assert len(body["results"]) == 2
    assert body["next"]


class _ListFilters(django_filters.FilterSet):
    """Filters no list declares today, checked as the backend checks every FilterSet."""

    recipient__in = django_filters.BaseInFilter(field_name="recipient", lookup_expr="in")
    id__any_of = django_filters.BaseInFilter(field_name="id", lookup_expr="any_of")
    net = django_filters.NumberFilter()  # a decimal column: not a whole-number filter

    class Meta:
        model = Payout
        fields = ["recipient__in", "id__any_of", "net"]


@pytest.mark.parametrize("name", ["recipient__in", "id__any_of"])
@pytest.mark.parametrize("value", ["1,abc", "1,,2.5", "99999999999999999999", "1, 1e3"])
def test_in_and_any_of_lists_check_each_whole_number(name, value):
    with pytest.raises(ValidationError) as caught:
        checked_values(_ListFilters, QueryDict(urlencode({name: value})))
    assert name in caught.value.detail


def test_in_and_any_of_lists_of_whole_numbers_pass():
    data = QueryDict("recipient__in=1,2&id__any_of=-3, 9223372036854775807&net=1.5")
    assert checked_values(_ListFilters, data) is data
