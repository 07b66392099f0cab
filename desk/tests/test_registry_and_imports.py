# ruff: noqa: RUF001 (Armenian and Russian sentences)
"""A domain's section joins the period page through the registry; imports from the browser
answer with their result or the service's refusal, and only for those allowed to import."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from desk.models import ImportJob
from desk.registry import _sections, register_period_section
from desk.tests.conftest import PASSWORD
from reconciliation.models import ProviderReport

pytestmark = pytest.mark.django_db
HERE = Path(__file__).resolve().parent

REPORT = (
    b"order_number,provider_reference,amount,currency,status,paid_at,refunded_amount,fee\n"
    b"X-1,R-1,1000.00,AMD,paid,2026-11-03T10:00:00+04:00,0,15.00\n"
)


def test_a_registered_section_is_rendered_on_the_period_page(client, accountant, month, settings):
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], HERE / "templates"]}
    ]
    seen = {}

    def context(*, period, organization, lo, hi, user):
        seen.update(period=period, user=user)
        return {"rate": "87.5"}

    register_period_section(
        "test_billing",
        title="Subscriptions",
        template="desk_test/section.html",
        context=context,
        order=30,
    )
    try:
        client.login(username=accountant.username, password=PASSWORD)
        period = month["period"]
        html = client.get(
            reverse("desk:period", args=[period.organization.slug, period.pk])
        ).content.decode()
    finally:
        _sections.pop("test_billing")
    assert 'id="section-test_billing"' in html
    assert "collection rate 87.5" in html
    assert seen == {"period": period, "user": accountant}
    # Ordered by ``order``: payments (10) < this (30) < exception cases (60).
    assert html.index("section-payments") < html.index("section-test_billing")
    assert html.index("section-test_billing") < html.index("section-exceptions")


def _upload(client, organization, name, data, kind="report", **extra):
    return client.post(
        reverse("desk:imports", args=[organization.slug]),
        {"kind": kind, "provider": "arca", "file": SimpleUploadedFile(name, data)},
        **extra,
    )


def _poll(client, organization, job):
    return client.get(
        reverse("desk:import-job", args=[organization.slug, job.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()


def test_an_upload_is_queued_for_a_worker_after_commit(
    client, accountant, organization, django_capture_on_commit_callbacks
):
    """The request stores the file and queues the task by name after commit; it imports
    nothing itself (a worker does), and answers the job's card, which polls."""
    client.login(username=accountant.username, password=PASSWORD)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _upload(client, organization, "r.csv", REPORT, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    job = ImportJob.objects.get(organization=organization)
    assert job.status == "queued"
    assert job.progress == 0
    assert job.file_name == "r.csv"
    assert job.file.read() == REPORT
    assert 'data-status="queued"' in html
    assert reverse("desk:import-job", args=[organization.slug, job.pk]) in html
    assert 'hx-trigger="load delay:1s"' in html
    assert len(callbacks) == 1
    assert not ProviderReport.objects.filter(organization=organization).exists()


def test_the_worker_imports_and_the_poll_shows_the_result(
    client, accountant, organization, eager_celery, django_capture_on_commit_callbacks
):
    client.login(username=accountant.username, password=PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client, organization, "r.csv", REPORT, HTTP_HX_REQUEST="true")
    job = ImportJob.objects.get(organization=organization)
    assert (job.status, job.progress) == ("done", 100)
    assert job.report.rows_total == 1
    assert not job.file  # the stored upload is gone once imported
    html = _poll(client, organization, job)
    assert 'data-result="report"' in html
    assert "hx-get" not in html  # finished: the polling stops
    assert "1 row of r.csv imported" in html
    # The recent imports list beside the card is swapped in too (htmx out of band).
    assert 'id="recent-imports" aria-labelledby="recent-title" hx-swap-oob="true"' in html
    assert "<td>r.csv</td>" in html
    reasons = [h.history_change_reason for h in job.history.order_by("history_id")]
    assert reasons == ["import of r.csv queued", "import started", "import done"]
    # The same file again: refused by the service, shown on the card.
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client, organization, "r.csv", REPORT, HTTP_HX_REQUEST="true")
    again = ImportJob.objects.order_by("-pk").first()
    assert again.status == "failed"
    assert again.error_code == "report_already_imported"
    assert "was imported as report" in _poll(client, organization, again)


def test_a_malformed_report_is_refused_naming_the_line(
    client, accountant, organization, eager_celery, django_capture_on_commit_callbacks
):
    client.login(username=accountant.username, password=PASSWORD)
    bad = REPORT + b"X-2,R-2,-5,AMD,paid,2026-11-03T10:00:00+04:00,0,0\n"
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client, organization, "bad.csv", bad)
    job = ImportJob.objects.get(organization=organization)
    assert response.status_code == 302
    assert response["Location"].endswith(f"?job={job.pk}")
    html = client.get(response["Location"]).content.decode()
    assert 'data-result="refused"' in html
    # Once: the code's sentence, then the problem under "Line N" (the service's sentence
    # restated the problem, its line was a third card of its own: "3").
    assert html.count("bad amount &#x27;-5&#x27;") == 1
    assert "The file is malformed; nothing of it was written." in html
    assert "Line 3: bad amount &#x27;-5&#x27;: amount cannot be negative" in html
    assert '<p class="alert warn">3</p>' not in html
    assert not ProviderReport.objects.filter(organization=organization).exists()


@pytest.mark.parametrize(
    ("language", "sentence", "line"),
    [
        (
            "ru",
            "Файл повреждён или имеет неверный формат; из него ничего не записано.",
            "Строка 3: ",
        ),
        ("hy", "Ֆայլը սխալ ձևաչափով է․ դրանից ոչինչ չի գրանցվել։", "Տող 3՝ "),
    ],
)
def test_a_refused_import_speaks_the_language(
    client,
    accountant,
    organization,
    eager_celery,
    django_capture_on_commit_callbacks,
    language,
    sentence,
    line,
):
    """The service refuses in English (the API's language); the card says it in the page's
    language: the code's sentence and "Line N" (both were English in ru and hy)."""
    client.login(username=accountant.username, password=PASSWORD)
    client.post(reverse("set_language"), {"language": language, "next": "/desk/"})
    bad = REPORT + b"X-2,R-2,-5,AMD,paid,2026-11-03T10:00:00+04:00,0,0\n"
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client, organization, "bad.csv", bad, HTTP_HX_REQUEST="true")
    job = ImportJob.objects.get(organization=organization)
    html = _poll(client, organization, job)
    assert sentence in html
    assert line in html
    assert "Nothing of the file was written" not in html
    assert "line 3" not in html.lower()
    # The report already imported: its precise sentence (a report's id) has no translation,
    # the code's sentence is shown.
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client, organization, "r.csv", REPORT, HTTP_HX_REQUEST="true")
        _upload(client, organization, "r.csv", REPORT, HTTP_HX_REQUEST="true")
    again = ImportJob.objects.order_by("-pk").first()
    assert again.error_code == "report_already_imported"
    html = _poll(client, organization, again)
    assert "was imported as report" not in html
    assert {
        "ru": "Этот же файл уже импортирован; ничего не записано.",
        "hy": "Հենց այս ֆայլն արդեն ներմուծվել է․ ոչինչ չի գրանցվել։",
    }[language] in html
    # The provider is named in the language too (the recent imports showed its code, "arca").
    assert {"ru": "ArCa (шлюз BPC)", "hy": "ArCa (BPC դարպաս)"}[language] in html


def test_a_running_job_shows_its_reading_progress(client, accountant, organization):
    from django.core.cache import cache

    from desk.services import _progress_key

    job = ImportJob.objects.create(
        organization=organization,
        kind="report",
        provider="arca",
        file_name="big.csv",
        created_by=accountant,
        status="running",
        progress=5,
    )
    cache.set(_progress_key(job.pk), 42)
    client.login(username=accountant.username, password=PASSWORD)
    html = _poll(client, organization, job)
    assert 'value="42"' in html
    assert 'data-status="running"' in html
    assert 'hx-trigger="load delay:1s"' in html


def test_another_organisations_job_is_404(client, accountant, organization):
    from core.models import Organization

    other = Organization.objects.create(slug="gyumri-bakery", name="Gyumri Bakery")
    job = ImportJob.objects.create(
        organization=other,
        kind="report",
        provider="arca",
        file_name="x.csv",
        created_by=accountant,
    )
    client.login(username=accountant.username, password=PASSWORD)
    url = reverse("desk:import-job", args=[organization.slug, job.pk])
    assert client.get(url, HTTP_HX_REQUEST="true").status_code == 404


def test_operator_may_not_import(client, operator, organization):
    client.login(username=operator.username, password=PASSWORD)
    page = client.get(reverse("desk:imports", args=[organization.slug])).content.decode()
    assert "Only accountants import files." in page
    response = client.post(
        reverse("desk:imports", args=[organization.slug]),
        {"kind": "report", "provider": "arca", "file": SimpleUploadedFile("r.csv", REPORT)},
    )
    assert response.status_code == 403
    assert not ProviderReport.objects.exists()
    assert not ImportJob.objects.exists()


def _queued(client, accountant, organization, django_capture_on_commit_callbacks):
    """An uploaded job whose task has not run (its worker has not picked it up yet)."""
    client.login(username=accountant.username, password=PASSWORD)
    with django_capture_on_commit_callbacks(execute=False):
        _upload(client, organization, "r.csv", REPORT, HTTP_HX_REQUEST="true")
    return ImportJob.objects.get(organization=organization)


def test_a_job_imports_once_however_often_its_task_runs(
    client, accountant, organization, django_capture_on_commit_callbacks
):
    """A task delivered twice, or re-queued while its first copy runs, imports once; a run that
    died with its worker is taken over after its lease."""
    import datetime as dt

    from django.utils import timezone

    from desk.services import LEASE, import_job_run

    job = _queued(client, accountant, organization, django_capture_on_commit_callbacks)
    ImportJob.objects.filter(pk=job.pk).update(status="running", started_at=timezone.now())
    held = import_job_run(job=ImportJob.objects.get(pk=job.pk))
    assert held.status == "running"  # another run holds it: nothing imported here
    assert not ProviderReport.objects.filter(organization=organization).exists()
    stale = timezone.now() - LEASE - dt.timedelta(seconds=1)
    ImportJob.objects.filter(pk=job.pk).update(started_at=stale)
    done = import_job_run(job=ImportJob.objects.get(pk=job.pk))
    assert (done.status, done.progress) == ("done", 100)
    again = import_job_run(job=ImportJob.objects.get(pk=job.pk))
    assert again.status == "done"
    assert ProviderReport.objects.filter(organization=organization).count() == 1
    reasons = [h.history_change_reason for h in job.history.order_by("history_id")]
    assert reasons == ["import of r.csv queued", "import started", "import done"]


def test_the_sweeper_queues_again_a_job_whose_task_was_lost(
    client, accountant, organization, eager_celery, django_capture_on_commit_callbacks
):
    import datetime as dt

    from django.utils import timezone

    from desk.services import REQUEUE_AFTER, import_jobs_requeue

    lost = _queued(client, accountant, organization, django_capture_on_commit_callbacks)
    assert import_jobs_requeue() == 0  # just uploaded: its own task may still come
    ImportJob.objects.filter(pk=lost.pk).update(
        created_at=timezone.now() - REQUEUE_AFTER - dt.timedelta(seconds=1)
    )
    assert import_jobs_requeue() == 1  # the worker (inline here) imports it
    lost.refresh_from_db()
    assert (lost.status, lost.progress) == ("done", 100)
    assert ProviderReport.objects.filter(organization=organization).count() == 1
    assert import_jobs_requeue() == 0


@pytest.mark.parametrize(
    ("upload", "error"),
    [
        ({"file": SimpleUploadedFile("empty.csv", b"")}, "The submitted file is empty."),
        ({}, "This field is required."),
    ],
    ids=["empty-file", "no-file"],
)
def test_an_empty_or_missing_file_is_refused_in_place(
    client, accountant, organization, upload, error
):
    """htmx swaps only 2xx answers: its refusal is a 200 holding the form with the error (in
    the result card, the form itself out of band); a plain POST is a 400 with the whole page."""
    client.login(username=accountant.username, password=PASSWORD)
    url = reverse("desk:imports", args=[organization.slug])
    data = {"kind": "report", "provider": "arca", **upload}
    response = client.post(url, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="alert"' in html
    assert error in html
    assert 'id="import-form"' in html
    assert 'hx-swap-oob="true"' in html
    assert 'aria-invalid="true"' in html
    assert "<html" not in html  # a fragment, not the page
    if "file" in upload:
        upload["file"].seek(0)
    response = client.post(url, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "<html" in html
    assert error in html
    assert 'id="import-form"' in html
    assert not ImportJob.objects.exists()
