"""The keylight commands that drive the HTTP API, one declaration per route.

Each ``Verb`` names its words (``license list``), its method and path, and its options with
where each goes (path, query or body). ``add_api_commands`` turns the table into argparse
sub-commands; ``run_verb`` makes the request and prints the answer: aligned columns for a
list, ``key: value`` lines for one object, or the API's JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from .cli_format import key_values, table

DEFAULT_URL = "http://127.0.0.1:8000"
TIMEOUT_SECONDS = 30
LICENSE_STATUSES = ("active", "expired", "suspended", "revoked", "reminted")
LIFECYCLES = ("pending_verification", "active", "suspended", "closed")
CREDENTIAL_PATHS = {"sdk-key": "sdk-key", "checkout-key": "checkout-key",
                    "management-token": "management-token", "signing-key": "signing-keys"}
TENANT_SECRETS = ("sdk_key", "checkout_api_key", "management_token")


class CommandFailed(Exception):
    """A command's error, printed as one line after ``keylight:``."""


class _Null:
    """``none`` given for a field that may be cleared: sent as JSON null."""

    def __repr__(self) -> str:
        return "none"


NULL = _Null()


def whole_number_or_none(raw: str) -> int | _Null:
    if raw.strip().lower() == "none":
        return NULL
    try:
        return int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number or 'none', not {raw!r}") from None


def text_or_none(raw: str) -> str | _Null:
    return NULL if raw.strip().lower() == "none" else raw


def json_object(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a JSON object, not {raw!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"a JSON object, not {raw!r}")
    return value


@dataclass(frozen=True)
class Arg:
    """One option or positional argument, and where its value goes in the request."""

    flag: str                 # "--product" is an option, "license_id" a positional
    help: str
    to: str = "body"          # "body", "query" or "path" ({field} in the verb's path)
    field: str | None = None  # the API's name; by default the flag's, with underscores
    type: Callable[[str], Any] = str
    required: bool = False
    choices: Sequence[str] | None = None
    many: bool = False        # repeatable: a list
    switch: Any = None        # a flag without a value that sends this
    metavar: str | None = None
    values: dict[str, str] | None = None  # a path value for each choice

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")

    @property
    def name(self) -> str:
        return self.field or self.dest


@dataclass(frozen=True)
class Verb:
    words: tuple[str, str]
    help: str
    method: str
    path: str                            # {tenant} and {field}s of path args
    args: tuple[Arg, ...] = ()
    columns: tuple[str, ...] = ()        # a list: these columns of its "data"
    pager: tuple[str, str] | None = None  # (query parameter, answer field) of the next page
    secrets: tuple[str, ...] = ()        # answer fields shown this once
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # the body, last touch
    run: Callable[[Verb, argparse.Namespace], None] | None = None  # instead of the default
    render: Callable[[Any], list[str]] | None = None

    @property
    def tenant_scoped(self) -> bool:
        return "{tenant}" in self.path


# ---------------------------------------------------------------- requests


def _token(args: argparse.Namespace) -> str:
    token = args.token or os.environ.get("KEYLIGHT_TOKEN") or os.environ.get(
        "KEYLIGHT_ADMIN_TOKEN")
    if not token:
        raise CommandFailed("no token: pass --token or set KEYLIGHT_TOKEN (a tenant's "
                            "management token, or the operator token)")
    return token


def _failure(status: int, payload: Any, text: str) -> CommandFailed:
    if not isinstance(payload, dict):
        payload = {"error": text[:200] or f"HTTP {status}", "code": "HTTP_ERROR"}
    return CommandFailed(f"{payload.get('error', 'request failed')} "
                         f"({payload.get('code', '?')}, HTTP {status})")


def call_api(args: argparse.Namespace, method: str, path: str,
             body: dict[str, Any] | None = None) -> Any:
    """The API's JSON answer; an error answer raises ``CommandFailed``."""
    token = _token(args)
    try:
        answer = httpx.request(method, args.url.rstrip("/") + path, json=body,
                               timeout=TIMEOUT_SECONDS,
                               headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as error:
        raise CommandFailed(f"cannot reach {args.url}: {error}") from None
    try:
        payload = answer.json()
    except ValueError:
        payload = None
    if answer.status_code >= 400 or payload is None:
        raise _failure(answer.status_code, payload, answer.text)
    return payload


def _path(verb: Verb, args: argparse.Namespace) -> str:
    values = {arg.name: (arg.values or {}).get(getattr(args, arg.dest),
                                               str(getattr(args, arg.dest)))
              for arg in verb.args if arg.to == "path"}
    if verb.tenant_scoped:
        values["tenant"] = args.tenant
    path = verb.path.format(**{name: quote(value, safe="") for name, value in values.items()})
    query = {arg.name: _wire(getattr(args, arg.dest)) for arg in verb.args
             if arg.to == "query" and getattr(args, arg.dest) is not None}
    return path + ("?" + urlencode(query) if query else "")


def _wire(value: Any) -> Any:
    return None if value is NULL else value


def _body(verb: Verb, args: argparse.Namespace) -> dict[str, Any] | None:
    if verb.method in {"GET", "DELETE"}:
        return None
    body = {}
    for arg in verb.args:
        value = getattr(args, arg.dest)
        if arg.to == "body" and value is not None:
            body[arg.name] = _wire(value)
    return verb.prepare(body) if verb.prepare else body


# ---------------------------------------------------------------- output


def _secret_note(names: list[str]) -> str:
    them = "it" if len(names) == 1 else "them"
    return (f"Shown once: {', '.join(names)}. Keep {them} now; the server cannot show "
            f"{them} again.")


def show(verb: Verb, args: argparse.Namespace, payload: Any) -> None:
    shown = [name for name in verb.secrets
             if isinstance(payload, dict) and payload.get(name)]
    if args.json:
        print(json.dumps(payload, indent=2))
        if shown:
            print(_secret_note(shown), file=sys.stderr)
        return
    if verb.render is not None:
        lines = verb.render(payload)
    elif verb.columns:
        rows = payload.get("data", [])
        lines = table(rows, verb.columns) if rows else ["(none)"]
        if verb.pager and payload.get(verb.pager[1]) is not None:
            lines.append(f"more: add --{verb.pager[0]} {payload[verb.pager[1]]} "
                         "(or --all)")
    else:
        lines = key_values(payload)
    print("\n".join(lines))
    if shown:
        print()
        print(_secret_note(shown))


def run_verb(verb: Verb, args: argparse.Namespace) -> None:
    if verb.run is not None:
        verb.run(verb, args)
        return
    path = _path(verb, args)
    payload = call_api(args, verb.method, path, _body(verb, args))
    if verb.pager and getattr(args, "all", False):
        rows, parameter, field = list(payload.get("data", [])), *verb.pager
        while payload.get(field) is not None:
            joiner = "&" if "?" in path else "?"
            payload = call_api(args, "GET", path + joiner
                               + urlencode({parameter: payload[field]}))
            rows += payload.get("data", [])
        payload = {"data": rows, field: None}
    show(verb, args, payload)


# ---------------------------------------------------------------- verbs with their own runs


def run_tenant_create(verb: Verb, args: argparse.Namespace) -> None:
    created = call_api(args, "POST", "/api/admin/tenants", _body(verb, args))
    if args.activate:
        call_api(args, "PATCH", f"/api/admin/tenants/{quote(args.tenant_id, safe='')}",
                 {"lifecycle": "active"})
        created["lifecycle"] = "active"
    show(verb, args, created)


def run_export(verb: Verb, args: argparse.Namespace) -> None:
    """The CSV as the server streams it, to stdout or --output."""
    path = _path(verb, args)
    headers = {"Authorization": f"Bearer {_token(args)}"}
    target = Path(args.output) if args.output else None
    try:
        with httpx.stream("GET", args.url.rstrip("/") + path, headers=headers,
                          timeout=TIMEOUT_SECONDS) as answer:
            if answer.status_code >= 400:
                text = answer.read().decode("utf-8", "replace")
                try:
                    payload = json.loads(text)
                except ValueError:
                    payload = None
                raise _failure(answer.status_code, payload, text)
            if target is None:
                out = sys.stdout.buffer
                for chunk in answer.iter_bytes():
                    out.write(chunk)
                out.flush()
                return
            with target.open("wb") as file:
                for chunk in answer.iter_bytes():
                    file.write(chunk)
    except httpx.HTTPError as error:
        raise CommandFailed(f"cannot reach {args.url}: {error}") from None
    except OSError as error:
        raise CommandFailed(f"cannot write {target}: {error.strerror or error}") from None
    print(f"licenses written to {target}")


def _run_license_import(verb: Verb, args: argparse.Namespace) -> None:
    from .cli_import import run_import  # a file upload with progress: its own module

    run_import(verb, args)


def render_stats(payload: dict[str, Any]) -> list[str]:
    new = {day["date"]: day["count"] for day in payload.get("new_licenses_per_day", [])}
    days = [{"date": day["date"], "activations": day["count"],
             "new_licenses": new.get(day["date"], 0)}
            for day in payload.get("activations_per_day", [])]
    lines = key_values({"days": payload.get("days"),
                        "licenses_by_status": payload.get("licenses_by_status") or None,
                        "deliveries_by_status": payload.get("deliveries_by_status") or None})
    return lines + ["per UTC day:"] + ["  " + line for line in
                                       table(days, ("date", "activations", "new_licenses"))]


def _price_currency(body: dict[str, Any]) -> dict[str, Any]:
    """A price without a currency is in US dollars, as before."""
    if body.get("price_in_cents") is not None and "currency" not in body:
        body["currency"] = "usd"
    return body


def _webhook_events(body: dict[str, Any]) -> dict[str, Any]:
    """--event names exactly the events wanted; --on / --off switch events over the
    defaults."""
    on, off = body.pop("on", None), body.pop("off", None)
    if "events" not in body and (on or off):
        body["events"] = {**{name: True for name in on or ()},
                          **{name: False for name in off or ()}}
    return body


# ---------------------------------------------------------------- the table

LIMIT = Arg("--limit", "at most this many per page (1-200; the server's default: 50)",
            to="query", type=int)
CURSOR = Arg("--cursor", "the page after this one (from the 'more:' line of a list)",
             to="query")

KEY_TYPE_TERMS = (
    Arg("--activation-limit", "devices one license may activate at once", type=int),
    Arg("--duration-days", "days a license lasts from minting ('none': forever)",
        type=whole_number_or_none),
    Arg("--price-in-cents", "price for checkout, in cents ('none': not sold)",
        type=whole_number_or_none),
    Arg("--currency", "three-letter currency of the price, lower case (usd when a price "
                      "is given without one)"),
    Arg("--recurring-interval", "bill every day, week, month or year ('none': once)",
        type=lambda raw: NULL if raw.lower() == "none" else raw),
    Arg("--entitlement", "an entitlement the license grants (repeat for more)",
        field="entitlements", many=True, metavar="NAME"),
    Arg("--fallback-access", "SDKs may keep working offline past the lease",
        switch=True),
    Arg("--churn-limit-per-day", "deactivations one license may make per day", type=int),
)

LICENSE_FILTERS = (
    Arg("--product", "only this product's licenses", to="query", field="product_id"),
    Arg("--status", f"only licenses in this status ({', '.join(LICENSE_STATUSES)})",
        to="query"),
    Arg("--email", "only this customer's licenses", to="query"),
)

EXPORT_FILTERS = (
    *LICENSE_FILTERS,
    Arg("--key-type", "only this key type's licenses", to="query", field="key_type_id"),
    Arg("--source", "only licenses minted this way (manual, stripe, import)", to="query"),
    Arg("--key", "only the license with this key", to="query"),
)

TENANT_ARG = Arg("tenant_id", "the tenant's id", to="path")
LICENSE_ARG = Arg("license_id", "the license's id (from 'license list')", to="path")
DELIVERY_ARG = Arg("delivery_id", "the delivery's id (from 'delivery list')", to="path")

VERBS: tuple[Verb, ...] = (
    # tenants (operator)
    Verb(("tenant", "list"), "list every tenant with its lifecycle, Stripe mode and license "
         "count (operator)", "GET", "/api/admin/tenants",
         (Arg("--lifecycle", "only tenants in this lifecycle", to="query", choices=LIFECYCLES),
          Arg("--search", "only tenants whose id or name contains this text, any case "
              "(at most 64 characters)", to="query", field="q", metavar="TEXT"),
          LIMIT, CURSOR),
         columns=("tenant_id", "name", "lifecycle", "stripe_mode", "license_count",
                  "created_at"), pager=("cursor", "next_cursor")),
    Verb(("tenant", "show"), "show one tenant (operator)", "GET", "/api/admin/tenants/{tenant_id}",
         (TENANT_ARG,)),
    Verb(("tenant", "create"), "create a tenant and show its credentials, once (operator)",
         "POST", "/api/admin/tenants",
         (Arg("tenant_id", "the new tenant's id: letters, digits, '.', '_', '-'"),
          Arg("--name", "its display name", required=True),
          Arg("--no-sdk-key", "require no SDK key from its SDKs", field="sdk_key",
              switch=False),
          Arg("--activate", "also move it to active", to="none", switch=True)),
         secrets=TENANT_SECRETS, run=run_tenant_create),
    Verb(("tenant", "lifecycle"), "move a tenant through its lifecycle (operator)", "PATCH",
         "/api/admin/tenants/{tenant_id}",
         (TENANT_ARG, Arg("lifecycle", "the new lifecycle", choices=LIFECYCLES))),
    Verb(("tenant", "sdk-quota"), "set a tenant's SDK requests per minute (operator)",
         "PATCH", "/api/admin/tenants/{tenant_id}",
         (TENANT_ARG, Arg("sdk_quota_per_minute", "requests per minute, or 'none' for no "
                                                  "quota", type=whole_number_or_none,
                          metavar="PER_MINUTE"))),
    Verb(("tenant", "connect-stripe"), "connect a tenant's Stripe account (operator)", "PUT",
         "/api/admin/tenants/{tenant_id}/stripe",
         (TENANT_ARG, Arg("stripe_account_id", "the connected account, acct_…",
                          metavar="ACCOUNT"))),
    # products
    Verb(("product", "list"), "list the tenant's products", "GET", "/api/{tenant}/products",
         (LIMIT, CURSOR),
         columns=("product_id", "display_name", "key_prefix", "status", "trial_duration_days",
                  "free_tier_enabled", "created_at"), pager=("cursor", "next_cursor")),
    Verb(("product", "show"), "show one product with its key types", "GET",
         "/api/{tenant}/products/{product_id}",
         (Arg("product_id", "the product's id", to="path"),)),
    Verb(("product", "create"), "create a product", "POST", "/api/{tenant}/products",
         (Arg("product_id", "the new product's id"),
          Arg("--name", "its display name", field="display_name", required=True),
          Arg("--key-prefix", "four capital letters or digits that start its keys",
              required=True),
          Arg("--trial-days", "days of keyless trial (0: none)", field="trial_duration_days",
              type=int),
          Arg("--free-tier", "keyless installs may use a free tier", field="free_tier_enabled",
              switch=True))),
    # key types
    Verb(("key-type", "list"), "list a product's key types", "GET",
         "/api/{tenant}/products/{product_id}/key-types",
         (Arg("--product", "the product", to="path", field="product_id", required=True),
          LIMIT, CURSOR),
         columns=("key_type_id", "display_name", "activation_limit", "duration_days",
                  "price_in_cents", "currency", "entitlements", "status"),
         pager=("cursor", "next_cursor")),
    Verb(("key-type", "show"), "show one key type", "GET",
         "/api/{tenant}/products/{product_id}/key-types/{key_type_id}",
         (Arg("--product", "the product", to="path", field="product_id", required=True),
          Arg("key_type_id", "the key type's id", to="path"))),
    Verb(("key-type", "create"), "create a key type", "POST",
         "/api/{tenant}/products/{product_id}/key-types",
         (Arg("--product", "the product", to="path", field="product_id", required=True),
          Arg("key_type_id", "the new key type's id"),
          Arg("--name", "its display name", field="display_name", required=True),
          *(Arg(arg.flag, arg.help, field=arg.field, type=arg.type, many=arg.many,
                switch=arg.switch, metavar=arg.metavar,
                required=arg.flag == "--activation-limit") for arg in KEY_TYPE_TERMS)),
         prepare=_price_currency),
    Verb(("key-type", "edit"), "change a key type's terms or price (later mints copy them)",
         "PATCH", "/api/{tenant}/products/{product_id}/key-types/{key_type_id}",
         (Arg("--product", "the product", to="path", field="product_id", required=True),
          Arg("key_type_id", "the key type's id", to="path"),
          Arg("--name", "a new display name", field="display_name"),
          *KEY_TYPE_TERMS,
          Arg("--no-entitlements", "grant no entitlements", field="entitlements", switch=[]),
          Arg("--no-fallback-access", "SDKs stop at the lease's end",
              field="fallback_access", switch=False))),
    # licenses
    Verb(("license", "list"), "list the tenant's licenses, newest first", "GET",
         "/api/{tenant}/licenses", (*EXPORT_FILTERS, LIMIT, CURSOR),
         columns=("license_id", "key_display", "product_id", "key_type_id", "status",
                  "active_instances", "activation_limit", "customer_email", "expires_at",
                  "created_at"), pager=("cursor", "next_cursor")),
    Verb(("license", "show"), "show one license with its devices", "GET",
         "/api/{tenant}/licenses/{license_id}", (LICENSE_ARG,)),
    Verb(("license", "mint"), "mint a license by hand and show its key, once", "POST",
         "/api/{tenant}/licenses",
         (Arg("--product", "the product", field="product_id", required=True),
          Arg("--key-type", "the key type", field="key_type_id", required=True),
          Arg("--email", "the customer's email", field="customer_email")),
         secrets=("key",)),
    Verb(("license", "revoke"), "revoke a license: its devices stop at their next check",
         "POST", "/api/{tenant}/licenses/{license_id}/revoke", (LICENSE_ARG,)),
    Verb(("license", "remint"), "give a license a new key (the old one becomes 'reminted') "
         "and show it, once", "POST", "/api/{tenant}/licenses/{license_id}/remint",
         (LICENSE_ARG,), secrets=("key",)),
    Verb(("license", "edit"), "change a license's device limit, expiry, customer email or "
         "metadata (a limit under its active devices keeps them and refuses new ones)",
         "PATCH", "/api/{tenant}/licenses/{license_id}",
         (LICENSE_ARG,
          Arg("--activation-limit", "devices the license may activate at once", type=int),
          Arg("--expires-at", "when it expires, ISO 8601 (e.g. 2030-01-31T00:00:00Z; "
              "'none': never)", type=text_or_none),
          Arg("--email", "the customer's email ('none': no email)", field="customer_email",
              type=text_or_none),
          Arg("--metadata", "your own data for the license, a JSON object of at most 4 KiB",
              type=json_object, metavar="JSON"))),
    Verb(("license", "suspend"), "suspend a license: its devices keep their seats but stop "
         "activating and validating until it is reinstated", "POST",
         "/api/{tenant}/licenses/{license_id}/suspend", (LICENSE_ARG,)),
    Verb(("license", "reinstate"), "reinstate a suspended license", "POST",
         "/api/{tenant}/licenses/{license_id}/reinstate", (LICENSE_ARG,)),
    Verb(("license", "free-device"), "deactivate one device of a license, freeing its seat",
         "POST", "/api/{tenant}/licenses/{license_id}/instances/{instance_id}/deactivate",
         (LICENSE_ARG, Arg("instance_id", "the device's instance id (from 'license show')",
                           to="path"))),
    Verb(("license", "export"), "export the tenant's licenses as CSV, oldest first", "GET",
         "/api/{tenant}/licenses/export.csv",
         (*EXPORT_FILTERS,
          Arg("--output", "write the CSV to this file instead of the standard output",
              to="none", metavar="FILE")),
         run=run_export),
    Verb(("license", "import"), "import licenses with their keys and devices from a CSV or "
         "JSON file (docs/import.md): all rows or none", "POST",
         "/api/{tenant}/licenses/import",
         (Arg("file", "the .csv or .json file", to="none", metavar="FILE"),
          Arg("--dry-run", "check every row and write nothing", to="query",
              field="dry_run", switch="true"),
          Arg("--announce", "send license.created for each imported license", to="query",
              switch="true")),
         run=_run_license_import),
    # keyless installs
    Verb(("keyless", "list"), "list the keyless (trial / free-tier) installs, newest first",
         "GET", "/api/{tenant}/keyless",
         (Arg("--product", "only this product's installs", to="query", field="product_id"),
          Arg("--state", "only installs in this state", to="query",
              choices=("trial", "free_tier", "expired")), LIMIT, CURSOR),
         columns=("product_id", "instance_id", "state", "first_seen_at", "last_seen_at",
                  "license_id"), pager=("cursor", "next_cursor")),
    # webhooks
    Verb(("webhook", "show"), "show the webhook endpoint and its events", "GET",
         "/api/{tenant}/webhook"),
    Verb(("webhook", "set"), "set the webhook URL and events; the first time, show its "
         "signing secret, once", "PUT", "/api/{tenant}/webhook",
         (Arg("endpoint", "the URL to send events to", field="url", metavar="URL"),
          Arg("--event", "send exactly these events (repeat for more)", field="events",
              many=True, metavar="EVENT"),
          Arg("--on", "also send this event (repeat for more)", many=True, metavar="EVENT"),
          Arg("--off", "stop sending this event (repeat for more)", many=True,
              metavar="EVENT")),
         secrets=("secret",), prepare=_webhook_events),
    Verb(("webhook", "rotate-secret"), "a new webhook signing secret, shown once (the old "
         "one still signs for 24 hours)", "POST", "/api/{tenant}/webhook/rotate-secret",
         secrets=("secret",)),
    Verb(("delivery", "list"), "list webhook deliveries, newest first", "GET",
         "/api/{tenant}/deliveries",
         (Arg("--status", "only deliveries in this status", to="query"), LIMIT, CURSOR),
         columns=("delivery_id", "event", "status", "attempt_count", "last_http_status",
                  "created_at", "delivered_at"), pager=("cursor", "next_cursor")),
    Verb(("delivery", "show"), "show one delivery with its attempts", "GET",
         "/api/{tenant}/deliveries/{delivery_id}", (DELIVERY_ARG,)),
    Verb(("delivery", "redeliver"), "send a delivery again now", "POST",
         "/api/{tenant}/deliveries/{delivery_id}/redeliver", (DELIVERY_ARG,)),
    # credentials
    Verb(("credential", "rotate"), "rotate a credential and show the new one, once (a "
         "rotated SDK key keeps working for 24 hours, the others stop at once; a new "
         "signing key becomes primary)", "POST", "/api/{tenant}/{which}/rotate",
         (Arg("which", "the credential", to="path", choices=tuple(CREDENTIAL_PATHS),
              values=CREDENTIAL_PATHS),),
         secrets=TENANT_SECRETS),
    Verb(("credential", "remove-sdk-key"), "stop requiring an SDK key, for SDKs that send "
         "none", "DELETE", "/api/{tenant}/sdk-key"),
    Verb(("credential", "retire-signing-key"), "stop publishing an old signing key (leases "
         "it signed no longer verify)", "DELETE", "/api/{tenant}/signing-keys/{kid}",
         (Arg("kid", "the key's id (from the tenant's keyset)", to="path", metavar="KID"),)),
    # payments
    Verb(("stripe", "manual"), "use the tenant's own Stripe keys (manual mode)", "PUT",
         "/api/{tenant}/stripe/manual",
         (Arg("--secret-key", "the Stripe secret or restricted key (sk_… or rk_…)",
              required=True),
          Arg("--webhook-secret", "the signing secret of its Stripe webhook (whsec_…)",
              required=True))),
    Verb(("stripe-event", "list"), "list the Stripe events the inbox kept, newest first "
         "(operator)", "GET", "/api/admin/stripe/events",
         (Arg("--state", "only events in this state (e.g. held, unmatched, unroutable, "
              "failed)", to="query"), LIMIT),
         columns=("event_id", "event_type", "state", "awaits", "tenant_id", "account",
                  "reason", "received_at")),
    Verb(("stripe-event", "replay"), "process a kept Stripe event again (operator)", "POST",
         "/api/admin/stripe/events/{event_id}/replay",
         (Arg("event_id", "the event's id, evt_…", to="path"),)),
    # reports
    Verb(("audit", ""), "list the tenant's management actions, newest first", "GET",
         "/api/{tenant}/audit",
         (Arg("--before", "the page after this one (from the 'more:' line)", to="query",
              type=int, metavar="AUDIT_ID"), LIMIT),
         columns=("audit_id", "created_at", "actor", "action", "target", "details"),
         pager=("before", "next_before")),
    Verb(("stats", ""), "activations and new licenses per UTC day, licenses and webhook "
         "deliveries by status", "GET", "/api/{tenant}/stats",
         (Arg("--days", "this many days up to today (1-365; default 30)", to="query",
              type=int),),
         render=render_stats),
)

GROUP_HELP = {
    "tenant": "list, show, create and change tenants (operator)",
    "product": "list, show and create a tenant's products",
    "key-type": "list, show, create and edit a product's key types",
    "license": "list, show, mint, revoke, remint, free devices, export, import licenses",
    "keyless": "list keyless (trial / free-tier) installs",
    "webhook": "show and set the webhook endpoint, rotate its secret",
    "delivery": "list, show and resend webhook deliveries",
    "credential": "rotate or remove a tenant's credentials",
    "stripe": "the tenant's Stripe keys in manual mode",
    "stripe-event": "the operator's Stripe event inbox",
}


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _add_common(command: argparse.ArgumentParser, verb: Verb) -> None:
    if verb.tenant_scoped:
        tenant = os.environ.get("KEYLIGHT_TENANT")
        command.add_argument("--tenant", default=tenant, required=tenant is None,
                             help="the tenant (KEYLIGHT_TENANT)")
    command.add_argument("--url", default=os.environ.get("KEYLIGHT_URL", DEFAULT_URL),
                         help=f"the server (KEYLIGHT_URL, {DEFAULT_URL})")
    command.add_argument("--token", help="the tenant's management token or the operator "
                                         "token (KEYLIGHT_TOKEN, then KEYLIGHT_ADMIN_TOKEN)")
    if verb.pager:
        command.add_argument("--all", action="store_true",
                             help="follow every page (--json: one list)")
    command.add_argument("--json", action="store_true",
                         help="print the API's JSON answer instead of a table")


def _add_arg(command: argparse.ArgumentParser, arg: Arg) -> None:
    if not arg.flag.startswith("-"):
        command.add_argument(arg.dest, help=arg.help, type=arg.type, choices=arg.choices,
                             metavar=arg.metavar or (None if arg.choices else
                                                     arg.dest.upper()))
        return
    options: dict[str, Any] = {"dest": arg.dest, "help": arg.help}
    if arg.switch is not None:
        options.update(action="store_const", const=arg.switch)
    else:
        numeric = arg.type in (int, whole_number_or_none)
        options.update(type=arg.type, choices=arg.choices, required=arg.required,
                       metavar=arg.metavar or ("N" if numeric else None))
        if arg.many:
            options["action"] = "append"
    command.add_argument(arg.flag, **options)


def add_api_commands(commands: Any) -> None:
    """Every verb of ``VERBS`` as a sub-command of ``commands``."""
    groups: dict[str, Any] = {}
    for verb in VERBS:
        group, name = verb.words
        if not name:
            command = commands.add_parser(group, help=verb.help,
                                          description=_sentence(verb.help))
        else:
            if group not in groups:
                groups[group] = commands.add_parser(
                    group, help=GROUP_HELP[group], description=_sentence(GROUP_HELP[group])
                ).add_subparsers(dest="sub", required=True, metavar="VERB")
            command = groups[group].add_parser(name, help=verb.help,
                                               description=_sentence(verb.help))
        for arg in verb.args:
            _add_arg(command, arg)
        _add_common(command, verb)
        command.set_defaults(run=lambda args, verb=verb: run_verb(verb, args))
