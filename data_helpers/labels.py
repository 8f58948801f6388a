"""Label images stored with an image: the ``labels/`` group, its metadata and its pyramid.

A *label image* gives every pixel of an image an integer: 0 for the background, 1, 2,
3... for the objects a segmentation found. OME-Zarr keeps it inside the image it labels,
as a multiscale image of its own::

    image.zarr/            the image: levels 0, 1, 2...
        labels/            a group listing its label images: {"labels": ["cells"]}
            cells/         a label image: levels 0, 1, 2... and "image-label" metadata

`write_labels` writes ``labels/<name>`` with exactly the image's levels: the same
shapes, chunks (and shards), scales and translations, so every level of the labels lies
over the same level of the image. Level 0 is the label image given; each further level
is the one above it downsampled with ``mode`` (the most frequent label of each window,
which never invents a label, as a mean would), chunk by chunk and out of core, by the
same code that builds pyramids (`data_helpers.pyramid`). The metadata comes from
`data_helpers.ome`, as everywhere in the package.

What stays safe (design.md's "Data safety"):

* The label image is written aside and swapped in whole (a `_destination.Destination`
  for ``labels/<name>``): a failure, even a killed process, leaves no half-made label.
  Only then is its name added to the ``labels`` list.
* ``overwrite=True`` replaces only an existing label image (a Zarr store); without it an
  existing ``labels/<name>`` is refused. A second writer of the same label is refused; a
  label image read from the very label it would replace is refused.
* Two writers adding *different* labels to one image at once both succeed and both are
  listed: the read-modify-write of the ``labels`` list happens under the group's lock,
  which every writer holds only for a moment and waits for.
* Nothing else of the image changes: its levels and metadata are only read. The
  ``labels`` group is made when the first label image is, and removed again if that
  first write fails.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import zarr
from numpy.typing import NDArray

from data_helpers import _destination, ome, pyramid
from data_helpers._checks import (
    Compression,
    ZarrVersion,
    as_bool,
    as_dtype,
    as_path,
    check_known_shape,
)
from data_helpers.downsample import downsampled_shape
from data_helpers.multiscale import MultiscaleImage

__all__ = ["write_labels"]

LabelSource = NDArray[Any] | zarr.Array[Any] | da.Array

# How long a writer waits for the labels group's lock. It is held only to make the group,
# to reserve a label's destination and to add a name to the list: moments, not minutes.
_LABELS_LOCK_WAIT = 60.0

# A label image's name: one folder inside labels/, never a hidden one (the locks and
# staging folders of the package's writers are hidden: ".NAME.lock").
_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*$")
_MAX_NAME = 255
# The names of Zarr metadata documents, which no label image may take.
_GROUP_DOCUMENTS = frozenset({"zarr.json", ".zgroup", ".zattrs", ".zarray", ".zmetadata"})

# Labels compress very well (long runs of one value); zstd makes them small.
_COMPRESSION: Compression = "blosc-zstd"


def write_labels(
    image: str | os.PathLike[str] | MultiscaleImage,
    name: str,
    labels: LabelSource,
    *,
    colors: dict[int, tuple[int, int, int, int]] | None = None,
    properties: dict[int, dict[str, Any]] | None = None,
    overwrite: bool = False,
) -> MultiscaleImage:
    """Store ``labels`` as the label image ``labels/<name>`` of the OME-Zarr ``image``.

    Parameters
    ----------
    image
        The OME-Zarr image (0.4 on Zarr v2 or 0.5 on Zarr v3, ours or another tool's) on
        a local disk: its path, or a `MultiscaleImage` opened from one. Each of its
        levels must be the one above it reduced by whole factors (`MultiscaleImage.factors`),
        with ``ceil(n / f)`` pixels per axis, as `downsample` makes them.
    name
        The label image's name: letters, digits, ``_``, ``-`` and ``.``, not starting
        with ``.`` (it is a folder inside ``labels/``).
    labels
        A numpy, zarr or dask array of integers (one of `ome.LABEL_DTYPES`) with exactly
        the shape of the image's level 0. It is read chunk by chunk, never whole.
    colors
        ``{label value: (r, g, b, a)}``, integers 0 to 255: how viewers should paint
        each label. Stored in the ``image-label`` metadata.
    properties
        ``{label value: {key: JSON value}}``: what is known about each label, e.g.
        ``{1: {"class": "nucleus", "area (pixels)": 1200}}``. When ``colors`` is given
        too, both must describe the same label values.
    overwrite
        Replace an existing label image of that name. Without it, an existing
        ``labels/<name>`` is an error, raised before anything is written.

    Returns
    -------
    MultiscaleImage
        The label image, opened for reading (also ``MultiscaleImage.open(image).label(name)``).

    Raises
    ------
    TypeError, ValueError
        For a bad argument, naming it; nothing is written then.
    FileExistsError
        When ``labels/<name>`` exists and ``overwrite`` is false.
    data_helpers._destination.DestinationBusyError
        When another writer is writing the same label image.

    Notes
    -----
    The label image's levels have the image's shapes, chunk and shard shapes, scales
    and translations: level ``k`` of the labels lies exactly over level ``k`` of the
    image. Level ``k`` holds `downsample` of level ``k - 1`` by the image's factors with
    ``method="mode"``, computed block by block from the level just written, so memory
    holds a few chunks per thread whatever the size of the labels. Its multiscale says so
    (``"type": "mode"``); its ``image-label`` metadata has the version of the image
    (``"0.4"`` or ``"0.5"``), ``source`` ``{"image": "../../"}`` (the image), and the
    colors and properties given. The image's ``labels`` group lists ``name`` after the
    names already there (it is created with the first label image).

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from data_helpers.pyramid import build_pyramid
    >>> nuclei = np.zeros((32, 32), np.uint16)
    >>> nuclei[4:12, 4:12], nuclei[20:32, 16:28] = 1, 2
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     image = build_pyramid(nuclei * 1000, f"{tmp}/cells.zarr", axes="yx",
    ...                           chunks=(8, 8), zarr_version=3)
    ...     labels = write_labels(image, "nuclei", nuclei,
    ...                           colors={1: (255, 0, 0, 255), 2: (0, 0, 255, 255)},
    ...                           properties={1: {"area": 64}, 2: {"area": 144}})
    ...     print(labels.shapes == image.shapes, labels.scale(-1) == image.scale(-1))
    ...     print(image.labels, labels.image_label.properties)
    ...     print(labels.level(2)[...])
    True True
    ('nuclei',) {1: {'area': 64}, 2: {'area': 144}}
    [[0 0 0 0 0 0 0 0]
     [0 1 1 0 0 0 0 0]
     [0 1 1 0 0 0 0 0]
     [0 0 0 0 0 0 0 0]
     [0 0 0 0 0 0 0 0]
     [0 0 0 0 2 2 2 0]
     [0 0 0 0 2 2 2 0]
     [0 0 0 0 2 2 2 0]]
    """
    overwrite = as_bool("overwrite", overwrite)
    target = _open_image(image)
    name = _check_name(name)
    _check_labels(labels, target)
    level_factors = _level_factors(target)
    zarr_version: ZarrVersion = 2 if target.version == "0.4" else 3
    # Every setting and the whole metadata are checked here, before a byte is written.
    model = ome.label_image_model(
        shapes=target.shapes, dtype=labels.dtype.name, chunks=target.chunks,
        axes=_axes(target), scales=target.metadata.scales,
        translations=target.metadata.translations, zarr_version=zarr_version,
        compression=_COMPRESSION, shard_shapes=_shard_shapes(target),
        space_unit=_unit(target, "space"), time_unit=_unit(target, "time"), name=name,
        colors=colors, properties=properties,
    )
    assert target.path is not None  # _open_image refuses images that are not on a disk
    labels_dir = target.path / "labels"
    destination, created = _reserve(labels_dir, name, zarr_version, overwrite, labels)
    try:
        with destination:
            group = ome.create_image(zarr.storage.LocalStore(destination.staging), model)
            paths = [d.path for d in model.ome_attributes.multiscales[0].datasets]
            pyramid._write_levels(labels, [ome.level_array(group, p) for p in paths],
                                  level_factors, "mode")
            ome.validate_label_image(destination.staging)
            destination.commit()
            try:
                _list_name(labels_dir, name)
            except BaseException:
                if not destination.replaced:  # an unlisted new label: as if never made
                    destination.withdraw()
                raise
    except BaseException:
        if created:
            _remove_if_unused(labels_dir)
        raise
    return MultiscaleImage.open(destination.path)


# -- checking the arguments -------------------------------------------------------------


def _open_image(image: object) -> MultiscaleImage:
    """The image to label, opened afresh from its folder on a local disk."""
    if isinstance(image, MultiscaleImage):
        if image.path is None:
            raise ValueError(
                f"image={image!r} is not on a local disk: labels are written inside the "
                "image's own folder, so open it from a local path"
            )
        path = image.path
    elif isinstance(image, str | os.PathLike):
        path = as_path("image", image)
        if str(image).startswith(("http://", "https://")):
            raise ValueError(
                f"image={image!r} is a URL: labels are written inside the image's own "
                "folder, so give a local path"
            )
    else:
        raise TypeError(
            f"image={image!r} must be the path of an OME-Zarr image or a MultiscaleImage"
        )
    opened = MultiscaleImage.open(Path(os.path.abspath(path)))
    if opened.image_label is not None:
        raise ValueError(
            f"image={str(opened.path)!r} is itself a label image; write labels into the "
            "image it labels"
        )
    return opened


def _check_name(name: object) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name={name!r} must be a string, such as 'nuclei'")
    if not _NAME.match(name) or len(name) > _MAX_NAME or name in _GROUP_DOCUMENTS:
        raise ValueError(
            f"name={name!r} must be a folder name of letters, digits, '_', '-' and '.', "
            f"not starting with '.' (at most {_MAX_NAME} characters), such as 'nuclei'"
        )
    return name


def _check_labels(labels: object, target: MultiscaleImage) -> None:
    if not isinstance(labels, np.ndarray | zarr.Array | da.Array):
        raise TypeError(
            f"labels must be a numpy, zarr or dask array, got {type(labels).__name__}"
        )
    check_known_shape("labels", labels.shape)
    try:
        as_dtype("labels.dtype", labels.dtype.name, names=ome.LABEL_DTYPES)
    except ValueError as error:
        raise ValueError(
            f"{error}: a label image holds integer labels (OME-Zarr allows these types "
            "only); convert it, e.g. with labels.astype('uint32')"
        ) from None
    shape = tuple(int(n) for n in labels.shape)
    if shape != target.shapes[0]:
        raise ValueError(
            f"labels has shape {shape}, but level 0 of the image has shape "
            f"{target.shapes[0]} (axes {_axes(target)!r}): a label image has exactly "
            "the image's shape"
        )


def _level_factors(target: MultiscaleImage) -> list[tuple[int, ...]]:
    """The factors between the image's levels, which the label levels must repeat."""
    level_factors = []
    for k in range(1, target.levels):
        try:
            factors = target.factors(k)
        except ValueError as error:
            raise ValueError(
                f"the image's levels are not whole-factor reductions of each other, so no "
                f"label levels can match them: {error}"
            ) from None
        expected = downsampled_shape(target.shapes[k - 1], factors)
        if expected != target.shapes[k]:
            raise ValueError(
                f"level {k} of the image has shape {target.shapes[k]}, but level {k - 1} "
                f"{target.shapes[k - 1]} reduced by {factors} has {expected} pixels per "
                "axis (ceil(n / f): windows from the origin, partial windows kept), so "
                "the label levels cannot have the image's shapes"
            )
        level_factors.append(factors)
    return level_factors


def _axes(target: MultiscaleImage) -> str:
    axes = "".join(target.axes)
    try:
        return ome.validate_axes(axes)
    except ValueError as error:
        raise ValueError(f"the image's axes cannot be those of a label image: {error}") from None


def _unit(target: MultiscaleImage, axis_type: str) -> str | None:
    """The image's unit for its axes of ``axis_type``, which the labels repeat."""
    units = {u for u, a in zip(target.metadata.units, target.axes, strict=True)
             if ome.AXIS_TYPES.get(a) == axis_type}
    if len(units) > 1:
        raise ValueError(
            f"the image's {axis_type} axes have different units {sorted(map(str, units))}; "
            "label images are written with one unit for all of them"
        )
    return units.pop() if units else None


def _shard_shapes(target: MultiscaleImage) -> list[tuple[int, ...] | None] | None:
    shards = [None if a.shards is None else tuple(a.shards)
              for a in (target.level(k) for k in range(target.levels))]
    return None if all(s is None for s in shards) else shards


# -- the labels group and its lock --------------------------------------------------------


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _reserve(
    labels_dir: Path, name: str, zarr_version: ZarrVersion, overwrite: bool,
    source: object,
) -> tuple[_destination.Destination, bool]:
    """Make sure the labels group exists, and take the label image's destination.

    Both under the group's lock: a writer that made the group and failed removes it
    again only under that lock, and only while no other writer's destination (and so
    its lock file) is inside it. Returns the destination and whether this call made the
    group.
    """
    created = False
    try:
        while True:
            if not _exists(labels_dir):
                try:
                    with _destination.Destination(labels_dir, wait=_LABELS_LOCK_WAIT,
                                                  name="labels") as group_destination:
                        ome.create_labels_group(
                            zarr.storage.LocalStore(group_destination.staging),
                            zarr_version=zarr_version,
                        )
                        group_destination.commit()
                    created = True
                except FileExistsError:
                    pass  # another writer made it first: use theirs
            with _destination.WriteLock(labels_dir, wait=_LABELS_LOCK_WAIT):
                if not _exists(labels_dir):
                    continue  # removed meanwhile by the writer that made it and failed
                _check_labels_group(labels_dir, zarr_version)
                destination = _destination.Destination(
                    labels_dir / name, overwrite=overwrite, source=source, name="label"
                )
                return destination, created
    except BaseException:
        if created:
            _remove_if_unused(labels_dir)
        raise


def _check_labels_group(labels_dir: Path, zarr_version: ZarrVersion) -> None:
    """Refuse a ``labels`` path that is not a Zarr group of the image's format."""
    if labels_dir.is_symlink():
        raise ValueError(
            f"{str(labels_dir)!r} is a symbolic link; label images are written only into a "
            "labels group inside the image"
        )
    what = "a file" if not labels_dir.is_dir() else None
    if what is None:
        try:
            zarr.open_group(zarr.storage.LocalStore(labels_dir, read_only=True), mode="r",
                            zarr_format=zarr_version)
        except Exception:  # zarr raises several types for "not a group"
            what = f"a folder that is not a Zarr v{zarr_version} group"
    if what is not None:
        raise ValueError(
            f"{str(labels_dir)!r} is {what}, so no label image can be added to it; it was "
            "left as it is"
        )


def _list_name(labels_dir: Path, name: str) -> None:
    """Add ``name`` to the labels list, under the group's lock (read-modify-write)."""
    with _destination.WriteLock(labels_dir, wait=_LABELS_LOCK_WAIT):
        # Opened under the lock: the list read is the one no other writer is changing.
        group = zarr.open_group(zarr.storage.LocalStore(labels_dir), mode="r+")
        ome.add_label_name(group, name)


def _remove_if_unused(labels_dir: Path) -> None:
    """Remove the labels group this writer made, if it still holds no label image.

    Under the group's lock, so no other writer is between reserving its destination and
    listing its name; any writer that got further left a folder or a lock file inside
    the group, which then stays. Best effort: the error that brought us here matters more.
    """
    with contextlib.suppress(Exception), _destination.WriteLock(
        labels_dir, wait=_LABELS_LOCK_WAIT
    ):
        group = zarr.open_group(zarr.storage.LocalStore(labels_dir, read_only=True), mode="r")
        if group.attrs.asdict() == ome.labels_group_attributes(
            [], zarr_version=group.metadata.zarr_format
        ):
            _destination.remove_empty_group(labels_dir)
