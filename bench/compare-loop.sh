#!/usr/bin/env bash
# The whole self-training loop side by side: `selftrain train --headless` on each CPU backend
# and the PyTorch twin of the loop (bench/twin_selftrain.py), on the same data root and seeds,
# interleaved (seed by seed, tool by tool) so machine noise hits all alike. Prints wall time,
# time to a common accuracy, and accuracy, with the ratios to the twin.
#
#   bench/compare-loop.sh --data ROOT [--seeds "0 1 2"] [--devices "flex tch-cpu"]
#                         (devices: flex, tch-cpu, ndarray, openblas; see bench/compare.sh)
#                         [--threads N] [--out DIR] [-- EXTRA SELFTRAIN/TWIN FLAGS]
#
# Extra flags after `--` go to both tools (only those the twin also knows: --warmup-epochs,
# --rounds, --epochs-per-round). Each run's directory and JSON stay under --out (default
# runs/compare-loop), and a finished run is reused when the script is run again.
#
# Needs the libtorch venv (scripts/setup-libtorch.sh), whose torch runs the twin; the tch-cpu
# rows need the tch build (target/tch/release/selftrain, see README), the flex rows the default
# build (target/release/selftrain). A device whose binary is missing is left out with a note.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=""
SEEDS="0 1 2"
DEVICES="flex tch-cpu"
THREADS="$(nproc)"
OUT=runs/compare-loop
EXTRA=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --data) DATA="$2"; shift 2 ;;
        --seeds) SEEDS="$2"; shift 2 ;;
        --devices) DEVICES="$2"; shift 2 ;;
        --threads) THREADS="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --) shift; EXTRA=("$@"); break ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
[[ -n "$DATA" && -d "$DATA/train" ]] || { echo "error: --data ROOT (a data root with train/) is required" >&2; exit 2; }

VENV="${VENV:-.venv-libtorch}"
PY="${PYTHON:-$VENV/bin/python}"
[[ -x "$PY" ]] || { echo "error: $PY missing: run scripts/setup-libtorch.sh" >&2; exit 1; }
binary_for() {
    case "$1" in
        tch-cpu|cuda*) echo "${SELFTRAIN_TCH:-target/tch/release/selftrain}" ;;
        ndarray) echo "${SELFTRAIN_NDARRAY:-target/ndarray/release/selftrain}" ;;
        openblas) echo "${SELFTRAIN_OPENBLAS:-target/openblas/release/selftrain}" ;;
        *) echo "${SELFTRAIN:-target/release/selftrain}" ;;
    esac
}
device_of() { # openblas is the ndarray device of the OpenBLAS build
    if [[ "$1" == openblas ]]; then echo ndarray; else echo "$1"; fi
}

# The same thread count for every tool: rayon (flex, ndarray), OpenMP/MKL (libtorch) and torch.
export OMP_NUM_THREADS="$THREADS" MKL_NUM_THREADS="$THREADS" RAYON_NUM_THREADS="$THREADS"
mkdir -p "$OUT"
now() { date +%s.%N; }

for seed in $SEEDS; do
    for dev in $DEVICES; do
        bin="$(binary_for "$dev")"
        if [[ ! -x "$bin" ]]; then
            echo "note: $bin missing: $dev left out" >&2
            continue
        fi
        dir="$OUT/selftrain-$dev/seed-$seed"
        if compgen -G "$dir/run/summary.json" >/dev/null && [[ -f "$dir/wall_s" ]]; then
            echo "==> $dir: finished earlier, reused" >&2
            continue
        fi
        rm -rf "$dir" && mkdir -p "$dir"
        echo "==> seed $seed: selftrain on $dev" >&2
        t0="$(now)"
        # The twin implements class-balanced acceptance, the default until FlexMatch replaced it.
        "$bin" train --headless --data "$DATA" --runs-dir "$dir/runs" --seed "$seed" \
            --device "$(device_of "$dev")" --pseudo-policy class-balanced "${EXTRA[@]}" \
            >"$dir/train.log" 2>&1 ||
            { echo "error: selftrain on $dev failed: see $dir/train.log" >&2; exit 1; }
        t1="$(now)"
        mv "$(ls -d "$dir"/runs/*/ | head -1)" "$dir/run" && rmdir "$dir/runs"
        awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }' >"$dir/wall_s"
    done
    dir="$OUT/pytorch-twin/seed-$seed"
    if [[ -f "$dir/result.json" && -f "$dir/wall_s" ]]; then
        echo "==> $dir: finished earlier, reused" >&2
    else
        rm -rf "$dir" && mkdir -p "$dir"
        echo "==> seed $seed: the PyTorch twin" >&2
        t0="$(now)"
        "$PY" bench/twin_selftrain.py --data "$DATA" --seed "$seed" --threads "$THREADS" \
            "${EXTRA[@]}" >"$dir/result.json" 2>"$dir/train.log" ||
            { echo "error: the twin failed: see $dir/train.log" >&2; exit 1; }
        t1="$(now)"
        awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }' >"$dir/wall_s"
    fi
done

"$PY" bench/compare_loop_table.py "$OUT" --seeds $SEEDS --threads "$THREADS"
