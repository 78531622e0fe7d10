"""spc.timeliness: the one rule for missing periods and late data, as every reader applies it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from spc import timeliness
from spc.timeliness import data_age, gaps, infer_frequency, publication_lag

D = dt.date


def test_gaps_lists_each_run_of_missing_months_with_its_size() -> None:
    # the real police.uk Staffordshire files: Oct 2018 to Feb 2019, then Jan to Apr 2024
    periods = [D(2018, m, 1) for m in (10, 11, 12)] + [D(2019, m, 1) for m in (1, 2)] + \
        [D(2024, m, 1) for m in (1, 2, 3, 4)]
    found = gaps(pl.DataFrame({"series": "asb", "period": periods}), "month", key=("series",))
    assert found.rows() == [("asb", D(2019, 3, 1), D(2023, 12, 1), 58)]


def test_gaps_counts_in_the_indicators_own_grain() -> None:
    quarters = [D(2014, 1, 1), D(2014, 4, 1), D(2015, 1, 1)]
    found = gaps(pl.DataFrame({"period": quarters}), "quarter", key=())
    assert found.rows() == [(D(2014, 7, 1), D(2014, 10, 1), 2)]
    # consecutive quarters are not two missing months each
    assert gaps(pl.DataFrame({"period": quarters[:2]}), "quarter", key=()).is_empty()


def test_data_age_reads_as_the_issue_asks() -> None:
    age = data_age(D(2024, 4, 1), "month", D(2026, 12, 5), lag=1)
    assert age.text() == "latest data: April 2024, 31 months ago (late: 30 later months are due)"
    assert age.late
    on_time = data_age(D(2026, 10, 1), "month", D(2026, 12, 5), lag=1)
    assert not on_time.late and on_time.text() == "latest data: October 2026, 1 month ago"
    # one more period of lag and September is on time too; without it, it is late
    assert not data_age(D(2026, 9, 1), "month", D(2026, 12, 5), lag=2).late
    assert data_age(D(2026, 9, 1), "month", D(2026, 12, 5), lag=1).periods_overdue == 1


def test_publication_lag_comes_from_the_sources_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text("[expect]\ndefault_lag_periods = 2\n[expect.lag_periods]\nslow = 6\n", encoding="utf-8")
    monkeypatch.setenv("SPC_SOURCES", str(sources))
    assert publication_lag("slow") == 6 and publication_lag("other") == 2
    # a quarterly series published 6 quarters late is not 'late' 5 quarters on
    assert not data_age(D(2025, 1, 1), "quarter", D(2026, 12, 5), indicator_id="slow").late
    assert data_age(D(2025, 1, 1), "quarter", D(2026, 12, 5), indicator_id="other").late
    # the file is re-read when it changes
    sources.write_text("[expect]\ndefault_lag_periods = 0\n", encoding="utf-8")
    assert publication_lag("slow") == 0
    # no file: the documented default
    monkeypatch.setenv("SPC_SOURCES", str(tmp_path / "absent.toml"))
    assert publication_lag("slow") == timeliness.DEFAULT_LAG


def test_the_shipped_sources_file_gives_reoffending_its_publication_lag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPC_SOURCES", raising=False)
    assert publication_lag("proven_reoffending_rate") == 6
    assert publication_lag("asb_incidents") == 2


def test_infer_frequency_from_the_smallest_step() -> None:
    assert infer_frequency([D(2014, 1, 1), D(2014, 4, 1), D(2015, 1, 1)]) == "quarter"
    assert infer_frequency([D(2018, 10, 1), D(2018, 11, 1), D(2024, 1, 1)]) == "month"
    assert infer_frequency([D(2020, 4, 1), D(2021, 4, 1)]) == "year"


def test_digest_overdue_and_data_age_agree(demo_db: Path) -> None:
    """The refresh digest's 'expected data that did not arrive' and the readers' late mark are one rule."""
    from spc.digest import overdue_series
    from spc.store import connect

    today = D(2027, 6, 5)  # far enough on that the demo's series are late by any lag
    con = connect(demo_db, read_only=True)
    try:
        overdue = overdue_series(con, today)
        latest = con.execute("SELECT o.indicator_id, o.area_code, i.frequency, max(o.period_start) FROM observation o "
                             "JOIN indicator i ON i.id = o.indicator_id GROUP BY ALL").fetchall()
    finally:
        con.close()
    late = {(i, a) for i, a, f, p in latest if data_age(p, f, today, indicator_id=i).late}
    assert late and set(zip(overdue["indicator_id"], overdue["area_code"])) == late
