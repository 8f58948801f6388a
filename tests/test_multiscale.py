"""Tests of multiscale navigation, data_helpers.multiscale."""

from __future__ import annotations

import html
import io
import math
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st
from ome_zarr_models.v04 import Image as ImageV04
from ome_zarr_models.v04.axes import Axis as AxisV04
from ome_zarr_models.v05 import Image as ImageV05
from ome_zarr_models.v05.axes import Axis as AxisV05
from pydantic_zarr.v2 import ArraySpec as ArraySpecV2
from pydantic_zarr.v3 import ArraySpec as ArraySpecV3
from rich.console import Console

from data_helpers import ome
from data_helpers.downsample import downsample
from data_helpers.labels import write_labels
from data_helpers.multiscale import MultiscaleImage
from data_helpers.pyramid import build_pyramid
from data_helpers.sample_data import make_volume
from data_helpers.serve import ServedDirectory, serve_directory
from tests import _ome_zarr_py


@pytest.fixture(scope="module")
def pyramid(tmp_path_factory: pytest.TempPathFactory) -> MultiscaleImage:
    """A (2, 40, 64, 48) 'czyx' pyramid: 4 levels, mean, anisotropic scale."""
    data = np.random.default_rng(0).integers(0, 1000, size=(2, 40, 64, 48), dtype=np.uint16)
    dest = tmp_path_factory.mktemp("multiscale") / "image.zarr"
    return build_pyramid(data, dest, axes="czyx", scale=(1.0, 2.0, 0.5, 0.5),
                         chunks=(1, 8, 16, 16), max_levels=4)


def other_tool_image(dest: Path, zarr_version: int) -> list[np.ndarray]:
    """An image written with ome-zarr-models directly: paths 's0', 's1', a global scale."""
    full = np.arange(24 * 20, dtype=np.uint8).reshape(24, 20)
    arrays = [full, full[::2, ::2].copy()]
    if zarr_version == 2:
        specs: list[Any] = [
            ArraySpecV2(shape=a.shape, dtype="|u1", chunks=(8, 8), attributes={}, compressor=None,
                        fill_value=0, order="C", filters=None, dimension_separator="/")
            for a in arrays
        ]
        image_cls, axis_cls = ImageV04, AxisV04
    else:
        specs = [
            ArraySpecV3(shape=a.shape, data_type="uint8",
                        chunk_grid={"name": "regular", "configuration": {"chunk_shape": (8, 8)}},
                        chunk_key_encoding={"name": "default", "configuration": {"separator": "/"}},
                        fill_value=0, codecs=[{"name": "bytes"}], attributes={},
                        dimension_names=("y", "x"))
            for a in arrays
        ]
        image_cls, axis_cls = ImageV05, AxisV05
    model = image_cls.new(
        array_specs=specs, paths=["s0", "s1"],
        axes=[axis_cls(name=n, type="space", unit="nanometer") for n in "yx"],
        scales=[[1.0, 1.0], [2.0, 2.0]], translations=[[0.0, 0.0], [0.0, 0.0]],
        global_scale=[0.5, 0.25], global_translation=[10.0, 20.0], name="other",
        multiscale_type="stride",
    )
    group = model.to_zarr(zarr.storage.LocalStore(dest), path="")
    for path, array in zip(["s0", "s1"], arrays, strict=True):
        group[path][...] = array
    return arrays


# -- opening -----------------------------------------------------------------------------


def test_open_reads_our_pyramid(pyramid: MultiscaleImage) -> None:
    image = MultiscaleImage.open(pyramid.path)  # type: ignore[arg-type]
    assert image.version == "0.4"
    assert image.axes == ("c", "z", "y", "x")
    assert image.levels == len(image) == 4
    assert image.shapes == [(2, 40, 64, 48), (2, 20, 32, 24), (2, 10, 16, 12), (2, 5, 8, 6)]
    assert image.chunks[0] == (1, 8, 16, 16)
    assert image.chunks[-1] == (1, 5, 8, 6)
    assert image.dtype == np.uint16
    assert image.metadata.paths == ("0", "1", "2", "3")
    assert image.metadata.method == "mean"


@pytest.mark.parametrize("zarr_version, version", [(2, "0.4"), (3, "0.5")])
def test_open_reads_another_tools_image(tmp_path: Path, zarr_version: int, version: str) -> None:
    arrays = other_tool_image(tmp_path / "other.zarr", zarr_version)
    image = MultiscaleImage.open(tmp_path / "other.zarr")
    assert image.version == version
    assert image.metadata.paths == ("s0", "s1")
    assert image.shapes == [(24, 20), (12, 10)]
    # The global scale and translation apply after each level's own transforms.
    assert image.scale(0) == (0.5, 0.25)
    assert image.scale(1) == (1.0, 0.5)
    assert image.translation(1) == (10.0, 20.0)
    assert image.metadata.units == ("nanometer", "nanometer")
    for level, array in enumerate(arrays):
        np.testing.assert_array_equal(image.level(level)[...], array)
    # A "stride" pyramid keeps each window's first pixel: the ROI maps accordingly.
    assert image.roi_to_level((slice(4, 8), slice(0, 20)), 0, 1) == (slice(2, 5), slice(0, 10))


def test_open_accepts_a_group_and_a_path_string(pyramid: MultiscaleImage) -> None:
    group = zarr.open_group(str(pyramid.path), mode="r")
    assert MultiscaleImage.open(group).shapes == pyramid.shapes
    assert MultiscaleImage.open(str(pyramid.path)).path == pyramid.path


def test_open_a_v3_sharded_pyramid(tmp_path: Path) -> None:
    data = np.arange(32 * 32, dtype=np.uint16).reshape(32, 32)
    build_pyramid(data, tmp_path / "s.zarr", axes="yx", chunks=(4, 4), zarr_version=3,
                  shard_chunks=(2, 2), max_levels=3)
    image = MultiscaleImage.open(tmp_path / "s.zarr")
    assert image.version == "0.5"
    assert image.to_dask(0).chunksize == (8, 8)  # one dask block per shard
    np.testing.assert_array_equal(image.to_dask(0).compute(), data)


def test_open_refuses_what_is_not_a_multiscale(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no OME-Zarr image"):
        MultiscaleImage.open(tmp_path / "missing.zarr")
    zarr.open_group(tmp_path / "plain.zarr", mode="w")
    with pytest.raises(ValueError, match=r"not an OME-Zarr 0\.4 or 0\.5 multiscale"):
        MultiscaleImage.open(tmp_path / "plain.zarr")
    zarr.create_array(tmp_path / "array.zarr", shape=(4,), dtype="u1")
    with pytest.raises(ValueError, match=r"array\.zarr' is not a Zarr group"):
        MultiscaleImage.open(tmp_path / "array.zarr")
    with pytest.raises(TypeError, match=r"path=42 must be a str, a pathlib\.Path or a zarr\.Group"):
        MultiscaleImage.open(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("zarr_version", [2, 3])
@pytest.mark.parametrize("problem", ["missing label", "float label", "not a multiscale"])
def test_a_broken_labels_group_does_not_break_the_image(
    tmp_path: Path, zarr_version: int, problem: str
) -> None:
    # ome-zarr-models validates an image's labels group with the image; the image is
    # read, and validated, on its own.
    dest = tmp_path / "image.zarr"
    data = np.arange(32 * 32, dtype=np.uint16).reshape(32, 32)
    build_pyramid(data, dest, axes="yx", chunks=(16, 16), zarr_version=zarr_version)
    root = zarr.open_group(dest, mode="r+")
    labels = root.create_group("labels")
    names = ["ghost"] if problem == "missing label" else ["cells"]
    ome_attrs: dict[str, Any] = {"labels": names}
    labels.attrs.put(ome_attrs if zarr_version == 2 else {"ome": {"version": "0.5", **ome_attrs}})
    if problem != "missing label":
        cells = labels.create_group("cells")
        dtype = "float32" if problem == "float label" else "uint8"
        cells.create_array("0", shape=(32, 32), dtype=dtype)
        if problem == "float label":
            multiscale = {"axes": [{"name": a, "type": "space"} for a in "yx"], "datasets": [
                {"path": "0", "coordinateTransformations": [{"type": "scale",
                                                             "scale": [1.0, 1.0]}]}]}
            if zarr_version == 2:
                cells.attrs.put({"multiscales": [{**multiscale, "version": "0.4"}],
                                 "image-label": {"version": "0.4"}})
            else:
                cells.attrs.put({"ome": {"version": "0.5", "multiscales": [multiscale],
                                         "image-label": {"version": "0.5"}}})
    image = MultiscaleImage.open(dest)
    np.testing.assert_array_equal(image.level(0)[...], data)
    assert ome.validate(dest).ome_zarr_version == image.version


def test_open_ignores_members_that_are_not_levels_and_reads_nested_paths(tmp_path: Path) -> None:
    dest = tmp_path / "nested.zarr"
    specs = [ArraySpecV3.from_array(np.zeros(shape, "u1"), dimension_names=("y", "x"))
             for shape in [(8, 6), (4, 3)]]
    model = ImageV05.new(array_specs=specs, paths=["levels/0", "levels/1"],
                         axes=[AxisV05(name=n, type="space") for n in "yx"],
                         scales=[[1.0, 1.0], [2.0, 2.0]], translations=[[0.0, 0.0], [0.5, 0.5]])
    root = model.to_zarr(zarr.storage.LocalStore(dest), path="")
    root.create_array("thumbnail", shape=(2, 2), dtype="u1")
    root.create_group("extra").create_array("0", shape=(1,), dtype="f4")
    image = MultiscaleImage.open(dest)
    assert image.metadata.paths == ("levels/0", "levels/1")
    assert image.shapes == [(8, 6), (4, 3)]


def test_open_names_a_level_that_is_missing_or_a_group(tmp_path: Path) -> None:
    dest = tmp_path / "holes.zarr"
    build_pyramid(np.zeros((16, 16), np.uint8), dest, axes="yx", chunks=(8, 8), zarr_version=3)
    root = zarr.open_group(dest, mode="r+")
    del root["1"]
    with pytest.raises(ValueError, match="name the level '1', but nothing is at that path"):
        MultiscaleImage.open(dest)
    root.create_group("1")
    with pytest.raises(ValueError, match="name the level '1', but a group is at that path"):
        MultiscaleImage.open(dest)


# -- levels ------------------------------------------------------------------------------


def test_level_counts_negative_indices_from_the_smallest(pyramid: MultiscaleImage) -> None:
    assert pyramid.level(-1).shape == pyramid.shapes[-1] == pyramid.level(3).shape
    assert pyramid.level(-4).shape == pyramid.shapes[0]
    assert pyramid.scale(-1) == pyramid.scale(3)
    assert pyramid.translation(-2) == pyramid.translation(2)
    assert isinstance(pyramid.level(0), zarr.Array)


@pytest.mark.parametrize("bad", [4, -5, 100])
def test_level_out_of_range(pyramid: MultiscaleImage, bad: int) -> None:
    with pytest.raises(IndexError, match="4 levels"):
        pyramid.level(bad)


@pytest.mark.parametrize("bad", [1.0, "1", True, None])
def test_level_must_be_an_int(pyramid: MultiscaleImage, bad: Any) -> None:
    with pytest.raises(TypeError, match=rf"level={bad!r} must be an integer"):
        pyramid.scale(bad)


def test_levels_are_read_only(pyramid: MultiscaleImage) -> None:
    with pytest.raises(ValueError, match="read-only"):
        pyramid.level(0)[0, 0, 0, 0] = 1


def test_to_dask_matches_the_level(pyramid: MultiscaleImage) -> None:
    for i in range(pyramid.levels):
        lazy = pyramid.to_dask(i)
        assert isinstance(lazy, da.Array)
        assert lazy.chunksize == pyramid.chunks[i]
        np.testing.assert_array_equal(lazy.compute(), pyramid.level(i)[...])
    np.testing.assert_array_equal(pyramid.to_dask(1).compute(),
                                  downsample(pyramid.level(0)[...], (1, 2, 2, 2)))


def test_scale_and_translation(pyramid: MultiscaleImage) -> None:
    assert pyramid.scale(0) == (1.0, 2.0, 0.5, 0.5)
    assert pyramid.scale(2) == (1.0, 8.0, 2.0, 2.0)
    assert pyramid.translation(0) == (0.0, 0.0, 0.0, 0.0)
    # (4 - 1) / 2 level-0 pixels: 3 / 2 * 2.0 along z, 3 / 2 * 0.5 along y and x.
    assert pyramid.translation(2) == (0.0, 3.0, 0.75, 0.75)


def test_factors_between_levels(pyramid: MultiscaleImage) -> None:
    assert [pyramid.factors(i) for i in range(1, 4)] == [(1, 2, 2, 2)] * 3
    assert pyramid.factors(-1) == pyramid.factors(3)
    assert pyramid.factors(-3) == pyramid.factors(1)


def test_factors_are_exact_integers_from_the_scales(tmp_path: Path) -> None:
    # 0.7 um pixels times 3 are stored as 2.1, and 2.1 / 0.7 is 3.0000000000000004.
    image = build_pyramid(np.zeros((8, 27, 27), np.uint8), tmp_path / "f.zarr",
                          scale=(3.0, 0.7, 0.7), factors=[(1, 3, 3), 2], max_levels=4)
    assert [image.factors(i) for i in range(1, 4)] == [(1, 3, 3), (2, 2, 2), (2, 2, 2)]
    assert all(type(f) is int for i in range(1, 4) for f in image.factors(i))
    for i in range(1, 4):
        accumulated = [math.prod(image.factors(k)[axis] for k in range(1, i + 1))
                       for axis in range(3)]
        assert image.scale(i) == pytest.approx([s * a for s, a in zip(image.scale(0),
                                                                      accumulated, strict=True)])


def test_factors_of_another_tools_image(tmp_path: Path) -> None:
    other_tool_image(tmp_path / "other.zarr", 2)
    assert MultiscaleImage.open(tmp_path / "other.zarr").factors(1) == (2, 2)


def test_factors_errors(pyramid: MultiscaleImage) -> None:
    with pytest.raises(ValueError, match="level 0, which has no level above it"):
        pyramid.factors(0)
    with pytest.raises(ValueError, match="level 0"):
        pyramid.factors(-4)
    with pytest.raises(IndexError, match="4 levels"):
        pyramid.factors(4)
    with pytest.raises(TypeError, match=r"level=1\.0 must be an integer"):
        pyramid.factors(1.0)  # type: ignore[arg-type]


def test_factors_refuse_scales_that_are_not_whole_multiples() -> None:
    model = ome.image_model(shapes=[(6, 6), (4, 4)], dtype="uint8", chunks=[(6, 6), (4, 4)],
                            axes="yx", scales=[[1.0, 1.0], [1.5, 1.0]],
                            translations=[[0.0, 0.0], [0.0, 0.0]])
    image = MultiscaleImage.open(ome.create_image(zarr.storage.MemoryStore(), model))
    with pytest.raises(ValueError, match=r"differ by \[1\.5, 1\.0\].*not by whole factors"):
        image.factors(1)


# -- level_for ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "max_shape, level",
    [
        ((2, 40, 64, 48), 0),  # one entry per axis
        ((40, 64, 48), 0),  # one entry per space axis
        ((39, 64, 48), 1),
        ((2, 20, 32, 24), 1),
        ({"y": 16}, 2),
        ({"x": 6}, 3),
        ({"c": 2, "x": 100}, 0),
        ((None, 10, None), 3),  # None: no limit on that axis
        ((10, None, None), 2),
        ((1000, 1000, 1000), 0),
    ],
)
def test_level_for_picks_the_largest_fitting_level(
    pyramid: MultiscaleImage, max_shape: Any, level: int
) -> None:
    assert pyramid.level_for(max_shape) == level


def test_level_for_space_axes_only(tmp_path: Path) -> None:
    image = build_pyramid(np.zeros((3, 256, 256), np.uint8), tmp_path / "c.zarr", axes="cyx",
                          chunks=(1, 32, 32))
    assert image.level_for((64, 64)) == 2
    assert image.level_for((3, 64, 64)) == 2
    with pytest.raises(ValueError, match="no level fits"):
        image.level_for((1, 2000, 2000))  # one channel is not enough for 3


def test_level_for_errors(pyramid: MultiscaleImage) -> None:
    with pytest.raises(ValueError, match="no level fits"):
        pyramid.level_for({"y": 7})
    with pytest.raises(ValueError, match="not in"):
        pyramid.level_for({"q": 7})
    with pytest.raises(ValueError, match=r"max_shape\['y'\]=0 must be an integer >= 1"):
        pyramid.level_for((10, 0, 10))
    with pytest.raises(TypeError, match=r"max_shape\['y'\]=7.5 must be an integer"):
        pyramid.level_for({"y": 7.5})
    with pytest.raises(ValueError, match="needs 4 entries"):
        pyramid.level_for((16, 16))
    with pytest.raises(TypeError, match="tuple or a mapping"):
        pyramid.level_for(64)  # type: ignore[arg-type]


# -- roi_to_level ------------------------------------------------------------------------


def test_roi_maps_between_levels_of_a_mean_pyramid(pyramid: MultiscaleImage) -> None:
    roi = (slice(0, 1), slice(8, 16), slice(16, 48), slice(0, 48))
    assert pyramid.roi_to_level(roi, 0, 1) == (
        slice(0, 1), slice(4, 8), slice(8, 24), slice(0, 24)
    )
    assert pyramid.roi_to_level(roi, 0, -1) == (
        slice(0, 1), slice(1, 2), slice(2, 6), slice(0, 6)
    )
    # Back up: exactly the level-0 pixels under those coarse pixels.
    assert pyramid.roi_to_level(pyramid.roi_to_level(roi, 0, 1), 1, 0) == roi


def test_roi_rounds_outward(pyramid: MultiscaleImage) -> None:
    # Level-0 rows 3..4 straddle level-1 rows 1 and 2.
    assert pyramid.roi_to_level((slice(None), slice(None), slice(3, 5)), 0, 1)[2] == slice(1, 3)
    # One level-2 pixel covers 4 x 4 level-0 pixels.
    assert pyramid.roi_to_level((slice(None), slice(None), slice(5, 6)), 2, 0)[2] == slice(20, 24)


def test_roi_is_clipped_and_normalised(pyramid: MultiscaleImage) -> None:
    mapped = pyramid.roi_to_level((slice(None), slice(-4, None)), 0, 1)
    assert mapped == (slice(0, 2), slice(18, 20), slice(0, 32), slice(0, 24))
    assert pyramid.roi_to_level((slice(0, 1000),), 0, 1)[0] == slice(0, 2)
    assert pyramid.roi_to_level(slice(0, 1), 0, 1) == (
        slice(0, 1), slice(0, 20), slice(0, 32), slice(0, 24)
    )


def test_empty_roi_stays_empty(pyramid: MultiscaleImage) -> None:
    mapped = pyramid.roi_to_level((slice(0, 2), slice(10, 10)), 0, 1)
    assert mapped[1].start == mapped[1].stop


def test_roi_bounds_are_read_as_numpy_reads_them(pyramid: MultiscaleImage) -> None:
    # Level 0 is (2, 40, 64, 48); level 1 is (2, 20, 32, 24).
    whole = (slice(0, 2), slice(0, 20), slice(0, 32), slice(0, 24))
    assert pyramid.roi_to_level((slice(None), slice(None, None, None)), 0, 1) == whole
    assert pyramid.roi_to_level([slice(0, 2), slice(np.int64(-40), np.int32(40))], 0, 1) \
        == whole
    # Negative bounds count from the end, beyond the level they are clipped.
    assert pyramid.roi_to_level((slice(None), slice(-6, -2)), 0, 1)[1] == slice(17, 19)
    assert pyramid.roi_to_level((slice(None), slice(-100, 3)), 0, 1)[1] == slice(0, 2)
    # Empty regions, as numpy has them, stay empty where they map to.
    for empty, where in [(slice(9, 3), 4), (slice(50, 60), 20), (slice(-1, -3), 19)]:
        assert pyramid.roi_to_level((slice(None), empty), 0, 1)[1] == slice(where, where)
    # A non-empty region at an edge never maps to nothing, whatever the levels.
    assert pyramid.roi_to_level((slice(None), slice(39, 40)), 0, -1)[1] == slice(4, 5)
    assert pyramid.roi_to_level((slice(None), slice(0, 1)), -1, 0)[1] == slice(0, 8)


def test_roi_errors(pyramid: MultiscaleImage) -> None:
    with pytest.raises(ValueError, match="step 1"):
        pyramid.roi_to_level((slice(0, 10, 2),), 0, 1)
    with pytest.raises(ValueError, match=r"roi=.*step 1.*slice\(10, 0, -1\)"):
        pyramid.roi_to_level((slice(10, 0, -1),), 0, 1)
    with pytest.raises(TypeError, match=r"slice start must be an integer or None, got 1\.5"):
        pyramid.roi_to_level((slice(1.5, 3),), 0, 1)
    with pytest.raises(TypeError, match="slice stop must be an integer or None, got True"):
        pyramid.roi_to_level((slice(0, True),), 0, 1)
    with pytest.raises(TypeError, match="slice step must be an integer or None"):
        pyramid.roi_to_level((slice(0, 4, "1"),), 0, 1)
    with pytest.raises(TypeError, match="tuple of slices"):
        pyramid.roi_to_level("0:4", 0, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="has 5 slices"):
        pyramid.roi_to_level((slice(None),) * 5, 0, 1)
    with pytest.raises(TypeError, match="tuple of slices"):
        pyramid.roi_to_level((0, 1), 0, 1)  # type: ignore[arg-type]
    with pytest.raises(IndexError):
        pyramid.roi_to_level((slice(None),), 0, 9)


def physical(image: MultiscaleImage, level: int, region: tuple[slice, ...]) -> list[tuple]:
    """The physical interval each axis of a region covers."""
    return [
        (t + (sl.start - 0.5) * s, t + (sl.stop - 0.5) * s)
        for sl, s, t in zip(region, image.scale(level), image.translation(level), strict=True)
    ]


@st.composite
def rois(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[slice, ...]:
    region = []
    for n in shape:
        start = draw(st.integers(0, n - 1))
        region.append(slice(start, draw(st.integers(start + 1, n))))
    return tuple(region)


@pytest.fixture(scope="module")
def odd_pyramids(tmp_path_factory: pytest.TempPathFactory) -> list[MultiscaleImage]:
    """Pyramids with odd sizes, factors 2 and 3, window and nearest methods."""
    folder = tmp_path_factory.mktemp("odd")
    data = np.zeros((27, 50, 37), dtype=np.uint8)
    return [
        build_pyramid(data, folder / f"{method}-{f}.zarr", method=method, factors=(1, f, f),
                      scale=(3.0, 0.7, 0.7), chunks=(27, 8, 8), max_levels=4)
        for method in ("mean", "nearest") for f in (2, 3)
    ]


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_roi_covers_the_region_and_no_more(
    odd_pyramids: list[MultiscaleImage], data: st.DataObject
) -> None:
    image = data.draw(st.sampled_from(odd_pyramids))
    source = data.draw(st.integers(0, image.levels - 1))
    target = data.draw(st.integers(0, image.levels - 1))
    roi = data.draw(rois(image.shapes[source]))
    mapped = image.roi_to_level(roi, source, target)
    wanted = physical(image, source, roi)
    got = physical(image, target, mapped)
    extent = physical(image, target, tuple(slice(0, n) for n in image.shapes[target]))
    for axis, ((lo, hi), (glo, ghi)) in enumerate(zip(wanted, got, strict=True)):
        size = image.shapes[target][axis]
        step = image.scale(target)[axis]
        edge_lo, edge_hi = extent[axis]
        # Covered, unless the region reaches past the target level's own extent.
        assert glo <= max(lo, edge_lo) + 1e-9
        assert ghi >= min(hi, edge_hi) - 1e-9
        # And no more: the first and the last mapped pixels both overlap the region,
        # unless they are edge pixels, which also stand for what lies beyond the edge.
        assert glo + step > lo + 1e-9 or mapped[axis].start in (0, size - 1)
        assert ghi - step < hi - 1e-9 or mapped[axis].stop in (1, size)
        assert 0 <= mapped[axis].start < mapped[axis].stop <= size  # never empty
    # Going back gives a region that still covers the original one, even where the
    # target level's extent does not reach as far (a nearest pyramid's coarse levels end
    # up to half a window short of level 0): edge pixels stand for what lies beyond.
    back = image.roi_to_level(mapped, target, source)
    for original, returned in zip(roi, back, strict=True):
        assert returned.start <= original.start and returned.stop >= original.stop


@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_coarse_pixels_of_a_roi_are_made_from_it(
    odd_pyramids: list[MultiscaleImage], data: st.DataObject
) -> None:
    # For window methods: every level-0 pixel of the ROI feeds a pixel inside the mapping.
    image = data.draw(st.sampled_from([p for p in odd_pyramids if p.metadata.method == "mean"]))
    level = data.draw(st.integers(1, image.levels - 1))
    roi = data.draw(rois(image.shapes[0]))
    mapped = image.roi_to_level(roi, 0, level)
    factor = [round(s / s0) for s, s0 in zip(image.scale(level), image.scale(0), strict=True)]
    for sl, target, f in zip(roi, mapped, factor, strict=True):
        assert target.start == sl.start // f
        assert target.stop == math.ceil(sl.stop / f)


# -- display -----------------------------------------------------------------------------


def test_repr_lists_every_level(pyramid: MultiscaleImage) -> None:
    text = repr(pyramid)
    assert text.startswith(f"MultiscaleImage({str(pyramid.path)!r}, OME-Zarr 0.4")
    assert "levels=4" in text
    for i, shape in enumerate(pyramid.shapes):
        assert f"  {i}: shape={shape}" in text


def test_rich_table_shows_levels_shapes_chunks_scales_bytes(pyramid: MultiscaleImage) -> None:
    console = Console(width=160, record=True)
    console.print(pyramid)
    text = console.export_text()
    for header in ("level", "shape", "chunks", "scale", "translation", "bytes", "stored"):
        assert header in text
    assert "2 x 40 x 64 x 48" in text
    assert "1, 8, 2, 2" in text  # level 2's scale
    assert "480.0 KiB" in text  # level 0: 2 * 40 * 64 * 48 * 2 bytes
    assert "micrometer" in text


def test_rich_table_mentions_shards(tmp_path: Path) -> None:
    image = build_pyramid(np.zeros((32, 32), np.uint8), tmp_path / "s.zarr", axes="yx",
                          chunks=(8, 8), zarr_version=3, shard_chunks=(2, 2))
    console = Console(width=160, record=True)
    console.print(image)
    assert "in shards 16 x 16" in console.export_text()


def test_html_repr_is_the_rich_table(pyramid: MultiscaleImage) -> None:
    fragment = pyramid._repr_html_()
    assert fragment.startswith("<pre") and fragment.endswith("</pre>")
    assert "<html" not in fragment and "<style" not in fragment
    assert 'style="font-weight: bold"' in fragment  # the header row, styled inline
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(pyramid)
    text = html.unescape(re.sub(r"<[^>]+>", "", fragment))
    assert text == console.export_text()
    assert "2 x 40 x 64 x 48" in text and "480.0 KiB" in text


def test_jupyter_shows_the_html_table(
    pyramid: MultiscaleImage, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    formatters = pytest.importorskip("IPython.core.formatters")
    # As in a notebook: rich must render into the string, not display the table itself.
    monkeypatch.setattr("rich.console._is_jupyter", lambda: True)
    data, _ = formatters.DisplayFormatter().format(pyramid)
    assert capsys.readouterr().out == ""
    assert data["text/html"] == pyramid._repr_html_()
    assert "level" in data["text/html"] and "translation" in data["text/html"]
    assert data["text/plain"] == repr(pyramid)


def test_ome_metadata_is_the_source_of_truth(pyramid: MultiscaleImage) -> None:
    assert pyramid.metadata == ome.read_multiscale(pyramid.path)  # type: ignore[arg-type]


# -- over HTTP ---------------------------------------------------------------------------
#
# The stores are made by the package's own writers in a temporary folder and served by a
# real server on 127.0.0.1 (data_helpers.serve, which answers Range requests).

# name -> (zarr_version, shard_chunks, consolidated): every layout MultiscaleImage reads.
HTTP_STORES = {
    "v2.zarr": (2, None, False),
    "v2-consolidated.zarr": (2, None, True),
    "v3.zarr": (3, None, False),
    "v3-sharded.zarr": (3, (2, 2, 2), False),
    "v3-sharded-consolidated.zarr": (3, (2, 2, 2), True),
}
HTTP_SHAPE = (16, 64, 48)  # (z, y, x)
HTTP_CHUNKS = (4, 16, 16)


@pytest.fixture(scope="module")
def http_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of OME-Zarr images, each with the label image 'nuclei', one per layout."""
    folder = tmp_path_factory.mktemp("http")
    volume, nuclei = make_volume(HTTP_SHAPE, n_nuclei=6)
    for name, (zarr_version, shard_chunks, consolidated) in HTTP_STORES.items():
        image = build_pyramid(volume, folder / name, scale=(2.0, 0.5, 0.5),
                              chunks=HTTP_CHUNKS, zarr_version=zarr_version,
                              shard_chunks=shard_chunks, max_levels=3)
        write_labels(image, "nuclei", nuclei, colors={1: (255, 0, 0, 255)})
        if consolidated:
            consolidate(folder / name, zarr_version)
    zarr.open_group(folder / "plain.zarr", mode="w")  # a Zarr group, not an OME-Zarr image
    (folder / "forbidden.zarr" / "zarr.json").mkdir(parents=True)  # the server answers 403
    return folder


def consolidate(path: Path, zarr_version: int) -> None:
    """Consolidate the metadata of every group of the store at ``path``, labels included."""
    if zarr_version == 3:
        # zarr-python's own warning, not ours: for Zarr v3, consolidated metadata is a
        # zarr-python extension, not (yet) part of the format's specification.
        with pytest.warns(zarr.errors.ZarrUserWarning, match="Consolidated metadata is"):
            zarr.consolidate_metadata(str(path), zarr_format=3)
    else:
        zarr.consolidate_metadata(str(path), zarr_format=2)


def needs_http_client() -> None:
    """Skip without aiohttp, which fsspec reads HTTP with (the lock has it on Python > 3.11.0
    only, through ome-zarr and s3fs: see requirements.txt)."""
    pytest.importorskip("aiohttp", reason="fsspec reads HTTP with aiohttp")


@pytest.fixture(scope="module")
def http_server(http_folder: Path) -> Iterator[ServedDirectory]:
    needs_http_client()
    with serve_directory(http_folder) as server:
        yield server


@pytest.fixture
def server(http_server: ServedDirectory) -> ServedDirectory:
    """The server, with an empty request log."""
    http_server.clear_requests()
    return http_server


def stored_files(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_same_image(remote: MultiscaleImage, local: MultiscaleImage) -> None:
    """Same metadata, shapes, chunks, transforms, and every level's pixels bit-exact."""
    assert remote.metadata == local.metadata
    assert remote.version == local.version
    assert remote.axes == local.axes
    assert remote.levels == local.levels
    assert remote.shapes == local.shapes
    assert remote.chunks == local.chunks
    assert remote.dtype == local.dtype
    assert remote.image_label == local.image_label
    for i in range(local.levels):
        assert remote.scale(i) == local.scale(i)
        assert remote.translation(i) == local.translation(i)
        assert remote.level(i).shards == local.level(i).shards
        pixels = remote.level(i)[...]
        assert pixels.dtype == local.dtype
        np.testing.assert_array_equal(pixels, local.level(i)[...], strict=True)
        lazy = remote.to_dask(i)
        assert lazy.chunks == local.to_dask(i).chunks
        np.testing.assert_array_equal(lazy.compute(), pixels, strict=True)
    for i in range(1, local.levels):
        assert remote.factors(i) == local.factors(i)


@pytest.mark.parametrize("name", HTTP_STORES)
def test_open_over_http_equals_open_on_disk(
    server: ServedDirectory, http_folder: Path, name: str
) -> None:
    url = f"{server.url}/{name}"
    remote = MultiscaleImage.open(url)
    local = MultiscaleImage.open(http_folder / name)
    assert (remote.url, remote.path) == (url, None)
    assert local.url is None
    assert remote.version == ("0.4" if name.startswith("v2") else "0.5")
    assert_same_image(remote, local)
    roi = (slice(3, 9), slice(10, 40), slice(0, 7))
    for source, target in [(0, 1), (0, -1), (2, 0)]:
        assert remote.roi_to_level(roi, source, target) == local.roi_to_level(roi, source,
                                                                              target)
    assert remote.level_for({"y": 40}) == local.level_for({"y": 40}) == 1
    # Read-only: nothing but GET (and perhaps HEAD) requests reached the server.
    assert server.requests
    assert {r.method for r in server.requests} <= {"GET", "HEAD"}


@pytest.mark.parametrize("name", HTTP_STORES)
def test_labels_over_http(server: ServedDirectory, http_folder: Path, name: str) -> None:
    url = f"{server.url}/{name}"
    remote, local = MultiscaleImage.open(url), MultiscaleImage.open(http_folder / name)
    assert remote.labels == local.labels == ("nuclei",)
    nuclei = remote.label("nuclei")
    assert (nuclei.url, nuclei.path) == (f"{url}/labels/nuclei", None)
    assert nuclei.image_label is not None
    assert nuclei.image_label.colors == {1: (255, 0, 0, 255)}
    assert_same_image(nuclei, local.label("nuclei"))
    with pytest.raises(KeyError, match=r"no label image 'cells': its labels are \['nuclei'\]"):
        remote.label("cells")


@pytest.mark.parametrize("name", ["v2-consolidated.zarr", "v3-sharded-consolidated.zarr"])
def test_consolidated_metadata_is_read_in_one_request(server: ServedDirectory,
                                                      name: str) -> None:
    image = MultiscaleImage.open(f"{server.url}/{name}")
    assert image.labels == ("nuclei",)
    image.label("nuclei")
    # The root's metadata documents only (Zarr v2: .zgroup, .zattrs and .zmetadata; the
    # others asked for are 404s): no level's, no label image's.
    found = sorted(r.path for r in server.requests if r.status == 200)
    root = [".zattrs", ".zgroup", ".zmetadata"] if name.startswith("v2") else ["zarr.json"]
    assert found == [f"/{name}/{document}" for document in root]


def test_without_consolidated_metadata_each_level_is_asked_for(server: ServedDirectory
                                                               ) -> None:
    MultiscaleImage.open(f"{server.url}/v3.zarr")
    found = {r.path for r in server.requests if r.status == 200}
    assert {"/v3.zarr/zarr.json", "/v3.zarr/0/zarr.json", "/v3.zarr/2/zarr.json"} <= found


@pytest.mark.parametrize("name", HTTP_STORES)
def test_opening_asks_for_each_metadata_document_once(server: ServedDirectory,
                                                      name: str) -> None:
    """Reading the metadata and opening the levels share the levels' metadata: no
    document is fetched twice (with a network's latency, that would double the cost)."""
    image = MultiscaleImage.open(f"{server.url}/{name}")
    paths = [r.path for r in server.requests]
    assert len(paths) == len(set(paths)), sorted(paths)
    assert image.levels == 3
    if "consolidated" not in name:  # every level's own document, once
        document = ".zarray" if name.startswith("v2") else "zarr.json"
        assert {f"/{name}/{i}/{document}" for i in range(3)} <= set(paths)


def test_a_partial_read_of_a_shard_makes_range_requests(
    server: ServedDirectory, http_folder: Path
) -> None:
    name = "v3-sharded.zarr"
    image = MultiscaleImage.open(f"{server.url}/{name}")
    local = MultiscaleImage.open(http_folder / name)
    assert image.level(0).shards == (8, 32, 32)  # 2 x 2 x 2 chunks of (4, 16, 16)
    server.clear_requests()
    # One chunk of the first shard (its last one), not the whole shard.
    region = (slice(4, 8), slice(16, 32), slice(16, 32))
    np.testing.assert_array_equal(image.level(0)[region], local.level(0)[region], strict=True)
    shard = http_folder / name / "0" / "c" / "0" / "0" / "0"
    shard_requests = [r for r in server.requests if r.path == f"/{name}/0/c/0/0/0"]
    assert [r.path for r in server.requests] == [r.path for r in shard_requests]
    assert shard_requests
    assert all(r.status == 206 and r.range is not None for r in shard_requests)
    assert sum(r.bytes_sent for r in shard_requests) < shard.stat().st_size


def test_to_dask_over_http_reads_one_block_per_shard(server: ServedDirectory,
                                                     http_folder: Path) -> None:
    image = MultiscaleImage.open(f"{server.url}/v3-sharded.zarr")
    lazy = image.to_dask(0)
    assert lazy.chunksize == (8, 32, 32)
    server.clear_requests()
    block = lazy.blocks[1, 0, 1].compute()
    local = MultiscaleImage.open(http_folder / "v3-sharded.zarr").level(0)
    np.testing.assert_array_equal(block, local[8:16, 0:32, 32:48], strict=True)
    assert {r.path for r in server.requests} == {"/v3-sharded.zarr/0/c/1/0/1"}


def test_a_remote_image_is_never_written(server: ServedDirectory, http_folder: Path) -> None:
    before = stored_files(http_folder)
    image = MultiscaleImage.open(f"{server.url}/v3-sharded.zarr")
    with pytest.raises(ValueError, match="read-only"):
        image.level(0)[0, 0, 0] = 1
    with pytest.raises(ValueError, match="read-only"):
        image.label("nuclei").level(1)[...] = 0
    labels = np.zeros(HTTP_SHAPE, np.uint16)
    with pytest.raises(ValueError, match="is not on a local disk"):
        write_labels(image, "cells", labels)
    with pytest.raises(ValueError, match="is a URL"):
        write_labels(f"{server.url}/v3-sharded.zarr", "cells", labels)
    assert {r.method for r in server.requests} <= {"GET", "HEAD"}
    assert stored_files(http_folder) == before


def test_repr_and_table_of_a_remote_image(server: ServedDirectory) -> None:
    url = f"{server.url}/v3-sharded.zarr"
    image = MultiscaleImage.open(url)
    assert repr(image).startswith(f"MultiscaleImage({url!r}, OME-Zarr 0.5")
    server.clear_requests()
    console = Console(width=160, record=True, file=io.StringIO())
    console.print(image)
    text = console.export_text()
    assert "16 x 64 x 48" in text and "in shards 8 x 32 x 32" in text
    # The stored size would need a listing of the store, which HTTP does not give.
    assert re.search(r"KiB\s+│\s+-\s+│", text)
    assert "<pre" in image._repr_html_()
    assert server.requests == ()  # showing the image costs no request


# -- over HTTP: errors -------------------------------------------------------------------


def free_port() -> int:
    """A port on 127.0.0.1 where nothing listens (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_open_an_unreachable_url(scheme: str) -> None:
    needs_http_client()
    url = f"{scheme}://127.0.0.1:{free_port()}/image.zarr"
    with pytest.raises(ValueError, match=rf"path='{re.escape(url)}' cannot be read: .*Connect"):
        MultiscaleImage.open(url)


def test_open_a_url_where_nothing_is(server: ServedDirectory) -> None:
    url = f"{server.url}/missing.zarr"
    with pytest.raises(FileNotFoundError, match=rf"no OME-Zarr image at path='{url}'"):
        MultiscaleImage.open(url)
    with pytest.raises(FileNotFoundError, match="no OME-Zarr image"):
        MultiscaleImage.open(f"{server.url}/")  # the folder of images is not one
    assert {r.status for r in server.requests} == {404}


def test_open_a_url_that_is_not_an_ome_zarr_image(server: ServedDirectory) -> None:
    url = f"{server.url}/plain.zarr"
    with pytest.raises(ValueError, match=rf"path='{url}' is not an OME-Zarr 0\.4 or 0\.5 "):
        MultiscaleImage.open(url)
    for level in ("v2.zarr/0", "v3.zarr/0"):  # a level: an array
        with pytest.raises(ValueError, match=rf"path='{server.url}/{level}' is not a Zarr group"):
            MultiscaleImage.open(f"{server.url}/{level}")
    with pytest.raises(ValueError, match=r"is not an OME-Zarr .*multiscale image"):
        MultiscaleImage.open(f"{server.url}/v3.zarr/labels")  # a group of label images


def test_open_a_url_the_server_refuses(server: ServedDirectory) -> None:
    url = f"{server.url}/forbidden.zarr"
    with pytest.raises(ValueError, match=rf"path='{url}' cannot be read: .*403"):
        MultiscaleImage.open(url)


@pytest.mark.parametrize(
    "url, message",
    [
        ("ftp://example.org/image.zarr", r"scheme 'ftp'; only http:// and https://"),
        ("s3://bucket/image.zarr", r"scheme 's3'; only http:// and https://"),
        ("http:///image.zarr", "must be a URL with a host"),
        ("http://example.org:99999/image.zarr", "has a bad port"),
        ("http://example.org/image.zarr?token=1", "without a query"),
        ("http://example.org/image.zarr#top", "or a fragment"),
    ],
)
def test_open_refuses_urls_it_cannot_read(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=rf"path='{re.escape(url)}' .*{message}"):
        MultiscaleImage.open(url)


def test_a_url_is_normalised(server: ServedDirectory) -> None:
    # The scheme lowercased, the trailing slash dropped: the URL keys are appended to.
    image = MultiscaleImage.open(f"HTTP://127.0.0.1:{server.port}/v2.zarr/")
    assert image.url == f"{server.url}/v2.zarr"
# -- channels --------------------------------------------------------------------------------


@pytest.mark.parametrize("zarr_version", [2, 3])
def test_channels_of_another_tools_image(tmp_path: Path, zarr_version: int) -> None:
    _ome_zarr_py.write_theirs(tmp_path / "theirs.zarr", zarr_version)
    image = MultiscaleImage.open(tmp_path / "theirs.zarr")
    assert image.channels == (
        ome.Channel("DAPI", "0000FF", (0.0, 4000.0), (0.0, 65535.0), True),
        ome.Channel("GFP", "00FF00", (100.0, 3000.0), (0.0, 65535.0), False),
    )
    assert image.label("cells").channels == ()


def test_channels_leave_out_what_the_image_leaves_out(tmp_path: Path) -> None:
    build_pyramid(np.zeros((2, 16, 16), np.uint8), tmp_path / "c.zarr", axes="cyx",
                  chunks=(1, 8, 8), channels=["a", "b"])
    group = zarr.open_group(tmp_path / "c.zarr", mode="r+")
    stored = group.attrs.asdict()
    for channel in stored["omero"]["channels"]:
        del channel["label"], channel["active"]
    group.attrs.put(stored)
    assert MultiscaleImage.open(tmp_path / "c.zarr").channels == (
        ome.Channel(None, "00FFFF", (0.0, 255.0), (0.0, 255.0), None),
        ome.Channel(None, "FF00FF", (0.0, 255.0), (0.0, 255.0), None),
    )


@pytest.mark.parametrize("zarr_version", [2, 3])
def test_invalid_channels_are_named(tmp_path: Path, zarr_version: int) -> None:
    build_pyramid(np.zeros((2, 16, 16), np.uint8), tmp_path / "c.zarr", axes="cyx",
                  chunks=(1, 8, 8), channels=["a", "b"], zarr_version=zarr_version)
    group = zarr.open_group(tmp_path / "c.zarr", mode="r+")
    stored = group.attrs.asdict()
    (stored if zarr_version == 2 else stored["ome"])["omero"]["channels"][0]["color"] = 255
    group.attrs.put(stored)
    # ome-zarr-models checks 0.4's omero with the image, 0.5's only when it is read.
    with pytest.raises(ValueError, match=r"(?s)omero.*channels.0.color"):
        MultiscaleImage.open(tmp_path / "c.zarr").channels  # noqa: B018

