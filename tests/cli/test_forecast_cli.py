"""`presale-erp forecast backtest` as an analyst uses it: a table, a plot, and plain words when the input is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parents[1]
EXCERPT = TESTS / "data" / "m5_store_dept_excerpt.csv"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "160"}
    return subprocess.run(
        [sys.executable, "-m", "presale_erp", "forecast", "backtest", *args],
        env=env,
        capture_output=True,
        check=False,
        text=True,
        timeout=300,
    )


def test_a_backtest_prints_each_models_scores_and_writes_the_plot(tmp_path: Path):
    plot = tmp_path / "backtest.png"

    result = cli("--dataset", str(EXCERPT), "--horizon", "28", "--origins", "2", "--plot", str(plot))

    assert result.returncode == 0, result.stderr
    assert "4 series" in result.stdout
    for word in ("seasonal_naive", "production", "MASE", "RMSSE", "pinball"):
        assert word in result.stdout
    assert plot.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--dataset", "no/such/file.csv"), "does not exist"),
        (("--dataset", str(TESTS.parent / "pyproject.toml")), "neither CSV"),
        (("--dataset", str(EXCERPT), "--models", "prophet"), "Unknown model"),
        (("--dataset", str(EXCERPT), "--origins", "40"), "reach back before the data starts"),
        (("--dataset", str(TESTS)), "Cannot tell which file"),
    ],
    ids=["missing path", "unknown layout", "unknown model", "too many origins", "folder without data"],
)
def test_bad_input_gets_a_message_and_a_non_zero_exit(args, message):
    result = cli(*args)

    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
