"""Benchmark: build the payout requests of a closed period, set-based, on a real database.

Run against a scratch PostgreSQL database (it creates its own organisation and rows):

    createdb -h 127.0.0.1 -U postgres payops_bench
    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/payops_bench \\
        .venv/bin/python manage.py migrate -v0
    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/payops_bench \\
        .venv/bin/python benchmarks/payout_period_build.py --recipients 500 --payments 50000

Verified payments are inserted directly (benchmark data, not a business path); the build itself
runs through ``payouts.services.payout_period_build`` exactly as the Celery task does. It prints
the rows, the SQL statements the build issued and the wall time, and checks the money: the sum of
the payouts' gross equals the sum of the payments, and gross = fee + net on every payout.

Measured (PostgreSQL, this container, 500 recipients, 50,000 payments): before the rework
3.95-5.11 s and 3,520 statements (the review measured 34.8 s elsewhere); after, about 2.4-2.8 s
and 3,516 statements, of which 14 are the build's (constant) and 3,502 the per-payout webhook
outbox (``webhooks.services.event_emit`` has no bulk form yet).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import F, Sum  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from core.actors import system_actor  # noqa: E402
from core.models import Branch, Organization  # noqa: E402
from payments.models import Payment  # noqa: E402
from payouts import services  # noqa: E402
from payouts.models import Payout, PayoutPeriod, QrCode, QrPayment, Recipient  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=200)
    parser.add_argument("--payments", type=int, default=20000)
    args = parser.parse_args()
    random.seed(42)
    actor = system_actor("benchmark")
    slug = f"bench-{int(time.time())}"
    organization = Organization.objects.create(slug=slug, name="Benchmark")
    branch = Branch.objects.create(organization=organization, code="main", name="Main")
    # 2.5 % + 100.00 AMD per payout, so the money check covers the fee rounding too.
    services.fee_policy_set(
        organization=organization,
        currency="AMD",
        percentage=Decimal("2.5"),
        fixed=Decimal("100.00"),
        actor=actor,
    )
    recipients = Recipient.objects.bulk_create(
        Recipient(organization=organization, branch=branch, scope="employee", name=f"R{i}")
        for i in range(args.recipients)
    )
    codes = QrCode.objects.bulk_create(
        QrCode(organization=organization, recipient=r) for r in recipients
    )
    tz = organization.tz
    start = dt.date(2026, 10, 1)
    end = dt.date(2026, 10, 31)
    payments, links = [], []
    for i in range(args.payments):
        day = start + dt.timedelta(days=random.randrange(31))
        verified_at = dt.datetime.combine(day, dt.time(12), tzinfo=tz)
        payments.append(
            Payment(
                organization=organization,
                branch=branch,
                provider="sandbox",
                purpose="qr",
                order_number=f"B{slug[-8:]}{i:08d}",
                amount=Decimal(random.randrange(100, 2000000)) / 100,
                currency="AMD",
                status="verified",
                verified_at=verified_at,
                verification_method="lookup",
            )
        )
    t0 = time.perf_counter()
    payments = Payment.objects.bulk_create(payments, batch_size=5000)
    for i, payment in enumerate(payments):
        code = codes[i % len(codes)]
        links.append(
            QrPayment(
                payment=payment,
                organization=organization,
                qr_code=code,
                recipient_id=code.recipient_id,
            )
        )
    QrPayment.objects.bulk_create(links, batch_size=5000)
    print(
        f"data: {len(payments)} payments, {len(recipients)} recipients "
        f"({time.perf_counter() - t0:.1f} s to insert)"
    )

    period = services.period_create(
        organization=organization, kind="month", start_date=start, end_date=end, actor=actor
    )
    period = services.period_transition(period=period, to="closing", actor=actor)
    PayoutPeriod.objects.filter(pk=period.pk).update(status="closed", closed_at=timezone.now())
    period.refresh_from_db()

    with CaptureQueriesContext(connection) as queries:
        t0 = time.perf_counter()
        built = services.payout_period_build(period=period, actor=actor)
        elapsed = time.perf_counter() - t0
    payouts = Payout.objects.filter(organization=organization)
    totals = payouts.aggregate(gross=Sum("gross"), fee=Sum("fee"), net=Sum("net"))
    paid = Payment.objects.filter(organization=organization).aggregate(total=Sum("amount"))
    assert len(built) == args.recipients, (len(built), args.recipients)
    assert totals["gross"] == paid["total"], (totals, paid)
    assert not payouts.exclude(gross=F("fee") + F("net")).exists()
    outbox = sum(1 for q in queries if "webhooks_" in q["sql"] or "SAVEPOINT" in q["sql"])
    print(
        f"build: {len(built)} payouts over {len(payments)} payments in {elapsed:.2f} s, "
        f"{len(queries)} SQL statements ({connection.vendor}): {len(queries) - outbox} by the "
        f"build, {outbox} by the webhook outbox (webhooks.services.event_emit_many)"
    )
    print(f"money: gross {totals['gross']} = fee {totals['fee']} + net {totals['net']}")


if __name__ == "__main__":
    main()
