"""Accounts (admins only): the local accounts, adding and removing them, roles and passwords,
and reloading the indicator catalogue. Every change is checked again at the point of writing
(spc.auth) and recorded in the audit trail."""

from __future__ import annotations

import streamlit as st

from spc import auth
from spc.auth import Identity
from spc.errors import SpcError
from spc.text import literal
from spc.ui import data, signin
from spc.ui.data import Overview, reading


def _flash(kind: str, text: str) -> None:
    st.session_state["accounts_flash"] = (kind, text)


def _run(path: str, message: str, action, who: Identity, *args) -> None:
    """One account change; the page says what happened (or why it was refused)."""
    try:
        data.accounts(path, action, who, *args)
    except SpcError as exc:
        _flash("error", str(exc))
    else:
        _flash("success", message)
    data.clear_cache()
    st.rerun()


def render(ov: Overview, path: str) -> None:
    """The accounts page."""
    st.title("Accounts")
    who = signin.current(path)
    if not who.can("admin"):
        st.info("Accounts are for administrators: sign in as one (in the sidebar).", icon="🔒")
        return
    flash = st.session_state.pop("accounts_flash", None)
    if flash:
        (st.success if flash[0] == "success" else st.error)(literal(flash[1]))
    cfg = signin.settings()
    st.markdown("**Single sign-on**: " + (
        f"on ({literal(cfg.provider_label)}); administrators: {len(cfg.admins)}, analysts: {len(cfg.analysts)} "
        f"by e-mail" + (f", and by the `{literal(cfg.role_claim)}` claim" if cfg.role_claim else "")
        + ". Change these in `.streamlit/secrets.toml`." if cfg.oidc else
        "off (set it up in `.streamlit/secrets.toml`: see the README)."))

    st.subheader("Local accounts")
    with reading(path) as con:
        users = auth.list_users(con)
    if users.height:
        st.dataframe(users, hide_index=True, width="stretch")
    else:
        st.caption("No local accounts yet.")
    roles = list(auth.ROLES)
    with st.form("add_user_form", clear_on_submit=True):
        st.markdown("**Add an account**")
        c1, c2 = st.columns(2)
        name = c1.text_input("Name (what they type to sign in)", key="new_user_name", max_chars=64)
        role = c2.selectbox("Role", roles, index=1, key="new_user_role")
        c3, c4 = st.columns(2)
        pw1 = c3.text_input("Password", type="password", key="new_user_pw", max_chars=auth.MAX_PASSWORD,
                            autocomplete="new-password")
        pw2 = c4.text_input("Password again", type="password", key="new_user_pw2", max_chars=auth.MAX_PASSWORD,
                            autocomplete="new-password")
        added = st.form_submit_button("Add account")
    if added:
        if pw1 != pw2:
            _flash("error", "The two passwords differ; nothing was changed.")
            st.rerun()
        _run(path, f"Added {name.strip().lower()} ({role}).", auth.add_user, who, name, role, pw1)

    if users.height:
        names = users["name"].to_list()
        with st.form("change_user_form", clear_on_submit=True):
            st.markdown("**Change an account**")
            c1, c2 = st.columns(2)
            target = c1.selectbox("Account", names, key="chg_user")
            new_role = c2.selectbox("New role", roles, key="chg_role")
            pw = st.text_input("New password (for 'Set password')", type="password", key="chg_pw",
                               max_chars=auth.MAX_PASSWORD, autocomplete="new-password")
            b1, b2, b3 = st.columns(3)
            set_role = b1.form_submit_button("Set role")
            set_pw = b2.form_submit_button("Set password")
            remove = b3.form_submit_button("Remove account")
        if set_role:
            _run(path, f"{target} is now {new_role}.", auth.set_role, who, target, new_role)
        elif set_pw:
            _run(path, f"Password changed for {target}; their open sessions have ended.", auth.set_password,
                 who, target, pw)
        elif remove:
            if target == who.name and who.method == "local":
                _flash("error", "You cannot remove the account you are signed in with.")
                st.rerun()
            _run(path, f"Removed {target}.", auth.remove_user, who, target)

    st.subheader("Indicator catalogue")
    st.caption("Reads `data/indicators.toml` (and `data/indicators.d/`) again, updates names, directions, "
               "charts and targets in the store, and recomputes every indicator.")
    if st.button("Reload the catalogue and recompute", key="reload_catalogue"):
        try:
            ids = data.reload_catalogue(path, who)
            n = data.recompute(path, ids)
        except SpcError as exc:
            _flash("error", str(exc))
        else:
            _flash("success", f"Catalogue reloaded: {len(ids)} indicators, {n} series recomputed.")
        data.clear_cache()
        st.rerun()
