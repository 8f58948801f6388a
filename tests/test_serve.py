"""Tests of data_helpers.serve: a real server on 127.0.0.1, talked to with http.client.

http.client sends the request path exactly as given (no proxy, no normalisation of
``..``), so these tests see what the server does with what a client may send.
"""

from __future__ import annotations

import http.client
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from data_helpers.serve import ServedDirectory, ServedRequest, serve_directory

DATA = bytes(range(256)) * 4  # 1024 bytes, each byte telling its position modulo 256


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A served folder (``root``) with a data file, a subfolder, and a secret beside it."""
    root = tmp_path / "root"
    (root / "folder").mkdir(parents=True)
    (root / "data.bin").write_bytes(DATA)
    (root / "folder" / "inner.txt").write_text("inside")
    (tmp_path / "secret.txt").write_text("outside the served folder")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "other.txt").write_text("outside too")
    return root


@pytest.fixture
def server(site: Path) -> Iterator[ServedDirectory]:
    with serve_directory(site) as served:
        yield served


def request(server: ServedDirectory, path: str, method: str = "GET",
            headers: dict[str, str] | None = None, body: bytes | None = None
            ) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one request, on a connection of its own."""
    client = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        client.request(method, path, body=body, headers=headers or {})
        answer = client.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        client.close()


# -- what is served ----------------------------------------------------------------------


def test_binds_127_0_0_1_on_a_free_port(server: ServedDirectory, site: Path) -> None:
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.port > 0
    assert server.root == site.resolve()
    assert server.running
    with serve_directory(site) as second:  # another free port, at the same time
        assert second.port != server.port


def test_a_whole_file_is_answered_200(server: ServedDirectory) -> None:
    status, headers, body = request(server, "/data.bin")
    assert (status, body) == (200, DATA)
    assert headers["Accept-Ranges"] == "bytes"
    assert request(server, "/folder/inner.txt")[2] == b"inside"


@pytest.mark.parametrize(
    "header, start, stop",
    [
        ("bytes=10-19", 10, 20),  # both ends included
        ("bytes=1000-", 1000, 1024),  # from an offset to the end
        ("bytes=-16", 1008, 1024),  # the last 16 bytes: how zarr reads a shard's index
        ("bytes=1020-5000", 1020, 1024),  # an end beyond the file is capped
        ("bytes=0-0", 0, 1),
    ],
)
def test_a_range_is_answered_206_with_its_bytes(
    server: ServedDirectory, header: str, start: int, stop: int
) -> None:
    status, headers, body = request(server, "/data.bin", headers={"Range": header})
    assert status == 206
    assert body == DATA[start:stop]
    assert headers["Content-Range"] == f"bytes {start}-{stop - 1}/{len(DATA)}"
    assert int(headers["Content-Length"]) == stop - start
    assert server.requests[-1] == ServedRequest("GET", "/data.bin", 206, header, stop - start)


def test_a_range_out_of_the_file_is_answered_416(server: ServedDirectory) -> None:
    status, headers, _ = request(server, "/data.bin", headers={"Range": "bytes=2000-2010"})
    assert status == 416
    assert headers["Content-Range"] == f"bytes */{len(DATA)}"


def test_head_sends_the_size_and_no_body(server: ServedDirectory) -> None:
    status, headers, body = request(server, "/data.bin", method="HEAD")
    assert (status, body, int(headers["Content-Length"])) == (200, b"", len(DATA))
    assert server.requests[-1] == ServedRequest("HEAD", "/data.bin", 200, None, 0)


def test_missing_files_and_folders(server: ServedDirectory) -> None:
    assert request(server, "/nothing.bin")[0] == 404
    assert request(server, "/folder")[0] == 403  # a folder lists nothing
    assert request(server, "/folder/")[0] == 403
    assert request(server, "/")[0] == 403


# -- what is refused ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/folder/../../secret.txt",
        "/%2e%2e/secret.txt",  # percent-escaped dots
        "/..%2fsecret.txt",  # and slash
        "/folder/..%2F..%2Fsecret.txt",
    ],
)
def test_paths_out_of_the_root_are_refused(server: ServedDirectory, path: str) -> None:
    status, _, body = request(server, path)
    assert status == 403
    assert b"outside" not in body
    assert server.requests[-1].status == status


def test_an_absolute_path_is_refused(server: ServedDirectory, site: Path) -> None:
    secret = site.parent / "secret.txt"
    for path in (f"/{secret}", f"//{secret}", "//etc/passwd"):
        status, _, body = request(server, path)
        assert status == 403, path
        assert b"outside" not in body and b"root:" not in body


def test_symlinks_out_of_the_root_are_refused(site: Path) -> None:
    (site / "to_secret.txt").symlink_to(site.parent / "secret.txt")
    (site / "to_elsewhere").symlink_to(site.parent / "elsewhere", target_is_directory=True)
    (site / "to_data.bin").symlink_to(site / "data.bin")  # stays inside: served
    with serve_directory(site) as server:
        for path in ("/to_secret.txt", "/to_elsewhere/other.txt"):
            status, _, body = request(server, path)
            assert status == 403, path
            assert b"outside" not in body
        assert request(server, "/to_data.bin")[:3:2] == (200, DATA)


def test_a_root_reached_through_a_symlink_is_served(site: Path, tmp_path: Path) -> None:
    link = tmp_path / "link_to_root"
    link.symlink_to(site, target_is_directory=True)
    with serve_directory(link) as server:
        assert server.root == site.resolve()
        assert request(server, "/data.bin")[2] == DATA


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE", "PATCH"])
def test_methods_that_write_are_refused_and_nothing_changes(
    server: ServedDirectory, site: Path, method: str
) -> None:
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    for path in ("/data.bin", "/new.bin"):
        assert request(server, path, method=method, body=b"written")[0] == 405
    assert {p: p.read_bytes() for p in site.rglob("*") if p.is_file()} == before
    assert [r.status for r in server.requests] == [405, 405]


def test_refusals_print_nothing(server: ServedDirectory, caplog: pytest.LogCaptureFixture
                                ) -> None:
    # In a notebook, a logged warning would land in the cell's stderr.
    with caplog.at_level(logging.DEBUG):
        for path in ("/../secret.txt", "/nothing", "/folder", "/data.bin"):
            request(server, path)
        request(server, "/data.bin", method="PUT", body=b"x")
    assert [r for r in caplog.records if r.name.startswith("tornado")] == []


# -- the request log ---------------------------------------------------------------------


def test_the_log_holds_every_request_in_order(server: ServedDirectory) -> None:
    request(server, "/data.bin")
    request(server, "/data.bin", headers={"Range": "bytes=0-99"})
    request(server, "/nothing.bin")
    request(server, "/folder/inner.txt", method="HEAD")
    log = server.requests
    assert [(r.method, r.path, r.status, r.range) for r in log] == [
        ("GET", "/data.bin", 200, None),
        ("GET", "/data.bin", 206, "bytes=0-99"),
        ("GET", "/nothing.bin", 404, None),
        ("HEAD", "/folder/inner.txt", 200, None),
    ]
    assert [r.bytes_sent for r in log[:2]] == [1024, 100]
    assert log[2].bytes_sent > 0  # the error page
    assert log[3].bytes_sent == 0


def test_the_log_leaves_out_the_query(server: ServedDirectory) -> None:
    request(server, "/data.bin?x=1")
    assert server.requests[-1].path == "/data.bin"


def test_clear_requests_starts_a_new_count(server: ServedDirectory) -> None:
    request(server, "/data.bin")
    server.clear_requests()
    assert server.requests == ()
    request(server, "/data.bin", headers={"Range": "bytes=0-9"})
    assert [r.bytes_sent for r in server.requests] == [10]


def test_the_log_is_complete_under_concurrent_requests(server: ServedDirectory) -> None:
    threads, per_thread = 8, 10
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(per_thread):
                start = (k * per_thread + i) % 1000
                status, _, body = request(
                    server, "/data.bin", headers={"Range": f"bytes={start}-{start + 9}"})
                assert (status, body) == (206, DATA[start:start + 10])
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    log = server.requests
    assert len(log) == threads * per_thread
    assert sorted(r.range for r in log) == sorted(
        f"bytes={s}-{s + 9}" for s in (n % 1000 for n in range(threads * per_thread))
    )
    assert sum(r.bytes_sent for r in log) == 10 * threads * per_thread


def test_a_request_is_logged_once_its_answer_has_arrived(server: ServedDirectory) -> None:
    # No waiting: the log has the request as soon as the client has the answer.
    for n in range(1, 21):
        request(server, "/data.bin", headers={"Range": "bytes=0-0"})
        assert len(server.requests) == n


# -- delay -------------------------------------------------------------------------------


def test_delay_is_a_lower_bound_on_every_request(site: Path) -> None:
    delay = 0.2
    with serve_directory(site, delay_s=delay) as server:
        assert server.delay_s == delay
        for path in ("/data.bin", "/nothing.bin"):
            start = time.monotonic()
            request(server, path)
            assert time.monotonic() - start >= delay
        assert len(server.requests) == 2


def test_delay_zero_by_default(server: ServedDirectory) -> None:
    assert server.delay_s == 0.0


# -- arguments, stopping -----------------------------------------------------------------


def test_bad_arguments(site: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"root='.*missing': no such directory"):
        serve_directory(site / "missing")
    with pytest.raises(NotADirectoryError, match=r"root='.*data\.bin' is not a directory"):
        serve_directory(site / "data.bin")
    with pytest.raises(TypeError, match=r"root=42 must be a path"):
        serve_directory(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"delay_s=-1 must be a finite number of seconds >= 0"):
        serve_directory(site, delay_s=-1)
    with pytest.raises(TypeError, match=r"delay_s='1' must be a finite number of seconds"):
        serve_directory(site, delay_s="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"delay_s=nan"):
        serve_directory(site, delay_s=float("nan"))


def test_stop_closes_the_port_and_keeps_the_log(site: Path) -> None:
    server = serve_directory(site)
    request(server, "/data.bin")
    server.stop()
    assert not server.running
    with pytest.raises(ConnectionRefusedError):
        request(server, "/data.bin")
    assert len(server.requests) == 1
    server.stop()  # again: nothing happens
    assert "stopped, 1 requests" in repr(server)


def test_the_with_block_stops_the_server_even_on_an_error(site: Path) -> None:
    with pytest.raises(RuntimeError, match="in the block"), serve_directory(site) as server:
        assert server.running
        raise RuntimeError("in the block")
    assert not server.running


def test_a_kept_alive_connection_does_not_keep_the_server_running(site: Path) -> None:
    server = serve_directory(site)
    client = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    client.request("GET", "/data.bin")
    assert client.getresponse().read() == DATA  # the connection stays open (HTTP/1.1)
    server.stop()
    assert not server.running
    client.close()


def test_repr(server: ServedDirectory) -> None:
    text = repr(server)
    assert text.startswith(f"ServedDirectory({str(server.root)!r}, url={server.url!r}")
    assert "running, 0 requests" in text


def test_the_served_file_is_read_at_each_request(server: ServedDirectory, site: Path) -> None:
    request(server, "/data.bin")
    (site / "data.bin").write_bytes(b"changed")
    os.utime(site / "data.bin")
    assert request(server, "/data.bin")[2] == b"changed"
