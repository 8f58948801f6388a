"""Tests of data_helpers.convert (TIFF in and out) and of the file destinations it uses."""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import numpy as np
import pytest
import tifffile
import zarr

from data_helpers import _destination, convert, ome
from data_helpers._destination import DestinationBusyError, FileDestination
from data_helpers.convert import convert_image, tiff_to_ome_zarr, write_tiff
from data_helpers.downsample import downsample
from data_helpers.labels import write_labels
from data_helpers.multiscale import MultiscaleImage
from data_helpers.pyramid import build_pyramid
from tests import _convert_child, _ome_zarr_py
from tests.test_multiscale import other_tool_image

SIGNATURES = (b"II*\x00", b"II+\x00")


def file_names(folder: Path) -> list[str]:
    """Everything in ``folder``, hidden files (staging files, locks) included."""
    return sorted(p.name for p in folder.iterdir())


# -- file destinations (_destination.FileDestination) ------------------------------------


def test_a_file_destination_appears_whole_and_leaves_nothing_else(tmp_path: Path) -> None:
    with FileDestination(tmp_path / "a.tif", signatures=SIGNATURES) as destination:
        destination.staging.write_bytes(b"II*\x00 new")
        assert destination.staging.parent == tmp_path
        assert destination.staging.name.startswith(".a.tif.")
        assert not (tmp_path / "a.tif").exists()  # nothing at the path before the commit
        destination.commit()
    assert file_names(tmp_path) == ["a.tif"]
    assert (tmp_path / "a.tif").read_bytes() == b"II*\x00 new"


def test_a_failed_write_leaves_the_old_file_and_no_partial_one(tmp_path: Path) -> None:
    old = tmp_path / "a.tif"
    old.write_bytes(b"II*\x00 old")
    with pytest.raises(RuntimeError, match="disk full"):
        with FileDestination(old, overwrite=True, signatures=SIGNATURES) as destination:
            destination.staging.write_bytes(b"II*\x00 half")
            raise RuntimeError("disk full")
    assert file_names(tmp_path) == ["a.tif"]
    assert old.read_bytes() == b"II*\x00 old"


def test_overwrite_replaces_only_a_file_of_the_format(tmp_path: Path) -> None:
    tiff, notes = tmp_path / "a.tif", tmp_path / "notes.tif"
    tiff.write_bytes(b"II*\x00 old")
    notes.write_bytes(b"my notes, named .tif by mistake")
    with pytest.raises(FileExistsError, match=r"path='.*a\.tif' already exists; pass overwrite"):
        FileDestination(tiff, signatures=SIGNATURES, what="TIFF file")
    with pytest.raises(ValueError, match=r"notes\.tif' is not a TIFF file; overwrite=True "
                                         r"replaces only a TIFF file"):
        FileDestination(notes, overwrite=True, signatures=SIGNATURES, what="TIFF file")
    with FileDestination(tiff, overwrite=True, signatures=SIGNATURES) as destination:
        destination.staging.write_bytes(b"II+\x00 new")
        destination.commit()
    assert tiff.read_bytes() == b"II+\x00 new"
    assert notes.read_bytes() == b"my notes, named .tif by mistake"
    assert file_names(tmp_path) == ["a.tif", "notes.tif"]


def test_a_folder_a_symlink_and_a_missing_parent_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "photos.tif"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(b"a cat")
    target = tmp_path / "target.tif"
    target.write_bytes(b"II*\x00 target")
    link = tmp_path / "link.tif"
    link.symlink_to(target)
    for overwrite in (False, True):
        with pytest.raises(ValueError, match=r"photos\.tif' is a folder; give the path of a"):
            FileDestination(folder, overwrite=overwrite, signatures=SIGNATURES)
        with pytest.raises(ValueError, match=r"link\.tif' is a symbolic link"):
            FileDestination(link, overwrite=overwrite, signatures=SIGNATURES)
    with pytest.raises(FileNotFoundError, match=r"the parent folder .* does not exist"):
        FileDestination(tmp_path / "typo" / "a.tif", signatures=SIGNATURES)
    assert (folder / "cat.jpg").read_bytes() == b"a cat"
    assert target.read_bytes() == b"II*\x00 target"
    assert file_names(tmp_path) == ["link.tif", "photos.tif", "target.tif"]


def test_a_file_inside_the_store_being_read_is_refused(tmp_path: Path) -> None:
    source = zarr.create_array(tmp_path / "source.zarr", shape=(4, 4), dtype="uint8")
    with pytest.raises(ValueError, match="is where the source is read from"):
        FileDestination(tmp_path / "source.zarr" / "a.tif", source=source,
                        signatures=SIGNATURES)
    assert not (tmp_path / "source.zarr" / "a.tif").exists()


def test_two_writers_of_one_file_the_second_is_refused(tmp_path: Path) -> None:
    with FileDestination(tmp_path / "a.tif", signatures=SIGNATURES):
        with pytest.raises(DestinationBusyError, match="being written by another writer"):
            FileDestination(tmp_path / "a.tif", signatures=SIGNATURES)
    assert file_names(tmp_path) == []


def test_stale_staging_files_go_and_nothing_else(tmp_path: Path) -> None:
    """A killed writer's staging file is removed by the next writer; look-alikes stay."""
    stale = tmp_path / f".a.tif.{'0' * 32}.partial"
    stale.write_bytes(b"II*\x00 half of a killed write")
    keep = [tmp_path / ".a.tif.notes.partial", tmp_path / f".b.tif.{'0' * 32}.partial"]
    for path in keep:
        path.write_bytes(b"not ours")
    with FileDestination(tmp_path / "a.tif", signatures=SIGNATURES) as destination:
        destination.staging.write_bytes(b"II*\x00")
        destination.commit()
    assert not stale.exists()
    assert all(path.read_bytes() == b"not ours" for path in keep)


def test_commit_refuses_a_folder_made_in_the_meantime(tmp_path: Path) -> None:
    with FileDestination(tmp_path / "a.tif", signatures=SIGNATURES) as destination:
        destination.staging.write_bytes(b"II*\x00")
        (tmp_path / "a.tif").mkdir()
        with pytest.raises(ValueError, match="is no longer a file; nothing was replaced"):
            destination.commit()
    assert (tmp_path / "a.tif").is_dir()
    assert file_names(tmp_path) == ["a.tif"]


def test_check_file_destination_writes_nothing(tmp_path: Path) -> None:
    path = _destination.check_file_destination(tmp_path / "new.tif")
    assert path == tmp_path / "new.tif" and path.is_absolute()
    assert os.listdir(tmp_path) == []
    with pytest.raises(TypeError, match="overwrite='yes' must be True or False"):
        _destination.check_file_destination(tmp_path / "new.tif", overwrite="yes")
    assert not _destination.has_signature(tmp_path, SIGNATURES)
    assert not _destination.has_signature(tmp_path / "missing", SIGNATURES)


# -- write_tiff: what reads back --------------------------------------------------------


def read_tiff(path: Path) -> tuple[np.ndarray, str, tifffile.TiffFile]:
    with tifffile.TiffFile(path) as tif:
        return tif.series[0].asarray(), tif.series[0].axes, tif


def as_type(data: np.ndarray, kind: str) -> Any:
    if kind == "zarr":
        return zarr.array(data, chunks=tuple(max(1, n // 3) for n in data.shape))
    if kind == "dask":
        return da.from_array(data, chunks=tuple(max(1, n // 2 - 1) for n in data.shape))
    return data


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32", "int16"])
@pytest.mark.parametrize("kind", ["numpy", "zarr", "dask"])
@pytest.mark.parametrize("shape", [(333, 517), (3, 100, 161)])
def test_write_tiff_reads_back_exactly(tmp_path: Path, dtype: str, kind: str,
                                       shape: tuple[int, ...]) -> None:
    """Odd shapes, no multiple of the tile: the padded edge tiles are cropped on reading."""
    rng = np.random.default_rng(0)
    data = (rng.random(shape) * 3000 - (1000 if dtype != "uint8" else 0)).astype(dtype)
    if dtype == "uint8":
        data = (rng.random(shape) * 255).astype(dtype)
    if dtype == "float32":
        data.flat[::97] = np.nan
    written = write_tiff(as_type(data, kind), tmp_path / "a.ome.tif", tile=(64, 128))
    assert written == tmp_path / "a.ome.tif" and written.is_absolute()
    with tifffile.TiffFile(written) as tif:
        assert tif.is_bigtiff and tif.is_ome
        assert len(tif.pages) == (shape[0] if len(shape) == 3 else 1)
        assert all(page.is_tiled and page.tile == (64, 128) for page in tif.pages)
        assert tif.pages[0].compression == tifffile.COMPRESSION.ADOBE_DEFLATE
        back = tif.series[0].asarray()
        assert tif.series[0].axes == ("ZYX" if len(shape) == 3 else "YX")
    assert back.dtype == data.dtype
    np.testing.assert_array_equal(back, data)  # NaN where NaN, bit for bit elsewhere
    assert file_names(tmp_path) == ["a.ome.tif"]


def test_write_tiff_uncompressed_and_5d(tmp_path: Path) -> None:
    data = np.random.default_rng(1).integers(0, 255, (2, 3, 4, 40, 70), dtype=np.uint8)
    written = write_tiff(data, tmp_path / "a.tif", tile=(16, 32), compression=None)
    with tifffile.TiffFile(written) as tif:
        assert tif.pages[0].compression == tifffile.COMPRESSION.NONE
        assert tif.series[0].axes == "TCZYX" and len(tif.pages) == 24
        np.testing.assert_array_equal(tif.series[0].asarray(), data)


@pytest.mark.parametrize("budget", [10**9, 40_000, 3_000],
                         ids=["whole pages", "bands of tile rows", "row segments"])
def test_write_tiff_reads_in_bounded_regions_in_file_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budget: int
) -> None:
    """Every way of cutting the source (pages, bands, row segments) writes the same file.

    The dask source is computed into one reused buffer: with zlib, tifffile holds tiles
    back to compress them in batches, so a tile that was a view of the buffer would
    come out with the next region's pixels. This catches that.
    """
    monkeypatch.setattr(convert, "_BAND_BYTES", budget)
    data = np.random.default_rng(2).random((5, 70, 150)).astype(np.float32)
    source = da.from_array(data, chunks=(2, 40, 60))
    reads: list[tuple[slice, ...]] = []
    original = convert._regions

    def recording(*args: Any) -> Any:
        for region in original(*args):
            reads.append(region)
            yield region

    monkeypatch.setattr(convert, "_regions", recording)
    monkeypatch.setattr(convert, "_ENCODE_BUFFER", 16 * 32 * 4 * 5)  # batches of 5 tiles
    write_tiff(source, tmp_path / "a.tif", tile=(16, 32))
    np.testing.assert_array_equal(read_tiff(tmp_path / "a.tif")[0], data)
    largest = max(math.prod(len(range(*s.indices(n))) for s, n in zip(r, data.shape,
                                                                         strict=True))
                  for r in reads) * data.itemsize
    assert largest <= max(budget, 16 * 32 * data.itemsize)
    assert len(reads) > 1


@pytest.mark.parametrize("shape,chunks,budget", [
    ((3, 2, 100, 90), (1, 2, 30, 30), 10**6),  # whole pages, two at a time
    ((3, 100, 90), (1, 50, 30), 10**6),  # bands as tall as a chunk
    ((100, 90), (100, 90), 5_000),  # bands of whole tile rows within the budget
    ((100, 90), (7, 7), 500),  # row segments
])
def test_regions_cover_every_tile_once_in_file_order(shape, chunks, budget) -> None:
    tile = (16, 32)
    order = []
    for region in convert._regions(shape, chunks, tile, 2, budget):
        ranges = [range(*s.indices(n)) for s, n in zip(region, shape, strict=True)]
        for page in itertools.product(*ranges[:-2]):
            for top in ranges[-2][::tile[0]]:
                for left in ranges[-1][::tile[1]]:
                    order.append((*page, top, left))
    pages = itertools.product(*(range(n) for n in shape[:-2]))
    expected = [(*page, top, left) for page in pages
                for top in range(0, shape[-2], tile[0]) for left in range(0, shape[-1], tile[1])]
    assert order == expected


# -- tiff_to_ome_zarr --------------------------------------------------------------------


@pytest.mark.parametrize("axes,shape,scale,unit", [
    ("yx", (300, 517), {"y": 0.25, "x": 0.5}, "micrometer"),
    ("zyx", (7, 90, 130), {"z": 2.0, "y": 0.1, "x": 0.1}, "micrometer"),
    ("cyx", (3, 90, 130), {"y": 65.0, "x": 65.0}, "nanometer"),
    ("tczyx", (2, 3, 4, 40, 50), {"t": 1.5, "z": 3.0, "y": 0.2, "x": 0.2}, "nanometer"),
])
def test_write_tiff_then_tiff_to_ome_zarr_round_trips(tmp_path: Path, axes, shape, scale,
                                                       unit) -> None:
    data = np.random.default_rng(3).integers(0, 60000, shape, dtype=np.uint16)
    tiff = write_tiff(data, tmp_path / "a.ome.tif", tile=(32, 64), axes=axes, scale=scale,
                      unit=unit)
    image = tiff_to_ome_zarr(tiff, tmp_path / "a.zarr", unit=unit, zarr_version=3)
    assert image.axes == tuple(axes)
    assert image.scale(0) == tuple(scale.get(a, 1.0) for a in axes)  # exactly
    np.testing.assert_array_equal(image.level(0)[...], data)
    ome.validate(tmp_path / "a.zarr")
    # In another unit, converted exactly: 65 nm is 0.065 micrometer.
    again = tiff_to_ome_zarr(tiff, tmp_path / "b.zarr")
    factor = 1000 if unit == "nanometer" else 1
    assert again.scale(0) == tuple(
        scale[a] / factor if a in "zyx" and a in scale else scale.get(a, 1.0) for a in axes)


def test_a_tiled_tiff_is_read_through_its_tiles_into_every_level(tmp_path: Path) -> None:
    data = np.random.default_rng(4).integers(0, 4000, (600, 700), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "a.tif", data, tile=(128, 128), compression="zlib",
                     photometric="minisblack")
    image = tiff_to_ome_zarr(tmp_path / "a.tif", tmp_path / "a.zarr", chunks=(128, 128),
                             method="max")
    reference = build_pyramid(data, tmp_path / "ref.zarr", axes="yx", chunks=(128, 128),
                              method="max")
    assert image.shapes == reference.shapes and image.levels == 4
    for level in range(image.levels):
        np.testing.assert_array_equal(image.level(level)[...], reference.level(level)[...])
    assert image.scale(0) == (1.0, 1.0)  # tifffile writes no unit: no physical size


def test_rgb_samples_become_channels(tmp_path: Path) -> None:
    rgb = np.random.default_rng(5).integers(0, 255, (150, 260, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "rgb.tif", rgb, photometric="rgb", tile=(64, 64))
    image = tiff_to_ome_zarr(tmp_path / "rgb.tif", tmp_path / "rgb.zarr")
    assert image.axes == ("c", "y", "x") and image.shapes[0] == (3, 150, 260)
    np.testing.assert_array_equal(image.level(0)[...], rgb.transpose(2, 0, 1))
    # ... and an explicit axes= says the same thing in the TIFF's order.
    again = tiff_to_ome_zarr(tmp_path / "rgb.tif", tmp_path / "again.zarr", axes="yxc")
    np.testing.assert_array_equal(again.level(0)[...], rgb.transpose(2, 0, 1))


def test_imagej_hyperstack_axes_are_reordered_and_sized(tmp_path: Path) -> None:
    """ImageJ stores z before c (TZCYXS): the result is in OME order, czyx."""
    data = np.random.default_rng(6).integers(0, 4000, (4, 2, 50, 60), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "ij.tif", data, imagej=True, resolution=(4.0, 2.0),
                     metadata={"axes": "ZCYX", "spacing": 1.5, "unit": "micron"})
    image = tiff_to_ome_zarr(tmp_path / "ij.tif", tmp_path / "ij.zarr")
    assert image.axes == ("c", "z", "y", "x")
    assert image.scale(0) == (1.0, 1.5, 0.5, 0.25)
    np.testing.assert_array_equal(image.level(0)[...], data.transpose(1, 0, 2, 3))


@pytest.mark.parametrize("per_unit,unit,micrometers", [
    (2000, "CENTIMETER", 5.0), (2000, "INCH", 12.7), (0.2, "MICROMETER", 5.0),
    (3, "NONE", 1.0),  # no unit: no physical size
])
def test_resolution_tags_give_the_pixel_size(tmp_path: Path, per_unit, unit, micrometers) -> None:
    tifffile.imwrite(tmp_path / "a.tif", np.zeros((32, 32), np.uint8), tile=(16, 16),
                     resolution=(per_unit, per_unit), resolutionunit=unit,
                     photometric="minisblack")
    image = tiff_to_ome_zarr(tmp_path / "a.tif", tmp_path / "a.zarr")
    assert image.scale(0) == (micrometers, micrometers)


def test_ome_xml_sizes_in_any_unit(tmp_path: Path) -> None:
    data = np.zeros((3, 32, 48), np.uint16)
    tifffile.imwrite(tmp_path / "a.ome.tif", data, ome=True, photometric="minisblack",
                     metadata={"axes": "ZYX", "PhysicalSizeX": 100, "PhysicalSizeXUnit": "nm",
                               "PhysicalSizeY": "0.1", "PhysicalSizeZ": 0.5,
                               "PhysicalSizeZUnit": "mm"})
    image = tiff_to_ome_zarr(tmp_path / "a.ome.tif", tmp_path / "a.zarr")
    assert image.scale(0) == (500.0, 0.1, 0.1)
    nm = tiff_to_ome_zarr(tmp_path / "a.ome.tif", tmp_path / "nm.zarr", unit="nanometer",
                          scale={"z": 7.0})  # a mapping overrides only what it names
    assert nm.scale(0) == (7.0, 100.0, 100.0)
    ones = tiff_to_ome_zarr(tmp_path / "a.ome.tif", tmp_path / "ones.zarr", scale=1)
    assert ones.scale(0) == (1.0, 1.0, 1.0)  # a number replaces them all


def test_a_pyramidal_tiff_gives_its_full_resolution_only(tmp_path: Path) -> None:
    base = np.random.default_rng(7).integers(0, 4000, (256, 384), dtype=np.uint16)
    with tifffile.TiffWriter(tmp_path / "pyr.tif", bigtiff=True) as writer:
        writer.write(base, subifds=2, tile=(64, 64), photometric="minisblack")
        for step in (2, 4):
            writer.write(base[::step, ::step], subfiletype=1, tile=(64, 64),
                         photometric="minisblack")
    with tifffile.TiffFile(tmp_path / "pyr.tif") as tif:
        assert len(tif.series[0].levels) == 3
    image = tiff_to_ome_zarr(tmp_path / "pyr.tif", tmp_path / "pyr.zarr", chunks=(64, 64))
    assert image.shapes == [(256, 384), (128, 192), (64, 96), (32, 48)]  # built anew
    np.testing.assert_array_equal(image.level(0)[...], base)
    np.testing.assert_array_equal(image.level(1)[...], downsample(base, 2, "mean"))


@pytest.mark.parametrize("byteorder", ["<", ">"])
def test_a_contiguous_uncompressed_tiff_is_read_block_by_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, byteorder: str
) -> None:
    """One strip per page (tifffile's and ImageJ's default) is read straight from the file."""
    data = np.random.default_rng(8).integers(0, 60000, (5, 300, 200), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "a.tif", data, photometric="minisblack", byteorder=byteorder,
                     metadata={"axes": "ZYX"})
    read: list[tuple[int, ...]] = []
    original = convert._read_contiguous

    def recording(*args: Any, block_info: Any = None) -> np.ndarray:
        block = original(*args, block_info=block_info)
        read.append(block.shape)
        return block

    monkeypatch.setattr(convert, "_read_contiguous", recording)
    image = tiff_to_ome_zarr(tmp_path / "a.tif", tmp_path / "a.zarr", chunks=(2, 64, 64))
    np.testing.assert_array_equal(image.level(0)[...], data)
    assert image.dtype == np.dtype("uint16")  # native order
    assert read and max(math.prod(shape) for shape in read) < data.size


def test_read_contiguous_reads_any_block(tmp_path: Path) -> None:
    data = np.arange(4 * 6 * 7 * 3, dtype=">i4").reshape(4, 6, 7, 3)
    offset = 10
    (tmp_path / "raw").write_bytes(b"x" * offset + data.tobytes())
    for region in [(slice(1, 3), slice(2, 5), slice(3, 7), slice(0, 3)),
                   (slice(0, 4), slice(0, 6), slice(0, 7), slice(1, 2)),
                   (slice(2, 3), slice(0, 6), slice(0, 7), slice(0, 3))]:
        info = {None: {"array-location": [(s.start, s.stop) for s in region]}}
        block = convert._read_contiguous(str(tmp_path / "raw"), offset, data.shape,
                                         data.dtype.str, block_info=info)
        assert block.dtype == np.dtype("int32")
        np.testing.assert_array_equal(block, data[region])


def test_axes_name_a_plain_stack_and_the_scheduler_stays_local(tmp_path: Path) -> None:
    """A multi-page TIFF without metadata is 'IYX'; a processes scheduler would need to
    pickle the open TIFF: the conversion runs in threads whatever dask is set to."""
    data = np.random.default_rng(9).integers(0, 255, (6, 40, 50), dtype=np.uint8)
    with tifffile.TiffWriter(tmp_path / "plain.tif") as writer:
        for plane in data:
            writer.write(plane, photometric="minisblack", tile=(16, 16), metadata=None)
    with dask.config.set(scheduler="processes"):
        image = tiff_to_ome_zarr(tmp_path / "plain.tif", tmp_path / "t.zarr", axes="tyx",
                                 chunks=(1, 16, 16), zarr_version=3, shard_chunks=2)
    assert image.axes == ("t", "y", "x") and image.version == "0.5"
    np.testing.assert_array_equal(image.level(0)[...], data)


def test_a_strip_tiff_is_read_through_its_strips(tmp_path: Path) -> None:
    data = np.random.default_rng(10).integers(0, 4000, (200, 300), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "a.tif", data, rowsperstrip=16, compression="zlib",
                     photometric="minisblack")
    image = tiff_to_ome_zarr(tmp_path / "a.tif", tmp_path / "a.zarr")
    np.testing.assert_array_equal(image.level(0)[...], data)


# -- bad input: each error names the argument, and nothing is written -------------------


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    """A plain multi-page TIFF, axes 'QYX' to tifffile (a shaped series without axes)."""
    tifffile.imwrite(tmp_path / "stack.tif", np.zeros((3, 32, 48), np.uint8),
                     photometric="minisblack", tile=(16, 16))
    return tmp_path / "stack.tif"


@pytest.mark.parametrize("kwargs,error,match", [
    ({}, ValueError, r"path='.*stack\.tif': the TIFF's image has axes 'QYX' \(shape "
                     r"\(3, 32, 48\)\), and 'Q' \(other\) has no OME-Zarr meaning; name every "
                     r"axis with axes="),
    ({"axes": "yx"}, ValueError, r"axes='yx' names 2 axes but the TIFF's image has axes 'QYX'"),
    ({"axes": "zyq"}, ValueError, r"axes='zyq' must use each of 't', 'c', 'z', 'y', 'x'"),
    ({"axes": "zzx"}, ValueError, r"axes='zzx' must use each of"),
    ({"axes": "tcx"}, ValueError, r"axes='tcx' gives OME-Zarr axes 'tcx', which are not valid"),
    ({"axes": ["z", "y", "x"]}, TypeError, r"axes=\['z', 'y', 'x'\] must be None or a string"),
    ({"axes": "zyx", "scale": -1.0}, ValueError, r"scale=-1.0 must be a finite number > 0"),
    ({"axes": "zyx", "scale": {"q": 2.0}}, ValueError, r"scale=\{'q': 2.0\} names axes not in"),
    ({"axes": "zyx", "scale": (1.0, 2.0)}, ValueError, r"scale=\(1.0, 2.0\) has 2 entries"),
    ({"axes": "zyx", "scale": "big"}, TypeError, r"scale='big' must be a finite number > 0"),
    ({"axes": "zyx", "unit": 5}, TypeError, r"unit=5 must be a string"),
    ({"axes": "zyx", "levels": 3}, TypeError, r"unknown pyramid options \['levels'\]; "
                                              r"accepted: \['channels', 'chunks', "),
    ({"axes": "zyx", "method": "median"}, ValueError, r"method='median' must be one of"),
    ({"axes": "zyx", "overwrite": "yes"}, TypeError, r"overwrite='yes' must be True or False"),
])
def test_tiff_to_ome_zarr_refuses_bad_settings(stack: Path, kwargs, error, match) -> None:
    before = file_names(stack.parent)
    with pytest.raises(error, match=match):
        tiff_to_ome_zarr(stack, stack.parent / "out.zarr", **kwargs)
    assert file_names(stack.parent) == before


def test_tiff_to_ome_zarr_refuses_bad_paths(tmp_path: Path) -> None:
    (tmp_path / "notes.tif").write_bytes(b"these are my notes")
    (tmp_path / "folder.tif").mkdir()
    with pytest.raises(FileNotFoundError, match=r"path='.*missing\.tif' does not exist"):
        tiff_to_ome_zarr(tmp_path / "missing.tif", tmp_path / "a.zarr")
    with pytest.raises(IsADirectoryError, match=r"path='.*folder\.tif' is a folder"):
        tiff_to_ome_zarr(tmp_path / "folder.tif", tmp_path / "a.zarr")
    with pytest.raises(ValueError, match=r"path='.*notes\.tif' is not a TIFF file"):
        tiff_to_ome_zarr(tmp_path / "notes.tif", tmp_path / "a.zarr")
    with pytest.raises(TypeError, match=r"path=3 must be a path"):
        tiff_to_ome_zarr(3, tmp_path / "a.zarr")  # type: ignore[arg-type]
    assert file_names(tmp_path) == ["folder.tif", "notes.tif"]
    assert (tmp_path / "notes.tif").read_bytes() == b"these are my notes"


def test_tiff_to_ome_zarr_never_writes_over_its_tiff(stack: Path) -> None:
    folder = stack.parent
    with pytest.raises(ValueError, match=r"dest='.*stack\.tif' is where the source is read"):
        tiff_to_ome_zarr(stack, stack, axes="zyx", overwrite=True)
    inner = folder / "images.zarr"
    inner.mkdir()
    os.replace(stack, inner / "stack.tif")
    with pytest.raises(ValueError, match=r"dest='.*images\.zarr' is where the source is read"):
        tiff_to_ome_zarr(inner / "stack.tif", inner, axes="zyx", overwrite=True)
    with pytest.raises(ValueError, match=r"dest='.*images\.zarr' is where the source is read"):
        tiff_to_ome_zarr(inner / "stack.tif", inner, axes="zyx")
    assert file_names(inner) == ["stack.tif"]
    other = build_pyramid(np.zeros((8, 8), np.uint8), folder / "other.zarr", axes="yx")
    with pytest.raises(FileExistsError, match=r"dest='.*other\.zarr' already exists"):
        tiff_to_ome_zarr(inner / "stack.tif", other.path, axes="zyx")
    assert other.shapes == [(8, 8)]


def test_an_undecodable_tiff_is_refused_before_dest_exists(tmp_path: Path) -> None:
    """A codec tifffile lacks (JPEG needs imagecodecs) fails on the first tile, up front."""
    tifffile.imwrite(tmp_path / "a.tif", np.zeros((64, 64), np.uint8), tile=(16, 16),
                     photometric="minisblack")
    with tifffile.TiffFile(tmp_path / "a.tif", mode="r+b") as tif:
        tif.pages[0].tags["Compression"].overwrite(tifffile.COMPRESSION.JPEG)
    with pytest.raises(ValueError, match=r"path='.*a\.tif' cannot be decoded by tifffile"):
        tiff_to_ome_zarr(tmp_path / "a.tif", tmp_path / "a.zarr")
    assert file_names(tmp_path) == ["a.tif"]


@pytest.mark.parametrize("call,error,match", [
    (lambda p: write_tiff([[1, 2]], p), TypeError,  # type: ignore[arg-type]
     r"array=list must be a numpy, zarr or dask array"),
    (lambda p: write_tiff(np.zeros((4, 4), bool), p), ValueError,
     r"array has dtype bool; write_tiff writes \['uint8'"),
    (lambda p: write_tiff(np.zeros(16, np.uint8), p), ValueError,
     r"array has shape \(16,\); write_tiff writes 2 to 5 axes"),
    (lambda p: write_tiff(np.zeros((4, 0), np.uint8), p), ValueError, r"none empty"),
    (lambda p: write_tiff(np.zeros((4, 4), np.uint8), p, tile=(100, 100)), ValueError,
     r"tile=\(100, 100\) must be 2 integers >= 16, multiples of 16"),
    (lambda p: write_tiff(np.zeros((4, 4), np.uint8), p, tile=256), TypeError, r"tile=256 must"),
    (lambda p: write_tiff(np.zeros((4, 4), np.uint8), p, compression="lzw"), ValueError,
     r"compression='lzw' must be one of \[None, 'zlib'\]"),
    (lambda p: write_tiff(np.zeros((4, 4), np.uint8), p, compression=8), TypeError,
     r"compression=8 must be one of"),
    (lambda p: write_tiff(np.zeros((2, 4, 4), np.uint8), p, axes="yx"), ValueError,
     r"axes='yx' must name the 3 axes of array in OME order, ending in 'yx'"),
    (lambda p: write_tiff(np.zeros((2, 4, 4), np.uint8), p, axes="zxy"), ValueError,
     r"axes='zxy' must follow the OME order"),
    (lambda p: write_tiff(np.zeros((2, 4, 4), np.uint8), p, axes="cyx", scale=0.5),
     ValueError, r"scale=0.5 gives the channel axis c the size 0.5"),
    (lambda p: write_tiff(np.zeros((4, 4), np.uint8), p, scale=(0.5, 0.0)), ValueError,
     r"scale\[1\]=0.0 must be a finite number > 0"),
    (lambda p: write_tiff(np.zeros((4, 4), np.uint8), p, unit="parsec"), ValueError,
     r"unit='parsec' must be one of \['angstrom'"),
    (lambda p: write_tiff(np.zeros((4, 4), np.uint8), p, overwrite=1), TypeError,
     r"overwrite=1 must be True or False"),
])
def test_write_tiff_refuses_bad_settings(tmp_path: Path, call, error, match) -> None:
    with pytest.raises(error, match=match):
        call(tmp_path / "a.tif")
    assert file_names(tmp_path) == []


def test_write_tiff_refuses_a_whole_multiscale_image(tmp_path: Path) -> None:
    image = build_pyramid(np.zeros((32, 32), np.uint8), tmp_path / "a.zarr", axes="yx")
    with pytest.raises(TypeError, match=r"is a whole multiscale image; pass one level of it"):
        write_tiff(image, tmp_path / "a.tif")  # type: ignore[arg-type]


# -- write_tiff's destination --------------------------------------------------------------


def test_write_tiff_replaces_only_a_tiff_and_only_when_asked(tmp_path: Path) -> None:
    first = write_tiff(np.full((40, 40), 1, np.uint8), tmp_path / "a.tif")
    before = first.read_bytes()
    with pytest.raises(FileExistsError, match=r"path='.*a\.tif' already exists; pass "
                                              r"overwrite=True"):
        write_tiff(np.full((40, 40), 2, np.uint8), first)
    assert first.read_bytes() == before
    write_tiff(np.full((40, 40), 3, np.uint8), first, overwrite=True)
    assert (read_tiff(first)[0] == 3).all()
    (tmp_path / "notes.tif").write_bytes(b"my notes")
    with pytest.raises(ValueError, match=r"notes\.tif' is not a TIFF file; overwrite=True "
                                         r"replaces only a TIFF file"):
        write_tiff(np.zeros((40, 40), np.uint8), tmp_path / "notes.tif", overwrite=True)
    assert (tmp_path / "notes.tif").read_bytes() == b"my notes"
    assert file_names(tmp_path) == ["a.tif", "notes.tif"]


def test_write_tiff_refuses_a_folder_and_a_missing_parent(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"a cat")
    for overwrite in (False, True):
        with pytest.raises(ValueError, match=r"path='.*photos' is a folder; give the path of a "
                                             r"TIFF file"):
            write_tiff(np.zeros((4, 4), np.uint8), tmp_path / "photos", overwrite=overwrite)
    with pytest.raises(FileNotFoundError, match=r"the parent folder '.*typo' does not exist"):
        write_tiff(np.zeros((4, 4), np.uint8), tmp_path / "typo" / "a.tif")
    assert file_names(tmp_path) == ["photos"]
    assert file_names(tmp_path / "photos") == ["cat.jpg"]


def test_write_tiff_into_the_store_it_reads_is_refused(tmp_path: Path) -> None:
    image = build_pyramid(np.zeros((32, 32), np.uint8), tmp_path / "a.zarr", axes="yx")
    with pytest.raises(ValueError, match=r"is where the source is read from"):
        write_tiff(image.to_dask(0), tmp_path / "a.zarr" / "0" / "x.tif")


def test_a_failed_write_tiff_leaves_the_old_file_and_no_partial_one(tmp_path: Path) -> None:
    old = write_tiff(np.full((300, 300), 7, np.uint16), tmp_path / "a.tif")
    before = old.read_bytes()

    def block(x: np.ndarray, block_info: Any = None) -> np.ndarray:
        if block_info[None]["chunk-location"] == (2, 1):
            raise OSError("the network drive went away")
        return x

    failing = da.ones((300, 300), dtype=np.uint16, chunks=(64, 100)).map_blocks(
        block, dtype=np.uint16)
    for overwrite in (True, False):
        path = old if overwrite else tmp_path / "new.tif"
        with pytest.raises(OSError, match="network drive went away"):
            write_tiff(failing, path, tile=(32, 32), overwrite=overwrite)
    assert file_names(tmp_path) == ["a.tif"]  # no staging file, no lock, no new.tif
    assert old.read_bytes() == before


# -- memory, measured in fresh processes ----------------------------------------------------

#: A uint16 image of 512 MiB: the TIFF written from it, uncompressed, is as large.
BIG = (16384, 16384)


def peak_rss(*args: str) -> int:
    """The peak resident memory, in bytes, of ``_convert_child.py ARGS`` in a new process.

    Measured by the kernel (``os.wait4``) through the child's small launcher, so that
    the peak of this pytest process does not leak into it (see `_convert_child`).
    """
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH"))
                                         if p)}
    result = subprocess.run([sys.executable, _convert_child.__file__, "measure", *args],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    return int(result.stdout.split()[-1])


def check_pixels(array: Any, shape: tuple[int, int]) -> None:
    """Spot checks of a converted image against the child's pixel formula."""
    for y0, x0 in [(0, 0), (shape[0] // 3, shape[1] // 2), (shape[0] - 70, shape[1] - 90)]:
        np.testing.assert_array_equal(array[y0:y0 + 70, x0:x0 + 90],
                                      _convert_child.pixels(y0, y0 + 70, x0, x0 + 90))


def test_write_tiff_and_tiff_to_ome_zarr_memory_stays_far_below_the_image(
    tmp_path: Path,
) -> None:
    """A 512 MiB image, lazy, to a 512 MiB tiled BigTIFF and back to OME-Zarr.

    Each peak, less the peak of a process that only imports the same modules, must stay
    below 40% of the image (measured: about 55 MiB, a tenth of it, for both).
    """
    nbytes = BIG[0] * BIG[1] * 2
    baseline = peak_rss("import")
    tiff = tmp_path / "big.ome.tif"
    written = peak_rss("write", str(tiff), f"{BIG[0]}x{BIG[1]}")
    assert tiff.stat().st_size >= nbytes
    converted = peak_rss("convert", str(tiff), str(tmp_path / "big.zarr"))
    mib = 2**20
    report = (f"baseline {baseline / mib:.0f} MiB, write_tiff {written / mib:.0f} MiB, "
              f"tiff_to_ome_zarr {converted / mib:.0f} MiB, image {nbytes / mib:.0f} MiB")
    print(report)
    assert written - baseline < 0.4 * nbytes, report
    assert converted - baseline < 0.4 * nbytes, report
    with tifffile.TiffFile(tiff) as tif:
        store = tif.series[0].aszarr()
        try:
            check_pixels(zarr.open_array(store, mode="r", zarr_format=2), BIG)
        finally:
            store.close()
    image = MultiscaleImage.open(tmp_path / "big.zarr")
    assert image.shapes[0] == BIG
    check_pixels(image.level(0), BIG)


def test_a_contiguous_tiff_converts_in_bounded_memory(tmp_path: Path) -> None:
    """One 256 MiB strip (tifffile's default layout) is read block by block, not whole."""
    shape = (8192, 16384)
    nbytes = shape[0] * shape[1] * 2
    tiff = tmp_path / "strip.tif"
    peak_rss("contiguous", str(tiff), f"{shape[0]}x{shape[1]}")  # made, not measured
    with tifffile.TiffFile(tiff) as tif:
        assert tif.pages[0].is_contiguous and len(tif.pages[0].dataoffsets) == 1
    baseline = peak_rss("import")
    converted = peak_rss("convert", str(tiff), str(tmp_path / "strip.zarr"))
    report = (f"baseline {baseline / 2**20:.0f} MiB, tiff_to_ome_zarr "
              f"{converted / 2**20:.0f} MiB, image {nbytes / 2**20:.0f} MiB")
    print(report)
    assert converted - baseline < 0.4 * nbytes, report
    check_pixels(MultiscaleImage.open(tmp_path / "strip.zarr").level(0), shape)


# -- tiff_to_ome_zarr's channels ---------------------------------------------------------------


def test_an_rgb_tiff_gets_its_channels_named(tmp_path: Path) -> None:
    rgb = np.random.default_rng(5).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "rgb.tif", rgb, photometric="rgb", tile=(16, 16))
    channels = [ome.Channel("red", "FF0000"), ome.Channel("green", "00FF00"),
                ome.Channel("blue", "0000FF")]
    image = tiff_to_ome_zarr(tmp_path / "rgb.tif", tmp_path / "rgb.zarr", channels=channels)
    assert [(c.label, c.color, c.window) for c in image.channels] == [
        ("red", "FF0000", (0.0, 255.0)), ("green", "00FF00", (0.0, 255.0)),
        ("blue", "0000FF", (0.0, 255.0))]
    ome.validate(tmp_path / "rgb.zarr")
    with pytest.raises(ValueError, match="channels has 2 entries but the channel axis 'c' has 3"):
        tiff_to_ome_zarr(tmp_path / "rgb.tif", tmp_path / "two.zarr", channels=["r", "g"])
    assert not (tmp_path / "two.zarr").exists()


# -- convert_image -----------------------------------------------------------------------------


def our_image(path: Path, zarr_version: int = 2, **options: Any) -> MultiscaleImage:
    """A 'czyx' pyramid of ours with channels and two label images, one with metadata."""
    data = np.random.default_rng(8).integers(0, 4000, size=(2, 10, 50, 44), dtype=np.uint16)
    options.setdefault("chunks", (1, 4, 16, 16))
    image = build_pyramid(
        data, path, axes="czyx", scale={"z": 2.0, "y": 0.7, "x": 0.7}, zarr_version=zarr_version,
        factors={"y": 2, "x": 2}, channels=[ome.Channel("DAPI", "0000FF", (0, 4000)),
                                            {"label": "GFP", "active": False}], **options)
    write_labels(image, "nuclei", (data // 1000).astype(np.uint8),
                 colors={1: (255, 0, 0, 255), 2: (0, 255, 0, 128)},
                 properties={1: {"class": "nucleus"}, 2: {"class": "cell", "area": 12}})
    write_labels(image, "mask", (data > 2000).astype(np.uint32))
    return MultiscaleImage.open(path)


def assert_same_image(copy: MultiscaleImage, source: MultiscaleImage) -> None:
    """Every level bit-exact and everything the metadata says the same."""
    assert copy.shapes == source.shapes
    assert copy.dtype == source.dtype
    for k in range(source.levels):
        expected = source.level(k)[...]
        written = copy.level(k)[...]
        assert written.dtype == expected.dtype
        assert written.tobytes() == expected.tobytes(), f"level {k} differs"
    ours, theirs = copy.metadata, source.metadata
    assert ours.axes == theirs.axes and ours.axis_types[1:] == theirs.axis_types[1:]
    assert ours.units == theirs.units
    assert ours.scales == theirs.scales and ours.translations == theirs.translations
    assert ours.name == theirs.name and ours.method == theirs.method
    assert ours.method_metadata == theirs.method_metadata
    assert copy.channels == source.channels
    assert copy.labels == source.labels
    for name in source.labels:
        label, expected_label = copy.label(name), source.label(name)
        assert_same_image(label, expected_label)
        assert label.image_label is not None and expected_label.image_label is not None
        assert label.image_label.colors == expected_label.image_label.colors
        assert label.image_label.properties == expected_label.image_label.properties
        assert label.image_label.version == copy.version


def validate_all(path: Path) -> None:
    """The image and each of its label images pass the package's validation (strict)."""
    ome.validate(path)
    for name in ome.read_labels(path):
        ome.validate_label_image(path / "labels" / name)


@pytest.fixture(scope="module")
def ours_v2(tmp_path_factory: pytest.TempPathFactory) -> MultiscaleImage:
    return our_image(tmp_path_factory.mktemp("ours") / "ours.zarr")


@pytest.mark.parametrize("zarr_version", [2, 3])
def test_convert_image_copies_our_image_whole(
    tmp_path: Path, ours_v2: MultiscaleImage, zarr_version: int
) -> None:
    copy = convert_image(ours_v2, tmp_path / "copy.zarr", zarr_version=zarr_version)
    assert copy.version == {2: "0.4", 3: "0.5"}[zarr_version]
    assert copy.chunks == ours_v2.chunks  # chunks=None keeps each level's
    assert copy.level(0).shards is None
    validate_all(tmp_path / "copy.zarr")
    assert_same_image(copy, ours_v2)
    # ... and back again, from 0.5 (or 0.4) to 0.4, by path.
    again = convert_image(tmp_path / "copy.zarr", tmp_path / "again.zarr", zarr_version=2)
    validate_all(tmp_path / "again.zarr")
    assert_same_image(again, ours_v2)


@pytest.mark.parametrize("zarr_version", [2, 3])
@pytest.mark.parametrize("to_version", [2, 3])
def test_convert_image_copies_ome_zarr_py_images(
    tmp_path: Path, zarr_version: int, to_version: int
) -> None:
    """ome-zarr-py 0.18's image: levels s0, s1, omero with rdefs, labels of their own levels."""
    _ome_zarr_py.write_theirs(tmp_path / "theirs.zarr", zarr_version)
    source = MultiscaleImage.open(tmp_path / "theirs.zarr")
    copy = convert_image(tmp_path / "theirs.zarr", tmp_path / "copy.zarr",
                         zarr_version=to_version)
    validate_all(tmp_path / "copy.zarr")
    np.testing.assert_array_equal(copy.level(0)[...], _ome_zarr_py.image_pixels())
    np.testing.assert_array_equal(copy.label("cells").level(0)[...],
                                  _ome_zarr_py.label_pixels())
    assert copy.metadata.paths == ("0", "1") and copy.label("cells").levels == 3
    assert copy.chunks == source.chunks == [(1, 3, 16, 16)] * 2
    assert copy.channels[0] == ome.Channel("DAPI", "0000FF", (0.0, 4000.0), (0.0, 65535.0), True)
    # The omero metadata is copied whole: what Channel has no place for, too.
    omero = ome.read_omero(tmp_path / "copy.zarr")
    assert omero is not None
    dumped = omero.model_dump(mode="json", exclude_none=True)
    assert dumped["rdefs"] == _ome_zarr_py.OMERO["rdefs"]
    assert dumped["channels"][0]["family"] == "linear"
    assert dumped["channels"][1]["coefficient"] == 1.0
    # ome-zarr-py stamps 0.5's omero with its version: the copy's is its own.
    assert dumped.get("version") in (None, copy.version)
    assert dumped.get("version") == (None if zarr_version == 2 else copy.version)
    # Their multiscale said nothing about its levels: the copy says so, as strict wants.
    assert copy.metadata.method == "unknown"
    assert "convert_image" in copy.metadata.method_metadata["description"]
    # Everything else as they wrote it, and ome-zarr-py reads the copy back.
    for k in range(source.levels):
        assert copy.scale(k) == source.scale(k)
        assert copy.translation(k) == source.translation(k)
    assert copy.metadata.units == source.metadata.units
    assert copy.label("cells").image_label.colors == {  # type: ignore[union-attr]
        1: (255, 0, 0, 255), 2: (0, 255, 0, 255)}
    ome_zarr = _ome_zarr_py.ome_zarr_py()
    nodes = list(ome_zarr.reader.Reader(ome_zarr.io.parse_url(str(tmp_path / "copy.zarr")))())
    assert nodes[0].metadata["channel_names"] == ["DAPI", "GFP"]
    assert [n.metadata["name"] for n in nodes if n.load(ome_zarr.reader.Label)] == ["cells"]


@pytest.mark.parametrize("zarr_version", [2, 3])
def test_convert_image_folds_global_transforms_and_keeps_the_type(
    tmp_path: Path, zarr_version: int
) -> None:
    arrays = other_tool_image(tmp_path / "other.zarr", zarr_version)
    source = MultiscaleImage.open(tmp_path / "other.zarr")
    copy = convert_image(source, tmp_path / "copy.zarr", zarr_version=5 - zarr_version)
    validate_all(tmp_path / "copy.zarr")
    assert [copy.scale(k) for k in range(2)] == [(0.5, 0.25), (1.0, 0.5)]
    assert copy.translation(1) == (10.0, 20.0)
    assert copy.metadata.units == ("nanometer", "nanometer")
    assert (copy.metadata.name, copy.metadata.method) == ("other", "stride")
    for level, array in enumerate(arrays):
        np.testing.assert_array_equal(copy.level(level)[...], array)


def test_convert_image_new_chunks_and_shards(tmp_path: Path, ours_v2: MultiscaleImage) -> None:
    copy = convert_image(ours_v2, tmp_path / "s.zarr", chunks={"z": 2, "y": 32, "x": 32},
                         shard_chunks={"z": 5, "y": 2, "x": 2}, compression="blosc-lz4")
    assert copy.chunks[0] == (1, 2, 32, 32) and copy.level(0).shards == (1, 10, 64, 64)
    assert copy.chunks[-1] == (1, 2, 13, 11)  # clipped to the level's shape (1, 10, 13, 11)
    assert copy.label("nuclei").level(0).shards == (1, 10, 64, 64)
    codecs = json.loads((tmp_path / "s.zarr" / "0" / "zarr.json").read_text())["codecs"]
    assert codecs[0]["configuration"]["codecs"][1]["configuration"]["cname"] == "lz4"
    validate_all(tmp_path / "s.zarr")
    assert_same_image(copy, ours_v2)
    # A sharded source, copied unsharded to Zarr v2 with chunks of one int per axis.
    plain = convert_image(copy, tmp_path / "p.zarr", zarr_version=2, chunks=(1, 10, 8, 8),
                          compression=None)
    assert plain.chunks[0] == (1, 10, 8, 8)
    validate_all(tmp_path / "p.zarr")
    assert_same_image(plain, ours_v2)


@pytest.mark.parametrize("dtype", ["int8", "uint32", "float32", "float64", "bool"])
def test_convert_image_is_bit_exact_for_every_pixel_type(tmp_path: Path, dtype: str) -> None:
    rng = np.random.default_rng(9)
    if dtype == "bool":
        data = rng.random((40, 36)) > 0.5
    elif dtype.startswith("float"):
        data = rng.normal(size=(40, 36)).astype(dtype)
        data[0, :4] = [np.nan, -0.0, np.inf, -np.inf]
        data[16:32] = -0.0  # whole blocks of it: equal to the fill value 0.0, but not it
    else:
        info = np.iinfo(dtype)
        data = rng.integers(info.min, info.max, size=(40, 36), dtype=dtype, endpoint=True)
    source = build_pyramid(data, tmp_path / "a.zarr", axes="yx", chunks=(16, 16),
                           method="max" if dtype == "bool" else "mean")
    copy = convert_image(source, tmp_path / "b.zarr", chunks=(8, 32))
    validate_all(tmp_path / "b.zarr")
    for k in range(source.levels):
        assert copy.level(k)[...].tobytes() == source.level(k)[...].tobytes()
    assert copy.level(0)[...].tobytes() == data.tobytes()  # and so is build_pyramid's
    assert copy.dtype == data.dtype


def test_convert_image_of_a_big_endian_v2_image(tmp_path: Path) -> None:
    data = np.arange(24 * 20, dtype=">u2").reshape(24, 20)
    source = build_pyramid(data.astype("<u2"), tmp_path / "a.zarr", axes="yx", chunks=(8, 8),
                           max_levels=1)
    # The same image with its level stored big-endian, as Zarr v2 allows.
    zarr.create_array(zarr.storage.LocalStore(tmp_path / "a.zarr"), name="0", shape=data.shape,
                      dtype=">u2", chunks=(8, 8), zarr_format=2, overwrite=True)[...] = data
    assert MultiscaleImage.open(source.path).level(0).dtype == np.dtype(">u2")  # type: ignore[arg-type]
    copy = convert_image(source.path, tmp_path / "b.zarr")  # type: ignore[arg-type]
    np.testing.assert_array_equal(copy.level(0)[...], data)
    assert copy.dtype == np.dtype("<u2")


def test_convert_image_shows_progress_for_every_level(
    tmp_path: Path, ours_v2: MultiscaleImage, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = convert_image(ours_v2, tmp_path / "p.zarr", progress=True)
    out = capsys.readouterr().out
    for level, shape in enumerate(copy.shapes):
        assert f"level {level} {shape}" in out
        assert f"labels/nuclei level {level} {shape}" in out
        assert f"labels/mask level {level} {shape}" in out
    assert "blocks" in out


# -- convert_image: bad input and the data-safety rules ----------------------------------------


@pytest.mark.parametrize("kwargs,error,match", [
    ({"zarr_version": 4}, ValueError, r"zarr_version=4 must be 2 \(OME-Zarr 0.4\) or 3"),
    ({"zarr_version": 2, "shard_chunks": 2}, ValueError,
     r"shard_chunks=2 needs zarr_version=3 \(got zarr_version=2\): Zarr v2 has no sharding"),
    ({"shard_chunks": 0}, ValueError, r"shard_chunks=0 must be an integer >= 1"),
    ({"chunks": 16}, TypeError, r"chunks=16: give one int per axis of axes='czyx'"),
    ({"chunks": (1, 16, 16)}, ValueError, r"chunks=\(1, 16, 16\) has 3 entries but "
                                          r"axes='czyx' has 4"),
    ({"chunks": {"q": 4}}, ValueError, r"chunks=\{'q': 4\} names axes not in axes='czyx'"),
    ({"chunks": (1, 4, 0, 16)}, ValueError, r"chunks\[2\]=0 must be an integer >= 1"),
    ({"compression": "gzip"}, ValueError, r"compression='gzip' must be one of"),
    ({"overwrite": 1}, TypeError, r"overwrite=1 must be True or False"),
    ({"progress": "no"}, TypeError, r"progress='no' must be True or False"),
])
def test_convert_image_refuses_bad_settings(
    tmp_path: Path, ours_v2: MultiscaleImage, kwargs: dict[str, Any], error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        convert_image(ours_v2, tmp_path / "bad.zarr", **kwargs)
    assert file_names(tmp_path) == []


def test_convert_image_refuses_what_is_not_an_image(tmp_path: Path,
                                                    ours_v2: MultiscaleImage) -> None:
    (tmp_path / "notes").mkdir()
    with pytest.raises(TypeError, match=r"source=3 must be the path of an OME-Zarr image"):
        convert_image(3, tmp_path / "a.zarr")  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError, match="no OME-Zarr image at"):
        convert_image(tmp_path / "missing.zarr", tmp_path / "a.zarr")
    with pytest.raises(ValueError, match="is not a Zarr group"):
        convert_image(tmp_path / "notes", tmp_path / "a.zarr")
    with pytest.raises(ValueError, match="is a label image; convert the image it labels"):
        convert_image(ours_v2.label("nuclei"), tmp_path / "a.zarr")
    assert file_names(tmp_path) == ["notes"]


def test_convert_image_refuses_axes_and_labels_it_cannot_write(tmp_path: Path) -> None:
    image = build_pyramid(np.zeros((16, 16), np.uint8), tmp_path / "a.zarr", axes="yx",
                          chunks=(8, 8))
    write_labels(image, "cells", np.ones((16, 16), np.uint8))
    group = zarr.open_group(tmp_path / "a.zarr", mode="r+")
    # A label image of floats, which OME-Zarr does not allow.
    zarr.create_array(group.store, name="labels/cells/1", shape=(8, 8), dtype="float32",
                      chunks=(8, 8), zarr_format=2, overwrite=True)
    zarr.create_array(group.store, name="labels/cells/0", shape=(16, 16), dtype="float32",
                      chunks=(8, 8), zarr_format=2, overwrite=True)
    with pytest.raises(ValueError, match=r"the source's label image 'cells' cannot be copied: "
                                         r"dtype='float32' must be one of"):
        convert_image(image, tmp_path / "b.zarr")
    # An axis with a name OME-Zarr's usual five do not have.
    attributes = group.attrs.asdict()
    attributes["multiscales"][0]["axes"][0]["name"] = "row"
    group.attrs.put(attributes)
    with pytest.raises(ValueError, match=r"the source has the axes \['row', 'x'\], which "
                                         r"convert_image cannot copy"):
        convert_image(tmp_path / "a.zarr", tmp_path / "b.zarr")
    assert not (tmp_path / "b.zarr").exists()


def test_convert_image_never_writes_over_or_inside_its_source(
    tmp_path: Path, ours_v2: MultiscaleImage
) -> None:
    source = ours_v2.path
    assert source is not None
    before = sorted(p.relative_to(source) for p in source.rglob("*"))
    for dest, overwrite in [(source, True), (source, False), (source / "labels" / "x", False),
                            (source / "copy.zarr", True), (source.parent, True)]:
        with pytest.raises(ValueError, match=r"is where the source is read from|current dir"):
            convert_image(source, dest, overwrite=overwrite)
    # Read through the image's own label image: still its source.
    with pytest.raises(ValueError, match="is where the source is read from"):
        convert_image(ours_v2, source / "labels", overwrite=True)
    assert sorted(p.relative_to(source) for p in source.rglob("*")) == before
    assert_same_image(MultiscaleImage.open(source), ours_v2)


def test_convert_image_replaces_only_a_zarr_store_and_only_when_asked(
    tmp_path: Path, ours_v2: MultiscaleImage
) -> None:
    old = build_pyramid(np.ones((16, 16), np.uint8), tmp_path / "old.zarr", axes="yx",
                        chunks=(8, 8))
    with pytest.raises(FileExistsError, match=r"dest='.*old\.zarr' already exists"):
        convert_image(ours_v2, old.path)  # type: ignore[arg-type]
    assert (MultiscaleImage.open(tmp_path / "old.zarr").level(0)[...] == 1).all()
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"a cat")
    with pytest.raises(ValueError, match="overwrite=True replaces only a Zarr store"):
        convert_image(ours_v2, tmp_path / "photos", overwrite=True)
    assert (tmp_path / "photos" / "cat.jpg").read_bytes() == b"a cat"
    copy = convert_image(ours_v2, tmp_path / "old.zarr", overwrite=True)
    assert_same_image(copy, ours_v2)
    assert file_names(tmp_path) == ["old.zarr", "photos"]


def test_convert_image_refuses_a_second_writer(tmp_path: Path,
                                               ours_v2: MultiscaleImage) -> None:
    with _destination.WriteLock(tmp_path / "busy.zarr"):
        with pytest.raises(DestinationBusyError, match="is being written by another writer"):
            convert_image(ours_v2, tmp_path / "busy.zarr")
    assert file_names(tmp_path) == []


def test_a_corrupt_chunk_leaves_the_old_store_and_nothing_half_written(
    tmp_path: Path, ours_v2: MultiscaleImage
) -> None:
    source = tmp_path / "source.zarr"
    convert_image(ours_v2, source, zarr_version=2)
    chunk = source / "labels" / "mask" / "1" / "0" / "0" / "0" / "0"
    chunk.write_bytes(b"not a blosc frame")  # the last thing copied: everything else was
    old = build_pyramid(np.ones((16, 16), np.uint8), tmp_path / "dest.zarr", axes="yx",
                        chunks=(8, 8), max_levels=1)
    with pytest.raises(RuntimeError, match="error during blosc decompression"):
        convert_image(source, old.path, overwrite=True)  # type: ignore[arg-type]
    time.sleep(0.2)  # no straggler task may write after the error
    assert file_names(tmp_path) == ["dest.zarr", "source.zarr"]
    assert MultiscaleImage.open(tmp_path / "dest.zarr").shapes == [(16, 16)]
    with pytest.raises(RuntimeError, match="error during blosc decompression"):
        convert_image(source, tmp_path / "new.zarr")
    assert file_names(tmp_path) == ["dest.zarr", "source.zarr"]


def test_convert_image_memory_stays_far_below_the_image(tmp_path: Path) -> None:
    """A 256 MiB image (2 levels, chunks of 2 MiB) copied into small chunks in shards.

    The peak, less the peak of a process that only imports the same modules, must stay
    below a quarter of the image (measured: about 40 MiB, a sixth of it).
    """
    shape = (16384, 8192)
    nbytes = shape[0] * shape[1] * 2
    source = tmp_path / "source.zarr"
    peak_rss("image", str(source), f"{shape[0]}x{shape[1]}")  # made, not measured
    baseline = peak_rss("import")
    converted = peak_rss("convert-image", str(source), str(tmp_path / "copy.zarr"))
    report = (f"baseline {baseline / 2**20:.0f} MiB, convert_image "
              f"{converted / 2**20:.0f} MiB, image {nbytes / 2**20:.0f} MiB")
    print(report)
    assert converted - baseline < 0.25 * nbytes, report
    copy = MultiscaleImage.open(tmp_path / "copy.zarr")
    assert copy.shapes == MultiscaleImage.open(source).shapes
    assert copy.level(0).chunks == (256, 256) and copy.level(0).shards == (1024, 1024)
    check_pixels(copy.level(0), shape)
