"""A refresh running while the app reads and analysts annotate; a refresh killed mid-write.

Real processes, a real DuckDB file. The refresh is told (SPC_REFRESH_TEST_PAUSE) to hold its
write transaction open for a while, so the readers and the annotation writer certainly meet it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from refresh_support import FORCE, INDICATOR, ROOT, SPC, history, make_store, month, read_log, table_rows, write_tidy
from spc.cli import main

# The app's way of reading: a short-lived read-only connection that waits out a writer, one
# summary query, close. Counts errors and the slowest read; stops when told to.
READER = r"""
import json, sys, time
from spc.store import connect
db, stop, out, ready = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
import os
reads = errors = 0
slowest = 0.0
first_error = None
while not os.path.exists(stop):
    t = time.monotonic()
    try:
        con = connect(db, read_only=True, wait_seconds=30)
        try:
            con.execute("SELECT s.indicator_id, s.area_code, s.variation, s.assurance, i.name "
                        "FROM result_summary s JOIN indicator i ON i.id = s.indicator_id").fetchall()
        finally:
            con.close()
        reads += 1
        if reads == 1:
            open(ready, "w").close()
    except Exception as exc:
        errors += 1
        first_error = first_error or repr(exc)
    slowest = max(slowest, time.monotonic() - t)
    time.sleep(0.02)
json.dump({"reads": reads, "errors": errors, "slowest": slowest, "first_error": first_error}, open(out, "w"))
"""

# An analyst saving annotations from the app: each in its own short write transaction, from
# when the `go` file appears (the process is started, and its imports done, beforehand).
ANNOTATOR = r"""
import os, sys, time, datetime as dt
from spc.store import connect, transaction
db, n, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
while not os.path.exists(go):
    time.sleep(0.01)
for k in range(n):
    con = connect(db, wait_seconds=30)
    try:
        with transaction(con):
            con.execute("INSERT INTO annotation (indicator_id, area_code, date, kind, text, author, created_at) "
                        "VALUES ('asb_incidents', 'staffordshire', DATE '2024-01-01', 'note', ?, 'analyst', ?)",
                        [f"note {k}", dt.datetime.now()])
    finally:
        con.close()
    time.sleep(0.15)
"""


@pytest.fixture
def site(tmp_path):
    db, sources, incoming = make_store(tmp_path)
    write_tidy(incoming / "history.csv", history())
    assert main(["refresh", "--db", str(db), "--sources", str(sources), "--digest-dir", str(tmp_path / "d"),
                 "--log-file", str(tmp_path / "first.log")]) in (0, 3)
    write_tidy(incoming / f"asb-{month(-1):%Y-%m}.csv", [(INDICATOR, FORCE, month(-1), 1500.0)])
    return db, sources, tmp_path


def _refresh_process(db: Path, sources: Path, tmp_path: Path, log: Path, pause: float) -> subprocess.Popen:
    return subprocess.Popen([*SPC, "refresh", "--db", str(db), "--sources", str(sources), "--log-file", str(log),
                             "--digest-dir", str(tmp_path / "d"), "--json"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "SPC_REFRESH_TEST_PAUSE": str(pause)})


def _wait_for_event(log: Path, event: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(r["event"] == event for r in read_log(log)):
            return
        if proc.poll() is not None:
            raise AssertionError(f"refresh ended before {event}: {proc.stderr.read()}")
        time.sleep(0.05)
    raise AssertionError(f"no {event} in {log}")


def test_app_reads_and_annotations_during_a_refresh(site):
    db, sources, tmp_path = site
    stop, out, log = tmp_path / "stop", tmp_path / "reads.json", tmp_path / "refresh.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ready = tmp_path / "reader-ready"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(db), str(stop), str(out), str(ready)],
                              cwd=ROOT, env=env)
    # the reader is up and reading before the refresh starts (a loaded machine can take seconds
    # to start a Python process, and a reader that starts late never meets the write)
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert reader.poll() is None and time.monotonic() < deadline, "the reader did not start reading"
        time.sleep(0.05)
    go = tmp_path / "annotate-now"
    annotator = subprocess.Popen([sys.executable, "-c", ANNOTATOR, str(db), "4", str(go)], cwd=ROOT, env=env)
    refresh = _refresh_process(db, sources, tmp_path, log, pause=1.5)
    # the analyst saves while the refresh holds its write open: the saves wait for it, then land.
    # (An annotation landing between the refresh's copy and its write makes it compute again:
    # test_refresh covers that; here it would make the test depend on the machine's timing.)
    _wait_for_event(log, "test_pause", refresh)
    go.touch()
    stdout, stderr = refresh.communicate(timeout=180)
    assert annotator.wait(timeout=120) == 0
    time.sleep(0.5)
    stop.touch()
    assert reader.wait(timeout=60) == 0
    reads = json.loads(out.read_text())

    # the refresh succeeded and found the signal
    assert refresh.returncode == 3, (stderr, [r["event"] for r in read_log(log)])
    assert json.loads(stdout)["new_concerns"][0]["first_period"] == month(-1).isoformat()
    assert reads["errors"] == 0, reads["first_error"]
    assert reads["reads"] > 20
    # the reads that met the 1.5-second write waited for it instead of failing
    assert reads["slowest"] >= 1.0
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM annotation WHERE author = 'analyst'").fetchall()[0][0] == 4
        assert con.execute("SELECT status FROM refresh_run ORDER BY id DESC LIMIT 1").fetchall()[0][0] == "success"
    finally:
        con.close()
    events = [r["event"] for r in read_log(log)]
    assert events.count("writing") >= 1 and "finish" in events


def test_refresh_killed_mid_write_leaves_the_store_intact(site):
    db, sources, tmp_path = site
    before = table_rows(db)
    log = tmp_path / "killed.log"
    refresh = _refresh_process(db, sources, tmp_path, log, pause=60.0)
    _wait_for_event(log, "test_pause", refresh)     # inside the write transaction
    refresh.send_signal(signal.SIGKILL)
    refresh.wait(timeout=30)
    assert table_rows(db) == before                 # nothing of the half-done write is visible
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT status FROM refresh_run ORDER BY id DESC LIMIT 1").fetchall()[0][0] == "running"
    finally:
        con.close()
    # The next run takes the lock (the kernel released the dead process's flock), marks the dead
    # run failed and does the work.
    assert main(["refresh", "--db", str(db), "--sources", str(sources), "--digest-dir", str(tmp_path / "d"),
                 "--log-file", str(tmp_path / "after.log")]) == 3
    con = duckdb.connect(str(db), read_only=True)
    try:
        statuses = [r[0] for r in con.execute("SELECT status FROM refresh_run ORDER BY id").fetchall()]
        assert statuses[-2:] == ["failed", "success"]
        assert con.execute("SELECT count(*) FROM signal WHERE first_period = ? AND status = 'new'",
                           [month(-1)]).fetchall()[0][0] == 1
    finally:
        con.close()
