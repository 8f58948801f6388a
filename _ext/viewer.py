"""Sphinx extension: a multiscale viewer inside the book's pages (issue 13).

A page asks for the viewer with the directive

    ```{viewer}
    ```

(or ``:source: plane``, a plane of the sample volume with a switch between pyramids made
with different downsampling methods; or ``:source: stream``, a replay of a recorded
stream) and gets a canvas that reads an OME-Zarr pyramid of the sample slide chunk by
chunk, as
the reader pans and zooms, with a panel counting chunks and bytes (the JavaScript is
``_ext/viewer_static/viewer/viewer.js``, copied to ``_static/viewer/`` of the site; it
needs no library and downloads nothing). Without JavaScript the page shows a still
picture of the slide and a note, from a ``<noscript>`` block.

The data the viewer reads is made by the build, not kept in the repository: when the HTML
builder has finished, and if a page uses the viewer, this extension writes the pyramid
with the package's own `~data_helpers.pyramid.build_pyramid` into
``_static/data/slide.ome.zarr`` of the built site (and the still picture next to it); the
plane's pyramids go to ``_static/data/plane-<method>.ome.zarr``.
The pyramid is OME-Zarr 0.5 on Zarr v3, uncompressed: a chunk file is the chunk's bytes,
which a browser turns into pixels without any decoder, and Zarr v3 has one metadata
document per node (``zarr.json``, the group's attributes and each array's shape, chunk
grid, chunk key encoding and codecs in one place), so the viewer reads one kind of file.

Everything goes into the build's output folder: the source tree stays as it was.
"""

from __future__ import annotations

import html
import json
import posixpath
from pathlib import Path
from typing import Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

#: The viewer's JavaScript and CSS; added to ``html_static_path`` (so ``_static/viewer/``).
STATIC = Path(__file__).resolve().parent / "viewer_static"

#: Where the data goes, inside the HTML output.
DATA = "_static/data"

#: The pyramid the viewer shows: the top-left corner of the sample slide, pixels of
#: 0.25 µm, chunks of 256 x 256 (64 KiB of uint8 each), five levels: 4096 x 8192 down to
#: 256 x 512 (two chunks), about 45 MB in all.
SLIDE = {
    "name": "slide.ome.zarr",
    "shape": (4096, 8192),
    "chunks": (256, 256),
    "max_levels": 5,
    "scale": 0.25,
}

#: The level drawn as the still picture (shown when JavaScript is off).
STILL_LEVEL = 3

#: A plane of the sample volume: the middle plane of a wider field of the same sample
#: (`~data_helpers.sample_data.make_volume` at 16 x 1024 x 1024, the same nuclei at the
#: same density), pixels of 0.5 µm, uint16, chunks of 128 x 128 (32 KiB), three levels:
#: 1024 x 1024 down to 256 x 256. One pyramid per downsampling method, so that the
#: viewer can switch between them; the display window is the plane's 0.5 to 99.5 %
#: percentiles, rounded out. About 8 MB in all.
PLANE = {
    "name": "plane-mean.ome.zarr",
    "volume_shape": (16, 1024, 1024),
    "z": 8,
    "chunks": (128, 128),
    "max_levels": 3,
    "scale": 0.5,
    "methods": ("mean", "nearest", "max"),
    "window": (100, 720),
}

#: The level of the plane drawn as the still picture.
PLANE_STILL_LEVEL = 1


def plane_name(method: str) -> str:
    """The folder of the plane's pyramid made with `method`."""
    return f"plane-{method}.ome.zarr"


#: The stream the replay shows: `~data_helpers.writer.record_stream`'s record of a small
#: camera (128 x 64 pixels, uint8) streamed to Zarr with multiscale on: tiles of 32 x 16,
#: four frames per chunk at every level, three levels (128 x 64, 64 x 32, 32 x 16), so
#: that level 0 flushes every 4 frames, level 1 every 8 and level 2 every 16.
STREAM = {
    "name": "stream.json",
    "camera_shape": (128, 64),  # (width, height), as SimulatedCamera takes it
    "tile": (32, 16),  # (width, height), as ChunkingProperties takes it
    "frames_per_chunk": 4,
    "frames": 24,
}

#: What the directive can show: the slide's pyramid (the viewer) or the stream's record
#: (the replay), each with a still picture for when JavaScript is off.
SOURCES = {"slide": SLIDE, "plane": PLANE, "stream": STREAM}


def write_slide(dest: Path) -> Path:
    """Write the viewer's pyramid of the sample slide into the folder `dest`; its path.

    Made by `~data_helpers.pyramid.build_pyramid`, OME-Zarr 0.5 on Zarr v3, without
    compression, with a still picture (``slide.png``) beside it.
    """
    import matplotlib.pyplot as plt

    from data_helpers.pyramid import build_pyramid
    from data_helpers.sample_data import load_sample

    dest.mkdir(parents=True, exist_ok=True)
    path = dest / SLIDE["name"]
    slide = load_sample("slide", "dask", shape=SLIDE["shape"])
    image = build_pyramid(
        slide, path, axes="yx", scale=SLIDE["scale"], unit="micrometer",
        chunks=SLIDE["chunks"], max_levels=SLIDE["max_levels"], zarr_version=3,
        compression=None, overwrite=True,
    )
    plt.imsave(dest / "slide.png", image.level(STILL_LEVEL)[:], cmap="gray", vmin=0,
               vmax=255)
    return path


def write_plane(dest: Path) -> list[Path]:
    """Write the viewer's pyramids of a plane of the sample volume into `dest`; their paths.

    One per method of ``PLANE["methods"]``, each made by
    `~data_helpers.pyramid.build_pyramid` from the same plane (OME-Zarr 0.5 on Zarr v3,
    uncompressed), with a still picture (``plane.png``, the mean pyramid's level 1).
    """
    import matplotlib.pyplot as plt

    from data_helpers.pyramid import build_pyramid
    from data_helpers.sample_data import load_sample

    dest.mkdir(parents=True, exist_ok=True)
    plane = load_sample("volume", shape=PLANE["volume_shape"])[PLANE["z"]]
    paths = []
    for method in PLANE["methods"]:
        path = dest / plane_name(method)
        image = build_pyramid(
            plane, path, axes="yx", scale=PLANE["scale"], unit="micrometer",
            method=method, chunks=PLANE["chunks"], max_levels=PLANE["max_levels"],
            zarr_version=3, compression=None, overwrite=True,
        )
        if method == "mean":
            low, high = PLANE["window"]
            plt.imsave(dest / "plane.png", image.level(PLANE_STILL_LEVEL)[:], cmap="gray",
                       vmin=low, vmax=high)
        paths.append(path)
    return paths


def stream_storage(path: Path) -> Any:
    """The `~data_helpers.writer.StorageProperties` of the replayed stream, at `path`."""
    from data_helpers.writer import ChunkingProperties, StorageProperties

    tile_width, tile_height = STREAM["tile"]
    chunking = ChunkingProperties(
        tile_width, tile_height,
        max_bytes_per_chunk=STREAM["frames_per_chunk"] * tile_width * tile_height,
        min_bytes_per_chunk=1)
    return StorageProperties(path, chunking=chunking, enable_multiscale=True)


def record(path: Path) -> list[Any]:
    """Stream the replay's camera into a store at `path` with `record_stream`: its record."""
    from data_helpers.camera import SimulatedCamera
    from data_helpers.writer import record_stream

    camera = SimulatedCamera(shape=STREAM["camera_shape"])
    return record_stream(camera, stream_storage(path), STREAM["frames"])


def record_document(record: Any) -> dict[str, Any]:
    """One `~data_helpers.writer.StreamRecord` as the JSON of ``stream.json`` holds it.

    Its fields, and ``on_disk`` (the frames on disk), for level 0 and for each level.
    """
    import dataclasses

    return {
        **dataclasses.asdict(record),
        "on_disk": record.on_disk,
        "levels": [{**dataclasses.asdict(level), "on_disk": level.on_disk}
                   for level in record.levels],
    }


def level_timeline(records: list[Any], level: int) -> list[dict[str, Any]]:
    """One level's part of a record, as `~data_helpers.plotting.plot_stream_timeline` takes it."""
    return [{"frame": r.frame, "shape": r.levels[level].shape,
             "buffered": r.levels[level].buffered,
             "chunk_files": r.levels[level].chunk_files} for r in records]


def write_stream(dest: Path) -> Path:
    """Write the record of a stream as JSON (``stream.json``) into `dest`; its path.

    The record is `~data_helpers.writer.record_stream`'s, one entry per frame, its fields
    those of `~data_helpers.writer.StreamRecord` (every level's in ``levels``), with each
    level's frame shape, chunk shape and frames per chunk; the still picture beside it
    (``stream.png``) is `~data_helpers.plotting.plot_stream_timeline` of each level.
    """
    import json
    import tempfile

    import matplotlib.pyplot as plt
    import zarr

    from data_helpers.plotting import plot_stream_timeline

    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        records = record(Path(tmp) / "stream.zarr")
        group = zarr.open_group(Path(tmp) / "stream.zarr", mode="r")
        levels = [{"level": k, "frame_shape": list(group[str(k)].shape[2:]),
                   "chunk_shape": list(group[str(k)].chunks),
                   "frames_per_chunk": group[str(k)].chunks[0]}
                  for k in range(len(records[0].levels))]
    document = {
        "made_by": "data_helpers.writer.record_stream",
        "frame_shape": levels[0]["frame_shape"],
        "frames_per_chunk": levels[0]["frames_per_chunk"],
        "levels": levels,
        "records": [record_document(r) for r in records],
    }
    path = dest / STREAM["name"]
    path.write_text(json.dumps(document))
    fig, axes = plt.subplots(len(levels), 1, figsize=(8.0, 2.6 * len(levels)),
                             sharex=True, layout="constrained", squeeze=False)
    for k, ax in enumerate(axes[:, 0]):
        height, width = levels[k]["frame_shape"]
        plot_stream_timeline(level_timeline(records, k), ax=ax,
                             title=f"level {k}: {height} x {width} pixels, "
                             f"{levels[k]['frames_per_chunk']} frames per chunk")
        if k < len(levels) - 1:
            ax.set_xlabel("")
    fig.savefig(dest / "stream.png", dpi=100)
    plt.close(fig)
    return path


class viewer_node(nodes.General, nodes.Element):  # lower case, as docutils names its nodes
    """Where a viewer goes; written as HTML by `_visit_viewer`, skipped by other builders."""


class ViewerDirective(SphinxDirective):
    """``{viewer}``: the multiscale viewer, reading the slide's pyramid.

    Options: ``:source:`` (``slide``, the default; ``plane``, the volume's plane with a
    switch between downsampling methods; ``stream``, the stream replay) and ``:caption:``
    (text under it).
    """

    has_content = False
    option_spec: ClassVar[dict[str, Any]] = {
        "source": lambda text: directives.choice(text, tuple(SOURCES)),
        "caption": directives.unchanged,
    }

    def run(self) -> list[nodes.Node]:
        source = self.options.get("source", "slide")
        node = viewer_node()
        node["source"] = source
        node["caption"] = self.options.get("caption", "")
        # The path from this page to the site's root, where _static is.
        node["root"] = posixpath.relpath(".", posixpath.dirname(self.env.docname) or ".")
        pages = getattr(self.env, "dh_viewer_pages", set())
        pages.add(self.env.docname)
        self.env.dh_viewer_pages = pages
        return [node]


_NOTES = {
    "slide": ("The sample slide, a still picture",
              "JavaScript is off, so this is a still picture of the slide. With JavaScript "
              "on, this is a viewer: pan and zoom, and watch it read the pyramid chunk by "
              "chunk."),
    "plane": ("A plane of the sample volume, a still picture",
              "JavaScript is off, so this is a still picture of the plane. With JavaScript "
              "on, this is a viewer: pan and zoom, switch between pyramids made with "
              "different downsampling methods, and watch it read them chunk by chunk."),
    "stream": ("The stream's record, a still picture",
               "JavaScript is off, so this is a still picture of the record. With "
               "JavaScript on, this replays the stream frame by frame: at every level, "
               "frames filling a chunk in memory, then the chunk flushed to disk."),
}


def _visit_viewer(translator: Any, node: viewer_node) -> None:
    root, source = node["root"], node["source"]
    data = f"{root}/{DATA}/{SOURCES[source]['name']}"
    still = f"{root}/{DATA}/{source}.png"
    caption = html.escape(node["caption"])
    alt, note = _NOTES[source]
    mode = "stream" if source == "stream" else "image"
    extra = ""
    if source == "plane":
        variants = {method: f"{root}/{DATA}/{plane_name(method)}"
                    for method in PLANE["methods"]}
        low, high = PLANE["window"]
        extra = (f' data-what="plane" data-window="{low} {high}"'
                 f' data-variants="{html.escape(json.dumps(variants))}"')
    translator.body.append(
        f'<div class="dh-viewer" data-mode="{mode}" data-source="{html.escape(data)}"'
        f'{extra}>\n'
        f'<noscript><figure class="dh-viewer-still">'
        f'<img src="{html.escape(still)}" alt="{alt}">'
        f'<figcaption>{note}</figcaption></figure></noscript>\n'
        "</div>\n"
        + (f'<p class="dh-viewer-caption">{caption}</p>\n' if caption else "")
    )
    raise nodes.SkipNode


def _skip(translator: Any, node: viewer_node) -> None:
    raise nodes.SkipNode


def _add_static_path(app: Sphinx, config: Any) -> None:
    config.html_static_path = [*config.html_static_path, str(STATIC)]


def _purge(app: Sphinx, env: Any, docname: str) -> None:
    getattr(env, "dh_viewer_pages", set()).discard(docname)


def _merge(app: Sphinx, env: Any, docnames: Any, other: Any) -> None:
    pages = getattr(env, "dh_viewer_pages", set())
    pages |= getattr(other, "dh_viewer_pages", set())
    env.dh_viewer_pages = pages


def _page_assets(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
                 doctree: Any) -> None:
    # Only the pages with a viewer load it.
    if pagename in getattr(app.env, "dh_viewer_pages", set()):
        app.add_css_file("viewer/viewer.css")
        app.add_js_file("viewer/viewer.js", type="module")


def _write_data(app: Sphinx, exception: BaseException | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    if not getattr(app.env, "dh_viewer_pages", set()):
        return
    # build_pyramid replaces the store of an earlier build (overwrite=True), atomically.
    write_slide(Path(app.outdir) / DATA)
    write_plane(Path(app.outdir) / DATA)
    write_stream(Path(app.outdir) / DATA)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_node(viewer_node, html=(_visit_viewer, None), latex=(_skip, None),
                 text=(_skip, None), man=(_skip, None), texinfo=(_skip, None))
    app.add_directive("viewer", ViewerDirective)
    app.connect("config-inited", _add_static_path)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("html-page-context", _page_assets)
    app.connect("build-finished", _write_data)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
