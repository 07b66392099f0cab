from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.api.errors import api_fallback
from core.health import healthz
from ops.metrics import metrics_view

api_v1 = [
    path("", include("core.api.urls")),
    path("", include("payments.api.urls")),
    path("", include("exceptionqueue.api.urls")),
    path("", include("webhooks.api.urls")),
    path("", include("payouts.api.urls")),
    path("", include("billing.api.urls")),
    path("", include("appointments.api.urls")),
    path("", include("reconciliation.api.urls")),
    re_path(r"^.*$", api_fallback),  # JSON 404; "no trailing slash" served as with one
]

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("desk/", include("desk.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include(api_v1)),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]),
        name="schema",
    ),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(
            url_name="schema", authentication_classes=[], permission_classes=[]
        ),
        name="api-docs",
    ),
    re_path(r"^api/", api_fallback),  # the rest of /api/: a JSON 404, never an HTML page
    # Non-API pages of the apps (provider callbacks, sandbox checkout, accountants' desk).
    path("", include("payments.urls")),
    path("", include("exceptionqueue.urls")),
    path("", include("webhooks.urls")),
    path("", include("payouts.urls")),
    path("", include("billing.urls")),
    path("", include("appointments.urls")),
    path("", include("reconciliation.urls")),
]

handler500 = "core.api.errors.json_server_error_or_page"
