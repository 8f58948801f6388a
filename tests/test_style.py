"""The code follows the project's lint rules (ruff, configured in pyproject.toml)."""

import subprocess
import sys
from pathlib import Path

from ._book import ROOT


def test_ruff_finds_nothing():
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run(
        [str(ruff), "check", "--no-cache", "data_helpers", "tests", "benchmarks", "_ext"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_mypy_strict_finds_nothing():
    """The package type-checks strictly (settings in pyproject.toml's [tool.mypy])."""
    mypy = Path(sys.executable).parent / "mypy"
    result = subprocess.run(
        [str(mypy), "--config-file", str(ROOT / "pyproject.toml")],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
