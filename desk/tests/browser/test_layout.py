"""The periods list fits its card at 1400 px in every language (in ru and hy its last column,
"Last reconciliation", was cut off: a 1281 px table in a 1246 px scrolling wrapper, no cue)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.utils import timezone

from core.actors import system_actor
from desk.tests.browser.test_desk import demo_month, log_in  # noqa: F401 (a fixture)
from desk.tests.conftest import staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FITS = """() => {
  const wrap = document.querySelector('.table-wrap');
  const table = wrap.querySelector('table');
  return [table.scrollWidth, wrap.clientWidth];
}"""


@pytest.mark.parametrize("language", ["en", "ru", "hy"])
def test_periods_list_fits_at_1400_px(page, live_server, demo_month, shot, language):  # noqa: F811
    from reconciliation.models import ReconciliationRun
    from reconciliation.services import reconciliation_run

    cafe, _period, _current = demo_month
    today = timezone.localtime(timezone.now(), cafe.tz).date()
    reconciliation_run(
        organization=cafe,
        start=today,
        end=today,
        actor=system_actor("tests"),
        trigger=ReconciliationRun.Trigger.NIGHTLY,
    )
    staff("anahit", cafe, "accountant")
    page.set_viewport_size({"width": 1400, "height": 900})
    log_in(page, live_server, "anahit")
    host = live_server.url.split("//")[1].split(":")[0]
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "domain": host, "path": "/"}]
    )
    page.goto(f"{live_server.url}/desk/{cafe.slug}/")
    assert page.locator("html").get_attribute("lang") == language
    table, wrap = page.evaluate(FITS)
    shot(f"periods-1400-{language}", full_page=False)
    assert table <= wrap, f"{language}: the table is {table} px in a {wrap} px card"
    page.set_viewport_size({"width": 390, "height": 844})
    shot(f"periods-390-{language}")
