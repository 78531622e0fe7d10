"""Autocorrelation is never silent (issue 13 item 1).

Where each figure tends to be close to the one before, moving-range limits are too narrow and
most charts show special cause that is the series' memory. The flag's threshold is chosen by
simulation (fixed seeds, below); every reader says so in plain words; the analyst option
(`xmr_ar1`) brings the false-alarm rate on AR(1) series back to what independent data gives.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from statsmodels.regression.linear_model import yule_walker
from statsmodels.tsa.stattools import acf

from spc import narrative, plots
from spc.autocorrelation import CAUTION, THRESHOLD, lag1, sentence
from spc.digest import _signal_rows, dependence, render_markdown
from spc.engine import SeriesSpec, analyse
from spc.results import compute_results
from spc.store import connect, transaction
from spc.store.queries import frame
from spc.ui.summary import dependence_marker, summary_table_html

DEPENDENCE = sentence("month")


def _ar1(rng: np.random.Generator, n: int, reps: int, phi: float) -> np.ndarray:
    e = rng.standard_normal((reps, n + 50))
    x = np.zeros_like(e)
    for t in range(1, n + 50):  # simulation set-up: a loop over time steps, vectorised over replicates
        x[:, t] = phi * x[:, t - 1] + e[:, t]
    return x[:, 50:]


def _frame(x: np.ndarray) -> pl.DataFrame:
    reps, n = x.shape
    periods = [dt.date(2020 + m // 12, m % 12 + 1, 1) for m in range(n)]
    return pl.DataFrame({"series": np.repeat(np.arange(reps).astype(str), n),
                         "period": periods * reps, "value": x.ravel()})


def _flag_rate(n: int, phi: float, seed: int, reps: int = 2000) -> float:
    a = analyse(_frame(_ar1(np.random.default_rng(seed), n, reps, phi)), SeriesSpec(frequency="month"))
    return float(lag1(a.points, "month")["autocorrelated"].mean())


@pytest.mark.parametrize("n", [24, 36, 48, 60])
def test_threshold_rarely_fires_on_independent_series_and_mostly_on_ar1_05(n):
    """The threshold 0.4 (spc.autocorrelation): measured with these seeds on 2,000 series each,
    0.2-1.8% of independent series, 15-26% of AR(1) φ 0.3 and 47-74% of AR(1) φ 0.5."""
    iid, weak, strong = (_flag_rate(n, phi, seed=100 + n) for phi in (0.0, 0.3, 0.5))
    assert iid <= 0.025
    assert 0.10 <= weak <= 0.32
    assert strong >= 0.42
    assert iid < weak < strong


def test_lag1_is_statsmodels_acf_of_the_latest_phase():
    """Under three years: the values' own lag-1 autocorrelation (statsmodels' acf) over the
    latest phase only."""
    rng = np.random.default_rng(5)
    x = _ar1(rng, 30, 1, 0.6)[0]
    data = _frame(x[None, :])
    a = analyse(data, SeriesSpec(frequency="month", rebase=(data["period"][10],)))
    row = lag1(a.points, "month").row(0, named=True)
    assert row["acf1_basis"] == "values"
    assert row["acf1"] == pytest.approx(acf(x[10:], nlags=1)[1], rel=1e-9)


def test_season_is_taken_out_before_judging_memory():
    """A strongly seasonal series of independent months (4 years) is not called autocorrelated:
    its calendar months' means are taken out first."""
    rng = np.random.default_rng(8)
    season = 5 * np.sin(2 * np.pi * np.arange(48) / 12)
    x = season + rng.standard_normal(48)
    assert acf(x, nlags=1)[1] > THRESHOLD  # the raw values look like memory
    row = lag1(analyse(_frame(x[None, :]), SeriesSpec(frequency="month")).points, "month").row(0, named=True)
    assert row["acf1_basis"] == "after season" and not row["autocorrelated"]


def test_no_pair_spans_a_missing_period():
    """Figures either side of missing months are not a month apart: not counted as a pair."""
    x = np.array([0, 1, 0, 1, 0, 1, 10, 11, 10, 11, 10, 11, 10, 11], dtype=float)
    periods = [dt.date(2020, m, 1) for m in range(1, 7)] + [dt.date(2021, m, 1) for m in range(1, 9)]
    a = analyse(pl.DataFrame({"period": periods, "value": x}), SeriesSpec(frequency="month"))
    d = x - x.mean()
    pairs = np.r_[d[1:6] * d[:5], d[7:] * d[6:-1]].sum()
    assert lag1(a.points, "month")["acf1"][0] == pytest.approx(pairs / (d @ d))


def test_too_short_to_judge():
    a = analyse(_frame(_ar1(np.random.default_rng(1), 11, 1, 0.9)), SeriesSpec())
    row = lag1(a.points, "month").row(0, named=True)
    assert row["acf1"] is None and not row["autocorrelated"]


def test_ar1_chart_phi_is_yule_walker_with_kendalls_correction():
    """The analyst option's φ̂ is statsmodels' Yule-Walker estimate, bias-corrected."""
    x = _ar1(np.random.default_rng(11), 40, 1, 0.5)[0]
    pts = analyse(_frame(x[None, :]), SeriesSpec(chart="xmr_ar1")).points
    mu = x.mean()
    phi = (pts["centre"][5] - mu) / (x[4] - mu)
    rho, _ = yule_walker(x, order=1, method="mle", demean=True, result_object=False)
    assert phi == pytest.approx((40 * rho[0] + 1) / 37, rel=1e-9)
    assert pts["centre"][0] == pytest.approx(mu)  # the first point is predicted by the mean


@pytest.mark.parametrize("n", [36, 60])
def test_ar1_option_brings_false_alarms_back_to_independent_levels(n):
    """In-control AR(1) φ 0.5 series, 2,000 each (fixed seed). Default XmR limits: some special
    cause on 87% (36 points) and 98% (60), the latest point on 14% and 15%. With the option: 28%
    and 50%, the latest point 1.6% and 1.7%, as independent data under the defaults (28% and
    46%, 1.4% and 1.7%)."""
    rng = np.random.default_rng(13 + n)
    data = _frame(_ar1(rng, n, 2000, 0.5))
    iid = _frame(rng.standard_normal((2000, n)))

    def rates(d: pl.DataFrame, chart: str) -> tuple[float, float]:
        a = analyse(d, SeriesSpec(chart=chart, frequency="month"))
        anywhere = a.points.group_by("series").agg((pl.col("point_type") != "common_cause").any())
        return float(anywhere["point_type"].mean()), float((a.summary["variation"] != "common_cause").mean())

    default_any, default_latest = rates(data, "xmr")
    option_any, option_latest = rates(data, "xmr_ar1")
    iid_any, iid_latest = rates(iid, "xmr")
    assert default_any >= 0.85 and default_latest >= 0.12
    assert option_latest <= 0.03 and option_latest <= iid_latest + 0.01
    assert option_any <= iid_any + 0.08
    assert option_any < default_any / 1.8


def test_store_narrative_and_summary_say_so(demo_db):
    """db init stores the flag; the narrative (used by the Indicator page, the pack and the
    digest) says it in plain words, and only for flagged series; the Summary marks them."""
    con = connect(demo_db, read_only=True)
    try:
        summary = frame(con, "SELECT * FROM result_summary")
        phases = frame(con, "SELECT * FROM result_phase")
        points = frame(con, "SELECT * FROM result_point")
        indicators = frame(con, "SELECT * FROM indicator")
    finally:
        con.close()
    flagged = summary.filter(pl.col("autocorrelated"))
    assert flagged.height and (flagged["acf1"] >= THRESHOLD).all()
    assert (summary.filter(~pl.col("autocorrelated"))["acf1"].fill_null(0) < THRESHOLD).all()
    told = narrative.describe(summary.drop("status"), phases, indicators, points=points).join(
        summary.select("indicator_id", "area_code", "autocorrelated", "frequency" if "frequency" in summary.columns
                       else pl.lit(None).alias("_f")), on=["indicator_id", "area_code"])
    for r in told.iter_rows(named=True):
        said = [s for s in r["sentences"] if s.startswith("Each ") and "tends to be close to the" in s]
        assert bool(said) == r["autocorrelated"]
        assert not any("autocorrelation" in s for s in r["sentences"])
    row = flagged.join(indicators.select(pl.col("id").alias("indicator_id"), "frequency"), on="indicator_id").row(
        0, named=True)
    assert "Read with care" in dependence_marker(row)
    assert dependence_marker({**row, "autocorrelated": False}) == ""


def test_pack_and_digest_carry_the_caution(demo_db, tmp_path):
    from spc.brief import build_brief
    from spc import signals

    con = connect(demo_db, read_only=True)
    try:
        flagged = frame(con, "SELECT indicator_id, area_code FROM result_summary WHERE autocorrelated "
                             "AND area_code = 'staffordshire' ORDER BY acf1 DESC LIMIT 1").row(0, named=True)
        points = frame(con, "SELECT * FROM result_point")
        changes = signals.reconcile(signals.load_signals(con).head(0), signals.find_patterns(points),
                                    points.select("indicator_id", "area_code").unique())
        names = frame(con, "SELECT i.id AS indicator_id, i.name AS indicator, i.frequency, a.code AS area_code, "
                           "a.name AS area FROM indicator i CROSS JOIN area a")
        memory = dependence(con, points)
    finally:
        con.close()
    rows = _signal_rows(changes, names, ["new"], memory=memory)
    mine = [r for r in rows if (r["indicator_id"], r["area_code"]) == tuple(flagged.values())]
    others = [r for r in rows if not r["autocorrelated"]]
    assert mine and all(r["caution"] == DEPENDENCE for r in mine)
    assert others and not any(r["caution"] for r in others)
    md = render_markdown({"run_id": 1, "started_at": "2026-12-05T06:00:00", "status": "success",
                          "files_imported": 0, "rows_loaded": 0, "rows_revised": 0, "rows_rejected": 0,
                          "series_computed": 1, "series_changed": 1, "new_concerns": mine, "new_improvements": [],
                          "new_neutral": [], "ended": [], "withdrawn": [], "missing_data": [], "imports": [],
                          "rejected_rows": [], "errors": []})
    assert f"{mine[0]['text']} {DEPENDENCE}" in md
    out = tmp_path / "pack.html"
    build_brief(demo_db, out, indicator_ids=[flagged["indicator_id"]])
    assert DEPENDENCE in out.read_text(encoding="utf-8")


def test_analyst_option_is_labelled_on_chart_and_in_words(demo_db_copy):
    """An analyst's choice of the xmr_ar1 chart: recomputed limits, the chart labelled, the
    narrative says the limits allow for the dependence, the Summary no longer says 'read with care'."""
    con = connect(demo_db_copy)
    try:
        ind, area = con.execute("SELECT indicator_id, area_code FROM result_summary WHERE autocorrelated "
                                "AND chart = 'xmr' ORDER BY acf1 DESC LIMIT 1").fetchone()
        with transaction(con):
            con.execute("INSERT INTO series_setting (indicator_id, area_code, chart, author, updated_at) "
                        "VALUES (?, ?, 'xmr_ar1', 'test', current_timestamp)", [ind, area])
        compute_results(con, [ind])
        s = frame(con, "SELECT * FROM result_summary WHERE indicator_id = ? AND area_code = ?", [ind, area])
        pts = frame(con, "SELECT * FROM result_point WHERE indicator_id = ? AND area_code = ?", [ind, area])
        phases = frame(con, "SELECT * FROM result_phase WHERE indicator_id = ? AND area_code = ?", [ind, area])
        indicators = frame(con, "SELECT * FROM indicator WHERE id = ?", [ind])
    finally:
        con.close()
    row = s.row(0, named=True)
    assert row["chart"] == "xmr_ar1" and row["autocorrelated"]
    told = narrative.describe(s.drop("status"), phases, indicators, points=pts).row(0, named=True)
    assert sentence(indicators["frequency"][0], "xmr_ar1") in told["sentences"]
    assert CAUTION.format(period=indicators["frequency"][0]) not in told["sentences"]
    note = plots.limits_note("xmr_ar1", indicators["frequency"][0])
    fig = plots.control_chart(pts, limits_note=note)
    assert any(a.text == note for a in fig.layout.annotations)
    assert plots.limits_note("xmr", "month") is None
    assert "Read with care" not in dependence_marker({**row, "frequency": "month"})
    html = summary_table_html(pl.DataFrame([{**row, "name": "x", "unit": "count", "priority": "p",
                                            "frequency": "month", "status": ""}]), links=False, sparklines=False)
    assert "limits allow for month-to-month dependence" in html


def test_indicator_page_warns_in_plain_words(monkeypatch, demo_db):
    """The Indicator page of a flagged series says it where it cannot be missed, in words."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_app_indicator_narrative import details, query, run_app

    row = query(demo_db, "SELECT indicator_id, area_code FROM result_summary WHERE autocorrelated "
                         "AND area_code = 'staffordshire' ORDER BY acf1 DESC LIMIT 1").row(0, named=True)
    at = run_app(monkeypatch, demo_db, "indicator", sel_indicator=row["indicator_id"], sel_area=row["area_code"])
    warnings = [w.value.replace("\\", "") for w in at.warning]
    assert DEPENDENCE in warnings
    # the figure itself is for analysts, in the expander, never in the warning
    assert not any("autocorrelation" in w for w in warnings)
    assert "lag-1 autocorrelation" in details(at)["Month-to-month dependence (analyst detail)"]
    calm = query(demo_db, "SELECT indicator_id, area_code FROM result_summary WHERE NOT autocorrelated "
                          "AND area_code = 'staffordshire' LIMIT 1").row(0, named=True)
    at = run_app(monkeypatch, demo_db, "indicator", sel_indicator=calm["indicator_id"], sel_area=calm["area_code"])
    assert not any("tends to be close to the" in w.value for w in at.warning)


def test_the_option_is_never_the_default():
    """The catalogue cannot choose the xmr_ar1 chart for an indicator: only an analyst can."""
    from spc.store.catalogue import CHARTS as CATALOGUE_CHARTS

    assert "xmr_ar1" not in CATALOGUE_CHARTS
    assert SeriesSpec().chart == "xmr"


def test_the_words_fit_the_chart():
    """Limits too narrow on a chart with limits; runs on a run chart (no limits); allowed for on
    the analyst's option; quarters as quarters."""
    assert sentence("month") == ("Each month tends to be close to the month before, so these limits are too "
                                 "narrow for this series and its signals should be read with care.")
    assert "limits" not in sentence("month", "run") and "runs above or below the average" in sentence("month", "run")
    assert sentence("quarter", "xmr_ar1") == ("Each quarter tends to be close to the quarter before; these limits "
                                              "allow for that quarter-to-quarter dependence.")


def test_ewma_and_cusum_are_judged_on_the_measured_values():
    """An EWMA or CUSUM chart's points hold its statistic, which has memory by design: the flag
    looks at the measured values instead, so independent data are not called autocorrelated."""
    rng = np.random.default_rng(21)
    data = _frame(rng.standard_normal((1, 40)))
    for chart in ("ewma", "cusum"):
        pts = analyse(data, SeriesSpec(chart=chart)).points
        assert lag1(pts, "month")["acf1"][0] > THRESHOLD  # the statistic itself
        row = lag1(pts, "month", observed=data).row(0, named=True)
        assert not row["autocorrelated"]
        assert row["acf1"] == lag1(analyse(data, SeriesSpec()).points, "month")["acf1"][0]


def test_analyst_page_offers_the_option_where_it_matters(monkeypatch, demo_db_copy):
    """The Analyst page says a flagged series' limits are too narrow and offers the labelled
    option; choosing it recomputes the series and the Indicator page then says its limits allow
    for the dependence (an information note, not a warning)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from auth_support import add_account, start_signed_in
    from test_app_indicator_narrative import query, run_app

    row = query(demo_db_copy, "SELECT indicator_id, area_code FROM result_summary WHERE autocorrelated "
                              "AND chart = 'xmr' AND area_code = 'staffordshire' ORDER BY acf1 DESC LIMIT 1"
                ).row(0, named=True)
    add_account(demo_db_copy, "test.analyst", "analyst", "analyst-pass-1")
    at = start_signed_in(monkeypatch, demo_db_copy, "test.analyst", "analyst", sel_indicator=row["indicator_id"],
                         sel_area=row["area_code"])
    assert any(DEPENDENCE in c.value.replace("\\", "") for c in at.caption)
    chart = at.selectbox(key="set_chart")
    assert chart.value == "xmr"  # never the default
    assert "XmR allowing for month-to-month dependence (AR(1) residuals) — analyst option" in " ".join(chart.options)
    chart.set_value("xmr_ar1")
    at.text_input(key="set_reason").input("Each month follows the last: allow for it")
    [b for b in at.button if b.label == "Save settings and recompute"][0].click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    stored = query(demo_db_copy, "SELECT chart, autocorrelated FROM result_summary WHERE indicator_id = ? "
                                 "AND area_code = ?", [row["indicator_id"], row["area_code"]]).row(0)
    assert stored == ("xmr_ar1", True)
    page = run_app(monkeypatch, demo_db_copy, "indicator", sel_indicator=row["indicator_id"],
                   sel_area=row["area_code"])
    assert sentence("month", "xmr_ar1") in [i.value.replace("\\", "") for i in page.info]
    assert not any("tends to be close to the" in w.value for w in page.warning)
