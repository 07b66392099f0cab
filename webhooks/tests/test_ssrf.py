"""The SSRF guard: loopback, private, link-local and reserved targets are refused."""

from __future__ import annotations

import socket

import pytest

from webhooks import ssrf


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://127.1.2.3:8080/hook",
        "https://10.0.0.5/hook",
        "http://172.16.4.4/hook",
        "http://192.168.1.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[fd00::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://100.64.0.1/hook",
        "http://localhost/hook",
    ],
)
def test_private_targets_are_refused(url, settings):
    settings.PAYOPS_WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(ssrf.UnsafeUrl) as err:
        ssrf.check_url(url)
    assert err.value.code == "webhook_url_refused"
    assert err.value.status_code == 400


def test_a_hostname_resolving_to_loopback_is_refused(settings, monkeypatch):
    settings.PAYOPS_WEBHOOKS_ALLOW_PRIVATE = False

    def fake_getaddrinfo(host, port, *args, **kwargs):
        assert host == "hooks.example.com"
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(ssrf.UnsafeUrl, match=r"127\.0\.0\.1"):
        ssrf.check_url("https://hooks.example.com/in")


def test_public_addresses_pass(settings, monkeypatch):
    settings.PAYOPS_WEBHOOKS_ALLOW_PRIVATE = False
    assert ssrf.check_url("https://93.184.216.34/hook") == ["93.184.216.34"]
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *a, **k: [
            (socket.AF_INET6, 1, 6, "", ("2606:2800:220:1::1", port, 0, 0))
        ],
    )
    assert ssrf.check_url("https://hooks.example.com/in") == ["2606:2800:220:1::1"]


def test_the_setting_allows_private_targets(settings):
    settings.PAYOPS_WEBHOOKS_ALLOW_PRIVATE = True
    assert ssrf.check_url("http://127.0.0.1:8000/hook") == ["127.0.0.1"]


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://93.184.216.34/x", "webhook_url_invalid"),
        ("http:///x", "webhook_url_invalid"),
        ("https://user:pw@93.184.216.34/x", "webhook_url_invalid"),
        ("https://93.184.216.34:99999/x", "webhook_url_invalid"),
        ("https://no-such-host.invalid/x", "webhook_url_unresolvable"),
    ],
)
def test_malformed_urls(url, code, settings):
    settings.PAYOPS_WEBHOOKS_ALLOW_PRIVATE = True
    with pytest.raises(ssrf.UnsafeUrl) as err:
        ssrf.check_url(url)
    assert err.value.code == code


@pytest.mark.parametrize(
    "address",
    [
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a00:5::1",  # 6to4 of 10.0.0.5
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "2002:c0a8:10a::1",  # 6to4 of 192.168.1.10
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    ],
)
def test_ipv6_addresses_embedding_a_private_ipv4_are_refused(address, settings):
    settings.PAYOPS_WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(ssrf.UnsafeUrl) as err:
        ssrf.check_url(f"http://[{address}]/hook")
    assert err.value.code == "webhook_url_refused"


def test_nat64_is_refused_even_for_a_public_ipv4(settings):
    settings.PAYOPS_WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(ssrf.UnsafeUrl):
        ssrf.check_url("http://[64:ff9b::5db8:d822]/hook")


@pytest.mark.parametrize("address", ["2002:5db8:d822::1", "2606:2800:220:1::1"])
def test_ipv6_addresses_embedding_a_public_ipv4_pass(address, settings):
    settings.PAYOPS_WEBHOOKS_ALLOW_PRIVATE = False
    assert ssrf.check_url(f"http://[{address}]/hook") == [address]


@pytest.mark.parametrize("url", ["http://☃.net/hook", "https://☃.net/hook"])
def test_urls_the_http_client_refuses_are_invalid(url, settings, monkeypatch):
    """An IDN host IDNA 2008 refuses passes URLField and getaddrinfo, but httpx cannot send it."""
    settings.PAYOPS_WEBHOOKS_ALLOW_PRIVATE = False
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *a, **k: [(socket.AF_INET, 1, 6, "", ("93.184.215.14", port))],
    )
    with pytest.raises(ssrf.UnsafeUrl) as err:
        ssrf.check_url(url)
    assert err.value.code == "webhook_url_invalid"


def test_an_idn_host_is_resolved_in_its_punycode_form(settings, monkeypatch):
    settings.PAYOPS_WEBHOOKS_ALLOW_PRIVATE = False
    asked = []

    def fake(host, port, *args, **kwargs):
        asked.append(host)
        return [(socket.AF_INET, 1, 6, "", ("93.184.215.14", port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    assert ssrf.check_url("https://bücher.example/hook") == ["93.184.215.14"]
    assert asked == ["xn--bcher-kva.example"]
