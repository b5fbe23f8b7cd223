#!/bin/sh
# The main job end to end, on a built-in default (run by `make demo`):
#   1. train a small RGC ConvRNN (laptop_rgc) on Fashion-MNIST, or on generated gratings when the
#      dataset package is absent;
#   2. extract its features at every time step for held-out images;
#   3. build image-driven synthetic neural and behavioural data for those images (convrnn synth);
#   4. score the features: neural predictivity with a temporally fixed PLS map, and object
#      solution times against the synthetic IT OSTs.
# Budgets are small so that it finishes in minutes on a 2-core laptop; raise DEMO_TRAIN for more.
set -eu
BIN=${1:-build/convrnn}
OUT=${DEMO_OUT:-runs/demo}
NTRAIN=${DEMO_TRAIN:-2000}
NIMG=${DEMO_IMAGES:-200}
mkdir -p "$OUT"
if [ -f fmnist/train-images-idx3-ubyte ] || sh examples/prepare_fashion_mnist.sh fmnist >/dev/null 2>&1; then
    DATA=fmnist; echo "demo: data = Fashion-MNIST (fmnist/)"
else
    DATA=synthetic; echo "demo: Fashion-MNIST not available; data = generated gratings"
fi
echo "demo: 1. training laptop_rgc on $NTRAIN images (1 epoch)"
"$BIN" train --model laptop_rgc --data "$DATA" --epochs 1 --batch 32 --lr 0.05 --momentum 0.9 --clip-norm 5 \
    --steps 8 --image-off 8 --limit-train "$NTRAIN" --limit-test 1000 --seed 1 --out "$OUT/train"
echo "demo: 2. features over time (16 steps, image off after 10) for $NIMG test images"
"$BIN" export --data "$DATA" --split test --limit "$NIMG" --out "$OUT/images.npy" --labels-out "$OUT/labels.npy"
"$BIN" features --model laptop_rgc --weights "$OUT/train/weights.safetensors" --input "$OUT/images.npy" \
    --steps 16 --image-off 10 --layers conv3,conv4,conv5,imnetds --flat 1 --out "$OUT/features"
echo "demo: 3. synthetic neural (20 trials x 64 sites x 16 bins) and behavioural data"
"$BIN" synth --images "$OUT/images.npy" --labels "$OUT/labels.npy" --bins 16 --out "$OUT/brain"
echo "demo: 4. scores"
"$BIN" score neural --features "$OUT/features/conv5.npy" --neural "$OUT/brain/neural.npy" --labels "$OUT/labels.npy" \
    --bin-steps 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15 --components 10 --out "$OUT/score_neural"
"$BIN" score ost --features "$OUT/features/conv5.npy" --labels "$OUT/labels.npy" --i1 "$OUT/brain/i1.npy" \
    --it-ost "$OUT/brain/it_ost.npy" --bin-ms 70,80,90,100,110,120,130,140,150,160,170,180,190,200,210,220 \
    --out "$OUT/score_ost"
echo "demo: done; results in $OUT"
