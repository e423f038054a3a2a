# Two commands get a newcomer going on a fresh clone: `make train` and `make test`.
# `make train` creates the virtual environment in .venv with what training needs (bprop, numpy,
# and tqdm for progress bars); `make test` adds the test and dev extras (see pyproject.toml).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# extra pip requirements, e.g. EXTRA_PIP="torch==2.13.0" for the torch parity tests (as CI does)
EXTRA_PIP ?=

.PHONY: train test test-slow test-all lint bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-train: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[progress]"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[progress,test,dev]" $(EXTRA_PIP)
	touch $@

train: $(VENV)/.installed-train
	$(BIN)/bprop train

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

test-slow: $(VENV)/.installed-test
	$(BIN)/python -m pytest -m slow

test-all: $(VENV)/.installed-test
	$(BIN)/python -m pytest -m ""

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/mlp.py
