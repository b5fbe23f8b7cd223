#!/bin/sh
# The test suite on the NEON path: cross-compiles every tests/test_*.c for aarch64 with
# aarch64-linux-gnu-gcc -O2 -std=c99 -static (plus -fopenmp when it links statically), runs each
# under qemu-aarch64 from the repository root (so fixture paths resolve), and ends with the total
# "N passed, M failed" line as tests/run.sh does. Independent of the Makefile.
#   needs: apt-get install -y gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
#   usage: sh tests/run_neon.sh [test_name ...]      (default: every tests/test_*.c)
#   env:   CC_AARCH64 (aarch64-linux-gnu-gcc), QEMU_AARCH64 (qemu-aarch64), BUILD_NEON (build-neon),
#          JOBS (tests built and run at once; default one per core)
set -u
cd "$(dirname "$0")/.." || exit 2
CC=${CC_AARCH64:-aarch64-linux-gnu-gcc}
QEMU=${QEMU_AARCH64:-qemu-aarch64}
OUT=${BUILD_NEON:-build-neon}
command -v "$CC" >/dev/null 2>&1 || { echo "run_neon: $CC not found"; echo "0 passed, 1 failed"; exit 1; }
command -v "$QEMU" >/dev/null 2>&1 || { echo "run_neon: $QEMU not found"; echo "0 passed, 1 failed"; exit 1; }
mkdir -p "$OUT" build || exit 2   # build/: the tests' temporary files (as under make test)

OMP=""
if printf '#include <omp.h>\nint main(void){return omp_get_max_threads() < 1;}\n' |
   "$CC" -O2 -static -fopenmp -x c - -o "$OUT/omp_probe" >/dev/null 2>&1 && "$QEMU" "$OUT/omp_probe" >/dev/null 2>&1; then
  OMP=-fopenmp
fi
CFLAGS="-O2 -std=c99 -Wall -Wextra -static $OMP -DCONVRNN_TEST_REQUIRE_SIMD -I."
echo "run_neon: $CC $CFLAGS, run with $QEMU"

# Some tests run the convrnn command-line tool found next to their binary: build it, and put a
# wrapper in its place that starts it under qemu (no binfmt_misc needed).
if "$CC" $CFLAGS -o "$OUT/convrnn.aarch64" examples/convrnn.c $(ls examples/cli_*.c 2>/dev/null) -lm >"$OUT/convrnn.log" 2>&1; then
  printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$QEMU" "$(pwd)/$OUT/convrnn.aarch64" >"$OUT/convrnn"
  chmod +x "$OUT/convrnn"
else
  echo "run_neon: the convrnn tool does not build (see $OUT/convrnn.log)"
fi

if [ $# -gt 0 ]; then names="$*"; else names=$(for f in tests/test_*.c; do basename "$f" .c; done); fi
# build and run the tests JOBS at a time (default: one per core); each writes $OUT/NAME.out and .rc
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
export CC QEMU OUT CFLAGS
for name in $names; do echo "$name"; done | xargs -P "$JOBS" -I{} sh -c '
  name={}
  rm -f "$OUT/$name.out" "$OUT/$name.rc"
  if ! $CC $CFLAGS -o "$OUT/$name" "tests/$name.c" -lm >"$OUT/$name.log" 2>&1; then
    echo "$name: does not compile for aarch64 (see $OUT/$name.log)" >"$OUT/$name.out"; echo 99 >"$OUT/$name.rc"; exit 0
  fi
  "$QEMU" "$OUT/$name" >"$OUT/$name.out" 2>&1; echo $? >"$OUT/$name.rc"'
pass=0; fail=0
for name in $names; do
  out=$(cat "$OUT/$name.out" 2>/dev/null); rc=$(cat "$OUT/$name.rc" 2>/dev/null || echo 98)
  printf '%s\n' "$out"
  line=$(printf '%s\n' "$out" | grep -E '^[A-Za-z0-9_.-]+: [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
  if [ -z "$line" ]; then echo "$name: no result line (rc=$rc)"; fail=$((fail+1)); continue; fi
  p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/'); f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')
  pass=$((pass+p)); fail=$((fail+f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then echo "$name: exit status $rc"; fail=$((fail+1)); fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
