"""Gaps in the periods: rules, runs and moving ranges are not counted across missing periods.

A gap (one or more periods missing between two points of a series) cuts a phase into run
segments. The limits are still computed over the whole phase, but a shift, trend, 2 of 3,
Western Electric or Nelson pattern, an Anhøj run or crossing, and a moving range never join
the points either side of a gap. ``break_at_gaps=False`` counts rows as adjacent, as
NHSRplotthedots and qicharts2 do.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from spc.commands import chart as chart_command
from spc.engine import SeriesSpec, analyse
from spc.errors import SpcError

CASES = json.loads((Path(__file__).resolve().parents[2] / "shared" / "reference"
                    / "peer_cases.json").read_text())
REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"


def month(i: int, start: dt.date = dt.date(2018, 1, 1)) -> dt.date:
    """The i-th month after ``start`` (0 is ``start``)."""
    k = start.year * 12 + start.month - 1 + i
    return dt.date(k // 12, k % 12 + 1, 1)


def frame(values: list[float], gap_after: int | None = None, missing: int = 5) -> pl.DataFrame:
    """Monthly points; with ``gap_after`` = k, ``missing`` months are left out after point k."""
    periods = [month(i + (missing if gap_after is not None and i >= gap_after else 0))
               for i in range(len(values))]
    return pl.DataFrame({"period": periods, "value": [float(v) for v in values]})


# common-cause background: alternating around 11, so no pattern of its own; BEFORE ends and
# AFTER starts below the average, so a run planted between them has exactly its own length
BEFORE = [13, 9] * 6
AFTER = [9, 13] * 4


def rules(values: list[float], gap_after: int | None = None, **spec: object) -> list[str]:
    return analyse(frame(values, gap_after), SeriesSpec(**spec)).points["rule"].to_list()


def test_a_shift_broken_by_a_gap_does_not_fire_and_the_same_run_without_it_does() -> None:
    values = BEFORE + [12] * 7 + AFTER
    assert rules(values).count("7 Points Above CL") == 7
    # the same seven points, four before a gap of five missing months and three after it
    assert "7 Points Above CL" not in rules(values, gap_after=16)
    assert rules(values, gap_after=16, break_at_gaps=False).count("7 Points Above CL") == 7


def test_a_trend_broken_by_a_gap_does_not_fire() -> None:
    values = BEFORE + [8, 9, 10, 11, 12, 13, 14] + AFTER
    assert rules(values).count("7 Point Trend (Increasing)") == 7
    assert not any("Trend" in r for r in rules(values, gap_after=15))


def test_two_of_three_beyond_two_sigma_do_not_pair_across_a_gap() -> None:
    values = BEFORE * 2 + [13, 20, 20] + AFTER  # 20 lies between 2σ (19.0) and 3σ (22.7)
    assert rules(values).count("2 in 3 Above CL") == 2
    assert "2 in 3 Above CL" not in rules(values, gap_after=26)


@pytest.mark.parametrize(("rule_set", "label"), [("western_electric", "8 Points Above CL"),
                                                 ("nelson", "9 Points Above CL")])
def test_classic_rule_sets_do_not_count_a_run_across_a_gap(rule_set: str, label: str) -> None:
    values = BEFORE + [12] * 9 + AFTER
    assert label in rules(values, rule_set=rule_set)
    assert label not in rules(values, gap_after=17, rule_set=rule_set)


def test_anhoj_runs_and_crossings_are_counted_within_segments() -> None:
    values = BEFORE + [12] * 10 + AFTER  # mean 11.33: no point on the centre line
    whole = analyse(frame(values), SeriesSpec()).phases.row(0, named=True)
    cut = analyse(frame(values, gap_after=17), SeriesSpec()).phases.row(0, named=True)
    assert whole["longest_run"] == 10 > whole["longest_run_max"] and whole["runs_signal"]
    # two runs of five either side of the gap: no run signal
    assert cut["longest_run"] == 5 and not cut["runs_signal"]
    # the step across the gap is not a crossing, nor a chance to cross: 28 pairs, not 29
    assert cut["crossings"] == whole["crossings"]
    from spc.rules.anhoj import thresholds
    assert whole["crossings_min"] == thresholds(np.array([30]))[1][0]
    assert cut["crossings_min"] == thresholds(np.array([30]), np.array([28]))[1][0]


def test_a_moving_range_across_a_gap_is_not_used_for_the_limits() -> None:
    before, after = [10.0, 12.0, 11.0, 13.0, 12.0], [30.0, 32.0, 31.0, 33.0]
    pts = analyse(frame(before + after, gap_after=5), SeriesSpec(screen_outliers=False)).points
    within = np.abs(np.diff(before)).tolist() + np.abs(np.diff(after)).tolist()
    mrbar = float(np.mean(within))  # the 18-point jump across the gap is left out
    centre = float(np.mean(before + after))
    assert pts["centre"][0] == pytest.approx(centre)
    assert pts["upper"][0] == pytest.approx(centre + 2.66 * mrbar)
    # off: the range across the gap counts, as in the peers' row-adjacent moving ranges
    joined = analyse(frame(before + after, gap_after=5),
                     SeriesSpec(screen_outliers=False, break_at_gaps=False)).points
    assert joined["upper"][0] == pytest.approx(
        centre + 2.66 * float(np.mean(np.abs(np.diff(before + after)))))


def test_gap_before_counts_missing_periods_in_the_series_grain() -> None:
    quarters = [dt.date(2020, 1, 1), dt.date(2020, 4, 1), dt.date(2020, 10, 1), dt.date(2021, 1, 1)]
    weeks = [dt.date(2024, 1, 1) + dt.timedelta(days=7 * k) for k in (0, 1, 2, 5, 6)]
    data = pl.concat([
        pl.DataFrame({"series": "q", "period": quarters, "value": [1.0, 2.0, 3.0, 4.0]}),
        pl.DataFrame({"series": "w", "period": weeks, "value": [1.0, 2.0, 3.0, 4.0, 5.0]}),
    ])
    pts = analyse(data, SeriesSpec()).points
    assert pts.filter(pl.col("series") == "q")["gap_before"].to_list() == [0, 0, 1, 0]
    assert pts.filter(pl.col("series") == "w")["gap_before"].to_list() == [0, 0, 0, 2, 0]
    # a declared grain wins over the inferred one: quarterly points on a monthly grain
    monthly = analyse(data.filter(pl.col("series") == "q"), SeriesSpec(frequency="month")).points
    assert monthly["gap_before"].to_list() == [0, 2, 5, 2]
    summary = analyse(data, SeriesSpec()).summary
    assert "1 period missing in 1 gap: rules and runs are not counted across a gap" in \
        summary.filter(pl.col("series") == "q")["warnings"][0]
    with pytest.raises(SpcError, match="frequency 'fortnight'"):
        SeriesSpec(frequency="fortnight")


def test_event_charts_have_no_gaps() -> None:
    # g and t charts: a row is an event (days between), its date no period of a grid
    dates = [dt.date(2024, 1, 1) + dt.timedelta(days=d) for d in (0, 3, 40, 41, 90, 200)]
    data = pl.DataFrame({"period": dates, "value": [3.0, 37.0, 1.0, 49.0, 110.0, 2.0]})
    for chart in ("g", "t"):
        pts = analyse(data, SeriesSpec(chart=chart)).points
        assert pts["gap_before"].to_list() == [0] * 6


def _shifted(case: dict, months: int) -> tuple[pl.DataFrame, SeriesSpec, int]:
    """The case with every period from the middle on moved ``months`` later (a gap)."""
    from test_peer_cases import spec_for  # tests/ is on sys.path (no package)

    data = pl.DataFrame(case["input"]).with_columns(pl.col("period").str.to_date())
    cut = data.height // 2
    split = data["period"][cut]

    def move(d: dt.date) -> dt.date:
        if d < split:
            return d
        k = d.year * 12 + d.month - 1 + months
        return dt.date(k // 12, k % 12 + 1, d.day)

    data = data.with_columns(pl.Series("period", [move(d) for d in data["period"]]))
    spec = spec_for(case)
    moved = {"rebase": tuple(move(dt.date.fromisoformat(str(d))) for d in spec.rebase),
             "exclude": tuple(move(dt.date.fromisoformat(str(d))) for d in spec.exclude)}
    return data, SeriesSpec(**{**spec.__dict__, **moved, "break_at_gaps": False}), cut


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_break_at_gaps_off_reproduces_every_peer_case_with_a_gap_inserted(case: dict) -> None:
    """NHSRplotthedots and qicharts2 treat rows as adjacent whatever their dates: with
    break_at_gaps=False the engine gives their answer on the same rows with a gap."""
    data, spec, cut = _shifted(case, 7)
    got = analyse(data, spec)
    exp = case["expected"]["points"]
    assert got.points["gap_before"][cut] == (0 if case["chart"] in ("g", "t") else 7)
    for g, e in zip(got.points.to_dicts(), exp, strict=True):
        for col in ("centre", "lower", "upper"):
            if e[col] is None:
                assert g[col] is None
            else:
                assert g[col] == pytest.approx(e[col], rel=5e-4, abs=1e-12)
        for col in ("rule", "point_type", "outside_limits"):
            if col in e:
                assert g[col] == e[col]
    for g, e in zip(got.phases.to_dicts(), case["expected"].get("phases", [])):
        for col, want in e.items():
            if col not in ("start", "end"):
                assert g[col] == want


def test_false_alarm_rate_with_random_gaps_is_not_inflated() -> None:
    """In-control series (seed 20261205): 3,000 XmR series of 36 monthly N(100, 10) points,
    each with 0 to 3 gaps of 1 to 6 missing months at random places.

    Any special cause anywhere in a series (MDC rules): measured 0.263 with gaps broken,
    0.286 with rows counted as adjacent (the peers' way, identical to the same values with no
    gaps at all, 0.286); an Anhøj runs signal on a run chart: 0.028 broken, 0.035 joined and
    without gaps (Anhøj's rules are built to give a few per cent at this length). Breaking
    at gaps must not raise either rate above the no-gap figure (allowing 1.5 percentage
    points of noise): it can only lower it, as runs are cut short."""
    rng = np.random.default_rng(20261205)
    n_series, n = 3000, 36
    values = rng.normal(100, 10, size=(n_series, n))
    # month offsets: each point moves on 1 month, plus the missing months of a gap before it
    extra = np.zeros((n_series, n), dtype=int)
    n_gaps = rng.integers(0, 4, size=n_series)
    for k in range(3):  # up to three gaps per series (a loop over gap slots, not series)
        at = rng.integers(1, n, size=n_series)
        width = rng.integers(1, 7, size=n_series) * (k < n_gaps)
        extra[np.arange(n_series), at] += width
    offsets = np.arange(n) + np.cumsum(extra, axis=1)
    base = np.datetime64("2018-01", "M")
    gapped = (base + offsets).astype("datetime64[D]").ravel()
    complete = (base + np.tile(np.arange(n), n_series)).astype("datetime64[D]")
    series = np.repeat([f"s{i:04d}" for i in range(n_series)], n)

    def rate(periods: np.ndarray, spec: SeriesSpec) -> tuple[float, float]:
        data = pl.DataFrame({"series": series, "period": periods, "value": values.ravel()})
        s = analyse(data, spec).summary
        p = analyse(data, SeriesSpec(chart="run", break_at_gaps=spec.break_at_gaps)).phases
        any_signal = ((s["n_improvement"] + s["n_concern"] + s["n_neutral"]) > 0).mean()
        return float(any_signal), float(p["runs_signal"].mean())

    broken = rate(gapped, SeriesSpec())
    joined = rate(gapped, SeriesSpec(break_at_gaps=False))
    none = rate(complete, SeriesSpec())
    assert broken[0] <= none[0] + 0.015 and broken[0] <= joined[0] + 0.015
    assert broken[1] <= none[1] + 0.015
    # the usual false-alarm rate of the four MDC rules over 36 in-control points: about 0.29
    assert 0.24 < none[0] < 0.34 and 0.01 < none[1] < 0.08
    print(f"any special cause: broken {broken[0]:.3f}, joined {joined[0]:.3f}, none {none[0]:.3f};"
          f" runs signal: broken {broken[1]:.3f}, joined {joined[1]:.3f}, none {none[1]:.3f}")


def test_spc_chart_on_a_file_with_a_gap(tmp_path: Path) -> None:
    app = typer.Typer()
    chart_command.register(app)
    app.command("noop")(lambda: None)  # keep `chart` a subcommand
    values = BEFORE + [12] * 7 + AFTER
    src = tmp_path / "gap.csv"
    frame(values, gap_after=16).write_csv(src)
    out = tmp_path / "out.json"
    result = CliRunner().invoke(app, ["chart", str(src), "--format", "json", "--output", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert [p["gap_before"] for p in doc["points"]].count(5) == 1
    assert doc["points"][16]["gap_before"] == 5
    assert "7 Points Above CL" not in [p["rule"] for p in doc["points"]]
    assert any("5 periods missing in 1 gap" in w for w in doc["series"][0]["warnings"])
    result = CliRunner().invoke(app, ["chart", str(src), "--no-break-at-gaps", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "7 Points Above CL" in result.output
    # a declared quarterly grain: monthly points then leave no whole quarter missing
    result = CliRunner().invoke(app, ["chart", str(src), "--frequency", "quarter"])
    assert result.exit_code == 0, result.output
    assert pl.read_csv(result.output.encode())["gap_before"].to_list()[16] == 1


@pytest.mark.skipif(not (REALDATA / "derived").exists(), reason="no ../shared/realdata")
def test_real_staffordshire_asb_has_a_58_month_gap_no_rule_crosses() -> None:
    counts = pl.read_csv(REALDATA / "derived" / "police_uk_force_month_crime_type_counts.csv")
    asb = (counts.filter((pl.col("falls_within") == "Staffordshire Police")
                         & (pl.col("crime_type") == "Anti-social behaviour"))
           .select(period=(pl.col("month") + "-01").str.to_date(), value=pl.col("count"))
           .sort("period"))
    assert asb.height == 9
    result = analyse(asb, SeriesSpec(improvement="decrease"))
    pts = result.points
    assert pts["gap_before"].to_list() == [0, 0, 0, 0, 0, 58, 0, 0, 0]
    assert "58 periods missing in 1 gap" in result.summary["warnings"][0][0]
    phase = result.phases.row(0, named=True)
    # five points above the mean, then four below: two runs, and no crossing at the gap
    assert phase["longest_run"] == 5 and phase["crossings"] == 0
