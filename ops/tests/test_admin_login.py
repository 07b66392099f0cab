"""Staff sign-in: rate-limited by django-axes (in the database, so a Redis outage changes
nothing), and a TOTP code for staff who can complete payouts or refund money."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.roles import ACCOUNTANT, OPERATOR, roles_sync

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/?next=/admin/"
AXES_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]


@pytest.fixture
def axes_on(settings):
    settings.AUTHENTICATION_BACKENDS = AXES_BACKENDS
    settings.AXES_FAILURE_LIMIT = 3
    return settings


def _staff(username, role=None, *, superuser=False):
    roles_sync()
    model = get_user_model()
    if superuser:
        return model.objects.create_superuser(username, password="right-horse-battery")
    user = model.objects.create_user(username, password="right-horse-battery", is_staff=True)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def _login(client, username, password="right-horse-battery", otp_token=""):
    return client.post(LOGIN, {"username": username, "password": password, "otp_token": otp_token})


def _code(device) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def test_login_page_renders_with_the_code_field(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert b'name="otp_token"' in response.content


def test_repeated_failures_lock_the_account_out_even_with_the_right_password(axes_on):
    _staff("anna", ACCOUNTANT)
    client = Client()
    for _ in range(2):
        assert _login(client, "anna", "wrong").status_code == 200  # the form again
    assert _login(client, "anna", "wrong").status_code == 429  # the third: locked out
    response = _login(client, "anna")
    assert response.status_code == 429
    assert "/admin/" not in response.get("Location", "")


def test_a_lockout_is_per_user_name_and_address(axes_on):
    _staff("anna", ACCOUNTANT)
    for _ in range(3):
        _login(Client(REMOTE_ADDR="10.0.0.9"), "anna", "wrong")
    # From the office the account still works: an attacker elsewhere cannot lock her out.
    assert _login(Client(REMOTE_ADDR="10.0.0.1"), "anna").status_code == 302


def test_sign_in_works_and_is_limited_with_redis_down(axes_on):
    axes_on.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.1, "socket_timeout": 0.1},
        }
    }
    _staff("anna", ACCOUNTANT)
    assert _login(Client(), "anna").status_code == 302
    client = Client()
    for _ in range(3):
        _login(client, "anna", "wrong")
    assert _login(client, "anna").status_code == 429


def test_otp_is_not_asked_of_staff_who_cannot_move_money(settings):
    settings.PAYOPS_ADMIN_OTP_REQUIRED = True
    _staff("anna", ACCOUNTANT)
    client = Client()
    assert _login(client, "anna").status_code == 302
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("who", ["operator", "superuser"])
def test_money_movers_need_the_code(settings, who):
    settings.PAYOPS_ADMIN_OTP_REQUIRED = True
    user = _staff(who, OPERATOR, superuser=who == "superuser")
    client = Client()
    # Not enrolled: refused with a sentence saying so.
    response = _login(client, who)
    assert response.status_code == 200
    assert b"second factor" in response.content
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    assert _login(client, who).status_code == 200  # no code
    assert (
        _login(
            client, who, otp_token="000000" if _code(device) != "000000" else "111111"
        ).status_code
        == 200
    )
    assert client.get("/admin/").status_code == 302  # still not in
    # django-otp also slows down guessing on the device itself: wait out its throttle.
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_count=0, throttling_failure_timestamp=None
    )
    response = _login(client, who, otp_token=_code(device))
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_session_without_the_second_factor_is_not_enough(settings):
    """force_login (a password-only session) of a money mover reaches no admin page."""
    settings.PAYOPS_ADMIN_OTP_REQUIRED = True
    user = _staff("op", OPERATOR)
    client = Client()
    client.force_login(user)
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/payouts/payout/").status_code == 302


def test_wrong_codes_count_as_failed_logins(axes_on):
    axes_on.PAYOPS_ADMIN_OTP_REQUIRED = True
    user = _staff("op", OPERATOR)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    wrong = "000000" if _code(device) != "000000" else "111111"
    for _ in range(3):
        _login(client, "op", otp_token=wrong)
    assert _login(client, "op", otp_token=_code(device)).status_code == 429


def test_the_switch_turns_it_off(settings):
    settings.PAYOPS_ADMIN_OTP_REQUIRED = False
    _staff("op", OPERATOR)
    client = Client()
    assert _login(client, "op").status_code == 302
    assert client.get("/admin/").status_code == 200
