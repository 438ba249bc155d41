#!/usr/bin/env bash
# Runs the public SCIM compliance checker scim2-tester (PyPI) against the running server, on a
# fresh tenant of its own (it expects to find what it creates on the first page of a listing).
# Usage: Tests/Compliance/scim2-tester.sh BASE_URL SCIMCTL   (deploy/test.sh calls it)
set -euo pipefail
base_url=$1
scimctl=$2
project_dir=$(cd "$(dirname "$0")/../.." && pwd)
venv="$project_dir/.local/venv-scim2"

if [ ! -x "$venv/bin/scim2" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check 'scim2-tester==0.5.2' 'scim2-cli==0.6.0'
fi

slug="checker-$(date +%s)-$RANDOM"
"$scimctl" tenant create "$slug" --name "scim2-tester run" --enable-scim >/dev/null
token=$("$scimctl" key create "$slug" --name scim2-tester --scope scim | sed -n 's/^SCIM_TOKEN=//p')

output="$project_dir/.local/log/scim2-tester.log"
status=0
# The token goes through the environment, not the command line (scim2-cli's advice).
SCIM_CLI_HEADERS="Authorization: Bearer $token" "$venv/bin/scim2" --url "$base_url/scim/v2/$slug" test >"$output" 2>&1 || status=$?
passed=$(grep -c '^SUCCESS' "$output" || true)
failed=$(grep -cE '^(ERROR|CRITICAL|WARNING)' "$output" || true)
grep -A3 -E '^(ERROR|CRITICAL|WARNING)' "$output" | cut -c1-300 || true
echo "scim2-tester: $passed passed, $failed failed"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -lt 135 ]; then
    echo "scim2-tester failed (exit $status); its output is in $output" >&2
    exit 1
fi
