"""The audit trail: one append-only row in `audit_event` for every change and every refusal.

Who, when, what and why for chart settings, recalculations, exclusions, annotations,
withdrawals and reinstatements, recomputes, catalogue reloads, accounts and sign-ins, and for
every request that was refused (a wrong password, an ended session, a viewer asking to write,
an over-long note). This module only ever inserts: nothing in spc updates or deletes a row.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from spc.errors import SpcError
from spc.store.observations import now
from spc.store.queries import frame
from spc.text import MAX_ANNOTATION_TEXT, MAX_REASON, TooLong, check_length

if TYPE_CHECKING:
    from spc.auth import Identity

LOG = logging.getLogger("spc.audit")

#: Every kind of event, and what it means (the audit page and `spc audit --kind` offer these).
KINDS: dict[str, str] = {
    "setting": "chart settings saved",
    "setting_cleared": "chart settings back to the catalogue's",
    "annotation": "recalculation, exclusion, intervention or note added",
    "withdraw": "annotation withdrawn",
    "reinstate": "annotation reinstated",
    "recompute": "indicator recomputed by hand",
    "catalogue_reload": "indicator catalogue reloaded",
    "user_add": "account added",
    "user_remove": "account removed",
    "user_passwd": "password changed",
    "user_role": "role changed",
    "sign_in": "signed in",
    "sign_out": "signed out",
    "sign_in_failed": "sign-in refused",
    "refused": "request refused",
}
#: Changes to what the charts show; the kinds an analyst sees on the audit page.
CHART_KINDS = ("setting", "setting_cleared", "annotation", "withdraw", "reinstate", "recompute",
               "catalogue_reload")

COLUMNS = ("id", "happened_at", "actor", "method", "role", "kind", "indicator_id", "area_code", "subject",
           "reason", "detail")


def check_reason(reason: str | None, what: str = "reason", limit: int = MAX_REASON) -> str:
    """The reason (or note) stripped of surrounding space; SpcError when it is empty or longer than
    `limit` (spc.text's limits): refused whole, never cut."""
    text = (reason or "").strip()
    if not text:
        raise SpcError(f"please give a {what}, so others can see why")
    try:
        check_length(f"the {what}", text, limit)
    except TooLong as exc:
        raise SpcError(f"{exc}; nothing was saved") from None
    return text


def record(con: duckdb.DuckDBPyConnection, who: Identity, kind: str, *, indicator_id: str | None = None,
           area_code: str | None = None, subject: str | None = None, reason: str | None = None,
           detail: dict[str, Any] | None = None) -> int:
    """Append one event (inside the caller's transaction, so it commits with the change). Returns its id."""
    if kind not in KINDS:
        raise ValueError(f"unknown audit kind {kind!r}")
    LOG.info("%s %s by %s (%s)%s", kind, subject or indicator_id or "", who.name, who.method,
             f": {detail}" if kind in ("refused", "sign_in_failed") else "")
    return int(con.execute(
        "INSERT INTO audit_event (happened_at, actor, method, role, kind, indicator_id, area_code, subject, "
        "reason, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        [now(), who.name, who.method, who.role, kind, indicator_id, area_code, subject,
         reason if reason is None else reason[:MAX_ANNOTATION_TEXT],
         None if detail is None else json.dumps(detail, default=str, sort_keys=True)]).fetchall()[0][0])


def events(con: duckdb.DuckDBPyConnection, *, since: dt.date | dt.datetime | None = None,
           until: dt.date | dt.datetime | None = None, user: str | None = None,
           kinds: Sequence[str] | None = None, indicator_id: str | None = None) -> pl.DataFrame:
    """Audit events, newest first, filtered by time (since inclusive, until exclusive), actor, kind
    and indicator."""
    unknown = sorted(set(kinds or ()) - set(KINDS))
    if unknown:
        raise SpcError(f"unknown kind {', '.join(unknown)}; known: {', '.join(KINDS)}")
    where, params = [], []
    if since is not None:
        where.append("happened_at >= ?")
        params.append(since)
    if until is not None:
        where.append("happened_at < ?")
        params.append(until)
    if user:
        where.append("lower(actor) = lower(?)")
        params.append(user.strip())
    if kinds:
        where.append(f"kind IN ({', '.join('?' for _ in kinds)})")
        params.extend(kinds)
    if indicator_id:
        where.append("indicator_id = ?")
        params.append(indicator_id)
    sql = f"SELECT {', '.join(COLUMNS)} FROM audit_event"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return frame(con, sql + " ORDER BY id DESC", params)


def to_csv(table: pl.DataFrame) -> str:
    """The events as CSV (UTF-8, ISO timestamps), as `spc audit --format csv` and the page download write."""
    return table.write_csv(datetime_format="%Y-%m-%dT%H:%M:%S")
