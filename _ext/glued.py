"""Glued numbers written into a notebook's Markdown, for the notebooks readers download.

On the web page myst-nb replaces ``{glue:text}`key``` (or ``{glue}`key```) with the value a
code cell glued under that name. A downloaded notebook opened in Jupyter would show the
role itself, so before the notebooks are written (notebooks.py) each role is replaced by
the same text the page shows, formatted by myst-nb's own function.

myst-nb takes the outputs of ``glue(..., display=False)`` out of the notebook it writes
to ``jupyter_execute/`` and saves them beside it, in ``<page>.glue.json``; `saved_glue`
reads that file.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import nbformat
from myst_nb.core.variables import format_plain_text

__all__ = ["glued_values", "paste_glued", "saved_glue"]

# {glue}`key`, {glue:text}`key`, {glue:text}`key:.1f` (a key of this page: no "::").
_ROLE = re.compile(r"\{glue(?::(?:text|any))?\}`(?P<key>[\w.-]+?)(?::(?P<spec>[^`:]*))?`")


def glued_values(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """Each glued name of an executed notebook and its ``text/plain`` value.

    Examples
    --------
    >>> from myst_nb.ext.glue import GLUE_PREFIX  # what glue(..., display=False) adds
    >>> cell = nbformat.v4.new_code_cell("glue('n', 3, display=False)")
    >>> cell.outputs = [nbformat.v4.new_output(
    ...     "display_data", {GLUE_PREFIX + "text/plain": "3"},
    ...     metadata={"scrapbook": {"name": "n", "mime_prefix": GLUE_PREFIX}})]
    >>> glued_values(nbformat.v4.new_notebook(cells=[cell]))
    {'n': '3'}
    """
    values = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            scrapbook = output.get("metadata", {}).get("scrapbook")
            if output.get("output_type") != "display_data" or not scrapbook:
                continue
            prefix = scrapbook.get("mime_prefix", "")
            text = output["data"].get(prefix + "text/plain")
            if text is not None:
                values[scrapbook["name"]] = text
    return values


def saved_glue(notebook_path: Path) -> dict[str, str]:
    """The ``text/plain`` values myst-nb saved beside an executed notebook, by name.

    myst-nb removes the glued outputs from the notebook it writes (``display=False``
    leaves nothing to show) and writes them to ``<notebook>.glue.json``; no file, no values.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     page = Path(tmp) / "page.ipynb"
    ...     _ = page.with_suffix(".glue.json").write_text(json.dumps(
    ...         {"n": {"output_type": "display_data", "data": {"text/plain": "3"}}}))
    ...     saved_glue(page), saved_glue(Path(tmp) / "other.ipynb")
    ({'n': '3'}, {})
    """
    path = Path(notebook_path).with_suffix(".glue.json")
    if not path.exists():
        return {}
    saved = json.loads(path.read_text(encoding="utf-8"))
    return {name: output["data"]["text/plain"] for name, output in saved.items()
            if "text/plain" in output.get("data", {})}


def paste_glued(
    notebook: nbformat.NotebookNode, values: dict[str, str] | None = None
) -> nbformat.NotebookNode:
    """A copy of `notebook` whose Markdown shows glued values instead of glue roles.

    The values are ``values`` (e.g. from `saved_glue`) and those still in the notebook's
    outputs. A role whose name was never glued is left as it is (the strict book build
    fails on it).

    Examples
    --------
    >>> from myst_nb.ext.glue import GLUE_PREFIX
    >>> cell = nbformat.v4.new_code_cell("glue('ratio', 2.345, display=False)")
    >>> cell.outputs = [nbformat.v4.new_output(
    ...     "display_data", {GLUE_PREFIX + "text/plain": "2.345"},
    ...     metadata={"scrapbook": {"name": "ratio", "mime_prefix": GLUE_PREFIX}})]
    >>> text = nbformat.v4.new_markdown_cell("About {glue:text}`ratio:.1f` times faster.")
    >>> paste_glued(nbformat.v4.new_notebook(cells=[cell, text])).cells[1].source
    'About 2.3 times faster.'
    """
    values = {**glued_values(notebook), **(values or {})}

    def paste(match: re.Match[str]) -> str:
        key, spec = match.group("key"), match.group("spec")
        if key not in values:
            return match.group(0)
        return format_plain_text(values[key], spec or "")

    pasted = copy.deepcopy(notebook)
    for cell in pasted.cells:
        if cell.cell_type == "markdown":
            cell.source = _ROLE.sub(paste, cell.source)
    return pasted
