"""A small pluggable SMS backend, like Django's e-mail backends.

``settings.PAYOPS_SMS_BACKEND`` names a class with ``send(to: str, text: str) -> None``
(raise on failure). The default, ``billing.sms.ConsoleBackend``, writes the message to stdout;
``billing.sms.LocmemBackend`` keeps messages in ``billing.sms.outbox`` (tests).
"""

from __future__ import annotations

import sys

from django.conf import settings
from django.utils.module_loading import import_string

outbox: list[dict[str, str]] = []


class ConsoleBackend:
    def send(self, to: str, text: str) -> None:
        sys.stdout.write(f"SMS to {to}: {text}\n")
        sys.stdout.flush()


class LocmemBackend:
    def send(self, to: str, text: str) -> None:
        outbox.append({"to": to, "text": text})


def get_backend():
    dotted = getattr(settings, "PAYOPS_SMS_BACKEND", "") or "billing.sms.ConsoleBackend"
    return import_string(dotted)()
