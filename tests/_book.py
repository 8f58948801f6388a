"""What the book tests share: the repository root and the chapters listed in _toc.yml."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


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
