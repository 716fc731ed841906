"""The license host's messages: each command type registered once, with its encoding."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from ..services.activation import (
    Activate,
    Activation,
    Deactivate,
    Validate,
    Validation,
)
from ..services.licenses import (
    EditLicense,
    ExpireLicense,
    ExpiryOutcome,
    FreeSeat,
    GetLicense,
    MintedLicense,
    ReinstateLicense,
    RemintLicense,
    RevokeLicense,
    SuspendLicense,
)
from ..services.payments import (
    CloseDispute,
    ExpireForCancellation,
    RenewForInvoice,
    RevokeForRefund,
)
from .license_view import instance_view, license_view
from .messages import message

if TYPE_CHECKING:
    from .host_pool import HostPool

KEY = "key_hash"

# The SDK's: answered once the host has signed the lease.
ACTIVATE = message(
    Activate, key=KEY,
    encode_result=lambda a: [a.instance_id, a.lease, a.license_expires_at],
    decode_result=lambda wire: Activation(*wire))
VALIDATE = message(
    Validate, key=KEY,
    encode_result=lambda v: [v.valid, v.lease, v.license_expires_at],
    decode_result=lambda wire: Validation(*wire))
DEACTIVATE = message(Deactivate, key=KEY, encode_result=lambda _: None)


# The management API's and Stripe's: the license as the management API shows it.
def _detail(license_: Any) -> dict[str, Any]:
    return license_view(license_, with_instances=True)


def _minted(value: MintedLicense) -> dict[str, Any]:
    # Encoded after the commit: created_at is the stored one.
    return {**license_view(value.license), "key": value.key}


GET_LICENSE = message(GetLicense, key=KEY, encode_result=_detail)
REVOKE_LICENSE = message(RevokeLicense, key=KEY, encode_result=_detail)
REMINT_LICENSE = message(RemintLicense, key=KEY, encode_result=_minted)
FREE_SEAT = message(FreeSeat, key=KEY, encode_result=instance_view)


def _edited(license_: Any) -> dict[str, Any]:
    view = _detail(license_)
    over = license_.over_limit_by
    view["over_limit_by"] = over
    if over:
        view["notice"] = (f"{license_.seats_used} devices are active, {over} over the new "
                          f"limit of {license_.activation_limit}: they keep working, and no "
                          "new device is activated until fewer than the limit are active")
    return view


EDIT_LICENSE = message(
    EditLicense, key=KEY, encode_result=_edited,
    decode_fields=lambda values: EditLicense(*values[:3], tuple(values[3]), *values[4:]))
SUSPEND_LICENSE = message(SuspendLicense, key=KEY, encode_result=_detail)
REINSTATE_LICENSE = message(ReinstateLicense, key=KEY, encode_result=_detail)
EXPIRE_LICENSE = message(
    ExpireLicense, key=KEY, encode_result=lambda outcome: outcome.announced,
    decode_result=ExpiryOutcome)
REVOKE_FOR_REFUND = message(RevokeForRefund, key=KEY, encode_result=license_view)
CLOSE_DISPUTE = message(CloseDispute, key=KEY, encode_result=license_view)
RENEW_FOR_INVOICE = message(RenewForInvoice, key=KEY, encode_result=license_view)
EXPIRE_FOR_CANCELLATION = message(ExpireForCancellation, key=KEY, encode_result=license_view)


class LicenseClient:
    """The license hosts as the ingress calls them: one typed method per use case, each
    handing back the pool's own coroutine (no extra frame on the hot path)."""

    def __init__(self, pool: HostPool) -> None:
        self.pool = pool

    def activate(self, command: Activate) -> Awaitable[Activation]:
        return self.pool.send(ACTIVATE, command)

    def validate(self, command: Validate) -> Awaitable[Validation]:
        return self.pool.send(VALIDATE, command)

    def deactivate(self, command: Deactivate) -> Awaitable[None]:
        return self.pool.send(DEACTIVATE, command)

    def get(self, command: GetLicense) -> Awaitable[dict[str, Any]]:
        """The license with its active instances (a read: sent again if its host died)."""
        return self.pool.send(GET_LICENSE, command, retry_read=True)

    def revoke(self, command: RevokeLicense) -> Awaitable[dict[str, Any]]:
        return self.pool.send(REVOKE_LICENSE, command)

    def remint(self, command: RemintLicense) -> Awaitable[dict[str, Any]]:
        """The new license with its raw key, shown this once."""
        return self.pool.send(REMINT_LICENSE, command)

    def free_seat(self, command: FreeSeat) -> Awaitable[dict[str, Any]]:
        return self.pool.send(FREE_SEAT, command)

    def edit(self, command: EditLicense) -> Awaitable[dict[str, Any]]:
        """The license with its instances, and ``over_limit_by`` (and a ``notice``)."""
        return self.pool.send(EDIT_LICENSE, command)

    def suspend(self, command: SuspendLicense) -> Awaitable[dict[str, Any]]:
        return self.pool.send(SUSPEND_LICENSE, command)

    def reinstate(self, command: ReinstateLicense) -> Awaitable[dict[str, Any]]:
        return self.pool.send(REINSTATE_LICENSE, command)

    def expire(self, command: ExpireLicense) -> Awaitable[ExpiryOutcome]:
        """The expiry sweep's: announce an expiry no SDK call saw (idempotent)."""
        return self.pool.send(EXPIRE_LICENSE, command)

    def revoke_for_refund(self, command: RevokeForRefund) -> Awaitable[dict[str, Any]]:
        return self.pool.send(REVOKE_FOR_REFUND, command)

    def close_dispute(self, command: CloseDispute) -> Awaitable[dict[str, Any]]:
        return self.pool.send(CLOSE_DISPUTE, command)

    def renew_for_invoice(self, command: RenewForInvoice) -> Awaitable[dict[str, Any]]:
        return self.pool.send(RENEW_FOR_INVOICE, command)

    def expire_for_cancellation(self, command: ExpireForCancellation
                                ) -> Awaitable[dict[str, Any]]:
        return self.pool.send(EXPIRE_FOR_CANCELLATION, command)
