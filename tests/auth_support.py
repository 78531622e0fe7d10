"""Helpers for the sign-in tests: real accounts in a real store, signing in through the app's form."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from spc import auth
from spc.store import transaction

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PASSWORDS = {"viewer": "viewer-pass-1", "analyst": "analyst-pass-1", "admin": "admin-pass-1"}
_KNOWN: dict[str, str] = {}   # account name -> the password add_account gave it


def add_account(db: Path, name: str, role: str, password: str | None = None) -> None:
    """Create a local account as the store's owner would (spc.auth.add_user, as `spc users add` does)."""
    _KNOWN[name] = password or PASSWORDS[role]
    con = duckdb.connect(str(db))
    try:
        with transaction(con):
            auth.add_user(con, auth.cli_identity(), name, role, _KNOWN[name])
    finally:
        con.close()


def add_role_accounts(db: Path) -> None:
    """One account per role, named after it."""
    for role in auth.ROLES:
        add_account(db, role, role)


def query(db: Path, sql: str, params: list | None = None) -> pl.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql(sql, params=params).pl()
    finally:
        con.close()


def start(monkeypatch: pytest.MonkeyPatch, db: Path, page: str = "summary", *, timeout: float = 90,
          **state: object) -> AppTest:
    """The app on `db`, run once on `page` with this session state (every AppTest file uses it)."""
    monkeypatch.setenv("SPC_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.session_state["page"] = page
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_address(monkeypatch: pytest.MonkeyPatch, db: Path, *, timeout: float = 120, **params: str) -> AppTest:
    """The app on `db`, opened at an address with these query parameters (a bookmark or a link)."""
    monkeypatch.setenv("SPC_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=timeout)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def sign_in(at: AppTest, name: str, password: str | None = None) -> AppTest:
    """Sign in through the sidebar's form, as a person would."""
    at.sidebar.text_input(key="signin_name").input(name)
    at.sidebar.text_input(key="signin_password").input(_KNOWN.get(name, "") if password is None else password)
    button(at.sidebar, "Sign in").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def start_signed_in(monkeypatch: pytest.MonkeyPatch, db: Path, name: str, page: str = "summary",
                    **state: object) -> AppTest:
    """The app on `db`, signed in as `name` (through the form), then on `page`."""
    at = start(monkeypatch, db, "summary")
    sign_in(at, name)
    assert any(f"Signed in as **{name}**" in m.value for m in at.sidebar.markdown), \
        [w.value for w in at.sidebar.warning]
    at.session_state["page"] = page
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def button(where, label: str):
    """The button with this label (form submit buttons included)."""
    matches = [b for b in where.button if b.label == label]
    assert matches, f"no button {label!r}: {[b.label for b in where.button]}"
    return matches[0]


def audit_rows(db: Path, kind: str | None = None) -> pl.DataFrame:
    """The audit trail, oldest first (optionally one kind)."""
    if kind:
        return query(db, "SELECT * FROM audit_event WHERE kind = ? ORDER BY id", [kind])
    return query(db, "SELECT * FROM audit_event ORDER BY id")
