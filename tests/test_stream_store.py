"""Tests of the streaming writer's store, data_helpers._stream_store: data first, shape after."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zarr

from data_helpers import ome
from data_helpers._destination import DestinationBusyError
from data_helpers._stream_store import StreamStore, append_frames


def empty_array(path: Path, zarr_format: int) -> zarr.Array:
    return zarr.create_array(path, shape=(0, 4), chunks=(2, 4), dtype="uint16",
                             zarr_format=zarr_format)  # type: ignore[arg-type]


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_append_frames_grows_the_shape_after_the_data(tmp_path: Path, zarr_format: int) -> None:
    array = empty_array(tmp_path / "a.zarr", zarr_format)
    append_frames(array, np.ones((2, 4), np.uint16))
    append_frames(array, np.full((3, 4), 5, np.uint16))
    reopened = zarr.open_array(tmp_path / "a.zarr", mode="r")
    assert reopened.shape == (5, 4)
    assert reopened[:, 0].tolist() == [1, 1, 5, 5, 5]


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_a_crash_before_the_shape_grows_leaves_the_old_frames_readable(
    tmp_path: Path, zarr_format: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed between writing a chunk and growing the shape: readers see the old frames."""
    array = empty_array(tmp_path / "a.zarr", zarr_format)
    append_frames(array, np.ones((2, 4), np.uint16))

    def crash(self: zarr.Array, shape: tuple[int, ...]) -> None:
        raise KeyboardInterrupt  # the process dies here

    monkeypatch.setattr(zarr.Array, "resize", crash)
    with pytest.raises(KeyboardInterrupt):
        append_frames(array, np.full((2, 4), 9, np.uint16))
    monkeypatch.undo()
    reopened = zarr.open_array(tmp_path / "a.zarr", mode="r")
    assert reopened.shape == (2, 4)  # the new chunk is on disk, but not yet described
    assert (reopened[...] == 1).all()


def model_for(per_chunk: list[int] | tuple[int, ...]) -> ome.ImageV04:
    return ome.image_model(
        shapes=[(0, 8)], dtype="uint8", chunks=[(per_chunk[0], 8)], axes="yx",
        scales=[[1.0, 1.0]], translations=[[0.0, 0.0]],
    )


def test_store_holds_the_lock_until_closed(tmp_path: Path) -> None:
    store = StreamStore(tmp_path / "s.zarr", model_for, (4,), overwrite=False)
    with pytest.raises(DestinationBusyError):
        StreamStore(tmp_path / "s.zarr", model_for, (4,), overwrite=True)
    store.close()
    StreamStore(tmp_path / "s.zarr", model_for, (4,), overwrite=True).close()


def test_time_chunk_changes_only_while_a_level_is_empty(tmp_path: Path) -> None:
    store = StreamStore(tmp_path / "s.zarr", model_for, (4,), overwrite=False)
    store.set_time_chunk(0, 3)
    assert store.time_chunk(0) == 3 and zarr.open_array(tmp_path / "s.zarr" / "0").chunks == (3, 8)
    store.append(0, np.ones((3, 8), np.uint8))
    with pytest.raises(RuntimeError, match="already has frames on disk"):
        store.set_time_chunk(0, 1)
    store.close()
    ome.validate(tmp_path / "s.zarr")
