"""Audit rows are append-only in PostgreSQL: the trigger function (core.audit_guard attaches it
to every audit and history table after each migrate)."""

from django.db import migrations

from core.audit_guard import CREATE_FUNCTION_SQL, DROP_FUNCTION_SQL


def create_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_FUNCTION_SQL, params=None)


def drop_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_FUNCTION_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("core", "0005_accounting_period")]

    operations = [migrations.RunPython(create_function, drop_function)]
