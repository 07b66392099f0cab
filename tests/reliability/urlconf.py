"""Every API endpoint, read from the URL conf (so a new endpoint is in every matrix at once)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

API_PREFIX = "api/v1/"
_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


@dataclass(frozen=True)
class Endpoint:
    template: str  # "/api/v1/payouts/{pk}/transitions/"
    method: str  # "GET", "POST", ...
    view: type | None  # the view class
    action: str | None  # the viewset action ("list", "retrieve", "transitions"), None for APIViews
    basename: str | None

    @property
    def has_pk(self) -> bool:
        return "{pk}" in self.template

    def url(self, pk=None) -> str:
        return self.template.replace("{pk}", str(pk))

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def _template(raw: str) -> str:
    path = raw.replace("^", "").replace("$", "").replace("\\.", ".")
    path = _GROUP.sub(lambda m: "{" + m.group(1) + "}", path)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{" + m.group(1) + "}", path)
    return "/" + path


def api_endpoints() -> list[Endpoint]:
    found = []
    for raw, pattern in _walk(get_resolver().url_patterns):
        if not raw.startswith(API_PREFIX):
            continue
        callback = pattern.callback
        view = getattr(callback, "cls", None)
        if view is None:  # the JSON 404 fallback, not an endpoint
            continue
        template = _template(raw)
        if ".*" in template:
            continue
        actions = getattr(callback, "actions", None)
        if actions:
            for method, action in actions.items():
                found.append(
                    Endpoint(
                        template,
                        method.upper(),
                        view,
                        action,
                        getattr(callback, "initkwargs", {}).get("basename"),
                    )
                )
        else:
            for method in view.http_method_names:
                if method in {"options", "head", "trace"} or not hasattr(view, method):
                    continue
                found.append(Endpoint(template, method.upper(), view, None, None))
    return found
