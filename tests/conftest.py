"""Fixtures shared by the test modules."""

import pytest

from ._book import BookBuild, build_book


@pytest.fixture(scope="session")
def book_build(tmp_path_factory: pytest.TempPathFactory) -> BookBuild:
    """The book, built once per session with every chapter executed (as `make book` does).

    test_book.py checks that this build is clean; test_chapters.py and test_notebooks.py
    read the notebooks it executed, so each chapter runs once per test session. It executes
    through a cache that starts empty (see build_book), which the student edition reuses.
    """
    output = tmp_path_factory.mktemp("book")
    return build_book(output, cache=output / "jupyter_cache")


@pytest.fixture(scope="session")
def student_build(tmp_path_factory: pytest.TempPathFactory, book_build: BookBuild) -> BookBuild:
    """The student edition (solutions hidden), from the outputs `book_build` executed."""
    return build_book(
        tmp_path_factory.mktemp("student"), student=True, cache=book_build.output / "jupyter_cache"
    )
