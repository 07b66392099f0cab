"""The reminder texts are shipped compiled (.mo beside .po, so no msgfmt is needed to run or
test payops): both must say the same, and every text must be translated."""

import gettext
import re
from pathlib import Path

import pytest
from django.utils import translation

import billing
from billing.services import dunning

LOCALE = Path(billing.__file__).parent / "locale"


def po_entries(path: Path) -> dict[str, str]:
    entries, text = {}, path.read_text(encoding="utf-8")
    for msgid, msgstr in re.findall(r'^msgid "(.*)"\nmsgstr "(.*)"$', text, flags=re.M):
        if msgid:
            entries[msgid] = msgstr.replace('\\"', '"')
    return entries


@pytest.mark.parametrize("language", ["hy", "ru"])
def test_compiled_catalogue_matches_its_source(language):
    folder = LOCALE / language / "LC_MESSAGES"
    entries = po_entries(folder / "django.po")
    with (folder / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    assert entries
    for msgid, msgstr in entries.items():
        assert msgstr, f"{language}: {msgid!r} is not translated"
        assert compiled.gettext(msgid) == msgstr, f"{language}: django.mo is stale; run msgfmt"


@pytest.mark.parametrize("language", ["hy", "ru"])
def test_every_reminder_text_is_in_the_catalogue(language):
    source = Path(dunning.__file__).read_text(encoding="utf-8")
    used = set(re.findall(r'_\(\s*"([^"]+)"', source))
    assert used
    assert used <= set(po_entries(LOCALE / language / "LC_MESSAGES" / "django.po"))
    with translation.override(language):
        for msgid in used:
            assert translation.gettext(msgid) != msgid
