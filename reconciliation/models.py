"""Reconciliation: provider reports, runs and their lines, bank statements, period adjustments.

Rows:
- ``ReconciliationSettings``: an organisation's matching tolerance, bank-line wait, fee rates.
- ``ProviderReport``: one imported file (its SHA-256, format, progress); ``ProviderReportFile``:
  the file's own bytes, kept for audit (in parts of 1 MB); ``ProviderReportRow``: its rows,
  typed, each with its line number in that file (written by COPY, never an ORM loop).
- ``ReconciliationRun``: one reconciliation of a date range (counts, figures) and its
  ``ReconciliationItem`` lines (one per payment or report row and category).
- ``BankStatement`` / ``BankStatementLine``: imported MT940 / camt.053 statements, each line with
  the payout it matched.
- ``PeriodAdjustment``: a late change (a refund or a late payment about a closed accounting
  period) booked in the next open period, with a link to its origin.

The accounting period itself is ``core.models.AccountingPeriod`` (the kernel consults it).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from core.audit import AuditEvent
from core.models import AccountingPeriod, Organization
from core.money import AmountField, CurrencyField


class ReconciliationSettings(models.Model):
    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="reconciliation_settings"
    )
    match_window_minutes = models.PositiveIntegerField(
        default=30,
        help_text="Reports without our reference: a row and a payment of the same amount and "
        "currency match when their times are at most this far apart.",
    )
    bank_line_days = models.PositiveIntegerField(
        default=3, help_text="A completed payout with no bank line after this many days is a case."
    )
    fee_rates = models.JSONField(
        default=dict,
        blank=True,
        help_text='Expected provider fee per provider, percent of the amount: {"arca": "1.5"}. '
        "A provider without a rate has its fees summed, not compared.",
    )
    nightly_hour = models.PositiveSmallIntegerField(
        default=2, help_text="Local hour after which the nightly run reconciles yesterday."
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "reconciliation settings"

    def __str__(self) -> str:
        return f"reconciliation settings of {self.organization_id}"


class ProviderReport(models.Model):
    class Format(models.TextChoices):
        PAYOPS_CSV = "payops_csv", "payops CSV (CONTRACT.md)"
        BPC_JSON = "bpc_json", "BPC/ArCa order list (getLastOrdersForMerchants JSON)"
        AMERIA_XML = "ameria_xml", "Ameriabank vPOS transaction list (GetTransactionList)"

    class Status(models.TextChoices):
        IMPORTING = "importing", "Importing"
        IMPORTED = "imported", "Imported"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    provider = models.CharField(max_length=16)
    format = models.CharField(max_length=16, choices=Format.choices)
    file_name = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField(default=0)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IMPORTING)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    first_paid_at = models.DateTimeField(null=True, blank=True)
    last_paid_at = models.DateTimeField(null=True, blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "sha256"], name="provider_report_file_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} report {self.file_name or self.sha256[:12]}"

    @property
    def progress(self) -> int:
        """Percent of the rows written (100 once imported)."""
        if self.status == self.Status.IMPORTED:
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_done * 100 // self.rows_total)


class ProviderReportFile(models.Model):
    """The imported file itself, byte for byte, in parts (its SHA-256 is the report's): the raw
    rows kept for audit, once per file, instead of a copy of the text in every typed row.
    ``reconciliation.selectors.report_file_bytes`` joins the parts back."""

    PART_BYTES = 1 << 20

    report = models.ForeignKey(ProviderReport, on_delete=models.CASCADE, related_name="file_parts")
    part = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        ordering = ["report", "part"]
        constraints = [
            models.UniqueConstraint(fields=["report", "part"], name="provider_report_file_part")
        ]

    def __str__(self) -> str:
        return f"part {self.part} of report {self.report_id}"


class ProviderReportRow(models.Model):
    """One row of a report: the typed values and the row's line number in the kept file (its
    raw text is that line of ``ProviderReportFile``)."""

    class Status(models.TextChoices):
        PAID = "paid", "Paid"
        DECLINED = "declined", "Declined"
        REFUNDED = "refunded", "Refunded"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"

    id = models.BigAutoField(primary_key=True)
    # No database foreign key (no RI trigger per row): rows are written only by the import's
    # one INSERT ... SELECT, keyed on the report created in the same transaction.
    report = models.ForeignKey(
        ProviderReport, on_delete=models.CASCADE, related_name="rows", db_constraint=False
    )
    line_no = models.PositiveIntegerField()
    order_number = models.CharField(max_length=64, blank=True)
    provider_reference = models.CharField(max_length=128, blank=True)
    amount = AmountField()
    currency = CurrencyField()
    status = models.CharField(max_length=20, choices=Status.choices)
    paid_at = models.DateTimeField()
    refunded_amount = AmountField(default=Decimal("0"))
    fee = AmountField(default=Decimal("0"))

    class Meta:
        ordering = ["report", "line_no"]

    def __str__(self) -> str:
        return f"row {self.line_no} of report {self.report_id}"


class ReconciliationRun(models.Model):
    class Status(models.TextChoices):
        COMPLETED = "completed", "Completed"

    class Trigger(models.TextChoices):
        NIGHTLY = "nightly", "Nightly"
        MANUAL = "manual", "Manual (command or API)"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField()
    period_end = models.DateField()
    dry_run = models.BooleanField(default=False)
    trigger = models.CharField(max_length=8, choices=Trigger.choices, default=Trigger.MANUAL)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.COMPLETED)
    counts = models.JSONField(default=dict)
    figures = models.JSONField(default=dict, help_text="Per currency: expected, verified, ...")
    exceptions_raised = models.PositiveIntegerField(default=0)
    exceptions_resolved = models.PositiveIntegerField(default=0)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "period_start"],
                condition=Q(trigger="nightly"),
                name="reconciliation_run_one_nightly_per_day",
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="reconciliation_run_not_inverted",
            ),
        ]

    def __str__(self) -> str:
        return f"run #{self.pk} {self.period_start}..{self.period_end}"


class ReconciliationItem(models.Model):
    class Category(models.TextChoices):
        MATCHED = "matched", "Matched"
        MISSING_IN_PROVIDER_REPORT = "missing_in_provider_report", "Missing in provider report"
        MISSING_IN_PAYOPS = "missing_in_payops", "Missing in payops"
        AMOUNT_MISMATCH = "amount_mismatch", "Amount mismatch"
        STATUS_MISMATCH = "status_mismatch", "Status mismatch"
        DUPLICATE = "duplicate", "Duplicate in provider report"

    PROBLEMS = (
        Category.MISSING_IN_PROVIDER_REPORT,
        Category.MISSING_IN_PAYOPS,
        Category.AMOUNT_MISMATCH,
        Category.STATUS_MISMATCH,
        Category.DUPLICATE,
    )

    id = models.BigAutoField(primary_key=True)
    # No index of its own (see Meta.indexes) and no database foreign key (no RI trigger per
    # row): a run writes its lines in one set-based write, keyed on the run created in the same
    # transaction.
    run = models.ForeignKey(
        ReconciliationRun,
        on_delete=models.CASCADE,
        related_name="items",
        db_index=False,
        db_constraint=False,
    )
    category = models.CharField(max_length=28, choices=Category.choices)
    # amount_mismatch: which figure differs (amount, refunded_amount, fee, currency).
    field = models.CharField(max_length=20, blank=True)
    payment = models.ForeignKey(
        "payments.Payment",
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    report_row = models.ForeignKey(
        ProviderReportRow,
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    provider = models.CharField(max_length=16, blank=True)
    order_number = models.CharField(max_length=64, blank=True)
    provider_reference = models.CharField(max_length=128, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    expected = models.CharField(max_length=40, blank=True, help_text="payops' value")
    reported = models.CharField(max_length=40, blank=True, help_text="The report's value")
    matched_by = models.CharField(max_length=12, blank=True)

    class Meta:
        ordering = ["id"]
        # A run's lines are listed by id (the API's cursor): all of them, or of some categories.
        # (run, id) serves every listing where matched lines are in (they are nearly all of a
        # big run's lines: a page is the next ids); the problems, a few among a million, have
        # their own small partial index in (run, category, id) order (and are counted by it).
        indexes = [
            models.Index(fields=["run", "id"], name="recon_item_run_id"),
            models.Index(
                fields=["run", "category", "id"],
                name="recon_item_run_problem",
                condition=~Q(category="matched"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category} {self.order_number or self.provider_reference}"


class BankStatement(models.Model):
    class Format(models.TextChoices):
        MT940 = "mt940", "SWIFT MT940"
        CAMT053 = "camt053", "ISO 20022 camt.053"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    format = models.CharField(max_length=8, choices=Format.choices)
    file_name = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64)
    account = models.CharField(max_length=64, blank=True)
    statement_reference = models.CharField(max_length=64, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    opening_balance = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    closing_balance = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    raw = models.TextField()
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "sha256"], name="bank_statement_file_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.format} statement {self.statement_reference or self.pk}"


class BankStatementLine(models.Model):
    statement = models.ForeignKey(BankStatement, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveIntegerField()
    booked_on = models.DateField()
    amount = models.DecimalField(
        max_digits=20, decimal_places=2, help_text="Signed: negative is a debit (money out)."
    )
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    payout = models.ForeignKey(
        "payouts.Payout",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bank_lines",
    )

    class Meta:
        ordering = ["statement", "line_no"]
        constraints = [
            models.UniqueConstraint(
                fields=["payout"], condition=Q(payout__isnull=False), name="bank_line_payout_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.booked_on} {self.amount} {self.currency}"

    @property
    def is_debit(self) -> bool:
        return self.amount < 0


class PeriodAdjustment(AuditEvent):
    """A late change about a closed accounting period, booked in the next open one."""

    class Kind(models.TextChoices):
        LATE_REFUND = "late_refund", "Refund of a payment of a closed period"
        LATE_PAYMENT = "late_payment", "Payment verified after its period closed"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    booked_on = models.DateField(help_text="The date it counts on, in an open period.")
    origin_date = models.DateField(help_text="The date of its origin, in a closed period.")
    origin_period = models.ForeignKey(
        AccountingPeriod, on_delete=models.PROTECT, related_name="adjustments_out"
    )
    amount = models.DecimalField(max_digits=20, decimal_places=2, help_text="Signed.")
    currency = CurrencyField()
    payment = models.ForeignKey("payments.Payment", on_delete=models.PROTECT, related_name="+")
    refund = models.ForeignKey(
        "payments.Refund", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["refund"],
                condition=Q(refund__isnull=False),
                name="period_adjustment_refund_once",
            ),
            models.UniqueConstraint(
                fields=["payment"],
                condition=Q(kind="late_payment"),
                name="period_adjustment_late_payment_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency} on {self.booked_on}"


class AccountingPeriodEvent(AuditEvent):
    """Append-only: one row per thing done to an accounting period (created, closed, reopened,
    a close refused), with actor, reason and, for a close, the period's figures."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        CLOSED = "closed", "Closed"
        CLOSE_REFUSED = "close_refused", "Close refused (blocking cases)"
        REOPENED = "reopened", "Reopened"

    period = models.ForeignKey(AccountingPeriod, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=16, choices=Action.choices)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.action} period {self.period_id}"
