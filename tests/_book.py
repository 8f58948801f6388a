"""What the book tests share: the repository root, the chapters listed in _toc.yml, and the
executed builds of the book (the one that test_book.py, test_chapters.py and test_notebooks.py
check, and the student edition)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from _ext.editions import book_config, build_command, build_environment, write_config

ROOT = Path(__file__).resolve().parent.parent

#: The whole build, every chapter executed, must finish within this many seconds.
BUILD_TIMEOUT = 45 * 60


def toc_files() -> list[Path]:
    """Every page of the table of contents, root first, as paths to .md files."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]):
        walk(part["chapters"])
    return [ROOT / f"{name}.md" for name in files]


def notebook_files() -> list[Path]:
    """The pages of the table of contents that are notebooks (a jupytext header with a kernel).

    Plain pages, such as the references, have no code to run.
    """
    def front_matter(path: Path) -> str:
        return path.read_text().split("\n---", 1)[0]

    return [path for path in toc_files() if "\nkernelspec:" in front_matter(path)]


#: Notebook pages of the back matter that show a tool at work instead of teaching a lesson
#: (book/cli.md, the command line; book/other_tools.md, other readers on our images;
#: book/benchmarks.md, the recorded benchmark runs). They have what every chapter has —
#: learning objectives, prerequisites, a time to learn, figures, key points, what's next —
#: except exercises: so no exercise minutes in their time to learn, no check cells and no
#: solutions.
APPENDICES = frozenset({"benchmarks", "cli", "other_tools"})


def git_status() -> str | None:
    """``git status`` of the repository, ignored files included; None outside a git checkout.

    ``__pycache__`` folders are left out: importing the package writes them, and they are
    Python's, not the build's.
    """
    try:
        result = subprocess.run(
            ["git", "status", "--porcelain", "--ignored", "--untracked-files=all"],
            capture_output=True, text=True, cwd=ROOT, check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    lines = [
        line for line in result.stdout.splitlines()
        if "__pycache__/" not in line and not line.startswith("!! .venv/")
    ]
    return "\n".join(lines)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Sphinx's warnings and errors ("book/x.md:12: WARNING: ...", with -W too), and myst-nb's
# line naming the notebook whose execution failed.
_PROBLEM = re.compile(r"(^|: )(WARNING|ERROR|CRITICAL): |ExecutionError: ")
# The kernel's start-up notice (ipykernel 7 over local TCP) is not a problem of the book.
_NOISE = re.compile(r"^\[IPKernelApp\] WARNING \| Kernel is running over TCP")
# nbclient's account of a failing cell: its source, then the cell's own traceback.
_FAILED_CELL = re.compile(
    r"^\S*CellExecutionError: (An error occurred while executing the following cell:.*?)"
    r"(?=^The above exception was the direct cause|\Z)",
    re.M | re.S,
)


@dataclass(frozen=True)
class BookBuild:
    """The result of one ``jupyter-book build`` into a temporary folder."""

    returncode: int
    output: Path
    log: Path = field(repr=False)
    git_status_before: str | None = field(repr=False)
    git_status_after: str | None = field(repr=False)
    config: Path | None = field(default=None, repr=False)  # the _config.yml it was built with

    @property
    def html(self) -> Path:
        return self.output / "_build" / "html"

    def executed_notebook(self, page: Path) -> Path:
        """The notebook that the build executed for `page`, outputs and all (myst-nb writes it)."""
        relative = page.relative_to(ROOT).with_suffix(".ipynb")
        return self.output / "_build" / "jupyter_execute" / relative

    def report(self, tail: int = 20) -> str:
        """What went wrong, readably: the failing cell, the warnings and errors, the log's end."""
        text = _ANSI.sub("", self.log.read_text(errors="replace"))
        lines = [line for line in text.splitlines() if not _NOISE.search(line)]
        problems = list(dict.fromkeys(line for line in lines if _PROBLEM.search(line)))
        report = [f"jupyter-book build exited with status {self.returncode}; full log: {self.log}"]
        for cell in _FAILED_CELL.findall(text):
            report += ["", cell.strip()]
        report += ["", f"warnings and errors ({len(problems)}):", *problems]
        report += ["", f"last {tail} lines of the log:", *lines[-tail:]]
        return "\n".join(report)


def build_book(output: Path, *, student: bool = False, cache: Path | None = None) -> BookBuild:
    """Build the book as `make book` does: every chapter executed, warnings are errors.

    The configuration is the repository's own ``_config.yml`` (which executes every notebook
    and stops on the first cell that raises), written to `output` by ``_ext.editions`` (the
    code behind ``make student``) with, if asked, the solutions hidden (`student`) and the
    execution going through myst-nb's cache in the folder `cache`. On an empty cache that
    executes every chapter just as ``make book`` does; a second build with the same cache
    (the student edition) reuses those outputs rather than executing every chapter again.
    Everything the build writes goes to `output`, nothing into the repository.
    """
    output.mkdir(parents=True, exist_ok=True)
    config = write_config(book_config(student=student, cache=cache), output / "_config.yml")
    log = output / "build.log"
    before = git_status()
    with log.open("w") as stream:
        try:
            returncode = subprocess.run(
                build_command(output, config),
                stdout=stream, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=output, timeout=BUILD_TIMEOUT, env=build_environment(),
            ).returncode
        except subprocess.TimeoutExpired:
            stream.write(f"\nERROR: the build did not finish within {BUILD_TIMEOUT} s\n")
            returncode = -1
    return BookBuild(returncode, output, log, before, git_status(), config)
