"""Glued numbers written into a notebook's Markdown, for the notebooks readers download.

On the web page myst-nb replaces ``{glue:text}`key``` (or ``{glue}`key```) with the value a
code cell glued under that name. A downloaded notebook opened in Jupyter would show the
role itself, so before the notebooks are written (notebooks.py) each role is replaced by
the same text the page shows, formatted by myst-nb's own function.
"""

from __future__ import annotations

import copy
import re

import nbformat
from myst_nb.core.variables import format_plain_text

__all__ = ["glued_values", "paste_glued"]

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


def paste_glued(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of `notebook` whose Markdown shows glued values instead of glue roles.

    A role whose name was never glued is left as it is (the strict book build fails on it).

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
    values = glued_values(notebook)

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
