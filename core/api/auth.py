"""``Authorization: Token <key>``: the key names an API client of exactly one organisation."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from core.models import ApiClient


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
        client = (
            ApiClient.objects.select_related("organization", "user")
            .filter(key_hash=ApiClient.hash_key(key), revoked_at__isnull=True)
            .first()
        )
        if client is None:
            raise exceptions.AuthenticationFailed("The token is not valid or was revoked.")
        now = timezone.now()
        if client.last_used_at is None or now - client.last_used_at > timedelta(minutes=1):
            ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
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
