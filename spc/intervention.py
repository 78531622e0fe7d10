"""Did the intervention work? An honest evaluation of an annotated intervention.

Two views, both shown to the reader, with one plain verdict:

* **Interrupted time series** (segmented regression, statsmodels OLS): the level and trend
  of the three years before the intervention (`BEFORE_YEARS`; at least 24 periods),
  judged over the first year from it (`AFTER_YEARS`; at least 8 periods), with calendar-month (or quarter) effects when there are at least two
  years before it, and a change of level and of slope from the intervention's period on. The
  quantity judged is the *average effect over the periods since*: how far the figures since
  sit from what the trend and season before predicted (level change + slope change × the mean
  time since). Its standard error is HAC (statsmodels, Bartlett kernel, maxlags n/4: see
  `maxlags`, small-sample correction).

  HAC t-tests are not honest in series this short: in simulation (36 or 48 months before, 12
  after, no effect) the HAC t-test with t critical values called a change on 9-16% of
  independent series and 20-26% of AR(1) φ = 0.5 series with Newey-West's 3 lags, 28% and 34%
  with the n/4 lags used here (nominal 5%); GLSAR did 7-17%. So the
  p-value and the interval come from a **parametric bootstrap of the HAC t-statistic**: the
  series is refitted without the intervention (trend and season only), the AR(1) dependence
  of the full model's residuals is estimated (lag-1 autocorrelation, bias-corrected by one
  bootstrap round: regression residuals understate it), and
  `BOOTSTRAP` series are simulated from that null model, vectorised over replicates (the HAC
  variance of a linear combination of OLS coefficients is the Newey-West long-run variance of
  w_t û_t, w = X(XᵀX)⁻¹c, which tests/test_intervention.py checks against statsmodels'). The
  intervention's effect is called beyond what the trend and season predicted when the bootstrap
  p-value is below `ALPHA`; the interval is the bootstrap-t interval. Measured in
  tests/test_intervention.py (36 months before, 12 after, fixed seeds): with no effect it calls
  a change on 3.3% of independent and 3.0% of AR(1) φ = 0.5 series; a step of 2 standard
  deviations is found in 72% and 39% of them, 3 standard deviations in 76% of AR(1) φ = 0.5.

* **The same period the year before** (`spc.compare.compare_periods`): the periods since the
  intervention (up to a year) against the same periods a year earlier, with its chance band.

The verdict sentence is the regression's ("The fall is beyond what the trend and season before
it predicted: ..."); the year-on-year sentence is shown beside it, because plans quote that
figure ("ASB down 41% during the programme, against the same period the year before"), and a
fall that the year-on-year view calls real can still be the trend that was already under way.
Neither shows the intervention caused the change: the text says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl
import statsmodels.api as sm
from scipy.signal import lfilter

from spc.dates import as_date
from spc.errors import SpcError

#: two-sided significance level of the verdict
ALPHA = 0.05
#: bootstrap replicates for the p-value and interval
BOOTSTRAP = 999
#: points needed before the intervention (a trend from fewer says little) and after it
MIN_BEFORE = 12
MIN_AFTER = 3
#: years before the intervention the trend is fitted on: an older start (the West Midlands
#: counts of 2011, a third above the years that followed) would tilt the trend and so the
#: prediction, and a straight line over many years is not what anyone expects to continue
BEFORE_YEARS = 3
#: ... but at least this many periods (quarterly series: six years)
BEFORE_MIN_POINTS = 24
#: the years after the intervention that are judged (at least AFTER_MIN_POINTS periods)
AFTER_YEARS = 1
AFTER_MIN_POINTS = 8
#: periods per year by frequency
_PER_YEAR = {"week": 52, "month": 12, "quarter": 4, "year": 1}
#: seasons per year by frequency, and the years of data before the intervention needed to fit them
_SEASONS = {"month": 12, "quarter": 4}
SEASON_YEARS = 2
#: the largest AR(1) coefficient the null model uses (near 1 the series is a random walk)
_PHI_MAX = 0.95


@dataclass(frozen=True)
class Evaluation:
    """What the evaluation of one intervention found (see :func:`evaluate`)."""

    date: dt.date
    n_before: int
    n_after: int
    seasonal: bool
    actual: float                 # mean of the figures since the intervention
    predicted: float              # mean of what the trend and season before predicted for them
    effect: float                 # actual − predicted (the average effect)
    lower: float                  # bootstrap-t interval of the effect
    upper: float
    pct_effect: float | None      # effect as a % of predicted
    hac_se: float
    p_value: float                # parametric bootstrap of the HAC t-statistic
    p_value_hac: float            # the HAC t-test's own p-value (shown to analysts; too small in short series)
    phi: float                    # AR(1) dependence of the null model's residuals
    beyond: bool
    verdict: str                  # the plain sentence
    detail: str                   # for analysts: method, p-values, interval
    year_on_year: str | None      # spc.compare's sentence for the same period the year before
    year_on_year_detail: str | None


def maxlags(n: int) -> int:
    """HAC bandwidth: a quarter of the series (fixed-b style, b = 0.25). With Newey-West's rule
    of thumb (3 lags for 48 points) the bootstrap held its size on independent series but not on
    AR(1) φ = 0.5 ones (8-9% at 24-36 points before); with the wider window the t-statistic
    depends less on the dependence it must estimate, and the bootstrap holds it (1-6%)."""
    return max(1, n // 4)


def design(t: np.ndarray, after: np.ndarray, season: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The segmented-regression design and the contrast of its average effect.

    Columns: constant, time, level change, slope change, then season dummies (first season
    the reference). `t` is the period index (0, 1, ...; gaps keep their place), `after` is
    True from the intervention's period on, `season` the calendar season (or None). The
    contrast c gives c'β = level change + slope change × mean time since the intervention.
    """
    t0 = t[after].min()
    since = np.where(after, t - t0, 0.0)
    cols = [np.ones_like(t, dtype=float), t.astype(float), after.astype(float), since]
    if season is not None:
        levels = np.unique(season)
        cols += [(season == s).astype(float) for s in levels[1:]]
    X = np.column_stack(cols)
    c = np.zeros(X.shape[1])
    c[2], c[3] = 1.0, since[after].mean()
    return X, c


def hac_variance(w: np.ndarray, resid: np.ndarray, maxlags: int, k: int) -> np.ndarray:
    """HAC (Newey-West, Bartlett) variance of c'β̂ for many residual vectors at once.

    `w` = X(XᵀX)⁻¹c (n), `resid` n × replicates. Equals statsmodels' ``c' cov_HAC c`` with
    ``use_correction=True`` (checked in the tests): the long-run variance of z_t = w_t û_t,
    scaled by n / (n − k)."""
    z = w[:, None] * resid
    n = z.shape[0]
    v = (z * z).sum(axis=0)
    for j in range(1, maxlags + 1):  # a loop over a handful of lags, not over points
        v = v + 2 * (1 - j / (maxlags + 1)) * (z[j:] * z[:-j]).sum(axis=0)
    return v * n / (n - k)


def _simulate(rng: np.random.Generator, X: np.ndarray, mean: np.ndarray, pinv: np.ndarray, phi: float,
              sigma: float, reps: int) -> tuple[np.ndarray, np.ndarray]:
    """`reps` series of `mean` plus AR(1) errors, fitted by OLS on X at once:
    (coefficients k × B, residuals n × B)."""
    n = X.shape[0]
    e = rng.standard_normal((n + 50, reps)) * sigma
    u = lfilter([1.0], [1.0, -phi], e, axis=0)[50:]  # AR(1) errors, burn-in dropped
    Y = mean[:, None] + u
    B = pinv @ Y
    return B, Y - X @ B


def _lag1_columns(r: np.ndarray) -> np.ndarray:
    d = r - r.mean(axis=0)
    return (d[1:] * d[:-1]).sum(axis=0) / (d * d).sum(axis=0)


def _lag1(x: np.ndarray) -> float:
    d = x - x.mean()
    den = float(d @ d)
    return float(d[1:] @ d[:-1] / den) if den > 0 else 0.0


def evaluate(data: pl.DataFrame, date: object, frequency: str | None = "month", *,
             unit: str | None = None, seed: int = 13, bootstrap: int = BOOTSTRAP,
             compare_kind: str = "auto", year_on_year: bool = True) -> Evaluation:
    """Evaluate the intervention dated `date` on one series.

    `data` has period, value (and optionally numerator, denominator); the trend and season
    are fitted on the last `BEFORE_YEARS` years (at least `BEFORE_MIN_POINTS` periods) before
    the intervention, and the first `AFTER_YEARS` year (at least `AFTER_MIN_POINTS` periods)
    from it on is judged. `frequency` is the
    series' grain (month, quarter, ...) and `unit` the indicator's ('%' for proportions stored
    as fractions, 'count', ...), for the sentence. Raises :class:`SpcError` when there are fewer than
    `MIN_BEFORE` points before the intervention or `MIN_AFTER` from it on. The bootstrap
    (`bootstrap` replicates) is seeded (`seed`), so the same data give the same verdict every
    time. `year_on_year` False skips the same-period-last-year comparison (simulations).
    Rows are taken as consecutive periods by the AR(1) model (a missing period is not
    filled in).
    """
    when = as_date(date, "intervention date")
    freq = frequency or "month"
    frame = data.filter(pl.col("value").is_not_null()).sort("period")
    before = frame.filter(pl.col("period") < when)
    keep = max(BEFORE_YEARS * _PER_YEAR.get(freq, 12), BEFORE_MIN_POINTS)
    if before.height > keep:
        # the trend and season of the last BEFORE_YEARS years (BEFORE_MIN_POINTS periods at least)
        frame = frame.filter(pl.col("period") >= before["period"][-keep])
    since = frame.filter(pl.col("period") >= when)
    upto = max(AFTER_YEARS * _PER_YEAR.get(freq, 12), AFTER_MIN_POINTS)
    if since.height > upto:
        # judged over its first year: a slope carried forward for years says more about the line
        # than about the intervention, and plans report the year after against the year before
        frame = frame.filter(pl.col("period") <= since["period"][upto - 1])
    y = frame["value"].cast(pl.Float64).to_numpy()
    period, first = pl.col("period"), pl.col("period").first()
    step = {"month": 1, "quarter": 3, "year": 12}.get(freq)
    # the period index keeps a missing period's place; weeks count days
    index = ((period.dt.year() - first.dt.year()) * 12 + period.dt.month() - first.dt.month()) // step \
        if step is not None else (period - first).dt.total_days() // 7
    t = frame.select(index.cast(pl.Float64)).to_series().to_numpy()
    after = frame.select(period >= when).to_series().to_numpy()
    n_before, n_after = int((~after).sum()), int(after.sum())
    if n_before < MIN_BEFORE or n_after < MIN_AFTER:
        raise SpcError(f"intervention {when:%Y-%m-%d}: {n_before} points before it and {n_after} from it on; "
                       f"an evaluation needs at least {MIN_BEFORE} before and {MIN_AFTER} after")
    seasons = _SEASONS.get(freq)
    seasonal = seasons is not None and n_before >= SEASON_YEARS * seasons
    season = frame.select(period.dt.month() if freq == "month" else period.dt.quarter()).to_series().to_numpy() \
        if seasonal else None
    X, c = design(t, after, season)
    n, k = X.shape
    lags = maxlags(n)
    fit = sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}, use_t=True)
    effect = float(c @ fit.params)
    test = fit.t_test(c)
    se = float(np.asarray(test.sd).item())
    t_obs = effect / se if se > 0 else 0.0

    # the null model: trend and season, no intervention, with AR(1) errors whose dependence is
    # measured on the full model's residuals (the null fit's would mistake a real effect for memory)
    keep = [0, 1] + list(range(4, k))
    X0 = X[:, keep]
    null = sm.OLS(y, X0).fit()
    pinv = np.linalg.pinv(X)
    w = pinv.T @ c
    rng = np.random.default_rng(seed)
    # regression residuals understate the errors' dependence, more so with many terms in a
    # short series: one bootstrap round measures that bias and takes it off (φ̃ = 2φ̂ − mean φ̂*)
    phi_hat = _lag1(fit.resid)
    _, resid = _simulate(rng, X, X0 @ null.params, pinv, float(np.clip(phi_hat, 0.0, _PHI_MAX)), 1.0, bootstrap)
    phi = float(np.clip(2 * phi_hat - _lag1_columns(resid).mean(), 0.0, _PHI_MAX))
    r = fit.resid
    innov = r[1:] - phi * r[:-1]
    sigma = float(np.sqrt(innov @ innov / max(len(innov) - k, 1)))
    B, resid = _simulate(rng, X, X0 @ null.params, pinv, phi, sigma, bootstrap)
    t_star = (c @ B) / np.sqrt(hac_variance(w, resid, lags, k))
    p_boot = float((1 + np.sum(np.abs(t_star) >= abs(t_obs))) / (bootstrap + 1))
    q = np.quantile(np.abs(t_star), 1 - ALPHA)
    lower, upper = effect - q * se, effect + q * se

    actual = float(y[after].mean())
    predicted = actual - effect
    pct = 100 * effect / predicted if predicted else None
    beyond = p_boot < ALPHA
    verdict = _verdict(when, freq, actual, predicted, effect, lower, upper, beyond, n_after, unit, seasonal)
    detail = (f"Segmented regression (level and slope change{', calendar ' + ('months' if freq == 'month' else 'quarters') if seasonal else ''}) "
              f"on {n_before} points before and {n_after} from {when:%b %Y}; average effect {effect:,.4g} "
              f"(HAC standard error {se:,.4g}, maxlags {lags}); bootstrap p = {p_boot:.3f} "
              f"({bootstrap} series from the no-intervention model with AR(1) errors, φ = {phi:.2f}); "
              f"HAC t-test p = {float(test.pvalue):.3f}, too small in series this short")
    yoy, yoy_detail = _year_on_year(frame, when, freq, compare_kind) if year_on_year else (None, None)
    return Evaluation(date=when, n_before=n_before, n_after=n_after, seasonal=seasonal, actual=actual,
                      predicted=predicted, effect=effect, lower=lower, upper=upper, pct_effect=pct,
                      hac_se=se, p_value=p_boot, p_value_hac=float(test.pvalue), phi=phi, beyond=beyond,
                      verdict=verdict, detail=detail, year_on_year=yoy, year_on_year_detail=yoy_detail)


def _fmt(x: float, unit: str | None) -> str:
    from spc.narrative import format_value

    return format_value(x, unit)


def _verdict(when: dt.date, freq: str, actual: float, predicted: float, effect: float, lower: float,
             upper: float, beyond: bool, n_after: int, unit: str | None, seasonal: bool) -> str:
    """'The fall is beyond (within) what the trend and season before it predicted. ...' (the
    trend alone when there were too few years before it to measure a season)."""
    from spc.narrative import period_text, plural

    def signed(x: float) -> str:
        text = ("+" if x > 0 else "−" if x < 0 else "") + _fmt(abs(x), unit)
        return text.replace("%", " percentage points") if unit == "%" else text

    move = "fall" if effect < 0 else "rise"
    since = f"the {plural(n_after, freq)} from {period_text(when, freq)}"
    # a relative change of a percentage would read as percentage points: said in points only
    pct = f" ({abs(effect) / abs(predicted):.0%} {'lower' if effect < 0 else 'higher'})" \
        if predicted and unit != "%" else ""
    model = "trend and season" if seasonal else "trend"
    said = (f"{since[0].upper() + since[1:]} averaged {_fmt(actual, unit)}, against {_fmt(predicted, unit)} "
            f"predicted by the {model} before it{pct}")
    band = f"allowing for chance, the difference is between {signed(lower)} and {signed(upper)} a {freq}"
    if beyond:
        return (f"The {move} is beyond what the {model} before it predicted. {said}; {band}. "
                "Other changes at the same time could also explain it.")
    return (f"The {move} is within what the {model} before it predicted. {said}; {band}, "
            "which includes no change, so it could be chance.")


def _year_on_year(frame: pl.DataFrame, when: dt.date, freq: str, kind: str) -> tuple[str | None, str | None]:
    """spc.compare's same-period-last-year comparison of the periods since (up to a year)."""
    from spc.compare import compare_periods

    end = frame["period"].max()
    months = 12 - {"month": 1, "quarter": 3, "year": 12}.get(freq, 1)
    last = when.year * 12 + when.month - 1 + months
    end = min(end, dt.date(last // 12, last % 12 + 1, 1))
    cols = [c for c in ("period", "value", "numerator", "denominator") if c in frame.columns]
    try:
        row = compare_periods(frame.select(cols).with_columns(series=pl.lit("x")), (when, end), kind=kind,
                              frequency=freq).row(0, named=True)
    except (SpcError, IndexError) as exc:
        return None, str(exc)
    return row.get("sentence"), row.get("detail")


def evaluations(points: pl.DataFrame, annotations: pl.DataFrame, frequency: str | None = "month",
                unit: str | None = None) -> list[dict]:
    """Every live intervention annotation of one series, evaluated: the one function the
    Indicator page and the briefing pack call.

    `points` are the series' result points (period, value, numerator, denominator),
    `annotations` its live annotations (date, kind, text; others are ignored). Returns one
    dict per intervention, in date order: date, text (the analyst's note), heading ('The
    intervention in March 2024: "Space programme"'), verdict, year_on_year, detail, and
    evaluation (the :class:`Evaluation`, or None when the series is too short around it:
    then `verdict` says why in words).
    """
    from spc.narrative import period_text

    if annotations.is_empty() or "kind" not in annotations.columns:
        return []
    chosen = annotations.filter(pl.col("kind") == "intervention").sort("date")
    data = points.select([c for c in ("period", "value", "numerator", "denominator") if c in points.columns])
    out = []
    for a in chosen.iter_rows(named=True):  # a handful of annotated interventions per series
        when = as_date(a["date"], "intervention date")
        note = (a.get("text") or "").strip()
        heading = f"The intervention in {period_text(when, frequency)}" + (f': "{note}"' if note else "")
        try:
            e = evaluate(data, when, frequency, unit=unit)
        except SpcError:
            n_before = data.filter(pl.col("period") < when).height
            n_after = data.height - n_before
            out.append({"date": when, "text": note, "heading": heading, "evaluation": None,
                        "verdict": (f"Too few figures to judge it yet: {n_before} before it and {n_after} from it on "
                                    f"(at least {MIN_BEFORE} before and {MIN_AFTER} after are needed)."),
                        "year_on_year": None, "detail": None})
            continue
        out.append({"date": when, "text": note, "heading": heading, "evaluation": e, "verdict": e.verdict,
                    "year_on_year": e.year_on_year, "detail": e.detail})
    return out
