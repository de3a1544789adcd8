# The two commands the README promises: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CONFIG ?= var/caja.toml
CHAOS_SECONDS ?= 180
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench bench-quick i18n chaos screenshots wheels-check clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[server,test]'
	touch $(STAMP)

## Start the till on a local SQLite file with the demo catalog (works offline).
run: $(STAMP)
	$(BIN)/caja --config $(CONFIG) init --demo
	$(BIN)/caja --config $(CONFIG)

## Install what the tests need and run the whole suite.
test: $(STAMP)
	bash .ci/ensure
	$(MAKE) --no-print-directory lint
	$(BIN)/python -m pytest -n 2 -q

## Style, format, the layers' contracts and the pure layers' types.
lint: $(STAMP)
	$(BIN)/ruff check caja_tui tests tools
	$(BIN)/ruff format --check caja_tui tests tools
	$(BIN)/lint-imports
	$(BIN)/mypy

## Full benchmark (1,000,000-event figures); `make bench-quick` is the short one. strace counts the fsyncs
## (without it the JSON says they were not counted).
bench: $(STAMP)
	-bash .ci/ensure-strace
	$(BIN)/caja bench --json

bench-quick: $(STAMP)
	-bash .ci/ensure-strace
	$(BIN)/caja bench --json --quick

## Extract the screens' strings and rewrite the catalogs (tools/es.py holds the Spanish).
i18n: $(STAMP)
	$(BIN)/python tools/i18n.py

clean:
	rm -rf $(VENV) var build *.egg-info

## The soak tests (pytest -m soak), then several tills and a server as processes, faults, restarts and
## SIGKILLs for minutes; then the tally.
chaos: $(STAMP)
	$(BIN)/python -m pytest -q -m soak
	$(BIN)/python -m tests.chaos --tills 3 --seconds $(CHAOS_SECONDS)

## The README's screenshots (docs/screenshots/*.svg), from the demo catalog at 80x24.
screenshots: $(STAMP)
	$(BIN)/python tools/screenshots.py

## Prove every dependency installs from wheels (no compiler) on Linux x86_64 and aarch64 (the Raspberry Pi).
wheels-check: $(STAMP)
	mkdir -p build
	$(BIN)/python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
	  e = p['optional-dependencies']; print('\n'.join(p['dependencies'] + e['server'] + e['printer']))" \
	  > build/requirements-all.txt
	for arch in x86_64 aarch64; do \
	  rm -rf build/wheels-$$arch && \
	  $(BIN)/pip download --quiet --only-binary=:all: --python-version 3.11 --implementation cp \
	    --platform manylinux2014_$$arch --platform manylinux_2_28_$$arch -d build/wheels-$$arch \
	    -r build/requirements-all.txt && echo "$$arch: every dependency has a wheel" || exit 1; \
	done
