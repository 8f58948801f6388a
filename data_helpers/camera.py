"""A simulated microscope camera that produces frames on demand.

The camera stands in for real hardware (and for Acquire's simulated cameras) so that
the chapters and the streaming writer can be run anywhere, reproducibly. It makes
three patterns:

``"radial_sin"``
    Concentric sine rings around the centre of the frame. Their phase moves with the
    simulated time, so the rings drift outwards and consecutive frames differ.
``"uniform_random"``
    Uniform noise over the whole range of the pixel type, seeded: the same seed gives
    the same frames.
``"empty"``
    All zeros.

Time is simulated: frame ``i`` is stamped ``i * exposure_time_us``, which makes every
run reproducible. With ``realtime=True`` the camera also waits, so that frames arrive
no faster than one per exposure time, as they would from hardware.

Examples
--------
>>> camera = SimulatedCamera(shape=(8, 4), pixel_type="uint16")
>>> [(f.frame_id, f.timestamp_us, f.data.shape) for f in camera.frames(2)]
[(0, 0, (4, 8)), (1, 10000, (4, 8))]
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

# PIXEL_TYPES, the pixel types a camera can produce by numpy name, is the package's one
# list (the writer stores the same ones); it stays importable from here.
from data_helpers._checks import (
    PIXEL_TYPES,
    as_bool,
    as_choice,
    as_dtype,
    as_float,
    as_int,
    as_ints,
    check_fits_in_memory,
)

__all__ = ["PATTERNS", "PIXEL_TYPES", "Frame", "SimulatedCamera"]

#: The patterns a :class:`SimulatedCamera` can produce.
PATTERNS: tuple[str, ...] = ("radial_sin", "uniform_random", "empty")

# Distance in pixels between two bright rings. A fixed size in pixels (rather than a
# fraction of the frame) behaves like a real specimen: a larger sensor sees more rings.
_RING_WAVELENGTH_PX = 32.0
_WAVENUMBER = 2.0 * math.pi / _RING_WAVELENGTH_PX

# How fast the rings move: 10 rad per simulated second, i.e. 0.1 rad (half a pixel)
# per frame at the default 10 ms exposure. The rate is deliberately not a rational
# multiple of 2*pi per second, so exposures of whole seconds still give frames that differ.
_PHASE_RAD_PER_US = 10.0 / 1_000_000


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One image delivered by a :class:`SimulatedCamera`.

    Parameters
    ----------
    data : numpy.ndarray
        The pixels, shape ``(height, width)``. Each frame owns its array: changing it
        does not affect other frames or the camera.
    frame_id : int
        Position of the frame in the camera's stream: 0, 1, 2, ...
    timestamp_us : int or float
        Simulated time of the frame in microseconds, ``frame_id * exposure_time_us``.

    Notes
    -----
    Frames compare by identity (``eq=False``): comparing the arrays element-wise is
    the caller's choice, e.g. ``numpy.array_equal(a.data, b.data)``.

    Examples
    --------
    >>> frame = SimulatedCamera("empty", shape=(8, 4)).grab()
    >>> frame
    Frame(frame_id=0, timestamp_us=0, data=<uint8 array of shape (4, 8)>)
    >>> int(frame.data.sum())
    0
    """

    data: npt.NDArray[Any]
    frame_id: int
    timestamp_us: float

    def __repr__(self) -> str:
        # The default dataclass repr would print the pixels, which is rarely wanted.
        return (
            f"Frame(frame_id={self.frame_id}, timestamp_us={self.timestamp_us}, "
            f"data=<{self.data.dtype} array of shape {self.data.shape}>)"
        )


class SimulatedCamera:
    """A camera that makes synthetic frames, like Acquire's simulated cameras.

    Parameters
    ----------
    pattern : {"radial_sin", "uniform_random", "empty"}, default "radial_sin"
        What the frames show: moving concentric sine rings, seeded uniform noise, or
        zeros.
    shape : tuple of int, default (1920, 1080)
        Frame size as ``(width, height)``, the order Acquire uses. The arrays delivered
        have the numpy order ``(height, width)``, see :attr:`frame_shape`.
    pixel_type : str, numpy.dtype or type, default "uint8"
        One of `PIXEL_TYPES`: ``"uint8"``, ``"int8"``, ``"uint16"``, ``"int16"``,
        ``"float32"``. Patterns span the whole range of integer types and 0..1 for
        ``float32``.
    exposure_time_us : int or float, default 10_000
        Exposure time in microseconds (a finite number >= 0). It sets the simulated
        time between frames and, with ``realtime=True``, the real time between them.
    seed : int, default 0
        Seed (>= 0) of the ``"uniform_random"`` pattern.
    realtime : bool, default False
        If true, wait so that frames arrive no faster than one per exposure time.

    Raises
    ------
    TypeError
        If a setting has the wrong type (e.g. a non-integer size or seed, a float or a
        bool as a size, None as the pixel type).
    ValueError
        If a setting has a value outside what is accepted (e.g. a zero size, an unknown
        pattern or pixel type, a negative or NaN exposure time, a negative seed), or if
        a frame of this shape and the camera's buffers cannot fit in memory.

    Notes
    -----
    Frame ``i`` depends only on the settings and ``i``, never on what was requested
    before, so :meth:`reset` replays exactly the same frames. A camera is meant to be
    used from one thread at a time.

    Examples
    --------
    >>> camera = SimulatedCamera(shape=(8, 4), pixel_type="int16", exposure_time_us=500)
    >>> camera
    SimulatedCamera(pattern='radial_sin', shape=(8, 4), pixel_type='int16',
                    exposure_time_us=500, seed=0, realtime=False)
    >>> camera.frame_shape, camera.dtype, camera.frame_bytes
    ((4, 8), dtype('int16'), 64)
    >>> [frame.timestamp_us for frame in camera.frames(3)]
    [0, 500, 1000]
    """

    def __init__(
        self,
        pattern: str = "radial_sin",
        *,
        shape: tuple[int, int] = (1920, 1080),
        pixel_type: npt.DTypeLike = "uint8",
        exposure_time_us: float = 10_000,
        seed: int = 0,
        realtime: bool = False,
    ) -> None:
        self._pattern = as_choice("pattern", pattern, PATTERNS)
        width, height = as_ints(
            "shape", shape, 2, minimum=1,
            accepted="a (width, height) pair of integers >= 1, e.g. (1920, 1080)",
        )
        self._shape = (width, height)
        self._dtype = _pixel_dtype(pixel_type)
        self._exposure_time_us = _exposure(exposure_time_us)
        self._seed = as_int("seed", seed, minimum=0)
        self._realtime = as_bool("realtime", realtime)

        # The rings are symmetric about the centre, so only the top-left quadrant
        # (middle row/column included when a size is odd) is computed; the other three
        # are mirror copies. That quarters the work of the expensive sin().
        self._quadrant = ((height + 1) // 2, (width + 1) // 2)
        # Refuse a shape that cannot fit before allocating anything: one frame, and for
        # the rings k*r over the quadrant (made with two float64 temporaries, then kept
        # in float32 beside a float32 scratch buffer).
        needed = width * height * self._dtype.itemsize
        if self._pattern == "radial_sin":
            needed += 16 * self._quadrant[0] * self._quadrant[1]
        check_fits_in_memory(
            f"frames of shape={self._shape!r} ({self._dtype.name}) and the camera's buffers",
            needed, "use a smaller shape",
        )
        self._kr: npt.NDArray[np.float32] | None = None
        self._scratch: npt.NDArray[np.float32] | None = None
        if self._pattern == "radial_sin":
            self._kr = _wavenumber_times_radius(width, height, self._quadrant)
            # Reused for every frame: allocating it anew would touch fresh pages each time.
            self._scratch = np.empty_like(self._kr)

        self._next_frame_id = 0
        # perf_counter() time when the previous frame was due; -inf: no frame yet.
        self._last_due = -math.inf

    # -- settings --------------------------------------------------------------------

    @property
    def pattern(self) -> str:
        """The pattern name, e.g. ``"radial_sin"``."""
        return self._pattern

    @property
    def shape(self) -> tuple[int, int]:
        """Frame size as ``(width, height)``, as given to the constructor."""
        return self._shape

    @property
    def pixel_type(self) -> str:
        """The numpy name of the pixel type, e.g. ``"uint16"``."""
        return self._dtype.name

    @property
    def exposure_time_us(self) -> float:
        """Exposure time in microseconds (an ``int`` when it is a whole number)."""
        return self._exposure_time_us

    @property
    def seed(self) -> int:
        """Seed of the ``"uniform_random"`` pattern."""
        return self._seed

    @property
    def realtime(self) -> bool:
        """Whether the camera waits the exposure time between frames."""
        return self._realtime

    @property
    def frame_shape(self) -> tuple[int, int]:
        """Shape of the frame arrays, ``(height, width)``.

        Examples
        --------
        >>> SimulatedCamera(shape=(8, 4)).frame_shape
        (4, 8)
        """
        width, height = self._shape
        return (height, width)

    @property
    def dtype(self) -> np.dtype[Any]:
        """The numpy dtype of the frame arrays.

        Examples
        --------
        >>> SimulatedCamera(shape=(8, 4), pixel_type=np.uint16).dtype
        dtype('uint16')
        """
        return self._dtype

    @property
    def frame_bytes(self) -> int:
        """Size of one frame in bytes.

        Examples
        --------
        >>> SimulatedCamera(shape=(1920, 1080), pixel_type="uint16").frame_bytes
        4147200
        """
        width, height = self._shape
        return width * height * self._dtype.itemsize

    @property
    def next_frame_id(self) -> int:
        """The ``frame_id`` the next frame will have.

        Examples
        --------
        >>> camera = SimulatedCamera(shape=(8, 4))
        >>> _ = camera.grab()
        >>> camera.next_frame_id
        1
        """
        return self._next_frame_id

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(pattern={self._pattern!r}, shape={self._shape!r}, "
            f"pixel_type={self._dtype.name!r}, exposure_time_us={self._exposure_time_us!r}, "
            f"seed={self._seed!r}, realtime={self._realtime!r})"
        )

    # -- acquisition -----------------------------------------------------------------

    def frames(self, n: int) -> Iterator[Frame]:
        """Yield the next ``n`` frames.

        Frame ids continue from the previous call (or from 0 after :meth:`reset`).
        Frames are made as they are consumed: a generator stopped early leaves the
        camera at the first frame it did not yield.

        Parameters
        ----------
        n : int
            Number of frames (>= 0).

        Yields
        ------
        Frame
            The frames, in order.

        Raises
        ------
        TypeError
            If `n` is not an integer (a float or a bool included).
        ValueError
            If `n` is negative.

        Examples
        --------
        >>> camera = SimulatedCamera("uniform_random", shape=(8, 4), exposure_time_us=5)
        >>> [frame.frame_id for frame in camera.frames(2)]
        [0, 1]
        >>> [frame.timestamp_us for frame in camera.frames(2)]
        [10, 15]
        """
        # Checked here, not inside the generator, so a bad n fails at the call and not
        # at the first next().
        count = as_int("n", n, minimum=0, accepted="a number of frames, an integer >= 0")
        return self._generate(count)

    def grab(self) -> Frame:
        """Acquire one frame.

        Returns
        -------
        Frame
            The next frame of the stream.

        Examples
        --------
        >>> camera = SimulatedCamera(shape=(8, 4), pixel_type="float32")
        >>> frame = camera.grab()
        >>> frame.frame_id, frame.data.dtype
        (0, dtype('float32'))
        >>> bool(0.0 <= frame.data.min() <= frame.data.max() <= 1.0)
        True
        """
        return self._next_frame()

    def reset(self) -> None:
        """Restart the stream at frame 0 (and simulated time 0).

        Examples
        --------
        >>> camera = SimulatedCamera(shape=(8, 4))
        >>> first = camera.grab()
        >>> camera.reset()
        >>> again = camera.grab()
        >>> again.frame_id, bool((again.data == first.data).all())
        (0, True)
        """
        self._next_frame_id = 0
        self._last_due = -math.inf

    def _generate(self, count: int) -> Iterator[Frame]:
        for _ in range(count):
            yield self._next_frame()

    def _next_frame(self) -> Frame:
        requested = time.perf_counter()
        frame_id = self._next_frame_id
        timestamp_us = frame_id * self._exposure_time_us
        data = self._render(frame_id, timestamp_us)
        self._next_frame_id = frame_id + 1
        if self._realtime:
            self._wait_for_exposure(requested)
        return Frame(data=data, frame_id=frame_id, timestamp_us=timestamp_us)

    def _wait_for_exposure(self, requested: float) -> None:
        # An exposure starts when the frame is asked for, or when the previous exposure
        # ended if the caller is ahead of the camera. Due times then form a fixed grid
        # (no drift from sleep overshoot) while consecutive frames stay at least one
        # exposure apart. Making the frame counts as exposure: sleep only what remains.
        due = max(requested, self._last_due) + self._exposure_time_us / 1_000_000
        while (remaining := due - time.perf_counter()) > 0:
            time.sleep(remaining)
        self._last_due = due

    # -- patterns --------------------------------------------------------------------

    def _render(self, frame_id: int, timestamp_us: float) -> npt.NDArray[Any]:
        if self._pattern == "radial_sin":
            return self._radial_sin(timestamp_us)
        if self._pattern == "uniform_random":
            return self._uniform_random(frame_id)
        return np.zeros(self.frame_shape, dtype=self._dtype)

    def _radial_sin(self, timestamp_us: float) -> npt.NDArray[Any]:
        assert self._kr is not None and self._scratch is not None
        # Reduce the phase in float64 first: float32 would lose the fraction of a
        # radian after a long simulated time.
        phase = (timestamp_us * _PHASE_RAD_PER_US) % (2.0 * math.pi)
        q = self._scratch
        # All in place on float32 (Python floats do not promote under NumPy 2), so no
        # float64 temporaries are made.
        np.subtract(self._kr, phase, out=q)
        np.sin(q, out=q)
        if self._dtype.kind == "f":
            low, high = 0.0, 1.0
        else:
            info = np.iinfo(self._dtype)
            low, high = float(info.min), float(info.max)
        # Map sin's -1..1 linearly onto low..high.
        np.multiply(q, (high - low) / 2, out=q)
        np.add(q, (high + low) / 2, out=q)
        if self._dtype.kind != "f":
            # Round half to even, then clip: a casting float -> int truncates and wraps.
            np.rint(q, out=q)
        np.clip(q, low, high, out=q)

        height, width = self.frame_shape
        qh, qw = self._quadrant
        out = np.empty((height, width), dtype=self._dtype)
        out[:qh, :qw] = q
        # Mirror the quadrant into the other three; for an odd size the middle row or
        # column is written twice with the same values.
        out[:qh, width - qw :] = out[:qh, :qw][:, ::-1]
        out[height - qh :, :] = out[:qh, :][::-1, :]
        return out

    def _uniform_random(self, frame_id: int) -> npt.NDArray[Any]:
        # One generator per frame, seeded by (seed, frame_id): frame i is the same
        # whatever was generated before it, so reset() and a fresh camera agree.
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([self._seed, frame_id])))
        if self._dtype.kind == "f":
            return rng.random(self.frame_shape, dtype=np.float32)
        info = np.iinfo(self._dtype)
        return rng.integers(
            info.min, info.max, size=self.frame_shape, dtype=self._dtype, endpoint=True
        )


def _wavenumber_times_radius(
    width: int, height: int, quadrant: tuple[int, int]
) -> npt.NDArray[np.float32]:
    """``k * r`` over the top-left quadrant, r measured from the frame's centre."""
    qh, qw = quadrant
    # The centre sits between pixels when a size is even, so the pattern is exactly
    # symmetric and the mirroring in _radial_sin is exact.
    dy = np.arange(qh, dtype=np.float64) - (height - 1) / 2
    dx = np.arange(qw, dtype=np.float64) - (width - 1) / 2
    # float64 once, at construction, for accurate radii; stored as float32 for speed.
    return (np.hypot(dy[:, None], dx[None, :]) * _WAVENUMBER).astype(np.float32)


# -- validation ------------------------------------------------------------------------


def _pixel_dtype(pixel_type: object) -> np.dtype[Any]:
    """``pixel_type`` as one of the dtypes of `PIXEL_TYPES`."""
    return as_dtype("pixel_type", pixel_type, names=PIXEL_TYPES)


def _exposure(exposure_time_us: object) -> float:
    """The exposure time, a finite number of microseconds >= 0, whole numbers as int."""
    value = as_float(
        "exposure_time_us", exposure_time_us, minimum=0,
        accepted="a finite number of microseconds >= 0",
    )
    # Whole numbers stay int (including 5e4, as Acquire's float settings give) so that
    # timestamps are exact integers; an int given is kept as it is, not rounded through
    # a float.
    if isinstance(exposure_time_us, numbers.Integral):
        return int(exposure_time_us)
    return int(value) if value.is_integer() else value
