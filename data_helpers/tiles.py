"""Processing an image too big for memory, chunk by chunk, with halos, into a new array.

`map_tiles` applies a function to every chunk of an image and writes the results, chunk
aligned, to a new Zarr array. A function that looks at neighbours (a filter, a
morphological operation) needs pixels from beyond its chunk: each chunk is given a
*halo* of ``depth`` pixels from its neighbours, and pixels beyond the image edge are made
up by a ``boundary`` rule. The result is then exactly that of the function applied to
the whole image, padded the same way: no seams, whatever the chunking.

How the work is done
--------------------
* The source is read as a dask array cut into the output's write blocks (a chunk, or a
  shard on sharded Zarr v3), and dask's own `dask.array.map_overlap` adds the halos and
  the boundary and trims them after the function: its ``"reflect"``, ``"nearest"`` and
  constant boundaries are scipy.ndimage's ``"reflect"``, ``"nearest"`` and ``"constant"``.
* Blocks are written in batches, each a small dask graph, so memory holds a few blocks
  with their halos per worker, whatever the size of the image, and the work runs on the
  active scheduler: threads, or a ``dask.distributed`` cluster.
* What we add to dask: the result is written aside and swapped in only when complete
  (`data_helpers._destination`), and every finished batch is recorded, so that
  ``resume=True`` after an interruption (even a killed process) computes only the
  blocks that are missing.
"""

from __future__ import annotations

import inspect
import itertools
import json
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import dask.array as da
import numpy as np
import zarr
from dask.array.overlap import ensure_minimum_chunksize
from numpy.typing import NDArray

from data_helpers import _blocks, _destination, ome
from data_helpers._checks import (
    Compression,
    ZarrVersion,
    as_bool,
    as_compression,
    as_dtype,
    as_int,
    as_ints,
    as_zarr_version,
    check_known_shape,
    check_sharding,
    one_of,
)
from data_helpers.chunking import auto_chunks, chunk_regions
from data_helpers.multiscale import MultiscaleImage
from data_helpers.pyramid import DEFAULT_CHUNK_BYTES

__all__ = ["BOUNDARIES", "Boundary", "map_tiles"]

#: The type of `map_tiles`'s ``boundary``, one of `BOUNDARIES`.
Boundary = Literal["reflect", "nearest", "constant"]
#: What lies beyond the image edge, as in scipy.ndimage (mirror with the edge pixel
#: repeated, the edge pixel repeated, or zeros).
BOUNDARIES: tuple[Boundary, ...] = ("reflect", "nearest", "constant")

#: The name of the array attribute that records how a result was made (and that a
#: resumed run checks).
PROVENANCE_KEY = "data_helpers.map_tiles"

# The folder, inside the staging store, that records the finished blocks.
_DONE = ".blocks_done"

# Output bytes per dask graph (a batch of neighbouring blocks). Memory holds about one
# batch's blocks with their halos; the blocks around a batch are read again by the next
# one, so larger batches read less twice. Measured in benchmarks/bench_tiles.py.
_BATCH_BYTES = 128 * 2**20

SourceArray = NDArray[Any] | zarr.Array[Any] | da.Array | MultiscaleImage


def map_tiles(
    func: Callable[..., NDArray[Any]],
    source: SourceArray,
    dest: str | os.PathLike[str],
    *,
    depth: int | Sequence[int] | Mapping[int, int] = 0,
    boundary: Boundary = "reflect",
    dtype: Any = None,
    chunks: Sequence[int] | None = None,
    zarr_version: ZarrVersion = 3,
    compression: Compression = "blosc-zstd",
    shard_chunks: int | Sequence[int] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
) -> zarr.Array[Any]:
    """Apply ``func`` to every chunk of ``source``, with a halo, into a new Zarr array.

    Parameters
    ----------
    func
        Takes a numpy block (a chunk with its halo) and returns a numpy block of the same
        shape, of dtype ``dtype``. It must look no further than ``depth`` pixels from
        any pixel, and give the same result for the same pixels (it may be called again
        for a block after an interruption). A ``func`` with a parameter named
        ``origin`` is also given the image coordinates of the block's first pixel,
        halo included (negative at the image's start, where the halo is made up by
        ``boundary``): for labels named after their position, say.
    source
        A numpy, zarr or dask array, or a `MultiscaleImage` (its level 0; pass
        ``image.level(i)`` for another level). It is read chunk by chunk.
    dest
        The new Zarr array's folder. The package's data-safety rules apply: only a Zarr
        store is ever replaced (with ``overwrite=True``), never the source, and the
        result appears at ``dest`` only when it is complete.
    depth
        The halo, in pixels: one int for every axis, one per axis, or a mapping of axis
        index to int (other axes 0). At most the chunk size along each axis.
    boundary
        What lies beyond the image edge: ``"reflect"`` (mirror, the edge pixel repeated:
        scipy.ndimage's ``"reflect"``), ``"nearest"`` (the edge pixel) or ``"constant"``
        (zeros).
    dtype
        The dtype ``func`` returns; the source's by default.
    chunks
        The output's chunk shape; by default the source's (a zarr or dask source), or
        near-cubic chunks of 2 MiB (a numpy source).
    zarr_version, compression, shard_chunks
        The output format: Zarr v3 (default) or v2, ``None``, ``"blosc-lz4"`` or
        ``"blosc-zstd"``, and on v3 optional sharding with this many chunks per shard
        (one int for every axis, or one per axis). Writes are whole shards then.
    resume
        Finish an interrupted run with the same ``func``, ``source`` and settings:
        only the blocks not yet written are computed. Without a run to resume, start one.
    overwrite
        Replace an existing Zarr store at ``dest``.
    progress
        Show a rich progress bar.

    Returns
    -------
    zarr.Array
        The result, opened read-only at ``dest``. Its attributes record how it was made
        (``attrs["data_helpers.map_tiles"]``).

    Raises
    ------
    ValueError, TypeError
        For a bad setting, naming it, before anything is written; and when ``func``
        returns a block of another shape or dtype (nothing reaches ``dest`` then).

    Notes
    -----
    The result equals ``func`` applied to the whole image padded by ``depth`` with
    ``boundary``, then cropped, for any ``func`` that looks no further than ``depth``.
    Memory holds a few write blocks with their halos per worker thread. A run that
    fails, or is killed, leaves ``dest`` as it was; its partial result stays in the
    hidden folder ``.NAME.resumable.partial`` beside ``dest`` for ``resume=True``
    (``resume=False`` deletes it and starts again).

    Examples
    --------
    A 3 x 3 mean filter, chunk by chunk, equals the filter applied to the whole image:

    >>> import tempfile
    >>> from scipy import ndimage
    >>> image = np.arange(60 * 50, dtype=np.float32).reshape(60, 50) % 17
    >>> smooth = lambda block: ndimage.uniform_filter(block, size=3, mode="reflect")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     result = map_tiles(smooth, image, f"{tmp}/smooth.zarr", depth=1, chunks=(16, 16))
    ...     print(result.shape, result.chunks, np.allclose(result[...], smooth(image)))
    (60, 50) (16, 16) True
    """
    if not callable(func):
        raise TypeError(f"func={func!r} must be a function of a numpy block")
    plan = _plan(source, depth=depth, boundary=boundary, dtype=dtype, chunks=chunks,
                 zarr_version=zarr_version, compression=compression, shard_chunks=shard_chunks)
    resume = as_bool("resume", resume)
    as_bool("overwrite", overwrite)
    as_bool("progress", progress)
    provenance = _provenance(func, plan)
    if resume:
        finished = _finished_result(dest, provenance)
        if finished is not None:
            return finished  # an earlier run completed: nothing is missing

    with _destination.Destination(dest, overwrite=overwrite, source=plan.source,
                                  resumable=True) as destination:
        target = _open_resumable(destination, plan, provenance) if resume else None
        if target is None:
            destination.clear_staging()
            spec = ome.array_spec(plan.shape, plan.dtype, plan.chunks,
                                  zarr_version=plan.zarr_version, compression=plan.compression,
                                  shard_shape=plan.shards)
            target = spec.to_zarr(zarr.storage.LocalStore(destination.staging), path="")
            target.attrs.put({PROVENANCE_KEY: provenance})
            (destination.staging / _DONE).mkdir()
        result = _lazy_result(func, plan)
        done = destination.staging / _DONE
        with (_blocks.codec_threads(), _blocks.finished_tasks() as pool,
              _blocks.progress_bar(progress) as bar):
            task = None
            if bar is not None:
                task = bar.progress.add_task(f"map_tiles {plan.shape}",
                                             total=math.prod(result.numblocks))
            writer = _RecordingWriter(_blocks.writer(target), done, plan.blocks)
            for batch in _batches(result.numblocks, plan.dtype.itemsize * math.prod(plan.blocks)):
                todo = [index for index in batch if not (done / _block_name(index)).exists()]
                if todo:
                    _store_blocks(result, writer, todo, pool)
                if bar is not None and task is not None:
                    bar.progress.advance(task, len(batch))
        destination.remove_from_staging(_DONE)
        destination.commit()
    return zarr.open_array(zarr.storage.LocalStore(destination.path, read_only=True))


# -- the settings --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """Everything `map_tiles` decided before it writes a byte."""

    source: NDArray[Any] | zarr.Array[Any] | da.Array
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    chunks: tuple[int, ...]
    shards: tuple[int, ...] | None
    depth: tuple[int, ...]
    boundary: Boundary
    zarr_version: ZarrVersion
    compression: Compression

    @property
    def blocks(self) -> tuple[int, ...]:
        """The unit of one write: a shard if sharded, else a chunk."""
        return self.shards or self.chunks


def _plan(source: Any, **settings: Any) -> _Plan:
    if isinstance(source, MultiscaleImage):
        source = source.level(0)
    if not isinstance(source, np.ndarray | zarr.Array | da.Array):
        raise TypeError(
            f"source={type(source).__name__} object must be a numpy, zarr or dask array, "
            "or a MultiscaleImage"
        )
    if source.dtype.kind not in "biuf":
        raise TypeError(f"source must hold booleans, integers or floats, not {source.dtype}")
    check_known_shape("source", source.shape)
    shape = tuple(int(n) for n in source.shape)
    if not shape or min(shape) == 0:
        raise ValueError(f"source must have at least one axis and no empty axis, not {shape}")
    ndim = len(shape)
    dtype = source.dtype if settings["dtype"] is None else as_dtype("dtype", settings["dtype"])
    zarr_version = as_zarr_version(settings["zarr_version"])
    compression = as_compression(settings["compression"])
    boundary = one_of("boundary", settings["boundary"], BOUNDARIES)

    if settings["chunks"] is not None:
        chunks = as_ints("chunks", settings["chunks"], ndim, minimum=1,
                         accepted=f"one integer >= 1 per axis ({ndim})")
    elif isinstance(source, zarr.Array):
        chunks = tuple(int(c) for c in source.chunks)
    elif isinstance(source, da.Array):
        chunks = tuple(int(c) for c in source.chunksize)
    else:
        chunks = auto_chunks(shape, dtype.itemsize,
                             target_bytes=max(DEFAULT_CHUNK_BYTES, dtype.itemsize))
    chunks = tuple(min(c, n) for c, n in zip(chunks, shape, strict=True))

    shards = None
    if settings["shard_chunks"] is not None:
        check_sharding("shard_chunks", settings["shard_chunks"], zarr_version)
        per_shard = _per_axis("shard_chunks", settings["shard_chunks"], ndim, minimum=1)
        shards = tuple(min(c * k, math.ceil(n / c) * c)
                       for c, k, n in zip(chunks, per_shard, shape, strict=True))

    depth = _depth(settings["depth"], ndim)
    blocks = shards or chunks
    for axis, (d, b) in enumerate(zip(depth, blocks, strict=True)):
        if d > b:  # blocks are clipped to the image, so the halo never passes the image
            raise ValueError(
                f"depth={settings['depth']!r} is {d} on axis {axis}, more than the write "
                f"block ({b}) there: a halo may reach only into the neighbouring blocks. "
                "Use larger chunks or a smaller depth"
            )
    return _Plan(source=source, shape=shape, dtype=dtype, chunks=chunks, shards=shards,
                 depth=depth, boundary=boundary, zarr_version=zarr_version,
                 compression=compression)


def _per_axis(name: str, value: object, ndim: int, *, minimum: int) -> tuple[int, ...]:
    if isinstance(value, Sequence | np.ndarray) and not isinstance(value, str):
        return as_ints(name, value, ndim, minimum=minimum,
                       accepted=f"an integer >= {minimum}, or one per axis ({ndim})")
    return (as_int(name, value, minimum=minimum,
                   accepted=f"an integer >= {minimum}, or one per axis ({ndim})"),) * ndim


def _depth(depth: object, ndim: int) -> tuple[int, ...]:
    if isinstance(depth, Mapping):
        per_axis = [0] * ndim
        for axis, value in depth.items():
            if isinstance(axis, bool) or not isinstance(axis, int) or not -ndim <= axis < ndim:
                raise ValueError(
                    f"depth={depth!r} names axis {axis!r}; the axes of the source are "
                    f"{-ndim} to {ndim - 1}"
                )
            per_axis[axis] = as_int(f"depth[{axis!r}]", value, minimum=0)
        return tuple(per_axis)
    return _per_axis("depth", depth, ndim, minimum=0)


def _provenance(func: Callable[..., Any], plan: _Plan) -> dict[str, Any]:
    """What the result is made of: a resumed run must match it exactly."""
    return {
        "func": f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}",
        "source_shape": list(plan.shape),
        "source_dtype": str(np.dtype(plan.source.dtype)),
        "dtype": str(plan.dtype),
        "chunks": list(plan.chunks),
        "shards": None if plan.shards is None else list(plan.shards),
        "depth": list(plan.depth),
        "boundary": plan.boundary,
        "zarr_version": plan.zarr_version,
        "compression": plan.compression,
    }


def _finished_result(dest: object, provenance: dict[str, Any]) -> zarr.Array[Any] | None:
    """The completed result at ``dest`` of a run with these settings, if there is one."""
    path = Path(os.fspath(dest))  # type: ignore[call-overload]
    if not _destination.is_zarr_store(path):
        return None
    try:
        array = zarr.open_array(zarr.storage.LocalStore(path, read_only=True))
    except (FileNotFoundError, ValueError, zarr.errors.BaseZarrError):
        return None
    if _same(array.attrs.get(PROVENANCE_KEY), provenance):
        return array
    return None


def _same(recorded: object, provenance: dict[str, Any]) -> bool:
    # Compared as JSON, as stored: tuples are lists there.
    return bool(json.loads(json.dumps(recorded)) == json.loads(json.dumps(provenance)))


def _open_resumable(
    destination: _destination.Destination, plan: _Plan, provenance: dict[str, Any]
) -> zarr.Array[Any] | None:
    """The partial result of an earlier run, if it was made with the same settings."""
    staging = destination.staging
    if not (staging / _DONE).is_dir():
        return None
    try:
        target = zarr.open_array(zarr.storage.LocalStore(staging), mode="r+")
    except (FileNotFoundError, ValueError, zarr.errors.BaseZarrError):
        return None
    earlier = target.attrs.get(PROVENANCE_KEY)
    if not _same(earlier, provenance):
        raise ValueError(
            f"resume=True, but the interrupted run at {str(staging)!r} was made with other "
            f"settings:\n  then: {earlier}\n  now:  {provenance}\n"
            "Run again with resume=False to start over"
        )
    return target


# -- the work ------------------------------------------------------------------------------


def _lazy_result(func: Callable[..., NDArray[Any]], plan: _Plan) -> da.Array:
    """The whole result as a dask array, one block per write block (nothing computed)."""
    source = plan.source
    if isinstance(source, da.Array):
        lazy = source.rechunk(plan.blocks)
    elif isinstance(source, zarr.Array):
        lazy = da.from_zarr(source, chunks=plan.blocks)
    else:
        lazy = da.from_array(source, chunks=plan.blocks)
    boundary: str | int = 0 if plan.boundary == "constant" else plan.boundary
    # map_overlap needs every block at least as thick as the halo: an edge block thinner
    # than that is merged into its neighbour here, as dask would do itself, so that we
    # know where each block starts (for ``origin``).
    thick = tuple(ensure_minimum_chunksize(d, c) if d else c
                  for d, c in zip(plan.depth, lazy.chunks, strict=True))
    overlapped = lazy.rechunk(thick) if thick != lazy.chunks else lazy
    starts = tuple(tuple(int(v) for v in np.cumsum((0, *c))[:-1]) for c in thick)
    checked = _Checked(func, plan.dtype, starts, plan.depth)
    result = cast(da.Array, overlapped.map_overlap(
        checked, depth=plan.depth, boundary=boundary, trim=True, dtype=plan.dtype,
        meta=np.empty((0,) * len(plan.shape), dtype=plan.dtype),
    ))
    # The writes must be whole write blocks again (two tasks writing one chunk would race).
    if result.chunks != lazy.chunks:
        result = result.rechunk(lazy.chunks)
    return result


class _Checked:
    """``func``, with its output checked: same shape as the block, the promised dtype.

    A ``func`` with an ``origin`` parameter is also told where its block (halo
    included) starts in the image.
    """

    def __init__(self, func: Callable[..., NDArray[Any]], dtype: np.dtype[Any],
                 starts: tuple[tuple[int, ...], ...], depth: tuple[int, ...]) -> None:
        self.func = func
        self.dtype = dtype
        self.starts = starts
        self.depth = depth
        try:
            self.wants_origin = "origin" in inspect.signature(func).parameters
        except (TypeError, ValueError):  # a builtin without a signature
            self.wants_origin = False

    def __call__(self, block: NDArray[Any],
                 block_info: dict[Any, Any] | None = None) -> NDArray[Any]:
        if self.wants_origin:
            assert block_info is not None  # dask passes it, since we ask for it
            location = block_info[None]["chunk-location"]
            origin = tuple(s[i] - d for s, i, d in zip(self.starts, location, self.depth,
                                                       strict=True))
            out = self.func(block, origin=origin)
        else:
            out = self.func(block)
        if not isinstance(out, np.ndarray):
            raise TypeError(
                f"func returned {type(out).__name__}; it must return a numpy array of the "
                "block's shape"
            )
        if out.shape != block.shape:
            raise ValueError(
                f"func returned a block of shape {out.shape} for a block of shape "
                f"{block.shape}; map_tiles needs one output pixel per input pixel"
            )
        if out.dtype != self.dtype:
            raise TypeError(
                f"func returned dtype {out.dtype}, but map_tiles was promised "
                f"dtype={self.dtype.name}: pass dtype={out.dtype.name!r}, or convert in func"
            )
        return out


def _block_name(index: tuple[int, ...]) -> str:
    return ".".join(map(str, index))


def _batches(grid: tuple[int, ...], block_bytes: int) -> Iterator[list[tuple[int, ...]]]:
    """The block indices of ``grid`` in batches of neighbouring blocks, in C order.

    A batch is a near-cubic box of blocks of about `_BATCH_BYTES` (at least two blocks
    per core), so its memory does not depend on the size of the image.
    """
    per_batch = max(2 * (os.cpu_count() or 1), _BATCH_BYTES // max(block_bytes, 1))
    box = auto_chunks(grid, 1, target_bytes=per_batch)
    for _, region in chunk_regions(grid, box):
        yield list(itertools.product(*(range(r.start, r.stop) for r in region)))


class _RecordingWriter:
    """Writes a block, then records it as done: a record means its chunks are on disk.

    The record is written by the task that wrote the block (on a cluster, by the worker),
    so that a run killed at any moment loses at most the blocks being written.
    """

    def __init__(self, target: Any, done: Path, blocks: tuple[int, ...]) -> None:
        self.target = target
        self.done = done
        self.blocks = blocks
        self.shape = target.shape
        self.dtype = target.dtype
        self.ndim = len(target.shape)

    def __setitem__(self, region: tuple[slice, ...], block: NDArray[Any]) -> None:
        self.target[region] = block
        index = tuple(r.start // b for r, b in zip(region, self.blocks, strict=True))
        (self.done / _block_name(index)).touch()


def _store_blocks(result: da.Array, writer: _RecordingWriter, batch: list[tuple[int, ...]],
                  pool: ThreadPoolExecutor | None) -> None:
    """Compute and write the blocks of ``batch``: one small graph, one task per block."""
    edges = [np.cumsum((0, *c)) for c in result.chunks]
    regions = [
        tuple(slice(int(e[i]), int(e[i + 1])) for e, i in zip(edges, index, strict=True))
        for index in batch
    ]
    sources = [result.blocks[index] for index in batch]
    # dask's annotation wants array-likes; anything with __setitem__ is what it uses.
    da.store(sources, [cast(Any, writer)] * len(batch), regions=regions, lock=False,
             **_blocks.scheduler_options(pool))

