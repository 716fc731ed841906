"""Domain errors. Each names a machine code; the HTTP layer maps kinds to status codes."""

from __future__ import annotations


class DomainError(Exception):
    """A rule refused the operation. ``code`` is the stable machine code clients see."""

    code = "ERROR"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(DomainError):
    code = "INVALID_INPUT"


class Unauthorized(DomainError):
    code = "UNAUTHORIZED"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class NotFound(DomainError):
    code = "NOT_FOUND"


class Conflict(DomainError):
    code = "CONFLICT"


class ActivationLimitReached(DomainError):
    code = "ACTIVATION_LIMIT_REACHED"


class Unprocessable(DomainError):
    code = "UNPROCESSABLE"


class RateLimited(DomainError):
    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code)
        self.retry_after = max(1, int(retry_after))


class Unavailable(DomainError):
    """A transient failure (storage, a restarting host): the caller may retry."""

    code = "UNAVAILABLE"


class UpstreamFailed(DomainError):
    """A service we depend on (Stripe) failed; nothing was changed here."""

    code = "UPSTREAM_FAILED"
