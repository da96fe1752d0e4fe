#!/usr/bin/env bash
# Fuzzes the input parsers for a bounded time each and fails if any crash is found:
#   idx     parse_idx_images / parse_idx_labels on arbitrary bytes (raw or gzip)
#   config  TrainConfig::from_toml_str on arbitrary UTF-8 (plus a to_toml round trip)
#   image   decode_image_file on arbitrary bytes, under every file extension
# Not part of CI. Needs cargo-fuzz (`cargo install cargo-fuzz`) and libFuzzer's nightly
# compiler flags: a nightly toolchain is used when rustup has one, else the stable compiler
# with RUSTC_BOOTSTRAP=1. The first build compiles the crate and its dependencies with
# sanitizer instrumentation into fuzz/target/ (several minutes).
#
# Usage: scripts/fuzz.sh [TARGET...]          (default: idx config image)
# Environment:
#   FUZZ_SECONDS   fuzzing time per target (default 60)
#   FUZZ_RSS_MB    libFuzzer memory limit per process, MiB (default 2560; the image decoder may
#                  allocate up to 512 MiB for one image by design)
#   FUZZ_TIMEOUT   seconds one input may take before it counts as a hang (default 30)
#   FUZZ_ARGS      extra `cargo fuzz run` options, e.g. "--sanitizer none" or "-j 2"
# Crashing inputs are kept in fuzz/artifacts/<target>/; the corpus grows in fuzz/corpus/<target>/
# (both git-ignored). Reproduce one with: cargo fuzz run <target> fuzz/artifacts/<target>/<file>
set -euo pipefail

cd "$(dirname "$0")/.."

FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
FUZZ_RSS_MB="${FUZZ_RSS_MB:-2560}"
FUZZ_TIMEOUT="${FUZZ_TIMEOUT:-30}"
read -r -a extra <<<"${FUZZ_ARGS:-}"
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(idx config image)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "error: cargo-fuzz is not installed: cargo install cargo-fuzz" >&2
    exit 1
fi
toolchain=()
if command -v rustup >/dev/null 2>&1 && rustup toolchain list | grep -q '^nightly'; then
    toolchain=(+nightly)
else
    export RUSTC_BOOTSTRAP=1
fi

# Small seed corpora, so the fuzzer starts from valid inputs.
seed() {
    local target="$1" name="$2"
    mkdir -p "fuzz/corpus/$target"
    cat >"fuzz/corpus/$target/seed-$name"
}
printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x02\x01\x02\x03\x04\x05\x06\x07\x08' |
    seed idx images
printf '\x00\x00\x08\x01\x00\x00\x00\x03\x00\x01\x02' | seed idx labels
printf '\x00\x00\x08\x01\x00\x00\x00\x03\x00\x01\x02' | gzip -c | seed idx labels-gz
printf 'threshold = 0.8\nrounds = 2\nimage_size = [28, 28]\nacceptance = "threshold"\n' |
    seed config basic
printf 'data = "d"\ndevice = "cuda:1"\nclass_weights = [1.0, 2.5]\non_bad_image = "fail"\nchannels = 3\n' |
    seed config fields
# The image target's first byte picks the extension (0 = png) and the shape.
shopt -s nullglob
pngs=(sample-data/train/*/*.png)
for png in "${pngs[@]:0:3}"; do
    { printf '\x00'; cat "$png"; } | seed image "$(basename "$png")"
done

failed=()
for target in "${targets[@]}"; do
    echo "==> fuzzing $target for ${FUZZ_SECONDS}s"
    log="fuzz/artifacts/$target.log"
    mkdir -p "fuzz/artifacts/$target"
    set +e
    nice cargo "${toolchain[@]}" fuzz run "${extra[@]}" "$target" -- \
        -max_total_time="$FUZZ_SECONDS" -rss_limit_mb="$FUZZ_RSS_MB" \
        -timeout="$FUZZ_TIMEOUT" -print_final_stats=1 2>&1 | tee "$log" |
        grep -E '^(#[0-9]+ +(INITED|DONE)|Done |==[0-9]+==|SUMMARY|ERROR|thread .* panicked|stat::number_of_executed_units|error)'
    status="${PIPESTATUS[0]}"
    set -e
    if [[ "$status" -ne 0 ]]; then
        echo "!! $target: fuzzer exited with $status; see $log and fuzz/artifacts/$target/" >&2
        failed+=("$target")
    fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "no crash in ${targets[*]} (${FUZZ_SECONDS}s each)"
