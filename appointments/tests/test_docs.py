"""docs/appointments.md's walk-through, run as written (bash, curl, jq) against a live server
on the test database seeded by ``seed_demo``; the only substitutions are the server's address
and the interpreter (as ``tests/test_readme.py`` does for the README)."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection

from appointments.models import Appointment, CustomerContext

GUIDE = Path(django_settings.BASE_DIR) / "docs" / "appointments.md"
REQUIRE_SERVICES = os.environ.get("PAYOPS_REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


def walkthrough() -> str:
    blocks = re.findall(r"```sh\n(.*?)```", GUIDE.read_text(), flags=re.S)
    return "\n".join(block for block in blocks if "$API" in block)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_guide_walkthrough_runs_as_written(live_server, settings):
    missing = [tool for tool in ("bash", "curl", "jq") if shutil.which(tool) is None]
    if missing:
        message = f"the walk-through needs {', '.join(missing)}"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    settings.PAYOPS_BASE_URL = live_server.url  # restored after the test
    call_command("seed_demo", stdout=io.StringIO())
    script = walkthrough().replace("http://127.0.0.1:8000", live_server.url)
    script = script.replace(".venv/bin/python", sys.executable)
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        ),
    }
    done = subprocess.run(  # noqa: S603 - our own guide, the point of the test
        [shutil.which("bash"), "-euo", "pipefail", "-c", script],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = f"stdout:\n{done.stdout}\nstderr:\n{done.stderr[-3000:]}"
    assert done.returncode == 0, output
    assert '"unknown_field"' in done.stdout, output
    assert '"refund_exceeds_payment"' in done.stdout, output
    assert '"status": "succeeded"' in done.stdout, output
    appointment = Appointment.objects.get(external_ref="crm-5521")
    assert appointment.status == "cancelled"
    assert appointment.slots.count() == 2
    assert appointment.payment_requests.get().status == "refunded"
    assert not Appointment.objects.filter(external_ref="crm-5522").exists()
    assert CustomerContext.objects.filter(appointment=appointment, name="Ani Grigoryan").exists()
