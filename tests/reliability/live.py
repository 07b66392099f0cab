"""Real servers for the long checks: a gunicorn (2 workers) over the test database, a Redis and
Celery workers of the test's own, and the helpers to drive and watch them.

The tests that use it take ``transactional_db`` (rows they make are committed, so the server
sees them; the tables are emptied after each test). The server runs the development settings
with the API throttle lifted, on a free loopback port, and is stopped (its process group) after
the test.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


_cursor: dict[str, int] = {}


def free_port(kind: str = "") -> int:
    """A free loopback port: from ``PAYOPS_RELIABILITY_PORTS`` (``8870-8889``; for Redis
    ``PAYOPS_RELIABILITY_REDIS_PORTS``) when set, so runs sharing a machine keep to their own
    range (taken in turn); otherwise one the system picks (its ephemeral range, never CI's
    smoke server on 8765)."""
    span = os.environ.get(f"PAYOPS_RELIABILITY_{kind.upper()}{'_' if kind else ''}PORTS", "")
    if not span:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]
    low, _, high = span.partition("-")
    ports = list(range(int(low), int(high or low) + 1))
    start = _cursor.get(kind, 0)
    for step in range(len(ports)):
        port = ports[(start + step) % len(ports)]
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _cursor[kind] = (start + step + 1) % len(ports)
        return port
    raise RuntimeError(f"no free port in {span}")


def server_env(**extra) -> dict[str, str]:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": url,
        "DEBUG": "1",
        "PAYOPS_DOTENV": "/dev/null",
        "PAYOPS_API_RATE": "1000000/minute",
        "PAYOPS_SANDBOX": "1",
        "LOG_LEVEL": "WARNING",
    }
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    env.update(extra)
    return env


@contextmanager
def gunicorn(workers: int = 2, **env):
    port = free_port()
    log = open(f"/tmp/payops-reliability-gunicorn-{port}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(  # noqa: S603
        [
            str(BIN / "gunicorn"),
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
            # No request-line cap of gunicorn's own (4094 bytes, answered 414 before Django sees
            # the request): the checks here are about the API's answers (schemathesis sent a
            # 4.5 kB query string and got gunicorn's undocumented 414).
            "--limit-request-line",
            "0",
        ],
        cwd=ROOT,
        env=server_env(**env),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code in {200, 503}:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {Path(log.name).read_text()[-2000:]}")
            time.sleep(0.25)
        else:
            raise RuntimeError("gunicorn did not answer /healthz in 30 s")
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        log.close()


# --- a Redis of the test's own, Celery workers, beat's tasks, the database's own signals ---------


def redis_start(port: int) -> subprocess.Popen:
    """A throw-away redis-server on ``port`` (never the shared 6379), answering PING."""
    process = subprocess.Popen(  # noqa: S603
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(50):
        ok = subprocess.run(  # noqa: S603
            [shutil.which("redis-cli") or "redis-cli", "-p", str(port), "ping"],
            capture_output=True,
            text=True,
            check=False,
        )
        if ok.stdout.strip() == "PONG":
            return process
        time.sleep(0.1)
    process_kill(process)
    raise RuntimeError("redis-server did not start")


def process_kill(process: subprocess.Popen) -> None:
    """SIGKILL (no goodbye: unacked tasks stay unacked, connections just drop) and reap."""
    if process.poll() is None:
        process.kill()
    process.wait(10)


@contextmanager
def own_redis():
    """A redis-server of this test's own on a free port; yields its URL; stopped afterwards."""
    port = free_port("redis")
    process = redis_start(port)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process_kill(process)


def celery_worker(redis_url: str, *, stop_at: str = "", **env) -> subprocess.Popen:
    """A real Celery worker (solo pool: one process, so SIGKILL kills the task with it) over the
    test database and ``redis_url`` as broker. ``stop_at`` (``module:function[@n]``) makes the
    n-th call of that function wait on the fault lock first (``fault_worker``)."""
    log = open(f"/tmp/payops-reliability-worker-{os.getpid()}.log", "a")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.fault_worker"],
        cwd=ROOT,
        env=server_env(
            REDIS_URL=redis_url,
            PAYOPS_WEBHOOKS_ALLOW_PRIVATE="1",
            PAYOPS_FAULT_STOP=stop_at,
            **env,
        ),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    return process


def worker_stop(process: subprocess.Popen) -> None:
    """A warm shutdown (SIGTERM), SIGKILL if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process_kill(process)


def beat_send(redis_url: str, task: str, *args) -> None:
    """Queue ``task`` (by name) on the broker, as beat (or a service after commit) does."""
    from celery import Celery

    app = Celery("reliability-beat", broker=redis_url, set_as_current=False)
    try:
        app.send_task(task, args=list(args))
    finally:
        app.close()


def wait_until(condition, *, timeout: float, what: str, every: float = 0.2):
    """Poll ``condition`` until it returns something truthy (returned); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(every)


# The advisory lock a worker's stop point waits on (fault_worker); the test holds it.
FAULT_LOCK = 15_0001


def admin_connection():
    """A psycopg connection of the test's own to the test database (autocommit), never one
    the tests terminate."""
    import psycopg

    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname=db["NAME"],
        autocommit=True,
        application_name="pytest-own",
    )


def fault_lock_waiter(admin) -> int | None:
    """The pid of the backend waiting on the fault lock (a worker at its stop point), if any."""
    row = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
    ).fetchone()
    return row[0] if row else None


def backend_gone(admin, pid: int) -> bool:
    return admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone() is None


# --- a webhook receiver that misbehaves on cue ------------------------------------------------


class ScriptedReceiver:
    """A threading HTTP receiver on loopback; each request takes the next action of ``script``
    (then 200): a status (``500``, ``(429, {"retry-after": "7"})``), ``"hang"`` (no answer until
    the test ends), ``("hang", seconds)``, or ``"cut"`` (a 200 whose body stops half-way, then the
    connection is closed). Every request is recorded with its arrival time."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.hits: list[dict] = []
        self.script: list = []
        self.released = threading.Event()
        self.arrived = threading.Condition()

    def then(self, *actions) -> ScriptedReceiver:
        self.script.extend(actions)
        return self

    def wait_hits(self, count: int, *, timeout: float) -> list[dict]:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.hits) >= count, timeout):
                raise AssertionError(f"{len(self.hits)} requests within {timeout:g} s, not {count}")
            return list(self.hits)


@contextmanager
def scripted_receiver():
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    state: dict[str, ScriptedReceiver] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            receiver = state["receiver"]
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            with receiver.arrived:
                action = receiver.script.pop(0) if receiver.script else 200
                receiver.hits.append(
                    {
                        "at": time.time(),
                        "id": self.headers.get("webhook-id"),
                        "body": body,
                        "action": action,
                    }
                )
                receiver.arrived.notify_all()
            if action == "hang":
                receiver.released.wait()
                return
            if isinstance(action, tuple) and action[0] == "hang":
                receiver.released.wait(action[1])
                action = 200
            if action == "cut":
                self.send_response(200)
                self.send_header("content-length", "1000")
                self.end_headers()
                self.wfile.write(b'{"received": tr')
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            status, headers = action if isinstance(action, tuple) else (action, {})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    state["receiver"] = ScriptedReceiver(f"http://127.0.0.1:{server.server_port}/hooks")
    try:
        yield state["receiver"]
    finally:
        state["receiver"].released.set()
        server.shutdown()
        server.server_close()


@contextmanager
def broker(redis_url: str):
    """What this test process queues (services' ``enqueue_on_commit``, the outbox's fast path)
    goes to ``redis_url`` meanwhile, where the test's worker listens."""
    from config.celery import app

    previous = app.conf.broker_url
    app.conf.broker_url = redis_url
    try:
        yield
    finally:
        app.conf.broker_url = previous


@contextmanager
def worker_pool(redis_url: str):
    """Start workers with ``start(stop_at=..., **env)``; every one left is stopped at the end."""
    started: list[subprocess.Popen] = []

    def start(**kwargs) -> subprocess.Popen:
        process = celery_worker(redis_url, **kwargs)
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            worker_stop(process)


def kill_at_stop_point(worker: subprocess.Popen, admin) -> None:
    """Wait until ``worker`` waits at its stop point (its backend waits on the fault lock the
    test holds), SIGKILL it, let the lock go, and wait until its orphaned backend has ended
    (its open transaction rolled back: a killed client never sends COMMIT)."""
    pid = wait_until(
        lambda: fault_lock_waiter(admin) or (worker.poll() is not None and "exited"),
        timeout=240,
        what="the worker at its stop point",
    )
    assert pid != "exited", f"the worker exited ({worker.returncode}) before its stop point"
    process_kill(worker)
    assert worker.returncode == -signal.SIGKILL
    admin.execute("SELECT pg_advisory_unlock(%s)", [FAULT_LOCK])
    wait_until(lambda: backend_gone(admin, pid), timeout=60, what="the orphaned backend ended")


@contextmanager
def fault_lock():
    """The test's own connection, holding the fault lock the workers' stop points wait on."""
    with admin_connection() as admin:
        admin.execute("SELECT pg_advisory_lock(%s)", [FAULT_LOCK])
        yield admin
