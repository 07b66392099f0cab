"""Imports from the browser: a provider report or a bank statement, with progress and result.

The upload shows its progress in the page (htmx's upload progress events); the import runs in
reconciliation's service; the answer is the result card (rows, dates covered, matches) or the
service's refusal with the line it names.
"""

from __future__ import annotations

from django import forms
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from desk.views.access import IMPORT, desk_view, require
from payments.models import Provider
from reconciliation.models import BankStatement, ProviderReport
from reconciliation.services import bank_statement_import, provider_report_import

MAX_UPLOAD = 200 * 1024 * 1024


class ImportForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What is it?"),
        choices=[("report", _("Provider report")), ("statement", _("Bank statement"))],
        widget=forms.RadioSelect,
        initial="report",
    )
    provider = forms.ChoiceField(
        label=_("Provider (for a report)"), choices=Provider.choices, required=False
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


def _run(form, organization, user) -> dict:
    upload = form.cleaned_data["file"]
    if form.cleaned_data["kind"] == "statement":
        statement = bank_statement_import(
            organization=organization, data=upload.read(), actor=user, file_name=upload.name
        )
        lines = statement.lines.all()
        return {
            "statement": statement,
            "lines": lines.count(),
            "matched": lines.filter(payout__isnull=False).count(),
            "debits": lines.filter(amount__lt=0).count(),
        }
    report = provider_report_import(
        organization=organization,
        provider=form.cleaned_data["provider"],
        file=upload,
        actor=user,
        file_name=upload.name,
    )
    return {"report": report}


@desk_view
def imports(request, organization):
    form = ImportForm(request.POST or None, request.FILES or None)
    result, error = None, None
    if request.method == "POST":
        require(request, IMPORT, str(_("You may not import files.")))
        if form.is_valid():
            try:
                result = _run(form, organization, request.user)
            except DomainError as exc:
                error = exc
    context = {
        "organization": organization,
        "form": form,
        "nav": "imports",
        "result": result,
        "error": error,
        "reports": ProviderReport.objects.filter(organization=organization).order_by("-created_at")[
            :10
        ],
        "statements": BankStatement.objects.filter(organization=organization).order_by(
            "-created_at"
        )[:10],
        "can_import": request.user.has_perm(IMPORT),
    }
    template = "desk/partials/import_result.html" if request.htmx else "desk/imports.html"
    status = 400 if (request.method == "POST" and (error or not form.is_valid())) else 200
    return render(request, template, context, status=status)
