"""Downsampling kernels: the only place in the package that reduces blocks of pixels.

Every axis is cut into windows ``[p*f, (p+1)*f)`` starting at the origin, so an axis of
length ``n`` becomes ``ceil(n / f)`` pixels long. When ``f`` does not divide ``n``, the
last window is shorter: it reduces only the pixels that exist. Nothing is padded, so a
constant image stays constant everywhere, its edges included.

How it works: along one axis, the partial window at the far edge is just a *full* window
with a smaller factor (the remainder ``n % f``). Cutting the array at ``n - n % f`` on
every axis therefore splits it into at most ``2**ndim`` regions, each of which is tiled
exactly by equal windows. Within a region, the pixels at one offset of every window form
a strided view as large as the output, so a window reduction is a handful of whole-array
operations (one per offset), with no Python loop over pixels.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from data_helpers._checks import as_int, as_ints, one_of

__all__ = ["METHODS", "Method", "downsample", "downsampled_shape", "normalize_factors"]

#: The type of a downsampling ``method``, one of the keys of `METHODS`.
Method = Literal["mean", "nearest", "mode", "min", "max"]

#: The downsampling methods and what each is for.
METHODS: dict[str, str] = {
    "mean": "average of the window, for intensities (integers rounded half to even)",
    "nearest": "the window's first pixel, for labels when speed matters",
    "mode": "the most frequent value (the smallest on a tie, NaN last), for label images",
    "min": "the smallest value of the window (NaN if it holds one)",
    "max": "the largest value of the window (NaN if it holds one), e.g. for thin bright lines",
}


def normalize_factors(factors: int | Sequence[int], ndim: int) -> tuple[int, ...]:
    """Return one integer factor per axis, validated.

    Parameters
    ----------
    factors
        One int for every axis, or a sequence with one int per axis. Each must be >= 1.
    ndim
        The number of axes of the array the factors apply to.

    Examples
    --------
    >>> normalize_factors(2, 3)
    (2, 2, 2)
    >>> normalize_factors((1, 2, 2), 3)
    (1, 2, 2)
    """
    accepted = f"an integer >= 1, or one per axis of the array ({ndim})"
    if isinstance(factors, Sequence | np.ndarray):
        return as_ints("factors", factors, ndim, minimum=1, accepted=accepted)
    return (as_int("factors", factors, minimum=1, accepted=accepted),) * ndim


def downsampled_shape(shape: Sequence[int], factors: int | Sequence[int]) -> tuple[int, ...]:
    """Return the shape that `downsample` gives: ``ceil(n / f)`` on every axis.

    Examples
    --------
    >>> downsampled_shape((1080, 1920), 2)
    (540, 960)
    >>> downsampled_shape((5, 7), (2, 3))
    (3, 3)
    """
    per_axis = normalize_factors(factors, len(shape))
    return tuple(math.ceil(n / f) for n, f in zip(shape, per_axis, strict=True))


def downsample(
    array: ArrayLike, factors: int | Sequence[int], method: Method = "mean"
) -> NDArray[Any]:
    """Reduce every window of ``factors`` pixels to one pixel.

    Parameters
    ----------
    array
        Any array-like with at least one axis (numpy, zarr, dask: it is read into memory).
    factors
        The window size: one int for every axis, or one int per axis (1 leaves an axis
        alone). Windows start at the origin; an axis of length ``n`` becomes
        ``ceil(n / f)`` long and the last window may be partial.
    method
        ``"mean"``, ``"nearest"`` (the first pixel of each window), ``"mode"`` (the most
        frequent value, the smallest on a tie), ``"min"`` or ``"max"``. See `METHODS`.

        With floats, NaN is a value like any other for ``"mode"``: all NaNs (whatever
        their sign or payload) are one value, which wins when it is the most frequent
        and sorts after every number on a tie, as numpy sorts; ``-0.0`` and ``0.0`` are
        one value too. ``"min"`` and ``"max"`` propagate NaN, as `numpy.minimum` and
        `numpy.maximum` do: a window holding a NaN gives NaN. ``"nearest"`` keeps the
        first pixel, NaN or not.

    Returns
    -------
    numpy.ndarray
        The downsampled array, with the same dtype as the input. Integer means are
        computed exactly, without overflow, and rounded half to even. Float means never
        overflow, lie within each window's minimum and maximum, and are exact for a
        constant window (any finite value, bit for bit); float16 and float32 are summed
        in float64, float64 relative to each window's first pixel. A window holding a
        NaN, or infinities of both signs, averages to NaN; one holding infinities of
        one sign, to that infinity.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[1, 2, 3, 4, 5],
    ...                   [3, 4, 5, 6, 7]], dtype=np.uint8)
    >>> downsample(image, 2)            # the last window holds only 3, 5 and 4, 6 -> 5, 7
    array([[2, 4, 6]], dtype=uint8)
    >>> downsample(image, (1, 2), method="max")
    array([[2, 4, 5],
           [4, 6, 7]], dtype=uint8)
    >>> downsample(np.array([1, 1, 2, 2, 2, 7], dtype=np.uint16), 3, method="mode")
    array([1, 2], dtype=uint16)
    >>> nan = np.nan
    >>> downsample(np.array([nan, 1, nan, nan, 2, nan, 2, nan]), 4, method="mode")
    array([nan,  2.])
    >>> downsample(np.array([nan, 1, 3, 4]), 2, method="max")
    array([nan,  4.])
    """
    one_of("method", method, METHODS)
    data = np.asarray(array)
    if data.ndim == 0:
        raise ValueError("array must have at least one axis, got a 0-d array (a scalar)")
    if data.dtype.kind not in "biuf":
        raise TypeError(
            f"array must hold booleans, integers or floats, got dtype {data.dtype}"
        )
    if method == "mean" and data.dtype.kind == "b":
        raise ValueError(
            "method='mean' needs numbers, but the array holds booleans; use 'mode' or 'max'"
        )
    per_axis = normalize_factors(factors, data.ndim)

    if method == "nearest":
        # The first pixel of every window, partial ones included, is a plain stride.
        return data[tuple(slice(None, None, f) for f in per_axis)].copy()

    out = np.empty(downsampled_shape(data.shape, per_axis), dtype=data.dtype)
    for region in _regions(data.shape, per_axis):
        src, dst, region_factors = zip(*region, strict=True)
        block = data[src]
        if block.size:
            out[dst] = _reduce_full_windows(block, region_factors, method)
    return out


def _regions(
    shape: Sequence[int], factors: Sequence[int]
) -> Iterator[tuple[tuple[slice, slice, int], ...]]:
    """Yield, per region, ``(source slice, output slice, factor)`` for every axis.

    Along each axis there is an interior part tiled by full windows and, when ``f``
    does not divide ``n``, an edge part that is one window of length ``n % f``.
    """
    per_axis = []
    for n, f in zip(shape, factors, strict=True):
        full = n // f
        parts = [(slice(0, full * f), slice(0, full), f)]
        if n % f:
            parts.append((slice(full * f, n), slice(full, full + 1), n % f))
        per_axis.append(parts)
    yield from itertools.product(*per_axis)


def _reduce_full_windows(block: NDArray[Any], factors: Sequence[int], method: str) -> NDArray[Any]:
    """Reduce a block whose every axis is a whole number of windows."""
    if method == "mode":
        return _mode(block, factors)
    if method == "mean" and block.dtype.kind in "iu":
        accumulator = _mean_accumulator(block.dtype, math.prod(factors))
        if accumulator is not object:
            return _integer_mean(block, factors, accumulator)
    # Combine the windows' pixels offset by offset: the pixels at offset (i, j, ...) of
    # every window form one strided view, as large as the output. Whole-array ufuncs on
    # those views are several times faster than reducing a reshaped (..., f, ..., f) array
    # and release the GIL, so threads can downsample in parallel.
    views = [
        block[tuple(slice(o, None, f) for o, f in zip(offsets, factors, strict=True))]
        for offsets in itertools.product(*(range(f) for f in factors))
    ]
    slabs = _slabs(views[0].shape)
    if len(slabs) == 1:
        return _combine(views, method)
    # Slab by slab, the accumulator and its temporaries stay in the CPU cache while
    # every view adds to them: about twice as fast as whole-array passes. Every output
    # pixel is computed by the same operations either way, so the result is the same.
    out = np.empty(views[0].shape, dtype=block.dtype)
    for slab in slabs:
        out[slab] = _combine([view[slab] for view in views], method)
    return out


def _integer_mean(block: NDArray[Any], factors: Sequence[int], accumulator: type) -> NDArray[Any]:
    """The integer mean of every window, its sum taken one axis at a time.

    Integer sums are exact in ``accumulator`` (`_mean_accumulator`), so summing the
    windows axis by axis (first the pairs along axis 0, then along axis 1 of those sums,
    ...) gives the very sums of `_combine`, with fewer and mostly contiguous additions:
    each axis halves (for a factor of 2) what the next one reads. Slab by slab, as in
    `_reduce_full_windows`, so that the partial sums stay in the CPU cache.
    """
    count = math.prod(factors)
    out_shape = tuple(n // f for n, f in zip(block.shape, factors, strict=True))
    slabs = _slabs(out_shape)
    if len(slabs) == 1:
        return _divide(_axis_sums(block, factors, accumulator), count, block.dtype)
    out = np.empty(out_shape, dtype=block.dtype)
    for slab in slabs:
        # A slab may leave out the last axes (whole): so may its source.
        source = tuple(
            slice(s * f, (s + 1) * f) if isinstance(s, int | np.integer)
            else slice(*(i * f for i in s.indices(n)[:2]))
            for s, f, n in zip(slab, factors, out_shape, strict=False)
        )
        total = _axis_sums(block[source], factors, accumulator)
        out[slab] = _divide(total, count, block.dtype).reshape(out[slab].shape)
    return out


def _axis_sums(block: NDArray[Any], factors: Sequence[int], accumulator: type) -> NDArray[Any]:
    """The exact sum of every window of ``block`` (whole windows only), in ``accumulator``."""
    total: NDArray[Any] | None = None
    for axis, f in enumerate(factors):
        if f == 1:
            continue
        source = block if total is None else total
        parts = [source[(slice(None),) * axis + (slice(o, None, f),)] for o in range(f)]
        summed = np.add(parts[0], parts[1], dtype=accumulator)
        for part in parts[2:]:
            np.add(summed, part, out=summed)
        total = summed
    return block.astype(accumulator) if total is None else total


# Output pixels per slab: the accumulator, a scratch array and a copy of the first view,
# 8 bytes each at most, fit in a 512 KiB L2 cache.
_SLAB_PIXELS = 16_384


def _slabs(shape: tuple[int, ...]) -> list[tuple[slice | int, ...]]:
    """Split an output of ``shape`` into slabs of about `_SLAB_PIXELS` pixels.

    A slab is a run of indices along one axis ``k`` (whole along the axes after it, one
    index along those before it), ``k`` being the first axis after which a slab fits.
    """
    inner = math.prod(shape)
    for axis, n in enumerate(shape):
        inner //= n if n else 1
        if inner <= _SLAB_PIXELS or axis == len(shape) - 1:
            break
    step = max(1, _SLAB_PIXELS // max(inner, 1))
    if math.prod(shape[:axis]) == 1 and step >= shape[axis]:
        return [tuple(slice(None) for _ in shape)]
    return [
        (*outer, slice(start, start + step))
        for outer in np.ndindex(*shape[:axis])
        for start in range(0, shape[axis], step)
    ]


def _combine(views: list[NDArray[Any]], method: str) -> NDArray[Any]:
    """Reduce the pixels at the same place of ``views`` (one per window offset)."""
    if method in ("min", "max"):
        combine = np.minimum if method == "min" else np.maximum
        result = views[0].copy()
        for view in views[1:]:
            combine(result, view, out=result)
        return result
    count = len(views)
    dtype = views[0].dtype
    if dtype.kind == "f":
        return _float_mean(views, count, dtype)
    accumulator = _mean_accumulator(dtype, count)
    total: NDArray[Any] = views[0].astype(accumulator)
    for view in views[1:]:
        np.add(total, view, out=total, casting="unsafe" if accumulator is object else "same_kind")
    return _divide(total, count, dtype)


def _float_mean(views: list[NDArray[Any]], count: int, dtype: np.dtype) -> NDArray[Any]:
    """The mean of ``count`` float views: exact for constant windows, never overflowing.

    For every window (``x_0, ..., x_{n-1}`` being its pixels, ``x_0`` its first):

    * Narrow floats (float16, float32) are summed in float64, where the sum of up to
      2**29 float32 values cannot overflow and ``k * x`` is exact for every ``k <= n``.
      Rounding is monotonic, so the sum of values in ``[a, b]`` lies in ``[n a, n b]``
      and the mean is in ``[a, b]``; a constant window sums to ``n x`` exactly and
      divides back to ``x``.
    * float64 (and wider, or a narrow float in a window too large for the above) has
      no wider type that is fast everywhere, so the mean is taken relative to the first
      pixel: ``x_0 - sum(x_0 - x_i) / n``. A constant window
      gives ``x_0 - 0 = x_0`` exactly (the sign of a zero included). The distance from
      the exact mean to ``b`` is ``sum(b - x_i) / n``, at least ``1 / (n (n + 1))`` of
      ``sum(|x_0 - x_i|)``, while the rounding errors are about ``eps`` times that sum:
      the result never crosses ``b`` (nor ``a``) for windows below 10**7 pixels.
    * Windows whose result is not finite hold an infinity or a NaN, or overflowed
      (``x_0 - x_i`` of huge values of opposite signs); `_careful_float_mean` redoes
      just those.
    """
    if count == 1:
        return views[0].copy()
    # Overflow and inf - inf are handled below, not worth a warning.
    with np.errstate(over="ignore", invalid="ignore"):
        if _sums_exactly_in_float64(dtype, count):
            total: NDArray[Any] = views[0].astype(np.float64)
            for view in views[1:]:
                np.add(total, view, out=total)
            total /= count
            return total.astype(dtype, copy=False)
        first = views[0].copy()  # read n - 1 times: contiguous is faster
        total = np.subtract(first, views[1])
        scratch = np.empty_like(total)
        for view in views[2:]:
            np.subtract(first, view, out=scratch)
            total += scratch
        total /= count
        np.subtract(first, total, out=total)
        # One sum tells whether any window is not finite (it may also overflow: then the
        # mask below is simply empty).
        if not np.isfinite(np.add.reduce(total, axis=None)):
            redo = ~np.isfinite(total)
            if redo.any():
                total[redo] = _careful_float_mean(
                    np.stack([view[redo] for view in views], axis=-1)
                )
    return total


def _sums_exactly_in_float64(dtype: np.dtype, count: int) -> bool:
    """Whether float64 holds ``k * x`` exactly for any ``x`` of ``dtype`` and ``k <= count``."""
    wide, narrow = np.finfo(np.float64), np.finfo(dtype)
    extra_bits = (count - 1).bit_length()  # ceil(log2(count))
    return narrow.nmant + extra_bits <= wide.nmant and narrow.maxexp + extra_bits <= wide.maxexp


def _careful_float_mean(windows: NDArray[Any]) -> NDArray[Any]:
    """The mean of each row of ``windows`` (float64 or wider), whatever its values.

    A row holding an infinity or NaN gives what exact arithmetic would: NaN with a NaN
    or with infinities of both signs, else the infinity. A row of finite values is
    scaled by a power of two first, so that no difference nor sum can overflow; the
    extreme values of such a row are huge, so scaling them is exact.
    """
    low, high = windows.min(axis=-1), windows.max(axis=-1)
    finite = np.isfinite(low) & np.isfinite(high)
    result: NDArray[Any] = low + high  # the infinity, or NaN, for the rows that hold one
    rows = windows[finite]
    count = rows.shape[-1]
    shift = (2 * count - 1).bit_length()  # 2**shift >= 2 * count: every |x_0 - x_i| sum fits
    scaled = np.ldexp(rows, -shift)
    first = scaled[:, 0]
    offset = np.sum(first[:, None] - scaled[:, 1:], axis=-1) / count
    result[finite] = np.ldexp(first - offset, shift)
    return result


def _mean_accumulator(dtype: np.dtype, count: int) -> type:
    """The smallest type that holds the sum of ``count`` pixels, plus ``count``, exactly."""
    largest = max(abs(int(np.iinfo(dtype).min)), int(np.iinfo(dtype).max)) + 1
    if largest * count < 2**31:
        return np.int32  # 8- and 16-bit images with windows below 2**15 pixels: fastest
    if largest * count < 2**63:
        return np.int64
    return object  # 64-bit integers: Python integers are exact at any size


def _divide(total: NDArray[Any], count: int, dtype: np.dtype) -> NDArray[Any]:
    """The integer mean from the exact sum, rounded half to even.

    ``total`` is a scratch array: it may be modified in place.
    """
    if count == 1:
        return total.astype(dtype)
    if count & (count - 1) == 0 and total.dtype != object:
        # A power of two, 2**k (2 x 2, 2 x 2 x 2 windows): with q = total >> k (floor) and
        # r = total & (2**k - 1), adding 2**(k-1) - 1 + (q & 1) before the shift carries
        # into q exactly when r is above half, or exactly half and q is odd: round half
        # to even in three whole-array operations, no division.
        k = count.bit_length() - 1
        odd = np.right_shift(total, k)
        np.bitwise_and(odd, 1, out=odd)
        total += odd
        total += (1 << (k - 1)) - 1
        total >>= k
        return total.astype(dtype)
    # Floor division, so 0 <= remainder < count (``//`` also works on Python ints).
    quotient = total // count
    remainder = total - quotient * count
    # Round half to even: up when more than half, and on exactly half when odd.
    round_up = (2 * remainder > count) | ((2 * remainder == count) & (quotient % 2 == 1))
    rounded: NDArray[Any] = (quotient + round_up).astype(dtype)
    return rounded


def _mode(block: NDArray[Any], factors: Sequence[int]) -> NDArray[Any]:
    """Most frequent value per window; on a tie, the smallest (NaN, one value, last)."""
    ndim = block.ndim
    # (n0, n1, ...) -> (n0/f0, f0, n1/f1, f1, ...), then the window axes last, flattened:
    # (out0, out1, ..., window_size).
    split_shape = [s for n, f in zip(block.shape, factors, strict=True) for s in (n // f, f)]
    order = tuple(range(0, 2 * ndim, 2)) + tuple(range(1, 2 * ndim, 2))
    flat = block.reshape(split_shape).transpose(order).reshape(*split_shape[::2], -1)
    ordered = np.sort(flat, axis=-1)
    # Length of the run of equal values ending at each position of the sorted window.
    positions = np.arange(ordered.shape[-1])
    starts = np.ones(ordered.shape, dtype=bool)
    starts[..., 1:] = ordered[..., 1:] != ordered[..., :-1]
    if ordered.dtype.kind == "f":
        # NaN != NaN, but every NaN is the same value here, one run at the end of the
        # sorted window (numpy sorts NaNs, whatever their sign, after +inf).
        nan = np.isnan(ordered)
        starts[..., 1:] &= ~(nan[..., 1:] & nan[..., :-1])
    run_start = np.maximum.accumulate(np.where(starts, positions, 0), axis=-1)
    run_length = positions - run_start
    # argmax returns the first position that reaches the longest run; values are sorted,
    # so that run holds the smallest of the most frequent values.
    best = np.argmax(run_length, axis=-1)
    return np.take_along_axis(ordered, best[..., None], axis=-1)[..., 0]
