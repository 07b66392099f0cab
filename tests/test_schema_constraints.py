"""Every constraint and index the models declare exists in the migrated PostgreSQL database.

The migration state and the database can part: 0007 of payouts turned ``db_index`` off on two
foreign keys, and Django's ``AlterField`` dropped every single-column index on them, the two
partial unique indexes that say "a payment in at most one holding line" included, while the
state kept them (``makemigrations --check`` saw nothing). This reads the database itself.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection

pytestmark = pytest.mark.postgres

PROJECT_APPS = {
    "core",
    "payments",
    "exceptionqueue",
    "webhooks",
    "payouts",
    "billing",
    "appointments",
    "reconciliation",
    "desk",
    "ops",
}


def declared():
    for model in apps.get_models():
        meta = model._meta
        if meta.app_label not in PROJECT_APPS or not meta.managed or meta.proxy:
            continue
        names = [c.name for c in meta.constraints] + [i.name for i in meta.indexes]
        if names:
            yield meta.db_table, names


@pytest.mark.django_db
def test_every_declared_constraint_and_index_exists_in_the_database():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's catalogue (the production database)")
    missing = []
    with connection.cursor() as cursor:
        for table, names in declared():
            present = connection.introspection.get_constraints(cursor, table)
            missing += [f"{table}.{name}" for name in names if name not in present]
    assert not missing, f"declared by the models, absent from the database: {missing}"
