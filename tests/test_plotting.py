"""Tests of data_helpers.plotting: what is drawn, what is read, what is refused."""

from __future__ import annotations

import dask.array as da
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import zarr
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from data_helpers.plotting import (
    channel_composite,
    plot_channels,
    plot_chunk_grid,
    plot_codec_bytes,
    plot_levels,
    plot_requests_by_chunk_size,
    plot_shard,
    plot_slice,
    plot_stream_timeline,
    plot_tile_stack,
    plot_time_by_latency,
    plot_to_scale,
)

# No windows: draw off screen (switching is allowed while no figure is open).
matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def volume() -> np.ndarray:
    return np.arange(6 * 7 * 8, dtype=np.uint16).reshape(6, 7, 8)


class RecordingArray:
    """Array-like that records every key it is indexed with."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data
        self.shape = data.shape
        self.keys: list[object] = []

    def __getitem__(self, key):
        self.keys.append(key)
        return self.data[key]


# --------------------------------------------------------------------------- plot_slice


@pytest.mark.parametrize(
    ("axis", "index", "expected"),
    [
        (0, None, np.s_[3, :, :]),
        (0, -1, np.s_[5, :, :]),
        (1, 2, np.s_[:, 2, :]),
        (2, 7, np.s_[:, :, 7]),
        (-1, 0, np.s_[:, :, 0]),
    ],
)
def test_plot_slice_shows_the_requested_plane(volume, axis, index, expected):
    ax = plot_slice(volume, index, axis)
    assert isinstance(ax, Axes)
    assert len(ax.images) == 1
    np.testing.assert_array_equal(ax.images[0].get_array(), volume[expected])


def test_plot_slice_2d_and_title(volume):
    ax = plot_slice(volume[0], title="first plane", cmap="magma")
    np.testing.assert_array_equal(ax.images[0].get_array(), volume[0])
    assert ax.get_title() == "first plane"
    assert ax.images[0].get_cmap().name == "magma"


def test_plot_slice_on_given_axes_with_colorbar(volume):
    fig, ax = plt.subplots()
    returned = plot_slice(volume, ax=ax, colorbar=True, vmin=0, vmax=10)
    assert returned is ax
    assert len(fig.axes) == 2  # the image and its colorbar
    assert ax.images[0].get_clim() == (0, 10)


def test_plot_slice_takes_middle_of_extra_leading_axes():
    data = np.arange(3 * 4 * 5 * 6 * 7).reshape(3, 4, 5, 6, 7)  # t, c, z, y, x
    ax = plot_slice(data, index=1, axis=2)
    np.testing.assert_array_equal(ax.images[0].get_array(), data[1, 2, 1])
    assert ax.get_title() == "array[1, 2, 1, :, :]"


def test_plot_slice_indexes_once_with_the_plane_only(volume):
    recording = RecordingArray(volume)
    plot_slice(recording, index=4, axis=0)
    assert recording.keys == [(4, slice(None), slice(None))]


def test_plot_slice_reads_only_the_plane_of_a_zarr_array(tmp_path, volume):
    path = tmp_path / "volume.zarr"
    z = zarr.create_array(path, shape=volume.shape, chunks=(1, 7, 8), dtype=volume.dtype)
    z[...] = volume
    # Break every chunk file except plane 2's: reading any other plane would fail.
    chunk_files = [p for p in (path / "c").rglob("*") if p.is_file()]
    assert len(chunk_files) == 6
    for p in chunk_files:
        if p.relative_to(path / "c").parts[0] != "2":
            p.write_bytes(b"not a chunk")
    with pytest.raises(RuntimeError, match="Zstd decompression error"):  # the trap is armed
        zarr.open_array(path)[3]
    ax = plot_slice(zarr.open_array(path, mode="r"), index=2)
    np.testing.assert_array_equal(ax.images[0].get_array(), volume[2])


def test_plot_slice_computes_only_one_dask_plane(volume):
    computed = []

    def plane(block_info=None):
        # One block per z plane; record which planes dask asks for.
        (z0, z1), *_ = block_info[None]["array-location"]
        computed.append(z0)
        return volume[z0:z1]

    lazy = da.map_blocks(plane, chunks=((1,) * 6, (7,), (8,)), dtype=volume.dtype,
                         meta=np.empty((0, 0, 0), dtype=volume.dtype))
    ax = plot_slice(lazy, index=5)
    np.testing.assert_array_equal(ax.images[0].get_array(), volume[5])
    assert computed == [5]


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((np.zeros(5),), {}, ValueError, "at least 2 dimensions"),
        ((np.zeros((3, 4, 5)),), {"axis": 3}, ValueError,
         r"axis=3 must be an integer in \[-3, 3\) \(an axis of an array of shape \(3, 4, 5\)\)"),
        ((np.zeros((3, 4, 5)),), {"axis": 1.0}, TypeError, r"axis=1\.0 must be an integer in"),
        ((np.zeros((3, 4, 5)),), {"axis": True}, TypeError, r"axis=True must be .*not a bool"),
        ((np.zeros((3, 4, 5)), 3), {}, ValueError,
         r"index=3 must be an integer in \[-3, 3\) \(a position along axis 0\)"),
        ((np.zeros((3, 4, 5)), -5), {"axis": 1}, ValueError, r"index=-5 must be .*\[-4, 4\)"),
        ((np.zeros((3, 4, 5)), "1"), {}, TypeError, r"index='1' must be an integer in"),
        ((np.zeros((3, 4, 5)), 1.0), {}, TypeError, r"index=1\.0 must be an integer in"),
        ((np.zeros((4, 5)), 1), {}, ValueError, r"index=1 must be None for a 2D array"),
        ((np.zeros((4, 5)),), {"ax": "left"}, TypeError, "ax must be"),
        ((np.zeros((4, 5)),), {"colorbar": "no"}, TypeError, r"colorbar='no' must be True or"),
    ],
)
def test_plot_slice_rejects_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_slice(*args, **kwargs)
    assert plt.get_fignums() == []  # refused before any figure was made


@pytest.mark.parametrize(
    ("axis", "error"), [(2, ValueError), (-3, ValueError), (1.0, TypeError), ("0", TypeError)]
)
def test_plot_slice_checks_the_axis_of_a_2d_array_too(axis, error):
    # The axis of a 2D array used to be ignored, whatever it was.
    with pytest.raises(error, match=r"axis=.* must be an integer in \[-2, 2\)"):
        plot_slice(np.zeros((4, 5)), axis=axis)


def test_plot_slice_colorbar_is_a_flag():
    # Any value used to count as true: colorbar="no" drew a colorbar.
    with pytest.raises(TypeError, match=r"colorbar='no' must be True or False"):
        plot_slice(np.zeros((4, 5)), colorbar="no")


def unknown_size_dask_array(shape=(4, 4)):
    """A dask array whose first axis has an unknown size (NaN), as boolean indexing makes."""
    lazy = da.zeros(shape, chunks=2)
    return lazy[lazy.sum(axis=tuple(range(1, len(shape)))) >= 0]


def test_plots_refuse_an_array_of_unknown_size_where_sizes_are_needed():
    # plot_chunk_grid used to draw NaN edges (a RuntimeWarning in a cast), plot_levels
    # and plot_slice along an unknown axis to fail converting NaN to an integer.
    match = r"must have a known shape, got shape \(nan, 4(, 6)?\).*compute_chunk_sizes\(\)"
    with pytest.raises(ValueError, match="image2d " + match):
        plot_chunk_grid(unknown_size_dask_array())
    with pytest.raises(ValueError, match=r"levels\[0\] " + match):
        plot_levels([unknown_size_dask_array()])
    with pytest.raises(ValueError, match="array " + match):
        plot_slice(unknown_size_dask_array((4, 4, 6)), axis=0)
    assert plt.get_fignums() == []


def test_plot_slice_shows_an_array_of_unknown_size_when_no_position_needs_it():
    # A 2D array is shown whole, and a plane across the unknown axis needs no position
    # on it: these worked before and still do.
    ax = plot_slice(unknown_size_dask_array())
    assert ax.images[0].get_array().shape == (4, 4)
    ax = plot_slice(unknown_size_dask_array((4, 4, 6)), index=1, axis=2)
    assert ax.images[0].get_array().shape == (4, 4)


@pytest.mark.parametrize("shape", [(3, 0, 5), (0, 5), (4, 0), (0, 3, 4)])
def test_plot_slice_refuses_an_empty_array(shape):
    # It used to draw an empty image (with a matplotlib warning) or fail in indexing.
    with pytest.raises(ValueError, match=r"array must have at least one pixel along every axis"):
        plot_slice(np.zeros(shape))


# --------------------------------------------------------------------------- plot_chunk_grid


@pytest.mark.parametrize(
    ("shape", "chunks", "n_rows", "n_cols"),
    [((100, 150), (50, 64), 2, 3), ((64, 64), (64, 64), 1, 1), ((30, 200), (7, 25), 5, 8)],
)
def test_chunk_grid_draws_one_line_per_boundary_and_one_label_per_chunk(
    shape, chunks, n_rows, n_cols
):
    ax = plot_chunk_grid(np.zeros(shape), chunks)
    horizontal, vertical = ax.collections
    assert len(horizontal.get_segments()) == n_rows + 1
    assert len(vertical.get_segments()) == n_cols + 1
    labels = [t.get_text() for t in ax.texts]
    assert labels == [f"({i}, {j})" for i in range(n_rows) for j in range(n_cols)]
    assert f"{n_rows * n_cols} chunks" in ax.get_title()


def test_chunk_grid_boundaries_sit_between_pixels():
    ax = plot_chunk_grid(np.zeros((100, 150)), (50, 64))
    horizontal, vertical = ax.collections
    ys = sorted(seg[0][1] for seg in horizontal.get_segments())
    xs = sorted(seg[0][0] for seg in vertical.get_segments())
    assert ys == [-0.5, 49.5, 99.5]
    assert xs == [-0.5, 63.5, 127.5, 149.5]
    # Label of the cut-short last column: centre of pixels 128..149.
    last = ax.texts[2]
    assert last.get_text() == "(0, 2)"
    assert last.get_position() == (138.5, 24.5)


def test_chunk_grid_skips_labels_when_there_are_too_many():
    ax = plot_chunk_grid(np.zeros((110, 100)), (10, 10))  # 11 x 10 = 110 chunks
    assert len(ax.texts) == 0
    assert len(ax.collections[0].get_segments()) == 12
    ax = plot_chunk_grid(np.zeros((110, 100)), (10, 10), max_labels=200)
    assert len(ax.texts) == 110
    ax = plot_chunk_grid(np.zeros((20, 20)), (10, 10), show_indices=False)
    assert len(ax.texts) == 0


def test_chunk_grid_uses_the_chunks_of_zarr_and_dask_arrays():
    z = zarr.create_array({}, shape=(40, 90), chunks=(20, 30), dtype="uint8")
    ax = plot_chunk_grid(z)
    assert [len(c.get_segments()) for c in ax.collections] == [3, 4]
    assert len(ax.texts) == 6
    lazy = da.zeros((40, 90), chunks=((10, 30), (50, 40)))  # irregular chunks
    ax = plot_chunk_grid(lazy)
    ys = sorted(seg[0][1] for seg in ax.collections[0].get_segments())
    assert ys == [-0.5, 9.5, 39.5]
    assert [t.get_text() for t in ax.texts] == ["(0, 0)", "(0, 1)", "(1, 0)", "(1, 1)"]


def test_chunk_grid_shows_large_images_with_a_stride():
    recording = RecordingArray(np.zeros((5000, 300), dtype=np.uint8))
    ax = plot_chunk_grid(recording, (1000, 300), max_display=1000)
    assert recording.keys == [(slice(None, None, 5), slice(None, None, 5))]
    assert ax.images[0].get_array().shape == (1000, 60)
    # Coordinates stay those of the full-size image.
    assert ax.images[0].get_extent() == [-0.5, 299.5, 4999.5, -0.5]


CHUNKS = r"must be a \(chunk_y, chunk_x\) pair of integers >= 1"


@pytest.mark.parametrize(
    ("image", "chunks", "error", "match"),
    [
        (np.zeros((4, 4, 4)), (2, 2), ValueError, "image2d must be 2D"),
        (np.zeros((4, 4)), None, ValueError, r"chunks=None needs an array with chunks of its own"),
        (np.zeros((4, 4)), (2,), ValueError, r"chunks=\(2,\) " + CHUNKS),
        (np.zeros((4, 4)), (0, 2), ValueError, r"chunks=\(0, 2\) " + CHUNKS),
        (np.zeros((4, 4)), (), ValueError, r"chunks=\(\) " + CHUNKS),
        (np.zeros((4, 4)), "22", TypeError, r"chunks='22' " + CHUNKS),
        (np.zeros((4, 4)), 2, TypeError, r"chunks=2 " + CHUNKS),
        (np.zeros((4, 4)), (2.0, 2), TypeError, r"chunks=\(2\.0, 2\) " + CHUNKS),
        (np.zeros((4, 4)), (True, 2), TypeError, r"chunks=\(True, 2\) " + CHUNKS),
        (np.zeros((0, 4)), (2, 2), ValueError, r"image2d must have at least one pixel"),
    ],
)
def test_chunk_grid_rejects_bad_input(image, chunks, error, match):
    with pytest.raises(error, match=match):
        plot_chunk_grid(image, chunks)
    assert plt.get_fignums() == []  # refused before any figure was made


@pytest.mark.parametrize(
    ("chunks", "error"), [("22", TypeError), ((2.0, 2), TypeError), ((True, 2), TypeError)]
)
def test_chunk_grid_wrong_types_of_chunks_are_type_errors(chunks, error):
    # They used to be ValueErrors.
    with pytest.raises(error, match=r"chunks=.* " + CHUNKS):
        plot_chunk_grid(np.zeros((4, 4)), chunks)


def test_chunk_grid_takes_numpy_integers():
    # A numpy pair of chunks and a numpy max_display used to be refused.
    ax = plot_chunk_grid(np.zeros((100, 150)), np.array([50, 64]), max_display=np.int64(100))
    assert [len(lines.get_segments()) for lines in ax.collections] == [3, 4]
    assert ax.images[0].get_array().shape == (50, 75)  # stride 2


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"show_indices": "no"}, TypeError, r"show_indices='no' must be True or False"),
        ({"show_indices": 0}, TypeError, r"show_indices=0 must be True or False"),
        ({"max_labels": -1}, ValueError, r"max_labels=-1 must be an integer >= 0"),
        ({"max_labels": None}, TypeError, r"max_labels=None must be an integer >= 0"),
        ({"max_labels": 2.5}, TypeError, r"max_labels=2\.5 must be an integer >= 0"),
        ({"max_display": 0}, ValueError, r"max_display=0 must be an integer >= 1 \(pixels\)"),
        ({"max_display": 2.5}, TypeError, r"max_display=2\.5 must be an integer >= 1"),
        ({"max_display": True}, TypeError, r"max_display=True must be an integer >= 1"),
        ({"linewidth": 0}, ValueError, r"linewidth=0 must be a finite number > 0"),
        ({"linewidth": -1.0}, ValueError, r"linewidth=-1\.0 must be a finite number > 0"),
        ({"linewidth": float("nan")}, ValueError, r"linewidth=nan must be a finite number > 0"),
        ({"linewidth": "thick"}, TypeError, r"linewidth='thick' must be a finite number > 0"),
    ],
)
def test_chunk_grid_checks_its_flags_counts_and_sizes(kwargs, error, match):
    # Each of these used to be accepted (drawn with labels, no labels or invisible lines),
    # to fail inside matplotlib or numpy, or to raise the wrong exception.
    with pytest.raises(error, match=match):
        plot_chunk_grid(np.zeros((20, 20)), (10, 10), **kwargs)
    assert plt.get_fignums() == []


# --------------------------------------------------------------------------- plot_levels


def test_levels_titles_extent_and_contrast():
    level0 = np.arange(64, dtype=float).reshape(8, 8)
    levels = [level0, level0[::2, ::2], level0[::4, ::4]]
    fig = plot_levels(levels)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3
    assert [ax.get_title() for ax in fig.axes] == [
        "level 0\n(8, 8)",
        "level 1\n(4, 4)",
        "level 2\n(2, 2)",
    ]
    for ax, level in zip(fig.axes, levels, strict=True):
        (image,) = ax.images
        np.testing.assert_array_equal(image.get_array(), level)
        assert image.get_extent() == [-0.5, 7.5, 7.5, -0.5]  # all over level 0's extent
        assert image.get_clim() == (0.0, 63.0)  # all with level 0's contrast
        assert image.get_interpolation() == "nearest"


def test_levels_show_middle_plane_of_nd_levels_and_custom_titles():
    level0 = np.arange(4 * 6 * 6).reshape(4, 6, 6)
    level1 = level0[:, ::2, ::2]
    fig = plot_levels([level0, level1], titles=["full", "half"], vmin=0, vmax=1)
    assert [ax.get_title() for ax in fig.axes] == ["full", "half"]
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), level0[2])
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(), level1[2])
    assert fig.axes[1].images[0].get_clim() == (0, 1)


def test_levels_on_given_axes_and_zarr_levels():
    fig, axes = plt.subplots(1, 2)
    z = zarr.create_array({}, shape=(10, 10), chunks=(5, 5), dtype="float32")
    z[...] = 1.0
    returned = plot_levels([z, np.ones((5, 5))], axes=axes)
    assert returned is fig
    assert all(len(ax.images) == 1 for ax in axes)


@pytest.mark.parametrize(
    ("levels", "kwargs", "error", "match"),
    [
        ([], {}, ValueError, "at least one"),
        (np.zeros((4, 4)), {}, TypeError, "levels must be a list"),
        ([np.zeros(4)], {}, ValueError, r"levels\[0\] must have at least 2"),
        ([np.zeros((4, 4)), np.zeros((0, 2))], {}, ValueError,
         r"levels\[1\] must have at least one pixel along every axis, got shape \(0, 2\)"),
        ([np.zeros((4, 4))], {"titles": ["a", "b"]}, ValueError,
         r"titles=\['a', 'b'\] must hold one title per level \(1\)"),
        ([np.zeros((4, 4))], {"titles": "a"}, TypeError, r"titles='a' must be a list of one"),
        ([np.zeros((4, 4))], {"titles": 3}, TypeError, r"titles=3 must be a list of one"),
        ([np.zeros((4, 4))] * 2, {"axes": [None]}, ValueError,
         r"axes=\[None\] must hold one matplotlib Axes per level \(2\)"),
        ([np.zeros((4, 4))] * 2, {"axes": [None, None]}, TypeError,
         r"axes\[0\]=None must be a matplotlib Axes"),
        ([np.zeros((4, 4))], {"panel_size": 0}, ValueError,
         r"panel_size=0 must be a finite number > 0"),
        ([np.zeros((4, 4))], {"panel_size": -2.0}, ValueError, r"panel_size=-2\.0 must be"),
        ([np.zeros((4, 4))], {"panel_size": float("inf")}, ValueError, r"panel_size=inf must be"),
        ([np.zeros((4, 4))], {"panel_size": True}, TypeError, r"panel_size=True must be"),
        ([np.zeros((4, 4))], {"max_display": 0}, ValueError, r"max_display=0 must be an integer"),
        ([np.zeros((4, 4))], {"max_display": 1e3}, TypeError, r"max_display=1000\.0 must be an"),
    ],
)
def test_levels_reject_bad_input(levels, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_levels(levels, **kwargs)
    assert plt.get_fignums() == []  # refused before any figure was made


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"panel_size": True}, TypeError),
        ({"panel_size": 0}, ValueError),
        ({"panel_size": float("nan")}, ValueError),
        ({"titles": "ab"}, TypeError),
        ({"axes": [None, None]}, TypeError),
        ({"max_display": 0}, ValueError),
    ],
)
def test_levels_check_every_argument_before_making_a_figure(kwargs, error):
    # panel_size=True and 0 used to make a figure, NaN failed inside matplotlib, a
    # string of titles and non-Axes were ValueErrors, and a bad max_display was found
    # only after a figure had been made (and left open).
    with pytest.raises(error, match=r"(panel_size|titles|axes\[0\]|max_display)=.* must"):
        plot_levels([np.zeros((4, 4)), np.zeros((2, 2))], **kwargs)
    assert plt.get_fignums() == []


def test_levels_take_a_numpy_max_display_and_return_the_figure_of_subfigure_axes():
    # np.int64 used to be refused; axes in a subfigure used to give the SubFigure, which
    # cannot be saved, although a Figure is what plot_levels says it returns.
    fig = plt.figure()
    axes = fig.subfigures(1, 2)[0].subplots(1, 2)
    returned = plot_levels([np.zeros((8, 8)), np.zeros((4, 4))], axes=axes,
                           max_display=np.int64(4))
    assert returned is fig
    assert axes[0].images[0].get_array().shape == (4, 4)  # stride 2


# --------------------------------------------------------------------------- plot_codec_bytes


def test_codec_bytes_from_a_mapping():
    ax = plot_codec_bytes({"none": 4 * 2**20, "zstd": 2**20, "lz4": 1.5 * 2**20})
    assert isinstance(ax, Axes)
    assert [p.get_width() for p in ax.patches] == [4.0, 1.0, 1.5]  # in MiB
    assert [t.get_text() for t in ax.get_yticklabels()] == ["none", "zstd", "lz4"]
    assert [t.get_text() for t in ax.texts] == ["4.00 MiB", "1.00 MiB", "1.50 MiB"]
    assert "MiB" in ax.get_xlabel()
    # All labels fit inside the axes: the x range leaves room after the longest bar.
    ax.figure.canvas.draw()
    right_edge = ax.get_window_extent().x1
    assert all(t.get_window_extent().x1 <= right_edge for t in ax.texts)


def test_codec_bytes_from_records_with_ratios():
    records = [
        {"codec": "none", "bytes": 2**21, "ratio": 1.0},
        {"codec": "blosc-zstd", "bytes": 2**19, "ratio": 4.0},
        {"codec": "gzip", "bytes": 2**19},  # ratio is optional
    ]
    _, ax = plt.subplots()
    assert plot_codec_bytes(records, ax=ax, title=None) is ax
    assert len(ax.patches) == 3
    assert [t.get_text() for t in ax.texts] == [
        "2.00 MiB (1.0x)",
        "0.50 MiB (4.0x)",
        "0.50 MiB",
    ]
    assert ax.get_title() == ""


BYTES = r"must be a finite number of bytes >= 0"
ROW = r"must be a dict with keys 'codec' and 'bytes' \(and optionally 'ratio'\)"
RATIO = r"must be None or a finite compression ratio > 0"


@pytest.mark.parametrize(
    ("results", "error", "match"),
    [
        ({}, ValueError, r"results=\{\} must hold at least one codec"),
        ("zstd", TypeError, r"results='zstd' must be a mapping \{codec: bytes\} or a list"),
        ({"zstd": -1}, ValueError, r"results\['zstd'\]=-1 " + BYTES),
        ({"zstd": float("inf")}, ValueError, r"results\['zstd'\]=inf " + BYTES),
        ({"zstd": float("nan")}, ValueError, r"results\['zstd'\]=nan " + BYTES),
        ({"zstd": "big"}, TypeError, r"results\['zstd'\]='big' " + BYTES),
        ({"zstd": None}, TypeError, r"results\['zstd'\]=None " + BYTES),
        ([{"codec": "zstd"}], ValueError, r"results\[0\]=\{'codec': 'zstd'\} " + ROW),
        (["zstd"], TypeError, r"results\[0\]='zstd' " + ROW),
        ([{"codec": "zstd", "bytes": True}], TypeError, r"results\[0\]\['bytes'\]=True " + BYTES),
        ([{"codec": "zstd", "bytes": 1, "ratio": -2}], ValueError, r"\['ratio'\]=-2 " + RATIO),
        ([{"codec": "zstd", "bytes": 1, "ratio": 0}], ValueError, r"\['ratio'\]=0 " + RATIO),
        ([{"codec": "zstd", "bytes": 1, "ratio": float("inf")}], ValueError,
         r"\['ratio'\]=inf " + RATIO),
        ([{"codec": "zstd", "bytes": 1, "ratio": "4x"}], TypeError, r"\['ratio'\]='4x' " + RATIO),
    ],
)
def test_codec_bytes_rejects_bad_input(results, error, match):
    with pytest.raises(error, match=match):
        plot_codec_bytes(results)
    assert plt.get_fignums() == []  # refused before any figure was made


@pytest.mark.parametrize(
    ("results", "error"),
    [
        ({"zstd": float("inf")}, ValueError),
        ({"zstd": "big"}, TypeError),
        ([{"codec": "zstd", "bytes": True}], TypeError),
        (["zstd"], TypeError),
        ([{"codec": "zstd", "bytes": 1, "ratio": 0}], ValueError),
        ([{"codec": "zstd", "bytes": 1, "ratio": float("inf")}], ValueError),
    ],
)
def test_codec_bytes_numbers_follow_the_rule(results, error):
    # Infinite bytes failed inside matplotlib; a string or a bool as bytes and a row
    # that is not a dict were ValueErrors; a ratio of 0 or infinity was drawn.
    with pytest.raises(error, match=r"results\[.*\]=.* must be"):
        plot_codec_bytes(results)


def test_plot_levels_strides_large_levels():
    big = np.arange(3000 * 40, dtype=np.uint16).reshape(40, 3000)
    fig = plot_levels([big, big[::2, ::2]], max_display=500)
    first, second = (ax.get_images()[0].get_array() for ax in fig.axes)
    assert first.shape == (7, 500)       # stride 6 along both axes
    assert second.shape == (7, 500)      # (20, 1500) with stride 3
    plt.close(fig)
    with pytest.raises(ValueError, match=r"max_display=0 must be an integer >= 1 \(pixels\)"):
        plot_levels([big], max_display=0)


# ------------------------------------------------------------------ plot_chunks_touched


def _touched_by_brute_force(shape, chunks, axis, index, itemsize):
    """Chunks whose region holds the plane, and the bytes they hold, counted one by one."""
    count = n_bytes = 0
    for corner in np.ndindex(*(-(-s // c) for s, c in zip(shape, chunks, strict=True))):
        lo = [i * c for i, c in zip(corner, chunks, strict=True)]
        hi = [min(s, (i + 1) * c) for i, c, s in zip(corner, chunks, shape, strict=True)]
        if lo[axis] <= index < hi[axis]:
            count += 1
            n_bytes += int(np.prod(np.subtract(hi, lo))) * itemsize
    return count, n_bytes


def _collection(ax, gid):
    (found,) = [c for c in ax.collections if c.get_gid() == gid]
    return found


def _points3d(collection):
    """The 3D points of a Poly3DCollection or Line3DCollection, as (n, 3) array.

    mplot3d keeps them in private attributes only (its public getters return the 2D
    projection, after a draw); matplotlib is pinned, so reading them is stable.
    """
    if hasattr(collection, "_segments3d"):
        return np.concatenate([np.asarray(s) for s in collection._segments3d])
    return np.asarray(collection._faces).reshape(-1, 3)


@pytest.mark.parametrize(
    ("shape", "chunks", "axis", "index"),
    [
        ((128, 256, 256), (1, 256, 256), 0, 64),
        ((128, 256, 256), (128, 16, 16), 0, 64),
        ((128, 256, 256), (32, 64, 64), 0, 64),
        ((128, 256, 256), (32, 64, 64), 1, 200),
        ((10, 12, 14), (4, 5, 6), 0, 9),     # the last layer is cut short by the volume
        ((10, 12, 14), (4, 5, 6), 2, -1),    # counts from the end, like numpy
        ((10, 12, 14), (40, 50, 60), 1, 3),  # chunks bigger than the volume: one chunk
    ],
)
def test_chunks_touched_titles_count_what_a_read_decompresses(shape, chunks, axis, index):
    from data_helpers.inspect import format_bytes
    from data_helpers.plotting import plot_chunks_touched

    fig = plot_chunks_touched(shape, [chunks], axis=axis, index=index, itemsize=2)
    (ax,) = fig.axes
    count, n_bytes = _touched_by_brute_force(shape, chunks, axis, index % shape[axis], 2)
    total = int(np.prod([-(-s // c) for s, c in zip(shape, chunks, strict=True)]))
    assert ax.get_title() == (
        f"chunks {chunks}\n{count} of {total} chunks touched, {format_bytes(n_bytes)} read"
    )


def test_chunks_touched_shades_the_layer_holding_the_plane():
    from data_helpers.plotting import plot_chunks_touched

    fig = plot_chunks_touched((10, 12, 14), [(4, 5, 6)], index=9, labels=["cut short"])
    (ax,) = fig.axes
    assert ax.get_title().startswith("cut short: chunks (4, 5, 6)\n")
    # Plot coordinates are (x, y, z): array z (axis 0) is the plot's third coordinate.
    touched = _points3d(_collection(ax, "touched"))
    assert touched[:, 2].min() == 8 and touched[:, 2].max() == 10  # layer 2: z 8..10
    assert touched[:, 0].max() == 14 and touched[:, 1].max() == 12  # the whole xy extent
    plane = _points3d(_collection(ax, "plane"))
    np.testing.assert_array_equal(plane[:, 2], 9.5)  # through the middle of pixel 9


def test_chunks_touched_draws_one_grid_line_per_boundary_on_three_sides():
    from data_helpers.plotting import plot_chunks_touched

    fig = plot_chunks_touched((4, 6, 8), [(2, 3, 4)])
    lines = _points3d(_collection(fig.axes[0], "grid")).reshape(-1, 2, 3)
    # Boundaries (edges included): 3 along z, 3 along y, 3 along x. Each of the three
    # sides facing the viewer shows the boundaries of its two axes.
    assert len(lines) == 2 * (3 + 3 + 3)
    # Every line lies on the outside of the volume (plot order x, y, z = 8, 6, 4).
    on_a_side = (np.isin(lines[..., 0], [0, 8]) | np.isin(lines[..., 1], [0, 6])
                 | np.isin(lines[..., 2], [0, 4]))
    assert on_a_side.all()


def test_chunks_touched_one_panel_per_chunk_shape_in_order():
    from data_helpers.plotting import plot_chunks_touched

    fig = plot_chunks_touched((8, 8, 8), [(1, 8, 8), (8, 1, 1), (4, 4, 4)], axis=-1)
    assert isinstance(fig, Figure)
    assert [ax.get_title().split("\n")[0] for ax in fig.axes] == [
        "chunks (1, 8, 8)", "chunks (8, 1, 1)", "chunks (4, 4, 4)",
    ]
    assert [ax.get_title().split("\n")[1].split(",")[0] for ax in fig.axes] == [
        "8 of 8 chunks touched", "8 of 64 chunks touched", "4 of 8 chunks touched",
    ]


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (((8, 8), [(1, 8, 8)]), {}, ValueError, r"shape=\(8, 8\) must be a sequence of 3"),
        (((8, 8, 0), [(1, 8, 8)]), {}, ValueError, r"shape=\(8, 8, 0\) must be"),
        (((8, 8, 8.0), [(1, 8, 8)]), {}, TypeError, r"shape=\(8, 8, 8.0\) must be"),
        (("888", [(1, 8, 8)]), {}, TypeError, r"shape='888' must be"),
        (((8, 8, 8), []), {}, ValueError, r"chunk_shapes must hold at least one"),
        (((8, 8, 8), (1, 8, 8)), {}, TypeError, r"chunk_shapes\[0\]=1 must be"),
        (((8, 8, 8), "chunks"), {}, TypeError, r"chunk_shapes='chunks' must be a list"),
        (((8, 8, 8), [(1, 8)]), {}, ValueError, r"chunk_shapes\[0\]=\(1, 8\) must be"),
        (((8, 8, 8), [(0, 8, 8)]), {}, ValueError, r"chunk_shapes\[0\]=\(0, 8, 8\) must be"),
        (((8, 8, 8), [(1, 8, 8)]), {"axis": 3}, ValueError, r"axis=3 must be an integer"),
        (((8, 8, 8), [(1, 8, 8)]), {"axis": 1.0}, TypeError, r"axis=1.0 must be an integer"),
        (((8, 8, 8), [(1, 8, 8)]), {"index": 8}, ValueError, r"index=8 must be an integer"),
        (((8, 8, 8), [(1, 8, 8)]), {"index": True}, TypeError, r"index=True must be"),
        (((8, 8, 8), [(1, 8, 8)]), {"itemsize": 0}, ValueError, r"itemsize=0 must be"),
        (((8, 8, 8), [(1, 8, 8)]), {"labels": ["a", "b"]}, ValueError, r"labels=.* one name"),
        (((8, 8, 8), [(1, 8, 8)]), {"labels": "a"}, TypeError, r"labels='a' must be a list"),
        (((8, 8, 8), [(1, 8, 8)]), {"labels": [1]}, TypeError, r"labels=\[1\] must be"),
        (((8, 8, 8), [(1, 8, 8)]), {"panel_size": 0}, ValueError, r"panel_size=0 must be"),
        (((8, 8, 8), [(1, 8, 8)]), {"grid_color": "nope"}, ValueError,
         r"grid_color='nope' must be a matplotlib colour"),
    ],
)
def test_chunks_touched_rejects_bad_input_before_making_a_figure(args, kwargs, error, match):
    from data_helpers.plotting import plot_chunks_touched

    with pytest.raises(error, match=match):
        plot_chunks_touched(*args, **kwargs)
    assert plt.get_fignums() == []


# ------------------------------------------ label_colors, plot_labels, footprints, profile

from data_helpers.plotting import (  # noqa: E402
    label_colors,
    plot_labels,
    plot_pixel_footprints,
    plot_profile,
)


def test_label_colors_depend_only_on_the_id():
    alone = label_colors([17])
    among_others = label_colors(np.arange(40))[17]
    np.testing.assert_array_equal(alone[0], among_others)
    assert label_colors(17).shape == (1, 4)
    np.testing.assert_array_equal(label_colors(np.uint32(17)), alone)


def test_label_colors_background_is_clear_and_others_opaque_and_distinct():
    colors = label_colors(np.arange(200))
    assert colors[0].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert (colors[1:, 3] == 1).all()
    assert ((colors >= 0) & (colors <= 1)).all()
    # Consecutive ids, often neighbours in an image, never look alike.
    steps = np.abs(np.diff(colors[1:, :3], axis=0)).sum(axis=1)
    assert steps.min() > 0.2
    assert len({tuple(c) for c in colors}) == 200
    assert label_colors([]).shape == (0, 4)


@pytest.mark.parametrize(
    ("ids", "error", "match"),
    [
        (-1, ValueError, r"ids must be an integer label id >= 0 or an array of them, got -1"),
        ([3, -2], ValueError, r"ids must be .*, got -2"),
        (1.5, TypeError, r"ids=1\.5 must be an integer label id >= 0"),
        ([1.0, 2.0], TypeError, r"ids must be .*got dtype float64"),
        ("7", TypeError, r"ids='7' must be an integer label id"),
        (True, TypeError, r"ids=True must be .*not a bool"),
        ([[1, 2], [3]], TypeError, r"ids=\[\[1, 2\], \[3\]\] must be"),
    ],
)
def test_label_colors_rejects_bad_ids(ids, error, match):
    with pytest.raises(error, match=match):
        label_colors(ids)


def test_plot_labels_gives_an_id_the_same_colour_in_every_panel():
    first = np.array([[0, 5], [5, 9]])
    second = np.array([[9, 0, 300]])  # other ids alongside, another shape
    rgba_1 = plot_labels(first).images[-1].get_array()
    rgba_2 = plot_labels(second).images[-1].get_array()
    np.testing.assert_array_equal(rgba_1[1, 1], rgba_2[0, 0])  # id 9
    np.testing.assert_array_equal(rgba_1[1, 1, :3], label_colors(9)[0, :3])
    np.testing.assert_array_equal(rgba_1[0, 0], [0, 0, 0, 1])  # opaque black background


def test_plot_labels_overlays_an_image():
    labels = np.array([[0, 2], [2, 2]], dtype=np.uint32)
    image = np.arange(4.0).reshape(2, 2)
    _, ax = plt.subplots()
    returned = plot_labels(labels, image=image, ax=ax, alpha=0.25, title="overlay", vmax=10)
    assert returned is ax
    below, above = ax.images
    np.testing.assert_array_equal(below.get_array(), image)
    assert below.get_clim()[1] == 10
    rgba = above.get_array()
    assert rgba[0, 0, 3] == 0          # the background leaves the image clear
    assert (rgba[labels == 2][:, 3] == 0.25).all()
    assert ax.get_title() == "overlay"


def test_plot_labels_reads_zarr_and_dask():
    labels = np.array([[0, 1], [2, 3]], dtype=np.uint16)
    expected = plot_labels(labels).images[-1].get_array()
    z = zarr.create_array(store={}, shape=(2, 2), dtype=np.uint16)
    z[...] = labels
    for array in (z, da.from_array(labels, chunks=1)):
        np.testing.assert_array_equal(plot_labels(array).images[-1].get_array(), expected)


@pytest.mark.parametrize(
    ("labels", "kwargs", "error", "match"),
    [
        (np.zeros((2, 2, 2), dtype=int), {}, ValueError, r"labels must be 2D, got shape"),
        (np.zeros((0, 3), dtype=int), {}, ValueError, "at least one pixel along every axis"),
        (np.zeros((2, 2)), {}, TypeError, r"integer label ids, got dtype float64"),
        (np.array([[0, -1]]), {}, ValueError, r"labels must hold ids >= 0, got -1"),
        (np.zeros((2, 2), dtype=int), {"image": np.zeros((3, 2))}, ValueError,
         r"image must have the shape of labels \(2, 2\), got \(3, 2\)"),
        (np.zeros((2, 2), dtype=int), {"alpha": 1.5}, ValueError,
         r"alpha=1\.5 must be a number from 0 to 1"),
        (np.zeros((2, 2), dtype=int), {"alpha": -0.1}, ValueError,
         r"alpha=-0\.1 must be a number from 0 to 1"),
        (np.zeros((2, 2), dtype=int), {"alpha": "half"}, TypeError, r"alpha='half' must be"),
        (np.zeros((2, 2), dtype=int), {"ax": "left"}, TypeError, "ax must be"),
    ],
)
def test_plot_labels_rejects_bad_input(labels, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_labels(labels, **kwargs)
    assert plt.get_fignums() == []


def boxes(ax, y):
    """(left, width, filled) of the boxes drawn on row ``y`` of a footprint diagram."""
    return sorted(
        (round(p.get_x(), 9), round(p.get_width(), 9), p.get_fill())
        for p in ax.patches if abs(p.get_y() + p.get_height() / 2 - y) < 1e-9
    )


def test_plot_pixel_footprints_places_the_rows_as_the_metadata_says():
    ax = plot_pixel_footprints(factor=3, n_pixels=6, scale=0.5, unit="µm")
    dots = [line.get_xdata().tolist() for line in ax.lines[-4:]]
    assert dots == [
        [0.0, 0.5, 1.0, 1.5, 2.0, 2.5],   # level 0: i * 0.5
        [0.5, 2.0],                       # mean: translation (3 - 1) / 2 * 0.5
        [0.0, 1.5],                       # mean placed without it
        [0.0, 1.5],                       # nearest: translation 0
    ]
    assert [t.get_text() for t in ax.texts][1] == "mean, translation 0.5"
    assert ax.get_xlabel() == "position (µm)"
    assert ax.get_xticks().tolist() == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    # The translated mean boxes cover exactly the windows they average...
    assert boxes(ax, 2) == [(-0.25, 1.5, False), (1.25, 1.5, False)]
    fine = boxes(ax, 3)
    assert [b[0] for b in boxes(ax, 2)] == [fine[0][0], fine[3][0]]
    # ...the untranslated ones stick out by half a fine pixel per factor step...
    assert boxes(ax, 1) == [(-0.75, 1.5, False), (0.75, 1.5, False)]
    # ...and nearest's outlines are those same boxes, with the copied pixels shaded.
    outlines = [b for b in boxes(ax, 0) if not b[2]]
    shaded = [b for b in boxes(ax, 0) if b[2]]
    assert outlines == boxes(ax, 1)
    assert shaded == [(fine[0][0], 0.5, True), (fine[3][0], 0.5, True)]


def test_plot_pixel_footprints_draws_a_partial_last_window():
    ax = plot_pixel_footprints(factor=2, n_pixels=5)
    assert [len(line.get_xdata()) for line in ax.lines[-4:]] == [5, 3, 3, 3]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"factor": 1}, ValueError, r"factor=1 must be an integer >= 2"),
        ({"factor": 2.0}, TypeError, r"factor=2\.0 must be an integer >= 2"),
        ({"factor": 4, "n_pixels": 3}, ValueError, r"n_pixels=3 must be an integer >= factor"),
        ({"n_pixels": "8"}, TypeError, r"n_pixels='8' must be"),
        ({"scale": 0}, ValueError, r"scale=0 must be a finite number > 0"),
        ({"scale": float("nan")}, ValueError, r"scale=nan must be a finite number > 0"),
        ({"ax": 3}, TypeError, "ax must be"),
    ],
)
def test_plot_pixel_footprints_rejects_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_pixel_footprints(**kwargs)
    assert plt.get_fignums() == []


def test_plot_profile_draws_each_level_at_its_positions():
    fine = np.arange(8 * 8).reshape(8, 8)
    coarse = fine.reshape(4, 2, 4, 2).mean(axis=(1, 3))
    ax = plot_profile([fine, coarse], 2.9, scales=[(1, 1), (2, 2)],
                      translations=[(0, 0), (0.5, 0.5)], x_range=(1, 5.5),
                      labels=["fine", "coarse"], unit="µm", color="k")
    first, second = ax.lines
    assert first.get_xdata().tolist() == [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(first.get_ydata(), fine[3, 1:6])     # row 3 holds 2.9
    assert second.get_xdata().tolist() == [2.5, 4.5]
    np.testing.assert_array_equal(second.get_ydata(), coarse[1, 1:3])  # 2.9 - 0.5 -> row 1
    assert [line.get_label() for line in ax.lines] == ["fine", "coarse"]
    assert first.get_drawstyle() == "steps-mid" and first.get_color() == "k"
    assert ax.get_xlabel() == "x (µm)"


def test_plot_profile_reads_only_the_row_it_draws():
    recording = RecordingArray(np.arange(6 * 5).reshape(6, 5))
    ax = plot_profile([recording], 4.0, scales=[(1, 1)], translations=[(0, 0)])
    assert recording.keys == [(4, slice(0, 5))]
    assert ax.lines[0].get_xdata().tolist() == [0, 1, 2, 3, 4]  # default: all of level 0


def test_plot_profile_adds_to_given_axes():
    _, ax = plt.subplots()
    image = np.ones((4, 4))
    plot_profile([image], 0, scales=[(1, 1)], translations=[(0, 0)], ax=ax)
    returned = plot_profile([image], 0, scales=[(1, 1)], translations=[(0, 0)], ax=ax,
                            labels=["again"], linestyle="--", marker="s")
    assert returned is ax and len(ax.lines) == 2
    assert ax.lines[1].get_linestyle() == "--" and ax.lines[1].get_marker() == "s"
    assert ax.get_xlabel() == "x"


def test_plot_profile_drawn_on_top_keeps_the_axis_labels():
    # A second profile without a unit used to replace "x (µm)" by "x".
    image = np.ones((4, 4))
    ax = plot_profile([image], 0, scales=[(1, 1)], translations=[(0, 0)], unit="µm")
    ax.set_ylabel("intensity")
    plot_profile([image], 0, scales=[(1, 1)], translations=[(0, 0)], ax=ax)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x (µm)", "intensity")
    plot_profile([image], 0, scales=[(1, 1)], translations=[(0, 0)], ax=ax, unit="nm")
    assert ax.get_xlabel() == "x (nm)"


ONE = {"scales": [(1, 1)], "translations": [(0, 0)]}


@pytest.mark.parametrize(
    ("levels", "y", "kwargs", "error", "match"),
    [
        ([], 0, ONE, ValueError, "levels must hold at least one array"),
        (np.zeros((3, 3)), 0, ONE, TypeError, "levels must be a list of 2D array-likes"),
        ([np.zeros((2, 3, 3))], 0, ONE, ValueError, r"levels\[0\] must be 2D"),
        ([np.zeros((0, 3))], 0, ONE, ValueError, "at least one pixel"),
        ([np.zeros((3, 3))], 0, {"scales": [], "translations": [(0, 0)]}, ValueError,
         r"scales=\[\] must be a list of 1 \(y, x\) pairs"),
        ([np.zeros((3, 3))], 0, {"scales": [(1, 0)], "translations": [(0, 0)]}, ValueError,
         r"scales\[0\]=\(1, 0\) must be two numbers > 0"),
        ([np.zeros((3, 3))], 0, {"scales": [1], "translations": [(0, 0)]}, TypeError,
         r"scales\[0\]=1 must be a \(y, x\) pair of numbers"),
        ([np.zeros((3, 3))], 0, {"scales": [(1, 1)], "translations": "0"}, TypeError,
         r"translations='0' must be a list of 1"),
        ([np.zeros((3, 3))], "0", ONE, TypeError, r"y='0' must be a finite number"),
        ([np.zeros((3, 3))], 3, ONE, ValueError,
         r"y=3\.0 lies outside levels\[0\], whose rows are centred from 0\.0 to 2\.0"),
        ([np.zeros((3, 3))], 0, {**ONE, "x_range": (5, 6)}, ValueError,
         r"x_range=\(5, 6\) holds no pixel centre of levels\[0\]"),
        ([np.zeros((3, 3))], 0, {**ONE, "x_range": 5}, TypeError,
         r"x_range=5 must be an \(x_min, x_max\) pair"),
        ([np.zeros((3, 3))], 0, {**ONE, "labels": ["a", "b"]}, ValueError,
         r"must hold one label per level \(1\)"),
    ],
)
def test_plot_profile_rejects_bad_input(levels, y, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_profile(levels, y, **kwargs)
    assert plt.get_fignums() == []


# --------------------------------------------------------------------------- plot_tile_stack


def _planes(ax):
    return [p for p in ax.patches if p.get_label().startswith("frame ")]


def _chunk_tiles(ax):
    return [p for p in ax.patches if p.get_label().startswith("chunk tile")]


def test_tile_stack_draws_every_frame_of_a_short_chunk_and_the_next_one():
    ax = plot_tile_stack((54, 96), (18, 32), 4)
    assert isinstance(ax, Axes)
    # Back to front: the next chunk's first frame, then frames 3, 2, 1, 0.
    assert [p.get_label() for p in _planes(ax)] == [f"frame {i}" for i in (4, 3, 2, 1, 0)]
    assert [p.get_label() for p in _chunk_tiles(ax)] == [
        f"chunk tile, frame {i}" for i in (3, 2, 1, 0)]
    # Each highlighted tile is the tile's size, and the front plane the frame's.
    assert {(p.get_width(), p.get_height()) for p in _chunk_tiles(ax)} == {(32, 18)}
    assert (_planes(ax)[-1].get_width(), _planes(ax)[-1].get_height()) == (96, 54)
    assert ax.get_title() == "frames of (54, 96) in tiles of (18, 32): 4 frames per chunk"
    texts = [t.get_text() for t in ax.texts]
    assert "frame 4: first of the next chunk" in texts
    assert any(t.startswith("one chunk: tile (0, 0) of frames 0 to 3\n4 x 18 x 32 pixels")
               for t in [a.get_text() for a in ax.texts])


def test_tile_stack_leaves_out_the_middle_of_a_long_chunk_and_says_so():
    ax = plot_tile_stack((1080, 1920), (360, 640), 291, max_planes=4, show_next=False)
    assert [p.get_label() for p in _planes(ax)] == ["frame 290", "frame 2", "frame 1",
                                                    "frame 0"]
    assert "frame 290\n(287 frames before it not drawn)" in [t.get_text() for t in ax.texts]


def test_tile_stack_writes_the_chunk_size_in_bytes_and_highlights_the_chosen_tile():
    ax = plot_tile_stack((1080, 1920), (360, 640), 291, dtype="uint8", tile=(-1, 1))
    note = next(t.get_text() for t in ax.texts if t.get_text().startswith("one chunk"))
    assert note == "one chunk: tile (2, 1) of frames 0 to 290\n291 x 360 x 640 pixels = 63.9 MiB"
    front = _chunk_tiles(ax)[-1]  # frame 0's, at depth 0: at the tile's place in the frame
    assert front.get_xy() == (640, -1080)


def test_tile_stack_draws_the_frames_it_is_given_and_reads_only_those():
    data = np.arange(3 * 1 * 54 * 96, dtype=np.uint16).reshape(3, 1, 54, 96)  # (t, c, y, x)
    recording = RecordingArray(data)
    recording.dtype = data.dtype
    ax = plot_tile_stack((54, 96), (18, 32), 2, frames=recording, max_display=48)
    # Frames 0 and 1 (the chunk) and 2 (the next one), strided by 2, read once each.
    assert sorted(k[0] for k in recording.keys) == [0, 1, 2]
    assert all(k[2] == slice(None, None, 2) for k in recording.keys)
    assert len(ax.images) == 3
    np.testing.assert_array_equal(ax.images[-1].get_array(), data[0, 0, ::2, ::2])
    assert "2 x 18 x 32 pixels = 2.2 KiB" in next(
        t.get_text() for t in ax.texts if t.get_text().startswith("one chunk"))
    # A plane past the end of the frames is drawn without pixels.
    ax = plot_tile_stack((54, 96), (18, 32), 3, frames=data)
    assert len(ax.images) == 3 and len(_planes(ax)) == 4


def test_tile_stack_on_given_axes():
    _, ax = plt.subplots()
    assert plot_tile_stack((10, 10), (10, 10), 1, ax=ax, title="one tile") is ax
    assert ax.get_title() == "one tile"
    assert [p.get_label() for p in _chunk_tiles(ax)] == ["chunk tile, frame 0"]


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (((54,), (18, 32), 4), {}, ValueError, r"frame_shape=\(54,\) must be a \(height, width\)"),
        (((54, 96.0), (18, 32), 4), {}, TypeError, r"frame_shape=\(54, 96\.0\) must be"),
        (((54, 96), (0, 32), 4), {}, ValueError, r"tile_shape=\(0, 32\) must be"),
        (((54, 96), (60, 32), 4), {}, ValueError, r"tile_shape=\(60, 32\) must fit in"),
        (((54, 96), (18, 32), 0), {}, ValueError, r"frames_per_chunk=0 must be an integer >= 1"),
        (((54, 96), (18, 32), 2.0), {}, TypeError, r"frames_per_chunk=2\.0 must be an integer"),
        (((54, 96), (18, 32), 4), {"tile": (3, 0)}, ValueError,
         r"tile\[0\]=3 must be an integer in \[-3, 3\) \(a row of the 3 x 3 tiles\)"),
        (((54, 96), (18, 32), 4), {"tile": 0}, TypeError, r"tile=0 must be a \(row, column\)"),
        (((54, 96), (18, 32), 4), {"tile": (0,)}, ValueError, r"tile=\(0,\) must be a \(row"),
        (((54, 96), (18, 32), 4), {"frames": np.zeros((2, 54, 90))}, ValueError,
         r"frames must have time first and frame_shape=\(54, 96\) last.*\(2, 54, 90\)"),
        (((54, 96), (18, 32), 4), {"frames": np.zeros((54, 96))}, ValueError,
         r"frames must have time first"),
        (((54, 96), (18, 32), 4), {"frames": np.zeros((0, 54, 96))}, ValueError,
         r"frames must have at least one pixel along every axis"),
        (((54, 96), (18, 32), 4), {"dtype": "complex64"}, ValueError, r"dtype='complex64'"),
        (((54, 96), (18, 32), 4), {"show_next": 1}, TypeError, r"show_next=1 must be True"),
        (((54, 96), (18, 32), 4), {"max_planes": 1}, ValueError, r"max_planes=1 must be an"),
        (((54, 96), (18, 32), 4), {"max_display": 0}, ValueError, r"max_display=0 must be"),
        (((54, 96), (18, 32), 4), {"ax": "left"}, TypeError, r"ax must be a matplotlib Axes"),
    ],
)
def test_tile_stack_rejects_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_tile_stack(*args, **kwargs)
    assert plt.get_fignums() == []


# --------------------------------------------------------------------------- plot_shard


def _entries(ax):
    return [p for p in ax.patches if p.get_label().startswith("entry ")]


def _chunk_bytes(ax):
    return {p.get_label(): p for p in ax.patches if p.get_label().startswith("bytes of")}


def _entry_texts(ax, n):
    """The (offset, nbytes) texts of the n index entries, in order."""
    boxes = _entries(ax)
    texts = []
    for box in boxes:
        x, y = box.get_xy()
        centre = (x + box.get_width() / 2, y + box.get_height() / 2)
        texts += [t.get_text() for t in ax.texts if t.get_position() == centre]
    assert len(texts) == n
    return texts


def _uncompressed_sharded(path, index_location="end"):
    data = np.arange(6 * 9, dtype=np.uint16).reshape(6, 9)
    # (zarr 3.1.6 needs "index_location" in a shards dict: without it, it fails.)
    z = zarr.create_array(path, shape=data.shape, chunks=(3, 3), dtype=data.dtype,
                          shards={"shape": (6, 9), "index_location": index_location},
                          compressors=None)
    z[:] = data
    return z, data


@pytest.mark.parametrize("location", ["end", "start"])
def test_shard_draws_the_offsets_and_lengths_its_file_holds(tmp_path, location):
    z, data = _uncompressed_sharded(tmp_path / "a.zarr", index_location=location)
    ax = plot_shard(z)
    assert isinstance(ax, Axes)
    raw = (tmp_path / "a.zarr" / "c" / "0" / "0").read_bytes()
    texts = _entry_texts(ax, 6)
    for k, text in enumerate(texts):
        offset, nbytes = (int(v.replace(",", "")) for v in text.split("\n"))
        # Uncompressed: the bytes the entry points at are exactly the chunk's pixels.
        i, j = divmod(k, 3)
        assert raw[offset:offset + nbytes] == data[3 * i:3 * i + 3, 3 * j:3 * j + 3].tobytes()
    # The index (6 x 16 bytes + a 4-byte crc32c) is where the array says, and checks out.
    index = next(p for p in ax.patches if p.get_label() == "index")
    assert (index.get_x() == 0) == (location == "start")
    texts = [t.get_text() for t in ax.texts]
    assert f"index: the {'first' if location == 'start' else 'last'} 100 bytes" in texts
    assert any("crc32c" in t and t.endswith("matches") for t in texts)
    assert ax.get_title() == f"shard 'c/0/0': 6 chunks in one file, its index at the {location}"
    # Every chunk's bytes are drawn to scale, where its offset puts them.
    drawn = _chunk_bytes(ax)
    assert len(drawn) == 6
    assert sum(p.get_width() for p in drawn.values()) == pytest.approx(10 * 6 * 18 / len(raw))


def test_shard_of_a_sharded_stream_has_one_entry_per_tile(tmp_path):
    from data_helpers.camera import SimulatedCamera
    from data_helpers.writer import ChunkingProperties, StorageProperties, stream_to_zarr

    storage = StorageProperties(tmp_path / "s.zarr", zarr_version=3, shard_chunks=(3, 2),
                                compression="blosc-lz4", chunking=ChunkingProperties(32, 18))
    stream_to_zarr(SimulatedCamera(shape=(96, 54)), storage, 3)
    ax = plot_shard(zarr.open_array(tmp_path / "s.zarr" / "0", mode="r"))
    assert len(_entries(ax)) == 6 and len(_chunk_bytes(ax)) == 6
    assert "the shard: 2 x 3 inner chunks of (3, 1, 18, 32)" in [t.get_text() for t in ax.texts]


def test_shard_reads_only_the_index_of_its_file(tmp_path):
    _uncompressed_sharded(tmp_path / "a.zarr")
    shard_file = tmp_path / "a.zarr" / "c" / "0" / "0"
    raw = bytearray(shard_file.read_bytes())
    raw[:100] = b"\xff" * 100  # ruin the chunks' bytes, keep the index
    shard_file.write_bytes(bytes(raw))
    requests = []
    store = zarr.storage.LocalStore(tmp_path / "a.zarr", read_only=True)
    get = store.get

    async def recording_get(key, prototype, byte_range=None):
        requests.append((key, byte_range))
        return await get(key, prototype, byte_range)

    array = zarr.open_array(store, mode="r")
    store.get = recording_get  # from here on, only what plot_shard reads
    plot_shard(array)
    assert requests == [("c/0/0", zarr.abc.store.SuffixByteRequest(100))]


def test_shard_hatches_chunks_that_are_not_stored_and_entries_of_2_64_minus_1(tmp_path):
    z = zarr.create_array(tmp_path / "a.zarr", shape=(4, 4), chunks=(2, 2), shards=(4, 4),
                          dtype="uint8")
    z[:2, :2] = 1  # the other three chunks are all fill value: not stored
    ax = plot_shard(z)
    hatched = [p.get_label() for p in ax.patches if p.get_hatch() == "//"]
    assert hatched == ["chunk 1", "chunk 2", "chunk 3", "entry 1", "entry 2", "entry 3"]
    assert _entry_texts(ax, 4)[1:] == ["2**64 - 1\n2**64 - 1"] * 3
    assert list(_chunk_bytes(ax)) == ["bytes of chunk 0"]


def test_shard_shows_a_checksum_that_does_not_match(tmp_path):
    _uncompressed_sharded(tmp_path / "a.zarr")
    shard_file = tmp_path / "a.zarr" / "c" / "0" / "0"
    raw = bytearray(shard_file.read_bytes())
    raw[-1] ^= 0xFF  # damage the stored checksum
    shard_file.write_bytes(bytes(raw))
    ax = plot_shard(zarr.open_array(tmp_path / "a.zarr", mode="r"))
    assert any(t.get_text().endswith("DOES NOT MATCH") for t in ax.texts)


def test_shard_reads_big_endian_indexes_and_indexes_without_checksum():
    from zarr.codecs import BytesCodec, Crc32cCodec, ShardingCodec

    for index_codecs, order in (([BytesCodec(endian="big"), Crc32cCodec()], "big"),
                                ([BytesCodec()], "little")):
        z = zarr.create_array({}, shape=(8, 8), chunks=(8, 8), dtype="uint16",
                              compressors=None, serializer=ShardingCodec(
                                  chunk_shape=(4, 4), index_codecs=index_codecs))
        z[:] = 3
        ax = plot_shard(z)
        assert sorted(_entry_texts(ax, 4)) == ["0\n32", "32\n32", "64\n32", "96\n32"]
        summary = next(t.get_text() for t in ax.texts if t.get_text().startswith("one file"))
        assert f"two {order}-endian uint64" in summary
        assert ("crc32c" in summary) == (order == "big")


def test_shard_chooses_a_shard_and_labels_only_small_ones():
    z = zarr.create_array({}, shape=(8, 20), chunks=(1, 1), shards=(4, 5), dtype="uint8")
    z[:] = 1
    ax = plot_shard(z, shard=(-1, 3), max_labels=19)  # 20 chunks: no labels
    assert ax.get_title().startswith("shard 'c/1/3': 20 chunks")
    assert len(_entries(ax)) == 20
    assert not [t for t in ax.texts if t.get_text().startswith("(")]
    ax = plot_shard(z, shard=np.array([1, 3]), max_labels=20)
    assert len([t for t in ax.texts if t.get_text().startswith("(3, 4)\n")]) == 1


def test_crc32c_is_zarrs_checksum():
    from data_helpers.plotting import _crc32c

    assert _crc32c(b"") == 0
    assert _crc32c(b"123456789") == 0xE3069283


@pytest.mark.parametrize(
    ("make", "kwargs", "error", "match"),
    [
        (lambda: np.zeros((4, 4)), {}, TypeError, r"array must be a zarr array with shards"),
        (lambda: zarr.create_array({}, shape=(4, 4), chunks=(2, 2), dtype="u1"), {}, ValueError,
         r"array must have shards \(Zarr format 3 with the sharding codec\), got Zarr format 3"),
        (lambda: zarr.create_array({}, shape=(4, 4), chunks=(2, 2), dtype="u1", zarr_format=2),
         {}, ValueError, r"got Zarr format 2"),
        (lambda: zarr.create_array({}, shape=(4, 4, 4), chunks=(2, 2, 2), shards=(4, 4, 4),
                                   dtype="u1", fill_value=1), {}, ValueError,
         r"one chunk deep .* hold \(2, 2, 2\) chunks"),
        (lambda: zarr.create_array({}, shape=(4, 4), chunks=(2, 2), shards=(2, 4), dtype="u1"),
         {"shard": (2, 0)}, ValueError, r"shard\[0\]=2 must be an integer in \[-2, 2\)"),
        (lambda: zarr.create_array({}, shape=(4, 4), chunks=(2, 2), shards=(2, 4), dtype="u1"),
         {"shard": (0,)}, ValueError, r"shard=\(0,\) must hold one position per axis"),
        (lambda: zarr.create_array({}, shape=(4, 4), chunks=(2, 2), shards=(2, 4), dtype="u1"),
         {"shard": 0}, TypeError, r"shard=0 must be a sequence of one integer per axis"),
        (lambda: zarr.create_array({}, shape=(4, 4), chunks=(2, 2), shards=(2, 4), dtype="u1"),
         {"shard": (0, 0.0)}, TypeError, r"shard\[1\]=0\.0 must be an integer"),
        (lambda: zarr.create_array({}, shape=(4, 4), chunks=(2, 2), shards=(2, 4), dtype="u1"),
         {}, ValueError, r"shard=\(0, 0\) is not stored \(no object 'c/0/0' in the store\)"),
    ],
)
def test_shard_rejects_bad_input(make, kwargs, error, match):
    array = make()
    with pytest.raises(error, match=match):
        plot_shard(array, **kwargs)
    assert plt.get_fignums() == []


@pytest.mark.filterwarnings("ignore:Combining a `sharding_indexed` codec:UserWarning")
def test_shard_checks_max_labels_and_refuses_a_codec_before_sharding():
    from zarr.codecs import ShardingCodec, TransposeCodec

    z = zarr.create_array({}, shape=(4, 4), chunks=(2, 2), shards=(4, 4), dtype="u1",
                          fill_value=1)
    z[:] = 2
    with pytest.raises(TypeError, match=r"max_labels=1\.5 must be an integer >= 0"):
        plot_shard(z, max_labels=1.5)
    transposed = zarr.create_array({}, shape=(4, 4), chunks=(4, 4), dtype="u1",
                                   filters=[TransposeCodec(order=(1, 0))],
                                   serializer=ShardingCodec(chunk_shape=(2, 2)))
    transposed[:] = 2
    with pytest.raises(ValueError, match=r"sharding codec must be its first codec"):
        plot_shard(transposed)
    assert plt.get_fignums() == []


def test_shard_index_codecs_other_than_bytes_and_crc32c_are_refused():
    from zarr.codecs import BytesCodec, Crc32cCodec, ShardingCodec, TransposeCodec

    from data_helpers.plotting import _index_layout

    assert _index_layout(ShardingCodec(chunk_shape=(2, 2))) == ("little", True)
    for codecs in ([TransposeCodec(order=(1, 0, 2)), BytesCodec(), Crc32cCodec()],
                   [BytesCodec(), Crc32cCodec(), Crc32cCodec()]):
        with pytest.raises(ValueError, match=r"index codecs \[.*\] are not supported: "
                           r"plot_shard reads indexes encoded with the bytes codec"):
            _index_layout(ShardingCodec(chunk_shape=(2, 2), index_codecs=codecs))


# --------------------------------------------------------------------------- plot_stream_timeline


def _records(n, per_chunk=4, files_per_chunk=1):
    return [{"frame": i, "on_disk": (i + 1) // per_chunk * per_chunk,
             "buffered": (i + 1) % per_chunk,
             "chunk_files": (i + 1) // per_chunk * files_per_chunk} for i in range(n)]


def test_stream_timeline_stacks_frames_on_disk_and_in_memory():
    ax = plot_stream_timeline(_records(10))
    assert isinstance(ax, Axes)
    on_disk, in_memory = ax.patches[:2]
    assert (on_disk.get_label(), in_memory.get_label()) == ("on disk", "in memory")
    # The step areas: frames on disk, and on top of them those in memory, frame by frame.
    stairs = [c for c in ax.get_children() if type(c).__name__ == "StepPatch"]
    values, edges, baseline = (stairs[0].get_data().values, stairs[0].get_data().edges,
                               stairs[0].get_data().baseline)
    assert values.tolist() == [0, 0, 0, 4, 4, 4, 4, 8, 8, 8]
    assert edges.tolist() == list(range(11)) and baseline == 0
    top = stairs[1].get_data()
    assert top.values.tolist() == list(range(1, 11))  # every frame appended so far
    assert top.baseline.tolist() == values.tolist()
    assert [t.get_text() for t in ax.texts] == ["t = 4\n1 chunk file", "t = 8\n2 chunk files"]
    assert [line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == ":"] == [3, 7]
    assert ax.get_title() == "10 frames appended, 2 flushes of 4 frames"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("frame appended", "frames")


def test_stream_timeline_marks_a_crash_and_the_frames_it_lost():
    ax = plot_stream_timeline(_records(12, files_per_chunk=9), crash=(9, 8), title="life")
    crash = [line for line in ax.lines if line.get_color() == "tab:red"]
    assert [line.get_xdata()[0] for line in crash] == [9.5, 9.5]  # the line, the point
    assert crash[1].get_ydata()[0] == 8
    assert ("killed after frame 9: 8 frames on disk (a valid store),\n2 lost with the memory"
            in [t.get_text() for t in ax.texts])
    assert "8\n18 chunk files" in [t.get_text() for t in ax.texts][1]
    assert ax.get_title() == "life"


def test_stream_timeline_takes_writer_records_and_labels_flushes_with_their_shape(tmp_path):
    from data_helpers.camera import SimulatedCamera
    from data_helpers.writer import ChunkingProperties, StorageProperties, record_stream

    chunking = ChunkingProperties(max_bytes_per_chunk=3 * 96 * 54, min_bytes_per_chunk=1)
    records = record_stream(SimulatedCamera(shape=(96, 54)),
                            StorageProperties(tmp_path / "a.zarr", chunking=chunking), 7)
    _, ax = plt.subplots()
    assert plot_stream_timeline(records, ax=ax) is ax
    assert [t.get_text() for t in ax.texts] == ["(3, 1, 54, 96)\n1 chunk file",
                                                "(6, 1, 54, 96)\n2 chunk files"]
    assert ax.get_title() == "7 frames appended, 2 flushes of 3 frames"


def test_stream_timeline_of_a_stream_that_never_flushed_or_started_late():
    ax = plot_stream_timeline([{"frame": 5, "shape": (0, 1, 4, 4), "buffered": 6,
                                "chunk_files": 0}])
    assert len(ax.texts) == 0
    assert ax.get_title() == "1 frame appended, 0 flushes"


REC = {"frame": 0, "on_disk": 0, "buffered": 1, "chunk_files": 0}


@pytest.mark.parametrize(
    ("records", "kwargs", "error", "match"),
    [
        ([], {}, ValueError, r"records must hold at least one record"),
        (REC, {}, TypeError, r"records must be a list of records"),
        ("abc", {}, TypeError, r"records must be a list of records"),
        ([3], {}, TypeError, r"records\[0\]=3 must be a record with \['frame', 'on_disk'"),
        ([{"frame": 0, "buffered": 1, "chunk_files": 0}], {}, ValueError,
         r"records\[0\]=.* must have \['frame', 'on_disk', 'buffered', 'chunk_files'\]"),
        ([{**REC, "buffered": -1}], {}, ValueError, r"records\[0\]\.buffered=-1 must be an"),
        ([{**REC, "buffered": 1.0}], {}, TypeError, r"records\[0\]\.buffered=1\.0 must be an"),
        ([{**REC, "on_disk": 1}], {}, ValueError,
         r"records\[0\] holds 1 frames on disk and 1 in memory, more than the 1 frames"),
        ([REC, {**REC, "frame": 2}], {}, ValueError,
         r"records\[1\]\.frame=2 must follow records\[0\]\.frame=0"),
        ([REC], {"crash": (1, 0)}, ValueError, r"crash=\(1, 0\) must be after a recorded frame"),
        ([REC], {"crash": (0, 2)}, ValueError, r"crash=\(0, 2\) has more frames on disk"),
        ([REC], {"crash": (0,)}, ValueError, r"crash=\(0,\) must be a \(frame, frames on disk\)"),
        ([REC], {"crash": 0}, TypeError, r"crash=0 must be a \(frame, frames on disk\)"),
        ([REC], {"ax": 1}, TypeError, r"ax must be a matplotlib Axes"),
    ],
)
def test_stream_timeline_rejects_bad_input(records, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_stream_timeline(records, **kwargs)
    assert plt.get_fignums() == []


# --------------------------------------------------------------------------- plot_to_scale


def _levels_of(image):
    """Level 0 and its 4 x 4 means (a level 2), with the metadata a mean pyramid has."""
    h, w = image.shape
    coarse = image.reshape(h // 4, 4, w // 4, 4).mean(axis=(1, 3))
    return [image, coarse], [(1.0, 1.0), (4.0, 4.0)], [(0.0, 0.0), (1.5, 1.5)]


def test_to_scale_puts_every_image_over_the_same_area_with_um_and_pixel_axes():
    images, sizes, shifts = _levels_of(np.arange(16 * 32, dtype=float).reshape(16, 32))
    fig = plot_to_scale(images, sizes, translations_um=shifts, profile=False)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2  # one panel per image, no zoom, no profile
    for ax, image in zip(fig.axes, images, strict=True):
        (shown,) = ax.images
        np.testing.assert_array_equal(shown.get_array(), image)
        assert shown.get_extent() == [-0.5, 31.5, 15.5, -0.5]
        assert shown.get_clim() == (0.0, float(images[0].max()))  # level 0's contrast
        assert shown.get_interpolation() == "nearest"
        assert (ax.get_xlabel(), ax.get_xlim(), ax.get_ylim()) == (
            "x (µm)", (-0.5, 31.5), (15.5, -0.5))
        top, right = ax.child_axes  # the image's own pixels
        assert (top.get_xlabel(), right.get_ylabel()) == ("x (pixels)", "y (pixels)")
    assert [ax.get_title() for ax in fig.axes] == ["(16, 32), pixels of 1 µm",
                                                    "(4, 8), pixels of 4 µm"]
    # The pixel axes convert micrometres to each image's pixels: 31.5 µm is pixel 7.5 of
    # level 2 (its first pixel's centre at 1.5 µm, 4 µm per pixel).
    top = fig.axes[1].child_axes[0]
    forward = top._functions[0]
    assert forward(31.5) == 7.5 and forward(1.5) == 0


def test_to_scale_zooms_reading_only_the_zoom_and_draws_the_profile_through_it():
    image = np.arange(16 * 32, dtype=float).reshape(16, 32)
    images, sizes, shifts = _levels_of(image)
    recording = RecordingArray(images[0])
    fig = plot_to_scale([recording, images[1]], sizes, translations_um=shifts,
                        zoom_um=((0, 8), (4, 12)), titles=["fine", "coarse"])
    full, _, zoom_fine, zoom_coarse, profile = fig.axes
    # Read: the whole (not strided: small), the zoom's pixels, one row for the profile.
    # The pixels read are those whose area meets the zoom: pixel 12 covers 11.5..12.5 µm.
    assert recording.keys == [(slice(None, None, 1), slice(None, None, 1)),
                              (slice(0, 9), slice(4, 13)), (4, slice(4, 13))]
    np.testing.assert_array_equal(zoom_fine.images[0].get_array(), image[0:9, 4:13])
    assert (zoom_fine.get_xlim(), zoom_fine.get_ylim()) == ((4.0, 12.0), (8.0, 0.0))
    assert zoom_fine.get_title() == "zoom: 8 x 8 of its pixels"
    # Level 2's pixels that meet x 4..12 and y 0..8 µm (pixel c covers 4c - 0.5 to
    # 4c + 3.5 µm): columns 1 to 3, rows 0 to 2.
    np.testing.assert_array_equal(zoom_coarse.images[0].get_array(), images[1][0:3, 1:4])
    assert zoom_coarse.images[0].get_extent() == [3.5, 15.5, 11.5, -0.5]
    assert zoom_coarse.get_title() == "zoom: 2 x 2 of its pixels"
    assert zoom_coarse.images[0].get_interpolation() == "nearest"
    # The zoom's outline on the whole image.
    (box,) = full.patches
    assert (box.get_xy(), box.get_width(), box.get_height()) == ((4, 0), 8, 8)
    # The profile: row y = 4 µm of each image, one step per pixel, at the pixels' centres.
    fine_line, coarse_line = profile.lines
    np.testing.assert_array_equal(fine_line.get_xdata(), np.arange(4, 13))
    np.testing.assert_array_equal(fine_line.get_ydata(), image[4, 4:13])
    np.testing.assert_array_equal(coarse_line.get_xdata(), [5.5, 9.5, 13.5])
    np.testing.assert_array_equal(coarse_line.get_ydata(), images[1][1, 1:4])
    assert fine_line.get_drawstyle() == "steps-mid"
    (legend,) = fig.legends  # below the figure, not over the curves
    assert [t.get_text() for t in legend.get_texts()] == ["fine", "coarse"]
    assert profile.get_title() == "profile along y = 4 µm"
    assert profile.child_axes[0].get_xlabel() == "x (pixels of fine)"


def test_to_scale_takes_nd_levels_pairs_of_sizes_and_strides_large_images():
    volume = np.arange(3 * 1 * 40 * 3000, dtype=np.uint16).reshape(3, 1, 40, 3000)
    fig = plot_to_scale([volume], [(2.0, 0.5)], max_display=500, interpolation="antialiased",
                        vmin=0, vmax=10)
    (shown,) = fig.axes[0].images
    assert shown.get_array().shape == (7, 500)  # the middle plane, stride 6
    np.testing.assert_array_equal(shown.get_array(), volume[1, 0, ::6, ::6])
    assert shown.get_extent() == [-0.25, 1499.75, 79.0, -1.0]
    assert (shown.get_interpolation(), shown.get_clim()) == ("antialiased", (0, 10))
    assert fig.axes[0].get_title() == "(3, 1, 40, 3000), pixels of 2 x 0.5 µm"
    profile = fig.axes[-1]
    assert profile.get_title() == "profile along y = 39 µm"  # the middle of the image
    np.testing.assert_array_equal(profile.lines[0].get_ydata(), volume[1, 0, 20, :])


IMG = np.zeros((8, 8))


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (([], []), {}, ValueError, r"images must hold at least one array"),
        ((IMG, [1.0]), {}, TypeError, r"images must be a list of array-likes"),
        (([np.zeros(8)], [1.0]), {}, ValueError, r"images\[0\] must have at least 2 dim"),
        (([np.zeros((0, 8))], [1.0]), {}, ValueError, r"images\[0\] must have at least one"),
        (([IMG], 1.0), {}, TypeError, r"pixel_sizes_um=1\.0 must be a list with one entry"),
        (([IMG], [1.0, 2.0]), {}, ValueError, r"pixel_sizes_um=\[1\.0, 2\.0\] must hold one"),
        (([IMG], [0.0]), {}, ValueError, r"pixel_sizes_um\[0\]=0\.0 must be a number > 0 or"),
        (([IMG], ["1"]), {}, TypeError, r"pixel_sizes_um\[0\]='1' must be a number > 0"),
        (([IMG], [(1.0, 2.0, 3.0)]), {}, ValueError, r"pixel_sizes_um\[0\]=\(1\.0, 2\.0, 3"),
        (([IMG], [(1.0, -2.0)]), {}, ValueError, r"pixel_sizes_um\[0\]\[1\]=-2\.0 must be"),
        (([IMG], [1.0]), {"translations_um": [0.0]}, TypeError,
         r"translations_um\[0\]=0\.0 must be a \(y, x\) pair of finite numbers"),
        (([IMG], [1.0]), {"translations_um": [(0, 0), (0, 0)]}, ValueError,
         r"translations_um=.* must hold one entry per image \(1\)"),
        (([IMG], [1.0]), {"translations_um": [(0, float("nan"))]}, ValueError,
         r"translations_um\[0\]\[1\]=nan must be"),
        (([IMG], [1.0]), {"titles": ["a", "b"]}, ValueError, r"titles=.* must hold one title"),
        (([IMG], [1.0]), {"titles": "a"}, TypeError, r"titles='a' must be a list"),
        (([IMG], [1.0]), {"zoom_um": (0, 4)}, ValueError, r"zoom_um=\(0, 4\) must be \(\(y0"),
        (([IMG], [1.0]), {"zoom_um": 4}, TypeError, r"zoom_um=4 must be \(\(y0, y1\)"),
        (([IMG], [1.0]), {"zoom_um": ((4, 0), (0, 4))}, ValueError, r"with y0 < y1"),
        (([IMG], [1.0]), {"zoom_um": ((0, 4), (0, "4"))}, TypeError, r"zoom_um \(x\)='4'"),
        (([IMG], [1.0]), {"zoom_um": ((20, 30), (0, 4))}, ValueError,
         r"zoom_um=.* holds no pixel of images\[0\]"),
        (([IMG, IMG], [1.0, 1.0]), {"translations_um": [(0, 0), (100, 0)]}, ValueError,
         r"the profile row, y = 3\.5 µm, is outside images\[1\]"),
        (([IMG], [1.0]), {"profile": "yes"}, TypeError, r"profile='yes' must be True or"),
        (([IMG], [1.0]), {"interpolation": "smooth"}, ValueError,
         r"interpolation='smooth' must be one of \['antialiased'"),
        (([IMG], [1.0]), {"interpolation": None}, TypeError, r"interpolation=None must be"),
        (([IMG], [1.0]), {"panel_size": 0}, ValueError, r"panel_size=0 must be a finite"),
        (([IMG], [1.0]), {"max_display": 0}, ValueError, r"max_display=0 must be an integer"),
    ],
)
def test_to_scale_rejects_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_to_scale(*args, **kwargs)
    assert plt.get_fignums() == []


# --------------------------------------------------------------------------- plot_channels


RED = {"label": "red", "color": "FF0000", "window": (0, 100)}
GREEN = {"label": "green", "color": "00FF00", "window": (50, 150)}


class TypedRecordingArray(RecordingArray):
    """A `RecordingArray` with a dtype, as the composite needs one."""

    @property
    def dtype(self):
        return self.data.dtype


@pytest.fixture(scope="module")
def cells(tmp_path_factory):
    """A two-channel (c, z, y, x) pyramid: red squares on the left, green on the right.

    Level 0 is (2, 4, 64, 64), level 1 (2, 2, 32, 32); channel 1 is brighter at z >= 2.
    """
    from data_helpers.ome import Channel
    from data_helpers.pyramid import build_pyramid

    volume = np.zeros((2, 4, 64, 64), np.uint16)
    volume[0, :, 16:48, 8:32] = 1000
    volume[1, :2, 16:48, 32:56] = 250
    volume[1, 2:, 16:48, 32:56] = 500
    path = tmp_path_factory.mktemp("channels") / "cells.zarr"
    image = build_pyramid(volume, path, axes="czyx", chunks=(1, 4, 32, 32),
                          channels=[Channel("nuclei", "FF0000", window=(0, 1000)),
                                    Channel("membranes", "00FF00", window=(0, 1000))])
    assert image.shapes == [(2, 4, 64, 64), (2, 2, 32, 32)]
    return image


def test_composite_scales_each_channel_into_its_window_and_adds_them_clipped():
    red = np.array([[-10.0, 0, 25, 50, 100, 250, np.nan]])
    green = np.array([[0.0, 50, 75, 100, 150, 150, 100]])
    rgb = channel_composite(np.stack([red, green]), [RED, GREEN])
    np.testing.assert_array_equal(rgb[0], [
        [0, 0, 0],          # below both windows: black (never negative)
        [0, 0, 0],          # at both starts
        [0.25, 0.25, 0],
        [0.5, 0.5, 0],
        [1, 1, 0],          # both at their ends: yellow
        [1, 1, 0],          # beyond the end: clipped to the full colour
        [0, 0.5, 0],        # NaN (no value) is black
    ])
    assert rgb.dtype == np.float64
    # Colours add up, and the sum is clipped to 1: red + magenta = (2, 0, 1) -> (1, 0, 1).
    ones = np.full((2, 1, 1), 7, np.uint8)
    rgb = channel_composite(ones, [{"color": "FF0000", "window": (0, 7)},
                                   {"color": "#ff00ff", "window": (0, 7)}])
    assert rgb[0, 0].tolist() == [1.0, 0.0, 1.0]
    # A window of no width is a threshold (the pixels above it are drawn); a colour such
    # as orange scales each component.
    planes = np.array([[[9, 10, 11]], [[20, 20, 0]]], np.uint8)
    rgb = channel_composite(planes, [{"color": "0000FF", "window": (10, 10)},
                                     {"color": (255, 165, 0), "window": (0, 40)}])
    np.testing.assert_allclose(rgb[0], [[0.5, 0.5 * 165 / 255, 0], [0.5, 0.5 * 165 / 255, 0],
                                        [0, 0, 1]])


def test_composite_leaves_out_inactive_channels_and_reads_only_the_active_ones():
    planes = TypedRecordingArray(np.full((3, 2, 2), 100, np.uint8))
    rgb = channel_composite(planes, [RED, {**GREEN, "active": False}, "blue"])
    assert planes.keys == [0, 2]  # the inactive channel is not read
    # Defaults: channel 2 ("blue", no colour) is the third of CHANNEL_COLORS, yellow,
    # its window the range of uint8.
    np.testing.assert_allclose(rgb[0, 0], [1.0, 100 / 255, 0.0])


def test_channels_draws_an_array_plane_by_plane_reading_only_the_active_channels():
    data = np.zeros((2, 3, 5, 4, 6), np.uint8)  # t, c, z, y, x
    data[1, 0, 2] = 50
    data[1, 1, 2] = 100
    data[1, 2, 2] = 200
    array = TypedRecordingArray(data)
    ax = plot_channels(array, [RED, {**GREEN, "active": False}, {"color": "0000FF",
                                                                   "window": (0, 200)}])
    # Only the plane drawn (the middle of t and z), only the active channels.
    assert array.keys == [(1, 0, 2, slice(None, None, 1), slice(None, None, 1)),
                          (1, 2, 2, slice(None, None, 1), slice(None, None, 1))]
    (shown,) = ax.images
    rgb = shown.get_array()
    assert rgb.shape == (4, 6, 3)
    np.testing.assert_array_equal(rgb[0, 0], [0.5, 0.0, 1.0])  # green is not drawn
    assert ax.get_title() == "image[1, :, 2, :, :]"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", "y")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["red", "channel 2"]
    assert shown.get_interpolation() == "nearest"


def test_channels_of_an_array_default_to_the_ome_colours_and_the_range_of_each_plane():
    from data_helpers.ome import CHANNEL_COLORS

    planes = np.stack([np.arange(12.0).reshape(3, 4) + 10 * c for c in range(3)])
    ax = plot_channels(planes, legend=False)  # c, y, x
    rgb = ax.images[0].get_array()
    assert ax.get_legend() is None
    # Each plane spans its own window: 0 at its minimum, its full colour at its maximum.
    expected = channel_composite(planes, [{"color": c, "window": (10.0 * i, 10.0 * i + 11)}
                                          for i, c in enumerate(CHANNEL_COLORS[:3])])
    np.testing.assert_allclose(rgb, expected)
    np.testing.assert_allclose(rgb[-1, -1], [1.0, 1.0, 1.0])  # cyan + magenta + yellow
    # One channel is white; a constant plane has a window of no width: black.
    ax = plot_channels(np.arange(4, dtype=np.uint16).reshape(1, 2, 2))
    assert ax.images[0].get_array()[1, 1].tolist() == [1.0, 1.0, 1.0]
    ax = plot_channels(np.full((1, 2, 2), 7, np.uint16))
    assert ax.images[0].get_array().max() == 0.0
    # axes= names another layout: time and channel, no z.
    data = np.zeros((3, 2, 4, 4), np.float32)
    data[2, 1, 0, 0] = 1.0
    ax = plot_channels(data, axes="tcyx", plane={"t": -1})
    assert ax.get_title() == "image[2, :, :, :]"
    assert ax.images[0].get_array()[0, 0].tolist() == [1.0, 0.0, 1.0]  # magenta


def test_channels_of_a_large_array_are_read_with_a_stride():
    data = np.arange(2 * 10 * 30, dtype=np.uint16).reshape(2, 10, 30)
    array = TypedRecordingArray(data)
    ax = plot_channels(array, [RED, GREEN], max_display=10)
    assert array.keys == [(0, slice(None, None, 3), slice(None, None, 3)),
                          (1, slice(None, None, 3), slice(None, None, 3))]
    np.testing.assert_array_equal(ax.images[0].get_array(),
                                  channel_composite(data[:, ::3, ::3], [RED, GREEN]))


def test_channels_of_an_image_use_its_metadata_and_the_level_that_fits(cells):
    ax = plot_channels(cells, max_display=32)
    assert ax.get_title() == "level 1, z = 1 (2 at level 0)"
    rgb = ax.images[0].get_array()
    assert rgb.shape == (32, 32, 3)
    assert rgb[12, 8].tolist() == [1.0, 0.0, 0.0]   # nuclei, window 0..1000
    assert rgb[12, 20].tolist() == [0.0, 0.5, 0.0]  # membranes at z 2-3: 500 of 1000
    assert rgb[2, 2].tolist() == [0.0, 0.0, 0.0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["nuclei", "membranes"]
    # The whole image fits: level 0, its middle plane.
    ax = plot_channels(cells)
    assert ax.get_title() == "level 0, z = 2"
    assert ax.images[0].get_array().shape == (64, 64, 3)
    # A level-0 position is drawn from the level-1 plane that holds it: z 0 and 1 are
    # level 1's plane 0, where the membranes are 250.
    ax = plot_channels(cells, level=-1, plane={"z": 1})
    assert ax.get_title() == "level 1, z = 0 (1 at level 0)"
    assert ax.images[0].get_array()[12, 20].tolist() == [0.0, 0.25, 0.0]
    # Smaller than the smallest level: it is read with a stride.
    ax = plot_channels(cells, max_display=8)
    assert ax.get_title().startswith("level 1,")
    assert ax.images[0].get_array().shape == (8, 8, 3)


def test_channels_given_for_an_image_replace_its_own(cells):
    _, (left, right) = plt.subplots(1, 2)
    ax = plot_channels(cells, [{"color": "0000FF", "window": (0, 2000)},
                               {"label": "membranes", "active": False}],
                       level=0, ax=left, title="nuclei only")
    assert ax is left and ax.get_title() == "nuclei only"
    rgb = ax.images[0].get_array()
    assert rgb[30, 20].tolist() == [0.0, 0.0, 0.5]
    assert rgb[30, 40].tolist() == [0.0, 0.0, 0.0]  # the membranes are not drawn
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["channel 0"]
    assert len(right.images) == 0


def test_an_image_without_a_channel_axis_or_channel_metadata(tmp_path):
    from data_helpers.pyramid import build_pyramid

    plain = build_pyramid(np.ones((8, 8), np.uint8), tmp_path / "p.zarr", axes="yx")
    with pytest.raises(ValueError, match=r"image has the axes 'yx', without a channel axis"):
        plot_channels(plain)
    # A channel axis without omero metadata: the defaults of an array.
    data = np.zeros((2, 8, 8), np.uint8)
    data[:, 0, 0] = 9
    image = build_pyramid(data, tmp_path / "c.zarr", axes="cyx")
    assert image.channels == ()
    rgb = plot_channels(image).images[0].get_array()
    assert rgb[0, 0].tolist() == [1.0, 1.0, 1.0] and rgb[1, 1].tolist() == [0.0, 0.0, 0.0]


CZYX = np.zeros((2, 3, 4, 4), np.uint8)


@pytest.mark.parametrize(
    ("image", "channels", "kwargs", "error", "match"),
    [
        ("cells", None, {"level": 2}, ValueError,
         r"level=2 must be an integer in \[-2, 2\) \(a level of an image with 2 levels\)"),
        ("cells", None, {"level": 1.0}, TypeError, r"level=1\.0 must be an integer in"),
        ("cells", None, {"axes": "czyx"}, ValueError,
         r"axes='czyx' must be None for a MultiscaleImage"),
        ("cells", None, {"plane": {"x": 3}}, ValueError,
         r"plane=\{'x': 3\} names \['x'\]; .* positions are taken along the axes \['z'\]"),
        ("cells", None, {"plane": {"z": 4}}, ValueError,
         r"plane\['z'\]=4 must be an integer in \[-4, 4\)"),
        ("cells", None, {"plane": 2}, TypeError, r"plane=2 must be None or a mapping"),
        ("cells", ["a"], {}, ValueError,
         r"channels has 1 entries but the channel axis 'c' has 2"),
        ("cells", [RED, {"color": "green"}], {}, ValueError,
         r"channels\[1\]\.color='green' must be a colour"),
        ("cells", [RED, {"window": (0, 70000)}], {}, ValueError,
         r"channels\[1\]\.window=\(0\.0, 70000\.0\) must lie within"),
        (CZYX, "red", {}, TypeError, r"channels='red' must be a sequence"),
        (CZYX, None, {"level": 0}, ValueError, r"level=0 must be None for an array"),
        (CZYX, None, {"axes": "zcyx"}, ValueError, r"axes='zcyx' must follow the OME order"),
        (CZYX, None, {"axes": "tzyx"}, ValueError, r"axes='tzyx' must have a channel axis"),
        (CZYX, None, {"axes": "cyx"}, ValueError, r"axes='cyx' must name the 4 axes"),
        (CZYX, None, {"axes": 4}, TypeError, r"axes=4 must be a string"),
        (CZYX[0, 0], None, {}, ValueError, r"image has shape \(4, 4\); an array with a chan"),
        (np.zeros((2, 0, 4)), None, {}, ValueError, r"image must have at least one pixel"),
        (CZYX.astype(complex), None, {}, ValueError,
         r"image\.dtype=dtype\('complex128'\) must be a boolean, integer or float dtype"),
        ("not an array", None, {}, ValueError, r"image has shape \(\); an array"),
        (CZYX, None, {"max_display": 0}, ValueError, r"max_display=0 must be an integer"),
        (CZYX, None, {"legend": 1}, TypeError, r"legend=1 must be True or False"),
        (CZYX, None, {"title": 3}, TypeError, r"title=3 must be a string or None"),
        (CZYX, None, {"ax": "left"}, TypeError, r"ax must be a matplotlib Axes or None"),
    ],
)
def test_channels_rejects_bad_input(cells, image, channels, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_channels(cells if isinstance(image, str) and image == "cells" else image,
                      channels, **kwargs)
    assert plt.get_fignums() == []


@pytest.mark.parametrize(
    ("planes", "channels", "error", "match"),
    [
        (np.zeros((4, 4)), ["a"], ValueError, r"planes must be 3D, \(channel, y, x\)"),
        (np.zeros((1, 0, 4)), ["a"], ValueError, r"planes must have at least one pixel"),
        ([[["a"]]], ["a"], ValueError, r"planes\.dtype=dtype\('<U1'\) must be a boolean"),
        (np.zeros((2, 4, 4)), ["a"], ValueError, r"channels has 1 entries but the channel"),
        (np.zeros((1, 4, 4)), [{"window": (1, 0)}], ValueError,
         r"channels\[0\]\.window=\(1, 0\) must be two finite numbers"),
        (np.zeros((1, 4, 4)), None, TypeError, r"channels=None must be a sequence"),
    ],
)
def test_composite_rejects_bad_input(planes, channels, error, match):
    with pytest.raises(error, match=match):
        channel_composite(planes, channels)


# ------------------------------------------------------------- plot_shard_grid, plot_layouts

from data_helpers.plotting import plot_layouts, plot_shard_grid  # noqa: E402


def _labels(ax, prefix):
    return sorted(p.get_label() for p in ax.patches if p.get_label().startswith(prefix))


def test_shard_grid_takes_chunks_and_shards_from_a_zarr_array():
    z = zarr.create_array({}, shape=(100, 150), chunks=(25, 25), shards=(50, 75), dtype="u1")
    z[:] = 3
    ax = plot_shard_grid(z)
    assert isinstance(ax, Axes)
    assert ax.get_title() == "chunks of 25 x 25, shards of 2 x 3 chunks: 4 files"
    chunk_h, chunk_v, shard_h, shard_v = (len(c.get_segments()) for c in ax.collections)
    assert (chunk_h, chunk_v, shard_h, shard_v) == (5, 7, 3, 3)  # image edges included
    # Boundaries sit between pixels.
    assert sorted(s[0][1] for s in ax.collections[2].get_segments()) == [-0.5, 49.5, 99.5]


def test_shard_grid_without_shards_has_one_file_per_chunk():
    z = zarr.create_array({}, shape=(64, 96), chunks=(32, 32), dtype="u1")
    ax = plot_shard_grid(z)
    assert ax.get_title() == "chunks of 32 x 32, no shards: 6 files, one per chunk"
    ax = plot_shard_grid(np.zeros((10, 10)), chunks=(10, 10))
    assert ax.get_title() == "chunks of 10 x 10, no shards: 1 file, one per chunk"


def test_shard_grid_region_shades_the_chunks_and_outlines_the_files_it_reads():
    ax = plot_shard_grid(np.zeros((100, 150)), chunks=(25, 25), shards=(50, 75),
                         region=(slice(20, 30), slice(60, 80)))
    assert _labels(ax, "chunk") == ["chunk (0, 2)", "chunk (0, 3)", "chunk (1, 2)",
                                    "chunk (1, 3)"]
    assert _labels(ax, "file") == ["file (0, 0)", "file (0, 1)"]
    region = next(p for p in ax.patches if p.get_label() == "region")
    assert (region.get_x(), region.get_y(), region.get_width(), region.get_height()) == (
        59.5, 19.5, 20, 10)
    assert ax.get_title().endswith("the region reads 4 chunks from 2 files")
    # Negative and open bounds, as numpy reads them; a partial edge shard is clipped.
    ax = plot_shard_grid(np.zeros((100, 150)), chunks=(25, 25), shards=(50, 100),
                         region=(slice(-1, None), slice(None, None)))
    assert ax.get_title().endswith("the region reads 6 chunks from 2 files")
    edge = next(p for p in ax.patches if p.get_label() == "file (1, 1)")
    assert edge.get_width() == 50  # 150 - 100


def test_shard_grid_reads_only_a_strided_view_and_draws_on_given_axes():
    recording = RecordingArray(np.zeros((400, 300)))
    _fig, ax = plt.subplots()
    assert plot_shard_grid(recording, chunks=(100, 100), ax=ax, max_display=100) is ax
    assert recording.keys == [(slice(None, None, 4), slice(None, None, 4))]


@pytest.mark.parametrize(
    ("image", "kwargs", "error", "match"),
    [
        (np.zeros((4, 4)), {}, ValueError, r"chunks=None needs a zarr array"),
        (da.zeros((4, 4), chunks=2), {}, ValueError, r"got a Array: give chunks="),
        (np.zeros((2, 4, 4)), {"chunks": (2, 2)}, ValueError, r"must be 2D, got shape"),
        (np.zeros((0, 4)), {"chunks": (2, 2)}, ValueError, r"at least one pixel"),
        (np.zeros((4, 4)), {"chunks": (2, 2.0)}, TypeError, r"chunks=\(2, 2\.0\) must be a"),
        (np.zeros((4, 4)), {"chunks": (2, 0)}, ValueError, r"chunks=\(2, 0\) must be a"),
        (np.zeros((4, 4)), {"chunks": (2, 2), "shards": (3, 4)}, ValueError,
         r"shards=\(3, 4\) must be a multiple of the chunks \(2, 2\)"),
        (np.zeros((4, 4)), {"chunks": (2, 2), "region": (0, 1)}, TypeError,
         r"region=\(0, 1\) must be a \(rows, columns\) pair of slices"),
        (np.zeros((4, 4)), {"chunks": (2, 2), "region": (slice(0, 2),)}, TypeError,
         r"pair of slices"),
        (np.zeros((4, 4)), {"chunks": (2, 2), "region": (slice(0, 2), slice(0.5, 2))},
         TypeError, r"pair of slices"),
        (np.zeros((4, 4)), {"chunks": (2, 2), "region": (slice(0, 4, 2), slice(0, 2))},
         ValueError, r"step 1.*along axis 0 \(of length 4\)"),
        (np.zeros((4, 4)), {"chunks": (2, 2), "region": (slice(0, 2), slice(5, 9))},
         ValueError, r"at least one pixel of the image along axis 1"),
        (np.zeros((4, 4)), {"chunks": (2, 2), "max_display": 0}, ValueError,
         r"max_display=0 must be an integer >= 1"),
    ],
)
def test_shard_grid_rejects_bad_input_before_making_a_figure(image, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_shard_grid(image, **kwargs)
    assert plt.get_fignums() == []


LAYOUT_ROWS = [{"layout": "no shards", "files": 257, "ms": 1.25, "other": "x"},
               {"layout": "4 x 4", "files": 17, "ms": 0.75}]


def test_layouts_one_panel_per_metric_one_bar_per_layout_in_order():
    fig = plot_layouts(LAYOUT_ROWS, {"files": "files", "ms": "read (ms)"}, log=["files"])
    assert isinstance(fig, Figure)
    files, ms = fig.axes
    assert [ax.get_title() for ax in fig.axes] == ["files", "read (ms)"]
    assert [p.get_label() for p in files.patches] == ["no shards: files", "4 x 4: files"]
    assert [p.get_width() for p in ms.patches] == [1.25, 0.75]
    assert [t.get_text() for t in files.texts] == ["257", "17"]
    assert [t.get_text() for t in ms.texts] == ["1.25", "0.75"]
    assert files.get_xscale() == "log" and ms.get_xscale() == "linear"
    # The same colour for a layout in every panel; the first layout at the top.
    assert [p.get_facecolor() for p in files.patches] == [p.get_facecolor() for p in ms.patches]
    assert [t.get_text() for t in files.get_yticklabels()] == ["no shards", "4 x 4"]
    assert files.yaxis_inverted()


def test_layouts_take_a_list_of_keys_and_a_title():
    fig = plot_layouts(LAYOUT_ROWS, ["ms"], title="Layouts")
    assert [ax.get_title() for ax in fig.axes] == ["ms"]
    assert fig.get_suptitle() == "Layouts"


@pytest.mark.parametrize(
    ("results", "metrics", "kwargs", "error", "match"),
    [
        ("rows", ["ms"], {}, TypeError, r"results='rows' must be a list of mappings"),
        ([], ["ms"], {}, ValueError, r"results=\[\] must hold at least one layout"),
        ([1], ["ms"], {}, TypeError, r"results\[0\]=1 must be a mapping"),
        ([{"layout": "a"}], ["ms"], {}, ValueError, r"results\[0\] has no \['ms'\]"),
        ([{"ms": 1}], ["ms"], {}, ValueError, r"has no \['layout'\]"),
        ([{"layout": "a", "ms": "1"}], ["ms"], {}, TypeError,
         r"results\[0\]\['ms'\]='1' must be a finite number >= 0"),
        ([{"layout": "a", "ms": -1}], ["ms"], {}, ValueError, r"must be a finite number >= 0"),
        ([{"layout": "a", "ms": float("nan")}], ["ms"], {}, ValueError, r"finite number"),
        ([{"layout": "a", "ms": True}], ["ms"], {}, TypeError, r"finite number"),
        (LAYOUT_ROWS, "ms", {}, TypeError, r"metrics='ms' must be a mapping"),
        (LAYOUT_ROWS, [], {}, ValueError, r"metrics=\[\] must name at least one metric"),
        (LAYOUT_ROWS, ["ms"], {"log": "ms"}, TypeError, r"log='ms' must be a list"),
        (LAYOUT_ROWS, ["ms"], {"log": ["files"]}, ValueError,
         r"log=\['files'\] names \['files'\], which are not metrics"),
        ([{"layout": "a", "ms": 0}], ["ms"], {"log": ["ms"]}, ValueError,
         r"the values of 'ms' must be > 0 on a log axis"),
        (LAYOUT_ROWS, ["ms"], {"panel_width": 0}, ValueError, r"panel_width=0 must be"),
    ],
)
def test_layouts_reject_bad_input_before_making_a_figure(results, metrics, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_layouts(results, metrics, **kwargs)
    assert plt.get_fignums() == []


# ------------------------------------------------ plot_requests_by_chunk_size, plot_time_by_latency

SIDES, REQUESTS, SENT = [64, 128, 256], [81, 25, 9], [400_000, 390_000, 380_000]


def test_requests_by_chunk_size_draws_both_panels():
    fig = plot_requests_by_chunk_size(SIDES, REQUESTS, SENT, needed_bytes=512 * 512,
                                      title="a region")
    assert isinstance(fig, Figure)
    left, right = fig.axes
    assert left.get_xscale() == right.get_xscale() == "log"
    assert left.get_yscale() == right.get_yscale() == "linear"
    assert left.get_ylim()[0] == right.get_ylim()[0] == 0
    np.testing.assert_array_equal(left.lines[0].get_xdata(), SIDES)
    np.testing.assert_array_equal(left.lines[0].get_ydata(), REQUESTS)
    np.testing.assert_allclose(right.lines[0].get_ydata(), np.array(SENT) / 2**20)
    assert [t.get_text() for t in left.texts] == ["81", "25", "9"]
    assert [t.get_text() for t in right.texts] == ["0.38", "0.37", "0.36"]
    # The dashed line of the pixels asked for, at 0.25 MiB.
    assert right.lines[1].get_ydata()[0] == pytest.approx(0.25)
    assert [t.get_text() for t in left.get_xticklabels()] == ["64", "128", "256"]
    assert fig._suptitle.get_text() == "a region"


def test_requests_by_chunk_size_without_the_needed_bytes():
    fig = plot_requests_by_chunk_size([256], [1], [1000])
    assert len(fig.axes[1].lines) == 1
    assert fig.axes[1].get_legend() is None


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (([], [], []), {}, ValueError, r"chunk_sides must hold at least one"),
        ((64, [1], [1]), {}, TypeError, r"chunk_sides=64 must be a list"),
        (([64.0], [1], [1]), {}, TypeError, r"chunk_sides\[0\]=64\.0 must be an integer"),
        (([0], [1], [1]), {}, ValueError, r"chunk_sides\[0\]=0 must be an integer >= 1"),
        (([128, 64], [1, 1], [1, 1]), {}, ValueError, r"must be increasing"),
        (([64, 128], [1], [1, 1]), {}, ValueError, r"requests=\[1\] must hold 2 values"),
        (([64], "1", [1]), {}, TypeError, r"requests='1' must be a list of requests"),
        (([64], [0], [1]), {}, ValueError, r"requests\[0\]=0 must be a finite number > 0"),
        (([64], [1], [float("nan")]), {}, ValueError, r"bytes_read\[0\]=nan must be"),
        (([64], [1], ["1"]), {}, TypeError, r"bytes_read\[0\]='1' must be"),
        (([64], [1], [1]), {"needed_bytes": 0}, ValueError, r"needed_bytes=0 must be"),
    ],
)
def test_requests_by_chunk_size_rejects_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_requests_by_chunk_size(*args, **kwargs)
    assert plt.get_fignums() == []


def test_time_by_latency_draws_measured_and_expected_lines():
    latencies = [0, 0.01, 0.05]
    times = {"region": [0.002, 0.012, 0.052], "open": [0.01, 0.06, 0.26]}
    ax = plot_time_by_latency(latencies, times, rounds={"open": 5})
    assert isinstance(ax, Axes)
    labels = [line.get_label() for line in ax.lines]
    assert labels == ["region", "open (5 rounds)", "_open: 5 x latency",
                      "rounds x latency, the least"]
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [0, 10, 50])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [10, 60, 260])
    expected = ax.lines[2]
    np.testing.assert_allclose(expected.get_ydata(), 5 * expected.get_xdata())
    assert expected.get_color() == ax.lines[1].get_color()
    assert expected.get_linestyle() == "--"
    # The legend names the measured lines, and the dashed ones once.
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["region", "open (5 rounds)", "rounds x latency, the least"]
    assert ax.get_xlabel() == "latency per request (ms)"


def test_time_by_latency_one_round_is_singular():
    ax = plot_time_by_latency([0.01], {"read": [0.02]}, rounds={"read": 1})
    assert ax.lines[0].get_label() == "read (1 round)"


def test_time_by_latency_on_given_axes():
    _, ax = plt.subplots()
    assert plot_time_by_latency([0.02], {"a": [0.03]}, ax=ax, title=None) is ax
    assert ax.get_title() == ""


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (([], {"a": []}), {}, ValueError, r"latencies_s must hold at least one latency"),
        ((0.02, {"a": [1]}), {}, TypeError, r"latencies_s=0\.02 must be a list of seconds"),
        (([-0.01], {"a": [1]}), {}, ValueError, r"latencies_s\[0\]=-0\.01 must be"),
        (([0.01], [[1]]), {}, TypeError, r"times_s=\[\[1\]\] must be a mapping"),
        (([0.01], {}), {}, ValueError, r"times_s must hold at least one read"),
        (([0.01, 0.02], {"a": [1]}), {}, ValueError, r"times_s\['a'\]=\[1\] must hold 2"),
        (([0.01], {"a": [float("inf")]}), {}, ValueError, r"times_s\['a'\]\[0\]=inf"),
        (([0.01], {"a": [1]}), {"rounds": 5}, TypeError, r"rounds=5 must be None or a mapping"),
        (([0.01], {"a": [1]}), {"rounds": {"b": 1}}, ValueError, r"rounds names 'b'"),
        (([0.01], {"a": [1]}), {"rounds": {"a": 1.5}}, TypeError, r"rounds\['a'\]=1\.5"),
        (([0.01], {"a": [1]}), {"rounds": {"a": -1}}, ValueError, r"rounds\['a'\]=-1 must"),
        (([0.01], {"a": [1]}), {"ax": "axes"}, TypeError, r"ax must be a matplotlib Axes"),
    ],
)
def test_time_by_latency_rejects_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_time_by_latency(*args, **kwargs)
    assert plt.get_fignums() == []


# ------------------------------------------------ recorded benchmarks (the appendix)

import importlib.util  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from data_helpers.plotting import (  # noqa: E402
    BenchmarkTable,
    benchmark_table,
    plot_benchmark,
    read_benchmark,
)


def _recorder(monkeypatch):
    """benchmarks/_record.py, the module that writes the files (not a package: by path)."""
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "_record.py"
    spec = importlib.util.spec_from_file_location("_bench_record", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclasses look it up
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def recorded(tmp_path, monkeypatch):
    """A results folder with one record written by benchmarks/_record.py itself."""
    record = _recorder(monkeypatch)
    runs = [
        record.Run("ours", "small", [2.0, 2.5], [3.0, 3.2], [200.0, 210.0],
                   {"mb_per_s": [265.0, 212.0]}),
        record.Run("theirs", "small", [4.0, 3.5], [5.0, 5.5], [300.0, 320.0],
                   {"mb_per_s": [132.5, 151.4]}),
        record.Run("ours", "large", [8.0], [12.0], [205.0], {"mb_per_s": [265.0]}),
        record.Run("broken", "small"),  # a contender that failed: no repeats
    ]
    targets = [
        record.Target("speed", "1.75x (2.00 s vs 3.50 s)", 1.75, ">= 1.0x", True),
        record.Target("memory", "210 MiB", 210.0, "< 200 MiB", False),
        record.Target("zarrs", "not run", None, "-", None),
    ]
    path = record.save("demo", title="a demo run", targets=targets, runs=runs,
                       packages=["numpy", "not-a-package"], load_at_start=(0.5, 0.25, 0.0),
                       seconds=125.0, command="make bench", results=tmp_path)
    return path


def test_read_benchmark_reads_what_the_benchmarks_write(recorded):
    record = read_benchmark(recorded)
    assert record == json.loads(recorded.read_text())
    assert record["benchmark"] == "demo"
    assert read_benchmark(str(recorded)) == record


def test_read_benchmark_without_a_file_is_none(tmp_path):
    assert read_benchmark(tmp_path / "pyramid.json") is None


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{not json", r"is not JSON"),
        ("[1, 2]", r"expected a JSON object, got list"),
        ('{"format": 2}', r"its format is 2, expected 1"),
        ('{"benchmark": "x"}', r"its format is None, expected 1"),
    ],
)
def test_read_benchmark_refuses_other_files(tmp_path, text, match):
    path = tmp_path / "writer.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        read_benchmark(path)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda r: r.pop("date"), r"'date' must be a string, got None"),
        (lambda r: r.update(machine=[]), r"'machine' must be an object"),
        (lambda r: r.update(runs={}), r"'runs' must be a list"),
        (lambda r: r["targets"][0].update(met="yes"), r"targets\[0\]\['met'\] must be"),
        (lambda r: r["targets"][1].update(value="210"), r"targets\[1\]\['value'\] must"),
        (lambda r: r["targets"][2].pop("target"), r"targets\[2\]\['target'\] must be"),
        (lambda r: r["runs"][0].update(seconds=[1, "2"]),
         r"runs\[0\]\['seconds'\] must be a list of numbers"),
        (lambda r: r["runs"][1].update(peak_mib=300), r"runs\[1\]\['peak_mib'\] must be"),
        (lambda r: r["runs"][2].pop("contender"), r"runs\[2\]\['contender'\] must be"),
        (lambda r: r["runs"][0].update(extra=[1]), r"runs\[0\]\['extra'\] must be"),
    ],
)
def test_read_benchmark_names_what_is_wrong(recorded, change, match):
    record = json.loads(recorded.read_text())
    change(record)
    recorded.write_text(json.dumps(record))
    with pytest.raises(ValueError, match=rf"demo\.json is not a benchmark record.*{match}"):
        read_benchmark(recorded)
    with pytest.raises(ValueError, match=rf"^record is not a benchmark record.*{match}"):
        plot_benchmark(record)
    assert plt.get_fignums() == []


def test_read_benchmark_refuses_a_folder_and_a_non_path(tmp_path):
    (tmp_path / "pyramid.json").mkdir()
    with pytest.raises(ValueError, match=r"must be a benchmark's JSON file, not a folder"):
        read_benchmark(tmp_path / "pyramid.json")
    with pytest.raises(TypeError, match=r"path must be a string or path"):
        read_benchmark(3)


def test_benchmark_tables_show_the_record(recorded):
    record = read_benchmark(recorded)
    targets = benchmark_table(record)
    assert isinstance(targets, BenchmarkTable)
    assert targets.columns == ("measure", "result", "target", "met")
    assert targets.rows == (
        ("speed", "1.75x (2.00 s vs 3.50 s)", ">= 1.0x", "yes"),
        ("memory", "210 MiB", "< 200 MiB", "no"),
        ("zarrs", "not run", "-", "not measured"),
    )
    run = dict(benchmark_table(record, "run").rows)
    assert run["command"] == "make bench"
    assert run["date"].endswith(" UTC") and run["date"][:10] == record["date"][:10]
    assert run["load average (1, 5, 15 min)"].startswith("0.50, 0.25, 0.00 at the start; ")
    assert run["machine"].startswith(f"{record['machine']['cores']} cores, ")
    assert run["versions"] == f"numpy {np.__version__}"  # a missing package left out
    assert run["whole run"].startswith("2.1 min")
    runs = benchmark_table(record, "runs")
    assert runs.columns[-1] == "best MB/s"
    assert runs.rows[0] == ("ours", "small", "2", "2.00", "3.00", "210", "265")
    assert runs.rows[3][2:] == ("failed", "—", "—", "—", "—")


def test_benchmark_table_as_html_and_text(recorded):
    table = benchmark_table(read_benchmark(recorded))
    page = table._repr_html_()
    assert page.startswith('<table class="table"><thead><tr><th>measure</th>')
    assert "<td>&gt;= 1.0x</td>" in page  # escaped
    lines = str(table).splitlines()
    assert lines[0].split() == ["measure", "result", "target", "met"]
    assert lines[2].split()[0] == "speed" and lines[2].endswith("yes")
    assert repr(table) == str(table)


def test_benchmark_table_without_a_run_says_so():
    table = benchmark_table(None, "run")
    assert table.rows == ()
    assert str(table) == "No run of this benchmark is recorded."
    assert table._repr_html_() == "<p>No run of this benchmark is recorded.</p>"


@pytest.mark.parametrize(
    ("which", "error", "match"),
    [("machine", ValueError, r"which='machine' must be one of \('targets', 'run', 'runs'\)"),
     (2, TypeError, r"which must be a string")],
)
def test_benchmark_table_rejects_bad_which(which, error, match):
    with pytest.raises(error, match=match):
        benchmark_table(None, which)


def test_plot_benchmark_draws_every_repeat_and_the_best(recorded):
    record = read_benchmark(recorded)
    fig = plot_benchmark(record)
    assert isinstance(fig, Figure)
    throughput, per_cpu, memory = fig.axes
    assert throughput.get_ylabel() == "MB/s (higher is better)"
    assert per_cpu.get_ylabel() == "MB per CPU-second"
    assert memory.get_ylabel() == "peak RSS (MiB)"
    # One bar container per contender that ran ("broken" has none), in record order.
    assert [c.get_label() for c in throughput.containers] == ["ours", "theirs"]
    ours, theirs = throughput.containers
    assert [float(b.get_height()) for b in ours] == [265.0, 265.0]  # the best, each config
    assert [float(b.get_height()) for b in theirs] == [151.4]
    assert [float(b.get_height()) for b in memory.containers[1]] == [320.0]  # the highest
    # MB per CPU-second: MB/s x seconds / CPU seconds, the best repeat.
    assert float(per_cpu.containers[0][0].get_height()) == pytest.approx(265.0 * 2.0 / 3.0)
    # A dot per repeat: 2 + 2 + 1 values, in each panel.
    dots = [line for line in memory.lines if line.get_marker() == "o"]
    assert sorted(v for line in dots for v in line.get_ydata()) == [
        200.0, 205.0, 210.0, 300.0, 320.0]
    assert [t.get_text() for t in memory.get_xticklabels()] == ["small", "large"]
    assert fig._suptitle.get_text().startswith("a demo run\n(recorded ")


def test_plot_benchmark_times_without_throughput(recorded):
    record = read_benchmark(recorded)
    for run in record["runs"]:
        run["extra"] = {}
        run["peak_mib"] = []
    fig = plot_benchmark(record, title="no MB/s")
    assert [ax.get_ylabel() for ax in fig.axes] == ["wall time (s)", "CPU time (s)"]
    assert [float(b.get_height()) for b in fig.axes[0].containers[1]] == [3.5]  # the least
    assert fig._suptitle.get_text() == "no MB/s"


def test_plot_benchmark_without_a_run_says_so():
    fig = plot_benchmark(None)
    (ax,) = fig.axes
    assert not ax.axison
    assert ax.texts[0].get_text().startswith("No run of this benchmark is recorded.")


def test_plot_benchmark_rejects_a_bad_title(recorded):
    with pytest.raises(TypeError, match=r"title must be a string or None"):
        plot_benchmark(read_benchmark(recorded), title=3)
    assert plt.get_fignums() == []
