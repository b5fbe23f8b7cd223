#!/bin/sh
# Prepares Fashion-MNIST for convrnn (convrnn_idx_read) from the Debian package
# dataset-fashion-mnist, which ships the four IDX files gzipped in /usr/share/datasets/fashion-mnist.
#
#   sh examples/prepare_fashion_mnist.sh [TARGET_DIR]        (default: ./fmnist)
#
# Result: TARGET_DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte, uncompressed (60,000 training
# and 10,000 test images of 28x28 uint8, labels 0..9). Installs the package when it is missing
# and the script runs as root with apt-get; set FASHION_MNIST_SRC to use another folder of .gz files.
set -eu
DEST=${1:-./fmnist}
SRC=${FASHION_MNIST_SRC:-/usr/share/datasets/fashion-mnist}
FILES="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"

if [ ! -f "$SRC/train-images-idx3-ubyte.gz" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing dataset-fashion-mnist"
        apt-get install -y dataset-fashion-mnist >/dev/null 2>&1 ||
            { apt-get update >/dev/null 2>&1 && apt-get install -y dataset-fashion-mnist >/dev/null 2>&1; } || true
    fi
fi
for f in $FILES; do
    if [ ! -f "$SRC/$f.gz" ]; then
        echo "error: $SRC/$f.gz not found; install it with: apt-get install dataset-fashion-mnist" >&2
        exit 1
    fi
done

mkdir -p "$DEST"
for f in $FILES; do
    gunzip -c "$SRC/$f.gz" > "$DEST/$f.tmp"
    mv "$DEST/$f.tmp" "$DEST/$f"
done

# expected sizes: 16-byte header + N*28*28 for images, 8-byte header + N for labels
check() {
    got=$(wc -c < "$DEST/$1" | tr -d ' ')
    if [ "$got" != "$2" ]; then echo "error: $DEST/$1 has $got bytes, expected $2" >&2; exit 1; fi
}
check train-images-idx3-ubyte 47040016
check train-labels-idx1-ubyte 60008
check t10k-images-idx3-ubyte 7840016
check t10k-labels-idx1-ubyte 10008
echo "Fashion-MNIST ready in $DEST:"
for f in $FILES; do echo "  $DEST/$f"; done
echo "load with: convrnn_idx_read(\"$DEST/train-images-idx3-ubyte\", \"$DEST/train-labels-idx1-ubyte\", 10, &ds, &err)"
