"""The demo's refund drift is a real one, made through the services, about a payout."""

from __future__ import annotations

import io

from core.models import Branch, Organization
from exceptionqueue.models import ExceptionCase
from payouts.demo import seed_demo
from payouts.models import Payout


def test_demo_drift_case_names_its_payout_and_is_decided_there(
    db, django_capture_on_commit_callbacks
):
    organization = Organization.objects.create(slug="yerevan-cafe", name="Yerevan Cafe")
    for code in ("northern-avenue", "cascade"):
        Branch.objects.create(organization=organization, code=code, name=code)
    for _ in range(2):  # idempotent: the second run makes no second drift
        with django_capture_on_commit_callbacks(execute=True):
            seed_demo(stdout=io.StringIO())
    case = ExceptionCase.objects.get(kind="refund_drift")
    held = Payout.objects.get(drift_hold=True)
    assert case.subject == held
    assert (held.status, held.recipient.external_ref) == ("processing", "cafe-w-mariam")
    assert case.amount == 1500
    # It does not sit in the demo's closed week: that period is closed and built.
    assert held.accounting_period is None
    assert not ExceptionCase.objects.filter(kind="refund_drift", subject_id="").exists()
