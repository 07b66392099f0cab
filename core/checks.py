"""Deploy checks of payops (``manage.py check --deploy``)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.database, deploy=True)
def embedded_defaults_in_production(app_configs=None, **kwargs):
    """The embedded SQLite database and filesystem broker are for one machine in development:
    a production deployment of several processes needs PostgreSQL and Redis."""
    return embedded_defaults(
        engine=settings.DATABASES["default"]["ENGINE"], redis_url=settings.REDIS_URL
    )


def embedded_defaults(*, engine: str, redis_url: str | None) -> list[Warning]:
    warnings = []
    if engine != "django.db.backends.postgresql":
        warnings.append(
            Warning(
                "DATABASE_URL is not set: payops runs on the embedded SQLite database.",
                hint="Set DATABASE_URL=postgres://… for production.",
                id="payops.W001",
            )
        )
    if not redis_url:
        warnings.append(
            Warning(
                "REDIS_URL is not set: Celery uses the embedded filesystem broker and throttling "
                "counts per process.",
                hint="Set REDIS_URL=redis://… for production.",
                id="payops.W002",
            )
        )
    return warnings
