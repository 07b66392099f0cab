"""Audit rows cannot be rewritten: PostgreSQL refuses UPDATE and DELETE on them.

The tables guarded are every ``core.audit.AuditEvent`` subclass and every simple-history
``Historical*`` table, whichever app declares them (a new domain is covered by the next
``migrate`` with no change here). Migration ``core.0005`` creates the trigger function;
``guard_audit_tables`` (run after every ``migrate``) attaches it to each table. SQLite is left
as it is (the application-level guard of ``AuditEvent`` still holds there).

A deliberate purge by a database administrator runs in a transaction that first says
``SET LOCAL payops.audit_maintenance = 'on'``; nothing in the application does.
"""

from __future__ import annotations

from django.db import connections

FUNCTION = "payops_append_only"
TRIGGER = "payops_append_only"

CREATE_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('payops.audit_maintenance', true) = 'on' THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'payops: % rows are append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""
DROP_FUNCTION_SQL = f"DROP FUNCTION IF EXISTS {FUNCTION}() CASCADE;"


def audit_models() -> list:
    """Every concrete model whose rows are audit: AuditEvent subclasses and history tables."""
    from django.apps import apps
    from simple_history.models import HistoricalChanges

    from core.audit import AuditEvent

    return [
        model
        for model in apps.get_models()
        if not model._meta.abstract
        and not model._meta.proxy
        and (issubclass(model, AuditEvent) or issubclass(model, HistoricalChanges))
    ]


def audit_tables() -> list[str]:
    return sorted({model._meta.db_table for model in audit_models()})


def guard_audit_tables(using: str = "default") -> list[str]:
    """Attach the append-only trigger to every audit table (idempotent); the tables guarded."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    existing = set(connection.introspection.table_names())
    tables = [table for table in audit_tables() if table in existing]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_proc WHERE proname = %s", [FUNCTION])
        if cursor.fetchone() is None:  # before core.0005 (a migrate to an older state)
            return []
        for table in tables:
            quoted = connection.ops.quote_name(table)
            cursor.execute(
                f"CREATE OR REPLACE TRIGGER {TRIGGER} BEFORE UPDATE OR DELETE ON {quoted} "
                f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
            )
    return tables


def guard_after_migrate(sender, using="default", **kwargs) -> None:
    """post_migrate comes once per app; the last app's signal sees every table."""
    from django.apps import apps

    with_models = [config for config in apps.get_app_configs() if config.models_module]
    if sender is with_models[-1]:
        guard_audit_tables(using)
