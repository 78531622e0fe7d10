"""Property tests (hypothesis): the analysis of a series does not depend on the other
series analysed with it, on the order of the rows, or on the series' names."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spc.engine import SeriesSpec, analyse

CHARTS = ["xmr", "run", "c", "g", "t", "p", "pp", "u", "up", "xbar", "s"]
#: subgroup sizes drawn for Xbar (a subgroup of one has no limits) and S (one would have no s)
SUBGROUP_SIZES = {"xbar": (1, 4), "s": (2, 4)}


@st.composite
def series_set(draw: st.DrawFn) -> tuple[pl.DataFrame, dict[str, SeriesSpec]]:
    """A few series of random length and chart, with ties, rebases and exclusions; Xbar and S
    series have several measurements (rows) per period, of varying number."""
    frames, specs = [], {}
    for i in range(draw(st.integers(1, 3))):
        n = draw(st.integers(2, 30))
        chart = draw(st.sampled_from(CHARTS))
        dates = [dt.date(2020 + k // 12, k % 12 + 1, 1) for k in range(n)]
        # small integer counts give ties and points on the centre line
        num = draw(st.lists(st.integers(0, 12), min_size=n, max_size=n))
        den = draw(st.lists(st.integers(12, 40), min_size=n, max_size=n))
        value = [float(v) + (1.0 if chart == "t" else 0.0) for v in num]
        name = f"s{i}"
        frame = pl.DataFrame({"series": name, "period": dates, "value": value,
                              "numerator": [float(v) for v in num],
                              "denominator": [float(d) for d in den]})
        if chart in SUBGROUP_SIZES:
            sizes = draw(st.lists(st.integers(*SUBGROUP_SIZES[chart]), min_size=n, max_size=n))
            total = sum(sizes)
            measured = draw(st.lists(st.integers(0, 12), min_size=total, max_size=total))
            frame = pl.DataFrame({"series": name,
                                  "period": [d for d, k in zip(dates, sizes) for _ in range(k)],
                                  "value": [float(v) for v in measured],
                                  "numerator": None, "denominator": None},
                                 schema=frame.schema)
        frames.append(frame)
        rebase = tuple(draw(st.lists(st.sampled_from(dates), max_size=2)))
        exclude = tuple(draw(st.lists(st.sampled_from(dates), max_size=2)))
        specs[name] = SeriesSpec(
            chart=chart, improvement=draw(st.sampled_from(["increase", "decrease", "neutral"])),
            rebase=rebase, exclude=exclude,
            baseline_points=draw(st.one_of(st.none(), st.integers(2, 12))),
            screen_outliers=draw(st.booleans()),
            two_sigma=draw(st.sampled_from(["current", "legacy"])),
            shift=draw(st.integers(6, 8)), trend=draw(st.integers(6, 8)),
            rule_set=draw(st.sampled_from(["mdc", "mdc", "western_electric", "nelson"])))
    return pl.concat(frames), specs


SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(series_set())
def test_many_series_together_equal_each_alone(case: tuple) -> None:
    data, specs = case
    together = analyse(data, specs)
    for name, spec in specs.items():
        alone = analyse(data.filter(pl.col("series") == name), spec)
        pick = pl.col("series") == name
        assert alone.points.equals(together.points.filter(pick))
        assert alone.phases.equals(together.phases.filter(pick))
        assert alone.summary.equals(together.summary.filter(pick))


@SETTINGS
@given(series_set(), st.randoms(use_true_random=False))
def test_row_order_is_irrelevant(case: tuple, rnd) -> None:
    data, specs = case
    order = list(range(data.height))
    rnd.shuffle(order)
    shuffled = data[order]
    a, b = analyse(data, specs), analyse(shuffled, specs)
    assert a.points.equals(b.points) and a.phases.equals(b.phases)
    assert a.summary.equals(b.summary)


@SETTINGS
@given(series_set())
def test_series_names_are_irrelevant(case: tuple) -> None:
    data, specs = case
    # names that sort in the opposite order
    rename = {name: f"{'z' * (10 - i)}-{name}" for i, name in enumerate(specs)}
    renamed = data.with_columns(pl.col("series").replace_strict(rename))
    a = analyse(data, specs)
    b = analyse(renamed, {rename[k]: v for k, v in specs.items()})
    back = {v: k for k, v in rename.items()}
    for frame_a, frame_b in ((a.points, b.points), (a.phases, b.phases),
                             (a.summary, b.summary)):
        restored = frame_b.with_columns(pl.col("series").replace_strict(back)).sort(
            [c for c in ("series", "period", "phase") if c in frame_b.columns][:2])
        assert frame_a.equals(restored)
