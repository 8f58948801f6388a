"""OME-Zarr metadata: the one place in the package that builds, writes and reads it.

Two versions matter today:

* OME-Zarr **0.4** lives in Zarr **v2** stores: the ``multiscales`` list sits directly in
  the group's ``.zattrs`` and carries its own ``version``.
* OME-Zarr **0.5** lives in Zarr **v3** stores: everything OME sits under one ``ome`` key
  of the group's ``zarr.json`` attributes, whose ``version`` is ``"0.5"``.

The models come from ome-zarr-models and the array specifications from pydantic-zarr, so
no JSON is written by hand. `validate` checks a written group twice: with ome-zarr-models
and against the OME-NGFF *strict* JSON schema shipped in ``data_helpers/schemas``.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import zarr
from ome_zarr_models.common.omero import Channel as OmeroChannel
from ome_zarr_models.common.omero import Omero
from ome_zarr_models.v04 import Image as ImageV04
from ome_zarr_models.v04.axes import Axis as AxisV04
from ome_zarr_models.v04.image import ImageAttrs as ImageAttrsV04
from ome_zarr_models.v04.image_label import ImageLabel as ImageLabelV04
from ome_zarr_models.v04.image_label import ImageLabelAttrs as ImageLabelAttrsV04
from ome_zarr_models.v04.image_label_types import Label as LabelV04
from ome_zarr_models.v04.labels import LabelsAttrs as LabelsAttrsV04
from ome_zarr_models.v05 import Image as ImageV05
from ome_zarr_models.v05.axes import Axis as AxisV05
from ome_zarr_models.v05.base import BaseZarrAttrs
from ome_zarr_models.v05.image import ImageAttrs as ImageAttrsV05
from ome_zarr_models.v05.image_label import ImageLabel as ImageLabelV05
from ome_zarr_models.v05.image_label import ImageLabelAttrs as ImageLabelAttrsV05
from ome_zarr_models.v05.image_label_types import Label as LabelV05
from ome_zarr_models.v05.labels import LabelsAttrs as LabelsAttrsV05
from pydantic_zarr.v2 import ArraySpec as ArraySpecV2
from pydantic_zarr.v3 import ArraySpec as ArraySpecV3
from zarr.abc.store import Store

from data_helpers import _destination
from data_helpers._checks import (
    COMPRESSIONS,
    Compression,
    ZarrVersion,
    as_bool,
    as_compression,
    as_dtype,
    as_float,
    as_int,
    as_ints,
    as_zarr_version,
    check_sharding,
    one_of,
)

if TYPE_CHECKING:
    from referencing import Registry

__all__ = [
    "AXIS_TYPES",
    "CHANNEL_COLORS",
    "COMPRESSIONS",
    "LABEL_DTYPES",
    "LABEL_SOURCE",
    "WINDOW_METHODS",
    "Channel",
    "ChannelsLike",
    "Compression",
    "ImageLabelMetadata",
    "MultiscaleMetadata",
    "add_label_name",
    "array_spec",
    "as_channels",
    "create_image",
    "create_labels_group",
    "image_model",
    "image_name",
    "label_image_model",
    "labels_group_attributes",
    "level_array",
    "level_transforms",
    "read_channels",
    "read_image_label",
    "read_labels",
    "read_multiscale",
    "read_omero",
    "validate",
    "validate_axes",
    "validate_label_image",
]

#: The axis names OME-Zarr knows, their type, in the order the specification requires.
AXIS_TYPES: dict[str, str] = {"t": "time", "c": "channel", "z": "space", "y": "space", "x": "space"}

#: Methods whose output pixel summarises a whole window, so its centre moves by half a window.
WINDOW_METHODS = frozenset({"mean", "mode", "min", "max"})
#: Every downsampling method: the window methods, and ``nearest`` (a window's first pixel).
_METHODS = ("mean", "mode", "min", "max", "nearest")

#: The pixel types of a label image, OME-Zarr 0.5's list (its "labels" metadata "MUST be
#: integer data types"); 0.4 says "only integer values are supported".
LABEL_DTYPES: tuple[str, ...] = (
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64",
)
#: Where a label image's ``source`` points: the image two groups up, from ``labels/NAME``
#: (the default the specification gives, "since most labels are stored under" ``labels/``).
LABEL_SOURCE = "../../"

#: Every model `create_image` writes: an image, or a label image (an image-label group).
ImageModel = ImageV04 | ImageV05 | ImageLabelV04 | ImageLabelV05

# Blosc level 1: fast enough to keep up with a camera, as Acquire's driver does.
_BLOSC_LEVEL = 1
_SCHEMA_DIR = Path(__file__).parent / "schemas"


def validate_axes(axes: str) -> str:
    """Check an axes string such as ``"tczyx"`` or ``"zyx"`` and return it.

    OME-Zarr wants 2 to 5 axes: an optional time axis, then an optional channel axis,
    then 2 or 3 space axes, each name at most once, in the order ``t, c, z, y, x``.

    Examples
    --------
    >>> validate_axes("tcyx")
    'tcyx'
    >>> validate_axes("xyz")
    Traceback (most recent call last):
    ...
    ValueError: axes='xyz' must follow the OME order 't', 'c', 'z', 'y', 'x' ...
    """
    if not isinstance(axes, str):
        raise TypeError(f"axes={axes!r} must be a string such as 'zyx' or 'tczyx'")
    unknown = set(axes) - set(AXIS_TYPES)
    if unknown or len(set(axes)) != len(axes):
        raise ValueError(
            f"axes={axes!r} must use each of 't', 'c', 'z', 'y', 'x' at most once"
        )
    if list(axes) != sorted(axes, key="tczyx".index):
        raise ValueError(
            f"axes={axes!r} must follow the OME order 't', 'c', 'z', 'y', 'x' "
            "(time, then channel, then space)"
        )
    n_space = sum(AXIS_TYPES[a] == "space" for a in axes)
    if n_space not in (2, 3):
        raise ValueError(f"axes={axes!r} must have 2 or 3 space axes (z, y, x), got {n_space}")
    return axes


def level_transforms(
    base_scale: Sequence[float],
    level_factors: Sequence[Sequence[int]],
    *,
    method: str = "mean",
    base_translation: Sequence[float] | None = None,
) -> tuple[list[list[float]], list[list[float]]]:
    """Return the scale and translation of every level of a pyramid.

    Parameters
    ----------
    base_scale
        The physical size of a full-resolution pixel along each axis.
    level_factors
        For each level after the first, the factor applied to the level above it.
    method
        The downsampling method. A window method (mean, mode, min, max) puts each coarse
        pixel at the centre of its window: ``(F - 1) / 2`` fine pixels from the first
        fine pixel, where ``F`` is the factor accumulated since level 0. ``nearest``
        keeps the window's first pixel, so its position does not move.
    base_translation
        The position of the first full-resolution pixel (zeros by default).

    Returns
    -------
    scales, translations
        One list per level, level 0 first. Each value is computed exactly from the
        decimal inputs and the accumulated integer factor, then rounded once to the
        nearest float: 0.7 um pixels averaged 3 x 3 give a scale of 2.1 and a
        translation of 0.7, not 2.0999999999999996.

    Examples
    --------
    >>> scales, translations = level_transforms([1.0, 0.5, 0.5], [(1, 2, 2), (1, 2, 2)])
    >>> scales
    [[1.0, 0.5, 0.5], [1.0, 1.0, 1.0], [1.0, 2.0, 2.0]]
    >>> translations
    [[0.0, 0.0, 0.0], [0.0, 0.25, 0.25], [0.0, 0.75, 0.75]]
    """
    method = one_of("method", method, _METHODS)
    size = [
        _exact(as_float(f"base_scale[{i}]", v, positive=True))
        for i, v in enumerate(_sequence("base_scale", base_scale))
    ]
    ndim = len(size)
    if base_translation is None:
        offset0 = [Fraction(0)] * ndim
    else:
        offset0 = [
            _exact(as_float(f"base_translation[{i}]", v))
            for i, v in enumerate(_sequence("base_translation", base_translation))
        ]
        if len(offset0) != ndim:
            raise ValueError(
                f"base_translation={base_translation!r} needs one value per axis of "
                f"base_scale ({ndim})"
            )
    shifts = method in WINDOW_METHODS
    # Compute with the decimal values the user wrote (0.7, not 0.6999999999999999556),
    # as exact fractions, and round once at the end: 0.7 um x 3 is stored as 2.1, not as
    # 2.0999999999999996, and no error builds up from level to level.
    accumulated = [1] * ndim
    scales, translations = [], []
    for level in range(len(_sequence("level_factors", level_factors)) + 1):
        if level:
            name = f"level_factors[{level - 1}]"
            factors = as_ints(name, level_factors[level - 1], ndim, minimum=1,
                              accepted=f"one integer >= 1 per axis ({ndim})")
            accumulated = [a * f for a, f in zip(accumulated, factors, strict=True)]
        scale = [s * a for s, a in zip(size, accumulated, strict=True)]
        shift = [t + (s * (a - 1) / 2 if shifts else 0)
                 for t, s, a in zip(offset0, size, accumulated, strict=True)]
        scales.append(_finite_floats("base_scale", base_scale, level, scale))
        translations.append(_finite_floats("base_translation", base_translation, level, shift))
    return scales, translations


def _sequence(name: str, value: object) -> Sequence[Any]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise TypeError(f"{name}={value!r} must be a sequence, one entry per axis")
    return value  # type: ignore[return-value]


def _exact(value: float) -> Fraction:
    # The shortest decimal that reads back as this float: what the user typed.
    return Fraction(repr(value))


def _finite_floats(name: str, given: object, level: int, values: list[Fraction]) -> list[float]:
    try:
        rounded = [float(v) for v in values]
    except OverflowError:
        rounded = [math.inf]
    if not all(math.isfinite(v) for v in rounded):
        raise ValueError(
            f"{name}={given!r} is too large: level {level} of the pyramid would have a "
            "transform beyond the largest float; use a smaller unit or fewer levels"
        )
    return rounded


def image_name(path: str | os.PathLike[str]) -> str:
    """The multiscale's ``name`` for an image stored at ``path``.

    The last part of the path without ``.ome.zarr`` or ``.zarr``, so the streaming
    writer and the pyramid builder name ``volume.ome.zarr`` and ``volume.zarr`` alike.

    Examples
    --------
    >>> image_name("data/volume.ome.zarr"), image_name("stream.zarr"), image_name(".zarr")
    ('volume', 'stream', 'image')
    """
    name = Path(path).name
    suffix = ".ome.zarr" if name.endswith(".ome.zarr") else ".zarr"
    return name.removesuffix(suffix) or "image"


def _array_spec_v2(
    shape: Sequence[int], dtype: np.dtype[Any], chunks: Sequence[int],
    compression: Compression, fill_value: float | bool,
) -> ArraySpecV2[Any]:
    compressor: dict[str, Any] | None = None
    if compression is not None:
        cname = compression.removeprefix("blosc-")
        compressor = {"id": "blosc", "cname": cname, "clevel": _BLOSC_LEVEL, "shuffle": 1,
                      "blocksize": 0}
    return ArraySpecV2(
        shape=tuple(shape), dtype=np.dtype(dtype).str, chunks=tuple(chunks),
        compressor=compressor, fill_value=fill_value, attributes={},
        dimension_separator="/", order="C", filters=None,
    )


def _array_spec_v3(
    shape: Sequence[int], dtype: np.dtype[Any], chunks: Sequence[int],
    compression: Compression, fill_value: float | bool, shard_shape: Sequence[int] | None,
    axes: str | None,
) -> ArraySpecV3[Any]:
    codecs: list[dict[str, Any]] = [{"name": "bytes", "configuration": {"endian": "little"}}]
    if compression is not None:
        codecs.append({
            "name": "blosc",
            "configuration": {"cname": compression.removeprefix("blosc-"), "clevel": _BLOSC_LEVEL,
                              "shuffle": "shuffle", "typesize": dtype.itemsize, "blocksize": 0},
        })
    grid_shape = tuple(chunks)
    if shard_shape is not None:
        # A shard is one file holding many chunks plus an index of where each one is.
        codecs = [{
            "name": "sharding_indexed",
            "configuration": {
                "chunk_shape": list(chunks),
                "codecs": codecs,
                "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
                                 {"name": "crc32c"}],
                "index_location": "end",
            },
        }]
        grid_shape = tuple(shard_shape)
    # Plain JSON-like dicts, as in zarr.json: pydantic validates them into its configs.
    configs: dict[str, Any] = dict(
        chunk_grid={"name": "regular", "configuration": {"chunk_shape": grid_shape}},
        chunk_key_encoding={"name": "default", "configuration": {"separator": "/"}},
        codecs=tuple(codecs),
    )
    return ArraySpecV3(shape=tuple(shape), data_type=dtype.name, fill_value=fill_value,
                       attributes={}, dimension_names=None if axes is None else tuple(axes),
                       **configs)


def array_spec(
    shape: Sequence[int],
    dtype: Any,
    chunks: Sequence[int],
    *,
    zarr_version: ZarrVersion = 3,
    compression: Compression = "blosc-zstd",
    shard_shape: Sequence[int] | None = None,
) -> ArraySpecV2[Any] | ArraySpecV3[Any]:
    """The pydantic-zarr spec of a plain array, with the package's codecs.

    The same codecs as the levels of `image_model` (Blosc with byte shuffle, ``/`` chunk
    keys, sharding on v3), for arrays that are not part of an image, such as the result
    of `data_helpers.tiles.map_tiles`. Write it with ``spec.to_zarr(store, path="")``.

    Examples
    --------
    >>> spec = array_spec((100, 60), "uint16", (32, 32), shard_shape=(64, 64))
    >>> array = spec.to_zarr(zarr.storage.MemoryStore(), path="")
    >>> array.shape, array.chunks, array.shards
    ((100, 60), (32, 32), (64, 64))
    """
    dtype = as_dtype("dtype", dtype, kinds="biuf")
    zarr_version = as_zarr_version(zarr_version)
    compression = as_compression(compression)
    shape = as_ints("shape", shape, minimum=0)
    chunks = as_ints("chunks", chunks, len(shape), minimum=1,
                     accepted=f"one integer >= 1 per axis of shape={shape}")
    fill_value = _fill_value(0, dtype)
    if zarr_version == 2:
        check_sharding("shard_shape", shard_shape, zarr_version)
        return _array_spec_v2(shape, dtype, chunks, compression, fill_value)
    shard = None if shard_shape is None else _check_shard_shape(shard_shape, chunks, shape, 0)
    return _array_spec_v3(shape, dtype, chunks, compression, fill_value, shard, None)


def _fill_value(value: object, dtype: np.dtype[Any]) -> int | float | bool:
    number = as_float("fill_value", value)
    if dtype.kind == "f":
        return number
    if dtype.kind == "b":
        if number not in (0, 1):
            raise ValueError(f"fill_value={value!r} must be 0 or 1 for dtype bool")
        return bool(number)
    info = np.iinfo(dtype)
    if not number.is_integer() or not info.min <= number <= info.max:
        raise ValueError(f"fill_value={value!r} must be a value of dtype {dtype.name}")
    return int(number)


def _per_axis_values(name: str, values: object, ndim: int) -> Sequence[Any]:
    items = _sequence(name, values)
    if len(items) != ndim:
        raise ValueError(f"{name}={values!r} needs one value per axis ({ndim})")
    return items


def _check_shard_shape(
    shard_shape: Sequence[int], chunks: Sequence[int], shape: Sequence[int], level: int
) -> tuple[int, ...]:
    shard_shape = as_ints(f"shard_shapes[{level}]", shard_shape, len(chunks), minimum=1)
    if any(s < c or s % c for s, c in zip(shard_shape, chunks, strict=True)):
        raise ValueError(
            f"shard shape {tuple(shard_shape)!r} of level {level} must have one entry per axis, "
            f"each a whole multiple of the chunk shape {tuple(chunks)!r}"
        )
    # A shard larger than the array only wastes index entries: clip it to whole chunks.
    # At least one chunk, so an array that is still empty (a stream before its first
    # frame) keeps a valid shard shape.
    return tuple(
        min(s, max(c, math.ceil(n / c) * c))
        for s, c, n in zip(shard_shape, chunks, shape, strict=True)
    )


def image_model(
    *,
    shapes: Sequence[Sequence[int]],
    dtype: Any,
    chunks: Sequence[Sequence[int]],
    axes: str,
    scales: Sequence[Sequence[float]],
    translations: Sequence[Sequence[float]],
    zarr_version: ZarrVersion = 2,
    compression: Compression = None,
    shard_shapes: Sequence[Sequence[int] | None] | None = None,
    space_unit: str | None = "micrometer",
    time_unit: str | None = None,
    name: str = "image",
    method: str = "mean",
    fill_value: int | float = 0,
    units: Sequence[str | None] | None = None,
    method_metadata: Any = None,
    channels: ChannelsLike | Omero | None = None,
) -> ImageV04 | ImageV05:
    """Build the ome-zarr-models model of a multiscale image, levels ``"0"``, ``"1"``, ...

    Zarr v2 gives an OME-Zarr 0.4 `ome_zarr_models.v04.Image`, Zarr v3 an OME-Zarr 0.5
    `ome_zarr_models.v05.Image` (with sharding when ``shard_shapes`` is given; a level
    whose entry is None is not sharded). Nothing is written: pass the model to
    `create_image`, or call its ``to_zarr`` yourself.

    The multiscale's ``type`` is ``method`` and its ``metadata`` names the package's
    `data_helpers.downsample.downsample` call. Three keywords carry what another image
    says instead, for a copy of it (`data_helpers.convert.convert_image`):

    Parameters
    ----------
    units
        One unit per axis (None for none), instead of ``space_unit`` and ``time_unit``.
    method_metadata
        The multiscale's ``metadata``, any JSON value; ``method`` is then any non-empty
        string, the ``type`` as the other image names it.
    channels
        The channels' display settings, written as ``omero`` metadata: one entry per index
        of the ``c`` axis, normalised by `as_channels` (see there), or an ome-zarr-models
        ``Omero`` model read from another image (`read_omero`), written as it is.

    Examples
    --------
    >>> model = image_model(shapes=[(64, 64), (32, 32)], dtype="uint16",
    ...                     chunks=[(32, 32), (32, 32)], axes="yx",
    ...                     scales=[[0.5, 0.5], [1.0, 1.0]],
    ...                     translations=[[0.0, 0.0], [0.25, 0.25]])
    >>> model.ome_zarr_version
    '0.4'
    >>> [d.path for d in model.attributes.multiscales[0].datasets]
    ['0', '1']
    """
    axes = validate_axes(axes)
    zarr_version = as_zarr_version(zarr_version)
    compression = as_compression(compression)
    dtype = as_dtype("dtype", dtype, kinds="biuf")
    if method_metadata is None:
        method = one_of("method", method, _METHODS)
        # What the strict schema asks for: how the levels were made.
        method_metadata = {"method": f"data_helpers.downsample.downsample(method={method!r})",
                           "version": "1"}
    else:
        if not isinstance(method, str) or not method:
            raise TypeError(f"method={method!r} must be a non-empty string")
        method_metadata = _json_value("method_metadata", method_metadata)
    fill_value = _fill_value(fill_value, dtype)
    ndim = len(axes)
    per_axis = f"one per axis of axes={axes!r}"
    levels = _sequence("shapes", shapes)
    n_levels = len(levels)
    if n_levels == 0:
        raise ValueError("shapes=[] must list at least one level")
    for label, values in (("chunks", chunks), ("scales", scales), ("translations", translations)):
        if len(_sequence(label, values)) != n_levels:
            raise ValueError(
                f"{label} has {len(values)} entries but shapes has {n_levels} levels; "
                "give one per level"
            )
    shapes = [as_ints(f"shapes[{k}]", s, ndim, minimum=0,
                      accepted=f"integers >= 0, {per_axis}") for k, s in enumerate(levels)]
    chunks = [as_ints(f"chunks[{k}]", c, ndim, minimum=1,
                      accepted=f"integers >= 1, {per_axis}") for k, c in enumerate(chunks)]
    scales = [[as_float(f"scales[{k}][{i}]", v, positive=True)
               for i, v in enumerate(_per_axis_values(f"scales[{k}]", s, ndim))]
              for k, s in enumerate(scales)]
    translations = [[as_float(f"translations[{k}][{i}]", v)
                     for i, v in enumerate(_per_axis_values(f"translations[{k}]", t, ndim))]
                    for k, t in enumerate(translations)]
    for label, value in (("space_unit", space_unit), ("time_unit", time_unit), ("name", name)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{label}={value!r} must be a string")
    if shard_shapes is not None:
        check_sharding("shard_shapes", shard_shapes, zarr_version)
        if len(_sequence("shard_shapes", shard_shapes)) != n_levels:
            raise ValueError(
                f"shard_shapes has {len(shard_shapes)} entries, expected one per level "
                f"({n_levels})"
            )
        shard_shapes = [
            None if s is None else _check_shard_shape(s, c, n, level)
            for level, (s, c, n) in enumerate(zip(shard_shapes, chunks, shapes, strict=True))
        ]

    by_type = {"space": space_unit, "time": time_unit, "channel": None}
    if units is None:
        axis_units = [by_type[AXIS_TYPES[a]] for a in axes]
    else:
        axis_units = list(_per_axis_values("units", units, ndim))
        for i, unit in enumerate(axis_units):
            if unit is not None and not isinstance(unit, str):
                raise TypeError(f"units[{i}]={unit!r} must be a string or None")
    omero = None
    if isinstance(channels, Omero):
        omero = channels
    elif channels is not None:
        omero = _omero_model(as_channels(channels, axes=axes, shape=shapes[0], dtype=dtype))
    axis_cls = AxisV04 if zarr_version == 2 else AxisV05
    axis_models = [
        axis_cls(name=a, type=AXIS_TYPES[a], unit=u) for a, u in zip(axes, axis_units, strict=True)
    ]
    common: dict[str, Any] = dict(
        paths=[str(level) for level in range(n_levels)],
        axes=axis_models,
        scales=[[float(v) for v in s] for s in scales],
        translations=[[float(v) for v in t] for t in translations],
        name=name,
        multiscale_type=method,
        metadata=method_metadata,
    )
    if zarr_version == 2:
        specs_v2 = [_array_spec_v2(s, dtype, c, compression, fill_value)
                    for s, c in zip(shapes, chunks, strict=True)]
        return _with_omero(ImageV04.new(array_specs=specs_v2, **common), omero)
    shards: Sequence[Sequence[int] | None] = shard_shapes or [None] * n_levels
    specs_v3 = [_array_spec_v3(s, dtype, c, compression, fill_value, sh, axes)
                for s, c, sh in zip(shapes, chunks, shards, strict=True)]
    return _with_omero(ImageV05.new(array_specs=specs_v3, **common), omero)


def _json_value(name: str, value: object) -> Any:
    """``value`` as it is stored: JSON (no NaN; tuples become lists), or a `ValueError`."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{name}={value!r} must be a JSON value (str, int, float, bool, None, lists and "
            f"dicts of them): {error}"
        ) from None


def _with_omero(image: ImageV04 | ImageV05, omero: Omero | None) -> ImageV04 | ImageV05:
    """``image`` with the ``omero`` metadata ``omero`` (unchanged when it is None).

    ome-zarr-models 1.7 has an ``omero`` field in OME-Zarr 0.4's image attributes only;
    0.5's keep it as an extra key of the ``ome`` object (which the model allows), checked
    by the same ``Omero`` model here and in `validate`.
    """
    if omero is None:
        return image
    omero_json = omero.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(image, ImageV04):
        attributes = image.attributes.model_dump(by_alias=True, exclude_none=True)
        attributes["omero"] = omero_json
        return ImageV04(attributes=ImageAttrsV04.model_validate(attributes),
                        members=image.members)
    ome_json = image.ome_attributes.model_dump(by_alias=True, exclude_none=True)
    return ImageV05(attributes=BaseZarrAttrs[ImageAttrsV05](
        ome=ImageAttrsV05.model_validate({**ome_json, "omero": omero_json})
    ), members=image.members)


def create_image(
    dest: str | os.PathLike[str] | Store,
    model: ImageModel,
    *,
    overwrite: bool = False,
) -> zarr.Group:
    """Write a model's group and empty arrays to ``dest`` and return the open group.

    ``model`` is an image made by `image_model` or a label image made by
    `label_image_model`.

    ``dest`` may be a path or an empty Zarr store. A path follows the package's data-safety
    rules (see `data_helpers._destination`): an existing path is refused unless
    ``overwrite=True``, and even then only a Zarr store is replaced, never a file or a
    folder of other files. The new group is written aside and swapped in whole, so a
    failure leaves what was there before.

    Examples
    --------
    >>> model = image_model(shapes=[(4, 4)], dtype="uint8", chunks=[(2, 2)], axes="yx",
    ...                     scales=[[1.0, 1.0]], translations=[[0.0, 0.0]])
    >>> group = create_image(zarr.storage.MemoryStore(), model)
    >>> group["0"].shape
    (4, 4)
    """
    if not isinstance(model, ImageModel):
        raise TypeError(
            f"model={model!r} must be a model made by image_model or label_image_model"
        )
    if isinstance(dest, Store):
        return _write_model(dest, model)
    with _destination.Destination(dest, overwrite=overwrite) as destination:
        _write_model(zarr.storage.LocalStore(destination.staging), model)
        destination.commit()
    return zarr.open_group(zarr.storage.LocalStore(destination.path), mode="r+")


def _write_model(store: Store, model: ImageModel) -> zarr.Group:
    group = model.to_zarr(store, path="")
    group.attrs.put(_attributes_json(model))
    return group


def _attributes_json(model: ImageModel) -> dict[str, Any]:
    """The group attributes of ``model``, as they are stored.

    Two fixes to ome-zarr-models 1.7's own dump (which ``to_zarr`` writes): its unset
    optional fields are dumped as null ("omero": null in 0.4), which the OME-NGFF schema
    rejects, so they are left out; and fields are dumped by their Python names
    ("image_label", "label_value"), so they are dumped by their JSON names ("image-label",
    "label-value"), as the specification spells them. A label's properties are the user's
    own key-value pairs, kept whole, a null value included.
    """
    attributes: dict[str, Any] = model.attributes.model_dump(
        mode="json", exclude_none=True, by_alias=True
    )
    if isinstance(model, ImageLabelV04 | ImageLabelV05):
        label = model.ome_attributes.image_label
        if label is not None and label.properties:
            ome_json = attributes if isinstance(model, ImageLabelV04) else attributes["ome"]
            ome_json["image-label"]["properties"] = [
                p.model_dump(mode="json", by_alias=True) for p in label.properties
            ]
    return attributes


# -- channels: the omero metadata ---------------------------------------------------------

#: Colours given in turn to channels that have none, in ome-zarr-py's order (cyan,
#: magenta, yellow, red, green, blue, white, orange); a single channel is shown in white.
CHANNEL_COLORS: tuple[str, ...] = (
    "00FFFF", "FF00FF", "FFFF00", "FF0000", "00FF00", "0000FF", "FFFFFF", "FFA500",
)

_CHANNEL_FIELDS = ("label", "color", "window", "limits", "active")
_HEX_COLOR = re.compile(r"^#?([0-9a-fA-F]{6})$")


@dataclass(frozen=True)
class Channel:
    """How viewers show one channel: an entry of OME-Zarr's ``omero`` metadata.

    Give one per index of an image's ``c`` axis (``channels=`` of
    `data_helpers.pyramid.build_pyramid`); `data_helpers.multiscale.MultiscaleImage.channels`
    reads them back, from any image. Each field left None gets a default when written
    (see `as_channels`); one read from an image is None where the image says nothing.

    Attributes
    ----------
    label
        The channel's name, e.g. ``"DAPI"`` (``label`` in the metadata).
    color
        Its colour, six hex digits ``"RRGGBB"`` such as ``"0000FF"`` (blue).
    window
        ``(start, end)``: the display window, the pixel values shown darkest and brightest
        (``window.start``, ``window.end``).
    limits
        ``(min, max)``: the range a viewer's window slider spans, usually the range of the
        pixel type or of the data (``window.min``, ``window.max``).
    active
        Whether the channel is shown when the image opens.

    Examples
    --------
    >>> Channel(label="DAPI", color="0000FF", window=(0, 4000))
    Channel(label='DAPI', color='0000FF', window=(0, 4000), limits=None, active=None)
    """

    label: str | None = None
    color: str | None = None
    window: tuple[float, float] | None = None
    limits: tuple[float, float] | None = None
    active: bool | None = None


#: What ``channels=`` accepts: one entry per channel, a `Channel`, a mapping of its
#: fields, or a label alone.
ChannelsLike = Sequence[Channel | Mapping[str, Any] | str]


def as_channels(
    channels: object, *, axes: str, shape: Sequence[int], dtype: Any, name: str = "channels"
) -> tuple[Channel, ...]:
    """The channels ``channels`` describe, checked and completed with defaults.

    The one place that reads a ``channels=`` argument, for every writer of the package.

    Parameters
    ----------
    channels
        One entry per index of the ``c`` axis of ``axes`` (which must have one): a
        `Channel`, a mapping of its fields (``{"label": "DAPI", "window": (0, 4000)}``)
        or a label alone (``"DAPI"``). A colour is ``"RRGGBB"`` (a leading ``#`` and
        lower case are accepted) or three integers from 0 to 255.
    axes, shape, dtype
        The image's axes (OME letters), level-0 shape and pixel type.

    Returns
    -------
    tuple of Channel
        Every field set: ``color`` as ``"RRGGBB"`` in upper case, by default white for a
        single channel, else `CHANNEL_COLORS` in turn; ``limits`` by default the range of
        an integer pixel type (0 and 1 for booleans; for floats, the window, else 0 to 1);
        ``window`` by default the limits; ``active`` True. ``label`` stays None when not
        given. The window must lie within the limits.

    Raises
    ------
    TypeError, ValueError
        Naming the entry and the field that is wrong.

    Examples
    --------
    >>> dapi, gfp = as_channels(["DAPI", {"label": "GFP", "color": "#00ff00",
    ...                                   "window": (100, 3000)}],
    ...                         axes="cyx", shape=(2, 64, 64), dtype="uint16")
    >>> dapi.color, dapi.window, dapi.limits, dapi.active
    ('00FFFF', (0.0, 65535.0), (0.0, 65535.0), True)
    >>> gfp.color, gfp.window
    ('00FF00', (100.0, 3000.0))
    >>> as_channels(["DAPI"], axes="zyx", shape=(8, 64, 64), dtype="uint16")
    Traceback (most recent call last):
    ...
    ValueError: channels=['DAPI'] needs a channel axis 'c', but axes='zyx' has none
    """
    axes = validate_axes(axes)
    dtype = as_dtype("dtype", dtype, kinds="biuf")
    shape = as_ints("shape", shape, len(axes), minimum=0)
    if isinstance(channels, str | bytes | Mapping) or not isinstance(channels, Sequence):
        raise TypeError(
            f"{name}={channels!r} must be a sequence with one entry per channel: a Channel, "
            "a mapping of its fields, or a label"
        )
    if "c" not in axes:
        raise ValueError(
            f"{name}={channels!r} needs a channel axis 'c', but axes={axes!r} has none"
        )
    count = shape[axes.index("c")]
    if len(channels) != count:
        raise ValueError(
            f"{name} has {len(channels)} entries but the channel axis 'c' has {count} "
            f"(shape {tuple(shape)}, axes {axes!r}): give one entry per channel"
        )
    return tuple(
        _channel(f"{name}[{i}]", entry, dtype, CHANNEL_COLORS[i % len(CHANNEL_COLORS)]
                 if count > 1 else "FFFFFF")
        for i, entry in enumerate(channels)
    )


def _channel(name: str, entry: object, dtype: np.dtype[Any], default_color: str) -> Channel:
    if isinstance(entry, str):
        entry = Channel(label=entry)
    elif isinstance(entry, Mapping):
        unknown = [key for key in entry if key not in _CHANNEL_FIELDS]
        if unknown:
            raise ValueError(
                f"{name}={entry!r} has the keys {unknown}; a channel has {list(_CHANNEL_FIELDS)}"
            )
        entry = Channel(**entry)
    elif not isinstance(entry, Channel):
        raise TypeError(
            f"{name}={entry!r} must be a Channel, a mapping of its fields, or a label (a string)"
        )
    if entry.label is not None and not isinstance(entry.label, str):
        raise TypeError(f"{name}.label={entry.label!r} must be a string or None")
    if entry.active is not None:
        as_bool(f"{name}.active", entry.active)
    color = default_color if entry.color is None else _color(f"{name}.color", entry.color)
    window = None if entry.window is None else _interval(f"{name}.window", entry.window)
    limits = None if entry.limits is None else _interval(f"{name}.limits", entry.limits)
    if limits is None:
        if dtype.kind == "b":
            limits = (0.0, 1.0)
        elif dtype.kind in "iu":
            info = np.iinfo(dtype)
            limits = (float(info.min), float(info.max))
        else:
            limits = window or (0.0, 1.0)
    if window is None:
        window = limits
    if not limits[0] <= window[0] <= window[1] <= limits[1]:
        raise ValueError(
            f"{name}.window={window!r} must lie within {name}.limits={limits!r} (for "
            f"{dtype.name} pixels, the limits are by default the type's range)"
        )
    return Channel(label=entry.label, color=color, window=window, limits=limits,
                   active=True if entry.active is None else bool(entry.active))


def _color(name: str, value: object) -> str:
    accepted = "a colour: 'RRGGBB' (six hex digits, such as '0000FF') or 3 integers from 0 to 255"
    if isinstance(value, str):
        match = _HEX_COLOR.match(value)
        if match is None:
            raise ValueError(f"{name}={value!r} must be {accepted}")
        return match.group(1).upper()
    rgb = as_ints(name, value, 3, minimum=0, accepted=accepted)
    if max(rgb) > 255:
        raise ValueError(f"{name}={value!r} must be {accepted}")
    return "".join(f"{v:02X}" for v in rgb)


def _interval(name: str, value: object) -> tuple[float, float]:
    accepted = "two finite numbers (low, high), low <= high"
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise TypeError(f"{name}={value!r} must be {accepted}")
    if len(value) != 2:
        raise ValueError(f"{name}={value!r} must be {accepted}")
    low, high = (as_float(f"{name}[{i}]", v, accepted=accepted) for i, v in enumerate(value))
    if low > high:
        raise ValueError(f"{name}={value!r} must be {accepted}")
    return low, high


def _omero_model(channels: Sequence[Channel]) -> Omero:
    """The ome-zarr-models ``Omero`` model of channels completed by `as_channels`."""
    entries = []
    for channel in channels:
        assert channel.window is not None and channel.limits is not None
        entry: dict[str, Any] = {
            "color": channel.color, "active": channel.active,
            "window": {"start": channel.window[0], "end": channel.window[1],
                       "min": channel.limits[0], "max": channel.limits[1]},
        }
        if channel.label is not None:
            entry["label"] = channel.label
        entries.append(OmeroChannel.model_validate(entry))
    return Omero(channels=entries)


def read_omero(group: str | Path | zarr.Group) -> Omero | None:
    """The ``omero`` metadata of an image group as ome-zarr-models' ``Omero``, or None.

    Read where each version keeps it (0.4: the group's attributes; 0.5: their ``ome``
    object) and validated by the same model for both; what the model does not name (such
    as ``label``, ``active``, ``family``, ``rdefs``) is kept as the model's extra fields.

    Raises
    ------
    ValueError
        When ``omero`` is there but not as the model describes it.

    Examples
    --------
    >>> model = image_model(shapes=[(2, 4, 4)], dtype="uint8", chunks=[(1, 4, 4)],
    ...                     axes="cyx", scales=[[1.0, 1.0, 1.0]],
    ...                     translations=[[0.0, 0.0, 0.0]], channels=["DAPI", "GFP"])
    >>> omero = read_omero(create_image(zarr.storage.MemoryStore(), model))
    >>> [(c.label, c.color, c.window.end) for c in omero.channels]
    [('DAPI', '00FFFF', 255.0), ('GFP', 'FF00FF', 255.0)]
    """
    opened = _open_group(group)
    attributes = opened.attrs.asdict()
    ome_json = attributes if opened.metadata.zarr_format == 2 else attributes.get("ome")
    # ome-zarr-models' own to_zarr writes 0.4's unset omero as null: no omero either.
    if not isinstance(ome_json, Mapping) or ome_json.get("omero") is None:
        return None
    try:
        return Omero.model_validate(ome_json["omero"])
    except Exception as error:  # pydantic's ValidationError
        raise ValueError(f"the image's omero metadata is not valid: {error}") from error


def read_channels(group: str | Path | zarr.Group) -> tuple[Channel, ...]:
    """The channels the ``omero`` metadata of an image group describes; ``()`` without it.

    Each field is as stored (None where the image gives none); see `Channel`.

    Examples
    --------
    >>> model = image_model(shapes=[(1, 4, 4)], dtype="uint16", chunks=[(1, 4, 4)],
    ...                     axes="cyx", scales=[[1.0, 1.0, 1.0]],
    ...                     translations=[[0.0, 0.0, 0.0]],
    ...                     channels=[Channel("DAPI", "0000FF", window=(0, 4000))])
    >>> (dapi,) = read_channels(create_image(zarr.storage.MemoryStore(), model))
    >>> dapi.label, dapi.color, dapi.window, dapi.limits, dapi.active
    ('DAPI', '0000FF', (0.0, 4000.0), (0.0, 65535.0), True)
    """
    omero = read_omero(group)
    if omero is None:
        return ()
    channels = []
    for channel in omero.channels:
        label = getattr(channel, "label", None)
        active = getattr(channel, "active", None)
        window = channel.window
        channels.append(Channel(
            label=_text(label), color=channel.color,
            window=(float(window.start), float(window.end)),
            limits=(float(window.min), float(window.max)),
            active=active if isinstance(active, bool) else None,
        ))
    return tuple(channels)



# -- label images ---------------------------------------------------------------------------


def label_image_model(
    *,
    shapes: Sequence[Sequence[int]],
    dtype: Any,
    chunks: Sequence[Sequence[int]],
    axes: str,
    scales: Sequence[Sequence[float]],
    translations: Sequence[Sequence[float]],
    zarr_version: ZarrVersion = 2,
    compression: Compression = None,
    shard_shapes: Sequence[Sequence[int] | None] | None = None,
    space_unit: str | None = "micrometer",
    time_unit: str | None = None,
    name: str = "labels",
    colors: Any = None,
    properties: Any = None,
    units: Sequence[str | None] | None = None,
    method: str = "mode",
    method_metadata: Any = None,
) -> ImageLabelV04 | ImageLabelV05:
    """Build the ome-zarr-models model of a label image: a multiscale plus ``image-label``.

    The multiscale is `image_model`'s, with the levels downsampled by ``mode`` (its
    ``type``); the pixel type must be one of `LABEL_DTYPES`. The ``image-label`` metadata
    holds the ``version`` (``"0.4"`` on Zarr v2, ``"0.5"`` on v3), ``source`` pointing
    back to the image (`LABEL_SOURCE`), and, when given:

    Parameters
    ----------
    colors
        ``{label value: (r, g, b, a)}``, each an integer 0 to 255: how viewers paint each
        label. Stored as the ``colors`` list, sorted by label value.
    properties
        ``{label value: {key: JSON value}}``: anything known about each label (its class,
        its area...). Stored as the ``properties`` list, sorted by label value.

    Notes
    -----
    Label values are integers of ``dtype``'s range. When both are given, they must
    describe the same label values: ome-zarr-models refuses colors and properties that
    differ. An empty mapping is the same as None (the specification wants at least one
    entry in a list it has). The other parameters are `image_model`'s (``method`` and
    ``method_metadata`` there carry another label image's own, for a copy of it).

    Examples
    --------
    >>> model = label_image_model(shapes=[(64, 64), (32, 32)], dtype="uint16",
    ...                           chunks=[(32, 32), (32, 32)], axes="yx",
    ...                           scales=[[0.5, 0.5], [1.0, 1.0]],
    ...                           translations=[[0.0, 0.0], [0.25, 0.25]], name="cells",
    ...                           colors={1: (255, 0, 0, 255)})
    >>> label = model.attributes.image_label
    >>> label.version, label.source.image, label.colors[0].rgba
    ('0.4', '../../', (255, 0, 0, 255))
    >>> label_image_model(shapes=[(4, 4)], dtype="uint8", chunks=[(4, 4)], axes="yx",
    ...                   scales=[[1.0, 1.0]], translations=[[0.0, 0.0]],
    ...                   colors={1: (255, 0, 0)})
    Traceback (most recent call last):
    ...
    ValueError: colors[1]=(255, 0, 0) must be an RGBA color: 4 integers from 0 to 255
    """
    dtype = as_dtype("dtype", dtype, names=LABEL_DTYPES)
    colors_json = _label_colors(colors, dtype)
    properties_json = _label_properties(properties, dtype)
    if colors_json and properties_json:
        in_colors = [c["label-value"] for c in colors_json]
        in_properties = [p["label-value"] for p in properties_json]
        if in_colors != in_properties:
            raise ValueError(
                f"colors describe the label values {in_colors} but properties describe "
                f"{in_properties}: give both for the same label values (ome-zarr-models "
                "refuses colors and properties that differ), or only one of them"
            )
    image = image_model(
        shapes=shapes, dtype=dtype, chunks=chunks, axes=axes, scales=scales,
        translations=translations, zarr_version=zarr_version, compression=compression,
        shard_shapes=shard_shapes, space_unit=space_unit, time_unit=time_unit, name=name,
        method=method, fill_value=0, units=units, method_metadata=method_metadata,
    )
    label: dict[str, Any] = {"version": image.ome_zarr_version,
                             "source": {"image": LABEL_SOURCE}}
    if colors_json:
        label["colors"] = colors_json
    if properties_json:
        label["properties"] = properties_json
    attributes = image.attributes.model_dump(by_alias=True, exclude_none=True)
    if isinstance(image, ImageV04):
        attributes_v04 = ImageLabelAttrsV04.model_validate({**attributes, "image-label": label})
        return ImageLabelV04(attributes=attributes_v04, members=image.members)
    attributes_v05 = BaseZarrAttrs[ImageLabelAttrsV05](
        ome=ImageLabelAttrsV05.model_validate({**attributes["ome"], "image-label": label})
    )
    return ImageLabelV05(attributes=attributes_v05, members=image.members)


def _label_value(name: str, value: object, dtype: np.dtype[Any]) -> int:
    info = np.iinfo(dtype)
    return as_int(name, value, minimum=int(info.min), maximum=int(info.max),
                  accepted=f"a label value: an integer of the labels' dtype {dtype.name} "
                           f"(from {info.min} to {info.max})")


def _by_label(name: str, mapping: object, accepted: str) -> Mapping[Any, Any]:
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        raise TypeError(f"{name}={mapping!r} must be None or a mapping {accepted}")
    return mapping


def _label_colors(colors: object, dtype: np.dtype[Any]) -> list[dict[str, Any]]:
    """``colors`` as the specification's list: ``{"label-value": v, "rgba": [r, g, b, a]}``."""
    accepted = "an RGBA color: 4 integers from 0 to 255"
    entries = []
    for key, rgba in _by_label("colors", colors, "{label value: (r, g, b, a)}").items():
        value = _label_value("colors key", key, dtype)
        channels = as_ints(f"colors[{key!r}]", rgba, 4, minimum=0, accepted=accepted)
        if max(channels) > 255:
            raise ValueError(f"colors[{key!r}]={rgba!r} must be {accepted}")
        entries.append({"label-value": value, "rgba": list(channels)})
    return sorted(entries, key=lambda entry: entry["label-value"])


def _label_properties(properties: object, dtype: np.dtype[Any]) -> list[dict[str, Any]]:
    """``properties`` as the specification's list: ``{"label-value": v, key: value...}``."""
    entries = []
    for key, values in _by_label("properties", properties,
                                 "{label value: {key: JSON value}}").items():
        value = _label_value("properties key", key, dtype)
        if not isinstance(values, Mapping):
            raise TypeError(
                f"properties[{key!r}]={values!r} must be a mapping of property names to "
                "JSON values, such as {'class': 'nucleus'}"
            )
        for prop in values:
            if not isinstance(prop, str):
                raise TypeError(
                    f"properties[{key!r}] has the key {prop!r}: property names are strings"
                )
            if prop == "label-value":
                raise ValueError(
                    f"properties[{key!r}] has the key 'label-value', which holds the label "
                    "value itself: name the property otherwise"
                )
        try:
            # As stored: JSON has no NaN, no tuples (they come back as lists).
            entry = json.loads(json.dumps(dict(values), allow_nan=False))
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"properties[{key!r}]={values!r} must hold JSON values (str, int, float, "
                f"bool, None, lists and dicts of them): {error}"
            ) from None
        entries.append({"label-value": value, **entry})
    return sorted(entries, key=lambda entry: entry["label-value"])


def labels_group_attributes(
    names: Sequence[str], *, zarr_version: ZarrVersion, existing: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The attributes of an image's ``labels`` group that lists the label images ``names``.

    0.4 (Zarr v2): ``{"labels": [...]}``; 0.5 (Zarr v3): ``{"ome": {"version": "0.5",
    "labels": [...]}}``. Made with ome-zarr-models' ``LabelsAttrs``. Whatever else
    ``existing`` attributes hold is kept; a 0.5 group without its ``version`` (as
    ome-zarr-py 0.18 writes it) gets it.

    Examples
    --------
    >>> labels_group_attributes(["cells"], zarr_version=3)
    {'ome': {'version': '0.5', 'labels': ['cells']}}
    >>> labels_group_attributes(["a", "b"], zarr_version=2, existing={"note": 1})
    {'note': 1, 'labels': ['a', 'b']}
    """
    zarr_version = as_zarr_version(zarr_version)
    if isinstance(names, str) or not isinstance(names, Sequence) or not all(
        isinstance(n, str) for n in names
    ):
        raise TypeError(f"names={names!r} must be a sequence of strings")
    unique = list(dict.fromkeys(names))
    attributes = dict(existing or {})
    if zarr_version == 2:
        attributes.update(LabelsAttrsV04(labels=unique).model_dump(mode="json"))
        return attributes
    ome_json = dict(attributes.get("ome") or {})
    ome_json.update(LabelsAttrsV05(version="0.5", labels=unique).model_dump(mode="json"))
    attributes["ome"] = ome_json
    return attributes


def create_labels_group(
    store: Store, *, zarr_version: ZarrVersion, names: Sequence[str] = ()
) -> zarr.Group:
    """Write a new ``labels`` group listing ``names`` at the root of ``store``.

    Examples
    --------
    >>> group = create_labels_group(zarr.storage.MemoryStore(), zarr_version=2)
    >>> group.attrs.asdict()
    {'labels': []}
    """
    zarr_version = as_zarr_version(zarr_version)
    attributes = labels_group_attributes(names, zarr_version=zarr_version)
    return zarr.create_group(store, zarr_format=zarr_version, attributes=attributes)


def add_label_name(labels_group: zarr.Group, name: str) -> tuple[str, ...]:
    """List ``name`` in ``labels_group`` (an image's ``labels``), keeping what is there.

    The names already listed, in their order, and the group's other attributes are kept;
    ``name`` is added at the end unless it is listed already. One write of the group's
    metadata document, which zarr replaces whole: a reader sees the old list or the new
    one. Two writers must not do this at once (each would keep only its own name): the
    caller holds the group's lock (`data_helpers.labels` does). Returns the new list.

    Examples
    --------
    >>> group = create_labels_group(zarr.storage.MemoryStore(), zarr_version=3,
    ...                             names=["nuclei"])
    >>> add_label_name(group, "cells")
    ('nuclei', 'cells')
    """
    zarr_version = as_zarr_version(labels_group.metadata.zarr_format)
    existing = labels_group.attrs.asdict()
    names = _listed_labels(labels_group)
    if name in names:
        return names
    attributes = labels_group_attributes([*names, name], zarr_version=zarr_version,
                                         existing=existing)
    labels_group.attrs.put(attributes)
    return (*names, name)


def _listed_labels(labels_group: zarr.Group) -> tuple[str, ...]:
    """The names a ``labels`` group lists (0.4 or 0.5; a 0.5 group without ``version``)."""
    attributes = labels_group.attrs.asdict()
    try:
        if labels_group.metadata.zarr_format == 2:
            return tuple(LabelsAttrsV04.model_validate(attributes).labels)
        ome_json = attributes.get("ome")
        if not isinstance(ome_json, Mapping):
            raise ValueError(f"its attributes have no 'ome' object: {attributes!r}")
        # ome-zarr-py 0.18 writes {"ome": {"labels": [...]}} without "version".
        return tuple(LabelsAttrsV05.model_validate({"version": "0.5", **ome_json}).labels)
    except Exception as error:  # pydantic's ValidationError, and ours
        raise ValueError(
            f"the image's labels group does not list its label images as OME-Zarr says "
            f"(a 'labels' list of paths): {error}"
        ) from error


def read_labels(group: str | Path | zarr.Group) -> tuple[str, ...]:
    """The label images an image lists in its ``labels`` group; ``()`` without one.

    The names are the paths the group's ``labels`` metadata lists, as it lists them
    (0.4 or 0.5, ours or another tool's). Whether each is there and valid is for
    `validate_label_image` to say.

    Examples
    --------
    >>> import tempfile
    >>> model = image_model(shapes=[(4, 4)], dtype="uint8", chunks=[(2, 2)], axes="yx",
    ...                     scales=[[1.0, 1.0]], translations=[[0.0, 0.0]])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     image = create_image(f"{tmp}/image.zarr", model)
    ...     before = read_labels(image)
    ...     _ = create_labels_group(zarr.storage.LocalStore(f"{tmp}/image.zarr/labels"),
    ...                             zarr_version=2, names=["cells"])
    ...     print(before, read_labels(f"{tmp}/image.zarr"))
    () ('cells',)
    """
    opened = _open_group(group)
    member = opened.get("labels")
    if member is None:
        return ()
    if not isinstance(member, zarr.Group):
        raise ValueError("the image's 'labels' member is an array, not a group of label images")
    return _listed_labels(member)


@dataclass(frozen=True)
class ImageLabelMetadata:
    """The ``image-label`` metadata of a label image, in plain Python types."""

    version: str | None
    colors: dict[int, tuple[int, int, int, int] | None]
    properties: dict[int, dict[str, Any]]
    source: str | None


def read_image_label(group: str | Path | zarr.Group) -> ImageLabelMetadata | None:
    """The ``image-label`` metadata of a label image group; None if it has none.

    ``colors`` maps each label value to its RGBA color (None where an entry gives no
    ``rgba``), ``properties`` each label value to its key-value pairs, ``source`` is the
    relative path to the image the labels belong to.

    Raises
    ------
    ValueError
        When ``image-label`` is there but not as the specification describes it.

    Examples
    --------
    >>> model = label_image_model(shapes=[(4, 4)], dtype="uint8", chunks=[(4, 4)],
    ...                           axes="yx", scales=[[1.0, 1.0]], translations=[[0.0, 0.0]],
    ...                           zarr_version=3, properties={1: {"class": "nucleus"}})
    >>> label = read_image_label(create_image(zarr.storage.MemoryStore(), model))
    >>> label.version, label.colors, label.properties, label.source
    ('0.5', {}, {1: {'class': 'nucleus'}}, '../../')
    """
    opened = _open_group(group)
    attributes = opened.attrs.asdict()
    v2 = opened.metadata.zarr_format == 2
    ome_json = attributes if v2 else attributes.get("ome")
    if not isinstance(ome_json, Mapping) or "image-label" not in ome_json:
        return None
    label_cls: Any = LabelV04 if v2 else LabelV05
    try:
        label = label_cls.model_validate(ome_json["image-label"])
    except Exception as error:  # pydantic's ValidationError
        raise ValueError(f"the group's image-label metadata is not valid: {error}") from error
    version = label.version or (None if v2 else _text(ome_json.get("version")))
    colors: dict[int, tuple[int, int, int, int] | None] = {}
    for color in label.colors or ():
        rgba = None if color.rgba is None else tuple(int(v) for v in color.rgba)
        colors[int(color.label_value)] = cast(tuple[int, int, int, int] | None, rgba)
    properties = {}
    for entry in label.properties or ():
        dumped = entry.model_dump(mode="json", by_alias=True)
        dumped.pop("label-value")
        properties[int(entry.label_value)] = dumped
    source = None if label.source is None else label.source.image
    return ImageLabelMetadata(version=version, colors=colors, properties=properties,
                              source=source)


def level_array(group: zarr.Group, path: str) -> zarr.Array[Any]:
    """The array at ``path`` in ``group``; a `ValueError` if it is a group or missing.

    Examples
    --------
    >>> model = image_model(shapes=[(4, 4)], dtype="uint8", chunks=[(2, 2)], axes="yx",
    ...                     scales=[[1.0, 1.0]], translations=[[0.0, 0.0]])
    >>> level_array(create_image(zarr.storage.MemoryStore(), model), "0").shape
    (4, 4)
    """
    try:
        member = group[path]
    except KeyError:
        raise ValueError(f"the image has no level {path!r}") from None
    if not isinstance(member, zarr.Array):
        raise ValueError(f"level {path!r} of the image is a group, not an array")
    return member


@dataclass(frozen=True)
class MultiscaleMetadata:
    """What a reader needs from an OME-Zarr multiscale image, in plain Python types."""

    version: str
    name: str | None
    axes: tuple[str, ...]
    axis_types: tuple[str | None, ...]
    units: tuple[str | None, ...]
    paths: tuple[str, ...]
    scales: tuple[tuple[float, ...], ...]
    translations: tuple[tuple[float, ...], ...]
    method: str | None
    # The multiscale's "metadata", about how its levels were made (any JSON value).
    method_metadata: Any = None


def _open_group(group: str | Path | zarr.Group) -> zarr.Group:
    if isinstance(group, zarr.Group):
        return group
    if not Path(group).exists():
        raise FileNotFoundError(f"no Zarr group at {str(group)!r}")
    return zarr.open_group(str(group), mode="r")


def _load_model(
    group: zarr.Group, opened: dict[str, zarr.Array[Any]] | None = None
) -> ImageV04 | ImageV05:
    """The ome-zarr-models model of the image in ``group``: its metadata and level arrays.

    The level arrays are opened once, here; when ``opened`` is given, each is put in it
    under its path as the multiscales name it, so that a caller who needs them does not
    open them again (over HTTP, opening an array is a request for its metadata).

    ``Image.from_zarr`` of ome-zarr-models 1.7 also loads and validates the image's
    optional ``labels`` group, so a labels group it does not accept made a good image
    unreadable: ome-zarr-py 0.18.0 writes ``labels/zarr.json`` as ``{"ome": {"labels":
    [...]}}``, without the ``version`` ome-zarr-models requires. The labels are not part
    of the image: the model is built as ``from_zarr`` builds it (the group's attributes,
    and an array spec for every level the multiscales name), without the labels group,
    and validated the same way when it is made.
    """
    # Imported here, beside their only use (the rest of the module builds images).
    from pydantic_zarr.v2 import GroupSpec as GroupSpecV2
    from pydantic_zarr.v3 import GroupSpec as GroupSpecV3

    attributes = group.attrs.asdict()
    # The v2 and v3 classes of ome-zarr-models and pydantic-zarr are used alike.
    classes: Any
    ome_json: Any
    if group.metadata.zarr_format == 2:
        classes, ome_json = (ImageV04, ImageAttrsV04, ArraySpecV2, GroupSpecV2), attributes
    else:
        if "ome" not in attributes:
            raise ValueError(
                f"the attributes of a Zarr v3 OME-Zarr image hold an 'ome' key, but this "
                f"group's attributes have only {sorted(attributes)}"
            )
        classes = (ImageV05, ImageAttrsV05, ArraySpecV3, GroupSpecV3)
        ome_json = attributes["ome"]
    image_cls, attributes_cls, array_spec, group_spec = classes
    ome_attributes = attributes_cls.model_validate(ome_json)
    levels: dict[str, Any] = {}
    for path in ome_attributes.get_array_paths():
        node = group.get(path)
        if not isinstance(node, zarr.Array):
            what = "nothing" if node is None else "a group"
            raise ValueError(
                f"the multiscales name the level {path!r}, but {what} is at that path"
            )
        levels["/" + path.strip("/")] = array_spec.from_zarr(node)
        if opened is not None:
            opened[path] = node
    image: ImageV04 | ImageV05 = image_cls(attributes=attributes,
                                           members=group_spec.from_flat(levels).members)
    return image


def _vector(transforms: Any, kind: str, ndim: int, default: float) -> list[float]:
    """The values of the first ``kind`` ("scale" or "translation") transform, or defaults."""
    for transform in transforms or ():
        if transform.type == kind:
            return [float(v) for v in getattr(transform, kind)]
    return [default] * ndim


def read_multiscale(group: str | Path | zarr.Group) -> MultiscaleMetadata:
    """Read the first multiscale of an OME-Zarr 0.4 or 0.5 image group.

    Scales and translations are the full transform of each level: the dataset's own
    transforms combined with the multiscale's global ones, if any.

    Examples
    --------
    >>> model = image_model(shapes=[(4, 4), (2, 2)], dtype="uint8", chunks=[(2, 2)] * 2,
    ...                     axes="yx", scales=[[1.0, 1.0], [2.0, 2.0]],
    ...                     translations=[[0.0, 0.0], [0.5, 0.5]])
    >>> meta = read_multiscale(create_image(zarr.storage.MemoryStore(), model))
    >>> meta.paths, meta.scales[1], meta.translations[1]
    (('0', '1'), (2.0, 2.0), (0.5, 0.5))
    """
    return _read_multiscale(group)[0]


def _read_multiscale(
    group: str | Path | zarr.Group,
) -> tuple[MultiscaleMetadata, dict[str, zarr.Array[Any]]]:
    """`read_multiscale`, and the level arrays it opened to validate them, by path.

    `data_helpers.multiscale.MultiscaleImage` keeps these arrays rather than opening each
    level a second time: over HTTP that would ask for every level's metadata twice.
    """
    arrays: dict[str, zarr.Array[Any]] = {}
    model = _load_model(_open_group(group), arrays)
    multiscale = model.ome_attributes.multiscales[0]
    ndim = len(multiscale.axes)
    global_scale = _vector(multiscale.coordinateTransformations, "scale", ndim, 1.0)
    global_shift = _vector(multiscale.coordinateTransformations, "translation", ndim, 0.0)
    scales, translations = [], []
    for dataset in multiscale.datasets:
        scale = _vector(dataset.coordinateTransformations, "scale", ndim, 1.0)
        shift = _vector(dataset.coordinateTransformations, "translation", ndim, 0.0)
        # Global transforms apply after the dataset's: x -> g_s * (s * x + t) + g_t.
        scales.append(tuple(g * s for g, s in zip(global_scale, scale, strict=True)))
        translations.append(
            tuple(g * t + gt for g, t, gt in zip(global_scale, shift, global_shift, strict=True))
        )
    return MultiscaleMetadata(
        version=model.ome_zarr_version,
        name=_text(multiscale.name),
        axes=tuple(str(a.name) for a in multiscale.axes),
        axis_types=tuple(_text(a.type) for a in multiscale.axes),
        units=tuple(_text(a.unit) for a in multiscale.axes),
        paths=tuple(d.path for d in multiscale.datasets),
        scales=tuple(scales),
        translations=tuple(translations),
        method=_text(multiscale.type),
        method_metadata=multiscale.metadata,
    ), arrays


def _text(value: object) -> str | None:
    # ome-zarr-models types some fields as any JSON value; ours are strings or absent.
    return None if value is None else str(value)


@lru_cache(maxsize=1)
def _schema_registry() -> Registry:
    # Imported here, not at the top: importing jsonschema builds the grammars of its
    # optional format checkers (rfc3987-syntax, about a second), which every process
    # importing the package would pay, a dask worker or `data-helpers info` included.
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    resources = []
    for schema_file in sorted(_SCHEMA_DIR.glob("*/*.schema")):
        contents = json.loads(schema_file.read_text())
        # The strict schemas name no $schema; both versions use draft 2020-12.
        resources.append(
            (contents["$id"], Resource.from_contents(contents, default_specification=DRAFT202012))
        )
    return Registry().with_resources(resources)


def _strict_schema_errors(
    attributes: dict[str, Any], version: str, strict: bool = True
) -> list[str]:
    registry = _schema_registry()
    name = "strict_image" if strict else "image"
    schema = registry.contents(f"https://ngff.openmicroscopy.org/{version}/schemas/{name}.schema")
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema, registry=registry)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in validator.iter_errors(attributes)
    ]


def validate_label_image(
    group: str | Path | zarr.Group, *, strict: bool = True
) -> ImageLabelV04 | ImageLabelV05:
    """Validate a label image: an image (see `validate`) with valid ``image-label`` metadata.

    Its multiscale and levels pass `validate` (``strict`` as there), its ``image-label``
    metadata passes ome-zarr-models' ``ImageLabel`` model, and every level holds one of
    `LABEL_DTYPES`.

    Returns
    -------
    ome_zarr_models.v04.image_label.ImageLabel or ome_zarr_models.v05.image_label.ImageLabel
        The model; `ValueError` saying what is wrong otherwise.

    Examples
    --------
    >>> model = label_image_model(shapes=[(4, 4)], dtype="uint8", chunks=[(4, 4)],
    ...                           axes="yx", scales=[[1.0, 1.0]], translations=[[0.0, 0.0]])
    >>> validate_label_image(create_image(zarr.storage.MemoryStore(), model)).ome_zarr_version
    '0.4'
    """
    opened = _open_group(group)
    image = validate(opened, strict=strict)
    attributes = opened.attrs.asdict()
    ome_json = attributes if isinstance(image, ImageV04) else attributes.get("ome")
    if not isinstance(ome_json, Mapping) or "image-label" not in ome_json:
        raise ValueError("not an OME-Zarr label image: its metadata has no 'image-label'")
    label_cls: Any = ImageLabelV04 if isinstance(image, ImageV04) else ImageLabelV05
    try:
        model: ImageLabelV04 | ImageLabelV05 = label_cls(attributes=attributes,
                                                         members=image.members)
    except Exception as error:  # pydantic's ValidationError
        raise ValueError(f"not a valid OME-Zarr image-label group: {error}") from error
    for path in model.ome_attributes.multiscales[0].datasets:
        dtype = level_array(opened, path.path).dtype
        if np.dtype(dtype).name not in LABEL_DTYPES:
            raise ValueError(
                f"level {path.path!r} of the label image holds {dtype}, but label images "
                f"hold one of {list(LABEL_DTYPES)}"
            )
    return model


def validate(group: str | Path | zarr.Group, *, strict: bool = True) -> ImageV04 | ImageV05:
    """Validate an OME-Zarr image with ome-zarr-models and the OME-NGFF JSON schema.

    What is validated is the image: its metadata and the arrays of its levels. Other
    members of the group, such as a ``labels`` group, are not part of it.

    Parameters
    ----------
    group
        The image's directory, or an open Zarr group.
    strict
        Check against the OME-NGFF *strict* image schema (the default), which also
        requires the fields the specification only recommends (a multiscale's
        ``name``, ``type`` and ``metadata``, as this package writes them), or, with
        False, against the image schema itself: what every valid image has, such as
        those ome-zarr-py writes.

    Returns
    -------
    ome_zarr_models.v04.Image or ome_zarr_models.v05.Image
        The model of the image; `ValueError` listing what is wrong otherwise.

    Examples
    --------
    >>> model = image_model(shapes=[(4, 4)], dtype="uint8", chunks=[(2, 2)], axes="yx",
    ...                     scales=[[1.0, 1.0]], translations=[[0.0, 0.0]], zarr_version=3)
    >>> validate(create_image(zarr.storage.MemoryStore(), model)).ome_zarr_version
    '0.5'
    """
    if not isinstance(strict, bool):
        raise TypeError(f"strict must be True or False, got {strict!r}")
    opened = _open_group(group)
    try:
        model = _load_model(opened)
    except Exception as error:  # pydantic's ValidationError and zarr's errors alike
        raise ValueError(f"not a valid OME-Zarr image: {error}") from error
    try:
        read_omero(opened)  # ome-zarr-models 1.7's 0.5 image has no omero field to check it
    except ValueError as error:
        raise ValueError(f"not a valid OME-Zarr image: {error}") from error
    # As stored: a JSON round trip turns in-memory tuples into the arrays JSON has.
    attributes = json.loads(json.dumps(opened.attrs.asdict()))
    errors = _strict_schema_errors(attributes, model.ome_zarr_version, strict)
    if errors:
        schema = "strict OME-NGFF schema" if strict else "OME-NGFF image schema"
        raise ValueError(
            f"OME-Zarr {model.ome_zarr_version} image fails the {schema}:\n  "
            + "\n  ".join(errors)
        )
    return model
