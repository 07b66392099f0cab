"""Profile one API path in process with pyinstrument, on a scratch database the harness kept
(``--keep``): where the time of a page goes beyond its SQL.

    python -m benchmarks --sizes 1m --only api --keep
    python -m benchmarks.profile "/api/v1/payments/?page_size=100" --requests 200
    python -m benchmarks.profile callbacks --requests 100   # signed sandbox callbacks, 2 copies

Prints pyinstrument's text report (``--html FILE`` writes the interactive one).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description="pyinstrument profile of an API path")
    parser.add_argument("path", help="an API path, or 'callbacks' (workload 5's callbacks)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database", default=os.environ.get("BENCH_DB", "payops_bench_scratch"))
    parser.add_argument("--html", default=None)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from benchmarks.harness import scratch_url

    os.environ["DATABASE_URL"] = scratch_url(args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "bench-profile-" + "x" * 50)
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("PAYOPS_DOTENV", "/dev/null")
    os.environ["PAYOPS_API_RATE"] = "1000000/second"
    os.environ.setdefault("PAYOPS_SANDBOX", "1")  # the callbacks' gateway, in process
    import django

    django.setup()
    from django.test import Client
    from pyinstrument import Profiler

    from core.actors import system_actor
    from core.models import Organization
    from core.services import api_client_create

    organization = Organization.objects.get(slug="bench")
    profiler = Profiler(interval=0.0005)
    if args.path == "callbacks":
        requests = _callbacks(organization, args.requests)
        client = Client()
        with profiler:
            for path, query in requests:
                assert client.get(path, query, SERVER_NAME="127.0.0.1").status_code == 200
    else:
        _, token = api_client_create(
            organization=organization, name="profile", actor=system_actor("x")
        )
        client = Client(HTTP_AUTHORIZATION=f"Token {token}")
        assert client.get(args.path, SERVER_NAME="127.0.0.1").status_code == 200
        with profiler:
            for _ in range(args.requests):
                client.get(args.path, SERVER_NAME="127.0.0.1")
    print(profiler.output_text(unicode=False, color=False, show_all=False))
    if args.html:
        Path(args.html).write_text(profiler.output_html())


def _callbacks(organization, n: int) -> list[tuple[str, dict]]:
    """``n`` pending sandbox payments with deposited orders (workload 5's ``prepare``), each
    callback then its copy."""
    import types
    import uuid

    from benchmarks.workloads.callbacks import prepare
    from core.models import Branch

    branch = Branch.objects.filter(organization=organization).order_by("id").first()
    data = types.SimpleNamespace(organization_id=organization.pk, first_branch_id=branch.pk)
    queries = prepare(types.SimpleNamespace(data=data), n, "p" + uuid.uuid4().hex[:6])
    return [("/callbacks/sandbox/", query) for _ in range(2) for query in queries]


if __name__ == "__main__":
    main()
