"""Write one label image from a slow source: the subprocess of the label concurrency tests.

Usage: ``python tests/_slow_labels.py IMAGE NAME VALUE``. The image's level 0 must be
(64, 64); every 16 x 16 block of the labels (all ``VALUE``) takes 100 ms to make, so
writers started together are all writing at once. It prints when it starts writing and
when it is done, each with ``time.monotonic()`` (one clock for every process).
"""

from __future__ import annotations

import sys
import time

import dask.array as da
import numpy as np

from data_helpers.labels import write_labels

SHAPE = (64, 64)
CHUNKS = (16, 16)


def slow_block(block: np.ndarray) -> np.ndarray:
    time.sleep(0.1)
    return block


def main(image: str, name: str, value: int) -> None:
    labels = da.full(SHAPE, value, chunks=CHUNKS, dtype=np.uint16).map_blocks(slow_block)
    print("writing", time.monotonic(), flush=True)
    write_labels(image, name, labels, colors={value: (value, 0, 0, 255)})
    print("done", time.monotonic(), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
