"""Building a multiscale pyramid from an existing array, out of core.

`build_pyramid` turns a numpy, zarr or dask array into an OME-Zarr multiscale image:
level ``"0"`` is the array itself, rechunked, and every further level is the one above
it downsampled by ``factors`` (the same for every level, or a list of them, one per
level). It works block by block through dask, where a *block* is what one write
covers: a chunk, or a shard for sharded Zarr v3.

* Level 0 is the source cut into blocks, each stored by its own task.
* Every further level is computed *while level 0 is written*, in one dask graph: the
  task that stores a block of level ``k - 1`` also hands it, still in memory, to a task
  that reduces it with `data_helpers.downsample`; the reduced pieces are joined into
  the blocks of level ``k``, which are stored and reduced in turn. No level is read back
  from the disk, and each source chunk is read and decoded once. This needs every
  block of level ``k - 1`` to start on a window boundary of level ``k``'s factors (the
  block shape a multiple of the factor), so that reducing it alone gives exactly its
  part of level ``k``. Where it can, one task makes a whole block of level 1 from the
  level-0 blocks under it, one after the other (see `_write_fused`). The graph goes in
  slabs along the first axis, each holding whole blocks of every level it makes, so it
  stays small whatever the size of the image.
* A level that cannot be fused (its windows would straddle two blocks, or a slab
  holding whole blocks of it would be too large) is made from the level above it
  *read back from the store just written*. The task for one output block reads the
  input region of that block times the factor: it starts on a window boundary and
  holds exactly the block's windows, so blocks need no overlap, leave no seam, and
  each task writes chunks no other touches. It reads its region piece by piece (about
  one stored chunk each) and calls `data_helpers.downsample` on each piece, so it never
  holds the whole region. Both ways give the same pixels.

Memory therefore holds a few chunks per worker thread, whatever the size of the image,
and the same graph runs on dask's threaded scheduler or on a ``dask.distributed``
cluster when a client is active. Pixels are reduced only by `data_helpers.downsample`
and metadata is written only by `data_helpers.ome`.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import dask.array as da
import numpy as np
import zarr
from numpy.typing import NDArray

from data_helpers import _blocks, _destination, ome
from data_helpers._checks import (
    Compression,
    ZarrVersion,
    as_bool,
    as_compression,
    as_float,
    as_int,
    as_per_axis,
    as_zarr_version,
    check_known_shape,
    check_sharding,
    one_of,
)
from data_helpers.chunking import auto_chunks, chunk_regions
from data_helpers.downsample import METHODS, Method, downsample, downsampled_shape
from data_helpers.multiscale import MultiscaleImage

__all__ = ["DEFAULT_CHUNK_BYTES", "build_pyramid"]

#: Byte budget of the default chunk shape (``chunks=None``): 2 MiB, see `build_pyramid`.
DEFAULT_CHUNK_BYTES = 2**21

SourceArray = NDArray[Any] | zarr.Array[Any] | da.Array
PerAxis = int | Sequence[int] | Mapping[str, int]
#: One factor set for every level, or a sequence of them, one per level (see `build_pyramid`).
Factors = PerAxis | Sequence[PerAxis]

# Output pixels per call of `downsample` inside a block: temporaries of about 1 MiB.
_SLAB_PIXELS = 2**17

# Time and channel axes hold separate images, not samples of one continuous signal.
_FIXED_AXIS_TYPES = frozenset({"time", "channel"})


@dataclass(frozen=True)
class _Plan:
    """Everything `build_pyramid` decided before it writes a byte."""

    axes: str
    level_factors: tuple[tuple[int, ...], ...]  # per axis, for each level after level 0
    shapes: tuple[tuple[int, ...], ...]
    chunks: tuple[tuple[int, ...], ...]
    shard_shapes: tuple[tuple[int, ...], ...] | None
    scales: list[list[float]]
    translations: list[list[float]]
    channels: tuple[ome.Channel, ...] | None


def build_pyramid(
    source: SourceArray,
    dest: str | os.PathLike[str],
    *,
    axes: str = "zyx",
    scale: float | Sequence[float] | Mapping[str, float] | None = None,
    unit: str = "micrometer",
    factors: Factors = 2,
    method: Method = "mean",
    max_levels: int | None = None,
    chunks: Sequence[int] | Mapping[str, int] | None = None,
    zarr_version: ZarrVersion = 2,
    shard_chunks: PerAxis | None = None,
    compression: Compression = "blosc-zstd",
    overwrite: bool = False,
    progress: bool = False,
    channels: ome.ChannelsLike | None = None,
) -> MultiscaleImage:
    """Write ``source`` and its downsampled levels as an OME-Zarr multiscale image.

    Parameters
    ----------
    source
        A numpy, zarr or dask array of booleans, integers or floats. It is read chunk
        by chunk, never whole (a numpy array is, of course, already in memory).
    dest
        The directory of the new OME-Zarr image.
    axes
        One letter per axis of ``source`` in OME order: optional ``t``, optional ``c``,
        then 2 or 3 of ``z``, ``y``, ``x`` (``"zyx"``, ``"tcyx"``, ...).
    scale
        The physical size of a level-0 pixel: one number for every axis, one per axis,
        or a mapping such as ``{"z": 2.0}`` (axes left out get 1.0). Default 1.0.
    unit
        The unit of the space axes, e.g. ``"micrometer"`` or ``"nanometer"``.
    factors
        How much each level shrinks the one above it. A *factor set* is an int, which
        applies to every space axis, one int per axis such as ``(1, 2, 2)``, or a
        mapping such as ``{"y": 2, "x": 2}`` that names some axes (the others keep
        factor 1), so anisotropic data can keep ``z``. Time and channel axes are never
        downsampled: their factor must be 1.

        ``factors`` is one factor set, used for every level, or a list of factor sets,
        one per level after level 0, such as ``[{"y": 2, "x": 2}, {"y": 2, "x": 2}, 2]``.
        The rule that tells them apart: a sequence holding only ints is one factor per
        axis and must have one entry per axis; a sequence holding at least one mapping
        or sequence is a list of factor sets, and any int in it is a factor set too.
        So ``[2, 2]`` for three axes is an error, not two levels: write ``[2, 2, 2]``
        (per axis) or ``[(2, 2, 2), 2]`` (per level). When the list is used up, its
        last entry repeats for every further level.
    method
        How a window becomes one pixel, see `data_helpers.downsample.METHODS`:
        ``"mean"`` for intensities, ``"mode"`` or ``"nearest"`` for labels (they
        never invent a label), ``"min"``, ``"max"``.
    max_levels
        The number of levels to write, *level 0 included*: ``max_levels=1`` writes
        the source alone, ``4`` writes ``"0"`` to ``"3"``. Fewer are written only when
        every axis the next level would downsample is down to one pixel. By default
        (``None``) levels are added until every axis the next level would downsample
        (its factor is above 1) fits in one chunk.
    chunks
        The chunk shape of every level (clipped to the level's shape), one int per
        axis or a mapping naming some axes. By default `chunking.auto_chunks` picks
        near-cubic power-of-two chunks of at most `DEFAULT_CHUNK_BYTES` (2 MiB), with
        length 1 on time and channel axes. The default ignores how the source is
        chunked on purpose: the same pixels always give the same pyramid, chunks and
        number of levels included.
    zarr_version
        2 writes Zarr v2 with OME-Zarr 0.4 metadata, 3 writes Zarr v3 with 0.5.
    shard_chunks
        Zarr v3 only: turns sharding on, with this many chunks per shard along each
        axis (an int for every space axis, a tuple, or a mapping). Writes are then
        whole shards, so memory holds a few shards instead of a few chunks.
    compression
        ``None``, ``"blosc-lz4"`` or ``"blosc-zstd"``, see `ome.COMPRESSIONS`.
    overwrite
        Replace ``dest`` if it exists. Without it, an existing ``dest`` is an error,
        raised before anything is written.
    progress
        Show a rich progress bar, one line per level, advancing by batches of blocks.
    channels
        How viewers show each channel, written as OME-Zarr ``omero`` metadata: one entry
        per index of the ``c`` axis (``axes`` must have one), each an `ome.Channel`, a
        mapping of its fields or a label alone, e.g. ``[Channel(label="DAPI",
        color="0000FF", window=(0, 4000)), "GFP"]``. Fields left out get defaults (see
        `ome.as_channels`). By default no ``omero`` metadata is written.

    Returns
    -------
    MultiscaleImage
        The written image, opened for reading; its metadata has passed `ome.validate`.

    Raises
    ------
    ValueError, TypeError
        For any bad setting, naming it; nothing is written then.
    FileExistsError
        When ``dest`` exists and ``overwrite`` is false.

    Notes
    -----
    Each level's scale is the level-0 pixel size times the accumulated factor ``F``,
    the product of the factors of the levels so far. For the window methods (mean,
    mode, min, max) each level's translation moves by ``(F - 1) / 2`` level-0 pixels,
    so pixel centres stay aligned; ``nearest`` keeps each window's first pixel and
    needs no shift. Both come from `ome.level_transforms`, given each level's factors.

    The work runs on the active dask scheduler: threads by default, a
    ``dask.distributed`` cluster when a client exists. Each task holds one output block
    and one input piece (about a chunk), so peak memory is a few chunks per worker
    thread, not a fraction of the image. The pixels never depend on the chunking of
    ``source`` or on ``chunks``: windows always start at the origin, as in `downsample`.
    The multiscale's name is the last part of ``dest`` without ``.ome.zarr`` or
    ``.zarr``: ``volume.ome.zarr`` and ``volume.zarr`` are both named ``volume``.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> volume = np.arange(32 * 64 * 64, dtype=np.uint16).reshape(32, 64, 64)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     image = build_pyramid(volume, f"{tmp}/volume.zarr", chunks=(16, 16, 16),
    ...                           scale=(2.0, 0.5, 0.5), factors={"y": 2, "x": 2})
    ...     print(image.shapes)
    ...     print(image.scale(-1), image.translation(-1))
    [(32, 64, 64), (32, 32, 32), (32, 16, 16)]
    (2.0, 2.0, 2.0) (0.0, 0.75, 0.75)

    The usual recipe for anisotropic data, in one call: y and x alone until the voxels
    are cubic, then every axis (the last entry repeats).

    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     image = build_pyramid(volume, f"{tmp}/volume.ome.zarr", chunks=(8, 8, 8),
    ...                           scale=(2.0, 0.5, 0.5), max_levels=4,
    ...                           factors=[{"y": 2, "x": 2}, {"y": 2, "x": 2}, 2])
    ...     print(image.metadata.name, image.shapes)
    ...     print([image.scale(i) for i in range(image.levels)])
    volume [(32, 64, 64), (32, 32, 32), (32, 16, 16), (16, 8, 8)]
    [(2.0, 0.5, 0.5), (2.0, 1.0, 1.0), (2.0, 2.0, 2.0), (4.0, 4.0, 4.0)]
    """
    as_bool("overwrite", overwrite)
    as_bool("progress", progress)
    plan = _plan(source, axes=axes, scale=scale, unit=unit, factors=factors, method=method,
                 max_levels=max_levels, chunks=chunks, zarr_version=zarr_version,
                 shard_chunks=shard_chunks, compression=compression, channels=channels)
    # Checked, locked and written aside: dest changes only when the whole image is there.
    with _destination.Destination(dest, overwrite=overwrite, source=source) as destination:
        model = ome.image_model(
            shapes=plan.shapes, dtype=source.dtype, chunks=plan.chunks, axes=plan.axes,
            scales=plan.scales, translations=plan.translations, zarr_version=zarr_version,
            compression=compression, shard_shapes=plan.shard_shapes, space_unit=unit,
            name=ome.image_name(destination.path), method=method, channels=plan.channels,
        )
        group = ome.create_image(zarr.storage.LocalStore(destination.staging), model)
        _write_levels(source, [ome.level_array(group, str(level))
                               for level in range(len(plan.shapes))],
                      plan.level_factors, method, progress=progress)
        ome.validate(destination.staging)
        destination.commit()
    return MultiscaleImage.open(destination.path)


# -- checking the settings ---------------------------------------------------------------


def _plan(source: Any, **settings: Any) -> _Plan:
    """Validate every setting against the source and decide the levels, writing nothing."""
    _check_source(source)
    axes = ome.validate_axes(settings["axes"])
    if len(axes) != source.ndim:
        raise ValueError(
            f"axes={axes!r} names {len(axes)} axes but source has {source.ndim} "
            f"(shape {tuple(source.shape)}); give one letter per axis"
        )
    method = one_of("method", settings["method"], METHODS)
    if method == "mean" and source.dtype.kind == "b":
        raise ValueError(
            "method='mean' needs numbers, but source holds booleans; use 'mode' or 'max'"
        )
    zarr_version = as_zarr_version(settings["zarr_version"])
    as_compression(settings["compression"])
    unit = settings["unit"]
    if not isinstance(unit, str):
        raise TypeError(f"unit={unit!r} must be a string such as 'micrometer'")
    if not unit:
        raise ValueError(f"unit={unit!r} must be a non-empty string such as 'micrometer'")

    shape = tuple(int(n) for n in source.shape)
    factor_sets = _factor_sets(settings["factors"], axes)
    chunks = _chunks(settings["chunks"], axes, shape, source.dtype.itemsize)
    scale = _scale(settings["scale"], axes)
    max_levels = settings["max_levels"]
    if max_levels is not None:
        max_levels = as_int("max_levels", max_levels, minimum=1,
                            accepted="None or an integer >= 1 (it counts level 0)")

    shapes, level_factors = _level_shapes(shape, factor_sets, chunks, max_levels)
    level_chunks = tuple(tuple(min(c, n) for c, n in zip(chunks, s, strict=True)) for s in shapes)
    shard_shapes = None
    if settings["shard_chunks"] is not None:
        check_sharding("shard_chunks", settings["shard_chunks"], zarr_version)
        per_shard = _per_axis_ints("shard_chunks", settings["shard_chunks"], axes, fixed_value=1)
        shard_shapes = tuple(
            tuple(c * k for c, k in zip(lc, per_shard, strict=True)) for lc in level_chunks
        )
    scales, translations = ome.level_transforms(scale, level_factors, method=method)
    channels = settings["channels"]
    if channels is not None:
        channels = ome.as_channels(channels, axes=axes, shape=shape, dtype=source.dtype)
    return _Plan(axes=axes, level_factors=level_factors, shapes=shapes, chunks=level_chunks,
                 shard_shapes=shard_shapes, scales=scales, translations=translations,
                 channels=channels)


def _check_source(source: Any) -> None:
    if not isinstance(source, np.ndarray | zarr.Array | da.Array):
        raise TypeError(
            f"source must be a numpy, zarr or dask array, got {type(source).__name__}"
        )
    if source.dtype.kind not in "biuf":
        raise TypeError(
            f"source must hold booleans, integers or floats, got dtype {source.dtype}"
        )
    check_known_shape("source", source.shape)
    if source.ndim and min(source.shape) == 0:
        raise ValueError(f"source has an empty axis (shape {tuple(source.shape)})")


def _per_axis_ints(name: str, value: Any, axes: str, *, fixed_value: int | None) -> tuple[int, ...]:
    """One int >= 1 per axis from an int, a sequence or a mapping by axis name.

    An int applies to the space axes; time and channel axes get ``fixed_value`` (or the
    int too when it is None). A mapping may leave axes out: they get 1.
    """
    per_axis = as_per_axis(
        name, value, axes, default=1,
        convert=lambda label, v: as_int(label, v, minimum=1),
        accepted="an integer >= 1, one per axis, or a mapping of axis names to integers",
    )
    if fixed_value is not None and not isinstance(value, Mapping) and not _is_sequence(value):
        per_axis = tuple(
            fixed_value if ome.AXIS_TYPES[a] in _FIXED_AXIS_TYPES else v
            for a, v in zip(axes, per_axis, strict=True)
        )
    return per_axis


def _factor_sets(factors: Any, axes: str) -> tuple[tuple[int, ...], ...]:
    """The factor sets ``factors`` gives, per axis: one for every level, or one per level.

    See ``factors`` in `build_pyramid` for the rule that tells a list of factor sets
    from one factor per axis.
    """
    if _is_per_level(factors):
        return tuple(_factors(f"factors[{i}]", entry, axes) for i, entry in enumerate(factors))
    if _is_sequence(factors) and len(factors) != len(axes):
        # The one input that could mean either: refuse it rather than guess.
        raise ValueError(
            f"factors={factors!r} has {len(factors)} entries but axes={axes!r} has "
            f"{len(axes)}: a sequence of ints gives one factor per axis. For one factor "
            "set per level, write each level as a mapping or a tuple, e.g. "
            "[{'y': 2, 'x': 2}, 2]"
        )
    return (_factors("factors", factors, axes),)


def _is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence | np.ndarray) and not isinstance(value, str)


def _is_per_level(factors: Any) -> bool:
    """Whether ``factors`` is a list of factor sets: it holds a mapping or a sequence."""
    if isinstance(factors, np.ndarray):
        return factors.ndim >= 2
    return _is_sequence(factors) and any(
        isinstance(entry, Mapping) or _is_sequence(entry) for entry in factors
    )


def _factors(name: str, factors: Any, axes: str) -> tuple[int, ...]:
    """One factor set, per axis; ``name`` is how error messages call it."""
    per_axis = _per_axis_ints(name, factors, axes, fixed_value=1)
    for axis, f in zip(axes, per_axis, strict=True):
        if ome.AXIS_TYPES[axis] in _FIXED_AXIS_TYPES and f != 1:
            raise ValueError(
                f"{name}={factors!r} downsamples the {ome.AXIS_TYPES[axis]} axis {axis!r}; "
                "time and channel axes are never downsampled, give them factor 1"
            )
    if all(f == 1 for f in per_axis):
        raise ValueError(
            f"{name}={factors!r} leave every axis alone; give at least one space axis a "
            "factor >= 2"
        )
    return per_axis


def _chunks(chunks: Any, axes: str, shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    fixed = [i for i, a in enumerate(axes) if ome.AXIS_TYPES[a] in _FIXED_AXIS_TYPES]
    default = auto_chunks(shape, itemsize, target_bytes=max(DEFAULT_CHUNK_BYTES, itemsize),
                          fixed_axes=fixed)
    if chunks is None:
        return default
    if isinstance(chunks, Mapping):
        named = _per_axis_ints("chunks", chunks, axes, fixed_value=None)
        return tuple(named[i] if a in chunks else default[i] for i, a in enumerate(axes))
    if isinstance(chunks, int | np.integer) and not isinstance(chunks, bool):
        raise TypeError(
            f"chunks={chunks!r}: give one int per axis of axes={axes!r} (or a mapping), "
            "since time and channel axes usually want chunk length 1"
        )
    return _per_axis_ints("chunks", chunks, axes, fixed_value=None)


def _scale(scale: Any, axes: str) -> list[float]:
    if scale is None:
        return [1.0] * len(axes)
    return list(as_per_axis(
        "scale", scale, axes, default=1.0,
        convert=lambda label, v: as_float(label, v, positive=True),
        accepted="a finite number > 0, one per axis, or a mapping of axis names to numbers",
    ))


def _level_shapes(
    shape: tuple[int, ...], factor_sets: tuple[tuple[int, ...], ...],
    chunks: tuple[int, ...], max_levels: int | None,
) -> tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]]:
    """The shape of every level, and the factors that make each level after level 0.

    See ``factors`` and ``max_levels`` in `build_pyramid`. Whether to add a level is
    decided by the factors of that level: an axis it leaves alone does not count.
    """
    shapes: list[tuple[int, ...]] = [shape]
    level_factors: list[tuple[int, ...]] = []
    while max_levels is None or len(shapes) < max_levels:
        factors = _next_factors(factor_sets, len(level_factors))
        reduced = [i for i, f in enumerate(factors) if f > 1]
        current = shapes[-1]
        if max_levels is None and all(current[i] <= chunks[i] for i in reduced):
            break
        if all(current[i] == 1 for i in reduced):
            break  # a further level would be a copy of this one
        shapes.append(downsampled_shape(current, factors))
        level_factors.append(factors)
    return tuple(shapes), tuple(level_factors)


def _next_factors(factor_sets: tuple[tuple[int, ...], ...], step: int) -> tuple[int, ...]:
    """The factors of step ``step`` (0 makes level 1): the last factor set repeats."""
    return factor_sets[min(step, len(factor_sets) - 1)]


# -- writing -----------------------------------------------------------------------------


def _write_levels(
    source: SourceArray, levels: Sequence[zarr.Array[Any]],
    level_factors: Sequence[tuple[int, ...]], method: Method, *, progress: bool = False,
) -> None:
    """Fill the empty arrays ``levels``: the first from ``source``, each further one from
    the one above it, downsampled by its entry of ``level_factors`` with ``method``.

    The arrays must already have their shapes (level ``k`` is `downsampled_shape` of
    level ``k - 1`` by ``level_factors[k - 1]``), chunks and shards: this writes pixels,
    never metadata. `build_pyramid` calls it with the levels it planned, and
    `data_helpers.labels` with the levels of an existing image.
    """
    if len(level_factors) != len(levels) - 1:
        raise ValueError(
            f"{len(levels)} levels need {len(levels) - 1} factor sets, got {len(level_factors)}"
        )
    if tuple(source.shape) != tuple(levels[0].shape):
        raise ValueError(f"source has shape {tuple(source.shape)}, level 0 {levels[0].shape}")
    for k, (finer, target, factors) in enumerate(
        zip(levels[:-1], levels[1:], level_factors, strict=True), start=1
    ):
        if downsampled_shape(finer.shape, factors) != tuple(target.shape):
            raise ValueError(
                f"level {k} has shape {target.shape}, but level {k - 1} {finer.shape} "
                f"downsampled by {tuple(factors)} has {downsampled_shape(finer.shape, factors)}"
            )
    fused = _fused_levels(levels, level_factors)
    with (_blocks.codec_threads(), _blocks.finished_tasks() as pool,
          _blocks.progress_bar(progress) as bar):
        if fused:
            _write_fused(source, levels[:fused + 1], level_factors[:fused], method, bar, pool)
        else:
            _write_level_0(source, levels[0], bar, pool)
        # What the fused graph could not make is made from the last level it wrote.
        for finer, target, factors in zip(levels[fused:-1], levels[fused + 1:],
                                          level_factors[fused:], strict=True):
            _write_level(finer, target, tuple(factors), method, bar, pool)


def _fused_levels(levels: Sequence[zarr.Array[Any]],
                  level_factors: Sequence[tuple[int, ...]]) -> int:
    """How many levels after level 0 the fused graph makes (see the module's docstring).

    Level ``k`` can be fused when every block of level ``k - 1`` starts on a window
    boundary of its factors, and when a slab holding whole blocks of every fused level
    stays within `_blocks.BLOCKS_PER_GRAPH` level-0 blocks (or is the whole image).
    """
    fused = 0
    for k, factors in enumerate(level_factors, start=1):
        finer = _blocks.write_blocks(levels[k - 1])
        if any(b % f and n > b
               for b, f, n in zip(finer, factors, levels[k - 1].shape, strict=True)):
            break
        rows = _slab_rows(levels[: k + 1], level_factors[:k])
        if (rows < levels[0].shape[0]
                and _block_count(levels[0], rows=rows) > _blocks.BLOCKS_PER_GRAPH):
            break
        fused = k
    return fused


def _slab_rows(levels: Sequence[zarr.Array[Any]],
               level_factors: Sequence[tuple[int, ...]]) -> int:
    """The height, in level-0 rows, of the smallest slab of whole blocks of every level."""
    rows = _blocks.write_blocks(levels[0])[0]
    accumulated = 1
    for target, factors in zip(levels[1:], level_factors, strict=True):
        accumulated *= factors[0]
        rows = math.lcm(rows, _blocks.write_blocks(target)[0] * accumulated)
    return rows


def _write_fused(
    source: SourceArray, levels: Sequence[zarr.Array[Any]],
    level_factors: Sequence[tuple[int, ...]], method: Method, bar: _blocks.Bar | None,
    pool: ThreadPoolExecutor | None = None,
) -> None:
    """Write level 0 from ``source`` and every further level of ``levels`` from the blocks
    of the level above it as they are stored, one slab of whole blocks at a time.

    Where the level-0 blocks tile the windows of each level-1 block, one task makes a
    whole level-1 block: it reads, stores and reduces the level-0 blocks under it one by
    one. Nothing then waits in memory for its neighbours, and on a cluster no level-0
    piece travels between workers. A task reads a zarr source itself; a numpy or dask
    source only on the threaded scheduler (a cluster would have to ship the array, or
    its graph, with every task). Otherwise each level-0 block is reduced by its own task
    and the pieces are joined into level-1 blocks.
    """
    grouped = _groups_tile(source, levels[0], levels[1], level_factors[0], threaded=pool
                           is not None)
    lazy = None if grouped else _as_blocks(source, levels[0])
    rows = _slab_rows(levels, level_factors)
    tasks = None
    if bar is not None:
        tasks = [bar.progress.add_task(f"level {level.path.rsplit('/', 1)[-1]} "
                                       f"{tuple(level.shape)}", total=_block_count(level))
                 for level in levels]
    for first in range(0, levels[0].shape[0], rows):
        written: list[int] = []  # blocks written in this slab, per level
        block: da.Array | None = None
        start = first
        for k, target in enumerate(levels):
            if k:
                factors = level_factors[k - 1]
                start //= factors[0]  # slabs start on window boundaries of every level
            if k == 0 and grouped:
                stop = min(first + rows, levels[0].shape[0])
                written.append(_block_count(levels[0], rows=stop - first))
                continue
            if k == 0:
                assert lazy is not None
                block = lazy[first:first + rows]
            elif k == 1 and grouped:
                block = _level_1_groups(source, levels[0], target, factors, method, first,
                                        min(first + rows, levels[0].shape[0]))
            else:
                assert block is not None
                block = da.map_blocks(
                    _downsample_block, block, factors=factors, method=method, dtype=block.dtype,
                    meta=np.empty((0,) * block.ndim, dtype=block.dtype),
                    chunks=tuple(tuple(-(-c // f) for c in axis)
                                 for axis, f in zip(block.chunks, factors, strict=True)),
                ).rechunk(_blocks.write_blocks(target))
            last = k == len(levels) - 1
            block = da.map_blocks(
                _store_block, block, target=target, first_row=start, hand_on=not last,
                dtype=block.dtype, meta=np.empty((0,) * block.ndim, dtype=block.dtype),
                **({} if not last else {"chunks": tuple((1,) * len(axis) for axis in
                                                        block.chunks)}),
            )
            written.append(block.npartitions)
        # Only the last level's tasks are asked for: each is a tiny placeholder, and every
        # store of every level is one of its dependencies.
        assert block is not None
        block.compute(**_blocks.scheduler_options(pool))
        if bar is not None and tasks is not None:
            for task, done in zip(tasks, written, strict=True):
                bar.progress.advance(task, done)


def _groups_tile(source: SourceArray, level_0: zarr.Array[Any], level_1: zarr.Array[Any],
                 factors: tuple[int, ...], *, threaded: bool) -> bool:
    """Whether one task per level-1 block can read and write its level-0 blocks itself:
    a source it can read (see `_write_fused`), and the windows of each level-1 block
    made of whole level-0 blocks; and enough level-1 blocks to keep every core busy, as
    each such task works through its level-0 blocks one after the other."""
    if not (isinstance(source, zarr.Array) or threaded):
        return False
    if _block_count(level_1) < 2 * (os.cpu_count() or 1):
        return False
    return all(
        (b1 * f) % b0 == 0 or n0 <= b1 * f
        for b0, b1, f, n0 in zip(_blocks.write_blocks(level_0), _blocks.write_blocks(level_1),
                                 factors, level_0.shape, strict=True)
    )


def _level_1_groups(
    source: SourceArray, level_0: zarr.Array[Any], level_1: zarr.Array[Any],
    factors: tuple[int, ...], method: Method, first: int, stop: int,
) -> da.Array:
    """The level-1 blocks of level-0 rows ``first:stop``, each made by `_write_group`."""
    rows = -(-stop // factors[0]) - first // factors[0]
    chunks = da.core.normalize_chunks(_blocks.write_blocks(level_1),
                                      (rows, *level_1.shape[1:]))
    lazy: da.Array = da.map_blocks(
        _write_group, source=_Reader(source), level_0=level_0, factors=factors, method=method,
        first_row=first // factors[0], chunks=chunks, dtype=level_1.dtype,
        meta=np.empty((0,) * level_1.ndim, dtype=level_1.dtype),
        # Named, not tokenized: a token would hash every pixel of a numpy source.
        name=f"pyramid-level-1-{uuid.uuid4().hex}",
    )
    return lazy


class _Reader:
    """Reads regions of a source inside a task.

    A plain object on purpose: dask computes, whole, any dask array that it finds among
    a task's arguments (or inside a list, dict or dataclass); this one it passes as is.
    """

    def __init__(self, source: SourceArray) -> None:
        self.source = source

    def read(self, region: tuple[slice, ...]) -> NDArray[Any]:
        if isinstance(self.source, da.Array):
            # This task's part of the source graph, computed here, in this thread.
            return np.asarray(self.source[region].compute(scheduler="sync"))
        return np.asarray(self.source[region])


def _write_group(
    *, source: _Reader, level_0: zarr.Array[Any], factors: tuple[int, ...],
    method: Method, first_row: int, block_info: dict[Any, Any] | None = None,
) -> NDArray[Any]:
    """Make one level-1 block: read, store and reduce the level-0 blocks under it, one by
    one, so the task holds one level-0 block and its level-1 block at a time."""
    assert block_info is not None  # dask always passes it to a function that asks
    location = block_info[None]["array-location"]
    origin = tuple((start + (first_row if axis == 0 else 0)) * f
                   for axis, ((start, _), f) in enumerate(zip(location, factors, strict=True)))
    out = np.empty(block_info[None]["chunk-shape"], dtype=level_0.dtype)
    in_shape = tuple(min(o + n * f, full) - o for o, n, f, full in zip(
        origin, out.shape, factors, level_0.shape, strict=True))
    target = _blocks.writer(level_0)
    for _, region in chunk_regions(in_shape, _blocks.write_blocks(level_0)):
        where = tuple(slice(o + r.start, o + r.stop) for o, r in zip(origin, region, strict=True))
        data = source.read(where)
        target[where] = data
        reduced = _downsample_block(data, factors, method)
        # Level-0 blocks start on window boundaries, so their output lands at start / f.
        out[tuple(slice(r.start // f, r.start // f + m)
                  for r, f, m in zip(region, factors, reduced.shape, strict=True))] = reduced
    return out


def _store_block(block: NDArray[Any], *, target: zarr.Array[Any], first_row: int,
                 hand_on: bool, block_info: dict[Any, Any] | None = None) -> NDArray[Any]:
    """Store one write block of ``target``; return it for the next level (or a placeholder)."""
    assert block_info is not None  # dask always passes it to a function that asks
    location = block_info[0]["array-location"]
    region = tuple(slice(start + (first_row if axis == 0 else 0), stop + (
        first_row if axis == 0 else 0)) for axis, (start, stop) in enumerate(location))
    _blocks.writer(target)[region] = block
    return block if hand_on else np.zeros((1,) * block.ndim, dtype=block.dtype)


def _block_count(array: zarr.Array[Any], rows: int | None = None) -> int:
    """The write blocks of ``array``, or of its first ``rows`` rows (whole blocks)."""
    shape = tuple(array.shape) if rows is None else (rows, *array.shape[1:])
    return math.prod(math.ceil(n / b) for n, b in zip(
        shape, _blocks.write_blocks(array), strict=True))


def _as_blocks(source: SourceArray, target: zarr.Array[Any]) -> da.Array:
    """``source`` as a dask array cut into ``target``'s write blocks."""
    blocks = _blocks.write_blocks(target)
    lazy: da.Array
    if isinstance(source, da.Array):
        lazy = source.rechunk(blocks)
    elif isinstance(source, zarr.Array):
        # Reading straight in write blocks: no rechunk step, each task reads what it writes.
        lazy = da.from_zarr(source, chunks=blocks)
    else:
        lazy = da.from_array(source, chunks=blocks)
    return lazy


def _write_level_0(
    source: SourceArray, target: zarr.Array[Any], bar: _blocks.Bar | None,
    pool: ThreadPoolExecutor | None = None,
) -> None:
    _blocks.store(_as_blocks(source, target), target, bar, "level 0", pool)


def _write_level(
    finer: zarr.Array[Any], target: zarr.Array[Any], factors: tuple[int, ...], method: Method,
    bar: _blocks.Bar | None, pool: ThreadPoolExecutor | None = None,
) -> None:
    """Downsample the stored level ``finer`` into ``target``, one output block per task.

    The task for an output block reduces the input region of that block times
    ``factors``: it starts on a window boundary and holds exactly the windows of the
    block, so blocks need no overlap (no seams) and each task writes only its own
    chunks (or shard).
    """
    out_blocks = _blocks.write_blocks(target)
    lazy = da.map_blocks(
        _reduce_region, finer=finer, factors=factors, method=method,
        pieces=_read_pieces(finer, factors), chunks=da.core.normalize_chunks(
            out_blocks, tuple(target.shape)
        ), dtype=finer.dtype, meta=np.empty((0,) * finer.ndim, dtype=finer.dtype),
    )
    _blocks.store(lazy, target, bar, f"level {target.path.rsplit('/', 1)[-1]}", pool)


def _read_pieces(finer: zarr.Array[Any], factors: tuple[int, ...]) -> tuple[int, ...]:
    """The shape in which a task reads its input region: about one stored chunk.

    Whole windows (a multiple of the factor) so each piece reduces on its own, and the
    finer level's chunk shape when the factor divides it, so each chunk is decoded once.
    """
    return tuple(f * max(1, c // f) for c, f in zip(finer.chunks, factors, strict=True))


def _reduce_region(
    *, finer: zarr.Array[Any], factors: tuple[int, ...], method: Method, pieces: tuple[int, ...],
    block_info: dict[Any, Any] | None = None,
) -> NDArray[Any]:
    """Compute one output block from the finer level, reading it piece by piece.

    Why not read the whole input region at once: it holds ``prod(factors)`` output
    blocks' worth of pixels (8 for a factor of 2 in 3D). Read piece by piece, a task
    holds its output block and one piece, so memory stays at a few chunks per thread.
    """
    assert block_info is not None  # dask always passes it to a function that asks
    location = block_info[None]["array-location"]
    origin = tuple(start * f for (start, _), f in zip(location, factors, strict=True))
    in_shape = tuple(
        min(stop * f, n) - o
        for (_, stop), f, n, o in zip(location, factors, finer.shape, origin, strict=True)
    )
    out = np.empty(block_info[None]["chunk-shape"], dtype=finer.dtype)
    for _, region in chunk_regions(in_shape, pieces):
        data = np.asarray(finer[tuple(slice(o + r.start, o + r.stop)
                                      for o, r in zip(origin, region, strict=True))])
        # Pieces start on window boundaries, so their output lands at start / f.
        out[tuple(slice(r.start // f, r.start // f + m) for r, f, m in zip(
            region, factors, downsampled_shape(data.shape, factors), strict=True
        ))] = _downsample_block(data, factors, method)
    return out


def _downsample_block(
    block: NDArray[Any], factors: tuple[int, ...], method: Method
) -> NDArray[Any]:
    """`downsample` one block, in slabs of at most `_SLAB_PIXELS` output pixels.

    Why slabs: `downsample` makes temporaries the size of its output (the mean's
    accumulator, its rounding terms, a mode's sorted windows, which are as large as the
    input), so a large block would briefly need several times its own memory. Slabs are
    cut on window boundaries, so the result is exactly the same.
    """
    out_shape = downsampled_shape(block.shape, factors)
    total = math.prod(out_shape)
    if total <= _SLAB_PIXELS:
        return downsample(block, factors, method)
    # Cut along the outermost axis that still has several output pixels; a slab one
    # output row thick is cut again along the next axis by the recursive call.
    axis = next(i for i, n in enumerate(out_shape) if n > 1)
    rows = max(1, _SLAB_PIXELS * out_shape[axis] // total)
    f = factors[axis]
    out = np.empty(out_shape, dtype=block.dtype)
    for start in range(0, out_shape[axis], rows):
        stop = min(start + rows, out_shape[axis])
        before = (slice(None),) * axis
        out[(*before, slice(start, stop))] = _downsample_block(
            block[(*before, slice(start * f, stop * f))], factors, method
        )
    return out
