"""The indicator catalogue: the shipped file loads, and every mistake names its field."""

from __future__ import annotations

import pytest

from spc.errors import SpcError
from spc.store import connect, migrate, transaction
from spc.store.catalogue import CATALOGUE_PATH, load_catalogue, read_catalogue

AREAS = """
[[area]]
code = "force"
name = "The force"
type = "force"
"""

GOOD = """
[[indicator]]
id = "calls"
name = "999 calls answered within 10 seconds"
unit = "%"
kind = "proportion"
improvement = "increase"
chart = "pp"
frequency = "month"
priority = "A more responsive service"
source = "call handling system"
target = 0.9
target_source = "national standard"
"""


def _write(tmp_path, text: str):
    path = tmp_path / "indicators.toml"
    path.write_text(AREAS + text, encoding="utf-8")
    return path


def test_shipped_catalogue_has_every_design_indicator_and_the_nine_areas():
    cat = read_catalogue(CATALOGUE_PATH)
    assert len(cat.local_areas) == 9
    assert cat.force.code == "staffordshire"
    ids = {i.id for i in cat.indicators}
    # DESIGN.md's table: one id per row (victims satisfied and kept informed are two)
    for expected in ("calls_999_answered_10s", "calls_999_mean_answer_seconds", "calls_101_resolved_at_triage",
                     "emergency_attendance_minutes", "asb_incidents", "neighbourhood_crime",
                     "confidence_emergency_response", "domestic_abuse_incidents", "missing_person_reports",
                     "victims_satisfied", "victims_kept_informed", "victim_referral_48h",
                     "proven_reoffending_rate", "first_time_entrants", "fire_attendance_standard_met",
                     "fire_mean_attendance_minutes", "appliance_availability_wholetime",
                     "appliance_availability_oncall", "accidental_dwelling_fires", "ksi_casualties"):
        assert expected in ids
    calls = cat.indicator("calls_999_answered_10s")
    assert (calls.improvement, calls.target, calls.unit) == ("increase", 0.9, "%")
    assert cat.indicator("domestic_abuse_incidents").improvement == "neutral"


def test_good_catalogue_reads(tmp_path):
    cat = read_catalogue(_write(tmp_path, GOOD))
    assert cat.indicator("calls").chart == "pp"


@pytest.mark.parametrize(("broken", "message"), [
    (GOOD.replace('chart = "pp"\n', ""), r"indicator #1 \(calls\): missing required field 'chart'"),
    (GOOD.replace('"increase"', '"up"'), r"field 'improvement' is 'up'; expected one of increase, decrease"),
    (GOOD.replace('kind = "proportion"', 'kind = "ratio"'), r"field 'kind' is 'ratio'"),
    (GOOD.replace('frequency = "month"', 'frequency = "monthly"'), r"field 'frequency' is 'monthly'"),
    (GOOD + 'colour = "red"\n', r"unknown field 'colour'"),
    (GOOD.replace("target = 0.9", "target = 90"), r"field 'target' of a % indicator is a fraction 0..1"),
    (GOOD.replace("target = 0.9", 'target = "high"'), r"field 'target' must be a number"),
    (GOOD.replace('target_source = "national standard"\n', ""), r"a 'target' needs its 'target_source'"),
    (GOOD + GOOD, r"indicator id 'calls' is declared twice"),
    (GOOD.replace('id = "calls"', "id = "), r"not valid TOML"),
])
def test_bad_catalogue_gets_an_error_naming_the_field(tmp_path, broken, message):
    path = _write(tmp_path, broken)
    with pytest.raises(SpcError, match=message) as err:
        read_catalogue(path)
    assert str(path) in str(err.value)


def test_extra_catalogue_files_are_merged_and_named_in_errors(tmp_path):
    path = _write(tmp_path, GOOD)
    (tmp_path / "indicators.d").mkdir()
    extra = tmp_path / "indicators.d" / "more.toml"
    extra.write_text(GOOD.replace('id = "calls"', 'id = "more"').replace('unit = "%"', 'unit = ""'))
    with pytest.raises(SpcError, match=r"more.toml: indicator #1 \(more\): missing required field 'unit'"):
        read_catalogue(path)
    extra.write_text(GOOD.replace('id = "calls"', 'id = "more"'))
    assert [i.id for i in read_catalogue(path).indicators] == ["calls", "more"]


def test_loading_the_catalogue_twice_updates_in_place(tmp_path):
    con = connect(tmp_path / "s.duckdb", create=True)
    migrate(con)
    cat = read_catalogue(_write(tmp_path, GOOD))
    for _ in range(2):
        with transaction(con):
            load_catalogue(con, cat)
    assert con.execute("SELECT count(*) FROM indicator").fetchone()[0] == 1
    changed = read_catalogue(_write(tmp_path, GOOD.replace("999 calls", "Emergency calls")))
    with transaction(con):
        load_catalogue(con, changed)
    assert con.execute("SELECT name FROM indicator").fetchone()[0].startswith("Emergency calls")


def test_the_catalogue_declares_at_most_one_force_the_demos(tmp_path):
    two = AREAS + AREAS.replace('code = "force"', 'code = "another"')
    path = tmp_path / "indicators.toml"
    path.write_text(two + GOOD, encoding="utf-8")
    with pytest.raises(SpcError, match=r"at most one \[\[area\]\] may have type = \"force\".*spc db init --force"):
        read_catalogue(path)
    # none is allowed (a store for forces takes them from the lookup); only the demo needs one
    path.write_text(GOOD, encoding="utf-8")
    cat = read_catalogue(path)
    assert cat.forces == []
    with pytest.raises(SpcError, match="declares 0 force areas; the demo needs exactly one"):
        cat.force
