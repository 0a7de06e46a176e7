# Two commands for a fresh machine with Python 3.11 and a C compiler:
#   make run   - set up, then run the main job on the embedded demo (spillway serve --demo)
#   make test  - set up, then run the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Re-install (and so re-compile the C parts) whenever metadata or kernel sources change.
INSTALL_INPUTS := pyproject.toml setup.py $(wildcard kernels/src/*)
# buf from the npm registry, pinned; `buf lint` needs no network once fetched.
BUF := npx --yes @bufbuild/buf@1.75.0
JS_DIR := tests/service/grpc/js
JS_STAMP := $(JS_DIR)/node_modules/.installed-stamp

.PHONY: run test bench bench-optimiser lint proto proto-lint prometheus clean

$(STAMP): $(INSTALL_INPUTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24,<27"
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

run: $(STAMP)
	$(VENV)/bin/spillway serve --demo

test: $(STAMP) prometheus $(JS_STAMP)
	$(PY) -m pytest

# The independent grpc-js client of the contract tests (pinned in its package-lock.json).
$(JS_STAMP): $(JS_DIR)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --prefix $(JS_DIR) --no-audit --no-fund --silent && touch $@ || \
	  echo "make: npm ci failed; the grpc-js test will skip"; \
	else echo "make: no npm; the grpc-js test will skip"; fi

# The Prometheus scrape test needs Debian's prometheus; install it where missing and
# possible (root with apt-get); elsewhere that one test skips, saying why.
prometheus:
	@command -v prometheus >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && \
	      apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1; } || \
	    echo "make: could not install prometheus; its test will skip"; \
	  else echo "make: prometheus missing (not root or no apt-get); its test will skip"; fi; }

bench: $(STAMP)
	$(PY) bench/bench_kernels.py

bench-optimiser: $(STAMP)
	$(PY) bench/bench_optimiser.py

lint: $(STAMP) proto-lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy kernels optimiser service

# Regenerate proto/spillway/v1/*_pb2*.py(i) with the pinned grpcio-tools.
proto: $(STAMP)
	$(PY) proto/generate.py

proto-lint:
	cd proto && $(BUF) lint

clean:
	rm -rf $(VENV) build *.egg-info kernels/*.so $(JS_DIR)/node_modules
