"""The book's markup builds strictly: zero Sphinx warnings, every reference resolved.

Chapters are executed by test_chapters.py; this build skips execution so the suite runs
every chapter once. `make book` does the full, executed build.
"""

import subprocess
import sys
from pathlib import Path

import yaml

from ._book import ROOT, toc_files


def test_toc_pages_exist():
    for path in toc_files():
        assert path.exists(), f"_toc.yml lists {path.relative_to(ROOT)}, which does not exist"


def test_every_chapter_is_in_the_toc():
    listed = set(toc_files())
    for path in (ROOT / "book").glob("*.md"):
        assert path in listed, f"{path.name} is not in _toc.yml, so the book never builds it"


def test_strict_build_without_execution(tmp_path):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    config_path = tmp_path / "_config.yml"
    config_path.write_text(yaml.safe_dump(config))
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--all", "-W", "-n", "--keep-going",
         "--config", str(config_path), "--path-output", str(tmp_path / "out")],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert (tmp_path / "out" / "_build" / "html" / "index.html").exists()
