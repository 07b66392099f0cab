"""Standard Webhooks secrets and signatures (through the ``standardwebhooks`` library)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105  (a prefix, not a secret)
SECRET_BYTES = 32  # the spec asks for 24 to 64 random bytes


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def fingerprint(secret: str) -> str:
    """A short, non-reversible name for a secret (shown in the admin instead of any of it)."""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:12]


def signature_header(*, secrets_: list[str], msg_id: str, timestamp: dt.datetime, body: str) -> str:
    """``v1,<sig>`` for every valid secret, space-separated (two during a rotation overlap).

    ``timestamp`` must be UTC: the library reads it as UTC whatever its tzinfo says.
    """
    utc = timestamp.astimezone(dt.UTC)
    return " ".join(Webhook(secret).sign(msg_id, utc, body) for secret in secrets_)


def headers(*, secrets_: list[str], msg_id: str, timestamp: dt.datetime, body: str) -> dict:
    utc = timestamp.astimezone(dt.UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(utc.timestamp())),
        "webhook-signature": signature_header(
            secrets_=secrets_, msg_id=msg_id, timestamp=utc, body=body
        ),
        "content-type": "application/json",
        "user-agent": "payops-webhooks/1",
    }
