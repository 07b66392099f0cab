"""The error catalogue, the FSM helper and the schema's documented codes."""

import pytest

from core.errors import CoreError, DomainError, ErrorCode, error_catalogue
from core.fsm import transition_apply


class SampleError(ErrorCode):
    SAMPLE_TAKEN = ("sample_taken", 409, "The sample is taken.")
    SAMPLE_TOO_BIG = ("sample_too_big", 422, "The sample is too big.")


def test_a_member_carries_code_status_and_sentence():
    error = SampleError.SAMPLE_TOO_BIG.error()
    assert isinstance(error, DomainError)
    assert (error.code, error.status_code, error.message) == (
        "sample_too_big",
        422,
        "The sample is too big.",
    )
    precise = SampleError.SAMPLE_TAKEN.error("Sample #3 is taken.", fields={"id": ["taken"]})
    assert (precise.code, precise.status_code, precise.message) == (
        "sample_taken",
        409,
        "Sample #3 is taken.",
    )
    assert precise.fields == {"id": ["taken"]}


def test_every_catalogue_is_registered_and_codes_are_unique():
    catalogue = error_catalogue()
    assert catalogue["sample_taken"] is SampleError.SAMPLE_TAKEN
    assert catalogue["transition_not_allowed"] is CoreError.TRANSITION_NOT_ALLOWED
    codes = [member.code for member in catalogue.values()]
    assert len(codes) == len(set(codes))


def test_transition_apply_turns_a_refused_move_into_a_409():
    from exceptionqueue.models import ExceptionCase

    case = ExceptionCase(status="resolved")
    with pytest.raises(DomainError) as refused:
        transition_apply(case, "acknowledge", what="exception")
    assert refused.value.code == "transition_not_allowed"
    assert refused.value.status_code == 409
    assert refused.value.message == "A resolved exception cannot move this way (acknowledge)."
    opened = ExceptionCase(status="open")
    transition_apply(opened, "acknowledge")
    assert opened.status == "acknowledged"


def test_the_schema_documents_every_status_from_the_catalogues(client, db):
    """The common 4xx (request form, auth, idempotency) and the view's declared rule codes are
    documented together, each with its catalogue sentence."""
    from core.errors import RequestError

    document = client.get("/api/schema/?format=json").json()
    create = document["paths"]["/api/v1/branches/"]["post"]["responses"]
    unauthenticated = create["401"]["description"]
    assert f"`not_authenticated`: {RequestError.NOT_AUTHENTICATED.sentence}" in unauthenticated
    conflict = create["409"]["description"]
    assert "`idempotency_in_progress`" in conflict
    assert f"`duplicate_branch`: {CoreError.DUPLICATE_BRANCH.sentence}" in conflict
    assert "`invalid_idempotency_key`" in create["400"]["description"]
    listing = document["paths"]["/api/v1/branches/"]["get"]["responses"]
    assert "`throttled`" in listing["429"]["description"]
    assert "409" not in listing
