"""Tests of data_helpers.tiles: chunk by chunk with halos equals the whole image."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from data_helpers.multiscale import MultiscaleImage
from data_helpers.pyramid import build_pyramid
from data_helpers.tiles import PROVENANCE_KEY, map_tiles
from tests import _slow_tiles

SCIPY_MODE = {"reflect": "reflect", "nearest": "nearest", "constant": "constant"}


def image(shape: tuple[int, ...], dtype: Any = np.float32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random(shape) * 1000).astype(dtype)


def filters(boundary: str) -> dict[str, tuple[Any, int]]:
    """scipy.ndimage filters with the halo each needs."""
    mode = SCIPY_MODE[boundary]
    return {
        "mean 3": (lambda b: ndimage.uniform_filter(b, size=3, mode=mode), 1),
        "mean 5": (lambda b: ndimage.uniform_filter(b, size=5, mode=mode), 2),
        "gaussian r2": (lambda b: ndimage.gaussian_filter(b, sigma=1, truncate=2.0, mode=mode), 2),
        "median 3": (lambda b: ndimage.median_filter(b, size=3, mode=mode), 1),
        "max 7x1": (lambda b: ndimage.maximum_filter(b, size=(7,) + (1,) * (b.ndim - 1),
                                                     mode=mode), 3),
    }


@pytest.mark.parametrize("boundary", ["reflect", "nearest", "constant"])
@pytest.mark.parametrize("chunks", [(16, 16), (7, 13), (40, 5), (64, 64)])
def test_equals_the_filter_on_the_whole_image(tmp_path: Path, boundary: str,
                                              chunks: tuple[int, int]) -> None:
    data = image((45, 61))
    for k, (name, (func, depth)) in enumerate(filters(boundary).items()):
        if depth > min(chunks):
            continue
        result = map_tiles(func, data, tmp_path / f"{k}.zarr", depth=depth,
                           boundary=boundary, chunks=chunks)
        np.testing.assert_array_equal(result[...], func(data), err_msg=name)


@settings(max_examples=25, deadline=None)
@given(
    shape=st.tuples(st.integers(3, 30), st.integers(3, 30), st.integers(3, 12)),
    data=st.data(),
)
def test_any_chunking_of_a_volume_has_no_seams(shape: tuple[int, ...], data: st.DataObject) -> None:
    import tempfile

    chunks = data.draw(st.tuples(*(st.integers(2, n) for n in shape)))
    depth = data.draw(st.tuples(*(st.integers(0, min(2, c)) for c in chunks)))
    boundary = data.draw(st.sampled_from(["reflect", "nearest", "constant"]))
    volume = image(shape, np.uint16)
    size = tuple(2 * d + 1 for d in depth)

    def func(block: np.ndarray) -> np.ndarray:
        return ndimage.maximum_filter(block, size=size, mode=SCIPY_MODE[boundary])

    with tempfile.TemporaryDirectory() as tmp:
        result = map_tiles(func, volume, f"{tmp}/r.zarr", depth=depth, boundary=boundary,
                           chunks=chunks, zarr_version=2, compression=None)
        np.testing.assert_array_equal(result[...], func(volume))


@pytest.mark.parametrize("kind", ["numpy", "zarr", "dask", "multiscale"])
def test_every_kind_of_source(tmp_path: Path, kind: str) -> None:
    data = image((50, 40), np.uint16)
    source: Any
    if kind == "numpy":
        source = data
    elif kind == "zarr":
        source = zarr.create_array(tmp_path / "s.zarr", shape=data.shape, chunks=(16, 8),
                                   dtype=data.dtype)
        source[...] = data
    elif kind == "dask":
        source = da.from_array(data, chunks=(25, 20))
    else:
        source = build_pyramid(data, tmp_path / "img.zarr", axes="yx", chunks=(16, 16))
    result = map_tiles(lambda b: b + 1, source, tmp_path / "out.zarr", depth=(1, 2))
    np.testing.assert_array_equal(result[...], data + 1)
    expected_chunks = {"zarr": (16, 8), "dask": (25, 20), "multiscale": (16, 16)}
    if kind in expected_chunks:
        assert result.chunks == expected_chunks[kind]  # the source's chunks by default


def test_a_new_dtype_formats_and_sharding(tmp_path: Path) -> None:
    data = image((70, 50), np.uint8)
    as_float = lambda b: ndimage.uniform_filter(b.astype(np.float32), size=3)  # noqa: E731
    for k, options in enumerate([
        dict(zarr_version=2, compression="blosc-lz4"),
        dict(zarr_version=3, compression=None),
        dict(zarr_version=3, shard_chunks=2),
        dict(zarr_version=3, shard_chunks=(1, 3), compression="blosc-zstd"),
    ]):
        result = map_tiles(as_float, data, tmp_path / f"{k}.zarr", depth=1, dtype="float32",
                           chunks=(16, 16), **options)
        np.testing.assert_array_equal(result[...], as_float(data))
        assert result.dtype == np.float32 and result.metadata.zarr_format == options["zarr_version"]
    assert result.shards == (16, 48)


def test_the_result_records_how_it_was_made(tmp_path: Path) -> None:
    result = map_tiles(_slow_tiles.smooth, image((20, 20)), tmp_path / "r.zarr", depth=1)
    made = result.attrs[PROVENANCE_KEY]
    assert made["func"] == "tests._slow_tiles.smooth"
    assert made["depth"] == [1, 1] and made["boundary"] == "reflect"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.zarr"]  # no staging, no records
    assert not any(p.name.startswith(".") for p in (tmp_path / "r.zarr").iterdir()
                   if p.name not in {".zarray", ".zattrs"})


def test_memory_holds_a_few_blocks_not_the_image(tmp_path: Path) -> None:
    """A lazy 256 MiB source, 1 MiB blocks: the peak is a fraction of the image.

    (That it stays flat as the image grows is measured in benchmarks/bench_tiles.py.)
    """

    def peak_of(side: int) -> int:
        lazy = da.ones((side, side), chunks=(512, 512), dtype=np.float32) * 3
        tracemalloc.start()
        try:
            result = map_tiles(lambda b: ndimage.uniform_filter(b, size=3), lazy,
                               tmp_path / f"{side}.zarr", depth=1, chunks=(512, 512))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert np.all(result[::512, ::512] == 3)
        return peak

    peak = peak_of(8192)
    assert peak < 8192 * 8192 * 4 / 4, f"peak {peak / 2**20:.0f} MiB for a 256 MiB image"


def test_a_distributed_cluster_gives_the_same_array(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    data = image((96, 80))
    threaded = map_tiles(_slow_tiles.smooth, data, tmp_path / "threads.zarr", depth=1,
                         chunks=(32, 32))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        clustered = map_tiles(_slow_tiles.smooth, data, tmp_path / "cluster.zarr", depth=1,
                              chunks=(32, 32))
    np.testing.assert_array_equal(clustered[...], threaded[...])


# -- resume -------------------------------------------------------------------------------------


def done_records(dest: Path) -> int:
    records = dest.with_name(f".{dest.name}.resumable.partial") / ".blocks_done"
    return len(list(records.iterdir())) if records.is_dir() else 0


def test_a_killed_run_resumes_computing_only_the_missing_blocks(tmp_path: Path) -> None:
    data = image((256, 256))
    source = zarr.create_array(tmp_path / "source.zarr", shape=data.shape, chunks=(32, 32),
                               dtype=data.dtype)
    source[...] = data
    reference = map_tiles(_slow_tiles.smooth, source, tmp_path / "reference.zarr", depth=1)
    dest = tmp_path / "resumed.zarr"
    env = {**os.environ, "SLOW_TILES": "1",
           "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    process = subprocess.Popen(
        [sys.executable, "-c", "from tests._slow_tiles import main; main()",
         str(tmp_path / "source.zarr"), str(dest)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while done_records(dest) < 8:
            assert process.poll() is None, process.communicate()[1].decode()
            assert time.monotonic() < deadline, "no block finished within 60 s"
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    assert not dest.exists()  # nothing half-made at the destination
    finished = done_records(dest)
    assert 8 <= finished < 64

    _slow_tiles.CALLS[0] = 0
    resumed = map_tiles(_slow_tiles.smooth, source, dest, depth=1, resume=True)
    assert _slow_tiles.CALLS[0] == 64 - finished  # only the missing blocks were computed
    np.testing.assert_array_equal(resumed[...], reference[...])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reference.zarr", "resumed.zarr",
                                                         "source.zarr"]
    # Resuming a finished run computes nothing and returns it.
    _slow_tiles.CALLS[0] = 0
    again = map_tiles(_slow_tiles.smooth, source, dest, depth=1, resume=True)
    assert _slow_tiles.CALLS[0] == 0 and again.shape == (256, 256)


def failing_after(n: int) -> Any:
    calls = iter(range(10**9))

    def func(block: np.ndarray) -> np.ndarray:
        if next(calls) >= n:
            raise OSError("the network drive went away")
        return block * 2

    return func


def test_a_failed_run_leaves_nothing_at_dest_and_resumes(tmp_path: Path) -> None:
    data = image((64, 64))
    dest = tmp_path / "r.zarr"
    with pytest.raises(OSError, match="network drive"):
        map_tiles(failing_after(6), data, dest, chunks=(16, 16))
    assert not dest.exists()
    finished = done_records(dest)
    assert 0 < finished < 16
    result = map_tiles(failing_after(10**9), data, dest, chunks=(16, 16), resume=True)
    np.testing.assert_array_equal(result[...], data * 2)


def test_resume_with_other_settings_is_refused_and_resume_false_starts_over(
    tmp_path: Path,
) -> None:
    data = image((64, 64))
    dest = tmp_path / "r.zarr"
    with pytest.raises(OSError):
        map_tiles(failing_after(3), data, dest, chunks=(16, 16))
    with pytest.raises(ValueError, match="made with other settings"):
        map_tiles(failing_after(10**9), data, dest, chunks=(32, 32), resume=True)
    result = map_tiles(failing_after(10**9), data, dest, chunks=(32, 32))  # starts over
    np.testing.assert_array_equal(result[...], data * 2)
    assert done_records(dest) == 0


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"depth": 17}, ValueError, r"depth=17 is 17 on axis 0, more than the write block \(16\)"),
        ({"depth": -1}, ValueError, "depth=-1 must be an integer >= 0"),
        ({"depth": 1.5}, TypeError, "depth=1.5 must be an integer"),
        ({"depth": {5: 1}}, ValueError, r"depth=\{5: 1\} names axis 5; the axes of the source "
                                        r"are -2 to 1"),
        ({"depth": (1, 1, 1)}, ValueError, r"depth=\(1, 1, 1\) must be an integer >= 0, or one "
                                           r"per axis \(2\)"),
        ({"boundary": "wrap"}, ValueError, "boundary='wrap' must be one of"),
        ({"chunks": (16, 0)}, ValueError, r"chunks=\(16, 0\) must be one integer >= 1"),
        ({"zarr_version": 2, "shard_chunks": 2}, ValueError, "needs zarr_version=3"),
        ({"dtype": "complex64"}, ValueError, "dtype='complex64'"),
        ({"resume": "yes"}, TypeError, "resume='yes' must be True or False"),
        ({"overwrite": 1}, TypeError, "overwrite=1 must be True or False"),
    ],
)
def test_bad_settings_write_nothing(tmp_path: Path, kwargs: dict[str, Any], error: type,
                                    match: str) -> None:
    with pytest.raises(error, match=match):
        map_tiles(lambda b: b, image((40, 40)), tmp_path / "r.zarr", **{"chunks": (16, 16),
                                                                         **kwargs})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("func", "error", "match"),
    [
        (lambda b: b[1:], ValueError, r"func returned a block of shape \(\d+, \d+\) for a block"),
        (lambda b: b.astype(np.float64), TypeError,
         r"func returned dtype float64, but map_tiles was promised dtype=float32: pass "
         r"dtype='float64'"),
        (lambda b: float(b.sum()), TypeError, "func returned float"),
    ],
)
def test_a_func_that_breaks_its_promise_is_reported(tmp_path: Path, func: Any, error: type,
                                                    match: str) -> None:
    with pytest.raises(error, match=match):
        map_tiles(func, image((40, 40)), tmp_path / "r.zarr", chunks=(16, 16))
    assert not (tmp_path / "r.zarr").exists()


def test_bad_sources_and_destinations(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="source=list object must be a numpy"):
        map_tiles(lambda b: b, [[1, 2]], tmp_path / "r.zarr")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="func=3 must be a function"):
        map_tiles(3, image((4, 4)), tmp_path / "r.zarr")  # type: ignore[arg-type]
    # A halo as deep as a thin image still mirrors correctly.
    thin = image((2, 40))
    result = map_tiles(lambda b: ndimage.uniform_filter(b, size=5), thin, tmp_path / "t.zarr",
                       depth=(2, 2), chunks=(2, 16))
    np.testing.assert_allclose(result[...], ndimage.uniform_filter(thin, size=5), rtol=1e-6)
    source = build_pyramid(image((32, 32)), tmp_path / "img.zarr", axes="yx")
    with pytest.raises(ValueError, match="is where the source is read from"):
        map_tiles(lambda b: b, source.level(0), tmp_path / "img.zarr", overwrite=True)
    np.testing.assert_array_equal(MultiscaleImage.open(tmp_path / "img.zarr").level(0)[...],
                                  image((32, 32)))


def test_progress_bar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    map_tiles(lambda b: b, image((40, 40)), tmp_path / "r.zarr", chunks=(16, 16), progress=True)
    assert "9/9" in capsys.readouterr().out


def test_func_is_told_where_its_block_starts(tmp_path: Path) -> None:
    """With an ``origin`` parameter, func sees its block's place in the image."""
    shape = (45, 61)

    def coordinates(block: np.ndarray, origin: tuple[int, ...]) -> np.ndarray:
        rows = np.arange(block.shape[0])[:, None] + origin[0]
        cols = np.arange(block.shape[1])[None, :] + origin[1]
        return (rows * 1000 + cols).astype(np.int64)

    for chunks, depth in [((16, 16), 0), ((16, 16), 3), ((40, 5), 2), ((45, 61), 1)]:
        result = map_tiles(coordinates, np.zeros(shape, np.uint8), tmp_path / f"{chunks}{depth}",
                           depth=depth, chunks=chunks, dtype="int64")
        expected = np.arange(shape[0])[:, None] * 1000 + np.arange(shape[1])[None, :]
        np.testing.assert_array_equal(result[...], expected)
