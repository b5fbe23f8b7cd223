#!/bin/sh
# Benchmark the metrics against scikit-learn / liblinear in the same run, on the same data.
#   sh bench/run_metrics.sh            (from the repository root)
# Environment: RUNS (timed runs per side, default 3), KINDS (default "pls logistic logistic-lbfgs svm"),
#   PYTHON (default /usr/bin/python3, which has python3-sklearn), CC, ARCH (e.g. -march=native),
#   OMP_NUM_THREADS (threads of the C side; scikit-learn here runs on one core, netlib BLAS),
#   DIR (work directory for the ~250 MB of inputs, default a fresh mktemp -d, removed at the end).
# Steps: generate the inputs (numpy, seeded); one reference run of each peer, then validate our
# outputs against it (the script stops if they disagree); then RUNS timed runs of each side,
# interleaved ours/peer so that load changes hit both; finally the medians and
# "speedup KIND X" lines (peer median time / ours).
set -e
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
KINDS=${KINDS:-"pls logistic logistic-lbfgs svm"}
PYTHON=${PYTHON:-/usr/bin/python3}
CC=${CC:-cc}
KEEP=${DIR:+1}
DIR=${DIR:-$(mktemp -d)}
mkdir -p build "$DIR"
$CC -O2 -std=c99 -Wall -Wextra $ARCH -fopenmp -I. -o build/bench_metrics bench/bench_metrics.c -lm
echo "inputs in $DIR"
$PYTHON bench/peer_metrics.py gen "$DIR"
rm -f "$DIR"/ours_*.txt "$DIR"/peer_*.txt
for k in $KINDS; do
  $PYTHON bench/peer_metrics.py run "$DIR" "$k" --ref >/dev/null
  rm -f "$DIR/peer_$k.txt"                 # the reference run is not timed
  ./build/bench_metrics "$DIR" "$k" --validate
  rm -f "$DIR/ours_$k.txt"
done
i=0
while [ $i -lt "$RUNS" ]; do
  for k in $KINDS; do
    ./build/bench_metrics "$DIR" "$k"
    $PYTHON bench/peer_metrics.py run "$DIR" "$k"
  done
  i=$((i+1))
done
./build/bench_metrics "$DIR" summary
[ -n "$KEEP" ] || rm -rf "$DIR"
