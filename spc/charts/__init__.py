"""Limit formulas, one small pure function per chart type.

Each function takes a lazy frame sorted by series and period, with columns ``_g``
(id of the series and phase), ``value``, ``numerator``, ``denominator``, ``_base``
(point used for the limits) and ``screen_outliers``, and adds ``centre``, ``_mid``
and ``_sigma``; :func:`lines` turns those into ``lower``, ``upper``, ``lower_2s``,
``upper_2s``, ``lower_1s``, ``upper_1s`` with the chart's clipping (its ``Scale``).
Xbar and S charts also read ``_n`` and ``_sd`` (subgroup size and standard deviation).
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from spc.charts._common import LINES, Scale, bands
from spc.charts.ar1 import SCALE as AR1_SCALE
from spc.charts.ar1 import xmr_ar1
from spc.charts.attribute import C_SCALE, P_SCALE, U_SCALE, c, p, u
from spc.charts.laney import PP_SCALE, UP_SCALE, pp, up
from spc.charts.rare import G_SCALE, T_SCALE, g, t
from spc.charts.run import SCALE as RUN_SCALE
from spc.charts.run import run
from spc.charts.sequential import CUSUM_SCALE, EWMA_SCALE, cusum, ewma
from spc.charts.subgroup import S_SCALE, XBAR_SCALE, s, xbar
from spc.charts.xmr import SCALE as XMR_SCALE
from spc.charts.xmr import xmr, xmr_lines

ChartFn = Callable[[pl.LazyFrame], pl.LazyFrame]

CHARTS: dict[str, tuple[ChartFn, Scale]] = {
    "xmr": (xmr, XMR_SCALE), "run": (run, RUN_SCALE), "p": (p, P_SCALE), "pp": (pp, PP_SCALE),
    "u": (u, U_SCALE), "up": (up, UP_SCALE), "c": (c, C_SCALE), "g": (g, G_SCALE),
    "t": (t, T_SCALE), "xbar": (xbar, XBAR_SCALE), "s": (s, S_SCALE),
    # analyst option: XmR of AR(1) residuals, limits allowing for month-to-month dependence
    "xmr_ar1": (xmr_ar1, AR1_SCALE),
    # small sustained shifts: EWMA and tabular CUSUM (spc.charts.sequential)
    "ewma": (ewma, EWMA_SCALE), "cusum": (cusum, CUSUM_SCALE),
}
#: charts whose value is numerator / denominator
RATIO_CHARTS = frozenset({"p", "pp", "u", "up"})
#: charts on counts or times (non-negative values)
COUNT_CHARTS = frozenset({"p", "pp", "u", "up", "c", "g", "t"})
#: charts of subgrouped measurements: several rows per (series, period), aggregated first
SUBGROUP_CHARTS = frozenset({"xbar", "s"})
#: charts of a statistic with memory (EWMA, CUSUM): judged only by a point beyond a limit,
#: with no 1σ and 2σ lines and no runs analysis
SEQUENTIAL_CHARTS = frozenset({"ewma", "cusum"})
#: charts that may have limits per calendar month (periods, not events; no memory)
SEASONAL_CHARTS = frozenset({"xmr", "p", "pp", "u", "up", "c", "xbar", "s"})


def chart_in(names: frozenset[str] | list[str] | tuple[str, ...]) -> pl.Expr:
    """The row's ``chart`` is one of ``names``: equalities joined by or (on the engine's Enum
    column that is several times cheaper than ``is_in``)."""
    out = pl.lit(False)
    for name in sorted(names):
        out = out | (pl.col("chart") == name)
    return out


def lines(lf: pl.LazyFrame, chart: str) -> pl.LazyFrame:
    """Centre and 1, 2, 3 sigma lines of ``chart`` for every point of ``lf``."""
    if chart == "xmr":  # the usual chart: its lines are one number per phase
        return xmr_lines(lf)
    fn, scale = CHARTS[chart]
    return bands(fn(lf), scale)


__all__ = ["CHARTS", "LINES", "chart_in", "RATIO_CHARTS", "COUNT_CHARTS", "SUBGROUP_CHARTS",
           "SEQUENTIAL_CHARTS", "SEASONAL_CHARTS", "lines"]
