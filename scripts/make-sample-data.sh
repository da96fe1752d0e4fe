#!/usr/bin/env bash
# Regenerates sample-data/ (a small Fashion-MNIST subset committed with the crate) from the
# Debian package dataset-fashion-mnist, after checking the sha256 of its IDX files:
#   sample-data/train/<class>/      10 labelled images per class (100)
#   sample-data/unlabeled/<class>/  200 per class (2,000); folder names are hidden truth
#   sample-data/test/<class>/       50 per class (500), from the t10k split
# Seed 0, so the result is the same on every run. sample-data/NOTICE is kept.
#
# Environment: SELFTRAIN (the binary, default target/release/selftrain, built if missing),
# RAW_DIR (where the raw IDX files go, default data/raw).
set -euo pipefail

cd "$(dirname "$0")/.."

SELFTRAIN="${SELFTRAIN:-target/release/selftrain}"
RAW_DIR="${RAW_DIR:-data/raw}"
FASHION_CLASS_NAMES="0-tshirt-top,1-trouser,2-pullover,3-dress,4-coat,5-sandal,6-shirt,7-sneaker,8-bag,9-ankle-boot"

# Fetch and check (no import) with the same code as the full data set.
scripts/fetch-data.sh --no-import fashion
raw="$RAW_DIR/fashion-mnist"

if [[ ! -x "$SELFTRAIN" && "$SELFTRAIN" == target/release/selftrain ]]; then
    echo "==> building $SELFTRAIN"
    cargo build --release --bin selftrain
fi
[[ -x "$SELFTRAIN" ]] || { echo "error: selftrain binary $SELFTRAIN not found" >&2; exit 1; }

mkdir -p sample-data
rm -rf sample-data/train sample-data/unlabeled sample-data/test

echo "==> importing the sample into sample-data/"
"$SELFTRAIN" import idx \
    --images "$raw/train-images-idx3-ubyte" --labels "$raw/train-labels-idx1-ubyte" \
    --test-images "$raw/t10k-images-idx3-ubyte" --test-labels "$raw/t10k-labels-idx1-ubyte" \
    --out sample-data --labels-per-class 10 --unlabeled-per-class 200 --test-per-class 50 \
    --seed 0 --class-names "$FASHION_CLASS_NAMES"

for split in train unlabeled test; do
    printf '%-10s %5d files\n' "$split" "$(find "sample-data/$split" -type f -name '*.png' | wc -l)"
done
[[ -f sample-data/NOTICE ]] || echo "warning: sample-data/NOTICE is missing (licence notice)" >&2
