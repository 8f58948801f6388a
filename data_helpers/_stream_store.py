"""The store a stream is written into: created whole, then grown one time-chunk at a time.

This module owns the streaming writer's crash-safety rules; `data_helpers.writer` decides
what is written when, and this module how it reaches the disk:

* The group is created with every array empty (``t = 0``) in a hidden folder and
  renamed into place by `data_helpers._destination`, which also refuses a destination
  that is not the package's to replace and holds the destination's lock until `close`,
  so a second writer is refused.
* `append_frames` writes a time-chunk's data *first* and grows the array's shape
  *after*: the metadata on disk describes exactly the frames whose chunks are on disk,
  so a process killed at any moment leaves a store that opens, validates and holds
  every frame appended so far. Zarr's local store writes every file under a temporary
  name and renames it, so no reader sees half a chunk or half a metadata document.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, cast

import numpy as np
import zarr
from numpy.typing import NDArray
from ome_zarr_models.v04 import Image as ImageV04
from ome_zarr_models.v05 import Image as ImageV05

from data_helpers import _destination, ome

__all__ = ["StreamStore", "append_frames"]

#: Threads that copy and write the blocks of one append concurrently (see `append_frames`).
WRITE_THREADS = max(2, min(4, os.cpu_count() or 1))

#: Builds the image's model for given time-chunks, one per level, with every array empty.
ModelFor = Callable[[Sequence[int]], ImageV04 | ImageV05]


def append_frames(
    array: zarr.Array[Any], frames: NDArray[Any], *, executor: Executor | None = None
) -> None:
    """Write ``frames`` after the ones on disk (axis 0), then grow the shape to cover them.

    Zarr writes only inside an array's shape, and growing the shape first would let a
    reader (or a crash) see frames that are not on disk yet. So the chunks go through a
    view: an in-memory `zarr.AsyncArray` over the same store path whose metadata, made
    with the public ``metadata.update_shape``, already has the new shape. Nothing about
    the view is saved; only ``resize`` on the real array, after the data, writes the
    metadata document (and a growing resize deletes nothing).

    The frames are written one chunk (or, with sharding, one shard) at a time, each
    from a contiguous copy of its block: zarr then encodes the block as it is, where a
    region spanning several chunks would be split by zarr into a fill-valued buffer per
    chunk (``numpy.full``, then a copy) on its one event-loop thread. With an
    ``executor`` the blocks are copied and written concurrently (copies, compression
    and file writes release the GIL); every block is on disk before the shape grows.
    The store's bytes are the same either way.

    Examples
    --------
    >>> import numpy as np
    >>> array = zarr.create_array(zarr.storage.MemoryStore(), shape=(0, 4), chunks=(2, 4),
    ...                           dtype="uint8")
    >>> append_frames(array, np.ones((2, 4), np.uint8))
    >>> append_frames(array, np.full((3, 4), 2, np.uint8))
    >>> array.shape, array[:, 0].tolist()
    ((5, 4), [1, 1, 2, 2, 2])
    """
    start = array.shape[0]
    shape = (start + len(frames), *array.shape[1:])
    view = zarr.Array(
        zarr.AsyncArray(
            metadata=cast(Any, array.metadata).update_shape(shape),
            store_path=array.store_path,
            # Every chunk is worth writing (a dark frame is still data), and it saves
            # zarr a pass over each chunk to check whether it is all fill value.
            config=dataclasses.replace(array.config, write_empty_chunks=True),
        )
    )

    def write(block: tuple[slice, ...]) -> None:
        local = (slice(block[0].start - start, block[0].stop - start), *block[1:])
        view[block] = np.ascontiguousarray(frames[local])

    blocks = list(_blocks(start, shape, tuple(array.shards or array.chunks)))
    if executor is None or len(blocks) == 1:
        for block in blocks:
            write(block)
    else:
        # Wait for every block (even after a failure) before anything else happens.
        futures = [executor.submit(write, block) for block in blocks]
        wait(futures)
        for future in futures:
            future.result()
    array.resize(shape)


def _blocks(
    start: int, shape: tuple[int, ...], grid: tuple[int, ...]
) -> Iterator[tuple[slice, ...]]:
    """The parts of ``[start:shape[0]]`` (whole along the other axes), one per ``grid`` block.

    Examples
    --------
    >>> [(t.start, t.stop, x.start, x.stop) for t, x in _blocks(1, (5, 5), (2, 3))]
    [(1, 2, 0, 3), (1, 2, 3, 5), (2, 4, 0, 3), (2, 4, 3, 5), (4, 5, 0, 3), (4, 5, 3, 5)]
    """
    stop = shape[0]
    first = start - start % grid[0]
    per_axis = [[slice(max(t, start), min(t + grid[0], stop)) for t in range(first, stop,
                                                                             grid[0])]]
    per_axis += [[slice(i, min(i + g, n)) for i in range(0, n, g)]
                 for n, g in zip(shape[1:], grid[1:], strict=True)]
    yield from itertools.product(*per_axis)


class StreamStore:
    """An OME-Zarr image on disk whose levels grow along time, one chunk at a time.

    Parameters
    ----------
    dest
        Where the image goes (checked and locked by `data_helpers._destination`).
    model_for
        Builds the image's model (with `ome.image_model`) for given time-chunks.
    frames_per_chunk
        Each level's time-chunk, as first created.
    overwrite
        Replace an existing Zarr store at ``dest``.
    """

    def __init__(
        self, dest: object, model_for: ModelFor, frames_per_chunk: Sequence[int], *,
        overwrite: bool,
    ) -> None:
        self._model_for = model_for
        self._destination = _destination.Destination(dest, overwrite=overwrite, name="filename")
        try:
            ome.create_image(
                zarr.storage.LocalStore(self._destination.staging), model_for(frames_per_chunk)
            )
            self._destination.commit()
        except BaseException:
            self._destination.release()
            raise
        self.path: Path = self._destination.path
        self._store = zarr.storage.LocalStore(self.path)
        group = zarr.open_group(self._store, mode="r+")
        self.arrays = [ome.level_array(group, str(k)) for k in range(len(frames_per_chunk))]
        self._executor = ThreadPoolExecutor(max_workers=WRITE_THREADS,
                                            thread_name_prefix="zarr-writer-block")

    def frames(self, level: int) -> int:
        """Frames of ``level`` on disk (the array's stored time extent)."""
        return int(self.arrays[level].shape[0])

    def time_chunk(self, level: int) -> int:
        """Frames per chunk of ``level``."""
        return int(self.arrays[level].chunks[0])

    def append(self, level: int, frames: NDArray[Any]) -> None:
        """Write ``frames`` ``(n, 1, h, w)`` after the frames of ``level`` on disk."""
        append_frames(self.arrays[level], frames, executor=self._executor)

    def set_time_chunk(self, level: int, frames: int) -> None:
        """Give a level that has no frame on disk yet a time-chunk of ``frames``.

        Nothing of this level is on disk, so rewriting its array metadata (built by
        `ome`, as at creation) changes no data. Each document is replaced atomically.
        """
        if self.frames(level):
            raise RuntimeError(f"level {level} already has frames on disk")
        if frames == self.time_chunk(level):
            return
        per_chunk = [self.time_chunk(k) for k in range(len(self.arrays))]
        per_chunk[level] = frames
        documents: dict[str, Any] = {}
        ome.create_image(zarr.storage.MemoryStore(documents), self._model_for(per_chunk))
        prefix = f"{level}/"
        for key, buffer in documents.items():
            if key.startswith(prefix):
                _replace_file(self.path / key, buffer.to_bytes())
        self.arrays[level] = zarr.open_array(self._store, path=str(level), mode="r+")

    def close(self) -> None:
        """Release the destination's lock (the data is already on disk)."""
        self._executor.shutdown(wait=True)
        self._destination.release()


def _replace_file(path: Path, data: bytes) -> None:
    # A temporary file renamed over the old one: readers see the old or the new file.
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    temporary.write_bytes(data)
    os.replace(temporary, path)
