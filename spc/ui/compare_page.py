"""Compare areas: funnel plot and ranked table for one indicator and period."""

from __future__ import annotations

import datetime as dt

import polars as pl
import streamlit as st

from spc import plots
from spc.ui import common
from spc.ui.data import Overview, series_data, stamp
from spc.ui.indicator import choose_indicator

BAND_WORDS = {
    "within": "Within the expected range",
    "above_95": "Higher than expected (95% limit)",
    "above_99.8": "Higher than expected (99.8% limit)",
    "below_95": "Lower than expected (95% limit)",
    "below_99.8": "Lower than expected (99.8% limit)",
}


def area_window(points: pl.DataFrame, end: dt.date, months: int) -> pl.DataFrame:
    """Per area: totals of numerator and denominator (and value) over the `months` ending at `end`."""
    start_m = end.year * 12 + end.month - 1 - (months - 1)
    start = dt.date(start_m // 12, start_m % 12 + 1, 1)
    return (points.filter(pl.col("period").is_between(start, end))
            .group_by("area_code", "area_name", maintain_order=True)
            .agg(periods=pl.len(), numerator=pl.col("numerator").sum(), denominator=pl.col("denominator").sum(),
                 total=pl.col("value").sum(), mean=pl.col("value").mean(),
                 has_den=pl.col("denominator").is_not_null().all()))


def render(ov: Overview, path: str) -> None:
    """The compare-areas page."""
    st.title("Compare areas")
    common.notices(ov)
    local_ids = set(ov.indicators.filter(pl.col("local"))["id"].to_list())
    ind_id, _ = choose_indicator(ov, with_area=False)
    meta = ov.indicators.filter(pl.col("id") == ind_id).row(0, named=True)
    if ind_id not in local_ids:
        st.info(f"{meta['name']} is reported force-wide only, so there are no areas to compare. "
                "Choose an indicator reported by area.")
        return
    sd = series_data(path, stamp(path), ind_id)
    points = sd.points.filter(pl.col("area_type") != "force")
    periods = sorted(points["period"].unique().to_list(), reverse=True)
    c1, c2 = st.columns(2)
    end = c1.selectbox("Period ending", periods, format_func=lambda d: plots.format_period(d, meta["frequency"]),
                       key="compare_period")
    months = c2.radio("Window", [1, 3, 12], index=2, horizontal=True, key="compare_window",
                      format_func=lambda m: {1: "that month", 3: "3 months", 12: "12 months"}[m])
    win = area_window(points, end, months)
    unit = meta["unit"]
    st.markdown(
        "A **funnel plot** compares areas fairly: small areas vary more by chance, so the limits are "
        "wider where the numbers are small. An area outside the funnel differs by more than chance gives.")
    ranked = win.sort("area_name")
    if win["has_den"].all() and win.height >= 3:
        from spc import compare

        kind = "proportion" if unit == "%" else "rate"
        try:
            f = compare.funnel(win.select(pl.col("area_name"), "numerator", "denominator"), unit="area_name",
                               kind=kind, per=100.0 if unit == "%" else 1.0)
            fig = compare.funnel_figure(f, title=f"{meta['name']}, {months} months to "
                                        f"{plots.format_period(end, meta['frequency'])}",
                                        value_label=unit, percent=False)
            fig.update_layout(height=520, font={"size": 16})
            st.plotly_chart(fig, width="stretch", key="funnel")
            for note in f.notes:
                st.caption(note)
            bands = f.units.select(pl.col("unit").alias("area_name"), "band", "value")
            ranked = win.join(bands, on="area_name").sort("value", descending=True).select(
                pl.col("area_name").alias("Area"),
                pl.col("value").map_elements(lambda v: plots.format_value(v / 100 if unit == "%" else v, unit),
                                             return_dtype=pl.String).alias("Value"),
                pl.col("numerator").alias("Numerator"), pl.col("denominator").alias("Denominator"),
                pl.col("band").replace_strict(BAND_WORDS, default=pl.col("band")).alias("Compared with the other areas"))
        except Exception as exc:  # funnel needs 3+ usable areas; say why instead of failing
            st.warning(f"The funnel plot could not be drawn: {exc}")
    else:
        st.info("This indicator is a count without a population or other denominator, so a funnel plot "
                "cannot be drawn fairly. The table ranks the areas and shows whether each area's own chart "
                "shows a change beyond normal variation.")
        latest = ov.summary.filter(pl.col("indicator_id") == ind_id).select(
            "area_code", "variation", "improvement")
        value_col = "total" if unit == "count" else "mean"
        ranked = (win.join(latest, on="area_code", how="left").sort(value_col, descending=True)
                  .select(pl.col("area_name").alias("Area"),
                          pl.col(value_col).map_elements(lambda v: plots.format_value(v, unit),
                                                         return_dtype=pl.String)
                          .alias("Total" if value_col == "total" else "Average"),
                          pl.col("periods").alias("Periods"),
                          pl.col("variation").replace_strict(plots.VARIATION_LABELS, default="–")
                          .alias("Latest point on its own chart")))
    st.subheader("Ranked table")
    st.dataframe(ranked, hide_index=True, width="stretch")
