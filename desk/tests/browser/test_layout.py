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


# Every table of a period page, as [where, table's width, its wrapper's width], when it is wider.
TABLES_WIDER = """() => [...document.querySelectorAll('main .table-wrap')].map(wrap => {
  const section = wrap.closest('section');
  const heading = wrap.previousElementSibling;
  return [`${section ? section.id : ''} ${heading ? heading.textContent.trim() : ''}`,
          wrap.querySelector('table').scrollWidth, wrap.clientWidth];
}).filter(([_where, table, wrap]) => table > wrap)"""
PAGE_WIDER = "() => document.documentElement.scrollWidth - window.innerWidth"


@pytest.fixture
def demo(transactional_db):
    """``make run``'s demo data: the cafe (payouts), the clinic (appointments, Arabkir branch)
    and the fitness club (billing), each with its accounting periods."""
    import io

    from django.core.management import call_command

    call_command("seed_demo", stdout=io.StringIO())


@pytest.mark.parametrize("language", ["en", "ru", "hy"])
def test_period_pages_tables_fit_at_1400_and_390_px(page, live_server, demo, shot, language):
    """No table of a period page is wider than its card, on a desktop (1400 px) or a phone
    (390 px), in any language (the clinic's "By visit" table was 627 px in a 616 px column at
    1400 px in hy; on a phone every table of more than three columns scrolled, with no cue)."""
    from core.models import AccountingPeriod, Organization

    host = live_server.url.split("//")[1].split(":")[0]
    wider = []
    for slug in ("yerevan-cafe", "arabkir-dental", "ararat-fitness"):
        organization = Organization.objects.get(slug=slug)
        staff(f"acc-{slug}", organization, "accountant")
        page.context.clear_cookies()
        page.set_viewport_size({"width": 1400, "height": 900})
        log_in(page, live_server, f"acc-{slug}")
        page.context.add_cookies(
            [
                {
                    "name": settings.LANGUAGE_COOKIE_NAME,
                    "value": language,
                    "domain": host,
                    "path": "/",
                }
            ]
        )
        for period in AccountingPeriod.objects.filter(organization=organization):
            for width in (1400, 390):
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(f"{live_server.url}/desk/{slug}/periods/{period.pk}/")
                assert page.locator("html").get_attribute("lang") == language
                where = f"{slug} {period.start:%Y-%m} {width} px"
                wider += [(where, *t) for t in page.evaluate(TABLES_WIDER)]
                if page.evaluate(PAGE_WIDER) > 0:
                    wider.append((where, "the page", page.evaluate(PAGE_WIDER)))
        if slug == "arabkir-dental":
            page.set_viewport_size({"width": 1400, "height": 900})
            page.locator("#section-appointments").scroll_into_view_if_needed()
            shot(f"appointments-1400-{language}", full_page=False)
    assert not wider, f"{language}: tables wider than their cards: {wider}"
