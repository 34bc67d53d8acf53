#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite.
#
#   scripts/pg-tmp.sh start   prints postgres://crm@127.0.0.1:PORT/crm on stdout
#   scripts/pg-tmp.sh stop    stops the cluster and deletes its directory
#
# Durability is switched off (fsync, synchronous_commit, full_page_writes): the data
# lives for one test run, and the suite runs noticeably faster without the flushes.
# The superuser is `crm`, because pytest-django creates and drops test_crm* databases.
#
# Environment:
#   PG_TMP_STATE  file recording the cluster directory (default: var/pg-tmp.state);
#                 give each concurrent cluster its own.
#   PG_BINDIR     directory holding initdb/pg_ctl (default: PATH, then the newest
#                 /usr/lib/postgresql/*/bin).
# Exit status 3 means no PostgreSQL binaries were found (callers may choose to skip).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state_file=${PG_TMP_STATE:-$repo_root/var/pg-tmp.state}

log() { printf 'pg-tmp: %s\n' "$*" >&2; }

find_bindir() {
    if [[ -n ${PG_BINDIR:-} ]]; then
        [[ -x $PG_BINDIR/initdb && -x $PG_BINDIR/pg_ctl ]] && { echo "$PG_BINDIR"; return 0; }
        log "PG_BINDIR=$PG_BINDIR has no initdb/pg_ctl"
        return 1
    fi
    local initdb pg_ctl
    # Resolve symlinks: createdb must come from the same installation as initdb.
    initdb=$(command -v initdb || true)
    pg_ctl=$(command -v pg_ctl || true)
    [[ -n $initdb ]] && initdb=$(readlink -f "$initdb")
    [[ -n $pg_ctl ]] && pg_ctl=$(readlink -f "$pg_ctl")
    if [[ -n $initdb && -n $pg_ctl && $(dirname "$initdb") == $(dirname "$pg_ctl") ]]; then
        dirname "$initdb"
        return 0
    fi
    # Debian/Ubuntu keep the server binaries out of PATH.
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n $dir && -x $dir/initdb && -x $dir/pg_ctl ]]; then
        echo "$dir"
        return 0
    fi
    return 1
}

# initdb and the server refuse to run as root; as root, run them as `postgres`.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

cmd_start() {
    local bindir
    if ! bindir=$(find_bindir); then
        log "no PostgreSQL server binaries (initdb, pg_ctl) found in PATH or /usr/lib/postgresql/*/bin"
        log "install them with: apt-get install postgresql   (or set PG_BINDIR)"
        exit 3
    fi
    local version
    version=$("$bindir/pg_ctl" --version | awk '{print $3}')
    if [[ ${version%%.*} -lt 15 ]]; then
        log "warning: PostgreSQL $version found; the CRM supports 15 or newer"
    fi
    if [[ -f $state_file ]] && [[ -d $(cat "$state_file") ]]; then
        log "a cluster is already recorded in $state_file; run '$0 stop' first"
        exit 1
    fi

    local dir
    dir=$(mktemp -d /tmp/crm-pg.XXXXXX)
    mkdir -p "$(dirname "$state_file")"
    echo "$dir" >"$state_file"
    if [[ $(id -u) -eq 0 ]]; then
        if ! id postgres >/dev/null 2>&1; then
            log "running as root needs a 'postgres' system user to own the cluster"
            rm -rf "$dir" "$state_file"
            exit 1
        fi
        chown postgres: "$dir"
    fi
    cd "$dir"  # the server user may not be able to read the caller's directory

    local data=$dir/data
    if ! as_owner "$bindir/initdb" -D "$data" -A trust -U crm --encoding=UTF8 \
        --locale=C.UTF-8 >"$dir/initdb.log" 2>&1; then
        log "initdb with C.UTF-8 failed; retrying with --locale=C"
        as_owner rm -rf "$data"
        if ! as_owner "$bindir/initdb" -D "$data" -A trust -U crm --encoding=UTF8 \
            --locale=C >"$dir/initdb.log" 2>&1; then
            cat "$dir/initdb.log" >&2
            log "initdb failed"
            rm -rf "$dir" "$state_file"
            exit 1
        fi
    fi

    # A free port can be taken between choosing and binding it; try a few.
    local port attempt started=0
    for attempt in 1 2 3; do
        port=$(free_port)
        as_owner tee -a "$data/postgresql.conf" >/dev/null <<CONF

# --- scripts/pg-tmp.sh (attempt $attempt): throwaway test cluster ---
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 100
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
        if as_owner "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start >/dev/null; then
            started=1
            break
        fi
        log "server did not start on port $port (attempt $attempt)"
    done
    if [[ $started -ne 1 ]]; then
        cat "$dir/server.log" >&2 || true
        log "could not start PostgreSQL; see above"
        rm -rf "$dir" "$state_file"
        exit 1
    fi

    "$bindir/createdb" -h 127.0.0.1 -p "$port" -U crm crm
    log "PostgreSQL $version running in $dir on 127.0.0.1:$port (state: $state_file)"
    echo "postgres://crm@127.0.0.1:$port/crm"
}

cmd_stop() {
    if [[ ! -f $state_file ]]; then
        log "no cluster recorded in $state_file; nothing to stop"
        return 0
    fi
    local dir
    dir=$(cat "$state_file")
    # Refuse anything but a directory this script made: it is about to be rm -rf'd.
    if [[ $dir != /tmp/crm-pg.* ]]; then
        log "refusing to remove unexpected directory '$dir' named in $state_file"
        exit 1
    fi
    if [[ -f $dir/data/postmaster.pid ]]; then
        local bindir
        bindir=$(find_bindir) || { log "no pg_ctl found to stop $dir"; exit 1; }
        (cd "$dir" && as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null) \
            || log "pg_ctl stop failed (server already gone?)"
    fi
    rm -rf "$dir"
    rm -f "$state_file"
    log "stopped and removed $dir"
}

case ${1:-} in
    start) cmd_start ;;
    stop) cmd_stop ;;
    *)
        echo "usage: $0 start|stop" >&2
        exit 2
        ;;
esac
