# Two commands get a newcomer going on a fresh clone: `make train` and `make test`.
# Each creates the virtual environment in .venv and installs bprop into it first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# extra pip requirements, e.g. EXTRA_PIP="torch==2.13.0" for the torch parity tests (as CI does)
EXTRA_PIP ?=

.PHONY: train test test-slow test-all lint bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test,dev]" $(EXTRA_PIP)
	touch $@

train: $(VENV)/.installed
	$(BIN)/bprop train

test: $(VENV)/.installed
	$(BIN)/python -m pytest

test-slow: $(VENV)/.installed
	$(BIN)/python -m pytest -m slow

test-all: $(VENV)/.installed
	$(BIN)/python -m pytest -m ""

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/mlp.py
