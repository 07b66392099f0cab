"""The janitor's schedule: pending payments are looked up again on a backoff, then expire.

The n-th lookup of a pending payment happens ``BACKOFF_SECONDS[n]`` seconds after the previous
one (the last value repeats), and a payment still pending after its ``expires_at`` (the
payment window) plus ``EXPIRY_GRACE`` is looked up a last time and, unless the gateway says it
was paid, expired.
"""

from __future__ import annotations

from datetime import timedelta

# 1 min, 2 min, 5 min, 10 min, 30 min, then hourly.
BACKOFF_SECONDS = (60, 120, 300, 600, 1800, 3600)
EXPIRY_GRACE = timedelta(minutes=10)
BATCH_SIZE = 200


def backoff_delay(attempts: int) -> timedelta:
    """Delay before the next lookup after ``attempts`` lookups were made."""
    index = min(attempts, len(BACKOFF_SECONDS) - 1)
    return timedelta(seconds=BACKOFF_SECONDS[index])


# A payment the janitor expired at a gateway with a status lookup is looked up once more this
# long after its expiry: a customer who finished paying (slow 3-D Secure) after the last lookup
# is then found, also for accounts that receive no callbacks (ArCa without a checksum key), and
# listed as a late payment.
FINAL_CHECK_AFTER = timedelta(hours=1)

# While the gateway cannot be reached, a pending payment is kept (it may be paid) this long
# after its window, then expired.
UNKNOWN_GIVE_UP = timedelta(hours=24)

# A refund still pending this long after it was requested has an unknown outcome (gateway
# timeout, crash after the call): the refund janitor looks it up (every 5 minutes, at most
# once per REFUND_RECHECK per refund) and lists it as a ``refund_stuck`` exception case while it
# cannot be settled.
REFUND_STUCK_AFTER = timedelta(minutes=15)
REFUND_RECHECK = timedelta(minutes=30)
