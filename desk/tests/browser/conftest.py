"""Browser tests: Playwright (the pip package's driver) drives Debian's Chromium against
pytest-django's live server. ``playwright install`` is never run: the browser is the system's,
its path from ``PLAYWRIGHT_CHROMIUM_EXECUTABLE`` (default ``/usr/bin/chromium``).

Without the browser the tests skip, unless ``PAYOPS_REQUIRE_SERVICES=1`` (CI): then they fail.
Screenshots of the main pages land in ``var/screenshots/`` (test artefacts).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings

# Playwright's sync API keeps an event loop in the test's thread from the session's first browser
# on (database setup and teardown included); the ORM calls there are still synchronous, one at a
# time, so Django's async guard is lifted for the run (no other test runs an event loop there).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(settings.VAR_DIR) / "screenshots"


def chromium_path() -> str | None:
    """The browser named by the environment (and only it, when named), else Debian's."""
    named = os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE")
    if named:
        return named if Path(named).exists() else None
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    path = chromium_path()
    if path is None:
        reason = "Chromium is missing (apt-get install chromium, or PLAYWRIGHT_CHROMIUM_EXECUTABLE)"
        if os.environ.get("PAYOPS_REQUIRE_SERVICES") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return {
        **browser_type_launch_args,
        "executable_path": path,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-sync",
            "--no-first-run",
            "--mute-audio",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        "viewport": {"width": 1366, "height": 900},
        "locale": "en-GB",
        "accept_downloads": True,
    }


@pytest.fixture
def shot(page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str, *, full_page: bool = True) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take
