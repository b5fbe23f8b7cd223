# convrnn.h - build, test, demo, bench. See README.md.
CC      ?= cc
CXX     ?= c++
OPT     ?= -O3
CFLAGS  ?= $(OPT) -std=c99 -Wall -Wextra
ARCH    ?=
LDLIBS  ?= -lm
BUILD   ?= build
# build the test binaries in parallel (one job per core) unless -j was given
ifeq ($(filter -j%,$(MAKEFLAGS)),)
  MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)
endif
# OpenMP: on unless NO_OMP=1 (probed: off if the compiler lacks it)
ifeq ($(NO_OMP),1)
  OMPFLAGS :=
else
  OMPFLAGS := $(shell echo 'int main(void){return 0;}' | $(CC) -fopenmp -x c - -o /dev/null 2>/dev/null && echo -fopenmp)
endif
ALLFLAGS = $(CFLAGS) $(ARCH) $(OMPFLAGS) -I.

HDR      := convrnn.h
TEST_SRC := $(wildcard tests/test_*.c)
TESTS    := $(patsubst tests/%.c,$(BUILD)/%,$(TEST_SRC))
CLI_SRC  := examples/convrnn.c $(wildcard examples/cli_*.c)

.PHONY: all test test-asan test-cxx native native-simd demo bench clean fuzz
all: $(BUILD)/convrnn

$(BUILD):
	mkdir -p $(BUILD)

$(BUILD)/convrnn: $(CLI_SRC) $(HDR) examples/cli.h | $(BUILD)
	$(CC) $(ALLFLAGS) -o $@ $(CLI_SRC) $(LDLIBS)

$(BUILD)/test_%: tests/test_%.c tests/test.h $(wildcard tests/*.c) $(HDR) | $(BUILD)
	$(CC) $(ALLFLAGS) -o $@ $< $(LDLIBS)

test: $(TESTS) $(BUILD)/convrnn
	@echo "build: $$($(BUILD)/convrnn version 2>/dev/null)"
	@sh tests/run.sh $(TESTS)

# the same suite under AddressSanitizer + UBSan, with op outputs poisoned (NaN) before the op writes them
test-asan:
	$(MAKE) test BUILD=build-asan OPT="-O1 -g1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -DCONVRNN_DEBUG_POISON"

# C++ and CONVRNN_STATIC compile checks
test-cxx: | $(BUILD)
	$(CXX) -x c++ -std=c++11 -Wall -Wextra -I. -fsyntax-only tests/compile_check.c
	$(CC) -std=c99 -Wall -Wextra -Werror -DCONVRNN_STATIC -I. -c tests/compile_check.c -o $(BUILD)/cc_static.o
	$(CC) -std=c99 -Wall -Wextra -Werror -DCONVRNN_USE_DOUBLE -I. -c tests/compile_check.c -o $(BUILD)/cc_double.o
	$(CC) -std=c99 -Wall -Wextra -Werror -mavx2 -mfma -DCONVRNN_NO_WINO4 -DCONVRNN_NO_WINO_PHASE -DCONVRNN_NO_WINO2 -I. -c tests/compile_check.c -o $(BUILD)/cc_nowino4.o

native:
	$(MAKE) all test ARCH="-march=native" BUILD=build-native

# CI: only the float test programs that run the SIMD kernels, on this machine's widest path, and
# test_simd once more without Winograd F(4x4,3x3) (its 3x3 layers of 196+ pixels on F(2x2,3x3))
# and without the polyphase F(3x3,4x4) (7x7 / 8x8 stride-2 layers from 1-4 channels on the direct
# kernels) and F(3x3,2x2) (2x2 layers with 64+ channels, readouts, on the direct kernels)
SIMD_TESTS := test_simd test_train test_core test_fixtures test_graph_fixture test_simd_nowino4
native-simd:
	$(MAKE) test ARCH="-march=native -DCONVRNN_TEST_REQUIRE_SIMD" BUILD=build-native TESTS="$(patsubst %,build-native/%,$(SIMD_TESTS))"

$(BUILD)/test_simd_nowino4: tests/test_simd.c tests/test.h $(HDR) | $(BUILD)
	$(CC) $(ALLFLAGS) -DCONVRNN_NO_WINO4 -DCONVRNN_NO_WINO_PHASE -DCONVRNN_NO_WINO2 -o $@ $< $(LDLIBS)

demo: $(BUILD)/convrnn
	sh examples/demo.sh $(BUILD)/convrnn

bench:
	sh bench/run.sh

clean:
	rm -rf build build-asan build-native build-avx2 build-neon
