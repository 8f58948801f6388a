"""Argument checks shared by every module: one test per kind of argument.

The rule everywhere in the package: a value of the wrong *type* raises `TypeError`, a
value of the right type that is not acceptable raises `ValueError`, and the message
names the argument, repeats the value and says what would be accepted::

    factor=2.5 must be an integer >= 1

Each ``as_*`` function checks one kind of argument and returns it normalised (a Python
``int``, a ``tuple``, a `pathlib.Path`, a `numpy.dtype`), so the caller keeps the
normalised value and never checks again. The type aliases that several modules share
(`ZarrVersion`, `Compression`, `PIXEL_TYPES`) are defined here, once.
"""

from __future__ import annotations

import math
import numbers
import operator
import os
import re
import urllib.parse
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import numpy as np

__all__ = [
    "COMPRESSIONS",
    "PIXEL_TYPES",
    "Compression",
    "ZarrVersion",
    "as_bool",
    "as_choice",
    "as_compression",
    "as_dtype",
    "as_float",
    "as_int",
    "as_ints",
    "as_path",
    "as_per_axis",
    "as_url",
    "as_zarr_version",
    "available_memory",
    "check_fits_in_memory",
    "check_known_shape",
    "check_sharding",
    "is_url",
    "one_of",
]

#: Zarr format versions the package writes: 2 (with OME-Zarr 0.4) or 3 (with 0.5).
ZarrVersion = Literal[2, 3]

#: Blosc with byte shuffle, as in Acquire's Zarr driver, or no compression.
Compression = Literal["blosc-lz4", "blosc-zstd"] | None
#: The accepted values of ``compression``, None (no compression) first, then the Blosc codecs.
COMPRESSIONS: tuple[Compression, ...] = (None, "blosc-lz4", "blosc-zstd")

#: Camera pixel types, by numpy name (Acquire's U8, I8, U16, I16, F32).
PIXEL_TYPES: tuple[str, ...] = ("uint8", "int8", "uint16", "int16", "float32")

T = TypeVar("T")

# The URL schemes the package reads (through fsspec): HTTP and HTTPS.
_URL_SCHEMES: tuple[str, ...] = ("http", "https")
# "scheme://", as URLs start (RFC 3986); two letters at least, so that a Windows drive
# ("C://data") stays a path.
_URL_START = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+://")


def _is_bool(value: object) -> bool:
    return isinstance(value, bool | np.bool_)


def as_int(
    name: str,
    value: object,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    accepted: str | None = None,
) -> int:
    """``value`` as a Python int: any integer type (``operator.index``), never a bool.

    A float such as ``2.0`` or ``2.5`` is a `TypeError`: a size or a factor that is
    not a whole number is a mistake to report, not a value to round.

    Examples
    --------
    >>> as_int("factor", np.int64(3), minimum=1)
    3
    >>> as_int("factor", 2.5, minimum=1)
    Traceback (most recent call last):
    ...
    TypeError: factor=2.5 must be an integer >= 1
    >>> as_int("factor", 0, minimum=1)
    Traceback (most recent call last):
    ...
    ValueError: factor=0 must be an integer >= 1
    """
    if accepted is None:
        accepted = "an integer" + _bounds(minimum, maximum)
    if _is_bool(value):
        raise TypeError(f"{name}={value!r} must be {accepted}, not a bool")
    try:
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name}={value!r} must be {accepted}") from None
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ValueError(f"{name}={value!r} must be {accepted}")
    return number


def _bounds(minimum: float | None, maximum: float | None, *, strict_minimum: bool = False) -> str:
    low = ">" if strict_minimum else ">="
    if minimum is not None and maximum is not None:
        return f" from {minimum} to {maximum}"
    if minimum is not None:
        return f" {low} {minimum}"
    if maximum is not None:
        return f" <= {maximum}"
    return ""


def as_bool(name: str, value: object) -> bool:
    """``value`` as a bool; only ``True`` and ``False`` (and numpy's) are accepted.

    Examples
    --------
    >>> as_bool("overwrite", np.True_)
    True
    >>> as_bool("overwrite", "yes")
    Traceback (most recent call last):
    ...
    TypeError: overwrite='yes' must be True or False
    """
    if not _is_bool(value):
        raise TypeError(f"{name}={value!r} must be True or False")
    return bool(value)


def as_float(
    name: str,
    value: object,
    *,
    minimum: float | None = None,
    positive: bool = False,
    accepted: str | None = None,
) -> float:
    """``value`` as a finite float; with ``positive``, one above zero.

    NaN and infinities are refused: a pixel size or a scale must be a real length.

    Examples
    --------
    >>> as_float("scale", 0.5, positive=True)
    0.5
    >>> as_float("scale", float("nan"), positive=True)
    Traceback (most recent call last):
    ...
    ValueError: scale=nan must be a finite number > 0
    """
    if accepted is None:
        accepted = "a finite number" + (" > 0" if positive else _bounds(minimum, None))
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}={value!r} must be {accepted}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond the float range
        raise ValueError(f"{name}={value!r} must be {accepted}") from None
    if (
        not math.isfinite(number)
        or (positive and number <= 0)
        or (minimum is not None and number < minimum)
    ):
        raise ValueError(f"{name}={value!r} must be {accepted}")
    return number


def _is_sequence(value: object) -> bool:
    return isinstance(value, Sequence | np.ndarray) and not isinstance(value, str | bytes)


def as_ints(
    name: str,
    value: object,
    length: int | None = None,
    *,
    minimum: int | None = None,
    accepted: str | None = None,
) -> tuple[int, ...]:
    """A sequence of integers (of ``length`` entries, if given) as a tuple of ints.

    Examples
    --------
    >>> as_ints("shape", [4, np.int32(6)], 2, minimum=1)
    (4, 6)
    >>> as_ints("shape", (4, 0), 2, minimum=1)
    Traceback (most recent call last):
    ...
    ValueError: shape=(4, 0) must be a sequence of 2 integers >= 1
    """
    if accepted is None:
        count = "" if length is None else f"{length} "
        accepted = f"a sequence of {count}integers{_bounds(minimum, None)}"
    if not _is_sequence(value):
        raise TypeError(f"{name}={value!r} must be {accepted}")
    values = list(cast(Sequence[object], value))
    if length is not None and len(values) != length:
        raise ValueError(f"{name}={value!r} must be {accepted}")
    for v in values:
        if _is_bool(v) or not isinstance(v, numbers.Integral | np.integer):
            raise TypeError(f"{name}={value!r} must be {accepted}")
    numbers_ = tuple(operator.index(cast(Any, v)) for v in values)
    if minimum is not None and any(v < minimum for v in numbers_):
        raise ValueError(f"{name}={value!r} must be {accepted}")
    return numbers_


def as_per_axis(
    name: str,
    value: object,
    axes: str,
    *,
    default: T,
    convert: Callable[[str, object], T],
    accepted: str,
) -> tuple[T, ...]:
    """One value per axis of ``axes`` from one value, a sequence or a mapping by axis name.

    ``convert(label, item)`` checks and normalises each item; axes a mapping leaves out
    get ``default``.

    Examples
    --------
    >>> positive = lambda label, v: as_int(label, v, minimum=1)
    >>> as_per_axis("factors", {"x": 2}, "yx", default=1, convert=positive,
    ...             accepted="an int or one per axis")
    (1, 2)
    >>> as_per_axis("factors", {"q": 2}, "yx", default=1, convert=positive,
    ...             accepted="an int or one per axis")
    Traceback (most recent call last):
    ...
    ValueError: factors={'q': 2} names axes not in axes='yx': ['q']; accepted: ...
    """
    if isinstance(value, Mapping):
        unknown = [key for key in value if key not in axes]
        if unknown:
            raise ValueError(
                f"{name}={value!r} names axes not in axes={axes!r}: {unknown}; "
                f"accepted: {accepted}"
            )
        return tuple(
            convert(f"{name}[{a!r}]", value[a]) if a in value else default for a in axes
        )
    if _is_sequence(value):
        items = list(cast(Sequence[object], value))
        if len(items) != len(axes):
            raise ValueError(
                f"{name}={value!r} has {len(items)} entries but axes={axes!r} has "
                f"{len(axes)}; accepted: {accepted}"
            )
        return tuple(convert(f"{name}[{k}]", v) for k, v in enumerate(items))
    single = convert(name, value)
    return (single,) * len(axes)


def one_of(name: str, value: T, choices: Collection[T]) -> T:
    """``value`` if it is one of ``choices``, else a `ValueError` listing them.

    Examples
    --------
    >>> one_of("method", "mean", ("mean", "mode"))
    'mean'
    >>> one_of("method", "median", ("mean", "mode"))
    Traceback (most recent call last):
    ...
    ValueError: method='median' must be one of ['mean', 'mode']
    """
    # bool == 1 and 1.0 == 1: only an exact type match counts as a choice.
    if not any(value == c and type(value) is type(c) for c in choices):
        raise ValueError(f"{name}={value!r} must be one of {list(choices)}")
    return value


def as_choice(name: str, value: object, choices: Collection[str]) -> str:
    """``value`` as one of the strings ``choices``; a value that is not a string is a
    `TypeError`, an unknown string a `ValueError` (`one_of` makes both ValueErrors).

    A `str` subclass (``numpy.str_``, a ``StrEnum`` member) counts as its plain string,
    which is what is returned.

    Examples
    --------
    >>> as_choice("pattern", np.str_("empty"), ("radial_sin", "empty"))
    'empty'
    >>> as_choice("pattern", 3, ("radial_sin", "empty"))
    Traceback (most recent call last):
    ...
    TypeError: pattern=3 must be one of ['radial_sin', 'empty']
    >>> as_choice("pattern", "radial sin", ("radial_sin", "empty"))
    Traceback (most recent call last):
    ...
    ValueError: pattern='radial sin' must be one of ['radial_sin', 'empty']
    """
    if not isinstance(value, str):
        raise TypeError(f"{name}={value!r} must be one of {list(choices)}")
    text = str.__str__(value)
    if text not in choices:
        raise ValueError(f"{name}={value!r} must be one of {list(choices)}")
    return text


def as_zarr_version(value: object, name: str = "zarr_version") -> ZarrVersion:
    """2 or 3, as an int (``numpy`` integers are accepted).

    Examples
    --------
    >>> as_zarr_version(3)
    3
    >>> as_zarr_version(4)
    Traceback (most recent call last):
    ...
    ValueError: zarr_version=4 must be 2 (OME-Zarr 0.4) or 3 (OME-Zarr 0.5)
    """
    accepted = "2 (OME-Zarr 0.4) or 3 (OME-Zarr 0.5)"
    version = as_int(name, value, accepted=accepted)
    if version == 2:
        return 2
    if version == 3:
        return 3
    raise ValueError(f"{name}={value!r} must be {accepted}")


def check_sharding(name: str, value: object, zarr_version: int) -> None:
    """Refuse a sharding setting (``value`` not None) unless ``zarr_version`` is 3.

    Examples
    --------
    >>> check_sharding("shard_chunks", 2, 2)
    Traceback (most recent call last):
    ...
    ValueError: shard_chunks=2 needs zarr_version=3 (got zarr_version=2): Zarr v2 has no sharding
    """
    if value is not None and zarr_version != 3:
        raise ValueError(
            f"{name}={value!r} needs zarr_version=3 (got zarr_version={zarr_version!r}): "
            "Zarr v2 has no sharding"
        )


def as_compression(value: object, name: str = "compression") -> Compression:
    """One of `COMPRESSIONS`.

    Examples
    --------
    >>> as_compression("zstd")
    Traceback (most recent call last):
    ...
    ValueError: compression='zstd' must be one of [None, 'blosc-lz4', 'blosc-zstd']
    """
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{name}={value!r} must be one of {list(COMPRESSIONS)}")
    return one_of(name, cast(Compression, value), COMPRESSIONS)


def as_dtype(
    name: str, value: object, *, kinds: str | None = None, names: Collection[str] | None = None
) -> np.dtype[Any]:
    """``value`` as a numpy dtype, limited to the dtype ``kinds`` or ``names`` given.

    ``kinds`` uses numpy's one-letter kinds: ``b`` bool, ``i`` signed, ``u`` unsigned,
    ``f`` float. ``None`` is refused (``np.dtype(None)`` would be float64).

    Examples
    --------
    >>> as_dtype("dtype", "uint16", kinds="uiuf")
    dtype('uint16')
    >>> as_dtype("dtype", "complex64", kinds="biuf")
    Traceback (most recent call last):
    ...
    ValueError: dtype='complex64' must be a boolean, integer or float dtype
    >>> as_dtype("dtype", "u8bit")
    Traceback (most recent call last):
    ...
    ValueError: dtype='u8bit' must be a boolean, integer or float dtype
    """
    if names is not None:
        accepted = f"one of {list(names)}"
    else:
        words = {"b": "boolean", "i": "integer", "u": "integer", "f": "float"}
        kinds_named = list(dict.fromkeys(words[k] for k in kinds or "biuf"))
        accepted = "a " + ", ".join(kinds_named[:-1]) + (" or " if len(kinds_named) > 1 else "")
        accepted += kinds_named[-1] + " dtype"
    if value is None:
        raise TypeError(f"{name}=None must be {accepted}")
    try:
        dtype: np.dtype[Any] = np.dtype(cast(Any, value))
    except TypeError:
        # A string is the right type for a dtype name, so an unknown one is a bad value.
        error = ValueError if isinstance(value, str) else TypeError
        raise error(f"{name}={value!r} must be {accepted}") from None
    if (names is not None and dtype.name not in names) or (
        kinds is not None and dtype.kind not in kinds
    ):
        raise ValueError(f"{name}={value!r} must be {accepted}")
    if dtype.kind not in "biuf" or dtype.byteorder == ">":
        raise ValueError(f"{name}={value!r} must be {accepted}")
    return dtype


def as_path(name: str, value: object) -> Path:
    """A non-empty local path (``str`` or ``os.PathLike``) as a `pathlib.Path`.

    Examples
    --------
    >>> as_path("dest", "images/a.zarr")
    PosixPath('images/a.zarr')
    >>> as_path("dest", "  ")
    Traceback (most recent call last):
    ...
    ValueError: dest='  ' must be a non-empty path
    """
    if not isinstance(value, str | os.PathLike):
        raise TypeError(f"{name}={value!r} must be a path (str or os.PathLike)")
    text = os.fspath(value)
    if not isinstance(text, str):
        raise TypeError(f"{name}={value!r} must be a path (str or os.PathLike of str)")
    if not text.strip():
        raise ValueError(f"{name}={value!r} must be a non-empty path")
    if "\0" in text:
        raise ValueError(f"{name}={value!r} must be a path without NUL characters")
    return Path(text)


def is_url(value: object) -> bool:
    """Whether ``value`` is a string that starts as a URL does, ``scheme://``.

    Whatever the scheme: `as_url` says which ones are read.

    Examples
    --------
    >>> is_url("https://example.org/image.zarr"), is_url("s3://bucket/image.zarr")
    (True, True)
    >>> is_url("images/a.zarr"), is_url(Path("http://example.org"))
    (False, False)
    """
    return isinstance(value, str) and _URL_START.match(value) is not None


def as_url(name: str, value: object) -> str:
    """An ``http://`` or ``https://`` URL with a host, normalised, without a trailing slash.

    The URL of a store, to which keys such as ``zarr.json`` are appended: a query
    (``?...``) or a fragment (``#...``) would end up before them, so both are refused.
    The scheme is lowercased.

    Examples
    --------
    >>> as_url("path", "HTTP://127.0.0.1:8000/data/image.zarr/")
    'http://127.0.0.1:8000/data/image.zarr'
    >>> as_url("path", "s3://bucket/image.zarr")
    Traceback (most recent call last):
    ...
    ValueError: path='s3://bucket/image.zarr' is a URL of scheme 's3'; only http:// and ...
    >>> as_url("path", "http:///image.zarr")
    Traceback (most recent call last):
    ...
    ValueError: path='http:///image.zarr' must be a URL with a host, such as ...
    """
    example = "'https://example.org/data/image.zarr'"
    if not isinstance(value, str):
        raise TypeError(f"{name}={value!r} must be a URL (a str), such as {example}")
    parts = urllib.parse.urlsplit(value.strip())
    scheme = parts.scheme.lower()
    if scheme not in _URL_SCHEMES:
        raise ValueError(
            f"{name}={value!r} is a URL of scheme {parts.scheme!r}; only http:// and "
            "https:// URLs are read (or give a local path)"
        )
    try:
        port = parts.port  # reading it checks it
    except ValueError as error:
        raise ValueError(f"{name}={value!r} has a bad port: {error}") from None
    del port
    if not parts.hostname:
        raise ValueError(f"{name}={value!r} must be a URL with a host, such as {example}")
    if parts.query or parts.fragment or value.strip().endswith(("?", "#")):
        raise ValueError(
            f"{name}={value!r} must be a URL without a query ('?...') or a fragment "
            "('#...'): the store's keys (zarr.json, ...) are appended to its path"
        )
    return urllib.parse.urlunsplit((scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def available_memory() -> int | None:
    """Bytes of memory the system can give a process now (Linux ``MemAvailable``), or None.

    Elsewhere, the physical memory size, when the OS reports it.
    """
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_known_shape(name: str, shape: Sequence[Any]) -> None:
    """Refuse the shape of a dask array whose chunk sizes are unknown (NaN).

    A dask array of unknown size (after boolean indexing, say) cannot be planned.

    Examples
    --------
    >>> check_known_shape("source", (4, 5))
    >>> check_known_shape("source", (float("nan"), 5))
    Traceback (most recent call last):
    ...
    ValueError: source has unknown chunk sizes (shape (nan, 5)); call compute_chunk_sizes() ...
    """
    if any(isinstance(n, float) and math.isnan(n) for n in shape):
        raise ValueError(
            f"{name} has unknown chunk sizes (shape {tuple(shape)}); "
            "call compute_chunk_sizes() on the dask array first"
        )


def check_fits_in_memory(what: str, nbytes: int, advice: str) -> None:
    """Refuse, with `ValueError`, to go on when ``nbytes`` cannot fit in memory now.

    Called before anything is written, so a setting that asks for too much memory fails
    with advice, not with a `MemoryError` halfway through.

    Examples
    --------
    >>> check_fits_in_memory("the chunk buffers", 2**60, "use smaller tiles")
    Traceback (most recent call last):
    ...
    ValueError: the chunk buffers need 1073741824.0 GiB but this machine has ... use smaller tiles
    """
    available = available_memory()
    if available is not None and nbytes > available:
        raise ValueError(
            f"{what} need {nbytes / 2**30:.1f} GiB but this machine has "
            f"{available / 2**30:.1f} GiB available; {advice}"
        )
