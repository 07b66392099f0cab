import json

from django.core.management.base import BaseCommand, CommandError

from core.actors import system_actor
from core.duework import due_work_run_all
from core.models import Organization


class Command(BaseCommand):
    help = (
        "Run now what beat would run next (billing attempts, retries, dunning, expiries) for "
        "every organisation, or one; the same code as the scheduled task. Prints the counts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", metavar="SLUG", help="only this organisation")

    def handle(self, *args, org=None, **options):
        organizations = Organization.objects.all()
        if org:
            organizations = organizations.filter(slug=org)
            if not organizations.exists():
                raise CommandError(f"There is no organisation {org!r}.")
        ran = due_work_run_all(organizations=list(organizations), actor=system_actor("cli"))
        for slug, counts in ran.items():
            self.stdout.write(f"{slug}: {json.dumps(counts, sort_keys=True)}")
        if any(counts.get("errors") for counts in ran.values()):
            raise CommandError("Some due work failed; see the log.")
