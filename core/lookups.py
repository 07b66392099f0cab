"""``field__any_of=[…]``: ``field = ANY(%s::<type>[])``, the values as one array parameter.

What it is for: the same rows as ``field=value`` for one value, but to PostgreSQL's planner it
is not a constant of the query (``field = 1`` and ``field IN (1)`` are; the planner then drops
``field`` from an ``ORDER BY field, id`` and reads the rows in ``id`` order from the primary
key, whatever else is in the way). ``OrganizationCursorPagination`` (``core.api.pagination``)
needs the organisation scoped that way so that its ``ORDER BY organization_id, id`` is served by
the organisation's ``(organization_id, id)`` index. Registered on every field (``CoreConfig``
imports this module), foreign keys included.
"""

from __future__ import annotations

from django.db.models import Field, ForeignObject, Lookup


@ForeignObject.register_lookup  # related fields look up only their own class's lookups
@Field.register_lookup
class AnyOf(Lookup):
    lookup_name = "any_of"
    prepare_rhs = False

    def _values(self, connection) -> list:
        field = self.lhs.output_field
        return [field.get_db_prep_value(value, connection, prepared=False) for value in self.rhs]

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        array_type = self.lhs.output_field.cast_db_type(connection)
        return f"{lhs} = ANY(%s::{array_type}[])", [*params, self._values(connection)]

    def as_sqlite(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        values = self._values(connection)
        if not values:
            return "0 = 1", params
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*params, *values]
