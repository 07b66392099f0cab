"""schemathesis over the whole OpenAPI schema against a live gunicorn (throttle lifted), as the
integrator of a seeded organisation (every domain's rows, tests/reliability/world.py):
0 server errors, 0 schema violations (responses, status codes, content types, headers).

Examples per operation: ``PAYOPS_FUZZ_EXAMPLES`` (25 by default; ``make reliability`` asks for
more); ``PAYOPS_FUZZ_PATHS``: only the paths this regex matches. The run's report is written
to ``var/reliability/``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import make_api
from tests.reliability.live import ROOT, gunicorn
from tests.reliability.world import build_world

pytestmark = [pytest.mark.postgres, pytest.mark.long]

# Open findings (docs/reliability.md) would be left out here until their owners fix them; none
# is open (billing's Customer.email "" and GET notifications/' 414 are documented now).
# ``PAYOPS_FUZZ_PATHS`` (a regex) runs only the matching paths, to rerun one area.
ONLY = os.environ.get("PAYOPS_FUZZ_PATHS", "")

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


def test_schemathesis_finds_no_server_error_and_no_schema_violation(transactional_db):
    world = build_world("fuzz-org")
    token = make_api(world["organization"], name="fuzz").token
    examples = os.environ.get("PAYOPS_FUZZ_EXAMPLES", "25")
    report = ROOT / "var" / "reliability"
    report.mkdir(parents=True, exist_ok=True)
    with gunicorn() as base:
        result = subprocess.run(  # noqa: S603
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "run",
                f"{base}/api/schema/?format=json",
                "--url",
                base,
                "-H",
                f"Authorization: Token {token}",
                "--max-examples",
                examples,
                "--checks",
                CHECKS,
                "--phases",
                "examples,coverage,fuzzing",
                "--seed",
                os.environ.get("PAYOPS_FUZZ_SEED", "20261130"),
                *(["--include-path-regex", ONLY] if ONLY else []),
                "--request-timeout",
                "30",
                "--report",
                "junit",
                "--report-dir",
                str(report),
            ],
            capture_output=True,
            text=True,
            timeout=1500,
            cwd=report,  # schemathesis keeps its cache where it runs
            check=False,
            env={**os.environ, "NO_COLOR": "1"},
        )
    (report / "schemathesis.txt").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-6000:]
