"""The one family of application errors. Each carries a message a user can read.

Views turn them into form errors or toasts; the API turns them into 4xx JSON bodies
(`liftoff.api.exception_handler`). Anything else that escapes is a bug.
"""


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str, *, errors: dict[str, list[str]] | None = None, **extra):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.extra = extra

    def summary(self) -> str:
        """The message with its field errors and what is missing, as one line (a toast, a
        fragment's notice)."""
        details = [error for errors in self.errors.values() for error in errors]
        return " ".join([self.message, *details, *(self.extra.get("missing") or [])])


class ValidationFailed(DomainError):
    status_code = 400


class NotAllowed(DomainError):
    status_code = 403


class Conflict(DomainError):
    """The state changed under the caller, or a rule blocks the change (HTTP 409)."""

    status_code = 409
