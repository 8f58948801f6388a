"""Tests of data_helpers.ome: building, writing, reading and validating OME-Zarr images."""

import json

import numpy as np
import pytest
import zarr

from data_helpers import ome


def two_level_model(**overrides):
    kwargs = dict(
        shapes=[(8, 10), (4, 5)], dtype="uint16", chunks=[(4, 4), (4, 4)], axes="yx",
        scales=[[0.5, 0.25], [1.0, 0.5]], translations=[[0.0, 0.0], [0.25, 0.125]],
    )
    kwargs.update(overrides)
    return ome.image_model(**kwargs)


@pytest.mark.parametrize("zarr_version", [2, 3])
@pytest.mark.parametrize("compression", ome.COMPRESSIONS)
def test_write_read_validate_round_trip(tmp_path, zarr_version, compression):
    model = two_level_model(zarr_version=zarr_version, compression=compression)
    group = ome.create_image(tmp_path / "image.zarr", model)
    data = np.arange(80, dtype=np.uint16).reshape(8, 10)
    group["0"][:] = data
    validated = ome.validate(tmp_path / "image.zarr")
    assert validated.ome_zarr_version == {2: "0.4", 3: "0.5"}[zarr_version]
    reopened = zarr.open_group(tmp_path / "image.zarr", mode="r")
    assert reopened.metadata.zarr_format == zarr_version
    np.testing.assert_array_equal(reopened["0"][:], data)
    meta = ome.read_multiscale(tmp_path / "image.zarr")
    assert meta.paths == ("0", "1")
    assert meta.axes == ("y", "x")
    assert meta.units == ("micrometer", "micrometer")
    assert meta.scales == ((0.5, 0.25), (1.0, 0.5))
    assert meta.translations == ((0.0, 0.0), (0.25, 0.125))
    assert meta.method == "mean"


def test_metadata_lives_where_each_version_puts_it(tmp_path):
    ome.create_image(tmp_path / "v2.zarr", two_level_model(zarr_version=2))
    ome.create_image(tmp_path / "v3.zarr", two_level_model(zarr_version=3))
    zattrs = json.loads((tmp_path / "v2.zarr" / ".zattrs").read_text())
    assert zattrs["multiscales"][0]["version"] == "0.4"
    zarr_json = json.loads((tmp_path / "v3.zarr" / "zarr.json").read_text())
    assert zarr_json["attributes"]["ome"]["version"] == "0.5"
    assert "multiscales" in zarr_json["attributes"]["ome"]
    # the strict schema's extra requirements are met
    multiscale = zarr_json["attributes"]["ome"]["multiscales"][0]
    assert {"name", "type", "metadata"} <= multiscale.keys()


def test_compression_and_sharding_reach_the_arrays(tmp_path):
    group = ome.create_image(
        tmp_path / "s.zarr",
        two_level_model(zarr_version=3, compression="blosc-lz4", shard_shapes=[(8, 8), (4, 8)]),
    )
    array = group["0"]
    assert array.chunks == (4, 4)
    assert array.shards == (8, 8)
    assert array.compressors[0].cname.value == "lz4"
    assert ome.create_image(tmp_path / "v2.zarr", two_level_model(compression="blosc-zstd"))[
        "0"
    ].compressors[0].cname == "zstd"


def test_shard_shape_is_clipped_to_the_array(tmp_path):
    group = ome.create_image(
        tmp_path / "s.zarr", two_level_model(zarr_version=3, shard_shapes=[(400, 400)] * 2)
    )
    assert group["0"].shards == (8, 12)   # whole chunks covering (8, 10)
    assert group["1"].shards == (4, 8)


def test_validate_rejects_broken_metadata(tmp_path):
    group = ome.create_image(tmp_path / "i.zarr", two_level_model())
    attrs = group.attrs.asdict()
    del attrs["multiscales"][0]["name"]
    group.attrs.put(attrs)
    with pytest.raises(ValueError, match=r"(?s)strict OME-NGFF schema.*'name' is a required"):
        ome.validate(tmp_path / "i.zarr")
    plain = zarr.open_group(tmp_path / "plain.zarr", mode="w", zarr_format=2)
    with pytest.raises(ValueError, match="not a valid OME-Zarr image"):
        ome.validate(plain)
    with pytest.raises(FileNotFoundError, match="no Zarr group"):
        ome.validate(tmp_path / "missing.zarr")


def test_existing_destination_needs_overwrite(tmp_path):
    path = tmp_path / "i.zarr"
    ome.create_image(path, two_level_model())
    (path / "0" / "stale").write_text("old chunk")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        ome.create_image(path, two_level_model())
    ome.create_image(path, two_level_model(), overwrite=True)
    assert not (path / "0" / "stale").exists()


def test_read_multiscale_applies_global_transforms(tmp_path):
    from ome_zarr_models.v04 import Image
    from ome_zarr_models.v04.axes import Axis
    from pydantic_zarr.v2 import ArraySpec

    spec = ArraySpec(shape=(4, 4), dtype="|u1", chunks=(2, 2), attributes={}, fill_value=0)
    model = Image.new(
        array_specs=[spec], paths=["full"], name="other tool",
        axes=[Axis(name="y", type="space"), Axis(name="x", type="space")],
        scales=[[2.0, 3.0]], translations=[[1.0, 1.0]],
        global_scale=[10.0, 10.0], global_translation=[5.0, 0.0],
    )
    model.to_zarr(zarr.storage.LocalStore(tmp_path / "o.zarr"), path="")
    meta = ome.read_multiscale(tmp_path / "o.zarr")
    assert meta.paths == ("full",)
    assert meta.scales == ((20.0, 30.0),)
    assert meta.translations == ((15.0, 10.0),)


def test_level_transforms_are_exact_and_centred():
    scales, translations = ome.level_transforms([0.65, 0.65], [(3, 3), (3, 3), (3, 3)])
    assert scales[3] == [17.55, 17.55]
    assert translations[3] == [8.45, 8.45]   # 0.65 * (27 - 1) / 2
    # the decimal result, rounded once (0.7 * 3 in floats is 2.0999999999999996)
    scales, shifted = ome.level_transforms([0.7], [(3,)], base_translation=[0.1])
    assert scales[1] == [2.1]
    assert shifted[1] == [0.8]
    # centre of coarse pixel 0 == centre of the fine pixels it averages
    for level in range(1, 4):
        factor = 3**level
        fine_centres = np.arange(factor) * 0.65
        assert translations[level][0] == pytest.approx(fine_centres.mean())
    _, nearest = ome.level_transforms([1.0], [(2,), (2,)], method="nearest")
    assert nearest == [[0.0], [0.0], [0.0]]
    _, shifted = ome.level_transforms([1.0], [(2,)], base_translation=[10.0])
    assert shifted == [[10.0], [10.5]]


@pytest.mark.parametrize(
    ("axes", "match"),
    [("xyz", "OME order"), ("cz", "2 or 3 space"), ("tczyxq", "at most once"),
     ("zz", "at most once"), ("tcyxz", "OME order")],
)
def test_bad_axes(axes, match):
    with pytest.raises(ValueError, match=match):
        ome.validate_axes(axes)


@pytest.mark.parametrize(
    ("overrides", "error", "match"),
    [
        ({"zarr_version": 4}, ValueError, r"zarr_version=4 must be 2 \(OME-Zarr 0.4\) or 3"),
        ({"zarr_version": "3"}, TypeError, "zarr_version='3' must be 2"),
        ({"compression": "gzip"}, ValueError, "compression='gzip' must be one of"),
        ({"chunks": [(4, 4)]}, ValueError, "chunks has 1 entries but shapes has 2"),
        ({"chunks": [(4, 0), (4, 4)]}, ValueError, r"chunks\[0\]=\(4, 0\) must be integers >= 1"),
        ({"shard_shapes": [(8, 8)] * 2}, ValueError, "needs zarr_version=3"),
        ({"zarr_version": 3, "shard_shapes": [(6, 4)] * 2}, ValueError, "whole multiple"),
        ({"shapes": [(8, 10, 1), (4, 5, 1)]}, ValueError, r"shapes\[0\]=\(8, 10, 1\) must be"),
        ({"axes": 3}, TypeError, "axes=3 must be a string"),
        ({"dtype": "complex64"}, ValueError, "dtype='complex64' must be a boolean, integer"),
        ({"method": "median"}, ValueError, "method='median' must be one of"),
        ({"fill_value": 0.5}, ValueError, "fill_value=0.5 must be a value of dtype uint16"),
    ],
)
def test_bad_model_arguments(overrides, error, match):
    with pytest.raises(error, match=match):
        two_level_model(**overrides)


def test_shard_shape_of_an_empty_array_is_one_chunk():
    model = ome.image_model(
        shapes=[(0, 10)], dtype="uint8", chunks=[(4, 4)], axes="yx", zarr_version=3,
        scales=[[1.0, 1.0]], translations=[[0.0, 0.0]], shard_shapes=[(8, 8)],
    )
    group = ome.create_image(zarr.storage.MemoryStore(), model)
    assert group["0"].shards == (4, 8)


# -- label images ---------------------------------------------------------------------------


def label_model(**overrides):
    kwargs = dict(
        shapes=[(8, 10), (4, 5)], dtype="uint16", chunks=[(4, 4), (4, 4)], axes="yx",
        scales=[[0.5, 0.25], [1.0, 0.5]], translations=[[0.0, 0.0], [0.25, 0.125]],
        name="cells",
    )
    kwargs.update(overrides)
    return ome.label_image_model(**kwargs)


@pytest.mark.parametrize("zarr_version", [2, 3])
def test_label_image_round_trip(tmp_path, zarr_version):
    model = label_model(zarr_version=zarr_version, colors={2: (1, 2, 3, 4), 1: (5, 6, 7, 8)},
                        properties={1: {"a": None}, 2: {"b": [1, 2]}})
    ome.create_image(tmp_path / "cells", model)
    version = {2: "0.4", 3: "0.5"}[zarr_version]
    assert ome.validate_label_image(tmp_path / "cells").ome_zarr_version == version
    label = ome.read_image_label(tmp_path / "cells")
    assert label == ome.ImageLabelMetadata(
        version=version, colors={1: (5, 6, 7, 8), 2: (1, 2, 3, 4)},
        properties={1: {"a": None}, 2: {"b": [1, 2]}}, source="../../",
    )
    meta = ome.read_multiscale(tmp_path / "cells")
    assert meta.method == "mode" and meta.name == "cells"
    # Stored by the specification's names, not the models' Python ones.
    text = json.dumps(zarr.open_group(tmp_path / "cells", mode="r").attrs.asdict())
    assert '"image-label"' in text and '"label-value"' in text
    assert "image_label" not in text and "label_value" not in text


def test_an_image_is_no_label_image(tmp_path):
    ome.create_image(tmp_path / "image", two_level_model())
    assert ome.read_image_label(tmp_path / "image") is None
    with pytest.raises(ValueError, match="its metadata has no 'image-label'"):
        ome.validate_label_image(tmp_path / "image")
    group = zarr.open_group(tmp_path / "image", mode="r+")
    group.attrs.put({**group.attrs.asdict(), "image-label": {"colors": "red"}})
    with pytest.raises(ValueError, match="image-label metadata is not valid"):
        ome.read_image_label(tmp_path / "image")


def test_a_label_image_of_floats_does_not_validate(tmp_path):
    ome.create_image(tmp_path / "cells", label_model())
    group = zarr.open_group(tmp_path / "cells", mode="r+")
    float_model = ome.image_model(shapes=[(8, 10), (4, 5)], dtype="float32",
                                  chunks=[(4, 4), (4, 4)], axes="yx",
                                  scales=[[0.5, 0.25], [1.0, 0.5]],
                                  translations=[[0.0, 0.0], [0.25, 0.125]])
    floats = ome.create_image(tmp_path / "floats", float_model)
    floats.attrs.put({**floats.attrs.asdict(), "image-label": group.attrs["image-label"]})
    with pytest.raises(ValueError, match=r"level '0' of the label image holds float32"):
        ome.validate_label_image(tmp_path / "floats")


def test_label_image_model_refuses_what_is_not_a_label_image():
    with pytest.raises(ValueError, match=r"dtype='float32' must be one of \['uint8'"):
        label_model(dtype="float32")
    with pytest.raises(ValueError, match=r"colors describe the label values \[1, 2\] but "
                                         r"properties describe \[1\]"):
        label_model(colors={1: (0, 0, 0, 0), 2: (0, 0, 0, 0)}, properties={1: {}})


def test_labels_group_attributes_keep_what_is_there():
    existing = {"ome": {"labels": ["theirs"], "note": 1}, "other": True}
    attributes = ome.labels_group_attributes(["theirs", "ours", "ours"], zarr_version=3,
                                             existing=existing)
    assert attributes == {"ome": {"labels": ["theirs", "ours"], "note": 1, "version": "0.5"},
                          "other": True}
    assert existing == {"ome": {"labels": ["theirs"], "note": 1}, "other": True}
    with pytest.raises(TypeError, match="names='cells' must be a sequence of strings"):
        ome.labels_group_attributes("cells", zarr_version=2)


@pytest.mark.parametrize("zarr_version", [2, 3])
def test_read_labels_as_listed_and_add_a_name(tmp_path, zarr_version):
    ome.create_image(tmp_path / "image", two_level_model(zarr_version=zarr_version))
    assert ome.read_labels(tmp_path / "image") == ()
    labels = ome.create_labels_group(zarr.storage.LocalStore(tmp_path / "image" / "labels"),
                                     zarr_version=zarr_version, names=["a"])
    assert ome.add_label_name(labels, "b") == ("a", "b")
    assert ome.add_label_name(labels, "a") == ("a", "b")
    assert ome.read_labels(tmp_path / "image") == ("a", "b")
    if zarr_version == 3:  # as ome-zarr-py 0.18 writes it: no version
        labels.attrs.put({"ome": {"labels": ["x"]}})
        assert ome.read_labels(tmp_path / "image") == ("x",)
    labels.attrs.put({"ome": {"labels": "x"}} if zarr_version == 3 else {"labels": [1]})
    with pytest.raises(ValueError, match="does not list its label images as OME-Zarr says"):
        ome.read_labels(tmp_path / "image")


def test_a_labels_array_is_no_labels_group(tmp_path):
    group = ome.create_image(tmp_path / "image", two_level_model())
    zarr.create_array(group.store, name="labels", shape=(2,), dtype="u1", zarr_format=2)
    with pytest.raises(ValueError, match="'labels' member is an array"):
        ome.read_labels(tmp_path / "image")


def test_a_shard_shape_of_none_leaves_that_level_unsharded():
    model = ome.image_model(
        shapes=[(16, 16), (8, 8)], dtype="uint8", chunks=[(4, 4)] * 2, axes="yx",
        zarr_version=3, scales=[[1.0, 1.0], [2.0, 2.0]],
        translations=[[0.0, 0.0], [0.5, 0.5]], shard_shapes=[(8, 8), None],
    )
    group = ome.create_image(zarr.storage.MemoryStore(), model)
    assert group["0"].shards == (8, 8) and group["1"].shards is None


# -- channels (omero) ------------------------------------------------------------------------


def channel_model(channels, **overrides):
    kwargs = dict(
        shapes=[(3, 8, 10), (3, 4, 5)], dtype="uint16", chunks=[(1, 4, 4)] * 2, axes="cyx",
        scales=[[1.0, 0.5, 0.5], [1.0, 1.0, 1.0]],
        translations=[[0.0, 0.0, 0.0], [0.0, 0.25, 0.25]], channels=channels,
    )
    kwargs.update(overrides)
    return ome.image_model(**kwargs)


def omero_json(group):
    attributes = group.attrs.asdict()
    return (attributes if group.metadata.zarr_format == 2 else attributes["ome"])["omero"]


@pytest.mark.parametrize("zarr_version", [2, 3])
def test_channels_are_written_as_omero_and_read_back(tmp_path, zarr_version):
    channels = [ome.Channel(label="DAPI", color="0000FF", window=(0, 4000)),
                {"label": "GFP", "color": "#00ff00", "window": (100, 3000), "active": False},
                "mCherry"]
    group = ome.create_image(tmp_path / "c.zarr",
                             channel_model(channels, zarr_version=zarr_version))
    ome.validate(tmp_path / "c.zarr")  # ome-zarr-models and the strict schema
    # The specification's spelling, where each version keeps its metadata.
    assert omero_json(group)["channels"][0] == {
        "label": "DAPI", "color": "0000FF", "active": True,
        "window": {"start": 0.0, "end": 4000.0, "min": 0.0, "max": 65535.0},
    }
    assert ome.read_channels(tmp_path / "c.zarr") == (
        ome.Channel("DAPI", "0000FF", (0.0, 4000.0), (0.0, 65535.0), True),
        ome.Channel("GFP", "00FF00", (100.0, 3000.0), (0.0, 65535.0), False),
        ome.Channel("mCherry", "FFFF00", (0.0, 65535.0), (0.0, 65535.0), True),
    )
    omero = ome.read_omero(tmp_path / "c.zarr")
    assert omero is not None and [c.color for c in omero.channels] == ["0000FF", "00FF00",
                                                                       "FFFF00"]


def test_an_image_without_omero_has_no_channels(tmp_path):
    ome.create_image(tmp_path / "i.zarr", two_level_model())
    assert ome.read_channels(tmp_path / "i.zarr") == ()
    assert ome.read_omero(tmp_path / "i.zarr") is None
    assert "omero" not in json.loads((tmp_path / "i.zarr" / ".zattrs").read_text())


@pytest.mark.parametrize(
    ("dtype", "given", "limits", "window"),
    [("uint8", {}, (0.0, 255.0), (0.0, 255.0)),
     ("int16", {"window": (-100, 100)}, (-32768.0, 32767.0), (-100.0, 100.0)),
     ("bool", {}, (0.0, 1.0), (0.0, 1.0)),
     ("float32", {}, (0.0, 1.0), (0.0, 1.0)),
     ("float32", {"window": (-2.5, 7)}, (-2.5, 7.0), (-2.5, 7.0)),
     ("float32", {"window": (0, 1), "limits": (-10, 10)}, (-10.0, 10.0), (0.0, 1.0))],
)
def test_channel_defaults_follow_the_pixel_type(dtype, given, limits, window):
    (channel,) = ome.as_channels([given], axes="cyx", shape=(1, 4, 4), dtype=dtype)
    assert (channel.limits, channel.window) == (limits, window)
    assert channel.color == "FFFFFF" and channel.active is True and channel.label is None


def test_default_colours_go_round_the_palette():
    channels = ome.as_channels([{}] * 10, axes="cyx", shape=(10, 4, 4), dtype="uint8")
    assert [c.color for c in channels] == [*ome.CHANNEL_COLORS, *ome.CHANNEL_COLORS[:2]]


def test_as_channels_is_idempotent():
    once = ome.as_channels(["a", {"color": (255, 128, 0)}], axes="tcyx", shape=(5, 2, 4, 4),
                           dtype="uint16")
    assert once[1].color == "FF8000"
    assert ome.as_channels(once, axes="tcyx", shape=(5, 2, 4, 4), dtype="uint16") == once


@pytest.mark.parametrize(
    ("channels", "error", "match"),
    [("DAPI", TypeError, "channels='DAPI' must be a sequence with one entry per channel"),
     ({"label": "DAPI"}, TypeError, "must be a sequence"),
     (["a", "b"], ValueError, r"channels has 2 entries but the channel axis 'c' has 3 "
                              r"\(shape \(3, 8, 10\), axes 'cyx'\)"),
     (["a", 3, "c"], TypeError, r"channels\[1\]=3 must be a Channel, a mapping"),
     (["a", {"name": "b"}, "c"], ValueError,
      r"channels\[1\]=\{'name': 'b'\} has the keys \['name'\]; a channel has \['label'"),
     (["a", {"color": "blue"}, "c"], ValueError,
      r"channels\[1\]\.color='blue' must be a colour: 'RRGGBB'"),
     (["a", {"color": "0000FF80"}, "c"], ValueError, r"channels\[1\]\.color='0000FF80'"),
     (["a", {"color": (0, 0, 256)}, "c"], ValueError, r"channels\[1\]\.color=\(0, 0, 256\)"),
     (["a", {"window": (10, 5)}, "c"], ValueError,
      r"channels\[1\]\.window=\(10, 5\) must be two finite numbers \(low, high\), low <= high"),
     (["a", {"window": (0, float("nan"))}, "c"], ValueError, r"channels\[1\]\.window\[1\]=nan"),
     (["a", {"window": 5}, "c"], TypeError, r"channels\[1\]\.window=5 must be two finite"),
     (["a", {"window": (0, 70000)}, "c"], ValueError,
      r"channels\[1\]\.window=\(0\.0, 70000\.0\) must lie within channels\[1\]\.limits="
      r"\(0\.0, 65535\.0\) \(for uint16 pixels"),
     (["a", {"limits": (0, 10), "window": (0, 20)}, "c"], ValueError, "must lie within"),
     (["a", {"label": 7}, "c"], TypeError, r"channels\[1\]\.label=7 must be a string"),
     (["a", {"active": "yes"}, "c"], TypeError, r"channels\[1\]\.active='yes' must be True"),
     ])
def test_bad_channels_are_refused(channels, error, match):
    with pytest.raises(error, match=match):
        channel_model(channels)


def test_channels_need_a_channel_axis():
    with pytest.raises(ValueError, match="needs a channel axis 'c', but axes='yx' has none"):
        two_level_model(channels=["DAPI"])


def test_an_invalid_omero_fails_validation_in_both_versions(tmp_path):
    for zarr_version in (2, 3):
        path = tmp_path / f"v{zarr_version}.zarr"
        group = ome.create_image(path, channel_model(["a", "b", "c"],
                                                     zarr_version=zarr_version))
        attributes = group.attrs.asdict()
        ome_json = attributes if zarr_version == 2 else attributes["ome"]
        del ome_json["omero"]["channels"][1]["window"]
        group.attrs.put(attributes)
        with pytest.raises(ValueError, match=r"(?s)not a valid OME-Zarr image.*window"):
            ome.validate(path)
        with pytest.raises(ValueError, match="the image's omero metadata is not valid"):
            ome.read_channels(path)


def test_another_images_omero_is_written_as_it_is(tmp_path):
    """An Omero model read from one image is copied whole: fields our Channel lacks too."""
    group = ome.create_image(tmp_path / "a.zarr", channel_model(["a", "b", "c"]))
    attributes = group.attrs.asdict()
    attributes["omero"]["rdefs"] = {"model": "color", "defaultZ": 0}
    attributes["omero"]["channels"][0]["family"] = "linear"
    group.attrs.put(attributes)
    omero = ome.read_omero(tmp_path / "a.zarr")
    copy = ome.create_image(tmp_path / "b.zarr", channel_model(omero, zarr_version=3))
    ome.validate(tmp_path / "b.zarr")
    assert omero_json(copy) == attributes["omero"]


@pytest.mark.parametrize("zarr_version", [2, 3])
def test_units_and_method_metadata_of_another_image(tmp_path, zarr_version):
    model = ome.image_model(
        shapes=[(2, 8, 8)], dtype="uint8", chunks=[(1, 8, 8)], axes="tyx",
        scales=[[1.0, 1.0, 1.0]], translations=[[0.0] * 3], zarr_version=zarr_version,
        units=["millisecond", "nanometer", None], method="gaussian",
        method_metadata={"sigma": [0, 1, 1]},
    )
    ome.create_image(tmp_path / "u.zarr", model)
    ome.validate(tmp_path / "u.zarr")
    meta = ome.read_multiscale(tmp_path / "u.zarr")
    assert meta.units == ("millisecond", "nanometer", None)
    assert (meta.method, meta.method_metadata) == ("gaussian", {"sigma": [0, 1, 1]})


@pytest.mark.parametrize(
    ("overrides", "error", "match"),
    [({"units": ["micrometer"]}, ValueError, r"units=\['micrometer'\] needs one value per axis"),
     ({"units": [1, None]}, TypeError, r"units\[0\]=1 must be a string or None"),
     ({"method_metadata": {"a": float("nan")}}, ValueError,
      "method_metadata=.* must be a JSON value"),
     ({"method_metadata": {}, "method": ""}, TypeError, "method='' must be a non-empty string")],
)
def test_bad_passthrough_arguments(overrides, error, match):
    with pytest.raises(error, match=match):
        two_level_model(**overrides)
