"""Exceptions the SDK raises. All derive from :class:`KeylightError`."""

from __future__ import annotations


class KeylightError(Exception):
    """Base class of every SDK error."""


class KeylightAPIError(KeylightError):
    """The server answered with an error: ``{"error": text, "code": CODE}``.

    ``status`` is the HTTP status, ``code`` the machine code (``HTTP_<status>`` when the body
    carried none), ``retry_after`` the server's ``Retry-After`` in seconds, if any.
    """

    def __init__(
        self, status: int, code: str, message: str, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.status in (408, 429) or self.status >= 500


class KeylightNetworkError(KeylightError):
    """The server could not be reached (after the retries)."""


class LeaseVerificationError(KeylightError):
    """The server sent a lease that is malformed, unsigned by a trusted key, or not ours."""


class KeysetError(KeylightError):
    """The published keyset could not be fetched or parsed."""


class NotActivatedError(KeylightError):
    """The operation needs an activation, and the cache holds none."""


class CacheCorruptError(KeylightError):
    """The lease cache file exists but cannot be read as a cache record."""
