"""Matplotlib figures used by the chapters.

Every function that draws pixels takes any array-like: numpy, zarr or dask arrays. They
read only what they draw (one plane of a volume, a strided view of a large image), so
they work on arrays far bigger than memory; :func:`plot_shard` reads only a shard's
index from its file. Single-panel functions take an optional ``ax=`` and return the
:class:`~matplotlib.axes.Axes` they drew on; :func:`plot_levels`, :func:`plot_to_scale`
and :func:`plot_requests_by_chunk_size` return the :class:`~matplotlib.figure.Figure`.
Nothing calls ``plt.show()``: in a notebook the figure appears at the end of the cell,
in a script call ``plt.show()`` or ``fig.savefig(...)`` yourself.
"""

from __future__ import annotations

import html
import itertools
import json
import math
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple, cast

import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
import zarr
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from zarr.abc.store import RangeByteRequest, SuffixByteRequest
from zarr.codecs import BytesCodec, Crc32cCodec, ShardingCodec
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync

from data_helpers._checks import as_bool, as_dtype, as_float, as_int, as_ints

# Imported, not only for type checking: autodoc resolves the annotations that name them.
from data_helpers.ome import Channel, ChannelsLike

__all__ = [
    "BenchmarkTable",
    "benchmark_table",
    "channel_composite",
    "label_colors",
    "plot_benchmark",
    "plot_channels",
    "plot_chunk_grid",
    "plot_chunks_touched",
    "plot_codec_bytes",
    "plot_labels",
    "plot_layouts",
    "plot_levels",
    "plot_pixel_footprints",
    "plot_profile",
    "plot_requests_by_chunk_size",
    "plot_shard",
    "plot_shard_grid",
    "plot_slice",
    "plot_stream_timeline",
    "plot_tile_stack",
    "plot_time_by_latency",
    "plot_to_scale",
    "read_benchmark",
]


# ----------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------


def _as_array_like(array: Any, name: str) -> Any:
    """Return ``array`` itself if it has a shape (numpy, zarr, dask), else as numpy.

    Arrays with a shape are kept as they are, so slicing them later reads only the
    part that is needed; lists and other sequences become numpy arrays.
    """
    if hasattr(array, "shape") and hasattr(array, "__getitem__"):
        return array
    try:
        return np.asarray(array)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"{name} must be an array-like (numpy, zarr or dask array), got {type(array)!r}"
        ) from error


def _position(name: str, value: object, size: int, what: str) -> int:
    """``value``, an int in ``[-size, size)`` (negative counts from the end), as ``0..size-1``."""
    accepted = f"an integer in [{-size}, {size}) ({what})"
    return as_int(name, value, minimum=-size, maximum=size - 1, accepted=accepted) % size


def _check_drawable(
    name: str, shape: tuple[Any, ...], known: Sequence[int] | None = None
) -> None:
    """Refuse an array with an empty axis (nothing to draw), or of unknown size (a dask
    array's NaN) along the axes in ``known`` (default: all), whose sizes are needed."""
    axes = range(len(shape)) if known is None else known
    if any(isinstance(shape[a], float) and math.isnan(shape[a]) for a in axes):
        raise ValueError(
            f"{name} must have a known shape, got shape {shape} (a dask array after "
            "boolean indexing?): call compute_chunk_sizes() on it first"
        )
    if 0 in shape:
        raise ValueError(
            f"{name} must have at least one pixel along every axis, got shape {shape}"
        )


def _is_list_like(value: object) -> bool:
    """A sequence (or numpy array) of items, not a string."""
    return isinstance(value, Sequence | np.ndarray) and not isinstance(value, str | bytes)


def _max_display(value: object) -> int:
    return as_int("max_display", value, minimum=1, accepted="an integer >= 1 (pixels)")


def _new_axes(ax: Axes | None, figsize: tuple[float, float] | None = None) -> Axes:
    """The given axes, or the axes of a new figure."""
    if ax is not None:
        if not isinstance(ax, Axes):
            raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax)!r}")
        return ax
    # pyplot (not a bare Figure) so that notebooks display the figure automatically.
    _, new_ax = plt.subplots(figsize=figsize, layout="constrained")
    return new_ax


def _strided_plane_key(shape: Sequence[int], max_display: int) -> tuple[int | slice, ...]:
    """The middle plane of the leading axes, its last two axes strided to ``max_display``."""
    step = max(1, math.ceil(max(shape[-2:]) / max_display))
    return (*_middle_plane_key(shape)[:-2], slice(None, None, step), slice(None, None, step))


def _format_key(key: Sequence[int | slice]) -> str:
    """Format an index tuple as numpy syntax, e.g. ``[64, :, :]``."""
    parts = [":" if isinstance(k, slice) else str(k) for k in key]
    return "[" + ", ".join(parts) + "]"


def _middle_plane_key(shape: Sequence[int]) -> tuple[int | slice, ...]:
    """Index selecting the last two axes at the middle of every leading axis."""
    return (*(n // 2 for n in shape[:-2]), slice(None), slice(None))


# ----------------------------------------------------------------------------
# plot_slice
# ----------------------------------------------------------------------------


def plot_slice(
    array: Any,
    index: int | None = None,
    axis: int = 0,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    cmap: str = "gray",
    colorbar: bool = False,
    **imshow_kwargs: Any,
) -> Axes:
    """Show one 2D plane of an array.

    Only that plane is read: for a zarr or dask array, only the chunks it crosses.

    Parameters
    ----------
    array
        A 2D or higher array-like (numpy, zarr, dask). A 2D array is shown as it is.
    index
        Position of the plane along ``axis``. Default: the middle. Negative values
        count from the end. Must be None for a 2D array.
    axis
        The axis the plane is perpendicular to (negative values count from the end).
        If more than two axes remain, the leading ones are taken at their middle.
    ax
        Axes to draw on. Default: a new figure.
    title
        Title. Default: the selection in numpy syntax, e.g. ``array[64, :, :]``.
    cmap
        Matplotlib colormap.
    colorbar
        Add a colorbar (True or False).
    **imshow_kwargs
        Passed to :meth:`matplotlib.axes.Axes.imshow` (``vmin``, ``vmax``, ...).

    Returns
    -------
    matplotlib.axes.Axes
        The axes holding the image.

    Raises
    ------
    TypeError
        If an argument has the wrong type (a float or a bool as ``index`` or ``axis``,
        a ``colorbar`` that is not True or False).
    ValueError
        If an argument has a wrong value (an array with fewer than 2 dimensions or an
        empty axis, an unknown size along the axes a position is taken on, an ``axis``
        or ``index`` out of range).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> volume = np.arange(4 * 5 * 6).reshape(4, 5, 6)
    >>> ax = plot_slice(volume, axis=1)
    >>> ax.get_title()
    'array[:, 2, :]'
    >>> ax.images[0].get_array().shape
    (4, 6)
    >>> plt.close(ax.figure)
    """
    array = _as_array_like(array, "array")
    shape = tuple(array.shape)
    ndim = len(shape)
    if ndim < 2:
        raise ValueError(f"array must have at least 2 dimensions, got shape {shape}")
    # Checked for a 2D array too, where it does not matter: a wrong axis is a mistake.
    axis = _position("axis", axis, ndim, f"an axis of an array of shape {shape}")
    # Positions are computed along `axis` and the leading axes (none for a 2D array,
    # shown whole): their sizes must be known.
    leading = [a for a in range(ndim) if a != axis][:-2]
    _check_drawable("array", shape, known=[] if ndim == 2 else [axis, *leading])
    colorbar = as_bool("colorbar", colorbar)

    if ndim == 2:
        if index is not None:
            raise ValueError(
                f"index={index!r} must be None for a 2D array (it is shown whole)"
            )
        key: tuple[int | slice, ...] = (slice(None), slice(None))
    else:
        if index is None:
            index = shape[axis] // 2
        index = _position("index", index, shape[axis], f"a position along axis {axis}")
        # The plane is made of the last two remaining axes; any others are taken at
        # their middle (e.g. time and channel of a (t, c, z, y, x) image).
        remaining = [a for a in range(ndim) if a != axis]
        selection: list[int | slice] = [slice(None)] * ndim
        selection[axis] = index
        for a in remaining[:-2]:
            selection[a] = shape[a] // 2
        key = tuple(selection)

    # Indexing first, converting second: zarr and dask read only this plane.
    plane = np.asarray(array[key])
    ax = _new_axes(ax)
    image = ax.imshow(plane, cmap=cmap, **imshow_kwargs)
    ax.set_title(f"array{_format_key(key)}" if title is None else title)
    kept = [a for a, k in enumerate(key) if isinstance(k, slice)]
    ax.set_ylabel(f"axis {kept[0]}")
    ax.set_xlabel(f"axis {kept[1]}")
    if colorbar:
        ax.figure.colorbar(image, ax=ax)
    return ax


# ----------------------------------------------------------------------------
# plot_chunk_grid
# ----------------------------------------------------------------------------


Edges = npt.NDArray[np.int64]


def _chunk_edges(image: Any, chunks: object) -> tuple[Edges, Edges]:
    """Chunk boundaries along y and x, from ``0`` to the image size inclusive."""
    height, width = image.shape
    if chunks is None:
        own = getattr(image, "chunks", None)
        if own is None:
            raise ValueError(
                "chunks=None needs an array with chunks of its own (zarr, dask), not a "
                f"{type(image).__name__}: give chunks=(chunk_y, chunk_x)"
            )
        if all(isinstance(c, tuple) for c in own):
            # dask: the actual (possibly irregular) chunk sizes along each axis.
            y, x = (np.concatenate([[0], np.cumsum(c)]).astype(np.int64) for c in own)
            return y, x
        chunks = own
    chunk_y, chunk_x = as_ints(
        "chunks", chunks, 2, minimum=1, accepted="a (chunk_y, chunk_x) pair of integers >= 1"
    )
    return (
        np.append(np.arange(0, height, chunk_y), height),
        np.append(np.arange(0, width, chunk_x), width),
    )


def plot_chunk_grid(
    image2d: Any,
    chunks: Sequence[int] | None = None,
    *,
    ax: Axes | None = None,
    show_indices: bool = True,
    max_labels: int = 100,
    max_display: int = 2048,
    title: str | None = None,
    cmap: str = "gray",
    color: str = "tab:orange",
    linewidth: float = 1.0,
    **imshow_kwargs: Any,
) -> Axes:
    """Show a 2D image with its chunk boundaries and each chunk's grid index.

    Parameters
    ----------
    image2d
        A 2D array-like. A zarr or dask array brings its own chunks.
    chunks
        ``(chunk_y, chunk_x)``. Default: the array's own chunks (zarr, dask); required
        for numpy arrays. Chunks at the far edges may be cut short by the image.
    ax
        Axes to draw on. Default: a new figure.
    show_indices
        Write ``"(i, j)"`` at the centre of each chunk (skipped when there are more
        than ``max_labels`` chunks: they would not be readable). True or False.
    max_labels
        Most chunks that get a label (an integer >= 0).
    max_display
        Images larger than this (pixels along an axis, an integer >= 1) are shown with
        a stride, to keep memory and drawing time small; coordinates stay in full-size
        pixels.
    title
        Title. Default: the shape, chunk shape and number of chunks.
    cmap
        Matplotlib colormap of the image.
    color, linewidth
        Style of the boundary lines and labels; ``linewidth`` in points, > 0.
    **imshow_kwargs
        Passed to :meth:`matplotlib.axes.Axes.imshow`.

    Returns
    -------
    matplotlib.axes.Axes
        The axes. The horizontal and vertical boundaries are its first two
        ``collections`` (one segment per boundary, image edges included).

    Raises
    ------
    TypeError
        If an argument has the wrong type (chunks that are not a pair of integers, a
        float or a bool as a count or a size, a flag that is not True or False).
    ValueError
        If an argument has a wrong value (an image that is not 2D, has an empty axis or
        an unknown size, chunks of the wrong length or below 1, a negative ``max_labels``, a
        ``max_display`` below 1, a ``linewidth`` that is not a finite number > 0).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> ax = plot_chunk_grid(np.zeros((100, 150)), chunks=(50, 64))
    >>> [len(lines.get_segments()) for lines in ax.collections]  # 2 + 1 rows, 3 + 1 cols
    [3, 4]
    >>> [t.get_text() for t in ax.texts]
    ['(0, 0)', '(0, 1)', '(0, 2)', '(1, 0)', '(1, 1)', '(1, 2)']
    >>> plt.close(ax.figure)
    """
    image2d = _as_array_like(image2d, "image2d")
    shape = tuple(image2d.shape)
    if len(shape) != 2:
        raise ValueError(f"image2d must be 2D, got shape {shape}; use one plane of it")
    _check_drawable("image2d", shape)
    height, width = shape
    y_edges, x_edges = _chunk_edges(image2d, chunks)
    show_indices = as_bool("show_indices", show_indices)
    max_labels = as_int("max_labels", max_labels, minimum=0)
    max_display = _max_display(max_display)
    linewidth = as_float("linewidth", linewidth, positive=True)

    # A strided view keeps huge images cheap to draw; `extent` maps it back onto
    # full-size pixel coordinates (pixel centres at integers, edges at half-integers).
    step = max(1, math.ceil(max(shape) / max_display))
    plane = np.asarray(image2d[::step, ::step])
    ax = _new_axes(ax)
    extent = (-0.5, width - 0.5, height - 0.5, -0.5)
    ax.imshow(plane, cmap=cmap, extent=extent, **imshow_kwargs)

    ax.hlines(y_edges - 0.5, -0.5, width - 0.5, colors=color, linewidths=linewidth)
    ax.vlines(x_edges - 0.5, -0.5, height - 0.5, colors=color, linewidths=linewidth)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])

    n_y, n_x = len(y_edges) - 1, len(x_edges) - 1
    if show_indices and n_y * n_x <= max_labels:
        for i in range(n_y):
            for j in range(n_x):
                # Centre of the chunk's visible part (edge chunks may be cut short).
                y = (y_edges[i] + y_edges[i + 1] - 1) / 2
                x = (x_edges[j] + x_edges[j + 1] - 1) / 2
                ax.text(x, y, f"({i}, {j})", color=color, ha="center", va="center", fontsize=8)

    if title is None:
        chunk_shape = (int(y_edges[1] - y_edges[0]), int(x_edges[1] - x_edges[0]))
        title = f"shape {shape}, chunks {chunk_shape}: {n_y} x {n_x} = {n_y * n_x} chunks"
    ax.set_title(title)
    ax.set_ylabel("y (pixels)")
    ax.set_xlabel("x (pixels)")
    return ax


# ----------------------------------------------------------------------------
# plot_levels
# ----------------------------------------------------------------------------


def plot_levels(
    levels: Sequence[Any],
    *,
    titles: Sequence[str] | None = None,
    axes: Sequence[Axes] | None = None,
    cmap: str = "gray",
    panel_size: float = 4.0,
    max_display: int = 1024,
    **imshow_kwargs: Any,
) -> Figure:
    """Show the levels of a pyramid side by side, over the same extent.

    Every level is stretched over the extent of level 0, so the panels have the same
    size and the loss of detail from level to level is visible. Pixels are drawn as
    blocks (``interpolation="nearest"``) and all levels share the contrast of level 0.

    Parameters
    ----------
    levels
        The levels, largest first: 2D array-likes, or nD ones whose last two axes
        are shown at the middle of every leading axis.
    titles
        One title per level. Default: ``"level i"`` and the level's shape.
    axes
        One axes per level to draw on. Default: a new figure with one row.
    cmap
        Matplotlib colormap.
    panel_size
        Width and height (inches, a finite number > 0) of each panel of a new figure.
    max_display
        Largest number of pixels drawn along a side (an integer >= 1): bigger levels
        are read with a stride, so a panel never holds more than ``max_display**2``
        pixels in memory, however large the level.
    **imshow_kwargs
        Passed to :meth:`matplotlib.axes.Axes.imshow` (e.g. ``vmin``, ``vmax``).

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the panels (the top-level figure, when ``axes`` are in a
        subfigure).

    Raises
    ------
    TypeError
        If an argument has the wrong type (levels, titles or axes that are not lists,
        an axes that is not a matplotlib Axes, a bool or a string as a size).
    ValueError
        If an argument has a wrong value (no levels, a level with fewer than 2
        dimensions, an empty axis or an unknown size, titles or axes of the wrong
        length, a size that is not > 0). Everything is checked before a figure is made.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> image = np.arange(64.0).reshape(8, 8)
    >>> fig = plot_levels([image, image[::2, ::2], image[::4, ::4]])
    >>> [ax.get_title() for ax in fig.axes]
    ['level 0\\n(8, 8)', 'level 1\\n(4, 4)', 'level 2\\n(2, 2)']
    >>> plt.close(fig)
    """
    if isinstance(levels, str | bytes | Mapping) or not isinstance(levels, Sequence):
        raise TypeError(f"levels must be a list of array-likes, got {type(levels)!r}")
    if len(levels) == 0:
        raise ValueError("levels must hold at least one array, got an empty sequence")
    arrays = [_as_array_like(level, f"levels[{i}]") for i, level in enumerate(levels)]
    for i, level in enumerate(arrays):
        if len(level.shape) < 2:
            raise ValueError(
                f"levels[{i}] must have at least 2 dimensions, got shape {tuple(level.shape)}"
            )
        _check_drawable(f"levels[{i}]", tuple(level.shape))
    n = len(arrays)
    if titles is None:
        titles = [f"level {i}\n{tuple(level.shape)}" for i, level in enumerate(arrays)]
    elif not _is_list_like(titles):
        raise TypeError(f"titles={titles!r} must be a list of one title per level ({n})")
    elif len(titles) != n:
        raise ValueError(f"titles={titles!r} must hold one title per level ({n})")
    if axes is not None:
        if not _is_list_like(axes):
            raise TypeError(f"axes={axes!r} must be a list of one matplotlib Axes per level")
        if len(axes) != n:
            raise ValueError(f"axes={axes!r} must hold one matplotlib Axes per level ({n})")
        for i, a in enumerate(axes):
            if not isinstance(a, Axes):
                raise TypeError(f"axes[{i}]={a!r} must be a matplotlib Axes")
    panel_size = as_float("panel_size", panel_size, positive=True)
    max_display = _max_display(max_display)

    # Only now, with every argument known to be good, may a figure be made.
    if axes is None:
        fig, row = plt.subplots(
            1,
            n,
            figsize=(panel_size * n, panel_size + 0.4),
            squeeze=False,
            layout="constrained",
        )
        axes = list(row[0])
    else:
        root = axes[0].get_figure(root=True)
        assert root is not None  # an Axes always belongs to a figure
        fig = root

    planes = [np.asarray(level[_strided_plane_key(level.shape, max_display)]) for level in arrays]
    # Same contrast everywhere, from level 0, so levels can be compared.
    imshow_kwargs.setdefault("vmin", float(np.nanmin(planes[0])))
    imshow_kwargs.setdefault("vmax", float(np.nanmax(planes[0])))
    imshow_kwargs.setdefault("interpolation", "nearest")
    # Every level covers the pixel extent of level 0.
    height, width = planes[0].shape
    extent = (-0.5, width - 0.5, height - 0.5, -0.5)
    for ax, plane, title in zip(axes, planes, titles, strict=True):
        ax.imshow(plane, cmap=cmap, extent=extent, **imshow_kwargs)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


# ----------------------------------------------------------------------------
# plot_codec_bytes
# ----------------------------------------------------------------------------


def _stored_bytes(name: str, value: object) -> float:
    return as_float(name, value, minimum=0, accepted="a finite number of bytes >= 0")


def _codec_rows(results: object) -> list[tuple[str, float, float | None]]:
    """Normalise ``results`` to a list of (codec, bytes, ratio or None)."""
    if isinstance(results, Mapping):
        return [
            (str(codec), _stored_bytes(f"results[{codec!r}]", n), None)
            for codec, n in results.items()
        ]
    if not _is_list_like(results):
        raise TypeError(
            f"results={results!r} must be a mapping {{codec: bytes}} or a list of dicts "
            "with keys 'codec', 'bytes' and optionally 'ratio'"
        )
    accepted = "a dict with keys 'codec' and 'bytes' (and optionally 'ratio')"
    rows: list[tuple[str, float, float | None]] = []
    for i, row in enumerate(cast(Sequence[object], results)):  # a list, checked above
        if not isinstance(row, Mapping):
            raise TypeError(f"results[{i}]={row!r} must be {accepted}")
        if "codec" not in row or "bytes" not in row:
            raise ValueError(f"results[{i}]={row!r} must be {accepted}")
        ratio = row.get("ratio")
        rows.append(
            (
                str(row["codec"]),
                _stored_bytes(f"results[{i}]['bytes']", row["bytes"]),
                None if ratio is None else as_float(
                    f"results[{i}]['ratio']", ratio, positive=True,
                    accepted="None or a finite compression ratio > 0",
                ),
            )
        )
    return rows


def plot_codec_bytes(
    results: Mapping[str, float] | Sequence[Mapping[str, Any]],
    *,
    ax: Axes | None = None,
    title: str | None = "Stored size per codec",
    color: str = "tab:blue",
) -> Axes:
    """Horizontal bar chart of the bytes each codec stored, in MiB.

    Parameters
    ----------
    results
        Either a mapping ``{codec_name: bytes}``, or a list of dicts with keys
        ``"codec"``, ``"bytes"`` and optionally ``"ratio"`` (the compression ratio,
        written next to the bar). A pandas DataFrame works as
        ``df.to_dict("records")``. Bars are drawn top to bottom in the given order.
    ax
        Axes to draw on. Default: a new figure.
    title
        Title (None for none).
    color
        Bar colour.

    Returns
    -------
    matplotlib.axes.Axes
        The axes: one bar (``ax.patches``) and one label (``ax.texts``) per codec.

    Raises
    ------
    TypeError
        If ``results`` or one of its rows or numbers has the wrong type (a string or a
        bool as a number of bytes, say).
    ValueError
        If ``results`` is empty, a row lacks ``"codec"`` or ``"bytes"``, a number of
        bytes is negative, NaN or infinite, or a ratio is not a finite number > 0.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> ax = plot_codec_bytes([
    ...     {"codec": "none", "bytes": 8 * 2**20, "ratio": 1.0},
    ...     {"codec": "zstd", "bytes": 2 * 2**20, "ratio": 4.0},
    ... ])
    >>> [t.get_text() for t in ax.texts]
    ['8.00 MiB (1.0x)', '2.00 MiB (4.0x)']
    >>> plt.close(ax.figure)
    """
    rows = _codec_rows(results)
    if not rows:
        raise ValueError(f"results={results!r} must hold at least one codec")
    names = [name for name, _, _ in rows]
    mib = np.array([n for _, n, _ in rows]) / 2**20

    ax = _new_axes(ax, figsize=(6.4, 0.8 + 0.45 * len(rows)))
    positions = np.arange(len(rows))
    ax.barh(positions, mib, color=color)
    ax.set_yticks(positions, names)
    ax.invert_yaxis()  # first codec at the top, like a table
    largest = float(mib.max())
    for y, (value, (_, _, ratio)) in enumerate(zip(mib, rows, strict=True)):
        label = f"{value:.2f} MiB" + ("" if ratio is None else f" ({ratio:.1f}x)")
        # A little gap after the bar's end; the x limit below leaves room for it.
        ax.text(float(value) + 0.01 * largest, y, label, va="center", fontsize=9)
    ax.set_xlim(0, largest * 1.35 if largest > 0 else 1)
    ax.set_xlabel("stored size (MiB)")
    if title is not None:
        ax.set_title(title)
    return ax


# ----------------------------------------------------------------------------
# plot_chunks_touched
# ----------------------------------------------------------------------------

#: Where the camera of `plot_chunks_touched` looks from (matplotlib's elev, azim).
_VIEW = (22.0, -58.0)


def _to_plot(point: Sequence[float]) -> tuple[float, float, float]:
    """Array order (z, y, x) to the plot's (x, y, z): x to the right, z up."""
    return (float(point[2]), float(point[1]), float(point[0]))


def _rectangle(axis: int, at: float, lo: Sequence[float], hi: Sequence[float]) -> list[Any]:
    """The corners of the rectangle ``lo..hi`` perpendicular to array axis ``axis``."""
    a, b = (k for k in range(3) if k != axis)
    corners = []
    for u, v in ((lo[a], lo[b]), (hi[a], lo[b]), (hi[a], hi[b]), (lo[a], hi[b])):
        point = [0.0, 0.0, 0.0]
        point[axis], point[a], point[b] = at, u, v
        corners.append(_to_plot(point))
    return corners


def _box(lo: Sequence[float], hi: Sequence[float]) -> list[list[Any]]:
    """The six faces of the box ``lo..hi`` (array order), as plot-space rectangles."""
    return [_rectangle(axis, at, lo, hi) for axis in range(3) for at in (lo[axis], hi[axis])]


def _facing_sides(shape: Sequence[int]) -> list[tuple[int, float]]:
    """The three sides of the volume (array axis, position) that face the camera."""
    elev, azim = np.radians(_VIEW)
    eye = (np.cos(elev) * np.cos(azim), np.cos(elev) * np.sin(azim), np.sin(elev))
    # Plot x, y, z are array axes 2, 1, 0.
    return [(axis, float(shape[axis]) if eye[2 - axis] > 0 else 0.0) for axis in range(3)]


def plot_chunks_touched(
    shape: Sequence[int],
    chunk_shapes: Sequence[Sequence[int]],
    *,
    index: int | None = None,
    axis: int = 0,
    itemsize: int = 1,
    labels: Sequence[str] | None = None,
    panel_size: float = 3.6,
    color: str = "tab:orange",
    plane_color: str = "tab:cyan",
    grid_color: str = "0.3",
) -> Figure:
    """Draw a 3D volume cut into chunks, one requested plane, and the chunks it touches.

    One 3D panel per chunk shape: the volume's outline with its chunk grid on the three
    sides facing the viewer, the requested plane (perpendicular to ``axis``, at
    ``index``) as a sheet, and the chunks a read of that plane must decompress shaded.
    A plane perpendicular to an axis crosses exactly one layer of chunks along it, so
    the shaded chunks are that layer. Each title gives the chunk shape, the number of
    chunks touched out of all, and the bytes they hold once decompressed, computed from
    the shapes alone (edge chunks cut short by the volume count for what they hold).

    Parameters
    ----------
    shape
        The volume's shape ``(z, y, x)``: three integers >= 1. Only the shape is
        needed, no pixels.
    chunk_shapes
        One chunk shape ``(z, y, x)`` per panel, each three integers >= 1 (a side
        longer than the volume makes one chunk along that axis).
    index
        Position of the plane along ``axis`` (negative counts from the end). Default:
        the middle.
    axis
        The axis the plane is perpendicular to: 0 (an xy plane, fixed z), 1 (xz) or
        2 (yz); negative values count from the end.
    itemsize
        Bytes per pixel (an integer >= 1), e.g. 2 for ``uint16``.
    labels
        One name per panel, written before its chunk shape (e.g. ``"flat"``).
    panel_size
        Width and height of each panel in inches, a finite number > 0.
    color, plane_color, grid_color
        Colours of the touched chunks, of the plane and of the chunk grid.

    Returns
    -------
    matplotlib.figure.Figure
        The figure, one 3D axes per chunk shape. In each, the touched chunks are the
        collection with gid ``"touched"``, the plane the one with gid ``"plane"`` and
        the grid the one with gid ``"grid"``.

    Raises
    ------
    TypeError
        If an argument has the wrong type (a shape that is not a sequence of
        integers, a float or a bool as a size or a position, labels that are not a
        list of strings). Everything is checked before a figure is made.
    ValueError
        If an argument has a wrong value (a shape or chunk shape that is not three
        integers >= 1, no chunk shapes, an ``axis`` or ``index`` out of range, an
        ``itemsize`` below 1, labels of the wrong length, a size that is not > 0, a
        colour matplotlib does not know).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig = plot_chunks_touched((8, 16, 16), [(1, 16, 16), (8, 4, 4)], itemsize=2)
    >>> [ax.get_title() for ax in fig.axes]  # doctest: +NORMALIZE_WHITESPACE
    ['chunks (1, 16, 16)\\n1 of 8 chunks touched, 512 B read',
     'chunks (8, 4, 4)\\n16 of 16 chunks touched, 4.0 KiB read']
    >>> plt.close(fig)
    """
    from matplotlib.colors import is_color_like, to_rgb
    from mpl_toolkits.mplot3d.art3d import (  # type: ignore[import-untyped]
        Line3DCollection,
        Poly3DCollection,
    )

    from data_helpers.chunking import chunk_grid_shape
    from data_helpers.inspect import format_bytes

    accepted = "a sequence of 3 integers >= 1 (z, y, x)"
    shape = as_ints("shape", shape, 3, minimum=1, accepted=accepted)
    if isinstance(chunk_shapes, str | bytes | Mapping) or not _is_list_like(chunk_shapes):
        raise TypeError(f"chunk_shapes={chunk_shapes!r} must be a list of chunk shapes")
    if len(chunk_shapes) == 0:
        raise ValueError("chunk_shapes must hold at least one chunk shape, got none")
    chunks_list = [
        as_ints(f"chunk_shapes[{i}]", c, 3, minimum=1, accepted=accepted)
        for i, c in enumerate(chunk_shapes)
    ]
    axis = _position("axis", axis, 3, "an axis of a 3D volume")
    if index is None:
        index = shape[axis] // 2
    index = _position("index", index, shape[axis], f"a position along axis {axis}")
    itemsize = as_int("itemsize", itemsize, minimum=1, accepted="an integer >= 1 (bytes)")
    n = len(chunks_list)
    if labels is not None:
        if not _is_list_like(labels) or not all(isinstance(s, str) for s in labels):
            raise TypeError(f"labels={labels!r} must be a list of one str per chunk shape")
        if len(labels) != n:
            raise ValueError(f"labels={labels!r} must hold one name per chunk shape ({n})")
    panel_size = as_float("panel_size", panel_size, positive=True)
    for name, value in (("color", color), ("plane_color", plane_color),
                        ("grid_color", grid_color)):
        if not is_color_like(value):
            raise ValueError(f"{name}={value!r} must be a matplotlib colour, e.g. 'tab:blue'")

    fig = plt.figure(figsize=(panel_size * n, panel_size), layout="constrained")
    volume_lo, volume_hi = (0, 0, 0), shape
    for i, chunks in enumerate(chunks_list):
        ax = fig.add_subplot(1, n, i + 1, projection="3d", computed_zorder=False)
        grid = chunk_grid_shape(shape, chunks)
        edges = [np.append(np.arange(0, s, c), s) for s, c in zip(shape, chunks, strict=True)]
        # The plane lies in one layer of chunks along `axis`: that layer is read.
        layer = index // chunks[axis]
        lo, hi = list(volume_lo), list(volume_hi)
        lo[axis], hi[axis] = int(edges[axis][layer]), int(edges[axis][layer + 1])
        n_touched = math.prod(grid) // grid[axis]
        n_bytes = (hi[axis] - lo[axis]) * math.prod(shape) // shape[axis] * itemsize

        ax.add_collection3d(Poly3DCollection(
            _box(volume_lo, volume_hi), facecolors=(0.5, 0.5, 0.5, 0.06),
            edgecolors="none", zorder=1,
        ))
        ax.add_collection3d(Poly3DCollection(
            _box(lo, hi), facecolors=color, alpha=0.55, edgecolors=color,
            linewidths=1.0, zorder=2, gid="touched",
        ))
        ax.add_collection3d(Poly3DCollection(
            [_rectangle(axis, index + 0.5, volume_lo, volume_hi)], facecolors=plane_color,
            alpha=0.2, edgecolors=plane_color, linewidths=2.5, zorder=3, gid="plane",
        ))
        # The chunk grid on each side facing the viewer: one line per chunk boundary,
        # fainter where boundaries crowd (a hundred thin slabs would turn solid grey).
        segments, alphas = [], []
        for side, at in _facing_sides(shape):
            a, b = (k for k in range(3) if k != side)
            for along, across in ((a, b), (b, a)):
                for edge in edges[along]:
                    start, end = [0.0] * 3, [0.0] * 3
                    start[side] = end[side] = at
                    start[along] = end[along] = float(edge)
                    end[across] = float(shape[across])
                    segments.append([_to_plot(start), _to_plot(end)])
                    alphas.append(min(1.0, 16 / len(edges[along])))
        line_colors = [(*to_rgb(grid_color), alpha) for alpha in alphas]
        ax.add_collection3d(Line3DCollection(
            segments, colors=line_colors, linewidths=0.5, zorder=4, gid="grid",
        ))

        ax.set_xlim(0, shape[2])
        ax.set_ylim(0, shape[1])
        ax.set_zlim(0, shape[0])
        ax.set_box_aspect((shape[2], shape[1], shape[0]), zoom=0.95)
        ax.view_init(*_VIEW)
        # One tick per axis, at its far end: the volume's size along it.
        ax.set_xticks([shape[2]])
        ax.set_yticks([shape[1]])
        ax.set_zticks([shape[0]])
        ax.set_xlabel("x", labelpad=-8)
        ax.set_ylabel("y", labelpad=-8)
        ax.zaxis.set_rotate_label(False)
        ax.set_zlabel("z", labelpad=-6)
        ax.tick_params(pad=-2, labelsize=8)
        name = "" if labels is None else f"{labels[i]}: "
        ax.set_title(
            f"{name}chunks {chunks}\n{n_touched} of {math.prod(grid)} chunks touched, "
            f"{format_bytes(n_bytes)} read",
            fontsize=10,
        )
    return fig


# ----------------------------------------------------------------------------
# label_colors, plot_labels, plot_pixel_footprints, plot_profile
# ----------------------------------------------------------------------------

#: Irrational steps (golden ratio and square roots, modulo 1) that spread consecutive
#: label ids far apart in hue, saturation and value.
_HUE_STEP = 0.6180339887498949
_SATURATION_STEP = 0.4142135623730951
_VALUE_STEP = 0.7320508075688772


def _label_ids(name: str, value: object) -> npt.NDArray[np.int64]:
    """``value`` (an int or a sequence / array of ints >= 0) as a 1D int64 array."""
    accepted = "an integer label id >= 0 or an array of them"
    if _is_list_like(value):
        try:
            ids = np.asarray(value)
        except ValueError:  # a ragged list
            raise TypeError(f"{name}={value!r} must be {accepted}") from None
        if ids.size == 0:
            return np.zeros(0, dtype=np.int64)
        if ids.dtype.kind not in "iu":
            raise TypeError(f"{name} must be {accepted}, got dtype {ids.dtype}")
    else:
        ids = np.asarray(as_int(name, value, accepted=accepted))
    if (ids < 0).any():
        raise ValueError(f"{name} must be {accepted}, got {int(ids.min())}")
    return ids.astype(np.int64).ravel()


def label_colors(ids: int | Sequence[int] | npt.ArrayLike) -> npt.NDArray[np.float64]:
    """One RGBA colour per label id, the same for an id wherever it is drawn.

    A colour depends only on its id: the same nucleus has the same colour in every
    panel, level and figure, however many other labels are shown. Consecutive ids get
    very different hues (steps of the golden ratio around the colour wheel), so
    neighbouring objects, which often have close ids, are easy to tell apart. Id 0, the
    background, is transparent black.

    Parameters
    ----------
    ids
        A label id (an integer >= 0) or an array-like of them.

    Returns
    -------
    numpy.ndarray
        ``float64`` RGBA values in ``[0, 1]``, shape ``(len(ids), 4)``: fully opaque
        colours, and ``(0, 0, 0, 0)`` for id 0. Multiply by 255 for the ``colors`` of
        OME-Zarr label metadata.

    Raises
    ------
    TypeError
        If ``ids`` is not an integer or an array of integers.
    ValueError
        If an id is negative.

    Examples
    --------
    >>> colors = label_colors([0, 1, 2, 1])
    >>> colors.shape
    (4, 4)
    >>> colors[0].tolist()              # background: transparent
    [0.0, 0.0, 0.0, 0.0]
    >>> bool((colors[1] == colors[3]).all()), bool((colors[1] == colors[2]).all())
    (True, False)
    """
    from matplotlib.colors import hsv_to_rgb

    values = _label_ids("ids", ids).astype(np.float64)
    hsv = np.stack(
        [
            (values * _HUE_STEP) % 1.0,
            0.55 + 0.45 * ((values * _SATURATION_STEP) % 1.0),
            0.75 + 0.25 * ((values * _VALUE_STEP) % 1.0),
        ],
        axis=-1,
    )
    rgba = np.ones((values.size, 4))
    rgba[:, :3] = hsv_to_rgb(hsv) if values.size else np.zeros((0, 3))
    rgba[values == 0] = 0.0
    return rgba


def plot_labels(
    labels: Any,
    *,
    image: Any = None,
    ax: Axes | None = None,
    alpha: float = 0.5,
    title: str | None = None,
    cmap: str = "gray",
    **imshow_kwargs: Any,
) -> Axes:
    """Show a 2D label image, each label id in its own colour (see `label_colors`).

    Alone, the labels are drawn on black (the background, id 0). Over an ``image``,
    they are an overlay: the image in grey, each label's colour blended in with
    ``alpha``, the background left clear.

    Parameters
    ----------
    labels
        A 2D array-like of integer label ids >= 0 (numpy, zarr, dask: read whole, so
        pass one plane or a crop of a large label image).
    image
        Optional 2D array-like of the same shape, drawn in grey below the labels.
    ax
        Axes to draw on. Default: a new figure.
    alpha
        Opacity of the labels over ``image``, from 0 to 1 (ignored without ``image``).
    title
        Title (None for none).
    cmap
        Matplotlib colormap of ``image``.
    **imshow_kwargs
        Passed to :meth:`matplotlib.axes.Axes.imshow` for ``image`` (``vmin``, ...).

    Returns
    -------
    matplotlib.axes.Axes
        The axes; the labels are its last image, as RGBA pixels.

    Raises
    ------
    TypeError
        If ``labels`` is not an array of integers, or ``alpha`` is not a number.
    ValueError
        If ``labels`` is not 2D or empty, holds a negative id, ``image`` has another
        shape, or ``alpha`` is not between 0 and 1.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> labels = np.array([[0, 1], [2, 2]])
    >>> ax = plot_labels(labels, title="two nuclei")
    >>> rgba = ax.images[-1].get_array()
    >>> rgba.shape, bool((rgba[1, 0] == rgba[1, 1]).all())
    ((2, 2, 4), True)
    >>> plt.close(ax.figure)
    """
    labels = _as_array_like(labels, "labels")
    shape = tuple(labels.shape)
    if len(shape) != 2:
        raise ValueError(f"labels must be 2D, got shape {shape}; use one plane of it")
    _check_drawable("labels", shape)
    ids = np.asarray(labels)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"labels must hold integer label ids, got dtype {ids.dtype}")
    if ids.min() < 0:
        raise ValueError(f"labels must hold ids >= 0, got {ids.min()}")
    alpha = as_float("alpha", alpha, minimum=0, accepted="a number from 0 to 1")
    if alpha > 1:
        raise ValueError(f"alpha={alpha!r} must be a number from 0 to 1")
    if image is not None:
        image = _as_array_like(image, "image")
        if tuple(image.shape) != shape:
            raise ValueError(
                f"image must have the shape of labels {shape}, got {tuple(image.shape)}"
            )

    # Colour each distinct id once, then index: cheap however many pixels there are.
    unique, inverse = np.unique(ids, return_inverse=True)
    rgba = label_colors(unique)[inverse.reshape(shape)]
    ax = _new_axes(ax)
    if image is None:
        rgba[..., 3] = 1.0  # the background (black) becomes opaque
    else:
        ax.imshow(np.asarray(image), cmap=cmap, interpolation="nearest", **imshow_kwargs)
        rgba[..., 3] *= alpha
    ax.imshow(rgba, interpolation="nearest")
    if title is not None:
        ax.set_title(title)
    return ax


def plot_pixel_footprints(
    factor: int = 2,
    n_pixels: int = 8,
    *,
    scale: float = 1.0,
    ax: Axes | None = None,
    unit: str | None = None,
) -> Axes:
    """Draw, to scale, where the pixels of level 0 and of level 1 lie along one axis.

    Each pixel is a box of the width of its scale centred on its position
    ``translation + i * scale``, with a dot at the centre (the pixel-centre convention
    of OME-Zarr 0.6). Four rows, from the top:

    * level 0: ``n_pixels`` fine pixels;
    * level 1 made by ``mean``, with the translation of
      :func:`~data_helpers.ome.level_transforms`: each box covers the window it averages;
    * the same level placed without the translation;
    * level 1 made by ``nearest``, whose translation is 0: the same boxes as the row
      above, with the fine pixel each coarse pixel copied shaded inside its box.

    Parameters
    ----------
    factor
        The downsampling factor from level 0 to level 1, an integer >= 2.
    n_pixels
        Fine pixels drawn, an integer >= ``factor``.
    scale
        The size of a fine pixel (a finite number > 0), in the unit of the x axis.
    ax
        Axes to draw on. Default: a new figure.
    unit
        The unit of ``scale``, written on the x axis.

    Returns
    -------
    matplotlib.axes.Axes
        The axes. Row labels are its texts; the dots of each row are one line each,
        top row first, in ``ax.lines`` (after the grey grid lines at the fine centres).

    Raises
    ------
    TypeError
        If ``factor`` or ``n_pixels`` is not an integer, or ``scale`` not a number.
    ValueError
        If ``factor`` < 2, ``n_pixels`` < ``factor`` or ``scale`` is not > 0.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> ax = plot_pixel_footprints(factor=2, n_pixels=4)
    >>> [t.get_text() for t in ax.texts]
    ['level 0', 'mean, translation 0.5', 'mean, no translation', 'nearest, translation 0']
    >>> [line.get_xdata().tolist() for line in ax.lines[-4:]]
    [[0.0, 1.0, 2.0, 3.0], [0.5, 2.5], [0.0, 2.0], [0.0, 2.0]]
    >>> plt.close(ax.figure)
    """
    from matplotlib.patches import Rectangle

    from data_helpers.ome import level_transforms

    factor = as_int("factor", factor, minimum=2)
    n_pixels = as_int(
        "n_pixels", n_pixels, minimum=factor, accepted=f"an integer >= factor ({factor})"
    )
    scale = as_float("scale", scale, positive=True)
    (s0, s1), (t0, t1) = (
        [values[0] for values in per_level]
        for per_level in level_transforms([scale], [(factor,)], method="mean")
    )
    t_nearest = level_transforms([scale], [(factor,)], method="nearest")[1][1][0]
    fine = t0 + np.arange(n_pixels) * s0
    coarse = np.arange(math.ceil(n_pixels / factor)) * s1  # i * s, before translation

    # Row labels end just left of the leftmost box (a coarse box without translation).
    label_x = fine[0] - s1 / 2 - 0.3 * s0
    right = fine[-1] + s1
    ax = _new_axes(ax, figsize=(10, 3.6))
    for x in fine:
        ax.axvline(x, color="0.85", zorder=0)

    def row(y: float, centres: npt.NDArray[np.floating[Any]], size: float, colour: str,
            label: str, linestyle: str = "-") -> None:
        for c in centres:
            ax.add_patch(Rectangle((c - size / 2, y - 0.35), size, 0.7, fill=False,
                                       edgecolor=colour, linewidth=1.5,
                                       linestyle=linestyle))
        ax.plot(centres, [y] * len(centres), "o", color=colour)
        ax.text(label_x, y, label, ha="right", va="center", color=colour)

    row(3, fine, s0, "black", "level 0")
    row(2, t1 + coarse, s1, "tab:blue", f"mean, translation {t1:g}")
    row(1, coarse, s1, "tab:red", "mean, no translation")
    # The fine pixel whose value each nearest pixel copies, shaded inside its box.
    for c in t_nearest + coarse:
        ax.add_patch(Rectangle((c - s0 / 2, -0.35), s0, 0.7, color="tab:green",
                                   alpha=0.3, linewidth=0))
    row(0, t_nearest + coarse, s1, "tab:green", f"nearest, translation {t_nearest:g}")
    ax.set_xlim(label_x - 0.6 * (right - label_x), right)  # room for the labels
    ax.set_ylim(-0.6, 3.6)
    ax.set_yticks([])
    ax.set_xticks(fine)  # ticks at the fine centres, none under the row labels
    ax.set_xlabel("position" if unit is None else f"position ({unit})")
    ax.set_title(f"pixels of level 0 and of level 1 (factor {factor})")
    return ax


def _pairs(name: str, value: object, n: int) -> list[tuple[float, float]]:
    """``value`` as ``n`` pairs of finite floats, one (y, x) pair per level."""
    accepted = f"a list of {n} (y, x) pairs of numbers, one per level"
    if not _is_list_like(value):
        raise TypeError(f"{name}={value!r} must be {accepted}")
    items = list(cast(Sequence[object], value))
    if len(items) != n:
        raise ValueError(f"{name}={value!r} must be {accepted}")
    pairs = []
    for i, item in enumerate(items):
        if not _is_list_like(item) or len(cast(Sequence[object], item)) != 2:
            raise TypeError(f"{name}[{i}]={item!r} must be a (y, x) pair of numbers")
        y, x = cast(Sequence[object], item)
        pairs.append((as_float(f"{name}[{i}][0]", y), as_float(f"{name}[{i}][1]", x)))
    return pairs


def plot_profile(
    levels: Sequence[Any],
    y: float,
    *,
    scales: Sequence[Sequence[float]],
    translations: Sequence[Sequence[float]],
    x_range: tuple[float, float] | None = None,
    ax: Axes | None = None,
    labels: Sequence[str] | None = None,
    unit: str | None = None,
    **plot_kwargs: Any,
) -> Axes:
    """Plot one row of every level of a pyramid, each at the positions its metadata gives.

    For each level, the row drawn is the one whose pixels contain the position ``y``
    (the nearest pixel centre, ``round((y - t_y) / s_y)``), and its pixels are drawn
    as steps centred on their positions ``t_x + i * s_x``. Levels whose scales and
    translations are right trace the same objects in the same places.

    Parameters
    ----------
    levels
        2D array-likes (numpy, zarr, dask), largest first; only the row drawn is read.
    y
        Position of the row, in the unit of the scales (a finite number).
    scales, translations
        Each level's ``(y, x)`` scale and translation, as
        :func:`~data_helpers.ome.level_transforms` returns them for two axes; scales > 0.
    x_range
        ``(x_min, x_max)``: the pixels whose centres lie in it are drawn. Default: all
        of level 0.
    ax
        Axes to draw on. Default: a new figure.
    labels
        One legend entry per level. Default: ``"level i"``.
    unit
        The unit of positions, written on the x axis (on axes that already have an
        x label, only when given).
    **plot_kwargs
        Passed to :meth:`matplotlib.axes.Axes.plot` for every level (``color``,
        ``linestyle``, ``marker``...).

    Returns
    -------
    matplotlib.axes.Axes
        The axes, with one line per level (``ax.lines``), in order, and a legend.

    Raises
    ------
    TypeError
        If an argument has the wrong type (levels, scales or translations that are not
        lists, a position that is not a number).
    ValueError
        If an argument has a wrong value (a level that is not 2D or is empty, one pair
        of scales or translations per level missing, a scale that is not > 0, a ``y``
        outside a level, an ``x_range`` holding no pixel centre of a level).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fine = np.array([[0, 0, 8, 8], [0, 0, 8, 8]])
    >>> ax = plot_profile([fine, fine[::2, ::2]], 0.0, scales=[(1, 1), (2, 2)],
    ...                   translations=[(0, 0), (0.5, 0.5)])
    >>> [line.get_xdata().tolist() for line in ax.lines]
    [[0.0, 1.0, 2.0, 3.0], [0.5, 2.5]]
    >>> plt.close(ax.figure)
    """
    if isinstance(levels, str | bytes | Mapping) or not isinstance(levels, Sequence):
        raise TypeError(f"levels must be a list of 2D array-likes, got {type(levels)!r}")
    if len(levels) == 0:
        raise ValueError("levels must hold at least one array, got an empty sequence")
    arrays = [_as_array_like(level, f"levels[{i}]") for i, level in enumerate(levels)]
    for i, level in enumerate(arrays):
        if len(level.shape) != 2:
            raise ValueError(f"levels[{i}] must be 2D, got shape {tuple(level.shape)}")
        _check_drawable(f"levels[{i}]", tuple(level.shape))
    n = len(arrays)
    scale_pairs = _pairs("scales", scales, n)
    for i, (sy, sx) in enumerate(scale_pairs):
        if sy <= 0 or sx <= 0:
            raise ValueError(f"scales[{i}]={scales[i]!r} must be two numbers > 0")
    shift_pairs = _pairs("translations", translations, n)
    y = as_float("y", y)
    if labels is None:
        labels = [f"level {i}" for i in range(n)]
    elif not _is_list_like(labels):
        raise TypeError(f"labels={labels!r} must be a list of one label per level ({n})")
    elif len(labels) != n:
        raise ValueError(f"labels={labels!r} must hold one label per level ({n})")
    if x_range is None:
        (_, sx0), (_, tx0) = scale_pairs[0], shift_pairs[0]
        x_range = (tx0, tx0 + (arrays[0].shape[1] - 1) * sx0)
    elif not _is_list_like(x_range) or len(x_range) != 2:
        raise TypeError(f"x_range={x_range!r} must be an (x_min, x_max) pair of numbers")
    x_min, x_max = (as_float(f"x_range[{k}]", v) for k, v in enumerate(x_range))

    rows_and_columns = []
    for i, (level, (sy, sx), (ty, tx)) in enumerate(
        zip(arrays, scale_pairs, shift_pairs, strict=True)
    ):
        height, width = level.shape
        row = math.floor((y - ty) / sy + 0.5)
        if not 0 <= row < height:
            raise ValueError(
                f"y={y!r} lies outside levels[{i}], whose rows are centred from {ty} to "
                f"{ty + (height - 1) * sy}"
            )
        first = max(0, math.ceil((x_min - tx) / sx))
        last = min(width - 1, math.floor((x_max - tx) / sx))
        if first > last:
            raise ValueError(
                f"x_range={x_range!r} holds no pixel centre of levels[{i}] (centres from "
                f"{tx} to {tx + (width - 1) * sx})"
            )
        rows_and_columns.append((row, first, last))

    ax = _new_axes(ax, figsize=(10, 3.8))
    plot_kwargs.setdefault("marker", "o")
    for level, (_, sx), (_, tx), (row, first, last), label in zip(
        arrays, scale_pairs, shift_pairs, rows_and_columns, labels, strict=True
    ):
        columns = np.arange(first, last + 1)
        values = np.asarray(level[row, first:last + 1])
        ax.plot(tx + columns * sx, values, drawstyle="steps-mid", label=label, **plot_kwargs)
    # Axes that already have labels (a profile drawn on top of another) keep them.
    if unit is not None or not ax.get_xlabel():
        ax.set_xlabel("x" if unit is None else f"x ({unit})")
    if not ax.get_ylabel():
        ax.set_ylabel("value")
    ax.legend()
    return ax


# ----------------------------------------------------------------------------
# Figures of the streaming chapter: plot_tile_stack, plot_shard,
# plot_stream_timeline, plot_to_scale
# ----------------------------------------------------------------------------


def _pair(name: str, value: object, what: str) -> tuple[int, int]:
    first, second = as_ints(name, value, 2, minimum=1,
                            accepted=f"a {what} pair of integers >= 1")
    return first, second


def _fmt_bytes(n: float) -> str:
    """Bytes in the largest binary unit that keeps the number >= 1 (``2.0 MiB``)."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} bytes"


# -- plot_tile_stack ------------------------------------------------------------


def _stack_positions(per_chunk: int, max_planes: int, show_next: bool
                     ) -> tuple[list[int], list[float], bool]:
    """Frames drawn, their depth positions (in planes) and whether some are left out.

    All the chunk's frames when they fit in ``max_planes``, else its first ones, a gap
    and its last one; then, with ``show_next``, the first frame of the next chunk.
    """
    if per_chunk <= max_planes:
        frames = list(range(per_chunk))
        depths = [float(i) for i in frames]
        skipped = False
    else:
        head = max_planes - 1
        frames = [*range(head), per_chunk - 1]
        depths = [*map(float, range(head)), head + 1.0]  # one plane's room for "..."
        skipped = True
    if show_next:
        frames.append(per_chunk)
        depths.append(depths[-1] + 1.0)
    return frames, depths, skipped


def _frame_plane(frames: Any, index: int, max_display: int) -> npt.NDArray[Any] | None:
    """Frame ``index`` of ``frames`` (time first), strided to ``max_display``, or None."""
    if frames is None or index >= frames.shape[0]:
        return None
    shape = tuple(frames.shape)
    step = max(1, math.ceil(max(shape[-2:]) / max_display))
    key = (index, *(n // 2 for n in shape[1:-2]), slice(None, None, step),
           slice(None, None, step))
    return np.asarray(frames[key])


def plot_tile_stack(
    frame_shape: Sequence[int],
    tile_shape: Sequence[int],
    frames_per_chunk: int,
    *,
    frames: Any = None,
    tile: Sequence[int] = (0, 0),
    dtype: npt.DTypeLike | None = None,
    show_next: bool = True,
    max_planes: int = 12,
    max_display: int = 512,
    ax: Axes | None = None,
    title: str | None = None,
    cmap: str = "gray",
    color: str = "tab:red",
) -> Axes:
    """Draw consecutive frames as a stack, each cut into tiles, and one chunk through it.

    A streaming writer cuts every frame into tiles and stacks the same tile of
    ``frames_per_chunk`` consecutive frames into one chunk. The frames are drawn one
    behind the other (time runs into the page), the tile grid on each, and the chunk
    of the tile at ``tile`` is highlighted as a box through the frames it stacks.

    Parameters
    ----------
    frame_shape
        ``(height, width)`` of a frame, in pixels (``camera.frame_shape``).
    tile_shape
        ``(height, width)`` of a tile, in pixels, at most the frame's: the chunk's last
        two sizes (``array.chunks[-2:]``). Tiles at the far edges may be cut short.
    frames_per_chunk
        Frames one chunk stacks (an integer >= 1): the chunk's time extent,
        ``array.chunks[0]``.
    frames
        Optional pixels to draw on the planes: an array-like whose first axis is time
        and last two axes are ``frame_shape`` (a ``(t, c, y, x)`` level of the writer
        works; axes in between are taken at their middle). Only the frames drawn are
        read, strided to ``max_display``. Planes past its end are drawn grey.
    tile
        ``(row, column)`` of the tile whose chunk is highlighted, in the tile grid
        (negative values count from the end).
    dtype
        Pixel type, to write the chunk's size in bytes. Default: that of ``frames``,
        if given; without either, no size is written.
    show_next
        Also draw the first frame of the next chunk, faded (True or False).
    max_planes
        Most frames of the chunk drawn (an integer >= 2): a longer chunk is drawn as
        its first ``max_planes - 1`` frames, a gap and its last frame.
    max_display
        Largest number of pixels read along a side of a frame (an integer >= 1).
    ax
        Axes to draw on. Default: a new figure.
    title
        Title. Default: the frame shape, the tile shape and the frames per chunk.
    cmap
        Matplotlib colormap of the frames' pixels.
    color
        Colour of the highlighted chunk.

    Returns
    -------
    matplotlib.axes.Axes
        The axes, its axis turned off. Each plane is a `~matplotlib.patches.Rectangle`
        with the label ``"frame i"`` (``ax.patches``), each highlighted tile one labelled
        ``"chunk tile, frame i"``, and each frame with pixels an image (``ax.images``).

    Raises
    ------
    TypeError
        If an argument has the wrong type (shapes that are not pairs of integers, a
        float or a bool as a count, a flag that is not True or False).
    ValueError
        If an argument has a wrong value (sizes below 1, a tile larger than the frame, a
        ``tile`` outside the tile grid, ``frames`` whose last two axes are not
        ``frame_shape`` or with no frame, ``max_planes`` below 2).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> ax = plot_tile_stack((1080, 1920), (360, 640), 291, max_planes=4)  # Acquire's
    >>> [p.get_label() for p in ax.patches if p.get_label().startswith("frame")]
    ['frame 291', 'frame 290', 'frame 2', 'frame 1', 'frame 0']
    >>> ax.get_title()
    'frames of (1080, 1920) in tiles of (360, 640): 291 frames per chunk'
    >>> plt.close(ax.figure)
    """
    height, width = _pair("frame_shape", frame_shape, "(height, width)")
    tile_h, tile_w = _pair("tile_shape", tile_shape, "(height, width)")
    if tile_h > height or tile_w > width:
        raise ValueError(
            f"tile_shape={tuple(tile_shape)!r} must fit in frame_shape="
            f"{(height, width)!r} (a tile is a part of a frame)"
        )
    per_chunk = as_int("frames_per_chunk", frames_per_chunk, minimum=1)
    grid = (math.ceil(height / tile_h), math.ceil(width / tile_w))
    if not _is_list_like(tile):
        raise TypeError(f"tile={tile!r} must be a (row, column) pair of integers")
    if len(tile) != 2:
        raise ValueError(f"tile={tile!r} must be a (row, column) pair of integers")
    row = _position("tile[0]", tile[0], grid[0], f"a row of the {grid[0]} x {grid[1]} tiles")
    col = _position("tile[1]", tile[1], grid[1],
                    f"a column of the {grid[0]} x {grid[1]} tiles")
    if frames is not None:
        frames = _as_array_like(frames, "frames")
        fshape = tuple(frames.shape)
        if len(fshape) < 3 or fshape[-2:] != (height, width):
            raise ValueError(
                f"frames must have time first and frame_shape={(height, width)} last, "
                f"e.g. shape (t, {height}, {width}); got shape {fshape}"
            )
        _check_drawable("frames", fshape)
    if dtype is not None:
        item_size: int | None = as_dtype("dtype", dtype).itemsize
    elif frames is not None and hasattr(frames, "dtype"):
        item_size = np.dtype(frames.dtype).itemsize
    else:
        item_size = None
    show_next = as_bool("show_next", show_next)
    max_planes = as_int("max_planes", max_planes, minimum=2)
    max_display = _max_display(max_display)

    ax = _new_axes(ax, figsize=(8.0, 5.2))
    shown, depths, skipped = _stack_positions(per_chunk, max_planes, show_next)
    # Oblique projection: a frame is seen face on; time runs up and to the right, into
    # the page, one plane every `step` pixels (the stack is 0.7 frame heights deep).
    angle = math.radians(35)
    step = 0.7 * height / max(depths[-1], 1.0)
    offset = (step * math.cos(angle), step * math.sin(angle))
    y_edges = np.append(np.arange(0, height, tile_h), height)
    x_edges = np.append(np.arange(0, width, tile_w), width)
    tile_box = (x_edges[col], x_edges[col + 1], y_edges[row], y_edges[row + 1])

    def corner(depth: float, x: float, y: float) -> tuple[float, float]:
        """Drawing coordinates of pixel (y, x) of the plane at ``depth``."""
        return x + depth * offset[0], -y + depth * offset[1]

    # Back to front: each plane hides most of the ones behind it.
    for k in reversed(range(len(shown))):
        frame, depth = shown[k], depths[k]
        in_chunk = frame < per_chunk
        z = 10.0 * (len(shown) - k)
        left, top = corner(depth, 0, 0)
        right, bottom = corner(depth, width, height)
        pixels = _frame_plane(frames, frame, max_display)
        face = "0.88" if in_chunk else "0.95"
        ax.add_patch(Rectangle((left, bottom), width, height, facecolor=face,
                               edgecolor="0.25", linewidth=0.8, zorder=z,
                               label=f"frame {frame}"))
        if pixels is not None:
            # Smoothed when shrunk: fine rings drawn pixel by pixel would show a moiré.
            ax.imshow(pixels, cmap=cmap, extent=(left, right, bottom, top), zorder=z + 1,
                      interpolation="antialiased", alpha=1.0 if in_chunk else 0.45)
        lines = [[corner(depth, x, 0), corner(depth, x, height)] for x in x_edges[1:-1]]
        lines += [[corner(depth, 0, y), corner(depth, width, y)] for y in y_edges[1:-1]]
        ax.add_collection(LineCollection(lines, colors="white" if pixels is not None
                                         else "0.45", linewidths=0.8, zorder=z + 2))
        ax.add_patch(Rectangle((left, bottom), width, height, fill=False,
                               edgecolor="0.25", linewidth=0.8, zorder=z + 3))
        if in_chunk:
            x0, x1, y0, y1 = tile_box
            corner_x, corner_y = corner(depth, x0, y1)
            ax.add_patch(Rectangle((corner_x, corner_y), x1 - x0, y1 - y0,
                                   facecolor=color, alpha=0.45, edgecolor=color,
                                   linewidth=1.2, zorder=z + 4,
                                   label=f"chunk tile, frame {frame}"))

    # The chunk: a box from the tile of its first frame to that of its last.
    x0, x1, y0, y1 = tile_box
    last = depths[shown.index(per_chunk - 1)]
    front = [corner(0, x0, y0), corner(0, x1, y0), corner(0, x1, y1), corner(0, x0, y1)]
    back = [corner(last, x0, y0), corner(last, x1, y0), corner(last, x1, y1),
            corner(last, x0, y1)]
    edges = [[front[i], front[(i + 1) % 4]] for i in range(4)]
    edges += [[back[i], back[(i + 1) % 4]] for i in range(4)]
    edges += [[front[i], back[i]] for i in range(4)]
    ax.add_collection(LineCollection(edges, colors=color, linewidths=1.8, zorder=1000))

    count = f"{per_chunk} x {tile_h} x {tile_w} pixels"
    if item_size is not None:
        count += f" = {_fmt_bytes(per_chunk * tile_h * tile_w * item_size)}"
    frames_text = (f"frames 0 to {per_chunk - 1}" if per_chunk > 1 else "frame 0")
    note = f"one chunk: tile ({row}, {col}) of {frames_text}\n{count}"
    full_right, full_top = corner(depths[-1], width, 0)
    ax.annotate(note, xy=corner(last, (x0 + x1) / 2, y0), xytext=(0, full_top + 0.06 * height),
                fontsize=9, color=color, ha="left", va="bottom",
                arrowprops={"arrowstyle": "->", "color": color}, zorder=1002)

    # Labels: the chunk's first and last frames beside their planes, the next chunk's
    # above its plane, and axes: x, y along the front frame, time beside the stack.
    def frame_label(depth: float, text: str) -> None:
        x, y = corner(depth, width, height)
        ax.text(x + 0.02 * width, y, text, fontsize=8, va="center", ha="left", zorder=1001)

    frame_label(0, "frame 0")
    if per_chunk > 1:
        hidden = per_chunk - max_planes
        frame_label(last, f"frame {per_chunk - 1}" + (
            f"\n({hidden} frames before it not drawn)" if skipped else ""))
    if show_next:
        x, y = corner(depths[-1], 0.6 * width, 0)
        ax.text(x, y + 0.02 * height, f"frame {per_chunk}: first of the next chunk",
                fontsize=8, ha="center", va="bottom", color="0.3", zorder=1001)
    arrow = {"arrowstyle": "->", "color": "0.2"}
    shift = 0.2 * width
    start = corner(0, width + shift, height)
    end = corner(depths[-1], width + shift, height)
    ax.annotate("", xy=end, xytext=start, arrowprops=arrow)
    ax.text(end[0], end[1] + 0.02 * height, "time\n(frames)", fontsize=9, ha="center",
            va="bottom")
    below = -height - 0.06 * height
    ax.annotate("", xy=(0.3 * width, below), xytext=(0, below), arrowprops=arrow)
    ax.text(0.31 * width, below, "x", va="center", fontsize=9)
    ax.annotate("", xy=(-0.04 * width, -0.3 * height), xytext=(-0.04 * width, 0),
                arrowprops=arrow)
    ax.text(-0.04 * width, -0.33 * height, "y", ha="center", va="top", fontsize=9)

    ax.set_xlim(-0.08 * width, max(full_right, end[0]) + 0.1 * width)
    ax.set_ylim(below - 0.06 * height, full_top + 0.3 * height)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title is None:
        title = (f"frames of {(height, width)} in tiles of {(tile_h, tile_w)}: "
                 f"{per_chunk} frames per chunk")
    ax.set_title(title)
    return ax


# -- plot_shard -------------------------------------------------------------------


def _crc32c_table() -> tuple[int, ...]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1  # Castagnoli, reflected
        table.append(c)
    return tuple(table)


_CRC32C_TABLE = _crc32c_table()


def _crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of ``data``, the checksum of Zarr's ``crc32c`` codec.

    Examples
    --------
    >>> hex(_crc32c(b"123456789"))    # the standard check value
    '0xe3069283'
    """
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC32C_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


#: Offset and nbytes of an inner chunk that is not stored (the sharding spec's 2**64 - 1).
_MISSING = 2**64 - 1


class _ShardIndex(NamedTuple):
    """A shard's index as read from its file, and what it takes to read it."""

    key: str  # the shard's key in the store
    file_size: int
    chunk_shape: tuple[int, ...]  # inner chunks
    chunks_per_shard: tuple[int, ...]
    offsets: tuple[int, ...]  # per inner chunk, C order; _MISSING if not stored
    nbytes: tuple[int, ...]
    index_size: int
    location: str  # "start" or "end"
    byte_order: str  # "little" or "big"
    checksum: tuple[int, int] | None  # (stored, computed), None without crc32c


def _sharding_codec(array: Any) -> ShardingCodec:
    """The sharding codec of a Zarr v3 array, refusing any other array."""
    if not isinstance(array, zarr.Array):
        raise TypeError(
            f"array must be a zarr array with shards (zarr.open_array(path)), got "
            f"{type(array).__name__}: the shard's index is read from its file"
        )
    codecs: list[Any] = list(getattr(array.metadata, "codecs", ()))
    sharding = [c for c in codecs if isinstance(c, ShardingCodec)]
    if array.metadata.zarr_format != 3 or not sharding:
        raise ValueError(
            f"array must have shards (Zarr format 3 with the sharding codec), got Zarr "
            f"format {array.metadata.zarr_format} with codecs "
            f"{[type(c).__name__ for c in codecs]}"
        )
    first = codecs[0]
    if not isinstance(first, ShardingCodec):
        raise ValueError(
            "array's sharding codec must be its first codec: codecs before it "
            f"({[type(c).__name__ for c in codecs]}) reorder the chunks of a shard"
        )
    return first


def _index_layout(codec: ShardingCodec) -> tuple[str, bool]:
    """Byte order of the index and whether a crc32c checksum follows it."""
    index_codecs = list(codec.index_codecs)
    supported = "the bytes codec, optionally followed by crc32c (the spec's recommendation)"
    crc = len(index_codecs) == 2 and isinstance(index_codecs[1], Crc32cCodec)
    if not index_codecs or not isinstance(index_codecs[0], BytesCodec) \
            or len(index_codecs) > 1 + crc:
        raise ValueError(
            f"the array's index codecs {[type(c).__name__ for c in index_codecs]} are not "
            f"supported: plot_shard reads indexes encoded with {supported}"
        )
    endian = index_codecs[0].endian
    order = "big" if endian is not None and endian.value == "big" else "little"
    return order, crc


def _read_shard_index(array: Any, shard: object) -> _ShardIndex:
    """Read the index of one shard of a sharded Zarr array: only its bytes, from its file."""
    codec = _sharding_codec(array)
    shape = tuple(int(n) for n in array.shape)
    shard_shape = tuple(int(n) for n in array.shards)
    grid = tuple(math.ceil(n / s) for n, s in zip(shape, shard_shape, strict=True))
    if shard is None:
        coords = (0,) * len(shape)
    else:
        if not _is_list_like(shard):
            raise TypeError(f"shard={shard!r} must be a sequence of one integer per axis")
        items = list(cast(Sequence[object], shard))
        if len(items) != len(shape):
            raise ValueError(
                f"shard={shard!r} must hold one position per axis of the array "
                f"({len(shape)}); the shard grid is {grid}"
            )
        coords = tuple(_position(f"shard[{a}]", v, grid[a], f"a shard along axis {a}")
                       for a, v in enumerate(items))
    chunk_shape = tuple(int(n) for n in codec.chunk_shape)
    per_shard = tuple(s // c for s, c in zip(shard_shape, chunk_shape, strict=True))
    if any(k != 1 for k in per_shard[:-2]):
        raise ValueError(
            f"plot_shard draws shards one chunk deep along all axes but the last two; "
            f"this array's shards hold {per_shard} chunks"
        )
    byte_order, crc = _index_layout(codec)
    n = math.prod(per_shard)
    index_size = 16 * n + (4 if crc else 0)
    location = str(codec.index_location.value)
    if location not in ("start", "end"):  # the two places the sharding spec allows
        raise ValueError(f"the array's index_location={location!r} is not 'start' or 'end'")

    key = array.metadata.encode_chunk_key(coords)
    prefix = array.store_path.path
    full_key = f"{prefix}/{key}" if prefix else key
    store = array.store_path.store
    if not sync(store.exists(full_key)):
        raise ValueError(
            f"shard={coords} is not stored (no object {full_key!r} in the store): it reads "
            "as fill value; choose a shard that holds data"
        )
    file_size = int(sync(store.getsize(full_key)))
    request = (RangeByteRequest(0, index_size) if location == "start"
               else SuffixByteRequest(index_size))
    buffer = sync(store.get(full_key, prototype=default_buffer_prototype(),
                            byte_range=request))
    data = b"" if buffer is None else buffer.to_bytes()
    if len(data) != index_size:
        raise ValueError(
            f"shard {full_key!r} holds {file_size} bytes, too few for its index of "
            f"{index_size} bytes: it is damaged"
        )
    dtype = np.dtype("<u8" if byte_order == "little" else ">u8")
    entries = np.frombuffer(data[: 16 * n], dtype=dtype).reshape(n, 2)
    checksum = None
    if crc:
        stored = int.from_bytes(data[16 * n:], "little")
        checksum = (stored, _crc32c(data[: 16 * n]))
    return _ShardIndex(
        key=full_key, file_size=file_size, chunk_shape=chunk_shape, chunks_per_shard=per_shard,
        offsets=tuple(int(v) for v in entries[:, 0]), nbytes=tuple(int(v) for v in entries[:, 1]),
        index_size=index_size, location=location, byte_order=byte_order, checksum=checksum,
    )


def _chunk_colors(n: int) -> list[Any]:
    if n <= 10:
        return list(plt.get_cmap("tab10").colors[:n])  # type: ignore[attr-defined]
    if n <= 20:
        return list(plt.get_cmap("tab20").colors[:n])  # type: ignore[attr-defined]
    return [plt.get_cmap("viridis")(i / (n - 1)) for i in range(n)]


def plot_shard(
    array: Any,
    shard: Sequence[int] | None = None,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    max_labels: int = 16,
) -> Axes:
    """Draw one shard of a sharded Zarr array: its inner chunks, its file and its index.

    The shard's index is read from the shard's file (only the index's bytes, at the
    end or the start of the file as the array's ``index_location`` says): per inner
    chunk, the byte ``offset`` where it starts in the file and its length ``nbytes``,
    two unsigned 64-bit integers, then a crc32c checksum of them when the array's index
    codecs include one (zarr-python's default). The figure shows three things:

    * the shard's inner chunks, in the shard's last two axes, each with its size;
    * the index, enlarged: one ``(offset, nbytes)`` entry per inner chunk, in C order
      of the chunks, and the checksum, checked against the entries;
    * the shard's file to scale, byte 0 to the last, each chunk where its offset puts
      it, and the index (too small to see at scale, so drawn a little wider).

    Inner chunks that are not stored (an offset and length of ``2**64 - 1``: they
    read as fill value) are hatched.

    Parameters
    ----------
    array
        A Zarr format 3 array with shards (`zarr.Array`), e.g. a level of a sharded
        stream: ``zarr.open_array(path / "0")``. The sharding codec must be its first
        codec and the index encoded with the bytes codec, optionally followed by
        crc32c. Shards must hold one inner chunk along every axis but the last two
        (as the streaming writer's do: one time-chunk, one channel).
    shard
        Position of the shard in the array's grid of shards, one integer per axis
        (negative values count from the end). Default: the first shard.
    ax
        Axes to draw on. Default: a new figure.
    title
        Title. Default: the shard's key and the number of its chunks.
    max_labels
        Most inner chunks that get written labels (an integer >= 0); beyond, only
        colours link the chunks, the entries and the bytes.

    Returns
    -------
    matplotlib.axes.Axes
        The axes, axis turned off. Each inner chunk is a rectangle labelled
        ``"chunk k"`` (k its place in the index), its bytes in the file one labelled
        ``"bytes of chunk k"``, its index entry one labelled ``"entry k"``; the index
        in the file is labelled ``"index"`` and the checksum ``"crc32c"``.

    Raises
    ------
    TypeError
        If ``array`` is not a zarr array, or ``shard`` or ``max_labels`` has the wrong
        type.
    ValueError
        If ``array`` has no shards or ones this figure cannot draw (see ``array``),
        ``shard`` is outside the grid of shards or not stored, or the shard's file is
        too short for its index.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import zarr
    >>> z = zarr.create_array({}, shape=(4, 6), chunks=(2, 3), shards=(4, 6), dtype="uint8",
    ...                       compressors=None)
    >>> z[:] = 7
    >>> ax = plot_shard(z)
    >>> [p.get_label() for p in ax.patches if p.get_label().startswith("bytes")]
    ['bytes of chunk 0', 'bytes of chunk 1', 'bytes of chunk 2', 'bytes of chunk 3']
    >>> [t.get_text() for t in ax.texts][6:10]   # (offset, nbytes) of the 4 entries
    ['0\\n6', '12\\n6', '6\\n6', '18\\n6']
    >>> plt.close(ax.figure)
    """
    max_labels = as_int("max_labels", max_labels, minimum=0)
    index = _read_shard_index(array, shard)
    per_shard = index.chunks_per_shard
    ny, nx = (1, *per_shard)[-2:]
    chunk_y, chunk_x = (1, *index.chunk_shape)[-2:]
    n = ny * nx
    labels = n <= max_labels
    colors = _chunk_colors(n)
    stored = [o != _MISSING for o in index.offsets]

    width = 10.0  # drawing units: the file bar and the index span the whole width
    # The inner chunks, to the shard's proportions, top left.
    grid_w = 4.2
    grid_h = min(max(grid_w * (ny * chunk_y) / (nx * chunk_x), 1.2), 3.6)
    top = 8.0
    # The drawing spans x from -0.9 to width + 0.1, y from the file bar to the grid's top.
    low, high = top - grid_h - 3.5, top + 0.6
    ax = _new_axes(ax, figsize=(10.0, 10.0 * (high - low) / (width + 1.0) + 0.5))
    cell_w, cell_h = grid_w / nx, grid_h / ny
    for k in range(n):
        i, j = divmod(k, nx)
        x, y = j * cell_w, top - (i + 1) * cell_h
        ax.add_patch(Rectangle((x, y), cell_w, cell_h, facecolor=colors[k] if stored[k]
                               else "white", alpha=0.55 if stored[k] else 1.0,
                               edgecolor="0.2", hatch=None if stored[k] else "//",
                               label=f"chunk {k}"))
        if labels:
            size = _fmt_bytes(index.nbytes[k]) if stored[k] else "not stored"
            ax.text(x + cell_w / 2, y + cell_h / 2, f"({i}, {j})\n{size}", ha="center",
                    va="center", fontsize=8)
    ax.add_patch(Rectangle((0, top - grid_h), grid_w, grid_h, fill=False, edgecolor="black",
                           linewidth=2.0))
    ax.text(grid_w / 2, top + 0.1, f"the shard: {ny} x {nx} inner chunks of "
            f"{index.chunk_shape}", ha="center", va="bottom", fontsize=9)
    crc_text = " + 4 bytes of crc32c" if index.checksum is not None else ""
    summary = (
        f"one file, {index.key!r}: {index.file_size:,} bytes\n"
        f"index: {n} entries of 16 bytes (offset, nbytes:\n"
        f"two {index.byte_order}-endian uint64){crc_text}\n"
        f"= {index.index_size:,} bytes, at the {index.location} of the file"
    )
    ax.text(grid_w + 0.5, top - 0.1, summary, ha="left", va="top", fontsize=9)

    # The index, enlarged: one entry per chunk, then the checksum.
    strip_y, strip_h = top - grid_h - 1.2, 0.7
    crc_w = 1.1 if index.checksum is not None else 0.0
    entry_w = (width - crc_w) / n
    for k in range(n):
        x = k * entry_w
        ax.add_patch(Rectangle((x, strip_y), entry_w, strip_h, facecolor=colors[k]
                               if stored[k] else "white", alpha=0.55 if stored[k] else 1.0,
                               edgecolor="0.2", hatch=None if stored[k] else "//",
                               label=f"entry {k}"))
        if labels:
            text = (f"{index.offsets[k]:,}\n{index.nbytes[k]:,}" if stored[k]
                    else "2**64 - 1\n2**64 - 1")
            ax.text(x + entry_w / 2, strip_y + strip_h / 2, text, ha="center", va="center",
                    fontsize=7 if n <= 10 else 6, linespacing=1.6)
    if labels:
        ax.text(-0.1, strip_y + strip_h / 2, "offset\nnbytes", ha="right", va="center",
                fontsize=7, linespacing=1.6)
    if index.checksum is not None:
        stored_crc, computed = index.checksum
        ok = stored_crc == computed
        ax.add_patch(Rectangle((width - crc_w, strip_y), crc_w, strip_h, facecolor="0.8",
                               edgecolor="0.2", label="crc32c"))
        ax.text(width - crc_w / 2, strip_y + strip_h / 2,
                f"crc32c\n{stored_crc:#010x}\n" + ("matches" if ok else "DOES NOT MATCH"),
                ha="center", va="center", fontsize=7, color="black" if ok else "red")
    ax.text(0, strip_y + strip_h + 0.1,
            "the index (the dark box in the file below), enlarged: one (offset, nbytes) "
            "entry per chunk, in the order (0, 0), (0, 1), ...",
            ha="left", va="bottom", fontsize=9)

    # The file to scale; the index is drawn at least a little wide, so that it shows.
    bar_y, bar_h = strip_y - 1.5, 0.55
    scale = width / index.file_size
    ax.add_patch(Rectangle((0, bar_y), width, bar_h, facecolor="white", edgecolor="0.2"))
    arrows = []
    for k in range(n):
        if not stored[k]:
            continue
        x, w = index.offsets[k] * scale, index.nbytes[k] * scale
        ax.add_patch(Rectangle((x, bar_y), w, bar_h, facecolor=colors[k], alpha=0.8,
                               edgecolor="0.2", linewidth=0.5, label=f"bytes of chunk {k}"))
        if labels and w >= 0.5:
            i, j = divmod(k, nx)
            ax.text(x + w / 2, bar_y + bar_h / 2, f"({i}, {j})", ha="center", va="center",
                    fontsize=7)
        arrows.append([((k + 0.5) * entry_w, strip_y), (x, bar_y + bar_h)])
    ax.add_collection(LineCollection(arrows, colors="0.3", linewidths=0.7))
    index_w = max(index.index_size * scale, 0.12)
    at_start = index.location == "start"
    index_x = 0.0 if at_start else width - index_w
    ax.add_patch(Rectangle((index_x, bar_y), index_w, bar_h, facecolor="0.15",
                           edgecolor="0.15", label="index"))
    ax.text(index_x + index_w / 2, bar_y - 0.1,
            f"index: the {'first' if at_start else 'last'} {index.index_size:,} bytes",
            ha="left" if at_start else "right", va="top", fontsize=8)
    ax.text(width / 2, bar_y - 0.1, "the shard's file, to scale (each arrow: an offset)",
            ha="center", va="top", fontsize=9)
    ax.text(0, bar_y - 0.45, "byte 0", ha="left", va="top", fontsize=8)
    ax.text(width, bar_y - 0.45, f"byte {index.file_size:,}", ha="right", va="top",
            fontsize=8)

    ax.set_xlim(-0.9, width + 0.1)
    ax.set_ylim(low, high)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title is None:
        title = f"shard {index.key!r}: {n} chunks in one file, its index at the {index.location}"
    ax.set_title(title)
    return ax


# -- plot_stream_timeline -----------------------------------------------------------------

_RECORD_FIELDS = ("frame", "on_disk", "buffered", "chunk_files")


def _record_field(record: object, i: int, field: str) -> object:
    if isinstance(record, Mapping):
        if field in record:
            return record[field]
        if field == "on_disk" and "shape" in record:
            return cast(Sequence[object], record["shape"])[0]
    elif hasattr(record, field):
        return getattr(record, field)
    raise ValueError(
        f"records[{i}]={record!r} must have {list(_RECORD_FIELDS)} (as keys or attributes; "
        "'shape' may stand for 'on_disk'), like data_helpers.writer.StreamRecord"
    )


def _timeline_rows(records: object) -> tuple[list[tuple[int, int, int, int]],
                                             list[tuple[int, ...] | None]]:
    """``(frame, on_disk, buffered, chunk_files)`` per record, and its shape if it has one."""
    if isinstance(records, str | bytes | Mapping) or not _is_list_like(records):
        raise TypeError(
            f"records must be a list of records (data_helpers.writer.record_stream's, or "
            f"dicts with keys {list(_RECORD_FIELDS)}), got {type(records).__name__}"
        )
    items = list(cast(Sequence[object], records))
    if not items:
        raise ValueError("records must hold at least one record, got an empty sequence")
    rows: list[tuple[int, int, int, int]] = []
    shapes: list[tuple[int, ...] | None] = []
    for i, record in enumerate(items):
        if not isinstance(record, Mapping) and not hasattr(record, "frame"):
            raise TypeError(
                f"records[{i}]={record!r} must be a record with {list(_RECORD_FIELDS)}, "
                "like data_helpers.writer.StreamRecord, or a dict with those keys"
            )
        values = [as_int(f"records[{i}].{field}", _record_field(record, i, field), minimum=0)
                  for field in _RECORD_FIELDS]
        frame, on_disk, buffered, files = values
        if on_disk + buffered > frame + 1:
            raise ValueError(
                f"records[{i}] holds {on_disk} frames on disk and {buffered} in memory, "
                f"more than the {frame + 1} frames 0 to {frame} appended"
            )
        if i and frame != rows[-1][0] + 1:
            raise ValueError(
                f"records[{i}].frame={frame} must follow records[{i - 1}].frame="
                f"{rows[-1][0]}: one record per frame, in order"
            )
        rows.append((frame, on_disk, buffered, files))
        shape = (record.get("shape") if isinstance(record, Mapping)
                 else getattr(record, "shape", None))
        shapes.append(None if shape is None else tuple(int(n) for n in
                                                        cast(Sequence[Any], shape)))
    return rows, shapes


def plot_stream_timeline(
    records: Sequence[Any],
    *,
    crash: Sequence[int] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Draw a streaming writer's life: frames arriving, filling memory, flushed to disk.

    For each frame appended, the frames already on disk (the array's time extent in its
    metadata document) and those still in the writer's memory, stacked: together they
    are every frame appended so far. Each flush, where the frames on disk jump by a
    chunk, is marked with the array's new shape and the number of chunk files. An
    optional crash point shows what a process killed after some frame really left.

    Parameters
    ----------
    records
        One record per frame, in order, each with ``frame`` (its position in the
        stream), ``on_disk`` (frames on disk then; a ``shape`` may stand for it, its
        first entry), ``buffered`` (frames in memory) and ``chunk_files`` (files on
        disk), as attributes or keys: the list `data_helpers.writer.record_stream`
        returns, or dicts. With a ``shape``, flushes are labelled with it.
    crash
        ``(frame, on_disk)``: a process killed just after appending ``frame`` was found
        to have left ``on_disk`` frames (an int pair; ``frame`` among the records').
    ax
        Axes to draw on. Default: a new figure.
    title
        Title. Default: how many frames, flushes and frames per flush.

    Returns
    -------
    matplotlib.axes.Axes
        The axes: the frames on disk and those in memory are its first two
        ``patches`` (step areas labelled ``"on disk"`` and ``"in memory"``), one text
        per flush, and, with ``crash``, a vertical line and its text.

    Raises
    ------
    TypeError
        If ``records`` is not a list of records, or a field or ``crash`` has the wrong
        type.
    ValueError
        If ``records`` is empty, a record lacks a field, holds more frames than were
        appended or does not follow the one before, or ``crash`` is not a pair for a
        recorded frame with at most ``frame + 1`` frames on disk.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> records = [{"frame": i, "on_disk": (i + 1) // 4 * 4, "buffered": (i + 1) % 4,
    ...             "chunk_files": (i + 1) // 4} for i in range(10)]
    >>> ax = plot_stream_timeline(records, crash=(9, 8))
    >>> [t.get_text() for t in ax.texts][:2]
    ['t = 4\\n1 chunk file', 't = 8\\n2 chunk files']
    >>> ax.patches[0].get_label(), ax.patches[1].get_label()
    ('on disk', 'in memory')
    >>> plt.close(ax.figure)
    """
    rows, shapes = _timeline_rows(records)
    first_frame = rows[0][0]
    if crash is not None:
        crash_frame, crash_disk = as_ints(
            "crash", crash, 2, minimum=0,
            accepted="a (frame, frames on disk) pair of integers >= 0")
        if not first_frame <= crash_frame <= rows[-1][0]:
            raise ValueError(
                f"crash={tuple(crash)!r} must be after a recorded frame, "
                f"{first_frame} to {rows[-1][0]}"
            )
        if crash_disk > crash_frame + 1:
            raise ValueError(
                f"crash={tuple(crash)!r} has more frames on disk than the "
                f"{crash_frame + 1} appended"
            )

    frames = np.array([r[0] for r in rows])
    on_disk = np.array([r[1] for r in rows])
    in_memory = on_disk + np.array([r[2] for r in rows])
    edges = np.append(frames, frames[-1] + 1)  # record i holds from frame i to frame i + 1

    ax = _new_axes(ax, figsize=(8.0, 4.2))
    ax.stairs(on_disk, edges, baseline=0, fill=True, color="tab:green", alpha=0.6,
              label="on disk")
    ax.stairs(in_memory, edges, baseline=on_disk, fill=True, color="tab:orange", alpha=0.5,
              label="in memory")
    ax.stairs(in_memory, edges, color="0.2", linewidth=1.0, label="appended")

    flushes = [i for i in range(len(rows)) if on_disk[i] > (on_disk[i - 1] if i else 0)]
    top = int(frames[-1]) + 1
    for i in flushes:
        files = rows[i][3]
        shape = shapes[i]
        what = str(shape) if shape is not None else f"t = {on_disk[i]}"
        ax.axvline(frames[i], color="tab:green", linestyle=":", linewidth=1.0,
                   label="flush (at its foot: shape on disk, files)" if i == flushes[0]
                   else None)
        # At the foot of the frames on disk it brought, right of the flush.
        ax.text(frames[i] + 0.3, 0.02 * top,
                f"{what}\n{files} chunk file{'s' if files != 1 else ''}",
                fontsize=7, va="bottom", ha="left")
    if crash is not None:
        x = crash_frame + 0.5
        lost = crash_frame + 1 - crash_disk
        ax.axvline(x, color="tab:red", linewidth=1.5)
        ax.plot([x], [crash_disk], marker="o", color="tab:red")
        ax.annotate("", xy=(x, crash_frame + 1), xytext=(x, crash_disk),
                    arrowprops={"arrowstyle": "<->", "color": "tab:red"})
        ax.text(x - 0.4, crash_frame + 1 + 0.02 * top,
                f"killed after frame {crash_frame}: {crash_disk} frames on disk "
                f"(a valid store),\n{lost} lost with the memory",
                color="tab:red", fontsize=8, ha="right", va="bottom")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(0, top * 1.18)
    ax.set_xlabel("frame appended")
    ax.set_ylabel("frames")
    ax.legend(loc="upper left", fontsize=8)
    if title is None:
        size = f" of {on_disk[flushes[0]]} frames" if flushes and len(set(
            np.diff([0, *on_disk[flushes]]))) == 1 else ""
        title = (f"{len(rows)} frame{'s' if len(rows) != 1 else ''} appended, {len(flushes)} "
                 f"flush{'es' if len(flushes) != 1 else ''}{size}")
    ax.set_title(title)
    return ax


# -- plot_to_scale ------------------------------------------------------------------------


class _Placed(NamedTuple):
    """An image and where its pixels are, in micrometres."""

    array: Any
    height: int
    width: int
    size: tuple[float, float]  # (y, x) of a pixel
    origin: tuple[float, float]  # (y, x) of the centre of pixel (0, 0)

    def extent(self) -> tuple[float, float, float, float]:
        """``(left, right, bottom, top)`` for imshow, y growing downwards."""
        (sy, sx), (ty, tx) = self.size, self.origin
        return (tx - sx / 2, tx + (self.width - 0.5) * sx,
                ty + (self.height - 0.5) * sy, ty - sy / 2)

    def pixels(self, axis: int, low: float, high: float) -> tuple[int, int]:
        """The pixels along ``axis`` (0: y, 1: x) whose area meets ``[low, high]``."""
        size, origin = self.size[axis], self.origin[axis]
        n = self.height if axis == 0 else self.width
        first = max(0, math.floor((low - origin) / size + 0.5))
        last = min(n, math.ceil((high - origin) / size + 0.5))
        return first, last

    def key(self, rows: slice | int, cols: slice) -> tuple[int | slice, ...]:
        """Index of rows and columns of the middle plane of the leading axes."""
        return (*_middle_plane_key(self.array.shape)[:-2], rows, cols)


def _um_pair(name: str, value: object, *, positive: bool) -> tuple[float, float]:
    """One number (for y and x) or a (y, x) pair, in micrometres."""
    accepted = ("a number > 0 or a (y, x) pair of numbers > 0, in micrometres" if positive
                else "a (y, x) pair of finite numbers, in micrometres")
    if _is_list_like(value):
        items = list(cast(Sequence[object], value))
        if len(items) != 2:
            raise ValueError(f"{name}={value!r} must be {accepted}")
        y, x = (as_float(f"{name}[{k}]", v, positive=positive, accepted=accepted)
                for k, v in enumerate(items))
        return y, x
    if not positive:
        raise TypeError(f"{name}={value!r} must be {accepted}")
    size = as_float(name, value, positive=True, accepted=accepted)
    return size, size


def _place(images: object, pixel_sizes_um: object, translations_um: object) -> list[_Placed]:
    if isinstance(images, str | bytes | Mapping) or not isinstance(images, Sequence):
        # (An array is refused: its rows are not images.)
        raise TypeError(f"images must be a list of array-likes, got {type(images)!r}")
    arrays = [_as_array_like(image, f"images[{i}]")
              for i, image in enumerate(cast(Sequence[object], images))]
    if not arrays:
        raise ValueError("images must hold at least one array, got an empty sequence")
    n = len(arrays)
    for i, array in enumerate(arrays):
        if len(array.shape) < 2:
            raise ValueError(
                f"images[{i}] must have at least 2 dimensions, got shape {tuple(array.shape)}"
            )
        _check_drawable(f"images[{i}]", tuple(array.shape))
    for name, value in (("pixel_sizes_um", pixel_sizes_um), ("translations_um", translations_um)):
        if value is None and name == "translations_um":
            continue
        if isinstance(value, str) or not _is_list_like(value):
            raise TypeError(f"{name}={value!r} must be a list with one entry per image ({n})")
        if len(cast(Sequence[object], value)) != n:
            raise ValueError(f"{name}={value!r} must hold one entry per image ({n})")
    sizes = [_um_pair(f"pixel_sizes_um[{i}]", v, positive=True)
             for i, v in enumerate(cast(Sequence[object], pixel_sizes_um))]
    origins = ([(0.0, 0.0)] * n if translations_um is None else
               [_um_pair(f"translations_um[{i}]", v, positive=False)
                for i, v in enumerate(cast(Sequence[object], translations_um))])
    return [_Placed(a, int(a.shape[-2]), int(a.shape[-1]), size, origin)
            for a, size, origin in zip(arrays, sizes, origins, strict=True)]


def _zoom_region(zoom_um: object) -> tuple[tuple[float, float], tuple[float, float]]:
    accepted = "((y0, y1), (x0, x1)) with y0 < y1 and x0 < x1, in micrometres"
    if not _is_list_like(zoom_um):
        raise TypeError(f"zoom_um={zoom_um!r} must be {accepted}")
    ranges = list(cast(Sequence[object], zoom_um))
    if len(ranges) != 2 or not all(_is_list_like(r) for r in ranges):
        raise ValueError(f"zoom_um={zoom_um!r} must be {accepted}")
    bounds = []
    for axis, r in zip("yx", ranges, strict=True):
        pair = list(cast(Sequence[object], r))
        if len(pair) != 2:
            raise ValueError(f"zoom_um={zoom_um!r} must be {accepted}")
        low, high = (as_float(f"zoom_um ({axis})", v, accepted=accepted) for v in pair)
        if not low < high:
            raise ValueError(f"zoom_um={zoom_um!r} must be {accepted}")
        bounds.append((low, high))
    return bounds[0], bounds[1]


def _pixel_axes(ax: Axes, placed: _Placed, *, y: bool = True,
                label: str = "x (pixels)") -> None:
    """Secondary axes, top (and right), in this image's pixels."""
    (sy, sx), (ty, tx) = placed.size, placed.origin

    def to_pixels(size: float, origin: float) -> tuple[Any, Any]:
        # (Any: matplotlib passes floats and numpy arrays of them.)
        def forward(um: Any) -> Any:
            return (um - origin) / size

        def inverse(pixel: Any) -> Any:
            return pixel * size + origin

        return forward, inverse

    top = ax.secondary_xaxis("top", functions=to_pixels(sx, tx))
    top.set_xlabel(label, fontsize=8)
    top.tick_params(labelsize=7)
    if y:
        right = ax.secondary_yaxis("right", functions=to_pixels(sy, ty))
        right.set_ylabel("y (pixels)", fontsize=8)
        right.tick_params(labelsize=7)


def plot_to_scale(
    images: Sequence[Any],
    pixel_sizes_um: Sequence[float | Sequence[float]],
    *,
    translations_um: Sequence[Sequence[float]] | None = None,
    titles: Sequence[str] | None = None,
    zoom_um: Sequence[Sequence[float]] | None = None,
    profile: bool = True,
    cmap: str = "gray",
    interpolation: str = "nearest",
    panel_size: float = 4.0,
    max_display: int = 1024,
    **imshow_kwargs: Any,
) -> Figure:
    """Show images of different pixel sizes where they are, in micrometres.

    Each image is drawn over the area its pixels cover, from its pixel size and the
    position of its first pixel (a level's ``scale`` and ``translation`` in the
    OME-Zarr metadata), so the levels of a pyramid line up. Axes are in micrometres
    (bottom, left) and in the image's own pixels (top, right). Optional rows:

    * a zoom on ``zoom_um``, where each image's pixels are large enough to see;
    * a line profile: the pixels of every image along one row, through the middle of
      the zoom (or of the first image), across its width, drawn as steps, one per
      pixel, so frames can be compared value by value and pixel sizes seen.

    A note on moiré: drawn pixel by pixel (``interpolation="nearest"``, as here by
    default and in `plot_levels`), an image that has more pixels than its panel has
    screen pixels loses some of them at a regular rhythm; on a fine periodic pattern
    that rhythm beats with the pattern, and bands appear that are not in the data. The
    zoom, where every pixel covers several screen pixels, shows the data as it is;
    ``interpolation="antialiased"`` smooths the bands away.

    Parameters
    ----------
    images
        2D array-likes (nD ones are shown at the middle of every leading axis).
        Only what is drawn is read: a strided view, the zoom's pixels, one row.
    pixel_sizes_um
        One pixel size per image, in micrometres: a number, or a ``(y, x)`` pair
        (e.g. a level's ``scale[-2:]``).
    translations_um
        The position of the centre of each image's first pixel, a ``(y, x)`` pair in
        micrometres (a level's ``translation[-2:]``). Default: ``(0, 0)`` for every
        image.
    titles
        One title per image. Default: its shape and pixel size.
    zoom_um
        ``((y0, y1), (x0, x1))``, the region to enlarge, in micrometres. Default: no
        zoom row.
    profile
        Draw the line profile (True or False).
    cmap
        Matplotlib colormap.
    interpolation
        How the whole images are drawn (one of matplotlib's interpolation names); the
        zoom is always drawn pixel by pixel.
    panel_size
        Width (inches, a finite number > 0) of each panel.
    max_display
        Largest number of pixels read along a side of a whole image (an integer >= 1).
    **imshow_kwargs
        Passed to :meth:`matplotlib.axes.Axes.imshow`. Default contrast: that of the
        first image, for all.

    Returns
    -------
    matplotlib.figure.Figure
        The figure: one panel per image, then (with ``zoom_um``) one zoomed panel per
        image, then (with ``profile``) the profile, each with its secondary axes.

    Raises
    ------
    TypeError
        If an argument has the wrong type (images or sizes that are not lists, a size
        that is not a number or a pair, a flag that is not True or False).
    ValueError
        If an argument has a wrong value (no images, an image with fewer than 2
        dimensions or an empty axis, sizes or titles not one per image, a size that is
        not > 0, a zoom that is not two increasing ranges or misses an image, an
        unknown interpolation).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fine = np.arange(64.0).reshape(8, 8)
    >>> coarse = fine.reshape(2, 4, 2, 4).mean(axis=(1, 3))          # 4 x 4 pixels each
    >>> fig = plot_to_scale([fine, coarse], [1.0, 4.0], translations_um=[(0, 0), (1.5, 1.5)],
    ...                     zoom_um=((0, 4), (0, 4)))
    >>> [ax.images[0].get_extent() for ax in fig.axes[:2]]    # the same area
    [[-0.5, 7.5, 7.5, -0.5], [-0.5, 7.5, 7.5, -0.5]]
    >>> fig.axes[-1].get_title()
    'profile along y = 2 µm'
    >>> plt.close(fig)
    """
    placed = _place(images, pixel_sizes_um, translations_um)
    n = len(placed)
    if titles is None:
        titles = [f"{tuple(p.array.shape)}, pixels of "
                  + (f"{p.size[1]:g} µm" if p.size[0] == p.size[1]
                     else f"{p.size[0]:g} x {p.size[1]:g} µm") for p in placed]
    elif not _is_list_like(titles):
        raise TypeError(f"titles={titles!r} must be a list of one title per image ({n})")
    elif len(titles) != n:
        raise ValueError(f"titles={titles!r} must hold one title per image ({n})")
    zoom = None if zoom_um is None else _zoom_region(zoom_um)
    profile = as_bool("profile", profile)
    if not isinstance(interpolation, str):
        raise TypeError(f"interpolation={interpolation!r} must be one of matplotlib's "
                        "interpolation names, e.g. 'nearest' or 'antialiased'")
    if interpolation not in matplotlib.image.interpolations_names:
        raise ValueError(f"interpolation={interpolation!r} must be one of "
                         f"{sorted(matplotlib.image.interpolations_names)}")
    panel_size = as_float("panel_size", panel_size, positive=True)
    max_display = _max_display(max_display)

    first = placed[0]
    left, right, bottom, top = first.extent()
    if zoom is not None:
        (zy0, zy1), (zx0, zx1) = zoom
        for i, p in enumerate(placed):
            rows, cols = p.pixels(0, zy0, zy1), p.pixels(1, zx0, zx1)
            if rows[0] >= rows[1] or cols[0] >= cols[1]:
                raise ValueError(f"zoom_um={zoom_um!r} holds no pixel of images[{i}]")
        line_y, line_x = (zy0 + zy1) / 2, (zx0, zx1)
    else:
        line_y, line_x = (top + bottom) / 2, (left, right)
    if profile:
        for i, p in enumerate(placed):
            row = round((line_y - p.origin[0]) / p.size[0])
            if not 0 <= row < p.height:
                raise ValueError(
                    f"the profile row, y = {line_y:g} µm, is outside images[{i}]"
                )

    # Only now, with every argument known to be good, may a figure be made.
    aspect = (bottom - top) / (right - left)
    layout: list[Any] = [[f"full {i}" for i in range(n)]]
    heights = [panel_size * aspect]
    if zoom is not None:
        layout.append([f"zoom {i}" for i in range(n)])
        heights.append(panel_size * (zy1 - zy0) / (zx1 - zx0))
    if profile:
        layout.append(["profile"] * n)
        heights.append(2.2)
    fig: Figure
    fig, axes = plt.subplot_mosaic(
        layout, figsize=(panel_size * n + 0.8, sum(heights) + 1.0 * len(heights)),
        height_ratios=heights, layout="constrained",
    )

    planes = [np.asarray(p.array[_strided_plane_key(p.array.shape, max_display)])
              for p in placed]
    imshow_kwargs.setdefault("vmin", float(np.nanmin(planes[0])))
    imshow_kwargs.setdefault("vmax", float(np.nanmax(planes[0])))
    for i, (p, plane, title) in enumerate(zip(placed, planes, titles, strict=True)):
        ax = axes[f"full {i}"]
        ax.imshow(plane, cmap=cmap, extent=p.extent(), interpolation=interpolation,
                  **imshow_kwargs)
        ax.set_xlim(left, right)
        ax.set_ylim(bottom, top)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("x (µm)", fontsize=8)
        ax.set_ylabel("y (µm)" if i == 0 else "", fontsize=8)
        ax.tick_params(labelsize=7)
        _pixel_axes(ax, p)
        if zoom is not None:
            ax.add_patch(Rectangle((zx0, zy0), zx1 - zx0, zy1 - zy0, fill=False,
                                   edgecolor="tab:orange", linewidth=1.5))
        if profile:
            ax.plot(line_x, [line_y, line_y], color="tab:cyan", linewidth=1.0,
                    linestyle="--")
    if zoom is not None:
        for i, p in enumerate(placed):
            ax = axes[f"zoom {i}"]
            (r0, r1), (c0, c1) = p.pixels(0, zy0, zy1), p.pixels(1, zx0, zx1)
            crop = np.asarray(p.array[p.key(slice(r0, r1), slice(c0, c1))])
            (sy, sx), (ty, tx) = p.size, p.origin
            extent = (tx + (c0 - 0.5) * sx, tx + (c1 - 0.5) * sx,
                      ty + (r1 - 0.5) * sy, ty + (r0 - 0.5) * sy)
            kwargs = {**imshow_kwargs, "interpolation": "nearest"}
            ax.imshow(crop, cmap=cmap, extent=extent, **kwargs)
            ax.set_xlim(zx0, zx1)
            ax.set_ylim(zy1, zy0)
            ax.set_title(f"zoom: {(zx1 - zx0) / sx:g} x {(zy1 - zy0) / sy:g} of its pixels",
                         fontsize=9)
            ax.set_xlabel("x (µm)", fontsize=8)
            ax.set_ylabel("y (µm)" if i == 0 else "", fontsize=8)
            ax.tick_params(labelsize=7)
            _pixel_axes(ax, p)
            for spine in ax.spines.values():
                spine.set_edgecolor("tab:orange")
            if profile:
                ax.axhline(line_y, color="tab:cyan", linewidth=1.0, linestyle="--")
    if profile:
        ax = axes["profile"]
        for p, title in zip(placed, titles, strict=True):
            row = round((line_y - p.origin[0]) / p.size[0])
            c0, c1 = p.pixels(1, *line_x)
            values = np.asarray(p.array[p.key(row, slice(c0, c1))], dtype=float)
            x = p.origin[1] + np.arange(c0, c1) * p.size[1]
            ax.plot(x, values, drawstyle="steps-mid", label=title, linewidth=1.2)
        ax.set_xlim(*line_x)
        ax.set_xlabel("x (µm)", fontsize=8)
        ax.set_ylabel("pixel value", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_title(f"profile along y = {line_y:g} µm", fontsize=9)
        # Below the figure: inside the axes it would hide the curves.
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=n,
                   fontsize=8)
        _pixel_axes(ax, first, y=False, label=f"x (pixels of {titles[0]})")
    return fig


# -- plot_channels ------------------------------------------------------------------------

# Imported where they are used (below): plotting stays quick to import.
#: An array's axes when ``axes`` is not given, by its number of dimensions (OME order).
_CHANNEL_AXES = {3: "cyx", 4: "czyx", 5: "tczyx"}


def _color_rgb(color: str) -> npt.NDArray[np.float64]:
    """``"RRGGBB"`` as three floats from 0 to 1."""
    return np.array([int(color[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float64) / 255


def _blend(
    shape: tuple[int, int], planes: Sequence[npt.NDArray[Any]], channels: Sequence[Channel]
) -> npt.NDArray[np.float64]:
    """Each plane scaled into its window (0 to 1), tinted by its colour, summed, clipped."""
    rgb = np.zeros((*shape, 3))
    for plane, channel in zip(planes, channels, strict=True):
        assert channel.window is not None and channel.color is not None  # as_channels'
        start, end = channel.window
        values = np.asarray(plane, dtype=np.float64)
        if end > start:
            scaled = (values - start) / (end - start)
        else:  # a window of no width: a threshold (a constant plane is black)
            scaled = (values > end).astype(np.float64)
        # Below the window is black, above it full colour; NaN (no value) is black.
        scaled = np.nan_to_num(np.clip(scaled, 0.0, 1.0), nan=0.0)
        rgb += scaled[..., np.newaxis] * _color_rgb(channel.color)
    return np.clip(rgb, 0.0, 1.0)


def channel_composite(planes: Any, channels: ChannelsLike) -> npt.NDArray[np.float64]:
    """Blend the planes of a channel axis into one RGB image, as viewers show them.

    Each active channel's plane is scaled into its display window (``window.start`` is
    black, ``window.end`` and above its full colour), tinted by its colour, and the
    channels are added up, clipped to [0, 1]: a red and a green channel both at full
    brightness give yellow. Inactive channels are left out. NaN pixels are black, and
    so are the pixels of a window of no width (start = end) but those above it.

    Parameters
    ----------
    planes
        A ``(c, y, x)`` array-like (numpy, zarr, dask), one plane per channel; only
        the planes of active channels are read.
    channels
        One entry per plane: a `~data_helpers.ome.Channel`, a mapping of its fields or
        a label, completed by `~data_helpers.ome.as_channels` (whose defaults are a
        window spanning the pixel type's range and `~data_helpers.ome.CHANNEL_COLORS`
        in turn).

    Returns
    -------
    numpy.ndarray
        ``(y, x, 3)`` float64 RGB values from 0 to 1, as `matplotlib.axes.Axes.imshow`
        draws them.

    Raises
    ------
    TypeError, ValueError
        If ``planes`` is not a 3D array of numbers with a pixel along every axis, or a
        channel is not as `~data_helpers.ome.as_channels` accepts it (one per plane).

    Examples
    --------
    >>> planes = np.array([[[0, 50, 100]], [[100, 100, 0]]], dtype=np.uint8)
    >>> rgb = channel_composite(planes, [{"color": "FF0000", "window": (0, 100)},
    ...                                  {"color": "00FF00", "window": (0, 200)}])
    >>> rgb[0].tolist()
    [[0.0, 0.5, 0.0], [0.5, 0.5, 0.0], [1.0, 0.0, 0.0]]
    """
    from data_helpers.ome import as_channels

    planes = _as_array_like(planes, "planes")
    shape = tuple(planes.shape)
    if len(shape) != 3:
        raise ValueError(f"planes must be 3D, (channel, y, x), got shape {shape}")
    _check_drawable("planes", shape)
    dtype = as_dtype("planes.dtype", getattr(planes, "dtype", None), kinds="biuf")
    checked = as_channels(channels, axes="cyx", shape=shape, dtype=dtype)
    active = [i for i, channel in enumerate(checked) if channel.active]
    return _blend((shape[1], shape[2]), [np.asarray(planes[i]) for i in active],
                  [checked[i] for i in active])


def _plane_positions(
    plane: object, names: str, others: Sequence[str], shape: Sequence[int]
) -> dict[str, int]:
    """The position along each axis in ``others`` (not drawn, not channels), checked."""
    if plane is None:
        plane = {}
    if not isinstance(plane, Mapping):
        raise TypeError(
            f"plane={plane!r} must be None or a mapping of axis name to position, "
            f"e.g. {{{others[0] if others else 'z'!r}: 0}}"
        )
    unknown = [a for a in plane if a not in others]
    if unknown:
        taken = f"the axes {list(others)}" if others else "no axis (the image is one plane)"
        raise ValueError(
            f"plane={dict(plane)!r} names {unknown}; of the axes {names!r}, the channel axis "
            f"and the two drawn are whole, so positions are taken along {taken}"
        )
    positions = {}
    for a in others:
        size = shape[names.index(a)]
        positions[a] = _position(f"plane[{a!r}]", plane.get(a, size // 2), size,
                                 f"a position along {a!r}, of size {size}")
    return positions


def plot_channels(
    image: Any,
    channels: ChannelsLike | None = None,
    *,
    level: int | None = None,
    plane: Mapping[str, int] | None = None,
    axes: str | None = None,
    max_display: int = 1024,
    ax: Axes | None = None,
    title: str | None = None,
    legend: bool = True,
) -> Axes:
    """Show the channels of one plane together, each in its colour and display window.

    The composite of `channel_composite`: every active channel scaled into its window,
    tinted by its colour and added up, clipped to [0, 1], as image viewers show a
    multichannel image. Only the plane drawn is read, channel by channel, and only for
    the active channels (a zarr or dask array reads only the chunks it crosses).

    Parameters
    ----------
    image
        A `~data_helpers.multiscale.MultiscaleImage` with a channel axis ``c``, or an
        array-like (numpy, zarr, dask; a level of an image) with one, whose axes
        ``axes`` names.
    channels
        How to show each channel, one entry per index of ``c``: a
        `~data_helpers.ome.Channel`, a mapping of its fields or a label, completed by
        `~data_helpers.ome.as_channels`. Default: an image's own ``channels`` (its
        ``omero`` metadata); for an array, or an image without them, each channel in
        turn in `~data_helpers.ome.CHANNEL_COLORS` (white when there is one), its
        window the range of the values of its plane.
    level
        The level of an image to draw (negative counts from the smallest). Default: the
        largest whose two drawn axes fit in ``max_display``
        (`~data_helpers.multiscale.MultiscaleImage.level_for`), else the smallest.
        Must be None for an array.
    plane
        The position along each axis that is neither ``c`` nor one of the last two
        (drawn) axes, by name, e.g. ``{"z": 10}`` (negative counts from the end);
        default the middle. For an image, in level 0's pixels: the plane drawn is the
        one of the level drawn that holds that position.
    axes
        An array's axes in OME order, e.g. ``"tcyx"``. Default: ``"cyx"``, ``"czyx"``
        or ``"tczyx"`` by its number of dimensions. Must be None for an image, which
        names its own.
    max_display
        Largest number of pixels read along a side (an integer >= 1): a larger plane is
        read with a stride.
    ax
        Axes to draw on. Default: a new figure.
    title
        Title. Default: the level and the positions of the plane (an image), or the
        selection in numpy syntax (an array).
    legend
        Name each channel drawn (its label, else ``channel i``) in its colour.

    Returns
    -------
    matplotlib.axes.Axes
        The axes; the composite is its image, ``(y, x, 3)`` RGB values from 0 to 1.

    Raises
    ------
    TypeError
        If an argument has the wrong type (an image that is not an array, a level or a
        position that is not an integer, a plane that is not a mapping, a channel that
        `~data_helpers.ome.as_channels` refuses, a flag that is not True or False).
    ValueError
        If an argument has a wrong value (no channel axis, axes that do not fit the
        array, a level or position out of range, a position along an axis that is
        drawn whole, channels not one per index of ``c``, a window outside its limits).
        Everything is checked before anything is read or a figure is made.

    Examples
    --------
    >>> import tempfile
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from data_helpers.ome import Channel
    >>> from data_helpers.pyramid import build_pyramid
    >>> cells = np.zeros((2, 4, 64, 64), np.uint16)          # c, z, y, x
    >>> cells[0, :, 16:48, 8:32] = 1000                      # nuclei: left
    >>> cells[1, :, 16:48, 32:56] = 500                      # membranes: right
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     image = build_pyramid(
    ...         cells, f"{tmp}/cells.zarr", axes="czyx", chunks=(1, 4, 32, 32),
    ...         channels=[Channel("nuclei", "FF0000", window=(0, 1000)),
    ...                   Channel("membranes", "00FF00", window=(0, 1000))])
    ...     ax = plot_channels(image, max_display=32)
    >>> ax.get_title()
    'level 1, z = 1 (2 at level 0)'
    >>> rgb = ax.images[0].get_array()
    >>> rgb.shape, rgb[12, 8].tolist(), rgb[12, 20].tolist()
    ((32, 32, 3), [1.0, 0.0, 0.0], [0.0, 0.5, 0.0])
    >>> [text.get_text() for text in ax.get_legend().get_texts()]
    ['nuclei', 'membranes']
    >>> plt.close(ax.figure)
    """
    from matplotlib.patches import Patch

    from data_helpers.multiscale import MultiscaleImage
    from data_helpers.ome import as_channels, validate_axes

    max_display = _max_display(max_display)
    legend = as_bool("legend", legend)
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title={title!r} must be a string or None")
    if ax is not None:
        _new_axes(ax)  # checks it
    if isinstance(image, MultiscaleImage):
        if axes is not None:
            raise ValueError(f"axes={axes!r} must be None for a MultiscaleImage, which "
                             f"names its own axes {image.axes}")
        names = "".join(image.axes)
        if "c" not in names:
            raise ValueError(f"image has the axes {names!r}, without a channel axis 'c'")
        if level is None:
            try:
                k = image.level_for({names[-2]: max_display, names[-1]: max_display})
            except ValueError:  # even the smallest is larger: it is read with a stride
                k = image.levels - 1
        else:
            k = _position("level", level, image.levels,
                          f"a level of an image with {image.levels} levels")
        array = image.level(k)
        base_shape = image.shapes[0]
        stored = image.channels
    else:
        if level is not None:
            raise ValueError(f"level={level!r} must be None for an array (only a "
                             "MultiscaleImage has levels; pass one of its levels instead)")
        array = _as_array_like(image, "image")
        ndim = len(array.shape)
        if axes is None:
            if ndim not in _CHANNEL_AXES:
                raise ValueError(
                    f"image has shape {tuple(array.shape)}; an array with a channel axis "
                    "has 3 to 5 dimensions ('cyx', 'czyx', 'tczyx'), or give its axes="
                )
            axes = _CHANNEL_AXES[ndim]
        names = validate_axes(axes)
        if "c" not in names:
            raise ValueError(f"axes={axes!r} must have a channel axis 'c'")
        if len(names) != ndim:
            raise ValueError(f"axes={axes!r} must name the {ndim} axes of the image, of "
                             f"shape {tuple(array.shape)}")
        k, base_shape, stored = 0, tuple(array.shape), ()
    shape = tuple(array.shape)
    _check_drawable("image", shape)
    c = names.index("c")
    others = [a for a in names[:-2] if a != "c"]
    positions = _plane_positions(plane, names, others, base_shape)
    dtype = as_dtype("image.dtype", getattr(array, "dtype", None), kinds="biuf")
    if channels is not None:
        checked: tuple[Channel, ...] | None = as_channels(channels, axes=names, shape=shape,
                                                          dtype=dtype)
    elif stored:
        checked = as_channels(stored, axes=names, shape=shape, dtype=dtype,
                              name="image.channels")
    else:
        checked = None  # windows from the data, once read

    # The plane of level k: a level-0 position is the pixel whose area holds its centre.
    selection: list[int | slice] = [slice(None)] * len(names)
    at_level = {}
    for a, position in positions.items():
        i = names.index(a)
        if k:
            assert isinstance(image, MultiscaleImage)
            centre = image.translation(0)[i] + position * image.scale(0)[i]
            found = math.floor((centre - image.translation(k)[i]) / image.scale(k)[i] + 0.5)
            position = min(max(found, 0), shape[i] - 1)
        selection[i] = at_level[a] = position
    step = max(1, math.ceil(max(shape[-2:]) / max_display))
    selection[-2] = selection[-1] = slice(None, None, step)

    def read(channel: int) -> npt.NDArray[Any]:
        key = list(selection)
        key[c] = channel
        return np.asarray(array[tuple(key)])  # indexing first: only this plane is read

    count = shape[c]
    if checked is None:
        planes = [read(i) for i in range(count)]
        windows = []
        for values in planes:
            finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
            windows.append((float(finite.min()), float(finite.max())) if finite.size
                           else (0.0, 1.0))
        checked = as_channels([{"window": w} for w in windows], axes=names, shape=shape,
                              dtype=dtype)
        drawn = list(range(count))
    else:
        drawn = [i for i, channel in enumerate(checked) if channel.active]
        planes = [read(i) for i in drawn]
    drawn_shape = (math.ceil(shape[-2] / step), math.ceil(shape[-1] / step))
    rgb = _blend(drawn_shape, planes, [checked[i] for i in drawn])

    ax = _new_axes(ax)
    ax.imshow(rgb, interpolation="nearest")
    if title is None:
        if isinstance(image, MultiscaleImage):
            parts = [f"level {k}"]
            for a, position in at_level.items():
                parts.append(f"{a} = {position}"
                             + (f" ({positions[a]} at level 0)" if k else ""))
            title = ", ".join(parts)
        else:
            title = f"image{_format_key(selection)}"
    ax.set_title(title)
    ax.set_ylabel(names[-2])
    ax.set_xlabel(names[-1])
    if legend and drawn:
        handles = [Patch(facecolor=f"#{checked[i].color}", edgecolor="none",
                         label=checked[i].label or f"channel {i}") for i in drawn]
        ax.legend(handles=handles, loc="upper right", fontsize=8, framealpha=0.7)
    return ax


# -- plot_shard_grid and plot_layouts: chunks, shards and what they cost ----------------------


def _grid_step(name: str, value: object, own: object, what: str) -> tuple[int, int] | None:
    """A (y, x) chunk or shard shape: ``value`` if given, else the array's own (``own``)."""
    if value is None:
        if own is None:
            return None
        value = tuple(cast(Sequence[int], own))[-2:]
    return _pair(name, value, what)


def _region_bounds(region: object, shape: tuple[int, int]) -> tuple[tuple[int, int], ...]:
    """``region``, two slices with steps of 1, as ((y0, y1), (x0, x1)) inside ``shape``."""
    accepted = "a (rows, columns) pair of slices with step 1, e.g. (slice(0, 100), slice(50, 80))"
    if not _is_list_like(region) or len(cast(Sequence[object], region)) != 2 or not all(
        isinstance(s, slice) for s in cast(Sequence[object], region)
    ):
        raise TypeError(f"region={region!r} must be {accepted}")
    bounds = []
    for axis, (s, n) in enumerate(zip(cast(Sequence[slice], region), shape, strict=True)):
        for part in (s.start, s.stop, s.step):
            if part is not None and (_is_bool(part) or not isinstance(part, int | np.integer)):
                raise TypeError(f"region={region!r} must be {accepted}")
        start, stop, step = s.indices(n)
        if step != 1 or start >= stop:
            raise ValueError(
                f"region={region!r} must be {accepted}, holding at least one pixel of the "
                f"image along axis {axis} (of length {n})"
            )
        bounds.append((start, stop))
    return tuple(bounds)


def _is_bool(value: object) -> bool:
    return isinstance(value, bool | np.bool_)


def plot_shard_grid(
    image2d: Any,
    *,
    chunks: Sequence[int] | None = None,
    shards: Sequence[int] | None = None,
    region: Sequence[slice] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    max_display: int = 1024,
    cmap: str = "gray",
    chunk_color: str = "tab:orange",
    shard_color: str = "tab:red",
    **imshow_kwargs: Any,
) -> Axes:
    """Show a 2D image with its chunks, its shards (one file each), and what a region reads.

    Thin lines cut the image into its chunks, thick ones into its shards: the objects a
    store holds, one file each in a directory. Without shards every chunk is a file of
    its own. With ``region``, the chunks that a read of it decompresses are shaded and
    the files it opens outlined, and the title counts both.

    Parameters
    ----------
    image2d
        A 2D array-like. A zarr array brings its chunks and shards (``.chunks``,
        ``.shards``); only a strided view of it is read, for the background.
    chunks
        ``(chunk_y, chunk_x)``. Default: the array's own (required for numpy arrays).
    shards
        ``(shard_y, shard_x)``, a multiple of the chunk shape along each axis. Default:
        the array's own ``.shards`` if it has them, else none (one file per chunk).
    region
        ``(rows, columns)``, two slices with step 1 (``None`` bounds and negative ones
        as numpy reads them). Default: no region.
    ax
        Axes to draw on. Default: a new figure.
    title
        Title. Default: the chunk and shard shapes, the number of files and, with a
        region, the chunks and files it reads.
    max_display
        Images larger than this (pixels along an axis, an integer >= 1) are shown with
        a stride; coordinates stay in full-size pixels.
    cmap
        Matplotlib colormap of the image.
    chunk_color, shard_color
        Colours of the chunk lines (and the shaded chunks), and of the shard lines (and
        the outlined files).
    **imshow_kwargs
        Passed to :meth:`matplotlib.axes.Axes.imshow`.

    Returns
    -------
    matplotlib.axes.Axes
        The axes. Its first two ``collections`` are the chunk boundaries (horizontal,
        vertical), the next two the shard boundaries, image edges included. A shaded
        chunk is a patch labelled ``"chunk (i, j)"``, an outlined file one labelled
        ``"file (i, j)"`` (its position in the grid of shards), the region one labelled
        ``"region"``.

    Raises
    ------
    TypeError
        If an argument has the wrong type (chunks or shards that are not a pair of
        integers, a region that is not two slices of integers).
    ValueError
        If an argument has a wrong value (an image that is not 2D or has an empty axis,
        no chunks for a numpy array, shards that are not a multiple of the chunks, a
        region with a step or outside the image, a ``max_display`` below 1).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> ax = plot_shard_grid(np.zeros((100, 150)), chunks=(25, 25), shards=(50, 75),
    ...                      region=(slice(20, 30), slice(60, 80)))
    >>> ax.get_title()
    'chunks of 25 x 25, shards of 2 x 3 chunks: 4 files\\nthe region reads 4 chunks from 2 files'
    >>> sorted(p.get_label() for p in ax.patches if p.get_label().startswith("file"))
    ['file (0, 0)', 'file (0, 1)']
    >>> plt.close(ax.figure)
    """
    image2d = _as_array_like(image2d, "image2d")
    shape = tuple(image2d.shape)
    if len(shape) != 2:
        raise ValueError(f"image2d must be 2D, got shape {shape}; use one plane of it")
    _check_drawable("image2d", shape)
    height, width = int(shape[0]), int(shape[1])
    own_chunks = getattr(image2d, "chunks", None)
    if chunks is None and (not isinstance(own_chunks, tuple) or not all(
            isinstance(c, int | np.integer) for c in own_chunks)):
        raise ValueError(
            f"chunks=None needs a zarr array, which knows its chunks; got a "
            f"{type(image2d).__name__}: give chunks=(chunk_y, chunk_x)"
        )
    chunk_shape = _grid_step("chunks", chunks, own_chunks, "(chunk_y, chunk_x)")
    assert chunk_shape is not None  # given, or the zarr array's own
    shard_shape = _grid_step("shards", shards, getattr(image2d, "shards", None),
                             "(shard_y, shard_x)") or chunk_shape
    if any(s % c for s, c in zip(shard_shape, chunk_shape, strict=True)):
        raise ValueError(
            f"shards={shard_shape} must be a multiple of the chunks {chunk_shape} along "
            "each axis: a shard holds whole chunks"
        )
    bounds = None if region is None else _region_bounds(region, (height, width))
    max_display = _max_display(max_display)

    step = max(1, math.ceil(max(height, width) / max_display))
    plane = np.asarray(image2d[::step, ::step])
    ax = _new_axes(ax)
    extent = (-0.5, width - 0.5, height - 0.5, -0.5)
    ax.imshow(plane, cmap=cmap, extent=extent, **imshow_kwargs)

    def edges(n: int, size: int) -> npt.NDArray[np.int64]:
        return np.append(np.arange(0, n, size), n).astype(np.int64)

    for size, color, linewidth in ((chunk_shape, chunk_color, 0.6),
                                   (shard_shape, shard_color, 2.2)):
        ys, xs = edges(height, size[0]), edges(width, size[1])
        ax.hlines(ys - 0.5, -0.5, width - 0.5, colors=color, linewidths=linewidth)
        ax.vlines(xs - 0.5, -0.5, height - 0.5, colors=color, linewidths=linewidth)
    grid = [math.ceil(n / s) for n, s in zip((height, width), shard_shape, strict=True)]
    per_shard = [s // c for s, c in zip(shard_shape, chunk_shape, strict=True)]
    files = grid[0] * grid[1]
    plural = "" if files == 1 else "s"
    if shard_shape == chunk_shape:
        default_title = (f"chunks of {chunk_shape[0]} x {chunk_shape[1]}, no shards: "
                         f"{files:,} file{plural}, one per chunk")
    else:
        default_title = (f"chunks of {chunk_shape[0]} x {chunk_shape[1]}, shards of "
                         f"{per_shard[0]} x {per_shard[1]} chunks: {files:,} file{plural}")
    if bounds is not None:
        (y0, y1), (x0, x1) = bounds
        touched = [range(lo // c, (hi - 1) // c + 1)
                   for (lo, hi), c in zip(bounds, chunk_shape, strict=True)]
        for i in touched[0]:
            for j in touched[1]:
                cy, cx = i * chunk_shape[0], j * chunk_shape[1]
                ax.add_patch(Rectangle(
                    (cx - 0.5, cy - 0.5), min(chunk_shape[1], width - cx),
                    min(chunk_shape[0], height - cy), facecolor=chunk_color, alpha=0.35,
                    edgecolor="none", label=f"chunk ({i}, {j})"))
        opened = [range(lo // s, (hi - 1) // s + 1)
                  for (lo, hi), s in zip(bounds, shard_shape, strict=True)]
        for i in opened[0]:
            for j in opened[1]:
                sy, sx = i * shard_shape[0], j * shard_shape[1]
                ax.add_patch(Rectangle(
                    (sx - 0.5, sy - 0.5), min(shard_shape[1], width - sx),
                    min(shard_shape[0], height - sy), fill=False, edgecolor=shard_color,
                    linewidth=4.0, label=f"file ({i}, {j})"))
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False,
                               edgecolor="tab:cyan", linewidth=1.5, linestyle="--",
                               label="region"))
        n_chunks = len(touched[0]) * len(touched[1])
        n_files = len(opened[0]) * len(opened[1])
        default_title += (f"\nthe region reads {n_chunks:,} chunk{'' if n_chunks == 1 else 's'}"
                          f" from {n_files:,} file{'' if n_files == 1 else 's'}")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_title(default_title if title is None else title, fontsize=10)
    ax.set_ylabel("y (pixels)")
    ax.set_xlabel("x (pixels)")
    return ax


def _layout_rows(results: object, keys: Sequence[str]) -> list[tuple[str, list[float]]]:
    """``results`` as (layout, one value per key) rows, each value checked."""
    accepted = "a list of mappings, each with a 'layout' name and a number per metric"
    if not _is_list_like(results):
        raise TypeError(f"results={results!r} must be {accepted}")
    if len(cast(Sequence[object], results)) == 0:
        raise ValueError(f"results={results!r} must hold at least one layout")
    rows = []
    for i, row in enumerate(cast(Sequence[object], results)):
        if not isinstance(row, Mapping):
            raise TypeError(f"results[{i}]={row!r} must be a mapping ({accepted})")
        missing = [k for k in ("layout", *keys) if k not in row]
        if missing:
            raise ValueError(f"results[{i}] has no {missing}: {accepted}")
        values = [as_float(f"results[{i}][{k!r}]", row[k], minimum=0,
                           accepted="a finite number >= 0") for k in keys]
        rows.append((str(row["layout"]), values))
    return rows


def _metric_titles(metrics: object) -> dict[str, str]:
    accepted = "a mapping {key: panel title} or a list of keys"
    if isinstance(metrics, Mapping):
        titles = {str(k): str(v) for k, v in metrics.items()}
    elif _is_list_like(metrics) and all(isinstance(k, str) for k in
                                        cast(Sequence[object], metrics)):
        titles = {k: k for k in cast(Sequence[str], metrics)}
    else:
        raise TypeError(f"metrics={metrics!r} must be {accepted}")
    if not titles:
        raise ValueError(f"metrics={metrics!r} must name at least one metric")
    return titles


def _fmt_value(value: float) -> str:
    """An integer with thousands separators, anything else with 3 significant digits."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:.3g}"


def plot_layouts(
    results: Sequence[Mapping[str, Any]],
    metrics: Mapping[str, str] | Sequence[str],
    *,
    log: Sequence[str] = (),
    panel_width: float = 3.0,
    title: str | None = None,
) -> Figure:
    """Compare storage layouts side by side: one panel of bars per measured quantity.

    Each layout (no shards, shards of 2 x 2 chunks, ...) is a row, drawn in the same
    colour in every panel, with its value written at the end of its bar.

    Parameters
    ----------
    results
        One mapping per layout, top to bottom: a ``"layout"`` name and one number
        (finite, >= 0) per key of ``metrics``, e.g. ``{"layout": "2 x 2", "files": 65,
        "chunk_ms": 0.9}``. Other keys are ignored. A pandas DataFrame works as
        ``df.to_dict("records")``.
    metrics
        The keys to draw, one panel each, in order: a mapping ``{key: panel title}``
        (give the unit in the title) or a list of keys (the key is the title).
    log
        Keys whose panel has a logarithmic axis (their values must then be > 0), for
        counts that span orders of magnitude, such as files.
    panel_width
        Width of each panel in inches (a finite number > 0).
    title
        The figure's title. Default: none.

    Returns
    -------
    matplotlib.figure.Figure
        The figure: one axes per metric, each with one bar (``ax.patches``) labelled
        ``"LAYOUT: KEY"`` and one text per layout.

    Raises
    ------
    TypeError
        If ``results``, a row, a value, ``metrics`` or ``log`` has the wrong type (a
        string as a number, say).
    ValueError
        If ``results`` or ``metrics`` is empty, a row lacks a key, a value is negative,
        NaN or infinite, a key of ``log`` is not a metric or has a value of 0.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig = plot_layouts(
    ...     [{"layout": "no shards", "files": 257, "ms": 1.25},
    ...      {"layout": "4 x 4", "files": 17, "ms": 0.75}],
    ...     {"files": "files", "ms": "read one chunk (ms)"}, log=["files"])
    >>> [ax.get_title() for ax in fig.axes]
    ['files', 'read one chunk (ms)']
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['257', '17']
    >>> plt.close(fig)
    """
    titles = _metric_titles(metrics)
    keys = list(titles)
    rows = _layout_rows(results, keys)
    if isinstance(log, str) or not _is_list_like(log):
        raise TypeError(f"log={log!r} must be a list of metric keys")
    log_keys = set(cast(Sequence[object], log))
    unknown = sorted(str(k) for k in log_keys - set(keys))
    if unknown:
        raise ValueError(f"log={log!r} names {unknown}, which are not metrics: {keys}")
    for k in log_keys:
        if any(values[keys.index(str(k))] <= 0 for _, values in rows):
            raise ValueError(f"log={log!r}: the values of {k!r} must be > 0 on a log axis")
    panel_width = as_float("panel_width", panel_width, positive=True)

    n = len(rows)
    fig, axes = plt.subplots(1, len(keys), figsize=(panel_width * len(keys), 0.9 + 0.42 * n),
                             layout="constrained", sharey=True, squeeze=False)
    colors = _chunk_colors(n)
    positions = np.arange(n)
    for m, (ax, key) in enumerate(zip(axes[0], keys, strict=True)):
        values = np.array([row[1][m] for row in rows])
        for y, ((layout, _), value) in enumerate(zip(rows, values, strict=True)):
            bar = ax.barh(y, value, color=colors[y])
            bar.patches[0].set_label(f"{layout}: {key}")
        if key in log_keys:
            ax.set_xscale("log")
            low, high = float(values.min()), float(values.max())
            ax.set_xlim(low / 2, high * 8)
        else:
            ax.set_xlim(0, float(values.max()) * 1.45 or 1.0)
        for y, value in enumerate(values):
            ax.annotate(_fmt_value(float(value)), (float(value), y), xytext=(3, 0),
                        textcoords="offset points", va="center", fontsize=8)
        ax.set_title(titles[key], fontsize=9)
        ax.tick_params(labelsize=8)
    axes[0][0].set_yticks(positions, [layout for layout, _ in rows])
    axes[0][0].invert_yaxis()  # the first layout at the top, like a table
    if title is not None:
        fig.suptitle(title)
    return fig


# ----------------------------------------------------------------------------
# plot_requests_by_chunk_size, plot_time_by_latency: reading over a network
# ----------------------------------------------------------------------------


def _counts(name: str, value: object, n: int | None, what: str, *, each: str = "chunk side",
            positive: bool = False) -> list[float]:
    """A list of numbers >= 0, or > 0 (``n`` of them, if given), checked one by one."""
    if not _is_list_like(value):
        raise TypeError(f"{name}={value!r} must be a list of {what}")
    items = list(cast(Sequence[object], value))
    if n is not None and len(items) != n:
        raise ValueError(f"{name}={value!r} must hold {n} values, one per {each}")
    bound = "> 0" if positive else ">= 0"
    return [as_float(f"{name}[{i}]", v, minimum=None if positive else 0, positive=positive,
                     accepted=f"a finite number {bound} ({what})")
            for i, v in enumerate(items)]


def plot_requests_by_chunk_size(
    chunk_sides: Sequence[int],
    requests: Sequence[int],
    bytes_read: Sequence[float],
    *,
    needed_bytes: float | None = None,
    title: str | None = None,
) -> Figure:
    """What one read costs over a network, against the chunk size: requests and bytes.

    Two panels share the horizontal axis, the side of a square chunk in pixels (on a
    logarithmic scale, one tick per side given): on the left the number of HTTP
    requests the read made, on the right the bytes the server sent, in MiB, both from
    zero, every point labelled with its value.

    Parameters
    ----------
    chunk_sides
        The chunk sides measured, in pixels: integers >= 1, in increasing order.
    requests
        The number of requests at each chunk side (from a server's log).
    bytes_read
        The bytes sent at each chunk side.
    needed_bytes
        Optional: the bytes of the pixels the read asked for (uncompressed), drawn as a
        dashed line in the bytes panel.
    title
        The figure's title (None for none).

    Returns
    -------
    matplotlib.figure.Figure
        The figure; its two axes are ``fig.axes`` (requests, then bytes), one line of
        points in each.

    Raises
    ------
    TypeError
        If an argument is not a list of numbers, or a chunk side is not an integer.
    ValueError
        If the lists are empty or of different lengths, the chunk sides are not
        increasing integers >= 1, or a count is not a finite number > 0.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig = plot_requests_by_chunk_size([64, 256, 1024], [81, 9, 4],
    ...                                   [400_000, 380_000, 2_600_000],
    ...                                   needed_bytes=512 * 512)
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['requests', 'bytes sent (MiB)']
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['81', '9', '4']
    >>> plt.close(fig)
    """
    if not _is_list_like(chunk_sides):
        raise TypeError(f"chunk_sides={chunk_sides!r} must be a list of chunk sides (pixels)")
    sides = [as_int(f"chunk_sides[{i}]", s, minimum=1,
                    accepted="an integer >= 1 (the side of a chunk, in pixels)")
             for i, s in enumerate(cast(Sequence[object], chunk_sides))]
    if not sides:
        raise ValueError("chunk_sides must hold at least one chunk side")
    if any(b <= a for a, b in itertools.pairwise(sides)):
        raise ValueError(f"chunk_sides={chunk_sides!r} must be increasing")
    # > 0: a read makes a request and is sent something.
    counts = _counts("requests", requests, len(sides), "requests", positive=True)
    sent = _counts("bytes_read", bytes_read, len(sides), "bytes", positive=True)
    needed = None if needed_bytes is None else as_float(
        "needed_bytes", needed_bytes, positive=True, accepted="None or a number of bytes > 0")

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained",
                                      sharex=True)
    mib = [n / 2**20 for n in sent]
    for ax, values, color, fmt in ((left, counts, "tab:blue", "{:.0f}"),
                                   (right, mib, "tab:orange", "{:.2f}")):
        ax.plot(sides, values, marker="o", color=color)
        for x, y in zip(sides, values, strict=True):
            ax.annotate(fmt.format(y), (x, y), textcoords="offset points", xytext=(0, 7),
                        ha="center", fontsize=9)
        ax.set_xscale("log", base=2)
        ax.grid(True, which="major", alpha=0.3)
        ax.set_xlabel("chunk side (pixels)")
    # Linear scales from zero, so that the heights compare as the costs do.
    left.set_ylim(0, max(counts) * 1.2)
    right.set_ylim(0, max(mib + ([] if needed is None else [needed / 2**20])) * 1.2)
    left.set_xticks(sides, [str(s) for s in sides])
    left.minorticks_off()
    right.minorticks_off()
    left.set_ylabel("requests")
    right.set_ylabel("bytes sent (MiB)")
    left.set_title("requests", fontsize=10)
    right.set_title("bytes sent", fontsize=10)
    if needed is not None:
        right.axhline(needed / 2**20, color="0.4", linestyle="--", linewidth=1,
                      label="the pixels asked for")
        right.legend(fontsize=8, loc="upper left")
    if title is not None:
        fig.suptitle(title)
    return fig


def plot_time_by_latency(
    latencies_s: Sequence[float],
    times_s: Mapping[str, Sequence[float]],
    *,
    rounds: Mapping[str, int] | None = None,
    ax: Axes | None = None,
    title: str | None = "Time of each read against the latency",
) -> Axes:
    """The time of reads against the network's latency, in milliseconds.

    One line of points per read: its measured time at each latency. With ``rounds``,
    each read also gets a dashed line, ``rounds x latency``: the time it must take at
    least if it waits for that many round trips one after another (its number of rounds
    is written in the legend, after its name).

    Parameters
    ----------
    latencies_s
        The latencies measured, in seconds (>= 0), e.g. a server's fixed delay per
        request.
    times_s
        ``{read: [seconds at each latency]}``: the measured times, one list per read,
        as long as ``latencies_s``. Lines are drawn (and listed in the legend) in this
        order.
    rounds
        Optional ``{read: round trips}`` (integers >= 0) for some or all of the reads.
    ax
        Axes to draw on. Default: a new figure.
    title
        Title (None for none).

    Returns
    -------
    matplotlib.axes.Axes
        The axes: one line per read (``ax.lines``), then, with ``rounds``, one dashed
        line per entry of it and an empty line that names them in the legend.

    Raises
    ------
    TypeError
        If an argument has the wrong type (a string as a time, a float as a number of
        rounds...).
    ValueError
        If there is no latency or no read, a list has the wrong length, a time or a
        latency is negative, NaN or infinite, or ``rounds`` names a read that is not in
        ``times_s``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> ax = plot_time_by_latency([0, 0.02, 0.05],
    ...                           {"one round": [0.01, 0.03, 0.06],
    ...                            "five rounds": [0.02, 0.12, 0.27]},
    ...                           rounds={"one round": 1, "five rounds": 5})
    >>> [line.get_label() for line in ax.lines][:2]
    ['one round (1 round)', 'five rounds (5 rounds)']
    >>> len(ax.lines)
    5
    >>> plt.close(ax.figure)
    """
    latencies = _counts("latencies_s", latencies_s, None, "seconds")
    if not latencies:
        raise ValueError("latencies_s must hold at least one latency")
    if not isinstance(times_s, Mapping):
        raise TypeError(f"times_s={times_s!r} must be a mapping {{read: [seconds, ...]}}")
    if not times_s:
        raise ValueError("times_s must hold at least one read")
    times = {str(name): _counts(f"times_s[{name!r}]", values, len(latencies), "seconds",
                                each="latency")
             for name, values in times_s.items()}
    expected: dict[str, int] = {}
    if rounds is not None:
        if not isinstance(rounds, Mapping):
            raise TypeError(f"rounds={rounds!r} must be None or a mapping {{read: rounds}}")
        for name, value in rounds.items():
            if str(name) not in times:
                raise ValueError(f"rounds names {name!r}, which is not a read of times_s "
                                 f"({sorted(times)})")
            expected[str(name)] = as_int(f"rounds[{name!r}]", value, minimum=0,
                                         accepted="an integer >= 0 (round trips)")

    ax = _new_axes(ax, figsize=(7, 4.2))
    ms = [1000 * s for s in latencies]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    color_of = {name: colors[i % len(colors)] for i, name in enumerate(times)}
    for name, values in times.items():
        n = expected.get(name)
        label = name if n is None else f"{name} ({n} round{'' if n == 1 else 's'})"
        ax.plot(ms, [1000 * t for t in values], marker="o", color=color_of[name],
                label=label)
    span = np.linspace(0, max(ms), 50)
    for name, n in expected.items():
        # Named in the legend once, by the grey entry below, not once per read.
        ax.plot(span, n * span, linestyle="--", linewidth=1, color=color_of[name],
                label=f"_{name}: {n} x latency")
    if expected:
        ax.plot([], [], linestyle="--", linewidth=1, color="0.4",
                label="rounds x latency, the least")
    ax.set_xlabel("latency per request (ms)")
    ax.set_ylabel("time of the read (ms)")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    if title is not None:
        ax.set_title(title)
    return ax


# ----------------------------------------------------------------------------
# Recorded benchmark runs (benchmarks/results/*.json, the book's benchmarks appendix)
# ----------------------------------------------------------------------------

# The layout of a benchmark record that :func:`read_benchmark` reads (benchmarks/_record.py).
_BENCHMARK_FORMAT = 1

_NO_RUN = "No run of this benchmark is recorded."
_RECORD_TEXT = ("benchmark", "title", "date", "command")
_TARGET_TEXT = ("measure", "result", "target")
_RUN_LISTS = ("seconds", "cpu", "peak_mib")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_record(record: object, where: str) -> dict[str, Any]:
    """``record`` if it is a benchmark record of format 1, else a ValueError saying why.

    ``where`` names the record in the message (its file, or ``record``).
    """
    def bad(what: str) -> ValueError:
        return ValueError(f"{where} is not a benchmark record of format {_BENCHMARK_FORMAT} "
                          f"(as benchmarks/_record.py writes): {what}")

    if not isinstance(record, Mapping):
        raise bad(f"expected a JSON object, got {type(record).__name__}")
    if record.get("format") != _BENCHMARK_FORMAT:
        raise bad(f"its format is {record.get('format')!r}, expected {_BENCHMARK_FORMAT}")
    for key in _RECORD_TEXT:
        if not isinstance(record.get(key), str):
            raise bad(f"{key!r} must be a string, got {record.get(key)!r}")
    if "seconds" in record and not _is_number(record["seconds"]):
        raise bad(f"'seconds' must be a number, got {record['seconds']!r}")
    for key in ("machine", "versions"):
        if not isinstance(record.get(key), Mapping):
            raise bad(f"{key!r} must be an object, got {record.get(key)!r}")
    for key in ("targets", "runs"):
        if not isinstance(record.get(key), list):
            raise bad(f"{key!r} must be a list, got {record.get(key)!r}")
    for i, target in enumerate(record["targets"]):
        if not isinstance(target, Mapping):
            raise bad(f"targets[{i}] must be an object, got {target!r}")
        for key in _TARGET_TEXT:
            if not isinstance(target.get(key), str):
                raise bad(f"targets[{i}][{key!r}] must be a string, got {target.get(key)!r}")
        if target.get("met") not in (True, False, None):
            raise bad(f"targets[{i}]['met'] must be true, false or null, "
                      f"got {target.get('met')!r}")
        if target.get("value") is not None and not _is_number(target["value"]):
            raise bad(f"targets[{i}]['value'] must be a number or null, "
                      f"got {target['value']!r}")
    for i, run in enumerate(record["runs"]):
        if not isinstance(run, Mapping):
            raise bad(f"runs[{i}] must be an object, got {run!r}")
        for key in ("contender", "config"):
            if not isinstance(run.get(key), str):
                raise bad(f"runs[{i}][{key!r}] must be a string, got {run.get(key)!r}")
        for key in _RUN_LISTS:
            values = run.get(key, [])
            if not isinstance(values, list) or not all(map(_is_number, values)):
                raise bad(f"runs[{i}][{key!r}] must be a list of numbers, got {values!r}")
        if not isinstance(run.get("extra", {}), Mapping):
            raise bad(f"runs[{i}]['extra'] must be an object, got {run.get('extra')!r}")
    return dict(record)


def read_benchmark(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Read a benchmark's recorded run, or ``None`` when no run is recorded.

    The benchmarks (``benchmarks/bench_*.py``) each write their last run to one JSON
    file, ``benchmarks/results/<name>.json``, with ``benchmarks/_record.py``: the date,
    the command, the machine and its load average, the versions of the packages, the
    issue's targets (``measure``, ``result``, ``value``, ``target``, ``met``) and every
    run of every contender (``contender``, ``config``, and per repeat ``seconds``,
    ``cpu`` and ``peak_mib``, with more numbers in ``extra``). This reads such a file
    without importing the benchmarks, and checks its layout.

    Parameters
    ----------
    path
        The JSON file, e.g. ``"../benchmarks/results/pyramid.json"`` from a chapter.

    Returns
    -------
    dict or None
        The record, as the JSON holds it; ``None`` if there is no file at ``path``.

    Raises
    ------
    TypeError
        If ``path`` is not a string or path.
    ValueError
        If ``path`` is not a file, not JSON, or not a record of format 1 (a key missing
        or of the wrong type; the message names it).

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> read_benchmark(folder / "pyramid.json") is None
    True
    >>> record = {"format": 1, "benchmark": "demo", "title": "a demo",
    ...           "date": "2026-01-01T00:00:00+00:00", "command": "make bench",
    ...           "machine": {}, "versions": {}, "targets": [], "runs": []}
    >>> _ = (folder / "demo.json").write_text(json.dumps(record))
    >>> read_benchmark(folder / "demo.json")["title"]
    'a demo'
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a string or path, got {type(path)!r}")
    file = Path(path)
    if not file.exists():
        return None
    if not file.is_file():
        raise ValueError(f"path={str(file)!r} must be a benchmark's JSON file, "
                         "not a folder")
    try:
        record = json.loads(file.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{file} is not a benchmark record: it is not JSON ({error})") from None
    return _check_record(record, str(file))


def _date(text: str) -> str:
    """An ISO date and time as ``2026-12-02 18:40 UTC`` (the text itself if it is not one)."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return text
    if when.utcoffset() is not None:
        return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return when.strftime("%Y-%m-%d %H:%M")


def _number(value: object, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if _is_number(value) else "—"


class BenchmarkTable:
    """A table of a recorded benchmark run, shown as HTML in a notebook and a book page.

    :func:`benchmark_table` makes it. ``str(table)`` (and its ``repr``, what a plain
    console prints) is the same table as aligned text.

    Attributes
    ----------
    columns : tuple of str
        The column headings.
    rows : tuple of tuple of str
        The cells, one tuple per row, as printed.
    note : str
        A sentence shown instead of the table when there are no rows.
    """

    def __init__(self, columns: Sequence[str], rows: Sequence[Sequence[str]],
                 note: str = "") -> None:
        self.columns = tuple(columns)
        self.rows = tuple(tuple(row) for row in rows)
        self.note = note

    def _repr_html_(self) -> str:
        if not self.rows:
            return f"<p>{html.escape(self.note)}</p>"
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
            for row in self.rows)
        return (f'<table class="table"><thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table>")

    def __str__(self) -> str:
        if not self.rows:
            return self.note
        widths = [max(len(c), *(len(row[i]) for row in self.rows))
                  for i, c in enumerate(self.columns)]
        lines = [self.columns, tuple("-" * w for w in widths), *self.rows]
        return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True))
                         .rstrip() for line in lines)

    __repr__ = __str__


def _run_rows(record: Mapping[str, Any]) -> list[tuple[str, str]]:
    machine = record["machine"]
    memory = machine.get("memory_gib")
    cores = machine.get("cores")
    rows = [
        ("date", _date(record["date"])),
        ("command", record["command"]),
        ("task", record["title"]),
    ]
    if _is_number(record.get("seconds")):
        rows.append(("whole run", f"{record['seconds'] / 60:.1f} min, inputs included"))
    rows.append(("machine", ", ".join([
        f"{cores} cores" if cores is not None else "cores unknown",
        f"{memory} GiB of memory" if memory is not None else "memory unknown",
        str(machine.get("cpu", "CPU unknown")),
    ])))
    if machine.get("system") or machine.get("python"):
        rows.append(("system", ", ".join(
            str(part) for part in (machine.get("system"),
                                   machine.get("python") and f"Python {machine['python']}")
            if part)))
    loads = machine.get("load_average")
    if isinstance(loads, list) and len(loads) == 2:
        start, end = (", ".join(_number(x) for x in load) if isinstance(load, list) else "—"
                      for load in loads)
        rows.append(("load average (1, 5, 15 min)", f"{start} at the start; {end} at the end"))
    if record["versions"]:
        rows.append(("versions", ", ".join(f"{name} {version}" for name, version
                                           in record["versions"].items())))
    return rows


def _extra_values(run: Mapping[str, Any], key: str) -> list[float]:
    """``run``'s numbers under ``key`` (in ``extra`` or beside it): a list, or one number."""
    value = run.get("extra", {}).get(key, run.get(key))
    values = value if isinstance(value, list) else [value]
    return [float(v) for v in values if _is_number(v)]


def _mb_per_cpu_second(run: Mapping[str, Any]) -> list[float]:
    """Each repeat's megabytes (MB/s times seconds) per second of CPU time."""
    values = _extra_values(run, "mb_per_s"), run["seconds"], run.get("cpu", [])
    if len({len(v) for v in values}) != 1:
        return []  # not one of each per repeat
    return [mbps * seconds / cpu for mbps, seconds, cpu in zip(*values, strict=True)
            if cpu > 0]


def benchmark_table(record: Mapping[str, Any] | None, which: str = "targets") -> BenchmarkTable:
    """One table of a recorded benchmark run, to show in a notebook or a page.

    Parameters
    ----------
    record
        A record from :func:`read_benchmark` (or a dict of the same layout), or ``None``
        for a benchmark with no recorded run: the table then says so.
    which
        ``"targets"``: the issue's targets, one row each (measure, result, target, met).
        ``"run"``: how the run was made (date, command, task, machine, load average,
        versions). ``"runs"``: every contender in every configuration (repeats, best
        wall and CPU time, highest peak memory, best MB/s where recorded).

    Returns
    -------
    BenchmarkTable
        Shown as an HTML table by Jupyter; ``str()`` gives aligned text.

    Raises
    ------
    TypeError
        If ``which`` is not a string.
    ValueError
        If ``which`` is not one of the three, or ``record`` is not a benchmark record.

    Examples
    --------
    >>> record = {"format": 1, "benchmark": "demo", "title": "a demo",
    ...           "date": "2026-01-01T00:00:00+00:00", "command": "make bench",
    ...           "machine": {"cores": 2}, "versions": {"zarr": "3.1.6"},
    ...           "targets": [{"measure": "speed", "result": "1.2x", "value": 1.2,
    ...                        "target": ">= 1.0x", "met": True}],
    ...           "runs": []}
    >>> print(benchmark_table(record))
    measure  result  target   met
    -------  ------  -------  ---
    speed    1.2x    >= 1.0x  yes
    >>> print(benchmark_table(None))
    No run of this benchmark is recorded.
    """
    if not isinstance(which, str):
        raise TypeError(f"which must be a string, got {type(which)!r}")
    kinds = ("targets", "run", "runs")
    if which not in kinds:
        raise ValueError(f"which={which!r} must be one of {kinds}")
    if record is None:
        return BenchmarkTable((), (), _NO_RUN)
    record = _check_record(record, "record")
    if which == "run":
        return BenchmarkTable(("of the run", "as recorded"), _run_rows(record))
    if which == "targets":
        met = {True: "yes", False: "no", None: "not measured"}
        return BenchmarkTable(
            ("measure", "result", "target", "met"),
            [(t["measure"], t["result"], t["target"], met[t.get("met")])
             for t in record["targets"]],
            "This run recorded no targets.")
    with_mbps = any(_extra_values(run, "mb_per_s") for run in record["runs"])
    columns = ["contender", "configuration", "repeats", "best time (s)", "best CPU (s)",
               "highest peak RSS (MiB)"] + (["best MB/s"] if with_mbps else [])
    rows = []
    for run in record["runs"]:
        seconds, cpu, peak = (run.get(key, []) for key in _RUN_LISTS)
        row = [run["contender"], run["config"], str(len(seconds)) if seconds else "failed",
               _number(min(seconds, default=None)), _number(min(cpu, default=None)),
               _number(max(peak, default=None), 0)]
        if with_mbps:
            row.append(_number(max(_extra_values(run, "mb_per_s"), default=None), 0))
        rows.append(row)
    return BenchmarkTable(columns, rows, "This run recorded no runs.")


def plot_benchmark(record: Mapping[str, Any] | None, *, title: str | None = None) -> Figure:
    """Draw every run of a recorded benchmark: time, CPU time and peak memory.

    One panel per measure the record holds: the wall time and the CPU time in seconds
    (or, when every run carries ``mb_per_s``, the throughput in MB/s and the MB per
    CPU-second) and the peak resident memory (RSS). In each panel the configurations are
    groups along x and the contenders bars of one colour each: a bar is the value the
    benchmark's table reports (the best time, the best throughput, the *highest* peak)
    and a dot is each repeat, so the spread between runs shows. A panel whose values
    span more than a factor of 30 has a logarithmic axis.

    Parameters
    ----------
    record
        A record from :func:`read_benchmark` (or a dict of the same layout), or ``None``
        for a benchmark with no recorded run: the figure then says so, and draws nothing
        else.
    title
        The figure's title. Default: the record's ``title`` and date.

    Returns
    -------
    matplotlib.figure.Figure
        The figure; its axes are the panels, top to bottom, each with one bar container
        per contender (labelled with the contender's name).

    Raises
    ------
    TypeError
        If ``title`` is not a string or None.
    ValueError
        If ``record`` is not a benchmark record.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> record = {"format": 1, "benchmark": "demo", "title": "a demo",
    ...           "date": "2026-01-01T00:00:00+00:00", "command": "make bench",
    ...           "machine": {}, "versions": {}, "targets": [], "runs": [
    ...     {"contender": "ours", "config": "small", "seconds": [2.1, 2.3],
    ...      "cpu": [3.0, 3.1], "peak_mib": [210, 215]},
    ...     {"contender": "theirs", "config": "small", "seconds": [2.6, 2.5],
    ...      "cpu": [4.0, 4.2], "peak_mib": [300, 290]}]}
    >>> fig = plot_benchmark(record)
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['wall time (s)', 'CPU time (s)', 'peak RSS (MiB)']
    >>> [float(bar.get_height()) for bar in fig.axes[0].containers[0]]
    [2.1]
    >>> plt.close(fig)
    """
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a string or None, got {type(title)!r}")
    if record is None:
        fig, ax = plt.subplots(figsize=(8.0, 1.6))
        ax.set_axis_off()
        ax.text(0.5, 0.5, _NO_RUN + "\nRun it (make bench) to record one.",
                ha="center", va="center", fontsize=11, transform=ax.transAxes)
        if title is not None:
            ax.set_title(title)
        return fig
    record = _check_record(record, "record")
    runs = [run for run in record["runs"] if run.get("seconds")]
    # (label, the repeats of a run, the reduction a bar shows)
    measures: list[tuple[str, Any, Any]] = []
    throughput = bool(runs) and all(_extra_values(run, "mb_per_s") for run in runs)
    if throughput:
        measures.append(("MB/s (higher is better)",
                         lambda run: _extra_values(run, "mb_per_s"), max))
    else:
        measures.append(("wall time (s)", lambda run: run["seconds"], min))
    if any(run.get("cpu") for run in runs) and throughput:
        # Contenders may write different amounts (a part of the stream): per CPU-second.
        measures.append(("MB per CPU-second", _mb_per_cpu_second, max))
    elif any(run.get("cpu") for run in runs):
        measures.append(("CPU time (s)", lambda run: run.get("cpu", []), min))
    if any(run.get("peak_mib") for run in runs):
        measures.append(("peak RSS (MiB)", lambda run: run.get("peak_mib", []), max))

    configs = list(dict.fromkeys(run["config"] for run in runs))
    contenders = list(dict.fromkeys(run["contender"] for run in runs))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    width = 0.8 / max(len(contenders), 1)
    # Each group centred on its configuration, with the contenders it has, in order.
    in_config = {config: [c for c in contenders
                          if any(r["config"] == config and r["contender"] == c for r in runs)]
                 for config in configs}
    fig, axes = plt.subplots(len(measures), 1, figsize=(8.0, 0.6 + 2.4 * len(measures)),
                             sharex=True, squeeze=False)
    for ax, (label, values_of, best) in zip(axes[:, 0], measures, strict=True):
        shown: list[float] = []
        for k, contender in enumerate(contenders):
            xs, heights = [], []
            for run in runs:
                values = values_of(run)
                if run["contender"] != contender or not values:
                    continue
                group = in_config[run["config"]]
                x = (configs.index(run["config"])
                     + (group.index(contender) - (len(group) - 1) / 2) * width)
                xs.append(x)
                heights.append(best(values))
                ax.plot([x] * len(values), values, linestyle="none", marker="o",
                        markersize=3.5, color="0.15", zorder=3)
                shown += values
            ax.bar(xs, heights, width=width * 0.9, color=colors[k % len(colors)],
                   label=contender)
        positive = [v for v in shown if v > 0]
        if positive and max(positive) > 30 * min(positive):
            ax.set_yscale("log")
        ax.set_ylabel(label)
        ax.grid(True, axis="y", alpha=0.3)
    last = axes[-1, 0]
    last.set_xticks(range(len(configs)), configs, fontsize=8)
    last.set_xlim(-0.5, len(configs) - 0.5)
    axes[0, 0].plot([], [], linestyle="none", marker="o", markersize=3.5, color="0.15",
                    label="each repeat")
    axes[0, 0].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle(title if title is not None
                 else f"{record['title']}\n(recorded {_date(record['date'])})", fontsize=10)
    fig.tight_layout()
    return fig
