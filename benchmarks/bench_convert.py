"""Benchmark: a BigTIFF slide to an OME-Zarr pyramid, read tile by tile or read whole.

Two ways to turn the same tiled BigTIFF into the same OME-Zarr pyramid:

* ``tiff_to_ome_zarr``: `data_helpers.convert.tiff_to_ome_zarr`, which reads the TIFF
  through tifffile's Zarr interface, a block at a time;
* ``imread + build_pyramid``: ``tifffile.imread`` of the whole image into memory, then
  `data_helpers.pyramid.build_pyramid` of that numpy array.

The input is the package's sample slide (`data_helpers.sample_data.make_slide`, uint8,
generated lazily), written once per size with `write_tiff` (256 x 256 tiles, zlib) into
a temporary directory; nothing is committed. Both write OME-Zarr 0.4 with the defaults
of `build_pyramid` (2 MiB chunks, Blosc zstd, mean). Each run is a fresh Python process,
so its peak RSS (``os.wait4``, the kernel's count) is its own; its imports happen before
the clock starts. A process that only imports the same modules is measured too: the
baseline that both peaks include.

Usage (the book's environment has everything; see benchmarks/README.md)::

    python benchmarks/bench_convert.py --repeat 3
    python benchmarks/bench_convert.py --sizes 8192x8192 16384x16384
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SIZES = ("16384x16384", "32768x32768")  # 256 MiB and 1 GiB of uint8
PIXEL_SIZE_UM = 0.25  # written into the TIFF; tiff_to_ome_zarr reads it back
MIB = 2**20


# -- the input TIFF ----------------------------------------------------------------------


def make_tiff(path: Path, shape: tuple[int, int]) -> None:
    """The sample slide of ``shape`` as a tiled BigTIFF, written with write_tiff.

    Runs in a child process: the parent stays small, and a child's peak RSS can never
    be inflated by the parent's (Linux starts a new process's ru_maxrss at its parent's
    high-water mark).
    """
    from data_helpers.convert import write_tiff
    from data_helpers.sample_data import make_slide

    write_tiff(make_slide(shape), path, tile=(256, 256), compression="zlib",
               scale=PIXEL_SIZE_UM)


# -- the contenders (each runs in its own process) ---------------------------------------


def run_imports(source: Path, dest: Path) -> None:
    """Nothing: the baseline, a process with the contenders' modules imported."""


def run_tiles(source: Path, dest: Path) -> None:
    from data_helpers.convert import tiff_to_ome_zarr

    tiff_to_ome_zarr(source, dest)


def run_whole(source: Path, dest: Path) -> None:
    import tifffile

    from data_helpers.pyramid import build_pyramid

    data = tifffile.imread(source)
    build_pyramid(data, dest, axes="yx", scale=PIXEL_SIZE_UM)


MODULES = ("numpy", "dask.array", "zarr", "tifffile", "data_helpers.convert",
           "data_helpers.pyramid")

# name -> (function, what it does)
CONTENDERS: dict[str, tuple[Callable[[Path, Path], None], str]] = {
    "imports only": (run_imports, "baseline: the imports"),
    "tiff_to_ome_zarr": (run_tiles, "tiles via aszarr"),
    "imread + build_pyramid": (run_whole, "whole image in memory"),
}


def _fingerprint(dest: Path) -> dict[str, Any]:
    """The level shapes and a hash of the smallest level: same output, same fingerprint."""
    import hashlib

    from data_helpers.multiscale import MultiscaleImage

    image = MultiscaleImage.open(dest)
    smallest = image.level(-1)[...]
    return {"shapes": [list(s) for s in image.shapes],
            "hash": hashlib.sha256(smallest.tobytes()).hexdigest()[:12]}


def child(name: str, source: Path, dest: Path) -> None:
    """Run one contender and print its result as JSON (the parent measures memory)."""
    import importlib
    import resource

    for module in MODULES:
        importlib.import_module(module)
    function = CONTENDERS[name][0]
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    function(source, dest)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result: dict[str, Any] = {"seconds": seconds, "cpu": cpu}
    if dest.exists():
        result.update(_fingerprint(dest))  # after the clock stops
    print(json.dumps(result))


# -- the parent: runs every contender in a fresh process ---------------------------------


def measure(name: str, source: Path, dest: Path) -> dict[str, Any]:
    """Run one contender in a fresh process: its times, its output and its peak RSS."""
    shutil.rmtree(dest, ignore_errors=True)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(
            [sys.executable, __file__, "--child", name, str(source), str(dest)],
            stdout=out, stderr=err, text=True,
        )
        # wait4 reaps the child and returns its own resource usage: ru_maxrss is its
        # peak resident memory, in KiB on Linux, counted by the kernel.
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    shutil.rmtree(dest, ignore_errors=True)
    if process.returncode:
        return {"error": (stderr.strip().splitlines() or ["failed"])[-1]}
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    result["peak_mib"] = usage.ru_maxrss / 1024
    return result


def _shape(text: str) -> tuple[int, int]:
    height, width = (int(n) for n in text.lower().split("x"))
    return height, width


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--child", nargs=3, metavar=("NAME", "SOURCE", "DEST"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--make", nargs=2, metavar=("PATH", "SHAPE"), help=argparse.SUPPRESS)
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), metavar="HxW",
                        help=f"slide shapes, uint8 (default {' '.join(SIZES)})")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per contender and size (best time, worst memory)")
    parser.add_argument("--only", nargs="*", choices=sorted(CONTENDERS), default=None)
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="where the TIFFs go (default: a temporary directory)")
    args = parser.parse_args()
    if args.child:
        name, source, dest = args.child
        child(name, Path(source), Path(dest))
        return
    if args.make:
        make_tiff(Path(args.make[0]), _shape(args.make[1]))
        return

    from rich.console import Console

    console = Console(width=max(150, shutil.get_terminal_size().columns))
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench-convert-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        shapes = [_shape(s) for s in args.sizes]
        tiffs = {}
        for shape in shapes:
            tiff = work / f"slide-{shape[0]}x{shape[1]}.ome.tif"
            if not tiff.exists():
                console.print(f"writing the {shape} slide as a tiled BigTIFF in {work} ...")
                subprocess.run([sys.executable, __file__, "--make", str(tiff),
                                f"{shape[0]}x{shape[1]}"], check=True)
            tiffs[shape] = tiff
        names = args.only or list(CONTENDERS)
        runs = [(name, shape) for shape in shapes for name in names]
        attempts: dict[tuple[str, tuple[int, int]], list[dict[str, Any]]] = {r: [] for r in runs}
        # Round robin: a busy moment of the machine spreads over every contender.
        for attempt in range(args.repeat):
            for name, shape in runs:
                console.print(f"run {attempt + 1}/{args.repeat}: {name} on {shape} ...")
                result = measure(name, tiffs[shape], work / "out.zarr")
                if "error" in result:
                    console.print(f"  [red]failed:[/red] {result['error']}")
                attempts[(name, shape)].append(result)
        console.print(_table(runs, attempts, tiffs, args.repeat))
        _verdict(console, runs, attempts)
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)


def _best(attempts: list[dict[str, Any]]) -> dict[str, Any] | None:
    good = [a for a in attempts if "error" not in a]
    if not good:
        return None
    # Best wall and CPU times (others' load only adds to them); the worst memory.
    return {**min(good, key=lambda a: a["seconds"]), "cpu": min(a["cpu"] for a in good),
            "peak_mib": max(a["peak_mib"] for a in good)}


def _table(runs: list[tuple[str, tuple[int, int]]],
           attempts: dict[tuple[str, tuple[int, int]], list[dict[str, Any]]],
           tiffs: dict[tuple[int, int], Path], repeat: int) -> Any:
    from rich.table import Table

    table = Table(title=f"Tiled BigTIFF (uint8 slide, 256 x 256 zlib tiles) to OME-Zarr 0.4, "
                        f"best of {repeat} ({os.cpu_count()} cores)")
    for column in ("contender", "how", "image", "TIFF on disk", "levels", "time (s)",
                   "CPU (s)", "MiB/s", "peak RSS (MiB)"):
        table.add_column(column, justify="left" if column in ("contender", "how", "image",
                                                              "levels") else "right")
    for name, shape in runs:
        best = _best(attempts[(name, shape)])
        raw = shape[0] * shape[1] / MIB
        image = f"{shape[0]}x{shape[1]} ({raw:.0f} MiB)"
        disk = f"{tiffs[shape].stat().st_size / MIB:.0f} MiB"
        if best is None:
            table.add_row(name, CONTENDERS[name][1], image, disk, "-", "failed", "-", "-", "-")
            continue
        shapes = best.get("shapes")
        levels = f"{len(shapes)}, to {'x'.join(map(str, shapes[-1]))}" if shapes else "-"
        timed = name != "imports only"
        table.add_row(name, CONTENDERS[name][1], image, disk, levels,
                      f"{best['seconds']:.2f}" if timed else "-",
                      f"{best['cpu']:.2f}" if timed else "-",
                      f"{raw / best['seconds']:.0f}" if timed else "-",
                      f"{best['peak_mib']:.0f}")
    return table


def _verdict(console: Any, runs: list[tuple[str, tuple[int, int]]],
             attempts: dict[tuple[str, tuple[int, int]], list[dict[str, Any]]]) -> None:
    """Memory above the baseline, as a share of the image; speed; same output."""
    for shape in dict.fromkeys(s for _, s in runs):
        results = {name: _best(attempts[(name, s)]) for name, s in runs if s == shape}
        base, tiles, whole = (results.get(n) for n in CONTENDERS)
        raw = shape[0] * shape[1] / MIB
        for name, result in (("tiff_to_ome_zarr", tiles), ("imread + build_pyramid", whole)):
            if result is not None and base is not None:
                above = result["peak_mib"] - base["peak_mib"]
                console.print(f"{shape}: {name} peaks {above:.0f} MiB above the imports, "
                              f"{100 * above / raw:.0f}% of the {raw:.0f} MiB image")
        if tiles is not None and whole is not None:
            same = tiles["shapes"] == whole["shapes"] and tiles["hash"] == whole["hash"]
            wall, cpu = tiles["seconds"] / whole["seconds"], tiles["cpu"] / whole["cpu"]
            console.print(f"{shape}: tiff_to_ome_zarr takes {wall:.2f}x the wall time and "
                          f"{cpu:.2f}x the CPU time of imread + build_pyramid; "
                          f"{'same levels and pixels' if same else 'DIFFERENT OUTPUT'}")


if __name__ == "__main__":
    main()
