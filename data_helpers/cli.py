"""The ``data-helpers`` command line: the package's functions from a shell.

Five subcommands, each with ``--help``::

    data-helpers info PATH_OR_URL          levels, chunks, shards, bytes, channels, labels
    data-helpers validate PATH...          is each store a valid OME-Zarr image?
    data-helpers pyramid SRC DEST          a Zarr array, an OME-Zarr image or a TIFF -> pyramid
    data-helpers convert SRC DEST          an OME-Zarr image -> another layout (0.4 <-> 0.5)
    data-helpers stream DEST               a simulated camera streamed to OME-Zarr

``python -m data_helpers`` is the same command. Each subcommand calls one function of the
package (`data_helpers.pyramid.build_pyramid`, `data_helpers.convert.convert_image`,
`data_helpers.convert.tiff_to_ome_zarr`, `data_helpers.writer.stream_to_zarr`,
`data_helpers.ome.validate`, `data_helpers.multiscale.MultiscaleImage`), and its options
are that function's settings: the command adds no rule of its own, and writes nothing
itself. Where a store may be written, what ``--overwrite`` may replace, and what is
refused (the source, a folder of other files, the current directory) are the package's
rules (see the design's data safety).

Output
------
Results go to standard output as rich tables (plain text when it is not a terminal, at
the width ``COLUMNS`` says, else 100 characters); progress bars go to standard error, so
the output of a command can be piped or parsed while the bars run. ``--progress`` is on
by default when standard error is a terminal.

Exit status
-----------
``0``
    Success.
``1``
    Invalid data: a store that `validate` finds invalid, a source that is not a Zarr
    array, an OME-Zarr image or a TIFF.
``2``
    Bad arguments: argparse's own errors, and the package's refusals of a setting or a
    path (`ValueError`, `TypeError`, `FileNotFoundError`, `FileExistsError`, a
    destination another writer holds).

Every error is one line on standard error, ``data-helpers: error: ...``, without a
traceback (``data-helpers --traceback ...`` shows it); an error the package does not
document keeps its traceback. Warnings are one line too, ``data-helpers: warning: ...``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import rich
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from data_helpers import __version__
from data_helpers._checks import COMPRESSIONS, PIXEL_TYPES, is_url
from data_helpers.camera import PATTERNS
from data_helpers.downsample import METHODS

if TYPE_CHECKING:  # the heavy modules are imported by the subcommands that use them
    import zarr

    from data_helpers.multiscale import MultiscaleImage

__all__ = ["EXIT_INVALID", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]

#: Exit status of a command that did what it was asked.
EXIT_OK = 0
#: Exit status when the data is not valid (a store `validate` finds invalid, or a source
#: that is not an image the command can read).
EXIT_INVALID = 1
#: Exit status for bad arguments (a bad option or setting, a wrong or refused path).
EXIT_USAGE = 2
# Exit status after Ctrl-C, as shells report a process ended by SIGINT.
_EXIT_INTERRUPTED = 130

PROG = "data-helpers"
# The width of tables when standard output is not a terminal and COLUMNS is not set.
_PIPE_WIDTH = 100
# Axes of a plain Zarr array by its number of dimensions, when --axes is not given.
_DEFAULT_AXES = {2: "yx", 3: "zyx", 4: "czyx", 5: "tczyx"}
# "none" on the command line is None (no compression) in the package.
_COMPRESSION_NAMES = [c or "none" for c in COMPRESSIONS]
_BYTE_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9,
               "kib": 2**10, "mib": 2**20, "gib": 2**30}
# The options of build_pyramid, convert_image and the stream's settings, by the name of
# the argparse attribute, which is the name of the package's setting.
_PYRAMID_OPTIONS = ("unit", "factors", "method", "max_levels", "chunks", "zarr_version",
                    "shard_chunks", "compression", "overwrite")
_CONVERT_OPTIONS = ("zarr_version", "chunks", "shard_chunks", "compression", "overwrite")


class _Failure(Exception):
    """An error reported in one line, with the command's exit status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _invalid(message: str) -> _Failure:
    return _Failure(message, EXIT_INVALID)


def _one_line(error: BaseException) -> str:
    """The error's message on one line (validation reports span several).

    The package's advice to pass ``overwrite=True`` is given as the option's name.
    """
    text = " ".join(str(error).split()).replace("pass overwrite=True", "pass --overwrite")
    if isinstance(error, KeyError) and text.startswith(("'", '"')):
        text = text[1:-1]
    return text or type(error).__name__


# -- parsing option values -------------------------------------------------------------


def _per_axis(kind: str, convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """A parser of ``2``, ``1,2,2`` or ``z=1,y=2``: a value, a tuple, or a mapping."""
    accepted = (
        f"{kind}, one per axis separated by commas (1,256,256), or axis=value pairs "
        "(z=1,y=256)"
    )

    def parse(text: str) -> Any:
        items = [item.strip() for item in text.split(",")]
        try:
            if any("=" in item for item in items):
                pairs = [item.partition("=") for item in items]
                if any(not key.strip() or not sep for key, sep, _ in pairs):
                    raise ValueError(text)
                return {key.strip(): convert(value.strip()) for key, _, value in pairs}
            values = tuple(convert(item) for item in items)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {accepted}") from None
        return values[0] if len(values) == 1 else values

    return parse


_ints = _per_axis("an integer", int)
_floats = _per_axis("a number", float)


def _size(text: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT``, e.g. ``640x360``, as ``(width, height)``."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not WIDTHxHEIGHT, two integers such as 640x360"
        )
    return int(match.group(1)), int(match.group(2))


def _bytes(text: str) -> int:
    """A number of bytes, e.g. ``16777216``, ``16MiB``, ``64 MB``."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", text)
    unit = None if match is None else _BYTE_UNITS.get(match.group(2).lower())
    if match is None or unit is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of bytes, such as 16777216, 16MiB or 64MB"
        )
    return int(float(match.group(1)) * unit)


def _compression(text: str) -> str | None:
    if text not in _COMPRESSION_NAMES:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not one of {', '.join(_COMPRESSION_NAMES)}"
        )
    return None if text == "none" else text


# -- the parser ----------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (and the exit status 2, as argparse's)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


def _add_progress(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None,
        help="show a progress bar on standard error (default: when it is a terminal)",
    )


def _add_layout(parser: argparse.ArgumentParser, *, zarr_default: int,
                chunks_help: str) -> None:
    """The layout options that build_pyramid and convert_image share."""
    S = argparse.SUPPRESS  # given options only: the function's own defaults apply
    parser.add_argument(
        "--chunks", type=_ints, default=S, metavar="N,N,...", help=chunks_help)
    parser.add_argument(
        "--zarr-version", type=int, choices=(2, 3), default=S,
        help=f"2: Zarr v2 with OME-Zarr 0.4; 3: Zarr v3 with OME-Zarr 0.5 "
        f"(default: {zarr_default})",
    )
    parser.add_argument(
        "--shard-chunks", type=_ints, default=S, metavar="N[,N,...]",
        help="Zarr v3 only: shard the levels, with this many chunks per shard along "
        "each axis (one int for every space axis, one per axis, or axis=value pairs)",
    )
    parser.add_argument(
        "--compression", type=_compression, default=S, metavar="{none,blosc-lz4,blosc-zstd}",
        help="how chunks are compressed: Blosc with byte shuffle, or none "
        "(default: blosc-zstd)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", default=S,
        help="replace DEST if it is a Zarr store (anything else is refused)",
    )
    _add_progress(parser)


def build_parser() -> argparse.ArgumentParser:
    """The parser of the ``data-helpers`` command and its five subcommands.

    Each subcommand's parser sets ``run``, the function that carries it out; the options
    a user leaves out are absent, so that the package's own defaults apply.

    Examples
    --------
    >>> args = build_parser().parse_args(["pyramid", "in.zarr", "out.zarr",
    ...                                   "--chunks", "1,256,256", "--scale", "z=2"])
    >>> args.command, args.chunks, args.scale, hasattr(args, "method")
    ('pyramid', (1, 256, 256), {'z': 2.0}, False)
    >>> build_parser().parse_args(["stream", "s.zarr", "--shape", "640x360"]).shape
    (640, 360)
    """
    parser = _Parser(
        prog=PROG,
        description="Chunked images from the command line: inspect, validate, build "
        "pyramids, convert and stream OME-Zarr images with the data_helpers package.",
        epilog="Exit status: 0 on success, 1 on invalid data, 2 on bad arguments. "
        "Results go to standard output, progress bars to standard error.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument(
        "--traceback", action="store_true",
        help="on an error, show its traceback instead of one line",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    S = argparse.SUPPRESS

    info = commands.add_parser(
        "info", help="describe an OME-Zarr image (a path or an http(s) URL)",
        description="Describe an OME-Zarr image: its levels (shapes, data types, chunks, "
        "shards, bytes, and the bytes stored on disk for a local image), channels, "
        "labels, and whether it is valid. A plain Zarr array gets its chunk statistics.",
    )
    info.add_argument("path", metavar="PATH_OR_URL",
                      help="an OME-Zarr image's folder, or its http:// or https:// URL")
    info.set_defaults(run=_info)

    validate = commands.add_parser(
        "validate", help="check that stores are valid OME-Zarr images",
        description="Validate each store with ome-zarr-models and the OME-NGFF JSON "
        "schema, its label images included, and print its verdict: valid and its "
        "OME-Zarr version, or why it is not, one line per store. Exit status 1 if any "
        "is invalid, 2 if one cannot be read (no such path, no server).",
    )
    validate.add_argument("paths", nargs="+", metavar="PATH",
                          help="an OME-Zarr image's folder or http(s) URL")
    validate.add_argument(
        "--strict", action=argparse.BooleanOptionalAction, default=True,
        help="check against the strict OME-NGFF schema, which also requires what the "
        "specification only recommends (default); --no-strict: the image schema only",
    )
    validate.set_defaults(run=_validate)

    pyramid = commands.add_parser(
        "pyramid", help="build a multiscale pyramid from a Zarr array, an image or a TIFF",
        description="Build an OME-Zarr multiscale pyramid (data_helpers.pyramid."
        "build_pyramid) from SRC: a Zarr array, an OME-Zarr image (its level 0, with its "
        "axes, pixel size and unit) or a TIFF file (read tile by tile, "
        "data_helpers.convert.tiff_to_ome_zarr).",
    )
    pyramid.add_argument("source", metavar="SRC",
                         help="a Zarr array's folder, an OME-Zarr image's folder, a TIFF")
    pyramid.add_argument("dest", metavar="DEST", help="the new OME-Zarr image's folder")
    pyramid.add_argument(
        "--axes", default=S,
        help="one letter per axis of SRC in OME order, e.g. zyx or tczyx (default: the "
        "image's or the TIFF's axes; for a Zarr array yx, zyx, czyx or tczyx by its "
        "number of dimensions). For a TIFF, in the order the TIFF stores them",
    )
    pyramid.add_argument(
        "--scale", type=_floats, default=S, metavar="S[,S,...]",
        help="the physical size of a level-0 pixel: one number, one per axis, or "
        "axis=size pairs such as z=2,y=0.5,x=0.5 (default: the source's, else 1)",
    )
    pyramid.add_argument("--unit", default=S,
                         help="the unit of the space axes (default: the image's, else "
                         "micrometer)")
    pyramid.add_argument(
        "--factors", type=_ints, default=S, metavar="F[,F,...]",
        help="how much each level shrinks the one above: one int for every space axis, "
        "one per axis, or axis=factor pairs such as y=2,x=2 (default: 2)",
    )
    pyramid.add_argument("--method", choices=list(METHODS), default=S,
                         help="how a window becomes one pixel; mode or nearest for "
                         "labels (default: mean)")
    pyramid.add_argument("--max-levels", type=int, default=S, metavar="N",
                         help="the number of levels, level 0 included (default: until "
                         "every downsampled axis fits in one chunk)")
    _add_layout(pyramid, zarr_default=2, chunks_help="the chunk shape of every level: one "
                "int per axis, or axis=length pairs (default: near-cubic chunks of at "
                "most 2 MiB)")
    pyramid.set_defaults(run=_pyramid)

    convert = commands.add_parser(
        "convert", help="copy an OME-Zarr image into another layout (0.4 <-> 0.5, shards)",
        description="Copy an OME-Zarr image, with its label images, into a new layout "
        "(data_helpers.convert.convert_image): OME-Zarr 0.4 on Zarr v2 or 0.5 on Zarr "
        "v3, new chunks, shards, another codec. Pixels are copied bit for bit.",
    )
    convert.add_argument("source", metavar="SRC", help="an OME-Zarr image's folder")
    convert.add_argument("dest", metavar="DEST", help="the new image's folder")
    _add_layout(convert, zarr_default=3, chunks_help="the chunk shape of every level: one "
                "int per axis, or axis=length pairs naming some axes (default: each "
                "level keeps its own)")
    convert.set_defaults(run=_convert)

    stream = commands.add_parser(
        "stream", help="stream a simulated camera to an OME-Zarr store",
        description="Acquire frames from a simulated camera (data_helpers.camera) and "
        "stream them to DEST with the streaming writer (data_helpers.writer), as "
        "Acquire's Zarr driver does, with a live progress bar.",
    )
    stream.add_argument("dest", metavar="DEST", help="the new store's folder")
    camera = stream.add_argument_group("camera")
    camera.add_argument("--pattern", choices=list(PATTERNS), default=S,
                        help="what the frames show (default: radial_sin)")
    camera.add_argument("--shape", type=_size, default=S, metavar="WxH",
                        help="frame width x height in pixels (default: 1920x1080)")
    camera.add_argument("--pixel-type", choices=list(PIXEL_TYPES), default=S,
                        help="the pixel type (default: uint8)")
    camera.add_argument("--exposure-us", type=float, default=S, metavar="US",
                        help="exposure time in microseconds (default: 10000)")
    camera.add_argument("--frames", type=int, default=10, metavar="N",
                        help="number of frames to acquire (default: 10)")
    camera.add_argument("--seed", type=int, default=S,
                        help="seed of the uniform_random pattern (default: 0)")
    camera.add_argument("--realtime", action="store_true", default=S,
                        help="deliver frames no faster than one per exposure time")
    storage = stream.add_argument_group("storage")
    storage.add_argument("--tile", type=_size, default=S, metavar="WxH",
                         help="tile width x height; 0 means the whole frame "
                         "(default: 0x0)")
    storage.add_argument("--max-bytes-per-chunk", type=_bytes, default=S, metavar="BYTES",
                         help="the most bytes a chunk holds, e.g. 64MiB; below 16 MiB it "
                         "is raised to 16 MiB, as in Acquire (default: 16MiB)")
    storage.add_argument("--multiscale", action="store_true", default=S,
                         help="also write coarser levels, until a frame fits in one tile")
    storage.add_argument("--zarr-version", type=int, choices=(2, 3), default=S,
                         help="2: Zarr v2 with OME-Zarr 0.4; 3: Zarr v3 with OME-Zarr 0.5 "
                         "(default: 2)")
    storage.add_argument("--compression", type=_compression, default=S,
                         metavar="{none,blosc-lz4,blosc-zstd}",
                         help="Blosc with byte shuffle, or none (default: none)")
    storage.add_argument("--shard-chunks", type=_ints, default=S, metavar="N[,N]",
                         help="Zarr v3 only: chunks per shard along x and y (one int for "
                         "both, or X,Y)")
    storage.add_argument("--overwrite", action="store_true", default=S,
                         help="replace DEST if it is a Zarr store (anything else is refused)")
    _add_progress(stream)
    stream.set_defaults(run=_stream)
    return parser


def _given(args: argparse.Namespace, names: Sequence[str]) -> dict[str, Any]:
    """The options among ``names`` that the command line gave."""
    return {name: getattr(args, name) for name in names if hasattr(args, name)}


def _progress(args: argparse.Namespace) -> bool:
    return sys.stderr.isatty() if args.progress is None else bool(args.progress)


# -- opening what the commands read ------------------------------------------------------


def _local(path_text: str, what: str = "source") -> Path:
    """A local path that exists, else `FileNotFoundError` (exit status 2)."""
    if is_url(path_text):
        raise ValueError(f"{what}={path_text!r}: this command reads a local path, not a URL")
    path = Path(path_text)
    if not path.exists():
        raise FileNotFoundError(f"{what}={path_text!r} does not exist")
    return path


def _open_image(where: str, what: str = "path") -> MultiscaleImage:
    """The OME-Zarr image at a path or URL; an unreadable one is invalid data."""
    from data_helpers.multiscale import MultiscaleImage

    if not is_url(where):
        _local(where, what)
    try:
        return MultiscaleImage.open(where)
    except ImportError as error:  # a URL without aiohttp
        raise _Failure(_one_line(error), EXIT_USAGE) from error
    except ValueError as error:
        if is_url(where) and "cannot be read" in str(error):
            raise  # no server, a refused request: not the data's fault
        raise _invalid(_one_line(error)) from error


def _open_group(where: str) -> zarr.Group:
    """The Zarr group at a path or URL, for validation; anything else is invalid data."""
    import zarr

    if is_url(where):
        from data_helpers.multiscale import _open_url  # the package's one way to HTTP

        try:
            return _open_url(where)
        except ValueError as error:
            if "cannot be read" in str(error):
                raise
            raise _invalid(_one_line(error)) from error
    _local(where, "path")
    try:
        return zarr.open_group(where, mode="r")
    except Exception as error:  # zarr raises several types for "not a group"
        raise _invalid(f"{where!r} is not a Zarr group: {_one_line(error)}") from error


def _group_of(image: MultiscaleImage) -> zarr.Group:
    """The Zarr group an image was read from (to validate what was read, not reopen it)."""
    return image._group


def _verdict(group: zarr.Group, *, strict: bool = True) -> tuple[bool, str]:
    """Whether ``group`` is a valid OME-Zarr image (and its labels), and why (not)."""
    from data_helpers import ome

    try:
        model = ome.validate(group, strict=strict)
    except ValueError as error:
        return False, _one_line(error)
    problems = []
    try:
        names = ome.read_labels(group)
    except ValueError as error:  # a labels group that is not as OME-Zarr describes it
        return False, f"labels: {_one_line(error)}"
    for name in names:
        member = group.get(f"labels/{name}")
        try:
            if not isinstance(member, type(group)):
                raise ValueError(f"nothing readable is at labels/{name}")
            ome.validate_label_image(member, strict=strict)
        except ValueError as error:
            problems.append(f"label image {name!r}: {_one_line(error)}")
    if problems:
        return False, "; ".join(problems)
    schema = "strict OME-NGFF schema" if strict else "OME-NGFF image schema"
    return True, f"valid OME-Zarr {model.ome_zarr_version} image ({schema})"


# -- output ----------------------------------------------------------------------------------


def _stdout_console() -> Console:
    """Standard output: rich's terminal handling, or plain text of a fixed width."""
    fixed = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(file=sys.stdout, width=_PIPE_WIDTH if fixed else None, markup=False,
                   highlight=False, emoji=False)


@contextlib.contextmanager
def _progress_on_stderr() -> Iterator[None]:
    """Point rich's global console, which the package's progress bars use, at stderr."""
    console = rich.get_console()
    saved = dict(console.__dict__)
    rich.reconfigure(stderr=True)
    try:
        yield
    finally:
        console.__dict__.clear()
        console.__dict__.update(saved)


@contextlib.contextmanager
def _warnings_as_lines() -> Iterator[None]:
    """Warnings as one line on stderr, ``data-helpers: warning: ...``."""

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        print(f"{PROG}: warning: {' '.join(str(message).split())}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def _table(title: str, *, show_header: bool = True) -> Table:
    """A table as every subcommand prints them: titled, without vertical rules."""
    return Table(title=title, title_justify="left", show_header=show_header,
                 box=box.SIMPLE_HEAD if show_header else box.SIMPLE, collapse_padding=True)


def _shape(shape: Sequence[int] | None) -> str:
    """``64x128``: compact, for tables of five-dimensional shapes."""
    return "-" if shape is None else "x".join(str(n) for n in shape)


def _numbers(values: Sequence[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)


def _verdict_text(valid: bool, text: str) -> Text:
    return Text(text if valid else f"invalid: {text}", style="green" if valid else "red")


def _levels_table(image: MultiscaleImage, title: str = "levels") -> Table:
    """One row per level: shape, chunks, shards, scale, bytes and bytes stored.

    The title says the data type (every level of a valid image has the image's); a
    column shows it only when levels differ. The level's path is shown beside its
    number when they differ (``1 (s1)``); the shards column only for an image with
    shards. On a narrow console the scales wrap, at their commas.
    """
    from data_helpers.inspect import directory_size, format_bytes

    arrays = [image.level(i) for i in range(image.levels)]
    sharded = any(array.shards is not None for array in arrays)
    dtypes = {str(array.dtype) for array in arrays}
    table = _table(f"{title}: {', '.join(sorted(dtypes))}")
    columns = ["level", "shape", "chunks", *(["shards"] if sharded else []),
               *(["dtype"] if len(dtypes) > 1 else []), "scale", "bytes", "stored"]
    for column in columns:  # on a narrow console the scales wrap, at their commas
        table.add_column(column, overflow="fold", no_wrap=column != "scale",
                         justify="right" if column in ("bytes", "stored") else "left")
    for i, (path, array) in enumerate(zip(image.metadata.paths, arrays, strict=True)):
        # Over HTTP the stored size is not known: HTTP lists no directories.
        stored = "-" if image.path is None else format_bytes(
            directory_size(image.path / path)[1])
        cells = {
            "level": str(i) if path == str(i) else f"{i} ({path})",
            "shape": _shape(array.shape), "chunks": _shape(array.chunks),
            "shards": _shape(array.shards), "dtype": str(array.dtype),
            "scale": _numbers(image.scale(i)), "bytes": format_bytes(array.nbytes),
            "stored": stored,
        }
        table.add_row(*(cells[column] for column in columns))
    return table


def _summary_table(image: MultiscaleImage, verdict: tuple[bool, str]) -> Table:
    meta = image.metadata
    table = _table(f"OME-Zarr {image.version} image", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    axes = ", ".join(
        f"{axis} ({', '.join(x for x in (kind, unit) if x)})" if kind or unit else axis
        for axis, kind, unit in zip(meta.axes, meta.axis_types, meta.units, strict=True)
    )
    rows: list[tuple[str, str | Text]] = [
        ("store", image.url or str(image.path)),
        ("format", f"OME-Zarr {image.version}, Zarr v{image.level(0).metadata.zarr_format}"),
        ("name", meta.name or "-"),
        ("axes", axes),
        ("dtype", str(image.dtype)),
        ("levels", str(image.levels)),
    ]
    if image.image_label is not None:
        rows.append(("kind", "label image (image-label metadata)"))
    rows.append(("valid", _verdict_text(*verdict)))
    for field, value in rows:
        table.add_row(field, value)
    return table


def _channels_table(image: MultiscaleImage) -> Table | None:
    channels = image.channels
    if not channels:
        return None
    table = _table("channels")
    for column in ("index", "label", "color", "window", "limits", "active"):
        table.add_column(column)

    def text(value: Any) -> str:
        if value is None:
            return "-"
        return _numbers(value) if isinstance(value, tuple) else str(value)

    for i, channel in enumerate(channels):
        table.add_row(str(i), text(channel.label), text(channel.color),
                      text(channel.window), text(channel.limits), text(channel.active))
    return table


def _labels_table(image: MultiscaleImage) -> Table | None:
    problem: str | None = None
    try:
        names = image.labels
    except ValueError as error:  # a labels group that is not as OME-Zarr describes it
        names, problem = (), _one_line(error)
    if not names and problem is None:
        return None
    table = _table("labels")
    for column in ("name", "levels", "shape", "dtype", "valid"):
        table.add_column(column)
    if problem is not None:
        table.add_row("-", "-", "-", "-", _verdict_text(False, problem))
    for name in names:
        try:
            label = image.label(name)
        except (KeyError, ValueError) as error:
            table.add_row(name, "-", "-", "-", _verdict_text(False, _one_line(error)))
            continue
        valid, text = _verdict(_group_of(label))
        table.add_row(name, str(label.levels), _shape(label.shapes[0]), str(label.dtype),
                      _verdict_text(True, "valid") if valid else _verdict_text(False, text))
    return table


# -- the subcommands ---------------------------------------------------------------------


def _info(args: argparse.Namespace, out: Console) -> int:
    where: str = args.path
    if not is_url(where):
        array = _plain_array(_local(where, "path"))
        if array is not None:
            from data_helpers.inspect import chunk_stats

            out.print(chunk_stats(array).as_table(title=f"Zarr array {where}"))
            out.print("a Zarr array, not an OME-Zarr image: 'data-helpers pyramid' "
                      "builds one from it")
            return EXIT_OK
    image = _open_image(where)
    verdict = _verdict(_group_of(image))
    out.print(_summary_table(image, verdict))
    for table in (_levels_table(image), _channels_table(image), _labels_table(image)):
        if table is not None:
            out.print(table)
    return EXIT_OK if verdict[0] else EXIT_INVALID


def _plain_array(path: Path) -> zarr.Array[Any] | None:
    """The Zarr array at ``path``, or None when something else is there."""
    import zarr

    try:
        return zarr.open_array(path, mode="r")
    except Exception:  # a group, or no Zarr at all: the caller opens it as an image
        return None


def _validate(args: argparse.Namespace, out: Console) -> int:
    """One line per store: ``PATH: valid ...``, ``PATH: invalid: ...`` or an error."""
    status = EXIT_OK
    for where in args.paths:
        try:
            valid, text = _verdict(_open_group(where), strict=args.strict)
        except _Failure as failure:
            valid, text = False, str(failure)
        except (FileNotFoundError, ValueError) as error:  # no such path, no server
            out.print(Text(f"{where}: error: {_one_line(error)}", style="red"),
                      soft_wrap=True)
            status = EXIT_USAGE
            continue
        line = Text(f"{where}: ")
        line.append(_verdict_text(valid, text))
        out.print(line, soft_wrap=True)
        if not valid and status == EXIT_OK:
            status = EXIT_INVALID
    return status


def _pyramid(args: argparse.Namespace, out: Console) -> int:
    options = _given(args, _PYRAMID_OPTIONS)
    options["progress"] = _progress(args)
    source = _local(args.source)
    import zarr

    if source.is_file():
        image = _pyramid_from_tiff(source, args, options)
    else:
        try:
            node = zarr.open(source, mode="r")
        except Exception as error:  # zarr raises several types for "no Zarr here"
            raise _invalid(
                f"source={args.source!r} is not a Zarr array, an OME-Zarr image or a TIFF "
                f"file: {_one_line(error)}"
            ) from error
        from data_helpers.pyramid import build_pyramid

        if isinstance(node, zarr.Array):
            axes = getattr(args, "axes", None) or _DEFAULT_AXES.get(node.ndim)
            if axes is None:
                raise ValueError(
                    f"source={args.source!r} has {node.ndim} dimensions; name its axes "
                    "with --axes (2 to 5 of t, c, z, y, x)"
                )
            image = build_pyramid(node, args.dest, axes=axes,
                                  scale=getattr(args, "scale", None), **options)
        else:
            level_0, defaults = _image_level_0(args.source)
            image = build_pyramid(level_0, args.dest, **{**defaults, **_given(
                args, ("axes", "scale")), **options})
    out.print(_levels_table(image, title=f"wrote {args.dest}"))
    return EXIT_OK


def _image_level_0(where: str) -> tuple[zarr.Array[Any], dict[str, Any]]:
    """An OME-Zarr image's level 0, and its axes, pixel size and unit as settings."""
    image = _open_image(where, "source")
    axes = "".join(image.axes)
    defaults: dict[str, Any] = {"axes": axes, "scale": dict(zip(axes, image.scale(0),
                                                                strict=True))}
    units = {unit for unit, kind in zip(image.metadata.units, image.metadata.axis_types,
                                        strict=True) if kind == "space" and unit}
    if len(units) == 1:
        defaults["unit"] = units.pop()
    return image.level(0), defaults


def _pyramid_from_tiff(source: Path, args: argparse.Namespace,
                       options: dict[str, Any]) -> MultiscaleImage:
    import tifffile

    try:
        with tifffile.TiffFile(source):
            pass
    except tifffile.TiffFileError as error:
        raise _invalid(
            f"source={args.source!r} is a file but not a TIFF: {_one_line(error)}"
        ) from error
    from data_helpers.convert import tiff_to_ome_zarr

    return tiff_to_ome_zarr(source, args.dest, **_given(args, ("axes", "scale")), **options)


def _convert(args: argparse.Namespace, out: Console) -> int:
    from data_helpers.convert import convert_image

    image = _open_image(args.source, "source")
    options = _given(args, _CONVERT_OPTIONS)
    copy = convert_image(image, args.dest, progress=_progress(args), **options)
    out.print(_levels_table(copy, title=f"wrote {args.dest} (OME-Zarr {copy.version})"))
    if copy.labels:
        out.print(f"labels: {', '.join(copy.labels)}")
    return EXIT_OK


def _stream(args: argparse.Namespace, out: Console) -> int:
    from data_helpers.camera import SimulatedCamera
    from data_helpers.inspect import format_bytes
    from data_helpers.multiscale import MultiscaleImage
    from data_helpers.writer import ChunkingProperties, StorageProperties, stream_to_zarr

    camera = SimulatedCamera(**_given(args, ("pattern", "shape", "pixel_type", "seed",
                                             "realtime")),
                             **({"exposure_time_us": args.exposure_us}
                                if hasattr(args, "exposure_us") else {}))
    chunking: dict[str, Any] = _given(args, ("max_bytes_per_chunk",))
    if hasattr(args, "tile"):
        chunking["tile_width"], chunking["tile_height"] = args.tile
    settings: dict[str, Any] = _given(args, ("zarr_version", "compression", "shard_chunks",
                                             "overwrite"))
    if hasattr(args, "multiscale"):
        settings["enable_multiscale"] = args.multiscale
    storage = StorageProperties(args.dest, chunking=ChunkingProperties(**chunking),
                                **settings)
    stats = stream_to_zarr(camera, storage, args.frames, progress=_progress(args))
    table = _table(f"streamed {args.dest}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("frames", str(stats.frames_written))
    table.add_row("bytes", format_bytes(stats.bytes_written))
    table.add_row("seconds", f"{stats.seconds:.2f}")
    table.add_row("MB/s", f"{stats.mb_per_s:.1f}")
    out.print(table)
    out.print(_levels_table(MultiscaleImage.open(args.dest)))
    return EXIT_OK


# -- main --------------------------------------------------------------------------------


def _documented_errors() -> tuple[type[BaseException], ...]:
    """The errors the package documents: reported in one line, exit status 2."""
    from data_helpers._destination import DestinationBusyError

    return (ValueError, TypeError, FileNotFoundError, FileExistsError, IsADirectoryError,
            NotADirectoryError, PermissionError, DestinationBusyError)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``data-helpers`` command with ``argv`` (default: ``sys.argv[1:]``).

    Parameters
    ----------
    argv
        The arguments after the program's name, e.g. ``["info", "image.zarr"]``.

    Returns
    -------
    int
        The exit status: `EXIT_OK` (0), `EXIT_INVALID` (1, invalid data) or `EXIT_USAGE`
        (2, bad arguments). ``--help`` and ``--version`` return 0 after printing.

    Examples
    --------
    >>> import contextlib
    >>> import tempfile
    >>> import numpy as np
    >>> from data_helpers.pyramid import build_pyramid
    >>> with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
    ...     _ = build_pyramid(np.zeros((64, 64), np.uint8), "a.zarr", axes="yx",
    ...                       chunks=(32, 32))
    ...     status = main(["validate", "a.zarr", "."])
    a.zarr: valid OME-Zarr 0.4 image (strict OME-NGFF schema)
    .: invalid: '.' is not a Zarr group: ...
    >>> status
    1
    >>> main(["--version"])
    data-helpers 0.1.0
    0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or argparse's one-line error
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    out = _stdout_console()
    documented = _documented_errors()
    try:
        with _warnings_as_lines(), _progress_on_stderr():
            status: int = args.run(args, out)
            return status
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return _EXIT_INTERRUPTED
    except Exception as error:
        if not isinstance(error, (_Failure, *documented)):
            raise  # not an error the package documents: its traceback shows where
        if args.traceback:
            traceback.print_exc()
        print(f"{PROG}: error: {_one_line(error)}", file=sys.stderr)
        return error.status if isinstance(error, _Failure) else EXIT_USAGE

