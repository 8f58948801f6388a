"""Matplotlib figures used by the chapters.

Every function takes any array-like: numpy, zarr or dask arrays. They read only what
they draw (one plane of a volume, a strided view of a large image), so they work on
arrays far bigger than memory. Single-panel functions take an optional ``ax=`` and
return the :class:`~matplotlib.axes.Axes` they drew on; :func:`plot_levels` returns
the :class:`~matplotlib.figure.Figure`. Nothing calls ``plt.show()``: in a notebook the
figure appears at the end of the cell, in a script call ``plt.show()`` or
``fig.savefig(...)`` yourself.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, cast

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from data_helpers._checks import as_bool, as_float, as_int, as_ints

__all__ = [
    "label_colors",
    "plot_chunk_grid",
    "plot_chunks_touched",
    "plot_codec_bytes",
    "plot_labels",
    "plot_levels",
    "plot_pixel_footprints",
    "plot_profile",
    "plot_slice",
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
    panel_size: float = 3.0,
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
