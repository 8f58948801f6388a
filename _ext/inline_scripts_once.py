"""Include each inline ``<script>`` of a page once (a local fix for a Sphinx 7 bug).

Jupyter Book 1.x pins Sphinx 7, whose HTML builder adds an inline script (one registered
with ``app.add_js_file(None, body=...)``) twice when an extension registers it after the
builder started: once under the file name ``None`` straight away, and once more under ``''``
when the builder re-reads the registry before writing (``prepare_writing``). The two compare
unequal, so both are written. sphinx-thebe registers its ``const THEBE_JS_URL = ...`` script
that way, and the second copy makes every page log "Uncaught SyntaxError: Identifier
'THEBE_JS_URL' has already been declared" (sphinx-togglebutton's ``var`` script is doubled
too, silently). Sphinx fixed it in 8.2 (sphinx-doc/sphinx#13402); remove this extension
(and its line in _config.yml) once the book builds with Sphinx >= 8.2.

The fix drops, page by page, a script that repeats an earlier one (same source, priority and
attributes, with ``None`` and ``''`` meaning the same inline script). Nothing else changes.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _key(script: Any) -> tuple[Any, ...]:
    attributes = getattr(script, "attributes", {})
    return (getattr(script, "filename", script) or "", getattr(script, "priority", None),
            tuple(sorted(attributes.items())))


def _drop_repeated_scripts(app: Sphinx, pagename: str, templatename: str,
                           context: dict[str, Any], doctree: Any) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[Any, ...]] = set()
    unique = []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    # In place: the builder restores this same list after each page.
    scripts[:] = unique


def setup(app: Sphinx) -> dict[str, Any]:
    # Late, after every extension has added its page-specific scripts.
    app.connect("html-page-context", _drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
