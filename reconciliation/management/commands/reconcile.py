import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError

from core.actors import system_actor
from core.clock import clock_today
from core.errors import DomainError
from reconciliation.management.commands._common import organization_by_slug, refused
from reconciliation.services import reconciliation_run


class Command(BaseCommand):
    help = (
        "Reconcile one organisation's day now (default: yesterday in its time zone), the same "
        "code as the nightly run. Prints the counts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", metavar="SLUG", required=True)
        parser.add_argument("--date", metavar="YYYY-MM-DD")
        parser.add_argument("--end", metavar="YYYY-MM-DD", help="reconcile --date..--end")
        parser.add_argument("--dry-run", action="store_true", help="raise no exception case")

    def _date(self, value: str, name: str) -> dt.date:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise CommandError(f"--{name} {value!r} is not a date (YYYY-MM-DD).") from None

    def handle(self, *args, org, date=None, end=None, dry_run=False, **options):
        organization = organization_by_slug(org)
        start = (
            self._date(date, "date") if date else clock_today(organization) - dt.timedelta(days=1)
        )
        finish = self._date(end, "end") if end else start
        try:
            run = reconciliation_run(
                organization=organization,
                start=start,
                end=finish,
                dry_run=dry_run,
                actor=system_actor("cli"),
            )
        except DomainError as exc:
            raise refused(exc) from None
        self.stdout.write(
            f"Run #{run.pk} {run.period_start}..{run.period_end}"
            f"{' (dry run)' if run.dry_run else ''}: {json.dumps(run.counts, sort_keys=True)}; "
            f"cases raised {run.exceptions_raised}, resolved {run.exceptions_resolved}."
        )
