import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.actors import system_actor
from core.errors import DomainError
from reconciliation.management.commands._common import organization_by_slug, refused
from reconciliation.models import ProviderReport
from reconciliation.services import provider_report_import


class Command(BaseCommand):
    help = (
        "Import a provider report (payops CSV, BPC order list JSON, Ameria XML; detected from "
        "the content or named with --format) with a progress bar, and print a summary. A "
        "malformed file is refused naming the line; nothing of it is written."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", metavar="SLUG", required=True)
        parser.add_argument("--provider", metavar="NAME", required=True)
        parser.add_argument("--format", choices=ProviderReport.Format.values)
        parser.add_argument("file", metavar="FILE")

    def handle(self, *args, org, provider, file, format=None, **options):
        organization = organization_by_slug(org)
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"There is no file {file!r}.")
        size = os.path.getsize(path)
        with (
            path.open("rb") as handle,
            tqdm(
                total=size,
                unit="B",
                unit_scale=True,
                desc=path.name,
                file=self.stderr._out,
                disable=not size,
            ) as bar,
        ):
            try:
                report = provider_report_import(
                    organization=organization,
                    provider=provider,
                    file=handle,
                    file_name=path.name,
                    format=format,
                    actor=system_actor("cli"),
                    progress=bar.update,
                )
            except DomainError as exc:
                raise refused(exc) from None
        self.stdout.write(
            f"Imported report #{report.pk} ({report.format}, {report.provider}): "
            f"{report.rows_total} rows, {report.period_start}..{report.period_end}, "
            f"SHA-256 {report.sha256}."
        )
