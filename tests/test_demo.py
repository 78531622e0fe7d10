"""The demo data generator: deterministic, calibrated to the published figures, complete, loadable."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from spc.config import DATA_DIR
from spc.demo import DemoData, generate, latest_full_month, load_demo, parse_month, write_demo
from spc.errors import SpcError
from spc.store import connect, migrate, transaction
from spc.store.catalogue import CATALOGUE_PATH, Catalogue, _read_toml, load_catalogue, read_catalogue

END = dt.date(2026, 10, 1)  # the committed demo data's end month (data/demo/README.md)
FORCE = "staffordshire"


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return read_catalogue()


@pytest.fixture(scope="module")
def demo(catalogue: Catalogue) -> DemoData:
    return generate(catalogue, seed=2024, end=END)


def _force(demo: DemoData, indicator_id: str) -> pl.DataFrame:
    return demo.observations.filter((pl.col("indicator_id") == indicator_id) & (pl.col("area_code") == FORCE))


def _financial_year(frame: pl.DataFrame, year: int) -> pl.DataFrame:
    """April of `year` to March of the next."""
    return frame.filter(pl.col("period_start").is_between(dt.date(year, 4, 1), dt.date(year + 1, 3, 1)))


def _rate(frame: pl.DataFrame) -> float:
    return frame["numerator"].sum() / frame["denominator"].sum()


# --- months ------------------------------------------------------------------------------------

def test_parse_month_reads_year_and_month() -> None:
    assert parse_month("2026-10") == dt.date(2026, 10, 1)
    assert parse_month("2019-3") == dt.date(2019, 3, 1)


@pytest.mark.parametrize("text", ["2026-13", "2026/10", "Oct 2026", "", "2026-10-01"])
def test_parse_month_rejects_other_text(text: str) -> None:
    with pytest.raises(SpcError, match="YYYY-MM"):
        parse_month(text)


def test_default_end_is_the_last_full_month() -> None:
    assert latest_full_month(dt.date(2026, 11, 22)) == dt.date(2026, 10, 1)
    assert latest_full_month(dt.date(2027, 1, 1)) == dt.date(2026, 12, 1)


# --- determinism -------------------------------------------------------------------------------

def test_same_seed_and_end_give_identical_frames(catalogue: Catalogue, demo: DemoData) -> None:
    again = generate(catalogue, seed=2024, end=END)
    assert again.observations.equals(demo.observations)
    assert again.annotations.equals(demo.annotations)


def test_a_different_seed_gives_different_values(catalogue: Catalogue, demo: DemoData) -> None:
    other = generate(catalogue, seed=7, end=END)
    assert other.observations.select("indicator_id", "area_code", "period_start").equals(
        demo.observations.select("indicator_id", "area_code", "period_start"))
    assert not other.observations["value"].equals(demo.observations["value"])


def test_committed_demo_files_are_the_generator_output(demo: DemoData, tmp_path: Path) -> None:
    """data/demo/ cannot drift from the generator: regenerate with `spc demo-data --end 2026-10`."""
    written = write_demo(demo, tmp_path)
    for path in written:
        committed = DATA_DIR / "demo" / path.name
        assert committed.read_bytes() == path.read_bytes(), (
            f"{committed} differs from `spc demo-data --end 2026-10`; regenerate it")
    readme = (DATA_DIR / "demo" / "README.md").read_text()
    assert "illustrative" in readme and "not published data" in readme and "spc demo-data --end 2026-10" in readme


# --- calibration to the published figures ---------------------------------------------------------

# (indicator, financial year, published figure, tolerance): ratio of sums for proportions with
# numerator and denominator, mean of the periods otherwise.
PUBLISHED = [
    ("calls_999_answered_10s", 2023, 0.87, 0.015),
    ("calls_999_mean_answer_seconds", 2023, 9.4, 0.3),
    ("calls_101_resolved_at_triage", 2023, 0.56, 0.015),
    ("emergency_attendance_minutes", 2023, 9.63, 0.4),
    ("fire_attendance_standard_met", 2023, 0.809, 0.015),
    ("fire_attendance_standard_met", 2022, 0.814, 0.015),
    ("fire_mean_attendance_minutes", 2023, 9.34, 0.15),
    ("fire_mean_attendance_minutes", 2022, 9.6, 0.15),
    ("appliance_availability_wholetime", 2023, 0.98, 0.01),
    ("appliance_availability_oncall", 2023, 0.60, 0.025),
    ("victims_kept_informed", 2018, 0.796, 0.015),
    ("victims_kept_informed", 2023, 0.718, 0.015),
    ("victim_referral_48h", 2018, 0.53, 0.015),
    ("victim_referral_48h", 2023, 0.69, 0.015),
]


@pytest.mark.parametrize(("indicator", "year", "figure", "tolerance"), PUBLISHED)
def test_financial_year_matches_the_published_figure(demo: DemoData, indicator: str, year: int,
                                                     figure: float, tolerance: float) -> None:
    year_rows = _financial_year(_force(demo, indicator), year)
    assert year_rows.height in (4, 12)
    actual = _rate(year_rows) if year_rows["denominator"].null_count() == 0 else year_rows["value"].mean()
    assert abs(actual - figure) <= tolerance, f"{indicator} {year}/{year + 1 - 2000}: {actual:.4f} vs {figure}"


def test_single_period_figures(demo: DemoData) -> None:
    emergency = _force(demo, "emergency_attendance_minutes").filter(pl.col("period_start") == dt.date(2024, 3, 1))
    assert emergency["value"].item() == pytest.approx(9.63, abs=0.005)  # March 2024
    confidence = _force(demo, "confidence_emergency_response")
    assert confidence.filter(pl.col("period_start") == dt.date(2024, 1, 1))["value"].item() == pytest.approx(0.62, abs=0.005)
    in_2022 = confidence.filter(pl.col("period_start").dt.year() == 2022)
    assert in_2022.height == 4 and abs(in_2022["value"].mean() - 0.51) <= 0.02


def test_fire_incidents_in_2023_24_are_about_8203(demo: DemoData) -> None:
    incidents = _financial_year(_force(demo, "fire_incidents_attended"), 2023)["value"].sum()
    assert abs(incidents - 8203) <= 0.03 * 8203
    # the attendance standard is measured over those incidents
    standard = _financial_year(_force(demo, "fire_attendance_standard_met"), 2023)
    assert standard["denominator"].sum() == incidents


def test_missing_person_reports_are_about_4000_a_year(demo: DemoData) -> None:
    reports = _force(demo, "missing_person_reports")
    for year in range(2018, 2026):
        assert 3500 <= _financial_year(reports, year)["value"].sum() <= 4500


def test_asb_fell_from_2018_19_levels_to_2024_levels(demo: DemoData) -> None:
    asb = _force(demo, "asb_incidents")
    early = _financial_year(asb, 2018)["value"]
    assert early.len() == 12 and early.is_between(2250, 3350).all() and 2400 <= early.mean() <= 3200
    in_2024 = asb.filter(pl.col("period_start").dt.year() == 2024)["value"]
    assert in_2024.len() == 12 and in_2024.is_between(800, 1200).all() and 900 <= in_2024.mean() <= 1080
    # police.uk Jan-Apr 2024 were 920, 905, 1,054 and 1,049
    assert in_2024.head(4).is_between(850, 1100).all()


def test_asb_peaks_in_summer_and_around_bonfire_night(demo: DemoData) -> None:
    asb = _force(demo, "asb_incidents").filter(pl.col("period_start").dt.year().is_between(2022, 2025))
    by_month = asb.group_by(pl.col("period_start").dt.month().alias("month")).agg(pl.col("value").mean())
    mean = dict(by_month.rows())
    assert (mean[6] + mean[7] + mean[8]) / 3 > 1.04 * (mean[1] + mean[2]) / 2  # under a falling trend
    assert mean[11] > (mean[9] + mean[12]) / 2


def test_999_answering_dipped_in_summer_2022(demo: DemoData) -> None:
    calls = _force(demo, "calls_999_answered_10s")
    summer = calls.filter(pl.col("period_start").is_between(dt.date(2022, 6, 1), dt.date(2022, 8, 1)))
    before = _financial_year(calls, 2021)
    assert _rate(summer) < _rate(before) - 0.08
    received = _force(demo, "calls_999_received")["value"]
    assert received.is_between(18_000, 32_000).all()


# --- completeness --------------------------------------------------------------------------------

def test_every_indicator_of_the_main_catalogue_has_a_demo_calibration(catalogue: Catalogue) -> None:
    main_ids = {entry["id"] for entry in _read_toml(CATALOGUE_PATH)["indicator"]}
    assert {i.id for i in catalogue.indicators if i.demo} >= main_ids


def test_every_indicator_has_data_for_the_force_and_local_ones_for_every_area(
        catalogue: Catalogue, demo: DemoData) -> None:
    local_codes = {a.code for a in catalogue.local_areas}
    assert len(local_codes) == 9
    areas = demo.observations.group_by("indicator_id").agg(pl.col("area_code").unique())
    found = {row[0]: set(row[1]) for row in areas.rows()}
    for ind in catalogue.indicators:
        if not ind.demo:
            continue
        assert found[ind.id] == ({FORCE} | local_codes if ind.local else {FORCE}), ind.id


def test_periods_follow_each_indicator_frequency(catalogue: Catalogue, demo: DemoData) -> None:
    n_months = (END.year - 2018) * 12 + END.month - 4 + 1
    for ind in (i for i in catalogue.indicators if i.demo):  # extras without a demo table are skipped
        rows = _force(demo, ind.id).sort("period_start")
        assert set(rows["period_grain"]) == {ind.frequency}, ind.id
        assert rows["period_start"].min() == dt.date(2018, 4, 1), ind.id
        assert rows["value"].null_count() == 0, ind.id
        if ind.frequency == "month":
            assert rows.height == n_months, ind.id
        else:
            assert set(rows["period_start"].dt.month()) <= {1, 4, 7, 10}, ind.id
            steps = rows["period_start"].dt.year() * 12 + rows["period_start"].dt.month()
            assert (steps.diff().drop_nulls() == 3).all(), ind.id
    assert _force(demo, "victims_satisfied")["period_start"].max() == dt.date(2026, 7, 1)
    # reoffending cohorts are published about 18 months after the cohort quarter
    assert _force(demo, "proven_reoffending_rate")["period_start"].max() == dt.date(2025, 1, 1)


def test_local_counts_add_up_to_the_force(catalogue: Catalogue, demo: DemoData) -> None:
    local_counts = [i.id for i in catalogue.indicators if i.local and i.kind == "count"]
    assert "asb_incidents" in local_counts and "crime_burglary" in local_counts
    obs = demo.observations.filter(pl.col("indicator_id").is_in(local_counts))
    areas = obs.filter(pl.col("area_code") != FORCE).group_by("indicator_id", "period_start").agg(
        pl.col("value").sum().alias("areas"), pl.len().alias("n"))
    joined = obs.filter(pl.col("area_code") == FORCE).join(areas, on=["indicator_id", "period_start"])
    assert joined.height == obs.filter(pl.col("area_code") == FORCE).height
    assert (joined["n"] == 9).all() and (joined["value"] == joined["areas"]).all()
    assert (obs["value"] >= 0).all() and (obs["value"] == obs["value"].round(0)).all()


def test_neighbourhood_crime_is_the_sum_of_its_crime_types(demo: DemoData) -> None:
    parts = ["crime_burglary", "crime_robbery", "crime_theft_from_the_person", "crime_vehicle_crime"]
    total = demo.observations.filter(pl.col("indicator_id").is_in(parts)).group_by("area_code", "period_start").agg(
        pl.col("value").sum().alias("parts"))
    joined = demo.observations.filter(pl.col("indicator_id") == "neighbourhood_crime").join(
        total, on=["area_code", "period_start"])
    assert joined.height > 1000 and (joined["value"] == joined["parts"]).all()


def test_proportions_with_denominators_are_numerator_over_denominator(demo: DemoData) -> None:
    rows = demo.observations.filter(pl.col("denominator").is_not_null())
    assert rows["indicator_id"].n_unique() >= 8
    assert (rows["numerator"] <= rows["denominator"]).all() and (rows["numerator"] >= 0).all()
    assert ((rows["value"] - rows["numerator"] / rows["denominator"]).abs() < 1e-6).all()
    calls = demo.observations.filter(pl.col("indicator_id") == "calls_999_answered_10s")["denominator"]
    assert calls.is_between(18_000, 32_000).all()


def test_step_changes_are_annotated_as_interventions(catalogue: Catalogue, demo: DemoData) -> None:
    ann = demo.annotations
    assert set(ann["kind"]) <= {"intervention", "recalculate", "exclude", "note"}
    interventions = ann.filter(pl.col("kind") == "intervention")
    assert interventions.height >= 10
    steps = {i.id: [s for s in i.demo.get("steps", []) if s.get("text")] for i in catalogue.indicators}
    expected = sum(len(own) + sum(len(steps[part]) for part in catalogue.indicator(ind).demo.get("sum_of", []))
                   for ind, own in steps.items())
    assert interventions.height == expected
    # a total carries its parts' steps: the Tamworth burglary team shows on neighbourhood crime
    tamworth = interventions.filter((pl.col("indicator_id") == "neighbourhood_crime") & (pl.col("area_code") == "tamworth"))
    assert tamworth.height == 1 and "burglary" in tamworth["text"].item()
    assert set(ann["indicator_id"]) <= {i.id for i in catalogue.indicators}
    assert set(ann["area_code"].drop_nulls()) <= {a.code for a in catalogue.local_areas}
    # a step shows in the data: referrals within 48 hours rose after automatic referral (October 2021)
    referral = _force(demo, "victim_referral_48h")
    before = referral.filter(pl.col("period_start").is_between(dt.date(2021, 4, 1), dt.date(2021, 9, 1)))
    after = referral.filter(pl.col("period_start").is_between(dt.date(2022, 1, 1), dt.date(2022, 6, 1)))
    assert _rate(after) > _rate(before) + 0.06


def test_a_bad_calibration_names_the_indicator_and_field(catalogue: Catalogue) -> None:
    ind = catalogue.indicator("ksi_casualties")
    broken = dataclasses.replace(ind, demo={**ind.demo, "amplitude": 0.1})
    with pytest.raises(SpcError, match=r"ksi_casualties.*'amplitude'"):
        generate(Catalogue(indicators=[broken], areas=catalogue.areas), end=END)
    pinned_count = dataclasses.replace(ind, demo={**ind.demo, "pin": {"2024-03": 40}})
    with pytest.raises(SpcError, match=r"ksi_casualties.*'pin'"):
        generate(Catalogue(indicators=[pinned_count], areas=catalogue.areas), end=END)
    no_levels = dataclasses.replace(ind, demo={"cv": 0.1})
    with pytest.raises(SpcError, match=r"ksi_casualties.*'levels'"):
        generate(Catalogue(indicators=[no_levels], areas=catalogue.areas), end=END)


# --- loading ---------------------------------------------------------------------------------------

def _store(path: Path, catalogue: Catalogue):
    con = connect(path, create=True)
    migrate(con)
    with transaction(con):
        load_catalogue(con, catalogue)
    return con


def test_load_demo_twice_is_idempotent(catalogue: Catalogue, demo: DemoData, tmp_path: Path) -> None:
    demo_dir = tmp_path / "demo"
    write_demo(demo, demo_dir)
    con = _store(tmp_path / "store.duckdb", catalogue)
    try:
        with transaction(con):
            first = load_demo(con, demo_dir)
        n_obs = con.execute("SELECT count(*) FROM observation").fetchone()[0]
        n_ann = con.execute("SELECT count(*) FROM annotation").fetchone()[0]
        assert first.loaded == demo.observations.height == n_obs
        assert n_ann == demo.annotations.height
        with transaction(con):
            second = load_demo(con, demo_dir)
        assert (second.loaded, second.revised, second.unchanged) == (0, 0, demo.observations.height)
        assert con.execute("SELECT count(*) FROM observation").fetchone()[0] == n_obs
        assert con.execute("SELECT count(*) FROM annotation").fetchone()[0] == n_ann
        assert con.execute("SELECT count(*) FROM observation_revision").fetchone()[0] == 0
        batches = con.execute("SELECT source, status, rows_read FROM load_batch ORDER BY id").fetchall()
        assert batches == [("demo", "loaded", n_obs), ("demo", "unchanged", n_obs)]
        stored = con.execute(
            "SELECT value, numerator, denominator FROM observation WHERE indicator_id = 'calls_999_answered_10s' "
            "AND area_code = ? AND period_start = DATE '2023-04-01'", [FORCE]).fetchone()
        expected = _force(demo, "calls_999_answered_10s").filter(pl.col("period_start") == dt.date(2023, 4, 1))
        assert stored == expected.select("value", "numerator", "denominator").row(0)
    finally:
        con.close()


def test_load_demo_rejects_rows_for_unknown_indicators(catalogue: Catalogue, demo: DemoData, tmp_path: Path) -> None:
    demo_dir = tmp_path / "demo"
    extra = _force(demo, "ksi_casualties").head(3).with_columns(pl.lit("no_such_indicator").alias("indicator_id"))
    write_demo(DemoData(pl.concat([demo.observations.head(50), extra]), demo.annotations.head(0)), demo_dir)
    con = _store(tmp_path / "store.duckdb", catalogue)
    try:
        with transaction(con):
            counts = load_demo(con, demo_dir)
        assert counts.loaded == 50
        rejected = con.execute("SELECT line, column_name, value FROM rejected_row ORDER BY line").fetchall()
        assert rejected == [(52, "indicator_id", "no_such_indicator"), (53, "indicator_id", "no_such_indicator"),
                            (54, "indicator_id", "no_such_indicator")]
    finally:
        con.close()


def test_load_demo_without_files_names_the_file_and_the_command(catalogue: Catalogue, tmp_path: Path) -> None:
    con = _store(tmp_path / "store.duckdb", catalogue)
    try:
        with pytest.raises(SpcError, match=r"observations\.csv.*spc demo-data"):
            load_demo(con, tmp_path / "nowhere")
    finally:
        con.close()


# --- the command -----------------------------------------------------------------------------------

def test_demo_data_command_writes_the_generator_output(catalogue: Catalogue, tmp_path: Path, capsys) -> None:
    from spc.cli import main

    out = tmp_path / "demo"
    assert main(["demo-data", "--end", "2019-06", "--seed", "11", "--out", str(out)]) == 0
    expected = generate(catalogue, seed=11, end=dt.date(2019, 6, 1))
    written = pl.read_csv(out / "observations.csv", try_parse_dates=True,
                          schema_overrides={"value": pl.Float64, "numerator": pl.Float64, "denominator": pl.Float64})
    assert written.equals(expected.observations)
    assert written["period_start"].max() == dt.date(2019, 6, 1)
    assert "spc demo-data --end 2019-06 --seed 11" in (out / "README.md").read_text()
    assert main(["demo-data", "--end", "June 2019", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "expected YYYY-MM" in err and len(err.strip().splitlines()) == 1
