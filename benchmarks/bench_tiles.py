"""Benchmark: a 3 x 3 mean filter with a 1-pixel halo, map_tiles against dask and joblib.

Every contender reads the same uint16 Zarr v3 image (chunks 1024 x 1024, Blosc zstd
level 1 with byte shuffle), applies ``scipy.ndimage.uniform_filter(block, size=3,
mode="reflect")`` to every chunk with a halo of 1 pixel (the image edge mirrored), and
writes a new Zarr v3 array with the same chunks and codecs. The outputs must be
identical: each one is compared with map_tiles' (which is checked against the filter
applied to the whole image) and the script fails loudly otherwise.

Each run is a fresh Python process: its imports happen before the clock starts, so the
time is the call alone, and its peak RSS is the kernel's count (``os.wait4``). For
joblib's process backends the workers' peaks are added (read from ``/proc`` while they
run). The image is made once, chunk by chunk, in a child process; then the same at 4x
the pixels, to show whether memory grows with the image.

Usage (see benchmarks/README.md for the environment)::

    benchmarks/.venv-tiles/bin/python benchmarks/bench_tiles.py --repeat 3
    benchmarks/.venv-tiles/bin/python benchmarks/bench_tiles.py --quick
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHUNKS = (1024, 1024)
DEPTH = 1
SHAPE = (16384, 16384)  # 512 MiB of uint16
LARGE_SHAPE = (32768, 32768)  # 4x the pixels: 2 GiB
QUICK_SHAPES = ((4096, 4096), (8192, 8192))
MIB = 2**20
HERE = Path(__file__).resolve().parent


# -- the image and the filter --------------------------------------------------------------


def create_array(path: Path, shape: tuple[int, ...]) -> Any:
    """An empty uint16 Zarr v3 array with the benchmark's chunks and codecs.

    The codecs are map_tiles' own for ``compression="blosc-zstd"``: bytes (little
    endian), then Blosc zstd level 1, byte shuffle, typesize 2; ``/`` chunk keys. The
    script checks that every output's codecs are the same as map_tiles'.
    """
    import zarr
    from zarr.codecs import BloscCodec, BytesCodec

    return zarr.create_array(
        str(path), shape=shape, chunks=CHUNKS, dtype="uint16", zarr_format=3, fill_value=0,
        serializer=BytesCodec(endian="little"),
        compressors=BloscCodec(cname="zstd", clevel=1, shuffle="shuffle", typesize=2,
                               blocksize=0),
        chunk_key_encoding={"name": "default", "separator": "/"}, overwrite=True,
    )


def make_image(path: Path, shape: tuple[int, ...]) -> None:
    """A smooth, noisy uint16 image, seeded, written chunk by chunk (never whole).

    Runs in a child process: the parent stays small, and a child's peak RSS can never be
    inflated by the parent's (Linux hands a parent's high-water mark to a new child).
    """
    import numpy as np

    array = create_array(path, shape)
    grid = [n // c for n, c in zip(shape, CHUNKS, strict=True)]
    for index, (iy, ix) in enumerate(np.ndindex(*grid)):
        region = tuple(slice(i * c, (i + 1) * c) for i, c in zip((iy, ix), CHUNKS, strict=True))
        y, x = np.ogrid[region]
        smooth = (1000 + 800 * np.sin(y / 23.0) * np.cos(x / 37.0)
                  + 600 * np.sin(x / 17.0 + y / 41.0)).astype(np.float32)
        noise = np.random.default_rng(index).integers(0, 100, size=smooth.shape, dtype=np.uint16)
        array[region] = smooth.astype(np.uint16) + noise


def mean3(block: Any) -> Any:
    """The filter every contender applies: scipy keeps the uint16 dtype."""
    from scipy import ndimage

    return ndimage.uniform_filter(block, size=3, mode="reflect")


# -- the contenders (each runs in its own process) ----------------------------------------


def run_map_tiles(source: Path, dest: Path) -> None:
    import zarr

    from data_helpers.tiles import map_tiles

    map_tiles(mean3, zarr.open_array(str(source), mode="r"), dest, depth=DEPTH,
              boundary="reflect")


def run_dask(source: Path, dest: Path) -> None:
    import dask.array as da
    import numpy as np
    import zarr

    image = da.from_zarr(zarr.open_array(str(source), mode="r"))
    result = image.map_overlap(mean3, depth=DEPTH, boundary="reflect", dtype=np.uint16)
    target = create_array(dest, tuple(image.shape))  # same chunks and codecs
    result.to_zarr(target)


@functools.cache
def _open(source: str, dest: str) -> tuple[Any, Any]:
    """The two arrays, opened once per worker process (or thread pool)."""
    import zarr

    return zarr.open_array(source, mode="r"), zarr.open_array(dest, mode="r+")


def filter_chunk(source: str, dest: str, index: tuple[int, ...]) -> None:
    """One output chunk: read it with a halo, pad at the image edge, filter, crop, write.

    The OME-Zarr book's chunk-by-chunk loop. ``np.pad(mode="symmetric")`` repeats the
    edge pixel, which is scipy's ``"reflect"`` (and dask's).
    """
    import numpy as np

    src, dst = _open(source, dest)
    inner = tuple(slice(i * c, min((i + 1) * c, n))
                  for i, c, n in zip(index, CHUNKS, src.shape, strict=True))
    outer = tuple(slice(max(s.start - DEPTH, 0), min(s.stop + DEPTH, n))
                  for s, n in zip(inner, src.shape, strict=True))
    block = src[outer]
    pad = [(DEPTH - (s.start - o.start), DEPTH - (o.stop - s.stop))
           for s, o in zip(inner, outer, strict=True)]
    block = np.pad(block, pad, mode="symmetric")
    out = mean3(block)[(slice(DEPTH, -DEPTH),) * block.ndim]
    dst[inner] = out


def _run_joblib(source: Path, dest: Path, backend: str) -> None:
    import math

    import numpy as np
    import zarr
    from joblib import Parallel, delayed

    shape = zarr.open_array(str(source), mode="r").shape
    create_array(dest, tuple(shape))
    grid = tuple(math.ceil(n / c) for n, c in zip(shape, CHUNKS, strict=True))
    Parallel(n_jobs=os.cpu_count(), backend=backend)(
        delayed(filter_chunk)(str(source), str(dest), index) for index in np.ndindex(*grid)
    )


def run_joblib_loky(source: Path, dest: Path) -> None:
    _run_joblib(source, dest, "loky")


def run_joblib_threads(source: Path, dest: Path) -> None:
    _run_joblib(source, dest, "threading")


def run_joblib_multiprocessing(source: Path, dest: Path) -> None:
    _run_joblib(source, dest, "multiprocessing")


# name -> (function, what it calls, modules imported before the clock starts)
CONTENDERS: dict[str, tuple[Callable[[Path, Path], None], str, tuple[str, ...]]] = {
    "map_tiles": (run_map_tiles, "map_tiles(depth=1, boundary='reflect')",
                  ("zarr", "scipy.ndimage", "data_helpers.tiles")),
    "dask": (run_dask, "from_zarr.map_overlap(depth=1, reflect).to_zarr",
             ("zarr", "scipy.ndimage", "dask.array")),
    "joblib-loky": (run_joblib_loky, "Parallel(n_jobs=cores), loky processes",
                    ("zarr", "scipy.ndimage", "joblib")),
    "joblib-threads": (run_joblib_threads, "Parallel(n_jobs=cores), threads",
                       ("zarr", "scipy.ndimage", "joblib")),
    "joblib-multiprocessing": (run_joblib_multiprocessing,
                               "Parallel(n_jobs=cores), multiprocessing pool",
                               ("zarr", "scipy.ndimage", "joblib")),
}
DEFAULT_CONTENDERS = tuple(CONTENDERS)


def child(name: str, source: Path, dest: Path) -> None:
    """Run one contender and print its result as JSON (the parent measures memory).

    The contender is called through the module ``bench_tiles`` (not ``__main__``), so
    that joblib's worker processes can import the chunk function by name.
    """
    import importlib
    import resource

    sys.path.insert(0, str(HERE))
    module = importlib.import_module("bench_tiles")
    function, _, modules = module.CONTENDERS[name]
    for imported in modules:
        importlib.import_module(imported)
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    function(source, dest)
    seconds = time.perf_counter() - start
    # The process's own peak, for when joblib's workers are added to it (wait4's count
    # is then the largest of the process and its workers, not the process alone).
    print(json.dumps({"seconds": seconds, "cpu_before": before.ru_utime + before.ru_stime,
                      "own_peak_kib": _status_kib(os.getpid(), "VmHWM")}))


# -- checking the outputs ----------------------------------------------------------------


def verify(reference: Path, output: Path, mode: str) -> None:
    """Fail (exit 1) unless ``output`` holds the same pixels, chunks and codecs.

    mode ``all``: every chunk; ``sample``: the chunks along the image edge and 64 others;
    ``truth``: ``reference`` itself against the filter applied to the whole image
    (``output`` is then the source image), or, on large images, on the sampled chunks,
    to a wide window around each.
    """
    import numpy as np
    import zarr

    ref = zarr.open_array(str(reference), mode="r")
    out = zarr.open_array(str(output), mode="r")
    grid = tuple(int(n // c) for n, c in zip(ref.shape, ref.chunks, strict=True))
    if mode == "truth":
        source = out
        if ref.nbytes <= 2 * 2**30 // 4:
            whole = mean3(source[...])
            bad = np.count_nonzero(whole != ref[...])
            if bad:
                sys.exit(f"map_tiles differs from the whole-image filter in {bad} pixels")
            return
        for index in _sample(grid):
            inner = tuple(slice(i * c, (i + 1) * c) for i, c in zip(index, CHUNKS, strict=True))
            margin = 16  # wider than the filter: the window's own edges are cropped away
            outer = tuple(slice(max(s.start - margin, 0), min(s.stop + margin, n))
                          for s, n in zip(inner, ref.shape, strict=True))
            crop = tuple(slice(s.start - o.start, s.stop - o.start)
                         for s, o in zip(inner, outer, strict=True))
            if not np.array_equal(mean3(source[outer])[crop], ref[inner]):
                sys.exit(f"map_tiles differs from the filter in chunk {index}")
        return
    mine, theirs = ref.metadata.to_dict(), out.metadata.to_dict()
    for key in ("shape", "data_type", "chunk_grid", "chunk_key_encoding", "codecs",
                "fill_value"):
        if mine.get(key) != theirs.get(key):
            sys.exit(f"{output.name}: {key} is {theirs.get(key)}, map_tiles' is {mine.get(key)}")
    indices = list(np.ndindex(*grid)) if mode == "all" else _sample(grid)
    for index in indices:
        region = tuple(slice(i * c, (i + 1) * c) for i, c in zip(index, CHUNKS, strict=True))
        a, b = ref[region], out[region]
        if not np.array_equal(a, b):
            sys.exit(f"chunk {index} differs from map_tiles' in {np.count_nonzero(a != b)} "
                     "pixels")


def _sample(grid: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Every chunk on the image edge (where the boundary matters) and 64 others, seeded."""
    import numpy as np

    edge = [i for i in np.ndindex(*grid) if any(k in (0, n - 1) for k, n in zip(i, grid,
                                                                                 strict=True))]
    inside = [i for i in np.ndindex(*grid) if i not in set(edge)]
    rng = np.random.default_rng(0)
    picked = rng.choice(len(inside), size=min(64, len(inside)), replace=False)
    return [tuple(int(k) for k in i) for i in edge] + [inside[int(k)] for k in picked]


# -- the parent: runs every contender in a fresh process ----------------------------------


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as file:
                    kids = [int(k) for k in file.read().split()]
            except OSError:
                continue
            found += kids
            todo += kids
    return found


def _status_kib(pid: int, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as file:
            for line in file:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class _WorkerMemory:
    """Watches the child's own child processes (joblib's workers): each one's peak RSS.

    Samples ``/proc`` every 20 ms; a worker's ``VmHWM`` is its kernel-counted peak, so
    only the growth of its last 20 ms could be missed.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peaks: dict[int, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while not self.stop.wait(0.02):
            for pid in _descendants(self.pid):
                hwm = _status_kib(pid, "VmHWM")
                if hwm is not None:
                    self.peaks[pid] = max(self.peaks.get(pid, 0), hwm)

    def finish(self) -> dict[int, int]:
        self.stop.set()
        self.thread.join()
        return self.peaks


def measure(name: str, source: Path, dest: Path) -> dict[str, Any]:
    """Run one contender in a fresh process: its time, CPU time and peak RSS."""
    shutil.rmtree(dest, ignore_errors=True)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(
            [sys.executable, __file__, "--child", name, str(source), str(dest)],
            stdout=out, stderr=err, text=True,
        )
        workers = _WorkerMemory(process.pid)
        # wait4 reaps this child and returns its own resource usage: ru_maxrss is its
        # peak resident memory, in KiB on Linux, counted by the kernel; the CPU times
        # include those of its children that it waited for (joblib's workers).
        _, status, usage = os.wait4(process.pid, 0)
        worker_peaks = workers.finish()
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode:
        shutil.rmtree(dest, ignore_errors=True)
        return {"error": (stderr.strip().splitlines() or ["failed"])[-1]}
    result = json.loads(stdout.strip().splitlines()[-1])
    result["cpu"] = usage.ru_utime + usage.ru_stime - result.pop("cpu_before")
    result["processes"] = 1 + len(worker_peaks)
    own = usage.ru_maxrss if not worker_peaks else result["own_peak_kib"]
    result["peak_mib"] = (own + sum(worker_peaks.values())) / 1024
    return result


def _check(console: Any, reference: Path, output: Path, mode: str) -> None:
    """Run `verify` in a child process, so the parent stays small; stop the run if bad."""
    check = subprocess.run([sys.executable, __file__, "--verify", str(reference), str(output),
                            mode], capture_output=True, text=True)
    if check.returncode:
        console.print(f"[bold red]WRONG OUTPUT[/bold red]: {check.stderr.strip()}")
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=3, metavar=("NAME", "SOURCE", "DEST"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--make", nargs=2, metavar=("PATH", "SHAPE"), help=argparse.SUPPRESS)
    parser.add_argument("--verify", nargs=3, metavar=("REFERENCE", "OUTPUT", "MODE"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true",
                        help=f"images of {QUICK_SHAPES[0]} and {QUICK_SHAPES[1]} instead")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per contender and size, in turn (the table shows the best)")
    parser.add_argument("--only", nargs="*", choices=sorted(CONTENDERS), default=None,
                        help=f"contenders to run (default: {' '.join(DEFAULT_CONTENDERS)})")
    parser.add_argument("--no-large", action="store_true", help="skip the 4x larger image")
    parser.add_argument("--work", type=Path, default=HERE / "_work",
                        help="where the images and outputs go (default benchmarks/_work)")
    parser.add_argument("--keep-inputs", action="store_true",
                        help="keep the input images in --work for the next run")
    args = parser.parse_args()
    if args.child:
        name, source, dest = args.child
        child(name, Path(source), Path(dest))
        return
    if args.make:
        make_image(Path(args.make[0]), tuple(int(n) for n in args.make[1].split("x")))
        return
    if args.verify:
        verify(Path(args.verify[0]), Path(args.verify[1]), args.verify[2])
        return

    from rich.console import Console

    console = Console(width=max(150, shutil.get_terminal_size().columns))
    names = list(args.only or DEFAULT_CONTENDERS)
    shapes = list(QUICK_SHAPES if args.quick else (SHAPE, LARGE_SHAPE))
    if args.no_large:
        shapes = shapes[:1]
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []
    started = time.perf_counter()
    try:
        sources, references = {}, {}
        for shape in shapes:
            label = "x".join(map(str, shape))
            source = work / f"image-{label}.zarr"
            if not source.exists():
                console.print(f"making the {label} uint16 input image in {work} ...")
                subprocess.run([sys.executable, __file__, "--make", str(source), label],
                               check=True)
            sources[shape] = source
            references[shape] = work / f"reference-{label}.zarr"
            made.append(references[shape])
            if not args.keep_inputs:
                made.append(source)
        attempts: dict[tuple[str, tuple[int, ...]], list[dict[str, Any]]] = {
            (name, shape): [] for name in names for shape in shapes}
        # Round robin: a busy moment of the machine spreads over every contender.
        for attempt in range(args.repeat):
            for shape in shapes:
                reference = references[shape]
                if not reference.exists():  # map_tiles' output: what everyone must equal
                    _make_reference(console, sources[shape], reference)
                for name in names:
                    console.print(f"run {attempt + 1}/{args.repeat}: {name} on "
                                  f"{'x'.join(map(str, shape))} ...")
                    dest = work / "out.zarr"
                    result = measure(name, sources[shape], dest)
                    if "error" in result:
                        console.print(f"  [red]failed:[/red] {result['error']}")
                    else:
                        console.print(f"  {result['seconds']:.2f} s, CPU {result['cpu']:.2f} s, "
                                      f"peak RSS {result['peak_mib']:.0f} MiB")
                        mode = "all" if shape == shapes[0] else "sample"
                        _check(console, reference, dest, mode)
                    attempts[(name, shape)].append(result)
                    shutil.rmtree(dest, ignore_errors=True)
                    os.sync()  # one run's write-back must not slow the next
        console.print(_table(names, shapes, attempts, args.repeat))
        _verdict(console, names, shapes, attempts)
        console.print(f"whole run, inputs and checks included: "
                      f"{(time.perf_counter() - started) / 60:.1f} min")
    finally:
        for path in made:
            shutil.rmtree(path, ignore_errors=True)
        shutil.rmtree(work / "out.zarr", ignore_errors=True)


def _make_reference(console: Any, source: Path, reference: Path) -> None:
    """map_tiles' output, checked against the filter on the whole image (or a sample)."""
    console.print(f"making the reference output (map_tiles) at {reference.name} ...")
    subprocess.run([sys.executable, __file__, "--child", "map_tiles", str(source),
                    str(reference)], check=True, capture_output=True)
    _check(console, reference, source, "truth")


def _best(attempts: list[dict[str, Any]]) -> dict[str, Any] | None:
    good = [a for a in attempts if "error" not in a]
    if not good:
        return None
    # Best wall time and best CPU time (others' load only adds to either); the worst
    # memory, to stay on the safe side.
    return {"seconds": min(a["seconds"] for a in good), "cpu": min(a["cpu"] for a in good),
            "peak_mib": max(a["peak_mib"] for a in good),
            "median": statistics.median(a["seconds"] for a in good),
            "processes": max(a["processes"] for a in good)}


def _table(names: list[str], shapes: list[tuple[int, ...]],
           attempts: dict[tuple[str, tuple[int, ...]], list[dict[str, Any]]],
           repeat: int) -> Any:
    from rich.table import Table

    table = Table(title=f"3 x 3 mean filter, halo 1, uint16, chunks {CHUNKS[0]} x {CHUNKS[1]}, "
                        f"Zarr v3 blosc-zstd 1: best of {repeat} ({os.cpu_count()} cores)")
    table.add_column("contender", no_wrap=True, min_width=len(max(names, key=len)))
    for shape in shapes:
        label = f"{shape[0]}²" if shape[0] == shape[1] else "x".join(map(str, shape))
        for column in ("time s", "CPU s", "RSS MiB"):
            table.add_column(f"{label} {column}", justify="right")
    if len(shapes) > 1:
        table.add_column("RSS large/small", justify="right")
        table.add_column("time large/small", justify="right")
    for name in names:
        row = [name]
        bests = [_best(attempts[(name, shape)]) for shape in shapes]
        for best in bests:
            if best is None:
                row += ["failed", "-", "-"]
                continue
            procs = f" ({best['processes']}p)" if best["processes"] > 1 else ""
            row += [f"{best['seconds']:.2f}", f"{best['cpu']:.2f}",
                    f"{best['peak_mib']:.0f}{procs}"]
        if len(shapes) > 1:
            if None in bests:
                row += ["-", "-"]
            else:
                row += [f"{bests[1]['peak_mib'] / bests[0]['peak_mib']:.2f}x",
                        f"{bests[1]['seconds'] / bests[0]['seconds']:.2f}x"]
        table.add_row(*row)
    return table


def _verdict(console: Any, names: list[str], shapes: list[tuple[int, ...]],
             attempts: dict[tuple[str, tuple[int, ...]], list[dict[str, Any]]]) -> None:
    """The spread of the runs, then map_tiles' targets: fastest, and flat memory."""
    for name in names:
        for shape in shapes:
            times = [a["seconds"] for a in attempts[(name, shape)] if "error" not in a]
            if times:
                console.print(f"{name} {'x'.join(map(str, shape))}: runs "
                              + ", ".join(f"{t:.2f}" for t in times) + " s "
                              f"(median {statistics.median(times) / min(times) - 1:+.0%} "
                              "from the best)")
    if "map_tiles" not in names:
        return
    for shape in shapes:
        ours = _best(attempts[("map_tiles", shape)])
        peers = {n: _best(attempts[(n, shape)]) for n in names if n != "map_tiles"}
        peers = {n: b for n, b in peers.items() if b is not None}
        if ours is None or not peers:
            continue
        fastest = min(peers, key=lambda n: peers[n]["seconds"])
        ratio = ours["seconds"] / peers[fastest]["seconds"]
        console.print(f"{'x'.join(map(str, shape))}: map_tiles takes {ratio:.2f}x the time of "
                      f"the fastest other contender ({fastest}): "
                      + ("[green]target met[/green]" if ratio <= 1 else "[red]slower[/red]"))
    if len(shapes) > 1:
        small, large = (_best(attempts[("map_tiles", s)]) for s in shapes)
        if small is not None and large is not None:
            ratio = large["peak_mib"] / small["peak_mib"]
            console.print(f"4x the pixels: map_tiles' peak RSS is {ratio:.2f}x the smaller "
                          "image's: " + ("[green]within the 1.25x target[/green]"
                                         if ratio <= 1.25 else "[red]over 1.25x[/red]"))


if __name__ == "__main__":
    main()
