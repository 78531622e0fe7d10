"""`spc import` recomputes the charts of what it loaded, so the app shows new data at once."""

from __future__ import annotations

from spc.cli import main
from spc.store import connect


def _summary(path):
    con = connect(path, read_only=True)
    try:
        return con.execute("SELECT latest_value, n_points FROM result_summary "
                           "WHERE indicator_id = 'ksi_casualties' AND area_code = 'staffordshire'").fetchall()
    finally:
        con.close()


def test_import_recomputes_the_indicators_it_changed(tmp_path, capsys):
    db = tmp_path / "s.duckdb"
    assert main(["db", "init", "--empty", "--db", str(db)]) == 0
    file = tmp_path / "ksi.csv"
    file.write_text("indicator,area,period,value\n" + "".join(
        f"ksi_casualties,staffordshire,2024-{m:02d}-01,{40 + m}\n" for m in range(1, 13)))
    assert main(["import", "tidy", str(file), "--db", str(db)]) == 0
    assert _summary(db) == [(52.0, 12)]
    assert "results: 1 series of 1 indicator(s) recomputed" in capsys.readouterr().out

    file.write_text(file.read_text() + "ksi_casualties,staffordshire,2025-01-01,90\n")
    assert main(["import", "tidy", str(file), "--db", str(db), "--no-recompute"]) == 0
    assert _summary(db) == [(52.0, 12)]  # left for the refresh, as asked


def test_the_summary_dates_results_an_import_recomputed(tmp_path, monkeypatch):
    """After `spc db init` the Summary dates the results by that run; after an import recomputes
    them, by the import, not by the run before it (which it names as the first run)."""
    from auth_support import start

    db = tmp_path / "s.duckdb"
    assert main(["db", "init", "--empty", "--db", str(db)]) == 0
    file = tmp_path / "ksi.csv"
    file.write_text("indicator,area,period,value\n" + "".join(
        f"ksi_casualties,staffordshire,2024-{m:02d}-01,{40 + m}\n" for m in range(1, 13)))

    def refresh_line() -> str:
        at = start(monkeypatch, db, "summary")
        return next(h.proto.body for h in at.html if "Results computed" in h.proto.body)

    assert main(["import", "tidy", str(file), "--db", str(db)]) == 0
    line = refresh_line()
    assert "after an import or an analyst's change; the first run (db init) was" in line
    assert "This is the first run" not in line
