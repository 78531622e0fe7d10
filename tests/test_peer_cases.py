"""Every case in ../shared/reference/peer_cases.json: NHSRplotthedots 0.2.2 (XmR with the
Making Data Count rules) and qicharts2 0.8.1 (run, p, p′, u, u′, c, g, t with Anhøj runs)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl
import pytest

from spc.engine import SeriesSpec, analyse

CASES_PATH = Path(__file__).resolve().parents[2] / "shared" / "reference" / "peer_cases.json"
CASES = json.loads(CASES_PATH.read_text()) if CASES_PATH.exists() else []
REL = 5e-4


def spec_for(case: dict) -> SeriesSpec:
    """The SeriesSpec equivalent to a case's options."""
    o = case["options"]
    if case["chart"] == "xmr":
        return SeriesSpec(chart="xmr", improvement=o["improvement"], target=o["target"],
                          rebase=tuple(o["rebase"]), baseline_points=o["baseline_points"],
                          screen_outliers=o["screen_outliers"], two_sigma=o["two_sigma"])
    # qicharts2 attached with library() screens moving ranges
    return SeriesSpec(chart=case["chart"], rebase=tuple(o["rebase"]),
                      baseline_points=o["baseline_points"], exclude=tuple(o["exclude"]))


def close(actual: float | None, expected: float | None) -> bool:
    if expected is None:
        return actual is None or math.isnan(actual)
    return actual is not None and math.isclose(actual, expected, rel_tol=REL, abs_tol=1e-12)


def mismatches(case: dict) -> list[str]:
    """Every difference between the engine and the peer answer (empty when they agree)."""
    result = analyse(pl.DataFrame(case["input"]), spec_for(case))
    got = result.points.to_dicts()
    exp = case["expected"]
    errs = []
    assert len(got) == len(exp["points"])
    for g, e in zip(got, exp["points"], strict=True):
        assert str(g["period"]) == e["period"]
        for col in ("centre", "lower", "upper"):
            if not close(g[col], e[col]):
                errs.append(f"{e['period']} {col}: {g[col]} != {e[col]}")
        for col in ("rule", "point_type", "outside_limits", "phase"):
            if col in e and g[col] != e[col]:
                errs.append(f"{e['period']} {col}: {g[col]!r} != {e[col]!r}")
    summary = result.summary.row(0, named=True)
    for col in ("variation", "assurance"):
        if col in exp and summary[col] != exp[col]:
            errs.append(f"{col}: {summary[col]!r} != {exp[col]!r}")
    if "phases" in exp:
        phases = result.phases.to_dicts()
        if len(phases) != len(exp["phases"]):
            errs.append(f"{len(phases)} phases != {len(exp['phases'])}")
        for g, e in zip(phases, exp["phases"]):
            for col, want in e.items():
                if g[col] != want:
                    errs.append(f"phase {e['phase']} {col}: {g[col]!r} != {want!r}")
    return errs


def test_all_cases_present() -> None:
    assert len(CASES) == 120


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_peer_case(case: dict) -> None:
    assert mismatches(case) == []
