"""The Python client SDK: activate a license key, keep a verified lease, decide offline."""

from .client import SDK_VERSION, KeylightClient
from .errors import (
    CacheCorruptError,
    KeylightAPIError,
    KeylightError,
    KeylightNetworkError,
    KeysetError,
    LeaseVerificationError,
    NotActivatedError,
)
from .state import LicenseState, LicenseStatus

__all__ = [
    "SDK_VERSION",
    "CacheCorruptError",
    "KeylightAPIError",
    "KeylightClient",
    "KeylightError",
    "KeylightNetworkError",
    "KeysetError",
    "LeaseVerificationError",
    "LicenseState",
    "LicenseStatus",
    "NotActivatedError",
]
