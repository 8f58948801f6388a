"""Tests of data_helpers.cli: the ``data-helpers`` command, run as a user runs it.

Each command runs in a subprocess, ``python -m data_helpers ...``, with standard output
and standard error captured (so neither is a terminal: tables are plain text, 100
characters wide), on small stores the `stores` fixture makes once in this process. The
subprocess imports the package the tests import (its folder comes first on PYTHONPATH).
A command that writes is checked by reading what it wrote with the package. Start-up costs
a second or two per command, mostly imports, so each test runs as few commands as it can.
"""

from __future__ import annotations

import argparse
import inspect
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import tifffile
import zarr

import data_helpers
from data_helpers import cli, ome
from data_helpers.camera import SimulatedCamera
from data_helpers.convert import convert_image, write_tiff
from data_helpers.inspect import directory_size, format_bytes
from data_helpers.labels import write_labels
from data_helpers.multiscale import MultiscaleImage
from data_helpers.pyramid import build_pyramid
from data_helpers.serve import serve_directory
from data_helpers.writer import ChunkingProperties, StorageProperties

PACKAGE_ROOT = Path(data_helpers.__file__).resolve().parent.parent
WIDTH = 100  # cli._PIPE_WIDTH: the width of tables on a pipe, without COLUMNS
CELLS = np.arange(2 * 64 * 64, dtype=np.uint16).reshape(2, 64, 64)
VOLUME = np.arange(3 * 64 * 80, dtype=np.uint16).reshape(3, 64, 80)
PLANE = np.linspace(0, 1, 48 * 96, dtype=np.float32).reshape(48, 96)


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m data_helpers ARGS`` in ``cwd``, as a user would run it from a shell."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE")}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(PACKAGE_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    return subprocess.run([sys.executable, "-m", "data_helpers", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The command's error, checked to be one line without a traceback; its message."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("data-helpers: error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of small inputs, each written by the package:

    * ``cells.zarr``: OME-Zarr 0.4, ``cyx`` uint16, channels DAPI and GFP, labels nuclei;
    * ``cells5.zarr``: the same as OME-Zarr 0.5 in shards;
    * ``volume.ome.tif``: a tiled ``zyx`` TIFF with pixel sizes;
    * ``plane.zarr``: a plain Zarr v3 array (not an image);
    * ``group.zarr``: an empty Zarr group (not an image); ``notes.txt``: a text file.
    """
    root = tmp_path_factory.mktemp("cli")
    image = build_pyramid(CELLS, root / "cells.zarr", axes="cyx", chunks=(1, 32, 32),
                          scale={"y": 0.5, "x": 0.5}, channels=["DAPI", "GFP"])
    write_labels(image, "nuclei", (CELLS // 1000).astype(np.uint8))
    convert_image(image, root / "cells5.zarr", shard_chunks=2)
    write_tiff(VOLUME, root / "volume.ome.tif", tile=(32, 32),
               scale={"z": 2.0, "y": 0.5, "x": 0.5})
    plane = zarr.create_array(root / "plane.zarr", shape=PLANE.shape, chunks=(16, 32),
                              dtype=PLANE.dtype)
    plane[...] = PLANE
    zarr.create_group(root / "group.zarr")
    (root / "notes.txt").write_text("not an image\n")
    return root


# -- the command itself ----------------------------------------------------------------


def test_console_script_is_declared() -> None:
    """pyproject.toml declares ``data-helpers``; the test runs ``python -m`` (the installed
    executable may belong to another checkout)."""
    project = tomllib.loads((PACKAGE_ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["data-helpers"] == "data_helpers.cli:main"
    assert cli.main.__module__ == "data_helpers.cli"
    assert inspect.signature(cli.main).parameters["argv"].default is None


def test_help_of_every_command(tmp_path: Path) -> None:
    result = run("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: data-helpers")
    for command in ("info", "validate", "pyramid", "convert", "stream"):
        assert command in result.stdout
    options = {
        "info": ["PATH_OR_URL"],
        "validate": ["PATH", "--strict"],
        "pyramid": ["SRC", "DEST", "--axes", "--scale", "--unit", "--method", "--factors",
                    "--max-levels", "--chunks", "--zarr-version", "--shard-chunks",
                    "--compression", "--overwrite", "--progress", "--no-progress"],
        "convert": ["SRC", "DEST", "--chunks", "--zarr-version", "--shard-chunks",
                    "--compression", "--overwrite", "--progress"],
        "stream": ["DEST", "--pattern", "--shape", "--pixel-type", "--exposure-us",
                   "--frames", "--tile", "--max-bytes-per-chunk", "--multiscale",
                   "--zarr-version", "--compression", "--shard-chunks", "--overwrite",
                   "--progress"],
    }
    for command, expected in options.items():
        result = run(command, "--help", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"usage: data-helpers {command}"), result.stdout
        missing = [option for option in expected if option not in result.stdout]
        assert not missing, f"{command} --help does not show {missing}"
    assert not list(tmp_path.iterdir()), "--help wrote something"


def test_version(tmp_path: Path) -> None:
    result = run("--version", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, f"data-helpers {data_helpers.__version__}\n")


def _default_in_help(parser_help: str | None) -> str:
    assert parser_help is not None and "(default: " in parser_help, parser_help
    return parser_help.split("(default: ", 1)[1].split(")", 1)[0]


def test_help_states_the_packages_defaults() -> None:
    """The defaults a help text states are those of the functions the options go to."""
    commands = {
        name: parser for action in cli.build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
        for name, parser in action.choices.items()
    }

    def help_of(command: str, dest: str) -> str:
        [action] = [a for a in commands[command]._actions if a.dest == dest]
        return _default_in_help(action.help)

    def default(function: object, name: str) -> object:
        return inspect.signature(function).parameters[name].default  # type: ignore[arg-type]

    for dest in ("zarr_version", "method", "factors", "compression"):
        expected = default(build_pyramid, dest)
        assert help_of("pyramid", dest) == str(expected), dest
    for dest in ("zarr_version", "compression"):
        assert help_of("convert", dest) == str(default(convert_image, dest)), dest
    width, height = default(SimulatedCamera, "shape")  # type: ignore[misc]
    camera = {"pattern": default(SimulatedCamera, "pattern"), "shape": f"{width}x{height}",
              "pixel_type": default(SimulatedCamera, "pixel_type"),
              "exposure_us": default(SimulatedCamera, "exposure_time_us"),
              "seed": default(SimulatedCamera, "seed")}
    for dest, expected in camera.items():
        assert help_of("stream", dest) == str(expected), dest
    storage = StorageProperties("unused.zarr")
    assert help_of("stream", "zarr_version") == str(storage.zarr_version)
    assert help_of("stream", "compression") == str(storage.compression or "none")
    assert help_of("stream", "max_bytes_per_chunk") == (
        f"{ChunkingProperties().max_bytes_per_chunk // 2**20}MiB")
    assert help_of("stream", "tile") == "0x0"


# -- info ------------------------------------------------------------------------------------


def test_info_shows_levels_channels_labels_and_verdict(stores: Path) -> None:
    result = run("info", "cells.zarr", cwd=stores)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    for text in ("OME-Zarr 0.4 image", "OME-Zarr 0.4, Zarr v2", "c (channel)",
                 "y (space, micrometer)", "2x64x64", "2x32x32", "1x32x32", "uint16",
                 "1, 0.5, 0.5", "DAPI", "GFP", "nuclei",
                 "valid OME-Zarr 0.4 image (strict OME-NGFF schema)"):
        assert text in out, f"{text!r} not in:\n{out}"
    assert "shards" not in out  # an image without shards has no shards column
    # Bytes stored on disk: the level's folder, as inspect measures it.
    assert "levels: uint16" in out
    level_0 = next(line for line in out.splitlines() if line.split()[:2] == ["0", "2x64x64"])
    assert format_bytes(directory_size(stores / "cells.zarr" / "0")[1]) in level_0
    assert format_bytes(CELLS.nbytes) in level_0
    assert max(len(line) for line in out.splitlines()) <= WIDTH


def test_info_over_http(stores: Path) -> None:
    with serve_directory(stores) as server:
        result = run("info", f"{server.url}/cells5.zarr", cwd=stores)
        requested = {request.path for request in server.requests}
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for text in (f"{server.url}/cells5.zarr", "OME-Zarr 0.5, Zarr v3", "shards",
                 "1x32x32", "DAPI", "nuclei", "valid OME-Zarr 0.5 image"):
        assert text in out, f"{text!r} not in:\n{out}"
    level_0 = next(line for line in out.splitlines() if line.split()[:2] == ["0", "2x64x64"])
    assert level_0.split()[-1] == "-", "over HTTP the stored size is not known"
    assert "/cells5.zarr/zarr.json" in requested


def test_info_of_a_plain_zarr_array(stores: Path) -> None:
    result = run("info", "plane.zarr", cwd=stores)
    assert result.returncode == 0, result.stderr
    assert "(48, 96)" in result.stdout and "not an OME-Zarr image" in result.stdout


# -- validate --------------------------------------------------------------------------------


def test_validate_one_valid_and_one_invalid_store(stores: Path) -> None:
    result = run("validate", "cells5.zarr", "group.zarr", "plane.zarr", cwd=stores)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "cells5.zarr: valid OME-Zarr 0.5 image (strict OME-NGFF schema)"
    assert lines[1].startswith("group.zarr: invalid: not a valid OME-Zarr image")
    assert lines[2].startswith("plane.zarr: invalid: 'plane.zarr' is not a Zarr group")
    assert len(lines) == 3 and result.stderr == ""


def test_validate_a_missing_path_is_a_bad_argument(stores: Path) -> None:
    result = run("validate", "missing.zarr", cwd=stores)
    assert result.returncode == 2
    assert result.stdout == "missing.zarr: error: path='missing.zarr' does not exist\n"


def test_validate_a_url_without_a_server_is_a_bad_argument(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In this process: port 1 of this computer refuses the connection at once."""
    assert cli.main(["validate", "http://127.0.0.1:1/image.zarr"]) == 2
    out = capsys.readouterr().out
    assert out.startswith("http://127.0.0.1:1/image.zarr: error: ") and "cannot be read" in out


def test_a_labels_member_that_is_not_a_group_makes_the_image_invalid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In this process: info shows the image and says why it is invalid; validate too."""
    build_pyramid(np.zeros((32, 32), np.uint8), tmp_path / "odd.zarr", axes="yx",
                  chunks=(16, 16))
    zarr.create_array(tmp_path / "odd.zarr" / "labels", shape=(4,), dtype="uint8",
                      zarr_format=2)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["info", "odd.zarr"]) == 1
    out = capsys.readouterr().out
    assert "32x32" in out and "invalid: labels: the image's 'labels' member is an array" in out
    assert cli.main(["validate", "odd.zarr"]) == 1
    assert capsys.readouterr().out.startswith("odd.zarr: invalid: labels: ")


# -- writing: stream, pyramid, convert ------------------------------------------------------------


def test_stream_writes_a_valid_store_with_a_progress_bar(tmp_path: Path) -> None:
    result = run("stream", "run.zarr", "--pattern", "uniform_random", "--shape", "64x48",
                 "--pixel-type", "uint16", "--exposure-us", "500", "--frames", "6",
                 "--tile", "32x24", "--max-bytes-per-chunk", "1MiB", "--multiscale",
                 "--zarr-version", "3", "--compression", "blosc-lz4", "--shard-chunks", "2",
                 "--progress", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # The bar and the warning on stderr, as one line each; the tables on stdout.
    assert "6/6 frames" in result.stderr and "6/6" not in result.stdout
    warning = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warning == [
        "data-helpers: warning: max_bytes_per_chunk=1048576 is below the 16 MiB minimum; "
        "using max_bytes_per_chunk=16777216"
    ]
    assert "streamed run.zarr" in result.stdout and "6x1x48x64" in result.stdout
    model = ome.validate(tmp_path / "run.zarr")
    assert model.ome_zarr_version == "0.5"
    image = MultiscaleImage.open(tmp_path / "run.zarr")
    assert image.shapes == [(6, 1, 48, 64), (3, 1, 24, 32)]
    assert image.level(0).shards == (6, 1, 48, 64)
    frames = np.stack([f.data for f in SimulatedCamera(
        "uniform_random", shape=(64, 48), pixel_type="uint16", exposure_time_us=500,
    ).frames(6)])
    np.testing.assert_array_equal(image.level(0)[:, 0], frames)


def test_pyramid_from_a_tiff(stores: Path, tmp_path: Path) -> None:
    result = run("pyramid", str(stores / "volume.ome.tif"), "volume.zarr", "--chunks",
                 "1,32,32", "--zarr-version", "3", "--no-progress", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "wrote volume.zarr" in result.stdout and "3x64x80" in result.stdout
    image = MultiscaleImage.open(tmp_path / "volume.zarr")
    assert (image.version, image.axes, image.scale(0)) == ("0.5", ("z", "y", "x"),
                                                           (2.0, 0.5, 0.5))
    assert image.chunks[0] == (1, 32, 32)
    with tifffile.TiffFile(stores / "volume.ome.tif") as tif:
        np.testing.assert_array_equal(image.level(0)[...], tif.asarray())


def test_pyramid_from_a_zarr_array(stores: Path, tmp_path: Path) -> None:
    result = run("pyramid", str(stores / "plane.zarr"), "plane_pyramid.zarr", "--chunks",
                 "16,16", "--method", "max", "--max-levels", "3", "--scale", "0.25",
                 "--unit", "nanometer", "--compression", "none", "--progress", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "blocks" in result.stderr and "blocks" not in result.stdout  # the bar
    image = MultiscaleImage.open(tmp_path / "plane_pyramid.zarr")
    assert image.axes == ("y", "x")  # by the number of dimensions
    assert image.shapes == [(48, 96), (24, 48), (12, 24)]
    assert image.scale(0) == (0.25, 0.25) and image.metadata.units == ("nanometer",) * 2
    np.testing.assert_array_equal(image.level(0)[...], PLANE)
    np.testing.assert_array_equal(image.level(1)[...],
                                  PLANE.reshape(24, 2, 48, 2).max(axis=(1, 3)))
    assert image.level(0).compressors == ()


def test_convert_04_to_05_with_shards(stores: Path, tmp_path: Path) -> None:
    result = run("convert", str(stores / "cells.zarr"), "copy.zarr", "--shard-chunks", "2",
                 "--chunks", "y=16,x=16", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "OME-Zarr 0.5" in result.stdout and "labels: nuclei" in result.stdout
    copy = MultiscaleImage.open(tmp_path / "copy.zarr")
    assert copy.version == "0.5"
    assert (copy.level(0).chunks, copy.level(0).shards) == ((1, 16, 16), (1, 32, 32))
    assert [c.label for c in copy.channels] == ["DAPI", "GFP"]
    assert copy.labels == ("nuclei",)
    np.testing.assert_array_equal(copy.level(0)[...], CELLS)
    ome.validate(tmp_path / "copy.zarr")


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["pyramid", "missing.zarr", "new.zarr"], 2, "source='missing.zarr' does not exist"),
        (["pyramid", "plane.zarr", "new.zarr", "--chunks", "a,b"], 2, "argument --chunks:"),
        (["convert", "cells.zarr", "cells.zarr", "--overwrite"], 2,
         "is where the source is read from"),
        (["pyramid", "notes.txt", "new.zarr"], 1, "is a file but not a TIFF"),
    ],
    ids=["wrong-path", "bad-chunks", "dest-is-source", "not-an-image"],
)
def test_errors_are_one_line_without_traceback(stores: Path, args: list[str], status: int,
                                                message: str) -> None:
    before = sorted((p.relative_to(stores), p.stat().st_mtime_ns) for p in stores.rglob("*"))
    result = run(*args, cwd=stores)
    assert result.returncode == status, result.stderr
    assert message in one_line_error(result)
    assert result.stdout == ""
    after = sorted((p.relative_to(stores), p.stat().st_mtime_ns) for p in stores.rglob("*"))
    assert after == before, "a refused command changed the files"


def test_an_existing_destination_names_the_option(
    stores: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In this process (the command's code is the same, without a second start-up)."""
    monkeypatch.chdir(stores)
    assert cli.main(["convert", "cells.zarr", "cells5.zarr"]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "data-helpers: error: dest='cells5.zarr' already exists; pass --overwrite to "
        "replace it (only a Zarr store can be replaced), or choose another path\n"
    )
    assert captured.out == ""


def test_unexpected_errors_keep_their_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(args: object, out: object) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "_info", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["info", "anything.zarr"])


def test_traceback_option_shows_a_documented_errors_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["--traceback", "pyramid", "missing.zarr", "new.zarr"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "FileNotFoundError" in err
    assert err.splitlines()[-1] == "data-helpers: error: source='missing.zarr' does not exist"


@pytest.mark.parametrize(
    ("option", "text", "value"),
    [
        ("--chunks", "64", 64),
        ("--chunks", "1, 64,64", (1, 64, 64)),
        ("--chunks", "z=1,y=64", {"z": 1, "y": 64}),
        ("--scale", "2,0.5,0.5", (2.0, 0.5, 0.5)),
        ("--scale", "x=0.5", {"x": 0.5}),
        ("--compression", "none", None),
    ],
)
def test_option_values(option: str, text: str, value: object) -> None:
    args = cli.build_parser().parse_args(["pyramid", "a", "b", option, text])
    assert getattr(args, option[2:].replace("-", "_")) == value


@pytest.mark.parametrize(
    ("option", "text", "value"),
    [("--max-bytes-per-chunk", "64MiB", 64 * 2**20), ("--max-bytes-per-chunk", "1.5 GB",
                                                       1_500_000_000),
     ("--max-bytes-per-chunk", "4096", 4096), ("--tile", "640x360", (640, 360))],
)
def test_stream_option_values(option: str, text: str, value: object) -> None:
    args = cli.build_parser().parse_args(["stream", "a", option, text])
    assert getattr(args, option[2:].replace("-", "_")) == value


@pytest.mark.parametrize(
    "args",
    [["pyramid", "a", "b", "--chunks", "1,,2"], ["pyramid", "a", "b", "--scale", "=2"],
     ["pyramid", "a", "b", "--compression", "zstd"], ["stream", "a", "--tile", "640"],
     ["stream", "a", "--max-bytes-per-chunk", "16 parsecs"], ["stream", "a", "--shape", "wide"],
     ["pyramid", "a", "b", "--method", "median"], ["validate"], ["frobnicate"], []],
)
def test_bad_arguments_exit_2_with_one_line(args: list[str],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """argparse's errors, in this process (test_errors_are_one_line_without_traceback
    runs one as a command)."""
    assert cli.main(args) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("data-helpers: error: "), captured.err
    commands = ("info", "validate", "pyramid", "convert", "stream")
    prog = f"data-helpers {args[0]}" if args and args[0] in commands else "data-helpers"
    assert lines[0].endswith(f"(see '{prog} --help')")
    assert captured.out == ""
