"""One conversion in a fresh process: the subprocess of the memory tests of test_convert.py.

Usage: ``python tests/_convert_child.py COMMAND ARGS...``

``import``
    Import what the conversions import, and nothing else: the memory baseline.
``write PATH HEIGHTxWIDTH``
    `write_tiff` of a lazy dask array of `pixels` (uint16, never whole in memory),
    uncompressed, so the file is as large as the image.
``contiguous PATH HEIGHTxWIDTH``
    The same pixels as a contiguous, uncompressed TIFF in one strip (what
    ``tifffile.imwrite`` writes by default), filled band by band through a memory map.
``convert PATH DEST``
    `tiff_to_ome_zarr` of PATH into DEST.
``image PATH HEIGHTxWIDTH``
    `build_pyramid` of the same lazy pixels, two levels in chunks of 1024 x 1024 (Zarr v2).
``convert-image SOURCE DEST``
    `convert_image` of the OME-Zarr image SOURCE into DEST: Zarr v3, chunks of 256 x 256 in
    shards of 4 x 4 chunks.
``measure COMMAND ARGS...``
    Run ``COMMAND ARGS...`` in a fresh grandchild and print its peak resident memory in
    bytes, as the kernel counts it (``os.wait4``).

Why ``measure`` runs a grandchild: on Linux a new process's ``ru_maxrss`` starts at the
high-water mark of the process it was started from, so a child of a large pytest process
would report at least pytest's own peak. This small launcher's children start from its
own few MiB instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import numpy as np

TILE = 1024
SEED = 3


def base_tile() -> np.ndarray:
    """A seeded random tile: the pixels do not compress to nothing."""
    return np.random.default_rng(SEED).integers(0, 4000, (TILE, TILE), dtype=np.uint16)


def pixels(y0: int, y1: int, x0: int, x1: int, base: np.ndarray | None = None) -> np.ndarray:
    """The test image's pixels in ``[y0, y1) x [x0, x1)``, each a function of (y, x) only."""
    base = base_tile() if base is None else base
    y, x = np.ogrid[y0:y1, x0:x1]
    # uint16 throughout (wrapping on overflow): no temporary larger than the result.
    return (base[y % TILE, x % TILE] + ((y // TILE) * 31).astype(np.uint16)
            + ((x // TILE) * 17).astype(np.uint16))


def lazy_image(shape: tuple[int, int]) -> Any:
    import dask.array as da

    base = base_tile()

    def block(block_info: dict[Any, Any] | None = None) -> np.ndarray:
        assert block_info is not None
        (y0, y1), (x0, x1) = block_info[None]["array-location"]
        return pixels(y0, y1, x0, x1, base)

    return da.map_blocks(block, chunks=da.core.normalize_chunks((TILE, TILE), shape),
                         dtype=np.uint16, meta=np.empty((0, 0), np.uint16))


def main(argv: list[str]) -> None:
    command, *args = argv
    if command == "measure":
        process = subprocess.Popen([sys.executable, __file__, *args])
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode:
            sys.exit(process.returncode)
        print(usage.ru_maxrss * 1024)  # KiB on Linux
        return

    import dask.array  # noqa: F401  (the baseline holds what the conversions import)
    import tifffile
    import zarr  # noqa: F401

    from data_helpers import convert

    if command == "import":
        return
    if command == "write":
        shape = tuple(int(n) for n in args[1].split("x"))
        convert.write_tiff(lazy_image((shape[0], shape[1])), args[0], compression=None)
    elif command == "contiguous":
        height, width = (int(n) for n in args[1].split("x"))
        tifffile.imwrite(args[0], shape=(height, width), dtype=np.uint16, bigtiff=True,
                         photometric="minisblack", metadata={"axes": "YX"})
        mapped = tifffile.memmap(args[0], mode="r+")
        for top in range(0, height, TILE):
            mapped[top:top + TILE] = pixels(top, min(top + TILE, height), 0, width)
        mapped.flush()
        del mapped
    elif command == "convert":
        convert.tiff_to_ome_zarr(args[0], args[1], compression="blosc-lz4")
    elif command == "image":
        from data_helpers.pyramid import build_pyramid

        height, width = (int(n) for n in args[1].split("x"))
        build_pyramid(lazy_image((height, width)), args[0], axes="yx", chunks=(TILE, TILE),
                      max_levels=2, compression="blosc-lz4")
    elif command == "convert-image":
        convert.convert_image(args[0], args[1], chunks=(256, 256), shard_chunks=4,
                              compression="blosc-lz4")
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
