"""PostgreSQL only: no two active payouts of one scope (recipient, branch, currency) overlap.

An exclusion constraint over the inclusive date range ``[period_start, period_end]`` with
equality on the scope (btree_gist), for payouts that are requested or processing. SQLite has no
exclusion constraints: there ``payout_request`` refuses overlaps under its row lock alone.
"""

from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations

CONSTRAINT = "payout_no_overlapping_active_scope"

CREATE = f"""
ALTER TABLE payouts_payout ADD CONSTRAINT {CONSTRAINT} EXCLUDE USING gist (
    recipient_id WITH =,
    branch_id WITH =,
    currency WITH =,
    daterange(period_start, period_end, '[]') WITH &&
) WHERE (status IN ('requested', 'processing'))
"""
DROP = f"ALTER TABLE payouts_payout DROP CONSTRAINT IF EXISTS {CONSTRAINT}"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("payouts", "0001_initial")]

    operations = [
        BtreeGistExtension(),
        migrations.RunPython(create, drop),
    ]
