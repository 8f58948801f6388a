"""Images written by another tool, ome-zarr-py 0.18, for the tests that read or convert them."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr

#: The omero metadata `write_theirs` gives ome-zarr-py, as its ``write_image`` takes it
#: (``omero=`` among its ``**metadata``), with fields our `ome.Channel` has no place for.
OMERO = {
    "channels": [
        {"label": "DAPI", "color": "0000FF", "active": True, "family": "linear",
         "window": {"min": 0, "max": 65535, "start": 0, "end": 4000}},
        {"label": "GFP", "color": "00FF00", "active": False, "coefficient": 1.0,
         "window": {"min": 0, "max": 65535, "start": 100, "end": 3000}},
    ],
    "rdefs": {"model": "color", "defaultZ": 2},
}


def ome_zarr_py() -> Any:
    """ome-zarr-py's reader and writer (its writer warns about itself on import)."""
    pytest.importorskip("ome_zarr")
    with warnings.catch_warnings():
        # ome_zarr.writer's own default argument Scaler(order=0) is deprecated in it.
        warnings.filterwarnings("ignore", "Call to deprecated class Scaler",
                                DeprecationWarning)
        import ome_zarr.format
        import ome_zarr.io
        import ome_zarr.reader
        import ome_zarr.writer
    return ome_zarr


def image_pixels() -> np.ndarray:
    """The (c, z, y, x) pixels of `write_theirs`'s image."""
    return np.random.default_rng(5).integers(0, 4000, size=(2, 6, 48, 40), dtype=np.uint16)


def label_pixels() -> np.ndarray:
    """The (c, z, y, x) pixels of `write_theirs`'s label image ``cells`` (one channel)."""
    return (np.arange(6 * 48 * 40).reshape(1, 6, 48, 40) // 97 % 4).astype(np.uint8)


def write_theirs(path: Path, zarr_version: int) -> None:
    """A 2-channel 'czyx' image with omero metadata and a label image, by ome-zarr-py.

    Its levels are ``s0``, ``s1`` (y and x halved), chunked (1, 3, 16, 16), with a
    micrometer scale, half-pixel translations and no multiscale ``type`` or ``metadata``;
    its label image ``cells`` has levels of its own (ome-zarr-py's default), not the
    image's, and colors.
    """
    ome_zarr = ome_zarr_py()
    fmt = ome_zarr.format.FormatV04() if zarr_version == 2 else ome_zarr.format.FormatV05()
    root = zarr.open_group(ome_zarr.io.parse_url(str(path), mode="w", fmt=fmt).store,
                           mode="w", zarr_format=zarr_version)
    units = {"z": "micrometer", "y": "micrometer", "x": "micrometer"}
    scale = {"c": 1.0, "z": 2.0, "y": 0.5, "x": 0.5}
    ome_zarr.writer.write_image(
        image_pixels(), root, axes="czyx", fmt=fmt, scale_factors=[{"y": 2, "x": 2}],
        scale=scale, axes_units=units, storage_options={"chunks": (1, 3, 16, 16)},
        omero=OMERO,
    )
    ome_zarr.writer.write_labels(
        label_pixels(), root, name="cells", axes="czyx", fmt=fmt, scaler=None,
        scale_factors=[{"y": 2, "x": 2}, {"y": 4, "x": 4}], scale=scale, axes_units=units,
        storage_options={"chunks": (1, 6, 16, 16)},
        label_metadata={"colors": [{"label-value": 1, "rgba": [255, 0, 0, 255]},
                                   {"label-value": 2, "rgba": [0, 255, 0, 255]}]},
    )
