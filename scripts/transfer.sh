#!/usr/bin/env bash
# Transfer within Fashion-MNIST (the README's "Transfer learning" table): pretrain on classes 0–4
# with all their labels (`selftrain train --rounds 0`), then train on classes 5–9 with 10 labels
# per class and a pool of 1,000 per class, from scratch and from the pretrained run
# (`--init-from`, which replaces the 5-class head). Each target run reports supervised-only
# (after warm-up) and self-trained accuracy; `selftrain summarize` prints the rows.
#
# Usage: scripts/transfer.sh
#
# Environment:
#   SEEDS            seeds of the target runs (default "0 1 2"; seed N uses the labelled set
#                    drawn with fetch-data.sh's SEED=N)
#   MODEL            --model of every run (default: default)
#   PRETRAIN_EPOCHS  epochs of the pretraining run (default 10)
#   TARGET_FLAGS     extra flags of the target runs (default: none, i.e. the defaults)
#   INIT_FLAGS       extra flags of the --init-from target runs only, after TARGET_FLAGS
#                    (e.g. "--freeze-backbone-epochs 100 --backbone-lr-scale 0.1")
#   RESULTS_DIR      where runs go (default runs/transfer)
#   PRETRAINED       an earlier pretraining run directory to start from instead of pretraining
#                    again (e.g. runs/transfer/pretrain/<run>)
#   SELFTRAIN        the binary (default target/release/selftrain)
set -euo pipefail
cd "$(dirname "$0")/.."

SEEDS="${SEEDS:-0 1 2}"
MODEL="${MODEL:-default}"
PRETRAIN_EPOCHS="${PRETRAIN_EPOCHS:-10}"
TARGET_FLAGS="${TARGET_FLAGS:-}"
INIT_FLAGS="${INIT_FLAGS:-}"
PRETRAINED="${PRETRAINED:-}"
RESULTS_DIR="${RESULTS_DIR:-runs/transfer}"
SELFTRAIN="${SELFTRAIN:-target/release/selftrain}"
RAW=data/raw/fashion-mnist
NAMES="0-tshirt-top,1-trouser,2-pullover,3-dress,4-coat,5-sandal,6-shirt,7-sneaker,8-bag,9-ankle-boot"
SOURCE_CLASSES=(0-tshirt-top 1-trouser 2-pullover 3-dress 4-coat)
TARGET_CLASSES=(5-sandal 6-shirt 7-sneaker 8-bag 9-ankle-boot)

die() {
    echo "error: $*" >&2
    exit 1
}

[[ -x "$SELFTRAIN" ]] || cargo build --release --bin selftrain
[[ -f "$RAW/train-images-idx3-ubyte" ]] || scripts/fetch-data.sh --no-import fashion

# import OUT LABELS [flags...]: Fashion-MNIST into OUT unless present.
import() {
    local out="$1" labels="$2"
    shift 2
    [[ -d "$out/train" ]] && return
    "$SELFTRAIN" import idx --images "$RAW/train-images-idx3-ubyte" \
        --labels "$RAW/train-labels-idx1-ubyte" --test-images "$RAW/t10k-images-idx3-ubyte" \
        --test-labels "$RAW/t10k-labels-idx1-ubyte" --out "$out" --labels-per-class "$labels" \
        --class-names "$NAMES" "$@" >&2
}

# subset FROM TO CLASS...: TO holds links to FROM's split folders of the given classes.
subset() {
    local from="$1" to="$2" split class
    shift 2
    rm -rf "$to"
    for split in train unlabeled test; do
        [[ -d "$from/$split" ]] || continue
        for class in "$@"; do
            [[ -d "$from/$split/$class" ]] || continue
            mkdir -p "$to/$split"
            ln -s "$(realpath "$from/$split/$class")" "$to/$split/$class"
        done
    done
}

# train DIR [flags...]: one headless run into DIR unless it finished before; prints its run dir.
train() {
    local dir="$1"
    shift
    if ! compgen -G "$dir/*/summary.json" >/dev/null; then
        rm -rf "$dir"
        mkdir -p "$dir"
        echo "==> $dir: $SELFTRAIN train --headless $*" >&2
        "$SELFTRAIN" train --headless --runs-dir "$dir" "$@" >"$dir.log" 2>&1 ||
            die "$dir failed: see $dir.log"
    fi
    ls -d "$dir"/*/
}

if [[ -n "$PRETRAINED" ]]; then
    [[ -f "$PRETRAINED/model.json" ]] || die "PRETRAINED=$PRETRAINED is not a run directory"
    pretrained="$PRETRAINED"
else
    # Source: classes 0–4 with every training label (6,000 each), the test split's 0–4.
    import data/fashion-mnist-all 6000 --unlabeled-per-class 0
    subset data/fashion-mnist-all data/transfer-source "${SOURCE_CLASSES[@]}"
    pretrained="$(train "$RESULTS_DIR/pretrain" --data data/transfer-source --model "$MODEL" \
        --rounds 0 --warmup-epochs "$PRETRAIN_EPOCHS" --seed 0)"
fi

scratch=() init=()
for seed in $SEEDS; do
    suffix=""
    [[ "$seed" == 0 ]] || suffix="-s$seed"
    import "data/fashion-mnist-10pc-u1000$suffix" 10 --unlabeled-per-class 1000 --seed "$seed"
    target="data/transfer-target$suffix"
    subset "data/fashion-mnist-10pc-u1000$suffix" "$target" "${TARGET_CLASSES[@]}"
    # shellcheck disable=SC2086 # TARGET_FLAGS is deliberately word-split
    scratch+=("$(train "$RESULTS_DIR/scratch/seed-$seed" --data "$target" --model "$MODEL" \
        --seed "$seed" $TARGET_FLAGS)")
    # shellcheck disable=SC2086
    init+=("$(train "$RESULTS_DIR/init-from/seed-$seed" --data "$target" --model "$MODEL" \
        --seed "$seed" --init-from "$pretrained" $TARGET_FLAGS $INIT_FLAGS)")
done

"$SELFTRAIN" summarize --header
"$SELFTRAIN" summarize --label "fashion 5–9, 10 labels/class, from scratch" "${scratch[@]}"
"$SELFTRAIN" summarize --label "fashion 5–9, 10 labels/class, --init-from 0–4" "${init[@]}"
