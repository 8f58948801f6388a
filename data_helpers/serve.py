"""Serving a local directory over HTTP, to read Zarr stores as a remote reader does.

`serve_directory` starts a small web server on this computer (``127.0.0.1``, a free
port), in a background thread, that serves the files under one directory, read-only,
and answers HTTP ``Range`` requests: a client can ask for bytes 100 to 199 of a file
and get just those (status 206, "Partial Content"). That is how a Zarr reader reads a
single chunk out of a shard over the network.

Every request is logged (method, path, status, ``Range`` header, bytes of body sent),
so a reader can count what reading an image over the network costs, and ``delay_s``
adds a fixed wait to every request, as a slow network would.

The server is tornado's `tornado.web.StaticFileHandler`, which answers ``Range``
requests (206 with a ``Content-Range`` header, 416 for a range that is out of the
file) and refuses paths that lead out of the directory, as written (``..``) or through
symlinks (403). It is meant for teaching and tests on one computer, not for serving
data to others: it binds only ``127.0.0.1``.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

from data_helpers._checks import as_float, as_path

__all__ = ["ServedDirectory", "ServedRequest", "serve_directory"]

# How long `serve_directory` waits for the server thread to start, and `stop` for it to end.
_THREAD_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ServedRequest:
    """One request the server answered, as its log holds it.

    Attributes
    ----------
    method
        The HTTP method: ``"GET"``, ``"HEAD"``, ... (only GET and HEAD are answered
        with files; any other is refused with 405).
    path
        The path of the URL as requested, without the query, e.g.
        ``"/image.zarr/0/c/0/0"`` (percent-escapes, if any, left as they were sent).
    status
        The status of the answer: 200 (the whole file), 206 (part of it, for a
        ``Range`` request), 403 (a path out of the directory, or a directory), 404 (no
        such file), 405 (a method other than GET and HEAD), 416 (a range out of the file).
    range
        The request's ``Range`` header (e.g. ``"bytes=0-99"``, ``"bytes=-16"`` for the
        last 16 bytes), or None when it had none.
    bytes_sent
        The length of the body of the answer (what follows the headers): the bytes of
        the file sent, or of the error page; 0 for a HEAD request.
    """

    method: str
    path: str
    status: int
    range: str | None
    bytes_sent: int


class _RequestLog:
    """The requests answered so far, appended to by the server thread, read by any other."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[ServedRequest] = []

    def append(self, entry: ServedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def snapshot(self) -> tuple[ServedRequest, ...]:
        with self._lock:
            return tuple(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class _Handler(tornado.web.StaticFileHandler):
    """Tornado's static file handler, with a delay before each answer and a request log.

    Only public methods of `StaticFileHandler` (and its `RequestHandler`) are overridden.
    A request is logged when the headers of its answer are sent, before any byte of the
    answer: a client that has its answer always finds the request in the log.
    """

    # Class defaults: `clear`, which tracks the Content-Length, runs in __init__ before
    # `initialize`.
    _content_length: int | None = None
    _logged = False

    def initialize(  # type: ignore[override]  # tornado passes these as keyword arguments
        self, path: str, request_log: _RequestLog, delay_s: float
    ) -> None:
        super().initialize(path)
        self._request_log = request_log
        self._delay_s = delay_s

    async def prepare(self) -> None:
        if self._delay_s > 0:
            await asyncio.sleep(self._delay_s)

    def compute_etag(self) -> str | None:
        # No ETag: tornado would hash each whole file (shards included) to make one, and
        # keep the hashes in a cache shared by every StaticFileHandler of the process.
        return None

    def clear(self) -> None:
        super().clear()
        self._content_length = None

    def set_header(self, name: str, value: Any) -> None:
        super().set_header(name, value)
        if name.lower() == "content-length":
            self._content_length = int(value)

    def flush(self, include_footers: bool = False) -> asyncio.Future[None]:
        if not self._logged:  # the first flush sends the headers: log the request now
            self._logged = True
            status = self.get_status()
            no_body = self.request.method == "HEAD" or status in (204, 304)
            self._request_log.append(ServedRequest(
                method=str(self.request.method),
                path=self.request.path,
                status=status,
                range=self.request.headers.get("Range"),
                bytes_sent=0 if no_body else self._content_length or 0,
            ))
        return super().flush(include_footers)

    def log_exception(self, typ: Any, value: BaseException | None, tb: TracebackType | None
                      ) -> None:
        # A refused request (403, 404, 405, ...) is in the request log; it is not an
        # error of the server, so it is not printed (in a notebook it would go to stderr).
        if not isinstance(value, tornado.web.HTTPError):
            super().log_exception(typ, value, tb)


class ServedDirectory:
    """A directory served over HTTP on ``127.0.0.1``, with a log of the requests.

    Made by `serve_directory`; a context manager that stops the server at the end of
    the ``with`` block.

    Attributes
    ----------
    root
        The directory served (resolved: symlinks and ``..`` taken out).
    url
        The URL of ``root``, without a trailing slash, e.g. ``"http://127.0.0.1:41873"``:
        the file ``root / "a.zarr" / "zarr.json"`` is at ``f"{url}/a.zarr/zarr.json"``.
    port
        The port the server listens on (a free one, chosen by the system).
    delay_s
        The time, in seconds, the server waits before answering each request.
    """

    def __init__(self, root: Path, delay_s: float) -> None:
        self.root = root
        self.delay_s = delay_s
        self._log = _RequestLog()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        # Bound here, in the caller's thread, so that the port is known (and taken) now.
        self._sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self.port: int = self._sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._run, name=f"serve {self.url}",
                                        daemon=True)
        self._thread.start()
        if not self._started.wait(_THREAD_TIMEOUT_S):
            raise RuntimeError(f"the server for {str(root)!r} did not start")
        if self._error is not None:
            raise RuntimeError(f"the server for {str(root)!r} did not start: {self._error}")

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # reported by __init__ if it happens while starting
            self._error = error
        finally:
            self._started.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        application = tornado.web.Application(
            [(r"/(.*)", _Handler, {"path": str(self.root), "request_log": self._log,
                                   "delay_s": self.delay_s})],
            # No access log printed: the requests are in the server's own log.
            log_function=lambda handler: None,
        )
        server = tornado.httpserver.HTTPServer(application)
        server.add_sockets(self._sockets)
        self._started.set()
        try:
            await self._stopping.wait()
        finally:
            server.stop()
            await server.close_all_connections()

    @property
    def requests(self) -> tuple[ServedRequest, ...]:
        """The requests answered so far (since the start or the last `clear_requests`).

        A snapshot, oldest first; every request whose answer a client has received is
        in it.
        """
        return self._log.snapshot()

    def clear_requests(self) -> None:
        """Empty the request log, to count the requests of what comes next."""
        self._log.clear()

    @property
    def running(self) -> bool:
        """Whether the server still answers requests."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop the server and close its connections; calling it again does nothing.

        The request log stays readable.
        """
        loop, stopping = self._loop, self._stopping
        if self._thread.is_alive() and loop is not None and stopping is not None:
            try:
                loop.call_soon_threadsafe(stopping.set)
            except RuntimeError:  # the loop closed meanwhile: the thread is ending
                pass
        self._thread.join(_THREAD_TIMEOUT_S)
        if self._thread.is_alive():
            raise RuntimeError(f"the server at {self.url} did not stop")

    def __enter__(self) -> ServedDirectory:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return (f"ServedDirectory({str(self.root)!r}, url={self.url!r}, "
                f"delay_s={self.delay_s}, {state}, {len(self.requests)} requests)")


def serve_directory(
    root: str | Path, *, delay_s: float = 0.0
) -> ServedDirectory:
    """Serve the files under ``root`` over HTTP, read-only, on ``127.0.0.1``.

    The server runs in a background thread until `ServedDirectory.stop` (or the end of
    a ``with`` block). It answers GET and HEAD requests for the files under ``root``,
    ``Range`` requests with the bytes asked for (status 206), and refuses everything
    else: a path out of ``root``, as written (``..``) or through a symlink (403), a
    directory (403: it lists nothing), a missing file (404), a method that writes (405).

    Parameters
    ----------
    root
        The directory to serve.
    delay_s
        Seconds to wait before answering each request, >= 0: a network's latency.
        Requests that arrive together wait together (the server answers them
        concurrently), so the delay is a lower bound on each request's time, not a
        rate limit.

    Returns
    -------
    ServedDirectory
        The running server: its `ServedDirectory.url` and its log of
        `ServedDirectory.requests`.

    Raises
    ------
    FileNotFoundError
        When nothing is at ``root``.
    NotADirectoryError
        When ``root`` is not a directory.
    TypeError, ValueError
        For a ``root`` that is not a path, or a ``delay_s`` that is not a number >= 0.

    Examples
    --------
    >>> import http.client
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / "data.bin").write_bytes(bytes(range(100)))
    ...     with serve_directory(tmp) as server:
    ...         client = http.client.HTTPConnection("127.0.0.1", server.port)
    ...         client.request("GET", "/data.bin", headers={"Range": "bytes=10-13"})
    ...         answer = client.getresponse()
    ...         print(answer.status, answer.getheader("Content-Range"), list(answer.read()))
    ...         client.close()
    206 bytes 10-13/100 [10, 11, 12, 13]
    >>> server.requests
    (ServedRequest(method='GET', path='/data.bin', status=206, range='bytes=10-13', bytes_sent=4),)
    """
    where = as_path("root", root)
    if not where.exists():
        raise FileNotFoundError(f"root={str(root)!r}: no such directory")
    if not where.is_dir():
        raise NotADirectoryError(f"root={str(root)!r} is not a directory")
    delay = as_float("delay_s", delay_s, minimum=0.0,
                     accepted="a finite number of seconds >= 0")
    return ServedDirectory(where.resolve(), delay)
