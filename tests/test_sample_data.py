"""Tests of data_helpers.sample_data: deterministic volume, labels and lazy slide."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
import zarr
import zarr.storage

from data_helpers import sample_data
from data_helpers.sample_data import (
    DEFAULT_SLIDE_SHAPE,
    SAMPLES,
    load_sample,
    make_slide,
    make_volume,
)

SMALL = (16, 48, 64)


@pytest.fixture(scope="module")
def volume() -> tuple[np.ndarray, np.ndarray]:
    return make_volume()


# --------------------------------------------------------------------------- volume


def test_volume_shape_and_dtypes(volume):
    image, labels = volume
    assert image.shape == labels.shape == (128, 256, 256)
    assert image.dtype == np.uint16
    assert labels.dtype == np.uint32


def test_volume_is_deterministic_even_without_the_cache():
    first = make_volume(SMALL, seed=3)
    # The generator behind the cache, called afresh.
    second = sample_data._cached_volume.__wrapped__(SMALL, 3, None)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_different_seeds_give_different_volumes():
    a, _ = make_volume(SMALL, seed=1)
    b, _ = make_volume(SMALL, seed=2)
    assert not np.array_equal(a, b)


def test_callers_cannot_corrupt_the_cache():
    image, labels = make_volume(SMALL, seed=4)
    assert image.flags.writeable and labels.flags.writeable
    image[...] = 0
    labels[...] = 0
    again, again_labels = make_volume(SMALL, seed=4)
    assert again.max() > 0
    assert again_labels.max() > 0


def test_label_ids_are_contiguous_from_zero(volume):
    _, labels = volume
    ids = np.unique(labels)
    assert ids[0] == 0
    np.testing.assert_array_equal(ids, np.arange(ids.size))
    assert ids.size - 1 >= 100  # many nuclei in the default volume


def test_nuclei_are_bright_where_labelled(volume):
    image, labels = volume
    background = image[labels == 0].astype(float)
    inside = image[labels > 0].astype(float)
    # Clearly brighter on average: more than 5 standard deviations of the background.
    assert inside.mean() > background.mean() + 5 * background.std()
    # Every single nucleus is brighter on average than the background.
    sums = np.bincount(labels.ravel(), weights=image.ravel())
    counts = np.bincount(labels.ravel())
    per_nucleus = sums[1:] / counts[1:]
    assert per_nucleus.min() > background.mean() + 2 * background.std()


def test_volume_has_camera_offset_and_noise(volume):
    image, _ = volume
    assert image.min() >= 80  # the camera offset of 100, minus a little read noise
    # Shot noise: neighbouring background voxels differ.
    assert np.count_nonzero(np.diff(image[64, :, :].astype(int), axis=1)) > 0.9 * 256 * 255


def test_n_nuclei_is_respected():
    _, labels = make_volume(SMALL, seed=0, n_nuclei=3)
    assert labels.max() == 3
    np.testing.assert_array_equal(np.unique(labels), [0, 1, 2, 3])


VOLUME_SHAPE = r"must be a sequence of 3 integers >= 8"


# A wrong type is a TypeError, a wrong value of the right type a ValueError; the
# message repeats name=value and says what is accepted.
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"shape": (4, 32, 32)}, ValueError, r"shape=\(4, 32, 32\) " + VOLUME_SHAPE),
        ({"shape": (16, 32)}, ValueError, r"shape=\(16, 32\) " + VOLUME_SHAPE),
        ({"shape": ()}, ValueError, r"shape=\(\) " + VOLUME_SHAPE),
        ({"shape": (16.0, 32, 32)}, TypeError, r"shape=\(16\.0, 32, 32\) " + VOLUME_SHAPE),
        ({"shape": (True, 32, 32)}, TypeError, r"shape=\(True, 32, 32\) " + VOLUME_SHAPE),
        ({"shape": "big"}, TypeError, r"shape='big' " + VOLUME_SHAPE),
        ({"shape": 16}, TypeError, r"shape=16 " + VOLUME_SHAPE),
        ({"seed": -1}, ValueError, r"seed=-1 must be an integer >= 0"),
        ({"seed": 1.5}, TypeError, r"seed=1\.5 must be an integer >= 0"),
        ({"seed": True}, TypeError, r"seed=True must be an integer >= 0, not a bool"),
        ({"n_nuclei": -2}, ValueError, r"n_nuclei=-2 must be None or an integer >= 0"),
        ({"n_nuclei": 2.0}, TypeError, r"n_nuclei=2\.0 must be None or an integer >= 0"),
    ],
)
def test_make_volume_rejects_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_volume(**kwargs)


@pytest.mark.parametrize(
    "shape",
    [(16.0, 48, 64), (16, 48, 64, 1), ()],
)
def test_make_volume_shape_errors_follow_the_rule(shape):
    # A float side used to be a ValueError, a wrong length and an empty shape TypeErrors.
    error = TypeError if any(isinstance(v, float) for v in shape) else ValueError
    with pytest.raises(error, match=r"shape=.* " + VOLUME_SHAPE):
        make_volume(shape)


def test_make_volume_takes_a_numpy_shape():
    # It used to be refused (a numpy array is not a Sequence).
    image, labels = make_volume(np.array(SMALL), seed=3)
    expected_image, expected_labels = make_volume(SMALL, seed=3)
    np.testing.assert_array_equal(image, expected_image)
    np.testing.assert_array_equal(labels, expected_labels)


def test_make_volume_refuses_a_shape_that_cannot_fit_before_allocating():
    # It used to start and fail with a MemoryError.
    with pytest.raises(ValueError, match=r"the arrays making a volume of shape="
                       r"\(8, 1048576, 1048576\) need .* GiB .*use a smaller shape"):
        make_volume((8, 2**20, 2**20))


# --------------------------------------------------------------------------- slide


def test_full_size_slide_is_lazy(monkeypatch):
    calls = []
    real = sample_data._slide_region

    def counting(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(sample_data, "_slide_region", counting)
    slide = make_slide()
    assert isinstance(slide, da.Array)
    assert slide.shape == DEFAULT_SLIDE_SHAPE
    assert slide.dtype == np.uint8
    assert set(slide.chunks[0]) == {1024} and set(slide.chunks[1]) == {1024}
    assert slide.numblocks == (48, 64)
    assert calls == []  # nothing computed so far
    slide.blocks[3, 5].compute()
    assert calls == [(3 * 1024, 5 * 1024, 1024, 1024, 0)]  # exactly one tile


def test_edge_tiles_are_smaller():
    slide = make_slide((1000, 2500), tile=(512, 1024))
    assert slide.chunks == ((512, 488), (1024, 1024, 452))


def test_a_tile_equals_the_same_region_of_a_small_slide():
    full = make_slide(seed=5)
    small = make_slide((2500, 3500), tile=700, seed=5).compute()
    tile = full.blocks[1, 2].compute()
    np.testing.assert_array_equal(tile, small[1024:2048, 2048:3072])


def test_far_tile_does_not_depend_on_the_tiling():
    full = make_slide()
    other = make_slide(tile=(640, 384))
    region = np.s_[47 * 1024 :, 63 * 1024 :]  # the bottom-right tile
    np.testing.assert_array_equal(full.blocks[-1, -1].compute(), other[region].compute())


def test_tile_order_does_not_matter():
    slide = make_slide((2048, 2048), tile=512, seed=9)
    blocks = [(i, j) for i in range(4) for j in range(4)]

    def compute_in(order):
        # Start from empty caches, so each order also rebuilds the cached textures.
        sample_data._slide_patterns.cache_clear()
        sample_data._tissue_offset.cache_clear()
        return {b: slide.blocks[b].compute() for b in order}

    forward = compute_in(blocks)
    backward = compute_in(blocks[::-1])
    for b in blocks:
        np.testing.assert_array_equal(forward[b], backward[b])
    with dask.config.set(scheduler="threads"):
        threaded = slide.compute()
    assembled = np.block([[forward[i, j] for j in range(4)] for i in range(4)])
    np.testing.assert_array_equal(threaded, assembled)


# Random regions and tilings, drawn once from a fixed seed (reproducible test ids).
_REGIONS = [
    tuple(int(v) for v in row)
    for row in np.random.default_rng(2024).integers(
        [0, 0, 1, 1, 50], [3000, 3000, 300, 300, 1100], size=(12, 5)
    )
]


@pytest.mark.parametrize(("y0", "x0", "height", "width", "tile"), _REGIONS)
def test_any_region_is_the_same_whatever_the_tiles(y0, x0, height, width, tile):
    reference = make_slide((3300, 3300), tile=1024)[y0 : y0 + height, x0 : x0 + width]
    other = make_slide((3300, 3300), tile=tile)[y0 : y0 + height, x0 : x0 + width]
    np.testing.assert_array_equal(reference.compute(), other.compute())


def test_small_slide_shows_tissue_and_glass():
    corner = make_slide((2048, 2048)).compute()
    glass = np.mean(corner > 215)
    tissue = np.mean(corner < 170)
    assert glass > 0.1, glass
    assert tissue > 0.1, tissue
    assert 0 < corner.min() and corner.max() < 255  # not saturated


def test_different_seeds_give_different_slides():
    a = make_slide((256, 256), seed=0).compute()
    b = make_slide((256, 256), seed=1).compute()
    assert not np.array_equal(a, b)


SLIDE_SHAPE = r"must be a sequence of 2 integers >= 1"
TILE = r"must be an integer >= 1 or a \(tile_y, tile_x\) pair of integers >= 1"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"shape": (0, 10)}, ValueError, r"shape=\(0, 10\) " + SLIDE_SHAPE),
        ({"shape": (10, 10, 10)}, ValueError, r"shape=\(10, 10, 10\) " + SLIDE_SHAPE),
        ({"shape": ()}, ValueError, r"shape=\(\) " + SLIDE_SHAPE),
        ({"shape": (10.0, 10)}, TypeError, r"shape=\(10\.0, 10\) " + SLIDE_SHAPE),
        ({"shape": "10x10"}, TypeError, r"shape='10x10' " + SLIDE_SHAPE),
        ({"tile": 0}, ValueError, r"tile=0 " + TILE),
        ({"tile": (10,)}, ValueError, r"tile=\(10,\) " + TILE),
        ({"tile": (10, 0)}, ValueError, r"tile=\(10, 0\) " + TILE),
        ({"tile": True}, TypeError, r"tile=True " + TILE + ", not a bool"),
        ({"tile": 2.5}, TypeError, r"tile=2\.5 " + TILE),
        ({"tile": (256.0, 256)}, TypeError, r"tile=\(256\.0, 256\) " + TILE),
        ({"tile": "256"}, TypeError, r"tile='256' " + TILE),
        ({"seed": -3}, ValueError, r"seed=-3 must be an integer >= 0"),
        ({"seed": 0.0}, TypeError, r"seed=0\.0 must be an integer >= 0"),
    ],
)
def test_make_slide_rejects_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_slide(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"shape": (10.0, 10)}, TypeError),
        ({"shape": (10, 10, 10)}, ValueError),
        ({"tile": (10,)}, ValueError),
        ({"tile": (256.0, 256)}, TypeError),
    ],
)
def test_make_slide_errors_follow_the_rule(kwargs, error):
    # Floats used to be ValueErrors, wrong lengths TypeErrors.
    with pytest.raises(error, match=r"(shape|tile)="):
        make_slide(**kwargs)


def test_make_slide_takes_numpy_shapes_and_tiles():
    # A numpy shape or tile pair used to be refused (a numpy array is not a Sequence).
    slide = make_slide(np.array([300, 500]), tile=np.array([128, 256]))
    assert slide.shape == (300, 500)
    assert slide.chunks == ((128, 128, 44), (256, 244))
    assert make_slide((300, 500), tile=np.int64(128)).chunksize == (128, 128)


@pytest.mark.parametrize("seed", [2**62, 2**64, 10**30])
def test_every_seed_accepted_makes_a_slide(seed):
    # make_slide took any seed >= 0, but a seed above about 2**56 failed later, when
    # the pixels were computed (OverflowError while hashing).
    pixels = make_slide((64, 64), tile=32, seed=seed).compute()
    assert pixels.shape == (64, 64) and pixels.dtype == np.uint8
    assert pixels.min() < pixels.max()



# --------------------------------------------------------------------------- load_sample


def test_sample_names_have_one_line_descriptions():
    assert set(SAMPLES) == {"volume", "labels", "slide"}
    for description in SAMPLES.values():
        assert description and "\n" not in description


@pytest.mark.parametrize("name", ["volume", "labels"])
def test_load_sample_array_types_agree(name):
    expected = make_volume(SMALL)[0 if name == "volume" else 1]
    as_numpy = load_sample(name, shape=SMALL)
    as_zarr = load_sample(name, "zarr", shape=SMALL)
    as_dask = load_sample(name, "dask", shape=SMALL, chunks=(8, 16, 16))
    assert isinstance(as_numpy, np.ndarray)
    assert isinstance(as_zarr, zarr.Array)
    assert isinstance(as_zarr.store, zarr.storage.MemoryStore)
    assert isinstance(as_dask, da.Array)
    assert as_dask.chunksize == (8, 16, 16)
    for array in (as_numpy, as_zarr[...], as_dask.compute()):
        np.testing.assert_array_equal(array, expected)


def test_load_sample_default_volume_chunks():
    z = load_sample("volume", "zarr")
    assert z.shape == (128, 256, 256)
    assert z.chunks == (32, 128, 128)
    assert z.dtype == np.uint16


def test_load_sample_slide():
    lazy = load_sample("slide", "dask")
    assert lazy.shape == DEFAULT_SLIDE_SHAPE
    small = load_sample("slide", shape=(300, 400), tile=128)
    z = load_sample("slide", "zarr", shape=(300, 400), tile=128)
    assert isinstance(small, np.ndarray) and small.shape == (300, 400)
    assert z.chunks == (128, 128)
    np.testing.assert_array_equal(z[...], small)
    np.testing.assert_array_equal(small, lazy[:300, :400].compute())


@pytest.mark.parametrize("array_type", ["numpy", "zarr"])
def test_full_size_slide_refuses_to_fill_memory(array_type):
    with pytest.raises(ValueError, match=r"array_type='dask'.*shape="):
        load_sample("slide", array_type)


NAMES = r"must be one of \['labels', 'slide', 'volume'\]"
ARRAY_TYPES = r"must be one of \['numpy', 'zarr', 'dask'\]"


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (("nuclei",), {}, ValueError, r"name='nuclei' " + NAMES),
        ((None,), {}, TypeError, r"name=None " + NAMES),
        ((["volume"],), {}, TypeError, r"name=\['volume'\] " + NAMES),
        (("volume", "xarray"), {}, ValueError, r"array_type='xarray' " + ARRAY_TYPES),
        (("volume", None), {}, TypeError, r"array_type=None " + ARRAY_TYPES),
        (("volume",), {"shape": (8, 8)}, ValueError, r"shape=\(8, 8\) " + VOLUME_SHAPE),
        (("volume", "zarr"), {"chunks": (8, 8)}, ValueError,
         r"chunks=\(8, 8\) must be a sequence of 3 integers >= 1"),
        (("volume", "dask"), {"chunks": (8.0, 8, 8)}, TypeError,
         r"chunks=\(8\.0, 8, 8\) must be a sequence of 3 integers >= 1"),
        (("volume", "dask"), {"chunks": 8}, TypeError, r"chunks=8 must be a sequence of 3"),
        (("slide", "dask"), {"chunks": (0, 8)}, ValueError,
         r"chunks=\(0, 8\) must be a sequence of 2 integers >= 1"),
        (("slide", "dask"), {"chunks": (8, 8, 8)}, ValueError, r"chunks=\(8, 8, 8\) must be"),
        (("slide",), {"n_nuclei": 3}, TypeError, "n_nuclei"),
    ],
)
def test_load_sample_rejects_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        load_sample(*args, **kwargs)


@pytest.mark.parametrize(
    ("args", "error"),
    [((None,), TypeError), ((["volume"],), TypeError), (("volume", None), TypeError)],
)
def test_load_sample_names_that_are_not_strings_are_type_errors(args, error):
    # None used to be a ValueError, a list an "unhashable type" error naming nothing.
    with pytest.raises(error, match=r"(name|array_type)=.* must be one of"):
        load_sample(*args)


def test_load_sample_checks_chunks_before_making_the_volume(monkeypatch):
    # Bad chunks used to be found only after the volume had been made.
    def not_called(*args):
        raise AssertionError("the volume was made before the chunks were checked")

    monkeypatch.setattr(sample_data, "_cached_volume", not_called)
    with pytest.raises(ValueError, match=r"chunks=\(8, 8\) must be a sequence of 3"):
        load_sample("volume", "zarr", chunks=(8, 8))
