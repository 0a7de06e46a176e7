# Two commands for a fresh machine with Python 3.11 and a C compiler:
#   make run   - set up, then run the main job on the embedded demo (spillway serve --demo)
#   make test  - set up, then run the whole test suite
# Both install exactly what requirements/dev.txt pins (hashes checked), so a fresh
# machine gets what CI tested; `make lock` refreshes the pins, `make test-latest`
# tries the newest releases pyproject.toml's ranges allow.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Re-install (and so re-compile the C parts) whenever metadata, pins or kernel sources change.
INSTALL_INPUTS := pyproject.toml setup.py requirements/build.txt requirements/dev.txt \
	$(wildcard kernels/src/*)
PIP := $(PY) -m pip --disable-pip-version-check install --quiet
# buf from the npm registry, pinned; `buf lint` needs no network once fetched.
BUF := npx --yes @bufbuild/buf@1.75.0
JS_DIR := tests/service/grpc/js
JS_STAMP := $(JS_DIR)/node_modules/.installed-stamp
# `make test-latest`: a separate environment with the newest allowed releases.
LATEST := .venv-latest
# `make lock`: one universal resolution (every platform, Python 3.11 to 3.13) per file,
# hashes for every wheel; the runtime and CUDA files are constrained to dev.txt's pins.
UV := $(VENV)/bin/uv
UV_COMPILE := $(UV) pip compile --quiet --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command "make lock"

.PHONY: run test test-latest lock bench bench-optimiser lint proto proto-lint prometheus clean

$(STAMP): $(INSTALL_INPUTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "spillway: installing the pinned dependencies into $(VENV) (a few minutes the first time) ..."
	$(PIP) --require-hashes --no-deps -r requirements/build.txt
	$(PIP) --require-hashes --no-deps -r requirements/dev.txt
	@echo "spillway: compiling the C hashing kernel and installing spillway ..."
	$(PIP) --no-deps --no-build-isolation -e .
	$(PY) -m pip --disable-pip-version-check check
	touch $@

run: $(STAMP)
	$(VENV)/bin/spillway serve --demo

test: $(STAMP) prometheus $(JS_STAMP)
	$(PY) -m pytest

# The canary: run it before `make lock`, and whenever a dependency has a new release
# (say, weekly). A failure here is a break a fresh `pip install spillway` would hit:
# fix the code, then re-lock.
test-latest: $(UV) prometheus $(JS_STAMP)
	rm -rf $(LATEST)
	$(UV) venv --quiet --python $(PYTHON) $(LATEST)
	$(UV) pip install --quiet --python $(LATEST)/bin/python --refresh \
	  --resolution highest -e '.[dev]'
	$(UV) pip list --python $(LATEST)/bin/python --format freeze | \
	  grep -i -E '^(highspy|pyomo|grpcio|protobuf|numpy|pandas|scipy)=='
	$(LATEST)/bin/python -m pytest

# uv alone, for `make lock` (which must work while the pins are out of date) and
# `make test-latest`; `make test` installs the pinned one from dev.txt.
$(UV):
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) "uv>=0.9,<1"

# Re-resolve every pin within pyproject.toml's ranges (the newest releases today).
lock: $(UV)
	{ $(PY) -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")'; \
	  echo 'pip>=24,<27'; } | $(UV_COMPILE) -o requirements/build.txt -
	$(UV_COMPILE) -o requirements/dev.txt pyproject.toml requirements/build.txt --extra dev
	$(UV_COMPILE) -o requirements/runtime.txt pyproject.toml -c requirements/dev.txt
	$(UV_COMPILE) -o requirements/cuda12.txt pyproject.toml --extra cuda12 -c requirements/dev.txt
	$(UV_COMPILE) -o requirements/cuda13.txt pyproject.toml --extra cuda13 -c requirements/dev.txt

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

# `buf breaking` against the last released contract: a commit of main's history, so a
# clean clone has it. Move it forward when a contract change is released.
CONTRACT_BASE := 5197328d
proto-lint:
	cd proto && $(BUF) lint
	@if git cat-file -e $(CONTRACT_BASE)^{commit} 2>/dev/null; then \
	  echo "buf breaking --against $(CONTRACT_BASE)"; \
	  cd proto && $(BUF) breaking --against '../.git#ref=$(CONTRACT_BASE),subdir=proto'; \
	else echo "make: $(CONTRACT_BASE) not in this clone (shallow?): buf breaking skipped"; fi

clean:
	rm -rf $(VENV) $(LATEST) build *.egg-info kernels/*.so $(JS_DIR)/node_modules
