"""The desk speaks Armenian and Russian from committed .mo files (no gettext needed at run
time): every text is in the table, the .mo files are not stale, pages render translated."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation

import desk
from desk.locale import translations
from desk.tests.conftest import PASSWORD

ROOT = Path(desk.__file__).resolve().parent
TEMPLATES = ROOT.parent / "templates" / "desk"
# The sections the domains register: their templates and modules (``<app>/desk.py``), whose
# texts the desk's table holds too (one compiled catalogue, no msgfmt).
DOMAIN_TEMPLATES = sorted(ROOT.parent.glob("*/templates/*/desk/*.html"))
DOMAIN_MODULES = sorted(ROOT.parent.glob("*/desk.py"))


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
    for path in [*ROOT.rglob("*.py"), *DOMAIN_MODULES]:
        if "tests" in path.parts or "locale" in path.parts:
            continue
        found |= translations.used_msgids(path.read_text(encoding="utf-8"))
    return found


def test_every_text_of_the_templates_and_code_is_translated():
    table = set(translations.catalogue("ru"))
    missing = sorted((template_msgids() | code_msgids()) - table)
    assert not missing, f"not in desk/locale/translations.py: {missing}"


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
