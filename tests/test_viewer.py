"""The multiscale viewers of book/multiscale.md and book/pyramids.md work in a browser.

The built site (the session's book build, or ``DATA_HELPERS_SITE_HTML``, as in
test_site.py) is served by `data_helpers.serve.serve_directory`, whose request log is
what the web server saw; headless Chromium (Debian's, through Playwright, with
test_site.py's flags) opens the chapter and drives the viewer through its JavaScript API
(``element.viewer``: ``setView``, ``stats``...), the mouse, the keyboard and touch
pointers. The checks:

- the first view (the whole slide) reads only the chunks of the level `level_for` picks,
  the smallest; zoomed to full resolution it then reads only level-0 chunks, exactly
  those the view overlaps, computed here from the chunk grid;
- the counts on the panel equal the requests and bytes the server saw;
- the canvas shows the image: at full resolution its pixels are level 0's;
- the viewer's level rule (``levelFor`` in viewer.js) and
  `data_helpers.multiscale.MultiscaleImage.level_for` give the same level for the same
  shapes, so they cannot drift apart;
- the viewer of a plane of the sample volume (book/pyramids.md) does the same, and its
  switch between pyramids made with different methods reads the other pyramid's
  metadata and only the chunks of the view, and shows that pyramid;
- the stream replay (book/streaming.md) shows record_stream's record, every level of it;
- without JavaScript the pages show a still picture and a note;
- no console error, no failed request, nothing from outside the site.

Screenshots go to ``_build/screenshots/viewer/`` (git-ignored), and the three views of the
issue (whole slide, a tenfold zoom, full resolution) are written with their chunk and byte
counts to ``_build/screenshots/viewer/views.json`` (``pytest -s`` prints them).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

from _ext.viewer import DATA, PLANE, SLIDE, STREAM, plane_name, record
from data_helpers.multiscale import MultiscaleImage
from data_helpers.serve import serve_directory

from .test_site import CHROMIUM_ARGS, SCREENSHOTS, TIMEOUT_MS, _chromium, _edition_html, _no_browser

PAGE = "book/multiscale.html"
PLANE_PAGE = "book/pyramids.html"
STREAM_PAGE = "book/streaming.html"
STORE = f"/{DATA}/{SLIDE['name']}/"
SHOTS = SCREENSHOTS / "viewer"
VIEWPORT = {"width": 1280, "height": 900}
# A chunk of any image of the site's data: the image's folder, level, row, column.
_CHUNK = re.compile(rf"^/{re.escape(DATA)}/([^/]+)/(\d+)/c/(\d+)/(\d+)$")


# ---------------------------------------------------------------------------------------
# The site, the server, the browser


@pytest.fixture(scope="module")
def html(request: pytest.FixtureRequest) -> Path:
    folder = _edition_html(request, "book")
    if not (folder / PAGE).exists():
        pytest.fail(f"the build wrote no {PAGE} in {folder}")
    return folder


@pytest.fixture(scope="module")
def image(html: Path) -> MultiscaleImage:
    """The pyramid the viewer reads, as the package opens it from the built site."""
    return MultiscaleImage.open(html / STORE.strip("/"))


@pytest.fixture(scope="module")
def server(html: Path) -> Iterator:
    with serve_directory(html) as served:
        yield served


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("Playwright is not installed")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Tab:
    """One page of the browser with the viewer, and what went wrong on it."""

    page: object
    server: object
    stores: tuple[str, ...] = (SLIDE["name"],)  # the images whose requests count
    problems: list[str] = field(default_factory=list)

    def run(self, body: str):
        """Evaluate `body` (JavaScript statements, `v` is the viewer) and return its value."""
        return self.page.evaluate(
            f"async () => {{ const v = document.querySelector('.dh-viewer').viewer; {body} }}"
        )

    def stats(self) -> dict:
        return self.run("return v.stats();")

    def settled(self) -> dict:
        return self.run("return await v.idle();")

    def chunk_requests(self, store: str | None = None) -> list[tuple[int, int, int, int]]:
        """(level, row, column, bytes) of every chunk of `store` (default: of any of the
        tab's stores) the server answered so far."""
        found = []
        for entry in self.server.requests:
            if (match := _CHUNK.match(entry.path)) and match[1] in (
                    self.stores if store is None else (store,)):
                assert entry.status == 200, entry
                found.append((*map(int, match.groups()[1:]), entry.bytes_sent))
        return found

    def chunk_paths(self) -> list[str]:
        """The paths of the chunks of the tab's stores the server answered so far."""
        return [entry.path for entry in self.server.requests
                if (match := _CHUNK.match(entry.path)) and match[1] in self.stores]

    def metadata_requests(self, store: str | None = None) -> list:
        stores = self.stores if store is None else (store,)
        return [entry for entry in self.server.requests
                if any(entry.path.startswith(f"/{DATA}/{name}/") for name in stores)
                and entry.path.endswith("zarr.json")]

    def shot(self, name: str) -> Path:
        path = SHOTS / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=False)
        return path


@contextlib.contextmanager
def opened(browser, server, page_path: str,
           stores: tuple[str, ...] = (SLIDE["name"],)) -> Iterator[Tab]:
    """`page_path` opened in a fresh browser context (empty cache), its viewer ready."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    tab = Tab(page, server, stores)
    origin = server.url

    def route(route) -> None:
        url = route.request.url
        if url.startswith(origin) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            tab.problems.append(f"requests an external resource: {url}")
            route.abort()

    page.on("console", lambda m: m.type == "error" and tab.problems.append(
        f"console error: {m.text} ({m.location})"))
    page.on("pageerror", lambda error: tab.problems.append(f"uncaught page error: {error}"))
    page.on("requestfailed", lambda r: tab.problems.append(f"failed: {r.url} {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and tab.problems.append(
        f"HTTP {r.status} for {r.url}"))
    page.route("**/*", route)
    server.clear_requests()
    page.goto(f"{origin}/{page_path}", wait_until="load")
    page.wait_for_function("() => document.querySelector('.dh-viewer')?.viewer")
    page.locator(".dh-viewer").scroll_into_view_if_needed()
    tab.first = tab.run("return await v.ready;")
    try:
        yield tab
        assert not tab.problems, "\n".join(tab.problems)
        assert not tab.stats()["errors"], tab.stats()["errors"]
    finally:
        context.close()


@pytest.fixture
def tab(browser, server) -> Iterator[Tab]:
    """The multiscale chapter, its viewer ready."""
    with opened(browser, server, PAGE) as tab:
        yield tab


# ---------------------------------------------------------------------------------------
# What a view should read, computed here


def chunks_overlapping(shape, chunks, region) -> set[tuple[int, int]]:
    """The chunks of a level that the region [y0, y1, x0, x1) (pixel edges) overlaps."""
    spans = []
    for (lo, hi), n, c in zip(((region[0], region[1]), (region[2], region[3])), shape, chunks,
                              strict=True):
        lo, hi = min(max(lo, 0), n), min(max(hi, 0), n)
        spans.append(range(math.floor(lo / c), math.ceil(hi / c)) if hi > lo else range(0))
    return {(iy, ix) for iy in spans[0] for ix in spans[1]}


def to_level(image: MultiscaleImage, level: int, region) -> list[float]:
    """A region [y0, y1, x0, x1] in pixel edges of level 0, in those of `level`.

    Through the physical coordinates of the metadata: pixel i of a level with scale s and
    translation t spans [t + (i - 0.5) s, t + (i + 0.5) s).
    """
    out = []
    for axis, edges in enumerate((region[:2], region[2:])):
        s0, t0 = image.scale(0)[axis], image.translation(0)[axis]
        s, t = image.scale(level)[axis], image.translation(level)[axis]
        out += [(t0 + (edge - 0.5) * s0 - t) / s + 0.5 for edge in edges]
    return out


def level_for(image: MultiscaleImage, max_shape) -> int:
    try:
        return image.level_for(tuple(max_shape))
    except ValueError:
        return -1


def panel(tab: Tab) -> dict[str, dict[str, str]]:
    """The panel's rows: their text and the numbers in their data attributes."""
    return tab.run("""return Object.fromEntries([...v.panel.querySelectorAll('dd')].map(
        (dd, i) => [Object.keys(v.rows)[i], {text: dd.textContent, ...dd.dataset}]));""")


def assert_counts_match_the_server(tab: Tab, stats: dict) -> None:
    requests = tab.chunk_requests()
    fetched = stats["fetched"]
    assert fetched["chunks"] == len(requests), (fetched, len(requests))
    assert fetched["bytes"] == sum(r[3] for r in requests)
    assert fetched["metadata"] == len(tab.metadata_requests())
    assert fetched["metadataBytes"] == sum(r.bytes_sent for r in tab.metadata_requests())
    assert sorted(urlsplit(r["url"]).path for r in stats["requests"]) == sorted(
        tab.chunk_paths()), "the viewer's list of chunks is not what the server sent"
    rows = panel(tab)
    assert int(rows["fetched"]["chunks"]) == len(requests)
    assert int(rows["fetched"]["bytes"]) == sum(r[3] for r in requests)
    assert f"{len(requests)} chunks" in rows["fetched"]["text"]


def canvas_pixels(tab: Tab) -> np.ndarray:
    """The canvas' red channel (the viewer draws grey), as an array of device pixels."""
    data = tab.run("""const c = v.canvas;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const out = new Array(c.width * c.height);
        for (let i = 0; i < out.length; i++) out[i] = d[4 * i];
        return {w: c.width, h: c.height, px: out};""")
    return np.array(data["px"], dtype=np.uint8).reshape(data["h"], data["w"])


# ---------------------------------------------------------------------------------------
# The checks


def test_first_view_reads_only_the_smallest_level(tab: Tab, image: MultiscaleImage):
    stats = tab.first
    assert stats["shapes"] == [list(shape) for shape in image.shapes]
    # The whole slide is on screen; the level is level_for's for the screen's shape.
    y0, y1, x0, x1 = stats["region"]
    assert y0 <= 0 and x0 <= 0 and y1 >= image.shapes[0][0] and x1 >= image.shapes[0][1]
    assert stats["level"] == level_for(image, stats["maxShape"])
    assert stats["level"] == image.levels - 1, (
        f"at {VIEWPORT} the whole slide should fit level {image.levels - 1}: {stats}")
    level = stats["level"]
    expected = chunks_overlapping(image.shapes[level], image.level(level).chunks,
                                  [0, image.shapes[0][0], 0, image.shapes[0][1]])
    requests = tab.chunk_requests()
    assert {r[0] for r in requests} == {level}, f"first view read other levels: {requests}"
    assert {r[1:3] for r in requests} == expected
    assert len(requests) == len(expected), "a chunk was fetched twice"
    assert stats["inView"]["count"] == len(expected) == stats["inView"]["loaded"]
    assert_counts_match_the_server(tab, stats)
    tab.shot("first-view")


def test_full_resolution_reads_only_level_0_chunks_in_view(tab: Tab, image):
    before = tab.chunk_requests()
    # Off the chunk boundaries, so that the view cuts chunks in part.
    stats = tab.run("return await v.setView({x: 5000.5, y: 1300.25, zoom: 1 / v.dpr});")
    assert stats["level"] == 0 == level_for(image, stats["maxShape"])
    new = tab.chunk_requests()[len(before):]
    expected = chunks_overlapping(image.shapes[0], image.level(0).chunks, stats["region"])
    assert new and {r[0] for r in new} == {0}, f"zoomed in, it read {new}"
    assert {r[1:3] for r in new} == expected
    assert len(new) == len(expected)
    n_chunks = math.prod(-(-n // c) for n, c in zip(image.shapes[0], image.level(0).chunks,
                                                     strict=True))
    assert len(expected) < n_chunks / 10
    assert {tuple(c) for c in stats["noPyramid"]["chunks"]} == expected
    assert_counts_match_the_server(tab, stats)

    # Pan by a third of the view: only the chunks it brings in are fetched, once each.
    seen = expected
    stats = tab.run("v.panBy(-v.cssWidth / 3, -v.cssHeight / 3); return await v.idle();")
    now = chunks_overlapping(image.shapes[0], image.level(0).chunks, stats["region"])
    newer = tab.chunk_requests()[len(before) + len(new):]
    assert {r[1:3] for r in newer} == now - seen
    assert_counts_match_the_server(tab, stats)
    tab.shot("full-resolution")


def test_canvas_shows_level_0_at_full_resolution(tab: Tab, image):
    # One device pixel per pixel, the view's edges on pixel edges: canvas pixel (i, j) is
    # level-0 pixel (y0 + i, x0 + j). The centre of the slide is tissue, with nuclei.
    stats = tab.run("""return await v.setView({x: 4000 + (v.canvas.width % 2) / 2,
        y: 2000 + (v.canvas.height % 2) / 2, zoom: 1 / v.dpr});""")
    assert stats["region"] == [round(edge) for edge in stats["region"]]
    y0, y1, x0, x1 = (round(edge) for edge in stats["region"])
    assert (y1 - y0, x1 - x0) == tuple(stats["canvas"])
    tab.run("v.showGrid = false; v.requestDraw(); return await v.idle();")
    pixels = canvas_pixels(tab)
    assert pixels.std() > 5, "the canvas is blank"
    expected = image.level(0)[y0:y1, x0:x1]
    assert np.abs(pixels.astype(int) - expected).max() <= 1


def test_canvas_is_not_blank_on_the_first_view(tab: Tab):
    pixels = canvas_pixels(tab)
    assert pixels.std() > 5 and len(np.unique(pixels)) > 50, "the canvas is blank"


def test_three_views_against_a_viewer_without_pyramid(tab: Tab, image):
    """The issue's three views: their chunks and bytes, and level 0's for the same view."""
    views = {}
    for name, call in [("whole slide", None), ("10x zoom", "v.zoomBy10()"),
                       ("full resolution", "v.fullResolution()")]:
        before = len(tab.chunk_requests())
        stats = tab.first if call is None else tab.run(f"return await {call};")
        new = tab.chunk_requests()[0 if call is None else before:]
        assert stats["level"] == level_for(image, stats["maxShape"])
        level = stats["level"]
        expected = chunks_overlapping(image.shapes[level], image.level(level).chunks,
                                      to_level(image, level, stats["region"]))
        assert {r[1:3] for r in new} == expected and {r[0] for r in new} == {level}
        zero = chunks_overlapping(image.shapes[0], image.level(0).chunks, stats["region"])
        chunk_bytes = math.prod(image.level(0).chunks) * image.level(0).dtype.itemsize
        views[name] = {
            "level": level,
            "zoom": stats["view"]["zoom"],
            "canvas": stats["canvas"],
            "chunks": len(new), "bytes": sum(r[3] for r in new),
            "no_pyramid_chunks": len(zero), "no_pyramid_bytes": len(zero) * chunk_bytes,
        }
        assert stats["noPyramid"]["count"] == len(zero)
        assert stats["noPyramid"]["bytes"] == len(zero) * chunk_bytes
        assert stats["inView"]["bytes"] == sum(r[3] for r in new)
        rows = panel(tab)
        assert int(rows["nopyramid"]["chunks"]) == len(zero)
        assert int(rows["view"]["chunks"]) == len(new)
        tab.shot(name.replace(" ", "-"))
    assert views["whole slide"]["no_pyramid_bytes"] > 50 * views["whole slide"]["bytes"]
    assert views["full resolution"]["no_pyramid_bytes"] == views["full resolution"]["bytes"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "views.json").write_text(json.dumps(views, indent=2))
    print()
    for name, v in views.items():
        print(f"{name:>16}: level {v['level']}, {v['chunks']} chunks, {v['bytes']} bytes; "
              f"without a pyramid {v['no_pyramid_chunks']} chunks, {v['no_pyramid_bytes']} "
              f"bytes ({v['no_pyramid_bytes'] / v['bytes']:.1f}x)")


def _pyramids(tmp_path: Path) -> list[MultiscaleImage]:
    """Pyramids of other shapes than the slide's, odd sizes and a third axis included."""
    from data_helpers.pyramid import build_pyramid

    return [
        build_pyramid(np.zeros((77, 130), np.uint8), tmp_path / "a.zarr", axes="yx",
                      chunks=(16, 16)),
        build_pyramid(np.zeros((3, 45, 301), np.uint8), tmp_path / "b.zarr", axes="cyx",
                      chunks=(1, 8, 32)),
    ]


def test_level_rule_is_level_for(tab: Tab, image, tmp_path: Path):
    """viewer.js's levelFor and MultiscaleImage.level_for agree on every limit tried."""
    rng = np.random.default_rng(0)
    cases = []
    for pyramid in [image, *_pyramids(tmp_path)]:
        shapes = [list(shape) for shape in pyramid.shapes]
        limits = {tuple(shape) for shape in pyramid.shapes}  # each level's own shape
        limits |= {tuple(n - 1 for n in shape) for shape in pyramid.shapes}  # just under
        limits |= {tuple(int(v) for v in rng.integers(1, 2 * n + 2, len(shapes[0])))
                   for n in [max(shapes[0])] for _ in range(200)}
        for limit in sorted(limits):
            cases.append((pyramid, shapes, list(limit)))
    answers = tab.page.evaluate(
        """async (cases) => {
            const {levelFor} = await import(new URL('../_static/viewer/viewer.js',
                                                    location.href));
            return cases.map(([shapes, limit]) => levelFor(shapes, limit));
        }""",
        [[shapes, limit] for _, shapes, limit in cases],
    )
    wrong = [(shapes, limit, js, level_for(pyramid, limit))
             for (pyramid, shapes, limit), js in zip(cases, answers, strict=True)
             if js != level_for(pyramid, limit)]
    assert not wrong, f"levelFor and level_for disagree (shapes, limit, js, python): {wrong[:5]}"
    assert {-1, 0}.issubset(set(answers)), "the cases should include no fit and level 0"

    # And the level the viewer draws at a sweep of zooms is level_for's for its limit.
    for zoom in np.geomspace(0.02, 4, 25):
        stats = tab.run(f"v.setView({{zoom: {zoom}}}); return v.stats();")
        expected = level_for(image, stats["maxShape"])
        assert stats["level"] == (expected if expected >= 0 else image.levels - 1), stats
        assert stats["maxShape"] == [math.ceil(n * stats["view"]["zoom"] * stats["dpr"] - 1e-9)
                                     for n in image.shapes[0]]
    tab.settled()


def test_mouse_keyboard_and_touch_move_the_view(tab: Tab):
    box = tab.page.locator(".dh-viewer canvas").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    start = tab.stats()["view"]

    tab.page.locator(".dh-viewer canvas").click()
    tab.page.keyboard.press("+")
    zoomed = tab.stats()["view"]
    assert zoomed["zoom"] == pytest.approx(start["zoom"] * 1.5)
    tab.page.keyboard.press("ArrowRight")
    moved = tab.stats()["view"]
    assert moved["x"] > zoomed["x"] and moved["y"] == zoomed["y"]

    tab.page.mouse.move(cx, cy)
    tab.page.mouse.down()
    tab.page.mouse.move(cx - 100, cy - 50, steps=5)
    tab.page.mouse.up()
    dragged = tab.stats()["view"]
    assert dragged["x"] == pytest.approx(moved["x"] + 100 / moved["zoom"])
    assert dragged["y"] == pytest.approx(moved["y"] + 50 / moved["zoom"])

    tab.page.mouse.wheel(0, -300)
    tab.page.wait_for_function(
        f"() => document.querySelector('.dh-viewer').viewer.view.zoom > {dragged['zoom']}")

    # Two fingers moving apart (touch pointers): a pinch zooms in about their midpoint.
    before = tab.stats()["view"]["zoom"]
    tab.run("""const box = v.canvas.getBoundingClientRect();
        const mx = box.left + box.width / 2, my = box.top + box.height / 2;
        const send = (type, id, dx) => v.canvas.dispatchEvent(new PointerEvent(type, {
            pointerId: id, pointerType: 'touch', isPrimary: id === 11, bubbles: true,
            clientX: mx + dx, clientY: my}));
        send('pointerdown', 11, -20); send('pointerdown', 12, 20);
        for (let d = 20; d <= 80; d += 10) { send('pointermove', 11, -d);
                                             send('pointermove', 12, d); }
        send('pointerup', 11, -80); send('pointerup', 12, 80);""")
    assert tab.stats()["view"]["zoom"] == pytest.approx(before * 4, rel=0.05)

    tab.page.keyboard.press("0")  # back to the whole slide
    assert tab.stats()["view"] == pytest.approx(start)
    stats = tab.settled()
    assert_counts_match_the_server(tab, stats)


@pytest.mark.parametrize("page_path", [PAGE, PLANE_PAGE, STREAM_PAGE])
def test_without_javascript_the_page_shows_a_still_picture(browser, server, page_path):
    context = browser.new_context(viewport=VIEWPORT, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/{page_path}", wait_until="load")
        still = page.locator(".dh-viewer .dh-viewer-still img")
        assert still.count() == 1
        assert page.evaluate("""() => { const i = document.querySelector(
            '.dh-viewer .dh-viewer-still img'); return i.complete && i.naturalWidth; }""") > 0
        assert "JavaScript is off" in page.locator(".dh-viewer").inner_text()
        assert page.locator(".dh-viewer canvas").count() == 0
        page.locator(".dh-viewer").scroll_into_view_if_needed()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"javascript-off-{Path(page_path).stem}.png"))
    finally:
        context.close()


def _as_json(record) -> dict:
    """A StreamRecord as stream.json should hold it: its fields and its on_disk, per level."""
    return {
        **dataclasses.asdict(record), "shape": list(record.shape), "on_disk": record.on_disk,
        "levels": [{**dataclasses.asdict(level), "shape": list(level.shape),
                    "on_disk": level.on_disk} for level in record.levels],
    }


def test_stream_replay_shows_the_record(browser, server, html: Path, tmp_path: Path):
    """The streaming chapter's replay shows record_stream's record, frame by frame."""
    records = record(tmp_path / "stream.zarr")  # the same stream again: records repeat
    document = json.loads((html / DATA / STREAM["name"]).read_text())
    assert document["records"] == [_as_json(r) for r in records], (
        "stream.json is not record_stream's record of the replayed stream")
    levels = len(records[0].levels)
    assert levels == 3, "the replayed stream should be multiscale"
    assert [level["frame_shape"] for level in document["levels"]] == [
        list(r.shape[2:]) for r in records[-1].levels]
    for k in range(levels):
        assert len({r.levels[k].chunk_files for r in records}) > 1, (
            f"the record should show level {k} flushing")
    with opened(browser, server, STREAM_PAGE) as tab:
        assert tab.first["frames"] == len(records)
        for i, r in enumerate(records):
            stats = tab.run(f"return v.setFrame({i});")
            assert (stats["frame"], stats["onDisk"], stats["chunkFiles"], stats["buffered"]) == (
                r.frame, r.on_disk, r.chunk_files, r.buffered)
            assert stats["lost"] == r.frame + 1 - r.on_disk
            assert [(k["onDisk"], k["chunkFiles"], k["buffered"], k["unpaired"])
                    for k in stats["levels"]] == [
                (k.on_disk, k.chunk_files, k.buffered, k.unpaired) for k in r.levels]
            rows = panel(tab)
            assert int(rows["disk"]["value"]) == r.on_disk
            assert int(rows["memory"]["value"]) == r.buffered
            assert f"{r.on_disk} frames in {r.chunk_files} chunk files" in rows["disk"]["text"]
            for k in r.levels:
                row = rows[f"level{k.level}"]
                assert (int(row["disk"]), int(row["files"]), int(row["memory"]),
                        int(row["unpaired"])) == (k.on_disk, k.chunk_files, k.buffered,
                                                  k.unpaired)
                assert row["text"].startswith(f"{k.on_disk} frame"), row
            if i == 15:  # level 2's first flush
                pixels = canvas_pixels(tab)
                assert pixels.std() > 5, "the replay's canvas is blank"
                tab.shot("stream-replay")
        tab.page.locator(".dh-viewer canvas").focus()
        tab.page.keyboard.press("ArrowLeft")
        assert tab.stats()["frame"] == records[-2].frame
        tab.run("v.setFrame(0);")
        tab.page.get_by_role("button", name="Play").click()
        tab.page.wait_for_function(
            "() => document.querySelector('.dh-viewer').viewer.stats().frame >= 2")
        tab.page.get_by_role("button", name="Pause").click()
        requests = [r.path for r in server.requests if r.path.startswith(f"/{DATA}/")]
        assert requests == [f"/{DATA}/{STREAM['name']}"], requests


# ---------------------------------------------------------------------------------------
# The viewer of a plane of the volume, and its switch between downsampling methods

PLANE_STORES = tuple(plane_name(method) for method in PLANE["methods"])


@pytest.fixture(scope="module")
def planes(html: Path) -> dict[str, MultiscaleImage]:
    """The plane's pyramids, one per method, as the package opens them from the site."""
    return {method: MultiscaleImage.open(html / DATA / plane_name(method))
            for method in PLANE["methods"]}


@pytest.fixture
def plane_tab(browser, server) -> Iterator[Tab]:
    """The pyramids chapter, its viewer of the plane ready."""
    with opened(browser, server, PLANE_PAGE, PLANE_STORES) as tab:
        yield tab


def windowed(pixels: np.ndarray) -> np.ndarray:
    """Pixel values as the viewer draws them: the window's low end black, high end white."""
    low, high = PLANE["window"]
    return np.clip((pixels.astype(float) - low) * 255 / (high - low), 0, 255)


def test_plane_pyramids_are_the_plane_downsampled(planes):
    from data_helpers.downsample import downsample
    from data_helpers.sample_data import load_sample

    plane = load_sample("volume", shape=PLANE["volume_shape"])[PLANE["z"]]
    for method, image in planes.items():
        assert image.shapes[0] == plane.shape and image.levels == PLANE["max_levels"]
        assert np.array_equal(image.level(0)[:], plane)
        assert np.array_equal(image.level(1)[:], downsample(plane, 2, method))
        assert image.level(0).chunks == PLANE["chunks"]
    # The window shows the plane: under one pixel in a hundred outside it.
    low, high = PLANE["window"]
    assert np.mean((plane < low) | (plane > high)) < 0.01


def test_plane_first_view_reads_only_the_smallest_level(plane_tab: Tab, planes):
    image = planes["mean"]
    stats = plane_tab.first
    assert stats["variant"] == "mean" and stats["variants"] == list(PLANE["methods"])
    assert stats["shapes"] == [list(shape) for shape in image.shapes]
    y0, y1, x0, x1 = stats["region"]
    assert y0 <= 0 and x0 <= 0 and y1 >= image.shapes[0][0] and x1 >= image.shapes[0][1]
    assert stats["level"] == level_for(image, stats["maxShape"]) == image.levels - 1, stats
    expected = chunks_overlapping(image.shapes[-1], image.level(-1).chunks,
                                  [0, image.shapes[-1][0], 0, image.shapes[-1][1]])
    assert plane_tab.chunk_requests(PLANE_STORES[1]) == []
    assert plane_tab.chunk_requests(PLANE_STORES[2]) == []
    requests = plane_tab.chunk_requests(PLANE_STORES[0])
    assert {r[0] for r in requests} == {image.levels - 1}, requests
    assert {r[1:3] for r in requests} == expected and len(requests) == len(expected)
    assert_counts_match_the_server(plane_tab, stats)
    assert canvas_pixels(plane_tab).std() > 5, "the canvas is blank"
    plane_tab.shot("plane-first-view")


def test_plane_full_resolution_then_another_method(plane_tab: Tab, planes):
    image = planes["mean"]
    stats = plane_tab.run("return await v.setView({x: 600.5, y: 420.25, zoom: 1 / v.dpr});")
    assert stats["level"] == 0 == level_for(image, stats["maxShape"])
    expected = chunks_overlapping(image.shapes[0], image.level(0).chunks, stats["region"])
    mean_zero = [r for r in plane_tab.chunk_requests(PLANE_STORES[0]) if r[0] == 0]
    assert {r[1:3] for r in mean_zero} == expected and len(mean_zero) == len(expected)
    assert len(expected) < math.prod(-(-n // c) for n, c in zip(
        image.shapes[0], image.level(0).chunks, strict=True))
    assert_counts_match_the_server(plane_tab, stats)

    # Switch by the radio button: the other pyramid's metadata, then the view's chunks.
    metadata_before = len(plane_tab.metadata_requests())
    view = stats["view"]
    plane_tab.page.locator(".dh-viewer").get_by_label("nearest", exact=True).check()
    plane_tab.page.wait_for_function(
        "() => document.querySelector('.dh-viewer').viewer.variant === 'nearest'")
    stats = plane_tab.settled()
    assert stats["variant"] == "nearest" and stats["view"] == view
    assert len(plane_tab.metadata_requests(PLANE_STORES[1])) == 1 + planes["nearest"].levels
    assert len(plane_tab.metadata_requests()) == metadata_before + 1 + planes["nearest"].levels
    nearest = plane_tab.chunk_requests(PLANE_STORES[1])
    assert {r[0] for r in nearest} == {0} and {r[1:3] for r in nearest} == expected
    assert panel(plane_tab)["variant"]["variant"] == "nearest"
    assert_counts_match_the_server(plane_tab, stats)

    # Back to mean: nothing fetched again (each pyramid's chunks are kept).
    before = len(plane_tab.chunk_paths())
    stats = plane_tab.run("return await v.setVariant('mean');")
    assert len(plane_tab.chunk_paths()) == before and stats["variant"] == "mean"
    assert_counts_match_the_server(plane_tab, stats)


def test_plane_canvas_shows_each_pyramid(plane_tab: Tab, planes):
    # Full resolution, one device pixel per pixel: the canvas is level 0 in the window.
    stats = plane_tab.run("""v.showGrid = false; return await v.setView({
        x: 512 + (v.canvas.width % 2) / 2, y: 512 + (v.canvas.height % 2) / 2,
        zoom: 1 / v.dpr});""")
    y0, y1, x0, x1 = (round(edge) for edge in stats["region"])
    plane_tab.run("v.requestDraw(); return await v.idle();")
    expected = windowed(planes["mean"].level(0)[max(y0, 0):y1, max(x0, 0):x1])
    pixels = canvas_pixels(plane_tab)[max(0, -y0):, max(0, -x0):][:expected.shape[0],
                                                                   :expected.shape[1]]
    assert np.abs(pixels - expected).max() <= 1
    # The whole plane: max's pyramid is brighter than mean's, nearest's as noisy as level 0.
    means = {}
    for method in PLANE["methods"]:
        plane_tab.run(f"await v.setVariant('{method}'); await v.home(); v.requestDraw();"
                      "return await v.idle();")
        means[method] = canvas_pixels(plane_tab).astype(float).mean()
        plane_tab.shot(f"plane-whole-{method}")
    assert means["max"] > means["mean"] + 5, means


def test_plane_three_views_against_a_viewer_without_pyramid(plane_tab: Tab, planes):
    """The plane's whole view, a tenfold zoom and full resolution: chunks and bytes."""
    image = planes["mean"]
    views = {}
    for name, call in [("whole plane", None), ("10x zoom", "v.zoomBy10()"),
                       ("full resolution", "v.fullResolution()")]:
        before = len(plane_tab.chunk_requests())
        stats = plane_tab.first if call is None else plane_tab.run(f"return await {call};")
        new = plane_tab.chunk_requests()[0 if call is None else before:]
        level = stats["level"]
        assert level == level_for(image, stats["maxShape"])
        expected = chunks_overlapping(image.shapes[level], image.level(level).chunks,
                                      to_level(image, level, stats["region"]))
        assert {r[1:3] for r in new} <= expected and {r[0] for r in new} <= {level}
        zero = chunks_overlapping(image.shapes[0], image.level(0).chunks, stats["region"])
        chunk_bytes = math.prod(image.level(0).chunks) * image.level(0).dtype.itemsize
        views[name] = {
            "level": level, "zoom": stats["view"]["zoom"], "canvas": stats["canvas"],
            "chunks_in_view": stats["inView"]["count"], "bytes_in_view": stats["inView"]["bytes"],
            "new_chunks": len(new), "new_bytes": sum(r[3] for r in new),
            "no_pyramid_chunks": len(zero), "no_pyramid_bytes": len(zero) * chunk_bytes,
        }
        assert stats["inView"]["count"] == len(expected)
        assert stats["noPyramid"]["bytes"] == len(zero) * chunk_bytes
        assert_counts_match_the_server(plane_tab, stats)
    assert views["whole plane"]["no_pyramid_bytes"] > 10 * views["whole plane"]["bytes_in_view"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "plane-views.json").write_text(json.dumps(views, indent=2))
    print()
    for name, v in views.items():
        print(f"{name:>16}: level {v['level']}, {v['chunks_in_view']} chunks in view, "
              f"{v['bytes_in_view']} bytes ({v['new_chunks']} new, {v['new_bytes']} bytes); "
              f"without a pyramid {v['no_pyramid_chunks']} chunks, {v['no_pyramid_bytes']} bytes")
