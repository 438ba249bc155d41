#!/usr/bin/env bash
# The high-availability topology on one machine, each "host" a network namespace on one bridge:
#   mon   10.78.0.10  pg_auto_failover monitor
#   db1   10.78.0.11  PostgreSQL node (pg_autoctl keeper)
#   db2   10.78.0.12  PostgreSQL node (pg_autoctl keeper)
#   app1  10.78.0.21  scim-fcgi prefork supervisor (FastCGI on :9000), PgBouncer on 127.0.0.1:6432
#   app2  10.78.0.22  the same
#   nginx on this machine (SCIM_HA_HTTP_LISTEN, 127.0.0.1:8095), one upstream of both app hosts.
# The two PostgreSQL nodes replicate synchronously (an acknowledged commit is on both); the monitor
# promotes the standby when the primary dies. Each app host's PgBouncer is pointed at the primary
# by pgbouncer-follow-primary.sh, which asks the monitor.
#
#   deploy/ha/scenario.sh up               build, bring everything up, print SCIM_URL and SCIM_TOKEN
#   deploy/ha/scenario.sh status           who is primary, which hosts run
#   deploy/ha/scenario.sh kill-primary     SIGKILL every process on the primary's host (postmaster,
#                                          keeper, PgBouncer): the machine dies, nothing shuts down
#   deploy/ha/scenario.sh kill-responder N SIGKILL every process on host appN (supervisor, workers)
#   deploy/ha/scenario.sh stop-responder N SIGTERM to appN's supervisor (an orderly stop); start-responder N
#   deploy/ha/scenario.sh down             stop and remove everything it made, namespaces included
source "$(dirname "${BASH_SOURCE[0]}")/../dev-stack/stack.sh"

HA_NET="${SCIM_HA_NET:-10.78.0}"
HTTP_LISTEN="${SCIM_HA_HTTP_LISTEN:-127.0.0.1:8095}"
HA_WORKERS="${SCIM_HA_WORKERS:-2}"
BRIDGE=scimha0
HOSTS=(mon:10 db1:11 db2:12 app1:21 app2:22)
DB_NODES=(db1 db2)
APP_HOSTS=(app1 app2)
# Each node's own port, though each host has its own addresses: the nodes share this machine's
# /var/run/postgresql for their unix sockets.
pg_port() { case $1 in mon) echo 5440 ;; db1) echo 5441 ;; db2) echo 5442 ;; esac; }
PGBOUNCER_PORT=6432
FASTCGI_PORT=9000
# Everything the scenario writes; nginx and the logs stay in the project folder, the database
# hosts' files where the postgres user can reach them (beside the dev stack's cluster).
HA_DB_DIR="$(pg_root)/ha"
LOCAL_DIR="$PROJECT_DIR/.local/ha"
LOG_DIR="$LOCAL_DIR/log"
RUN_DIR="$LOCAL_DIR/run"

ns() { echo "scimha-$1"; }
address() {
    local h
    for h in "${HOSTS[@]}"; do
        if [ "${h%%:*}" = "$1" ]; then echo "$HA_NET.${h##*:}"; return 0; fi
    done
    die "no host named $1"
}
# From /, which every user can enter (the project folder may be one the postgres user cannot).
on_host() { local host=$1; shift; (cd / && ip netns exec "$(ns "$host")" "$@"); }
# pg_autoctl keeps its configuration and state per node under XDG folders; each node gets its own.
autoctl() {
    local node=$1; shift
    on_host "$node" runuser -u "$(pg_user)" -- env XDG_CONFIG_HOME="$HA_DB_DIR/$node/config" \
        XDG_DATA_HOME="$HA_DB_DIR/$node/state" XDG_RUNTIME_DIR="$HA_DB_DIR/$node/run" PATH="$(pg_bin):/usr/bin:/bin" pg_autoctl "$@"
}
monitor_url() { echo "postgres://autoctl_node@$(address mon):$(pg_port mon)/pg_auto_failover?sslmode=require"; }
# The owner migrates and administers, straight to whichever node is primary.
admin_url() {
    echo "postgresql://scim@$(address db1):$(pg_port db1),$(address db2):$(pg_port db2)/scim?target_session_attrs=read-write&connect_timeout=2"
}
# Each responder goes through the PgBouncer on its own host, in transaction pooling mode. The bench
# compares SCIM_HA_POOL=pgbouncer-session (PgBouncer in session mode: the responder keeps its named
# prepared statements) and SCIM_HA_POOL=direct (no PgBouncer: the responder's libpq reaches the
# primary itself, asking each node whether it takes writes).
HA_POOL="${SCIM_HA_POOL:-pgbouncer}"
case "$HA_POOL" in pgbouncer|pgbouncer-session|direct) ;; *) die "SCIM_HA_POOL is pgbouncer, pgbouncer-session or direct" ;; esac
pool_mode() { if [ "$HA_POOL" = pgbouncer ]; then echo transaction; else echo session; fi; }
# What the responder must do for its pool: behind PgBouncer (either mode) no startup options (the
# statement timeout is set in each transaction); named prepared statements only where a client
# keeps its server connection.
responder_pool_settings() {
    case "$HA_POOL" in
        pgbouncer) echo "SCIM_DB_POOL_MODE=transaction SCIM_DB_PREPARED_STATEMENTS=off" ;;
        pgbouncer-session) echo "SCIM_DB_POOL_MODE=transaction SCIM_DB_PREPARED_STATEMENTS=on" ;;
        direct) echo "SCIM_DB_POOL_MODE=session SCIM_DB_PREPARED_STATEMENTS=on" ;;
    esac
}
responder_url() {
    if [ "$HA_POOL" = direct ]; then
        echo "postgresql://scim_app@$(address db1):$(pg_port db1),$(address db2):$(pg_port db2)/scim?target_session_attrs=read-write&connect_timeout=2"
    else
        echo "postgresql://scim_app@127.0.0.1:$PGBOUNCER_PORT/scim"
    fi
}
ha_scimctl() { DATABASE_URL="$(admin_url)" SCIM_PUBLIC_URL="http://$HTTP_LISTEN" scimctl "$@"; }

network_up() {
    ip link show "$BRIDGE" >/dev/null 2>&1 && return 0
    say "network: bridge $BRIDGE ($HA_NET.1/24) and a namespace per host"
    ip link add "$BRIDGE" type bridge
    ip addr add "$HA_NET.1/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
    local h name
    for h in "${HOSTS[@]}"; do
        name=${h%%:*}
        ip netns add "$(ns "$name")"
        ip link add "vha-$name" type veth peer name eth0 netns "$(ns "$name")"
        ip link set "vha-$name" master "$BRIDGE" up
        ip -n "$(ns "$name")" addr add "$(address "$name")/24" dev eth0
        ip -n "$(ns "$name")" link set eth0 up
        ip -n "$(ns "$name")" link set lo up
    done
}

network_down() {
    local h
    for h in "${HOSTS[@]}"; do
        ip netns del "$(ns "${h%%:*}")" 2>/dev/null || true
        ip link del "vha-${h%%:*}" 2>/dev/null || true
    done
    ip link del "$BRIDGE" 2>/dev/null || true
}

# Starts a long-running program on a host, detached, its output in the log folder.
start_on_host() {
    local host=$1 log=$2; shift 2
    on_host "$host" setsid "$@" </dev/null >>"$LOG_DIR/$log" 2>&1 &
}

wait_for() {
    local what=$1 seconds=$2; shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || die "timed out after ${seconds}s waiting for $what"
        sleep 0.5
    done
}

# pg_autoctl supervises its node's postgres; it is what a database host runs.
keeper_start() {
    local node=$1
    start_on_host "$node" "$node.log" runuser -u "$(pg_user)" -- env XDG_CONFIG_HOME="$HA_DB_DIR/$node/config" \
        XDG_DATA_HOME="$HA_DB_DIR/$node/state" XDG_RUNTIME_DIR="$HA_DB_DIR/$node/run" PATH="$(pg_bin):/usr/bin:/bin" pg_autoctl run --pgdata "$HA_DB_DIR/$node/pgdata"
}
node_psql() {
    local node=$1; shift
    on_host "$node" runuser -u "$(pg_user)" -- "$(pg_bin)/psql" -qAtX -h /var/run/postgresql -p "$(pg_port "$node")" "$@"
}
node_answers() { on_host "$1" runuser -u "$(pg_user)" -- "$(pg_bin)/pg_isready" -q -h /var/run/postgresql -p "$(pg_port "$1")"; }

monitor_up() {
    local dir="$HA_DB_DIR/mon"
    if [ ! -f "$dir/pgdata/PG_VERSION" ]; then
        say "mon: pg_auto_failover monitor"
        mkdir -p "$dir/run"; chown -R "$(pg_user)" "$dir"
        autoctl mon create monitor --pgdata "$dir/pgdata" --pgport "$(pg_port mon)" --hostname "$(address mon)" \
            --auth trust --ssl-self-signed >>"$LOG_DIR/mon.log" 2>&1 || die "the monitor was not created; see $LOG_DIR/mon.log"
    fi
    keeper_start mon
    wait_for "the monitor" 60 node_answers mon
    # The app hosts' followers ask the monitor who is primary.
    local hba="$dir/pgdata/pg_hba.conf"
    grep -q "followers" "$hba" || echo "hostssl pg_auto_failover autoctl_node $HA_NET.0/24 trust # the app hosts' followers" >>"$hba"
    # Declare a node failed after 3 s without an answer (default 20 s), and give a primary that
    # cannot be reached 5 s to have demoted itself (default 30 s) before its standby is promoted.
    node_psql mon -d pg_auto_failover \
        -c "alter system set pgautofailover.health_check_period = 1000" \
        -c "alter system set pgautofailover.health_check_retry_delay = 500" \
        -c "alter system set pgautofailover.health_check_timeout = 1000" \
        -c "alter system set pgautofailover.node_considered_unhealthy_timeout = 3000" \
        -c "alter system set pgautofailover.primary_demote_timeout = 5000" \
        -c "select pg_reload_conf()" >/dev/null
}

# A database host: its keeper registers with the monitor, which makes the first node primary and
# the second its synchronous standby (initialised from the primary with pg_basebackup).
node_up() {
    local node=$1 dir="$HA_DB_DIR/$1"
    if [ ! -f "$dir/pgdata/PG_VERSION" ]; then
        say "$node: PostgreSQL node"
        mkdir -p "$dir/run"; chown -R "$(pg_user)" "$dir"
        autoctl "$node" create postgres --pgdata "$dir/pgdata" --pgport "$(pg_port "$node")" --hostname "$(address "$node")" \
            --name "$node" --dbname scim --monitor "$(monitor_url)" --auth trust --pg-hba-lan --ssl-self-signed \
            >>"$LOG_DIR/$node.log" 2>&1 || die "node $node was not created; see $LOG_DIR/$node.log"
    fi
    # The owner and the responders' role may connect from the hosts' network (trust inside the
    # scenario; scram-sha-256 with passwords on real hosts). Each node keeps its own pg_hba.conf.
    local hba="$dir/pgdata/pg_hba.conf"
    grep -q "scim,scim_app" "$hba" || echo "host scim scim,scim_app $HA_NET.0/24 trust" >>"$hba"
    keeper_start "$node"
}

node_in_state() {
    [ "$(node_psql mon -d pg_auto_failover -c "select reportedstate from pgautofailover.node where nodename = '$1'")" = "$2" ]
}
# The node the monitor has assigned the primary role (also while it changes settings or is being promoted).
primary_node() { node_psql mon -d pg_auto_failover -c "select primary_name from pgautofailover.get_primary()"; }
cluster_settled() {
    [ "$(node_psql mon -d pg_auto_failover -c "select count(*) from pgautofailover.node where nodename in ('db1', 'db2') and reportedstate = goalstate and reportedstate in ('primary', 'secondary')")" = 2 ]
}

# PgBouncer on each responder host, in transaction pooling mode (pool_mode), and beside it the follower that
# points it at the node the monitor names primary.
pgbouncer_up() {
    local host=$1 dir="$HA_DB_DIR/$1/pgbouncer"
    mkdir -p "$dir"
    cat >"$dir/pgbouncer.ini" <<INI
%include $dir/databases.ini

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGBOUNCER_PORT
unix_socket_dir =
$(pgbouncer_common_settings "$dir" "$(pool_mode)" "$HA_WORKERS")
INI
    rm -f "$dir/databases.ini"
    # A copy the postgres user can run wherever the project folder is.
    cp "$PROJECT_DIR/deploy/ha/pgbouncer-follow-primary.sh" "$dir/"
    chown -R "$(pg_user)" "$dir"
    start_on_host "$host" "$host-follower.log" runuser -u "$(pg_user)" -- \
        "$dir/pgbouncer-follow-primary.sh" "$(monitor_url)" "$dir/databases.ini" "$dir/pgbouncer.pid"
    wait_for "$host's follower to learn the primary" 30 test -s "$dir/databases.ini"
    start_on_host "$host" "$host-pgbouncer.log" runuser -u "$(pg_user)" -- pgbouncer "$dir/pgbouncer.ini"
}

responder_up() {
    local host=$1
    say "$host: scim-fcgi with $HA_WORKERS workers on $(address "$host"):$FASTCGI_PORT"
    # shellcheck disable=SC2046 # the settings are words by design
    # A transaction waits up to 15 s for the database, past the failover's ~10 s.
    start_on_host "$host" "$host.log" env DATABASE_URL="$(responder_url)" $(responder_pool_settings) SCIM_DB_RECONNECT_MS=15000 \
        SCIM_PUBLIC_URL="http://$HTTP_LISTEN" "$PROJECT_DIR/.build/$BUILD_CONFIG/scim-fcgi" \
        --listen "$(address "$host"):$FASTCGI_PORT" --workers "$HA_WORKERS"
}
responder_answers() { curl -sf -o /dev/null --max-time 2 "http://$HTTP_LISTEN/readyz"; }

nginx_up() {
    local servers="" host
    # max_fails=1: a host that refused a connection is passed over for 5 s by every nginx worker.
    for host in "${APP_HOSTS[@]}"; do servers+="server $(address "$host"):$FASTCGI_PORT max_fails=1 fail_timeout=5s; "; done
    NGINX_UPSTREAM_SERVERS="zone scim_responder 64k; $servers" nginx_start
}

standby_names_are() {
    local names; names=$(node_psql "$1" -d scim -c "show synchronous_standby_names")
    if [ "$2" = async ]; then [ -z "$names" ]; else [ -n "$names" ]; fi
}
# The prefork supervisor on a host: the scim-fcgi process whose parent is not a scim-fcgi.
supervisor_pid() {
    local pid parent
    for pid in $(ip netns pids "$(ns "$1")" 2>/dev/null); do
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = scim-fcgi ] || continue
        parent=$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null)
        [ "$(cat "/proc/$parent/comm" 2>/dev/null)" = scim-fcgi ] || { echo "$pid"; return 0; }
    done
    return 1
}
not_alive() { ! kill -0 "$1" 2>/dev/null; }
host_running() { [ -n "$(ip netns pids "$(ns "$1")" 2>/dev/null)" ]; }
kill_host() {
    ip netns pids "$(ns "$1")" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    wait_for "host $1's processes to end" 10 not_running "$1"
}
not_running() { ! host_running "$1"; }

scenario_up() {
    [ "$(id -u)" -eq 0 ] || die "the scenario makes network namespaces: run it as root"
    DEB_PACKAGES+=(postgresql-15-auto-failover pgbouncer iproute2)
    install_packages
    # Again: a fresh scenario, not a half-reused one.
    if ip link show "$BRIDGE" >/dev/null 2>&1 || [ -d "$HA_DB_DIR" ]; then scenario_down; fi
    mkdir -p "$LOG_DIR" "$RUN_DIR"
    install -d -o "$(pg_user)" -g "$(pg_user)" -m 2775 /var/run/postgresql
    build
    network_up
    monitor_up
    node_up db1
    wait_for "db1 to become primary" 120 node_in_state db1 single
    node_up db2
    wait_for "db2 to become db1's synchronous standby" 180 cluster_settled
    # The owner (migrations, administration) and the responders' login role, on the primary.
    node_psql "$(primary_node)" -d scim -c "do \$\$ begin if not exists (select 1 from pg_roles where rolname = 'scim') then create role scim login superuser; end if; end \$\$" \
        -c "alter database scim owner to scim" >/dev/null
    say "migrating the database"
    ha_scimctl migrate >&2
    node_psql "$(primary_node)" -d scim -c "do \$\$ begin if not exists (select 1 from pg_roles where rolname = 'scim_app') then create role scim_app login in role scim_responder; end if; end \$\$" >/dev/null
    local node host
    for host in "${APP_HOSTS[@]}"; do
        [ "$HA_POOL" = direct ] || pgbouncer_up "$host"
        responder_up "$host"
    done
    nginx_up
    wait_for "the responders to reach the database" 30 responder_answers
    ha_scimctl tenant show demo >/dev/null 2>&1 || ha_scimctl tenant create demo --name "Demo tenant" --enable-scim >/dev/null
    local token
    token=$(ha_scimctl key create demo --name ha-scenario --scope scim | sed -n 's/^SCIM_TOKEN=//p')
    cat <<MSG

The high-availability scenario is running: primary $(primary_node), synchronous standby, two responder hosts.
SCIM_URL=http://$HTTP_LISTEN/scim/v2/demo
SCIM_TOKEN=$token
DATABASE_URL=$(admin_url)
MSG
}

scenario_status() {
    echo "primary: $(primary_node 2>/dev/null || echo unknown)"
    autoctl mon show state --pgdata "$HA_DB_DIR/mon/pgdata" 2>/dev/null || echo "monitor: not answering"
    local h
    for h in "${HOSTS[@]}"; do
        h=${h%%:*}
        if host_running "$h"; then echo "host $h ($(address "$h")): running"; else echo "host $h ($(address "$h")): down"; fi
    done
    nginx_running && echo "nginx: running on http://$HTTP_LISTEN" || echo "nginx: stopped"
}

scenario_down() {
    nginx_stop
    local h
    for h in "${HOSTS[@]}"; do kill_host "${h%%:*}"; done
    network_down
    rm -rf "$HA_DB_DIR" "$LOCAL_DIR"
    say "the scenario is down"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    case "${1:-}" in
        up) scenario_up ;;
        status) scenario_status ;;
        kill-primary)
            primary=$(primary_node) || die "the monitor does not answer"
            [ -n "$primary" ] || die "no node is primary now"
            say "killing host $primary (the primary) with SIGKILL"
            kill_host "$primary"
            ;;
        kill-responder)
            [ -n "${2:-}" ] && [[ " ${APP_HOSTS[*]} " == *" app$2 "* ]] || die "usage: $0 kill-responder N (1 or 2)"
            say "killing responder host app$2 with SIGKILL"
            kill_host "app$2"
            ;;
        # A host taken out of service the orderly way (SIGTERM: the workers finish what they were
        # given, then the socket closes), and brought back.
        stop-responder)
            [ -n "${2:-}" ] && [[ " ${APP_HOSTS[*]} " == *" app$2 "* ]] || die "usage: $0 stop-responder N (1 or 2)"
            supervisor=$(supervisor_pid "app$2") || die "no responder runs on app$2"
            say "stopping the responder on app$2 (SIGTERM to supervisor $supervisor)"
            kill -TERM "$supervisor"
            wait_for "the responder on app$2 to stop" 15 not_alive "$supervisor"
            ;;
        start-responder)
            [ -n "${2:-}" ] && [[ " ${APP_HOSTS[*]} " == *" app$2 "* ]] || die "usage: $0 start-responder N (1 or 2)"
            # A stop still under way (its workers serve nginx's kept connections for up to 10 s)
            # is waited for; a responder that stays is an error.
            if supervisor=$(supervisor_pid "app$2"); then
                wait_for "the responder on app$2 to stop before it starts again" 15 not_alive "$supervisor"
            fi
            responder_up "app$2"
            ;;
        # The bench's comparison: the standby leaves (async) or rejoins (sync) the write quorum.
        replication)
            case "${2:-}" in sync) quorum=true ;; async) quorum=false ;; *) die "usage: $0 replication sync|async" ;; esac
            primary=$(primary_node)
            standby=$(node_psql mon -d pg_auto_failover -c "select nodename from pgautofailover.node where nodename <> '$primary' and reportedstate = 'secondary' limit 1")
            [ -n "$standby" ] || die "no standby to change"
            node_psql mon -d pg_auto_failover -c "select pgautofailover.set_node_replication_quorum('default', '$standby', $quorum)" >/dev/null
            wait_for "the primary's synchronous_standby_names to follow" 30 standby_names_are "$primary" "$2"
            say "replication is $2: synchronous_standby_names = '$(node_psql "$primary" -d scim -c 'show synchronous_standby_names')'"
            ;;
        down) scenario_down ;;
        *) echo "usage: $0 up | status | kill-primary | kill-responder N | stop-responder N | start-responder N | replication sync|async | down" >&2; exit 2 ;;
    esac
fi
