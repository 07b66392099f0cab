"""docs/billing.md's curl walk runs as written: each curl of its "A month of billing" section is
replayed, in order, through the API (jq paths and shell variables as in the shell); every answer
is a success, and the subscription ends as the page says."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from django.conf import settings

from billing.models import BillingPeriod, Notification, Subscription

pytestmark = pytest.mark.django_db(transaction=True)

DOC = Path(settings.BASE_DIR) / "docs" / "billing.md"
ASSIGN = re.compile(r"^([A-Z]+)=\$\((curl .*?)\s*\|\s*jq (?:-r )?'?([^']*?)'?\)$")


def statements() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("### A month of billing") : text.index("## Operators")]
    lines = "\n".join(re.findall(r"```sh\n(.*?)```", section, flags=re.S))
    lines = lines.replace("\\\n", " ")
    return [line.strip() for line in lines.splitlines() if line.strip().startswith(("curl", "SUB=",
            "CUSTOMER=", "PAYMENT=", "PRORATION=", "PERIOD="))]  # fmt: skip


def jq(value, path: str):
    for name, index in re.findall(r"\.(\w+)|\[(-?\d+)\]", path):
        value = value[name] if name else value[int(index)]
    return value


def test_the_curl_walk_runs_as_written(api, organization):
    variables = {"API": "/api/v1", "AUTH": "", "JSON": "", "ORG": organization.slug}
    calls = statements()
    assert len(calls) > 20
    for statement in calls:
        target, command, path = None, statement, ""
        match = ASSIGN.match(statement)
        if match:
            target, command, path = match.groups()
        command = command.split(" | jq")[0]
        expanded = re.sub(r"\$([A-Z]+)", lambda m: str(variables[m.group(1)]), command)
        words = shlex.split(expanded)
        method, body, headers, url = "GET", None, {}, None
        index = 1
        while index < len(words):
            word = words[index]
            if word in ("-sX", "-X"):
                method, index = words[index + 1], index + 1
            elif word == "-H":
                name, _, value = words[index + 1].partition(":")
                if name.lower() == "idempotency-key":
                    headers["HTTP_IDEMPOTENCY_KEY"] = value.strip()
                index += 1
            elif word == "-d":
                body, index = words[index + 1], index + 1
            elif not word.startswith("-"):
                url = word
            index += 1
        response = api.generic(method, url, data=body or "", content_type="application/json",
                               **headers)  # fmt: skip
        assert response.status_code < 400, (statement, response.content)
        if target:
            variables[target] = jq(response.json(), path)
    subscription = Subscription.objects.get()
    assert subscription.status == "active"
    assert subscription.entitlement_source == "override"
    assert Notification.objects.count() == 2
    first = BillingPeriod.objects.get(number=1)
    assert (first.status, first.refunded_amount, first.attempts.count()) == ("paid", 5000, 3)
    proration = BillingPeriod.objects.get(kind="proration")
    assert str(proration.expected_amount) == "3214.29"
    assert proration.status == "paid"
