"""Tests of data_helpers._blocks: what the out-of-core writers share."""

from __future__ import annotations

import os
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import zarr

from data_helpers import _blocks


def test_zarr_codec_threads_follow_the_cores_only_while_writing() -> None:
    with _blocks.codec_threads():
        assert zarr.config.get("threading.max_workers") == (os.cpu_count() or 1)
    assert zarr.config.get("threading.max_workers", None) is None
    with zarr.config.set({"threading.max_workers": 3}), _blocks.codec_threads():
        assert zarr.config.get("threading.max_workers") == 3  # the user's choice stands


def test_blocks_of_fill_value_are_not_written(tmp_path: Path) -> None:
    target = zarr.create_array(tmp_path / "a.zarr", shape=(8, 8), chunks=(4, 4), dtype="uint8")
    data = np.zeros((8, 8), np.uint8)
    data[5, 6] = 9  # only the last chunk holds anything
    _blocks.store(da.from_array(data, chunks=(4, 4)), target, None, "test")
    assert target.nchunks_initialized == 1
    np.testing.assert_array_equal(target[...], data)


def test_a_block_of_negative_zeros_is_written(tmp_path: Path) -> None:
    """-0.0 == 0.0, the fill value, but a skipped block would read back as +0.0."""
    target = zarr.create_array(tmp_path / "f.zarr", shape=(8, 8), chunks=(4, 4),
                               dtype="float32", fill_value=0.0)
    data = np.zeros((8, 8), np.float32)
    data[:4, :4] = -0.0
    data[4:, 4:] = np.nan
    _blocks.store(da.from_array(data, chunks=(4, 4)), target, None, "test")
    assert target.nchunks_initialized == 2  # the -0.0 and the NaN chunks
    assert target[...].tobytes() == data.tobytes()


def test_finished_tasks_gives_threads_a_pool_and_leaves_other_schedulers_alone() -> None:
    with _blocks.finished_tasks() as pool:
        assert pool is not None
        assert _blocks.scheduler_options(pool) == {"scheduler": "threads", "pool": pool}
    with dask.config.set(scheduler="synchronous"), _blocks.finished_tasks() as pool:
        assert pool is None and _blocks.scheduler_options(pool) == {}
