"""The book builds strictly, as `make book` builds it: every chapter executed, zero Sphinx
warnings, every reference resolved, and nothing written into the repository.

The build runs once per session (the `book_build` fixture in conftest.py); test_chapters.py
checks the notebooks it executed, so each chapter runs once.
"""

import hashlib
import re

import jupytext
import pytest
import yaml

from ._book import ROOT, notebook_files, toc_files

#: The longest code line a code cell of the page shows whole: at the browser test's window
#: (1280 px wide, test_site.py) the theme's code box holds 77 characters of 14 px monospace.
CODE_LINE_CHARACTERS = 76


def test_toc_pages_exist():
    for path in toc_files():
        assert path.exists(), f"_toc.yml lists {path.relative_to(ROOT)}, which does not exist"


def test_every_chapter_is_in_the_toc():
    listed = set(toc_files())
    for path in (ROOT / "book").glob("*.md"):
        assert path in listed, f"{path.name} is not in _toc.yml, so the book never builds it"


def test_config_executes_every_chapter_and_hides_no_warning():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "force", "every build executes every chapter"
    assert config["execute"]["allow_errors"] is False
    sphinx = config["sphinx"]["config"]
    assert sphinx["nb_execution_raise_on_error"] is True, "a failing cell must fail the build"
    assert "suppress_warnings" not in sphinx, "a warning is fixed or configured away, not hidden"


def test_executed_strict_build(book_build):
    assert book_build.returncode == 0, book_build.report()
    assert (book_build.html / "index.html").exists(), book_build.report()
    for page in notebook_files():
        assert book_build.executed_notebook(page).exists(), (
            f"the build wrote no executed notebook for {page.relative_to(ROOT)}"
        )


def test_build_writes_nothing_into_the_repository(book_build):
    if book_build.git_status_before is None:
        pytest.skip("not a git checkout")
    before = set(book_build.git_status_before.splitlines())
    after = set(book_build.git_status_after.splitlines())
    assert after == before, (
        "the book build changed the repository (git status --ignored, before and after):\n"
        + "\n".join([*(f"new:  {line}" for line in sorted(after - before)),
                     *(f"gone: {line}" for line in sorted(before - after))])
    )


@pytest.mark.parametrize("path", notebook_files(), ids=lambda p: p.stem)
def test_code_lines_fit_the_page(path):
    """A longer line is cut off on the page (the browser test checks the rendered cells)."""
    cells = [cell for cell in jupytext.read(path).cells if cell.cell_type == "code"]
    long = [line for cell in cells for line in cell.source.splitlines()
            if len(line) > CODE_LINE_CHARACTERS]
    assert not long, (
        f"{path.name}: {len(long)} code lines longer than {CODE_LINE_CHARACTERS} characters:\n"
        + "\n".join(long)
    )


def test_vendored_zarrita_is_the_build_its_readme_names():
    """book/_vendor/zarrita/zarrita.mjs is a built file: its README gives the recipe and the
    digest, and the licences of what it bundles are beside it."""
    folder = ROOT / "book" / "_vendor" / "zarrita"
    readme = (folder / "README.md").read_text()
    named = re.search(r"SHA-256 is\s+`([0-9a-f]{64})`", readme)
    assert named, "the README names no SHA-256 of the bundle"
    bundle = (folder / "zarrita.mjs").read_bytes()
    assert hashlib.sha256(bundle).hexdigest() == named.group(1)
    licences = (folder / "LICENSES.txt").read_text()
    for package in ("zarrita", "@zarrita/storage", "numcodecs", "c-blosc", "Zstandard", "LZ4"):
        assert f"==== {package}" in licences, f"no licence of {package} beside the bundle"
