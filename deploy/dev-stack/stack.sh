# Shared by quickstart.sh and test.sh: bring the local stack (PostgreSQL cluster, responder,
# nginx) up and down. Everything lives under .local/ in the project folder.
set -euo pipefail

PROJECT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOCAL_DIR="$PROJECT_DIR/.local"
LOG_DIR="$LOCAL_DIR/log"
RUN_DIR="$LOCAL_DIR/run"
PG_PORT="${SCIM_PG_PORT:-54329}"
HTTP_LISTEN="${SCIM_HTTP_LISTEN:-127.0.0.1:8080}"
WORKERS="${SCIM_WORKERS:-4}"
BUILD_CONFIG="${SCIM_BUILD_CONFIG:-release}"
# The dev stack is configured by its environment alone: a server's /etc/scim/scim.env on the same
# machine (an installed package) must not reach it. Name a file here to try one.
export SCIM_CONFIG_FILE="${SCIM_CONFIG_FILE:-/dev/null}"
DEB_PACKAGES=(postgresql postgresql-contrib libpq-dev libfcgi-dev nginx curl ca-certificates openssl python3 python3-venv)

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "need root to run: $*"
    fi
}

install_packages() {
    local missing=()
    for p in "${DEB_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing Debian packages: ${missing[*]}"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    command -v swift >/dev/null || die "Swift 6 is not on PATH; install the toolchain from swift.org first."
}

pg_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$dir" ] || die "PostgreSQL server binaries not found under /usr/lib/postgresql"
    echo "$dir"
}

# Unix socket paths are limited to 107 bytes; a deep project folder gets a short folder in /tmp.
short_dir() {
    local wanted=$1 name=$2
    if [ ${#wanted} -gt 80 ]; then
        local alt="/tmp/scim-$(printf '%s' "$PROJECT_DIR" | md5sum | cut -c1-8)-$name"
        mkdir -p "$alt"
        echo "$alt"
    else
        mkdir -p "$wanted"
        echo "$wanted"
    fi
}

# initdb refuses root, so the cluster runs as an unprivileged user: the caller when not root,
# else "postgres". If that user cannot reach the project folder (e.g. a clone under /root), the
# cluster goes to /var/tmp and .local/postgres links to it.
pg_user() { if [ "$(id -u)" -eq 0 ]; then echo postgres; else id -un; fi; }

run_as_pg() {
    local user; user=$(pg_user)
    if [ "$(id -u)" -eq 0 ]; then runuser -u "$user" -- "$@"; else "$@"; fi
}

pg_root() {
    local user; user=$(pg_user)
    if [ -L "$LOCAL_DIR/postgres" ] || [ -d "$LOCAL_DIR/postgres" ]; then
        readlink -f "$LOCAL_DIR/postgres"; return
    fi
    mkdir -p "$LOCAL_DIR"
    if [ "$(id -u)" -eq 0 ] && ! runuser -u "$user" -- test -x "$LOCAL_DIR"; then
        local alt="/var/tmp/scim-$(printf '%s' "$PROJECT_DIR" | md5sum | cut -c1-8)-postgres"
        mkdir -p "$alt"; chown "$user" "$alt"
        ln -sfn "$alt" "$LOCAL_DIR/postgres"
        echo "$alt"
    else
        mkdir -p "$LOCAL_DIR/postgres"
        [ "$(id -u)" -eq 0 ] && chown "$user" "$LOCAL_DIR/postgres"
        echo "$LOCAL_DIR/postgres"
    fi
}

pg_socket_dir() {
    local dir; dir=$(short_dir "$(pg_root)/run" pgrun)
    [ "$(id -u)" -eq 0 ] && chown "$(pg_user)" "$dir"
    echo "$dir"
}

local_database_url() {
    echo "postgresql:///scim?host=$(pg_socket_dir)&port=$PG_PORT&user=${1:-scim}"
}

db_start() {
    [ -z "${DATABASE_URL:-}" ] || return 0
    local bin root data sock
    bin=$(pg_bin); root=$(pg_root); data="$root/data"; sock=$(pg_socket_dir)
    if [ ! -f "$data/PG_VERSION" ]; then
        say "creating a PostgreSQL cluster in $data"
        run_as_pg "$bin/initdb" -D "$data" -U scim --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
        cat >>"$data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$sock'
port = $PG_PORT
max_connections = 200
shared_buffers = 512MB
# A create writes about 14 KB of WAL, most of it whole pages after each checkpoint: compressed
# pages (27% less WAL, no measurable CPU) and checkpoints every 15 minutes or 4 GB instead of every
# 5 minutes or 1 GB. Durability is unchanged (fsync and synchronous_commit stay on).
wal_compression = lz4
max_wal_size = 4GB
checkpoint_timeout = 15min
CONF
    fi
    if ! run_as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        say "starting PostgreSQL (port $PG_PORT, socket in $sock)"
        run_as_pg "$bin/pg_ctl" -D "$data" -l "$root/postgres.log" -w -t 60 start >/dev/null
    fi
    if ! run_as_pg "$bin/psql" -h "$sock" -p "$PG_PORT" -U scim -d postgres -tAc "select 1 from pg_database where datname='scim'" | grep -q 1; then
        run_as_pg "$bin/psql" -h "$sock" -p "$PG_PORT" -U scim -d postgres -qc "create database scim" >/dev/null
    fi
    mkdir -p "$LOCAL_DIR"
    # The owner (the cluster's superuser here) migrates and administers; the responder connects as
    # scim_app, which row-level security confines to one tenant per transaction (see db_grant_app).
    local_database_url scim >"$LOCAL_DIR/admin_database_url"
}

# After migrations (which create the scim_responder group role): a login role for the responder.
db_grant_app() {
    [ -z "${DATABASE_URL:-}" ] || return 0
    run_as_pg "$(pg_bin)/psql" -h "$(pg_socket_dir)" -p "$PG_PORT" -U scim -d scim -qc \
        "do \$\$ begin if not exists (select 1 from pg_roles where rolname = 'scim_app') then create role scim_app login in role scim_responder; end if; end \$\$" >/dev/null
    local_database_url scim_app >"$LOCAL_DIR/database_url"
}

db_stop() {
    [ -z "${DATABASE_URL:-}" ] || return 0
    local mode=${1:-fast} data; data="$(pg_root)/data"
    [ -f "$data/PG_VERSION" ] || return 0
    if run_as_pg "$(pg_bin)/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        say "stopping PostgreSQL ($mode)"
        run_as_pg "$(pg_bin)/pg_ctl" -D "$data" -m "$mode" -w stop >/dev/null
    fi
}

build() {
    say "building ($BUILD_CONFIG)"
    (cd "$PROJECT_DIR" && swift build -c "$BUILD_CONFIG" --product scim-fcgi >&2 && swift build -c "$BUILD_CONFIG" --product scimctl >&2)
    BIN_DIR="$PROJECT_DIR/.build/$BUILD_CONFIG"
}

scimctl() { "$PROJECT_DIR/.build/$BUILD_CONFIG/scimctl" "$@"; }

responder_socket() { echo "$(short_dir "$RUN_DIR" run)/scim.sock"; }

responder_pid() {
    local f="$RUN_DIR/scim-fcgi.pid"
    [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"
}

responder_stop() {
    local pid
    if pid=$(responder_pid); then
        say "stopping the responder (pid $pid)"
        kill -TERM "$pid"
        for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    fi
    rm -f "$RUN_DIR/scim-fcgi.pid"
}

responder_start() {
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    responder_stop
    local sock; sock=$(responder_socket)
    say "starting scim-fcgi with $WORKERS workers on $sock"
    rm -f "$RUN_DIR/scim-fcgi.exit"
    # scimctl prints endpoint URLs with the same origin the responder uses.
    echo "${SCIM_PUBLIC_URL:-http://$HTTP_LISTEN}" >"$LOCAL_DIR/public_url"
    # The wrapper records the exit status, so a stop can be checked for a clean exit 0.
    # SCIM_RESPONDER_DATABASE_URL points the responder alone elsewhere (the suite's PgBouncer pass),
    # surviving the restarts the fault tests make; the stack's own database stays the local cluster.
    SCIM_PUBLIC_URL="${SCIM_PUBLIC_URL:-http://$HTTP_LISTEN}" DATABASE_URL="${SCIM_RESPONDER_DATABASE_URL:-${DATABASE_URL:-}}" \
        setsid bash -c '"$@"; echo $? >"'"$RUN_DIR"'/scim-fcgi.exit"' scim-fcgi \
        "${SCIM_RESPONDER_BINARY:-$PROJECT_DIR/.build/$BUILD_CONFIG/scim-fcgi}" --listen "$sock" --workers "$WORKERS" \
        --pid-file "$RUN_DIR/scim-fcgi.pid" </dev/null >>"$LOG_DIR/scim-fcgi.log" 2>&1 &
    for _ in $(seq 1 50); do [ -S "$sock" ] && responder_pid >/dev/null && return 0; sleep 0.1; done
    tail -n 20 "$LOG_DIR/scim-fcgi.log" >&2
    die "the responder did not start; see $LOG_DIR/scim-fcgi.log"
}

nginx_conf() { echo "$LOCAL_DIR/nginx/nginx.conf"; }

nginx_start() {
    local prefix="$LOCAL_DIR/nginx" user_directive=""
    mkdir -p "$prefix/tmp" "$LOG_DIR"
    [ "$(id -u)" -eq 0 ] && user_directive="user root root;"
    sed -e "s|@PREFIX@|$prefix|g" -e "s|@LOGDIR@|$LOG_DIR|g" \
        -e "s|@UPSTREAM_SERVERS@|${NGINX_UPSTREAM_SERVERS:-server unix:$(responder_socket);}|g" \
        -e "s|@LISTEN@|$HTTP_LISTEN|g" -e "s|@DEPLOY@|$PROJECT_DIR/deploy|g" -e "s|@USER_DIRECTIVE@|$user_directive|g" \
        -e "s|@TENANT_RATE@|${SCIM_TENANT_RATE:-5000}|g" -e "s|@TENANT_BURST@|$(( 2 * ${SCIM_TENANT_RATE:-5000} ))|g" \
        -e "s|@ADDRESS_RATE@|${SCIM_ADDRESS_RATE:-10000}|g" -e "s|@ADDRESS_BURST@|$(( 2 * ${SCIM_ADDRESS_RATE:-10000} ))|g" \
        "$PROJECT_DIR/deploy/nginx/scim-dev.conf.in" >"$(nginx_conf)"
    # A broken config must stop here, not be reloaded in silence (nginx would keep the old one).
    nginx_run -t -q || die "nginx refused its configuration $(nginx_conf)"
    if [ -f "$prefix/nginx.pid" ] && kill -0 "$(cat "$prefix/nginx.pid")" 2>/dev/null; then
        nginx_run -s reload || die "nginx did not reload; see $LOG_DIR/nginx-error.log"
    else
        say "starting nginx on http://$HTTP_LISTEN"
        nginx_run || die "nginx did not start; see $LOG_DIR/nginx-error.log"
    fi
}

# Runs nginx on the dev prefix and config, showing what it says except the one warning a
# non-root run always gets (the config names a user only root can switch to) and the notice a
# reload signal prints; its status is nginx's.
nginx_run() {
    local output status=0
    output=$(nginx -p "$LOCAL_DIR/nginx" -c "$(nginx_conf)" "$@" 2>&1) || status=$?
    printf '%s\n' "$output" | grep -v -e 'the "user" directive' -e 'signal process started' -e '^$' >&2 || true
    return "$status"
}

nginx_stop() {
    local prefix="$LOCAL_DIR/nginx"
    if [ -f "$prefix/nginx.pid" ] && kill -0 "$(cat "$prefix/nginx.pid")" 2>/dev/null; then
        say "stopping nginx"
        nginx_run -s quit || kill "$(cat "$prefix/nginx.pid")"
    fi
}

stack_up() {
    install_packages
    db_start
    build
    say "migrating the database"
    scimctl migrate >&2
    db_grant_app
    responder_start
    nginx_start
}

# PgBouncer in transaction pooling mode in front of the local cluster, for the suite's pooled pass:
# as many server connections as workers (the fair-share tests hold some of them in lock waits), and
# transactions move between them.
PGBOUNCER_PORT="${SCIM_PGBOUNCER_PORT:-54330}"
# Beside the cluster, which its user can reach wherever the project folder is.
pgbouncer_dir() { echo "$(pg_root)/pgbouncer"; }
pgbouncer_url() { echo "postgresql:///scim?host=$(pg_socket_dir)&port=$PGBOUNCER_PORT&user=scim_app"; }
# The [pgbouncer] settings every PgBouncer here shares (this stack's, the HA scenario's), after its
# listening address; it also writes the user list they name.
pgbouncer_common_settings() { # folder pool_mode pool_size
    echo '"scim_app" ""' >"$1/users.txt"
    cat <<INI
auth_type = trust
auth_file = $1/users.txt
pool_mode = $2
default_pool_size = $3
max_client_conn = 200
server_reset_query =
# After the database restarts, try it again within a second (default 15 s), and answer a client
# that waited 10 s for a server connection with an error (the responder answers 503) rather than
# keep it past nginx's timeout.
server_login_retry = 1
query_wait_timeout = 10
ignore_startup_parameters = application_name
logfile = $1/pgbouncer.log
pidfile = $1/pgbouncer.pid
INI
}
pgbouncer_start() {
    local dir; dir=$(pgbouncer_dir)
    mkdir -p "$dir"
    cat >"$dir/pgbouncer.ini" <<INI
[databases]
scim = host=$(pg_socket_dir) port=$PG_PORT dbname=scim

[pgbouncer]
listen_addr =
unix_socket_dir = $(pg_socket_dir)
listen_port = $PGBOUNCER_PORT
$(pgbouncer_common_settings "$dir" transaction "$WORKERS")
INI
    [ "$(id -u)" -eq 0 ] && chown -R "$(pg_user)" "$dir"
    pgbouncer_stop
    say "starting PgBouncer (transaction pooling) on port $PGBOUNCER_PORT"
    # PgBouncer will not run as root; the cluster's user runs it.
    run_as_pg pgbouncer -d "$dir/pgbouncer.ini" >/dev/null
    for _ in $(seq 1 50); do [ -S "$(pg_socket_dir)/.s.PGSQL.$PGBOUNCER_PORT" ] && return 0; sleep 0.1; done
    die "PgBouncer did not start; see $(pgbouncer_dir)/pgbouncer.log"
}
pgbouncer_stop() {
    local pidfile pid; pidfile="$(pgbouncer_dir)/pgbouncer.pid"
    pid=$(cat "$pidfile" 2>/dev/null) || return 0
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$pidfile"
}

db_running() {
    [ -z "${DATABASE_URL:-}" ] || return 1
    [ -f "$(pg_root)/data/PG_VERSION" ] && run_as_pg "$(pg_bin)/pg_ctl" -D "$(pg_root)/data" status >/dev/null 2>&1
}

nginx_running() {
    [ -f "$LOCAL_DIR/nginx/nginx.pid" ] && kill -0 "$(cat "$LOCAL_DIR/nginx/nginx.pid")" 2>/dev/null
}

stack_down() {
    nginx_stop
    responder_stop
    db_stop fast
}
