#!/bin/sh
# make bench: convrnn.h's kernels and training step against the same work in PyTorch (CPU,
# channels-last), in one run. Builds bench/bench_convrnn.c with -O3 -march=native -fopenmp, then
# for 1 and 2 threads:
#   - every conv layer shape of the shallow BaseNet at 224x224 batch 16 and of the laptop models at
#     28x28 batch 64, forward and forward+backward (the input layers without input gradient, and
#     BaseNet's conv1 once more with it: basenet_conv1_dx), each variant first validated against
#     the scalar kernels on the same geometry at a small batch;
#   - a full training step (forward, BPTT, SGD) of laptop_gru and laptop_rgc, batch 64, T = 10, 16
#     (validated: loss and every gradient of one step against the scalar kernels);
# and the peak memory of the first training step of a fresh process (1 thread). Medians of the
# repetitions after warm-up. The layers and the training steps run in ROUNDS rounds, ours and
# PyTorch's in turn within each (a slow spell of the shared machine then hits both sides instead of
# one); each time is the median of its rounds' medians. Prints a table and ends with one line per
# comparison:
#   speedup NAME X      X = PyTorch's median time / ours (for mem_*: PyTorch's peak / ours)
# Environment: CC (cc), BENCH_PYTHON (/usr/bin/python3, needs torch), BENCH_BUILD (build-bench),
#   REPS_BIG (5: BaseNet layers), REPS_SMALL (20: laptop layers), REPS_TRAIN (7), THREADS ("1 2"),
#   ROUNDS (3: rounds of the layers and of the training steps, REPS_* repetitions each).
set -u
cd "$(dirname "$0")/.." || exit 2
CC=${CC:-cc}
PY=${BENCH_PYTHON:-/usr/bin/python3}
OUT=${BENCH_BUILD:-build-bench}
REPS_BIG=${REPS_BIG:-5}
REPS_SMALL=${REPS_SMALL:-20}
REPS_TRAIN=${REPS_TRAIN:-7}
THREADS=${THREADS:-"1 2"}
ROUNDS=${ROUNDS:-3}
mkdir -p "$OUT" || exit 2
RES="$OUT/results.txt"
: >"$RES"

echo "== build: $CC -O3 -march=native -fopenmp -std=c99 bench/bench_convrnn.c"
$CC -O3 -march=native -fopenmp -std=c99 -Wall -Wextra -I. -o "$OUT/bench_convrnn" bench/bench_convrnn.c -lm || exit 1
B="$OUT/bench_convrnn"
TORCH=1
if ! "$PY" -c "import torch" >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing Debian's python3-torch (the peer)"
  (apt-get install -y -qq --no-install-recommends python3-torch python3-numpy ||
   { apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-torch python3-numpy; }) >/dev/null 2>&1
fi
if ! "$PY" -c "import torch" >/dev/null 2>&1; then
  echo "== $PY cannot import torch: PyTorch columns stay empty"
  TORCH=0
fi
{
  echo "INFO cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //; s/ /_/g') cores=$(nproc 2>/dev/null)"
  echo "INFO build=$("$B" describe laptop_gru >/dev/null 2>&1 && echo ok)"
  [ $TORCH = 1 ] && echo "INFO torch=$("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null)"
} >>"$RES"
start=$(date +%s)

run() {   # run a command, keep its RESULT lines (a layer's tagged with its round), echo them
  "$@" 2>&1 | tee -a "$OUT/log.txt" | grep '^RESULT' | sed "s/^RESULT \(layer\|train\) /RESULT \1 round=${ROUND:-1} /" | tee -a "$RES"
}
for th in $THREADS; do
  echo "== FMA peak, $th thread(s)"
  # one peak loop per thread, run concurrently
  i=0; pids=""
  while [ $i -lt "$th" ]; do OMP_NUM_THREADS=1 "$B" peak >"$OUT/peak.$i" 2>&1 & pids="$pids $!"; i=$((i+1)); done
  wait $pids
  tot=$(cat "$OUT"/peak.* | sed -n 's/.*gflops=\([0-9.]*\).*/\1/p' | awk '{s+=$1} END {print s}')
  echo "RESULT peak threads=$th gflops=$tot" | tee -a "$RES"
  rm -f "$OUT"/peak.*
done
ROUND=1
while [ "$ROUND" -le "$ROUNDS" ]; do
  for th in $THREADS; do
    echo "== conv layers, $th thread(s), round $ROUND of $ROUNDS (BaseNet: $REPS_BIG repetitions, laptop: $REPS_SMALL)"
    for set in basenet laptop; do
      OMP_NUM_THREADS=$th; export OMP_NUM_THREADS
      run "$B" layers $set "$REPS_BIG" "$REPS_SMALL" | sed 's/^RESULT /  ours  /'
      if [ $TORCH = 1 ]; then
        run "$PY" bench/bench_torch.py layers $set "$REPS_BIG" "$REPS_SMALL" "$th" | sed 's/^RESULT /  torch /'
      fi
    done
  done
  ROUND=$((ROUND + 1))
done
ROUND=1
for m in laptop_gru laptop_rgc; do
  "$B" describe $m >"$OUT/$m.desc" || exit 1
done
ROUND=1
while [ "$ROUND" -le "$ROUNDS" ]; do
  for T in 10 16; do
    for th in $THREADS; do
      for m in laptop_gru laptop_rgc; do
        echo "== training step $m, T=$T, $th thread(s), batch 64, round $ROUND of $ROUNDS"
        OMP_NUM_THREADS=$th; export OMP_NUM_THREADS
        run "$B" train $m $T "$REPS_TRAIN" | sed 's/^RESULT /  ours  /'
        [ $TORCH = 1 ] && run "$PY" bench/bench_torch.py train "$OUT/$m.desc" $T "$REPS_TRAIN" "$th" | sed 's/^RESULT /  torch /'
      done
    done
  done
  ROUND=$((ROUND + 1))
done
ROUND=1
for T in 10 16; do
  for m in laptop_gru laptop_rgc; do
    echo "== peak memory of a training step $m, T=$T (fresh process, 1 thread)"
    OMP_NUM_THREADS=1; export OMP_NUM_THREADS
    run "$B" mem $m $T | sed 's/^RESULT /  ours  /'
    [ $TORCH = 1 ] && run "$PY" bench/bench_torch.py mem "$OUT/$m.desc" $T 1 | sed 's/^RESULT /  torch /'
  done
done
echo "INFO seconds=$(( $(date +%s) - start ))" >>"$RES"
echo
if command -v "$PY" >/dev/null 2>&1; then
  "$PY" bench/report.py "$RES"
else
  cat "$RES"
fi
