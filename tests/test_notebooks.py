"""The chapters as notebooks: the executed and student notebooks (``make notebooks`` and the
download menu of every page), the student notebooks run on their own, the student edition
of the site shows no solution, and the README's JupyterLab command opens the chapters.

The student edition is built from the outputs the session's book build executed (the
`student_build` fixture in conftest.py), so the chapters are not executed a second time by
Sphinx; the student notebooks are, here, since they are what students run.
"""

from __future__ import annotations

import html
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml
from bs4 import BeautifulSoup
from nbclient import NotebookClient
from sphinx.search.en import SearchEnglish

from _ext.editions import export_notebooks
from _ext.glued import paste_glued, saved_glue
from _ext.student import student_notebook

from ._book import APPENDICES, ROOT, git_status, notebook_files

CHAPTERS = notebook_files()
# The Welcome page and the appendices (_book.APPENDICES) have no exercises.
EXERCISE_CHAPTERS = [path for path in CHAPTERS[1:] if path.stem not in APPENDICES]


def built(build):
    """`build`, or a failure that points at the build's own report."""
    if build.returncode != 0:
        pytest.fail(f"the book did not build:\n{build.report()}", pytrace=False)
    return build


def test_the_test_builds_are_make_books_but_for_the_cache(book_build, student_build):
    """The test builds change _config.yml only where their docstrings say (build_book)."""
    def comparable(path):
        config = yaml.safe_load(path.read_text())
        config["execute"].pop("cache", None)
        config["execute"]["execute_notebooks"] = "force"
        config["sphinx"]["local_extensions"] = {
            name: Path(ROOT, where).resolve()
            for name, where in config["sphinx"].get("local_extensions", {}).items()
        }
        return config

    ours = comparable(ROOT / "_config.yml")
    assert comparable(book_build.config) == ours
    student = comparable(student_build.config)
    assert student["sphinx"]["config"].pop("hide_solutions") is True
    assert student == ours


# --- the notebooks -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(book_build, tmp_path_factory):
    """What `make notebooks` writes, from the session's executed build."""
    dest = tmp_path_factory.mktemp("notebooks")
    export_notebooks(built(book_build).output / "_build" / "jupyter_execute", dest)
    return dest


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.stem)
def test_make_notebooks_writes_valid_executed_and_student_notebooks(page, exported):
    executed = nbformat.read(exported / "executed" / f"{page.stem}.ipynb", as_version=4)
    student = nbformat.read(exported / "student" / f"{page.stem}.ipynb", as_version=4)
    nbformat.validate(executed)
    nbformat.validate(student)
    figures = [cell for cell in executed.cells if "image/png" in json.dumps(cell.get("outputs"))]
    assert figures, f"{page.name}: the executed notebook has no figure (were outputs kept?)"
    solution = re.compile(r"\{solution-(start|end)\}")
    assert not any(solution.search(cell.source) for cell in student.cells), page.name
    # Jupyter would show a glue role as typed: the value the page shows is written in.
    for notebook in (executed, student):
        roles = [cell.source[:80] for cell in notebook.cells
                 if cell.cell_type == "markdown" and "{glue" in cell.source]
        assert not roles, f"{page.name}: glue roles left in a downloaded notebook: {roles}"
    assert any("{exercise-start}" in c.source for c in student.cells) == (
        page in EXERCISE_CHAPTERS
    ), f"{page.name}: the exercises must stay in the student notebook"
    if page in EXERCISE_CHAPTERS:
        code = sum(cell.cell_type == "code" for cell in executed.cells)
        assert sum(cell.cell_type == "code" for cell in student.cells) < code, page.name


def _download_menu(page_html: Path) -> dict[str, Path]:
    """The links of a page's download menu: their text, and the file each points to."""
    soup = BeautifulSoup(page_html.read_text(), "html.parser")
    menu = soup.select_one("div.dropdown-download-buttons")
    assert menu is not None, f"{page_html.name} has no download menu"
    return {
        link.get_text(strip=True): (page_html.parent / link["href"]).resolve()
        for link in menu.select("a[href]")
    }


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.stem)
def test_download_menu_offers_the_executed_and_student_notebooks(page, book_build):
    html_page = built(book_build).html / page.relative_to(ROOT).with_suffix(".html")
    menu = _download_menu(html_page)
    assert {".md", ".ipynb", "student .ipynb"} <= set(menu), f"{page.name}: {sorted(menu)}"
    executed = nbformat.read(menu[".ipynb"], as_version=4)
    # The executed notebook, with the glued values written into its text (_ext/glued.py).
    path = book_build.executed_notebook(page)
    assert executed == paste_glued(nbformat.read(path, as_version=4), saved_glue(path))
    student = nbformat.read(menu["student .ipynb"], as_version=4)
    nbformat.validate(student)
    assert student == student_notebook(executed)


def test_pages_that_are_not_notebooks_offer_no_notebook(book_build):
    references = built(book_build).html / "book" / "references.html"
    # Its only link is the source (the theme's .pdf entry is a print button, not a link).
    assert set(_download_menu(references)) == {".md"}


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.stem)
def test_student_notebook_runs_top_to_bottom(page, book_build):
    """What a student downloads runs as it is: no cell needs a variable a solution made.

    It runs where the build runs the chapter (myst-nb's working directory is the chapter's
    folder), and must leave the repository as it found it.
    """
    path = built(book_build).html / "_notebooks" / "student" / f"{page.stem}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    before = git_status()
    client = NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(page.parent)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback
    assert git_status() == before, f"running the student {page.name} changed the repository"


# --- the student edition of the site -----------------------------------------------------


def _words(text: str) -> str:
    """Text reduced to its words, so markup, highlighting and line breaks do not matter."""
    return " ".join(re.findall(r"\w+", text))


def _solutions(page: Path) -> list[list[str]]:
    """The lines of each gated solution in a chapter's source, directives left out."""
    solutions, current = [], None
    fence = re.compile(r"^(`{3,}|:{3,})")
    for line in page.read_text().splitlines():
        if re.match(r"^(`{3,}|:{3,})\{solution-start\}", line):
            current = []
        elif re.match(r"^(`{3,}|:{3,})\{solution-end\}", line):
            solutions.append(current)
            current = None
        elif current is not None and not fence.match(line) and not line.startswith(":"):
            current.append(line)
    return solutions


def _site_text(html_dir: Path) -> dict[Path, str]:
    """The words of every text file of a built site: pages without their tags, notebooks'
    cells and outputs, the search index and everything else as it is."""
    texts = {}
    for path in html_dir.rglob("*"):
        if not path.is_file():
            continue
        if any(part.endswith(".zarr") for part in path.relative_to(html_dir).parts):
            # The viewer's image data: its zarr.json may spell a shape and a dtype as a
            # solution does ("shape=(256, 256), data_type=..."), but it is no text.
            continue
        try:
            raw = path.read_text()
        except UnicodeDecodeError:
            continue  # images, fonts, compressed inventories
        if path.suffix == ".html":
            raw = html.unescape(re.sub(r"<[^>]+>", " ", raw))
        elif path.suffix == ".ipynb":
            cells = json.loads(raw)["cells"]
            raw = "\n".join(json.dumps(cell, ensure_ascii=False) for cell in cells)
            raw = raw.replace("\\n", "\n")
        texts[path] = _words(raw)
    return texts


def _outside_solutions(exported) -> str:
    """Every chapter's text outside its solutions, outputs included (the student notebooks)."""
    return "\n".join(
        json.dumps([cell.source, cell.get("outputs", [])], ensure_ascii=False)
        .replace("\\n", "\n")
        for path in sorted((exported / "student").glob("*.ipynb"))
        for cell in nbformat.read(path, as_version=4).cells
    )


def _pages_without_exercises(build) -> str:
    """The text of every page of a build other than the exercise chapters: the API page,
    the glossary, the guide... hold no solution, and may share words and lines with one
    (a docstring's example, say), which are then no sign of a leak."""
    chapters = {page.relative_to(ROOT).with_suffix(".html") for page in EXERCISE_CHAPTERS}
    site = built(build).html
    return "\n".join(
        html.unescape(re.sub(r"<[^>]+>", " ", path.read_text()))
        for path in sorted(site.rglob("*.html"))
        if path.relative_to(site) not in chapters
        and not path.relative_to(site).as_posix().startswith("_")
    )


@pytest.fixture(scope="module")
def solution_lines(book_build, exported):
    """Per solution, its distinctive lines that the teacher's page does show.

    Distinctive: four words or more, found nowhere in the book outside the solutions. Each
    solution must have at least two, so that the student test checks every solution.
    """
    outside = _words(_outside_solutions(exported) + "\n" + _pages_without_exercises(book_build))
    lines = {}
    for page in EXERCISE_CHAPTERS:
        teacher_page = _words(html.unescape(re.sub(
            r"<[^>]+>", " ",
            (built(book_build).html / page.relative_to(ROOT).with_suffix(".html")).read_text(),
        )))
        for number, solution in enumerate(_solutions(page), 1):
            candidates = [
                line for line in solution
                if len(_words(line).split()) >= 4 and _words(line) not in outside
            ]
            shown = [line for line in candidates if _words(line) in teacher_page]
            assert len(shown) >= 2, (
                f"{page.name}, solution {number}: the teacher's page should show its lines, "
                f"found {shown} of {candidates}"
            )
            lines[(page.stem, number)] = shown
    return lines


def test_student_edition_builds_cleanly(student_build):
    assert student_build.returncode == 0, student_build.report()
    assert (student_build.html / "index.html").exists()
    assert not (student_build.html / "_sources").exists(), "page sources hold the solutions"
    assert student_build.git_status_after == student_build.git_status_before, (
        "the student build changed the repository (git status --ignored)"
    )


def test_student_edition_shows_no_solution(student_build, solution_lines):
    texts = _site_text(built(student_build).html)
    assert any(path.name == "searchindex.js" for path in texts)
    leaks = [
        f"{chapter} solution {number}: {line.strip()!r} in {path.relative_to(student_build.html)}"
        for (chapter, number), lines in solution_lines.items()
        for line in lines
        for path, text in texts.items()
        if _words(line) in text
    ]
    assert not leaks, "the student edition shows solutions:\n" + "\n".join(leaks)


def _search_terms(build) -> set[str]:
    text = (built(build).html / "searchindex.js").read_text()
    return set(json.loads(text[text.index("(") + 1:text.rindex(")")])["terms"])


def test_student_search_index_has_no_solution_words(book_build, student_build, exported):
    """The words that only solutions use are in the teacher's search index (as Sphinx stems
    them), and none is in the student's."""
    stem = SearchEnglish({}).stem
    outside_text = _outside_solutions(exported) + "\n" + _pages_without_exercises(book_build)
    outside = {stem(word.lower()) for word in re.findall(r"\w+", outside_text)}
    solution_only = {
        stem(word.lower())
        for page in EXERCISE_CHAPTERS for solution in _solutions(page)
        for word in re.findall(r"\w+", "\n".join(solution))
    } - outside
    teacher, student = _search_terms(book_build), _search_terms(student_build)
    indexed = solution_only & teacher
    assert len(indexed) >= 20, f"few solution words in the teacher's index: {sorted(indexed)}"
    leaked = indexed & student
    assert not leaked, f"the student's search index has solution words: {sorted(leaked)}"


# --- JupyterLab --------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_jupyter_lab_opens_the_chapters_as_notebooks(tmp_path):
    """The README's notebook command: JupyterLab serves a chapter's .md as a notebook
    (jupytext's contents manager), and leaves nothing behind in the repository."""
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, **{
        name: str(tmp_path / name.lower()) for name in (
            "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR",
            "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR",
        )
    }}
    jupyter = Path(sys.executable).parent / "jupyter"
    log = tmp_path / "lab.log"
    before = git_status()
    with log.open("w") as stream:
        lab = subprocess.Popen(
            [str(jupyter), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
             "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={ROOT}",
             # CI runs as root, which Jupyter refuses without this.
             *(["--allow-root"] if os.geteuid() == 0 else [])],
            stdout=stream, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            cwd=tmp_path,
        )
    try:
        def get(path):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"token {token}"}
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response)

        deadline = time.monotonic() + 120
        while True:
            assert lab.poll() is None, f"jupyter lab exited:\n{log.read_text()[-3000:]}"
            try:
                get("/api/status")
                break
            except OSError:
                assert time.monotonic() < deadline, f"no answer:\n{log.read_text()[-3000:]}"
                time.sleep(0.5)
        model = get("/api/contents/book/intro.md?type=notebook&content=1")
    finally:
        lab.terminate()
        try:
            lab.wait(timeout=30)
        except subprocess.TimeoutExpired:
            lab.kill()
            lab.wait()
    assert model["type"] == "notebook", model["type"]
    expected = jupytext.read(ROOT / "book" / "intro.md")
    assert [c["source"] for c in model["content"]["cells"]] == [c.source for c in expected.cells]
    assert git_status() == before, "jupyter lab wrote into the repository"
