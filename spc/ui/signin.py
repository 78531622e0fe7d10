"""Signing in to the app: who is asking (`current`), and the sidebar's sign-in and sign-out.

Two ways, both set up in `.streamlit/secrets.toml` (spc.auth describes them): OpenID Connect
through Streamlit's `st.login` (its identity cookie is signed with `[auth] cookie_secret`, so
a forged one is not accepted), and local accounts (`spc users add`), whose session lives in
the server-side Streamlit session, with a copy in a browser cookie signed with a key made from
the account's password hash (spc.auth.session_token), so a reload or a link keeps the sign-in.
Neither holds a role. Each request works out the identity again: the role comes from the store
or from the provider's claims, never from the session or the cookie.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from spc import auth
from spc.auth import ANONYMOUS, AuthConfig, Identity, Refused
from spc.errors import SpcError
from spc.text import MAX_USER_NAME, literal
from spc.ui import data

SESSION_KEY = "spc_session"          # the local session (spc.auth.new_session)
COOKIE = "spc_session"               # the browser's signed copy, so a reload or a link keeps the sign-in
_COOKIE_WRITE = "spc_cookie_write"   # a token to store in the browser, or "" to clear it, on this run
_COOKIE_IGNORED = "spc_cookie_ignored"  # this tab signed out (its request still carries the old cookie)
_NOTICE_KEY = "spc_signin_notice"    # why someone was signed out, shown once
_OIDC_SEEN = "spc_oidc_seen"         # the OpenID Connect sign-in already recorded


def settings() -> AuthConfig:
    """The sign-in settings from the app's secrets; none configured when there is no secrets file."""
    try:
        secrets = st.secrets.to_dict()
    except (FileNotFoundError, KeyError, OSError):
        secrets = {}
    except Exception as exc:  # a malformed secrets.toml: say so, and run read-only
        st.error(f"The sign-in settings in .streamlit/secrets.toml could not be read ({exc}); "
                 "the app is read-only until they are fixed.")
        return AuthConfig()
    try:
        return auth.auth_config(secrets)
    except SpcError as exc:
        st.error(f"Sign-in settings: {exc}; the app is read-only until they are fixed.")
        return AuthConfig()


@st.cache_data(show_spinner=False, ttl=30)
def _local_accounts(path: str, key: tuple[int, int] | None) -> bool:
    return data.local_accounts_exist(path)


def local_enabled(path: str) -> bool:
    """True when the store has local accounts, so the sign-in form is offered."""
    return _local_accounts(path, data.stamp(path))


def _forget() -> None:
    """Forget the local session here and in the browser's cookie."""
    st.session_state.pop(SESSION_KEY, None)
    st.session_state[_COOKIE_IGNORED] = True
    st.session_state[_COOKIE_WRITE] = ""


def _end(path: str, who: Identity, why: str, action: str) -> None:
    """Forget a session that is no longer good, tell the person why, and log it."""
    _forget()
    st.session_state[_NOTICE_KEY] = why
    data.record_event(path, who, "refused", detail={"action": action, "why": why})


def current(path: str) -> Identity:
    """Who is asking, worked out afresh for this request; ANONYMOUS when nobody has signed in
    (or a session ended, was not genuine, or names an account that is gone)."""
    cfg = settings()
    if cfg.oidc and st.user.get("is_logged_in"):
        claims: dict[str, Any] = st.user.to_dict()
        name = str(claims.get("email") or claims.get("sub") or "unknown")[:MAX_USER_NAME]
        if auth.oidc_session_ended(claims, cfg.session_hours):
            if st.session_state.get(_OIDC_SEEN) != "ended":
                st.session_state[_OIDC_SEEN] = "ended"
                data.record_event(path, Identity(name, "viewer", "oidc"), "refused",
                                  detail={"action": "use a session", "why": "single sign-on session ended"})
            st.session_state[_NOTICE_KEY] = (f"Your sign-in has ended (sessions last {cfg.session_hours:g} hours); "
                                             "please sign out and sign in again.")
            return ANONYMOUS
        try:
            who = auth.oidc_identity(claims, cfg)
        except Refused as exc:
            if st.session_state.get(_OIDC_SEEN) != "refused":
                st.session_state[_OIDC_SEEN] = "refused"
                data.record_event(path, Identity(name, "viewer", "oidc"), "sign_in_failed", subject=name,
                                  detail={"why": str(exc)})
            st.session_state[_NOTICE_KEY] = str(exc)
            return ANONYMOUS
        if st.session_state.get(_OIDC_SEEN) != who.name:
            st.session_state[_OIDC_SEEN] = who.name
            # one event per sign-in at the provider (its time), not per browser tab
            data.record_event(path, who, "sign_in", once=True, subject=who.name,
                              detail={"signed_in_at": claims.get("auth_time") or claims.get("iat")})
        return who
    session = st.session_state.get(SESSION_KEY)
    if session is None:
        token = None if st.session_state.get(_COOKIE_IGNORED) else st.context.cookies.get(COOKIE)
        if not isinstance(token, str) or not token:   # (AppTest's stand-in client gives a mock)
            return ANONYMOUS
        try:   # a new tab, a reload or a link: the browser's signed cookie carries the sign-in
            session = data.session_from_cookie(path, token)
        except Refused as exc:
            _end(path, Identity("unknown", "viewer", "local"), f"{str(exc)[0].upper()}{str(exc)[1:]}.",
                 "use a sign-in cookie")
            return ANONYMOUS
        st.session_state[SESSION_KEY] = session
    named = str(session.get("name", "unknown"))[:MAX_USER_NAME] if isinstance(session, dict) else "unknown"
    if not isinstance(session, dict) or session.get("method") != "local":
        _end(path, Identity(named, "viewer", "local"), "That session is not one this app made; please sign in again.",
             "use a session")
        return ANONYMOUS
    try:
        return data.identity_now(path, session, cfg.session_hours)
    except Refused as exc:
        _end(path, Identity(named, "viewer", "local"), f"{str(exc)[0].upper()}{str(exc)[1:]}.", "use a session")
        return ANONYMOUS


def _sign_in_local(path: str) -> None:
    """The form's submit: check the name and password; a refusal says only that one was wrong."""
    name = st.session_state.get("signin_name", "")
    password = st.session_state.get("signin_password", "")
    result = data.sign_in(path, name, password)
    st.session_state["signin_password"] = ""   # never kept in the session once checked
    if result is None:
        st.session_state[_NOTICE_KEY] = "Wrong name or password."
        return
    st.session_state[SESSION_KEY] = result[1]
    st.session_state[_COOKIE_IGNORED] = False
    st.session_state[_COOKIE_WRITE] = data.session_cookie(path, result[1])
    st.session_state["signin_name"] = ""


def _sign_out(path: str, who: Identity) -> None:
    data.record_event(path, who, "sign_out", subject=who.name)
    _forget()


def _change_password(path: str, who: Identity) -> None:
    """The form's submit: a new password ends this sign-in (and every other), so sign in again."""
    now, new, again = (st.session_state.get(k, "") for k in ("own_pw_now", "own_pw_new", "own_pw_again"))
    if new != again:
        st.session_state[_NOTICE_KEY] = "The two new passwords differ; nothing was changed."
        return
    try:
        data.accounts(path, auth.change_own_password, who, now, new)
    except SpcError as exc:
        st.session_state[_NOTICE_KEY] = f"{str(exc)[0].upper()}{str(exc)[1:]}."
        return
    _forget()
    st.session_state[_NOTICE_KEY] = "Password changed: sign in with the new one."


def _browser_cookie(hours: float) -> None:
    """Store (or clear) the signed sign-in token in the browser: SameSite=Strict, Secure over HTTPS.

    Streamlit cannot set a cookie from Python, so a line of script does it; the token is
    base64url and hex only, so it cannot break out of the string.
    """
    token = st.session_state.pop(_COOKIE_WRITE, None)
    if token is None:
        return
    age = int(hours * 3600) if token else 0
    st.html(f"<script>document.cookie = '{COOKIE}={token}; path=/; max-age={age}; SameSite=Strict'"
            " + (location.protocol === 'https:' ? '; Secure' : '');</script>", unsafe_allow_javascript=True)


def sidebar(path: str, who: Identity) -> None:
    """Who is signed in, with Sign out; or the ways to sign in (nothing when none is set up)."""
    cfg = settings()
    _browser_cookie(cfg.session_hours)
    notice = st.session_state.pop(_NOTICE_KEY, None)
    if notice:
        st.warning(literal(notice))
    if who.method != "anonymous":
        st.markdown(f"Signed in as **{literal(who.name)}** ({who.role})")
        if who.method == "oidc":
            if st.button("Sign out", key="sign_out"):
                data.record_event(path, who, "sign_out", subject=who.name)
                st.session_state.pop(_OIDC_SEEN, None)
                st.logout()
        else:
            st.button("Sign out", key="sign_out", on_click=_sign_out, args=(path, who))
            with st.expander("Change your password"), st.form("own_password_form", clear_on_submit=True,
                                                                border=False):
                for key, label in (("own_pw_now", "Current password"), ("own_pw_new", "New password"),
                                   ("own_pw_again", "New password again")):
                    st.text_input(label, key=key, type="password", max_chars=auth.MAX_PASSWORD,
                                  autocomplete="current-password" if key == "own_pw_now" else "new-password")
                st.form_submit_button("Change password", on_click=_change_password, args=(path, who))
        return
    if st.session_state.get(_OIDC_SEEN) in ("ended", "refused") and st.user.get("is_logged_in"):
        if st.button("Sign out", key="sign_out"):
            st.session_state.pop(_OIDC_SEEN, None)
            st.logout()
        return
    if cfg.oidc and st.button(f"Sign in with {literal(cfg.provider_label)}", key="sign_in_oidc"):
        # None: the provider set in [auth] itself; a name: the provider in [auth.NAME]
        st.login(cfg.provider)
    if local_enabled(path):
        with st.form("sign_in_form", clear_on_submit=False, border=False):
            st.text_input("Name", key="signin_name", max_chars=64, autocomplete="username")
            st.text_input("Password", key="signin_password", type="password", max_chars=auth.MAX_PASSWORD,
                          autocomplete="current-password")
            st.form_submit_button("Sign in", on_click=_sign_in_local, args=(path,))



def sign_in_page(path: str) -> None:
    """The whole page when `[spc_auth] require_sign_in` is on and nobody has signed in."""
    st.title("Indicator monitoring")
    if settings().oidc or local_enabled(path):
        st.info("Please sign in to see the indicators.", icon="🔒")
        sidebar(path, ANONYMOUS)
    else:
        st.error("Sign-in is required (`require_sign_in` in .streamlit/secrets.toml) but no way to sign in is "
                 "set up: add an account with `spc users add NAME --role viewer`, or set up single sign-on.")
