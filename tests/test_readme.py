"""The README's API walk-through, run as written (bash, curl, jq) against the demo data.

The README's ``sh`` blocks that use ``$API`` are joined, followed by those of docs/payouts.md
(which continue in the walk-through's shell), and run by bash against a live server on the test
database seeded by ``seed_demo``, exactly as a reader on a fresh ``make run`` would,
with two substitutions only: the server's address (the live server's port instead of 8000) and
``.venv/bin/python`` (this interpreter; its ``manage.py`` is pointed at the test database). A
README change that breaks the walk-through fails here.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from payouts.models import Payout, PayoutPeriod

README = Path(settings.BASE_DIR) / "README.md"
PAYOUTS_GUIDE = Path(settings.BASE_DIR) / "docs" / "payouts.md"
REQUIRE_SERVICES = os.environ.get("PAYOPS_REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


def walkthrough_blocks(path: Path = README) -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", path.read_text(), flags=re.S)
    return [block for block in blocks if "$API" in block]


def test_the_readme_has_a_walkthrough():
    blocks = walkthrough_blocks()
    assert len(blocks) >= 2
    script = "\n".join(blocks)
    for needle in ("create_api_token", "/payouts/", "/transitions/", "jq"):
        assert needle in script
    # Nothing a reader cannot run: no guessed ids, no placeholders, no bare `python manage.py`.
    assert "…" not in script
    assert not re.search(r"(?<![/.])python manage\.py", script)
    assert not re.search(r"/payouts/\d+/", script)


def test_no_guide_runs_manage_py_with_a_bare_python():
    # `make run` installs payops into .venv/ only: a bare `python manage.py` in a guide's shell
    # block fails on a fresh machine (ModuleNotFoundError: django), as docs/billing.md's did.
    guides = [README, *sorted((Path(settings.BASE_DIR) / "docs").glob("*.md"))]
    bare = [
        f"{guide.name}: {line.strip()}"
        for guide in guides
        for block in re.findall(r"```sh\n(.*?)```", guide.read_text(), flags=re.S)
        for line in block.splitlines()
        if re.search(r"(?<![/.])python manage\.py", line)
    ]
    assert bare == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_readme_walkthrough_runs_against_the_demo_data(live_server):
    missing = [tool for tool in ("bash", "curl", "jq", "python3") if shutil.which(tool) is None]
    if missing:
        message = f"the README walk-through needs {', '.join(missing)}"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    settings.PAYOPS_BASE_URL = live_server.url
    call_command("seed_demo", stdout=io.StringIO())

    script = "\n".join(walkthrough_blocks() + walkthrough_blocks(PAYOUTS_GUIDE))
    script = script.replace("http://127.0.0.1:8000", live_server.url)
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
    done = subprocess.run(  # noqa: S603 - our own README, the point of the test
        [shutil.which("bash"), "-euo", "pipefail", "-c", script],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = f"stdout:\n{done.stdout}\nstderr:\n{done.stderr[-3000:]}"
    assert done.returncode == 0, output
    payout = Payout.objects.get(recipient__external_ref="W-17")
    # The README completes it; docs/payouts.md then reverses it (the transfer came back).
    assert (payout.status, payout.method, payout.reference) == (
        "reversed",
        "bank_transfer",
        "TRX-884120",
    ), output
    assert (payout.gross, payout.fee, payout.net) == (
        Decimal("2500.00"),
        Decimal("50.00"),
        Decimal("2450.00"),
    )
    assert '"status": "completed"' in done.stdout, output
    assert payout.organization.branches.filter(code="opera").exists()
    # docs/payouts.md: the demo's held payout was decided, a week period created and closed.
    assert not Payout.objects.filter(drift_hold=True).exists(), output
    assert PayoutPeriod.objects.filter(status="closed").count() == 2, output
