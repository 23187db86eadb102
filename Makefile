# otelcat — build, test, demo, benchmarks.
#   make        build the release extension at dist/otelcat.so
#   make test   every test: Rust units, SQL assertions (sqlite3 CLI), Python, Node
#   make demo   build a demo catalog (demo.db) and print its report
SHELL := /bin/bash
.DEFAULT_GOAL := all

CARGO   ?= cargo
SQLITE  ?= sqlite3
# Debian's interpreter: its sqlite3 module can load extensions (pyenv's cannot).
SYSPY   ?= /usr/bin/python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
NODE    ?= node
NPM     ?= npm
EXT     := dist/otelcat.so
SOURCES := $(shell find src vendor -name '*.rs') Cargo.toml Cargo.lock build.rs $(wildcard sql/*.sql)

.PHONY: all test test-rust test-sql test-python test-node bench bench-drain bench-queries bench-ingest clean venv receiver demo explore cookbook

all: $(EXT)

$(EXT): $(SOURCES)
	$(CARGO) build --release --locked
	@mkdir -p dist
	@# Replace, never overwrite in place: a process that has the library
	@# loaded (a running receiver, a test) would crash.
	cp target/release/libotelcat.so $(EXT).tmp && mv -f $(EXT).tmp $(EXT)

# A virtualenv on the system interpreter, for the Python packages the tests
# use (DataSketches for interop, OpenTelemetry SDK, ...).
$(VENV)/.ok: tests/requirements.txt examples/datasette/requirements.txt
	$(SYSPY) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	@touch $@
venv: $(VENV)/.ok

tests/node/node_modules/.ok: tests/node/package.json tests/node/package-lock.json
	cd tests/node && $(NPM) ci --no-audit --no-fund --loglevel=error
	@touch $@

test: test-rust test-sql test-python test-node
	@echo "all tests passed"

test-rust:
	$(CARGO) test --release --locked --lib --quiet

test-sql: $(EXT)
	tests/run_sql_tests.sh $(SQLITE) tests/sql/*.sql

test-python: $(EXT) $(VENV)/.ok tests/node/node_modules/.ok
	$(PY) -m unittest discover -s tests -p 'test_*.py' -v 2>&1 | tail -n 40; exit $${PIPESTATUS[0]}

test-node: $(EXT) tests/node/node_modules/.ok
	cd tests/node && SYSPY=$(SYSPY) $(NODE) --test test.mjs clients.test.mjs

bench: $(EXT)
	$(SYSPY) bench/bench_functions.py

clean:
	rm -rf target dist $(VENV) tests/node/node_modules

bench-drain: $(EXT)
	$(SYSPY) bench/bench_drain.py

bench-queries: $(EXT)
	$(SYSPY) bench/bench_queries.py

# OTLP/HTTP receiver in the foreground: make receiver DB=catalog.db [PORT=4318]
receiver: $(EXT)
	@if [ -z "$(DB)" ]; then echo "usage: make receiver DB=path/to/catalog.db [PORT=4318]" >&2; exit 2; fi
	exec $(SYSPY) examples/receiver/receiver.py --db "$(DB)" $(if $(PORT),--port $(PORT))

# Datasette on a catalog (extension, metadata, canned queries, charts): make explore [DB=demo.db] [PORT=8001]
explore: $(EXT) $(VENV)/.ok
	exec $(SYSPY) examples/datasette/explore.py "$(or $(DB),demo.db)" --venv $(VENV) $(if $(PORT),--port $(PORT))

# A demo catalog (demo.db) from generated telemetry of a dozen services, and its report.
GEN := target/release/examples/otlp_gen
$(GEN): $(wildcard tools/otlp_gen/*.rs) Cargo.toml Cargo.lock
	$(CARGO) build --release --locked --example otlp_gen

demo: $(EXT) $(GEN)
	$(SYSPY) tools/demo.py --db demo.db

BASELINE := target/release/examples/ingest_baseline
$(BASELINE): tools/ingest_baseline.rs $(SOURCES)
	$(CARGO) build --release --locked --example ingest_baseline

bench-ingest: $(EXT) $(GEN) $(BASELINE)
	$(SYSPY) bench/bench_ingest.py

# docs/cookbook.md from demo.db (run make demo first)
cookbook: $(EXT)
	@test -f demo.db || { echo "run make demo first" >&2; exit 2; }
	$(SYSPY) tools/cookbook.py demo.db
