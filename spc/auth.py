"""Who may change what: roles, local accounts, OpenID Connect role mapping, sessions.

Three roles, each including the one before: **viewer** (every reading page and the briefing
pack), **analyst** (the Analyst controls: chart settings, recalculations, annotations,
withdrawals), **admin** (accounts and reloading the catalogue).

People sign in one of two ways, both configured in `.streamlit/secrets.toml` (see
`.streamlit/secrets.example.toml`):

* OpenID Connect through Streamlit's own `st.login` (`[auth]`, Streamlit's section), with roles
  from an e-mail allow-list or a token claim (`[spc_auth]`, read by `auth_config`);
* local accounts kept in the store (`app_user`), made with `spc users add NAME --role ROLE`.
  Passwords are hashed with argon2id (argon2-cffi), each with its own salt.

Anyone who has not signed in may read, as a viewer (unless `[spc_auth] require_sign_in`). Every write checks the role again at the point of
writing (`authorize`, inside the write's own transaction), so hiding a page is never the check.
This module knows nothing of Streamlit; `spc.ui.signin` is the app's side.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import getpass
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from spc import audit
from spc.errors import SpcError
from spc.store.observations import now
from spc.store.queries import frame

ROLES = ("viewer", "analyst", "admin")
_RANK = {role: i for i, role in enumerate(ROLES)}
#: Account names: what people type at sign-in; lower case, letters, digits and . _ - @.
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
#: How long a wrong password waits before it is refused (seconds): slows guessing, and the same
#: wait whether or not the account exists, so the answer gives no hint.
FAILED_SIGN_IN_DELAY = 1.0
#: A signed-in session ends after this many hours (`[spc_auth] session_hours` changes it).
SESSION_HOURS = 8.0

_HASHER = PasswordHasher()  # argon2id, RFC 9106 low-memory parameters, 16-byte random salt


class Refused(SpcError):
    """A request the signed-in person (or nobody) may not make; nothing was written."""


@dataclass(frozen=True)
class Identity:
    """Who is asking: a name, a role and how they proved it (local, oidc, cli or anonymous)."""

    name: str
    role: str
    method: str
    email: str | None = None

    def can(self, role: str) -> bool:
        """True when this identity holds `role` or a higher one."""
        return self.method != "anonymous" and _RANK[self.role] >= _RANK[role]


ANONYMOUS = Identity("anonymous", "viewer", "anonymous")


def cli_identity() -> Identity:
    """The person at the command line: whoever can open the store's file is its administrator."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Identity(user, "admin", "cli")


def check_role(role: str) -> str:
    """The role, checked against ROLES."""
    if role not in _RANK:
        raise SpcError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    return role


def normalise_name(name: str) -> str:
    """An account name as stored (trimmed, lower case); SpcError when it is not a valid name."""
    clean = (name or "").strip().lower()
    if not NAME_PATTERN.match(clean):
        raise SpcError(f"account name {name[:70]!r}: use 1 to 64 letters, digits and . _ - @, "
                       "starting with a letter or digit")
    return clean


def check_password(password: str) -> str:
    """The password, refused when too short or absurdly long."""
    if len(password or "") < MIN_PASSWORD:
        raise SpcError(f"the password must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise SpcError(f"the password must be at most {MAX_PASSWORD} characters")
    return password


# --------------------------------------------------------------------------------------------
# local accounts
# --------------------------------------------------------------------------------------------


def _account(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, Any] | None:
    rows = frame(con, "SELECT * FROM app_user WHERE name = ?", [name])
    return rows.row(0, named=True) if rows.height else None


def list_users(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Local accounts (name, role, created_at, password_set_at, last_sign_in), never the hashes."""
    return frame(con, "SELECT name, role, created_at, password_set_at, last_sign_in FROM app_user ORDER BY name")


def has_accounts(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the store has at least one local account (so local sign-in is offered)."""
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'app_user'").fetchall()[0][0]
    return bool(exists) and bool(con.execute("SELECT count(*) FROM app_user").fetchall()[0][0])


def add_user(con: duckdb.DuckDBPyConnection, who: Identity, name: str, role: str, password: str) -> str:
    """Create a local account (inside the caller's transaction); returns the stored name."""
    authorize(con, who, "admin", action="add an account")
    name, role = normalise_name(name), check_role(role)
    if _account(con, name):
        raise SpcError(f"account {name!r} already exists (use `spc users passwd` or `spc users role`)")
    stamp = now()
    con.execute("INSERT INTO app_user (name, role, password_hash, created_at, password_set_at) VALUES (?, ?, ?, ?, ?)",
                [name, role, _HASHER.hash(check_password(password)), stamp, stamp])
    audit.record(con, who, "user_add", subject=name, detail={"role": role})
    return name


def remove_user(con: duckdb.DuckDBPyConnection, who: Identity, name: str) -> None:
    """Remove a local account; its sessions end at their next request."""
    authorize(con, who, "admin", action="remove an account")
    name = normalise_name(name)
    if not _account(con, name):
        raise SpcError(f"no account {name!r} (see `spc users list`)")
    con.execute("DELETE FROM app_user WHERE name = ?", [name])
    audit.record(con, who, "user_remove", subject=name)


def set_password(con: duckdb.DuckDBPyConnection, who: Identity, name: str, password: str) -> None:
    """Set a new password (an admin for anyone; a signed-in person for themselves). Ends older sessions."""
    name = normalise_name(name)
    if not (who.method == "local" and who.name == name):
        authorize(con, who, "admin", action="change another person's password")
    if not _account(con, name):
        raise SpcError(f"no account {name!r} (see `spc users list`)")
    con.execute("UPDATE app_user SET password_hash = ?, password_set_at = ? WHERE name = ?",
                [_HASHER.hash(check_password(password)), now(), name])
    audit.record(con, who, "user_passwd", subject=name)


def change_own_password(con: duckdb.DuckDBPyConnection, who: Identity, current: str, new: str) -> None:
    """A signed-in local account changes its own password, giving the current one first."""
    account = _account(con, who.name) if who.method == "local" else None
    if account is None:
        raise Refused("only a local account can change its password here")
    try:
        _HASHER.verify(account["password_hash"], current or "")
    except (VerificationError, InvalidHashError):
        raise Refused("the current password is wrong; nothing was changed") from None
    set_password(con, who, who.name, new)


def set_role(con: duckdb.DuckDBPyConnection, who: Identity, name: str, role: str) -> None:
    """Change a local account's role (takes effect at the account's next request)."""
    authorize(con, who, "admin", action="change a role")
    name, role = normalise_name(name), check_role(role)
    account = _account(con, name)
    if not account:
        raise SpcError(f"no account {name!r} (see `spc users list`)")
    con.execute("UPDATE app_user SET role = ? WHERE name = ?", [role, name])
    audit.record(con, who, "user_role", subject=name, detail={"from": account["role"], "to": role})


def sign_in(con: duckdb.DuckDBPyConnection, name: str, password: str) -> tuple[Identity, dict[str, Any]] | None:
    """Check a local account's password; on success the identity and the session to keep.

    A wrong password, an unknown name or an invalid name all take the same path: a hash is
    verified either way (against a dummy when there is no account) and the attempt is logged as
    `sign_in_failed`. The caller then waits (`refuse_slowly`) outside its transaction, so the
    answer comes no sooner for an unknown name than for a wrong password.
    """
    try:
        clean = normalise_name(name)
    except SpcError:
        clean = None
    account = _account(con, clean) if clean else None
    stored = account["password_hash"] if account else _dummy_hash()
    try:
        ok = _HASHER.verify(stored, password or "") and account is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        attempted = (clean or (name or "").strip()[:64]) or "(blank)"
        audit.record(con, Identity(attempted, "viewer", "local"), "sign_in_failed",
                     subject=attempted, detail={"why": "wrong name or password"})
        return None
    if _HASHER.check_needs_rehash(stored):
        con.execute("UPDATE app_user SET password_hash = ? WHERE name = ?", [_HASHER.hash(password), clean])
    con.execute("UPDATE app_user SET last_sign_in = ? WHERE name = ?", [now(), clean])
    who = Identity(clean, account["role"], "local")
    audit.record(con, who, "sign_in", subject=clean)
    return who, new_session("local", clean, password_set_at=account["password_set_at"])


def refuse_slowly(started: float, delay: float = FAILED_SIGN_IN_DELAY) -> None:
    """Wait until `delay` seconds after `started` (time.monotonic) before answering a failed sign-in."""
    time.sleep(max(0.0, delay - (time.monotonic() - started)))


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    """A hash of nothing anyone knows, verified when the account does not exist (same cost)."""
    if not _DUMMY:
        _DUMMY.append(_HASHER.hash("no such account: this hash only spends time"))
    return _DUMMY[0]


# --------------------------------------------------------------------------------------------
# sessions
# --------------------------------------------------------------------------------------------


def new_session(method: str, name: str, *, password_set_at: dt.datetime | None = None,
                issued_at: float | None = None) -> dict[str, Any]:
    """What the app keeps (server side, in the Streamlit session) for a signed-in person.

    No role: the role is read again from the store or the identity provider on every request.
    """
    return {"method": method, "name": name, "issued_at": time.time() if issued_at is None else issued_at,
            "password_set_at": password_set_at.isoformat() if password_set_at else None}


def _sign(password_hash: str, payload: str) -> str:
    # keyed by the account's own salted hash: a secret only the store holds, which changes with
    # the password, so a new password also ends every browser's remembered sign-in
    key = hashlib.sha256(b"spc local session\0" + password_hash.encode()).digest()
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def session_token(con: duckdb.DuckDBPyConnection, session: Mapping[str, Any]) -> str:
    """The session as a signed token for the browser's cookie (it still holds no role)."""
    account = _account(con, str(session["name"]))
    if account is None:
        raise Refused("no such account")
    payload = base64.urlsafe_b64encode(json.dumps(dict(session), sort_keys=True).encode()).decode().rstrip("=")
    return f"{payload}.{_sign(account['password_hash'], payload)}"


def session_from_token(con: duckdb.DuckDBPyConnection, token: str) -> dict[str, Any]:
    """The session a cookie's token carries; Refused unless this store signed it (then
    `resolve_local` decides whether it is still good)."""
    try:
        payload, signature = token.split(".")
        session = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        name = str(session["name"])
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise Refused("the sign-in cookie is not one this app made; please sign in again") from None
    account = _account(con, name) if NAME_PATTERN.match(name) else None
    if account is None or not hmac.compare_digest(signature, _sign(account["password_hash"], payload)):
        raise Refused("the sign-in cookie is not one this app made; please sign in again")
    return session


def resolve_local(con: duckdb.DuckDBPyConnection, session: Mapping[str, Any],
                  hours: float = SESSION_HOURS) -> Identity:
    """The identity a local session stands for now; Refused when it has ended or is not genuine.

    It has ended when older than `hours`, or when the password was changed since; it is not
    genuine when its account does not exist or its fields are not what `new_session` makes.
    """
    try:
        name, issued = str(session["name"]), float(session["issued_at"])
        set_at = session.get("password_set_at")
    except (KeyError, TypeError, ValueError):
        raise Refused("the session is not one this app made; please sign in again") from None
    if time.time() - issued > hours * 3600 or issued > time.time() + 60:
        raise Refused(f"your session has ended (sessions last {hours:g} hours); please sign in again")
    account = _account(con, name) if NAME_PATTERN.match(name) else None
    if account is None:
        raise Refused("the session names no account here; please sign in again")
    if set_at != account["password_set_at"].isoformat():
        raise Refused("the password was changed since you signed in; please sign in again")
    return Identity(name, account["role"], "local")


# --------------------------------------------------------------------------------------------
# OpenID Connect role mapping
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthConfig:
    """Sign-in settings from `.streamlit/secrets.toml`: Streamlit's `[auth]` and spc's `[spc_auth]`."""

    oidc: bool = False                     # [auth] names an OpenID Connect provider
    provider: str | None = None            # the st.login argument: None for [auth] itself, else [auth.NAME]
    provider_label: str = "single sign-on"
    admins: frozenset[str] = frozenset()   # e-mail addresses (lower case)
    analysts: frozenset[str] = frozenset()
    viewers: frozenset[str] = frozenset()  # used only with allow_any_account = false
    allow_any_account: bool = True         # anyone the provider signs in is at least a viewer
    require_sign_in: bool = False          # every page needs a signed-in viewer (else anyone may read)
    role_claim: str | None = None          # e.g. "roles" (Entra ID app roles) or "groups"
    claim_roles: Mapping[str, str] = field(default_factory=dict)  # claim value -> role
    session_hours: float = SESSION_HOURS


def auth_config(secrets: Mapping[str, Any]) -> AuthConfig:
    """Read the sign-in settings from the secrets (a mapping like `st.secrets`); SpcError when wrong."""
    section = dict(secrets.get("auth") or {})
    mine = dict(secrets.get("spc_auth") or {})
    providers = [k for k, v in section.items() if isinstance(v, Mapping) and "client_id" in v]
    provider = mine.get("provider")
    if provider is None and "client_id" not in section and providers:
        provider = providers[0]
    oidc = bool(section) and ("client_id" in section or bool(providers))

    def emails(key: str) -> frozenset[str]:
        value = mine.get(key) or []
        if isinstance(value, str):
            value = [value]
        return frozenset(str(v).strip().lower() for v in value)

    claim_roles = {str(k): check_role(str(v)) for k, v in dict(mine.get("claim_roles") or {}).items()}
    if mine.get("role_claim") and not claim_roles:
        claim_roles = {role: role for role in ROLES}   # the claim holds spc's own role names
    return AuthConfig(
        oidc=oidc, provider=provider, provider_label=str(mine.get("provider_label") or "single sign-on"),
        admins=emails("admins"), analysts=emails("analysts"), viewers=emails("viewers"),
        allow_any_account=bool(mine.get("allow_any_account", True)),
        require_sign_in=bool(mine.get("require_sign_in", False)), role_claim=mine.get("role_claim"),
        claim_roles=claim_roles, session_hours=float(mine.get("session_hours", SESSION_HOURS)))


def oidc_identity(claims: Mapping[str, Any], config: AuthConfig) -> Identity:
    """The identity for a person the OpenID Connect provider signed in (their token's claims).

    The role is the highest of: the e-mail allow-lists, and the role claim's values mapped by
    `claim_roles`. Refused when `allow_any_account` is off and neither gives a role.
    """
    email = str(claims.get("email") or claims.get("preferred_username") or "").strip().lower() or None
    name = email or str(claims.get("sub") or "")
    if not name:
        raise Refused("the identity provider gave neither an e-mail address nor a subject")
    roles = []
    if email in config.admins:
        roles.append("admin")
    if email in config.analysts:
        roles.append("analyst")
    if email in config.viewers or config.allow_any_account:
        roles.append("viewer")
    if config.role_claim:
        values = claims.get(config.role_claim) or []
        values = [values] if isinstance(values, str) else list(values)
        roles += [config.claim_roles[str(v)] for v in values if str(v) in config.claim_roles]
    if not roles:
        raise Refused(f"{name} may not use this app; ask an administrator to add you")
    return Identity(name, max(roles, key=_RANK.__getitem__), "oidc", email)


def oidc_session_ended(claims: Mapping[str, Any], hours: float) -> bool:
    """True when the provider's sign-in (`iat`, else `auth_time`) is older than `hours`."""
    issued = claims.get("auth_time") or claims.get("iat")
    try:
        return issued is not None and time.time() - float(issued) > hours * 3600
    except (TypeError, ValueError):
        return True


# --------------------------------------------------------------------------------------------
# the check at the point of writing
# --------------------------------------------------------------------------------------------


def authorize(con: duckdb.DuckDBPyConnection, who: Identity, role: str, *, action: str) -> Identity:
    """Check, inside the write's transaction, that `who` holds `role` now; Refused otherwise.

    A local account's role is read again from the store (it may have been removed or changed
    since the page was drawn); the CLI is trusted as the store's owner; an OpenID Connect
    identity was resolved from the signed identity cookie in this same request.
    """
    current = who
    if who.method == "local":
        account = _account(con, who.name)
        current = Identity(who.name, account["role"], "local") if account else ANONYMOUS
    if not current.can(role):
        held = "not signed in" if current.method == "anonymous" else f"signed in as {current.role}"
        raise Refused(f"only an {role} may {action} ({who.name} is {held}); nothing was saved")
    return current
