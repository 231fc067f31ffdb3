# Rampart entry points. `make test` = deps build unit integration fuzz, in that order.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

JOBS        ?= $(shell nproc)
BUILD_DIR   ?= build
ASAN_DIR    ?= build-asan
TSAN_DIR    ?= build-tsan
# ThreadSanitizer covers the libraries whose threads meet: the event loop, the edge (workers, the
# applier, the health checker) and the control plane (API pool, applier, fleet watch).
TSAN_LIBS   ?= core;edge;control
# The unit tests and the fuzz targets share one clang tree (ASan + UBSan + libFuzzer's coverage):
# the libraries are compiled once for both, which saves CI a third full build.
FUZZ_DIR    ?= $(ASAN_DIR)
SANITIZE_CMAKE = CC=clang CXX=clang++ cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
                 -DRAMPART_SANITIZE=ON -DRAMPART_FUZZ=ON
PREFIX      ?= /usr/local
FUZZ_SECONDS ?= 5
RAMPART_BIN ?= $(CURDIR)/$(BUILD_DIR)/rampart
FORMAT_FILES = $(shell find src tests \( -name '*.cc' -o -name '*.h' -o -name '*.hpp' -o -name '*.cpp' \) -not -path 'tests/fuzz/corpus/*' 2>/dev/null)

# `make deb`: build/rampart_<version>_<arch>.deb (CPack's DEB generator; cmake/package.cmake).
.PHONY: all deps build install deb unit tsan integration fuzz test run format format-check clean

all: build

deps:
	scripts/deps.sh

build:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DRAMPART_TESTS=OFF
	cmake --build $(BUILD_DIR) -j $(JOBS)
	@test -x $(BUILD_DIR)/rampart && echo "built $(BUILD_DIR)/rampart"

install: build
	install -D -m 0755 $(BUILD_DIR)/rampart $(DESTDIR)$(PREFIX)/bin/rampart

deb:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DRAMPART_TESTS=OFF -DRAMPART_PACKAGE=ON
	cmake --build $(BUILD_DIR) -j $(JOBS)
	rm -f $(BUILD_DIR)/rampart_*.deb
	cd $(BUILD_DIR) && cpack -G DEB >/dev/null
	@ls $(BUILD_DIR)/rampart_*.deb

unit:
	$(SANITIZE_CMAKE)
	cmake --build $(ASAN_DIR) -j $(JOBS)
	RAMPART_REQUIRE_XDP=$$([ "$$(id -u)" = 0 ] && echo 1) scripts/unit_tests.sh $(ASAN_DIR) $(JOBS)

# ThreadSanitizer (Debug) build of the unit tests of TSAN_LIBS; any report fails the test.
tsan:
	cmake -S . -B $(TSAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DRAMPART_TSAN=ON -DRAMPART_TEST_LIBS="$(TSAN_LIBS)"
	cmake --build $(TSAN_DIR) -j $(JOBS) --target $(foreach l,$(subst ;, ,$(TSAN_LIBS)),rampart_$(l)_tests)
	cd $(TSAN_DIR) && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 $${TSAN_OPTIONS:-}" \
	  RAMPART_REQUIRE_XDP=$$([ "$$(id -u)" = 0 ] && echo 1) ctest --output-on-failure -j $(JOBS) --no-tests=error

integration:
	@test -x $(RAMPART_BIN) || { echo "$(RAMPART_BIN) missing: run 'make build' first" >&2; exit 1; }
	RAMPART_BIN=$(RAMPART_BIN) tests/integration/run.sh

# Every tests/fuzz/<name>_fuzz.cc target runs FUZZ_SECONDS on a scratch copy of
# tests/fuzz/corpus/<name>/ (so the committed corpus is never modified), JOBS at a time.
fuzz:
	$(SANITIZE_CMAKE)
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target $(patsubst tests/fuzz/%.cc,%,$(wildcard tests/fuzz/*_fuzz.cc))
	scripts/fuzz_smoke.sh $(FUZZ_DIR) $(FUZZ_SECONDS) $(JOBS)

# Sequential on purpose, even under `make -j`: stop at the first failure. Each phase prints its
# wall time (the CI budget is 25 minutes on 2 cores).
TEST_PHASES = deps build unit integration fuzz
test:
	@for phase in $(TEST_PHASES); do \
	  start=$$(date +%s); \
	  $(MAKE) --no-print-directory $$phase || exit $$?; \
	  echo "== make $$phase: $$(( $$(date +%s) - start )) s"; \
	done

run:
	$(MAKE) --no-print-directory deps
	$(MAKE) --no-print-directory build
	scripts/run_demo.sh

format:
	@if [[ -n "$(FORMAT_FILES)" ]]; then clang-format -i $(FORMAT_FILES); fi

format-check:
	@if [[ -n "$(FORMAT_FILES)" ]]; then clang-format --dry-run --Werror $(FORMAT_FILES); fi

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(TSAN_DIR) build-fuzz
