"""Benchmark the streaming writer against the disk, zarr-python and acquire-zarr.

Streams the same 1920 x 1080 uint16 frames (generated once, up front, by the simulated
camera, so the camera's cost is excluded for every contender) with 640 x 360 tiles,
uncompressed and with blosc-zstd, with and without multiscale, and prints a table of
MB/s (10**6 bytes of raw full-resolution frames per second of wall time), then the
issue's target rows (multiscale cost, and our writer against acquire-zarr) with the
machine it ran on. The run is recorded in ``benchmarks/results/writer.json`` (see
``_record.py``) unless ``--no-record`` is given.

Run it from the repository root in the benchmark environment (see README.md):

    benchmarks/.venv/bin/python benchmarks/bench_writer.py

Every run is a fresh Python process (the frames are saved once to ``frames.npy`` in
the work folder and loaded before the clock starts, after an untimed warm-up run on two
time-chunks), so no contender's leftover threads run during another's. Every store is
written under ``benchmarks/_work`` (or ``--work``) and deleted after its run. Timings
stop when the contender's ``close`` returns: the data is then in the operating system's
page cache, not necessarily on the device (no contender fsyncs).
Between runs the page cache is written back (``os.sync``) outside the timed region.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
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

sys.path.insert(0, str(Path(__file__).parent))  # _record, beside this script
import _record

FRAME_SHAPE = (1080, 1920)  # (height, width)
TILE = (640, 360)  # (width, height), as Acquire gives it
DTYPE = np.dtype("uint16")
COMPRESSIONS = (None, "blosc-zstd")
# The issue's targets: multiscale at most this many times one level's time, and our
# writer at least this many times faster than acquire-zarr.
MULTISCALE_COST_TARGET = 1.5
VS_ACQUIRE_TARGET = 1.2


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
) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds of this process (all its threads) and MB written."""
    used = frames[: contender.frames] if contender.frames else frames
    with scratch(work, "bench.zarr") as path:
        gc.collect()
        start, cpu_start = time.perf_counter(), time.process_time()
        contender.run(used, config, path)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return seconds, cpu, used.nbytes / 1e6


def child(args: argparse.Namespace) -> None:
    """Run one contender once in this fresh process and print its numbers as JSON.

    Why a process of its own: contenders leave threads behind (zarrs' and
    acquire-zarr's pools), which in a shared process ran, and counted as CPU time,
    during the next contender's run. The frames come from the file the parent wrote;
    an untimed warm-up run on the first two time-chunks does the imports and first-use
    set-up before the clock starts.
    """
    name, compression, multiscale, frames_file = args.child
    config = Config(None if compression == "none" else compression, multiscale == "1")
    contender = next(c for c in contenders(args) if c.name == name)
    frames = np.load(frames_file)
    with zarr.config.set(zarr_options(args.zarr_config)):
        with scratch(args.work, "warm-up.zarr") as path:
            contender.run(frames[: 2 * frames_per_chunk()], config, path)
        seconds, cpu, megabytes = time_once(contender, frames, config, args.work)
    print(json.dumps({"seconds": seconds, "cpu": cpu, "megabytes": megabytes}))


def time_in_process(
    contender: Contender, frames_file: Path, config: Config, argv: list[str]
) -> tuple[float, float, float]:
    """`time_once` in a fresh Python process (see `child`)."""
    flag = ("none" if config.compression is None else config.compression,
            "1" if config.multiscale else "0")
    done = subprocess.run(
        [sys.executable, __file__, *argv, "--child", contender.name, *flag, str(frames_file)],
        capture_output=True, text=True, check=False,
    )
    if done.returncode:
        raise RuntimeError(f"{contender.name} ({config.label}) failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["seconds"], result["cpu"], result["megabytes"]


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
    parser.add_argument("--frames", type=int, default=144,
                        help="frames per run (default 144, the issue's)")
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
    parser.add_argument("--no-record", dest="record", action="store_false",
                        help="do not write benchmarks/results/writer.json")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def zarr_options(pairs: list[str]) -> dict:
    options = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        options[key] = None if value == "None" else int(value) if value.isdigit() else value
    return options


def main(argv: list[str] | None = None) -> None:
    load_at_start, run_start = os.getloadavg(), time.perf_counter()
    args = parse_args(argv)
    if args.child:
        child(args)
        return
    child_argv = list(sys.argv[1:] if argv is None else argv)
    console = Console(width=150)  # the table is wide: never squeeze it to a pipe's 80
    args.work.mkdir(parents=True, exist_ok=True)
    configs = [Config(c, m) for c in COMPRESSIONS for m in (False, True)]
    columns = contenders(args)
    options = zarr_options(args.zarr_config)
    console.print(
        f"{args.frames} frames of {FRAME_SHAPE[1]} x {FRAME_SHAPE[0]} {DTYPE}, "
        f"{TILE[0]} x {TILE[1]} tiles, {frames_per_chunk()} frames per chunk; best of "
        f"{args.repeats}; {os.cpu_count()} CPUs, load average "
        f"{load_at_start[0]:.1f}; zarr {zarr.__version__}"
        + (f"; zarr config {options}" if options else "")
    )
    frames_file = args.work / "frames.npy"
    np.save(frames_file, make_frames(args.frames))  # made once, read by every run

    results: dict[tuple[str, str], list[float]] = {}
    cpu_results: dict[tuple[str, str], list[float]] = {}
    runs: dict[tuple[str, str], _record.Run] = {}
    with zarr.config.set(options):
        for repeat in range(args.repeats):
            # Interleaved, so a burst of load from elsewhere hits every column alike.
            for config in configs:
                for contender in columns:
                    if (config.multiscale and not contender.multiscale) or (
                        contender.once and repeat
                    ):
                        continue
                    seconds, cpu, megabytes = time_in_process(contender, frames_file, config,
                                                              child_argv)
                    mbps, per_cpu = megabytes / seconds, megabytes / cpu
                    key = (config.label, contender.name)
                    results.setdefault(key, []).append(mbps)
                    cpu_results.setdefault(key, []).append(per_cpu)
                    run = runs.setdefault(key, _record.Run(
                        contender.name, config.label,
                        extra={"megabytes": round(megabytes, 1), "mb_per_s": []}))
                    run.seconds.append(round(seconds, 4))
                    run.cpu.append(round(cpu, 4))
                    run.extra["mb_per_s"].append(round(mbps, 1))
                    console.log(f"run {repeat + 1}: {config.label:24} {contender.name:30} "
                                f"{mbps:7.0f} MB/s {per_cpu:7.0f} MB/CPU-s")
    print_table(console, configs, columns, results,
                "Streaming 1920 x 1080 uint16 frames: MB/s of raw frames (higher is better)")
    print_table(console, configs, columns, cpu_results,
                "The same runs: MB of raw frames per CPU-second of the process, all threads "
                "(higher is better; steadier than MB/s on a busy machine)")
    targets = issue_targets(columns, results)
    print_targets(console, targets, load_at_start)
    if args.record:
        path = _record.save(
            "writer",
            title=f"Streaming {args.frames} frames of {FRAME_SHAPE[1]} x {FRAME_SHAPE[0]} "
                  f"{DTYPE} with {TILE[0]} x {TILE[1]} tiles: our writer (Zarr "
                  f"v{args.zarr_version}), one level and multiscale, against acquire-zarr",
            targets=targets, runs=list(runs.values()),
            packages=["data_helpers", "zarr", "numcodecs", "numpy", "acquire-zarr", "zarrs"],
            load_at_start=load_at_start, seconds=time.perf_counter() - run_start,
        )
        console.print(f"recorded in {path}")
    frames_file.unlink()


def _ratio(numerator: list[float] | None, denominator: list[float] | None
           ) -> tuple[float, float] | None:
    """best / best and median / median of two lists of runs, or None if one is missing."""
    if not numerator or not denominator:
        return None
    return (max(numerator) / max(denominator),
            statistics.median(numerator) / statistics.median(denominator))


def issue_targets(columns: list[Contender], results: dict[tuple[str, str], list[float]]
                  ) -> list[_record.Target]:
    """The issue's writer rows: multiscale cost, and ours against acquire-zarr.

    Every ratio is of MB/s (the same frames for both sides), taken on the best runs;
    the median runs' ratio is given beside it.
    """
    ours = next((c.name for c in columns if c.name.startswith("data_helpers")
                 and "zarrs" not in c.name), None)
    acquire = next((c.name for c in columns if c.name == "acquire-zarr"), None)
    targets = []
    for compression in COMPRESSIONS:
        single, multi = Config(compression, False), Config(compression, True)
        name = compression or "uncompressed"
        # Multiscale cost: how many times longer a pyramid takes than one level.
        ratio = _ratio(results.get((single.label, ours)), results.get((multi.label, ours)))
        targets.append(_target(f"multiscale / one level, {name}", ratio,
                               f"<= {MULTISCALE_COST_TARGET}x",
                               lambda r: r <= MULTISCALE_COST_TARGET))
    for multiscale in (False, True):
        for compression in COMPRESSIONS:
            config = Config(compression, multiscale)
            ratio = _ratio(results.get((config.label, ours)),
                           results.get((config.label, acquire)))
            targets.append(_target(
                f"ours vs acquire-zarr, {'multiscale' if multiscale else 'one level'}, "
                f"{compression or 'uncompressed'} (times faster)", ratio,
                f">= {VS_ACQUIRE_TARGET}x", lambda r: r >= VS_ACQUIRE_TARGET))
    return targets


def _target(measure: str, ratio: tuple[float, float] | None, target: str, met) -> _record.Target:
    if ratio is None:
        return _record.Target(measure, "not measured", None, target, None)
    best, median = ratio
    return _record.Target(measure, f"{best:.2f}x (medians {median:.2f}x)", round(best, 3),
                          target, bool(met(best)))


def print_targets(console: Console, targets: list[_record.Target],
                  load_at_start: tuple[float, ...]) -> None:
    table = Table(title="The issue's writer rows (ratios of the best runs' MB/s)")
    for column in ("measure", "result", "target", "met"):
        table.add_column(column)
    for target in targets:
        met = "—" if target.met is None else "yes" if target.met else "NO"
        table.add_row(target.measure, target.result, target.target, met)
    console.print(table)
    end = os.getloadavg()
    console.print(f"machine: {os.cpu_count()} cores; load average (1, 5, 15 min) "
                  f"{', '.join(f'{x:.2f}' for x in load_at_start)} at the start, "
                  f"{', '.join(f'{x:.2f}' for x in end)} at the end")


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
