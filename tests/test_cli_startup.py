"""`spc --help` and `spc chart` on a small file do not import the heavy libraries they do not
need (statsmodels, scipy, plotly, streamlit, ruptures, argon2): each runs in a fresh Python
process and the modules it loaded are read from ``sys.modules`` (behaviour, not timing: the
times are in benchmarks/cli.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("statsmodels", "scipy", "plotly", "streamlit", "ruptures", "argon2")

# run the real entry point, then list which heavy top-level packages got imported
_WRAPPER = """
import json, sys
from spc.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
sys.stderr.write(json.dumps({"code": code, "heavy": sorted(
    {m.split(".")[0] for m in sys.modules} & set(WATCH))}) + "\\n")
"""


def _imports(*args: str, cwd: Path, watch: tuple[str, ...] = HEAVY) -> tuple[int, list[str]]:
    """Run ``spc ARGS`` in a new process: its exit code and which packages of ``watch`` it
    imported."""
    wrapper = f"WATCH = {watch!r}\n" + _WRAPPER
    done = subprocess.run([sys.executable, "-c", wrapper, *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"] or 0, report["heavy"]


@pytest.fixture
def small_csv(tmp_path: Path) -> Path:
    path = tmp_path / "small.csv"
    rows = [f"2024-{m:02d}-01,{v}" for m, v in zip(range(1, 13), (5, 7, 6, 8, 5, 9, 7, 6, 8, 7, 6, 5))]
    path.write_text("period,value\n" + "\n".join(rows) + "\n")
    return path


def test_every_command_is_mapped_to_its_module() -> None:
    from spc.cli import COMMANDS, build_app
    from typer.main import get_command

    assert set(get_command(build_app()).commands) == set(COMMANDS)
    for name, module in COMMANDS.items():
        assert name in get_command(build_app((module,))).commands


def test_help_imports_no_heavy_library(tmp_path: Path) -> None:
    code, heavy = _imports("--help", cwd=tmp_path)
    assert code == 0
    assert heavy == []


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_chart_on_a_small_file_imports_no_heavy_library(small_csv: Path, tmp_path: Path,
                                                        fmt: str) -> None:
    out = tmp_path / f"out.{fmt}"
    code, heavy = _imports("chart", str(small_csv), "--format", fmt, "--output", str(out),
                           cwd=tmp_path)
    assert code == 0 and out.stat().st_size > 0
    assert heavy == []
    # nor the store: a chart of a file needs no database
    code, modules = _imports("chart", str(small_csv), "--output", str(out), cwd=tmp_path,
                             watch=("duckdb",))
    assert modules == []
