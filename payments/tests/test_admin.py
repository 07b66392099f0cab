"""Admin: provider accounts are scoped to the user's organisations; refunds resolve; reinstate."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from core.models import Membership
from payments.models import ProviderAccount


def staff(organization, *codenames, name="clerk"):
    user = User.objects.create_user(name, password="x", is_staff=True)
    Membership.objects.create(user=user, organization=organization)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="payments", codename__in=codenames)
    )
    return user


PERMS = ("view_provideraccount", "add_provideraccount", "change_provideraccount")


def test_provider_account_organisation_choices_are_the_users(
    client, organization, other_organization
):
    client.force_login(staff(organization, *PERMS))
    page = client.get(reverse("admin:payments_provideraccount_add"))
    assert page.status_code == 200
    choices = [str(o) for o in page.context["adminform"].form.fields["organization"].queryset]
    assert choices == [str(organization)]
    response = client.post(
        reverse("admin:payments_provideraccount_add"),
        {
            "organization": other_organization.pk,
            "provider": "arca",
            "is_active": "on",
            "base_url": "https://ipay.arca.am/payment/rest/",
            "username": "u",
            "password": "p",
            "config": "{}",
            "payment_window_seconds": 1200,
        },
    )
    assert response.status_code == 200  # the form refuses the foreign organisation
    assert not ProviderAccount.objects.exists()


def test_provider_account_organisation_is_read_only_and_base_url_checked(
    client, organization, settings
):
    settings.DEBUG = False
    account = ProviderAccount.objects.create(
        organization=organization, provider="arca", username="u", password="p"
    )
    client.force_login(staff(organization, *PERMS))
    url = reverse("admin:payments_provideraccount_change", args=[account.pk])
    page = client.get(url)
    assert "organization" not in page.context["adminform"].form.fields
    response = client.post(
        url,
        {
            "is_active": "on",
            "base_url": "https://169.254.169.254/latest/",
            "username": "u",
            "config": "{}",
            "payment_window_seconds": 1200,
        },
    )
    assert response.status_code == 200
    assert "not a known arca gateway host" in response.content.decode()
    account.refresh_from_db()
    assert account.base_url == ""


@pytest.mark.django_db
def test_superuser_sees_every_organisation(admin_client, organization, other_organization):
    page = admin_client.get(reverse("admin:payments_provideraccount_add"))
    queryset = page.context["adminform"].form.fields["organization"].queryset
    assert set(queryset) == {organization, other_organization}


@pytest.mark.django_db(transaction=True)
def test_resolve_action_leaves_a_refund_in_flight_pending(admin_client, organization, branch):
    """C1: the admin action never settles a refund whose gateway call has not ended."""
    from decimal import Decimal

    from core.actors import system_actor
    from exceptionqueue.models import ExceptionCase
    from payments import services
    from payments.models import Refund
    from payments.tests.factories import make_payment

    payment = make_payment(organization=organization, branch=branch, verified=True)
    refund, _ = services.refund_reserve(
        payment=payment, amount=Decimal("100.00"), reason="r", actor=system_actor("t")
    )
    response = admin_client.post(
        reverse("admin:payments_refund_changelist"),
        {"action": "resolve_at_gateway", "_selected_action": [refund.pk]},
        follow=True,
    )
    assert response.status_code == 200
    refund.refresh_from_db()
    assert refund.status == Refund.Status.PENDING
    assert "still pending" in response.content.decode()
    assert not ExceptionCase.objects.filter(kind="refund_stuck").exists()


# --- issue 9: refunds on the payment page ---------------------------------------------------------


@pytest.fixture
def paid_payment(organization, branch, system_user):
    from payments.services import sandbox_pay
    from payments.tests.factories import make_payment

    payment = make_payment(organization=organization, branch=branch, amount="2500.00")
    return sandbox_pay(payment=payment, outcome="approved", actor=system_user)


def refund_url(payment):
    return reverse("admin:payments_payment_refund", args=[payment.pk])


def test_operator_refunds_from_the_payment_page(client, organization, paid_payment):
    from payments.models import Refund

    assert paid_payment.status == "verified"
    client.force_login(staff(organization, "view_payment", "refund_payment"))
    page = client.get(reverse("admin:payments_payment_change", args=[paid_payment.pk]))
    assert refund_url(paid_payment).encode() in page.content
    form = client.get(refund_url(paid_payment))
    assert form.status_code == 200
    assert b"Refundable now" in form.content
    assert b"2500.00 AMD" in form.content
    key = form.context["form"].initial["idempotency_key"]
    no_reason = client.post(
        refund_url(paid_payment), {"amount": "1000.00", "reason": "", "idempotency_key": key}
    )
    assert no_reason.status_code == 200
    assert b"A refund needs a reason." in no_reason.content  # the service's words
    data = {"amount": "1000.00", "reason": "charged twice", "idempotency_key": key}
    assert client.post(refund_url(paid_payment), data).status_code == 302
    assert client.post(refund_url(paid_payment), data).status_code == 302  # a double submit
    refund = Refund.objects.get(payment=paid_payment)  # one refund, not two
    assert (refund.amount, refund.status, refund.actor.username) == (1000, "succeeded", "clerk")
    paid_payment.refresh_from_db()
    assert paid_payment.status == "partially_refunded"
    again = client.get(refund_url(paid_payment))
    assert again.context["refundable"] == 1500


def test_refund_without_the_permission_is_refused_with_the_reason(
    client, organization, paid_payment
):
    from payments.models import Refund

    client.force_login(staff(organization, "view_payment"))  # an accountant's view
    page = client.get(reverse("admin:payments_payment_change", args=[paid_payment.pk]))
    assert refund_url(paid_payment).encode() not in page.content
    response = client.post(
        refund_url(paid_payment), {"amount": "100.00", "reason": "x", "idempotency_key": "k"}
    )
    assert response.status_code == 403
    assert b"payments.refund_payment" in response.content  # why, in the admin's layout
    assert b'id="header"' in response.content
    assert not Refund.objects.exists()
