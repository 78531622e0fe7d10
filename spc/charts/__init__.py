"""Limit formulas, one small pure function per chart type.

Each function returns polars expressions for ``centre``, ``lower``, ``upper``,
``lower_2s``, ``upper_2s``, ``lower_1s``, ``upper_1s`` over a frame with columns
``series``, ``phase``, ``value``, ``numerator``, ``denominator``, ``_base`` (point
used for the limits) and ``screen_outliers``; windows are ``(series, phase)``.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from spc.charts._common import LINES
from spc.charts.attribute import c, p, u
from spc.charts.laney import pp, up
from spc.charts.rare import g, t
from spc.charts.run import run
from spc.charts.xmr import xmr

CHARTS: dict[str, Callable[[], dict[str, pl.Expr]]] = {
    "xmr": xmr, "run": run, "p": p, "pp": pp, "u": u, "up": up, "c": c, "g": g, "t": t,
}
#: charts whose value is numerator / denominator
RATIO_CHARTS = frozenset({"p", "pp", "u", "up"})
#: charts on counts (non-negative values)
COUNT_CHARTS = frozenset({"p", "pp", "u", "up", "c", "g", "t"})

__all__ = ["CHARTS", "LINES", "RATIO_CHARTS", "COUNT_CHARTS"]
