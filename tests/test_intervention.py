"""Did the intervention work? spc.intervention on simulated and real series.

The verdict is only worth reading if it holds its size: with no intervention effect it must
call a change about 5% of the time, on independent and on autocorrelated series, and it must
find a real step often enough to be useful. Measured here with fixed seeds.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm

from spc.errors import SpcError
from spc.intervention import design, evaluate, hac_variance, maxlags

REAL = Path(__file__).resolve().parents[2] / "shared" / "realdata"
WM = REAL / "aggregates" / "west_midlands_monthly_crime_count_2011-01_2016-12.csv"
MOJ = REAL / "moj" / "proven_reoffending_england_wales_long_2000_2014.csv"


def _months(n: int, start: int = 2018) -> list[dt.date]:
    return [dt.date(start + m // 12, m % 12 + 1, 1) for m in range(n)]


def _ar1(rng: np.random.Generator, n: int, reps: int, phi: float) -> np.ndarray:
    e = rng.standard_normal((reps, n + 50))
    x = np.zeros_like(e)
    for t in range(1, n + 50):  # simulation set-up: a loop over 98 time steps, vectorised over replicates
        x[:, t] = phi * x[:, t - 1] + e[:, t]
    return x[:, 50:] * np.sqrt(1 - phi ** 2)  # unit marginal variance


def _rate(series: np.ndarray, n_before: int) -> float:
    periods = _months(series.shape[1])
    calls = [evaluate(pl.DataFrame({"period": periods, "value": x}), periods[n_before], "month", seed=1,
                      bootstrap=199, year_on_year=False).beyond for x in series]
    return float(np.mean(calls))


def test_hac_variance_is_statsmodels():
    """The vectorised HAC variance of the average effect is statsmodels' c' cov_HAC c."""
    rng = np.random.default_rng(3)
    n_before, n = 30, 42
    t = np.arange(n, dtype=float)
    X, c = design(t, t >= n_before, np.arange(n) % 12)
    y = rng.standard_normal(n).cumsum() * 0.3 + rng.standard_normal(n)
    lags = maxlags(n)
    fit = sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True})
    w = np.linalg.pinv(X).T @ c
    ours = hac_variance(w, fit.resid[:, None], lags, X.shape[1])[0]
    assert ours == pytest.approx(float(c @ fit.cov_params() @ c), rel=1e-9)


@pytest.mark.parametrize("phi", [0.0, 0.5])
def test_size_no_intervention_effect(phi):
    """36 months before and 12 after, no effect: the verdict calls a change no more often than
    the 5% it promises (measured with these seeds: 3.3% independent, 3.0% AR(1) φ 0.5), where
    the HAC t-test alone, with t critical values, calls one in 28% and 34% (12% and 21% with
    Newey-West's 3 lags)."""
    rng = np.random.default_rng(2024 + int(phi * 10))
    rate = _rate(_ar1(rng, 48, 300, phi), 36)
    assert rate <= 0.06


@pytest.mark.parametrize(("phi", "least"), [(0.0, 0.65), (0.5, 0.33)])
def test_power_planted_step(phi, least):
    """A step of 2 standard deviations at the intervention is found (measured with these
    seeds: 72% of independent series, 39% of AR(1) φ 0.5 series; 3 standard deviations: below)."""
    rng = np.random.default_rng(77 + int(phi * 10))
    x = _ar1(rng, 48, 300, phi)
    x[:, 36:] -= 2.0
    assert _rate(x, 36) >= least


def test_power_three_sigma_step():
    """A 3 standard deviation fall in AR(1) φ 0.5 series is found most of the time (measured: 76%)."""
    rng = np.random.default_rng(99)
    x = _ar1(rng, 48, 200, 0.5)
    x[:, 36:] -= 3.0
    assert _rate(x, 36) >= 0.7


def test_too_few_points_is_refused():
    periods = _months(20)
    data = pl.DataFrame({"period": periods, "value": np.arange(20.0)})
    with pytest.raises(SpcError, match="at least 12 before"):
        evaluate(data, periods[8], "month")


def test_same_data_same_verdict():
    periods = _months(48)
    data = pl.DataFrame({"period": periods, "value": np.random.default_rng(5).standard_normal(48) + 50})
    a, b = evaluate(data, periods[36], "month"), evaluate(data, periods[36], "month")
    assert a == b


def _west_midlands() -> pl.DataFrame:
    return pl.read_csv(WM).select(period=pl.col("Month").str.to_date("%Y-%m"),
                                  value=pl.col("Count").cast(pl.Float64))


@pytest.mark.skipif(not WM.exists(), reason="../shared/realdata not present")
def test_west_midlands_no_planted_effect_is_within():
    """The real West Midlands monthly crime counts with an intervention dated January 2015 and
    nothing done: the figures since are within what the trend and season before predicted."""
    e = evaluate(_west_midlands(), "2015-01-01", "month", unit="count")
    assert not e.beyond and e.seasonal
    assert e.verdict.startswith("The rise is within what the trend and season before it predicted.")
    # judged over the first year from the intervention
    assert "The 12 months from January 2015 averaged" in e.verdict and "could be chance" in e.verdict
    assert e.year_on_year and "lag-1" not in e.verdict


@pytest.mark.skipif(not WM.exists(), reason="../shared/realdata not present")
def test_west_midlands_planted_fall_is_beyond():
    """The same series with a 20% fall planted from January 2015: beyond what was predicted,
    and the year-on-year comparison says it is beyond chance too."""
    data = _west_midlands().with_columns(
        value=pl.when(pl.col("period") >= dt.date(2015, 1, 1)).then(pl.col("value") * 0.8).otherwise("value"))
    e = evaluate(data, "2015-01-01", "month", unit="count")
    assert e.beyond and e.effect < 0
    assert e.verdict.startswith("The fall is beyond what the trend and season before it predicted.")
    assert "Other changes at the same time could also explain it." in e.verdict
    assert "beyond what chance alone gives" in (e.year_on_year or "")


def _moj_adult() -> pl.DataFrame:
    moj = pl.read_csv(MOJ).filter((pl.col("measure") == "new") & (pl.col("temporal_unit") == "3-monthly")
                                  & (pl.col("group") == "Adult") & (pl.col("rate") == "binary"))
    return moj.select(period=pl.col("date").str.to_date(), value=pl.col("value") / 100)


@pytest.mark.skipif(not MOJ.exists(), reason="../shared/realdata not present")
def test_moj_reoffending_quarterly():
    """The real MoJ adult proven reoffending rate (quarterly, with missing quarters in 2001),
    an intervention planted in April 2011: nothing done is within; a 2 percentage point fall
    planted from then is beyond, said in percentage points."""
    data = _moj_adult()
    plain = evaluate(data, "2011-04-01", "quarter", unit="%")
    assert not plain.beyond and plain.seasonal and plain.n_after == 8
    assert "The 8 quarters from the quarter starting April 2011 averaged" in plain.verdict
    planted = evaluate(data.with_columns(value=pl.when(pl.col("period") >= dt.date(2011, 4, 1))
                                         .then(pl.col("value") - 0.02).otherwise("value")),
                       "2011-04-01", "quarter", unit="%")
    assert planted.beyond and planted.verdict.startswith("The fall is beyond")
    assert "percentage points" in planted.verdict


def test_pack_and_indicator_page_answer_did_it_work(monkeypatch, demo_db, tmp_path):
    """The demo's annotated intervention on anti-social behaviour (April 2021) is judged in the
    pack and on the Indicator page with the same words: the regression's verdict and the same
    period the year before."""
    import sys

    import duckdb

    from spc.brief import build_brief
    from spc.intervention import evaluations
    from spc.store.queries import frame

    con = duckdb.connect(str(demo_db), read_only=True)
    try:
        pts = frame(con, "SELECT * FROM result_point WHERE indicator_id = 'asb_incidents' "
                         "AND area_code = 'staffordshire' ORDER BY period")
        anns = frame(con, "SELECT * FROM annotation WHERE deleted_at IS NULL AND indicator_id = 'asb_incidents' "
                          "AND area_code IS NULL")
    finally:
        con.close()
    found = evaluations(pts, anns, "month", "count")
    assert [e["date"] for e in found] == [dt.date(2021, 4, 1)]
    e = found[0]
    assert e["heading"].startswith('The intervention in April 2021: "Incident recording audit')
    assert "The 12 months from April 2021 averaged" in e["verdict"]
    assert e["verdict"].startswith(("The fall is within", "The fall is beyond"))
    assert "beyond what chance alone gives" in e["year_on_year"]

    from spc.text import html_text

    out = tmp_path / "pack.html"
    build_brief(demo_db, out, indicator_ids=["asb_incidents"])
    html = out.read_text(encoding="utf-8")
    assert "Did the intervention work?" in html and html_text(e["verdict"]) in html

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_app_indicator_narrative import headings, page_text, run_app

    at = run_app(monkeypatch, demo_db, "indicator", sel_indicator="asb_incidents", sel_area="staffordshire")
    text = page_text(at)
    assert "Did the intervention work?" in headings(at)
    assert e["verdict"] in text.replace("\\", "")


@pytest.mark.skipif(not MOJ.exists(), reason="../shared/realdata not present")
def test_real_moj_through_the_store_into_the_pack(tmp_path):
    """The real MoJ file imported as published, an intervention annotated in April 2011: the
    pack's England and Wales page judges it, and says each quarter tends to be close to the one
    before (the real series' limits are too narrow for it)."""
    import duckdb

    from spc.brief import build_brief
    from spc.cli import main

    db = tmp_path / "moj.duckdb"
    assert main(["db", "init", "--empty", "--db", str(db)]) == 0
    assert main(["import", "reoffending", str(MOJ), "--db", str(db)]) == 0
    con = duckdb.connect(str(db))
    try:
        con.execute("INSERT INTO annotation (indicator_id, area_code, date, kind, text, author, created_at) "
                    "VALUES ('proven_reoffending_rate', 'england-and-wales', DATE '2011-04-01', 'intervention', "
                    "'Planted for the test', 'test', current_timestamp)")
        assert con.execute("SELECT autocorrelated FROM result_summary").fetchone() == (True,)
    finally:
        con.close()
    out = tmp_path / "pack.html"
    build_brief(db, out, indicator_ids=["proven_reoffending_rate"], area="england-and-wales")
    html = out.read_text(encoding="utf-8")
    assert "Did the intervention work?" in html
    assert "The intervention in the quarter starting April 2011: &quot;Planted for the test&quot;" in html \
        or "The intervention in the quarter starting April 2011: \"Planted for the test\"" in html
    assert "The 8 quarters from the quarter starting April 2011 averaged" in html
    assert "Each quarter tends to be close to the quarter before, so these limits are too narrow" in html


def test_without_two_years_before_there_is_no_season_to_claim():
    """With 18 months before the intervention no season is fitted, and the verdict says 'the
    trend before it', not 'the trend and season'."""
    periods = _months(30)
    data = pl.DataFrame({"period": periods, "value": np.random.default_rng(6).standard_normal(30) + 100})
    e = evaluate(data, periods[18], "month", unit="count")
    assert not e.seasonal and "predicted by the trend before it" in e.verdict and "season" not in e.verdict
