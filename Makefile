# Two commands: `make book` builds the executed book, `make test` runs the test suite
# (which executes every chapter). Both create .venv on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test lint clean notebooks student serve bench bench-pyramid bench-writer

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

# The speed and memory benchmarks (benchmarks/README.md), each in its own environment:
# the locked requirements, the package, and the peers it is measured against. They write
# benchmarks/results/*.json, which the book's benchmarks appendix shows. About 5 minutes (10
# the first time, with the environments and input volumes to make) on 2 cores; run it on
# a quiet machine. PYRAMID_ARGS and WRITER_ARGS pass options to each script.
BENCH_PYRAMID := benchmarks/.venv-pyramid
BENCH_WRITER  := benchmarks/.venv
PYRAMID_ARGS  ?= --repeat 3
WRITER_ARGS   ?= --repeats 3

$(BENCH_PYRAMID)/.installed: requirements.txt pyproject.toml benchmarks/requirements-pyramid.txt
	test -x $(BENCH_PYRAMID)/bin/python || $(PYTHON) -m venv $(BENCH_PYRAMID)
	$(BENCH_PYRAMID)/bin/python -m pip install --quiet --require-hashes -r requirements.txt
	$(BENCH_PYRAMID)/bin/python -m pip install --quiet -e .
	$(BENCH_PYRAMID)/bin/python -m pip install --quiet -r benchmarks/requirements-pyramid.txt
	touch $@

$(BENCH_WRITER)/.installed: requirements.txt pyproject.toml benchmarks/requirements.txt
	test -x $(BENCH_WRITER)/bin/python || $(PYTHON) -m venv $(BENCH_WRITER)
	$(BENCH_WRITER)/bin/python -m pip install --quiet --require-hashes -r requirements.txt
	$(BENCH_WRITER)/bin/python -m pip install --quiet -e .
	$(BENCH_WRITER)/bin/python -m pip install --quiet -r benchmarks/requirements.txt
	touch $@

bench: bench-pyramid bench-writer

bench-pyramid: $(BENCH_PYRAMID)/.installed
	BENCH_COMMAND='make bench-pyramid PYRAMID_ARGS="$(PYRAMID_ARGS)"' \
	    $(BENCH_PYRAMID)/bin/python benchmarks/bench_pyramid.py $(PYRAMID_ARGS)

bench-writer: $(BENCH_WRITER)/.installed
	BENCH_COMMAND='make bench-writer WRITER_ARGS="$(WRITER_ARGS)"' \
	    $(BENCH_WRITER)/bin/python benchmarks/bench_writer.py $(WRITER_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check data_helpers tests benchmarks _ext

clean:
	rm -rf _build .pytest_cache .hypothesis .ruff_cache .mypy_cache *.egg-info
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
