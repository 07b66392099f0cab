"""A service's refusal, in the person's language.

Services refuse in English (the API's language) with a stable code and a sentence
(``core.errors``), sometimes a precise one with figures in it ("... imported as report #5 on
...") and the reasons by field. The desk's catalogue holds the sentence of every code the
services it calls can refuse with (``REFUSAL_CODES``; ``desk/tests/test_locale.py`` checks it)
and their fixed precise sentences. So the desk shows:

- the precise sentence when the catalogue holds it, or in English;
- else its code's sentence, translated (the figures are lost in hy and ru, never the meaning);
- the code's sentence too when the precise one only restates a reason (a malformed file names
  its line and problem in both), so that nothing is said twice;
- then each reason, translated when the catalogue (the desk's or Django's) holds it; a problem's
  line as "Line N: <problem>". The ``line`` field itself is the line's number, no reason.
"""

from __future__ import annotations

import re

from django.utils.translation import get_language, gettext, gettext_noop

from core.errors import CoreError, ErrorCode, RequestError, error_catalogue
from exceptionqueue.errors import ExceptionQueueError
from payments.errors import PaymentError
from reconciliation.errors import ReconciliationError

# What the services the desk calls (close, reopen, open a month, resolve a case, import a
# report or a statement) refuse with.
REFUSAL_CODES: tuple[ErrorCode, ...] = (
    CoreError.TRANSITION_NOT_ALLOWED,
    CoreError.REASON_REQUIRED,
    CoreError.PERIOD_CLOSED,
    CoreError.PERIOD_OVERLAP,
    CoreError.PERIOD_BLOCKED,
    CoreError.PERMISSION_DENIED,
    RequestError.INVALID,
    ExceptionQueueError.RESOLUTION_NOTE_REQUIRED,
    PaymentError.UNKNOWN_PROVIDER,
    *ReconciliationError,
)
# The desk's own codes (an import that stopped on an unexpected error: ``desk.services``).
DESK_SENTENCES = {
    "internal_error": gettext_noop(
        "The import stopped on an unexpected error; nothing was written."
    ),
}
# The services' fixed precise sentences and reasons the desk may show (the catalogue holds them).
PRECISE = (
    gettext_noop("This accounting period is closed."),
    gettext_noop("Say why the period is reopened."),
    gettext_noop("You may not reopen accounting periods."),
    gettext_noop("The period ends before it starts."),
    gettext_noop("Before start."),
    gettext_noop("the file is empty"),
)
LINE = re.compile(r"^line (\d+): (.*)$", re.S)


def _code_sentence(code: str) -> str | None:
    if code in DESK_SENTENCES:
        return gettext(DESK_SENTENCES[code])
    member = error_catalogue().get(code)
    return gettext(member.sentence) if member is not None else None


def _reason(text: str) -> str:
    found = LINE.match(text)
    if found:
        return gettext("Line %(line)s: %(problem)s") % {
            "line": found[1],
            "problem": gettext(found[2]),
        }
    return gettext(text)


def refusal_texts(
    code: str, message: str, fields: dict[str, list[str]] | None = None
) -> tuple[str, list[str]]:
    """``(sentence, reasons)`` to show for a refusal, in the active language."""
    reasons = [
        str(reason)
        for field, listed in (fields or {}).items()
        if field != "line"
        for reason in listed
        if str(reason) != message
    ]
    translated = gettext(message)
    english = (get_language() or "en").startswith("en")
    restates = any(reason in message for reason in reasons)
    if restates or (translated == message and not english):
        sentence = _code_sentence(code) or translated
    else:
        sentence = translated
    shown = [_reason(reason) for reason in reasons]
    return sentence, [reason for reason in shown if reason != sentence]
