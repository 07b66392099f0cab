from django.core.management.base import BaseCommand, CommandError

from core.actors import system_actor
from core.models import Organization
from core.services import api_client_create


class Command(BaseCommand):
    help = "Create an integrator API client for organisation SLUG and print its token alone."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", default="integration")

    def handle(self, *args, slug, name, **options):
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise CommandError(
                f"No organisation {slug!r}; create it with: manage.py create_organization "
                f"{slug} --name NAME"
            )
        _, token = api_client_create(
            organization=organization, name=name, actor=system_actor("cli")
        )
        self.stdout.write(token)
