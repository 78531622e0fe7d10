"""Signing in with a local account in headless Chromium, then making a change that carries the
account's name; a wrong password first, refused with the same words whether or not the account
exists; the sign-in survives a new page load (the signed cookie), not a sign-out; a forged
cookie is refused."""

from __future__ import annotations

import base64

import duckdb
import pytest

from auth_support import add_account
from browser_support import ARTIFACTS, browser_page, needs_chromium, serve, settle

pytestmark = [pytest.mark.browser, needs_chromium]


def _rows(db, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _sign_in(page, name: str, password: str) -> None:
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_label("Name").fill(name)
    sidebar.get_by_label("Password", exact=True).fill(password)
    sidebar.get_by_role("button", name="Sign in").click()


def test_sign_in_with_a_local_account_and_add_a_note(demo_db_copy, tmp_path):
    add_account(demo_db_copy, "dana", "analyst", "dana-password-1")
    with serve(demo_db_copy, tmp_path / "streamlit.log") as url, browser_page() as page:
        ARTIFACTS.mkdir(exist_ok=True)
        page.goto(url + "/?page=analyst&indicator=crime_burglary&area=staffordshire")
        page.get_by_role("heading", name="Analyst controls").wait_for(timeout=60_000)
        settle(page)
        assert "Read-only" in page.inner_text("body")
        assert page.get_by_role("button", name="Save and recompute").count() == 0

        _sign_in(page, "dana", "not-her-password")
        page.get_by_text("Wrong name or password.").wait_for(timeout=30_000)
        settle(page)
        _sign_in(page, "nobody", "not-her-password")
        page.get_by_text("Wrong name or password.").wait_for(timeout=30_000)
        settle(page)
        assert "Signed in as" not in page.inner_text("body")

        _sign_in(page, "Dana", "dana-password-1")
        page.get_by_text("Signed in as").wait_for(timeout=30_000)
        settle(page)
        assert "dana (analyst)" in page.locator('[data-testid="stSidebar"]').inner_text()
        # no name to type: the change is recorded as the signed-in account
        assert page.get_by_label("Your name (recorded with every change)").count() == 0
        page.get_by_role("button", name="Save and recompute").wait_for(timeout=30_000)
        page.get_by_label("Reason (shown on the chart and kept with the change)").fill(
            "Burglary campaign launched")
        page.get_by_role("button", name="Save and recompute").click()
        page.get_by_text("Saved:").wait_for(timeout=60_000)
        settle(page)
        page.screenshot(path=str(ARTIFACTS / "signed_in_change.png"))
        # a new page load (a reload, a link from the Summary) keeps the sign-in: the browser's
        # signed cookie carries it
        page.goto(url + "/?page=indicator&indicator=crime_burglary&area=staffordshire")
        page.get_by_text("Signed in as").wait_for(timeout=60_000)
        settle(page)
        # the audit trail lists the change
        page.locator('[data-testid="stSidebar"]').get_by_text("Audit trail").click()
        page.get_by_role("button", name="Download these events (CSV)").wait_for(timeout=60_000)
        settle(page)
        # an analyst sees the changes to the charts (here, the one just made), not the sign-ins
        assert "1 event\n" in page.inner_text("body") + "\n"
        page.screenshot(path=str(ARTIFACTS / "audit_trail.png"))

        page.locator('[data-testid="stSidebar"]').get_by_role("button", name="Sign out").click()
        page.get_by_role("button", name="Sign in").wait_for(timeout=30_000)
        settle(page)
        assert "Audit trail" not in page.locator('[data-testid="stSidebar"]').inner_text()
        page.reload()   # signed out stays signed out: the cookie is gone
        page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
        settle(page)
        assert "Signed in as" not in page.inner_text("body")
        assert not [c for c in page.context.cookies() if c["name"] == "spc_session"]

        # a forged cookie (a name with a made-up signature) is refused, and logged
        forged = page.context.browser.new_page()
        payload = base64.urlsafe_b64encode(b'{"issued_at": 9999999999, "method": "local", "name": "dana", '
                                           b'"password_set_at": null}').decode().rstrip("=")
        forged.context.add_cookies([{"name": "spc_session", "url": url, "value": f"{payload}.{'0' * 64}"}])
        forged.goto(url + "/?page=analyst")
        forged.get_by_role("heading", name="Analyst controls").wait_for(timeout=60_000)
        settle(forged)
        assert "Read-only" in forged.inner_text("body") and "Signed in as" not in forged.inner_text("body")
        assert "not one this app made" in forged.inner_text("body")

    assert _rows(demo_db_copy, "SELECT author FROM annotation WHERE text = 'Burglary campaign launched'") == [
        ("dana",)]
    events = _rows(demo_db_copy, "SELECT kind, actor FROM audit_event ORDER BY id")
    assert events[1:] == [("sign_in_failed", "dana"), ("sign_in_failed", "nobody"), ("sign_in", "dana"),
                          ("annotation", "dana"), ("sign_out", "dana"), ("refused", "unknown")]
