"""Time-driven work, registered by the domains and run by one beat task, ``run_due_work`` and the
sandbox test clock alike.

A domain registers a runner in ``AppConfig.ready()``::

    register_due_work("billing.attempts", billing_due_work)

A runner is ``runner(*, organization, now, actor) -> dict[str, int]``: it does, for one
organisation, what is due at ``now`` (the organisation's ``core.clock.clock_now``), idempotently
(running it twice, or in two workers at once, does the work once), and returns counts of what it
did. Runners run in registration order; one failing runner is logged and does not stop the
others (its error is in the answer, under ``errors``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from core.actors import system_actor
from core.clock import clock_now
from core.models import Organization

logger = logging.getLogger(__name__)

Runner = Callable[..., dict[str, int]]
_runners: dict[str, Runner] = {}


def register_due_work(name: str, runner: Runner) -> None:
    """Add ``runner`` under ``name`` (``<app>.<what>``); registering a name again replaces it."""
    _runners[name] = runner


def due_work_names() -> list[str]:
    return list(_runners)


def due_work_run(
    *, organization: Organization, now: dt.datetime | None = None, actor=None
) -> dict[str, int]:
    """Run every registered runner for ``organization`` as of ``now`` (default: its clock)."""
    now = now or clock_now(organization)
    actor = actor or system_actor("due-work")
    counts: dict[str, int] = {}
    for name, runner in _runners.items():
        try:
            ran = runner(organization=organization, now=now, actor=actor) or {}
        except Exception:
            logger.exception("due work %s failed for %s", name, organization.slug)
            counts["errors"] = counts.get("errors", 0) + 1
            continue
        for key, value in ran.items():
            counts[key] = counts.get(key, 0) + int(value)
    return counts


def due_work_run_all(*, organizations=None, actor=None) -> dict[str, dict[str, int]]:
    """Run the due work of every organisation (or those given), each by its own clock."""
    organizations = organizations if organizations is not None else Organization.objects.all()
    return {
        organization.slug: due_work_run(organization=organization, actor=actor)
        for organization in organizations
    }
