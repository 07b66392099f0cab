"""A real HTTP receiver on loopback, and a switch for running Celery tasks inline."""

from __future__ import annotations

import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from config.celery import app as celery_app
from webhooks import ssrf


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Records every request; answers from ``plan`` (status, headers) in order, then 200."""

    url: str
    requests: list[Received] = field(default_factory=list)
    plan: deque = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, *responses: int | tuple[int, dict[str, str]]) -> None:
        for response in responses:
            self.plan.append(response if isinstance(response, tuple) else (response, {}))


@pytest.fixture
def receiver(settings):
    """A threading http.server on 127.0.0.1 (loopback allowed for this test only)."""
    settings.PAYOPS_WEBHOOKS_ALLOW_PRIVATE = True
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            rec = state["receiver"]
            with rec.lock:
                rec.requests.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                status, headers = rec.plan.popleft() if rec.plan else (200, {})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    state["receiver"] = Receiver(url=f"http://127.0.0.1:{server.server_port}/hooks")
    yield state["receiver"]
    server.shutdown()
    server.server_close()


@pytest.fixture
def eager_celery():
    """Tasks run inline (as a worker would), then the previous configuration is restored."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield celery_app
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def public_dns(monkeypatch):
    """Any host resolves to a public address (nothing is sent: the URL is refused first)."""
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if "☃" in host or host.startswith("xn--"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(ssrf.socket, "getaddrinfo", fake)
