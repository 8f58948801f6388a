"""Stream frames into a Zarr store until killed: the subprocess of the writer's kill test.

Usage: ``python tests/_kill_writer.py STORE ZARR_VERSION COMPRESSION SHARD_CHUNKS``
(``none`` for no compression or no sharding).

To flush after a few small frames, the 16 MiB chunk floor is lowered to `FLOOR` bytes
with ``ChunkingProperties(min_bytes_per_chunk=...)`` (the floor is Acquire's setting,
not part of the durability mechanism under test). The
frames come from a seeded ``uniform_random`` camera, so the test can regenerate them.
"""

from __future__ import annotations

import sys

from data_helpers import writer as writer_module
from data_helpers.camera import SimulatedCamera

#: Lowered chunk floor, in bytes, and the stream's settings, shared with the test.
FLOOR = 512
FRAME_SHAPE = (24, 40)  # (height, width)
TILE = (16, 8)  # (width, height)
PIXEL_TYPE = "uint16"
SEED = 7
MAX_BYTES_PER_CHUNK = 3 * 16 * 8 * 2  # 3 frames per chunk at level 0 and 1, 6 at level 2


def main(argv: list[str]) -> None:
    path, version, compression, shard = argv
    storage = writer_module.StorageProperties(
        path,
        zarr_version=int(version),  # type: ignore[arg-type]
        compression=None if compression == "none" else compression,  # type: ignore[arg-type]
        chunking=writer_module.ChunkingProperties(*TILE, 1, MAX_BYTES_PER_CHUNK,
                                                  min_bytes_per_chunk=FLOOR),
        enable_multiscale=True,
        shard_chunks=None if shard == "none" else int(shard),
    )
    height, width = FRAME_SHAPE
    camera = SimulatedCamera("uniform_random", shape=(width, height), pixel_type=PIXEL_TYPE,
                             seed=SEED)
    print("streaming", flush=True)
    # Far more frames than the test waits for: it ends with SIGKILL, never by itself.
    writer_module.stream_to_zarr(camera, storage, 10**9)


if __name__ == "__main__":
    main(sys.argv[1:])
