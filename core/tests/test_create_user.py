"""`manage.py create_user USERNAME --org SLUG --role ROLE`, through `staff_user_ensure`."""

from __future__ import annotations

import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from core.models import Membership, Organization
from core.roles import ACCOUNTANT, OPERATOR

STRONG = "Kond-Hill-Apricot-42"


def run(*args) -> list[str]:
    out = StringIO()
    call_command("create_user", *args, stdout=out)
    return out.getvalue().splitlines()


@pytest.fixture
def no_password_env(monkeypatch):
    monkeypatch.delenv("PAYOPS_USER_PASSWORD", raising=False)


def roles(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def test_creates_a_staff_login_with_a_generated_password_printed_once(
    organization, no_password_env
):
    lines = run("ani", "--org", organization.slug, "--role", "operator")
    user = get_user_model().objects.get(username="ani")
    assert user.is_staff
    assert user.is_active
    assert not user.is_superuser
    assert roles(user) == {OPERATOR}
    assert Membership.objects.filter(user=user, organization=organization).exists()
    password = lines[-1].removeprefix("Password: ")
    assert lines[-1].startswith("Password: ")
    assert len(password) >= 16
    assert user.check_password(password)
    # The login works in the admin and shows the organisation's data.
    browser = Client()
    assert browser.login(username="ani", password=password)
    assert browser.get("/admin/").status_code == 200
    # Audited: the membership's history names the CLI and the role.
    record = Membership.objects.get(user=user).history.get()
    assert record.history_user.username == "system.cli"
    assert "operator" in record.history_change_reason.lower()
    # Idempotent: a second run changes nothing and prints no password.
    again = run("ani", "--org", organization.slug, "--role", "operator")
    assert not any(line.startswith("Password") for line in again)
    user.refresh_from_db()
    assert user.check_password(password)
    assert Membership.objects.filter(user=user).count() == 1
    assert roles(user) == {OPERATOR}


def test_password_from_the_environment_and_role_update(organization, monkeypatch):
    monkeypatch.setenv("PAYOPS_USER_PASSWORD", STRONG)
    lines = run("ani", "--org", organization.slug, "--role", "operator")
    assert not any(STRONG in line for line in lines)  # never echoed
    user = get_user_model().objects.get(username="ani")
    assert user.check_password(STRONG)
    monkeypatch.setenv("PAYOPS_USER_PASSWORD", STRONG + "!")
    run("ani", "--org", organization.slug, "--role", "accountant")
    user.refresh_from_db()
    assert roles(user) == {ACCOUNTANT}  # the role is replaced, not added
    assert user.check_password(STRONG + "!")
    other = Organization.objects.create(slug="gyumri", name="Gyumri")
    run("ani", "--org", other.slug, "--role", "accountant")
    assert set(user.memberships.values_list("organization__slug", flat=True)) == {
        organization.slug,
        "gyumri",
    }


def test_refusals_change_nothing(organization, monkeypatch, no_password_env):
    with pytest.raises(CommandError, match="No organisation 'nowhere'"):
        run("ani", "--org", "nowhere", "--role", "operator")
    with pytest.raises(CommandError, match="invalid choice"):
        run("ani", "--org", organization.slug, "--role", "boss")
    with pytest.raises(CommandError, match="reserved"):
        run("system.cli", "--org", organization.slug, "--role", "operator")
    with pytest.raises(CommandError, match="reserved"):
        run("api.x", "--org", organization.slug, "--role", "operator")
    with pytest.raises(CommandError, match="username"):
        run("no spaces allowed", "--org", organization.slug, "--role", "operator")
    monkeypatch.setenv("PAYOPS_USER_PASSWORD", "123")
    with pytest.raises(CommandError, match="password"):
        run("ani", "--org", organization.slug, "--role", "operator")
    assert not get_user_model().objects.filter(username="ani").exists()
    assert not Membership.objects.exists()
    assert not get_user_model().objects.get(username="system.cli").is_staff


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_exit_status_and_output_from_the_shell():
    """As an operator types it: exit 0 and the password alone on its last line, or a non-zero
    exit and a sentence. Runs ``manage.py`` against the test database."""
    from django.db import connection

    Organization.objects.create(slug="cafe", name="Cafe")
    database = connection.settings_dict
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "DEBUG": "1",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
        f"{database['NAME']}",
    }

    def manage(*args):
        return subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "create_user", *args],
            cwd=Path(__file__).resolve().parents[2],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    refused = manage("ani", "--org", "nowhere", "--role", "operator")
    assert refused.returncode != 0
    assert "No organisation 'nowhere'" in refused.stderr
    assert "Traceback" not in refused.stderr
    created = manage("ani", "--org", "cafe", "--role", "clinic_staff")
    assert created.returncode == 0, created.stderr
    assert created.stdout.splitlines()[-1].startswith("Password: ")
    password = created.stdout.splitlines()[-1].removeprefix("Password: ")
    # Hashed by the production hasher, which the test settings leave out: check it directly.
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    stored = get_user_model().objects.get(username="ani").password
    assert PBKDF2PasswordHasher().verify(password, stored)


def test_the_service_refuses_an_unknown_role(organization):
    from core.actors import system_actor
    from core.errors import DomainError
    from core.services import staff_user_ensure

    with pytest.raises(DomainError, match="Unknown role 'boss'") as refused:
        staff_user_ensure(
            username="ani",
            organization=organization,
            role="boss",
            password=None,
            actor=system_actor("tests"),
        )
    assert refused.value.code == "invalid_user"
    assert not get_user_model().objects.filter(username="ani").exists()
