"""Sphinx extension: chapters as notebooks in the download menu, and a student edition.

Registered in _config.yml (``sphinx: local_extensions``). It does two things.

1. Every page that myst-nb executed gets two more entries in its download menu: the
   executed notebook (outputs and all) and the student notebook (solutions taken out, see
   student.py), both with the glued numbers written into their text (glued.py). The files
   are written into the HTML output under ``_notebooks/``.

2. With sphinx-exercise's ``hide_solutions = True`` it builds a student edition, which
   sphinx-exercise alone does not: for the gated form (``solution-start`` ...
   ``solution-end``) it drops only the directive, and leaves the solution's text and code
   cells on the page. Here the whole stretch is removed while the document is read, before
   Sphinx pickles it, so nothing of it reaches a page, an image folder or the search index.
   The page sources (``_sources/``, the .md files with their solutions) are not copied,
   and the menu offers only the student notebook.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError
from sphinx.transforms import SphinxTransform
from sphinx_exercise.directive import SolutionStartDirective
from sphinx_exercise.nodes import solution_end_node

from .glued import paste_glued, saved_glue
from .student import student_notebook

#: Where the notebooks go, inside the HTML output.
FOLDER = "_notebooks"


class hidden_solution(nodes.Element):  # lower case, as docutils names its nodes
    """Marks where a hidden gated solution starts; removed with the solution it starts.

    It is deliberately not registered with Sphinx: should one survive, the HTML writer
    fails on it rather than publish a solution.
    """


class HidingSolutionStart(SolutionStartDirective):
    """``solution-start`` that, when solutions are hidden, leaves a marker to cut from."""

    def run(self) -> list[nodes.Node]:
        result = super().run()  # records the directive for sphinx-exercise's checks
        if self.config.hide_solutions:
            return [hidden_solution()]
        return result


class RemoveHiddenSolutions(SphinxTransform):
    """Remove each hidden solution: its marker, every node up to its solution-end, and that.

    Runs before sphinx-exercise merges gated solutions (priority 10), which with hidden
    solutions has nothing left to merge.
    """

    default_priority = 9

    def apply(self, **kwargs: Any) -> None:
        for marker in list(self.document.findall(hidden_solution)):
            parent = marker.parent
            start = parent.index(marker)
            end = next(
                (i for i in range(start, len(parent)) if isinstance(parent[i], solution_end_node)),
                None,
            )
            if end is None:
                raise ExtensionError(
                    f"{self.env.docname}: a solution-start has no solution-end at the same "
                    "level, so the student edition cannot hide that solution"
                )
            del parent[start:end + 1]


def hide_sources(app: Sphinx, config: Config) -> None:
    """The student edition does not copy the page sources: they hold the solutions."""
    if config.hide_solutions:
        config.html_copy_source = False


def _executed_notebook(app: Sphinx, pagename: str) -> Path:
    # myst-nb writes the notebooks it executed beside the HTML output (its OUTPUT_FOLDER).
    return Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"


def _button(url: str, text: str, tooltip: str, label: str) -> dict[str, str]:
    return {"type": "link", "url": url, "text": text, "tooltip": tooltip,
            "icon": "fas fa-code", "label": label}


def add_notebooks(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Write the page's notebooks into the HTML output and list them in its download menu."""
    menu = next(
        (button for button in context.get("header_buttons", [])
         if button.get("label") == "download-buttons"),
        None,
    )
    if menu is None:
        return  # the theme shows no download menu (use_download_button: false)
    if app.config.hide_solutions:
        # Only what holds no solution: the .md source (not copied, see hide_sources) and the
        # executed notebook do. On every page, notebook or not: a source link would be dead.
        menu["buttons"] = [b for b in menu["buttons"] if b.get("label") not in
                           ("download-source-button", "download-notebook-button")]
    executed_path = _executed_notebook(app, pagename)
    if doctree is None or not executed_path.exists():
        return  # not a notebook page

    # Jupyter shows a glue role as it is typed: write in the value the page shows.
    executed = paste_glued(nbformat.read(executed_path, as_version=4),
                           saved_glue(executed_path))
    name = Path(pagename).name
    outdir = Path(app.outdir) / FOLDER
    student_file = outdir / "student" / f"{name}.ipynb"
    student_file.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(student_notebook(executed), student_file)
    student = _button(
        context["pathto"](f"{FOLDER}/student/{name}.ipynb", 1), "student .ipynb",
        "Download the notebook without solutions, for the exercises",
        "download-student-notebook-button",
    )
    if app.config.hide_solutions:
        menu["buttons"] = [student, *menu["buttons"]]
        return
    nbformat.write(executed, outdir / f"{name}.ipynb")
    notebook = _button(
        context["pathto"](f"{FOLDER}/{name}.ipynb", 1), ".ipynb",
        "Download the executed notebook, with outputs and solutions",
        "download-executed-notebook-button",
    )
    # After the .md source, before "print to PDF" (the theme's last entry).
    menu["buttons"][-1:-1] = [notebook, student]


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("sphinx_exercise")  # defines hide_solutions and solution-start
    app.add_directive("solution-start", HidingSolutionStart, override=True)
    app.add_transform(RemoveHiddenSolutions)
    app.connect("config-inited", hide_sources)
    # sphinx-book-theme fills its header buttons at priority 501; change them after that.
    app.connect("html-page-context", add_notebooks, priority=600)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
