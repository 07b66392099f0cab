from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_slug

from core.actors import system_actor
from core.services import organization_ensure


class Command(BaseCommand):
    help = "Create the organisation SLUG if it is missing (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--timezone", default="Asia/Yerevan")

    def handle(self, *args, slug, name, timezone, **options):
        try:
            validate_slug(slug)
        except ValidationError:
            raise CommandError(
                f"{slug!r} is not a valid slug: use letters, digits, hyphens and underscores."
            ) from None
        try:
            organization, created = organization_ensure(
                slug=slug,
                name=name,
                timezone_name=timezone,
                actor=system_actor("cli"),
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        verb = "Created" if created else "Already exists:"
        self.stdout.write(f"{verb} organisation {organization.slug} ({organization.name})")
