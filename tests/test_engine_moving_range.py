"""The mean moving range in NumPy (spc.charts._common.add_mean_moving_range) equals, bit for
bit, the polars form it replaced (forward fills and three phase means), on random columns with
excluded points, gaps (run segments), phases, nulls, screening on and off per row."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from spc.charts._common import SCREEN, SEGMENT, add_mean_moving_range, base_only, phase_mean


def _polars_form(lf: pl.LazyFrame, x: pl.Expr, name: str) -> pl.LazyFrame:
    r = pl.col(SEGMENT)
    prev = base_only(x).forward_fill().shift(1)
    prev_r = base_only(r).forward_fill().shift(1)
    lf = lf.with_columns(_mr=base_only(pl.when(prev_r == r).then((x - prev).abs())))
    lf = lf.with_columns(_mr_all=phase_mean(pl.col("_mr")))
    mr = pl.col("_mr")
    screened = phase_mean(pl.when(mr < SCREEN * pl.col("_mr_all")).then(mr))
    return lf.with_columns(pl.when(pl.col("screen_outliers")).then(screened)
                           .otherwise(pl.col("_mr_all")).alias(name)).drop("_mr", "_mr_all")


@pytest.mark.parametrize("seed", range(10))
def test_numpy_moving_range_equals_the_polars_form(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 3000
    g = np.cumsum(rng.random(n) < 0.05)           # phases
    r = np.cumsum((rng.random(n) < 0.03) | np.r_[True, g[1:] != g[:-1]])  # segments in phases
    value = np.round(rng.normal(100, 15, n), 1)
    value[rng.random(n) < 0.01] *= 20              # outlying ranges to screen out
    x = pl.Series(value)
    if seed % 2:                                   # nulls in x (a transformed value)
        x = x.scatter(np.flatnonzero(rng.random(n) < 0.05), None)
    base = rng.random(n) < (1.0 if seed % 3 == 0 else 0.9)
    screen = np.repeat(rng.random(g[-1] + 1) < 0.7, np.bincount(g))
    frame = pl.DataFrame({"x": x, "_base": base, SEGMENT: r, "_g": g,
                          "screen_outliers": screen}).with_columns(
        pl.col("_g").set_sorted(), pl.col(SEGMENT).set_sorted())
    want = _polars_form(frame.lazy(), pl.col("x"), "m").collect(engine="in-memory")["m"]
    got = add_mean_moving_range(frame.lazy(), pl.col("x"), "m").collect(engine="in-memory")["m"]
    assert got.null_count() == want.null_count()
    assert got.equals(want)  # bit for bit: the same sums of the same values


@pytest.mark.parametrize("seed", range(6))
def test_xmr_lines_per_phase_equal_the_row_by_row_form(seed: int) -> None:
    from spc.charts._common import bands
    from spc.charts.xmr import SCALE, xmr, xmr_lines

    rng = np.random.default_rng(seed)
    n = 3000
    g = np.cumsum(rng.random(n) < 0.05)
    r = np.cumsum((rng.random(n) < 0.03) | np.r_[True, g[1:] != g[:-1]])
    value = np.round(rng.normal(100, 15, n), 1)
    value[rng.random(n) < 0.01] *= 20
    base = rng.random(n) < (1.0 if seed % 2 == 0 else 0.85)
    if seed == 3:  # a phase with no used point: no centre, no lines
        base[g == g[n // 2]] = False
    screen = np.repeat(rng.random(g[-1] + 1) < 0.7, np.bincount(g))
    frame = pl.DataFrame({"value": value, "_base": base, SEGMENT: r, "_g": g,
                          "screen_outliers": screen}).with_columns(
        pl.col("_g").set_sorted(), pl.col(SEGMENT).set_sorted())
    want = bands(xmr(frame.lazy()), SCALE).collect(engine="in-memory")
    got = xmr_lines(frame.lazy()).collect(engine="in-memory")
    assert got.columns == want.columns
    assert got.equals(want, null_equal=True)
