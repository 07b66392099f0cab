"""The deadline transport: no socket operation outlives the deadline, TLS handshake included."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from webhooks.transport import DeadlineBackend, deadline_transport


@pytest.fixture
def silent_server():
    """Accepts connections and never says a word (no HTTP answer, no TLS handshake)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    yield server.getsockname()[1]
    server.close()


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_silent_receiver_is_cut_off_at_the_deadline(silent_server, scheme):
    started = time.monotonic()
    client = httpx.Client(transport=deadline_transport(started + 0.5), timeout=10)
    with client, pytest.raises(httpx.TimeoutException):
        client.post(f"{scheme}://127.0.0.1:{silent_server}/hook", content=b"{}")
    assert time.monotonic() - started < 2  # not the 10 s per-operation timeout


def test_nothing_starts_after_the_deadline(silent_server):
    client = httpx.Client(transport=deadline_transport(time.monotonic() - 1), timeout=10)
    with client, pytest.raises(httpx.ConnectTimeout, match="deadline"):
        client.post(f"http://127.0.0.1:{silent_server}/hook", content=b"{}")


def test_the_backend_is_installed_in_httpx_pool():
    transport = deadline_transport(time.monotonic() + 5)
    assert isinstance(transport._pool._network_backend, DeadlineBackend)
