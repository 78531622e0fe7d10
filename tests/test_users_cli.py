"""`spc users` and `spc audit` as an administrator runs them: real processes on a real store."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from spc import auth
from spc.store import transaction

SPC = [sys.executable, "-m", "spc.cli"]


def spc(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    # a wide terminal, so the table's cells are not folded across lines
    return subprocess.run([*SPC, *args], input=stdin, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200"})


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "store.duckdb"
    assert spc("db", "init", "--empty", "--db", str(path)).returncode == 0
    return path


def rows(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_users_add_reads_the_password_from_stdin_and_stores_only_a_salted_argon2id_hash(db):
    for name in ("Demo", "other"):
        done = spc("users", "add", name, "--role", "analyst", "--db", str(db), stdin="correct horse battery\n")
        assert done.returncode == 0, done.stderr
    hashes = dict(rows(db, "SELECT name, password_hash FROM app_user"))
    assert set(hashes) == {"demo", "other"}
    assert all(h.startswith("$argon2id$") for h in hashes.values())
    assert hashes["demo"] != hashes["other"]           # same password, different salt
    assert b"correct horse battery" not in db.read_bytes()
    listed = spc("users", "list", "--db", str(db)).stdout
    assert "demo" in listed and "analyst" in listed and "$argon2" not in listed


def test_users_refuses_a_short_password_a_bad_role_a_bad_name_and_a_duplicate(db):
    assert spc("users", "add", "amy", "--db", str(db), stdin="short\n").returncode == 1
    bad_role = spc("users", "add", "amy", "--role", "boss", "--db", str(db), stdin="long enough pw\n")
    assert bad_role.returncode == 1 and "expected one of viewer, analyst, admin" in bad_role.stderr
    bad_name = spc("users", "add", "<b>amy</b>", "--db", str(db), stdin="long enough pw\n")
    assert bad_name.returncode == 1 and "account name" in bad_name.stderr
    assert rows(db, "SELECT count(*) FROM app_user") == [(0,)]
    assert spc("users", "add", "amy", "--db", str(db), stdin="long enough pw\n").returncode == 0
    again = spc("users", "add", "AMY", "--db", str(db), stdin="long enough pw\n")
    assert again.returncode == 1 and "already exists" in again.stderr
    # no traceback for any of these: one line on stderr
    assert "Traceback" not in bad_role.stderr + bad_name.stderr + again.stderr


def test_passwd_role_and_remove(db):
    assert spc("users", "add", "bo", "--role", "viewer", "--db", str(db), stdin="first password\n").returncode == 0
    (before,) = rows(db, "SELECT password_hash FROM app_user")
    assert spc("users", "passwd", "bo", "--db", str(db), stdin="second password\n").returncode == 0
    (after,) = rows(db, "SELECT password_hash FROM app_user")
    assert before != after
    con = duckdb.connect(str(db))
    try:
        with transaction(con):
            assert auth.sign_in(con, "bo", "first password") is None
            assert auth.sign_in(con, "bo", "second password") is not None
    finally:
        con.close()
    assert spc("users", "role", "bo", "admin", "--db", str(db)).returncode == 0
    assert rows(db, "SELECT role FROM app_user") == [("admin",)]
    assert spc("users", "remove", "bo", "--db", str(db)).returncode == 0
    assert rows(db, "SELECT count(*) FROM app_user") == [(0,)]
    missing = spc("users", "remove", "bo", "--db", str(db))
    assert missing.returncode == 1 and "no account 'bo'" in missing.stderr


def test_audit_lists_filters_and_exports_csv(db):
    spc("users", "add", "ann", "--role", "analyst", "--db", str(db), stdin="ann password\n")
    spc("users", "add", "ben", "--role", "viewer", "--db", str(db), stdin="ben password\n")
    spc("users", "role", "ben", "analyst", "--db", str(db))
    con = duckdb.connect(str(db))
    try:
        with transaction(con):
            auth.sign_in(con, "ann", "wrong password")
    finally:
        con.close()
    table = spc("audit", "--db", str(db))
    assert table.returncode == 0 and "user_role" in table.stdout and "sign_in_failed" in table.stdout
    out = spc("audit", "--format", "csv", "--db", str(db)).stdout
    events = list(csv.DictReader(io.StringIO(out)))
    assert [e["kind"] for e in events] == ["sign_in_failed", "user_role", "user_add", "user_add"]   # newest first
    assert events[0]["actor"] == "ann" and events[1]["subject"] == "ben"
    assert events[1]["detail"] == '{"from": "viewer", "to": "analyst"}'
    only = list(csv.DictReader(io.StringIO(spc("audit", "--format", "csv", "--kind", "user_add", "--db",
                                               str(db)).stdout)))
    assert [e["subject"] for e in only] == ["ben", "ann"]
    by_user = list(csv.DictReader(io.StringIO(spc("audit", "--format", "csv", "--user", "ANN", "--db",
                                                  str(db)).stdout)))
    assert [e["kind"] for e in by_user] == ["sign_in_failed"]
    future = spc("audit", "--format", "csv", "--since", "2999-01-01", "--db", str(db)).stdout
    assert future.strip() == ",".join(["id", "happened_at", "actor", "method", "role", "kind", "indicator_id",
                                       "area_code", "subject", "reason", "detail"]) or future.strip() == ""
    past = list(csv.DictReader(io.StringIO(spc("audit", "--format", "csv", "--since", "2000-01-01", "--db",
                                               str(db)).stdout)))
    assert len(past) == 4
    assert spc("audit", "--since", "yesterday", "--db", str(db)).returncode == 1
    assert spc("audit", "--kind", "bogus", "--db", str(db)).returncode == 1
