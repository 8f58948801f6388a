"""Stream camera frames into a chunked OME-Zarr image, the way Acquire's Zarr driver does.

The settings mirror Acquire's: `ChunkingProperties` says how frames are cut into tiles
and how many tiles of consecutive frames make one chunk, `StorageProperties` says where
and how the image is stored. `ZarrStreamWriter` takes frames one at a time (or a stack
at a time) and `stream_to_zarr` connects a camera to it.

What ends up on disk is a group holding arrays ``"0"``, ``"1"``, ... of shape
``(t, c, y, x)`` with one channel: OME-Zarr 0.4 in a Zarr v2 store, 0.5 in a Zarr v3
store. The OME metadata is built and written by `data_helpers.ome`, and every pixel of
the coarser levels is computed by `data_helpers.downsample`; this module only decides
*what* goes *where* and *when*.

How a stream is kept safe (durability)
--------------------------------------
Frames are gathered in memory, one time-chunk per level. When a level's buffer is full,
its chunks are written and only *then* is the array's shape grown to cover them. So
the metadata on disk always describes exactly the frames whose chunks are on disk, and
a process killed at any moment leaves a store that opens, validates and holds every
frame flushed so far. Zarr refuses to write outside an array's shape, so the chunks are
written through a second, in-memory view of the same array whose metadata has the
larger shape (see `_write_frames`). Zarr's local store writes every file to a temporary
name and renames it, so no reader ever sees half a chunk or half a metadata document.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import shutil
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol

import numpy as np
import zarr
from numpy.typing import DTypeLike, NDArray

from data_helpers import ome
from data_helpers.chunking import MIN_BYTES_PER_CHUNK, frames_per_chunk, resolve_tile
from data_helpers.downsample import downsample, downsampled_shape

__all__ = [
    "AXES",
    "PIXEL_TYPES",
    "ChunkingProperties",
    "StorageProperties",
    "StreamStats",
    "ZarrStreamWriter",
    "stream_to_zarr",
]

#: The axes of every array the writer makes: time, channel, y, x.
AXES = "tcyx"

#: The pixel types the writer accepts, by numpy name (Acquire's U8, I8, U16, I16, F32).
PIXEL_TYPES: tuple[str, ...] = ("uint8", "int8", "uint16", "int16", "float32")

# From one level to the next: pairs of frames, one channel, 2 x 2 pixels.
_LEVEL_FACTORS = (2, 1, 2, 2)

# Threads that average pairs of frames while the full-resolution chunk is written. Each
# pair is averaged on its own (windows never straddle a pair, so the pixels are the same
# as averaging the whole chunk at once) and its int64 temporaries stay small. Measured on
# 2 cores: 2 threads beat 1 with compression (averaging overlaps Blosc, which releases
# the GIL) and tie without it.
_DOWNSAMPLE_THREADS = min(2, os.cpu_count() or 1)


# -- settings ----------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    # bool is an int subclass, but True as a size is always a mistake.
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def _check_int(name: str, value: object, minimum: int, accepted: str) -> int:
    if not _is_int(value):
        raise TypeError(f"{name}={value!r} must be {accepted}")
    if value < minimum:  # type: ignore[operator]
        raise ValueError(f"{name}={value!r} must be {accepted}")
    return int(value)  # type: ignore[call-overload]


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name}={value!r} must be True or False")
    return bool(value)


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

    def __post_init__(self) -> None:
        for name in ("tile_width", "tile_height", "tile_planes"):
            _check_int(name, getattr(self, name), 0, "an integer >= 0 (0 means the whole frame)")
        budget = _check_int(
            "max_bytes_per_chunk",
            self.max_bytes_per_chunk,
            0,
            f"an integer number of bytes >= 0 (values below {MIN_BYTES_PER_CHUNK}, "
            "16 MiB, are raised to it)",
        )
        if budget < MIN_BYTES_PER_CHUNK:
            # Acquire's floor. Keep the raised value, so the settings say what is used.
            warnings.warn(
                f"max_bytes_per_chunk={budget} is below the 16 MiB minimum; using "
                f"max_bytes_per_chunk={MIN_BYTES_PER_CHUNK}",
                UserWarning,
                stacklevel=3,  # the caller of ChunkingProperties(...)
            )
            budget = MIN_BYTES_PER_CHUNK
        object.__setattr__(self, "max_bytes_per_chunk", budget)

    def tile_shape(self, frame_shape: Sequence[int]) -> tuple[int, int]:
        """The tile ``(height, width)`` for frames of ``frame_shape`` ``(height, width)``.

        Examples
        --------
        >>> ChunkingProperties(tile_width=640, tile_height=5000).tile_shape((1080, 1920))
        (1080, 640)
        """
        height, width = _check_frame_shape(frame_shape)
        return resolve_tile(height, self.tile_height), resolve_tile(width, self.tile_width)

    def frames_per_chunk(self, frame_shape: Sequence[int], dtype: DTypeLike) -> int:
        """How many frames one chunk stacks: floor(max_bytes_per_chunk / bytes per tile).

        Examples
        --------
        >>> ChunkingProperties(32, 18).frames_per_chunk((54, 96), "uint16")  # 16 MiB / 1152
        14563
        """
        tile_height, tile_width = self.tile_shape(frame_shape)
        itemsize = _check_dtype(dtype).itemsize
        return frames_per_chunk(self.max_bytes_per_chunk, tile_height * tile_width * itemsize)


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
    shard_chunks
        Zarr v3 only: turn on sharding, with this many chunks per shard along ``x`` and
        ``y``, as an ``(x, y)`` pair or one int for both. A shard always spans exactly
        one time-chunk (and the single channel), so every flush writes whole shards and
        never rewrites a shard that is already on disk. Each level's shard is clipped
        to that level's frame.
    overwrite
        Replace an existing ``filename``. Without it an existing path is an error, and
        nothing is written.

    Examples
    --------
    >>> storage = StorageProperties("out.zarr", zarr_version=3, compression="blosc-zstd",
    ...                             chunking=ChunkingProperties(640, 360), shard_chunks=3)
    >>> storage.shard_chunks, storage.pixel_scale_um
    ((3, 3), (1.0, 1.0))
    >>> StorageProperties("out.zarr", shard_chunks=(2, 2))
    Traceback (most recent call last):
    ...
    ValueError: shard_chunks=(2, 2) needs zarr_version=3 (got zarr_version=2): ...
    """

    filename: str | os.PathLike[str]
    _: KW_ONLY
    zarr_version: Literal[2, 3] = 2
    compression: ome.Compression = None
    chunking: ChunkingProperties = ChunkingProperties()  # frozen, so safely shared
    enable_multiscale: bool = False
    pixel_scale_um: tuple[float, float] = (1.0, 1.0)
    shard_chunks: int | tuple[int, int] | None = None
    overwrite: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise values in place, once
        set_(self, "filename", _check_filename(self.filename))
        if not _is_int(self.zarr_version) or self.zarr_version not in (2, 3):
            raise ValueError(f"zarr_version={self.zarr_version!r} must be 2 or 3")
        set_(self, "zarr_version", int(self.zarr_version))
        if self.compression not in ome.COMPRESSIONS:
            raise ValueError(
                f"compression={self.compression!r} must be one of {list(ome.COMPRESSIONS)}"
            )
        if not isinstance(self.chunking, ChunkingProperties):
            raise TypeError(
                f"chunking={self.chunking!r} must be a ChunkingProperties, "
                "e.g. ChunkingProperties(tile_width=640, tile_height=360)"
            )
        set_(self, "enable_multiscale", _check_bool("enable_multiscale", self.enable_multiscale))
        set_(self, "overwrite", _check_bool("overwrite", self.overwrite))
        set_(self, "pixel_scale_um", _check_pixel_scale(self.pixel_scale_um))
        set_(self, "shard_chunks", _check_shard_chunks(self.shard_chunks, self.zarr_version))


def _check_filename(filename: object) -> str:
    if not isinstance(filename, str | os.PathLike):
        raise TypeError(f"filename={filename!r} must be a path (str or os.PathLike)")
    path = os.fspath(filename)
    if not isinstance(path, str) or not path.strip():
        raise ValueError(f"filename={filename!r} must be a non-empty path")
    return path


def _check_pixel_scale(scale: object) -> tuple[float, float]:
    accepted = "an (x, y) pair of finite numbers > 0, in micrometers"
    if isinstance(scale, str) or not isinstance(scale, Sequence | np.ndarray):
        raise TypeError(f"pixel_scale_um={scale!r} must be {accepted}")
    values = tuple(scale)
    if len(values) != 2 or not all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) and v > 0
        for v in values
    ):
        raise ValueError(f"pixel_scale_um={scale!r} must be {accepted}")
    return float(values[0]), float(values[1])


def _check_shard_chunks(shard_chunks: object, zarr_version: int) -> tuple[int, int] | None:
    if shard_chunks is None:
        return None
    accepted = "None, an int >= 1 or an (x, y) pair of ints >= 1 (chunks per shard)"
    if _is_int(shard_chunks):
        values: tuple[Any, ...] = (shard_chunks, shard_chunks)
    elif isinstance(shard_chunks, Sequence) and not isinstance(shard_chunks, str):
        values = tuple(shard_chunks)
    else:
        raise TypeError(f"shard_chunks={shard_chunks!r} must be {accepted}")
    if len(values) != 2 or not all(_is_int(v) and v >= 1 for v in values):
        raise ValueError(f"shard_chunks={shard_chunks!r} must be {accepted}")
    if zarr_version != 3:
        raise ValueError(
            f"shard_chunks={shard_chunks!r} needs zarr_version=3 (got zarr_version="
            f"{zarr_version!r}): Zarr v2 has no sharding; use shard_chunks=None with v2"
        )
    return int(values[0]), int(values[1])


def _check_frame_shape(frame_shape: object) -> tuple[int, int]:
    accepted = "a (height, width) pair of integers >= 1, e.g. (1080, 1920)"
    if isinstance(frame_shape, str) or not isinstance(frame_shape, Sequence | np.ndarray):
        raise TypeError(f"frame_shape={frame_shape!r} must be {accepted}")
    values = tuple(frame_shape)
    if len(values) != 2 or not all(_is_int(v) and v >= 1 for v in values):
        raise ValueError(f"frame_shape={frame_shape!r} must be {accepted}")
    return int(values[0]), int(values[1])


def _check_dtype(dtype: object) -> np.dtype[Any]:
    accepted = f"one of {list(PIXEL_TYPES)}"
    try:
        parsed = np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(f"dtype={dtype!r} must be {accepted}") from None
    # np.dtype(None) is float64: refuse None explicitly along with the other types.
    if dtype is None or parsed.name not in PIXEL_TYPES:
        raise ValueError(f"dtype={dtype!r} must be {accepted}")
    return parsed


# -- the layout of the image ---------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """Everything about the arrays that is known before the first frame arrives."""

    frame_shapes: tuple[tuple[int, int], ...]  # (height, width) per level
    tiles: tuple[tuple[int, int], ...]  # (height, width) per level
    frames_per_chunk: tuple[int, ...]
    shard_tiles: tuple[int, int] | None  # (y, x) chunks per shard


def _plan_layout(
    storage: StorageProperties, frame_shape: tuple[int, int], dtype: np.dtype
) -> _Layout:
    tile = storage.chunking.tile_shape(frame_shape)
    frame_shapes = [frame_shape]
    # Acquire's stopping rule: add levels until both dimensions fit in one tile.
    while storage.enable_multiscale and (
        frame_shapes[-1][0] > tile[0] or frame_shapes[-1][1] > tile[1]
    ):
        frame_shapes.append(downsampled_shape(frame_shapes[-1], 2))  # type: ignore[arg-type]
    # Each level: the configured tile clipped to its frame, and its own frames per chunk.
    tiles = [(min(tile[0], h), min(tile[1], w)) for h, w in frame_shapes]
    per_chunk = [
        frames_per_chunk(storage.chunking.max_bytes_per_chunk, th * tw * dtype.itemsize, warn=False)
        for th, tw in tiles
    ]
    shard = storage.shard_chunks
    return _Layout(
        frame_shapes=tuple(frame_shapes),  # type: ignore[arg-type]
        tiles=tuple(tiles),
        frames_per_chunk=tuple(per_chunk),
        shard_tiles=None if shard is None else (shard[1], shard[0]),
    )


# -- one level of the pyramid ----------------------------------------------------------------


class _Level:
    """A level's zarr array, its time-chunk buffer and the frame waiting for its pair."""

    def __init__(self, index: int, array: zarr.Array, frame_shape: tuple[int, int],
                 per_chunk: int, dtype: np.dtype, n_buffers: int) -> None:
        self.index = index
        self.array = array
        self.frame_shape = frame_shape
        self.per_chunk = per_chunk
        # np.empty only reserves address space: pages become memory as frames fill them,
        # so a short stream with a large chunk uses only what it writes.
        self.buffers = [np.empty((per_chunk, 1, *frame_shape), dtype) for _ in range(n_buffers)]
        self.count = 0  # frames in buffers[0] not yet on disk
        self.flushed = 0  # frames on disk (= the array's persisted time extent)
        self.pending: NDArray | None = None  # a frame whose pair has not arrived yet

    @property
    def frames(self) -> int:
        return self.flushed + self.count


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
        If ``storage.filename`` exists and ``storage.overwrite`` is false. Nothing is
        written when any check fails.

    Notes
    -----
    Memory is bounded by the chunk buffers, whatever the number of frames: two
    time-chunks of full-resolution frames (one filling, one being written) and one
    time-chunk per coarser level, see `buffer_nbytes`.

    Level ``k`` frames exist only for complete pairs: ``n`` frames give
    ``n // 2**k`` frames at level ``k``. Time is in frames: the time scale of level
    ``k`` is ``2**k`` with a translation of ``(2**k - 1) / 2`` (the centre of the
    averaged frames), and space is in micrometers from ``pixel_scale_um``.

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
        self._frame_shape = _check_frame_shape(frame_shape)
        self._dtype = _check_dtype(dtype)
        self._layout = _plan_layout(storage, self._frame_shape, self._dtype)
        self._path = Path(storage.filename)
        # Build the metadata first: a setting ome refuses fails before the disk is touched.
        documents = self._metadata_documents(self._layout.frames_per_chunk)
        if self._path.exists() and not storage.overwrite:
            raise FileExistsError(
                f"filename={storage.filename!r} already exists; pass overwrite=True to "
                "StorageProperties to replace it, or choose another filename"
            )
        _create_store(self._path, documents)

        self._store = zarr.storage.LocalStore(self._path)
        group = zarr.open_group(self._store, mode="r+")
        self._levels = [
            _Level(k, group[str(k)], shape, per_chunk, self._dtype, 2 if k == 0 else 1)
            for k, (shape, per_chunk) in enumerate(
                zip(self._layout.frame_shapes, self._layout.frames_per_chunk, strict=True)
            )
        ]
        # One worker: chunks are written in order, and the caller waits when it is a
        # whole chunk ahead (a bounded queue of one chunk).
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zarr-writer")
        self._pool = ThreadPoolExecutor(max_workers=_DOWNSAMPLE_THREADS,
                                        thread_name_prefix="zarr-writer-downsample")
        self._job: Future[None] | None = None
        self._failure: BaseException | None = None
        self._appended = 0
        self._closed = False

    # -- what is being written ---------------------------------------------------------------

    @property
    def path(self) -> Path:
        """The path of the Zarr group."""
        return self._path

    @property
    def levels(self) -> int:
        """Number of levels: 1, or more with ``enable_multiscale``."""
        return len(self._levels)

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
        return tuple(tuple(level.array.chunks) for level in self._levels)

    @property
    def shards(self) -> tuple[tuple[int, ...], ...] | None:
        """Each level's shard shape ``(t, c, y, x)``, or None without sharding."""
        if self._storage.shard_chunks is None:
            return None
        return tuple(tuple(level.array.shards) for level in self._levels)  # type: ignore[arg-type]

    @property
    def shapes(self) -> tuple[tuple[int, ...], ...]:
        """Each level's array shape on disk: only frames whose chunks are written."""
        return tuple(tuple(level.array.shape) for level in self._levels)

    @property
    def frames_appended(self) -> int:
        """Frames given to `append` so far (on disk or still in a buffer)."""
        return self._appended

    @property
    def buffer_nbytes(self) -> int:
        """Bytes held by the chunk buffers: fixed when the writer is made."""
        return sum(buffer.nbytes for level in self._levels for buffer in level.buffers)

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
        level = self._levels[0]
        done = 0
        while done < len(frames):
            take = min(len(frames) - done, level.per_chunk - level.count)
            level.buffers[0][level.count : level.count + take, 0] = frames[done : done + take]
            level.count += take
            done += take
            self._appended += take
            if level.count == level.per_chunk:
                self._submit_full_chunk()

    def _as_stack(self, frame_or_stack: Any) -> NDArray:
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
            raise ValueError(f"the writer of {str(self._path)!r} is closed; make a new one")
        if self._failure is not None:
            raise RuntimeError(
                f"writing to {str(self._path)!r} failed earlier; the store holds the frames "
                f"flushed before the failure ({self.shapes[0][0]} at full resolution)"
            ) from self._failure

    def _submit_full_chunk(self) -> None:
        level = self._levels[0]
        full = level.buffers[0]
        # The other buffer is the one the previous job is writing: wait for it before
        # filling it again. This wait is what keeps memory bounded.
        self._wait_for_worker()
        self._job = self._executor.submit(self._process, full[: level.count])
        level.buffers.reverse()
        level.count = 0

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

    def _process(self, frames: NDArray) -> None:
        """Write a full-resolution time-chunk, then feed its pairs to the coarser levels.

        The pairs are averaged by a small thread pool *while* this thread writes the
        chunk: compression, file writes and `downsample`'s whole-array additions all
        release the GIL, so writing and averaging overlap.
        """
        level = self._levels[0]
        if len(self._levels) == 1:
            _write_frames(level, frames)
            return
        means = [self._pool.submit(downsample, pair, _LEVEL_FACTORS, "mean")
                 for pair in self._pairs(level, frames)]
        _write_frames(level, frames)
        for mean in means:
            self._receive(self._levels[1], mean.result())

    def _cascade(self, level: _Level, frames: NDArray) -> None:
        if level.index + 1 == len(self._levels):
            return
        for pair in self._pairs(level, frames):
            self._receive(self._levels[level.index + 1],
                          downsample(pair, _LEVEL_FACTORS, "mean"))

    def _pairs(self, level: _Level, frames: NDArray) -> Iterator[NDArray]:
        """Yield the complete pairs of frames, in time order, each as a (2, 1, h, w) stack.

        An unpaired last frame is kept (copied: the caller reuses its buffer) until the
        next call brings its partner.
        """
        start = 0
        if level.pending is not None and len(frames):
            yield np.concatenate([level.pending, frames[:1]])
            level.pending, start = None, 1
        end = start + (len(frames) - start) // 2 * 2
        for first in range(start, end, 2):
            yield frames[first : first + 2]
        if end < len(frames):
            level.pending = frames[end:].copy()

    def _receive(self, level: _Level, frames: NDArray) -> None:
        """Buffer a coarser level's frames, writing each time-chunk as it fills."""
        done = 0
        buffer = level.buffers[0]
        while done < len(frames):
            take = min(len(frames) - done, level.per_chunk - level.count)
            buffer[level.count : level.count + take] = frames[done : done + take]
            level.count += take
            done += take
            if level.count == level.per_chunk:
                _write_frames(level, buffer)
                level.count = 0
        self._cascade(level, frames)

    # -- closing -------------------------------------------------------------------------------

    def close(self) -> None:
        """Write what is buffered, trim each level to its frames and stop the worker.

        A level that received fewer frames than one chunk holds gets a time-chunk of
        exactly its frame count (1 for an empty level) before its data is written.
        Closing twice does nothing.

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
            for level in self._levels:
                level.buffers = []  # give the memory back now, not when the writer dies

    def _flush_remaining(self) -> None:
        first = self._levels[0]
        if first.flushed == 0:
            self._shrink_time_chunk(first)
        if first.count:
            count, first.count = first.count, 0
            self._process(first.buffers[0][:count])
        for level in self._levels[1:]:
            if level.flushed == 0:
                self._shrink_time_chunk(level)
            if level.count:
                _write_frames(level, level.buffers[0][: level.count])
                level.count = 0

    def _shrink_time_chunk(self, level: _Level) -> None:
        """Give a level that never flushed a time-chunk of its frame count.

        Nothing of this level is on disk yet, so rewriting its array metadata (built by
        `ome`, as at creation) changes no data.
        """
        frames = max(level.count, 1)
        if frames == level.per_chunk:
            return
        per_chunk = list(self._layout.frames_per_chunk)
        for other in self._levels:
            per_chunk[other.index] = other.array.chunks[0]
        per_chunk[level.index] = frames
        prefix = f"{level.index}/"
        for key, data in self._metadata_documents(per_chunk).items():
            if key.startswith(prefix):
                _replace_file(self._path / key, data)
        level.array = zarr.open_array(self._store, path=str(level.index), mode="r+")
        level.per_chunk = frames

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
            f"<ZarrStreamWriter {str(self._path)!r} {state}: {self._appended} frames of "
            f"{self._frame_shape} {self._dtype.name}, {self.levels} level(s)>"
        )

    # -- metadata --------------------------------------------------------------------------------

    def _metadata_documents(self, per_chunk: Sequence[int]) -> dict[str, bytes]:
        """The store's metadata files, as `ome` writes them, with every array at t = 0.

        The model is built with a time extent of one chunk and then resized to 0 frames:
        ome clips shards to the array, and would clip an empty array's shard to nothing.
        """
        layout, storage = self._layout, self._storage
        chunks = [(t, 1, *tile) for t, tile in zip(per_chunk, layout.tiles, strict=True)]
        shards = None
        if layout.shard_tiles is not None:
            sy, sx = layout.shard_tiles
            shards = [(t, 1, th * sy, tw * sx) for t, _, th, tw in chunks]
        x_um, y_um = storage.pixel_scale_um
        scales, translations = ome.level_transforms(
            [1.0, 1.0, y_um, x_um], [_LEVEL_FACTORS] * (len(chunks) - 1), method="mean"
        )
        model = ome.image_model(
            shapes=[(t, 1, *hw) for t, hw in zip(per_chunk, layout.frame_shapes, strict=True)],
            dtype=self._dtype,
            chunks=chunks,
            axes=AXES,
            scales=scales,
            translations=translations,
            zarr_version=storage.zarr_version,
            compression=storage.compression,
            shard_shapes=shards,
            space_unit="micrometer",
            name=Path(storage.filename).stem or "image",
            method="mean",
        )
        documents: dict[str, Any] = {}
        group = ome.create_image(zarr.storage.MemoryStore(documents), model)
        for k, shape in enumerate(layout.frame_shapes):
            group[str(k)].resize((0, 1, *shape))
        return {key: buffer.to_bytes() for key, buffer in documents.items()}


def _write_frames(level: _Level, frames: NDArray) -> None:
    """Write frames after the ones on disk, then grow the array's shape to cover them.

    Zarr writes only inside an array's shape, and growing the shape first would let a
    reader (or a crash) see frames that are not on disk yet. So the chunks go through a
    view: an in-memory `zarr.AsyncArray` over the same store path whose metadata, made
    with the public ``metadata.update_shape``, already has the new shape. Nothing about
    the view is saved; only ``resize`` on the real array, after the data, writes the
    metadata file (and a growing resize deletes nothing).
    """
    array = level.array
    start = level.flushed
    shape = (start + len(frames), 1, *level.frame_shape)
    view = zarr.Array(
        zarr.AsyncArray(
            metadata=array.metadata.update_shape(shape),
            store_path=array.store_path,
            # Every chunk is worth writing (a dark frame is still data), and it saves
            # zarr a pass over each chunk to check whether it is all fill value.
            config=dataclasses.replace(array.config, write_empty_chunks=True),
        )
    )
    view[start:] = frames
    array.resize(shape)
    level.flushed = shape[0]


def _create_store(path: Path, documents: dict[str, bytes]) -> None:
    """Write the metadata into a hidden sibling directory, then rename it into place.

    The rename is atomic: ``path`` is either the old store or the complete new one.
    """
    staging = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    try:
        for key, data in documents.items():
            target = staging / key
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)  # overwrite=True was checked by the caller
        elif path.exists() or path.is_symlink():
            path.unlink()
        staging.rename(path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _replace_file(path: Path, data: bytes) -> None:
    # A temporary file renamed over the old one: readers see the old or the new file.
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    temporary.write_bytes(data)
    os.replace(temporary, path)


# -- streaming from a camera --------------------------------------------------------------------


class _Camera(Protocol):
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
        return _check_frame_shape(tuple(camera.frame_shape)), _check_dtype(camera.dtype)
    if hasattr(camera, "shape") and hasattr(camera, "pixel_type"):
        width, height = camera.shape  # Acquire's (width, height)
        return _check_frame_shape((height, width)), _check_dtype(camera.pixel_type)
    raise TypeError(
        f"camera={camera!r} must have .frames(n) and either .frame_shape and .dtype or "
        ".shape (width, height) and .pixel_type, like data_helpers.camera.SimulatedCamera"
    )


@contextmanager
def _progress_bar(enabled: bool, total: int, description: str) -> Iterator[Callable[[], None]]:
    if not enabled:
        yield lambda: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("frames"), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns) as bar:
        task = bar.add_task(description, total=total)
        yield lambda: bar.advance(task)


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
    count = _check_int("max_frame_count", max_frame_count, 0, "an integer >= 0")
    if not hasattr(camera, "frames"):
        raise TypeError(f"camera={camera!r} must have a .frames(n) method")
    frame_shape, dtype = _camera_format(camera)
    start = time.perf_counter()
    with (
        ZarrStreamWriter(storage, frame_shape=frame_shape, dtype=dtype) as writer,
        _progress_bar(progress, count, f"streaming {Path(storage.filename).name}") as advance,
    ):
        for frame in camera.frames(count):
            writer.append(frame)
            advance()
    seconds = time.perf_counter() - start
    frames = writer.frames_appended
    return StreamStats(
        frames_written=frames,
        bytes_written=frames * math.prod(frame_shape) * dtype.itemsize,
        seconds=seconds,
        shapes=writer.shapes,
    )
