"""Tests of the pyramid builder, data_helpers.pyramid."""

from __future__ import annotations

import gc
import itertools
import json
import math
import os
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st

from data_helpers import ome
from data_helpers.chunking import auto_chunks
from data_helpers.downsample import METHODS, downsample
from data_helpers.multiscale import MultiscaleImage
from data_helpers.pyramid import DEFAULT_CHUNK_BYTES, _downsample_block, build_pyramid
from tests import _ome_zarr_py


def reference_levels(
    data: np.ndarray, factors: tuple[int, ...] | list[tuple[int, ...]], method: str,
    n_levels: int,
) -> list[np.ndarray]:
    """What every level must hold: `downsample` applied to the whole previous level.

    ``factors`` is one tuple for every level, or a list of them whose last one repeats.
    """
    per_level = factors if isinstance(factors, list) else [factors]
    levels = [np.asarray(data)]
    for k in range(n_levels - 1):
        levels.append(downsample(levels[-1], per_level[min(k, len(per_level) - 1)], method))
    return levels


def read_levels(image: MultiscaleImage) -> list[np.ndarray]:
    return [image.level(i)[...] for i in range(image.levels)]


def lazy_ramp(shape: tuple[int, ...], chunks: tuple[int, ...]) -> da.Array:
    """A dask array whose pixels are made block by block, never all at once."""

    def block(zeros: np.ndarray, block_info: dict[Any, Any] | None = None) -> np.ndarray:
        assert block_info is not None
        grids = np.ogrid[tuple(slice(a, b) for a, b in block_info[None]["array-location"])]
        value = sum(g * (3 + 2 * k) for k, g in enumerate(grids))
        return (value % 4093).astype(np.uint16)

    return da.zeros(shape, chunks=chunks, dtype=np.uint16).map_blocks(block, dtype=np.uint16)


def random_chunks(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """Irregular dask chunks: every axis cut at random places."""
    chunks = []
    for n in shape:
        cuts = sorted(draw(st.sets(st.integers(1, n - 1), max_size=4))) if n > 1 else []
        edges = [0, *cuts, n]
        chunks.append(tuple(b - a for a, b in itertools.pairwise(edges)))
    return tuple(chunks)


@pytest.fixture
def volume() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 4000, size=(20, 45, 38), dtype=np.uint16)


# -- levels and pixels -------------------------------------------------------------------


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("zarr_version", [2, 3])
def test_levels_match_downsample_of_whole_levels(
    tmp_path: Path, volume: np.ndarray, method: str, zarr_version: int
) -> None:
    image = build_pyramid(volume, tmp_path / "p.zarr", chunks=(8, 16, 16), method=method,
                          zarr_version=zarr_version)
    expected = reference_levels(volume, (2, 2, 2), method, image.levels)
    for got, want in zip(read_levels(image), expected, strict=True):
        assert got.dtype == volume.dtype
        np.testing.assert_array_equal(got, want)


def test_level_0_reads_back_bit_exact(tmp_path: Path) -> None:
    data = np.random.default_rng(2).random((33, 47)).astype(np.float32)
    image = build_pyramid(data, tmp_path / "f.zarr", axes="yx", chunks=(16, 16))
    np.testing.assert_array_equal(image.level(0)[...], data)
    assert image.level(0).dtype == np.float32
    np.testing.assert_array_equal(image.level(1)[...], downsample(data, 2))


def test_returns_the_written_image(tmp_path: Path, volume: np.ndarray) -> None:
    image = build_pyramid(volume, tmp_path / "v.zarr", chunks=(8, 16, 16))
    assert isinstance(image, MultiscaleImage)
    assert image.path == tmp_path / "v.zarr"
    assert image.metadata.paths == tuple(str(i) for i in range(image.levels))
    assert image.metadata.name == "v"


@pytest.mark.parametrize(
    "dest, name",
    [("volume.ome.zarr", "volume"), ("volume.zarr", "volume"), ("volume", "volume"),
     ("scan.ome", "scan.ome"), (".ome.zarr", "image"), (".zarr", "image")],
)
def test_image_is_named_after_dest(tmp_path: Path, dest: str, name: str) -> None:
    image = build_pyramid(np.ones((8, 8), np.uint8), tmp_path / dest, axes="yx", chunks=(8, 8))
    assert image.metadata.name == name
    assert MultiscaleImage.open(tmp_path / dest).metadata.name == name


@st.composite
def factor_sets(draw: st.DrawFn, axes: str) -> tuple[int, ...]:
    factors = tuple(1 if a == "c" else draw(st.integers(1, 3)) for a in axes)
    return (*factors[:-1], 2) if all(f == 1 for f in factors) else factors


@st.composite
def pyramid_cases(draw: st.DrawFn) -> dict[str, Any]:
    axes = draw(st.sampled_from(["yx", "zyx", "cyx"]))
    shape = tuple(
        draw(st.integers(1, 3)) if a == "c" else draw(st.integers(1, 14 if len(axes) == 3 else 30))
        for a in axes
    )
    factors: Any = draw(st.lists(factor_sets(axes), min_size=1, max_size=3))
    if len(factors) == 1 and draw(st.booleans()):
        factors = factors[0]  # one factor set for every level, else one per level
    chunks = tuple(draw(st.integers(1 if a == "c" else 2, 9)) for a in axes)
    return {
        "axes": axes, "factors": factors, "chunks": chunks,
        "data": draw(st.integers(0, 2**16)), "shape": shape,
        "method": draw(st.sampled_from(sorted(METHODS))),
        "zarr_version": draw(st.sampled_from([2, 3])),
        "dask_chunks": random_chunks(draw, shape),
        "zarr_chunks": tuple(draw(st.integers(1, n)) for n in shape),
        "max_levels": draw(st.one_of(st.none(), st.integers(1, 4))),
    }


@settings(max_examples=20, deadline=None)
@given(case=pyramid_cases())
def test_output_does_not_depend_on_input_chunking(case: dict[str, Any]) -> None:
    data = np.random.default_rng(case["data"]).integers(0, 7, size=case["shape"], dtype=np.int16)
    options = {k: case[k] for k in ("axes", "factors", "chunks", "method", "zarr_version",
                                     "max_levels")}
    with tempfile.TemporaryDirectory() as tmp:
        source = zarr.create_array(f"{tmp}/source.zarr", shape=data.shape,
                                   chunks=case["zarr_chunks"], dtype=data.dtype)
        source[...] = data
        inputs = {
            "numpy": data,
            "dask": da.from_array(data, chunks=case["dask_chunks"]),
            "zarr": source,
        }
        built = {name: build_pyramid(array, f"{tmp}/{name}.zarr", **options)
                 for name, array in inputs.items()}
        expected = reference_levels(data, case["factors"], case["method"],
                                    built["numpy"].levels)
        for image in built.values():
            assert image.shapes == built["numpy"].shapes
            assert image.chunks == built["numpy"].chunks
            for got, want in zip(read_levels(image), expected, strict=True):
                np.testing.assert_array_equal(got, want)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    shape=st.tuples(st.integers(1, 40), st.integers(1, 40)),
    n_labels=st.integers(1, 6),
    method=st.sampled_from(["mode", "nearest"]),
)
def test_label_methods_never_invent_a_label(
    seed: int, shape: tuple[int, int], n_labels: int, method: str
) -> None:
    rng = np.random.default_rng(seed)
    palette = rng.choice(2**31, size=n_labels, replace=False).astype(np.uint32)
    labels = palette[rng.integers(0, n_labels, size=shape)]
    with tempfile.TemporaryDirectory() as tmp:
        image = build_pyramid(labels, f"{tmp}/labels.zarr", axes="yx", chunks=(7, 6),
                              method=method, max_levels=4)
        allowed = set(np.unique(labels).tolist())
        for level in read_levels(image):
            assert set(np.unique(level).tolist()) <= allowed


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("shape", [(13, 29, 31), (1, 7, 5)])
def test_constant_image_stays_constant_at_every_level(
    tmp_path: Path, method: str, shape: tuple[int, ...]
) -> None:
    data = np.full(shape, 1234, dtype=np.uint16)
    image = build_pyramid(data, tmp_path / "c.zarr", chunks=(8, 8, 8), method=method,
                          factors=3, max_levels=5)
    assert image.levels >= 2
    for level in read_levels(image):
        assert (level == 1234).all()


def test_float_mean_stays_float(tmp_path: Path) -> None:
    data = np.linspace(0, 1, 30 * 30, dtype=np.float64).reshape(30, 30)
    image = build_pyramid(data, tmp_path / "f.zarr", axes="yx", chunks=(8, 8))
    for got, want in zip(read_levels(image), reference_levels(data, (2, 2), "mean",
                                                               image.levels), strict=True):
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got, want)


def test_boolean_masks_reduce_with_max(tmp_path: Path) -> None:
    mask = np.zeros((16, 16), dtype=bool)
    mask[5, 9] = True
    image = build_pyramid(mask, tmp_path / "m.zarr", axes="yx", chunks=(4, 4), method="max")
    assert [int(level.sum()) for level in read_levels(image)] == [1, 1, 1]


def test_chunks_holding_only_the_fill_value_are_not_written(tmp_path: Path) -> None:
    data = np.zeros((32, 32), dtype=np.uint16)
    data[20, 5] = 9  # one pixel in chunk (2, 0) of level 0
    image = build_pyramid(data, tmp_path / "e.zarr", axes="yx", chunks=(8, 8), max_levels=2)
    files = sorted(p.relative_to(tmp_path / "e.zarr" / "0").as_posix()
                   for p in (tmp_path / "e.zarr" / "0").rglob("*") if p.is_file())
    assert files == [".zarray", ".zattrs", "2/0"]
    np.testing.assert_array_equal(image.level(0)[...], data)
    np.testing.assert_array_equal(image.level(1)[...], downsample(data, 2))


def test_slabbed_block_reduction_equals_downsample(monkeypatch: pytest.MonkeyPatch) -> None:
    # Large blocks are reduced in slabs to bound temporaries; it must change nothing.
    monkeypatch.setattr("data_helpers.pyramid._SLAB_PIXELS", 5)
    block = np.random.default_rng(3).integers(0, 255, size=(7, 9, 11), dtype=np.uint8)
    for method in METHODS:
        for factors in [(2, 2, 2), (1, 3, 2), (3, 1, 1)]:
            np.testing.assert_array_equal(
                _downsample_block(block, factors, method), downsample(block, factors, method)
            )


# -- how many levels, which chunks -------------------------------------------------------


def test_levels_continue_until_downsampled_axes_fit_one_chunk(tmp_path: Path) -> None:
    data = np.zeros((10, 100, 70), dtype=np.uint8)
    image = build_pyramid(data, tmp_path / "a.zarr", chunks=(10, 16, 16),
                          factors={"y": 2, "x": 2})
    assert image.shapes == [(10, 100, 70), (10, 50, 35), (10, 25, 18), (10, 13, 9)]
    last, before = image.shapes[-1], image.shapes[-2]
    assert last[1] <= 16 and last[2] <= 16
    assert before[1] > 16 or before[2] > 16


def test_a_source_that_fits_one_chunk_is_a_single_level(tmp_path: Path) -> None:
    image = build_pyramid(np.ones((8, 8), np.uint8), tmp_path / "s.zarr", axes="yx",
                          chunks=(8, 8))
    assert image.levels == 1


@pytest.mark.parametrize("max_levels", [1, 2, 4, 6])
def test_max_levels_counts_level_0(tmp_path: Path, max_levels: int) -> None:
    # With chunks of 16, the default would stop at 3 levels; max_levels may go further.
    data = np.ones((64, 64), np.uint8)
    image = build_pyramid(data, tmp_path / "m.zarr", axes="yx", chunks=(16, 16),
                          max_levels=max_levels)
    assert image.levels == max_levels
    assert image.shapes[-1] == (64 // 2 ** (max_levels - 1),) * 2


def test_max_levels_stops_when_every_downsampled_axis_is_one_pixel(tmp_path: Path) -> None:
    image = build_pyramid(np.ones((3, 8), np.uint8), tmp_path / "m.zarr", axes="yx",
                          chunks=(1, 1), factors=(1, 2), max_levels=10)
    assert image.shapes == [(3, 8), (3, 4), (3, 2), (3, 1)]


def test_default_chunks_come_from_auto_chunks(tmp_path: Path) -> None:
    data = np.zeros((2, 3, 40, 300, 300), dtype=np.uint16)
    image = build_pyramid(data, tmp_path / "d.zarr", axes="tczyx")
    expected = auto_chunks(data.shape, 2, target_bytes=DEFAULT_CHUNK_BYTES, fixed_axes=[0, 1])
    assert image.chunks[0] == expected
    assert expected[:2] == (1, 1)
    assert math.prod(expected) * 2 <= DEFAULT_CHUNK_BYTES


def test_default_chunks_ignore_the_source_chunks(tmp_path: Path, volume: np.ndarray) -> None:
    from_dask = build_pyramid(da.from_array(volume, chunks=(3, 5, 7)), tmp_path / "a.zarr")
    from_numpy = build_pyramid(volume, tmp_path / "b.zarr")
    assert from_dask.chunks == from_numpy.chunks
    assert from_dask.shapes == from_numpy.shapes


def test_chunks_accept_a_mapping_and_are_clipped_per_level(tmp_path: Path) -> None:
    data = np.zeros((4, 64, 64), dtype=np.uint8)
    image = build_pyramid(data, tmp_path / "c.zarr", chunks={"y": 32, "x": 32},
                          factors={"y": 2, "x": 2}, max_levels=4)
    assert image.chunks == [(4, 32, 32), (4, 32, 32), (4, 16, 16), (4, 8, 8)]


# -- factors and axes --------------------------------------------------------------------


def test_anisotropic_factors_keep_z(tmp_path: Path, volume: np.ndarray) -> None:
    by_name = build_pyramid(volume, tmp_path / "a.zarr", chunks=(8, 16, 16),
                            factors={"y": 2, "x": 2})
    by_tuple = build_pyramid(volume, tmp_path / "b.zarr", chunks=(8, 16, 16), factors=(1, 2, 2))
    assert by_name.shapes == by_tuple.shapes == [(20, 45, 38), (20, 23, 19), (20, 12, 10)]
    for a, b in zip(read_levels(by_name), read_levels(by_tuple), strict=True):
        np.testing.assert_array_equal(a, b)
    assert by_name.scale(2) == (1.0, 4.0, 4.0)


RECIPE = [{"y": 2, "x": 2}, {"y": 2, "x": 2}, 2]  # z spacing 4x the y and x spacing
RECIPE_FACTORS = [(1, 2, 2), (1, 2, 2), (2, 2, 2), (2, 2, 2)]  # what it means, level by level


@pytest.mark.parametrize("method", ["mean", "mode", "nearest"])
def test_per_level_factors_follow_the_anisotropic_recipe(tmp_path: Path, method: str) -> None:
    data = np.random.default_rng(5).integers(0, 4000, size=(16, 64, 64), dtype=np.uint16)
    base = (2.0, 0.5, 0.5)
    image = build_pyramid(data, tmp_path / "r.zarr", scale=base, factors=RECIPE,
                          chunks=(4, 8, 8), method=method)
    # z is kept for two levels, then every axis is halved until all of them fit a chunk.
    assert image.shapes == [(16, 64, 64), (16, 32, 32), (16, 16, 16), (8, 8, 8), (4, 4, 4)]
    assert [image.scale(i) for i in range(image.levels)] == [
        (2.0, 0.5, 0.5), (2.0, 1.0, 1.0), (2.0, 2.0, 2.0), (4.0, 4.0, 4.0), (8.0, 8.0, 8.0)
    ]
    scales, translations = ome.level_transforms(base, RECIPE_FACTORS, method=method)
    assert [list(image.scale(i)) for i in range(image.levels)] == scales
    assert [list(image.translation(i)) for i in range(image.levels)] == translations
    levels = read_levels(image)
    for k, factors in enumerate(RECIPE_FACTORS, start=1):
        np.testing.assert_array_equal(levels[k], downsample(levels[k - 1], factors, method))
    assert ome.validate(tmp_path / "r.zarr").ome_zarr_version == "0.4"


@pytest.mark.parametrize(
    "factors",
    [
        [(1, 2, 2), (1, 2, 2), (2, 2, 2)],
        ((1, 2, 2), {"y": 2, "x": 2}, 2),
        [{"z": 1, "y": 2, "x": 2}, [1, 2, 2], {"z": 2, "y": 2, "x": 2}, 2],
        np.array([[1, 2, 2], [1, 2, 2], [2, 2, 2]]),
    ],
)
def test_per_level_factors_in_every_spelling(tmp_path: Path, factors: Any) -> None:
    data = np.random.default_rng(6).integers(0, 255, size=(16, 64, 64), dtype=np.uint8)
    image = build_pyramid(data, tmp_path / "s.zarr", factors=factors, chunks=(4, 8, 8))
    recipe = build_pyramid(data, tmp_path / "r.zarr", factors=RECIPE, chunks=(4, 8, 8))
    assert image.shapes == recipe.shapes
    assert image.metadata == ome.read_multiscale(tmp_path / "s.zarr")
    assert image.metadata.scales == recipe.metadata.scales
    for a, b in zip(read_levels(image), read_levels(recipe), strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_last_factor_set_repeats(tmp_path: Path) -> None:
    image = build_pyramid(np.zeros((64, 64, 64), np.uint8), tmp_path / "l.zarr",
                          factors=[{"x": 2}, 2], chunks=(16, 16, 16), max_levels=5)
    assert image.shapes == [(64, 64, 64), (64, 64, 32), (32, 32, 16), (16, 16, 8), (8, 8, 4)]
    assert image.scale(-1) == (8.0, 8.0, 16.0)
    # A list of one factor set is that factor set, for every level.
    one = build_pyramid(np.zeros((64, 64, 64), np.uint8), tmp_path / "o.zarr",
                        factors=[{"x": 2}], chunks=(16, 16, 16), max_levels=3)
    assert one.shapes == [(64, 64, 64), (64, 64, 32), (64, 64, 16)]


def test_levels_stop_by_the_factors_of_the_next_level(tmp_path: Path) -> None:
    # z does not fit one chunk, but level 1 would not downsample it: y and x already fit.
    data = np.zeros((64, 16, 16), np.uint8)
    image = build_pyramid(data, tmp_path / "a.zarr", factors=[{"y": 2, "x": 2}, 2],
                          chunks=(8, 16, 16))
    assert image.shapes == [(64, 16, 16)]
    # y and x fit one chunk after level 2, but from then on z is downsampled too, and
    # it does not fit yet.
    data = np.zeros((32, 64, 64), np.uint8)
    image = build_pyramid(data, tmp_path / "b.zarr", factors=RECIPE, chunks=(8, 16, 16))
    assert image.shapes == [(32, 64, 64), (32, 32, 32), (32, 16, 16), (16, 8, 8), (8, 4, 4)]
    # With max_levels, a level whose downsampled axes are all one pixel is not added.
    image = build_pyramid(np.zeros((64, 2, 2), np.uint8), tmp_path / "c.zarr",
                          factors=[(1, 2, 2), 2], chunks=(1, 2, 2), max_levels=4)
    assert image.shapes == [(64, 2, 2), (64, 1, 1), (32, 1, 1), (16, 1, 1)]
    image = build_pyramid(np.zeros((64, 2, 2), np.uint8), tmp_path / "d.zarr",
                          factors=[2, (1, 2, 2)], chunks=(1, 2, 2), max_levels=4)
    assert image.shapes == [(64, 2, 2), (32, 1, 1)]


def test_time_and_channel_axes_are_never_downsampled(tmp_path: Path) -> None:
    data = np.random.default_rng(4).integers(0, 100, size=(3, 2, 8, 20, 20), dtype=np.uint8)
    image = build_pyramid(data, tmp_path / "t.zarr", axes="tczyx", factors=2,
                          chunks=(1, 1, 4, 8, 8))
    assert [s[:2] for s in image.shapes] == [(3, 2)] * image.levels
    assert image.shapes[1] == (3, 2, 4, 10, 10)
    assert all(s[:2] == (1.0, 1.0) and t[:2] == (0.0, 0.0)
               for s, t in zip(image.metadata.scales, image.metadata.translations, strict=True))
    np.testing.assert_array_equal(image.level(1)[...], downsample(data, (1, 1, 2, 2, 2)))
    assert image.metadata.axis_types == ("time", "channel", "space", "space", "space")


@pytest.mark.parametrize(
    "factors",
    [(2, 1, 2, 2), {"t": 2}, {"c": 3, "y": 2}, (1, 2, 2, 2), [{"y": 2}, (1, 2, 2, 2)]],
)
def test_downsampling_time_or_channel_is_an_error(tmp_path: Path, factors: Any) -> None:
    data = np.zeros((2, 2, 8, 8), dtype=np.uint8)
    with pytest.raises(ValueError, match="time and channel axes are never downsampled"):
        build_pyramid(data, tmp_path / "e.zarr", axes="tcyx", factors=factors)
    assert not (tmp_path / "e.zarr").exists()


# -- metadata ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["mean", "mode", "min", "max", "nearest"])
def test_scales_and_translations_follow_the_shapes(tmp_path: Path, method: str) -> None:
    data = np.zeros((12, 50, 33), dtype=np.uint16)
    base = (2.0, 0.25, 0.3)
    factors = (1, 2, 3)
    image = build_pyramid(data, tmp_path / "s.zarr", scale=base, factors=factors,
                          chunks=(12, 8, 8), method=method)
    assert image.levels == 4
    for level in range(image.levels):
        accumulated = [f**level for f in factors]
        shape = image.shapes[level]
        assert shape == tuple(math.ceil(n / a) for n, a in zip(data.shape, accumulated,
                                                               strict=True))
        assert image.scale(level) == pytest.approx([b * a for b, a in zip(base, accumulated,
                                                                          strict=True)])
        shift = [b * (a - 1) / 2 if method != "nearest" else 0.0
                 for b, a in zip(base, accumulated, strict=True)]
        assert image.translation(level) == pytest.approx(shift)
        # The level still spans the physical extent of level 0.
        for axis in range(3):
            extent = shape[axis] * image.scale(level)[axis]
            assert extent >= data.shape[axis] * base[axis] * (1 - 1e-12)
    assert image.metadata.method == method
    assert image.metadata.units == ("micrometer",) * 3


def test_scale_accepts_a_mapping_and_unit_is_written(tmp_path: Path) -> None:
    image = build_pyramid(np.zeros((4, 16, 16), np.uint8), tmp_path / "u.zarr",
                          scale={"z": 3.0}, unit="nanometer", chunks=(4, 8, 8),
                          factors={"y": 2, "x": 2})
    assert image.scale(0) == (3.0, 1.0, 1.0)
    assert image.scale(1) == (3.0, 2.0, 2.0)
    assert image.metadata.units == ("nanometer",) * 3


@pytest.mark.parametrize("zarr_version, version, metadata_file",
                         [(2, "0.4", ".zattrs"), (3, "0.5", "zarr.json")])
def test_both_ome_zarr_versions_validate(
    tmp_path: Path, volume: np.ndarray, zarr_version: int, version: str, metadata_file: str
) -> None:
    image = build_pyramid(volume, tmp_path / "v.zarr", chunks=(8, 16, 16),
                          zarr_version=zarr_version)
    assert ome.validate(tmp_path / "v.zarr").ome_zarr_version == version
    assert image.version == version
    assert (tmp_path / "v.zarr" / metadata_file).exists()
    assert zarr.open_group(tmp_path / "v.zarr", mode="r").metadata.zarr_format == zarr_version


@pytest.mark.parametrize("compression", [None, "blosc-lz4", "blosc-zstd"])
def test_compression_is_written(tmp_path: Path, compression: str | None) -> None:
    build_pyramid(np.zeros((16, 16), np.uint8), tmp_path / "c.zarr", axes="yx",
                  chunks=(8, 8), compression=compression)
    meta = json.loads((tmp_path / "c.zarr" / "0" / ".zarray").read_text())
    if compression is None:
        assert meta["compressor"] is None
    else:
        assert meta["compressor"]["cname"] == compression.removeprefix("blosc-")


def test_sharded_v3_matches_unsharded(tmp_path: Path, volume: np.ndarray) -> None:
    sharded = build_pyramid(volume, tmp_path / "s.zarr", chunks=(4, 8, 8), zarr_version=3,
                            shard_chunks=(2, 2, 2))
    plain = build_pyramid(volume, tmp_path / "p.zarr", chunks=(4, 8, 8), zarr_version=3)
    assert ome.validate(tmp_path / "s.zarr").ome_zarr_version == "0.5"
    assert sharded.level(0).shards == (8, 16, 16)
    assert sharded.level(0).chunks == (4, 8, 8)
    assert all(sharded.level(i).shards is not None for i in range(sharded.levels))
    assert sharded.shapes == plain.shapes
    for a, b in zip(read_levels(sharded), read_levels(plain), strict=True):
        np.testing.assert_array_equal(a, b)
    # One file per shard: 3 x 3 x 3 shards cover level 0.
    assert sum(p.is_file() for p in (tmp_path / "s.zarr" / "0" / "c").rglob("*")) == 27


def test_int_shard_chunks_shard_only_space_axes(tmp_path: Path) -> None:
    data = np.zeros((2, 32, 32), dtype=np.uint8)
    image = build_pyramid(data, tmp_path / "s.zarr", axes="cyx", chunks=(1, 8, 8),
                          zarr_version=3, shard_chunks=2)
    assert image.level(0).shards == (1, 16, 16)


# -- out of core and parallel ------------------------------------------------------------


def _traced_peak(shape: tuple[int, ...], chunks: tuple[int, ...], dest: Path) -> int:
    source = lazy_ramp(shape, chunks)
    gc.collect()
    tracemalloc.start()
    try:
        build_pyramid(source, dest, chunks=chunks, max_levels=3)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_is_bounded_by_chunks_not_image_size(tmp_path: Path) -> None:
    chunks = (16, 64, 64)  # 128 KiB chunks; the small image is 64 of them, 8 MiB
    small, large = (64, 256, 256), (128, 512, 256)  # the large one is 4x larger: 32 MiB
    _traced_peak((16, 64, 64), chunks, tmp_path / "warm.zarr")  # first-use caches
    peak_small = _traced_peak(small, chunks, tmp_path / "small.zarr")
    peak_large = _traced_peak(large, chunks, tmp_path / "large.zarr")
    chunk_bytes = math.prod(chunks) * 2
    large_bytes = math.prod(large) * 2
    # A handful of chunks per thread, far below the image, and no growth with its size.
    assert peak_large < large_bytes / 4, (peak_small, peak_large)
    assert peak_large < 40 * chunk_bytes + 2 * 2**20, (peak_small, peak_large)
    assert peak_large < 1.5 * peak_small + 2**20, (peak_small, peak_large)
    image = MultiscaleImage.open(tmp_path / "large.zarr")
    np.testing.assert_array_equal(image.level(2)[...],
                                  downsample(downsample(lazy_ramp(large, chunks).compute(), 2), 2))


def test_dask_source_is_read_lazily(tmp_path: Path) -> None:
    computed: list[tuple[int, ...]] = []

    def record(block: np.ndarray) -> np.ndarray:
        computed.append(block.shape)
        return block

    source = da.ones((32, 32), chunks=(8, 8), dtype=np.uint8).map_blocks(
        record, meta=np.empty((0, 0), np.uint8)
    )
    build_pyramid(source, tmp_path / "l.zarr", axes="yx", chunks=(8, 8))
    # Every block is made once, to be written: the whole array never is.
    assert len(computed) == 16 and set(computed) == {(8, 8)}


def test_distributed_cluster_matches_threads(tmp_path: Path, volume: np.ndarray) -> None:
    distributed = pytest.importorskip("distributed")
    threaded = build_pyramid(volume, tmp_path / "threads.zarr", chunks=(8, 16, 16))
    with (
        distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                 dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        with distributed.get_task_stream(client) as stream:
            on_cluster = build_pyramid(da.from_array(volume, chunks=(5, 9, 11)),
                                       tmp_path / "cluster.zarr", chunks=(8, 16, 16))
        assert len(stream.data) > 0  # the work ran on the cluster's worker
    assert on_cluster.shapes == threaded.shapes
    for a, b in zip(read_levels(on_cluster), read_levels(threaded), strict=True):
        np.testing.assert_array_equal(a, b)


def test_small_graph_batches_give_the_same_pyramid(
    tmp_path: Path, volume: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = build_pyramid(volume, tmp_path / "w.zarr", chunks=(4, 8, 8))
    monkeypatch.setattr("data_helpers._blocks.BLOCKS_PER_GRAPH", 3)
    batched = build_pyramid(volume, tmp_path / "b.zarr", chunks=(4, 8, 8))
    for a, b in zip(read_levels(batched), read_levels(whole), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("options", [
    {"chunks": (4, 8, 8)},
    {"chunks": (6, 9, 9), "factors": 3},
    {"chunks": (4, 8, 8), "factors": [{"y": 2, "x": 2}, 2], "method": "mode"},
    {"chunks": (2, 4, 4), "zarr_version": 3, "shard_chunks": 2, "method": "max"},
])
def test_fused_graph_gives_the_level_by_level_pyramid(
    tmp_path: Path, volume: np.ndarray, monkeypatch: pytest.MonkeyPatch, options: dict[str, Any]
) -> None:
    from data_helpers import pyramid

    read_back: list[int] = []
    reduce_region = pyramid._reduce_region

    def counting(block_info: Any = None, **kwargs: Any) -> np.ndarray:
        read_back.append(1)
        return reduce_region(block_info=block_info, **kwargs)

    monkeypatch.setattr(pyramid, "_reduce_region", counting)
    fused = build_pyramid(volume, tmp_path / "fused.zarr", max_levels=3, **options)
    assert read_back == []  # every level came from blocks in memory, none read back
    monkeypatch.setattr(pyramid, "_fused_levels", lambda levels, factors: 0)
    by_level = build_pyramid(volume, tmp_path / "by-level.zarr", max_levels=3, **options)
    assert read_back  # the level-by-level path reads each level back
    assert fused.shapes == by_level.shapes and fused.levels == 3
    for a, b in zip(read_levels(fused), read_levels(by_level), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["numpy", "zarr", "dask"])
def test_level_1_groups_give_the_pieces_pyramid(
    tmp_path: Path, volume: np.ndarray, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    from data_helpers import pyramid

    sources = {"numpy": volume, "dask": da.from_array(volume, chunks=(7, 9, 11))}
    if kind == "zarr":
        sources["zarr"] = zarr.create_array(tmp_path / "source.zarr", shape=volume.shape,
                                            chunks=(3, 8, 5), dtype=volume.dtype)
        sources["zarr"][...] = volume
    groups: list[int] = []
    write_group = pyramid._write_group

    def counting(block_info: Any = None, **kwargs: Any) -> np.ndarray:
        groups.append(1)
        return write_group(block_info=block_info, **kwargs)

    monkeypatch.setattr(pyramid, "_write_group", counting)
    grouped = build_pyramid(sources[kind], tmp_path / "grouped.zarr", chunks=(4, 8, 8))
    assert len(groups) == grouped.level(1).nchunks  # one task per level-1 block
    monkeypatch.setattr(pyramid, "_groups_tile", lambda *args, **kwargs: False)
    pieces = build_pyramid(sources[kind], tmp_path / "pieces.zarr", chunks=(4, 8, 8))
    assert len(groups) == grouped.level(1).nchunks
    for a, b in zip(read_levels(grouped), read_levels(pieces), strict=True):
        np.testing.assert_array_equal(a, b)


def test_levels_whose_windows_straddle_blocks_are_read_back(tmp_path: Path) -> None:
    from data_helpers import pyramid

    def levels(shapes: list[tuple[int, ...]], chunks: tuple[int, ...]) -> list[Any]:
        return [zarr.create_array(zarr.storage.MemoryStore(), shape=s, dtype="u1",
                                  chunks=tuple(min(c, n) for c, n in zip(chunks, s, strict=True)))
                for s in shapes]

    # Chunks of 5 cut the windows of 2: nothing can be fused.
    assert pyramid._fused_levels(levels([(20, 20), (10, 10)], (5, 5)), [(2, 2)]) == 0
    # Blocks of 4 hold whole windows of 2 and of 4: both levels are fused.
    assert pyramid._fused_levels(levels([(32, 32), (16, 16), (4, 4)], (4, 4)),
                                 [(2, 2), (4, 4)]) == 2
    # ... but not of 3: level 2 is made from level 1 read back.
    assert pyramid._fused_levels(levels([(32, 32), (16, 16), (6, 6)], (4, 4)),
                                 [(2, 2), (3, 3)]) == 1
    # A level held in one block needs no alignment.
    assert pyramid._fused_levels(levels([(32, 32), (3, 3)], (32, 32)), [(11, 11)]) == 1
    image = build_pyramid(np.arange(30 * 30, dtype=np.uint16).reshape(30, 30),
                          tmp_path / "odd.zarr", axes="yx", chunks=(6, 6), max_levels=3,
                          factors=[(2, 2), (3, 3)])
    np.testing.assert_array_equal(image.level(2)[...],
                                  downsample(downsample(image.level(0)[...], 2), 3))


def test_nothing_is_written_once_a_failed_build_has_raised(tmp_path: Path) -> None:
    # The other threads' tasks used to go on after the error and make the deleted staging
    # folder again: the default scheduler (none chosen) is threads, and gets our pool too.
    def block(data: np.ndarray, block_info: dict[Any, Any] | None = None) -> np.ndarray:
        assert block_info is not None
        if block_info[None]["chunk-location"] == (0, 0):
            raise RuntimeError("a bad block")
        time.sleep(0.05)
        return data + 1

    source = da.zeros((64, 64), chunks=(16, 16), dtype=np.uint8).map_blocks(block, dtype=np.uint8)
    assert dask.base.get_scheduler() is None
    with pytest.raises(RuntimeError, match="a bad block"):
        build_pyramid(source, tmp_path / "a.zarr", axes="yx", chunks=(16, 16))
    time.sleep(0.5)
    assert os.listdir(tmp_path) == []


def test_builds_in_two_threads_leave_the_dask_configuration_alone(tmp_path: Path) -> None:
    started = threading.Barrier(2)

    def build(name: str, size: int) -> None:
        def slow(data: np.ndarray) -> np.ndarray:
            time.sleep(0.005)
            return data + 1

        started.wait()
        source = da.zeros((size, size), chunks=(16, 16), dtype=np.uint8).map_blocks(slow)
        build_pyramid(source, tmp_path / name, axes="yx", chunks=(16, 16))

    threads = [threading.Thread(target=build, args=(name, size))
               for name, size in (("small.zarr", 64), ("large.zarr", 128))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert dask.config.get("pool", None) is None
    assert int(da.ones(8, chunks=2).sum().compute()) == 8
    for name in ("small.zarr", "large.zarr"):
        assert (MultiscaleImage.open(tmp_path / name).level(0)[...] == 1).all()


def test_synchronous_scheduler_gives_the_same_pyramid(tmp_path: Path, volume: np.ndarray) -> None:
    threaded = build_pyramid(volume, tmp_path / "t.zarr", chunks=(8, 16, 16))
    with dask.config.set(scheduler="synchronous"):
        single = build_pyramid(volume, tmp_path / "s.zarr", chunks=(8, 16, 16))
    for a, b in zip(read_levels(single), read_levels(threaded), strict=True):
        np.testing.assert_array_equal(a, b)


def test_progress_bar_reports_every_level(
    tmp_path: Path, volume: np.ndarray, capsys: pytest.CaptureFixture[str]
) -> None:
    image = build_pyramid(volume, tmp_path / "p.zarr", chunks=(4, 8, 8), progress=True)
    out = capsys.readouterr().out
    for level, shape in enumerate(image.shapes):
        assert f"level {level} {shape}" in out
    assert "blocks" in out
    plain = build_pyramid(volume, tmp_path / "q.zarr", chunks=(4, 8, 8))
    for a, b in zip(read_levels(image), read_levels(plain), strict=True):
        np.testing.assert_array_equal(a, b)


# -- destination -------------------------------------------------------------------------


def test_existing_destination_needs_overwrite(tmp_path: Path) -> None:
    dest = tmp_path / "d.zarr"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        build_pyramid(np.ones((8, 8), np.uint8), dest, axes="yx")
    assert [p.name for p in dest.iterdir()] == ["keep.txt"]


def test_overwrite_replaces_an_older_pyramid(tmp_path: Path) -> None:
    dest = tmp_path / "d.zarr"
    build_pyramid(np.ones((64, 64), np.uint8), dest, axes="yx", chunks=(8, 8))
    image = build_pyramid(np.full((16, 16), 7, np.uint8), dest, axes="yx", chunks=(8, 8),
                          overwrite=True)
    assert image.shapes == [(16, 16), (8, 8)]
    assert not (dest / "3").exists()
    assert (image.level(-1)[...] == 7).all()


def test_a_source_inside_the_destination_is_refused(tmp_path: Path) -> None:
    first = build_pyramid(np.ones((16, 16), np.uint8), tmp_path / "d.zarr", axes="yx",
                          chunks=(8, 8))
    with pytest.raises(ValueError, match="is where the source is read from"):
        build_pyramid(first.level(0), tmp_path / "d.zarr", axes="yx", overwrite=True)
    assert (first.level(0)[...] == 1).all()


# -- bad settings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"axes": "xyz"}, ValueError, "OME order"),
        ({"axes": "zyxq"}, ValueError, "at most once"),
        ({"axes": "tczyxx"}, ValueError, "at most once"),
        ({"axes": "cx"}, ValueError, "2 or 3 space axes"),
        ({"axes": "yx"}, ValueError, "names 2 axes but source has 3"),
        ({"axes": "tzyx"}, ValueError, "names 4 axes but source has 3"),
        ({"axes": 3}, TypeError, "axes=3 must be a string"),
        ({"factors": 0}, ValueError, "factors=0 must be an integer >= 1"),
        ({"factors": (2, 0, 2)}, ValueError, r"factors\[1\]=0 must be an integer >= 1"),
        ({"factors": {"y": -1}}, ValueError, r"factors\['y'\]=-1 must be an integer >= 1"),
        ({"factors": (2, 2)}, ValueError, "has 2 entries"),
        ({"factors": 1}, ValueError, "leave every axis alone"),
        ({"factors": 1.5}, TypeError, "factors=1.5 must be an integer"),
        ({"factors": (2.0, 2, 2)}, TypeError, r"factors\[0\]=2.0 must be an integer"),
        ({"factors": {"q": 2}}, ValueError, "not in axes"),
        ({"factors": [2, 2]}, ValueError, r"\[2, 2\] has 2 entries .* one factor per axis"),
        ({"factors": [2, 2, 2, 2]}, ValueError, "For one factor set per level"),
        ({"factors": []}, ValueError, "has 0 entries"),
        ({"factors": [(1, 2, 2), (2, 2)]}, ValueError, r"factors\[1\]=\(2, 2\) has 2 entries"),
        ({"factors": [{"y": 2}, {"q": 2}]}, ValueError, r"factors\[1\]=\{'q': 2\} names axes"),
        ({"factors": [(1, 2, 2), 1]}, ValueError, r"factors\[1\]=1 leave every axis alone"),
        ({"factors": [{"y": 2}, {"x": 1}]}, ValueError, r"factors\[1\]=\{'x': 1\} leave"),
        ({"factors": [(1, 2, 2), {"y": 0}]}, ValueError, r"factors\[1\]\['y'\]=0 must be"),
        ({"factors": [(1, 2, 2), 2.5]}, TypeError, r"factors\[1\]=2.5 must be an integer"),
        ({"factors": [(1.0, 2, 2)]}, TypeError, r"factors\[0\]\[0\]=1.0 must be an integer"),
        ({"factors": [[(1, 2, 2)]]}, ValueError, r"factors\[0\]=\[\(1, 2, 2\)\] has 1"),
        ({"method": "median"}, ValueError, "method='median' must be one of"),
        ({"compression": "gzip"}, ValueError, "compression='gzip' must be one of"),
        ({"zarr_version": 4}, ValueError, "zarr_version=4 must be 2"),
        ({"shard_chunks": 2}, ValueError, "needs zarr_version=3"),
        ({"shard_chunks": 0, "zarr_version": 3}, ValueError, "shard_chunks=0 must be an integer"),
        ({"chunks": (8, 8)}, ValueError, "has 2 entries"),
        ({"chunks": (8, 0, 8)}, ValueError, r"chunks\[1\]=0 must be an integer >= 1"),
        ({"chunks": 8}, TypeError, "one int per axis"),
        ({"scale": (1.0, -1.0, 1.0)}, ValueError, r"scale\[1\]=-1.0 must be a finite number > 0"),
        ({"scale": float("nan")}, ValueError, "scale=nan must be a finite number > 0"),
        ({"scale": {"z": 0.0}}, ValueError, r"scale\['z'\]=0.0 must be a finite number > 0"),
        ({"scale": (1.0, 1.0)}, ValueError, "has 2 entries"),
        ({"scale": "big"}, TypeError, "scale='big' must be a finite number"),
        ({"unit": ""}, ValueError, "unit='' must be a non-empty string"),
        ({"unit": 3}, TypeError, "unit=3 must be a string"),
        ({"max_levels": 0}, ValueError, "max_levels=0 must be None or an integer >= 1"),
        ({"max_levels": 2.0}, TypeError, "max_levels=2.0 must be None or an integer"),
        ({"overwrite": "yes"}, TypeError, "overwrite='yes' must be True or False"),
        ({"progress": 1}, TypeError, "progress=1 must be True or False"),
    ],
)
def test_bad_settings_are_refused_before_writing(
    tmp_path: Path, volume: np.ndarray, kwargs: dict[str, Any], error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        build_pyramid(volume, tmp_path / "bad.zarr", **kwargs)
    assert not (tmp_path / "bad.zarr").exists()


@pytest.mark.parametrize(
    "source, kwargs, error, match",
    [
        ([[1, 2], [3, 4]], {"axes": "yx"}, TypeError, "numpy, zarr or dask array"),
        (np.zeros((4, 4), np.complex64), {"axes": "yx"}, TypeError, "booleans, integers"),
        (np.zeros((4, 4), bool), {"axes": "yx"}, ValueError, "method='mean' needs numbers"),
        (np.zeros((0, 4), np.uint8), {"axes": "yx"}, ValueError, "empty axis"),
        (np.zeros((2, 2, 2, 2, 2, 2), np.uint8), {"axes": "tczyx"}, ValueError, "names 5"),
    ],
)
def test_bad_sources_are_refused(
    tmp_path: Path, source: Any, kwargs: dict[str, Any], error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        build_pyramid(source, tmp_path / "bad.zarr", **kwargs)
    assert not (tmp_path / "bad.zarr").exists()


def test_dest_must_be_a_path(volume: np.ndarray) -> None:
    with pytest.raises(TypeError, match=r"dest=.*MemoryStore.* must be a path"):
        build_pyramid(volume, zarr.storage.MemoryStore())  # type: ignore[arg-type]


def test_existing_destination_is_checked_before_other_writes(tmp_path: Path) -> None:
    # Good settings, existing dest: refused, and the old image is untouched.
    dest = tmp_path / "d.zarr"
    build_pyramid(np.ones((16, 16), np.uint8), dest, axes="yx", chunks=(8, 8))
    before = sorted(p.relative_to(dest) for p in dest.rglob("*"))
    with pytest.raises(FileExistsError):
        build_pyramid(np.zeros((32, 32), np.uint8), dest, axes="yx", chunks=(8, 8))
    assert sorted(p.relative_to(dest) for p in dest.rglob("*")) == before
    assert (MultiscaleImage.open(dest).level(0)[...] == 1).all()



# -- channels --------------------------------------------------------------------------------


@pytest.mark.parametrize("zarr_version", [2, 3])
def test_channels_are_written_as_omero_metadata(tmp_path: Path, zarr_version: int) -> None:
    data = np.random.default_rng(2).integers(0, 4000, size=(2, 5, 40, 36), dtype=np.uint16)
    channels = [ome.Channel(label="DAPI", color="0000FF", window=(0, 4000)),
                {"label": "GFP", "color": "00FF00", "window": (100, 3000), "active": False}]
    image = build_pyramid(data, tmp_path / "c.zarr", axes="czyx", chunks=(1, 5, 16, 16),
                          zarr_version=zarr_version, channels=channels)
    ome.validate(tmp_path / "c.zarr")  # ome-zarr-models and the strict schema
    assert image.channels == (
        ome.Channel("DAPI", "0000FF", (0.0, 4000.0), (0.0, 65535.0), True),
        ome.Channel("GFP", "00FF00", (100.0, 3000.0), (0.0, 65535.0), False),
    )
    np.testing.assert_array_equal(image.level(0)[...], data)
    # Another reader sees them too: ome-zarr-py's, as napari would show them.
    ome_zarr = _ome_zarr_py.ome_zarr_py()
    nodes = list(ome_zarr.reader.Reader(ome_zarr.io.parse_url(str(tmp_path / "c.zarr")))())
    metadata = nodes[0].metadata
    assert metadata["channel_names"] == ["DAPI", "GFP"]
    assert metadata["contrast_limits"] == [[0.0, 4000.0], [100.0, 3000.0]]
    assert metadata["colormap"] == [[[0, 0, 0], [0, 0, 1]], [[0, 0, 0], [0, 1, 0]]]
    assert metadata["visible"] == [True, False]


def test_without_channels_no_omero_is_written(tmp_path: Path) -> None:
    image = build_pyramid(np.zeros((2, 16, 16), np.uint8), tmp_path / "n.zarr", axes="cyx",
                          chunks=(1, 8, 8))
    assert image.channels == ()
    assert "omero" not in json.loads((tmp_path / "n.zarr" / ".zattrs").read_text())


def test_labels_alone_name_the_channels_and_defaults_fill_the_rest(tmp_path: Path) -> None:
    image = build_pyramid(np.zeros((3, 16, 16), np.uint8), tmp_path / "l.zarr", axes="cyx",
                          chunks=(1, 8, 8), channels=["red", "green", "blue"])
    assert [c.label for c in image.channels] == ["red", "green", "blue"]
    assert [c.color for c in image.channels] == list(ome.CHANNEL_COLORS[:3])
    assert {c.window for c in image.channels} == {(0.0, 255.0)}


@pytest.mark.parametrize(
    "axes, shape, channels, match",
    [("zyx", (2, 16, 16), ["a", "b"], "needs a channel axis 'c', but axes='zyx' has none"),
     ("cyx", (2, 16, 16), ["a"], "channels has 1 entries but the channel axis 'c' has 2"),
     ("cyx", (2, 16, 16), ["a", {"color": "red"}], r"channels\[1\]\.color='red'"),
     ("cyx", (2, 16, 16), ["a", {"window": (0, 300)}], r"must lie within channels\[1\]\.limits")],
)
def test_bad_channels_are_refused_before_writing(
    tmp_path: Path, axes: str, shape: tuple[int, ...], channels: Any, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        build_pyramid(np.zeros(shape, np.uint8), tmp_path / "bad.zarr", axes=axes,
                      chunks=(1, 8, 8), channels=channels)
    assert os.listdir(tmp_path) == []
