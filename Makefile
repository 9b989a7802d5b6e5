# kyoso: two commands for a new user (see README.md).
#   make demo   create .venv, install, run the baseline, write tables and figures to out/demo/
#   make test   create/update .venv with the test extras and run the whole suite
#   make docs   regenerate the generated parts of docs/ (ODD §7.21 metrics, §8.1 parameters; ARCHITECTURE phase table)
.DEFAULT_GOAL := help
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# First interpreter found with Python >= 3.12 (.python-version selects 3.12 under pyenv).
PYTHON := $(shell for p in python3.12 python3.13 python3 python; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	command -v $$p; break; fi; done)
PYTEST_ARGS ?=

.PHONY: help demo test test-fast bench docs clean check-python lab

help:
	@echo "make demo   - install into .venv and run the baseline scenario (tables and figures in out/demo/)"
	@echo "make test   - install test extras into .venv and run the whole test suite"
	@echo "make test-fast - the suite without tests marked slow"
	@echo "make bench  - run the speed benchmarks (benchmarks/)"
	@echo "make lab    - install JupyterLab (the jupyter extra) into .venv and open notebooks/"
	@echo "make docs   - regenerate the generated tables in docs/ (metrics, parameters, phases) from the code"

check-python:
	@if [ -z "$(PYTHON)" ]; then echo "error: kyoso needs Python >= 3.12 (Mesa 3.5 requires it); install Python 3.12 or newer (e.g. 'pyenv install 3.12') and run make again" >&2; exit 1; fi

$(BIN)/python: | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed

demo: check-python $(VENV)/.installed
	$(BIN)/kyoso run baseline --seed 0 --out out/demo --force
	@echo "kyoso is installed in $(BIN)/: run '$(BIN)/kyoso --help', or 'source $(BIN)/activate' to have 'kyoso' on your PATH"

test: check-python $(VENV)/.installed-test
	$(BIN)/python -m pytest -n 2 --dist worksteal $(PYTEST_ARGS)

test-fast: check-python $(VENV)/.installed-test
	$(BIN)/python -m pytest -n 2 --dist worksteal -m "not slow" $(PYTEST_ARGS)

bench: check-python $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench_model.py

lab: check-python | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[jupyter]'
	cd notebooks && ../$(BIN)/jupyter lab

docs: check-python $(VENV)/.installed
	$(BIN)/python -m model.docsections

clean:
	rm -rf out/demo .pytest_cache .hypothesis
