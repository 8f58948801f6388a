"""Tests of data_helpers.inspect on real Zarr stores in temporary directories."""

from __future__ import annotations

import dataclasses
import io
import os
from pathlib import Path

import numpy as np
import pytest
import rich
import zarr
from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from data_helpers.inspect import (
    ChunkStats,
    chunk_stats,
    directory_size,
    format_bytes,
    print_store_tree,
    store_tree,
)


def walk_totals(path: Path) -> tuple[int, int]:
    """The reference: file count and bytes below ``path`` by os.walk."""
    n_files = n_bytes = 0
    for root, _, files in os.walk(path):
        n_files += len(files)
        n_bytes += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return n_files, n_bytes


def render(renderable: object, width: int = 120) -> str:
    """Plain text of a rich renderable."""
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def labels(tree: Tree) -> list[str]:
    """Labels of the children of a tree node, as plain text."""
    return [str(child.label) for child in tree.children]


@pytest.fixture
def pyramid(tmp_path: Path) -> Path:
    """A group with two compressed 2D arrays, like a small image pyramid."""
    path = tmp_path / "image.zarr"
    group = zarr.open_group(path, mode="w")
    rng = np.random.default_rng(0)
    for level, size in enumerate((64, 32)):
        array = group.create_array(str(level), shape=(size, size), chunks=(8, 8), dtype="uint8")
        array[...] = rng.integers(0, 4, size=(size, size), dtype=np.uint8)
    return path


# --------------------------------------------------------------------------- format_bytes


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (5 * 2**20, "5.0 MiB"),
        (3 * 2**30 + 2**29, "3.5 GiB"),
        (2**40, "1.0 TiB"),
    ],
)
def test_format_bytes(n, text):
    assert format_bytes(n) == text


@pytest.mark.parametrize(
    ("value", "error"), [(-1, ValueError), (1.5, TypeError), (True, TypeError)]
)
def test_format_bytes_rejects_bad_input(value, error):
    with pytest.raises(error, match="n_bytes"):
        format_bytes(value)


# --------------------------------------------------------------------------- directory_size


def test_directory_size_matches_os_walk(pyramid):
    assert directory_size(pyramid) == walk_totals(pyramid)
    assert directory_size(pyramid / "1") == walk_totals(pyramid / "1")
    assert directory_size(str(pyramid)) == walk_totals(pyramid)  # str works too
    n_files, n_bytes = directory_size(pyramid)
    assert n_files == 1 + 2 * 1 + 64 + 16  # group + array metadata, chunks
    assert n_bytes > 0


def test_directory_size_of_a_file_and_an_empty_directory(tmp_path):
    (tmp_path / "one.bin").write_bytes(bytes(17))
    (tmp_path / "empty").mkdir()
    assert directory_size(tmp_path / "one.bin") == (1, 17)
    assert directory_size(tmp_path / "empty") == (0, 0)


def test_directory_size_rejects_bad_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"path='.*missing\.zarr' does not exist"):
        directory_size(tmp_path / "missing.zarr")
    with pytest.raises(TypeError, match=r"path=42 must be a path \(str or os.PathLike\)"):
        directory_size(42)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- store_tree


def test_store_tree_counts_every_directory_like_os_walk(pyramid):
    tree = store_tree(pyramid, max_depth=10, max_entries=1000)
    assert isinstance(tree, Tree)
    n_files, n_bytes = walk_totals(pyramid)
    assert str(tree.label) == f"image.zarr/  ({n_files} files, {format_bytes(n_bytes)})"
    assert labels(tree)[0].startswith("zarr.json  (")
    level0 = tree.children[1]
    n_files, n_bytes = walk_totals(pyramid / "0")
    assert str(level0.label) == f"0/  ({n_files} files, {format_bytes(n_bytes)})"
    chunk_dir = level0.children[1].children[0]  # 0/c/0: the first row of chunks
    assert str(chunk_dir.label).startswith("0/  (8 files, ")
    sizes = [os.path.getsize(pyramid / "0" / "c" / "0" / str(j)) for j in range(8)]
    assert labels(chunk_dir) == [f"{j}  ({format_bytes(s)})" for j, s in enumerate(sizes)]


def test_store_tree_collapses_long_lists(pyramid):
    tree = store_tree(pyramid, max_depth=4, max_entries=3)
    chunk_dir = tree.children[1].children[1].children[0]  # 0/c/0, 8 files
    shown = labels(chunk_dir)
    assert shown[:3] == [
        f"{j}  ({format_bytes(os.path.getsize(pyramid / '0/c/0' / str(j)))})" for j in range(3)
    ]
    hidden_bytes = sum(os.path.getsize(pyramid / "0/c/0" / str(j)) for j in range(3, 8))
    assert shown[3] == f"… 5 more files ({format_bytes(hidden_bytes)})"
    assert len(shown) == 4
    rows = tree.children[1].children[1]  # 0/c holds 8 directories
    assert labels(rows)[-1].startswith("… 5 more directories (40 files, ")


def test_store_tree_natural_order_and_one_more_file(tmp_path):
    store = tmp_path / "flat"
    store.mkdir()
    for name in ["10", "2", "1", ".zattrs", "0", ".zarray"]:
        (store / name).write_bytes(b"x")
    tree = store_tree(store, max_entries=5)
    assert labels(tree) == [
        ".zarray  (1 B)",
        ".zattrs  (1 B)",
        "0  (1 B)",
        "1  (1 B)",
        "2  (1 B)",
        "… 1 more file (1 B)",
    ]


def test_store_tree_stops_at_max_depth(pyramid):
    tree = store_tree(pyramid, max_depth=1)
    assert [len(child.children) for child in tree.children] == [0, 0, 0]
    assert labels(tree)[1].startswith("0/  (65 files, ")
    assert store_tree(pyramid, max_depth=0).children == []
    # Depth 2 opens the arrays (zarr.json, c/) but not c/.
    tree = store_tree(pyramid, max_depth=2)
    level0 = tree.children[1]
    assert [label.split()[0] for label in labels(level0)] == ["zarr.json", "c/"]
    assert level0.children[1].children == []


def test_print_store_tree_renders_text(pyramid):
    console = Console(file=io.StringIO(), width=100, color_system=None)
    print_store_tree(pyramid, max_depth=2, console=console)
    text = console.file.getvalue()
    assert text.splitlines()[0].startswith("image.zarr/  (83 files, ")
    assert "├── zarr.json" in text
    assert "└── 1/" in text


def test_print_store_tree_uses_rich_by_default(pyramid, capsys):
    print_store_tree(pyramid, max_depth=0)
    # Plain text, even if the environment asks rich for colours (FORCE_COLOR).
    out = Text.from_ansi(capsys.readouterr().out).plain
    assert out.startswith("image.zarr/  (83 files, ")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"max_depth": -1}, ValueError, "max_depth=-1 must be an integer >= 0"),
        ({"max_entries": 0}, ValueError, "max_entries=0 must be an integer >= 1"),
        ({"max_depth": 1.5}, TypeError, "max_depth=1.5 must be an integer"),
    ],
)
def test_store_tree_rejects_bad_limits(pyramid, kwargs, error, match):
    with pytest.raises(error, match=match):
        store_tree(pyramid, **kwargs)


def test_store_tree_rejects_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.zarr"):
        store_tree(tmp_path / "nowhere.zarr")


# --------------------------------------------------------------------------- chunk_stats


def chunk_files(path: Path) -> list[Path]:
    """Files below an array directory that are not metadata."""
    metadata = {"zarr.json", ".zarray", ".zattrs", ".zgroup"}
    return [p for p in path.rglob("*") if p.is_file() and p.name not in metadata]


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_chunk_stats_of_a_full_array(tmp_path, zarr_format):
    path = tmp_path / f"v{zarr_format}.zarr"
    z = zarr.create_array(
        path, shape=(50, 60), chunks=(20, 25), dtype="uint16", zarr_format=zarr_format
    )
    z[...] = np.arange(50 * 60, dtype=np.uint16).reshape(50, 60) % 7
    stats = chunk_stats(path)  # from a path
    assert stats == chunk_stats(z)  # or from the array
    assert stats.zarr_format == zarr_format
    assert stats.shape == (50, 60)
    assert stats.dtype == "uint16"
    assert stats.chunk_shape == (20, 25)
    assert stats.shard_shape is None and stats.nshards is None and stats.nshards_stored is None
    assert stats.nchunks == 3 * 3
    assert stats.nchunks_stored == 9 == len(chunk_files(path))
    assert stats.nbytes == 50 * 60 * 2
    assert stats.nbytes_stored == walk_totals(path)[1]  # chunks and metadata
    assert stats.compression_ratio == pytest.approx(stats.nbytes / stats.nbytes_stored)
    assert stats.compression_ratio > 1  # values 0..6 compress well
    assert stats.fraction_stored == 1.0
    assert len(stats.compressors) == 1


def test_chunk_stats_counts_only_written_chunks(tmp_path):
    path = tmp_path / "partial.zarr"
    z = zarr.create_array(path, shape=(100, 100), chunks=(10, 10), dtype="float32")
    z[:25, :10] = 1.5  # chunk rows 0, 1, 2 of chunk column 0
    z[95, 95] = 2.0  # and the last chunk
    stats = chunk_stats(path)
    assert stats.nchunks == 100
    assert stats.nchunks_stored == 4 == len(chunk_files(path))
    assert stats.fraction_stored == 0.04
    assert stats.nbytes_stored == walk_totals(path)[1]
    assert stats.compression_ratio == stats.nbytes / stats.nbytes_stored


def test_chunk_stats_of_a_sharded_array(tmp_path):
    path = tmp_path / "sharded.zarr"
    z = zarr.create_array(path, shape=(100, 120), chunks=(10, 10), shards=(50, 40), dtype="uint8")
    z[:50, :40] = 3  # exactly one shard
    z[60, 100] = 1  # one chunk in another shard
    stats = chunk_stats(path)
    assert stats.chunk_shape == (10, 10)
    assert stats.shard_shape == (50, 40)
    assert stats.nchunks == 10 * 12
    assert stats.nshards == 2 * 3
    assert stats.nshards_stored == 2 == len(chunk_files(path))
    assert stats.nchunks_stored == 2 * 5 * 4  # zarr counts every chunk of a stored shard
    assert stats.nbytes_stored == walk_totals(path)[1]


@pytest.mark.parametrize(
    ("zarr_format", "encoding"),
    [(2, {"name": "v2", "separator": "."}), (2, {"name": "v2", "separator": "/"}),
     (3, {"name": "default"}),
     (3, {"name": "default", "separator": "."}), (3, {"name": "v2", "separator": "."})],
    ids=["v2-dot", "v2-slash", "v3-default", "v3-default-dot", "v3-v2-encoding"],
)
def test_chunk_stats_counts_partial_edge_chunks_in_every_key_encoding(
    tmp_path, zarr_format, encoding
):
    path = tmp_path / "edges.zarr"
    z = zarr.create_array(path, shape=(7, 5, 3), chunks=(3, 2, 3), dtype="int16",
                          zarr_format=zarr_format, fill_value=0, chunk_key_encoding=encoding)
    z[6, 4, 2] = 1  # the corner chunk, 1 x 1 x 3 pixels of the array
    z[:3, :2, :] = 2
    stats = chunk_stats(path)
    assert stats.nchunks == 3 * 3 * 1
    assert stats.nchunks_stored == 2 == len(chunk_files(path))
    assert stats.nbytes_stored == walk_totals(path)[1]


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_chunk_stats_of_empty_and_zero_dimensional_arrays(zarr_format):
    empty = zarr.create_array({}, shape=(0, 5), chunks=(2, 2), dtype="uint8",
                              zarr_format=zarr_format)
    stats = chunk_stats(empty)
    assert (stats.nchunks, stats.nchunks_stored, stats.fraction_stored) == (0, 0, 0.0)
    scalar = zarr.create_array({}, shape=(), dtype="uint8", zarr_format=zarr_format,
                               fill_value=0)
    assert (chunk_stats(scalar).nchunks, chunk_stats(scalar).nchunks_stored) == (1, 0)
    scalar[()] = 7
    assert (chunk_stats(scalar).nchunks, chunk_stats(scalar).nchunks_stored) == (1, 1)


def test_chunk_stats_of_an_empty_sharded_array():
    z = zarr.create_array({}, shape=(0, 9), chunks=(2, 2), shards=(4, 4), dtype="uint8")
    stats = chunk_stats(z)
    assert (stats.nchunks, stats.nshards, stats.nchunks_stored, stats.nshards_stored) == (
        0, 0, 0, 0)


def test_chunk_stats_of_a_sharded_array_in_a_group(tmp_path):
    group = zarr.open_group(tmp_path / "image.zarr", mode="w", zarr_format=3)
    z = group.create_array("0", shape=(9, 7), chunks=(2, 3), shards=(4, 6), dtype="uint8",
                           fill_value=0)
    z[8, 6] = 1  # the corner shard: 1 x 1 of its 2 x 2 chunks are inside the array
    stats = chunk_stats(tmp_path / "image.zarr" / "0")
    assert (stats.nchunks, stats.nshards) == (5 * 3, 3 * 2)
    assert (stats.nshards_stored, stats.nchunks_stored) == (1, 1)
    z[...] = 1
    stats = chunk_stats(z)
    assert (stats.nshards_stored, stats.nchunks_stored, stats.fraction_stored) == (6, 15, 1.0)


def test_chunk_stats_sees_only_its_own_array_beside_a_longer_name():
    # In a memory store, zarr 3.1's own counts match "1" as a plain prefix of "10/...":
    # nchunks_initialized raised ValueError and nbytes_stored added the neighbour's bytes.
    group = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    one = group.create_array("1", shape=(4,), chunks=(2,), dtype="uint8", compressors=None)
    one[...] = 1
    alone = chunk_stats(one)
    ten = group.create_array("10", shape=(400,), chunks=(2,), dtype="uint8", compressors=None)
    ten[...] = 1
    beside = chunk_stats(one)
    assert beside == alone
    assert (beside.nchunks_stored, chunk_stats(ten).nchunks_stored) == (2, 200)
    assert beside.nbytes_stored < chunk_stats(ten).nbytes_stored


def test_chunk_stats_of_an_in_memory_array():
    z = zarr.create_array({}, shape=(8, 8), chunks=(4, 4), dtype="int32", compressors=None)
    z[:4, :] = 1
    stats = chunk_stats(z)
    assert stats.nchunks_stored == 2
    assert stats.compressors == ()
    assert stats.nbytes_stored > 2 * 4 * 4 * 4  # two raw chunks plus metadata


def test_chunk_stats_is_frozen_and_displays_as_a_table(tmp_path):
    z = zarr.create_array({}, shape=(10, 10), chunks=(5, 5), shards=(10, 10), dtype="uint8")
    z[...] = 1
    stats = chunk_stats(z)
    assert isinstance(stats, ChunkStats)
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.nchunks = 3  # type: ignore[misc]
    assert isinstance(stats.as_table(), Table)
    text = render(stats)  # through __rich__
    for expected in ["chunks in grid", "shard shape", "(10, 10)", "compression ratio"]:
        assert expected in text
    unsharded = chunk_stats(zarr.create_array({}, shape=(4,), chunks=(2,), dtype="uint8"))
    assert "shard" not in render(unsharded.as_table(title=None))
    rich.print(stats)  # does not fail on the default console


def test_chunk_stats_rejects_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"array='.*missing\.zarr' does not exist"):
        chunk_stats(tmp_path / "missing.zarr")
    with pytest.raises(TypeError, match=r"array must be a zarr\.Array or the path"):
        chunk_stats(np.zeros(3))  # type: ignore[arg-type]
    (tmp_path / "plain").mkdir()
    with pytest.raises(ValueError, match="holds no Zarr metadata"):
        chunk_stats(tmp_path / "plain")
    group = zarr.open_group(tmp_path / "group.zarr", mode="w")
    group.create_array("0", shape=(2,), dtype="uint8")
    with pytest.raises(
        ValueError, match=r"is a group; pass the path of one of its arrays: \['0'\]"
    ):
        chunk_stats(tmp_path / "group.zarr")
