"""Realistic volume by COPY: one merchant's month of verified QR payments (with refunds) over its
recipients and branches, two other organisations' newer payments in the same table, an exception
queue, an API token; the month's accounting period closed (not built).

``size`` payments for the merchant ("bench"): ``size // 500`` recipients (2,000 at 1,000,000),
20 branches; one recipient (the company pool) takes 10 % of them (its payout is the big detail:
100,000 lines at 1,000,000); 3 % partially refunded, 1 % refunded in full. Two other organisations
hold 5 % each, newer (higher ids): an unindexed ``-id`` page of the merchant scans past them.
Small rows (organisations, branches, recipients, QR codes, the fee policy, the token) are made
through the ORM; the big tables (payments, their QR links, exception cases) by ``COPY``, with each
model field's default for the columns not set.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from decimal import Decimal

from django.db import connection, models
from django.utils import timezone
from psycopg.types.json import Jsonb

MONTH = (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
BRANCHES = 20
OTHER_SHARE = 0.05


@dataclasses.dataclass
class Dataset:
    size: int
    organization_id: int
    period_id: int
    token: str
    recipients: int
    big_recipient_id: int
    payments: int
    other_payments: int
    exceptions: int
    first_id: int  # the merchant's payment ids are first_id .. first_id + size - 1
    first_branch_id: int

    def describe(self) -> str:
        return (
            f"{self.payments:,} payments of the merchant over {self.recipients:,} recipients and "
            f"{BRANCHES} branches, {self.other_payments:,} of two other organisations, "
            f"{self.exceptions:,} exception cases"
        )


def _columns(model, values: dict) -> tuple[list[str], list]:
    """Every concrete column but the id: ``values`` where given, else the field's default."""
    now = timezone.now()
    columns, defaults = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and field.name not in values:
            continue
        columns.append(field.column)
        if field.name in values or field.attname in values:
            defaults.append(None)
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            defaults.append(now)
        elif field.has_default():
            value = field.get_default()
            defaults.append(Jsonb(value) if isinstance(value, dict | list) else value)
        elif field.null:
            defaults.append(None)
        elif isinstance(field, models.CharField | models.TextField):
            defaults.append("")
        else:
            raise ValueError(f"{model.__name__}.{field.name}: no value and no default")
    return columns, defaults


def copy_rows(model, names: list[str], rows) -> int:
    """COPY ``rows`` (tuples in ``names`` order) into ``model``'s table, defaults elsewhere."""
    columns, defaults = _columns(model, dict.fromkeys(names))
    by_column = {model._meta.get_field(n).column: i for i, n in enumerate(names)}
    plan = [(by_column.get(c), d) for c, d in zip(columns, defaults, strict=True)]
    count = 0
    raw = connection.connection  # psycopg 3
    with raw.cursor() as cursor:
        quoted = ", ".join(f'"{c}"' for c in columns)
        sql = f'COPY "{model._meta.db_table}" ({quoted}) FROM STDIN'
        with cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row([row[i] if i is not None else d for i, d in plan])
                count += 1
    return count


def _sequence_reset(model) -> None:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "  # noqa: S608
            f'(SELECT max(id) FROM "{table}"))'
        )


def populate(size: int, seed: int = 14) -> Dataset:
    from core.actors import system_actor
    from core.models import Branch, Organization
    from core.services import api_client_create
    from exceptionqueue.models import ExceptionCase
    from payments.models import Payment
    from payouts import services
    from payouts.models import PayoutPeriod, QrCode, QrPayment, Recipient

    rng = random.Random(seed)
    actor = system_actor("benchmark")
    merchant = Organization.objects.create(slug="bench", name="Benchmark merchant")
    others = [Organization.objects.create(slug=f"other-{i}", name=f"Other {i}") for i in (1, 2)]
    branches = Branch.objects.bulk_create(
        Branch(organization=merchant, code=f"b{i:02d}", name=f"Branch {i}") for i in range(BRANCHES)
    )
    other_branches = [
        Branch.objects.create(organization=o, code="main", name="Main") for o in others
    ]
    services.fee_policy_set(
        organization=merchant,
        currency="AMD",
        percentage=Decimal("2.5"),
        fixed=Decimal("100.00"),
        actor=actor,
    )
    count = max(20, size // 500)
    recipients = Recipient.objects.bulk_create(
        Recipient(
            organization=merchant,
            branch=branches[i % BRANCHES],
            scope="company" if i == 0 else "employee",
            name=f"Recipient {i:05d}",
        )
        for i in range(count)
    )
    codes = QrCode.objects.bulk_create(
        QrCode(organization=merchant, recipient=r) for r in recipients
    )
    _, token = api_client_create(organization=merchant, name="benchmark", actor=actor)

    tz = merchant.tz
    start, end = MONTH
    days = (end - start).days + 1
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(max(id), 0) + 1 FROM {Payment._meta.db_table}")  # noqa: S608
        first_id = cursor.fetchone()[0]
    names = [
        "id", "organization", "branch", "provider", "order_number", "purpose", "amount",
        "currency", "status", "refunded_amount", "verified_at", "verification_method",
    ]  # fmt: skip

    def payment_rows(organization, branch_ids, n, first, tag):
        for i in range(n):
            amount = Decimal(rng.randrange(50_000, 5_000_000)) / 100
            roll = rng.random()
            status, refunded = "verified", Decimal("0.00")
            if roll < 0.01:
                status, refunded = "refunded", amount
            elif roll < 0.04:
                status, refunded = "partially_refunded", (amount / 2).quantize(Decimal("0.01"))
            moment = dt.datetime.combine(
                start + dt.timedelta(days=rng.randrange(days)),
                dt.time(rng.randrange(9, 23), rng.randrange(60), rng.randrange(60)),
                tzinfo=tz,
            )
            yield (
                first + i, organization.pk, branch_ids[i % len(branch_ids)], "sandbox",
                f"{tag}{first + i:012d}", "qr", amount, "AMD", status, refunded, moment, "lookup",
            )  # fmt: skip

    copy_rows(Payment, names, payment_rows(merchant, [b.pk for b in branches], size, first_id, "B"))
    big = codes[0]

    def links():
        for i in range(size):
            code = big if i % 10 == 0 else codes[1 + (i * 7919) % (len(codes) - 1)]
            yield (first_id + i, merchant.pk, code.pk, code.recipient_id)

    copy_rows(QrPayment, ["payment", "organization", "qr_code", "recipient"], links())
    other = int(size * OTHER_SHARE)
    nxt = first_id + size
    for organization, branch in zip(others, other_branches, strict=True):
        copy_rows(
            Payment,
            names,
            payment_rows(organization, [branch.pk], other, nxt, f"O{organization.pk}"),
        )
        nxt += other
    _sequence_reset(Payment)
    _sequence_reset(QrPayment)

    cases = max(1_000, size // 100)
    now = timezone.now()

    def case_rows():
        for i in range(cases):
            moment = now - dt.timedelta(minutes=cases - i)
            yield (
                merchant.pk, branches[i % BRANCHES].pk, "late_payment_in_closed_period",
                "medium", f"bench:{i}", f"Benchmark case {i}", False,
                "open" if i % 3 else "resolved", actor.pk, moment, moment,
            )  # fmt: skip

    copy_rows(
        ExceptionCase,
        [
            "organization", "branch", "kind", "severity", "dedup_key", "message", "blocking",
            "status", "raised_by", "created_at", "last_seen_at",
        ],
        case_rows(),
    )  # fmt: skip
    period = services.period_create(
        organization=merchant, kind="month", start_date=start, end_date=end, actor=actor
    )
    # Closed without queuing the build (the benchmark runs it): the close's own path is not timed.
    PayoutPeriod.objects.filter(pk=period.pk).update(status="closed", closed_at=timezone.now())
    analyze()
    return Dataset(
        size=size,
        organization_id=merchant.pk,
        period_id=period.pk,
        token=token,
        recipients=count,
        big_recipient_id=recipients[0].pk,
        payments=size,
        other_payments=2 * other,
        exceptions=cases,
        first_id=first_id,
        first_branch_id=branches[0].pk,
    )


def analyze() -> None:
    """VACUUM ANALYZE outside any transaction (fresh statistics after a bulk change)."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
