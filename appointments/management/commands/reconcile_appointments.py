import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError

from appointments.services import appointments_reconcile_day
from core.actors import system_actor
from core.clock import clock_today
from core.dates import RANGE_MESSAGE, date_in_range
from core.models import Organization


class Command(BaseCommand):
    help = (
        "Reconcile one organisation's appointment payments for a day now (default: yesterday by "
        "its clock); the same code as the nightly task. Prints the counts and the findings."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", metavar="SLUG", required=True)
        parser.add_argument("--date", metavar="YYYY-MM-DD")

    def handle(self, *args, org=None, date=None, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"There is no organisation {org!r}.")
        try:
            day = (
                dt.date.fromisoformat(date)
                if date
                else clock_today(organization) - dt.timedelta(days=1)
            )
        except ValueError:
            raise CommandError(f"--date is YYYY-MM-DD, not {date!r}.") from None
        if not date_in_range(day):
            raise CommandError(f"--date {day}: {RANGE_MESSAGE}")
        row = appointments_reconcile_day(
            organization=organization, date=day, actor=system_actor("cli")
        )
        self.stdout.write(f"{org} {day}: {json.dumps(row.counts, sort_keys=True)}")
        for finding in row.findings:
            self.stdout.write(
                f"  {finding['kind']}: appointment #{finding['appointment']}, "
                f"request #{finding['payment_request']} ({finding['request_status']})"
            )
