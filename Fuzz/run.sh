#!/usr/bin/env bash
# Builds the libFuzzer targets (with AddressSanitizer) and fuzzes each for SECONDS seconds,
# starting from the seed corpus in Fuzz/corpus/<target> (new inputs found go to .build/fuzz-corpus).
#   Fuzz/run.sh           30 s per target (what CI runs)
#   Fuzz/run.sh 3600      the long run: an hour per target
# The run fails when the build fails, when a fuzzer exits non-zero (a crash, a leak, a timeout;
# its input is left in .build/fuzz-artifacts/), or when a fuzzer executed no input at all.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-30}"
build_log=$(mktemp)
trap 'rm -f "$build_log"' EXIT
if ! swift build -c debug -Xswiftc -sanitize=fuzzer,address >"$build_log" 2>&1; then
    grep -vE '^\[[0-9]+/[0-9]+\]' "$build_log" | tail -n 30
    echo "!! the fuzz targets did not build"
    exit 1
fi
bin="$(swift build -c debug -Xswiftc -sanitize=fuzzer,address --show-bin-path)"
mkdir -p .build/fuzz-artifacts
status=0
for pair in FuzzFilter:filter FuzzPatchPath:patch-path FuzzPatchEngine:patch-engine FuzzJSONBody:json-body; do
    target="${pair%%:*}"
    corpus="${pair#*:}"
    mkdir -p ".build/fuzz-corpus/$corpus"
    echo "==> $target for ${seconds}s (seeds: corpus/$corpus)"
    output=$(mktemp)
    fuzzer_status=0
    "$bin/$target" -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix=".build/fuzz-artifacts/$target-" -print_final_stats=1 \
        ".build/fuzz-corpus/$corpus" "corpus/$corpus" >"$output" 2>&1 || fuzzer_status=$?
    grep -E '^(#[0-9]+ *DONE|Done|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY|.*Fatal error|.*precondition)' "$output" || true
    runs=$(awk '/^stat::number_of_executed_units/ {print $2}' "$output")
    if [ "$fuzzer_status" -ne 0 ]; then
        echo "!! $target exited with status $fuzzer_status"
        tail -n 20 "$output"
        status=1
    elif [ -z "$runs" ] || [ "$runs" -eq 0 ]; then
        echo "!! $target executed no input"
        status=1
    fi
    if ls .build/fuzz-artifacts/"$target"-* >/dev/null 2>&1; then
        echo "!! $target found a crash: $(ls .build/fuzz-artifacts/"$target"-*)"
        status=1
    fi
    rm -f "$output"
done
exit "$status"
