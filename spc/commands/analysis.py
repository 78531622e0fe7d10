"""`spc trend` and `spc compare`: the trend, seasonality and honest-comparison views for analysts.

INPUT is the `spc chart` input: CSV or Parquet with `period` (ISO date) and `value`, or
`numerator` and `denominator`, and optionally `series`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from spc.errors import SpcError

FORMATS = ("csv", "json")
TREND_TABLES = ("trend", "rolling", "seasonality", "adjusted", "expected", "checks", "change-points")


def read_input(path: Path) -> pl.DataFrame:
    """Read a CSV or Parquet input file into the normalised series frame (see spc.trend).

    Raises SpcError naming the file, row and column for anything a user can fix.
    """
    from spc.engine_input import SINGLE_SERIES
    from spc.trend import as_series_frame

    if not path.exists():
        raise SpcError(f"{path}: file not found")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            raw = pl.read_parquet(path)
        else:
            raw = pl.read_csv(path, infer_schema_length=0)  # all text: we check every value ourselves
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise SpcError(f"{path}: cannot read as {'Parquet' if path.suffix.lower() in ('.parquet', '.pq') else 'CSV'} ({str(exc).splitlines()[0]})") from None
    if raw.height == 0:
        raise SpcError(f"{path}: no data rows")
    for col in ("value", "numerator", "denominator"):
        if col in raw.columns:
            as_text = raw[col].cast(pl.String).str.strip_chars()
            bad = raw.with_row_index("_row").filter(
                as_text.is_not_null() & (as_text != "") & as_text.cast(pl.Float64, strict=False).is_null()
            )
            if bad.height:
                row = bad.row(0, named=True)
                raise SpcError(f"{path}: row {row['_row'] + 2}, column '{col}': expected a number, got {row[col]!r}")
            raw = raw.with_columns(as_text.cast(pl.Float64, strict=False).alias(col))
    if "series" not in raw.columns:
        # one series: named as `spc chart` names it, so every table's series column is filled
        raw = raw.with_columns(series=pl.lit(SINGLE_SERIES))
    return as_series_frame(raw, source=str(path))


def _parse_month_or_date(text: str, *, end: bool) -> dt.date:
    text = text.strip()
    try:
        if len(text) == 7:  # YYYY-MM: the whole month
            d = dt.date.fromisoformat(text + "-01")
            if end:
                nxt = dt.date(d.year + d.month // 12, d.month % 12 + 1, 1)
                return nxt - dt.timedelta(days=1)
            return d
        return dt.date.fromisoformat(text)
    except ValueError:
        raise SpcError(f"expected a date YYYY-MM-DD or a month YYYY-MM, got {text!r}") from None


def parse_window(text: str) -> tuple[dt.date, dt.date]:
    """'2024-01:2024-03', '2024-01-01:2024-03-31', '2024-02' or '2024-02-01' -> (start, end)."""
    start, _, stop = text.partition(":")
    return _parse_month_or_date(start, end=False), _parse_month_or_date(stop or start, end=True)


def _jsonable(frame: pl.DataFrame) -> list[dict]:
    rows = frame.to_dicts()
    for r in rows:
        for k, v in r.items():
            if isinstance(v, (dt.date, dt.datetime)):
                r[k] = v.isoformat()
            elif isinstance(v, float) and not math.isfinite(v):
                r[k] = None
    return rows


def _csv_ready(frame: pl.DataFrame) -> pl.DataFrame:
    # CSV has no lists: join list columns with " | "
    return frame.with_columns(
        [pl.col(c).list.join(" | ") for c, t in frame.schema.items() if isinstance(t, pl.List)]
    )


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
    else:
        try:
            output.write_text(text)
        except OSError as exc:
            raise SpcError(f"{output}: cannot write ({exc.strerror})") from None


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise SpcError(f"--format {fmt!r}: expected csv or json")


InputArg = Annotated[
    Path | None,
    typer.Argument(help="CSV or Parquet: series, period, value (or numerator, denominator). Omit with --indicator.",
                   show_default=False),
]
DbOpt = Annotated[Path | None, typer.Option("--db", help="Database (with --indicator; default $SPC_DB, else indicators.duckdb).", show_default=False)]
IndicatorOpt = Annotated[list[str] | None, typer.Option("--indicator", help="Read this indicator from the database (repeatable).", show_default=False)]
AreaOpt = Annotated[list[str] | None, typer.Option("--area", help="With --indicator: only these area codes (repeatable).", show_default=False)]


def load_data(input: Path | None, db: Path | None, indicators: list[str] | None, areas: list[str] | None) -> pl.DataFrame:
    """The input file, or with --indicator the stored observations (series 'indicator|area')."""
    if input is not None and indicators:
        raise SpcError("give an INPUT file or --indicator, not both")
    if input is not None:
        return read_input(input)
    if not indicators:
        raise SpcError("missing INPUT: give a CSV or Parquet file, or --indicator ID to read the database")
    from spc.config import db_path
    from spc.store import connect
    from spc.store.queries import load_observations
    from spc.trend import as_series_frame

    path = db_path(db)
    if not Path(path).exists():
        raise SpcError(f"{path}: database not found (run `spc db init` first)")
    con = connect(path, read_only=True)
    try:
        obs = load_observations(con, indicators, areas or None)
    finally:
        con.close()
    if obs.height == 0:
        raise SpcError(f"{path}: no observations for indicator(s) {', '.join(indicators)}"
                       + (f" in area(s) {', '.join(areas)}" if areas else ""))
    frame = obs.select(pl.concat_str("indicator_id", "area_code", separator="|").alias("series"),
                       "period", "value", "numerator", "denominator")
    return as_series_frame(frame, source=str(path))


FormatOpt = Annotated[str, typer.Option("--format", help="csv or json.")]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of standard output.")]


def trend_command(
    input: InputArg = None,
    db: DbOpt = None,
    indicator: IndicatorOpt = None,
    area: AreaOpt = None,
    window: Annotated[int, typer.Option(help="Trend window in months (0: the whole series).")] = 36,
    rolling_months: Annotated[int, typer.Option("--rolling", help="Months in the rolling total or rate.")] = 12,
    table: Annotated[str, typer.Option(help="CSV output table: " + ", ".join(TREND_TABLES) + ".")] = "trend",
    adjust_seasonality: Annotated[
        bool, typer.Option("--adjust-seasonality", help="Look for change points in seasonally adjusted (STL) values.")
    ] = False,
    alpha: Annotated[float, typer.Option(help="Significance level.")] = 0.05,
    fmt: FormatOpt = "csv",
    output: OutputOpt = None,
) -> None:
    """Long-term trend (Theil-Sen + Mann-Kendall allowing for autocorrelation, or seasonal Kendall
    for a seasonal series; a step when one fits better than a line), seasonality, expected
    range for the latest point, data checks and change-point suggestions for every series.

    JSON holds every table; CSV holds the one chosen with --table. Nothing is rebased or
    adjusted in place: seasonally adjusted values are their own labelled table.
    """
    from spc import trend as tr

    _check_format(fmt)
    if table not in TREND_TABLES:
        raise SpcError(f"--table {table!r}: expected one of {', '.join(TREND_TABLES)}")
    if window < 0 or rolling_months < 1:
        raise SpcError("--window must be 0 or more and --rolling at least 1")
    if not 0 < alpha < 1:
        raise SpcError(f"--alpha {alpha}: expected a number between 0 and 1")
    data = load_data(input, db, indicator, area)
    tables: dict[str, object] = {
        "trend": lambda: tr.long_term_trend(data, window=window or None, alpha=alpha),
        "rolling": lambda: tr.rolling(data, months=rolling_months),
        "seasonality": lambda: tr.seasonality(data),
        "adjusted": lambda: _adjusted_or_empty(data),
        "expected": lambda: tr.expected_range(data),
        "checks": lambda: tr.data_checks(data),
        "change-points": lambda: tr.change_points(data, adjust_seasonality=adjust_seasonality),
    }
    if fmt == "csv":
        _emit(_csv_ready(tables[table]()).write_csv(), output)  # type: ignore[operator]
        return
    doc = {name.replace("-", "_"): _jsonable(make()) for name, make in tables.items()}  # type: ignore[operator]
    _emit(json.dumps(doc, indent=2) + "\n", output)


def _adjusted_or_empty(data: pl.DataFrame) -> pl.DataFrame:
    """Seasonally adjusted values for the series long enough to adjust (others are skipped)."""
    from spc import trend as tr

    ok = tr.seasonality(data).filter(pl.col("seasonal_strength").is_not_null())["series"]
    part = data.filter(pl.col("series").is_in(ok.implode()))
    if part.height == 0:
        return pl.DataFrame(schema={"series": pl.String, "period": pl.Date, "value": pl.Float64,
                                    "value_original": pl.Float64, "seasonal": pl.Float64, "adjustment": pl.String})
    return tr.seasonally_adjust(part)


def compare_command(
    input: InputArg = None,
    db: DbOpt = None,
    indicator: IndicatorOpt = None,
    area: AreaOpt = None,
    current: Annotated[
        str | None, typer.Option(help="Current window START:END (YYYY-MM or YYYY-MM-DD), e.g. 2024-04:2025-03.")
    ] = None,
    previous: Annotated[str | None, typer.Option(help="Previous window (default: the current one a year earlier).")] = None,
    kind: Annotated[str, typer.Option(help="auto, count, proportion, rate or mean.")] = "auto",
    funnel: Annotated[bool, typer.Option("--funnel", help="Funnel plot of areas for one --period: with --indicator, counts per 1,000 residents (or the stored numerator over denominator); with an INPUT file, its series' numerator over denominator.")] = False,
    change: Annotated[bool, typer.Option("--change", help="Funnel mode: each area's count against its own count a year earlier (change, not level; needs no population).")] = False,
    period: Annotated[str | None, typer.Option(help="Funnel mode: the period (YYYY-MM or a range START:END summed).")] = None,
    level: Annotated[str | None, typer.Option("--level", help="Funnel mode with --indicator: district (the local areas of a force) or force (the forces of a store of many). Default: district in a store of one force or with --force, else force.", show_default=False)] = None,
    force: Annotated[str | None, typer.Option("--force", help="Funnel mode with --indicator: whose local areas (or, with --group msg, whose most similar group).", show_default=False)] = None,
    group: Annotated[str | None, typer.Option("--group", help="Funnel mode with --indicator: msg, a force and its most similar group of forces (with --force in a store of many forces).", show_default=False)] = None,
    overdispersion: Annotated[str, typer.Option(help="Funnel mode: auto, additive, multiplicative or none.")] = "auto",
    figure: Annotated[Path | None, typer.Option(help="Funnel mode: also write the plot (.html, or .png/.svg/.pdf).")] = None,
    alpha: Annotated[float, typer.Option(help="Significance level for two-period comparisons.")] = 0.05,
    fmt: FormatOpt = "csv",
    output: OutputOpt = None,
) -> None:
    """Honest comparisons: two periods of every series with an interval and a verdict
    ('not beyond normal variation' or beyond it), or with --funnel a Spiegelhalter funnel plot
    of areas for one period with 95% and 99.8% limits: with --indicator, each area's count per
    1,000 residents (the local areas of a force, the forces, or a force's most similar group),
    or with --change each area's count against its own a year earlier."""
    from spc import compare as cp

    _check_format(fmt)
    if not 0 < alpha < 1:
        raise SpcError(f"--alpha {alpha}: expected a number between 0 and 1")
    chose_areas = [name for name, v in (("--level", level), ("--force", force), ("--group", group)) if v is not None]
    if not funnel and (change or chose_areas):
        raise SpcError(f"{(['--change'] if change else chose_areas)[0]} is a funnel option: add --funnel and --period")
    if funnel:
        if period is None:
            raise SpcError("--funnel needs --period (the month, or START:END to sum over)")
        start, end = parse_window(period)
        if input is None and indicator:
            store_funnel(db, indicator, area, start, end, level=level, force=force, group=group, change=change,
                         kind=kind, overdispersion=overdispersion, figure=figure, fmt=fmt, output=output)
            return
        if chose_areas:
            raise SpcError(f"{chose_areas[0]} chooses areas of the database: use it with --indicator, not an INPUT file")
        data = load_data(input, db, indicator, area)
        rows = data.filter(pl.col("period").is_between(start, end))
        if rows.height == 0:
            raise SpcError(f"{input or 'database'}: no rows with a period from {start} to {end}")
        if data["denominator"].is_null().all():
            if kind != "count" and not change:
                raise SpcError(f"{input or 'database'}: a funnel plot needs numerator and denominator columns "
                               "(or --change, to compare each series' count with a year earlier)")
            # counts: each series against itself a year earlier (conditional binomial funnel)
            from spc.compare.periods import _shift_year

            before = data.filter(pl.col("period").is_between(_shift_year(start, -1), _shift_year(end, -1)))
            units = (rows.group_by("series").agg(pl.col("value").sum().alias("current"))
                     .join(before.group_by("series").agg(pl.col("value").sum().alias("previous")),
                           on="series", how="left")
                     .with_columns(pl.col("previous").fill_null(0)))
            f = cp.funnel_change(units, unit="series", overdispersion=overdispersion)
        else:
            units = rows.group_by("series").agg(pl.col("numerator").sum(), pl.col("denominator").sum())
            fkind = "rate" if kind == "rate" or (units["numerator"] > units["denominator"]).any() else "proportion"
            f = cp.funnel(units, unit="series", kind=fkind, overdispersion=overdispersion)
        if figure is not None:
            _write_figure(cp.funnel_figure(f, title=f"{input.stem if input else ', '.join(indicator or [])}: {start} to {end}"),
                          figure)
        if fmt == "csv":
            _emit(f.units.write_csv(), output)
            return
        _emit(json.dumps(_funnel_doc(f, _jsonable(f.units)), indent=2) + "\n", output)
        return
    data = load_data(input, db, indicator, area)
    if current is None:
        latest = data["period"].max()
        current = f"{latest:%Y-%m}"
    cur = parse_window(current)
    prev = parse_window(previous) if previous else None
    from spc.timeliness import infer_frequency

    # the periods are named in the data's own grain ('a quarter over 4')
    result = cp.compare_periods(data, cur, prev, kind=kind, alpha=alpha,
                                frequency=infer_frequency(data["period"]))
    if fmt == "csv":
        _emit(result.write_csv(), output)
    else:
        _emit(json.dumps({"comparisons": _jsonable(result)}, indent=2) + "\n", output)


def _funnel_doc(f, units: list[dict]) -> dict:
    return {
        "target": f.target, "kind": f.kind, "phi": f.phi, "tau2": f.tau2,
        "overdispersed": f.overdispersed, "adjustment": f.adjustment, "notes": f.notes, "scale": f.scale,
        "units": units, "limits": _jsonable(f.limits),
    }


def _write_figure(fig, figure: Path) -> None:
    try:
        if figure.suffix.lower() == ".html":
            fig.write_html(figure)
        else:
            fig.write_image(figure)
    except (OSError, ValueError) as exc:
        raise SpcError(f"{figure}: cannot write the figure ({str(exc).splitlines()[0]})") from None


def _window_text(start: dt.date, end: dt.date) -> str:
    first, last = f"{start:%b %Y}", f"{end:%b %Y}"
    return first if first == last else f"{first} to {last}"


def store_funnel(db: Path | None, indicators: list[str], areas: list[str] | None, start: dt.date, end: dt.date, *,
                 level: str | None, force: str | None, group: str | None, change: bool, kind: str,
                 overdispersion: str, figure: Path | None, fmt: str, output: Path | None) -> None:
    """`spc compare --indicator ID --funnel`: a funnel of the store's areas (spc.compare.areas)."""
    from spc import compare as cp
    from spc.compare.areas import read_store

    if len(indicators) != 1:
        raise SpcError("--funnel compares the areas for one indicator: give --indicator once")
    if areas:
        raise SpcError("--area does not apply to --funnel: the areas are chosen with --level, --force or --group")
    ind = indicators[0]
    store = read_store(db, ind, with_peers=group is not None)
    units = cp.choose_units(store.areas, store.area_forces, level=level, force=force, group=group, peers=store.peers)
    obs = store.observations
    has_den = obs.height > 0 and obs["denominator"].is_not_null().all()
    if change:
        made = cp.change_funnel(obs, units, start, end, overdispersion=overdispersion)
        value_label, size_label = "ratio to a year earlier", "incidents in both windows (this year and a year earlier)"
    elif has_den:
        rows = obs.filter(pl.col("period").is_between(start, end))
        fkind = ("rate" if kind == "rate" or (rows["numerator"] > rows["denominator"]).any() else "proportion")
        made = cp.ratio_funnel(obs, units, start, end, kind=fkind, overdispersion=overdispersion)
        value_label, size_label = "", "denominator"
    else:
        made = cp.rate_funnel(obs, store.populations, units, start, end, overdispersion=overdispersion)
        value_label, size_label = "per 1,000 residents", "resident population"
    for note in made.notes:
        typer.echo(f"note: {note}", err=True)
    if figure is not None:
        title = f"{store.indicator_name}: {units.description}, {_window_text(start, end)}"
        _write_figure(cp.funnel_figure(made.funnel, title=title, value_label=value_label, size_label=size_label,
                                       percent=None if has_den and not change else False), figure)
    if fmt == "csv":
        _emit(made.table.write_csv(), output)
        return
    doc = {"indicator": ind, "view": made.view, "areas": units.description, "level": units.level,
           "force": units.force, "start": start.isoformat(), "end": end.isoformat(),
           **_funnel_doc(made.funnel, _jsonable(made.table)), "notes": made.notes}
    _emit(json.dumps(doc, indent=2) + "\n", output)


def register(app: typer.Typer) -> None:
    """Add `spc trend` and `spc compare` to the `spc` command."""
    app.command("trend")(trend_command)
    app.command("compare")(compare_command)
