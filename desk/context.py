"""Template context of the desk's pages: the organisations the person may switch between."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from desk.selectors import desk_organizations


def desk(request) -> dict:
    if not request.path.startswith("/desk/") or not request.user.is_authenticated:
        return {}
    return {
        "desk_organizations": SimpleLazyObject(lambda: list(desk_organizations(user=request.user))),
    }
