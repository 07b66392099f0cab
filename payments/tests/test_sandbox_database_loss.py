"""A lost database connection inside the in-process sandbox gateway is payops' own database
failure (503 ``database_unavailable``), never the gateway's (502): the sandbox shares payops'
database, so its 500 for a terminated backend must not read as a gateway fault."""

from __future__ import annotations

import pytest
from django.db import connection

from payments import sandbox
from payments.tests.factories import make_payment

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _terminate_own_backend_then(real):
    def lose_connection(*args, **kwargs):
        with connection.cursor() as cursor:  # a real loss: PostgreSQL ends this backend
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return real(*args, **kwargs)

    return lose_connection


@pytest.mark.parametrize("step", ["register", "order_status"])
def test_a_database_lost_inside_the_sandbox_answers_503_not_502(
    api, organization, branch, system_user, monkeypatch, step
):
    if connection.vendor != "postgresql":
        pytest.skip("terminates a PostgreSQL backend")
    payment = make_payment(organization=organization, branch=branch, amount="1500.00")
    if step == "order_status":  # registered first: the loss comes with the lookup
        from payments.providers.registry import sandbox_adapter
        from payments.services import payment_register_order

        payment_register_order(payment=payment, actor=system_user, adapter=sandbox_adapter())
        monkeypatch.setattr(sandbox, "_notify", lambda *args, **kwargs: None)
    monkeypatch.setattr(sandbox, step, _terminate_own_backend_then(getattr(sandbox, step)))
    # The test client would re-raise the sandbox request's error: the answer is what counts.
    api.raise_request_exception = False

    response = api.post(
        f"/api/v1/sandbox/payments/{payment.pk}/outcome/", {"outcome": "approved"}, format="json"
    )

    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "database_unavailable"
    assert response["Retry-After"] == "1"
