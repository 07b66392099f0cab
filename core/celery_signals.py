"""The request id travels with every task, so a task's logs and audit rows name their origin."""

from __future__ import annotations

from celery import signals

from core.context import get_request_id, new_request_id, reset_request_id, set_request_id

_tokens: dict[str, object] = {}


@signals.before_task_publish.connect
def _attach_request_id(headers=None, **kwargs) -> None:
    if headers is not None and "payops_request_id" not in headers:
        headers["payops_request_id"] = get_request_id() or new_request_id()


@signals.task_prerun.connect
def _enter_request_id(task_id=None, task=None, **kwargs) -> None:
    request_id = getattr(task.request, "payops_request_id", None) or new_request_id()
    _tokens[task_id] = set_request_id(request_id)


@signals.task_postrun.connect
def _leave_request_id(task_id=None, **kwargs) -> None:
    token = _tokens.pop(task_id, None)
    if token is not None:
        reset_request_id(token)
