from django.core.exceptions import ImproperlyConfigured
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

from core.api.filters import whole_number


class IdCursorPagination(CursorPagination):
    """Stable cursor pages, newest first; ``?page_size=`` from 1 to ``max_page_size`` (200).

    DRF reads a malformed, zero or negative ``page_size`` as "the default" and one above the
    maximum as the maximum, silently: here each is 400 naming ``page_size``, and the schema
    documents the bounds."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        values = [v for v in request.query_params.getlist(self.page_size_query_param) if v != ""]
        if not values:
            return self.page_size
        for value in values:
            try:
                size = whole_number(value)
            except ValueError:
                size = None
            if size is None or not 1 <= size <= self.max_page_size:
                rule = f"A whole number from 1 to {self.max_page_size}."
                raise ValidationError({self.page_size_query_param: [rule]})
        return size

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Rows per page: a whole number from 1 to {self.max_page_size} (default "
                    f"{self.page_size}); anything else is 400 `invalid`."
                )
                parameter["schema"] = {
                    **parameter["schema"],
                    "minimum": 1,
                    "maximum": self.max_page_size,
                }
        return parameters

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:  # DRF says 404; a malformed parameter is the client's 400
            raise ValidationError(
                {self.cursor_query_param: ["Invalid cursor: use the next/previous links."]}
            ) from None


class OrganizationCursorPagination(IdCursorPagination):
    """``IdCursorPagination`` for the rows of one organisation, read in ``(organization_id, id)``
    order: the same pages, links and cursors (the position is still the id), served by the
    organisation's ``(organization_id, id)`` index.

    Ordering by ``id`` alone, PostgreSQL reads the page backwards along the primary key and
    removes every row of the other organisations on the way: at 1M payments, 100,000 newer rows
    of two other organisations before the first of this one (BENCHMARKS.md (4), EXPLAIN). With
    the organisation in the ``ORDER BY`` the primary key cannot give the order and the
    organisation's index is read from the page's first row: ~101 rows for a page of 100.

    The queryset must scope the organisation with ``organization_id__any_of=[pk]``
    (``core.lookups``): ``organization=…`` makes it a constant to the planner, which then drops
    it from the ``ORDER BY`` and goes back to the primary key.

    A subclass names another ``lead`` for rows scoped the same way by another column (a
    reconciliation run's lines: ``run_id``).
    """

    lead = "organization_id"

    def paginate_queryset(self, queryset, request, view=None):
        """DRF's ``CursorPagination.paginate_queryset`` (3.18), ordering by ``(lead, id)`` while
        the cursor's position stays the id (``self.ordering``)."""
        self.request = request
        self.page_size = self.get_page_size(request)
        if not self.page_size:
            return None
        self.base_url = request.build_absolute_uri()
        self.ordering = self.get_ordering(request, queryset, view)
        if self.ordering != ("-id",):
            raise ImproperlyConfigured("OrganizationCursorPagination pages newest first (-id).")
        self.cursor = self.decode_cursor(request)
        if self.cursor is None:
            (offset, reverse, current_position) = (0, False, None)
        else:
            (offset, reverse, current_position) = self.cursor
        direction = "" if reverse else "-"
        queryset = queryset.order_by(f"{direction}{self.lead}", f"{direction}id")
        if current_position is not None:
            # Newest first: the next pages are below the position, the previous ones above.
            lookup = "id__gt" if reverse else "id__lt"
            queryset = queryset.filter(**{lookup: current_position})
        results = list(queryset[offset : offset + self.page_size + 1])
        self.page = list(results[: self.page_size])
        if len(results) > len(self.page):
            has_following_position = True
            following_position = self._get_position_from_instance(results[-1], self.ordering)
        else:
            has_following_position = False
            following_position = None
        if reverse:
            self.page = list(reversed(self.page))
            self.has_next = (current_position is not None) or (offset > 0)
            self.has_previous = has_following_position
            if self.has_next:
                self.next_position = current_position
            if self.has_previous:
                self.previous_position = following_position
        else:
            self.has_next = has_following_position
            self.has_previous = (current_position is not None) or (offset > 0)
            if self.has_next:
                self.next_position = following_position
            if self.has_previous:
                self.previous_position = current_position
        if (self.has_previous or self.has_next) and self.template is not None:
            self.display_page_controls = True
        return self.page
