"""Where the package writes: the one module that owns destinations.

Every function that writes a store (the streaming writer, `build_pyramid`,
`ome.create_image`, and every later writer) goes through this module, so the rules of
design.md's "Data safety" live in one place:

* **Only a Zarr store is ever replaced.** `check_destination` resolves the path and
  refuses, before anything is written, the current directory and its parents, the home
  directory, a symlink, a file, and any folder that is not a Zarr store (a folder of the
  user's photos stays exactly as it was, ``overwrite=True`` or not).
* **Never the source.** A destination that holds, or lies inside, a store that the
  source array reads (a zarr array, or a dask array built on one) is refused.
* **One writer at a time.** `WriteLock` takes an exclusive lock on a hidden file beside the
  destination (``.NAME.lock``); a second writer, in this process or another, is refused
  with `DestinationBusyError`. The lock is ``flock``-based where the OS has it, so a
  killed process releases it by itself.
* **Whole images appear at once.** A `Destination` gives a hidden sibling folder to
  write into, and its `commit` swaps it in by renames on the same filesystem: a failure
  (a bad source, a full disk, a killed process) leaves the old store as it was, or
  nothing at all, and never a half-made image that opens as a good one.
* **Single files too.** `FileDestination` applies the same rules to a file the package
  writes (a TIFF): only a file of that format is ever replaced, never a folder or a
  symlink; it is written as a hidden sibling file and swapped in with one ``os.replace``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import time
import uuid
from collections.abc import Collection, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from data_helpers._checks import as_bool, as_float, as_path

__all__ = [
    "Destination",
    "DestinationBusyError",
    "FileDestination",
    "WriteLock",
    "check_destination",
    "check_file_destination",
    "is_zarr_store",
    "remove_empty_group",
    "source_paths",
]

# The metadata documents that make a folder a Zarr store (v3; v2 group, array, attributes).
_ZARR_METADATA = frozenset({"zarr.json", ".zgroup", ".zarray", ".zattrs", ".zmetadata"})
# What a group with no member holds: its metadata documents (v3; v2 group and attributes).
_GROUP_DOCUMENTS = frozenset({"zarr.json", ".zgroup", ".zattrs"})
# What else may stand at the top of a store: chunk keys ("0", "0.1", "c"), the package's
# own hidden temporary files (zarr's "*.partial" writes) and child arrays or groups.
_CHUNK_KEY = re.compile(r"^(c|\d+([./]\d+)*)$")
_HIDDEN_TEMPORARY = re.compile(r"^\..*\.partial$")

fcntl: ModuleType | None
try:  # POSIX: a lock the kernel drops when its process dies.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


class DestinationBusyError(RuntimeError):
    """Another writer holds the destination's lock."""


def is_zarr_store(path: Path) -> bool:
    """Whether ``path`` is a folder holding a Zarr group or array, and nothing else.

    A folder qualifies when it has a Zarr metadata document at its top and every other
    entry there is one a store holds: chunk files, subfolders (arrays, groups, chunk
    trees) or zarr's own temporary files. A folder that also holds, say, ``notes.txt``
    is not a store: replacing it would lose that file.

    Examples
    --------
    >>> import tempfile, zarr
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     group = zarr.open_group(f"{tmp}/a.zarr", mode="w-")
    ...     is_zarr_store(Path(tmp, "a.zarr")), is_zarr_store(Path(tmp))
    (True, False)
    """
    if path.is_symlink() or not path.is_dir():
        return False
    with os.scandir(path) as scan:
        entries = list(scan)
    if not _ZARR_METADATA.intersection(entry.name for entry in entries):
        return False
    for entry in entries:
        if entry.name in _ZARR_METADATA or _HIDDEN_TEMPORARY.match(entry.name):
            continue
        if entry.is_symlink():
            return False  # a link to elsewhere: replacing the store must not follow it
        if entry.is_dir():
            continue  # an array, a group or a folder of chunks
        if not _CHUNK_KEY.match(entry.name):
            return False
    return True


def _protected(path: Path) -> str | None:
    """Why ``path`` (resolved) may never be a destination, or None."""
    cwd = Path.cwd().resolve()
    if path == cwd or path in cwd.parents:
        return "it is the current directory or one of its parents"
    if path == Path.home().resolve():
        return "it is the home directory"
    if path.parent == path:
        return "it is the root of the filesystem"
    return None


def check_destination(
    dest: object,
    *,
    overwrite: object = False,
    sources: Iterable[Path] = (),
    name: str = "dest",
) -> Path:
    """Check that ``dest`` may be written, and return it as an absolute path.

    Nothing is written. Refused with `ValueError` (or `FileExistsError` /
    `FileNotFoundError`, both subclasses of `OSError`):

    * a path that is, or is a parent of, the current directory; the home directory; ``/``;
    * a symlink, wherever it points;
    * an existing path without ``overwrite=True`` (`FileExistsError`);
    * an existing path that is not a Zarr store (a file, a folder of other files), even
      with ``overwrite=True``: only what the package would write is ever replaced;
    * a path that holds or lies inside one of ``sources`` (the stores being read);
    * a parent folder that does not exist (`FileNotFoundError`; a typo in a parent is
      reported, not created).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     check_destination(f"{tmp}/new.zarr").name
    'new.zarr'
    >>> check_destination("..", overwrite=True)
    Traceback (most recent call last):
    ...
    ValueError: dest='..' cannot be written: it is the current directory or one of its parents
    """
    overwrite = as_bool("overwrite", overwrite)
    given = as_path(name, dest)
    shown = os.fspath(dest)  # type: ignore[call-overload]
    path = Path(os.path.abspath(given))  # normalises "..", keeps a final symlink as it is
    resolved = path.resolve()
    reason = _protected(resolved)
    if reason is not None:
        raise ValueError(f"{name}={shown!r} cannot be written: {reason}")
    if path.is_symlink():
        raise ValueError(
            f"{name}={shown!r} is a symbolic link (to {os.readlink(path)!r}); give the "
            "real path of a new or existing Zarr store instead"
        )
    for source in sources:
        if resolved == source or resolved in source.parents or source in resolved.parents:
            raise ValueError(
                f"{name}={shown!r} is where the source is read from ({str(source)!r}); "
                "writing there would destroy the source: choose another destination"
            )
    if path.exists():
        if not overwrite:
            raise FileExistsError(
                f"{name}={shown!r} already exists; pass overwrite=True to replace it "
                "(only a Zarr store can be replaced), or choose another path"
            )
        if not is_zarr_store(path):
            what = "a file" if not path.is_dir() else "a folder that is not (only) a Zarr store"
            raise ValueError(
                f"{name}={shown!r} is {what}; overwrite=True replaces only a Zarr store "
                "(a folder with zarr.json, .zgroup or .zarray and nothing else), so it "
                "was left as it is: choose another path"
            )
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"{name}={shown!r}: the parent folder {str(path.parent)!r} does not exist; "
            "create it first"
        )
    return path


# -- what a source reads from ----------------------------------------------------------------


def _store_root(array: Any) -> Path | None:
    root = getattr(getattr(array, "store", None), "root", None)
    if root is None:
        return None
    return (Path(root) / getattr(array, "path", "")).resolve()


def source_paths(source: object) -> tuple[Path, ...]:
    """The local folders (resolved) that ``source`` reads its pixels from.

    Finds the store of a zarr array, of a `MultiscaleImage`-like object with a ``path``,
    of a numpy memmap, and of every zarr array inside a dask array's task graph (such
    as ``da.from_zarr(...)`` or `MultiscaleImage.to_dask`), however it was transformed.

    Examples
    --------
    >>> import tempfile, zarr, dask.array as da
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     z = zarr.create_array(f"{tmp}/a.zarr", shape=(4,), dtype="uint8")
    ...     [p.name for p in source_paths(da.from_zarr(z) + 1)]
    ['a.zarr']
    """
    found: dict[Path, None] = {}
    seen: set[int] = set()

    def visit(value: Any, depth: int = 0) -> None:
        if id(value) in seen or depth > 50:
            return
        seen.add(id(value))
        if isinstance(value, str | bytes | int | float | type(None)):
            return
        root = _store_root(value) if hasattr(value, "store") else None
        if root is not None:
            found[root] = None
            return
        filename = getattr(value, "filename", None)
        if isinstance(value, _np_memmap()) and filename:
            found[Path(filename).resolve()] = None
            return
        if type(value).__name__ == "MultiscaleImage":
            path = getattr(value, "path", None)
            if path is not None:
                found[Path(path).resolve()] = None
            return
        graph = getattr(value, "__dask_graph__", None)
        if callable(graph):
            for task in dict(graph()).values():
                visit(task, depth + 1)
            return
        if isinstance(value, dict):
            for item in value.values():
                visit(item, depth + 1)
        elif isinstance(value, list | tuple | set | frozenset):
            for item in value:
                visit(item, depth + 1)
        else:
            # dask's task objects (Task, DataNode, Alias) keep their arguments here.
            for attribute in ("args", "kwargs", "value", "func"):
                inner = getattr(value, attribute, None)
                if inner is not None and not callable(getattr(inner, "__dask_graph__", None)):
                    visit(inner, depth + 1)
            wrapped = getattr(value, "_array", None) or getattr(value, "array", None)
            if wrapped is not None:
                visit(wrapped, depth + 1)

    visit(source)
    return tuple(found)


def _np_memmap() -> type:
    import numpy as np

    return np.memmap


# -- one writer at a time ------------------------------------------------------------------------


def _lock_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.lock")


class WriteLock:
    """The exclusive write lock of destination ``path`` (absolute), held until `release`.

    The lock is the hidden file ``.NAME.lock`` beside ``path``, locked with ``flock``:
    a second `WriteLock` on the same destination, from this process or any other, raises
    `DestinationBusyError` at once. The kernel drops the lock when the process dies, so
    a killed writer never blocks the next one; the file itself is removed on release.

    ``wait`` is for locks that are only ever held for a moment, such as the one around a
    read-modify-write of a small metadata document: the second writer then keeps trying
    for up to ``wait`` seconds before it is refused, instead of failing at once.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with WriteLock(Path(tmp, "a.zarr")):
    ...         with WriteLock(Path(tmp, "a.zarr")):
    ...             pass
    Traceback (most recent call last):
    ...
    data_helpers._destination.DestinationBusyError: ...a.zarr' is being written by another writer...
    """

    def __init__(self, path: Path, *, wait: float = 0.0) -> None:
        self.path = path
        self.lock_file = _lock_path(path)
        deadline = time.monotonic() + as_float("wait", wait, minimum=0.0)
        pause = 0.001
        while True:
            try:
                self._handle: TextIO | None = _acquire(self.lock_file, path)
                return
            except DestinationBusyError:
                if time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(2 * pause, 0.05)

    def release(self) -> None:
        """Give the lock up (twice is harmless)."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.lock_file.unlink()  # while still locked: no one else holds this file
        handle.close()

    def __enter__(self) -> WriteLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def _busy(path: Path, lock_file: Path) -> DestinationBusyError:
    try:
        holder = lock_file.read_text().strip() or "unknown"
    except OSError:
        holder = "unknown"
    return DestinationBusyError(
        f"{str(path)!r} is being written by another writer ({holder}); two writers on one "
        f"destination would lose data. Wait for it to finish, or choose another path. "
        f"(The lock is {str(lock_file)!r}.)"
    )


def _acquire(lock_file: Path, path: Path) -> TextIO:
    if fcntl is None:  # pragma: no cover - Windows: an exclusive create is the lock
        try:
            handle = open(lock_file, "x")
        except FileExistsError:
            raise _busy(path, lock_file) from None
        _describe_holder(handle)
        return handle
    while True:
        handle = open(lock_file, "a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise _busy(path, lock_file) from None
        # A releasing writer may have unlinked the file between our open and our lock: then
        # we would hold a lock on a file no one else can see, and must take the new one.
        try:
            same = os.path.samestat(os.fstat(handle.fileno()), os.stat(lock_file))
        except FileNotFoundError:
            same = False
        if same:
            _describe_holder(handle)
            return handle
        handle.close()


def _describe_holder(handle: TextIO) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(f"process {os.getpid()} on {socket.gethostname()}\n")
    handle.flush()


# -- writing aside, then swapping in -----------------------------------------------------------


def remove_empty_group(path: Path) -> bool:
    """Delete the Zarr group at ``path`` if it holds nothing but its metadata documents.

    Such a group (``zarr.json``, or ``.zgroup`` and ``.zattrs``, and no member) holds no
    data of anyone: a writer that made one for its own use and failed takes it back this
    way. Anything else at ``path`` (a member, any other file, a symlink, nothing) is left
    as it is. The caller holds the group's `WriteLock`, so nothing is added meanwhile;
    the group is renamed aside to a hidden ``.NAME.<hex>.partial`` name first, so it
    disappears at once. Returns whether it was deleted.

    Examples
    --------
    >>> import tempfile, zarr
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = zarr.open_group(f"{tmp}/a.zarr", mode="w-").create_group("labels")
    ...     remove_empty_group(Path(tmp, "a.zarr")), remove_empty_group(Path(tmp, "a.zarr/labels"))
    (False, True)
    """
    if path.is_symlink() or not path.is_dir():
        return False
    entries = set(os.listdir(path))
    if not entries or not entries <= _GROUP_DOCUMENTS:
        return False
    aside = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    os.rename(path, aside)
    shutil.rmtree(aside, ignore_errors=True)
    return True


def _remove_stale_staging(path: Path, *, files: bool = False) -> None:
    """Delete staging folders (or, with ``files``, files) a killed writer of ``path`` left.

    Only entries named as this module names them (``.NAME.<32 hex digits>.partial``)
    are removed, and only under the destination's lock, so none of them can belong to a
    writer that is still running. An ``.NAME.*.old`` folder (a crash between the two
    renames of a commit) may be the only copy of the previous store: it is left alone.
    """
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.[0-9a-f]{{32}}\.partial$")
    with os.scandir(path.parent) as scan:
        stale = [entry.path for entry in scan if pattern.match(entry.name) and (
            entry.is_file(follow_symlinks=False) if files
            else entry.is_dir(follow_symlinks=False))]
    for entry in stale:
        if files:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry)
        else:
            shutil.rmtree(entry, ignore_errors=True)


class Destination:
    """A checked, locked destination, with a hidden folder beside it to write the store in.

    Making one runs `check_destination` (``source`` is the array being read, whose stores
    are refused as destinations), takes the `WriteLock`, and checks again under the lock
    (another writer may have finished in between). Write the whole store under `staging`,
    then `commit`. `release` (or leaving the ``with`` block) deletes the staging folder if
    it was not committed, and gives the lock up: after a failure, ``dest`` is exactly as
    it was. With ``resumable=True`` the staging folder has a fixed name
    (``.NAME.resumable.partial``) and is kept after a failure, so that a later run can
    finish it (`data_helpers.tiles.map_tiles` with ``resume=True``). ``wait`` is passed
    on to `WriteLock`: 0, the default, refuses a destination that another writer holds
    at once.

    Examples
    --------
    >>> import tempfile, zarr
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with Destination(f"{tmp}/a.zarr") as destination:
    ...         _ = zarr.open_group(destination.staging, mode="w-")
    ...         destination.commit()
    ...     is_zarr_store(Path(tmp, "a.zarr"))
    True
    """

    def __init__(
        self, dest: object, *, overwrite: object = False, source: object = None,
        name: str = "dest", resumable: bool = False, wait: float = 0.0,
    ) -> None:
        self.path = check_destination(
            dest, overwrite=overwrite, sources=source_paths(source), name=name
        )
        self._lock = WriteLock(self.path, wait=wait)
        try:
            check_destination(self.path, overwrite=overwrite, name=name)
            _remove_stale_staging(self.path)
        except BaseException:
            self._lock.release()
            raise
        # A resumable staging folder has a fixed name, so that the next run finds it, and
        # outlives a failure (only the lock holder ever writes it).
        tag = "resumable" if resumable else uuid.uuid4().hex
        self.staging = self.path.with_name(f".{self.path.name}.{tag}.partial")
        self.resumable = resumable
        self.committed = False
        self.replaced = False

    def commit(self) -> None:
        """Swap the staged store in at `path`, replacing the Zarr store there, if any.

        `path` was checked to be a Zarr store (or absent) under the lock, held since, so
        what is replaced is what the checks allowed. The old store is first renamed
        aside, then the new one into place, then the old one deleted: a crash between the
        two renames leaves both folders (the old one hidden as ``.NAME.*.old``), never a
        mix of the two.
        """
        old: Path | None = None
        if self.path.exists() or self.path.is_symlink():
            if not is_zarr_store(self.path):  # changed under us: refuse, keep both
                raise ValueError(
                    f"{str(self.path)!r} is no longer a Zarr store; nothing was replaced"
                )
            old = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.old")
            os.rename(self.path, old)
        try:
            os.rename(self.staging, self.path)
        except BaseException:
            if old is not None:
                os.rename(old, self.path)
            raise
        self.committed = True
        self.replaced = old is not None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def withdraw(self) -> None:
        """Take back a `commit` that replaced nothing: remove the new store, lock still held.

        For a writer whose work goes on after its store is in place (a label image still
        to be listed, say) and fails there: ``dest`` is then as it was before, absent.
        After a commit that replaced a store, there is nothing to go back to: a
        `ValueError`. The store is renamed aside (to the staging name) before it is
        deleted, so no reader ever sees half of it; after a crash in between, the next
        writer of ``dest`` deletes what is left.
        """
        if not self.committed or self.replaced:
            what = "replaced a store" if self.committed else "was not committed"
            raise ValueError(f"{str(self.path)!r} {what}: there is no commit to take back")
        os.rename(self.path, self.staging)
        self.committed = False
        shutil.rmtree(self.staging, ignore_errors=True)

    def remove_from_staging(self, name: str) -> None:
        """Delete ``name`` (a file or folder of the package's own) inside the staging folder.

        For bookkeeping that must not end up in the committed store, such as the records
        of finished blocks that `data_helpers.tiles.map_tiles` keeps to resume.
        """
        target = self.staging / name
        if target.resolve().parent != self.staging.resolve():
            raise ValueError(f"name={name!r} must be an entry of the staging folder itself")
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)

    def clear_staging(self) -> None:
        """Delete the staging folder, if there is one (only ever one made here)."""
        if not self.committed:
            shutil.rmtree(self.staging, ignore_errors=True)

    def release(self) -> None:
        """Delete an uncommitted staging folder, unless it is resumable; drop the lock."""
        if not self.resumable:
            self.clear_staging()
        self._lock.release()

    def __enter__(self) -> Destination:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


# -- single files ------------------------------------------------------------------------------


def has_signature(path: Path, signatures: Collection[bytes]) -> bool:
    """Whether the regular file ``path`` starts with one of ``signatures`` (magic bytes).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = Path(tmp, "a.tif").write_bytes(b"II*\\x00 and the rest")
    ...     has_signature(Path(tmp, "a.tif"), [b"II*\\x00", b"MM\\x00*"])
    True
    """
    if path.is_symlink() or not path.is_file():
        return False
    longest = max((len(s) for s in signatures), default=0)
    try:
        with open(path, "rb") as handle:
            head = handle.read(longest)
    except OSError:
        return False
    return any(head.startswith(s) for s in signatures)


def check_file_destination(
    dest: object,
    *,
    overwrite: object = False,
    sources: Iterable[Path] = (),
    signatures: Collection[bytes] = (),
    what: str = "file",
    name: str = "path",
) -> Path:
    """Check that the file ``dest`` may be written, and return it as an absolute path.

    The rules of `check_destination`, for a single file of one format (``what``, such
    as ``"TIFF file"``, whose first bytes are one of ``signatures``). Nothing is
    written. Refused with `ValueError` (or `FileExistsError` / `FileNotFoundError`):

    * a symlink, wherever it points; a folder (``overwrite=True`` or not);
    * an existing file without ``overwrite=True`` (`FileExistsError`);
    * an existing file that does not start with one of ``signatures``, even with
      ``overwrite=True``: only a file of the format the package writes is replaced;
    * a path that is, or lies inside, one of ``sources`` (what is being read);
    * a parent folder that does not exist (`FileNotFoundError`).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     check_file_destination(f"{tmp}/new.tif").name
    'new.tif'
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     check_file_destination(tmp, overwrite=True, what="TIFF file")
    Traceback (most recent call last):
    ...
    ValueError: path='...' is a folder; give the path of a TIFF file (new, or one to replace)
    """
    overwrite = as_bool("overwrite", overwrite)
    given = as_path(name, dest)
    shown = os.fspath(dest)  # type: ignore[call-overload]
    path = Path(os.path.abspath(given))
    if path.is_symlink():
        raise ValueError(
            f"{name}={shown!r} is a symbolic link (to {os.readlink(path)!r}); give the "
            f"real path of a {what} instead"
        )
    if path.is_dir():
        raise ValueError(
            f"{name}={shown!r} is a folder; give the path of a {what} (new, or one to replace)"
        )
    resolved = path.resolve()
    for source in sources:
        if resolved == source or source in resolved.parents:
            raise ValueError(
                f"{name}={shown!r} is where the source is read from ({str(source)!r}); "
                "writing there would destroy the source: choose another path"
            )
    if path.exists():
        if not overwrite:
            raise FileExistsError(
                f"{name}={shown!r} already exists; pass overwrite=True to replace it "
                f"(only a {what} can be replaced), or choose another path"
            )
        if not has_signature(path, signatures):
            raise ValueError(
                f"{name}={shown!r} is not a {what}; overwrite=True replaces only a {what}, "
                "so it was left as it is: choose another path"
            )
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"{name}={shown!r}: the parent folder {str(path.parent)!r} does not exist; "
            "create it first"
        )
    return path


class FileDestination:
    """A checked, locked file destination, with a hidden sibling file to write it in.

    The file counterpart of `Destination`: making one runs `check_file_destination`
    (``source`` is the array being read), takes the `WriteLock` and checks again under
    it. Write the whole file at `staging` (a hidden sibling, ``.NAME.<hex>.partial``,
    on the same filesystem), then `commit`, which moves it into place with one
    ``os.replace``: readers see the old file or the new one, never half of one.
    `release` (or leaving the ``with`` block) deletes the staging file if it was not
    committed, and gives the lock up: after a failure, ``dest`` is exactly as it was.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with FileDestination(f"{tmp}/a.bin", signatures=[b"AB"]) as destination:
    ...         _ = destination.staging.write_bytes(b"AB data")
    ...         destination.commit()
    ...     sorted(p.name for p in Path(tmp).iterdir())
    ['a.bin']
    """

    def __init__(
        self, dest: object, *, overwrite: object = False, source: object = None,
        signatures: Collection[bytes] = (), what: str = "file", name: str = "path",
    ) -> None:
        self._rules: dict[str, Any] = dict(
            overwrite=overwrite, signatures=tuple(signatures), what=what, name=name
        )
        self.path = check_file_destination(dest, sources=source_paths(source), **self._rules)
        self._lock = WriteLock(self.path)
        try:
            check_file_destination(self.path, **self._rules)
            _remove_stale_staging(self.path, files=True)
        except BaseException:
            self._lock.release()
            raise
        self.staging = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.partial")
        self.committed = False

    def commit(self) -> None:
        """Move the staged file to `path`, replacing the file there, if any.

        The lock is held since the checks, but another program may have put something
        at `path` in between: it is checked once more, and a folder, a symlink or a
        file of another format there is refused and left alone.
        """
        if self.path.is_symlink() or self.path.is_dir() or (
            self.path.exists() and not has_signature(self.path, self._rules["signatures"])
        ):
            raise ValueError(
                f"{str(self.path)!r} is no longer a {self._rules['what']}; nothing was replaced"
            )
        os.replace(self.staging, self.path)
        self.committed = True

    def release(self) -> None:
        """Delete an uncommitted staging file (only ever the one made here); drop the lock."""
        if not self.committed:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.staging)
        self._lock.release()

    def __enter__(self) -> FileDestination:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()
