#!/usr/bin/env bash
# Keeps a PgBouncer pointed at whichever PostgreSQL node the pg_auto_failover monitor names
# primary: it writes the [databases] file PgBouncer includes and tells PgBouncer to reload.
#   pgbouncer-follow-primary.sh MONITOR_URL DATABASES_INI PGBOUNCER_PIDFILE [DBNAME]
# PgBouncer itself follows no failover, and cannot be told to skip a standby: it hands every new
# client the parameters its first server connection reported, so a node it met as a standby still
# looks read-only to libpq after its promotion. Hence one target at a time, chosen by the monitor.
# The monitor is asked twice a second (a one-row query); the file is written from scratch each time
# the answer changes, and once at start, so a follower that was down catches up.
set -euo pipefail
monitor_url=$1 databases_ini=$2 pidfile=$3 dbname=${4:-scim}
current=""
log() { printf '%s pgbouncer-follow-primary: %s\n' "$(date -u +%FT%TZ)" "$*"; }

while true; do
    # get_primary() names the node the monitor has assigned the primary role (also while it is
    # being promoted: writes meeting a standby then fail with 25006 and the responder retries them).
    if primary=$(psql -qAtX -F ' ' --no-psqlrc "$monitor_url&connect_timeout=2" \
            -c "select primary_host, primary_port from pgautofailover.get_primary()" 2>/dev/null) && [ -n "$primary" ]; then
        if [ "$primary" != "$current" ]; then
            read -r host port <<<"$primary"
            printf '[databases]\n%s = host=%s port=%s dbname=%s\n' "$dbname" "$host" "$port" "$dbname" >"$databases_ini.new"
            mv "$databases_ini.new" "$databases_ini"
            if [ -f "$pidfile" ] && kill -HUP "$(cat "$pidfile")" 2>/dev/null; then
                log "primary is $host:$port; PgBouncer reloaded"
            else
                log "primary is $host:$port; PgBouncer not running yet"
            fi
            current=$primary
        fi
    fi
    sleep 0.5
done
