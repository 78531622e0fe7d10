"""spc.auth and spc.audit on a real DuckDB store: accounts, sessions, role mapping, the check at
the point of writing, and the append-only audit trail."""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

import duckdb
import pytest

from spc import audit, auth
from spc.auth import Identity, Refused
from spc.errors import SpcError
from spc.store import migrate, transaction
from spc.store.schema import MIGRATIONS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def con(tmp_path):
    c = duckdb.connect(str(tmp_path / "store.duckdb"))
    migrate(c)
    yield c
    c.close()


def _add(con, name: str, role: str, password: str = "a-good-password") -> None:
    with transaction(con):
        auth.add_user(con, auth.cli_identity(), name, role, password)


def test_schema_5_adds_accounts_audit_and_withdrawal_columns_on_top_of_the_shipped_migrations(tmp_path):
    c = duckdb.connect(str(tmp_path / "old.duckdb"))
    migrate(c, target=4)    # a store as version 4 shipped it, with an annotation in it
    c.execute("INSERT INTO annotation (indicator_id, date, kind, text, author, created_at, deleted_at) "
              "VALUES ('x', DATE '2024-01-01', 'note', 'kept', 'someone', now(), now())")
    migrate(c)
    tables = {r[0] for r in c.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"app_user", "audit_event"} <= tables
    assert c.execute("SELECT text, withdrawn_by, withdrawn_reason FROM annotation").fetchall() == [("kept", None, None)]
    assert len(MIGRATIONS) >= 5
    c.close()


def test_a_password_is_checked_against_its_hash_and_a_refusal_is_logged_without_a_hint(con):
    _add(con, "Ann", "analyst")
    with transaction(con):
        who, session = auth.sign_in(con, "ANN", "a-good-password")
        assert who == Identity("ann", "analyst", "local")
        assert "role" not in session
        assert auth.sign_in(con, "ann", "a-bad-password") is None
        assert auth.sign_in(con, "ghost", "a-good-password") is None
        assert auth.sign_in(con, "", "") is None
    failed = con.execute("SELECT actor, detail FROM audit_event WHERE kind = 'sign_in_failed' ORDER BY id").fetchall()
    assert failed == [("ann", '{"why": "wrong name or password"}'), ("ghost", '{"why": "wrong name or password"}'),
                      ("(blank)", '{"why": "wrong name or password"}')]


def test_an_unknown_account_costs_as_much_to_refuse_as_a_wrong_password(con):
    _add(con, "ann", "analyst")
    with transaction(con):
        auth.sign_in(con, "ghost", "warm-up")   # the dummy hash is made once
        t0 = time.perf_counter()
        for _ in range(3):
            auth.sign_in(con, "ann", "wrong-password")
        known = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(3):
            auth.sign_in(con, "ghost", "wrong-password")
        unknown = time.perf_counter() - t0
    assert 0.5 < unknown / known < 2   # both verify an argon2id hash


def test_refuse_slowly_waits_out_the_delay():
    began = time.monotonic()
    auth.refuse_slowly(began, 0.3)
    assert time.monotonic() - began >= 0.3


def test_a_session_ends_with_time_with_a_new_password_and_with_its_account(con):
    _add(con, "ann", "analyst")
    with transaction(con):
        _, session = auth.sign_in(con, "ann", "a-good-password")
    assert auth.resolve_local(con, session).role == "analyst"
    with pytest.raises(Refused, match="session has ended"):
        auth.resolve_local(con, {**session, "issued_at": time.time() - 9 * 3600}, hours=8)
    with pytest.raises(Refused, match="not one this app made"):
        auth.resolve_local(con, {"name": "ann"})
    with transaction(con):
        auth.set_role(con, auth.cli_identity(), "ann", "viewer")
    assert auth.resolve_local(con, session).role == "viewer"   # the role is read each time
    with transaction(con):
        auth.set_password(con, auth.cli_identity(), "ann", "another-password")
    with pytest.raises(Refused, match="password was changed"):
        auth.resolve_local(con, session)
    with transaction(con):
        auth.remove_user(con, auth.cli_identity(), "ann")
    with pytest.raises(Refused, match="names no account"):
        auth.resolve_local(con, session)


def test_only_an_admin_manages_accounts_and_only_the_account_holder_changes_their_own_password(con):
    _add(con, "ann", "analyst")
    _add(con, "bob", "analyst")
    ann = Identity("ann", "analyst", "local")
    with pytest.raises(Refused, match="only an admin"):
        with transaction(con):
            auth.add_user(con, ann, "eve", "admin", "a-good-password")
    with pytest.raises(Refused):
        with transaction(con):
            auth.set_role(con, ann, "ann", "admin")
    with pytest.raises(Refused):
        with transaction(con):
            auth.set_password(con, ann, "bob", "taken-over-pw")
    with transaction(con):
        auth.set_password(con, ann, "ann", "my-own-new-pw")
    assert con.execute("SELECT name, role FROM app_user ORDER BY name").fetchall() == [("ann", "analyst"),
                                                                                      ("bob", "analyst")]


def test_authorize_reads_a_local_role_again_and_never_lets_anonymous_write(con):
    _add(con, "ann", "viewer")
    stale = Identity("ann", "admin", "local")   # what a tampered or stale identity might claim
    with pytest.raises(Refused, match="signed in as viewer"):
        auth.authorize(con, stale, "analyst", action="save")
    with pytest.raises(Refused, match="not signed in"):
        auth.authorize(con, auth.ANONYMOUS, "viewer", action="save")
    assert auth.authorize(con, auth.cli_identity(), "admin", action="save").role == "admin"


def test_roles_from_the_e_mail_lists_and_the_claim():
    cfg = auth.auth_config({
        "auth": {"redirect_uri": "x", "cookie_secret": "y", "microsoft": {"client_id": "c", "client_secret": "s",
                                                                           "server_metadata_url": "u"}},
        "spc_auth": {"analysts": ["Ana@Example.org"], "admins": "root@example.org", "role_claim": "roles",
                     "claim_roles": {"SPC.Admin": "admin"}, "allow_any_account": False, "viewers": ["v@x.org"]}})
    assert cfg.oidc and cfg.provider == "microsoft"
    assert auth.oidc_identity({"email": "ANA@example.org"}, cfg).role == "analyst"
    assert auth.oidc_identity({"email": "root@example.org"}, cfg).role == "admin"
    assert auth.oidc_identity({"email": "v@x.org"}, cfg).role == "viewer"
    assert auth.oidc_identity({"email": "z@x.org", "roles": "SPC.Admin"}, cfg).role == "admin"
    with pytest.raises(Refused, match="may not use this app"):
        auth.oidc_identity({"email": "stranger@x.org"}, cfg)
    with pytest.raises(SpcError, match="expected one of"):
        auth.auth_config({"spc_auth": {"claim_roles": {"A": "superuser"}}})
    assert not auth.auth_config({}).oidc


def test_the_documented_example_settings_read_as_documented():
    example = tomllib.loads((ROOT / ".streamlit" / "secrets.example.toml").read_text())
    cfg = auth.auth_config(example)
    assert cfg.oidc and cfg.provider is None and cfg.provider_label == "Microsoft"
    assert auth.oidc_identity({"email": "a.analyst@example.police.uk"}, cfg).role == "analyst"
    assert auth.oidc_identity({"email": "someone@example.police.uk"}, cfg).role == "viewer"


def test_an_old_single_sign_on_has_ended():
    assert auth.oidc_session_ended({"iat": time.time() - 9 * 3600}, 8)
    assert not auth.oidc_session_ended({"iat": time.time() - 60}, 8)


def test_the_audit_trail_filters_and_refuses_an_unknown_kind(con):
    ann = Identity("ann", "analyst", "local")
    with transaction(con):
        audit.record(con, ann, "annotation", indicator_id="asb", reason="why 1")
        audit.record(con, Identity("bob", "analyst", "oidc"), "setting", indicator_id="fire", reason="why 2")
    assert audit.events(con, user="ANN")["reason"].to_list() == ["why 1"]
    assert audit.events(con, kinds=["setting"])["actor"].to_list() == ["bob"]
    assert audit.events(con, indicator_id="asb").height == 1
    assert audit.events(con, since=__import__("datetime").date(2999, 1, 1)).height == 0
    with pytest.raises(SpcError, match="unknown kind"):
        audit.events(con, kinds=["delete_everything"])
    with pytest.raises(ValueError):
        audit.record(con, ann, "delete_everything")
    csv = audit.to_csv(audit.events(con))
    assert csv.splitlines()[0].startswith("id,happened_at,actor,method,role,kind")


def test_a_reason_is_required_and_a_long_one_refused_whole():
    with pytest.raises(SpcError, match="please give a reason"):
        audit.check_reason("   ")
    with pytest.raises(SpcError, match="the limit is 10; nothing was saved"):
        audit.check_reason("x" * 11, limit=10)
    assert audit.check_reason("  fine  ") == "fine"


def test_the_browser_token_is_signed_by_the_store_and_dies_with_the_password(con):
    _add(con, "ann", "analyst")
    with transaction(con):
        _, session = auth.sign_in(con, "ann", "a-good-password")
    token = auth.session_token(con, session)
    assert auth.session_from_token(con, token) == session
    assert "analyst" not in token   # no role in it
    payload, signature = token.split(".")
    import base64
    import json
    raised = dict(session, issued_at=session["issued_at"] + 10 ** 6)
    forged = base64.urlsafe_b64encode(json.dumps(raised, sort_keys=True).encode()).decode().rstrip("=")
    for bad in (f"{forged}.{signature}", f"{payload}.{'0' * 64}", "garbage", "", "a.b.c"):
        with pytest.raises(Refused, match="not one this app made"):
            auth.session_from_token(con, bad)
    with transaction(con):
        auth.set_password(con, auth.cli_identity(), "ann", "a-new-password")
    with pytest.raises(Refused):
        auth.session_from_token(con, token)


def test_nothing_in_spc_updates_or_deletes_the_audit_trail():
    """DuckDB has no triggers or grants to make a table append-only; the code is the guarantee."""
    import re

    offending = [str(p.relative_to(ROOT)) for p in (ROOT / "spc").rglob("*.py")
                 if re.search(r"(?i)(UPDATE\s+audit_event|DELETE\s+FROM\s+audit_event|DROP\s+TABLE\s+audit_event"
                              r"|TRUNCATE\s+audit_event)", p.read_text(encoding="utf-8"))]
    assert offending == []
