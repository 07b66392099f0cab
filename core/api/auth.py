"""``Authorization: Token <key>``: the key names an API client of exactly one organisation.

A key once found is remembered by the worker process for ``PAYOPS_API_TOKEN_CACHE_SECONDS``
(5 s by default; 0 reads the database on every request): the client, its organisation and its
user, without a database round trip per request (on a busy machine that round trip cost as much
as the page's own query, BENCHMARKS.md (4)). Saving or deleting an API client, an organisation
or a user forgets every remembered key of that process at once (a revocation through
``api_client_revoke`` or the admin is refused at once there); another worker process refuses a
revoked key at the latest when its entry expires, within those seconds. What the key's user may
do is not remembered: permissions are read afresh on every request.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from core.models import ApiClient, Organization

_MAX_REMEMBERED = 1000
_remembered: dict[str, tuple[float, ApiClient]] = {}


def forget_tokens(**kwargs) -> None:
    """Forget every remembered key of this process (any client, organisation or user saved)."""
    _remembered.clear()


for _model in (ApiClient, Organization, get_user_model()):
    post_save.connect(forget_tokens, sender=_model, dispatch_uid=f"forget_tokens_{_model}")
    post_delete.connect(forget_tokens, sender=_model, dispatch_uid=f"forget_tokens_d_{_model}")


def _forget_permissions(user) -> None:
    """Only the key is remembered, never what its user may do: Django's per-object permission
    caches are dropped, so a permission granted or taken away counts from the next request."""
    for name in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(name, None)


def _client_for(key_hash: str) -> ApiClient | None:
    ttl = settings.PAYOPS_API_TOKEN_CACHE_SECONDS
    now = time.monotonic()
    if ttl > 0:
        entry = _remembered.get(key_hash)
        if entry is not None and entry[0] > now:
            _forget_permissions(entry[1].user)
            return entry[1]
    client = (
        ApiClient.objects.select_related("organization", "user")
        .filter(key_hash=key_hash, revoked_at__isnull=True)
        .first()
    )
    if ttl > 0 and client is not None:
        if len(_remembered) >= _MAX_REMEMBERED:
            _remembered.clear()
        _remembered[key_hash] = (now + ttl, client)
    return client


class ApiClientTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("The Authorization header must be 'Token <key>'.")
        try:
            key = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("The token is not valid.") from None
        client = _client_for(ApiClient.hash_key(key))
        if client is None:
            raise exceptions.AuthenticationFailed("The token is not valid or was revoked.")
        now = timezone.now()
        if client.last_used_at is None or now - client.last_used_at > timedelta(minutes=1):
            ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
            client.last_used_at = now
        request.api_client = client
        request.organization = client.organization
        return client.user, client

    def authenticate_header(self, request) -> str:
        return self.keyword


class ApiClientTokenScheme(OpenApiAuthenticationExtension):
    target_class = "core.api.auth.ApiClientTokenAuthentication"
    name = "TokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`, from `manage.py create_api_token SLUG`.",
        }
