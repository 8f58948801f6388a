"""Fixtures shared by the test modules."""

import pytest

from ._book import BookBuild, build_book


@pytest.fixture(scope="session")
def book_build(tmp_path_factory: pytest.TempPathFactory) -> BookBuild:
    """The book, built once per session with every chapter executed (as `make book` does).

    test_book.py checks that this build is clean; test_chapters.py reads the notebooks it
    executed, so each chapter runs once per test session.
    """
    return build_book(tmp_path_factory.mktemp("book"))
