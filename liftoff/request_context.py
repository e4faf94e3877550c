"""The request id of the current request or task, for the audit trail and the logs."""

from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("liftoff_request_id", default="")


def current_request_id() -> str:
    return request_id_var.get()
