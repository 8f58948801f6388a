"""Formats in and out: TIFF to OME-Zarr, any array back to a tiled BigTIFF, and one
OME-Zarr layout to another.

`tiff_to_ome_zarr` reads a TIFF or BigTIFF a block at a time, never whole, and builds an
OME-Zarr pyramid from it with `data_helpers.pyramid.build_pyramid`:

* A TIFF stored in tiles or strips is read through tifffile's Zarr interface
  (``TiffPageSeries.aszarr``): every block that `build_pyramid` writes decodes only the
  tiles or strips it overlaps.
* A TIFF stored uncompressed in one piece per page (what ``tifffile.imwrite`` and ImageJ
  write by default) would be one "strip" the size of a page: its bytes are read instead
  straight from the file, block by block, each block reading exactly its own pixels.

`write_tiff` goes the other way: a numpy, zarr or dask array (a level, a region) becomes
a tiled BigTIFF with OME-XML metadata, one page per plane, written band by band through
``tifffile.TiffWriter`` from a generator of tiles, aside, then moved into place.

`convert_image` copies an OME-Zarr image (0.4 or 0.5, ours or another tool's) with its
label images into a new layout: another Zarr and OME-Zarr version, other chunks, shards,
another codec. Pixels are copied block by block, bit for bit; the metadata is read and
written again through `data_helpers.ome`, and the copy is validated before it is swapped in.

Axes and pixel sizes
--------------------
tifffile names the axes of a TIFF's first image (its *series*), e.g. ``"YX"``, ``"ZYX"``,
``"TZCYX"`` or ``"YXS"``. They map to OME-Zarr as ``T`` -> ``t``, ``C`` -> ``c``, ``Z`` ->
``z``, ``Y`` -> ``y``, ``X`` -> ``x``, and ``S`` (the samples of an RGB or RGBA pixel) ->
``c``: an RGB image becomes a 3-channel image ``cyx``. Then the axes are reordered
(lazily) into OME order ``t, c, z, y, x``. Any other tifffile axis (``I``, a sequence of
images with no further meaning; ``Q``, unknown; ...) must be named with ``axes=``.

Pixel sizes come from the OME-XML (``PhysicalSizeX/Y/Z``, ``TimeIncrement``), else from
ImageJ's metadata (resolution tags in its ``unit``, ``spacing``, ``finterval``), else from
the TIFF resolution tags when their unit is a length; an axis with none gets 1.0.
Lengths are converted exactly to the pyramid's ``unit``; times are in seconds. The TIFF
standard's default unit is the inch, so a scanner's "72 dpi" becomes 352.8 µm pixels:
pass ``scale=`` when a file's tags are not physical sizes.
"""

from __future__ import annotations

import inspect
import math
import os
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import numpy as np
import tifffile
import zarr
from numpy.typing import NDArray

from data_helpers import _blocks, _destination, labels, ome, pyramid
from data_helpers._checks import (
    Compression,
    ZarrVersion,
    as_bool,
    as_compression,
    as_float,
    as_ints,
    as_path,
    as_per_axis,
    as_zarr_version,
    check_fits_in_memory,
    check_known_shape,
    check_sharding,
    one_of,
)
from data_helpers.chunking import auto_chunks
from data_helpers.multiscale import MultiscaleImage
from data_helpers.pyramid import DEFAULT_CHUNK_BYTES, build_pyramid

__all__ = ["TIFF_COMPRESSIONS", "TIFF_DTYPES", "convert_image", "tiff_to_ome_zarr", "write_tiff"]

#: What `write_tiff` can compress with, using only the standard library.
TIFF_COMPRESSIONS: tuple[str | None, ...] = (None, "zlib")

#: The pixel types `write_tiff` writes: those OME-XML can describe.
TIFF_DTYPES: tuple[str, ...] = (
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64",
)

# The first bytes of a TIFF and of a BigTIFF, little- and big-endian: with ``overwrite``,
# write_tiff replaces these files and no others.
_TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")

# write_tiff reads its source in regions of at most this many bytes (one or more tile
# rows across a page, or whole pages when the source is chunked across pages).
_BAND_BYTES = 32 * 2**20
# ... and lets tifffile hold at most this many bytes of tiles waiting to be compressed
# (its own default, twice 256 MiB, would hold a large part of the image).
_ENCODE_BUFFER = 8 * 2**20

# tifffile axis code -> OME-Zarr axis. S, the samples of a pixel (RGB), become channels.
_TIFF_AXES = {"T": "t", "C": "c", "S": "c", "Z": "z", "Y": "y", "X": "x"}

# Lengths, in metres, exactly: OME-Zarr's unit names, and the spellings TIFF metadata uses
# for them (OME-XML's symbols, ImageJ's names).
_METRES = {
    "angstrom": Fraction(1, 10**10), "picometer": Fraction(1, 10**12),
    "nanometer": Fraction(1, 10**9), "micrometer": Fraction(1, 10**6),
    "millimeter": Fraction(1, 10**3), "centimeter": Fraction(1, 100),
    "decimeter": Fraction(1, 10), "meter": Fraction(1), "kilometer": Fraction(1000),
    "inch": Fraction(254, 10**4), "foot": Fraction(3048, 10**4),
}
_OME_SYMBOLS = {
    "angstrom": "Å", "picometer": "pm", "nanometer": "nm", "micrometer": "µm",
    "millimeter": "mm", "centimeter": "cm", "decimeter": "dm", "meter": "m",
    "kilometer": "km", "inch": "in", "foot": "ft",
}
_LENGTH_ALIASES = {
    **{name: name for name in _METRES},
    **{symbol: name for name, symbol in _OME_SYMBOLS.items()},
    "μm": "micrometer", "um": "micrometer", "micron": "micrometer", "microns": "micrometer",
    "\\u00b5m": "micrometer", "\\u03bcm": "micrometer", "A": "angstrom",
}
# Seconds, exactly: OME-XML's time symbols.
_SECONDS = {
    "s": Fraction(1), "ms": Fraction(1, 1000), "µs": Fraction(1, 10**6),
    "μs": Fraction(1, 10**6), "us": Fraction(1, 10**6), "ns": Fraction(1, 10**9),
    "min": Fraction(60), "h": Fraction(3600),
}
# TIFF ResolutionUnit -> the length of one unit (2 inch, 3 centimetre; 4 and 5 are the
# millimetre and micrometre of DNG, which tifffile also writes). 1 means "no unit".
_RESOLUTION_UNITS = {2: _METRES["inch"], 3: _METRES["centimeter"],
                     4: _METRES["millimeter"], 5: _METRES["micrometer"]}


# -- TIFF to OME-Zarr -------------------------------------------------------------------


def tiff_to_ome_zarr(
    path: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    axes: str | None = None,
    scale: float | Sequence[float] | Mapping[str, float] | None = None,
    **pyramid_options: Any,
) -> MultiscaleImage:
    """Convert a TIFF or BigTIFF into an OME-Zarr pyramid, reading it a block at a time.

    Parameters
    ----------
    path
        The TIFF file. Its first image (tifffile's first *series*) is converted; of a
        pyramidal TIFF (one with SubIFDs or levels), only the full resolution is read,
        and the pyramid is built anew.
    dest
        The directory of the new OME-Zarr image (the rules of `build_pyramid`: an
        existing store only with ``overwrite=True``; never the TIFF or a folder
        holding it).
    axes
        One OME letter (``t``, ``c``, ``z``, ``y``, ``x``) per axis of the TIFF's image,
        *in the order the TIFF stores them*, to override what tifffile reports: a plain
        multi-page TIFF is ``"IYX"`` to tifffile (a sequence of images); say
        ``axes="zyx"`` for a stack, or ``"tyx"`` for a time series. Either way the
        result's axes are in OME order (``"yxc"`` gives an image with axes ``"cyx"``).
        By default, tifffile's axes, with RGB samples (``S``) as channels ``c``.
    scale
        The physical size of a pixel, in ``unit``: one number for every axis, one per
        axis of the *result* (OME order), or a mapping such as ``{"z": 2.0}``, which
        overrides the TIFF's sizes of the axes it names and keeps the others. By
        default, the TIFF's own sizes (see the module's notes), else 1.0.
    **pyramid_options
        Passed to `build_pyramid`: ``unit`` (default ``"micrometer"``; the TIFF's
        lengths are converted to it), ``factors``, ``method``, ``max_levels``,
        ``chunks``, ``zarr_version``, ``shard_chunks``, ``compression``,
        ``overwrite``, ``progress``, and ``channels`` (the display settings of each
        channel, for a TIFF with a channel axis, e.g. the ``cyx`` of an RGB TIFF: see
        `build_pyramid`).

    Returns
    -------
    MultiscaleImage
        The written image, opened for reading.

    Raises
    ------
    FileNotFoundError, IsADirectoryError
        When nothing is at ``path``, or a folder is.
    ValueError, TypeError
        For a file that is not a TIFF, or one tifffile cannot decode; for axes with no
        OME meaning, or any bad setting, naming it. Nothing is written then.

    Notes
    -----
    Memory: a block of `build_pyramid`'s level 0 (2 MiB by default) decodes only the
    TIFF tiles or strips it overlaps, and an uncompressed TIFF in one strip per page is
    read block by block straight from the file, so memory holds a few blocks and a few
    TIFF tiles per thread, far below the image size (about 45 MiB above the imports for
    a 512 MiB image, see ``tests/test_convert.py``). The one exception is a *compressed*
    TIFF with a single strip per page: a strip can only be decoded whole (checked
    against the memory available before anything is written).

    The TIFF is read through one open file handle, which cannot travel to other
    processes: the conversion runs on dask's threaded scheduler even when a
    ``dask.distributed`` client is active.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> import tifffile
    >>> stack = np.arange(4 * 64 * 96, dtype=np.uint16).reshape(4, 64, 96)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     tifffile.imwrite(f"{tmp}/stack.tif", stack, imagej=True,
    ...                      resolution=(2.0, 2.0),
    ...                      metadata={"axes": "ZYX", "spacing": 3.0, "unit": "um"})
    ...     image = tiff_to_ome_zarr(f"{tmp}/stack.tif", f"{tmp}/stack.zarr",
    ...                              chunks=(4, 32, 32))
    ...     print(image.axes, image.shapes, image.scale(0))
    ...     print(bool((image.level(0)[...] == stack).all()))
    ('z', 'y', 'x') [(4, 64, 96), (2, 32, 48), (1, 16, 24)] (3.0, 0.5, 0.5)
    True
    """
    options = _pyramid_options(pyramid_options)
    tiff = _tiff_path(path)
    overwrite = options.get("overwrite", False)
    # The TIFF is a source: dest may be neither it nor a folder holding it.
    _destination.check_destination(dest, overwrite=overwrite, sources=(tiff.resolve(),))
    unit = options.setdefault("unit", "micrometer")
    if not isinstance(unit, str):
        raise TypeError(f"unit={unit!r} must be a string such as 'micrometer'")
    shown = str(tiff)
    with _open_tiff(tiff) as tif:
        series = tif.series[0]
        level = series.levels[0]  # a pyramidal TIFF: its full resolution only
        shape = tuple(int(n) for n in level.shape)
        stored, ome_axes = _axes_of(series.axes, shape, axes, shown)
        order = tuple(stored.index(a) for a in ome_axes)
        full_scale = _scale(scale, ome_axes, _physical_sizes(tif, level), unit)
        dtype = np.dtype(level.dtype)
        if dtype.kind not in "biuf":
            raise ValueError(
                f"path={shown!r} holds {dtype} pixels; OME-Zarr images hold "
                "booleans, integers or floats"
            )
        chunks = _read_chunks(shape, dtype.itemsize, ome_axes, order, options.get("chunks"))
        store = None
        source: zarr.Array[Any] | da.Array
        try:
            if _is_mappable(level):
                source = _contiguous_array(tiff, level, tif.byteorder, order, chunks)
            else:
                store = series.aszarr(level=0, maxworkers=os.cpu_count() or 1)
                source = _zarr_source(store, order, chunks, shown)
            # One file handle, in this process: threads, whatever scheduler is active.
            with dask.config.set(scheduler="threads"):
                return build_pyramid(source, dest, axes=ome_axes, scale=full_scale, **options)
        finally:
            if store is not None:
                store.close()


def _pyramid_options(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` if `build_pyramid` takes them all (axes and scale are ours)."""
    accepted = set(inspect.signature(build_pyramid).parameters) - {
        "source", "dest", "axes", "scale"
    }
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise TypeError(
            f"tiff_to_ome_zarr() got unknown pyramid options {unknown}; "
            f"accepted: {sorted(accepted)}"
        )
    return dict(options)


def _tiff_path(path: object) -> Path:
    given = as_path("path", path)
    shown = os.fspath(given)
    if not given.exists():
        raise FileNotFoundError(f"path={shown!r} does not exist; give the path of a TIFF file")
    if given.is_dir():
        raise IsADirectoryError(f"path={shown!r} is a folder; give the path of a TIFF file")
    return given


def _open_tiff(tiff: Path) -> tifffile.TiffFile:
    try:
        return tifffile.TiffFile(tiff)
    except tifffile.TiffFileError as error:
        raise ValueError(f"path={str(tiff)!r} is not a TIFF file: {error}") from None


def _axes_of(
    tiff_axes: str, shape: tuple[int, ...], axes: object, shown: str
) -> tuple[str, str]:
    """The OME letter of each stored axis, in the TIFF's order, and the result's axes."""
    where = f"the TIFF's image has axes {tiff_axes!r} (shape {shape})"
    if axes is None:
        unknown = [a for a in tiff_axes if a not in _TIFF_AXES]
        if unknown:
            meanings = ", ".join(f"{a!r} ({tifffile.TIFF.AXES_NAMES.get(a, 'unknown')})"
                                 for a in unknown)
            raise ValueError(
                f"path={shown!r}: {where}, and {meanings} has no OME-Zarr "
                f"meaning; name every axis with axes=, in the TIFF's order, e.g. "
                f"axes={_example_axes(len(shape))!r}"
            )
        stored = "".join(_TIFF_AXES[a] for a in tiff_axes)
        if len(set(stored)) != len(stored):
            raise ValueError(
                f"path={shown!r}: {where}: both channels (C) and the samples of "
                "RGB pixels (S) would become the channel axis c; name every axis with "
                "axes= (each OME letter at most once)"
            )
        given = False
    else:
        if not isinstance(axes, str):
            raise TypeError(f"axes={axes!r} must be None or a string such as 'zyx'")
        if len(axes) != len(shape):
            raise ValueError(
                f"axes={axes!r} names {len(axes)} axes but {where}; give one letter per "
                "axis, in the TIFF's order"
            )
        if set(axes) - set(ome.AXIS_TYPES) or len(set(axes)) != len(axes):
            raise ValueError(
                f"axes={axes!r} must use each of 't', 'c', 'z', 'y', 'x' at most once"
            )
        stored, given = axes, True
    ome_axes = "".join(sorted(stored, key="tczyx".index))
    try:
        ome.validate_axes(ome_axes)
    except ValueError as error:
        named = f"axes={axes!r}" if given else f"path={shown!r}: {where}, which"
        raise ValueError(
            f"{named} gives OME-Zarr axes {ome_axes!r}, which are not valid ({error}); "
            "name every axis with axes="
        ) from None
    return stored, ome_axes


def _example_axes(ndim: int) -> str:
    return {2: "yx", 3: "zyx", 4: "czyx", 5: "tczyx"}.get(ndim, "tczyx")


def _is_mappable(level: Any) -> bool:
    """Whether the image is stored uncompressed and contiguous, in its final form."""
    keyframe = level.keyframe
    return bool(
        level.dataoffset is not None
        and keyframe.is_memmappable
        and np.dtype(level.dtype).kind in "biuf"
    )


def _read_chunks(shape: tuple[int, ...], itemsize: int, ome_axes: str,
                 order: tuple[int, ...], given: object) -> tuple[int, ...]:
    """Dask chunks, in stored order, that become `build_pyramid`'s level-0 chunks.

    After the transpose into OME order they are the chunks `build_pyramid` will write:
    ``chunks`` when given as one int per axis, else the default it picks itself, so its
    rechunk of level 0 is a no-op. (Any other ``chunks`` is rechunked, and checked, by
    `build_pyramid`.)
    """
    ome_shape = tuple(shape[i] for i in order)
    fixed = [i for i, a in enumerate(ome_axes) if ome.AXIS_TYPES[a] in ("time", "channel")]
    ome_chunks = auto_chunks(ome_shape, itemsize, target_bytes=max(DEFAULT_CHUNK_BYTES, itemsize),
                             fixed_axes=fixed)
    if (isinstance(given, Sequence) and len(given) == len(shape) and all(
            isinstance(c, int) and not isinstance(c, bool) and c >= 1 for c in given)):
        ome_chunks = tuple(min(int(c), n) for c, n in zip(given, ome_shape, strict=True))
    chunks = [0] * len(shape)
    for position, stored_index in enumerate(order):
        chunks[stored_index] = ome_chunks[position]
    return tuple(chunks)


def _zarr_source(store: Any, order: tuple[int, ...], chunks: tuple[int, ...],
                 shown: str) -> zarr.Array[Any] | da.Array:
    """The TIFF's tiles or strips as a zarr array, or a lazily transposed dask array."""
    array = zarr.open_array(store, mode="r", zarr_format=2)
    chunk_bytes = math.prod(array.chunks) * array.dtype.itemsize
    check_fits_in_memory(
        "the TIFF's strips or tiles, one per thread", chunk_bytes * ((os.cpu_count() or 1) + 1),
        "this TIFF is stored in strips too large to decode; rewrite it tiled (write_tiff)",
    )
    try:  # decode one tile now: an unsupported codec is an error before dest is made
        array[(slice(0, 1),) * array.ndim]
    except Exception as error:  # tifffile raises several types for an unusable codec
        raise ValueError(
            f"path={shown!r} cannot be decoded by tifffile: {error}"
        ) from error
    if order == tuple(range(array.ndim)):
        return array  # build_pyramid reads its blocks straight from the TIFF
    lazy: da.Array = da.from_zarr(array, chunks=chunks).transpose(order)
    return lazy


def _contiguous_array(
    tiff: Path, level: Any, byteorder: str, order: tuple[int, ...], chunks: tuple[int, ...]
) -> da.Array:
    """A contiguous uncompressed TIFF image as a dask array, each block read from the file.

    Each block reads exactly its own bytes (`_read_contiguous`), so nothing but the
    block is ever in memory. Why not a memory map: the pages of a mapped file that a
    block touches, and those the kernel maps around them, count in the process's
    resident memory as long as the map lives.
    """
    shape = tuple(int(n) for n in level.shape)
    dtype = np.dtype(level.dtype).newbyteorder(byteorder)  # as stored: "<" or ">"
    native = dtype.newbyteorder("=")
    arguments = (str(tiff.resolve()), int(level.dataoffset), shape, dtype.str)
    lazy: da.Array = da.map_blocks(
        _read_contiguous, *arguments, chunks=da.core.normalize_chunks(chunks, shape),
        dtype=native, meta=np.empty((0,) * len(shape), dtype=native),
        name=f"tiff-{dask.base.tokenize(*arguments, os.stat(tiff).st_mtime_ns)}",
    )
    transposed: da.Array = lazy.transpose(order)
    return transposed


def _read_contiguous(
    filename: str, offset: int, shape: tuple[int, ...], dtype: str,
    block_info: dict[Any, Any] | None = None,
) -> NDArray[Any]:
    """Read one block of a C-ordered array stored at ``offset`` in ``filename``.

    The block is read in runs that are contiguous in the file: along the last axes
    the block covers whole, and one partial axis before them (a row segment of a 2D
    image, whole planes of a stack).
    """
    assert block_info is not None  # dask passes it to a function that asks for it
    location = [(int(a), int(b)) for a, b in block_info[None]["array-location"]]
    stored = np.dtype(dtype)
    out = np.empty([b - a for a, b in location], dtype=stored)
    # Axis `run` is the first one of the contiguous runs: every axis after it is whole.
    run = len(shape) - 1
    while run > 0 and location[run] == (0, shape[run]):
        run -= 1
    strides = [math.prod(shape[i + 1:]) * stored.itemsize for i in range(len(shape))]
    with open(filename, "rb", buffering=0) as handle:
        for index in np.ndindex(*out.shape[:run]):
            position = offset + location[run][0] * strides[run] + sum(
                (location[i][0] + k) * strides[i] for i, k in enumerate(index))
            target = out[index].reshape(-1).view(np.uint8).data
            handle.seek(position)
            while target.nbytes:
                count = handle.readinto(target)
                if not count:
                    raise ValueError(f"{filename!r} ends before its image data: truncated?")
                target = target[count:]
    return out.astype(stored.newbyteorder("="), copy=False)


# -- physical sizes -----------------------------------------------------------------------


def _physical_sizes(tif: tifffile.TiffFile, level: Any) -> dict[str, Fraction]:
    """The TIFF's pixel size of each axis it describes: metres for z, y, x, seconds for t."""
    if tif.is_ome and tif.ome_metadata:
        sizes = _ome_sizes(tif.ome_metadata)
        if sizes:
            return sizes
    tags = level.keyframe.tags
    if tif.is_imagej and tif.imagej_metadata is not None:
        return _imagej_sizes(tif.imagej_metadata, tags)
    unit = tags.valueof(296, default=2)  # ResolutionUnit: inch unless it says otherwise
    if unit not in _RESOLUTION_UNITS:
        return {}
    return _resolution_sizes(tags, _RESOLUTION_UNITS[unit])


def _positive(text: object) -> Fraction | None:
    """``text`` (a number or its decimal string) as an exact positive Fraction, or None."""
    try:
        value = Fraction(str(text)) if not isinstance(text, Fraction) else text
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def _ome_sizes(xml: str) -> dict[str, Fraction]:
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        return {}
    pixels = next((e for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "Pixels"), None)
    if pixels is None:
        return {}
    sizes: dict[str, Fraction] = {}
    for axis in "zyx":
        value = _positive(pixels.get(f"PhysicalSize{axis.upper()}"))
        unit = _LENGTH_ALIASES.get(pixels.get(f"PhysicalSize{axis.upper()}Unit", "µm"))
        if value is not None and unit is not None:
            sizes[axis] = value * _METRES[unit]
    value = _positive(pixels.get("TimeIncrement"))
    seconds = _SECONDS.get(pixels.get("TimeIncrementUnit", "s"))
    if value is not None and seconds is not None:
        sizes["t"] = value * seconds
    return sizes


def _resolution_sizes(tags: Any, unit: Fraction) -> dict[str, Fraction]:
    """x and y from the XResolution and YResolution tags (pixels per ``unit``)."""
    sizes: dict[str, Fraction] = {}
    for axis, code in (("x", 282), ("y", 283)):
        rational = tags.valueof(code)
        if rational is None:
            continue
        try:
            numerator, denominator = (int(v) for v in rational)
        except (TypeError, ValueError):
            continue
        if numerator > 0 and denominator > 0:
            sizes[axis] = Fraction(denominator, numerator) * unit
    return sizes


def _imagej_sizes(metadata: dict[str, Any], tags: Any) -> dict[str, Fraction]:
    name = _LENGTH_ALIASES.get(str(metadata.get("unit", "")).strip())
    sizes: dict[str, Fraction] = {}
    if name is not None:
        sizes = _resolution_sizes(tags, _METRES[name])
        spacing = _positive(metadata.get("spacing"))
        if spacing is not None:
            sizes["z"] = spacing * _METRES[name]
    interval = _positive(metadata.get("finterval"))
    if interval is not None:
        sizes["t"] = interval
    return sizes


def _scale(
    scale: object, ome_axes: str, sizes: dict[str, Fraction], unit: str
) -> dict[str, float]:
    """The scale of every axis: the user's, over the TIFF's (in ``unit``), over 1.0."""
    accepted = "a finite number > 0, one per axis, or a mapping of axis names to numbers"

    def positive(label: str, value: object) -> float:
        return as_float(label, value, positive=True)

    given: dict[str, float] = {}
    if isinstance(scale, Mapping):
        given = dict(zip(ome_axes, as_per_axis(
            "scale", scale, ome_axes, default=math.nan, convert=positive, accepted=accepted,
        ), strict=True))
        given = {a: v for a, v in given.items() if a in scale}
    elif scale is not None:
        given = dict(zip(ome_axes, as_per_axis(
            "scale", scale, ome_axes, default=1.0, convert=positive, accepted=accepted,
        ), strict=True))
    result: dict[str, float] = {}
    for axis in ome_axes:
        if axis in given:
            result[axis] = given[axis]
        elif axis in sizes and axis == "t":
            result[axis] = float(sizes[axis])
        elif axis in sizes:
            if unit not in _METRES:
                raise ValueError(
                    f"unit={unit!r} is not a length the TIFF's pixel sizes can be converted "
                    f"to; use one of {sorted(_METRES)}, or give scale= for every space axis"
                )
            result[axis] = float(sizes[axis] / _METRES[unit])
        else:
            result[axis] = 1.0
    return result


# -- one OME-Zarr layout to another --------------------------------------------------------

# What a copy's multiscale says about its levels when the source says nothing: the strict
# schema wants a "type" and "metadata", and the levels were not made here.
_UNKNOWN_METHOD = "unknown"
_COPIED = ("levels copied unchanged by data_helpers.convert.convert_image from an image "
           "whose multiscale did not say how they were made")


@dataclass(frozen=True)
class _Copy:
    """One multiscale image to copy: where it goes, its levels, and the model of its copy."""

    where: str  # "" for the image itself, "labels/NAME" for one of its label images
    levels: tuple[zarr.Array[Any], ...]
    model: ome.ImageModel


def convert_image(
    source: str | os.PathLike[str] | MultiscaleImage,
    dest: str | os.PathLike[str],
    *,
    zarr_version: ZarrVersion = 3,
    chunks: Sequence[int] | Mapping[str, int] | None = None,
    shard_chunks: int | Sequence[int] | Mapping[str, int] | None = None,
    compression: Compression = "blosc-zstd",
    overwrite: bool = False,
    progress: bool = False,
) -> MultiscaleImage:
    """Copy an OME-Zarr image, with its labels, into a new layout, chunk by chunk.

    Parameters
    ----------
    source
        The OME-Zarr image (0.4 on Zarr v2 or 0.5 on Zarr v3, written by this package or
        by another tool): its path, or a `MultiscaleImage`. Its first multiscale is
        copied, every level of it, and every label image its ``labels`` group lists.
    dest
        The directory of the new image (the rules of `build_pyramid`: an existing store
        only with ``overwrite=True``; never the source, a folder inside it or one that
        holds it).
    zarr_version
        3 writes Zarr v3 with OME-Zarr 0.5 metadata (the default), 2 writes Zarr v2 with
        0.4.
    chunks
        The chunk shape of every level: one int per axis, or a mapping naming some axes
        (``{"z": 1}``), the others keeping each level's own. Clipped to each level's
        shape. By default (``None``) every level keeps its chunk shape (the inner chunks
        of a sharded source).
    shard_chunks
        Zarr v3 only: shard the copy, with this many chunks per shard along each axis (an
        int for every space axis, one per axis, or a mapping), as in `build_pyramid`. By
        default (``None``) the copy is not sharded, whatever the source was.
    compression
        ``None``, ``"blosc-lz4"`` or ``"blosc-zstd"``, see `ome.COMPRESSIONS`.
    overwrite
        Replace ``dest`` if it is a Zarr store. Without it, an existing ``dest`` is an
        error, raised before anything is written.
    progress
        Show a rich progress bar, one line per level of the image and of each label image.

    Returns
    -------
    MultiscaleImage
        The copy, opened for reading; it and each of its label images have passed
        `ome.validate` (ome-zarr-models and the strict OME-NGFF schema).

    Raises
    ------
    TypeError, ValueError
        For a bad setting, naming it, or a source this cannot copy (axes other than
        ``t``, ``c``, ``z``, ``y``, ``x``; a label image that is not one); nothing is
        written then.
    FileExistsError
        When ``dest`` exists and ``overwrite`` is false.
    data_helpers._destination.DestinationBusyError
        When another writer is writing ``dest``.

    Notes
    -----
    Pixels are copied, never recomputed: every level of the copy holds exactly the
    source's values, in its pixel type. What the metadata says is carried over, through
    `data_helpers.ome`: the axes and their units, each level's scale and translation
    (global transforms folded into them), the multiscale's name, ``type`` and
    ``metadata``, the ``omero`` metadata (channel labels, colours, windows, and what else
    it holds, such as ``rdefs``) and, for each label image, its own levels and
    ``image-label`` metadata (colors, properties); an ``omero`` ``version`` equal to the
    source's OME-Zarr version (as ome-zarr-py writes it) becomes the copy's. The levels of
    the copy are named ``"0"``, ``"1"``, ... whatever the source named them (``"s0"``,
    ...). A source that does not say how its levels were made gets ``"type": "unknown"``
    and a ``metadata`` saying so, which the strict schema requires. Attributes outside
    the OME-Zarr metadata, and any multiscale after the first, are not copied.

    Each task writes one block of the copy (a chunk, or a shard) and reads only the
    region of the source under it, so memory holds a few blocks and the source chunks
    they overlap per worker thread, whatever the size of the image (about 40 MiB above
    the imports for a 64 MiB and a 512 MiB image alike, see ``tests/test_convert.py``).
    It runs on the active dask scheduler: threads, or a ``dask.distributed`` cluster
    when a client is active. The copy is written
    beside ``dest`` and swapped in whole once every level is there and valid: a failure
    (a corrupt chunk, a full disk, a killed process) leaves ``dest`` as it was.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from data_helpers.labels import write_labels
    >>> from data_helpers.pyramid import build_pyramid
    >>> cells = np.arange(2 * 64 * 64, dtype=np.uint16).reshape(2, 64, 64)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     image = build_pyramid(cells, f"{tmp}/v2.zarr", axes="cyx", chunks=(1, 16, 16),
    ...                           channels=["DAPI", "GFP"])
    ...     _ = write_labels(image, "nuclei", (cells // 1000).astype(np.uint8))
    ...     copy = convert_image(image, f"{tmp}/v3.zarr", shard_chunks=2)
    ...     print(copy.version, copy.level(0).chunks, copy.level(0).shards)
    ...     print([c.label for c in copy.channels], copy.labels)
    ...     print(bool((copy.level(0)[...] == cells).all()))
    0.5 (1, 16, 16) (1, 32, 32)
    ['DAPI', 'GFP'] ('nuclei',)
    True
    """
    overwrite = as_bool("overwrite", overwrite)
    progress = as_bool("progress", progress)
    zarr_version = as_zarr_version(zarr_version)
    compression = as_compression(compression)
    check_sharding("shard_chunks", shard_chunks, zarr_version)
    image = _open_image(source)
    settings: dict[str, Any] = dict(zarr_version=zarr_version, chunks=chunks,
                                    shard_chunks=shard_chunks, compression=compression)
    # Every level, every label and all the metadata are planned before a byte is written.
    omero = _restamp(ome.read_omero(image._group), image.version, zarr_version)
    copies = [_plan_copy(image, "", name=ome.image_name(as_path("dest", dest)), omero=omero,
                         **settings)]
    names = tuple(dict.fromkeys(image.labels))
    copies += [_plan_label(image, name, settings) for name in names]
    with _destination.Destination(dest, overwrite=overwrite, source=image) as destination:
        staging = destination.staging
        groups = [ome.create_image(zarr.storage.LocalStore(staging), copies[0].model)]
        if names:
            ome.create_labels_group(zarr.storage.LocalStore(staging / "labels"),
                                    zarr_version=zarr_version, names=names)
        groups += [ome.create_image(zarr.storage.LocalStore(staging / copy.where), copy.model)
                   for copy in copies[1:]]
        with (_blocks.codec_threads(), _blocks.finished_tasks() as pool,
              _blocks.progress_bar(progress) as bar):
            for copy, group in zip(copies, groups, strict=True):
                for k, level in enumerate(copy.levels):
                    target = ome.level_array(group, str(k))
                    if 0 in target.shape:
                        continue  # nothing to copy (a stream before its first frame)
                    lazy = da.from_zarr(level, chunks=_blocks.write_blocks(target))
                    label = f"{copy.where} level {k}".lstrip()
                    _blocks.store(lazy, target, bar, label, pool)
        ome.validate(destination.staging)
        for copy in copies[1:]:
            ome.validate_label_image(destination.staging / copy.where)
        destination.commit()
    return MultiscaleImage.open(destination.path)


def _open_image(source: object) -> MultiscaleImage:
    """The image to copy: opened as `MultiscaleImage.open` opens it, not a label image."""
    if isinstance(source, MultiscaleImage):
        image = source
    elif isinstance(source, str | os.PathLike):
        image = MultiscaleImage.open(source)
    else:
        raise TypeError(
            f"source={source!r} must be the path of an OME-Zarr image or a MultiscaleImage"
        )
    if image.image_label is not None:
        raise ValueError(
            f"source={source!r} is a label image; convert the image it labels, whose label "
            "images are copied with it"
        )
    return image


def _restamp(omero: Any, source_version: str, zarr_version: ZarrVersion) -> Any:
    """``omero`` with its ``version`` made the copy's, when it was the source's version.

    The specification's example of ``omero`` and ome-zarr-py 0.18 give it the image's
    OME-Zarr version (``"0.5"``): a 0.5 image copied as 0.4 would otherwise say 0.5 there.
    Any other ``version`` (OMERO's own) is kept as it is.
    """
    if omero is None or getattr(omero, "version", None) != source_version:
        return omero
    target = "0.4" if zarr_version == 2 else "0.5"
    dumped = omero.model_dump(mode="json", by_alias=True, exclude_none=True)
    return type(omero).model_validate({**dumped, "version": target})


def _plan_label(image: MultiscaleImage, name: str, settings: dict[str, Any]) -> _Copy:
    """The copy of the label image ``name`` of ``image``, with its image-label metadata."""
    where = f"labels/{name}"
    try:
        labels._check_name(name)
        label = image.label(name)
        metadata = label.image_label
        assert metadata is not None  # read from a group that holds image-label metadata
        colors = {value: rgba for value, rgba in metadata.colors.items() if rgba is not None}
        return _plan_copy(label, where, name=name, colors=colors or None,
                          properties=metadata.properties or None, **settings)
    except (KeyError, TypeError, ValueError) as error:
        raise type(error)(f"the source's label image {name!r} cannot be copied: {error}") \
            from error


def _plan_copy(
    image: MultiscaleImage, where: str, *, name: str, zarr_version: ZarrVersion,
    chunks: object, shard_chunks: object, compression: Compression,
    omero: Any = None, **label: Any,
) -> _Copy:
    """The model of the copy of ``image`` (a label image when ``label`` holds its colors
    and properties) and the levels to copy into it; nothing is written."""
    meta = image.metadata
    axes = _copy_axes(meta)
    level_chunks = [_copy_chunks(chunks, axes, own, shape)
                    for own, shape in zip(image.chunks, image.shapes, strict=True)]
    shard_shapes = None
    if shard_chunks is not None:
        per_shard = pyramid._per_axis_ints("shard_chunks", shard_chunks, axes, fixed_value=1)
        shard_shapes = [tuple(c * k for c, k in zip(level, per_shard, strict=True))
                        for level in level_chunks]
    level_0 = image.level(0)
    common: dict[str, Any] = dict(
        shapes=image.shapes, dtype=np.dtype(level_0.dtype).name,
        chunks=level_chunks, axes=axes, scales=meta.scales, translations=meta.translations,
        zarr_version=zarr_version, compression=compression, shard_shapes=shard_shapes,
        units=meta.units, name=meta.name or name, method=meta.method or _UNKNOWN_METHOD,
        method_metadata={"description": _COPIED} if meta.method_metadata is None
        else meta.method_metadata,
    )
    model: ome.ImageModel
    if label:
        model = ome.label_image_model(**common, **label)
    else:
        model = ome.image_model(**common, fill_value=_fill_value(level_0), channels=omero)
    return _Copy(where=where, levels=tuple(image.level(k) for k in range(image.levels)),
                 model=model)


def _copy_axes(meta: ome.MultiscaleMetadata) -> str:
    """The source's axes as an OME axes string, if the package can write them."""
    axes = "".join(meta.axes)
    try:
        ome.validate_axes(axes)
    except ValueError as error:
        raise ValueError(
            f"the source has the axes {list(meta.axes)}, which convert_image cannot copy: "
            f"{error}"
        ) from None
    for axis, axis_type in zip(axes, meta.axis_types, strict=True):
        if axis_type is not None and axis_type != ome.AXIS_TYPES[axis]:
            raise ValueError(
                f"the source's axis {axis!r} has the type {axis_type!r}, but convert_image "
                f"writes {axis!r} as a {ome.AXIS_TYPES[axis]} axis"
            )
    return axes


def _copy_chunks(
    chunks: object, axes: str, own: tuple[int, ...], shape: tuple[int, ...]
) -> tuple[int, ...]:
    """A level's chunk shape in the copy: its own, or ``chunks`` clipped to its shape."""
    if chunks is None:
        return own
    if isinstance(chunks, int | np.integer) and not isinstance(chunks, bool):
        raise TypeError(
            f"chunks={chunks!r}: give one int per axis of axes={axes!r} (or a mapping), "
            "since time and channel axes usually want chunk length 1"
        )
    given = pyramid._per_axis_ints("chunks", chunks, axes, fixed_value=None)
    if isinstance(chunks, Mapping):
        given = tuple(g if a in chunks else o for a, g, o in zip(axes, given, own, strict=True))
    return tuple(max(1, min(c, n)) for c, n in zip(given, shape, strict=True))


def _fill_value(level: zarr.Array[Any]) -> int | float:
    """The source's fill value, as `ome.image_model` takes it (0 where it cannot: NaN)."""
    fill = level.fill_value
    if fill is None:
        return 0
    value = fill.item() if isinstance(fill, np.generic) else fill
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and not math.isfinite(value):
        return 0  # the copy stores every chunk then: its pixels are the same
    return value if isinstance(value, int | float) else 0


# -- writing a TIFF ------------------------------------------------------------------------


def write_tiff(
    array: NDArray[Any] | zarr.Array[Any] | da.Array,
    path: str | os.PathLike[str],
    *,
    tile: Sequence[int] = (256, 256),
    compression: str | None = "zlib",
    axes: str | None = None,
    scale: float | Sequence[float] | Mapping[str, float] | None = None,
    unit: str = "micrometer",
    overwrite: bool = False,
) -> Path:
    """Write an array as a tiled BigTIFF with OME-XML metadata, a band at a time.

    Parameters
    ----------
    array
        A numpy, zarr or dask array of 2 to 5 axes, the last two ``y`` and ``x``: a
        level of a pyramid (``image.level(i)`` or ``image.to_dask(i)``), a region of
        one, a processed result. It is read in bands of tile rows of at most 32 MiB,
        never whole.
    path
        The new file; its parent folder must exist. ``.ome.tif`` is the usual suffix.
    tile
        ``(height, width)`` of the TIFF tiles, multiples of 16 (the TIFF rule). Tiles
        at the right and bottom edges are padded with zeros in the file, as TIFF
        requires; readers crop them.
    compression
        ``"zlib"`` (deflate, lossless, read by every TIFF reader) or ``None``.
    axes
        The axes of ``array`` in OME order, ending in ``"yx"``: ``"yx"``, ``"zyx"``,
        ``"cyx"``, ``"czyx"``, ``"tczyx"``, ... By default ``"yx"``, ``"zyx"``,
        ``"czyx"`` or ``"tczyx"`` by the number of axes.
    scale
        The physical size of a pixel: one number, one per axis, or a mapping such as
        ``{"z": 2.0, "y": 0.5, "x": 0.5}``; lengths in ``unit``, time in seconds. It is
        written to the OME-XML (``PhysicalSizeX/Y/Z``, ``TimeIncrement``) and, for x and
        y, to the resolution tags. By default no size is written. A channel axis has no
        size: its scale must be 1.
    unit
        The unit of the space axes' scale, an OME-Zarr name such as ``"micrometer"``.
    overwrite
        Replace ``path`` if it is a TIFF file. Without it an existing ``path`` is an
        error; with it, anything but a TIFF file (a folder, a symlink, another kind of
        file) is still refused and left as it was.

    Returns
    -------
    pathlib.Path
        The absolute path of the written file.

    Notes
    -----
    Every plane (every index of the axes before ``y`` and ``x``) is one TIFF page, tiled
    and in OME order (OME-XML ``DimensionOrder="XYZCT"``), so any OME-TIFF reader opens
    it; volumetric tiles (``TileDepth``) are left out on purpose, as few readers know
    them. Channels are separate grey pages: an RGB image read by `tiff_to_ome_zarr` as
    ``cyx`` comes back as a 3-channel image, not an RGB one.

    The file is written as a hidden sibling file and moved into place once complete:
    a failure (a source that raises, a full disk, a killed process) leaves ``path`` as
    it was. Reading it back with tifffile gives exactly ``array``, and
    `tiff_to_ome_zarr` gives back its axes and scale (axes of length 1, other than y
    and x, are dropped by tifffile's reader: name them with ``axes=`` there).

    Memory holds one band (up to 32 MiB of the source, whole pages when the source is
    chunked across pages and they fit) and up to 8 MiB of tiles waiting to be
    compressed, whatever the size of the image.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> import tifffile
    >>> volume = np.arange(3 * 100 * 300, dtype=np.uint16).reshape(3, 100, 300)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     written = write_tiff(volume, f"{tmp}/volume.ome.tif", tile=(64, 64),
    ...                          scale={"z": 2.0, "y": 0.5, "x": 0.5})
    ...     with tifffile.TiffFile(written) as tif:
    ...         print(tif.series[0].axes, len(tif.pages), tif.pages[0].is_tiled)
    ...         print(bool((tif.asarray() == volume).all()))
    ...     print(tiff_to_ome_zarr(written, f"{tmp}/volume.zarr").scale(0))
    ZYX 3 True
    True
    (2.0, 0.5, 0.5)
    """
    source = _check_array(array)
    dtype = np.dtype(source.dtype).newbyteorder("=")
    axes = _write_axes(axes, source.ndim)
    tile_shape = as_ints("tile", tile, 2, minimum=16,
                         accepted="2 integers >= 16, multiples of 16 (the TIFF rule)")
    if any(t % 16 for t in tile_shape):
        raise ValueError(f"tile={tile!r} must be 2 integers >= 16, multiples of 16 (the TIFF rule)")
    if compression is not None and not isinstance(compression, str):
        raise TypeError(f"compression={compression!r} must be one of {list(TIFF_COMPRESSIONS)}")
    one_of("compression", compression, TIFF_COMPRESSIONS)
    if not isinstance(unit, str):
        raise TypeError(f"unit={unit!r} must be a string such as 'micrometer'")
    one_of("unit", unit, tuple(_METRES))
    metadata, resolution = _write_metadata(axes, scale, unit)
    overwrite = as_bool("overwrite", overwrite)
    with _destination.FileDestination(
        path, overwrite=overwrite, source=source, signatures=_TIFF_SIGNATURES,
        what="TIFF file",
    ) as destination:
        with tifffile.TiffWriter(destination.staging, bigtiff=True, ome=True) as writer:
            writer.write(
                _tiles(source, tile_shape, dtype), shape=tuple(source.shape), dtype=dtype,
                tile=tile_shape, photometric="minisblack", compression=compression,
                metadata=metadata, software="data_helpers", maxworkers=os.cpu_count() or 1,
                buffersize=_ENCODE_BUFFER, resolution=resolution,
                resolutionunit=None if resolution is None else "CENTIMETER",
            )
        destination.commit()
    return destination.path


def _check_array(array: object) -> NDArray[Any] | zarr.Array[Any] | da.Array:
    if isinstance(array, MultiscaleImage):
        raise TypeError(
            f"array={array!r} is a whole multiscale image; pass one level of it, "
            "image.level(i) or image.to_dask(i)"
        )
    if not isinstance(array, np.ndarray | zarr.Array | da.Array):
        raise TypeError(f"array={type(array).__name__} must be a numpy, zarr or dask array")
    name = np.dtype(array.dtype).newbyteorder("=").name
    if name not in TIFF_DTYPES:
        raise ValueError(
            f"array has dtype {array.dtype}; write_tiff writes {list(TIFF_DTYPES)} "
            "(convert with astype first)"
        )
    check_known_shape("array", array.shape)
    if not 2 <= array.ndim <= 5 or min(array.shape) == 0:
        raise ValueError(
            f"array has shape {tuple(array.shape)}; write_tiff writes 2 to 5 axes, none empty"
        )
    return array


def _write_axes(axes: object, ndim: int) -> str:
    if axes is None:
        axes = _example_axes(ndim)
    if not isinstance(axes, str):
        raise TypeError(f"axes={axes!r} must be None or a string such as 'zyx'")
    ome.validate_axes(axes)
    if len(axes) != ndim or not axes.endswith("yx"):
        raise ValueError(
            f"axes={axes!r} must name the {ndim} axes of array in OME order, ending in 'yx' "
            f"(e.g. {_example_axes(ndim)!r})"
        )
    return axes


def _write_metadata(
    axes: str, scale: object, unit: str
) -> tuple[dict[str, Any], tuple[float, float] | None]:
    """The OME-XML metadata for tifffile, and the resolution tags (pixels per cm)."""
    metadata: dict[str, Any] = {"axes": axes.upper()}
    if scale is None:
        return metadata, None
    values = as_per_axis(
        "scale", scale, axes, default=1.0,
        convert=lambda label, v: as_float(label, v, positive=True),
        accepted="a finite number > 0, one per axis, or a mapping of axis names to numbers",
    )
    per_axis = dict(zip(axes, values, strict=True))
    if per_axis.get("c", 1.0) != 1.0:
        raise ValueError(
            f"scale={scale!r} gives the channel axis c the size {per_axis['c']}; "
            "channels have no physical size in a TIFF: give it 1"
        )
    for axis in "zyx":
        if axis in per_axis:
            # repr: the shortest text that reads back as exactly this float.
            metadata[f"PhysicalSize{axis.upper()}"] = repr(per_axis[axis])
            metadata[f"PhysicalSize{axis.upper()}Unit"] = _OME_SYMBOLS[unit]
    if "t" in per_axis:
        metadata["TimeIncrement"] = repr(per_axis["t"])
        metadata["TimeIncrementUnit"] = "s"
    per_cm = [float(_METRES["centimeter"] / (Fraction(per_axis[a]) * _METRES[unit]))
              for a in "xy"]
    return metadata, (per_cm[0], per_cm[1])


def _source_chunks(array: Any, tile: tuple[int, ...]) -> tuple[int, ...]:
    """The source's own blocks (a numpy array has none: a tile row is a free view)."""
    if isinstance(array, da.Array):
        return tuple(int(c) for c in array.chunksize)
    if isinstance(array, zarr.Array):
        return tuple(int(c) for c in array.chunks)
    return (1,) * (int(array.ndim) - 2) + tuple(tile)


def _regions(
    shape: tuple[int, ...], chunks: tuple[int, ...], tile: tuple[int, ...], itemsize: int,
    budget: int,
) -> Iterator[tuple[slice, ...]]:
    """The regions `write_tiff` reads, in the order their tiles go into the file.

    Each region is one of: whole pages (as many as a source chunk spans, when they fit
    in ``budget``); a band of whole tile rows across one page, as tall as a source chunk
    when that fits, so each source chunk is read once; or, for a page too wide for even
    one tile row, one tile row split into segments, left to right. In each case the
    region's tiles, taken page by page, row by row, are the file's next tiles.
    """
    *lead, height, width = shape
    tile_h, tile_w = tile
    row_bytes = width * itemsize
    planes = chunks[-3] if lead else 1
    if lead and planes > 1 and planes * height * row_bytes <= budget:
        for outer in np.ndindex(*lead[:-1]):
            for first in range(0, lead[-1], planes):
                yield (*(slice(i, i + 1) for i in outer), slice(first, first + planes),
                       slice(0, height), slice(0, width))
        return
    rows = -(-chunks[-2] // tile_h) * tile_h
    if rows * row_bytes > budget:
        rows = max(tile_h, budget // row_bytes // tile_h * tile_h)
    columns = width if tile_h * row_bytes <= budget else max(
        tile_w, budget // (tile_h * itemsize) // tile_w * tile_w)
    if columns < width:
        rows = tile_h
    for page in np.ndindex(*lead):
        index = tuple(slice(i, i + 1) for i in page)
        for top in range(0, height, rows):
            for left in range(0, width, columns):
                yield (*index, slice(top, top + rows), slice(left, left + columns))


def _tiles(array: Any, tile: tuple[int, ...], dtype: np.dtype[Any]) -> Iterator[NDArray[Any]]:
    """Every tile of ``array``, page by page, row by row, read a region at a time.

    A dask source is computed into one reused buffer, chunk by chunk (``da.store``):
    no concatenated copy of the region, no new allocation for each region. Its tiles
    are then copies, since tifffile may still hold some of them, waiting to be
    compressed, when the buffer takes the next region.
    """
    tile_h, tile_w = tile
    chunks = _source_chunks(array, tile)
    buffer: NDArray[Any] | None = None
    for region in _regions(tuple(array.shape), chunks, tile, dtype.itemsize, _BAND_BYTES):
        if isinstance(array, da.Array):
            part = array[region]
            if buffer is None or buffer.shape != part.shape:
                buffer = None  # free the old one first
                buffer = np.empty(part.shape, dtype=dtype)
            da.store(part, buffer, lock=False)
            block, copy = buffer, True
        else:
            block, copy = np.asarray(array[region], dtype=dtype), False
        for page in np.ndindex(*block.shape[:-2]):
            plane = block[page]
            for top in range(0, plane.shape[0], tile_h):
                for left in range(0, plane.shape[1], tile_w):
                    piece = plane[top:top + tile_h, left:left + tile_w]
                    yield piece.copy() if copy else piece
        del block
