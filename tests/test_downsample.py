"""Tests of data_helpers.downsample against a plain, window-by-window reference."""

import itertools
import math
import warnings
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from data_helpers import downsample as downsample_module
from data_helpers.downsample import METHODS, downsample, downsampled_shape, normalize_factors

DTYPES = [np.uint8, np.uint16, np.int16, np.float32, np.float64]


def reference(array: np.ndarray, factors: tuple[int, ...], method: str) -> np.ndarray:
    """One window at a time, in float64: slow and obviously right."""
    out_shape = tuple(math.ceil(n / f) for n, f in zip(array.shape, factors, strict=True))
    out = np.empty(out_shape, dtype=array.dtype)
    for index in itertools.product(*(range(n) for n in out_shape)):
        starts = [i * f for i, f in zip(index, factors, strict=True)]
        window = array[tuple(slice(s, s + f) for s, f in zip(starts, factors, strict=True))]
        values = window.astype(np.float64).ravel()
        if method == "mean":
            value = values.mean()
            if array.dtype.kind in "iu":
                # The exact mean is sum / count; round half to even on that fraction.
                total, count = int(window.astype(np.int64).sum()), window.size
                quotient, remainder = divmod(total, count)
                halfway = 2 * remainder == count
                value = quotient + (2 * remainder > count or (halfway and quotient % 2))
        elif method == "nearest":
            value = values[0]
        elif method == "min":
            value = values.min()
        elif method == "max":
            value = values.max()
        else:  # mode: most frequent, smallest on a tie
            uniques, counts = np.unique(values, return_counts=True)
            value = uniques[np.argmax(counts)]
        out[index] = value
    return out


@st.composite
def image_and_factors(draw, dtype):
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 11), min_size=ndim, max_size=ndim)))
    factors = tuple(draw(st.lists(st.sampled_from([1, 2, 3, 4]), min_size=ndim, max_size=ndim)))
    if np.dtype(dtype).kind == "f":
        elements = st.floats(-1e6, 1e6, width=32, allow_nan=False, allow_subnormal=False)
    else:
        elements = None  # the dtype's whole range
    array = draw(hnp.arrays(dtype, shape, elements=elements))
    return array, factors


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_matches_reference(data, dtype, method):
    array, factors = data.draw(image_and_factors(dtype))
    result = downsample(array, factors, method)
    expected = reference(array, factors, method)
    assert result.dtype == array.dtype
    assert result.shape == downsampled_shape(array.shape, factors)
    if np.dtype(dtype).kind == "f" and method == "mean":
        # float64 sums in another order can differ in the last float32 bit
        np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-6)
    else:
        np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("factor", [2, 3, 4])
def test_constant_image_stays_constant_at_the_edges(method, dtype, factor):
    image = np.full((7, 9, 5), 37, dtype=dtype)  # no size divisible by 2, 3 or 4 everywhere
    result = downsample(image, factor, method)
    assert result.shape == tuple(math.ceil(n / factor) for n in image.shape)
    assert np.all(result == 37)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.uint32, np.int32])
def test_integer_mean_does_not_overflow(dtype):
    info = np.iinfo(dtype)
    image = np.full((4, 4), info.max, dtype=dtype)
    assert np.all(downsample(image, 2) == info.max)
    image = np.full((4, 4), info.min, dtype=dtype)
    assert np.all(downsample(image, 2) == info.min)


@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
def test_64_bit_integer_mean_is_exact(dtype):
    big = np.iinfo(dtype).max
    image = np.array([big, big - 1], dtype=dtype)  # exact mean big - 0.5 rounds to even
    expected = big - 1 if (big - 1) % 2 == 0 else big
    assert downsample(image, 2)[0] == expected


def test_rounds_half_to_even():
    image = np.array([0, 1, 1, 2, 2, 3, 3, 4], dtype=np.uint8)  # means 0.5, 1.5, 2.5, 3.5
    np.testing.assert_array_equal(downsample(image, 2), [0, 2, 2, 4])
    image = np.array([-1, 0, -3, -2], dtype=np.int16)  # means -0.5 and -2.5
    np.testing.assert_array_equal(downsample(image, 2), [0, -2])


def test_mode_picks_smallest_on_tie_and_never_invents_labels():
    labels = np.array([[5, 3, 3, 7], [5, 9, 7, 5]], dtype=np.uint32)
    # windows (2x2): {5,3,5,9} -> 5 ; {3,7,7,5} -> 7
    np.testing.assert_array_equal(downsample(labels, 2, "mode"), [[5, 7]])
    tie = np.array([4, 2], dtype=np.uint8)
    assert downsample(tie, 2, "mode")[0] == 2
    rng = np.random.default_rng(1)
    many = rng.choice([0, 17, 200, 4000], size=(9, 10, 11)).astype(np.uint16)
    for method in ("mode", "nearest", "min", "max"):
        assert set(np.unique(downsample(many, 3, method))) <= {0, 17, 200, 4000}


def test_mean_of_labels_invents_values():
    """Why labels need mode: the mean of labels 0 and 10 is a label nobody drew."""
    labels = np.array([0, 10, 0, 10], dtype=np.uint8)
    assert set(downsample(labels, 2).tolist()) == {5}


def test_factor_one_is_identity_and_accepts_array_likes():
    image = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    for method in METHODS:
        np.testing.assert_array_equal(downsample(image, 1, method), image)
    np.testing.assert_array_equal(downsample([[1, 3], [5, 7]], 2), [[4]])


def test_float_mean_stays_float_and_propagates_nan():
    image = np.array([1.0, 2.0, np.nan, 4.0], dtype=np.float32)
    result = downsample(image, 2)
    assert result.dtype == np.float32
    assert result[0] == np.float32(1.5)
    assert np.isnan(result[1])


def test_normalize_factors():
    assert normalize_factors(3, 2) == (3, 3)
    assert normalize_factors(np.int64(2), 1) == (2,)
    assert normalize_factors([1, 2], 2) == (1, 2)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"factors": 0}, ValueError, r"factors=0 must be an integer >= 1, or one per axis"),
        ({"factors": (2, 2, 2)}, ValueError, r"factors=\(2, 2, 2\) must be .* one per axis of "
                                             r"the array \(2\)"),
        ({"factors": 2.5}, TypeError, "factors=2.5 must be an integer"),
        ({"factors": (2, 1.5)}, TypeError, r"factors=\(2, 1.5\) must be"),
        ({"factors": True}, TypeError, "factors=True must be an integer .*not a bool"),
        ({"factors": "22"}, TypeError, "factors='22' must be an integer"),
        ({"factors": 2, "method": "median"}, ValueError, "method='median' must be one of"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        downsample(np.zeros((4, 4), np.uint8), **kwargs)


def test_bad_arrays():
    with pytest.raises(ValueError, match="at least one axis"):
        downsample(np.uint8(3), 2)
    with pytest.raises(TypeError, match="dtype complex"):
        downsample(np.zeros(4, np.complex64), 2)
    with pytest.raises(ValueError, match="method='mean' needs numbers, but the array holds b"):
        downsample(np.zeros(4, bool), 2)
    assert downsample(np.array([True, False, False]), 2, "max").tolist() == [True, False]


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.uint64, np.float32, np.float64],
                         ids=lambda d: np.dtype(d).name)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_slabs_do_not_change_the_result(data, dtype, method):
    # Large outputs are reduced slab by slab; with tiny slabs, the same pixels come out.
    array, factors = data.draw(image_and_factors(dtype))
    whole = downsample(array, factors, method)
    slab_pixels = data.draw(st.integers(1, 5))
    with mock.patch.object(downsample_module, "_SLAB_PIXELS", slab_pixels):
        slabbed = downsample(array, factors, method)
    np.testing.assert_array_equal(slabbed, whole)
    assert slabbed.dtype == whole.dtype


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64],
                         ids=lambda d: np.dtype(d).name)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_non_finite_floats_match_reference(data, dtype, method):
    # NaN and infinities, mixed with small numbers: every method agrees with the float64
    # reference (np.unique counts NaNs as one value and sorts them last, like mode).
    ndim = data.draw(st.integers(1, 3))
    shape = tuple(data.draw(st.lists(st.integers(1, 8), min_size=ndim, max_size=ndim)))
    factors = tuple(data.draw(st.lists(st.sampled_from([1, 2, 3]), min_size=ndim,
                                       max_size=ndim)))
    elements = st.sampled_from([np.nan, -np.inf, np.inf, -1.0, 0.0, 2.5])
    array = data.draw(hnp.arrays(dtype, shape, elements=elements))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # inf - inf is expected, not worth a warning
        result = downsample(array, factors, method)
    with np.errstate(invalid="ignore"):
        expected = reference(array, factors, method)
    np.testing.assert_allclose(result, expected, rtol=1e-6)
