#!/usr/bin/env bash
# Builds the libFuzzer targets (with AddressSanitizer) and fuzzes each for SECONDS seconds,
# starting from the seed corpus in Fuzz/corpus/<target> (new inputs found go to .build/fuzz-corpus).
#   Fuzz/run.sh           30 s per target (what CI runs)
#   Fuzz/run.sh 3600      the long run: an hour per target
# A crash leaves its input in .build/fuzz-artifacts/ and fails the run.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-30}"
swift build -c debug -Xswiftc -sanitize=fuzzer,address 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' || true
bin="$(swift build -c debug -Xswiftc -sanitize=fuzzer,address --show-bin-path)"
mkdir -p .build/fuzz-artifacts
status=0
for pair in FuzzFilter:filter FuzzPatchPath:patch-path FuzzPatchEngine:patch-engine FuzzJSONBody:json-body; do
    target="${pair%%:*}"
    corpus="${pair#*:}"
    mkdir -p ".build/fuzz-corpus/$corpus"
    echo "==> $target for ${seconds}s (seeds: corpus/$corpus)"
    if ! "$bin/$target" -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
            -artifact_prefix=".build/fuzz-artifacts/$target-" -print_final_stats=1 \
            ".build/fuzz-corpus/$corpus" "corpus/$corpus" 2>&1 | grep -E '^(#[0-9]+ *DONE|Done|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY|.*Fatal error|.*precondition)'; then
        :
    fi
    if ls .build/fuzz-artifacts/"$target"-* >/dev/null 2>&1; then
        echo "!! $target found a crash: $(ls .build/fuzz-artifacts/"$target"-*)"
        status=1
    fi
done
exit "$status"
