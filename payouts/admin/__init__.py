"""Operators' and accountants' admin for payouts.

Rows are read-only here; every change goes through ``payouts.services``. Transition buttons post
to our own views, which check the actor's permission for that transition on every request (a
crafted POST without it is refused, with the reason, in the admin's layout), ask for method and
reference where needed, and call the service, whose refusals are shown with the API's words.
Accountants add recipients and periods (``recipient_create``, ``period_create``), close periods
(with a warning before a period has ended, and the count of payouts the close built) and reverse
completed payouts (``payout_reverse``). Period pages and the payouts list show their figures.
simple-history's "revert" POST is refused: it would save a whole old row, state included.
"""

from payouts.admin import payments, payouts, periods, recipients  # noqa: F401 - registers them
