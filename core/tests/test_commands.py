import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from core.models import ApiClient, Branch, Organization

ROOT = Path(__file__).resolve().parents[2]


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_organization_is_idempotent(db):
    assert "Created organisation cafe" in run("create_organization", "cafe", "--name", "Cafe")
    assert "Already exists" in run("create_organization", "cafe", "--name", "Other name")
    organization = Organization.objects.get(slug="cafe")
    assert organization.name == "Cafe"
    assert organization.timezone == "Asia/Yerevan"
    assert organization.history.get().history_user.username == "system.cli"


def test_create_organization_refuses_bad_input(db):
    with pytest.raises(CommandError, match="not a valid slug"):
        run("create_organization", "no spaces", "--name", "X")
    with pytest.raises(CommandError, match="IANA time zone"):
        run("create_organization", "x", "--name", "X", "--timezone", "Mars/Olympus")
    assert not Organization.objects.exists()


def test_create_api_token_prints_the_token_alone_and_it_works(organization):
    token = run("create_api_token", organization.slug, "--name", "pos")
    assert token.endswith("\n")
    assert token.count("\n") == 1
    token = token.strip()
    client = ApiClient.objects.get()
    assert client.name == "pos"
    assert client.key_hash == ApiClient.hash_key(token)
    assert token not in str(list(ApiClient.objects.values()))  # never stored in clear
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/branches/").status_code == 200


def test_create_api_token_for_unknown_organisation_fails(db):
    with pytest.raises(CommandError, match="No organisation 'ghost'"):
        run("create_api_token", "ghost")


def test_seed_demo_is_idempotent(db):
    run("seed_demo")
    counts = (Organization.objects.count(), Branch.objects.count())
    run("seed_demo")
    assert (Organization.objects.count(), Branch.objects.count()) == counts
    assert set(Organization.objects.values_list("slug", flat=True)) >= {
        "yerevan-cafe",
        "arabkir-dental",
        "ararat-fitness",
    }


def _manage(env: dict, *args) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DEBUG": "0", "ALLOWED_HOSTS": "x"}, "SECRET_KEY"),
        ({"DEBUG": "0", "SECRET_KEY": "k" * 50}, "ALLOWED_HOSTS"),
        ({"DEBUG": "1", "DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL"),
        ({"DEBUG": "1", "DATABASE_URL": "nonsense"}, "DATABASE_URL"),
        ({"DEBUG": "1", "REDIS_URL": "http://localhost"}, "REDIS_URL"),
        ({"DEBUG": "1", "PAYOPS_SANDBOX": "perhaps"}, "PAYOPS_SANDBOX"),
        ({"DEBUG": "1", "PAYOPS_GATEWAY_HOSTS": "ipay.mybank.am"}, "PAYOPS_GATEWAY_HOSTS"),
    ],
)
def test_bad_environment_stops_with_one_sentence_naming_the_variable(env, variable, tmp_path):
    result = _manage({"PAYOPS_DOTENV": str(tmp_path / "none"), **env}, "check")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("payops: configuration error:")
    assert variable in lines[0]


def test_deploy_check_warns_about_embedded_defaults():
    from core.checks import embedded_defaults

    sqlite = embedded_defaults(engine="django.db.backends.sqlite3", redis_url=None)
    assert [w.id for w in sqlite] == ["payops.W001", "payops.W002"]
    production = embedded_defaults(
        engine="django.db.backends.postgresql", redis_url="redis://127.0.0.1:6379/0"
    )
    assert production == []


def test_gateway_hosts_variable_is_parsed(monkeypatch):
    from config import env

    monkeypatch.setenv("PAYOPS_GATEWAY_HOSTS", " arca:IPAY.mybank.am, arca:x.am,ameria:vpos.am ")
    assert env.provider_hosts("PAYOPS_GATEWAY_HOSTS") == {
        "arca": ["ipay.mybank.am", "x.am"],
        "ameria": ["vpos.am"],
    }
    monkeypatch.delenv("PAYOPS_GATEWAY_HOSTS")
    assert env.provider_hosts("PAYOPS_GATEWAY_HOSTS") == {}


def test_seed_demo_keeps_httpx_request_lines_out_but_not_its_warnings(db, monkeypatch, caplog):
    """``make run`` printed ~60 JSON "HTTP Request: …" lines (the sandbox gateway's calls,
    httpx at INFO) around the two logins."""
    import logging

    from django.apps import apps

    config = apps.get_app_config("payouts")
    seed = config.seed_demo

    def seed_and_call(*, stdout):
        seed(stdout=stdout)
        logging.getLogger("httpx").info("HTTP Request: POST http://sandbox/ 200")
        logging.getLogger("httpx").warning("a real httpx warning")

    monkeypatch.setattr(config, "seed_demo", seed_and_call)
    with caplog.at_level(logging.INFO):
        run("seed_demo")
    httpx = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert httpx == ["a real httpx warning"]
    assert logging.getLogger("httpx").level == logging.NOTSET  # restored afterwards


def test_a_command_does_not_log_the_axes_banner(tmp_path):
    """Every manage.py command printed a JSON "AXES: BEGIN …" INFO line."""
    result = _manage({"PAYOPS_DOTENV": str(tmp_path / "none"), "DEBUG": "1"}, "check")
    assert result.returncode == 0, result.stderr
    assert "AXES" not in result.stdout + result.stderr
