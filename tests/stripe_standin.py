"""A local stand-in for Stripe's API: Stripe's wire format (form-encoded requests, the
``Stripe-Account`` header, Stripe's JSON objects), recording every request; and webhook
events signed exactly as Stripe signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

_BRACKETS = re.compile(r"\[([^\]]*)\]")


def nest_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``metadata[a]=1&line_items[0][price]=p`` → nested dicts and lists, as Stripe reads it."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        head = key.split("[", 1)[0]
        path = [head, *_BRACKETS.findall(key)]
        node: Any = root
        for part, following in zip(path, [*path[1:], None], strict=True):
            if following is None:
                node[part] = value
                break
            child_is_list = following.isdigit()
            if isinstance(node, list):
                index = int(part)
                while len(node) <= index:
                    node.append([] if child_is_list else {})
                node = node[index]
            else:
                node = node.setdefault(part, [] if child_is_list else {})
    return root


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, Any]


@dataclass
class StripeStandIn:
    requests: list[RecordedRequest] = field(default_factory=list)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_next: int = 0
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path == path]

    def start(self) -> None:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", "req_" + secrets.token_hex(7))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                form = nest_form(parse_qsl(raw, keep_blank_values=True))
                standin.requests.append(RecordedRequest(
                    method, self.path.split("?")[0], {k.lower(): v for k, v in
                                                      self.headers.items()}, form))
                if standin.fail_next > 0:
                    standin.fail_next -= 1
                    self._answer(500, {"error": {"type": "api_error",
                                                 "message": "stand-in failure"}})
                    return
                status, body = standin.route(method, self.path.split("?")[0], form,
                                             self.headers.get("Stripe-Account"))
                self._answer(status, body)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()

    def route(self, method: str, path: str, form: dict[str, Any], account: str | None
              ) -> tuple[int, dict[str, Any]]:
        if method == "POST" and path == "/v1/checkout/sessions":
            session_id = "cs_test_" + secrets.token_hex(12)
            session = {
                "id": session_id, "object": "checkout.session", "mode": form.get("mode"),
                "url": f"https://checkout.stripe.com/c/pay/{session_id}",
                "status": "open", "payment_status": "unpaid",
                "customer_email": form.get("customer_email"),
                "metadata": form.get("metadata", {}), "success_url": form.get("success_url"),
                "cancel_url": form.get("cancel_url"), "livemode": False,
                "created": int(time.time()), "account": account,
            }
            self.objects[session_id] = session
            return 200, session
        if method == "POST" and path == "/v1/prices":
            price_id = "price_" + secrets.token_hex(12)
            recurring = form.get("recurring")
            price = {
                "id": price_id, "object": "price", "active": True,
                "unit_amount": int(form["unit_amount"]), "currency": form["currency"],
                "recurring": {"interval": recurring["interval"]} if recurring else None,
                "type": "recurring" if recurring else "one_time",
                "metadata": form.get("metadata", {}), "livemode": False,
            }
            self.objects[price_id] = price
            return 200, price
        match = re.fullmatch(r"/v1/(?:checkout/sessions|prices)/([\w]+)", path)
        if method == "GET" and match and match[1] in self.objects:
            return 200, self.objects[match[1]]
        return 404, {"error": {"type": "invalid_request_error",
                               "message": f"No such route: {method} {path}"}}


def stripe_signature(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe sends: ``t=<unix>,v1=<hex HMAC-SHA256>``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def stripe_event(event_type: str, obj: dict[str, Any], *, account: str | None = None,
                 event_id: str | None = None) -> dict[str, Any]:
    event = {
        "id": event_id or "evt_" + secrets.token_hex(12),
        "object": "event",
        "api_version": "2025-06-30.basil",
        "created": int(time.time()),
        "type": event_type,
        "livemode": False,
        "pending_webhooks": 1,
        "data": {"object": obj},
    }
    if account is not None:
        event["account"] = account
    return event
