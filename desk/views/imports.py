"""Imports from the browser: a provider report or a bank statement, with progress and result.

The upload shows its progress in the page (htmx's upload progress events); the file is stored
and its import queued (``desk.services.import_job_create``) for a Celery worker, which runs
reconciliation's service; the page polls the job (htmx, every second) for its progress, then
shows the result card (rows, dates covered, matches) or the service's refusal with the line it
names.
"""

from __future__ import annotations

from django import forms
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from desk.models import ImportJob
from desk.refusals import refusal_texts
from desk.services import import_job_create, import_job_progress
from desk.views.access import IMPORT, desk_view, require
from payments.models import Provider
from reconciliation.models import BankStatement, ProviderReport

MAX_UPLOAD = 200 * 1024 * 1024


class ImportForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What is it?"),
        choices=[
            (ImportJob.Kind.REPORT, _("Provider report")),
            (ImportJob.Kind.STATEMENT, _("Bank statement")),
        ],
        widget=forms.RadioSelect,
        initial="report",
    )
    provider = forms.ChoiceField(
        label=_("Provider (for a report)"),
        # The providers' names in the person's language (the desk's catalogue holds them).
        choices=[(p.value, _(p.label)) for p in Provider],
        required=False,
    )
    file = forms.FileField(label=_("File"))

    def clean(self):
        data = super().clean()
        if data.get("kind") == "report" and not data.get("provider"):
            self.add_error("provider", _("Choose the provider the report comes from."))
        upload = data.get("file")
        if upload is not None and upload.size > MAX_UPLOAD:
            self.add_error("file", _("The file is larger than 200 MB."))
        return data


def _job_context(job: ImportJob | None) -> dict:
    if job is None:
        return {}
    context = {"job": job, "job_progress": import_job_progress(job)}
    if job.status == ImportJob.Status.FAILED:
        context["refusal"], context["refusal_reasons"] = refusal_texts(
            job.error_code, job.error_message, job.error_fields
        )
    if job.statement_id:
        lines = job.statement.lines.all()
        context["statement_counts"] = {
            "lines": lines.count(),
            "matched": lines.filter(payout__isnull=False).count(),
            "debits": lines.filter(amount__lt=0).count(),
        }
    return context


def _context(request, organization, form, job=None) -> dict:
    return {
        **_job_context(job),
        "organization": organization,
        "form": form,
        "nav": "imports",
        "reports": ProviderReport.objects.filter(organization=organization).order_by("-created_at")[
            :10
        ],
        "statements": BankStatement.objects.filter(organization=organization).order_by(
            "-created_at"
        )[:10],
        "can_import": request.user.has_perm(IMPORT),
    }


@desk_view
def imports(request, organization):
    """The upload form; a POST stores the file and queues its import (a Celery worker runs it)
    and answers the job's progress card, which polls ``import_job`` until the result is in.
    A refused form (no file, an empty one, no provider): 400 with the page, or for htmx a 200
    with the refusal in the card and the form with its errors."""
    form = ImportForm(request.POST or None, request.FILES or None)
    job = None
    if request.method == "POST":
        require(request, IMPORT, str(_("You may not import files.")))
        if form.is_valid():
            job = import_job_create(
                organization=organization,
                kind=form.cleaned_data["kind"],
                provider=form.cleaned_data.get("provider") or "",
                upload=form.cleaned_data["file"],
                actor=request.user,
            )
            if not request.htmx:
                return redirect(f"{request.path}?job={job.pk}")
    elif request.GET.get("job", "").isdigit():
        job = ImportJob.objects.filter(organization=organization, pk=request.GET["job"]).first()
    context = _context(request, organization, form, job)
    refused = request.method == "POST" and not form.is_valid()
    if request.htmx:
        # htmx swaps only 2xx answers: the refusal (the card's alert, and the form with its
        # errors out of band) is a 200, or it would never be shown.
        return render(request, "desk/partials/import_job.html", context)
    return render(request, "desk/imports.html", context, status=400 if refused else 200)


@desk_view
@require_GET
def import_job(request, organization, job_id: int):
    """One job's card (htmx polls it every second while it runs); 404 for another organisation's."""
    job = get_object_or_404(ImportJob, organization=organization, pk=job_id)
    if not request.htmx:
        return redirect(f"{reverse('desk:imports', args=[organization.slug])}?job={job.pk}")
    return render(
        request, "desk/partials/import_job.html", _context(request, organization, None, job)
    )
