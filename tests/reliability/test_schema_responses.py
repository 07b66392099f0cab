"""Every GET answer of the API, about real rows of every domain, matches the OpenAPI schema the
API publishes (the in-process twin of the schemathesis run, which found the first three).

Found by schemathesis and fixed: ``payment_url`` "" documented as a URI; a payout's ``method`` ""
outside its enum; an accounting period's ``closed_by`` null documented as a string; billing's
``Customer.email`` "" against ``format: email``; GET ``notifications/`` answering gunicorn's 414
for a request line of hundreds of ``customer`` values (now documented on every list).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft7Validator, FormatChecker

from conftest import make_api
from tests.reliability.urlconf import api_endpoints
from tests.reliability.world import build_world

pytestmark = pytest.mark.django_db


def _json_schema(node):
    """OpenAPI 3.0 ``nullable`` in JSON Schema terms."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"]
            if "enum" in node and None not in node["enum"]:
                node["enum"] = [*node["enum"], None]
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


FORMATS = FormatChecker(formats=())


@FORMATS.checks("email")
def _email(value) -> bool:
    """As schemathesis checks it: "" is no e-mail address."""
    return not isinstance(value, str) or ("@" in value and not value.startswith("@"))


@FORMATS.checks("uri")
def _uri(value) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme and (parts.netloc or parts.path))


def _validator(document, path: str, method: str, status: int) -> Draft7Validator:
    operation = document["paths"][path][method.lower()]
    schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    return Draft7Validator({**schema, "components": document["components"]}, format_checker=FORMATS)


def test_every_get_answer_matches_the_published_schema():
    world = build_world("schema-org")
    api = make_api(world["organization"], name="schema")
    document = _json_schema(SchemaGenerator().get_schema(request=None, public=True))
    failures, checked = [], 0
    gets = [e for e in api_endpoints() if e.method == "GET" and e.template in document["paths"]]
    ids: dict[type, list] = {}
    for endpoint in sorted(gets, key=lambda e: e.has_pk):  # lists first: they give the ids
        pks = ids.get(endpoint.view, [None]) if endpoint.has_pk else [None]
        for pk in pks[:3]:
            response = api.get(endpoint.url(pk))
            if response.status_code != 200:
                failures.append(f"{endpoint} {pk}: {response.status_code}")
                continue
            body = response.json()
            if endpoint.action == "list":
                rows = body.get("results", body) if isinstance(body, dict) else body
                ids[endpoint.view] = [r["id"] for r in rows if isinstance(r, dict) and "id" in r]
            validator = _validator(document, endpoint.template, "GET", 200)
            for error in validator.iter_errors(body):
                failures.append(f"{endpoint} {pk}: {error.json_path}: {error.message}")
            checked += 1
    assert not failures, "\n".join(sorted(set(failures)))
    assert checked >= 15


def _document():
    return _json_schema(SchemaGenerator().get_schema(request=None, public=True))


def test_a_customer_without_an_email_matches_the_schema(organization):
    """A customer created without an e-mail answers "" (as before): the schema says so."""
    api = make_api(organization, name="schema")
    document = _document()
    created = api.post(
        "/api/v1/customers/",
        {"external_ref": "crm-9", "name": "Anna Waiter", "language": "hy"},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["email"] == ""
    for status, body, path in (
        (201, created.json(), "/api/v1/customers/"),
        (200, api.get(f"/api/v1/customers/{created.json()['id']}/").json(), None),
    ):
        template = path or "/api/v1/customers/{id}/"
        method = "POST" if status == 201 else "GET"
        errors = list(_validator(document, template, method, status).iter_errors(body))
        assert not errors, [e.message for e in errors]
    listed = api.get("/api/v1/customers/").json()
    assert not list(_validator(document, "/api/v1/customers/", "GET", 200).iter_errors(listed))


@pytest.mark.parametrize(
    "query",
    [
        "customer=abc",
        "customer=1.5",
        "customer=99999999999999999999999",
        "customer=null&customer=%7B%7D&customer=-0.5",
        "customer=" + "&customer=".join(["x"] * 300),
    ],
)
def test_a_malformed_customer_filter_is_a_documented_400(organization, query):
    api = make_api(organization, name="schema")
    document = _document()
    response = api.get(f"/api/v1/notifications/?{query}")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"]["code"] == "invalid"
    assert "customer" in body["error"]["fields"]
    assert not list(_validator(document, "/api/v1/notifications/", "GET", 400).iter_errors(body))


def test_lists_document_the_servers_414():
    """gunicorn answers a request line above its limit with 414 (HTML) before Django: every
    list (its filters ride in the query string) documents it."""
    document = _document()
    responses = document["paths"]["/api/v1/notifications/"]["get"]["responses"]
    assert set(responses["414"]["content"]) == {"text/html"}
    assert "400" in responses
