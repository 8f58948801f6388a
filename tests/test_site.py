"""The built website works in a browser: every page opens in headless Chromium without a
console error, a page error or a failed request; every image loads; every internal link and
every ``#anchor`` resolves; search finds what the book says; the repository and launch
buttons point at the repository named in _config.yml. Each page is also screenshotted to
``_build/screenshots/<edition>/`` (git-ignored), for a look by eye.

The site is served from 127.0.0.1 on an ephemeral port by a thread of this process, as a
reader's browser would see it (file:// URLs behave differently), and no request may leave
it: the book must not need the internet (fonts, MathJax, scripts from a CDN).

The checks run once per edition (``EDITIONS``). The book edition is the session's one
executed build (the ``book_build`` fixture); nothing here builds the book again. The
student edition is wired through ``student_html`` below.

Without Chromium the tests skip, unless ``DATA_HELPERS_REQUIRE_BROWSER=1`` (CI sets it),
where a missing browser is a failure. The browser is Debian's ``chromium`` (never a
downloaded one), driven through Playwright's sync API.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest
import yaml

from ._book import ROOT, notebook_files

EDITIONS = ["book", "student"]

SCREENSHOTS = ROOT / "_build" / "screenshots"

#: Chromium's flags for this machine: without the background-networking ones it keeps
#: trying to reach Google's services. Playwright adds --headless itself.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

#: Milliseconds a page may take to load, or search to show its results.
TIMEOUT_MS = 30_000

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def _require_browser() -> bool:
    return os.environ.get("DATA_HELPERS_REQUIRE_BROWSER") == "1"


def _no_browser(reason: str) -> None:
    if _require_browser():
        pytest.fail(f"{reason}, and DATA_HELPERS_REQUIRE_BROWSER=1 requires the site test")
    pytest.skip(f"{reason}: the site test needs it (apt-get install chromium)")


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    _no_browser("no Chromium installed (no `chromium` on PATH)")
    raise AssertionError("unreachable")


# ---------------------------------------------------------------------------------------
# The editions and the local server


@pytest.fixture(scope="session")
def student_html(student_build) -> Path:
    """The student edition's HTML folder (``make student``), from the session's build."""
    if student_build.returncode != 0:
        pytest.fail("the student edition did not build; see tests/test_notebooks.py")
    return Path(student_build.html)


def _edition_html(request: pytest.FixtureRequest, edition: str) -> Path:
    if edition == "book" and os.environ.get("DATA_HELPERS_SITE_HTML"):
        # For working on the site: check an HTML folder built already (e.g. with
        # `jupyter-book build . --path-output /tmp/x`: /tmp/x/_build/html), without a new build.
        return Path(os.environ["DATA_HELPERS_SITE_HTML"])
    if edition == "book":
        build = request.getfixturevalue("book_build")
        if build.returncode != 0:
            pytest.fail("the book did not build, so there is no site to check; see "
                        "test_book.py::test_executed_strict_build")
        return build.html
    if edition == "student":
        return request.getfixturevalue("student_html")
    raise ValueError(f"unknown edition {edition!r}; EDITIONS are {EDITIONS}")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # A browser that drops a connection it no longer needs is not an error of the site.
        pass


@dataclass
class Site:
    """One edition's HTML folder, served at `base` (ending in /)."""

    edition: str
    html: Path
    base: str
    pages: list[str]  # relative paths of the .html pages, index.html first


def _pages(html: Path) -> list[str]:
    skip = ("_static/", "_sources/", "_images/", "_downloads/")
    pages = sorted(
        path.relative_to(html).as_posix() for path in html.rglob("*.html")
        if not path.relative_to(html).as_posix().startswith(skip)
    )
    return sorted(pages, key=lambda page: page != "index.html")


@pytest.fixture(scope="module", params=EDITIONS)
def site(request: pytest.FixtureRequest) -> Iterator[Site]:
    edition = request.param
    html = _edition_html(request, edition)
    assert (html / "index.html").exists(), f"the {edition} edition has no index.html in {html}"
    handler = functools.partial(_QuietHandler, directory=str(html))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name=f"site-{edition}", daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield Site(edition, html, f"http://{host}:{port}/", _pages(html))
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# ---------------------------------------------------------------------------------------
# The browser, and one visit of every page


@pytest.fixture(scope="module")
def browser_context():
    """One headless Chromium and one browser context for every page of every edition."""
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("Playwright is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(TIMEOUT_MS)
            yield context
            context.close()
        finally:
            browser.close()


@dataclass
class Visit:
    """What one page did in the browser."""

    page: str
    problems: list[str] = field(default_factory=list)  # console errors, failed requests
    broken_images: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # absolute hrefs, as the browser resolved
    ids: set[str] = field(default_factory=set)
    downloads: dict[str, str] = field(default_factory=dict)  # download menu: text -> href
    solutions: list[str] = field(default_factory=list)  # solution boxes the reader can open
    clipped_code: list[str] = field(default_factory=list)  # code cells wider than their box


def _screenshot_path(edition: str, page: str) -> Path:
    return SCREENSHOTS / edition / (page.removesuffix(".html").replace("/", "-") + ".png")


_WAIT_FOR_IMAGES = """async () => {
    const images = [...document.images];
    for (const image of images) image.loading = "eager";
    await Promise.all(images.map(image => image.complete ? null
        : new Promise(done => { image.onload = image.onerror = done; })));
    return images.filter(image => !(image.complete && image.naturalWidth > 0))
                 .map(image => image.currentSrc || image.src || image.outerHTML);
}"""

_LINKS = "() => [...document.querySelectorAll('a[href]')].map(a => a.href)"
_DOWNLOADS = ("() => Object.fromEntries([...document.querySelectorAll("
              "'.dropdown-download-buttons a[href]')].map(a => [a.innerText.trim(), a.href]))")
# sphinx-exercise draws a solution as an admonition with the class "solution" (a dropdown
# here); its title says "Solution to Exercise ...".
_SOLUTIONS = ("() => [...document.querySelectorAll('.solution, .solution-title')]"
              ".map(e => e.innerText.trim().slice(0, 80))")
# A code cell's box scrolls sideways when a line is longer than the box is wide; the
# reader then sees the line cut off. Only the cells shown are checked: a collapsed one
# (hide-input, a closed solution) shows no text until it is opened.
_CLIPPED_CODE = ("() => [...document.querySelectorAll('.cell_input pre')]"
                 ".filter(p => p.innerText.trim() && p.scrollWidth > p.clientWidth)"
                 ".map(p => p.innerText.split('\\n')"
                 ".reduce((a, b) => b.length > a.length ? b : a))")
_IDS = ("() => [...document.querySelectorAll('[id], a[name]')]"
        ".map(e => e.id || e.getAttribute('name'))")


def _visit(context, site: Site, page: str) -> Visit:
    visit = Visit(page)
    origin = site.base.rstrip("/")
    tab = context.new_page()

    def on_console(message) -> None:
        if message.type == "error":
            visit.problems.append(f"console error: {message.text} ({message.location})")

    def on_response(response) -> None:
        if response.url.startswith(origin) and response.status >= 400:
            visit.problems.append(f"HTTP {response.status} for {response.url}")

    def on_failed(request) -> None:
        visit.problems.append(f"request failed ({request.failure}): {request.url}")

    def route(route) -> None:
        url = route.request.url
        if url.startswith(origin) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            visit.problems.append(f"requests an external resource: {url}")
            route.abort()

    tab.on("console", on_console)
    tab.on("pageerror", lambda error: visit.problems.append(f"uncaught page error: {error}"))
    tab.on("response", on_response)
    tab.on("requestfailed", on_failed)
    tab.route("**/*", route)
    try:
        tab.goto(site.base + page, wait_until="load")
        tab.wait_for_load_state("networkidle")
        visit.broken_images = tab.evaluate(_WAIT_FOR_IMAGES)
        visit.links = tab.evaluate(_LINKS)
        visit.ids = set(tab.evaluate(_IDS))
        visit.downloads = tab.evaluate(_DOWNLOADS)
        visit.solutions = tab.evaluate(_SOLUTIONS)
        visit.clipped_code = tab.evaluate(_CLIPPED_CODE)
        if "Solution to Exercise" in tab.inner_text("body"):
            visit.solutions.append("the page's text says 'Solution to Exercise'")
        shot = _screenshot_path(site.edition, page)
        shot.parent.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(shot), full_page=True)
    finally:
        tab.close()
    return visit


@pytest.fixture(scope="module")
def visits(site: Site, browser_context) -> dict[str, Visit]:
    """Every page of the edition, opened once; the tests below read what each did."""
    return {page: _visit(browser_context, site, page) for page in site.pages}


def _report(failures: dict[str, list[str]]) -> str:
    return "\n".join(f"{page}:\n" + "\n".join(f"    {item}" for item in items)
                     for page, items in failures.items() if items)


# ---------------------------------------------------------------------------------------
# The checks


def test_site_has_every_chapter(site: Site):
    from ._book import toc_files

    expected = {path.relative_to(ROOT).with_suffix(".html").as_posix() for path in toc_files()}
    missing = expected - set(site.pages)
    assert not missing, f"the {site.edition} edition has no page for {sorted(missing)}"


def test_pages_log_no_errors(site: Site, visits: dict[str, Visit]):
    failures = {page: visit.problems for page, visit in visits.items()}
    assert not any(failures.values()), (
        f"pages of the {site.edition} edition with console errors or failed requests:\n"
        + _report(failures)
    )


def test_images_load(site: Site, visits: dict[str, Visit]):
    failures = {page: visit.broken_images for page, visit in visits.items()}
    assert not any(failures.values()), (
        f"images that did not load (naturalWidth 0) in the {site.edition} edition:\n"
        + _report(failures)
    )


def test_code_cells_show_their_lines_whole(site: Site, visits: dict[str, Visit]):
    """No code cell is wider than its box (test_book.py holds the lines to a length)."""
    failures = {page: [f"cut off: {line!r}" for line in visit.clipped_code]
                for page, visit in visits.items()}
    assert not any(failures.values()), _report(failures)


def test_screenshots_saved(site: Site, visits: dict[str, Visit]):
    for page in visits:
        shot = _screenshot_path(site.edition, page)
        assert shot.exists() and shot.stat().st_size > 0, f"no screenshot of {page} at {shot}"


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        error.close()
        return error.code


def _ids_in_html(path: Path) -> set[str]:
    text = path.read_text(errors="replace")
    return set(re.findall(r"""\b(?:id|name)=["']([^"']+)["']""", text))


def test_internal_links_and_anchors_resolve(site: Site, visits: dict[str, Visit]):
    # Every same-origin link of every page, each target fetched once, each anchor looked up
    # in the target's DOM (as the browser built it) or, for a page not visited, its HTML.
    targets: dict[str, set[str]] = {}
    sources: dict[str, set[str]] = {}
    for page, visit in visits.items():
        for href in visit.links:
            if not href.startswith(site.base):
                continue
            url, fragment = urldefrag(href)
            targets.setdefault(url, set())
            if fragment:
                targets[url].add(unquote(fragment))
            sources.setdefault(url, set()).add(page)
    assert targets, f"no internal links found in the {site.edition} edition"

    failures: list[str] = []
    for url, fragments in sorted(targets.items()):
        where = ", ".join(sorted(sources[url]))
        status = _status(url)
        if status != 200:
            failures.append(f"{url}: HTTP {status} (linked from {where})")
            continue
        if not fragments:
            continue
        relative = unquote(urlsplit(url).path).lstrip("/") or "index.html"
        if relative.endswith("/"):
            relative += "index.html"
        if relative in visits:
            ids = visits[relative].ids
        elif relative.endswith(".html"):
            ids = _ids_in_html(site.html / relative)
        else:
            failures.append(f"{url}: anchors {sorted(fragments)} on a file that is not a page")
            continue
        for fragment in sorted(fragments - ids):
            failures.append(f"{url}#{fragment}: no such anchor (linked from {where})")
    assert not failures, (
        f"broken internal links in the {site.edition} edition:\n" + "\n".join(failures)
    )


def _glossary_term() -> str | None:
    """A term the glossary page defines (its first), or None while there is no glossary."""
    glossary = ROOT / "book" / "glossary.md"
    if not glossary.exists():
        return None
    text = glossary.read_text()
    block = re.search(r"^(`{3,}|:{3,})\{glossary\}[^\n]*\n(.*?)^\1", text, re.M | re.S)
    lines = block.group(2).splitlines() if block else []
    terms = [line for line in lines if line.strip() and not line[0].isspace()
             and not line.startswith(":")]
    if not terms:  # a glossary written as a definition list or with headings
        terms = [line.lstrip("#") for line in text.split("\n---", 2)[-1].splitlines()
                 if line.startswith("## ")]
    if not terms:
        return "glossary"
    return re.sub(r"[`*_{}]|\(.*?\)", " ", terms[0]).split(":")[0].strip() or "glossary"


def _search(context, site: Site, term: str) -> list[str]:
    tab = context.new_page()
    try:
        tab.goto(f"{site.base}search.html?q={urllib.request.quote(term)}", wait_until="load")
        # searchtools.js writes its summary once the search is done.
        tab.wait_for_function(
            "() => { const s = document.querySelector('#search-results p.search-summary');"
            " return s && s.textContent.trim().length > 0; }"
        )
        return tab.evaluate(
            "() => [...document.querySelectorAll('#search-results ul.search li a')]"
            ".map(a => a.href)"
        )
    finally:
        tab.close()


def test_download_menu_gives_the_notebook(site: Site, visits: dict[str, Visit], browser_context):
    """The download menu's .ipynb entry, followed as a reader would, returns a notebook of
    the chapter: the executed one in the book, the student one in the student edition."""
    import nbformat

    failures: list[str] = []
    for path in notebook_files():
        page = path.relative_to(ROOT).with_suffix(".html").as_posix()
        menu = visits[page].downloads
        wanted = ".ipynb" if site.edition == "book" else "student .ipynb"
        if wanted not in menu:
            failures.append(f"{page}: no {wanted!r} in the download menu {sorted(menu)}")
            continue
        response = browser_context.request.get(menu[wanted])
        if not response.ok:
            failures.append(f"{page}: {menu[wanted]} answered HTTP {response.status}")
            continue
        notebook = nbformat.reads(response.text(), as_version=4)
        nbformat.validate(notebook)
        title = path.read_text().split("\n# ", 1)[1].splitlines()[0]
        if not any(cell.cell_type == "markdown" and f"# {title}" in cell.source
                   for cell in notebook.cells):
            failures.append(f"{page}: {menu[wanted]} is not the chapter {title!r}")
    assert not failures, "\n".join(failures)


def test_no_solution_is_visible_in_the_student_edition(site: Site, visits: dict[str, Visit]):
    solutions = {page: visit.solutions for page, visit in visits.items()}
    if site.edition == "book":
        # The teacher's edition shows them: so the check below can see one when it is there.
        assert any(solutions.values()), "the book edition shows no solution at all"
        return
    assert not any(solutions.values()), (
        "solutions in the student edition:\n" + _report(solutions)
    )


def test_search_finds_a_term(site: Site, browser_context):
    results = _search(browser_context, site, "chunk")
    chapter = site.base + "book/arrays_chunks_compression.html"
    assert any(url.startswith(chapter) for url in results), (
        f"searching the {site.edition} edition for 'chunk' did not find {chapter}: {results}"
    )


def test_search_finds_a_glossary_term(site: Site, browser_context):
    term = _glossary_term()
    if term is None:
        pytest.skip("no book/glossary.md yet")
    results = _search(browser_context, site, term)
    glossary = site.base + "book/glossary.html"
    assert any(url.startswith(glossary) for url in results), (
        f"searching the {site.edition} edition for the glossary term {term!r} did not find "
        f"the glossary page {glossary}: {results}"
    )


def _repository() -> tuple[str, str, str]:
    repository = CONFIG["repository"]
    path_to_book = (repository.get("path_to_book") or "").strip("/")
    return (repository["url"].rstrip("/"), repository.get("branch", "main"),
            f"{path_to_book}/" if path_to_book else "")


def test_repository_buttons_point_to_the_repository(site: Site, visits: dict[str, Visit]):
    url, branch, path_to_book = _repository()
    html = CONFIG.get("html", {})
    failures: list[str] = []
    for page in (p for p in visits if p.startswith("book/")):
        links = visits[page].links
        source = f"{path_to_book}{page.removesuffix('.html')}.md"
        if html.get("use_repository_button") and url not in links:
            failures.append(f"{page}: no repository button linking to {url}")
        if html.get("use_issues_button") and not any(
            link.startswith(f"{url}/issues/new") for link in links
        ):
            failures.append(f"{page}: no issues button linking to {url}/issues/new")
        if html.get("use_edit_page_button") and f"{url}/edit/{branch}/{source}" not in links:
            failures.append(f"{page}: no edit button linking to {url}/edit/{branch}/{source}")
    assert not failures, "\n".join(failures)


def test_launch_buttons_open_the_chapter_from_the_repository(
    site: Site, visits: dict[str, Visit]
):
    url, branch, path_to_book = _repository()
    launch = CONFIG.get("launch_buttons", {})
    org_repo = "/".join(urlsplit(url).path.strip("/").split("/")[:2])
    interface = {"classic": "tree", "jupyterlab": "lab/tree"}[
        launch.get("notebook_interface", "classic")
    ]
    providers = [key for key in ("binderhub_url", "jupyterhub_url", "colab_url")
                 if launch.get(key)]
    if not providers:
        pytest.skip("_config.yml configures no launch buttons")
    failures: list[str] = []
    for path in notebook_files():
        page = path.relative_to(ROOT).with_suffix(".html").as_posix()
        if page not in visits:
            continue  # an edition may leave a page out; test_site_has_every_chapter says so
        links = visits[page].links
        source = f"{path_to_book}{path.relative_to(ROOT).as_posix()}"
        for key in providers:
            hub = launch[key].rstrip("/")
            if key == "binderhub_url":
                expected = f"{hub}/v2/gh/{org_repo}/{branch}?urlpath={interface}/{source}"
                ok = expected in links
            else:
                expected = f"{hub}/... naming {org_repo} and {source}"
                ok = any(link.startswith(hub) and org_repo in unquote(link)
                         and source in unquote(link) for link in links)
            if not ok:
                failures.append(f"{page}: no {key.removesuffix('_url')} launch link {expected}")
    assert not failures, "\n".join(failures)
