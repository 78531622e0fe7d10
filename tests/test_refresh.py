"""`spc refresh`: new files in, planted signal out, idempotent, digest, notify, locks, exit codes."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
import time

import duckdb
import pytest

from refresh_support import FORCE, INDICATOR, LOCAL, history, make_store, month, read_log, table_rows, write_tidy
from spc.cli import main
from spc.refresh import lock_path, read_sources
from spc.errors import SpcError
from spc.store import connect, transaction


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A store whose first refresh has imported three years of common-cause history (built once)."""
    root = tmp_path_factory.mktemp("template")
    db, sources, incoming = make_store(root)
    write_tidy(incoming / "history.csv", history())
    code = main(["refresh", "--db", str(db), "--sources", str(sources), "--digest-dir", str(root / "digests"),
                 "--log-file", str(root / "refresh.log")])
    assert code in (0, 3)
    return root


@pytest.fixture
def store(template, tmp_path):
    """A private copy of the template store for one test."""
    root = tmp_path / "site"
    shutil.copytree(template, root)
    return root / "store.duckdb", root / "sources.toml", root / "incoming" / "tidy", root


def _refresh(db, sources, tmp_path, *extra):
    return main(["refresh", "--db", str(db), "--sources", str(sources), "--digest-dir", str(tmp_path / "digests"),
                 "--log-file", str(tmp_path / "refresh.log"), *extra])


def _query(db, sql, params=()):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _plant(incoming, value=1500.0):
    """Next month's force figure far above the upper limit (a concern: decrease is better)."""
    return write_tidy(incoming / f"asb-{month(-1):%Y-%m}.csv", [(INDICATOR, FORCE, month(-1), value)])


def test_first_refresh_imports_computes_and_records(store):
    db, _sources, _incoming, tmp_path = store
    assert _query(db, "SELECT count(*) FROM observation")[0][0] == 72
    assert _query(db, "SELECT count(*) FROM result_summary WHERE indicator_id = ?", [INDICATOR])[0][0] == 2
    run = _query(db, "SELECT status, files_imported, rows_loaded, series_computed, finished_at IS NOT NULL "
                     "FROM refresh_run")
    assert run == [("success", 1, 72, 2, True)]
    # history already over is recorded (ended), not announced as new
    statuses = {r[0] for r in _query(db, "SELECT status FROM signal")}
    assert statuses <= {"ended", "new"}
    events = [r["event"] for r in read_log(tmp_path / "refresh.log")]
    assert events[0] == "start" and "imported" in events and events[-1] in ("finish", "new_concern")


def test_planted_signal_is_new_exits_3_and_second_run_is_a_no_op(store, capsys):
    db, sources, incoming, tmp_path = store
    _plant(incoming)
    capsys.readouterr()
    assert _refresh(db, sources, tmp_path, "--json") == 3
    digest = json.loads(capsys.readouterr().out)
    planted = [s for s in digest["new_concerns"] if s["area_code"] == FORCE and s["indicator_id"] == INDICATOR]
    assert planted and planted[0]["rule"] == "Above UCL"
    assert digest["series_changed"] >= 1 and digest["series_reworded"] == 0   # its figures changed
    assert planted[0]["first_period"] == month(-1).isoformat() and planted[0]["direction"] == "high"
    run_id = digest["run_id"]
    stored = _query(db, "SELECT status, point_type, first_seen_run FROM signal WHERE area_code = ? "
                        "AND first_period = ?", [FORCE, month(-1)])
    assert stored == [("new", "special_cause_concern", run_id)]
    assert _query(db, "SELECT variation FROM result_summary WHERE area_code = ?", [FORCE])[0][0] == \
        "special_cause_concern"

    before = table_rows(db)
    runs_before = _query(db, "SELECT count(*) FROM refresh_run")[0][0]
    assert _refresh(db, sources, tmp_path, "--json") == 0
    again = json.loads(capsys.readouterr().out)
    assert again["files_imported"] == 0 and again["series_changed"] == 0
    assert again["new_concerns"] == [] and again["ended"] == [] and again["withdrawn"] == []
    assert table_rows(db) == before                     # nothing changed but the run record
    assert _query(db, "SELECT count(*) FROM refresh_run")[0][0] == runs_before + 1
    assert _query(db, "SELECT status, series_computed FROM refresh_run ORDER BY id DESC LIMIT 1")[0] == ("success", 0)


def test_views_left_by_an_older_version_are_rewritten_by_the_next_refresh(store, capsys):
    """After updating spc, the engine's results can be the same while the words and tests made
    from them are not: the next refresh puts the new version's views into the store, once."""
    db, sources, _incoming, tmp_path = store
    fresh = _query(db, "SELECT trend, narrative FROM result_view WHERE indicator_id = ? AND area_code = ?",
                   [INDICATOR, FORCE])[0]
    con = duckdb.connect(str(db))
    con.execute("UPDATE result_view SET trend = '{\"error\": \"an older method\"}', narrative = '{}' "
                "WHERE indicator_id = ? AND area_code = ?", [INDICATOR, FORCE])
    con.close()
    capsys.readouterr()
    assert _refresh(db, sources, tmp_path, "--json") == 0
    digest = json.loads(capsys.readouterr().out)
    assert digest["series_changed"] == 1               # that series alone, though no figure changed
    assert digest["series_reworded"] == 1
    run_id = digest["run_id"]
    md = (tmp_path / "digests" / f"refresh-{run_id}.md").read_text()
    assert "1 of 2 series changed (all of them in words and tests only, not in their figures" in md
    assert _query(db, "SELECT trend, narrative FROM result_view WHERE indicator_id = ? AND area_code = ?",
                  [INDICATOR, FORCE])[0] == fresh
    before = table_rows(db)
    assert _refresh(db, sources, tmp_path, "--json") == 0
    assert json.loads(capsys.readouterr().out)["series_changed"] == 0
    assert table_rows(db) == before


def test_digest_files_and_notify_command(store):
    db, sources, incoming, tmp_path = store
    _plant(incoming)
    received = tmp_path / "mail.txt"
    assert _refresh(db, sources, tmp_path, "--notify-command", f"cat > {received}") == 3
    run_id = _query(db, "SELECT max(id) FROM refresh_run")[0][0]
    md = (tmp_path / "digests" / f"refresh-{run_id}.md").read_text()
    js = json.loads((tmp_path / "digests" / f"refresh-{run_id}.json").read_text())
    assert "## New concerns (1)" in md and "Anti-social behaviour incidents" in md
    # the signal in the narrative's plain words, not the rule label
    assert "1 point was higher than usual, a concern: a point above the upper process limit." in md
    assert "UCL" not in md
    late = next(line for line in md.splitlines() if line.startswith("- Anti-social behaviour incidents, Tamworth:"))
    assert f"latest data: {month(-8):%B %Y}, " in late and "(late: " in late
    assert received.read_text() == md                   # the command got the Markdown digest on stdin
    assert js["new_concerns"][0]["first_period"] == month(-1).isoformat()
    # Tamworth stopped six months early: expected data that did not arrive
    assert [(m["area_code"], m["latest_period"]) for m in js["missing_data"]] == [(LOCAL, month(-8).isoformat())]
    assert "Expected data that did not arrive (1)" in md
    # the digest is kept with the run as well
    stored = json.loads(_query(db, "SELECT digest_json FROM refresh_run WHERE id = ?", [run_id])[0][0])
    assert stored["new_concerns"] == js["new_concerns"]


def test_dry_run_writes_nothing_but_reports(store, capsys):
    db, sources, incoming, tmp_path = store
    _plant(incoming)
    before = table_rows(db)
    runs = _query(db, "SELECT count(*) FROM refresh_run")[0][0]
    capsys.readouterr()
    assert _refresh(db, sources, tmp_path, "--dry-run", "--json") == 3
    digest = json.loads(capsys.readouterr().out)
    assert digest["dry_run"] and digest["files_imported"] == 1 and len(digest["new_concerns"]) == 1
    assert table_rows(db) == before
    assert _query(db, "SELECT count(*) FROM refresh_run")[0][0] == runs
    assert _refresh(db, sources, tmp_path) == 3        # the real run still finds it


def test_revised_figure_withdraws_the_signal_and_keeps_it(store):
    db, sources, incoming, tmp_path = store
    _plant(incoming)
    assert _refresh(db, sources, tmp_path) == 3
    # the source re-issues the month with the corrected figure
    write_tidy(incoming / "asb-revised.csv", [(INDICATOR, FORCE, month(-1), 1000.0)])
    assert _refresh(db, sources, tmp_path, "--json") == 0
    rows = _query(db, "SELECT status, last_seen_run < (SELECT max(id) FROM refresh_run) FROM signal "
                      "WHERE area_code = ? AND first_period = ?", [FORCE, month(-1)])
    assert rows == [("withdrawn", True)]
    assert _query(db, "SELECT count(*) FROM observation_revision")[0][0] == 1
    digest = json.loads(_query(db, "SELECT digest_json FROM refresh_run ORDER BY id DESC LIMIT 1")[0][0])
    # (a point that far out also moved the mean, so some earlier patterns changed with it)
    assert month(-1).isoformat() in [s["first_period"] for s in digest["withdrawn"]]


def test_signal_continues_then_ends(store):
    db, sources, incoming, tmp_path = store
    _plant(incoming)
    assert _refresh(db, sources, tmp_path) == 3
    write_tidy(incoming / "m0.csv", [(INDICATOR, FORCE, month(0), 1500.0)])
    assert _refresh(db, sources, tmp_path) == 0        # the same pattern growing is not new
    assert _query(db, "SELECT status, last_period FROM signal WHERE first_period = ? AND area_code = ?",
                  [month(-1), FORCE]) == [("continuing", month(0))]
    write_tidy(incoming / "m1.csv", [(INDICATOR, FORCE, month(1), 1000.0)])
    _refresh(db, sources, tmp_path)
    assert _query(db, "SELECT status FROM signal WHERE first_period = ? AND area_code = ?",
                  [month(-1), FORCE]) == [("ended",)]


def test_rejected_rows_reach_the_digest_once(store, capsys):
    db, sources, incoming, tmp_path = store
    (incoming / "bad.csv").write_text(f"indicator,area,period,value\n{INDICATOR},{FORCE},{month(-1):%Y-%m},lots\n")
    capsys.readouterr()
    _refresh(db, sources, tmp_path, "--json")
    digest = json.loads(capsys.readouterr().out)
    assert digest["rows_rejected"] == 1
    assert digest["rejected_rows"][0]["line"] == 2 and digest["rejected_rows"][0]["column_name"] == "value"
    _refresh(db, sources, tmp_path, "--json")          # the same bad file is not re-read every night
    assert json.loads(capsys.readouterr().out)["rows_rejected"] == 0


def test_only_limits_the_recompute_and_checks_the_name(store, capsys):
    db, sources, _incoming, tmp_path = store
    assert _refresh(db, sources, tmp_path, "--only", "no_such_indicator") == 2
    assert "no_such_indicator" in capsys.readouterr().err
    capsys.readouterr()
    assert _refresh(db, sources, tmp_path, "--only", INDICATOR, "--json") == 0
    assert json.loads(capsys.readouterr().out)["series_computed"] == 2


def test_second_refresh_stops_or_waits_for_the_lock(store, capsys):
    db, sources, _incoming, tmp_path = store
    # Another refresh holds the lock (flock locks belong to an open file, so a second open in
    # this process contends exactly as a second process would).
    fd = os.open(lock_path(db), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.pwrite(fd, b"pid 12345, started 2024-04-01 02:00:00 UTC", 0)
    closed = threading.Event()

    def release():
        os.close(fd)
        closed.set()

    try:
        capsys.readouterr()
        assert _refresh(db, sources, tmp_path) == 1
        err = capsys.readouterr().err
        assert "another refresh is running (pid 12345" in err and err.count("\n") == 1
        runs = _query(db, "SELECT count(*) FROM refresh_run")[0][0]
        threading.Timer(1.5, release).start()   # the other refresh finishes
        start = time.monotonic()
        assert _refresh(db, sources, tmp_path, "--wait", "60") == 0
        assert time.monotonic() - start >= 1.4
        assert _query(db, "SELECT count(*) FROM refresh_run")[0][0] == runs + 1
    finally:
        if not closed.is_set():
            closed.wait(5)


def test_usage_errors_exit_2_and_bad_sources_are_one_line(store, tmp_path, capsys):
    db, _sources, _incoming, _ = store
    assert main(["refresh", "--db", str(db), "--no-such-option"]) == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[[source]]\nname = 'x'\nimporter = 'ftp'\npath = 'x'\n")
    with pytest.raises(SpcError, match="unknown importer 'ftp'"):
        read_sources(bad)
    bad.write_text("[[source]]\nname = 'x'\n")
    with pytest.raises(SpcError, match="`importer` is required"):
        read_sources(bad)
    capsys.readouterr()
    assert main(["refresh", "--db", str(db), "--sources", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "`importer` is required" in err and "Traceback" not in err


def test_an_annotation_saved_during_the_refresh_is_kept_and_used(store, monkeypatch):
    """The analyst excludes the planted month while the refresh is computing: the refresh must
    not write results computed without it; it notices, recomputes on a fresh copy, and the
    stored point is the excluded one."""
    import spc.refresh as refresh

    db, sources, incoming, tmp_path = store
    _plant(incoming)
    original = refresh._prepare
    calls = []

    def prepare_then_annotate(*args, **kwargs):
        work = original(*args, **kwargs)
        if not calls:  # the app saves an annotation between the refresh's copy and its write
            con = connect(db, wait_seconds=30)
            with transaction(con):
                con.execute("INSERT INTO annotation (indicator_id, area_code, date, kind, text, author, created_at) "
                            "VALUES (?, ?, ?, 'exclude', 'data error, being checked', 'analyst', now())",
                            [INDICATOR, FORCE, month(-1)])
            con.close()
        calls.append(1)
        return work

    monkeypatch.setattr(refresh, "_prepare", prepare_then_annotate)
    assert _refresh(db, sources, tmp_path) == 3
    assert len(calls) == 2
    assert "store_changed" in [r["event"] for r in read_log(tmp_path / "refresh.log")]
    assert _query(db, "SELECT excluded FROM result_point WHERE area_code = ? AND period = ?",
                  [FORCE, month(-1)]) == [(True,)]
    assert _query(db, "SELECT count(*) FROM annotation WHERE author = 'analyst'")[0][0] == 1
    assert _query(db, "SELECT count(*) FROM observation WHERE period_start = ? AND area_code = ?",
                  [month(-1), FORCE])[0][0] == 1      # imported once, not twice


def test_a_failed_refresh_is_recorded_notified_and_changes_nothing(store, monkeypatch, capsys):
    import spc.results

    db, sources, incoming, tmp_path = store
    _plant(incoming)
    before = table_rows(db)

    def broken(*args, **kwargs):
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(spc.results, "compute", broken)
    received = tmp_path / "alert.txt"
    assert _refresh(db, sources, tmp_path, "--notify-command", f"cat > {received}") == 1
    assert "refresh failed: RuntimeError: engine exploded" in capsys.readouterr().err
    assert table_rows(db) == before
    status, errors = _query(db, "SELECT status, errors FROM refresh_run ORDER BY id DESC LIMIT 1")[0]
    assert status == "failed" and "engine exploded" in errors
    assert "Status: **failed**" in received.read_text() and "engine exploded" in received.read_text()
    monkeypatch.undo()
    assert _refresh(db, sources, tmp_path) == 3         # the next run does the work


def test_a_failing_notify_command_is_reported_not_fatal(store, capsys):
    db, sources, _incoming, tmp_path = store
    assert _refresh(db, sources, tmp_path, "--notify-command", "echo no mail server >&2; exit 7") == 0
    err = capsys.readouterr().err
    assert "exited 7" in err and "no mail server" in err
    failed = [r for r in read_log(tmp_path / "refresh.log") if r["event"] == "notify_failed"]
    assert len(failed) == 1 and failed[0]["returncode"] == 7 and failed[0]["level"] == "error"
