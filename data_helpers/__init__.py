"""Companion package of the book *Big images in chunks*.

One module per concept (see the book's design notes):

========================  =================================================================
``sample_data``           deterministic synthetic images: a nuclei volume, its labels, a slide
``downsample``            the downsampling kernels (the only place pixels are reduced)
``chunking``              chunk arithmetic: tiles, byte budgets, chunk grids
``ome``                   OME-Zarr 0.4 / 0.5 metadata, built with ome-zarr-models, validated
``camera``                a simulated microscope camera
``writer``                a streaming, multiscale, crash-safe Zarr writer
``pyramid``               out-of-core multiscale pyramids of existing arrays
``multiscale``            opening and navigating a multiscale image, on disk or over HTTP
``serve``                 serving a directory over HTTP on this computer, with a request log
``tiles``                 processing an image too big for memory, chunk by chunk, with halos
``labels``                label images stored with an image, with their pyramid
``plotting``              the book's figures
``inspect``               what is on disk: store trees, chunk statistics
``convert``               formats in and out: TIFF to OME-Zarr and back, OME-Zarr layouts
``exercises``             checks of the chapters' exercises that do not show the answer
========================  =================================================================

The most used names are importable from the package itself, e.g.
``from data_helpers import load_sample, build_pyramid``. They are loaded on first use, so
``import data_helpers`` stays quick. The kernel itself is
``from data_helpers.downsample import downsample``: a package attribute cannot be both the
module and the function of the same name.

Examples
--------
>>> from data_helpers import load_sample
>>> load_sample("labels", shape=(8, 16, 16)).shape
(8, 16, 16)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Public name -> the module that defines it.
_EXPORTS: dict[str, str] = {
    "load_sample": "sample_data",
    "make_slide": "sample_data",
    "make_volume": "sample_data",
    "downsampled_shape": "downsample",
    "SimulatedCamera": "camera",
    "ChunkingProperties": "writer",
    "StorageProperties": "writer",
    "ZarrStreamWriter": "writer",
    "stream_to_zarr": "writer",
    "build_pyramid": "pyramid",
    "MultiscaleImage": "multiscale",
    "serve_directory": "serve",
    "map_tiles": "tiles",
    "write_labels": "labels",
    "plot_slice": "plotting",
    "plot_chunk_grid": "plotting",
    "plot_levels": "plotting",
    "plot_codec_bytes": "plotting",
    "print_store_tree": "inspect",
    "chunk_stats": "inspect",
    "validate": "ome",
    "tiff_to_ome_zarr": "convert",
    "write_tiff": "convert",
    "convert_image": "convert",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
        value = getattr(module, name)
        globals()[name] = value  # cache: the next lookup does not come here
        return value
    raise AttributeError(f"module 'data_helpers' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
