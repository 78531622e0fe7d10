"""The Summary leads with what needs attention (issue 10 item 5, with items 3 and 4's share):
AppTest on the demo store and on a small planted store (tests/summary_support.py)."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from spc import plots
from spc.chance import about, chance_figure
from spc.narrative import rule_words
from spc.timeliness import data_age
from spc.ui.summary import today
from summary_support import NATIONAL_CODE, NATIONAL_NAME, add_new_concern, build_planted_store
from test_app import query, run_app

FORCE = "staffordshire"


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bool]:
    """The planted store after a refresh that found one new concern (read only)."""
    path = tmp_path_factory.mktemp("planted") / "indicators.duckdb"
    national = build_planted_store(path)
    add_new_concern(path)
    return path, national


def _page_html(at: AppTest) -> str:
    """The page's HTML blocks (st.html), in page order: the Summary draws its text and tables there."""
    return "\n".join(h.proto.body for h in at.html)


def _html(at: AppTest, marker: str) -> str:
    """The first element of the page whose opening tag carries `marker` (e.g. 'class="spc-matrix"'),
    whole, to its closing tag: the block a reader sees."""
    page = _page_html(at)
    start = page.find(marker)
    assert start >= 0, f"nothing on the page contains {marker!r}"
    start = page.rfind("<", 0, start)
    tag = re.match(r"<(\w+)", page[start:]).group(1)
    depth = 0
    for m in re.finditer(rf"<(/?){tag}\b[^>]*>", page[start:]):
        depth += -1 if m.group(1) else 1
        if depth == 0:
            return page[start:start + m.end()]
    raise AssertionError(f"{marker!r}: the element is not closed")


def _tables(at: AppTest) -> list[str]:
    """Every summary table on the page, in page order (the main one first)."""
    return re.findall(r'<table class="spc-summary".*?</table>', _page_html(at), re.S)



def _names_in_order(table: str) -> list[str]:
    return [html.unescape(n) for n in re.findall(r'<a href="\?page=indicator[^"]*" target="_self">([^<]+)</a>', table)]


def _force_rows(db: Path) -> pl.DataFrame:
    return query(db, """
        SELECT r.indicator_id, i.name, r.variation, r.assurance, r.latest_period, r.latest_value, i.unit,
               i.frequency, i.priority, i.sort_order
        FROM result_summary r JOIN indicator i ON i.id = r.indicator_id WHERE r.area_code = ?""", [FORCE])


def _latest_rule(db: Path, indicator_id: str, area: str = FORCE) -> str:
    return query(db, "SELECT rule FROM result_point WHERE indicator_id = ? AND area_code = ? "
                     "ORDER BY period DESC LIMIT 1", [indicator_id, area])["rule"][0]


# ---------------------------------------------------------------------------------------------
# 1. the concerns and new signals named, each with one line of why
# ---------------------------------------------------------------------------------------------


def test_first_screen_names_every_concern_with_its_rule_when_and_latest_value(monkeypatch, demo_db):
    concerns = _force_rows(demo_db).filter(pl.col("variation") == "special_cause_concern")
    assert concerns.height >= 2
    at = run_app(monkeypatch, demo_db, "summary")
    block = _html(at, 'class="spc-attention"')
    items = block.split("<li>")[1:]
    for r in concerns.iter_rows(named=True):
        item = next((i for i in items if f">{html.escape(r['name'])}</a>" in i), None)
        assert item, f"{r['name']} is a concern but is not named first"
        assert f'href="?page=indicator&amp;indicator={r["indicator_id"]}&amp;area={FORCE}"' in item \
            or f'href="?page=indicator&indicator={r["indicator_id"]}&area={FORCE}"' in item
        assert html.escape(rule_words(_latest_rule(demo_db, r["indicator_id"]))) in item
        assert f"latest {plots.format_value(r['latest_value'], r['unit'])} " \
               f"({plots.format_period(r['latest_period'], r['frequency'])})" in html.unescape(item)
        assert re.search(r"(since|in) [A-Z][a-z]{2} \d{4}", item), item  # when it happened


def test_planted_new_signal_and_missed_target_are_named_most_pressing_first(monkeypatch, planted):
    db, _ = planted
    at = run_app(monkeypatch, db, "summary")
    block = _html(at, 'class="spc-attention"')
    # the new concern (robbery) first, then the standing concern, then the standard that will be missed;
    # the improvement, the neutral outcome change and the steady series are not named
    assert _names_in_order(block) == ["Crime: Robbery", "Crime: Burglary", "Fire attendance standard met"]
    robbery = block.split("<li>")[1]
    assert "NEW" in robbery and "concern" in robbery
    assert rule_words(_latest_rule(db, "crime_robbery")) in html.unescape(robbery)
    fire = block.split("<li>")[3]
    assert "will not be met" in fire and "latest 6" in fire  # about 60%


# ---------------------------------------------------------------------------------------------
# 2. the Making Data Count matrix, counts that click through
# ---------------------------------------------------------------------------------------------


def _matrix_links(block: str) -> list[tuple[dict[str, str], int]]:
    links = re.findall(r'<td(?: class="spc-total")?><a href="([^"]+)" target="_self"[^>]*>(\d+)</a></td>', block)
    return [({k: v[0] for k, v in parse_qs(urlparse(html.unescape(h)).query).items()}, int(n)) for h, n in links]


def _expected_cell(rows: pl.DataFrame, params: dict[str, str]) -> pl.DataFrame:
    out = rows.filter(pl.col("variation") == params["variation"])
    if "direction" in params:
        up = pl.col("improvement") != "decrease"
        high = {"special_cause_improvement": up, "special_cause_concern": ~up,
                "special_cause_neutral_high": pl.lit(True), "special_cause_neutral_low": pl.lit(False)}[params["variation"]]
        out = out.filter(high if params["direction"] == "high" else ~high)
    if "assurance" in params:
        out = out.filter(pl.col("assurance").fill_null("none") == params["assurance"])
    return out


def test_matrix_counts_every_indicator_once_and_each_count_filters_the_table(monkeypatch, demo_db):
    rows = query(demo_db, """SELECT i.name, r.variation, r.assurance, r.improvement FROM result_summary r
                             JOIN indicator i ON i.id = r.indicator_id WHERE r.area_code = ?""", [FORCE])
    at = run_app(monkeypatch, demo_db, "summary")
    block = _html(at, 'class="spc-matrix"')
    links = _matrix_links(block)
    cells = [(p, n) for p, n in links if "assurance" in p]
    totals = [(p, n) for p, n in links if "assurance" not in p]
    assert sum(n for _, n in cells) == rows.height == sum(n for _, n in totals)
    for params, n in links:
        assert params["page"] == "summary" and params["area"] == FORCE
        assert _expected_cell(rows, params).height == n, params
    # the concern row's count opens the Summary showing exactly those indicators
    params, n = next((p, n) for p, n in cells if p["variation"] == "special_cause_concern")
    state = {f"summary_{k}": v for k, v in params.items() if k in ("variation", "direction", "assurance")}
    at = run_app(monkeypatch, demo_db, "summary", **state)
    shown = [name for t in _tables(at) for name in _names_in_order(t)]
    assert sorted(shown) == sorted(_expected_cell(rows, params)["name"].to_list())
    assert f"Showing **{n}** indicators" in "\n".join(m.value for m in at.markdown)
    # and one click shows everything again (the police.uk outcomes in their own block, opened)
    next(b for b in at.button if b.label == "Show every indicator").click()
    at.session_state["summary_outcomes"] = True
    at.run()
    assert len([name for t in _tables(at) for name in _names_in_order(t)]) == rows.height


def test_matrix_filter_arrives_through_the_address(monkeypatch, demo_db):
    """A count's link is an address: opened afresh, the app reads the cell from it."""
    monkeypatch.setenv("SPC_DB", str(demo_db))
    from test_app import APP

    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params.update({"page": "summary", "area": FORCE, "variation": "common_cause", "assurance": "inconsistent"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    rows = query(demo_db, """SELECT i.name FROM result_summary r JOIN indicator i ON i.id = r.indicator_id
                             WHERE r.area_code = ? AND variation = 'common_cause' AND assurance = 'inconsistent'""",
                 [FORCE])
    shown = [name for t in _tables(at) for name in _names_in_order(t)]
    assert sorted(shown) == sorted(rows["name"].to_list()) and shown


# ---------------------------------------------------------------------------------------------
# 3. needs attention first, across every priority; plan order stays
# ---------------------------------------------------------------------------------------------


def _rank(r: dict) -> int:
    concern, fail = r["variation"] == "special_cause_concern", r["assurance"] == "consistent_fail"
    if concern and fail:
        return 0
    if concern:
        return 1
    if fail:
        return 2
    if r["variation"].startswith("special_cause_neutral"):
        return 3
    if r["assurance"] == "inconsistent":
        return 4
    return 5 if r["variation"] == "special_cause_improvement" else 6


@pytest.mark.parametrize("store", ["demo", "planted"])
def test_needs_attention_first_orders_across_all_priorities(monkeypatch, demo_db, planted, store):
    db = demo_db if store == "demo" else planted[0]
    rows = {r["name"]: r for r in _force_rows(db).iter_rows(named=True)}
    at = run_app(monkeypatch, db, "summary", summary_sort="Needs attention first")
    main = _tables(at)[0]
    order = _names_in_order(main)
    ranks = [_rank(rows[n]) for n in order]
    assert ranks == sorted(ranks), list(zip(order, ranks))
    assert 'class="spc-priority"' not in main  # one list, not one per priority
    if store == "demo":  # the concerns come from more than one priority, and lead together
        concerns = [n for n in order if rows[n]["variation"] == "special_cause_concern"]
        assert len({rows[n]["priority"] for n in concerns}) >= 2 and order[:len(concerns)] == concerns
    else:
        assert order[:3] == ["Crime: Robbery", "Crime: Burglary", "Fire attendance standard met"]


def test_plan_order_keeps_priorities_in_catalogue_order(monkeypatch, demo_db):
    at = run_app(monkeypatch, demo_db, "summary", summary_sort="Plan order")
    main = _tables(at)[0]
    headings = re.findall(r'<tr class="spc-priority"><td colspan="\d+">([^<]+)</td>', main)
    catalogue = query(demo_db, """SELECT priority, min(sort_order) AS o FROM indicator WHERE id IN
                                  (SELECT indicator_id FROM result_summary WHERE area_code = 'staffordshire')
                                  AND id NOT LIKE 'outcome_%' GROUP BY priority ORDER BY o""")
    assert [html.unescape(h) for h in headings] == catalogue["priority"].to_list()


# ---------------------------------------------------------------------------------------------
# 4. police.uk outcomes in one expandable block
# ---------------------------------------------------------------------------------------------


def test_outcomes_are_one_expandable_block_not_rows_of_the_main_table(monkeypatch, demo_db):
    outcomes = query(demo_db, """SELECT i.name, r.variation FROM result_summary r JOIN indicator i
                                 ON i.id = r.indicator_id WHERE r.area_code = ? AND i.name LIKE 'Outcome:%'""", [FORCE])
    assert outcomes.height == 28
    at = run_app(monkeypatch, demo_db, "summary")
    main = _tables(at)[0]
    assert "Outcome:" not in main
    changed = outcomes.filter(pl.col("variation") != "common_cause").height
    label = f"Crime outcomes (police.uk): {outcomes.height} outcome types, {changed} beyond normal variation"
    assert [e.label for e in at.expander if "outcome" in e.label.lower()] == [label]
    # opened (its table is drawn on opening), it holds every outcome type
    at = run_app(monkeypatch, demo_db, "summary", summary_outcomes=True)
    block = next(e for e in at.expander if e.label == label)
    inside = "".join(h.proto.body for h in block.get("html"))
    assert sorted(_names_in_order(inside)) == sorted(outcomes["name"].to_list())


# ---------------------------------------------------------------------------------------------
# 5. how many signals chance alone would give
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("store", ["demo", "planted"])
def test_says_how_many_concerns_chance_alone_would_give(monkeypatch, demo_db, planted, store):
    db = demo_db if store == "demo" else planted[0]
    series = query(db, """
        SELECT r.variation, r.improvement, r.chart, r.n_points FROM result_summary r
        JOIN area a ON a.code = r.area_code WHERE r.area_code = ?""", [FORCE])
    figure = chance_figure(series)  # no analyst settings in these stores: the catalogue's MDC rules
    at = run_app(monkeypatch, db, "summary")
    block = html.unescape(_html(at, 'class="spc-chance"'))
    expected = (f"{figure.concerns} concern{'s' if figure.concerns != 1 else ''} among {series.height} series; "
                f"about {about(figure.expected_concerns)} would be expected by chance alone")
    assert expected in block
    assert "Making Data Count rules (runs of 7, trends of 7)" in block
    # about 2 in 100 series signal at their latest point by chance
    assert 0.012 * series.height < figure.expected_signals < 0.025 * series.height


# ---------------------------------------------------------------------------------------------
# 6. late indicators marked, with a count up top
# ---------------------------------------------------------------------------------------------


def test_late_indicator_is_counted_named_and_marked(monkeypatch, planted):
    db, _ = planted
    at = run_app(monkeypatch, db, "summary")
    text = _page_html(at)
    assert "<b>1 late</b>" in text
    age = data_age(dt.date(2024, 4, 1), "month", today())
    late = _html(at, 'class="spc-late-list"')
    assert _names_in_order(late) == ["Crime: Shoplifting"] and html.escape(age.text()) in late
    row = next(r for r in _tables(at)[0].split("<tr") if ">Crime: Shoplifting<" in r)
    assert "spc-late" in row and html.escape(age.text()) in row
    others = [r for r in _tables(at)[0].split("<tr") if "spc-late" in r]
    assert len(others) == 1


def test_demo_late_count_follows_the_timeliness_rule(monkeypatch, demo_db):
    rows = _force_rows(demo_db)
    late = [r["name"] for r in rows.iter_rows(named=True)
            if data_age(r["latest_period"], r["frequency"], today(), indicator_id=r["indicator_id"]).late]
    at = run_app(monkeypatch, demo_db, "summary")
    text = _page_html(at)
    assert (f"<b>{len(late)} late</b>" in text) if late else ("none late" in text)


# ---------------------------------------------------------------------------------------------
# 7. national figures: context of their own, never counted as the force's
# ---------------------------------------------------------------------------------------------


def test_national_figures_are_context_for_the_force_never_its_own(monkeypatch, planted):
    db, national = planted
    if not national:
        pytest.skip("this store's schema has no national area type yet")
    at = run_app(monkeypatch, db, "summary")
    text = _page_html(at)
    own = query(db, "SELECT count(*) AS n FROM result_summary WHERE area_code = ?", [FORCE])["n"][0]
    assert f"<b>{own} indicators</b> for Staffordshire (force-wide)" in text
    assert f"<h4>{NATIONAL_NAME} (national context)</h4>" in text
    tables = _tables(at)
    context = next(t for t in tables if "Proven reoffending rate" in t)
    assert f"area={NATIONAL_CODE}" in context
    assert all("Proven reoffending rate" not in t for t in tables if t is not context)
    assert "Proven reoffending rate" not in _html(at, 'class="spc-attention"')
    # the national area is not offered as an area of the force's own
    assert NATIONAL_CODE not in at.selectbox(key="summary_area").options
    assert NATIONAL_NAME not in at.selectbox(key="summary_area").options
    # a partnership area's page shows no national block
    at = run_app(monkeypatch, db, "summary", summary_area="tamworth")
    assert "(national context)" not in _page_html(at)


def test_no_national_block_without_national_figures(monkeypatch, demo_db):
    has = query(demo_db, "SELECT count(*) AS n FROM result_summary r JOIN area a ON a.code = r.area_code "
                         "WHERE a.type = 'national'")["n"][0]
    at = run_app(monkeypatch, demo_db, "summary")
    text = _page_html(at)
    assert ("(national context)" in text) == bool(has)


def test_data_page_lists_late_and_missing_data_by_the_timeliness_rule(monkeypatch, planted):
    db, national = planted
    at = run_app(monkeypatch, db, "data")
    table = next(d.value for d in at.dataframe if "Periods overdue" in d.value.columns)
    rows = {(r["Indicator"], r["Area"]): r for r in table.to_dict("records")}
    late = rows[("Crime: Shoplifting", "Staffordshire (force-wide)")]
    age = data_age(dt.date(2024, 4, 1), "month", today())
    assert late["Latest data"] == age.text() and late["Periods overdue"] == age.periods_overdue > 0
    gap = rows[("Crime: Burglary", "Tamworth")]
    assert gap["Missing periods"] == 5 and gap["Periods overdue"] == 0 and " to " in gap["Where"]
    assert len(rows) == 2  # every other series is complete and on time
    text = "\n".join(m.value for m in at.markdown)
    if national:
        assert "1 national" in text


def test_a_long_attention_list_names_the_most_pressing_and_points_to_the_rest(demo_db):
    from spc.ui import summary
    from spc.ui.data import overview, stamp

    ov = overview(str(demo_db), stamp(demo_db))
    rows = summary.summary_rows(ov, FORCE).with_columns(is_new=pl.lit(True))  # as if every signal were new
    items = summary.attention_items(rows)
    block = summary.attention_html(items)
    named = _names_in_order(block)
    assert len(named) == summary.MAX_NAMED
    assert f"and {items.height - summary.MAX_NAMED} more" in block and "Needs attention first" in block
    concerns = rows.filter(pl.col("variation") == "special_cause_concern")["name"].to_list()
    assert named[:len(concerns)] == [n for n in named if n in concerns]  # concerns lead


def test_why_line_says_the_rule_when_it_began_and_the_latest_value():
    from spc.ui.summary import why_line

    row = {"variation": "special_cause_concern", "assurance": None, "latest_rule": "7 Points Above CL",
           "run_start": dt.date(2025, 1, 1), "latest_period": dt.date(2025, 10, 1), "frequency": "quarter",
           "latest_value": 0.284, "unit": "%"}
    q1, q4 = (plots.format_period(dt.date(2025, m, 1), "quarter") for m in (1, 10))
    assert why_line(row) == (f"{rule_words('7 Points Above CL')}, since {q1} (4 quarters); latest "
                             f"{plots.format_value(0.284, '%')} ({q4})")
    # a single point: when it happened; a missed standard says so
    row.update(latest_rule="Above UCL", run_start=dt.date(2025, 10, 1), assurance="consistent_fail")
    assert why_line(row) == (f"{rule_words('Above UCL')}, in {q4}; the target will not be met unless the "
                             f"process changes; latest {plots.format_value(0.284, '%')} ({q4})")
