#!/bin/sh
# Builds the libFuzzer targets tests/fuzz/fuzz_*.c with clang (ASan + UBSan) and runs each for
# SECONDS (first argument, default 60) on a scratch copy of its seed corpus tests/fuzz/corpus/<name>/
# (the committed seeds are never modified). Exits non-zero if a target fails to build, crashes,
# leaks, times out on an input or trips a sanitizer; the reproducer is kept in build-fuzz/.
# Targets run JOBS at a time (env, default one per core).
#   sh tests/fuzz/run.sh [SECONDS] [TARGET...]     e.g.  sh tests/fuzz/run.sh 60
#   reproduce:  build-fuzz/fuzz_npy build-fuzz/npy-crash-<hash>
set -u
SECS=${1:-60}
[ $# -gt 0 ] && shift
cd "$(dirname "$0")/../.." || exit 1
CLANG=${CLANG:-clang}
OUT=build-fuzz
mkdir -p "$OUT"

# clang with the libFuzzer runtime (Debian bookworm: clang 14 + libclang-rt-14-dev)
probe() {
    printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' \
        > "$OUT/probe.c"
    "$CLANG" -fsanitize=fuzzer,address,undefined "$OUT/probe.c" -o "$OUT/probe" >/dev/null 2>&1
}
if ! probe; then
    echo "fuzz: clang with the libFuzzer runtime not found; installing clang libclang-rt-14-dev"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        (apt-get install -y clang libclang-rt-14-dev || { apt-get update && apt-get install -y clang libclang-rt-14-dev; }) >/dev/null 2>&1
    fi
    if ! probe; then echo "fuzz: FAILED: cannot build a libFuzzer binary with $CLANG"; exit 1; fi
fi

if [ $# -gt 0 ]; then TARGETS="$*"; else
    TARGETS=$(for f in tests/fuzz/fuzz_*.c; do basename "$f" .c | sed 's/^fuzz_//'; done)
fi
# one target: build, fuzz for SECS on a scratch copy of its corpus, write the report to $OUT/$t.report
# and the exit status (0 ok) to $OUT/$t.status
fuzz_one() {
    t=$1
    src=tests/fuzz/fuzz_$t.c
    bin=$OUT/fuzz_$t
    {
        echo "fuzz: building $bin"
        if ! "$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I. "$src" -o "$bin" -lm 2>&1; then
            echo "fuzz: $t: FAILED to build"; echo 1 >"$OUT/$t.status"; return
        fi
        work=$(mktemp -d "${TMPDIR:-/tmp}/convrnn-fuzz-$t.XXXXXX")
        [ -d tests/fuzz/corpus/$t ] && cp -R tests/fuzz/corpus/$t/. "$work/"
        echo "fuzz: running $t for ${SECS}s on $(ls "$work" | wc -l) seeds"
        "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
            -artifact_prefix="$OUT/$t-" "$work" > "$OUT/$t.log" 2>&1
        rc=$?
        runs=$(grep -E '^stat::number_of_executed_units' "$OUT/$t.log" | awk '{print $2}')
        if [ $rc -ne 0 ]; then
            echo "fuzz: $t: FAILED (exit $rc); last lines of $OUT/$t.log:"
            tail -n 40 "$OUT/$t.log"
            ls "$OUT"/"$t"-* 2>/dev/null
        else
            echo "fuzz: $t: ok, ${runs:-?} inputs, corpus grew to $(ls "$work" | wc -l) files"
        fi
        echo $rc >"$OUT/$t.status"
        rm -rf "$work"
    } >"$OUT/$t.report" 2>&1
}

# JOBS targets at a time (default one per core); each fuzzer runs single-threaded for SECS
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
n=0
for t in $TARGETS; do
    rm -f "$OUT/$t.status" "$OUT/$t.report"
    fuzz_one "$t" &
    n=$((n+1))
    if [ $n -ge "$JOBS" ]; then wait; n=0; fi
done
wait
failed=0
for t in $TARGETS; do
    cat "$OUT/$t.report" 2>/dev/null
    [ "$(cat "$OUT/$t.status" 2>/dev/null)" = 0 ] || failed=1
done
if [ $failed -ne 0 ]; then echo "fuzz: FAILED"; exit 1; fi
echo "fuzz: all targets ok"
