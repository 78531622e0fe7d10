"""The briefing pack's words match its charts (issue 10): every page names the special-cause
episodes on its chart, says how old its latest figure is, suggests a recalculation where the
limits average two levels, and reads in plain English (no rule labels or test statistics)."""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from spc.brief import build_brief

JARGON = ("UCL", "LCL", "Common Cause", "2 in 3", "Above CL", "Below CL", "p = ", "p < ", "lag-1",
          "autocorrelation", "Mann-Kendall")


def _pages(path: Path) -> dict[str, list[str]]:
    """Indicator name -> the narrative paragraphs of its page."""
    document = path.read_text()
    out = {}
    for section in re.split(r'<section class="page(?: dense)?">', document)[2:]:
        name = html.unescape(re.search(r"<h2>(.*?)</h2>", section).group(1))
        body = re.search(r'<div class="narrative">(.*?)</div>', section, re.S).group(1)
        out[name] = [html.unescape(p) for p in re.findall(r"<p[^>]*>(.*?)</p>", body)]
    return out


@pytest.fixture(scope="module")
def pack(demo_db, tmp_path_factory) -> dict[str, list[str]]:
    out = tmp_path_factory.mktemp("pack") / "briefing.html"
    build_brief(demo_db, out)
    return _pages(out)


def _flagged(db: Path, indicator: str) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM result_point WHERE indicator_id = ? AND area_code = 'staffordshire' "
                           "AND point_type <> 'common_cause'", [indicator]).fetchone()[0]
    finally:
        con.close()


def test_the_999_page_no_longer_claims_no_change_over_a_history_of_special_cause(pack, demo_db):
    assert _flagged(demo_db, "calls_999_answered_10s") > 40
    page = pack["999 calls answered within 10 seconds"]
    text = " ".join(page)
    assert "No change" not in text and "since the series began" not in text
    count = re.search(r"Beyond normal variation in the period shown \(April 2018 to \w+ \d{4}\): (\d+) episodes", text)
    assert count, page
    episodes = [p for p in page if re.match(r"(From|In) \w+ \d{4}.* (higher|lower) than usual, (an improvement|a concern)", p)]
    assert len(episodes) == int(count[1])
    # the dip below the limits is there, called a concern
    assert any("lower than usual, a concern" in p and "below the lower process limit" in p for p in episodes)


def test_every_page_says_how_old_its_data_is_in_plain_english(pack):
    assert len(pack) == 64
    for name, page in pack.items():
        ages = [p for p in page if p.startswith("Latest data: ")]
        assert len(ages) == 1, name
        text = " ".join(page)
        for word in JARGON:
            assert word not in text, (name, word)
        assert not re.search(r"\b1 (crossings|points|months|episodes)\b", text), name
        assert "since the series began" not in text or "Beyond normal variation" not in text, name


def test_limits_that_average_two_levels_are_flagged_for_an_analyst(pack):
    suggested = {n: p for n, page in pack.items() for p in page if p.startswith("The limits average two different levels")}
    assert suggested, "the demo has level shifts; some page should suggest a recalculation"
    for sentence in suggested.values():
        assert re.search(r"an analyst may recalculate from (\w{3} \d{4}|\w{3}–\w{3} \d{4})\.$", sentence), sentence


def test_a_pack_for_a_past_period_measures_data_age_at_that_period(demo_db, tmp_path):
    out = tmp_path / "march.html"
    build_brief(demo_db, out, period="2024-03", indicator_ids=["calls_999_answered_10s"])
    page = _pages(out)["999 calls answered within 10 seconds"]
    assert "Latest data: March 2024, just ended." in page
    assert dt.date.today().year > 2024  # today it would be years late; the March 2024 pack is not


@pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("pdftotext")),
                    reason="needs chromium and poppler-utils (make browser-deps)")
def test_every_indicator_still_fits_one_printed_page(demo_db, tmp_path):
    # Long histories have many episodes: the list goes in two columns and the chart gets shorter,
    # so no page of the paper spills its narrative or its source line onto the next.
    out = tmp_path / "all.pdf"
    result = build_brief(demo_db, out)
    pages = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True,
                           check=True).stdout.split("\f")
    with_source = [p for p in pages if "Source:" in p]
    assert len(with_source) == result.pages == 64
    for page in with_source:
        flat = " ".join(page.split())
        assert "Staffordshire (force-wide) · " in flat and "Latest data: " in flat, flat[:200]


REAL_ASB = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "police_uk" / "staffordshire"


@pytest.mark.skipif(not REAL_ASB.exists(), reason="../shared/realdata not present")
def test_the_real_police_uk_asb_page_says_two_levels_the_gap_and_the_age(tmp_path):
    # The case: 5 months of 2018/19 at 2,400-3,200, then (58 months missing) 4 months of
    # 2024 at 900-1,050, drawn as one phase with an average of 1,921 that describes neither.
    from spc.cli import main

    db = tmp_path / "real.duckdb"
    assert main(["db", "init", "--empty", "--db", str(db)]) == 0
    assert main(["import", "police-uk", str(REAL_ASB), "--db", str(db)]) == 0
    out = tmp_path / "asb.html"
    build_brief(db, out, indicator_ids=["asb_incidents"])
    page = next(iter(_pages(out).values()))
    assert "From October 2018 to February 2019, 5 points were higher than usual, a concern: 5 points in a row above " \
           "the upper process limit." in page
    assert "From January 2024 to April 2024, 4 points were lower than usual, an improvement: 4 points in a row below " \
           "the lower process limit." in page
    assert ("The limits average two different levels (about 2,673 before January 2024 and about 982 from then); an "
            "analyst may recalculate from Jan 2024.") in page
    assert "58 months are missing between the figures: from March 2019 to December 2023." in page
    assert any(re.fullmatch(r"Latest data: April 2024, \d+ months ago \(late: \d+ later months are due\)\.", p)
               for p in page)
    assert not any("No change" in p or "since the series began" in p for p in page)


def test_a_dense_page_keeps_a_readable_chart_and_sets_its_words_smaller(demo_db, tmp_path):
    """The longest narratives (many episodes, intervention verdicts, the dependence caution)
    once shrank their control chart to a 30-pixel strip; now the chart keeps MIN_CONTROL_HEIGHT
    and the words go into smaller type (the PDF test above checks each page still fits)."""
    from spc.brief import MIN_CONTROL_HEIGHT

    out = tmp_path / "all.html"
    build_brief(demo_db, out)
    document = out.read_text()
    charts = document.split("Plotly.newPlot(")[1:]
    control = [c for c in charts if '"text":"Moving range chart"' not in c]
    heights = [int(re.findall(r'"height":(\d+)', c)[-1]) for c in control]
    assert len(heights) == 64 and min(heights) >= MIN_CONTROL_HEIGHT
    assert MIN_CONTROL_HEIGHT in heights  # the demo has pages that long
    dense = re.findall(r'<section class="page dense"><h2>([^<]*)</h2>', document)
    assert "999 calls answered within 10 seconds" in dense
