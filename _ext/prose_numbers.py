"""Numbers typed into a chapter's prose: find them, so that none can drift from the code.

The book promises that every number it reports was produced by the code on the page. In the
prose that means a number a cell computed reaches the text through myst-nb's ``glue``
(``{glue:text}`key``` in the Markdown, ``glue("key", value, display=False)`` in a cell),
never by being typed. What is left for typing is what no code produces: facts from a
specification or another tool's documentation, the values the chapter's own code sets (an
exercise's givens, a camera's frame size), and names (``level 0``, ``8-bit``, ``OME-Zarr
0.5``). Each chapter lists its typed numbers, with the reason each may be typed, in
``tests/prose_numbers/<chapter>.toml``; tests/test_prose_numbers.py fails on any other.

What counts as prose: the Markdown outside code cells, fenced blocks, inline code (which
is where ``{glue}`` roles, ``{cite}`` keys and ``{doc}`` targets live), link targets, HTML
tags, labels and the front matter. Digits inside a word (``uint16``, ``v3``, ``2D``) are
part of a name, not a number.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

__all__ = ["GENERIC", "TypedNumber", "numbers_in", "phrase_pattern", "prose", "typed_numbers"]

#: Numbers that are names or conventions wherever they appear, with the reason.
GENERIC: dict[str, str] = {
    r"(?i)\blevels?[\s-]\d+(?:(?:,\s|\sand\s|\sor\s|\sto\s|-)\d+)*": "a level's name (its index)",
    r"\b\d+-bit\b": "a pixel type's name (8-bit, 16-bit)",
    r"(?i)\b(?:OME-Zarr|OME-NGFF|NGFF|versions?)\s0\.\d(?:(?:,\s|\sand\s|\sor\s|\sto\s)0\.\d)*":
        "a specification's version",
    r"(?i)\bZarr\s(?:format|version)\s[23]\b": "a Zarr format's name",
    r"\*\*Time to learn:\*\*[^\n]*": "the time estimate, by the instructor guide's method",
    r"\b2(?:\sx\s2)+\b": "the halving window of every pyramid in the book (factor 2 per axis)",
}


def phrase_pattern(phrase: str) -> str:
    """A regular expression matching `phrase` literally, whatever whitespace breaks it.

    Examples
    --------
    >>> bool(re.search(phrase_pattern("16 MiB"), "a budget of 16\\nMiB"))
    True
    """
    return r"\s+".join(re.escape(word) for word in phrase.split())

# A number standing alone: not part of a word (uint16, v3, 2D) or of a longer number.
_NUMBER = re.compile(r"(?<![\w.\-])\d+(?:[.,]\d+)*(?![\w])")
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.S)
_FENCED = re.compile(r"^(?P<fence>`{3,}|~{3,})[^\n]*\n.*?^(?P=fence)[ \t]*$", re.S | re.M)
_NOT_PROSE = [
    # Inline code and roles, which may wrap a line but not cross a paragraph.
    re.compile(r"(?:\{[\w:.-]+\})?(?<!`)(?P<ticks>`+)(?!`)"
               r"(?:(?!\n[ \t]*\n).)+?(?<!`)(?P=ticks)(?!`)", re.S),
    re.compile(r"\]\([^)\n]*\)"),  # a link's target
    re.compile(r"<[^<>\n]*>"),  # an HTML tag or autolink
    re.compile(r"^\([\w.-]+\)=[ \t]*$", re.M),  # a label: (my-label)=
    re.compile(r"^:[\w-]+:.*$", re.M),  # a directive's option line, :class: dropdown
    re.compile(r"^%.*$", re.M),  # a MyST comment
    re.compile(r"\[\^[\w-]+\]"),  # a footnote mark
]


def _blank(match: re.Match[str]) -> str:
    """Spaces for everything but line breaks, so line numbers and columns survive."""
    return re.sub(r"[^\n]", " ", match.group(0))


def prose(text: str) -> str:
    """The prose of a MyST Markdown page, everything else blanked out in place.

    Examples
    --------
    >>> prose("Chunks of `256` pixels: {glue:text}`n_chunks` of them.")
    'Chunks of       pixels:                         of them.'
    >>> prose("Text\\n```{code-cell} ipython3\\nx = 1\\n```\\nmore").splitlines()[3:]
    ['   ', 'more']
    """
    text = _FRONT_MATTER.sub(_blank, text)
    text = _FENCED.sub(_blank, text)
    for pattern in _NOT_PROSE:
        text = pattern.sub(_blank, text)
    return text


def numbers_in(text: str) -> list[str]:
    """The numbers standing alone in `text`, in order.

    Examples
    --------
    >>> numbers_in("a uint16 image of 1,024 x 512 pixels, 2D, OME-Zarr 0.5, v3")
    ['1,024', '512', '0.5']
    """
    return [match.group(0) for match in _NUMBER.finditer(text)]


@dataclass(frozen=True)
class TypedNumber:
    """A number in the prose that no allowed phrase covers."""

    line: int
    number: str
    context: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.number!r} in {self.context!r}"


def typed_numbers(text: str, allowed: list[str]) -> list[TypedNumber]:
    """The numbers of a page's prose that neither `allowed` nor `GENERIC` covers.

    Parameters
    ----------
    text
        The page's MyST Markdown source.
    allowed
        Regular expressions; a number inside a match of one of them (in the prose, with
        everything else blanked) is allowed. `GENERIC` is always added.

    Examples
    --------
    >>> page = "Level 0 has {glue:text}`n` chunks of 640 x 360 pixels, 3 per row."
    >>> [t.number for t in typed_numbers(page, [re.escape("640 x 360")])]
    ['3']
    """
    body = prose(text)
    covered = bytearray(len(body))
    for pattern in [*GENERIC, *allowed]:
        for match in re.finditer(pattern, body):
            covered[match.start():match.end()] = b"\x01" * (match.end() - match.start())
    starts = [0] + [i + 1 for i, c in enumerate(body) if c == "\n"]
    found = []
    for match in _NUMBER.finditer(body):
        if all(covered[match.start():match.end()]):
            continue
        line = bisect.bisect_right(starts, match.start())
        context = body[starts[line - 1]:].split("\n", 1)[0]
        found.append(TypedNumber(line, match.group(0), " ".join(context.split())[:100]))
    return found
