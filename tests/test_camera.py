"""Tests of the simulated camera, data_helpers.camera."""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data_helpers import camera as camera_module
from data_helpers.camera import PATTERNS, PIXEL_TYPES, Frame, SimulatedCamera

SMALL = (24, 10)  # (width, height)


def type_range(dtype: np.dtype[Any]) -> tuple[float, float]:
    """The range a pattern should span for `dtype`."""
    if dtype.kind == "f":
        return 0.0, 1.0
    info = np.iinfo(dtype)
    return float(info.min), float(info.max)


# -- shapes and types --------------------------------------------------------------------


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("shape", [(24, 10), (7, 5), (1, 1), (1, 9), (9, 1), (1920, 1080)])
def test_frames_are_height_by_width(pattern: str, shape: tuple[int, int]) -> None:
    camera = SimulatedCamera(pattern, shape=shape)
    width, height = shape
    frame = camera.grab()
    assert camera.frame_shape == (height, width)
    assert frame.data.shape == (height, width)
    assert camera.shape == shape


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("pixel_type", PIXEL_TYPES)
def test_every_pixel_type_gives_its_dtype(pattern: str, pixel_type: str) -> None:
    camera = SimulatedCamera(pattern, shape=SMALL, pixel_type=pixel_type)
    frame = camera.grab()
    assert frame.data.dtype == np.dtype(pixel_type)
    assert camera.dtype == np.dtype(pixel_type)
    assert camera.pixel_type == pixel_type
    assert camera.frame_bytes == 24 * 10 * np.dtype(pixel_type).itemsize == frame.data.nbytes


@pytest.mark.parametrize("pixel_type", [np.uint16, np.dtype("uint16"), "uint16", "u2"])
def test_pixel_type_accepts_names_dtypes_and_scalar_types(pixel_type: Any) -> None:
    camera = SimulatedCamera(shape=SMALL, pixel_type=pixel_type)
    assert camera.dtype == np.dtype(np.uint16)
    assert camera.pixel_type == "uint16"


def test_defaults_match_acquire_example() -> None:
    camera = SimulatedCamera()
    assert camera.pattern == "radial_sin"
    assert camera.shape == (1920, 1080)
    assert camera.frame_shape == (1080, 1920)
    assert camera.dtype == np.uint8
    assert camera.exposure_time_us == 10_000
    assert camera.seed == 0
    assert camera.realtime is False


# -- radial_sin ------------------------------------------------------------------------------


@pytest.mark.parametrize("pixel_type", PIXEL_TYPES)
def test_radial_sin_spans_the_type_range(pixel_type: str) -> None:
    camera = SimulatedCamera(shape=(256, 256), pixel_type=pixel_type)
    data = camera.grab().data
    low, high = type_range(camera.dtype)
    tolerance = 0.01 * (high - low)
    assert low <= data.min() <= low + tolerance
    assert high - tolerance <= data.max() <= high


@pytest.mark.parametrize("pixel_type", ["uint8", "int8", "uint16", "int16"])
def test_radial_sin_integers_are_the_rounded_float_pattern(pixel_type: str) -> None:
    # Same rings, scaled: the integer frame must be the float32 frame mapped onto the
    # type's range and rounded to the nearest integer (not truncated).
    shape = (64, 48)
    reference = SimulatedCamera(shape=shape, pixel_type="float32").grab().data.astype(np.float64)
    data = SimulatedCamera(shape=shape, pixel_type=pixel_type).grab().data
    low, high = type_range(np.dtype(pixel_type))
    expected = low + reference * (high - low)
    # float32 carries ~1e-7 relative error, i.e. ~0.01 of a uint16 step.
    assert np.abs(data - expected).max() <= 0.5 + 0.01


@pytest.mark.parametrize("shape", [(24, 10), (25, 11), (8, 9)])
def test_radial_sin_rings_are_centred(shape: tuple[int, int]) -> None:
    data = SimulatedCamera(shape=shape, pixel_type="uint16").grab().data
    np.testing.assert_array_equal(data, data[::-1, :])
    np.testing.assert_array_equal(data, data[:, ::-1])


def test_radial_sin_is_radial_on_a_square_frame() -> None:
    data = SimulatedCamera(shape=(33, 33), pixel_type="float32").grab().data
    np.testing.assert_array_equal(data, data.T)
    assert len(np.unique(data)) > 10  # not a constant image


def test_radial_sin_consecutive_frames_differ() -> None:
    frames = [f.data for f in SimulatedCamera(shape=(64, 48)).frames(5)]
    for before, after in itertools.pairwise(frames):
        assert not np.array_equal(before, after)


def test_radial_sin_is_reproducible() -> None:
    first = [f.data for f in SimulatedCamera(shape=SMALL).frames(3)]
    second = [f.data for f in SimulatedCamera(shape=SMALL).frames(3)]
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_radial_sin_phase_follows_simulated_time() -> None:
    # Frame 2 at 5 ms per frame is 10 ms into the run, like frame 1 at 10 ms per frame.
    fast = list(SimulatedCamera(shape=SMALL, exposure_time_us=5_000).frames(3))[2]
    slow = list(SimulatedCamera(shape=SMALL, exposure_time_us=10_000).frames(2))[1]
    assert fast.timestamp_us == slow.timestamp_us
    np.testing.assert_array_equal(fast.data, slow.data)


# -- uniform_random and empty ------------------------------------------------------------


def test_uniform_random_is_reproducible_by_seed() -> None:
    first = [f.data for f in SimulatedCamera("uniform_random", shape=SMALL, seed=7).frames(3)]
    second = [f.data for f in SimulatedCamera("uniform_random", shape=SMALL, seed=7).frames(3)]
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_uniform_random_differs_between_seeds_and_frames() -> None:
    seed_1 = [f.data for f in SimulatedCamera("uniform_random", shape=SMALL, seed=1).frames(2)]
    seed_2 = SimulatedCamera("uniform_random", shape=SMALL, seed=2).grab().data
    assert not np.array_equal(seed_1[0], seed_2)
    assert not np.array_equal(seed_1[0], seed_1[1])


@pytest.mark.parametrize("pixel_type", PIXEL_TYPES)
def test_uniform_random_spans_the_type_range(pixel_type: str) -> None:
    data = SimulatedCamera("uniform_random", shape=(128, 128), pixel_type=pixel_type).grab().data
    low, high = type_range(np.dtype(pixel_type))
    tolerance = 0.01 * (high - low)
    assert low <= data.min() <= low + tolerance
    assert high - tolerance <= data.max() <= high
    if pixel_type == "float32":
        assert data.max() < 1.0  # Generator.random draws from [0, 1)


@pytest.mark.parametrize("pixel_type", PIXEL_TYPES)
def test_empty_is_zeros(pixel_type: str) -> None:
    for frame in SimulatedCamera("empty", shape=SMALL, pixel_type=pixel_type).frames(2):
        assert frame.data.dtype == np.dtype(pixel_type)
        assert not frame.data.any()


@pytest.mark.parametrize("pattern", PATTERNS)
def test_frames_do_not_share_memory(pattern: str) -> None:
    # The radial pattern is computed in a reused scratch buffer; what is delivered must
    # not be a view of it, or a writer holding on to frames would see them change.
    camera = SimulatedCamera(pattern, shape=SMALL)
    first, second = camera.frames(2)
    kept = first.data.copy()
    assert not np.shares_memory(first.data, second.data)
    third = camera.grab()
    np.testing.assert_array_equal(first.data, kept)
    assert not np.shares_memory(first.data, third.data)


# -- frame ids, timestamps, reset -------------------------------------------------------


def test_frame_ids_and_timestamps() -> None:
    camera = SimulatedCamera(shape=SMALL, exposure_time_us=2_500)
    frames = list(camera.frames(4))
    assert [f.frame_id for f in frames] == [0, 1, 2, 3]
    assert [f.timestamp_us for f in frames] == [0, 2_500, 5_000, 7_500]
    assert all(isinstance(f, Frame) for f in frames)


def test_frame_ids_continue_across_calls_and_grab() -> None:
    camera = SimulatedCamera(shape=SMALL)
    assert [f.frame_id for f in camera.frames(2)] == [0, 1]
    assert camera.grab().frame_id == 2
    assert [f.frame_id for f in camera.frames(3)] == [3, 4, 5]
    assert camera.next_frame_id == 6


def test_frames_are_made_as_they_are_consumed() -> None:
    camera = SimulatedCamera(shape=SMALL)
    stream = camera.frames(10)
    assert camera.next_frame_id == 0  # nothing made before the first next()
    next(stream)
    next(stream)
    assert camera.next_frame_id == 2
    assert camera.grab().frame_id == 2


def test_frames_zero_yields_nothing() -> None:
    camera = SimulatedCamera(shape=SMALL)
    assert list(camera.frames(0)) == []
    assert camera.grab().frame_id == 0


@pytest.mark.parametrize("pattern", PATTERNS)
def test_reset_replays_the_same_frames(pattern: str) -> None:
    camera = SimulatedCamera(pattern, shape=SMALL, pixel_type="int16")
    before = list(camera.frames(3))
    camera.reset()
    after = list(camera.frames(3))
    assert [f.frame_id for f in after] == [0, 1, 2]
    assert [f.timestamp_us for f in after] == [f.timestamp_us for f in before]
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_whole_float_exposure_gives_integer_timestamps() -> None:
    # Acquire's settings are floats: 5e4 means 50 ms.
    camera = SimulatedCamera(shape=SMALL, exposure_time_us=5e4)
    assert camera.exposure_time_us == 50_000
    assert isinstance(camera.exposure_time_us, int)
    assert [f.timestamp_us for f in camera.frames(3)] == [0, 50_000, 100_000]


def test_fractional_exposure_is_kept() -> None:
    camera = SimulatedCamera(shape=SMALL, exposure_time_us=2.5)
    assert [f.timestamp_us for f in camera.frames(3)] == [0.0, 2.5, 5.0]


def test_frame_is_frozen_and_has_a_short_repr() -> None:
    frame = SimulatedCamera(shape=SMALL, pixel_type="uint16").grab()
    with pytest.raises(dataclasses.FrozenInstanceError):
        frame.frame_id = 3  # type: ignore[misc]
    assert repr(frame) == "Frame(frame_id=0, timestamp_us=0, data=<uint16 array of shape (10, 24)>)"


def test_repr_recreates_the_camera() -> None:
    camera = SimulatedCamera(
        "uniform_random", shape=SMALL, pixel_type=np.int8, exposure_time_us=20, seed=3
    )
    text = repr(camera)
    assert "uniform_random" in text and "int8" in text and "(24, 10)" in text
    clone = eval(text, {"SimulatedCamera": SimulatedCamera})
    assert repr(clone) == text
    np.testing.assert_array_equal(clone.grab().data, camera.grab().data)


# -- real time -----------------------------------------------------------------------------


def test_realtime_takes_at_least_the_exposure_per_frame() -> None:
    n, exposure_us = 4, 5_000
    camera = SimulatedCamera(shape=(8, 4), exposure_time_us=exposure_us, realtime=True)
    start = time.perf_counter()
    frames = list(camera.frames(n))
    elapsed = time.perf_counter() - start
    assert len(frames) == n
    assert elapsed >= n * exposure_us / 1e6
    # Simulated time is unaffected by pacing.
    assert [f.timestamp_us for f in frames] == [i * exposure_us for i in range(n)]


def test_not_realtime_never_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"slept {seconds} s")

    monkeypatch.setattr(camera_module.time, "sleep", no_sleep)
    camera = SimulatedCamera(shape=(8, 4), exposure_time_us=1_000_000)
    assert len(list(camera.frames(3))) == 3


# -- bad settings --------------------------------------------------------------------------


# Each message must name the setting, repeat the bad value and say what is accepted,
# as name=value: a wrong type is a TypeError, a wrong value of the right type a ValueError.
SHAPE_ACCEPTED = r"must be a \(width, height\) pair of integers >= 1, e\.g\. \(1920, 1080\)"
PATTERNS_ACCEPTED = r"must be one of \['radial_sin', 'uniform_random', 'empty'\]"
PIXEL_TYPES_ACCEPTED = r"must be one of \['uint8', 'int8', 'uint16', 'int16', 'float32'\]"
EXPOSURE_ACCEPTED = r"must be a finite number of microseconds >= 0"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"pattern": "radial sin"}, ValueError, r"pattern='radial sin' " + PATTERNS_ACCEPTED),
        ({"pattern": 3}, TypeError, r"pattern=3 " + PATTERNS_ACCEPTED),
        ({"pattern": None}, TypeError, r"pattern=None " + PATTERNS_ACCEPTED),
        ({"shape": (0, 10)}, ValueError, r"shape=\(0, 10\) " + SHAPE_ACCEPTED),
        ({"shape": (10, -4)}, ValueError, r"shape=\(10, -4\) " + SHAPE_ACCEPTED),
        ({"shape": (10.5, 4)}, TypeError, r"shape=\(10\.5, 4\) " + SHAPE_ACCEPTED),
        ({"shape": (10, 4.0)}, TypeError, r"shape=\(10, 4\.0\) " + SHAPE_ACCEPTED),
        ({"shape": (True, 4)}, TypeError, r"shape=\(True, 4\) " + SHAPE_ACCEPTED),
        ({"shape": (10, 4, 3)}, ValueError, r"shape=\(10, 4, 3\) " + SHAPE_ACCEPTED),
        ({"shape": (10,)}, ValueError, r"shape=\(10,\) " + SHAPE_ACCEPTED),
        ({"shape": ()}, ValueError, r"shape=\(\) " + SHAPE_ACCEPTED),
        ({"shape": 10}, TypeError, r"shape=10 " + SHAPE_ACCEPTED),
        ({"shape": "10x4"}, TypeError, r"shape='10x4' " + SHAPE_ACCEPTED),
        ({"pixel_type": "uint32"}, ValueError, r"pixel_type='uint32' " + PIXEL_TYPES_ACCEPTED),
        ({"pixel_type": np.float64}, ValueError, r"pixel_type=<class 'numpy\.float64'> must"),
        ({"pixel_type": ">u2"}, ValueError, r"pixel_type='>u2' " + PIXEL_TYPES_ACCEPTED),
        ({"pixel_type": "u8bit"}, ValueError, r"pixel_type='u8bit' " + PIXEL_TYPES_ACCEPTED),
        ({"pixel_type": object()}, TypeError, r"pixel_type=<object object at .*> must be one"),
        ({"exposure_time_us": -1}, ValueError, r"exposure_time_us=-1 " + EXPOSURE_ACCEPTED),
        ({"exposure_time_us": math.nan}, ValueError, r"exposure_time_us=nan " + EXPOSURE_ACCEPTED),
        ({"exposure_time_us": math.inf}, ValueError, r"exposure_time_us=inf " + EXPOSURE_ACCEPTED),
        ({"exposure_time_us": "10ms"}, TypeError, r"exposure_time_us='10ms' " + EXPOSURE_ACCEPTED),
        ({"exposure_time_us": True}, TypeError, r"exposure_time_us=True " + EXPOSURE_ACCEPTED),
        ({"seed": -1}, ValueError, r"seed=-1 must be an integer >= 0"),
        ({"seed": 1.5}, TypeError, r"seed=1\.5 must be an integer >= 0"),
        ({"seed": None}, TypeError, r"seed=None must be an integer >= 0"),
        ({"seed": True}, TypeError, r"seed=True must be an integer >= 0, not a bool"),
        ({"realtime": "yes"}, TypeError, r"realtime='yes' must be True or False"),
        ({"realtime": 1}, TypeError, r"realtime=1 must be True or False"),
    ],
)
def test_bad_settings_raise_naming_the_setting(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    settings_ = {"shape": SMALL, **kwargs}
    pattern = settings_.pop("pattern", "radial_sin")
    with pytest.raises(error, match=match):
        SimulatedCamera(pattern, **settings_)


def test_pixel_type_none_is_a_wrong_type() -> None:
    # It used to be a ValueError; None is not a dtype (numpy would read it as float64).
    with pytest.raises(TypeError, match=r"pixel_type=None " + PIXEL_TYPES_ACCEPTED):
        SimulatedCamera(shape=SMALL, pixel_type=None)


@pytest.mark.parametrize("shape", [{8, 4}, iter((8, 4)), {"width": 8, "height": 4}])
def test_shape_must_be_an_ordered_pair(shape: Any) -> None:
    # Any iterable used to be accepted, a set included, whose order (which number is the
    # width?) is arbitrary.
    with pytest.raises(TypeError, match=r"shape=.* " + SHAPE_ACCEPTED):
        SimulatedCamera(shape=shape)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_a_shape_that_cannot_fit_in_memory_is_refused_before_any_allocation(
    pattern: str,
) -> None:
    # "empty" used to accept it (and fail at the first frame), "radial_sin" raised a
    # MemoryError while building its buffers.
    huge = (2**40, 2**40)
    with pytest.raises(ValueError, match=r"frames of shape=\(1099511627776, 1099511627776\) "
                       r"\(uint8\) and the camera's buffers need .* GiB .*use a smaller shape"):
        SimulatedCamera(pattern, shape=huge)


def test_an_integer_exposure_is_kept_exactly() -> None:
    # It used to go through a float, which rounds integers above 2**53.
    exposure = 2**53 + 1
    camera = SimulatedCamera("empty", shape=SMALL, exposure_time_us=exposure)
    assert camera.exposure_time_us == exposure
    assert [f.timestamp_us for f in camera.frames(2)] == [0, exposure]


def test_numpy_strings_are_accepted_as_the_pattern() -> None:
    camera = SimulatedCamera(np.str_("empty"), shape=SMALL)
    assert camera.pattern == "empty" and type(camera.pattern) is str


@pytest.mark.parametrize(
    ("n", "error", "match"),
    [
        (-1, ValueError, r"n=-1 must be a number of frames, an integer >= 0"),
        (2.0, TypeError, r"n=2\.0 must be a number of frames, an integer >= 0"),
        (None, TypeError, r"n=None must be a number of frames, an integer >= 0"),
        (True, TypeError, r"n=True must be a number of frames, an integer >= 0, not a bool"),
    ],
)
def test_bad_frame_count_raises_at_the_call(n: Any, error: type[Exception], match: str) -> None:
    camera = SimulatedCamera(shape=SMALL)
    with pytest.raises(error, match=match):
        camera.frames(n)  # raises before any iteration
    assert camera.next_frame_id == 0


def test_numpy_integers_are_accepted() -> None:
    camera = SimulatedCamera(
        shape=(np.int64(8), np.int32(4)), exposure_time_us=np.int64(10), seed=np.uint8(3)
    )
    assert camera.shape == (8, 4) and type(camera.shape[0]) is int
    assert len(list(camera.frames(np.int64(2)))) == 2


# -- properties over many settings -------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    pattern=st.sampled_from(PATTERNS),
    width=st.integers(1, 40),
    height=st.integers(1, 40),
    pixel_type=st.sampled_from(PIXEL_TYPES),
    frame_id=st.integers(0, 3),
)
def test_any_setting_gives_frames_of_the_right_kind(
    pattern: str, width: int, height: int, pixel_type: str, frame_id: int
) -> None:
    camera = SimulatedCamera(pattern, shape=(width, height), pixel_type=pixel_type, seed=5)
    frame = list(camera.frames(frame_id + 1))[-1]
    low, high = type_range(camera.dtype)
    assert frame.data.shape == (height, width)
    assert frame.data.dtype == camera.dtype
    assert frame.frame_id == frame_id
    assert frame.timestamp_us == frame_id * camera.exposure_time_us
    assert low <= frame.data.min() and frame.data.max() <= high
    if pattern == "radial_sin":
        np.testing.assert_array_equal(frame.data, frame.data[::-1, ::-1])
