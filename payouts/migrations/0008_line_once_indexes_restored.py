"""Restore the partial unique indexes ``payout_line_payment_once`` and
``payout_line_adjustment_once`` on PostgreSQL.

0007 turned ``db_index`` off on the line's ``payment`` and ``adjustment`` foreign keys; Django's
``AlterField`` then drops *every* single-column b-tree index on that column, the two partial
unique indexes of ``PayoutLine.Meta.constraints`` included, while the migration state keeps
them. A database migrated through 0007 had neither: nothing in the database refused a second
holding line for one payment or a second application of one adjustment. The state is
unchanged (it always had them); ``IF NOT EXISTS`` leaves a database that has them (SQLite,
whose ``AlterField`` rebuilds the table with them) as it is.
"""

from django.db import migrations

PAYMENT_ONCE = (
    "CREATE UNIQUE INDEX IF NOT EXISTS payout_line_payment_once ON payouts_payoutline "
    "(payment_id) WHERE (active AND kind = 'payment')"
)
ADJUSTMENT_ONCE = (
    "CREATE UNIQUE INDEX IF NOT EXISTS payout_line_adjustment_once ON payouts_payoutline "
    "(adjustment_id) WHERE (active AND kind = 'adjustment')"
)


class Migration(migrations.Migration):
    dependencies = [("payouts", "0007_list_indexes_line_indexes")]

    operations = [
        migrations.RunSQL(PAYMENT_ONCE, migrations.RunSQL.noop),
        migrations.RunSQL(ADJUSTMENT_ONCE, migrations.RunSQL.noop),
    ]
