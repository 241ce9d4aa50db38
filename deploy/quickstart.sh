#!/usr/bin/env bash
# pgkb quick start: installs what is missing, builds, starts a local PostgreSQL cluster that pgkb owns
# (data under .pgkb/ in the checkout), migrates, starts the supervisor, runs a health-check job through the
# queue and prints the status. Safe to run again: it reuses the build, the cluster and a running supervisor.
# usage: deploy/quickstart.sh [stop]
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
STATE=${PGKB_HOME:-$SRC/.pgkb}
PORT=${PGKB_PORT:-54329}
PGBIN=/usr/lib/postgresql/15/bin
mkdir -p "$STATE"

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres PGDATABASE=pgkb PGKB_SCHEMA_DIR=$SRC/schema

if [ "${1:-}" = stop ]; then
	[ -f "$STATE/supervisor.pid" ] && kill -TERM "$(cat "$STATE/supervisor.pid")" 2>/dev/null && echo "supervisor stopping (drain)"
	for _ in $(seq 1 100); do [ -f "$STATE/supervisor.pid" ] && kill -0 "$(cat "$STATE/supervisor.pid")" 2>/dev/null || break; sleep 0.2; done
	rm -f "$STATE/supervisor.pid"
	[ -f "$STATE/pgdata/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$STATE/pgdata" -m fast -w stop >/dev/null && echo "database stopped"
	exit 0
fi

echo "==> dependencies"
"$SRC/deploy/install-deps.sh"
echo "==> build"
cmake -S "$SRC" -B "$SRC/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$SRC/build" -j"$(nproc)" 2>&1 | grep -E "error|warning" || true
BIN=$SRC/build

echo "==> database (port $PORT, data in $STATE/pgdata)"
if [ ! -f "$STATE/pgdata/PG_VERSION" ]; then
	mkdir -p "$STATE/pgdata"
	if [ "$(id -u)" = 0 ]; then chown postgres: "$STATE/pgdata"; chmod 755 "$STATE"; fi
	chmod 700 "$STATE/pgdata"
	as_pg "$PGBIN/initdb" -D "$STATE/pgdata" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$STATE/initdb.log"
fi
if ! as_pg "$PGBIN/pg_ctl" -D "$STATE/pgdata" status >/dev/null 2>&1; then
	as_pg "$PGBIN/pg_ctl" -D "$STATE/pgdata" -l "$STATE/pgdata/server.log" -w \
		-o "-p $PORT -k $STATE/pgdata -c listen_addresses=127.0.0.1" start >/dev/null
fi
psql -qAtX -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'pgkb'" | grep -q 1 || psql -qX -d postgres -c "CREATE DATABASE pgkb"
"$BIN/pgkb" migrate

echo "==> supervisor"
CONFIG=$STATE/pgkb.yaml
[ -f "$CONFIG" ] || cp "$SRC/deploy/pgkb.example.yaml" "$CONFIG"
if [ -f "$STATE/supervisor.pid" ] && kill -0 "$(cat "$STATE/supervisor.pid")" 2>/dev/null; then
	echo "already running (pid $(cat "$STATE/supervisor.pid"))"
else
	nohup "$BIN/pgkb-supervisor" -c "$CONFIG" >>"$STATE/supervisor.log" 2>&1 &
	echo $! >"$STATE/supervisor.pid"
	echo "started (pid $!, log $STATE/supervisor.log)"
fi

echo "==> health check through the queue"
id=$(psql -qAtX -c "INSERT INTO pgkb.jobs(kind, payload) VALUES ('noop', '{\"log\": true}') RETURNING id")
for _ in $(seq 1 100); do
	[ "$(psql -qAtX -c "SELECT count(*) FROM pgkb.noop_log WHERE job_id = $id")" = 1 ] && break
	sleep 0.1
done
[ "$(psql -qAtX -c "SELECT count(*) FROM pgkb.noop_log WHERE job_id = $id")" = 1 ] \
	|| { echo "health-check job $id did not run; see $STATE/supervisor.log" >&2; exit 1; }
echo "job $id ran on $(psql -qAtX -c "SELECT worker FROM pgkb.noop_log WHERE job_id = $id")"
"$BIN/pgkb" status
cat <<TXT

pgkb is running. Environment for the CLI and psql:
  export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres PGDATABASE=pgkb
Enqueue from SQL:   psql -c "INSERT INTO pgkb.jobs(kind, payload) VALUES ('noop', '{}')"
Status:             $BIN/pgkb status
Stop everything:    $SRC/deploy/quickstart.sh stop
TXT
