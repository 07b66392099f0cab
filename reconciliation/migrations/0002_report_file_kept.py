"""The raw rows of a provider report are kept as the file itself (``ProviderReportFile``), no
longer as a ``raw`` text copy in every typed row.

Reports imported before this migration have no kept file: their rows' raw texts are written, in
line order under the payops CSV header, as the report's file (the rows' own text, not the
original bytes: its SHA-256 is not the report's) before the column goes. On PostgreSQL the
parts are compressed with lz4 where the server has it (they are CSV, JSON or XML text).
"""

import django.db.models.deletion
from django.db import migrations, models

PART_BYTES = 1 << 20
HEADER = b"order_number,provider_reference,amount,currency,status,paid_at,refunded_amount,fee\n"


def keep_old_rows(apps, schema_editor):
    Report = apps.get_model("reconciliation", "ProviderReport")
    Row = apps.get_model("reconciliation", "ProviderReportRow")
    File = apps.get_model("reconciliation", "ProviderReportFile")
    for report_id in Report.objects.values_list("pk", flat=True).iterator():
        buffer = bytearray(HEADER)
        part = 0
        rows = Row.objects.filter(report_id=report_id).order_by("line_no")
        for raw in rows.values_list("raw", flat=True).iterator(chunk_size=5000):
            buffer += raw.encode() + b"\n"
            while len(buffer) >= PART_BYTES:
                File.objects.create(report_id=report_id, part=part, data=bytes(buffer[:PART_BYTES]))
                del buffer[:PART_BYTES]
                part += 1
        File.objects.create(report_id=report_id, part=part, data=bytes(buffer))


def lz4_parts(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        """DO $$ BEGIN
            ALTER TABLE reconciliation_providerreportfile ALTER COLUMN data SET COMPRESSION lz4;
        EXCEPTION WHEN feature_not_supported THEN NULL;
        END $$"""
    )


class Migration(migrations.Migration):
    dependencies = [
        ("reconciliation", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="ProviderReportFile",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("part", models.PositiveIntegerField()),
                ("data", models.BinaryField()),
                (
                    "report",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="file_parts",
                        to="reconciliation.providerreport",
                    ),
                ),
            ],
            options={
                "ordering": ["report", "part"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("report", "part"), name="provider_report_file_part"
                    )
                ],
            },
        ),
        migrations.RunPython(lz4_parts, migrations.RunPython.noop),
        migrations.RunPython(keep_old_rows, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="providerreportrow",
            name="raw",
        ),
    ]
