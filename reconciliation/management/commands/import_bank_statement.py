from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.actors import system_actor
from core.errors import DomainError
from reconciliation.management.commands._common import organization_by_slug, refused
from reconciliation.services import bank_statement_import


class Command(BaseCommand):
    help = (
        "Import a bank statement (MT940 or camt.053, detected from the content) and match its "
        "debits to completed payouts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", metavar="SLUG", required=True)
        parser.add_argument("file", metavar="FILE")

    def handle(self, *args, org, file, **options):
        organization = organization_by_slug(org)
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"There is no file {file!r}.")
        try:
            statement = bank_statement_import(
                organization=organization,
                data=path.read_bytes(),
                file_name=path.name,
                actor=system_actor("cli"),
            )
        except DomainError as exc:
            raise refused(exc) from None
        lines = statement.lines.all()
        matched = sum(1 for line in lines if line.payout_id)
        debits = sum(1 for line in lines if line.amount < 0)
        self.stdout.write(
            f"Imported {statement.format} statement #{statement.pk} ({statement.account}): "
            f"{len(lines)} lines, {debits} debits, {matched} matched to payouts."
        )
