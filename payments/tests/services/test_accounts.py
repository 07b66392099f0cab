"""The gateway URL of an account."""

from __future__ import annotations

import pytest

from core.errors import DomainError
from payments import services


@pytest.mark.parametrize(
    ("provider", "url", "ok"),
    [
        ("arca", "https://ipay.arca.am/payment/rest/", True),
        ("arca", "http://ipay.arca.am/payment/rest/", False),
        ("arca", "https://evil.example/payment/rest/", False),
        ("ameria", "https://services.ameriabank.am/VPOS", True),
        ("telcell", "https://127.0.0.1/invoices", False),
        ("idram", "https://user:pw@banking.idram.am/", False),
    ],
)
def test_gateway_base_urls_are_checked(settings, provider, url, ok):
    settings.DEBUG = False
    if ok:
        services.provider_account_check_base_url(provider=provider, url=url)
    else:
        with pytest.raises(DomainError) as caught:
            services.provider_account_check_base_url(provider=provider, url=url)
        assert caught.value.code == "base_url_refused"


def test_extra_gateway_hosts_come_from_settings(settings):
    settings.PAYOPS_GATEWAY_HOSTS = {"arca": ["epay.mybank.am"]}
    services.provider_account_check_base_url(provider="arca", url="https://epay.mybank.am/rest/")
