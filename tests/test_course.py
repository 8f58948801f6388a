"""The course materials: what every chapter tells a student before and after it, the
glossary and its links, and the API reference.

The chapter checks read the sources; the glossary and API checks read the HTML of the
session's one strict build (the `book_build` fixture, see conftest.py).
"""

import importlib
import pkgutil
import re
from html.parser import HTMLParser

import pytest

import data_helpers

from ._book import APPENDICES, ROOT, notebook_files

CHAPTERS = notebook_files()[1:]  # the Welcome page is not a chapter
MIN_GLOSSARY_TERMS = 30
MINUTES_PER_EXERCISE = 15  # the instructor guide's rule


def main_text(path):
    """A chapter's text before its exercises."""
    return path.read_text().split("\n## Exercises", 1)[0]


def section(text, title):
    """The text of the ``## title`` section, up to the next ``## `` heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    return None if match is None else match.group(1)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_opens_with_prerequisites_and_time_to_learn(path):
    objectives = section(main_text(path), "Learning objectives")
    assert objectives is not None, f"{path.name} has no '## Learning objectives' section"
    table = re.search(r"^\| Prerequisites \|.*\n\|[-| ]+\|\n((?:\|.*\|\n)+)", objectives, re.M)
    assert table, f"{path.name}: no prerequisites table after the learning objectives"
    rows = {row.split("|")[1].strip(): row.split("|")[2].strip()
            for row in table.group(1).splitlines()}
    for row in ("Chapters", "Python", "Packages"):
        assert rows.get(row), f"{path.name}: the prerequisites table has no '{row}' row"
    if path.stem in APPENDICES:  # no exercises: the time to learn is reading only
        assert re.search(r"\*\*Time to learn:\*\*\s+about\s+\d+\s+minutes", objectives), (
            f"{path.name}: no 'Time to learn' line after the learning objectives"
        )
        assert "{exercise-start}" not in path.read_text(), f"{path.name} is an appendix"
        return
    time = re.search(
        r"\*\*Time to learn:\*\*\s+about\s+(\d+)\s+minutes:\s+(\d+)\s+of\s+reading.*?,\s+"
        r"(\d+)\s+for\s+the\s+(\d+)\s+exercises",
        objectives, re.S,
    )
    assert time, f"{path.name}: no 'Time to learn' line after the learning objectives"
    total, reading, exercise_minutes, exercises = map(int, time.groups())
    counted = path.read_text().count("{exercise-start}")
    assert exercises == counted, (
        f"{path.name} says {exercises} exercises but has {counted}: update its time to learn"
    )
    assert exercise_minutes == MINUTES_PER_EXERCISE * exercises
    assert total == reading + exercise_minutes, f"{path.name}: the minutes do not add up"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_ends_with_whats_next(path):
    text = path.read_text()
    if path.stem not in APPENDICES:
        assert "\n## Exercises" in text, f"{path.name} has no Exercises section"
    after = section(main_text(path), "What's next")
    assert after is not None, f"{path.name} has no '## What's next' before its Exercises"
    assert len(after.split()) >= 10, f"{path.name}: its What's next section says nothing"
    headings = re.findall(r"^## (.*)$", main_text(path), re.M)
    assert headings[-1] == "What's next", (
        f"{path.name}: What's next must be the last section (before the Exercises)"
    )


class _Anchors(HTMLParser):
    """The ids and hrefs of an HTML page."""

    def __init__(self):
        super().__init__()
        self.ids, self.hrefs, self.terms = set(), set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
            if tag == "dt" and attrs["id"].startswith("term-"):
                self.terms.append(attrs["id"])
        if attrs.get("href"):
            self.hrefs.add(attrs["href"])


def anchors(book_build, name):
    page = book_build.html / "book" / f"{name}.html"
    if not page.exists():
        pytest.fail(f"the build wrote no {page.name} (log: {book_build.log})", pytrace=False)
    parser = _Anchors()
    parser.feed(page.read_text())
    return parser


def test_glossary_has_enough_terms(book_build):
    terms = anchors(book_build, "glossary").terms
    assert len(set(terms)) == len(terms), "a glossary term is defined twice"
    assert len(terms) >= MIN_GLOSSARY_TERMS, (
        f"the glossary defines {len(terms)} terms, expected >= {MIN_GLOSSARY_TERMS}"
    )


def test_every_glossary_term_is_linked_from_a_chapter(book_build):
    terms = anchors(book_build, "glossary").terms
    linked = set()
    for path in CHAPTERS:
        for href in anchors(book_build, path.stem).hrefs:
            if href.startswith("glossary.html#"):
                linked.add(href.split("#", 1)[1])
    unlinked = sorted(set(terms) - linked)
    assert not unlinked, f"no chapter links these glossary terms with {{term}}: {unlinked}"


def public_modules():
    """Every public module of the package: those whose name does not start with _."""
    return sorted(
        f"data_helpers.{info.name}"
        for info in pkgutil.iter_modules(data_helpers.__path__)
        if not info.name.startswith("_")
    )


def test_api_page_documents_every_public_name(book_build):
    ids = anchors(book_build, "api").ids
    expected = {}
    for name in public_modules():
        module = importlib.import_module(name)
        assert hasattr(module, "__all__"), f"{name} has no __all__"
        expected[f"module-{name}"] = name
        for member in module.__all__:
            expected[f"{name}.{member}"] = name
    for member in data_helpers.__all__:  # the package's shortcuts, under their modules
        defining = getattr(data_helpers, member).__module__
        expected[f"{defining}.{member}"] = "data_helpers"
    missing = sorted(target for target in expected if target not in ids)
    assert not missing, f"book/api.md does not document: {missing}"


def test_course_pages_are_in_the_toc():
    toc = (ROOT / "_toc.yml").read_text()
    for page in ("glossary", "api", "instructor_guide"):
        assert f"file: book/{page}\n" in toc, f"book/{page}.md is not in _toc.yml"


_API_TABLE = re.compile(
    r"\.\. automodule:: (?P<module>data_helpers\.\w+)\n   :members:\n\n"
    r"   \.\. autosummary::\n      :nosignatures:\n\n(?P<names>(?:      \S+\n)+)"
)


def test_api_page_tables_list_each_modules_public_names():
    """Each module's summary table is its __all__, so a new function is not left out."""
    tables = {m["module"]: m["names"].split() for m in
              _API_TABLE.finditer((ROOT / "book" / "api.md").read_text())}
    assert set(tables) == set(public_modules()) - {"data_helpers"}, sorted(tables)
    for module, names in tables.items():
        assert names == sorted(importlib.import_module(module).__all__), (
            f"book/api.md: the table of {module} is not its __all__ (sorted)"
        )
