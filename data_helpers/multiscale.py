"""Opening and navigating an existing OME-Zarr multiscale image, on disk or over HTTP.

`MultiscaleImage` reads the metadata of any OME-Zarr 0.4 (Zarr v2) or 0.5 (Zarr v3)
multiscale image, ours or another tool's, through `data_helpers.ome.read_multiscale`,
and answers the questions a reader asks of a pyramid: how many levels, what shape,
which level fits my screen, where is this region at another resolution?

An image at an ``http://`` or ``https://`` URL is read through fsspec (which needs
aiohttp), read-only, with the same API: each metadata document and each chunk is one
HTTP request (and each metadata document is asked for once), and a chunk inside a shard
is read with HTTP ``Range`` requests (the shard's index, then the chunk's bytes),
without fetching the rest of the shard.

Coordinates follow OME-Zarr: along each axis, pixel ``i`` of a level with scale ``s``
and translation ``t`` has its *centre* at ``t + i * s`` and covers the interval
``[t + (i - 0.5) * s, t + (i + 0.5) * s)`` in physical units.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import zarr
import zarr.errors
import zarr.storage
from rich.console import Console
from rich.table import Table

from data_helpers import ome
from data_helpers._checks import as_int, as_path, as_url, is_url

__all__ = ["MultiscaleImage"]

# Relative tolerance under which a computed pixel edge counts as an exact integer: float
# round-off must not pull in a neighbour that only touches the region.
_EDGE_TOLERANCE = 1e-9

# The HTML fragment `MultiscaleImage._repr_html_` returns: the table as preformatted text,
# in the fonts and spacing rich uses for its own output in Jupyter.
_HTML_FORMAT = (
    "<pre style=\"white-space: pre; overflow-x: auto; line-height: normal; "
    "font-family: Menlo, 'DejaVu Sans Mono', consolas, 'Courier New', monospace\">"
    "{code}</pre>"
)
# Wide enough for a 5D image's table; a narrower table takes only the width it needs.
_HTML_WIDTH = 200


class MultiscaleImage:
    """A multiscale OME-Zarr image opened for reading.

    Create it with `MultiscaleImage.open`. Level ``0`` is the full resolution; every
    method taking a level also accepts negative numbers, ``-1`` being the smallest.

    An image opened from a URL is read-only, as every image opened here is: its levels
    refuse to be written to (`ValueError`), and so do the package's writers, such as
    `data_helpers.labels.write_labels`, which write only to a local disk.

    Attributes
    ----------
    path
        Where the image is stored, or None for a group that is not on a local disk.
    url
        The URL the image was read from (``http://`` or ``https://``), or None for an
        image that is not read over HTTP.
    metadata
        The multiscale metadata as `ome.MultiscaleMetadata` (scales and translations
        already combine each level's transforms with the global ones).

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from data_helpers.pyramid import build_pyramid
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = build_pyramid(np.ones((64, 128), np.uint8), f"{tmp}/a.zarr", axes="yx",
    ...                       chunks=(32, 32))
    ...     image = MultiscaleImage.open(f"{tmp}/a.zarr")
    ...     print(image.levels, image.axes, image.shapes)
    3 ('y', 'x') [(64, 128), (32, 64), (16, 32)]
    """

    def __init__(
        self, group: zarr.Group, metadata: ome.MultiscaleMetadata, path: Path | None = None,
        url: str | None = None, *, arrays: Mapping[str, zarr.Array[Any]] | None = None,
    ) -> None:
        self._group = group
        self.metadata = metadata
        self.path = path
        self.url = url
        # Levels already opened (by `open`, while it read the metadata) are not opened
        # again: over HTTP each opening is a request for the level's metadata.
        opened = arrays or {}
        self._arrays = tuple(self._array(p, opened.get(p)) for p in metadata.paths)

    def _array(self, path: str, opened: zarr.Array[Any] | None = None) -> zarr.Array[Any]:
        array = self._group.get(path) if opened is None else opened
        if not isinstance(array, zarr.Array):
            raise ValueError(f"level path {path!r} of the multiscale is not a Zarr array")
        if array.ndim != len(self.metadata.axes):
            raise ValueError(
                f"level {path!r} has {array.ndim} dimensions but the metadata names "
                f"{len(self.metadata.axes)} axes {self.metadata.axes}"
            )
        return array

    @classmethod
    def open(cls, path: str | os.PathLike[str] | zarr.Group) -> MultiscaleImage:
        """Open the first multiscale of an OME-Zarr 0.4 or 0.5 image group.

        Only the image is read: its metadata and the arrays of its levels. Other
        members of the group, such as a ``labels`` group, play no part: one that
        ome-zarr-models would refuse does not make the image unreadable.

        Parameters
        ----------
        path
            The image's directory, the URL of an image served over HTTP (a str starting
            with ``http://`` or ``https://``, read through fsspec), or an already open
            Zarr group.

        Raises
        ------
        FileNotFoundError
            When nothing is at ``path`` (for a URL: the server answers 404 for every
            Zarr metadata document, ``zarr.json``, ``.zgroup``, ...).
        ValueError
            When the group is not a valid OME-Zarr multiscale image, or a URL is not one
            that can be read: another scheme than HTTP(S), no host, a query, a server
            that cannot be reached or that refuses the request.
        ImportError
            For a URL, when fsspec or aiohttp is not installed.

        Examples
        --------
        >>> import tempfile
        >>> import numpy as np
        >>> from data_helpers.pyramid import build_pyramid
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     _ = build_pyramid(np.zeros((8, 64, 64), np.uint16), f"{tmp}/v.zarr",
        ...                       chunks=(8, 32, 32), zarr_version=3)
        ...     image = MultiscaleImage.open(f"{tmp}/v.zarr")
        ...     print(image.version, image.dtype, image.levels)
        0.5 uint16 2

        Over HTTP (here from a server on this computer, `data_helpers.serve`):

        >>> from data_helpers.serve import serve_directory
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     _ = build_pyramid(np.ones((8, 64, 64), np.uint16), f"{tmp}/v.zarr",
        ...                       chunks=(8, 32, 32), zarr_version=3)
        ...     with serve_directory(tmp) as server:
        ...         image = MultiscaleImage.open(f"{server.url}/v.zarr")
        ...         print(image.url == f"{server.url}/v.zarr", image.path, image.shapes)
        ...         print(int(image.to_dask(1).sum().compute()))
        True None [(8, 64, 64), (4, 32, 32)]
        4096
        """
        url: str | None = None
        if isinstance(path, zarr.Group):
            group, where, url = path, _local_path(path), _url(path)
        elif is_url(path):
            url = as_url("path", path)
            group, where = _open_url(url), None
        else:
            if not isinstance(path, str | os.PathLike):
                raise TypeError(f"path={path!r} must be a str, a pathlib.Path or a zarr.Group")
            where = as_path("path", path)
            if not where.exists():
                raise FileNotFoundError(f"no OME-Zarr image at {str(where)!r}")
            try:
                group = zarr.open_group(str(where), mode="r")
            except Exception as error:  # zarr raises several types for "not a group"
                raise ValueError(f"{str(where)!r} is not a Zarr group: {error}") from error
        try:
            metadata, arrays = ome._read_multiscale(group)
        except Exception as error:  # pydantic's ValidationError, zarr's errors, KeyError...
            named = f"path={url!r}" if url is not None else repr(str(where or group))
            raise ValueError(
                f"{named} is not an OME-Zarr 0.4 or 0.5 multiscale image: {error}"
            ) from error
        return cls(group, metadata, where, url, arrays=arrays)

    # -- what the image is -----------------------------------------------------------

    @property
    def version(self) -> str:
        """The OME-Zarr version, ``"0.4"`` or ``"0.5"``."""
        return self.metadata.version

    @property
    def axes(self) -> tuple[str, ...]:
        """The axis names, e.g. ``('z', 'y', 'x')``."""
        return self.metadata.axes

    @property
    def levels(self) -> int:
        """The number of levels."""
        return len(self._arrays)

    @property
    def shapes(self) -> list[tuple[int, ...]]:
        """The shape of every level, level 0 first."""
        return [tuple(a.shape) for a in self._arrays]

    @property
    def chunks(self) -> list[tuple[int, ...]]:
        """The chunk shape of every level (the inner chunks when sharded)."""
        return [tuple(a.chunks) for a in self._arrays]

    @property
    def dtype(self) -> np.dtype[Any]:
        """The data type of level 0 (every level of a valid image shares it)."""
        return np.dtype(self._arrays[0].dtype)

    def __len__(self) -> int:
        return self.levels

    # -- labels ----------------------------------------------------------------------

    @property
    def labels(self) -> tuple[str, ...]:
        """The names of the label images stored with this image, ``()`` when there are none.

        They are the paths listed by the image's ``labels`` group (OME-Zarr 0.4 or 0.5,
        ours or another tool's); open one with `label`.

        Examples
        --------
        >>> import tempfile
        >>> import numpy as np
        >>> from data_helpers.labels import write_labels
        >>> from data_helpers.pyramid import build_pyramid
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     image = build_pyramid(np.zeros((32, 32), np.uint8), f"{tmp}/i.zarr",
        ...                           axes="yx", chunks=(16, 16))
        ...     before = image.labels
        ...     _ = write_labels(image, "cells", np.ones((32, 32), np.uint16))
        ...     print(before, MultiscaleImage.open(f"{tmp}/i.zarr").labels)
        () ('cells',)
        """
        return ome.read_labels(self._group)

    def label(self, name: str) -> MultiscaleImage:
        """The label image ``name`` (one of `labels`), opened as a `MultiscaleImage`.

        Its `image_label` holds the colors and properties of its labels.

        Raises
        ------
        KeyError
            When the image lists no label image ``name`` (the message lists those it has).
        ValueError
            When ``name`` is listed but what is at ``labels/<name>`` is not a multiscale
            image.

        Examples
        --------
        >>> import tempfile
        >>> import numpy as np
        >>> from data_helpers.labels import write_labels
        >>> from data_helpers.pyramid import build_pyramid
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     image = build_pyramid(np.zeros((32, 32), np.uint8), f"{tmp}/i.zarr",
        ...                           axes="yx", chunks=(16, 16))
        ...     _ = write_labels(image, "cells", np.ones((32, 32), np.uint16),
        ...                      colors={1: (0, 255, 0, 128)})
        ...     cells = image.label("cells")
        ...     print(cells.shapes, cells.dtype, cells.image_label.colors)
        [(32, 32), (16, 16)] uint16 {1: (0, 255, 0, 128)}
        """
        if not isinstance(name, str):
            raise TypeError(f"name={name!r} must be a string, the name of a label image")
        available = self.labels
        if name not in available:
            listed = f"its labels are {list(available)}" if available else "it has no labels"
            raise KeyError(f"the image has no label image {name!r}: {listed}")
        labels_group = self._group.get("labels")
        member = labels_group.get(name) if isinstance(labels_group, zarr.Group) else None
        if not isinstance(member, zarr.Group):
            what = "nothing" if member is None else "an array"
            raise ValueError(
                f"the image lists the label image {name!r}, but {what} is at labels/{name}; "
                f"its labels are {list(available)}"
            )
        try:
            return MultiscaleImage.open(member)
        except ValueError as error:
            raise ValueError(
                f"the label image {name!r} (at labels/{name}) cannot be read: {error}; "
                f"its labels are {list(available)}"
            ) from error

    @property
    def image_label(self) -> ome.ImageLabelMetadata | None:
        """The ``image-label`` metadata (colors, properties, source) of a label image.

        None for an image that is not a label image. See `ome.read_image_label`.
        """
        return ome.read_image_label(self._group)

    # -- channels --------------------------------------------------------------------

    @property
    def channels(self) -> tuple[ome.Channel, ...]:
        """How viewers show each channel (the ``omero`` metadata), ``()`` when not said.

        One `ome.Channel` per channel (its label, colour, display window, limits and
        whether it is shown), as the image stores it, ours or another tool's (OME-Zarr
        0.4 or 0.5); a field the image leaves out is None. See `ome.read_channels`.

        Raises
        ------
        ValueError
            When the ``omero`` metadata is there but not as OME-Zarr describes it.

        Examples
        --------
        >>> import tempfile
        >>> import numpy as np
        >>> from data_helpers.ome import Channel
        >>> from data_helpers.pyramid import build_pyramid
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     image = build_pyramid(np.zeros((2, 32, 32), np.uint16), f"{tmp}/c.zarr",
        ...                           axes="cyx", chunks=(1, 16, 16),
        ...                           channels=[Channel("DAPI", "0000FF", window=(0, 4000)),
        ...                                     Channel("GFP", "00FF00")])
        ...     dapi, gfp = image.channels
        >>> dapi.label, dapi.color, dapi.window, gfp.window, gfp.active
        ('DAPI', '0000FF', (0.0, 4000.0), (0.0, 65535.0), True)
        """
        return ome.read_channels(self._group)

    # -- one level -------------------------------------------------------------------

    def _index(self, level: int) -> int:
        level = as_int("level", level)
        if not -self.levels <= level < self.levels:
            raise IndexError(
                f"level {level} is out of range: the image has {self.levels} levels "
                f"(0 to {self.levels - 1}, or -1 to {-self.levels})"
            )
        return level % self.levels

    def level(self, i: int) -> zarr.Array[Any]:
        """The Zarr array of level ``i`` (negative ``i`` counts from the smallest).

        Examples
        --------
        >>> import tempfile
        >>> import numpy as np
        >>> from data_helpers.pyramid import build_pyramid
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     image = build_pyramid(np.ones((64, 64), np.uint8), f"{tmp}/i.zarr", axes="yx",
        ...                           chunks=(16, 16))
        ...     print(image.level(-1).shape, image.level(1)[0, 0])
        (16, 16) 1
        """
        return self._arrays[self._index(i)]

    def to_dask(self, i: int = 0) -> da.Array:
        """Level ``i`` as a lazy dask array, one block per chunk (per shard if sharded).

        Examples
        --------
        >>> import tempfile
        >>> import numpy as np
        >>> from data_helpers.pyramid import build_pyramid
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     image = build_pyramid(np.ones((64, 64), np.uint8), f"{tmp}/d.zarr", axes="yx",
        ...                           chunks=(16, 16))
        ...     lazy = image.to_dask(0)
        ...     print(lazy.chunksize, int(lazy.sum().compute()))
        (16, 16) 4096
        """
        array = self.level(i)
        lazy: da.Array = da.from_zarr(array, chunks=tuple(array.shards or array.chunks))
        return lazy

    def scale(self, i: int) -> tuple[float, ...]:
        """The physical size of a pixel of level ``i`` along each axis.

        Examples
        --------
        >>> import tempfile
        >>> import numpy as np
        >>> from data_helpers.pyramid import build_pyramid
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     image = build_pyramid(np.ones((64, 64), np.uint8), f"{tmp}/s.zarr", axes="yx",
        ...                           scale=(0.5, 0.5), chunks=(16, 16))
        ...     print(image.scale(0), image.scale(-1))
        (0.5, 0.5) (2.0, 2.0)
        """
        return self.metadata.scales[self._index(i)]

    def translation(self, i: int) -> tuple[float, ...]:
        """The physical position of the centre of the first pixel of level ``i``.

        Examples
        --------
        >>> import tempfile
        >>> import numpy as np
        >>> from data_helpers.pyramid import build_pyramid
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     image = build_pyramid(np.ones((64, 64), np.uint8), f"{tmp}/t.zarr", axes="yx",
        ...                           chunks=(16, 16))
        ...     print(image.translation(1), image.translation(2))
        (0.5, 0.5) (1.5, 1.5)
        """
        return self.metadata.translations[self._index(i)]

    def factors(self, i: int) -> tuple[int, ...]:
        """The factor along each axis between level ``i - 1`` and level ``i``.

        Each factor is the ratio of the two levels' scales, from the metadata, made an
        exact integer (float round-off such as ``2.1 / 0.7 = 3.0000000000000004`` is
        ignored). Negative ``i`` counts from the smallest: ``factors(-1)`` gives the
        factors that made the last level.

        Raises
        ------
        ValueError
            For level 0, which has no level above it, or when a ratio is not a whole
            number >= 1 (possible in an image written by another tool).
        IndexError
            When ``i`` is out of range.

        Examples
        --------
        >>> import tempfile
        >>> import numpy as np
        >>> from data_helpers.pyramid import build_pyramid
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     image = build_pyramid(np.ones((8, 64, 64), np.uint8), f"{tmp}/k.zarr",
        ...                           scale=(2.0, 0.5, 0.5), factors=[(1, 2, 2), 2],
        ...                           max_levels=3)
        ...     print(image.factors(1), image.factors(-1))
        (1, 2, 2) (2, 2, 2)
        """
        level = self._index(i)
        if level == 0:
            raise ValueError(
                f"factors({i}) asks for level 0, which has no level above it; give a level "
                f"i with 1 <= i < {self.levels} (or a negative one other than {-self.levels})"
            )
        finer, coarser = self.scale(level - 1), self.scale(level)
        ratios = [_snap(b / a) for a, b in zip(finer, coarser, strict=True)]
        if not all(r.is_integer() and r >= 1 for r in ratios):
            raise ValueError(
                f"the scales of levels {level - 1} and {level} differ by {ratios} along the "
                f"axes {self.axes}, not by whole factors >= 1"
            )
        return tuple(int(r) for r in ratios)

    # -- choosing a level and mapping regions ----------------------------------------

    def level_for(self, max_shape: Sequence[int | None] | Mapping[str, int]) -> int:
        """The largest level whose shape fits in ``max_shape``.

        Parameters
        ----------
        max_shape
            The largest acceptable length per axis: a tuple over all axes, a tuple over
            the space axes only, or a mapping by axis name (axes not named, and ``None``
            entries, are not limited).

        Raises
        ------
        ValueError
            When even the smallest level does not fit.

        Examples
        --------
        >>> import tempfile
        >>> import numpy as np
        >>> from data_helpers.pyramid import build_pyramid
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     image = build_pyramid(np.ones((3, 256, 256), np.uint8), f"{tmp}/f.zarr",
        ...                           axes="cyx", chunks=(1, 64, 64))
        ...     print(image.shapes[1], image.level_for((128, 200)), image.level_for({"x": 64}))
        (3, 128, 128) 1 2
        """
        limits = self._limits(max_shape)
        fitting = [
            i for i, shape in enumerate(self.shapes)
            if all(shape[axis] <= limit for axis, limit in limits.items())
        ]
        if not fitting:
            raise ValueError(
                f"no level fits in max_shape={max_shape!r}; the smallest is {self.shapes[-1]} "
                f"(axes {self.axes})"
            )
        # The most pixels wins: with the usual ordering, the first level that fits.
        return max(fitting, key=lambda i: (math.prod(self.shapes[i]), -i))

    def _limits(self, max_shape: Any) -> dict[int, int]:
        """Axis index -> largest length, from a mapping or a tuple (all or space axes)."""
        if isinstance(max_shape, Mapping):
            unknown = sorted(set(max_shape) - set(self.axes))
            if unknown:
                raise ValueError(
                    f"max_shape={max_shape!r} names axes {unknown} that are not in {self.axes}"
                )
            pairs = [(self.axes.index(a), v) for a, v in max_shape.items()]
        elif isinstance(max_shape, Sequence) and not isinstance(max_shape, str):
            space = [i for i, t in enumerate(self.metadata.axis_types) if t == "space"]
            if len(max_shape) == len(self.axes):
                pairs = list(enumerate(max_shape))
            elif len(max_shape) == len(space):
                pairs = list(zip(space, max_shape, strict=True))
            else:
                raise ValueError(
                    f"max_shape={max_shape!r} needs {len(self.axes)} entries (one per axis "
                    f"{self.axes}) or {len(space)} (one per space axis)"
                )
        else:
            raise TypeError(
                f"max_shape={max_shape!r} must be a tuple or a mapping by axis name"
            )
        limits = {}
        for axis, value in pairs:
            if value is None:
                continue
            limits[axis] = as_int(f"max_shape[{self.axes[axis]!r}]", value, minimum=1,
                                  accepted="an integer >= 1 (or None for no limit)")
        return limits

    def roi_to_level(
        self, roi: slice | Sequence[slice], from_level: int, to_level: int
    ) -> tuple[slice, ...]:
        """Map a region in pixels of ``from_level`` to the pixels of ``to_level``.

        The region goes through physical coordinates: along each axis, pixel ``i`` of a
        level with scale ``s`` and translation ``t`` covers ``[t + (i - 0.5) s,
        t + (i + 0.5) s)``, its centre being at ``t + i s``. The result holds every
        pixel of ``to_level`` that overlaps the region (rounded outward, so the region
        is always covered; a pixel that only touches it does not count), clipped to
        ``to_level``'s shape.

        Two levels need not end at the same place: the last pixel of a ``nearest``
        pyramid's coarse level ends up to half a window before level 0 does, a partial
        window of a ``mean`` pyramid reaches beyond it. So the first and the last pixel
        of a level stand for everything beyond its edges, and a region at an edge maps
        to the edge pixel of the other level, never to nothing. Hence a non-empty region
        always maps to a non-empty one, and mapping that back gives a region that
        contains the first one.

        Parameters
        ----------
        roi
            A slice or a sequence of slices in ``from_level`` pixels, read as numpy reads
            them: ``None`` bounds mean the start or the end, negative bounds count from
            the end, bounds beyond the level are clipped, and missing trailing axes mean
            the whole axis. Bounds are integers; steps must be 1 (or ``None``).
        from_level, to_level
            Level numbers (negative ones count from the smallest).

        Returns
        -------
        tuple of slice
            One ``slice(start, stop)`` with integer bounds per axis. A region that is
            empty (after clipping: ``slice(5, 5)``, ``slice(9, 3)``, ``slice(50, 60)`` on
            a 40-pixel axis) stays empty, at the place it maps to.

        Raises
        ------
        TypeError
            When ``roi`` is not a slice or a sequence of slices, or a bound is not an
            integer.
        ValueError
            When ``roi`` has more slices than the level has axes, or a step is not 1.
        IndexError
            When a level is out of range.

        Examples
        --------
        >>> import tempfile
        >>> import numpy as np
        >>> from data_helpers.pyramid import build_pyramid
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     image = build_pyramid(np.ones((64, 64), np.uint8), f"{tmp}/r.zarr", axes="yx",
        ...                           chunks=(16, 16))
        ...     small = image.roi_to_level((slice(8, 16), slice(3, 5)), 0, 2)
        ...     print(small)
        ...     print(image.roi_to_level(small, 2, 0))
        ...     print(image.roi_to_level((slice(-4, None),), 0, 1))
        (slice(2, 4, None), slice(0, 2, None))
        (slice(8, 16, None), slice(0, 8, None))
        (slice(30, 32, None), slice(0, 32, None))
        """
        source, target = self._index(from_level), self._index(to_level)
        region = _normalize_roi(roi, self.shapes[source])
        return tuple(
            _map_interval(
                region[axis], self.shapes[source][axis],
                self.scale(source)[axis], self.translation(source)[axis],
                self.scale(target)[axis], self.translation(target)[axis],
                self.shapes[target][axis],
            )
            for axis in range(len(self.axes))
        )

    # -- display ---------------------------------------------------------------------

    def __repr__(self) -> str:
        where = self.url or (str(self.path) if self.path is not None else "<group>")
        lines = [
            f"MultiscaleImage({where!r}, OME-Zarr {self.version}, axes={self.axes}, "
            f"dtype={self.dtype}, levels={self.levels})"
        ]
        for i, array in enumerate(self._arrays):
            lines.append(
                f"  {i}: shape={tuple(array.shape)} chunks={tuple(array.chunks)} "
                f"scale={self.scale(i)} translation={self.translation(i)}"
            )
        return "\n".join(lines)

    def __rich__(self) -> Table:
        """A rich table of the levels: shapes, chunks, scales, translations and bytes.

        Examples
        --------
        >>> import tempfile
        >>> import numpy as np
        >>> from rich.console import Console
        >>> from data_helpers.pyramid import build_pyramid
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     image = build_pyramid(np.zeros((64, 64), np.uint8), f"{tmp}/p.zarr",
        ...                           axes="yx", chunks=(32, 32))
        ...     Console(width=120).print(image)  # doctest: +ELLIPSIS
        OME-Zarr 0.4 ... axes (y, x), uint8
        ...
        """
        units = ", ".join(u or "-" for u in self.metadata.units)
        table = Table(
            title=f"OME-Zarr {self.version} {self.metadata.name or ''} "
            f"axes ({', '.join(self.axes)}), {self.dtype}",
            caption=f"units: {units}",
        )
        for column in ("level", "path", "shape", "chunks", "scale", "translation", "bytes",
                       "stored"):
            table.add_column(column, justify="right" if column in ("bytes", "stored") else "left")
        for i, (path, array) in enumerate(zip(self.metadata.paths, self._arrays, strict=True)):
            chunks = _shape_text(array.chunks)
            if array.shards is not None:
                chunks += f" in shards {_shape_text(array.shards)}"
            # Over HTTP the stored size is not known: HTTP lists no directories.
            stored = "-" if self.url is not None else _bytes_text(array.nbytes_stored())
            table.add_row(
                str(i), path, _shape_text(array.shape), chunks, _numbers_text(self.scale(i)),
                _numbers_text(self.translation(i)), _bytes_text(array.nbytes), stored,
            )
        return table

    def _repr_html_(self) -> str:
        """The table of `__rich__` as an HTML ``<pre>`` fragment, shown by Jupyter.

        A notebook cell that ends with the image displays this table; plain Python
        shows `__repr__`.

        Examples
        --------
        >>> import tempfile
        >>> import numpy as np
        >>> from data_helpers.pyramid import build_pyramid
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     image = build_pyramid(np.zeros((64, 64), np.uint8), f"{tmp}/h.zarr",
        ...                           axes="yx", chunks=(32, 32))
        ...     html = image._repr_html_()
        >>> html.startswith("<pre"), "64 x 64" in html, "<html" in html
        (True, True, False)
        """
        # Never Jupyter's own display: in a notebook rich would show the table itself.
        console = Console(record=True, file=io.StringIO(), width=_HTML_WIDTH,
                          force_jupyter=False)
        console.print(self)
        return console.export_html(inline_styles=True, code_format=_HTML_FORMAT)


# -- helpers -----------------------------------------------------------------------------


def _local_path(group: zarr.Group) -> Path | None:
    root = getattr(group.store, "root", None)
    return None if root is None else Path(root) / group.path


def _url(group: zarr.Group) -> str | None:
    """The URL of a group read over HTTP(S), None for a group stored anywhere else."""
    store = group.store
    if not isinstance(store, zarr.storage.FsspecStore) or not is_url(store.path):
        return None
    return "/".join(part for part in (store.path.rstrip("/"), group.path) if part)


def _open_url(url: str) -> zarr.Group:
    """The Zarr group at ``url`` (checked by `as_url`), opened read-only through fsspec."""
    try:
        store = zarr.storage.FsspecStore.from_url(url, read_only=True)
    except ImportError as error:  # fsspec without aiohttp, or no fsspec
        raise ImportError(
            f"path={url!r}: reading over HTTP needs fsspec and aiohttp "
            f"(pip install fsspec aiohttp): {error}"
        ) from error
    not_a_group = f"path={url!r} is not a Zarr group: it holds a Zarr array"
    try:
        return zarr.open_group(store, mode="r")
    except FileNotFoundError as error:  # no group metadata (404): a Zarr v2 array, or nothing
        if _holds_array(store):
            raise ValueError(not_a_group) from error
        raise FileNotFoundError(
            f"no OME-Zarr image at path={url!r}: the server has no Zarr group there "
            f"(no zarr.json, .zgroup or .zattrs)"
        ) from error
    except zarr.errors.ContainsArrayError as error:  # a Zarr v3 array
        raise ValueError(not_a_group) from error
    except Exception as error:  # aiohttp's errors: no server, refused (403, 500...), DNS
        raise ValueError(
            f"path={url!r} cannot be read: {type(error).__name__}: {error}"
        ) from error


def _holds_array(store: zarr.storage.FsspecStore) -> bool:
    try:
        zarr.open_array(store, mode="r")
    except Exception:  # whatever the reason, there is no array to report
        return False
    return True


def _normalize_roi(roi: Any, shape: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """``(start, stop)`` per axis from a slice or sequence of slices, as numpy reads them.

    ``start <= stop`` always: an empty slice such as ``slice(9, 3)`` becomes ``(9, 9)``.
    """
    if isinstance(roi, slice):
        roi = (roi,)
    if (not isinstance(roi, Sequence) or isinstance(roi, str)
            or not all(isinstance(s, slice) for s in roi)):
        raise TypeError(
            f"roi must be a slice or a tuple of slices (one per axis), got {roi!r}"
        )
    if len(roi) > len(shape):
        raise ValueError(
            f"roi={roi!r} has {len(roi)} slices but the level has {len(shape)} axes; "
            "give at most one slice per axis"
        )
    bounds = []
    for sl, n in zip((*roi, *[slice(None)] * (len(shape) - len(roi))), shape, strict=True):
        for name in ("start", "stop", "step"):
            value = getattr(sl, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | np.integer)
            ):
                raise TypeError(
                    f"roi={roi!r}: slice {name} must be an integer or None, got {value!r}"
                )
        if sl.step not in (None, 1):
            raise ValueError(
                f"roi={roi!r}: slices must have step 1 (or None), got {sl!r}; take every "
                "n-th pixel of the mapped region instead"
            )
        start, stop, _ = sl.indices(n)
        bounds.append((start, max(start, stop)))
    return tuple(bounds)


def _snap(value: float) -> float:
    """``value`` made an exact integer when it is one up to float round-off."""
    nearest = round(value)
    return float(nearest) if abs(value - nearest) <= _EDGE_TOLERANCE * max(1.0, abs(value)) \
        else value


def _map_interval(
    bounds: tuple[int, int], size_from: int, scale_from: float, shift_from: float,
    scale_to: float, shift_to: float, size_to: int,
) -> slice:
    """The pixels ``[start, stop)`` of the target level that overlap ``bounds``.

    The edge pixels of both levels stand for everything beyond the level's edges.
    """
    start, stop = bounds

    def to_target(edge: int) -> float:
        """A source pixel edge, in target pixel units (target pixel j: [j - .5, j + .5))."""
        return (shift_from + (edge - 0.5) * scale_from - shift_to) / scale_to

    # Pixel j overlaps [low, high) when j + 0.5 > low and j - 0.5 < high (touching edges
    # do not count), hence the first and one-past-the-last overlapping pixels:
    first = math.floor(_snap(to_target(start) - 0.5)) + 1
    if stop == start:  # an empty region stays empty, at the place it maps to
        first = min(max(first, 0), size_to)
        return slice(first, first)
    last = math.ceil(_snap(to_target(stop) + 0.5))
    # The source's edge pixels reach out to everything beyond them...
    if start == 0:
        first = min(first, 0)
    if stop == size_from:
        last = max(last, size_to)
    # ... and so do the target's: a region past an edge of the target maps to its edge
    # pixel. The interval is not empty, so last > first before clipping.
    first = min(max(first, 0), max(size_to - 1, 0))
    return slice(first, min(max(last, first + 1), size_to))


def _shape_text(shape: Sequence[int]) -> str:
    return " x ".join(str(n) for n in shape)


def _numbers_text(values: Sequence[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)


def _bytes_text(nbytes: int) -> str:
    n = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")
