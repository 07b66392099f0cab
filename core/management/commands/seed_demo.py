"""Idempotent demo data for every domain.

The kernel seeds organisations, branches and (in development) the admin login; each app adds its
own rows through an optional ``seed_demo(stdout)`` method on its AppConfig, so the kernel never
imports a domain.
"""

import contextlib
import logging
import os
import secrets

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from core.actors import system_actor
from core.models import Branch
from core.roles import roles_sync
from core.services import organization_ensure

DEMO_ORGANIZATIONS = [
    (
        "yerevan-cafe",
        "Yerevan Cafe",
        [("northern-avenue", "Northern Avenue"), ("cascade", "Cascade")],
    ),
    ("arabkir-dental", "Arabkir Dental Clinic", [("arabkir", "Arabkir")]),
    ("ararat-fitness", "Ararat Fitness", [("komitas", "Komitas Avenue")]),
]
ADMIN_FILE = settings.VAR_DIR / "demo-admin.txt"
# The sandbox gateway's calls (httpx logs each request at INFO): ~60 lines that buried the
# printed logins of ``make run``. Its warnings and errors still show.
QUIET_LOGGERS = ("httpx", "httpcore")


@contextlib.contextmanager
def _quiet(names=QUIET_LOGGERS, level=logging.WARNING):
    loggers = [logging.getLogger(name) for name in names]
    before = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(max(level, logger.level))
    try:
        yield
    finally:
        for logger, old in zip(loggers, before, strict=True):
            logger.setLevel(old)


class Command(BaseCommand):
    help = "Load idempotent demo data for every domain (and, when DEBUG, an admin login)."

    def handle(self, *args, **options):
        with _quiet():
            self._seed()

    def _seed(self) -> None:
        actor = system_actor("seed-demo")
        with transaction.atomic():
            roles_sync()
            for slug, name, branches in DEMO_ORGANIZATIONS:
                organization, created = organization_ensure(slug=slug, name=name, actor=actor)
                for code, branch_name in branches:
                    Branch.objects.get_or_create(
                        organization=organization, code=code, defaults={"name": branch_name}
                    )
                self.stdout.write(f"{'created' if created else 'kept'} organisation {slug}")
        for config in apps.get_app_configs():
            seeder = getattr(config, "seed_demo", None)
            if seeder is not None:
                with transaction.atomic():
                    seeder(stdout=self.stdout)
        if settings.DEBUG:
            self._admin()
        self.stdout.write(f"Demo data ready: {len(DEMO_ORGANIZATIONS)} demo organisations.")

    def _admin(self) -> None:
        user_model = get_user_model()
        if not user_model.objects.filter(username="admin").exists():
            password = os.environ.get("PAYOPS_DEMO_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
            user_model.objects.create_superuser("admin", "admin@example.com", password)
            ADMIN_FILE.write_text(f"admin {password}\n")
            ADMIN_FILE.chmod(0o600)
        if ADMIN_FILE.exists():
            username, password = ADMIN_FILE.read_text().split()
            self.stdout.write(f"Admin login: {username} / {password}")
        else:
            self.stdout.write("Admin login: admin (password set earlier; not stored here)")
