"""Long-term trend, rolling 12-month figures, seasonality, expected ranges, data checks and
change-point suggestions, for many series at once.

Every function takes the same input as the engine: a polars frame with `series` (optional when
there is one series), `period` (date) and `value`, or `numerator` + `denominator` (then `value`
is their ratio). Cheap statistics (Theil-Sen, Mann-Kendall, rolling totals, Ljung-Box, gaps) are
computed for every series in one set of polars expressions; model fits (STL, ETS, ruptures) run once per series because a model has to be fitted to each.

Nothing here changes the data the control charts use: seasonal adjustment returns a new,
labelled frame, and change points are suggestions for an analyst to accept or reject.

The package is split along its jobs: `frame` (input and shared helpers), `long_term` (trend),
`windows` (rolling 12 months), `seasonal` (seasonality, adjustment, expected range), `checks`
(autocorrelation and data checks) and `breaks` (change points). Import from `spc.trend`.
"""

from spc.trend.breaks import change_points
from spc.trend.checks import data_checks, ljung_box
from spc.trend.frame import as_series_frame, fmt_number, months_step, period_label
from spc.trend.long_term import SEASONAL_TREND_TEST, TREND_TEST, long_term_trend, step_or_line
from spc.trend.seasonal import (
    ADJUSTED_LABEL,
    analyse_adjusted,
    expected_range,
    season_at_latest,
    seasonality,
    seasonally_adjust,
)
from spc.trend.windows import rolling

__all__ = [
    "ADJUSTED_LABEL",
    "SEASONAL_TREND_TEST",
    "TREND_TEST",
    "analyse_adjusted",
    "as_series_frame",
    "change_points",
    "data_checks",
    "expected_range",
    "fmt_number",
    "ljung_box",
    "long_term_trend",
    "months_step",
    "period_label",
    "rolling",
    "season_at_latest",
    "seasonality",
    "seasonally_adjust",
    "step_or_line",
]
