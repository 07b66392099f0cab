import os

from django.core.management.base import BaseCommand, CommandError

from core.actors import system_actor
from core.errors import DomainError
from core.models import Organization
from core.services import STAFF_ROLES, staff_user_ensure

PASSWORD_VARIABLE = "PAYOPS_USER_PASSWORD"  # noqa: S105 (the variable's name)


class Command(BaseCommand):
    help = (
        "Create or update a staff login with a role in an organisation. The password is read "
        f"from {PASSWORD_VARIABLE}, or generated for a new login and printed once."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--org", required=True, metavar="SLUG")
        parser.add_argument("--role", required=True, choices=sorted(STAFF_ROLES))

    def handle(self, *args, username, org, role, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(
                f"No organisation {org!r}; create it with: manage.py create_organization "
                f"{org} --name NAME"
            )
        try:
            user, created, generated = staff_user_ensure(
                username=username,
                organization=organization,
                role=role,
                password=os.environ.get(PASSWORD_VARIABLE) or None,
                actor=system_actor("cli"),
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        verb = "Created" if created else "Updated"
        self.stdout.write(
            f"{verb} staff login {user.username!r}: {STAFF_ROLES[role]} in {organization.slug}."
        )
        if generated is not None:
            self.stdout.write(f"Password: {generated}")
