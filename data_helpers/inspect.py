"""What is on disk: store trees with file counts and sizes, and chunk statistics.

A Zarr store on a local disk is a plain directory: metadata files (``zarr.json`` for
Zarr v3; ``.zarray``, ``.zgroup``, ``.zattrs`` for Zarr v2) and one file per chunk
(or per shard). :func:`store_tree` draws that directory with the number of files and
bytes below each folder; :func:`chunk_stats` summarises one array: how many chunks
its grid has, how many are actually stored, and how well they compress.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rich
import zarr
import zarr.errors
from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree
from zarr.core.sync import sync

from data_helpers._checks import as_int, as_path

__all__ = [
    "ChunkStats",
    "chunk_stats",
    "directory_size",
    "format_bytes",
    "print_store_tree",
    "store_tree",
]

# The runs of digits in a chunk key: its grid coordinates.
_NUMBERS = re.compile(r"\d+")

# Files that describe a Zarr node rather than hold chunks: listed first in trees.
_METADATA_FILES = (".zmetadata", "zarr.json", ".zgroup", ".zarray", ".zattrs")


def format_bytes(n_bytes: int) -> str:
    """Format a number of bytes with binary units (KiB = 1024 bytes, MiB, GiB, ...).

    Parameters
    ----------
    n_bytes
        A number of bytes, >= 0.

    Returns
    -------
    str
        E.g. ``"512 B"``, ``"1.5 KiB"``, ``"3.0 GiB"``.

    Examples
    --------
    >>> format_bytes(512)
    '512 B'
    >>> format_bytes(1536)
    '1.5 KiB'
    >>> format_bytes(3 * 2**30)
    '3.0 GiB'
    """
    n_bytes = as_int("n_bytes", n_bytes, minimum=0)
    if n_bytes < 1024:
        return f"{n_bytes} B"
    value = float(n_bytes)
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        value /= 1024
        if value < 1024 or unit == "PiB":
            break
    return f"{value:.1f} {unit}"


def _check_path(path: Any, name: str = "path") -> Path:
    """Return ``path`` as a Path that exists, or raise a clear error."""
    result = as_path(name, path)
    if not result.exists():
        raise FileNotFoundError(f"{name}={str(path)!r} does not exist")
    return result


# ----------------------------------------------------------------------------
# Directory trees
# ----------------------------------------------------------------------------


@dataclass
class _Entry:
    """A file or directory, with the totals of everything below it."""

    name: str
    is_dir: bool
    n_files: int
    n_bytes: int
    children: list[_Entry] = field(default_factory=list)


def _natural_key(name: str) -> tuple[Any, ...]:
    """Sort key: metadata files first, then names with numbers in numeric order.

    So chunk files come as 0, 1, 2, ..., 10 rather than 0, 1, 10, 2.
    """
    metadata_rank = _METADATA_FILES.index(name) if name in _METADATA_FILES else len(_METADATA_FILES)
    parts = tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in re.split(r"(\d+)", name)
        if part
    )
    return (metadata_rank, parts)


def _scan(path: Path) -> _Entry:
    """Walk ``path`` once, counting files and bytes in every directory below it."""
    if not path.is_dir():
        return _Entry(path.name, False, 1, path.stat().st_size)
    children = []
    with os.scandir(path) as it:
        for item in it:
            # Symbolic links to directories are not followed (like os.walk), so a link
            # loop cannot make the walk endless.
            if item.is_dir(follow_symlinks=False):
                children.append(_scan(Path(item.path)))
            elif item.is_file():
                children.append(_Entry(item.name, False, 1, item.stat().st_size))
    children.sort(key=lambda entry: _natural_key(entry.name))
    return _Entry(
        path.name or str(path),
        True,
        sum(c.n_files for c in children),
        sum(c.n_bytes for c in children),
        children,
    )


def directory_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """Count the files below a directory and their total size.

    Parameters
    ----------
    path
        A directory (every file below it, at any depth, is counted) or a file.

    Returns
    -------
    tuple[int, int]
        ``(number_of_files, total_bytes)``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = pathlib.Path(tmp)
    ...     _ = (folder / "a.bin").write_bytes(bytes(100))
    ...     (folder / "sub").mkdir()
    ...     _ = (folder / "sub" / "b.bin").write_bytes(bytes(28))
    ...     directory_size(folder)
    (2, 128)
    """
    entry = _scan(_check_path(path))
    return entry.n_files, entry.n_bytes


def _count_label(n_files: int, n_bytes: int) -> str:
    """E.g. ``"3 files, 1.5 KiB"``."""
    return f"{n_files} file{'' if n_files == 1 else 's'}, {format_bytes(n_bytes)}"


def _entry_label(entry: _Entry) -> Text:
    """Tree label of a file (its size) or directory (its file count and size)."""
    if entry.is_dir:
        return Text.assemble(
            (entry.name + "/", "bold blue"),
            (f"  ({_count_label(entry.n_files, entry.n_bytes)})", "dim"),
        )
    return Text.assemble(entry.name, (f"  ({format_bytes(entry.n_bytes)})", "dim"))


def _add_children(tree: Tree, entry: _Entry, depth: int, max_depth: int, max_entries: int) -> None:
    """Add ``entry``'s children to ``tree``, down to ``max_depth``."""
    if depth >= max_depth:
        return
    shown, hidden = entry.children[:max_entries], entry.children[max_entries:]
    for child in shown:
        branch = tree.add(_entry_label(child))
        if child.is_dir:
            _add_children(branch, child, depth + 1, max_depth, max_entries)
    if hidden:
        n_dirs = sum(c.is_dir for c in hidden)
        if n_dirs == 0:
            kind = ("file", "files")
        elif n_dirs == len(hidden):
            kind = ("directory", "directories")
        else:
            kind = ("entry", "entries")
        noun = kind[0] if len(hidden) == 1 else kind[1]
        n_files = sum(c.n_files for c in hidden)
        n_bytes = sum(c.n_bytes for c in hidden)
        detail = format_bytes(n_bytes) if n_dirs == 0 else _count_label(n_files, n_bytes)
        tree.add(Text(f"… {len(hidden)} more {noun} ({detail})", style="dim italic"))


def _check_limit(name: str, value: Any, minimum: int) -> int:
    return as_int(name, value, minimum=minimum)


def store_tree(path: str | os.PathLike[str], *, max_depth: int = 3, max_entries: int = 5) -> Tree:
    """A tree of a Zarr store (or any directory), with file counts and sizes.

    Each directory shows the number of files and bytes below it, at any depth; each
    file shows its size. Metadata files come first, then names in natural order
    (``2`` before ``10``).

    Parameters
    ----------
    path
        The store's directory (e.g. ``"image.zarr"``), or any directory or file.
    max_depth
        Deepest level listed (the store itself is level 0). Directories at this
        level show their totals but not their content. 0 shows only the totals.
    max_entries
        Most entries listed per directory; the others are summarised in one line,
        e.g. ``… 95 more files (1.2 MiB)``.

    Returns
    -------
    rich.tree.Tree
        Print it with ``rich.print(tree)`` or :func:`print_store_tree`.

    Examples
    --------
    >>> import tempfile, pathlib, zarr
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "demo.zarr"
    ...     z = zarr.create_array(path, shape=(4, 40), chunks=(1, 40), dtype="uint8",
    ...                           compressors=None)
    ...     z[...] = 1
    ...     tree = store_tree(path, max_entries=2)
    >>> print(tree.label)
    demo.zarr/  (5 files, ...)
    >>> from rich.console import Console
    >>> plain = Console(width=80, color_system=None)  # no colours, for this example
    >>> plain.print(tree)  # or rich.print(tree), in colour
    demo.zarr/  (5 files, ...)
    ├── zarr.json  (... B)
    └── c/  (4 files, 160 B)
        ├── 0/  (1 file, 40 B)
        │   └── 0  (40 B)
        ├── 1/  (1 file, 40 B)
        │   └── 0  (40 B)
        └── … 2 more directories (2 files, 80 B)
    """
    root = _scan(_check_path(path))
    max_depth = _check_limit("max_depth", max_depth, 0)
    max_entries = _check_limit("max_entries", max_entries, 1)
    tree = Tree(_entry_label(root), guide_style="dim")
    if root.is_dir:
        _add_children(tree, root, 0, max_depth, max_entries)
    return tree


def print_store_tree(
    path: str | os.PathLike[str],
    *,
    max_depth: int = 3,
    max_entries: int = 5,
    console: Console | None = None,
) -> None:
    """Print :func:`~data_helpers.inspect.store_tree` with rich (in a terminal or in Jupyter).

    Parameters
    ----------
    path, max_depth, max_entries
        As for :func:`store_tree`.
    console
        The rich console to print to. Default: rich's global console.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rich.console import Console
    >>> plain = Console(width=80, color_system=None)  # no colours, for this example
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = pathlib.Path(tmp) / "store"
    ...     folder.mkdir()
    ...     for i in range(4):
    ...         _ = (folder / f"{i}.0").write_bytes(bytes(10))
    ...     print_store_tree(folder, max_entries=3, console=plain)
    store/  (4 files, 40 B)
    ├── 0.0  (10 B)
    ├── 1.0  (10 B)
    ├── 2.0  (10 B)
    └── … 1 more file (10 B)
    """
    tree = store_tree(path, max_depth=max_depth, max_entries=max_entries)
    if console is None:
        rich.print(tree)
    else:
        console.print(tree)


# ----------------------------------------------------------------------------
# Chunk statistics
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChunkStats:
    """Chunk statistics of one Zarr array (see :func:`chunk_stats`).

    Attributes
    ----------
    shape
        The array's shape.
    dtype
        The array's data type, as a string.
    zarr_format
        The array's Zarr format: 2 or 3.
    chunk_shape
        Shape of one chunk: the unit of compression and reading.
    shard_shape
        Shape of one shard (Zarr v3 sharding: one file holding several chunks), or
        None for an array without shards.
    nchunks
        Number of chunks in the grid (each axis: ceil(size / chunk size)).
    nchunks_stored
        Number of chunks stored. Chunks never written, or equal to the fill value, are
        not stored: reading them gives the fill value. With shards, a stored shard
        counts for every chunk of it that lies inside the array (an edge shard of an
        array whose shape is not a whole number of shards holds fewer chunks than
        the others); which of them hold data is written in the shard's index, which
        is not read. Never more than `nchunks`.
    nshards
        Shards in the grid, or None without shards.
    nshards_stored
        Shards stored (files), or None without shards.
    nbytes
        Uncompressed size of the whole array: ``prod(shape) * itemsize``.
    nbytes_stored
        Bytes the array takes in its store: chunks (or shards) plus metadata, and
        nothing of its neighbours (an array ``"1"`` beside an array ``"10"``).
    compressors
        The compressors of the chunks, e.g. ``("ZstdCodec(level=0, checksum=False)",)``.
    compression_ratio
        ``nbytes / nbytes_stored``. Chunks that are not stored cost nothing, so a
        partly written array has a high ratio.
    fraction_stored
        ``nchunks_stored / nchunks``.
    """

    shape: tuple[int, ...]
    dtype: str
    zarr_format: int
    chunk_shape: tuple[int, ...]
    shard_shape: tuple[int, ...] | None
    nchunks: int
    nchunks_stored: int
    nshards: int | None
    nshards_stored: int | None
    nbytes: int
    nbytes_stored: int
    compressors: tuple[str, ...]

    @property
    def compression_ratio(self) -> float:
        """Uncompressed bytes divided by stored bytes."""
        return self.nbytes / self.nbytes_stored if self.nbytes_stored else float("inf")

    @property
    def fraction_stored(self) -> float:
        """Fraction of the grid's chunks that are stored."""
        return self.nchunks_stored / self.nchunks if self.nchunks else 0.0

    def as_table(self, title: str | None = "Chunk statistics") -> Table:
        """The statistics as a two-column rich table.

        Parameters
        ----------
        title
            Table title (None for none).

        Returns
        -------
        rich.table.Table
            Print it with ``rich.print``; in a notebook, displaying the ChunkStats
            itself is enough.

        Examples
        --------
        >>> z = zarr.create_array({}, shape=(10, 10), chunks=(5, 5), dtype="uint8")
        >>> z[:5, :5] = 1
        >>> table = chunk_stats(z).as_table()
        >>> table.columns[0]._cells[:3]
        ['shape', 'chunk shape', 'chunks in grid']
        """
        table = Table(title=title, show_header=False)
        table.add_column("statistic", style="bold")
        table.add_column("value", justify="right")
        rows = [
            ("shape", str(self.shape)),
            ("chunk shape", str(self.chunk_shape)),
            ("chunks in grid", f"{self.nchunks:,}"),
            ("chunks stored", f"{self.nchunks_stored:,} ({self.fraction_stored:.0%})"),
        ]
        if self.shard_shape is not None:
            rows += [
                ("shard shape", str(self.shard_shape)),
                ("shards in grid", f"{self.nshards:,}"),
                ("shards stored", f"{self.nshards_stored:,}"),
            ]
        rows += [
            ("data type", self.dtype),
            ("zarr format", str(self.zarr_format)),
            ("compressors", ", ".join(self.compressors) or "none"),
            ("uncompressed", format_bytes(self.nbytes)),
            ("stored", format_bytes(self.nbytes_stored)),
            ("compression ratio", f"{self.compression_ratio:.2f}"),
        ]
        for name, value in rows:
            table.add_row(name, value)
        return table

    def __rich__(self) -> Table:
        """Let ``rich.print(stats)`` and notebooks show the table."""
        return self.as_table()


def _open_array(array: Any) -> zarr.Array[Any]:
    """``array`` if it is a zarr array, else open the array stored at that path."""
    if isinstance(array, zarr.Array):
        return array
    if not isinstance(array, str | os.PathLike):
        raise TypeError(
            f"array must be a zarr.Array or the path of one (str or path-like), got {type(array)!r}"
        )
    path = _check_path(array, "array")
    try:
        node = zarr.open(path, mode="r")
    except (zarr.errors.NodeNotFoundError, zarr.errors.MetadataValidationError) as error:
        raise ValueError(
            f"array must be the path of a Zarr array, but {str(array)!r} holds no Zarr "
            "metadata (no zarr.json or .zarray)"
        ) from error
    if not isinstance(node, zarr.Array):
        members = sorted(name for name, _ in node.arrays())
        raise ValueError(
            f"array must be the path of a Zarr array, but {str(array)!r} is a group; "
            f"pass the path of one of its arrays: {members}"
        )
    return node


def chunk_stats(array: zarr.Array[Any] | str | os.PathLike[str]) -> ChunkStats:
    """Chunk statistics of a Zarr v2 or v3 array, sharded or not.

    Parameters
    ----------
    array
        A ``zarr.Array``, or the path of one on disk (opened read-only).

    Returns
    -------
    ChunkStats
        Frozen dataclass; ``rich.print(stats)`` shows it as a table.

    Examples
    --------
    >>> z = zarr.create_array({}, shape=(100, 100), chunks=(10, 10), dtype="uint16")
    >>> z[:30, :] = 7  # write 3 of the 10 rows of chunks
    >>> stats = chunk_stats(z)
    >>> stats.nchunks, stats.nchunks_stored, stats.nbytes
    (100, 30, 20000)
    >>> bool(stats.compression_ratio > 10)
    True
    """
    array = _open_array(array)
    keys, nbytes_stored = _stored_keys(array)
    shards = array.shards
    chunk_grid = [math.ceil(n / c) for n, c in zip(array.shape, array.chunks, strict=True)]
    stored = _stored_coordinates(array, keys, shards or array.chunks)
    if shards is None:
        nshards = nshards_stored = None
        nchunks_stored = len(stored)
    else:
        # A shard at grid position i along an axis holds chunks i*k .. (i+1)*k - 1 of the
        # k = shard / chunk it can hold; past the end of the array there are none.
        per_shard = [shard // chunk for shard, chunk in zip(shards, array.chunks, strict=True)]
        nshards = math.prod(math.ceil(n / s) for n, s in zip(array.shape, shards, strict=True))
        nshards_stored = len(stored)
        nchunks_stored = sum(
            math.prod(min(k, n - i * k) for i, k, n in zip(coords, per_shard, chunk_grid,
                                                              strict=True))
            for coords in stored
        )
    return ChunkStats(
        shape=tuple(array.shape),
        dtype=str(array.dtype),
        zarr_format=array.metadata.zarr_format,
        chunk_shape=tuple(array.chunks),
        shard_shape=None if shards is None else tuple(shards),
        nchunks=math.prod(chunk_grid),
        nchunks_stored=nchunks_stored,
        nshards=nshards,
        nshards_stored=nshards_stored,
        nbytes=array.nbytes,
        nbytes_stored=nbytes_stored,
        compressors=tuple(str(c) for c in array.compressors),
    )


async def _list_and_size(store: Any, prefix: str) -> tuple[list[str], int]:
    keys = [key async for key in store.list_prefix(prefix)]
    return keys, await store.getsize_prefix(prefix) if keys else 0


def _stored_keys(array: zarr.Array[Any]) -> tuple[list[str], int]:
    """The keys stored under ``array`` (relative to it) and their total size in bytes.

    zarr's own ``nchunks_initialized`` and ``nbytes_stored`` match keys by a plain
    prefix, so an in-memory array ``"1"`` would see the keys of a neighbour ``"10"``
    (and zarr 3.1 checks each grid key against a list: quadratic in the chunk count).
    Listing ``"1/"`` finds only the array's own keys, once.
    """
    path = array.path
    prefix = f"{path}/" if path else ""
    keys, nbytes = sync(_list_and_size(array.store, prefix))
    return [key[len(prefix):] for key in keys], nbytes


def _stored_coordinates(
    array: zarr.Array[Any], keys: list[str], object_shape: tuple[int, ...]
) -> list[tuple[int, ...]]:
    """Grid coordinates of the stored objects (chunks, or shards when sharded) among ``keys``.

    A key counts when the numbers in it are a position inside the grid of objects of
    ``object_shape`` whose key, as the array encodes it, is that very key (``c/0/3``,
    or ``0.3`` in Zarr v2); metadata files and anything else do not.
    """
    grid = [math.ceil(n / s) for n, s in zip(array.shape, object_shape, strict=True)]
    encode = array.metadata.encode_chunk_key
    found = []
    for key in keys:
        # A 0-d array has one object, whose key may hold a number anyway ("0" in v2).
        coords = () if array.ndim == 0 else tuple(int(n) for n in _NUMBERS.findall(key))
        if (len(coords) == array.ndim
                and all(i < n for i, n in zip(coords, grid, strict=True))
                and encode(coords) == key):
            found.append(coords)
    return found
