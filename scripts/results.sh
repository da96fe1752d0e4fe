#!/usr/bin/env bash
# Reproduces the README's results tables on full MNIST / Fashion-MNIST.
#
# Usage: scripts/results.sh [EXPERIMENT...]     (default: the three main settings)
#        scripts/results.sh --list              (the experiments and their flags)
#
# Each experiment trains with seeds $SEEDS (default "0 1 2") into
# $RESULTS_DIR/<experiment>/seed-<N>/<run>/ and then prints one markdown row per experiment
# with `selftrain summarize`. Runs that already finished (summary.json present) are reused, so
# the script can be interrupted and restarted.
#
# The data roots come from scripts/fetch-data.sh with UNLABELED_PER_CLASS=1000:
#   data/mnist-10pc-u1000, data/fashion-mnist-40pc-u1000, data/fashion-mnist-100pc-u1000
#
# Environment:
#   SEEDS        seeds to run (default "0 1 2")
#   DEVICE       --device (default auto)
#   RESULTS_DIR  where runs go (default runs/results)
#   SELFTRAIN    the binary (default target/release/selftrain)
#   SMALLEST_CLASSES  N: print the long-tailed table instead (macro-F1 before and after
#                self-training, test recall of the N classes with the fewest labels;
#                `selftrain summarize --smallest-classes N`)
#   LABEL_SETS   "one" (default): every seed trains on the same data root (labelled set drawn with
#                fetch-data.sh's SEED=0); "per-seed": seed N uses the root imported with SEED=N
#                (<root>-s<N> for N > 0), so each seed also draws its own labelled set and pool
set -euo pipefail
cd "$(dirname "$0")/.."

SEEDS="${SEEDS:-0 1 2}"
DEVICE="${DEVICE:-auto}"
RESULTS_DIR="${RESULTS_DIR:-runs/results}"
SELFTRAIN="${SELFTRAIN:-target/release/selftrain}"
LABEL_SETS="${LABEL_SETS:-one}"

MNIST=data/mnist-10pc-u1000
F40=data/fashion-mnist-40pc-u1000
F100=data/fashion-mnist-100pc-u1000
# Long-tailed: IMBALANCE_RATIO=10 UNLABELED_PER_CLASS=1000 LABELS_PER_CLASS=40 fetch-data.sh fashion
F40LT=data/fashion-mnist-40pc-u1000-lt10

# The policy of the defaults until FlexMatch replaced it: every row measured before then and not
# naming a policy of its own carries it, so it still reproduces what the README reports.
CB="--pseudo-policy class-balanced"
# The defaults before mixup and τ 0.8 (for the rows measured with them).
PREVIOUS="--mixup 0 --threshold 0.9 --selection-standard-errors 0"

# name | data root | extra training flags (on top of the defaults)
EXPERIMENTS="\
mnist-10pc|$MNIST|
mnist-10pc-class-balanced|$MNIST|$CB
fashion-40pc|$F40|
fashion-40pc-class-balanced|$F40|$CB
fashion-100pc|$F100|
fashion-100pc-class-balanced|$F100|$CB
fashion-40pc-plain-threshold|$F40|--acceptance threshold --threshold 0.95 --min-labeled-share 0 --pseudo-ramp-rounds 0
fashion-40pc-threshold-acceptance|$F40|--acceptance threshold
fashion-40pc-no-min-labeled-share|$F40|--min-labeled-share 0 $CB
fashion-40pc-no-ramp|$F40|--pseudo-ramp-rounds 0 $CB
fashion-40pc-no-augment|$F40|--augment-shift 0 $CB
fashion-40pc-reinit-each-round|$F40|--reinit-each-round true $CB
fashion-40pc-constant-lr|$F40|--lr-schedule constant $PREVIOUS $CB
mnist-10pc-constant-lr|$MNIST|--lr-schedule constant $PREVIOUS $CB
fashion-100pc-constant-lr|$F100|--lr-schedule constant $PREVIOUS $CB
fashion-40pc-constant-lr-no-cutout|$F40|--lr-schedule constant --pseudo-cutout 0 $PREVIOUS $CB
mnist-10pc-constant-lr-no-cutout|$MNIST|--lr-schedule constant --pseudo-cutout 0 $PREVIOUS $CB
fashion-40pc-constant-lr-no-selection-tolerance|$F40|--lr-schedule constant --selection-tolerance 0 $PREVIOUS $CB
mnist-10pc-no-mixup|$MNIST|--mixup 0 $CB
fashion-40pc-no-mixup|$F40|--mixup 0 $CB
fashion-100pc-no-mixup|$F100|--mixup 0 $CB
fashion-40pc-no-selection-standard-errors|$F40|--selection-standard-errors 0 $CB
mnist-10pc-mixup-1|$MNIST|--mixup 1 $CB
mnist-10pc-mixup-1-threshold-0.7|$MNIST|--mixup 1 --threshold 0.7 $CB
mnist-10pc-mixup-1-threshold-0.9|$MNIST|--mixup 1 --threshold 0.9 $CB
fashion-40pc-mixup-1|$F40|--mixup 1 $CB
fashion-40pc-mixup-1-threshold-0.9|$F40|--mixup 1 --threshold 0.9 $CB
mnist-10pc-previous-defaults|$MNIST|$PREVIOUS $CB
fashion-40pc-previous-defaults|$F40|$PREVIOUS $CB
fashion-100pc-previous-defaults|$F100|$PREVIOUS $CB
fashion-100pc-12-rounds|$F100|--rounds 12 $CB
fashion-100pc-5-epochs-per-round|$F100|--epochs-per-round 5 $CB
mnist-10pc-flexmatch|$MNIST|--pseudo-policy flexmatch
mnist-10pc-freematch|$MNIST|--pseudo-policy freematch
mnist-10pc-softmatch|$MNIST|--pseudo-policy softmatch
mnist-10pc-curriculum|$MNIST|--pseudo-policy curriculum
mnist-10pc-uncertainty|$MNIST|--pseudo-policy uncertainty
fashion-40pc-flexmatch|$F40|--pseudo-policy flexmatch
fashion-40pc-freematch|$F40|--pseudo-policy freematch
fashion-40pc-softmatch|$F40|--pseudo-policy softmatch
fashion-40pc-curriculum|$F40|--pseudo-policy curriculum
fashion-40pc-uncertainty|$F40|--pseudo-policy uncertainty
fashion-100pc-flexmatch|$F100|--pseudo-policy flexmatch
fashion-100pc-freematch|$F100|--pseudo-policy freematch
fashion-100pc-softmatch|$F100|--pseudo-policy softmatch
fashion-100pc-curriculum|$F100|--pseudo-policy curriculum
fashion-100pc-uncertainty|$F100|--pseudo-policy uncertainty
mnist-10pc-uncertainty-kappa-0.1|$MNIST|--pseudo-policy uncertainty --uncertainty-kappa 0.1
fashion-40pc-uncertainty-kappa-0.1|$F40|--pseudo-policy uncertainty --uncertainty-kappa 0.1
mnist-10pc-strong-augment|$MNIST|--strong-augment 2,10 $CB
fashion-40pc-strong-augment|$F40|--strong-augment 2,10 $CB
fashion-100pc-strong-augment|$F100|--strong-augment 2,10 $CB
fashion-40pc-flexmatch-strong-augment|$F40|--pseudo-policy flexmatch --strong-augment 2,10
fashion-40pc-lt10|$F40LT|
fashion-40pc-lt10-class-balanced|$F40LT|$CB
fashion-40pc-lt10-threshold|$F40LT|--pseudo-policy threshold
fashion-40pc-lt10-flexmatch|$F40LT|--pseudo-policy flexmatch
fashion-40pc-lt10-freematch|$F40LT|--pseudo-policy freematch
fashion-40pc-lt10-softmatch|$F40LT|--pseudo-policy softmatch
fashion-40pc-lt10-curriculum|$F40LT|--pseudo-policy curriculum
fashion-40pc-lt10-uncertainty|$F40LT|--pseudo-policy uncertainty
fashion-40pc-lt10-balanced|$F40LT|--class-weighting balanced
fashion-40pc-lt10-class-balanced-balanced|$F40LT|--class-weighting balanced $CB
fashion-40pc-lt10-threshold-balanced|$F40LT|--pseudo-policy threshold --class-weighting balanced
fashion-40pc-lt10-flexmatch-balanced|$F40LT|--pseudo-policy flexmatch --class-weighting balanced
fashion-40pc-lt10-freematch-balanced|$F40LT|--pseudo-policy freematch --class-weighting balanced
fashion-40pc-lt10-softmatch-balanced|$F40LT|--pseudo-policy softmatch --class-weighting balanced
fashion-40pc-lt10-curriculum-balanced|$F40LT|--pseudo-policy curriculum --class-weighting balanced
fashion-40pc-lt10-uncertainty-balanced|$F40LT|--pseudo-policy uncertainty --class-weighting balanced"

die() {
    echo "error: $*" >&2
    exit 1
}

lookup() { # NAME -> "data|flags"
    local line
    while IFS= read -r line; do
        if [[ "${line%%|*}" == "$1" ]]; then
            echo "${line#*|}"
            return 0
        fi
    done <<<"$EXPERIMENTS"
    return 1
}

run_one() { # NAME SEED
    local name="$1" seed="$2" spec data flags dir
    spec="$(lookup "$name")" || die "unknown experiment '$name' (see --list)"
    data="${spec%%|*}"
    flags="${spec#*|}"
    if [[ "$LABEL_SETS" == per-seed && "$seed" != 0 ]]; then
        data="$data-s$seed"
    fi
    [[ -d "$data/train" ]] || die "$data is missing: run UNLABELED_PER_CLASS=1000 SEED=$seed scripts/fetch-data.sh (LABELS_PER_CLASS=10 mnist, 40 and 100 fashion)"
    dir="$RESULTS_DIR/$name/seed-$seed"
    if compgen -G "$dir/*/summary.json" >/dev/null; then
        echo "==> $dir: finished earlier, reused" >&2
        return
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    echo "==> $name seed $seed: $SELFTRAIN train --headless --data $data --seed $seed --device $DEVICE $flags" >&2
    # shellcheck disable=SC2086 # flags are deliberately word-split
    "$SELFTRAIN" train --headless --data "$data" --runs-dir "$dir" --seed "$seed" \
        --device "$DEVICE" $flags >"$dir/train.log" 2>&1 ||
        die "$name seed $seed failed: see $dir/train.log"
}

main() {
    if [[ "${1:-}" == "--list" ]]; then
        echo "$EXPERIMENTS" | column -t -s '|'
        return
    fi
    [[ -x "$SELFTRAIN" ]] || cargo build --release --bin selftrain
    local names=("$@")
    [[ ${#names[@]} -gt 0 ]] || names=(mnist-10pc fashion-40pc fashion-100pc)
    local name seed
    for name in "${names[@]}"; do
        lookup "$name" >/dev/null || die "unknown experiment '$name' (see --list)"
    done
    for name in "${names[@]}"; do
        for seed in $SEEDS; do
            run_one "$name" "$seed"
        done
    done
    local table=()
    [[ -z "${SMALLEST_CLASSES:-}" ]] || table=(--smallest-classes "$SMALLEST_CLASSES")
    "$SELFTRAIN" summarize --header "${table[@]}"
    for name in "${names[@]}"; do
        # shellcheck disable=SC2046
        "$SELFTRAIN" summarize "${table[@]}" --label "$name" $(ls -d "$RESULTS_DIR/$name"/seed-*/*/)
    done
}

main "$@"
