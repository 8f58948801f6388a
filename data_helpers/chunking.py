"""Chunk arithmetic: tiles and chunks from a byte budget, chunk grids, chunk regions.

A *chunk grid* cuts an array into blocks of ``chunks`` pixels from the origin; the blocks
at the far edges may be smaller. Every function here is pure arithmetic on shapes: none
reads or writes pixels.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Iterator, Sequence

from data_helpers._checks import as_int, as_ints

__all__ = [
    "MIN_BYTES_PER_CHUNK",
    "auto_chunks",
    "chunk_budget",
    "chunk_grid_shape",
    "chunk_regions",
    "frames_per_chunk",
    "resolve_tile",
]

#: Acquire's floor for ``max_bytes_per_chunk``: 16 MiB.
MIN_BYTES_PER_CHUNK = 16 * 2**20


def resolve_tile(frame_size: int, tile_size: int) -> int:
    """Apply Acquire's rule to one tile dimension: 0, or more than the frame, means the frame.

    Examples
    --------
    >>> resolve_tile(1920, 640)
    640
    >>> resolve_tile(1920, 0), resolve_tile(1080, 5000)
    (1920, 1080)
    """
    tile_size = as_int("tile_size", tile_size, minimum=0,
                       accepted="an integer >= 0 (0 means the whole frame)")
    frame_size = as_int("frame_size", frame_size, minimum=1)
    return frame_size if tile_size == 0 or tile_size > frame_size else tile_size


def frames_per_chunk(
    max_bytes_per_chunk: int,
    bytes_per_tile: int,
    *,
    min_bytes_per_chunk: int = MIN_BYTES_PER_CHUNK,
    warn: bool = True,
) -> int:
    """How many tiles of consecutive frames fit in one chunk under a byte budget.

    A budget below ``min_bytes_per_chunk`` (Acquire's 16 MiB, `MIN_BYTES_PER_CHUNK`) is
    raised to it, with a warning, as Acquire's driver does. At least one frame always fits.

    Examples
    --------
    >>> frames_per_chunk(64 * 2**20, 640 * 360)    # 640 x 360 uint8 tiles under 64 MiB
    291
    >>> frames_per_chunk(1000, 100, min_bytes_per_chunk=500)
    10
    """
    budget = chunk_budget(max_bytes_per_chunk, min_bytes_per_chunk, warn=warn, stacklevel=3)
    tile = as_int("bytes_per_tile", bytes_per_tile, minimum=1)
    return max(1, budget // tile)


def chunk_budget(
    max_bytes_per_chunk: int,
    min_bytes_per_chunk: int = MIN_BYTES_PER_CHUNK,
    *,
    warn: bool = True,
    stacklevel: int = 2,
) -> int:
    """Acquire's floor: a byte budget below ``min_bytes_per_chunk`` is raised to it.

    With ``warn``, raising it warns (`UserWarning`), as Acquire's driver does.

    Examples
    --------
    >>> chunk_budget(64 * 2**20)
    67108864
    >>> chunk_budget(1000, warn=False)
    16777216
    """
    budget = as_int("max_bytes_per_chunk", max_bytes_per_chunk, minimum=0)
    floor = as_int("min_bytes_per_chunk", min_bytes_per_chunk, minimum=1)
    if budget >= floor:
        return budget
    if warn:
        size = f"{floor / 2**20:g} MiB" if floor >= 2**20 else f"{floor}-byte"
        warnings.warn(
            f"max_bytes_per_chunk={budget} is below the {size} minimum; using "
            f"max_bytes_per_chunk={floor}",
            UserWarning,
            stacklevel=stacklevel + 1,
        )
    return floor


def chunk_grid_shape(shape: Sequence[int], chunks: Sequence[int]) -> tuple[int, ...]:
    """Number of chunks along each axis: ``ceil(n / c)``.

    Examples
    --------
    >>> chunk_grid_shape((1080, 1920), (360, 640))
    (3, 3)
    >>> chunk_grid_shape((10, 7), (4, 7))
    (3, 1)
    """
    shape = as_ints("shape", shape, minimum=0)
    chunks = as_ints("chunks", chunks, len(shape), minimum=1,
                     accepted=f"one integer >= 1 per axis of shape={shape!r}")
    return tuple(math.ceil(n / c) for n, c in zip(shape, chunks, strict=True))


def chunk_regions(
    shape: Sequence[int], chunks: Sequence[int]
) -> Iterator[tuple[tuple[int, ...], tuple[slice, ...]]]:
    """Yield ``(chunk index, region)`` for every chunk of the grid, in C order.

    The region is a tuple of slices clipped to the array, so edge chunks are smaller.

    Examples
    --------
    >>> for index, region in chunk_regions((5,), (2,)):
    ...     print(index, region)
    (0,) (slice(0, 2, None),)
    (1,) (slice(2, 4, None),)
    (2,) (slice(4, 5, None),)
    """
    grid = chunk_grid_shape(shape, chunks)
    for index in itertools.product(*(range(g) for g in grid)):
        yield index, tuple(
            slice(i * c, min((i + 1) * c, n)) for i, c, n in zip(index, chunks, shape, strict=True)
        )


def auto_chunks(
    shape: Sequence[int],
    itemsize: int,
    *,
    target_bytes: int = 2**21,
    fixed_axes: Sequence[int] = (),
) -> tuple[int, ...]:
    """A chunk shape of at most ``target_bytes``, with near-equal power-of-two sides.

    Axes listed in ``fixed_axes`` (time, channel) get chunk length 1; the others start
    at 1 and double in turn, never beyond the array, until the next doubling would pass
    the budget. Equal sides make a chunk equally cheap to read along every axis.

    Examples
    --------
    >>> auto_chunks((128, 256, 256), 2)               # 64 x 128 x 128 x 2 bytes = 2 MiB
    (64, 128, 128)
    >>> auto_chunks((3, 1080, 1920), 1, fixed_axes=[0])   # a whole frame fits in 2 MiB
    (1, 1080, 1920)
    """
    shape = as_ints("shape", shape, minimum=1)
    itemsize = as_int("itemsize", itemsize, minimum=1)
    target_bytes = as_int("target_bytes", target_bytes, minimum=1)
    if target_bytes < itemsize:
        raise ValueError(f"target_bytes={target_bytes} must hold at least one {itemsize}-byte item")
    chunks = [1] * len(shape)
    # Grow the last (fastest-varying) axes first: ties favour rows that are contiguous.
    growable = [i for i in reversed(range(len(shape))) if i not in set(fixed_axes)]
    grew = True
    while grew:
        grew = False
        for axis in growable:
            if chunks[axis] >= shape[axis]:
                continue
            candidate = min(chunks[axis] * 2, shape[axis])
            if math.prod(chunks) // chunks[axis] * candidate * itemsize > target_bytes:
                continue
            chunks[axis] = candidate
            grew = True
    return tuple(chunks)
