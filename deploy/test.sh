#!/usr/bin/env bash
# Runs every test: unit tests of the SCIM core, integration tests against PostgreSQL, and the
# end-to-end suite over HTTP through nginx and the FastCGI responder. Brings the local stack up
# first (as ./deploy/quickstart.sh does) and afterwards stops the parts it started, so the ports
# are free for the next checkout; SCIM_TEST_KEEP_STACK=1 leaves them running. Parts that were
# already running (a quickstart stack) are left as they were.
source "$(dirname "$0")/dev-stack/stack.sh"

db_was_running=false; db_running && db_was_running=true
nginx_was_running=false; nginx_running && nginx_was_running=true
responder_was_running=false; responder_pid >/dev/null && responder_was_running=true
stop_what_we_started() {
    local status=$?
    if [ "${SCIM_TEST_KEEP_STACK:-0}" != 1 ]; then
        $nginx_was_running || nginx_stop
        $responder_was_running || responder_stop
        $db_was_running || db_stop fast
    fi
    exit "$status"
}
trap stop_what_we_started EXIT

# The browser suite needs Debian's Chromium and its driver; the stack itself does not.
DEB_PACKAGES+=(chromium chromium-driver fonts-dejavu-core pgbouncer libfcgi-bin binutils)
stack_up

export SCIM_TEST_BASE_URL="http://$HTTP_LISTEN"
export SCIM_TEST_PROJECT_DIR="$PROJECT_DIR"
export SCIM_TEST_SCIMCTL="$PROJECT_DIR/.build/$BUILD_CONFIG/scimctl"
# The integration tests connect as the owner (they create tenants and fixtures), and as the
# responder's role to check what row-level security lets it do.
export SCIM_TEST_DATABASE_URL="${SCIM_ADMIN_DATABASE_URL:-${DATABASE_URL:-$(cat "$LOCAL_DIR/admin_database_url")}}"
export SCIM_TEST_APP_DATABASE_URL="${DATABASE_URL:-$(cat "$LOCAL_DIR/database_url")}"

cd "$PROJECT_DIR"
say "running the scim2-tester compliance checker"
checker_status=0
Tests/Compliance/scim2-tester.sh "$SCIM_TEST_BASE_URL" "$SCIM_TEST_SCIMCTL" || checker_status=$?

say "checking TLS of the production nginx site"
tls_status=0
Tests/Compliance/tls-check.sh || tls_status=$?

say "running the test suite"
# Serial: the fault tests stop the database and kill workers under the other tests' feet.
swift test --no-parallel "$@" 2>&1 | tee "$LOG_DIR/test-output.log" | grep -vE '^(\[[0-9]+/[0-9]+\]|Compiling|Building|Write|Linking)'
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
    say "tests failed (exit $status); full output in $LOG_DIR/test-output.log"
    exit "$status"
fi

# The console in a real browser (Selenium driving Debian's Chromium), found by its labels.
browser_status=0
if [ $# -eq 0 ]; then
    say "running the console's browser suite (screenshots in $LOG_DIR/console-screenshots)"
    Tests/Browser/run.sh >"$LOG_DIR/browser-output.log" 2>&1 || browser_status=$?
    tail -n 25 "$LOG_DIR/browser-output.log"
    [ "$browser_status" -eq 0 ] || say "the browser suite failed; see $LOG_DIR/browser-output.log"
fi

# One stage of the full run: says what it does, sends the command's output to a log, shows the
# lines of it that tell how it went, and on failure where the log is. Its status is the command's.
STAGE_SECONDS=${SCIM_TEST_STAGE_SECONDS:-1200}
stage() { # description, log file name, pattern of the lines to show, command...
    local description=$1 log="$LOG_DIR/$2" pattern=$3 status=0
    shift 3
    say "$description"
    if declare -F "$1" >/dev/null; then
        "$@" >"$log" 2>&1 || status=$?
    else
        # A script that hangs must fail its stage, not take the rest of the run with it.
        timeout --kill-after=30 "$STAGE_SECONDS" "$@" >"$log" 2>&1 || status=$?
        [ "$status" -ne 124 ] || echo "error: no end after $STAGE_SECONDS s; stopped" >>"$log"
    fi
    grep -E "$pattern" "$log" | head -40 || true
    [ "$status" -eq 0 ] || say "failed (exit $status); see $log"
    return "$status"
}

# PgBouncer in transaction pooling mode between the responder and PostgreSQL: the end-to-end suite
# again, the fault tests included (the responder reaches the database through it even across the
# restarts those tests make).
suite_through_pgbouncer() {
    local status=0
    pgbouncer_start
    export SCIM_RESPONDER_DATABASE_URL SCIM_DB_POOL_MODE=transaction
    SCIM_RESPONDER_DATABASE_URL=$(pgbouncer_url)
    responder_start
    swift test --no-parallel --filter EndToEndTests || status=$?
    unset SCIM_RESPONDER_DATABASE_URL SCIM_DB_POOL_MODE
    responder_start
    pgbouncer_stop
    return "$status"
}

# The Debian package: built, installed with dpkg -i, the README's server steps on Debian's own
# cluster, then the end-to-end suite against the installed binaries; purged afterwards.
suite_on_the_package() {
    local status=0
    Tests/Operations/package-test.sh || status=$?
    if [ "$status" -eq 0 ]; then
        SCIM_RESPONDER_BINARY=/usr/bin/scim-fcgi responder_start
        SCIM_TEST_SCIMCTL=/usr/bin/scimctl swift test --no-parallel --filter EndToEndTests || status=$?
        responder_start
    fi
    dpkg --purge scim-server >/dev/null 2>&1 || true
    return "$status"
}

operations_status=0
if [ $# -eq 0 ]; then
    # A database made by an older commit's migrations, upgraded to this one, passes the PostgreSQL suite.
    stage "upgrading a database made by older migrations, and testing it" upgrade-output.log '^(==>|✔ Test run|✘|error)' \
        Tests/Upgrade/upgrade-test.sh || operations_status=1
    stage "socket activation: systemd-socket-activate, and three restarts under load" socket-activation.log \
        '^(==>|   |restart|service|error)' Tests/Operations/socket-activation.sh || operations_status=1
    stage "a failover to a streaming standby, through a multi-host connection string" failover-test.log '^(==>|   |error)' \
        Tests/Operations/failover-test.sh || operations_status=1
    stage "several responder hosts: what nginx passes on to the next host when one dies mid-request" upstream-retry-test.log \
        '^(==>|   |error)' Tests/Operations/upstream-retry-test.sh || operations_status=1
    stage "a connection lost during COMMIT: 503 with an unknown outcome, and a safe retry" commit-loss-test.log \
        '^(==>|   |error)' Tests/Operations/commit-loss-test.sh || operations_status=1
    stage "the end-to-end suite through PgBouncer in transaction pooling mode" pgbouncer-e2e-output.log \
        '^(==>|✔ Test run|✘)' suite_through_pgbouncer || operations_status=1
    if [ "$(id -u)" -eq 0 ]; then
        stage "high availability: an Entra-shaped cycle while the primary's host and a responder host are killed" \
            ha-test.log '^(==>|sent|acknowledged|stored|lost|duplicated|failed|seconds|event|reads|given|not every|error)' \
            Tests/Operations/ha-test.sh || operations_status=1
        stage "high availability again, each responder's libpq finding the primary (multi-host, read-write)" \
            ha-direct-test.log '^(==>|sent|acknowledged|stored|lost|duplicated|failed|seconds|event|reads|given|not every|error)' \
            env SCIM_HA_POOL=direct Tests/Operations/ha-test.sh || operations_status=1
        stage "the Debian package: build, dpkg -i, the README's steps, the end-to-end suite on the installed binaries" \
            package-test.log '^(==>|   ok|error|→|✔ Test run|✘)' suite_on_the_package || operations_status=1
    else
        say "the high-availability and Debian package tests need root (network namespaces, dpkg -i); skipped in this run as $(id -un)"
    fi
fi

# With a --filter (or any argument) only the tests asked for run; the full run adds the sanitizer
# pass and a short fuzz run. SCIM_TEST_FUZZ_SECONDS sets the fuzzing time per target (default 30).
extra_status=0
if [ $# -eq 0 ]; then
    say "running the unit and PostgreSQL tests under AddressSanitizer"
    # Swift on Linux has no UndefinedBehaviorSanitizer; its debug builds trap on overflow and
    # out-of-bounds access instead. The end-to-end tests talk to the release responder, so skip them here.
    sanitizer_status=0
    LSAN_OPTIONS="suppressions=$PROJECT_DIR/Tests/Sanitizers/lsan.supp" \
        swift test --no-parallel --scratch-path .build/sanitizers --sanitize=address --skip EndToEndTests \
        >"$LOG_DIR/sanitizer-output.log" 2>&1 || sanitizer_status=$?
    grep -E '^(✔ Test run|✘|==[0-9]+==ERROR|SUMMARY)' "$LOG_DIR/sanitizer-output.log" | head -40 || true
    [ "$sanitizer_status" -eq 0 ] || { say "tests under AddressSanitizer failed; see $LOG_DIR/sanitizer-output.log"; extra_status=1; }
    say "fuzzing the parsers (${SCIM_TEST_FUZZ_SECONDS:-30} s per target)"
    fuzz_status=0
    Fuzz/run.sh "${SCIM_TEST_FUZZ_SECONDS:-30}" >"$LOG_DIR/fuzz-output.log" 2>&1 || fuzz_status=$?
    grep -E '^(==>|Done|!!|==[0-9]+==ERROR|SUMMARY)' "$LOG_DIR/fuzz-output.log" || true
    [ "$fuzz_status" -eq 0 ] || { say "fuzzing failed or found a crash; see $LOG_DIR/fuzz-output.log"; extra_status=1; }

    say "the end-to-end suite again, against a responder built with AddressSanitizer"
    # The FastCGI and libpq glue (C interop) runs only in the responder; this pass checks it.
    # Leak checks are off: a worker's memory at exit is not a leak that matters to a server.
    (cd "$PROJECT_DIR" && swift build -c release --product scim-fcgi --scratch-path .build/asan-responder --sanitize=address \
        >"$LOG_DIR/asan-responder-build.log" 2>&1) || { say "the AddressSanitizer build failed; see $LOG_DIR/asan-responder-build.log"; exit 1; }
    export SCIM_RESPONDER_BINARY="$PROJECT_DIR/.build/asan-responder/release/scim-fcgi" ASAN_OPTIONS="detect_leaks=0"
    asan_marker=$(wc -l <"$LOG_DIR/scim-fcgi.log")
    responder_start
    asan_status=0
    swift test --no-parallel --filter EndToEndTests >"$LOG_DIR/asan-e2e-output.log" 2>&1 || asan_status=$?
    grep -E '^(✔ Test run|✘)' "$LOG_DIR/asan-e2e-output.log" | head -40 || true
    if tail -n +"$asan_marker" "$LOG_DIR/scim-fcgi.log" | grep -q 'ERROR: AddressSanitizer'; then
        say "AddressSanitizer reported an error in the responder; see $LOG_DIR/scim-fcgi.log"
        asan_status=1
    fi
    [ "$asan_status" -eq 0 ] || extra_status=1
    unset SCIM_RESPONDER_BINARY ASAN_OPTIONS
    responder_start
fi
[ "$checker_status" -eq 0 ] && [ "$tls_status" -eq 0 ] && [ "$browser_status" -eq 0 ] && [ "$operations_status" -eq 0 ] \
    && [ "$extra_status" -eq 0 ]
