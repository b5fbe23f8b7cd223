#!/bin/sh
# Trains four models on Fashion-MNIST with the same budget and prints a table of test accuracy,
# parameters, units and seconds per epoch:
#   laptop_ff        the feedforward shallow model         (T 6: the readout first sees the image at t = 5)
#   laptop_rgc       the RGC shallow ConvRNN               (T 10)
#   laptop_rgc       its minimally unrolled control        (T = convrnn_model_minimal_T = 7)
#   laptop_ff_deep   the deeper feedforward model          (T 11, its first pass)
# Usage: sh examples/fmnist_table.sh [EPOCHS] [TRAIN_IMAGES] [THREADS]   (defaults 1, 60000, 2)
# The image is shown for the whole presentation (constant image), as in the t22/t30 models.
set -eu
EPOCHS=${1:-1}
NTRAIN=${2:-60000}
THREADS=${3:-2}
BIN=${BIN:-build/convrnn}
OUT=${OUT:-runs/fmnist_table}
SEED=${SEED:-1}
[ -f fmnist/train-images-idx3-ubyte ] || sh examples/prepare_fashion_mnist.sh fmnist
mkdir -p "$OUT"
row() {  # name model T
    name=$1; model=$2; T=$3
    "$BIN" train --model "$model" --data fmnist --epochs "$EPOCHS" --batch 32 --lr 0.05 --momentum 0.9 \
        --clip-norm 5 --schedule cosine --steps "$T" --image-off "$T" --limit-train "$NTRAIN" --seed "$SEED" \
        --threads "$THREADS" --out "$OUT/$name" > "$OUT/$name.txt"
    acc=$(grep 'test accuracy' "$OUT/$name.txt" | tail -n 1 | sed -E 's/.*test accuracy ([0-9.]+).*/\1/')
    secs=$(grep '^done:' "$OUT/$name.txt" | sed -E 's/.* in ([0-9.]+) s;.*/\1/')
    info=$("$BIN" info "$model" | tail -n 1)
    params=$(echo "$info" | sed -E 's/params: ([0-9]+) units: ([0-9]+)/\1/')
    units=$(echo "$info" | sed -E 's/params: ([0-9]+) units: ([0-9]+)/\2/')
    spe=$(awk -v s="$secs" -v e="$EPOCHS" 'BEGIN { printf "%.0f", s / e }')
    printf '| %-26s | %3s | %8s | %9s | %7s | %8s |\n' "$name" "$T" "$acc" "$params" "$units" "$spe"
}
echo "Fashion-MNIST, $NTRAIN training images, $EPOCHS epoch(s), batch 32, SGD lr 0.05 cosine, momentum 0.9, clip-norm 5, seed $SEED, $THREADS threads"
echo
echo "| model                      |   T | test acc |    params |   units | s/epoch |"
echo "|----------------------------|-----|----------|-----------|---------|---------|"
row laptop_ff laptop_ff 6
row laptop_rgc laptop_rgc 10
row laptop_rgc_minimal laptop_rgc "$("$BIN" info laptop_rgc | sed -nE 's/.*minimal T ([0-9]+).*/\1/p')"
row laptop_ff_deep laptop_ff_deep 11
