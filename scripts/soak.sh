#!/usr/bin/env bash
# Soak test: a long headless run (32 self-training rounds by default) on sample-data/ with the
# release binary, sampling its resident memory (VmRSS from /proc/PID/status) every second into
# a CSV. At the end it prints the peak RSS of each round, compares the round after the first
# SOAK_BASE_ROUNDS rounds with the last one, and fails when memory grew by more than
# SOAK_MAX_GROWTH percent (or the run failed, or did fewer than SOAK_MIN_ROUNDS rounds).
#
# The run keeps going for all its rounds although the engine stops early when a round accepts
# no new pseudo-label or validation stops improving: --patience 0 disables the latter, and
# plain threshold acceptance at τ = 0.9 after a 20-epoch warm-up keeps a band of the 2,000-image
# pool crossing the threshold both ways (pseudo-labels are recomputed every round), so every
# round has new ones. (After only 5 warm-up epochs nothing reaches even τ = 0.5, and the run
# stops after its first round.) Linux only (/proc).
#
# Usage: scripts/soak.sh [extra train flags...]
# Environment:
#   SELFTRAIN          the binary (default target/release/selftrain, built if missing)
#   SOAK_DATA          data root (default sample-data)
#   SOAK_ROUNDS        rounds asked for (default 32)
#   SOAK_WARMUP        warm-up epochs (default 20)
#   SOAK_THRESHOLD     τ (default 0.9)
#   SOAK_MIN_ROUNDS    rounds the run must complete (default 30)
#   SOAK_BASE_ROUNDS   rounds after which the baseline is taken (default 3)
#   SOAK_MAX_GROWTH    allowed RSS growth in percent (default 5)
#   SOAK_OUT           folder for the run directory, log and rss.csv (default: a new temp folder)
set -euo pipefail

cd "$(dirname "$0")/.."

SELFTRAIN="${SELFTRAIN:-target/release/selftrain}"
SOAK_DATA="${SOAK_DATA:-sample-data}"
SOAK_ROUNDS="${SOAK_ROUNDS:-32}"
SOAK_WARMUP="${SOAK_WARMUP:-20}"
SOAK_THRESHOLD="${SOAK_THRESHOLD:-0.9}"
SOAK_MIN_ROUNDS="${SOAK_MIN_ROUNDS:-30}"
SOAK_BASE_ROUNDS="${SOAK_BASE_ROUNDS:-3}"
SOAK_MAX_GROWTH="${SOAK_MAX_GROWTH:-5}"
SOAK_OUT="${SOAK_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/selftrain-soak.XXXXXX")}"

if [[ ! -x "$SELFTRAIN" && "$SELFTRAIN" == target/release/selftrain ]]; then
    echo "==> building $SELFTRAIN"
    cargo build --release --bin selftrain
fi
[[ -x "$SELFTRAIN" ]] || { echo "error: selftrain binary $SELFTRAIN not found" >&2; exit 1; }
[[ -r /proc/self/status ]] || { echo "error: needs /proc (Linux)" >&2; exit 1; }

mkdir -p "$SOAK_OUT/runs"
csv="$SOAK_OUT/rss.csv"
log="$SOAK_OUT/train.log"
echo "==> soak: $SOAK_ROUNDS rounds on $SOAK_DATA; output in $SOAK_OUT"

"$SELFTRAIN" train --headless --data "$SOAK_DATA" --runs-dir "$SOAK_OUT/runs" \
    --warmup-epochs "$SOAK_WARMUP" --epochs-per-round 1 --rounds "$SOAK_ROUNDS" --patience 0 \
    --threshold "$SOAK_THRESHOLD" --acceptance threshold --seed 0 "$@" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' INT TERM

# Sample once a second: elapsed seconds, VmRSS (KiB), rounds finished so far.
echo "elapsed_s,rss_kib,rounds_done" >"$csv"
start=$(date +%s)
metrics=""
while kill -0 "$pid" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    if [[ -z "$metrics" ]]; then
        metrics=$(find "$SOAK_OUT/runs" -name metrics.jsonl 2>/dev/null | head -n 1)
    fi
    rounds=0
    if [[ -n "$metrics" ]]; then
        rounds=$(grep -c '"type":"round_finished"' "$metrics" || true)
    fi
    [[ -n "$rss" ]] && echo "$(($(date +%s) - start)),$rss,$rounds" >>"$csv"
    sleep 1
done
set +e
wait "$pid"
status=$?
set -e
trap - INT TERM
tail -n 2 "$log"
if [[ "$status" -ne 0 ]]; then
    echo "error: the run exited with $status (log: $log)" >&2
    exit 1
fi

summary=$(find "$SOAK_OUT/runs" -name summary.json | head -n 1)
done_rounds=$(grep -o '"rounds_completed": *[0-9]*' "$summary" | grep -o '[0-9]*$')
stop=$(grep -o '"stop_reason": *"[^"]*"' "$summary" | sed 's/.*: *//')
echo "stop reason: $stop"

# Peak RSS while each round ran: samples with `rounds_done` = r were taken during round r + 1
# (r = 0: warm-up and round 1), those with r = the final count during the final evaluation.
awk -F, -v base_rounds="$SOAK_BASE_ROUNDS" -v min_rounds="$SOAK_MIN_ROUNDS" \
    -v done_rounds="$done_rounds" \
    -v max_growth="$SOAK_MAX_GROWTH" -v nproc="$(nproc)" '
    NR == 1 { next }
    {
        r = $3 + 0
        if (!(r in peak) || $2 > peak[r]) peak[r] = $2
        if (r > last) last = r
        secs = $1
    }
    END {
        printf "round  peak RSS (MiB)\n"
        for (r = 0; r <= last; r++) {
            if (r in peak) printf "%5s  %8.1f\n", (r == done_rounds ? "end" : r + 1), peak[r] / 1024
        }
        if (!(base_rounds in peak)) {
            print "error: no sample taken after " base_rounds " rounds" > "/dev/stderr"
            exit 1
        }
        base = peak[base_rounds]
        # The end: the final round (the last window before the final evaluation).
        e = done_rounds - 1
        while (e > base_rounds && !(e in peak)) e--
        end = peak[e]
        growth = (end - base) * 100 / base
        last = done_rounds
        printf "rounds done: %d, %d s on %d cores\n", last, secs, nproc
        printf "peak RSS in round %d (after the first %d): %.1f MiB; in round %d (the last): %.1f MiB; growth %+.2f%%\n",
            base_rounds + 1, base_rounds, base / 1024, e + 1, end / 1024, growth
        # A steady leak grows in the second half too; a one-off step (allocator high-water mark)
        # does not.
        h = int((base_rounds + e) / 2)
        while (h < e && !(h in peak)) h++
        if (h < e) {
            printf "second half: round %d %.1f MiB -> round %d %.1f MiB, growth %+.2f%%\n",
                h + 1, peak[h] / 1024, e + 1, end / 1024, (end - peak[h]) * 100 / peak[h]
        }
        bad = 0
        if (last < min_rounds) {
            printf "FAIL: only %d rounds done (want %d)\n", last, min_rounds
            bad = 1
        }
        if (growth > max_growth) {
            printf "FAIL: RSS grew by more than %s%%\n", max_growth
            bad = 1
        }
        if (!bad) printf "OK: growth within %s%%\n", max_growth
        exit bad
    }' "$csv"
