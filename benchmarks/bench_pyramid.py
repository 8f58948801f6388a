"""Benchmark: building a 4-level mean pyramid, data_helpers against other tools.

Every contender turns the same uint16 Zarr v2 volume (chunks 64 x 256 x 256) into a
4-level pyramid (factor 2 on every axis, mean or its nearest equivalent) written as Zarr
v2 with chunks 64 x 256 x 256 and Blosc zstd level 1 with byte shuffle. Each run is a
fresh Python process, so its peak RSS (read with ``os.wait4``, the kernel's own count)
is that tool's alone; the time is the build call itself, imports excluded.

Usage (see benchmarks/README.md for the environment)::

    benchmarks/.venv-pyramid/bin/python benchmarks/bench_pyramid.py
    benchmarks/.venv-pyramid/bin/python benchmarks/bench_pyramid.py --repeat 3 --quick
"""

from __future__ import annotations

import argparse
import importlib
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

CHUNKS = (64, 256, 256)
LEVELS = 4
SHAPE = (256, 1024, 1024)
LARGE_SHAPE = (512, 2048, 1024)  # 4x the voxels of SHAPE
SMALL_SHAPE = (128, 512, 512)  # 1/8 the voxels of SHAPE
QUICK_SHAPE = (128, 512, 512)
MIB = 2**20
CLUSTER = "data_helpers (cluster)"
# The shapes each run uses: the benchmark volume, 1/8 of it and 4x it; --quick halves
# every axis of the first two and the last.
SIZES = {"base": SHAPE, "eighth": SMALL_SHAPE, "four": LARGE_SHAPE}
QUICK_SIZES = {"base": QUICK_SHAPE, "eighth": (64, 256, 256), "four": (256, 1024, 512)}


# -- the input volume --------------------------------------------------------------------


def make_volume(path: Path, shape: tuple[int, ...]) -> None:
    """A smooth, noisy uint16 volume, seeded, written chunk by chunk (never whole).

    Runs in a child process: the parent stays small, and a child's peak RSS can never
    be inflated by the parent's (Linux hands a parent's high-water mark to a new child).
    """
    import numpy as np
    import zarr
    from numcodecs import Blosc

    array = zarr.create_array(
        str(path), shape=shape, chunks=CHUNKS, dtype="uint16", zarr_format=2,
        compressors=Blosc(cname="lz4", clevel=1, shuffle=Blosc.SHUFFLE), overwrite=True,
    )
    for index, (z0, y0, x0) in enumerate(np.ndindex(*(n // c for n, c in zip(shape, CHUNKS,
                                                                               strict=True)))):
        region = tuple(slice(i * c, (i + 1) * c) for i, c in zip((z0, y0, x0), CHUNKS,
                                                                 strict=True))
        z, y, x = np.ogrid[region]
        smooth = (1000 + 800 * np.sin(z / 9.0) * np.cos(y / 23.0)
                  + 600 * np.sin(x / 17.0 + y / 41.0)).astype(np.float32)
        noise = np.random.default_rng(index).integers(0, 100, size=smooth.shape, dtype=np.uint16)
        array[region] = smooth.astype(np.uint16) + noise


# -- the contenders (each runs in its own process) ---------------------------------------


def _blosc() -> Any:
    from numcodecs import Blosc

    return Blosc(cname="zstd", clevel=1, shuffle=Blosc.SHUFFLE)


def run_data_helpers(source: Path, dest: Path) -> None:
    import zarr

    from data_helpers.pyramid import build_pyramid

    build_pyramid(zarr.open_array(str(source), mode="r"), dest, axes="zyx", chunks=CHUNKS,
                  factors=2, method="mean", max_levels=LEVELS, zarr_version=2,
                  compression="blosc-zstd")


def start_cluster() -> Any:
    """Two single-threaded worker processes and a client, started before the clock.

    The workers import the package before the clock starts too, as on a cluster that
    is already running: a fresh worker process spends seconds importing zarr, dask and
    data_helpers when its first task arrives, which is not the build's cost.
    """
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    client = Client(cluster)
    client.run(importlib.import_module, "data_helpers.pyramid")
    return client, cluster


def run_ome_zarr(source: Path, dest: Path) -> None:
    import dask.array as da
    import zarr
    from ome_zarr.format import FormatV04
    from ome_zarr.scale import Methods
    from ome_zarr.writer import write_image

    # ome-zarr >= 0.15 replaced Scaler(method="local_mean") (which never touches z) by
    # method=Methods.LOCAL_MEAN with per-level factors: skimage's downscale_local_mean.
    factors = [{"z": 2**k, "y": 2**k, "x": 2**k} for k in range(1, LEVELS)]
    group = zarr.open_group(str(dest), mode="w", zarr_format=2)
    write_image(da.from_zarr(zarr.open_array(str(source), mode="r")), group,
                scale_factors=factors, method=Methods.LOCAL_MEAN, axes="zyx", fmt=FormatV04(),
                storage_options={"chunks": CHUNKS, "compressor": _blosc()})


def run_ngff_zarr(source: Path, dest: Path) -> None:
    import dask.array as da
    import zarr
    from ngff_zarr import Methods, to_multiscales, to_ngff_image, to_ngff_zarr

    image = to_ngff_image(da.from_zarr(zarr.open_array(str(source), mode="r")),
                          dims=("z", "y", "x"))
    multiscales = to_multiscales(image, scale_factors=[2**k for k in range(1, LEVELS)],
                                 method=Methods.ITKWASM_BIN_SHRINK, chunks=CHUNKS)
    to_ngff_zarr(str(dest), multiscales, version="0.4", compressor=_blosc())


def run_tensorstore(source: Path, dest: Path) -> None:
    import tensorstore as ts

    # tensorstore writes arrays only (no OME metadata): levels "0".."3", each written
    # from a mean `downsample` view of the level just written, as build_pyramid does.
    def spec(path: Path, **extra: Any) -> dict[str, Any]:
        return {"driver": "zarr", "kvstore": {"driver": "file", "path": str(path)}, **extra}

    previous = ts.open(spec(source), read=True).result()
    for level in range(LEVELS):
        data = previous if level == 0 else ts.downsample(previous, [2, 2, 2], method="mean")
        target = ts.open(
            spec(dest / str(level), metadata={
                "shape": list(data.shape), "chunks": list(CHUNKS), "dtype": "<u2",
                "compressor": {"id": "blosc", "cname": "zstd", "clevel": 1, "shuffle": 1},
                "dimension_separator": "/",
            }),
            create=True, delete_existing=True,
        ).result()
        target.write(data).result()
        previous = ts.open(spec(dest / str(level)), read=True).result()


def _shapes(dest: Path) -> list[tuple[int, ...]]:
    """The level shapes: through our own reader for OME-Zarr output, else arrays 0, 1, ..."""
    import zarr

    from data_helpers.multiscale import MultiscaleImage

    try:
        return MultiscaleImage.open(dest).shapes
    except ValueError:  # tensorstore writes bare arrays
        return [tuple(zarr.open_array(str(dest / str(i)), mode="r").shape) for i in range(LEVELS)]


# name -> (function, method, modules imported before the clock starts)
CONTENDERS: dict[str, tuple[Callable[[Path, Path], None], str, tuple[str, ...]]] = {
    "data_helpers": (run_data_helpers, "build_pyramid, mean",
                     ("zarr", "data_helpers.pyramid", "jsonschema")),
    CLUSTER: (run_data_helpers, "build_pyramid, mean, LocalCluster 2 x 1 thread",
              ("zarr", "data_helpers.pyramid", "jsonschema", "distributed")),
    "ome-zarr-py": (run_ome_zarr, "write_image, local_mean",
                    ("dask.array", "zarr", "ome_zarr.writer", "ome_zarr.scale", "skimage")),
    "ngff-zarr": (run_ngff_zarr, "to_multiscales, ITKWASM_BIN_SHRINK",
                  ("dask.array", "zarr", "ngff_zarr", "itkwasm_downsample")),
    "tensorstore": (run_tensorstore, "downsample driver, mean", ("tensorstore",)),
}


def child(name: str, source: Path, dest: Path) -> None:
    """Run one contender and print its result as JSON (the parent measures memory).

    Imports happen before the clock starts: the time is the build alone. CPU time is
    summed over all the process's threads.
    """
    import resource

    function, _, modules = CONTENDERS[name]
    for module in modules:
        importlib.import_module(module)
    started = start_cluster() if name == CLUSTER else None
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    function(source, dest)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    shapes = _shapes(dest)  # read back after the clock stops
    if started is not None:
        client, cluster = started
        client.close()
        cluster.close()
    print(json.dumps({"seconds": seconds, "cpu": cpu, "shapes": [list(s) for s in shapes]}))


# -- the parent: runs every contender in a fresh process ---------------------------------


def measure(name: str, source: Path, dest: Path) -> dict[str, Any]:
    """Run one contender in a fresh process: its time, its shapes and its peak RSS."""
    shutil.rmtree(dest, ignore_errors=True)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(
            [sys.executable, __file__, "--child", name, str(source), str(dest)],
            stdout=out, stderr=err, text=True,
        )
        # wait4 reaps this child and returns its own resource usage: ru_maxrss is its
        # peak resident memory, in KiB on Linux, counted by the kernel.
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    shutil.rmtree(dest, ignore_errors=True)
    if process.returncode:
        return {"error": (stderr.strip().splitlines() or ["failed"])[-1]}
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_mib"] = usage.ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=3, metavar=("NAME", "SOURCE", "DEST"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--make", nargs=2, metavar=("PATH", "SHAPE"), help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true",
                        help=f"smaller volumes: {QUICK_SIZES} (nothing is recorded)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per contender (best time)")
    parser.add_argument("--only", nargs="*", choices=sorted(CONTENDERS), default=None)
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="where the volumes go (default: a temporary directory)")
    parser.add_argument("--no-record", action="store_true",
                        help="do not write benchmarks/results/pyramid.json")
    args = parser.parse_args()
    if args.child:
        name, source, dest = args.child
        child(name, Path(source), Path(dest))
        return
    if args.make:
        make_volume(Path(args.make[0]), tuple(int(n) for n in args.make[1].split("x")))
        return

    from rich.console import Console

    load_at_start, clock = os.getloadavg(), time.perf_counter()
    console = Console(width=max(150, shutil.get_terminal_size().columns))
    console.print(_machine_line())
    sizes = QUICK_SIZES if args.quick else SIZES
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench-pyramid-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        runs = [(name, sizes["base"]) for name in (args.only or CONTENDERS)]
        if args.only is None or "data_helpers" in args.only:
            runs += [("data_helpers", sizes["eighth"]), ("data_helpers", sizes["four"])]
        sources = {}
        for _, run_shape in runs:
            source = work / f"volume-{'x'.join(map(str, run_shape))}.zarr"
            if run_shape not in sources and not source.exists():
                console.print(f"making the {run_shape} uint16 input volume in {work} ...")
                subprocess.run([sys.executable, __file__, "--make", str(source),
                                "x".join(map(str, run_shape))], check=True)
            sources[run_shape] = source
        attempts: dict[tuple[str, tuple[int, ...]], list[dict[str, Any]]] = {r: [] for r in runs}
        # Round robin: a busy moment of the machine spreads over every contender.
        for attempt in range(args.repeat):
            for name, run_shape in runs:
                console.print(f"run {attempt + 1}/{args.repeat}: {name} on {run_shape} ...")
                result = measure(name, sources[run_shape], work / "out.zarr")
                if "error" in result:
                    console.print(f"  [red]failed:[/red] {result['error']}")
                attempts[(name, run_shape)].append(result)
        results = [(name, run_shape, attempts[(name, run_shape)]) for name, run_shape in runs]
        console.print(_table(results, args.repeat))
        for name, run_shape, tries in results:
            times = ", ".join(f"{a['seconds']:.2f}" for a in tries if "error" not in a)
            console.print(f"{name} {'x'.join(map(str, run_shape))}: runs {times} s")
        targets = _targets(results, sizes)
        console.print(_targets_table(targets, args.repeat))
        if not (args.quick or args.no_record):
            sys.path.insert(0, str(Path(__file__).parent))
            import _record

            path = _record.save(
                "pyramid", title=f"{LEVELS}-level mean pyramid of a {_shape(SHAPE)} uint16 "
                f"volume, Zarr v2, chunks {_shape(CHUNKS)}, Blosc zstd 1 + shuffle",
                targets=targets, runs=[
                    _record.Run(contender=name, config=_shape(run_shape),
                                seconds=[a["seconds"] for a in tries if "error" not in a],
                                cpu=[a["cpu"] for a in tries if "error" not in a],
                                peak_mib=[a["peak_mib"] for a in tries if "error" not in a],
                                extra={"method": CONTENDERS[name][1],
                                       "errors": [a["error"] for a in tries if "error" in a]})
                    for name, run_shape, tries in results
                ],
                packages=["data_helpers", "zarr", "numcodecs", "dask", "distributed", "numpy",
                          "tensorstore", "ome-zarr", "ngff-zarr", "itkwasm-downsample",
                          "scikit-image"],
                load_at_start=load_at_start, seconds=time.perf_counter() - clock,
            )
            console.print(f"recorded in {path}")
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)


def _machine_line() -> str:
    import platform

    return (f"{os.cpu_count()} cores, Python {platform.python_version()}, "
            f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def _shape(shape: tuple[int, ...]) -> str:
    return " x ".join(map(str, shape))


def _best(attempts: list[dict[str, Any]]) -> dict[str, Any] | None:
    good = [a for a in attempts if "error" not in a]
    if not good:
        return None
    # Best wall time and best CPU time (others' load only adds to either); the worst
    # memory, to stay on the safe side.
    return {**min(good, key=lambda a: a["seconds"]), "cpu": min(a["cpu"] for a in good),
            "peak_mib": max(a["peak_mib"] for a in good)}


def _table(results: list[tuple[str, tuple[int, ...], list[dict[str, Any]]]], repeat: int) -> Any:
    from rich.table import Table

    table = Table(title=f"4-level pyramid, uint16, chunks {CHUNKS}, best of {repeat} "
                        f"({os.cpu_count()} cores)")
    for column in ("tool", "method", "input", "levels", "time (s)", "CPU (s)", "MiB/s",
                   "peak RSS (MiB)"):
        table.add_column(column, justify="left" if column in ("tool", "method", "input",
                                                              "levels") else "right")
    for name, shape, attempts in results:
        best = _best(attempts)
        size = f"{'x'.join(map(str, shape))} ({_nbytes(shape) / MIB:.0f} MiB)"
        if best is None:
            table.add_row(name, CONTENDERS[name][1], size, "-", "failed", "-", "-", "-")
            continue
        levels = f"{len(best['shapes'])}, to {'x'.join(map(str, best['shapes'][-1]))}"
        table.add_row(name, CONTENDERS[name][1], size, levels, f"{best['seconds']:.2f}",
                      f"{best['cpu']:.2f}", f"{_nbytes(shape) / MIB / best['seconds']:.0f}",
                      f"{best['peak_mib']:.0f}")
    return table


def _nbytes(shape: tuple[int, ...]) -> int:
    count = 2  # uint16
    for n in shape:
        count *= n
    return count


def _targets(results: list[tuple[str, tuple[int, ...], list[dict[str, Any]]]],
             sizes: dict[str, tuple[int, ...]]) -> list[Any]:
    """The issue's rows: each a ratio of two best runs of this one run, and its target."""
    sys.path.insert(0, str(Path(__file__).parent))
    from _record import Target

    best = {(name, shape): _best(tries) for name, shape, tries in results}
    ours = best.get(("data_helpers", sizes["base"]))
    base = _shape(sizes["base"])
    rows: list[Target] = []

    def row(measure: str, value: float | None, result: str, target: str,
            met: bool | None) -> None:
        rows.append(Target(measure=measure, result=result if value is not None
                           else "not measured", value=None if value is None
                           else round(value, 3), target=target,
                           met=None if value is None else met))

    peer = best.get(("tensorstore", sizes["base"]))
    if ours and peer:
        speed, memory = peer["seconds"] / ours["seconds"], ours["peak_mib"] / peer["peak_mib"]
        row(f"speed vs tensorstore downsample (mean), {base}", speed,
            f"{speed:.2f}x ({ours['seconds']:.2f} s vs {peer['seconds']:.2f} s)", ">= 1.0x",
            speed >= 1.0)
        row(f"peak memory vs tensorstore, {base}", memory,
            f"{memory:.2f}x ({ours['peak_mib']:.0f} vs {peer['peak_mib']:.0f} MiB)", "<= 0.5x",
            memory <= 0.5)
    peer = best.get(("ome-zarr-py", sizes["base"]))
    if ours and peer:
        speed = peer["seconds"] / ours["seconds"]
        row(f"speed vs ome-zarr-py write_image (local_mean), {base}", speed,
            f"{speed:.2f}x ({ours['seconds']:.2f} s vs {peer['seconds']:.2f} s)", ">= 1.5x",
            speed >= 1.5)
    small = best.get(("data_helpers", sizes["eighth"]))
    if ours and small:
        growth = ours["peak_mib"] / small["peak_mib"]
        row(f"peak RSS growth, {_shape(sizes['eighth'])} -> {base} (8x the voxels)", growth,
            f"{growth:.2f}x ({small['peak_mib']:.0f} -> {ours['peak_mib']:.0f} MiB)",
            "<= 1.15x", growth <= 1.15)
    large = best.get(("data_helpers", sizes["four"]))
    if ours and large:
        per_voxel = large["seconds"] / 4 / ours["seconds"]
        row(f"time per voxel, {_shape(sizes['four'])} (4x) vs {base}", per_voxel,
            f"{per_voxel:.2f}x ({ours['seconds']:.2f} s vs {large['seconds']:.2f} s)",
            "within 10 % of 1.0x", abs(per_voxel - 1) <= 0.10)
    cluster = best.get((CLUSTER, sizes["base"]))
    if ours and cluster:
        slower = cluster["seconds"] / ours["seconds"]
        row(f"LocalCluster (2 processes x 1 thread) vs threads, {base}", slower,
            f"{slower:.2f}x ({cluster['seconds']:.2f} s vs {ours['seconds']:.2f} s)",
            "<= 1.15x", slower <= 1.15)
    return rows


def _targets_table(targets: list[Any], repeat: int) -> Any:
    from rich.table import Table

    table = Table(title=f"Issue 12 targets, this run, best of {repeat} "
                        f"({os.cpu_count()} cores, load average now "
                        f"{os.getloadavg()[0]:.1f})")
    for column in ("measure", "result", "target", "met"):
        table.add_column(column)
    for t in targets:
        table.add_row(t.measure, t.result, t.target,
                      "-" if t.met is None else "yes" if t.met else "NO")
    return table


if __name__ == "__main__":
    main()
