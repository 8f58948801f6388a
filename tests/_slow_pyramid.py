"""Build a pyramid from a slow source until killed: the subprocess of the data-safety tests.

Usage: ``python tests/_slow_pyramid.py DEST``. Every block of the source takes 50 ms to
make, so the build is still running when the test kills it or tries a second writer.
"""

from __future__ import annotations

import sys
import time

import dask.array as da
import numpy as np

from data_helpers.pyramid import build_pyramid

SHAPE = (256, 256)
CHUNKS = (16, 16)


def slow_block(block: np.ndarray) -> np.ndarray:
    time.sleep(0.05)
    return block + 1


def main(dest: str) -> None:
    source = da.zeros(SHAPE, chunks=CHUNKS, dtype=np.uint8).map_blocks(slow_block)
    print("building", flush=True)
    build_pyramid(source, dest, axes="yx", chunks=CHUNKS, overwrite=True)
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
