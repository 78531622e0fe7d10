"""The `spc` command. Each command group lives in `spc/commands/`; this module wires them up
turns user mistakes into one line and a non-zero exit."""

from __future__ import annotations

import importlib
import sys

import typer

from spc.errors import SpcError

app = typer.Typer(
    name="spc",
    help="Indicator monitoring with statistical process control.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command modules, each with `register(app)`. Listed by name so a module still being built
# (or missing an optional dependency) does not stop the rest of the CLI from working.
COMMAND_MODULES = ("db", "chart", "analysis", "ingest", "refresh", "users")

for _name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(f"spc.commands.{_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"spc.commands.{_name}":
            raise
        continue
    _module.register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the `spc` command with `argv` (default: the process arguments); return the exit code.

    User mistakes (`SpcError`) become one line on stderr, never a traceback.
    """
    try:
        result = app(args=argv, standalone_mode=False)
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
