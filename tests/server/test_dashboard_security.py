"""The dashboard under attack: cross-site posts, hostile customer data, another tenant's
pages, the security headers and cookie, the sign-in rate limit, a rotated token."""

from __future__ import annotations

import re
import time

import httpx
import psycopg
import pytest
from playwright.sync_api import expect

from keylight_actors.dashboard.sessions import SIGNIN_FAILURES_PER_ADDRESS

from .dashboard_browser import (  # noqa: F401 (fixtures)
    browser_fixture,
    page_fixture,
    session_cookie,
    sign_in,
)

pytestmark = pytest.mark.server

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
HOSTILE_EMAIL = "<script>alert(1)</script>@x.example"


def token_of(tenant) -> str:
    return tenant.credentials["management_token"]


def license_status(http, tenant, license_id: str) -> str:
    answer = http.get(f"/api/{tenant.tenant_id}/licenses/{license_id}", headers=tenant.headers)
    return answer.json()["status"]


def test_a_post_without_the_csrf_token_is_refused(page, base_url, make_tenant, make_catalog,
                                                  mint, http):
    tenant = make_tenant()
    minted = mint(make_catalog(tenant))
    sign_in(page, tenant.tenant_id, token_of(tenant))
    action = f"{base_url}/dashboard/tenants/{tenant.tenant_id}/licenses/{minted['license_id']}"

    # With the session cookie but no (or a wrong) token.
    for form in ({}, {"csrf": "0" * 64}):
        answer = page.request.post(f"{action}/suspend", form=form)
        assert answer.status == 403, answer.text()
    # From another site: an auto-submitting form (SameSite=Strict keeps the cookie home).
    evil = "http://evil.example/"
    page.route(evil, lambda route: route.fulfill(content_type="text/html", body=(
        f'<form method="post" action="{action}/revoke"><input name="csrf" value="x"></form>'
        "<script>document.forms[0].submit()</script>")))
    with page.expect_response(lambda response: response.url.endswith("/revoke")) as refused:
        page.goto(evil)
    assert refused.value.status == 403
    assert license_status(http, tenant, minted["license_id"]) == "active"


def test_customer_text_is_escaped(page, make_tenant, make_catalog, mint):
    tenant = make_tenant()
    minted = mint(make_catalog(tenant), customer_email=HOSTILE_EMAIL)  # the API accepts it
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, tenant.tenant_id, token_of(tenant))
    for path in ("licenses", f"licenses/{minted['license_id']}"):
        page.goto(f"/dashboard/tenants/{tenant.tenant_id}/{path}")
        cell = page.locator(".email").first
        expect(cell).to_have_text(HOSTILE_EMAIL)
        assert cell.locator("script").count() == 0
        assert "&lt;script&gt;alert(1)&lt;/script&gt;@x.example" in page.content()
    assert dialogs == []


def test_a_vendor_sees_only_its_own_tenant(page, make_tenant, make_catalog, mint, http):
    mine, theirs = make_tenant(), make_tenant()
    their_license = mint(make_catalog(theirs))
    sign_in(page, mine.tenant_id, token_of(mine))
    for path in ("overview", "licenses", f"licenses/{their_license['license_id']}",
                 "products"):
        answer = page.goto(f"/dashboard/tenants/{theirs.tenant_id}/{path}")
        assert answer is not None and answer.status == 404, path
    # With a valid CSRF token of its own session, an action on the other tenant's license.
    page.goto(f"/dashboard/tenants/{mine.tenant_id}/products")
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    answer = page.request.post(
        f"/dashboard/tenants/{theirs.tenant_id}/licenses/{their_license['license_id']}/revoke",
        form={"csrf": csrf})
    assert answer.status == 404
    # Nor with the other tenant's license under its own tenant's path.
    answer = page.request.post(
        f"/dashboard/tenants/{mine.tenant_id}/licenses/{their_license['license_id']}/revoke",
        form={"csrf": csrf})
    assert answer.status == 404
    assert license_status(http, theirs, their_license["license_id"]) == "active"
    # A vendor cannot sign in to another tenant with its token either.
    sign_in(page, theirs.tenant_id, token_of(mine))
    assert page.get_by_role("alert").inner_text() == "wrong tenant id or token"


def test_headers_cookie_and_own_assets(page, base_url, make_tenant):
    tenant = make_tenant()
    login = page.goto("/dashboard/login")
    assert login is not None
    sign_in(page, tenant.tenant_id, token_of(tenant))
    answer = page.goto(f"/dashboard/tenants/{tenant.tenant_id}/overview")
    for response in (login, answer):
        headers = response.headers
        assert headers["content-security-policy"] == CSP
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert headers["cache-control"] == "no-store"
    cookie = session_cookie(page)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"]
    assert cookie["path"] == "/dashboard"
    # Only the project's own assets, from the app itself.
    html = page.content()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert all(source.startswith("/") and not source.startswith("//") for source in sources)
    for asset in ("/dashboard/static/dashboard.css", "/dashboard/static/dashboard.js"):
        fetched = httpx.get(base_url + asset)
        assert fetched.status_code == 200
        assert fetched.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(base_url + "/dashboard/static/..%2Fsessions.py").status_code == 404
    # X-Forwarded-Proto is not believed from a peer that is no configured proxy.
    form = httpx.get(base_url + "/dashboard/login", headers={"X-Forwarded-Proto": "https"})
    assert "secure" not in form.headers["set-cookie"].lower()


def _signin_form(client: httpx.Client) -> str:
    page = client.get("/dashboard/login")
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def _forget_failures(settings) -> None:
    with psycopg.connect(settings.database_url) as conn:
        conn.execute("DELETE FROM dashboard_signin_failures")


def test_sign_in_attempts_are_rate_limited(base_url, make_tenant, settings):
    tenant = make_tenant()
    _forget_failures(settings)  # other tests' deliberate failures, from the same address
    try:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            csrf = _signin_form(client)
            for _ in range(SIGNIN_FAILURES_PER_ADDRESS):
                answer = client.post("/dashboard/login", data={
                    "csrf": csrf, "tenant_id": tenant.tenant_id, "token": "kmt_wrong"})
                assert answer.status_code == 401
                csrf = re.search(r'name="csrf" value="([^"]+)"', answer.text).group(1)
            # Now even the right token is refused for a while.
            answer = client.post("/dashboard/login", data={
                "csrf": csrf, "tenant_id": tenant.tenant_id, "token": token_of(tenant)})
            assert answer.status_code == 429
            assert int(answer.headers["retry-after"]) > 0
            assert "keylight_session" not in answer.cookies
    finally:
        _forget_failures(settings)


def test_a_rotated_token_ends_the_session(page, make_tenant, http):
    tenant = make_tenant()
    sign_in(page, tenant.tenant_id, token_of(tenant))
    overview = f"/dashboard/tenants/{tenant.tenant_id}/overview"
    assert page.url.endswith(overview)
    rotated = http.post(f"/api/{tenant.tenant_id}/management-token/rotate",
                        headers=tenant.headers)
    assert rotated.status_code == 200, rotated.text
    deadline = time.monotonic() + 10  # the ingress's tenant cache holds 0.5 s here
    while True:
        page.goto(overview)
        if page.url.endswith("/dashboard/login") or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert page.url.endswith("/dashboard/login")
    # The new token signs in.
    sign_in(page, tenant.tenant_id, rotated.json()["management_token"])
    assert page.url.endswith(overview)
