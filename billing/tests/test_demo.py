import io

import pytest

from billing.models import BillingPeriod, Subscription
from core.models import Organization

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_has_periods_in_every_state_and_is_idempotent():
    from django.apps import apps

    config = apps.get_app_config("billing")
    config.seed_demo(io.StringIO())
    organization = Organization.objects.get(slug="ararat-fitness")
    states = set(
        BillingPeriod.objects.filter(organization=organization).values_list("status", flat=True)
    )
    assert states == set(BillingPeriod.Status.values)
    assert Subscription.objects.filter(status="trialing").count() == 1
    before = BillingPeriod.objects.count()
    out = io.StringIO()
    config.seed_demo(out)
    assert BillingPeriod.objects.count() == before
    assert "already" in out.getvalue()
