# The README's entry points. Each target installs what it needs (scripts/install-deps), configures
# its CMake preset and builds with Ninja; build trees live under build/<preset>.
.DEFAULT_GOAL := help
SHELL := /bin/bash
CTEST_ARGS ?=

.PHONY: help deps run build test test-asan test-tsan fuzz bench soak image container-test format \
        format-check clean

help:
	@echo "make run        build Release and start jobd on 127.0.0.1:8080 (examples/jobd.json)"
	@echo "make build      build Release (warnings as errors), without starting it"
	@echo "make test       build (warnings as errors) and run the whole test suite"
	@echo "make test-asan  the suite under AddressSanitizer + UndefinedBehaviorSanitizer"
	@echo "make test-tsan  the suite under ThreadSanitizer, each test repeated 3 times"
	@echo "make fuzz       libFuzzer on the HTTP path, job JSON and config, FUZZ_SECONDS each (60)"
	@echo "make bench      build Release; HTTP benchmarks against nginx (wrk), pool microbenchmarks, the store"
	@echo "make soak       build Release; 10 minutes at twice the pool's capacity (SOAK_MINUTES)"
	@echo "make image      build the container image jobd:latest (docker, or podman)"
	@echo "make container-test  build the image, run it, check it end to end, remove it all"
	@echo "make format     clang-format the sources; make format-check only reports"
	@echo "make deps       install the Debian packages a build needs (as root; else prints the line)"
	@echo "make clean      remove build/"

deps:
	@scripts/install-deps build

# Precious: without it make treats build.ninja as an intermediate file and deletes it afterwards.
.PRECIOUS: build/%/build.ninja
build/%/build.ninja:
	cmake --preset $*

# Configure once, then let Ninja decide what is stale.
build-%: build/%/build.ninja
	cmake --build --preset $*

# One step after the other, also under make -j: configuring needs the packages.
build:
	@scripts/install-deps build
	$(MAKE) --no-print-directory build-release

CONFIG ?= examples/jobd.json
run: build
	./build/release/server/jobd --config $(CONFIG)

test:
	@scripts/install-deps test
	$(MAKE) --no-print-directory build-debug
	ctest --preset debug $(CTEST_ARGS)

test-asan:
	@scripts/install-deps test
	$(MAKE) --no-print-directory build-asan
	ctest --preset asan $(CTEST_ARGS)

test-tsan:
	@scripts/install-deps test
	$(MAKE) --no-print-directory build-tsan
	ctest --preset tsan $(CTEST_ARGS)

FUZZ_SECONDS ?= 60
fuzz:
	@scripts/install-deps fuzz
	$(MAKE) --no-print-directory build-fuzz
	tests/fuzz/run build/fuzz $(FUZZ_SECONDS)

bench:
	@scripts/install-deps bench
	$(MAKE) --no-print-directory build-bench
	bench/run-pool-bench build/bench build/bench/pool-bench.md
	bench/run-http-bench build/bench build/bench/http-bench.md
	bench/run-store-bench build/bench build/bench/store-bench.md
	bench/run-adaptive-bench build/bench build/bench/adaptive-bench.md
	build/bench/bench/jobd_stage_bench --benchmark_repetitions=3 \
	  --benchmark_report_aggregates_only=true | tee build/bench/stage-bench.txt
	@if [ -z "$$BENCH_ONLY$$BENCH_FILTER" ]; then \
	  bench/write-docs build/bench/http-bench.md build/bench/pool-bench.md \
	    build/bench/store-bench.md build/bench/adaptive-bench.md docs/benchmarks.md; \
	else echo "a partial run (BENCH_ONLY/BENCH_FILTER): docs/benchmarks.md left as it was"; fi

IMAGE ?= jobd:latest
image:
	@scripts/install-deps container
	docker/build-image $(IMAGE)

container-test:
	@scripts/install-deps container
	docker/container-test $(IMAGE)

soak:
	@scripts/install-deps bench
	$(MAKE) --no-print-directory build-release
	bench/run-soak build/release

# The sources are listed when the recipe runs, after install-deps has provided git; with none
# (not a git checkout), clang-format would read stdin instead.
SOURCES = $$(git ls-files '*.cpp' '*.hpp' | grep . || { echo "no sources: not a git checkout?" >&2; echo /nonexistent; })
format:
	@scripts/install-deps format
	clang-format -i $(SOURCES)

format-check:
	@scripts/install-deps format
	clang-format --dry-run --Werror $(SOURCES)

clean:
	rm -rf build
