"""How a license host keeps a resident license between calls: packed into one ``bytes``.

A host holds up to a hundred thousand licenses. As objects, a license is many (the
entity, its strings and ints, its device set and churn log, each a separate object);
packed with msgpack it is one, a fraction of their size, which the garbage collector never
has to walk. Each call revives its license from the bytes, which also gives the call the
private copy a change needs, for less than copying the object would cost; a committed
change is packed back. Its recorded changes are not packed: a resident license has
committed them. (What these cost: docs/performance.md.)
"""

from __future__ import annotations

from array import array
from operator import attrgetter

import msgpack

from ..domain.instance_set import InstanceSet
from ..domain.license import SECONDS_PER_DAY, LicenseEntity, LicenseStatus
from ..domain.rate_limit import SlidingWindowLimit

# The fields packed as they are, in the order ``LicenseEntity`` declares them: after the
# device count, the devices, the churn log and the identity (``key_hash`` is not packed: it
# is the key the host keeps the license under), so that reviving is one positional call.
IDENTITY_FIELDS = ("license_id", "tenant_id", "product_id", "key_type_id")
TERMS_FIELDS = (
    "activation_limit", "expires_at", "entitlements", "fallback_access", "customer_email",
    "created_at", "version", "reminted_from", "expiry_announced_for", "churn_limit_per_day",
    "revoked_by", "payment_settled", "revoked_while_suspended",
)
_identity = attrgetter(*IDENTITY_FIELDS)
_terms = attrgetter(*TERMS_FIELDS)
_STATUSES = {status.value: status for status in LicenseStatus}


def pack_license(license_: LicenseEntity) -> bytes:
    churn = license_.churn
    return msgpack.packb((
        len(license_.instances), license_.instances.packed,
        None if churn is None else churn.hits.tobytes(),
        *_identity(license_), license_.key_display, license_.status.value, *_terms(license_),
    ))


def unpack_license(key_hash: str, packed: bytes) -> LicenseEntity:
    """The license as it was packed, a new object the caller may change."""
    (count, devices, churn_hits, license_id, tenant_id, product_id, key_type_id, key_display,
     status, *terms) = msgpack.unpackb(packed, use_list=False)
    license_ = LicenseEntity(
        license_id, tenant_id, product_id, key_type_id, key_hash, key_display,
        _STATUSES[status], *terms, instances=InstanceSet.from_packed(devices, count),
    )
    if churn_hits is not None:
        license_.churn = SlidingWindowLimit(
            license_.churn_limit_per_day, SECONDS_PER_DAY, array("d", churn_hits))
    return license_


def devices_in(packed: bytes) -> int:
    """The active devices of a packed license, without reviving it."""
    unpacker = msgpack.Unpacker()
    unpacker.feed(packed)
    unpacker.read_array_header()
    count: int = unpacker.unpack()
    return count
