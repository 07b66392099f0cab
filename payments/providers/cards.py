"""Card data every adapter handles the same way."""

from __future__ import annotations

import re
from typing import Any

_LONG_DIGITS = re.compile(r"\d{11,}")


def mask_pan(value: Any) -> str:
    """Keep a masked card number as the gateway gave it; mask anything that looks like a full
    number (first 6, last 4)."""
    text = str(value or "").strip()
    if _LONG_DIGITS.search(re.sub(r"[\s.-]", "", text)):
        digits = re.sub(r"\D", "", text)
        return f"{digits[:6]}{'*' * max(len(digits) - 10, 2)}{digits[-4:]}"
    return text[:32]
