"""The exception queue's services: dedup, race-safe raise, transitions, audit, auto-resolve,
period blocking."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django_fsm import TransitionNotAllowed

from conftest import run_together
from core.errors import DomainError
from exceptionqueue.models import ExceptionCase, ExceptionCaseEvent
from exceptionqueue.selectors import exception_blocking_exists, exception_blocking_list
from exceptionqueue.services import (
    exception_acknowledge,
    exception_bulk_acknowledge,
    exception_clear,
    exception_dismiss,
    exception_raise,
    exception_resolve,
)
from exceptionqueue.tests.kinds import Kind

Status = ExceptionCase.Status


def raise_drift(organization, actor, key="payout:1:refund_drift", **kwargs):
    defaults = {
        "kind": Kind.REFUND_DRIFT,
        "message": "A refund of 500.00 AMD came after payout #1 was requested.",
        "amount": Decimal("500.00"),
        "currency": "AMD",
    }
    defaults.update(kwargs)
    return exception_raise(organization=organization, dedup_key=key, actor=actor, **defaults)


@pytest.mark.django_db
class TestRaise:
    def test_a_new_case_is_open_with_its_kind_defaults_and_one_raised_event(
        self, organization, branch, system_user
    ):
        case = raise_drift(organization, system_user, branch=branch, subject=branch)
        assert case.status == Status.OPEN
        assert case.severity == ExceptionCase.Severity.HIGH
        assert case.blocking is True
        assert case.subject == branch
        assert case.amount == Decimal("500.00")
        assert case.occurrences == 1
        assert list(case.events.values_list("action", "from_status", "to_status", "actor")) == [
            ("raised", "", "open", system_user.pk)
        ]
        assert case.history.count() == 1
        assert case.history.first().history_user == system_user

    def test_the_same_key_returns_the_active_case_and_counts_the_repeat(
        self, organization, system_user
    ):
        first = raise_drift(organization, system_user)
        again = raise_drift(organization, system_user, amount=Decimal("700.00"), message="now 700")
        assert again.pk == first.pk
        assert again.occurrences == 2
        assert again.amount == Decimal("700.00")
        assert again.message == "now 700"
        assert ExceptionCase.objects.count() == 1
        assert ExceptionCaseEvent.objects.count() == 1  # a repeat is not a new event

    def test_an_acknowledged_case_still_absorbs_repeats(self, organization, system_user):
        case = raise_drift(organization, system_user)
        exception_acknowledge(case=case, actor=system_user)
        assert raise_drift(organization, system_user).pk == case.pk

    def test_after_resolution_the_problem_may_be_listed_again(self, organization, system_user):
        case = raise_drift(organization, system_user)
        exception_resolve(case=case, actor=system_user, note="deducted from the next payout")
        second = raise_drift(organization, system_user)
        assert second.pk != case.pk
        assert ExceptionCase.objects.filter(dedup_key=case.dedup_key).count() == 2

    def test_keys_are_per_organisation(self, organization, other_organization, system_user):
        assert (
            raise_drift(organization, system_user).pk
            != raise_drift(other_organization, system_user).pk
        )

    def test_non_blocking_kind_and_explicit_overrides(self, organization, system_user):
        case = exception_raise(
            organization=organization,
            kind=Kind.NO_VERIFIED_PAYMENTS,
            dedup_key="k",
            message="m",
            actor=system_user,
        )
        assert case.blocking is False
        assert case.severity == ExceptionCase.Severity.LOW
        forced = exception_raise(
            organization=organization,
            kind=Kind.NO_VERIFIED_PAYMENTS,
            dedup_key="k2",
            message="m",
            actor=system_user,
            blocking=True,
            severity=ExceptionCase.Severity.CRITICAL,
        )
        assert forced.blocking is True
        assert forced.severity == "critical"

    def test_amount_needs_a_currency_and_is_never_a_float(self, organization, system_user):
        with pytest.raises(ValueError, match="currency"):
            raise_drift(organization, system_user, currency=None)
        with pytest.raises(TypeError):
            raise_drift(organization, system_user, amount=1.5)
        with pytest.raises(ValueError, match="dedup_key"):
            raise_drift(organization, system_user, key="")

    def test_details_are_stored_as_json(self, organization, system_user):
        case = raise_drift(
            organization,
            system_user,
            details={"gross": Decimal("10.50"), "on": dt.date(2025, 1, 2)},
        )
        case.refresh_from_db()
        assert case.details == {"gross": "10.50", "on": "2025-01-02"}

    def test_a_raise_survives_when_raised_outside_a_rolled_back_transaction(
        self, organization, system_user
    ):
        """The rule for callers: raise outside the transaction that a refused request rolls back."""

        def refused_request():
            with transaction.atomic():
                raise DomainError("no_verified_payments", "nothing to pay", status_code=422)

        with pytest.raises(DomainError):
            refused_request()
        exception_raise(
            organization=organization,
            kind=Kind.NO_VERIFIED_PAYMENTS,
            dedup_key="payout-request:r1:2025-01",
            message="nothing to pay",
            actor=system_user,
        )
        assert ExceptionCase.objects.filter(kind=Kind.NO_VERIFIED_PAYMENTS).count() == 1


@pytest.mark.django_db
class TestTransitions:
    def test_acknowledge_then_resolve_records_actor_time_note_and_events(
        self, organization, system_user, django_user_model
    ):
        operator = django_user_model.objects.create_user("ops")
        case = raise_drift(organization, system_user)
        case = exception_acknowledge(case=case, actor=operator, note="looking")
        assert case.status == Status.ACKNOWLEDGED
        assert case.acknowledged_by == operator
        assert case.acknowledged_at is not None
        case = exception_resolve(case=case, actor=operator, note="deducted in payout #2")
        assert case.status == Status.RESOLVED
        assert case.closed_by == operator
        assert case.closed_at is not None
        assert case.resolution_note == "deducted in payout #2"
        assert case.auto_resolved is False
        assert list(case.events.values_list("action", "from_status", "to_status", "comment")) == [
            ("raised", "", "open", case.message),
            ("acknowledged", "open", "acknowledged", "looking"),
            ("resolved", "acknowledged", "resolved", "deducted in payout #2"),
        ]
        reasons = list(case.history.order_by("history_id").values_list("history_change_reason"))
        assert reasons == [("raised: sample_drift",), ("looking",), ("deducted in payout #2",)]

    def test_dismiss_from_open(self, organization, system_user):
        case = exception_dismiss(
            case=raise_drift(organization, system_user), actor=system_user, note="test payment"
        )
        assert case.status == Status.DISMISSED

    def test_a_note_is_required_to_close(self, organization, system_user):
        case = raise_drift(organization, system_user)
        for service in (exception_resolve, exception_dismiss):
            with pytest.raises(DomainError) as err:
                service(case=case, actor=system_user, note="  ")
            assert err.value.code == "resolution_note_required"
            assert err.value.status_code == 400
        case.refresh_from_db()
        assert case.status == Status.OPEN

    @pytest.mark.parametrize(
        ("first", "then"),
        [
            ("resolve", "resolve"),
            ("resolve", "acknowledge"),
            ("dismiss", "resolve"),
            ("acknowledge", "acknowledge"),
        ],
    )
    def test_moves_from_a_wrong_state_are_refused(self, organization, system_user, first, then):
        services = {
            "resolve": lambda c: exception_resolve(case=c, actor=system_user, note="n"),
            "dismiss": lambda c: exception_dismiss(case=c, actor=system_user, note="n"),
            "acknowledge": lambda c: exception_acknowledge(case=c, actor=system_user),
        }
        case = services[first](raise_drift(organization, system_user))
        with pytest.raises(DomainError) as err:
            services[then](case)
        assert err.value.code == "transition_not_allowed"
        assert err.value.status_code == 409
        assert ExceptionCaseEvent.objects.filter(case=case).count() == 2

    def test_the_status_field_cannot_be_set_directly(self, organization, system_user):
        case = raise_drift(organization, system_user)
        with pytest.raises(AttributeError):
            case.status = Status.RESOLVED
        case.acknowledge()  # in memory only: services lock the row and save
        with pytest.raises(TransitionNotAllowed):
            case.acknowledge()

    def test_events_are_append_only(self, organization, system_user):
        event = raise_drift(organization, system_user).events.get()
        event.comment = "rewritten"
        with pytest.raises(RuntimeError):
            event.save()
        with pytest.raises(RuntimeError):
            event.delete()

    def test_bulk_acknowledge_skips_what_is_not_open(self, organization, system_user):
        a = raise_drift(organization, system_user, key="a")
        b = raise_drift(organization, system_user, key="b")
        c = exception_resolve(
            case=raise_drift(organization, system_user, key="c"), actor=system_user, note="n"
        )
        done = exception_bulk_acknowledge(cases=[a.pk, b, c.pk], actor=system_user)
        assert {case.pk for case in done} == {a.pk, b.pk}
        statuses = dict(ExceptionCase.objects.values_list("dedup_key", "status"))
        assert statuses == {"a": "acknowledged", "b": "acknowledged", "c": "resolved"}


@pytest.mark.django_db
class TestClear:
    def test_clear_resolves_automatically_with_an_audit_row(self, organization, system_user):
        case = raise_drift(organization, system_user)
        cleared = exception_clear(
            organization=organization,
            dedup_key=case.dedup_key,
            actor=system_user,
            note="the refund was reversed",
        )
        assert cleared.pk == case.pk
        assert cleared.status == Status.RESOLVED
        assert cleared.auto_resolved is True
        assert cleared.resolution_note == "the refund was reversed"
        last = cleared.events.last()
        assert (last.action, last.from_status, last.to_status, last.actor) == (
            "auto_resolved",
            "open",
            "resolved",
            system_user,
        )

    def test_clear_without_an_active_case_does_nothing(self, organization, system_user):
        assert (
            exception_clear(organization=organization, dedup_key="x", actor=system_user, note="n")
            is None
        )
        case = raise_drift(organization, system_user)
        exception_dismiss(case=case, actor=system_user, note="no")
        assert (
            exception_clear(
                organization=organization, dedup_key=case.dedup_key, actor=system_user, note="n"
            )
            is None
        )
        case.refresh_from_db()
        assert case.status == Status.DISMISSED

    def test_clear_also_closes_an_acknowledged_case(self, organization, system_user):
        case = exception_acknowledge(case=raise_drift(organization, system_user), actor=system_user)
        cleared = exception_clear(
            organization=organization, dedup_key=case.dedup_key, actor=system_user, note="ok"
        )
        assert cleared.status == Status.RESOLVED


@pytest.mark.django_db
class TestBlocking:
    def test_blocking_cases_block_the_periods_they_overlap(self, organization, system_user):
        case = raise_drift(
            organization,
            system_user,
            period_start=dt.date(2025, 1, 10),
            period_end=dt.date(2025, 1, 20),
        )

        def blocked(start, end):
            return exception_blocking_exists(organization=organization, start=start, end=end)

        assert blocked(dt.date(2025, 1, 1), dt.date(2025, 1, 31))
        assert blocked(dt.date(2025, 1, 20), dt.date(2025, 1, 25))  # inclusive edges
        assert not blocked(dt.date(2025, 1, 21), dt.date(2025, 1, 31))
        assert not blocked(dt.date(2024, 12, 1), dt.date(2025, 1, 9))
        exception_acknowledge(case=case, actor=system_user)
        assert blocked(dt.date(2025, 1, 1), dt.date(2025, 1, 31))  # acknowledged still blocks
        exception_resolve(case=case, actor=system_user, note="fixed")
        assert not blocked(dt.date(2025, 1, 1), dt.date(2025, 1, 31))

    def test_non_blocking_kinds_and_other_organisations_do_not_block(
        self, organization, other_organization, system_user
    ):
        exception_raise(
            organization=organization,
            kind=Kind.WEBHOOK_DELIVERY_FAILED,
            dedup_key="w",
            message="m",
            actor=system_user,
        )
        raise_drift(other_organization, system_user)
        today = dt.date.today()
        assert not exception_blocking_exists(
            organization=organization,
            start=today - dt.timedelta(days=2),
            end=today + dt.timedelta(days=2),
        )

    def test_period_from_details_and_datetimes_in_the_organisation_zone(
        self, organization, system_user
    ):
        raise_drift(
            organization,
            system_user,
            details={"period_start": "2025-02-01", "period_end": "2025-02-28"},
        )
        case = ExceptionCase.objects.get()
        assert (case.period_start, case.period_end) == (dt.date(2025, 2, 1), dt.date(2025, 2, 28))
        # 2025-02-28 21:00 UTC is already 1 March in Yerevan (UTC+4).
        late = dt.datetime(2025, 2, 28, 21, 0, tzinfo=dt.UTC)
        assert not exception_blocking_exists(
            organization=organization, start=late, end=late + dt.timedelta(days=1)
        )
        assert (
            exception_blocking_list(
                organization=organization, start=late - dt.timedelta(hours=2), end=late
            ).get()
            == case
        )

    def test_without_a_period_the_case_falls_on_its_local_day(self, organization, system_user):
        from django.utils import timezone

        case = raise_drift(organization, system_user)
        today = timezone.localtime(case.created_at, organization.tz).date()
        assert (case.period_start, case.period_end) == (today, today)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_threads_raising_the_same_case_make_one_row(organization, system_user):
    results = run_together(*[lambda: raise_drift(organization, system_user).pk] * 20)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert len(results) == 20
    assert len(set(results)) == 1
    case = ExceptionCase.objects.get()
    assert case.occurrences == 20
    assert case.events.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_resolve_and_clear_close_the_case_once(organization, system_user):
    case = raise_drift(organization, system_user)

    def resolve():
        try:
            exception_resolve(case=case.pk, actor=system_user, note="by hand")
        except DomainError as exc:
            return exc.code
        return "resolved"

    def clear():
        done = exception_clear(
            organization=organization, dedup_key=case.dedup_key, actor=system_user, note="auto"
        )
        return "cleared" if done else "nothing"

    outcomes = run_together(*(resolve, clear) * 3)
    assert [o for o in outcomes if isinstance(o, BaseException)] == []
    winners = [o for o in outcomes if o in ("resolved", "cleared")]
    assert len(winners) == 1
    assert ExceptionCaseEvent.objects.filter(case=case).count() == 2
