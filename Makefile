# Two commands for a fresh machine with Python 3.11 and a C compiler:
#   make run   - set up, then run the main job (today: the CPU hashing benchmark)
#   make test  - set up, then run the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Re-install (and so re-compile the C parts) whenever metadata or kernel sources change.
INSTALL_INPUTS := pyproject.toml setup.py $(wildcard kernels/src/*)

.PHONY: run test bench bench-optimiser lint clean

$(STAMP): $(INSTALL_INPUTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24,<27"
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

run: $(STAMP)
	$(VENV)/bin/spillway hash bench --backend cpu --seconds 10

test: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) bench/bench_kernels.py

bench-optimiser: $(STAMP)
	$(PY) bench/bench_optimiser.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy kernels optimiser service

clean:
	rm -rf $(VENV) build *.egg-info kernels/*.so
