# otelcat — build, test, demo, benchmarks.
#   make        build the release extension at dist/otelcat.so
#   make test   every test: lint, Rust units, fuzz crash replays, SQL assertions (sqlite3 CLI), Python, Node
#   make test-fast  Rust units, SQL assertions and the core Python tests (no browser, Node, SDK, packages)
#   make torture  the crash, disk-full and concurrency tests, long (TORTURE_N, TORTURE_S)
#   make demo   build a demo catalog (demo.db) and print its report
#   make dist   the release: wheel, npm package and tarball with checksums in dist/
#   make fuzz   run every fuzz target FUZZ_S seconds (Rust nightly, cargo-fuzz)
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
# The same extension with the panic hooks of the tests (cargo feature
# test-hooks), built in a target directory of its own so that neither build
# invalidates the other. Never shipped.
HOOKS_EXT := dist/test-hooks/otelcat.so
# The telemetry generator (demo, benchmarks, doc examples). Defined before any
# rule names it: make expands prerequisites when it reads the rule.
GEN     := target/release/otlp_gen
SOURCES := $(shell find src vendor -name '*.rs') Cargo.toml Cargo.lock build.rs $(wildcard sql/*.sql sql/upgrade/*.sql)

.PHONY: all lint bench-hll-accuracy bench-serve bench-fleet test-spark spark-java test test-fast test-python-core test-rust test-fuzz-replay test-sql test-python test-node torture fuzz bench bench-drain bench-queries bench-ingest bench-commit bench-commit-rows bench-hostile bench-history clean venv receiver demo explore cookbook \
	wheel npm packages dist version

# The version: Cargo.toml's, the one place it is written (packages stamp it).
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)

all: $(EXT)

$(EXT): $(SOURCES)
	$(CARGO) build --release --locked
	@mkdir -p dist
	@# Replace, never overwrite in place: a process that has the library
	@# loaded (a running receiver, a test) would crash.
	cp target/release/libotelcat.so $(EXT).tmp && mv -f $(EXT).tmp $(EXT)

$(HOOKS_EXT): $(SOURCES)
	CARGO_TARGET_DIR=target/test-hooks $(CARGO) build --release --locked --features test-hooks
	@mkdir -p dist/test-hooks
	cp target/test-hooks/release/libotelcat.so $(HOOKS_EXT).tmp && mv -f $(HOOKS_EXT).tmp $(HOOKS_EXT)

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

test: lint test-rust test-fuzz-replay test-sql test-python test-node
	@echo "all tests passed"

# The quick loop: Rust units, SQL assertions and the Python tests of the
# extension itself (functions, ingest, templates, views, hostile input, docs).
# Leaves out what drives browsers, Node, the SDKs and the packages.
test-fast: test-rust test-sql test-python-core
	@echo "fast tests passed (make test runs them all)"

# Two halves of about the same time (~75 s each on this 2-core VM), one per
# core, so that test-fast stays near two minutes once built.
PY_CORE_A := test_ingest test_crash test_hostile_drain test_etl
PY_CORE_B := test_functions test_drain test_hostile_catalog test_docs test_semconv test_catalog_files test_key_names \
	test_topk test_views test_hostile_files test_totals
test-python-core: $(EXT) $(HOOKS_EXT) $(GEN)
	@mkdir -p build; $(PY) tests/run_tests.py $(PY_CORE_A) > build/python-core-a.log 2>&1 & a=$$!; \
	$(PY) tests/run_tests.py $(PY_CORE_B); b=$$?; \
	wait $$a; ra=$$?; echo "== $(PY_CORE_A)"; tail -n 30 build/python-core-a.log; \
	test $$ra -eq 0 -a $$b -eq 0

# Formatting and lints: part of make test. The fuzz crate (its own workspace)
# too, without libFuzzer, as test-fuzz-replay builds it.
lint:
	$(CARGO) fmt --check -p otelcat -p otlp-gen
	$(CARGO) clippy -p otelcat -p otlp-gen --all-targets --all-features --locked --quiet -- -D warnings
	$(CARGO) fmt --check --manifest-path fuzz/Cargo.toml
	$(CARGO) clippy --manifest-path fuzz/Cargo.toml --all-targets --no-default-features --locked --quiet --target-dir target -- -D warnings

test-rust: $(GEN)
	$(CARGO) test --release --locked --lib --test decoders --quiet
	set -o pipefail; $(GEN) --self-check | tail -n 1

# Every crash input fuzzing found (tests/fuzz-crashes/) and the seed corpora,
# through the fuzz targets' checks, on stable Rust without libFuzzer (debug
# build: overflow checks on).
test-fuzz-replay:
	$(CARGO) test --locked --quiet --manifest-path fuzz/Cargo.toml --no-default-features --target-dir target

# Each fuzz target for FUZZ_S seconds (needs Rust nightly and cargo-fuzz);
# crash inputs go to tests/fuzz-crashes/<target>/ (see README, "Fuzzing").
FUZZ_S ?= 60
fuzz:
	tools/fuzz.sh $(FUZZ_S)

test-sql: $(EXT)
	tests/run_sql_tests.sh $(SQLITE) tests/sql/*.sql

# Quiet unless something fails; lists every skipped test with its reason.
test-python: $(EXT) $(HOOKS_EXT) $(VENV)/.ok tests/node/node_modules/.ok dist $(GEN)
	$(PY) tests/run_tests.py

# The crash, disk-full and concurrency tests of tests/test_crash.py, long:
# TORTURE_N kill -9 iterations per workload and journal mode, TORTURE_S
# seconds of the writers+readers soak per journal mode, TORTURE_SEED (a
# failure prints the seed and keeps the file). `make test` runs them short.
TORTURE_N ?= 500
TORTURE_S ?= 60
torture: $(EXT) $(VENV)/.ok
	TORTURE_N=$(TORTURE_N) TORTURE_S=$(TORTURE_S) $(if $(TORTURE_SEED),TORTURE_SEED=$(TORTURE_SEED)) $(PY) tests/run_tests.py test_crash

test-node: $(EXT) $(VENV)/.ok tests/node/node_modules/.ok
	cd tests/node && SYSPY=$(SYSPY) VENVPY=$(abspath $(PY)) $(NODE) --test test.mjs clients.test.mjs serve.test.mjs

# Apache Spark (examples/spark/): fleet_merge.py against examples/merge.sql and
# etl.py against otlp_ingest, in Spark local mode (tests/spark_test.py). Needs
# Java 17 (apt-get install openjdk-17-jre-headless; .ci/run installs it);
# pyspark goes into a venv of its own, $(SPARK_VENV). The driver JVM compiles
# with C1 only (-XX:TieredStopAtLevel=1): for jobs this short it costs a third
# less CPU.
SPARK_VENV ?= .venv-spark
SPARK_JAVA_OPTS ?= -XX:TieredStopAtLevel=1
$(SPARK_VENV)/.ok: tests/requirements-spark.txt
	$(SYSPY) -m venv $(SPARK_VENV)
	$(SPARK_VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements-spark.txt
	@touch $@

spark-java:
	@command -v java >/dev/null || { echo "Spark needs Java 17: apt-get install -y openjdk-17-jre-headless" >&2; exit 2; }

test-spark: $(EXT) $(SPARK_VENV)/.ok spark-java
	cd tests && PYTHONPATH=$(abspath python) OTELCAT_LOADABLE_PATH=$(abspath dist/otelcat) \
		PYSPARK_SUBMIT_ARGS="--driver-java-options $(SPARK_JAVA_OPTS) pyspark-shell" \
		$(abspath $(SPARK_VENV))/bin/python run_tests.py spark_test

# Fleet merge time, Spark local mode (examples/spark/fleet_merge.py) against
# examples/merge.sql, for 3 and 30 catalogs of the benchmark workload
# (docs/BENCHMARKS.md, "Fleet merge").
bench-fleet: $(EXT) $(GEN) $(SPARK_VENV)/.ok spark-java
	PYTHONPATH=$(abspath python) OTELCAT_LOADABLE_PATH=$(abspath dist/otelcat) OTLP_GEN=$(abspath $(GEN)) \
		$(SPARK_VENV)/bin/python bench/bench_fleet.py

version:
	@echo $(VERSION)

# Python wheel (platform-tagged, carries dist/otelcat.so): dist/otelcat-$(VERSION)-py3-none-manylinux_*.whl
wheel: $(EXT)
	@rm -f dist/otelcat-*.whl
	$(SYSPY) python/_otelcat_build.py --out dist

# npm package (carries dist/otelcat.so as lib/otelcat.so): dist/otelcat-$(VERSION).tgz
npm: $(EXT)
	@rm -rf build/npm dist/otelcat-*.tgz && mkdir -p build/npm/lib
	cp npm/package.json npm/index.js npm/index.mjs npm/index.d.ts npm/README.md LICENSE NOTICE build/npm/
	cp $(EXT) build/npm/lib/otelcat.so
	cd build/npm && $(NPM) pkg set version=$(VERSION) && $(NPM) pack --silent --pack-destination ../../dist >/dev/null
	@ls dist/otelcat-$(VERSION).tgz

packages: wheel npm

# The release: a tarball with the extension, sql/, docs, the wheel and the
# npm package, and SHA256SUMS for every artifact. Publishing is a separate step.
DIST_NAME := otelcat-$(VERSION)-linux-x86_64
dist: packages
	@rm -rf build/$(DIST_NAME) dist/$(DIST_NAME).tar.gz dist/SHA256SUMS
	mkdir -p build/$(DIST_NAME)
	cp -r $(EXT) sql docs README.md CHANGELOG.md LICENSE NOTICE dist/otelcat-*.whl dist/otelcat-$(VERSION).tgz build/$(DIST_NAME)/
	tar --sort=name --mtime='2026-01-01 00:00:00' --owner=0 --group=0 --numeric-owner -C build -cf - $(DIST_NAME) \
		| gzip -n > dist/$(DIST_NAME).tar.gz
	cd dist && sha256sum otelcat.so otelcat-*.whl otelcat-$(VERSION).tgz $(DIST_NAME).tar.gz > SHA256SUMS
	@cat dist/SHA256SUMS

bench: $(EXT)
	$(SYSPY) bench/bench_functions.py

clean:
	rm -rf target dist $(VENV) tests/node/node_modules

# Relative RMSE of hll_count at lg_k 12, one-pass and merged, against HIP (docs/BENCHMARKS.md).
bench-hll-accuracy:
	cargo run --release --example hll_accuracy

bench-drain: $(EXT)
	$(SYSPY) bench/bench_drain.py

bench-queries: $(EXT)
	$(SYSPY) bench/bench_queries.py

# The history's size over a month of the bench traces' shape, against its budget (docs/catalog.md "History").
bench-history: $(EXT) $(GEN)
	$(SYSPY) bench/bench_history.py

# OTLP/HTTP receiver in the foreground (otelcat serve, HTTP only): make receiver DB=catalog.db [PORT=4318]
receiver: $(EXT)
	@if [ -z "$(DB)" ]; then echo "usage: make receiver DB=path/to/catalog.db [PORT=4318]" >&2; exit 2; fi
	exec $(SYSPY) examples/receiver/receiver.py --db "$(DB)" $(if $(PORT),--port $(PORT))

# Datasette on a catalog (extension, metadata, canned queries, charts): make explore [DB=demo.db] [PORT=8001]
explore: $(EXT) $(VENV)/.ok
	exec $(SYSPY) examples/datasette/explore.py "$(or $(DB),demo.db)" --venv $(VENV) $(if $(PORT),--port $(PORT))

# A demo catalog (demo.db) from generated telemetry of a dozen services, and its report.
$(GEN): $(wildcard gen/src/*.rs) gen/Cargo.toml $(SOURCES)
	$(CARGO) build --release --locked -p otlp-gen

demo: $(EXT) $(GEN)
	$(SYSPY) tools/demo.py --db demo.db --replace

BASELINE := target/release/examples/ingest_baseline
$(BASELINE): tools/ingest_baseline.rs $(SOURCES)
	$(CARGO) build --release --locked --example ingest_baseline

bench-ingest: $(EXT) $(GEN) $(BASELINE)
	$(SYSPY) bench/bench_ingest.py
	$(SYSPY) bench/bench_key_names.py

# CPU per small commit at 10, 1 000 and 10 000 templates and keys per entity (docs/BENCHMARKS.md).
bench-commit: $(EXT)
	$(SYSPY) bench/bench_commit.py

# CPU per key row of a commit at 100 000 and 1 000 000 key rows, 2 and 64 MiB page cache (docs/BENCHMARKS.md).
bench-commit-rows: $(EXT)
	$(SYSPY) bench/bench_commit_rows.py

# What one adversarial payload costs per byte against the workload (docs/BENCHMARKS.md).
bench-hostile: $(EXT) $(GEN)
	$(SYSPY) bench/bench_hostile.py

# otelcat serve under 16 concurrent clients over gRPC and HTTP (needs the venv: grpcio)
bench-serve: $(EXT) $(GEN) $(VENV)/.ok
	$(PY) bench/bench_serve.py

# docs/cookbook.md from demo.db (run make demo first)
cookbook: $(EXT)
	@test -f demo.db || { echo "run make demo first" >&2; exit 2; }
	$(SYSPY) tools/cookbook.py demo.db
