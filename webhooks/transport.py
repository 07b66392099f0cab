"""An httpx transport with a wall-clock deadline for the whole exchange.

httpx timeouts are per operation: a receiver that trickles one byte a second never trips a 15 s
read timeout and can keep an attempt open for ever (past the delivery's lease, so a second worker
would send concurrently). Here every socket operation (connect, TLS handshake, each read and
write) gets ``min(its own timeout, time left before the deadline)``, and none starts after the
deadline: the whole attempt ends by the deadline, whatever the receiver does. A late operation
raises httpcore's timeout, which httpx reports as ``httpx.ConnectTimeout`` / ``ReadTimeout`` /
``WriteTimeout``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx


def _bounded(timeout: float | None, deadline: float, error: type[Exception]) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise error("attempt deadline reached")
    return remaining if timeout is None else min(timeout, remaining)


class DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, self._deadline, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, self._deadline, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname: str | None = None, timeout=None):
        stream = self._stream.start_tls(
            ssl_context,
            server_hostname=server_hostname,
            timeout=_bounded(timeout, self._deadline, httpcore.ConnectTimeout),
        )
        return DeadlineStream(stream, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, deadline: float, backend: httpcore.NetworkBackend | None = None) -> None:
        self._deadline = deadline
        self._backend = backend or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host,
            port,
            timeout=_bounded(timeout, self._deadline, httpcore.ConnectTimeout),
            local_address=local_address,
            socket_options=socket_options,
        )
        return DeadlineStream(stream, self._deadline)

    def connect_unix_socket(self, *args, **kwargs):  # pragma: no cover (never used)
        raise httpcore.ConnectError("unix sockets are not webhook receivers")

    def sleep(self, seconds: float) -> None:  # pragma: no cover (no retries configured)
        self._backend.sleep(seconds)


def deadline_transport(deadline: float) -> httpx.HTTPTransport:
    """An ``HTTPTransport`` (TLS verification on, no retries, no proxy) bounded by ``deadline``
    (a ``time.monotonic()`` value)."""
    transport = httpx.HTTPTransport(retries=0)
    # httpx builds its httpcore pool without a way to pass a network backend; the attribute is
    # httpcore's (ConnectionPool._network_backend), checked by webhooks/tests/test_transport.py.
    pool = transport._pool
    if not hasattr(pool, "_network_backend"):  # pragma: no cover (an httpcore upgrade)
        raise RuntimeError("httpcore.ConnectionPool has no _network_backend any more")
    pool._network_backend = DeadlineBackend(deadline)
    return transport
