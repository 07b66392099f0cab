"""The desk speaks Armenian and Russian from committed .mo files (no gettext needed at run
time): every text is in the table, the .mo files are not stale, pages render translated."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone, translation

import desk
from desk.locale import translations
from desk.tests.conftest import PASSWORD

ROOT = Path(desk.__file__).resolve().parent
TEMPLATES = ROOT.parent / "templates" / "desk"
# The sections the domains register: their templates and modules (``<app>/desk.py``), whose
# texts the desk's table holds too (one compiled catalogue, no msgfmt).
DOMAIN_TEMPLATES = sorted(ROOT.parent.glob("*/templates/*/desk/*.html"))
DOMAIN_MODULES = sorted(ROOT.parent.glob("*/desk.py"))
# The exception kinds' labels (each app's ``exception_kinds.py``), shown on the desk's pages.
KIND_MODULES = sorted(ROOT.parent.glob("*/exception_kinds.py"))
# The domains' sentences shown by the desk and the admin alike (``<app>/texts.py``).
TEXT_MODULES = sorted(ROOT.parent.glob("*/texts.py"))


def template_msgids() -> set[str]:
    found = set()
    for path in [*TEMPLATES.rglob("*.html"), *DOMAIN_TEMPLATES]:
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'{% translate "([^"]+)"', text))
        found |= set(re.findall(r"{% translate '([^']+)'", text))
    return found


def code_msgids() -> set[str]:
    found = set()
    assert DOMAIN_MODULES, "billing/desk.py and appointments/desk.py register sections"
    assert len(KIND_MODULES) >= 6, (
        "payments, payouts, billing, appointments, reconciliation, webhooks"
    )
    assert TEXT_MODULES, "reconciliation/texts.py: the close refusal's sentences"
    for path in [*ROOT.rglob("*.py"), *DOMAIN_MODULES, *KIND_MODULES, *TEXT_MODULES]:
        if "tests" in path.parts or "locale" in path.parts:
            continue
        found |= translations.used_msgids(path.read_text(encoding="utf-8"))
    return found


def test_every_text_of_the_templates_and_code_is_translated():
    table = set(translations.catalogue("ru"))
    missing = sorted((template_msgids() | code_msgids()) - table)
    assert not missing, f"not in desk/locale/translations.py: {missing}"


def test_every_refusal_and_provider_the_desk_shows_is_translated():
    """The sentences of the codes the desk's services refuse with (``desk.refusals``) and the
    providers' names: they were shown in English in hy and ru."""
    from desk.refusals import REFUSAL_CODES
    from payments.models import Provider

    table = set(translations.catalogue("ru"))
    wanted = {member.sentence for member in REFUSAL_CODES} | {p.label for p in Provider}
    missing = sorted(wanted - table)
    assert not missing, f"not in desk/locale/domain_texts.py: {missing}"


@pytest.mark.parametrize("language", ["hy", "ru"])
def test_compiled_catalogue_is_not_stale(language):
    folder = ROOT / "locale" / language / "LC_MESSAGES"
    with (folder / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for msgid, msgstr in translations.catalogue(language).items():
        assert msgstr, f"{language}: {msgid!r} is empty"
        if "\0" in msgid:
            singular, plural = msgid.split("\0")
            assert compiled.ngettext(singular, plural, 1) == msgstr.split("\0")[0]
        else:
            assert compiled.gettext(msgid) == msgstr, f"{language}: run desk/locale/translations.py"
    po = (folder / "django.po").read_text(encoding="utf-8")
    assert po.count("msgid ") - 1 == len(translations.T)


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("hy", ["Հաշվապահական ժամանակաշրջաններ", "Փակել ժամանակաշրջանը…", "Բաց"]),
        ("ru", ["Учётные периоды", "Закрыть период…", "Открыт", "Подтверждено"]),
    ],
)
@pytest.mark.django_db
def test_period_page_speaks_the_language(client, accountant, organization, month, language, words):
    client.login(username=accountant.username, password=PASSWORD)
    client.post(reverse("set_language"), {"language": language, "next": "/desk/"})
    response = client.get(reverse("desk:period", args=[organization.slug, month["period"].pk]))
    html = response.content.decode()
    for word in words:
        assert word in html
    assert "Close period…" not in html
    with translation.override(language):
        assert translation.gettext("Verified") != "Verified"


@pytest.mark.parametrize(
    ("language", "label"),
    [
        ("hy", "Պրովայդերի հաշվետվության տող, որը payops-ը չգիտի"),
        ("ru", "Строка отчёта провайдера, неизвестная payops"),
    ],
)
@pytest.mark.django_db
def test_exception_kind_labels_speak_the_language(
    client, accountant, organization, month, language, label
):
    """The month's blocker (a row payops does not know) is named in the page's language, in the
    blockers and in the open cases by kind (the labels were English in hy and ru)."""
    client.login(username=accountant.username, password=PASSWORD)
    client.post(reverse("set_language"), {"language": language, "next": "/desk/"})
    response = client.get(reverse("desk:period", args=[organization.slug, month["period"].pk]))
    html = response.content.decode()
    assert html.count(label) >= 2
    assert "Provider report row payops does not know" not in html


# Dates a page must not show (another format of the same locale), and the one it shows.
OTHER_DATE_FORMATS = {
    "en": [r"\b\d{1,2}/\d{1,2}/\d{4}\b", r"\b[A-Z][a-z]{2}\. \d{1,2}, \d{4}", r"\b\d{2}\.\d{2}\b"],
    "ru": [r"\d{1,2} [а-я]+ \d{4} г\.", r"\b\d{1,2}/\d{1,2}/\d{4}\b"],  # noqa: RUF001
    "hy": [r"\b\d{1,2}/\d{1,2}/\d{4}\b", r"\d{1,2} [Ա-Ֆա-ֆ]+ \d{4}"],
}


@pytest.mark.parametrize("language", ["en", "ru", "hy"])
@pytest.mark.django_db
def test_one_date_format_per_locale_on_every_page(
    client, accountant, organization, month, language
):
    """The period page, the periods list and the imports page write every date in the
    locale's one short format (en: 1 Nov 2026; ru, hy: 01.11.2026), never a second one."""
    from reconciliation.models import ReconciliationRun
    from reconciliation.services import reconciliation_run

    reconciliation_run(
        organization=organization,
        start=month["today"],
        end=month["today"],
        actor=accountant,
        trigger=ReconciliationRun.Trigger.MANUAL,
    )
    client.login(username=accountant.username, password=PASSWORD)
    client.post(reverse("set_language"), {"language": language, "next": "/desk/"})
    start = month["start"]
    with translation.override(language):
        from django.utils.formats import date_format

        expected = date_format(start, "SHORT_DATE_FORMAT")
    assert expected == {"en": f"1 {start:%b %Y}"}.get(language, f"01.{start:%m.%Y}")
    for name, args in (
        ("desk:period", [organization.slug, month["period"].pk]),
        ("desk:periods", [organization.slug]),
    ):
        html = client.get(reverse(name, args=args)).content.decode()
        text = re.sub(r"<(script|svg|style)\b.*?</\1>", "", html, flags=re.S)
        text = re.sub(r"<[^>]+>", " ", text)
        assert expected in text, name
        for pattern in OTHER_DATE_FORMATS[language]:
            assert not re.search(pattern, text), (name, re.search(pattern, text).group(0))


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("hy", ["Ձեռքով (հրաման կամ API)", "Որոշել #"]),
        ("ru", ["Вручную (команда или API)", "Решить расхождение из-за возврата по выплате #"]),
    ],
)
@pytest.mark.django_db
def test_run_trigger_and_case_decision_speak_the_language(
    client, accountant, organization, django_capture_on_commit_callbacks, language, words
):
    """The reconciliation run's type (a model choice) and the link to decide a payout's refund
    drift were English on the period page in hy and ru."""
    import io

    from core.models import Branch
    from payouts.demo import seed_demo
    from reconciliation.models import ReconciliationRun
    from reconciliation.services import accounting_period_month, reconciliation_run

    cafe = organization  # the payouts demo's cafe
    for code in ("northern-avenue", "cascade"):
        Branch.objects.create(organization=cafe, code=code, name=code)
    with django_capture_on_commit_callbacks(execute=True):
        seed_demo(stdout=io.StringIO())
    today = timezone.localtime(timezone.now(), cafe.tz).date()
    period = accounting_period_month(organization=cafe, day=today, actor=accountant)
    reconciliation_run(
        organization=cafe,
        start=today,
        end=today,
        actor=accountant,
        trigger=ReconciliationRun.Trigger.MANUAL,
    )
    client.login(username=accountant.username, password=PASSWORD)
    client.post(reverse("set_language"), {"language": language, "next": "/desk/"})
    html = client.get(reverse("desk:period", args=[cafe.slug, period.pk])).content.decode()
    for word in words:
        assert word in html
    assert "Manual (command or API)" not in html
    assert "Decide the refund drift" not in html
