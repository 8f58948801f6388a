# Two commands: `make book` builds the executed book, `make test` runs the test suite
# (which executes every chapter). Both create .venv on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test lint clean notebooks student serve

# Re-install only when the lock or the package metadata change. requirements.txt locks
# every package with its hashes (pip checks them all); it is generated from requirements.in
# (see there). The package is then installed as usual, in its own isolated build, and its
# dependencies are already there at the locked versions.
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.txt
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

# jupyter-book build . --all -W -n --keep-going, in the environment of _ext/editions.py
book: $(STAMP)
	$(BIN)/python -m _ext.editions book

# pip check first: a broken or conflicting set of installed packages fails before any test.
test: $(STAMP)
	$(BIN)/python -m pip check
	$(BIN)/python -m pytest

# Every chapter as an executed notebook and as a student notebook (solutions taken out),
# from a fresh executed build: _build/notebooks/executed/ and _build/notebooks/student/.
notebooks: book
	$(BIN)/python -m _ext.editions notebooks

# The site with the solutions hidden (page text, code cells and search index), every
# chapter executed, into _build/student/html.
student: $(STAMP)
	$(BIN)/python -m _ext.editions student

# The built site on http://127.0.0.1:$(PORT)/, on this computer only (not on the network).
PORT ?= 8000
serve:
	@test -f _build/html/index.html || { echo "No _build/html yet: run make book first" >&2; exit 1; }
	$(PYTHON) -m http.server --bind 127.0.0.1 --directory _build/html $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check data_helpers tests benchmarks _ext

clean:
	rm -rf _build .pytest_cache .hypothesis .ruff_cache .mypy_cache *.egg-info
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
