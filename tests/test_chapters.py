"""Check what each chapter promises, on the notebooks the book build executed.

The chapters are executed once per session, by the strict book build of the `book_build`
fixture (conftest.py), which fails on any cell that raises; test_book.py checks that build.
A chapter fails here if its executed notebook shows an error, or if it lacks what every
chapter of this book has: learning objectives, key points, at least two figures and at
least three exercises whose solutions run and check themselves with an assert.
"""

import re

import jupytext
import nbformat
import pytest

from ._book import APPENDICES, ROOT, notebook_files

CHAPTERS = notebook_files()
TAUGHT = CHAPTERS[1:]  # the Welcome page teaches nothing yet: no key points, one figure
# Appendices (_book.APPENDICES) have key points and figures, but no exercises.
EXERCISE_CHAPTERS = [path for path in TAUGHT if path.stem not in APPENDICES]


@pytest.fixture(params=CHAPTERS, ids=lambda p: p.stem)
def executed(request, book_build):
    """A chapter and the notebook the book build executed for it."""
    path = request.param
    notebook_path = book_build.executed_notebook(path)
    if not notebook_path.exists():
        pytest.fail(
            f"{path.relative_to(ROOT)} has no executed notebook: the book build stopped before "
            f"it (test_book.py::test_executed_strict_build shows why; log: {book_build.log})",
            pytrace=False,
        )
    return path, nbformat.read(notebook_path, as_version=4)


def markdown(notebook):
    return "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")


def test_chapter_runs_and_opens_with_objectives(executed):
    path, notebook = executed
    text = markdown(notebook)
    assert re.search(r"^#+ .*(learning objectives|what you will learn)", text, re.I | re.M), (
        f"{path.name} has no learning-objectives section"
    )
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    unexecuted = [cell.source[:80] for cell in code if cell.get("execution_count") is None]
    assert not unexecuted, f"{path.name}: the build did not execute {unexecuted}"
    errors = [
        f"{output.ename}: {output.evalue}"
        for cell in code for output in cell.get("outputs", []) if output.output_type == "error"
    ]
    assert not errors, f"{path.name} shows errors: {errors}"


def test_chapter_has_key_points_and_figures(executed):
    path, notebook = executed
    if path in TAUGHT:
        assert re.search(r"^#+ .*key points", markdown(notebook), re.I | re.M), path.name
    figures = sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )
    minimum = 2 if path in TAUGHT else 1
    assert figures >= minimum, f"{path.name} draws {figures} figures, expected >= {minimum}"


def test_chapter_has_self_checking_exercises(executed):
    path, notebook = executed
    if path not in EXERCISE_CHAPTERS:
        pytest.skip("the Welcome page and the appendices have no exercises")
    exercises, solutions, checked = 0, 0, 0
    in_solution, solution_has_assert = False, False
    directive = re.compile(r"\{(exercise-start|solution-start|solution-end)\}")
    for cell in notebook.cells:
        if cell.cell_type == "code":
            if in_solution and re.search(r"^\s*assert\b", cell.source, re.M):
                solution_has_assert = True
            continue
        # Directives in the order they appear: one cell may close a solution and open the next.
        for match in directive.finditer(cell.source):
            if match.group(1) == "exercise-start":
                exercises += 1
            elif match.group(1) == "solution-start":
                in_solution, solution_has_assert = True, False
                solutions += 1
            else:
                checked += in_solution and solution_has_assert
                in_solution = False
    assert exercises >= 3, f"{path.name} has {exercises} exercises, expected >= 3"
    assert solutions >= exercises, f"{path.name}: every exercise needs a solution"
    assert checked == solutions, f"{path.name}: every solution must check itself with assert"


def test_chapter_has_a_jupytext_header():
    for path in CHAPTERS:
        metadata = jupytext.read(path).metadata
        assert metadata["jupytext"]["text_representation"]["format_name"] == "myst", path.name
        assert metadata["kernelspec"]["name"] == "python3", path.name
        assert nbformat.validate(jupytext.read(path)) is None


def test_every_exercise_has_a_check_cell_before_its_solution(executed):
    """Each exercise is followed, before its solution, by a code cell that the student fills
    in and that calls a check of data_helpers.exercises; in the book it still holds the
    placeholders, so it prints "Not yet" (the student notebooks drop the solutions and
    keep these cells)."""
    path, notebook = executed
    if path not in EXERCISE_CHAPTERS:
        pytest.skip("the Welcome page and the appendices have no exercises")
    directive = re.compile(r"\{(exercise-end|solution-start)\}[ \t]*(\S*)")
    waiting, checked, missing = False, 0, []
    for cell in notebook.cells:
        if cell.cell_type == "code":
            if waiting and re.search(r"\bexercises\.check_\w+\(", cell.source):
                printed = "".join(o.get("text", "") for o in cell.get("outputs", []))
                assert printed.startswith("Not yet:"), (
                    f"{path.name}: the check cell before a solution should still hold its "
                    f"placeholders and print 'Not yet', it printed {printed[:200]!r}"
                )
                waiting = False
                checked += 1
            continue
        for match in directive.finditer(cell.source):
            if match.group(1) == "exercise-end":
                waiting = True
            else:
                if waiting:
                    missing.append(match.group(2))
                waiting = False
    assert not missing, (
        f"{path.name}: no check cell between these exercises and their solution: {missing}"
    )
    exercises = sum(cell.source.count("{exercise-end}") for cell in notebook.cells
                    if cell.cell_type == "markdown")
    assert checked == exercises >= 3, (
        f"{path.name}: {checked} check cells for {exercises} exercises, expected one each"
    )
