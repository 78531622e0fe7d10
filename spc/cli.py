"""The `spc` command. Each command group lives in `spc/commands/`; this module wires them up
and turns user mistakes into one line and a non-zero exit.

A run imports only the module of the command it runs (`spc chart` never loads DuckDB, the
importers or the account code); `spc --help`, or a name that is no command, loads them all.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from spc import __version__
from spc.errors import SpcError

# Command modules, each with `register(app)`. Listed by name so a module still being built
# (or missing an optional dependency) does not stop the rest of the CLI from working.
COMMAND_MODULES = ("db", "chart", "analysis", "ingest", "refresh", "users")
#: the module registering each top-level command (tests/test_cli_startup.py checks it is whole)
COMMANDS = {"db": "db", "demo-data": "db", "export": "db", "chart": "chart",
            "trend": "analysis", "compare": "analysis", "import": "ingest",
            "refresh": "refresh", "brief": "refresh", "users": "users", "audit": "users"}


def _db_defaults(command: Any, db: str) -> dict[str, Any]:
    """A click ``default_map`` giving ``--db`` the value ``db`` in every (sub)command that
    takes it: the subcommand's own ``--db`` still wins, being on its command line.

    ``command`` is typer's command or group (its own click, so groups are told by their
    ``commands``, not by class)."""
    subcommands = getattr(command, "commands", None)
    if subcommands is not None:
        return {name: _db_defaults(sub, db) for name, sub in subcommands.items()}
    return {"db": db} if any(p.name == "db" for p in command.params) else {}


def _show_version(value: bool) -> None:
    """``--version``: print the version and stop before any command runs."""
    if value:
        typer.echo(f"spc {__version__}")
        raise typer.Exit()


def root(
    ctx: typer.Context,
    db: Annotated[Path | None, typer.Option(
        "--db", help="Database file for every command (default: $SPC_DB, else "
                     "indicators.duckdb); `spc COMMAND --db PATH` works too.",
        show_default=False)] = None,
    version: Annotated[bool, typer.Option(
        "--version", callback=_show_version, is_eager=True,
        help="Show the version and exit.")] = False,
) -> None:
    """Indicator monitoring with statistical process control."""
    if db is not None:
        # the default the subcommands read: `spc --db PATH COMMAND` = `spc COMMAND --db PATH`
        ctx.default_map = _db_defaults(ctx.command, str(db))


def build_app(modules: tuple[str, ...] = COMMAND_MODULES) -> typer.Typer:
    """The `spc` app with the root options and the commands of ``modules``."""
    app = typer.Typer(name="spc", help="Indicator monitoring with statistical process control.",
                      no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
    app.callback()(root)  # with a callback typer keeps a group even with one command
    for name in modules:
        try:
            module = importlib.import_module(f"spc.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"spc.commands.{name}":
                raise
            continue
        module.register(app)
    return app


def _modules_for(argv: list[str]) -> tuple[str, ...]:
    """The command modules a run with ``argv`` needs: its command's, or all of them (help, or
    a name that is no command, so the parser can list the commands)."""
    args = iter(argv)
    for arg in args:
        if arg == "--db":
            next(args, None)  # the option's value, not a command
        elif not arg.startswith("-"):
            return (COMMANDS[arg],) if arg in COMMANDS else COMMAND_MODULES
    return COMMAND_MODULES


def __getattr__(name: str) -> Any:
    """``spc.cli.app``: the whole app, every command registered (for tests and embedding)."""
    if name == "app":
        return build_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _unwrap(text: str | None) -> str | None:
    """A docstring's paragraphs each on one line, for the help to wrap to the terminal: typer
    keeps a docstring's line breaks and then wraps each line again, so at 80 columns a
    paragraph written at 100 comes out ragged. Paragraphs of indented, listed or table lines
    (and click's ``\\b`` no-rewrap marker) are kept as written."""
    if not text:
        return text

    def join(paragraph: str) -> str:
        lines = paragraph.splitlines()
        kept = any(line.startswith((" ", "-", "*", "|", "\b")) or line[:2].rstrip(".").isdigit()
                   for line in lines)
        return paragraph if kept else " ".join(line.strip() for line in lines)
    body, cut, rest = inspect.cleandoc(text).partition("\f")
    return "\n\n".join(join(p) for p in body.split("\n\n")) + cut + rest


def _unwrap_help(command: Any) -> Any:
    """`command` (a click command or group) with every (sub)command's help unwrapped."""
    command.help = _unwrap(command.help)
    for sub in (getattr(command, "commands", None) or {}).values():
        _unwrap_help(sub)
    return command


def main(argv: list[str] | None = None) -> int:
    """Run the `spc` command with `argv` (default: the process arguments); return the exit code.

    User mistakes (`SpcError`) become one line on stderr, never a traceback.
    """
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        command = _unwrap_help(typer.main.get_command(build_app(_modules_for(argv))))
        result = command(args=argv, standalone_mode=False)
    except SpcError as exc:
        print(f"spc: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("spc: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        # Usage errors from the command-line parser: show them as the parser would, exit 2.
        show = getattr(exc, "show", None)
        if callable(show) and hasattr(exc, "exit_code"):
            show()
            return int(exc.exit_code)
        raise
    return result if isinstance(result, int) else 0


def console() -> None:
    """The console script: run `main` and exit with its code."""
    sys.exit(main())


if __name__ == "__main__":
    console()
