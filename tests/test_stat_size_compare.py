"""Size and power of spc.compare's two-period tests and its overdispersion estimate, by
simulation at fixed seeds, next to the nominal figure.

Measured (seeds below):

| what | series | rate | nominal |
|---|---|---|---|
| proportions "beyond chance" (Fisher's exact) | 2,000 pairs, p 0.3, n 400 and 410, no change | 4.2% | 5% |
| same | 0.30 -> 0.40 | 83% | power |
| the normal z-test it replaced | no change | 4.5% | 5% |
| count series called overdispersed (Pearson chi2 test) | pure Poisson, mean 20, 24 months | 4.4% | 5% |
| same | variance 3 x mean (negative binomial) | 98% (median phi 2.9) | power |
| same | variance 6 x mean | 100% (median phi 5.7) | power |
| the median moving range estimate it replaced (phi > 1) | pure Poisson | 39% | (none) |
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from scipy import stats

from spc import compare

R = 2000


def months(n: int, start: dt.date = dt.date(2022, 1, 1)) -> list[dt.date]:
    return [dt.date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1) for i in range(n)]


def counts_frame(y: np.ndarray) -> pl.DataFrame:
    r, n = y.shape
    return pl.DataFrame({"series": np.repeat([f"s{i:04d}" for i in range(r)], n),
                         "period": months(n) * r, "value": y.ravel().astype(float)})


def test_proportion_comparison_holds_its_size_and_names_its_test() -> None:
    rng = np.random.default_rng(13)
    n1, n2 = 400, 410
    x1, x2 = rng.binomial(n1, 0.3, R), rng.binomial(n2, 0.3, R)
    r = compare.compare_proportions(x1, n1, x2, n2)
    size = float(np.mean(r["p_value"] < 0.05))
    assert size <= 0.05, size  # measured 4.2% (Fisher's exact test is conservative)
    assert set(r["method"]) == {"Fisher's exact test"}
    pooled = (x1 + x2) / (n1 + n2)
    z = (x2 / n2 - x1 / n1) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    assert np.mean(2 * stats.norm.sf(np.abs(z)) < 0.05) > size  # measured 4.5%
    up = compare.compare_proportions(x1, n1, rng.binomial(n2, 0.4, R), n2)
    assert np.mean(up["p_value"] < 0.05) >= 0.8  # measured 83%
    # the case: 120/400 -> 150/410 is within chance (z-test p 0.047, Fisher 0.053)
    case = compare.compare_proportions(120, 400, 150, 410)
    assert case["verdict"][0] == compare.NOT_BEYOND and 0.05 < case["p_value"][0] < 0.06


def test_overdispersion_is_called_at_its_nominal_rate_and_caught_when_real() -> None:
    rng = np.random.default_rng(14)
    n, mean = 24, 20.0
    pure = compare.dispersion(counts_frame(rng.poisson(mean, (R, n))))
    called = float((pure["dispersion"] > 1).mean())
    assert 0.03 <= called <= 0.07, called  # measured 4.4%
    for ratio, bound in ((3.0, 0.95), (6.0, 0.99)):
        # negative binomial with variance ratio x mean
        p = 1 / ratio
        y = rng.negative_binomial(mean * p / (1 - p), p, (R, n))
        got = compare.dispersion(counts_frame(y))
        assert float((got["dispersion"] > 1).mean()) >= bound  # measured 98% and 100% (median phi 2.9 and 5.7)
        assert abs(float(got["dispersion"].median()) - ratio) < 0.25 * ratio  # phi near the truth
