"""u and p charts per 1,000 or 10,000 of the denominator (``multiplier``, qicharts2's multiply)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from spc.engine import SeriesSpec, analyse
from spc.errors import SpcError
from spc.plots import control_chart, statistic_title


def rates() -> pl.DataFrame:
    rng = np.random.default_rng(5)
    n = 24
    return pl.DataFrame({"period": [dt.date(2022 + i // 12, i % 12 + 1, 1) for i in range(n)],
                         "numerator": rng.poisson(40, n).astype(float),
                         "denominator": rng.integers(90_000, 110_000, n).astype(float)})


@pytest.mark.parametrize("chart", ["u", "up", "p", "pp"])
def test_values_and_lines_scale_and_nothing_else_changes(chart: str) -> None:
    data = rates()
    plain = analyse(data, SeriesSpec(chart=chart)).points
    per = analyse(data, SeriesSpec(chart=chart, multiplier=1000)).points
    for col in ("value", "centre", "lower", "upper", "lower_2s", "upper_1s"):
        assert per[col].to_numpy() == pytest.approx(plain[col].to_numpy() * 1000, rel=1e-12)
    assert per["rule"].to_list() == plain["rule"].to_list()
    assert per["numerator"].to_list() == plain["numerator"].to_list()


def test_the_label_and_the_axis_say_per_1000() -> None:
    spec = SeriesSpec(chart="u", multiplier=10_000)
    assert spec.label() == "u chart per 10,000"
    result = analyse(rates(), spec)
    assert result.summary["chart_label"][0] == "u chart per 10,000"
    fig = control_chart(result.points, unit="rate", statistic=statistic_title("u chart per 10,000", "rate"))
    assert fig.layout.yaxis.title.text == "u chart per 10,000"


def test_refused_where_there_is_no_denominator() -> None:
    for chart in ("xmr", "c", "g"):
        with pytest.raises(SpcError, match="multiplier"):
            SeriesSpec(chart=chart, multiplier=1000)
    with pytest.raises(SpcError, match="multiplier"):
        SeriesSpec(chart="u", multiplier=0)


def test_spc_chart_multiply(tmp_path) -> None:
    from typer.testing import CliRunner

    from spc.cli import app

    path = tmp_path / "r.csv"
    data = rates()
    data.write_csv(path)
    out = CliRunner().invoke(app, ["chart", str(path), "--chart", "u", "--multiply", "1000",
                                   "--format", "json"])
    assert out.exit_code == 0, out.output
    import json
    doc = json.loads(out.output)
    first = doc["points"][0]
    assert first["value"] == pytest.approx(data["numerator"][0] / data["denominator"][0] * 1000)
    assert doc["series"][0]["chart_label"] == "u chart per 1,000"
