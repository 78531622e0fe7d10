"""`spc refresh` (the scheduled pipeline) and `spc brief` (the briefing pack)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from spc.config import DATA_DIR, db_path
from spc.errors import SpcError

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="Database file (default: $SPC_DB, else indicators.duckdb).", show_default=False),
]


def refresh(
    db: DbOption = None,
    sources: Annotated[Path, typer.Option("--sources", help="Sources file (TOML): importers, folders, indicators.")]
    = DATA_DIR / "sources.toml",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Import and compute in memory; write nothing.")] = False,
    only: Annotated[list[str] | None, typer.Option("--only", help="Recompute this indicator only (repeatable).")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the digest as JSON on stdout.")] = False,
    notify_command: Annotated[str | None, typer.Option(
        "--notify-command", help="Shell command that receives the Markdown digest on stdin (mail, chat script).")]
    = None,
    log_file: Annotated[Path | None, typer.Option(
        "--log-file", help="Append structured JSON-lines logs here (default: <db>.refresh.log).")] = None,
    wait: Annotated[float, typer.Option(
        "--wait", min=0, help="Seconds to wait for a refresh already running (default: stop at once).")] = 0.0,
    digest_dir: Annotated[Path | None, typer.Option(
        "--digest-dir", help="Folder for refresh-<run>.md/.json (default: digests/ beside the database).")] = None,
) -> int:
    """Import new files, recompute, record signals, write the digest.

    Exit codes: 0 success, 1 failure, 2 usage error, 3 success with new concern signals.
    """
    from spc.refresh import run_refresh

    path = db_path(db)
    outcome = run_refresh(path, sources, dry_run=dry_run, only=only or None, wait_seconds=wait,
                          log_file=log_file or path.with_name(path.name + ".refresh.log"),
                          digest_dir=digest_dir, notify_command=notify_command)
    if as_json:
        typer.echo(json.dumps(outcome.digest, indent=2, default=str))
    else:
        typer.echo(outcome.markdown, nl=False)
        typer.echo(f"digest: {outcome.digest_paths[0]}")
    if outcome.error:
        print(f"spc: error: refresh failed: {outcome.error}", file=sys.stderr)
    for error in outcome.digest.get("errors", []):
        if error != outcome.error:
            print(f"spc: warning: {error}", file=sys.stderr)
    return outcome.exit_code


def brief(
    period: Annotated[str | None, typer.Option(
        "--period", help="Reporting month YYYY-MM: data up to its end (default: the latest loaded).")] = None,
    indicators: Annotated[list[str] | None, typer.Option(
        "--indicators", help="Indicator ids, repeatable or comma-separated (default: all with results).")] = None,
    area: Annotated[str | None, typer.Option("--area", help="Area code (default: the force-wide area).")] = None,
    force: Annotated[str | None, typer.Option(
        "--force", help="The force, in a store of many (police.uk name, e.g. west-midlands); "
                        "a store of one force needs none.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="briefing.pdf or briefing.html.")] = Path("briefing.pdf"),
    db: DbOption = None,
    title: Annotated[str | None, typer.Option("--title", help="Title on the cover.")] = None,
) -> None:
    """Write the briefing pack: a cover summary, then one page per indicator (PDF or HTML)."""
    from spc.brief import build_brief

    if out.suffix.lower() not in (".pdf", ".html", ".htm"):
        raise SpcError(f"--out {out}: expected a .pdf or .html file name", exit_code=2)
    ids = [i.strip() for value in (indicators or []) for i in value.split(",") if i.strip()] or None
    written = build_brief(db_path(db), out, period=period, indicator_ids=ids, area=area, title=title,
                          force=force)
    typer.echo(f"wrote {written.path} ({written.pages} indicator pages)")


def register(app: typer.Typer) -> None:
    """Add `spc refresh` and `spc brief` to the `spc` command."""
    app.command("refresh")(refresh)
    app.command("brief")(brief)
