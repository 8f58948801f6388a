"""Regression tests for reported numerical and metadata bugs, one group per report.

Each test's docstring quotes the report it reproduces. Tests for the siblings found
while fixing them live in the test module of the package module they concern.
"""

from __future__ import annotations

import io
import math
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from rich.console import Console

from data_helpers import ome
from data_helpers.downsample import downsample
from data_helpers.inspect import chunk_stats
from data_helpers.multiscale import MultiscaleImage
from data_helpers.pyramid import build_pyramid

# -- 1. float means ----------------------------------------------------------------------

FLOAT_TYPES = [np.float16, np.float32, np.float64]


def _bits(values: np.ndarray) -> np.ndarray:
    """The bit patterns of a float array, so that -0.0 and 0.0 differ."""
    return values.view(f"u{values.dtype.itemsize}")


def test_mean_of_a_constant_float64_window_is_the_constant() -> None:
    """Report: "`downsample` mean of a constant float64 window is not always the constant
    (e.g. 99864.9352276 over 3 x 3 x 3 gives 99864.93522759996), and 1e308 values
    overflow to inf"."""
    value = 99864.9352276
    result = downsample(np.full((3, 3, 3), value), 3)
    assert result.dtype == np.float64
    assert result.shape == (1, 1, 1)
    assert float(result[0, 0, 0]) == value
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "overflow encountered" either
        huge = downsample(np.full((4, 6), 1e308), (2, 3))
        mixed = downsample(np.array([1e308, -1e308, 1.7e308, 1.7e308, -1.7e308, 1.7e308]), 3)
    assert np.all(huge == 1e308)
    np.testing.assert_allclose(mixed, [1.7e308 / 3, 1.7e308 / 3])  # exact sums: 1.7e308


@pytest.mark.parametrize("dtype", FLOAT_TYPES, ids=lambda d: np.dtype(d).name)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_mean_of_any_constant_float_window_is_the_constant(data: st.DataObject, dtype) -> None:
    """Report 1, as a property: every finite value (subnormals, -0.0 and the largest
    included) is its own mean, bit for bit, over any window, partial edges included."""
    value = data.draw(st.floats(width=np.finfo(dtype).bits, allow_nan=False,
                                allow_infinity=False))
    ndim = data.draw(st.integers(1, 3))
    shape = tuple(data.draw(st.lists(st.integers(1, 9), min_size=ndim, max_size=ndim)))
    factors = tuple(data.draw(st.lists(st.integers(1, 5), min_size=ndim, max_size=ndim)))
    image = np.full(shape, value, dtype=dtype)
    result = downsample(image, factors)
    assert result.dtype == image.dtype
    np.testing.assert_array_equal(_bits(result), _bits(np.full(result.shape, value, dtype)))


def _exact_mean(window: np.ndarray) -> Fraction:
    return sum((Fraction(float(v)) for v in window.ravel()), Fraction(0)) / window.size


@pytest.mark.parametrize("dtype", FLOAT_TYPES, ids=lambda d: np.dtype(d).name)
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_mean_of_finite_floats_is_finite_bounded_and_accurate(
    data: st.DataObject, dtype
) -> None:
    """Report 1, as a property: for finite values anywhere in the type's range, each
    window's mean is finite, lies within the window's [min, max], and is as close to
    the exact (rational) mean as summing in floating point allows."""
    info = np.finfo(dtype)
    ndim = data.draw(st.integers(1, 2))
    shape = tuple(data.draw(st.lists(st.integers(1, 7), min_size=ndim, max_size=ndim)))
    factors = tuple(data.draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
    # Values from a few magnitudes, so that windows hold near-equal values (the bounds
    # are tight), huge ones of both signs (overflow) and subnormals.
    pool = data.draw(st.lists(st.floats(width=info.bits, allow_nan=False,
                                        allow_infinity=False), min_size=1, max_size=4))
    image = data.draw(hnp.arrays(dtype, shape, elements=st.sampled_from(pool)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = downsample(image, factors)
    assert result.dtype == image.dtype
    for index in np.ndindex(result.shape):
        window = image[tuple(slice(i * f, (i + 1) * f) for i, f in
                             zip(index, factors, strict=True))]
        mean = result[index]
        assert np.isfinite(mean)
        assert window.min() <= mean <= window.max()
        exact = _exact_mean(window)
        # One rounding to the output type, plus the summation error of a float64 sum
        # (or of a sum in the input's own type for float64 and wider).
        unit = np.finfo(np.float64).eps
        largest = max(abs(Fraction(float(v))) for v in window.ravel())
        magnitude = np.abs(dtype(float(exact)))
        allowed = (Fraction(float(np.spacing(np.nextafter(magnitude, dtype(0)))))
                   + 2 * window.size * Fraction(unit) * largest
                   + Fraction(float(info.smallest_subnormal)))
        assert abs(Fraction(float(mean)) - exact) <= allowed, (window, mean, float(exact))


@pytest.mark.parametrize("dtype", FLOAT_TYPES, ids=lambda d: np.dtype(d).name)
def test_mean_of_infinities_and_nan(dtype) -> None:
    """Report 1, the non-finite side: an infinity wins over finite values (however
    large), opposite infinities give NaN and a NaN stays NaN, as in exact arithmetic."""
    big = np.finfo(dtype).max
    inf, nan = np.inf, np.nan
    windows = [
        ([inf, inf, inf], inf), ([-inf, -inf, -inf], -inf), ([inf, 1, 2], inf),
        ([1, inf, 2], inf), ([-big, -big, inf], inf), ([big, big, -inf], -inf),
        ([inf, -inf, 0], nan), ([nan, 1, 2], nan), ([1, 2, nan], nan), ([nan, inf, 1], nan),
    ]
    image = np.array([v for window, _ in windows for v in window], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = downsample(image, 3)
    np.testing.assert_array_equal(result, np.array([e for _, e in windows], dtype=dtype))


# -- 2. mode and NaN ---------------------------------------------------------------------


def _nans(dtype) -> list:
    """NaNs with different bit patterns (sign and payload): all count as one value."""
    quiet = np.array([np.nan], dtype=dtype)
    bits = quiet.view(f"u{quiet.itemsize}")
    sign = np.array([1 << (8 * quiet.itemsize - 1)], dtype=bits.dtype)
    variants = np.concatenate([bits, bits | sign, bits | 1, bits | sign | 3]).view(dtype)
    assert np.all(np.isnan(variants))
    return list(variants)


@pytest.mark.parametrize("dtype", FLOAT_TYPES, ids=lambda d: np.dtype(d).name)
def test_mode_picks_nan_when_it_is_the_most_frequent(dtype) -> None:
    """Report 2: "`mode` never picks NaN even when it is the most frequent value (pick a
    rule, document it, test it)." The rule: NaN is a value like any other and all NaNs
    are equal; the most frequent value wins, and a tie goes to the smallest, NaN
    sorting after every number (as numpy sorts)."""
    a, b, c, d = _nans(dtype)
    windows = [
        ([a, 1, b, c], "nan"),         # NaN three times out of four
        ([a, b, c, d], "nan"),         # only NaNs, of four different bit patterns
        ([a, 5, b, 7], "nan"),         # NaN twice, the numbers once each
        ([a, b, 3, 3], 3),             # a tie: the number wins
        ([np.inf, a, np.inf, b], np.inf),  # a tie with infinity: NaN still sorts last
        ([2, 2, 2, a], 2),
        ([-0.0, 0.0, a, 1], 0.0),      # -0.0 == 0.0: one value, twice
    ]
    image = np.array([v for window, _ in windows for v in window], dtype=dtype)
    result = downsample(image, 4, "mode")
    assert result.dtype == image.dtype
    for got, (window, wanted) in zip(result, windows, strict=True):
        if wanted == "nan":
            assert np.isnan(got), window
        else:
            assert got == wanted, window


@pytest.mark.parametrize("dtype", FLOAT_TYPES, ids=lambda d: np.dtype(d).name)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_mode_with_nan_follows_the_rule(data: st.DataObject, dtype) -> None:
    """Report 2, as a property: against a plain count of every window, NaNs counted as
    one value, ties to the smallest with NaN last."""
    ndim = data.draw(st.integers(1, 3))
    shape = tuple(data.draw(st.lists(st.integers(1, 8), min_size=ndim, max_size=ndim)))
    factors = tuple(data.draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
    pool = st.sampled_from([*_nans(dtype), dtype(-np.inf), dtype(-1.5), dtype(0), dtype(2),
                            dtype(np.inf)])
    image = data.draw(hnp.arrays(dtype, shape, elements=pool))
    result = downsample(image, factors, "mode")
    for index in np.ndindex(result.shape):
        window = image[tuple(slice(i * f, (i + 1) * f) for i, f in
                             zip(index, factors, strict=True))].ravel()
        counts: dict[float, int] = {}
        for value in window.tolist():
            key = "nan" if math.isnan(value) else value
            counts[key] = counts.get(key, 0) + 1
        best = max(counts.values())
        numbers = sorted(k for k, n in counts.items() if n == best and k != "nan")
        if numbers:
            assert result[index] == numbers[0], (window, result[index])
        else:
            assert np.isnan(result[index]), (window, result[index])


@pytest.mark.parametrize("dtype", FLOAT_TYPES, ids=lambda d: np.dtype(d).name)
def test_min_and_max_propagate_nan_and_nearest_keeps_it(dtype) -> None:
    """Report 2, the other methods: "min" and "max" give NaN for a window holding a
    NaN, wherever it is (as numpy.minimum / numpy.maximum); "nearest" keeps the first
    pixel, NaN or not."""
    nan = np.nan
    image = np.array([[nan, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, nan]], dtype=dtype)
    np.testing.assert_array_equal(downsample(image, 2, "min"), np.array([[nan, 2, nan]], dtype))
    np.testing.assert_array_equal(downsample(image, 2, "max"), np.array([[nan, 9, nan]], dtype))
    np.testing.assert_array_equal(downsample(image, 2, "nearest"), np.array([[nan, 2, 4]], dtype))
    np.testing.assert_array_equal(downsample(image, (1, 3), "min"),
                                  np.array([[nan, 3], [6, nan]], dtype))


# -- 3. roi_to_level ---------------------------------------------------------------------


def test_roi_to_level_of_a_nearest_pyramid_is_never_empty(tmp_path: Path) -> None:
    """Report 3: "`roi_to_level` on a `nearest` pyramid can map a non-empty region to an
    empty one (shape (32, 6), x factor 3, x = 5:6 at level 0 gives slice(2, 2))."
    Level-0 column 5 lies in the window [3, 6) that level-1 column 1 samples; the
    metadata puts that column's footprint at [1.5, 4.5), half a window short of the
    end of level 0, but it is still the pixel that stands for column 5."""
    image = build_pyramid(np.zeros((32, 6), np.uint8), tmp_path / "near.zarr", axes="yx",
                          factors=(1, 3), method="nearest", max_levels=2)
    assert image.shapes == [(32, 6), (32, 2)]
    assert image.roi_to_level((slice(None), slice(5, 6)), 0, 1) == (slice(0, 32), slice(1, 2))
    # And back: the footprint of level-1 column 1 covers columns 2 to 4 of level 0 and,
    # it being the last column, everything after them.
    assert image.roi_to_level((slice(None), slice(1, 2)), 1, 0) == (slice(0, 32), slice(2, 6))


def _synthetic_pyramid(shape: tuple[int, ...], factors: tuple[int, ...], levels: int,
                       method: str, base_scale: tuple[float, ...]) -> MultiscaleImage:
    """A pyramid's metadata as build_pyramid writes it, over empty in-memory arrays."""
    group = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    shapes, scales, translations = [], [], []
    for level in range(levels):
        total = [f**level for f in factors]
        shapes.append(tuple(-(-n // t) for n, t in zip(shape, total, strict=True)))
        size = [Fraction(repr(s)) for s in base_scale]
        scales.append(tuple(float(s * t) for s, t in zip(size, total, strict=True)))
        shift = method in ome.WINDOW_METHODS
        translations.append(tuple(float(s * (t - 1) / 2) if shift else 0.0
                                  for s, t in zip(size, total, strict=True)))
        group.create_array(str(level), shape=shapes[-1], dtype="u1", chunks=shapes[-1])
    axes = "zyx"[-len(shape):]
    metadata = ome.MultiscaleMetadata(
        version="0.4", name=None, axes=tuple(axes), axis_types=("space",) * len(shape),
        units=(None,) * len(shape), paths=tuple(str(i) for i in range(levels)),
        scales=tuple(scales), translations=tuple(translations), method=method,
    )
    return MultiscaleImage(group, metadata)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_roi_to_level_is_non_empty_and_covers_the_region(data: st.DataObject) -> None:
    """Report 3, as a property: for any pyramid (shapes, factors, window or nearest
    method, awkward scales) and any non-empty region of any level, the region mapped
    to any other level is non-empty, and mapped back it covers the region."""
    ndim = data.draw(st.integers(2, 3))
    shape = tuple(data.draw(st.lists(st.integers(1, 40), min_size=ndim, max_size=ndim)))
    factors = tuple(data.draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
    method = data.draw(st.sampled_from(["mean", "nearest", "mode", "max"]))
    base_scale = tuple(data.draw(st.lists(st.sampled_from([1.0, 0.7, 0.325, 2.5]),
                                          min_size=ndim, max_size=ndim)))
    image = _synthetic_pyramid(shape, factors, data.draw(st.integers(2, 4)), method, base_scale)
    source = data.draw(st.integers(0, image.levels - 1))
    target = data.draw(st.integers(0, image.levels - 1))
    roi = []
    for n in image.shapes[source]:
        start = data.draw(st.integers(0, n - 1))
        roi.append(slice(start, data.draw(st.integers(start + 1, n))))
    mapped = image.roi_to_level(tuple(roi), source, target)
    for sl, n in zip(mapped, image.shapes[target], strict=True):
        assert 0 <= sl.start < sl.stop <= n, (roi, mapped)
    back = image.roi_to_level(mapped, target, source)
    for original, returned in zip(roi, back, strict=True):
        assert returned.start <= original.start and returned.stop >= original.stop, (
            roi, mapped, back)


# -- 4. chunk_stats of sharded arrays ----------------------------------------------------


def test_chunk_stats_of_a_full_array_of_partial_shards_is_100_percent() -> None:
    """Report 4: "`inspect.chunk_stats` reports more than 100 % of chunks stored for
    sharded arrays whose shape is not a whole number of shards." A (10, 10) array of
    2 x 2 chunks in 4 x 4 shards has 5 x 5 chunks; its edge shards hold chunks beyond
    the array, which zarr counts (36 of 25)."""
    array = zarr.create_array({}, shape=(10, 10), chunks=(2, 2), shards=(4, 4), dtype="u1")
    array[...] = 1
    stats = chunk_stats(array)
    assert (stats.nchunks, stats.nshards, stats.nshards_stored) == (25, 9, 9)
    assert stats.nchunks_stored == 25
    assert stats.fraction_stored == 1.0
    table = render_table(stats)
    assert "25 (100%)" in table


def render_table(stats) -> str:
    console = Console(width=100, file=io.StringIO(), color_system=None)
    console.print(stats)
    return console.file.getvalue()


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_chunk_stats_counts_the_chunks_of_stored_shards_inside_the_array(
    data: st.DataObject,
) -> None:
    """Report 4, as a property: for v3 sharded arrays of any shape (partial shards,
    partial edge chunks), written in random regions, the chunks stored are the chunks
    inside the array of every shard that was written, never more than the grid."""
    ndim = data.draw(st.integers(1, 3))
    chunks = tuple(data.draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim)))
    per_shard = tuple(data.draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim)))
    shards = tuple(c * k for c, k in zip(chunks, per_shard, strict=True))
    shape = tuple(data.draw(st.integers(1, 3 * s)) for s in shards)
    array = zarr.create_array({}, shape=shape, chunks=chunks, shards=shards, dtype="u1",
                              fill_value=0)
    written: set[tuple[int, ...]] = set()  # shard coordinates
    for _ in range(data.draw(st.integers(0, 3))):
        point = tuple(data.draw(st.integers(0, n - 1)) for n in shape)
        array[point] = 1
        written.add(tuple(p // s for p, s in zip(point, shards, strict=True)))
    grid = [math.ceil(n / c) for n, c in zip(shape, chunks, strict=True)]
    expected = sum(
        math.prod(min(k, g - i * k) for i, k, g in zip(shard, per_shard, grid, strict=True))
        for shard in written
    )
    stats = chunk_stats(array)
    assert stats.nchunks == math.prod(grid)
    assert stats.nshards_stored == len(written)
    assert stats.nchunks_stored == expected
    assert 0 <= stats.fraction_stored <= 1


# -- 5. opening an image with a labels group ---------------------------------------------


def _ome_zarr_py_multiscale(name: str, levels: int) -> dict:
    """The ``multiscales`` entry ome-zarr-py 0.18.0 writes for a 2D 'yx' pyramid.

    As written by ``ome_zarr.writer.write_image(image, group, axes="yx")`` and
    ``write_labels(labels, group, name=..., axes="yx")``: paths s0, s1, ..., scale
    2**k and translation (2**k - 1) / 2 per level, no "type" nor "metadata".
    """
    return {
        "axes": [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}],
        "datasets": [
            {"path": f"s{k}", "coordinateTransformations": [
                {"type": "scale", "scale": [2.0**k, 2.0**k]},
                {"type": "translation", "translation": [(2**k - 1) / 2] * 2}]}
            for k in range(levels)
        ],
        "name": name,
    }


def write_ome_zarr_py_layout(dest: Path, version: str, labels_version: bool = False) -> None:
    """An image with a ``labels/cells`` label image, laid out as ome-zarr-py writes it.

    Reproduces, with zarr alone, the store ome-zarr-py 0.18.0 (zarr 3.1.6) writes with
    ``write_image(image, group, axes="yx", storage_options={"chunks": (32, 32)})`` then
    ``write_labels(labels, group, name="cells", axes="yx")`` for a 64 x 64 uint8 image:

    * 0.4 (Zarr v2): the image's ``.zattrs`` hold ``multiscales`` (with "version":
      "0.4"); ``labels/.zattrs`` is ``{"labels": ["cells"]}``; ``labels/cells/.zattrs``
      holds ``multiscales`` and ``"image-label": {"version": "0.4"}``.
    * 0.5 (Zarr v3): the same under ``"ome"`` with ``"version": "0.5"``, except that
      ``labels/zarr.json`` has ``{"ome": {"labels": ["cells"]}}``, without a version
      (``labels_version=True`` adds it, as the specification wants).

    Arrays: zstd level 0, fill value 0, "/" chunk keys; image levels in 32 x 32 chunks,
    label levels in one chunk each.
    """
    levels = 5
    zarr_format = 2 if version == "0.4" else 3
    image = np.arange(64 * 64, dtype=np.uint8).reshape(64, 64)
    root = zarr.open_group(dest, mode="w", zarr_format=zarr_format)
    labels = root.create_group("labels")
    cells = labels.create_group("cells")
    options: dict = {"fill_value": 0, "compressors": [zarr.codecs.ZstdCodec(level=0)]}
    if zarr_format == 2:
        options = {"fill_value": 0, "compressors": {"id": "zstd", "level": 0},
                   "chunk_key_encoding": {"name": "v2", "separator": "/"}}
    else:
        options["dimension_names"] = ("y", "x")
    for k in range(levels):
        level = image[:: 2**k, :: 2**k]
        root.create_array(f"s{k}", shape=level.shape, chunks=(32, 32), dtype="u1",
                          **options)[...] = level
        cells.create_array(f"s{k}", shape=level.shape, chunks=level.shape, dtype="u1",
                           **options)[...] = level % 3
    image_ms = _ome_zarr_py_multiscale("image", levels)
    cells_ms = _ome_zarr_py_multiscale("cells", levels)
    if zarr_format == 2:
        root.attrs.put({"multiscales": [{**image_ms, "version": "0.4"}]})
        labels.attrs.put({"labels": ["cells"]})
        cells.attrs.put({"multiscales": [{**cells_ms, "version": "0.4"}],
                         "image-label": {"version": "0.4"}})
    else:
        root.attrs.put({"ome": {"version": "0.5", "multiscales": [image_ms]}})
        labels.attrs.put({"ome": {"version": "0.5", "labels": ["cells"]} if labels_version
                          else {"labels": ["cells"]}})
        cells.attrs.put({"ome": {"version": "0.5", "multiscales": [cells_ms],
                                 "image-label": {"version": "0.5"}}})


LABELLED_LAYOUTS = [("0.4", False), ("0.5", False), ("0.5", True)]
LAYOUT_IDS = ["0.4", "0.5-as-ome-zarr-py-0.18", "0.5-labels-with-version"]


@pytest.mark.parametrize(("version", "labels_version"), LABELLED_LAYOUTS, ids=LAYOUT_IDS)
def test_open_an_image_with_a_labels_group(
    tmp_path: Path, version: str, labels_version: bool
) -> None:
    """Report 5: "`MultiscaleImage.open` refuses an OME-Zarr 0.5 image written by
    ome-zarr-py that has a `labels/` group, though the image itself is fine." """
    dest = tmp_path / "labelled.ome.zarr"
    write_ome_zarr_py_layout(dest, version, labels_version)
    image = MultiscaleImage.open(dest)
    assert image.version == version
    assert image.metadata.paths == ("s0", "s1", "s2", "s3", "s4")
    assert image.shapes == [(64 >> k, 64 >> k) for k in range(5)]
    assert image.scale(2) == (4.0, 4.0) and image.translation(2) == (1.5, 1.5)
    expected = np.arange(64 * 64, dtype=np.uint8).reshape(64, 64)[::4, ::4]
    np.testing.assert_array_equal(image.level(2)[...], expected)
    assert image.roi_to_level((slice(0, 8), slice(60, 64)), 0, 3) == (slice(0, 1), slice(7, 8))


@pytest.mark.parametrize(("version", "labels_version"), LABELLED_LAYOUTS, ids=LAYOUT_IDS)
def test_validate_an_image_with_a_labels_group(
    tmp_path: Path, version: str, labels_version: bool
) -> None:
    """Report 5, validation: the image itself validates whatever its labels group. As
    ome-zarr-py writes it, it lacks the "type" and "metadata" that only the strict
    schema requires; with them added (as this package writes them), it passes strictly."""
    dest = tmp_path / "labelled.ome.zarr"
    write_ome_zarr_py_layout(dest, version, labels_version)
    assert ome.validate(dest, strict=False).ome_zarr_version == version
    with pytest.raises(ValueError, match="'metadata' is a required property") as raised:
        ome.validate(dest)
    assert "label" not in str(raised.value)
    root = zarr.open_group(dest, mode="r+")
    attributes = root.attrs.asdict()
    multiscale = (attributes if version == "0.4" else attributes["ome"])["multiscales"][0]
    multiscale.update(type="reduce", metadata={"method": "numpy slicing"})
    root.attrs.put(attributes)
    assert ome.validate(dest).ome_zarr_version == version
