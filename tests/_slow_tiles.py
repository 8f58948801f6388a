"""Run `map_tiles` slowly until killed: the subprocess of the resume test.

Usage: ``python -c "from tests._slow_tiles import main; main()" SOURCE DEST`` with the
environment variable ``SLOW_TILES=1``: then `smooth` sleeps on every block, so the test
can kill the run when some blocks are done and others are not. The resumed run, in the
test itself, calls the same `smooth` (so its settings match) without sleeping, and
counts the blocks it computes.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import zarr
from scipy import ndimage

from data_helpers.tiles import map_tiles

#: How many blocks `smooth` has been called on, in this process.
CALLS = [0]


def smooth(block: np.ndarray) -> np.ndarray:
    CALLS[0] += 1
    if os.environ.get("SLOW_TILES"):
        time.sleep(0.05)
    return ndimage.uniform_filter(block, size=3, mode="reflect")


def main() -> None:
    source_path, dest = sys.argv[1:]
    print("running", flush=True)
    # progress=True: batches of a few blocks, each recorded as done when it is written.
    map_tiles(smooth, zarr.open_array(source_path, mode="r"), dest, depth=1, progress=True)
