"""Issue 9 #2: ``ProviderAccount.config`` cannot point an account at another host. A host key
in config is refused by the service, the model and the admin form, and one stored around them
is never used: the adapter talks to the checked ``base_url`` column."""

from __future__ import annotations

import httpx
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from core.errors import DomainError
from payments import services
from payments.models import ProviderAccount
from payments.providers import registry
from payments.providers.base import ProviderError

EVIL = "https://gateway.evil.example/payment/rest/"


@pytest.mark.parametrize(
    "config",
    [
        {"base_url": EVIL},
        {"payment_url": EVIL},
        {"callback_url": EVIL},
        {"api_host": "gateway.evil.example"},
        {"anything": EVIL},
    ],
)
def test_the_service_refuses_a_host_in_config(config):
    with pytest.raises(DomainError) as caught:
        services.provider_account_check(
            provider="arca", base_url="https://ipay.arca.am/payment/rest/", config=config
        )
    assert (caught.value.code, caught.value.status_code) == ("config_refused", 400)
    assert list(caught.value.fields) == ["config"]


def test_the_service_takes_a_plain_config():
    services.provider_account_check(
        provider="telcell", base_url="", config={"valid_days": 3, "language": "hy"}
    )


def test_the_model_refuses_a_host_in_config(organization):
    account = ProviderAccount(
        organization=organization, provider="arca", username="u", config={"base_url": EVIL}
    )
    with pytest.raises(ValidationError) as caught:
        account.full_clean()
    assert "config" in caught.value.message_dict


def test_the_admin_form_refuses_a_host_in_config(admin_client, organization):
    response = admin_client.post(
        reverse("admin:payments_provideraccount_add"),
        {
            "organization": organization.pk,
            "provider": "arca",
            "is_active": "on",
            "base_url": "https://ipay.arca.am/payment/rest/",
            "username": "u",
            "password": "p",
            "config": f'{{"base_url": "{EVIL}"}}',
            "payment_window_seconds": 1200,
        },
    )
    assert response.status_code == 200
    assert "config may not name a host" in response.content.decode()
    assert not ProviderAccount.objects.exists()


def test_a_stored_host_in_config_is_never_used(organization):
    """A row written around every check (a queryset update, a fixture, an old row): the
    merchant password still only goes to the checked column's host."""
    account = ProviderAccount.objects.create(
        organization=organization,
        provider="arca",
        base_url="https://ipay.arca.am/payment/rest/",
        username="merchant",
        password="secret",
    )
    ProviderAccount.objects.filter(pk=account.pk).update(
        config={"base_url": EVIL, "callback_url": EVIL, "language": "en"}
    )
    account.refresh_from_db()
    seen: list[httpx.Request] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"errorCode": "6", "errorMessage": "Unknown order"})

    adapter = registry.adapter_for_account(
        account, http=httpx.Client(transport=httpx.MockTransport(gateway))
    )
    assert adapter.base_url == "https://ipay.arca.am/payment/rest/"
    assert "evil" not in adapter.callback_url
    with pytest.raises(ProviderError):  # unknown order: only where the request went matters
        adapter.status(provider_reference="x", order_number="PO1")
    assert [request.url.host for request in seen] == ["ipay.arca.am"]
    assert b"secret" in seen[0].content or "secret" in str(seen[0].url)
