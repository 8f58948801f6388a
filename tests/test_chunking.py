"""Tests of data_helpers.chunking: Acquire's tile and byte-budget rules, chunk grids."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from data_helpers import chunking


def test_acquire_documented_example():
    # 640 x 360 uint8 tiles under 64 MiB: 64 * 2**20 / 230400 = 291.27...
    assert chunking.frames_per_chunk(64 * 2**20, 640 * 360) == 291


def test_budget_below_16_mib_is_raised_with_a_warning():
    with pytest.warns(UserWarning, match="below the 16 MiB minimum"):
        small = chunking.frames_per_chunk(2**20, 1000)
    assert small == chunking.MIN_BYTES_PER_CHUNK // 1000
    assert chunking.frames_per_chunk(2**40, 3) == 2**40 // 3
    assert chunking.frames_per_chunk(16 * 2**20, 32 * 2**20) == 1  # one frame always fits


def test_tile_rules():
    assert chunking.resolve_tile(1920, 0) == 1920
    assert chunking.resolve_tile(1080, 1081) == 1080
    assert chunking.resolve_tile(1080, 1080) == 1080
    assert chunking.resolve_tile(1080, 360) == 360
    with pytest.raises(ValueError, match=r"tile_size=-1 must be an integer >= 0 \(0 means"):
        chunking.resolve_tile(1080, -1)
    with pytest.raises(TypeError, match=r"tile_size=2.5 must be an integer"):
        chunking.resolve_tile(1080, 2.5)


@given(
    shape=st.lists(st.integers(0, 40), min_size=1, max_size=3),
    data=st.data(),
)
def test_chunk_regions_tile_the_array_exactly_once(shape, data):
    chunks = data.draw(st.lists(st.integers(1, 12), min_size=len(shape), max_size=len(shape)))
    covered = np.zeros(shape, dtype=int)
    regions = list(chunking.chunk_regions(shape, chunks))
    for _, region in regions:
        covered[region] += 1
    assert np.all(covered == 1)
    assert len(regions) == math.prod(chunking.chunk_grid_shape(shape, chunks))


def test_auto_chunks_respects_budget_and_fixed_axes():
    chunks = chunking.auto_chunks((5, 2, 300, 3000, 3000), 2, target_bytes=4 * 2**20,
                                  fixed_axes=[0, 1])
    assert chunks[:2] == (1, 1)
    assert math.prod(chunks) * 2 <= 4 * 2**20
    assert chunking.auto_chunks((10, 10), 8) == (10, 10)   # small arrays are one chunk


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: chunking.chunk_grid_shape((10, 10), (5,)), ValueError,
         r"chunks=\(5,\) must be one integer >= 1 per axis of shape=\(10, 10\)"),
        (lambda: chunking.chunk_grid_shape((10,), (0,)), ValueError,
         r"chunks=\(0,\) must be one integer >= 1"),
        (lambda: chunking.chunk_grid_shape((10,), (2.0,)), TypeError, r"chunks=\(2.0,\)"),
        (lambda: chunking.frames_per_chunk(2.5, 10), TypeError, "max_bytes_per_chunk=2.5"),
        (lambda: chunking.frames_per_chunk(2**24, 0), ValueError, "bytes_per_tile=0"),
        (lambda: chunking.frames_per_chunk(2**24, 10, min_bytes_per_chunk=0), ValueError,
         "min_bytes_per_chunk=0 must be an integer >= 1"),
        (lambda: chunking.auto_chunks((10,), 8, target_bytes=4), ValueError, "target_bytes"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
