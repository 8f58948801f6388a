"""Stream camera frames into a chunked OME-Zarr image, the way Acquire's Zarr driver does.

The settings mirror Acquire's: `ChunkingProperties` says how frames are cut into tiles
and how many tiles of consecutive frames make one chunk, `StorageProperties` says where
and how the image is stored. `ZarrStreamWriter` takes frames one at a time (or a stack
at a time) and `stream_to_zarr` connects a camera to it.

What ends up on disk is a group holding arrays ``"0"``, ``"1"``, ... of shape
``(t, c, y, x)`` with one channel: OME-Zarr 0.4 in a Zarr v2 store, 0.5 in a Zarr v3
store, with the channel's display settings as ``omero`` metadata when
``StorageProperties(channels=...)`` gives them. The OME metadata is built and written
by `data_helpers.ome`, and every pixel of the coarser levels is computed by
`data_helpers.downsample`; this module only decides *what* goes *where* and *when*.

How a stream is kept safe (durability)
--------------------------------------
Frames are gathered in memory, one time-chunk per level (`_LevelBuffer`). When a level's
buffer is full its chunks are written, and only *then* is the array's shape grown to
cover them (`data_helpers._stream_store`, which owns these rules): the metadata on
disk always describes exactly the frames whose chunks are on disk, so a process killed
at any moment leaves a store that opens, validates and holds every frame flushed so far.
The destination is checked, locked and created as every store of the package is
(`data_helpers._destination`): only a Zarr store is ever replaced, and a second writer
on the same path is refused while this one is open.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, cast

import numpy as np
import zarr
from numpy.typing import DTypeLike, NDArray
from ome_zarr_models.v04 import Image as ImageV04
from ome_zarr_models.v05 import Image as ImageV05

from data_helpers import _blocks, ome
from data_helpers._checks import (
    PIXEL_TYPES,
    Compression,
    ZarrVersion,
    as_bool,
    as_compression,
    as_dtype,
    as_float,
    as_int,
    as_ints,
    as_path,
    as_zarr_version,
    check_fits_in_memory,
    check_sharding,
)
from data_helpers._stream_store import StreamStore
from data_helpers.chunking import (
    MIN_BYTES_PER_CHUNK,
    chunk_budget,
    frames_per_chunk,
    resolve_tile,
)
from data_helpers.downsample import downsample, downsampled_shape

__all__ = [
    "AXES",
    "PIXEL_TYPES",
    "ChunkingProperties",
    "LevelRecord",
    "StorageProperties",
    "StreamRecord",
    "StreamStats",
    "ZarrStreamWriter",
    "record_stream",
    "stream_to_zarr",
]

#: The axes of every array the writer makes (time, channel, y, x).
AXES = "tcyx"

# From one level to the next: pairs of frames, one channel, 2 x 2 pixels.
_LEVEL_FACTORS = (2, 1, 2, 2)

# Threads that average pairs of frames while the full-resolution chunk is written. Each
# pair is averaged on its own (windows never straddle a pair, so the pixels are the same
# as averaging the whole chunk at once) and its int64 temporaries stay small. Measured on
# 2 cores: 2 threads beat 1 with compression (averaging overlaps Blosc, which releases
# the GIL) and tie without it.
_DOWNSAMPLE_THREADS = min(2, os.cpu_count() or 1)


# -- settings ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChunkingProperties:
    """How frames are cut into tiles, and how many tiles make a chunk (Acquire's rules).

    Parameters
    ----------
    tile_width, tile_height
        Size of a tile in pixels. 0, or a size larger than the frame, means the whole
        frame along that dimension.
    tile_planes
        Planes per tile. Frames have a single plane, so any value resolves to 1; it is
        kept for symmetry with Acquire.
    max_bytes_per_chunk
        The most bytes one chunk may hold, before compression. Values below 16 MiB
        (`~data_helpers.chunking.MIN_BYTES_PER_CHUNK`) are raised to 16 MiB, with a
        warning, as Acquire does.
    min_bytes_per_chunk
        That floor: Acquire's 16 MiB. Lower it only to make small examples and tests
        flush after a few frames.

    Notes
    -----
    A chunk is a stack of the same tile from consecutive frames: frames per chunk =
    floor(max_bytes_per_chunk / bytes per tile). In a multiscale image every level uses
    the configured tile clipped to that level's frame, and gets its own frames per chunk
    from the same rule applied to its own tile: a level whose frame is smaller than a
    tile stacks more frames per chunk.

    Examples
    --------
    Acquire's example: 640 x 360 tiles of 1920 x 1080 uint8 frames under 64 MiB.

    >>> chunking = ChunkingProperties(640, 360, 1, 64 * 2**20)
    >>> chunking.tile_shape((1080, 1920))
    (360, 640)
    >>> chunking.frames_per_chunk((1080, 1920), "uint8")
    291
    >>> ChunkingProperties().tile_shape((1080, 1920))      # 0 means the whole frame
    (1080, 1920)
    """

    tile_width: int = 0
    tile_height: int = 0
    tile_planes: int = 0
    max_bytes_per_chunk: int = MIN_BYTES_PER_CHUNK
    _: KW_ONLY
    min_bytes_per_chunk: int = MIN_BYTES_PER_CHUNK

    def __post_init__(self) -> None:
        for name in ("tile_width", "tile_height", "tile_planes"):
            as_int(name, getattr(self, name), minimum=0,
                   accepted="an integer >= 0 (0 means the whole frame)")
        # Acquire's floor. Keep the raised value, so the settings say what is used.
        budget = chunk_budget(self.max_bytes_per_chunk, self.min_bytes_per_chunk,
                              stacklevel=4)  # the caller of ChunkingProperties(...)
        object.__setattr__(self, "max_bytes_per_chunk", budget)

    def tile_shape(self, frame_shape: Sequence[int]) -> tuple[int, int]:
        """The tile ``(height, width)`` for frames of ``frame_shape`` ``(height, width)``.

        Examples
        --------
        >>> ChunkingProperties(tile_width=640, tile_height=5000).tile_shape((1080, 1920))
        (1080, 640)
        """
        height, width = _frame_shape(frame_shape)
        return resolve_tile(height, self.tile_height), resolve_tile(width, self.tile_width)

    def frames_per_chunk(self, frame_shape: Sequence[int], dtype: DTypeLike) -> int:
        """How many frames one chunk stacks: floor(max_bytes_per_chunk / bytes per tile).

        Examples
        --------
        >>> ChunkingProperties(32, 18).frames_per_chunk((54, 96), "uint16")  # 16 MiB / 1152
        14563
        """
        tile_height, tile_width = self.tile_shape(frame_shape)
        itemsize = _pixel_type(dtype).itemsize
        return frames_per_chunk(self.max_bytes_per_chunk, tile_height * tile_width * itemsize,
                                min_bytes_per_chunk=self.min_bytes_per_chunk)


@dataclass(frozen=True)
class StorageProperties:
    """Where and how a stream is stored.

    Parameters
    ----------
    filename
        Path of the Zarr group to create.
    zarr_version
        2 (OME-Zarr 0.4) or 3 (OME-Zarr 0.5).
    compression
        None, ``"blosc-lz4"`` or ``"blosc-zstd"`` (Blosc level 1 with byte shuffle).
    chunking
        Tiles and chunk size, see `ChunkingProperties`.
    enable_multiscale
        Also write coarser levels: each halves width and height (odd sizes round up) and
        averages pairs of frames, until both dimensions fit in one tile.
    pixel_scale_um
        Pixel size in micrometers, ``(x, y)`` as in Acquire.
    frame_interval_s
        Time from one frame to the next, in seconds (for a camera that runs as fast as
        it exposes, the exposure time). With it the time axis is in seconds (unit
        ``"second"``): level ``k``'s time scale is ``2**k`` intervals, since each of
        its frames averages ``2**k`` frames. Without it (None) time is counted in
        frames and the time axis has no unit, as in Acquire's Zarr driver.
    shard_chunks
        Zarr v3 only: turn on sharding, with this many chunks per shard along ``x`` and
        ``y``, as an ``(x, y)`` pair or one int for both. A shard always spans exactly
        one time-chunk (and the single channel), so every flush writes whole shards and
        never rewrites a shard that is already on disk. Each level's shard is clipped
        to that level's frame.
    overwrite
        Replace an existing ``filename``. Without it an existing path is an error, and
        nothing is written.
    channels
        How viewers show the image's one channel, written as OME-Zarr ``omero``
        metadata: a list of one entry, a `~data_helpers.ome.Channel`, a mapping of its
        fields or a label alone (see `~data_helpers.ome.as_channels`). Checked here
        and kept as a tuple of one `~data_helpers.ome.Channel`, its colour (white by
        default) and ``active`` set; a ``window`` or ``limits`` left out stays None
        until the writer knows the pixel type, which gives their defaults (the
        type's range; 0 to 1 for float32) and must hold the window given. By
        default (None) no ``omero`` metadata is written.

    Examples
    --------
    >>> storage = StorageProperties("out.zarr", zarr_version=3, compression="blosc-zstd",
    ...                             chunking=ChunkingProperties(640, 360), shard_chunks=3)
    >>> storage.shard_chunks, storage.pixel_scale_um
    ((3, 3), (1.0, 1.0))
    >>> StorageProperties("out.zarr", frame_interval_s=0.05).frame_interval_s
    0.05
    >>> StorageProperties("out.zarr", channels=[{"label": "GFP", "color": "00ff00"}]).channels
    (Channel(label='GFP', color='00FF00', window=None, limits=None, active=True),)
    >>> StorageProperties("out.zarr", shard_chunks=(2, 2))
    Traceback (most recent call last):
    ...
    ValueError: shard_chunks=(2, 2) needs zarr_version=3 (got zarr_version=2): ...
    """

    filename: str | os.PathLike[str]
    _: KW_ONLY
    zarr_version: ZarrVersion = 2
    compression: Compression = None
    chunking: ChunkingProperties = ChunkingProperties()  # frozen, so safely shared
    enable_multiscale: bool = False
    pixel_scale_um: tuple[float, float] = (1.0, 1.0)
    frame_interval_s: float | None = None
    shard_chunks: int | tuple[int, int] | None = None
    overwrite: bool = False
    channels: ome.ChannelsLike | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise values in place, once
        as_path("filename", self.filename)
        set_(self, "filename", os.fspath(self.filename))
        set_(self, "zarr_version", as_zarr_version(self.zarr_version))
        set_(self, "compression", as_compression(self.compression))
        if not isinstance(self.chunking, ChunkingProperties):
            raise TypeError(
                f"chunking={self.chunking!r} must be a ChunkingProperties, "
                "e.g. ChunkingProperties(tile_width=640, tile_height=360)"
            )
        set_(self, "enable_multiscale", as_bool("enable_multiscale", self.enable_multiscale))
        set_(self, "overwrite", as_bool("overwrite", self.overwrite))
        set_(self, "pixel_scale_um", _pixel_scale(self.pixel_scale_um))
        if self.frame_interval_s is not None:
            set_(self, "frame_interval_s", as_float(
                "frame_interval_s", self.frame_interval_s, positive=True,
                accepted="None or a finite number > 0 (seconds from one frame to the next)"))
        set_(self, "shard_chunks", _shard_chunks(self.shard_chunks, self.zarr_version))
        set_(self, "channels", _channels(self.channels))


def _pixel_scale(scale: object) -> tuple[float, float]:
    accepted = "an (x, y) pair of finite numbers > 0, in micrometers"
    if isinstance(scale, str) or not isinstance(scale, Sequence | np.ndarray):
        raise TypeError(f"pixel_scale_um={scale!r} must be {accepted}")
    if len(scale) != 2:
        raise ValueError(f"pixel_scale_um={scale!r} must be {accepted}")
    x, y = (as_float(f"pixel_scale_um[{i}]", v, positive=True, accepted=accepted)
            for i, v in enumerate(scale))
    return x, y


def _shard_chunks(shard_chunks: object, zarr_version: int) -> tuple[int, int] | None:
    if shard_chunks is None:
        return None
    accepted = "None, an integer >= 1 or an (x, y) pair of integers >= 1 (chunks per shard)"
    if isinstance(shard_chunks, Sequence | np.ndarray) and not isinstance(shard_chunks, str):
        x, y = as_ints("shard_chunks", shard_chunks, 2, minimum=1, accepted=accepted)
    else:
        x = y = as_int("shard_chunks", shard_chunks, minimum=1, accepted=accepted)
    check_sharding("shard_chunks", shard_chunks, zarr_version)
    return x, y


def _channels(channels: object) -> tuple[ome.Channel, ...] | None:
    """The one channel ``channels`` describe, checked by `ome.as_channels`; or None.

    The pixel type is not known yet: it is checked as float32 pixels, whose default
    limits are the window given (or 0 to 1), so a window refused here is refused for
    every pixel type. The fields whose defaults depend on the pixel type (``window``
    and ``limits``) stay None where not given; the writer completes them.
    """
    if channels is None:
        return None
    if (isinstance(channels, Sequence) and not isinstance(channels, str | bytes)
            and len(channels) != 1):
        raise ValueError(
            f"channels={channels!r} must hold one entry: the writer's images have one "
            f"channel (axes {AXES!r}, c = 1)"
        )
    (checked,) = ome.as_channels(channels, axes=AXES, shape=(1, 1, 1, 1), dtype="float32")
    (given,) = cast(Sequence[object], channels)
    if isinstance(given, str):
        given = ome.Channel(label=given)
    elif not isinstance(given, ome.Channel):
        given = ome.Channel(**cast(Mapping[str, Any], given))  # keys checked above
    return (ome.Channel(
        label=checked.label, color=checked.color, active=checked.active,
        window=None if given.window is None else checked.window,
        limits=None if given.limits is None else checked.limits,
    ),)


def _frame_shape(frame_shape: object) -> tuple[int, int]:
    height, width = as_ints("frame_shape", frame_shape, 2, minimum=1,
                            accepted="a (height, width) pair of integers >= 1, e.g. (1080, 1920)")
    return height, width


def _pixel_type(dtype: object) -> np.dtype[Any]:
    return as_dtype("dtype", dtype, names=PIXEL_TYPES)


# -- the layout of the image ---------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """Everything about the arrays that is known before the first frame arrives."""

    frame_shapes: tuple[tuple[int, int], ...]  # (height, width) per level
    tiles: tuple[tuple[int, int], ...]  # (height, width) per level
    frames_per_chunk: tuple[int, ...]
    shard_tiles: tuple[int, int] | None  # (y, x) chunks per shard

    def buffer_nbytes(self, itemsize: int) -> int:
        """Bytes of the chunk buffers: two time-chunks at level 0, one at every other level."""
        return sum(
            (2 if k == 0 else 1) * t * h * w * itemsize
            for k, (t, (h, w)) in enumerate(zip(self.frames_per_chunk, self.frame_shapes,
                                                strict=True))
        )


def _plan_layout(
    storage: StorageProperties, frame_shape: tuple[int, int], dtype: np.dtype[Any]
) -> _Layout:
    tile = storage.chunking.tile_shape(frame_shape)
    frame_shapes = [frame_shape]
    # Acquire's stopping rule: add levels until both dimensions fit in one tile.
    while storage.enable_multiscale and (
        frame_shapes[-1][0] > tile[0] or frame_shapes[-1][1] > tile[1]
    ):
        height, width = downsampled_shape(frame_shapes[-1], 2)
        frame_shapes.append((height, width))
    # Each level: the configured tile clipped to its frame, and its own frames per chunk.
    tiles = [(min(tile[0], h), min(tile[1], w)) for h, w in frame_shapes]
    per_chunk = [
        frames_per_chunk(storage.chunking.max_bytes_per_chunk, th * tw * dtype.itemsize,
                         min_bytes_per_chunk=storage.chunking.min_bytes_per_chunk, warn=False)
        for th, tw in tiles
    ]
    shard = cast("tuple[int, int] | None", storage.shard_chunks)  # as __post_init__ made it
    return _Layout(
        frame_shapes=tuple(frame_shapes),
        tiles=tuple(tiles),
        frames_per_chunk=tuple(per_chunk),
        shard_tiles=None if shard is None else (shard[1], shard[0]),
    )


def _image_model(
    storage: StorageProperties, layout: _Layout, dtype: np.dtype[Any],
    frames_per_chunk: Sequence[int],
) -> ImageV04 | ImageV05:
    """The image's model with every array empty (``t = 0``) and these time-chunks."""
    chunks = [(t, 1, *tile) for t, tile in zip(frames_per_chunk, layout.tiles, strict=True)]
    shards = None
    if layout.shard_tiles is not None:
        sy, sx = layout.shard_tiles
        shards = [(t, 1, th * sy, tw * sx) for t, _, th, tw in chunks]
    x_um, y_um = storage.pixel_scale_um
    interval = storage.frame_interval_s  # None: time counted in frames, no unit
    scales, translations = ome.level_transforms(
        [1.0 if interval is None else interval, 1.0, y_um, x_um],
        [_LEVEL_FACTORS] * (len(chunks) - 1), method="mean",
    )
    return ome.image_model(
        shapes=[(0, 1, *hw) for hw in layout.frame_shapes],
        dtype=dtype,
        chunks=chunks,
        axes=AXES,
        scales=scales,
        translations=translations,
        zarr_version=storage.zarr_version,
        compression=storage.compression,
        shard_shapes=shards,
        space_unit="micrometer",
        time_unit=None if interval is None else "second",
        name=ome.image_name(storage.filename),
        method="mean",
        channels=storage.channels,
    )


# -- one level's buffer ----------------------------------------------------------------------


class _LevelBuffer:
    """A level's time-chunk buffer (two at level 0) and the frame waiting for its pair.

    `fill` copies frames in and hands out each time-chunk as it fills; `pairs` hands
    out the frames two by two for the next level. Both keep only what is not handed out.
    """

    def __init__(self, frames_per_chunk: int, frame_shape: tuple[int, int],
                 dtype: np.dtype[Any], *, spare: bool) -> None:
        # np.empty only reserves address space: pages become memory as frames fill them,
        # so a short stream with a large chunk uses only what it writes.
        self.buffers = [np.empty((frames_per_chunk, 1, *frame_shape), dtype)
                        for _ in range(2 if spare else 1)]
        self.count = 0  # frames in buffers[0] not handed out yet
        self.received = 0  # frames given to fill, ever
        self.pending: NDArray[Any] | None = None  # a frame whose pair has not arrived yet

    @property
    def nbytes(self) -> int:
        return sum(buffer.nbytes for buffer in self.buffers)

    def fill(self, frames: NDArray[Any]) -> Iterator[NDArray[Any]]:
        """Copy ``(n, 1, h, w)`` frames in, yielding each full time-chunk as it fills.

        With a spare buffer, a yielded chunk stays untouched until the *next* one is
        yielded (the two buffers take turns); without one, until the generator resumes.
        """
        done = 0
        while done < len(frames):
            buffer = self.buffers[0]
            take = min(len(frames) - done, len(buffer) - self.count)
            buffer[self.count : self.count + take] = frames[done : done + take]
            self.count += take
            self.received += take
            done += take
            if self.count == len(buffer):
                yield buffer
                self.buffers.reverse()
                self.count = 0

    def take_rest(self) -> NDArray[Any]:
        """The frames of a partly filled time-chunk, handed out (at the end of a stream)."""
        rest, self.count = self.buffers[0][: self.count], 0
        return rest

    def pairs(self, frames: NDArray[Any]) -> Iterator[NDArray[Any]]:
        """Yield the complete pairs of frames, in time order, each as a (2, 1, h, w) stack.

        An unpaired last frame is kept (copied: the caller reuses its buffer) until the
        next call brings its partner.
        """
        start = 0
        if self.pending is not None and len(frames):
            yield np.concatenate([self.pending, frames[:1]])
            self.pending, start = None, 1
        end = start + (len(frames) - start) // 2 * 2
        for first in range(start, end, 2):
            yield frames[first : first + 2]
        if end < len(frames):
            self.pending = frames[end:].copy()

    def free(self) -> None:
        self.buffers = []  # give the memory back now, not when the writer dies


# -- the writer -------------------------------------------------------------------------------


class ZarrStreamWriter:
    """Append frames to a chunked, optionally multiscale OME-Zarr image.

    The group is created (with every array empty, ``t = 0``) when the writer is made.
    Frames are copied into a buffer of one time-chunk; a full buffer is written by a
    background thread while the next one fills, so the caller (a camera loop) and the
    disk work at the same time. If the background thread falls behind by a whole
    chunk, `append` waits: no frame is ever dropped.

    Parameters
    ----------
    storage
        Where and how to store the stream, see `StorageProperties`.
    frame_shape
        ``(height, width)`` of every frame (numpy order, e.g. ``camera.frame_shape``).
    dtype
        The pixel type, one of `PIXEL_TYPES`.

    Raises
    ------
    FileExistsError
        If ``storage.filename`` exists and ``storage.overwrite`` is false.
    ValueError
        If the destination may not be written (see `data_helpers._destination`: only a
        Zarr store is ever replaced), or the chunk buffers cannot fit in memory.
    data_helpers._destination.DestinationBusyError
        If another writer is writing to ``storage.filename``.

    Notes
    -----
    Nothing is written when any check fails.

    Memory is bounded by the chunk buffers, whatever the number of frames: two
    time-chunks of full-resolution frames (one filling, one being written) and one
    time-chunk per coarser level, see `buffer_nbytes`.

    Level ``k`` frames exist only for complete pairs: ``n`` frames give
    ``n // 2**k`` frames at level ``k``. The time scale of level ``k`` is ``2**k``
    frame intervals with a translation of ``(2**k - 1) / 2`` intervals (the centre of
    the averaged frames): in seconds when ``storage.frame_interval_s`` is given, in
    frames (no unit) otherwise. Space is in micrometers from ``pixel_scale_um``.

    While the writer is open it holds the destination's lock (the hidden file
    ``.NAME.lock`` beside it); `close` releases it.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     storage = StorageProperties(f"{tmp}/out.zarr", enable_multiscale=True,
    ...                                 chunking=ChunkingProperties(32, 18))
    ...     with ZarrStreamWriter(storage, frame_shape=(54, 96), dtype="uint8") as writer:
    ...         writer.append(np.ones((5, 54, 96), dtype=np.uint8))    # a stack of 5
    ...         writer.append(np.ones((54, 96), dtype=np.uint8))       # one frame
    ...     writer.shapes
    ((6, 1, 54, 96), (3, 1, 27, 48), (1, 1, 14, 24))
    """

    def __init__(
        self, storage: StorageProperties, *, frame_shape: Sequence[int], dtype: DTypeLike
    ) -> None:
        if not isinstance(storage, StorageProperties):
            raise TypeError(f"storage={storage!r} must be a StorageProperties")
        self._storage = storage
        self._frame_shape = _frame_shape(frame_shape)
        self._dtype = _pixel_type(dtype)
        layout = _plan_layout(storage, self._frame_shape, self._dtype)
        self._layout = layout

        models: dict[tuple[int, ...], ImageV04 | ImageV05] = {}

        def model_for(per_chunk: Sequence[int]) -> ImageV04 | ImageV05:
            # Built once per set of time-chunks: checked here, then written by the store.
            key = tuple(per_chunk)
            if key not in models:
                models[key] = _image_model(storage, layout, self._dtype, key)
            return models[key]

        # Everything that can be refused is refused before the disk is touched: ome's
        # checks of the metadata, the memory the buffers need, then the destination.
        model_for(layout.frames_per_chunk)
        check_fits_in_memory(
            "the writer's chunk buffers", layout.buffer_nbytes(self._dtype.itemsize),
            "use smaller tiles or a smaller max_bytes_per_chunk in ChunkingProperties",
        )
        self._buffers = [
            _LevelBuffer(per_chunk, shape, self._dtype, spare=k == 0)
            for k, (per_chunk, shape) in enumerate(
                zip(layout.frames_per_chunk, layout.frame_shapes, strict=True)
            )
        ]
        self._store = StreamStore(storage.filename, model_for, layout.frames_per_chunk,
                                  overwrite=storage.overwrite)
        # One worker: chunks are written in order, and the caller waits when it is a
        # whole chunk ahead (a bounded queue of one chunk).
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zarr-writer")
        self._pool = ThreadPoolExecutor(max_workers=_DOWNSAMPLE_THREADS,
                                        thread_name_prefix="zarr-writer-downsample")
        self._job: Future[None] | None = None
        self._failure: BaseException | None = None
        self._closed = False

    # -- what is being written ---------------------------------------------------------------

    @property
    def path(self) -> Path:
        """The path of the Zarr group (absolute)."""
        return self._store.path

    @property
    def levels(self) -> int:
        """Number of levels (1, or more with ``enable_multiscale``)."""
        return len(self._buffers)

    @property
    def frame_shapes(self) -> tuple[tuple[int, int], ...]:
        """``(height, width)`` of each level's frames."""
        return self._layout.frame_shapes

    @property
    def chunks(self) -> tuple[tuple[int, ...], ...]:
        """Each level's chunk shape ``(t, c, y, x)``, as currently in the store.

        A stream shorter than one chunk gets a time extent equal to its frame count
        when the writer closes.
        """
        return tuple(tuple(array.chunks) for array in self._store.arrays)

    @property
    def shards(self) -> tuple[tuple[int, ...], ...] | None:
        """Each level's shard shape ``(t, c, y, x)``, or None without sharding."""
        if self._storage.shard_chunks is None:
            return None
        return tuple(tuple(array.shards or ()) for array in self._store.arrays)

    @property
    def shapes(self) -> tuple[tuple[int, ...], ...]:
        """Each level's array shape on disk (only frames whose chunks are written)."""
        return tuple(tuple(array.shape) for array in self._store.arrays)

    @property
    def frames_appended(self) -> int:
        """Frames given to `append` so far (on disk or still in a buffer)."""
        return self._buffers[0].received

    @property
    def buffer_nbytes(self) -> int:
        """Bytes held by the chunk buffers (fixed when the writer is made, 0 once closed)."""
        return sum(buffer.nbytes for buffer in self._buffers)

    @property
    def closed(self) -> bool:
        """Whether `close` has been called."""
        return self._closed

    # -- appending ---------------------------------------------------------------------------

    def append(self, frame_or_stack: Any) -> None:
        """Append one ``(h, w)`` frame, a camera ``Frame`` or an ``(n, h, w)`` stack.

        The pixels are copied, so the caller may reuse its array at once.

        Raises
        ------
        ValueError
            If the writer is closed, or the frames' shape is not ``frame_shape``.
        TypeError
            If the frames' dtype is not the writer's ``dtype`` (nothing is converted).
        RuntimeError
            If writing an earlier chunk failed (the store keeps what was flushed).

        Examples
        --------
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     with ZarrStreamWriter(StorageProperties(f"{tmp}/a.zarr"),
        ...                           frame_shape=(4, 6), dtype="uint16") as writer:
        ...         writer.append(np.zeros((4, 6), dtype=np.uint16))
        ...         writer.append(np.zeros((4, 6), dtype=np.uint8))
        Traceback (most recent call last):
        ...
        TypeError: frame dtype uint8 does not match the writer's dtype=uint16; ...
        """
        self._check_usable()
        frames = self._as_stack(frame_or_stack)
        for full in self._buffers[0].fill(frames[:, np.newaxis]):
            # The spare buffer is the one the previous job is writing: wait for it before
            # it is filled again. This wait is what keeps memory bounded.
            self._wait_for_worker()
            self._job = self._executor.submit(self._process, full)

    def _as_stack(self, frame_or_stack: Any) -> NDArray[Any]:
        data = frame_or_stack
        if not isinstance(data, np.ndarray) and hasattr(data, "data"):
            data = data.data  # a camera Frame (a numpy array's own .data is its buffer)
        data = np.asarray(data)
        height, width = self._frame_shape
        if data.ndim == 2:
            data = data[np.newaxis]
        if data.ndim != 3 or data.shape[1:] != (height, width):
            raise ValueError(
                f"frame shape {data.shape} does not match the writer's frame_shape="
                f"{self._frame_shape}; append takes one ({height}, {width}) frame, a Frame "
                f"with such .data, or an (n, {height}, {width}) stack"
            )
        if data.dtype != self._dtype:
            raise TypeError(
                f"frame dtype {data.dtype} does not match the writer's dtype={self._dtype}; "
                f"convert with .astype({self._dtype.name!r}) if that is what you mean"
            )
        return data

    def _check_usable(self) -> None:
        if self._closed:
            raise ValueError(f"the writer of {str(self.path)!r} is closed; make a new one")
        if self._failure is not None:
            raise RuntimeError(
                f"writing to {str(self.path)!r} failed earlier; the store holds the frames "
                f"flushed before the failure ({self.shapes[0][0]} at full resolution)"
            ) from self._failure

    def _wait_for_worker(self) -> None:
        job, self._job = self._job, None
        if job is None:
            return
        try:
            job.result()
        except BaseException as error:
            self._failure = error
            raise

    # -- the worker: write, downsample, write --------------------------------------------------

    def _process(self, frames: NDArray[Any]) -> None:
        """Write a full-resolution time-chunk, then feed its pairs to the coarser levels.

        The pairs are averaged by a small thread pool *while* this thread writes the
        chunk: compression, file writes and `downsample`'s whole-array additions all
        release the GIL, so writing and averaging overlap.
        """
        if self.levels == 1:
            self._store.append(0, frames)
            return
        means = [self._pool.submit(downsample, pair, _LEVEL_FACTORS, "mean")
                 for pair in self._buffers[0].pairs(frames)]
        self._store.append(0, frames)
        for mean in means:
            self._receive(1, mean.result())

    def _receive(self, level: int, frames: NDArray[Any]) -> None:
        """Buffer a coarser level's frames, writing each time-chunk as it fills."""
        for full in self._buffers[level].fill(frames):
            self._store.append(level, full)
        if level + 1 < self.levels:
            for pair in self._buffers[level].pairs(frames):
                self._receive(level + 1, downsample(pair, _LEVEL_FACTORS, "mean"))

    # -- closing -------------------------------------------------------------------------------

    def close(self) -> None:
        """Write what is buffered, trim each level to its frames and stop the worker.

        A level that received fewer frames than one chunk holds gets a time-chunk of
        exactly its frame count (1 for an empty level) before its data is written.
        Closing twice does nothing. The destination's lock is released even when
        writing the last frames fails (the error is raised; the store keeps what was
        flushed before).

        Examples
        --------
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     writer = ZarrStreamWriter(StorageProperties(f"{tmp}/a.zarr"),
        ...                               frame_shape=(4, 6), dtype="uint8")
        ...     writer.append(np.zeros((3, 4, 6), dtype=np.uint8))
        ...     writer.close()
        ...     writer.shapes, writer.chunks
        (((3, 1, 4, 6),), ((3, 1, 4, 6),))
        """
        if self._closed:
            return
        self._closed = True
        try:
            if self._failure is None:
                self._wait_for_worker()
                self._flush_remaining()
        except BaseException as error:
            self._failure = error
            raise
        finally:
            self._executor.shutdown(wait=True)
            self._pool.shutdown(wait=True)
            for buffer in self._buffers:
                buffer.free()
            self._store.close()

    def _flush_remaining(self) -> None:
        for level, buffer in enumerate(self._buffers):
            if self._store.frames(level) == 0:
                # Trim before writing: this level's time-chunk becomes its frame count.
                self._store.set_time_chunk(level, max(buffer.count, 1))
            rest = buffer.take_rest()
            if not len(rest):
                continue
            if level == 0:
                self._process(rest)  # also gives the coarser levels their last pairs
            else:
                self._store.append(level, rest)

    # -- context manager -----------------------------------------------------------------------

    def __enter__(self) -> ZarrStreamWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
            return
        # Leave a valid store, but let the original error be the one that is seen.
        try:
            self.close()
        except Exception as close_error:
            exc.add_note(f"closing the writer then failed too: {close_error!r}")

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"<ZarrStreamWriter {str(self.path)!r} {state}: {self.frames_appended} frames of "
            f"{self._frame_shape} {self._dtype.name}, {self.levels} level(s)>"
        )


# -- streaming from a camera --------------------------------------------------------------------


class _Camera(Protocol):
    """What `stream_to_zarr` needs of a camera, as `~data_helpers.camera.SimulatedCamera` has.

    A ``frames(n)`` method yielding ``n`` frames (numpy arrays, or objects with ``.data``),
    and either ``.frame_shape`` and ``.dtype`` or ``.shape`` (width, height) and
    ``.pixel_type``.
    """

    def frames(self, n: int) -> Iterator[Any]: ...


@dataclass(frozen=True)
class StreamStats:
    """What `stream_to_zarr` did.

    Parameters
    ----------
    frames_written
        Frames written at full resolution.
    bytes_written
        Their size in bytes, uncompressed.
    seconds
        Wall time from creating the store to closing it.
    shapes
        Each level's final array shape ``(t, c, y, x)``.

    Examples
    --------
    >>> stats = StreamStats(frames_written=10, bytes_written=20_000_000, seconds=0.5,
    ...                     shapes=((10, 1, 1000, 1000),))
    >>> stats.mb_per_s
    40.0
    """

    frames_written: int
    bytes_written: int
    seconds: float
    shapes: tuple[tuple[int, ...], ...]

    @property
    def mb_per_s(self) -> float:
        """Throughput in megabytes (10**6 bytes) of raw frames per second."""
        return self.bytes_written / 1e6 / self.seconds if self.seconds > 0 else math.inf


def _camera_format(camera: Any) -> tuple[tuple[int, int], np.dtype]:
    """The frame shape ``(height, width)`` and dtype a camera delivers."""
    if hasattr(camera, "frame_shape") and hasattr(camera, "dtype"):
        return _frame_shape(tuple(camera.frame_shape)), _pixel_type(camera.dtype)
    if hasattr(camera, "shape") and hasattr(camera, "pixel_type"):
        width, height = camera.shape  # Acquire's (width, height)
        return _frame_shape((height, width)), _pixel_type(camera.pixel_type)
    raise TypeError(
        f"camera={camera!r} must have .frames(n) and either .frame_shape and .dtype or "
        ".shape (width, height) and .pixel_type, like data_helpers.camera.SimulatedCamera"
    )


def stream_to_zarr(
    camera: _Camera,
    storage: StorageProperties,
    max_frame_count: int,
    *,
    progress: bool = False,
) -> StreamStats:
    """Acquire ``max_frame_count`` frames from ``camera`` and stream them to ``storage``.

    Parameters
    ----------
    camera
        A `~data_helpers.camera.SimulatedCamera`, or anything with ``.frames(n)``
        yielding frames (or objects with ``.data``) and ``.frame_shape``/``.dtype``.
    storage
        Where and how to store them, see `StorageProperties`.
    max_frame_count
        Number of frames to acquire (>= 0).
    progress
        Show a rich progress bar.

    Returns
    -------
    StreamStats
        Frames, bytes, seconds and MB/s of the stream.

    Examples
    --------
    >>> import tempfile
    >>> from data_helpers.camera import SimulatedCamera
    >>> camera = SimulatedCamera("radial_sin", shape=(96, 54), pixel_type="uint16")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     storage = StorageProperties(f"{tmp}/stream.zarr", zarr_version=3,
    ...                                 compression="blosc-zstd", enable_multiscale=True,
    ...                                 chunking=ChunkingProperties(32, 18))
    ...     stats = stream_to_zarr(camera, storage, 10)
    >>> stats.frames_written, stats.bytes_written, stats.shapes
    (10, 103680, ((10, 1, 54, 96), (5, 1, 27, 48), (2, 1, 14, 24)))
    """
    count = as_int("max_frame_count", max_frame_count, minimum=0)
    as_bool("progress", progress)
    if not hasattr(camera, "frames"):
        raise TypeError(f"camera={camera!r} must have a .frames(n) method")
    frame_shape, dtype = _camera_format(camera)
    start = time.perf_counter()
    with (
        ZarrStreamWriter(storage, frame_shape=frame_shape, dtype=dtype) as writer,
        _blocks.progress_bar(progress, unit="frames") as bar,
    ):
        task = None if bar is None else bar.progress.add_task(
            f"streaming {Path(storage.filename).name}", total=count)
        for frame in camera.frames(count):
            writer.append(frame)
            if bar is not None and task is not None:
                bar.progress.advance(task)
    seconds = time.perf_counter() - start
    frames = writer.frames_appended
    return StreamStats(
        frames_written=frames,
        bytes_written=frames * math.prod(frame_shape) * dtype.itemsize,
        seconds=seconds,
        shapes=writer.shapes,
    )


# -- watching a stream ---------------------------------------------------------------------------

# Files in a level's folder that are metadata, not chunks (Zarr v3, and v2's three).
_METADATA_FILES = frozenset({"zarr.json", ".zarray", ".zattrs", ".zgroup"})


@dataclass(frozen=True)
class LevelRecord:
    """What one level of a stream held on disk and in memory just after a frame was appended.

    Parameters
    ----------
    level
        The level (0 for full resolution).
    shape
        The level's shape ``(t, c, y, x)`` as its metadata document on disk says then.
    chunk_files
        The level's chunk files on disk then (shard files, with sharding).
    buffered
        The level's frames held in the writer's memory then, waiting for their
        time-chunk to fill (at level 0: not written yet; at a coarser level: averaged
        from the level above, not written yet).
    unpaired
        The level's frames kept in memory until their partner arrives, to be averaged
        with it into a frame of the next level (0 or 1; always 0 at the last level).

    Examples
    --------
    >>> LevelRecord(level=1, shape=(4, 1, 27, 48), chunk_files=4, buffered=2,
    ...             unpaired=0).on_disk
    4
    """

    level: int
    shape: tuple[int, ...]
    chunk_files: int
    buffered: int
    unpaired: int = 0

    @property
    def on_disk(self) -> int:
        """The number of this level's frames on disk (the time extent of its shape)."""
        return self.shape[0]


@dataclass(frozen=True)
class StreamRecord:
    """What the disk and the writer's memory held just after one frame was appended.

    Parameters
    ----------
    frame
        Position of the frame in the stream (0 for the first).
    shape
        Level 0's shape ``(t, c, y, x)`` as its metadata document on disk says then.
    chunk_files
        Level 0's chunk files on disk then (shard files, with sharding).
    buffered
        Frames held in the writer's memory then, not written yet.
    levels
        The same for every level of the stream, one `LevelRecord` per level, level 0
        first (whose fields repeat those above); a multiscale stream has several.

    Examples
    --------
    >>> record = StreamRecord(frame=20, shape=(16, 1, 540, 960), chunk_files=1, buffered=5)
    >>> record.on_disk
    16
    """

    frame: int
    shape: tuple[int, ...]
    chunk_files: int
    buffered: int
    levels: tuple[LevelRecord, ...] = ()

    @property
    def on_disk(self) -> int:
        """The number of level-0 frames on disk (the time extent of its shape)."""
        return self.shape[0]


def _chunk_files(level: Path) -> int:
    """Chunk (or shard) files in a level's folder; zarr's ``*.partial`` files are not yet."""
    return sum(1 for path in level.rglob("*") if path.is_file()
               and path.name not in _METADATA_FILES and not path.name.endswith(".partial"))


def record_stream(
    camera: _Camera, storage: StorageProperties, max_frame_count: int
) -> list[StreamRecord]:
    """Stream like `stream_to_zarr`, and record after each frame what the disk holds.

    After each frame is appended, the recorder waits until the chunk being written (if
    one was handed to the disk) is on disk, then reads each level's metadata document
    from the disk and counts its chunk files: each `StreamRecord` is what a process
    killed at that moment would leave, plus the frames it would lose from memory, for
    level 0 and (in `StreamRecord.levels`) for every level of a multiscale stream.
    Waiting makes the records the same on every run; in a real acquisition the write
    overlaps the next frames, and a kill during it loses that chunk too. The writer is
    closed at the end, so the store ends with every frame.

    Parameters
    ----------
    camera
        A `~data_helpers.camera.SimulatedCamera`, or anything `stream_to_zarr` takes.
    storage
        Where and how to store the frames, see `StorageProperties`.
    max_frame_count
        Number of frames to acquire (>= 0).

    Returns
    -------
    list of StreamRecord
        One record per frame, in order.

    Examples
    --------
    >>> import tempfile
    >>> from data_helpers.camera import SimulatedCamera
    >>> camera = SimulatedCamera(shape=(96, 54))
    >>> chunking = ChunkingProperties(max_bytes_per_chunk=3 * 96 * 54,
    ...                               min_bytes_per_chunk=1)      # 3 frames per chunk
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     records = record_stream(camera, StorageProperties(f"{tmp}/a.zarr",
    ...                                                       chunking=chunking), 5)
    >>> [(r.frame, r.on_disk, r.buffered, r.chunk_files) for r in records]
    [(0, 0, 1, 0), (1, 0, 2, 0), (2, 3, 0, 1), (3, 3, 1, 1), (4, 3, 2, 1)]

    A multiscale stream: each level fills and flushes its own time-chunks, a coarser
    level getting one frame for each pair of frames of the level above it written.

    >>> chunking = ChunkingProperties(48, 27, max_bytes_per_chunk=2 * 48 * 27,
    ...                               min_bytes_per_chunk=1)      # 2 frames per chunk
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     records = record_stream(camera, StorageProperties(
    ...         f"{tmp}/b.zarr", chunking=chunking, enable_multiscale=True), 4)
    >>> [[(k.on_disk, k.buffered) for k in r.levels] for r in records]
    [[(0, 1), (0, 0)], [(2, 0), (0, 1)], [(2, 1), (0, 1)], [(4, 0), (2, 0)]]
    """
    count = as_int("max_frame_count", max_frame_count, minimum=0)
    if not hasattr(camera, "frames"):
        raise TypeError(f"camera={camera!r} must have a .frames(n) method")
    frame_shape, dtype = _camera_format(camera)
    records: list[StreamRecord] = []
    with ZarrStreamWriter(storage, frame_shape=frame_shape, dtype=dtype) as writer:
        folders = [writer.path / str(k) for k in range(writer.levels)]
        for frame in camera.frames(count):
            writer.append(frame)
            writer._wait_for_worker()  # the chunk handed to the disk, if any, is written
            levels = []
            for k, (folder, buffer) in enumerate(zip(folders, writer._buffers, strict=True)):
                on_disk = zarr.open_array(zarr.storage.LocalStore(folder, read_only=True),
                                          mode="r")  # the metadata document, read anew
                levels.append(LevelRecord(
                    level=k,
                    shape=tuple(int(n) for n in on_disk.shape),
                    chunk_files=_chunk_files(folder),
                    buffered=buffer.count,
                    unpaired=int(buffer.pending is not None),
                ))
            records.append(StreamRecord(
                frame=writer.frames_appended - 1,
                shape=levels[0].shape,
                chunk_files=levels[0].chunk_files,
                buffered=levels[0].buffered,
                levels=tuple(levels),
            ))
    return records
