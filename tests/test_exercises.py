"""The exercise checks: right answers pass, the chapters' typical mistakes are named,
placeholders say "Not yet", bad values never raise, and no message gives the answer away."""

import math

import numpy as np
import pytest
import zarr

from data_helpers import exercises
from data_helpers.chunking import auto_chunks
from data_helpers.downsample import downsample
from data_helpers.inspect import ChunkStats
from data_helpers.ome import level_transforms
from data_helpers.sample_data import load_sample

CHECKS = sorted(name for name in exercises.__all__ if name.startswith("check_"))
BAD_VALUES = [..., None, "text", b"bytes", 13, -1.5, float("nan"), True, [], {}, object(),
              np.zeros((2, 3))]


def verdict(result, expected, *words):
    assert result.verdict == expected, result.message
    for word in words:
        assert word in result.message, (word, result.message)
    return result.message


def nargs(check):
    import inspect

    return sum(p.default is inspect.Parameter.empty
               for p in inspect.signature(check).parameters.values())


@pytest.mark.parametrize("name", CHECKS)
def test_placeholders_say_not_yet(name, capsys):
    check = getattr(exercises, name)
    result = check(*[...] * nargs(check))
    assert result.verdict == "not yet" and not result
    assert capsys.readouterr().out.startswith("Not yet:")


@pytest.mark.parametrize("name", CHECKS)
@pytest.mark.parametrize("bad", BAD_VALUES, ids=lambda v: type(v).__name__)
def test_bad_values_never_raise(name, bad):
    check = getattr(exercises, name)
    result = check(*[bad] * nargs(check))
    assert result.verdict in ("not yet", "wrong")
    assert isinstance(result, exercises.CheckResult)


def test_every_exercise_of_the_book_has_a_check():
    import re

    from ._book import notebook_files

    labels = [label for path in notebook_files()
              for label in re.findall(r":label: ex-([\w-]+)", path.read_text())]
    assert sorted(f"check_{label.replace('-', '_')}" for label in labels) == CHECKS


# -- arrays_chunks_compression ---------------------------------------------------------------

def test_arrays_timelapse():
    n = math.prod((100, 2, 64, 2048, 2048))
    right = (n * 2 / 2**30, n * 4 / 2**30)
    verdict(exercises.check_arrays_timelapse(*right), "right")
    verdict(exercises.check_arrays_timelapse(right[0], right[0]), "wrong",
            "off by a factor of 2", "float32")
    verdict(exercises.check_arrays_timelapse(n * 2, right[1]), "wrong", "bytes")
    verdict(exercises.check_arrays_timelapse(n * 2 / 1e9, right[1]), "wrong", "GB")
    verdict(exercises.check_arrays_timelapse(right[0] / 100, right[1]), "wrong", "time")
    verdict(exercises.check_arrays_timelapse("100", right[1]), "wrong", "wrong type")
    verdict(exercises.check_arrays_timelapse(right[0], ...), "not yet")


def test_arrays_plane():
    verdict(exercises.check_arrays_plane(32, 32), "right")
    verdict(exercises.check_arrays_plane(128, 0), "wrong", "every chunk", "fill value")
    verdict(exercises.check_arrays_plane("32", 32), "wrong",
            "wrong type: expected an int number of chunks, got str")
    array = zarr.create_array(store=zarr.storage.MemoryStore(), shape=(128, 256, 256),
                              chunks=(16, 64, 64), dtype="uint16", fill_value=0)
    array[:, 100, :] = 1
    from data_helpers.inspect import chunk_stats

    verdict(exercises.check_arrays_plane(32, chunk_stats(array)), "right")


def test_arrays_labels():
    ratios = exercises._ratios("zstd", "shuffle")
    verdict(exercises.check_arrays_labels(ratios["labels"], ratios["volume"]), "right")
    verdict(exercises.check_arrays_labels(ratios["volume"], ratios["labels"]), "wrong", "swapped")
    verdict(exercises.check_arrays_labels(1 / ratios["labels"], ratios["volume"]), "wrong",
            "upside down")
    noshuffle = exercises._ratios("zstd", "noshuffle")
    if not math.isclose(noshuffle["labels"], ratios["labels"], rel_tol=0.02):
        verdict(exercises.check_arrays_labels(noshuffle["labels"], ratios["volume"]), "wrong",
                "shuffle")


def test_arrays_budget():
    auto = auto_chunks((100, 2, 64, 2048, 2048), 2, target_bytes=8 * 2**20, fixed_axes=(0, 1))
    flat = (1, 1, 1, 2048, 2048)
    verdict(exercises.check_arrays_budget(auto, flat), "right")
    verdict(exercises.check_arrays_budget((2, 1, *auto[2:]), flat), "wrong", "one pixel thick")
    verdict(exercises.check_arrays_budget(auto, (1, 1, 2, 2048, 2048)), "wrong", "z plane")
    verdict(exercises.check_arrays_budget(auto, (1, 1, 1, 512, 2048)), "wrong", "too small")
    big = (1, 1, 64, 256, 512)  # 16 MiB
    verdict(exercises.check_arrays_budget(big, flat), "wrong", "over the budget")


# -- creating_ome_zarr ------------------------------------------------------------------------

def _fill_array(fill=100, plane=64):
    from pydantic_zarr.v3 import ArraySpec

    spec = ArraySpec(
        shape=(256, 256), data_type="uint16",
        chunk_grid={"name": "regular", "configuration": {"chunk_shape": (64, 64)}},
        chunk_key_encoding={"name": "default", "configuration": {"separator": "/"}},
        fill_value=fill, codecs=[{"name": "bytes", "configuration": {"endian": "little"}}],
        attributes={},
    )
    array = spec.to_zarr(zarr.storage.MemoryStore(), path="")
    array[:64, :64] = load_sample("volume")[plane, :64, :64]
    return array


def test_create_fill():
    array = _fill_array()
    verdict(exercises.check_create_fill(array, 1, array[200, 200]), "right")
    verdict(exercises.check_create_fill(_fill_array(fill=0), 16, 0), "wrong",
            "fill value", "every chunk of the grid", "not zero")
    verdict(exercises.check_create_fill(_fill_array(plane=0), 1, 100), "wrong", "middle plane")
    verdict(exercises.check_create_fill(np.zeros((256, 256)), 1, 100), "wrong", "wrong type")


def _four_levels(translate=True):
    from data_helpers.ome import create_image, image_model

    factors = [(1, 2, 2), (1, 2, 2), (2, 2, 2)]
    levels = [load_sample("volume")]
    for f in factors:
        levels.append(downsample(levels[-1], f))
    scales, translations = level_transforms([2.0, 0.5, 0.5], factors)
    if not translate:
        translations = [[0.0] * 3 for _ in translations]
    model = image_model(shapes=[a.shape for a in levels], dtype="uint16",
                        chunks=[(32, 64, 64)] * 4, axes="zyx", scales=scales,
                        translations=translations)
    group = create_image(zarr.storage.MemoryStore(), model)
    for i, level in enumerate(levels):
        group[str(i)][:] = level
    return group


def test_create_fourth_level():
    verdict(exercises.check_create_fourth_level(_four_levels()), "right")
    verdict(exercises.check_create_fourth_level(_four_levels(translate=False)), "wrong",
            "no translation")


def test_create_labels_catches_labels_corrupted_inside_a_window():
    labels = load_sample("labels")
    mode = downsample(labels, (1, 2, 2), method="mode")
    nearest = downsample(labels, (1, 2, 2), method="nearest")
    _, tm = level_transforms([2.0, 0.5, 0.5], [(1, 2, 2)], method="mode")
    _, tn = level_transforms([2.0, 0.5, 0.5], [(1, 2, 2)], method="nearest")
    verdict(exercises.check_create_labels(mode, nearest, tm[1], tn[1]), "right")
    # A corruption np.isin misses: every value is a real label, but from another window.
    moved = mode.copy()
    ids = np.unique(labels)
    inside = np.nonzero(moved == ids[1])
    moved[inside[0][0], inside[1][0], inside[2][0]] = ids[-1]
    assert np.isin(moved, labels).all()
    verdict(exercises.check_create_labels(moved, nearest, tm[1], tn[1]), "wrong",
            "not in their own window")
    mean = downsample(labels, (1, 2, 2), method="mean")
    verdict(exercises.check_create_labels(mean, nearest, tm[1], tn[1]), "wrong", "own window")
    verdict(exercises.check_create_labels(nearest, mode, tm[1], tn[1]), "wrong",
            "method='nearest'", "method='mode'")
    verdict(exercises.check_create_labels(mode, nearest, tn[1], tm[1]), "wrong",
            "window's centre", "first pixel")


def test_create_version():
    verdict(exercises.check_create_version("0.5", ["y", "x"]), "right")
    verdict(exercises.check_create_version(0.5, ["x", "y"]), "wrong", "string", "reverse")
    verdict(exercises.check_create_version("0.4", "yx"), "wrong", "Zarr v2", "wrong type")
    verdict(exercises.check_create_version("0.5", [{"name": "y"}, {"name": "x"}]), "wrong",
            "names only")


# -- streaming --------------------------------------------------------------------------------

def test_stream_budget():
    verdict(exercises.check_stream_budget(128, 3), "right")
    verdict(exercises.check_stream_budget(256, 4), "wrong", "factor of 2", "too many")
    verdict(exercises.check_stream_budget(32, 2), "wrong", "16 MiB", "too few")
    verdict(exercises.check_stream_budget(8, 3), "wrong", "whole frame")


def _float_levels(**camera):
    import tempfile

    from data_helpers.camera import SimulatedCamera
    from data_helpers.writer import ChunkingProperties, StorageProperties, stream_to_zarr

    with tempfile.TemporaryDirectory() as tmp:
        storage = StorageProperties(f"{tmp}/f.zarr", enable_multiscale=True,
                                    chunking=ChunkingProperties(64, 36))
        stream_to_zarr(SimulatedCamera("radial_sin", **camera), storage, 4)
        group = zarr.open_group(storage.filename, mode="r")
        return group["0"][:], group["1"][:]


def test_stream_float():
    level0, level1 = _float_levels(shape=(192, 108), pixel_type="float32")
    verdict(exercises.check_stream_float(3.0, level0, level1), "right")
    verdict(exercises.check_stream_float(1.5, level0, level0[:, :, ::2, ::2]), "wrong",
            "mean of the numbers", "pairs of frames")
    verdict(exercises.check_stream_float(0.75, level0 * 2, level1 + 1), "wrong",
            "rounds the byte means down", "radial_sin", "eight level-0 pixels")
    wrong0, _ = _float_levels(shape=(192, 108), pixel_type="uint8")
    verdict(exercises.check_stream_float(3.0, wrong0, level1), "wrong", "float32")


def test_stream_dark():
    stats = dict(shape=(20, 1, 1080, 1920), dtype="uint8", zarr_format=2,
                 chunk_shape=(20, 1, 360, 640), shard_shape=None, nchunks=9, nchunks_stored=9,
                 nshards=None, nshards_stored=None, nbytes=20 * 1080 * 1920)
    plain = ChunkStats(**stats, nbytes_stored=20 * 1080 * 1920 + 500, compressors=())
    zstd = ChunkStats(**stats, nbytes_stored=20_000, compressors=("Blosc(zstd)",))
    verdict(exercises.check_stream_dark(plain, zstd), "right")
    verdict(exercises.check_stream_dark(zstd, plain), "wrong", "compression=None",
            "blosc-zstd")
    gaps = ChunkStats(**{**stats, "nchunks_stored": 0}, nbytes_stored=500, compressors=())
    verdict(exercises.check_stream_dark(gaps, zstd), "wrong", "not every chunk")


def test_stream_shards():
    files, chunks = exercises._shard_files()
    verdict(exercises.check_stream_shards(list(files)), "right")
    verdict(exercises.check_stream_shards(list(chunks)), "wrong", "these are chunks")
    verdict(exercises.check_stream_shards([n + 1 for n in files]), "wrong", "zarr.json")
    verdict(exercises.check_stream_shards(list(files[:-1])), "wrong", "one number per level")


# -- pyramids ---------------------------------------------------------------------------------

def test_pyr_labels_catches_labels_corrupted_inside_a_window():
    levels, translations = exercises._label_pyramid()
    verdict(exercises.check_pyr_labels(list(levels), list(translations)), "right")
    moved = [level.copy() for level in levels]
    ids = np.unique(levels[0])
    inside = np.nonzero(moved[1] == ids[1])
    moved[1][inside[0][0], inside[1][0], inside[2][0]] = ids[-1]   # a real label, elsewhere
    assert np.isin(moved[1], ids).all()
    verdict(exercises.check_pyr_labels(moved, list(translations)), "wrong",
            "not in their window", "method='mode'")
    zeros = [(0.0, 0.0, 0.0)] * len(translations)
    verdict(exercises.check_pyr_labels(list(levels), zeros), "wrong", "window method")
    verdict(exercises.check_pyr_labels(list(levels[:-1]), translations[:-1]), "wrong",
            "number of levels", "one translation")


def test_pyr_edges():
    image = np.arange(35, dtype=np.float64).reshape(5, 7)
    small = downsample(image, 3)
    padded = np.pad(image, ((0, 1), (0, 2))).reshape(2, 3, 3, 3).mean(axis=(1, 3))
    verdict(exercises.check_pyr_edges(small.shape, small[-1, -1], padded[-1, -1]), "right")
    verdict(exercises.check_pyr_edges((1, 2), padded[-1, -1], small[-1, -1]), "wrong",
            "ceil(n / f)", "zero padding gives", "without padding")
    verdict(exercises.check_pyr_edges([2, 3], 34.0, 1.0), "wrong", "one pixel")


def test_pyr_centroid():
    with_shift, without = exercises._centroid_distances()
    verdict(exercises.check_pyr_centroid(with_shift, without), "right")
    verdict(exercises.check_pyr_centroid(float(np.hypot(*with_shift)), -without), "right")
    verdict(exercises.check_pyr_centroid(without, without), "wrong", "other distance")
    verdict(exercises.check_pyr_centroid(with_shift / 0.5, without), "wrong", "in pixels")
    unweighted = exercises._centroid_distances(weighted=False)
    verdict(exercises.check_pyr_centroid(*unweighted), "wrong", "unweighted")


def test_pyr_recipe():
    shapes = list(exercises._recipe_shapes())
    sizes = [math.prod(s) for s in shapes]
    verdict(exercises.check_pyr_recipe(shapes, shapes, sum(sizes) / sizes[0]), "right")
    isotropic = list(exercises._recipe_shapes("isotropic"))
    verdict(exercises.check_pyr_recipe(isotropic, shapes[:-1], sum(sizes)), "wrong",
            "every axis was halved", "too few levels", "divided by level 0")
    verdict(exercises.check_pyr_recipe(shapes, shapes, sum(sizes[1:]) / sizes[0]), "wrong",
            "left level 0 out")


# -- multiscale -------------------------------------------------------------------------------

def test_ms_level_for():
    pyramid = exercises._corner()
    level = pyramid.level_for((400, 800))
    verdict(exercises.check_ms_level_for(level), "right")
    verdict(exercises.check_ms_level_for(level - pyramid.levels), "right")  # negative index
    verdict(exercises.check_ms_level_for(pyramid.levels - 1), "wrong", "largest that fits")
    verdict(exercises.check_ms_level_for(0), "wrong", "does not fit")
    verdict(exercises.check_ms_level_for(99), "wrong", "no such level")


def test_ms_roundtrip():
    pyramid = exercises._corner()
    region = (slice(1000, 1100), slice(2000, 2300))
    coarse = pyramid.roi_to_level(region, 0, -1)
    back = pyramid.roi_to_level(coarse, -1, 0)
    factor = math.prod(pyramid.factors(i)[0] for i in range(1, pyramid.levels))
    verdict(exercises.check_ms_roundtrip(coarse, back, factor), "right")
    verdict(exercises.check_ms_roundtrip(region, (slice(1001, 1100), slice(2000, 2300)), 2),
            "wrong", "unchanged", "does not contain", "one level's factor")
    verdict(exercises.check_ms_roundtrip(coarse, back, pyramid.levels - 1), "wrong",
            "number of steps")


def test_ms_pixel():
    pyramid = exercises._corner()
    thumbnail = pyramid.level(-1)[:]
    y, x = np.unravel_index(np.argmin(thumbnail), thumbnail.shape)
    region = pyramid.roi_to_level((slice(y, y + 1), slice(x, x + 1)), -1, 0)
    mean = pyramid.level(0)[region].mean()
    steps = pyramid.levels - 1
    verdict(exercises.check_ms_pixel(thumbnail.min(), mean, 0.5 * steps), "right")
    verdict(exercises.check_ms_pixel(thumbnail.max(), float(pyramid.level(0)[y, x]) , 0.5),
            "wrong", "brightest", "roi_to_level", "add up")


def test_ms_cluster_and_an_open_client():
    from distributed import Client, LocalCluster

    level1 = exercises._corner().level(1)
    grid = level1[:].reshape(level1.shape[0] // 256, 256, level1.shape[1] // 256, 256)
    grid = grid.max(axis=(1, 3))
    verdict(exercises.check_ms_cluster(grid, grid), "right")
    verdict(exercises.check_ms_cluster(grid[:1], grid * 0 + grid.max()), "wrong",
            "one value per chunk", "brightest value of every chunk")
    with LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster):
        verdict(exercises.check_ms_cluster(grid, grid), "wrong", "still open")


# -- processing -------------------------------------------------------------------------------

def test_tiles_depth():
    import tempfile

    from data_helpers.tiles import map_tiles

    truth = exercises._median_truth()
    from scipy import ndimage

    def median7(block):
        return ndimage.median_filter(block, size=7, mode="reflect")

    with tempfile.TemporaryDirectory() as tmp:
        short = map_tiles(median7, exercises._tile_corner(), f"{tmp}/d2.zarr", depth=2,
                          chunks=(256, 256))[...]
    verdict(exercises.check_tiles_depth(short, truth, 3), "right")
    verdict(exercises.check_tiles_depth(truth, short, 2), "wrong", "swapped", "depth=2",
            "still differ")
    verdict(exercises.check_tiles_depth(short, truth, 4), "wrong", "smallest exact depth")


def test_tiles_resume():
    result = exercises._tile_corner() // 2
    verdict(exercises.check_tiles_resume(7, 10, result), "right")
    verdict(exercises.check_tiles_resume(16, 9, result), "right")  # every call failed from the 7th
    verdict(exercises.check_tiles_resume(3, 16, result + 1), "wrong", "7th call",
            "resume=True", "uninterrupted")
    verdict(exercises.check_tiles_resume(20, 5, result), "right")  # threads started more
    verdict(exercises.check_tiles_resume(7, 5, result), "wrong", "every chunk")


def test_tiles_tiff():
    region = np.asarray(load_sample("slide", "dask", shape=(4000, 3500))[3000:4000, 2000:3500])
    verdict(exercises.check_tiles_tiff(region, 4), "right")
    verdict(exercises.check_tiles_tiff(region.T, 3), "wrong", "transposed", "too few")
    verdict(exercises.check_tiles_tiff(region + 1, 5), "wrong", "region's pixels", "too many")


# -- the spoiler rule ---------------------------------------------------------------------------

def _spoilers():
    """(check, arguments, strings of the expected answer), wrong and placeholder arguments."""
    n = math.prod((100, 2, 64, 2048, 2048))
    files, _ = exercises._shard_files()
    with_shift, without = exercises._centroid_distances()
    pyramid = exercises._corner()
    shapes = exercises._recipe_shapes()
    sizes = [math.prod(s) for s in shapes]
    auto = auto_chunks((100, 2, 64, 2048, 2048), 2, target_bytes=8 * 2**20, fixed_axes=(0, 1))
    return [
        (exercises.check_arrays_timelapse, [(n / 2**30, n / 2**30), (n, "x"), (..., 1)],
         [str(n * 2 // 2**30), str(n * 4 // 2**30)]),
        (exercises.check_arrays_plane, [(128, 0), (8, 5), (4, ...)], ["32"]),
        (exercises.check_arrays_budget, [((1, 1, 1, 1, 1), (1, 1, 4, 4, 4)), ((2, 1, 1, 1, 1), 0)],
         [str(auto), str(auto[2:])]),
        (exercises.check_stream_budget, [(256, 4), (32, 2), (8, 1), (1, ...)], ["128"]),
        (exercises.check_stream_float, [(1.5, None, None), (0.75, 1, 2)], ["3.0"]),
        (exercises.check_stream_shards, [([9, 4, 1],), ([4, 3, 2],), ([1, 1, 1],), ([1],)],
         [str(list(files)), str(files)]),
        (exercises.check_pyr_edges, [((1, 2), 1.0, 30.5), ((3, 3), 6.0, 2.0)],
         ["(2, 3)", "30.5", "6.7", "6.8"]),
        (exercises.check_pyr_centroid, [(without, without), (with_shift * 2, 0.0)],
         [f"{v:.2f}" for v in (*with_shift, *without)]),
        (exercises.check_pyr_recipe, [(shapes[:-1], shapes[1:], 4 / 3), (1, 2, 3)],
         [str(shapes[-1]), f"{sum(sizes) / sizes[0]:.3f}"]),
        (exercises.check_ms_level_for, [(0,), (4,), (-1,)],
         [f"level {pyramid.level_for((400, 800))}", str(pyramid.shapes[3])]),
        (exercises.check_tiles_depth, [(None, None, 2), (None, None, 5)], ["depth 3", "= 3"]),
        (exercises.check_tiles_tiff, [(None, 3), (None, 5), (None, 1)], ["4 levels", "= 4"]),
        (exercises.check_create_fill, [(None, 16, 0), (None, 0, 5)], ["1 chunk"]),
        (exercises.check_create_version, [("0.4", ["x", "y"]), (0.5, "yx")], ["'0.5'", "\"0.5\""]),
    ]


def test_no_message_gives_the_answer_away(capsys):
    for check, calls, answers in _spoilers():
        for args in calls:
            result = check(*args)
            printed = capsys.readouterr().out
            assert result.verdict in ("wrong", "not yet"), (check.__name__, args, result.message)
            for answer in answers:
                assert answer not in printed, (check.__name__, args, answer, printed)
                assert answer not in result.message


def test_the_spoiler_test_can_fail(capsys):
    """The test above would catch a check that prints the answer."""
    result = exercises.check_arrays_plane(31, 32)
    assert "32" not in result.message
    fake = exercises.CheckResult("ex-arrays-plane", "wrong", "Check again: it is 32")
    assert "32" in fake.message


# -- zarr_v3 ----------------------------------------------------------------------------------

def test_v3_keys():
    verdict(exercises.check_v3_keys("c/2/5", "2.5"), "right")
    verdict(exercises.check_v3_keys("/c/2/5/", " 2.5 "), "right")  # stray slashes, spaces
    verdict(exercises.check_v3_keys("c/5/2", "5.2"), "wrong", "wrong order")
    verdict(exercises.check_v3_keys("2/5", "c/2/5"), "wrong", "prefix", "v3 form")
    verdict(exercises.check_v3_keys("c/700/1300", "3.6"), "wrong", "pixel coordinates",
            "count from 0")
    verdict(exercises.check_v3_keys("c.2.5", "2/5"), "wrong", "separator")
    verdict(exercises.check_v3_keys("c/1/1", ...), "wrong", "divide by the chunk shape")
    verdict(exercises.check_v3_keys(("c", 2, 5), ...), "wrong", "wrong type")


def test_v3_keys_are_the_ones_zarr_writes():
    v3_key, v2_key, grid = exercises._chunk_keys()
    assert (v3_key, v2_key, grid) == ("c/2/5", "2.5", (2, 5))


def test_v3_index(tmp_path):
    # The answer, from a real sharded array: 8 files whose last 132 bytes are the index.
    array = zarr.create_array(tmp_path, shape=(128, 256, 256), chunks=(32, 64, 64),
                              shards=(64, 128, 128), dtype="uint16")
    array[:] = 1
    files = [p for p in (tmp_path / "c").rglob("*") if p.is_file()]
    raw = files[0].read_bytes()
    entries = np.frombuffer(raw[-132:-4], dtype="<u8").reshape(8, 2)
    assert len(files) == 8 and (entries[:, 0] + entries[:, 1]).max() <= len(raw) - 132
    verdict(exercises.check_v3_index(8, 8, 132), "right")
    verdict(exercises.check_v3_index(64, 4, 128), "wrong", "number of chunks",
            "z included", "checksum")
    verdict(exercises.check_v3_index(9, 8, 68), "wrong", "zarr.json", "two 64-bit numbers")
    verdict(exercises.check_v3_index(8.0, ..., 132), "wrong", "wrong type", "not answered")


def test_v3_parallel():
    verdict(exercises.check_v3_parallel([1, 2, 4], 4), "right")
    verdict(exercises.check_v3_parallel((4, 2, 1, 2), 4), "right")  # any order, repeats
    verdict(exercises.check_v3_parallel([1, 2, 4, 8], 2), "wrong", "too many", "one side")
    verdict(exercises.check_v3_parallel([2, 4], 1), "wrong", "too few", "larger than one tile")
    verdict(exercises.check_v3_parallel([1, 8], 16), "wrong", "compare", "not the number")
    verdict(exercises.check_v3_parallel([3], ...), "wrong", "chapter's layouts")
    verdict(exercises.check_v3_parallel([True], ...), "wrong", "wrong type")


def test_v3_convert(tmp_path):
    from data_helpers.convert import convert_image
    from data_helpers.pyramid import build_pyramid

    corner = np.asarray(load_sample("slide", shape=(1024, 1024)))
    source = build_pyramid(corner, tmp_path / "v04.zarr", axes="yx", chunks=(128, 128),
                           zarr_version=2)
    right = convert_image(source, tmp_path / "v05.zarr", shard_chunks=(1, 8))
    files = [sum(1 for p in (right.path / str(k) / "c").rglob("*") if p.is_file())
             for k in range(right.levels)]
    assert files == [8, 4, 2, 1]
    verdict(exercises.check_v3_convert(right, files), "right")
    verdict(exercises.check_v3_convert(str(right.path), files), "right")
    verdict(exercises.check_v3_convert(source, [n + 1 for n in files]), "wrong",
            "zarr_version=3", "not zarr.json")
    unsharded = convert_image(source, tmp_path / "plain.zarr")
    verdict(exercises.check_v3_convert(unsharded, [8, 8, 8, 8]), "wrong",
            "no shards", "level 0 is right")
    rows = convert_image(source, tmp_path / "rows.zarr", shard_chunks=(2, 8))
    verdict(exercises.check_v3_convert(rows, [16]), "wrong", "one row of chunks",
            "one number per level")
    rechunked = convert_image(source, tmp_path / "big.zarr", chunks=(256, 256),
                              shard_chunks=(1, 4))
    verdict(exercises.check_v3_convert(rechunked, ...), "wrong", "the chunks changed")
    verdict(exercises.check_v3_convert(tmp_path / "nothing", ...), "wrong",
            "not an OME-Zarr image")


def test_v3_messages_give_no_answer_away(capsys):
    _, files = exercises._convert_answers()
    calls = [
        (exercises.check_v3_keys, [("c/5/2", "5.2"), ("c.2.5", "2/5"), ("2/5", "c/2/5"),
                                   ("c/700/1300", "3.6")], ["c/2/5", "2.5", "(2, 5)"]),
        (exercises.check_v3_index, [(64, 4, 128), (9, 2, 68), (1, 1, 1)], ["132", " 8 "]),
        (exercises.check_v3_parallel, [([1, 2, 4, 8], 2), ([2, 4], 1), ([1], 16)],
         ["[1, 2, 4]", "1, 2, 4", "4 tasks", "= 4"]),
        (exercises.check_v3_convert, [(..., [9, 5, 3, 2]), (..., [8, 1, 1, 1]),
                                      (..., [1])], [str(list(files)), ", ".join(
                                          map(str, files))]),
    ]
    for check, arguments, answers in calls:
        for args in arguments:
            result = check(*args)
            printed = capsys.readouterr().out
            assert result.verdict in ("wrong", "not yet"), (check.__name__, args)
            for answer in answers:
                assert answer not in printed, (check.__name__, args, answer, printed)


# -- network ------------------------------------------------------------------------------------

def _net_answers():
    """The right answers of the network exercises, measured as the solutions measure them."""
    plain = exercises._net_log("corner.ome.zarr", exercises._NET_REGION)
    sharded = exercises._net_log("sharded.ome.zarr", exercises._NET_REGION)
    first, second = exercises._net_log("sharded.ome.zarr", exercises._NET_ONE_CHUNK)[:2]
    return len(plain), len(sharded), len({r.path for r in sharded}), first, second


def test_net_requests():
    plain, sharded, shards, _, _ = _net_answers()
    assert plain == 16 and sharded == 16 + shards  # 4 x 4 chunks, 2 shards
    verdict(exercises.check_net_requests(16, plain, sharded), "right")
    verdict(exercises.check_net_requests(9, plain + 8, plain), "wrong", "chunk boundary",
            "clear the server's log", "index")
    verdict(exercises.check_net_requests(15, plain - 1, shards), "wrong",
            "not the number of chunks", "fewer than the read made", "one per shard")
    verdict(exercises.check_net_requests(16, ..., sharded + 8), "wrong", "clear the log")


def test_net_latency():
    least = 7 * 0.03  # 64 chunks in rounds of 10 (zarr-python's default concurrency)
    verdict(exercises.check_net_latency(7, 1, least + 0.05), "right")
    verdict(exercises.check_net_latency(6, 0, 1000 * (least + 0.05)), "wrong",
            "rounded down", "at least one round", "milliseconds")
    verdict(exercises.check_net_latency(64, 2, least / 2), "wrong", "one request after",
            "with 64 requests", "shorter than the rounds allow")
    verdict(exercises.check_net_latency(3, 1, 60.0), "wrong", "default async.concurrency",
            "far too long")


def test_net_latency_follows_zarrs_concurrency():
    with zarr.config.set({"async.concurrency": 64}):
        verdict(exercises.check_net_latency(1, 1, 0.05), "right")


def test_net_shard():
    *_, first, second = _net_answers()
    index = int(first.range.removeprefix("bytes=-"))
    assert index == 16 * 16 + 4 == first.bytes_sent
    verdict(exercises.check_net_shard(first.range, index, second.bytes_sent), "right")
    verdict(exercises.check_net_shard(f"Range: {first.range}", index, second.bytes_sent),
            "right")
    verdict(exercises.check_net_shard(second.range, 256, 128 * 128), "wrong",
            "the chunk's range", "checksum", "in memory")
    verdict(exercises.check_net_shard(first.range.removeprefix("bytes="), 16, 1), "wrong",
            "its unit, bytes=", "one chunk's entry", "bytes_sent")
    verdict(exercises.check_net_shard(b"bytes", 1, ...), "wrong", "wrong type", "first range")


def test_net_messages_give_no_answer_away(capsys):
    plain, sharded, _, first, second = _net_answers()
    index = int(first.range.removeprefix("bytes=-"))
    calls = [
        (exercises.check_net_requests, [(9, 24, 16), (15, 1, 2), (..., 40, 26)],
         [f" {plain}", f"{sharded}", f"{plain} "]),
        (exercises.check_net_latency, [(6, 0, 0.01), (64, 2, 500.0), (3, ..., 99.0)],
         ["7 ", " 7", "0.21"]),
        (exercises.check_net_shard, [(second.range, 256, 16384), ("-1", 16, 3)],
         [first.range, str(index), str(second.bytes_sent)]),
    ]
    for check, arguments, answers in calls:
        for args in arguments:
            result = check(*args)
            printed = capsys.readouterr().out
            assert result.verdict in ("wrong", "not yet"), (check.__name__, args)
            for answer in answers:
                assert answer not in printed, (check.__name__, args, answer, printed)
