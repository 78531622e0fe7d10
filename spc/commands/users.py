"""`spc users add/list/remove/passwd/role` (local accounts) and `spc audit` (the audit trail)."""

from __future__ import annotations

import datetime as dt
import sys
from getpass import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from spc import audit
from spc.config import db_path
from spc.errors import SpcError
from spc.store import connect, migrate, transaction

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="Database file (default: $SPC_DB, else indicators.duckdb).", show_default=False),
]

users_app = typer.Typer(help="Local accounts for signing in to the app (roles: viewer, analyst, admin).",
                        no_args_is_help=True)


def _read_password(confirm: bool = True) -> str:
    """The new password: typed twice at a hidden prompt, or the first line of stdin when piped.

    Never a command-line argument, which anyone on the machine could read in `ps`.
    """
    from spc import auth

    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\r\n")
        return auth.check_password(line)
    first = auth.check_password(getpass("Password: "))
    if confirm and getpass("Password again: ") != first:
        raise SpcError("the two passwords differ; nothing was changed")
    return first


def _write(db: Path | None, action, *args) -> None:
    """Run one account change as the store's administrator (the person at the command line)."""
    from spc import auth

    con = connect(db_path(db))
    try:
        migrate(con)
        with transaction(con):
            action(con, auth.cli_identity(), *args)
    finally:
        con.close()


@users_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Account name people type to sign in (lower case).")],
    role: Annotated[str, typer.Option("--role", help="viewer, analyst or admin.")] = "analyst",
    db: DbOption = None,
) -> None:
    """Add a local account; the password is asked for (or read from stdin), and stored as an argon2id hash."""
    from spc import auth

    name, role = auth.normalise_name(name), auth.check_role(role)
    _write(db, auth.add_user, name, role, _read_password())
    typer.echo(f"added {name} ({role})")


@users_app.command("list")
def list_(db: DbOption = None) -> None:
    """The local accounts, their roles and when each last signed in."""
    from spc import auth

    con = connect(db_path(db), read_only=True)
    try:
        users = auth.list_users(con) if auth.has_accounts(con) else None
    finally:
        con.close()
    if users is None:
        typer.echo("no local accounts (add one with `spc users add NAME --role analyst`)")
        return
    table = Table("name", "role", "created", "password set", "last sign-in")
    for u in users.iter_rows(named=True):
        table.add_row(u["name"], u["role"], f"{u['created_at']:%Y-%m-%d %H:%M}", f"{u['password_set_at']:%Y-%m-%d %H:%M}",
                      f"{u['last_sign_in']:%Y-%m-%d %H:%M}" if u["last_sign_in"] else "never")
    Console().print(table)


@users_app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="Account name.")], db: DbOption = None) -> None:
    """Remove a local account (its open sessions end at their next request)."""
    from spc import auth

    _write(db, auth.remove_user, name)
    typer.echo(f"removed {auth.normalise_name(name)}")


@users_app.command("passwd")
def passwd(name: Annotated[str, typer.Argument(help="Account name.")], db: DbOption = None) -> None:
    """Set a new password (asked for, or read from stdin); sessions signed in before it end."""
    from spc import auth

    _write(db, auth.set_password, name, _read_password())
    typer.echo(f"password changed for {auth.normalise_name(name)}")


@users_app.command("role")
def role(name: Annotated[str, typer.Argument(help="Account name.")],
         new_role: Annotated[str, typer.Argument(metavar="ROLE", help="viewer, analyst or admin.")],
         db: DbOption = None) -> None:
    """Change an account's role."""
    from spc import auth

    _write(db, auth.set_role, name, new_role)
    typer.echo(f"{auth.normalise_name(name)} is now {new_role}")


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise SpcError(f"{option} {value!r}: expected a date, YYYY-MM-DD") from None


def audit_command(
    db: DbOption = None,
    since: Annotated[str | None, typer.Option("--since", help="From this date (YYYY-MM-DD, UTC), inclusive.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Before this date (YYYY-MM-DD, UTC).")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Only this person's events.")] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", help=f"Only these kinds (repeatable): {', '.join(audit.KINDS)}.")] = None,
    indicator: Annotated[str | None, typer.Option("--indicator", help="Only events about this indicator.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or csv.")] = "table",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (CSV).")] = None,
) -> None:
    """Every change and refusal the store records, newest first: who, when, what and why."""
    if fmt not in ("table", "csv"):
        raise SpcError(f"--format must be table or csv, got {fmt!r}")
    start, end = _date(since, "--since"), _date(until, "--until")
    con = connect(db_path(db), read_only=True)
    try:
        exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'audit_event'").fetchall()[0][0]
        if not exists:
            raise SpcError(f"{db_path(db)}: no audit trail yet; run `spc db init --db {db_path(db)}` to update the store")
        events = audit.events(con, since=start, until=end, user=user, kinds=kind, indicator_id=indicator)
    finally:
        con.close()
    if fmt == "csv" or output is not None:
        text = audit.to_csv(events)
        if output is None:
            typer.echo(text, nl=False)
        else:
            output.write_text(text, encoding="utf-8")
            typer.echo(f"wrote {events.height} events to {output}", err=True)
        return
    table = Table()
    for heading in ("when (UTC)", "who", "how", "what", "indicator", "area", "subject", "why"):
        table.add_column(heading, overflow="fold")   # wrap, never cut: every character is evidence
    for e in events.iter_rows(named=True):
        # Text: what people typed is shown as typed, never read as rich markup
        table.add_row(*(Text(str(v)) for v in (
            f"{e['happened_at']:%Y-%m-%d %H:%M:%S}", e["actor"], e["method"], e["kind"], e["indicator_id"] or "",
            e["area_code"] or "", e["subject"] or "", (e["reason"] or e["detail"] or "")[:120])))
    Console(highlight=False).print(table)
    if not events.height:
        typer.echo("no events match")


def register(app: typer.Typer) -> None:
    """Add the account and audit commands to the `spc` command."""
    app.add_typer(users_app, name="users")
    app.command("audit")(audit_command)
