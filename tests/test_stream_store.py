"""Tests of the streaming writer's store, data_helpers._stream_store: data first, shape after."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numcodecs
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


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize("threads", [0, 3])
@pytest.mark.parametrize(("zarr_format", "shards"), [(2, None), (3, None), (3, (2, 1, 4, 6))])
def test_block_by_block_writes_give_the_bytes_of_one_region_write(
    tmp_path: Path, zarr_format: int, shards: tuple[int, ...] | None, threads: int
) -> None:
    """append_frames writes chunk by chunk (or shard by shard): the files are zarr's own."""
    def create(name: str) -> zarr.Array:
        # Edge chunks are partial along y and x; Blosc, so a padding byte would show.
        return zarr.create_array(
            tmp_path / name, shape=(0, 1, 7, 13), chunks=(2, 1, 2, 3), shards=shards,
            dtype="uint16", zarr_format=zarr_format,  # type: ignore[arg-type]
            compressors=zarr.codecs.BloscCodec(cname="zstd") if zarr_format == 3
            else numcodecs.Blosc(cname="zstd"),
        )

    rng = np.random.default_rng(0)
    stacks = [rng.integers(0, 2**16, (n, 1, 7, 13), dtype=np.uint16) for n in (2, 3, 1, 4)]
    region, blocks = create("region.zarr"), create("blocks.zarr")
    executor = ThreadPoolExecutor(threads) if threads else None
    for frames in stacks:
        start = region.shape[0]
        region.resize((start + len(frames), *region.shape[1:]))
        region[start:] = frames
        append_frames(blocks, frames, executor=executor)
    if executor is not None:
        executor.shutdown()
    assert _files(tmp_path / "blocks.zarr") == _files(tmp_path / "region.zarr")
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "blocks.zarr")[...],
                                  np.concatenate(stacks))
