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

import numpy as np

__all__ = [
    "MIN_BYTES_PER_CHUNK",
    "auto_chunks",
    "chunk_grid_shape",
    "chunk_regions",
    "frames_per_chunk",
    "resolve_tile",
]

#: Acquire's floor for ``max_bytes_per_chunk``: 16 MiB.
MIN_BYTES_PER_CHUNK = 16 * 2**20


def _check_shape(name: str, values: Sequence[int], *, allow_zero: bool = False) -> tuple[int, ...]:
    values = tuple(values)
    smallest = 0 if allow_zero else 1
    if not values or not all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= smallest
        for v in values
    ):
        raise ValueError(f"{name}={values!r} must be a sequence of integers >= {smallest}")
    return tuple(int(v) for v in values)


def resolve_tile(frame_size: int, tile_size: int) -> int:
    """Apply Acquire's rule to one tile dimension: 0, or more than the frame, means the frame.

    Examples
    --------
    >>> resolve_tile(1920, 640)
    640
    >>> resolve_tile(1920, 0), resolve_tile(1080, 5000)
    (1920, 1080)
    """
    if isinstance(tile_size, bool) or not isinstance(tile_size, int | np.integer) or tile_size < 0:
        raise ValueError(f"tile size must be an integer >= 0 (0 = whole frame), got {tile_size!r}")
    return int(frame_size) if tile_size == 0 or tile_size > frame_size else int(tile_size)


def frames_per_chunk(max_bytes_per_chunk: int, bytes_per_tile: int, *, warn: bool = True) -> int:
    """How many tiles of consecutive frames fit in one chunk under a byte budget.

    A budget below `MIN_BYTES_PER_CHUNK` (16 MiB) is raised to it, with a warning,
    as Acquire's driver does. At least one frame always fits.

    Examples
    --------
    >>> frames_per_chunk(64 * 2**20, 640 * 360)    # 640 x 360 uint8 tiles under 64 MiB
    291
    """
    budget = max_bytes_per_chunk
    if isinstance(budget, bool) or not isinstance(budget, int | np.integer):
        raise TypeError(f"max_bytes_per_chunk must be an integer, got {max_bytes_per_chunk!r}")
    if bytes_per_tile < 1:
        raise ValueError(f"bytes_per_tile must be >= 1, got {bytes_per_tile!r}")
    if max_bytes_per_chunk < MIN_BYTES_PER_CHUNK:
        if warn:
            warnings.warn(
                f"max_bytes_per_chunk={max_bytes_per_chunk} is below the 16 MiB minimum; "
                f"using {MIN_BYTES_PER_CHUNK} bytes",
                UserWarning,
                stacklevel=2,
            )
        max_bytes_per_chunk = MIN_BYTES_PER_CHUNK
    return max(1, int(max_bytes_per_chunk) // int(bytes_per_tile))


def chunk_grid_shape(shape: Sequence[int], chunks: Sequence[int]) -> tuple[int, ...]:
    """Number of chunks along each axis: ``ceil(n / c)``.

    Examples
    --------
    >>> chunk_grid_shape((1080, 1920), (360, 640))
    (3, 3)
    >>> chunk_grid_shape((10, 7), (4, 7))
    (3, 1)
    """
    shape = _check_shape("shape", shape, allow_zero=True)
    chunks = _check_shape("chunks", chunks)
    if len(shape) != len(chunks):
        raise ValueError(f"chunks={chunks!r} needs one entry per axis of shape={shape!r}")
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
    shape = _check_shape("shape", shape)
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
