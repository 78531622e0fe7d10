"""Single sign-on end to end: Streamlit's own `st.login` against a small OpenID Connect provider
started by the test on 127.0.0.1 (tests/oidc_provider.py), in headless Chromium. The analyst
allow-list in the secrets gives the signed-in person the analyst role; their change carries
their e-mail address; a forged identity cookie is not accepted."""

from __future__ import annotations

import duckdb
import pytest

from browser_support import ARTIFACTS, browser_page, free_port, needs_chromium, serve, settle
from oidc_provider import Provider

pytestmark = [pytest.mark.browser, needs_chromium]

CLIENT_ID, CLIENT_SECRET = "spc-app", "client-secret-for-tests"


def _secrets(path, port: int, issuer: str) -> None:
    path.write_text(f"""
[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "a-long-random-cookie-secret-for-the-tests"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"
server_metadata_url = "{issuer}/.well-known/openid-configuration"

[spc_auth]
provider_label = "Test SSO"
analysts = ["ana@example.org"]
""")


def _rows(db, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_single_sign_on_through_st_login_then_an_analyst_change(demo_db_copy, tmp_path):
    accounts = {"ana@example.org": {"name": "Ana Analyst"}, "vic@example.org": {"name": "Vic Viewer"}}
    with Provider(CLIENT_ID, CLIENT_SECRET, accounts) as idp:
        port = free_port()
        secrets = tmp_path / "secrets.toml"
        _secrets(secrets, port, idp.issuer)
        with serve(demo_db_copy, tmp_path / "streamlit.log", port, ["--secrets.files", str(secrets)]) as url, \
                browser_page() as page:
            ARTIFACTS.mkdir(exist_ok=True)
            page.goto(url + "/?page=analyst&indicator=asb_incidents&area=staffordshire")
            page.get_by_role("heading", name="Analyst controls").wait_for(timeout=60_000)
            settle(page)
            assert "Read-only" in page.inner_text("body")
            page.get_by_role("button", name="Sign in with Test SSO").click()
            # Streamlit sends the browser to the provider's own sign-in page
            page.wait_for_url(f"{idp.issuer}/authorize*", timeout=30_000)
            page.fill("#email", "ana@example.org")
            page.click("#approve")
            # back through /oauth2callback (code exchange, ID token checks) to the app
            page.wait_for_url(f"{url}/*", timeout=30_000)
            page.get_by_text("Signed in as").wait_for(timeout=60_000)
            settle(page)
            assert idp.token_requests == 1
            # (spc.text.literal puts an invisible word joiner after '@', so no mail link is made of it)
            sidebar = page.locator('[data-testid="stSidebar"]').inner_text().replace("\u2060", "")
            assert "ana@example.org" in sidebar and "(analyst)" in sidebar, repr(sidebar)
            # the Analyst page (a new page load: the identity cookie carries the sign-in) is editable now
            page.goto(url + "/?page=analyst&indicator=asb_incidents&area=staffordshire")
            page.get_by_role("button", name="Save settings and recompute").wait_for(timeout=60_000)
            settle(page)
            page.get_by_label("Reason for the change (kept in the audit trail)").fill("Rare events: run chart")
            page.get_by_role("button", name="Save settings and recompute").click()
            page.get_by_text("Saved chart settings").wait_for(timeout=60_000)
            settle(page)
            page.screenshot(path=str(ARTIFACTS / "oidc_signed_in_change.png"))

            # a forged identity cookie (not signed with the cookie secret) is not accepted
            other = page.context.browser.new_page()    # a context of its own: no cookies of Ana's
            other.context.add_cookies([{"name": "_streamlit_user", "url": url, "value": (
                '{"email": "ana@example.org", "is_logged_in": true, "provider": "default"}')}])
            other.goto(url + "/?page=analyst")
            other.get_by_role("heading", name="Analyst controls").wait_for(timeout=60_000)
            settle(other)
            assert "Read-only" in other.inner_text("body")
            assert "Signed in as" not in other.inner_text("body")

    assert _rows(demo_db_copy, "SELECT author FROM series_setting") == [("ana@example.org",)]
    events = _rows(demo_db_copy, "SELECT kind, actor, method, role, reason FROM audit_event ORDER BY id")
    # one sign-in at the provider, seen by two page loads, is one sign-in
    assert [e for e in events if e[0] == "sign_in"] == [("sign_in", "ana@example.org", "oidc", "analyst", None)]
    assert ("setting", "ana@example.org", "oidc", "analyst", "Rare events: run chart") in events
