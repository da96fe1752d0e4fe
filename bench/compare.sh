#!/usr/bin/env bash
# Side-by-side: selftrain on flex and tch-cpu (or cuda) against PyTorch eager, same CNN, batch,
# data shape, optimizer and thread count, repeats interleaved so machine noise hits all alike.
# Prints the median per-step times and the ratios to PyTorch.
#
#   bench/compare.sh [--repeats 3] [--batch-size 64] [--cuda] [--threads N]
#                    [--model default|resnet8|resnet20|resnet18] [--size 28x28] [--channels 1]
#                    [--devices "flex tch-cpu"]
#
# --devices takes flex, tch-cpu, ndarray and openblas (the ndarray device of the build with
# OpenBLAS); each runs from its own build: target/tch/release/selftrain (flex and tch-cpu, or
# $SELFTRAIN), target/ndarray/release/selftrain ($SELFTRAIN_NDARRAY) and
# target/openblas/release/selftrain ($SELFTRAIN_OPENBLAS).
#
# Needs the tch build (target/tch/release/selftrain, see README) and the libtorch venv
# (scripts/setup-libtorch.sh), whose torch also runs the PyTorch side.
set -euo pipefail
cd "$(dirname "$0")/.."

REPEATS=3
BATCH=64
CUDA=0
THREADS="$(nproc)"
MODEL=default
SIZE=28x28
CHANNELS=1
DEVICES="flex tch-cpu"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --repeats) REPEATS="$2"; shift 2 ;;
        --batch-size) BATCH="$2"; shift 2 ;;
        --cuda) CUDA=1; shift ;;
        --threads) THREADS="$2"; shift 2 ;;
        --model) MODEL="$2"; shift 2 ;;
        --size) SIZE="$2"; shift 2 ;;
        --channels) CHANNELS="$2"; shift 2 ;;
        --devices) DEVICES="$2"; shift 2 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done

SELFTRAIN="${SELFTRAIN:-target/tch/release/selftrain}"
VENV="${VENV:-.venv-libtorch}"
PY="${PYTHON:-$VENV/bin/python}"
[[ -x "$SELFTRAIN" ]] || { echo "error: $SELFTRAIN missing: build with --features tch (README)" >&2; exit 1; }

export OMP_NUM_THREADS="$THREADS" MKL_NUM_THREADS="$THREADS" RAYON_NUM_THREADS="$THREADS"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT

if [[ "$CUDA" == 1 ]]; then
    configs=("selftrain:cuda" "pytorch:cuda")
else
    configs=()
    for d in $DEVICES; do configs+=("selftrain:$d"); done
    configs+=("pytorch:cpu")
fi
for r in $(seq "$REPEATS"); do
    for c in "${configs[@]}"; do
        tool="${c%%:*}" dev="${c#*:}"
        echo "repeat $r: $tool on $dev" >&2
        if [[ "$tool" == selftrain ]]; then
            bin="$SELFTRAIN" device="$dev"
            case "$dev" in
                ndarray) bin="${SELFTRAIN_NDARRAY:-target/ndarray/release/selftrain}" ;;
                openblas) bin="${SELFTRAIN_OPENBLAS:-target/openblas/release/selftrain}" device=ndarray ;;
            esac
            [[ -x "$bin" ]] || { echo "error: $bin missing (build it with --features $dev)" >&2; exit 1; }
            # The row is labelled with the name asked for (ndarray and openblas share a device).
            "$bin" bench --device "$device" --batch-size "$BATCH" --model "$MODEL" --size "$SIZE" --channels "$CHANNELS" |
                "$PY" -c 'import json,sys; r = json.load(sys.stdin); r["device"] = sys.argv[1]; print(json.dumps(r))' "$dev" >>"$out"
        else
            "$PY" bench/pytorch_bench.py --device "$dev" --batch-size "$BATCH" --threads "$THREADS" \
                --model "$MODEL" --size "$SIZE" --channels "$CHANNELS" >>"$out"
        fi
    done
done

"$PY" - "$out" <<'PYEOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in rows:
    by.setdefault(r["device"], []).append(r)
ref = next(k for k in by if k.startswith("pytorch"))
med = lambda k, f: statistics.median(r[f] for r in by[k])
print(f"batch {rows[0]['batch_size']}, shape {rows[0]['shape']}, threads {rows[0]['threads']}, {len(by[ref])} repeats (medians)")
print(f"{'backend':<14} {'train ms/step':>13} {'infer ms/batch':>14} {'train ×PyTorch':>14} {'infer ×PyTorch':>14} {'peak RSS MiB':>12}")
for k in by:
    t, i = med(k, "train_ms_per_step"), med(k, "infer_ms_per_batch")
    print(f"{k:<14} {t:>13.2f} {i:>14.2f} {t / med(ref, 'train_ms_per_step'):>14.2f} {i / med(ref, 'infer_ms_per_batch'):>14.2f} {max(r['peak_rss_mib'] or 0 for r in by[k]):>12.0f}")
PYEOF
