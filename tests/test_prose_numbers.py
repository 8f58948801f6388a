"""No number in a chapter's prose is typed by hand unless it may be (_ext/prose_numbers.py).

A number that code on the page produces reaches the prose through myst-nb's ``glue``. The
numbers that may be typed are listed per page in ``tests/prose_numbers/<page>.toml``, in
three tables, each phrase (matched literally) with the reason it may be typed:

``[sources]``
    facts from a specification, a tool's documentation or a seed document (say which);
``[inputs]``
    values the page's own code sets, such as an exercise's givens or a camera's frame
    size; every number of such a phrase must appear in one of the page's code cells;
``[names]``
    numbers that name rather than measure: an exercise's number, a count of things the
    text itself lists.

The instructor guide is not checked: its numbers are the teacher's time estimates, made
by the method it states, and no code produces them.
"""

import re
import tomllib

import jupytext
import pytest

from _ext.prose_numbers import numbers_in, phrase_pattern, prose, typed_numbers

from ._book import ROOT, toc_files

ALLOWED = ROOT / "tests" / "prose_numbers"
TABLES = ("sources", "inputs", "names")
PAGES = [page for page in toc_files() if page.stem != "instructor_guide"]
_GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`(?:[\w.-]+::)?(?P<key>[\w.-]+?)(?::[^`]*)?`")
_GLUE_CALL = re.compile(r"\bglue\(\s*[\"'](?P<key>[\w.-]+)[\"']")


def allowed_phrases(page):
    """The page's table of typed numbers: {table: {phrase: reason}}."""
    path = ALLOWED / f"{page.stem}.toml"
    tables = tomllib.loads(path.read_text()) if path.exists() else {}
    unknown = set(tables) - set(TABLES)
    assert not unknown, f"{path.name}: unknown tables {sorted(unknown)}; use {TABLES}"
    return {table: tables.get(table, {}) for table in TABLES}


def code_of(page):
    notebook = jupytext.read(page)
    return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")


@pytest.fixture(params=PAGES, ids=lambda p: p.stem)
def page(request):
    return request.param


def test_no_typed_number_in_prose(page):
    tables = allowed_phrases(page)
    patterns = [phrase_pattern(phrase) for table in tables.values() for phrase in table]
    typed = typed_numbers(page.read_text(), patterns)
    assert not typed, (
        f"{page.name}: numbers typed into the prose. Glue what code computes "
        f"(myst_nb.glue, {{glue:text}}); list a fact, an input or a name with its reason in "
        f"tests/prose_numbers/{page.stem}.toml:\n" + "\n".join(map(str, typed))
    )


def test_allowed_phrases_are_used_and_explained(page):
    body = prose(page.read_text())
    for table, phrases in allowed_phrases(page).items():
        for phrase, reason in phrases.items():
            assert numbers_in(phrase), f"{page.stem}.toml [{table}] {phrase!r} holds no number"
            assert re.search(phrase_pattern(phrase), body), (
                f"{page.stem}.toml [{table}] {phrase!r} is not in the prose"
            )
            assert isinstance(reason, str) and len(reason.split()) >= 3, (
                f"{page.stem}.toml [{table}] {phrase!r} needs a reason"
            )


def test_inputs_are_set_by_the_code(page):
    code_numbers = set(numbers_in(code_of(page))) if page.suffix == ".md" else set()
    for phrase in allowed_phrases(page)["inputs"]:
        missing = [n for n in numbers_in(phrase) if n.replace(",", "") not in code_numbers]
        assert not missing, (
            f"{page.stem}.toml [inputs] {phrase!r}: {missing} appear in no code cell of "
            f"{page.name}; glue it, or list it where it belongs"
        )


def test_every_glued_number_is_glued_on_the_same_page(page):
    text = page.read_text()
    used = {m.group("key") for m in _GLUE_ROLE.finditer(prose_and_roles(text))}
    defined = {m.group("key") for m in _GLUE_CALL.finditer(code_of(page))} if used else set()
    assert used <= defined, f"{page.name}: no glue() call defines {sorted(used - defined)}"
    assert defined <= used, f"{page.name}: glued but never shown: {sorted(defined - used)}"


def prose_and_roles(text):
    """The Markdown outside code cells (where glue roles are written)."""
    return re.sub(r"^```\{code-cell\}.*?^```", "", text, flags=re.S | re.M)


def test_a_typed_number_is_caught():
    """The check fails a chapter whose glued number is replaced by the number it showed."""
    page = next(p for p in PAGES if _GLUE_ROLE.search(p.read_text()))
    text = page.read_text()
    tables = allowed_phrases(page)
    patterns = [phrase_pattern(phrase) for table in tables.values() for phrase in table]
    assert not typed_numbers(text, patterns)
    # In brackets, so that no name pattern ("level 73") can cover it, wherever the role is.
    typed = _GLUE_ROLE.sub("(73)", text, count=1)
    assert [t.number for t in typed_numbers(typed, patterns)] == ["73"]
