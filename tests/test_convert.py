"""Tests of data_helpers.convert (TIFF in and out) and of the file destinations it uses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import zarr

from data_helpers import _destination
from data_helpers._destination import DestinationBusyError, FileDestination

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
