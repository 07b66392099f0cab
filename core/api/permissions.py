from rest_framework.permissions import BasePermission


class IsApiClient(BasePermission):
    message = "Authentication with an API token is required."

    def has_permission(self, request, view) -> bool:
        return getattr(request, "api_client", None) is not None
