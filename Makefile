# The two commands of the quick start: `make demo` and `make check`. Both install what is missing
# (apt), configure once, and rebuild only what changed.
BUILD_DIR ?= build
LLVM_PREFIX ?= /usr/lib/llvm-22
JOBS ?= $(shell nproc)
# ccache keys on paths relative to the checkout, so that clones elsewhere (CI) share the cache.
export CCACHE_BASEDIR ?= $(CURDIR)
DEMO_MODEL ?= examples/tiny_cnn.textproto

.PHONY: all deps demo-deps configure build check check-sanitize check-lit check-unit check-e2e \
        check-node demo train-demo fuzz clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD_DIR)/build.ninja: | deps
	cmake -G Ninja -S . -B $(BUILD_DIR) \
	  -DCMAKE_BUILD_TYPE=Release \
	  -DCMAKE_C_COMPILER=$(LLVM_PREFIX)/bin/clang \
	  -DCMAKE_CXX_COMPILER=$(LLVM_PREFIX)/bin/clang++ \
	  -DCMAKE_PREFIX_PATH=$(LLVM_PREFIX)

configure: $(BUILD_DIR)/build.ninja

build: deps configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

check: build
	cmake --build $(BUILD_DIR) --target check-dlc

# The whole test suite again with dlc, its runtime and tools built with AddressSanitizer and
# UndefinedBehaviorSanitizer, in their own build folder: any report fails the test it happens in.
SANITIZE_BUILD_DIR ?= build-sanitize
$(SANITIZE_BUILD_DIR)/build.ninja: | deps
	cmake -G Ninja -S . -B $(SANITIZE_BUILD_DIR) \
	  -DCMAKE_BUILD_TYPE=Release -DDLC_SANITIZE=ON \
	  -DCMAKE_C_COMPILER=$(LLVM_PREFIX)/bin/clang \
	  -DCMAKE_CXX_COMPILER=$(LLVM_PREFIX)/bin/clang++ \
	  -DCMAKE_PREFIX_PATH=$(LLVM_PREFIX)

check-sanitize: deps $(SANITIZE_BUILD_DIR)/build.ninja
	cmake --build $(SANITIZE_BUILD_DIR) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  cmake --build $(SANITIZE_BUILD_DIR) --target check-dlc

# Runs each libFuzzer target (test/fuzz/) for FUZZ_SECONDS; what they find stays in
# $(BUILD_DIR)/fuzz (crash-* inputs, and the grown corpora for the next run).
FUZZ_SECONDS ?= 60
fuzz: build
	python3 test/fuzz/run.py --bin $(BUILD_DIR) --work $(BUILD_DIR)/fuzz --seconds $(FUZZ_SECONDS)

demo: build
	scripts/demo.sh $(BUILD_DIR) $(DEMO_MODEL)

# Only the training demo needs these (python3-onnx, numpy, the data set, zlib).
demo-deps: deps
	@scripts/install-demo-deps.sh

# Trains LeNet-5 on Fashion-MNIST with a compiled training step (scripts/train-demo.sh). The
# demo's packages come first so that the build finds zlib.
train-demo: demo-deps
	@$(MAKE) --no-print-directory build
	scripts/train-demo.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
