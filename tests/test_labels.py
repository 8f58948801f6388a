"""Tests of label images, data_helpers.labels, and of reading them with MultiscaleImage."""

from __future__ import annotations

import gc
import json
import math
import os
import subprocess
import sys
import threading
import time
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import numpy as np
import pytest
import zarr
from ome_zarr_models.v04 import Image as ImageV04
from ome_zarr_models.v04.image_label import ImageLabel as ImageLabelV04
from ome_zarr_models.v04.labels import Labels as LabelsV04
from ome_zarr_models.v05 import Image as ImageV05
from ome_zarr_models.v05.image_label import ImageLabel as ImageLabelV05
from ome_zarr_models.v05.labels import Labels as LabelsV05

from data_helpers import _destination, ome
from data_helpers._destination import DestinationBusyError, WriteLock
from data_helpers.downsample import downsample
from data_helpers.labels import write_labels
from data_helpers.multiscale import MultiscaleImage
from data_helpers.pyramid import build_pyramid
from tests import _slow_labels

# -- helpers -------------------------------------------------------------------------------


def make_image(path: Path, shape: tuple[int, ...] = (12, 45, 38), *, axes: str = "zyx",
               zarr_version: int = 2, **options: Any) -> MultiscaleImage:
    """An intensity image (levels made with mean) to put labels in."""
    options.setdefault("chunks", tuple(min(8, n) if a != "c" else 1
                                       for a, n in zip(axes, shape, strict=True)))
    options.setdefault("scale", {"z": 2.0, "y": 0.7, "x": 0.7} if "z" in axes else 0.7)
    data = np.random.default_rng(0).integers(0, 4000, size=shape, dtype=np.uint16)
    return build_pyramid(data, path, axes=axes, zarr_version=zarr_version, **options)


def make_labels(shape: tuple[int, ...], n_labels: int = 5, seed: int = 1,
                dtype: Any = np.uint32) -> np.ndarray:
    """Blobs of a few labels (runs of equal values, so windows have ties and majorities)."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, n_labels, size=tuple(math.ceil(n / 3) for n in shape))
    labels = coarse
    for axis in range(len(shape)):
        labels = np.repeat(labels, 3, axis=axis)
    labels = labels[tuple(slice(0, n) for n in shape)]
    noise = rng.random(shape) < 0.2
    labels = np.where(noise, rng.integers(0, n_labels, size=shape), labels)
    return labels.astype(dtype)


def reference_levels(labels: np.ndarray, image: MultiscaleImage) -> list[np.ndarray]:
    """Every level as it must be: `downsample` by mode of the whole level above."""
    levels = [np.asarray(labels)]
    for k in range(1, image.levels):
        levels.append(downsample(levels[-1], image.factors(k), "mode"))
    return levels


def snapshot(root: Path, *, skip: str | None = None) -> dict[str, bytes]:
    """Every file under ``root`` (but the folder ``skip``), with its bytes."""
    files = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if skip is not None and (relative == skip or relative.startswith(skip + "/")):
            continue
        if path.is_file():
            files[relative] = path.read_bytes()
    return files


def leftovers(root: Path) -> list[str]:
    """Hidden files and folders under ``root`` that are not Zarr v2 metadata: locks,
    staging folders, folders of a store swapped out."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob(".*")
                  if p.name not in (".zattrs", ".zgroup", ".zarray"))


def label_attributes(path: Path) -> dict[str, Any]:
    attributes = zarr.open_group(path, mode="r").attrs.asdict()
    return attributes.get("ome", attributes)


def image_label_json(path: Path) -> dict[str, Any]:
    return label_attributes(path)["image-label"]  # type: ignore[no-any-return]


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


# -- levels and pixels -----------------------------------------------------------------------


@pytest.mark.parametrize("zarr_version", [2, 3])
@pytest.mark.parametrize(
    ("shape", "axes", "factors"),
    [((12, 45, 38), "zyx", [{"y": 2, "x": 2}, 2]),
     ((3, 50, 33), "cyx", 3),
     ((2, 1, 6, 20, 17), "tczyx", {"y": 2, "x": 2})],
    ids=["zyx-anisotropic", "cyx-factor-3", "tczyx"],
)
def test_every_level_is_the_mode_of_the_one_above(
    tmp_path: Path, zarr_version: int, shape: tuple[int, ...], axes: str, factors: Any
) -> None:
    image = make_image(tmp_path / "img.zarr", shape, axes=axes, zarr_version=zarr_version,
                       factors=factors)
    assert image.levels >= 3
    labels = make_labels(shape)
    written = write_labels(image, "cells", labels)
    assert written.path == tmp_path / "img.zarr" / "labels" / "cells"
    expected = reference_levels(labels, image)
    np.testing.assert_array_equal(written.level(0)[...], labels)
    for k in range(written.levels):
        np.testing.assert_array_equal(written.level(k)[...], expected[k], err_msg=f"level {k}")
        assert written.level(k).dtype == np.uint32
    # The image's levels, exactly: shapes, chunks, scales, translations, axes, units.
    assert written.levels == image.levels
    assert written.shapes == image.shapes
    assert written.chunks == image.chunks
    assert written.metadata.scales == image.metadata.scales
    assert written.metadata.translations == image.metadata.translations
    assert written.axes == image.axes
    assert written.metadata.units == image.metadata.units
    assert written.version == image.version
    assert written.metadata.method == "mode"
    assert written.metadata.name == "cells"


def test_labels_of_a_mean_image_carry_its_translations(tmp_path: Path) -> None:
    # Factor 3 on 0.7 um pixels: mean and mode both centre each window, by (F - 1) / 2.
    image = make_image(tmp_path / "img.zarr", (40, 40), axes="yx", factors=3, chunks=(8, 8))
    written = write_labels(image, "cells", make_labels((40, 40), dtype=np.uint8))
    assert image.metadata.method == "mean"
    assert written.translation(1) == image.translation(1) == (0.7, 0.7)
    assert written.scale(2) == image.scale(2) == (6.3, 6.3)


def test_sharded_v3_labels_have_the_image_shards(tmp_path: Path) -> None:
    image = make_image(tmp_path / "img.zarr", (16, 64, 64), zarr_version=3,
                       chunks=(4, 8, 8), shard_chunks=2)
    labels = make_labels((16, 64, 64), dtype=np.uint16)
    written = write_labels(image, "cells", labels)
    for k in range(image.levels):
        assert written.level(k).shards == image.level(k).shards is not None
        assert written.level(k).chunks == image.level(k).chunks
    for k, expected in enumerate(reference_levels(labels, image)):
        np.testing.assert_array_equal(written.level(k)[...], expected)
    ome.validate_label_image(written.path)


@pytest.mark.parametrize("source", ["numpy", "zarr", "dask"])
def test_every_source_type_gives_the_same_labels(tmp_path: Path, source: str) -> None:
    image = make_image(tmp_path / "img.zarr", (12, 45, 38))
    labels = make_labels((12, 45, 38), dtype=np.int16)
    given: Any = labels
    if source == "zarr":
        given = zarr.create_array(tmp_path / "src.zarr", shape=labels.shape, chunks=(5, 7, 9),
                                  dtype=labels.dtype)
        given[...] = labels
    elif source == "dask":
        given = da.from_array(labels, chunks=(5, 11, 6))
    written = write_labels(tmp_path / "img.zarr", "cells", given)
    for k, expected in enumerate(reference_levels(labels, image)):
        np.testing.assert_array_equal(written.level(k)[...], expected)


def test_a_single_level_image_gets_a_single_level_label(tmp_path: Path) -> None:
    image = make_image(tmp_path / "img.zarr", (20, 20), axes="yx", max_levels=1)
    written = write_labels(image, "cells", np.ones((20, 20), np.uint8))
    assert written.levels == 1 and written.shapes == [(20, 20)]


# -- metadata --------------------------------------------------------------------------------


@pytest.mark.parametrize("zarr_version", [2, 3])
def test_metadata_validates_with_ome_zarr_models(tmp_path: Path, zarr_version: int) -> None:
    path = tmp_path / "img.zarr"
    make_image(path, zarr_version=zarr_version)
    write_labels(path, "cells", make_labels((12, 45, 38)), colors={1: (255, 0, 0, 255)})
    write_labels(path, "nuclei", make_labels((12, 45, 38), seed=2, dtype=np.uint8))
    root = zarr.open_group(path, mode="r")
    version = "0.4" if zarr_version == 2 else "0.5"
    if zarr_version == 2:
        image_model: Any = ImageV04.from_zarr(root)
        labels_model: Any = LabelsV04.from_zarr(root["labels"])
        label_cls: Any = ImageLabelV04
    else:
        # 0.5's Image loads its labels group too: every label image, and their levels'
        # count against the image's.
        image_model = ImageV05.from_zarr(root)
        labels_model = LabelsV05.from_zarr(root["labels"])
        assert image_model.labels is not None
        assert image_model.labels.label_paths == ["cells", "nuclei"]
        label_cls = ImageLabelV05
    assert image_model.ome_zarr_version == version
    assert labels_model.ome_attributes.labels == ["cells", "nuclei"]
    for name in ("cells", "nuclei"):
        model = label_cls.from_zarr(root["labels"][name])
        label = model.ome_attributes.image_label
        assert label.version == version
        assert label.source.image == "../../"
        assert len(model.ome_attributes.multiscales[0].datasets) == len(image_model.datasets[0])
        # Ours too, and the label image is an image that passes the strict image schema.
        ome.validate_label_image(path / "labels" / name)
    # The image itself still validates, strictly; it was not touched.
    assert ome.validate(path).ome_zarr_version == version


@pytest.mark.parametrize("zarr_version", [2, 3])
def test_labels_group_metadata_as_the_specification_writes_it(
    tmp_path: Path, zarr_version: int
) -> None:
    path = tmp_path / "img.zarr"
    make_image(path, (16, 16), axes="yx", zarr_version=zarr_version)
    write_labels(path, "cells", np.zeros((16, 16), np.uint8))
    if zarr_version == 2:
        assert json.loads((path / "labels" / ".zattrs").read_text()) == {"labels": ["cells"]}
        label = json.loads((path / "labels" / "cells" / ".zattrs").read_text())
        assert label["image-label"] == {"version": "0.4", "source": {"image": "../../"}}
        assert label["multiscales"][0]["version"] == "0.4"
    else:
        group = json.loads((path / "labels" / "zarr.json").read_text())
        assert group["attributes"] == {"ome": {"version": "0.5", "labels": ["cells"]}}
        label = json.loads((path / "labels" / "cells" / "zarr.json").read_text())["attributes"]
        assert label["ome"]["version"] == "0.5"
        assert label["ome"]["image-label"] == {"version": "0.5", "source": {"image": "../../"}}


@pytest.mark.parametrize("zarr_version", [2, 3])
def test_colors_and_properties_round_trip(tmp_path: Path, zarr_version: int) -> None:
    path = tmp_path / "img.zarr"
    make_image(path, (16, 16), axes="yx", zarr_version=zarr_version)
    labels = np.zeros((16, 16), np.uint16)
    labels[2:6, 2:6], labels[9:14, 8:15] = 7, 3
    colors = {7: (255, 0, 0, 255), 3: np.array([0, 128, 255, 100]), 0: [0, 0, 0, 0]}
    properties: dict[int, dict[str, Any]] = {
        7: {"class": "nucleus", "area (pixels)": 16, "score": 0.5},
        3: {"class": "cell", "tags": ["a", "b"], "note": None, "nested": {"k": 1}},
        0: {"class": "background"},
    }
    written = write_labels(path, "cells", labels, colors=colors, properties=properties)
    read = written.image_label
    assert read is not None
    assert read.version == ("0.4" if zarr_version == 2 else "0.5")
    assert read.source == "../../"
    assert read.colors == {0: (0, 0, 0, 0), 3: (0, 128, 255, 100), 7: (255, 0, 0, 255)}
    assert read.properties == {7: properties[7], 3: properties[3], 0: properties[0]}
    stored = image_label_json(path / "labels" / "cells")
    # Sorted by label value, in the specification's spelling; a null property is kept.
    assert [c["label-value"] for c in stored["colors"]] == [0, 3, 7]
    assert stored["colors"][1] == {"label-value": 3, "rgba": [0, 128, 255, 100]}
    assert stored["properties"][1] == {"label-value": 3, **properties[3]}
    assert MultiscaleImage.open(path).label("cells").image_label == read


def test_colors_alone_and_properties_alone(tmp_path: Path) -> None:
    path = tmp_path / "img.zarr"
    make_image(path, (16, 16), axes="yx")
    labels = np.ones((16, 16), np.uint8)
    write_labels(path, "painted", labels, colors={1: (1, 2, 3, 4)})
    write_labels(path, "described", labels, properties={1: {"class": "x"}})
    write_labels(path, "empty", labels, colors={}, properties={})
    assert "properties" not in image_label_json(path / "labels" / "painted")
    assert "colors" not in image_label_json(path / "labels" / "described")
    # The specification wants at least one entry in a list it has: empty ones are left out.
    assert set(image_label_json(path / "labels" / "empty")) == {"version", "source"}


# -- reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize("zarr_version", [2, 3])
def test_labels_lists_names_and_label_opens_them(tmp_path: Path, zarr_version: int) -> None:
    path = tmp_path / "img.zarr"
    image = make_image(path, (16, 16), axes="yx", zarr_version=zarr_version)
    assert image.labels == ()
    with pytest.raises(KeyError, match=r"no label image 'cells': it has no labels"):
        image.label("cells")
    write_labels(image, "cells", np.full((16, 16), 2, np.uint8))
    write_labels(image, "nuclei", np.full((16, 16), 5, np.int32))
    assert image.labels == ("cells", "nuclei")  # read from disk, not cached
    nuclei = image.label("nuclei")
    assert isinstance(nuclei, MultiscaleImage)
    assert nuclei.dtype == np.int32 and (nuclei.level(-1)[...] == 5).all()
    assert nuclei.labels == ()
    assert image.image_label is None
    with pytest.raises(KeyError, match=r"'ghost'.*its labels are \['cells', 'nuclei'\]"):
        image.label("ghost")
    with pytest.raises(TypeError, match="name=3 must be a string"):
        image.label(3)  # type: ignore[arg-type]


def test_a_listed_label_that_is_missing_or_broken_is_named(tmp_path: Path) -> None:
    path = tmp_path / "img.zarr"
    image = make_image(path, (16, 16), axes="yx", zarr_version=3)
    write_labels(image, "cells", np.ones((16, 16), np.uint8))
    group = zarr.open_group(path / "labels", mode="r+")
    ome.add_label_name(group, "ghost")
    group.create_group("plain")
    ome.add_label_name(group, "plain")
    assert image.labels == ("cells", "ghost", "plain")
    with pytest.raises(ValueError, match=r"lists the label image 'ghost', but nothing is at "
                                         r"labels/ghost; its labels are \['cells', 'ghost'"):
        image.label("ghost")
    with pytest.raises(ValueError, match=r"label image 'plain' \(at labels/plain\) cannot be "
                                         r"read: .*its labels are"):
        image.label("plain")


@pytest.mark.parametrize("zarr_version", [2, 3])
def test_ome_zarr_py_reads_our_labels(tmp_path: Path, zarr_version: int) -> None:
    ome_zarr = ome_zarr_py()
    path = tmp_path / "img.zarr"
    make_image(path, (16, 32, 32), zarr_version=zarr_version, chunks=(8, 8, 8))
    labels = make_labels((16, 32, 32), n_labels=3, dtype=np.uint16)
    colors = {0: (0, 0, 0, 0), 1: (255, 0, 0, 255), 2: (0, 0, 255, 128)}
    properties = {0: {"class": "background"}, 1: {"class": "nucleus", "area": 12},
                  2: {"class": "cell"}}
    write_labels(path, "cells", labels, colors=colors, properties=properties)
    reader = ome_zarr.reader.Reader(ome_zarr.io.parse_url(str(path)))
    nodes = list(reader())
    label_nodes = [n for n in nodes if n.load(ome_zarr.reader.Label) is not None]
    assert [n.metadata["name"] for n in label_nodes] == ["cells"]
    node = label_nodes[0]
    assert node.metadata["color"] == {v: [c / 255 for c in rgba] for v, rgba in colors.items()}
    assert node.metadata["properties"] == properties
    # Its levels are our levels, and its source is our image, read as an image.
    assert len(node.data) == MultiscaleImage.open(path).levels
    np.testing.assert_array_equal(np.asarray(node.data[0]), labels)
    images = [n for n in nodes if n.load(ome_zarr.reader.Multiscales) is not None
              and n.load(ome_zarr.reader.Label) is None]
    assert [Path(n.zarr.path).resolve() for n in images] == [path.resolve()]


@pytest.mark.parametrize("zarr_version", [2, 3])
def test_labels_written_by_ome_zarr_py_open_and_keep_their_name(
    tmp_path: Path, zarr_version: int
) -> None:
    ome_zarr = ome_zarr_py()
    fmt = ome_zarr.format.FormatV04() if zarr_version == 2 else ome_zarr.format.FormatV05()
    path = tmp_path / "theirs.ome.zarr"
    data = np.arange(64 * 64, dtype=np.uint8).reshape(64, 64)
    theirs = (data % 3).astype(np.uint8)
    root = zarr.open_group(ome_zarr.io.parse_url(str(path), mode="w", fmt=fmt).store,
                           mode="w", zarr_format=zarr_version)
    ome_zarr.writer.write_image(data, root, axes="yx", fmt=fmt, scaler=None,
                                storage_options={"chunks": (32, 32)})
    ome_zarr.writer.write_labels(theirs, root, name="cells", axes="yx", fmt=fmt, scaler=None,
                                 label_metadata={"colors": [{"label-value": 1,
                                                             "rgba": [255, 0, 0, 255]}]})
    image = MultiscaleImage.open(path)
    assert image.labels == ("cells",)
    cells = image.label("cells")
    assert cells.shapes == image.shapes
    np.testing.assert_array_equal(cells.level(0)[...], theirs)
    assert cells.image_label is not None
    assert cells.image_label.colors == {1: (255, 0, 0, 255)}
    # Ours beside theirs: theirs stays listed (0.5: the group gets the version it lacked).
    ours = write_labels(image, "nuclei", (data % 5).astype(np.uint8))
    assert ours.shapes == image.shapes
    assert MultiscaleImage.open(path).labels == ("cells", "nuclei")
    if zarr_version == 3:
        assert label_attributes(path / "labels")["version"] == "0.5"
        assert ImageV05.from_zarr(zarr.open_group(path, mode="r")).labels is not None


# -- memory ----------------------------------------------------------------------------------


def lazy_labels(shape: tuple[int, ...], chunks: tuple[int, ...]) -> da.Array:
    """Blocky labels made block by block (never whole): values from their coordinates."""

    def block(zeros: np.ndarray, block_info: dict[Any, Any] | None = None) -> np.ndarray:
        assert block_info is not None
        grids = np.ogrid[tuple(slice(a, b) for a, b in block_info[None]["array-location"])]
        value = sum((g // 3) * (7 + 5 * k) for k, g in enumerate(grids))
        return (value % 17).astype(np.uint32)

    return da.zeros(shape, chunks=chunks, dtype=np.uint32).map_blocks(block, dtype=np.uint32)


def _traced_peak(path: Path, shape: tuple[int, ...], chunks: tuple[int, ...]) -> int:
    """The peak of traced memory while labels of ``shape`` are written into a new image."""
    image = build_pyramid(da.zeros(shape, chunks=chunks, dtype=np.uint8), path,
                          chunks=chunks, compression=None)
    source = lazy_labels(shape, chunks)
    gc.collect()
    tracemalloc.start()
    try:
        write_labels(image, "cells", source)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_far_below_the_label_image(tmp_path: Path) -> None:
    chunks = (16, 64, 64)  # 256 KiB chunks of uint32
    small, large = (64, 256, 256), (128, 256, 512)  # 16 MiB and 64 MiB of labels
    _traced_peak(tmp_path / "warm.zarr", (32, 128, 128), chunks)  # first-use caches
    peak_small = _traced_peak(tmp_path / "small.zarr", small, chunks)
    peak_large = _traced_peak(tmp_path / "large.zarr", large, chunks)
    large_bytes = math.prod(large) * 4
    chunk_bytes = math.prod(chunks) * 4
    # A handful of chunks per thread, far below the labels, and no growth with their size.
    assert peak_large < large_bytes / 4, (peak_small, peak_large)
    assert peak_large < 40 * chunk_bytes + 2 * 2**20, (peak_small, peak_large)
    assert peak_large < 1.5 * peak_small + 2**20, (peak_small, peak_large)
    image = MultiscaleImage.open(tmp_path / "small.zarr")
    written = image.label("cells")
    for k, expected in enumerate(reference_levels(lazy_labels(small, chunks).compute(), image)):
        np.testing.assert_array_equal(written.level(k)[...], expected)


def test_a_dask_source_is_read_once_block_by_block(tmp_path: Path) -> None:
    computed: list[tuple[int, ...]] = []

    def record(block: np.ndarray) -> np.ndarray:
        computed.append(block.shape)
        return block

    image = make_image(tmp_path / "i.zarr", (32, 32), axes="yx", chunks=(8, 8))
    source = da.ones((32, 32), chunks=(8, 8), dtype=np.uint8).map_blocks(
        record, meta=np.empty((0, 0), np.uint8)
    )
    write_labels(image, "cells", source)
    assert len(computed) == 16 and set(computed) == {(8, 8)}


# -- bad input -------------------------------------------------------------------------------


BAD_CALLS = [
    # labels
    (dict(labels=np.zeros((16, 16), np.float32)), ValueError,
     r"labels\.dtype='float32' must be one of \['uint8', .*'int64'\]: a label image holds "
     r"integer labels"),
    (dict(labels=np.zeros((16, 16), bool)), ValueError, r"labels\.dtype='bool' must be one of"),
    (dict(labels=[[0] * 16] * 16), TypeError, "labels must be a numpy, zarr or dask array, "
                                              "got list"),
    (dict(labels=np.zeros((16, 15), np.uint8)), ValueError,
     r"labels has shape \(16, 15\), but level 0 of the image has shape \(16, 16\) "
     r"\(axes 'yx'\)"),
    (dict(labels=np.zeros((1, 16, 16), np.uint8)), ValueError, "labels has shape"),
    (dict(labels=da.zeros((16, 16), chunks=8, dtype=np.uint8)[da.ones(16, chunks=8) > 0]),
     ValueError, "unknown chunk sizes"),
    # name
    (dict(name=3), TypeError, "name=3 must be a string"),
    (dict(name=""), ValueError, r"name='' must be a folder name"),
    (dict(name="../cells"), ValueError, r"name='\.\./cells' must be a folder name"),
    (dict(name="a/b"), ValueError, r"name='a/b' must be a folder name"),
    (dict(name=".hidden"), ValueError, "not starting with '.'"),
    (dict(name="zarr.json"), ValueError, r"name='zarr\.json' must be a folder name"),
    (dict(name="x" * 256), ValueError, "at most 255 characters"),
    # colors
    (dict(colors=[(1, (0, 0, 0, 0))]), TypeError, "colors=.* must be None or a mapping"),
    (dict(colors={1.5: (0, 0, 0, 0)}), TypeError, r"colors key=1\.5 must be a label value"),
    (dict(colors={True: (0, 0, 0, 0)}), TypeError, r"colors key=True must be a label value"),
    (dict(colors={256: (0, 0, 0, 0)}), ValueError,
     r"colors key=256 must be a label value: an integer of the labels' dtype uint8 "
     r"\(from 0 to 255\)"),
    (dict(colors={1: (0, 0, 0)}), ValueError,
     r"colors\[1\]=\(0, 0, 0\) must be an RGBA color: 4 integers from 0 to 255"),
    (dict(colors={1: (0, 0, 0, 256)}), ValueError, r"colors\[1\]=\(0, 0, 0, 256\) must be"),
    (dict(colors={1: (0, 0, 0, -1)}), ValueError, r"colors\[1\]=\(0, 0, 0, -1\) must be"),
    (dict(colors={1: (0.5, 0, 0, 1)}), TypeError, r"colors\[1\]=\(0\.5, 0, 0, 1\) must be"),
    (dict(colors={1: "red"}), TypeError, r"colors\[1\]='red' must be an RGBA color"),
    # properties
    (dict(properties={1: "nucleus"}), TypeError, r"properties\[1\]='nucleus' must be a mapping"),
    (dict(properties={1: {2: "x"}}), TypeError, r"properties\[1\] has the key 2: property "
                                                r"names are strings"),
    (dict(properties={1: {"label-value": 2}}), ValueError, "has the key 'label-value'"),
    (dict(properties={1: {"area": np.int64(3)}}), ValueError,
     r"properties\[1\]=.* must hold JSON values"),
    (dict(properties={1: {"score": math.nan}}), ValueError, "must hold JSON values"),
    (dict(properties={-1: {"class": "x"}}), ValueError, r"properties key=-1 must be a label"),
    (dict(colors={1: (0, 0, 0, 0)}, properties={2: {"class": "x"}}), ValueError,
     r"colors describe the label values \[1\] but properties describe \[2\]"),
    # overwrite
    (dict(overwrite="yes"), TypeError, "overwrite='yes' must be True or False"),
]


@pytest.mark.parametrize(("changes", "error", "match"), BAD_CALLS)
def test_bad_arguments_are_refused_before_anything_is_written(
    tmp_path: Path, changes: dict[str, Any], error: type[Exception], match: str
) -> None:
    path = tmp_path / "img.zarr"
    make_image(path, (16, 16), axes="yx")
    before = snapshot(tmp_path)
    arguments: dict[str, Any] = dict(image=path, name="cells",
                                     labels=np.zeros((16, 16), np.uint8))
    arguments.update(changes)
    with pytest.raises(error, match=match):
        write_labels(**arguments)
    assert snapshot(tmp_path) == before
    assert not (path / "labels").exists() and leftovers(tmp_path) == []


def test_bad_images_are_refused(tmp_path: Path) -> None:
    labels = np.zeros((16, 16), np.uint8)
    with pytest.raises(FileNotFoundError, match="no OME-Zarr image"):
        write_labels(tmp_path / "missing.zarr", "cells", labels)
    with pytest.raises(TypeError, match="image=42 must be the path of an OME-Zarr image"):
        write_labels(42, "cells", labels)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="is a URL: labels are written inside"):
        write_labels("https://example.org/img.zarr", "cells", labels)
    zarr.open_group(tmp_path / "plain.zarr", mode="w-")
    with pytest.raises(ValueError, match=r"is not an OME-Zarr 0\.4 or 0\.5 multiscale"):
        write_labels(tmp_path / "plain.zarr", "cells", labels)
    image = make_image(tmp_path / "img.zarr", (16, 16), axes="yx")
    cells = write_labels(image, "cells", labels)
    with pytest.raises(ValueError, match="is itself a label image"):
        write_labels(cells, "more", labels)
    remote = MultiscaleImage(image._group, image.metadata, path=None)
    with pytest.raises(ValueError, match="is not on a local disk"):
        write_labels(remote, "cells", labels)


def rewrite_scales(path: Path, scales: list[list[float]]) -> None:
    """Give the levels of the 0.4 image at ``path`` other scales (as another tool might)."""
    group = zarr.open_group(path, mode="r+")
    attributes = group.attrs.asdict()
    for dataset, scale in zip(attributes["multiscales"][0]["datasets"], scales, strict=True):
        dataset["coordinateTransformations"][0]["scale"] = scale
    group.attrs.put(attributes)


def test_images_whose_levels_are_no_whole_factor_apart_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "img.zarr"
    make_image(path, (16, 16), axes="yx", chunks=(8, 8), scale=1.0)
    rewrite_scales(path, [[1.0, 1.0], [1.5, 2.0]])
    with pytest.raises(ValueError, match=r"not whole-factor reductions of each other, so no "
                                         r"label levels can match them: .*\[1\.5, 2\.0\]"):
        write_labels(path, "cells", np.zeros((16, 16), np.uint8))
    rewrite_scales(path, [[1.0, 1.0], [4.0, 2.0]])  # factor 4 would make 4 rows, not 8
    with pytest.raises(ValueError, match=r"level 1 of the image has shape \(8, 8\), but level 0 "
                                         r"\(16, 16\) reduced by \(4, 2\) has \(4, 8\)"):
        write_labels(path, "cells", np.zeros((16, 16), np.uint8))
    assert not (path / "labels").exists()


# -- data safety -----------------------------------------------------------------------------


def test_an_existing_label_is_replaced_only_with_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "img.zarr"
    make_image(path, (16, 16), axes="yx")
    image_before = snapshot(tmp_path, skip="img.zarr/labels")
    write_labels(path, "cells", np.ones((16, 16), np.uint8), colors={1: (1, 1, 1, 1)})
    before = snapshot(tmp_path)
    with pytest.raises(FileExistsError, match=r"label='.*labels/cells' already exists; pass "
                                              r"overwrite=True"):
        write_labels(path, "cells", np.full((16, 16), 2, np.uint8))
    assert snapshot(tmp_path) == before
    replaced = write_labels(path, "cells", np.full((16, 16), 2, np.uint16), overwrite=True)
    assert replaced.dtype == np.uint16 and (replaced.level(0)[...] == 2).all()
    assert replaced.image_label is not None and replaced.image_label.colors == {}
    assert MultiscaleImage.open(path).labels == ("cells",)  # listed once
    assert snapshot(tmp_path, skip="img.zarr/labels") == image_before
    assert leftovers(tmp_path) == []


def test_overwrite_never_replaces_what_is_not_a_label_store(tmp_path: Path) -> None:
    path = tmp_path / "img.zarr"
    make_image(path, (16, 16), axes="yx")
    write_labels(path, "cells", np.ones((16, 16), np.uint8))
    photos = path / "labels" / "photos"
    photos.mkdir()
    (photos / "holiday.jpg").write_bytes(b"\xff\xd8 my photo")
    before = snapshot(tmp_path)
    with pytest.raises(ValueError, match=r"is a folder that is not .*a Zarr store"):
        write_labels(path, "photos", np.ones((16, 16), np.uint8), overwrite=True)
    (path / "labels" / "notes").write_text("keep me")
    with pytest.raises(ValueError, match="is a file; overwrite=True replaces only a Zarr store"):
        write_labels(path, "notes", np.ones((16, 16), np.uint8), overwrite=True)
    before["img.zarr/labels/notes"] = b"keep me"
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("what", ["file", "folder of files", "symlink"])
def test_a_labels_path_that_is_not_a_labels_group_is_left_alone(
    tmp_path: Path, what: str
) -> None:
    path = tmp_path / "img.zarr"
    make_image(path, (16, 16), axes="yx")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    if what == "file":
        (path / "labels").write_text("not a group")
    elif what == "folder of files":
        (path / "labels").mkdir()
        (path / "labels" / "mine.txt").write_text("mine")
    else:
        (path / "labels").symlink_to(elsewhere, target_is_directory=True)
    before = snapshot(tmp_path)
    with pytest.raises(ValueError, match=r"labels' is (a file|a folder that is not a Zarr v2 "
                                         r"group|a symbolic link)"):
        write_labels(path, "cells", np.ones((16, 16), np.uint8), overwrite=True)
    assert snapshot(tmp_path) == before
    assert list(elsewhere.iterdir()) == []


def test_labels_read_from_the_label_they_would_replace_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "img.zarr"
    image = make_image(path, (16, 16), axes="yx")
    cells = write_labels(image, "cells", np.ones((16, 16), np.uint8))
    before = snapshot(tmp_path)
    for source in (cells.to_dask(0) + 1, cells.level(0)):
        with pytest.raises(ValueError, match="is where the source is read from"):
            write_labels(image, "cells", source, overwrite=True)
    assert snapshot(tmp_path) == before
    # Reading the image's own pixels (or another label) into a new label is fine.
    other = write_labels(image, "copy", cells.to_dask(0) * 3)
    assert (other.level(0)[...] == 3).all()


def test_a_second_writer_of_the_same_label_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "img.zarr"
    make_image(path, (16, 16), axes="yx")
    write_labels(path, "other", np.ones((16, 16), np.uint8))
    with WriteLock(path / "labels" / "cells"):  # what a writer of labels/cells holds
        with pytest.raises(DestinationBusyError, match=r"labels/cells' is being written by "
                                                       r"another writer \(process \d+"):
            write_labels(path, "cells", np.ones((16, 16), np.uint8))
    assert MultiscaleImage.open(path).labels == ("other",)
    assert not (path / "labels" / "cells").exists() and leftovers(tmp_path) == []
    write_labels(path, "cells", np.ones((16, 16), np.uint8))  # once it is free


def test_the_list_waits_for_the_labels_lock_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "img.zarr"
    make_image(path, (16, 16), axes="yx", zarr_version=3)
    write_labels(path, "first", np.ones((16, 16), np.uint8))
    lock = WriteLock(path / "labels")
    threading.Timer(0.5, lock.release).start()
    started = time.monotonic()
    write_labels(path, "second", np.ones((16, 16), np.uint8))
    assert time.monotonic() - started >= 0.4
    assert MultiscaleImage.open(path).labels == ("first", "second")


def start_slow_writer(image: Path, name: str, value: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    return subprocess.Popen([sys.executable, _slow_labels.__file__, str(image), name,
                             str(value)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)


@pytest.mark.parametrize("zarr_version", [2, 3])
def test_writers_of_different_labels_at_once_are_all_listed(
    tmp_path: Path, zarr_version: int
) -> None:
    path = tmp_path / "img.zarr"
    make_image(path, _slow_labels.SHAPE, axes="yx", zarr_version=zarr_version,
               chunks=_slow_labels.CHUNKS)
    before = snapshot(tmp_path)
    names = {"a": 1, "b": 2, "c": 3}
    # No labels group yet: all three race to make it, then to list their names.
    processes = {name: start_slow_writer(path, name, value) for name, value in names.items()}
    spans = []
    for name, process in processes.items():
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, (name, err.decode())
        words = out.decode().split()
        assert words[0::2] == ["writing", "done"], words
        spans.append((float(words[1]), float(words[3])))
    # They did write at once: every one started before any had finished.
    assert max(start for start, _ in spans) < min(end for _, end in spans), spans
    image = MultiscaleImage.open(path)
    assert sorted(image.labels) == sorted(names)
    for name, value in names.items():
        label = image.label(name)
        assert (label.level(-1)[...] == value).all()
        assert label.image_label is not None
        assert label.image_label.colors == {value: (value, 0, 0, 255)}
        ome.validate_label_image(label.path)  # type: ignore[arg-type]
    assert snapshot(tmp_path, skip="img.zarr/labels") == before
    assert leftovers(tmp_path) == []


def test_writers_in_threads_of_one_process_are_all_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "img.zarr"
    make_image(path, (32, 32), axes="yx", chunks=(8, 8))
    errors: list[BaseException] = []
    # Widen the read-modify-write of the list: between reading the names and writing the
    # new list, 0.2 s pass. Without the labels group's lock, writers would lose names.
    attributes = ome.labels_group_attributes

    def slow_attributes(*args: Any, **kwargs: Any) -> dict[str, Any]:
        time.sleep(0.2)
        return attributes(*args, **kwargs)

    monkeypatch.setattr(ome, "labels_group_attributes", slow_attributes)
    start = threading.Barrier(3)

    def write(name: str, value: int) -> None:
        def slow(block: np.ndarray) -> np.ndarray:
            time.sleep(0.01)
            return block

        start.wait()
        try:
            write_labels(path, name, da.full((32, 32), value, chunks=8,
                                             dtype=np.uint8).map_blocks(slow))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n, v)) for n, v in (("x", 1), ("y", 2),
                                                                        ("z", 3))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    image = MultiscaleImage.open(path)
    assert sorted(image.labels) == ["x", "y", "z"]
    assert [int(image.label(n).level(-1)[0, 0]) for n in "xyz"] == [1, 2, 3]
    assert dask.config.get("pool", None) is None


def failing_labels(shape: tuple[int, ...], chunks: tuple[int, ...], bad: tuple[int, ...]
                   ) -> da.Array:
    """Labels whose block ``bad`` fails, after the others were written (slowly)."""

    def block(zeros: np.ndarray, block_info: dict[Any, Any] | None = None) -> np.ndarray:
        assert block_info is not None
        if tuple(block_info[None]["chunk-location"]) == bad:
            time.sleep(0.1)
            raise OSError("the disk the labels came from went away")
        time.sleep(0.01)
        return zeros + 4

    return da.zeros(shape, chunks=chunks, dtype=np.uint16).map_blocks(block, dtype=np.uint16)


@pytest.mark.parametrize("zarr_version", [2, 3])
def test_a_source_failing_midway_leaves_the_image_as_it_was(
    tmp_path: Path, zarr_version: int
) -> None:
    path = tmp_path / "img.zarr"
    make_image(path, (32, 32), axes="yx", zarr_version=zarr_version, chunks=(8, 8))
    before = snapshot(tmp_path)
    with pytest.raises(OSError, match="went away"):
        write_labels(path, "cells", failing_labels((32, 32), (8, 8), (3, 3)))
    time.sleep(0.3)  # any straggling task would write now
    # No labels group: the one made for this label is gone again; no lock, no staging.
    assert snapshot(tmp_path) == before
    assert not (path / "labels").exists() and leftovers(tmp_path) == []
    assert MultiscaleImage.open(path).labels == ()


@pytest.mark.parametrize("zarr_version", [2, 3])
def test_a_failed_label_leaves_the_other_labels_and_the_list(
    tmp_path: Path, zarr_version: int
) -> None:
    path = tmp_path / "img.zarr"
    make_image(path, (32, 32), axes="yx", zarr_version=zarr_version, chunks=(8, 8))
    write_labels(path, "nuclei", np.ones((32, 32), np.uint8))
    write_labels(path, "cells", np.full((32, 32), 2, np.uint8))
    before = snapshot(tmp_path)
    with pytest.raises(OSError, match="went away"):
        write_labels(path, "membranes", failing_labels((32, 32), (8, 8), (2, 1)))
    with pytest.raises(OSError, match="went away"):  # replacing: the old one stays
        write_labels(path, "cells", failing_labels((32, 32), (8, 8), (0, 0)), overwrite=True)
    time.sleep(0.3)
    assert snapshot(tmp_path) == before
    assert not (path / "labels" / "membranes").exists() and leftovers(tmp_path) == []
    image = MultiscaleImage.open(path)
    assert image.labels == ("nuclei", "cells")
    assert (image.label("cells").level(0)[...] == 2).all()


def test_a_label_that_cannot_be_listed_is_taken_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "img.zarr"
    make_image(path, (16, 16), axes="yx")
    before = snapshot(tmp_path)

    def full_disk(*args: Any) -> None:
        raise OSError("no space left on device")

    monkeypatch.setattr(ome, "add_label_name", full_disk)
    with pytest.raises(OSError, match="no space left"):
        write_labels(path, "cells", np.ones((16, 16), np.uint8))
    assert snapshot(tmp_path) == before
    assert not (path / "labels").exists() and leftovers(tmp_path) == []


def test_the_image_is_not_touched_but_for_its_labels_group(tmp_path: Path) -> None:
    path = tmp_path / "img.zarr"
    make_image(path, zarr_version=3)
    before = snapshot(tmp_path)
    write_labels(path, "cells", make_labels((12, 45, 38)))
    write_labels(path, "cells", make_labels((12, 45, 38), seed=4), overwrite=True)
    assert snapshot(tmp_path, skip="img.zarr/labels") == before
    assert leftovers(tmp_path) == []


# -- the destination helpers label writing relies on -----------------------------------------


def test_write_lock_waits_when_asked(tmp_path: Path) -> None:
    held = WriteLock(tmp_path / "a.zarr")
    with pytest.raises(DestinationBusyError):
        WriteLock(tmp_path / "a.zarr")  # the default: refused at once
    with pytest.raises(DestinationBusyError):
        WriteLock(tmp_path / "a.zarr", wait=0.1)  # still held after the wait
    threading.Timer(0.2, held.release).start()
    with WriteLock(tmp_path / "a.zarr", wait=10):
        pass
    with pytest.raises(ValueError, match="wait=-1 must be a finite number >= 0"):
        WriteLock(tmp_path / "b.zarr", wait=-1)


def test_withdraw_takes_back_only_a_commit_that_replaced_nothing(tmp_path: Path) -> None:
    with _destination.Destination(tmp_path / "a.zarr") as destination:
        with pytest.raises(ValueError, match="was not committed"):
            destination.withdraw()
        zarr.open_group(destination.staging, mode="w-")
        destination.commit()
        destination.withdraw()
    assert os.listdir(tmp_path) == []
    zarr.open_group(tmp_path / "b.zarr", mode="w-")
    with _destination.Destination(tmp_path / "b.zarr", overwrite=True) as destination:
        zarr.open_group(destination.staging, mode="w-", attributes={"new": True})
        destination.commit()
        with pytest.raises(ValueError, match="replaced a store"):
            destination.withdraw()
    assert zarr.open_group(tmp_path / "b.zarr", mode="r").attrs["new"] is True


def test_remove_empty_group_removes_only_an_empty_group(tmp_path: Path) -> None:
    group = zarr.open_group(tmp_path / "g.zarr", mode="w-", zarr_format=2)
    group.create_group("member")
    (tmp_path / "g.zarr" / "member" / "notes.txt").write_text("mine")
    assert not _destination.remove_empty_group(tmp_path / "g.zarr")
    assert not _destination.remove_empty_group(tmp_path / "g.zarr" / "member")
    assert not _destination.remove_empty_group(tmp_path / "missing")
    (tmp_path / "g.zarr" / "member" / "notes.txt").unlink()
    assert _destination.remove_empty_group(tmp_path / "g.zarr" / "member")
    assert sorted(os.listdir(tmp_path / "g.zarr")) == [".zattrs", ".zgroup"]
