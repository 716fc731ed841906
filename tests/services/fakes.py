"""In-memory stand-ins for the interfaces of the use cases that no entity host runs: the
plain store units of work (webhook endpoint, keyless installs, lookup guard), the license
import's store transactions, and the ports of the payment orchestrations (the Stripe
gateway, the tenant host, the stored records). Each keeps what it was asked to do for the
test to read; nothing is written anywhere."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace

from keylight_actors.domain.audit import AuditEntry
from keylight_actors.domain.errors import InvalidInput
from keylight_actors.domain.events import OutboundEvent
from keylight_actors.domain.license_import import ExistingLicense, ImportRaced
from keylight_actors.services.imports import NewLicense


class InMemoryWebhookWork:
    """``WebhookUnitOfWork`` over one dict of endpoints and a set of deliveries."""

    def __init__(self, *, endpoints: dict[str, dict] | None = None,
                 deliveries: set[tuple[str, str]] | None = None,
                 refused_urls: tuple[str, ...] = ()) -> None:
        self.endpoints = endpoints if endpoints is not None else {}
        self.deliveries = deliveries or set()
        self.redelivered: list[str] = []
        self.refused_urls = refused_urls
        self.audits: list[AuditEntry] = []
        self._secrets = 0

    async def check_target(self, url: str) -> None:
        if url in self.refused_urls:
            raise InvalidInput("a private address", code="PRIVATE_WEBHOOK_URL")

    def new_secret(self) -> str:
        self._secrets += 1
        return f"whsec_{self._secrets}"

    async def save_endpoint(self, tenant_id: str, url: str, events: list[str],
                            secret: str) -> bool:
        current = self.endpoints.get(tenant_id)
        if current is None:
            self.endpoints[tenant_id] = {"url": url, "events": events, "secret": secret}
            return True
        current.update(url=url, events=events)
        return False

    async def rotate_secret(self, tenant_id: str, secret: str, overlap_seconds: int
                            ) -> int | None:
        current = self.endpoints.get(tenant_id)
        if current is None:
            return None
        current["previous_secret"], current["secret"] = current["secret"], secret
        return 1_800_000_000 + overlap_seconds

    async def redeliver(self, tenant_id: str, delivery_id: str) -> bool:
        if (tenant_id, delivery_id) not in self.deliveries:
            return False
        self.redelivered.append(delivery_id)
        return True

    def audit(self, entry: AuditEntry) -> None:
        self.audits.append(entry)

    def audit_actions(self) -> list[str]:
        return [entry.action for entry in self.audits]


class FakeStripe:
    """``StripeApi``: answers made-up ids and keeps each call's arguments."""

    def __init__(self) -> None:
        self.sessions: list[dict] = []
        self.prices: list[dict] = []

    async def create_checkout_session(self, api_key, params, *, account, idempotency_key):
        self.sessions.append({"api_key": api_key, "params": params, "account": account,
                              "idempotency_key": idempotency_key})
        number = len(self.sessions)
        return {"id": f"cs_{number}", "url": f"https://checkout.stripe.test/cs_{number}"}

    async def create_price(self, api_key, params, *, account, idempotency_key):
        self.prices.append({"api_key": api_key, "params": params, "account": account,
                            "idempotency_key": idempotency_key})
        return f"price_{len(self.prices)}"


class FakePayments:
    """``PaymentsPorts``: the tenant host's authorisation is a given answer (or error)."""

    def __init__(self, *, terms=None, refusal: Exception | None = None,
                 platform_secret_key: str | None = "sk_platform", platform_fee_bps: int = 50,
                 manual_keys: dict[str, str] | None = None) -> None:
        self.stripe = FakeStripe()
        self.platform_secret_key = platform_secret_key
        self.platform_fee_bps = platform_fee_bps
        self.terms = terms
        self.refusal = refusal
        self.manual_keys = manual_keys or {}
        self.authorized: list = []
        self.recorded_sessions: list[tuple] = []

    async def authorize_checkout(self, command):
        self.authorized.append(command)
        if self.refusal is not None:
            raise self.refusal
        return self.terms

    async def manual_secret_key(self, tenant_id: str) -> str | None:
        return self.manual_keys.get(tenant_id)

    async def record_checkout_session(self, session_id, tenant_id, product_id, key_type_id,
                                      customer_email) -> None:
        self.recorded_sessions.append((session_id, tenant_id, product_id, key_type_id,
                                       customer_email))


class FakeStripeInbox:
    """``StripeInboxPorts``: kept events by id, Stripe ids to key hashes, and the host
    calls it was asked to make (each may be given an error to raise)."""

    def __init__(self, *, accounts: dict[str, str] | None = None,
                 bought: dict[tuple[str, str], str] | None = None,
                 tenant=None, licenses: dict[str, dict] | None = None,
                 refusal: Exception | None = None) -> None:
        self.kept: dict[str, dict] = {}
        self.outcomes: list[tuple] = []
        self.accounts = accounts or {}
        self.bought = bought or {}
        self.snapshot = tenant
        self.licenses = licenses or {}
        self.refusal = refusal
        self.sent: list = []

    async def keep(self, event, *, endpoint, tenant_id):
        kept = self.kept.setdefault(event["id"], {"status": "received",
                                                  "endpoint": endpoint})
        kept.setdefault("payload", event)
        return kept["status"]

    async def mark_outcome(self, event_id, status, reason, tenant_id):
        self.outcomes.append((event_id, status, reason, tenant_id))

    async def hold(self, event_id, reason, tenant_id, awaits):
        self.outcomes.append((event_id, "held", reason, tenant_id))
        kept = self.kept.setdefault(event_id, {"status": "received", "endpoint": "connect"})
        if kept["status"] != "processed":
            kept.update(status="held", awaits=awaits, tenant_id=tenant_id)

    async def held_events(self, tenant_id, awaits):
        return [{"event_id": event_id, "endpoint": kept["endpoint"],
                 "payload": kept["payload"]} for event_id, kept in self.kept.items()
                if kept["status"] == "held" and kept.get("awaits") in awaits
                and kept.get("tenant_id") == tenant_id]

    async def orphaned_held_events(self, limit):
        """Held events whose license was bought already (``bought``), in the order kept."""
        return [{"event_id": event_id, "endpoint": kept["endpoint"],
                 "payload": kept["payload"]} for event_id, kept in self.kept.items()
                if kept["status"] == "held" and (
                    kept.get("tenant_id"), kept["awaits"].split(":", 1)[1]) in self.bought
                ][:limit]

    async def tenant_for_account(self, account):
        return self.accounts.get(account)

    async def license_bought_with(self, tenant_id, *, payment_intent=None, subscription=None):
        return self.bought.get((tenant_id, payment_intent or subscription or ""))

    async def tenant(self, tenant_id):
        return self.snapshot

    async def license(self, command):
        return self.licenses[command.key_hash]

    async def _send(self, command):
        self.sent.append(command)
        if self.refusal is not None:
            raise self.refusal
        kept = self.kept.get(command.event_id)
        if kept is not None:  # the claim, as the hosts' commits make it
            if kept["status"] == "processed":
                from keylight_actors.domain.errors import Conflict
                raise Conflict("again", code="EVENT_ALREADY_PROCESSED")
            kept["status"] = "processed"
        return command

    async def mint_from_checkout(self, command):
        await self._send(command)
        for stripe_id in (command.payment_intent, command.subscription):
            if stripe_id:  # what the minted license was bought with
                self.bought[(command.tenant_id, stripe_id)] = "kh"
        return command

    revoke_for_refund = _send
    close_dispute = _send
    renew_for_invoice = _send
    expire_for_cancellation = _send


class InMemoryKeyless:
    """``KeylessUnitOfWork`` over a dict of installs (and the license each became)."""

    def __init__(self, *, interval_seconds: float = 6 * 3600,
                 licenses: dict[str, str] | None = None) -> None:
        from keylight_actors.domain.write_throttle import WriteThrottle

        self.throttle = WriteThrottle(interval_seconds)
        self.installs: dict[tuple[str, str, str], dict] = {}
        self.licenses = licenses or {}  # key hash -> license id
        self.writes = 0

    async def record_install(self, tenant_id, product_id, instance_id, state, machine_hash):
        self.writes += 1
        self.installs.setdefault((tenant_id, product_id, instance_id), {}).update(
            state=state, machine_hash=machine_hash)

    async def link_install(self, tenant_id, product_id, instance_id, key_hash) -> bool:
        install = self.installs.get((tenant_id, product_id, instance_id))
        if install is None or "license_id" in install or key_hash not in self.licenses:
            return False
        install["license_id"] = self.licenses[key_hash]
        return True


class InMemoryLookupGuard:
    """``LookupGuardPorts`` with a real guess guard of the given policy."""

    def __init__(self, **policy) -> None:
        from keylight_actors.domain.guess_guard import GuardPolicy, GuessGuard

        self.guard = GuessGuard(GuardPolicy(**policy))
        self.audits: list[AuditEntry] = []

    async def write_audit(self, entry: AuditEntry) -> None:
        self.audits.append(entry)


class InMemoryImports:
    """The tables a license import reads and writes (every tenant's licenses, by license
    id), and ``ImportStore`` transactions over them: ``transaction(tenant_id)`` is what
    ``import_licenses`` takes (bind the tenant with ``functools.partial``). A transaction's
    writes are kept only when its block ends normally; the unique indexes (key hash, a
    tenant's external id, device id) refuse a write with ``ImportRaced``, as PostgreSQL's
    do. ``commit_before_next_write`` lets another writer commit between an import's lookups
    and its write."""

    def __init__(self, licenses: Iterable[ExistingLicense] = ()) -> None:
        self.licenses: dict[str, ExistingLicense] = {
            f"stored-{number}": license_ for number, license_ in enumerate(licenses, 1)}
        self.written: list[NewLicense] = []
        self.events: list[OutboundEvent] = []
        self.audits: list[AuditEntry] = []
        self.calls: list[str] = []  # the store's methods, in the order they were called
        self.transactions = 0
        self.committed = 0
        self._racing: list[list[ExistingLicense]] = []

    def commit_before_next_write(self, *licenses: ExistingLicense) -> None:
        self._racing.append(list(licenses))

    @asynccontextmanager
    async def transaction(self, tenant_id: str) -> AsyncIterator[InMemoryImportStore]:
        self.transactions += 1
        store = InMemoryImportStore(self, tenant_id)
        yield store  # an exception out of the block discards the store's writes
        self.committed += 1
        for new in store.licenses:
            self.licenses[new.license_id] = stored_license(tenant_id, new)
        self.written.extend(store.licenses)
        self.events.extend(store.events)
        self.audits.extend(store.audits)

    def of_tenant(self, tenant_id: str) -> list[ExistingLicense]:
        return [license_ for license_ in self.licenses.values()
                if license_.tenant_id == tenant_id]

    def _commit_racing_writer(self) -> None:
        if self._racing:
            for license_ in self._racing.pop(0):
                self.licenses[f"raced-{len(self.licenses) + 1}"] = license_


class InMemoryImportStore:
    """``services.imports.ImportStore``: one transaction of ``InMemoryImports``."""

    def __init__(self, tables: InMemoryImports, tenant_id: str) -> None:
        self.tables = tables
        self.tenant_id = tenant_id
        self.licenses: list[NewLicense] = []
        self.events: list[OutboundEvent] = []
        self.audits: list[AuditEntry] = []

    async def lock_tenant(self) -> None:
        self.tables.calls.append("lock_tenant")

    async def licenses_by_key_hash(self, key_hashes: Sequence[str]
                                   ) -> Mapping[str, ExistingLicense]:
        self.tables.calls.append("licenses_by_key_hash")
        wanted = set(key_hashes)
        return {license_.key_hash: license_ for license_ in self.tables.licenses.values()
                if license_.key_hash in wanted}

    async def licenses_by_external_id(self, external_ids: Sequence[str]
                                      ) -> Mapping[str, ExistingLicense]:
        self.tables.calls.append("licenses_by_external_id")
        wanted = set(external_ids)
        return {license_.external_id: license_
                for license_ in self.tables.of_tenant(self.tenant_id)
                if license_.external_id is not None and license_.external_id in wanted}

    async def instance_ids_taken(self, instance_ids: Sequence[str]) -> set[str]:
        self.tables.calls.append("instance_ids_taken")
        used = {instance_id for license_ in self.tables.licenses.values()
                for instance_id in license_.instance_ids}
        return used & set(instance_ids)

    async def write(self, licenses: Sequence[NewLicense], events: Sequence[OutboundEvent],
                    audit: AuditEntry, now: int) -> None:
        self.tables.calls.append("write")
        self.tables._commit_racing_writer()
        stored = list(self.tables.licenses.values())
        key_hashes = {license_.key_hash for license_ in stored}
        external_ids = {license_.external_id for license_ in stored
                        if license_.tenant_id == self.tenant_id}
        instance_ids = {instance_id for license_ in stored
                        for instance_id in license_.instance_ids}
        for new in licenses:
            row = new.row
            if row.key_hash in key_hashes or (
                    row.external_id is not None and row.external_id in external_ids) or any(
                    instance.instance_id in instance_ids for instance in row.instances):
                raise ImportRaced("a unique index refused the row")
        self.licenses.extend(licenses)
        self.events.extend(events)
        self.audits.append(audit)


def stored_license(tenant_id: str, new: NewLicense) -> ExistingLicense:
    """What the store reads back of a license an import wrote."""
    row = new.row
    return ExistingLicense(
        tenant_id=tenant_id, key_hash=row.key_hash, product_id=row.product_id,
        key_type_id=row.key_type_id, status=row.status,
        activation_limit=row.activation_limit, expires_at=row.expires_at,
        customer_email=row.customer_email, external_id=row.external_id,
        metadata=row.metadata,
        instance_ids=frozenset(instance.instance_id for instance in row.instances))


def existing_license(key_hash: str, *, tenant_id: str = "acme", **changes: object
                     ) -> ExistingLicense:
    """A stored active license of app/pro (3 seats, no email, external id or devices)."""
    license_ = ExistingLicense(
        tenant_id=tenant_id, key_hash=key_hash, product_id="app", key_type_id="pro",
        status="active", activation_limit=3, expires_at=None, customer_email=None,
        external_id=None, metadata=None, instance_ids=frozenset())
    return replace(license_, **changes)  # type: ignore[arg-type]
