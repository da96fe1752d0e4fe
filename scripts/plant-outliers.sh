#!/usr/bin/env bash
# Planted outliers: measures whether the outlier filter (--outlier-filter) catches images from
# another data set hidden in the unlabelled pool.
#
#   plant ROOT IDX_IMAGES OUT [options]
#       Copies the data root ROOT to OUT (hard links, or symbolic links across file systems:
#       no image is duplicated) and plants foreign images from the uncompressed IDX file
#       IDX_IMAGES in OUT/unlabeled/<class>/ as planted-<tag>-<n>.png, spread evenly over the
#       class folders: unlabelled images whose hidden truth (their folder) is wrong, so
#       accepting them as pseudo-labels teaches the model wrong labels. By default they are
#       added so that they make up 5% of the resulting pool; OUT/planted.txt lists them
#       (paths relative to OUT, as the round CSVs write them).
#       Options: --fraction F (default 0.05), --replace (replace that share of the pool's
#       images instead of adding), --seed N, --spread even|random, --tag NAME.
#   pair MNIST_ROOT FASHION_ROOT [RAW_DIR] [options]
#       Both directions at once: Fashion-MNIST into MNIST_ROOT-planted and MNIST into
#       FASHION_ROOT-planted, from RAW_DIR/{fashion-mnist,mnist}/t10k-images-idx3-ubyte
#       (default data/raw, see scripts/fetch-data.sh).
#   report RUN_DIR [PLANTED_LIST] [--tsv] [--round N]
#       Reads the run's last pseudo_labels_round_N.csv (or round N's) and prints the filter's precision and
#       recall against the planted files (rejected with reason `outlier` = flagged), how many
#       planted images were accepted as pseudo-labels, and the outlier score's AUROC (planted
#       vs clean). PLANTED_LIST defaults to <the run's data root>/planted.txt.
#
# Example (MNIST, 10 labelled per class; the run must use the planted copy as its data):
#   scripts/fetch-data.sh
#   scripts/plant-outliers.sh pair data/mnist-10pc-u1000 data/fashion-mnist-40pc-u1000
#   target/release/selftrain train --headless --data data/mnist-10pc-u1000-planted \
#       --outlier-filter 0.05 --runs-dir runs/planted
#   scripts/plant-outliers.sh report runs/planted/<run>
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
PY="$HERE/plant-outliers.py"

die() {
    echo "error: $*" >&2
    exit 1
}

command -v python3 >/dev/null 2>&1 || die "python3 is required"

# copy_root ROOT OUT: OUT mirrors ROOT with links instead of copies of the files.
copy_root() {
    local root="$1" out="$2"
    [[ -d "$root/unlabeled" ]] || die "$root: not a data root with an unlabeled/ pool"
    [[ ! -e "$out" ]] || die "$out already exists (remove it or choose another OUT)"
    mkdir -p "$(dirname "$out")"
    if cp -al "$root" "$out" 2>/dev/null; then
        echo "==> $out: hard-linked copy of $root"
    else
        rm -rf "$out"
        cp -as "$(cd "$root" && pwd)" "$out" || die "cannot link $root into $out"
        echo "==> $out: symbolic-link copy of $root"
    fi
    # A planted list copied from ROOT would describe ROOT's plants, not OUT's.
    rm -f "$out/planted.txt"
}

plant() {
    [[ $# -ge 3 ]] || die "usage: plant ROOT IDX_IMAGES OUT [options]"
    local root="$1" images="$2" out="$3"
    shift 3
    [[ -f "$images" ]] || die "$images: no such IDX image file"
    copy_root "$root" "$out"
    python3 "$PY" plant "$out" "$images" "$@" || {
        rm -rf "$out"
        die "planting failed; $out removed"
    }
}

pair() {
    [[ $# -ge 2 ]] || die "usage: pair MNIST_ROOT FASHION_ROOT [RAW_DIR] [options]"
    local mnist="$1" fashion="$2" raw="data/raw"
    shift 2
    if [[ $# -gt 0 && "$1" != -* ]]; then
        raw="$1"
        shift
    fi
    plant "$mnist" "$raw/fashion-mnist/t10k-images-idx3-ubyte" "${mnist%/}-planted" \
        --tag fashion "$@"
    plant "$fashion" "$raw/mnist/t10k-images-idx3-ubyte" "${fashion%/}-planted" \
        --tag mnist "$@"
}

case "${1:-}" in
    plant)
        shift
        plant "$@"
        ;;
    pair)
        shift
        pair "$@"
        ;;
    report)
        shift
        python3 "$PY" report "$@"
        ;;
    -h | --help | "")
        awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
        ;;
    *) die "unknown command '$1' (expected plant, pair or report)" ;;
esac
