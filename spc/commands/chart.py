"""`spc chart`: analyse a CSV or Parquet file of one or many series, write CSV or JSON.

The contract is in DESIGN.md ("The `spc chart` contract"); the analysis is
:func:`spc.engine.analyse`, so the command and the Python API give the same answers.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from spc.charts import CHARTS
from spc.engine import Analysis, SeriesSpec, analyse
from spc.errors import SpcError


#: the chart types, from the engine's registry (one list for the API, the command and the app)
Chart = enum.Enum("Chart", {name: name for name in CHARTS}, type=str)


class Improvement(str, enum.Enum):
    increase = "increase"
    decrease = "decrease"
    neutral = "neutral"


class TwoSigma(str, enum.Enum):
    current = "current"
    legacy = "legacy"


class RuleSet(str, enum.Enum):
    mdc = "mdc"
    western_electric = "western_electric"
    nelson = "nelson"


class Frequency(str, enum.Enum):
    week = "week"
    month = "month"
    quarter = "quarter"
    year = "year"


class OutputFormat(str, enum.Enum):
    csv = "csv"
    json = "json"
    parquet = "parquet"


def read_input(path: Path) -> pl.DataFrame:
    """Read INPUT (Parquet by extension, CSV otherwise) with a ``_line`` column giving the
    file row of each record (header = row 1), so errors can name it. CSV is read as text
    and typed by the engine, which names the first value it cannot read."""
    if not path.exists():
        raise SpcError(f"{path}: no such file")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pl.read_parquet(path)
            first_line = 1
        else:
            frame = pl.read_csv(path, infer_schema=False)
            first_line = 2
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise SpcError(f"{path}: cannot read it as {path.suffix.lstrip('.') or 'CSV'} "
                       f"({str(exc).splitlines()[0]})") from None
    frame = frame.rename({c: c.strip().lower() for c in frame.columns})
    return frame.with_row_index("_line", offset=first_line)


def _clean(value: Any) -> Any:
    """JSON-safe scalars: ISO dates, null for NaN."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def to_json(result: Analysis) -> dict[str, Any]:
    """The JSON document of the contract: points, and per series its summary and phases."""
    phases: dict[str, list[dict[str, Any]]] = {}
    for row in result.phases.iter_rows(named=True):
        phases.setdefault(row["series"], []).append(
            {k: _clean(v) for k, v in row.items() if k != "series"})
    series = [{**{k: _clean(v) for k, v in row.items()}, "phases": phases.get(row["series"], [])}
              for row in result.summary.iter_rows(named=True)]
    points = [{k: _clean(v) for k, v in row.items()} for row in result.points.iter_rows(named=True)]
    return {"points": points, "series": series}


def write_points(result: Analysis, fmt: OutputFormat, output: Path | None) -> None:
    """Write the analysis as ``fmt`` to ``output`` (stdout when None).

    CSV and Parquet are streamed by polars straight to the file or stdout, never built as
    one string first (at 6 million points the string cost more than the analysis).
    """
    if output is None:
        sys.stdout.flush()  # anything already written to the text stream goes first
        sink = sys.stdout.buffer
    else:
        sink = output
    try:
        if fmt is OutputFormat.json:
            text = json.dumps(to_json(result), indent=1) + "\n"
            if output is None:
                sys.stdout.write(text)
            else:
                output.write_text(text)
        elif fmt is OutputFormat.parquet:
            result.points.write_parquet(sink)
        else:
            result.points.write_csv(sink)
    except OSError as exc:
        raise SpcError(f"{output}: cannot write ({exc.strerror})") from None
    if output is None:
        sys.stdout.flush()


def run_chart(input: Path, spec: SeriesSpec, fmt: OutputFormat, output: Path | None) -> Analysis:
    """Read, analyse and write; returns the analysis (for callers and tests)."""
    frame = read_input(input)
    try:
        result = analyse(frame, spec)
    except SpcError as exc:
        raise SpcError(f"{input}: {exc}") from None
    write_points(result, fmt, output)
    return result


def register(app: typer.Typer) -> None:
    """Add the ``chart`` command to ``app``."""

    @app.command("chart")
    def chart(
        input: Annotated[Path, typer.Argument(help="CSV or Parquet: period, value (or numerator "
                                              "and denominator), optional series; for xbar and "
                                              "s, one row per measurement")],
        chart: Annotated[Chart, typer.Option(help="chart type")] = Chart.xmr,
        improvement: Annotated[Improvement, typer.Option(help="direction of improvement")]
        = Improvement.neutral,
        target: Annotated[float | None, typer.Option(help="target, for the assurance icon")] = None,
        rebase: Annotated[list[str] | None, typer.Option(
            help="date starting a new phase (repeatable)")] = None,
        baseline_points: Annotated[int | None, typer.Option(
            help="limits from the first N points of each phase")] = None,
        exclude: Annotated[list[str] | None, typer.Option(
            help="date drawn but left out of the limits (repeatable)")] = None,
        screen_outliers: Annotated[bool, typer.Option(
            "--screen-outliers/--no-screen-outliers", help="moving-range screening")] = True,
        two_sigma: Annotated[TwoSigma, typer.Option(help="2 of 3 rule logic")] = TwoSigma.current,
        shift: Annotated[int, typer.Option(help="points in a shift (6 to 8)")] = 7,
        trend: Annotated[int, typer.Option(help="points in a trend (6 to 8)")] = 7,
        rule_set: Annotated[RuleSet, typer.Option(help="rule set")] = RuleSet.mdc,
        frequency: Annotated[Frequency | None, typer.Option(
            help="period grain, for gaps (default: the series' smallest step)")] = None,
        break_at_gaps: Annotated[bool, typer.Option(
            "--break-at-gaps/--no-break-at-gaps",
            help="rules, runs and moving ranges do not cross missing periods (off: rows are "
                 "adjacent, as NHSRplotthedots and qicharts2)")] = True,
        ewma_lambda: Annotated[float, typer.Option(
            help="EWMA weight λ of the latest value (0 < λ ≤ 1; 0.05 to 0.3 usual)")] = 0.2,
        cusum_h: Annotated[float, typer.Option(
            help="CUSUM decision interval h in sigmas (4 or 5; k is 0.5 sigma)")] = 5.0,
        reference_centre: Annotated[float | None, typer.Option(
            help="EWMA and CUSUM: known process mean (default: each phase's mean)")] = None,
        reference_sigma: Annotated[float | None, typer.Option(
            help="EWMA and CUSUM: known process sigma (default: MR-bar / 1.128)")] = None,
        multiply: Annotated[float, typer.Option(
            help="p, pp, u, up: show per N of the denominator (1000: per 1,000)")] = 1.0,
        seasonal_limits: Annotated[bool, typer.Option(
            "--seasonal-limits/--no-seasonal-limits",
            help="centre and limits per calendar month (3 years of each month needed)")] = False,
        format: Annotated[OutputFormat, typer.Option("--format", help="output format")]
        = OutputFormat.csv,
        output: Annotated[Path | None, typer.Option(
            help="write here instead of stdout (parquet: the points frame)")] = None,
    ) -> None:
        """Control chart of every series in INPUT: points with limits, rules and icons."""
        spec = SeriesSpec(chart=chart.value, improvement=improvement.value, target=target,
                          rebase=tuple(rebase or ()), baseline_points=baseline_points,
                          exclude=tuple(exclude or ()), screen_outliers=screen_outliers,
                          two_sigma=two_sigma.value, shift=shift, trend=trend,
                          rule_set=rule_set.value,
                          frequency=frequency.value if frequency else None,
                          break_at_gaps=break_at_gaps, ewma_lambda=ewma_lambda,
                          cusum_h=cusum_h, reference_centre=reference_centre,
                          reference_sigma=reference_sigma, multiplier=multiply,
                          seasonal_limits=seasonal_limits)
        run_chart(input, spec, format, output)
