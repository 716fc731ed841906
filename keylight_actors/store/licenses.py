"""License rows and their instances."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from ..domain.instance_set import Instance, InstanceSet
from ..domain.license import (
    SECONDS_PER_DAY,
    InstanceAdded,
    InstanceCheckedIn,
    InstanceRemoved,
    LicenseEntity,
    LicenseStatus,
)
from ..domain.rate_limit import SlidingWindowLimit
from .database import StaleVersion
from .events import EVENT_OUTBOX_CTES, EVENT_ROW_TYPE, OutboundEvent
from .webhook_deliveries import NOTIFY_CHANNEL

# A license's status as lists, exports and stats show it: past its expires_at, an active
# license is expired (a suspended one stays suspended, as the SDK answers it).
LICENSE_STATUSES = ("active", "expired", "suspended", "revoked", "reminted")
SHOWN_STATUS = ("(CASE WHEN l.status = 'active' AND l.expires_at <= now() "
                "THEN 'expired' ELSE l.status END)")


@dataclass(frozen=True)
class LicenseFilter:
    """Which of a tenant's licenses a list or an export covers; ``None`` is no condition."""

    product_id: str | None = None
    key_type_id: str | None = None
    status: str | None = None
    email: str | None = None
    source: str | None = None
    key_hash: str | None = None

    def where(self) -> tuple[str, dict[str, Any]]:
        """The SQL condition on licenses ``l`` and its parameters."""
        conditions = ["l.tenant_id = %(tenant)s"]
        params: dict[str, Any] = {}
        for column in ("product_id", "key_type_id", "source", "key_hash"):
            value = getattr(self, column)
            if value is not None:
                conditions.append(f"l.{column} = %({column})s")
                params[column] = value
        if self.email is not None:
            conditions.append("lower(l.customer_email) = lower(%(email)s)")
            params["email"] = self.email
        # As SHOWN_STATUS reads, spelled so that an index on the stored status serves it.
        if self.status == "expired":
            conditions.append("l.status = 'active' AND l.expires_at <= now()")
        elif self.status == "active":
            conditions.append("l.status = 'active' AND (l.expires_at IS NULL "
                              "OR l.expires_at > now())")
        elif self.status is not None:
            conditions.append("l.status = %(status)s")
            params["status"] = self.status
        return " AND ".join(conditions), params


LICENSE_COLUMNS = """
    l.license_id::text AS license_id, l.tenant_id, l.product_id, l.key_type_id, l.key_hash,
    l.key_display, l.status, l.activation_limit,
    extract(epoch FROM l.expires_at)::bigint AS expires_at,
    l.entitlements, l.fallback_access, l.customer_email, l.source,
    l.checkout_session_id, l.reminted_from::text AS reminted_from, l.version,
    extract(epoch FROM l.expiry_announced_for)::bigint AS expiry_announced_for,
    l.churn_limit_per_day, l.revoked_by, l.payment_settled, l.revoked_while_suspended,
    floor(extract(epoch FROM l.created_at))::bigint AS created_at
"""


def _license_from_row(row: dict[str, Any], instances: list[dict[str, Any]]) -> LicenseEntity:
    return LicenseEntity(
        license_id=row["license_id"],
        tenant_id=row["tenant_id"],
        product_id=row["product_id"],
        key_type_id=row["key_type_id"],
        key_hash=row["key_hash"],
        key_display=row["key_display"],
        status=LicenseStatus(row["status"]),
        activation_limit=row["activation_limit"],
        expires_at=row["expires_at"],
        entitlements=tuple(row["entitlements"]),
        fallback_access=row["fallback_access"],
        customer_email=row["customer_email"],
        created_at=row["created_at"],
        version=row["version"],
        reminted_from=row["reminted_from"],
        expiry_announced_for=row["expiry_announced_for"],
        churn_limit_per_day=row["churn_limit_per_day"],
        revoked_by=row["revoked_by"],
        payment_settled=tuple(row["payment_settled"]),
        revoked_while_suspended=row["revoked_while_suspended"],
        instances=InstanceSet.of(
            Instance(item["instance_id"], item["name"], item["machine_hash"],
                     item["activated_at"], item.get("last_validated_at"))
            for item in instances
        ),
    )


# Licenses with their active devices and the last day's device changes (the churn window
# after a reload), in one round trip: cold licenses loaded together cost one query.
LOAD_LICENSES = f"""
    SELECT {LICENSE_COLUMNS},
           COALESCE((
               SELECT json_agg(json_build_object(
                          'instance_id', i.instance_id::text, 'name', i.name,
                          'machine_hash', i.machine_hash,
                          'activated_at', extract(epoch FROM i.activated_at)::bigint,
                          'last_validated_at', extract(epoch FROM coalesce(
                              i.last_validated_at, i.activated_at))::bigint)
                      ORDER BY i.activated_at, i.instance_id)
                 FROM license_instances i
                WHERE i.license_id = l.license_id AND i.deactivated_at IS NULL), '[]')
               AS active_instances,
           ARRAY(
               SELECT extract(epoch FROM changed.at)::float8
                 FROM (SELECT activated_at AS at FROM license_instances
                        WHERE license_id = l.license_id
                       UNION ALL
                       SELECT deactivated_at FROM license_instances
                        WHERE license_id = l.license_id AND deactivated_at IS NOT NULL
                          AND deactivated_by_device) changed
                WHERE changed.at > now() - interval '1 day') AS recent_churn
      FROM licenses l
     WHERE l.key_hash = ANY(%s)
"""


async def load_licenses(conn: AsyncConnection, key_hashes: list[str]
                        ) -> dict[str, LicenseEntity]:
    """The licenses that exist among ``key_hashes``, by key hash."""
    cursor = await conn.execute(LOAD_LICENSES, (key_hashes,))
    found = {}
    for row in await cursor.fetchall():
        license_ = _license_from_row(row, row["active_instances"])
        if row["recent_churn"]:  # else created at the first device change
            license_.churn = SlidingWindowLimit.from_history(
                license_.churn_limit_per_day, SECONDS_PER_DAY, row["recent_churn"])
        found[license_.key_hash] = license_
    return found


async def key_hash_of(conn: AsyncConnection, tenant_id: str, license_id: str) -> str | None:
    """The routing key of a license, looked up by its id within one tenant."""
    cursor = await conn.execute(
        "SELECT key_hash FROM licenses WHERE license_id = %s AND tenant_id = %s",
        (license_id, tenant_id),
    )
    row = await cursor.fetchone()
    return row["key_hash"] if row else None


async def insert_license(
    conn: AsyncConnection,
    license_: LicenseEntity,
    *,
    source: str,
    checkout_session_id: str | None = None,
    stripe_ids: dict[str, str | None] | None = None,
) -> int:
    """Insert a new license; answers its created_at (Unix seconds) as stored, which is what
    every later read shows."""
    stripe_ids = stripe_ids or {}
    # created_at comes from the database clock, to the microsecond: lists are newest first.
    cursor = await conn.execute(
        """INSERT INTO licenses (license_id, tenant_id, product_id, key_type_id, key_hash,
                                 key_display, status, activation_limit, expires_at,
                                 entitlements, fallback_access, customer_email, source,
                                 checkout_session_id, reminted_from, version, created_at,
                                 stripe_payment_intent_id, stripe_subscription_id,
                                 stripe_customer_id, churn_limit_per_day)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, to_timestamp(%s), %s, %s, %s, %s, %s, %s,
                   %s, clock_timestamp(), %s, %s, %s, %s)
           RETURNING floor(extract(epoch FROM created_at))::bigint AS created_at""",
        (
            license_.license_id,
            license_.tenant_id,
            license_.product_id,
            license_.key_type_id,
            license_.key_hash,
            license_.key_display,
            license_.status.value,
            license_.activation_limit,
            license_.expires_at,
            list(license_.entitlements),
            license_.fallback_access,
            license_.customer_email,
            source,
            checkout_session_id,
            license_.reminted_from,
            license_.version,
            stripe_ids.get("payment_intent"),
            stripe_ids.get("subscription"),
            stripe_ids.get("customer"),
            license_.churn_limit_per_day,
        ),
    )
    row = await cursor.fetchone()
    assert row is not None
    return int(row["created_at"] if isinstance(row, dict) else row[0])


@dataclass(frozen=True, slots=True)
class LicenseSave:
    """A license to write, fenced on the version it was read at, with the events that
    announce the change (written only when the license is)."""

    license: LicenseEntity
    expected_version: int
    events: tuple[OutboundEvent, ...] = ()
    now: int = 0

    def rows(self) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]],
                            list[dict[str, Any]], list[dict[str, Any]]]:
        license_ = self.license
        license_id = license_.license_id
        saved = {
            "license_id": license_id, "expected": self.expected_version,
            "status": license_.status.value, "activation_limit": license_.activation_limit,
            "expires_at": license_.expires_at, "entitlements": list(license_.entitlements),
            "announced_for": license_.expiry_announced_for, "version": license_.version,
            "revoked_by": license_.revoked_by, "settled": list(license_.payment_settled),
            "while_suspended": license_.revoked_while_suspended,
        }
        added, removed, checked_in = [], [], []
        for change in license_.changes:
            if isinstance(change, InstanceAdded):
                instance = change.instance
                added.append({"license_id": license_id, "instance_id": instance.instance_id,
                              "name": instance.name, "machine_hash": instance.machine_hash,
                              "activated_at": instance.activated_at})
            elif isinstance(change, InstanceRemoved):
                removed.append({"license_id": license_id, "instance_id": change.instance_id,
                                "at": change.at, "by_device": change.by_device})
            elif isinstance(change, InstanceCheckedIn):
                checked_in.append({"license_id": license_id,
                                   "instance_id": change.instance_id, "at": change.at})
        events = [{**event.row(self.now), "license_id": license_id} for event in self.events]
        return saved, added, removed, checked_in, events


# Every save of a group in one statement: the instance changes and the events hang off
# the fenced UPDATE, so they happen only for the licenses it matched. (The sub-statements
# of one statement do not see each other's rows: a save never adds and removes the same
# instance, nor removes one it checks in, and a group holds one save per license, since
# each license's operations run one at a time.)
SAVE_LICENSES = (
    """WITH saves AS (
               SELECT * FROM jsonb_to_recordset(%(saves)s) AS s(
                   license_id uuid, expected bigint, status text, activation_limit integer,
                   expires_at bigint, entitlements text[], announced_for bigint,
                   version bigint, revoked_by text, settled text[],
                   while_suspended boolean)),
           fenced AS (
               UPDATE licenses AS l
                  SET status = s.status, activation_limit = s.activation_limit,
                      expires_at = to_timestamp(s.expires_at), entitlements = s.entitlements,
                      expiry_announced_for = to_timestamp(s.announced_for),
                      revoked_by = s.revoked_by, payment_settled = s.settled,
                      revoked_while_suspended = s.while_suspended,
                      version = s.version, updated_at = now()
                 FROM saves AS s
                WHERE l.license_id = s.license_id AND l.version = s.expected
                  -- The planner cannot see how many rows jsonb_to_recordset yields (it
                  -- guesses 100) and would scan every license; this makes it use the key.
                  AND l.license_id = ANY (%(license_ids)s::uuid[])
            RETURNING l.license_id, l.tenant_id),
           added AS (
               INSERT INTO license_instances
                      (instance_id, license_id, tenant_id, name, machine_hash,
                       activated_at, last_validated_at)
               SELECT a.instance_id, a.license_id, fenced.tenant_id, a.name, a.machine_hash,
                      to_timestamp(a.activated_at), to_timestamp(a.activated_at)
                 FROM jsonb_to_recordset(%(added)s) AS a(
                          license_id uuid, instance_id uuid, name text, machine_hash text,
                          activated_at bigint)
                 JOIN fenced USING (license_id)),
           removed AS (
               UPDATE license_instances AS i
                  SET deactivated_at = to_timestamp(r.at), deactivated_by_device = r.by_device
                 FROM jsonb_to_recordset(%(removed)s) AS r(
                          license_id uuid, instance_id uuid, at bigint, by_device boolean)
                 JOIN fenced USING (license_id)
                WHERE i.instance_id = r.instance_id AND i.deactivated_at IS NULL),
           checked_in AS (
               UPDATE license_instances AS i
                  SET last_validated_at = to_timestamp(c.at)
                 FROM jsonb_to_recordset(%(checked_in)s) AS c(
                          license_id uuid, instance_id uuid, at bigint)
                 JOIN fenced USING (license_id)
                WHERE i.instance_id = c.instance_id AND i.deactivated_at IS NULL),
           fenced_events AS (
               SELECT e.* FROM jsonb_to_recordset(%(events)s) AS e(license_id uuid, """
    + EVENT_ROW_TYPE + """)
                 JOIN fenced USING (license_id)),"""
    + EVENT_OUTBOX_CTES.format(source="fenced_events")
    + """SELECT array(SELECT license_id::text FROM fenced) AS fenced,
                  (SELECT count(*) FROM notified) AS notified"""
)


async def save_licenses(conn: AsyncConnection, saves: Sequence[LicenseSave]
                        ) -> list[StaleVersion | None]:
    """Write every license of ``saves`` in one statement, each fenced on its expected
    version; answers, per save, None when it was written or ``StaleVersion`` when another
    owner had moved the row on (nothing of that save was written)."""
    licenses, added, removed, checked_in, events = [], [], [], [], []
    for save in saves:
        saved, its_added, its_removed, its_checked_in, its_events = save.rows()
        licenses.append(saved)
        added += its_added
        removed += its_removed
        checked_in += its_checked_in
        events += its_events
    cursor = await conn.execute(SAVE_LICENSES, {
        "saves": Jsonb(licenses), "license_ids": [saved["license_id"] for saved in licenses],
        "added": Jsonb(added), "removed": Jsonb(removed), "checked_in": Jsonb(checked_in),
        "events": Jsonb(events), "notify_channel": NOTIFY_CHANNEL,
    })
    row = await cursor.fetchone()
    assert row is not None
    written = set(row["fenced"] if isinstance(row, dict) else row[0])
    return [None if save.license.license_id in written else StaleVersion(
                f"license {save.license.license_id} moved past version {save.expected_version}")
            for save in saves]


async def save_license(
    conn: AsyncConnection, license_: LicenseEntity, expected_version: int
) -> None:
    """Write the license and its recorded instance changes, fenced on ``expected_version``."""
    [stale] = await save_licenses(conn, [LicenseSave(license_, expected_version)])
    if stale is not None:
        raise stale


async def license_page(
    conn: AsyncConnection,
    tenant_id: str,
    which: LicenseFilter,
    *,
    after: tuple[int, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Newest first; ``after`` is the (created_at in microseconds, license_id) of the last
    row seen. ``status`` is the shown one (``SHOWN_STATUS``)."""
    condition, params = which.where()
    after_created, after_id = after if after else (None, None)
    cursor = await conn.execute(
        f"""SELECT {LICENSE_COLUMNS}, {SHOWN_STATUS} AS shown_status,
                   (extract(epoch FROM l.created_at) * 1000000)::bigint AS created_us,
                   (SELECT count(*) FROM license_instances i
                     WHERE i.license_id = l.license_id AND i.deactivated_at IS NULL)
                       AS active_instances
              FROM licenses l
             WHERE {condition}
               AND (%(after_created)s::bigint IS NULL
                    OR (l.created_at, l.license_id)
                       < (timestamptz 'epoch' + %(after_created)s * interval '1 microsecond',
                          %(after_id)s::uuid))
             ORDER BY l.created_at DESC, l.license_id DESC
             LIMIT %(limit)s""",
        {**params, "tenant": tenant_id, "after_created": after_created,
         "after_id": after_id, "limit": limit},
    )
    return await cursor.fetchall()


async def update_license_details(conn: AsyncConnection, license_id: str, *,
                                 customer_email: str | None, set_email: bool,
                                 metadata: dict[str, Any] | None, set_metadata: bool) -> None:
    """The vendor's own fields of a license row (see ``LicenseDetailsChanged``)."""
    await conn.execute(
        """UPDATE licenses
              SET customer_email = CASE WHEN %(set_email)s THEN %(email)s
                                        ELSE customer_email END,
                  metadata = CASE WHEN %(set_metadata)s THEN %(metadata)s::jsonb
                                  ELSE metadata END,
                  updated_at = now()
            WHERE license_id = %(license_id)s""",
        {"set_email": set_email, "email": customer_email, "set_metadata": set_metadata,
         "metadata": Jsonb(metadata) if metadata is not None else None,
         "license_id": license_id})


async def license_metadata(conn: AsyncConnection, tenant_id: str, license_id: str
                           ) -> dict[str, Any] | None:
    """The vendor's metadata of a license (None when it has none)."""
    cursor = await conn.execute(
        "SELECT metadata FROM licenses WHERE license_id = %s AND tenant_id = %s",
        (license_id, tenant_id))
    row = await cursor.fetchone()
    return row["metadata"] if row else None


async def key_hash_of_instance(
    conn: AsyncConnection, tenant_id: str, product_id: str, instance_id: str
) -> str | None:
    """The routing key of the license an instance belongs to (for deactivate by id alone)."""
    cursor = await conn.execute(
        """SELECT l.key_hash FROM license_instances i JOIN licenses l USING (license_id)
            WHERE i.instance_id = %s AND l.tenant_id = %s AND l.product_id = %s""",
        (instance_id, tenant_id, product_id),
    )
    row = await cursor.fetchone()
    return row["key_hash"] if row else None


async def key_hash_for_stripe(
    conn: AsyncConnection, tenant_id: str, *, payment_intent: str | None = None,
    subscription: str | None = None,
) -> str | None:
    """The license a payment or subscription bought, within one tenant."""
    cursor = await conn.execute(
        """SELECT key_hash FROM licenses
            WHERE tenant_id = %s
              AND ((%s::text IS NOT NULL AND stripe_payment_intent_id = %s)
                OR (%s::text IS NOT NULL AND stripe_subscription_id = %s))
            ORDER BY created_at LIMIT 1""",
        (tenant_id, payment_intent, payment_intent, subscription, subscription),
    )
    row = await cursor.fetchone()
    return row["key_hash"] if row else None


async def license_for_session(conn: AsyncConnection, session_id: str) -> str | None:
    cursor = await conn.execute(
        "SELECT license_id::text FROM licenses WHERE checkout_session_id = %s", (session_id,)
    )
    row = await cursor.fetchone()
    return row["license_id"] if row else None
