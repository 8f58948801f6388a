"""The book's editions, for ``make notebooks`` and ``make student`` and for the tests.

    python -m _ext.editions book       # the book (make book) -> _build/html
    python -m _ext.editions notebooks  # _build/jupyter_execute -> _build/notebooks/*/
    python -m _ext.editions student    # the book, solutions hidden -> _build/student/html

The student edition is the book built with sphinx-exercise's ``hide_solutions`` turned on,
from a configuration written next to its output: _config.yml with that one setting added
(notebooks.py, the extension, does the hiding). The tests build both editions with the same
functions, so what they check is what these commands make.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import yaml

from .glued import paste_glued, saved_glue
from .student import student_notebook

ROOT = Path(__file__).resolve().parent.parent


def book_config(*, student: bool = False, cache: Path | None = None) -> dict[str, Any]:
    """The book's _config.yml as a dict, made fit to be written anywhere.

    Parameters
    ----------
    student
        Hide the solutions (sphinx-exercise's ``hide_solutions``), for the student edition.
    cache
        Execute through myst-nb's cache in this folder instead of forcing execution. On an
        empty cache this executes every chapter just as ``force`` does; a second build with
        the same cache reuses those outputs instead of executing the chapters again.
    """
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    # Jupyter Book resolves these paths from the configuration file's folder.
    sphinx = config.setdefault("sphinx", {})
    sphinx["local_extensions"] = {
        name: str((ROOT / path).resolve())
        for name, path in sphinx.get("local_extensions", {}).items()
    }
    if student:
        sphinx.setdefault("config", {})["hide_solutions"] = True
    if cache is not None:
        config["execute"].update(execute_notebooks="cache", cache=str(cache))
    return config


def write_config(config: dict[str, Any], path: Path) -> Path:
    """Write `config` as YAML to `path` (a new folder is made if needed) and return `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


#: Added to the environment of every build, so to the kernels that execute the chapters.
#: dask.distributed logs at INFO level to stderr, and a cluster that shuts down while a
#: message is in flight sometimes logs a harmless "Batched Comm Closed" traceback at INFO.
#: The strict build fails on any stderr in a cell, so distributed shows its warnings and
#: errors only (those still fail the build).
BUILD_ENVIRONMENT = {"DASK_LOGGING__DISTRIBUTED": "warning"}


def build_environment() -> dict[str, str]:
    """The environment a build runs in: this process's, plus `BUILD_ENVIRONMENT`."""
    return {**os.environ, **BUILD_ENVIRONMENT}


def build_command(output: Path, config: Path | None = None) -> list[str]:
    """The strict ``jupyter-book build`` of `make book`, into ``output/_build``."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [str(jupyter_book), "build", str(ROOT), "--all", "-W", "-n", "--keep-going",
               "--path-output", str(output)]
    if config is not None:
        command += ["--config", str(config)]
    return command


def export_notebooks(executed: Path, dest: Path) -> list[Path]:
    """Write every notebook under `executed` (myst-nb's jupyter_execute folder) to
    ``dest/executed/NAME.ipynb``, and its student notebook to ``dest/student/NAME.ipynb``,
    both with the glued values written into their text (glued.py).

    Returns the paths written, executed notebooks first.
    """
    sources = sorted(executed.rglob("*.ipynb"))
    if not sources:
        raise FileNotFoundError(f"no executed notebooks in {executed}: build the book first")
    names = [path.stem for path in sources]
    if len(set(names)) < len(names):
        raise ValueError(f"two chapters share a name, their notebooks would collide: {names}")
    written: dict[str, list[Path]] = {"executed": [], "student": []}
    for path in sources:
        # Jupyter shows a glue role as typed: write in the values the page shows.
        notebook = paste_glued(nbformat.read(path, as_version=4), saved_glue(path))
        for kind, content in (("executed", notebook), ("student", student_notebook(notebook))):
            target = dest / kind / f"{path.stem}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(content, target)
            written[kind].append(target)
    return written["executed"] + written["student"]


def build_student(output: Path) -> Path:
    """Build the student edition (every chapter executed) and move its HTML to output/html."""
    config = write_config(book_config(student=True), output / "_config.yml")
    subprocess.run(build_command(output, config), cwd=output, check=True,
                   env=build_environment())
    html = output / "html"
    shutil.rmtree(html, ignore_errors=True)
    (output / "_build" / "html").rename(html)
    return html


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m _ext.editions", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    notebooks = commands.add_parser("notebooks", help="executed and student notebooks")
    notebooks.add_argument("--build", type=Path, default=ROOT / "_build",
                           help="the book's build folder (default: %(default)s)")
    commands.add_parser("book", help="the book, every chapter executed, into _build/html")
    student = commands.add_parser("student", help="the student edition of the site")
    student.add_argument("--output", type=Path, default=ROOT / "_build" / "student",
                         help="where it goes (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.command == "book":
        returncode = subprocess.run(build_command(ROOT), cwd=ROOT,
                                    env=build_environment()).returncode
        if returncode:
            sys.exit(returncode)
        print(f"The book is at file://{ROOT / '_build' / 'html'}/index.html")
    elif args.command == "notebooks":
        try:
            written = export_notebooks(args.build / "jupyter_execute", args.build / "notebooks")
        except FileNotFoundError as error:
            sys.exit(str(error))
        print(f"{len(written)} notebooks in {args.build / 'notebooks'}/{{executed,student}}")
    else:
        try:
            html = build_student(args.output)
        except subprocess.CalledProcessError as error:
            sys.exit(f"the student edition did not build (exit status {error.returncode})")
        print(f"The student edition is at file://{html}/index.html")


if __name__ == "__main__":
    main()
