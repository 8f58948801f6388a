"""Checks for the book's exercises: a student checks an answer without seeing the solution.

One function per exercise, named after the exercise's label: ``ex-arrays-timelapse`` is
checked by :func:`check_arrays_timelapse`. A check takes the student's value(s), prints
one verdict and returns it as a :class:`CheckResult`:

- ``Not yet: ...`` while an answer is still the placeholder (``None`` or ``...``);
- ``Right: ...`` when every answer is correct;
- ``Check again: ...`` with what is wrong (a wrong type, a factor of 2, a label
  corrupted inside its window, ...), never with the correct value itself.

A check never raises on a student's value: whatever it is given, it reports. The correct
answers are computed by the check from the exercise's inputs, with the package's own
functions and NumPy. Where an exercise also asks for an explanation, the check verifies
the numbers and code, and leaves the prose to the teacher.

Examples
--------
>>> from data_helpers import exercises
>>> result = exercises.check_pyr_edges(..., ..., ...)
Not yet: shape, bottom_right, zero_padded: replace the ... with your answer.
>>> bool(result)
False
"""

from __future__ import annotations

import atexit
import functools
import itertools
import math
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, ParamSpec

import numpy as np
import zarr

__all__ = [
    "CheckResult",
    "check_arrays_budget",
    "check_arrays_labels",
    "check_arrays_plane",
    "check_arrays_timelapse",
    "check_create_fill",
    "check_create_fourth_level",
    "check_create_labels",
    "check_create_version",
    "check_ms_cluster",
    "check_ms_level_for",
    "check_ms_pixel",
    "check_ms_roundtrip",
    "check_net_latency",
    "check_net_requests",
    "check_net_shard",
    "check_pyr_centroid",
    "check_pyr_edges",
    "check_pyr_labels",
    "check_pyr_recipe",
    "check_stream_budget",
    "check_stream_dark",
    "check_stream_float",
    "check_stream_shards",
    "check_tiles_depth",
    "check_tiles_resume",
    "check_tiles_tiff",
    "check_v3_convert",
    "check_v3_index",
    "check_v3_keys",
    "check_v3_parallel",
]

Verdict = Literal["not yet", "right", "wrong"]
_PREFIX: dict[str, str] = {"not yet": "Not yet", "right": "Right", "wrong": "Check again"}
_P = ParamSpec("_P")


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check, already printed when the check ran.

    A result is true only when it is right, so ``assert check_...(...)`` works in a
    solution. In a notebook it shows nothing more when it is a cell's last value: the
    check has printed its message already.

    Attributes
    ----------
    label
        The exercise's label, e.g. ``"ex-arrays-timelapse"``.
    verdict
        ``"not yet"`` (an answer is still a placeholder), ``"right"`` or ``"wrong"``.
    message
        What was printed: the verdict and, for each answer that is not right, why.

    Examples
    --------
    >>> result = CheckResult("ex-demo", "right", "Right: well done.")
    >>> bool(result), str(result)
    (True, 'Right: well done.')
    """

    label: str
    verdict: Verdict
    message: str

    def __bool__(self) -> bool:
        return self.verdict == "right"

    def __str__(self) -> str:
        return self.message

    def _ipython_display_(self) -> None:
        """Show nothing: the message was printed when the check ran."""


@dataclass
class _Report:
    """Collects what each named answer is, and turns it into one printed verdict."""

    label: str
    missing: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    right: list[str] = field(default_factory=list)

    def placeholder(self, name: str, value: Any) -> bool:
        """Record ``name`` as not answered yet if it is a placeholder; say whether it was."""
        if _is_placeholder(value):
            self.missing.append(name)
            return True
        return False

    def bad(self, name: str, problem: str) -> None:
        self.wrong.append(f"{name}: {problem}")

    def good(self, name: str) -> None:
        self.right.append(name)

    def finish(self, right_text: str) -> CheckResult:
        lines: list[str] = []
        if self.wrong:
            verdict: Verdict = "wrong"
            lines.append(f"{_PREFIX[verdict]}:")
            lines += [f"  - {problem}" for problem in self.wrong]
            if self.missing:
                lines.append(f"  - not answered yet: {', '.join(self.missing)}")
        elif self.missing:
            verdict = "not yet"
            names = ", ".join(self.missing)
            text = f"{_PREFIX[verdict]}: {names}: replace the ... with your answer."
            if self.right:
                text += f" ({', '.join(self.right)}: right so far.)"
            lines.append(text)
        else:
            verdict = "right"
            lines.append(f"{_PREFIX[verdict]}: {right_text}")
        message = "\n".join(lines)
        print(message)
        return CheckResult(self.label, verdict, message)


def _is_placeholder(value: Any) -> bool:
    return value is None or value is Ellipsis


def _never_raises(label: str) -> Callable[[Callable[_P, CheckResult]], Callable[_P, CheckResult]]:
    """Turn any error while checking into a reported verdict: a check never raises."""

    def decorate(check: Callable[_P, CheckResult]) -> Callable[_P, CheckResult]:
        @functools.wraps(check)
        def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> CheckResult:
            try:
                return check(*args, **kwargs)
            except Exception as error:  # a student's value may break anything
                message = (
                    f"{_PREFIX['wrong']}:\n  - could not check your answer: "
                    f"{type(error).__name__}: {str(error)[:200]}"
                )
                print(message)
                return CheckResult(label, "wrong", message)

        return wrapper

    return decorate


# -- reading a student's value -------------------------------------------------------------


def _number(report: _Report, name: str, value: Any, what: str = "a number") -> float | None:
    """The value as a float, or None after reporting it (placeholder or wrong type)."""
    if report.placeholder(name, value):
        return None
    if isinstance(value, np.ndarray) and value.ndim == 0:  # a pixel read from a zarr array
        value = value[()]
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
        report.bad(name, f"wrong type: expected {what}, got {type(value).__name__}")
        return None
    number = float(value)
    if not math.isfinite(number):
        report.bad(name, f"expected {what}, got a value that is not finite")
        return None
    return number


def _integer(report: _Report, name: str, value: Any, what: str) -> int | None:
    """The value as an int, or None after reporting it (placeholder or wrong type)."""
    if report.placeholder(name, value):
        return None
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        report.bad(name, f"wrong type: expected an int {what}, got {type(value).__name__}")
        return None
    return int(value)


def _int_tuple(
    report: _Report, name: str, value: Any, length: int, what: str
) -> tuple[int, ...] | None:
    """A tuple of ``length`` ints, or None after reporting it."""
    if report.placeholder(name, value):
        return None
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        report.bad(name, f"wrong type: expected {what}, a tuple of {length} ints, "
                         f"got {type(value).__name__}")
        return None
    items = list(value)
    if len(items) != length or not all(
        isinstance(n, int | np.integer) and not isinstance(n, bool | np.bool_) for n in items
    ):
        report.bad(name, f"expected {what}: a tuple of {length} ints")
        return None
    return tuple(int(n) for n in items)


def _float_list(
    report: _Report, name: str, value: Any, length: int, what: str
) -> list[float] | None:
    """A list of ``length`` floats, or None after reporting it."""
    if report.placeholder(name, value):
        return None
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        report.bad(name, f"wrong type: expected {what}, {length} numbers, "
                         f"got {type(value).__name__}")
        return None
    if array.shape != (length,):
        report.bad(name, f"expected {what}: {length} numbers (one per axis), "
                         f"got an array of shape {array.shape}")
        return None
    return [float(v) for v in array]


def _array(report: _Report, name: str, value: Any, what: str = "an array") -> np.ndarray | None:
    """The value as a numpy array (from numpy, zarr or dask), or None after reporting it."""
    if report.placeholder(name, value):
        return None
    if isinstance(value, str | bytes | int | float | bool) or value is None:
        report.bad(name, f"wrong type: expected {what}, got {type(value).__name__}")
        return None
    try:
        array = np.asarray(value[...] if isinstance(value, zarr.Array) else value)
    except Exception:
        report.bad(name, f"wrong type: expected {what}, got {type(value).__name__}")
        return None
    if array.dtype == object:
        report.bad(name, f"expected {what} of numbers, got an array of Python objects")
        return None
    return array


def _close(a: float, b: float, rel: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


def _slices(report: _Report, name: str, value: Any, ndim: int) -> tuple[slice, ...] | None:
    """A region: a tuple of ``ndim`` slices with int bounds, or None after reporting it."""
    if report.placeholder(name, value):
        return None
    if not isinstance(value, tuple | list) or len(value) != ndim or not all(
        isinstance(s, slice) for s in value
    ):
        report.bad(name, f"wrong type: expected a tuple of {ndim} slices, "
                         f"got {type(value).__name__}")
        return None
    if not all(isinstance(s.start, int | np.integer) and isinstance(s.stop, int | np.integer)
               for s in value):
        report.bad(name, "expected slices with int start and stop")
        return None
    return tuple(slice(int(s.start), int(s.stop)) for s in value)


def _outside_window(source: np.ndarray, result: np.ndarray, factors: Sequence[int]) -> int:
    """How many pixels of ``result`` hold a value found in no pixel of their own window.

    A label copied from elsewhere in the image (a mean of 3 and 5 that happens to be the
    existing label 4) is counted: global checks such as ``np.isin`` miss it. The window
    of output pixel ``p`` is ``[p*f, (p+1)*f)``, clipped at the image's far edge.
    """
    padding = [(0, -(-n // f) * f - n) for n, f in zip(source.shape, factors, strict=True)]
    padded = np.pad(source, padding, mode="edge")  # edge copies stay in their own window
    found = np.zeros(result.shape, dtype=bool)
    for offset in itertools.product(*(range(f) for f in factors)):
        window = tuple(slice(o, None, f) for o, f in zip(offset, factors, strict=True))
        found |= padded[window] == result
    return int(np.count_nonzero(~found))


@functools.cache
def _scratch() -> Path:
    """A temporary folder for what the checks compute, removed when Python exits."""
    path = Path(tempfile.mkdtemp(prefix="data-helpers-exercises-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


# -- arrays_chunks_compression -------------------------------------------------------------

_TIMELAPSE = (100, 2, 64, 2048, 2048)
_TIMELAPSE_AXES = ("time", "channel", "z", "y", "x")
_ITEMSIZES = {"uint8": 1, "uint16": 2, "float32": 4, "float64": 8}


def _gib_problem(value: float, dtype: str) -> str | None:
    """What is wrong with ``value`` as the GiB of the time-lapse in ``dtype`` (None: right)."""
    pixels = math.prod(_TIMELAPSE)
    itemsize = _ITEMSIZES[dtype]
    expected = pixels * itemsize / 2**30
    if _close(value, expected):
        return None
    for other, size in _ITEMSIZES.items():
        if size != itemsize and _close(value, pixels * size / 2**30):
            factor = max(size, itemsize) // min(size, itemsize)
            return (f"off by a factor of {factor}: did you use the bytes per pixel of {other}? "
                    f"{dtype} takes {itemsize} bytes per pixel")
    units = {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GB (10**9 bytes)": 10**9}
    for unit, size in units.items():
        if _close(value, pixels * itemsize / size):
            return f"this is in {unit}: a GiB is 2**30 bytes"
    for axis, n in zip(_TIMELAPSE_AXES, _TIMELAPSE, strict=True):
        if n > 1 and _close(value, expected / n):
            return f"too small: did you leave out the {axis} axis?"
    return (f"not the size of this array: multiply the number of pixels by the bytes per "
            f"pixel of {dtype}, then divide by 2**30")


@_never_raises("ex-arrays-timelapse")
def check_arrays_timelapse(gib_uint16: Any, gib_float32: Any) -> CheckResult:
    """Check ex-arrays-timelapse: the GiB of the time-lapse as ``uint16`` and ``float32``.

    Examples
    --------
    >>> result = check_arrays_timelapse(..., None)
    Not yet: gib_uint16, gib_float32: replace the ... with your answer.
    >>> result = check_arrays_timelapse("a lot", ...)
    Check again:
      - gib_uint16: wrong type: expected a number of GiB, got str
      - not answered yet: gib_float32
    """
    report = _Report("ex-arrays-timelapse")
    for name, value, dtype in (("gib_uint16", gib_uint16, "uint16"),
                               ("gib_float32", gib_float32, "float32")):
        number = _number(report, name, value, "a number of GiB")
        if number is None:
            continue
        problem = _gib_problem(number, dtype)
        if problem:
            report.bad(name, problem)
        else:
            report.good(name)
    return report.finish("both sizes are right: pixels x bytes per pixel / 2**30.")


_PLANE_SHAPE, _PLANE_CHUNKS = (128, 256, 256), (16, 64, 64)


@_never_raises("ex-arrays-plane")
def check_arrays_plane(predicted: Any, stored: Any) -> CheckResult:
    """Check ex-arrays-plane: chunks an xz plane touches, predicted and stored.

    ``stored`` may be the int, or the `ChunkStats` that ``chunk_stats`` returned.

    Examples
    --------
    >>> result = check_arrays_plane("many", ...)
    Check again:
      - predicted: wrong type: expected an int number of chunks, got str
      - not answered yet: stored
    """
    from .chunking import chunk_grid_shape
    from .inspect import ChunkStats

    report = _Report("ex-arrays-plane")
    grid = chunk_grid_shape(_PLANE_SHAPE, _PLANE_CHUNKS)
    expected = math.prod(grid) // grid[1]
    guess = _integer(report, "predicted", predicted, "number of chunks")
    if guess is not None:
        if guess == expected:
            report.good("predicted")
        elif guess == math.prod(grid):
            report.bad("predicted", "that is every chunk of the grid: fixing y keeps only one "
                                    "layer of chunks along y")
        elif guess in (math.prod(grid) // grid[0], math.prod(grid) // grid[2]):
            report.bad("predicted", "that plane fixes another axis: volume[:, 100, :] fixes y")
        else:
            report.bad("predicted", "not the number of chunks the plane crosses: count the "
                                    "chunks of the grid that the fixed y index falls in")
    if isinstance(stored, ChunkStats):
        stored = stored.nchunks_stored
    count = _integer(report, "stored", stored, "number of chunks")
    if count is not None:
        if count == expected:
            report.good("stored")
        elif count == 0:
            report.bad("stored", "nothing was stored: chunks holding only the fill value are "
                                 "not stored, so write ones, not zeros")
        elif count == math.prod(grid):
            report.bad("stored", "every chunk was stored: write only the plane, "
                                 "array[:, 100, :] = 1")
        else:
            report.bad("stored", "not the count of a store where only volume[:, 100, :] was "
                                 "written: check the shape, chunks and selection")
    return report.finish("the plane crosses as many chunks as writing it stores.")


def _compression_ratio(name: str, cname: Any = "zstd", shuffle: Any = "shuffle") -> float:
    from zarr.codecs import BloscCodec

    from .sample_data import load_sample

    data = np.asarray(load_sample(name))
    array = zarr.create_array(store=zarr.storage.MemoryStore(), shape=data.shape,
                              dtype=data.dtype, chunks=(32, 128, 128),
                              compressors=BloscCodec(cname=cname, shuffle=shuffle))
    array[:] = data
    return float(data.nbytes / array.nbytes_stored())


@functools.cache
def _ratios(cname: str = "zstd", shuffle: str = "shuffle") -> dict[str, float]:
    return {name: _compression_ratio(name, cname, shuffle) for name in ("labels", "volume")}


@_never_raises("ex-arrays-labels")
def check_arrays_labels(labels_ratio: Any, volume_ratio: Any) -> CheckResult:
    """Check ex-arrays-labels: compression ratios of the labels and of the volume.

    A ratio is the uncompressed bytes divided by the bytes stored (within 2 %). Which
    compresses better, and why, is for the teacher to read.

    Examples
    --------
    >>> result = check_arrays_labels(..., ...)
    Not yet: labels_ratio, volume_ratio: replace the ... with your answer.
    """
    report = _Report("ex-arrays-labels")
    given = {"labels": _number(report, "labels_ratio", labels_ratio, "a compression ratio"),
             "volume": _number(report, "volume_ratio", volume_ratio, "a compression ratio")}
    if all(v is None for v in given.values()):
        return report.finish("")
    expected = _ratios("zstd", "shuffle")
    for name, value in given.items():
        label = f"{name}_ratio"
        if value is None:
            continue
        other = "volume" if name == "labels" else "labels"
        if _close(value, expected[name], rel=0.02):
            report.good(label)
        elif value < 1 and _close(1 / value, expected[name], rel=0.02):
            report.bad(label, "upside down: a ratio is the uncompressed bytes divided by the "
                              "bytes stored")
        elif _close(value, expected[other], rel=0.02):
            report.bad(label, f"this is the {other}'s ratio: are the two swapped?")
        elif _close(value, _ratios("zstd", "noshuffle")[name], rel=0.02):
            report.bad(label, "this is without shuffle: pass shuffle='shuffle' to BloscCodec")
        elif _close(value, _ratios("lz4", "shuffle")[name], rel=0.02):
            report.bad(label, "this is lz4: use cname='zstd'")
        else:
            report.bad(label, "not the ratio of this image with Blosc zstd, byte shuffle and "
                              "chunks of (32, 128, 128)")
    return report.finish("both ratios are right. Your explanation of why is for your teacher.")


_BUDGET_SHAPE, _BUDGET_ITEMSIZE, _BUDGET = (100, 2, 64, 2048, 2048), 2, 8 * 2**20


def _chunk_problem(chunks: tuple[int, ...], *, flat: bool) -> str | None:
    nbytes = math.prod(chunks) * _BUDGET_ITEMSIZE
    if any(c < 1 for c in chunks):
        return "every chunk side must be at least 1"
    if any(c > n for c, n in zip(chunks, _BUDGET_SHAPE, strict=True)):
        return "a chunk side is larger than the array along that axis"
    if chunks[:2] != (1, 1):
        return "keep the time and channel axes one pixel thick (fixed_axes=(0, 1))"
    if flat and chunks[2] != 1:
        return "a flat chunk for an xy viewer holds a single z plane"
    if nbytes > _BUDGET:
        return "over the budget: a chunk takes prod(chunks) * 2 bytes (uint16)"
    grow = (3, 4) if flat else (2, 3, 4)
    for axis in grow:
        if chunks[axis] < _BUDGET_SHAPE[axis] and 2 * nbytes <= _BUDGET:
            return f"too small: doubling the {'zyx'[axis - 2]} side would still fit the budget"
    return None


@_never_raises("ex-arrays-budget")
def check_arrays_budget(chunks: Any, flat: Any) -> CheckResult:
    """Check ex-arrays-budget: the ``auto_chunks`` chunks and a flat chunk, 8 MiB each.

    Examples
    --------
    >>> result = check_arrays_budget((2, 2, 64, 64, 64), ...)
    Check again:
      - chunks: keep the time and channel axes one pixel thick (fixed_axes=(0, 1))
      - not answered yet: flat
    """
    from .chunking import auto_chunks

    report = _Report("ex-arrays-budget")
    auto = auto_chunks(_BUDGET_SHAPE, _BUDGET_ITEMSIZE, target_bytes=_BUDGET, fixed_axes=(0, 1))
    given = _int_tuple(report, "chunks", chunks, 5, "a chunk shape")
    if given is not None:
        problem = _chunk_problem(given, flat=False)
        if problem:
            report.bad("chunks", problem)
        elif given != tuple(auto):
            report.bad("chunks", "a full chunk within the budget, but not the one auto_chunks "
                                 "chooses: call it with the itemsize, target_bytes and "
                                 "fixed_axes of the exercise")
        else:
            report.good("chunks")
    given_flat = _int_tuple(report, "flat", flat, 5, "a chunk shape")
    if given_flat is not None:
        problem = _chunk_problem(given_flat, flat=True)
        if problem:
            report.bad("flat", problem)
        else:
            report.good("flat")
    return report.finish("both chunk shapes fill the budget without exceeding it.")


# -- creating_ome_zarr -----------------------------------------------------------------------


@_never_raises("ex-create-fill")
def check_create_fill(array: Any, nchunks_stored: Any, pixel: Any) -> CheckResult:
    """Check ex-create-fill: the array made from the spec, its stored chunks, pixel (200, 200).

    Examples
    --------
    >>> result = check_create_fill(..., 16, ...)
    Check again:
      - nchunks_stored: that is every chunk of the grid: only chunks that were written are stored
      - not answered yet: array, pixel
    """
    from .chunking import chunk_grid_shape
    from .inspect import chunk_stats
    from .sample_data import load_sample

    report = _Report("ex-create-fill")
    shape, chunks, fill, written = (256, 256), (64, 64), 100, (64, 64)
    if not report.placeholder("array", array):
        if not isinstance(array, zarr.Array):
            report.bad("array", f"wrong type: expected the zarr array created from the "
                                f"ArraySpec, got {type(array).__name__}")
        elif array.metadata.zarr_format != 3:
            report.bad("array", "not a format-3 array: use pydantic_zarr.v3.ArraySpec")
        elif tuple(array.shape) != shape or array.dtype != np.dtype("uint16"):
            report.bad("array", "expected a (256, 256) uint16 array")
        elif tuple(array.chunks) != chunks:
            report.bad("array", "expected chunks of (64, 64)")
        elif array.fill_value != fill:
            report.bad("array", "its fill value is not the camera offset of 100")
        else:
            volume = np.asarray(load_sample("volume"))
            plane = volume[volume.shape[0] // 2, :written[0], :written[1]]
            data = np.asarray(array[...])
            if not np.array_equal(data[:written[0], :written[1]], plane):
                report.bad("array", "its top-left 64 x 64 pixels are not the volume's middle "
                                    "plane (index shape[0] // 2)")
            elif (data[written[0]:] != fill).any() or (data[:, written[1]:] != fill).any():
                report.bad("array", "pixels outside the top-left 64 x 64 were written")
            elif chunk_stats(array).nchunks_stored != math.prod(chunk_grid_shape(written, chunks)):
                report.bad("array", "it stores other chunks than the one written")
            else:
                report.good("array")
    expected = math.prod(chunk_grid_shape(written, chunks))
    count = _integer(report, "nchunks_stored", nchunks_stored, "number of chunks")
    if count is not None:
        if count == expected:
            report.good("nchunks_stored")
        elif count == math.prod(chunk_grid_shape(shape, chunks)):
            report.bad("nchunks_stored", "that is every chunk of the grid: only chunks that "
                                         "were written are stored")
        else:
            report.bad("nchunks_stored", "not the number of chunks the write touched")
    value = _number(report, "pixel", pixel, "a pixel value")
    if value is not None:
        if value == fill:
            report.good("pixel")
        elif value == 0:
            report.bad("pixel", "an unwritten pixel reads as the array's fill value, not zero")
        else:
            report.bad("pixel", "pixel (200, 200) was never written: what does an unwritten "
                                "pixel read as?")
    return report.finish("one chunk holds data; everything else reads as the fill value.")


_VOXEL = (2.0, 0.5, 0.5)
_FOURTH_FACTORS = ((1, 2, 2), (1, 2, 2), (2, 2, 2))


@_never_raises("ex-create-fourth-level")
def check_create_fourth_level(group: Any) -> CheckResult:
    """Check ex-create-fourth-level: the four-level nuclei image (a zarr group), filled.

    Examples
    --------
    >>> result = check_create_fourth_level("image.ome.zarr")
    Check again:
      - group: wrong type: expected the zarr group create_image returned, got str
    """
    from .downsample import downsample, downsampled_shape
    from .ome import level_transforms, read_multiscale, validate
    from .sample_data import load_sample

    report = _Report("ex-create-fourth-level")
    if report.placeholder("group", group):
        return report.finish("")
    if not isinstance(group, zarr.Group):
        report.bad("group", f"wrong type: expected the zarr group create_image returned, "
                            f"got {type(group).__name__}")
        return report.finish("")
    try:
        validate(group)
    except Exception as error:
        report.bad("group", f"it does not validate as OME-Zarr: {str(error).splitlines()[0][:160]}")
        return report.finish("")
    meta = read_multiscale(group)
    if len(meta.scales) != 4:
        report.bad("group", "expected four levels, 0 to 3")
        return report.finish("")
    shapes = [tuple(load_sample("volume").shape)]
    for f in _FOURTH_FACTORS:
        shapes.append(downsampled_shape(shapes[-1], f))
    scales, translations = level_transforms(list(_VOXEL), [list(f) for f in _FOURTH_FACTORS])
    problems = []
    nodes: Any = group
    if tuple(nodes["3"].shape) != shapes[3]:
        problems.append("level 3 is not level 2 halved along every axis (its shape)")
    if not np.allclose(meta.scales[3], scales[3]):
        problems.append("the scale of level 3 is not the level-0 voxel size times the factor "
                        "accumulated since level 0")
    if np.allclose(meta.translations[3], 0):
        problems.append("level 3 has no translation: an averaged level moves by half a window")
    elif np.allclose(meta.translations[3], meta.translations[2]):
        problems.append("level 3 has the translation of level 2: it needs its own")
    elif not np.allclose(meta.translations[3], translations[3]):
        problems.append("the translation of level 3 is not s * (F - 1) / 2, with F the factor "
                        "accumulated since level 0 (not the last step's factor)")
    if not problems:
        level3 = np.asarray(nodes["3"][...])
        if not level3.any():
            problems.append("level 3 holds only zeros: fill it")
        elif not np.array_equal(level3, downsample(np.asarray(nodes["2"][...]), 2)):
            problems.append("the pixels of level 3 are not level 2 downsampled by 2 with mean")
    for problem in problems:
        report.bad("group", problem)
    if not problems:
        report.good("group")
    return report.finish("the fourth level has the right shape, scale, translation and pixels.")


@_never_raises("ex-create-labels")
def check_create_labels(
    mode: Any, nearest: Any, mode_translation: Any, nearest_translation: Any
) -> CheckResult:
    """Check ex-create-labels: the labels downsampled by (1, 2, 2), and level 1's translations.

    Every output pixel must hold a label of its own window: a label that exists elsewhere
    in the image is still a corrupted label. The explanation is for the teacher.

    Examples
    --------
    >>> result = check_create_labels(..., ..., (0.0, 0.0), ...)
    Check again:
      - mode_translation: expected level 1's translation (mode): 3 numbers (one per axis),
        got an array of shape (2,)
      - not answered yet: mode, nearest, nearest_translation
    """
    from .downsample import downsample, downsampled_shape
    from .ome import level_transforms
    from .sample_data import load_sample

    report = _Report("ex-create-labels")
    factors = (1, 2, 2)
    arrays = {"mode": _array(report, "mode", mode, "a label image"),
              "nearest": _array(report, "nearest", nearest, "a label image")}
    if any(a is not None for a in arrays.values()):
        labels = np.asarray(load_sample("labels"))
        target = downsampled_shape(labels.shape, factors)
        method: Any
        for method, array in arrays.items():
            if array is None:
                continue
            other = "nearest" if method == "mode" else "mode"
            if array.shape == downsampled_shape(labels.shape, 2):
                report.bad(method, "z was halved too: downsample by (1, 2, 2)")
            elif array.shape != target:
                report.bad(method, "not the shape of the labels downsampled by (1, 2, 2)")
            elif _outside_window(labels, array, factors):
                report.bad(method, "some pixels hold a label that is not in their own window "
                                   "(a corrupted label, even where the value exists elsewhere): "
                                   "was it a mean?")
            elif np.array_equal(array, downsample(labels, factors, method=method)):
                report.good(method)
            elif np.array_equal(array, downsample(labels, factors, method=other)):  # type: ignore[arg-type]
                report.bad(method, f"this is the result of method={other!r}")
            else:
                report.bad(method, f"not what downsample(labels, (1, 2, 2), method={method!r}) "
                                   "gives")
    for method, value in (("mode", mode_translation), ("nearest", nearest_translation)):
        name = f"{method}_translation"
        given = _float_list(report, name, value, 3, f"level 1's translation ({method})")
        if given is None:
            continue
        _, expected = level_transforms(list(_VOXEL), [list(factors)], method=method)
        if np.allclose(given, expected[1]):
            report.good(name)
        elif method == "mode" and np.allclose(given, 0):
            report.bad(name, "mode summarises a whole window, so its pixel sits at the "
                             "window's centre: it moves")
        elif method == "nearest" and not np.allclose(given, 0):
            report.bad(name, "nearest keeps the first pixel of each window: does it move?")
        else:
            report.bad(name, f"not what level_transforms gives for method={method!r}")
    return report.finish("no label is invented, and both translations are right. "
                         "Your explanation is for your teacher.")


@functools.cache
def _ome_05_attributes() -> tuple[str, tuple[str, ...]]:
    """The OME-Zarr version and axis names of the exercise's 0.5 image, from the package."""
    from .ome import create_image, image_model, level_transforms

    scales, translations = level_transforms([0.5, 0.5], [(2, 2)])
    model = image_model(shapes=[(256, 256), (128, 128)], dtype="uint16",
                        chunks=[(128, 128)] * 2, axes="yx", scales=scales,
                        translations=translations, zarr_version=3)
    group = create_image(zarr.storage.MemoryStore(), model)
    ome: Any = group.attrs.asdict()["ome"]
    axes: Any = ome["multiscales"][0]["axes"]
    return str(ome["version"]), tuple(str(a["name"]) for a in axes)


@_never_raises("ex-create-version")
def check_create_version(version: Any, axes: Any) -> CheckResult:
    """Check ex-create-version: the version and axis names read from ``zarr.json``.

    Where they are in a 0.4 image is for the teacher to read.

    Examples
    --------
    >>> result = check_create_version(0.5, ...)
    Check again:
      - version: wrong type: the version is a string in the JSON, got float
      - not answered yet: axes
    """
    report = _Report("ex-create-version")
    expected_version, expected_axes = _ome_05_attributes()
    if not report.placeholder("version", version):
        if not isinstance(version, str):
            report.bad("version", f"wrong type: the version is a string in the JSON, "
                                  f"got {type(version).__name__}")
        elif version == expected_version:
            report.good("version")
        elif version == "0.4":
            report.bad("version", "that is the version of OME-Zarr in Zarr v2: write the image "
                                  "with zarr_version=3")
        else:
            report.bad("version", "not the version in attributes -> ome of zarr.json")
    if not report.placeholder("axes", axes):
        if isinstance(axes, str) or not isinstance(axes, Sequence):
            report.bad("axes", f"wrong type: expected a list of axis names, got "
                               f"{type(axes).__name__}")
        elif any(isinstance(a, dict) for a in axes):
            report.bad("axes", "give the axis names only: the 'name' of each axis")
        elif tuple(axes) == expected_axes:
            report.good("axes")
        elif tuple(axes) == expected_axes[::-1]:
            report.bad("axes", "in reverse order: keep the order of the JSON")
        else:
            report.bad("axes", "not the names under multiscales[0]['axes']")
    return report.finish("version and axes are right. Where 0.4 keeps them is for your teacher.")


# -- streaming -------------------------------------------------------------------------------

_SCMOS_FRAME, _SCMOS_TILE, _SCMOS_BUDGET = (2048, 2048), (512, 512), 64 * 2**20


@functools.cache
def _scmos_plan() -> tuple[int, tuple[tuple[int, ...], ...]]:
    from . import chunking
    from .writer import ChunkingProperties, StorageProperties, ZarrStreamWriter

    per_chunk = chunking.frames_per_chunk(_SCMOS_BUDGET, math.prod(_SCMOS_TILE) * 2)
    settings = ChunkingProperties(*_SCMOS_TILE, max_bytes_per_chunk=_SCMOS_BUDGET)
    with tempfile.TemporaryDirectory(dir=_scratch()) as tmp:
        storage = StorageProperties(f"{tmp}/scmos.zarr", chunking=settings,
                                    enable_multiscale=True)
        writer = ZarrStreamWriter(storage, frame_shape=_SCMOS_FRAME, dtype="uint16")
        planned = writer.chunks
        writer.close()
    return per_chunk, planned


@_never_raises("ex-stream-budget")
def check_stream_budget(frames_per_chunk: Any, levels: Any, planned: Any = None) -> CheckResult:
    """Check ex-stream-budget: frames per chunk, number of levels, optionally ``writer.chunks``.

    Examples
    --------
    >>> result = check_stream_budget(12.5, ...)
    Check again:
      - frames_per_chunk: wrong type: expected an int number of frames, got float
      - not answered yet: levels
    """
    report = _Report("ex-stream-budget")
    per_chunk, plan = _scmos_plan()
    tile = math.prod(_SCMOS_TILE)
    count = _integer(report, "frames_per_chunk", frames_per_chunk, "number of frames")
    if count is not None:
        if count == per_chunk:
            report.good("frames_per_chunk")
        elif count in (_SCMOS_BUDGET // tile, _SCMOS_BUDGET // (tile * 4)):
            report.bad("frames_per_chunk", "off by a factor of 2: a uint16 pixel takes 2 bytes")
        elif count == 16 * 2**20 // (tile * 2):
            report.bad("frames_per_chunk", "that is the 16 MiB minimum: the budget here is "
                                           "64 MiB")
        elif count == _SCMOS_BUDGET // (math.prod(_SCMOS_FRAME) * 2):
            report.bad("frames_per_chunk", "you divided by a whole frame: a chunk holds one "
                                           "tile of each frame")
        else:
            report.bad("frames_per_chunk", "not floor(budget / bytes per tile)")
    n = _integer(report, "levels", levels, "number of levels")
    if n is not None:
        if n == len(plan):
            report.good("levels")
        elif n > len(plan):
            report.bad("levels", "too many: the pyramid stops at the first level that fits "
                                 "in one tile")
        else:
            report.bad("levels", "too few: the level that fits in one tile is the last one, "
                                 "and it counts (level 0 too)")
    if planned is not None:
        try:
            same = tuple(tuple(int(n) for n in c) for c in planned) == plan
        except TypeError:
            same = False
        if same:
            report.good("planned")
        else:
            report.bad("planned", "not the writer's planned chunks: pass writer.chunks")
    return report.finish("frames per chunk and levels are right.")


_FLOAT_FRAMES, _FLOAT_SIZE = 4, (192, 108)  # (width, height), as the camera takes it


def _bytewise_mean(a: np.ndarray, b: np.ndarray, rounding: Callable[[Any], Any]) -> np.ndarray:
    mean = rounding((a.view(np.uint8).astype(np.float64) + b.view(np.uint8)) / 2)
    return np.asarray(mean).astype(np.uint8).view(a.dtype)


@functools.cache
def _float_frames() -> np.ndarray:
    from .camera import SimulatedCamera

    camera = SimulatedCamera("radial_sin", shape=_FLOAT_SIZE, pixel_type="float32")
    return np.stack([frame.data for frame in camera.frames(_FLOAT_FRAMES)])


def _mean_2x2x2(frames: np.ndarray, *, time: bool = True) -> np.ndarray:
    t, h, w = frames.shape
    if time:
        blocks = frames.astype(np.float64).reshape(t // 2, 2, h // 2, 2, w // 2, 2)
        return np.asarray(blocks.mean(axis=(1, 3, 5)), dtype=np.float32)
    blocks = frames.astype(np.float64).reshape(t, h // 2, 2, w // 2, 2)
    return np.asarray(blocks.mean(axis=(2, 4)), dtype=np.float32)


@_never_raises("ex-stream-float")
def check_stream_float(bytewise_value: Any, level0: Any, level1: Any) -> CheckResult:
    """Check ex-stream-float: the byte-wise mean of 1.0 and 2.0, and the store's levels 0, 1.

    ``level0`` and ``level1`` are the arrays read from the store (``group["0"][:]``,
    shape ``(t, c, y, x)``, or with the channel axis already taken, ``(t, y, x)``).

    Examples
    --------
    >>> result = check_stream_float(1.5, ..., ...)
    Check again:
      - bytewise_value: that is the mean of the numbers: average their bytes (view them as
        uint8) and view the result as float32
      - not answered yet: level0, level1
    """
    report = _Report("ex-stream-float")
    pair = np.array([1.0, 2.0], dtype=np.float32)
    value = _number(report, "bytewise_value", bytewise_value, "a number")
    if value is not None:
        if value == float(_bytewise_mean(pair[:1], pair[1:], np.rint)[0]):
            report.good("bytewise_value")
        elif value == float(_bytewise_mean(pair[:1], pair[1:], np.floor)[0]):
            report.bad("bytewise_value", "that rounds the byte means down: the chapter's "
                                        "bytewise_mean rounds them to the nearest integer")
        elif value == 1.5:
            report.bad("bytewise_value", "that is the mean of the numbers: average their bytes "
                                        "(view them as uint8) and view the result as float32")
        else:
            report.bad("bytewise_value", "not the byte-wise mean with the chapter's rounding")
    frames = _float_frames()
    levels = {}
    for name, value in (("level0", level0), ("level1", level1)):
        array = _array(report, name, value, "the array read from the store")
        if array is not None and array.ndim == 4 and array.shape[1] == 1:
            array = array[:, 0]
        levels[name] = array
    if (array := levels["level0"]) is not None:
        if array.ndim != 3:
            report.bad("level0", "expected the frames of level 0, shape (t, c, y, x)")
        elif array.shape[1:] == frames.shape[:0:-1]:
            report.bad("level0", "height and width are swapped: the camera takes "
                                 "(width, height), frames are (height, width)")
        elif array.dtype != np.float32:
            report.bad("level0", "not float32: pass pixel_type='float32' to the camera")
        elif array.shape != frames.shape or not np.array_equal(array, frames):
            report.bad("level0", "not the first four frames of a radial_sin float32 camera "
                                 "of 192 x 108")
        else:
            report.good("level0")
    if (array := levels["level1"]) is not None:
        expected = _mean_2x2x2(frames)
        if array.shape == (frames.shape[0], *expected.shape[1:]):
            report.bad("level1", "level 1 also averages pairs of frames (it has half the "
                                 "frames)")
        elif array.shape != expected.shape:
            report.bad("level1", "not the shape of level 1: pass group['1'][:]")
        elif not np.array_equal(array, expected):
            report.bad("level1", "its pixels are not the means of their eight level-0 pixels")
        else:
            report.good("level1")
    return report.finish("the byte-wise mean is nonsense and level 1 averages the numbers.")


_DARK_FRAMES, _DARK_SIZE, _DARK_TILE = 20, (1920, 1080), (640, 360)


@_never_raises("ex-stream-dark")
def check_stream_dark(uncompressed: Any, compressed: Any) -> CheckResult:
    """Check ex-stream-dark: level 0 of the two dark streams, as `ChunkStats` or stores.

    Pass what ``chunk_stats`` returned for each level 0 (or the arrays, or their paths
    while they still exist).

    Examples
    --------
    >>> result = check_stream_dark(..., 42)
    Check again:
      - compressed: wrong type: expected what chunk_stats returned for level 0, got int
      - not answered yet: uncompressed
    """
    from .chunking import chunk_grid_shape
    from .inspect import ChunkStats, chunk_stats

    report = _Report("ex-stream-dark")
    shape = (_DARK_FRAMES, 1, _DARK_SIZE[1], _DARK_SIZE[0])
    for name, value in (("uncompressed", uncompressed), ("compressed", compressed)):
        if report.placeholder(name, value):
            continue
        if isinstance(value, str | Path | zarr.Array):
            value = chunk_stats(value)
        if not isinstance(value, ChunkStats):
            report.bad(name, f"wrong type: expected what chunk_stats returned for level 0, "
                             f"got {type(value).__name__}")
            continue
        if value.shape != shape:
            report.bad(name, "not 20 frames of 1920 x 1080: pass the stats of level 0")
        elif value.chunk_shape[-2:] != _DARK_TILE[::-1]:
            report.bad(name, "not the tutorial's tiles of 640 x 360")
        elif value.nchunks != math.prod(chunk_grid_shape(value.shape, value.chunk_shape)):
            report.bad(name, "its chunk count does not match its grid")
        elif value.nchunks_stored != value.nchunks:
            report.bad(name, "not every chunk is stored: stream with data_helpers' writer")
        elif name == "uncompressed" and value.compressors:
            report.bad(name, "this store is compressed: stream once with compression=None")
        elif name == "compressed" and not value.compressors:
            report.bad(name, "this store is not compressed: pass compression='blosc-zstd'")
        elif name == "compressed" and value.compression_ratio < 100:
            report.bad(name, "dark frames compress far better than that: is it blosc-zstd?")
        else:
            report.good(name)
    return report.finish("every dark chunk is stored; compressed, they cost almost nothing.")


@functools.cache
def _shard_files() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Files per level of the exercise's sharded stream, and chunks per level (no shards)."""
    from .camera import SimulatedCamera
    from .chunking import chunk_grid_shape
    from .inspect import directory_size
    from .writer import ChunkingProperties, StorageProperties, stream_to_zarr

    with tempfile.TemporaryDirectory(dir=_scratch()) as tmp:
        storage = StorageProperties(Path(tmp) / "rows.zarr", zarr_version=3, shard_chunks=(3, 1),
                                    chunking=ChunkingProperties(640, 360), enable_multiscale=True)
        stream_to_zarr(SimulatedCamera(), storage, 10)
        group = zarr.open_group(storage.filename, mode="r")
        names = sorted((k for k in group.array_keys()), key=int)
        files = tuple(directory_size(Path(storage.filename) / k)[0] - 1 for k in names)
        arrays: list[Any] = [group[k] for k in names]
        chunks = tuple(math.prod(chunk_grid_shape(a.shape, a.chunks)) for a in arrays)
    return files, chunks


@_never_raises("ex-stream-shards")
def check_stream_shards(chunk_files: Any) -> CheckResult:
    """Check ex-stream-shards: the number of chunk (shard) files per level, a list of ints.

    Examples
    --------
    >>> result = check_stream_shards("three")
    Check again:
      - chunk_files: wrong type: expected a list of ints, one per level, got str
    """
    report = _Report("ex-stream-shards")
    if report.placeholder("chunk_files", chunk_files):
        return report.finish("")
    if isinstance(chunk_files, str) or not isinstance(chunk_files, Sequence) or not all(
        isinstance(n, int | np.integer) and not isinstance(n, bool) for n in chunk_files
    ):
        report.bad("chunk_files", f"wrong type: expected a list of ints, one per level, "
                                  f"got {type(chunk_files).__name__}")
        return report.finish("")
    files, chunks = _shard_files()
    given = tuple(int(n) for n in chunk_files)
    if given == files:
        report.good("chunk_files")
    elif len(given) != len(files):
        report.bad("chunk_files", "give one number per level of the pyramid")
    elif given == chunks:
        report.bad("chunk_files", "these are chunks: with shards, one file holds up to "
                                  "3 x 1 chunks")
    elif given == tuple(n + 1 for n in files):
        report.bad("chunk_files", "you counted each level's zarr.json too")
    else:
        pairs = enumerate(zip(given, files, strict=True))
        wrong = [str(level) for level, (g, f) in pairs if g != f]
        report.bad("chunk_files", f"not the shard files of level {', '.join(wrong)}: a shard "
                                  "is clipped to its level's frame")
    return report.finish("one file per shard, clipped to each level.")


# -- pyramids -------------------------------------------------------------------------------


@functools.cache
def _label_pyramid() -> tuple[tuple[np.ndarray, ...], tuple[tuple[float, ...], ...]]:
    from .pyramid import build_pyramid
    from .sample_data import load_sample

    with tempfile.TemporaryDirectory(dir=_scratch()) as tmp:
        image = build_pyramid(load_sample("labels"), f"{tmp}/labels.ome.zarr", method="mode",
                              scale=_VOXEL, factors={"y": 2, "x": 2}, chunks=(32, 64, 64))
        levels = tuple(np.asarray(image.level(i)[...]) for i in range(image.levels))
        translations = tuple(tuple(image.translation(i)) for i in range(image.levels))
    return levels, translations


@_never_raises("ex-pyr-labels")
def check_pyr_labels(levels: Any, translations: Any) -> CheckResult:
    """Check ex-pyr-labels: the levels of the label pyramid (arrays) and their translations.

    Each pixel of a level must hold a label of its own window of the level above: a
    label that exists elsewhere in the image is still corrupted.

    Examples
    --------
    >>> result = check_pyr_labels(..., 3)
    Check again:
      - translations: wrong type: expected a list of translations, one per level, got int
      - not answered yet: levels
    """
    from .ome import level_transforms
    from .sample_data import load_sample

    report = _Report("ex-pyr-labels")
    expected_levels, expected_translations = _label_pyramid()
    if not report.placeholder("levels", levels):
        if isinstance(levels, str | np.ndarray) or not isinstance(levels, Sequence):
            report.bad("levels", f"wrong type: expected a list of arrays, one per level, got "
                                 f"{type(levels).__name__}")
        else:
            arrays = [_array(report, f"levels[{i}]", a, "an array") for i, a in enumerate(levels)]
            problems = []
            if any(a is None for a in arrays):
                problems = ["some levels are not arrays"]
            elif len(arrays) != len(expected_levels):
                problems = ["not the number of levels build_pyramid makes with these factors "
                            "and chunks"]
            elif arrays[0] is None or not np.array_equal(arrays[0],
                                                         np.asarray(load_sample("labels"))):
                problems = ["level 0 is not the labels sample"]
            for i in range(1, len(arrays)):
                if problems:
                    break
                finer, level = arrays[i - 1], arrays[i]
                assert finer is not None and level is not None
                if level.shape != expected_levels[i].shape:
                    problems.append(f"level {i} does not have the shape of level {i - 1} "
                                    "halved in y and x")
                elif _outside_window(finer, level, (1, 2, 2)):
                    problems.append(f"level {i} has pixels whose label is not in their window "
                                    "of the level above (corrupted, even where the value "
                                    "exists elsewhere): use method='mode'")
                elif not np.array_equal(level, expected_levels[i]):
                    problems.append(f"level {i} is not the mode of its windows")
            for problem in problems:
                report.bad("levels", problem)
            if not problems:
                report.good("levels")
    if not report.placeholder("translations", translations):
        if isinstance(translations, str) or not isinstance(translations, Sequence):
            report.bad("translations", f"wrong type: expected a list of translations, one per "
                                       f"level, got {type(translations).__name__}")
        else:
            n = len(expected_translations)
            _, expected = level_transforms(list(_VOXEL), [[1, 2, 2]] * (n - 1), method="mode")
            try:
                given = np.asarray(translations, dtype=np.float64)
            except (TypeError, ValueError):
                given = np.zeros(0)
            if given.shape != (n, 3):
                report.bad("translations", "expected one translation of 3 numbers per level "
                                           "of the pyramid")
            elif np.allclose(given, expected):
                report.good("translations")
            elif np.allclose(given, 0):
                report.bad("translations", "mode is a window method: its levels move by half a "
                                           "window, like the mean")
            else:
                report.bad("translations", "not what level_transforms gives for method='mode'")
    return report.finish("every level holds labels of its own windows, translated as mode is.")


_EDGES_SHAPE, _EDGES_FACTOR = (5, 7), 3


@_never_raises("ex-pyr-edges")
def check_pyr_edges(shape: Any, bottom_right: Any, zero_padded: Any) -> CheckResult:
    """Check ex-pyr-edges: output shape, bottom-right pixel, and what zero padding would give.

    Examples
    --------
    >>> result = check_pyr_edges((1, 2), ..., ...)
    Check again:
      - shape: rounded down: an axis of length n becomes ceil(n / f) long
      - not answered yet: bottom_right, zero_padded
    """
    from .downsample import downsample

    report = _Report("ex-pyr-edges")
    image = np.arange(math.prod(_EDGES_SHAPE), dtype=np.float64).reshape(_EDGES_SHAPE)
    f = _EDGES_FACTOR
    small = downsample(image, f)
    grown = tuple(-(-n // f) * f for n in image.shape)
    padded = np.pad(image, [(0, g - n) for g, n in zip(grown, image.shape, strict=True)])
    padded_mean = padded.reshape(grown[0] // f, f, grown[1] // f, f).mean(axis=(1, 3))[-1, -1]
    given = _int_tuple(report, "shape", shape, 2, "a shape")
    if given is not None:
        if given == small.shape:
            report.good("shape")
        elif given == tuple(n // f for n in image.shape):
            report.bad("shape", "rounded down: an axis of length n becomes ceil(n / f) long")
        else:
            report.bad("shape", "not the downsampled shape")
    value = _number(report, "bottom_right", bottom_right, "a pixel value")
    if value is not None:
        if _close(value, small[-1, -1]):
            report.good("bottom_right")
        elif _close(value, padded_mean):
            report.bad("bottom_right", "that is what zero padding gives: a partial window "
                                       "reduces only the pixels that exist")
        elif _close(value, image[-1, -1]):
            report.bad("bottom_right", "that is one pixel: take the mean of the window")
        else:
            report.bad("bottom_right", "not the mean of the pixels that exist in the "
                                       "bottom-right window")
    value = _number(report, "zero_padded", zero_padded, "a pixel value")
    if value is not None:
        if _close(value, padded_mean, rel=1e-3):
            report.good("zero_padded")
        elif _close(value, small[-1, -1]):
            report.bad("zero_padded", "that is without padding: zeros fill the window to "
                                      "3 x 3 and pull the mean down")
        else:
            report.bad("zero_padded", "not the mean of the window filled up to 3 x 3 with zeros")
    return report.finish("partial windows reduce only the pixels that exist.")


def _centroid_distances(
    *, weighted: bool = True, level_scale: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Distances between the level-0 and level-2 centroids, with and without translation."""
    from .downsample import downsample
    from .ome import level_transforms
    from .sample_data import load_sample

    volume, labels = np.asarray(load_sample("volume")), np.asarray(load_sample("labels"))
    image, label = volume[volume.shape[0] // 2], labels[labels.shape[0] // 2]
    ids, counts = np.unique(label, return_counts=True)
    nucleus = ids[1:][np.argmax(counts[1:])]
    scales, translations = level_transforms([0.5, 0.5], [(2, 2), (2, 2)])

    def centroid(image: np.ndarray, label: np.ndarray, level: int, shifted: bool) -> np.ndarray:
        rows, cols = np.nonzero(label == nucleus)
        weights = image[rows, cols].astype(np.float64) if weighted else None
        index = np.array([np.average(rows, weights=weights), np.average(cols, weights=weights)])
        shift = np.array(translations[level]) if shifted else 0.0
        return np.asarray(shift + index * np.array(scales[level if level_scale else 0]))

    image_2 = downsample(downsample(image, 2), 2)
    label_2 = downsample(downsample(label, 2, "mode"), 2, "mode")
    at_0 = centroid(image, label, 0, True)
    return (np.abs(centroid(image_2, label_2, 2, True) - at_0),
            np.abs(centroid(image_2, label_2, 2, False) - at_0))


@_never_raises("ex-pyr-centroid")
def check_pyr_centroid(with_translation: Any, without_translation: Any) -> CheckResult:
    """Check ex-pyr-centroid: distance between the centroids, with and without translation.

    Give each distance per axis, ``(dy, dx)`` in micrometres (signs do not matter), or as
    one Euclidean distance. The explanation is for the teacher.

    Examples
    --------
    >>> result = check_pyr_centroid("far", ...)
    Check again:
      - with_translation: wrong type: expected (dy, dx) in µm, or one distance, got str
      - not answered yet: without_translation
    """
    report = _Report("ex-pyr-centroid")
    given: dict[str, np.ndarray] = {}
    for name, value in (("with_translation", with_translation),
                        ("without_translation", without_translation)):
        if report.placeholder(name, value):
            continue
        try:
            array = np.abs(np.asarray(value, dtype=np.float64))
        except (TypeError, ValueError):
            array = np.zeros((0,))
        if array.shape not in ((), (2,)) or not np.isfinite(array).all():
            report.bad(name, f"wrong type: expected (dy, dx) in µm, or one distance, got "
                             f"{type(value).__name__}")
            continue
        given[name] = array
    if not given:
        return report.finish("")

    def same(a: np.ndarray, b: np.ndarray) -> bool:
        if a.shape == ():
            b = np.asarray(np.hypot(*b))
        return bool(np.allclose(a, b, rtol=1e-6, atol=1e-9))

    expected = dict(zip(("with_translation", "without_translation"), _centroid_distances(),
                        strict=True))
    for name, value in given.items():
        other = "without_translation" if name == "with_translation" else "with_translation"
        if same(value, expected[name]):
            report.good(name)
        elif same(value, expected[other]):
            report.bad(name, "this is the other distance: are the two swapped, or is the "
                             "translation added in both?")
        elif same(value, expected[name] / 0.5):
            report.bad(name, "in pixels: convert indices to µm with the scale")
        elif same(value, _centroid_distances(weighted=False)[name == "without_translation"]):
            report.bad(name, "unweighted: weight each pixel by its intensity")
        elif same(value, _centroid_distances(level_scale=False)[name == "without_translation"]):
            report.bad(name, "level 2 positions need level 2's scale, not level 0's")
        else:
            report.bad(name, "not the distance between the two intensity-weighted centroids")
    return report.finish("the translation keeps the nucleus in place. "
                         "Your explanation is for your teacher.")


_RECIPE_FACTORS: list[Any] = [{"y": 2, "x": 2}, {"y": 2, "x": 2}, 2]


@functools.cache
def _recipe_shapes(factors: str = "recipe") -> tuple[tuple[int, ...], ...]:
    from .pyramid import _plan
    from .sample_data import load_sample

    volume = load_sample("volume")
    plan = _plan(volume, axes="zyx", scale=(2.0, 0.5, 0.5), unit="micrometer",
                 factors=_RECIPE_FACTORS if factors == "recipe" else 2, method="mean",
                 max_levels=None, chunks=(32, 64, 64), zarr_version=2, shard_chunks=None,
                 compression="blosc-zstd", channels=None)
    return tuple(tuple(s) for s in plan.shapes)


@_never_raises("ex-pyr-recipe")
def check_pyr_recipe(predicted: Any, shapes: Any, ratio: Any) -> CheckResult:
    """Check ex-pyr-recipe: predicted shapes, the pyramid's shapes, all levels / level 0.

    The other checks of the exercise (cubic voxels, factors, level 3) are the solution's
    own asserts.

    Examples
    --------
    >>> result = check_pyr_recipe(..., ..., "4/3")
    Check again:
      - ratio: wrong type: expected a number, got str
      - not answered yet: predicted, shapes
    """
    report = _Report("ex-pyr-recipe")
    expected = _recipe_shapes()
    for name, value in (("predicted", predicted), ("shapes", shapes)):
        if report.placeholder(name, value):
            continue
        try:
            given = tuple(tuple(int(n) for n in s) for s in value)
            valid = not isinstance(value, str) and all(len(s) == 3 for s in given)
        except (TypeError, ValueError):
            valid = False
        if not valid:
            report.bad(name, f"wrong type: expected a list of (z, y, x) shapes, got "
                             f"{type(value).__name__}")
        elif given == expected:
            report.good(name)
        elif given == _recipe_shapes("isotropic"):
            report.bad(name, "every axis was halved from level 1: the recipe halves y and x "
                             "only, twice, until voxels are cubic")
        elif len(given) < len(expected):
            report.bad(name, "too few levels: while only y and x are halved, z is not asked "
                             "to fit one chunk; after that every axis must")
        elif len(given) > len(expected):
            report.bad(name, "too many levels: stop when every axis the next factors halve "
                             "fits in one chunk")
        else:
            report.bad(name, "the right number of levels, but not their shapes: "
                             "use downsampled_shape with each level's factors")
    value = _number(report, "ratio", ratio, "a number")
    if value is not None:
        sizes = [math.prod(s) for s in expected]
        if _close(value, sum(sizes) / sizes[0], rel=1e-3):
            report.good("ratio")
        elif _close(value, sum(sizes) - sizes[0], rel=1e-3) or value > 2:
            report.bad("ratio", "expected all levels' bytes divided by level 0's bytes")
        elif _close(value, (sum(sizes) - sizes[0]) / sizes[0], rel=1e-3):
            report.bad("ratio", "you left level 0 out of the sum")
        else:
            report.bad("ratio", "not the sum of all levels' bytes over level 0's")
    return report.finish("the recipe's pyramid is what you predicted.")


# -- multiscale -----------------------------------------------------------------------------

_CORNER, _CORNER_CHUNKS = (2048, 4096), (256, 256)


@functools.cache
def _corner() -> Any:
    """The exercises' pyramid of the slide's corner, built once into a scratch folder."""
    from .pyramid import build_pyramid
    from .sample_data import load_sample

    corner = load_sample("slide", "dask", shape=_CORNER)
    return build_pyramid(corner, _scratch() / "corner.ome.zarr", axes="yx",
                         chunks=_CORNER_CHUNKS)


@_never_raises("ex-ms-level-for")
def check_ms_level_for(level: Any) -> CheckResult:
    """Check ex-ms-level-for: the level drawn in a panel 800 pixels wide and 400 high.

    Examples
    --------
    >>> result = check_ms_level_for(2.0)
    Check again:
      - level: wrong type: expected an int level index, got float
    """
    report = _Report("ex-ms-level-for")
    index = _integer(report, "level", level, "level index")
    if index is None:
        return report.finish("")
    pyramid = _corner()
    n = pyramid.levels
    if not -n <= index < n:
        report.bad("level", "there is no such level in this pyramid")
        return report.finish("")
    index %= n
    shape = pyramid.shapes[index]
    if index == pyramid.level_for((400, 800)):
        report.good("level")
    elif index == pyramid.level_for((800, 400)) and not (shape[0] <= 400 and shape[1] <= 800):
        report.bad("level", "that level fits (width, height): shapes and level_for take "
                            "(rows, columns), so (400, 800)")
    elif shape[0] > 400 or shape[1] > 800:
        report.bad("level", "that level does not fit a panel 400 pixels high and 800 wide")
    else:
        report.bad("level", "it fits, but a larger level fits too: a viewer draws the largest "
                            "that fits")
    return report.finish("the largest level that fits the panel.")


@_never_raises("ex-ms-roundtrip")
def check_ms_roundtrip(coarse: Any, back: Any, factor: Any) -> CheckResult:
    """Check ex-ms-roundtrip: the region at the smallest level, mapped back, and the factor.

    Examples
    --------
    >>> result = check_ms_roundtrip(..., ..., "2")
    Check again:
      - factor: wrong type: expected an int accumulated factor, got str
      - not answered yet: coarse, back
    """
    report = _Report("ex-ms-roundtrip")
    region = (slice(1000, 1100), slice(2000, 2300))
    given_coarse = _slices(report, "coarse", coarse, 2)
    given_back = _slices(report, "back", back, 2)
    given_factor = _integer(report, "factor", factor, "accumulated factor")
    if given_coarse is None and given_back is None and given_factor is None:
        return report.finish("")
    pyramid = _corner()
    expected_coarse = pyramid.roi_to_level(region, 0, -1)
    expected_back = pyramid.roi_to_level(expected_coarse, -1, 0)
    expected_factor = math.prod(pyramid.factors(i)[0] for i in range(1, pyramid.levels))
    if given_coarse is not None:
        if given_coarse == tuple(expected_coarse):
            report.good("coarse")
        elif given_coarse == region:
            report.bad("coarse", "unchanged: map the region from level 0 to the smallest "
                                 "level (-1)")
        else:
            report.bad("coarse", "not roi_to_level(region, 0, -1)")
    if given_back is not None:
        if given_back == tuple(expected_back):
            report.good("back")
        elif not all(b.start <= r.start and r.stop <= b.stop
                     for b, r in zip(given_back, region, strict=True)):
            report.bad("back", "it does not contain the original region: the mapping "
                               "rounds outward")
        elif given_back == region:
            report.bad("back", "unchanged: map to the smallest level and back")
        else:
            report.bad("back", "not the smallest level's region mapped back to level 0")
    if given_factor is not None:
        if given_factor == expected_factor:
            report.good("factor")
        elif given_factor == pyramid.factors(1)[0]:
            report.bad("factor", "that is one level's factor: multiply those of every level "
                                 "after level 0")
        elif given_factor == pyramid.levels - 1:
            report.bad("factor", "that is the number of steps, not the accumulated factor")
        else:
            report.bad("factor", "not the product of the factors of every level after level 0")
    return report.finish("the region grows to whole windows of the smallest level. "
                         "Why it must is for your teacher.")


@_never_raises("ex-ms-pixel")
def check_ms_pixel(thumbnail_value: Any, window_mean: Any, max_difference: Any) -> CheckResult:
    """Check ex-ms-pixel: the darkest thumbnail pixel, the mean under it, the bound.

    Examples
    --------
    >>> result = check_ms_pixel(..., ..., "half")
    Check again:
      - max_difference: wrong type: expected a number of grey values, got str
      - not answered yet: thumbnail_value, window_mean
    """
    report = _Report("ex-ms-pixel")
    value = _number(report, "thumbnail_value", thumbnail_value, "a pixel value")
    mean = _number(report, "window_mean", window_mean, "a mean")
    bound = _number(report, "max_difference", max_difference, "a number of grey values")
    if value is None and mean is None and bound is None:
        return report.finish("")
    pyramid = _corner()
    thumbnail = np.asarray(pyramid.level(-1)[...])
    y, x = (int(i) for i in np.unravel_index(np.argmin(thumbnail), thumbnail.shape))
    region = pyramid.roi_to_level((slice(y, y + 1), slice(x, x + 1)), -1, 0)
    level0 = pyramid.level(0)
    expected_mean = float(np.asarray(level0[region]).mean())
    steps = pyramid.levels - 1
    if value is not None:
        if value == thumbnail.min():
            report.good("thumbnail_value")
        elif value == thumbnail.max():
            report.bad("thumbnail_value", "that is the brightest pixel: take the darkest")
        else:
            report.bad("thumbnail_value", "not the darkest pixel of the smallest level")
    if mean is not None:
        if _close(mean, expected_mean, rel=1e-6):
            report.good("window_mean")
        elif _close(mean, float(np.asarray(level0[y, x]))):
            report.bad("window_mean", "that is the pixel at the thumbnail's indices in level "
                                      "0: map the pixel to level 0 with roi_to_level first")
        else:
            report.bad("window_mean", "not the mean of the level-0 pixels under the darkest "
                                      "thumbnail pixel")
    if bound is not None:
        if _close(bound, 0.5 * steps):
            report.good("max_difference")
        elif _close(bound, 0.5):
            report.bad("max_difference", "each level rounds its means: the errors of the "
                                         "levels can add up")
        else:
            report.bad("max_difference", "not the most that rounding at every level can add up to")
    return report.finish("a thumbnail pixel is the mean under it, up to rounding. "
                         "Why is for your teacher.")


@_never_raises("ex-ms-cluster")
def check_ms_cluster(on_cluster: Any, on_threads: Any) -> CheckResult:
    """Check ex-ms-cluster: the grid of chunk maxima of level 1, on the cluster and after.

    It also reports a ``dask.distributed`` client that is still open.

    Examples
    --------
    >>> result = check_ms_cluster(..., [1, 2])
    Check again:
      - on_threads: expected one value per chunk of level 1 (a 2D grid)
      - not answered yet: on_cluster
    """
    from .chunking import chunk_grid_shape, chunk_regions

    report = _Report("ex-ms-cluster")
    grids = {"on_cluster": _array(report, "on_cluster", on_cluster, "an array"),
             "on_threads": _array(report, "on_threads", on_threads, "an array")}
    for name, grid in grids.items():
        if grid is not None and grid.ndim != 2:
            report.bad(name, "expected one value per chunk of level 1 (a 2D grid)")
            grids[name] = None
    if any(g is not None for g in grids.values()):
        level1 = _corner().level(1)
        data = np.asarray(level1[...])
        grid_shape = chunk_grid_shape(data.shape, level1.chunks)
        expected = np.zeros(grid_shape, dtype=data.dtype)
        for index, region in chunk_regions(data.shape, level1.chunks):
            expected[index] = data[region].max()
        for name, grid in grids.items():
            if grid is None:
                continue
            if grid.shape != expected.shape:
                report.bad(name, "not one value per chunk of level 1: map_blocks with "
                                 "chunks=(1, 1)")
            elif np.array_equal(grid, expected):
                report.good(name)
            elif grid.max() != data.max():
                report.bad(name, "its maximum is not the maximum of level 1")
            else:
                report.bad(name, "not the brightest value of every chunk of level 1")
    if "distributed" in sys.modules:
        try:
            sys.modules["distributed"].default_client()
        except ValueError:
            pass
        else:
            report.bad("client", "a dask.distributed Client is still open: close the client "
                                 "and the cluster")
    return report.finish("the cluster computed the same grid, and it is closed.")


# -- processing -----------------------------------------------------------------------------

_TILE_CORNER, _TILE_CHUNK, _MEDIAN = (1024, 1024), 256, 7


@functools.cache
def _tile_corner() -> np.ndarray:
    from .sample_data import load_sample

    return np.asarray(load_sample("slide", "numpy", shape=_TILE_CORNER))


@functools.cache
def _median_truth() -> np.ndarray:
    from scipy import ndimage

    return np.asarray(ndimage.median_filter(_tile_corner(), size=_MEDIAN, mode="reflect"))


@_never_raises("ex-tiles-depth")
def check_tiles_depth(short: Any, exact: Any, exact_depth: Any) -> CheckResult:
    """Check ex-tiles-depth: the results at depths 2 and 3, and the depth that is exact.

    Where the differences lie, and why, is for the teacher to read.

    Examples
    --------
    >>> result = check_tiles_depth(..., ..., "three")
    Check again:
      - exact_depth: wrong type: expected an int depth, got str
      - not answered yet: short, exact
    """
    report = _Report("ex-tiles-depth")
    arrays = {"short": _array(report, "short", short, "the result of map_tiles"),
              "exact": _array(report, "exact", exact, "the result of map_tiles")}
    depth = _integer(report, "exact_depth", exact_depth, "depth")
    if any(a is not None for a in arrays.values()):
        truth = _median_truth()
        for name, array in arrays.items():
            if array is None:
                continue
            if array.shape != truth.shape:
                report.bad(name, "not the shape of the 1024 x 1024 corner")
                continue
            differ = array != truth
            if name == "exact":
                if not differ.any():
                    report.good(name)
                elif arrays["short"] is not None and np.array_equal(arrays["short"], truth):
                    report.bad(name, "this differs from the whole-image filter while `short` "
                                     "does not: are the two swapped?")
                else:
                    report.bad(name, "not the whole-image result: is the filter a 7 x 7 median "
                                     "with mode='reflect', and the depth the one it needs?")
                continue
            rows, cols = np.nonzero(differ)

            def to_border(i: np.ndarray) -> np.ndarray:
                half = _TILE_CHUNK // 2
                return np.asarray(np.abs((i + half) % _TILE_CHUNK - half))

            if not differ.any():
                report.bad(name, "it equals the whole-image result: did you pass depth=2?")
            elif np.minimum(to_border(rows), to_border(cols)).max() > _MEDIAN // 2:
                report.bad(name, "it differs away from chunk borders: chunks of 256 x 256, and "
                                 "the same 7 x 7 median with mode='reflect'?")
            else:
                report.good(name)
    if depth is not None:
        if depth == _MEDIAN // 2:
            report.good("exact_depth")
        elif depth < _MEDIAN // 2:
            report.bad("exact_depth", "at that depth pixels next to chunk borders still differ")
        else:
            report.bad("exact_depth", "that is exact, but more than the filter needs: "
                                      "which is the smallest exact depth?")
    return report.finish("the halo must reach as far as the filter looks. "
                         "Where the differences lie is for your teacher.")


@_never_raises("ex-tiles-resume")
def check_tiles_resume(first_calls: Any, resumed_calls: Any, result: Any) -> CheckResult:
    """Check ex-tiles-resume: calls of each run, and the resumed result (``block // 2``).

    Why "at least" is for the teacher to read.

    Examples
    --------
    >>> result = check_tiles_resume(6.0, ..., ...)
    Check again:
      - first_calls: wrong type: expected an int number of calls, got float
      - not answered yet: resumed_calls, result
    """
    report = _Report("ex-tiles-resume")
    nchunks = math.prod(-(-n // _TILE_CHUNK) for n in _TILE_CORNER)
    fail_at = 7
    first = _integer(report, "first_calls", first_calls, "number of calls")
    resumed = _integer(report, "resumed_calls", resumed_calls, "number of calls")
    if first is not None:
        # Calls after the 7th fail too, and other threads may have started more chunks:
        # only fewer than 7 calls is wrong.
        if first < fail_at:
            report.bad("first_calls", "the first run should fail on the 7th call")
        else:
            report.good("first_calls")
    if resumed is not None:
        if resumed >= nchunks:
            report.bad("resumed_calls", "the resumed run computed every chunk: pass "
                                        "resume=True and the same destination")
        elif resumed <= 0:
            report.bad("resumed_calls", "the resumed run made no call: did you reset the "
                                        "count between the runs?")
        elif first is not None and first + resumed < nchunks:
            report.bad("resumed_calls", "the two runs together did not cover every chunk: "
                                        "count the calls of each run separately")
        else:
            report.good("resumed_calls")
    array = _array(report, "result", result, "the resumed array")
    if array is not None:
        corner = _tile_corner()
        if array.shape != corner.shape:
            report.bad("result", "not the shape of the 1024 x 1024 corner")
        elif np.array_equal(array, corner // 2):
            report.good("result")
        else:
            report.bad("result", "it differs from an uninterrupted run of block // 2")
    return report.finish("the resumed run did only what was missing. "
                         "Why 'at least' is for your teacher.")


_TIFF_SLIDE, _TIFF_REGION = (4000, 3500), (slice(3000, 4000), slice(2000, 3500))


@_never_raises("ex-tiles-tiff")
def check_tiles_tiff(level0: Any, nlevels: Any) -> CheckResult:
    """Check ex-tiles-tiff: level 0 of the converted TIFF and its number of levels.

    Why that many levels is for the teacher to read.

    Examples
    --------
    >>> result = check_tiles_tiff(..., "four")
    Check again:
      - nlevels: wrong type: expected an int number of levels, got str
      - not answered yet: level0
    """
    from .pyramid import _plan
    from .sample_data import load_sample

    report = _Report("ex-tiles-tiff")
    array = _array(report, "level0", level0, "level 0 of the converted image")
    count = _integer(report, "nlevels", nlevels, "number of levels")
    if array is None and count is None:
        return report.finish("")
    region: Any = load_sample("slide", "dask", shape=_TIFF_SLIDE)[_TIFF_REGION]
    if array is not None:
        expected = np.asarray(region)
        if array.shape == expected.shape[::-1]:
            report.bad("level0", "transposed: the region is 1000 rows by 1500 columns")
        elif array.shape != expected.shape:
            report.bad("level0", "not the shape of the region")
        elif not np.array_equal(array, expected):
            report.bad("level0", "not the region's pixels: rows from 3000, columns from 2000")
        else:
            report.good("level0")
    if count is not None:
        plan = _plan(region, axes="yx", scale=None, unit="micrometer", factors=2, method="mean",
                     max_levels=None, chunks=(256, 256), zarr_version=2, shard_chunks=None,
                     compression="blosc-zstd", channels=None)
        n = len(plan.shapes)
        if count == n:
            report.good("nlevels")
        elif count > n:
            report.bad("nlevels", "too many: levels stop once every axis fits in one chunk")
        else:
            report.bad("nlevels", "too few: the first level that fits in one chunk is the "
                                  "last, and it counts")
    return report.finish("level 0 is the region, and the levels stop where they should. "
                         "Why is for your teacher.")


# -- zarr_v3 ---------------------------------------------------------------------------------

_KEYS_SHAPE, _KEYS_CHUNKS, _KEYS_PIXEL = (1000, 1500), (256, 256), (700, 1300)


def _chunk_keys() -> tuple[str, str, tuple[int, ...]]:
    """The Zarr v3 and v2 keys of the chunk holding the exercise's pixel, as zarr writes them."""
    keys = []
    for zarr_format in (3, 2):
        with tempfile.TemporaryDirectory(dir=_scratch()) as tmp:
            array = zarr.create_array(tmp, shape=_KEYS_SHAPE, chunks=_KEYS_CHUNKS,
                                      dtype="uint8", zarr_format=zarr_format)
            array[_KEYS_PIXEL] = 1
            names = [p.relative_to(tmp).as_posix() for p in Path(tmp).rglob("*")
                     if p.is_file() and not p.name.startswith(".") and p.name != "zarr.json"]
        keys.append(names[0])
    grid = tuple(p // c for p, c in zip(_KEYS_PIXEL, _KEYS_CHUNKS, strict=True))
    return keys[0], keys[1], grid


def _key_problem(key: str, expected: str, grid: tuple[int, ...], v3: bool) -> str | None:
    """What is wrong with ``key`` as the chunk's key (None: it is right)."""
    if key == expected:
        return None
    parts = key.replace("/", ".").split(".")
    digits = [p for p in parts if p.isdigit()]
    numbers = tuple(int(p) for p in digits)
    if v3 and not key.startswith("c"):
        return "Zarr v3's default encoding starts every chunk key with a prefix"
    if not v3 and key.startswith("c"):
        return "Zarr v2 keys have no prefix: that is the v3 form"
    if numbers == grid[::-1]:
        return "the indices are in the wrong order: first the row (y), then the column (x)"
    if numbers == tuple(p for p in _KEYS_PIXEL):
        return "these are pixel coordinates: a key holds the chunk's position in the grid"
    if numbers == tuple(g + 1 for g in grid):
        return "chunk indices count from 0"
    if numbers == grid:
        return ("right indices, wrong separator: zarr-python's default is '/' for v3 and '.'"
                " for v2")
    return "not the key of the chunk holding that pixel: divide by the chunk shape"


@_never_raises("ex-v3-keys")
def check_v3_keys(v3_key: Any, v2_key: Any) -> CheckResult:
    """Check ex-v3-keys: the keys of the chunk holding pixel (700, 1300), in v3 and v2.

    Examples
    --------
    >>> result = check_v3_keys(..., 25)
    Check again:
      - v2_key: wrong type: expected the key as a str, got int
      - not answered yet: v3_key
    """
    report = _Report("ex-v3-keys")
    answers = {"v3_key": v3_key, "v2_key": v2_key}
    given = {}
    for name, value in answers.items():
        if report.placeholder(name, value):
            continue
        if not isinstance(value, str):
            report.bad(name, f"wrong type: expected the key as a str, got {type(value).__name__}")
            continue
        given[name] = value.strip().strip("/")
    if given:
        v3_expected, v2_expected, grid = _chunk_keys()
        for name, expected in (("v3_key", v3_expected), ("v2_key", v2_expected)):
            if name not in given:
                continue
            problem = _key_problem(given[name], expected, grid, name == "v3_key")
            if problem:
                report.bad(name, problem)
            else:
                report.good(name)
    return report.finish("both keys are the ones zarr-python writes.")


_INDEX_SHAPE, _INDEX_CHUNKS, _INDEX_SHARDS = (128, 256, 256), (32, 64, 64), (64, 128, 128)


def _index_answers() -> tuple[int, int, int]:
    """Shard files, chunks per shard and index bytes (bytes + crc32c) of the exercise."""
    files = math.prod(-(-n // s) for n, s in zip(_INDEX_SHAPE, _INDEX_SHARDS, strict=True))
    per_shard = math.prod(s // c for s, c in zip(_INDEX_SHARDS, _INDEX_CHUNKS, strict=True))
    return files, per_shard, 16 * per_shard + 4


@_never_raises("ex-v3-index")
def check_v3_index(n_files: Any, chunks_per_shard: Any, index_bytes: Any) -> CheckResult:
    """Check ex-v3-index: shard files, inner chunks per shard and the index's size in bytes.

    Examples
    --------
    >>> result = check_v3_index(8.0, ..., ...)
    Check again:
      - n_files: wrong type: expected an int number of files, got float
      - not answered yet: chunks_per_shard, index_bytes
    """
    report = _Report("ex-v3-index")
    files, per_shard, index = _index_answers()
    total_chunks = math.prod(-(-n // c) for n, c in
                             zip(_INDEX_SHAPE, _INDEX_CHUNKS, strict=True))
    count = _integer(report, "n_files", n_files, "number of files")
    if count is not None:
        if count == files:
            report.good("n_files")
        elif count == total_chunks:
            report.bad("n_files", "that is the number of chunks: a file holds a whole shard")
        elif count == files + 1:
            report.bad("n_files", "count the shard files only, not zarr.json")
        else:
            report.bad("n_files", "not the number of shards: divide the shape by the shard "
                                  "shape along each axis")
    inner = _integer(report, "chunks_per_shard", chunks_per_shard, "number of chunks")
    if inner is not None:
        if inner == per_shard:
            report.good("chunks_per_shard")
        elif inner in (2, 4):
            report.bad("chunks_per_shard", "count along every axis of the shard, z included")
        else:
            report.bad("chunks_per_shard", "not the inner chunks of one shard: divide the "
                                            "shard shape by the chunk shape along each axis")
    size = _integer(report, "index_bytes", index_bytes, "number of bytes")
    if size is not None:
        if size == index:
            report.good("index_bytes")
        elif size == index - 4:
            report.bad("index_bytes", "the index codecs of zarr-python add a checksum")
        elif size == 8 * per_shard + 4 or size == 8 * per_shard:
            report.bad("index_bytes", "each entry holds two 64-bit numbers, offset and nbytes")
        else:
            report.bad("index_bytes", "not the size of the index: entries of offset and nbytes "
                                      "per inner chunk, and a checksum")
    return report.finish("the shard files, their chunks and the index as the sharding codec "
                         "lays them out.")


_PARALLEL_IMAGE, _PARALLEL_CHUNK, _PARALLEL_TILE = 2048, 128, 512
_PARALLEL_LAYOUTS = (1, 2, 4, 8, 16)  # chunks per shard along each side


@_never_raises("ex-v3-parallel")
def check_v3_parallel(safe: Any, tasks_per_shard: Any) -> CheckResult:
    """Check ex-v3-parallel: the layouts that tasks of 512 x 512 tiles can write in parallel
    without sharing a shard, and how many tasks share one shard of 8 x 8 chunks.

    Examples
    --------
    >>> result = check_v3_parallel("all", ...)
    Check again:
      - safe: wrong type: expected a list of chunks per shard side (ints), got str
      - not answered yet: tasks_per_shard
    """
    report = _Report("ex-v3-parallel")
    expected = sorted(k for k in _PARALLEL_LAYOUTS if _PARALLEL_TILE % (k * _PARALLEL_CHUNK) == 0)
    if not report.placeholder("safe", safe):
        if isinstance(safe, str) or not isinstance(safe, Sequence | set | frozenset) or not all(
            isinstance(k, int | np.integer) and not isinstance(k, bool | np.bool_) for k in safe
        ):
            report.bad("safe", f"wrong type: expected a list of chunks per shard side (ints), "
                               f"got {type(safe).__name__}")
        else:
            chosen = sorted(set(int(k) for k in safe))
            unknown = [k for k in chosen if k not in _PARALLEL_LAYOUTS]
            if unknown:
                report.bad("safe", "choose among the chapter's layouts: 1 (no shards), 2, 4, "
                                   "8 and 16 chunks per shard side")
            elif chosen == expected:
                report.good("safe")
            elif set(chosen) > set(expected):
                report.bad("safe", "too many: in some of these layouts a shard is larger than "
                                   "a task's tile, so several tasks write into it")
            elif set(chosen) < set(expected):
                report.bad("safe", "too few: a layout is safe whenever each shard lies inside "
                                   "one task's tile")
            else:
                report.bad("safe", "compare each shard's side in pixels with the tile's")
    count = _integer(report, "tasks_per_shard", tasks_per_shard, "number of tasks")
    if count is not None:
        side = 8 * _PARALLEL_CHUNK
        sharing = (side // _PARALLEL_TILE) ** 2
        if count == sharing:
            report.good("tasks_per_shard")
        elif count == side // _PARALLEL_TILE:
            report.bad("tasks_per_shard", "that is along one side: count the tiles in both "
                                          "directions")
        elif count == 1:
            report.bad("tasks_per_shard", "a shard of 8 x 8 chunks is larger than one tile")
        else:
            report.bad("tasks_per_shard", "not the number of 512 x 512 tiles in one shard of "
                                          "8 x 8 chunks of 128 x 128")
    return report.finish("only shards inside one task's tile are safe to write in parallel.")


_CONVERT_SHAPE, _CONVERT_CHUNKS, _CONVERT_SHARD = (1024, 1024), (128, 128), (1, 8)


@functools.cache
def _convert_answers() -> tuple[np.ndarray, tuple[int, ...]]:
    """The slide's corner of the exercise, and the shard files of each level of its copy."""
    from .sample_data import load_sample

    region = np.asarray(load_sample("slide", shape=_CONVERT_SHAPE))
    shapes: list[tuple[int, ...]] = [_CONVERT_SHAPE]  # halved until one chunk holds a level
    while any(n > c for n, c in zip(shapes[-1], _CONVERT_CHUNKS, strict=True)):
        shapes.append(tuple(-(-n // 2) for n in shapes[-1]))
    files = []
    for shape in shapes:
        shard = [min(c * k, -(-n // c) * c) for n, c, k in
                 zip(shape, _CONVERT_CHUNKS, _CONVERT_SHARD, strict=True)]
        files.append(math.prod(-(-n // s) for n, s in zip(shape, shard, strict=True)))
    return region, tuple(files)


@_never_raises("ex-v3-convert")
def check_v3_convert(image: Any, level_files: Any) -> CheckResult:
    """Check ex-v3-convert: the converted image (a path or `MultiscaleImage`) and the shard
    files of each of its levels.

    Examples
    --------
    >>> result = check_v3_convert(..., [16.0])
    Check again:
      - level_files: wrong type: expected a list of ints, one per level, got list
      - not answered yet: image
    """
    from .multiscale import MultiscaleImage
    from .ome import validate

    report = _Report("ex-v3-convert")
    opened = None
    if not report.placeholder("image", image):
        try:
            opened = image if isinstance(image, MultiscaleImage) else MultiscaleImage.open(image)
        except Exception:
            report.bad("image", f"not an OME-Zarr image: give the MultiscaleImage that "
                                f"convert_image returned, or its path, got "
                                f"{type(image).__name__}")
    files: tuple[int, ...] | None = None
    if not report.placeholder("level_files", level_files):
        if isinstance(level_files, str) or not isinstance(level_files, Sequence) or not all(
            isinstance(n, int | np.integer) and not isinstance(n, bool | np.bool_)
            for n in level_files
        ):
            report.bad("level_files", f"wrong type: expected a list of ints, one per level, "
                                      f"got {type(level_files).__name__}")
        else:
            files = tuple(int(n) for n in level_files)
    if opened is None and files is None:
        return report.finish("")
    region, expected_files = _convert_answers()
    if opened is not None:
        level0 = opened.level(0)
        if opened.version != "0.5":
            report.bad("image", "this is not OME-Zarr 0.5: convert with zarr_version=3")
        elif level0.shards is None:
            report.bad("image", "the copy has no shards: pass shard_chunks")
        elif tuple(level0.chunks) != _CONVERT_CHUNKS:
            report.bad("image", "the chunks changed: keep the source's 128 x 128 chunks")
        elif tuple(level0.shards) != tuple(c * k for c, k in
                                           zip(_CONVERT_CHUNKS, _CONVERT_SHARD, strict=True)):
            report.bad("image", "not the shards the exercise asks for: one row of chunks "
                                "across the whole width")
        elif level0.shape != region.shape or not np.array_equal(level0[...], region):
            report.bad("image", "level 0 is not the slide's top-left corner, pixel for pixel")
        else:
            validate(opened._group)
            report.good("image")
    if files is not None:
        if files == expected_files:
            report.good("level_files")
        elif len(files) != len(expected_files):
            report.bad("level_files", "give one number per level of the image")
        elif files == tuple(n + 1 for n in expected_files):
            report.bad("level_files", "count the shard files only, not zarr.json")
        elif files[0] == expected_files[0]:
            report.bad("level_files", "level 0 is right; a shard is clipped to its level, "
                                      "so smaller levels have fewer, narrower shards")
        else:
            report.bad("level_files", "not the shard files of each level: one shard per row "
                                      "of chunks")
    return report.finish("the copy is OME-Zarr 0.5 with one shard per row of chunks, pixel "
                         "for pixel the slide's corner.")


# -- network --------------------------------------------------------------------------------

_NET_SIDE = 1024  # the corner of the slide the network exercises serve
_NET_CHUNK = 128
_NET_SHARD = 4  # chunks per shard along each axis
_NET_REGION = ((100, 400), (250, 600))
_NET_ONE_CHUNK = ((128, 256), (128, 256))
_NET_LATENCY_S = 0.03


@functools.cache
def _net_folder() -> Path:
    """A folder holding the corner pyramid, chunked and sharded (Zarr v3), built once."""
    from .convert import convert_image
    from .pyramid import build_pyramid
    from .sample_data import load_sample

    folder = _scratch() / "network"
    folder.mkdir(exist_ok=True)
    corner = load_sample("slide", "dask", shape=(_NET_SIDE, _NET_SIDE))
    build_pyramid(corner, folder / "corner.ome.zarr", axes="yx",
                  chunks=(_NET_CHUNK, _NET_CHUNK), zarr_version=3)
    convert_image(folder / "corner.ome.zarr", folder / "sharded.ome.zarr",
                  shard_chunks=(_NET_SHARD, _NET_SHARD))
    return folder


@functools.cache
def _net_log(name: str, region: tuple[tuple[int, int], ...]) -> tuple[Any, ...]:
    """The server's log of reading ``region`` of level 0 of ``name`` (``ServedRequest``s)."""
    from .multiscale import MultiscaleImage
    from .serve import serve_directory

    with serve_directory(_net_folder()) as server:
        image = MultiscaleImage.open(f"{server.url}/{name}")
        server.clear_requests()
        image.level(0)[tuple(slice(a, b) for a, b in region)]
        return server.requests


@_never_raises("ex-net-requests")
def check_net_requests(predicted: Any, counted: Any, sharded: Any) -> CheckResult:
    """Check ex-net-requests: the chunks under a region, and the requests of reading it.

    Examples
    --------
    >>> result = check_net_requests(..., 2.5, ...)
    Check again:
      - counted: wrong type: expected an int number of requests, got float
      - not answered yet: predicted, sharded
    """
    report = _Report("ex-net-requests")
    given_predicted = _integer(report, "predicted", predicted, "number of chunks")
    given_counted = _integer(report, "counted", counted, "number of requests")
    given_sharded = _integer(report, "sharded", sharded, "number of requests")
    if given_predicted is None and given_counted is None and given_sharded is None:
        return report.finish("")
    if given_predicted is not None:
        expected = math.prod((b - 1) // _NET_CHUNK - a // _NET_CHUNK + 1
                             for a, b in _NET_REGION)
        by_size = math.prod(-(-(b - a) // _NET_CHUNK) for a, b in _NET_REGION)
        if given_predicted == expected:
            report.good("predicted")
        elif given_predicted == by_size:
            report.bad("predicted", "that is the region's size in chunks, but it does not "
                                    "start on a chunk boundary: count the chunks from "
                                    "start // 128 to (stop - 1) // 128 along each axis")
        else:
            report.bad("predicted", "not the number of chunks under the region")
    plain = len(_net_log("corner.ome.zarr", _NET_REGION))
    if given_counted is not None:
        if given_counted == plain:
            report.good("counted")
        elif given_counted > plain:
            report.bad("counted", "more than the read made: clear the server's log after "
                                  "opening the image (server.clear_requests()), or the "
                                  "metadata requests are counted too")
        else:
            report.bad("counted", "fewer than the read made: count every request in the log")
    if given_sharded is not None:
        log = _net_log("sharded.ome.zarr", _NET_REGION)
        if given_sharded == len(log):
            report.good("sharded")
        elif given_sharded == plain:
            report.bad("sharded", "as many as without shards: a read of part of a shard "
                                  "also asks for the shard's index")
        elif given_sharded == len({r.path for r in log}):
            report.bad("sharded", "one per shard: each chunk read from a shard is a Range "
                                  "request of its own")
        elif given_sharded > len(log):
            report.bad("sharded", "more than the read made: clear the log after opening "
                                  "the sharded copy")
        else:
            report.bad("sharded", "not the requests of reading the region of the sharded "
                                  "copy")
    return report.finish("one request per chunk, and with shards one more per shard.")


@_never_raises("ex-net-latency")
def check_net_latency(rounds_default: Any, rounds_64: Any, measured: Any) -> CheckResult:
    """Check ex-net-latency: the rounds of reading 64 chunks, and the time measured.

    Why the time is longer than the rounds alone is for the teacher to read.

    Examples
    --------
    >>> result = check_net_latency(..., 1, "fast")
    Check again:
      - measured: wrong type: expected a time in seconds, got str
      - not answered yet: rounds_default
    """
    report = _Report("ex-net-latency")
    given_default = _integer(report, "rounds_default", rounds_default, "number of rounds")
    given_64 = _integer(report, "rounds_64", rounds_64, "number of rounds")
    given_time = _number(report, "measured", measured, "a time in seconds")
    if given_default is None and given_64 is None and given_time is None:
        return report.finish("")
    chunks = (_NET_SIDE // _NET_CHUNK) ** 2
    concurrency = int(zarr.config.get("async.concurrency"))
    expected = -(-chunks // concurrency)
    if given_default is not None:
        if given_default == expected:
            report.good("rounds_default")
        elif given_default == chunks // concurrency:
            report.bad("rounds_default", "rounded down: the last round, even a partial one, "
                                         "waits a full latency too")
        elif given_default == chunks:
            report.bad("rounds_default", "that is one request after another: zarr-python "
                                         "sends up to async.concurrency requests at once")
        else:
            report.bad("rounds_default", "not the rounds of the region's chunks at the "
                                         "default async.concurrency")
    if given_64 is not None:
        if given_64 == -(-chunks // 64):
            report.good("rounds_64")
        elif given_64 == 0:
            report.bad("rounds_64", "a read waits for at least one round")
        else:
            report.bad("rounds_64", "not the rounds with 64 requests at a time")
    if given_time is not None:
        least = expected * _NET_LATENCY_S
        if given_time > 10 and 0.95 * least <= given_time / 1000 <= 10:
            report.bad("measured", "that looks like milliseconds: give the time in seconds")
        elif given_time < 0.95 * least:
            report.bad("measured", "shorter than the rounds allow: time only the read of "
                                   "the whole of level 0, on a server with delay_s=0.03")
        elif given_time > 10:
            report.bad("measured", "far too long for this read: time only the read, not "
                                   "the building of the pyramid")
        else:
            report.good("measured")
    return report.finish("the rounds set the least time, and the read took a little more. "
                         "Why it is more is for your teacher.")


@_never_raises("ex-net-shard")
def check_net_shard(index_range: Any, index_bytes: Any, chunk_bytes: Any) -> CheckResult:
    """Check ex-net-shard: the index's Range header and size, and the chunk's bytes.

    Why the index has that size is for the teacher to read.

    Examples
    --------
    >>> result = check_net_shard(..., 12.5, ...)
    Check again:
      - index_bytes: wrong type: expected an int number of bytes, got float
      - not answered yet: index_range, chunk_bytes
    """
    report = _Report("ex-net-shard")
    given_range: str | None = None
    if not report.placeholder("index_range", index_range):
        if isinstance(index_range, str):
            given_range = index_range.strip()
        else:
            report.bad("index_range", f"wrong type: expected the header as a str, got "
                                      f"{type(index_range).__name__}")
    given_bytes = _integer(report, "index_bytes", index_bytes, "number of bytes")
    given_chunk = _integer(report, "chunk_bytes", chunk_bytes, "number of bytes")
    if given_range is None and given_bytes is None and given_chunk is None:
        return report.finish("")
    first, second = _net_log("sharded.ome.zarr", _NET_ONE_CHUNK)[:2]
    if given_range is not None:
        if given_range == first.range:
            report.good("index_range")
        elif given_range == second.range:
            report.bad("index_range", "that is the chunk's range, the second request; the "
                                      "first asks for the shard's index")
        elif given_range.removeprefix("Range:").strip() == first.range:
            report.good("index_range")
        elif not given_range.startswith("bytes="):
            report.bad("index_range", "give the header's value as the log shows it, "
                                      "starting with its unit, bytes=")
        else:
            report.bad("index_range", "not the Range header of the first request")
    if given_bytes is not None:
        entries = _NET_SHARD * _NET_SHARD * 16
        if given_bytes == first.bytes_sent:
            report.good("index_bytes")
        elif given_bytes == entries:
            report.bad("index_bytes", "that leaves out the checksum at the end of the index")
        elif given_bytes == 16:
            report.bad("index_bytes", "that is one chunk's entry: the index has an entry for "
                                      "every chunk the shard can hold")
        else:
            report.bad("index_bytes", "not the bytes the first range asks for")
    if given_chunk is not None:
        if given_chunk == second.bytes_sent:
            report.good("chunk_bytes")
        elif given_chunk == _NET_CHUNK * _NET_CHUNK:
            report.bad("chunk_bytes", "that is the chunk's size in memory; the server sends "
                                      "it as stored, compressed")
        else:
            report.bad("chunk_bytes", "not the bytes sent for the chunk: the second "
                                      "request's bytes_sent")
    return report.finish("the index first, then just the chunk's bytes. Why the index has "
                         "that size is for your teacher.")
