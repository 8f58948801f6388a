"""Benchmark the streaming writer against the disk, zarr-python and acquire-zarr.

Streams the same 1920 x 1080 uint16 frames (generated once, up front, by the simulated
camera, so the camera's cost is excluded for every contender) with 640 x 360 tiles,
uncompressed and with blosc-zstd, with and without multiscale, and prints a table of
MB/s (10**6 bytes of raw full-resolution frames per second of wall time).

Run it from the repository root in the benchmark environment (see README.md):

    benchmarks/.venv/bin/python benchmarks/bench_writer.py

Every store is written under ``benchmarks/_work`` (or ``--work``) and deleted after
its run. Timings stop when the contender's ``close`` returns: the data is then in the
operating system's page cache, not necessarily on the device (no contender fsyncs).
Between runs the page cache is written back (``os.sync``) outside the timed region.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import zarr
from rich.console import Console
from rich.table import Table

from data_helpers.camera import SimulatedCamera
from data_helpers.writer import ChunkingProperties, StorageProperties, ZarrStreamWriter

FRAME_SHAPE = (1080, 1920)  # (height, width)
TILE = (640, 360)  # (width, height), as Acquire gives it
DTYPE = np.dtype("uint16")
COMPRESSIONS = (None, "blosc-zstd")


@dataclass(frozen=True)
class Config:
    """One row of the table."""

    compression: str | None
    multiscale: bool

    @property
    def label(self) -> str:
        return f"{self.compression or 'none'}, {'multiscale' if self.multiscale else '1 level'}"


@dataclass(frozen=True)
class Contender:
    """One column: ``run(frames, config, path)`` writes the frames to ``path``."""

    name: str
    run: Callable[[np.ndarray, Config, Path], None]
    multiscale: bool = True  # can it write a pyramid?
    frames: int | None = None  # only the first frames (see zarr_frame_by_frame)
    once: bool = False  # one run is enough: far slower than any noise


# -- contenders ---------------------------------------------------------------------------


def chunking() -> ChunkingProperties:
    return ChunkingProperties(*TILE)  # the default 16 MiB budget: 36 frames per chunk


def frames_per_chunk() -> int:
    return chunking().frames_per_chunk(FRAME_SHAPE, DTYPE)


def disk_one_file(frames: np.ndarray, config: Config, path: Path) -> None:
    """The same bytes, frame by frame, into one file: what the disk (page cache) takes."""
    with open(path, "wb", buffering=0) as file:
        for frame in frames:
            file.write(frame.data)


def data_helpers_writer(zarr_version: int, shard_chunks: int | None):
    def run(frames: np.ndarray, config: Config, path: Path) -> None:
        storage = StorageProperties(
            path, zarr_version=zarr_version, compression=config.compression,
            chunking=chunking(), enable_multiscale=config.multiscale,
            shard_chunks=shard_chunks,
        )
        with ZarrStreamWriter(storage, frame_shape=FRAME_SHAPE, dtype=DTYPE) as writer:
            for frame in frames:
                writer.append(frame)
        assert writer.shapes[0][0] == len(frames)

    return run


def with_zarr_config(run, options: dict):
    def wrapped(frames: np.ndarray, config: Config, path: Path) -> None:
        with zarr.config.set(options):
            run(frames, config, path)

    return wrapped


def zarr_frame_by_frame(frames: np.ndarray, config: Config, path: Path) -> None:
    """zarr-python, one ``array[i] = frame`` per frame, into the same chunks.

    Every frame rewrites the whole chunks it touches (read, merge, encode, write), so
    the cost per frame is the same all through a chunk: timing the first time-chunk
    gives the throughput of the whole stream.
    """
    compressors = None
    if config.compression:
        compressors = zarr.codecs.BloscCodec(
            cname=config.compression.removeprefix("blosc-"), clevel=1, shuffle="shuffle",
            typesize=DTYPE.itemsize,
        )
    array = zarr.create_array(
        path, shape=(len(frames), 1, *FRAME_SHAPE), dtype=DTYPE, zarr_format=3,
        chunks=(frames_per_chunk(), 1, TILE[1], TILE[0]), compressors=compressors,
        fill_value=0,
    )
    for index, frame in enumerate(frames):
        array[index, 0] = frame


def acquire_zarr_stream(shard_chunks: int | None):
    import acquire_zarr as aqz

    def dimension(name, kind, size, chunk, shard=1, **kwargs):
        return aqz.Dimension(name=name, kind=kind, array_size_px=size, chunk_size_px=chunk,
                             shard_size_chunks=shard, **kwargs)

    def run(frames: np.ndarray, config: Config, path: Path) -> None:
        height, width = FRAME_SHAPE
        shard = shard_chunks or 1  # acquire-zarr always shards; 1 chunk per shard by default
        dimensions = [
            dimension("t", aqz.DimensionType.TIME, 0, frames_per_chunk()),
            dimension("c", aqz.DimensionType.CHANNEL, 1, 1),
            dimension("y", aqz.DimensionType.SPACE, height, TILE[1], shard, unit="micrometer",
                      scale=1.0),
            dimension("x", aqz.DimensionType.SPACE, width, TILE[0], shard, unit="micrometer",
                      scale=1.0),
        ]
        compression = None
        if config.compression:
            compression = aqz.CompressionSettings(
                compressor=aqz.Compressor.BLOSC1, codec=aqz.CompressionCodec.BLOSC_ZSTD,
                level=1, shuffle=1,
            )
        array = aqz.ArraySettings(
            dimensions=dimensions, data_type=DTYPE, compression=compression, is_ngff=True,
            downsampling_method=aqz.DownsamplingMethod.MEAN if config.multiscale else None,
        )
        stream = aqz.ZarrStream(aqz.StreamSettings(store_path=str(path), arrays=[array],
                                                   overwrite=True))
        for frame in frames:
            stream.append(frame)
        stream.close()

    return run


# -- running --------------------------------------------------------------------------------


def make_frames(count: int) -> np.ndarray:
    height, width = FRAME_SHAPE
    camera = SimulatedCamera("radial_sin", shape=(width, height), pixel_type=DTYPE)
    return np.stack([frame.data for frame in camera.frames(count)])


@contextmanager
def scratch(work: Path, name: str) -> Iterator[Path]:
    path = work / name
    try:
        yield path
    finally:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        os.sync()  # write back now, so this run's dirty pages do not slow the next one


def time_once(
    contender: Contender, frames: np.ndarray, config: Config, work: Path
) -> tuple[float, float]:
    """MB/s of wall time, and MB per CPU-second of this process (all its threads)."""
    used = frames[: contender.frames] if contender.frames else frames
    with scratch(work, "bench.zarr") as path:
        gc.collect()
        start, cpu_start = time.perf_counter(), time.process_time()
        contender.run(used, config, path)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    megabytes = used.nbytes / 1e6
    return megabytes / seconds, megabytes / cpu


def contenders(args: argparse.Namespace) -> list[Contender]:
    found = [
        Contender("disk (one file)", disk_one_file),
        Contender(f"data_helpers v{args.zarr_version}",
                  data_helpers_writer(args.zarr_version, args.shard_chunks)),
    ]
    if args.zarrs and importlib.util.find_spec("zarrs"):
        found.append(Contender(
            f"data_helpers v{args.zarr_version} + zarrs",
            with_zarr_config(data_helpers_writer(args.zarr_version, args.shard_chunks),
                             {"codec_pipeline.path": "zarrs.ZarrsCodecPipeline"}),
        ))
    found.append(Contender("zarr-python frame by frame", zarr_frame_by_frame, multiscale=False,
                           frames=frames_per_chunk(), once=True))
    if importlib.util.find_spec("acquire_zarr"):
        found.append(Contender("acquire-zarr", acquire_zarr_stream(args.shard_chunks)))
    if args.only:
        found = [c for c in found if any(name in c.name for name in args.only)]
    return found


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=128, help="frames per run (default 128)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each contender in each configuration; the table shows "
                             "the best (default 3)")
    parser.add_argument("--zarr-version", type=int, default=3, choices=(2, 3),
                        help="Zarr version of our writer (acquire-zarr writes v3; default 3)")
    parser.add_argument("--shard-chunks", type=int, default=None,
                        help="chunks per shard along x and y, for our writer and acquire-zarr "
                             "(default: ours unsharded, acquire-zarr one chunk per shard)")
    parser.add_argument("--no-zarrs", dest="zarrs", action="store_false",
                        help="skip the zarrs (Rust) codec pipeline column")
    parser.add_argument("--zarr-config", action="append", default=[], metavar="KEY=VALUE",
                        help="zarr.config option for the whole run, e.g. async.concurrency=4")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only the contenders whose name contains NAME (repeatable)")
    parser.add_argument("--work", type=Path, default=Path(__file__).parent / "_work",
                        help="scratch directory for the stores (default benchmarks/_work)")
    return parser.parse_args(argv)


def zarr_options(pairs: list[str]) -> dict:
    options = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        options[key] = None if value == "None" else int(value) if value.isdigit() else value
    return options


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    console = Console(width=150)  # the table is wide: never squeeze it to a pipe's 80
    args.work.mkdir(parents=True, exist_ok=True)
    configs = [Config(c, m) for c in COMPRESSIONS for m in (False, True)]
    columns = contenders(args)
    options = zarr_options(args.zarr_config)
    console.print(
        f"{args.frames} frames of {FRAME_SHAPE[1]} x {FRAME_SHAPE[0]} {DTYPE}, "
        f"{TILE[0]} x {TILE[1]} tiles, {frames_per_chunk()} frames per chunk; best of "
        f"{args.repeats}; {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f}; zarr {zarr.__version__}"
        + (f"; zarr config {options}" if options else "")
    )
    frames = make_frames(args.frames)

    results: dict[tuple[str, str], list[float]] = {}
    cpu_results: dict[tuple[str, str], list[float]] = {}
    with zarr.config.set(options):
        for repeat in range(args.repeats):
            # Interleaved, so a burst of load from elsewhere hits every column alike.
            for config in configs:
                for contender in columns:
                    if (config.multiscale and not contender.multiscale) or (
                        contender.once and repeat
                    ):
                        continue
                    mbps, per_cpu = time_once(contender, frames, config, args.work)
                    results.setdefault((config.label, contender.name), []).append(mbps)
                    cpu_results.setdefault((config.label, contender.name), []).append(per_cpu)
                    console.log(f"run {repeat + 1}: {config.label:24} {contender.name:30} "
                                f"{mbps:7.0f} MB/s {per_cpu:7.0f} MB/CPU-s")
    print_table(console, configs, columns, results,
                "Streaming 1920 x 1080 uint16 frames: MB/s of raw frames (higher is better)")
    print_table(console, configs, columns, cpu_results,
                "The same runs: MB of raw frames per CPU-second of the process, all threads "
                "(higher is better; steadier than MB/s on a busy machine)")


def print_table(console: Console, configs, columns, results, title: str) -> None:
    table = Table(title=title)
    table.add_column("configuration")
    for contender in columns:
        table.add_column(contender.name, justify="right")
    ours = next((c.name for c in columns if c.name.startswith("data_helpers")), None)
    table.add_column("multiscale cost (ours)", justify="right")
    for config in configs:
        row = [config.label]
        for contender in columns:
            runs = results.get((config.label, contender.name))
            row.append(f"{max(runs):.0f}" if runs else "—")
        cost = "—"
        if config.multiscale and ours:
            single = Config(config.compression, False).label
            cost = f"{max(results[(single, ours)]) / max(results[(config.label, ours)]):.2f}x"
        row.append(cost)
        table.add_row(*row)
    console.print(table)
    spread = [
        (max(v) - statistics.median(v)) / max(v) for v in results.values() if len(v) > 1
    ]
    if spread:
        console.print(f"median run within {100 * statistics.median(spread):.0f}% of the best "
                      f"(worst case {100 * max(spread):.0f}%)")


if __name__ == "__main__":
    sys.exit(main())
