"""Tests of the streaming writer, data_helpers.writer.

Most tests use small frames (96 x 54 with 32 x 18 tiles). Under the real 16 MiB floor
such a chunk stacks thousands of frames, so nothing would be flushed before `close`;
tests of flushing lower the floor with `ChunkingProperties(min_bytes_per_chunk=FLOOR)`
(see `small_chunks`) instead of writing hundreds of megabytes. The floor itself is
tested on its own.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_helpers import ome
from data_helpers.camera import SimulatedCamera
from data_helpers.writer import (
    AXES,
    PIXEL_TYPES,
    ChunkingProperties,
    StorageProperties,
    StreamStats,
    ZarrStreamWriter,
    stream_to_zarr,
)
from tests import _kill_writer

MIB = 2**20
SMALL_FRAME = (54, 96)  # (height, width)
SMALL_TILE = ChunkingProperties(32, 18)  # (width, height)
FLOOR = 1024  # the lowered chunk floor of `small_chunks`, in bytes


def small_chunks(max_bytes_per_chunk: int, tile: tuple[int, int] = (32, 18)) -> ChunkingProperties:
    """Tiles under a byte budget, with Acquire's 16 MiB floor lowered to `FLOOR` bytes."""
    return ChunkingProperties(*tile, 1, max_bytes_per_chunk, min_bytes_per_chunk=FLOOR)


def frames_of(dtype: Any, count: int, shape: tuple[int, int] = SMALL_FRAME, seed: int = 0):
    """Seeded frames spanning the whole range of ``dtype`` (float32: 0..1)."""
    height, width = shape
    camera = SimulatedCamera("uniform_random", shape=(width, height), pixel_type=dtype, seed=seed)
    return np.stack([frame.data for frame in camera.frames(count)]) if count else np.empty(
        (0, height, width), dtype
    )


def reference_pair_mean(frames: np.ndarray) -> np.ndarray:
    """The next level, computed independently of `downsample`, in float64.

    Each output pixel is the mean of the existing pixels of its 2 (time) x 2 x 2 window
    (windows at odd edges are partial), rounded half to even for integers; an unpaired
    last frame is dropped.
    """
    pairs = len(frames) // 2
    height, width = frames.shape[1:]
    padded = np.full((2 * pairs, height + height % 2, width + width % 2), np.nan)
    padded[:, :height, :width] = frames[: 2 * pairs]
    windows = padded.reshape(pairs, 2, (height + 1) // 2, 2, (width + 1) // 2, 2)
    mean = np.nanmean(windows, axis=(1, 3, 5))
    if frames.dtype.kind in "iu":
        mean = np.round(mean)  # numpy rounds half to even
    return mean.astype(frames.dtype)


def reference_levels(frames: np.ndarray, levels: int) -> list[np.ndarray]:
    out = [frames]
    for _ in range(levels - 1):
        out.append(reference_pair_mean(out[-1]))
    return out


def read_levels(path: Path) -> list[np.ndarray]:
    group = zarr.open_group(path, mode="r")
    meta = ome.read_multiscale(group)
    return [group[p][:] for p in meta.paths]


def assert_levels_equal(stored: list[np.ndarray], expected: list[np.ndarray]) -> None:
    for k, (got, want) in enumerate(zip(stored, expected, strict=True)):
        assert got.shape[1] == 1, f"level {k} must have one channel"
        got = got[:, 0]
        assert got.shape == want.shape, f"level {k}: {got.shape} != {want.shape}"
        assert got.dtype == want.dtype
        if want.dtype.kind == "f":
            # float64 sums in another order may differ in the last bit of the float32.
            np.testing.assert_array_max_ulp(got, want, maxulp=1)
        else:
            np.testing.assert_array_equal(got, want, err_msg=f"level {k}")


def small_storage(path: Path, **kwargs: Any) -> StorageProperties:
    kwargs.setdefault("chunking", SMALL_TILE)
    return StorageProperties(path, **kwargs)


# -- Acquire's chunking rules ------------------------------------------------------------


def test_acquire_example_291_frames_per_chunk() -> None:
    chunking_ = ChunkingProperties(640, 360, 1, 64 * MIB)
    assert chunking_.tile_shape((1080, 1920)) == (360, 640)
    assert chunking_.frames_per_chunk((1080, 1920), "uint8") == 291
    assert chunking_.frames_per_chunk((1080, 1920), "uint16") == 145


@pytest.mark.parametrize(
    ("tile", "expected"),
    [((0, 0), (1080, 1920)), ((640, 360), (360, 640)), ((5000, 360), (360, 1920)),
     ((640, 2000), (1080, 640)), ((1920, 1080), (1080, 1920))],
)
def test_tile_of_zero_or_larger_than_frame_is_the_frame(tile, expected) -> None:
    assert ChunkingProperties(*tile).tile_shape((1080, 1920)) == expected


def test_budget_below_16_mib_is_raised_with_a_warning() -> None:
    with pytest.warns(UserWarning, match=r"max_bytes_per_chunk=1000 is below the 16 MiB"):
        chunking_ = ChunkingProperties(32, 18, 1, 1000)
    assert chunking_.max_bytes_per_chunk == 16 * MIB
    assert chunking_.frames_per_chunk(SMALL_FRAME, "uint8") == 16 * MIB // (32 * 18)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ChunkingProperties(max_bytes_per_chunk=16 * MIB).max_bytes_per_chunk == 16 * MIB


@pytest.mark.parametrize(
    ("tile", "expected_shapes", "expected_tiles"),
    [
        ((640, 360), [(10, 1, 1080, 1920), (5, 1, 540, 960), (2, 1, 270, 480)],
         [(360, 640), (360, 640), (270, 480)]),
        ((384, 216),
         [(10, 1, 1080, 1920), (5, 1, 540, 960), (2, 1, 270, 480), (1, 1, 135, 240)],
         [(216, 384), (216, 384), (216, 384), (135, 240)]),
    ],
)
def test_documented_pyramids(tmp_path: Path, tile, expected_shapes, expected_tiles) -> None:
    storage = StorageProperties(tmp_path / "out.zarr", enable_multiscale=True,
                                chunking=ChunkingProperties(*tile))
    camera = SimulatedCamera("empty", shape=(1920, 1080))
    with ZarrStreamWriter(storage, frame_shape=(1080, 1920), dtype="uint8") as writer:
        # Before any frame: each level's own frames per chunk, from its own tile bytes.
        for (th, tw), chunk in zip(expected_tiles, writer.chunks, strict=True):
            assert chunk == (16 * MIB // (th * tw), 1, th, tw)
        for frame in camera.frames(10):
            writer.append(frame)
    group = zarr.open_group(tmp_path / "out.zarr", mode="r")
    assert [group[str(k)].shape for k in range(len(expected_shapes))] == expected_shapes
    assert sorted(group.array_keys()) == [str(k) for k in range(len(expected_shapes))]
    # Fewer frames than a chunk holds: each time chunk shrinks to the level's frame count.
    for k, ((t, *_), (th, tw)) in enumerate(zip(expected_shapes, expected_tiles, strict=True)):
        assert group[str(k)].chunks == (t, 1, th, tw)


def test_frames_per_chunk_of_each_level_and_flushed_chunks(tmp_path: Path) -> None:
    # Floor 1 KiB, budget 2 KiB: 32 x 18 uint8 tiles (576 B) -> 3 frames per chunk at
    # level 0; level 2 is 14 x 24, one 336 B tile -> 6 frames per chunk.
    storage = small_storage(tmp_path / "s.zarr", enable_multiscale=True,
                            chunking=small_chunks(2048))
    with ZarrStreamWriter(storage, frame_shape=SMALL_FRAME, dtype="uint8") as writer:
        assert [c[0] for c in writer.chunks] == [3, 3, 6]
        assert writer.frame_shapes == ((54, 96), (27, 48), (14, 24))
        writer.append(frames_of("uint8", 29))
    assert writer.shapes == ((29, 1, 54, 96), (14, 1, 27, 48), (7, 1, 14, 24))
    # Levels that flushed keep their chunk; all chunks are within the frames written.
    assert writer.chunks == ((3, 1, 18, 32), (3, 1, 18, 32), (6, 1, 14, 24))


@pytest.mark.parametrize("count", [0, 1, 2, 3, 7])
def test_time_chunk_never_exceeds_frames_written(tmp_path: Path, count: int) -> None:
    storage = small_storage(tmp_path / "s.zarr", enable_multiscale=True)
    with ZarrStreamWriter(storage, frame_shape=SMALL_FRAME, dtype="uint8") as writer:
        writer.append(frames_of("uint8", count))
    group = zarr.open_group(tmp_path / "s.zarr", mode="r")
    for k in range(3):
        frames = count // 2**k
        assert group[str(k)].shape[0] == frames
        assert group[str(k)].chunks[0] == max(frames, 1)
    ome.validate(tmp_path / "s.zarr")


def test_empty_stream_leaves_a_valid_empty_store(tmp_path: Path) -> None:
    for version in (2, 3):
        path = tmp_path / f"v{version}.zarr"
        ZarrStreamWriter(small_storage(path, zarr_version=version, enable_multiscale=True),
                         frame_shape=SMALL_FRAME, dtype="uint16").close()
        model = ome.validate(path)
        assert model.ome_zarr_version == {2: "0.4", 3: "0.5"}[version]
        shapes = [a.shape for a in read_levels(path)]
        assert shapes == [(0, 1, 54, 96), (0, 1, 27, 48), (0, 1, 14, 24)]


def test_store_exists_and_is_valid_before_any_frame(tmp_path: Path) -> None:
    writer = ZarrStreamWriter(small_storage(tmp_path / "s.zarr"), frame_shape=(4, 6),
                              dtype="uint8")
    try:
        ome.validate(tmp_path / "s.zarr")
        assert zarr.open_array(tmp_path / "s.zarr" / "0", mode="r").shape == (0, 1, 4, 6)
    finally:
        writer.close()


# -- pixels --------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", PIXEL_TYPES)
def test_levels_are_exact_means_for_every_pixel_type(tmp_path: Path, dtype) -> None:
    # Odd frames per chunk (5 at level 0) so pairs straddle chunk boundaries, odd sizes,
    # an odd frame count, and frames appended one by one and in stacks.
    shape = (55, 97)
    itemsize = np.dtype(dtype).itemsize
    storage = small_storage(tmp_path / "s.zarr", enable_multiscale=True,
                            chunking=small_chunks(5 * 32 * 18 * itemsize))
    frames = frames_of(dtype, 23, shape)
    with ZarrStreamWriter(storage, frame_shape=shape, dtype=dtype) as writer:
        assert writer.chunks[0][0] == 5
        for frame in frames[:4]:
            writer.append(frame)
        writer.append(frames[4:15])
        writer.append(frames[15:])
    expected = reference_levels(frames, writer.levels)
    assert [e.shape for e in expected] == [(23, 55, 97), (11, 28, 49), (5, 14, 25)]
    assert_levels_equal(read_levels(tmp_path / "s.zarr"), expected)


def test_16_bit_means_are_not_averaged_byte_by_byte(tmp_path: Path) -> None:
    # Acquire's driver averaged bytes: the mean of 255 (0x00FF) and 256 (0x0100) came out
    # as 0x0080 = 128 instead of 256 (255.5 rounds to the even 256).
    frames = np.empty((2, 2, 2), np.uint16)
    frames[0], frames[1] = 255, 256
    storage = StorageProperties(tmp_path / "s.zarr", enable_multiscale=True,
                                chunking=ChunkingProperties(1, 1))
    with ZarrStreamWriter(storage, frame_shape=(2, 2), dtype="uint16") as writer:
        writer.append(frames)
    assert read_levels(tmp_path / "s.zarr")[1].tolist() == [[[[256]]]]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    height=st.integers(1, 40),
    width=st.integers(1, 40),
    tile=st.tuples(st.integers(0, 45), st.integers(0, 45)),
    count=st.integers(0, 19),
    per_chunk=st.integers(1, 6),
    dtype=st.sampled_from(PIXEL_TYPES),
    zarr_version=st.sampled_from([2, 3]),
    split=st.integers(1, 5),
)
def test_any_stream_matches_the_reference(
    height, width, tile, count, per_chunk, dtype, zarr_version, split
) -> None:
    itemsize = np.dtype(dtype).itemsize
    tile_w = tile[0] if 0 < tile[0] <= width else width
    tile_h = tile[1] if 0 < tile[1] <= height else height
    budget = per_chunk * tile_w * tile_h * itemsize
    frames = frames_of(dtype, count, (height, width))
    with tempfile.TemporaryDirectory() as tmp:
        chunking_ = ChunkingProperties(*tile, 1, budget, min_bytes_per_chunk=1)
        storage = StorageProperties(f"{tmp}/s.zarr", zarr_version=zarr_version,
                                    enable_multiscale=True, chunking=chunking_)
        with ZarrStreamWriter(storage, frame_shape=(height, width), dtype=dtype) as writer:
            assert writer.chunks[0][0] == per_chunk
            for start in range(0, count, split):
                writer.append(frames[start : start + split])
        for k, (h, w) in enumerate(writer.frame_shapes):
            # The last level is the first whose frame fits in one tile.
            fits = h <= tile_h and w <= tile_w
            assert fits == (k == writer.levels - 1)
        assert_levels_equal(read_levels(Path(tmp) / "s.zarr"),
                            reference_levels(frames, writer.levels))
        for shape, chunk in zip(writer.shapes, writer.chunks, strict=True):
            assert chunk[0] <= max(shape[0], 1)
        ome.validate(f"{tmp}/s.zarr")


# -- formats, compression, sharding, metadata ------------------------------------------------


FORMATS = [
    pytest.param(2, None, None, id="v2"),
    pytest.param(2, "blosc-lz4", None, id="v2-lz4"),
    pytest.param(2, "blosc-zstd", None, id="v2-zstd"),
    pytest.param(3, None, None, id="v3"),
    pytest.param(3, "blosc-zstd", None, id="v3-zstd"),
    pytest.param(3, None, (2, 2), id="v3-sharded"),
    pytest.param(3, "blosc-lz4", 3, id="v3-lz4-sharded"),
    pytest.param(3, "blosc-zstd", (1, 2), id="v3-zstd-sharded-1x2"),
]


@pytest.mark.parametrize(("zarr_version", "compression", "shard_chunks"), FORMATS)
def test_formats_round_trip_and_validate(
    tmp_path: Path, zarr_version, compression, shard_chunks
) -> None:
    path = tmp_path / "s.zarr"
    storage = small_storage(path, zarr_version=zarr_version, compression=compression,
                            shard_chunks=shard_chunks, enable_multiscale=True,
                            pixel_scale_um=(0.5, 0.25),
                            chunking=small_chunks(4 * 32 * 18 * 2))
    frames = frames_of("uint16", 13)
    with ZarrStreamWriter(storage, frame_shape=SMALL_FRAME, dtype="uint16") as writer:
        writer.append(frames)

    model = ome.validate(path)
    assert model.ome_zarr_version == {2: "0.4", 3: "0.5"}[zarr_version]
    group = zarr.open_group(path, mode="r")
    assert group.metadata.zarr_format == zarr_version
    level0 = group["0"]
    np.testing.assert_array_equal(level0[:], frames[:, np.newaxis])  # bit-exact
    assert level0.chunks == (4, 1, 18, 32)
    assert_levels_equal(read_levels(path), reference_levels(frames, 3))

    if zarr_version == 2:
        compressor = level0.metadata.compressor
        assert (compressor is None) == (compression is None)
        if compression:
            assert compressor.get_config()["cname"] == compression.removeprefix("blosc-")
            assert compressor.get_config()["shuffle"] == 1
    else:
        assert level0.metadata.dimension_names == tuple(AXES)
        codec_names = _codec_names(level0.metadata.to_dict()["codecs"])
        assert ("blosc" in codec_names) == (compression is not None)
        if shard_chunks is None:
            assert level0.shards is None
        else:
            sx, sy = (shard_chunks, shard_chunks) if isinstance(shard_chunks, int) else shard_chunks
            # One time chunk deep; x and y clipped to whole chunks covering the frame.
            for k, (h, w) in enumerate(writer.frame_shapes):
                chunks = group[str(k)].chunks
                expected = (chunks[0], 1, min(sy * chunks[2], math.ceil(h / chunks[2]) * chunks[2]),
                            min(sx * chunks[3], math.ceil(w / chunks[3]) * chunks[3]))
                assert group[str(k)].shards == expected


def _codec_names(codecs: list[dict[str, Any]]) -> set[str]:
    names = set()
    for codec in codecs:
        names.add(codec["name"])
        names |= _codec_names(codec.get("configuration", {}).get("codecs", []))
    return names


@pytest.mark.parametrize("zarr_version", [2, 3])
def test_scales_and_translations_are_exact(tmp_path: Path, zarr_version: int) -> None:
    path = tmp_path / "s.zarr"
    storage = small_storage(path, zarr_version=zarr_version, enable_multiscale=True,
                            chunking=ChunkingProperties(16, 9), pixel_scale_um=(0.5, 0.25))
    with ZarrStreamWriter(storage, frame_shape=SMALL_FRAME, dtype="uint8") as writer:
        writer.append(frames_of("uint8", 8))
    meta = ome.read_multiscale(path)
    assert meta.axes == ("t", "c", "y", "x")
    assert meta.axis_types == ("time", "channel", "space", "space")
    assert meta.units[2:] == ("micrometer", "micrometer")
    assert meta.method == "mean"
    assert len(meta.paths) == writer.levels == 4
    for k in range(4):
        f = 2**k
        # Time in frames (pairs averaged), y then x in micrometers from (x, y) = (0.5, 0.25).
        assert meta.scales[k] == (f, 1.0, 0.25 * f, 0.5 * f)
        assert meta.translations[k] == ((f - 1) / 2, 0.0, 0.25 * (f - 1) / 2, 0.5 * (f - 1) / 2)
    expected_scales, expected_shifts = ome.level_transforms(
        [1.0, 1.0, 0.25, 0.5], [(2, 1, 2, 2)] * 3, method="mean"
    )
    assert [list(s) for s in meta.scales] == expected_scales
    assert [list(t) for t in meta.translations] == expected_shifts


@pytest.mark.parametrize("zarr_version", [2, 3])
def test_time_axis_in_seconds_with_a_frame_interval(tmp_path: Path, zarr_version: int) -> None:
    path = tmp_path / "s.zarr"
    storage = small_storage(path, zarr_version=zarr_version, enable_multiscale=True,
                            chunking=ChunkingProperties(16, 9), frame_interval_s=0.05)
    with ZarrStreamWriter(storage, frame_shape=SMALL_FRAME, dtype="uint8") as writer:
        writer.append(frames_of("uint8", 8))
    assert ome.validate(path).ome_zarr_version == ("0.4" if zarr_version == 2 else "0.5")
    meta = ome.read_multiscale(path)
    assert meta.units == ("second", None, "micrometer", "micrometer")
    # A level-k frame averages 2**k frames: it lasts 2**k intervals and sits at their centre.
    assert [s[0] for s in meta.scales] == [0.05, 0.1, 0.2, 0.4]
    assert [t[0] for t in meta.translations] == [0.0, 0.025, 0.075, 0.175]
    expected_scales, expected_shifts = ome.level_transforms(
        [0.05, 1.0, 1.0, 1.0], [(2, 1, 2, 2)] * 3, method="mean"
    )
    assert [list(s) for s in meta.scales] == expected_scales
    assert [list(t) for t in meta.translations] == expected_shifts


def test_time_in_frames_without_a_frame_interval(tmp_path: Path) -> None:
    path = tmp_path / "s.zarr"
    with ZarrStreamWriter(small_storage(path), frame_shape=SMALL_FRAME, dtype="uint8") as w:
        w.append(frames_of("uint8", 2))
    meta = ome.read_multiscale(path)
    assert meta.units[0] is None and meta.scales[0][0] == 1.0


def test_without_multiscale_one_level(tmp_path: Path) -> None:
    path = tmp_path / "s.zarr"
    with ZarrStreamWriter(small_storage(path), frame_shape=SMALL_FRAME, dtype="int16") as w:
        w.append(frames_of("int16", 3))
    assert ome.read_multiscale(path).paths == ("0",)
    assert w.levels == 1


# -- the writer's interface ------------------------------------------------------------------


def test_append_takes_frames_frame_objects_and_stacks(tmp_path: Path) -> None:
    camera = SimulatedCamera("radial_sin", shape=(96, 54), pixel_type="int8")
    frames = list(camera.frames(6))
    with ZarrStreamWriter(small_storage(tmp_path / "s.zarr"), frame_shape=camera.frame_shape,
                          dtype=camera.dtype) as writer:
        writer.append(frames[0])  # a Frame
        writer.append(frames[1].data)  # an (h, w) array
        writer.append(np.stack([f.data for f in frames[2:]]))  # an (n, h, w) stack
        assert writer.frames_appended == 6
    stored = zarr.open_array(tmp_path / "s.zarr" / "0", mode="r")[:, 0]
    np.testing.assert_array_equal(stored, np.stack([f.data for f in frames]))


def test_append_copies_so_the_caller_can_reuse_its_array(tmp_path: Path) -> None:
    frame = np.zeros(SMALL_FRAME, np.uint8)
    with ZarrStreamWriter(small_storage(tmp_path / "s.zarr"), frame_shape=SMALL_FRAME,
                          dtype="uint8") as writer:
        for value in range(3):
            frame[:] = value
            writer.append(frame)
    stored = zarr.open_array(tmp_path / "s.zarr" / "0", mode="r")[:, 0, 0, 0]
    assert stored.tolist() == [0, 1, 2]


def test_stream_to_zarr_reports_stats_and_shows_progress(tmp_path: Path, capsys) -> None:
    camera = SimulatedCamera("radial_sin", shape=(96, 54), pixel_type="uint16")
    storage = small_storage(tmp_path / "s.zarr", enable_multiscale=True, zarr_version=3,
                            compression="blosc-lz4")
    stats = stream_to_zarr(camera, storage, 9, progress=True)
    assert isinstance(stats, StreamStats)
    assert stats.frames_written == 9
    assert stats.bytes_written == 9 * 54 * 96 * 2
    assert stats.seconds > 0
    assert stats.shapes == ((9, 1, 54, 96), (4, 1, 27, 48), (2, 1, 14, 24))
    camera.reset()
    expected = np.stack([f.data for f in camera.frames(9)])
    assert_levels_equal(read_levels(tmp_path / "s.zarr"), reference_levels(expected, 3))
    assert "9/9" in capsys.readouterr().out  # the progress bar, finished


def test_context_manager_leaves_a_valid_store_on_exception(tmp_path: Path) -> None:
    path = tmp_path / "s.zarr"
    storage = small_storage(path, chunking=small_chunks(2048))  # 3 per chunk
    frames = frames_of("uint8", 7)
    with pytest.raises(KeyboardInterrupt):
        with ZarrStreamWriter(storage, frame_shape=SMALL_FRAME, dtype="uint8") as writer:
            writer.append(frames)
            raise KeyboardInterrupt
    assert writer.closed
    ome.validate(path)
    # The buffered frames were flushed by close() too.
    np.testing.assert_array_equal(zarr.open_array(path / "0", mode="r")[:, 0], frames)


def failing_appends(writer: ZarrStreamWriter, fail_on: set[int]) -> list[int]:
    """Make the writer's store raise a full-disk error on the given calls (1 = the first).

    Returns the list of frame counts of every call, filled in as the writer runs.
    """
    store = writer._store
    real_append = store.append
    calls: list[int] = []

    def append(level: int, frames: np.ndarray) -> None:
        calls.append(len(frames))
        if len(calls) in fail_on:
            raise OSError(28, "No space left on device")
        real_append(level, frames)

    store.append = append  # type: ignore[method-assign]
    return calls


def test_a_failed_write_is_reported_and_never_shifts_frames(tmp_path: Path) -> None:
    path = tmp_path / "s.zarr"
    storage = small_storage(path, chunking=small_chunks(2048))  # 3 per chunk
    frames = frames_of("uint8", 12)
    writer = ZarrStreamWriter(storage, frame_shape=SMALL_FRAME, dtype="uint8")
    failing_appends(writer, fail_on={2})
    with pytest.raises(OSError, match="No space left"):
        for frame in frames:
            writer.append(frame)
    with pytest.raises(RuntimeError, match="failed earlier"):
        writer.append(frames[0])
    writer.close()  # writes nothing more: a later chunk must not land in the failed one's place
    ome.validate(path)
    np.testing.assert_array_equal(zarr.open_array(path / "0", mode="r")[:, 0], frames[:3])
    # The lock went with the writer: the path can be written again at once.
    with ZarrStreamWriter(small_storage(path, overwrite=True), frame_shape=SMALL_FRAME,
                          dtype="uint8") as again:
        again.append(frames)
    assert again.shapes[0][0] == 12


def test_close_that_fails_raises_releases_the_lock_and_keeps_what_was_flushed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.zarr"
    frames = frames_of("uint8", 5)
    writer = ZarrStreamWriter(small_storage(path, chunking=small_chunks(2048)),
                              frame_shape=SMALL_FRAME, dtype="uint8")
    failing_appends(writer, fail_on={2})  # the first chunk lands; the rest, at close, fails
    writer.append(frames)
    with pytest.raises(OSError, match="No space left"):
        writer.close()
    assert writer.closed and writer.buffer_nbytes == 0
    writer.close()  # a second close does nothing, and raises nothing
    assert not (tmp_path / ".s.zarr.lock").exists()
    ome.validate(path)
    np.testing.assert_array_equal(zarr.open_array(path / "0", mode="r")[:, 0], frames[:3])


def test_exit_keeps_the_callers_error_when_closing_fails_too(tmp_path: Path) -> None:
    path = tmp_path / "s.zarr"
    with pytest.raises(KeyError, match="camera lost") as raised:
        with ZarrStreamWriter(small_storage(path, chunking=small_chunks(2048)),
                              frame_shape=SMALL_FRAME, dtype="uint8") as writer:
            failing_appends(writer, fail_on={1})
            writer.append(frames_of("uint8", 2))  # buffered; written (and failing) at close
            raise KeyError("camera lost")
    assert any("closing the writer then failed too" in note and "No space left" in note
               for note in raised.value.__notes__)
    assert writer.closed
    ome.validate(path)  # a valid, empty store: nothing of the failed write shows
    assert zarr.open_array(path / "0", mode="r").shape[0] == 0


def test_slow_disk_back_pressure_drops_no_frame(tmp_path: Path) -> None:
    """A disk slower than the camera makes `append` wait; nothing is dropped or reordered."""
    path = tmp_path / "s.zarr"
    frames = frames_of("uint16", 40)
    writer = ZarrStreamWriter(small_storage(path, chunking=small_chunks(3 * 32 * 18 * 2),
                                            enable_multiscale=True),
                              frame_shape=SMALL_FRAME, dtype="uint16")
    per_chunk = writer.chunks[0][0]
    store = writer._store
    real_append = store.append
    backlog: list[int] = []

    def slow_append(level: int, chunk: np.ndarray) -> None:
        time.sleep(0.02)
        if level == 0:
            # Frames taken by append but not yet on disk, seen by the disk as it writes.
            backlog.append(writer.frames_appended - store.frames(0))
        real_append(level, chunk)

    store.append = slow_append  # type: ignore[method-assign]
    for frame in frames:
        writer.append(frame)
    writer.close()
    # The chunk being written and the one filling: never more than two chunks behind.
    assert backlog and max(backlog) <= 2 * per_chunk
    assert_levels_equal(read_levels(path), reference_levels(frames, writer.levels))


def test_peak_memory_is_the_chunk_buffers_whatever_the_stream_length(tmp_path: Path) -> None:
    """Measured with tracemalloc (numpy reports its allocations to it), not computed."""
    frame = frames_of("uint16", 1)[0]
    chunking_ = small_chunks(8 * 32 * 18 * 2)

    def peak_of(count: int, name: str) -> tuple[int, int, int]:
        storage = small_storage(tmp_path / name, enable_multiscale=True, chunking=chunking_)
        tracemalloc.start()
        try:
            with ZarrStreamWriter(storage, frame_shape=SMALL_FRAME, dtype="uint16") as writer:
                buffers = writer.buffer_nbytes
                for _ in range(count):
                    writer.append(frame)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        return peak, buffers, writer.buffer_nbytes

    short_peak, buffers, after_close = peak_of(40, "short.zarr")
    long_peak, _, _ = peak_of(400, "long.zarr")
    # The buffers, plus temporaries of about one chunk (averages, encoded bytes).
    chunk_bytes = 8 * frame.nbytes
    assert buffers <= short_peak < buffers + 4 * chunk_bytes + 2**20
    # Ten times more frames need no more memory; and closing gives the buffers back.
    # tracemalloc also counts Python objects (zarr's asyncio tasks in flight), which vary
    # with timing by a few hundred KiB; anything kept per frame or per chunk would add
    # several MiB over the 360 extra frames (360 x 10 KiB).
    python_objects = 2**19
    assert long_peak < short_peak + chunk_bytes + python_objects
    assert after_close == 0


def test_acquire_style_cameras_are_streamed(tmp_path: Path) -> None:
    """Anything with .frames(n) and Acquire's .shape (width, height) / .pixel_type works."""

    class AcquireLikeCamera:
        shape = (96, 54)  # (width, height), as Acquire's camera properties
        pixel_type = "uint8"

        def frames(self, n: int):
            for k in range(n):
                yield np.full((54, 96), k, np.uint8)  # plain arrays, no Frame objects

    class FrameObject:
        def __init__(self, data: np.ndarray) -> None:
            self.data = data

    class NumpyOrderCamera:
        frame_shape = (54, 96)
        dtype = np.dtype("uint8")

        def frames(self, n: int):
            for k in range(n):
                yield FrameObject(np.full((54, 96), 2 * k, np.uint8))

    first = stream_to_zarr(AcquireLikeCamera(), small_storage(tmp_path / "a.zarr"), 4)
    second = stream_to_zarr(NumpyOrderCamera(), small_storage(tmp_path / "b.zarr"), 4)
    assert first.shapes == second.shapes == ((4, 1, 54, 96),)
    assert zarr.open_array(tmp_path / "a.zarr" / "0")[:, 0, 0, 0].tolist() == [0, 1, 2, 3]
    assert zarr.open_array(tmp_path / "b.zarr" / "0")[:, 0, 0, 0].tolist() == [0, 2, 4, 6]

    class Sideways:
        shape = (54, 96)  # (height, width) by mistake: frames do not match
        pixel_type = "uint8"
        frames = AcquireLikeCamera.frames

    with pytest.raises(ValueError, match=r"frame shape \(1, 54, 96\) does not match"):
        stream_to_zarr(Sideways(), small_storage(tmp_path / "c.zarr"), 2)


def test_repr_mentions_path_and_state(tmp_path: Path) -> None:
    writer = ZarrStreamWriter(small_storage(tmp_path / "s.zarr"), frame_shape=(4, 6),
                              dtype="uint8")
    assert "open" in repr(writer) and "s.zarr" in repr(writer)
    writer.close()
    writer.close()  # twice is fine
    assert "closed" in repr(writer)


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"tile_width": -1}, ValueError, r"tile_width=-1 must be an integer >= 0"),
        ({"tile_height": 2.5}, TypeError, r"tile_height=2\.5 must be an integer >= 0"),
        ({"tile_planes": True}, TypeError, r"tile_planes=True must be an integer"),
        ({"max_bytes_per_chunk": -5}, ValueError, r"max_bytes_per_chunk=-5 must be .* >= 0"),
        ({"max_bytes_per_chunk": "16MiB"}, TypeError, r"max_bytes_per_chunk='16MiB'"),
    ],
)
def test_bad_chunking_settings(kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        ChunkingProperties(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"zarr_version": 4}, ValueError, r"zarr_version=4 must be 2 \(OME-Zarr 0.4\) or 3"),
        ({"zarr_version": "3"}, TypeError, r"zarr_version='3' must be 2 \(OME-Zarr 0.4\)"),
        ({"compression": "gzip"}, ValueError,
         r"compression='gzip' must be one of \[None, 'blosc-lz4', 'blosc-zstd'\]"),
        ({"chunking": (640, 360)}, TypeError, r"chunking=\(640, 360\) must be a ChunkingProp"),
        ({"enable_multiscale": 1}, TypeError, r"enable_multiscale=1 must be True or False"),
        ({"overwrite": "yes"}, TypeError, r"overwrite='yes' must be True or False"),
        ({"pixel_scale_um": (1.0, 0.0)}, ValueError, r"pixel_scale_um\[1\]=0\.0 must be an"),
        ({"pixel_scale_um": (1.0, float("nan"))}, ValueError, r"pixel_scale_um\[1\]=nan must"),
        ({"pixel_scale_um": (1.0,)}, ValueError, r"pixel_scale_um=\(1\.0,\) must be an \(x, y\)"),
        ({"pixel_scale_um": 1.0}, TypeError, r"pixel_scale_um=1\.0 must be an \(x, y\) pair"),
        ({"frame_interval_s": 0}, ValueError,
         r"frame_interval_s=0 must be None or a finite number > 0 \(seconds"),
        ({"frame_interval_s": float("inf")}, ValueError, r"frame_interval_s=inf must be"),
        ({"frame_interval_s": "50 ms"}, TypeError, r"frame_interval_s='50 ms' must be None"),
        ({"shard_chunks": 2}, ValueError,
         r"shard_chunks=2 needs zarr_version=3 \(got zarr_version=2\)"),
        ({"shard_chunks": 0, "zarr_version": 3}, ValueError,
         r"shard_chunks=0 must be None, an integer >= 1 or an \(x, y\) pair"),
        ({"shard_chunks": (2, 2, 2), "zarr_version": 3}, ValueError, r"shard_chunks=\(2, 2, 2\)"),
        ({"shard_chunks": "2", "zarr_version": 3}, TypeError, r"shard_chunks='2' must be"),
    ],
)
def test_bad_storage_settings(tmp_path: Path, kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        StorageProperties(tmp_path / "s.zarr", **kwargs)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("filename", "error", "match"),
    [(None, TypeError, r"filename=None must be a path"), ("", ValueError, r"filename='' must")],
)
def test_bad_filename(filename, error, match) -> None:
    with pytest.raises(error, match=match):
        StorageProperties(filename)


@pytest.mark.parametrize(
    ("frame_shape", "dtype", "error", "match"),
    [
        ((54,), "uint8", ValueError, r"frame_shape=\(54,\) must be a \(height, width\) pair"),
        ((0, 96), "uint8", ValueError, r"frame_shape=\(0, 96\) must be"),
        ("54x96", "uint8", TypeError, r"frame_shape='54x96' must be"),
        (SMALL_FRAME, "float64", ValueError,
         r"dtype='float64' must be one of \['uint8', 'int8', 'uint16', 'int16', 'float32'\]"),
        (SMALL_FRAME, None, TypeError, r"dtype=None must be one of"),
        (SMALL_FRAME, object(), TypeError, r"dtype=<object .*> must be one of"),
    ],
)
def test_bad_writer_arguments_write_nothing(tmp_path: Path, frame_shape, dtype, error, match):
    with pytest.raises(error, match=match):
        ZarrStreamWriter(small_storage(tmp_path / "s.zarr"), frame_shape=frame_shape, dtype=dtype)
    assert list(tmp_path.iterdir()) == []


def test_storage_must_be_storage_properties(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"storage='s\.zarr' must be a StorageProperties"):
        ZarrStreamWriter("s.zarr", frame_shape=SMALL_FRAME, dtype="uint8")  # type: ignore[arg-type]


def test_existing_filename_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "s.zarr"
    path.mkdir()
    (path / "precious.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match=r"filename=.*s\.zarr' already exists; pass "
                                              r"overwrite=True"):
        ZarrStreamWriter(small_storage(path), frame_shape=SMALL_FRAME, dtype="uint8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.zarr"]
    assert [p.name for p in path.iterdir()] == ["precious.txt"]

    # Not a Zarr store: overwrite=True refuses it too, and leaves it as it was.
    with pytest.raises(ValueError, match=r"overwrite=True replaces only a Zarr store"):
        ZarrStreamWriter(small_storage(path, overwrite=True), frame_shape=SMALL_FRAME,
                         dtype="uint8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.zarr"]
    assert [p.name for p in path.iterdir()] == ["precious.txt"]


def test_overwrite_replaces_an_earlier_stream(tmp_path: Path) -> None:
    path = tmp_path / "s.zarr"
    with ZarrStreamWriter(small_storage(path), frame_shape=SMALL_FRAME, dtype="uint8") as first:
        first.append(frames_of("uint8", 5))
    with ZarrStreamWriter(small_storage(path, overwrite=True), frame_shape=SMALL_FRAME,
                          dtype="uint8") as writer:
        writer.append(frames_of("uint8", 2, seed=3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.zarr"]  # no staging, no lock
    ome.validate(path)
    np.testing.assert_array_equal(zarr.open_array(path / "0")[:, 0], frames_of("uint8", 2, seed=3))


@pytest.mark.parametrize(
    ("frame", "error", "match"),
    [
        (np.zeros((54, 95), np.uint8), ValueError,
         r"frame shape \(1, 54, 95\) does not match the writer's frame_shape=\(54, 96\); "
         r"append takes one \(54, 96\) frame"),
        (np.zeros((2, 1, 54, 96), np.uint8), ValueError, r"frame shape \(2, 1, 54, 96\)"),
        (np.zeros(SMALL_FRAME, np.uint16), TypeError,
         r"frame dtype uint16 does not match the writer's dtype=uint8; convert with "
         r"\.astype\('uint8'\)"),
        (np.zeros(SMALL_FRAME, np.float32), TypeError, r"frame dtype float32"),
    ],
)
def test_bad_frames(tmp_path: Path, frame, error, match) -> None:
    with ZarrStreamWriter(small_storage(tmp_path / "s.zarr"), frame_shape=SMALL_FRAME,
                          dtype="uint8") as writer:
        writer.append(np.zeros(SMALL_FRAME, np.uint8))
        with pytest.raises(error, match=match):
            writer.append(frame)
        assert writer.frames_appended == 1
    assert writer.shapes[0][0] == 1


def test_append_after_close(tmp_path: Path) -> None:
    writer = ZarrStreamWriter(small_storage(tmp_path / "s.zarr"), frame_shape=SMALL_FRAME,
                              dtype="uint8")
    writer.close()
    with pytest.raises(ValueError, match=r"the writer of .*s\.zarr' is closed"):
        writer.append(np.zeros(SMALL_FRAME, np.uint8))


@pytest.mark.parametrize(
    ("count", "error", "match"),
    [(-1, ValueError, r"max_frame_count=-1 must be an integer >= 0"),
     (2.0, TypeError, r"max_frame_count=2\.0 must be an integer >= 0")],
)
def test_bad_frame_count(tmp_path: Path, count, error, match) -> None:
    camera = SimulatedCamera(shape=(96, 54))
    with pytest.raises(error, match=match):
        stream_to_zarr(camera, small_storage(tmp_path / "s.zarr"), count)
    assert list(tmp_path.iterdir()) == []


def test_camera_without_frames_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"camera=.* must have a \.frames\(n\) method"):
        stream_to_zarr(object(), small_storage(tmp_path / "s.zarr"), 1)


# -- durability ---------------------------------------------------------------------------------


def _flushed(path: Path) -> tuple[int, ...]:
    """Frames on disk per level, as a reader sees them now (0s while the store is made)."""
    try:
        group = zarr.open_group(path, mode="r")
        return tuple(group[str(k)].shape[0] for k in range(len(list(group.array_keys()))))
    except (FileNotFoundError, KeyError, ValueError, zarr.errors.BaseZarrError):
        return (0,)


@pytest.mark.parametrize(
    ("zarr_version", "compression", "shard_chunks"),
    [(2, "none", "none"), (3, "blosc-zstd", "2")],
    ids=["v2", "v3-zstd-sharded"],
)
def test_killed_stream_leaves_every_flushed_frame(
    tmp_path: Path, zarr_version, compression, shard_chunks
) -> None:
    path = tmp_path / "killed.zarr"
    script = Path(_kill_writer.__file__)
    env = {**os.environ, "PYTHONPATH": str(script.parent.parent)}
    process = subprocess.Popen(
        [sys.executable, str(script), str(path), str(zarr_version), compression, shard_chunks],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )
    try:
        deadline = time.monotonic() + 60
        # Wait until every level has flushed (level 2 needs 6 of its frames: 24 frames),
        # then a little more, so the kill lands in the middle of the stream.
        while min(_flushed(path)) == 0:
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "no flush seen within 60 s"
            time.sleep(0.02)
        time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)  # reaps the process and closes its pipe
    assert process.returncode == -signal.SIGKILL

    model = ome.validate(path)
    assert model.ome_zarr_version == {2: "0.4", 3: "0.5"}[zarr_version]
    stored = read_levels(path)
    on_disk = [len(level) for level in stored]
    assert on_disk[0] > 0 and len(on_disk) == 3
    group = zarr.open_group(path, mode="r")
    for k, count in enumerate(on_disk):
        # Before close() only whole chunks are flushed.
        assert count % group[str(k)].chunks[0] == 0
    height, width = _kill_writer.FRAME_SHAPE
    camera = SimulatedCamera("uniform_random", shape=(width, height),
                             pixel_type=_kill_writer.PIXEL_TYPE, seed=_kill_writer.SEED)
    frames = np.stack([f.data for f in camera.frames(on_disk[0])])
    expected = reference_levels(frames, 3)
    for k, count in enumerate(on_disk):
        assert count <= len(expected[k])
        expected[k] = expected[k][:count]
    assert_levels_equal(stored, expected)


# -- record_stream: what a kill after each frame would leave ---------------------------------


@pytest.mark.parametrize(
    ("options", "files_per_chunk"),
    [({}, 9), ({"zarr_version": 3}, 9), ({"zarr_version": 3, "shard_chunks": (3, 1)}, 3)],
    ids=["v2", "v3", "v3-sharded"],
)
def test_record_stream_sees_the_shape_and_files_grow_chunk_by_chunk(
    tmp_path: Path, options, files_per_chunk
) -> None:
    from data_helpers.writer import StreamRecord, record_stream

    # 96 x 54 frames in 3 x 3 tiles of 32 x 18 uint8 (576 bytes): 4 frames per chunk.
    storage = small_storage(tmp_path / "r.zarr", chunking=small_chunks(4 * 576), **options)
    records = record_stream(SimulatedCamera(shape=(96, 54)), storage, 10)
    assert all(isinstance(r, StreamRecord) for r in records)
    assert [r.frame for r in records] == list(range(10))
    assert [r.on_disk for r in records] == [0, 0, 0, 4, 4, 4, 4, 8, 8, 8]
    assert [r.buffered for r in records] == [1, 2, 3, 0, 1, 2, 3, 0, 1, 2]
    assert [r.chunk_files for r in records] == [n // 4 * files_per_chunk
                                                for n in (r.on_disk for r in records)]
    assert {r.shape[1:] for r in records} == {(1, 54, 96)}
    # Closed at the end: every frame is on disk.
    assert zarr.open_group(storage.filename, mode="r")["0"].shape[0] == 10


def test_record_stream_records_every_level_of_a_multiscale_stream(tmp_path: Path) -> None:
    from data_helpers.writer import LevelRecord, record_stream

    # 128 x 64 frames in 32 x 16 tiles (512 bytes) at every level, 4 frames per chunk:
    # levels of 128 x 64 (16 tiles), 64 x 32 (4) and 32 x 16 (1).
    storage = small_storage(tmp_path / "m.zarr", chunking=small_chunks(4 * 512, (32, 16)),
                            enable_multiscale=True)
    records = record_stream(SimulatedCamera(shape=(128, 64)), storage, 24)
    tiles = [16, 4, 1]
    for r in records:
        assert [k.level for k in r.levels] == [0, 1, 2]
        assert all(isinstance(k, LevelRecord) for k in r.levels)
        # Level 0's own fields are its LevelRecord's.
        assert (r.shape, r.chunk_files, r.buffered) == (
            r.levels[0].shape, r.levels[0].chunk_files, r.levels[0].buffered)
        # A level receives a frame per pair of frames the level above has handed on:
        # level 0 hands on a chunk when it is written, the others each pair at once.
        received = [r.frame + 1, (r.frame + 1) // 4 * 4 // 2]
        received.append(received[1] // 2)
        for k, level in enumerate(r.levels):
            assert level.on_disk == received[k] // 4 * 4, (r.frame, k, level)
            assert level.buffered == received[k] % 4, (r.frame, k, level)
            assert level.chunk_files == level.on_disk // 4 * tiles[k]
            assert level.shape[1:] == (1, 64 >> k, 128 >> k)
        assert [k.unpaired for k in r.levels] == [0, received[1] % 2, 0]
    # Each level flushes, on its own schedule: level 2 once, after 16 frames.
    assert [[k.on_disk for k in records[i].levels] for i in (3, 7, 15, 23)] == [
        [4, 0, 0], [8, 4, 0], [16, 8, 4], [24, 12, 4]]
    assert zarr.open_group(storage.filename, mode="r")["2"].shape[0] == 6


def test_record_stream_checks_its_arguments(tmp_path: Path) -> None:
    from data_helpers.writer import record_stream

    storage = small_storage(tmp_path / "r.zarr")
    with pytest.raises(ValueError, match=r"max_frame_count=-1 must be an integer >= 0"):
        record_stream(SimulatedCamera(shape=(96, 54)), storage, -1)
    with pytest.raises(TypeError, match=r"max_frame_count=2\.0 must be an integer"):
        record_stream(SimulatedCamera(shape=(96, 54)), storage, 2.0)
    with pytest.raises(TypeError, match=r"must have a \.frames\(n\) method"):
        record_stream(object(), storage, 1)
    assert not Path(storage.filename).exists()
    assert record_stream(SimulatedCamera(shape=(96, 54)), storage, 0) == []


# -- channels: the omero metadata -----------------------------------------------------------


GFP = ome.Channel(label="GFP", color="00ff00", window=(10, 200))


def _group_json(path: Path) -> dict[str, Any]:
    """The group's OME attributes: 0.4's whole attributes, 0.5's ``ome`` object."""
    attributes = zarr.open_group(path, mode="r").attrs.asdict()
    return attributes if "ome" not in attributes else attributes["ome"]


@pytest.mark.parametrize(
    "options", [{"zarr_version": 2}, {"zarr_version": 3, "shard_chunks": 2}], ids=["v2", "v3"]
)
def test_channels_are_written_as_omero_at_every_flush_and_read_back(
    tmp_path: Path, options
) -> None:
    from data_helpers.multiscale import MultiscaleImage

    path = tmp_path / "c.zarr"
    storage = small_storage(path, enable_multiscale=True, chunking=small_chunks(2048),
                            channels=[GFP], **options)
    assert storage.channels == (ome.Channel(label="GFP", color="00FF00", window=(10.0, 200.0),
                                            limits=None, active=True),)
    expected = (ome.Channel(label="GFP", color="00FF00", window=(10.0, 200.0),
                            limits=(0.0, 255.0), active=True),)
    with ZarrStreamWriter(storage, frame_shape=SMALL_FRAME, dtype="uint8") as writer:
        # Levels of 3, 3 and 6 frames per chunk: 7 frames flush levels 0 and 1 while
        # the writer is open; at close level 2 (1 frame) is trimmed to a chunk of 1.
        writer.append(frames_of("uint8", 7))
        writer._wait_for_worker()
        assert _flushed(path)[:2] == (6, 3)
        ome.validate(path)  # the strict schema, as each flush leaves the store
        assert MultiscaleImage.open(path).channels == expected
    assert writer.shapes == ((7, 1, 54, 96), (3, 1, 27, 48), (1, 1, 14, 24))
    model = ome.validate(path)
    assert model.ome_zarr_version == {2: "0.4", 3: "0.5"}[options["zarr_version"]]
    assert MultiscaleImage.open(path).channels == expected
    assert _group_json(path)["omero"] == {"channels": [{
        "label": "GFP", "color": "00FF00", "active": True,
        "window": {"start": 10.0, "end": 200.0, "min": 0.0, "max": 255.0},
    }]}


@pytest.mark.parametrize(
    ("dtype", "limits"),
    [("uint16", (0.0, 65535.0)), ("int8", (-128.0, 127.0)), ("float32", (0.0, 1.0))],
)
def test_a_channel_given_a_label_gets_the_defaults_of_the_pixel_type(
    tmp_path: Path, dtype, limits
) -> None:
    from data_helpers.multiscale import MultiscaleImage

    storage = small_storage(tmp_path / "c.zarr", zarr_version=3, channels=["camera"])
    stats = stream_to_zarr(SimulatedCamera(shape=(96, 54), pixel_type=dtype), storage, 2)
    assert stats.shapes == ((2, 1, 54, 96),)
    ome.validate(storage.filename)
    (channel,) = MultiscaleImage.open(storage.filename).channels
    assert channel == ome.Channel(label="camera", color="FFFFFF", window=limits,
                                  limits=limits, active=True)


def test_without_channels_the_store_is_as_before(tmp_path: Path) -> None:
    # The same stream with and without channels: only the omero metadata differs.
    frames = frames_of("uint16", 5)
    documents = []
    for name, channels in (("plain", None), ("channel", [{"label": "GFP"}])):
        (tmp_path / name).mkdir()
        path = tmp_path / name / "s.zarr"  # the same name: the multiscale's name too
        storage = small_storage(path, zarr_version=3, enable_multiscale=True,
                                channels=channels)
        assert (storage.channels is None) == (channels is None)
        with ZarrStreamWriter(storage, frame_shape=SMALL_FRAME, dtype="uint16") as writer:
            writer.append(frames)
        documents.append({file.relative_to(path).as_posix(): file.read_bytes()
                          for file in sorted(path.rglob("*")) if file.is_file()})
    plain, with_channel = documents
    assert "omero" not in _group_json(tmp_path / "plain" / "s.zarr")
    assert sorted(plain) == sorted(with_channel)
    assert [key for key in plain if plain[key] != with_channel[key]] == ["zarr.json"]
    attributes = _group_json(tmp_path / "channel" / "s.zarr")
    del attributes["omero"]
    assert attributes == _group_json(tmp_path / "plain" / "s.zarr")
    np.testing.assert_array_equal(read_levels(tmp_path / "channel" / "s.zarr")[0][:, 0], frames)


@pytest.mark.parametrize(
    ("channels", "error", "match"),
    [
        ("GFP", TypeError, r"channels='GFP' must be a sequence with one entry per channel"),
        (GFP, TypeError, r"channels=Channel\(label='GFP'.* must be a sequence"),
        ({"label": "GFP"}, TypeError, r"channels=\{'label': 'GFP'\} must be a sequence"),
        ([], ValueError, r"channels=\[\] must hold one entry: the writer's images have one "
                         r"channel \(axes 'tcyx', c = 1\)"),
        (["a", "b"], ValueError, r"channels=\['a', 'b'\] must hold one entry"),
        ([3], TypeError, r"channels\[0\]=3 must be a Channel, a mapping of its fields"),
        ([{"name": "GFP"}], ValueError, r"channels\[0\]=\{'name': 'GFP'\} has the keys"),
        ([{"color": "green"}], ValueError, r"channels\[0\]\.color='green' must be a colour"),
        ([{"window": (200, 10)}], ValueError, r"channels\[0\]\.window=\(200, 10\) must be two"),
        ([{"window": (0, 10), "limits": (0, 5)}], ValueError,
         r"channels\[0\]\.window=\(0\.0, 10\.0\) must lie within channels\[0\]\.limits="),
        ([{"active": "yes"}], TypeError, r"channels\[0\]\.active='yes' must be True or False"),
        ([{"label": 1}], TypeError, r"channels\[0\]\.label=1 must be a string or None"),
    ],
)
def test_bad_channels_are_refused_when_the_settings_are_made(
    tmp_path: Path, channels, error, match
) -> None:
    with pytest.raises(error, match=match):
        small_storage(tmp_path / "s.zarr", channels=channels)
    assert list(tmp_path.iterdir()) == []


def test_a_window_beyond_the_pixel_type_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    # Within float32's defaults, so the settings are good; not within uint8's range.
    storage = small_storage(tmp_path / "s.zarr", channels=[{"window": (0, 4000)}])
    with pytest.raises(ValueError, match=r"channels\[0\]\.window=\(0\.0, 4000\.0\) must lie "
                                         r"within channels\[0\]\.limits=\(0\.0, 255\.0\)"):
        ZarrStreamWriter(storage, frame_shape=SMALL_FRAME, dtype="uint8")
    assert list(tmp_path.iterdir()) == []
    # The same settings suit 16-bit frames.
    ZarrStreamWriter(storage, frame_shape=SMALL_FRAME, dtype="uint16").close()
    ome.validate(storage.filename)
