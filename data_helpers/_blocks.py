"""Writing dask arrays into Zarr arrays block by block: what every out-of-core writer shares.

`build_pyramid`, `map_tiles` and `write_labels` all compute a lazy dask array whose
blocks are the target's *write blocks* (a chunk, or a shard on sharded Zarr v3) and
write each block with its own task. This module holds the pieces they share:

* `store` writes a lazy array in batches of rows of blocks, so the dask graph stays
  small whatever the image, and a progress bar can move between batches;
* `writer` is the object the tasks write into (skipping blocks that hold only the fill
  value, as zarr would, for a fraction of zarr's cost);
* `finished_tasks` gives the threaded scheduler a pool of its own and waits for all of
  it on exit, so that no straggler writes after a failed writer has cleaned up;
* `codec_threads` sizes zarr's codec pool to the cores; `progress_bar` is the rich bar.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import dask
import dask.array as da
import dask.threaded
import numpy as np
import zarr
from numpy.typing import NDArray
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = [
    "BLOCKS_PER_GRAPH",
    "Bar",
    "SkipEmptyChunks",
    "codec_threads",
    "finished_tasks",
    "progress_bar",
    "scheduler_options",
    "store",
    "write_blocks",
    "writer",
]

#: Blocks per dask graph when no progress bar asks for smaller batches.
BLOCKS_PER_GRAPH = 1024


def write_blocks(array: zarr.Array[Any]) -> tuple[int, ...]:
    """The unit of a write that no other write touches: a shard if sharded, else a chunk."""
    return tuple(array.shards or array.chunks)



def store(
    lazy: da.Array, target: zarr.Array[Any], bar: Bar | None, label: str,
    pool: ThreadPoolExecutor | None = None,
) -> None:
    """Write ``lazy`` into ``target``; its blocks must be ``target``'s write blocks.

    No lock: every task writes whole chunks (or shards) of its own. With a ``pool`` (see
    `finished_tasks`), dask's threaded scheduler runs the tasks in it; without, dask
    uses the active ``distributed`` client if there is one, else threads.
    The blocks go in batches of whole rows of blocks (along the first axis): each batch
    is a graph of at most about `BLOCKS_PER_GRAPH` tasks, so the graph, too, stays
    small whatever the image size, and the progress bar moves after each batch.
    """
    scheduler = scheduler_options(pool)
    per_row = math.prod(lazy.numblocks[1:])
    limit = bar.batch_size if bar is not None else BLOCKS_PER_GRAPH
    rows_per_batch = max(1, limit // per_row)
    edges = np.cumsum((0, *lazy.chunks[0]))
    n_rows = lazy.numblocks[0]
    task = None
    if bar is not None:
        task = bar.progress.add_task(f"{label} {tuple(target.shape)}", total=lazy.npartitions)
    for first in range(0, n_rows, rows_per_batch):
        last = min(first + rows_per_batch, n_rows)
        region = (slice(int(edges[first]), int(edges[last])),) + (slice(None),) * (lazy.ndim - 1)
        # dask's annotation wants an array-like; anything with __setitem__ is what it uses.
        da.store(lazy[region], cast(Any, writer(target)), regions=region, lock=False,
                 **scheduler)
        if bar is not None and task is not None:
            bar.progress.advance(task, (last - first) * per_row)


def scheduler_options(pool: ThreadPoolExecutor | None) -> dict[str, Any]:
    """The keywords that make a dask compute (or store) run in ``pool``, if there is one."""
    return {} if pool is None else {"scheduler": "threads", "pool": pool}


def writer(target: zarr.Array[Any]) -> zarr.Array[Any] | SkipEmptyChunks:
    """The object dask writes blocks into (see `SkipEmptyChunks`)."""
    if target.shards is not None:
        return target  # zarr skips a shard's empty inner chunks itself
    return SkipEmptyChunks(target.with_config({"write_empty_chunks": True}))


@dataclass(frozen=True)
class SkipEmptyChunks:
    """A write target that leaves out blocks holding only the fill value, as zarr does.

    Why: zarr compares every chunk it writes with the fill value in a way that costs
    nearly as much as compressing the chunk. Our blocks are whole chunks, so one fast
    ``any()`` per block gives the same store (a missing chunk reads as the fill value)
    for a small fraction of that work. As zarr does, a float block counts as the fill
    value only bit for bit: a block of ``-0.0`` equals a fill value of ``0.0`` but is
    not it, and is written (else it would read back as ``+0.0``).
    """

    array: zarr.Array[Any]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    @property
    def dtype(self) -> np.dtype[Any]:
        return np.dtype(self.array.dtype)

    @property
    def ndim(self) -> int:
        return self.array.ndim

    def __setitem__(self, region: tuple[slice, ...], block: NDArray[Any]) -> None:
        fill = self.array.fill_value
        empty = not block.any() if fill == 0 else bool((block == fill).all())
        if empty and block.dtype.kind == "f":
            # Equal is not enough for floats: -0.0 == 0.0. Their signs must match too.
            empty = bool((np.signbit(block) == np.signbit(fill)).all())
        if not empty:
            self.array[region] = block


@contextmanager
def codec_threads() -> Iterator[None]:
    """Size zarr's codec thread pool to the cores, unless the user has chosen a size.

    Why: by default zarr compresses in asyncio's pool of ``cores + 4`` threads. Our dask
    threads already keep every core busy, and each extra thread keeps its own malloc
    arena of freed chunk buffers: with 2 cores, this setting cuts peak memory by about
    a fifth. zarr creates its pool once per process, on first use after the setting, so
    the size chosen here stays for the rest of the process.
    """
    if zarr.config.get("threading.max_workers", None) is not None:
        yield
        return
    with zarr.config.set({"threading.max_workers": os.cpu_count() or 1}):
        yield


@contextmanager
def finished_tasks() -> Iterator[ThreadPoolExecutor | None]:
    """A pool of our own for the threaded scheduler, waited for in full on exit.

    Why: when one task fails, dask raises at once while the other threads finish their
    tasks, and those would write chunks into the staging folder after it was deleted
    (zarr makes the folders again). Waiting for the pool first means that nothing writes
    once `build_pyramid` has raised.

    The pool is given to each store (`store`), not set in dask's configuration: that is
    global to the process, and two writers in two threads would each restore, on exit,
    what the other had set (a pool already shut down). No scheduler chosen at all
    (``get_scheduler()`` is None) means dask's default for arrays, threads. On a
    ``distributed`` cluster (or another scheduler the user chose) the pool is None: the
    cluster runs the tasks.
    """
    scheduler = dask.base.get_scheduler()
    if scheduler is not None and scheduler is not dask.threaded.get:
        yield None
        return
    pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1,
                              thread_name_prefix="build-pyramid")
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class Bar:
    """A rich progress display, and how many blocks to write between two updates."""

    progress: Progress
    batch_size: int


@contextmanager
def progress_bar(show: bool, unit: str = "blocks") -> Iterator[Bar | None]:
    """The package's rich progress bar (or None when ``show`` is false), counting ``unit``."""
    if not show:
        yield None
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn(unit), TimeElapsedColumn(), TimeRemainingColumn(),
    )
    # Enough blocks per batch to keep every core busy between two updates of the bar.
    batch_size = max(4, 2 * (os.cpu_count() or 1))
    with progress:
        yield Bar(progress, batch_size)

