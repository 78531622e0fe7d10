"""Figures and icons shared by the app and the briefing pack (spc.plots)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from spc import plots
from spc.engine import SeriesSpec, analyse


def _points(values: list[float], *, exclude: tuple[dt.date, ...] = (), rebase: tuple[dt.date, ...] = (),
            improvement: str = "decrease") -> pl.DataFrame:
    periods = [dt.date(2020 + i // 12, i % 12 + 1, 1) for i in range(len(values))]
    result = analyse(pl.DataFrame({"period": periods, "value": values}),
                     SeriesSpec(chart="xmr", improvement=improvement, exclude=exclude, rebase=rebase))
    return result.points


STEADY = [100.0, 104, 98, 101, 97, 103, 99, 102, 100, 96, 104, 101, 99, 100, 103, 98]


def test_points_are_coloured_by_type_with_mdc_colours():
    values = STEADY + [160.0]  # one point far above the limits: a concern when lower is better
    pts = _points(values)
    assert pts["point_type"][-1] == "special_cause_concern"
    fig = plots.control_chart(pts, unit="count")
    by_name = {t.name: t for t in fig.data if t.mode == "markers"}
    assert by_name[plots.POINT_LABELS["special_cause_concern"]].marker.line.color == plots.ORANGE
    assert by_name[plots.POINT_LABELS["common_cause"]].marker.line.color == plots.GREY
    # every point is drawn once, in the trace of its type, with that type's colour
    counts = dict(pts["point_type"].value_counts().iter_rows())
    for ptype, n in counts.items():
        trace = by_name[plots.POINT_LABELS[ptype]]
        assert len(trace.x) == n
        assert trace.marker.line.color == plots.POINT_COLOURS[ptype]
    assert sum(len(t.x) for t in by_name.values()) == len(values)


def test_excluded_points_are_hollow_and_phases_have_their_own_lines():
    values = STEADY + [130.0, 131, 129, 132, 128, 130, 131, 129, 130, 132, 128, 131, 130]
    periods = [dt.date(2020 + i // 12, i % 12 + 1, 1) for i in range(len(values))]
    pts = _points(values, exclude=(periods[3],), rebase=(periods[len(STEADY)],))
    fig = plots.control_chart(pts, unit="count")
    fills = [(x, c) for t in fig.data if t.mode == "markers" and t.marker.color is not None
             and not isinstance(t.marker.color, str) for x, c in zip(t.x, t.marker.color)]
    hollow = [x for x, c in fills if c == "white"]
    assert hollow == [periods[3]]
    centre = next(t for t in fig.data if t.name == "Average (centre line)")
    # two phases: two runs of centre values separated by a gap (None)
    assert centre.y.count(None) == 2
    assert len({y for y in centre.y if y is not None}) == 2


def test_target_is_drawn_only_when_it_exists_and_is_turned_on():
    pts = _points(STEADY)

    def has_target(fig) -> bool:
        return any("Target" in (a.text or "") for a in fig.layout.annotations)

    assert not has_target(plots.control_chart(pts, unit="count", target=95.0, show_target=False))
    assert not has_target(plots.control_chart(pts, unit="count", target=None, show_target=True))
    fig = plots.control_chart(pts, unit="count", target=95.0, show_target=True)
    assert has_target(fig)
    line = next(s for s in fig.layout.shapes if s.line.dash == "dash")
    assert line.y0 == pytest.approx(95.0)


def test_two_sigma_lines_are_optional():
    pts = _points(STEADY)
    names = lambda fig: {t.name for t in fig.data}  # noqa: E731
    assert "Inner warning lines (2 sigma)" not in names(plots.control_chart(pts))
    assert "Inner warning lines (2 sigma)" in names(plots.control_chart(pts, two_sigma=True))


def test_annotations_become_numbered_markers_with_a_list():
    pts = _points(STEADY)
    anns = pl.DataFrame({"id": [1, 2, 3], "date": [dt.date(2020, 5, 1), dt.date(2020, 5, 1), dt.date(2020, 9, 1)],
                         "kind": ["intervention", "recalculate", "note"],
                         "text": ["New rota", "Limits recalculated", "Heatwave"]})
    fig = plots.control_chart(pts, annotations=anns)
    marks = next(t for t in fig.data if t.name and t.name.startswith("Recorded dates"))
    assert list(marks.text) == ["1, 2", "3"]  # two on one date share a marker
    listed = plots.annotation_list(anns)
    assert listed[0] == "1. May 2020 — Intervention: New rota"
    assert listed[2].startswith("3. Sep 2020 — Note")


def test_proportions_are_plotted_and_shown_as_percentages():
    assert plots.format_value(0.8731, "%") == "87.3%"
    assert plots.format_value(1234.0, "count") == "1,234"
    assert plots.format_value(9.63, "minutes") == "9.63 min"
    assert plots.format_value(None, "%") == "–"
    pts = _points([0.85, 0.86, 0.84, 0.87, 0.85, 0.86, 0.88, 0.85, 0.86, 0.84, 0.85, 0.86], improvement="increase")
    fig = plots.control_chart(pts, unit="%")
    ys = [y for t in fig.data if t.mode == "markers" for y in t.y]
    assert min(ys) > 80 and max(ys) < 90


@pytest.mark.parametrize(("variation", "improvement", "label", "letter", "colour"), [
    ("common_cause", "decrease", "Normal variation", None, plots.GREY),
    ("special_cause_improvement", "decrease", "Improving (lower)", "L", plots.BLUE),
    ("special_cause_improvement", "increase", "Improving (higher)", "H", plots.BLUE),
    ("special_cause_concern", "decrease", "Concern (higher)", "H", plots.ORANGE),
    ("special_cause_neutral_low", "neutral", "Lower than usual", "L", plots.PURPLE),
])
def test_variation_icons_carry_colour_letter_and_words(variation, improvement, label, letter, colour):
    svg = plots.variation_icon_svg(variation, improvement)
    assert f'aria-label="{label}"' in svg
    assert colour in svg
    if letter:
        assert f">{letter}</text>" in svg
    else:
        assert "<text" not in svg


@pytest.mark.parametrize(("assurance", "letter", "colour"), [
    ("consistent_pass", "P", plots.BLUE), ("consistent_fail", "F", plots.ORANGE),
    ("inconsistent", "?", plots.GREY), (None, "–", "#D0D0D0")])
def test_assurance_icons(assurance, letter, colour):
    svg = plots.assurance_icon_svg(assurance)
    assert f">{letter}</text>" in svg and colour in svg
    assert plots.ASSURANCE_LABELS[assurance] in svg


def test_sparkline_marks_the_latest_point_by_type():
    svg = plots.sparkline_svg([1.0, 2.0, 3.0], ["common_cause", "common_cause", "special_cause_concern"])
    assert svg.count("<circle") == 1 and plots.ORANGE in svg
    assert plots.sparkline_svg([1.0]) .startswith("<svg")  # too short: an empty box, not an error


def test_small_multiples_has_one_panel_per_area():
    pts = _points(STEADY)
    frames = [pts.with_columns(area_name=pl.lit(name)) for name in ("Tamworth", "Stafford", "Lichfield")]
    fig = plots.small_multiples(pl.concat(frames))
    assert [a.text for a in fig.layout.annotations] == ["Tamworth", "Stafford", "Lichfield"]


def test_axes_keep_fixed_margins_that_fit_their_titles():
    """Streamlit's chart theme turns on plotly's automargin, which draws a chart twice in the
    browser (issue 14); the charts turn it off, so their own margins must hold the axis titles."""
    pts = _points([10.0, 11, 9, 12, 10, 11, 30, 10, 9, 11, 10, 12, 11, 10])
    for fig in (plots.control_chart(pts, unit="minutes", moving_range=True), plots.control_chart(pts, unit="%"),
                plots.moving_range_chart(pts, unit="minutes")):
        layout = fig.to_plotly_json()["layout"]
        axes = [k for k in layout if k.startswith(("xaxis", "yaxis"))]
        assert axes and all(layout[k].get("automargin") is False for k in axes)
        titled = any((layout[k].get("title") or {}).get("text") for k in axes if k.startswith("yaxis"))
        assert layout["margin"]["l"] >= (72 if titled else 60)
