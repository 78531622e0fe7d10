"""Sign-in and roles in the app (AppTest on a real copy of the demo store): what each role sees on
every page, that only analysts reach the write path, and that bad input is refused cleanly,
writes nothing and is logged."""

from __future__ import annotations

import time

import pytest

from auth_support import (add_account, add_role_accounts, audit_rows, button, query, sign_in, start,
                          start_signed_in)
from spc import auth
from spc.auth import Refused
from spc.errors import SpcError
from spc.text import MAX_ANNOTATION_TEXT, MAX_REASON
from spc.ui import data
from spc.ui.signin import SESSION_KEY

READ_PAGES = ["summary", "indicator", "compare", "analyst", "data", "briefing"]
ASB = {"sel_indicator": "asb_incidents", "sel_area": "staffordshire"}
WRITE_FORMS = ("settings_form", "annotation_form", "withdraw_form")


def _offered(at) -> list[str]:
    return list(at.sidebar.radio(key="page").options)


def _forms(at) -> set[str]:
    """Keys of the forms on the main page (each has a submit button that names its form)."""
    return {b.form_id for b in at.main.button if b.form_id}


def _write_counts(db) -> tuple[int, int]:
    return (query(db, "SELECT count(*) AS n FROM annotation")["n"][0],
            query(db, "SELECT count(*) AS n FROM series_setting")["n"][0])


@pytest.fixture
def store(demo_db_copy):
    """The demo store with one account per role (named viewer, analyst, admin)."""
    add_role_accounts(demo_db_copy)
    return demo_db_copy


# ---------------------------------------------------------------------------------------------
# each role on every page
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["anonymous", "viewer", "analyst", "admin"])
def test_each_role_sees_the_pages_its_role_allows(monkeypatch, store, role):
    if role == "anonymous":
        at = start(monkeypatch, store)
    else:
        at = start_signed_in(monkeypatch, store, role)
    expected = READ_PAGES + {"anonymous": [], "viewer": [], "analyst": ["audit"], "admin": ["audit", "accounts"]}[role]
    assert [o for o in _offered(at)] == [
        {"summary": "Summary", "indicator": "Indicator", "compare": "Compare areas", "analyst": "Analyst controls",
         "data": "Data", "briefing": "Briefing mode", "audit": "Audit trail", "accounts": "Accounts"}[p]
        for p in expected]
    for page in expected:
        at.session_state["page"] = page
        for key, value in ASB.items():
            at.session_state[key] = value
        at.run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])
        assert at.title, page
        forms = _forms(at)
        if page == "analyst":
            if role in ("analyst", "admin"):
                assert set(WRITE_FORMS) <= forms
                assert not [i for i in at.info if "Read-only" in i.value or "read-only" in i.value]
            else:   # no write path at all: no forms, no write buttons, and a notice saying why
                assert not forms & set(WRITE_FORMS)
                assert not [b for b in at.button if b.label in ("Save and recompute", "Withdraw",
                                                                "Recompute this indicator now")]
                notice = " ".join(i.value for i in at.info)
                assert ("Sign in as an analyst" in notice) if role == "anonymous" else ("signed in as a viewer" in notice)
        if page == "audit":
            kinds = set(at.multiselect(key="audit_kinds").options)
            assert ("sign-in refused" in kinds) == (role == "admin")   # security events: admins only
            assert "chart settings saved" in kinds
        if page == "accounts":
            assert "add_user_form" in forms
            shown = at.dataframe[0].value
            assert sorted(shown["name"].tolist()) == ["admin", "analyst", "viewer"]
            assert "password_hash" not in shown.columns


def test_a_viewer_asking_for_a_restricted_page_by_address_gets_the_summary(monkeypatch, store):
    monkeypatch.setenv("SPC_DB", str(store))
    from streamlit.testing.v1 import AppTest

    from auth_support import APP
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["page"] = "accounts"
    at.run()
    assert not at.exception
    assert at.title[0].value == "Indicator summary"
    assert "Accounts" not in _offered(at)


# ---------------------------------------------------------------------------------------------
# nothing configured: read-only, and the page says how to enable editing
# ---------------------------------------------------------------------------------------------


def test_with_no_sign_in_configured_the_analyst_page_is_read_only_and_says_how_to_enable_editing(
        monkeypatch, demo_db_copy):
    at = start(monkeypatch, demo_db_copy, "analyst", **ASB)
    notice = " ".join(i.value for i in at.info)
    assert "editing is not enabled" in notice
    assert any(f"spc users add NAME --role analyst --db {demo_db_copy}" in c.value for c in at.code)
    assert not _forms(at) & set(WRITE_FORMS)
    assert not at.sidebar.text_input  # no sign-in form when nobody can sign in
    # the dates recorded so far are still listed, read-only
    assert any("recalculate" in m.value for m in at.markdown)


# ---------------------------------------------------------------------------------------------
# the role is checked at the point of writing
# ---------------------------------------------------------------------------------------------


def test_a_viewer_posting_an_analyst_action_is_refused_at_the_write_and_logged(monkeypatch, store):
    at = start_signed_in(monkeypatch, store, "viewer", "analyst", **ASB)
    viewer = data.identity_now(str(store), at.session_state[SESSION_KEY], auth.SESSION_HOURS)
    assert viewer.role == "viewer"
    before = _write_counts(store)
    # the page offers no form, so post straight to the write path the form would use
    with pytest.raises(Refused, match="only an analyst"):
        data.add_annotation(store, viewer, "asb_incidents", "staffordshire", query(
            store, "SELECT max(period) AS p FROM result_point")["p"][0], "note", "sneaky note")
    with pytest.raises(Refused):
        data.save_setting(store, viewer, "asb_incidents", "*", "sneaky", chart="run")
    with pytest.raises(Refused):
        data.withdraw_annotation(store, auth.ANONYMOUS, 1, "sneaky")
    assert _write_counts(store) == before
    refused = audit_rows(store, "refused")
    assert refused["actor"].to_list() == ["viewer", "viewer", "anonymous"]
    assert all("nothing was saved" in d for d in refused["detail"].to_list())


def test_an_analyst_demoted_while_the_page_is_open_cannot_save_from_it(monkeypatch, store):
    at = start_signed_in(monkeypatch, store, "analyst", "analyst", **ASB)
    stale = data.identity_now(str(store), at.session_state[SESSION_KEY], auth.SESSION_HOURS)
    assert stale.role == "analyst"
    add_account(store, "boss", "admin")
    with data.writing(store) as con:
        auth.set_role(con, auth.cli_identity(), "analyst", "viewer")
    # the identity the open page holds still says analyst; the write reads the role again
    with pytest.raises(Refused, match="signed in as viewer"):
        data.save_setting(store, stale, "asb_incidents", "staffordshire", "too late", chart="run")
    assert _write_counts(store)[1] == 0
    # and the page itself, on its next run, is read-only
    at.run()
    assert not _forms(at) & set(WRITE_FORMS)


# ---------------------------------------------------------------------------------------------
# bad input: refused cleanly, nothing written, logged
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, password", [("analyst", "wrong-password"), ("nobody", "wrong-password"),
                                            ("<script>", "x")])
def test_a_wrong_password_is_refused_after_a_delay_with_no_hint_whether_the_account_exists(
        monkeypatch, store, name, password):
    at = start(monkeypatch, store)
    began = time.monotonic()
    sign_in(at, name, password)
    took = time.monotonic() - began
    assert took >= auth.FAILED_SIGN_IN_DELAY
    assert [w.value for w in at.sidebar.warning] == ["Wrong name or password."]   # the same words either way
    assert not any("Signed in as" in m.value for m in at.sidebar.markdown)
    assert SESSION_KEY not in at.session_state
    failed = audit_rows(store, "sign_in_failed")
    assert failed.height == 1 and failed["detail"][0] == '{"why": "wrong name or password"}'
    assert audit_rows(store, "sign_in").height == 0


def test_a_right_password_signs_in_and_is_recorded(monkeypatch, store):
    at = start_signed_in(monkeypatch, store, "analyst")
    # the password is not kept in the session
    assert "signin_password" not in at.session_state or at.session_state["signin_password"] == ""
    assert "role" not in at.session_state[SESSION_KEY]   # nor is the role: it is read on every request
    assert audit_rows(store, "sign_in")["actor"].to_list() == ["analyst"]
    assert query(store, "SELECT last_sign_in FROM app_user WHERE name = 'analyst'")["last_sign_in"][0] is not None


def test_an_expired_session_is_refused_and_logged(monkeypatch, store):
    at = start_signed_in(monkeypatch, store, "analyst", "analyst", **ASB)
    session = dict(at.session_state[SESSION_KEY])
    session["issued_at"] -= (auth.SESSION_HOURS + 1) * 3600
    at.session_state[SESSION_KEY] = session
    at.run()
    assert not at.exception
    assert any("session has ended" in w.value for w in at.sidebar.warning)
    assert not _forms(at) & set(WRITE_FORMS)
    assert SESSION_KEY not in at.session_state
    refused = audit_rows(store, "refused")
    assert refused["actor"].to_list() == ["analyst"] and "session has ended" in refused["detail"][0]


@pytest.mark.parametrize("forged", [
    {"method": "local", "name": "admin", "issued_at": time.time(), "password_set_at": "2001-01-01T00:00:00"},
    {"method": "local", "name": "mallory", "issued_at": time.time(), "password_set_at": None},
    {"method": "local", "name": "admin", "role": "admin"},
    "admin",
])
def test_a_forged_session_is_refused_and_logged(monkeypatch, store, forged):
    at = start(monkeypatch, store, "accounts", **{SESSION_KEY: forged})
    assert at.title[0].value == "Indicator summary"   # not the Accounts page
    assert "Accounts" not in _offered(at) and "Audit trail" not in _offered(at)
    assert any("sign in again" in w.value for w in at.sidebar.warning)
    assert SESSION_KEY not in at.session_state
    assert audit_rows(store, "refused").height == 1
    assert audit_rows(store, "user_add")["subject"].to_list() == ["viewer", "analyst", "admin"]  # nothing else


def test_changing_a_password_ends_sessions_signed_in_before(monkeypatch, store):
    at = start_signed_in(monkeypatch, store, "analyst", "analyst", **ASB)
    with data.writing(store) as con:
        auth.set_password(con, auth.cli_identity(), "analyst", "a-new-password")
    at.run()
    assert any("password was changed" in w.value for w in at.sidebar.warning)
    assert not _forms(at) & set(WRITE_FORMS)


def test_an_over_long_note_is_refused_and_nothing_is_written(monkeypatch, store):
    at = start_signed_in(monkeypatch, store, "analyst", "analyst", **ASB)
    # the box stops typing at the limit (AppTest, like the browser, will not post more through it)
    assert at.text_area(key="ann_reason").max_chars == MAX_ANNOTATION_TEXT
    before = _write_counts(store)
    # a longer note posted past the box (a hand-made request) meets the check at the write
    analyst = data.identity_now(str(store), at.session_state[SESSION_KEY], auth.SESSION_HOURS)
    latest = query(store, "SELECT max(period) AS p FROM result_point")["p"][0]
    with pytest.raises(SpcError, match=f"the limit is {MAX_ANNOTATION_TEXT:,}; nothing was saved"):
        data.add_annotation(store, analyst, "asb_incidents", "staffordshire", latest, "note",
                            "x" * (MAX_ANNOTATION_TEXT + 1))
    with pytest.raises(SpcError, match="nothing was saved"):
        data.withdraw_annotation(store, analyst, 1, "y" * (MAX_REASON + 1))
    assert _write_counts(store) == before
    assert query(store, "SELECT count(*) AS n FROM annotation WHERE deleted_at IS NOT NULL")["n"][0] == 0
    refused = audit_rows(store, "refused")
    assert refused["actor"].to_list() == ["analyst", "analyst"]
    assert audit_rows(store, "annotation").height == 0 and audit_rows(store, "withdraw").height == 0
    # the page says so in words when the form is sent empty
    button(at, "Save and recompute").click()
    at.run()
    assert any("please give a reason" in e.value for e in at.error)


# ---------------------------------------------------------------------------------------------
# changes carry the signed-in identity; withdrawals need a reason and can be reinstated
# ---------------------------------------------------------------------------------------------


def test_withdrawing_needs_a_reason_and_a_withdrawn_date_can_be_reinstated(monkeypatch, store):
    series = "indicator_id = 'asb_incidents' AND area_code = 'staffordshire'"
    phases = query(store, f"SELECT count(*) AS n FROM result_phase WHERE {series}")["n"][0]
    ann_id = query(store, "SELECT id FROM annotation WHERE indicator_id = 'asb_incidents' AND kind = 'recalculate'")["id"][0]
    at = start_signed_in(monkeypatch, store, "analyst", "analyst", **ASB)
    at.selectbox(key="wd_annotation").set_value(ann_id)
    button(at, "Withdraw").click()
    at.run()
    assert any("please give a reason" in e.value for e in at.error)
    assert query(store, "SELECT deleted_at FROM annotation WHERE id = ?", [ann_id])["deleted_at"][0] is None

    at.selectbox(key="wd_annotation").set_value(ann_id)
    at.text_input(key="wd_reason").input("Not a real change")
    button(at, "Withdraw").click()
    at.run()
    assert query(store, f"SELECT count(*) AS n FROM result_phase WHERE {series}")["n"][0] == phases - 1
    assert any("withdrawn by analyst" in m.value and "Not a real change" in m.value for m in at.markdown)

    at.selectbox(key="wd_annotation").set_value(ann_id)
    at.text_input(key="wd_reason").input("It was real after all")
    button(at, "Reinstate").click()
    at.run()
    assert not at.exception
    row = query(store, "SELECT deleted_at, withdrawn_by FROM annotation WHERE id = ?", [ann_id]).row(0)
    assert row == (None, None)
    assert query(store, f"SELECT count(*) AS n FROM result_phase WHERE {series}")["n"][0] == phases
    trail = audit_rows(store).filter(audit_rows(store)["kind"].is_in(["withdraw", "reinstate"]))
    assert trail.select("kind", "actor", "subject", "reason").rows() == [
        ("withdraw", "analyst", str(ann_id), "Not a real change"),
        ("reinstate", "analyst", str(ann_id), "It was real after all")]


def test_every_analyst_change_is_on_the_audit_page_and_in_its_csv(monkeypatch, store):
    at = start_signed_in(monkeypatch, store, "analyst", "analyst", **ASB)
    at.selectbox(key="set_chart").set_value("run")
    at.text_input(key="set_reason").input("Too few events")
    button(at, "Save settings and recompute").click()
    at.run()
    at.selectbox(key="ann_kind").set_value("intervention")
    at.text_area(key="ann_reason").input("New **team** <b>started</b> $x^2$")
    button(at, "Save and recompute").click()
    at.run()
    button(at, "Recompute this indicator now").click()
    at.run()
    assert not at.exception
    at.session_state["page"] = "audit"
    at.run()
    table = at.dataframe[0].value
    assert table["what"].tolist()[:3] == ["indicator recomputed by hand", "recalculation, exclusion, intervention or note added",
                                         "chart settings saved"]
    assert set(table["actor"].head(3)) == {"analyst"}
    assert "New **team** <b>started</b> $x^2$" in table["reason"].tolist()   # stored and shown as typed
    # filter by kind
    at.multiselect(key="audit_kinds").set_value(["setting"])
    at.run()
    assert at.dataframe[0].value["reason"].tolist() == ["Too few events"]
    # the analyst does not see sign-in events; the admin does
    assert "signed in" not in at.dataframe[0].value["what"].tolist()


def test_an_admin_adds_an_account_changes_its_role_and_removes_it_on_the_accounts_page(monkeypatch, store):
    at = start_signed_in(monkeypatch, store, "admin", "accounts")
    at.text_input(key="new_user_name").input("Carol")
    at.selectbox(key="new_user_role").set_value("analyst")
    at.text_input(key="new_user_pw").input("carol-pass-1")
    at.text_input(key="new_user_pw2").input("carol-pass-1")
    button(at, "Add account").click()
    at.run()
    assert any("Added carol (analyst)" in s.value for s in at.success), [e.value for e in at.error]
    assert query(store, "SELECT role FROM app_user WHERE name = 'carol'")["role"][0] == "analyst"
    at.selectbox(key="chg_user").set_value("carol")
    at.selectbox(key="chg_role").set_value("viewer")
    button(at, "Set role").click()
    at.run()
    assert query(store, "SELECT role FROM app_user WHERE name = 'carol'")["role"][0] == "viewer"
    at.selectbox(key="chg_user").set_value("carol")
    button(at, "Remove account").click()
    at.run()
    assert query(store, "SELECT count(*) AS n FROM app_user WHERE name = 'carol'")["n"][0] == 0
    kinds = audit_rows(store).filter(audit_rows(store)["subject"] == "carol").select("kind", "actor").rows()
    assert kinds == [("user_add", "admin"), ("user_role", "admin"), ("user_remove", "admin")]


def test_an_admin_reloads_the_catalogue(monkeypatch, store):
    at = start_signed_in(monkeypatch, store, "admin", "accounts")
    button(at, "Reload the catalogue and recompute").click()
    at.run()
    assert not at.exception
    assert any("Catalogue reloaded" in s.value for s in at.success), [e.value for e in at.error]
    assert audit_rows(store, "catalogue_reload")["actor"].to_list() == ["admin"]
    # an analyst cannot, even by calling the write path
    analyst = auth.Identity("analyst", "analyst", "local")
    with pytest.raises(Refused):
        data.reload_catalogue(store, analyst)


# ---------------------------------------------------------------------------------------------
# OpenID Connect: roles from an e-mail allow-list or a claim (st.user as AppTest gives it)
# ---------------------------------------------------------------------------------------------

OIDC_SECRETS = {
    "auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
             "client_id": "spc", "client_secret": "s3cret",
             "server_metadata_url": "https://login.example.org/.well-known/openid-configuration"},
    "spc_auth": {"provider_label": "Example SSO", "analysts": ["Ana@Example.org"], "admins": ["root@example.org"],
                 "role_claim": "roles", "claim_roles": {"SPC.Admin": "admin", "SPC.Analyst": "analyst"}},
}


def _oidc_app(monkeypatch, db, user: dict, page: str = "analyst"):
    from streamlit.testing.v1 import AppTest

    from auth_support import APP
    monkeypatch.setenv("SPC_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=90)
    at.secrets.update(OIDC_SECRETS)
    at.user = user
    at.session_state["page"] = page
    for key, value in ASB.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("claims, role", [
    ({"email": "ana@example.org"}, "analyst"),                      # the e-mail allow-list
    ({"email": "someone@example.org"}, "viewer"),                   # anyone else the provider signs in
    ({"email": "x@example.org", "roles": ["SPC.Analyst"]}, "analyst"),   # the role claim
    ({"email": "y@example.org", "roles": ["SPC.Admin", "Other"]}, "admin"),
])
def test_single_sign_on_roles_come_from_the_allow_list_or_the_claim(monkeypatch, demo_db_copy, claims, role):
    at = _oidc_app(monkeypatch, demo_db_copy, {"is_logged_in": True, "iat": int(time.time()), **claims})
    assert any(f"({role})" in m.value for m in at.sidebar.markdown)
    assert (set(WRITE_FORMS) <= _forms(at)) == (role in ("analyst", "admin"))
    assert ("Accounts" in _offered(at)) == (role == "admin")
    assert audit_rows(demo_db_copy, "sign_in")["method"].to_list() == ["oidc"]


def test_a_single_sign_on_analysts_change_records_their_e_mail(monkeypatch, demo_db_copy):
    at = _oidc_app(monkeypatch, demo_db_copy, {"is_logged_in": True, "email": "ana@example.org",
                                               "iat": int(time.time())})
    at.selectbox(key="set_chart").set_value("run")
    at.text_input(key="set_reason").input("Rare events")
    button(at, "Save settings and recompute").click()
    at.run()
    assert query(demo_db_copy, "SELECT author FROM series_setting")["author"].to_list() == ["ana@example.org"]
    event = audit_rows(demo_db_copy, "setting").row(0, named=True)
    assert (event["actor"], event["method"], event["role"], event["reason"]) == (
        "ana@example.org", "oidc", "analyst", "Rare events")


def test_an_old_single_sign_on_session_is_refused_and_logged(monkeypatch, demo_db_copy):
    old = int(time.time() - (auth.SESSION_HOURS + 1) * 3600)
    at = _oidc_app(monkeypatch, demo_db_copy, {"is_logged_in": True, "email": "ana@example.org", "iat": old})
    assert not _forms(at) & set(WRITE_FORMS)
    assert any("sign-in has ended" in w.value for w in at.sidebar.warning)
    assert audit_rows(demo_db_copy, "refused")["actor"].to_list() == ["ana@example.org"]


def test_with_sign_in_required_nobody_reads_without_signing_in(monkeypatch, store):
    from streamlit.testing.v1 import AppTest

    from auth_support import APP
    monkeypatch.setenv("SPC_DB", str(store))
    at = AppTest.from_file(APP, default_timeout=90)
    at.secrets["spc_auth"] = {"require_sign_in": True}
    at.query_params["page"] = "indicator"
    at.run()
    assert not at.exception
    assert [i.value for i in at.info] == ["Please sign in to see the indicators."]
    assert not any('<table class="spc-summary"' in m for m in [m.value for m in at.markdown] + [h.proto.body for h in at.html])
    assert not at.get("plotly_chart")
    assert not at.sidebar.radio   # no pages offered
    at.text_input(key="signin_name").input("viewer")
    at.text_input(key="signin_password").input("viewer-pass-1")
    button(at, "Sign in").click()
    at.run()
    assert at.title[0].value != "Indicator monitoring" and at.sidebar.radio
    assert any("(viewer)" in m.value for m in at.sidebar.markdown)


def test_a_local_account_changes_its_own_password_giving_the_current_one(monkeypatch, store):
    at = start_signed_in(monkeypatch, store, "analyst")
    for key, value in (("own_pw_now", "not-the-password"), ("own_pw_new", "brand-new-pw"),
                       ("own_pw_again", "brand-new-pw")):
        at.sidebar.text_input(key=key).input(value)
    button(at.sidebar, "Change password").click()
    at.run()
    assert any("current password is wrong" in w.value for w in at.sidebar.warning)
    assert audit_rows(store, "user_passwd").height == 0 and audit_rows(store, "refused").height == 1
    for key, value in (("own_pw_now", "analyst-pass-1"), ("own_pw_new", "brand-new-pw"),
                       ("own_pw_again", "brand-new-pw")):
        at.sidebar.text_input(key=key).input(value)
    button(at.sidebar, "Change password").click()
    at.run()
    assert any("Password changed" in w.value for w in at.sidebar.warning)
    assert not any("Signed in as" in m.value for m in at.sidebar.markdown)   # sign in again
    assert audit_rows(store, "user_passwd").select("actor", "subject").rows() == [("analyst", "analyst")]
    sign_in(at, "analyst", "brand-new-pw")
    assert any("Signed in as **analyst**" in m.value for m in at.sidebar.markdown)
