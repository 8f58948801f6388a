"""Never lose a user's data: every reported way to destroy files, reproduced and refused.

Each test runs in a sandbox: a working directory inside a folder that also holds "user
files" (photos, notes, a project), and the `sandbox` fixture checks, after the test, that
every one of them is still there with the same bytes. The package may refuse, raise or
succeed; it may never delete or change what it did not write.

The cases come from the data-safety issue; each test's docstring quotes the case.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import zarr

from data_helpers import _destination, ome
from data_helpers._destination import DestinationBusyError, source_paths
from data_helpers.convert import convert_image
from data_helpers.multiscale import MultiscaleImage
from data_helpers.pyramid import build_pyramid
from data_helpers.writer import ChunkingProperties, StorageProperties, ZarrStreamWriter
from tests import _slow_pyramid

USER_FILES = {
    "photos/cat.jpg": b"\xff\xd8 a cat",
    "photos/dog.jpg": b"\xff\xd8 a dog",
    "notes.txt": b"do not lose me",
    "project/analysis.py": b"print('results')\n",
    "work/draft.md": b"# the thesis\n",
}


def snapshot(root: Path) -> dict[str, str]:
    """Every file below ``root`` that is not hidden, with a hash of its bytes."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    }


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder of user files; the test runs in its ``work`` subfolder (so ``..`` is it)."""
    for name, data in USER_FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    user_files = snapshot(tmp_path)
    monkeypatch.chdir(tmp_path / "work")
    yield tmp_path
    after = snapshot(tmp_path)
    for name, digest in user_files.items():
        assert after.get(name) == digest, f"the user's file {name} was deleted or changed"


def image() -> np.ndarray:
    return (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) % 251).astype(np.uint16)


def storage(path: object, **kwargs: object) -> StorageProperties:
    return StorageProperties(path, chunking=ChunkingProperties(16, 16), **kwargs)  # type: ignore[arg-type]


def model() -> ome.ImageV04:
    return ome.image_model(shapes=[(8, 8)], dtype="uint8", chunks=[(4, 4)], axes="yx",
                           scales=[[1.0, 1.0]], translations=[[0.0, 0.0]])


def hidden_leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# -- overwrite=True replaces only a Zarr store ------------------------------------------------


def convert(dest: object) -> MultiscaleImage:
    """`convert_image` of a small image of ours, made in the working folder, to ``dest``."""
    source = Path("convert-source.zarr")
    if not source.exists():
        build_pyramid(image(), source, axes="yx", chunks=(16, 16))
    return convert_image(source, dest, overwrite=True)  # type: ignore[arg-type]


WRITERS = {
    "build_pyramid": lambda dest: build_pyramid(image(), dest, axes="yx", overwrite=True),
    "writer": lambda dest: ZarrStreamWriter(storage(dest, overwrite=True),
                                            frame_shape=(8, 8), dtype="uint8").close(),
    "create_image": lambda dest: ome.create_image(dest, model(), overwrite=True),
    "convert_image": convert,
}


@pytest.mark.parametrize("write", WRITERS.values(), ids=WRITERS.keys())
def test_overwrite_refuses_a_folder_of_user_files(sandbox: Path, write) -> None:
    """`overwrite=True` deleted whatever was at the destination (a folder of photos)."""
    with pytest.raises(ValueError, match=r"photos.* is a folder that is not \(only\) a Zarr "
                                         r"store; overwrite=True replaces only a Zarr store"):
        write(sandbox / "photos")
    assert hidden_leftovers(sandbox) == []


@pytest.mark.parametrize("write", WRITERS.values(), ids=WRITERS.keys())
@pytest.mark.parametrize("dest", ["..", ".", "", "../..", "./"])
def test_overwrite_refuses_the_current_directory_and_its_parents(
    sandbox: Path, write, dest: str
) -> None:
    """A destination of ``..`` with `overwrite=True` wiped the parent; ``""`` and ``"."``
    emptied the current directory."""
    with pytest.raises(ValueError, match=rf"=({dest!r}|'') (cannot be written: it is the "
                                         r"current directory|must be a non-empty path)"):
        write(dest)


@pytest.mark.parametrize("write", WRITERS.values(), ids=WRITERS.keys())
def test_a_file_a_symlink_and_a_store_with_user_files_are_refused(sandbox: Path, write) -> None:
    with pytest.raises(ValueError, match="is a file"):
        write(sandbox / "notes.txt")
    (sandbox / "link.zarr").symlink_to(sandbox / "photos")
    with pytest.raises(ValueError, match="is a symbolic link"):
        write(sandbox / "link.zarr")
    # A real store in which the user keeps a file of their own is not only a Zarr store.
    store = sandbox / "mixed.zarr"
    build_pyramid(image(), store, axes="yx")
    (store / "README.txt").write_text("my notes about this image")
    with pytest.raises(ValueError, match="not \\(only\\) a Zarr store"):
        write(store)
    assert (store / "README.txt").read_text() == "my notes about this image"


@pytest.mark.parametrize("write", WRITERS.values(), ids=WRITERS.keys())
def test_missing_parent_and_home_are_refused(sandbox: Path, write,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(FileNotFoundError, match=r"the parent folder .*typo.* does not exist"):
        write(sandbox / "typo" / "a.zarr")
    assert not (sandbox / "typo").exists()
    monkeypatch.setenv("HOME", str(sandbox / "project"))
    with pytest.raises(ValueError, match="it is the home directory"):
        write(sandbox / "project")


@pytest.mark.parametrize("write", WRITERS.values(), ids=WRITERS.keys())
def test_overwrite_replaces_a_store_the_package_wrote(sandbox: Path, write) -> None:
    build_pyramid(np.ones((16, 16), np.uint8), sandbox / "old.zarr", axes="yx")
    write(sandbox / "old.zarr")
    ome.validate(sandbox / "old.zarr")
    assert hidden_leftovers(sandbox) == []


# -- the source is never the destination ----------------------------------------------------


def test_a_dask_view_of_the_destination_is_refused(sandbox: Path) -> None:
    """`build_pyramid(MultiscaleImage.open(p).to_dask(0), p, overwrite=True)` replaced the
    image with zeros (the guard covered only zarr.Array sources)."""
    path = sandbox / "img.zarr"
    original = build_pyramid(image(), path, axes="yx", chunks=(16, 16))
    for source in (
        original.to_dask(0),
        original.to_dask(1) * 2 + 1,  # transformed, from another level
        da.from_zarr(original.level(0)).rechunk(8)[::2],
        original.level(0),
    ):
        with pytest.raises(ValueError, match="is where the source is read from"):
            build_pyramid(source, path, axes="yx", overwrite=True)
    np.testing.assert_array_equal(MultiscaleImage.open(path).level(0)[...], image())
    # Writing *inside* the source array's folder is refused too.
    with pytest.raises(ValueError, match="is where the source is read from"):
        build_pyramid(original.to_dask(0), path / "0" / "inner.zarr", axes="yx")


def test_source_paths_finds_every_store_a_source_reads() -> None:
    with zarr.storage.MemoryStore() as memory:
        in_memory = zarr.create_array(memory, shape=(4,), dtype="uint8")
        assert source_paths(da.from_zarr(in_memory)) == ()  # nothing on disk to protect
    assert source_paths(np.zeros(3)) == ()


# -- a failed build leaves the old store -------------------------------------------------------


def failing_source(fail_after: int) -> da.Array:
    calls = iter(range(10**9))

    def block(x: np.ndarray) -> np.ndarray:
        if next(calls) >= fail_after:
            raise OSError("the network drive went away")
        return x + 7

    return da.zeros((64, 64), chunks=(16, 16), dtype=np.uint16).map_blocks(block)


def test_a_source_that_fails_midway_leaves_the_old_image(sandbox: Path) -> None:
    """A `build_pyramid` whose source failed mid-build had already deleted the old store;
    what was left validated but held zeros."""
    path = sandbox / "img.zarr"
    build_pyramid(image(), path, axes="yx", chunks=(16, 16))
    with pytest.raises(OSError, match="network drive"):
        build_pyramid(failing_source(5), path, axes="yx", chunks=(16, 16), overwrite=True)
    np.testing.assert_array_equal(MultiscaleImage.open(path).level(0)[...], image())
    assert hidden_leftovers(sandbox) == []
    with pytest.raises(OSError, match="network drive"):
        build_pyramid(failing_source(5), sandbox / "new.zarr", axes="yx", chunks=(16, 16))
    assert not (sandbox / "new.zarr").exists()


def test_a_full_disk_leaves_no_half_made_image(sandbox: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A `build_pyramid` that ran out of disk space left a half-made image that opened and
    validated, with empty levels."""
    path = sandbox / "img.zarr"
    build_pyramid(image(), path, axes="yx", chunks=(16, 16))
    writes = iter(range(10**9))
    real_set = zarr.storage.LocalStore.set

    async def set_until_full(self, key, value):  # type: ignore[no-untyped-def]
        if not key.endswith(("zarr.json", ".zarray", ".zattrs", ".zgroup")) and next(writes) > 6:
            raise OSError(28, "No space left on device")
        return await real_set(self, key, value)

    monkeypatch.setattr(zarr.storage.LocalStore, "set", set_until_full)
    for dest, overwrite in ((path, True), (sandbox / "new.zarr", False)):
        with pytest.raises(OSError, match="No space left"):
            build_pyramid(np.full((64, 64), 3, np.uint16), dest, axes="yx", chunks=(16, 16),
                          overwrite=overwrite)
    monkeypatch.undo()
    np.testing.assert_array_equal(MultiscaleImage.open(path).level(0)[...], image())
    assert not (sandbox / "new.zarr").exists()
    assert hidden_leftovers(sandbox) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_parent_leaves_the_old_image(sandbox: Path) -> None:
    path = sandbox / "ro" / "img.zarr"
    path.parent.mkdir()
    build_pyramid(image(), path, axes="yx", chunks=(16, 16))
    path.parent.chmod(0o555)
    try:
        with pytest.raises(PermissionError):
            build_pyramid(np.zeros((64, 64), np.uint16), path, axes="yx", overwrite=True)
    finally:
        path.parent.chmod(0o755)
    np.testing.assert_array_equal(MultiscaleImage.open(path).level(0)[...], image())


def test_a_killed_build_leaves_the_old_image_and_the_next_build_works(sandbox: Path) -> None:
    path = sandbox / "img.zarr"
    build_pyramid(image(), path, axes="yx", chunks=(16, 16))
    process = start_slow_build(path)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    np.testing.assert_array_equal(MultiscaleImage.open(path).level(0)[...], image())
    # The kernel dropped the killed build's lock; its staging folder is cleaned up by the
    # next writer of the same destination.
    rebuilt = build_pyramid(np.full((32, 32), 9, np.uint16), path, axes="yx", overwrite=True)
    assert (rebuilt.level(0)[...] == 9).all()
    assert hidden_leftovers(sandbox) == []


# -- two writers -------------------------------------------------------------------------------


def start_slow_build(path: Path) -> subprocess.Popen[bytes]:
    """Start `_slow_pyramid` writing ``path``; return once it holds the lock and writes."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    process = subprocess.Popen([sys.executable, _slow_pyramid.__file__, str(path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 60
    staging = f".{path.name}."
    while not any(p.name.startswith(staging) and p.name.endswith(".partial")
                  for p in path.parent.iterdir()):
        assert process.poll() is None, process.communicate()[1].decode()
        assert time.monotonic() < deadline, "the slow build never started"
        time.sleep(0.02)
    return process


def test_a_second_writer_in_another_process_is_refused(sandbox: Path) -> None:
    """Two writers on one path at once could both report success while one's frames were
    lost, or leave a store that validated but could not be read."""
    path = sandbox / "img.zarr"
    process = start_slow_build(path)
    try:
        for write in WRITERS.values():
            with pytest.raises(DestinationBusyError, match=r"img\.zarr' is being written by "
                                                           r"another writer \(process \d+"):
                write(path)
        with pytest.raises(DestinationBusyError):
            build_pyramid(image(), path, axes="yx")  # without overwrite, too
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)


def test_two_writers_in_one_process_one_is_refused(sandbox: Path) -> None:
    path = sandbox / "s.zarr"
    with ZarrStreamWriter(storage(path), frame_shape=(8, 8), dtype="uint8") as first:
        first.append(np.ones((3, 8, 8), np.uint8))
        with pytest.raises(FileExistsError):  # it exists: refused before the lock is tried
            ZarrStreamWriter(storage(path), frame_shape=(8, 8), dtype="uint8")
        with pytest.raises(DestinationBusyError):
            ZarrStreamWriter(storage(path, overwrite=True), frame_shape=(8, 8), dtype="uint8")
        with pytest.raises(DestinationBusyError):
            build_pyramid(image(), path, axes="yx", overwrite=True)
        first.append(np.ones((2, 8, 8), np.uint8))
    assert zarr.open_array(path / "0").shape == (5, 1, 8, 8)
    ome.validate(path)


def test_concurrent_pyramid_builds_leave_one_readable_image(sandbox: Path) -> None:
    path = sandbox / "img.zarr"
    outcomes: list[object] = []

    def build(value: int) -> None:
        try:
            outcomes.append(build_pyramid(np.full((128, 128), value, np.uint16), path,
                                          axes="yx", chunks=(16, 16), overwrite=True))
        except DestinationBusyError as error:
            outcomes.append(error)

    threads = [threading.Thread(target=build, args=(v,)) for v in (1, 2, 3, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    built = [o for o in outcomes if isinstance(o, MultiscaleImage)]
    assert built, outcomes
    final = MultiscaleImage.open(path)
    ome.validate(path)
    values = np.unique(final.level(0)[...])
    assert len(values) == 1 and 1 <= values[0] <= 4  # one build's pixels, never a mix
    assert hidden_leftovers(sandbox) == []


def test_a_stale_lock_file_does_not_block(sandbox: Path) -> None:
    """A killed writer leaves its lock file; the kernel has already dropped the lock."""
    (sandbox / ".img.zarr.lock").write_text("process 1 on elsewhere\n")
    build_pyramid(image(), sandbox / "img.zarr", axes="yx")
    assert not (sandbox / ".img.zarr.lock").exists()


# -- resources are checked before the first byte -----------------------------------------------


def test_a_buffer_that_cannot_fit_is_refused_before_the_store_exists(sandbox: Path) -> None:
    """A writer whose buffer could not fit (4096 x 4096 uint16 frames with 64 x 64 tiles:
    64 GiB) raised MemoryError after the store was created, so a retry hit FileExistsError."""
    path = sandbox / "big.zarr"
    chunking = ChunkingProperties(64, 64, 1, 2**30)  # 128k frames of tiles per chunk
    needed = 2 * chunking.frames_per_chunk((4096, 4096), "uint16") * 4096 * 4096 * 2
    assert needed > 2**36  # far more than this machine (or a laptop) has
    with pytest.raises(ValueError, match=r"the writer's chunk buffers need \d+\.\d GiB but "
                                         r"this machine has .* use smaller tiles"):
        ZarrStreamWriter(StorageProperties(path, chunking=chunking), frame_shape=(4096, 4096),
                         dtype="uint16")
    assert not path.exists() and hidden_leftovers(sandbox) == []
    # The retry with sensible tiles works at once (8 frames of 1024 x 1024 per chunk).
    ZarrStreamWriter(StorageProperties(path, chunking=ChunkingProperties(1024, 1024)),
                     frame_shape=(4096, 4096), dtype="uint16").close()
    ome.validate(path)


# -- metadata: nonsense is refused, before anything is written ----------------------------------


@pytest.mark.parametrize(
    ("overrides", "error", "match"),
    [
        ({"scales": [[float("nan"), 1.0]]}, ValueError, r"scales\[0\]\[0\]=nan must be a finite"),
        ({"scales": [[0.0, 1.0]]}, ValueError, r"scales\[0\]\[0\]=0.0 must be a finite number > 0"),
        ({"scales": [[1.0, -2.0]]}, ValueError, r"scales\[0\]\[1\]=-2.0 must be"),
        ({"scales": [[1.0, math.inf]]}, ValueError, r"scales\[0\]\[1\]=inf must be"),
        ({"translations": [[math.nan, 0.0]]}, ValueError, r"translations\[0\]\[0\]=nan"),
        ({"chunks": [(0, 4)]}, ValueError, r"chunks\[0\]=\(0, 4\) must be integers >= 1"),
        ({"chunks": [(4.0, 4)]}, TypeError, r"chunks\[0\]=\(4.0, 4\) must be integers"),
        ({"dtype": "complex128"}, ValueError, "dtype='complex128' must be a boolean, integer"),
        ({"dtype": ">u2"}, ValueError, "dtype='>u2' must be"),
        ({"dtype": None}, TypeError, "dtype=None must be"),
        ({"name": 3}, TypeError, "name=3 must be a string"),
    ],
)
def test_image_model_refuses_nonsense_and_create_image_writes_nothing(
    sandbox: Path, overrides: dict[str, object], error: type, match: str
) -> None:
    """`ome.image_model` / `create_image` accepted NaN, zero and negative scales, zero chunks
    and complex dtypes (some half-wrote the group first)."""
    settings: dict[str, object] = dict(shapes=[(8, 8)], dtype="uint8", chunks=[(4, 4)],
                                       axes="yx", scales=[[1.0, 1.0]], translations=[[0.0, 0.0]])
    settings.update(overrides)
    with pytest.raises(error, match=match):
        ome.create_image(sandbox / "m.zarr", ome.image_model(**settings))  # type: ignore[arg-type]
    assert not (sandbox / "m.zarr").exists()


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: ome.level_transforms([1.0, 1.0], [(2.5, 2)]), TypeError,
         r"level_factors\[0\]=\(2.5, 2\) must be one integer >= 1 per axis"),
        (lambda: ome.level_transforms([1.0, 1.0], [(0, 2)]), ValueError,
         r"level_factors\[0\]=\(0, 2\) must be one integer >= 1"),
        (lambda: ome.level_transforms([1.0, 1.0], [(2, 2, 2)]), ValueError,
         r"level_factors\[0\]=\(2, 2, 2\) must be one integer >= 1 per axis \(2\)"),
        (lambda: ome.level_transforms([1.0], [(2,)], method="median"), ValueError,
         r"method='median' must be one of"),
        (lambda: ome.level_transforms([math.nan, 1.0], [(2, 2)]), ValueError,
         r"base_scale\[0\]=nan must be a finite number > 0"),
        (lambda: ome.level_transforms([1e308, 1.0], [(2, 2)]), ValueError,
         r"base_scale=\[1e\+308, 1.0\] is too large: level 1 .* beyond the largest float"),
        (lambda: ome.level_transforms([1.0], [(2,)], base_translation=[math.inf]), ValueError,
         r"base_translation\[0\]=inf must be a finite number"),
        (lambda: ome.level_transforms("1.0", [(2,)]), TypeError, r"base_scale='1.0' must be"),
    ],
)
def test_level_transforms_refuses_what_it_cannot_represent(call, error, match) -> None:
    """`ome.level_transforms` treated a factor of 2.5 as 2, accepted factor 0 and unknown
    methods, and turned NaN or 1e308 into errors that did not name the argument."""
    with pytest.raises(error, match=match):
        call()


def test_level_transforms_still_exact() -> None:
    scales, translations = ome.level_transforms([0.7], [(3,)])
    assert scales == [[0.7], [2.1]] and translations == [[0.0], [0.7]]


def test_destination_module_is_the_only_place_that_deletes() -> None:
    """The one place that owns destinations: no other module deletes files or folders."""
    package = Path(_destination.__file__).parent
    deleting = re.compile(r"rmtree\(|\.unlink\(|os\.remove\(|\.rmdir\(|mode=.w.[,)]|"
                          r"overwrite=True[,)]")
    offenders = [
        f"{path.name}:{number}: {line.strip()}"
        for path in package.glob("*.py") if path.name != "_destination.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if deleting.search(line)
    ]
    assert offenders == []


def test_convert_image_never_replaces_its_source(sandbox: Path) -> None:
    """`convert_image(p, p, overwrite=True)` would delete the image it reads, labels and all."""
    path = sandbox / "img.zarr"
    original = build_pyramid(image(), path, axes="yx", chunks=(16, 16))
    before = snapshot(path)
    for dest in (path, "../img.zarr", path / "0", path.parent):
        with pytest.raises(ValueError, match=r"is where the source is read from|current dir"):
            convert_image(original, dest, overwrite=True)
    assert snapshot(path) == before
    assert hidden_leftovers(sandbox) == []
