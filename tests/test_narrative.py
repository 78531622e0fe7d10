"""spc.narrative: plain-English sentences whose every number comes from the results."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from spc import narrative, trend
from spc.engine import SeriesSpec, analyse

MOJ_PATH = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "moj" / "proven_reoffending_england_wales_long_2000_2014.csv"

CALLS = pl.DataFrame({
    "series": ["calls999"], "name": ["999 calls answered within 10 seconds"], "unit": ["%"],
    "frequency": ["month"], "target_source": ["national standard"],
})


def summary_row(**over: object) -> pl.DataFrame:
    row = {
        "series": "calls999", "chart": "xmr", "improvement": "increase", "target": 0.9,
        "variation": "common_cause", "assurance": "inconsistent", "latest_period": dt.date(2023, 11, 1),
        "latest_value": 0.865, "latest_phase": 2, "centre": 0.865, "lower": 0.82, "upper": 0.91,
        "n_points": 32, "runs_signal": False, "trial_limits": False, "warnings": [],
    }
    row.update(over)
    return pl.DataFrame([row], schema_overrides={"warnings": pl.List(pl.String)})


PHASES = pl.DataFrame({
    "series": ["calls999", "calls999"], "phase": [1, 2],
    "start": [dt.date(2021, 4, 1), dt.date(2023, 4, 1)], "n_used": [24, 8],
    "longest_run": [5, 4], "longest_run_max": [8, 6], "crossings": [10, 3], "crossings_min": [8, 2],
})


def months(n: int, start: dt.date) -> list[dt.date]:
    return [dt.date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1) for i in range(n)]


def test_the_999_example_reads_as_the_issue_asks() -> None:
    out = narrative.describe(summary_row(), PHASES, CALLS).row(0, named=True)
    assert out["sentences"] == [
        "999 calls answered within 10 seconds: 86.5% in November 2023.",
        "No change beyond normal variation since the new phase began in April 2023; the process "
        "runs between 82% and 91%, so the 90% standard will be met in some months and missed in others.",
    ]
    assert out["headline"] == out["sentences"][0]
    assert out["status"] == (
        "No change beyond normal variation; the 90% standard will be met in some months and missed in others."
    )


def test_assurance_wording_follows_the_icon() -> None:
    def second(**kw: object) -> str:
        return narrative.describe(summary_row(**kw), PHASES, CALLS)["sentences"][0][1]

    assert "90% standard will not be met unless the process changes" in second(assurance="consistent_fail", upper=0.89)
    assert "will be met every month" in second(assurance="consistent_pass", lower=0.91, upper=0.95)
    # no target: no claim about one
    assert "standard" not in second(target=None, assurance=None)
    # a target without 'standard' in its source is a target
    plain = CALLS.with_columns(pl.lit("local plan").alias("target_source"))
    assert "the 90% target will" in narrative.describe(summary_row(), PHASES, plain)["sentences"][0][1]


def test_special_cause_names_the_rule_and_direction() -> None:
    points = pl.DataFrame({"series": ["calls999"], "period": [dt.date(2023, 11, 1)], "rule": ["7 Points Below CL"]})
    out = narrative.describe(summary_row(variation="special_cause_concern"), PHASES, CALLS, points=points).row(0, named=True)
    assert out["sentences"][1] == (
        "Special cause variation, a change for the worse: the latest value is part of a run of 7 points "
        "below the average (a shift)."
    )
    assert "82% to 91% around an average of 86%" in out["sentences"][2]
    assert out["status"].startswith("Special cause: a change for the worse")


def test_units_counts_seconds_and_trial_limits() -> None:
    ind = pl.DataFrame({"series": ["asb", "answer"], "name": ["Anti-social behaviour incidents", "999 average answer time"],
                        "unit": ["count", "seconds"], "frequency": ["month", "month"], "target_source": [None, None]})
    summary = pl.concat([
        summary_row(series="asb", target=None, assurance=None, latest_value=1024.0, centre=980.0, lower=-20.0,
                    upper=1800.0, latest_phase=1, trial_limits=True, warnings=["latest phase has fewer than 12 points: trial limits"]),
        summary_row(series="answer", target=None, assurance=None, latest_value=9.4, centre=9.5, lower=7.9, upper=11.1, latest_phase=1),
    ])
    phases = pl.DataFrame({"series": ["asb", "answer"], "phase": [1, 1], "start": [dt.date(2023, 3, 1)] * 2, "n_used": [9, 30]})
    out = {r["series"]: r["sentences"] for r in narrative.describe(summary, phases, ind).iter_rows(named=True)}
    assert out["asb"][0] == "Anti-social behaviour incidents: 1,024 in November 2023."
    # a negative lower limit for a count is shown as 0, never as a negative count
    assert "between 0 and 1,800" in out["asb"][1]
    assert out["asb"][2] == "These limits are provisional: the phase has only 9 points (12 are needed for firm limits)."
    assert len(out["asb"]) == 3  # the engine's own trial-limits warning is not repeated
    assert out["answer"][0] == "999 average answer time: 9.40 seconds in November 2023."
    assert "since the series began in March 2023" in out["answer"][1]


def test_every_number_is_traceable_to_the_engine_result() -> None:
    # End to end: a real engine run on a 999-like series with a new phase from April 2023.
    rng = np.random.default_rng(3)
    per = months(32, dt.date(2021, 4, 1))
    val = np.where(np.arange(32) >= 24, 0.865, 0.80) + rng.normal(0, 0.015, 32)
    data = pl.DataFrame({"series": "calls999", "period": per, "value": val})
    res = analyse(data, {"calls999": SeriesSpec(chart="xmr", improvement="increase", target=0.9,
                                                rebase=(dt.date(2023, 4, 1),))})
    s = res.summary.row(0, named=True)
    out = narrative.describe(res.summary, res.phases, CALLS, points=res.points,
                             trend=trend.long_term_trend(data)).row(0, named=True)
    text = " ".join(out["sentences"])
    assert f"{100 * s['latest_value']:.1f}% in November 2023" in text
    assert "since the new phase began in April 2023" in text
    shown = [float(x) for x in re.findall(r"between (\d+(?:\.\d+)?)% and (\d+(?:\.\d+)?)%", text)[0]]
    assert shown[0] == pytest.approx(100 * s["lower"], abs=0.5) and shown[1] == pytest.approx(100 * s["upper"], abs=0.5)
    assert narrative.ASSURANCE_TEXT[s["assurance"]].split("{noun}")[1].split("{")[0].strip() in text
    # one step in April 2023 explains the values better than a steady rise: the trend sentence
    # names the step and quotes the size the trend module computed
    t = trend.long_term_trend(data).row(0, named=True)
    assert t["direction"] == "step" and t["step_start"] == dt.date(2023, 4, 1)
    assert f"stepped up by about {100 * t['step_change']:.1f} percentage points in April 2023" in text


@pytest.mark.skipif(not MOJ_PATH.exists(), reason="../shared/realdata not present")
def test_moj_reoffending_p_prime_chart_narrative() -> None:
    # Adult proven reoffending, 3-monthly cohorts of ~135,000-170,000 offenders. With
    # denominators that large a p chart's limits are about +/-0.4 points, so it calls most
    # cohorts special causes, including the latest (29.4%, January 2014). Laney's p' chart
    # measures the cohorts' real variation (about 2 times binomial) and says the latest cohort
    # is ordinary; the runs analysis still finds the long runs of 2002-2007 (levels did shift).
    raw = pl.read_csv(MOJ_PATH)
    data = (raw.filter(pl.col("measure") == "new", pl.col("temporal_unit") == "3-monthly", pl.col("group") == "Adult",
                       pl.col("rate").is_in(["cohort", "reoffenders"]))
            .pivot(on="rate", index="date", values="value").drop_nulls()
            .select(pl.lit("reoffending").alias("series"), pl.col("date").str.to_date().alias("period"),
                    pl.col("reoffenders").alias("numerator"), pl.col("cohort").alias("denominator")))
    assert data.height == 53
    ind = pl.DataFrame({"series": ["reoffending"], "name": ["Proven reoffending rate (adults)"], "unit": ["%"],
                        "frequency": ["quarter"], "target_source": [None]})
    p = analyse(data, SeriesSpec(chart="p", improvement="decrease"))
    pp = analyse(data, SeriesSpec(chart="pp", improvement="decrease"))
    ps, pps = p.summary.row(0, named=True), pp.summary.row(0, named=True)
    assert ps["n_beyond_limits"] > data.height / 2
    assert pps["n_beyond_limits"] < ps["n_beyond_limits"]
    assert (pps["upper"] - pps["lower"]) > 1.8 * (ps["upper"] - ps["lower"])
    p_text = narrative.describe(p.summary, p.phases, ind, points=p.points)["sentences"][0]
    pp_text = narrative.describe(pp.summary, pp.phases, ind, points=pp.points)["sentences"][0]
    assert p_text[0] == pp_text[0] == "Proven reoffending rate (adults): 29.4% in the quarter starting January 2014."
    assert p_text[1] == "Special cause variation, a change for the better: the latest value is below the lower process limit."
    # the latest cohort is ordinary, but the chart holds special cause (2000-2004 high, 2004-2008 low),
    # so the text never sums the history up as "no change since the series began"
    assert pp_text[1] == "The latest value is within normal variation."
    assert pp_text[2] == ("The limits (from the quarter starting January 2000) run from 29.3% to 30.8% around an "
                          "average of 30.1%.")
    assert not any("No change" in s or "since the series began" in s for s in pp_text)
    assert any(s.startswith("From the quarter starting April 2004 to the quarter starting April 2008, 17 points "
                            "were lower than usual, an improvement") for s in pp_text)
    assert any(s.startswith("The values are not randomly spread around the average: the longest run on one side "
                            "is 17 points") for s in pp_text)


def test_status_lines_for_stored_results_keyed_by_indicator_and_area() -> None:
    summary = pl.DataFrame({
        "indicator_id": ["calls-999", "calls-999", "asb"], "area_code": ["force", "x", "force"],
        "chart": ["xmr"] * 3, "improvement": ["increase", "increase", "decrease"], "target": [0.9, 0.9, None],
        "variation": ["common_cause", "special_cause_improvement", "special_cause_neutral_high"],
        "assurance": ["consistent_fail", "inconsistent", None],
    })
    catalogue = pl.DataFrame({"id": ["asb", "calls-999"], "name": ["ASB", "999 calls"], "unit": ["count", "%"],
                              "frequency": ["month", "month"], "target_source": [None, "national standard"]})
    lines = narrative.status_lines(summary, catalogue).to_list()
    assert lines == [
        "No change beyond normal variation; the 90% standard will not be met unless the process changes.",
        "Special cause: a change for the better; the 90% standard will be met in some months and missed in others.",
        "Special cause: unusually high (neither better nor worse).",
    ]


def test_every_icon_has_a_line() -> None:
    for icon in ("common_cause", "special_cause_improvement", "special_cause_concern",
                 "special_cause_neutral_high", "special_cause_neutral_low"):
        assert narrative.variation_status(icon)
    for icon in ("consistent_pass", "consistent_fail", "inconsistent"):
        assert "90%" in narrative.assurance_status(icon, 0.9, "%")
    assert narrative.assurance_status(None, 0.9, "%") == ""
    assert narrative.assurance_status("inconsistent", None, "%") == ""


def test_data_check_warnings_are_added_as_sentences() -> None:
    checks = pl.DataFrame({"series": ["calls999"], "check": ["gaps"],
                           "message": ["2 period(s) are missing (the first gap ends at 2023-06-01); fill them or mark them."]})
    out = narrative.describe(summary_row(), PHASES, CALLS, checks=checks)["sentences"][0]
    assert out[-1] == checks["message"][0]
