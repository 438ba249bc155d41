#!/usr/bin/env bash
# The console's browser suite: a real Chromium (Debian's chromium and chromium-driver) driven by
# Selenium against the running stack. deploy/test.sh calls it with the stack up; by hand:
#   Tests/Browser/run.sh [pytest arguments]     (after ./deploy/quickstart.sh)
# Screenshots of every page go to .local/log/console-screenshots/.
set -euo pipefail
project_dir=$(cd "$(dirname "$0")/../.." && pwd)
venv="$project_dir/.local/venv-browser"
for command in chromium chromedriver; do
    command -v "$command" >/dev/null || { echo "$command is missing: apt-get install chromium chromium-driver" >&2; exit 1; }
done
if [ ! -x "$venv/bin/pytest" ] || ! "$venv/bin/python" -c 'import selenium' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check 'selenium==4.*' 'pytest==9.*'
fi
export SCIM_TEST_BASE_URL="${SCIM_TEST_BASE_URL:-http://$(cat "$project_dir/.local/public_url" 2>/dev/null | sed 's|^https\{0,1\}://||' || echo 127.0.0.1:8080)}"
export SCIM_TEST_SCIMCTL="${SCIM_TEST_SCIMCTL:-$project_dir/.build/release/scimctl}"
export SCIM_TEST_DATABASE_URL="${SCIM_TEST_DATABASE_URL:-$(cat "$project_dir/.local/admin_database_url")}"
export SCIM_TEST_SCREENSHOTS="${SCIM_TEST_SCREENSHOTS:-$project_dir/.local/log/console-screenshots}"
rm -rf "$SCIM_TEST_SCREENSHOTS"
cd "$project_dir/Tests/Browser"
exec "$venv/bin/pytest" -q -p no:cacheprovider "$@"
