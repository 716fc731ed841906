"""The license host's messages: each command type registered once, with its encoding."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..services.activation import (
    Activate,
    Activation,
    Deactivate,
    Validate,
    Validation,
)
from ..services.licenses import FreeSeat, GetLicense, MintedLicense, RemintLicense, RevokeLicense
from ..services.payments import ExpireForCancellation, RenewForInvoice, RevokeForRefund
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
REVOKE_FOR_REFUND = message(RevokeForRefund, key=KEY, encode_result=license_view)
RENEW_FOR_INVOICE = message(RenewForInvoice, key=KEY, encode_result=license_view)
EXPIRE_FOR_CANCELLATION = message(ExpireForCancellation, key=KEY, encode_result=license_view)


class LicenseClient:
    """The license hosts as the ingress calls them: one typed method per use case."""

    def __init__(self, pool: HostPool) -> None:
        self.pool = pool

    async def activate(self, command: Activate) -> Activation:
        return await self.pool.send(ACTIVATE, command)

    async def validate(self, command: Validate) -> Validation:
        return await self.pool.send(VALIDATE, command)

    async def deactivate(self, command: Deactivate) -> None:
        await self.pool.send(DEACTIVATE, command)

    async def get(self, command: GetLicense) -> dict[str, Any]:
        """The license with its active instances (a read: sent again if its host died)."""
        return await self.pool.send(GET_LICENSE, command, retry_read=True)

    async def revoke(self, command: RevokeLicense) -> dict[str, Any]:
        return await self.pool.send(REVOKE_LICENSE, command)

    async def remint(self, command: RemintLicense) -> dict[str, Any]:
        """The new license with its raw key, shown this once."""
        return await self.pool.send(REMINT_LICENSE, command)

    async def free_seat(self, command: FreeSeat) -> dict[str, Any]:
        return await self.pool.send(FREE_SEAT, command)

    async def revoke_for_refund(self, command: RevokeForRefund) -> dict[str, Any]:
        return await self.pool.send(REVOKE_FOR_REFUND, command)

    async def renew_for_invoice(self, command: RenewForInvoice) -> dict[str, Any]:
        return await self.pool.send(RENEW_FOR_INVOICE, command)

    async def expire_for_cancellation(self, command: ExpireForCancellation) -> dict[str, Any]:
        return await self.pool.send(EXPIRE_FOR_CANCELLATION, command)
