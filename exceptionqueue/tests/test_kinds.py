"""Exception kinds are registered by the apps that raise them; the kernel names none."""

import pytest

from exceptionqueue import kinds
from exceptionqueue.kinds import (
    ExceptionKind,
    blocking_kinds,
    exception_kind,
    kind_choices,
    register_exception_kinds,
)
from exceptionqueue.services import exception_raise


def test_a_kind_is_its_code_with_label_severity_and_blocking():
    kind = ExceptionKind("sample_kind", "Sample kind", severity="high", blocking=True)
    assert kind == "sample_kind"
    assert (kind.label, kind.severity, kind.blocking) == ("Sample kind", "high", True)
    with pytest.raises(ValueError, match="lower snake case"):
        ExceptionKind("Bad Kind", "x")
    with pytest.raises(ValueError, match="severity"):
        ExceptionKind("sample_other", "x", severity="urgent")


def test_registration_is_idempotent_and_refuses_a_different_twin(monkeypatch):
    # A registry of its own for this test: a kind left registered would change the choice set
    # the OpenAPI schema names (ExceptionKindEnum) for the tests that run after it.
    monkeypatch.setattr(kinds, "_registered", dict(kinds._registered))
    kind = ExceptionKind("sample_registered", "Sample registered", blocking=True)
    register_exception_kinds(kind)
    register_exception_kinds(ExceptionKind("sample_registered", "Sample registered", blocking=True))
    assert exception_kind("sample_registered").blocking is True
    assert ("sample_registered", "Sample registered") in kind_choices()
    assert "sample_registered" in blocking_kinds()
    with pytest.raises(ValueError, match="registered twice"):
        register_exception_kinds(ExceptionKind("sample_registered", "Another label"))


def test_raising_an_unregistered_kind_is_a_programming_error(organization, system_user):
    with pytest.raises(LookupError, match="sample_unknown"):
        exception_raise(
            organization=organization,
            kind="sample_unknown",
            dedup_key="k",
            message="m",
            actor=system_user,
        )
