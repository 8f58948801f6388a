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

from data_helpers.plotting import plot_chunk_grid, plot_codec_bytes, plot_levels, plot_slice

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
    with pytest.raises(Exception):  # noqa: B017 - any error: the trap is armed
        zarr.open_array(path)[3]
    ax = plot_slice(zarr.open_array(path, mode="r"), index=2)
    np.testing.assert_array_equal(ax.images[0].get_array(), volume[2])


def test_plot_slice_computes_only_one_dask_plane(volume):
    lazy = da.from_array(volume, chunks=(1, 7, 8))
    ax = plot_slice(lazy, index=5)
    np.testing.assert_array_equal(ax.images[0].get_array(), volume[5])


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((np.zeros(5),), {}, ValueError, "at least 2 dimensions"),
        ((np.zeros((3, 4, 5)),), {"axis": 3}, ValueError, r"axis must be .*\[-3, 3\)"),
        ((np.zeros((3, 4, 5)),), {"axis": 1.0}, TypeError, "axis"),
        ((np.zeros((3, 4, 5)), 3), {}, ValueError, r"index must be .*\[-3, 3\).*got 3"),
        ((np.zeros((3, 4, 5)), -5), {"axis": 1}, ValueError, "index"),
        ((np.zeros((3, 4, 5)), "1"), {}, TypeError, "index"),
        ((np.zeros((4, 5)), 1), {}, ValueError, "index must be None for a 2D array"),
        ((np.zeros((4, 5)),), {"ax": "left"}, TypeError, "ax must be"),
    ],
)
def test_plot_slice_rejects_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_slice(*args, **kwargs)


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


@pytest.mark.parametrize(
    ("image", "chunks", "error", "match"),
    [
        (np.zeros((4, 4, 4)), (2, 2), ValueError, "image2d must be 2D"),
        (np.zeros((4, 4)), None, ValueError, "chunks must be given"),
        (np.zeros((4, 4)), (2,), ValueError, "chunks must be a pair"),
        (np.zeros((4, 4)), (0, 2), ValueError, "chunks must be a pair"),
        (np.zeros((4, 4)), "22", ValueError, "chunks must be a pair"),
    ],
)
def test_chunk_grid_rejects_bad_input(image, chunks, error, match):
    with pytest.raises(error, match=match):
        plot_chunk_grid(image, chunks)


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
        ([np.zeros((4, 4))], {"titles": ["a", "b"]}, ValueError, "titles must hold one"),
        ([np.zeros((4, 4))] * 2, {"axes": [None]}, ValueError, "axes must hold one"),
    ],
)
def test_levels_reject_bad_input(levels, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_levels(levels, **kwargs)


# --------------------------------------------------------------------------- plot_codec_bytes


def test_codec_bytes_from_a_mapping():
    ax = plot_codec_bytes({"none": 4 * 2**20, "zstd": 2**20, "lz4": 1.5 * 2**20})
    assert isinstance(ax, Axes)
    assert [p.get_width() for p in ax.patches] == [4.0, 1.0, 1.5]  # in MiB
    assert [t.get_text() for t in ax.get_yticklabels()] == ["none", "zstd", "lz4"]
    assert [t.get_text() for t in ax.texts] == ["4.00 MiB", "1.00 MiB", "1.50 MiB"]
    assert "MiB" in ax.get_xlabel()
    # All labels fit inside the x range.
    assert ax.get_xlim()[1] > 4.0


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


@pytest.mark.parametrize(
    ("results", "error", "match"),
    [
        ({}, ValueError, "at least one codec"),
        ("zstd", TypeError, "results must be a mapping"),
        ({"zstd": -1}, ValueError, r"results\['zstd'\] must be a number >= 0, got -1"),
        ({"zstd": "big"}, ValueError, r"results\['zstd'\]"),
        ([{"codec": "zstd"}], ValueError, r"results\[0\] must be a dict with keys"),
        ([{"codec": "zstd", "bytes": True}], ValueError, r"results\[0\]\['bytes'\]"),
        ([{"codec": "zstd", "bytes": 1, "ratio": -2}], ValueError, r"\['ratio'\]"),
    ],
)
def test_codec_bytes_rejects_bad_input(results, error, match):
    with pytest.raises(error, match=match):
        plot_codec_bytes(results)


def test_plot_levels_strides_large_levels():
    big = np.arange(3000 * 40, dtype=np.uint16).reshape(40, 3000)
    fig = plot_levels([big, big[::2, ::2]], max_display=500)
    first, second = (ax.get_images()[0].get_array() for ax in fig.axes)
    assert first.shape == (7, 500)       # stride 6 along both axes
    assert second.shape == (7, 500)      # (20, 1500) with stride 3
    plt.close(fig)
    with pytest.raises(ValueError, match="max_display must be a positive integer"):
        plot_levels([big], max_display=0)
