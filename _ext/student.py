"""Student notebooks: a chapter's notebook with every solution taken out.

The chapters write solutions in sphinx-exercise's gated form, which spans cells::

    ```{solution-start} ex-label
    :class: dropdown
    ```
    Some explanation.            <- markdown
    (code cells)                 <- code
    ```{solution-end}
    ```

so a solution is not one cell but a stretch of the notebook: everything from the
``solution-start`` directive to the end of the ``solution-end`` directive goes, and a
markdown cell that holds the exercise's text before ``solution-start`` (or more text after
``solution-end``) keeps that text. A one-block ``{solution}`` directive goes too.
"""

from __future__ import annotations

import copy
import re

import nbformat

__all__ = ["remove_solutions", "student_notebook"]

# The opening line of a MyST directive: a fence of 3+ backticks or colons, then {name}.
_OPENING = re.compile(r"^\s{0,3}(?P<fence>`{3,}|:{3,})\{(?P<name>[a-z-]+)\}")


def _closes(line: str, fence: str) -> bool:
    """Whether `line` closes a block opened with `fence` (same character, at least as long)."""
    stripped = line.strip()
    return (
        len(stripped) >= len(fence)
        and set(stripped) == {fence[0]}
    )


def remove_solutions(text: str, in_solution: bool = False) -> tuple[str, bool]:
    """Take the solutions out of one markdown cell's text.

    Parameters
    ----------
    text
        The cell's source.
    in_solution
        Whether the cell starts inside a gated solution (an earlier cell opened it).

    Returns
    -------
    The text that lies outside any solution, and whether the cell ends inside one.

    Examples
    --------
    >>> text = "Do this.\\n```{solution-start} ex\\n:class: dropdown\\n```\\nLike so."
    >>> remove_solutions(text)
    ('Do this.', True)
    >>> remove_solutions("Done.\\n```{solution-end}\\n```\\nNext.", in_solution=True)
    ('Next.', False)
    """
    kept: list[str] = []
    lines = iter(text.splitlines())
    for line in lines:
        opening = _OPENING.match(line)
        name = opening["name"] if opening else None
        if name in ("solution-start", "solution", "solution-end"):
            if (name == "solution-end") != in_solution:
                state = "inside" if in_solution else "outside"
                raise ValueError(f"a {{{name}}} directive {state} a solution: {line!r}")
            # Skip the directive block itself, up to its closing fence.
            fence = opening["fence"]
            for inner in lines:
                if _closes(inner, fence):
                    break
            else:
                raise ValueError(f"the {{{name}}} directive is never closed: {line!r}")
            # {solution} is whole in one block; solution-start opens a stretch, -end closes it.
            in_solution = name == "solution-start"
        elif not in_solution:
            kept.append(line)
    return "\n".join(kept).strip("\n"), in_solution


def student_notebook(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of `notebook` without its solutions, for students to work in.

    Every cell inside a solution goes, code cells included (and with them their outputs);
    a markdown cell that is only partly inside one keeps its text outside it. All other
    cells stay as they are, outputs included: students see the chapter's figures and
    results without running it first, and only the answers are missing.

    Raises
    ------
    ValueError
        If a solution is opened and never closed, or closed without being opened.

    Examples
    --------
    >>> from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
    >>> notebook = new_notebook(cells=[
    ...     new_markdown_cell("Add 1 and 1.\\n```{solution-start} ex\\n```"),
    ...     new_code_cell("assert 1 + 1 == 2"),
    ...     new_markdown_cell("```{solution-end}\\n```"),
    ... ])
    >>> [cell.source for cell in student_notebook(notebook).cells]
    ['Add 1 and 1.']
    """
    student = copy.deepcopy(notebook)
    cells, in_solution = [], False
    for cell in student.cells:
        if cell.cell_type == "markdown":
            cell.source, in_solution_after = remove_solutions(cell.source, in_solution)
            # A cell that was all solution (or only directives) goes altogether.
            if cell.source.strip():
                cells.append(cell)
            in_solution = in_solution_after
        elif not in_solution:
            cells.append(cell)
    if in_solution:
        raise ValueError("a {solution-start} directive has no {solution-end}")
    student.cells = cells
    nbformat.validate(student)
    return student
