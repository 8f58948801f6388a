"""Student notebooks (_ext/student.py): solutions out, everything else kept, on hand-made
notebooks written the way the chapters write their exercises."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from _ext.student import remove_solutions, student_notebook

EXERCISE = "```{exercise-start}\n:label: ex-%s\n```\nExercise %s text.\n```{exercise-end}\n```"
START = "```{solution-start} ex-%s\n:class: dropdown\n```"
END = "```{solution-end}\n```"


def sources(notebook):
    return [(cell.cell_type, cell.source) for cell in notebook.cells]


def figure_cell(source):
    cell = new_code_cell(source, execution_count=1)
    cell.outputs = [new_output("display_data", {"image/png": "iVBORw0KGgo=", "text/plain": "fig"})]
    return cell


def test_a_solution_with_code_cells_goes_and_the_rest_stays():
    notebook = new_notebook(cells=[
        new_markdown_cell("# Chapter"),
        figure_cell("plot(volume)"),
        new_markdown_cell(EXERCISE % ("a", "A")),
        new_markdown_cell(START % "a" + "\nExplanation of the answer."),
        figure_cell("answer = 42\nplot(answer)"),
        new_code_cell("assert answer == 42"),
        new_markdown_cell(END),
        new_markdown_cell("## Key points"),
    ])
    student = student_notebook(notebook)
    assert sources(student) == [
        ("markdown", "# Chapter"),
        ("code", "plot(volume)"),
        ("markdown", EXERCISE % ("a", "A")),
        ("markdown", "## Key points"),
    ]
    # The chapter's own figure is still there for students to see.
    assert student.cells[1].outputs == notebook.cells[1].outputs
    nbformat.validate(student)


def test_cells_split_at_the_directives_keep_their_outside_text():
    notebook = new_notebook(cells=[
        new_markdown_cell(EXERCISE % ("a", "A") + "\n\n" + START % "a" + "\nHint: think."),
        new_code_cell("secret = 1"),
        new_markdown_cell("The end of it.\n" + END + "\n\nText after the solution."),
    ])
    assert sources(student_notebook(notebook)) == [
        ("markdown", EXERCISE % ("a", "A")),
        ("markdown", "Text after the solution."),
    ]


def test_one_cell_may_close_a_solution_and_open_the_next():
    notebook = new_notebook(cells=[
        new_markdown_cell(EXERCISE % ("a", "A") + "\n" + START % "a"),
        new_code_cell("first_answer = 1"),
        new_markdown_cell(END + "\n\n+ between\n\n" + EXERCISE % ("b", "B") + "\n" + START % "b"),
        new_code_cell("second_answer = 2"),
        new_markdown_cell("Why it works.\n" + END),
        new_code_cell("print('after both')"),
    ])
    student = student_notebook(notebook)
    assert sources(student) == [
        ("markdown", EXERCISE % ("a", "A")),
        ("markdown", "+ between\n\n" + EXERCISE % ("b", "B")),
        ("code", "print('after both')"),
    ]
    assert "answer" not in nbformat.writes(student)


def test_a_one_block_solution_and_colon_fences_go_too():
    text = (
        "Exercise text.\n"
        ":::{solution} ex-a\n:class: dropdown\nThe answer.\n:::\n"
        "Between.\n"
        "````{solution} ex-b\nSee:\n```python\nx = 1\n```\n````\n"
        "After."
    )
    assert remove_solutions(text) == ("Exercise text.\nBetween.\nAfter.", False)


def test_the_input_notebook_is_left_as_it_was():
    notebook = new_notebook(cells=[
        new_markdown_cell("Text.\n" + START % "a"), new_code_cell("x = 1"), new_markdown_cell(END),
    ])
    before = nbformat.writes(notebook)
    student_notebook(notebook)
    assert nbformat.writes(notebook) == before


def test_a_notebook_without_solutions_is_unchanged():
    notebook = new_notebook(cells=[new_markdown_cell("# Title"), figure_cell("plot()")])
    assert student_notebook(notebook) == notebook


@pytest.mark.parametrize(("cells", "message"), [
    ([new_markdown_cell(START % "a"), new_code_cell("x = 1")], "no {solution-end}"),
    ([new_markdown_cell("Text.\n" + END)], "outside a solution"),
    ([new_markdown_cell(START % "a" + "\n" + START % "b")], "inside a solution"),
    ([new_markdown_cell("```{solution-start} ex-a\n:class: dropdown")], "never closed"),
])
def test_unbalanced_solutions_are_refused(cells, message):
    with pytest.raises(ValueError, match=message):
        student_notebook(new_notebook(cells=cells))
