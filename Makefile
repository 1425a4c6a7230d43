# fpgaserve: the two commands.
#   make serve   install what is missing, build, start the server on the bundled demo model
#   make test    install what is missing, build, run every test (plain, then under sanitizers)
# Other targets: build, bench, fuzz, clean. Variables: JOBS, PORT, HOST, FUZZ_SECONDS.

JOBS ?= $(shell nproc)
PORT ?= 8080
HOST ?= 127.0.0.1
BUILD := build
CMAKE_FLAGS ?=

.PHONY: all deps build test test-plain test-asan test-tsan test-fuzz test-container serve bench fuzz fuzz-build clean

all: build

deps:
	@deploy/install-deps.sh build

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# Every test: the suite as built for users, then again under AddressSanitizer + UndefinedBehaviorSanitizer
# and ThreadSanitizer (the daemon is threaded: card workers, HTTP, the scheduler).
test: test-plain test-asan test-tsan test-fuzz
	@deploy/container/smoke.sh
	@echo "make test: all suites passed"

# The container image built and run as users would (~5 min on 2 cores; installs podman and makes a
# debootstrapped base image when missing).
test-container:
	@deploy/container/smoke.sh

test-plain: build
	@cd $(BUILD) && ctest -j$(JOBS) --output-on-failure --timeout 600

# The sanitizer builds compile at -Og with line tables only (-g1), which the sanitizers' reports need: at
# -O2 -g a file full of nlohmann/json and GoogleTest templates took 3x the CPU to compile under
# ASan+UBSan (tests/server/model/gguf_test.cpp: 41 s against 14 s), and compiling is most of `make test`.
# The kernel's libraries set their own -O3/-O2 (kernel/CMakeLists.txt), so the card's math runs at speed.
SANITIZER_CMAKE := -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-Og -g1 -DNDEBUG"

test-asan: deps
	@cmake -S . -B $(BUILD)-asan $(SANITIZER_CMAKE) -DFPGASERVE_SANITIZE=address,undefined $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD)-asan -j$(JOBS)
	@cd $(BUILD)-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest -j$(JOBS) --output-on-failure --timeout 900

test-tsan: deps
	@cmake -S . -B $(BUILD)-tsan $(SANITIZER_CMAKE) -DFPGASERVE_SANITIZE=thread $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD)-tsan -j$(JOBS)
	@cd $(BUILD)-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/sanitizers/tsan.supp \
	  ctest -j$(JOBS) --output-on-failure --timeout 900

# The libFuzzer harnesses (tests/fuzz/README.md), built by clang in their own folder: ASan+UBSan and
# coverage on the parsers' layers and nothing above them (`--target fuzzers`), at -O1. The ordinary builds
# replay the committed corpus through the same harness files (CTest fuzz_replay_*); these runs look for new
# inputs. `make fuzz`: each harness FUZZ_SECONDS with JOBS libFuzzer jobs; make test: each a few seconds.
# No XRT card (not a parser); the kernel is built (the card layer links it) at -O1 and without OpenMP.
FUZZ_SECONDS ?= 600
FUZZ_SHORT_SECONDS ?= 4
fuzz-build: deps
	@cmake -S . -B $(BUILD)-fuzz -DCMAKE_CXX_COMPILER=clang++-14 -DFPGASERVE_FUZZ=ON -DFPGASERVE_XRT=OFF \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD)-fuzz -j$(JOBS) --target fuzzers

fuzz: fuzz-build
	@tools/fuzz.sh $(BUILD)-fuzz $(FUZZ_SECONDS) $(JOBS)

test-fuzz: fuzz-build
	@tools/fuzz.sh $(BUILD)-fuzz $(FUZZ_SHORT_SECONDS) $(JOBS)

# The server on the bundled demo model (config/fpgaserve.json: model and tokenizer empty = bundled).
serve: build
	@$(BUILD)/fpgaserve serve --host $(HOST) --port $(PORT) --config config/fpgaserve.json --chat-template plain

bench: build
	@$(BUILD)/fpgaserve bench kernel --shape stories15M
	@$(BUILD)/fpgaserve bench kernel --shape stories110M

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-tsan $(BUILD)-fuzz
