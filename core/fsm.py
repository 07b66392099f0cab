"""State machines: the one place a refused ``django_fsm`` transition becomes a domain error.

Services call transitions through ``transition_apply`` under a row lock; a transition the model
does not allow from the current state is ``409 transition_not_allowed`` with a sentence that names
the object, its state and the move, never a ``TransitionNotAllowed`` leaking to a 500.
"""

from __future__ import annotations

from django_fsm import TransitionNotAllowed

from core.errors import CoreError, DomainError


def transition_apply(
    instance,
    method: str,
    *args,
    what: str | None = None,
    message: str | None = None,
    field: str = "status",
    **kwargs,
):
    """Call ``instance.<method>(*args, **kwargs)``; a refused transition raises the domain error.

    ``what`` names the object for the message (``"payout"``; default: the model's verbose name);
    ``message`` replaces the whole sentence. Returns what the transition method returned.
    """
    source = getattr(instance, field)
    try:
        return getattr(instance, method)(*args, **kwargs)
    except TransitionNotAllowed:
        raise transition_refused(
            instance, method, source=source, what=what, message=message
        ) from None


def transition_refused(
    instance, method: str, *, source: str, what: str | None = None, message: str | None = None
) -> DomainError:
    """The ``transition_not_allowed`` error for a move the state machine refused."""
    name = what or str(instance._meta.verbose_name)
    article = "An" if source[:1].lower() in "aeiou" else "A"
    return CoreError.TRANSITION_NOT_ALLOWED.error(
        message or f"{article} {source} {name} cannot move this way ({method})."
    )
